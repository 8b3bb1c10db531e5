//! The handshake with one side on aws-lc-rs and the other on RustCrypto, as a fleet runs
//! it (devices on the default provider, the server on this one): provkit's committed
//! transcripts rebuilt byte for byte with either side's state machine on [`AwsLc`], and
//! full handshakes with the server's identity key in an aws-lc-rs store (randomized
//! ECDSA nonces, so compared by outcome rather than bytes). The transcripts live in
//! provkit's `tests/data/handshake` (this test is left out of the package).

use provkit::cert::{CaCert, CompactCert};
use provkit::handshake::{CredentialMode, Initiator, PeerPolicy, Responder, Session};
use provkit::provider::{CryptoProvider, RustCrypto};
use provkit::secret::SecretBytes;
use provkit::store::{IdentityKeys, KeyId, MemoryStore};
use provkit::testing::FixedRng;
use provkit_aws_lc::AwsLc;
use serde_json::Value;
use std::path::Path;

const KEY: KeyId = KeyId(1);

fn transcripts() -> Vec<Value> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/handshake/transcripts.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["transcripts"].as_array().unwrap().clone()
}

fn hex(v: &Value) -> Vec<u8> {
    let s = v.as_str().unwrap();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn scalar(v: &Value) -> SecretBytes<32> {
    SecretBytes::new(hex(v).try_into().unwrap())
}

fn mode(v: &Value) -> CredentialMode {
    match v.as_str().unwrap() {
        "ByValue" => CredentialMode::ByValue,
        "ByReference" => CredentialMode::ByReference,
        other => panic!("unknown credential mode {other}"),
    }
}

/// The three messages, the exported value, and both sessions.
struct Outcome<I: CryptoProvider, R: CryptoProvider> {
    messages: [Vec<u8>; 3],
    exported: [u8; 32],
    initiator: Session<I>,
    responder: Session<R>,
}

/// Runs transcript `t` with the initiator's state machine on `I` and the responder's on
/// `R`, each identity key in a store of its own provider (`SI`, `SR`).
fn run<I, R, SI, SR>(t: &Value, si: &mut SI, sr: &mut SR) -> Outcome<I, R>
where
    I: CryptoProvider,
    R: CryptoProvider,
    SI: IdentityKeys,
    SR: IdentityKeys,
{
    si.import_p256(KEY, &scalar(&t["initiator_private_scalar"]))
        .unwrap();
    sr.import_p256(KEY, &scalar(&t["responder_private_scalar"]))
        .unwrap();
    let root_der = hex(&t["root_certificate_der"]);
    let root = CaCert::from_der(&root_der).unwrap();
    let policy = PeerPolicy::new(&root, t["now"].as_u64().unwrap());
    let (ci, cr) = (
        hex(&t["initiator_compact_certificate"]),
        hex(&t["responder_compact_certificate"]),
    );
    let (x, y) = (
        hex(&t["initiator_ephemeral_scalar"]),
        hex(&t["responder_ephemeral_scalar"]),
    );
    let (mut b1, mut b2, mut b3) = ([0u8; 64], [0u8; 256], [0u8; 256]);
    let (hs_i, n1) = Initiator::<I>::with_provider(
        KEY,
        CompactCert::parse(&ci).unwrap(),
        mode(&t["initiator_credential"]),
    )
    .start(&mut FixedRng::new(&x), &mut b1)
    .unwrap();
    let (hs_r, n2) = Responder::<R>::with_provider(
        KEY,
        CompactCert::parse(&cr).unwrap(),
        mode(&t["responder_credential"]),
    )
    .respond(sr, &mut FixedRng::new(&y), &b1[..n1], &mut b2)
    .unwrap();
    let (mut initiator, n3) = hs_i
        .parse_message_2(&b2[..n2])
        .unwrap()
        .verify_message_2(&CompactCert::parse(&cr).unwrap(), &policy)
        .unwrap()
        .finish(si, &mut b3)
        .unwrap();
    let (mut responder, who) = hs_r
        .parse_message_3(&b3[..n3])
        .unwrap()
        .verify_message_3(&CompactCert::parse(&ci).unwrap(), &policy)
        .unwrap();
    assert_eq!(who.serial, 1);
    let (mut rec, mut plain) = ([0u8; 64], [0u8; 64]);
    let n = responder.seal(b"confirm", b"", &mut rec).unwrap();
    assert_eq!(initiator.open(&rec[..n], b"", &mut plain).unwrap(), 7);
    let (mut e1, mut e2) = ([0u8; 32], [0u8; 32]);
    initiator
        .export(t["export_label"].as_str().unwrap().as_bytes(), b"", &mut e1)
        .unwrap();
    responder
        .export(t["export_label"].as_str().unwrap().as_bytes(), b"", &mut e2)
        .unwrap();
    assert_eq!(e1, e2, "both sides export the same value");
    Outcome {
        messages: [b1[..n1].to_vec(), b2[..n2].to_vec(), b3[..n3].to_vec()],
        exported: e1,
        initiator,
        responder,
    }
}

fn assert_transcript<I: CryptoProvider, R: CryptoProvider>(t: &Value, o: &Outcome<I, R>) {
    for (i, name) in ["message_1", "message_2", "message_3"].iter().enumerate() {
        assert_eq!(o.messages[i], hex(&t[*name]), "{name}");
    }
    assert_eq!(o.exported.to_vec(), hex(&t["exported_32"]), "exported_32");
}

/// Signatures are RFC 6979 in RustCrypto stores, so with the identity keys there every
/// byte of every message is fixed, whichever provider runs either state machine.
#[test]
fn committed_transcripts_on_either_side() {
    for t in transcripts() {
        let o = run::<AwsLc, RustCrypto, _, _>(
            &t,
            &mut MemoryStore::<1, 0, 0>::new(),
            &mut MemoryStore::<1, 0, 0>::new(),
        );
        assert_transcript(&t, &o);
        let o = run::<RustCrypto, AwsLc, _, _>(
            &t,
            &mut MemoryStore::<1, 0, 0>::new(),
            &mut MemoryStore::<1, 0, 0>::new(),
        );
        assert_transcript(&t, &o);
        let o = run::<AwsLc, AwsLc, _, _>(
            &t,
            &mut MemoryStore::<1, 0, 0>::new(),
            &mut MemoryStore::<1, 0, 0>::new(),
        );
        assert_transcript(&t, &o);
    }
}

/// A device on RustCrypto and a server whose identity key and state machine are on
/// aws-lc-rs, both ways round: the handshake completes, only the server's signature
/// differs from the committed transcript (aws-lc-rs draws its ECDSA nonces), and records
/// pass both ways, across a rekey.
#[test]
fn device_on_rustcrypto_server_on_aws_lc() {
    for t in transcripts() {
        // The server responds.
        let mut o = run::<RustCrypto, AwsLc, _, _>(
            &t,
            &mut MemoryStore::<1, 0, 0>::new(),
            &mut MemoryStore::<1, 0, 0, AwsLc>::new(),
        );
        assert_eq!(o.messages[0], hex(&t["message_1"]));
        assert_ne!(o.messages[1], hex(&t["message_2"]), "a fresh ECDSA nonce");
        records_both_ways(&mut o.initiator, &mut o.responder);
        // The server initiates.
        let mut o = run::<AwsLc, RustCrypto, _, _>(
            &t,
            &mut MemoryStore::<1, 0, 0, AwsLc>::new(),
            &mut MemoryStore::<1, 0, 0>::new(),
        );
        assert_eq!(
            o.messages[..2],
            [hex(&t["message_1"]), hex(&t["message_2"])]
        );
        records_both_ways(&mut o.initiator, &mut o.responder);
    }
}

fn records_both_ways<I: CryptoProvider, R: CryptoProvider>(a: &mut Session<I>, b: &mut Session<R>) {
    let (mut rec, mut plain) = ([0u8; 128], [0u8; 128]);
    for round in 0..2 {
        let n = a.seal(b"up", b"aad", &mut rec).unwrap();
        let m = b.open(&rec[..n], b"aad", &mut plain).unwrap();
        assert_eq!(&plain[..m], b"up");
        let n = b.seal(b"down", b"", &mut rec).unwrap();
        let m = a.open(&rec[..n], b"", &mut plain).unwrap();
        assert_eq!(&plain[..m], b"down");
        // A record altered in flight is refused by the other provider too.
        let n = a.seal(b"x", b"", &mut rec).unwrap();
        rec[n - 1] ^= 1;
        assert!(b.open(&rec[..n], b"", &mut plain).is_err(), "round {round}");
        a.rekey().unwrap();
        b.rekey().unwrap();
    }
}
