//! Envelope open and rewrap paths (`src/envelope/seal.rs`): a rotation that keeps the
//! wrap algorithm, a KEK missing from the store, and what `Envelopes` prints.
//!
//! Each test names the mutants it kills (see `docs/testing.md`).

use provkit::Error;
use provkit::envelope::{Context, Envelopes, KekId, KekRef, KekRing, KekSlot, Rewrapped};
use provkit::error::StoreError;
use provkit::store::{KeyId, KeyKind, MemoryStore, SymmetricKeys, WrapAlgorithm};
use provkit::testing::InsecureTestRng;

type Store = MemoryStore<4, 0, 0>;
const KEK: KekId = KekId(*b"rows\0\0\0\0");
const CTX: Context<'static> = Context::new(7, b"row");

fn slot(version: u32, key: KeyId) -> KekSlot {
    KekSlot {
        kek: KekRef { id: KEK, version },
        key,
        wrap: WrapAlgorithm::AesKw,
    }
}

/// Kills `info.kek == to.kek && info.wrap == to.wrap` -> `||` in `rewrap_in_place`: a
/// new KEK version with the same wrap algorithm is a different KEK, and the envelope
/// moves to it (then is current, and still opens).
#[test]
fn rotation_to_a_version_with_the_same_wrap_algorithm_moves() {
    let mut rng = InsecureTestRng::new(70);
    let mut store = Store::new();
    store
        .generate_symmetric(KeyId(1), KeyKind::Aes256, &mut rng)
        .unwrap();
    store
        .generate_symmetric(KeyId(2), KeyKind::Aes256, &mut rng)
        .unwrap();
    let mut ring = KekRing::<2>::new();
    ring.add_version(slot(1, KeyId(1))).unwrap();
    let mut e = Envelopes::new(&mut store, &ring)
        .seal_to_vec(KEK, &CTX, &mut rng, b"row 1")
        .unwrap();
    let before = e.clone();
    ring.add_version(slot(2, KeyId(2))).unwrap();
    let mut env = Envelopes::new(&mut store, &ring);
    assert_eq!(
        env.rewrap_in_place(&mut e, KEK).unwrap(),
        Rewrapped::Moved {
            from: slot(1, KeyId(1)).kek,
            to: slot(2, KeyId(2)).kek,
        }
    );
    assert_ne!(e, before);
    assert_eq!(
        env.rewrap_in_place(&mut e, KEK).unwrap(),
        Rewrapped::AlreadyCurrent
    );
    assert_eq!(env.open_to_vec(&CTX, &e).unwrap(), b"row 1");
}

/// Kills the deleted `Error::Store(_) | Error::Unsupported => e` arm in `unwrap_dek`: a
/// KEK the store does not hold is a store error the operator can act on, not a
/// `Crypto` failure that looks like tampering; nothing is released or changed.
#[test]
fn a_kek_missing_from_the_store_is_a_store_error() {
    let mut rng = InsecureTestRng::new(71);
    let mut store = Store::new();
    store
        .generate_symmetric(KeyId(1), KeyKind::Aes256, &mut rng)
        .unwrap();
    let mut ring = KekRing::<2>::new();
    ring.add_version(slot(1, KeyId(1))).unwrap();
    let e = Envelopes::new(&mut store, &ring)
        .seal_to_vec(KEK, &CTX, &mut rng, b"row 2")
        .unwrap();
    // The HSM lost the key (or the ring names the wrong handle).
    let mut empty = Store::new();
    let mut env = Envelopes::new(&mut empty, &ring);
    let not_found = Error::Store(StoreError::NotFound);
    assert_eq!(env.open_to_vec(&CTX, &e), Err(not_found));
    let mut out = vec![0xAA; e.len()];
    assert_eq!(env.open(&CTX, &e, &mut out), Err(not_found));
    assert!(out.iter().all(|&b| b == 0xAA));
    // Rewrapping towards a version whose key is missing leaves the envelope unchanged.
    let mut ring2 = KekRing::<2>::new();
    ring2.add_version(slot(1, KeyId(1))).unwrap();
    ring2.add_version(slot(2, KeyId(9))).unwrap();
    let mut moved = e.clone();
    assert_eq!(
        Envelopes::new(&mut store, &ring2).rewrap_in_place(&mut moved, KEK),
        Err(not_found)
    );
    assert_eq!(moved, e);
}

/// Kills `Envelopes`' `Debug` -> `Ok(Default::default())`: it prints its type and no
/// store contents.
#[test]
fn envelopes_debug_names_the_type_only() {
    let mut store = Store::new();
    let ring = KekRing::<1>::new();
    let env = Envelopes::new(&mut store, &ring);
    assert_eq!(format!("{env:?}"), "Envelopes { .. }");
}
