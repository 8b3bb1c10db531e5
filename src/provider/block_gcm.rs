//! AES-GCM (NIST SP 800-38D) with a 96-bit nonce and a 128-bit tag, built on a
//! provider's AES block operation ([`CryptoProvider::aes_key`],
//! [`CryptoProvider::aes_encrypt_blocks`]) and the `ghash` crate's GHASH.
//!
//! A provider's `aes_gcm_*` functions can return these: one with an AES block of its own
//! (a hardware AES peripheral) and no GCM, or one that wants a firmware to link no second
//! AES-GCM. `provkit-cm4` does, on [`RustCrypto`]'s AES: a Cortex-M4 firmware then links
//! one AES and none of the `aes-gcm` crate's generic layers (`ctr`, `cipher`'s stream
//! traits, `inout`), about 1 KiB of flash less. [`RustCrypto`] itself keeps `aes-gcm`,
//! whose pipelined counter mode a server's AES instructions need for its throughput.
//!
//! The algorithm and limits are the `aes-gcm` crate's, so each function gives the same
//! result as the [`CryptoProvider`] function of the same name on [`RustCrypto`]: counter
//! mode from `inc32(J0)`, `J0 = nonce || 0^31 || 1`, then GHASH under `H = E(K, 0^128)`
//! over the padded AAD, the padded ciphertext and their lengths in bits, masked with
//! `E(K, J0)`. Opening checks the tag in constant time before any keystream is applied.
//! The counter-mode keystream, `H` and the mask are wiped after use; the key schedule is
//! the provider's `AesKey`, which wipes itself.
//!
//! ```
//! use provkit::provider::{CryptoProvider, RustCrypto, block_gcm};
//! let (key, nonce) = ([7u8; 16], [9u8; 12]);
//! let mut a = *b"attack at dawn";
//! let mut b = a;
//! let tag = block_gcm::seal::<RustCrypto>(&key, &nonce, b"aad", &mut a)?;
//! assert_eq!(RustCrypto::aes_gcm_seal(&key, &nonce, b"aad", &mut b)?, tag);
//! assert_eq!(a, b);
//! block_gcm::open::<RustCrypto>(&key, &nonce, b"aad", &mut a, &tag)?;
//! assert_eq!(&a, b"attack at dawn");
//! # Ok::<(), provkit::Error>(())
//! ```
//!
//! [`RustCrypto`]: super::RustCrypto

use super::{AeadBuf, CryptoProvider, GCM_NONCE_LEN, GCM_TAG_LEN};
use crate::error::{DecodeErrorKind, Error, Result};
use ghash::GHash;
use ghash::universal_hash::UniversalHash as _;
use subtle::ConstantTimeEq as _;
use zeroize::Zeroize as _;

/// The longest message: SP 800-38D's 2^39 - 256 bits, 2^32 - 2 blocks, so that the
/// 32-bit counter never comes back to `J0`. The `aes-gcm` crate's limit.
const P_MAX: u64 = (1 << 36) - 32;
/// The longest AAD, in bytes (SP 800-38D: under 2^64 bits). The `aes-gcm` crate's limit.
const A_MAX: u64 = (1 << 61) - 1;

/// AES-GCM encryption of `buf` in place; returns the tag. As
/// [`CryptoProvider::aes_gcm_seal`], on `P`'s AES.
///
/// # Errors
/// As [`CryptoProvider::aes_gcm_seal`]: `P::aes_key`'s errors for the key (
/// `Decode(InvalidLength)` for a length that is no AES key's,
/// [`Error::Unsupported`] for a size the build leaves out), `Decode(InvalidLength)` for a
/// message over the GCM limit.
pub fn seal<P: CryptoProvider>(
    key: &[u8],
    nonce: &[u8; GCM_NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; GCM_TAG_LEN]> {
    seal_buf::<P>(key, nonce, aad, buf.into())
}

/// AES-GCM encryption of `input` into `output` (the same length; `input` unchanged). As
/// [`CryptoProvider::aes_gcm_seal_to`], on `P`'s AES.
///
/// # Errors
/// `Decode(InvalidLength)` when the lengths differ, then as [`seal`].
pub fn seal_to<P: CryptoProvider>(
    key: &[u8],
    nonce: &[u8; GCM_NONCE_LEN],
    aad: &[u8],
    input: &[u8],
    output: &mut [u8],
) -> Result<[u8; GCM_TAG_LEN]> {
    seal_buf::<P>(key, nonce, aad, AeadBuf::Copy { input, output })
}

/// AES-GCM decryption of `buf` in place after checking `tag` in constant time; on
/// failure `buf` is left as it was. As [`CryptoProvider::aes_gcm_open`], on `P`'s AES.
///
/// # Errors
/// [`Error::Crypto`] when the tag does not verify (or the message is over the GCM limit);
/// the key's errors as [`seal`].
pub fn open<P: CryptoProvider>(
    key: &[u8],
    nonce: &[u8; GCM_NONCE_LEN],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; GCM_TAG_LEN],
) -> Result<()> {
    open_buf::<P>(key, nonce, aad, buf.into(), tag)
}

/// AES-GCM decryption of `input` into `output` (the same length) after checking `tag` in
/// constant time; on failure `output` is not written. As
/// [`CryptoProvider::aes_gcm_open_to`], on `P`'s AES.
///
/// # Errors
/// `Decode(InvalidLength)` when the lengths differ, then as [`open`].
pub fn open_to<P: CryptoProvider>(
    key: &[u8],
    nonce: &[u8; GCM_NONCE_LEN],
    aad: &[u8],
    input: &[u8],
    output: &mut [u8],
    tag: &[u8; GCM_TAG_LEN],
) -> Result<()> {
    open_buf::<P>(key, nonce, aad, AeadBuf::Copy { input, output }, tag)
}

/// One message's key schedule and pre-counter block `J0`.
struct Gcm<P: CryptoProvider> {
    aes: P::AesKey,
    j0: [u8; 16],
}

impl<P: CryptoProvider> Gcm<P> {
    /// # Errors
    /// `P::aes_key`'s, then `too_long` for a message or AAD over the GCM limits.
    fn new(
        key: &[u8],
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        len: usize,
        too_long: Error,
    ) -> Result<Self> {
        let aes = P::aes_key(key)?;
        let over = |n: usize, max: u64| u64::try_from(n).map_or(true, |n| n > max);
        if over(len, P_MAX) || over(aad.len(), A_MAX) {
            return Err(too_long);
        }
        let mut j0 = [0u8; 16];
        let (iv, counter) = j0.split_at_mut(GCM_NONCE_LEN);
        iv.copy_from_slice(nonce);
        counter.copy_from_slice(&1u32.to_be_bytes());
        Ok(Self { aes, j0 })
    }

    /// `E(K, block)` in place.
    fn encrypt(&self, block: &mut [u8; 16]) -> Result<()> {
        P::aes_encrypt_blocks(&self.aes, block)
    }

    /// The tag of `aad` and `ciphertext`: `GHASH_H(A, C) ^ E(K, J0)`.
    fn tag(&self, aad: &[u8], ciphertext: &[u8]) -> Result<[u8; GCM_TAG_LEN]> {
        let mut h = [0u8; 16];
        let mut mask = self.j0;
        let keyed = self.encrypt(&mut h).and_then(|()| self.encrypt(&mut mask));
        let mut ghash = GHash::new(&h.into());
        h.zeroize();
        keyed?;
        ghash.update_padded(aad);
        ghash.update_padded(ciphertext);
        let bits = |n: usize| {
            u64::try_from(n)
                .unwrap_or(u64::MAX)
                .wrapping_mul(8)
                .to_be_bytes()
        };
        let mut lengths = [0u8; 16];
        let (a, c) = lengths.split_at_mut(8);
        a.copy_from_slice(&bits(aad.len()));
        c.copy_from_slice(&bits(ciphertext.len()));
        ghash.update(&[lengths.into()]);
        let mut tag: [u8; GCM_TAG_LEN] = ghash.finalize().into();
        xor(&mut tag, &mask);
        mask.zeroize();
        Ok(tag)
    }

    /// Counter mode over `buf` in place, from `inc32(J0)`. Should the block operation
    /// fail (which `P`'s contract rules out for whole blocks), `buf` is wiped.
    fn ctr(&self, buf: &mut [u8]) -> Result<()> {
        let mut counter = self.j0;
        let mut keystream = [0u8; 16];
        let mut result = Ok(());
        for chunk in buf.chunks_mut(16) {
            if let Some(c) = counter.last_chunk_mut::<4>() {
                *c = u32::from_be_bytes(*c).wrapping_add(1).to_be_bytes();
            }
            keystream = counter;
            result = result.and_then(|()| self.encrypt(&mut keystream));
            xor(chunk, &keystream);
        }
        keystream.zeroize();
        if result.is_err() {
            buf.zeroize();
        }
        result
    }
}

/// `dst ^= src` over their common length.
fn xor(dst: &mut [u8], src: &[u8]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d ^= s;
    }
}

/// Where the message is read (`None`: from the output itself) and where it is written.
///
/// # Errors
/// `Decode(InvalidLength)` when `input` and `output` differ in length.
fn split<'i, 'o>(buf: AeadBuf<'i, 'o>) -> Result<(Option<&'i [u8]>, &'o mut [u8])> {
    match buf {
        AeadBuf::InPlace(buf) => Ok((None, buf)),
        AeadBuf::Copy { input, output } if input.len() == output.len() => Ok((Some(input), output)),
        AeadBuf::Copy { output, .. } => {
            Err(Error::decode(DecodeErrorKind::InvalidLength, output.len()))
        }
    }
}

/// [`seal`] and [`seal_to`]: one copy of the code for both.
#[inline(never)]
fn seal_buf<P: CryptoProvider>(
    key: &[u8],
    nonce: &[u8; GCM_NONCE_LEN],
    aad: &[u8],
    buf: AeadBuf<'_, '_>,
) -> Result<[u8; GCM_TAG_LEN]> {
    let (input, output) = split(buf)?;
    let too_long = Error::decode(DecodeErrorKind::InvalidLength, 0);
    let gcm = Gcm::<P>::new(key, nonce, aad, output.len(), too_long)?;
    if let Some(input) = input {
        output.copy_from_slice(input);
    }
    gcm.ctr(output)?;
    gcm.tag(aad, output)
}

/// [`open`] and [`open_to`]: one copy of the code for both.
#[inline(never)]
fn open_buf<P: CryptoProvider>(
    key: &[u8],
    nonce: &[u8; GCM_NONCE_LEN],
    aad: &[u8],
    buf: AeadBuf<'_, '_>,
    tag: &[u8; GCM_TAG_LEN],
) -> Result<()> {
    let (input, output) = split(buf)?;
    let gcm = Gcm::<P>::new(key, nonce, aad, output.len(), Error::Crypto)?;
    let expected = gcm.tag(aad, input.unwrap_or(output))?;
    if !bool::from(expected.ct_eq(tag)) {
        return Err(Error::Crypto);
    }
    if let Some(input) = input {
        output.copy_from_slice(input);
    }
    gcm.ctr(output)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::provider::RustCrypto;

    /// Every key size the build has, message lengths across block boundaries, AAD of 0
    /// to 40 bytes: the same ciphertext and tag as [`RustCrypto`] (the `aes-gcm` crate),
    /// in place and into another buffer; each opens on the other, and a flipped bit
    /// (ciphertext, tag, AAD) is refused with the buffer unchanged and no output written.
    #[test]
    fn rustcrypto_s_aes_gcm() {
        let mut state = [7u8; 32];
        let mut next = || {
            state = RustCrypto::sha256(&[&state]);
            state
        };
        for round in 0..300usize {
            let r = next();
            let key_len = [16, 24, 32][round % 3];
            let mut key = [0u8; 64];
            key[..32].copy_from_slice(&next());
            key[32..].copy_from_slice(&next());
            let key = &key[..key_len];
            let nonce: [u8; 12] = if round % 10 == 0 {
                [0xff; 12]
            } else {
                r[..12].try_into().unwrap()
            };
            let len = usize::from(r[12]) % 200;
            let aad_len = usize::from(r[13]) % 41;
            let mut data = [0u8; 240];
            for (i, d) in data.iter_mut().enumerate() {
                *d = r[i % 32] ^ i.to_le_bytes()[0];
            }
            let (msg, aad) = data.split_at(len);
            let aad = &aad[..aad_len];
            let mut ct = [0u8; 200];
            let ct = &mut ct[..len];
            ct.copy_from_slice(msg);
            let theirs = RustCrypto::aes_gcm_seal(key, &nonce, aad, ct);
            let mut buf = [0u8; 200];
            let buf = &mut buf[..len];
            buf.copy_from_slice(msg);
            let ours = seal::<RustCrypto>(key, &nonce, aad, buf);
            assert_eq!(ours, theirs, "round {round}");
            let Ok(tag) = theirs else {
                // A key size this build leaves out: refused alike.
                continue;
            };
            assert_eq!(buf, ct, "round {round}");
            let mut out = [0u8; 200];
            let out = &mut out[..len];
            assert_eq!(seal_to::<RustCrypto>(key, &nonce, aad, msg, out), Ok(tag));
            assert_eq!(out, ct);
            open::<RustCrypto>(key, &nonce, aad, buf, &tag).unwrap();
            assert_eq!(buf, msg);
            let mut plain = [0u8; 200];
            let plain = &mut plain[..len];
            open_to::<RustCrypto>(key, &nonce, aad, ct, plain, &tag).unwrap();
            assert_eq!(plain, msg);
            let bit = usize::from(r[14]);
            let mut bad_tag = tag;
            bad_tag[bit % 16] ^= 1 << (bit % 8);
            let mut bad_ct = [0u8; 200];
            let bad_ct = &mut bad_ct[..len];
            bad_ct.copy_from_slice(ct);
            if len > 0 {
                bad_ct[bit % len] ^= 1;
            }
            let bad_aad = &data[len..len + aad_len + 1];
            for (c, t, a) in [
                (&*ct, &bad_tag, aad),
                (&*bad_ct, if len > 0 { &tag } else { &bad_tag }, aad),
                (&*ct, &tag, bad_aad),
            ] {
                let mut buf = [0u8; 200];
                let buf = &mut buf[..len];
                buf.copy_from_slice(c);
                assert_eq!(
                    open::<RustCrypto>(key, &nonce, a, buf, t),
                    Err(Error::Crypto)
                );
                assert_eq!(&*buf, c, "a refused open changed the buffer");
                let mut out = [0u8; 200];
                let out = &mut out[..len];
                assert_eq!(
                    open_to::<RustCrypto>(key, &nonce, a, c, out, t),
                    Err(Error::Crypto)
                );
                assert!(out.iter().all(|b| *b == 0), "a refused open wrote output");
            }
        }
    }

    /// The errors of [`RustCrypto`]'s functions, in the same order (lengths of `input`
    /// and `output` first, then the key).
    #[test]
    fn rustcrypto_s_errors() {
        let n = [0u8; 12];
        for key in [&[0u8; 15][..], &[0; 17], &[0; 24], &[0; 32], &[0; 0]] {
            assert_eq!(
                seal::<RustCrypto>(key, &n, b"", &mut []),
                RustCrypto::aes_gcm_seal(key, &n, b"", &mut [])
            );
            assert_eq!(
                open::<RustCrypto>(key, &n, b"", &mut [], &[0; 16]),
                RustCrypto::aes_gcm_open(key, &n, b"", &mut [], &[0; 16])
            );
            assert_eq!(
                seal_to::<RustCrypto>(key, &n, b"", &[0; 4], &mut [0; 5]),
                RustCrypto::aes_gcm_seal_to(key, &n, b"", &[0; 4], &mut [0; 5])
            );
            assert_eq!(
                open_to::<RustCrypto>(key, &n, b"", &[0; 4], &mut [0; 3], &[0; 16]),
                RustCrypto::aes_gcm_open_to(key, &n, b"", &[0; 4], &mut [0; 3], &[0; 16])
            );
        }
        assert_eq!(
            seal_to::<RustCrypto>(&[0; 17], &n, b"", &[0; 4], &mut [0; 5]),
            Err(Error::decode(DecodeErrorKind::InvalidLength, 5)),
            "lengths first"
        );
    }
}
