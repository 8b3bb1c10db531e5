//! Every intermediate value of the handshake, its session records and a replacement
//! statement, computed from `docs/handshake.md` alone with the RustCrypto crates
//! directly (p256, sha2, hkdf, aes-gcm), never through `provkit::handshake`'s key
//! schedule: so the spec, not the code, is what these vectors check.
//!
//! Each committed transcript (`tests/data/handshake/transcripts.json`) is recomputed
//! from its inputs and must give the committed messages; the mixed-credential handshakes
//! and every session record are checked against provkit's real handshake and `Session`.
//! The results are `tests/data/handshake/intermediates.json`; `PROVKIT_REGENERATE=1`
//! rewrites it, otherwise the regenerated text must equal the committed file.

use aes_gcm::Aes128Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use hkdf::Hkdf;
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::{PublicKey, SecretKey};
use provkit::cert::{CaCert, CompactCert};
use provkit::handshake::{CredentialMode, Initiator, PeerPolicy, Replacement, Responder, Session};
use provkit::secret::SecretBytes;
use provkit::store::{IdentityKeys, KeyId, MemoryStore};
use provkit::testing::FixedRng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// `P` of `docs/handshake.md`: the prefix of every label.
const P: &[u8] = b"provkit hs v1 ";
const KEY: KeyId = KeyId(1);

// ---- helpers: bytes and the four primitives, straight from the RustCrypto crates ----

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn h(parts: &[&[u8]]) -> [u8; 32] {
    let mut d = Sha256::new();
    for p in parts {
        d.update(p);
    }
    d.finalize().into()
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// HKDF-Expand(prk, info, len).
fn expand(prk: &[u8], info: &[u8], len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    Hkdf::<Sha256>::from_prk(prk)
        .unwrap()
        .expand(info, &mut out)
        .unwrap();
    out
}

/// AES-128-GCM: ciphertext || tag.
fn gcm_seal(key: &[u8], nonce: &[u8], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut buf = plaintext.to_vec();
    let nonce: [u8; 12] = nonce.try_into().unwrap();
    let tag = Aes128Gcm::new_from_slice(key)
        .unwrap()
        .encrypt_inout_detached(&nonce.into(), aad, buf.as_mut_slice().into())
        .unwrap();
    buf.extend_from_slice(&tag);
    buf
}

fn compressed(public: &PublicKey) -> Vec<u8> {
    public.to_sec1_point(true).as_bytes().to_vec()
}

fn public_of(scalar: &[u8]) -> PublicKey {
    SecretKey::from_slice(scalar).unwrap().public_key()
}

/// x-coordinate of `scalar · point`.
fn ecdh(scalar: &[u8], point: &[u8]) -> Vec<u8> {
    let secret = SecretKey::from_slice(scalar).unwrap();
    let peer = PublicKey::from_sec1_bytes(point).unwrap();
    p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), peer.as_affine())
        .raw_secret_bytes()
        .to_vec()
}

/// ECDSA P-256 over a 32-byte digest (signed as is, not hashed again), RFC 6979, low-S.
fn sign(scalar: &[u8], digest: &[u8; 32]) -> Vec<u8> {
    let key = SigningKey::from_slice(scalar).unwrap();
    let sig: Signature = key.sign_prehash(digest).unwrap();
    let sig = sig.normalize_s();
    key.verifying_key().verify_prehash(digest, &sig).unwrap();
    sig.to_bytes().to_vec()
}

fn key_and_iv(okm: &[u8]) -> (&[u8], &[u8]) {
    okm.split_at(16)
}

/// Nonce of record `seq` in a direction: the 12-byte IV with the big-endian sequence
/// number XORed into its last 8 bytes.
fn nonce(iv: &[u8], seq: u64) -> Vec<u8> {
    let mut n = iv.to_vec();
    for (b, s) in n[4..].iter_mut().zip(seq.to_be_bytes()) {
        *b ^= s;
    }
    n
}

// ---- the inputs ----

/// The inputs of one handshake: the same keys and certificates as `transcripts.json`,
/// each side presenting its certificate by value or by reference.
struct Inputs {
    name: &'static str,
    initiator_mode: CredentialMode,
    responder_mode: CredentialMode,
    ca_scalar: Vec<u8>,
    initiator_scalar: Vec<u8>,
    responder_scalar: Vec<u8>,
    x: Vec<u8>,
    y: Vec<u8>,
    root_der: Vec<u8>,
    cert_i: Vec<u8>,
    cert_r: Vec<u8>,
    now: u64,
    /// The committed messages, for the transcripts of `transcripts.json`.
    committed: Option<[Vec<u8>; 3]>,
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/handshake")
}

fn mode(name: &str) -> CredentialMode {
    match name {
        "ByValue" => CredentialMode::ByValue,
        "ByReference" => CredentialMode::ByReference,
        other => panic!("unknown credential mode {other}"),
    }
}

fn committed_inputs() -> Vec<Inputs> {
    let text = std::fs::read_to_string(data_dir().join("transcripts.json")).unwrap();
    let all: Value = serde_json::from_str(&text).unwrap();
    let field = |t: &Value, k: &str| unhex(t[k].as_str().unwrap());
    let mut out: Vec<Inputs> = all["transcripts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| Inputs {
            name: "",
            initiator_mode: mode(t["initiator_credential"].as_str().unwrap()),
            responder_mode: mode(t["responder_credential"].as_str().unwrap()),
            ca_scalar: field(t, "ca_private_scalar"),
            initiator_scalar: field(t, "initiator_private_scalar"),
            responder_scalar: field(t, "responder_private_scalar"),
            x: field(t, "initiator_ephemeral_scalar"),
            y: field(t, "responder_ephemeral_scalar"),
            root_der: field(t, "root_certificate_der"),
            cert_i: field(t, "initiator_compact_certificate"),
            cert_r: field(t, "responder_compact_certificate"),
            now: t["now"].as_u64().unwrap(),
            committed: Some([
                field(t, "message_1"),
                field(t, "message_2"),
                field(t, "message_3"),
            ]),
        })
        .collect();
    assert_eq!(out.len(), 2, "transcripts.json: by value, by reference");
    out[0].name = "both by value (transcripts.json [0])";
    out[1].name = "both by reference (transcripts.json [1])";
    for (t, want) in out
        .iter()
        .zip([CredentialMode::ByValue, CredentialMode::ByReference])
    {
        assert_eq!((t.initiator_mode, t.responder_mode), (want, want));
    }
    out
}

/// The two mixed handshakes (allowed: each side chooses its own mode, and nothing in
/// the messages ties one side's choice to the other's), on the same keys.
fn mixed_inputs(base: &Inputs) -> [Inputs; 2] {
    let mixed = |name, initiator_mode, responder_mode| Inputs {
        name,
        initiator_mode,
        responder_mode,
        ca_scalar: base.ca_scalar.clone(),
        initiator_scalar: base.initiator_scalar.clone(),
        responder_scalar: base.responder_scalar.clone(),
        x: base.x.clone(),
        y: base.y.clone(),
        root_der: base.root_der.clone(),
        cert_i: base.cert_i.clone(),
        cert_r: base.cert_r.clone(),
        now: base.now,
        committed: None,
    };
    [
        mixed(
            "initiator by value, responder by reference",
            CredentialMode::ByValue,
            CredentialMode::ByReference,
        ),
        mixed(
            "initiator by reference, responder by value",
            CredentialMode::ByReference,
            CredentialMode::ByValue,
        ),
    ]
}

// ---- the handshake from docs/handshake.md ----

fn credential(mode: CredentialMode, cert: &[u8]) -> Vec<u8> {
    match mode {
        CredentialMode::ByValue => cat(&[&[0x00], cert]),
        CredentialMode::ByReference => vec![0x01, h(&[b"provkit kid", cert])[0]],
    }
}

/// Every value of the spec's key schedule for one handshake.
struct Computed {
    messages: [Vec<u8>; 3],
    json: Value,
    secret_i2r: Vec<u8>,
    secret_r2i: Vec<u8>,
    exporter: Vec<u8>,
}

fn compute_handshake(t: &Inputs) -> Computed {
    let x_pub = compressed(&public_of(&t.x));
    let y_pub = compressed(&public_of(&t.y));
    let message_1 = cat(&[&[0x01], &x_pub]);

    let th2 = h(&[P, &message_1, &y_pub]);
    let shared = ecdh(&t.y, &x_pub);
    assert_eq!(shared, ecdh(&t.x, &y_pub), "ECDH(y, X) = ECDH(x, Y)");
    let (prk, _) = Hkdf::<Sha256>::extract(Some(&th2), &shared);
    let prk = prk.to_vec();
    let okm2 = expand(&prk, &cat(&[P, b"k2", &th2]), 28);
    let (k2, iv2) = key_and_iv(&okm2);
    let digest_r = h(&[P, b"responder signature", &th2, &t.cert_r]);
    let signature_r = sign(&t.responder_scalar, &digest_r);
    let plaintext_2 = cat(&[&credential(t.responder_mode, &t.cert_r), &signature_r]);
    let message_2 = cat(&[&y_pub, &gcm_seal(k2, iv2, &th2, &plaintext_2)]);

    let th3 = h(&[&th2, &plaintext_2, &t.cert_r]);
    let okm3 = expand(&prk, &cat(&[P, b"k3", &th3]), 28);
    let (k3, iv3) = key_and_iv(&okm3);
    let digest_i = h(&[P, b"initiator signature", &th3, &t.cert_i]);
    let signature_i = sign(&t.initiator_scalar, &digest_i);
    let plaintext_3 = cat(&[&credential(t.initiator_mode, &t.cert_i), &signature_i]);
    let message_3 = gcm_seal(k3, iv3, &th3, &plaintext_3);

    let th4 = h(&[&th3, &plaintext_3, &t.cert_i]);
    let master = expand(&prk, &cat(&[P, b"master", &th4]), 32);
    let secret_i2r = expand(&master, &cat(&[P, b"i2r"]), 32);
    let secret_r2i = expand(&master, &cat(&[P, b"r2i"]), 32);
    let exporter = expand(&master, &cat(&[P, b"exporter"]), 32);

    let json = json!({
        "X": hex(&x_pub),
        "Y": hex(&y_pub),
        "TH2": hex(&th2),
        "ecdh_shared_secret": hex(&shared),
        "PRK": hex(&prk),
        "K2": hex(k2),
        "IV2": hex(iv2),
        "responder_signature_digest": hex(&digest_r),
        "signature_R": hex(&signature_r),
        "plaintext_2": hex(&plaintext_2),
        "TH3": hex(&th3),
        "K3": hex(k3),
        "IV3": hex(iv3),
        "initiator_signature_digest": hex(&digest_i),
        "signature_I": hex(&signature_i),
        "plaintext_3": hex(&plaintext_3),
        "TH4": hex(&th4),
        "master": hex(&master),
        "secret_i2r": hex(&secret_i2r),
        "secret_r2i": hex(&secret_r2i),
        "exporter": hex(&exporter),
    });
    Computed {
        messages: [message_1, message_2, message_3],
        json,
        secret_i2r,
        secret_r2i,
        exporter,
    }
}

// ---- the session from docs/handshake.md ("Sessions") ----

/// One direction of a session: its secret, traffic key and IV, and next sequence number.
struct Direction {
    secret: Vec<u8>,
    key: Vec<u8>,
    iv: Vec<u8>,
    seq: u64,
}

impl Direction {
    fn new(secret: Vec<u8>) -> Self {
        let okm = expand(&secret, &cat(&[P, b"traffic"]), 28);
        let (key, iv) = key_and_iv(&okm);
        Self {
            key: key.to_vec(),
            iv: iv.to_vec(),
            secret,
            seq: 0,
        }
    }

    fn json(&self) -> Value {
        json!({ "secret": hex(&self.secret), "traffic_key": hex(&self.key), "traffic_iv": hex(&self.iv) })
    }

    /// `key update`: a new secret, keys and IV; the sequence number starts again at 0.
    fn update(&self) -> Self {
        Self::new(expand(&self.secret, &cat(&[P, b"key update"]), 32))
    }

    /// Record = sequence number (8, big-endian) || ciphertext || tag.
    fn seal(&mut self, plaintext: &[u8], aad: &[u8]) -> (Vec<u8>, Value) {
        let seq = self.seq;
        let nonce = nonce(&self.iv, seq);
        let record = cat(&[
            &seq.to_be_bytes(),
            &gcm_seal(&self.key, &nonce, aad, plaintext),
        ]);
        self.seq += 1;
        let json = json!({
            "sequence_number": seq,
            "plaintext": hex(plaintext),
            "aad": hex(aad),
            "nonce": hex(&nonce),
            "record": hex(&record),
        });
        (record, json)
    }
}

/// export(label, context, L) = HKDF-Expand(exporter, P || "export " || len(label) || label || context, L).
fn export(exporter: &[u8], label: &[u8], context: &[u8], len: usize) -> Vec<u8> {
    let label_len = u8::try_from(label.len()).unwrap();
    expand(
        exporter,
        &cat(&[P, b"export ", &[label_len], label, context]),
        len,
    )
}

// ---- provkit's real handshake, for the cross-checks ----

/// Runs provkit's handshake on the same inputs: the three messages and both sessions.
fn provkit_handshake(t: &Inputs) -> ([Vec<u8>; 3], Session, Session) {
    let store = |scalar: &[u8]| {
        let mut s = MemoryStore::<1, 0, 0>::new();
        s.import_p256(KEY, &SecretBytes::new(scalar.try_into().unwrap()))
            .unwrap();
        s
    };
    let (mut si, mut sr) = (store(&t.initiator_scalar), store(&t.responder_scalar));
    let root = CaCert::from_der(&t.root_der).unwrap();
    let policy = PeerPolicy::new(&root, t.now);
    let (ci, cr) = (
        CompactCert::parse(&t.cert_i).unwrap(),
        CompactCert::parse(&t.cert_r).unwrap(),
    );
    let (mut b1, mut b2, mut b3) = ([0u8; 64], [0u8; 256], [0u8; 256]);
    let (hs_i, n1) = Initiator::new(KEY, ci, t.initiator_mode)
        .start(&mut FixedRng::new(&t.x), &mut b1)
        .unwrap();
    let (hs_r, n2) = Responder::new(KEY, cr, t.responder_mode)
        .respond(&mut sr, &mut FixedRng::new(&t.y), &b1[..n1], &mut b2)
        .unwrap();
    // Each side resolves a by-reference credential to the certificate it already holds.
    let (session_i, n3) = hs_i
        .parse_message_2(&b2[..n2])
        .unwrap()
        .verify_message_2(&cr, &policy)
        .unwrap()
        .finish(&mut si, &mut b3)
        .unwrap();
    let (session_r, _) = hs_r
        .parse_message_3(&b3[..n3])
        .unwrap()
        .verify_message_3(&ci, &policy)
        .unwrap();
    (
        [b1[..n1].to_vec(), b2[..n2].to_vec(), b3[..n3].to_vec()],
        session_i,
        session_r,
    )
}

/// Seals with provkit's session and opens with its peer; returns the record.
fn provkit_record(from: &mut Session, to: &mut Session, plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
    let (mut rec, mut out) = ([0u8; 128], [0u8; 128]);
    let n = from.seal(plaintext, aad, &mut rec).unwrap();
    let m = to.open(&rec[..n], aad, &mut out).unwrap();
    assert_eq!(&out[..m], plaintext);
    rec[..n].to_vec()
}

// ---- one vector ----

fn mode_name(m: CredentialMode) -> &'static str {
    match m {
        CredentialMode::ByValue => "ByValue",
        CredentialMode::ByReference => "ByReference",
    }
}

fn vector(t: &Inputs) -> Value {
    let c = compute_handshake(t);
    if let Some(committed) = &t.committed {
        for (i, (ours, theirs)) in c.messages.iter().zip(committed).enumerate() {
            assert_eq!(hex(ours), hex(theirs), "{}: message {}", t.name, i + 1);
        }
    }
    let (messages, mut si, mut sr) = provkit_handshake(t);
    for (i, (ours, theirs)) in c.messages.iter().zip(&messages).enumerate() {
        assert_eq!(
            hex(ours),
            hex(theirs),
            "{}: provkit message {}",
            t.name,
            i + 1
        );
    }

    // Records: both directions from sequence number 0, a second one i2r, then a rekey.
    let mut i2r = Direction::new(c.secret_i2r.clone());
    let mut r2i = Direction::new(c.secret_r2i.clone());
    let directions = json!({ "i2r": i2r.json(), "r2i": r2i.json() });
    let mut records = Vec::new();
    let mut check = |ours: (Vec<u8>, Value), theirs: Vec<u8>, direction: &str| {
        assert_eq!(hex(&ours.0), hex(&theirs), "{}: {direction} record", t.name);
        let mut j = ours.1;
        j["direction"] = json!(direction);
        records.push(j);
    };
    let (a, b) = (b"first record, initiator to responder", b"i2r aad");
    check(
        i2r.seal(a, b),
        provkit_record(&mut si, &mut sr, a, b),
        "i2r",
    );
    let (a, b) = (b"first record, responder to initiator", b"");
    check(
        r2i.seal(a, b),
        provkit_record(&mut sr, &mut si, a, b),
        "r2i",
    );
    let (a, b) = (b"second record, initiator to responder", b"");
    check(
        i2r.seal(a, b),
        provkit_record(&mut si, &mut sr, a, b),
        "i2r",
    );

    // Exports: the committed empty context, and a non-empty one.
    let mut exports = Vec::new();
    let cases: [(&[u8], &[u8]); 2] = [(b"vector", b""), (b"vector", b"channel binding")];
    for (label, context) in cases {
        let ours = export(&c.exporter, label, context, 32);
        let (mut ei, mut er) = ([0u8; 32], [0u8; 32]);
        si.export(label, context, &mut ei).unwrap();
        sr.export(label, context, &mut er).unwrap();
        assert_eq!(hex(&ours), hex(&ei), "{}: initiator's export", t.name);
        assert_eq!(hex(&ours), hex(&er), "{}: responder's export", t.name);
        exports.push(json!({
            "label": hex(label), "context": hex(context), "length": 32, "output": hex(&ours),
        }));
    }

    si.rekey().unwrap();
    sr.rekey().unwrap();
    let (mut i2r, mut r2i) = (i2r.update(), r2i.update());
    let rekeyed = json!({ "i2r": i2r.json(), "r2i": r2i.json() });
    let (a, b) = (b"after rekey, initiator to responder", b"");
    check(
        i2r.seal(a, b),
        provkit_record(&mut si, &mut sr, a, b),
        "i2r after rekey",
    );
    let (a, b) = (b"after rekey, responder to initiator", b"r2i aad");
    check(
        r2i.seal(a, b),
        provkit_record(&mut sr, &mut si, a, b),
        "r2i after rekey",
    );

    json!({
        "name": t.name,
        "inputs": {
            "initiator_credential": mode_name(t.initiator_mode),
            "responder_credential": mode_name(t.responder_mode),
            "initiator_private_scalar": hex(&t.initiator_scalar),
            "responder_private_scalar": hex(&t.responder_scalar),
            "initiator_ephemeral_scalar": hex(&t.x),
            "responder_ephemeral_scalar": hex(&t.y),
            "initiator_compact_certificate": hex(&t.cert_i),
            "responder_compact_certificate": hex(&t.cert_r),
        },
        "handshake": c.json,
        "message_1": hex(&c.messages[0]),
        "message_2": hex(&c.messages[1]),
        "message_3": hex(&c.messages[2]),
        "session": {
            "directions": directions,
            "records": records,
            "exports": exports,
            "after_rekey": rekeyed,
        },
    })
}

/// A replacement statement: the CA of `transcripts.json` says device 2 (the
/// responder) was replaced by a new device of serial 3.
fn replacement_vector(t: &Inputs) -> Value {
    use provkit::cert::{self, DeviceRequest};
    let new_scalar = [0x66u8; 32];
    let mut ca = MemoryStore::<1, 0, 0>::new();
    ca.import_p256(
        KEY,
        &SecretBytes::new(t.ca_scalar.clone().try_into().unwrap()),
    )
    .unwrap();
    let root = CaCert::from_der(&t.root_der).unwrap();
    let mut new_device = MemoryStore::<1, 0, 0>::new();
    let new_public = new_device
        .import_p256(KEY, &SecretBytes::new(new_scalar))
        .unwrap();
    let new_cert = cert::issue_device(
        &mut ca,
        KEY,
        &root,
        &DeviceRequest::new(3, &new_public, 1_750_000_000),
    )
    .unwrap();
    let old_serial = 2u64;

    // From the spec: version 1 || old serial || new serial || SHA-256(new certificate).
    let body = cat(&[
        &[0x01],
        &old_serial.to_be_bytes(),
        &3u64.to_be_bytes(),
        &h(&[&new_cert]),
    ]);
    assert_eq!(body.len(), 49);
    let digest = h(&[b"provkit replacement v1", &body]);
    let signature = sign(&t.ca_scalar, &digest);
    let encoded = cat(&[&body, &signature]);
    let ca_key = VerifyingKey::from(&public_of(&t.ca_scalar));
    ca_key
        .verify_prehash(&digest, &Signature::from_slice(&signature).unwrap())
        .unwrap();

    let theirs = Replacement::sign(
        &mut ca,
        KEY,
        old_serial,
        &CompactCert::parse(&new_cert).unwrap(),
    )
    .unwrap();
    assert_eq!(
        hex(&encoded),
        hex(&theirs.encode()),
        "replacement statement"
    );
    assert_eq!(Replacement::parse(&encoded).unwrap(), theirs);
    json!({
        "ca_private_scalar": hex(&t.ca_scalar),
        "old_serial": old_serial,
        "new_device_private_scalar": hex(&new_scalar),
        "new_compact_certificate": hex(&new_cert),
        "new_serial": 3,
        "new_certificate_hash": hex(&h(&[&new_cert])),
        "signed_body": hex(&body),
        "digest": hex(&digest),
        "signature": hex(&signature),
        "encoded": hex(&encoded),
    })
}

#[test]
fn intermediates_follow_from_the_spec_and_match_provkit() {
    let committed = committed_inputs();
    let mixed = mixed_inputs(&committed[0]);
    let transcripts: Vec<Value> = committed.iter().chain(&mixed).map(vector).collect();
    let all = json!({
        "source": "provkit tests/handshake_vectors.rs: computed from docs/handshake.md with p256, \
                   sha2, hkdf and aes-gcm directly; inputs (scalars, certificates, root CA) from \
                   transcripts.json, whose messages the first two reproduce; every message and \
                   record also checked against provkit's handshake and Session; signatures \
                   RFC 6979, low-S; byte strings in hex",
        "transcripts": transcripts,
        "replacement": replacement_vector(&committed[0]),
    });
    let path = data_dir().join("intermediates.json");
    let text = serde_json::to_string_pretty(&all).unwrap() + "\n";
    if std::env::var_os("PROVKIT_REGENERATE").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let on_disk = std::fs::read_to_string(&path).unwrap();
    assert_eq!(on_disk, text, "handshake intermediates changed");
}
