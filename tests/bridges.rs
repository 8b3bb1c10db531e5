//! Bridges to the RustCrypto types and the standard encodings (issue #18): `p256` keys and
//! signatures both ways, SubjectPublicKeyInfo DER and PEM, DER `Ecdsa-Sig-Value`,
//! `StoreSigner` (a store key as a `PrehashSigner`) and `ExternalSigner` (a RustCrypto
//! signer as a provkit identity, through a whole handshake). Foreign keys and signatures
//! come from OpenSSL (`tests/data/bridges/`, commands in `tests/data/README.md`); the
//! SoftHSM2 `StoreSigner` test is in `crates/provkit-pkcs11/tests/bridges.rs`.

mod common;

use common::*;
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p256::ecdsa::signature::{Keypair, Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{DecodePublicKey, EncodePublicKey, LineEnding};
use provkit::Error;
use provkit::cert::{self, CaCert, CompactCert, DeviceRequest};
use provkit::ec::{EcPublicKey, EcdsaSignature, MAX_DER_SIGNATURE_LEN, SPKI_DER_LEN, sha256};
use provkit::error::{BackendCause, DecodeErrorKind, StoreError};
use provkit::handshake::{CredentialMode, Initiator, PeerPolicy, Responder};
use provkit::rand_core;
use provkit::secret::SecretBytes;
use provkit::store::{
    ExternalSigner, IdentityKeys, KeyId, KeyInventory, KeyKind, MemoryStore, StoreSigner,
    SymmetricKeys,
};
use provkit::testing::InsecureTestRng;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/bridges/");

fn data(name: &str) -> Vec<u8> {
    std::fs::read(format!("{DATA}{name}")).unwrap()
}

/// The P-256 group order `n`, big-endian.
const ORDER: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
];

fn decode_err(kind: DecodeErrorKind, offset: usize) -> Error {
    Error::decode(kind, offset)
}

fn store_key(seed: u64) -> (Store, EcPublicKey) {
    let mut store = Store::new();
    let public = store
        .generate_p256(DEVICE_KEY, &mut InsecureTestRng::new(seed))
        .unwrap();
    (store, public)
}

// --- Public keys -------------------------------------------------------------------

#[test]
fn public_key_converts_to_and_from_p256() {
    for seed in 0..8 {
        let (_, key) = store_key(seed);
        let pk = p256::PublicKey::from(key);
        assert_eq!(EcPublicKey::from(pk), key);
        let vk = VerifyingKey::from(key);
        assert_eq!(EcPublicKey::from(vk), key);
        assert_eq!(EcPublicKey::from(&vk), key);
        assert_eq!(vk.to_sec1_point(false).as_bytes(), key.to_uncompressed());
        assert_eq!(p256::PublicKey::from(vk), pk);
    }
}

#[test]
fn spki_round_trips_and_matches_rustcrypto() {
    for seed in 0..8 {
        let (_, key) = store_key(seed);
        let der = key.to_spki_der();
        assert_eq!(der.len(), SPKI_DER_LEN);
        assert_eq!(EcPublicKey::from_spki_der(&der), Ok(key));
        let pem = key.to_spki_pem();
        assert_eq!(EcPublicKey::from_spki_pem(&pem), Ok(key));

        // Byte for byte what p256's own pkcs8 encoder writes, and readable by it.
        let pk = p256::PublicKey::from(key);
        assert_eq!(pk.to_public_key_der().unwrap().as_bytes(), der);
        assert_eq!(pk.to_public_key_pem(LineEnding::LF).unwrap(), pem);
        assert_eq!(p256::PublicKey::from_public_key_der(&der).unwrap(), pk);
        assert_eq!(VerifyingKey::from_public_key_pem(&pem).unwrap(), key.into());
    }
}

#[test]
fn openssl_spki_is_read_and_rewritten_byte_for_byte() {
    let der = data("p256.spki.der");
    let pem = String::from_utf8(data("p256.spki.pem")).unwrap();
    let key = EcPublicKey::from_spki_der(&der).unwrap();
    assert_eq!(EcPublicKey::from_spki_pem(&pem), Ok(key));
    // OpenSSL's compressed form (`-ec_conv_form compressed`) names the same key.
    assert_eq!(
        EcPublicKey::from_spki_der(&data("p256-compressed.spki.der")),
        Ok(key)
    );
    assert_eq!(key.to_spki_der().as_slice(), der.as_slice());
    assert_eq!(key.to_spki_pem(), pem);
}

#[test]
fn other_algorithms_and_curves_are_unsupported() {
    for name in [
        "ed25519.spki.der",
        "p384.spki.der",
        "secp256k1.spki.der",
        "rsa1024.spki.der",
        "p256-explicit.spki.der",
    ] {
        assert_eq!(
            EcPublicKey::from_spki_der(&data(name)),
            Err(Error::Unsupported),
            "{name}"
        );
    }
    // The same through PEM.
    let pem =
        der::pem::encode_string("PUBLIC KEY", LineEnding::LF, &data("ed25519.spki.der")).unwrap();
    assert_eq!(EcPublicKey::from_spki_pem(&pem), Err(Error::Unsupported));
}

#[test]
fn malformed_spki_is_a_decode_error() {
    let der = data("p256.spki.der");
    // Every truncation, and every single-byte change, fails cleanly (no panic); the
    // few changes that still parse name another valid point or are the same key.
    for len in 0..der.len() {
        assert!(
            matches!(
                EcPublicKey::from_spki_der(&der[..len]),
                Err(Error::Decode(_) | Error::Unsupported)
            ),
            "truncated to {len}"
        );
    }
    for i in 0..der.len() {
        for bit in 0..8 {
            let mut bad = der.clone();
            bad[i] ^= 1 << bit;
            let _ = EcPublicKey::from_spki_der(&bad);
        }
    }
    let mut trailing = der.clone();
    trailing.push(0);
    assert_eq!(
        EcPublicKey::from_spki_der(&trailing),
        Err(decode_err(DecodeErrorKind::TrailingData, 91))
    );
    // Unused bits in the BIT STRING.
    let mut bad = der.clone();
    bad[25] = 1;
    assert_eq!(
        EcPublicKey::from_spki_der(&bad),
        Err(decode_err(DecodeErrorKind::InvalidPoint, 25))
    );
    // A point off the curve: the error points into the point.
    let mut bad = der.clone();
    bad[90] ^= 1;
    assert!(matches!(
        EcPublicKey::from_spki_der(&bad),
        Err(Error::Decode(d)) if d.kind == DecodeErrorKind::InvalidPoint && d.offset.get() >= 26
    ));
    // The identity (a single 00 byte as the point).
    let identity = [&der[..2], &der[2..23], &[0x03, 0x02, 0x00, 0x00]].concat();
    let mut identity = identity;
    identity[1] = (identity.len() - 2) as u8;
    assert!(matches!(
        EcPublicKey::from_spki_der(&identity),
        Err(Error::Decode(d)) if d.kind == DecodeErrorKind::InvalidPoint
    ));
    // Not a SEQUENCE (the BIT STRING alone); an indefinite length; an empty input.
    assert_eq!(
        EcPublicKey::from_spki_der(&der[23..]),
        Err(decode_err(DecodeErrorKind::UnexpectedTag, 0))
    );
    let mut indefinite = der.clone();
    indefinite[1] = 0x80;
    assert_eq!(
        EcPublicKey::from_spki_der(&indefinite),
        Err(decode_err(DecodeErrorKind::InvalidLength, 2))
    );
    assert_eq!(
        EcPublicKey::from_spki_der(&[]),
        Err(decode_err(DecodeErrorKind::Truncated, 0))
    );
}

#[test]
fn malformed_pem_is_a_decode_error() {
    let pem = String::from_utf8(data("p256.spki.pem")).unwrap();
    let cert_label = pem.replace("PUBLIC KEY", "CERTIFICATE");
    assert_eq!(
        EcPublicKey::from_spki_pem(&cert_label),
        Err(decode_err(DecodeErrorKind::UnexpectedTag, 0))
    );
    for bad in [
        "",
        "not PEM",
        &pem[..pem.len() / 2],
        &pem.replace("MFkw", "M!kw"),
    ] {
        assert_eq!(
            EcPublicKey::from_spki_pem(bad),
            Err(decode_err(DecodeErrorKind::InvalidValue, 0)),
            "{bad:?}"
        );
    }
}

// --- Signatures --------------------------------------------------------------------

#[test]
fn signature_converts_to_and_from_p256() {
    let (mut store, key) = store_key(1);
    let vk = VerifyingKey::from(key);
    for i in 0..16u8 {
        let digest = sha256(&[i]);
        let sig = store.sign_digest(DEVICE_KEY, &digest).unwrap();
        let p = Signature::try_from(sig).unwrap();
        assert_eq!(EcdsaSignature::from(p), sig);
        vk.verify_prehash(&digest, &p).unwrap();
        // The high-S twin converts too, and keeps its S.
        let mut s = [0u8; 32];
        let mut borrow = 0i16;
        for j in (0..32).rev() {
            let d = i16::from(ORDER[j]) - i16::from(sig.s()[j]) - borrow;
            borrow = i16::from(d < 0);
            s[j] = d.rem_euclid(256) as u8;
        }
        let mut high = sig;
        high.0[32..].copy_from_slice(&s);
        assert!(!high.is_low_s());
        let p = Signature::try_from(high).unwrap();
        assert_eq!(EcdsaSignature::from(p), high);
        assert_eq!(EcdsaSignature::from(p).normalize_s(), sig);
    }
}

#[test]
fn out_of_range_scalars_do_not_convert() {
    let good = [0x11; 32];
    let cases: [([u8; 32], [u8; 32], usize); 4] = [
        ([0; 32], good, 0),
        (ORDER, good, 0),
        (good, [0; 32], 32),
        (good, [0xff; 32], 32),
    ];
    for (r, s, at) in cases {
        let sig = EcdsaSignature([r, s].concat().try_into().unwrap());
        assert_eq!(
            Signature::try_from(sig),
            Err(decode_err(DecodeErrorKind::InvalidValue, at))
        );
        let mut der = [0u8; MAX_DER_SIGNATURE_LEN];
        let n = sig.to_der(&mut der).unwrap();
        assert!(matches!(
            EcdsaSignature::from_der(&der[..n]),
            Err(Error::Decode(d)) if d.kind == DecodeErrorKind::InvalidValue
        ));
    }
}

#[test]
fn der_signature_round_trips_and_matches_rustcrypto() {
    let (mut store, key) = store_key(2);
    let vk = VerifyingKey::from(key);
    for i in 0..64u8 {
        let digest = sha256(&[i, 1]);
        let sig = store.sign_digest(DEVICE_KEY, &digest).unwrap();
        let mut der = [0u8; MAX_DER_SIGNATURE_LEN];
        let n = sig.to_der(&mut der).unwrap();
        assert_eq!(EcdsaSignature::from_der(&der[..n]), Ok(sig));
        let p = Signature::try_from(sig).unwrap();
        assert_eq!(p.to_der().as_bytes(), &der[..n]);
        assert_eq!(Signature::from_der(&der[..n]).unwrap(), p);
        vk.verify_prehash(
            &digest,
            &p256::ecdsa::DerSignature::try_from(&der[..n]).unwrap(),
        )
        .unwrap();
        assert_eq!(
            sig.to_der(&mut der[..n - 1]),
            Err(Error::buffer_too_small(n))
        );
    }
}

#[test]
fn openssl_signature_verifies_both_ways() {
    let key = EcPublicKey::from_spki_der(&data("p256.spki.der")).unwrap();
    let message = data("message.txt");
    let der = data("message.sig.der");
    let sig = EcdsaSignature::from_der(&der).unwrap();
    let digest = sha256(&message);
    key.verify_digest(&digest, &sig).unwrap();
    key.verify_digest_low_s(&digest, &sig.normalize_s())
        .unwrap();
    let mut out = [0u8; MAX_DER_SIGNATURE_LEN];
    let n = sig.to_der(&mut out).unwrap();
    assert_eq!(&out[..n], der.as_slice());
    // And with RustCrypto directly.
    let vk = VerifyingKey::from(key);
    vk.verify(&message, &Signature::try_from(sig).unwrap())
        .unwrap();
}

#[test]
fn malformed_der_signature_is_a_decode_error() {
    let der = data("message.sig.der");
    for len in 0..der.len() {
        assert!(
            matches!(EcdsaSignature::from_der(&der[..len]), Err(Error::Decode(_))),
            "truncated to {len}"
        );
    }
    let mut trailing = der.clone();
    trailing.push(0);
    assert_eq!(
        EcdsaSignature::from_der(&trailing),
        Err(decode_err(DecodeErrorKind::TrailingData, der.len()))
    );
    let one = |x: &[u8]| [&[0x02, x.len() as u8][..], x].concat();
    let seq = |r: &[u8], s: &[u8]| {
        let body = [r, s].concat();
        [&[0x30, body.len() as u8][..], &body].concat()
    };
    let cases: Vec<(Vec<u8>, Error)> = vec![
        // Negative r.
        (
            seq(&one(&[0x80; 32]), &one(&[1])),
            decode_err(DecodeErrorKind::InvalidValue, 2),
        ),
        // Non-minimal s (a needless leading zero).
        (
            seq(&one(&[1]), &one(&[0, 1])),
            decode_err(DecodeErrorKind::InvalidValue, 5),
        ),
        // r of 33 significant bytes.
        (
            seq(&one(&[1; 33]), &one(&[1])),
            decode_err(DecodeErrorKind::InvalidValue, 2),
        ),
        // r = 0.
        (
            seq(&one(&[0]), &one(&[1])),
            decode_err(DecodeErrorKind::InvalidValue, 2),
        ),
        // s = n.
        (
            seq(&one(&[1]), &one(&[&[0][..], &ORDER].concat())),
            decode_err(DecodeErrorKind::InvalidValue, 5),
        ),
        // A third INTEGER.
        (
            {
                let body = [one(&[1]), one(&[1]), one(&[1])].concat();
                [&[0x30, body.len() as u8][..], &body].concat()
            },
            decode_err(DecodeErrorKind::TrailingData, 8),
        ),
        // s missing.
        (
            {
                let body = one(&[1]);
                [&[0x30, body.len() as u8][..], &body].concat()
            },
            decode_err(DecodeErrorKind::Truncated, 5),
        ),
        // A raw r || s, not DER.
        (
            [0x11; 64].to_vec(),
            decode_err(DecodeErrorKind::UnexpectedTag, 0),
        ),
        // A SET instead of a SEQUENCE.
        (
            [&[0x31][..], &seq(&one(&[1]), &one(&[1]))[1..]].concat(),
            decode_err(DecodeErrorKind::UnexpectedTag, 0),
        ),
        // A non-minimal length.
        (
            [&[0x30, 0x81, 0x06][..], &seq(&one(&[1]), &one(&[1]))[2..]].concat(),
            decode_err(DecodeErrorKind::InvalidLength, 3),
        ),
    ];
    for (bad, want) in cases {
        assert_eq!(EcdsaSignature::from_der(&bad), Err(want), "{bad:02x?}");
    }
    // The smallest valid signature value parses.
    assert!(EcdsaSignature::from_der(&seq(&one(&[1]), &one(&[1]))).is_ok());
}

// --- StoreSigner -------------------------------------------------------------------

#[test]
fn store_signer_signs_through_prehash_signer() {
    let (mut store, key) = store_key(3);
    let signer = StoreSigner::new(&mut store, DEVICE_KEY).unwrap();
    assert_eq!(signer.key_id(), DEVICE_KEY);
    assert_eq!(signer.public_key(), key);
    let vk: VerifyingKey = signer.verifying_key();
    assert_eq!(EcPublicKey::from(vk), key);
    for i in 0..32u8 {
        let digest = sha256(&[i, 3]);
        let sig: Signature = signer.sign_prehash(&digest).unwrap();
        vk.verify_prehash(&digest, &sig).unwrap();
        assert!(EcdsaSignature::from(sig).is_low_s());
        // The message form: ECDSA with SHA-256.
        let msg = [i; 40];
        let sig: Signature = signer.try_sign(&msg).unwrap();
        vk.verify(&msg, &sig).unwrap();
        assert_eq!(signer.sign_digest(&sha256(&msg)), Ok(sig));
    }
    // A prehash that is not a SHA-256 digest is refused, not truncated.
    for len in [0, 20, 31, 33, 48, 64] {
        let r: Result<Signature, _> = signer.sign_prehash(&vec![1; len]);
        assert!(r.is_err(), "prehash of {len} bytes");
    }
    let store = signer.into_inner();
    assert_eq!(store.public_key(DEVICE_KEY), Ok(key));
}

#[test]
fn store_signer_refuses_missing_and_wrong_keys() {
    let mut store = Store::new();
    assert_eq!(
        StoreSigner::new(&mut store, KeyId(99)).err(),
        Some(Error::Store(StoreError::NotFound))
    );
    store
        .import_symmetric(KeyId(5), KeyKind::Aes128, &[7; 16])
        .unwrap();
    assert_eq!(
        StoreSigner::new(&mut store, KeyId(5)).err(),
        Some(Error::Store(StoreError::WrongKeyKind))
    );
    // A store that fails to sign: the provkit error, and the source of the
    // `signature::Error`.
    let (s3, _) = store_key(5);
    let device_error = StoreError::Backend(BackendCause::pkcs11(0x30));
    let mut failing = SignsWith(s3, |_, _, _| {
        Err(StoreError::Backend(BackendCause::pkcs11(0x30)).into())
    });
    let signer = StoreSigner::new(&mut failing, DEVICE_KEY).unwrap();
    assert_eq!(
        signer.sign_digest(&[1; 32]),
        Err(Error::Store(device_error))
    );
    let e: p256::ecdsa::Error =
        PrehashSigner::<Signature>::sign_prehash(&signer, &[1; 32]).unwrap_err();
    let source = std::error::Error::source(&e).expect("the provkit error as source");
    assert_eq!(
        source.downcast_ref::<Error>(),
        Some(&Error::Store(device_error))
    );
    // ... and the backend's cause as the source of that.
    let cause = source.source().expect("the backend cause");
    assert_eq!(cause.to_string(), "CKR_DEVICE_ERROR (0x30)");
}

/// A [`Store`] whose signatures come from `sign` instead: a failing HSM, or one that
/// returns high-S, for the tests of [`StoreSigner`].
struct SignsWith(
    Store,
    fn(&mut Store, KeyId, &[u8; 32]) -> provkit::Result<EcdsaSignature>,
);

impl KeyInventory for SignsWith {
    fn key_kind(&mut self, id: KeyId) -> provkit::Result<KeyKind> {
        self.0.key_kind(id)
    }
    fn delete_key(&mut self, id: KeyId) -> provkit::Result<()> {
        self.0.delete_key(id)
    }
}

impl IdentityKeys for SignsWith {
    fn generate_p256(
        &mut self,
        id: KeyId,
        rng: &mut dyn rand_core::CryptoRng,
    ) -> provkit::Result<EcPublicKey> {
        self.0.generate_p256(id, rng)
    }
    fn import_p256(&mut self, id: KeyId, scalar: &SecretBytes<32>) -> provkit::Result<EcPublicKey> {
        self.0.import_p256(id, scalar)
    }
    fn public_key(&mut self, id: KeyId) -> provkit::Result<EcPublicKey> {
        self.0.public_key(id)
    }
    fn sign_digest(&mut self, id: KeyId, d: &[u8; 32]) -> provkit::Result<EcdsaSignature> {
        (self.1)(&mut self.0, id, d)
    }
    fn ecdh(&mut self, id: KeyId, p: &EcPublicKey) -> provkit::Result<SecretBytes<32>> {
        self.0.ecdh(id, p)
    }
}

/// The store's signature, as its high-S twin.
fn high_s(store: &mut Store, id: KeyId, d: &[u8; 32]) -> provkit::Result<EcdsaSignature> {
    let low = store.sign_digest(id, d)?;
    let p = Signature::try_from(low).unwrap();
    let (r, s) = p.split_scalars();
    let high = Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
    Ok(EcdsaSignature::from(high))
}

/// A store that returns the high-S twin of every signature, as some HSMs may: the
/// signer still hands out low-S.
#[test]
fn store_signer_normalizes_high_s() {
    let (store, key) = store_key(6);
    let mut high = SignsWith(store, high_s);
    assert!(!high.sign_digest(DEVICE_KEY, &[2; 32]).unwrap().is_low_s());
    let signer = StoreSigner::new(&mut high, DEVICE_KEY).unwrap();
    let sig: Signature = signer.sign_prehash(&[2; 32]).unwrap();
    assert!(EcdsaSignature::from(sig).is_low_s());
    key.verify_digest_low_s(&[2; 32], &sig.into()).unwrap();
}

// --- ExternalSigner ----------------------------------------------------------------

fn external(seed: u8) -> ExternalSigner<SigningKey> {
    ExternalSigner::new(SigningKey::from_slice(&[seed; 32]).unwrap(), DEVICE_KEY)
}

#[test]
fn external_signer_is_a_signing_only_identity() {
    let mut ext = external(0x42);
    let key = EcPublicKey::from(*ext.get_ref().verifying_key());
    assert_eq!(ext.key_id(), DEVICE_KEY);
    assert_eq!(ext.public_key(DEVICE_KEY), Ok(key));
    assert_eq!(ext.key_kind(DEVICE_KEY), Ok(KeyKind::P256));
    // p256's SigningKey signs high-S about half the time; the adapter returns low-S
    // always, and the same signature otherwise.
    let mut saw_high = false;
    for i in 0..32u8 {
        let digest = sha256(&[i, 4]);
        let raw: Signature = ext.get_ref().sign_prehash(&digest).unwrap();
        saw_high |= !EcdsaSignature::from(raw).is_low_s();
        let sig = ext.sign_digest(DEVICE_KEY, &digest).unwrap();
        assert_eq!(sig, EcdsaSignature::from(raw).normalize_s());
        key.verify_digest_low_s(&digest, &sig).unwrap();
    }
    assert!(saw_high, "no high-S signature from p256 in 32 tries");

    let mut rng = InsecureTestRng::new(7);
    let other = KeyId(3);
    assert_eq!(ext.key_kind(other), Err(StoreError::NotFound.into()));
    assert_eq!(ext.public_key(other), Err(StoreError::NotFound.into()));
    assert_eq!(
        ext.sign_digest(other, &[0; 32]),
        Err(StoreError::NotFound.into())
    );
    assert_eq!(ext.generate_p256(other, &mut rng), Err(Error::Unsupported));
    assert_eq!(
        ext.import_p256(other, &SecretBytes::new([1; 32])),
        Err(Error::Unsupported)
    );
    assert_eq!(ext.ecdh(DEVICE_KEY, &key).err(), Some(Error::Unsupported));
    assert_eq!(ext.delete_key(DEVICE_KEY), Err(Error::Unsupported));
    assert_eq!(ext.public_key(DEVICE_KEY), Ok(key));
    assert!(format!("{ext:?}").starts_with("ExternalSigner"));
    let _: SigningKey = ext.into_inner();
}

/// A handshake where one side's identity is a RustCrypto `SigningKey` (standing in for
/// a KMS client) behind `ExternalSigner`: first as the initiator, then as the responder.
#[test]
fn handshake_with_an_external_signer_identity() {
    let mut pki = Pki::new(11);
    let int_der = pki.intermediate_der.clone();
    let int = CaCert::from_der(&int_der).unwrap();
    let mut ext = external(0x17);
    let ext_public = ext.public_key(DEVICE_KEY).unwrap();
    let ext_cert = cert::issue_device(
        &mut pki.ca_store,
        INTERMEDIATE_KEY,
        &int,
        &DeviceRequest::new(0x77, &ext_public, ISSUED),
    )
    .unwrap();
    let mut soft = pki.device(0x78, 12);
    let root = pki.root();
    let policy = PeerPolicy::new(&root, NOW).with_intermediate(&int);

    fn run<A: IdentityKeys, B: IdentityKeys>(
        policy: &PeerPolicy<'_>,
        a: &mut A,
        a_cert: &[u8],
        b: &mut B,
        b_cert: &[u8],
        seed: u64,
    ) {
        let mut rng = InsecureTestRng::new(seed);
        let (mut m1, mut m2, mut m3) = ([0u8; 64], [0u8; 512], [0u8; 512]);
        let a_hs = Initiator::new(
            DEVICE_KEY,
            CompactCert::parse(a_cert).unwrap(),
            CredentialMode::ByValue,
        );
        let (a_hs, n1) = a_hs.start(&mut rng, &mut m1).unwrap();
        let b_hs = Responder::new(
            DEVICE_KEY,
            CompactCert::parse(b_cert).unwrap(),
            CredentialMode::ByValue,
        );
        let (b_hs, n2) = b_hs.respond(b, &mut rng, &m1[..n1], &mut m2).unwrap();
        let parsed = a_hs.parse_message_2(&m2[..n2]).unwrap();
        let peer = parsed.peer_certificate().unwrap();
        let verified = parsed
            .verify_message_2(&CompactCert::parse(&peer).unwrap(), policy)
            .unwrap();
        let (mut a_session, n3) = verified.finish(a, &mut m3).unwrap();
        let parsed = b_hs.parse_message_3(&m3[..n3]).unwrap();
        let peer = parsed.peer_certificate().unwrap();
        let (mut b_session, who) = parsed
            .verify_message_3(&CompactCert::parse(&peer).unwrap(), policy)
            .unwrap();
        assert_eq!(who.serial, CompactCert::parse(a_cert).unwrap().serial());
        let mut record = [0u8; 64];
        let len = a_session.seal(b"hello", b"", &mut record).unwrap();
        let mut plain = [0u8; 64];
        let n = b_session.open(&record[..len], b"", &mut plain).unwrap();
        assert_eq!(&plain[..n], b"hello");
    }

    run(&policy, &mut ext, &ext_cert, &mut soft.store, &soft.cert, 1);
    run(&policy, &mut soft.store, &soft.cert, &mut ext, &ext_cert, 2);
}

/// A CA whose key is in an external signer issues a device certificate.
#[test]
fn external_signer_as_a_ca() {
    let mut ca = external(0x23);
    let mut buf = [0u8; 1024];
    let profile = cert::CaProfile::new(
        cert::CaName::new("KMS Root"),
        [0x33; 16],
        T0,
        T0 + 1_000_000_000,
    );
    let n = cert::create_root(&mut ca, DEVICE_KEY, &profile, &mut buf).unwrap();
    let root = CaCert::from_der(&buf[..n]).unwrap();
    let mut device = MemoryStore::<1, 0, 0>::new();
    let public = device
        .generate_p256(KeyId(1), &mut InsecureTestRng::new(9))
        .unwrap();
    let compact = cert::issue_device(
        &mut ca,
        DEVICE_KEY,
        &root,
        &DeviceRequest::new(5, &public, ISSUED),
    )
    .unwrap();
    let verified =
        cert::verify_device(&root, None, &CompactCert::parse(&compact).unwrap(), NOW).unwrap();
    assert_eq!(verified.serial, 5);
}

/// A CA certificate kept as PEM by OpenSSL reads back to DER that provkit's own parser
/// takes as an issuer, and writes back as the same PEM text; other PEM is refused.
#[test]
fn pem_certificates_read_back_to_der() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/pki/root.pem");
    let pem = std::fs::read_to_string(path).unwrap();
    let der = cert::from_pem(&pem).unwrap();
    CaCert::from_der(&der).unwrap();
    assert_eq!(cert::to_pem(&der).unwrap(), pem);
    for bad in [
        "",
        "garbage",
        &pem[..pem.len() / 2],
        &pem.replace("CERTIFICATE", "PUBLIC KEY"),
    ] {
        assert!(
            matches!(cert::from_pem(bad), Err(Error::Decode(_))),
            "{bad:?}"
        );
    }
}
