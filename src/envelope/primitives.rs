//! The symmetric primitives of the envelope layer, AES-GCM with a 96-bit nonce,
//! HKDF-SHA256 and AES-CMAC, as hazmat functions for external vector suites.
//!
//! The envelope, HPKE, telemetry and shipment code run these on the crypto provider
//! ([`crate::provider`]); CMAC on the crate's AES. With the `hazmat` feature, the
//! `dangerous_` wrappers expose them so that external vector suites (Wycheproof AES-GCM
//! and HKDF, RFC 5869) can check them on the default provider; they take raw keys and
//! caller-chosen nonces, which the rest of the API never does.

use crate::error::Result;
#[cfg(feature = "hazmat")]
use crate::provider::{CryptoProvider, RustCrypto};

/// HKDF-SHA256 extract-then-expand, with `info` given in parts (concatenated).
#[cfg(feature = "hazmat")]
fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[&[u8]], out: &mut [u8]) -> Result<()> {
    let mut prk = crate::secret::SecretBytes::<32>::zero();
    RustCrypto::hmac_sha256(salt, &[ikm], prk.expose_mut())?;
    RustCrypto::hkdf_expand(prk.expose(), info, out)
}

/// AES-CMAC (NIST SP 800-38B) of one message under an AES key of 16, 24 or 32 bytes.
///
/// # Errors
/// `Decode(InvalidLength)` for another length; `Unsupported` for a size whose feature
/// (`aes192`, `aes256`) is off.
pub(crate) fn aes_cmac(key: &[u8], msg: &[u8]) -> Result<[u8; 16]> {
    Ok(crate::block::AesEnc::new(key)?.cmac(msg))
}

/// AES-GCM encryption in place with a caller-chosen nonce, exactly as the envelope layer
/// runs it. **Hazmat**: a repeated (key, nonce) pair destroys confidentiality and
/// integrity; the envelope API derives a fresh key and nonce per message instead.
///
/// `key` is 16, 24 or 32 bytes (AES-128/192/256-GCM); the nonce is 96 bits, the tag 128.
///
/// # Errors
/// `Decode(InvalidLength)` for another key length or a message over the GCM limit.
#[cfg(feature = "hazmat")]
pub fn dangerous_aes_gcm_seal_in_place(
    key: &[u8],
    nonce: &[u8; 12],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; 16]> {
    RustCrypto::aes_gcm_seal(key, nonce, aad, buf)
}

/// AES-GCM decryption in place with a caller-chosen nonce. **Hazmat** (see
/// [`dangerous_aes_gcm_seal_in_place`]).
///
/// # Errors
/// [`Error::Crypto`](crate::Error::Crypto) when the tag does not verify (`buf` is then
/// left as it was); `Decode(InvalidLength)` for a key that is not 16, 24 or 32 bytes.
#[cfg(feature = "hazmat")]
pub fn dangerous_aes_gcm_open_in_place(
    key: &[u8],
    nonce: &[u8; 12],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; 16],
) -> Result<()> {
    RustCrypto::aes_gcm_open(key, nonce, aad, buf, tag)
}

/// HKDF-SHA256 (RFC 5869) extract-then-expand into `out`, as the envelope layer derives
/// its keys and commitments. **Hazmat**: raw key material in and out.
///
/// # Errors
/// `Decode(InvalidLength)` when `out` is longer than 255 × 32 bytes.
#[cfg(feature = "hazmat")]
pub fn dangerous_hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) -> Result<()> {
    hkdf_sha256(salt, ikm, &[info], out)
}

/// AES-CMAC of `msg` under a raw AES key of 16, 24 or 32 bytes, as the key check values
/// are computed. **Hazmat**: raw key material in.
///
/// # Errors
/// `Decode(InvalidLength)` for another key length.
#[cfg(feature = "hazmat")]
pub fn dangerous_aes_cmac(key: &[u8], msg: &[u8]) -> Result<[u8; 16]> {
    aes_cmac(key, msg)
}
