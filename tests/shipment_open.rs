//! Opening and auditing shipments (`src/envelope/shipment/reader.rs`, `record.rs`): the
//! error kind of a file cut inside its trailer or extended, what records and openers
//! print, and random records of each AES size.
//!
//! Each test names the mutants it kills (see `docs/testing.md`).

use provkit::Error;
use provkit::ec::EcPublicKey;
use provkit::envelope::shipment::{
    self, DeviceKeyRecord, HEADER_LEN, KeyUsageCode, ShipmentOpener, ShipmentParams,
    ShipmentWriter, TRAILER_LEN,
};
use provkit::envelope::{Kcv, KekId, KekRef, KekSlot, hpke};
use provkit::error::DecodeErrorKind;
use provkit::secret::SecretBuf;
use provkit::store::{KeyId, KeyKind, MemoryStore, SymmetricKeys, WrapAlgorithm};
use provkit::testing::InsecureTestRng;

type Store = MemoryStore<8, 0, 0>;
const SIGNER: KeyId = KeyId(1);
const RECIPIENT: KeyId = KeyId(1);
const KEK: KeyId = KeyId(2);

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
    let manufacturer_pk = hpke::derive_key_pair(&mut manufacturer, SIGNER, &[0x44; 32]).unwrap();
    let mut authority = Store::new();
    let authority_pk = hpke::derive_key_pair(&mut authority, RECIPIENT, &[0x55; 32]).unwrap();
    authority
        .import_symmetric(KEK, KeyKind::Aes256, &[0x66; 32])
        .unwrap();
    Parties {
        manufacturer,
        manufacturer_pk,
        authority,
        authority_pk,
    }
}

fn record(i: u64) -> DeviceKeyRecord {
    let key = SecretBuf::<32>::from_slice(&[i as u8 ^ 0x5A; 16]).unwrap();
    DeviceKeyRecord::new(100 + i, 7000 + i, KeyUsageCode::DATA_ENCRYPTION, &key).unwrap()
}

/// A shipment of `count` records, two per chunk.
fn shipment(p: &mut Parties, count: u32) -> Vec<u8> {
    let mut rng = InsecureTestRng::new(80);
    let params =
        ShipmentParams::new(*b"provkit test mfr", [9; 16], count).with_records_per_chunk(2);
    let mut buf = vec![0u8; shipment::chunk_buffer_len(2)];
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
    for i in 0..u64::from(count) {
        if let Some(chunk) = w.push(&record(i)).unwrap() {
            file.extend_from_slice(chunk);
        }
    }
    file.extend_from_slice(&w.finish(&mut p.manufacturer).unwrap());
    file
}

fn open(p: &mut Parties, file: &[u8]) -> Result<u32, Error> {
    let mut scratch = vec![0u8; shipment::chunk_buffer_len(2)];
    let mut n = 0;
    shipment::open_shipment(
        &mut p.authority,
        RECIPIENT,
        &p.manufacturer_pk,
        kek_slot(),
        file,
        &mut scratch,
        |_| {
            n += 1;
            Ok(())
        },
    )
    .map(|s| s.records)
}

fn decode_err(r: Result<impl core::fmt::Debug, Error>) -> (DecodeErrorKind, usize) {
    match r {
        Err(Error::Decode(d)) => (d.kind, d.offset.get()),
        other => panic!("not a decode error: {other:?}"),
    }
}

/// Kills `trailer.len() < TRAILER_LEN` -> `>` in `open_shipment`: a file cut anywhere
/// inside its trailer is `Truncated` at the file's length (not a trailer of the wrong
/// length); one byte extra is `TrailingData` after the trailer.
#[test]
fn open_reports_a_cut_trailer_as_truncated() {
    let mut p = parties();
    let file = shipment(&mut p, 3);
    assert_eq!(open(&mut p, &file), Ok(3));
    let body = file.len() - TRAILER_LEN;
    for len in [body, body + 1, body + TRAILER_LEN / 2, file.len() - 1] {
        assert_eq!(
            decode_err(open(&mut p, &file[..len])),
            (DecodeErrorKind::Truncated, len),
            "{len} of {} bytes",
            file.len()
        );
    }
    let mut long = file.clone();
    long.push(0);
    assert_eq!(
        decode_err(open(&mut p, &long)),
        (DecodeErrorKind::TrailingData, file.len())
    );
}

/// Kills `file.len() < len` -> `==`, `>` and `<=` in `audit_shipment`: a short file is
/// `Truncated` at its length, a long one `TrailingData` at the declared length; the exact
/// file audits.
#[test]
fn audit_names_truncation_and_trailing_data() {
    let mut p = parties();
    let file = shipment(&mut p, 5);
    let h = shipment::audit_shipment(&file, &p.manufacturer_pk).unwrap();
    assert_eq!(h.record_count, 5);
    for len in [
        HEADER_LEN,
        HEADER_LEN + 1,
        file.len() - TRAILER_LEN,
        file.len() - 1,
    ] {
        assert_eq!(
            decode_err(shipment::audit_shipment(&file[..len], &p.manufacturer_pk)),
            (DecodeErrorKind::Truncated, len)
        );
    }
    for extra in [1usize, 64, 1000] {
        let mut long = file.clone();
        long.resize(file.len() + extra, 0);
        assert_eq!(
            decode_err(shipment::audit_shipment(&long, &p.manufacturer_pk)),
            (DecodeErrorKind::TrailingData, file.len())
        );
    }
}

/// Kills `ShipmentOpener`'s `Debug` -> `Ok(Default::default())`: it shows the header
/// and progress (chunks, records opened) and no key material.
#[test]
fn opener_debug_shows_progress() {
    let mut p = parties();
    let file = shipment(&mut p, 3);
    let mut opener = ShipmentOpener::new(
        &mut p.authority,
        RECIPIENT,
        &p.manufacturer_pk,
        &file[..HEADER_LEN],
        kek_slot(),
    )
    .unwrap();
    let text = format!("{opener:?}");
    assert!(text.starts_with("ShipmentOpener"), "{text}");
    assert!(
        text.contains("next_chunk: 0") && text.contains("opened: 0"),
        "{text}"
    );
    let len = opener.next_chunk_len().unwrap();
    let mut chunk = file[HEADER_LEN..HEADER_LEN + len].to_vec();
    opener
        .open_chunk(&mut p.authority, &mut chunk, |_| Ok(()))
        .unwrap();
    let text = format!("{opener:?}");
    assert!(
        text.contains("next_chunk: 1") && text.contains("opened: 2"),
        "{text}"
    );
}

/// Kills `KeyUsageCode`'s `Debug` -> `Ok(Default::default())` and its `&&` -> `||`: printable
/// codes show as text, anything else (even one unprintable byte) as hex.
#[test]
fn key_usage_debug_is_text_or_hex() {
    assert_eq!(
        format!("{:?}", KeyUsageCode::INITIAL_DUKPT),
        "KeyUsageCode(B1)"
    );
    assert_eq!(format!("{:?}", KeyUsageCode(*b"M6")), "KeyUsageCode(M6)");
    assert_eq!(
        format!("{:?}", KeyUsageCode([b'A', 0x00])),
        "KeyUsageCode(4100)"
    );
    assert_eq!(
        format!("{:?}", KeyUsageCode([0x00, b'A'])),
        "KeyUsageCode(0041)"
    );
    assert_eq!(
        format!("{:?}", KeyUsageCode([b' ', 0xFF])),
        "KeyUsageCode(20ff)"
    );
}

/// Kills `DeviceKeyRecord`'s `Debug` -> `Ok(Default::default())` and the deleted AES arm
/// of `DeviceKeyRecord::generate`: records of every AES size are generated (each with
/// its KCV), other kinds are refused, and a record prints its fields but not its key.
#[test]
fn generated_records_and_what_they_print() {
    let mut rng = InsecureTestRng::new(81);
    for kind in [KeyKind::Aes128, KeyKind::Aes192, KeyKind::Aes256] {
        let r = DeviceKeyRecord::generate(5, 6, KeyUsageCode::MAC_CMAC, kind, &mut rng).unwrap();
        assert_eq!((r.serial(), r.key_id(), r.kind()), (5, 6, kind));
        assert_eq!(r.usage(), KeyUsageCode::MAC_CMAC);
    }
    assert_eq!(
        DeviceKeyRecord::generate(5, 6, KeyUsageCode::MAC_CMAC, KeyKind::P256, &mut rng).err(),
        Some(Error::Unsupported)
    );
    let key = [
        0x2bu8, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f,
        0x3c,
    ];
    let r = DeviceKeyRecord::new(
        4242,
        77,
        KeyUsageCode::DATA_ENCRYPTION,
        &SecretBuf::<32>::from_slice(&key).unwrap(),
    )
    .unwrap();
    assert_eq!(r.kcv(), Kcv([0x7a, 0xd3, 0x86, 0xc3, 0x76]));
    let text = format!("{r:?}");
    for part in [
        "DeviceKeyRecord",
        "4242",
        "77",
        "KeyUsageCode(D0)",
        "Aes128",
        "7ad386c376",
    ] {
        assert!(text.contains(part), "{part} in {text}");
    }
    assert!(
        !text.contains("2b7e") && !text.contains("43, 126"),
        "{text}"
    );
}

/// Kills `WrappedKey`'s `Debug` -> `Ok(Default::default())`: a released record prints
/// the KEK, algorithm and length of its wrapped key, not the wrapped bytes.
#[test]
fn released_records_print_the_wrapped_key_summary() {
    let mut p = parties();
    let file = shipment(&mut p, 1);
    let mut scratch = vec![0u8; shipment::chunk_buffer_len(2)];
    let mut released = Vec::new();
    shipment::open_shipment(
        &mut p.authority,
        RECIPIENT,
        &p.manufacturer_pk,
        kek_slot(),
        &file,
        &mut scratch,
        |r| {
            released.push(*r);
            Ok(())
        },
    )
    .unwrap();
    let w = released[0].wrapped;
    assert_eq!(w.as_bytes().len(), 24, "16-byte key under AES-KW");
    let text = format!("{w:?}");
    assert!(text.starts_with("WrappedKey"), "{text}");
    assert!(text.contains("AesKw") && text.contains("len: 24"), "{text}");
    assert!(text.contains("version: 1"), "{text}");
    assert!(!text.contains("bytes"), "{text}");
}
