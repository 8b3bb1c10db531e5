//! [`SqliteStore`]: a key store whose rows hold only wrapped key material.

use crate::{SqliteOptions, open_connection};
use provkit::ec::{EcPublicKey, EcdsaSignature};
use provkit::envelope::KekSlot;
use provkit::error::{Error, Result, StoreError};
use provkit::provider::{CryptoProvider, RustCrypto};
use provkit::secret::SecretBytes;
use provkit::store::{
    IdentityKeys, KeyId, KeyInventory, KeyKind, MemoryStore, RecordId, Records, SymmetricKeys,
    WrapAlgorithm,
};
use rusqlite::{OptionalExtension, params};
use std::marker::PhantomData;
use std::path::Path;
use zeroize::Zeroizing;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS store_keys (
    id          INTEGER PRIMARY KEY,
    kind        INTEGER NOT NULL,
    kek_id      BLOB    NOT NULL,
    kek_version INTEGER NOT NULL,
    wrapped     BLOB    NOT NULL
);
CREATE TABLE IF NOT EXISTS store_records (
    id          INTEGER PRIMARY KEY,
    kek_id      BLOB    NOT NULL,
    kek_version INTEGER NOT NULL,
    wrapped     BLOB    NOT NULL
);
";

/// The largest record accepted.
pub const MAX_RECORD_LEN: usize = 4096;

/// Prefix bytes bound into every wrapped value: a type byte and the 4-byte id, so that a
/// row copied under another id or kind fails to load (`StoreError::Corrupt`).
const PREFIX: usize = 5;
/// Type byte of a record.
const RECORD_TYPE: u8 = 0x80;

/// The one key slot in the throwaway per-operation store.
const TMP: KeyId = KeyId(1);
/// A second slot, for operations on two stored keys (wrap a stored key under another).
const TMP2: KeyId = KeyId(2);

/// A key store in a SQLite file: every key and record is stored wrapped with AES-KWP under
/// the KEK `kek` held in the store `K`, bound to its id and kind; no plaintext key is in
/// any table. Each operation on a stored key unwraps it into a zeroizing buffer, loads it
/// into a throwaway [`MemoryStore`] (zeroized on drop) and runs the operation there.
///
/// Implements [`provkit::store::KeyStore`] and passes `provkit::store::suite::all`.
///
/// Keys sign, agree and encrypt on the [`CryptoProvider`] `P`: [`RustCrypto`] from
/// [`open`](SqliteStore::open), a server's fast provider after
/// [`with_provider`](SqliteStore::with_provider).
pub struct SqliteStore<K, P: CryptoProvider = RustCrypto> {
    conn: rusqlite::Connection,
    kek_store: K,
    kek: KekSlot,
    provider: PhantomData<P>,
}

impl<K, P: CryptoProvider> std::fmt::Debug for SqliteStore<K, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("kek", &self.kek.kek)
            .finish_non_exhaustive()
    }
}

fn backend(e: rusqlite::Error) -> Error {
    // provkit::Error is Copy and carries no text: it keeps SQLite's extended result code
    // (e.g. SQLITE_BUSY, SQLITE_READONLY), which is what a caller acts on.
    Error::Store(StoreError::Backend(crate::cause(&e)))
}

const fn kind_code(kind: KeyKind) -> Result<u8> {
    match kind {
        KeyKind::P256 => Ok(0x10),
        KeyKind::Aes128 => Ok(0x01),
        KeyKind::Aes192 => Ok(0x02),
        KeyKind::Aes256 => Ok(0x03),
        KeyKind::Tdes2 => Ok(0x04),
        KeyKind::Tdes3 => Ok(0x05),
        _ => Err(Error::Unsupported),
    }
}

const fn kind_from_code(code: i64) -> Result<KeyKind> {
    match code {
        0x10 => Ok(KeyKind::P256),
        0x01 => Ok(KeyKind::Aes128),
        0x02 => Ok(KeyKind::Aes192),
        0x03 => Ok(KeyKind::Aes256),
        0x04 => Ok(KeyKind::Tdes2),
        0x05 => Ok(KeyKind::Tdes3),
        _ => Err(Error::Store(StoreError::Corrupt)),
    }
}

/// A one-key software store for a single operation, on the provider `P`.
type Tmp<P> = MemoryStore<2, 0, 0, P>;

impl<K: SymmetricKeys> SqliteStore<K> {
    /// Opens (creating if needed) the store tables in the file at `path`, wrapping under
    /// the AES KEK `kek` held in `kek_store`. `kek.wrap` is not used: values are
    /// prefixed with their type and id, so their length needs AES-KWP. Keys run on
    /// [`RustCrypto`] ([`with_provider`](Self::with_provider) changes that).
    ///
    /// # Errors
    /// `Store(Backend)` when the file cannot be opened or the schema created.
    pub fn open(
        path: impl AsRef<Path>,
        kek_store: K,
        kek: KekSlot,
        options: SqliteOptions,
    ) -> Result<Self> {
        let conn = open_connection(path.as_ref(), options).map_err(backend)?;
        conn.execute_batch(SCHEMA).map_err(backend)?;
        Ok(Self {
            conn,
            kek_store,
            kek,
            provider: PhantomData,
        })
    }
}

impl<K: SymmetricKeys, P: CryptoProvider> SqliteStore<K, P> {
    /// The same store with its keys on the provider `Q`
    /// (`SqliteStore::open(..)?.with_provider::<AwsLc>()` on a server).
    #[must_use]
    pub fn with_provider<Q: CryptoProvider>(self) -> SqliteStore<K, Q> {
        SqliteStore {
            conn: self.conn,
            kek_store: self.kek_store,
            kek: self.kek,
            provider: PhantomData,
        }
    }

    /// The KEK store (to rotate, or to use its other keys).
    pub const fn kek_store_mut(&mut self) -> &mut K {
        &mut self.kek_store
    }

    /// Wraps `type ‖ id ‖ material` under the KEK.
    fn seal(&mut self, ty: u8, id: u32, material: &[u8]) -> Result<Vec<u8>> {
        let mut plain = Zeroizing::new(Vec::with_capacity(PREFIX + material.len()));
        plain.push(ty);
        plain.extend_from_slice(&id.to_be_bytes());
        plain.extend_from_slice(material);
        let len = WrapAlgorithm::AesKwp
            .wrapped_len(plain.len())
            .ok_or(Error::Unsupported)?;
        let mut out = vec![0u8; len];
        let n = self
            .kek_store
            .wrap_bytes(self.kek.key, WrapAlgorithm::AesKwp, &plain, &mut out)?;
        out.truncate(n);
        Ok(out)
    }

    /// Unwraps a stored value and checks its binding; returns the material.
    fn open_value(&mut self, ty: u8, id: u32, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let mut plain = Zeroizing::new(vec![0u8; wrapped.len()]);
        let n = self
            .kek_store
            .unwrap_bytes(self.kek.key, WrapAlgorithm::AesKwp, wrapped, &mut plain)
            .map_err(|_| Error::Store(StoreError::Corrupt))?;
        plain.truncate(n);
        let (head, body) = plain
            .split_at_checked(PREFIX)
            .ok_or(Error::Store(StoreError::Corrupt))?;
        let mut want = [0u8; PREFIX];
        want[0] = ty;
        want[1..].copy_from_slice(&id.to_be_bytes());
        if head != want {
            return Err(StoreError::Corrupt.into());
        }
        Ok(Zeroizing::new(body.to_vec()))
    }

    fn exists(&self, id: KeyId) -> Result<bool> {
        self.conn
            .prepare_cached("SELECT 1 FROM store_keys WHERE id = ?1")
            .map_err(backend)?
            .exists(params![id.0])
            .map_err(backend)
    }

    /// Loads the key `id` into `tmp` under `slot`; returns its kind.
    fn load(&mut self, id: KeyId, tmp: &mut Tmp<P>, slot: KeyId) -> Result<KeyKind> {
        let row: Option<(i64, Vec<u8>)> = self
            .conn
            .prepare_cached("SELECT kind, wrapped FROM store_keys WHERE id = ?1")
            .map_err(backend)?
            .query_row(params![id.0], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map_err(backend)?;
        let (code, wrapped) = row.ok_or(Error::Store(StoreError::NotFound))?;
        let kind = kind_from_code(code)?;
        let material = self.open_value(kind_code(kind)?, id.0, &wrapped)?;
        load_into(tmp, slot, kind, &material).map_err(|_| Error::Store(StoreError::Corrupt))?;
        Ok(kind)
    }

    /// A throwaway store holding key `id` under [`TMP`].
    fn with_key(&mut self, id: KeyId) -> Result<Tmp<P>> {
        let mut tmp = Tmp::<P>::new();
        self.load(id, &mut tmp, TMP)?;
        Ok(tmp)
    }

    /// Stores `material` of `kind` under `id` (which must be free).
    fn insert(&mut self, id: KeyId, kind: KeyKind, material: &[u8]) -> Result<()> {
        if self.exists(id)? {
            return Err(StoreError::AlreadyExists.into());
        }
        // Validate kind and length exactly as the software store does.
        load_into(&mut Tmp::<P>::new(), TMP, kind, material)?;
        let wrapped = self.seal(kind_code(kind)?, id.0, material)?;
        let n = self
            .conn
            .prepare_cached(
                "INSERT OR IGNORE INTO store_keys (id, kind, kek_id, kek_version, wrapped) \
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )
            .map_err(backend)?
            .execute(params![
                id.0,
                kind_code(kind)?,
                self.kek.kek.id.0.as_slice(),
                self.kek.kek.version,
                wrapped
            ])
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::AlreadyExists.into());
        }
        Ok(())
    }
}

/// Puts key material into a software store slot (validating kind and length).
fn load_into<P: CryptoProvider>(
    tmp: &mut Tmp<P>,
    slot: KeyId,
    kind: KeyKind,
    material: &[u8],
) -> Result<()> {
    if kind == KeyKind::P256 {
        let scalar = SecretBytes::<32>::from_slice(material)?;
        tmp.import_p256(slot, &scalar).map(|_| ())
    } else {
        tmp.import_symmetric(slot, kind, material)
    }
}

impl<K: SymmetricKeys, P: CryptoProvider> KeyInventory for SqliteStore<K, P> {
    fn key_kind(&mut self, id: KeyId) -> Result<KeyKind> {
        let code: Option<i64> = self
            .conn
            .prepare_cached("SELECT kind FROM store_keys WHERE id = ?1")
            .map_err(backend)?
            .query_row(params![id.0], |r| r.get(0))
            .optional()
            .map_err(backend)?;
        kind_from_code(code.ok_or(Error::Store(StoreError::NotFound))?)
    }

    fn delete_key(&mut self, id: KeyId) -> Result<()> {
        let n = self
            .conn
            .execute("DELETE FROM store_keys WHERE id = ?1", params![id.0])
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::NotFound.into());
        }
        Ok(())
    }
}

impl<K: SymmetricKeys, P: CryptoProvider> IdentityKeys for SqliteStore<K, P> {
    fn generate_p256(
        &mut self,
        id: KeyId,
        rng: &mut dyn rand_core::CryptoRng,
    ) -> Result<EcPublicKey> {
        if self.exists(id)? {
            return Err(StoreError::AlreadyExists.into());
        }
        // Rejection sampling: a random 32-byte string is a valid scalar (1 ≤ d < n) except
        // with probability about 2⁻³²; draw again in that case.
        for _ in 0..64 {
            let mut scalar = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(scalar.as_mut());
            let secret = SecretBytes::new(*scalar);
            if let Ok(public) = Tmp::<P>::new().import_p256(TMP, &secret) {
                self.insert(id, KeyKind::P256, scalar.as_ref())?;
                return Ok(public);
            }
        }
        Err(Error::Crypto)
    }

    fn import_p256(&mut self, id: KeyId, scalar: &SecretBytes<32>) -> Result<EcPublicKey> {
        if self.exists(id)? {
            return Err(StoreError::AlreadyExists.into());
        }
        let public = Tmp::<P>::new().import_p256(TMP, scalar)?;
        // A software store must persist the scalar (wrapped): the one place this crate
        // reads secret bytes through provkit's `hazmat` accessor.
        self.insert(id, KeyKind::P256, scalar.dangerous_expose())?;
        Ok(public)
    }

    fn public_key(&mut self, id: KeyId) -> Result<EcPublicKey> {
        self.with_key(id)?.public_key(TMP)
    }

    fn sign_digest(&mut self, id: KeyId, digest: &[u8; 32]) -> Result<EcdsaSignature> {
        self.with_key(id)?.sign_digest(TMP, digest)
    }

    fn ecdh(&mut self, id: KeyId, peer: &EcPublicKey) -> Result<SecretBytes<32>> {
        self.with_key(id)?.ecdh(TMP, peer)
    }
}

impl<K: SymmetricKeys, P: CryptoProvider> SymmetricKeys for SqliteStore<K, P> {
    fn import_symmetric(&mut self, id: KeyId, kind: KeyKind, key: &[u8]) -> Result<()> {
        self.insert(id, kind, key)
    }

    fn generate_symmetric(
        &mut self,
        id: KeyId,
        kind: KeyKind,
        rng: &mut dyn rand_core::CryptoRng,
    ) -> Result<()> {
        if kind == KeyKind::P256 {
            return Err(StoreError::WrongKeyKind.into());
        }
        let mut key = Zeroizing::new([0u8; 32]);
        let bytes = key.get_mut(..kind.key_len()).ok_or(Error::Unsupported)?;
        rng.fill_bytes(bytes);
        self.insert(id, kind, bytes)
    }

    fn encrypt_block(&mut self, id: KeyId, block: &mut [u8]) -> Result<()> {
        self.with_key(id)?.encrypt_block(TMP, block)
    }

    fn wrap_bytes(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        self.with_key(kek)?.wrap_bytes(TMP, alg, plaintext, out)
    }

    fn unwrap_bytes(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        wrapped: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        self.with_key(kek)?.unwrap_bytes(TMP, alg, wrapped, out)
    }

    fn wrap_key(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        key: KeyId,
        out: &mut [u8],
    ) -> Result<usize> {
        let mut tmp = Tmp::<P>::new();
        self.load(kek, &mut tmp, TMP)?;
        self.load(key, &mut tmp, TMP2)?;
        tmp.wrap_key(TMP, alg, TMP2, out)
    }

    fn unwrap_key(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        wrapped: &[u8],
        id: KeyId,
        kind: KeyKind,
    ) -> Result<()> {
        if self.exists(id)? {
            return Err(StoreError::AlreadyExists.into());
        }
        let mut plain = Zeroizing::new([0u8; 40]);
        let n = self
            .with_key(kek)?
            .unwrap_bytes(TMP, alg, wrapped, plain.as_mut())?;
        let key = plain.get(..n).ok_or(Error::Crypto)?;
        self.insert(id, kind, key)
    }
}

impl<K: SymmetricKeys, P: CryptoProvider> Records for SqliteStore<K, P> {
    fn max_record_len(&self) -> usize {
        MAX_RECORD_LEN
    }

    fn read_record(&mut self, id: RecordId, out: &mut [u8]) -> Result<usize> {
        let wrapped: Option<Vec<u8>> = self
            .conn
            .prepare_cached("SELECT wrapped FROM store_records WHERE id = ?1")
            .map_err(backend)?
            .query_row(params![id.0], |r| r.get(0))
            .optional()
            .map_err(backend)?;
        let wrapped = wrapped.ok_or(Error::Store(StoreError::NotFound))?;
        let data = self.open_value(RECORD_TYPE, id.0, &wrapped)?;
        let len = data.len();
        out.get_mut(..len)
            .ok_or(Error::buffer_too_small(len))?
            .copy_from_slice(&data);
        Ok(len)
    }

    fn write_record(&mut self, id: RecordId, data: &[u8]) -> Result<()> {
        if data.len() > MAX_RECORD_LEN {
            return Err(StoreError::RecordTooLarge.into());
        }
        let wrapped = self.seal(RECORD_TYPE, id.0, data)?;
        // One statement: SQLite replaces the row atomically and durably.
        self.conn
            .prepare_cached(
                "INSERT INTO store_records (id, kek_id, kek_version, wrapped) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (id) DO UPDATE SET kek_id = excluded.kek_id, \
                 kek_version = excluded.kek_version, wrapped = excluded.wrapped",
            )
            .map_err(backend)?
            .execute(params![
                id.0,
                self.kek.kek.id.0.as_slice(),
                self.kek.kek.version,
                wrapped
            ])
            .map_err(backend)?;
        Ok(())
    }

    fn delete_record(&mut self, id: RecordId) -> Result<()> {
        let n = self
            .conn
            .execute("DELETE FROM store_records WHERE id = ?1", params![id.0])
            .map_err(backend)?;
        if n == 0 {
            return Err(StoreError::NotFound.into());
        }
        Ok(())
    }
}
