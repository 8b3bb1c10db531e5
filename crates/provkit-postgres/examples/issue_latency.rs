//! Issuance latency and throughput of the ledger on PostgreSQL.
//!
//! ```text
//! cargo run --release -p provkit-postgres --example issue_latency [SERIALS]
//! ```
//!
//! Uses `PROVKIT_PG_URL`, or starts a throwaway cluster (see `provkit_postgres::cluster`).
//! Imports a shipment of SERIALS keys (default 20,000), then measures:
//! 1. one connection issuing one serial per call (`Ledger::issue`: one transaction, one
//!    audit row each): p50 / p99 / max latency and serials/s;
//! 2. one connection issuing in batches of 1,000 (`Ledger::issue_batch`): serials/s;
//! 3. 8 connections contending for the same serials in batches of 1,000 (every serial
//!    issued once, 7 refusals audited per serial): attempts/s.
//!
//! It verifies the audit chain at the end.

use provkit_ledger::IssueOutcome;
use provkit_ledger::suite::{Fixture, RECIPIENT};
use provkit_postgres::PgLedger;
use provkit_postgres::cluster::TestSchema;
use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let serials: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let schema = TestSchema::new("issue_latency");
    let open = || PgLedger::connect(schema.url(), schema.name()).expect("connect");
    let mut fx = Fixture::new(99);
    let mut ledger = Fixture::ledger(open(), 16_384);
    let all: Vec<u64> = (1..=3 * serials).collect();

    let t = Instant::now();
    let file = fx.shipment(*b"latency-batch-01", &all, 4096);
    let sealed = t.elapsed();
    let t = Instant::now();
    let r = ledger
        .import(RECIPIENT, &fx.manufacturer_pk, file.as_slice(), 1)
        .expect("import");
    let import = t.elapsed();
    assert_eq!(r.promoted, 3 * serials);
    println!(
        "import: {} records in {:.2} s ({:.0} records/s; sealing the file took {:.2} s)",
        r.promoted,
        import.as_secs_f64(),
        r.promoted as f64 / import.as_secs_f64(),
        sealed.as_secs_f64()
    );

    // 1. One serial per call.
    let single = &all[..serials as usize];
    let mut lat = Vec::with_capacity(single.len());
    let t = Instant::now();
    for &s in single {
        let t1 = Instant::now();
        ledger.issue(s, 2).expect("issue");
        lat.push(t1.elapsed());
    }
    let total = t.elapsed();
    lat.sort();
    println!(
        "issue (1 connection, 1 serial per transaction): p50 {:.0} us, p99 {:.0} us, max {:.0} us, {:.0} serials/s",
        percentile(&lat, 0.50).as_secs_f64() * 1e6,
        percentile(&lat, 0.99).as_secs_f64() * 1e6,
        lat.last().map_or(0.0, |d| d.as_secs_f64() * 1e6),
        single.len() as f64 / total.as_secs_f64()
    );

    // 2. Batches of 1,000 on one connection.
    let batched = &all[serials as usize..2 * serials as usize];
    let mut lat = Vec::new();
    let t = Instant::now();
    for chunk in batched.chunks(1_000) {
        let t1 = Instant::now();
        let out = ledger.issue_batch(chunk, 3).expect("issue_batch");
        lat.push(t1.elapsed());
        assert!(out.iter().all(|o| matches!(o, IssueOutcome::Issued(_))));
    }
    let total = t.elapsed();
    lat.sort();
    println!(
        "issue_batch (1 connection, 1,000 serials per transaction): {:.0} serials/s, p50 {:.1} ms per batch ({:.0} us per serial)",
        batched.len() as f64 / total.as_secs_f64(),
        percentile(&lat, 0.50).as_secs_f64() * 1e3,
        percentile(&lat, 0.50).as_secs_f64() * 1e6 / 1_000.0
    );

    // 3. 8 connections contending for the same serials.
    let contended = &all[2 * serials as usize..];
    let t = Instant::now();
    let issued: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8u64)
            .map(|i| {
                let open = &open;
                s.spawn(move || {
                    let mut l = Fixture::ledger(open(), 1);
                    let mut order = contended.to_vec();
                    if i % 2 == 1 {
                        order.reverse();
                    }
                    let mut mine = 0;
                    for chunk in order.chunks(1_000) {
                        mine += l
                            .issue_batch(chunk, 4)
                            .expect("issue_batch")
                            .iter()
                            .filter(|o| matches!(o, IssueOutcome::Issued(_)))
                            .count();
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let total = t.elapsed();
    assert_eq!(
        issued as u64, serials,
        "every contended serial issued exactly once"
    );
    println!(
        "contention (8 connections x {serials} serials, batches of 1,000): {:.2} s, {:.0} attempts/s, {:.0} issued/s",
        total.as_secs_f64(),
        (8 * serials) as f64 / total.as_secs_f64(),
        serials as f64 / total.as_secs_f64()
    );

    let t = Instant::now();
    let report = ledger.verify_audit(None).expect("audit chain verifies");
    println!(
        "audit chain: {} rows ({} refusals) verified in {:.2} s",
        report.rows,
        report.refusals,
        t.elapsed().as_secs_f64()
    );
}
