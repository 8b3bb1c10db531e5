//! The shipment reader on arbitrary bytes: never panics; nothing opens but authentic
//! files (such as the seeds), and every record released has a KCV that matches its
//! re-wrapped key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provkit::envelope::shipment::{self, HEADER_LEN, ShipmentHeader};
use provkit::envelope::{Kcv, KekId, KekRef, KekSlot, hpke};
use provkit::store::{KeyId, KeyInventory, KeyKind, MemoryStore, SymmetricKeys, WrapAlgorithm};

/// The fixed keys of `tests/shipment.rs`, which wrote the seeds.
const MANUFACTURER_IKM: [u8; 32] = [0x11; 32];
const RECIPIENT_IKM: [u8; 32] = [0x22; 32];
const KEK_BYTES: [u8; 32] = [0x33; 32];

fuzz_target!(|data: &[u8]| {
    let mut manufacturer = MemoryStore::<1, 0, 0>::new();
    let manufacturer_pk =
        hpke::derive_key_pair(&mut manufacturer, KeyId(1), &MANUFACTURER_IKM).expect("fixed key");
    let mut authority = MemoryStore::<3, 0, 0>::new();
    hpke::derive_key_pair(&mut authority, KeyId(1), &RECIPIENT_IKM).expect("fixed key");
    authority
        .import_symmetric(KeyId(2), KeyKind::Aes256, &KEK_BYTES)
        .expect("fixed KEK");
    let kek = KekSlot {
        kek: KekRef {
            id: KekId(*b"ta-kek\0\0"),
            version: 1,
        },
        key: KeyId(2),
        wrap: WrapAlgorithm::AesKw,
    };

    if let Some(h) = data.get(..HEADER_LEN) {
        if let Ok(h) = ShipmentHeader::parse(h) {
            let _ = (h.chunk_count(), h.file_len(), h.max_chunk_len());
        }
    }
    let audited = shipment::audit_shipment(data, &manufacturer_pk);

    // Small chunks only (the seeds use 1 and 2 records per chunk), to bound memory.
    let mut scratch = [0u8; 8 * 56 + 16];
    let mut released = Vec::new();
    let result = shipment::open_shipment(
        &mut authority,
        KeyId(1),
        &manufacturer_pk,
        kek,
        data,
        &mut scratch,
        |r| {
            released.push(*r);
            Ok(())
        },
    );
    assert!(scratch.iter().all(|b| *b == 0), "chunk buffer not zeroized");
    if result.is_ok() {
        assert!(audited.is_ok(), "opened but does not audit");
    }
    for r in &released {
        authority
            .unwrap_key(
                kek.key,
                r.wrapped.alg,
                r.wrapped.as_bytes(),
                KeyId(3),
                r.kind,
            )
            .expect("released keys unwrap");
        assert_eq!(
            Kcv::of_stored_key(&mut authority, KeyId(3)).expect("kcv"),
            r.kcv
        );
        authority.delete_key(KeyId(3)).expect("delete");
    }
});
