//! `examples/issue_certificate`'s CA kept in a SQLite key store: a second run on the same
//! database loads the same root and factory CA and issues new devices under them, with
//! keys from the OS RNG; the database holds the CA only wrapped under its KEK.

#[path = "../examples/issue_certificate/ca.rs"]
mod ca;

use provkit::cert::{self, CaCert, CompactCert};
use provkit::envelope::{KekId, KekRef, KekSlot};
use provkit::rand_core::Rng;
use provkit::rng::OsRng;
use provkit::store::{IdentityKeys, KeyId, KeyKind, MemoryStore, SymmetricKeys, WrapAlgorithm};
use provkit_sqlite::{SqliteOptions, SqliteStore};
use std::path::{Path, PathBuf};

const NOW: u64 = 1_760_000_000;

fn temp_db(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "provkit-issue-certificate-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("ca.db")
}

fn open(db: &Path, kek: &[u8; 32]) -> SqliteStore<MemoryStore<1, 0, 0>> {
    let mut kek_store = MemoryStore::<1, 0, 0>::new();
    kek_store
        .import_symmetric(KeyId(1), KeyKind::Aes256, kek)
        .unwrap();
    let slot = KekSlot {
        kek: KekRef {
            id: KekId(*b"ca-kek\0\0"),
            version: 1,
        },
        key: KeyId(1),
        wrap: WrapAlgorithm::AesKwp,
    };
    SqliteStore::open(db, kek_store, slot, SqliteOptions::default()).unwrap()
}

/// A device makes its key with the OS RNG and gets a certificate; checks the chain.
fn new_device<S: IdentityKeys>(store: &mut S, ca: &ca::Ca) -> [u8; cert::COMPACT_LEN] {
    let mut device = MemoryStore::<1, 0, 0>::new();
    let public = device.generate_p256(KeyId(1), &mut OsRng).unwrap();
    let serial = OsRng.next_u64().max(1);
    let compact = ca.issue(store, &public, serial, NOW).unwrap();
    let parsed = CompactCert::parse(&compact).unwrap();
    let verified = cert::verify_device(
        &ca.root().unwrap(),
        Some(&ca.factory().unwrap()),
        &parsed,
        NOW,
    )
    .unwrap();
    assert_eq!(verified.serial, serial);
    compact
}

#[test]
fn a_second_run_reuses_the_ca_kept_in_sqlite() {
    let db = temp_db("reuse");
    let mut kek = [0u8; 32];
    OsRng.fill_bytes(&mut kek);

    // First run: creates the CA in the store and issues a device.
    let (root_der, factory_der, first) = {
        let mut store = open(&db, &kek);
        let ca = ca::open_or_create(&mut store, &mut OsRng, NOW).unwrap();
        assert!(ca.created);
        let first = new_device(&mut store, &ca);
        (ca.root_der, ca.factory_der, first)
    };

    // Second run, a new connection: loads the same CA and issues another device.
    let mut store = open(&db, &kek);
    let ca = ca::open_or_create(&mut store, &mut OsRng, NOW + 86_400).unwrap();
    assert!(!ca.created);
    assert_eq!(ca.root_der, root_der);
    assert_eq!(ca.factory_der, factory_der);
    let second = new_device(&mut store, &ca);
    assert_ne!(first, second);

    // Both devices verify against the first run's certificates.
    let (root, factory) = (
        CaCert::from_der(&root_der).unwrap(),
        CaCert::from_der(&factory_der).unwrap(),
    );
    for compact in [first, second] {
        let parsed = CompactCert::parse(&compact).unwrap();
        cert::verify_device(&root, Some(&factory), &parsed, NOW + 86_400).unwrap();
    }

    // A third run does not create another CA either.
    let again = ca::open_or_create(&mut store, &mut OsRng, NOW).unwrap();
    assert!(!again.created);
    assert_eq!(again.root_der, root_der);
    drop(store);
    let _ = std::fs::remove_dir_all(db.parent().unwrap());
}

#[test]
fn the_database_alone_does_not_open_the_ca() {
    let db = temp_db("kek");
    let mut kek = [0u8; 32];
    OsRng.fill_bytes(&mut kek);
    let ca = {
        let mut store = open(&db, &kek);
        ca::open_or_create(&mut store, &mut OsRng, NOW).unwrap()
    };
    // The certificates are in the database only wrapped (as the keys are): not even the
    // public root certificate's bytes appear in its files.
    let mut files = Vec::new();
    for suffix in ["", "-wal"] {
        let mut name = db.clone().into_os_string();
        name.push(suffix);
        files.extend(std::fs::read(PathBuf::from(name)).unwrap_or_default());
    }
    assert!(files.len() > 1000);
    assert!(!files.windows(64).any(|w| w == &ca.root_der[..64]));
    // Another KEK opens nothing.
    let mut other = [0u8; 32];
    OsRng.fill_bytes(&mut other);
    let mut store = open(&db, &other);
    assert!(ca::open_or_create(&mut store, &mut OsRng, NOW).is_err());
    assert!(store.sign_digest(ca::FACTORY_KEY, &[0u8; 32]).is_err());
    drop(store);
    let _ = std::fs::remove_dir_all(db.parent().unwrap());
}

#[test]
fn an_interrupted_creation_is_not_overwritten() {
    let db = temp_db("partial");
    let mut kek = [0u8; 32];
    OsRng.fill_bytes(&mut kek);
    let mut store = open(&db, &kek);
    // Keys made, certificates never written (a run cut short).
    store.generate_p256(ca::ROOT_KEY, &mut OsRng).unwrap();
    let root_public = store.public_key(ca::ROOT_KEY).unwrap();
    assert!(ca::open_or_create(&mut store, &mut OsRng, NOW).is_err());
    assert_eq!(store.public_key(ca::ROOT_KEY).unwrap(), root_public);
    drop(store);
    let _ = std::fs::remove_dir_all(db.parent().unwrap());
}
