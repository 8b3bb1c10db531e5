//! PKCS#10 certification requests (RFC 2986; feature `x509`): a device, or an outside
//! tool such as `openssl req`, asks for a certificate, and the CA answers with a compact
//! device certificate.
//!
//! [`check_request`] accepts a request only if:
//! - it parses (DER, or PEM labelled `CERTIFICATE REQUEST` or `NEW CERTIFICATE
//!   REQUEST`);
//! - its key is a P-256 key;
//! - its signature verifies under that key (proof of possession: the sender holds the
//!   private key), with ECDSA and SHA-256, SHA-384 or SHA-512;
//! - its subject is what the device profile certifies: `serialNumber=` followed by the
//!   serial as 16 hexadecimal digits (as the certificate will name it), or empty when
//!   the CA names the serial ([`CsrPolicy::for_serial`]). A serial the CA names must be
//!   the one requested;
//! - its only attribute is an extensionRequest, whose extensions ask for no more than
//!   the profile and the policy allow: keyUsage digitalSignature (required) and
//!   keyAgreement, extendedKeyUsage clientAuth and serverAuth, basicConstraints
//!   without cA. A subjectKeyIdentifier is accepted and ignored (the certificate's key
//!   id is always computed from the key, RFC 7093 method 1). Anything else (a
//!   subjectAltName, a challengePassword, an extension twice) is refused, naming it:
//!   the compact profile could not carry it, and a CA that drops a requested field
//!   silently issues something other than what was asked.
//!
//! What is granted is what was asked: keyAgreement only if the keyUsage asks for it,
//! serverAuth only if the extendedKeyUsage does.
//!
//! ```
//! use provkit::cert::{self, csr, CaCert, CaName, CaProfile, CompactCert, DeviceUsage};
//! use provkit::store::{IdentityKeys, KeyId, MemoryStore};
//! use provkit::rng::OsRng;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut ca_store = MemoryStore::<1, 0, 0>::new();
//! ca_store.generate_p256(KeyId(1), &mut OsRng)?;
//! let profile = CaProfile::new(CaName::new("Factory CA"), [1; 16], 1_700_000_000, 2_500_000_000);
//! let mut der = [0u8; 512];
//! let len = cert::create_root(&mut ca_store, KeyId(1), &profile, &mut der)?;
//! let ca = CaCert::from_der(&der[..len])?;
//!
//! // Made with: openssl req -new -key device.pem -subj /serialNumber=0102030405060708
//! let request = include_bytes!("../../tests/data/csr/openssl_device.csr");
//! let policy = csr::CsrPolicy::new();
//! let compact = csr::issue_device(&mut ca_store, KeyId(1), &ca, request, &policy, 1_750_000_000)?;
//! assert_eq!(CompactCert::parse(&compact)?.serial(), 0x0102_0304_0506_0708);
//! # Ok(())
//! # }
//! ```

use crate::cert::ca::{CaCert, DeviceRequest};
use crate::cert::compact::{COMPACT_LEN, DeviceUsage};
use crate::cert::der::{Reader, tag};
use crate::cert::pki::{PkiError, p256_key, verify_signature};
use crate::cert::time::UnixTime;
use crate::error::Error;
use crate::store::{IdentityKeys, KeyId};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use der::oid::AssociatedOid;
use der::{Decode, Tag, Tagged};
use x509_cert::ext::Extension;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectKeyIdentifier};
use x509_cert::request::{CertReq, ExtensionReq};
use x509_cert::spki::ObjectIdentifier;

/// serialNumber (X.520, 2.5.4.5): the device subject's only attribute.
const SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");
/// id-kp-clientAuth (RFC 5280).
const CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
/// id-kp-serverAuth (RFC 5280).
const SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");

/// What a CA allows in the requests it answers.
///
/// Built with [`new`](Self::new), [`allowing`](Self::allowing) and
/// [`for_serial`](Self::for_serial) (`#[non_exhaustive]`: more limits may follow).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CsrPolicy {
    /// The usages a request may ask for beyond signing and client authentication.
    pub allowed_usage: DeviceUsage,
    /// The serial the CA expects (from its own records), if it names one.
    pub serial: Option<u64>,
}

impl CsrPolicy {
    /// Signing and client authentication only; the serial is the one requested.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            allowed_usage: DeviceUsage::SIGN_ONLY,
            serial: None,
        }
    }

    /// The same policy, allowing requests for `usage` (or less).
    #[must_use]
    pub const fn allowing(mut self, usage: DeviceUsage) -> Self {
        self.allowed_usage = usage;
        self
    }

    /// The same policy for device `serial`: a request must name this serial or none.
    #[must_use]
    pub const fn for_serial(mut self, serial: u64) -> Self {
        self.serial = Some(serial);
        self
    }
}

/// Checks a certification request against `policy` (see the module documentation) and
/// returns what to certify, issued at `issued_at`.
///
/// # Errors
/// [`PkiError::Malformed`] for input that does not parse;
/// [`PkiError::ProofOfPossession`] when the signature does not verify;
/// [`PkiError::OutsideProfile`] for a key, algorithm, subject, attribute, extension or
/// usage the CA does not certify, saying which.
pub fn check_request(
    input: &[u8],
    policy: &CsrPolicy,
    issued_at: UnixTime,
) -> Result<DeviceRequest, PkiError> {
    let der = request_der(input)?;
    let request = CertReq::from_der(&der).map_err(|e| malformed(&e.to_string()))?;
    let info = &request.info;
    let key = p256_key(&info.public_key).map_err(|_| {
        PkiError::OutsideProfile(format!(
            "the key is a {} key, and the profile certifies P-256 keys only",
            key_algorithm(&info.public_key)
        ))
    })?;
    verify_signature(
        &request.algorithm,
        &info.public_key,
        signed_part(&der)?,
        &request.signature,
    )
    .map_err(|(error, detail)| match error {
        Error::Crypto => PkiError::ProofOfPossession,
        Error::Unsupported => PkiError::OutsideProfile(detail.unwrap_or_default()),
        other => malformed(&format!(
            "{other}{}",
            detail.map(|d| format!(" ({d})")).unwrap_or_default()
        )),
    })?;
    let serial = requested_serial(&info.subject, policy)?;
    let mut usage = DeviceUsage::SIGN_ONLY;
    for attribute in info.attributes.iter() {
        if attribute.oid != ExtensionReq::OID {
            return Err(PkiError::OutsideProfile(format!(
                "attribute {}{} is not processed by this CA",
                attribute.oid,
                if attribute.oid == ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.7") {
                    " (challengePassword)"
                } else {
                    ""
                }
            )));
        }
        let mut values = attribute.values.iter();
        let (Some(value), None) = (values.next(), values.next()) else {
            return Err(malformed("extensionRequest must hold one value"));
        };
        let extensions: ExtensionReq = value
            .decode_as()
            .map_err(|e| malformed(&format!("extensionRequest: {e}")))?;
        usage = requested_usage(&extensions.0, policy)?;
    }
    Ok(DeviceRequest::new(serial, &key, issued_at).with_usage(usage))
}

/// Checks a certification request ([`check_request`]) and issues a compact device
/// certificate for it ([`cert::issue_device`](crate::cert::issue_device)): `ca_key` in
/// `store` (the key of `ca`) signs.
///
/// # Errors
/// As [`check_request`]; [`PkiError::Provkit`] for issuing errors (a store error,
/// `Cert(KeyMismatch)` when `ca_key` is not `ca`'s key, `Cert(Unrepresentable)` for an
/// issue date outside 2000–2179).
pub fn issue_device<S: IdentityKeys + ?Sized>(
    store: &mut S,
    ca_key: KeyId,
    ca: &CaCert<'_>,
    input: &[u8],
    policy: &CsrPolicy,
    issued_at: UnixTime,
) -> Result<[u8; COMPACT_LEN], PkiError> {
    let request = check_request(input, policy, issued_at)?;
    Ok(crate::cert::issue_device(store, ca_key, ca, &request)?)
}

fn malformed(detail: &str) -> PkiError {
    PkiError::Malformed {
        what: "the certification request".into(),
        detail: detail.into(),
    }
}

/// The request's DER: the input itself, or decoded from PEM.
fn request_der(input: &[u8]) -> Result<Vec<u8>, PkiError> {
    let start = input.iter().take_while(|c| c.is_ascii_whitespace()).count();
    if !input
        .get(start..)
        .unwrap_or_default()
        .starts_with(b"-----BEGIN ")
    {
        return Ok(input.to_vec());
    }
    let (label, der) = der::pem::decode_vec(input.get(start..).unwrap_or_default())
        .map_err(|e| malformed(&format!("PEM: {e}")))?;
    match label {
        "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => Ok(der),
        other => Err(malformed(&format!(
            "PEM holds a {other}, not a CERTIFICATE REQUEST"
        ))),
    }
}

/// The CertificationRequestInfo's bytes as received: what the signature covers.
fn signed_part(der: &[u8]) -> Result<&[u8], PkiError> {
    let mut outer = Reader::new(der);
    let (mut request, _) = outer
        .read(tag::SEQUENCE)
        .map_err(|e| malformed(&e.to_string()))?;
    let (_, info) = request
        .read(tag::SEQUENCE)
        .map_err(|e| malformed(&e.to_string()))?;
    Ok(info)
}

/// "id-ecPublicKey on secp384r1", "rsaEncryption", ... as dotted OIDs.
fn key_algorithm(spki: &x509_cert::spki::SubjectPublicKeyInfoOwned) -> String {
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    match curve {
        Some(c) => format!("{} on curve {c}", spki.algorithm.oid),
        None => spki.algorithm.oid.to_string(),
    }
}

/// The serial the request's subject names (or the policy's, for an empty subject).
fn requested_serial(subject: &x509_cert::name::Name, policy: &CsrPolicy) -> Result<u64, PkiError> {
    let outside = || {
        PkiError::OutsideProfile(format!(
            "the subject must be serialNumber=<16 hexadecimal digits> (or empty when the CA names the serial); it is {subject:?}",
            subject = subject.to_string()
        ))
    };
    let requested = if subject.is_empty() {
        None
    } else {
        let mut attributes = subject.iter();
        let (Some(atv), None, 1) = (
            attributes.next(),
            attributes.next(),
            subject.iter_rdn().count(),
        ) else {
            return Err(outside());
        };
        let text_tag = matches!(atv.value.tag(), Tag::PrintableString | Tag::Utf8String);
        let digits = atv.value.value();
        if atv.oid != SERIAL_NUMBER
            || !text_tag
            || digits.len() != 16
            || !digits.iter().all(u8::is_ascii_hexdigit)
        {
            return Err(outside());
        }
        let text = core::str::from_utf8(digits).map_err(|_| outside())?;
        Some(u64::from_str_radix(text, 16).map_err(|_| outside())?)
    };
    let serial = match (requested, policy.serial) {
        (Some(r), Some(expected)) if r != expected => {
            return Err(PkiError::OutsideProfile(format!(
                "the request names serial {r:016X}, and the CA expects {expected:016X}"
            )));
        }
        (Some(s), _) | (None, Some(s)) => s,
        (None, None) => {
            return Err(PkiError::OutsideProfile(
                "the subject is empty and the CA names no serial".into(),
            ));
        }
    };
    if serial == 0 {
        return Err(PkiError::OutsideProfile(
            "serial 0 is not a device serial".into(),
        ));
    }
    Ok(serial)
}

/// The usages the extensions ask for, if the profile and `policy` allow them.
fn requested_usage(extensions: &[Extension], policy: &CsrPolicy) -> Result<DeviceUsage, PkiError> {
    let mut usage = DeviceUsage::SIGN_ONLY;
    let allowed = policy.allowed_usage;
    for (i, ext) in extensions.iter().enumerate() {
        let oid = ext.extn_id;
        if extensions.iter().skip(i + 1).any(|e| e.extn_id == oid) {
            return Err(PkiError::OutsideProfile(format!(
                "extension {oid} is requested twice"
            )));
        }
        let value = ext.extn_value.as_bytes();
        let bad = |e: der::Error| malformed(&format!("extension {oid}: {e}"));
        if oid == KeyUsage::OID {
            let ku = KeyUsage::from_der(value).map_err(bad)?;
            let extra = ku.non_repudiation()
                || ku.key_encipherment()
                || ku.data_encipherment()
                || ku.key_cert_sign()
                || ku.crl_sign()
                || ku.encipher_only()
                || ku.decipher_only();
            if extra {
                return Err(PkiError::OutsideProfile(format!(
                    "keyUsage asks for {:?}; the profile certifies digitalSignature and keyAgreement only",
                    ku.0
                )));
            }
            if !ku.digital_signature() {
                return Err(PkiError::OutsideProfile(
                    "keyUsage lacks digitalSignature, which every device certificate carries"
                        .into(),
                ));
            }
            if ku.key_agreement() && !allowed.key_agreement {
                return Err(PkiError::OutsideProfile(
                    "keyUsage asks for keyAgreement, which this CA does not allow".into(),
                ));
            }
            usage = usage.with_key_agreement(ku.key_agreement());
        } else if oid == ExtendedKeyUsage::OID {
            let eku = ExtendedKeyUsage::from_der(value).map_err(bad)?;
            for purpose in &eku.0 {
                if *purpose == SERVER_AUTH {
                    if !allowed.server_auth {
                        return Err(PkiError::OutsideProfile(
                            "extendedKeyUsage asks for serverAuth, which this CA does not allow"
                                .into(),
                        ));
                    }
                    usage = usage.with_server_auth(true);
                } else if *purpose != CLIENT_AUTH {
                    return Err(PkiError::OutsideProfile(format!(
                        "extendedKeyUsage asks for {purpose}; the profile certifies clientAuth and serverAuth only"
                    )));
                }
            }
        } else if oid == BasicConstraints::OID {
            if BasicConstraints::from_der(value).map_err(bad)?.ca {
                return Err(PkiError::OutsideProfile(
                    "basicConstraints asks for a CA certificate".into(),
                ));
            }
        } else if oid == SubjectKeyIdentifier::OID {
            SubjectKeyIdentifier::from_der(value).map_err(bad)?;
        } else {
            return Err(PkiError::OutsideProfile(format!(
                "extension {oid} is not in the device profile"
            )));
        }
    }
    Ok(usage)
}
