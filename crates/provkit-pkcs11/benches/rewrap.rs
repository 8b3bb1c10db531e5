//! HSM rewrap rate: 32-byte keys unwrapped under an old KEK and wrapped under a new one
//! inside SoftHSM2 (RFC 5649 and RFC 3394), both with `Pkcs11Store::rewrap` between two
//! data KEKs (session object, nothing written to the token) and through the key-store
//! traits (`unwrap_key` under an import KEK into a token object, `wrap_key` under the
//! SO-created export KEK, `delete_key`).
//!
//! Like the tests, the bench re-runs itself with `SOFTHSM2_CONF` pointing at a fresh
//! temporary token directory (setting the variable in-process would need `unsafe`).
//! Run: `cargo bench -p provkit-pkcs11 --bench rewrap`. Needs `apt-get install -y softhsm2`.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{Criterion, Throughput};
use provkit::store::{KeyId, KeyInventory, KeyKind, MemoryStore, SymmetricKeys, WrapAlgorithm};
use provkit_pkcs11::{
    ExportPolicy, KeyRole, KeyRoles, Pin, Pkcs11Config, Pkcs11Store, config::default_module,
};
use std::process::Command;
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "PROVKIT_PKCS11_BENCH_CHILD";
const KEYS: usize = 64;

fn main() {
    if std::env::var_os(CHILD_ENV).is_none() {
        let module = default_module();
        assert!(
            module.exists(),
            "SoftHSM2 is not installed (no module at {}): apt-get install -y softhsm2",
            module.display()
        );
        let dir = std::env::temp_dir().join(format!("provkit-pkcs11-bench-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("tokens")).unwrap();
        let conf = dir.join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                dir.join("tokens").display()
            ),
        )
        .unwrap();
        let status = Command::new(std::env::current_exe().unwrap())
            .args(std::env::args_os().skip(1))
            .env(CHILD_ENV, "1")
            .env("SOFTHSM2_CONF", &conf)
            .status()
            .unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        std::process::exit(status.code().unwrap_or(1));
    }
    bench();
}

fn bench() {
    let (so, user) = ("87654321", "123456");
    provkit_pkcs11::init_token(&default_module(), "bench", &Pin::from(so), &Pin::from(user))
        .unwrap();
    let mut config = Pkcs11Config::new("bench", Pin::from(user));
    config.export = ExportPolicy::WrappedIds(vec![1000..=1000]);
    // Data KEKs 1 and 2 (rewrap), import KEK 3 (same value as 1), export KEK 4 (SO).
    config.roles = KeyRoles::default()
        .with(1..=2, KeyRole::DataKek)
        .with(3..=3, KeyRole::ImportKek);
    let (old, new, import, export) = (KeyId(1), KeyId(2), KeyId(3), KeyId(4));
    provkit_pkcs11::create_export_kek(&config, &Pin::from(so), export, KeyKind::Aes256, None)
        .unwrap();
    let mut hsm = Pkcs11Store::open(config).unwrap();
    let mut soft = MemoryStore::<2, 0, 0>::new();
    for (id, byte) in [(old, 0x11u8), (new, 0x22), (import, 0x11)] {
        hsm.import_symmetric(id, KeyKind::Aes256, &[byte; 32])
            .unwrap();
    }
    soft.import_symmetric(old, KeyKind::Aes256, &[0x11; 32])
        .unwrap();
    let mut criterion = Criterion::default()
        .configure_from_args()
        .sample_size(10)
        .measurement_time(Duration::from_secs(3));
    for (name, alg) in [("kwp", WrapAlgorithm::AesKwp), ("kw", WrapAlgorithm::AesKw)] {
        // KEYS distinct 32-byte keys wrapped under the old KEK.
        let wrapped: Vec<[u8; 40]> = (0..KEYS)
            .map(|i| {
                let mut w = [0u8; 40];
                soft.wrap_bytes(old, alg, &[i as u8; 32], &mut w).unwrap();
                w
            })
            .collect();
        let mut group = criterion.benchmark_group(format!("rewrap_{name}"));
        group.throughput(Throughput::Elements(KEYS as u64));
        group.bench_function("session_object", |b| {
            b.iter(|| {
                let mut out = [0u8; 40];
                for w in &wrapped {
                    hsm.rewrap(old, new, alg, KeyKind::Aes256, w, &mut out)
                        .unwrap();
                }
                out
            });
        });
        group.bench_function("token_object_via_traits", |b| {
            b.iter(|| {
                let mut out = [0u8; 40];
                for w in &wrapped {
                    hsm.unwrap_key(import, alg, w, KeyId(1000), KeyKind::Aes256)
                        .unwrap();
                    hsm.wrap_key(export, alg, KeyId(1000), &mut out).unwrap();
                    hsm.delete_key(KeyId(1000)).unwrap();
                }
                out
            });
        });
        group.finish();

        // A plain figure too, for the README / report.
        let start = Instant::now();
        let mut n = 0u32;
        let mut out = [0u8; 40];
        while start.elapsed() < Duration::from_secs(2) {
            for w in &wrapped {
                hsm.rewrap(old, new, alg, KeyKind::Aes256, w, &mut out)
                    .unwrap();
                n += 1;
            }
        }
        let rate = f64::from(n) / start.elapsed().as_secs_f64();
        println!("HSM rewrap rate ({name}, 32-byte keys, session object): {rate:.0} keys/s");
    }
    criterion.final_summary();
}
