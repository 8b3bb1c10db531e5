//! Transcript hashes, HKDF-SHA256 derivations and the AES-128-GCM calls of the handshake.
//!
//! Every label starts with [`LABEL_PREFIX`] and names its role, so no key, nonce or
//! signature input of one role or message can be mistaken for another's (reflection and
//! cross-protocol defence).

use crate::error::{Error, Result};
use crate::provider::{CryptoProvider, GCM_NONCE_LEN as NONCE_LEN};
use crate::secret::SecretBytes;
use core::marker::PhantomData;

/// Prefix of every label.
pub(crate) const LABEL_PREFIX: &[u8] = b"provkit hs v1 ";
pub(crate) use crate::provider::GCM_TAG_LEN as TAG_LEN;

/// SHA-256 of the concatenation of `parts` (transcript hashes).
pub(crate) fn hash<P: CryptoProvider>(parts: &[&[u8]]) -> [u8; 32] {
    P::sha256(parts)
}

/// The digest an identity key signs: `SHA-256(prefix || role label || TH || credential)`.
pub(crate) fn signature_digest<P: CryptoProvider>(
    role: &[u8],
    th: &[u8; 32],
    credential: &[u8],
) -> [u8; 32] {
    hash::<P>(&[LABEL_PREFIX, role, th, credential])
}

/// HKDF-Extract(salt, ikm) → PRK.
pub(crate) fn extract<P: CryptoProvider>(
    salt: &[u8; 32],
    ikm: &SecretBytes<32>,
) -> Result<SecretBytes<32>> {
    let mut prk = SecretBytes::zero();
    P::hmac_sha256(salt, &[ikm.expose()], prk.expose_mut())?;
    Ok(prk)
}

/// HKDF-Expand(prk, prefix || label || context) into `N` bytes (at most 32: every key,
/// IV and secret of the schedule fits one HMAC block of output).
pub(crate) fn expand<P: CryptoProvider, const N: usize>(
    prk: &SecretBytes<32>,
    label: &[u8],
    context: &[u8],
) -> SecretBytes<N> {
    const { assert!(N <= 32) };
    let mut out = SecretBytes::<N>::zero();
    expand_into::<P>(prk, label, context, out.expose_mut());
    out
}

/// [`expand`] into a slice: the one copy of the expansion code for every output size.
#[inline(never)]
fn expand_into<P: CryptoProvider>(
    prk: &SecretBytes<32>,
    label: &[u8],
    context: &[u8],
    out: &mut [u8],
) {
    // It cannot fail: the PRK is a full SHA-256 output and `out` is at most one block
    // (`expand`'s const assertion), far below HKDF's 255-block limit.
    let _ = P::hkdf_expand(prk.expose(), &[LABEL_PREFIX, label, context], out);
}

/// An AES-128-GCM key and its 12-byte IV, derived together: key || IV; sealing and
/// opening on the provider `P`.
pub(crate) struct AeadKey<P>(SecretBytes<28>, PhantomData<P>);

impl<P: CryptoProvider> AeadKey<P> {
    pub(crate) fn derive(prk: &SecretBytes<32>, label: &[u8], context: &[u8]) -> Self {
        Self(expand::<P, 28>(prk, label, context), PhantomData)
    }

    fn key(&self) -> &[u8] {
        self.0.expose().get(..16).unwrap_or(&[])
    }

    fn nonce(&self, seq: u64) -> [u8; NONCE_LEN] {
        let mut n = [0u8; NONCE_LEN];
        if let Some(iv) = self.0.expose().last_chunk::<NONCE_LEN>() {
            n = *iv;
        }
        for (b, s) in n.iter_mut().skip(4).zip(seq.to_be_bytes()) {
            *b ^= s;
        }
        n
    }

    /// Encrypts `buf` in place and returns the tag.
    pub(crate) fn seal(&self, seq: u64, aad: &[u8], buf: &mut [u8]) -> Result<[u8; TAG_LEN]> {
        P::aes_gcm_seal(self.key(), &self.nonce(seq), aad, buf).map_err(|_| Error::Crypto)
    }

    /// Decrypts `buf` in place if `tag` verifies; on failure `buf` is zeroed.
    pub(crate) fn open(&self, seq: u64, aad: &[u8], buf: &mut [u8], tag: &[u8]) -> Result<()> {
        let tag: [u8; TAG_LEN] = tag.try_into().map_err(|_| Error::Crypto)?;
        let result = P::aes_gcm_open(self.key(), &self.nonce(seq), aad, buf, &tag);
        if result.is_err() {
            zeroize::Zeroize::zeroize(buf);
        }
        result
    }
}

impl<P> core::fmt::Debug for AeadKey<P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AeadKey(..)")
    }
}
