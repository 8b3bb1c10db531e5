//! Foreign X.509 (feature `x509`): provkit's certificates through `x509-cert`, chains
//! under a foreign OpenSSL root (tests/data/pki, made by scripts/make_pki_fixtures.sh),
//! full distinguished names, and one refusal per path check, on chains that x509-cert's
//! builder makes.

mod common;

use common::{Pki, ROOT_KEY};
use p256::ecdsa::{DerSignature, SigningKey};
use provkit::cert::pki::{self, CertAt, PkiError};
use provkit::cert::{self, CaCert, CaName, CaProfile, CompactCert, DeviceRequest, DeviceUsage};
use provkit::error::{CertError, Error};
use provkit::store::import::P256PrivateKey;
use provkit::store::{IdentityKeys, KeyId, MemoryStore};
use provkit::testing::InsecureTestRng;
use std::path::Path;
use std::process::Command;
use std::str::FromStr;
use std::time::Duration;
use x509_cert::builder::profile::BuilderProfile;
use x509_cert::builder::{Builder, CertificateBuilder};
use x509_cert::der;
use x509_cert::der::asn1::OctetString;
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::spki::{SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use x509_cert::time::{Time, Validity};
use x509_cert::{Certificate, TbsCertificate};

/// 2028-01-15: inside every fixture's validity (OpenSSL's are made for 20 years from
/// when the script ran, in 2026).
const NOW: u64 = 1_831_593_600;

fn data(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/pki")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn certs(name: &str) -> Vec<Certificate> {
    pki::read_certificates(&data(name)).unwrap()
}

fn refusal(r: Result<pki::VerifiedChain, PkiError>) -> (CertAt, Error, Option<String>) {
    match r {
        Err(PkiError::Certificate {
            at, error, detail, ..
        }) => (at, error, detail),
        other => panic!("expected a certificate refusal, got {other:?}"),
    }
}

// ---- provkit's own certificates through x509-cert ----

/// Every certificate provkit writes (roots, intermediates with short and full names,
/// device certificates with every usage, serial and date shape) parses with x509-cert
/// and re-encodes to the same bytes.
#[test]
fn expanded_certificates_round_trip_through_x509_cert() {
    let mut checked = 0;
    let mut round_trip = |der: &[u8]| {
        let parsed = Certificate::from_der(der).expect("x509-cert parses it");
        assert_eq!(
            parsed.to_der().unwrap(),
            der,
            "x509-cert re-encodes it byte for byte"
        );
        checked += 1;
    };
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cert");
    round_trip(&std::fs::read(fixtures.join("device.der")).unwrap());
    round_trip(&std::fs::read(fixtures.join("intermediate.der")).unwrap());

    let mut rng = InsecureTestRng::new(77);
    for (i, name) in [
        None,
        Some("CN=Example Root,OU=PKI,O=Example GmbH,L=Berlin,ST=Berlin,C=DE"),
        Some("CN=\u{00e9}quipe racine,O=Exemple SA,C=FR"),
        Some("DC=example,DC=com,CN=x"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut store = MemoryStore::<4, 0, 0>::new();
        store.generate_p256(KeyId(1), &mut rng).unwrap();
        let int_key = store.generate_p256(KeyId(2), &mut rng).unwrap();
        let name_der = name.map(|n| pki::name_der(n).unwrap());
        let mut profile = CaProfile::new(
            CaName::new("Root").with_organization("provkit"),
            [i as u8 + 1; 16],
            946_684_800 + i as u64 * 86_399,
            4_102_444_800 + i as u64,
        );
        if let Some(n) = &name_der {
            profile = profile.with_subject_der(n);
        }
        let mut root_der = [0u8; 1024];
        let root_len = cert::create_root(&mut store, KeyId(1), &profile, &mut root_der).unwrap();
        round_trip(&root_der[..root_len]);
        let root = CaCert::from_der(&root_der[..root_len]).unwrap();
        let mut int_der = [0u8; 1024];
        let int_len = cert::create_intermediate(
            &mut store,
            KeyId(1),
            &root,
            &int_key,
            &profile.with_path_len(0),
            &mut int_der,
        )
        .unwrap();
        round_trip(&int_der[..int_len]);
        let int = CaCert::from_der(&int_der[..int_len]).unwrap();
        for (j, serial) in [1u64, 0x7f, 0x80, 0xff_ff, u64::MAX >> 1, u64::MAX]
            .into_iter()
            .enumerate()
        {
            let device = MemoryStore::<1, 0, 0>::new()
                .generate_p256(KeyId(1), &mut rng)
                .unwrap();
            let usage = DeviceUsage::SIGN_ONLY
                .with_key_agreement(j % 2 == 1)
                .with_server_auth(j % 3 == 2);
            let issued = 946_684_800 + (j as u64) * 1_000_000_000;
            let request = DeviceRequest::new(serial, &device, issued).with_usage(usage);
            let compact = cert::issue_device(&mut store, KeyId(2), &int, &request).unwrap();
            let c = CompactCert::parse(&compact).unwrap();
            let mut out = vec![0u8; cert::expanded_len(&c, int.as_issuer()).unwrap()];
            cert::expand(&c, int.as_issuer(), &mut out).unwrap();
            round_trip(&out);
        }
    }
    assert_eq!(checked, 2 + 4 * 8);
}

#[test]
fn full_names_are_written_verbatim_and_survive_the_compact_form() {
    let name = pki::name_der("CN=Example Root,OU=PKI,O=Example GmbH,L=Berlin,C=DE").unwrap();
    let mut store = MemoryStore::<1, 0, 0>::new();
    store
        .generate_p256(KeyId(1), &mut InsecureTestRng::new(3))
        .unwrap();
    let profile = CaProfile::new(
        CaName::new("ignored"),
        [5; 16],
        1_700_000_000,
        2_500_000_000,
    )
    .with_subject_der(&name);
    let mut der = [0u8; 1024];
    let len = cert::create_root(&mut store, KeyId(1), &profile, &mut der).unwrap();
    let parsed = Certificate::from_der(&der[..len]).unwrap();
    assert_eq!(
        parsed.tbs_certificate().subject().to_string(),
        "CN=Example Root,OU=PKI,O=Example GmbH,L=Berlin,C=DE"
    );
    assert_eq!(
        parsed.tbs_certificate().issuer(),
        parsed.tbs_certificate().subject()
    );
    // The compact CA form carries the name, and expands back to the same certificate.
    let root = CaCert::from_der(&der[..len]).unwrap();
    let mut compact = [0u8; cert::COMPACT_CA_MAX_LEN];
    let n = root.write_compact(&mut compact).unwrap();
    let on_device = CaCert::from_compact(&compact[..n]).unwrap();
    let mut again = [0u8; 1024];
    let m = on_device.write_der(&on_device, &mut again).unwrap();
    assert_eq!(&again[..m], &der[..len]);
}

#[test]
fn malformed_names_are_refused() {
    for bad in ["", "CN", "=x", "CN=a,,O=b", "1.2.3=#zz"] {
        assert!(
            matches!(pki::name_der(bad), Err(PkiError::Malformed { .. })),
            "{bad:?}"
        );
    }
    // A subject that is not a DER Name is refused before anything is signed.
    let mut store = MemoryStore::<1, 0, 0>::new();
    store
        .generate_p256(KeyId(1), &mut InsecureTestRng::new(3))
        .unwrap();
    for bad in [
        &b""[..],
        &[0x30, 0x00, 0x00],
        &[0x30, 0x02, 0x31, 0x00],
        &[0x30, 0x04, 0x31, 0x02, 0x30, 0x00],
        &[0x31, 0x00],
    ] {
        let profile = CaProfile::new(CaName::new("x"), [5; 16], 1_700_000_000, 2_500_000_000)
            .with_subject_der(bad);
        let r = cert::create_root(&mut store, KeyId(1), &profile, &mut [0u8; 1024]);
        assert!(matches!(r, Err(Error::Decode(_))), "{bad:02x?}: {r:?}");
    }
}

// ---- a foreign OpenSSL PKI ----

/// OpenSSL's root (full name, certificate policies, CRL distribution points) signs a
/// provkit intermediate with a full name; the intermediate issues a compact device
/// certificate. provkit checks the expanded chain, and so does `openssl verify`.
#[test]
fn a_provkit_intermediate_under_a_foreign_openssl_root() {
    let root_pem = data("root.pem");
    let root_key =
        P256PrivateKey::from_pem(std::str::from_utf8(&data("root.key")).unwrap(), None).unwrap();
    let mut store = MemoryStore::<4, 0, 0>::new();
    root_key.import_into(&mut store, KeyId(1)).unwrap();
    let mut rng = InsecureTestRng::new(9);
    let int_key = store.generate_p256(KeyId(2), &mut rng).unwrap();
    let root_der = pki::read_certificates(&root_pem).unwrap()[0]
        .to_der()
        .unwrap();
    // provkit's own parser takes the foreign root as an issuer.
    let root = CaCert::from_der(&root_der).unwrap();
    let name = pki::name_der("CN=Factory 3 Device CA,OU=Manufacturing,O=Example Devices GmbH,C=DE")
        .unwrap();
    let profile = CaProfile::new(CaName::new("x"), [0x31; 16], 1_800_000_000, 2_400_000_000)
        .with_subject_der(&name)
        .with_path_len(0);
    let mut int_der = [0u8; 1024];
    let int_len = cert::create_intermediate(
        &mut store,
        KeyId(1),
        &root,
        &int_key,
        &profile,
        &mut int_der,
    )
    .unwrap();
    let int = CaCert::from_der(&int_der[..int_len]).unwrap();
    let device = store.generate_p256(KeyId(3), &mut rng).unwrap();
    let compact = cert::issue_device(
        &mut store,
        KeyId(2),
        &int,
        &DeviceRequest::new(0x0bad_cafe, &device, 1_810_000_000),
    )
    .unwrap();
    let c = CompactCert::parse(&compact).unwrap();
    let mut leaf = vec![0u8; cert::expanded_len(&c, int.as_issuer()).unwrap()];
    cert::expand(&c, int.as_issuer(), &mut leaf).unwrap();

    let anchors = pki::read_certificates(&root_pem).unwrap();
    let chain = vec![
        Certificate::from_der(&leaf).unwrap(),
        Certificate::from_der(&int_der[..int_len]).unwrap(),
    ];
    let path = pki::verify_chain(&anchors, &chain, NOW).unwrap();
    assert_eq!(path.anchor, 0);
    assert_eq!(path.public_key().unwrap(), device);
    assert_eq!(path.subject.to_string(), "SERIALNUMBER=000000000BADCAFE");
    // The device side agrees, with provkit's own parser.
    cert::verify_device(&root, Some(&int), &c, NOW).unwrap();

    // OpenSSL agrees.
    let dir = std::env::temp_dir().join(format!("provkit-pki-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("int.pem"),
        cert::to_pem(&int_der[..int_len]).unwrap(),
    )
    .unwrap();
    std::fs::write(dir.join("leaf.pem"), cert::to_pem(&leaf).unwrap()).unwrap();
    std::fs::write(dir.join("root.pem"), &root_pem).unwrap();
    let out = Command::new("openssl")
        .current_dir(&dir)
        .args(["verify", "-attime", &NOW.to_string(), "-CAfile", "root.pem"])
        .args(["-untrusted", "int.pem", "leaf.pem"])
        .output()
        .expect("openssl is installed");
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(
        out.status.success(),
        "openssl verify: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// OpenSSL's whole chain: an intermediate signed with SHA-384, a leaf with a
/// subjectAltName and authorityInfoAccess, read from a PEM bundle.
#[test]
fn an_openssl_chain_with_sha384_and_a_pem_bundle() {
    let anchors = certs("root.pem");
    let chain = certs("bundle.pem");
    assert_eq!(chain.len(), 2);
    let path = pki::verify_chain(&anchors, &chain, NOW).unwrap();
    assert_eq!(
        path.subject.to_string(),
        "CN=gateway-7,O=Example Devices GmbH"
    );
    path.public_key().unwrap();
    // The chain may carry its root.
    let mut with_root = chain.clone();
    with_root.push(anchors[0].clone());
    assert_eq!(
        pki::verify_chain(&anchors, &with_root, NOW).unwrap().anchor,
        0
    );
    // The anchor is found among others.
    let many = vec![certs("p384_root.pem")[0].clone(), anchors[0].clone()];
    assert_eq!(pki::verify_chain(&many, &chain, NOW).unwrap().anchor, 1);
    // Missing the intermediate: the leaf's issuer is no anchor.
    assert!(matches!(
        pki::verify_chain(&anchors, &chain[..1], NOW),
        Err(PkiError::UntrustedRoot { issuer }) if issuer.contains("Issuing CA")
    ));
    // Outside the validity of the certificates.
    let (at, error, _) = refusal(pki::verify_chain(&anchors, &chain, 1_700_000_000));
    assert_eq!(
        (at, error),
        (CertAt::Chain(0), CertError::NotYetValid.into())
    );
    let (_, error, _) = refusal(pki::verify_chain(&anchors, &chain, 3_000_000_000));
    assert_eq!(error, CertError::Expired.into());
}

#[test]
fn a_p384_issuer_is_unsupported_and_named() {
    let (at, error, detail) = refusal(pki::verify_chain(
        &certs("p384_root.pem"),
        &certs("p384_int.pem"),
        NOW,
    ));
    assert_eq!((at, error), (CertAt::Chain(0), Error::Unsupported));
    let detail = detail.unwrap();
    assert!(detail.contains("1.3.132.0.34"), "{detail}");
}

#[test]
fn certificate_files_that_do_not_parse_are_named() {
    let pem = String::from_utf8(data("bundle.pem")).unwrap();
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"".to_vec(), "DER"),
        (b"garbage".to_vec(), "DER"),
        (data("root.pem")[..100].to_vec(), "PEM block 1"),
        (pem.replacen("MII", "MIX", 1).into_bytes(), "PEM block 1"),
        (
            pem.replace("CERTIFICATE", "PRIVATE KEY").into_bytes(),
            "PEM block 1",
        ),
        (
            {
                let mut der = certs("root.pem")[0].to_der().unwrap();
                der.push(0);
                der
            },
            "DER",
        ),
    ];
    for (input, what) in cases {
        match pki::read_certificates(&input) {
            Err(PkiError::Malformed { what: w, .. }) => assert!(w.contains(what), "{w} / {what}"),
            other => panic!("{what}: {other:?}"),
        }
    }
    // A second block that breaks is named as the second.
    let broken = format!("{pem}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
    match pki::read_certificates(broken.as_bytes()) {
        Err(PkiError::Malformed { what, .. }) => assert!(what.contains("block 3"), "{what}"),
        other => panic!("{other:?}"),
    }
}

// ---- one refusal per check, on chains that x509-cert's builder makes ----

/// A certificate profile for x509-cert's builder: fixed issuer, subject and extensions.
struct Profile {
    issuer: Name,
    subject: Name,
    extensions: Vec<Extension>,
}

impl BuilderProfile for Profile {
    fn get_issuer(&self, _subject: &Name) -> Name {
        self.issuer.clone()
    }
    fn get_subject(&self) -> Name {
        self.subject.clone()
    }
    fn build_extensions(
        &self,
        _spk: SubjectPublicKeyInfoRef<'_>,
        _issuer_spk: SubjectPublicKeyInfoRef<'_>,
        _tbs: &TbsCertificate,
    ) -> x509_cert::builder::Result<Vec<Extension>> {
        Ok(self.extensions.clone())
    }
}

fn ext<T: Encode>(oid: &str, critical: bool, value: &T) -> Extension {
    Extension {
        extn_id: der::oid::ObjectIdentifier::new_unwrap(oid),
        critical,
        extn_value: OctetString::new(value.to_der().unwrap()).unwrap(),
    }
}

fn basic(ca: bool, path_len: Option<u8>) -> Extension {
    ext(
        "2.5.29.19",
        true,
        &BasicConstraints {
            ca,
            path_len_constraint: path_len,
        },
    )
}

fn key_usage(bit: KeyUsages) -> Extension {
    ext("2.5.29.15", true, &KeyUsage(bit.into()))
}

fn ski(key: &SigningKey) -> Extension {
    let point = provkit::ec::EcPublicKey::from(*key.verifying_key()).to_uncompressed();
    let id = &provkit::ec::sha256(&point)[..20];
    ext(
        "2.5.29.14",
        false,
        &SubjectKeyIdentifier(OctetString::new(id).unwrap()),
    )
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_slice(&[seed; 32]).unwrap()
}

/// A certificate for `subject_key` named `subject`, signed by `issuer_key` as `issuer`,
/// valid from `from` to `to` (Unix seconds).
fn make(
    subject: &str,
    subject_key: &SigningKey,
    issuer: &str,
    issuer_key: &SigningKey,
    extensions: Vec<Extension>,
    (from, to): (u64, u64),
) -> Certificate {
    let spki = SubjectPublicKeyInfoOwned::from_key(subject_key.verifying_key()).unwrap();
    let validity = Validity::new(
        Time::try_from(std::time::UNIX_EPOCH + Duration::from_secs(from)).unwrap(),
        Time::try_from(std::time::UNIX_EPOCH + Duration::from_secs(to)).unwrap(),
    );
    let profile = Profile {
        issuer: Name::from_str(issuer).unwrap(),
        subject: Name::from_str(subject).unwrap(),
        extensions,
    };
    let serial = SerialNumber::new(&[subject.len() as u8, 1]).unwrap();
    CertificateBuilder::new(profile, serial, validity, spki)
        .unwrap()
        .build::<_, DerSignature>(issuer_key)
        .unwrap()
}

const ALWAYS: (u64, u64) = (1_700_000_000, 2_000_000_000);

/// root (key 1) → intermediate (key 2) → leaf (key 3), each with `tweak` applied to its
/// extensions (index 0 = root, 1 = intermediate, 2 = leaf).
fn three(tweak: impl Fn(usize, &mut Vec<Extension>)) -> (Vec<Certificate>, Vec<Certificate>) {
    let (k1, k2, k3) = (key(1), key(2), key(3));
    let mut exts = [
        vec![
            basic(true, None),
            key_usage(KeyUsages::KeyCertSign),
            ski(&k1),
        ],
        vec![
            basic(true, Some(0)),
            key_usage(KeyUsages::KeyCertSign),
            ski(&k2),
        ],
        vec![key_usage(KeyUsages::DigitalSignature)],
    ];
    for (i, e) in exts.iter_mut().enumerate() {
        tweak(i, e);
    }
    let [e0, e1, e2] = exts;
    let root = make(
        "CN=Root,O=Foreign",
        &k1,
        "CN=Root,O=Foreign",
        &k1,
        e0,
        ALWAYS,
    );
    let int = make(
        "CN=Int,O=Foreign",
        &k2,
        "CN=Root,O=Foreign",
        &k1,
        e1,
        ALWAYS,
    );
    let leaf = make(
        "CN=Leaf,O=Foreign",
        &k3,
        "CN=Int,O=Foreign",
        &k2,
        e2,
        ALWAYS,
    );
    (vec![root], vec![leaf, int])
}

#[test]
fn a_builder_chain_verifies() {
    let (anchors, chain) = three(|_, _| {});
    let path = pki::verify_chain(&anchors, &chain, NOW - 86_400 * 1000).unwrap();
    assert_eq!(path.subject.to_string(), "CN=Leaf,O=Foreign");
    assert_eq!(
        provkit::ec::EcPublicKey::from(*key(3).verifying_key()),
        path.public_key().unwrap()
    );
}

const T: u64 = 1_800_000_000;

#[test]
fn an_intermediate_without_ca_rights_is_refused() {
    for (tweak, detail) in [
        (0usize, "no basicConstraints cA"),
        (1, "no basicConstraints cA"),
        (2, "keyUsage lacks keyCertSign"),
    ] {
        let (anchors, chain) = three(|i, e| {
            if i == 1 {
                match tweak {
                    0 => e.retain(|x| x.extn_id.to_string() != "2.5.29.19"),
                    1 => e[0] = basic(false, None),
                    _ => e[1] = key_usage(KeyUsages::DigitalSignature),
                }
            }
        });
        let (at, error, d) = refusal(pki::verify_chain(&anchors, &chain, T));
        assert_eq!((at, error), (CertAt::Chain(1), CertError::NotACa.into()));
        assert_eq!(d.as_deref(), Some(detail));
    }
    // The same for the anchor.
    let (anchors, chain) = three(|i, e| {
        if i == 0 {
            e[0] = basic(false, None);
        }
    });
    let (at, error, _) = refusal(pki::verify_chain(&anchors, &chain, T));
    assert_eq!((at, error), (CertAt::Anchor(0), CertError::NotACa.into()));
}

#[test]
fn path_length_constraints_hold() {
    // The root allows no CA below it, and the intermediate is one.
    let (anchors, chain) = three(|i, e| {
        if i == 0 {
            e[0] = basic(true, Some(0));
        }
    });
    let (at, error, _) = refusal(pki::verify_chain(&anchors, &chain, T));
    assert_eq!(
        (at, error),
        (CertAt::Anchor(0), CertError::PathTooLong.into())
    );
    // With pathLen 1 it passes; the intermediate's 0 still allows the leaf.
    let (anchors, chain) = three(|i, e| {
        if i == 0 {
            e[0] = basic(true, Some(1));
        }
    });
    pki::verify_chain(&anchors, &chain, T).unwrap();
    // A CA below the intermediate (pathLen 0) is refused.
    let (anchors, mut chain) = three(|_, _| {});
    let (k2, k4, k5) = (key(2), key(4), key(5));
    let sub = make(
        "CN=Sub,O=Foreign",
        &k4,
        "CN=Int,O=Foreign",
        &k2,
        vec![basic(true, None), ski(&k4)],
        ALWAYS,
    );
    let leaf = make(
        "CN=Leaf2,O=Foreign",
        &k5,
        "CN=Sub,O=Foreign",
        &k4,
        vec![],
        ALWAYS,
    );
    chain.remove(0);
    chain.insert(0, sub);
    chain.insert(0, leaf);
    let (at, error, _) = refusal(pki::verify_chain(&anchors, &chain, T));
    assert_eq!(
        (at, error),
        (CertAt::Chain(2), CertError::PathTooLong.into())
    );
}

#[test]
fn unknown_critical_extensions_and_duplicates_are_refused() {
    let nc = ext("2.5.29.30", true, &der::asn1::Null);
    let (anchors, chain) = three(|i, e| {
        if i == 2 {
            e.push(nc.clone());
        }
    });
    let (at, error, detail) = refusal(pki::verify_chain(&anchors, &chain, T));
    assert_eq!(
        (at, error),
        (CertAt::Chain(0), CertError::UnknownCriticalExtension.into())
    );
    assert_eq!(detail.as_deref(), Some("extension 2.5.29.30"));
    // The same extension, not critical, is ignored.
    let (anchors, chain) = three(|i, e| {
        if i == 2 {
            e.push(ext("2.5.29.30", false, &der::asn1::Null));
        }
    });
    pki::verify_chain(&anchors, &chain, T).unwrap();
    // An extension twice.
    let (anchors, chain) = three(|i, e| {
        if i == 1 {
            e.push(key_usage(KeyUsages::KeyCertSign));
        }
    });
    let (at, error, detail) = refusal(pki::verify_chain(&anchors, &chain, T));
    assert_eq!(at, CertAt::Chain(1));
    assert!(matches!(error, Error::Decode(_)));
    assert!(detail.unwrap().contains("twice"));
}

#[test]
fn wrong_issuers_and_signatures_are_refused() {
    // An anchor with the right name and another key.
    let (_, chain) = three(|_, _| {});
    let impostor = make(
        "CN=Root,O=Foreign",
        &key(9),
        "CN=Root,O=Foreign",
        &key(9),
        vec![basic(true, None), ski(&key(9))],
        ALWAYS,
    );
    let (at, error, _) = refusal(pki::verify_chain(&[impostor], &chain, T));
    assert_eq!(at, CertAt::Chain(1));
    // The authorityKeyIdentifier is absent here: the signature decides.
    assert_eq!(error, Error::Crypto);
    // An intermediate whose issuer names another CA.
    let (anchors, mut chain) = three(|_, _| {});
    chain[1] = make(
        "CN=Int,O=Foreign",
        &key(2),
        "CN=Other Root",
        &key(1),
        vec![basic(true, None)],
        ALWAYS,
    );
    assert!(matches!(
        pki::verify_chain(&anchors, &chain, T),
        Err(PkiError::UntrustedRoot { issuer }) if issuer == "CN=Other Root"
    ));
    // A leaf out of order (the chain's second certificate did not issue the first).
    let (anchors, chain) = three(|_, _| {});
    let swapped = vec![chain[1].clone(), chain[0].clone()];
    let (at, error, _) = refusal(pki::verify_chain(&anchors, &swapped, T));
    assert_eq!(
        (at, error),
        (CertAt::Chain(0), CertError::IssuerMismatch.into())
    );
    // A flipped bit in the leaf's signature.
    let (anchors, chain) = three(|_, _| {});
    let mut der = chain[0].to_der().unwrap();
    let last = der.len() - 1;
    der[last] ^= 1;
    let tampered = vec![Certificate::from_der(&der).unwrap(), chain[1].clone()];
    let (at, error, _) = refusal(pki::verify_chain(&anchors, &tampered, T));
    assert_eq!((at, error), (CertAt::Chain(0), Error::Crypto));
    // No chain at all.
    assert_eq!(
        pki::verify_chain(&anchors, &[], T).unwrap_err(),
        PkiError::EmptyChain
    );
}

#[test]
fn a_mismatched_key_identifier_is_an_issuer_mismatch() {
    let (anchors, chain) = three(|_, _| {});
    // The leaf names a key id that is not the intermediate's.
    let aki = x509_cert::ext::pkix::AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(vec![7u8; 20]).unwrap()),
        ..Default::default()
    };
    let leaf = make(
        "CN=Leaf,O=Foreign",
        &key(3),
        "CN=Int,O=Foreign",
        &key(2),
        vec![ext("2.5.29.35", false, &aki)],
        ALWAYS,
    );
    let (at, error, _) = refusal(pki::verify_chain(&anchors, &[leaf, chain[1].clone()], T));
    assert_eq!(
        (at, error),
        (CertAt::Chain(0), CertError::IssuerMismatch.into())
    );
}

#[test]
fn the_provkit_root_of_the_common_fixtures_is_an_anchor() {
    // provkit's hierarchy read back through x509-cert: root → intermediate → device.
    let pki_fixture = Pki::new(5);
    let anchors = vec![Certificate::from_der(&pki_fixture.root_der).unwrap()];
    let chain = vec![
        Certificate::from_der(&pki_fixture.device_der()).unwrap(),
        Certificate::from_der(&pki_fixture.intermediate_der).unwrap(),
    ];
    let path = pki::verify_chain(&anchors, &chain, common::NOW).unwrap();
    assert_eq!(path.anchor, 0);
    let _ = ROOT_KEY;
}

/// Validity is inclusive at both ends (RFC 5280 §4.1.2.5), for chain and anchor alike.
#[test]
fn validity_bounds_are_inclusive() {
    let (anchors, chain) = three(|_, _| {});
    let (from, to) = ALWAYS;
    pki::verify_chain(&anchors, &chain, from).unwrap();
    pki::verify_chain(&anchors, &chain, to).unwrap();
    let (_, error, _) = refusal(pki::verify_chain(&anchors, &chain, from - 1));
    assert_eq!(error, CertError::NotYetValid.into());
    let (_, error, _) = refusal(pki::verify_chain(&anchors, &chain, to + 1));
    assert_eq!(error, CertError::Expired.into());
}

/// A version 1 root (no extensions at all, as legacy roots are) is accepted as a trust
/// anchor, as RFC 5280 allows; a version 3 anchor without basicConstraints is not a CA.
#[test]
fn a_version_1_anchor_is_trusted_and_a_bare_version_3_one_is_not() {
    let v1 = certs("v1_root.pem");
    assert_eq!(v1[0].tbs_certificate().version(), x509_cert::Version::V1);
    let path = pki::verify_chain(&v1, &certs("v1_int.pem"), NOW).unwrap();
    assert_eq!(path.anchor, 0);
    // The same root in version 3 (a version field, still no extensions): refused.
    let (_, chain) = three(|_, _| {});
    let bare = make(
        "CN=Root,O=Foreign",
        &key(1),
        "CN=Root,O=Foreign",
        &key(1),
        vec![],
        ALWAYS,
    );
    assert_eq!(bare.tbs_certificate().version(), x509_cert::Version::V1);
    pki::verify_chain(std::slice::from_ref(&bare), &chain, T).unwrap();
    let bare_v3 = as_version_3(&bare, &key(1));
    assert_eq!(bare_v3.tbs_certificate().version(), x509_cert::Version::V3);
    assert!(bare_v3.tbs_certificate().extensions().is_none());
    let (at, error, _) = refusal(pki::verify_chain(&[bare_v3], &chain, T));
    assert_eq!((at, error), (CertAt::Anchor(0), CertError::NotACa.into()));
    // A version 1 certificate as an intermediate (not an anchor) is not a CA either.
    let (at, error, _) = refusal(pki::verify_chain(
        &certs("root.pem"),
        &[certs("v1_int.pem")[0].clone(), v1[0].clone()],
        NOW,
    ));
    assert_eq!((at, error), (CertAt::Chain(1), CertError::NotACa.into()));
}

/// `cert` with a version field `[0] INTEGER 2` added to its TBSCertificate (nothing else
/// changed), signed again by `key`: a version 3 certificate without extensions.
fn as_version_3(cert: &Certificate, key: &SigningKey) -> Certificate {
    use p256::ecdsa::signature::Signer;
    fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        match body.len() {
            n if n < 0x80 => out.push(n as u8),
            n if n < 0x100 => out.extend([0x81, n as u8]),
            n => out.extend([0x82, (n >> 8) as u8, n as u8]),
        }
        out.extend_from_slice(body);
        out
    }
    let tbs = cert.tbs_certificate().to_der().unwrap();
    let header = if tbs[1] < 0x80 {
        2
    } else {
        2 + usize::from(tbs[1] & 0x7f)
    };
    let body = [&[0xa0, 0x03, 0x02, 0x01, 0x02][..], &tbs[header..]].concat();
    let tbs = tlv(0x30, &body);
    let signature: DerSignature = key.sign(&tbs);
    let bits = x509_cert::der::asn1::BitString::from_bytes(signature.as_bytes())
        .unwrap()
        .to_der()
        .unwrap();
    let alg = cert.signature_algorithm().to_der().unwrap();
    Certificate::from_der(&tlv(0x30, &[tbs, alg, bits].concat())).unwrap()
}
