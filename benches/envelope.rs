//! Envelope benches: seal/open at 64 B, 4 KiB and 1 MiB; open at 1 MiB against raw
//! AES-256-GCM decryption of the same bytes (target: envelope throughput ≥ 0.95 × raw);
//! HPKE single-shot seal/open; shipment open throughput.
//!
//! Raw AES-256-GCM is the `aes-gcm` crate provkit uses; the same run also measures it on
//! aws-lc-rs and ring (issue #16), at the same three sizes, so the envelope's cost reads
//! against the fastest outside AES-GCM too, not only against its own. Each seals
//! plaintext into another buffer and opens ciphertext into another buffer, as the
//! envelope does: aws-lc-rs out of place (`seal_out_of_place_scatter`,
//! `open_separate_gather`); ring, whose AEAD works in place only, copies the input into
//! the output buffer and seals or opens it there (the copy is part of its figure).
//!
//! The envelope also runs on the `provkit-aws-lc` provider, its 1 MiB open paired with
//! raw aws-lc-rs (target: ≥ 0.90 × its throughput).
//!
//! `cargo bench --bench envelope` prints criterion's figures, then the 1 MiB ratios
//! measured by interleaving the workloads (medians of many rounds), then a table of every
//! size. For a quick run:
//! `cargo bench --bench envelope -- --warm-up-time 1 --measurement-time 3`.

#[path = "support/timing.rs"]
mod timing;
use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::aead::{AeadInOut, KeyInit};
use criterion::{Criterion, Throughput, criterion_group};
use provkit::ec::EcPublicKey;
use provkit::envelope::hpke::{self, HpkeAead};
use provkit::envelope::shipment::{
    self, DeviceKeyRecord, KeyUsageCode, ShipmentParams, ShipmentWriter,
};
use provkit::envelope::{self, Context, Envelopes, KekId, KekRef, KekRing, KekSlot};
use provkit::store::{IdentityKeys, KeyId, KeyKind, MemoryStore, SymmetricKeys, WrapAlgorithm};
use provkit::testing::InsecureTestRng;
use provkit_aws_lc::AwsLc as AwsLcProvider;
use std::hint::black_box;
use timing::{median, median_ns};

const KEK: KekId = KekId(*b"bench\0\0\0");
const CTX: Context<'static> = Context::new(42, b"bench");
const MIB: usize = 1 << 20;

type Store = MemoryStore<4, 0, 0>;

fn envelope_fixture() -> (Store, KekRing<1>) {
    let mut rng = InsecureTestRng::new(1);
    let mut store = Store::new();
    store
        .generate_symmetric(KeyId(1), KeyKind::Aes256, &mut rng)
        .unwrap();
    let mut ring = KekRing::new();
    ring.add_version(KekSlot {
        kek: KekRef {
            id: KEK,
            version: 1,
        },
        key: KeyId(1),
        wrap: WrapAlgorithm::AesKw,
    })
    .unwrap();
    (store, ring)
}

/// Raw AES-256-GCM, the same crate and the same in → out decryption the envelope runs.
struct Raw {
    cipher: aes_gcm::Aes256Gcm,
    nonce: aes_gcm::Nonce<aes_gcm::aead::consts::U12>,
    ct: Vec<u8>,
    tag: aes_gcm::Tag,
}

fn raw_fixture(len: usize) -> Raw {
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(&[7u8; 32]).unwrap();
    let nonce = aes_gcm::Nonce::from([9u8; 12]);
    let mut ct = vec![0x5a; len];
    let tag = cipher
        .encrypt_inout_detached(&nonce, b"aad", InOutBuf::from(ct.as_mut_slice()))
        .unwrap();
    Raw {
        cipher,
        nonce,
        ct,
        tag,
    }
}

fn raw_open(raw: &Raw, out: &mut [u8]) {
    raw.cipher
        .decrypt_inout_detached(
            &raw.nonce,
            b"aad",
            InOutBuf::new(black_box(&raw.ct), out).unwrap(),
            &raw.tag,
        )
        .unwrap();
}

/// Raw AES-256-GCM seal with the `aes-gcm` crate, plaintext → another buffer.
fn raw_seal(raw: &Raw, pt: &[u8], out: &mut [u8]) {
    black_box(
        raw.cipher
            .encrypt_inout_detached(
                &raw.nonce,
                b"aad",
                InOutBuf::new(black_box(pt), out).unwrap(),
            )
            .unwrap(),
    );
}

const NONCE: [u8; 12] = [9; 12];

/// Raw AES-256-GCM on aws-lc-rs: the same key, nonce and AAD, out of place both ways.
struct RawAwsLc {
    key: aws_lc_rs::aead::LessSafeKey,
    ct: Vec<u8>,
    tag: Vec<u8>,
}

fn raw_aws_lc_fixture(len: usize) -> RawAwsLc {
    use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7u8; 32]).unwrap());
    let mut ct = vec![0x5a; len];
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(NONCE),
            Aad::from(b"aad"),
            &mut ct,
        )
        .unwrap();
    RawAwsLc {
        key,
        ct,
        tag: tag.as_ref().to_vec(),
    }
}

fn aws_lc_seal(raw: &RawAwsLc, pt: &[u8], out: &mut [u8]) {
    use aws_lc_rs::aead::{Aad, Nonce};
    let mut tag = [0u8; 16];
    raw.key
        .seal_out_of_place_scatter(
            Nonce::assume_unique_for_key(NONCE),
            Aad::from(b"aad"),
            black_box(pt),
            out,
            &[],
            &mut tag,
        )
        .unwrap();
    black_box(tag);
}

fn aws_lc_open(raw: &RawAwsLc, out: &mut [u8]) {
    use aws_lc_rs::aead::{Aad, Nonce};
    raw.key
        .open_separate_gather(
            Nonce::assume_unique_for_key(NONCE),
            Aad::from(b"aad"),
            black_box(&raw.ct),
            &raw.tag,
            out,
        )
        .unwrap();
}

/// Raw AES-256-GCM on ring: the same key, nonce and AAD; ring seals and opens in place
/// only, so each call first copies its input into the output buffer.
struct RawRing {
    key: ring::aead::LessSafeKey,
    ct: Vec<u8>,
    tag: ring::aead::Tag,
}

fn raw_ring_fixture(len: usize) -> RawRing {
    use ring::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7u8; 32]).unwrap());
    let mut ct = vec![0x5a; len];
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(NONCE),
            Aad::from(b"aad"),
            &mut ct,
        )
        .unwrap();
    RawRing { key, ct, tag }
}

fn ring_seal(raw: &RawRing, pt: &[u8], out: &mut [u8]) {
    use ring::aead::{Aad, Nonce};
    out.copy_from_slice(black_box(pt));
    let tag = raw
        .key
        .seal_in_place_separate_tag(Nonce::assume_unique_for_key(NONCE), Aad::from(b"aad"), out)
        .unwrap();
    black_box(tag.as_ref());
}

fn ring_open(raw: &RawRing, out: &mut [u8]) {
    use ring::aead::{Aad, Nonce};
    out.copy_from_slice(black_box(&raw.ct));
    raw.key
        .open_in_place_separate_tag(
            Nonce::assume_unique_for_key(NONCE),
            Aad::from(b"aad"),
            raw.tag,
            out,
            0..,
        )
        .unwrap();
}

fn envelope_benches(c: &mut Criterion) {
    let (mut store, ring) = envelope_fixture();
    let mut rng = InsecureTestRng::new(2);
    let mut g = c.benchmark_group("envelope");
    for (name, len) in [("64B", 64usize), ("4KiB", 4096), ("1MiB", MIB)] {
        let pt = vec![0xA5u8; len];
        let mut sealed = vec![0u8; envelope::sealed_len(len)];
        let mut out = vec![0u8; len];
        g.throughput(Throughput::Bytes(len as u64));
        let mut env = Envelopes::new(&mut store, &ring);
        g.bench_function(format!("seal_{name}"), |b| {
            b.iter(|| {
                env.seal(KEK, &CTX, &mut rng, black_box(&pt), &mut sealed)
                    .unwrap()
            })
        });
        g.bench_function(format!("open_{name}"), |b| {
            b.iter(|| env.open(&CTX, black_box(&sealed), &mut out).unwrap())
        });
        if len == MIB {
            let raw = raw_fixture(len);
            g.bench_function("raw_aes256gcm_open_1MiB", |b| {
                b.iter(|| raw_open(&raw, &mut out))
            });
        }
        let aws = raw_aws_lc_fixture(len);
        g.bench_function(format!("raw_aws_lc_rs_aes256gcm_seal_{name}"), |b| {
            b.iter(|| aws_lc_seal(&aws, &pt, &mut out))
        });
        g.bench_function(format!("raw_aws_lc_rs_aes256gcm_open_{name}"), |b| {
            b.iter(|| aws_lc_open(&aws, &mut out))
        });
        let rr = raw_ring_fixture(len);
        g.bench_function(format!("raw_ring_aes256gcm_seal_{name}"), |b| {
            b.iter(|| ring_seal(&rr, &pt, &mut out))
        });
        g.bench_function(format!("raw_ring_aes256gcm_open_{name}"), |b| {
            b.iter(|| ring_open(&rr, &mut out))
        });
    }
    g.finish();
}

fn hpke_benches(c: &mut Criterion) {
    let mut rng = InsecureTestRng::new(3);
    let mut server = Store::new();
    let pk: EcPublicKey = server.generate_p256(KeyId(1), &mut rng).unwrap();
    let pt = [0x42u8; 64];
    let mut sealed = [0u8; hpke::ENC_LEN + 64 + hpke::TAG_LEN];
    let mut out = [0u8; 64];
    hpke::seal_base(
        &pk,
        HpkeAead::Aes128Gcm,
        b"info",
        b"",
        &pt,
        &mut sealed,
        &mut rng,
    )
    .unwrap();
    let mut g = c.benchmark_group("hpke");
    g.bench_function("seal_base_p256_aes128gcm_64B", |b| {
        b.iter(|| {
            hpke::seal_base(
                &pk,
                HpkeAead::Aes128Gcm,
                b"info",
                b"",
                &pt,
                &mut sealed,
                &mut rng,
            )
            .unwrap()
        })
    });
    hpke::seal_base(
        &pk,
        HpkeAead::Aes128Gcm,
        b"info",
        b"",
        &pt,
        &mut sealed,
        &mut rng,
    )
    .unwrap();
    g.bench_function("open_base_p256_aes128gcm_64B", |b| {
        b.iter(|| {
            hpke::open_base(
                &mut server,
                KeyId(1),
                HpkeAead::Aes128Gcm,
                b"info",
                b"",
                black_box(&sealed),
                &mut out,
            )
            .unwrap()
        })
    });
    g.finish();
}

const SHIPMENT_RECORDS: u32 = 10_000;

struct ShipmentFixture {
    file: Vec<u8>,
    manufacturer_pk: EcPublicKey,
    authority: MemoryStore<2, 0, 0>,
    kek: KekSlot,
}

fn shipment_fixture() -> ShipmentFixture {
    let mut rng = InsecureTestRng::new(4);
    let mut manufacturer = MemoryStore::<1, 0, 0>::new();
    let manufacturer_pk = manufacturer.generate_p256(KeyId(1), &mut rng).unwrap();
    let mut authority = MemoryStore::<2, 0, 0>::new();
    let authority_pk = authority.generate_p256(KeyId(1), &mut rng).unwrap();
    authority
        .generate_symmetric(KeyId(2), KeyKind::Aes256, &mut rng)
        .unwrap();
    let params = ShipmentParams::new([1; 16], [2; 16], SHIPMENT_RECORDS);
    let mut buf = vec![0u8; shipment::chunk_buffer_len(256)];
    let (mut w, header) = ShipmentWriter::new(
        &mut manufacturer,
        KeyId(1),
        &authority_pk,
        &params,
        &mut buf,
        &mut rng,
    )
    .unwrap();
    let mut file = header.to_vec();
    for i in 0..SHIPMENT_RECORDS {
        let r = DeviceKeyRecord::generate(
            u64::from(i) + 1,
            u64::from(i),
            KeyUsageCode::INITIAL_DUKPT,
            KeyKind::Aes128,
            &mut rng,
        )
        .unwrap();
        if let Some(chunk) = w.push(&r).unwrap() {
            file.extend_from_slice(chunk);
        }
    }
    file.extend_from_slice(&w.finish(&mut manufacturer).unwrap());
    ShipmentFixture {
        file,
        manufacturer_pk,
        authority,
        kek: KekSlot {
            kek: KekRef {
                id: KekId(*b"ta\0\0\0\0\0\0"),
                version: 1,
            },
            key: KeyId(2),
            wrap: WrapAlgorithm::AesKw,
        },
    }
}

fn open_shipment(f: &mut ShipmentFixture, scratch: &mut [u8]) -> u32 {
    let mut n = 0u32;
    shipment::open_shipment(
        &mut f.authority,
        KeyId(1),
        &f.manufacturer_pk,
        f.kek,
        &f.file,
        scratch,
        |r| {
            black_box(r);
            n += 1;
            Ok(())
        },
    )
    .unwrap();
    n
}

fn shipment_benches(c: &mut Criterion) {
    let mut f = shipment_fixture();
    let mut scratch = vec![0u8; shipment::chunk_buffer_len(256)];
    let mut g = c.benchmark_group("shipment");
    g.sample_size(10);
    g.throughput(Throughput::Elements(u64::from(SHIPMENT_RECORDS)));
    g.bench_function("open_10000_records", |b| {
        b.iter(|| open_shipment(&mut f, &mut scratch))
    });
    g.finish();
}

fn ratio_report() {
    let (mut store, ring) = envelope_fixture();
    let (mut store_aws, _) = envelope_fixture();
    let mut rng = InsecureTestRng::new(5);
    let pt = vec![0xA5u8; MIB];
    let mut env = Envelopes::new(&mut store, &ring);
    let sealed = env.seal_to_vec(KEK, &CTX, &mut rng, &pt).unwrap();
    // The same KEK (same fixture seed) with the payload on the aws-lc-rs provider.
    let mut env_aws = Envelopes::<_, _, AwsLcProvider>::with_provider(&mut store_aws, &ring);
    assert_eq!(env_aws.open_to_vec(&CTX, &sealed).unwrap(), pt);
    let raw = raw_fixture(MIB);
    let aws = raw_aws_lc_fixture(MIB);
    let rr = raw_ring_fixture(MIB);
    let mut out = vec![0u8; MIB];
    let (mut a, mut b) = (vec![0.0; 11], vec![0.0; 11]);
    let (mut envelope_ns, mut raw_ns, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    let (mut aws_ns, mut aws_ratios, mut ring_ns, mut ring_ratios) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut env_aws_ns, mut env_aws_ratios) = (Vec::new(), Vec::new());
    // Back-to-back pairs: drift from other load on the machine hits both sides of a pair.
    for _ in 0..15 {
        let e = median_ns(&mut a, 2, &mut || {
            env.open(&CTX, black_box(&sealed), &mut out).unwrap();
        });
        let r = median_ns(&mut b, 2, &mut || raw_open(&raw, &mut out));
        envelope_ns.push(e);
        raw_ns.push(r);
        ratios.push(r / e);
        // The outside libraries, each paired with an envelope measurement of its own.
        let e = median_ns(&mut a, 2, &mut || {
            env.open(&CTX, black_box(&sealed), &mut out).unwrap();
        });
        let r = median_ns(&mut b, 2, &mut || aws_lc_open(&aws, &mut out));
        aws_ns.push(r);
        aws_ratios.push(r / e);
        let e = median_ns(&mut a, 2, &mut || {
            env.open(&CTX, black_box(&sealed), &mut out).unwrap();
        });
        let r = median_ns(&mut b, 2, &mut || ring_open(&rr, &mut out));
        ring_ns.push(r);
        ring_ratios.push(r / e);
        // The envelope on provkit-aws-lc against raw aws-lc-rs.
        let e = median_ns(&mut a, 2, &mut || {
            env_aws.open(&CTX, black_box(&sealed), &mut out).unwrap();
        });
        let r = median_ns(&mut b, 2, &mut || aws_lc_open(&aws, &mut out));
        env_aws_ns.push(e);
        env_aws_ratios.push(r / e);
    }
    let (e, r, ratio) = (
        median(&mut envelope_ns),
        median(&mut raw_ns),
        median(&mut ratios),
    );
    let gbps = |ns: f64| MIB as f64 / ns; // bytes per ns = GB/s
    println!();
    println!(
        "envelope open 1 MiB:     {:8.1} us  ({:.2} GB/s)",
        e / 1000.0,
        gbps(e)
    );
    println!(
        "raw AES-256-GCM 1 MiB:   {:8.1} us  ({:.2} GB/s)",
        r / 1000.0,
        gbps(r)
    );
    println!("envelope / raw throughput (median of 15 paired rounds): {ratio:.3} (target >= 0.95)");

    let (aws_r, aws_ratio) = (median(&mut aws_ns), median(&mut aws_ratios));
    let (ring_r, ring_ratio) = (median(&mut ring_ns), median(&mut ring_ratios));
    println!();
    println!("outside references, same run (raw AES-256-GCM open, 1 MiB, in -> out):");
    println!(
        "aws-lc-rs open 1 MiB:    {:8.1} us  ({:.2} GB/s)   envelope / aws-lc-rs throughput: {:.3}",
        aws_r / 1000.0,
        gbps(aws_r),
        aws_ratio
    );
    println!(
        "ring open 1 MiB:         {:8.1} us  ({:.2} GB/s)   envelope / ring throughput:      {:.3}",
        ring_r / 1000.0,
        gbps(ring_r),
        ring_ratio
    );
    println!(
        "(ring: a copy into the output, then open in place; each ratio: median of 15 rounds, each paired with its own envelope measurement)"
    );
    let (ea, ea_ratio) = (median(&mut env_aws_ns), median(&mut env_aws_ratios));
    println!();
    println!("the envelope on the provkit-aws-lc provider (Envelopes::with_provider):");
    println!(
        "envelope open 1 MiB:     {:8.1} us  ({:.2} GB/s)   envelope / aws-lc-rs throughput: {:.3} (target >= 0.90)",
        ea / 1000.0,
        gbps(ea),
        ea_ratio
    );
    size_table(&mut store, &ring);
}

/// Every size: envelope and raw AES-256-GCM seal and open on the three libraries, µs
/// (medians of 21 rounds), and envelope open's throughput as a fraction of each raw open.
fn size_table(store: &mut Store, ring: &KekRing<1>) {
    let mut rng = InsecureTestRng::new(6);
    let mut env = Envelopes::new(store, ring);
    println!();
    println!(
        "AES-256-GCM by size, us (median of 21 rounds); open/X: envelope open's throughput / X's raw open"
    );
    let header = [
        "env seal",
        "env open",
        "aes-gcm seal",
        "aes-gcm open",
        "aws-lc seal",
        "aws-lc open",
        "ring seal",
        "ring open",
        "open/aes-gcm",
        "open/aws-lc",
        "open/ring",
    ];
    print!("  {:<6}", "size");
    for h in header {
        print!("{h:>14}");
    }
    println!();
    for (name, len) in [("64B", 64usize), ("4KiB", 4096), ("1MiB", MIB)] {
        let pt = vec![0xA5u8; len];
        let mut sealed = vec![0u8; envelope::sealed_len(len)];
        let mut out = vec![0u8; len];
        let (raw, aws, rr) = (
            raw_fixture(len),
            raw_aws_lc_fixture(len),
            raw_ring_fixture(len),
        );
        let calls = u32::try_from((1 << 22) / (len + 4096)).unwrap().max(2);
        let mut rounds = [0.0; 21];
        let mut us = |f: &mut dyn FnMut()| median_ns(&mut rounds, calls, f) / 1000.0;
        let env_seal = us(&mut || {
            env.seal(KEK, &CTX, &mut rng, black_box(&pt), &mut sealed)
                .unwrap();
        });
        let env_open = us(&mut || {
            env.open(&CTX, black_box(&sealed), &mut out).unwrap();
        });
        let row = [
            env_seal,
            env_open,
            us(&mut || raw_seal(&raw, &pt, &mut out)),
            us(&mut || raw_open(&raw, &mut out)),
            us(&mut || aws_lc_seal(&aws, &pt, &mut out)),
            us(&mut || aws_lc_open(&aws, &mut out)),
            us(&mut || ring_seal(&rr, &pt, &mut out)),
            us(&mut || ring_open(&rr, &mut out)),
        ];
        print!("  {name:<6}");
        for us in row {
            print!("{us:>14.2}");
        }
        for raw_open in [row[3], row[5], row[7]] {
            print!("{:>14.3}", raw_open / env_open);
        }
        println!();
    }
}

criterion_group!(benches, envelope_benches, hpke_benches, shipment_benches);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    ratio_report();
}
