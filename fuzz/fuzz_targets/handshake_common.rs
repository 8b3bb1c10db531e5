//! Shared fixture for the handshake fuzz targets: a root CA and two devices made from
//! fixed scalars, so every iteration starts from the same, valid state.
#![allow(dead_code)]

use provkit::cert::{self, COMPACT_LEN, CaCert, CaName, CaProfile, DeviceRequest};
use provkit::handshake::PeerPolicy;
use provkit::secret::SecretBytes;
use provkit::store::{IdentityKeys, KeyId, MemoryStore};
use std::sync::OnceLock;

pub const NOW: u64 = 1_800_000_000;
pub const KEY: KeyId = KeyId(1);
pub type Store = MemoryStore<1, 1, 128>;

pub struct Fixture {
    pub root: Vec<u8>,
    pub initiator_cert: [u8; COMPACT_LEN],
    pub responder_cert: [u8; COMPACT_LEN],
}

pub fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let mut ca = MemoryStore::<1, 0, 0>::new();
        ca.import_p256(KEY, &SecretBytes::new([0x11; 32])).unwrap();
        let mut der = [0u8; 512];
        let profile = CaProfile::new(CaName::new("Fuzz Root"), [1; 16], 0, 4_000_000_000);
        let n = cert::create_root(&mut ca, KEY, &profile, &mut der).unwrap();
        let root = der[..n].to_vec();
        let ca_cert = CaCert::from_der(&root).unwrap();
        let mut issue = |scalar: u8, serial: u64| {
            let public = store(scalar).public_key(KEY).unwrap();
            cert::issue_device(
                &mut ca,
                KEY,
                &ca_cert,
                &DeviceRequest::new(serial, &public, NOW),
            )
            .unwrap()
        };
        let initiator_cert = issue(0x22, 1);
        let responder_cert = issue(0x33, 2);
        Fixture {
            root,
            initiator_cert,
            responder_cert,
        }
    })
}

/// A device key store holding the identity key made from `scalar`.
pub fn store(scalar: u8) -> Store {
    let mut s = Store::new();
    s.import_p256(KEY, &SecretBytes::new([scalar; 32])).unwrap();
    s
}

pub fn with_policy<T>(f: impl FnOnce(&PeerPolicy<'_>) -> T) -> T {
    let root = CaCert::from_der(&fixture().root).unwrap();
    f(&PeerPolicy::new(&root, NOW))
}
