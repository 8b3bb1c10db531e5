//! Interoperability with independent implementations: the OpenSSL CLI, rustls-webpki,
//! and Project Wycheproof's ECDSA P-256 vectors.

mod common;

use common::*;
use provkit::cert::{self, CaCert, CompactCert, DeviceRequest};
use provkit::ec::{EcPublicKey, EcdsaSignature, sha256};
use provkit::secret::SecretBytes;
use provkit::store::{IdentityKeys, KeyId};
use std::path::Path;
use std::process::Command;

fn openssl(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl CLI must be installed (apt-get install openssl)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("provkit-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write_pem(dir: &Path, name: &str, der: &[u8]) {
    std::fs::write(dir.join(name), cert::to_pem(der).unwrap()).unwrap();
}

#[test]
fn openssl_verifies_expanded_chains() {
    let dir = temp_dir("openssl-chain");
    for seed in 1..=5 {
        let pki = Pki::new(seed);
        write_pem(&dir, "root.pem", &pki.root_der);
        write_pem(&dir, "intermediate.pem", &pki.intermediate_der);
        write_pem(&dir, "device.pem", &pki.device_der());
        let (ok, text) = openssl(
            &[
                "verify",
                "-x509_strict",
                "-purpose",
                "sslclient",
                "-attime",
                &NOW.to_string(),
                "-CAfile",
                "root.pem",
                "-untrusted",
                "intermediate.pem",
                "device.pem",
            ],
            &dir,
        );
        assert!(ok && text.contains("device.pem: OK"), "seed {seed}: {text}");
        // The wrong root must fail.
        let other = Pki::new(seed + 100);
        write_pem(&dir, "other.pem", &other.root_der);
        let (ok, text) = openssl(
            &[
                "verify",
                "-attime",
                &NOW.to_string(),
                "-CAfile",
                "other.pem",
                "-untrusted",
                "intermediate.pem",
                "device.pem",
            ],
            &dir,
        );
        assert!(!ok, "wrong root accepted: {text}");
    }
    // OpenSSL reads back the profile fields.
    let pki = Pki::new(1);
    write_pem(&dir, "device.pem", &pki.device_der());
    let (ok, text) = openssl(&["x509", "-in", "device.pem", "-noout", "-text"], &dir);
    assert!(ok, "{text}");
    for needle in [
        "serialNumber = 800000000000002A",
        "Not After : Dec 31 23:59:59 9999 GMT",
        "TLS Web Client Authentication",
        "Digital Signature",
        "ecdsa-with-SHA256",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in:\n{text}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// SEC1 ECPrivateKey DER for a P-256 scalar, so OpenSSL can use a key we also hold.
fn sec1_private_key_der(scalar: &[u8; 32], public: &EcPublicKey) -> Vec<u8> {
    let mut der = vec![0x30, 0x77, 0x02, 0x01, 0x01, 0x04, 0x20];
    der.extend_from_slice(scalar);
    der.extend_from_slice(&[
        0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
    ]);
    der.extend_from_slice(&[0xa1, 0x44, 0x03, 0x42, 0x00]);
    der.extend_from_slice(&public.to_uncompressed());
    der
}

#[test]
fn devices_issued_under_an_openssl_made_ca_verify_everywhere() {
    let dir = temp_dir("openssl-foreign-ca");
    let scalar = [0x5au8; 32];
    let mut store = Store::new();
    let public = store
        .import_p256(KeyId(1), &SecretBytes::new(scalar))
        .unwrap();
    std::fs::write(dir.join("ca.der"), sec1_private_key_der(&scalar, &public)).unwrap();
    let (ok, text) = openssl(
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.der",
            "-keyform",
            "DER",
            "-subj",
            "/O=Foreign Corp/CN=Foreign Root",
            "-days",
            "3650",
            "-sha256",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-outform",
            "DER",
            "-out",
            "ca.crt.der",
        ],
        &dir,
    );
    assert!(ok, "{text}");
    let ca_der = std::fs::read(dir.join("ca.crt.der")).unwrap();
    let ca = CaCert::from_der(&ca_der).unwrap();
    // It issues compact device certificates, but it is not in provkit's CA profile (its
    // extensions and key ids differ), so it has no compact form.
    assert!(matches!(
        ca.write_compact(&mut [0u8; cert::COMPACT_CA_MAX_LEN]),
        Err(provkit::Error::Decode(d)) if d.kind == provkit::error::DecodeErrorKind::OutsideProfile
    ));
    let mut device_store = Store::new();
    let mut rng = provkit::testing::InsecureTestRng::new(3);
    let device_public = device_store.generate_p256(DEVICE_KEY, &mut rng).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let compact = cert::issue_device(
        &mut store,
        KeyId(1),
        &ca,
        &DeviceRequest::new(12345, &device_public, now - 86_400),
    )
    .unwrap();
    let c = CompactCert::parse(&compact).unwrap();
    cert::verify_device(&ca, None, &c, now).unwrap();
    write_pem(&dir, "ca.pem", &ca_der);
    std::fs::write(
        dir.join("device.pem"),
        cert::expand_to_pem(&c, ca.as_issuer()).unwrap(),
    )
    .unwrap();
    let (ok, text) = openssl(
        &["verify", "-x509_strict", "-CAfile", "ca.pem", "device.pem"],
        &dir,
    );
    assert!(ok && text.contains("device.pem: OK"), "{text}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn rustls_webpki_accepts_a_device_as_tls_client() {
    use rustls_pki_types::{CertificateDer, UnixTime};
    for seed in 1..=5 {
        let pki = Pki::new(seed);
        let root = CertificateDer::from(pki.root_der.clone());
        let anchor = webpki::anchor_from_trusted_cert(&root).unwrap();
        let device_der = CertificateDer::from(pki.device_der());
        let ee = webpki::EndEntityCert::try_from(&device_der).unwrap();
        let intermediates = [CertificateDer::from(pki.intermediate_der.clone())];
        let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(NOW));
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            std::slice::from_ref(&anchor),
            &intermediates,
            time,
            webpki::KeyUsage::client_auth(),
            None,
            None,
        )
        .unwrap_or_else(|e| panic!("seed {seed}: webpki rejected the device: {e:?}"));
        // Not a server certificate (no serverAuth EKU in the default profile).
        assert!(
            ee.verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                std::slice::from_ref(&anchor),
                &intermediates,
                time,
                webpki::KeyUsage::server_auth(),
                None,
                None,
            )
            .is_err()
        );
        // And an unrelated root is not trusted.
        let other = Pki::new(seed + 100);
        let other_root = CertificateDer::from(other.root_der.clone());
        let other_anchor = webpki::anchor_from_trusted_cert(&other_root).unwrap();
        assert!(
            ee.verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                &[other_anchor],
                &intermediates,
                time,
                webpki::KeyUsage::client_auth(),
                None,
                None,
            )
            .is_err()
        );
    }
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Wycheproof ECDSA P-256 / SHA-256 / P1363 (r||s), through the verification the
/// certificate code uses (`EcPublicKey::verify_digest`).
#[test]
fn wycheproof_ecdsa_p256_p1363() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/wycheproof/ecdsa_secp256r1_sha256_p1363_test.json"),
    )
    .unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let (mut valid, mut invalid, mut failures) = (0, 0, Vec::new());
    for group in json["testGroups"].as_array().unwrap() {
        let key =
            EcPublicKey::from_sec1(&unhex(group["publicKey"]["uncompressed"].as_str().unwrap()));
        for t in group["tests"].as_array().unwrap() {
            let id = t["tcId"].as_u64().unwrap();
            let expect_valid = match t["result"].as_str().unwrap() {
                "valid" => true,
                "invalid" => false,
                other => panic!("tcId {id}: unexpected result {other}"),
            };
            let msg = unhex(t["msg"].as_str().unwrap());
            let sig = unhex(t["sig"].as_str().unwrap());
            let accepted = match (&key, <[u8; 64]>::try_from(sig.as_slice())) {
                (Ok(key), Ok(sig)) => key
                    .verify_digest(&sha256(&msg), &EcdsaSignature(sig))
                    .is_ok(),
                _ => false,
            };
            if accepted != expect_valid {
                failures.push(id);
            }
            if expect_valid {
                valid += 1;
            } else {
                invalid += 1;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "Wycheproof tcIds disagree: {failures:?}"
    );
    assert_eq!((valid, invalid), (173, 89), "vector counts");
    println!("wycheproof ecdsa p1363: {valid} valid accepted, {invalid} invalid rejected");
}
