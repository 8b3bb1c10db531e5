//! Two devices from the same factory pair offline, exchange a few records, and pin each
//! other. One is replaced: the survivor refuses the replacement (a genuine device of the
//! same factory) until the factory CA signs a replacement statement, then re-pairs.
//!
//! `cargo run --example device_pairing`

use provkit::cert::{self, CaCert, CaName, CaProfile, CompactCert, DeviceRequest};
use provkit::handshake::{
    self, CredentialMode, Initiator, PeerCredential, PeerPolicy, Replacement, Responder, Session,
};
use provkit::rng::OsRng;
use provkit::store::{IdentityKeys, KeyId, MemoryStore, RecordId};

const KEY: KeyId = KeyId(1);
const PARTNER: RecordId = RecordId(1);
const NOW: u64 = 1_800_000_000;
type Store = MemoryStore<1, 2, 128>;

struct Device {
    name: &'static str,
    store: Store,
    cert: [u8; cert::COMPACT_LEN],
}

fn manufacture(
    name: &'static str,
    serial: u64,
    ca: &mut MemoryStore<1, 0, 0>,
    root: &CaCert<'_>,
    rng: &mut OsRng,
) -> Device {
    let mut store = Store::new();
    let public = store.generate_p256(KEY, rng).expect("key generation");
    let cert = cert::issue_device(
        ca,
        KEY,
        root,
        &DeviceRequest::new(serial, &public, NOW - 86_400),
    )
    .expect("issue");
    Device { name, store, cert }
}

/// Runs a handshake; each side resolves by-reference credentials from its pinned partner.
fn pair(
    a: &mut Device,
    b: &mut Device,
    policy: &PeerPolicy<'_>,
    rng: &mut OsRng,
) -> provkit::Result<(Session, Session, usize)> {
    // Send a reference only to a peer that has pinned us (in the field: remembered from
    // the last successful pairing); otherwise the whole certificate.
    let mode = |me: &Device, peer: &mut Device| match handshake::pinned(&mut peer.store, PARTNER) {
        Ok(Some(c)) if c == me.cert => CredentialMode::ByReference,
        _ => CredentialMode::ByValue,
    };
    let (mode_a, mode_b) = (mode(a, b), mode(b, a));
    let (a_cert, b_cert) = (a.cert, b.cert);
    let (mut m1, mut m2, mut m3) = ([0u8; 64], [0u8; 256], [0u8; 256]);
    let (hs_a, n1) =
        Initiator::new(KEY, CompactCert::parse(&a_cert)?, mode_a).start(rng, &mut m1)?;
    let (hs_b, n2) = Responder::new(KEY, CompactCert::parse(&b_cert)?, mode_b).respond(
        &mut b.store,
        rng,
        &m1[..n1],
        &mut m2,
    )?;
    let parsed = hs_a.parse_message_2(&m2[..n2])?;
    let peer = resolve(parsed.peer_credential(), &mut a.store)?;
    let verified = parsed.verify_message_2(&CompactCert::parse(&peer)?, policy)?;
    handshake::check_pinned(&mut a.store, PARTNER, &CompactCert::parse(&peer)?, true)?;
    let (session_a, n3) = verified.finish(&mut a.store, &mut m3)?;
    let parsed = hs_b.parse_message_3(&m3[..n3])?;
    let peer = resolve(parsed.peer_credential(), &mut b.store)?;
    let (session_b, _) = parsed.verify_message_3(&CompactCert::parse(&peer)?, policy)?;
    handshake::check_pinned(&mut b.store, PARTNER, &CompactCert::parse(&peer)?, true)?;
    Ok((session_a, session_b, n1 + n2 + n3))
}

fn resolve(
    credential: PeerCredential,
    store: &mut Store,
) -> provkit::Result<[u8; cert::COMPACT_LEN]> {
    match credential {
        PeerCredential::ByValue(c) => Ok(c),
        PeerCredential::ByReference(_) => handshake::pinned(store, PARTNER)?.ok_or(
            provkit::Error::Handshake(provkit::error::HandshakeError::PeerNotPinned),
        ),
    }
}

fn exchange(a: &mut Session, b: &mut Session, a_name: &str, b_name: &str) -> provkit::Result<()> {
    let mut record = [0u8; 128];
    let mut plain = [0u8; 128];
    for i in 0..3 {
        let msg = format!("reading {i} from {a_name}");
        let n = a.seal(msg.as_bytes(), b"telemetry", &mut record)?;
        let m = b.open(&record[..n], b"telemetry", &mut plain)?;
        assert_eq!(&plain[..m], msg.as_bytes());
        let n = b.seal(b"ack", b"telemetry", &mut record)?;
        a.open(&record[..n], b"telemetry", &mut plain)?;
    }
    println!(
        "  {a_name} <-> {b_name}: 3 records each way, {} bytes per 20-byte record",
        20 + handshake::RECORD_OVERHEAD
    );
    Ok(())
}

fn main() -> provkit::Result<()> {
    let mut rng = OsRng; // a real device passes its hardware RNG
    let mut ca = MemoryStore::<1, 0, 0>::new();
    ca.generate_p256(KEY, &mut rng)?;
    let mut der = [0u8; 512];
    let n = cert::create_root(
        &mut ca,
        KEY,
        &CaProfile::new(
            CaName::new("Factory CA").with_organization("Example Devices Ltd"),
            [9; 16],
            0,
            4_000_000_000,
        )
        .with_path_len(0),
        &mut der,
    )?;
    let root = CaCert::from_der(&der[..n])?;
    let policy = PeerPolicy::new(&root, NOW);

    let mut pump = manufacture("pump", 0x1001, &mut ca, &root, &mut rng);
    let mut valve = manufacture("valve", 0x1002, &mut ca, &root, &mut rng);

    println!("first pairing (certificates by value):");
    let (mut s_pump, mut s_valve, bytes) = pair(&mut pump, &mut valve, &policy, &mut rng)?;
    println!("  handshake: {bytes} bytes on the wire; both sides pinned their partner");
    exchange(&mut s_pump, &mut s_valve, pump.name, valve.name)?;

    println!("reconnect (both pinned, credentials by reference):");
    let (mut s_valve, mut s_pump, bytes) = pair(&mut valve, &mut pump, &policy, &mut rng)?;
    println!("  handshake: {bytes} bytes on the wire");
    exchange(&mut s_valve, &mut s_pump, valve.name, pump.name)?;

    println!("the valve is replaced by a new unit:");
    let mut new_valve = manufacture("new valve", 0x1003, &mut ca, &root, &mut rng);
    match pair(&mut pump, &mut new_valve, &policy, &mut rng) {
        Err(e) => println!("  pump refuses the new valve without authorisation: {e}"),
        Ok(_) => panic!("a pinned peer was replaced without authorisation"),
    }
    let new_cert = CompactCert::parse(&new_valve.cert)?;
    let statement = Replacement::sign(&mut ca, KEY, 0x1002, &new_cert)?;
    let bytes = statement.encode();
    println!(
        "  factory CA signs a replacement statement ({} bytes) for serial 0x1002 -> 0x1003",
        bytes.len()
    );
    let verified = handshake::repin(
        &mut pump.store,
        PARTNER,
        &new_cert,
        &Replacement::parse(&bytes)?,
        &policy,
    )?;
    println!("  pump re-pins serial {:#x}", verified.serial);
    let (mut s_pump, mut s_new, bytes) = pair(&mut pump, &mut new_valve, &policy, &mut rng)?;
    println!("  handshake: {bytes} bytes on the wire");
    exchange(&mut s_pump, &mut s_new, pump.name, new_valve.name)?;
    println!("all steps checked out");
    Ok(())
}
