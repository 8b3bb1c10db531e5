//! Key fingerprints: what `UNIQUE(fingerprint)` compares, without a plaintext key in any
//! table.
//!
//! `fp = SHA-256(FINGERPRINT_DOMAIN ‖ kind ‖ T)` where `T` is an AES CBC-MAC, computed by
//! handle under a dedicated AES key `F` in the KEK store, over
//! `B₀ = kind ‖ len ‖ 0…` followed by the key in 16-byte blocks (the last zero-padded).
//! Every message of a kind has the same length and starts with that length, so CBC-MAC is
//! a pseudorandom function here: distinct keys collide with probability about 2⁻¹²⁸.
//! The hash on top makes the value one-way even for someone holding `F`. `F` is never
//! rotated (fingerprints must stay comparable); KEK rotation does not touch it.

use crate::codec::kind_code;
use crate::error::{LedgerError, Result};
use provkit::store::{KeyId, KeyKind, SymmetricKeys};
use sha2::Digest;
use zeroize::Zeroize;

/// Domain separation for fingerprints.
pub const FINGERPRINT_DOMAIN: &[u8] = b"provkit-ledger key fingerprint v1\0";

/// The fingerprint of the AES key `key` of `kind`, under the fingerprint key
/// `fingerprint_key` held in `keys`.
///
/// # Errors
/// [`LedgerError::Corrupt`] when `key` does not have `kind`'s length or `kind` is not AES;
/// store errors for `fingerprint_key`.
pub fn fingerprint<K: SymmetricKeys + ?Sized>(
    keys: &mut K,
    fingerprint_key: KeyId,
    kind: KeyKind,
    key: &[u8],
) -> Result<[u8; 32]> {
    let code = kind_code(kind)?;
    if key.len() != kind.key_len() {
        return Err(LedgerError::Corrupt("key length"));
    }
    let len = u8::try_from(key.len()).map_err(|_| LedgerError::Corrupt("key length"))?;
    let mut x = [0u8; 16];
    x[0] = code;
    x[1] = len;
    keys.encrypt_block(fingerprint_key, &mut x)?;
    for block in key.chunks(16) {
        for (a, b) in x.iter_mut().zip(block) {
            *a ^= *b;
        }
        keys.encrypt_block(fingerprint_key, &mut x)?;
    }
    let mut h = sha2::Sha256::new();
    h.update(FINGERPRINT_DOMAIN);
    h.update([code]);
    h.update(x);
    x.zeroize();
    Ok(h.finalize().into())
}
