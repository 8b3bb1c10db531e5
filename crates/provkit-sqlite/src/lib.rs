//! SQLite for provkit: the embedded default — one file, no server, WAL mode.
//!
//! - [`SqliteStore`]: a key store ([`provkit::store::KeyStore`]) whose rows hold key
//!   material and records only wrapped (AES-KWP) under a KEK that lives in another store
//!   (an HSM session in production, a [`MemoryStore`](provkit::store::MemoryStore) with a
//!   file KEK in tests). An operation on a stored key unwraps it into a zeroizing buffer,
//!   loads it into a throwaway one-key [`MemoryStore`](provkit::store::MemoryStore) for
//!   that one operation, and drops (zeroizes) both.
//! - [`SqliteLedger`]: the issuance ledger's backend ([`provkit_ledger::LedgerBackend`]);
//!   use it through [`provkit_ledger::Ledger`].
//!
//! Both can share one database file (their tables have distinct prefixes). Open one
//! connection per thread; SQLite's write lock serializes writers, readers run beside
//! them (WAL). Schema: `docs/ledger.md`.

#![forbid(unsafe_code)]
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::missing_errors_doc,
    clippy::missing_panics_doc
)]

mod ledger;
mod store;

pub use ledger::SqliteLedger;
pub use store::SqliteStore;

use std::path::Path;
use std::time::Duration;

/// How durable a commit is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Durability {
    /// `synchronous=FULL`: every commit is on disk before it returns; survives a power
    /// cut. The default.
    Full,
    /// `synchronous=NORMAL` (WAL): commits survive a process crash; the last commits
    /// before a power cut may be lost (the database stays consistent).
    Normal,
}

/// Connection settings shared by the store and the ledger.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SqliteOptions {
    /// Commit durability.
    pub durability: Durability,
    /// How long a writer waits for the write lock before failing.
    pub busy_timeout: Duration,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            durability: Durability::Full,
            busy_timeout: Duration::from_secs(60),
        }
    }
}

/// Opens (creating if needed) a database file in WAL mode with `options`.
fn open_connection(path: &Path, options: SqliteOptions) -> rusqlite::Result<rusqlite::Connection> {
    let conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(options.busy_timeout)?;
    // journal_mode returns a row; read it so that the pragma runs.
    let _mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    conn.execute_batch(match options.durability {
        Durability::Full => "PRAGMA synchronous=FULL;",
        Durability::Normal => "PRAGMA synchronous=NORMAL;",
    })?;
    conn.set_prepared_statement_cache_capacity(64);
    Ok(conn)
}

/// The cause provkit keeps of a database error: SQLite's extended result code, or
/// none for a failure on the Rust side (a type conversion, a missing row).
fn cause(e: &rusqlite::Error) -> provkit::error::BackendCause {
    match e.sqlite_error() {
        Some(f) => provkit::error::BackendCause::sqlite(f.extended_code),
        None => provkit::error::BackendCause::UNSPECIFIED,
    }
}

/// A database error as a ledger error: its message (no key material is ever bound into
/// a statement, so none can appear in it) naming the result code, the code as the cause
/// and the error itself as the source.
/// `SQLITE_BUSY` and `SQLITE_LOCKED` (the write lock still held when the busy timeout
/// ran out) are retryable: the transaction was rolled back.
fn db(e: rusqlite::Error) -> provkit_ledger::LedgerError {
    let cause = cause(&e);
    let retry = if cause.is_transient() {
        provkit_ledger::Retry::Immediately
    } else {
        provkit_ledger::Retry::Never
    };
    let message = if cause.is_unspecified() {
        e.to_string()
    } else {
        format!("{e} ({cause})")
    };
    provkit_ledger::BackendError::new(message, cause, retry, e).into()
}
