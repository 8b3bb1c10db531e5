//! What the SQLite tests share: a fresh database path, and the KEK store whose key wraps
//! the SQLite key store's keys at rest.
#![allow(dead_code)]

use provkit::envelope::{KekId, KekRef, KekSlot};
use provkit::store::{KeyId, KeyKind, MemoryStore, SymmetricKeys, WrapAlgorithm};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};

/// A path for a new database file in its own temp directory, unique in this process.
pub fn temp_db(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "provkit-sqlite-{}-{}-{}",
        std::process::id(),
        name,
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("test.db")
}

/// A memory store holding an AES-256 KEK, and the slot that names it.
pub fn kek_store() -> (MemoryStore<1, 0, 0>, KekSlot) {
    let mut k = MemoryStore::new();
    k.import_symmetric(KeyId(9), KeyKind::Aes256, &[0x3C; 32])
        .unwrap();
    let slot = KekSlot {
        kek: KekRef {
            id: KekId(*b"storekek"),
            version: 1,
        },
        key: KeyId(9),
        wrap: WrapAlgorithm::AesKwp,
    };
    (k, slot)
}
