//! P-256 values that cross API boundaries: public keys and raw `r || s` signatures.
//!
//! These wrap the RustCrypto `p256` types so that the crate's public API stays stable
//! when those crates change, and so that every point entering the crate is validated
//! in one place.
//!
//! # Bridges
//!
//! Both convert to and from the `p256` 0.14 types ([`EcPublicKey`]: `From` both ways
//! with `p256::PublicKey` and `p256::ecdsa::VerifyingKey`; [`EcdsaSignature`]: `From`
//! `p256::ecdsa::Signature`, `TryFrom` back), and to and from the standard encodings:
//! SubjectPublicKeyInfo DER ([`EcPublicKey::from_spki_der`],
//! [`EcPublicKey::to_spki_der`]) and PEM (feature `alloc`), and the DER `Ecdsa-Sig-Value`
//! ([`EcdsaSignature::from_der`], [`EcdsaSignature::to_der`]). None of them needs the heap
//! but PEM. A key in a store signs for RustCrypto code through
//! [`StoreSigner`](crate::store::StoreSigner); a RustCrypto signer (a KMS client) serves
//! as a provkit identity through [`ExternalSigner`](crate::store::ExternalSigner).
//!
//! ```
//! use provkit::ec::EcPublicKey;
//! use p256::ecdsa::{SigningKey, VerifyingKey};
//!
//! let signing = SigningKey::from_slice(&[0x42; 32]).expect("a valid scalar");
//! let key = EcPublicKey::from(*signing.verifying_key());
//! assert_eq!(VerifyingKey::from(key), *signing.verifying_key());
//! ```

use crate::error::{Error, Result};
use crate::provider::{CryptoProvider, RustCrypto};
use crate::secret::SecretBytes;
use core::cmp::Ordering;
use core::fmt;
use p256::elliptic_curve::point::AffineCoordinates as _;

mod bridge;

pub use bridge::{MAX_DER_SIGNATURE_LEN, SPKI_DER_LEN};

/// Length of a SEC1 compressed P-256 point (`02|03 || x`).
pub const COMPRESSED_LEN: usize = 33;
/// Length of a SEC1 uncompressed P-256 point (`04 || x || y`).
pub const UNCOMPRESSED_LEN: usize = 65;
/// Length of a raw ECDSA P-256 signature (`r || s`).
pub const SIGNATURE_LEN: usize = 64;

/// A validated P-256 public key (never the identity, always on the curve).
///
/// Held as its affine coordinates `x || y` (big-endian), as a provider's point check
/// ([`CryptoProvider::p256_check_point`]) admitted them: encoding a key, comparing two or
/// reading a coordinate takes no field arithmetic, and a firmware whose provider checks
/// points on its own (the Cortex-M4 assembly's) links none from `p256`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EcPublicKey([u8; 64]);

impl EcPublicKey {
    /// Parses a SEC1 point, compressed (33 bytes) or uncompressed (65 bytes), and checks
    /// that it lies on the curve and is not the identity.
    ///
    /// # Errors
    /// `Decode(InvalidPoint)` for any encoding that is not a valid P-256 point.
    pub fn from_sec1(bytes: &[u8]) -> Result<Self> {
        RustCrypto::p256_parse_public(bytes)
    }

    /// Parses an uncompressed SEC1 point `04 || x || y`: checks that the coordinates are
    /// field elements, the point is on the curve and not the identity. Nothing is
    /// decompressed. Checked on [`RustCrypto`]; see
    /// [`from_uncompressed_on`](Self::from_uncompressed_on) for another provider's check.
    ///
    /// # Errors
    /// `Decode(InvalidPoint)` for anything else.
    ///
    /// ```
    /// use provkit::ec::EcPublicKey;
    /// // The base point G.
    /// let g = EcPublicKey::from_x_and_parity(
    ///     &[0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63,
    ///       0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1,
    ///       0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96],
    ///     true,
    /// )?;
    /// assert_eq!(EcPublicKey::from_uncompressed(&g.to_uncompressed())?, g);
    /// let mut off_curve = g.to_uncompressed();
    /// off_curve[64] ^= 1;
    /// assert!(EcPublicKey::from_uncompressed(&off_curve).is_err());
    /// # Ok::<(), provkit::Error>(())
    /// ```
    pub fn from_uncompressed(bytes: &[u8; UNCOMPRESSED_LEN]) -> Result<Self> {
        Self::from_uncompressed_on::<RustCrypto>(bytes)
    }

    /// [`from_uncompressed`](Self::from_uncompressed) with the point checked by the
    /// provider `P` ([`CryptoProvider::p256_check_point`]): how a provider that computes
    /// points (d·G, a decompression) turns them into keys without linking a second
    /// implementation of the curve. Nothing is decompressed.
    ///
    /// # Errors
    /// `Decode(InvalidPoint)` when the tag is not `04` or `P` refuses the point.
    ///
    /// ```
    /// use provkit::ec::EcPublicKey;
    /// use provkit::provider::RustCrypto;
    /// # let g = EcPublicKey::from_x_and_parity(
    /// #     &[0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63,
    /// #       0xa4, 0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1,
    /// #       0x39, 0x45, 0xd8, 0x98, 0xc2, 0x96],
    /// #     true,
    /// # )?;
    /// let sec1 = g.to_uncompressed();
    /// assert_eq!(EcPublicKey::from_uncompressed_on::<RustCrypto>(&sec1)?, g);
    /// let mut hybrid = sec1;
    /// hybrid[0] = 0x07; // X9.62's hybrid form: not SEC1's uncompressed one
    /// assert!(EcPublicKey::from_uncompressed_on::<RustCrypto>(&hybrid).is_err());
    /// # Ok::<(), provkit::Error>(())
    /// ```
    pub fn from_uncompressed_on<P: CryptoProvider>(bytes: &[u8; UNCOMPRESSED_LEN]) -> Result<Self> {
        match bytes.split_first() {
            Some((&0x04, xy)) => {
                let xy = <&[u8; 64]>::try_from(xy).map_err(|_| invalid_point())?;
                P::p256_check_point(xy).map_err(|_| invalid_point())?;
                Ok(Self(*xy))
            }
            _ => Err(invalid_point()),
        }
    }

    /// Rebuilds a point from its x coordinate and the parity of y (point decompression).
    ///
    /// # Errors
    /// `Decode(InvalidPoint)` when `x` is not the x coordinate of a curve point.
    pub fn from_x_and_parity(x: &[u8; 32], y_is_odd: bool) -> Result<Self> {
        Self::from_x_and_parity_on::<RustCrypto>(x, y_is_odd)
    }

    /// [`from_x_and_parity`](Self::from_x_and_parity) on the provider `P`.
    pub(crate) fn from_x_and_parity_on<P: CryptoProvider>(
        x: &[u8; 32],
        y_is_odd: bool,
    ) -> Result<Self> {
        let mut sec1 = [0u8; COMPRESSED_LEN];
        let (tag, rest) = sec1.split_at_mut(1);
        tag.copy_from_slice(&[if y_is_odd { 0x03 } else { 0x02 }]);
        rest.copy_from_slice(x);
        P::p256_parse_public(&sec1)
    }

    /// The SEC1 uncompressed encoding `04 || x || y`.
    #[must_use]
    pub fn to_uncompressed(&self) -> [u8; UNCOMPRESSED_LEN] {
        let mut out = [0x04; UNCOMPRESSED_LEN];
        if let Some(xy) = out.last_chunk_mut::<64>() {
            *xy = self.0;
        }
        out
    }

    /// The SEC1 compressed encoding `02|03 || x`.
    #[must_use]
    pub fn to_compressed(&self) -> [u8; COMPRESSED_LEN] {
        let mut out = [if self.y_is_odd() { 0x03 } else { 0x02 }; COMPRESSED_LEN];
        if let Some(x) = out.last_chunk_mut::<32>() {
            *x = self.x();
        }
        out
    }

    /// The x coordinate.
    #[must_use]
    pub fn x(&self) -> [u8; 32] {
        *self.0.first_chunk::<32>().unwrap_or(&[0; 32])
    }

    /// Whether the y coordinate is odd (the bit a compressed point carries).
    #[must_use]
    pub fn y_is_odd(&self) -> bool {
        self.0.last().is_some_and(|b| b & 1 == 1)
    }
    /// Verifies an ECDSA P-256 signature over a SHA-256 digest.
    ///
    /// High-S signatures are accepted, as X.509 and Wycheproof's P1363 set require; use
    /// [`verify_digest_low_s`](Self::verify_digest_low_s) where one encoding is required.
    ///
    /// Runs on the default provider, [`RustCrypto`] (see there for the `small-stack`
    /// feature).
    ///
    /// # Errors
    /// [`Error::Crypto`] if the signature does not verify.
    pub fn verify_digest(&self, digest: &[u8; 32], sig: &EcdsaSignature) -> Result<()> {
        self.verify_digest_on::<RustCrypto>(digest, sig)
    }

    /// [`verify_digest`](Self::verify_digest) on the provider `P`.
    pub(crate) fn verify_digest_on<P: CryptoProvider>(
        &self,
        digest: &[u8; 32],
        sig: &EcdsaSignature,
    ) -> Result<()> {
        P::p256_verify_digest(self, digest, sig)
    }

    /// Verifies as [`verify_digest`](Self::verify_digest), and refuses the high-S twin of
    /// a valid signature: the rule of every signature inside provkit's own formats.
    ///
    /// # Errors
    /// [`Error::Crypto`] if `s > n/2` or the signature does not verify.
    pub fn verify_digest_low_s(&self, digest: &[u8; 32], sig: &EcdsaSignature) -> Result<()> {
        self.verify_digest_low_s_on::<RustCrypto>(digest, sig)
    }

    /// [`verify_digest_low_s`](Self::verify_digest_low_s) on the provider `P`.
    pub(crate) fn verify_digest_low_s_on<P: CryptoProvider>(
        &self,
        digest: &[u8; 32],
        sig: &EcdsaSignature,
    ) -> Result<()> {
        if !sig.is_low_s() {
            return Err(Error::Crypto);
        }
        self.verify_digest_on::<P>(digest, sig)
    }

    /// The `p256` point (RustCrypto's arithmetic): checked on the curve once more, as
    /// `p256` offers no unchecked constructor. `None` only if a provider's
    /// [`p256_check_point`](CryptoProvider::p256_check_point) admitted a point off the
    /// curve.
    pub(crate) fn p256_key(&self) -> Option<p256::PublicKey> {
        p256_point(&self.0)
    }

    /// A `p256` key (always a valid point) as an `EcPublicKey`: nothing to check.
    pub(crate) fn from_p256(pk: &p256::PublicKey) -> Self {
        let mut xy = [0u8; 64];
        let (x, y) = xy.split_at_mut(32);
        x.copy_from_slice(&pk.as_affine().x());
        y.copy_from_slice(&pk.as_affine().y());
        Self(xy)
    }
}

/// The `p256` point of the coordinates `xy = x || y`, if they are field elements and the
/// point is on the curve (and so not the identity).
pub(crate) fn p256_point(xy: &[u8; 64]) -> Option<p256::PublicKey> {
    let (x, y) = xy.split_at(32);
    let x = p256::FieldBytes::try_from(x).ok()?;
    let y = p256::FieldBytes::try_from(y).ok()?;
    let point = p256::AffinePoint::from_coordinates(&x, &y).into_option()?;
    p256::PublicKey::from_affine(point).ok()
}

/// The one error of every refused point.
fn invalid_point() -> Error {
    Error::decode(crate::error::DecodeErrorKind::InvalidPoint, 0)
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

/// The P-256 group order `n`, big-endian.
const ORDER: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
];

/// `⌊n/2⌋` for the P-256 group order `n`, big-endian: the largest low-S `s`.
const HALF_ORDER: [u8; 32] = [
    0x7F, 0xFF, 0xFF, 0xFF, 0x80, 0x00, 0x00, 0x00, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xDE, 0x73, 0x7D, 0x56, 0xD3, 0x8B, 0xCF, 0x42, 0x79, 0xDC, 0xE5, 0x61, 0x7E, 0x31, 0x92, 0xA8,
];

/// Compares two 32-byte big-endian numbers (public values: variable time). One small
/// loop, where `<=` on arrays would call `memcmp` on the device.
#[inline(never)]
fn cmp_be(a: &[u8; 32], b: &[u8; 32]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        if x != y {
            return x.cmp(y);
        }
    }
    Ordering::Equal
}

/// A raw ECDSA P-256 signature `r || s`, 32 bytes each, big-endian.
///
/// Not validated on construction: verification rejects out-of-range scalars.
///
/// ECDSA is malleable: if `(r, s)` verifies, so does `(r, n - s)`. Every signature
/// provkit writes is *low-S* (`s ≤ n/2`, [`normalize_s`](Self::normalize_s)), and its own
/// formats (compact certificates, handshake, replacement statements) accept only that
/// form ([`is_low_s`](Self::is_low_s)), so one signed statement has one byte string.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct EcdsaSignature(pub [u8; SIGNATURE_LEN]);

impl EcdsaSignature {
    /// Whether `s ≤ n/2`: the one of the two encodings `(r, s)`, `(r, n - s)` of a
    /// signature that provkit writes and that its own formats accept.
    #[must_use]
    pub fn is_low_s(&self) -> bool {
        cmp_be(self.s(), &HALF_ORDER) != Ordering::Greater
    }

    /// The low-S form: `(r, n - s)` if `s > n/2`, else `self` unchanged. A signature with
    /// `s ≥ n` (which verifies under no key) is returned unchanged.
    ///
    /// Plain byte arithmetic, branching on `s`: a signature is public, and which of the
    /// two forms a signer produced first says only which of `±k` its nonce was (the
    /// recovery id's bit), nothing about the key.
    #[must_use]
    #[inline(never)]
    pub fn normalize_s(self) -> Self {
        if self.is_low_s() || cmp_be(self.s(), &ORDER) != Ordering::Less {
            return self;
        }
        // s := n - s in place, big-endian, the borrow running from the last byte up.
        let mut out = self;
        let mut borrow = 0u16;
        let mut i = ORDER.len();
        while i > 0 {
            i -= 1;
            if let (Some(s), Some(n)) = (out.0.get_mut(32 + i), ORDER.get(i)) {
                let d = 0x100 + u16::from(*n) - u16::from(*s) - borrow;
                *s = d.to_be_bytes()[1];
                borrow = u16::from(d < 0x100);
            }
        }
        out
    }

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

/// A fresh ephemeral P-256 key pair; consumed by the one ECDH it is for (the handshake's,
/// and an HPKE sender's on devices).
pub(crate) struct Ephemeral<P: CryptoProvider = RustCrypto>(P::P256Key);

impl<P: CryptoProvider> Ephemeral<P> {
    pub(crate) fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self(P::p256_generate(rng))
    }

    /// The public key.
    pub(crate) fn public_key(&self) -> EcPublicKey {
        P::p256_public_key(&self.0)
    }

    /// The public key, compressed.
    pub(crate) fn public(&self) -> [u8; COMPRESSED_LEN] {
        self.public_key().to_compressed()
    }

    /// ECDH with `peer`: the x-coordinate of the shared point.
    ///
    /// # Errors
    /// [`Error::Crypto`] if the provider's agreement fails.
    pub(crate) fn agree(self, peer: &EcPublicKey) -> Result<SecretBytes<32>> {
        P::p256_ecdh(&self.0, peer)
    }
}

/// SHA-256 of `data`.
#[must_use]
pub fn sha256(data: &[u8]) -> [u8; 32] {
    sha256_parts(&[data])
}

/// SHA-256 of the concatenation of `parts`: the one copy for the handshake's transcript
/// hashes and the envelope layer's signature and binding digests.
#[must_use]
pub(crate) fn sha256_parts(parts: &[&[u8]]) -> [u8; 32] {
    RustCrypto::sha256(parts)
}
