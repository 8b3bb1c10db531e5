//! [`Cm4`]: the provider, on `p256-cortex-m4`.

use crate::rfc6979::Nonces;
use core::cell::OnceCell;
use core::fmt;
use p256_cortex_m4::{PublicKey as AsmPublicKey, SecretKey, Signature as AsmSignature};
use provkit::ec::{EcPublicKey, EcdsaSignature};
use provkit::error::{DecodeErrorKind, Error, Result};
use provkit::provider::{CryptoProvider, GCM_NONCE_LEN, GCM_TAG_LEN, RustCrypto, block_gcm};
use provkit::secret::SecretBytes;
use zeroize::Zeroize;

/// The Cortex-M4 provider: P-256 on the P256-Cortex-M4 assembly, the rest on
/// [`RustCrypto`]. See the [crate documentation](crate).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cm4;

/// [`Cm4`]'s P-256 private key: the scalar as the assembly holds it (range-checked,
/// 1..n-1), its big-endian bytes (to store or wrap it), and its public key from the first
/// time it is asked for. Making one costs no scalar multiplication. Wiped on drop.
pub struct P256Key {
    secret: SecretKey,
    scalar: SecretBytes<32>,
    public: OnceCell<EcPublicKey>,
}

impl Drop for P256Key {
    fn drop(&mut self) {
        // `scalar` wipes itself; the assembly's copy is a plain `Zeroize` value.
        self.secret.zeroize();
    }
}

impl fmt::Debug for P256Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("P256Key(..)")
    }
}

/// A point from the assembly as a provkit key, through [`Cm4::p256_check_point`] (the
/// assembly's own range and on-curve check).
fn from_asm(point: &AsmPublicKey) -> Result<EcPublicKey> {
    EcPublicKey::from_uncompressed_on::<Cm4>(&point.to_uncompressed_sec1_bytes())
}

/// A provkit point for the assembly (which checks it is on the curve once more).
fn to_asm(point: &EcPublicKey) -> Result<AsmPublicKey> {
    AsmPublicKey::from_sec1_bytes(&point.to_uncompressed()).map_err(|_| Error::Crypto)
}

/// [`Nonces`] as the RNG that the assembly's signing call draws `k` from: each 32-byte
/// draw is the next candidate, little-endian as the assembly reads its words. The
/// assembly draws again only when a candidate gives r = 0 or s = 0, where RFC 6979 takes
/// the next candidate. An HMAC failure (which RustCrypto's HMAC never reports) is kept
/// and turns the signature into an error ([`check`](Self::check)).
struct NonceRng {
    nonces: Nonces,
    failed: bool,
}

impl NonceRng {
    fn new(nonces: Nonces) -> Self {
        Self {
            nonces,
            failed: false,
        }
    }

    /// [`Error::Crypto`] if a draw failed (its bytes were not a nonce).
    fn check(&self) -> Result<()> {
        if self.failed {
            Err(Error::Crypto)
        } else {
            Ok(())
        }
    }
}

impl rand_core_06::RngCore for NonceRng {
    fn next_u32(&mut self) -> u32 {
        rand_core_06::impls::next_u32_via_fill(self)
    }

    fn next_u64(&mut self) -> u64 {
        rand_core_06::impls::next_u64_via_fill(self)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(32) {
            let mut k = [0u8; 32];
            if self.nonces.next(&mut k).is_err() {
                // No nonce: k = 1 lets the assembly finish (it draws again for a k out of
                // range, forever if every draw failed), and `check` discards the
                // signature.
                self.failed = true;
                k = [0; 32];
                if let Some(last) = k.last_mut() {
                    *last = 1;
                }
            }
            k.reverse();
            for (d, b) in chunk.iter_mut().zip(k.iter()) {
                *d = *b;
            }
            k.zeroize();
        }
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> core::result::Result<(), rand_core_06::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl rand_core_06::CryptoRng for NonceRng {}

impl CryptoProvider for Cm4 {
    type P256Key = P256Key;
    type AesKey = <RustCrypto as CryptoProvider>::AesKey;

    fn p256_key_from_scalar(scalar: &SecretBytes<32>) -> Result<Self::P256Key> {
        let secret = SecretKey::from_bytes(scalar.dangerous_expose()).map_err(|_| Error::Crypto)?;
        Ok(P256Key {
            secret,
            scalar: SecretBytes::from_slice(scalar.dangerous_expose())?,
            public: OnceCell::new(),
        })
    }

    fn p256_generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self::P256Key {
        // RustCrypto's draw (p256's `NonZeroScalar`: 32 bytes, big-endian, drawn again
        // while 0 or not below n), so that a fixed RNG gives the same key on both
        // providers. The range check is the assembly's (`P256_check_range_n`).
        loop {
            let mut bytes = [0u8; 32];
            rng.fill_bytes(&mut bytes);
            let drawn = SecretBytes::new(bytes);
            bytes.zeroize();
            if let Ok(key) = Self::p256_key_from_scalar(&drawn) {
                return key;
            }
        }
    }

    fn p256_scalar(key: &Self::P256Key) -> SecretBytes<32> {
        let mut copy = [0u8; 32];
        copy.copy_from_slice(key.scalar.dangerous_expose());
        let out = SecretBytes::new(copy);
        copy.zeroize();
        out
    }

    fn p256_public_key(key: &Self::P256Key) -> EcPublicKey {
        // The assembly's d·G is on the curve for a range-checked d, so provkit's check
        // passes; `generator()` only keeps this total without linking a second scalar
        // multiplication.
        *key.public
            .get_or_init(|| from_asm(&key.secret.public_key()).unwrap_or_else(|_| generator()))
    }

    fn p256_sign_digest(key: &Self::P256Key, digest: &[u8; 32]) -> Result<EcdsaSignature> {
        // RFC 6979 nonces (crate::rfc6979), fed to the assembly as the RNG it draws k from.
        let mut nonces = NonceRng::new(Nonces::new(key.scalar.dangerous_expose(), digest)?);
        let signature = key.secret.sign_prehashed(digest, &mut nonces);
        nonces.check()?;
        Ok(EcdsaSignature(signature.to_untagged_bytes()))
    }

    fn p256_ecdh(key: &Self::P256Key, peer: &EcPublicKey) -> Result<SecretBytes<32>> {
        let shared = key.secret.agree(&to_asm(peer)?);
        Ok(SecretBytes::new(*shared.as_bytes()))
    }

    fn p256_parse_public(sec1: &[u8]) -> Result<EcPublicKey> {
        let invalid = Error::decode(DecodeErrorKind::InvalidPoint, 0);
        match (sec1.first(), sec1.len()) {
            // The assembly decompresses (its square root mod p, refusing an x with none);
            // the result is checked on the curve as every point is.
            (Some(0x02 | 0x03), 33) => AsmPublicKey::from_sec1_bytes(sec1)
                .map_err(|_| invalid)
                .and_then(|p| from_asm(&p).map_err(|_| invalid)),
            // Nothing to compute: the on-curve check is all there is.
            (Some(0x04), 65) => <&[u8; 65]>::try_from(sec1)
                .map_err(|_| invalid)
                .and_then(EcPublicKey::from_uncompressed_on::<Self>),
            _ => Err(invalid),
        }
    }

    fn p256_check_point(xy: &[u8; 64]) -> Result<()> {
        // `p256_octet_string_to_point` on `04 || x || y`: x and y below p
        // (`P256_check_range_p`), then `P256_point_is_on_curve`.
        AsmPublicKey::from_untagged_bytes(xy)
            .map(|_| ())
            .map_err(|_| Error::decode(DecodeErrorKind::InvalidPoint, 0))
    }

    fn p256_verify_digest(
        key: &EcPublicKey,
        digest: &[u8; 32],
        sig: &EcdsaSignature,
    ) -> Result<()> {
        // `from_untagged_bytes` refuses r or s outside 1..n-1.
        let signature = AsmSignature::from_untagged_bytes(&sig.0).map_err(|_| Error::Crypto)?;
        if to_asm(key)?.verify_prehashed(digest, &signature) {
            Ok(())
        } else {
            Err(Error::Crypto)
        }
    }

    fn sha256(parts: &[&[u8]]) -> [u8; 32] {
        RustCrypto::sha256(parts)
    }

    fn hmac_sha256(key: &[u8], parts: &[&[u8]], out: &mut [u8; 32]) -> Result<()> {
        RustCrypto::hmac_sha256(key, parts, out)
    }

    fn hkdf_expand(prk: &[u8; 32], info: &[&[u8]], out: &mut [u8]) -> Result<()> {
        RustCrypto::hkdf_expand(prk, info, out)
    }

    // AES-GCM on RustCrypto's AES block (`block_gcm`): the AES the rest of the firmware
    // uses (DUKPT, CMAC), and none of the aes-gcm crate's generic layers.
    fn aes_gcm_seal(
        key: &[u8],
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; GCM_TAG_LEN]> {
        block_gcm::seal::<Self>(key, nonce, aad, buf)
    }

    fn aes_gcm_seal_to(
        key: &[u8],
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<[u8; GCM_TAG_LEN]> {
        block_gcm::seal_to::<Self>(key, nonce, aad, input, output)
    }

    fn aes_gcm_open(
        key: &[u8],
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; GCM_TAG_LEN],
    ) -> Result<()> {
        block_gcm::open::<Self>(key, nonce, aad, buf, tag)
    }

    fn aes_gcm_open_to(
        key: &[u8],
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        input: &[u8],
        output: &mut [u8],
        tag: &[u8; GCM_TAG_LEN],
    ) -> Result<()> {
        block_gcm::open_to::<Self>(key, nonce, aad, input, output, tag)
    }

    fn aes_key(key: &[u8]) -> Result<Self::AesKey> {
        RustCrypto::aes_key(key)
    }

    fn aes_encrypt_blocks(key: &Self::AesKey, blocks: &mut [u8]) -> Result<()> {
        RustCrypto::aes_encrypt_blocks(key, blocks)
    }
}

/// What `p256_public_key` returns if provkit refused the assembly's d·G (impossible for a
/// scalar in 1..n-1): the base point G, a valid key that no certificate names, so that a
/// signature made with `key` never verifies under it.
fn generator() -> EcPublicKey {
    // SEC 1 uncompressed encoding of G, the P-256 base point.
    const G: [u8; 65] = [
        0x04, 0x6b, 0x17, 0xd1, 0xf2, 0xe1, 0x2c, 0x42, 0x47, 0xf8, 0xbc, 0xe6, 0xe5, 0x63, 0xa4,
        0x40, 0xf2, 0x77, 0x03, 0x7d, 0x81, 0x2d, 0xeb, 0x33, 0xa0, 0xf4, 0xa1, 0x39, 0x45, 0xd8,
        0x98, 0xc2, 0x96, 0x4f, 0xe3, 0x42, 0xe2, 0xfe, 0x1a, 0x7f, 0x9b, 0x8e, 0xe7, 0xeb, 0x4a,
        0x7c, 0x0f, 0x9e, 0x16, 0x2b, 0xce, 0x33, 0x57, 0x6b, 0x31, 0x5e, 0xce, 0xcb, 0xb6, 0x40,
        0x68, 0x37, 0xbf, 0x51, 0xf5,
    ];
    #[allow(clippy::expect_used)] // a constant that is a curve point: cannot fail
    EcPublicKey::from_uncompressed_on::<Cm4>(&G).expect("G is a curve point")
}
