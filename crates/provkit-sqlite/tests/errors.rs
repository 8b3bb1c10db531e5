//! Database failures keep their cause: a write that finds the database locked by another
//! connection (busy timeout 0) fails with SQLITE_BUSY, and the store's and the ledger's
//! errors say so through `source()`.

mod common;

use common::{kek_store, temp_db};
use provkit::Error;
use provkit::error::BackendCause;
use provkit::store::{RecordId, Records, StoreError};
use provkit_ledger::{LedgerBackend, LedgerError, Retry, TxMode};
use provkit_sqlite::{SqliteLedger, SqliteOptions, SqliteStore};
use std::error::Error as _;
use std::path::PathBuf;
use std::time::Duration;

/// Fails at once instead of waiting for the write lock.
const NO_WAIT: SqliteOptions = SqliteOptions {
    durability: provkit_sqlite::Durability::Full,
    busy_timeout: Duration::ZERO,
};

/// Another connection holding the write lock of `path` until it is dropped.
fn lock(path: &PathBuf) -> rusqlite::Connection {
    let other = rusqlite::Connection::open(path).unwrap();
    other.execute_batch("BEGIN IMMEDIATE;").unwrap();
    other
}

#[test]
fn store_failure_names_the_sqlite_code() {
    let path = temp_db("store");
    let (kek, slot) = kek_store();
    let mut store = SqliteStore::open(&path, kek, slot, NO_WAIT).unwrap();
    store.write_record(RecordId(1), &[1; 16]).unwrap();

    let other = lock(&path);
    let e = store.write_record(RecordId(1), &[2; 16]).unwrap_err();
    assert_eq!(
        e,
        Error::Store(StoreError::Backend(BackendCause::sqlite(5)))
    );
    let cause = e.source().expect("the SQLite code as source");
    assert_eq!(cause.to_string(), "SQLite error 5 (SQLITE_BUSY)");
    assert!(cause.downcast_ref::<BackendCause>().unwrap().is_transient());

    // Once the lock is gone, the same write succeeds: the failure was transient.
    drop(other);
    store.write_record(RecordId(1), &[2; 16]).unwrap();
    let mut out = [0; 16];
    assert_eq!(store.read_record(RecordId(1), &mut out), Ok(16));
    assert_eq!(out, [2; 16]);
}

#[test]
fn ledger_failure_is_retryable_and_keeps_the_sqlite_error() {
    let path = temp_db("ledger");
    let mut ledger = SqliteLedger::open(&path, NO_WAIT).unwrap();
    let other = lock(&path);
    let e = match ledger.begin(TxMode::Write) {
        Err(e) => e,
        Ok(_) => panic!("began a write transaction while another connection held the lock"),
    };
    assert!(e.is_retryable(), "{e}");
    assert_eq!(e.retry(), Retry::Immediately);
    let LedgerError::Backend(b) = &e else {
        panic!("not a backend error: {e:?}")
    };
    assert_eq!(b.cause(), BackendCause::sqlite(5));
    assert!(
        e.to_string().contains("SQLite error 5 (SQLITE_BUSY)"),
        "{e}"
    );
    // The source is rusqlite's error, with SQLite's own code.
    let source = e.source().expect("rusqlite's error as source");
    let sqlite = source
        .downcast_ref::<rusqlite::Error>()
        .and_then(rusqlite::Error::sqlite_error)
        .expect("an SQLite failure");
    assert_eq!(sqlite.extended_code, 5);

    drop(other);
    let tx = ledger.begin(TxMode::Write).unwrap();
    provkit_ledger::LedgerTx::commit(tx).unwrap();
}
