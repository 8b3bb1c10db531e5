//! Certificate benches: chain verification against raw ECDSA verification (target: at
//! most 1.05 × per signature verified), X.509 expansion and import.
//!
//! `cargo bench --bench cert` prints criterion's figures, then the ratio measured by
//! interleaving both workloads (medians of many rounds, so drift affects both alike).

#[path = "support/timing.rs"]
mod timing;
use criterion::{Criterion, criterion_group};
use provkit::cert::{self, CaCert, CaName, CaProfile, CompactCert, DeviceRequest};
use provkit::ec::{EcPublicKey, EcdsaSignature, sha256};
use provkit::store::{IdentityKeys, KeyId, MemoryStore};
use provkit::testing::InsecureTestRng;
use std::hint::black_box;
use timing::{median, median_ns};

struct Fixture {
    root: Vec<u8>,
    intermediate: Vec<u8>,
    device: [u8; cert::COMPACT_LEN],
    expanded: Vec<u8>,
    /// A raw signature and key, for the baseline.
    raw: (EcPublicKey, [u8; 32], EcdsaSignature),
}

const NOW: u64 = 1_760_000_000;

fn fixture() -> Fixture {
    let mut rng = InsecureTestRng::new(42);
    let mut store = MemoryStore::<4, 0, 0>::new();
    store.generate_p256(KeyId(1), &mut rng).unwrap();
    let int_pub = store.generate_p256(KeyId(2), &mut rng).unwrap();
    let profile = |cn, path_len| {
        CaProfile::new(
            CaName::new(cn).with_organization("Bench"),
            [7; 16],
            1_700_000_000,
            2_000_000_000,
        )
        .with_path_len(path_len)
    };
    let mut buf = [0u8; 1024];
    let n = cert::create_root(&mut store, KeyId(1), &profile("Root", 1), &mut buf).unwrap();
    let root = buf[..n].to_vec();
    let r = CaCert::from_der(&root).unwrap();
    let n = cert::create_intermediate(
        &mut store,
        KeyId(1),
        &r,
        &int_pub,
        &profile("Factory", 0),
        &mut buf,
    )
    .unwrap();
    let intermediate = buf[..n].to_vec();
    let i = CaCert::from_der(&intermediate).unwrap();
    let dev_pub = store.generate_p256(KeyId(3), &mut rng).unwrap();
    let device = cert::issue_device(
        &mut store,
        KeyId(2),
        &i,
        &DeviceRequest::new(99, &dev_pub, 1_750_000_000),
    )
    .unwrap();
    let c = CompactCert::parse(&device).unwrap();
    let n = cert::expand(&c, i.as_issuer(), &mut buf).unwrap();
    let expanded = buf[..n].to_vec();
    let digest = sha256(b"baseline");
    let sig = store.sign_digest(KeyId(3), &digest).unwrap();
    Fixture {
        root,
        intermediate,
        device,
        expanded,
        raw: (dev_pub, digest, sig),
    }
}

fn verify_chain(f: &Fixture) {
    let root = CaCert::from_der(&f.root).unwrap();
    let int = CaCert::from_der(&f.intermediate).unwrap();
    let c = CompactCert::parse(&f.device).unwrap();
    black_box(cert::verify_device(&root, Some(&int), &c, NOW).unwrap());
}

fn raw_verify(f: &Fixture) {
    let (key, digest, sig) = &f.raw;
    key.verify_digest(black_box(digest), black_box(sig))
        .unwrap();
}

fn benches(c: &mut Criterion) {
    let f = fixture();
    let mut g = c.benchmark_group("cert");
    g.bench_function("raw_ecdsa_p256_verify", |b| b.iter(|| raw_verify(&f)));
    g.bench_function("chain_verify_root_intermediate_device", |b| {
        b.iter(|| verify_chain(&f))
    });
    let int = CaCert::from_der(&f.intermediate).unwrap();
    let compact = CompactCert::parse(&f.device).unwrap();
    let mut out = [0u8; 1024];
    g.bench_function("decompress_device_key", |b| {
        b.iter(|| black_box(&compact).public_key().unwrap())
    });
    g.bench_function("expand_to_x509", |b| {
        b.iter(|| cert::expand(black_box(&compact), int.as_issuer(), &mut out).unwrap())
    });
    g.bench_function("import_x509", |b| {
        b.iter(|| cert::import_x509(black_box(&f.expanded), int.as_issuer()).unwrap())
    });
    g.finish();
}

fn ratio_report() {
    let f = fixture();
    let (mut a, mut b) = (vec![0.0; 41], vec![0.0; 41]);
    let mut chain = Vec::new();
    let mut raw = Vec::new();
    for _ in 0..5 {
        chain.push(median_ns(&mut a, 20, &mut || verify_chain(&f)));
        raw.push(median_ns(&mut b, 40, &mut || raw_verify(&f)));
    }
    let (chain, raw) = (median(&mut chain), median(&mut raw));
    let per_sig = chain / 2.0 / raw;
    println!();
    println!(
        "chain verify (root -> intermediate -> device, 2 signatures): {:.1} us",
        chain / 1000.0
    );
    println!(
        "raw ECDSA P-256 verify:                                       {:.1} us",
        raw / 1000.0
    );
    println!("ratio per signature verified: {per_sig:.3} (target <= 1.05)");
}

criterion_group!(cert_benches, benches);

fn main() {
    cert_benches();
    Criterion::default().configure_from_args().final_summary();
    ratio_report();
}
