//! Telemetry vectors with every input and intermediate value, computed from
//! `docs/telemetry-format.md` and RFC 9180 with the RustCrypto crates directly (p256,
//! sha2, hkdf, aes-gcm), never through provkit's HPKE: so the spec, not the code, is what
//! they check. Four messages: AES-128-GCM (what devices send) signed and unsigned, which
//! provkit's sealer must produce byte for byte, and AES-256-GCM (which servers also
//! accept) signed and unsigned, which provkit's opener must open. The server's private
//! key, the device's key and the ephemeral key material are given, so anyone can open
//! and re-seal them.
//!
//! The results are `tests/data/telemetry/vectors.json`; `PROVKIT_REGENERATE=1` rewrites
//! it, otherwise the regenerated text must equal the committed file.

use aes_gcm::aead::{AeadInOut, KeyInit};
use hkdf::Hkdf;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::{PublicKey, SecretKey};
use provkit::envelope::telemetry::{open_telemetry, seal_telemetry, seal_telemetry_signed};
use provkit::secret::SecretBytes;
use provkit::store::{IdentityKeys, KeyId, MemoryStore};
use provkit::testing::FixedRng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const SERVER: KeyId = KeyId(1);
const DEVICE: KeyId = KeyId(2);
const INFO_LABEL: &[u8] = b"provkit telemetry v1";
const COMMIT_LABEL: &[u8] = b"provkit telemetry v1 commit";
const SIG_LABEL: &[u8] = b"provkit telemetry v1 signature";

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn uncompressed(p: &PublicKey) -> Vec<u8> {
    p.to_sec1_point(false).as_bytes().to_vec()
}

/// RFC 9180's labeled HKDF under `suite_id`.
struct Labeled<'a>(&'a [u8]);

impl Labeled<'_> {
    fn extract(&self, salt: &[u8], label: &[u8], ikm: &[u8]) -> Vec<u8> {
        let ikm = [b"HPKE-v1", self.0, label, ikm].concat();
        Hkdf::<Sha256>::extract(Some(salt), &ikm).0.to_vec()
    }

    fn expand(&self, prk: &[u8], label: &[u8], info: &[u8], len: usize) -> Vec<u8> {
        let info = [
            &(len as u16).to_be_bytes()[..],
            b"HPKE-v1",
            self.0,
            label,
            info,
        ]
        .concat();
        let mut out = vec![0u8; len];
        Hkdf::<Sha256>::from_prk(prk)
            .unwrap()
            .expand(&info, &mut out)
            .unwrap();
        out
    }
}

/// RFC 9180 7.1.3 DeriveKeyPair for DHKEM(P-256, HKDF-SHA256).
fn derive_key_pair(ikm: &[u8]) -> SecretKey {
    let kem = Labeled(b"KEM\x00\x10");
    let dkp_prk = kem.extract(b"", b"dkp_prk", ikm);
    (0u8..=255)
        .find_map(|counter| {
            SecretKey::from_slice(&kem.expand(&dkp_prk, b"candidate", &[counter], 32)).ok()
        })
        .unwrap()
}

/// One message built from the spec, with its intermediate values.
fn compute(
    aead_id: u16,
    server: &SecretKey,
    device: Option<&SecretKey>,
    ikm_e: &[u8; 32],
    serial: u64,
    payload: &[u8],
) -> (Vec<u8>, Value) {
    let pk_r = uncompressed(&server.public_key());
    let fingerprint = &Sha256::digest(&pk_r)[..8];
    let mut header = vec![1u8, u8::from(device.is_some())];
    header.extend_from_slice(&aead_id.to_be_bytes());
    header.extend_from_slice(&serial.to_be_bytes());
    header.extend_from_slice(fingerprint);
    let info = [INFO_LABEL, &header[..20]].concat();
    // DHKEM Encap with the derived ephemeral key.
    let sk_e = derive_key_pair(ikm_e);
    let enc = uncompressed(&sk_e.public_key());
    let dh = p256::ecdh::diffie_hellman(sk_e.to_nonzero_scalar(), server.public_key().as_affine());
    let kem = Labeled(b"KEM\x00\x10");
    let eae_prk = kem.extract(b"", b"eae_prk", dh.raw_secret_bytes());
    let shared_secret = kem.expand(&eae_prk, b"shared_secret", &[&enc[..], &pk_r].concat(), 32);
    // KeySchedule, base mode.
    let suite_id = [&b"HPKE\x00\x10\x00\x01"[..], &aead_id.to_be_bytes()].concat();
    let hpke = Labeled(&suite_id);
    let psk_id_hash = hpke.extract(b"", b"psk_id_hash", b"");
    let info_hash = hpke.extract(b"", b"info_hash", &info);
    let ks_context = [&[0u8][..], &psk_id_hash, &info_hash].concat();
    let secret = hpke.extract(&shared_secret, b"secret", b"");
    let nk = if aead_id == 1 { 16 } else { 32 };
    let key = hpke.expand(&secret, b"key", &ks_context, nk);
    let base_nonce = hpke.expand(&secret, b"base_nonce", &ks_context, 12);
    let exporter_secret = hpke.expand(&secret, b"exp", &ks_context, 32);
    let commitment = hpke.expand(&exporter_secret, b"sec", COMMIT_LABEL, 32);
    header.extend_from_slice(&enc);
    header.extend_from_slice(&commitment);
    // The device's signature over label || header[0..85] || payload, RFC 6979, low-S.
    let mut plaintext = payload.to_vec();
    let mut signature = Value::Null;
    let mut digest = Value::Null;
    if let Some(d) = device {
        let h: [u8; 32] = Sha256::digest([SIG_LABEL, &header[..85], payload].concat()).into();
        let sig: Signature = SigningKey::from(d.clone()).sign_prehash(&h).unwrap();
        let sig = sig.normalize_s();
        plaintext.extend_from_slice(&sig.to_bytes());
        signature = json!(hex(&sig.to_bytes()));
        digest = json!(hex(&h));
    }
    // The payload at sequence number 0: the nonce is base_nonce.
    let mut body = plaintext.clone();
    let tag = match nk {
        16 => aes_gcm::Aes128Gcm::new_from_slice(&key)
            .unwrap()
            .encrypt_inout_detached(
                base_nonce.as_slice().try_into().unwrap(),
                &header,
                body.as_mut_slice().into(),
            ),
        _ => aes_gcm::Aes256Gcm::new_from_slice(&key)
            .unwrap()
            .encrypt_inout_detached(
                base_nonce.as_slice().try_into().unwrap(),
                &header,
                body.as_mut_slice().into(),
            ),
    }
    .unwrap();
    let message = [&header[..], &body, &tag].concat();
    let v = json!({
        "aead_id": aead_id,
        "signed": device.is_some(),
        "serial": serial,
        "payload": hex(payload),
        "server_private_scalar": hex(&server.to_bytes()),
        "server_public_key": hex(&pk_r),
        "recipient_fingerprint": hex(fingerprint),
        "device_private_scalar": device.map(|d| hex(&d.to_bytes())),
        "device_public_key": device.map(|d| hex(&uncompressed(&d.public_key()))),
        "ephemeral_ikm": hex(ikm_e),
        "ephemeral_private_scalar": hex(&sk_e.to_bytes()),
        "enc": hex(&enc),
        "info": hex(&info),
        "dh": hex(dh.raw_secret_bytes()),
        "shared_secret": hex(&shared_secret),
        "key": hex(&key),
        "base_nonce": hex(&base_nonce),
        "exporter_secret": hex(&exporter_secret),
        "commitment": hex(&commitment),
        "header": hex(&header),
        "signature_digest": digest,
        "signature": signature,
        "plaintext": hex(&plaintext),
        "message": hex(&message),
    });
    (message, v)
}

#[test]
fn telemetry_vectors_follow_from_the_spec_and_match_provkit() {
    let server_scalar = [0x21u8; 32];
    let device_scalar = [0x42u8; 32];
    let server = SecretKey::from_slice(&server_scalar).unwrap();
    let device = SecretKey::from_slice(&device_scalar).unwrap();
    let mut server_store = MemoryStore::<1, 0, 0>::new();
    let server_pk = server_store
        .import_p256(SERVER, &SecretBytes::new(server_scalar))
        .unwrap();
    let mut device_store = MemoryStore::<1, 0, 0>::new();
    let device_pk = device_store
        .import_p256(DEVICE, &SecretBytes::new(device_scalar))
        .unwrap();
    let payload = b"temp=21.5;hum=40";
    let mut vectors = Vec::new();
    for (i, (aead_id, signed)) in [(1u16, true), (1, false), (2, true), (2, false)]
        .into_iter()
        .enumerate()
    {
        let ikm_e = [0x70 + i as u8; 32];
        let (message, v) = compute(
            aead_id,
            &server,
            signed.then_some(&device),
            &ikm_e,
            0x0102_0304_0506_0708,
            payload,
        );
        if aead_id == 1 {
            // What devices send: provkit's sealer gives exactly these bytes.
            let mut sealed = vec![0u8; message.len()];
            let mut rng = FixedRng::new(&ikm_e);
            let n = if signed {
                seal_telemetry_signed(
                    &mut device_store,
                    DEVICE,
                    &server_pk,
                    0x0102_0304_0506_0708,
                    payload,
                    &mut sealed,
                    &mut rng,
                )
            } else {
                seal_telemetry(
                    &server_pk,
                    0x0102_0304_0506_0708,
                    payload,
                    &mut sealed,
                    &mut rng,
                )
            }
            .unwrap();
            assert_eq!(
                hex(&sealed[..n]),
                hex(&message),
                "vector {i}: provkit seals differently"
            );
        }
        // Every message opens with provkit, to the payload.
        let mut m = message.clone();
        let opened = open_telemetry(
            &mut server_store,
            SERVER,
            signed.then_some(&device_pk),
            &mut m,
        )
        .unwrap();
        assert_eq!(opened, payload, "vector {i}");
        vectors.push(v);
    }
    let all = json!({
        "source": "provkit tests/telemetry_vectors.rs: computed from docs/telemetry-format.md and RFC 9180 with the RustCrypto crates directly; AES-128-GCM vectors equal provkit's sealer byte for byte, all four open with provkit's opener",
        "vectors": vectors,
    });
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/telemetry/vectors.json");
    let text = serde_json::to_string_pretty(&all).unwrap() + "\n";
    if std::env::var_os("PROVKIT_REGENERATE").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "telemetry vectors changed"
    );
}
