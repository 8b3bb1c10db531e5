//! Certificate authorities: CA certificates (creation and parsing) and device issuance.
//!
//! Every signature goes through [`IdentityKeys`]: the CA key may live in an HSM, and
//! the CA never sees a device private key — a device sends only its public key.

use crate::cert::compact::{COMPACT_LEN, CompactFields, DeviceUsage, unix_to_day};
use crate::cert::compact_ca::{COMPACT_CA_MAX_LEN, CompactCa, CompactCaFields};
use crate::cert::der::{Compare, Der, Reader, Sink, SliceSink, Template, tag};
use crate::cert::template::{IssuerRef, Profile, SubjectName, Tbs, write_certificate};
use crate::cert::time::UnixTime;
use crate::cert::x509::{X509Cert, key_usage, oid};
use crate::ec::EcPublicKey;
use crate::error::{CertError, DecodeErrorKind, Error, Result};
use crate::provider::{CryptoProvider, RustCrypto};
use crate::store::{IdentityKeys, KeyId};

/// The subject of a CA certificate: `O=<organization>, CN=<common name>` as UTF8Strings.
///
/// Built with [`new`](Self::new) and [`with_organization`](Self::with_organization)
/// (`#[non_exhaustive]`: other attributes may follow).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CaName<'a> {
    /// organizationName, if any.
    pub organization: Option<&'a str>,
    /// commonName.
    pub common_name: &'a str,
}

impl<'a> CaName<'a> {
    /// `CN=<common_name>`, without an organization.
    #[must_use]
    pub const fn new(common_name: &'a str) -> Self {
        Self {
            organization: None,
            common_name,
        }
    }

    /// The same name with `O=<organization>` before the common name.
    #[must_use]
    pub const fn with_organization(mut self, organization: &'a str) -> Self {
        self.organization = Some(organization);
        self
    }
}

impl Template for CaName<'_> {
    fn der(&self, w: &mut Der<'_>) {
        w.open(tag::SEQUENCE);
        if let Some(o) = self.organization {
            rdn(w, oid::ORGANIZATION, o);
        }
        rdn(w, oid::COMMON_NAME, self.common_name);
        w.close();
    }
}

/// A RelativeDistinguishedName of one UTF8String attribute.
fn rdn(w: &mut Der<'_>, id: &[u8], value: &str) {
    w.open(tag::SET);
    w.open(tag::SEQUENCE);
    w.prim(tag::OID, id);
    w.prim(tag::UTF8_STRING, value.as_bytes());
    w.close_n(2);
}

/// What to put in a new CA certificate.
///
/// Built with [`new`](Self::new) and [`with_path_len`](Self::with_path_len)
/// (`#[non_exhaustive]`: more certificate options may follow):
///
/// ```
/// use provkit::cert::{CaName, CaProfile};
///
/// let name = CaName::new("Example Root").with_organization("Example");
/// let profile = CaProfile::new(name, [1; 16], 1_700_000_000, 2_500_000_000).with_path_len(0);
/// assert_eq!(profile.path_len, Some(0));
/// ```
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct CaProfile<'a> {
    /// Subject name.
    pub name: CaName<'a>,
    /// Certificate serial (16 bytes; pass random bytes). The top bit is cleared so the
    /// INTEGER is positive.
    pub serial: [u8; 16],
    /// Start of validity.
    pub not_before: UnixTime,
    /// End of validity.
    pub not_after: UnixTime,
    /// basicConstraints pathLenConstraint: `Some(0)` for a CA that signs only devices.
    pub path_len: Option<u8>,
    /// A full subject Name, DER-encoded (tag and length included), written instead of
    /// [`name`](Self::name): see [`with_subject_der`](Self::with_subject_der).
    pub subject_der: Option<&'a [u8]>,
}

impl<'a> CaProfile<'a> {
    /// A CA named `name` with certificate serial `serial`, valid from `not_before` to
    /// `not_after`, and no path length constraint.
    #[must_use]
    pub const fn new(
        name: CaName<'a>,
        serial: [u8; 16],
        not_before: UnixTime,
        not_after: UnixTime,
    ) -> Self {
        Self {
            name,
            serial,
            not_before,
            not_after,
            path_len: None,
            subject_der: None,
        }
    }

    /// The same profile with pathLenConstraint `path_len`: 0 for a CA that signs only
    /// devices.
    #[must_use]
    pub const fn with_path_len(mut self, path_len: u8) -> Self {
        self.path_len = Some(path_len);
        self
    }

    /// The same profile with a full distinguished name as the subject: `subject_der` is a
    /// DER Name (any attributes, in the order given), copied verbatim into the
    /// certificate in place of [`name`](Self::name). Servers build one from an RFC 4514
    /// string with [`pki::name_der`](crate::cert::pki::name_der) (feature `x509`). A
    /// compact CA certificate holds a name of up to 255 content bytes; a longer one
    /// makes a certificate that only exists as DER.
    ///
    /// ```
    /// use provkit::cert::{self, CaCert, CaName, CaProfile};
    /// use provkit::store::{IdentityKeys, KeyId, MemoryStore};
    ///
    /// # fn main() -> provkit::Result<()> {
    /// let mut store = MemoryStore::<1, 0, 0>::new();
    /// store.generate_p256(KeyId(1), &mut provkit::rng::OsRng)?;
    /// // C=DE, O=Example, CN=Example Root: SEQUENCE of three RDNs.
    /// let name: &[u8] = &[
    ///     0x30, 0x36, 0x31, 0x0b, 0x30, 0x09, 0x06, 0x03, 0x55, 0x04, 0x06, 0x13, 0x02,
    ///     b'D', b'E', 0x31, 0x10, 0x30, 0x0e, 0x06, 0x03, 0x55, 0x04, 0x0a, 0x0c, 0x07,
    ///     b'E', b'x', b'a', b'm', b'p', b'l', b'e', 0x31, 0x15, 0x30, 0x13, 0x06, 0x03,
    ///     0x55, 0x04, 0x03, 0x0c, 0x0c, b'E', b'x', b'a', b'm', b'p', b'l', b'e', b' ',
    ///     b'R', b'o', b'o', b't',
    /// ];
    /// let profile = CaProfile::new(CaName::new("unused"), [1; 16], 1_700_000_000, 2_500_000_000)
    ///     .with_subject_der(name);
    /// let mut der = [0u8; 512];
    /// let len = cert::create_root(&mut store, KeyId(1), &profile, &mut der)?;
    /// assert_eq!(CaCert::from_der(&der[..len])?.subject_name(), name);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub const fn with_subject_der(mut self, subject_der: &'a [u8]) -> Self {
        self.subject_der = Some(subject_der);
        self
    }

    /// The subject to write: the DER name if one was given (checked to be a Name),
    /// otherwise the built one.
    fn subject(&self) -> Result<SubjectName<'_>> {
        match self.subject_der {
            Some(der) => {
                check_name(der)?;
                Ok(SubjectName::Der(der))
            }
            None => Ok(SubjectName::Built(&self.name)),
        }
    }
}

/// Checks that `der` is one X.501 Name: a SEQUENCE of non-empty SETs of
/// AttributeTypeAndValue (an OBJECT IDENTIFIER and one value of any type).
fn check_name(der: &[u8]) -> Result<()> {
    let mut outer = Reader::new(der);
    let (mut rdns, _) = outer.read(tag::SEQUENCE)?;
    outer.finish()?;
    while !rdns.is_empty() {
        let (mut rdn, _) = rdns.read(tag::SET)?;
        if rdn.is_empty() {
            return Err(rdn.err(DecodeErrorKind::InvalidValue));
        }
        while !rdn.is_empty() {
            let (mut atv, _) = rdn.read(tag::SEQUENCE)?;
            atv.value(tag::OID)?;
            match atv.peek_tag() {
                Some(t) => drop(atv.read(t)?),
                None => return Err(atv.err(DecodeErrorKind::Truncated)),
            }
            atv.finish()?;
        }
    }
    Ok(())
}

/// What a device certificate certifies: the device's public key (the device sends only
/// that), its serial, when it is issued and what for. The CA side is the rest of
/// [`issue_device`]'s arguments.
///
/// Built with [`new`](Self::new) and [`with_usage`](Self::with_usage)
/// (`#[non_exhaustive]`: more fields may follow).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeviceRequest {
    /// Device serial (non-zero): the X.509 serialNumber and subject serialNumber.
    pub serial: u64,
    /// The device's public key.
    pub public_key: EcPublicKey,
    /// Issue time, rounded down to its day (the certificate's notBefore).
    pub issued_at: UnixTime,
    /// Certified usages beyond signature and TLS client authentication.
    pub usage: DeviceUsage,
}

impl DeviceRequest {
    /// A request to certify `public_key` as device `serial`, issued at `issued_at`, for
    /// [`DeviceUsage::SIGN_ONLY`].
    #[must_use]
    pub const fn new(serial: u64, public_key: &EcPublicKey, issued_at: UnixTime) -> Self {
        Self {
            serial,
            public_key: *public_key,
            issued_at,
            usage: DeviceUsage::SIGN_ONLY,
        }
    }

    /// The same request for `usage`.
    #[must_use]
    pub const fn with_usage(mut self, usage: DeviceUsage) -> Self {
        self.usage = usage;
        self
    }
}

/// A CA certificate that passed the checks a certificate issuer needs: X.509 v3 with a
/// P-256 key, basicConstraints cA, keyUsage keyCertSign and a subjectKeyIdentifier.
///
/// It comes either as DER ([`from_der`](Self::from_der): any issuer's) or as a compact
/// CA certificate ([`from_compact`](Self::from_compact): this crate's CA profile, 136 to
/// 392 bytes), which is how a device holds its root and intermediate: a firmware that
/// only calls `from_compact` links no X.509 parser. Both forms verify, issue and expand
/// alike, and convert into each other byte-exactly ([`write_compact`](Self::write_compact),
/// [`write_der`](Self::write_der)).
///
/// ```
/// use provkit::cert::{self, CaCert, CaName, CaProfile, COMPACT_CA_MAX_LEN};
/// use provkit::store::{IdentityKeys, KeyId, MemoryStore};
/// use provkit::rng::OsRng;
///
/// # fn main() -> provkit::Result<()> {
/// let mut ca_store = MemoryStore::<1, 0, 0>::new();
/// ca_store.generate_p256(KeyId(1), &mut OsRng)?;
/// let name = CaName::new("Example Root").with_organization("Example");
/// let profile = CaProfile::new(name, [1; 16], 1_700_000_000, 2_500_000_000).with_path_len(0);
/// let mut der = [0u8; 512];
/// let der_len = cert::create_root(&mut ca_store, KeyId(1), &profile, &mut der)?;
/// let root = CaCert::from_der(&der[..der_len])?;
///
/// // What goes into the device's firmware image:
/// let mut compact = [0u8; COMPACT_CA_MAX_LEN];
/// let compact_len = root.write_compact(&mut compact)?;
/// assert!(compact_len < der_len / 2);
///
/// // On the device, and back to the very same DER anywhere:
/// let on_device = CaCert::from_compact(&compact[..compact_len])?;
/// let mut again = [0u8; 512];
/// let n = on_device.write_der(&on_device, &mut again)?;
/// assert_eq!(&again[..n], &der[..der_len]);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CaCert<'a> {
    form: Form<'a>,
}

#[derive(Clone, Copy, Debug)]
enum Form<'a> {
    Der {
        cert: X509Cert<'a>,
        key_id: &'a [u8],
    },
    Compact(CompactCa<'a>),
}

impl<'a> CaCert<'a> {
    /// Parses and checks a CA certificate (any issuer's, not only this crate's).
    ///
    /// Does not verify its signature: that is the chain's job ([`verify_ca`]).
    ///
    /// # Errors
    /// `Decode` for malformed DER; `Cert(NotACa)` without cA, keyCertSign or SKI.
    pub fn from_der(der: &'a [u8]) -> Result<Self> {
        let cert = X509Cert::from_der(der)?;
        let ext = cert.extensions();
        let is_ca = matches!(ext.basic_constraints, Some((true, _)));
        let can_sign = ext
            .key_usage
            .is_some_and(|ku| ku & key_usage::KEY_CERT_SIGN != 0);
        match ext.subject_key_id {
            Some(key_id) if is_ca && can_sign && key_id.len() >= 4 => Ok(Self {
                form: Form::Der { cert, key_id },
            }),
            _ => Err(CertError::NotACa.into()),
        }
    }

    /// Parses a compact CA certificate (layout in `docs/cert-format.md`); decompresses
    /// its key. Does not verify its signature: that is the chain's job ([`verify_ca`]).
    ///
    /// # Errors
    /// `Decode` with `Truncated`, `TrailingData`, `UnknownVersion`, `UnexpectedTag` or
    /// `InvalidLength` (subject Name), `InvalidValue` (serial, pathLen, a time after
    /// 9999, a self-signed certificate naming another key, or a high-S signature, at
    /// offset 102) or `InvalidPoint`.
    pub fn from_compact(bytes: &'a [u8]) -> Result<Self> {
        Self::from_compact_on::<RustCrypto>(bytes)
    }

    /// [`from_compact`](Self::from_compact), the key decompressed on the provider `P`
    /// (a firmware on a Cortex-M4 passes `provkit_cm4::Cm4`: 0.04 M instructions instead
    /// of 0.54 M).
    ///
    /// # Errors
    /// As [`from_compact`](Self::from_compact).
    pub fn from_compact_on<P: CryptoProvider>(bytes: &'a [u8]) -> Result<Self> {
        Ok(Self {
            form: Form::Compact(CompactCa::parse_on::<P>(bytes)?),
        })
    }

    /// The underlying X.509 certificate, when this was parsed from DER.
    #[must_use]
    pub const fn x509(&self) -> Option<&X509Cert<'a>> {
        match &self.form {
            Form::Der { cert, .. } => Some(cert),
            Form::Compact(_) => None,
        }
    }

    /// The CA's public key.
    #[must_use]
    pub const fn public_key(&self) -> &EcPublicKey {
        match &self.form {
            Form::Der { cert, .. } => cert.public_key(),
            Form::Compact(c) => c.public_key(),
        }
    }

    fn key_id(&self) -> &[u8] {
        match &self.form {
            Form::Der { key_id, .. } => key_id,
            Form::Compact(c) => c.key_id(),
        }
    }

    /// The subject Name, DER.
    #[must_use]
    pub fn subject_name(&self) -> &'a [u8] {
        match &self.form {
            Form::Der { cert, .. } => cert.subject_name(),
            Form::Compact(c) => c.name(),
        }
    }

    /// The first 4 bytes of the subjectKeyIdentifier, as compact certificates name it.
    #[must_use]
    pub fn short_key_id(&self) -> [u8; 4] {
        self.key_id().first_chunk().copied().unwrap_or([0; 4])
    }

    /// How this CA appears in certificates it issues.
    #[must_use]
    pub fn as_issuer(&self) -> IssuerRef<'_> {
        IssuerRef {
            name: self.subject_name(),
            key_id: self.key_id(),
        }
    }

    /// pathLenConstraint, if any.
    #[must_use]
    pub fn path_len(&self) -> Option<u8> {
        match &self.form {
            Form::Der { cert, .. } => cert.extensions().basic_constraints.and_then(|(_, n)| n),
            Form::Compact(c) => c.path_len(),
        }
    }

    /// notBefore and notAfter.
    #[must_use]
    pub fn validity(&self) -> (UnixTime, UnixTime) {
        match &self.form {
            Form::Der { cert, .. } => (cert.not_before(), cert.not_after()),
            Form::Compact(c) => (c.not_before(), c.not_after()),
        }
    }

    /// Writes the compact form into `out` (at most [`COMPACT_CA_MAX_LEN`] bytes); returns
    /// its length. A DER certificate converts only if it is in this crate's CA profile:
    /// the compact result is re-expanded and compared with the DER byte for byte.
    ///
    /// # Errors
    /// `Decode(OutsideProfile)` at the first byte where the DER departs from the profile
    /// (a foreign CA: other extensions, name longer than 255 bytes, SHA-1 key ids, a
    /// high-S signature, ...);
    /// [`Error::BufferTooSmall`].
    pub fn write_compact(&self, out: &mut [u8]) -> Result<usize> {
        let (x, key_id) = match &self.form {
            Form::Compact(c) => {
                let raw = c.as_bytes();
                out.get_mut(..raw.len())
                    .ok_or(Error::buffer_too_small(raw.len()))?
                    .copy_from_slice(raw);
                return Ok(raw.len());
            }
            Form::Der { cert, key_id } => (cert, *key_id),
        };
        let outside = Error::decode(DecodeErrorKind::OutsideProfile, 0);
        // A compact certificate has one encoding: a high-S signature (`s` is then the
        // last 32 bytes of the DER) has no compact form.
        if !x.signature().is_low_s() {
            return Err(Error::decode(
                DecodeErrorKind::OutsideProfile,
                x.der().len().saturating_sub(32),
            ));
        }
        let aki = x.extensions().authority_key_id;
        let self_signed = aki.is_none() && x.issuer_name() == x.subject_name();
        let issuer = IssuerRef {
            name: x.issuer_name(),
            key_id: if self_signed {
                key_id
            } else {
                aki.ok_or(outside)?
            },
        };
        let fields = CompactCaFields {
            self_signed,
            path_len: self.path_len(),
            serial: x.serial().try_into().map_err(|_| outside)?,
            not_before: x.not_before(),
            not_after: x.not_after(),
            issuer_key_id: issuer
                .key_id
                .get(..4)
                .ok_or(outside)?
                .try_into()
                .map_err(|_| outside)?,
            public_key: *x.public_key(),
            signature: *x.signature(),
            name: x.subject_name(),
        };
        let mut buf = [0u8; COMPACT_CA_MAX_LEN];
        let len = fields.encode(&mut buf).map_err(|_| outside)?;
        let compact = CompactCa::parse(buf.get(..len).ok_or(outside)?).map_err(|_| outside)?;
        let mut cmp = Compare::new(x.der());
        let tbs = compact.tbs(issuer);
        write_certificate(&mut cmp, &tbs, &compact.signature());
        cmp.finish()?;
        out.get_mut(..len)
            .ok_or(Error::buffer_too_small(len))?
            .copy_from_slice(buf.get(..len).ok_or(outside)?);
        Ok(len)
    }

    /// Writes the X.509 DER certificate into `out`; returns its length. A compact
    /// certificate expands under `issuer` (pass the certificate itself for a root); a DER
    /// one is copied.
    ///
    /// # Errors
    /// `Cert(IssuerMismatch)` if `issuer`'s key id is not the one the compact certificate
    /// names; [`Error::BufferTooSmall`].
    pub fn write_der(&self, issuer: &CaCert<'_>, out: &mut [u8]) -> Result<usize> {
        let mut sink = SliceSink::new(out);
        match &self.form {
            Form::Der { cert, .. } => sink.put(cert.der()),
            Form::Compact(c) => {
                let tbs = compact_tbs(c, issuer)?;
                write_certificate(&mut sink, &tbs, &c.signature());
            }
        }
        sink.finish()
    }

    /// Checks `not_before <= now <= not_after`.
    ///
    /// # Errors
    /// `Cert(NotYetValid)` or `Cert(Expired)`.
    pub fn check_validity(&self, now: UnixTime) -> Result<()> {
        let (not_before, not_after) = self.validity();
        if now < not_before {
            Err(CertError::NotYetValid.into())
        } else if now > not_after {
            Err(CertError::Expired.into())
        } else {
            Ok(())
        }
    }
}

/// The TBSCertificate of a compact CA certificate issued by `issuer` (a self-signed one
/// is its own issuer: the template then takes nothing from `issuer`).
fn compact_tbs<'t>(c: &'t CompactCa<'_>, issuer: &'t CaCert<'_>) -> Result<Tbs<'t>> {
    if c.issuer_key_id() != issuer.short_key_id() {
        return Err(CertError::IssuerMismatch.into());
    }
    Ok(c.tbs(issuer.as_issuer()))
}

/// Verifies that `issuer` signed `ca`, names match, `ca` is valid at `now`, and the
/// issuer's path length allows one more CA below it.
///
/// # Errors
/// `Cert(IssuerMismatch)`, `Cert(PathTooLong)`, `Cert(NotYetValid|Expired)`, `Crypto`.
pub fn verify_ca(issuer: &CaCert<'_>, ca: &CaCert<'_>, now: UnixTime) -> Result<()> {
    verify_ca_on::<RustCrypto>(issuer, ca, now)
}

/// [`verify_ca`] with the signature checked on the provider `P`.
pub(crate) fn verify_ca_on<P: CryptoProvider>(
    issuer: &CaCert<'_>,
    ca: &CaCert<'_>,
    now: UnixTime,
) -> Result<()> {
    if let Form::Der { cert: x, .. } = &ca.form {
        if x.issuer_name() != issuer.subject_name() {
            return Err(CertError::IssuerMismatch.into());
        }
        if let Some(aki) = x.extensions().authority_key_id {
            if aki != issuer.key_id() {
                return Err(CertError::IssuerMismatch.into());
            }
        }
    }
    if issuer.path_len() == Some(0) {
        return Err(CertError::PathTooLong.into());
    }
    ca.check_validity(now)?;
    match &ca.form {
        Form::Der { cert, .. } => cert.verify_signature_on::<P>(issuer.public_key()),
        Form::Compact(c) => issuer
            .public_key()
            .verify_digest_on::<P>(&compact_tbs(c, issuer)?.digest(), &c.signature()),
    }
}

fn check_key<S: IdentityKeys + ?Sized>(
    store: &mut S,
    key: KeyId,
    expected: &EcPublicKey,
) -> Result<()> {
    if store.public_key(key)? == *expected {
        Ok(())
    } else {
        Err(CertError::KeyMismatch.into())
    }
}

fn sign_ca<S: IdentityKeys + ?Sized>(
    store: &mut S,
    key: KeyId,
    tbs: &Tbs<'_>,
    out: &mut [u8],
) -> Result<usize> {
    let signature = crate::store::sign_low_s(store, key, &tbs.digest())?;
    let mut sink = SliceSink::new(out);
    write_certificate(&mut sink, tbs, &signature);
    sink.finish()
}

fn positive(mut serial: [u8; 16]) -> [u8; 16] {
    if let Some(first) = serial.first_mut() {
        *first = (*first & 0x7f) | 0x40; // positive, and a fixed 16-byte length
    }
    serial
}

/// Creates a self-signed root CA certificate for the P-256 key `key` in `store`;
/// writes its DER to `out` and returns the length.
///
/// # Errors
/// Store errors; [`Error::BufferTooSmall`] (about 400 bytes are needed).
pub fn create_root<S: IdentityKeys + ?Sized>(
    store: &mut S,
    key: KeyId,
    profile: &CaProfile<'_>,
    out: &mut [u8],
) -> Result<usize> {
    let public = store.public_key(key)?;
    let tbs = Tbs {
        serial: &positive(profile.serial),
        issuer: IssuerRef {
            name: &[],
            key_id: &[],
        },
        validity: (profile.not_before, profile.not_after),
        subject: profile.subject()?,
        key: &public,
        profile: Profile::Ca {
            self_signed: true,
            path_len: profile.path_len,
        },
    };
    sign_ca(store, key, &tbs, out)
}

/// Creates an intermediate CA certificate for `subject_key`, signed by `issuer_key`
/// (the key of `issuer`); writes its DER to `out` and returns the length.
///
/// # Errors
/// `Cert(KeyMismatch)` if `issuer_key` is not `issuer`'s key; `Cert(PathTooLong)` if the
/// issuer may not sign CAs; store errors; [`Error::BufferTooSmall`].
pub fn create_intermediate<S: IdentityKeys + ?Sized>(
    store: &mut S,
    issuer_key: KeyId,
    issuer: &CaCert<'_>,
    subject_key: &EcPublicKey,
    profile: &CaProfile<'_>,
    out: &mut [u8],
) -> Result<usize> {
    check_key(store, issuer_key, issuer.public_key())?;
    if issuer.path_len() == Some(0) {
        return Err(CertError::PathTooLong.into());
    }
    let tbs = Tbs {
        serial: &positive(profile.serial),
        issuer: issuer.as_issuer(),
        validity: (profile.not_before, profile.not_after),
        subject: profile.subject()?,
        key: subject_key,
        profile: Profile::Ca {
            self_signed: false,
            path_len: profile.path_len,
        },
    };
    sign_ca(store, issuer_key, &tbs, out)
}

/// Issues a compact device certificate for a device-generated public key: `ca_key` in
/// `store` (the key of `ca`) signs what `request` asks for.
///
/// The request's `issued_at` is rounded down to its day (the certificate's notBefore).
///
/// # Errors
/// `Cert(KeyMismatch)` if `ca_key` is not `ca`'s key; `Cert(Unrepresentable)` for a
/// date outside 2000–2179; `Decode(InvalidValue)` for serial 0; store errors.
///
/// ```
/// use provkit::cert::{self, CaCert, CaName, CaProfile, CompactCert, DeviceRequest};
/// use provkit::store::{IdentityKeys, KeyId, MemoryStore};
/// use provkit::rng::OsRng;
///
/// # fn main() -> provkit::Result<()> {
/// let mut rng = OsRng;
/// let mut ca_store = MemoryStore::<2, 0, 0>::new();
/// ca_store.generate_p256(KeyId(1), &mut rng)?;
/// let name = CaName::new("Example Root").with_organization("Example");
/// let profile = CaProfile::new(name, [1; 16], 1_700_000_000, 2_500_000_000).with_path_len(0);
/// let mut der = [0u8; 512];
/// let len = cert::create_root(&mut ca_store, KeyId(1), &profile, &mut der)?;
/// let root = CaCert::from_der(&der[..len])?;
///
/// // The device makes its key pair; only the public key leaves it.
/// let mut device = MemoryStore::<1, 0, 0>::new();
/// let device_public = device.generate_p256(KeyId(7), &mut rng)?;
/// let request = DeviceRequest::new(0x0102_0304_0506_0708, &device_public, 1_750_000_000);
/// let compact = cert::issue_device(&mut ca_store, KeyId(1), &root, &request)?;
/// assert_eq!(compact.len(), 111);
/// let verified = cert::verify_device(&root, None, &CompactCert::parse(&compact)?, 1_760_000_000)?;
/// assert_eq!(verified.serial, 0x0102_0304_0506_0708);
/// # Ok(())
/// # }
/// ```
pub fn issue_device<S: IdentityKeys + ?Sized>(
    store: &mut S,
    ca_key: KeyId,
    ca: &CaCert<'_>,
    request: &DeviceRequest,
) -> Result<[u8; COMPACT_LEN]> {
    let (serial, device_key, usage) = (request.serial, &request.public_key, request.usage);
    check_key(store, ca_key, ca.public_key())?;
    if serial == 0 {
        return Err(Error::decode(DecodeErrorKind::InvalidValue, 1));
    }
    let issued_day = unix_to_day(request.issued_at)?;
    let serial_be = serial.to_be_bytes();
    let tbs = Tbs::device(
        &serial_be,
        crate::cert::compact::day_to_unix(issued_day),
        usage,
        device_key,
        ca.as_issuer(),
    );
    let signature = crate::store::sign_low_s(store, ca_key, &tbs.digest())?;
    CompactFields::new(serial, ca.short_key_id(), issued_day, device_key, signature)
        .with_usage(usage)
        .encode()
}
