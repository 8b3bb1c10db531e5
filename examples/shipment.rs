//! A manufacturer seals 1,000 device keys into a shipment file for a test authority; the
//! authority verifies it and opens the keys into its key store, where they exist only
//! wrapped under its KEK or inside the store.
//!
//! ```text
//! cargo run --release --example shipment              # 1,000 keys, in memory
//! cargo run --release --example shipment -- 1000000   # 1 M keys, streamed through a
//!                                                     # temporary file; prints time and
//!                                                     # peak RSS (VmHWM)
//! ```

use provkit::ec::EcPublicKey;
use provkit::envelope::shipment::{
    self, DeviceKeyRecord, HEADER_LEN, KeyUsageCode, OpenedRecord, ShipmentHeader, ShipmentOpener,
    ShipmentParams, ShipmentWriter, TRAILER_LEN,
};
use provkit::envelope::{Kcv, KekId, KekRef, KekSlot};
use provkit::rng::OsRng;
use provkit::store::{IdentityKeys, KeyId, KeyKind, MemoryStore, SymmetricKeys, WrapAlgorithm};
use std::io::{BufReader, BufWriter, Read, Write};
use std::time::Instant;

const SIGNER: KeyId = KeyId(1);
const RECIPIENT: KeyId = KeyId(1);
const KEK: KeyId = KeyId(2);
const RECORDS_PER_CHUNK: u16 = 256;

type Store = MemoryStore<1100, 0, 0>;

fn kek() -> KekSlot {
    KekSlot {
        kek: KekRef {
            id: KekId(*b"ta-kek\0\0"),
            version: 1,
        },
        key: KEK,
        wrap: WrapAlgorithm::AesKw,
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: u32 = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 1000,
    };
    let mut rng = OsRng;

    // The manufacturer's signing key and the authority's HPKE key and KEK, each in its
    // own store (HSMs in production). Public keys are exchanged out of band.
    let mut manufacturer = MemoryStore::<1, 0, 0>::new();
    let manufacturer_pk = manufacturer.generate_p256(SIGNER, &mut rng)?;
    let mut authority = Store::new();
    let authority_pk = authority.generate_p256(RECIPIENT, &mut rng)?;
    authority.generate_symmetric(KEK, KeyKind::Aes256, &mut rng)?;

    let params = ShipmentParams::new(*b"ACME devices ltd", *b"batch-2025-06-01", count)
        .with_records_per_chunk(RECORDS_PER_CHUNK);
    if count <= 10_000 {
        small(
            &mut manufacturer,
            &manufacturer_pk,
            &mut authority,
            &authority_pk,
            &params,
            &mut rng,
        )
    } else {
        large(
            &mut manufacturer,
            &manufacturer_pk,
            &mut authority,
            &authority_pk,
            &params,
            &mut rng,
        )
    }
}

/// Writes a shipment of `params.record_count` fresh AES-128 DUKPT initial keys.
fn write_shipment<W: Write>(
    manufacturer: &mut MemoryStore<1, 0, 0>,
    authority_pk: &EcPublicKey,
    params: &ShipmentParams,
    rng: &mut OsRng,
    out: &mut W,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut chunk_buf = vec![0u8; shipment::chunk_buffer_len(params.records_per_chunk)];
    let (mut writer, header) = ShipmentWriter::new(
        manufacturer,
        SIGNER,
        authority_pk,
        params,
        &mut chunk_buf,
        rng,
    )?;
    out.write_all(&header)?;
    for i in 0..params.record_count {
        let serial = 0x00A1_0000_0000 + u64::from(i);
        let record = DeviceKeyRecord::generate(
            serial,
            u64::from(i),
            KeyUsageCode::INITIAL_DUKPT,
            KeyKind::Aes128,
            rng,
        )?;
        if let Some(chunk) = writer.push(&record)? {
            out.write_all(chunk)?;
        }
    }
    out.write_all(&writer.finish(manufacturer)?)?;
    Ok(())
}

fn small(
    manufacturer: &mut MemoryStore<1, 0, 0>,
    manufacturer_pk: &EcPublicKey,
    authority: &mut Store,
    authority_pk: &EcPublicKey,
    params: &ShipmentParams,
    rng: &mut OsRng,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut file = Vec::new();
    write_shipment(manufacturer, authority_pk, params, rng, &mut file)?;
    println!(
        "manufacturer: {} device keys sealed, file {} bytes",
        params.record_count,
        file.len()
    );

    // The test authority: look up the signer by the header's manufacturer id, then open.
    let header = ShipmentHeader::parse(&file[..HEADER_LEN])?;
    println!(
        "header: manufacturer {:?}, batch {:?}, {} records in {} chunks",
        String::from_utf8_lossy(&header.manufacturer_id),
        String::from_utf8_lossy(&header.batch_id),
        header.record_count,
        header.chunk_count()
    );
    let mut staged: Vec<OpenedRecord> = Vec::new();
    let mut scratch = vec![0u8; header.max_chunk_len()];
    let summary = shipment::open_shipment(
        authority,
        RECIPIENT,
        manufacturer_pk,
        kek(),
        &file,
        &mut scratch,
        |r| {
            staged.push(*r);
            Ok(())
        },
    )?;
    println!(
        "authority: verified {} records; transcript {}",
        summary.records,
        hex(&summary.transcript_hash)
    );
    // Commit only after the whole file verified: each key goes into the store by
    // unwrapping under the KEK, and its KCV is checked by handle.
    for (i, r) in staged.iter().enumerate() {
        let id = KeyId(1000 + u32::try_from(i)?);
        authority.unwrap_key(KEK, r.wrapped.alg, r.wrapped.as_bytes(), id, r.kind)?;
        Kcv::of_stored_key(authority, id)?.check(&r.kcv)?;
    }
    println!(
        "authority: {} keys in the store, KCVs checked by handle; first: serial {:#x}, usage {:?}, KCV {}",
        staged.len(),
        staged[0].serial,
        staged[0].usage,
        staged[0].kcv
    );
    Ok(())
}

fn large(
    manufacturer: &mut MemoryStore<1, 0, 0>,
    manufacturer_pk: &EcPublicKey,
    authority: &mut Store,
    authority_pk: &EcPublicKey,
    params: &ShipmentParams,
    rng: &mut OsRng,
) -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::temp_dir().join(format!("provkit-shipment-{}.bin", std::process::id()));
    let t = Instant::now();
    {
        let mut out = BufWriter::with_capacity(1 << 16, std::fs::File::create(&path)?);
        write_shipment(manufacturer, authority_pk, params, rng, &mut out)?;
        out.flush()?;
    }
    let size = std::fs::metadata(&path)?.len();
    println!(
        "manufacturer: {} records written in {:.2} s ({} bytes)",
        params.record_count,
        t.elapsed().as_secs_f64(),
        size
    );

    // Open: stream the file with one chunk buffer; fold each released record into a
    // checksum (a real authority would stage the wrapped keys in its database).
    let t = Instant::now();
    let mut input = BufReader::with_capacity(1 << 16, std::fs::File::open(&path)?);
    let mut header = [0u8; HEADER_LEN];
    input.read_exact(&mut header)?;
    let mut opener = ShipmentOpener::new(authority, RECIPIENT, manufacturer_pk, &header, kek())?;
    let mut chunk = vec![0u8; opener.header().max_chunk_len()];
    let mut opened = 0u64;
    let mut fold = 0u64;
    while let Some(len) = opener.next_chunk_len() {
        input.read_exact(&mut chunk[..len])?;
        opener.open_chunk(authority, &mut chunk[..len], |r| {
            opened += 1;
            fold = fold.rotate_left(5) ^ r.serial ^ u64::from(r.wrapped.as_bytes()[0]);
            Ok(())
        })?;
    }
    let mut trailer = [0u8; TRAILER_LEN];
    input.read_exact(&mut trailer)?;
    if input.read(&mut [0u8; 1])? != 0 {
        return Err("trailing data after the trailer".into());
    }
    let summary = opener.finish(&trailer)?;
    let secs = t.elapsed().as_secs_f64();
    std::fs::remove_file(&path)?;
    println!(
        "authority: {} records verified, KCV-checked and re-wrapped under the KEK in {:.2} s ({:.0} records/s; fold {:016x})",
        summary.records,
        secs,
        opened as f64 / secs,
        fold
    );
    println!("target: 1,000,000 records in <= 5 s with <= 32 MiB peak RSS");
    match peak_rss() {
        Some(kib) => println!("peak RSS (VmHWM): {:.1} MiB", kib as f64 / 1024.0),
        None => println!("peak RSS: /proc/self/status not available"),
    }
    Ok(())
}

/// VmHWM from /proc/self/status, in KiB.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
