//! Software key material and the operations on it, shared by every store that holds
//! keys in its own memory (RAM, flash, databases that keep keys wrapped at rest).

use crate::ec::{EcPublicKey, EcdsaSignature};
use crate::error::{DecodeErrorKind, Error, Result, StoreError};
use crate::provider::{CryptoProvider, RustCrypto};
use crate::secret::SecretBytes;
use crate::store::{KeyKind, WrapAlgorithm};
use aes::cipher::KeyInit;

/// A key held in software: a P-256 signing key or up to 32 bytes of symmetric key, whose
/// operations run on the provider `P`.
pub(crate) enum SoftKey<P: CryptoProvider = RustCrypto> {
    P256(<P as CryptoProvider>::P256Key),
    Symmetric {
        kind: KeyKind,
        bytes: SecretBytes<32>,
    },
}

impl<P: CryptoProvider> SoftKey<P> {
    pub(crate) fn p256_from_scalar(scalar: &SecretBytes<32>) -> Result<Self> {
        P::p256_key_from_scalar(scalar).map(Self::P256)
    }

    pub(crate) fn p256_random<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        Self::P256(P::p256_generate(rng))
    }

    pub(crate) fn symmetric(kind: KeyKind, key: &[u8]) -> Result<Self> {
        if kind == KeyKind::P256 {
            return Err(StoreError::WrongKeyKind.into());
        }
        if key.len() != kind.key_len() {
            return Err(Error::decode(DecodeErrorKind::InvalidLength, key.len()));
        }
        let mut bytes = SecretBytes::<32>::zero();
        bytes
            .expose_mut()
            .get_mut(..key.len())
            .ok_or(Error::decode(DecodeErrorKind::InvalidLength, key.len()))?
            .copy_from_slice(key);
        Ok(Self::Symmetric { kind, bytes })
    }

    pub(crate) fn symmetric_random<R: rand_core::CryptoRng + ?Sized>(
        kind: KeyKind,
        rng: &mut R,
    ) -> Result<Self> {
        let mut tmp = SecretBytes::<32>::random(rng);
        let len = kind.key_len();
        let key = tmp.expose_mut().get(..len).ok_or(Error::Unsupported)?;
        Self::symmetric(kind, key)
    }

    pub(crate) fn kind(&self) -> KeyKind {
        match self {
            Self::P256(_) => KeyKind::P256,
            Self::Symmetric { kind, .. } => *kind,
        }
    }

    /// The raw key material (crate-internal: persistence of software stores only).
    #[cfg(feature = "embedded-storage")]
    pub(crate) fn material(&self) -> SecretBytes<32> {
        match self {
            Self::P256(k) => P::p256_scalar(k),
            Self::Symmetric { bytes, .. } => SecretBytes::new(*bytes.expose()),
        }
    }

    fn signing(&self) -> Result<&<P as CryptoProvider>::P256Key> {
        match self {
            Self::P256(k) => Ok(k),
            Self::Symmetric { .. } => Err(StoreError::WrongKeyKind.into()),
        }
    }

    fn symmetric_bytes(&self) -> Result<(KeyKind, &[u8])> {
        match self {
            Self::P256(_) => Err(StoreError::WrongKeyKind.into()),
            Self::Symmetric { kind, bytes } => {
                let key = bytes
                    .expose()
                    .get(..kind.key_len())
                    .ok_or(Error::Unsupported)?;
                Ok((*kind, key))
            }
        }
    }

    pub(crate) fn public_key(&self) -> Result<EcPublicKey> {
        Ok(P::p256_public_key(self.signing()?))
    }

    pub(crate) fn sign_digest(&self, digest: &[u8; 32]) -> Result<EcdsaSignature> {
        // Low-S, the one encoding provkit writes.
        Ok(P::p256_sign_digest(self.signing()?, digest)?.normalize_s())
    }

    pub(crate) fn ecdh(&self, peer: &EcPublicKey) -> Result<SecretBytes<32>> {
        P::p256_ecdh(self.signing()?, peer)
    }

    pub(crate) fn encrypt_block(&self, block: &mut [u8]) -> Result<()> {
        let (kind, key) = self.symmetric_bytes()?;
        match kind {
            KeyKind::Aes128 | KeyKind::Aes192 | KeyKind::Aes256 => aes_encrypt::<P>(key, block),
            KeyKind::Tdes2 | KeyKind::Tdes3 => tdes_encrypt(key, block),
            KeyKind::P256 => Err(StoreError::WrongKeyKind.into()),
        }
    }

    pub(crate) fn wrap_bytes(
        &self,
        alg: WrapAlgorithm,
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        let (kind, key) = self.symmetric_bytes()?;
        let needed = alg.wrapped_len(plaintext.len()).ok_or(Error::decode(
            DecodeErrorKind::InvalidLength,
            plaintext.len(),
        ))?;
        let out = out
            .get_mut(..needed)
            .ok_or(Error::buffer_too_small(needed))?;
        macro_rules! run {
            ($kw:ty) => {
                <$kw>::new_from_slice(key)
                    .map_err(|_| Error::from(StoreError::WrongKeyKind))?
                    .wrap_key(plaintext, out)
                    .map(<[u8]>::len)
                    .map_err(|_| Error::decode(DecodeErrorKind::InvalidLength, plaintext.len()))
            };
        }
        match (kind, alg) {
            (KeyKind::Aes128, WrapAlgorithm::AesKw) => run!(aes_kw::KwAes128),
            (KeyKind::Aes192, WrapAlgorithm::AesKw) => run!(aes_kw::KwAes192),
            (KeyKind::Aes256, WrapAlgorithm::AesKw) => run!(aes_kw::KwAes256),
            (KeyKind::Aes128, WrapAlgorithm::AesKwp) => run!(aes_kw::KwpAes128),
            (KeyKind::Aes192, WrapAlgorithm::AesKwp) => run!(aes_kw::KwpAes192),
            (KeyKind::Aes256, WrapAlgorithm::AesKwp) => run!(aes_kw::KwpAes256),
            _ => Err(StoreError::WrongKeyKind.into()),
        }
    }

    pub(crate) fn unwrap_bytes(
        &self,
        alg: WrapAlgorithm,
        wrapped: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        let (kind, key) = self.symmetric_bytes()?;
        // SP 800-38F length limits, before any cipher work: a 16-byte KW input would
        // otherwise unwrap to an 8-byte "key".
        let max = alg
            .unwrapped_len(wrapped.len())
            .ok_or(Error::decode(DecodeErrorKind::InvalidLength, wrapped.len()))?;
        let out = out.get_mut(..max).ok_or(Error::buffer_too_small(max))?;
        macro_rules! run {
            ($kw:ty) => {
                <$kw>::new_from_slice(key)
                    .map_err(|_| Error::from(StoreError::WrongKeyKind))?
                    .unwrap_key(wrapped, out)
                    .map(<[u8]>::len)
                    .map_err(|_| Error::Crypto)
            };
        }
        let result = match (kind, alg) {
            (KeyKind::Aes128, WrapAlgorithm::AesKw) => run!(aes_kw::KwAes128),
            (KeyKind::Aes192, WrapAlgorithm::AesKw) => run!(aes_kw::KwAes192),
            (KeyKind::Aes256, WrapAlgorithm::AesKw) => run!(aes_kw::KwAes256),
            (KeyKind::Aes128, WrapAlgorithm::AesKwp) => run!(aes_kw::KwpAes128),
            (KeyKind::Aes192, WrapAlgorithm::AesKwp) => run!(aes_kw::KwpAes192),
            (KeyKind::Aes256, WrapAlgorithm::AesKwp) => run!(aes_kw::KwpAes256),
            _ => Err(StoreError::WrongKeyKind.into()),
        };
        if result.is_err() {
            // Release nothing from a failed integrity check.
            zeroize::Zeroize::zeroize(out);
        }
        result
    }
}

impl<P: CryptoProvider> SoftKey<P> {
    /// Wraps the symmetric key `key` under this KEK (a stored key leaving wrapped).
    pub(crate) fn wrap_key(&self, alg: WrapAlgorithm, key: &Self, out: &mut [u8]) -> Result<usize> {
        let (_, bytes) = key.symmetric_bytes()?;
        self.wrap_bytes(alg, bytes, out)
    }

    /// Unwraps `wrapped` under this KEK into a new key of `kind`, never exposing it.
    pub(crate) fn unwrap_key(
        &self,
        alg: WrapAlgorithm,
        wrapped: &[u8],
        kind: KeyKind,
    ) -> Result<Self> {
        if kind == KeyKind::P256 {
            return Err(StoreError::WrongKeyKind.into());
        }
        // A key of `kind` wraps to exactly one length: refuse any other before unwrapping.
        if alg.wrapped_len(kind.key_len()) != Some(wrapped.len()) {
            return Err(Error::decode(DecodeErrorKind::InvalidLength, wrapped.len()));
        }
        let mut buf = SecretBytes::<40>::zero();
        let len = self.unwrap_bytes(alg, wrapped, buf.expose_mut())?;
        Self::symmetric(kind, buf.expose().get(..len).ok_or(Error::Crypto)?)
    }
}

fn aes_encrypt<P: CryptoProvider>(key: &[u8], block: &mut [u8]) -> Result<()> {
    if block.len() != 16 {
        return Err(Error::decode(DecodeErrorKind::InvalidLength, block.len()));
    }
    P::aes_encrypt_blocks(&P::aes_key(key)?, block)
}

#[cfg(feature = "tdes")]
fn tdes_encrypt(key: &[u8], block: &mut [u8]) -> Result<()> {
    use aes::cipher::BlockCipherEncrypt;
    let len = block.len();
    let block: &mut [u8; 8] = block
        .try_into()
        .map_err(|_| Error::decode(DecodeErrorKind::InvalidLength, len))?;
    match key.len() {
        16 => des::TdesEde2::new_from_slice(key)
            .map_err(|_| Error::from(StoreError::WrongKeyKind))?
            .encrypt_block(block.into()),
        24 => des::TdesEde3::new_from_slice(key)
            .map_err(|_| Error::from(StoreError::WrongKeyKind))?
            .encrypt_block(block.into()),
        _ => return Err(StoreError::WrongKeyKind.into()),
    }
    Ok(())
}

#[cfg(not(feature = "tdes"))]
fn tdes_encrypt(_key: &[u8], _block: &mut [u8]) -> Result<()> {
    Err(Error::Unsupported)
}
