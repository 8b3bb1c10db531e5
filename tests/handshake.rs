//! The signed ECDH handshake: full runs, sizes, tampering, policy, sessions, pinning.

mod common;

use common::*;
use provkit::Error;
use provkit::cert::{COMPACT_LEN, CompactCert};
use provkit::error::HandshakeError;
use provkit::handshake::{
    self, CredentialMode, Initiator, PeerCredential, PeerPolicy, Replacement, Responder, Session,
};
use provkit::store::RecordId;
use provkit::testing::{FixedRng, InsecureTestRng};

/// The three messages of one handshake and its outcome.
struct Run {
    msgs: [Vec<u8>; 3],
    initiator: Session,
    responder: Session,
}

fn policy<'a>(
    root: &'a provkit::cert::CaCert<'a>,
    int: &'a provkit::cert::CaCert<'a>,
) -> PeerPolicy<'a> {
    PeerPolicy::new(root, NOW).with_intermediate(int)
}

/// Runs a handshake between `a` (initiator) and `b` (responder), letting `tamper`
/// change message `i` (0-based) before delivery. Returns the first error.
fn run(
    pki: &Pki,
    a: &mut Device,
    b: &mut Device,
    modes: (CredentialMode, CredentialMode),
    seed: u64,
    tamper: &mut dyn FnMut(usize, &mut Vec<u8>),
) -> provkit::Result<Run> {
    let root = pki.root();
    let int = pki.intermediate();
    let policy = policy(&root, &int);
    let mut rng_a = InsecureTestRng::new(seed);
    let mut rng_b = InsecureTestRng::new(seed + 1);
    let (a_cert, b_cert) = (a.cert, b.cert);
    let a_cert = CompactCert::parse(&a_cert)?;
    let b_cert = CompactCert::parse(&b_cert)?;
    let mut buf = [0u8; 512];

    let (hs_a, n) = Initiator::new(DEVICE_KEY, a_cert, modes.0).start(&mut rng_a, &mut buf)?;
    let mut m1 = buf[..n].to_vec();
    tamper(0, &mut m1);
    let (hs_b, n) = Responder::new(DEVICE_KEY, b_cert, modes.1).respond(
        &mut b.store,
        &mut rng_b,
        &m1,
        &mut buf,
    )?;
    let mut m2 = buf[..n].to_vec();
    tamper(1, &mut m2);
    let parsed = hs_a.parse_message_2(&m2)?;
    // Resolve the responder's credential: by value, or by reference to b's known cert.
    let peer = match parsed.peer_credential() {
        PeerCredential::ByValue(c) => c,
        PeerCredential::ByReference(_) => *b_cert.as_bytes(),
    };
    let verified = parsed.verify_message_2(&CompactCert::parse(&peer)?, &policy)?;
    assert_eq!(verified.peer().serial, b_cert.serial());
    let (initiator, n) = verified.finish(&mut a.store, &mut buf)?;
    let mut m3 = buf[..n].to_vec();
    tamper(2, &mut m3);
    let parsed = hs_b.parse_message_3(&m3)?;
    let peer = match parsed.peer_credential() {
        PeerCredential::ByValue(c) => c,
        PeerCredential::ByReference(_) => *a_cert.as_bytes(),
    };
    let (responder, who) = parsed.verify_message_3(&CompactCert::parse(&peer)?, &policy)?;
    assert_eq!(who.serial, a_cert.serial());
    Ok(Run {
        msgs: [m1, m2, m3],
        initiator,
        responder,
    })
}

fn pair() -> (Pki, Device, Device) {
    let mut pki = Pki::new(21);
    let a = pki.device(1001, 1);
    let b = pki.device(1002, 2);
    (pki, a, b)
}

const BY_VALUE: (CredentialMode, CredentialMode) =
    (CredentialMode::ByValue, CredentialMode::ByValue);
const BY_REF: (CredentialMode, CredentialMode) =
    (CredentialMode::ByReference, CredentialMode::ByReference);

fn assert_session_works(r: &mut Run) {
    let mut rec = [0u8; 128];
    let mut out = [0u8; 128];
    assert!(!r.initiator.is_confirmed());
    let n = r.initiator.seal(b"ping", b"ad", &mut rec).unwrap();
    let m = r.responder.open(&rec[..n], b"ad", &mut out).unwrap();
    assert_eq!(&out[..m], b"ping");
    let n = r.responder.seal(b"pong", b"", &mut rec).unwrap();
    let m = r.initiator.open(&rec[..n], b"", &mut out).unwrap();
    assert_eq!(&out[..m], b"pong");
    assert!(r.initiator.is_confirmed());
    let (mut k1, mut k2) = ([0u8; 32], [0u8; 32]);
    r.initiator.export(b"app key", b"ctx", &mut k1).unwrap();
    r.responder.export(b"app key", b"ctx", &mut k2).unwrap();
    assert_eq!(k1, k2);
    r.responder.export(b"other", b"ctx", &mut k2).unwrap();
    assert_ne!(k1, k2);
}

#[test]
fn full_handshakes_by_value_and_by_reference_within_size_targets() {
    for (modes, total) in [
        (BY_VALUE, 451),
        (BY_REF, 231),
        (
            (CredentialMode::ByValue, CredentialMode::ByReference),
            231 + 110,
        ),
        (
            (CredentialMode::ByReference, CredentialMode::ByValue),
            231 + 110,
        ),
    ] {
        let (pki, mut a, mut b) = pair();
        let mut r = run(&pki, &mut a, &mut b, modes, 7, &mut |_, _| {}).unwrap();
        let sizes: Vec<usize> = r.msgs.iter().map(Vec::len).collect();
        assert_eq!(sizes.iter().sum::<usize>(), total, "{modes:?}: {sizes:?}");
        assert_eq!(sizes[0], handshake::MSG1_LEN);
        assert_eq!(sizes[1], modes.1.msg2_len());
        assert_eq!(sizes[2], modes.0.msg3_len());
        assert_session_works(&mut r);
    }
    assert!(BY_REF.1.msg2_len() + BY_REF.0.msg3_len() + handshake::MSG1_LEN <= 232);
    assert!(BY_VALUE.1.msg2_len() + BY_VALUE.0.msg3_len() + handshake::MSG1_LEN <= 460);
}

#[test]
fn both_directions_between_the_same_devices() {
    let (pki, mut a, mut b) = pair();
    run(&pki, &mut a, &mut b, BY_VALUE, 1, &mut |_, _| {}).unwrap();
    run(&pki, &mut b, &mut a, BY_VALUE, 2, &mut |_, _| {}).unwrap();
}

#[test]
fn every_bit_flip_and_truncation_of_every_message_is_rejected() {
    for modes in [BY_VALUE, BY_REF] {
        let (pki, mut a, mut b) = pair();
        let clean = run(&pki, &mut a, &mut b, modes, 9, &mut |_, _| {}).unwrap();
        let mut cases = 0;
        for msg in 0..3 {
            let len = clean.msgs[msg].len();
            for bit in 0..len * 8 {
                let r = run(&pki, &mut a, &mut b, modes, 9, &mut |i, m| {
                    if i == msg {
                        m[bit / 8] ^= 1 << (bit % 8);
                    }
                });
                assert!(
                    r.is_err(),
                    "{modes:?}: flip of bit {bit} in message {} accepted",
                    msg + 1
                );
                cases += 1;
            }
            for cut in 0..len {
                let r = run(&pki, &mut a, &mut b, modes, 9, &mut |i, m| {
                    if i == msg {
                        m.truncate(cut);
                    }
                });
                assert!(
                    r.is_err(),
                    "{modes:?}: message {} truncated to {cut} accepted",
                    msg + 1
                );
                cases += 1;
            }
            let r = run(&pki, &mut a, &mut b, modes, 9, &mut |i, m| {
                if i == msg {
                    m.push(0);
                }
            });
            assert!(
                r.is_err(),
                "{modes:?}: message {} with a trailing byte accepted",
                msg + 1
            );
        }
        let total: usize = clean.msgs.iter().map(|m| m.len() * 9).sum();
        assert_eq!(cases, total);
    }
}

#[test]
fn wrong_ca_and_revoked_serials_are_rejected() {
    let (pki, mut a, mut b) = pair();
    // A device of another factory, with the same CA names.
    let mut other = Pki::new(22);
    let mut stranger = other.device(1003, 3);
    let err = run(&pki, &mut a, &mut stranger, BY_VALUE, 1, &mut |_, _| {})
        .err()
        .unwrap();
    assert!(matches!(err, Error::Cert(_)), "{err:?}");
    let err = run(&pki, &mut stranger, &mut b, BY_VALUE, 1, &mut |_, _| {})
        .err()
        .unwrap();
    assert!(matches!(err, Error::Cert(_)), "{err:?}");

    // Revoked responder.
    let root = pki.root();
    let int = pki.intermediate();
    let revoked = [1002u64];
    let policy = PeerPolicy::new(&root, NOW)
        .with_intermediate(&int)
        .with_revoked(&revoked);
    let mut rng = InsecureTestRng::new(5);
    let mut buf = [0u8; 512];
    let a_cert = a.cert;
    let b_cert = b.cert;
    let (hs_a, n) = Initiator::new(
        DEVICE_KEY,
        CompactCert::parse(&a_cert).unwrap(),
        CredentialMode::ByValue,
    )
    .start(&mut rng, &mut buf)
    .unwrap();
    let m1 = buf[..n].to_vec();
    let (_, n) = Responder::new(
        DEVICE_KEY,
        CompactCert::parse(&b_cert).unwrap(),
        CredentialMode::ByValue,
    )
    .respond(&mut b.store, &mut rng, &m1, &mut buf)
    .unwrap();
    let parsed = hs_a.parse_message_2(&buf[..n]).unwrap();
    let peer = parsed.peer_certificate().unwrap();
    assert_eq!(
        parsed
            .verify_message_2(&CompactCert::parse(&peer).unwrap(), &policy)
            .err(),
        Some(Error::Handshake(HandshakeError::Revoked))
    );
}

#[test]
fn reflected_handshake_is_rejected() {
    // The attacker sends device A's own message 1 to A's responder and A's message 2
    // back to A's initiator: A would talk to itself.
    let (mut pki, mut a, _) = pair();
    let mut twin = pki.device(1001, 1); // same key and certificate as `a`
    assert_eq!(twin.cert, a.cert);
    let err = run(&pki, &mut a, &mut twin, BY_VALUE, 3, &mut |_, _| {})
        .err()
        .unwrap();
    assert_eq!(err, Error::Handshake(HandshakeError::Reflection));
}

#[test]
fn replayed_messages_are_rejected() {
    let (pki, mut a, mut b) = pair();
    let old = run(&pki, &mut a, &mut b, BY_VALUE, 4, &mut |_, _| {}).unwrap();
    // Replay message 1 to a fresh responder (fresh randomness), then replay the old
    // message 3: it was bound to the old transcript.
    let err = run(&pki, &mut a, &mut b, BY_VALUE, 5, &mut |i, m| {
        if i == 0 {
            *m = old.msgs[0].clone();
        }
        if i == 2 {
            *m = old.msgs[2].clone();
        }
    })
    .err()
    .unwrap();
    assert_eq!(err, Error::Crypto, "replayed message 1 + 3");
    // Replayed message 3 against a new handshake.
    let err = run(&pki, &mut a, &mut b, BY_VALUE, 6, &mut |i, m| {
        if i == 2 {
            *m = old.msgs[2].clone();
        }
    })
    .err()
    .unwrap();
    assert_eq!(err, Error::Crypto);
    // Replayed message 2 to a new initiator.
    let err = run(&pki, &mut a, &mut b, BY_VALUE, 7, &mut |i, m| {
        if i == 1 {
            *m = old.msgs[1].clone();
        }
    })
    .err()
    .unwrap();
    assert_eq!(err, Error::Crypto);
}

#[test]
fn swapped_certificates_are_rejected() {
    let (mut pki, mut a, b) = pair();
    let c = pki.device(1004, 4);
    let mut b_again = pki.device(1002, 2);
    // The responder presents another genuine device's certificate but signs with its own key.
    let mut b_claims_c = Device {
        store: b.store,
        cert: c.cert,
    };
    let err = run(&pki, &mut a, &mut b_claims_c, BY_VALUE, 8, &mut |_, _| {})
        .err()
        .unwrap();
    assert_eq!(
        err,
        Error::Crypto,
        "b's signature does not verify under c's certificate"
    );
    // The application resolves a reference to the wrong certificate.
    let root = pki.root();
    let int = pki.intermediate();
    let policy = policy(&root, &int);
    let mut rng = InsecureTestRng::new(5);
    let mut buf = [0u8; 512];
    let a_cert = a.cert;
    let (hs_a, n) = Initiator::new(
        DEVICE_KEY,
        CompactCert::parse(&a_cert).unwrap(),
        CredentialMode::ByValue,
    )
    .start(&mut rng, &mut buf)
    .unwrap();
    let m1 = buf[..n].to_vec();
    let b_cert = b_again.cert;
    let (_, n) = Responder::new(
        DEVICE_KEY,
        CompactCert::parse(&b_cert).unwrap(),
        CredentialMode::ByReference,
    )
    .respond(&mut b_again.store, &mut rng, &m1, &mut buf)
    .unwrap();
    let parsed = hs_a.parse_message_2(&buf[..n]).unwrap();
    assert_eq!(
        parsed
            .verify_message_2(&CompactCert::parse(&c.cert).unwrap(), &policy)
            .err(),
        Some(Error::Handshake(HandshakeError::CredentialMismatch))
    );
}

#[test]
fn session_records_replay_window_exhaustion_and_rekey() {
    let (pki, mut a, mut b) = pair();
    let mut r = run(&pki, &mut a, &mut b, BY_REF, 10, &mut |_, _| {}).unwrap();
    let mut recs = Vec::new();
    for i in 0..5u8 {
        let mut rec = [0u8; 64];
        let n = r.initiator.seal(&[i; 10], b"", &mut rec).unwrap();
        assert_eq!(n, 10 + handshake::RECORD_OVERHEAD);
        recs.push(rec[..n].to_vec());
    }
    let mut out = [0u8; 64];
    // Out of order is fine, twice is not.
    for i in [2usize, 0, 4, 1, 3] {
        r.responder.open(&recs[i], b"", &mut out).unwrap();
    }
    for rec in &recs {
        assert_eq!(
            r.responder.open(rec, b"", &mut out),
            Err(Error::Handshake(HandshakeError::Replay))
        );
    }
    // Tampered record or wrong associated data: no plaintext.
    let mut rec = [0u8; 64];
    let n = r.initiator.seal(b"secret", b"", &mut rec).unwrap();
    let mut bad = rec[..n].to_vec();
    bad[9] ^= 1;
    let mut out = [0xAAu8; 64];
    assert_eq!(r.responder.open(&bad, b"", &mut out), Err(Error::Crypto));
    assert!(
        out[..6].iter().all(|&b| b == 0),
        "no unauthenticated plaintext released"
    );
    assert_eq!(
        r.responder.open(&rec[..n], b"x", &mut out),
        Err(Error::Crypto)
    );
    r.responder.open(&rec[..n], b"", &mut out).unwrap();
    // Rekey in lockstep.
    r.initiator.rekey().unwrap();
    r.responder.rekey().unwrap();
    let n = r.initiator.seal(b"after", b"", &mut rec).unwrap();
    assert_eq!(r.responder.open(&rec[..n], b"", &mut out).unwrap(), 5);
    // A record from before the rekey no longer opens.
    assert!(r.responder.open(&recs[0], b"", &mut out).is_err());
    assert_eq!(r.initiator.records_left(), handshake::MAX_RECORDS - 1);
}

#[test]
fn pinned_peer_cannot_be_replaced_without_a_ca_statement() {
    let (mut pki, mut a, mut b) = pair();
    let slot = RecordId(1);
    let root_der = pki.root_der.clone();
    let int_der = pki.intermediate_der.clone();
    let root = provkit::cert::CaCert::from_der(&root_der).unwrap();
    let int = provkit::cert::CaCert::from_der(&int_der).unwrap();
    let policy = policy(&root, &int);
    run(&pki, &mut a, &mut b, BY_VALUE, 11, &mut |_, _| {}).unwrap();
    let b_cert = CompactCert::parse(&b.cert).unwrap();
    handshake::pin(&mut a.store, slot, &b_cert).unwrap();
    handshake::check_pinned(&mut a.store, slot, &b_cert, false).unwrap();

    // Another genuine device from the same factory.
    let mut c = pki.device(1005, 5);
    run(&pki, &mut a, &mut c, BY_VALUE, 12, &mut |_, _| {}).unwrap();
    let c_cert_bytes = c.cert;
    let c_cert = CompactCert::parse(&c_cert_bytes).unwrap();
    assert_eq!(
        handshake::check_pinned(&mut a.store, slot, &c_cert, true),
        Err(Error::Handshake(HandshakeError::PeerNotPinned))
    );
    assert_eq!(
        handshake::pin(&mut a.store, slot, &c_cert),
        Err(Error::Handshake(HandshakeError::PeerNotPinned))
    );

    // A statement signed by a device key (not the CA) is refused.
    let forged = Replacement::sign(&mut c.store, DEVICE_KEY, 1002, &c_cert).unwrap();
    assert_eq!(
        handshake::repin(&mut a.store, slot, &c_cert, &forged, &policy),
        Err(Error::Crypto)
    );
    // A CA statement for another old device is refused.
    let wrong = Replacement::sign(&mut pki.ca_store, INTERMEDIATE_KEY, 9999, &c_cert).unwrap();
    assert_eq!(
        handshake::repin(&mut a.store, slot, &c_cert, &wrong, &policy),
        Err(Error::Handshake(HandshakeError::PeerNotPinned))
    );
    // The genuine statement, after an encode/parse round trip, works.
    let auth = Replacement::sign(&mut pki.ca_store, INTERMEDIATE_KEY, 1002, &c_cert).unwrap();
    let auth = Replacement::parse(&auth.encode()).unwrap();
    let v = handshake::repin(&mut a.store, slot, &c_cert, &auth, &policy).unwrap();
    assert_eq!(v.serial, 1005);
    handshake::check_pinned(&mut a.store, slot, &c_cert, false).unwrap();
    assert_eq!(
        handshake::check_pinned(&mut a.store, slot, &b_cert, false),
        Err(Error::Handshake(HandshakeError::PeerNotPinned))
    );
    assert_eq!(
        handshake::pinned(&mut a.store, slot).unwrap(),
        Some(c_cert_bytes)
    );
    let _ = COMPACT_LEN;
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One transcript from fixed keys and ephemeral scalars, as JSON.
fn transcript(modes: (CredentialMode, CredentialMode)) -> serde_json::Value {
    use provkit::cert::{self, CaCert, CaName, CaProfile, DeviceRequest};
    use provkit::secret::SecretBytes;
    use provkit::store::{IdentityKeys, KeyId, MemoryStore};
    let key = KeyId(1);
    let (ca_k, i_k, r_k, x, y) = (
        [0x11u8; 32],
        [0x22u8; 32],
        [0x33u8; 32],
        [0x44u8; 32],
        [0x55u8; 32],
    );
    let mut ca = MemoryStore::<1, 0, 0>::new();
    ca.import_p256(key, &SecretBytes::new(ca_k)).unwrap();
    let mut der = [0u8; 512];
    let profile = CaProfile::new(
        CaName::new("Vector Root").with_organization("provkit vectors"),
        [1; 16],
        1_700_000_000,
        2_700_000_000,
    );
    let n = cert::create_root(&mut ca, key, &profile, &mut der).unwrap();
    let root_der = der[..n].to_vec();
    let root = CaCert::from_der(&root_der).unwrap();
    let mut si = MemoryStore::<1, 0, 0>::new();
    let mut sr = MemoryStore::<1, 0, 0>::new();
    let pi = si.import_p256(key, &SecretBytes::new(i_k)).unwrap();
    let pr = sr.import_p256(key, &SecretBytes::new(r_k)).unwrap();
    let ci = cert::issue_device(
        &mut ca,
        key,
        &root,
        &DeviceRequest::new(1, &pi, 1_750_000_000),
    )
    .unwrap();
    let cr = cert::issue_device(
        &mut ca,
        key,
        &root,
        &DeviceRequest::new(2, &pr, 1_750_000_000),
    )
    .unwrap();
    let policy = PeerPolicy::new(&root, 1_760_000_000);
    let (mut b1, mut b2, mut b3) = ([0u8; 64], [0u8; 256], [0u8; 256]);
    let (hs_i, n1) = Initiator::new(key, CompactCert::parse(&ci).unwrap(), modes.0)
        .start(&mut FixedRng::new(&x), &mut b1)
        .unwrap();
    let (hs_r, n2) = Responder::new(key, CompactCert::parse(&cr).unwrap(), modes.1)
        .respond(&mut sr, &mut FixedRng::new(&y), &b1[..n1], &mut b2)
        .unwrap();
    let v = hs_i
        .parse_message_2(&b2[..n2])
        .unwrap()
        .verify_message_2(&CompactCert::parse(&cr).unwrap(), &policy)
        .unwrap();
    let (mut si_session, n3) = v.finish(&mut si, &mut b3).unwrap();
    let (mut sr_session, _) = hs_r
        .parse_message_3(&b3[..n3])
        .unwrap()
        .verify_message_3(&CompactCert::parse(&ci).unwrap(), &policy)
        .unwrap();
    // The initiator exports once a record from the responder confirmed its session.
    let (mut rec, mut plain) = ([0u8; 64], [0u8; 64]);
    let n = sr_session.seal(b"confirm", b"", &mut rec).unwrap();
    si_session.open(&rec[..n], b"", &mut plain).unwrap();
    let (mut e1, mut e2) = ([0u8; 32], [0u8; 32]);
    si_session.export(b"vector", b"", &mut e1).unwrap();
    sr_session.export(b"vector", b"", &mut e2).unwrap();
    assert_eq!(e1, e2);
    serde_json::json!({
        "initiator_credential": format!("{:?}", modes.0),
        "responder_credential": format!("{:?}", modes.1),
        "ca_private_scalar": hex(&ca_k),
        "initiator_private_scalar": hex(&i_k),
        "responder_private_scalar": hex(&r_k),
        "initiator_ephemeral_scalar": hex(&x),
        "responder_ephemeral_scalar": hex(&y),
        "now": 1_760_000_000u64,
        "root_certificate_der": hex(&root_der),
        "root_certificate_compact": hex(&{
            let mut c = [0u8; cert::COMPACT_CA_MAX_LEN];
            let n = root.write_compact(&mut c).unwrap();
            c[..n].to_vec()
        }),
        "initiator_compact_certificate": hex(&ci),
        "responder_compact_certificate": hex(&cr),
        "message_1": hex(&b1[..n1]),
        "message_2": hex(&b2[..n2]),
        "message_3": hex(&b3[..n3]),
        "export_label": "vector",
        "export_context": "",
        "exported_32": hex(&e1),
    })
}

/// Full transcripts from fixed keys and randomness, committed for other implementations.
/// `PROVKIT_REGENERATE=1` rewrites the file after a deliberate protocol change.
#[test]
fn transcript_vectors_are_stable() {
    let all = serde_json::json!({
        "source": "provkit tests/handshake.rs transcript(); signatures are RFC 6979 deterministic",
        "transcripts": [transcript(BY_VALUE), transcript(BY_REF)],
    });
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/handshake/transcripts.json");
    let text = serde_json::to_string_pretty(&all).unwrap() + "\n";
    if std::env::var_os("PROVKIT_REGENERATE").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap();
    assert_eq!(committed, text, "handshake transcripts changed");
}

/// The initiator's session is confirmed only by a first record from the responder;
/// until then `export` refuses and writes nothing (the responder may have refused
/// message 3, and an exported key is usually kept as the pairing's result).
#[test]
fn initiator_exports_only_after_confirmation() {
    let (pki, mut a, mut b) = pair();
    let mut r = run(&pki, &mut a, &mut b, BY_REF, 61, &mut |_, _| {}).unwrap();
    assert!(!r.initiator.is_confirmed());
    assert!(r.responder.is_confirmed());
    let mut early = [0xEEu8; 32];
    assert_eq!(
        r.initiator.export(b"app key", b"ctx", &mut early),
        Err(Error::Handshake(HandshakeError::NotConfirmed))
    );
    assert_eq!(early, [0xEE; 32], "nothing is written before confirmation");
    // The responder's session is confirmed by message 3.
    let mut kr = [0u8; 32];
    r.responder.export(b"app key", b"ctx", &mut kr).unwrap();
    // Sending a record does not confirm the initiator: receiving one does.
    let (mut rec, mut out) = ([0u8; 64], [0u8; 64]);
    let n = r.initiator.seal(b"hello", b"", &mut rec).unwrap();
    r.responder.open(&rec[..n], b"", &mut out).unwrap();
    assert_eq!(
        r.initiator.export(b"app key", b"ctx", &mut early),
        Err(Error::Handshake(HandshakeError::NotConfirmed))
    );
    // A forged record does not confirm it either.
    let n = r.responder.seal(b"ack", b"", &mut rec).unwrap();
    let mut forged = rec[..n].to_vec();
    forged[9] ^= 1;
    assert_eq!(r.initiator.open(&forged, b"", &mut out), Err(Error::Crypto));
    assert!(!r.initiator.is_confirmed());
    r.initiator.open(&rec[..n], b"", &mut out).unwrap();
    assert!(r.initiator.is_confirmed());
    let mut ki = [0u8; 32];
    r.initiator.export(b"app key", b"ctx", &mut ki).unwrap();
    assert_eq!(ki, kr);
}
