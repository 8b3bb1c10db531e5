//! PKCS#10 requests (feature `x509`): requests made by `openssl req`
//! (tests/data/csr, made by scripts/make_csr_fixtures.sh) and by x509-cert's builder,
//! answered with compact certificates or refused with a reason.

mod common;

use common::{INTERMEDIATE_KEY, Pki};
use p256::ecdsa::{DerSignature, SigningKey};
use provkit::cert::csr::{self, CsrPolicy};
use provkit::cert::pki::PkiError;
use provkit::cert::{self, CompactCert, DeviceUsage};
use provkit::ec::EcPublicKey;
use provkit::error::{CertError, Error};
use std::path::Path;
use std::str::FromStr;
use x509_cert::builder::{Builder, RequestBuilder};
use x509_cert::der::asn1::{Ia5String, OctetString};
use x509_cert::der::oid::ObjectIdentifier;
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName};
use x509_cert::name::Name;
use x509_cert::request::CertReq;

const ISSUED: u64 = 1_750_000_000;

fn data(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/csr")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn device_key() -> EcPublicKey {
    EcPublicKey::from_spki_pem(std::str::from_utf8(&data("device.pub.pem")).unwrap()).unwrap()
}

fn outside(r: Result<impl std::fmt::Debug, PkiError>) -> String {
    match r {
        Err(PkiError::OutsideProfile(why)) => why,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// An `openssl req` request, PEM and DER, issued by the common fixture's intermediate:
/// the compact certificate certifies the request's key and serial and verifies.
#[test]
fn openssl_requests_are_answered_with_a_compact_certificate() {
    let mut pki = Pki::new(1);
    let int_der = pki.intermediate_der.clone();
    let int = cert::CaCert::from_der(&int_der).unwrap();
    let root_der = pki.root_der.clone();
    let root = cert::CaCert::from_der(&root_der).unwrap();
    for file in ["openssl_device.csr", "openssl_device.der"] {
        let compact = csr::issue_device(
            &mut pki.ca_store,
            INTERMEDIATE_KEY,
            &int,
            &data(file),
            &CsrPolicy::new(),
            ISSUED,
        )
        .unwrap();
        let c = CompactCert::parse(&compact).unwrap();
        assert_eq!(c.serial(), 0x0102_0304_0506_0708);
        assert_eq!(c.public_key().unwrap(), device_key());
        assert_eq!(c.usage(), DeviceUsage::SIGN_ONLY);
        let verified = cert::verify_device(&root, Some(&int), &c, common::NOW).unwrap();
        assert_eq!(verified.serial, 0x0102_0304_0506_0708);
    }
    // The CA's own serial, when it names the same one.
    let policy = CsrPolicy::new().for_serial(0x0102_0304_0506_0708);
    csr::check_request(&data("openssl_device.csr"), &policy, ISSUED).unwrap();
}

#[test]
fn requested_usages_are_granted_when_the_policy_allows_them() {
    let request = data("openssl_usages.csr");
    let all = DeviceUsage::SIGN_ONLY
        .with_key_agreement(true)
        .with_server_auth(true);
    let granted = csr::check_request(&request, &CsrPolicy::new().allowing(all), ISSUED).unwrap();
    assert_eq!(granted.usage, all);
    assert_eq!(granted.public_key, device_key());
    // Not allowed: refused, not narrowed.
    let why = outside(csr::check_request(&request, &CsrPolicy::new(), ISSUED));
    assert!(why.contains("keyAgreement"), "{why}");
    let only_ka = CsrPolicy::new().allowing(DeviceUsage::SIGN_ONLY.with_key_agreement(true));
    let why = outside(csr::check_request(&request, &only_ka, ISSUED));
    assert!(why.contains("serverAuth"), "{why}");
}

#[test]
fn sha384_requests_and_lower_case_serials_are_accepted() {
    let r = csr::check_request(&data("openssl_sha384.csr"), &CsrPolicy::new(), ISSUED).unwrap();
    assert_eq!(r.serial, 0xff);
}

#[test]
fn requests_outside_the_profile_are_refused_with_the_reason() {
    for (file, reason) in [
        ("openssl_common_name.csr", "CN=device 1"),
        ("openssl_san.csr", "extension 2.5.29.17"),
        ("openssl_ca.csr", "CA certificate"),
        ("openssl_key_encipherment.csr", "KeyEncipherment"),
        ("openssl_p384.csr", "1.3.132.0.34"),
        ("openssl_rsa.csr", "1.2.840.113549.1.1.1"),
        ("openssl_challenge.csr", "challengePassword"),
    ] {
        let why = outside(csr::check_request(&data(file), &CsrPolicy::new(), ISSUED));
        assert!(why.contains(reason), "{file}: {why}");
    }
    // Another serial than the CA expects.
    let why = outside(csr::check_request(
        &data("openssl_device.csr"),
        &CsrPolicy::new().for_serial(7),
        ISSUED,
    ));
    assert!(
        why.contains("0102030405060708") && why.contains("0000000000000007"),
        "{why}"
    );
}

#[test]
fn a_request_that_does_not_prove_possession_is_refused() {
    // Flip a bit in the signature (the last byte), and in the signed part (the subject).
    let der = data("openssl_device.der");
    let mut sig = der.clone();
    *sig.last_mut().unwrap() ^= 1;
    assert_eq!(
        csr::check_request(&sig, &CsrPolicy::new(), ISSUED).unwrap_err(),
        PkiError::ProofOfPossession
    );
    let mut body = der.clone();
    let at = body
        .windows(16)
        .position(|w| w == b"0102030405060708")
        .unwrap();
    body[at + 15] = b'9';
    assert_eq!(
        csr::check_request(&body, &CsrPolicy::new(), ISSUED).unwrap_err(),
        PkiError::ProofOfPossession
    );
    // Another key's request with this key put in: the signature is not this key's.
    let other = request(&key(2), "SERIALNUMBER=0000000000000001", vec![]);
    let mut parsed = CertReq::from_der(&other).unwrap();
    parsed.info.public_key = CertReq::from_der(&der).unwrap().info.public_key;
    assert_eq!(
        csr::check_request(&parsed.to_der().unwrap(), &CsrPolicy::new(), ISSUED).unwrap_err(),
        PkiError::ProofOfPossession
    );
}

#[test]
fn garbage_is_malformed_never_a_panic() {
    let der = data("openssl_device.der");
    let pem = data("openssl_device.csr");
    let mut inputs: Vec<Vec<u8>> = vec![vec![], b"garbage".to_vec(), vec![0x30, 0x00]];
    inputs.extend((0..der.len()).step_by(7).map(|n| der[..n].to_vec()));
    inputs.push([der.as_slice(), &[0]].concat());
    inputs.push(pem[..pem.len() / 2].to_vec());
    inputs.push(
        String::from_utf8(pem.clone())
            .unwrap()
            .replace("CERTIFICATE REQUEST", "CERTIFICATE")
            .into_bytes(),
    );
    for input in inputs {
        match csr::check_request(&input, &CsrPolicy::new(), ISSUED) {
            Err(PkiError::Malformed { .. }) => {}
            other => panic!("{} bytes: {other:?}", input.len()),
        }
    }
}

// ---- requests from x509-cert's builder ----

fn key(seed: u8) -> SigningKey {
    SigningKey::from_slice(&[seed; 32]).unwrap()
}

fn ext<T: Encode>(oid: &str, critical: bool, value: &T) -> Extension {
    Extension {
        extn_id: ObjectIdentifier::new_unwrap(oid),
        critical,
        extn_value: OctetString::new(value.to_der().unwrap()).unwrap(),
    }
}

fn request(key: &SigningKey, subject: &str, extensions: Vec<Extension>) -> Vec<u8> {
    let name = if subject.is_empty() {
        Name::default()
    } else {
        Name::from_str(subject).unwrap()
    };
    let mut builder = RequestBuilder::new(name).unwrap();
    for e in extensions {
        builder.add_extension(e).unwrap();
    }
    builder
        .build::<_, DerSignature>(key)
        .unwrap()
        .to_der()
        .unwrap()
}

#[test]
fn builder_requests_are_answered() {
    let k = key(5);
    let ku = ext(
        "2.5.29.15",
        true,
        &KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyAgreement),
    );
    let eku = ext(
        "2.5.29.37",
        false,
        &ExtendedKeyUsage(vec![ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2")]),
    );
    let der = request(&k, "SERIALNUMBER=00000000DEADBEEF", vec![ku, eku]);
    let policy = CsrPolicy::new().allowing(DeviceUsage::SIGN_ONLY.with_key_agreement(true));
    let mut pki = Pki::new(2);
    let int_der = pki.intermediate_der.clone();
    let int = cert::CaCert::from_der(&int_der).unwrap();
    let compact = csr::issue_device(
        &mut pki.ca_store,
        INTERMEDIATE_KEY,
        &int,
        &der,
        &policy,
        ISSUED,
    )
    .unwrap();
    let c = CompactCert::parse(&compact).unwrap();
    assert_eq!(c.serial(), 0xdead_beef);
    assert_eq!(c.usage(), DeviceUsage::SIGN_ONLY.with_key_agreement(true));
    assert_eq!(
        c.public_key().unwrap(),
        EcPublicKey::from(*k.verifying_key())
    );

    // An empty subject takes the CA's serial; without one it is refused.
    let empty = request(&k, "", vec![]);
    let r = csr::check_request(&empty, &CsrPolicy::new().for_serial(42), ISSUED).unwrap();
    assert_eq!(r.serial, 42);
    let why = outside(csr::check_request(&empty, &CsrPolicy::new(), ISSUED));
    assert!(why.contains("empty"), "{why}");
    // The CA's key must be the certificate's.
    let wrong = csr::issue_device(
        &mut pki.ca_store,
        common::ROOT_KEY,
        &int,
        &der,
        &policy,
        ISSUED,
    );
    assert_eq!(
        wrong.unwrap_err(),
        PkiError::Provkit(Error::Cert(CertError::KeyMismatch))
    );
}

#[test]
fn builder_requests_outside_the_profile_are_refused() {
    let k = key(6);
    let san = SubjectAltName(vec![x509_cert::ext::pkix::name::GeneralName::DnsName(
        Ia5String::new("d.example").unwrap(),
    )]);
    let ku_no_ds = ext("2.5.29.15", true, &KeyUsage(KeyUsages::KeyAgreement.into()));
    let ku = ext(
        "2.5.29.15",
        true,
        &KeyUsage(KeyUsages::DigitalSignature.into()),
    );
    let code_signing = ext(
        "2.5.29.37",
        false,
        &ExtendedKeyUsage(vec![ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.3")]),
    );
    let all = CsrPolicy::new().allowing(
        DeviceUsage::SIGN_ONLY
            .with_key_agreement(true)
            .with_server_auth(true),
    );
    for (subject, extensions, reason) in [
        ("SERIALNUMBER=0000000000000000", vec![], "serial 0"),
        ("SERIALNUMBER=12345", vec![], "16 hexadecimal"),
        ("SERIALNUMBER=000000000000000G", vec![], "16 hexadecimal"),
        (
            "SERIALNUMBER=0000000000000001,O=x",
            vec![],
            "16 hexadecimal",
        ),
        (
            "SERIALNUMBER=0000000000000001",
            vec![ext("2.5.29.17", false, &san)],
            "2.5.29.17",
        ),
        (
            "SERIALNUMBER=0000000000000001",
            vec![ku_no_ds],
            "lacks digitalSignature",
        ),
        (
            "SERIALNUMBER=0000000000000001",
            vec![ku.clone(), ku],
            "twice",
        ),
        (
            "SERIALNUMBER=0000000000000001",
            vec![code_signing],
            "1.3.6.1.5.5.7.3.3",
        ),
        // The serial as an IA5String, not a PrintableString or UTF8String.
        (
            "2.5.4.5=#161030313032303330343035303630373038",
            vec![],
            "16 hexadecimal",
        ),
    ] {
        let der = request(&k, subject, extensions);
        let why = outside(csr::check_request(&der, &all, ISSUED));
        assert!(why.contains(reason), "{subject}: {why}");
    }
}

/// Each keyUsage bit beyond digitalSignature and keyAgreement is refused on its own, even
/// beside digitalSignature, and even when the policy allows every usage it can.
#[test]
fn each_key_usage_outside_the_profile_is_refused() {
    let all = CsrPolicy::new().allowing(
        DeviceUsage::SIGN_ONLY
            .with_key_agreement(true)
            .with_server_auth(true),
    );
    for (bit, name) in [
        (KeyUsages::NonRepudiation, "NonRepudiation"),
        (KeyUsages::KeyEncipherment, "KeyEncipherment"),
        (KeyUsages::DataEncipherment, "DataEncipherment"),
        (KeyUsages::KeyCertSign, "KeyCertSign"),
        (KeyUsages::CRLSign, "CRLSign"),
        (KeyUsages::EncipherOnly, "EncipherOnly"),
        (KeyUsages::DecipherOnly, "DecipherOnly"),
    ] {
        let usage = KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyAgreement | bit);
        let der = request(
            &key(7),
            "SERIALNUMBER=0000000000000009",
            vec![ext("2.5.29.15", true, &usage)],
        );
        let why = outside(csr::check_request(&der, &all, ISSUED));
        assert!(why.contains(name), "{name}: {why}");
    }
    // The two the profile knows pass together.
    let usage = KeyUsage(KeyUsages::DigitalSignature | KeyUsages::KeyAgreement);
    let der = request(
        &key(7),
        "SERIALNUMBER=0000000000000009",
        vec![ext("2.5.29.15", true, &usage)],
    );
    let granted = csr::check_request(&der, &all, ISSUED).unwrap();
    assert!(granted.usage.key_agreement);
}
