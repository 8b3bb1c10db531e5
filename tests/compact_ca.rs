//! Compact CA certificates: how a device holds its root and intermediate without an
//! X.509 parser. Byte-exact round trips with DER, chain verification in either form,
//! tamper rejection and the parser's errors.

mod common;

use common::*;
use provkit::Error;
use provkit::cert::{self, COMPACT_CA_MAX_LEN, CaCert, CaName, CaProfile, CompactCert};
use provkit::error::{CertError, DecodeErrorKind};

fn compact(ca: &CaCert<'_>) -> Vec<u8> {
    let mut out = [0u8; COMPACT_CA_MAX_LEN];
    let n = ca.write_compact(&mut out).unwrap();
    out[..n].to_vec()
}

fn der(ca: &CaCert<'_>, issuer: &CaCert<'_>) -> Vec<u8> {
    let mut out = [0u8; 1024];
    let n = ca.write_der(issuer, &mut out).unwrap();
    out[..n].to_vec()
}

fn decode_kind(r: provkit::Result<CaCert<'_>>) -> (DecodeErrorKind, usize) {
    match r {
        Err(Error::Decode(d)) => (d.kind, d.offset.get()),
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[test]
fn compact_and_der_convert_byte_exactly() {
    for seed in 1..=5 {
        let pki = Pki::new(seed);
        let (root_c, int_c) = (compact(&pki.root()), compact(&pki.intermediate()));
        // 134 fixed bytes and the subject Name.
        assert_eq!(root_c.len(), 134 + pki.root().subject_name().len());
        assert_eq!(int_c.len(), 134 + pki.intermediate().subject_name().len());
        assert!(root_c.len() * 2 < pki.root_der.len());
        let root = CaCert::from_compact(&root_c).unwrap();
        let int = CaCert::from_compact(&int_c).unwrap();
        // A root expands under itself, an intermediate under its issuer, in either form.
        assert_eq!(der(&root, &root), pki.root_der);
        assert_eq!(der(&int, &root), pki.intermediate_der);
        assert_eq!(der(&int, &pki.root()), pki.intermediate_der);
        // Compact to compact is a copy; DER to DER is a copy.
        assert_eq!(compact(&root), root_c);
        assert_eq!(der(&pki.root(), &pki.root()), pki.root_der);
        // Same key, key id, name and constraints as the DER.
        for (c, d) in [(&root, pki.root()), (&int, pki.intermediate())] {
            assert_eq!(c.public_key(), d.public_key());
            assert_eq!(c.as_issuer(), d.as_issuer());
            assert_eq!(c.path_len(), d.path_len());
            assert_eq!(c.validity(), d.validity());
            assert!(c.x509().is_none() && d.x509().is_some());
        }
    }
}

#[test]
fn chains_verify_the_same_in_every_form() {
    let pki = Pki::new(2);
    let (root_c, int_c) = (compact(&pki.root()), compact(&pki.intermediate()));
    let roots = [pki.root(), CaCert::from_compact(&root_c).unwrap()];
    let ints = [pki.intermediate(), CaCert::from_compact(&int_c).unwrap()];
    let device = CompactCert::parse(&pki.device).unwrap();
    let expected = cert::verify_device(&roots[0], Some(&ints[0]), &device, NOW).unwrap();
    for root in &roots {
        for int in &ints {
            assert_eq!(
                cert::verify_device(root, Some(int), &device, NOW).unwrap(),
                expected
            );
            cert::verify_ca(root, int, NOW).unwrap();
        }
        // The intermediate's validity and the root's path length still hold.
        let int = CaCert::from_compact(&int_c).unwrap();
        assert_eq!(
            cert::verify_ca(root, &int, T0 - 1),
            Err(CertError::NotYetValid.into())
        );
        assert_eq!(
            cert::verify_ca(root, &int, T0 + 11 * 365 * 86_400),
            Err(CertError::Expired.into())
        );
        assert_eq!(
            cert::verify_ca(&int, &int, NOW),
            Err(CertError::PathTooLong.into())
        );
    }
    // Device certificates issue and expand the same under a compact CA.
    let int = CaCert::from_compact(&int_c).unwrap();
    let c = CompactCert::parse(&pki.device).unwrap();
    let mut out = [0u8; 600];
    let n = cert::expand(&c, int.as_issuer(), &mut out).unwrap();
    assert_eq!(out[..n], pki.device_der());
}

#[test]
fn another_roots_intermediate_is_refused() {
    let (a, b) = (Pki::new(3), Pki::new(4));
    let root_a = compact(&a.root());
    let int_b = compact(&b.intermediate());
    let root_a = CaCert::from_compact(&root_a).unwrap();
    let int_b = CaCert::from_compact(&int_b).unwrap();
    assert_eq!(
        cert::verify_ca(&root_a, &int_b, NOW),
        Err(CertError::IssuerMismatch.into())
    );
    let mut out = [0u8; 1024];
    assert_eq!(
        int_b.write_der(&root_a, &mut out),
        Err(CertError::IssuerMismatch.into())
    );
}

#[test]
fn every_wrong_byte_in_a_compact_intermediate_is_rejected() {
    let pki = Pki::new(5);
    let root = pki.root();
    let good = compact(&pki.intermediate());
    let device = CompactCert::parse(&pki.device).unwrap();
    for i in 0..good.len() {
        for flip in [0x01u8, 0x02, 0x10, 0x80, 0xff] {
            let mut bad = good.clone();
            bad[i] ^= flip;
            let result = CaCert::from_compact(&bad)
                .and_then(|int| cert::verify_device(&root, Some(&int), &device, NOW));
            assert!(result.is_err(), "byte {i} ^ {flip:#04x} accepted");
        }
    }
}

#[test]
fn a_wrong_byte_in_a_compact_root_breaks_the_chain_where_the_chain_uses_it() {
    // The root is the trust anchor: its own serial, validity and signature are not
    // checked (as with a DER anchor), but its key, key id and name are what the
    // intermediate's signature covers.
    let pki = Pki::new(6);
    let good = compact(&pki.root());
    let int = pki.intermediate();
    let device = CompactCert::parse(&pki.device).unwrap();
    let anchor_bytes = (0..1).chain(34..70).chain(134..good.len());
    for i in anchor_bytes {
        for flip in [0x01u8, 0x80] {
            let mut bad = good.clone();
            bad[i] ^= flip;
            let result = CaCert::from_compact(&bad)
                .and_then(|root| cert::verify_device(&root, Some(&int), &device, NOW));
            assert!(result.is_err(), "byte {i} ^ {flip:#04x} accepted");
        }
    }
}

#[test]
fn malformed_compact_certificates_get_precise_errors() {
    let pki = Pki::new(7);
    let good = compact(&pki.intermediate());
    let with = |i: usize, v: u8| {
        let mut b = good.clone();
        b[i] = v;
        b
    };
    assert_eq!(
        decode_kind(CaCert::from_compact(&[])),
        (DecodeErrorKind::Truncated, 0)
    );
    for len in 1..good.len() {
        let (kind, _) = decode_kind(CaCert::from_compact(&good[..len]));
        assert_eq!(kind, DecodeErrorKind::Truncated, "length {len}");
    }
    let mut long = good.clone();
    long.push(0);
    assert_eq!(
        decode_kind(CaCert::from_compact(&long)),
        (DecodeErrorKind::TrailingData, good.len())
    );
    // Version 2, and the reserved bit.
    assert_eq!(
        decode_kind(CaCert::from_compact(&with(0, good[0] + 0x10))).0,
        DecodeErrorKind::UnknownVersion
    );
    assert_eq!(
        decode_kind(CaCert::from_compact(&with(0, good[0] | 0x02))).0,
        DecodeErrorKind::UnknownVersion
    );
    // A pathLen byte without the flag.
    let mut no_flag = good.clone();
    no_flag[0] &= !0x04;
    no_flag[1] = 1;
    assert_eq!(
        decode_kind(CaCert::from_compact(&no_flag)),
        (DecodeErrorKind::InvalidValue, 1)
    );
    // Serials must be positive 16-byte INTEGERs.
    for first in [0x00, 0x80, 0xff] {
        assert_eq!(
            decode_kind(CaCert::from_compact(&with(2, first))),
            (DecodeErrorKind::InvalidValue, 2)
        );
    }
    // Times after 9999 cannot be written in X.509.
    assert_eq!(
        decode_kind(CaCert::from_compact(&with(26, 0x01))),
        (DecodeErrorKind::InvalidValue, 26)
    );
    // The subject Name: its tag and its length form.
    assert_eq!(
        decode_kind(CaCert::from_compact(&with(134, 0x31))),
        (DecodeErrorKind::UnexpectedTag, 134)
    );
    assert_eq!(
        decode_kind(CaCert::from_compact(&with(135, 0x82))),
        (DecodeErrorKind::InvalidLength, 135)
    );
    // A self-signed certificate must name its own key.
    let root = compact(&pki.root());
    let mut other = root.clone();
    other[34] ^= 1;
    assert_eq!(
        decode_kind(CaCert::from_compact(&other)),
        (DecodeErrorKind::InvalidValue, 34)
    );
    // An x coordinate with no point on the curve (about half of them).
    let mut not_a_point = good.clone();
    let mut found = false;
    for v in 0..=255u8 {
        not_a_point[69] = v;
        if let Err(Error::Decode(d)) = CaCert::from_compact(&not_a_point) {
            assert_eq!(
                (d.kind, d.offset.get()),
                (DecodeErrorKind::InvalidPoint, 38)
            );
            found = true;
            break;
        }
    }
    assert!(found);
    // Buffers.
    let mut small = [0u8; 100];
    assert!(matches!(
        pki.intermediate().write_compact(&mut small),
        Err(Error::BufferTooSmall { needed }) if needed == good.len()
    ));
}

#[test]
fn only_certificates_in_the_profile_compress() {
    let mut pki = Pki::new(8);
    // A name longer than the format's 255 bytes.
    let long_cn = "x".repeat(240);
    let mut buf = [0u8; 1024];
    let n = cert::create_root(
        &mut pki.ca_store,
        ROOT_KEY,
        &CaProfile::new(
            CaName::new(&long_cn).with_organization("provkit test"),
            [0x33; 16],
            T0,
            T0 + 86_400,
        ),
        &mut buf,
    )
    .unwrap();
    let long = CaCert::from_der(&buf[..n]).unwrap();
    assert!(matches!(
        long.write_compact(&mut [0u8; COMPACT_CA_MAX_LEN]),
        Err(Error::Decode(d)) if d.kind == DecodeErrorKind::OutsideProfile
    ));
    // Without a pathLen constraint, and a time in the GeneralizedTime range.
    let n = cert::create_root(
        &mut pki.ca_store,
        ROOT_KEY,
        &CaProfile::new(CaName::new("Short"), [0x44; 16], T0, cert::NO_EXPIRY),
        &mut buf,
    )
    .unwrap();
    let root = CaCert::from_der(&buf[..n]).unwrap();
    let c = compact(&root);
    let again = CaCert::from_compact(&c).unwrap();
    assert_eq!(again.path_len(), None);
    assert_eq!(der(&again, &again), &buf[..n]);
}
