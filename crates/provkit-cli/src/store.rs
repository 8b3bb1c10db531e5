//! Key stores and ledgers named on the command line.
//!
//! `--store` names where keys live:
//! - `sqlite:PATH`: the embedded default, one file (`provkit-sqlite`). Every key is
//!   stored wrapped (AES-KWP) under a store KEK derived from a passphrase
//!   (`PROVKIT_PASSPHRASE`, or typed at the terminal) with Argon2id; the salt and the
//!   KEK's check value sit beside the store's tables, so a wrong passphrase is refused
//!   before anything is read or written.
//! - `postgres://USER@HOST:PORT/DB[#SCHEMA]`: the same on PostgreSQL
//!   (`provkit-postgres`), in schema `SCHEMA` (default `provkit`). Put no password in the
//!   URL: the database password comes from `PGPASSWORD`.
//! - `pkcs11:token=LABEL[;module=PATH][;namespace=N]`: a PKCS#11 token
//!   (`provkit-pkcs11`), found by label; the module defaults to `PROVKIT_PKCS11_MODULE`
//!   or SoftHSM2's. The user PIN comes from `PROVKIT_PIN` or the terminal. Keys are
//!   generated in the token and never leave it.
//!
//! `--ledger` names where the issuance ledger's rows live (`sqlite:PATH` or a postgres
//! URL); by default the store's own database (a PKCS#11 store needs `--ledger`).
//!
//! The roles each key and record id has in a store are the constants below.

use crate::Failure;
use crate::secret;
use argon2::{Algorithm, Argon2, Params, Version};
use provkit::ec::{EcPublicKey, EcdsaSignature};
use provkit::envelope::{Kcv, KekId, KekRef, KekSlot};
use provkit::rand_core::{CryptoRng, Rng};
use provkit::secret::{SecretBuf, SecretBytes};
use provkit::store::{
    IdentityKeys, KeyId, KeyInventory, KeyKind, MemoryStore, RecordId, Records, SymmetricKeys,
    WrapAlgorithm,
};
use provkit_ledger::{
    AuditRecord, BatchId, ChainHead, ImportRow, KeyCensus, KeyRow, LedgerBackend, LedgerTx,
    Result as LResult, StoredWrap, TxMode,
};
use provkit_pkcs11::{KeyRole, KeyRoles, Pin, Pkcs11Config, Pkcs11Store};
use provkit_postgres::{PgLedger, PgStore};
use provkit_sqlite::{SqliteLedger, SqliteOptions, SqliteStore};
use std::path::PathBuf;
use zeroize::Zeroizing;

/// The root CA's signing key.
pub const ROOT_KEY: KeyId = KeyId(1);
/// The intermediate (factory) CA's signing key.
pub const INTERMEDIATE_KEY: KeyId = KeyId(2);
/// The manufacturer's shipment-signing key.
pub const SHIPMENT_SIGNER: KeyId = KeyId(3);
/// The recipient's HPKE key that shipments are sealed to.
pub const SHIPMENT_RECIPIENT: KeyId = KeyId(4);
/// The ledger's fingerprint key (AES-256, never rotated).
pub const FINGERPRINT_KEY: KeyId = KeyId(5);
/// The telemetry server's HPKE key.
pub const TELEMETRY_KEY: KeyId = KeyId(6);
/// Ledger KEK version `v` (1 to [`MAX_KEK_VERSION`]) is the key `KEK_BASE + v`.
pub const KEK_BASE: u32 = 100;
/// The highest ledger KEK version.
pub const MAX_KEK_VERSION: u32 = 99;
/// The ledger KEK's name.
pub const LEDGER_KEK: KekId = KekId(*b"ledger\0\0");
/// The root certificate (DER).
pub const ROOT_CERT: RecordId = RecordId(1);
/// The intermediate certificate (DER).
pub const INTERMEDIATE_CERT: RecordId = RecordId(2);
/// How many device certificates the CA issued (8 bytes, big-endian).
pub const ISSUED_COUNT: RecordId = RecordId(3);
/// Issued certificate `n` (from 0) is the record `ISSUED_BASE + n`.
pub const ISSUED_BASE: u32 = 0x1000_0000;

/// The store key of ledger KEK version `version`.
#[must_use]
pub const fn kek_key(version: u32) -> KeyId {
    KeyId(KEK_BASE + version)
}

/// The slot of ledger KEK version `version`.
#[must_use]
pub const fn kek_slot(version: u32) -> KekSlot {
    KekSlot {
        kek: KekRef {
            id: LEDGER_KEK,
            version,
        },
        key: kek_key(version),
        wrap: WrapAlgorithm::AesKw,
    }
}

/// The store KEK of a passphrase-protected database store: one AES-256 key in memory.
type MasterKek = MemoryStore<1, 0, 0>;

const MASTER_KEY: KeyId = KeyId(1);
const MASTER_SLOT: KekSlot = KekSlot {
    kek: KekRef {
        id: KekId(*b"cli-pass"),
        version: 1,
    },
    key: MASTER_KEY,
    wrap: WrapAlgorithm::AesKwp,
};

/// Argon2id cost: 19 MiB, 2 passes, 1 lane (OWASP's minimum for Argon2id).
const KDF_M_KIB: u32 = 19 * 1024;
const KDF_T: u32 = 2;
const KDF_P: u32 = 1;

/// Where a store or ledger is, as given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Spec {
    /// `sqlite:PATH`.
    Sqlite(PathBuf),
    /// A PostgreSQL URL and schema.
    Postgres {
        /// The URL without the `#schema`.
        url: String,
        /// The schema.
        schema: String,
    },
    /// `pkcs11:token=...`.
    Pkcs11 {
        /// The token label.
        token: String,
        /// The module, if given.
        module: Option<PathBuf>,
        /// The object id namespace.
        namespace: u32,
    },
}

impl Spec {
    /// Parses a `--store` or `--ledger` value.
    ///
    /// # Errors
    /// A [`Failure`] saying which forms are accepted.
    pub fn parse(text: &str) -> Result<Self, Failure> {
        if let Some(path) = text.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err(Failure("sqlite: needs a path (sqlite:PATH)".into()));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            let (url, schema) = text.split_once('#').unwrap_or((text, "provkit"));
            let url_config: postgres::Config = url
                .parse()
                .map_err(|e| Failure(format!("store URL: {e}")))?;
            if url_config.get_password().is_some() {
                return Err(Failure(
                    "store URL: put no password in the URL (it would be in argv): set PGPASSWORD"
                        .into(),
                ));
            }
            if schema.is_empty()
                || !schema
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
            {
                return Err(Failure(format!(
                    "store URL: schema {schema:?}: lower-case letters, digits and _ only"
                )));
            }
            return Ok(Self::Postgres {
                url: url.to_owned(),
                schema: schema.to_owned(),
            });
        }
        if let Some(rest) = text.strip_prefix("pkcs11:") {
            let mut token = None;
            let mut module = None;
            let mut namespace = 0;
            for part in rest.split(';').filter(|p| !p.is_empty()) {
                match part.split_once('=') {
                    Some(("token", v)) => token = Some(v.to_owned()),
                    Some(("module", v)) => module = Some(PathBuf::from(v)),
                    Some(("namespace", v)) => {
                        namespace = v.parse().map_err(|_| {
                            Failure(format!("pkcs11: namespace {v:?} is not a number"))
                        })?;
                    }
                    Some(("pin" | "pin-value", _)) => {
                        return Err(Failure(
                            "pkcs11: never put the PIN on the command line: set PROVKIT_PIN".into(),
                        ));
                    }
                    _ => {
                        return Err(Failure(format!(
                            "pkcs11: unknown attribute {part:?} (token=, module=, namespace=)"
                        )));
                    }
                }
            }
            let token = token.ok_or_else(|| Failure("pkcs11: token=LABEL is required".into()))?;
            return Ok(Self::Pkcs11 {
                token,
                module,
                namespace,
            });
        }
        Err(Failure(format!(
            "store {text:?}: expected sqlite:PATH, postgres://USER@HOST/DB[#SCHEMA] or \
             pkcs11:token=LABEL[;module=PATH]"
        )))
    }

    /// The spec as given, for messages.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(p) => format!("sqlite:{}", p.display()),
            Self::Postgres { url, schema } => format!("{url}#{schema}"),
            Self::Pkcs11 { token, .. } => format!("pkcs11:token={token}"),
        }
    }
}

/// A store opened from a [`Spec`].
#[derive(Debug)]
pub enum AnyStore {
    /// SQLite.
    Sqlite(SqliteStore<MasterKek>),
    /// PostgreSQL.
    Postgres(Box<PgStore<MasterKek>>),
    /// PKCS#11.
    Pkcs11(Pkcs11Store),
}

/// Whether opening may create the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Create {
    /// Commands that set a store up: create it (and its passphrase) when missing.
    IfMissing,
    /// Every other command: a missing store is an error.
    No,
}

fn pg_client(url: &str) -> Result<postgres::Client, Failure> {
    let mut config: postgres::Config = url
        .parse()
        .map_err(|e| Failure(format!("store URL: {e}")))?;
    if let Some(pw) = std::env::var_os("PGPASSWORD") {
        config.password(pw.into_encoded_bytes());
    }
    config
        .connect(postgres::NoTls)
        .map_err(|e| Failure(format!("{url}: {e}")))
}

/// The Argon2id parameters, salt and KEK check value kept beside a store's tables.
struct KdfRecord {
    salt: [u8; 16],
    m_kib: u32,
    t: u32,
    p: u32,
    kcv: [u8; 5],
}

impl KdfRecord {
    const LEN: usize = 16 + 12 + 5;

    fn encode(&self) -> Vec<u8> {
        let mut v = self.salt.to_vec();
        v.extend_from_slice(&self.m_kib.to_be_bytes());
        v.extend_from_slice(&self.t.to_be_bytes());
        v.extend_from_slice(&self.p.to_be_bytes());
        v.extend_from_slice(&self.kcv);
        v
    }

    fn decode(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != Self::LEN {
            return None;
        }
        let u32_at = |i: usize| {
            bytes
                .get(i..i + 4)
                .and_then(|b| b.try_into().ok())
                .map(u32::from_be_bytes)
        };
        Some(Self {
            salt: bytes.get(..16)?.try_into().ok()?,
            m_kib: u32_at(16)?,
            t: u32_at(20)?,
            p: u32_at(24)?,
            kcv: bytes.get(28..33)?.try_into().ok()?,
        })
    }

    /// Derives the store KEK from `passphrase`.
    fn derive(&self, passphrase: &str) -> Result<SecretBuf<32>, Failure> {
        let params = Params::new(self.m_kib, self.t, self.p, Some(32))
            .map_err(|e| Failure(format!("store passphrase parameters: {e}")))?;
        let mut key = Zeroizing::new([0u8; 32]);
        Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password_into(passphrase.as_bytes(), &self.salt, key.as_mut())
            .map_err(|e| Failure(format!("store passphrase: {e}")))?;
        SecretBuf::from_slice(key.as_ref()).map_err(|e| Failure(format!("store KEK: {e}")))
    }
}

/// Reads or sets up the passphrase KEK of a database store, given its stored KDF record
/// (`None`: a new store, whose record `save` must keep).
fn master_kek(
    name: &str,
    stored: Option<Vec<u8>>,
    save: impl FnOnce(&[u8]) -> Result<(), Failure>,
) -> Result<MasterKek, Failure> {
    let key = match stored {
        Some(bytes) => {
            let record = KdfRecord::decode(&bytes)
                .ok_or_else(|| Failure(format!("{name}: unreadable passphrase record")))?;
            let passphrase = secret::from_env_or_prompt(
                secret::PASSPHRASE_VAR,
                &format!("passphrase for {name}"),
                false,
            )?;
            let key = record.derive(&passphrase)?;
            let kcv = Kcv::of_key(&key).map_err(|e| Failure(format!("store KEK: {e}")))?;
            if kcv.check(&Kcv(record.kcv)).is_err() {
                return Err(Failure(format!("{name}: wrong passphrase")));
            }
            key
        }
        None => {
            let passphrase = secret::from_env_or_prompt(
                secret::PASSPHRASE_VAR,
                &format!("new passphrase for {name}"),
                true,
            )?;
            let mut salt = [0u8; 16];
            provkit::rng::OsRng.fill_bytes(&mut salt);
            let mut record = KdfRecord {
                salt,
                m_kib: KDF_M_KIB,
                t: KDF_T,
                p: KDF_P,
                kcv: [0; 5],
            };
            let key = record.derive(&passphrase)?;
            record.kcv = Kcv::of_key(&key)
                .map_err(|e| Failure(format!("store KEK: {e}")))?
                .0;
            save(&record.encode())?;
            key
        }
    };
    let mut store = MasterKek::new();
    store
        .import_symmetric(MASTER_KEY, KeyKind::Aes256, key.dangerous_expose())
        .map_err(|e| Failure(format!("store KEK: {e}")))?;
    Ok(store)
}

const META_SQL: &str =
    "CREATE TABLE IF NOT EXISTS provkit_cli_meta (name TEXT PRIMARY KEY, value BYTEA NOT NULL)";

fn sqlite_meta(path: &std::path::Path, create: Create) -> Result<MasterKek, Failure> {
    let name = format!("sqlite:{}", path.display());
    let db = |e: rusqlite::Error| Failure(format!("{name}: {e}"));
    if create == Create::No && !path.exists() {
        return Err(Failure(format!("{name}: no such store")));
    }
    let new_file = !path.exists();
    let conn = rusqlite::Connection::open(path).map_err(db)?;
    #[cfg(unix)]
    if new_file {
        // Only wrapped keys are in it, but nobody else needs to read them.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| Failure(format!("{name}: {e}")))?;
    }
    let has_table: bool = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'provkit_cli_meta'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_err(db)?
        > 0;
    let stored: Option<Vec<u8>> = if has_table {
        conn.query_row(
            "SELECT value FROM provkit_cli_meta WHERE name = 'kdf'",
            [],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            e => Err(e),
        })
        .map_err(db)?
    } else {
        None
    };
    if stored.is_none() && create == Create::No {
        return Err(Failure(format!(
            "{name}: not a provkit store (set one up with `provkit ca init` or `provkit key create`)"
        )));
    }
    master_kek(&name, stored, |record| {
        conn.execute_batch(META_SQL).map_err(db)?;
        conn.execute(
            "INSERT INTO provkit_cli_meta (name, value) VALUES ('kdf', ?1)",
            [record],
        )
        .map(|_| ())
        .map_err(db)
    })
}

fn postgres_meta(url: &str, schema: &str, create: Create) -> Result<MasterKek, Failure> {
    let name = format!("{url}#{schema}");
    let mut client = pg_client(url)?;
    let db = |e: postgres::Error| Failure(format!("{name}: {e}"));
    let exists = client
        .query_one(
            "SELECT count(*) FROM information_schema.tables \
             WHERE table_schema = $1 AND table_name = 'provkit_cli_meta'",
            &[&schema],
        )
        .map_err(db)?
        .get::<_, i64>(0)
        > 0;
    let stored: Option<Vec<u8>> = if exists {
        client
            .query_opt(
                &format!("SELECT value FROM {schema}.provkit_cli_meta WHERE name = 'kdf'"),
                &[],
            )
            .map_err(db)?
            .map(|r| r.get(0))
    } else {
        None
    };
    if stored.is_none() && create == Create::No {
        return Err(Failure(format!(
            "{name}: not a provkit store (set one up with `provkit ca init` or `provkit key create`)"
        )));
    }
    master_kek(&name, stored, |record| {
        client
            .batch_execute(&format!(
                "CREATE SCHEMA IF NOT EXISTS {schema}; SET search_path TO {schema}; {META_SQL}"
            ))
            .map_err(db)?;
        client
            .execute(
                "INSERT INTO provkit_cli_meta (name, value) VALUES ('kdf', $1)",
                &[&record],
            )
            .map(|_| ())
            .map_err(db)
    })
}

impl AnyStore {
    /// Opens the store `spec`, asking for its passphrase or PIN.
    ///
    /// # Errors
    /// A [`Failure`]: no such store (with [`Create::No`]), a wrong passphrase or PIN, a
    /// database or token failure.
    pub fn open(spec: &Spec, create: Create) -> Result<Self, Failure> {
        let name = spec.describe();
        match spec {
            Spec::Sqlite(path) => {
                let kek = sqlite_meta(path, create)?;
                SqliteStore::open(path, kek, MASTER_SLOT, SqliteOptions::default())
                    .map(Self::Sqlite)
                    .map_err(|e| Failure(format!("{name}: {e}")))
            }
            Spec::Postgres { url, schema } => {
                let kek = postgres_meta(url, schema, create)?;
                PgStore::open(pg_client(url)?, schema, kek, MASTER_SLOT)
                    .map(|s| Self::Postgres(Box::new(s)))
                    .map_err(|e| Failure(format!("{name}: {e}")))
            }
            Spec::Pkcs11 {
                token,
                module,
                namespace,
            } => {
                let pin = secret::from_env_or_prompt(
                    secret::PIN_VAR,
                    &format!("user PIN for {name}"),
                    false,
                )?;
                let mut config = Pkcs11Config::new(token, Pin::new(pin.to_string()));
                if let Some(m) = module {
                    config.module.clone_from(m);
                }
                config.namespace = *namespace;
                config.roles = KeyRoles::default()
                    .with(KEK_BASE + 1..=KEK_BASE + MAX_KEK_VERSION, KeyRole::DataKek);
                Pkcs11Store::open(config)
                    .map(Self::Pkcs11)
                    .map_err(|e| Failure(format!("{name}: {e}")))
            }
        }
    }

    /// Whether key `id` exists.
    ///
    /// # Errors
    /// A [`Failure`] for a store failure other than "not found".
    pub fn has_key(&mut self, id: KeyId) -> Result<bool, Failure> {
        match self.key_kind(id) {
            Ok(_) => Ok(true),
            Err(provkit::Error::Store(provkit::error::StoreError::NotFound)) => Ok(false),
            Err(e) => Err(Failure(format!("key {}: {e}", id.0))),
        }
    }

    /// The record `id`, or `None` when it does not exist.
    ///
    /// # Errors
    /// A [`Failure`] for a store failure other than "not found".
    pub fn record(&mut self, id: RecordId) -> Result<Option<Vec<u8>>, Failure> {
        let mut buf = vec![0u8; self.max_record_len()];
        match self.read_record(id, &mut buf) {
            Ok(n) => {
                buf.truncate(n);
                Ok(Some(buf))
            }
            Err(provkit::Error::Store(provkit::error::StoreError::NotFound)) => Ok(None),
            Err(e) => Err(Failure(format!("record {}: {e}", id.0))),
        }
    }

    /// The ledger KEK versions held in the store, lowest first.
    ///
    /// # Errors
    /// A [`Failure`] for a store failure.
    pub fn kek_versions(&mut self) -> Result<Vec<u32>, Failure> {
        let mut out = Vec::new();
        for v in 1..=MAX_KEK_VERSION {
            if self.has_key(kek_key(v))? {
                out.push(v);
            }
        }
        Ok(out)
    }
}

macro_rules! each {
    ($self:ident, $s:ident => $e:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $e,
            AnyStore::Postgres($s) => $e,
            AnyStore::Pkcs11($s) => $e,
        }
    };
}

impl KeyInventory for AnyStore {
    fn key_kind(&mut self, id: KeyId) -> provkit::Result<KeyKind> {
        each!(self, s => s.key_kind(id))
    }
    fn delete_key(&mut self, id: KeyId) -> provkit::Result<()> {
        each!(self, s => s.delete_key(id))
    }
}

impl IdentityKeys for AnyStore {
    fn generate_p256(
        &mut self,
        id: KeyId,
        rng: &mut dyn CryptoRng,
    ) -> provkit::Result<EcPublicKey> {
        each!(self, s => s.generate_p256(id, rng))
    }
    fn import_p256(&mut self, id: KeyId, scalar: &SecretBytes<32>) -> provkit::Result<EcPublicKey> {
        each!(self, s => s.import_p256(id, scalar))
    }
    fn public_key(&mut self, id: KeyId) -> provkit::Result<EcPublicKey> {
        each!(self, s => s.public_key(id))
    }
    fn sign_digest(&mut self, id: KeyId, digest: &[u8; 32]) -> provkit::Result<EcdsaSignature> {
        each!(self, s => s.sign_digest(id, digest))
    }
    fn ecdh(&mut self, id: KeyId, peer: &EcPublicKey) -> provkit::Result<SecretBytes<32>> {
        each!(self, s => s.ecdh(id, peer))
    }
}

impl SymmetricKeys for AnyStore {
    fn import_symmetric(&mut self, id: KeyId, kind: KeyKind, key: &[u8]) -> provkit::Result<()> {
        each!(self, s => s.import_symmetric(id, kind, key))
    }
    fn generate_symmetric(
        &mut self,
        id: KeyId,
        kind: KeyKind,
        rng: &mut dyn CryptoRng,
    ) -> provkit::Result<()> {
        each!(self, s => s.generate_symmetric(id, kind, rng))
    }
    fn encrypt_block(&mut self, id: KeyId, block: &mut [u8]) -> provkit::Result<()> {
        each!(self, s => s.encrypt_block(id, block))
    }
    fn wrap_bytes(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        plaintext: &[u8],
        out: &mut [u8],
    ) -> provkit::Result<usize> {
        each!(self, s => s.wrap_bytes(kek, alg, plaintext, out))
    }
    fn unwrap_bytes(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        wrapped: &[u8],
        out: &mut [u8],
    ) -> provkit::Result<usize> {
        each!(self, s => s.unwrap_bytes(kek, alg, wrapped, out))
    }
    fn wrap_key(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        key: KeyId,
        out: &mut [u8],
    ) -> provkit::Result<usize> {
        each!(self, s => s.wrap_key(kek, alg, key, out))
    }
    fn unwrap_key(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        wrapped: &[u8],
        id: KeyId,
        kind: KeyKind,
    ) -> provkit::Result<()> {
        each!(self, s => s.unwrap_key(kek, alg, wrapped, id, kind))
    }
}

impl Records for AnyStore {
    fn max_record_len(&self) -> usize {
        each!(self, s => s.max_record_len())
    }
    fn read_record(&mut self, id: RecordId, out: &mut [u8]) -> provkit::Result<usize> {
        each!(self, s => s.read_record(id, out))
    }
    fn write_record(&mut self, id: RecordId, data: &[u8]) -> provkit::Result<()> {
        each!(self, s => s.write_record(id, data))
    }
    fn delete_record(&mut self, id: RecordId) -> provkit::Result<()> {
        each!(self, s => s.delete_record(id))
    }
}

/// A ledger backend opened from a [`Spec`].
#[derive(Debug)]
pub enum AnyLedger {
    /// SQLite.
    Sqlite(SqliteLedger),
    /// PostgreSQL.
    Postgres(Box<PgLedger>),
}

impl AnyLedger {
    /// Opens the ledger `ledger`, or else the store's own database `store`.
    ///
    /// # Errors
    /// A [`Failure`]: a PKCS#11 store without `--ledger`, a missing ledger (with
    /// [`Create::No`]), a database failure.
    pub fn open(ledger: Option<&Spec>, store: &Spec, create: Create) -> Result<Self, Failure> {
        let spec = match ledger {
            Some(s) => s,
            None if matches!(store, Spec::Pkcs11 { .. }) => {
                return Err(Failure(
                    "a PKCS#11 store keeps no ledger: name one with --ledger (sqlite:PATH or a \
                     postgres URL)"
                        .into(),
                ));
            }
            None => store,
        };
        let name = spec.describe();
        match spec {
            Spec::Sqlite(path) => {
                if create == Create::No && !path.exists() {
                    return Err(Failure(format!("{name}: no such ledger")));
                }
                SqliteLedger::open(path, SqliteOptions::default())
                    .map(Self::Sqlite)
                    .map_err(|e| Failure(format!("{name}: {e}")))
            }
            Spec::Postgres { url, schema } => PgLedger::open(pg_client(url)?, schema)
                .map(|l| Self::Postgres(Box::new(l)))
                .map_err(|e| Failure(format!("{name}: {e}"))),
            Spec::Pkcs11 { .. } => Err(Failure(format!(
                "{name}: a PKCS#11 token cannot hold a ledger"
            ))),
        }
    }
}

/// A transaction on an [`AnyLedger`].
#[derive(Debug)]
pub enum AnyTx<'a> {
    /// SQLite.
    Sqlite(<SqliteLedger as LedgerBackend>::Tx<'a>),
    /// PostgreSQL.
    Postgres(Box<<PgLedger as LedgerBackend>::Tx<'a>>),
}

impl LedgerBackend for AnyLedger {
    type Tx<'a> = AnyTx<'a>;

    fn begin(&mut self, mode: TxMode) -> LResult<AnyTx<'_>> {
        Ok(match self {
            Self::Sqlite(b) => AnyTx::Sqlite(b.begin(mode)?),
            Self::Postgres(b) => AnyTx::Postgres(Box::new(b.begin(mode)?)),
        })
    }
}

macro_rules! tx {
    ($self:ident, $t:ident => $e:expr) => {
        match $self {
            AnyTx::Sqlite($t) => $e,
            AnyTx::Postgres($t) => $e,
        }
    };
}

impl LedgerTx for AnyTx<'_> {
    fn commit(self) -> LResult<()> {
        match self {
            Self::Sqlite(t) => t.commit(),
            Self::Postgres(t) => (*t).commit(),
        }
    }
    fn audit_head(&mut self) -> LResult<ChainHead> {
        tx!(self, t => t.audit_head())
    }
    fn append_audit(&mut self, record: &AuditRecord) -> LResult<()> {
        tx!(self, t => t.append_audit(record))
    }
    fn audit_rows(&mut self, from_seq: u64, limit: u32) -> LResult<Vec<AuditRecord>> {
        tx!(self, t => t.audit_rows(from_seq, limit))
    }
    fn audit_for_serial(&mut self, serial: u64) -> LResult<Vec<AuditRecord>> {
        tx!(self, t => t.audit_for_serial(serial))
    }
    fn import_get(&mut self, batch_id: &BatchId) -> LResult<Option<ImportRow>> {
        tx!(self, t => t.import_get(batch_id))
    }
    fn import_insert(&mut self, row: &ImportRow) -> LResult<()> {
        tx!(self, t => t.import_insert(row))
    }
    fn import_progress(
        &mut self,
        batch_id: &BatchId,
        chunks_staged: u32,
        records_staged: u64,
    ) -> LResult<()> {
        tx!(self, t => t.import_progress(batch_id, chunks_staged, records_staged))
    }
    fn import_complete(
        &mut self,
        batch_id: &BatchId,
        transcript_hash: &[u8; 32],
        completed_at: u64,
    ) -> LResult<()> {
        tx!(self, t => t.import_complete(batch_id, transcript_hash, completed_at))
    }
    fn import_delete(&mut self, batch_id: &BatchId) -> LResult<()> {
        tx!(self, t => t.import_delete(batch_id))
    }
    fn stage(&mut self, rows: &[KeyRow]) -> LResult<()> {
        tx!(self, t => t.stage(rows))
    }
    fn promote_staged(&mut self, batch_id: &BatchId) -> LResult<u64> {
        tx!(self, t => t.promote_staged(batch_id))
    }
    fn unpromoted_staged(&mut self, batch_id: &BatchId) -> LResult<Vec<KeyRow>> {
        tx!(self, t => t.unpromoted_staged(batch_id))
    }
    fn clear_staged(&mut self, batch_id: &BatchId) -> LResult<u64> {
        tx!(self, t => t.clear_staged(batch_id))
    }
    fn key_by_serial(&mut self, serial: u64) -> LResult<Option<KeyRow>> {
        tx!(self, t => t.key_by_serial(serial))
    }
    fn key_by_fingerprint(&mut self, fingerprint: &[u8; 32]) -> LResult<Option<KeyRow>> {
        tx!(self, t => t.key_by_fingerprint(fingerprint))
    }
    fn key_by_key_id(
        &mut self,
        manufacturer_id: &[u8; 16],
        key_id: u64,
    ) -> LResult<Option<KeyRow>> {
        tx!(self, t => t.key_by_key_id(manufacturer_id, key_id))
    }
    fn mark_issued(&mut self, serial: u64, now: u64) -> LResult<Option<KeyRow>> {
        tx!(self, t => t.mark_issued(serial, now))
    }
    fn set_certificate(&mut self, serial: u64, certificate: &[u8]) -> LResult<bool> {
        tx!(self, t => t.set_certificate(serial, certificate))
    }
    fn keys_page(&mut self, after: Option<u64>, limit: u32) -> LResult<Vec<KeyRow>> {
        tx!(self, t => t.keys_page(after, limit))
    }
    fn keys_not_under(
        &mut self,
        target: KekRef,
        after: Option<u64>,
        limit: u32,
    ) -> LResult<Vec<KeyRow>> {
        tx!(self, t => t.keys_not_under(target, after, limit))
    }
    fn update_wrapped(
        &mut self,
        serial: u64,
        expected: KekRef,
        wrapped: &StoredWrap,
    ) -> LResult<bool> {
        tx!(self, t => t.update_wrapped(serial, expected, wrapped))
    }
    fn census(&mut self) -> LResult<KeyCensus> {
        tx!(self, t => t.census())
    }
    fn min_decrypt_version(&mut self, kek: KekId) -> LResult<u32> {
        tx!(self, t => t.min_decrypt_version(kek))
    }
    fn set_min_decrypt_version(&mut self, kek: KekId, version: u32) -> LResult<()> {
        tx!(self, t => t.set_min_decrypt_version(kek, version))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(
            Spec::parse("sqlite:a/b.db").unwrap(),
            Spec::Sqlite("a/b.db".into())
        );
        assert_eq!(
            Spec::parse("postgres://u@h/db#ca_1").unwrap(),
            Spec::Postgres {
                url: "postgres://u@h/db".into(),
                schema: "ca_1".into()
            }
        );
        assert_eq!(
            Spec::parse("pkcs11:token=HSM 1;module=/m.so;namespace=7").unwrap(),
            Spec::Pkcs11 {
                token: "HSM 1".into(),
                module: Some("/m.so".into()),
                namespace: 7
            }
        );
        for bad in [
            "sqlite:",
            "mysql://x",
            "postgres://u:secret@h/db",
            "postgres://u@h/db#Bad-Name",
            "pkcs11:module=/m.so",
            "pkcs11:token=a;pin=1234",
        ] {
            assert!(Spec::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn kdf_record_round_trips() {
        let r = KdfRecord {
            salt: [7; 16],
            m_kib: 8,
            t: 1,
            p: 1,
            kcv: [1, 2, 3, 4, 5],
        };
        let d = KdfRecord::decode(&r.encode()).unwrap();
        assert_eq!((d.salt, d.m_kib, d.t, d.p, d.kcv), (r.salt, 8, 1, 1, r.kcv));
        assert!(KdfRecord::decode(&[0; 5]).is_none());
    }
}
