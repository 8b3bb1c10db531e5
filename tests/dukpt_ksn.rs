//! AES DUKPT key serial numbers (`src/dukpt/ksn.rs`) and the transaction-counter rule
//! they follow (`src/dukpt/counter.rs`): encoding, accessors, text forms, validity and
//! advance at the edges of the counter space.
//!
//! Each test names the mutants it kills (see `docs/testing.md`).

use provkit::Error;
use provkit::dukpt::{AesKsn, InitialKeyId};
use provkit::error::DecodeErrorKind;

const BDK_ID: [u8; 4] = [0x12, 0x34, 0x56, 0x78];
const DERIVATION_ID: [u8; 4] = [0x9A, 0xBC, 0xDE, 0xF0];

fn ikid() -> InitialKeyId {
    InitialKeyId::from_parts(BDK_ID, DERIVATION_ID)
}

/// Kills `InitialKeyId::from_parts -> Default`, `to_bytes -> [0; 8]/[1; 8]`,
/// `bdk_id -> [0; 4]/[1; 4]`, `derivation_id -> [0; 4]/[1; 4]`: the two halves land
/// where ANSI X9.24-3 puts them and come back out.
#[test]
fn initial_key_id_halves() {
    let id = ikid();
    let bytes = [0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0];
    assert_eq!(id.to_bytes(), bytes);
    assert_eq!(id, InitialKeyId::new(bytes));
    assert_eq!(id.bdk_id(), BDK_ID);
    assert_eq!(id.derivation_id(), DERIVATION_ID);
    assert_ne!(
        InitialKeyId::from_parts(DERIVATION_ID, BDK_ID),
        id,
        "order matters"
    );
}

/// Kills the `Display`/`Debug` -> `Ok(Default::default())` mutants of `InitialKeyId`
/// and `AesKsn`: the text forms are upper-case hex, the KSN's counter as 8 digits.
#[test]
fn text_forms_are_upper_case_hex() {
    let id = ikid();
    assert_eq!(id.to_string(), "123456789ABCDEF0");
    assert_eq!(format!("{id:?}"), "InitialKeyId(123456789ABCDEF0)");
    let ksn = AesKsn::new(id, 0x2A);
    assert_eq!(ksn.to_string(), "123456789ABCDEF00000002A");
    assert_eq!(format!("{ksn:?}"), "AesKsn(123456789ABCDEF00000002A)");
}

/// Kills `AesKsn::from_bytes -> Default`, `parse -> Ok(Default)`, `to_bytes ->
/// [0; 12]/[1; 12]`, `initial_key_id -> Default`, `counter -> 0/1`: the 12-byte
/// encoding is IKID || big-endian counter, and only 12 bytes parse.
#[test]
fn ksn_encoding_round_trips() {
    let bytes = [
        0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0, 0x00, 0x01, 0x02, 0x03,
    ];
    let ksn = AesKsn::parse(&bytes).unwrap();
    assert_eq!(ksn, AesKsn::from_bytes(&bytes));
    assert_eq!(ksn.initial_key_id(), ikid());
    assert_eq!(ksn.counter(), 0x0001_0203);
    assert_eq!(ksn.to_bytes(), bytes);
    assert_eq!(AesKsn::new(ikid(), 0x0001_0203), ksn);
    for len in [0usize, 11, 13, 20] {
        let v = vec![0u8; len];
        let err = AesKsn::parse(&v).unwrap_err();
        match err {
            Error::Decode(d) => {
                assert_eq!(d.kind, DecodeErrorKind::InvalidLength);
                assert_eq!(d.offset.get(), len.min(12));
            }
            other => panic!("{len} bytes: {other:?}"),
        }
    }
}

/// Kills `AesKsn::is_valid -> true/false` and the comparison mutants of the counter
/// rule's `is_valid`/`fits`: counter 0 and counters with 17 or more one-bits are not
/// usable; 1, 16 one-bits and the last counter are.
#[test]
fn counter_validity_edges() {
    let v = |c: u32| AesKsn::new(ikid(), c).is_valid();
    assert!(!v(0));
    assert!(v(1));
    assert!(v(0xFFFF), "16 one-bits");
    assert!(!v(0x1_FFFF), "17 one-bits");
    assert!(v(0xFFFF_0000), "the last counter");
    assert!(!v(0xFFFF_8000));
    assert!(!v(u32::MAX));
    assert!(v(0x8000_0000));
}

/// Kills `AesKsn::next -> None/Some(Default)` and the arithmetic mutants of the counter
/// rule's `next`: the successor skips counters with too many one-bits by adding the
/// lowest set bit, keeps the IKID, and runs out after `FFFF0000`.
#[test]
fn next_skips_invalid_counters_and_ends() {
    let next = |c: u32| AesKsn::new(ikid(), c).next().map(|k| k.counter());
    assert_eq!(next(0), Some(1));
    assert_eq!(next(1), Some(2));
    assert_eq!(next(0xFFFE), Some(0xFFFF));
    // 0x1_0000 has one bit; 0x1_FFFF (17 bits) would follow 0x1_FFFE.
    assert_eq!(next(0xFFFF), Some(0x1_0000));
    assert_eq!(next(0x1_FFFE), Some(0x2_0000));
    assert_eq!(next(0x7FFF_8000), Some(0x8000_0000));
    assert_eq!(next(0xFFFE_8000), Some(0xFFFF_0000));
    assert_eq!(next(0xFFFF_0000), None);
    assert_eq!(next(u32::MAX), None);
    let k = AesKsn::new(ikid(), 41).next().unwrap();
    assert_eq!(k.initial_key_id(), ikid());
    assert_eq!(k.counter(), 42);
    // Every successor is valid and the walk is strictly increasing.
    let mut c = 0xFFF0_0000u32;
    let mut steps = 0;
    while let Some(n) = next(c) {
        assert!(
            n > c && AesKsn::new(ikid(), n).is_valid(),
            "{c:#x} -> {n:#x}"
        );
        c = n;
        steps += 1;
    }
    assert_eq!(c, 0xFFFF_0000);
    assert!(steps > 10);
}
