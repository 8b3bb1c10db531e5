//! [`MemoryStore`]: a fixed-capacity key store in RAM, with no heap.
//!
//! For firmware that provisions keys at boot from elsewhere, for tests, and as the
//! reference implementation of the store traits. Nothing survives a reset.

use crate::ec::{EcPublicKey, EcdsaSignature};
use crate::error::{Error, Result, StoreError};
use crate::provider::{CryptoProvider, RustCrypto};
use crate::secret::{SecretBuf, SecretBytes};
use crate::store::soft::SoftKey;
use crate::store::{
    IdentityKeys, KeyId, KeyInventory, KeyKind, RecordId, Records, SymmetricKeys, WrapAlgorithm,
};
use core::fmt;

/// A RAM key store holding up to `KEYS` keys and `RECORDS` records of up to
/// `RECORD_LEN` bytes each. Record contents are treated as secret (zeroized on drop).
///
/// The capacity is fixed at compile time; the whole store lives wherever the value does
/// (a `static`, the stack), so pick it to fit. Written as a type without parameters,
/// `MemoryStore` is `MemoryStore<8, 8, 128>`: 8 keys and 8 records of up to 128 bytes,
/// enough for a pinned peer certificate (111 bytes) or `store::suite`'s records.
/// [`KeyOnlyStore<N>`](KeyOnlyStore) is a store of `N` keys and no records (a CA's or a
/// test's key holder). A DUKPT device names its own record count
/// (`MemoryStore<1, { AesDevice::RECORDS as usize }, 64>`).
///
/// Its keys sign, agree and encrypt on the [`CryptoProvider`] `P`, [`RustCrypto`] unless
/// named: a server names its fast provider as the fourth parameter
/// (`MemoryStore<8, 8, 128, AwsLc>` with the `provkit-aws-lc` crate).
///
/// ```
/// use provkit::store::{KeyOnlyStore, MemoryStore, RecordId, Records};
///
/// # fn main() -> provkit::Result<()> {
/// let mut store: MemoryStore = MemoryStore::new(); // 8 keys, 8 records of 128 bytes
/// store.write_record(RecordId(1), b"pinned peer")?;
/// assert_eq!(store.max_record_len(), 128);
///
/// let ca_keys = KeyOnlyStore::<2>::new(); // 2 keys, no records
/// assert_eq!(ca_keys.max_record_len(), 0);
/// # Ok(())
/// # }
/// ```
///
/// ```
/// use provkit::store::{IdentityKeys, KeyId, MemoryStore};
///
/// # fn main() -> provkit::Result<()> {
/// let mut store = MemoryStore::<4, 4, 64>::new();
/// let mut rng = provkit::rng::OsRng; // or the device's hardware RNG
/// let public = store.generate_p256(KeyId(1), &mut rng)?;
/// let sig = store.sign_digest(KeyId(1), &[0u8; 32])?;
/// public.verify_digest(&[0u8; 32], &sig)?;
/// # Ok(())
/// # }
/// ```
pub struct MemoryStore<
    const KEYS: usize = 8,
    const RECORDS: usize = 8,
    const RECORD_LEN: usize = 128,
    P: CryptoProvider = RustCrypto,
> {
    keys: [Option<(KeyId, SoftKey<P>)>; KEYS],
    records: [Option<(RecordId, SecretBuf<RECORD_LEN>)>; RECORDS],
}

/// A [`MemoryStore`] of `KEYS` keys (8 when omitted) and no records: `KeyOnlyStore<1>` is
/// `MemoryStore<1, 0, 0>`.
pub type KeyOnlyStore<const KEYS: usize = 8> = MemoryStore<KEYS, 0, 0>;

impl<const KEYS: usize, const RECORDS: usize, const RECORD_LEN: usize, P: CryptoProvider>
    MemoryStore<KEYS, RECORDS, RECORD_LEN, P>
{
    /// An empty store.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            keys: [const { None }; KEYS],
            records: [const { None }; RECORDS],
        }
    }

    fn key(&self, id: KeyId) -> Result<&SoftKey<P>> {
        self.keys
            .iter()
            .flatten()
            .find(|(k, _)| *k == id)
            .map(|(_, key)| key)
            .ok_or(StoreError::NotFound.into())
    }

    fn insert(&mut self, id: KeyId, key: SoftKey<P>) -> Result<()> {
        if self.key(id).is_ok() {
            return Err(StoreError::AlreadyExists.into());
        }
        let slot = self
            .keys
            .iter_mut()
            .find(|s| s.is_none())
            .ok_or(Error::Store(StoreError::Full))?;
        *slot = Some((id, key));
        Ok(())
    }
}

impl<const KEYS: usize, const RECORDS: usize, const RECORD_LEN: usize, P: CryptoProvider> Default
    for MemoryStore<KEYS, RECORDS, RECORD_LEN, P>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<const KEYS: usize, const RECORDS: usize, const RECORD_LEN: usize, P: CryptoProvider> fmt::Debug
    for MemoryStore<KEYS, RECORDS, RECORD_LEN, P>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryStore")
            .field("keys", &self.keys.iter().flatten().count())
            .field("records", &self.records.iter().flatten().count())
            .finish_non_exhaustive()
    }
}

impl<const KEYS: usize, const RECORDS: usize, const RECORD_LEN: usize, P: CryptoProvider>
    KeyInventory for MemoryStore<KEYS, RECORDS, RECORD_LEN, P>
{
    fn key_kind(&mut self, id: KeyId) -> Result<KeyKind> {
        self.key(id).map(SoftKey::kind)
    }

    fn delete_key(&mut self, id: KeyId) -> Result<()> {
        let slot = self
            .keys
            .iter_mut()
            .find(|s| matches!(s, Some((k, _)) if *k == id))
            .ok_or(Error::Store(StoreError::NotFound))?;
        *slot = None; // SoftKey zeroizes on drop
        Ok(())
    }
}

impl<const KEYS: usize, const RECORDS: usize, const RECORD_LEN: usize, P: CryptoProvider>
    IdentityKeys for MemoryStore<KEYS, RECORDS, RECORD_LEN, P>
{
    fn generate_p256(
        &mut self,
        id: KeyId,
        rng: &mut dyn rand_core::CryptoRng,
    ) -> Result<EcPublicKey> {
        let key = SoftKey::p256_random(rng);
        let public = key.public_key()?;
        self.insert(id, key)?;
        Ok(public)
    }

    fn import_p256(&mut self, id: KeyId, scalar: &SecretBytes<32>) -> Result<EcPublicKey> {
        let key = SoftKey::p256_from_scalar(scalar)?;
        let public = key.public_key()?;
        self.insert(id, key)?;
        Ok(public)
    }

    fn public_key(&mut self, id: KeyId) -> Result<EcPublicKey> {
        self.key(id)?.public_key()
    }

    fn sign_digest(&mut self, id: KeyId, digest: &[u8; 32]) -> Result<EcdsaSignature> {
        self.key(id)?.sign_digest(digest)
    }

    fn ecdh(&mut self, id: KeyId, peer: &EcPublicKey) -> Result<SecretBytes<32>> {
        self.key(id)?.ecdh(peer)
    }
}

impl<const KEYS: usize, const RECORDS: usize, const RECORD_LEN: usize, P: CryptoProvider>
    SymmetricKeys for MemoryStore<KEYS, RECORDS, RECORD_LEN, P>
{
    fn import_symmetric(&mut self, id: KeyId, kind: KeyKind, key: &[u8]) -> Result<()> {
        let key = SoftKey::symmetric(kind, key)?;
        self.insert(id, key)
    }

    fn generate_symmetric(
        &mut self,
        id: KeyId,
        kind: KeyKind,
        rng: &mut dyn rand_core::CryptoRng,
    ) -> Result<()> {
        let key = SoftKey::symmetric_random(kind, rng)?;
        self.insert(id, key)
    }

    fn encrypt_block(&mut self, id: KeyId, block: &mut [u8]) -> Result<()> {
        self.key(id)?.encrypt_block(block)
    }

    fn wrap_bytes(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        self.key(kek)?.wrap_bytes(alg, plaintext, out)
    }

    fn unwrap_bytes(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        wrapped: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        self.key(kek)?.unwrap_bytes(alg, wrapped, out)
    }

    fn wrap_key(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        key: KeyId,
        out: &mut [u8],
    ) -> Result<usize> {
        let inner = self.key(key)?;
        self.key(kek)?.wrap_key(alg, inner, out)
    }

    fn unwrap_key(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        wrapped: &[u8],
        id: KeyId,
        kind: KeyKind,
    ) -> Result<()> {
        if self.key(id).is_ok() {
            return Err(StoreError::AlreadyExists.into());
        }
        let key = self.key(kek)?.unwrap_key(alg, wrapped, kind)?;
        self.insert(id, key)
    }
}

impl<const KEYS: usize, const RECORDS: usize, const RECORD_LEN: usize, P: CryptoProvider> Records
    for MemoryStore<KEYS, RECORDS, RECORD_LEN, P>
{
    fn max_record_len(&self) -> usize {
        RECORD_LEN
    }

    fn read_record(&mut self, id: RecordId, out: &mut [u8]) -> Result<usize> {
        let (_, data) = self
            .records
            .iter()
            .flatten()
            .find(|(r, _)| *r == id)
            .ok_or(Error::Store(StoreError::NotFound))?;
        let len = data.len();
        out.get_mut(..len)
            .ok_or(Error::buffer_too_small(len))?
            .copy_from_slice(data.expose());
        Ok(len)
    }

    fn write_record(&mut self, id: RecordId, data: &[u8]) -> Result<()> {
        if data.len() > RECORD_LEN {
            return Err(StoreError::RecordTooLarge.into());
        }
        let value = SecretBuf::from_slice(data)?;
        let position = self
            .records
            .iter()
            .position(|s| matches!(s, Some((r, _)) if *r == id))
            .or_else(|| self.records.iter().position(Option::is_none))
            .ok_or(Error::Store(StoreError::Full))?;
        let slot = self
            .records
            .get_mut(position)
            .ok_or(Error::Store(StoreError::Full))?;
        *slot = Some((id, value));
        Ok(())
    }

    fn delete_record(&mut self, id: RecordId) -> Result<()> {
        let slot = self
            .records
            .iter_mut()
            .find(|s| matches!(s, Some((r, _)) if *r == id))
            .ok_or(Error::Store(StoreError::NotFound))?;
        *slot = None;
        Ok(())
    }
}
