//! Handshake bench: one full handshake (both sides, certificates by value, devices issued
//! by the root) against the sum of its unavoidable P-256 operations, measured in the same
//! run with the same `p256` crate. Target: ratio ≤ 1.10. Also prints each message's size.
//!
//! Unavoidable per handshake: 2 ephemeral key generations, 2 ECDH, 2 signatures,
//! 4 verifications (each side: the peer's certificate and the peer's transcript
//! signature) and 4 point decompressions (each side: the peer's ephemeral and the peer
//! certificate's key, both sent compressed).
//!
//! The same ratio against `p256` hides how fast other stacks are, so the same run also
//! measures the outside (issue #16):
//! - the same floor computed with aws-lc-rs and with ring. Both take the 4 decompressions
//!   from the fastest implementation in the run, provkit-aws-lc's on fiat-crypto's P-256
//!   field: ring has no point decompression (its ECDSA and ECDH accept uncompressed
//!   points only), and AWS-LC's runs on its generic bignum square root, about three
//!   times slower (the per-operation table shows both);
//! - each P-256 operation alone (ephemeral keygen, ECDH, ECDSA sign, verify, point
//!   decompression) on p256 (what provkit uses), aws-lc-rs and ring, in µs;
//! - a rustls 0.23 mutual TLS 1.3 handshake, client and server in one thread with the
//!   records pumped between them in memory: TLS 1.3 only, secp256r1 key exchange only,
//!   TLS13_AES_128_GCM_SHA256 only, ECDSA P-256 SHA-256 the only signature scheme (chain
//!   and CertificateVerify), one P-256 leaf each side issued by one CA (rcgen, at setup),
//!   client certificate required (`WebPkiClientVerifier`), no tickets and no resumption,
//!   so every handshake verifies both chains in full. On rustls's aws-lc-rs provider (its
//!   default) and on its ring provider. It does the same P-256 work as provkit's
//!   handshake, less the decompressions (TLS sends points uncompressed), and counts the
//!   TLS records' bytes each way (record headers and the client's middlebox-compatibility
//!   ChangeCipherSpec included; TCP/IP not, as for provkit's messages).
//!
//! The same handshake also runs with both sides on the `provkit-aws-lc` provider (state
//! machines and identity keys; target ≤ 1.15 × the aws-lc-rs floor and ≤ rustls's time
//! on aws-lc-rs), and the report ends with responder throughput: responder halves per
//! second on one thread and on every core at once, each thread running whole handshakes
//! and counting only its responder's time. The trust anchor is parsed once, outside the
//! timed handshake, as rustls's root store is built once.
//!
//! `cargo bench --bench handshake` prints criterion's figures, then the report: the
//! medians of 31 rounds that interleave every handshake and floor, and each operation's
//! median cost. For a quick run: `-- --warm-up-time 1 --measurement-time 3`.

#[path = "support/timing.rs"]
mod timing;
use criterion::{Criterion, criterion_group};
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p256::elliptic_curve::Generate;
use p256::elliptic_curve::sec1::ToSec1Point;
use provkit::cert::{self, CaCert, CaName, CaProfile, CompactCert, DeviceRequest};
use provkit::handshake::{CredentialMode, Initiator, PeerPolicy, Responder};
use provkit::provider::{CryptoProvider as Provider, RustCrypto};
use provkit::secret::SecretBytes;
use provkit::store::{IdentityKeys, KeyId, MemoryStore};
use provkit::testing::InsecureTestRng;
use provkit_aws_lc::AwsLc as AwsLcProvider;
use rustls::client::Resumption;
use rustls::crypto::{CryptoProvider, SupportedKxGroup, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{
    ClientConfig, ClientConnection, Connection, RootCertStore, ServerConfig, ServerConnection,
    SignatureScheme, SupportedCipherSuite,
};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};
use timing::{median, median_ns};

const NOW: u64 = 1_800_000_000;
const KEY: KeyId = KeyId(1);
/// A device's (or the server's) key store on the provider `P`.
type Store<P = RustCrypto> = MemoryStore<1, 0, 0, P>;

/// Two devices issued by one root; both sides' state machines and identity keys on `P`.
struct Fixture<P: Provider> {
    /// Parsed once, as a server holds its trust anchor (rustls's root store is built once
    /// too); its bytes are leaked for the bench's lifetime.
    root: CaCert<'static>,
    a: (Store<P>, [u8; cert::COMPACT_LEN]),
    b: (Store<P>, [u8; cert::COMPACT_LEN]),
}

fn fixture<P: Provider>() -> Fixture<P> {
    let mut ca = Store::<RustCrypto>::new();
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
    let root: &'static [u8] = Box::leak(der[..n].to_vec().into_boxed_slice());
    let r = CaCert::from_der(root).unwrap();
    let mut device = |scalar: u8, serial| {
        let mut s = Store::<P>::new();
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
    Fixture { root: r, a, b }
}

/// One complete handshake on the provider `P`; returns the three message sizes.
fn handshake<P: Provider>(f: &mut Fixture<P>, rng: &mut InsecureTestRng) -> [usize; 3] {
    let mut unused = Duration::ZERO;
    handshake_timed(f, rng, &mut unused)
}

/// [`handshake`], adding the time the responder's half takes to `responder`: message 1
/// in and message 2 out, then message 3 in and the initiator verified.
fn handshake_timed<P: Provider>(
    f: &mut Fixture<P>,
    rng: &mut InsecureTestRng,
    responder: &mut Duration,
) -> [usize; 3] {
    let policy = PeerPolicy::new(&f.root, NOW);
    let (a_cert, b_cert) = (f.a.1, f.b.1);
    let (mut m1, mut m2, mut m3) = ([0u8; 64], [0u8; 256], [0u8; 256]);
    let (hs_a, n1) = Initiator::<P>::with_provider(
        KEY,
        CompactCert::parse(&a_cert).unwrap(),
        CredentialMode::ByValue,
    )
    .start(rng, &mut m1)
    .unwrap();
    let t = Instant::now();
    let (hs_b, n2) = Responder::<P>::with_provider(
        KEY,
        CompactCert::parse(&b_cert).unwrap(),
        CredentialMode::ByValue,
    )
    .respond(&mut f.b.0, rng, &m1[..n1], &mut m2)
    .unwrap();
    *responder += t.elapsed();
    let parsed = hs_a.parse_message_2(&m2[..n2]).unwrap();
    let peer = parsed.peer_certificate().unwrap();
    let verified = parsed
        .verify_message_2(&CompactCert::parse(&peer).unwrap(), &policy)
        .unwrap();
    let (_sa, n3) = verified.finish(&mut f.a.0, &mut m3).unwrap();
    let t = Instant::now();
    let parsed = hs_b.parse_message_3(&m3[..n3]).unwrap();
    let peer = parsed.peer_certificate().unwrap();
    let (_sb, _) = parsed
        .verify_message_3(&CompactCert::parse(&peer).unwrap(), &policy)
        .unwrap();
    *responder += t.elapsed();
    [n1, n2, n3]
}

/// Responder halves per second on `threads` threads at once, each with its own devices
/// and running whole handshakes for `run`, counting only its responder's time: what a
/// server that only responds would sustain on that many cores (initiators elsewhere).
fn responder_rate<P: Provider>(threads: usize, run: Duration) -> f64 {
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|i| {
                s.spawn(move || {
                    let mut f = fixture::<P>();
                    let mut rng = InsecureTestRng::new(100 + i as u64);
                    let (mut busy, mut n) = (Duration::ZERO, 0u32);
                    let start = Instant::now();
                    while start.elapsed() < run {
                        handshake_timed(&mut f, &mut rng, &mut busy);
                        n += 1;
                    }
                    f64::from(n) / busy.as_secs_f64()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).sum()
    })
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

/// The same work on aws-lc-rs: pre-parsed keys, prehashed signing and verification
/// (`sign_digest`, `verify_digest_sig`), fixed-size signatures, as p256 above.
struct AwsLc {
    rng: aws_lc_rs::rand::SystemRandom,
    signing: aws_lc_rs::signature::EcdsaKeyPair,
    verifying: aws_lc_rs::signature::ParsedPublicKey,
    digest: aws_lc_rs::digest::Digest,
    sig: Vec<u8>,
    /// The peer's ephemeral, parsed (uncompressed) for ECDH.
    peer: aws_lc_rs::agreement::ParsedPublicKey,
    /// A long-term ECDH key: aws-lc-rs's ephemeral keys agree once, this one repeatedly.
    static_dh: aws_lc_rs::agreement::PrivateKey,
    compressed: Vec<u8>,
}

fn aws_lc(p: &Primitives) -> AwsLc {
    use aws_lc_rs::{agreement, digest, signature};
    use signature::KeyPair as _;
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let signing =
        signature::EcdsaKeyPair::generate(&signature::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let verifying = signature::ParsedPublicKey::new(
        &signature::ECDSA_P256_SHA256_FIXED,
        signing.public_key().as_ref(),
    )
    .unwrap();
    let digest = digest::Digest::import_less_safe(&p.digest, &digest::SHA256).unwrap();
    let sig = signing.sign_digest(&digest).unwrap().as_ref().to_vec();
    let uncompressed = p.peer.to_sec1_point(false).as_bytes().to_vec();
    let peer = agreement::ParsedPublicKey::try_from(agreement::UnparsedPublicKey::new(
        &agreement::ECDH_P256,
        uncompressed,
    ))
    .unwrap();
    let static_dh = agreement::PrivateKey::generate(&agreement::ECDH_P256).unwrap();
    AwsLc {
        rng,
        signing,
        verifying,
        digest,
        sig,
        peer,
        static_dh,
        compressed: p.compressed.clone(),
    }
}

fn aws_keygen(a: &AwsLc) {
    let e = aws_lc_rs::agreement::EphemeralPrivateKey::generate(
        &aws_lc_rs::agreement::ECDH_P256,
        &a.rng,
    )
    .unwrap();
    black_box(e.compute_public_key().unwrap());
}

fn aws_ecdh(a: &AwsLc) {
    aws_lc_rs::agreement::agree(
        &a.static_dh,
        a.peer.clone(),
        aws_lc_rs::error::Unspecified,
        |k| {
            black_box(k);
            Ok(())
        },
    )
    .unwrap();
}

fn aws_keygen_ecdh(a: &AwsLc) {
    use aws_lc_rs::agreement;
    let e = agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, &a.rng).unwrap();
    black_box(e.compute_public_key().unwrap());
    agreement::agree_ephemeral(e, a.peer.clone(), aws_lc_rs::error::Unspecified, |k| {
        black_box(k);
        Ok(())
    })
    .unwrap();
}

fn aws_sign(a: &AwsLc) {
    black_box(a.signing.sign_digest(&a.digest).unwrap());
}

fn aws_verify(a: &AwsLc) {
    a.verifying.verify_digest_sig(&a.digest, &a.sig).unwrap();
}

/// Decompression and validation of a compressed SEC1 point, into a key ready to verify.
fn aws_decompress(a: &AwsLc) {
    black_box(
        aws_lc_rs::signature::ParsedPublicKey::new(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
            &a.compressed,
        )
        .unwrap(),
    );
}

/// The fastest decompression in this run: provkit-aws-lc's, on fiat-crypto's P-256 field
/// (AWS-LC's own, [`aws_decompress`], runs on its generic bignum square root at about
/// three times the cost; ring has none). The floors take theirs from here, so that they
/// stay the machine's limit rather than one library's.
fn fast_decompress(a: &AwsLc) {
    black_box(AwsLcProvider::p256_parse_public(&a.compressed).unwrap());
}

/// The unavoidable P-256 work of one handshake, on aws-lc-rs (decompressions on
/// [`fast_decompress`]).
fn unavoidable_aws_lc(a: &AwsLc) {
    for _ in 0..2 {
        aws_keygen_ecdh(a);
        aws_sign(a);
    }
    for _ in 0..4 {
        aws_verify(a);
        fast_decompress(a);
    }
}

/// The same work on ring, whose API is narrower: no prehashed signing or verification
/// (it hashes the 32-byte message: ~0.1 µs), no parsed public key (each verification
/// parses and validates the uncompressed point), no reusable ECDH private key, and no
/// compressed points at all.
struct Ring {
    rng: ring::rand::SystemRandom,
    signing: ring::signature::EcdsaKeyPair,
    /// The signer's public key, uncompressed.
    public: Vec<u8>,
    msg: [u8; 32],
    sig: Vec<u8>,
    /// The peer's ephemeral, uncompressed.
    peer: Vec<u8>,
}

fn ring(p: &Primitives) -> Ring {
    use ring::signature::{self, KeyPair as _};
    let rng = ring::rand::SystemRandom::new();
    let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
    let pkcs8 = signature::EcdsaKeyPair::generate_pkcs8(alg, &rng).unwrap();
    let signing = signature::EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref(), &rng).unwrap();
    let public = signing.public_key().as_ref().to_vec();
    let msg = p.digest;
    let sig = signing.sign(&rng, &msg).unwrap().as_ref().to_vec();
    Ring {
        rng,
        signing,
        public,
        msg,
        sig,
        peer: p.peer.to_sec1_point(false).as_bytes().to_vec(),
    }
}

fn ring_keygen(r: &Ring) {
    let e = ring::agreement::EphemeralPrivateKey::generate(&ring::agreement::ECDH_P256, &r.rng)
        .unwrap();
    black_box(e.compute_public_key().unwrap());
}

fn ring_keygen_ecdh(r: &Ring) {
    use ring::agreement;
    let e = agreement::EphemeralPrivateKey::generate(&agreement::ECDH_P256, &r.rng).unwrap();
    black_box(e.compute_public_key().unwrap());
    let peer = agreement::UnparsedPublicKey::new(&agreement::ECDH_P256, &r.peer);
    agreement::agree_ephemeral(e, &peer, |k| {
        black_box(k);
    })
    .unwrap();
}

fn ring_sign(r: &Ring) {
    black_box(r.signing.sign(&r.rng, &r.msg).unwrap());
}

fn ring_verify(r: &Ring) {
    ring::signature::UnparsedPublicKey::new(&ring::signature::ECDSA_P256_SHA256_FIXED, &r.public)
        .verify(&r.msg, &r.sig)
        .unwrap();
}

/// The unavoidable P-256 work of one handshake on ring, with the 4 decompressions,
/// which ring cannot do, on [`fast_decompress`].
fn unavoidable_ring(r: &Ring, a: &AwsLc) {
    for _ in 0..2 {
        ring_keygen_ecdh(r);
        ring_sign(r);
    }
    for _ in 0..4 {
        ring_verify(r);
        fast_decompress(a);
    }
}

/// A rustls client and server configuration for the mutual TLS 1.3 handshake.
struct Tls {
    client: Arc<ClientConfig>,
    server: Arc<ServerConfig>,
    name: ServerName<'static>,
}

/// The certificates: one P-256 CA, a server leaf and a client leaf, ECDSA P-256 SHA-256.
struct Pki {
    ca: CertificateDer<'static>,
    server: (CertificateDer<'static>, Vec<u8>),
    client: (CertificateDer<'static>, Vec<u8>),
}

fn pki() -> Pki {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
    };
    let ca_key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "Bench TLS CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);
    let leaf = |name: &str, eku| {
        let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap();
        let mut params = CertificateParams::new(vec![name.to_string()]).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![eku];
        let cert = params.signed_by(&key, &issuer).unwrap();
        (cert.der().clone(), key.serialize_der())
    };
    Pki {
        ca: ca_cert.der().clone(),
        server: leaf("server.bench", ExtendedKeyUsagePurpose::ServerAuth),
        client: leaf("client.bench", ExtendedKeyUsagePurpose::ClientAuth),
    }
}

/// `base` (a rustls provider) cut down to one suite, one group and one signature scheme.
fn tls(
    pki: &Pki,
    base: CryptoProvider,
    suite: SupportedCipherSuite,
    kx: &'static dyn SupportedKxGroup,
    sig_algs: WebPkiSupportedAlgorithms,
) -> Tls {
    let provider = Arc::new(CryptoProvider {
        cipher_suites: vec![suite],
        kx_groups: vec![kx],
        signature_verification_algorithms: sig_algs,
        ..base
    });
    let mut roots = RootCertStore::empty();
    roots.add(pki.ca.clone()).unwrap();
    let roots = Arc::new(roots);
    let key = |der: &[u8]| PrivateKeyDer::Pkcs8(der.to_vec().into());

    let verifier = WebPkiClientVerifier::builder_with_provider(roots.clone(), provider.clone())
        .build()
        .unwrap();
    let mut server = ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![pki.server.0.clone()], key(&pki.server.1))
        .unwrap();
    server.send_tls13_tickets = 0;
    server.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});

    let mut client = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(vec![pki.client.0.clone()], key(&pki.client.1))
        .unwrap();
    client.resumption = Resumption::disabled();

    Tls {
        client: Arc::new(client),
        server: Arc::new(server),
        name: ServerName::try_from("server.bench").unwrap(),
    }
}

static AWS_LC_P256_SHA256: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[webpki::aws_lc_rs::ECDSA_P256_SHA256],
    mapping: &[(
        SignatureScheme::ECDSA_NISTP256_SHA256,
        &[webpki::aws_lc_rs::ECDSA_P256_SHA256],
    )],
};

static RING_P256_SHA256: WebPkiSupportedAlgorithms = WebPkiSupportedAlgorithms {
    all: &[webpki::ring::ECDSA_P256_SHA256],
    mapping: &[(
        SignatureScheme::ECDSA_NISTP256_SHA256,
        &[webpki::ring::ECDSA_P256_SHA256],
    )],
};

fn tls_aws_lc(pki: &Pki) -> Tls {
    use rustls::crypto::aws_lc_rs as p;
    tls(
        pki,
        p::default_provider(),
        p::cipher_suite::TLS13_AES_128_GCM_SHA256,
        p::kx_group::SECP256R1,
        AWS_LC_P256_SHA256,
    )
}

// rustls 0.23.48 deprecates the ring provider for its lack of post-quantum groups; this
// bench offers secp256r1 alone.
#[allow(deprecated)]
fn tls_ring(pki: &Pki) -> Tls {
    use rustls::crypto::ring as p;
    tls(
        pki,
        p::default_provider(),
        p::cipher_suite::TLS13_AES_128_GCM_SHA256,
        p::kx_group::SECP256R1,
        RING_P256_SHA256,
    )
}

/// Moves everything `from` has to send into `to`, which processes it; returns the bytes.
fn pump(from: &mut Connection, to: &mut Connection, buf: &mut Vec<u8>) -> usize {
    let mut moved = 0;
    while from.wants_write() {
        buf.clear();
        from.write_tls(buf).unwrap();
        moved += buf.len();
        let mut rd = &buf[..];
        while !rd.is_empty() {
            to.read_tls(&mut rd).unwrap();
            to.process_new_packets().unwrap();
        }
    }
    moved
}

/// One complete rustls handshake, both sides; returns the bytes client → server and
/// server → client, and the two connections (for the setup's checks).
fn tls_handshake(t: &Tls, buf: &mut Vec<u8>) -> ([usize; 2], Connection, Connection) {
    let mut c =
        Connection::Client(ClientConnection::new(t.client.clone(), t.name.clone()).unwrap());
    let mut s = Connection::Server(ServerConnection::new(t.server.clone()).unwrap());
    let mut bytes = [0usize; 2];
    loop {
        let up = pump(&mut c, &mut s, buf);
        let down = pump(&mut s, &mut c, buf);
        bytes[0] += up;
        bytes[1] += down;
        if up == 0 && down == 0 {
            break;
        }
    }
    assert!(!c.is_handshaking() && !s.is_handshaking());
    (bytes, c, s)
}

/// Checks once what the configuration promises: TLS 1.3, secp256r1, AES-128-GCM, the
/// client certificate received. (ECDSA P-256 SHA-256 is the only scheme either side
/// can verify, so the handshake would fail on any other.)
fn check_tls(t: &Tls) -> [usize; 2] {
    let (bytes, c, s) = tls_handshake(t, &mut Vec::new());
    for conn in [&c, &s] {
        assert_eq!(
            conn.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_3)
        );
        assert_eq!(
            conn.negotiated_cipher_suite().unwrap().suite(),
            rustls::CipherSuite::TLS13_AES_128_GCM_SHA256
        );
        assert_eq!(
            conn.negotiated_key_exchange_group().unwrap().name(),
            rustls::NamedGroup::secp256r1
        );
    }
    assert_eq!(s.peer_certificates().unwrap().len(), 1);
    assert_eq!(c.peer_certificates().unwrap().len(), 1);
    bytes
}

fn benches(c: &mut Criterion) {
    let mut f = fixture::<RustCrypto>();
    let mut f_aws = fixture::<AwsLcProvider>();
    let p = primitives();
    let a = aws_lc(&p);
    let r = ring(&p);
    let pki = pki();
    let (t_aws, t_ring) = (tls_aws_lc(&pki), tls_ring(&pki));
    check_tls(&t_aws);
    check_tls(&t_ring);
    let mut buf = Vec::new();
    let mut rng = InsecureTestRng::new(9);
    let mut g = c.benchmark_group("handshake");
    g.bench_function("full_handshake_both_sides_by_value", |b| {
        b.iter(|| handshake(&mut f, &mut rng))
    });
    g.bench_function("full_handshake_both_sides_by_value_provkit_aws_lc", |b| {
        b.iter(|| handshake(&mut f_aws, &mut rng))
    });
    g.bench_function("unavoidable_p256_operations", |b| {
        b.iter(|| unavoidable(&p, &mut rng))
    });
    g.bench_function("unavoidable_p256_operations_aws_lc_rs", |b| {
        b.iter(|| unavoidable_aws_lc(&a))
    });
    g.bench_function("unavoidable_p256_operations_ring", |b| {
        b.iter(|| unavoidable_ring(&r, &a))
    });
    g.bench_function("rustls_mtls13_p256_aws_lc_rs", |b| {
        b.iter(|| tls_handshake(&t_aws, &mut buf).0)
    });
    g.bench_function("rustls_mtls13_p256_ring", |b| {
        b.iter(|| tls_handshake(&t_ring, &mut buf).0)
    });
    g.finish();
}

/// Median cost of each P-256 operation alone, in µs: keygen, ECDH, sign, verify,
/// decompress (`None`: the library cannot).
fn per_operation(p: &Primitives, a: &AwsLc, r: &Ring) -> [[Option<f64>; 5]; 4] {
    let mut rounds = [0.0; 21];
    let mut us = |f: &mut dyn FnMut()| Some(median_ns(&mut rounds, 20, f) / 1000.0);
    let mut rng = InsecureTestRng::new(13);
    let e = p256::ecdh::EphemeralSecret::generate_from_rng(&mut rng);
    let p256 = [
        us(&mut || {
            let e = p256::ecdh::EphemeralSecret::generate_from_rng(&mut rng);
            black_box(e.public_key().to_sec1_point(true));
        }),
        us(&mut || {
            black_box(e.diffie_hellman(&p.peer));
        }),
        us(&mut || {
            let s: p256::ecdsa::Signature = p.signing.sign_prehash(&p.digest).unwrap();
            black_box(s);
        }),
        us(&mut || p.verifying.verify_prehash(&p.digest, &p.sig).unwrap()),
        us(&mut || {
            black_box(p256::PublicKey::from_sec1_bytes(&p.compressed).unwrap());
        }),
    ];
    let aws = [
        us(&mut || aws_keygen(a)),
        us(&mut || aws_ecdh(a)),
        us(&mut || aws_sign(a)),
        us(&mut || aws_verify(a)),
        us(&mut || aws_decompress(a)),
    ];
    let ring_keygen_us = us(&mut || ring_keygen(r));
    // ring has no ECDH key that agrees more than once: ECDH = (keygen + ECDH) - keygen.
    let ring_keygen_ecdh_us = us(&mut || ring_keygen_ecdh(r));
    let ring = [
        ring_keygen_us,
        ring_keygen_ecdh_us
            .zip(ring_keygen_us)
            .map(|(ke, k)| ke - k),
        us(&mut || ring_sign(r)),
        us(&mut || ring_verify(r)),
        None,
    ];
    // provkit's server provider through its trait: what the handshake pays per call
    // (its decompression runs on fiat-crypto's field, not on aws-lc-rs).
    let key = AwsLcProvider::p256_generate(&mut rng);
    let public = AwsLcProvider::p256_public_key(&key);
    let peer = AwsLcProvider::p256_parse_public(&p.compressed).unwrap();
    let sig = AwsLcProvider::p256_sign_digest(&key, &p.digest).unwrap();
    let provider = [
        us(&mut || {
            let k = AwsLcProvider::p256_generate(&mut rng);
            black_box(AwsLcProvider::p256_public_key(&k).to_compressed());
        }),
        us(&mut || {
            black_box(AwsLcProvider::p256_ecdh(&key, &peer).unwrap());
        }),
        us(&mut || {
            black_box(AwsLcProvider::p256_sign_digest(&key, &p.digest).unwrap());
        }),
        us(&mut || AwsLcProvider::p256_verify_digest(&public, &p.digest, &sig).unwrap()),
        us(&mut || {
            black_box(AwsLcProvider::p256_parse_public(&p.compressed).unwrap());
        }),
    ];
    [p256, aws, ring, provider]
}

fn ratio_report() {
    let mut f = fixture::<RustCrypto>();
    let mut f_aws = fixture::<AwsLcProvider>();
    let p = primitives();
    let a = aws_lc(&p);
    let r = ring(&p);
    let pki = pki();
    let (t_aws, t_ring) = (tls_aws_lc(&pki), tls_ring(&pki));
    check_tls(&t_aws);
    check_tls(&t_ring);
    // The bytes on the wire of every rustls handshake measured: ECDSA signatures are DER,
    // 70 to 72 bytes, so the size varies by a few bytes.
    let mut tls_bytes: Vec<[usize; 2]> = Vec::new();
    let mut buf = Vec::new();
    let mut rng = InsecureTestRng::new(11);
    let sizes = handshake(&mut f, &mut rng);
    assert_eq!(handshake(&mut f_aws, &mut rng), sizes);
    let (mut hs, mut raw, mut hs_aws) = (Vec::new(), Vec::new(), Vec::new());
    let (mut raw_aws, mut raw_ring, mut tls_a, mut tls_r) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let ten = |samples: &mut Vec<f64>, f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..10 {
            f();
        }
        samples.push(t.elapsed().as_nanos() as f64 / 10.0);
    };
    for _ in 0..31 {
        let t = Instant::now();
        for _ in 0..10 {
            black_box(handshake(&mut f, &mut rng));
        }
        hs.push(t.elapsed().as_nanos() as f64 / 10.0);
        ten(&mut hs_aws, &mut || {
            black_box(handshake(&mut f_aws, &mut rng));
        });
        let t = Instant::now();
        for _ in 0..10 {
            unavoidable(&p, &mut rng);
        }
        raw.push(t.elapsed().as_nanos() as f64 / 10.0);
        ten(&mut raw_aws, &mut || unavoidable_aws_lc(&a));
        ten(&mut raw_ring, &mut || unavoidable_ring(&r, &a));
        ten(&mut tls_a, &mut || {
            tls_bytes.push(tls_handshake(&t_aws, &mut buf).0);
        });
        ten(&mut tls_r, &mut || {
            tls_bytes.push(tls_handshake(&t_ring, &mut buf).0);
        });
    }
    let (hs, raw, hs_aws) = (median(&mut hs), median(&mut raw), median(&mut hs_aws));
    let (raw_aws, raw_ring) = (median(&mut raw_aws), median(&mut raw_ring));
    let (tls_a, tls_r) = (median(&mut tls_a), median(&mut tls_r));
    let ops = per_operation(&p, &a, &r);
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
    let by_reference = provkit::handshake::MSG1_LEN + r.0 + r.1;
    println!(
        "wire bytes, by reference:          message 1 = {}, message 2 = {}, message 3 = {}, total = {}",
        provkit::handshake::MSG1_LEN,
        r.0,
        r.1,
        by_reference
    );
    println!("full handshake (both sides):       {:.1} us", hs / 1000.0);
    println!("sum of unavoidable P-256 ops:      {:.1} us", raw / 1000.0);
    println!("ratio: {:.3} (target <= 1.10)", hs / raw);

    println!();
    println!("outside references, same run (medians of the same 31 interleaved rounds):");
    println!(
        "floor (2 keygen + 2 ECDH, 2 sign, 4 verify, 4 decompress; decompressions on fiat-crypto, \
         the fastest here), us:  provkit handshake / floor"
    );
    println!(
        "  p256 (provkit's):                      {:8.1}   {:.3}",
        raw / 1000.0,
        hs / raw
    );
    println!(
        "  aws-lc-rs:                             {:8.1}   {:.3}",
        raw_aws / 1000.0,
        hs / raw_aws
    );
    println!(
        "  ring:                                  {:8.1}   {:.3}",
        raw_ring / 1000.0,
        hs / raw_ring
    );
    println!(
        "provkit handshake on provkit-aws-lc (state machines and identity keys), us:  / aws-lc-rs floor"
    );
    println!(
        "  provkit-aws-lc:                        {:8.1}   {:.3} (target <= 1.15)",
        hs_aws / 1000.0,
        hs_aws / raw_aws
    );
    println!(
        "rustls 0.23 mutual TLS 1.3 handshake, both sides in memory (secp256r1, ECDSA P-256 SHA-256,"
    );
    println!(
        "TLS13_AES_128_GCM_SHA256, client certificate required, no resumption), us:  provkit / rustls, \
         provkit-aws-lc / rustls"
    );
    println!(
        "  aws-lc-rs provider:                    {:8.1}   {:.3}   {:.3} (target <= 1.0)",
        tls_a / 1000.0,
        hs / tls_a,
        hs_aws / tls_a
    );
    println!(
        "  ring provider:                         {:8.1}   {:.3}   {:.3}",
        tls_r / 1000.0,
        hs / tls_r,
        hs_aws / tls_r
    );
    let mut up: Vec<f64> = tls_bytes.iter().map(|b| b[0] as f64).collect();
    let mut down: Vec<f64> = tls_bytes.iter().map(|b| b[1] as f64).collect();
    let totals = tls_bytes.iter().map(|b| b[0] + b[1]);
    let (lo, hi) = (totals.clone().min().unwrap(), totals.max().unwrap());
    let (up, down) = (median(&mut up), median(&mut down));
    println!(
        "wire bytes per handshake: provkit by value = {} ({} + {} + {}), by reference = {}",
        sizes.iter().sum::<usize>(),
        sizes[0],
        sizes[1],
        sizes[2],
        by_reference,
    );
    println!(
        "  rustls (TLS records, median of {} handshakes): {} (client -> server {}, server -> client {}; \
         {lo} to {hi}: DER signatures vary)",
        tls_bytes.len(),
        up + down,
        up,
        down
    );
    println!();
    println!("P-256 per operation, us (median of 21 rounds of 20 calls):");
    println!("                      keygen      ECDH      sign    verify  decompress");
    for (name, row) in ["p256", "aws-lc-rs", "ring", "provkit-aws-lc"]
        .iter()
        .zip(ops)
    {
        let cell = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.1}"));
        println!(
            "  {name:<18}{:>8}  {:>8}  {:>8}  {:>8}  {:>10}",
            cell(row[0]),
            cell(row[1]),
            cell(row[2]),
            cell(row[3]),
            cell(row[4])
        );
    }
    println!(
        "  (keygen: ephemeral key and its public point. sign/verify: p256 and aws-lc-rs prehashed, \
         ring hashes the 32-byte message and parses the 65-byte key per verify. ring: ECDH = \
         (keygen + ECDH) - keygen, it has no reusable ECDH key; no decompression API. \
         provkit-aws-lc: the provider's trait calls, its keygen's first use builds the ECDH key, \
         its decompression runs on fiat-crypto's P-256 field)"
    );
    println!();
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let run = Duration::from_secs(2);
    println!(
        "responder halves per second (message 1 -> message 2, message 3 -> verified initiator; \
         whole handshakes run, the responder's time counted; {}s per figure):",
        run.as_secs()
    );
    for (name, one, all) in [
        (
            "provkit (RustCrypto)",
            responder_rate::<RustCrypto>(1, run),
            responder_rate::<RustCrypto>(cores, run),
        ),
        (
            "provkit-aws-lc",
            responder_rate::<AwsLcProvider>(1, run),
            responder_rate::<AwsLcProvider>(cores, run),
        ),
    ] {
        println!("  {name:<22} 1 thread: {one:8.0}/s   {cores} threads: {all:8.0}/s");
    }
}

criterion_group!(handshake_benches, benches);

fn main() {
    handshake_benches();
    Criterion::default().configure_from_args().final_summary();
    ratio_report();
}
