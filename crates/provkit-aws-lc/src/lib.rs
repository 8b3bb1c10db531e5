//! [`AwsLc`]: a [provkit crypto provider](provkit::provider) on aws-lc-rs, for servers.
//!
//! provkit's handshake, envelope layer and software key stores are generic over
//! [`CryptoProvider`]; the default, [`RustCrypto`], is the provider of every device
//! build. A server that handles a fleet's handshakes and envelopes uses this one instead:
//! AWS-LC's assembly P-256 (about 5× `p256`'s speed per operation on x86-64, measured by
//! provkit's `cargo bench --bench handshake`), AES-GCM and SHA-256, through aws-lc-rs's
//! safe API, except for ECDH keys, which it makes through AWS-LC's C API so that a key
//! costs one base-point multiplication rather than two (`src/ecdh.rs`). Name it where the
//! server builds them:
//!
//! ```
//! use provkit::handshake::{CredentialMode, Responder};
//! use provkit::store::{IdentityKeys, KeyId, MemoryStore};
//! use provkit_aws_lc::AwsLc;
//! # fn main() -> provkit::Result<()> {
//! # let mut rng = provkit::rng::OsRng;
//! // The server's identity key signs on AWS-LC...
//! let mut keys = MemoryStore::<8, 8, 128, AwsLc>::new();
//! keys.generate_p256(KeyId(1), &mut rng)?;
//! // ...and its handshakes run there: `Responder::<AwsLc>::with_provider(KeyId(1), cert,
//! // CredentialMode::ByValue)`, as `Responder::new` on the default provider.
//! # let _ = (CredentialMode::ByValue, core::marker::PhantomData::<Responder<'static, AwsLc>>);
//! # Ok(())
//! # }
//! ```
//!
//! What differs from [`RustCrypto`], by design:
//! - ECDSA signatures use AWS-LC's nonces (random, not RFC 6979): a signature verifies
//!   the same, but signing the same digest twice gives two different signatures. provkit
//!   normalises every signature it writes to low-S either way.
//! - Point validation and decompression run on fiat-crypto's P-256 field (the verified
//!   field code AWS-LC itself is built from): aws-lc-rs parses compressed points but
//!   gives no way to read the decompressed coordinates back, and provkit's
//!   [`EcPublicKey`] holds them. Its square root costs about a third of `p256`'s.
//! - AES-192 is not offered by aws-lc-rs's AEAD API: AES-192-GCM falls back to
//!   [`RustCrypto`] (provkit never uses it in its own formats).
//!
//! ```
//! use provkit::provider::CryptoProvider;
//! use provkit_aws_lc::AwsLc;
//! let mut rng = provkit::rng::OsRng;
//! let key = AwsLc::p256_generate(&mut rng);
//! let digest = AwsLc::sha256(&[b"message"]);
//! let sig = AwsLc::p256_sign_digest(&key, &digest)?;
//! AwsLc::p256_public_key(&key).verify_digest(&digest, &sig)?;
//! # Ok::<(), provkit::Error>(())
//! ```

use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cipher::{AES_128, AES_192, AES_256, EncryptingKey, UnboundCipherKey};
use aws_lc_rs::digest::{self, SHA256};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, UnparsedPublicKey,
};
use aws_lc_rs::{hkdf, hmac};
use provkit::ec::{EcPublicKey, EcdsaSignature, SIGNATURE_LEN, UNCOMPRESSED_LEN};
use provkit::error::{DecodeErrorKind, Error, Result};
use provkit::provider::{CryptoProvider, GCM_NONCE_LEN, GCM_TAG_LEN, RustCrypto};
use provkit::secret::SecretBytes;
use std::sync::OnceLock;

mod ecdh;
mod point;

use ecdh::EcdhKey;

/// The aws-lc-rs provider. See the [crate documentation](crate) for how it differs from
/// [`RustCrypto`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AwsLc;

/// A P-256 private key on AWS-LC: the ECDH key, its public key, and the signing key made
/// on first use (an ephemeral key never signs, so it never pays for one).
pub struct P256Key {
    scalar: SecretBytes<32>,
    agreement: EcdhKey,
    public: EcPublicKey,
    signing: OnceLock<EcdsaKeyPair>,
}

impl core::fmt::Debug for P256Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("P256Key")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl P256Key {
    fn signing(&self) -> Result<&EcdsaKeyPair> {
        if let Some(k) = self.signing.get() {
            return Ok(k);
        }
        let k = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            self.scalar.dangerous_expose(),
            &self.public.to_uncompressed(),
        )
        .map_err(|_| Error::Crypto)?;
        Ok(self.signing.get_or_init(|| k))
    }
}

/// An AES encryption key on AWS-LC (ECB: the block operation).
pub struct AesKey(EncryptingKey);

impl core::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AesKey(..)")
    }
}

/// `Decode(InvalidLength)` or `Unsupported` for a key of `len` bytes, as provkit reports it.
fn key_len_error(len: usize) -> Error {
    match len {
        16 | 24 | 32 => Error::Unsupported,
        n => Error::decode(DecodeErrorKind::InvalidLength, n),
    }
}

/// The AEAD key for `key`, or `None` for AES-192 (which aws-lc-rs's AEAD API lacks).
fn gcm_key(key: &[u8]) -> Result<Option<LessSafeKey>> {
    let alg = match key.len() {
        16 => &AES_128_GCM,
        32 => &AES_256_GCM,
        24 => return Ok(None),
        n => return Err(key_len_error(n)),
    };
    UnboundKey::new(alg, key)
        .map(|k| Some(LessSafeKey::new(k)))
        .map_err(|_| key_len_error(key.len()))
}

/// The message-length error GCM reports for a message over its limit.
fn too_long(len: usize) -> Error {
    Error::decode(DecodeErrorKind::InvalidLength, len)
}

impl CryptoProvider for AwsLc {
    type P256Key = P256Key;
    type AesKey = AesKey;

    fn p256_key_from_scalar(scalar: &SecretBytes<32>) -> Result<Self::P256Key> {
        let (agreement, public) =
            EcdhKey::from_scalar(scalar.dangerous_expose()).ok_or(Error::Crypto)?;
        let public = EcPublicKey::from_uncompressed_on::<Self>(&public)?;
        Ok(P256Key {
            scalar: SecretBytes::new(*scalar.dangerous_expose()),
            agreement,
            public,
            signing: OnceLock::new(),
        })
    }

    fn p256_generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self::P256Key {
        // Rejection sampling over the caller's RNG (sans-IO: no hidden randomness for
        // keys); a 32-byte draw is at or above the order with probability about 2^-32.
        loop {
            let scalar = SecretBytes::<32>::random(rng);
            if let Ok(key) = Self::p256_key_from_scalar(&scalar) {
                return key;
            }
        }
    }

    fn p256_scalar(key: &Self::P256Key) -> SecretBytes<32> {
        SecretBytes::new(*key.scalar.dangerous_expose())
    }

    fn p256_public_key(key: &Self::P256Key) -> EcPublicKey {
        key.public
    }

    fn p256_sign_digest(key: &Self::P256Key, digest: &[u8; 32]) -> Result<EcdsaSignature> {
        let digest =
            digest::Digest::import_less_safe(digest, &SHA256).map_err(|_| Error::Crypto)?;
        let sig = key
            .signing()?
            .sign_digest(&digest)
            .map_err(|_| Error::Crypto)?;
        let sig: [u8; SIGNATURE_LEN] = sig.as_ref().try_into().map_err(|_| Error::Crypto)?;
        Ok(EcdsaSignature(sig))
    }

    fn p256_ecdh(key: &Self::P256Key, peer: &EcPublicKey) -> Result<SecretBytes<32>> {
        key.agreement
            .agree(&peer.to_uncompressed())
            .ok_or(Error::Crypto)
    }

    fn p256_parse_public(sec1: &[u8]) -> Result<EcPublicKey> {
        let invalid = || Error::decode(DecodeErrorKind::InvalidPoint, 0);
        match sec1.split_first() {
            Some((&tag @ (0x02 | 0x03), x)) => {
                let x: &[u8; 32] = x.try_into().map_err(|_| invalid())?;
                let xy = point::decompress(x, tag == 0x03).ok_or_else(invalid)?;
                let mut uncompressed = [0x04; UNCOMPRESSED_LEN];
                uncompressed[1..].copy_from_slice(&xy);
                EcPublicKey::from_uncompressed_on::<Self>(&uncompressed)
            }
            Some((0x04, _)) => {
                let sec1: &[u8; UNCOMPRESSED_LEN] = sec1.try_into().map_err(|_| invalid())?;
                EcPublicKey::from_uncompressed_on::<Self>(sec1)
            }
            _ => Err(invalid()),
        }
    }

    fn p256_check_point(xy: &[u8; 64]) -> Result<()> {
        if point::is_on_curve(xy) {
            Ok(())
        } else {
            Err(Error::decode(DecodeErrorKind::InvalidPoint, 0))
        }
    }

    fn p256_verify_digest(
        key: &EcPublicKey,
        digest: &[u8; 32],
        sig: &EcdsaSignature,
    ) -> Result<()> {
        let digest =
            digest::Digest::import_less_safe(digest, &SHA256).map_err(|_| Error::Crypto)?;
        let point: [u8; UNCOMPRESSED_LEN] = key.to_uncompressed();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, point)
            .verify_digest(&digest, &sig.0)
            .map_err(|_| Error::Crypto)
    }

    fn sha256(parts: &[&[u8]]) -> [u8; 32] {
        let mut ctx = digest::Context::new(&SHA256);
        for p in parts {
            ctx.update(p);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.finish().as_ref());
        out
    }

    fn hmac_sha256(key: &[u8], parts: &[&[u8]], out: &mut [u8; 32]) -> Result<()> {
        let key = hmac::Key::new(hmac::HMAC_SHA256, key);
        let mut ctx = hmac::Context::with_key(&key);
        for p in parts {
            ctx.update(p);
        }
        out.copy_from_slice(ctx.sign().as_ref());
        Ok(())
    }

    fn hkdf_expand(prk: &[u8; 32], info: &[&[u8]], out: &mut [u8]) -> Result<()> {
        /// The output length, as aws-lc-rs's `expand` wants it.
        struct Len(usize);
        impl hkdf::KeyType for Len {
            fn len(&self) -> usize {
                self.0
            }
        }
        let len = out.len();
        if len > 255 * 32 {
            return Err(Error::decode(DecodeErrorKind::InvalidLength, len));
        }
        hkdf::Prk::new_less_safe(hkdf::HKDF_SHA256, prk)
            .expand(info, Len(len))
            .and_then(|okm| okm.fill(out))
            .map_err(|_| Error::decode(DecodeErrorKind::InvalidLength, len))
    }

    fn aes_gcm_seal(
        key: &[u8],
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; GCM_TAG_LEN]> {
        let Some(k) = gcm_key(key)? else {
            return RustCrypto::aes_gcm_seal(key, nonce, aad, buf);
        };
        let len = buf.len();
        let tag = k
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(*nonce), Aad::from(aad), buf)
            .map_err(|_| too_long(len))?;
        tag.as_ref().try_into().map_err(|_| Error::Crypto)
    }

    fn aes_gcm_seal_to(
        key: &[u8],
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<[u8; GCM_TAG_LEN]> {
        if input.len() != output.len() {
            return Err(Error::decode(DecodeErrorKind::InvalidLength, output.len()));
        }
        let Some(k) = gcm_key(key)? else {
            return RustCrypto::aes_gcm_seal_to(key, nonce, aad, input, output);
        };
        let mut tag = [0u8; GCM_TAG_LEN];
        let len = input.len();
        k.seal_out_of_place_scatter(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(aad),
            input,
            output,
            &[],
            &mut tag,
        )
        .map_err(|_| too_long(len))?;
        Ok(tag)
    }

    fn aes_gcm_open(
        key: &[u8],
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; GCM_TAG_LEN],
    ) -> Result<()> {
        let Some(k) = gcm_key(key)? else {
            return RustCrypto::aes_gcm_open(key, nonce, aad, buf, tag);
        };
        // AWS-LC decrypts while it authenticates and wipes its output on a bad tag, which
        // would lose the caller's ciphertext: open from a copy, and put the copy back on
        // failure (the trait's promise). `aes_gcm_open_to`, the bulk path, copies nothing.
        let ciphertext = buf.to_vec();
        k.open_separate_gather(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(aad),
            &ciphertext,
            tag,
            buf,
        )
        .map_err(|_| {
            buf.copy_from_slice(&ciphertext);
            Error::Crypto
        })
    }

    fn aes_gcm_open_to(
        key: &[u8],
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        input: &[u8],
        output: &mut [u8],
        tag: &[u8; GCM_TAG_LEN],
    ) -> Result<()> {
        if input.len() != output.len() {
            return Err(Error::decode(DecodeErrorKind::InvalidLength, output.len()));
        }
        let Some(k) = gcm_key(key)? else {
            return RustCrypto::aes_gcm_open_to(key, nonce, aad, input, output, tag);
        };
        k.open_separate_gather(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(aad),
            input,
            tag,
            output,
        )
        .map_err(|_| {
            output.fill(0);
            Error::Crypto
        })
    }

    fn aes_key(key: &[u8]) -> Result<Self::AesKey> {
        let alg = match key.len() {
            16 => &AES_128,
            24 => &AES_192,
            32 => &AES_256,
            n => return Err(key_len_error(n)),
        };
        UnboundCipherKey::new(alg, key)
            .and_then(EncryptingKey::ecb)
            .map(AesKey)
            .map_err(|_| key_len_error(key.len()))
    }

    fn aes_encrypt_blocks(key: &Self::AesKey, blocks: &mut [u8]) -> Result<()> {
        if !blocks.len().is_multiple_of(16) {
            return Err(Error::decode(DecodeErrorKind::InvalidLength, blocks.len()));
        }
        if blocks.is_empty() {
            return Ok(());
        }
        key.0
            .encrypt(blocks)
            .map(|_| ())
            .map_err(|_| Error::decode(DecodeErrorKind::InvalidLength, blocks.len()))
    }
}
