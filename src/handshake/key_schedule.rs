//! Transcript hashes, HKDF-SHA256 derivations and the AES-128-GCM calls of the handshake.
//!
//! Every label starts with [`LABEL_PREFIX`] and names its role, so no key, nonce or
//! signature input of one role or message can be mistaken for another's (reflection and
//! cross-protocol defence).

use crate::envelope::primitives::{hkdf_expand, hmac_sha256};
use crate::error::{Error, Result};
use crate::secret::SecretBytes;
use aes_gcm::aead::{AeadInOut, KeyInit};

/// Prefix of every label.
pub(crate) const LABEL_PREFIX: &[u8] = b"provkit hs v1 ";
/// AES-GCM tag length.
pub(crate) const TAG_LEN: usize = 16;

/// SHA-256 over the concatenation of `parts`.
pub(crate) use crate::ec::sha256_parts as hash;

/// The digest an identity key signs: `SHA-256(prefix || role label || TH || credential)`.
pub(crate) fn signature_digest(role: &[u8], th: &[u8; 32], credential: &[u8]) -> [u8; 32] {
    hash(&[LABEL_PREFIX, role, th, credential])
}

/// HKDF-Extract(salt, ikm) → PRK.
pub(crate) fn extract(salt: &[u8; 32], ikm: &SecretBytes<32>) -> Result<SecretBytes<32>> {
    let mut prk = SecretBytes::zero();
    hmac_sha256(salt, &[ikm.expose()], prk.expose_mut())?;
    Ok(prk)
}

/// HKDF-Expand(prk, prefix || label || context) into `N` bytes.
pub(crate) fn expand<const N: usize>(
    prk: &SecretBytes<32>,
    label: &[u8],
    context: &[u8],
) -> Result<SecretBytes<N>> {
    let mut out = SecretBytes::<N>::zero();
    hkdf_expand(
        prk.expose(),
        &[LABEL_PREFIX, label, context],
        out.expose_mut(),
    )
    .map_err(|_| Error::Crypto)?;
    Ok(out)
}

/// An AES-128-GCM key and its 12-byte IV, derived together.
pub(crate) struct AeadKey {
    key: SecretBytes<16>,
    iv: SecretBytes<12>,
}

impl AeadKey {
    pub(crate) fn derive(prk: &SecretBytes<32>, label: &[u8], context: &[u8]) -> Result<Self> {
        let both = expand::<28>(prk, label, context)?;
        let mut key = SecretBytes::<16>::zero();
        let mut iv = SecretBytes::<12>::zero();
        let (k, i) = both.expose().split_at(16);
        key.expose_mut().copy_from_slice(k);
        iv.expose_mut().copy_from_slice(i);
        Ok(Self { key, iv })
    }

    fn nonce(&self, seq: u64) -> [u8; 12] {
        let mut n = *self.iv.expose();
        for (b, s) in n.iter_mut().skip(4).zip(seq.to_be_bytes()) {
            *b ^= s;
        }
        n
    }

    /// Encrypts `buf` in place and returns the tag.
    pub(crate) fn seal(&self, seq: u64, aad: &[u8], buf: &mut [u8]) -> Result<[u8; TAG_LEN]> {
        let cipher = aes_gcm::Aes128Gcm::new(self.key.expose().into());
        let tag = cipher
            .encrypt_inout_detached(&self.nonce(seq).into(), aad, buf.into())
            .map_err(|_| Error::Crypto)?;
        Ok(tag.into())
    }

    /// Decrypts `buf` in place if `tag` verifies; on failure `buf` is zeroed.
    pub(crate) fn open(&self, seq: u64, aad: &[u8], buf: &mut [u8], tag: &[u8]) -> Result<()> {
        let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| Error::Crypto)?;
        let cipher = aes_gcm::Aes128Gcm::new(self.key.expose().into());
        let result = cipher
            .decrypt_inout_detached(&self.nonce(seq).into(), aad, buf.into(), &tag.into())
            .map_err(|_| Error::Crypto);
        if result.is_err() {
            zeroize::Zeroize::zeroize(buf);
        }
        result
    }
}

impl core::fmt::Debug for AeadKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AeadKey(..)")
    }
}
