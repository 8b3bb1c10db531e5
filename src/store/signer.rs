//! Bridges between key stores and RustCrypto's `signature` traits (the `signature` 3.0
//! that `p256` 0.14 re-exports as `p256::ecdsa::signature`).
//!
//! - [`StoreSigner`]: a P-256 key in any [`IdentityKeys`] store (a secure element, an
//!   HSM through `provkit-pkcs11`, a database store) as a RustCrypto signer, for crates
//!   that sign through `PrehashSigner`, `Signer` and `Keypair` (certificate builders,
//!   JWT and COSE libraries).
//! - [`ExternalSigner`]: the other way, a RustCrypto signer (a cloud KMS client, a
//!   `p256::ecdsa::SigningKey`) as a provkit identity key: it signs handshakes,
//!   certificates and replacement statements, and does nothing else.
//!
//! Both produce low-S signatures, provkit's rule ([`EcdsaSignature::normalize_s`]).

use super::{IdentityKeys, KeyId, KeyInventory, KeyKind, StoreError};
use crate::ec::{EcPublicKey, EcdsaSignature, sha256};
use crate::error::{BackendCause, Error, Result};
use crate::secret::SecretBytes;
use core::cell::RefCell;
use core::fmt;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::signature::{self, Keypair, Signer};
use p256::ecdsa::{Signature, VerifyingKey};

/// A P-256 key in a store, `id` in `store`, as a RustCrypto signer:
/// `PrehashSigner<p256::ecdsa::Signature>` over a SHA-256 digest,
/// `Signer<p256::ecdsa::Signature>` (ECDSA with SHA-256 over a message) and
/// `Keypair` with a `p256::ecdsa::VerifyingKey`.
///
/// The signer borrows the store mutably for its lifetime: the `signature` traits sign
/// through `&self` and provkit's stores through `&mut self`, so the borrow sits in a
/// [`RefCell`]. The signer is therefore not `Sync`; a multi-threaded server shares the
/// store behind its own lock and builds a signer where it signs. The public key is read
/// once, in [`new`](Self::new).
///
/// Signatures are low-S, whatever the store returned (a hardware store may return
/// high-S). Store failures become a `signature::Error` whose source (with the `alloc`
/// feature) is the provkit [`Error`].
///
/// ```
/// use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
/// use p256::ecdsa::signature::Keypair;
/// use p256::ecdsa::Signature;
/// use provkit::store::{IdentityKeys, KeyId, MemoryStore, StoreSigner};
///
/// let mut store = MemoryStore::<1, 0, 0>::new();
/// store.generate_p256(KeyId(1), &mut provkit::rng::OsRng)?;
/// let signer = StoreSigner::new(&mut store, KeyId(1))?;
/// let digest = provkit::ec::sha256(b"to be signed");
/// let sig: Signature = signer.sign_prehash(&digest).expect("the store signs");
/// assert!(signer.verifying_key().verify_prehash(&digest, &sig).is_ok());
/// # Ok::<(), provkit::Error>(())
/// ```
pub struct StoreSigner<'a, S: IdentityKeys + ?Sized> {
    store: RefCell<&'a mut S>,
    id: KeyId,
    public: EcPublicKey,
}

impl<'a, S: IdentityKeys + ?Sized> StoreSigner<'a, S> {
    /// A signer with the P-256 key `id` of `store`; reads its public key.
    ///
    /// # Errors
    /// As [`IdentityKeys::public_key`]: [`StoreError::NotFound`],
    /// [`StoreError::WrongKeyKind`], backend failures.
    pub fn new(store: &'a mut S, id: KeyId) -> Result<Self> {
        let public = store.public_key(id)?;
        Ok(Self {
            store: RefCell::new(store),
            id,
            public,
        })
    }

    /// The key's id in the store.
    #[must_use]
    pub const fn key_id(&self) -> KeyId {
        self.id
    }

    /// The key's public key (as read in [`new`](Self::new)).
    #[must_use]
    pub const fn public_key(&self) -> EcPublicKey {
        self.public
    }

    /// Signs a SHA-256 digest: the provkit [`Error`] where
    /// [`sign_prehash`](PrehashSigner::sign_prehash) has only a `signature::Error`.
    /// Low-S.
    ///
    /// # Errors
    /// As [`IdentityKeys::sign_digest`]; `Decode(InvalidValue)` if the store returned a
    /// signature with a scalar out of range.
    pub fn sign_digest(&self, digest: &[u8; 32]) -> Result<Signature> {
        let mut store = self
            .store
            .try_borrow_mut()
            .map_err(|_| Error::Store(StoreError::Backend(BackendCause::UNSPECIFIED)))?;
        let sig = super::sign_low_s(&mut **store, self.id, digest)?;
        Signature::try_from(sig)
    }

    /// Ends the signer, giving the store back.
    pub fn into_inner(self) -> &'a mut S {
        self.store.into_inner()
    }
}

/// A provkit error as a `signature::Error`, keeping it as the source where the error
/// can hold one (`alloc`).
fn signature_error(e: Error) -> signature::Error {
    #[cfg(feature = "alloc")]
    {
        signature::Error::from_source(e)
    }
    #[cfg(not(feature = "alloc"))]
    {
        let _ = e;
        signature::Error::new()
    }
}

/// Signs a SHA-256 digest (`prehash` of exactly 32 bytes; other lengths are refused with
/// a `signature::Error` rather than truncated or padded).
impl<S: IdentityKeys + ?Sized> PrehashSigner<Signature> for StoreSigner<'_, S> {
    fn sign_prehash(&self, prehash: &[u8]) -> core::result::Result<Signature, signature::Error> {
        let digest: &[u8; 32] = prehash.try_into().map_err(|_| signature::Error::new())?;
        self.sign_digest(digest).map_err(signature_error)
    }
}

/// ECDSA P-256 with SHA-256 over `msg` (ecdsa-with-SHA256).
impl<S: IdentityKeys + ?Sized> Signer<Signature> for StoreSigner<'_, S> {
    fn try_sign(&self, msg: &[u8]) -> core::result::Result<Signature, signature::Error> {
        self.sign_digest(&sha256(msg)).map_err(signature_error)
    }
}

impl<S: IdentityKeys + ?Sized> Keypair for StoreSigner<'_, S> {
    type VerifyingKey = VerifyingKey;

    fn verifying_key(&self) -> VerifyingKey {
        self.public.into()
    }
}

impl<S: IdentityKeys + ?Sized> fmt::Debug for StoreSigner<'_, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoreSigner")
            .field("id", &self.id)
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// A RustCrypto signer as a one-key provkit identity store: anything that implements
/// `PrehashSigner<p256::ecdsa::Signature>` and `Keypair` with a
/// `p256::ecdsa::VerifyingKey` (a cloud KMS or remote HSM client, a
/// `p256::ecdsa::SigningKey`), holding its one key under the [`KeyId`] given to
/// [`new`](Self::new).
///
/// It implements [`IdentityKeys`] for what such a signer can do: [`public_key`] and
/// [`sign_digest`] delegate (the public key is read once, at construction; the digest is
/// passed as a 32-byte prehash; the signature comes back low-S). That is all the
/// handshake ([`Initiator`](crate::handshake::Initiator) and
/// [`Responder`](crate::handshake::Responder): its ECDH is on ephemeral keys), a CA
/// ([`cert::issue_device`](crate::cert::issue_device) and the like) and replacement
/// statements need from an identity. The rest returns [`Error::Unsupported`]:
/// [`generate_p256`], [`import_p256`] (the key lives in the external signer),
/// [`ecdh`] (a signer does not agree keys: opening HPKE messages, shipments and
/// telemetry, which do ECDH with the recipient's key, needs a store) and
/// [`delete_key`](KeyInventory::delete_key). An id other
/// than the signer's is [`StoreError::NotFound`].
///
/// A signer failure is [`StoreError::Backend`] with [`BackendCause::SIGNER`] (the
/// `signature::Error` carries no detail provkit could keep). The signature is not verified here: a signer that
/// signs with another key than its `verifying_key` produces messages that peers
/// refuse.
///
/// [`public_key`]: IdentityKeys::public_key
/// [`sign_digest`]: IdentityKeys::sign_digest
/// [`generate_p256`]: IdentityKeys::generate_p256
/// [`import_p256`]: IdentityKeys::import_p256
/// [`ecdh`]: IdentityKeys::ecdh
///
/// ```
/// use p256::ecdsa::SigningKey;
/// use provkit::store::{ExternalSigner, IdentityKeys, KeyId};
///
/// // Stands in for a KMS client that implements PrehashSigner and Keypair.
/// let kms = SigningKey::from_slice(&[0x42; 32]).expect("a valid scalar");
/// let mut identity = ExternalSigner::new(kms, KeyId(7));
/// let digest = provkit::ec::sha256(b"handshake transcript");
/// let sig = identity.sign_digest(KeyId(7), &digest)?;
/// identity.public_key(KeyId(7))?.verify_digest_low_s(&digest, &sig)?;
/// # Ok::<(), provkit::Error>(())
/// ```
pub struct ExternalSigner<T> {
    signer: T,
    id: KeyId,
    public: EcPublicKey,
}

impl<T> ExternalSigner<T>
where
    T: PrehashSigner<Signature> + Keypair<VerifyingKey = VerifyingKey>,
{
    /// Wraps `signer` as the key `id`; reads its verifying key.
    pub fn new(signer: T, id: KeyId) -> Self {
        let public = EcPublicKey::from(signer.verifying_key());
        Self { signer, id, public }
    }
}

impl<T> ExternalSigner<T> {
    /// The id the signer's key is known by.
    #[must_use]
    pub const fn key_id(&self) -> KeyId {
        self.id
    }

    /// The wrapped signer.
    #[must_use]
    pub const fn get_ref(&self) -> &T {
        &self.signer
    }

    /// Unwraps the signer.
    pub fn into_inner(self) -> T {
        self.signer
    }

    fn check(&self, id: KeyId) -> Result<()> {
        if id == self.id {
            Ok(())
        } else {
            Err(StoreError::NotFound.into())
        }
    }
}

impl<T> KeyInventory for ExternalSigner<T> {
    /// [`KeyKind::P256`] for the signer's id; [`StoreError::NotFound`] for any other.
    fn key_kind(&mut self, id: KeyId) -> Result<KeyKind> {
        self.check(id).map(|()| KeyKind::P256)
    }

    /// [`Error::Unsupported`]: the key belongs to the external signer.
    fn delete_key(&mut self, id: KeyId) -> Result<()> {
        self.check(id)?;
        Err(Error::Unsupported)
    }
}

impl<T> IdentityKeys for ExternalSigner<T>
where
    T: PrehashSigner<Signature>,
{
    /// [`Error::Unsupported`]: the signer's one key is made outside provkit.
    fn generate_p256(
        &mut self,
        _id: KeyId,
        _rng: &mut dyn rand_core::CryptoRng,
    ) -> Result<EcPublicKey> {
        Err(Error::Unsupported)
    }

    /// [`Error::Unsupported`]: the signer's one key is made outside provkit.
    fn import_p256(&mut self, _id: KeyId, _scalar: &SecretBytes<32>) -> Result<EcPublicKey> {
        Err(Error::Unsupported)
    }

    fn public_key(&mut self, id: KeyId) -> Result<EcPublicKey> {
        self.check(id)?;
        Ok(self.public)
    }

    fn sign_digest(&mut self, id: KeyId, digest: &[u8; 32]) -> Result<EcdsaSignature> {
        self.check(id)?;
        let sig = self
            .signer
            .sign_prehash(digest)
            .map_err(|_| Error::from(BackendCause::SIGNER))?;
        Ok(EcdsaSignature::from(sig).normalize_s())
    }

    /// [`Error::Unsupported`]: a signer does not do ECDH.
    fn ecdh(&mut self, id: KeyId, _peer: &EcPublicKey) -> Result<SecretBytes<32>> {
        self.check(id)?;
        Err(Error::Unsupported)
    }
}

impl<T> fmt::Debug for ExternalSigner<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExternalSigner")
            .field("id", &self.id)
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}
