//! The AES DUKPT key derivation function (NIST SP 800-108 counter mode with AES-ECB as
//! the PRF) and the AES block primitives behind it.

use crate::error::{DecodeErrorKind, Error, Result};
use aes::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};

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

fn run<C: KeyInit + BlockCipherEncrypt<BlockSize = aes::cipher::consts::U16>>(
    key: &[u8],
    mut dd: [u8; 16],
    out: &mut [u8],
) -> Result<()> {
    let cipher = C::new_from_slice(key)
        .map_err(|_| Error::decode(DecodeErrorKind::InvalidLength, key.len()))?;
    for (i, chunk) in out.chunks_mut(16).enumerate() {
        // The key block counter: 01 for the first block, 02 for the second.
        let counter = u8::try_from(i + 1).map_err(|_| Error::Unsupported)?;
        if let Some(b) = dd.get_mut(1) {
            *b = counter;
        }
        let mut block = Array::from(dd);
        cipher.encrypt_block(&mut block);
        let n = chunk.len();
        chunk.copy_from_slice(block.get(..n).ok_or(Error::Unsupported)?);
        zeroize::Zeroize::zeroize(block.as_mut_slice());
    }
    Ok(())
}

/// `out = KDF(key, dd)`: concatenated AES-ECB blocks of `dd` with block counters 1, 2,
/// truncated to `out.len()` (16, 24 or 32 bytes). `key` is 16, 24 or 32 bytes.
///
/// # Errors
/// `Decode(InvalidLength)` for a key length that is not an AES key.
pub(crate) fn kdf(key: &[u8], dd: [u8; 16], out: &mut [u8]) -> Result<()> {
    match key.len() {
        16 => run::<aes::Aes128Enc>(key, dd, out),
        24 => run::<aes::Aes192Enc>(key, dd, out),
        32 => run::<aes::Aes256Enc>(key, dd, out),
        n => Err(Error::decode(DecodeErrorKind::InvalidLength, n)),
    }
}

/// Encrypts one block under an AES key of 16, 24 or 32 bytes.
///
/// # Errors
/// `Decode(InvalidLength)` for another key length.
pub(crate) fn aes_encrypt(key: &[u8], block: &mut [u8; 16]) -> Result<()> {
    macro_rules! go {
        ($c:ty) => {{
            let cipher = <$c>::new_from_slice(key)
                .map_err(|_| Error::decode(DecodeErrorKind::InvalidLength, key.len()))?;
            cipher.encrypt_block(block.into());
            Ok(())
        }};
    }
    match key.len() {
        16 => go!(aes::Aes128Enc),
        24 => go!(aes::Aes192Enc),
        32 => go!(aes::Aes256Enc),
        n => Err(Error::decode(DecodeErrorKind::InvalidLength, n)),
    }
}

/// Decrypts one block under an AES key of 16, 24 or 32 bytes.
///
/// # Errors
/// `Decode(InvalidLength)` for another key length.
pub(crate) fn aes_decrypt(key: &[u8], block: &mut [u8; 16]) -> Result<()> {
    macro_rules! go {
        ($c:ty) => {{
            let cipher = <$c>::new_from_slice(key)
                .map_err(|_| Error::decode(DecodeErrorKind::InvalidLength, key.len()))?;
            cipher.decrypt_block(block.into());
            Ok(())
        }};
    }
    match key.len() {
        16 => go!(aes::Aes128Dec),
        24 => go!(aes::Aes192Dec),
        32 => go!(aes::Aes256Dec),
        n => Err(Error::decode(DecodeErrorKind::InvalidLength, n)),
    }
}
