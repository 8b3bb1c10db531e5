//! What a database must provide: transactions of primitive operations.
//!
//! Everything with meaning — what an import, an issuance or a rotation does, which audit
//! events it writes, how the chain is hashed, how conflicts are classified — lives in
//! [`Ledger`](crate::Ledger) and is the same for every database. A backend implements
//! only storage: a [`LedgerBackend`] opens transactions, a [`LedgerTx`] runs the
//! primitive statements inside one.
//!
//! # What a backend must guarantee
//!
//! - **Atomic transactions.** Everything done through one [`LedgerTx`] becomes visible
//!   at [`commit`](LedgerTx::commit) or not at all; dropping the transaction without
//!   committing rolls it back (also when the process is killed).
//! - **Durable commits.** When `commit` returns `Ok`, the change survives a process
//!   crash (and, for a production configuration, a power cut).
//! - **Serialized audit appends.** In a [`TxMode::Write`] transaction,
//!   [`audit_head`](LedgerTx::audit_head) locks the head so that no other transaction can
//!   append until this one ends (SQLite: the write lock taken by `BEGIN IMMEDIATE`;
//!   PostgreSQL: `SELECT … FROM audit_head … FOR UPDATE`). One chain, never a fork.
//! - **Uniqueness by constraint.** The live key table has `UNIQUE(serial)`,
//!   `UNIQUE(fingerprint)` and `UNIQUE(manufacturer_id, key_id)`; the database, not the
//!   ledger, decides which insert wins when two writers race.
//! - **Exactly-once issuance.** [`mark_issued`](LedgerTx::mark_issued) is a single
//!   conditional update (`… WHERE serial = ? AND issued_at IS NULL`): of any number of
//!   concurrent calls for a serial, exactly one returns the row.
//! - **A failed statement does not poison the transaction** where the ledger expects
//!   a negative answer: use `INSERT … ON CONFLICT DO NOTHING` (PostgreSQL) or
//!   `INSERT OR IGNORE` (SQLite) for [`promote_staged`](LedgerTx::promote_staged).
//! - **Key pages advance.** [`keys_page`](LedgerTx::keys_page) and
//!   [`keys_not_under`](LedgerTx::keys_not_under) return rows strictly after their cursor,
//!   ascending in [`db_order`](crate::codec::db_order). "No cursor" is `None`, never a
//!   stored value: each of the 2⁶⁴ values is some serial's (`i64::MIN` is 2⁶³).
//! - **No interpretation.** Rows go in and come back bit for bit; integers that are `u64`
//!   in Rust are stored as the same 64 bits in a signed column ([`crate::codec::to_db`]).
//!
//! Run `provkit_ledger::suite` (feature `test-suite`) against a new backend: it checks
//! these obligations through the ledger, including concurrent writers.

use crate::audit::{AuditRecord, ChainHead, KeyCensus};
use crate::error::{Result, RetryPolicy};
use crate::rows::{BatchId, ImportRow, KeyRow, StoredWrap};
use provkit::envelope::{KekId, KekRef};

/// What a transaction will do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TxMode {
    /// Reads only (a consistent snapshot where the database offers one).
    Read,
    /// Reads and writes; takes the write lock up front where the database needs that to
    /// avoid upgrade deadlocks (SQLite `BEGIN IMMEDIATE`).
    Write,
}

/// A database that holds a ledger. Open one per thread (one connection each); the
/// database serializes writers.
pub trait LedgerBackend {
    /// A transaction borrowing the backend's connection.
    type Tx<'a>: LedgerTx
    where
        Self: 'a;

    /// Begins a transaction. Waits for the write lock as long as the backend's configured
    /// timeout allows.
    ///
    /// # Errors
    /// [`LedgerError::Backend`](crate::LedgerError::Backend) when the database fails or
    /// the lock wait times out.
    fn begin(&mut self, mode: TxMode) -> Result<Self::Tx<'_>>;

    /// How the [`Ledger`](crate::Ledger) repeats a call whose transaction failed with
    /// [`Retry::Immediately`](crate::Retry::Immediately) (a serialization failure or a
    /// deadlock that the database rolled back). The default never repeats.
    ///
    /// The ledger repeats only calls that run in a single transaction and change nothing
    /// outside it: `issue`, `issue_batch`, `attach_certificate`, `abandon_import`,
    /// `set_min_decrypt_version`, `open_key` and the reads (`lookup`, `import_status`,
    /// `census`, `min_decrypt_version`, `audit_head`, `verify_audit`). `import` (which
    /// consumes its input stream and commits per chunk group), `rotate` and `check_keys`
    /// (several transactions each) return the failure; run them again yourself, as
    /// their documentation describes.
    fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy::NONE
    }
}

/// The primitive operations inside one transaction. Every method may fail with
/// [`LedgerError::Backend`](crate::LedgerError::Backend) (the database's message) or
/// [`LedgerError::Corrupt`](crate::LedgerError::Corrupt) (a stored value that does not
/// convert back); those are the `# Errors` of each method unless it says more.
#[allow(clippy::missing_errors_doc)]
pub trait LedgerTx {
    /// Makes the transaction's changes durable and visible.
    fn commit(self) -> Result<()>
    where
        Self: Sized;

    // ---- audit log ----

    /// The head of the audit chain ([`ChainHead::GENESIS`] when empty). In a write
    /// transaction this locks the head until the transaction ends.
    fn audit_head(&mut self) -> Result<ChainHead>;

    /// Appends `record` (whose `seq` is the head's plus one) and moves the head to it.
    /// The audit table is append-only: no method updates or deletes its rows.
    fn append_audit(&mut self, record: &AuditRecord) -> Result<()>;

    /// Up to `limit` audit rows with `seq >= from_seq`, in ascending `seq` order, exactly
    /// as stored.
    fn audit_rows(&mut self, from_seq: u64, limit: u32) -> Result<Vec<AuditRecord>>;

    /// Every audit row whose `serial` column is `serial`, in `seq` order.
    fn audit_for_serial(&mut self, serial: u64) -> Result<Vec<AuditRecord>>;

    // ---- imports ----

    /// The import row of `batch_id`.
    fn import_get(&mut self, batch_id: &BatchId) -> Result<Option<ImportRow>>;

    /// Inserts a new import row (the batch id is the primary key).
    fn import_insert(&mut self, row: &ImportRow) -> Result<()>;

    /// Records staging progress for `batch_id`.
    fn import_progress(
        &mut self,
        batch_id: &BatchId,
        chunks_staged: u32,
        records_staged: u64,
    ) -> Result<()>;

    /// Marks `batch_id` complete with its transcript hash.
    fn import_complete(
        &mut self,
        batch_id: &BatchId,
        transcript_hash: &[u8; 32],
        completed_at: u64,
    ) -> Result<()>;

    /// Deletes the import row of `batch_id` (abandoning a staging import).
    fn import_delete(&mut self, batch_id: &BatchId) -> Result<()>;

    /// Inserts rows into the staging table (primary key `(batch_id, serial)`; no other
    /// constraint, so that conflicts are classified at promotion).
    fn stage(&mut self, rows: &[KeyRow]) -> Result<()>;

    /// Inserts every staged row of `batch_id` into the live table, skipping those that
    /// violate a uniqueness constraint; returns how many were inserted.
    fn promote_staged(&mut self, batch_id: &BatchId) -> Result<u64>;

    /// The staged rows of `batch_id` that are not in the live table as staged (same
    /// serial, batch and fingerprint): the ones [`promote_staged`](Self::promote_staged)
    /// skipped. In serial order.
    fn unpromoted_staged(&mut self, batch_id: &BatchId) -> Result<Vec<KeyRow>>;

    /// Deletes the staged rows of `batch_id`; returns how many.
    fn clear_staged(&mut self, batch_id: &BatchId) -> Result<u64>;

    // ---- live keys ----

    /// The live row of `serial`.
    fn key_by_serial(&mut self, serial: u64) -> Result<Option<KeyRow>>;

    /// The live row holding the key with `fingerprint`.
    fn key_by_fingerprint(&mut self, fingerprint: &[u8; 32]) -> Result<Option<KeyRow>>;

    /// The live row with the manufacturer's `key_id`.
    fn key_by_key_id(&mut self, manufacturer_id: &[u8; 16], key_id: u64) -> Result<Option<KeyRow>>;

    /// Sets `issued_at = now` on the row of `serial` if and only if it is not issued yet,
    /// as one conditional statement; returns the updated row, or `None` when nothing
    /// changed (unknown or already issued).
    fn mark_issued(&mut self, serial: u64, now: u64) -> Result<Option<KeyRow>>;

    /// Sets the certificate of `serial` if and only if the key is issued and has none;
    /// returns whether a row changed.
    fn set_certificate(&mut self, serial: u64, certificate: &[u8]) -> Result<bool>;

    /// Up to `limit` live rows with serial strictly after `after` (from the first row
    /// for `None`), ascending in the database's serial order
    /// [`db_order`](crate::codec::db_order) (the order of the stored signed values).
    ///
    /// `after` is a real serial whenever it is `Some`, any of the 2⁶⁴ (serial 2⁶³ is
    /// stored as `i64::MIN`): "no cursor" must not be encoded as a stored value. The
    /// ledger rejects a page that does not lie strictly after its cursor
    /// ([`LedgerError::Backend`](crate::LedgerError::Backend)) rather than loop.
    fn keys_page(&mut self, after: Option<u64>, limit: u32) -> Result<Vec<KeyRow>>;

    /// Like [`keys_page`](Self::keys_page) (same cursor and order), but only rows not
    /// wrapped under `target`.
    fn keys_not_under(
        &mut self,
        target: KekRef,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<KeyRow>>;

    /// Replaces the wrapped key of `serial`, only if it is currently wrapped under
    /// `expected` (so that two rotations cannot interleave); returns whether it changed.
    fn update_wrapped(
        &mut self,
        serial: u64,
        expected: KekRef,
        wrapped: &StoredWrap,
    ) -> Result<bool>;

    /// Keys per KEK version, live and staged together, sorted by (KEK id, version).
    fn census(&mut self) -> Result<KeyCensus>;

    // ---- KEK policy ----

    /// The minimum decryption version recorded for `kek` (0 when none).
    fn min_decrypt_version(&mut self, kek: KekId) -> Result<u32>;

    /// Records the minimum decryption version of `kek`.
    fn set_min_decrypt_version(&mut self, kek: KekId, version: u32) -> Result<()>;
}
