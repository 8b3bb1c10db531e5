//! Key check values (KCV): AES-CMAC of an all-zero block, leftmost 5 bytes (ANSI X9.24-1
//! and PCI PIN 15-1 for AES keys).

use crate::envelope::primitives::aes_cmac;
use crate::error::{EnvelopeError, Error, Result};
use crate::secret::SecretBuf;
use crate::store::{KeyId, KeyKind, SymmetricKeys};
use core::fmt;
use subtle::ConstantTimeEq;

/// Length of a key check value in bytes (40 bits, the X9.24 maximum for AES).
pub const KCV_LEN: usize = 5;

/// A key check value: the leftmost 5 bytes of AES-CMAC(key, 0¹²⁸).
///
/// A KCV identifies a key without revealing it (it is public): custodians compare it
/// when they enter components, receivers compare it after unwrapping. Conventions differ
/// between vendors (some encrypt a block of `01` bytes and keep 3 bytes), so this crate
/// always names the method: X9.24 AES-CMAC, 5 bytes.
///
/// ```
/// use provkit::envelope::Kcv;
/// use provkit::secret::SecretBuf;
///
/// # fn main() -> provkit::Result<()> {
/// // The RFC 4493 example key; AES-CMAC(K, 0^128) = 7ad386c376 0fb349…
/// let key = SecretBuf::<32>::from_slice(&[
///     0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
///     0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c,
/// ])?;
/// let kcv = Kcv::of_key(&key)?;
/// assert_eq!(kcv.to_string(), "7ad386c376");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Kcv(pub [u8; KCV_LEN]);

impl Kcv {
    /// The KCV of an AES key held by the caller (16, 24 or 32 bytes).
    ///
    /// # Errors
    /// `Decode(InvalidLength)` for another key length.
    pub fn of_key<const N: usize>(key: &SecretBuf<N>) -> Result<Self> {
        Self::of_bytes(key.expose())
    }

    pub(crate) fn of_bytes(key: &[u8]) -> Result<Self> {
        let mac = aes_cmac(key, &[0u8; 16])?;
        let mut out = [0u8; KCV_LEN];
        out.copy_from_slice(mac.first_chunk::<KCV_LEN>().ok_or(Error::Unsupported)?);
        Ok(Self(out))
    }

    /// The KCV of the AES key `key` held in `store`, computed by handle: the key never
    /// leaves the store.
    ///
    /// CMAC of one all-zero block needs two block encryptions: `L = E_K(0)`,
    /// `K1 = dbl(L)`, `KCV = E_K(K1)` (NIST SP 800-38B §6.1–6.2 with `M = 0¹²⁸`, a complete
    /// block, so `M ⊕ K1 = K1`).
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a key that is not AES; store errors for `key`.
    pub fn of_stored_key<S: SymmetricKeys + ?Sized>(store: &mut S, key: KeyId) -> Result<Self> {
        match store.key_kind(key)? {
            KeyKind::Aes128 | KeyKind::Aes192 | KeyKind::Aes256 => {}
            _ => return Err(Error::Unsupported),
        }
        let mut block = [0u8; 16];
        store.encrypt_block(key, &mut block)?;
        let l = u128::from_be_bytes(block);
        // dbl() in GF(2^128), constant time: shift left, reduce with 0x87 if the top bit was set.
        let k1 = (l << 1) ^ ((l >> 127) * 0x87);
        let mut block = k1.to_be_bytes();
        store.encrypt_block(key, &mut block)?;
        let mut out = [0u8; KCV_LEN];
        out.copy_from_slice(block.first_chunk::<KCV_LEN>().ok_or(Error::Unsupported)?);
        Ok(Self(out))
    }

    /// Checks `self` against `expected` in constant time.
    ///
    /// # Errors
    /// [`EnvelopeError::KcvMismatch`] when they differ.
    pub fn check(&self, expected: &Self) -> Result<()> {
        if bool::from(self.0.ct_eq(&expected.0)) {
            Ok(())
        } else {
            Err(EnvelopeError::KcvMismatch.into())
        }
    }
}

impl fmt::Display for Kcv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Kcv {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kcv({self})")
    }
}
