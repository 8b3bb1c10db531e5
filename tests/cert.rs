//! Compact certificates: round trips, tamper rejection, chain checks, import profile.

mod common;

use common::*;
use provkit::Error;
use provkit::cert::{
    self, COMPACT_LEN, CaCert, CaName, CaProfile, CompactCert, DeviceRequest, DeviceUsage,
};
use provkit::error::{CertError, DecodeErrorKind};
use provkit::store::IdentityKeys;
use provkit::testing::InsecureTestRng;

const _: () = assert!(
    COMPACT_LEN <= 112,
    "the compact certificate must fit 112 bytes"
);

#[test]
fn compact_is_at_most_112_bytes() {
    let pki = Pki::new(1);
    assert_eq!(pki.device.len(), COMPACT_LEN);
    assert_eq!(
        CompactCert::parse(&pki.device).unwrap().as_bytes().len(),
        111
    );
}

#[test]
fn chain_verifies_with_and_without_intermediate() {
    let pki = Pki::new(1);
    let c = CompactCert::parse(&pki.device).unwrap();
    let v = cert::verify_device(&pki.root(), Some(&pki.intermediate()), &c, NOW).unwrap();
    assert_eq!(v.serial, SERIAL);
    assert_eq!(v.public_key, {
        let mut s = pki.device_store;
        s.public_key(DEVICE_KEY).unwrap()
    });
    assert_eq!(
        v.not_before,
        cert::day_to_unix(cert::unix_to_day(ISSUED).unwrap())
    );

    // Issued directly by the root.
    let mut pki = Pki::new(2);
    let root_der = pki.root_der.clone();
    let root = CaCert::from_der(&root_der).unwrap();
    let public = pki.device_store.public_key(DEVICE_KEY).unwrap();
    let direct = cert::issue_device(
        &mut pki.ca_store,
        ROOT_KEY,
        &root,
        &DeviceRequest::new(7, &public, ISSUED),
    )
    .unwrap();
    let c = CompactCert::parse(&direct).unwrap();
    assert_eq!(cert::verify_device(&root, None, &c, NOW).unwrap().serial, 7);
}

#[test]
fn expand_import_round_trip_is_bit_exact() {
    for seed in 1..=20 {
        let pki = Pki::new(seed);
        let der = pki.device_der();
        let back = cert::import_x509(&der, pki.intermediate().as_issuer()).unwrap();
        assert_eq!(back, pki.device, "seed {seed}");
        // And the expanded DER itself parses as a certificate signed by the intermediate.
        let x = cert::X509Cert::from_der(&der).unwrap();
        x.verify_signature(pki.intermediate().public_key()).unwrap();
        assert_eq!(x.not_after(), cert::NO_EXPIRY);
    }
}

#[test]
fn all_usage_variants_round_trip() {
    let mut pki = Pki::new(3);
    let int_der = pki.intermediate_der.clone();
    let int = CaCert::from_der(&int_der).unwrap();
    let public = pki.device_store.public_key(DEVICE_KEY).unwrap();
    for (ka, sa) in [(false, false), (true, false), (false, true), (true, true)] {
        let usage = DeviceUsage::SIGN_ONLY
            .with_key_agreement(ka)
            .with_server_auth(sa);
        let compact = cert::issue_device(
            &mut pki.ca_store,
            INTERMEDIATE_KEY,
            &int,
            &DeviceRequest::new(99, &public, ISSUED).with_usage(usage),
        )
        .unwrap();
        let c = CompactCert::parse(&compact).unwrap();
        assert_eq!(c.usage(), usage);
        let v = cert::verify_device(&pki.root(), Some(&int), &c, NOW).unwrap();
        assert_eq!(v.usage, usage);
        let mut der = vec![0u8; 1024];
        let n = cert::expand(&c, int.as_issuer(), &mut der).unwrap();
        assert_eq!(
            cert::import_x509(&der[..n], int.as_issuer()).unwrap(),
            compact
        );
    }
}

#[test]
fn every_wrong_byte_in_a_compact_certificate_is_rejected() {
    let pki = Pki::new(4);
    let root = pki.root();
    let int = pki.intermediate();
    let mut checked = 0;
    for i in 0..COMPACT_LEN {
        for flip in [0x01u8, 0x02, 0x10, 0x80, 0xff] {
            let mut bad = pki.device;
            bad[i] ^= flip;
            let result = CompactCert::parse(&bad)
                .and_then(|c| cert::verify_device(&root, Some(&int), &c, NOW));
            assert!(result.is_err(), "byte {i} ^ {flip:#04x} accepted");
            checked += 1;
        }
    }
    assert_eq!(checked, COMPACT_LEN * 5);
    // Truncation and extension.
    for len in 0..COMPACT_LEN {
        assert!(matches!(
            CompactCert::parse(&pki.device[..len]),
            Err(Error::Decode(d)) if d.kind == DecodeErrorKind::Truncated
        ));
    }
    let mut long = pki.device.to_vec();
    long.push(0);
    assert!(
        matches!(CompactCert::parse(&long), Err(Error::Decode(d)) if d.kind == DecodeErrorKind::TrailingData)
    );
}

#[test]
fn every_wrong_byte_in_an_expanded_certificate_is_rejected() {
    let pki = Pki::new(5);
    let der = pki.device_der();
    let int = pki.intermediate();
    for i in 0..der.len() {
        let mut bad = der.clone();
        bad[i] ^= 0x01;
        // Either it does not import, or what it imports does not verify.
        let verified = cert::import_x509(&bad, int.as_issuer()).and_then(|compact| {
            let c = CompactCert::parse(&compact)?;
            cert::verify_issued(&int, &c, NOW)
        });
        assert!(verified.is_err(), "flip at {i} accepted");
    }
}

#[test]
fn chain_failures() {
    let pki = Pki::new(6);
    let other = Pki::new(7);
    let c = CompactCert::parse(&pki.device).unwrap();
    let root = pki.root();
    let int = pki.intermediate();
    // Another root with the same name: the authority key id tells them apart.
    assert_eq!(
        cert::verify_device(&other.root(), Some(&int), &c, NOW),
        Err(Error::Cert(CertError::IssuerMismatch))
    );
    assert_eq!(
        cert::verify_device(&root, Some(&other.intermediate()), &c, NOW),
        Err(Error::Cert(CertError::IssuerMismatch)),
        "other intermediate is not issued by this root"
    );
    assert_eq!(
        cert::verify_issued(&other.intermediate(), &c, NOW),
        Err(Error::Cert(CertError::IssuerMismatch))
    );
    // Skipping the intermediate.
    assert_eq!(
        cert::verify_device(&root, None, &c, NOW),
        Err(Error::Cert(CertError::IssuerMismatch))
    );
    // Time: before issue, after the intermediate expires.
    assert_eq!(
        cert::verify_device(&root, Some(&int), &c, ISSUED - 86_400),
        Err(Error::Cert(CertError::NotYetValid))
    );
    assert_eq!(
        cert::verify_device(&root, Some(&int), &c, T0 + 11 * 365 * 86_400),
        Err(Error::Cert(CertError::Expired))
    );
    // An intermediate cannot itself sign CAs (pathLen 0).
    let mut pki2 = Pki::new(8);
    let int_der = pki2.intermediate_der.clone();
    let int2 = CaCert::from_der(&int_der).unwrap();
    let mut rng = InsecureTestRng::new(99);
    let sub = pki2
        .device_store
        .generate_p256(provkit::store::KeyId(50), &mut rng)
        .unwrap();
    let profile = CaProfile::new(CaName::new("sub"), [3; 16], T0, NOW * 2);
    assert_eq!(
        cert::create_intermediate(
            &mut pki2.ca_store,
            INTERMEDIATE_KEY,
            &int2,
            &sub,
            &profile,
            &mut [0u8; 1024]
        ),
        Err(Error::Cert(CertError::PathTooLong))
    );
    // Issuing with a key that is not the CA's.
    let public = pki2.device_store.public_key(DEVICE_KEY).unwrap();
    assert_eq!(
        cert::issue_device(
            &mut pki2.ca_store,
            ROOT_KEY,
            &int2,
            &DeviceRequest::new(5, &public, ISSUED)
        ),
        Err(Error::Cert(CertError::KeyMismatch))
    );
    // A device certificate is not a CA.
    assert_eq!(
        CaCert::from_der(&pki.device_der()).map(|_| ()),
        Err(Error::Cert(CertError::NotACa))
    );
}

#[test]
fn import_rejects_certificates_outside_the_profile() {
    let pki = Pki::new(9);
    // A CA certificate is not a device certificate.
    let int = pki.intermediate();
    let err = cert::import_x509(&pki.intermediate_der, pki.root().as_issuer()).unwrap_err();
    assert!(
        matches!(err, Error::Decode(d) if d.kind == DecodeErrorKind::OutsideProfile),
        "{err:?}"
    );
    // Garbage and truncations fail cleanly.
    let der = pki.device_der();
    for len in 0..der.len() {
        assert!(cert::import_x509(&der[..len], int.as_issuer()).is_err());
    }
    assert!(cert::import_x509(b"not a certificate", int.as_issuer()).is_err());
    // The right certificate under the wrong issuer.
    let err = cert::import_x509(&der, pki.root().as_issuer()).unwrap_err();
    assert!(
        matches!(err, Error::Decode(d) if d.kind == DecodeErrorKind::OutsideProfile),
        "{err:?}"
    );
}

#[test]
fn expansion_refuses_another_cas_key_id() {
    // Found by the cert_compact fuzz target: the short key id is not repeated in the DER,
    // so expansion must check it or two compact forms would expand to one certificate.
    let pki = Pki::new(12);
    let mut bad = pki.device;
    bad[9] ^= 0x40;
    let c = CompactCert::parse(&bad).unwrap();
    let int = pki.intermediate();
    assert_eq!(
        cert::expand(&c, int.as_issuer(), &mut [0u8; 1024]),
        Err(Error::Cert(CertError::IssuerMismatch))
    );
}

#[test]
fn buffers_too_small_are_reported() {
    let pki = Pki::new(10);
    let c = CompactCert::parse(&pki.device).unwrap();
    let int = pki.intermediate();
    let need = cert::expanded_len(&c, int.as_issuer()).unwrap();
    let mut small = vec![0u8; need - 1];
    assert_eq!(
        cert::expand(&c, int.as_issuer(), &mut small),
        Err(Error::buffer_too_small(need))
    );
}

#[test]
fn pem_output() {
    let pki = Pki::new(11);
    let c = CompactCert::parse(&pki.device).unwrap();
    let pem = cert::expand_to_pem(&c, pki.intermediate().as_issuer()).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    assert!(pem.trim_end().ends_with("-----END CERTIFICATE-----"));
}

/// The committed vectors under `tests/data/cert/` are what this crate produces from fixed
/// inputs (seed 1 of the test PKI). Other implementations can check their expansion
/// against them. Set `PROVKIT_REGENERATE=1` to rewrite them after a deliberate change.
#[test]
fn cert_vectors_are_stable() {
    let pki = Pki::new(1);
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/cert");
    let compact_ca = |ca: CaCert<'_>| {
        let mut out = [0u8; cert::COMPACT_CA_MAX_LEN];
        let n = ca.write_compact(&mut out).unwrap();
        out[..n].to_vec()
    };
    let files: [(&str, Vec<u8>); 6] = [
        ("root.der", pki.root_der.clone()),
        ("intermediate.der", pki.intermediate_der.clone()),
        ("device.compact", pki.device.to_vec()),
        ("device.der", pki.device_der()),
        ("root.compact", compact_ca(pki.root())),
        ("intermediate.compact", compact_ca(pki.intermediate())),
    ];
    // The fuzz targets start from the same files.
    let seeds = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let seed_dir = |name: &str| {
        seeds.join(if name.ends_with(".der") {
            "cert_x509"
        } else if name.starts_with("device") {
            "cert_compact"
        } else {
            "cert_compact_ca"
        })
    };
    if std::env::var_os("PROVKIT_REGENERATE").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        for (name, bytes) in &files {
            std::fs::write(dir.join(name), bytes).unwrap();
            std::fs::create_dir_all(seed_dir(name)).unwrap();
            std::fs::write(seed_dir(name).join(name), bytes).unwrap();
        }
    }
    for (name, bytes) in &files {
        let committed = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            &committed, bytes,
            "{name} differs from what the crate produces"
        );
        let seed = std::fs::read(seed_dir(name).join(name))
            .unwrap_or_else(|e| panic!("fuzz seed {name}: {e}"));
        assert_eq!(&seed, bytes, "fuzz seed {name} differs from the vector");
    }
    // And the committed expansion imports back to the committed compact form.
    let int = CaCert::from_der(&files[1].1).unwrap();
    assert_eq!(
        cert::import_x509(&files[3].1, int.as_issuer())
            .unwrap()
            .to_vec(),
        files[2].1
    );
}
