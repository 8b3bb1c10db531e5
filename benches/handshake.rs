//! Handshake bench: one full handshake (both sides, certificates by value, devices issued
//! by the root) against the sum of its unavoidable P-256 operations, measured in the same
//! run with the same `p256` crate. Target: ratio ≤ 1.10. Also prints each message's size.
//!
//! Unavoidable per handshake: 2 ephemeral key generations, 2 ECDH, 2 signatures,
//! 4 verifications (each side: the peer's certificate and the peer's transcript
//! signature) and 4 point decompressions (each side: the peer's ephemeral and the peer
//! certificate's key, both sent compressed).

#[path = "support/timing.rs"]
mod timing;
use criterion::{Criterion, criterion_group};
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p256::elliptic_curve::Generate;
use p256::elliptic_curve::sec1::ToSec1Point;
use provkit::cert::{self, CaCert, CaName, CaProfile, CompactCert, DeviceRequest};
use provkit::handshake::{CredentialMode, Initiator, PeerPolicy, Responder};
use provkit::secret::SecretBytes;
use provkit::store::{IdentityKeys, KeyId, MemoryStore};
use provkit::testing::InsecureTestRng;
use std::hint::black_box;
use std::time::Instant;
use timing::median;

const NOW: u64 = 1_800_000_000;
const KEY: KeyId = KeyId(1);
type Store = MemoryStore<1, 0, 0>;

struct Fixture {
    root: Vec<u8>,
    a: (Store, [u8; cert::COMPACT_LEN]),
    b: (Store, [u8; cert::COMPACT_LEN]),
}

fn fixture() -> Fixture {
    let mut ca = Store::new();
    ca.import_p256(KEY, &SecretBytes::new([0x11; 32])).unwrap();
    let mut der = [0u8; 512];
    let profile = CaProfile::new(
        CaName::new("Factory CA").with_organization("Bench"),
        [1; 16],
        0,
        4_000_000_000,
    )
    .with_path_len(0);
    let n = cert::create_root(&mut ca, KEY, &profile, &mut der).unwrap();
    let root = der[..n].to_vec();
    let r = CaCert::from_der(&root).unwrap();
    let mut device = |scalar: u8, serial| {
        let mut s = Store::new();
        let p = s.import_p256(KEY, &SecretBytes::new([scalar; 32])).unwrap();
        let c = cert::issue_device(
            &mut ca,
            KEY,
            &r,
            &DeviceRequest::new(serial, &p, NOW - 1000),
        )
        .unwrap();
        (s, c)
    };
    let a = device(0x22, 1);
    let b = device(0x33, 2);
    Fixture { root, a, b }
}

/// One complete handshake; returns the three message sizes.
fn handshake(f: &mut Fixture, rng: &mut InsecureTestRng) -> [usize; 3] {
    let root = CaCert::from_der(&f.root).unwrap();
    let policy = PeerPolicy::new(&root, NOW);
    let (a_cert, b_cert) = (f.a.1, f.b.1);
    let (mut m1, mut m2, mut m3) = ([0u8; 64], [0u8; 256], [0u8; 256]);
    let (hs_a, n1) = Initiator::new(
        KEY,
        CompactCert::parse(&a_cert).unwrap(),
        CredentialMode::ByValue,
    )
    .start(rng, &mut m1)
    .unwrap();
    let (hs_b, n2) = Responder::new(
        KEY,
        CompactCert::parse(&b_cert).unwrap(),
        CredentialMode::ByValue,
    )
    .respond(&mut f.b.0, rng, &m1[..n1], &mut m2)
    .unwrap();
    let parsed = hs_a.parse_message_2(&m2[..n2]).unwrap();
    let peer = parsed.peer_certificate().unwrap();
    let verified = parsed
        .verify_message_2(&CompactCert::parse(&peer).unwrap(), &policy)
        .unwrap();
    let (_sa, n3) = verified.finish(&mut f.a.0, &mut m3).unwrap();
    let parsed = hs_b.parse_message_3(&m3[..n3]).unwrap();
    let peer = parsed.peer_certificate().unwrap();
    let (_sb, _) = parsed
        .verify_message_3(&CompactCert::parse(&peer).unwrap(), &policy)
        .unwrap();
    [n1, n2, n3]
}

struct Primitives {
    signing: p256::ecdsa::SigningKey,
    verifying: p256::ecdsa::VerifyingKey,
    sig: p256::ecdsa::Signature,
    digest: [u8; 32],
    peer: p256::PublicKey,
    compressed: Vec<u8>,
}

fn primitives() -> Primitives {
    let mut rng = InsecureTestRng::new(3);
    let signing = p256::ecdsa::SigningKey::generate_from_rng(&mut rng);
    let verifying = *signing.verifying_key();
    let digest = [7u8; 32];
    let sig: p256::ecdsa::Signature = signing.sign_prehash(&digest).unwrap();
    let peer = p256::PublicKey::from(&verifying);
    let compressed = peer.to_sec1_point(true).as_bytes().to_vec();
    Primitives {
        signing,
        verifying,
        sig,
        digest,
        peer,
        compressed,
    }
}

/// The unavoidable P-256 work of one handshake, with the same primitives.
fn unavoidable(p: &Primitives, rng: &mut InsecureTestRng) {
    for _ in 0..2 {
        let e = p256::ecdh::EphemeralSecret::generate_from_rng(rng);
        black_box(e.public_key().to_sec1_point(true));
        black_box(e.diffie_hellman(&p.peer));
        let s: p256::ecdsa::Signature = p.signing.sign_prehash(&p.digest).unwrap();
        black_box(s);
    }
    for _ in 0..4 {
        p.verifying.verify_prehash(&p.digest, &p.sig).unwrap();
        black_box(p256::PublicKey::from_sec1_bytes(&p.compressed).unwrap());
    }
}

fn benches(c: &mut Criterion) {
    let mut f = fixture();
    let p = primitives();
    let mut rng = InsecureTestRng::new(9);
    let mut g = c.benchmark_group("handshake");
    g.bench_function("full_handshake_both_sides_by_value", |b| {
        b.iter(|| handshake(&mut f, &mut rng))
    });
    g.bench_function("unavoidable_p256_operations", |b| {
        b.iter(|| unavoidable(&p, &mut rng))
    });
    g.finish();
}

fn ratio_report() {
    let mut f = fixture();
    let p = primitives();
    let mut rng = InsecureTestRng::new(11);
    let sizes = handshake(&mut f, &mut rng);
    let (mut hs, mut raw) = (Vec::new(), Vec::new());
    for _ in 0..31 {
        let t = Instant::now();
        for _ in 0..10 {
            black_box(handshake(&mut f, &mut rng));
        }
        hs.push(t.elapsed().as_nanos() as f64 / 10.0);
        let t = Instant::now();
        for _ in 0..10 {
            unavoidable(&p, &mut rng);
        }
        raw.push(t.elapsed().as_nanos() as f64 / 10.0);
    }
    let (hs, raw) = (median(&mut hs), median(&mut raw));
    println!();
    println!(
        "wire bytes, certificates by value: message 1 = {}, message 2 = {}, message 3 = {}, total = {}",
        sizes[0],
        sizes[1],
        sizes[2],
        sizes.iter().sum::<usize>()
    );
    let r = (
        CredentialMode::ByReference.msg2_len(),
        CredentialMode::ByReference.msg3_len(),
    );
    println!(
        "wire bytes, by reference:          message 1 = {}, message 2 = {}, message 3 = {}, total = {}",
        provkit::handshake::MSG1_LEN,
        r.0,
        r.1,
        provkit::handshake::MSG1_LEN + r.0 + r.1
    );
    println!("full handshake (both sides):       {:.1} us", hs / 1000.0);
    println!("sum of unavoidable P-256 ops:      {:.1} us", raw / 1000.0);
    println!("ratio: {:.3} (target <= 1.10)", hs / raw);
}

criterion_group!(handshake_benches, benches);

fn main() {
    handshake_benches();
    Criterion::default().configure_from_args().final_summary();
    ratio_report();
}
