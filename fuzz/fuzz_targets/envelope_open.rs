//! Envelope inspect, census, open and rewrap on arbitrary bytes: never panics; whatever
//! opens must open the same way in place and into a buffer (only authentic envelopes,
//! such as the seed, can).
#![no_main]

use libfuzzer_sys::fuzz_target;
use provkit::envelope::{self, Census, Context, Envelopes, KekId, KekRef, KekRing, KekSlot};
use provkit::store::{KeyId, KeyKind, MemoryStore, SymmetricKeys, WrapAlgorithm};

/// The KEK of the committed vector (`tests/data/envelope/vector_v1.json`): 00 01 … 1f.
const KEK: [u8; 32] = {
    let mut k = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        k[i] = i as u8;
        i += 1;
    }
    k
};
const KEK_ID: KekId = KekId(*b"db-keys\0");
const CONTEXT: Context<'static> = Context::new(0x0123_4567_89ab_cdef, b"device-key");

fuzz_target!(|data: &[u8]| {
    let mut store = MemoryStore::<2, 0, 0>::new();
    store
        .import_symmetric(KeyId(1), KeyKind::Aes256, &KEK)
        .expect("fixed KEK imports");
    let mut ring = KekRing::<1>::new();
    ring.add_version(KekSlot {
        kek: KekRef {
            id: KEK_ID,
            version: 1,
        },
        key: KeyId(1),
        wrap: WrapAlgorithm::AesKw,
    })
    .expect("fixed ring");

    let info = envelope::inspect(data);
    let mut census = Census::<2>::new();
    census.add(data);
    assert_eq!(census.unreadable() == 1, info.is_err());

    let mut env = Envelopes::new(&mut store, &ring);
    let mut out = vec![0u8; data.len()];
    let opened = env.open(&CONTEXT, data, &mut out);
    let mut buf = data.to_vec();
    let in_place = env.open_in_place(&CONTEXT, &mut buf).map(|p| p.to_vec());
    match (opened, in_place) {
        (Ok(n), Ok(p)) => assert_eq!(&out[..n], &p[..], "open and open_in_place disagree"),
        (Err(a), Err(b)) => {
            assert_eq!(a, b, "open and open_in_place fail differently");
            assert!(out.iter().all(|b| *b == 0), "plaintext released on failure");
        }
        (a, b) => panic!("open {a:?} vs open_in_place {b:?}"),
    }

    // Rewrap to the same KEK: already current, or an error that leaves the bytes alone.
    let mut buf = data.to_vec();
    if env.rewrap_in_place(&mut buf, KEK_ID).is_err() {
        assert_eq!(buf, data, "failed rewrap changed the envelope");
    }
});
