//! The X.509 parser (`src/cert/x509.rs`) on certificates edited at the DER level: serial
//! number limits, malformed signature values and public keys (with the offset of the
//! bad byte), and `X509Cert::check_validity` at its edges.
//!
//! Each test names the mutants it kills (see `docs/testing.md`).

mod common;

use common::*;
use provkit::Error;
use provkit::cert::X509Cert;
use provkit::error::{CertError, DecodeErrorKind};

/// A two-byte long-form DER length at `at` (`0x82 hi lo`), adjusted by `delta`.
fn adjust_len(der: &mut [u8], at: usize, delta: isize) {
    assert_eq!(der[at], 0x82, "long-form length expected at {at}");
    let len = u16::from_be_bytes([der[at + 1], der[at + 2]]) as isize + delta;
    der[at + 1..at + 3].copy_from_slice(&u16::try_from(len).unwrap().to_be_bytes());
}

/// `der` with its serial number INTEGER content replaced by `serial`, lengths fixed up.
/// Layout: `30 82 LL LL | 30 82 LL LL | a0 03 02 01 02 | 02 len serial…`.
fn with_serial(der: &[u8], serial: &[u8]) -> Vec<u8> {
    assert_eq!(&der[8..13], &[0xa0, 0x03, 0x02, 0x01, 0x02]);
    assert_eq!(der[13], 0x02);
    let old = usize::from(der[14]);
    let delta = serial.len() as isize - old as isize;
    let mut out = der[..14].to_vec();
    out.push(u8::try_from(serial.len()).unwrap());
    out.extend_from_slice(serial);
    out.extend_from_slice(&der[15 + old..]);
    adjust_len(&mut out, 1, delta);
    adjust_len(&mut out, 5, delta);
    out
}

fn decode_err<T: core::fmt::Debug>(r: provkit::Result<T>) -> (DecodeErrorKind, usize) {
    match r {
        Err(Error::Decode(d)) => (d.kind, d.offset.get()),
        other => panic!("expected a decode error, got {other:?}"),
    }
}

/// Kills the mutants of `serial.is_empty() || serial.len() > 21 || negative` in
/// `X509Cert::from_der` (`||` -> `&&` twice, `>` -> `==` and `>=`): a serial of 1 to 21
/// content bytes with the sign bit clear parses; empty, 22 bytes or negative is
/// `InvalidValue` at the INTEGER (offset 13).
#[test]
fn serial_numbers_are_positive_and_at_most_21_bytes() {
    let pki = Pki::new(92);
    let der = pki.root_der.clone();
    assert!(X509Cert::from_der(&der).is_ok());
    for good in [&[0x01][..], &[0x7f; 20], &[0x00, 0x80], &[0x01; 21]] {
        let d = with_serial(&der, good);
        let c = X509Cert::from_der(&d).unwrap_or_else(|e| panic!("{good:02x?}: {e:?}"));
        assert_eq!(c.serial(), good);
    }
    for bad in [
        &[][..],
        &[0x01; 22],
        &[0x7f; 30],
        &[0x80],
        &[0xff, 0x01],
        &[0x80; 21],
    ] {
        let d = with_serial(&der, bad);
        assert_eq!(
            decode_err(X509Cert::from_der(&d)),
            (DecodeErrorKind::InvalidValue, 13),
            "{bad:02x?}"
        );
    }
}

/// Position of the signature BIT STRING (`03 LL 00 30 MM`, ending the certificate).
fn signature_bit_string(der: &[u8]) -> usize {
    (0..der.len() - 5)
        .find(|&i| {
            der[i] == 0x03
                && der[i + 2] == 0x00
                && der[i + 3] == 0x30
                && usize::from(der[i + 1]) == usize::from(der[i + 4]) + 3
                && i + 2 + usize::from(der[i + 1]) == der.len()
        })
        .unwrap()
}

/// Kills `sig_at + 3` -> `-`/`*` in both error paths of the signature value in
/// `X509Cert::from_der`: a malformed ECDSA-Sig-Value, or bytes after it inside the BIT
/// STRING, are reported at their own offset in the certificate.
#[test]
fn malformed_signature_values_are_reported_where_they_are() {
    let pki = Pki::new(93);
    for der in [
        pki.root_der.clone(),
        pki.intermediate_der.clone(),
        pki.device_der(),
    ] {
        let at = signature_bit_string(&der);
        // The ECDSA-Sig-Value SEQUENCE tag replaced by a SET tag.
        let mut bad_tag = der.clone();
        bad_tag[at + 3] = 0x31;
        let (_, offset) = decode_err(X509Cert::from_der(&bad_tag));
        assert_eq!(offset, at + 3);
        // One byte appended inside the BIT STRING (and the outer SEQUENCE).
        let mut trailing = der.clone();
        trailing.push(0x00);
        trailing[at + 1] += 1;
        adjust_len(&mut trailing, 1, 1);
        assert_eq!(
            decode_err(X509Cert::from_der(&trailing)),
            (DecodeErrorKind::TrailingData, der.len())
        );
    }
}

/// Kills `point_at + 3` -> `-`/`*` in `X509Cert::from_der`: a subject public key that
/// is not a valid SEC1 point is reported at the point's first byte.
#[test]
fn an_invalid_public_key_is_reported_at_the_point() {
    let pki = Pki::new(94);
    let der = pki.root_der.clone();
    // The subjectPublicKey BIT STRING: 03 42 00 04 x y.
    let at = (0..der.len() - 4)
        .find(|&i| der[i..i + 4] == [0x03, 0x42, 0x00, 0x04])
        .unwrap();
    for (byte, value) in [(at + 3, 0x05u8), (at + 3, 0x00), (at + 4 + 31, 0xff)] {
        let mut d = der.clone();
        d[byte] = value;
        if byte > at + 3 {
            // A coordinate changed: most likely off the curve; x = ff.. is not < p.
            d[at + 4..at + 4 + 32].fill(0xff);
        }
        let (_, offset) = decode_err(X509Cert::from_der(&d));
        assert_eq!(offset, at + 3, "byte {byte} = {value:#x}");
    }
}

/// Kills `X509Cert::check_validity -> Ok(())`: the bounds are inclusive, and a time
/// outside them is `NotYetValid` or `Expired`.
#[test]
fn x509_validity_edges() {
    let pki = Pki::new(95);
    let c = X509Cert::from_der(&pki.root_der).unwrap();
    let (nb, na) = (c.not_before(), c.not_after());
    assert_eq!(nb, T0);
    assert!(na > nb);
    assert_eq!(
        c.check_validity(nb - 1),
        Err(Error::Cert(CertError::NotYetValid))
    );
    assert_eq!(c.check_validity(nb), Ok(()));
    assert_eq!(c.check_validity(na), Ok(()));
    assert_eq!(
        c.check_validity(na + 1),
        Err(Error::Cert(CertError::Expired))
    );
}

/// Kills `X509Cert::verify_signature -> Ok(())`: a certificate verifies under its
/// issuer's key only, and not after a byte of its TBSCertificate changes.
#[test]
fn x509_signatures_verify_under_the_issuer_only() {
    let pki = Pki::new(97);
    let root = X509Cert::from_der(&pki.root_der).unwrap();
    let int = X509Cert::from_der(&pki.intermediate_der).unwrap();
    root.verify_signature(root.public_key()).unwrap();
    int.verify_signature(root.public_key()).unwrap();
    assert_eq!(int.verify_signature(int.public_key()), Err(Error::Crypto));
    assert_eq!(root.verify_signature(int.public_key()), Err(Error::Crypto));
    // Change one byte of the subject's common name (still parses, no longer verifies).
    let mut der = pki.intermediate_der.clone();
    let cn = der.windows(7).position(|w| w == b"Factory").unwrap();
    der[cn] = b'f';
    let changed = X509Cert::from_der(&der).unwrap();
    assert_eq!(
        changed.verify_signature(root.public_key()),
        Err(Error::Crypto)
    );
}

/// Kills `ku & key_usage::KEY_CERT_SIGN != 0` -> `|` in `CaCert::from_der`: a CA
/// certificate whose keyUsage lacks keyCertSign (here cRLSign only) is not a CA.
#[test]
fn a_ca_without_key_cert_sign_is_not_a_ca() {
    let pki = Pki::new(98);
    let der = pki.root_der.clone();
    assert!(provkit::cert::CaCert::from_der(&der).is_ok());
    // keyUsage: OID 2.5.29.15, critical, OCTET STRING { BIT STRING 01 06 }.
    let ku = der
        .windows(3)
        .position(|w| w == [0x55, 0x1d, 0x0f])
        .unwrap();
    let bits = (ku..ku + 12)
        .find(|&i| der[i..i + 4] == [0x03, 0x02, 0x01, 0x06])
        .expect("keyCertSign | cRLSign");
    let mut crl_only = der.clone();
    crl_only[bits + 3] = 0x02;
    assert!(X509Cert::from_der(&crl_only).is_ok(), "still well-formed");
    assert_eq!(
        provkit::cert::CaCert::from_der(&crl_only).err(),
        Some(Error::Cert(CertError::NotACa))
    );
}

// ---------------------------------------------------------------------------------------
// Extensions, rebuilt at the DER level (`X509Cert::from_der` does not check signatures).

/// One DER TLV: (tag, header length, total length) at `at`.
fn tlv(der: &[u8], at: usize) -> (u8, usize, usize) {
    let tag = der[at];
    let (hdr, len) = match der[at + 1] {
        l if l < 0x80 => (2, usize::from(l)),
        0x81 => (3, usize::from(der[at + 2])),
        0x82 => (
            4,
            usize::from(u16::from_be_bytes([der[at + 2], der[at + 3]])),
        ),
        other => panic!("length form {other:#x}"),
    };
    (tag, hdr, hdr + len)
}

fn enc(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match content.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n < 0x100 => out.extend_from_slice(&[0x81, n as u8]),
        n => out.extend_from_slice(&[0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(content);
    out
}

/// The children of the constructed TLV at `at`.
fn children(der: &[u8], at: usize) -> Vec<Vec<u8>> {
    let (_, hdr, total) = tlv(der, at);
    let mut out = Vec::new();
    let mut i = at + hdr;
    while i < at + total {
        let (_, _, t) = tlv(der, i);
        out.push(der[i..i + t].to_vec());
        i += t;
    }
    out
}

/// `der` with its extensions replaced by `f(existing extensions)`.
fn with_extensions(der: &[u8], f: impl FnOnce(Vec<Vec<u8>>) -> Vec<Vec<u8>>) -> Vec<u8> {
    let top = children(der, 0);
    let tbs = children(&top[0], 0);
    let mut new_tbs = Vec::new();
    let mut f = Some(f);
    for child in tbs {
        if child[0] == 0xa3 {
            let exts = children(&children(&child, 0)[0], 0);
            let seq = enc(0x30, &(f.take().unwrap())(exts).concat());
            new_tbs.extend_from_slice(&enc(0xa3, &seq));
        } else {
            new_tbs.extend_from_slice(&child);
        }
    }
    enc(
        0x30,
        &[enc(0x30, &new_tbs), top[1].clone(), top[2].clone()].concat(),
    )
}

fn extension(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let mut content = enc(0x06, oid);
    if critical {
        content.extend_from_slice(&[0x01, 0x01, 0xff]);
    }
    content.extend_from_slice(&enc(0x04, value));
    enc(0x30, &content)
}

const KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
const EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
const CLIENT_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
const SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];

fn is_oid(ext: &[u8], oid: &[u8]) -> bool {
    children(ext, 0)[0] == enc(0x06, oid)
}

/// Kills `_ if critical` -> `false` in `parse_extensions`: an unknown critical extension
/// is refused; the same extension non-critical is ignored.
#[test]
fn unknown_critical_extensions_are_refused() {
    let pki = Pki::new(99);
    let unknown = [0x2a, 0x03, 0x04];
    let add = |critical| {
        with_extensions(&pki.root_der, |mut e| {
            e.push(extension(&unknown, critical, &[0x05, 0x00]));
            e
        })
    };
    let same = with_extensions(&pki.root_der, |e| e);
    assert_eq!(same, pki.root_der, "the rebuild is byte-exact");
    assert!(X509Cert::from_der(&add(false)).is_ok());
    assert_eq!(
        X509Cert::from_der(&add(true)).err(),
        Some(Error::Cert(CertError::UnknownCriticalExtension))
    );
}

/// Kills `seen |= bit` -> `&=` in `parse_extensions`: an extension that appears twice is
/// refused.
#[test]
fn repeated_extensions_are_refused() {
    let pki = Pki::new(100);
    let twice = with_extensions(&pki.root_der, |mut e| {
        let ku = e.iter().find(|x| is_oid(x, KEY_USAGE)).unwrap().clone();
        e.push(ku);
        e
    });
    assert!(matches!(
        X509Cert::from_der(&twice),
        Err(Error::Decode(d)) if d.kind == DecodeErrorKind::InvalidValue
    ));
}

/// Kills the deleted `oid::CLIENT_AUTH` arm in `parse_extensions`: an
/// extendedKeyUsage of clientAuth and serverAuth reads as both.
#[test]
fn extended_key_usage_names_client_and_server() {
    let pki = Pki::new(101);
    for (oids, want) in [
        (vec![CLIENT_AUTH], (true, false)),
        (vec![SERVER_AUTH], (false, true)),
        (vec![SERVER_AUTH, CLIENT_AUTH], (true, true)),
    ] {
        let value = enc(
            0x30,
            &oids
                .iter()
                .map(|o| enc(0x06, o))
                .collect::<Vec<_>>()
                .concat(),
        );
        let d = with_extensions(&pki.root_der, |mut e| {
            e.retain(|x| !is_oid(x, EXT_KEY_USAGE));
            e.push(extension(EXT_KEY_USAGE, false, &value));
            e
        });
        let c = X509Cert::from_der(&d).unwrap();
        assert_eq!(c.extensions().ext_key_usage, Some(want));
    }
}

/// Kills both `||` -> `&&` in `read_bits`: a keyUsage BIT STRING with more than 7
/// unused bits, more than two content bytes, or unused bits and no content is
/// `InvalidValue`; the canonical forms parse.
#[test]
fn key_usage_bit_strings_must_be_canonical() {
    let pki = Pki::new(102);
    let with_ku = |bits: &[u8]| {
        with_extensions(&pki.root_der, |e| {
            e.into_iter()
                .map(|x| {
                    if is_oid(&x, KEY_USAGE) {
                        extension(KEY_USAGE, true, &enc(0x03, bits))
                    } else {
                        x
                    }
                })
                .collect()
        })
    };
    let canonical = with_ku(&[0x01, 0x06]);
    let ok = X509Cert::from_der(&canonical).unwrap();
    assert_eq!(ok.extensions().key_usage, Some((1 << 5) | (1 << 6)));
    // Kills `bytes.len() > 2` -> `>=` and `unused != 0` -> `==`: two content bytes
    // (decipherOnly is bit 8), and an empty list with no unused bits, are canonical.
    for (bits, mask) in [
        (&[0x07, 0x06, 0x80][..], (1u16 << 5) | (1 << 6) | (1 << 8)),
        (&[0x00], 0),
        (&[0x07, 0x80], 1),
    ] {
        let d = with_ku(bits);
        let c = X509Cert::from_der(&d).unwrap_or_else(|e| panic!("{bits:02x?}: {e:?}"));
        assert_eq!(c.extensions().key_usage, Some(mask), "{bits:02x?}");
    }
    for bad in [
        &[0x08, 0x06][..],
        &[0x0f, 0x06],
        &[0x00, 0x80, 0x00, 0x80],
        &[0x07, 0x80, 0x00, 0x80],
        &[0x01],
        &[0x07],
        // Kills the trailing-bit check's mutants (`||` -> `&&`, deleted `!`, `&` -> `|`):
        // a set unused bit, and a last named bit that is zero (not minimal).
        &[0x01, 0x07],
        &[0x00, 0x06],
        &[0x02, 0x06],
        &[0x07, 0x06, 0x00],
    ] {
        assert!(
            matches!(
                X509Cert::from_der(&with_ku(bad)),
                Err(Error::Decode(d)) if d.kind == DecodeErrorKind::InvalidValue
            ),
            "{bad:02x?}"
        );
    }
}

/// Kills `now < not_before` -> `<=` and `now > not_after` -> `>=` in
/// `CaCert::check_validity`: both bounds are inclusive.
#[test]
fn ca_validity_bounds_are_inclusive() {
    let pki = Pki::new(103);
    for ca in [pki.root(), pki.intermediate()] {
        let (nb, na) = ca.validity();
        assert_eq!(ca.check_validity(nb), Ok(()));
        assert_eq!(ca.check_validity(na), Ok(()));
        assert_eq!(
            ca.check_validity(nb - 1),
            Err(Error::Cert(CertError::NotYetValid))
        );
        assert_eq!(
            ca.check_validity(na + 1),
            Err(Error::Cert(CertError::Expired))
        );
    }
}

/// Kills `aki.is_none() && issuer == subject` -> `||` in `CaCert::write_compact`:
/// a CA whose issuer Name is its own but which carries an
/// authorityKeyIdentifier is compressed as issued (issuer key id from the AKI), and
/// expands back to the same DER; taking it for self-signed would drop the AKI.
#[test]
fn a_self_issued_ca_with_authority_key_id_round_trips() {
    let pki = Pki::new(107);
    let root = provkit::cert::CaCert::from_der(&pki.root_der).unwrap();
    const AKI: &[u8] = &[0x55, 0x1d, 0x23];
    let ski = root.as_issuer().key_id.to_vec();
    let aki = extension(AKI, false, &enc(0x30, &enc(0x80, &ski)));
    // The profile's extension order: basicConstraints, keyUsage, SKI, AKI.
    let der = with_extensions(&pki.root_der, |mut e| {
        e.push(aki);
        e
    });
    let ca = provkit::cert::CaCert::from_der(&der).unwrap();
    let mut out = [0u8; provkit::cert::COMPACT_CA_MAX_LEN];
    let n = ca.write_compact(&mut out).unwrap();
    let compact = provkit::cert::CaCert::from_compact(&out[..n]).unwrap();
    let mut back = [0u8; 1024];
    let m = compact.write_der(&root, &mut back).unwrap();
    assert_eq!(&back[..m], &der[..]);
}
