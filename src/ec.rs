//! P-256 values that cross API boundaries: public keys and raw `r || s` signatures.
//!
//! These wrap the RustCrypto `p256` types so that the crate's public API stays stable
//! when those crates change, and so that every point entering the crate is validated
//! in one place.

use crate::error::{DecodeErrorKind, Error, Result};
use core::fmt;
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use p256::elliptic_curve::point::AffineCoordinates;
use p256::elliptic_curve::sec1::ToSec1Point;

/// Length of a SEC1 compressed P-256 point (`02|03 || x`).
pub const COMPRESSED_LEN: usize = 33;
/// Length of a SEC1 uncompressed P-256 point (`04 || x || y`).
pub const UNCOMPRESSED_LEN: usize = 65;
/// Length of a raw ECDSA P-256 signature (`r || s`).
pub const SIGNATURE_LEN: usize = 64;

/// A validated P-256 public key (never the identity, always on the curve).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EcPublicKey(p256::PublicKey);

impl EcPublicKey {
    /// Parses a SEC1 point, compressed (33 bytes) or uncompressed (65 bytes), and checks
    /// that it lies on the curve and is not the identity.
    ///
    /// # Errors
    /// `Decode(InvalidPoint)` for any encoding that is not a valid P-256 point.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self> {
        p256::PublicKey::from_sec1_bytes(bytes)
            .map(Self)
            .map_err(|_| Error::decode(DecodeErrorKind::InvalidPoint, 0))
    }

    /// Rebuilds a point from its x coordinate and the parity of y (point decompression).
    ///
    /// # Errors
    /// `Decode(InvalidPoint)` when `x` is not the x coordinate of a curve point.
    pub fn from_x_and_parity(x: &[u8; 32], y_is_odd: bool) -> Result<Self> {
        let mut sec1 = [0u8; COMPRESSED_LEN];
        let (tag, rest) = sec1.split_at_mut(1);
        tag.copy_from_slice(&[if y_is_odd { 0x03 } else { 0x02 }]);
        rest.copy_from_slice(x);
        Self::from_sec1(&sec1)
    }

    /// The SEC1 uncompressed encoding `04 || x || y`.
    #[must_use]
    pub fn to_uncompressed(&self) -> [u8; UNCOMPRESSED_LEN] {
        let mut out = [0u8; UNCOMPRESSED_LEN];
        out.copy_from_slice(self.0.to_sec1_point(false).as_bytes());
        out
    }

    /// The SEC1 compressed encoding `02|03 || x`.
    #[must_use]
    pub fn to_compressed(&self) -> [u8; COMPRESSED_LEN] {
        let mut out = [0u8; COMPRESSED_LEN];
        out.copy_from_slice(self.0.to_sec1_point(true).as_bytes());
        out
    }

    /// The x coordinate.
    #[must_use]
    pub fn x(&self) -> [u8; 32] {
        self.0.as_affine().x().into()
    }

    /// Whether the y coordinate is odd (the bit a compressed point carries).
    #[must_use]
    pub fn y_is_odd(&self) -> bool {
        self.0.as_affine().y_is_odd().into()
    }

    /// Verifies an ECDSA P-256 signature over a SHA-256 digest.
    ///
    /// High-S signatures are accepted, as X.509 and Wycheproof's P1363 set require.
    ///
    /// # Errors
    /// [`Error::Crypto`] if the signature does not verify.
    pub fn verify_digest(&self, digest: &[u8; 32], sig: &EcdsaSignature) -> Result<()> {
        let sig = p256::ecdsa::Signature::from_slice(&sig.0).map_err(|_| Error::Crypto)?;
        p256::ecdsa::VerifyingKey::from(&self.0)
            .verify_prehash(digest, &sig)
            .map_err(|_| Error::Crypto)
    }

    pub(crate) const fn inner(&self) -> &p256::PublicKey {
        &self.0
    }

    pub(crate) const fn from_inner(pk: p256::PublicKey) -> Self {
        Self(pk)
    }
}

impl fmt::Debug for EcPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EcPublicKey(")?;
        for b in self.to_compressed() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// A raw ECDSA P-256 signature `r || s`, 32 bytes each, big-endian.
///
/// Not validated on construction: verification rejects out-of-range scalars.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EcdsaSignature(pub [u8; SIGNATURE_LEN]);

impl EcdsaSignature {
    /// `r`, big-endian.
    #[must_use]
    pub fn r(&self) -> &[u8; 32] {
        self.0.first_chunk::<32>().unwrap_or(&[0; 32])
    }

    /// `s`, big-endian.
    #[must_use]
    pub fn s(&self) -> &[u8; 32] {
        self.0.last_chunk::<32>().unwrap_or(&[0; 32])
    }
}

impl fmt::Debug for EcdsaSignature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EcdsaSignature(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// SHA-256 of `data`.
#[must_use]
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(data).into()
}
