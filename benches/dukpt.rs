//! Host-side AES DUKPT: AES-128 PIN working keys derived from an initial key.
//!
//! Two workloads, as measured for the C reference (openemv/dukpt with MbedTLS AES-NI:
//! ~1.6 M keys/s sequential, ~1.1 M keys/s random on this project's machines):
//! - `sequential`: counters 1, 2, 3, … (the first 2,000,000 valid counters, mean 10.4
//!   one-bits), as a host sees one busy device;
//! - `random`: 2,000,000 counters drawn uniformly from all valid counters (mean 14.0
//!   one-bits), the worst case.
//!
//! Each workload runs three ways:
//! - `plain`: one [`InitialKey::working_key`] call per KSN (the figure to compare with
//!   the C single call);
//! - `cached`: [`HostCache`], the per-device cache of intermediate keys (a fresh cache
//!   per pass, so its warm-up is included);
//! - `batched`: [`InitialKey::for_each_working_key`], eight interleaved derivations.
//!
//! Throughput is reported in keys/s (criterion `Throughput::Elements`).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use provkit::dukpt::{
    AesBdk, AesKsn, HostCache, InitialKey, InitialKeyId, KeyType, WorkingKeyUsage,
};
use provkit::testing::InsecureTestRng;
use rand_core::Rng;
use std::hint::black_box;
use std::time::Duration;

const KEYS: usize = 2_000_000;
const BDK: [u8; 16] = [
    0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1,
];
const IKID: InitialKeyId = InitialKeyId::new([0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56]);

fn initial_key() -> InitialKey {
    AesBdk::from_bytes(&BDK).unwrap().initial_key(IKID).unwrap()
}

fn sequential() -> Vec<AesKsn> {
    core::iter::successors(Some(AesKsn::new(IKID, 1)), AesKsn::next)
        .take(KEYS)
        .collect()
}

fn random() -> Vec<AesKsn> {
    let mut rng = InsecureTestRng::new(2024);
    let mut out = Vec::with_capacity(KEYS);
    while out.len() < KEYS {
        let c = rng.next_u32();
        if c != 0 && c.count_ones() <= 16 {
            out.push(AesKsn::new(IKID, c));
        }
    }
    out
}

fn mean_ones(ksns: &[AesKsn]) -> f64 {
    let total: u64 = ksns
        .iter()
        .map(|k| u64::from(k.counter().count_ones()))
        .sum();
    total as f64 / ksns.len() as f64
}

fn bench(c: &mut Criterion) {
    let ik = initial_key();
    // Sanity: the supplement's first PIN key.
    let first = ik
        .working_key(
            &AesKsn::new(IKID, 1),
            WorkingKeyUsage::PinEncryption,
            KeyType::Aes128,
        )
        .unwrap();
    assert_eq!(
        first.dangerous_expose(),
        [
            0xAF, 0x8C, 0xB1, 0x33, 0xA7, 0x8F, 0x8D, 0xC2, 0xD1, 0x35, 0x9F, 0x18, 0x52, 0x75,
            0x93, 0xFB
        ]
    );

    for (name, ksns) in [("sequential", sequential()), ("random", random())] {
        eprintln!(
            "workload {name}: {} KSNs, mean {:.2} one-bits per counter",
            ksns.len(),
            mean_ones(&ksns)
        );
        let mut g = c.benchmark_group(format!("dukpt_aes128_pin/{name}"));
        g.throughput(Throughput::Elements(ksns.len() as u64));
        g.sample_size(10);
        g.warm_up_time(Duration::from_secs(1));
        g.measurement_time(Duration::from_secs(15));

        g.bench_function("plain", |b| {
            b.iter(|| {
                for ksn in &ksns {
                    let k = ik.working_key(ksn, WorkingKeyUsage::PinEncryption, KeyType::Aes128);
                    black_box(k.unwrap());
                }
            });
        });
        g.bench_function("cached", |b| {
            b.iter(|| {
                let mut cache = HostCache::new(initial_key());
                for ksn in &ksns {
                    let k = cache.working_key(ksn, WorkingKeyUsage::PinEncryption, KeyType::Aes128);
                    black_box(k.unwrap());
                }
            });
        });
        g.bench_function("batched", |b| {
            b.iter(|| {
                ik.for_each_working_key(
                    ksns.iter().copied(),
                    WorkingKeyUsage::PinEncryption,
                    KeyType::Aes128,
                    |i, _, k| {
                        black_box((i, k.unwrap()));
                    },
                )
                .unwrap();
            });
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
