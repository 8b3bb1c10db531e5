//! [`PgStore`]: provkit's key-store traits over PostgreSQL, with every key and record
//! wrapped under a KEK held in another store.

use crate::error::{OpenError, check_schema_name, describe, to_provkit};
use crate::seal;
use postgres::{Client, NoTls, Statement};
use provkit::ec::{EcPublicKey, EcdsaSignature};
use provkit::envelope::KekSlot;
use provkit::provider::{CryptoProvider, RustCrypto};
use provkit::secret::SecretBytes;
use provkit::store::{
    IdentityKeys, KeyId, KeyInventory, KeyKind, MemoryStore, RecordId, Records, StoreError,
    SymmetricKeys, WrapAlgorithm,
};
use provkit::{Error, Result};
use std::marker::PhantomData;
use zeroize::Zeroizing;

/// The largest record a [`PgStore`] accepts by default, in bytes.
pub const DEFAULT_MAX_RECORD_LEN: usize = 4096;

/// Attempts at drawing a valid P-256 scalar before giving up (each fails with probability
/// below 2^-32, so a second attempt is already a sign of a broken generator).
const SCALAR_ATTEMPTS: usize = 4;

/// A throwaway software store for one operation on one or two unwrapped keys; it zeroizes
/// them when dropped at the end of the operation.
type OpStore<P> = MemoryStore<2, 0, 0, P>;
const OP_A: KeyId = KeyId(0);
const OP_B: KeyId = KeyId(1);

/// The store's tables, created in its schema when missing.
///
/// `keys.wrapped` and `records.wrapped` hold the [`seal`] plaintext wrapped under the
/// KEK version named in `kek_id`/`kek_version`: no key or record is stored in the clear.
const SCHEMA_SQL: &str = "
CREATE TABLE IF NOT EXISTS keys (
    id          bigint   PRIMARY KEY CHECK (id BETWEEN 0 AND 4294967295),
    kind        smallint NOT NULL CHECK (kind BETWEEN 1 AND 6),
    kek_id      bytea    NOT NULL CHECK (octet_length(kek_id) = 8),
    kek_version bigint   NOT NULL,
    wrapped     bytea    NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    id          bigint   PRIMARY KEY CHECK (id BETWEEN 0 AND 4294967295),
    kek_id      bytea    NOT NULL CHECK (octet_length(kek_id) = 8),
    kek_version bigint   NOT NULL,
    wrapped     bytea    NOT NULL
);
";

/// The statements every operation uses, prepared once per connection.
#[derive(Debug)]
struct Statements {
    key_kind: Statement,
    load_key: Statement,
    insert_key: Statement,
    delete_key: Statement,
    read_record: Statement,
    write_record: Statement,
    delete_record: Statement,
}

/// A key store in one PostgreSQL schema, for backends that run several instances against
/// one database.
///
/// **No plaintext key in any table.** Every key (and every record: DUKPT registers are
/// keys too) is wrapped under the KEK `kek` living in the store `K` — a PKCS#11 HSM in
/// production, a [`MemoryStore`] holding a file KEK in tests — with its id and kind bound
/// inside the wrap ([`seal`] format). An operation fetches the row, unwraps it into a
/// throwaway software store for that one operation, and drops (zeroizes) it.
///
/// **Several instances.** Every change is one statement in autocommit, so the database's
/// constraints arbitrate between instances: two creating the same key id at once get
/// one `Ok` and one [`StoreError::AlreadyExists`]; a record write replaces the row
/// atomically (`INSERT … ON CONFLICT DO UPDATE`).
///
/// **Durability.** A write returns after PostgreSQL's commit, which with the default
/// `synchronous_commit = on` has reached the WAL on disk.
///
/// Failures of the database are [`StoreError::Backend`], with the server's message in
/// [`last_backend_error`](Self::last_backend_error).
///
/// Keys sign, agree and encrypt on the [`CryptoProvider`] `P`: [`RustCrypto`] from
/// [`connect`](PgStore::connect) and [`open`](PgStore::open), a server's fast provider
/// after [`with_provider`](PgStore::with_provider).
pub struct PgStore<K: SymmetricKeys, P: CryptoProvider = RustCrypto> {
    client: Client,
    schema: String,
    kek_store: K,
    kek: KekSlot,
    statements: Statements,
    max_record_len: usize,
    last_error: Option<String>,
    provider: PhantomData<P>,
}

impl<K: SymmetricKeys, P: CryptoProvider> core::fmt::Debug for PgStore<K, P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PgStore")
            .field("schema", &self.schema)
            .field("kek", &self.kek)
            .field("max_record_len", &self.max_record_len)
            .finish_non_exhaustive()
    }
}

impl<K: SymmetricKeys> PgStore<K> {
    /// Connects to `url` (a `postgres://` URL or `key=value` string, without TLS: use
    /// [`open`](Self::open) with a TLS client across a network), creates `schema` and its
    /// tables if missing, and checks the KEK.
    ///
    /// # Errors
    /// [`OpenError`]: a bad schema name, a database failure, an unusable KEK.
    pub fn connect(
        url: &str,
        schema: &str,
        kek_store: K,
        kek: KekSlot,
    ) -> core::result::Result<Self, OpenError> {
        check_schema_name(schema)?;
        let client = Client::connect(url, NoTls)?;
        Self::open(client, schema, kek_store, kek)
    }

    /// As [`connect`](Self::connect), over a client the caller connected (with TLS, say).
    /// The client's `search_path` is set to `schema`.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub fn open(
        mut client: Client,
        schema: &str,
        mut kek_store: K,
        kek: KekSlot,
    ) -> core::result::Result<Self, OpenError> {
        check_schema_name(schema)?;
        match kek_store.key_kind(kek.key) {
            Ok(KeyKind::Aes128 | KeyKind::Aes192 | KeyKind::Aes256) => {}
            Ok(_) => return Err(OpenError::Kek(StoreError::WrongKeyKind.into())),
            Err(e) => return Err(OpenError::Kek(e)),
        }
        create_schema(&mut client, schema, SCHEMA_SQL)?;
        let statements = Statements {
            key_kind: client.prepare("SELECT kind FROM keys WHERE id = $1")?,
            load_key: client
                .prepare("SELECT kind, kek_id, kek_version, wrapped FROM keys WHERE id = $1")?,
            insert_key: client.prepare(
                "INSERT INTO keys (id, kind, kek_id, kek_version, wrapped) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
            )?,
            delete_key: client.prepare("DELETE FROM keys WHERE id = $1")?,
            read_record: client
                .prepare("SELECT kek_id, kek_version, wrapped FROM records WHERE id = $1")?,
            write_record: client.prepare(
                "INSERT INTO records (id, kek_id, kek_version, wrapped) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (id) DO UPDATE SET kek_id = EXCLUDED.kek_id, \
                 kek_version = EXCLUDED.kek_version, wrapped = EXCLUDED.wrapped",
            )?,
            delete_record: client.prepare("DELETE FROM records WHERE id = $1")?,
        };
        Ok(Self {
            client,
            schema: schema.to_owned(),
            kek_store,
            kek,
            statements,
            max_record_len: DEFAULT_MAX_RECORD_LEN,
            last_error: None,
            provider: PhantomData,
        })
    }
}

impl<K: SymmetricKeys, P: CryptoProvider> PgStore<K, P> {
    /// The same store with its keys on the provider `Q`
    /// (`PgStore::connect(..)?.with_provider::<AwsLc>()` on a server).
    #[must_use]
    pub fn with_provider<Q: CryptoProvider>(self) -> PgStore<K, Q> {
        PgStore {
            client: self.client,
            schema: self.schema,
            kek_store: self.kek_store,
            kek: self.kek,
            statements: self.statements,
            max_record_len: self.max_record_len,
            last_error: self.last_error,
            provider: PhantomData,
        }
    }

    /// Sets the largest record accepted (default [`DEFAULT_MAX_RECORD_LEN`]).
    #[must_use]
    pub fn with_max_record_len(mut self, len: usize) -> Self {
        self.max_record_len = len;
        self
    }

    /// The schema this store's tables live in.
    #[must_use]
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The KEK version new rows are wrapped under.
    #[must_use]
    pub const fn kek(&self) -> KekSlot {
        self.kek
    }

    /// The store holding the KEK.
    pub fn kek_store(&mut self) -> &mut K {
        &mut self.kek_store
    }

    /// The PostgreSQL client, for the caller's own queries (for example in tests).
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// The message of the last database failure reported as [`StoreError::Backend`] or
    /// [`StoreError::AlreadyExists`] (for logs; never contains key material).
    #[must_use]
    pub fn last_backend_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// Records `e` for [`last_backend_error`](Self::last_backend_error) and maps it.
    fn db(&mut self, e: &postgres::Error) -> Error {
        self.last_error = Some(describe(e));
        to_provkit(e)
    }

    fn kek_columns(&self) -> (Vec<u8>, i64) {
        (self.kek.kek.id.0.to_vec(), i64::from(self.kek.kek.version))
    }

    /// Checks that a row's KEK columns name this store's KEK version.
    fn check_kek(&self, kek_id: &[u8], kek_version: i64) -> Result<()> {
        if kek_id == self.kek.kek.id.0 && kek_version == i64::from(self.kek.kek.version) {
            Ok(())
        } else {
            Err(provkit::error::EnvelopeError::UnknownKek.into())
        }
    }

    /// Wraps a [`seal`] plaintext under the KEK.
    fn wrap_plaintext(&mut self, plain: &[u8]) -> Result<Vec<u8>> {
        let len = self
            .kek
            .wrap
            .wrapped_len(plain.len())
            .ok_or(Error::Unsupported)?;
        let mut out = vec![0u8; len];
        let n = self
            .kek_store
            .wrap_bytes(self.kek.key, self.kek.wrap, plain, &mut out)?;
        out.truncate(n);
        Ok(out)
    }

    /// Unwraps a row's bytes under the KEK; an integrity failure is `Corrupt`.
    fn unwrap_row(&mut self, wrapped: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let mut plain = Zeroizing::new(vec![0u8; wrapped.len().saturating_sub(8).max(1)]);
        let n = match self
            .kek_store
            .unwrap_bytes(self.kek.key, self.kek.wrap, wrapped, &mut plain)
        {
            Ok(n) => n,
            Err(Error::Crypto | Error::Decode(_)) => return Err(StoreError::Corrupt.into()),
            Err(e) => return Err(e),
        };
        plain.truncate(n);
        Ok(plain)
    }

    /// Wraps `material` as key `id` of `kind` and inserts it; `AlreadyExists` if the id is
    /// taken (by this or any other instance).
    fn insert_key(&mut self, id: KeyId, kind: KeyKind, material: &[u8]) -> Result<()> {
        let plain = seal::key_plaintext(id, kind, material)?;
        let wrapped = self.wrap_plaintext(&plain)?;
        drop(plain);
        let code = i16::from(seal::kind_code(kind).ok_or(Error::Unsupported)?);
        let (kek_id, kek_version) = self.kek_columns();
        let stmt = self.statements.insert_key.clone();
        match self.client.execute(
            &stmt,
            &[&i64::from(id.0), &code, &kek_id, &kek_version, &wrapped],
        ) {
            Ok(1) => Ok(()),
            Ok(_) => Err(StoreError::AlreadyExists.into()),
            Err(e) => Err(self.db(&e)),
        }
    }

    /// Fails with `AlreadyExists` if `id` is taken (a fast path before expensive work;
    /// the insert's constraint is what guarantees it).
    fn ensure_free(&mut self, id: KeyId) -> Result<()> {
        match self.key_kind(id) {
            Ok(_) => Err(StoreError::AlreadyExists.into()),
            Err(Error::Store(StoreError::NotFound)) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Fetches and unwraps key `id` into `op` under `slot`; returns its kind.
    fn load_into(&mut self, id: KeyId, op: &mut OpStore<P>, slot: KeyId) -> Result<KeyKind> {
        let stmt = self.statements.load_key.clone();
        let row = match self.client.query_opt(&stmt, &[&i64::from(id.0)]) {
            Ok(Some(row)) => row,
            Ok(None) => return Err(StoreError::NotFound.into()),
            Err(e) => return Err(self.db(&e)),
        };
        let corrupt = Error::Store(StoreError::Corrupt);
        let code: i16 = row.try_get(0).map_err(|_| corrupt)?;
        let kek_id: &[u8] = row.try_get(1).map_err(|_| corrupt)?;
        let kek_version: i64 = row.try_get(2).map_err(|_| corrupt)?;
        let wrapped: &[u8] = row.try_get(3).map_err(|_| corrupt)?;
        let kind = seal::kind_from_code(code).ok_or(corrupt)?;
        self.check_kek(kek_id, kek_version)?;
        let plain = self.unwrap_row(wrapped)?;
        let material = seal::key_material(&plain, id, kind)?;
        if kind == KeyKind::P256 {
            let scalar = SecretBytes::<32>::from_slice(material).map_err(|_| corrupt)?;
            op.import_p256(slot, &scalar).map_err(|_| corrupt)?;
        } else {
            op.import_symmetric(slot, kind, material)
                .map_err(|_| corrupt)?;
        }
        Ok(kind)
    }

    /// Key `id` alone in a throwaway store, as [`OP_A`].
    fn load(&mut self, id: KeyId) -> Result<OpStore<P>> {
        let mut op = OpStore::<P>::new();
        self.load_into(id, &mut op, OP_A)?;
        Ok(op)
    }
}

/// Creates `schema` and runs `ddl` in it under a transaction-scoped advisory lock, so
/// instances starting together do not race on `CREATE TABLE IF NOT EXISTS`; then sets
/// the connection's `search_path` to the schema.
pub(crate) fn create_schema(
    client: &mut Client,
    schema: &str,
    ddl: &str,
) -> core::result::Result<(), OpenError> {
    check_schema_name(schema)?;
    let mut tx = client.transaction()?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('provkit-schema'), hashtext($1))",
        &[&schema],
    )?;
    // The name is checked to be a plain identifier above; identifiers cannot be bound.
    tx.batch_execute(&format!(
        "CREATE SCHEMA IF NOT EXISTS {schema}; SET LOCAL search_path TO {schema};"
    ))?;
    tx.batch_execute(ddl)?;
    tx.commit()?;
    client.batch_execute(&format!("SET search_path TO {schema}"))?;
    Ok(())
}

impl<K: SymmetricKeys, P: CryptoProvider> KeyInventory for PgStore<K, P> {
    fn key_kind(&mut self, id: KeyId) -> Result<KeyKind> {
        let stmt = self.statements.key_kind.clone();
        match self.client.query_opt(&stmt, &[&i64::from(id.0)]) {
            Ok(Some(row)) => {
                let code: i16 = row.try_get(0).map_err(|_| StoreError::Corrupt)?;
                seal::kind_from_code(code).ok_or(StoreError::Corrupt.into())
            }
            Ok(None) => Err(StoreError::NotFound.into()),
            Err(e) => Err(self.db(&e)),
        }
    }

    fn delete_key(&mut self, id: KeyId) -> Result<()> {
        let stmt = self.statements.delete_key.clone();
        match self.client.execute(&stmt, &[&i64::from(id.0)]) {
            Ok(0) => Err(StoreError::NotFound.into()),
            Ok(_) => Ok(()),
            Err(e) => Err(self.db(&e)),
        }
    }
}

impl<K: SymmetricKeys, P: CryptoProvider> IdentityKeys for PgStore<K, P> {
    fn generate_p256(
        &mut self,
        id: KeyId,
        rng: &mut dyn rand_core::CryptoRng,
    ) -> Result<EcPublicKey> {
        self.ensure_free(id)?;
        for _ in 0..SCALAR_ATTEMPTS {
            // Rejection sampling: uniform over the valid scalars [1, n-1].
            let mut bytes = Zeroizing::new([0u8; 32]);
            rng.fill_bytes(&mut bytes[..]);
            let scalar = SecretBytes::<32>::from_slice(&bytes[..])?;
            match OpStore::<P>::new().import_p256(OP_A, &scalar) {
                Ok(public) => {
                    self.insert_key(id, KeyKind::P256, &bytes[..])?;
                    return Ok(public);
                }
                Err(Error::Crypto) => {}
                Err(e) => return Err(e),
            }
        }
        Err(Error::Crypto)
    }

    fn import_p256(&mut self, id: KeyId, scalar: &SecretBytes<32>) -> Result<EcPublicKey> {
        let public = OpStore::<P>::new().import_p256(OP_A, scalar)?;
        // The one place a scalar leaves its type: to be wrapped under the KEK at once.
        self.insert_key(id, KeyKind::P256, scalar.dangerous_expose())?;
        Ok(public)
    }

    fn public_key(&mut self, id: KeyId) -> Result<EcPublicKey> {
        self.load(id)?.public_key(OP_A)
    }

    fn sign_digest(&mut self, id: KeyId, digest: &[u8; 32]) -> Result<EcdsaSignature> {
        self.load(id)?.sign_digest(OP_A, digest)
    }

    fn ecdh(&mut self, id: KeyId, peer: &EcPublicKey) -> Result<SecretBytes<32>> {
        self.load(id)?.ecdh(OP_A, peer)
    }
}

impl<K: SymmetricKeys, P: CryptoProvider> SymmetricKeys for PgStore<K, P> {
    fn import_symmetric(&mut self, id: KeyId, kind: KeyKind, key: &[u8]) -> Result<()> {
        // The throwaway store validates kind and length with provkit's own errors.
        OpStore::<P>::new().import_symmetric(OP_A, kind, key)?;
        self.insert_key(id, kind, key)
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
        self.ensure_free(id)?;
        let mut key = Zeroizing::new([0u8; 32]);
        let material = key.get_mut(..kind.key_len()).ok_or(Error::Unsupported)?;
        rng.fill_bytes(material);
        self.import_symmetric(id, kind, material)
    }

    fn encrypt_block(&mut self, id: KeyId, block: &mut [u8]) -> Result<()> {
        self.load(id)?.encrypt_block(OP_A, block)
    }

    fn wrap_bytes(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        self.load(kek)?.wrap_bytes(OP_A, alg, plaintext, out)
    }

    fn unwrap_bytes(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        wrapped: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        self.load(kek)?.unwrap_bytes(OP_A, alg, wrapped, out)
    }

    fn wrap_key(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        key: KeyId,
        out: &mut [u8],
    ) -> Result<usize> {
        let mut op = OpStore::<P>::new();
        self.load_into(kek, &mut op, OP_A)?;
        self.load_into(key, &mut op, OP_B)?;
        op.wrap_key(OP_A, alg, OP_B, out)
    }

    fn unwrap_key(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        wrapped: &[u8],
        id: KeyId,
        kind: KeyKind,
    ) -> Result<()> {
        self.ensure_free(id)?;
        let mut op = self.load(kek)?;
        let mut material = Zeroizing::new([0u8; 64]);
        let n = op.unwrap_bytes(OP_A, alg, wrapped, &mut material[..])?;
        drop(op);
        let key = material.get(..n).ok_or(Error::Crypto)?;
        self.import_symmetric(id, kind, key)
    }
}

impl<K: SymmetricKeys, P: CryptoProvider> Records for PgStore<K, P> {
    fn max_record_len(&self) -> usize {
        self.max_record_len
    }

    fn read_record(&mut self, id: RecordId, out: &mut [u8]) -> Result<usize> {
        let stmt = self.statements.read_record.clone();
        let row = match self.client.query_opt(&stmt, &[&i64::from(id.0)]) {
            Ok(Some(row)) => row,
            Ok(None) => return Err(StoreError::NotFound.into()),
            Err(e) => return Err(self.db(&e)),
        };
        let corrupt = Error::Store(StoreError::Corrupt);
        let kek_id: &[u8] = row.try_get(0).map_err(|_| corrupt)?;
        let kek_version: i64 = row.try_get(1).map_err(|_| corrupt)?;
        let wrapped: &[u8] = row.try_get(2).map_err(|_| corrupt)?;
        self.check_kek(kek_id, kek_version)?;
        let plain = self.unwrap_row(wrapped)?;
        let data = seal::record_data(&plain, id)?;
        let len = data.len();
        out.get_mut(..len)
            .ok_or(Error::buffer_too_small(len))?
            .copy_from_slice(data);
        Ok(len)
    }

    fn write_record(&mut self, id: RecordId, data: &[u8]) -> Result<()> {
        if data.len() > self.max_record_len {
            return Err(StoreError::RecordTooLarge.into());
        }
        let plain = seal::record_plaintext(id, data)?;
        let wrapped = self.wrap_plaintext(&plain)?;
        drop(plain);
        let (kek_id, kek_version) = self.kek_columns();
        let stmt = self.statements.write_record.clone();
        match self
            .client
            .execute(&stmt, &[&i64::from(id.0), &kek_id, &kek_version, &wrapped])
        {
            Ok(_) => Ok(()),
            Err(e) => Err(self.db(&e)),
        }
    }

    fn delete_record(&mut self, id: RecordId) -> Result<()> {
        let stmt = self.statements.delete_record.clone();
        match self.client.execute(&stmt, &[&i64::from(id.0)]) {
            Ok(0) => Err(StoreError::NotFound.into()),
            Ok(_) => Ok(()),
            Err(e) => Err(self.db(&e)),
        }
    }
}
