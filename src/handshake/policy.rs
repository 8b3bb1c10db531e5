//! Peer policy: which certificates a handshake accepts, pinned peers, and authorised
//! re-pairing after a device is replaced.

use crate::cert::{COMPACT_LEN, CaCert, CompactCert, UnixTime, VerifiedDevice, verify_device_on};
use crate::ec::sha256_parts as hash;
use crate::ec::{EcdsaSignature, SIGNATURE_LEN};
use crate::error::{CertError, DecodeErrorKind, Error, HandshakeError, Result};
use crate::provider::{CryptoProvider, RustCrypto};
use crate::store::{IdentityKeys, KeyId, RecordId, Records};

/// What a peer's certificate must satisfy: chain to `root` (through `intermediate` if
/// set), valid at `now`, serial not in `revoked`.
///
/// Built with [`new`](Self::new), [`with_intermediate`](Self::with_intermediate) and
/// [`with_revoked`](Self::with_revoked) (`#[non_exhaustive]`: more checks may follow).
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct PeerPolicy<'a> {
    /// The trust anchor.
    pub root: &'a CaCert<'a>,
    /// The CA that issues device certificates, when it is not the root.
    pub intermediate: Option<&'a CaCert<'a>>,
    /// Revoked device serials.
    pub revoked: &'a [u64],
    /// The current time.
    pub now: UnixTime,
}

impl<'a> PeerPolicy<'a> {
    /// Certificates that `root` issued directly, valid at `now`, none revoked.
    #[must_use]
    pub const fn new(root: &'a CaCert<'a>, now: UnixTime) -> Self {
        Self {
            root,
            intermediate: None,
            revoked: &[],
            now,
        }
    }

    /// The same policy for certificates issued by `intermediate` (which `root` issued).
    #[must_use]
    pub const fn with_intermediate(mut self, intermediate: &'a CaCert<'a>) -> Self {
        self.intermediate = Some(intermediate);
        self
    }

    /// The same policy refusing the device serials in `revoked`.
    #[must_use]
    pub const fn with_revoked(mut self, revoked: &'a [u64]) -> Self {
        self.revoked = revoked;
        self
    }

    /// Verifies `cert` under this policy.
    ///
    /// # Errors
    /// Chain errors from [`verify_device`](crate::cert::verify_device); `Handshake(Revoked)`.
    pub fn check(&self, cert: &CompactCert<'_>) -> Result<VerifiedDevice> {
        self.check_on::<RustCrypto>(cert)
    }

    /// [`check`](Self::check) with the chain's signatures checked on the provider `P`.
    pub(crate) fn check_on<P: CryptoProvider>(
        &self,
        cert: &CompactCert<'_>,
    ) -> Result<VerifiedDevice> {
        let verified = verify_device_on::<P>(self.root, self.intermediate, cert, self.now)?;
        if self.revoked.contains(&verified.serial) {
            return Err(HandshakeError::Revoked.into());
        }
        Ok(verified)
    }

    /// The CA whose key signs device certificates and replacement statements.
    #[must_use]
    pub fn issuing_ca(&self) -> &CaCert<'_> {
        self.intermediate.unwrap_or(self.root)
    }
}

/// Pins `cert` as the peer remembered in record `slot`, if the slot is empty.
///
/// # Errors
/// `Handshake(PeerNotPinned)` if another certificate is pinned there (replace it with
/// [`repin`]); store errors.
pub fn pin<S: Records + ?Sized>(
    store: &mut S,
    slot: RecordId,
    cert: &CompactCert<'_>,
) -> Result<()> {
    match pinned(store, slot)? {
        Some(existing) if existing == *cert.as_bytes() => Ok(()),
        Some(_) => Err(HandshakeError::PeerNotPinned.into()),
        None => store.write_record(slot, cert.as_bytes()),
    }
}

/// The certificate pinned in `slot`, if any.
///
/// # Errors
/// Store errors; `Store(Corrupt)` if the record is not a certificate.
pub fn pinned<S: Records + ?Sized>(
    store: &mut S,
    slot: RecordId,
) -> Result<Option<[u8; COMPACT_LEN]>> {
    let mut buf = [0u8; COMPACT_LEN];
    match store.read_record(slot, &mut buf) {
        Ok(COMPACT_LEN) => Ok(Some(buf)),
        Ok(_) | Err(Error::BufferTooSmall { .. }) => Err(crate::error::StoreError::Corrupt.into()),
        Err(Error::Store(crate::error::StoreError::NotFound)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Accepts `peer` only if it is the certificate pinned in `slot` (or pins it when the
/// slot is empty and `pin_if_empty`).
///
/// # Errors
/// `Handshake(PeerNotPinned)`; store errors.
pub fn check_pinned<S: Records + ?Sized>(
    store: &mut S,
    slot: RecordId,
    peer: &CompactCert<'_>,
    pin_if_empty: bool,
) -> Result<()> {
    match pinned(store, slot)? {
        Some(existing) if existing == *peer.as_bytes() => Ok(()),
        None if pin_if_empty => store.write_record(slot, peer.as_bytes()),
        _ => Err(HandshakeError::PeerNotPinned.into()),
    }
}

/// Length of an encoded [`Replacement`].
pub const REPLACEMENT_LEN: usize = 1 + 8 + 8 + 32 + SIGNATURE_LEN;
const REPLACEMENT_VERSION: u8 = 1;

/// A statement, signed by the CA that issues device certificates, that the device with
/// `old_serial` was replaced by the device whose certificate hashes to `new_cert_hash`.
///
/// Layout (113 bytes): `version (1) = 1 || old_serial (8) || new_serial (8) ||
/// SHA-256(new compact certificate) (32) || ECDSA signature r || s (64)`, signed over
/// `SHA-256("provkit replacement v1" || the first 49 bytes)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Replacement {
    /// Serial of the device taken out of service.
    pub old_serial: u64,
    /// Serial of its replacement.
    pub new_serial: u64,
    /// SHA-256 of the replacement's compact certificate.
    pub new_cert_hash: [u8; 32],
    /// The CA's signature.
    pub signature: EcdsaSignature,
}

impl Replacement {
    fn body(old_serial: u64, new_serial: u64, new_cert_hash: &[u8; 32]) -> [u8; 49] {
        let mut b = [0u8; 49];
        let parts: [&[u8]; 4] = [
            &[REPLACEMENT_VERSION],
            &old_serial.to_be_bytes(),
            &new_serial.to_be_bytes(),
            new_cert_hash,
        ];
        let mut at = 0;
        for p in parts {
            if let Some(dst) = b.get_mut(at..at + p.len()) {
                dst.copy_from_slice(p);
            }
            at += p.len();
        }
        b
    }

    fn digest(&self) -> [u8; 32] {
        let body = Self::body(self.old_serial, self.new_serial, &self.new_cert_hash);
        hash(&[b"provkit replacement v1", &body])
    }

    /// The CA signs a replacement of `old_serial` by the device holding `new_cert`.
    ///
    /// # Errors
    /// Store errors from signing.
    pub fn sign<S: IdentityKeys + ?Sized>(
        store: &mut S,
        ca_key: KeyId,
        old_serial: u64,
        new_cert: &CompactCert<'_>,
    ) -> Result<Self> {
        let mut r = Self {
            old_serial,
            new_serial: new_cert.serial(),
            new_cert_hash: hash(&[new_cert.as_bytes()]),
            signature: EcdsaSignature([0; SIGNATURE_LEN]),
        };
        r.signature = crate::store::sign_low_s(store, ca_key, &r.digest())?;
        Ok(r)
    }

    /// The 113-byte encoding.
    #[must_use]
    pub fn encode(&self) -> [u8; REPLACEMENT_LEN] {
        let mut out = [0u8; REPLACEMENT_LEN];
        let body = Self::body(self.old_serial, self.new_serial, &self.new_cert_hash);
        let (b, s) = out.split_at_mut(body.len());
        b.copy_from_slice(&body);
        s.copy_from_slice(&self.signature.0);
        out
    }

    /// Parses the 113-byte encoding (the signature is checked by [`repin`]).
    ///
    /// # Errors
    /// `Decode` for a wrong length or version; `Decode(InvalidValue)` at offset 81 for a
    /// high-S signature (a statement has one encoding, as certificates do).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let bytes: &[u8; REPLACEMENT_LEN] = bytes.try_into().map_err(|_| {
            Error::decode(
                DecodeErrorKind::InvalidLength,
                bytes.len().min(REPLACEMENT_LEN),
            )
        })?;
        let field = |at: usize| -> [u8; 8] {
            let mut f = [0u8; 8];
            f.copy_from_slice(bytes.get(at..at + 8).unwrap_or(&[0; 8]));
            f
        };
        if bytes.first() != Some(&REPLACEMENT_VERSION) {
            return Err(Error::decode(DecodeErrorKind::UnknownVersion, 0));
        }
        let mut new_cert_hash = [0u8; 32];
        new_cert_hash.copy_from_slice(bytes.get(17..49).unwrap_or(&[0; 32]));
        let mut sig = [0u8; SIGNATURE_LEN];
        sig.copy_from_slice(bytes.get(49..).unwrap_or(&[0; SIGNATURE_LEN]));
        if !EcdsaSignature(sig).is_low_s() {
            return Err(Error::decode(DecodeErrorKind::InvalidValue, 49 + 32));
        }
        Ok(Self {
            old_serial: u64::from_be_bytes(field(1)),
            new_serial: u64::from_be_bytes(field(9)),
            new_cert_hash,
            signature: EcdsaSignature(sig),
        })
    }
}

/// Replaces the peer pinned in `slot` with `new_cert`, only if `authorization` — signed
/// by the policy's issuing CA — names the pinned device as the old one and `new_cert` as
/// its replacement, and `new_cert` itself passes `policy`.
///
/// A genuine device without such a statement cannot take over a pinned peer's place.
///
/// # Errors
/// `Handshake(PeerNotPinned)` if nothing is pinned or the statement names another
/// device; [`Error::Crypto`] for a bad signature; policy errors for `new_cert`.
pub fn repin<S: Records + ?Sized>(
    store: &mut S,
    slot: RecordId,
    new_cert: &CompactCert<'_>,
    authorization: &Replacement,
    policy: &PeerPolicy<'_>,
) -> Result<VerifiedDevice> {
    let current = pinned(store, slot)?.ok_or(Error::from(HandshakeError::PeerNotPinned))?;
    let current = CompactCert::parse(&current)?;
    if authorization.old_serial != current.serial()
        || authorization.new_serial != new_cert.serial()
        || authorization.new_cert_hash != hash(&[new_cert.as_bytes()])
    {
        return Err(HandshakeError::PeerNotPinned.into());
    }
    policy
        .issuing_ca()
        .public_key()
        .verify_digest_low_s(&authorization.digest(), &authorization.signature)?;
    let verified = policy.check(new_cert)?;
    if verified.serial == current.serial() {
        return Err(CertError::IssuerMismatch.into());
    }
    store.write_record(slot, new_cert.as_bytes())?;
    Ok(verified)
}
