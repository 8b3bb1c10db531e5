//! Shipment files: round trips into a key store, streaming, and rejection of truncated,
//! reordered, duplicated, foreign and tampered files without releasing unauthenticated
//! records.

use provkit::Error;
use provkit::ec::EcPublicKey;
use provkit::envelope::hpke;
use provkit::envelope::shipment::{
    self, DeviceKeyRecord, HEADER_LEN, KeyUsageCode, OpenedRecord, ShipmentHeader, ShipmentOpener,
    ShipmentParams, ShipmentWriter, TRAILER_LEN,
};
use provkit::envelope::{Kcv, KekId, KekRef, KekSlot};
use provkit::error::{DecodeErrorKind, EnvelopeError};
use provkit::secret::SecretBuf;
use provkit::store::{IdentityKeys, KeyId, KeyKind, MemoryStore, SymmetricKeys, WrapAlgorithm};
use provkit::testing::InsecureTestRng;

type Store = MemoryStore<64, 0, 0>;

const SIGNER: KeyId = KeyId(1);
const RECIPIENT: KeyId = KeyId(1);
const KEK: KeyId = KeyId(2);
/// The fixed keys the fuzz target uses too (fuzz/fuzz_targets/shipment_reader.rs).
const MANUFACTURER_IKM: [u8; 32] = [0x11; 32];
const RECIPIENT_IKM: [u8; 32] = [0x22; 32];
const KEK_BYTES: [u8; 32] = [0x33; 32];

fn kek_slot() -> KekSlot {
    KekSlot {
        kek: KekRef {
            id: KekId(*b"ta-kek\0\0"),
            version: 1,
        },
        key: KEK,
        wrap: WrapAlgorithm::AesKw,
    }
}

struct Parties {
    manufacturer: Store,
    manufacturer_pk: EcPublicKey,
    authority: Store,
    authority_pk: EcPublicKey,
}

fn parties() -> Parties {
    let mut manufacturer = Store::new();
    let manufacturer_pk =
        hpke::derive_key_pair(&mut manufacturer, SIGNER, &MANUFACTURER_IKM).unwrap();
    let mut authority = Store::new();
    let authority_pk = hpke::derive_key_pair(&mut authority, RECIPIENT, &RECIPIENT_IKM).unwrap();
    authority
        .import_symmetric(KEK, KeyKind::Aes256, &KEK_BYTES)
        .unwrap();
    Parties {
        manufacturer,
        manufacturer_pk,
        authority,
        authority_pk,
    }
}

/// Key material of record `i` (known to the test so that it can check the unwrap).
fn key_bytes(i: u32) -> Vec<u8> {
    let len = [16, 24, 32][i as usize % 3];
    (0..len)
        .map(|j| (i as u8).wrapping_mul(31).wrapping_add(j as u8))
        .collect()
}

fn record(i: u32) -> DeviceKeyRecord {
    let usage = [
        KeyUsageCode::INITIAL_DUKPT,
        KeyUsageCode::DATA_ENCRYPTION,
        KeyUsageCode::MAC_CMAC,
    ][i as usize % 3];
    DeviceKeyRecord::new(
        1000 + u64::from(i) * 3,
        0xABCD_0000 + u64::from(i),
        usage,
        &SecretBuf::<32>::from_slice(&key_bytes(i)).unwrap(),
    )
    .unwrap()
}

fn make_shipment(p: &mut Parties, count: u32, per_chunk: u16, seed: u64) -> Vec<u8> {
    let mut rng = InsecureTestRng::new(seed);
    let params = ShipmentParams::new(*b"ACME devices ltd", [seed as u8; 16], count)
        .with_records_per_chunk(per_chunk);
    let mut buf = vec![0u8; shipment::chunk_buffer_len(per_chunk)];
    let (mut w, header) = ShipmentWriter::new(
        &mut p.manufacturer,
        SIGNER,
        &p.authority_pk,
        &params,
        &mut buf,
        &mut rng,
    )
    .unwrap();
    let mut file = header.to_vec();
    for i in 0..count {
        if let Some(chunk) = w.push(&record(i)).unwrap() {
            file.extend_from_slice(chunk);
        }
    }
    file.extend_from_slice(&w.finish(&mut p.manufacturer).unwrap());
    assert_eq!(
        file.len() as u64,
        ShipmentHeader::parse(&file[..HEADER_LEN])
            .unwrap()
            .file_len()
    );
    file
}

fn open_all(
    p: &mut Parties,
    file: &[u8],
) -> (Result<shipment::ShipmentSummary, Error>, Vec<OpenedRecord>) {
    let mut released = Vec::new();
    let mut scratch = vec![0u8; shipment::chunk_buffer_len(shipment::MAX_RECORDS_PER_CHUNK)];
    let r = shipment::open_shipment(
        &mut p.authority,
        RECIPIENT,
        &p.manufacturer_pk,
        kek_slot(),
        file,
        &mut scratch,
        |rec| {
            released.push(*rec);
            Ok(())
        },
    );
    (r, released)
}

/// Every released record must be the authentic record at its position.
fn assert_authentic(released: &[OpenedRecord]) {
    for (i, r) in released.iter().enumerate() {
        let want = record(u32::try_from(i).unwrap());
        assert_eq!(
            (r.serial, r.key_id, r.usage, r.kind, r.kcv),
            (
                want.serial(),
                want.key_id(),
                want.usage(),
                want.kind(),
                want.kcv()
            )
        );
    }
}

#[test]
fn round_trip_into_a_key_store() {
    let mut p = parties();
    let file = make_shipment(&mut p, 1000, 256, 1);
    let header = ShipmentHeader::parse(&file[..HEADER_LEN]).unwrap();
    assert_eq!(header.record_count, 1000);
    assert_eq!(header.chunk_count(), 4);
    assert_eq!(header.recipient_key, hpke::key_fingerprint(&p.authority_pk));
    let (summary, released) = open_all(&mut p, &file);
    let summary = summary.unwrap();
    assert_eq!(summary.records, 1000);
    assert_eq!(summary.batch_id, [1; 16]);
    assert_eq!(&summary.manufacturer_id, b"ACME devices ltd");
    assert_eq!(released.len(), 1000);
    assert_authentic(&released);
    // No plaintext key appears in the file.
    for i in [0u32, 1, 2, 500, 999] {
        let k = key_bytes(i);
        assert!(!file.windows(k.len()).any(|w| w == k));
    }
    // Each wrapped key unwraps under the KEK into the store, to the original material;
    // the KCV checks by handle.
    let mut keys = MemoryStore::<2, 0, 0>::new();
    keys.import_symmetric(KEK, KeyKind::Aes256, &KEK_BYTES)
        .unwrap();
    for (i, r) in released.iter().enumerate().step_by(97) {
        assert_eq!(r.wrapped.kek, kek_slot().kek);
        let mut out = [0u8; 40];
        let n = keys
            .unwrap_bytes(KEK, r.wrapped.alg, r.wrapped.as_bytes(), &mut out)
            .unwrap();
        assert_eq!(out[..n], key_bytes(u32::try_from(i).unwrap())[..]);
        keys.unwrap_key(KEK, r.wrapped.alg, r.wrapped.as_bytes(), KeyId(100), r.kind)
            .unwrap();
        assert_eq!(Kcv::of_stored_key(&mut keys, KeyId(100)).unwrap(), r.kcv);
        provkit::store::KeyInventory::delete_key(&mut keys, KeyId(100)).unwrap();
    }
    // An auditor verifies both signatures without any key.
    assert_eq!(
        shipment::audit_shipment(&file, &p.manufacturer_pk).unwrap(),
        header
    );
}

#[test]
fn streaming_opener_with_small_buffers() {
    let mut p = parties();
    let file = make_shipment(&mut p, 10, 3, 2);
    let (header_bytes, mut rest) = file.split_at(HEADER_LEN);
    let mut opener = ShipmentOpener::new(
        &mut p.authority,
        RECIPIENT,
        &p.manufacturer_pk,
        header_bytes,
        kek_slot(),
    )
    .unwrap();
    assert_eq!(opener.header().max_chunk_len(), 3 * 56 + 16);
    let mut buf = [0u8; 3 * 56 + 16];
    let mut seen = Vec::new();
    let mut lens = Vec::new();
    while let Some(len) = opener.next_chunk_len() {
        lens.push(len);
        let (chunk, tail) = rest.split_at(len);
        buf[..len].copy_from_slice(chunk);
        opener
            .open_chunk(&mut p.authority, &mut buf[..len], |r| {
                seen.push(*r);
                Ok(())
            })
            .unwrap();
        assert!(buf.iter().all(|b| *b == 0), "chunk buffer zeroized");
        rest = tail;
    }
    assert_eq!(lens, vec![184, 184, 184, 72]);
    assert_eq!(rest.len(), TRAILER_LEN);
    // A wrong trailer fails; the right one completes.
    let summary = opener.finish(rest).unwrap();
    assert_eq!(summary.records, 10);
    assert_authentic(&seen);
}

#[test]
fn tampering_any_byte_is_rejected_and_only_authentic_records_are_released() {
    let mut p = parties();
    let file = make_shipment(&mut p, 5, 2, 3);
    assert_eq!(
        file.len(),
        HEADER_LEN + (2 * 56 + 16) * 2 + (56 + 16) + TRAILER_LEN
    );
    for i in 0..file.len() {
        let mut t = file.clone();
        t[i] ^= 0x01;
        let (r, released) = open_all(&mut p, &t);
        assert!(r.is_err(), "byte {i} accepted");
        assert_authentic(&released);
        // Records of the tampered chunk (and after) are never released.
        let chunk_of_byte = (i.saturating_sub(HEADER_LEN)) / (2 * 56 + 16);
        if i >= HEADER_LEN && i < file.len() - TRAILER_LEN {
            assert!(
                released.len() <= chunk_of_byte * 2,
                "byte {i}: released {}",
                released.len()
            );
        }
        if i < HEADER_LEN {
            assert!(
                released.is_empty(),
                "byte {i} in the header released records"
            );
        }
        assert!(
            shipment::audit_shipment(&t, &p.manufacturer_pk).is_err(),
            "audit byte {i}"
        );
    }
}

#[test]
fn truncated_or_extended_files_are_rejected() {
    let mut p = parties();
    let file = make_shipment(&mut p, 5, 2, 4);
    for len in 0..file.len() {
        let (r, released) = open_all(&mut p, &file[..len]);
        assert!(r.is_err(), "truncated to {len} accepted");
        assert_authentic(&released);
    }
    let mut longer = file.clone();
    longer.push(0);
    let (r, _) = open_all(&mut p, &longer);
    assert_eq!(
        r.unwrap_err(),
        Error::decode(DecodeErrorKind::TrailingData, file.len())
    );
}

#[test]
fn reordered_duplicated_and_foreign_chunks_are_rejected() {
    let mut p = parties();
    let file = make_shipment(&mut p, 6, 2, 5);
    let c = 2 * 56 + 16;
    let chunk = |f: &[u8], k: usize| f[HEADER_LEN + k * c..HEADER_LEN + (k + 1) * c].to_vec();
    let with = |f: &[u8], k: usize, bytes: &[u8]| {
        let mut t = f.to_vec();
        t[HEADER_LEN + k * c..HEADER_LEN + (k + 1) * c].copy_from_slice(bytes);
        t
    };
    // Swap chunks 0 and 1: nothing is released.
    let swapped = with(&with(&file, 0, &chunk(&file, 1)), 1, &chunk(&file, 0));
    let (r, released) = open_all(&mut p, &swapped);
    assert_eq!(r.unwrap_err(), Error::Crypto);
    assert!(released.is_empty());
    // Chunk 0 again in place of chunk 1: only chunk 0's records come out.
    let dup = with(&file, 1, &chunk(&file, 0));
    let (r, released) = open_all(&mut p, &dup);
    assert_eq!(r.unwrap_err(), Error::Crypto);
    assert_eq!(released.len(), 2);
    assert_authentic(&released);
    // The last (final) chunk in place of a middle one: the final flag differs.
    let fin = with(&file, 1, &chunk(&file, 2));
    assert_eq!(open_all(&mut p, &fin).0.unwrap_err(), Error::Crypto);
    // A chunk from another file with the same layout (another HPKE context).
    let other = make_shipment(&mut p, 6, 2, 6);
    let foreign = with(&file, 2, &chunk(&other, 2));
    let (r, released) = open_all(&mut p, &foreign);
    assert_eq!(r.unwrap_err(), Error::Crypto);
    assert_eq!(released.len(), 4);
    // Another file's header on this body (a spliced file).
    let mut spliced = other[..HEADER_LEN].to_vec();
    spliced.extend_from_slice(&file[HEADER_LEN..]);
    let (r, released) = open_all(&mut p, &spliced);
    assert_eq!(r.unwrap_err(), Error::Crypto);
    assert!(released.is_empty());
    // Another file's trailer.
    let mut t = file.clone();
    let n = t.len();
    t[n - TRAILER_LEN..].copy_from_slice(&other[n - TRAILER_LEN..]);
    assert_eq!(open_all(&mut p, &t).0.unwrap_err(), Error::Crypto);
}

#[test]
fn wrong_parties_are_named() {
    let mut p = parties();
    let file = make_shipment(&mut p, 3, 2, 7);
    let mut rng = InsecureTestRng::new(8);
    let mut stranger = Store::new();
    let stranger_pk = stranger.generate_p256(KeyId(1), &mut rng).unwrap();
    // Another signer key than the header names.
    let mut scratch = vec![0u8; 1024];
    assert_eq!(
        shipment::open_shipment(
            &mut p.authority,
            RECIPIENT,
            &stranger_pk,
            kek_slot(),
            &file,
            &mut scratch,
            |_| Ok(())
        ),
        Err(Error::Envelope(EnvelopeError::WrongSigner))
    );
    // Another recipient.
    stranger
        .import_symmetric(KEK, KeyKind::Aes256, &KEK_BYTES)
        .unwrap();
    assert_eq!(
        shipment::open_shipment(
            &mut stranger,
            RECIPIENT,
            &p.manufacturer_pk,
            kek_slot(),
            &file,
            &mut scratch,
            |_| Ok(())
        ),
        Err(Error::Envelope(EnvelopeError::WrongRecipient))
    );
    // A callback error stops the stream.
    assert_eq!(
        shipment::open_shipment(
            &mut p.authority,
            RECIPIENT,
            &p.manufacturer_pk,
            kek_slot(),
            &file,
            &mut scratch,
            |_| Err(Error::Unsupported)
        ),
        Err(Error::Unsupported)
    );
}

#[test]
fn writer_enforces_count_and_order() {
    let mut p = parties();
    let mut rng = InsecureTestRng::new(9);
    let params = ShipmentParams::new([0; 16], [0; 16], 2).with_records_per_chunk(4);
    let mut buf = vec![0u8; shipment::chunk_buffer_len(4)];
    let (mut w, _) = ShipmentWriter::new(
        &mut p.manufacturer,
        SIGNER,
        &p.authority_pk,
        &params,
        &mut buf,
        &mut rng,
    )
    .unwrap();
    assert!(w.push(&record(5)).unwrap().is_none());
    assert_eq!(
        w.push(&record(5)),
        Err(Error::Envelope(EnvelopeError::RecordOrder))
    );
    assert_eq!(
        w.push(&record(4)),
        Err(Error::Envelope(EnvelopeError::RecordOrder))
    );
    assert!(
        w.push(&record(6)).unwrap().is_some(),
        "the final chunk closes at the count"
    );
    assert_eq!(
        w.push(&record(7)),
        Err(Error::Envelope(EnvelopeError::RecordCount))
    );
    w.finish(&mut p.manufacturer).unwrap();

    let (mut w, _) = ShipmentWriter::new(
        &mut p.manufacturer,
        SIGNER,
        &p.authority_pk,
        &params,
        &mut buf,
        &mut rng,
    )
    .unwrap();
    w.push(&record(1)).unwrap();
    assert_eq!(
        w.finish(&mut p.manufacturer),
        Err(Error::Envelope(EnvelopeError::RecordCount))
    );

    let zero = ShipmentParams::new(params.manufacturer_id, params.batch_id, 0)
        .with_records_per_chunk(params.records_per_chunk);
    assert_eq!(
        ShipmentWriter::new(
            &mut p.manufacturer,
            SIGNER,
            &p.authority_pk,
            &zero,
            &mut buf,
            &mut rng
        )
        .unwrap_err(),
        Error::Envelope(EnvelopeError::RecordCount)
    );
    let mut small = [0u8; 10];
    assert_eq!(
        ShipmentWriter::new(
            &mut p.manufacturer,
            SIGNER,
            &p.authority_pk,
            &params,
            &mut small,
            &mut rng
        )
        .unwrap_err(),
        Error::buffer_too_small(4 * 56 + 16)
    );
    assert!(
        DeviceKeyRecord::generate(1, 1, KeyUsageCode::PIN_ENCRYPTION, KeyKind::P256, &mut rng)
            .is_err()
    );
}

#[test]
#[ignore = "rewrites fuzz/seeds/shipment_reader"]
fn regenerate_shipment_fuzz_seeds() {
    let mut p = parties();
    let root = env!("CARGO_MANIFEST_DIR");
    let dir = format!("{root}/fuzz/seeds/shipment_reader");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        format!("{dir}/three_records.bin"),
        make_shipment(&mut p, 3, 2, 100),
    )
    .unwrap();
    std::fs::write(
        format!("{dir}/one_record.bin"),
        make_shipment(&mut p, 1, 1, 101),
    )
    .unwrap();
}

#[test]
fn fuzz_seeds_open() {
    let mut p = parties();
    for (seed, n) in [
        (
            include_bytes!("../fuzz/seeds/shipment_reader/three_records.bin").as_slice(),
            3,
        ),
        (
            include_bytes!("../fuzz/seeds/shipment_reader/one_record.bin").as_slice(),
            1,
        ),
    ] {
        let (r, released) = open_all(&mut p, seed);
        assert_eq!(r.unwrap().records, n);
        assert_authentic(&released);
    }
}
