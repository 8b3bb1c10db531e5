//! The key-store conformance suite run against the in-memory store.

use provkit::store::{MemoryStore, suite};

#[test]
fn memory_store_passes_the_suite() {
    suite::all(&mut MemoryStore::<16, 8, 256>::new());
}

#[test]
fn memory_store_reports_full() {
    use provkit::Error;
    use provkit::store::{KeyId, KeyKind, RecordId, Records, StoreError, SymmetricKeys};
    let mut s = MemoryStore::<1, 1, 64>::new();
    s.import_symmetric(KeyId(1), KeyKind::Aes128, &[1; 16])
        .unwrap();
    assert_eq!(
        s.import_symmetric(KeyId(2), KeyKind::Aes128, &[1; 16]),
        Err(Error::Store(StoreError::Full))
    );
    s.write_record(RecordId(1), b"a").unwrap();
    assert_eq!(
        s.write_record(RecordId(2), b"b"),
        Err(Error::Store(StoreError::Full))
    );
    // Replacing the existing record still works when full.
    s.write_record(RecordId(1), b"c").unwrap();
}
