//! The crypto provider: every cryptographic primitive provkit's protocols and software key
//! stores run, behind one trait.
//!
//! The protocols need a small, fixed set of operations: P-256 key generation, ECDH, ECDSA
//! signing and verification over a SHA-256 digest, point validation and decompression;
//! SHA-256, HMAC-SHA256 and HKDF-SHA256's expand; AES-GCM with a 96-bit nonce; and the
//! AES block operation (DUKPT, key check values, CMAC). [`CryptoProvider`] names exactly
//! these, so that one implementation can be swapped for another without touching
//! protocol code, as rustls's `CryptoProvider` does for TLS.
//!
//! [`RustCrypto`] implements them on the RustCrypto crates (`p256`, `sha2`, `hmac`,
//! `hkdf`, `aes`, `aes-gcm`): no_std, no heap, constant-time where secrets are involved,
//! and the provider of every device build. A provider is a type, not a value: code
//! generic over it compiles to direct calls, so a device pays nothing for the boundary.
//! A server can use a faster implementation (the `provkit-aws-lc` companion crate
//! implements the trait on aws-lc-rs).
//!
//! # What an implementation must guarantee
//! - Every function gives the same result as [`RustCrypto`] for every input, except
//!   [`p256_sign_digest`](CryptoProvider::p256_sign_digest), whose nonce may be random
//!   (RFC 6979 or hedged): the signature must verify, and provkit normalises it to low-S.
//! - Errors are the ones documented on each function; invalid input is an error, never a
//!   panic.
//! - Secret values (keys, shared secrets) are wiped when the provider's own copies are
//!   dropped.
//! - It passes `suite::all` (feature `test-suite`): known answers from the standards,
//!   and every operation against [`RustCrypto`] in both directions; and the Wycheproof
//!   files its crate's tests run on it (ECDSA P-256, AES-GCM, HKDF).
//!
//! ```
//! use provkit::provider::{CryptoProvider, RustCrypto};
//! let digest = RustCrypto::sha256(&[b"ab", b"c"]);
//! assert_eq!(digest, RustCrypto::sha256(&[b"abc"]));
//! ```

use crate::ec::{EcPublicKey, EcdsaSignature};
use crate::error::Result;
use crate::secret::SecretBytes;

pub mod block_gcm;
mod rustcrypto;
#[cfg(feature = "test-suite")]
pub mod suite;
pub use rustcrypto::{AesKey as RustCryptoAesKey, P256Key as RustCryptoP256Key, RustCrypto};

/// Length of an AES-GCM tag.
pub const GCM_TAG_LEN: usize = 16;
/// Length of an AES-GCM nonce (96 bits, the only size provkit uses).
pub const GCM_NONCE_LEN: usize = 12;

/// The cryptographic operations provkit's protocols and software stores use. See the
/// [module documentation](self) for what an implementation must guarantee.
///
/// All functions are associated functions: a provider is chosen by type, and code generic
/// over `P: CryptoProvider` is monomorphised to direct calls.
pub trait CryptoProvider {
    /// A P-256 private key, prepared for signing and ECDH (parsed once). Implementations
    /// wipe it on drop. Making one from a scalar should be cheap (no public-key
    /// computation until [`p256_public_key`](Self::p256_public_key) asks): stores that
    /// keep keys at rest make one per operation.
    type P256Key;
    /// An AES encryption key schedule of 16, 24 or 32 bytes of key.
    type AesKey;

    /// A P-256 key from its private scalar (32 bytes, big-endian).
    ///
    /// # Errors
    /// [`Error::Crypto`](crate::Error::Crypto) when the scalar is 0 or not below the
    /// group order.
    fn p256_key_from_scalar(scalar: &SecretBytes<32>) -> Result<Self::P256Key>;

    /// A new random P-256 key drawn from `rng`.
    fn p256_generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self::P256Key;

    /// The private scalar of `key`, big-endian (to store or wrap it).
    fn p256_scalar(key: &Self::P256Key) -> SecretBytes<32>;

    /// The public key of `key`.
    fn p256_public_key(key: &Self::P256Key) -> EcPublicKey;

    /// An ECDSA P-256 signature over a SHA-256 digest, in either of its two forms (the
    /// caller normalises it to low-S).
    ///
    /// # Errors
    /// [`Error::Crypto`](crate::Error::Crypto) if signing fails.
    fn p256_sign_digest(key: &Self::P256Key, digest: &[u8; 32]) -> Result<EcdsaSignature>;

    /// ECDH: the x coordinate of `key · peer`.
    ///
    /// # Errors
    /// [`Error::Crypto`](crate::Error::Crypto) if the agreement fails (it cannot for a
    /// validated `peer`).
    fn p256_ecdh(key: &Self::P256Key, peer: &EcPublicKey) -> Result<SecretBytes<32>>;

    /// Parses and validates a SEC1 point, compressed (33 bytes, decompressed here) or
    /// uncompressed (65 bytes): on the curve, not the identity.
    ///
    /// # Errors
    /// `Decode(InvalidPoint)` for anything else.
    fn p256_parse_public(sec1: &[u8]) -> Result<EcPublicKey>;

    /// Checks the affine point `xy = x || y` (big-endian coordinates): `x` and `y` are
    /// below the field prime p and `y² = x³ - 3x + b`. The identity has no affine
    /// coordinates, so no point that passes is the identity.
    /// [`EcPublicKey::from_uncompressed_on`] makes a key of `xy` on this check alone,
    /// which is how a provider that computes points itself (d·G, a decompression) hands
    /// them to provkit.
    ///
    /// The default is [`RustCrypto`]'s check, on `p256`'s field arithmetic. A provider
    /// with arithmetic of its own should override it, so that a firmware built on that
    /// provider links no second implementation of the curve (the Cortex-M4 assembly
    /// provider, `provkit-cm4`, checks with the assembly).
    ///
    /// # Errors
    /// `Decode(InvalidPoint)` when `xy` is not a point of the curve.
    fn p256_check_point(xy: &[u8; 64]) -> Result<()> {
        rustcrypto::check_point(xy)
    }

    /// Verifies an ECDSA P-256 signature over a SHA-256 digest. High-S signatures verify
    /// (callers that require low-S check it first).
    ///
    /// # Errors
    /// [`Error::Crypto`](crate::Error::Crypto) if it does not verify.
    fn p256_verify_digest(key: &EcPublicKey, digest: &[u8; 32], sig: &EcdsaSignature)
    -> Result<()>;

    /// SHA-256 of the concatenation of `parts`.
    fn sha256(parts: &[&[u8]]) -> [u8; 32];

    /// HMAC-SHA256 under `key` (any length) of the concatenation of `parts`, into `out`
    /// (a secret's buffer, so that no copy is left behind). As HKDF-Extract(salt = `key`,
    /// IKM = `parts`) this is the PRK.
    ///
    /// # Errors
    /// [`Error::Unsupported`](crate::Error::Unsupported) if the implementation refuses
    /// the key (neither provider in this workspace does: HMAC takes any length).
    fn hmac_sha256(key: &[u8], parts: &[&[u8]], out: &mut [u8; 32]) -> Result<()>;

    /// HKDF-Expand (RFC 5869, SHA-256) of `prk` with `info` given in parts (concatenated),
    /// `L = out.len()`.
    ///
    /// # Errors
    /// `Decode(InvalidLength)` when `out` is longer than 255 × 32 bytes.
    fn hkdf_expand(prk: &[u8; 32], info: &[&[u8]], out: &mut [u8]) -> Result<()>;

    /// AES-GCM encryption of `buf` in place under a 16-, 24- or 32-byte key; returns the
    /// tag.
    ///
    /// # Errors
    /// `Decode(InvalidLength)` for another key length or a message over the GCM limit;
    /// [`Error::Unsupported`](crate::Error::Unsupported) for a key size the build leaves
    /// out.
    fn aes_gcm_seal(
        key: &[u8],
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; GCM_TAG_LEN]>;

    /// AES-GCM encryption of `input` into `output` (the same length; `input` unchanged).
    ///
    /// # Errors
    /// As [`aes_gcm_seal`](Self::aes_gcm_seal), and `Decode(InvalidLength)` when the
    /// lengths differ.
    fn aes_gcm_seal_to(
        key: &[u8],
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<[u8; GCM_TAG_LEN]>;

    /// AES-GCM decryption of `buf` in place after checking `tag` in constant time. On
    /// failure `buf` is left as it was: the caller keeps the ciphertext it could not open,
    /// and no plaintext.
    ///
    /// # Errors
    /// [`Error::Crypto`](crate::Error::Crypto) when the tag does not verify; key length
    /// errors as [`aes_gcm_seal`](Self::aes_gcm_seal).
    fn aes_gcm_open(
        key: &[u8],
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; GCM_TAG_LEN],
    ) -> Result<()>;

    /// AES-GCM decryption of `input` into `output` (the same length). On failure
    /// `output` holds no plaintext.
    ///
    /// # Errors
    /// As [`aes_gcm_open`](Self::aes_gcm_open), and `Decode(InvalidLength)` when the
    /// lengths differ.
    fn aes_gcm_open_to(
        key: &[u8],
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        input: &[u8],
        output: &mut [u8],
        tag: &[u8; GCM_TAG_LEN],
    ) -> Result<()>;

    /// The encryption key schedule of a 16-, 24- or 32-byte AES key.
    ///
    /// # Errors
    /// `Decode(InvalidLength)` for another length;
    /// [`Error::Unsupported`](crate::Error::Unsupported) for a size the build leaves out.
    fn aes_key(key: &[u8]) -> Result<Self::AesKey>;

    /// Encrypts each 16-byte block of `blocks` in place (ECB: the block operation, for
    /// KDFs, check values and CMAC; never a mode for data).
    ///
    /// # Errors
    /// `Decode(InvalidLength)` when `blocks` is not a whole number of blocks.
    fn aes_encrypt_blocks(key: &Self::AesKey, blocks: &mut [u8]) -> Result<()>;
}

/// Where an AES-GCM operation reads and writes: in place, or from one buffer into
/// another of the same length (crate-internal: picks the provider function).
pub(crate) enum AeadBuf<'i, 'o> {
    /// Encrypt or decrypt these bytes in place.
    InPlace(&'o mut [u8]),
    /// Read `input`, write `output`.
    Copy {
        input: &'i [u8],
        output: &'o mut [u8],
    },
}

impl<'o> From<&'o mut [u8]> for AeadBuf<'_, 'o> {
    fn from(buf: &'o mut [u8]) -> Self {
        Self::InPlace(buf)
    }
}

/// [`CryptoProvider::aes_gcm_seal`] or [`aes_gcm_seal_to`](CryptoProvider::aes_gcm_seal_to)
/// for `buf`.
pub(crate) fn gcm_seal<P: CryptoProvider>(
    key: &[u8],
    nonce: &[u8; GCM_NONCE_LEN],
    aad: &[u8],
    buf: AeadBuf<'_, '_>,
) -> Result<[u8; GCM_TAG_LEN]> {
    match buf {
        AeadBuf::InPlace(buf) => P::aes_gcm_seal(key, nonce, aad, buf),
        AeadBuf::Copy { input, output } => P::aes_gcm_seal_to(key, nonce, aad, input, output),
    }
}

/// [`CryptoProvider::aes_gcm_open`] or [`aes_gcm_open_to`](CryptoProvider::aes_gcm_open_to)
/// for `buf`.
pub(crate) fn gcm_open<P: CryptoProvider>(
    key: &[u8],
    nonce: &[u8; GCM_NONCE_LEN],
    aad: &[u8],
    buf: AeadBuf<'_, '_>,
    tag: &[u8; GCM_TAG_LEN],
) -> Result<()> {
    match buf {
        AeadBuf::InPlace(buf) => P::aes_gcm_open(key, nonce, aad, buf, tag),
        AeadBuf::Copy { input, output } => P::aes_gcm_open_to(key, nonce, aad, input, output, tag),
    }
}
