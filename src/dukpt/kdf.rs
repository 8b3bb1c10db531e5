//! The AES DUKPT key derivation function (NIST SP 800-108 counter mode with AES-ECB as
//! the PRF) and the AES block primitives behind it.

use crate::error::{DecodeErrorKind, Error, Result};
use crate::secret::SecretBytes;
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

/// The error for an AES key of `len` bytes that [`AesEnc::new`] refuses:
/// `Decode(InvalidLength)` when no AES key has that length, [`Error::Unsupported`] when
/// its size is left out of this build.
const fn key_len_error(len: usize) -> Error {
    match len {
        16 | 24 | 32 => Error::Unsupported,
        n => Error::decode(DecodeErrorKind::InvalidLength, n),
    }
}

/// An AES encryption key schedule whose size is chosen at run time.
///
/// The one place the DUKPT code instantiates the AES ciphers, so that every operation
/// (KDF, PIN blocks, CMAC, CBC) shares one copy of each key size's code, and sizes left
/// out by features (`aes192`, `aes256`) are not linked at all. The aes
/// crate wipes the round keys on drop.
// Sized for the largest key schedule built in; it only ever lives on the stack for one
// operation (there is no heap to box it in).
#[allow(clippy::large_enum_variant)]
pub(crate) enum AesEnc {
    Aes128(aes::Aes128Enc),
    #[cfg(feature = "aes192")]
    Aes192(aes::Aes192Enc),
    #[cfg(feature = "aes256")]
    Aes256(aes::Aes256Enc),
}

impl AesEnc {
    /// The key schedule of a 16-, 24- or 32-byte key.
    ///
    /// # Errors
    /// `Decode(InvalidLength)` for another length; [`Error::Unsupported`] for a size this
    /// build leaves out.
    #[inline(never)]
    pub(crate) fn new(key: &[u8]) -> Result<Self> {
        let err = |_| key_len_error(key.len());
        match key.len() {
            16 => aes::Aes128Enc::new_from_slice(key)
                .map(Self::Aes128)
                .map_err(err),
            #[cfg(feature = "aes192")]
            24 => aes::Aes192Enc::new_from_slice(key)
                .map(Self::Aes192)
                .map_err(err),
            #[cfg(feature = "aes256")]
            32 => aes::Aes256Enc::new_from_slice(key)
                .map(Self::Aes256)
                .map_err(err),
            n => Err(key_len_error(n)),
        }
    }

    /// Encrypts one block in place.
    #[inline(never)]
    pub(crate) fn encrypt(&self, block: &mut [u8; 16]) {
        let block = block.into();
        match self {
            Self::Aes128(c) => c.encrypt_block(block),
            #[cfg(feature = "aes192")]
            Self::Aes192(c) => c.encrypt_block(block),
            #[cfg(feature = "aes256")]
            Self::Aes256(c) => c.encrypt_block(block),
        }
    }

    /// `out = KDF(this key, dd)`: concatenated AES-ECB blocks of `dd` with block
    /// counters 1, 2, …, truncated to `out.len()`.
    pub(crate) fn kdf(&self, dd: &[u8; 16], out: &mut [u8]) {
        let mut block = SecretBytes::<16>::zero();
        let mut counter = 0u8;
        for chunk in out.chunks_mut(16) {
            // The key block counter: 01 for the first block, 02 for the second.
            counter = counter.wrapping_add(1);
            let b = block.expose_mut();
            *b = *dd;
            b[1] = counter;
            self.encrypt(b);
            for (o, x) in chunk.iter_mut().zip(b.iter()) {
                *o = *x;
            }
        }
    }

    /// AES-CMAC (NIST SP 800-38B) of `msg`. The subkeys and the chaining value are
    /// wiped on return.
    pub(crate) fn cmac(&self, msg: &[u8]) -> [u8; 16] {
        // Subkey K1 = dbl(E(0)); K2 = dbl(K1).
        let mut subkey = SecretBytes::<16>::zero();
        let k = subkey.expose_mut();
        self.encrypt(k);
        dbl(k);
        let mut state = SecretBytes::<16>::zero();
        let x = state.expose_mut();
        let mut blocks = msg.chunks(16);
        // The last block (empty for an empty message) is completed with a subkey.
        let last = blocks.next_back().unwrap_or(&[]);
        for block in blocks {
            xor(x, block);
            self.encrypt(x);
        }
        xor(x, last);
        if last.len() < 16 {
            if let Some(b) = x.get_mut(last.len()) {
                *b ^= 0x80;
            }
            dbl(k);
        }
        xor(x, k);
        self.encrypt(x);
        *x
    }
}

/// `dst ^= src` over their common length.
pub(crate) fn xor(dst: &mut [u8; 16], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d ^= s;
    }
}

/// Doubling in GF(2^128) (SP 800-38B subkey generation), in constant time.
fn dbl(b: &mut [u8; 16]) {
    let mut carry = 0u8;
    for x in b.iter_mut().rev() {
        let msb = *x >> 7;
        *x = (*x << 1) | carry;
        carry = msb;
    }
    // `carry` is now the most significant bit of the input.
    b[15] ^= 0x87 & carry.wrapping_neg();
}

/// An AES decryption key schedule whose size is chosen at run time (host-side
/// operations: PIN block and CBC decryption).
// Sized for the largest key schedule built in; it only ever lives on the stack for one
// operation (there is no heap to box it in).
#[allow(clippy::large_enum_variant)]
pub(crate) enum AesDec {
    Aes128(aes::Aes128Dec),
    #[cfg(feature = "aes192")]
    Aes192(aes::Aes192Dec),
    #[cfg(feature = "aes256")]
    Aes256(aes::Aes256Dec),
}

impl AesDec {
    /// The decryption key schedule of a 16-, 24- or 32-byte key.
    ///
    /// # Errors
    /// As [`AesEnc::new`].
    #[inline(never)]
    pub(crate) fn new(key: &[u8]) -> Result<Self> {
        let err = |_| key_len_error(key.len());
        match key.len() {
            16 => aes::Aes128Dec::new_from_slice(key)
                .map(Self::Aes128)
                .map_err(err),
            #[cfg(feature = "aes192")]
            24 => aes::Aes192Dec::new_from_slice(key)
                .map(Self::Aes192)
                .map_err(err),
            #[cfg(feature = "aes256")]
            32 => aes::Aes256Dec::new_from_slice(key)
                .map(Self::Aes256)
                .map_err(err),
            n => Err(key_len_error(n)),
        }
    }

    /// Decrypts one block in place.
    #[inline(never)]
    pub(crate) fn decrypt(&self, block: &mut [u8; 16]) {
        let block = block.into();
        match self {
            Self::Aes128(c) => c.decrypt_block(block),
            #[cfg(feature = "aes192")]
            Self::Aes192(c) => c.decrypt_block(block),
            #[cfg(feature = "aes256")]
            Self::Aes256(c) => c.decrypt_block(block),
        }
    }
}

/// `out = KDF(key, dd)`: concatenated AES-ECB blocks of `dd` with block counters 1, 2,
/// truncated to `out.len()` (16, 24 or 32 bytes). `key` is 16, 24 or 32 bytes.
///
/// # Errors
/// As [`AesEnc::new`].
pub(crate) fn kdf(key: &[u8], dd: [u8; 16], out: &mut [u8]) -> Result<()> {
    AesEnc::new(key)?.kdf(&dd, out);
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use cmac::Mac as _;

    fn bytes(seed: u8, n: usize) -> [u8; 80] {
        let mut out = [0u8; 80];
        for (i, b) in out.iter_mut().enumerate().take(n) {
            *b = seed
                .wrapping_mul(31)
                .wrapping_add(u8::try_from(i).unwrap().wrapping_mul(7));
        }
        out
    }

    /// This CMAC equals the cmac crate's over each fixed AES type, for every message
    /// length from 0 to 80 (empty, partial and complete last blocks).
    #[test]
    fn cmac_matches_the_cmac_crate() {
        macro_rules! fixed {
            ($c:ty, $key:expr, $msg:expr) => {{
                let mut m = <cmac::Cmac<$c> as KeyInit>::new_from_slice($key).unwrap();
                m.update($msg);
                <[u8; 16]>::from(m.finalize().into_bytes())
            }};
        }
        for key_len in [16, 24, 32] {
            let key = &bytes(3, key_len)[..key_len];
            for len in 0..=80 {
                let msg = &bytes(9, len)[..len];
                let want = match key_len {
                    16 => fixed!(aes::Aes128, key, msg),
                    24 => fixed!(aes::Aes192, key, msg),
                    _ => fixed!(aes::Aes256, key, msg),
                };
                let got = AesEnc::new(key).unwrap().cmac(msg);
                assert_eq!(got, want, "key {key_len} msg {len}");
            }
        }
    }

    #[test]
    fn any_size_cipher_matches_fixed_types() {
        for key_len in [16, 24, 32] {
            let key = &bytes(5, key_len)[..key_len];
            let mut block = [0x42u8; 16];
            let mut want = Array::from(block);
            match key_len {
                16 => aes::Aes128::new_from_slice(key)
                    .unwrap()
                    .encrypt_block(&mut want),
                24 => aes::Aes192::new_from_slice(key)
                    .unwrap()
                    .encrypt_block(&mut want),
                _ => aes::Aes256::new_from_slice(key)
                    .unwrap()
                    .encrypt_block(&mut want),
            }
            AesEnc::new(key).unwrap().encrypt(&mut block);
            assert_eq!(block, <[u8; 16]>::from(want), "{key_len}");
            AesDec::new(key).unwrap().decrypt(&mut block);
            assert_eq!(block, [0x42u8; 16], "{key_len}");
            let mut back = want;
            match key_len {
                16 => aes::Aes128::new_from_slice(key)
                    .unwrap()
                    .decrypt_block(&mut back),
                24 => aes::Aes192::new_from_slice(key)
                    .unwrap()
                    .decrypt_block(&mut back),
                _ => aes::Aes256::new_from_slice(key)
                    .unwrap()
                    .decrypt_block(&mut back),
            }
            assert_eq!(<[u8; 16]>::from(back), [0x42u8; 16]);
        }
        for bad in [0, 15, 17, 33] {
            assert_eq!(
                AesEnc::new(&[0u8; 40][..bad]).err(),
                Some(Error::decode(DecodeErrorKind::InvalidLength, bad))
            );
        }
    }

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
