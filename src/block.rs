//! AES with the key size chosen at run time: the one place the crate instantiates the AES
//! block ciphers, so that every operation on them (DUKPT's KDF, PIN blocks and CBC, the
//! AES-CMAC of DUKPT and of key check values, the software stores' block encryption)
//! shares one copy of each key size's code, and sizes left out by the features `aes192`
//! and `aes256` are not linked at all. The aes crate wipes the round keys on drop.

use crate::error::{DecodeErrorKind, Error, Result};
use crate::secret::SecretBytes;
use aes::cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};

/// The error for an AES key of `len` bytes that [`AesEnc::new`] refuses:
/// `Decode(InvalidLength)` when no AES key has that length, [`Error::Unsupported`] when
/// its size is left out of this build.
const fn key_len_error(len: usize) -> Error {
    match len {
        16 | 24 | 32 => Error::Unsupported,
        n => Error::decode(DecodeErrorKind::InvalidLength, n),
    }
}

/// Declares a run-time-sized AES key schedule: an enum over the fixed-size schedules
/// this build includes, its constructor and its one block operation.
macro_rules! run_time_sized {
    ($(#[$doc:meta])* $name:ident: $c128:ident, $c192:ident, $c256:ident; $op:ident => $block_op:ident) => {
        $(#[$doc])*
        // Sized for the largest key schedule built in; it only ever lives on the stack
        // for one operation (there is no heap to box it in).
        #[allow(clippy::large_enum_variant)]
        pub(crate) enum $name {
            Aes128(aes::$c128),
            #[cfg(feature = "aes192")]
            Aes192(aes::$c192),
            #[cfg(feature = "aes256")]
            Aes256(aes::$c256),
        }

        impl $name {
            /// The key schedule of a 16-, 24- or 32-byte key.
            ///
            /// # Errors
            /// `Decode(InvalidLength)` for another length; [`Error::Unsupported`] for a
            /// size this build leaves out.
            #[inline(never)]
            pub(crate) fn new(key: &[u8]) -> Result<Self> {
                let err = |_| key_len_error(key.len());
                match key.len() {
                    16 => aes::$c128::new_from_slice(key).map(Self::Aes128).map_err(err),
                    #[cfg(feature = "aes192")]
                    24 => aes::$c192::new_from_slice(key).map(Self::Aes192).map_err(err),
                    #[cfg(feature = "aes256")]
                    32 => aes::$c256::new_from_slice(key).map(Self::Aes256).map_err(err),
                    n => Err(key_len_error(n)),
                }
            }

            /// Transforms one block in place.
            #[inline(never)]
            pub(crate) fn $op(&self, block: &mut [u8; 16]) {
                let block = block.into();
                match self {
                    Self::Aes128(c) => c.$block_op(block),
                    #[cfg(feature = "aes192")]
                    Self::Aes192(c) => c.$block_op(block),
                    #[cfg(feature = "aes256")]
                    Self::Aes256(c) => c.$block_op(block),
                }
            }
        }
    };
}

run_time_sized! {
    /// An AES encryption key schedule whose size is chosen at run time.
    AesEnc: Aes128Enc, Aes192Enc, Aes256Enc; encrypt => encrypt_block
}

run_time_sized! {
    /// An AES decryption key schedule whose size is chosen at run time (host-side
    /// operations: PIN block and CBC decryption).
    AesDec: Aes128Dec, Aes192Dec, Aes256Dec; decrypt => decrypt_block
}

impl AesEnc {
    /// Encrypts `blocks` in place (ECB) in one call into the aes crate. Host-side
    /// derivations that need several blocks under one key use this: whatever a version of
    /// the aes crate spends per call (backend dispatch, preparing wide round keys) is
    /// then paid once per key, not once per block.
    pub(crate) fn encrypt_blocks(&self, blocks: &mut [[u8; 16]]) {
        let blocks = aes::cipher::Array::cast_slice_from_core_mut(blocks);
        match self {
            Self::Aes128(c) => c.encrypt_blocks(blocks),
            #[cfg(feature = "aes192")]
            Self::Aes192(c) => c.encrypt_blocks(blocks),
            #[cfg(feature = "aes256")]
            Self::Aes256(c) => c.encrypt_blocks(blocks),
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use aes::cipher::Array;
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
            // Several blocks in one call: each as if encrypted alone.
            let mut many = [[0x42u8; 16], [0x43; 16], [0x42; 16]];
            AesEnc::new(key).unwrap().encrypt_blocks(&mut many);
            assert_eq!(many[0], block);
            assert_eq!(many[2], block);
            let mut second = [0x43u8; 16];
            AesEnc::new(key).unwrap().encrypt(&mut second);
            assert_eq!(many[1], second);
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
}
