//! Secret byte containers.
//!
//! Secrets in this crate are fixed-size arrays wrapped in types that
//! - zeroize their bytes when dropped,
//! - are neither `Clone` nor `Copy`, so a key has one owner and one place to be wiped,
//! - compare only in constant time ([`subtle::ConstantTimeEq`]), never with `==`,
//! - print only their type name in `Debug`.
//!
//! Raw byte access outside the crate is behind the `hazmat` feature and named
//! `dangerous_…`, so a reviewer can grep for every place a secret leaves its type.

use core::fmt;
use subtle::{Choice, ConstantTimeEq};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// `N` secret bytes: zeroized on drop, no `Clone`, constant-time equality, redacted `Debug`.
///
/// ```
/// use provkit::secret::SecretBytes;
/// use subtle::ConstantTimeEq;
///
/// let a = SecretBytes::new([7u8; 16]);
/// let b = SecretBytes::new([7u8; 16]);
/// assert!(bool::from(a.ct_eq(&b)));
/// assert_eq!(format!("{a:?}"), "SecretBytes<16>(..)");
/// ```
pub struct SecretBytes<const N: usize>([u8; N]);

impl<const N: usize> SecretBytes<N> {
    /// Takes ownership of `bytes`. The caller's copy, if any, is theirs to wipe.
    #[must_use]
    pub const fn new(bytes: [u8; N]) -> Self {
        Self(bytes)
    }

    /// All-zero secret, to be filled in place (avoids a stack copy of the key).
    #[must_use]
    pub const fn zero() -> Self {
        Self([0u8; N])
    }

    /// Fills a fresh secret from a cryptographic RNG.
    pub fn random<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut s = Self::zero();
        rng.fill_bytes(&mut s.0);
        s
    }

    /// Copies `bytes` in; fails unless it is exactly `N` bytes long.
    ///
    /// # Errors
    /// [`Error::Decode`](crate::Error::Decode) with `InvalidLength` when the length differs.
    #[inline(never)]
    pub fn from_slice(bytes: &[u8]) -> crate::Result<Self> {
        let mut s = Self::zero();
        if bytes.len() != N {
            return Err(crate::Error::decode(
                crate::error::DecodeErrorKind::InvalidLength,
                bytes.len().min(N),
            ));
        }
        s.0.copy_from_slice(bytes);
        Ok(s)
    }

    /// Length in bytes.
    #[must_use]
    pub const fn len(&self) -> usize {
        N
    }

    /// True when `N == 0`.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        N == 0
    }

    /// The secret bytes, for use inside the crate only.
    pub(crate) const fn expose(&self) -> &[u8; N] {
        &self.0
    }

    /// Mutable secret bytes, for filling in place inside the crate.
    pub(crate) fn expose_mut(&mut self) -> &mut [u8; N] {
        &mut self.0
    }

    /// The raw secret bytes. Every call is a place where the secret leaves its type.
    #[cfg(feature = "hazmat")]
    #[must_use]
    pub const fn dangerous_expose(&self) -> &[u8; N] {
        &self.0
    }
}

impl<const N: usize> ConstantTimeEq for SecretBytes<N> {
    fn ct_eq(&self, other: &Self) -> Choice {
        self.0.ct_eq(&other.0)
    }
}

impl<const N: usize> fmt::Debug for SecretBytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes<{N}>(..)")
    }
}

impl<const N: usize> Zeroize for SecretBytes<N> {
    fn zeroize(&mut self) {
        self.0.zeroize();
    }
}

impl<const N: usize> Drop for SecretBytes<N> {
    #[inline]
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Zeroizes `bytes`: one copy of the wiping loop for every secret size.
#[inline(never)]
pub(crate) fn wipe(bytes: &mut [u8]) {
    bytes.zeroize();
}

impl<const N: usize> ZeroizeOnDrop for SecretBytes<N> {}

/// A secret of variable length up to `N` bytes (e.g. a key of 16, 24 or 32 bytes).
///
/// Same guarantees as [`SecretBytes`]; equality also compares the length (which is
/// not secret) before the bytes (in constant time).
pub struct SecretBuf<const N: usize> {
    bytes: SecretBytes<N>,
    len: usize,
}

impl<const N: usize> SecretBuf<N> {
    /// Copies `bytes` in.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`](crate::Error::BufferTooSmall) if `bytes` is longer than `N`.
    pub fn from_slice(bytes: &[u8]) -> crate::Result<Self> {
        let mut s = Self::empty();
        s.set(bytes)?;
        Ok(s)
    }

    /// An empty buffer.
    #[must_use]
    pub const fn empty() -> Self {
        Self {
            bytes: SecretBytes::zero(),
            len: 0,
        }
    }

    /// Replaces the contents with `bytes`.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`](crate::Error::BufferTooSmall) if `bytes` is longer than `N`.
    pub fn set(&mut self, bytes: &[u8]) -> crate::Result<()> {
        let dst = self
            .bytes
            .0
            .get_mut(..bytes.len())
            .ok_or(crate::Error::buffer_too_small(bytes.len()))?;
        dst.copy_from_slice(bytes);
        self.len = bytes.len();
        Ok(())
    }

    /// Length in bytes.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The secret bytes, for use inside the crate only.
    pub(crate) fn expose(&self) -> &[u8] {
        self.bytes.0.get(..self.len).unwrap_or(&[])
    }

    /// The raw secret bytes. Every call is a place where the secret leaves its type.
    #[cfg(feature = "hazmat")]
    #[must_use]
    pub fn dangerous_expose(&self) -> &[u8] {
        self.expose()
    }
}

impl<const N: usize> ConstantTimeEq for SecretBuf<N> {
    fn ct_eq(&self, other: &Self) -> Choice {
        if self.len != other.len {
            return Choice::from(0);
        }
        self.expose().ct_eq(other.expose())
    }
}

impl<const N: usize> fmt::Debug for SecretBuf<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBuf<{N}>(len {}, ..)", self.len)
    }
}

impl<const N: usize> Zeroize for SecretBuf<N> {
    fn zeroize(&mut self) {
        self.bytes.zeroize();
        self.len = 0;
    }
}

impl<const N: usize> ZeroizeOnDrop for SecretBuf<N> {}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;
    use std::format;

    #[test]
    fn debug_never_prints_bytes() {
        let s = SecretBytes::new([0xAB; 4]);
        let text = format!("{s:?}");
        assert!(!text.to_lowercase().contains("ab"), "{text}");
        let b = SecretBuf::<32>::from_slice(&[0xCD; 16]).unwrap();
        let text = format!("{b:?}");
        assert!(!text.to_lowercase().contains("cd"), "{text}");
    }

    #[test]
    fn ct_eq_distinguishes() {
        let a = SecretBytes::new([1u8; 8]);
        let mut b = SecretBytes::new([1u8; 8]);
        assert!(bool::from(a.ct_eq(&b)));
        b.expose_mut()[7] = 2;
        assert!(!bool::from(a.ct_eq(&b)));
        let x = SecretBuf::<16>::from_slice(&[1; 8]).unwrap();
        let y = SecretBuf::<16>::from_slice(&[1; 9]).unwrap();
        assert!(!bool::from(x.ct_eq(&y)));
    }

    #[test]
    fn zeroize_clears() {
        let mut s = SecretBytes::new([9u8; 8]);
        s.zeroize();
        assert_eq!(s.expose(), &[0u8; 8]);
        let mut b = SecretBuf::<8>::from_slice(&[9; 8]).unwrap();
        b.zeroize();
        assert!(b.is_empty());
    }

    #[test]
    fn wrong_lengths_are_errors() {
        assert!(SecretBytes::<4>::from_slice(&[0; 5]).is_err());
        assert!(SecretBuf::<4>::from_slice(&[0; 5]).is_err());
    }
}
