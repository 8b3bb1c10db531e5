//! Private keys from PKCS#8 (plain and encrypted) and SEC1 files into a store
//! (`provkit::store::import`), against keys OpenSSL wrote (`tests/data/keys/`, see
//! `tests/data/README.md`) and p256's own encoders.

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::pkcs8::EncodePrivateKey;
use provkit::ec::EcPublicKey;
use provkit::error::{DecodeErrorKind, Error, StoreError};
use provkit::store::import::P256PrivateKey;
use provkit::store::{IdentityKeys, KeyId, MemoryStore};
use provkit::testing::InsecureTestRng;
use std::path::Path;
use std::time::{Duration, Instant};

const PASSWORD: &[u8] = b"correct-horse";

fn file(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/keys")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn text(name: &str) -> String {
    String::from_utf8(file(name)).unwrap()
}

/// The public key OpenSSL gives for the test key (`openssl pkey -pubout -outform DER`).
fn openssl_public() -> EcPublicKey {
    EcPublicKey::from_spki_der(&file("pub.der")).unwrap()
}

fn decode_kind(e: Error) -> DecodeErrorKind {
    match e {
        Error::Decode(d) => d.kind,
        other => panic!("expected a decode error, got {other:?}"),
    }
}

/// Every form OpenSSL writes of one key reads as that key; imported, the store signs
/// with it, and p256 verifies the signature under OpenSSL's public key.
#[test]
fn every_openssl_form_imports_the_same_key() {
    let want = openssl_public();
    let forms = [
        (
            "pkcs8.der",
            P256PrivateKey::from_pkcs8_der(&file("pkcs8.der")),
        ),
        (
            "pkcs8.pem",
            P256PrivateKey::from_pem(&text("pkcs8.pem"), None),
        ),
        ("sec1.der", P256PrivateKey::from_sec1_der(&file("sec1.der"))),
        (
            "sec1.pem",
            P256PrivateKey::from_pem(&text("sec1.pem"), None),
        ),
        (
            "enc-pbkdf2.pem",
            P256PrivateKey::from_pem(&text("enc-pbkdf2.pem"), Some(PASSWORD)),
        ),
        (
            "enc-scrypt.pem",
            P256PrivateKey::from_pem(&text("enc-scrypt.pem"), Some(PASSWORD)),
        ),
        (
            "enc-scrypt.der",
            P256PrivateKey::from_encrypted_pkcs8_der(&file("enc-scrypt.der"), PASSWORD),
        ),
    ];
    let verifying = p256::ecdsa::VerifyingKey::from(want);
    for (i, (name, key)) in forms.into_iter().enumerate() {
        let key = key.unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(key.public_key(), want, "{name}");
        let mut store = MemoryStore::<2, 0, 0>::new();
        let id = KeyId(u32::try_from(i).unwrap());
        assert_eq!(key.import_into(&mut store, id).unwrap(), want, "{name}");
        let digest = [i as u8; 32];
        let sig = store.sign_digest(id, &digest).unwrap();
        let sig = p256::ecdsa::Signature::try_from(sig).unwrap();
        verifying.verify_prehash(&digest, &sig).unwrap();
    }
}

/// Keys p256 encodes (PKCS#8 and SEC1, DER and PEM) read back as the same key, through
/// a `dyn` store.
#[test]
fn p256_encodings_round_trip_into_a_dyn_store() {
    for i in 1..=8u8 {
        let secret = p256::SecretKey::from_bytes(&[i; 32].into()).unwrap();
        let public = EcPublicKey::from(secret.public_key());
        let pkcs8 = secret.to_pkcs8_der().unwrap();
        let sec1 = secret.to_sec1_der().unwrap();
        let pem = secret.to_pkcs8_pem(Default::default()).unwrap();
        let sec1_pem = secret.to_sec1_pem(Default::default()).unwrap();
        let mut store = MemoryStore::<8, 0, 0>::new();
        let dyn_store: &mut dyn IdentityKeys = &mut store;
        for (j, key) in [
            P256PrivateKey::from_pkcs8_der(pkcs8.as_bytes()),
            P256PrivateKey::from_sec1_der(&sec1),
            P256PrivateKey::from_pem(&pem, None),
            P256PrivateKey::from_pem(&sec1_pem, Some(b"ignored for a plain key")),
        ]
        .into_iter()
        .enumerate()
        {
            let got = key
                .unwrap()
                .import_into(&mut *dyn_store, KeyId(j as u32))
                .unwrap();
            assert_eq!(got, public, "key {i}, form {j}");
        }
    }
}

#[test]
fn a_wrong_or_missing_password_is_a_crypto_error() {
    for name in ["enc-pbkdf2.pem", "enc-scrypt.pem"] {
        let pem = text(name);
        assert_eq!(
            P256PrivateKey::from_pem(&pem, Some(b"Correct-horse")).unwrap_err(),
            Error::Crypto,
            "{name}"
        );
        assert_eq!(
            P256PrivateKey::from_pem(&pem, None).unwrap_err(),
            Error::Crypto,
            "{name}"
        );
        assert_eq!(
            P256PrivateKey::from_pem(&pem, Some(b"")).unwrap_err(),
            Error::Crypto
        );
    }
}

/// Another algorithm or curve, and PBES1 encryption, are `Unsupported`; P-256 with
/// explicit curve parameters (RFC 5480 allows only the named curve) is refused.
#[test]
fn other_algorithms_curves_and_schemes_are_unsupported() {
    for (name, password) in [
        ("p384.pem", None),
        ("p384-sec1.pem", None),
        ("ed25519.pem", None),
        ("pbes1.pem", Some(&b"x"[..])),
    ] {
        assert_eq!(
            P256PrivateKey::from_pem(&text(name), password).unwrap_err(),
            Error::Unsupported,
            "{name}"
        );
    }
    assert!(matches!(
        P256PrivateKey::from_pem(&text("explicit.pem"), None).unwrap_err(),
        Error::Decode(_)
    ));
}

/// A SEC1 key whose embedded public key is another key's is refused: importing it
/// would give a handle whose public key is not the one the file claims.
#[test]
fn an_embedded_public_key_of_another_key_is_refused() {
    let mut der = file("sec1.der");
    let other = p256::SecretKey::from_bytes(&[7u8; 32].into()).unwrap();
    let point = other.public_key().to_sec1_point(false);
    let n = der.len();
    assert_eq!(der[n - 68..n - 64], [0x03, 0x42, 0x00, 0x04]);
    der[n - 65..].copy_from_slice(point.as_bytes());
    assert!(matches!(
        P256PrivateKey::from_sec1_der(&der).unwrap_err(),
        Error::Decode(_)
    ));
    // The same key with its own point still reads.
    P256PrivateKey::from_sec1_der(&file("sec1.der")).unwrap();
}

/// A DER tree, to change one INTEGER in a file and re-encode the lengths around it.
enum Node {
    Leaf(u8, Vec<u8>),
    Cons(u8, Vec<Node>),
}

fn parse(mut der: &[u8]) -> Vec<Node> {
    let mut out = Vec::new();
    while !der.is_empty() {
        let tag = der[0];
        let (len, head) = match der[1] {
            n if n < 0x80 => (usize::from(n), 2),
            0x81 => (usize::from(der[2]), 3),
            0x82 => (usize::from(der[2]) << 8 | usize::from(der[3]), 4),
            _ => unreachable!(),
        };
        let body = &der[head..head + len];
        out.push(if tag & 0x20 != 0 {
            Node::Cons(tag, parse(body))
        } else {
            Node::Leaf(tag, body.to_vec())
        });
        der = &der[head + len..];
    }
    out
}

fn encode(nodes: &[Node]) -> Vec<u8> {
    let mut out = Vec::new();
    for node in nodes {
        let (tag, body) = match node {
            Node::Leaf(t, b) => (*t, b.clone()),
            Node::Cons(t, c) => (*t, encode(c)),
        };
        out.push(tag);
        match body.len() {
            n if n < 0x80 => out.push(n as u8),
            n if n < 0x100 => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend(body);
    }
    out
}

/// The first INTEGER of the key derivation's parameters (PBKDF2's iteration count,
/// scrypt's N) of an `EncryptedPrivateKeyInfo`, replaced by `value`.
fn with_kdf_cost(der: &[u8], value: &[u8]) -> Vec<u8> {
    let mut tree = parse(der);
    // EncryptedPrivateKeyInfo > algorithm > PBES2-params > keyDerivationFunc > params >
    // the INTEGER after the salt.
    let mut node = &mut tree[0];
    for i in [0, 1, 0, 1, 1] {
        let Node::Cons(_, children) = node else {
            panic!("not a constructed value on the path to the KDF cost")
        };
        node = &mut children[i];
    }
    let Node::Leaf(tag, int) = node else {
        panic!("the KDF cost is not a primitive value")
    };
    assert_eq!(*tag, 0x02);
    *int = value.to_vec();
    encode(&tree)
}

fn pem_body(name: &str) -> Vec<u8> {
    let (_, der) = der::pem::decode_vec(text(name).as_bytes()).unwrap();
    der
}

/// A file asking for a key derivation costlier than the documented limits is refused
/// before any of it is done (checked by the time it takes: deriving would take minutes
/// or terabytes), and the limits themselves are accepted (the same file re-encoded with
/// its own cost still opens).
#[test]
fn key_derivations_over_the_limits_are_refused_before_deriving() {
    let pbkdf2 = pem_body("enc-pbkdf2.pem");
    let scrypt = file("enc-scrypt.der");
    // Re-encoding with the cost OpenSSL wrote changes nothing.
    assert_eq!(with_kdf_cost(&pbkdf2, &[0x08, 0x00]), pbkdf2);
    assert_eq!(with_kdf_cost(&scrypt, &[0x40, 0x00]), scrypt);
    for (name, der) in [
        // 2^31 - 1 PBKDF2 iterations.
        ("pbkdf2", with_kdf_cost(&pbkdf2, &[0x7f, 0xff, 0xff, 0xff])),
        // Just over the limit: 10,000,001.
        (
            "pbkdf2+1",
            with_kdf_cost(&pbkdf2, &[0x00, 0x98, 0x96, 0x81]),
        ),
        // scrypt N = 2^40 with r = 8: 128 TiB.
        ("scrypt", with_kdf_cost(&scrypt, &[0x01, 0, 0, 0, 0, 0])),
        // N = 2^20, r = 8: 1 GiB plus the 1 KiB of p: just over the limit.
        ("scrypt 1 GiB", with_kdf_cost(&scrypt, &[0x10, 0, 0])),
    ] {
        let start = Instant::now();
        assert_eq!(
            P256PrivateKey::from_encrypted_pkcs8_der(&der, PASSWORD).unwrap_err(),
            Error::Unsupported,
            "{name}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{name}: derived before refusing"
        );
    }
}

/// Every prefix and every single-byte change of every DER form is an error or (for a
/// change that keeps the file well formed) a key; nothing panics.
#[test]
fn truncated_and_altered_files_are_errors_not_panics() {
    let forms: [(&str, Vec<u8>); 3] = [
        ("pkcs8", file("pkcs8.der")),
        ("sec1", file("sec1.der")),
        ("enc-scrypt", file("enc-scrypt.der")),
    ];
    let read = |name: &str, der: &[u8]| match name {
        "pkcs8" => P256PrivateKey::from_pkcs8_der(der),
        "sec1" => P256PrivateKey::from_sec1_der(der),
        // A cheap derivation keeps 2 * 231 * 8 decryptions quick: N = 2^4.
        _ => P256PrivateKey::from_encrypted_pkcs8_der(der, PASSWORD),
    };
    for (name, der) in &forms {
        let der = if *name == "enc-scrypt" {
            with_kdf_cost(der, &[0x10])
        } else {
            der.clone()
        };
        for n in 0..der.len() {
            let e = read(name, &der[..n]).unwrap_err();
            assert!(
                matches!(e, Error::Decode(_) | Error::Crypto | Error::Unsupported),
                "{name} cut at {n}: {e:?}"
            );
        }
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(
            read(name, &trailing).is_err(),
            "{name} with a trailing byte"
        );
        for i in 0..der.len() {
            for bit in [0x01, 0x80] {
                let mut changed = der.clone();
                changed[i] ^= bit;
                let _ = read(name, &changed);
            }
        }
    }
    assert_eq!(
        decode_kind(P256PrivateKey::from_pkcs8_der(&file("pkcs8.der")[..10]).unwrap_err()),
        DecodeErrorKind::Truncated
    );
}

/// PEM of something else (a certificate, a public key), or text that is not PEM.
#[test]
fn other_pem_labels_and_garbage_are_decode_errors() {
    let public = "-----BEGIN PUBLIC KEY-----\n".to_string()
        + &text("pkcs8.pem").lines().nth(1).unwrap()[..40]
        + "\n-----END PUBLIC KEY-----\n";
    assert_eq!(
        decode_kind(P256PrivateKey::from_pem(&public, None).unwrap_err()),
        DecodeErrorKind::UnexpectedTag
    );
    for garbage in [
        "",
        "not a key",
        "-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n",
    ] {
        assert!(matches!(
            P256PrivateKey::from_pem(garbage, None).unwrap_err(),
            Error::Decode(_)
        ));
    }
}

/// The store refuses an id in use, and keeps the key it holds.
#[test]
fn an_id_in_use_is_refused_and_its_key_kept() {
    let mut store = MemoryStore::<2, 0, 0>::new();
    let mut rng = InsecureTestRng::new(1);
    let first = store.generate_p256(KeyId(1), &mut rng).unwrap();
    let key = P256PrivateKey::from_pkcs8_der(&file("pkcs8.der")).unwrap();
    assert_eq!(
        key.import_into(&mut store, KeyId(1)).unwrap_err(),
        Error::Store(StoreError::AlreadyExists)
    );
    assert_eq!(store.public_key(KeyId(1)).unwrap(), first);
}

/// `Debug` names the public key and nothing of the private one.
#[test]
fn debug_shows_the_public_key_only() {
    let key = P256PrivateKey::from_pkcs8_der(&file("pkcs8.der")).unwrap();
    let shown = format!("{key:?}");
    assert!(shown.contains("P256PrivateKey"), "{shown}");
    // The scalar, as OpenSSL's SEC1 DER holds it (bytes 7..39), in any case of hex.
    let scalar: String = file("sec1.der")[7..39]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(!shown.to_lowercase().contains(&scalar), "{shown}");
    assert!(
        !shown.contains(&format!("{:?}", &file("sec1.der")[7..39])),
        "{shown}"
    );
}
