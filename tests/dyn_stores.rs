//! The store traits are dyn-compatible: a backend picks its store at run time and hands
//! `&mut dyn KeyStore` (or a `Box<dyn IdentityKeys>`) to protocol code, which takes
//! `S: … + ?Sized`. Here over two store kinds, memory and NOR flash, chosen by name.

use provkit::cert::{self, CaCert, CaName, CaProfile, CompactCert, DeviceRequest};
use provkit::rand_core::CryptoRng;
use provkit::store::flash::{FlashStore, RamFlash};
use provkit::store::{IdentityKeys, KeyId, KeyKind, KeyStore, MemoryStore, RecordId, suite};
use provkit::testing::InsecureTestRng;

/// What a backend's configuration would do: the store kind is data, not a type.
fn open(kind: &str) -> Box<dyn KeyStore> {
    match kind {
        "memory" => Box::new(MemoryStore::<8, 8, 64>::new()),
        "flash" => Box::new(FlashStore::mount(RamFlash::<8192, 1024>::new()).unwrap()),
        other => panic!("no store kind {other}"),
    }
}

#[test]
fn every_store_kind_passes_the_suite_behind_dyn() {
    for kind in ["memory", "flash"] {
        let mut store = open(kind);
        suite::all(&mut *store);
    }
}

/// A CA whose key is in one kind of store issues for a device whose key is in the
/// other, both behind `Box<dyn IdentityKeys>`; the RNG goes in as `&mut dyn CryptoRng`.
#[test]
fn a_ca_and_a_device_on_different_store_kinds_behind_dyn() {
    for (ca_kind, device_kind) in [("memory", "flash"), ("flash", "memory")] {
        let mut rng = InsecureTestRng::new(7);
        let rng: &mut dyn CryptoRng = &mut rng;
        let mut ca_store: Box<dyn IdentityKeys> = open(ca_kind);
        let mut device_store: Box<dyn IdentityKeys> = open(device_kind);
        ca_store.generate_p256(KeyId(1), rng).unwrap();
        let device_public = device_store.generate_p256(KeyId(2), rng).unwrap();

        let profile = CaProfile::new(
            CaName::new("Dyn Root"),
            [3; 16],
            1_700_000_000,
            2_500_000_000,
        );
        let mut der = [0u8; 512];
        let n = cert::create_root(&mut *ca_store, KeyId(1), &profile, &mut der).unwrap();
        let root = CaCert::from_der(&der[..n]).unwrap();
        let request = DeviceRequest::new(42, &device_public, 1_800_000_000);
        let compact = cert::issue_device(&mut *ca_store, KeyId(1), &root, &request).unwrap();
        let device = CompactCert::parse(&compact).unwrap();
        let verified = cert::verify_device(&root, None, &device, 1_800_000_001).unwrap();
        assert_eq!(
            verified.public_key, device_public,
            "{ca_kind} CA, {device_kind} device"
        );

        // The device key signs through the box; the certificate's key verifies it.
        let digest = [9u8; 32];
        let sig = device_store.sign_digest(KeyId(2), &digest).unwrap();
        device_public.verify_digest(&digest, &sig).unwrap();
    }
}

/// Symmetric keys and records through the same boxes.
#[test]
fn symmetric_keys_and_records_behind_dyn() {
    for kind in ["memory", "flash"] {
        let mut store = open(kind);
        let mut rng = InsecureTestRng::new(8);
        store
            .generate_symmetric(KeyId(3), KeyKind::Aes128, &mut rng)
            .unwrap();
        assert_eq!(store.key_kind(KeyId(3)).unwrap(), KeyKind::Aes128);
        let mut block = [0u8; 16];
        store.encrypt_block(KeyId(3), &mut block).unwrap();
        assert_ne!(block, [0u8; 16], "{kind}");
        store
            .write_record(RecordId(1), b"chosen at run time")
            .unwrap();
        let mut buf = [0u8; 32];
        let n = store.read_record(RecordId(1), &mut buf).unwrap();
        assert_eq!(&buf[..n], b"chosen at run time");
    }
}
