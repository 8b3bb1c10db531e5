//! Foreign X.509 on servers (feature `x509`), on RustCrypto's `x509-cert`: certificate
//! files and PEM bundles, full distinguished names, and chains under a root that provkit
//! did not make.
//!
//! provkit's own parser ([`X509Cert`](crate::cert::X509Cert)) reads the certificates of
//! its profile and is what a device links. A backend meets other certificates too: a
//! corporate root with a long name, certificate policies and CRL distribution points, an
//! intermediate signed with SHA-384, a bundle of several PEM blocks. This module reads
//! those with `x509-cert` and checks a path from a leaf to a trust anchor
//! ([`verify_chain`]).
//!
//! # What [`verify_chain`] checks
//! A path from the leaf (`chain[0]`) through each next certificate to a trust anchor,
//! as RFC 5280 §6 describes, limited to what provkit's PKI uses:
//! - every certificate (and the anchor used) is valid at `now`;
//! - each certificate's issuer Name equals its issuer's subject Name (DER, byte for
//!   byte), and its authorityKeyIdentifier, when both are present, equals the issuer's
//!   subjectKeyIdentifier;
//! - each issuer is a CA: basicConstraints with cA (a version 1 trust anchor without
//!   extensions is accepted, as RFC 5280 allows), and keyCertSign when it has a
//!   keyUsage;
//! - each issuer's pathLenConstraint covers the CA certificates below it (self-issued
//!   ones not counted);
//! - every signature: ECDSA with SHA-256, SHA-384 or SHA-512 by a P-256 key (the digest
//!   is cut to 256 bits, as ECDSA does). Other keys (P-384, RSA, Ed25519) are refused
//!   as [`Error::Unsupported`], naming the algorithm;
//! - no certificate has a critical extension outside basicConstraints, keyUsage,
//!   extendedKeyUsage, subjectKeyIdentifier, authorityKeyIdentifier and subjectAltName:
//!   name constraints and policy processing are not implemented, so a certificate that
//!   requires them is refused. No extension may appear twice.
//!
//! It does not check revocation (CRLs, OCSP), name constraints, policies, or what the
//! leaf is for (its keyUsage and extendedKeyUsage are the caller's to read). A
//! certificate that `x509-cert` cannot re-encode byte for byte (not DER) fails its
//! signature check.
//!
//! ```
//! use provkit::cert::{self, pki, CaCert, CaName, CaProfile, DeviceRequest};
//! use provkit::store::{IdentityKeys, KeyId, MemoryStore};
//! use provkit::rng::OsRng;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // A root with a full distinguished name.
//! let mut store = MemoryStore::<2, 0, 0>::new();
//! store.generate_p256(KeyId(1), &mut OsRng)?;
//! let name = pki::name_der("CN=Example Root,OU=PKI,O=Example GmbH,L=Berlin,C=DE")?;
//! let profile = CaProfile::new(CaName::new("unused"), [1; 16], 1_700_000_000, 2_500_000_000)
//!     .with_subject_der(&name)
//!     .with_path_len(0);
//! let mut der = [0u8; 512];
//! let len = cert::create_root(&mut store, KeyId(1), &profile, &mut der)?;
//! let root = CaCert::from_der(&der[..len])?;
//!
//! // A device certificate under it, expanded to X.509, checked as a foreign chain.
//! let device_key = store.generate_p256(KeyId(2), &mut OsRng)?;
//! let request = DeviceRequest::new(7, &device_key, 1_750_000_000);
//! let compact = cert::issue_device(&mut store, KeyId(1), &root, &request)?;
//! let mut leaf = [0u8; 600];
//! let leaf_len = cert::expand(&cert::CompactCert::parse(&compact)?, root.as_issuer(), &mut leaf)?;
//!
//! let anchors = pki::read_certificates(&der[..len])?;
//! let chain = pki::read_certificates(&leaf[..leaf_len])?;
//! let path = pki::verify_chain(&anchors, &chain, 1_760_000_000)?;
//! assert_eq!(path.public_key()?, device_key);
//! assert_eq!(anchors[0].tbs_certificate().subject().to_string(),
//!            "CN=Example Root,OU=PKI,O=Example GmbH,L=Berlin,C=DE");
//! # Ok(())
//! # }
//! ```

use crate::cert::time::UnixTime;
use crate::ec::{EcPublicKey, EcdsaSignature};
use crate::error::{CertError, DecodeErrorKind, Error};
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use core::str::FromStr;
use der::asn1::BitString;
use der::oid::AssociatedOid;
use der::{Decode, Encode};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName,
    SubjectKeyIdentifier,
};
use x509_cert::name::Name;
use x509_cert::spki::{AlgorithmIdentifierOwned, ObjectIdentifier, SubjectPublicKeyInfoOwned};

/// ecdsa-with-SHA256 (RFC 5758).
pub(crate) const ECDSA_WITH_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// ecdsa-with-SHA384 (RFC 5758).
pub(crate) const ECDSA_WITH_SHA384: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
/// ecdsa-with-SHA512 (RFC 5758).
pub(crate) const ECDSA_WITH_SHA512: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
/// id-ecPublicKey (RFC 5480).
const ID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// prime256v1 / secp256r1 (RFC 5480).
const PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");

/// Which certificate an error is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertAt {
    /// `chain[i]`: 0 is the leaf.
    Chain(usize),
    /// `anchors[i]`, the trust anchor the chain reached.
    Anchor(usize),
}

impl fmt::Display for CertAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Chain(0) => write!(f, "leaf certificate"),
            Self::Chain(i) => write!(f, "certificate {i} of the chain"),
            Self::Anchor(i) => write!(f, "trust anchor {i}"),
        }
    }
}

/// Why a foreign certificate, chain or certification request was refused.
///
/// Each variant says what was wrong and, where it helps an operator, with which
/// certificate (its subject as an RFC 4514 string) and which object identifier.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PkiError {
    /// The input does not parse (DER or PEM); `what` names the input.
    Malformed {
        /// What was being read ("certificate 2 of the input", "certification request").
        what: String,
        /// The parser's message.
        detail: String,
    },
    /// A certificate failed a check: `error` is provkit's kind of failure
    /// (`Cert(Expired)`, `Cert(IssuerMismatch)`, `Cert(NotACa)`, `Cert(PathTooLong)`,
    /// `Cert(UnknownCriticalExtension)`, `Unsupported` for an algorithm provkit cannot
    /// verify, `Crypto` for a signature that does not verify, `Decode` for a duplicated
    /// extension or mismatched signature algorithms).
    Certificate {
        /// Which certificate.
        at: CertAt,
        /// Its subject, as an RFC 4514 string.
        subject: String,
        /// What failed.
        error: Error,
        /// The object identifier or field concerned, when there is one.
        detail: Option<String>,
    },
    /// No trust anchor has the subject Name that the top of the chain names as issuer
    /// (or the chain ends in a self-signed certificate that is not an anchor).
    UntrustedRoot {
        /// The issuer Name the chain needs, as an RFC 4514 string.
        issuer: String,
    },
    /// [`verify_chain`] was given no certificate.
    EmptyChain,
    /// A certification request's signature does not verify under its own public key: the
    /// sender did not prove that it holds the private key.
    ProofOfPossession,
    /// A certification request asks for something the CA's profile does not certify; the
    /// text says what.
    OutsideProfile(String),
    /// A provkit operation failed (issuing: a store error, `Cert(KeyMismatch)`).
    Provkit(Error),
}

impl fmt::Display for PkiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { what, detail } => write!(f, "{what} does not parse: {detail}"),
            Self::Certificate {
                at,
                subject,
                error,
                detail,
            } => {
                write!(f, "{at} ({subject}): {error}")?;
                match detail {
                    Some(d) => write!(f, " ({d})"),
                    None => Ok(()),
                }
            }
            Self::UntrustedRoot { issuer } => {
                write!(
                    f,
                    "no trust anchor is named {issuer:?}, the chain's last issuer"
                )
            }
            Self::EmptyChain => write!(f, "the chain holds no certificate"),
            Self::ProofOfPossession => write!(
                f,
                "the request's signature does not verify under its own public key (no proof of possession)"
            ),
            Self::OutsideProfile(what) => write!(f, "outside the CA's profile: {what}"),
            Self::Provkit(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for PkiError {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Certificate { error, .. } | Self::Provkit(error) => Some(error),
            _ => None,
        }
    }
}

impl From<Error> for PkiError {
    fn from(e: Error) -> Self {
        Self::Provkit(e)
    }
}

/// Reads certificates from a file's bytes: one DER certificate, or PEM with any number
/// of `CERTIFICATE` blocks (a bundle; text between blocks is ignored, as OpenSSL does).
///
/// # Errors
/// [`PkiError::Malformed`] naming the certificate that does not parse (or PEM with no
/// certificate at all).
pub fn read_certificates(input: &[u8]) -> Result<Vec<Certificate>, PkiError> {
    let text = trim_start(input);
    if !text.starts_with(b"-----BEGIN ") && !contains(text, b"\n-----BEGIN ") {
        return Certificate::from_der(input)
            .map(|c| alloc::vec![c])
            .map_err(|e| malformed("the DER certificate", &e));
    }
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = find(rest, b"-----BEGIN ") {
        let block = rest.get(start..).unwrap_or_default();
        let what = alloc::format!("PEM block {} of the input", out.len() + 1);
        let end = find(block, b"-----END ")
            .and_then(|e| {
                let after = block.get(e + 9..)?;
                let close = find(after, b"-----")?;
                Some(e + 9 + close + 5)
            })
            .ok_or_else(|| PkiError::Malformed {
                what: what.clone(),
                detail: "no END line".into(),
            })?;
        let pem = block.get(..end).unwrap_or_default();
        let (label, der) = der::pem::decode_vec(pem).map_err(|e| PkiError::Malformed {
            what: what.clone(),
            detail: e.to_string(),
        })?;
        if label != "CERTIFICATE" {
            return Err(PkiError::Malformed {
                what,
                detail: alloc::format!("PEM holds a {label}, not a CERTIFICATE"),
            });
        }
        out.push(Certificate::from_der(&der).map_err(|e| malformed(&what, &e))?);
        rest = block.get(end..).unwrap_or_default();
    }
    if out.is_empty() {
        return Err(PkiError::Malformed {
            what: "the input".into(),
            detail: "no PEM CERTIFICATE block".into(),
        });
    }
    Ok(out)
}

fn trim_start(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|c| c.is_ascii_whitespace()).count();
    b.get(n..).unwrap_or_default()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle).is_some()
}

fn malformed(what: &str, e: &der::Error) -> PkiError {
    PkiError::Malformed {
        what: what.into(),
        detail: e.to_string(),
    }
}

/// A Name from an RFC 4514 string, DER-encoded: the subject of a CA certificate with a
/// full distinguished name ([`CaProfile::with_subject_der`](crate::cert::CaProfile::with_subject_der)).
///
/// The string lists the most specific attribute first, as RFC 4514 does
/// (`"CN=Example Root,O=Example GmbH,C=DE"` encodes C, then O, then CN). Attribute
/// values are UTF8Strings, countryName a PrintableString. Attribute types other than
/// the named ones (CN, L, ST, O, OU, C, STREET, DC, UID) are written as dotted OIDs
/// with a `#`-hex value.
///
/// # Errors
/// [`PkiError::Malformed`] for a string that is not an RFC 4514 name.
///
/// ```
/// let der = provkit::cert::pki::name_der("CN=Example Root,O=Example GmbH,C=DE")?;
/// assert_eq!(der[0], 0x30);
/// # Ok::<(), provkit::cert::pki::PkiError>(())
/// ```
pub fn name_der(rfc4514: &str) -> Result<Vec<u8>, PkiError> {
    let what = || alloc::format!("the name {rfc4514:?}");
    let name = Name::from_str(rfc4514).map_err(|e| malformed(&what(), &e))?;
    if name.is_empty() {
        return Err(PkiError::Malformed {
            what: what(),
            detail: "empty name".into(),
        });
    }
    name.to_der().map_err(|e| malformed(&what(), &e))
}

/// A path that [`verify_chain`] accepted.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct VerifiedChain {
    /// Index in `anchors` of the trust anchor the chain reached.
    pub anchor: usize,
    /// The leaf's subject.
    pub subject: Name,
    /// The leaf's SubjectPublicKeyInfo.
    pub public_key_info: SubjectPublicKeyInfoOwned,
}

impl VerifiedChain {
    /// The leaf's key as a provkit P-256 key.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a leaf key that is not P-256.
    pub fn public_key(&self) -> Result<EcPublicKey, Error> {
        p256_key(&self.public_key_info)
    }
}

/// Checks a path from `chain[0]` (the leaf) through `chain[1..]` (its issuers, in
/// order) to one of `anchors`, at `now`: see the module documentation for what is
/// checked. The chain may end with the anchor itself.
///
/// # Errors
/// [`PkiError::EmptyChain`]; [`PkiError::Certificate`] naming the certificate and what
/// failed; [`PkiError::UntrustedRoot`] when no anchor issued the chain's top.
pub fn verify_chain(
    anchors: &[Certificate],
    chain: &[Certificate],
    now: UnixTime,
) -> Result<VerifiedChain, PkiError> {
    let leaf = chain.first().ok_or(PkiError::EmptyChain)?;
    // The path stops at the first certificate that is itself an anchor.
    let stop = chain
        .iter()
        .enumerate()
        .find_map(|(i, c)| Some((i, anchors.iter().position(|a| a == c)?)));
    let path = chain
        .get(..stop.map_or(chain.len(), |(i, _)| i))
        .unwrap_or_default();
    let mut facts = Vec::with_capacity(path.len());
    for (i, cert) in path.iter().enumerate() {
        facts.push(Facts::of(cert, CertAt::Chain(i), now)?);
    }
    // CA certificates between the leaf and `path[i]`, self-issued ones not counted.
    let below = |i: usize| {
        (1..i)
            .filter(|&k| facts.get(k).is_some_and(|f| !f.self_issued))
            .count()
    };
    for i in 1..path.len() {
        let (Some(child), Some(issuer), Some(issuer_facts)) =
            (path.get(i - 1), path.get(i), facts.get(i))
        else {
            break;
        };
        check_issued(child, CertAt::Chain(i - 1), issuer, issuer_facts, below(i))?;
    }
    let Some(top) = path.last() else {
        // The leaf is itself a trust anchor.
        let a = stop.map_or(0, |(_, a)| a);
        Facts::of(leaf, CertAt::Anchor(a), now)?;
        return Ok(VerifiedChain::of(a, leaf));
    };
    let top_at = CertAt::Chain(path.len() - 1);
    let wanted = top.tbs_certificate().issuer();
    let candidates: Vec<usize> = match stop {
        Some((_, a)) => alloc::vec![a],
        None => (0..anchors.len())
            .filter(|&a| {
                anchors
                    .get(a)
                    .is_some_and(|c| c.tbs_certificate().subject() == wanted)
            })
            .collect(),
    };
    let mut failure = None;
    for a in candidates {
        let Some(anchor) = anchors.get(a) else {
            continue;
        };
        let result = Facts::of(anchor, CertAt::Anchor(a), now)
            .and_then(|f| check_issued(top, top_at, anchor, &f, below(path.len())));
        match result {
            Ok(()) => return Ok(VerifiedChain::of(a, leaf)),
            Err(e) => failure = failure.or(Some(e)),
        }
    }
    Err(failure.unwrap_or_else(|| PkiError::UntrustedRoot {
        issuer: wanted.to_string(),
    }))
}

impl VerifiedChain {
    fn of(anchor: usize, leaf: &Certificate) -> Self {
        let tbs = leaf.tbs_certificate();
        Self {
            anchor,
            subject: tbs.subject().clone(),
            public_key_info: tbs.subject_public_key_info().clone(),
        }
    }
}

/// What the path checks need from one certificate, read once.
struct Facts {
    at: CertAt,
    subject: String,
    /// basicConstraints `(cA, pathLenConstraint)`, if present.
    basic: Option<(bool, Option<u8>)>,
    /// keyUsage allows keyCertSign (or there is no keyUsage).
    may_sign_certs: bool,
    /// A version 1 certificate with no extensions (accepted as a trust anchor only).
    v1: bool,
    key_id: Option<Vec<u8>>,
    self_issued: bool,
}

/// Extensions the path checks process, so they may be critical.
const UNDERSTOOD: [ObjectIdentifier; 6] = [
    <BasicConstraints as AssociatedOid>::OID,
    <KeyUsage as AssociatedOid>::OID,
    <ExtendedKeyUsage as AssociatedOid>::OID,
    <SubjectKeyIdentifier as AssociatedOid>::OID,
    <AuthorityKeyIdentifier as AssociatedOid>::OID,
    <SubjectAltName as AssociatedOid>::OID,
];

impl Facts {
    fn of(cert: &Certificate, at: CertAt, now: UnixTime) -> Result<Self, PkiError> {
        let tbs = cert.tbs_certificate();
        let subject = tbs.subject().to_string();
        let fail = |error: Error, detail: Option<String>| PkiError::Certificate {
            at,
            subject: subject.clone(),
            error,
            detail,
        };
        let validity = tbs.validity();
        let not_before = validity.not_before.to_unix_duration().as_secs();
        let not_after = validity.not_after.to_unix_duration().as_secs();
        if now < not_before {
            return Err(fail(CertError::NotYetValid.into(), None));
        }
        if now > not_after {
            return Err(fail(CertError::Expired.into(), None));
        }
        let extensions = tbs.extensions().map(|e| e.as_slice()).unwrap_or_default();
        for (i, ext) in extensions.iter().enumerate() {
            let oid = ext.extn_id;
            if extensions
                .iter()
                .skip(i + 1)
                .any(|other| other.extn_id == oid)
            {
                return Err(fail(
                    Error::decode(DecodeErrorKind::InvalidValue, 0),
                    Some(alloc::format!("extension {oid} appears twice")),
                ));
            }
            if ext.critical && !UNDERSTOOD.contains(&oid) {
                return Err(fail(
                    CertError::UnknownCriticalExtension.into(),
                    Some(alloc::format!("extension {oid}")),
                ));
            }
        }
        let decode = |what: &str, e: der::Error| {
            fail(
                Error::decode(DecodeErrorKind::InvalidValue, 0),
                Some(alloc::format!("{what}: {e}")),
            )
        };
        let basic = tbs
            .get_extension::<BasicConstraints>()
            .map_err(|e| decode("basicConstraints", e))?
            .map(|(_, b)| (b.ca, b.path_len_constraint));
        let may_sign_certs = tbs
            .get_extension::<KeyUsage>()
            .map_err(|e| decode("keyUsage", e))?
            .is_none_or(|(_, ku)| ku.key_cert_sign());
        let key_id = tbs
            .get_extension::<SubjectKeyIdentifier>()
            .map_err(|e| decode("subjectKeyIdentifier", e))?
            .map(|(_, k)| k.0.as_bytes().to_vec());
        tbs.get_extension::<AuthorityKeyIdentifier>()
            .map_err(|e| decode("authorityKeyIdentifier", e))?;
        Ok(Self {
            at,
            basic,
            may_sign_certs,
            v1: tbs.version() == x509_cert::Version::V1 && extensions.is_empty(),
            key_id,
            self_issued: tbs.issuer() == tbs.subject(),
            subject,
        })
    }

    fn fail(&self, error: Error, detail: Option<String>) -> PkiError {
        PkiError::Certificate {
            at: self.at,
            subject: self.subject.clone(),
            error,
            detail,
        }
    }
}

/// Checks that `issuer` (whose facts are `facts`, with `below` CA certificates under
/// it in the path) issued `child`.
fn check_issued(
    child: &Certificate,
    child_at: CertAt,
    issuer: &Certificate,
    facts: &Facts,
    below: usize,
) -> Result<(), PkiError> {
    let child_tbs = child.tbs_certificate();
    let child_fail = |error: Error, detail: Option<String>| PkiError::Certificate {
        at: child_at,
        subject: child_tbs.subject().to_string(),
        error,
        detail,
    };
    if child_tbs.issuer() != issuer.tbs_certificate().subject() {
        return Err(child_fail(
            CertError::IssuerMismatch.into(),
            Some(alloc::format!("issued by {}", child_tbs.issuer())),
        ));
    }
    let child_aki = child_tbs
        .get_extension::<AuthorityKeyIdentifier>()
        .ok()
        .flatten()
        .and_then(|(_, a)| a.key_identifier.map(|k| k.as_bytes().to_vec()));
    if let (Some(aki), Some(ski)) = (&child_aki, &facts.key_id) {
        if aki != ski {
            return Err(child_fail(
                CertError::IssuerMismatch.into(),
                Some("authorityKeyIdentifier is not the issuer's key id".into()),
            ));
        }
    }
    let trusted_v1 = facts.v1 && matches!(facts.at, CertAt::Anchor(_));
    match facts.basic {
        Some((true, path_len)) => {
            if path_len.is_some_and(|n| usize::from(n) < below) {
                return Err(facts.fail(
                    CertError::PathTooLong.into(),
                    Some(alloc::format!(
                        "pathLenConstraint {} with {below} CA certificates below",
                        path_len.unwrap_or_default()
                    )),
                ));
            }
        }
        _ if trusted_v1 => {}
        _ => {
            return Err(facts.fail(
                CertError::NotACa.into(),
                Some("no basicConstraints cA".into()),
            ));
        }
    }
    if !facts.may_sign_certs {
        return Err(facts.fail(
            CertError::NotACa.into(),
            Some("keyUsage lacks keyCertSign".into()),
        ));
    }
    let message = child_tbs.to_der().map_err(|e| {
        child_fail(
            Error::decode(DecodeErrorKind::InvalidValue, 0),
            Some(e.to_string()),
        )
    })?;
    if child.signature_algorithm() != child_tbs.signature() {
        return Err(child_fail(
            Error::decode(DecodeErrorKind::InvalidValue, 0),
            Some("signatureAlgorithm differs from the TBSCertificate's signature field".into()),
        ));
    }
    verify_signature(
        child.signature_algorithm(),
        issuer.tbs_certificate().subject_public_key_info(),
        &message,
        child.signature(),
    )
    .map_err(|(error, detail)| child_fail(error, detail))
}

/// Verifies an X.509 or PKCS#10 signature: `algorithm` over `message` by the key in
/// `key`. Errors carry the object identifier that provkit cannot verify.
pub(crate) fn verify_signature(
    algorithm: &AlgorithmIdentifierOwned,
    key: &SubjectPublicKeyInfoOwned,
    message: &[u8],
    signature: &BitString,
) -> Result<(), (Error, Option<String>)> {
    use sha2::Digest;
    if algorithm.parameters.is_some() {
        return Err((
            Error::decode(DecodeErrorKind::InvalidValue, 0),
            Some(alloc::format!(
                "parameters with signature algorithm {}",
                algorithm.oid
            )),
        ));
    }
    let digest: [u8; 32] = match algorithm.oid {
        ECDSA_WITH_SHA256 => sha2::Sha256::digest(message).into(),
        // ECDSA takes the leftmost 256 bits of a longer digest (SEC 1 §4.1.4, FIPS 186-5).
        ECDSA_WITH_SHA384 => truncate(&sha2::Sha384::digest(message)),
        ECDSA_WITH_SHA512 => truncate(&sha2::Sha512::digest(message)),
        other => {
            return Err((
                Error::Unsupported,
                Some(alloc::format!("signature algorithm {other}")),
            ));
        }
    };
    let key = p256_key(key).map_err(|e| {
        (
            e,
            Some(alloc::format!(
                "issuer key algorithm {}{}",
                key.algorithm.oid,
                key.algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                    .map(|c| alloc::format!(" on {c}"))
                    .unwrap_or_default()
            )),
        )
    })?;
    let der = signature
        .as_bytes()
        .ok_or((Error::decode(DecodeErrorKind::InvalidValue, 0), None))?;
    let signature =
        EcdsaSignature::from_der(der).map_err(|e| (e, Some("signature value".into())))?;
    key.verify_digest(&digest, &signature)
        .map_err(|e| (e, None))
}

fn truncate(digest: &[u8]) -> [u8; 32] {
    digest.first_chunk::<32>().copied().unwrap_or([0; 32])
}

/// A SubjectPublicKeyInfo's key, if it is a P-256 key.
pub(crate) fn p256_key(spki: &SubjectPublicKeyInfoOwned) -> Result<EcPublicKey, Error> {
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    if spki.algorithm.oid != ID_EC_PUBLIC_KEY || curve != Some(PRIME256V1) {
        return Err(Error::Unsupported);
    }
    let point = spki
        .subject_public_key
        .as_bytes()
        .ok_or(Error::decode(DecodeErrorKind::InvalidPoint, 0))?;
    EcPublicKey::from_sec1(point)
}
