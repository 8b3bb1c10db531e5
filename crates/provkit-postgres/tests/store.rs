//! `PgStore` against a real PostgreSQL: provkit's key-store conformance suite, no
//! plaintext at rest, tamper detection, several instances on one schema.

use provkit::Error;
use provkit::store::{
    IdentityKeys, KeyId, KeyInventory, KeyKind, RecordId, Records, StoreError, SymmetricKeys, suite,
};
use provkit::testing::InsecureTestRng;
use provkit_postgres::PgStore;
use provkit_postgres::cluster::{KekStore, TestSchema, memory_kek};

fn open(schema: &TestSchema) -> PgStore<KekStore> {
    let (kek_store, kek) = memory_kek(1);
    PgStore::connect(schema.url(), schema.name(), kek_store, kek).unwrap()
}

#[test]
fn conformance_suite_passes() {
    let schema = TestSchema::new("suite");
    let mut store = open(&schema);
    suite::all(&mut store);
}

#[test]
fn keys_persist_across_connections_and_instances() {
    let schema = TestSchema::new("persist");
    let mut rng = InsecureTestRng::new(3);
    let public = {
        let mut a = open(&schema);
        a.import_symmetric(KeyId(2), KeyKind::Aes128, &[9u8; 16])
            .unwrap();
        a.write_record(RecordId(5), b"dukpt register").unwrap();
        a.generate_p256(KeyId(1), &mut rng).unwrap()
    };
    let mut b = open(&schema);
    assert_eq!(b.public_key(KeyId(1)).unwrap(), public);
    let sig = b.sign_digest(KeyId(1), &[1u8; 32]).unwrap();
    public.verify_digest(&[1u8; 32], &sig).unwrap();
    let mut block = [0u8; 16];
    b.encrypt_block(KeyId(2), &mut block).unwrap();
    assert_ne!(block, [0u8; 16]);
    let mut out = [0u8; 64];
    let n = b.read_record(RecordId(5), &mut out).unwrap();
    assert_eq!(&out[..n], b"dukpt register");

    // A store opened with another KEK cannot use the rows: they fail as corrupt, never
    // as another key.
    let (other_kek_store, kek) = memory_kek(2);
    let mut c = PgStore::connect(schema.url(), schema.name(), other_kek_store, kek).unwrap();
    assert_eq!(
        c.sign_digest(KeyId(1), &[1u8; 32]),
        Err(Error::Store(StoreError::Corrupt))
    );
    assert_eq!(
        c.read_record(RecordId(5), &mut out),
        Err(Error::Store(StoreError::Corrupt))
    );
}

/// No plaintext key or record is in any table: the raw table bytes do not contain the
/// key material or the record data.
#[test]
fn no_plaintext_at_rest() {
    let schema = TestSchema::new("plaintext");
    let mut store = open(&schema);
    let aes = [0xA5u8; 32];
    store
        .import_symmetric(KeyId(1), KeyKind::Aes256, &aes)
        .unwrap();
    let scalar = provkit::secret::SecretBytes::new([0x3Cu8; 32]);
    store.import_p256(KeyId(2), &scalar).unwrap();
    let record = b"secret-register-contents-0123456789";
    store.write_record(RecordId(1), record).unwrap();

    let mut client = schema.client();
    let mut blobs = Vec::new();
    for row in client.query("SELECT wrapped FROM keys", &[]).unwrap() {
        blobs.push(row.get::<_, Vec<u8>>(0));
    }
    for row in client.query("SELECT wrapped FROM records", &[]).unwrap() {
        blobs.push(row.get::<_, Vec<u8>>(0));
    }
    assert_eq!(blobs.len(), 3);
    let contains = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    for blob in &blobs {
        assert!(!contains(blob, &aes[..8]), "AES key bytes at rest");
        assert!(!contains(blob, &[0x3C; 8]), "P-256 scalar at rest");
        assert!(!contains(blob, &record[..8]), "record bytes at rest");
    }
    // The whole table dump, too (columns other than `wrapped` hold no secret either).
    let dump: Vec<u8> = client
        .query(
            "SELECT keys::text FROM keys UNION ALL SELECT records::text FROM records",
            &[],
        )
        .unwrap()
        .iter()
        .flat_map(|r| r.get::<_, String>(0).into_bytes())
        .collect();
    assert!(!contains(&dump, b"a5a5a5a5"), "AES key hex in a table");
    assert!(!contains(&dump, b"3c3c3c3c"), "scalar hex in a table");
}

/// A row edited in the database, or copied over another id, fails its check: the id and
/// kind are bound inside the wrap.
#[test]
fn tampered_rows_are_corrupt() {
    let schema = TestSchema::new("tamper");
    let mut store = open(&schema);
    store
        .import_symmetric(KeyId(1), KeyKind::Aes128, &[1u8; 16])
        .unwrap();
    store
        .import_symmetric(KeyId(2), KeyKind::Aes128, &[2u8; 16])
        .unwrap();
    store.write_record(RecordId(1), b"one").unwrap();
    store.write_record(RecordId(2), b"two").unwrap();
    let mut client = schema.client();
    let corrupt = Error::Store(StoreError::Corrupt);
    let mut block = [0u8; 16];
    let mut out = [0u8; 16];

    // Key 2's row copied over key 1: refused, not silently the other key.
    client
        .execute(
            "UPDATE keys SET wrapped = (SELECT wrapped FROM keys WHERE id = 2) WHERE id = 1",
            &[],
        )
        .unwrap();
    assert_eq!(store.encrypt_block(KeyId(1), &mut block), Err(corrupt));
    assert!(store.encrypt_block(KeyId(2), &mut block).is_ok());

    // The kind column edited: the kind bound in the wrap disagrees.
    client
        .execute("UPDATE keys SET kind = 4 WHERE id = 2", &[])
        .unwrap();
    assert_eq!(store.encrypt_block(KeyId(2), &mut block), Err(corrupt));

    // A flipped bit in a record.
    client
        .execute(
            "UPDATE records SET wrapped = set_byte(wrapped, 3, get_byte(wrapped, 3) # 1) WHERE id = 1",
            &[],
        )
        .unwrap();
    assert_eq!(store.read_record(RecordId(1), &mut out), Err(corrupt));
    // A record copied over another id.
    client
        .execute(
            "UPDATE records SET wrapped = (SELECT wrapped FROM records WHERE id = 1) WHERE id = 2",
            &[],
        )
        .unwrap();
    assert_eq!(store.read_record(RecordId(2), &mut out), Err(corrupt));
    // An unknown kind code cannot even be written.
    assert!(
        client
            .execute("UPDATE keys SET kind = 9 WHERE id = 2", &[])
            .is_err()
    );
}

/// Several instances creating the same key ids at once: exactly one wins each id, the
/// others get `AlreadyExists`.
#[test]
fn concurrent_instances_create_each_id_once() {
    let schema = TestSchema::new("race");
    drop(open(&schema)); // create the tables once
    let ids = 200u32;
    let wins: Vec<u32> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4u8)
            .map(|t| {
                let schema = &schema;
                s.spawn(move || {
                    let mut store = open(schema);
                    let mut won = 0;
                    for i in 0..ids {
                        let key = [t.wrapping_add(1); 16];
                        match store.import_symmetric(KeyId(i), KeyKind::Aes128, &key) {
                            Ok(()) => won += 1,
                            Err(Error::Store(StoreError::AlreadyExists)) => {}
                            Err(e) => panic!("unexpected {e}"),
                        }
                    }
                    won
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        wins.iter().sum::<u32>(),
        ids,
        "each id created exactly once: {wins:?}"
    );
    let mut store = open(&schema);
    for i in 0..ids {
        assert_eq!(store.key_kind(KeyId(i)).unwrap(), KeyKind::Aes128);
    }
}

#[test]
fn bad_setup_is_a_clear_error() {
    let schema = TestSchema::new("setup");
    let (kek_store, kek) = memory_kek(1);
    let e = PgStore::connect(schema.url(), "Bad-Name", kek_store, kek).unwrap_err();
    assert!(e.to_string().contains("invalid schema name"), "{e}");

    let (kek_store, mut kek) = memory_kek(1);
    kek.key = KeyId(99);
    let e = PgStore::connect(schema.url(), schema.name(), kek_store, kek).unwrap_err();
    assert!(e.to_string().contains("KEK unusable"), "{e}");

    let (kek_store, kek) = memory_kek(1);
    let e = PgStore::connect(
        "postgres://nobody@127.0.0.1:1/none",
        schema.name(),
        kek_store,
        kek,
    )
    .unwrap_err();
    assert!(e.to_string().starts_with("PostgreSQL:"), "{e}");
}

#[test]
fn oversized_records_are_refused() {
    let schema = TestSchema::new("records");
    let mut store = open(&schema).with_max_record_len(100);
    assert_eq!(store.max_record_len(), 100);
    store.write_record(RecordId(1), &[7u8; 100]).unwrap();
    assert_eq!(
        store.write_record(RecordId(1), &[7u8; 101]),
        Err(Error::Store(StoreError::RecordTooLarge))
    );
    let mut small = [0u8; 10];
    assert_eq!(
        store.read_record(RecordId(1), &mut small),
        Err(Error::buffer_too_small(100))
    );
    store.write_record(RecordId(2), &[]).unwrap();
    assert_eq!(store.read_record(RecordId(2), &mut small), Ok(0));
}

/// A database failure keeps its SQLSTATE: another client locks the records table and the
/// store's statement times out waiting (SQLSTATE 55P03, transient), then the table is
/// gone (42P01, not transient).
#[test]
fn backend_failures_carry_their_sqlstate() {
    use provkit::error::BackendCause;
    use std::error::Error as _;
    let schema = TestSchema::new("sqlstate");
    let mut store = open(&schema);
    store.write_record(RecordId(1), b"before").unwrap();
    store
        .client()
        .batch_execute("SET lock_timeout = '50ms'")
        .unwrap();
    let mut other = schema.client();
    other
        .batch_execute("BEGIN; LOCK TABLE records IN ACCESS EXCLUSIVE MODE")
        .unwrap();
    let e = store.write_record(RecordId(1), b"during").unwrap_err();
    assert_eq!(
        e,
        Error::Store(StoreError::Backend(BackendCause::sql_state(*b"55P03")))
    );
    let cause = e.source().expect("the SQLSTATE as source");
    assert_eq!(cause.to_string(), "SQLSTATE 55P03");
    assert!(cause.downcast_ref::<BackendCause>().unwrap().is_transient());
    assert!(store.last_backend_error().unwrap().contains("55P03"));

    other.batch_execute("DROP TABLE records; COMMIT").unwrap();
    let e = store.write_record(RecordId(1), b"after").unwrap_err();
    let cause = e.source().expect("the SQLSTATE as source");
    assert_eq!(cause.to_string(), "SQLSTATE 42P01");
    assert!(!cause.downcast_ref::<BackendCause>().unwrap().is_transient());
}
