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
//!
//! Every derivation step is one AES-128 key schedule and one block (`src/dukpt/kdf.rs`,
//! `step128`). The group `aes128_new_key_plus_block` measures that step alone, chained
//! (each output is the next key, as in a derivation), on the `aes` crate as provkit calls
//! it and on aws-lc-rs (`cipher::EncryptingKey::ecb` over an `UnboundCipherKey`, its only
//! safe raw-block API), plus one block on a key already scheduled, to tell the schedule
//! from the block (issue #16): it says whether an AES block from a future aws-lc-rs
//! crypto provider would make DUKPT faster. ring has no raw AES block API; its QUIC
//! header-protection key (`aead::quic::HeaderProtectionKey`, AES-128: one key schedule
//! and one block, 5 bytes of the block returned) is measured as its nearest equivalent.
//! After criterion's figures, the same run prints each one's median ns per call.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "support/timing.rs"]
mod timing;
use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use criterion::{Criterion, Throughput, criterion_group};
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

/// Derivation data, as a DUKPT step encrypts.
const DD: [u8; 16] = [
    0x01, 0x01, 0x80, 0x00, 0x00, 0x02, 0x00, 0x80, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00, 0x01,
];

/// `key = AES-128(key, DD)` on the `aes` crate, as provkit's `step128`.
fn aes_crate_step(key: &mut [u8; 16]) {
    let cipher = aes::Aes128Enc::new(&Array::from(*key));
    let mut block = Array::from(DD);
    cipher.encrypt_block(&mut block);
    *key = block.into();
}

/// `key = AES-128(key, DD)` on aws-lc-rs: a new key (aws-lc-rs schedules the encryption
/// and the decryption key both), then one ECB block.
fn aws_lc_step(key: &mut [u8; 16]) {
    use aws_lc_rs::cipher::{AES_128, EncryptingKey, UnboundCipherKey};
    let cipher = EncryptingKey::ecb(UnboundCipherKey::new(&AES_128, key).unwrap()).unwrap();
    let mut block = DD;
    cipher.encrypt(&mut block).unwrap();
    *key = block;
}

/// ring's nearest: a QUIC header-protection key (one AES-128 key schedule) and one mask
/// (one block, first 5 bytes), folded into the key to chain the calls.
fn ring_quic_step(key: &mut [u8; 16]) {
    use ring::aead::quic::{AES_128, HeaderProtectionKey};
    let mask = HeaderProtectionKey::new(&AES_128, key)
        .unwrap()
        .new_mask(&DD)
        .unwrap();
    for (k, m) in key.iter_mut().zip(mask) {
        *k ^= m;
    }
}

/// The block alone: keys scheduled once, one block per call, chained through the block.
struct Scheduled {
    aes: aes::Aes128Enc,
    aws_lc: aws_lc_rs::cipher::EncryptingKey,
}

fn scheduled() -> Scheduled {
    use aws_lc_rs::cipher::{AES_128, EncryptingKey, UnboundCipherKey};
    Scheduled {
        aes: aes::Aes128Enc::new(&Array::from(BDK)),
        aws_lc: EncryptingKey::ecb(UnboundCipherKey::new(&AES_128, &BDK).unwrap()).unwrap(),
    }
}

fn aes_crate_block(s: &Scheduled, block: &mut [u8; 16]) {
    let mut b = Array::from(*block);
    s.aes.encrypt_block(&mut b);
    *block = b.into();
}

fn aws_lc_block(s: &Scheduled, block: &mut [u8; 16]) {
    s.aws_lc.encrypt(block).unwrap();
}

fn aes_block_bench(c: &mut Criterion) {
    // The same step on both: the first derivation's output of the aes crate and aws-lc-rs
    // agree.
    let (mut a, mut b) = (BDK, BDK);
    aes_crate_step(&mut a);
    aws_lc_step(&mut b);
    assert_eq!(a, b);
    let s = scheduled();
    let mut g = c.benchmark_group("aes128_new_key_plus_block");
    g.throughput(Throughput::Elements(1));
    let mut key = BDK;
    g.bench_function("aes_crate", |b| {
        b.iter(|| aes_crate_step(black_box(&mut key)))
    });
    g.bench_function("aws_lc_rs", |b| b.iter(|| aws_lc_step(black_box(&mut key))));
    g.bench_function("ring_quic_header_protection", |b| {
        b.iter(|| ring_quic_step(black_box(&mut key)))
    });
    g.bench_function("block_only_aes_crate", |b| {
        b.iter(|| aes_crate_block(&s, black_box(&mut key)))
    });
    g.bench_function("block_only_aws_lc_rs", |b| {
        b.iter(|| aws_lc_block(&s, black_box(&mut key)))
    });
    g.finish();
}

fn aes_block_report() {
    let s = scheduled();
    let mut rounds = [0.0; 21];
    let mut key = BDK;
    let mut ns = |f: &mut dyn FnMut(&mut [u8; 16])| {
        timing::median_ns(&mut rounds, 100_000, &mut || f(black_box(&mut key)))
    };
    let rows = [
        ("aes crate (provkit's step128)", ns(&mut aes_crate_step)),
        ("aws-lc-rs (EncryptingKey::ecb)", ns(&mut aws_lc_step)),
        (
            "ring (QUIC header protection, 5 B out)",
            ns(&mut ring_quic_step),
        ),
    ];
    let blocks = [
        ("aes crate", ns(&mut |k| aes_crate_block(&s, k))),
        ("aws-lc-rs", ns(&mut |k| aws_lc_block(&s, k))),
    ];
    println!();
    println!("AES-128, one new key + one block, ns per call (median of 21 rounds of 100,000):");
    for (name, v) in rows {
        println!("  {name:<40}{v:8.1}");
    }
    println!("one block on a key already scheduled, ns per call:");
    for (name, v) in blocks {
        println!("  {name:<40}{v:8.1}");
    }
    println!(
        "aws-lc-rs / aes crate, new key + block: {:.2}",
        rows[1].1 / rows[0].1
    );
}

criterion_group!(benches, bench, aes_block_bench);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    aes_block_report();
}
