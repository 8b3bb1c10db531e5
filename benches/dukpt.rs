//! Host-side AES DUKPT: AES-128 PIN working keys derived from an initial key.
//!
//! Two workloads:
//! - `sequential`: counters 1, 2, 3, … (the first 2,000,000 valid counters, mean 10.4
//!   one-bits), as a host sees one busy device;
//! - `random`: 2,000,000 counters drawn uniformly from all valid counters (mean 14.0
//!   one-bits), the worst case.
//!
//! `PROVKIT_DUKPT_BENCH_KEYS=<n>` sets the number of KSNs per workload (default
//! 2,000,000; a smaller count is for smoke runs, its figures are not the project's).
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
//! The C reference, openemv/dukpt, is measured in the same run on the same KSNs: after
//! criterion's figures, the bench compiles `benches/openemv/` (openemv/dukpt's AES DUKPT,
//! with openemv/crypto's MbedTLS and OpenSSL backends, unmodified, see its README.md, and
//! `harness.c`) with `gcc -O2` against the system's libmbedcrypto and libcrypto, one
//! harness per backend the machine has, in temp dirs. MbedTLS keeps an AES context on
//! the stack; openemv's OpenSSL backend sets up a new `EVP_CIPHER_CTX` for every block,
//! about 8× slower here; ratios are against the faster of the two in each round. For each
//! workload it writes the KSNs to a file and runs, in 5 interleaved rounds, one timed
//! pass of the harness over them (`dukpt_aes_derive_txn_key` from the initial key, then
//! the PIN working key by openemv's AES call; the initial key derived once, untimed, as
//! here) and one timed pass of each provkit way; it prints the medians in keys/s and
//! the median of each round's ratio provkit / openemv. Each pass XORs all its working
//! keys; the bench asserts that openemv's and provkit's three checksums agree, so both
//! do the same work. Without gcc, a backend's library (libmbedtls-dev, libssl-dev) or the
//! C files (left out of the published package), it prints why that reference was skipped.
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
//! After criterion's figures (and the C reference's), the same run prints each one's
//! median ns per call.

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

#[path = "support/timing.rs"]
mod timing;
use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use criterion::{Criterion, Throughput, criterion_group};
use provkit::dukpt::{
    AesBdk, AesKsn, HostCache, InitialKey, InitialKeyId, KeyType, WorkingKey, WorkingKeyUsage,
};
use provkit::testing::InsecureTestRng;
use rand_core::Rng;
use std::hint::black_box;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// KSNs per workload, unless `PROVKIT_DUKPT_BENCH_KEYS` says otherwise.
const DEFAULT_KEYS: usize = 2_000_000;
const BDK: [u8; 16] = [
    0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1,
];
const IKID_BYTES: [u8; 8] = [0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56];
const IKID: InitialKeyId = InitialKeyId::new(IKID_BYTES);

fn initial_key() -> InitialKey {
    AesBdk::from_bytes(&BDK).unwrap().initial_key(IKID).unwrap()
}

fn keys() -> usize {
    match std::env::var("PROVKIT_DUKPT_BENCH_KEYS") {
        Ok(v) => v
            .parse()
            .ok()
            .filter(|&n| n > 0)
            .expect("PROVKIT_DUKPT_BENCH_KEYS: a positive number of KSNs"),
        Err(_) => DEFAULT_KEYS,
    }
}

fn sequential() -> Vec<AesKsn> {
    core::iter::successors(Some(AesKsn::new(IKID, 1)), AesKsn::next)
        .take(keys())
        .collect()
}

fn random() -> Vec<AesKsn> {
    let keys = keys();
    let mut rng = InsecureTestRng::new(2024);
    let mut out = Vec::with_capacity(keys);
    while out.len() < keys {
        let c = rng.next_u32();
        if c != 0 && c.count_ones() <= 16 {
            out.push(AesKsn::new(IKID, c));
        }
    }
    out
}

fn workloads() -> [(&'static str, Vec<AesKsn>); 2] {
    [("sequential", sequential()), ("random", random())]
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

    for (name, ksns) in workloads() {
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

// The C reference, openemv/dukpt, measured in the same run on the same KSNs.

/// openemv/crypto's backend for openemv/dukpt: MbedTLS (what openemv's build finds first)
/// or OpenSSL. The bench measures each one the machine has and compares with the faster.
#[derive(Clone, Copy, Debug)]
enum Backend {
    MbedTls,
    OpenSsl,
}

impl Backend {
    const ALL: [Self; 2] = [Self::MbedTls, Self::OpenSsl];

    fn name(self) -> &'static str {
        match self {
            Self::MbedTls => "openemv/dukpt, MbedTLS",
            Self::OpenSsl => "openemv/dukpt, OpenSSL",
        }
    }

    /// The vendored backend's directory under `crypto/`.
    fn dir(self) -> &'static str {
        match self {
            Self::MbedTls => "mbedtls",
            Self::OpenSsl => "openssl",
        }
    }

    fn lib(self) -> &'static str {
        match self {
            Self::MbedTls => "-lmbedcrypto",
            Self::OpenSsl => "-lcrypto",
        }
    }

    /// What to install when the build fails for want of the library.
    fn package(self) -> &'static str {
        match self {
            Self::MbedTls => "MbedTLS (libmbedtls-dev)",
            Self::OpenSsl => "OpenSSL's libcrypto (libssl-dev)",
        }
    }

    /// What gcc compiles, under `benches/openemv/`: the harness and the vendored C files.
    fn sources(self) -> [String; 8] {
        let d = self.dir();
        [
            "harness.c".into(),
            "dukpt/src/dukpt_aes.c".into(),
            format!("crypto/{d}/crypto_aes.c"),
            format!("crypto/{d}/crypto_hmac.c"),
            format!("crypto/{d}/crypto_rand.c"),
            "crypto/generic/crypto_mem.c".into(),
            "crypto/generic/crypto_aes_mac.c".into(),
            "pinblock/src/pinblock.c".into(),
        ]
    }
}

const OPENEMV_INCLUDES: [&str; 4] = [".", "dukpt/src", "crypto/include", "pinblock/src"];
/// `-O2`; C11 without extensions and `-Wall`, as openemv's CMakeLists sets for gcc;
/// `-DNDEBUG`, as CMake's Release build type.
const OPENEMV_CFLAGS: [&str; 4] = ["-O2", "-std=c11", "-Wall", "-DNDEBUG"];
/// Interleaved rounds: each one pass of the harness, then one of each provkit way.
const ROUNDS: usize = 5;

/// The harness, compiled into a temp dir that is removed on drop.
struct Openemv {
    dir: PathBuf,
    exe: PathBuf,
}

impl Drop for Openemv {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Openemv {
    /// Compiles the harness on `backend`; `Err` says why that reference is skipped.
    fn build(backend: Backend) -> Result<Self, String> {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/openemv");
        if !src.join("harness.c").is_file() {
            return Err(format!(
                "{} is absent (the C files are left out of the published package)",
                src.display()
            ));
        }
        let dir = std::env::temp_dir().join(format!(
            "provkit-dukpt-openemv-{}-{}",
            backend.dir(),
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        // From here on, drop removes the dir.
        let this = Self {
            exe: dir.join("harness"),
            dir,
        };
        let out = Command::new("gcc")
            .args(OPENEMV_CFLAGS)
            .args(OPENEMV_INCLUDES.map(|i| format!("-I{}", src.join(i).display())))
            .args(backend.sources().map(|f| src.join(f)))
            .arg(backend.lib())
            .arg("-o")
            .arg(&this.exe)
            .current_dir(&this.dir)
            .output();
        let out = match out {
            Ok(out) => out,
            Err(e) if e.kind() == ErrorKind::NotFound => return Err("gcc not found".into()),
            Err(e) => return Err(format!("cannot run gcc: {e}")),
        };
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            let first = err
                .lines()
                .find(|l| l.contains("fatal error") || l.contains("cannot find"))
                .or_else(|| err.lines().find(|l| l.contains("error")))
                .or_else(|| err.lines().next())
                .unwrap_or("")
                .trim();
            return Err(
                if err.contains(&format!("{}/", backend.dir())) || err.contains(backend.lib()) {
                    format!("{} not found: {first}", backend.package())
                } else {
                    format!("gcc failed: {first}")
                },
            );
        }
        Ok(this)
    }

    /// One harness run, one timed pass over the KSNs in `ksn_file`: keys/s and the hex
    /// XOR of all working keys.
    fn run(&self, ksn_file: &Path) -> Result<(f64, String), String> {
        let out = Command::new(&self.exe)
            .arg(hex(&BDK))
            .arg(hex(&IKID_BYTES))
            .arg(ksn_file)
            .arg("1")
            .output()
            .map_err(|e| format!("cannot run the harness: {e}"))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(format!(
                "the harness failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        let field = |name: &str| {
            stdout
                .split_whitespace()
                .find_map(|t| t.strip_prefix(name)?.strip_prefix('='))
                .ok_or_else(|| format!("no {name} in the harness's output: {stdout}"))
        };
        let keys_per_s = field("keys_per_s")?
            .parse()
            .map_err(|e| format!("keys_per_s: {e}"))?;
        Ok((keys_per_s, field("xor")?.to_owned()))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn xor_into(acc: &mut [u8; 16], key: &WorkingKey) {
    for (a, b) in acc.iter_mut().zip(key.dangerous_expose()) {
        *a ^= b;
    }
}

/// One provkit way: a pass over the KSNs, returning the XOR of all its working keys.
type Pass<'a> = &'a dyn Fn(&[AesKsn]) -> [u8; 16];

/// One timed pass of `f` over `n` KSNs: keys/s and the XOR of all working keys.
fn timed_pass(n: usize, f: &dyn Fn() -> [u8; 16]) -> (f64, [u8; 16]) {
    let t = Instant::now();
    let xor = f();
    (n as f64 / t.elapsed().as_secs_f64(), xor)
}

fn openemv_report() {
    println!();
    let mut references = Vec::new();
    for backend in Backend::ALL {
        match Openemv::build(backend) {
            Ok(openemv) => references.push((backend, openemv)),
            Err(why) => println!("C reference {} skipped: {why}", backend.name()),
        }
    }
    let Some((_, first)) = references.first() else {
        return;
    };
    println!(
        "C reference, same run, same KSNs: openemv/dukpt on openemv/crypto's MbedTLS and \
         OpenSSL backends (system libraries), AES-128 PIN working keys from an AES-128 \
         initial key; M keys/s, medians of {ROUNDS} interleaved rounds of one pass each; \
         provkit / openemv against the faster reference of each round:"
    );
    let ik = initial_key();
    let plain = |ksns: &[AesKsn]| {
        let mut acc = [0; 16];
        for ksn in ksns {
            let k = ik.working_key(ksn, WorkingKeyUsage::PinEncryption, KeyType::Aes128);
            xor_into(&mut acc, &k.unwrap());
        }
        acc
    };
    let cached = |ksns: &[AesKsn]| {
        let mut acc = [0; 16];
        let mut cache = HostCache::new(initial_key());
        for ksn in ksns {
            let k = cache.working_key(ksn, WorkingKeyUsage::PinEncryption, KeyType::Aes128);
            xor_into(&mut acc, &k.unwrap());
        }
        acc
    };
    let batched = |ksns: &[AesKsn]| {
        let mut acc = [0; 16];
        ik.for_each_working_key(
            ksns.iter().copied(),
            WorkingKeyUsage::PinEncryption,
            KeyType::Aes128,
            |_, _, k| xor_into(&mut acc, &k.unwrap()),
        )
        .unwrap();
        acc
    };
    let ways: [(&str, Pass); 3] = [
        ("plain", &plain),
        ("cached", &cached),
        ("batched", &batched),
    ];
    for (name, ksns) in workloads() {
        let file = first.dir.join(format!("{name}.ksn"));
        let bytes: Vec<u8> = ksns.iter().flat_map(AesKsn::to_bytes).collect();
        std::fs::write(&file, bytes).unwrap();
        let mut reference = vec![[0.0; ROUNDS]; references.len()];
        let mut provkit = [[0.0; ROUNDS]; 3];
        let mut ratios = [[0.0; ROUNDS]; 3];
        let mut checksum = String::new();
        for round in 0..ROUNDS {
            let mut best = 0.0f64;
            for (r, (backend, openemv)) in references.iter().enumerate() {
                let (c_keys_per_s, c_xor) = match openemv.run(&file) {
                    Ok(run) => run,
                    Err(why) => {
                        println!("C reference {} skipped: {why}", backend.name());
                        return;
                    }
                };
                if checksum.is_empty() {
                    checksum = c_xor.clone();
                }
                assert_eq!(c_xor, checksum, "{name}: the two openemv backends disagree");
                reference[r][round] = c_keys_per_s;
                best = best.max(c_keys_per_s);
            }
            for (i, (way, f)) in ways.iter().enumerate() {
                let (keys_per_s, xor) = timed_pass(ksns.len(), &|| f(&ksns));
                assert_eq!(
                    hex(&xor),
                    checksum,
                    "{name}: provkit {way} and openemv/dukpt derived different working keys"
                );
                provkit[i][round] = keys_per_s;
                ratios[i][round] = keys_per_s / best;
            }
        }
        println!(
            "  {name}, {} KSNs (mean {:.2} one-bits); XOR of all working keys {checksum}, the \
             same for openemv/dukpt and provkit's three ways",
            ksns.len(),
            mean_ones(&ksns)
        );
        for (r, (backend, _)) in references.iter().enumerate() {
            println!(
                "    {:<26}{:8.3}",
                backend.name(),
                timing::median(&mut reference[r]) / 1e6
            );
        }
        for (i, (way, _)) in ways.iter().enumerate() {
            println!(
                "    {:<26}{:8.3}   provkit / openemv: {:.2}",
                format!("provkit {way}"),
                timing::median(&mut provkit[i]) / 1e6,
                timing::median(&mut ratios[i])
            );
        }
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
    openemv_report();
    aes_block_report();
}
