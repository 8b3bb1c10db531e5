//! Wycheproof vector files on the aws-lc-rs provider: ECDSA P-256 SHA-256 (P1363), AES-GCM
//! and HKDF-SHA256, the same files and counts provkit's own tests check on RustCrypto. The
//! files live in provkit's `tests/data/wycheproof` (this test is left out of the package).

use provkit::ec::EcdsaSignature;
use provkit::error::Error;
use provkit::provider::CryptoProvider;
use provkit_aws_lc::AwsLc;
use serde_json::Value;
use std::path::Path;

fn load(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/wycheproof")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hex(v: &Value) -> Vec<u8> {
    let s = v.as_str().unwrap();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn wycheproof_ecdsa_p256_p1363() {
    let doc = load("ecdsa_secp256r1_sha256_p1363_test.json");
    let (mut valid, mut invalid, mut failures) = (0, 0, Vec::new());
    for g in doc["testGroups"].as_array().unwrap() {
        let key = AwsLc::p256_parse_public(&hex(&g["publicKey"]["uncompressed"]));
        for t in g["tests"].as_array().unwrap() {
            let digest = AwsLc::sha256(&[&hex(&t["msg"])]);
            let accepted = match (&key, <[u8; 64]>::try_from(hex(&t["sig"]).as_slice())) {
                (Ok(key), Ok(sig)) => {
                    AwsLc::p256_verify_digest(key, &digest, &EcdsaSignature(sig)).is_ok()
                }
                _ => false,
            };
            let expect = t["result"] == "valid";
            if accepted != expect {
                failures.push(t["tcId"].as_u64().unwrap());
            }
            if expect {
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
}

#[test]
fn wycheproof_aes_gcm() {
    let doc = load("aes_gcm_test.json");
    let (mut valid, mut invalid, mut skipped) = (0, 0, 0);
    for g in doc["testGroups"].as_array().unwrap() {
        for t in g["tests"].as_array().unwrap() {
            let Ok(iv) = <[u8; 12]>::try_from(hex(&t["iv"]).as_slice()) else {
                skipped += 1;
                continue;
            };
            let (key, aad, msg, ct) = (
                hex(&t["key"]),
                hex(&t["aad"]),
                hex(&t["msg"]),
                hex(&t["ct"]),
            );
            let tag: [u8; 16] = hex(&t["tag"]).try_into().unwrap();
            let mut buf = ct.clone();
            let r = AwsLc::aes_gcm_open(&key, &iv, &aad, &mut buf, &tag);
            let mut out = vec![0u8; ct.len()];
            let r_to = AwsLc::aes_gcm_open_to(&key, &iv, &aad, &ct, &mut out, &tag);
            if t["result"] == "valid" {
                r.unwrap();
                r_to.unwrap();
                assert_eq!((&buf, &out), (&msg, &msg), "tcId {}", t["tcId"]);
                let mut buf = msg.clone();
                let got = AwsLc::aes_gcm_seal(&key, &iv, &aad, &mut buf).unwrap();
                assert_eq!((&buf, got), (&ct, tag), "tcId {}", t["tcId"]);
                let mut out = vec![0u8; msg.len()];
                let got = AwsLc::aes_gcm_seal_to(&key, &iv, &aad, &msg, &mut out).unwrap();
                assert_eq!((&out, got), (&ct, tag), "tcId {}", t["tcId"]);
                valid += 1;
            } else {
                assert_eq!(
                    (r, r_to),
                    (Err(Error::Crypto), Err(Error::Crypto)),
                    "tcId {}",
                    t["tcId"]
                );
                for b in [&buf, &out] {
                    assert!(
                        msg.is_empty() || b != &msg,
                        "plaintext after a failed open, tcId {}",
                        t["tcId"]
                    );
                }
                invalid += 1;
            }
        }
    }
    assert_eq!((valid, invalid, skipped), (116, 81, 119));
}

#[test]
fn wycheproof_hkdf_sha256() {
    let doc = load("hkdf_sha256_test.json");
    let (mut valid, mut invalid) = (0, 0);
    for g in doc["testGroups"].as_array().unwrap() {
        for t in g["tests"].as_array().unwrap() {
            let size = usize::try_from(t["size"].as_u64().unwrap()).unwrap();
            let mut prk = [0u8; 32];
            AwsLc::hmac_sha256(&hex(&t["salt"]), &[&hex(&t["ikm"])], &mut prk).unwrap();
            let mut out = vec![0u8; size];
            let r = AwsLc::hkdf_expand(&prk, &[&hex(&t["info"])], &mut out);
            if t["result"] == "valid" {
                r.unwrap();
                assert_eq!(out, hex(&t["okm"]), "tcId {}", t["tcId"]);
                valid += 1;
            } else {
                assert!(r.is_err(), "tcId {}", t["tcId"]);
                invalid += 1;
            }
        }
    }
    assert_eq!((valid, invalid), (83, 3));
}
