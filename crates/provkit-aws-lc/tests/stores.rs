//! provkit's software key stores with their keys on aws-lc-rs: the in-memory store, the
//! SQLite store and the PostgreSQL store each pass provkit's key-store conformance suite
//! on [`AwsLc`], and their signatures come from AWS-LC (randomized nonces, where the
//! default provider's RFC 6979 signatures repeat) and verify on the default provider.
//! Uses the workspace's SQLite and PostgreSQL crates (left out of the package).

use provkit::envelope::{KekId, KekRef, KekSlot};
use provkit::store::{IdentityKeys, KeyId, KeyKind, MemoryStore, SymmetricKeys, WrapAlgorithm};
use provkit::testing::InsecureTestRng;
use provkit_aws_lc::AwsLc;
use provkit_postgres::PgStore;
use provkit_postgres::cluster::{TestSchema, memory_kek};
use provkit_sqlite::{SqliteOptions, SqliteStore};

/// Two signatures over one digest differ (AWS-LC draws each nonce) and both verify with
/// the default provider; a default-provider store signs the same digest the same way twice.
fn signs_on_aws_lc<S: IdentityKeys>(store: &mut S) {
    let mut rng = InsecureTestRng::new(7);
    let public = store.generate_p256(KeyId(77), &mut rng).unwrap();
    let digest = [0x5A; 32];
    let (a, b) = (
        store.sign_digest(KeyId(77), &digest).unwrap(),
        store.sign_digest(KeyId(77), &digest).unwrap(),
    );
    assert_ne!(
        a, b,
        "randomized ECDSA nonces: the signature came from AWS-LC"
    );
    public.verify_digest_low_s(&digest, &a).unwrap();
    public.verify_digest_low_s(&digest, &b).unwrap();
}

#[test]
fn memory_store_on_aws_lc() {
    provkit::store::suite::all(&mut MemoryStore::<8, 8, 128, AwsLc>::new());
    signs_on_aws_lc(&mut MemoryStore::<8, 8, 128, AwsLc>::new());
    // The control: the default provider's signatures are deterministic.
    let mut default = MemoryStore::<1, 0, 0>::new();
    default
        .generate_p256(KeyId(1), &mut InsecureTestRng::new(1))
        .unwrap();
    assert_eq!(
        default.sign_digest(KeyId(1), &[1; 32]).unwrap(),
        default.sign_digest(KeyId(1), &[1; 32]).unwrap()
    );
}

fn sqlite_kek() -> (MemoryStore<1, 0, 0>, KekSlot) {
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

#[test]
fn sqlite_store_on_aws_lc() {
    let dir = std::env::temp_dir().join(format!("provkit-aws-lc-sqlite-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for (i, check) in [
        provkit::store::suite::all::<SqliteStore<MemoryStore<1, 0, 0>, AwsLc>> as fn(&mut _),
        signs_on_aws_lc,
    ]
    .into_iter()
    .enumerate()
    {
        let (k, slot) = sqlite_kek();
        let mut store = SqliteStore::open(
            dir.join(format!("{i}.db")),
            k,
            slot,
            SqliteOptions::default(),
        )
        .unwrap()
        .with_provider::<AwsLc>();
        check(&mut store);
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn postgres_store_on_aws_lc() {
    for (i, check) in [
        provkit::store::suite::all::<PgStore<provkit_postgres::cluster::KekStore, AwsLc>>
            as fn(&mut _),
        signs_on_aws_lc,
    ]
    .into_iter()
    .enumerate()
    {
        let schema = TestSchema::new(&format!("awslc{i}"));
        let (kek_store, kek) = memory_kek(1);
        let mut store = PgStore::connect(schema.url(), schema.name(), kek_store, kek)
            .unwrap()
            .with_provider::<AwsLc>();
        check(&mut store);
    }
}
