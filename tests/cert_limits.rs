//! Size limits of the certificate formats (`src/cert/compact_ca.rs`): the longest compact
//! CA certificate fits `COMPACT_CA_MAX_LEN` exactly.
//!
//! Each test names the mutants it kills (see `docs/testing.md`).

mod common;

use common::*;
use provkit::Error;
use provkit::cert::{self, COMPACT_CA_MAX_LEN, CaCert, CaName, CaProfile};
use provkit::error::DecodeErrorKind;

/// A root with common name `cn`, as DER.
fn root_with_cn(pki: &mut Pki, cn: &str) -> Vec<u8> {
    let mut buf = [0u8; 1024];
    let n = cert::create_root(
        &mut pki.ca_store,
        ROOT_KEY,
        &CaProfile::new(
            CaName::new(cn).with_organization("provkit test"),
            [0x55; 16],
            T0,
            T0 + 86_400,
        )
        .with_path_len(0),
        &mut buf,
    )
    .unwrap();
    buf[..n].to_vec()
}

/// Kills the three `+` mutants in `COMPACT_CA_MAX_LEN = FIXED_LEN + 3 + 255`: a CA
/// whose subject Name has the format's largest content, 255 bytes, compresses to
/// exactly `COMPACT_CA_MAX_LEN` (134 fixed bytes + a 3-byte Name header + 255) and
/// parses back; one byte more is outside the profile.
#[test]
fn the_longest_compact_ca_fits_the_maximum_exactly() {
    assert_eq!(COMPACT_CA_MAX_LEN, 134 + 3 + 255);
    let mut pki = Pki::new(90);
    // Find the common-name length whose Name TLV is 3 + 255 bytes.
    let mut found = None;
    for len in 150..255 {
        let cn = "n".repeat(len);
        let der = root_with_cn(&mut pki, &cn);
        let name_len = CaCert::from_der(&der).unwrap().subject_name().len();
        if name_len == 3 + 255 {
            found = Some((len, der));
            break;
        }
    }
    let (len, der) = found.expect("a common name giving a 255-byte Name");
    let ca = CaCert::from_der(&der).unwrap();
    let mut out = [0u8; COMPACT_CA_MAX_LEN];
    assert_eq!(ca.write_compact(&mut out), Ok(COMPACT_CA_MAX_LEN));
    let back = CaCert::from_compact(&out).unwrap();
    assert_eq!(back.subject_name(), ca.subject_name());
    assert_eq!(back.public_key(), ca.public_key());
    assert!(matches!(
        ca.write_compact(&mut out[..COMPACT_CA_MAX_LEN - 1]),
        Err(Error::BufferTooSmall { .. })
    ));

    let longer = root_with_cn(&mut pki, &"n".repeat(len + 1));
    let longer = CaCert::from_der(&longer).unwrap();
    assert!(matches!(
        longer.write_compact(&mut [0u8; 2 * COMPACT_CA_MAX_LEN]),
        Err(Error::Decode(d)) if d.kind == DecodeErrorKind::OutsideProfile
    ));
}

/// Kills `ca.not_before() > NO_EXPIRY` -> `>=` and `==` in the compact CA parser: a
/// notBefore of exactly `NO_EXPIRY` (99991231235959Z, the largest time X.509 can
/// carry) parses; one second later is `InvalidValue` at the field (offset 18).
#[test]
fn compact_ca_not_before_is_bounded_by_no_expiry() {
    let pki = Pki::new(91);
    let mut out = [0u8; COMPACT_CA_MAX_LEN];
    let n = pki.root().write_compact(&mut out).unwrap();
    let compact = out[..n].to_vec();
    let with_not_before = |t: u64| {
        let mut c = compact.clone();
        c[18..26].copy_from_slice(&t.to_be_bytes());
        c
    };
    let edge = with_not_before(cert::NO_EXPIRY);
    let ca = CaCert::from_compact(&edge).unwrap();
    assert_eq!(ca.validity().0, cert::NO_EXPIRY);
    for t in [cert::NO_EXPIRY + 1, u64::MAX] {
        let late = with_not_before(t);
        match CaCert::from_compact(&late) {
            Err(Error::Decode(d)) => {
                assert_eq!(d.kind, DecodeErrorKind::InvalidValue);
                assert_eq!(d.offset.get(), 18);
            }
            other => panic!("notBefore {t}: {other:?}"),
        }
    }
}

/// Kills `*len < 0x80` -> `<=` in the compact CA parser's Name check (and, with the
/// longest-certificate test, the `*len >= 0x80` guard -> `false`): the Name's length
/// must be minimal DER, so `30 80 …` (indefinite) and `30 81 05 …` (long form for a
/// short length) are `InvalidLength` at the length byte (offset 135), while `30 81 80 …`
/// frames.
#[test]
fn compact_ca_names_need_minimal_lengths() {
    let pki = Pki::new(96);
    let mut out = [0u8; COMPACT_CA_MAX_LEN];
    let n = pki.root().write_compact(&mut out).unwrap();
    let fixed = &out[..134];
    assert_eq!(n, 134 + pki.root().subject_name().len());
    let with_name = |name: &[u8]| [fixed, name].concat();
    for name in [
        [&[0x30, 0x80][..], &[0x41; 128]].concat(),
        [&[0x30, 0x81, 0x05][..], &[0x41; 5]].concat(),
        vec![0x30, 0x81, 0x00],
    ] {
        let c = with_name(&name);
        match CaCert::from_compact(&c) {
            Err(Error::Decode(d)) => {
                assert_eq!(
                    d.kind,
                    DecodeErrorKind::InvalidLength,
                    "{:02x?}",
                    &name[..3]
                );
                assert_eq!(d.offset.get(), 135);
            }
            other => panic!("{:02x?}: {other:?}", &name[..3]),
        }
    }
    // Kills `body_at + present` -> `-`/`*` in `exact`: a Name shorter than its length
    // says is `Truncated` at its end; a longer one `TrailingData` after the declared end.
    for (name, kind, offset) in [
        (
            vec![0x30, 0x10, 1, 2, 3, 4, 5],
            DecodeErrorKind::Truncated,
            134 + 7,
        ),
        (
            vec![0x30, 0x02, 1, 2, 3],
            DecodeErrorKind::TrailingData,
            134 + 4,
        ),
        (
            [&[0x30, 0x81, 0x90][..], &[0x41; 0x85]].concat(),
            DecodeErrorKind::Truncated,
            134 + 3 + 0x85,
        ),
    ] {
        match CaCert::from_compact(&with_name(&name)) {
            Err(Error::Decode(d)) => assert_eq!((d.kind, d.offset.get()), (kind, offset)),
            other => panic!("{:02x?}: {other:?}", &name[..3]),
        }
    }
    let long = with_name(&[&[0x30, 0x81, 0x80][..], &[0x41; 128]].concat());
    assert!(
        !matches!(CaCert::from_compact(&long), Err(Error::Decode(d)) if d.offset.get() <= 137),
        "a minimal long-form length frames"
    );
}

/// Kills `(*first & 0x7f) | 0x40` -> `^ 0x40` in `ca.rs`'s `positive`: a CA serial is
/// always 16 content bytes with the top bit clear and bit 6 set (so DER needs no
/// leading zero and never shortens it), whatever the first byte asked for.
#[test]
fn ca_serials_are_positive_sixteen_byte_integers() {
    let mut pki = Pki::new(105);
    for (first, want) in [(0x45u8, 0x45u8), (0xC5, 0x45), (0x00, 0x40), (0xFF, 0x7F)] {
        let mut serial = [0x11u8; 16];
        serial[0] = first;
        let mut buf = [0u8; 1024];
        let n = cert::create_root(
            &mut pki.ca_store,
            ROOT_KEY,
            &CaProfile::new(CaName::new("Serial test"), serial, T0, T0 + 86_400),
            &mut buf,
        )
        .unwrap();
        let x = cert::X509Cert::from_der(&buf[..n]).unwrap();
        let mut expected = serial;
        expected[0] = want;
        assert_eq!(x.serial(), expected, "first byte {first:#04x}");
    }
}

/// Kills `now < device.not_before()` -> `<=` in `verify_issued`: a device certificate
/// is valid from the first second of its issue day (inclusive), not before.
#[test]
fn device_certificates_are_valid_from_the_start_of_their_issue_day() {
    let pki = Pki::new(106);
    let device = cert::CompactCert::parse(&pki.device).unwrap();
    let start = device.not_before();
    assert_eq!(start % 86_400, 0);
    assert!(start <= ISSUED && ISSUED - start < 86_400);
    let int = pki.intermediate();
    assert_eq!(
        cert::verify_issued(&int, &device, start).unwrap().serial,
        SERIAL
    );
    assert_eq!(
        cert::verify_issued(&int, &device, start - 1).err(),
        Some(Error::Cert(provkit::error::CertError::NotYetValid))
    );
    let root = pki.root();
    assert!(cert::verify_device(&root, Some(&int), &device, start).is_ok());
}
