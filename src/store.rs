//! Key stores: keys by handle, never by value.
//!
//! Protocol code in this crate never holds a long-term private key. It asks a store to
//! sign, to do ECDH, to encrypt an AES block or to wrap a key, naming the key by a
//! [`KeyId`]. The same traits are implemented by a RAM store on a microcontroller, a NOR
//! flash store, a secure element, SQLite or PostgreSQL on a server and a PKCS#11 HSM.
//!
//! The capabilities are split so that a store implements what its hardware can do:
//!
//! | trait | what | typical implementers |
//! |---|---|---|
//! | [`KeyInventory`] | which keys exist, of what kind; delete | all |
//! | [`IdentityKeys`] | P-256: generate, public key, sign a digest, ECDH | secure element, HSM, all software stores |
//! | [`SymmetricKeys`] | AES/TDES: import, generate, encrypt a block, wrap and unwrap | HSM, software stores |
//! | [`Records`] | small opaque records: counters, DUKPT registers, pinned peers | flash, databases |
//! | [`KeyStore`] | all of the above (blanket impl) | software stores |
//!
//! All methods take `&mut self`: hardware that performs one operation at a time (an I²C
//! secure element, a PKCS#11 session) implements them without interior mutability.
//!
//! # What implementers must guarantee
//!
//! - **No export.** No method returns a stored private or secret key in the clear.
//!   [`SymmetricKeys::unwrap_bytes`] returns key material that was *given* wrapped, which is
//!   the caller's to protect; stored keys leave only wrapped ([`SymmetricKeys::wrap_key`]).
//! - **Atomic updates.** [`Records::write_record`] replaces a record entirely or not at
//!   all, even across a power cut or crash: a reader sees the old or the new value, never a
//!   mix, never nothing. DUKPT counters rely on it to never reuse a transaction key.
//! - **Durability before success.** When a write or key creation returns `Ok`, the
//!   change survives a power cut or process crash.
//! - **Kinds are enforced.** Using a key for an operation of another kind (ECDH with an AES
//!   key, an AES block with a TDES key) fails with [`StoreError::WrongKeyKind`].
//! - **No silent overwrite.** Creating a key or importing one under an id in use fails with
//!   [`StoreError::AlreadyExists`]; records, by contrast, are overwritten by design.
//! - **Valid points only.** [`IdentityKeys::ecdh`] receives an already validated
//!   [`EcPublicKey`]; hardware stores that re-encode it must not skip their own checks.
//!
//! Run `store::suite` (feature `test-suite`) against a new implementation to check these.
//!
//! # RustCrypto signers
//!
//! [`StoreSigner`] lends a store's P-256 key to RustCrypto code as a
//! `signature::hazmat::PrehashSigner`, `Signer` and `Keypair`; [`ExternalSigner`] makes a
//! RustCrypto signer (a KMS client) a provkit identity for signing.

use crate::ec::{EcPublicKey, EcdsaSignature};
use crate::error::Result;
use crate::secret::SecretBytes;

#[cfg(feature = "embedded-storage")]
pub mod flash;
#[cfg(feature = "std")]
pub mod import;
pub mod memory;
mod signer;
mod soft;
#[cfg(feature = "test-suite")]
pub mod suite;

pub use crate::error::{BackendCause, StoreError};
pub use memory::{KeyOnlyStore, MemoryStore};
pub use signer::{ExternalSigner, StoreSigner};
pub(crate) use soft::SoftKey;

/// A key handle: an opaque number the store maps to a key slot, HSM object or row.
///
/// 32 bits fit every backend: a secure-element slot, a PKCS#11 `CKA_ID`, a database key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub u32);

/// A record handle, in its own namespace beside [`KeyId`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId(pub u32);

/// The kind of a stored key, fixing which operations it allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyKind {
    /// A P-256 private key: sign and ECDH.
    P256,
    /// AES with a 128-bit key.
    Aes128,
    /// AES with a 192-bit key.
    Aes192,
    /// AES with a 256-bit key.
    Aes256,
    /// Two-key triple DES (16 bytes), for legacy DUKPT.
    Tdes2,
    /// Three-key triple DES (24 bytes), for legacy DUKPT.
    Tdes3,
}

impl KeyKind {
    /// Length of the secret key material in bytes.
    #[must_use]
    pub const fn key_len(self) -> usize {
        match self {
            Self::P256 | Self::Aes256 => 32,
            Self::Aes128 | Self::Tdes2 => 16,
            Self::Aes192 | Self::Tdes3 => 24,
        }
    }

    /// Block size of the cipher, or `None` for P-256.
    #[must_use]
    pub const fn block_len(self) -> Option<usize> {
        match self {
            Self::P256 => None,
            Self::Aes128 | Self::Aes192 | Self::Aes256 => Some(16),
            Self::Tdes2 | Self::Tdes3 => Some(8),
        }
    }

    /// The AES kind for a key of `len` bytes.
    #[must_use]
    pub const fn aes_for_len(len: usize) -> Option<Self> {
        match len {
            16 => Some(Self::Aes128),
            24 => Some(Self::Aes192),
            32 => Some(Self::Aes256),
            _ => None,
        }
    }
}

/// How a symmetric key wrap encodes its output.
///
/// The length limits are those of NIST SP 800-38F (section 5.3.1, Table 1) and are
/// enforced by [`wrapped_len`](Self::wrapped_len) and [`unwrapped_len`](Self::unwrapped_len),
/// which every store's `wrap_bytes`, `unwrap_bytes`, `wrap_key` and `unwrap_key` apply before any
/// cipher work.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WrapAlgorithm {
    /// AES Key Wrap, RFC 3394 / SP 800-38F KW: plaintext a multiple of 8 bytes, at least
    /// 16 (two semiblocks); wrapped output 8 bytes longer, so at least 24.
    AesKw,
    /// AES Key Wrap with Padding, RFC 5649 / SP 800-38F KWP: plaintext of 1 to
    /// 2^32 - 1 bytes (its length travels in a 32-bit field); wrapped output a multiple
    /// of 8 bytes, at least 16.
    AesKwp,
}

/// The largest KWP plaintext: its length is a 32-bit field of the integrity check value.
const KWP_MAX_PLAINTEXT: u64 = u32::MAX as u64;
/// The largest KW plaintext: 2^54 - 1 semiblocks (SP 800-38F, Table 1).
const KW_MAX_PLAINTEXT: u64 = ((1 << 54) - 1) * 8;

impl WrapAlgorithm {
    /// Length of the wrapped output for `len` bytes of input, or `None` if the
    /// algorithm cannot wrap that length (KW: not a multiple of 8, under 16 bytes or
    /// over 2^54 - 1 semiblocks; KWP: empty or 2^32 bytes or more).
    #[must_use]
    pub const fn wrapped_len(self, len: usize) -> Option<usize> {
        let ok = match self {
            Self::AesKw => len >= 16 && len.is_multiple_of(8) && len as u64 <= KW_MAX_PLAINTEXT,
            Self::AesKwp => len >= 1 && len as u64 <= KWP_MAX_PLAINTEXT,
        };
        if !ok {
            return None;
        }
        match len.div_ceil(8).checked_mul(8) {
            Some(padded) => padded.checked_add(8),
            None => None,
        }
    }

    /// The longest plaintext a wrapped input of `wrapped_len` bytes can unwrap to (the
    /// exact length for KW; for KWP the padded length, of which the integrity check value
    /// keeps 1 to 8 bytes less), or `None` if no output of this algorithm has that
    /// length: KW needs a multiple of 8 of at least 24 bytes (two semiblocks of key
    /// data, RFC 3394 2.2.2), KWP a multiple of 8 of at least 16 bytes whose plaintext
    /// fits the 32-bit length field.
    ///
    /// An unwrap refuses other lengths before any cipher work, and needs an output
    /// buffer of this length.
    #[must_use]
    pub const fn unwrapped_len(self, wrapped_len: usize) -> Option<usize> {
        if !wrapped_len.is_multiple_of(8) {
            return None;
        }
        let Some(max) = wrapped_len.checked_sub(8) else {
            return None;
        };
        let ok = match self {
            Self::AesKw => max >= 16 && max as u64 <= KW_MAX_PLAINTEXT,
            // The padded plaintext of a KWP input of at most 2^32 - 1 bytes is at most
            // 2^32 bytes.
            Self::AesKwp => max >= 8 && max as u64 <= KWP_MAX_PLAINTEXT + 1,
        };
        if ok { Some(max) } else { None }
    }
}

/// Keys present in a store. Every store implements this.
pub trait KeyInventory {
    /// The kind of the key under `id`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if there is none.
    fn key_kind(&mut self, id: KeyId) -> Result<KeyKind>;

    /// Destroys the key under `id` (zeroizing it where the medium allows).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] if there is none; backend failures.
    fn delete_key(&mut self, id: KeyId) -> Result<()>;
}

/// P-256 identity keys: the private key never leaves the store.
pub trait IdentityKeys: KeyInventory {
    /// Generates a P-256 key pair inside the store under `id` and returns its public key.
    ///
    /// Hardware that has its own generator may ignore `rng`.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`], [`StoreError::Full`], backend failures.
    fn generate_p256(
        &mut self,
        id: KeyId,
        rng: &mut dyn rand_core::CryptoRng,
    ) -> Result<EcPublicKey>;

    /// Stores an existing P-256 private scalar under `id` (e.g. received wrapped).
    ///
    /// # Errors
    /// [`Error::Unsupported`](crate::Error::Unsupported) where the hardware only
    /// generates keys; [`StoreError::AlreadyExists`]; `Crypto` for an invalid scalar.
    fn import_p256(&mut self, id: KeyId, scalar: &SecretBytes<32>) -> Result<EcPublicKey>;

    /// The public key of the P-256 key under `id`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::WrongKeyKind`].
    fn public_key(&mut self, id: KeyId) -> Result<EcPublicKey>;

    /// Signs a SHA-256 digest with ECDSA P-256, returning raw `r || s`.
    ///
    /// The software stores sign with RFC 6979 deterministic nonces and return the low-S
    /// form ([`EcdsaSignature::normalize_s`]); a hardware store may return either form:
    /// provkit normalizes every signature it writes into a certificate or message.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::WrongKeyKind`], backend failures.
    fn sign_digest(&mut self, id: KeyId, digest: &[u8; 32]) -> Result<EcdsaSignature>;

    /// Elliptic-curve Diffie-Hellman with the key under `id`; returns the x coordinate
    /// of the shared point. Feed it to a KDF, never use it as a key directly.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], [`StoreError::WrongKeyKind`], backend failures.
    fn ecdh(&mut self, id: KeyId, peer: &EcPublicKey) -> Result<SecretBytes<32>>;
}

/// Signs `digest` with the P-256 key `id` in `store` and returns the low-S form of what
/// the store returned: the one path by which provkit signs certificates, handshake
/// messages, replacement statements, shipments and telemetry, so that each has one
/// encoding even when an HSM returns high-S.
pub(crate) fn sign_low_s<S: IdentityKeys + ?Sized>(
    store: &mut S,
    id: KeyId,
    digest: &[u8; 32],
) -> Result<EcdsaSignature> {
    Ok(store.sign_digest(id, digest)?.normalize_s())
}

/// Symmetric keys (AES, TDES) used by handle.
///
/// **Key roles.** A store may give each key one role and refuse any other use with
/// [`StoreError::WrongKeyKind`]; a hardware store should, because one key that both wraps
/// stored keys out ([`wrap_key`](Self::wrap_key)) and releases what it unwraps
/// ([`unwrap_bytes`](Self::unwrap_bytes)), or that encrypts raw blocks and unwraps, lets a caller read
/// any stored key in the clear (Clulow's attacks). `provkit-pkcs11` separates derive keys
/// (`encrypt_block` only), data KEKs (`wrap_bytes`, `unwrap_bytes`), import KEKs (`unwrap_key` only)
/// and export KEKs (`wrap_key` only, trusted). The software stores do not: a process that
/// holds one holds every key in it.
pub trait SymmetricKeys: KeyInventory {
    /// Stores `key` of `kind` under `id`.
    ///
    /// # Errors
    /// [`StoreError::AlreadyExists`]; `Decode(InvalidLength)` when the length does not
    /// match `kind`; [`StoreError::WrongKeyKind`] for [`KeyKind::P256`].
    fn import_symmetric(&mut self, id: KeyId, kind: KeyKind, key: &[u8]) -> Result<()>;

    /// Generates a random key of `kind` inside the store under `id`.
    ///
    /// # Errors
    /// As [`import_symmetric`](Self::import_symmetric).
    fn generate_symmetric(
        &mut self,
        id: KeyId,
        kind: KeyKind,
        rng: &mut dyn rand_core::CryptoRng,
    ) -> Result<()>;

    /// Encrypts one block in place in ECB mode (16 bytes for AES, 8 for TDES): the
    /// primitive behind DUKPT derivation and key check values.
    ///
    /// # Errors
    /// `Decode(InvalidLength)` if `block` is not the cipher's block size;
    /// [`StoreError::NotFound`], [`StoreError::WrongKeyKind`].
    fn encrypt_block(&mut self, id: KeyId, block: &mut [u8]) -> Result<()>;

    /// Wraps caller-supplied key material under the AES key `kek`; returns the
    /// output length ([`WrapAlgorithm::wrapped_len`]).
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`](crate::Error::BufferTooSmall); `Decode(InvalidLength)`
    /// for a length the algorithm cannot wrap; store errors for `kek`.
    fn wrap_bytes(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<usize>;

    /// Unwraps `wrapped` under `kek` into `out`; returns the key length. `out` must hold
    /// [`WrapAlgorithm::unwrapped_len`] bytes.
    ///
    /// # Errors
    /// `Decode(InvalidLength)` for a wrapped length the algorithm never produces (KW under
    /// 24 bytes, KWP under 16, either not a multiple of 8), before any cipher work;
    /// [`Error::Crypto`](crate::Error::Crypto) if the integrity check fails;
    /// [`Error::BufferTooSmall`](crate::Error::BufferTooSmall); store errors for `kek`.
    fn unwrap_bytes(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        wrapped: &[u8],
        out: &mut [u8],
    ) -> Result<usize>;

    /// Wraps the stored symmetric key `key` under `kek` (the only way a stored secret
    /// leaves a store).
    ///
    /// # Errors
    /// As [`wrap_bytes`](Self::wrap_bytes), plus store errors for `key`.
    fn wrap_key(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        key: KeyId,
        out: &mut [u8],
    ) -> Result<usize>;

    /// Unwraps `wrapped` under `kek` and stores the result as a new key `id` of `kind`,
    /// without the key material passing through the caller. `wrapped` must be exactly
    /// as long as `alg` wraps a key of `kind` (`Decode(InvalidLength)` otherwise).
    ///
    /// # Errors
    /// As [`unwrap_bytes`](Self::unwrap_bytes) and [`import_symmetric`](Self::import_symmetric).
    fn unwrap_key(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        wrapped: &[u8],
        id: KeyId,
        kind: KeyKind,
    ) -> Result<()>;
}

/// Small opaque records, replaced atomically.
pub trait Records {
    /// The largest record this store accepts, in bytes (at least 64 for any store that
    /// passes `store::suite`).
    fn max_record_len(&self) -> usize;

    /// Reads the record `id` into `out`; returns its length.
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`Error::BufferTooSmall`](crate::Error::BufferTooSmall)
    /// (with the record's length) if `out` is too short; [`StoreError::Corrupt`].
    fn read_record(&mut self, id: RecordId, out: &mut [u8]) -> Result<usize>;

    /// Creates or replaces the record `id`, atomically and durably.
    ///
    /// # Errors
    /// [`StoreError::RecordTooLarge`], [`StoreError::Full`], backend failures.
    fn write_record(&mut self, id: RecordId, data: &[u8]) -> Result<()>;

    /// Deletes the record `id`.
    ///
    /// # Errors
    /// [`StoreError::NotFound`], backend failures.
    fn delete_record(&mut self, id: RecordId) -> Result<()>;
}

/// A store that can do everything: software stores, databases, HSMs.
pub trait KeyStore: IdentityKeys + SymmetricKeys + Records {}

impl<T: IdentityKeys + SymmetricKeys + Records + ?Sized> KeyStore for T {}
