//! The shared conformance suites on SQLite: the key-store suite on `SqliteStore`, the
//! ledger suite and the 8-thread × 100,000-serial concurrency test on `SqliteLedger`.

mod common;

use common::{kek_store, temp_db};
use provkit::store::{KeyId, KeyKind, MemoryStore, SymmetricKeys};
use provkit_sqlite::{Durability, SqliteLedger, SqliteOptions, SqliteStore};

#[test]
fn key_store_suite_passes() {
    let path = temp_db("store");
    let (k, slot) = kek_store();
    let mut store = SqliteStore::open(&path, k, slot, SqliteOptions::default()).unwrap();
    provkit::store::suite::all(&mut store);
}

#[test]
fn key_store_persists_and_holds_no_plaintext() {
    use provkit::store::{IdentityKeys, Records};
    let path = temp_db("persist");
    let secret = [0xAB; 32];
    let public = {
        let (k, slot) = kek_store();
        let mut store = SqliteStore::open(&path, k, slot, SqliteOptions::default()).unwrap();
        store
            .import_symmetric(KeyId(1), KeyKind::Aes256, &secret)
            .unwrap();
        store
            .write_record(provkit::store::RecordId(1), &[0xCD; 48])
            .unwrap();
        store
            .generate_p256(KeyId(2), &mut provkit::testing::InsecureTestRng::new(3))
            .unwrap()
    };
    let (k, slot) = kek_store();
    let mut store = SqliteStore::open(&path, k, slot, SqliteOptions::default()).unwrap();
    assert_eq!(
        store.public_key(KeyId(2)).unwrap(),
        public,
        "keys survive reopening"
    );
    let mut block = [0u8; 16];
    store.encrypt_block(KeyId(1), &mut block).unwrap();
    drop(store);
    let raw = std::fs::read(&path).unwrap();
    let wal = std::fs::read(path.with_extension("db-wal")).unwrap_or_default();
    for bytes in [&raw, &wal] {
        assert!(
            !bytes.windows(32).any(|w| w == secret),
            "plaintext key found in the database file"
        );
        assert!(
            !bytes.windows(48).any(|w| w == [0xCD; 48]),
            "plaintext record found"
        );
    }
    // A wrong KEK cannot use the stored keys.
    let mut other = MemoryStore::<1, 0, 0>::new();
    other
        .import_symmetric(KeyId(9), KeyKind::Aes256, &[0x3D; 32])
        .unwrap();
    let (_, slot) = kek_store();
    let mut store = SqliteStore::open(&path, other, slot, SqliteOptions::default()).unwrap();
    assert!(store.encrypt_block(KeyId(1), &mut block).is_err());
}

#[test]
fn ledger_suite_passes() {
    provkit_ledger::suite::all(|| {
        SqliteLedger::open(temp_db("ledger"), SqliteOptions::default()).unwrap()
    });
}

#[test]
fn eight_threads_issue_100k_serials_exactly_once() {
    let path = temp_db("concurrent");
    let options = SqliteOptions {
        durability: Durability::Normal,
        ..SqliteOptions::default()
    };
    let open = || SqliteLedger::open(&path, options).unwrap();
    let start = std::time::Instant::now();
    provkit_ledger::suite::concurrent_issuance(&open, 8, 100_000, 2_000);
    eprintln!(
        "8 threads x 100,000 serials: {:.1} s",
        start.elapsed().as_secs_f64()
    );
}

/// Two connections: one raises the minimum decryption version while the other, with a
/// stale KEK directory, is importing.
#[test]
fn ledger_minimum_raised_during_import() {
    let path = temp_db("raised");
    provkit_ledger::suite::minimum_raised_during_import(&|| {
        SqliteLedger::open(&path, SqliteOptions::default()).unwrap()
    });
}

/// Serials 0, 1, 2⁶³−1, 2⁶³, 2⁶⁴−1 and random ones through every ledger operation
/// (also part of `ledger_suite_passes`; separate so that it can be run alone). Issue #14:
/// the cursor after serial 2⁶³ (`i64::MIN`) was read as "from the start", so a rotation
/// whose last candidate was 2⁶³ never ended.
#[test]
fn ledger_serial_edges() {
    provkit_ledger::suite::serial_edges(|| {
        SqliteLedger::open(temp_db("edges"), SqliteOptions::default()).unwrap()
    });
}

/// Over a backend whose cursor does not advance, `check_keys` and `rotate` fail instead
/// of looping (also part of `ledger_suite_passes`).
#[test]
fn ledger_cursor_must_advance() {
    provkit_ledger::suite::cursor_must_advance(
        SqliteLedger::open(temp_db("cursor"), SqliteOptions::default()).unwrap(),
    );
}
