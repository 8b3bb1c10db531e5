//! The AES DUKPT key derivation function (NIST SP 800-108 counter mode with AES-ECB as
//! the PRF), on the crate's run-time-sized AES ([`crate::block`]).

use crate::block::AesEnc;
use crate::error::Result;
use crate::secret::SecretBytes;
use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};

/// Key usage code of intermediate derivation keys.
pub(crate) const USAGE_KEY_DERIVATION: u16 = 0x8000;
/// Key usage code of the initial key.
pub(crate) const USAGE_INITIAL_KEY: u16 = 0x8001;

/// The 16-byte derivation data with block counter 1:
/// `01 | 01 | usage | algorithm | length in bits | tail (8 bytes)`.
#[inline]
pub(crate) const fn derivation_data(
    usage: u16,
    algorithm: u16,
    bits: u16,
    tail: [u8; 8],
) -> [u8; 16] {
    let [u0, u1] = usage.to_be_bytes();
    let [a0, a1] = algorithm.to_be_bytes();
    let [l0, l1] = bits.to_be_bytes();
    let [t0, t1, t2, t3, t4, t5, t6, t7] = tail;
    [
        0x01, 0x01, u0, u1, a0, a1, l0, l1, t0, t1, t2, t3, t4, t5, t6, t7,
    ]
}

/// The tail of a non-initial derivation data block: Derivation ID || counter.
#[inline]
pub(crate) const fn tail(derivation_id: [u8; 4], counter: u32) -> [u8; 8] {
    let [a, b, c, d] = derivation_id;
    let [w, x, y, z] = counter.to_be_bytes();
    [a, b, c, d, w, x, y, z]
}

/// Writes `counter` into bytes 12..16 of derivation data.
#[inline]
pub(crate) fn set_counter(dd: &mut [u8; 16], counter: u32) {
    let (_, last) = dd.split_at_mut(12);
    last.copy_from_slice(&counter.to_be_bytes());
}

/// One AES-128 derivation step in place: `key = AES-128(key, dd)`. The hot path of host
/// derivation for AES-128 initial keys: one key schedule and one block, no branches.
#[inline]
pub(crate) fn step128(key: &mut [u8; 16], dd: &[u8; 16]) {
    let cipher = aes::Aes128Enc::new(&Array::from(*key));
    let mut block = Array::from(*dd);
    cipher.encrypt_block(&mut block);
    *key = block.into();
}

/// Encrypts `blocks` (ECB) under `key` (16, 24 or 32 bytes) with one key schedule and
/// one call into the aes crate: the host's way to derive several keys from one
/// intermediate key. AES-128 keys take the fixed-size type directly (no key-size
/// dispatch, as [`step128`]).
///
/// # Errors
/// As [`AesEnc::new`].
#[inline]
pub(crate) fn encrypt_blocks(key: &[u8], blocks: &mut [[u8; 16]]) -> Result<()> {
    if let Ok(key) = <&[u8; 16]>::try_from(key) {
        let cipher = aes::Aes128Enc::new(&Array::from(*key));
        cipher.encrypt_blocks(Array::cast_slice_from_core_mut(blocks));
        return Ok(());
    }
    AesEnc::new(key)?.encrypt_blocks(blocks);
    Ok(())
}

/// `out = KDF(key, dd)`: concatenated AES-ECB blocks of `dd` with block counters 1, 2,
/// truncated to `out.len()` (16, 24 or 32 bytes). `key` is 16, 24 or 32 bytes.
///
/// # Errors
/// As [`AesEnc::new`].
pub(crate) fn kdf(key: &[u8], dd: [u8; 16], out: &mut [u8]) -> Result<()> {
    let cipher = AesEnc::new(key)?;
    let mut block = SecretBytes::<16>::zero();
    let mut counter = 0u8;
    for chunk in out.chunks_mut(16) {
        // The key block counter: 01 for the first block, 02 for the second.
        counter = counter.wrapping_add(1);
        let b = block.expose_mut();
        *b = dd;
        b[1] = counter;
        cipher.encrypt(b);
        for (o, x) in chunk.iter_mut().zip(b.iter()) {
            *o = *x;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    #[test]
    fn kdf_blocks_carry_their_counter() {
        let key = [7u8; 16];
        let dd = [0x01, 0x01, 0x80, 0x00, 0, 4, 1, 0, 1, 2, 3, 4, 5, 6, 7, 8];
        let mut out = [0u8; 32];
        kdf(&key, dd, &mut out).unwrap();
        let cipher = AesEnc::new(&key).unwrap();
        let mut b1 = dd;
        cipher.encrypt(&mut b1);
        let mut b2 = dd;
        b2[1] = 2;
        cipher.encrypt(&mut b2);
        assert_eq!(out[..16], b1);
        assert_eq!(out[16..], b2);
        let mut short = [0u8; 24];
        kdf(&key, dd, &mut short).unwrap();
        assert_eq!(short[..], out[..24]);
    }
}
