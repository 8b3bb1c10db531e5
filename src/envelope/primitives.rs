//! The symmetric primitives under the envelope layer: AES-GCM with a 96-bit nonce,
//! HKDF-SHA256 and AES-CMAC.
//!
//! The crate-internal functions here are the only place the envelope, HPKE, telemetry and
//! shipment code touch AES-GCM, HKDF and CMAC directly (HPKE's key schedule, AEAD and
//! exporter in `envelope::hpke` run on them). With the `hazmat` feature, the `dangerous_`
//! wrappers expose exactly these functions so that external vector suites (Wycheproof
//! AES-GCM and HKDF, RFC 5869) can check them; they take raw keys and caller-chosen
//! nonces, which the rest of the API never does.

use crate::error::{DecodeErrorKind, Error, Result};
use aes_gcm::aead::array::Array;
use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::aead::{AeadInOut, KeyInit};

/// Length of an AES-GCM tag.
pub(crate) const TAG_LEN: usize = 16;
/// Length of an AES-GCM nonce (96 bits, the only size this crate uses).
pub(crate) const NONCE_LEN: usize = 12;

#[cfg(feature = "aes192")]
type Aes192Gcm = aes_gcm::AesGcm<aes::Aes192, aes_gcm::aead::consts::U12>;

/// AES-GCM encryption of `buf` (in place or in → out), returning the tag. `key` is 16,
/// 24 or 32 bytes; `Unsupported` for a size whose feature (`aes192`, `aes256`) is off.
pub(crate) fn gcm_seal(
    key: &[u8],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: InOutBuf<'_, '_, u8>,
) -> Result<[u8; TAG_LEN]> {
    let nonce = Array::from(*nonce);
    macro_rules! go {
        ($c:ty) => {
            <$c>::new(key.try_into().map_err(|_| Error::Unsupported)?)
                .encrypt_inout_detached(&nonce, aad, buf)
                .map(Into::into)
                .map_err(|_| Error::decode(DecodeErrorKind::InvalidLength, 0))
        };
    }
    match key.len() {
        16 => go!(aes_gcm::Aes128Gcm),
        #[cfg(feature = "aes192")]
        24 => go!(Aes192Gcm),
        #[cfg(feature = "aes256")]
        32 => go!(aes_gcm::Aes256Gcm),
        #[cfg(not(feature = "aes192"))]
        24 => Err(Error::Unsupported),
        #[cfg(not(feature = "aes256"))]
        32 => Err(Error::Unsupported),
        n => Err(Error::decode(DecodeErrorKind::InvalidLength, n)),
    }
}

/// AES-GCM decryption of `buf` (in place or in → out) after checking `tag` in constant
/// time. On failure the output holds no plaintext (the tag is checked before any
/// keystream is applied).
pub(crate) fn gcm_open(
    key: &[u8],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    buf: InOutBuf<'_, '_, u8>,
    tag: &[u8; TAG_LEN],
) -> Result<()> {
    let nonce = Array::from(*nonce);
    let tag = Array::from(*tag);
    macro_rules! go {
        ($c:ty) => {
            <$c>::new(key.try_into().map_err(|_| Error::Unsupported)?)
                .decrypt_inout_detached(&nonce, aad, buf, &tag)
                .map_err(|_| Error::Crypto)
        };
    }
    match key.len() {
        16 => go!(aes_gcm::Aes128Gcm),
        #[cfg(feature = "aes192")]
        24 => go!(Aes192Gcm),
        #[cfg(feature = "aes256")]
        32 => go!(aes_gcm::Aes256Gcm),
        #[cfg(not(feature = "aes192"))]
        24 => Err(Error::Unsupported),
        #[cfg(not(feature = "aes256"))]
        32 => Err(Error::Unsupported),
        n => Err(Error::decode(DecodeErrorKind::InvalidLength, n)),
    }
}

/// HMAC-SHA256(`key`, concatenation of `parts`) into `out`. As HKDF-Extract(salt = `key`,
/// IKM = `parts`) this is the PRK; RFC 9180 also uses some extracts as hashes.
#[inline(never)]
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]], out: &mut [u8; 32]) -> Result<()> {
    use hmac::digest::{FixedOutput as _, KeyInit as _, Update as _};
    hmac::Hmac::<sha2::Sha256>::new_from_slice(key)
        .map(|mut mac| {
            for part in parts {
                mac.update(part);
            }
            mac.finalize_into(out.into());
        })
        .map_err(|_| Error::Unsupported)
}

/// HKDF-Expand(PRK, info, L) with `info` given in parts (concatenated), `L = out.len()`.
///
/// # Errors
/// `Decode(InvalidLength)` when `out` is longer than 255 × 32 bytes.
#[inline(never)]
pub(crate) fn hkdf_expand(prk: &[u8; 32], info: &[&[u8]], out: &mut [u8]) -> Result<()> {
    let len = out.len();
    hkdf::Hkdf::<sha2::Sha256>::from_prk(prk)
        .map_err(|_| Error::Crypto)
        .and_then(|hk| {
            hk.expand_multi_info(info, out)
                .map_err(|_| Error::decode(DecodeErrorKind::InvalidLength, len))
        })
}

/// HKDF-SHA256 extract-then-expand, with `info` given in parts (concatenated).
#[cfg(feature = "hazmat")]
fn hkdf_sha256(salt: &[u8], ikm: &[u8], info: &[&[u8]], out: &mut [u8]) -> Result<()> {
    let mut prk = crate::secret::SecretBytes::<32>::zero();
    hmac_sha256(salt, &[ikm], prk.expose_mut())?;
    hkdf_expand(prk.expose(), info, out)
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
    gcm_seal(key, nonce, aad, buf.into())
}

/// AES-GCM decryption in place with a caller-chosen nonce. **Hazmat** (see
/// [`dangerous_aes_gcm_seal_in_place`]).
///
/// # Errors
/// [`Error::Crypto`] when the tag does not verify (`buf` is then left as it was);
/// `Decode(InvalidLength)` for a key that is not 16, 24 or 32 bytes.
#[cfg(feature = "hazmat")]
pub fn dangerous_aes_gcm_open_in_place(
    key: &[u8],
    nonce: &[u8; 12],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; 16],
) -> Result<()> {
    gcm_open(key, nonce, aad, buf.into(), tag)
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
