//! Import throughput: a sealed 100,000-record shipment file on disk, streamed into a
//! fresh WAL SQLite ledger file on disk (open, verify, KCV-check, re-wrap, fingerprint,
//! stage, promote, audit). Target: at least 100,000 records/s in release.
//!
//! ```text
//! cargo bench -p provkit-sqlite --bench import
//! ```

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use provkit_ledger::suite::{Fixture, RECIPIENT};
use provkit_sqlite::{SqliteLedger, SqliteOptions};
use std::time::{Duration, Instant};

const RECORDS: u64 = 100_000;

fn import(c: &mut Criterion) {
    let dir = std::env::temp_dir().join(format!("provkit-bench-import-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("shipment.bin");
    let serials: Vec<u64> = (0..RECORDS).collect();
    std::fs::write(
        &file,
        Fixture::new(1).shipment(*b"bench-batch-0001", &serials, 256),
    )
    .unwrap();
    let manufacturer = Fixture::new(1).manufacturer_pk;

    let mut group = c.benchmark_group("sqlite_import");
    group.throughput(Throughput::Elements(RECORDS));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    let mut run = 0u32;
    group.bench_function("100k_records_wal_file", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                run += 1;
                let db = dir.join(format!("ledger-{run}.db"));
                let t = Instant::now();
                let backend = SqliteLedger::open(&db, SqliteOptions::default()).unwrap();
                let mut ledger = Fixture::ledger(backend, 16_384);
                let input =
                    std::io::BufReader::with_capacity(1 << 16, std::fs::File::open(&file).unwrap());
                let r = ledger.import(RECIPIENT, &manufacturer, input, 1).unwrap();
                total += t.elapsed();
                assert_eq!(r.promoted, RECORDS);
                drop(ledger);
                for ext in ["db", "db-wal", "db-shm"] {
                    let _ = std::fs::remove_file(db.with_extension(ext));
                }
            }
            total
        });
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, import);
criterion_main!(benches);
