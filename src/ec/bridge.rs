//! Bridges to the RustCrypto types and to the standard encodings: `p256` keys and
//! signatures, SubjectPublicKeyInfo (RFC 5480) and DER `Ecdsa-Sig-Value` (RFC 3279).
//!
//! The conversions and the DER forms need no heap and cost nothing when unused; PEM
//! needs the `alloc` feature. DER is read and written by the crate's own DER code (the
//! one its X.509 parser uses), so every refusal is a provkit [`Error`] with a byte offset.

use super::{EcPublicKey, EcdsaSignature, ORDER, cmp_be};
use crate::cert::der::{Der, Reader, SliceSink, Template, emit, tag};
use crate::error::{ByteCount, DecodeErrorKind, Error, Result};
use core::cmp::Ordering;

/// Length of [`EcPublicKey::to_spki_der`]'s output: a SubjectPublicKeyInfo with an
/// uncompressed point.
pub const SPKI_DER_LEN: usize = 91;
/// The longest DER `Ecdsa-Sig-Value` of a P-256 signature (two 33-byte INTEGERs).
pub const MAX_DER_SIGNATURE_LEN: usize = 72;

/// id-ecPublicKey, 1.2.840.10045.2.1 (OID value bytes).
const ID_EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
/// prime256v1 (secp256r1), 1.2.840.10045.3.1.7 (OID value bytes).
const PRIME256V1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
/// SubjectPublicKeyInfo up to the point: SEQUENCE (89) { SEQUENCE (19) { id-ecPublicKey,
/// prime256v1 }, BIT STRING (66) with no unused bits.
const SPKI_PREFIX: [u8; SPKI_DER_LEN - super::UNCOMPRESSED_LEN] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
/// PEM type label of a SubjectPublicKeyInfo (RFC 7468, section 13).
#[cfg(feature = "alloc")]
const SPKI_PEM_LABEL: &str = "PUBLIC KEY";

/// Moves a decode error's offset `by` bytes on (errors of an inner parse).
fn shift(e: Error, by: usize) -> Error {
    match e {
        Error::Decode(mut d) => {
            d.offset = ByteCount::new(d.offset.get().saturating_add(by));
            Error::Decode(d)
        }
        other => other,
    }
}

impl EcPublicKey {
    /// Parses a DER SubjectPublicKeyInfo (RFC 5480) of a P-256 key: algorithm
    /// id-ecPublicKey with the named curve prime256v1, and a compressed or uncompressed
    /// point, checked as [`from_sec1`](Self::from_sec1) does. What OpenSSL's
    /// `openssl pkey -pubout -outform DER` writes, and what
    /// `p256::PublicKey::to_public_key_der` writes.
    ///
    /// No heap; the offsets in errors are into `der`.
    ///
    /// # Errors
    /// - [`Error::Unsupported`] for a well-formed key of another algorithm (RSA, Ed25519,
    ///   ...) or another curve (P-384, ...), or with explicit curve parameters (RFC 5480
    ///   allows only a named curve);
    /// - `Decode(InvalidPoint)` when the point is not a valid P-256 point, or the BIT
    ///   STRING has unused bits;
    /// - other `Decode` errors for malformed DER (`Truncated`, `UnexpectedTag`,
    ///   `InvalidLength`, `TrailingData`).
    ///
    /// ```
    /// use provkit::ec::EcPublicKey;
    /// # use provkit::store::{IdentityKeys, KeyId, MemoryStore};
    /// # let mut store = MemoryStore::<1, 0, 0>::new();
    /// # let key = store.generate_p256(KeyId(1), &mut provkit::rng::OsRng)?;
    /// let der = key.to_spki_der();
    /// assert_eq!(EcPublicKey::from_spki_der(&der)?, key);
    /// // An Ed25519 SubjectPublicKeyInfo is refused.
    /// let ed25519_alg = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];
    /// let ed25519 = [&ed25519_alg[..], &[7; 32]].concat();
    /// assert_eq!(EcPublicKey::from_spki_der(&ed25519), Err(provkit::Error::Unsupported));
    /// # Ok::<(), provkit::Error>(())
    /// ```
    pub fn from_spki_der(der: &[u8]) -> Result<Self> {
        let mut outer = Reader::new(der);
        let (mut spki, _) = outer.read(tag::SEQUENCE)?;
        let (mut alg, _) = spki.read(tag::SEQUENCE)?;
        if alg.value(tag::OID)? != ID_EC_PUBLIC_KEY {
            return Err(Error::Unsupported);
        }
        // ECParameters: a namedCurve OID; implicitCurve (NULL) and specifiedCurve
        // (SEQUENCE) are refused, as RFC 5480 requires.
        if alg.peek_tag() != Some(tag::OID) {
            return Err(Error::Unsupported);
        }
        if alg.value(tag::OID)? != PRIME256V1 {
            return Err(Error::Unsupported);
        }
        alg.finish()?;
        let (bits, _) = spki.read(tag::BIT_STRING)?;
        // The point starts after the unused-bits byte.
        let point_at = bits.offset() + 1;
        let point = match bits.rest() {
            [0, p @ ..] => p,
            _ => return Err(Error::decode(DecodeErrorKind::InvalidPoint, bits.offset())),
        };
        let key = Self::from_sec1(point).map_err(|e| shift(e, point_at))?;
        spki.finish()?;
        outer.finish()?;
        Ok(key)
    }

    /// The DER SubjectPublicKeyInfo (RFC 5480) of this key, with the uncompressed point:
    /// the form OpenSSL, `p256` and X.509 certificates use. No heap.
    #[must_use]
    pub fn to_spki_der(&self) -> [u8; SPKI_DER_LEN] {
        let mut out = [0u8; SPKI_DER_LEN];
        let (prefix, point) = out.split_at_mut(SPKI_PREFIX.len());
        prefix.copy_from_slice(&SPKI_PREFIX);
        point.copy_from_slice(&self.to_uncompressed());
        out
    }

    /// Parses a PEM SubjectPublicKeyInfo (`-----BEGIN PUBLIC KEY-----`, RFC 7468's strict
    /// grammar), as OpenSSL's `openssl pkey -pubout` writes it. Feature `alloc`.
    ///
    /// # Errors
    /// `Decode(InvalidValue)` at offset 0 for text that is not PEM,
    /// `Decode(UnexpectedTag)` at offset 0 for another PEM type (`CERTIFICATE`,
    /// `PRIVATE KEY`, ...), then as [`from_spki_der`](Self::from_spki_der), with offsets
    /// into the decoded DER.
    #[cfg(feature = "alloc")]
    pub fn from_spki_pem(pem: &str) -> Result<Self> {
        let (label, der) = der::pem::decode_vec(pem.as_bytes())
            .map_err(|_| Error::decode(DecodeErrorKind::InvalidValue, 0))?;
        if label != SPKI_PEM_LABEL {
            return Err(Error::decode(DecodeErrorKind::UnexpectedTag, 0));
        }
        Self::from_spki_der(&der)
    }

    /// The PEM SubjectPublicKeyInfo (`-----BEGIN PUBLIC KEY-----`, LF line endings) of
    /// this key, uncompressed. Feature `alloc`.
    ///
    /// ```
    /// # use provkit::ec::EcPublicKey;
    /// # use provkit::store::{IdentityKeys, KeyId, MemoryStore};
    /// # let mut store = MemoryStore::<1, 0, 0>::new();
    /// # let key = store.generate_p256(KeyId(1), &mut provkit::rng::OsRng)?;
    /// let pem = key.to_spki_pem();
    /// assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"));
    /// assert_eq!(EcPublicKey::from_spki_pem(&pem)?, key);
    /// # Ok::<(), provkit::Error>(())
    /// ```
    #[cfg(feature = "alloc")]
    #[must_use]
    pub fn to_spki_pem(&self) -> alloc::string::String {
        // The encoder fails only for lengths near usize::MAX; 91 bytes always encode.
        der::pem::encode_string(
            SPKI_PEM_LABEL,
            der::pem::LineEnding::LF,
            &self.to_spki_der(),
        )
        .unwrap_or_default()
    }
}

/// A `p256` public key is always a valid point: nothing to check.
impl From<p256::PublicKey> for EcPublicKey {
    fn from(pk: p256::PublicKey) -> Self {
        Self::from_p256(&pk)
    }
}

impl From<EcPublicKey> for p256::PublicKey {
    /// # Panics
    /// Only if a provider's [`p256_check_point`](crate::provider::CryptoProvider::p256_check_point)
    /// admitted a point off the curve, against its contract: every `EcPublicKey` was
    /// checked when it was made, and `p256` checks it once more here.
    fn from(pk: EcPublicKey) -> Self {
        #[allow(clippy::expect_used)] // checked on construction (see # Panics)
        pk.p256_key().expect("an EcPublicKey is a curve point")
    }
}

/// A `p256` verifying key is always a valid point: nothing to check.
impl From<p256::ecdsa::VerifyingKey> for EcPublicKey {
    fn from(vk: p256::ecdsa::VerifyingKey) -> Self {
        Self::from_p256(&vk.into())
    }
}

impl From<&p256::ecdsa::VerifyingKey> for EcPublicKey {
    fn from(vk: &p256::ecdsa::VerifyingKey) -> Self {
        Self::from(*vk)
    }
}

impl From<EcPublicKey> for p256::ecdsa::VerifyingKey {
    /// # Panics
    /// As `p256::PublicKey`'s `From<EcPublicKey>`: only for a point a provider admitted
    /// against its contract.
    fn from(pk: EcPublicKey) -> Self {
        p256::PublicKey::from(pk).into()
    }
}

/// DER `Ecdsa-Sig-Value` of one signature, for the crate's DER writer.
struct SigValue<'a>(&'a EcdsaSignature);

impl Template for SigValue<'_> {
    fn der(&self, w: &mut Der<'_>) {
        w.ecdsa_sig_value(self.0);
    }
}

/// Whether a 32-byte big-endian scalar lies in `[1, n - 1]`.
fn in_range(x: &[u8; 32]) -> bool {
    x.iter().any(|b| *b != 0) && cmp_be(x, &ORDER) == Ordering::Less
}

impl EcdsaSignature {
    /// Parses a DER `Ecdsa-Sig-Value` (`SEQUENCE { r INTEGER, s INTEGER }`, RFC 3279), the
    /// form of X.509, CMS, TLS and OpenSSL's `openssl dgst -sign`. Strict DER: minimal
    /// lengths and INTEGERs, nothing after the SEQUENCE. Keeps `s` as it was signed (use
    /// [`normalize_s`](Self::normalize_s) for the low-S form). No heap.
    ///
    /// # Errors
    /// `Decode(InvalidValue)` at the INTEGER for `r` or `s` that is negative, not minimal,
    /// longer than 32 bytes, 0 or not below the group order (no key verifies such a
    /// signature); other `Decode` errors (`Truncated`, `UnexpectedTag`, `InvalidLength`,
    /// `TrailingData`) for malformed DER, each at its byte offset.
    ///
    /// ```
    /// use provkit::ec::{EcdsaSignature, MAX_DER_SIGNATURE_LEN};
    /// let sig = EcdsaSignature([0x11; 64]);
    /// let mut der = [0u8; MAX_DER_SIGNATURE_LEN];
    /// let n = sig.to_der(&mut der)?;
    /// assert_eq!(EcdsaSignature::from_der(&der[..n])?, sig);
    /// assert!(EcdsaSignature::from_der(&der[..n - 1]).is_err());
    /// # Ok::<(), provkit::Error>(())
    /// ```
    pub fn from_der(der: &[u8]) -> Result<Self> {
        let mut outer = Reader::new(der);
        let (mut seq, _) = outer.read(tag::SEQUENCE)?;
        let mut sig = [0u8; super::SIGNATURE_LEN];
        for half in sig.chunks_exact_mut(32) {
            let at = seq.offset();
            let x = seq.uint::<32>()?;
            if !in_range(&x) {
                return Err(Error::decode(DecodeErrorKind::InvalidValue, at));
            }
            half.copy_from_slice(&x);
        }
        seq.finish()?;
        outer.finish()?;
        Ok(Self(sig))
    }

    /// Writes the DER `Ecdsa-Sig-Value` of this signature into `out` (at most
    /// [`MAX_DER_SIGNATURE_LEN`] bytes) and returns its length. No heap.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when `out` is too short.
    pub fn to_der(&self, out: &mut [u8]) -> Result<usize> {
        let mut sink = SliceSink::new(out);
        emit(&SigValue(self), &mut sink);
        sink.finish()
    }
}

/// Keeps `s` as `p256` holds it (a `p256` signer may return high-S; see
/// [`EcdsaSignature::normalize_s`]).
impl From<p256::ecdsa::Signature> for EcdsaSignature {
    fn from(sig: p256::ecdsa::Signature) -> Self {
        let mut out = [0u8; super::SIGNATURE_LEN];
        out.copy_from_slice(&sig.to_bytes());
        Self(out)
    }
}

/// `p256` signatures hold scalars in `[1, n - 1]`; a raw `r || s` outside that range
/// (which no key verifies) is refused.
impl TryFrom<EcdsaSignature> for p256::ecdsa::Signature {
    type Error = Error;

    /// # Errors
    /// `Decode(InvalidValue)` at offset 0 when `r`, at 32 when `s`, is 0 or not below the
    /// group order.
    fn try_from(sig: EcdsaSignature) -> Result<Self> {
        if !in_range(sig.r()) {
            return Err(Error::decode(DecodeErrorKind::InvalidValue, 0));
        }
        if !in_range(sig.s()) {
            return Err(Error::decode(DecodeErrorKind::InvalidValue, 32));
        }
        Self::from_slice(&sig.0).map_err(|_| Error::decode(DecodeErrorKind::InvalidValue, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths() {
        let mut out = [0u8; MAX_DER_SIGNATURE_LEN];
        // Both top bits set: two 33-byte INTEGERs, the longest form.
        let sig = EcdsaSignature([0xf0; 64]);
        assert_eq!(sig.to_der(&mut out), Ok(MAX_DER_SIGNATURE_LEN));
        assert_eq!(
            sig.to_der(&mut out[..MAX_DER_SIGNATURE_LEN - 1]),
            Err(Error::buffer_too_small(MAX_DER_SIGNATURE_LEN))
        );
    }
}
