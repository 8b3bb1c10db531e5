//! Shared fixtures for the integration tests: a CA hierarchy from fixed seeds.
#![allow(dead_code)]

use provkit::cert::{self, COMPACT_LEN, CaCert, CaName, CaProfile, DeviceRequest};
use provkit::store::{IdentityKeys, KeyId, MemoryStore};
use provkit::testing::InsecureTestRng;

pub const ROOT_KEY: KeyId = KeyId(1);
pub const INTERMEDIATE_KEY: KeyId = KeyId(2);
pub const DEVICE_KEY: KeyId = KeyId(10);
/// 2024-01-01T00:00:00Z
pub const T0: u64 = 1_704_067_200;
/// 2025-06-01T12:00:00Z
pub const ISSUED: u64 = 1_748_779_200;
pub const NOW: u64 = 1_760_000_000;
pub const SERIAL: u64 = 0x8000_0000_0000_002a;

pub type Store = MemoryStore<8, 4, 128>;

/// A root, an intermediate and one device, all deterministic.
pub struct Pki {
    pub ca_store: Store,
    pub device_store: Store,
    pub root_der: Vec<u8>,
    pub intermediate_der: Vec<u8>,
    pub device: [u8; COMPACT_LEN],
}

impl Pki {
    pub fn new(seed: u64) -> Self {
        let mut rng = InsecureTestRng::new(seed);
        let mut ca_store = Store::new();
        ca_store.generate_p256(ROOT_KEY, &mut rng).unwrap();
        let int_public = ca_store.generate_p256(INTERMEDIATE_KEY, &mut rng).unwrap();
        let mut buf = [0u8; 1024];
        let n = cert::create_root(
            &mut ca_store,
            ROOT_KEY,
            &CaProfile::new(
                CaName::new("Test Root CA").with_organization("provkit test"),
                [0x11; 16],
                T0,
                T0 + 30 * 365 * 86_400,
            )
            .with_path_len(1),
            &mut buf,
        )
        .unwrap();
        let root_der = buf[..n].to_vec();
        let root = CaCert::from_der(&root_der).unwrap();
        let n = cert::create_intermediate(
            &mut ca_store,
            ROOT_KEY,
            &root,
            &int_public,
            &CaProfile::new(
                CaName::new("Test Factory CA 1").with_organization("provkit test"),
                [0x22; 16],
                T0,
                T0 + 10 * 365 * 86_400,
            )
            .with_path_len(0),
            &mut buf,
        )
        .unwrap();
        let intermediate_der = buf[..n].to_vec();
        let intermediate = CaCert::from_der(&intermediate_der).unwrap();
        let mut device_store = Store::new();
        let device_public = device_store.generate_p256(DEVICE_KEY, &mut rng).unwrap();
        let device = cert::issue_device(
            &mut ca_store,
            INTERMEDIATE_KEY,
            &intermediate,
            &DeviceRequest::new(SERIAL, &device_public, ISSUED),
        )
        .unwrap();
        Self {
            ca_store,
            device_store,
            root_der,
            intermediate_der,
            device,
        }
    }

    pub fn root(&self) -> CaCert<'_> {
        CaCert::from_der(&self.root_der).unwrap()
    }

    pub fn intermediate(&self) -> CaCert<'_> {
        CaCert::from_der(&self.intermediate_der).unwrap()
    }

    /// The device certificate expanded to DER.
    pub fn device_der(&self) -> Vec<u8> {
        let c = cert::CompactCert::parse(&self.device).unwrap();
        let issuer = self.intermediate();
        let mut out = vec![0u8; cert::expanded_len(&c, issuer.as_issuer()).unwrap()];
        cert::expand(&c, issuer.as_issuer(), &mut out).unwrap();
        out
    }
}

/// A device with its own key store (identity key at [`DEVICE_KEY`]) and a certificate
/// from the intermediate of `pki`.
pub struct Device {
    pub store: Store,
    pub cert: [u8; COMPACT_LEN],
}

impl Pki {
    /// Manufactures another device with `serial`, its key from `seed`.
    pub fn device(&mut self, serial: u64, seed: u64) -> Device {
        let mut rng = InsecureTestRng::new(seed);
        let mut store = Store::new();
        let public = store.generate_p256(DEVICE_KEY, &mut rng).unwrap();
        let int_der = self.intermediate_der.clone();
        let int = CaCert::from_der(&int_der).unwrap();
        let cert = cert::issue_device(
            &mut self.ca_store,
            INTERMEDIATE_KEY,
            &int,
            &DeviceRequest::new(serial, &public, ISSUED),
        )
        .unwrap();
        Device { store, cert }
    }
}
