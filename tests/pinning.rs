//! Pinned peers and CA-authorised replacement (`src/handshake/policy.rs`): the edge
//! cases of `pin`, `check_pinned`, `repin`, and the `Replacement` statement's encoding
//! and signature coverage.
//!
//! Each test names the mutants it kills (see `docs/testing.md`).

mod common;

use common::*;
use provkit::Error;
use provkit::cert::{CaCert, CompactCert};
use provkit::error::{CertError, DecodeErrorKind, HandshakeError, StoreError};
use provkit::handshake::{
    PeerPolicy, REPLACEMENT_LEN, Replacement, check_pinned, pin, pinned, repin,
};
use provkit::store::{RecordId, Records};

const SLOT: RecordId = RecordId(7);
const NOT_PINNED: Error = Error::Handshake(HandshakeError::PeerNotPinned);

fn sha256(b: &[u8]) -> [u8; 32] {
    provkit::ec::sha256(b)
}

fn policy<'a>(root: &'a CaCert<'a>, int: &'a CaCert<'a>) -> PeerPolicy<'a> {
    PeerPolicy::new(root, NOW).with_intermediate(int)
}

/// Kills `pin`'s guard `existing == *cert.as_bytes()` -> `false` (and `==` -> `!=`):
/// pinning the certificate that is already pinned is a no-op success; pinning another
/// is refused and leaves the first in place.
#[test]
fn pinning_is_idempotent_and_refuses_a_second_peer() {
    let mut pki = Pki::new(51);
    let mut a = pki.device(3001, 1);
    let b = pki.device(3002, 2);
    let c = pki.device(3003, 3);
    let b_cert = CompactCert::parse(&b.cert).unwrap();
    let c_cert = CompactCert::parse(&c.cert).unwrap();
    assert_eq!(pinned(&mut a.store, SLOT), Ok(None));
    pin(&mut a.store, SLOT, &b_cert).unwrap();
    pin(&mut a.store, SLOT, &b_cert).unwrap();
    assert_eq!(pin(&mut a.store, SLOT, &c_cert), Err(NOT_PINNED));
    assert_eq!(pinned(&mut a.store, SLOT), Ok(Some(b.cert)));
}

/// Kills `check_pinned`'s guard `pin_if_empty` -> `true` and -> `false`: an empty slot
/// refuses the peer unless asked to pin, and pins it when asked.
#[test]
fn check_pinned_on_an_empty_slot_pins_only_when_asked() {
    let mut pki = Pki::new(52);
    let mut a = pki.device(3101, 1);
    let b = pki.device(3102, 2);
    let b_cert = CompactCert::parse(&b.cert).unwrap();
    assert_eq!(
        check_pinned(&mut a.store, SLOT, &b_cert, false),
        Err(NOT_PINNED)
    );
    assert_eq!(pinned(&mut a.store, SLOT), Ok(None), "nothing was pinned");
    check_pinned(&mut a.store, SLOT, &b_cert, true).unwrap();
    assert_eq!(pinned(&mut a.store, SLOT), Ok(Some(b.cert)));
    check_pinned(&mut a.store, SLOT, &b_cert, false).unwrap();
}

/// Kills `pinned -> Ok(None)`, `-> Ok(Some([0; 111]))` and `-> Ok(Some([1; 111]))`
/// (also caught by the handshake suite): a slot holding something that is not a compact
/// certificate reads as corrupt, and neither pins over it nor accepts a peer.
#[test]
fn a_slot_holding_another_record_is_corrupt() {
    let mut pki = Pki::new(53);
    let mut a = pki.device(3201, 1);
    let b = pki.device(3202, 2);
    let b_cert = CompactCert::parse(&b.cert).unwrap();
    a.store.write_record(SLOT, &[0x42; 20]).unwrap();
    let corrupt = Err(Error::Store(StoreError::Corrupt));
    assert_eq!(pinned(&mut a.store, SLOT), corrupt);
    assert_eq!(
        pin(&mut a.store, SLOT, &b_cert),
        Err(StoreError::Corrupt.into())
    );
    assert_eq!(
        check_pinned(&mut a.store, SLOT, &b_cert, true),
        Err(StoreError::Corrupt.into())
    );
}

/// Kills `Replacement::encode` -> `[0; _]`/`[1; _]` and the offset mutants of
/// `Replacement::body` and `parse`: the 113-byte layout documented on the type, field by
/// field, and its parse errors.
#[test]
fn replacement_statement_layout_and_parse_errors() {
    let mut pki = Pki::new(54);
    let c = pki.device(3302, 2);
    let c_cert = CompactCert::parse(&c.cert).unwrap();
    let r = Replacement::sign(
        &mut pki.ca_store,
        INTERMEDIATE_KEY,
        0x0102_0304_0506_0708,
        &c_cert,
    )
    .unwrap();
    assert_eq!(r.new_serial, 3302);
    assert_eq!(r.new_cert_hash, sha256(&c.cert));
    let bytes = r.encode();
    assert_eq!(bytes.len(), REPLACEMENT_LEN);
    assert_eq!(REPLACEMENT_LEN, 113);
    assert_eq!(bytes[0], 1, "version");
    assert_eq!(bytes[1..9], 0x0102_0304_0506_0708u64.to_be_bytes());
    assert_eq!(bytes[9..17], 3302u64.to_be_bytes());
    assert_eq!(bytes[17..49], sha256(&c.cert));
    assert_eq!(bytes[49..], r.signature.0);
    assert_eq!(Replacement::parse(&bytes), Ok(r));

    for len in [0, 1, 112, 114] {
        let mut v = bytes.to_vec();
        v.resize(len, 0);
        let err = Replacement::parse(&v).unwrap_err();
        assert!(
            matches!(err, Error::Decode(d) if d.kind == DecodeErrorKind::InvalidLength),
            "{len} bytes: {err:?}"
        );
    }
    for version in [0u8, 2, 0xFF] {
        let mut v = bytes;
        v[0] = version;
        let err = Replacement::parse(&v).unwrap_err();
        assert!(
            matches!(err, Error::Decode(d) if d.kind == DecodeErrorKind::UnknownVersion),
            "version {version}: {err:?}"
        );
    }
}

/// Kills `Replacement::digest` -> `[0; 32]`/`[1; 32]` (and `body` -> constant): the CA's
/// signature covers every field, so a genuine statement with any field changed no
/// longer verifies in `repin`.
#[test]
fn the_replacement_signature_covers_every_field() {
    let mut pki = Pki::new(55);
    let mut a = pki.device(3401, 1);
    let b = pki.device(3402, 2);
    let c = pki.device(3403, 3);
    let d = pki.device(3404, 4);
    let (root_der, int_der) = (pki.root_der.clone(), pki.intermediate_der.clone());
    let root = CaCert::from_der(&root_der).unwrap();
    let int = CaCert::from_der(&int_der).unwrap();
    let policy = policy(&root, &int);
    let b_cert = CompactCert::parse(&b.cert).unwrap();
    let c_cert = CompactCert::parse(&c.cert).unwrap();
    let d_cert = CompactCert::parse(&d.cert).unwrap();
    pin(&mut a.store, SLOT, &b_cert).unwrap();

    // A genuine statement replacing 9999 by c, re-labelled as replacing b (3402).
    let mut s = Replacement::sign(&mut pki.ca_store, INTERMEDIATE_KEY, 9999, &c_cert).unwrap();
    s.old_serial = 3402;
    assert_eq!(
        repin(&mut a.store, SLOT, &c_cert, &s, &policy),
        Err(Error::Crypto)
    );
    // A genuine statement b -> d, re-labelled to name c as the replacement.
    let mut s = Replacement::sign(&mut pki.ca_store, INTERMEDIATE_KEY, 3402, &d_cert).unwrap();
    s.new_serial = 3403;
    s.new_cert_hash = sha256(&c.cert);
    assert_eq!(
        repin(&mut a.store, SLOT, &c_cert, &s, &policy),
        Err(Error::Crypto)
    );
    assert_eq!(
        pinned(&mut a.store, SLOT),
        Ok(Some(b.cert)),
        "b still pinned"
    );
    // The untouched statement b -> d works.
    let s = Replacement::sign(&mut pki.ca_store, INTERMEDIATE_KEY, 3402, &d_cert).unwrap();
    assert_eq!(
        repin(&mut a.store, SLOT, &d_cert, &s, &policy)
            .unwrap()
            .serial,
        3404
    );
    assert_eq!(pinned(&mut a.store, SLOT), Ok(Some(d.cert)));
}

/// Kills `||` -> `&&` between the new-serial and new-hash checks in `repin`: a
/// statement naming a certificate with the right serial but other bytes (a re-issued
/// certificate, another key) does not authorise this one.
#[test]
fn a_statement_for_another_certificate_with_the_same_serial_is_refused() {
    let mut pki = Pki::new(56);
    let mut a = pki.device(3501, 1);
    let b = pki.device(3502, 2);
    let c = pki.device(3503, 3);
    let c_twin = pki.device(3503, 9); // same serial, another key
    assert_ne!(c.cert, c_twin.cert);
    let (root_der, int_der) = (pki.root_der.clone(), pki.intermediate_der.clone());
    let root = CaCert::from_der(&root_der).unwrap();
    let int = CaCert::from_der(&int_der).unwrap();
    let policy = policy(&root, &int);
    let b_cert = CompactCert::parse(&b.cert).unwrap();
    let c_cert = CompactCert::parse(&c.cert).unwrap();
    let twin_cert = CompactCert::parse(&c_twin.cert).unwrap();
    pin(&mut a.store, SLOT, &b_cert).unwrap();
    let s = Replacement::sign(&mut pki.ca_store, INTERMEDIATE_KEY, 3502, &c_cert).unwrap();
    assert_eq!(
        repin(&mut a.store, SLOT, &twin_cert, &s, &policy),
        Err(NOT_PINNED)
    );
    assert_eq!(pinned(&mut a.store, SLOT), Ok(Some(b.cert)));
    repin(&mut a.store, SLOT, &c_cert, &s, &policy).unwrap();
}

/// Kills `verified.serial == current.serial()` -> `!=` in `repin` (also caught by the
/// handshake suite): `repin` with nothing pinned, and a "replacement" that is the pinned
/// device itself (same serial, re-issued certificate), are refused; a revoked
/// replacement fails the policy.
#[test]
fn repin_refuses_an_empty_slot_a_self_replacement_and_a_revoked_device() {
    let mut pki = Pki::new(57);
    let mut a = pki.device(3601, 1);
    let b = pki.device(3602, 2);
    let b_again = pki.device(3602, 8);
    let c = pki.device(3603, 3);
    let (root_der, int_der) = (pki.root_der.clone(), pki.intermediate_der.clone());
    let root = CaCert::from_der(&root_der).unwrap();
    let int = CaCert::from_der(&int_der).unwrap();
    let b_cert = CompactCert::parse(&b.cert).unwrap();
    let again_cert = CompactCert::parse(&b_again.cert).unwrap();
    let c_cert = CompactCert::parse(&c.cert).unwrap();
    let ok_policy = policy(&root, &int);
    let s = Replacement::sign(&mut pki.ca_store, INTERMEDIATE_KEY, 3602, &c_cert).unwrap();
    assert_eq!(
        repin(&mut a.store, SLOT, &c_cert, &s, &ok_policy),
        Err(NOT_PINNED)
    );
    pin(&mut a.store, SLOT, &b_cert).unwrap();
    let same = Replacement::sign(&mut pki.ca_store, INTERMEDIATE_KEY, 3602, &again_cert).unwrap();
    assert_eq!(
        repin(&mut a.store, SLOT, &again_cert, &same, &ok_policy),
        Err(Error::Cert(CertError::IssuerMismatch))
    );
    let revoked = [3603u64];
    let strict = ok_policy.with_revoked(&revoked);
    assert_eq!(
        repin(&mut a.store, SLOT, &c_cert, &s, &strict),
        Err(Error::Handshake(HandshakeError::Revoked))
    );
    assert_eq!(pinned(&mut a.store, SLOT), Ok(Some(b.cert)));
    assert_eq!(strict.check(&b_cert).unwrap().serial, 3602);
    assert_eq!(
        strict.check(&c_cert).err(),
        Some(Error::Handshake(HandshakeError::Revoked))
    );
    assert_eq!(
        strict.issuing_ca().public_key().to_compressed(),
        int.public_key().to_compressed()
    );
}
