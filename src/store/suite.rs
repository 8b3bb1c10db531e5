//! A conformance suite that any key-store implementation runs against itself.
//!
//! Each function takes a fresh, empty store and panics with a message naming the broken
//! obligation. Call the ones matching the traits your store implements, from a test:
//!
//! ```
//! use provkit::store::{suite, MemoryStore};
//!
//! suite::all(&mut MemoryStore::<16, 8, 256>::new());
//! ```
//!
//! Key ids from 0x5000_0000 and record ids from 0x5000_0000 are used; a store backed by
//! shared infrastructure should give the suite its own namespace.

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::missing_panics_doc,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use crate::ec::{EcPublicKey, sha256};
use crate::error::{Error, StoreError};
use crate::secret::SecretBytes;
use crate::store::{
    IdentityKeys, KeyId, KeyKind, KeyStore, RecordId, Records, SymmetricKeys, WrapAlgorithm,
};
use crate::testing::InsecureTestRng;

const BASE: u32 = 0x5000_0000;

fn is_store_err<T>(r: &crate::Result<T>, e: StoreError) -> bool {
    matches!(r, Err(Error::Store(x)) if *x == e)
}

/// Runs every part of the suite.
pub fn all<S: KeyStore + ?Sized>(store: &mut S) {
    identity_keys(store);
    symmetric_keys(store);
    records(store);
}

/// [`IdentityKeys`]: generation, signing, ECDH, kinds, no overwrite, deletion.
pub fn identity_keys<S: IdentityKeys + ?Sized>(store: &mut S) {
    let mut rng = InsecureTestRng::new(0x5EED);
    let a = KeyId(BASE + 1);
    let b = KeyId(BASE + 2);
    let pa = store.generate_p256(a, &mut rng).expect("generate_p256");
    assert_eq!(store.key_kind(a).expect("key_kind"), KeyKind::P256);
    assert_eq!(
        store.public_key(a).expect("public_key"),
        pa,
        "public key is stable"
    );
    assert!(
        is_store_err(&store.generate_p256(a, &mut rng), StoreError::AlreadyExists),
        "generating over an existing id must fail with AlreadyExists"
    );
    assert_eq!(
        store.public_key(a).expect("public_key"),
        pa,
        "failed generate changed key"
    );

    let digest = sha256(b"provkit store suite");
    let sig = store.sign_digest(a, &digest).expect("sign_digest");
    pa.verify_digest(&digest, &sig)
        .expect("signature verifies under the public key");
    let other = sha256(b"another message");
    assert!(
        pa.verify_digest(&other, &sig).is_err(),
        "signature bound to the digest"
    );

    // ECDH agrees both ways.
    let scalar = SecretBytes::new([0x11; 32]);
    let pb = match store.import_p256(b, &scalar) {
        Ok(pb) => Some(pb),
        Err(Error::Unsupported) => None,
        Err(e) => panic!("import_p256: {e}"),
    };
    if let Some(pb) = pb {
        let ab = store.ecdh(a, &pb).expect("ecdh a*B");
        let ba = store.ecdh(b, &pa).expect("ecdh b*A");
        assert!(
            bool::from(subtle::ConstantTimeEq::ct_eq(&ab, &ba)),
            "ECDH must agree"
        );
        assert!(
            is_store_err(&store.import_p256(b, &scalar), StoreError::AlreadyExists),
            "import over an existing id must fail"
        );
        assert!(
            store
                .import_p256(KeyId(BASE + 3), &SecretBytes::new([0; 32]))
                .is_err(),
            "a zero scalar must be rejected"
        );
        store.delete_key(b).expect("delete");
        assert!(
            is_store_err(&store.public_key(b), StoreError::NotFound),
            "deleted key gone"
        );
    }

    let missing = KeyId(BASE + 99);
    assert!(is_store_err(
        &store.sign_digest(missing, &digest),
        StoreError::NotFound
    ));
    assert!(is_store_err(&store.key_kind(missing), StoreError::NotFound));
    assert!(is_store_err(
        &store.delete_key(missing),
        StoreError::NotFound
    ));
    let p = EcPublicKey::from_sec1(&pa.to_uncompressed()).expect("roundtrip point");
    assert!(is_store_err(&store.ecdh(missing, &p), StoreError::NotFound));
    store.delete_key(a).expect("delete a");
}

/// [`SymmetricKeys`]: AES block (FIPS-197 vector), key wrap (RFC 3394 vector), wrap of
/// stored keys, unwrap into the store, integrity failure, kinds.
pub fn symmetric_keys<S: SymmetricKeys + ?Sized>(store: &mut S) {
    let k = KeyId(BASE + 10);
    // FIPS-197 appendix C.1.
    let key: [u8; 16] = core::array::from_fn(|i| i as u8);
    store
        .import_symmetric(k, KeyKind::Aes128, &key)
        .expect("import AES-128");
    assert_eq!(store.key_kind(k).expect("kind"), KeyKind::Aes128);
    let mut block: [u8; 16] = core::array::from_fn(|i| (i as u8) * 0x11);
    store.encrypt_block(k, &mut block).expect("encrypt_block");
    assert_eq!(
        block,
        [
            0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30, 0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4,
            0xc5, 0x5a
        ],
        "AES-128 block must match FIPS-197 C.1"
    );
    assert!(
        store.encrypt_block(k, &mut [0u8; 8]).is_err(),
        "wrong block size rejected"
    );
    assert!(
        is_store_err(
            &store.import_symmetric(k, KeyKind::Aes128, &key),
            StoreError::AlreadyExists
        ),
        "import over existing id must fail"
    );
    assert!(
        store
            .import_symmetric(KeyId(BASE + 11), KeyKind::Aes256, &key)
            .is_err(),
        "length must match kind"
    );

    // RFC 3394 4.1: 128-bit KEK wraps 128-bit key data.
    let mut out = [0u8; 24];
    let plain: [u8; 16] = core::array::from_fn(|i| (i as u8) * 0x11);
    let n = store
        .wrap_bytes(k, WrapAlgorithm::AesKw, &plain, &mut out)
        .expect("wrap");
    assert_eq!(n, 24);
    assert_eq!(
        out,
        [
            0x1F, 0xA6, 0x8B, 0x0A, 0x81, 0x12, 0xB4, 0x47, 0xAE, 0xF3, 0x4B, 0xD8, 0xFB, 0x5A,
            0x7B, 0x82, 0x9D, 0x3E, 0x86, 0x23, 0x71, 0xD2, 0xCF, 0xE5
        ],
        "AES-KW must match RFC 3394 4.1"
    );
    let mut back = [0u8; 16];
    let m = store
        .unwrap_bytes(k, WrapAlgorithm::AesKw, &out, &mut back)
        .expect("unwrap");
    assert_eq!(&back[..m], &plain);
    let mut tampered = out;
    tampered[5] ^= 1;
    assert_eq!(
        store.unwrap_bytes(k, WrapAlgorithm::AesKw, &tampered, &mut back),
        Err(Error::Crypto),
        "tampered wrap must fail with Crypto"
    );
    assert!(
        store
            .wrap_bytes(k, WrapAlgorithm::AesKw, &plain, &mut [0u8; 8])
            .is_err()
    );
    wrap_length_limits(store, k, &key);

    // Stored key leaves only wrapped, and comes back in under a new id.
    let mut rng = InsecureTestRng::new(7);
    let dek = KeyId(BASE + 12);
    store
        .generate_symmetric(dek, KeyKind::Aes256, &mut rng)
        .expect("generate AES-256");
    let mut wrapped = [0u8; 40];
    let wn = store
        .wrap_key(k, WrapAlgorithm::AesKwp, dek, &mut wrapped)
        .expect("wrap_key");
    assert_eq!(wn, 40);
    let dek2 = KeyId(BASE + 13);
    store
        .unwrap_key(k, WrapAlgorithm::AesKwp, &wrapped, dek2, KeyKind::Aes256)
        .expect("unwrap_key");
    let mut b1 = [0x42u8; 16];
    let mut b2 = [0x42u8; 16];
    store.encrypt_block(dek, &mut b1).expect("dek block");
    store.encrypt_block(dek2, &mut b2).expect("dek2 block");
    assert_eq!(b1, b2, "unwrapped key must equal the original");
    assert!(
        is_store_err(
            &store.unwrap_key(k, WrapAlgorithm::AesKwp, &wrapped, dek2, KeyKind::Aes256),
            StoreError::AlreadyExists
        ),
        "unwrap_key must not overwrite"
    );
    assert!(is_store_err(
        &store.wrap_key(k, WrapAlgorithm::AesKwp, KeyId(BASE + 98), &mut wrapped),
        StoreError::NotFound
    ));
    for id in [k, dek, dek2] {
        store.delete_key(id).expect("delete");
    }
    assert!(is_store_err(
        &store.encrypt_block(k, &mut block),
        StoreError::NotFound
    ));
}

fn is_invalid_length<T>(r: &crate::Result<T>) -> bool {
    matches!(r, Err(Error::Decode(d)) if d.kind == crate::error::DecodeErrorKind::InvalidLength)
}

/// SP 800-38F length limits under the AES-128 KEK `k` (whose bytes are `kek`): a store
/// refuses every length KW or KWP never produces, before any cipher work.
fn wrap_length_limits<S: SymmetricKeys + ?Sized>(store: &mut S, k: KeyId, kek: &[u8; 16]) {
    use aes::cipher::KeyInit;
    // A one-semiblock "KW" output (what RFC 3394's algorithm gives for 8 bytes): its
    // integrity check passes, so only the length rule keeps an 8-byte key out.
    let mut short = [0u8; 16];
    aes_kw::KwAes128::new_from_slice(kek)
        .expect("AES-128 KEK")
        .wrap_key(&[0x5A; 8], &mut short)
        .expect("raw 8-byte KW");
    let mut out = [0u8; 64];
    assert!(
        is_invalid_length(&store.unwrap_bytes(k, WrapAlgorithm::AesKw, &short, &mut out)),
        "KW unwrap of 16 bytes (an 8-byte key) must fail with InvalidLength"
    );
    for len in [0usize, 8, 20, 23, 25, 33] {
        assert!(
            is_invalid_length(&store.unwrap_bytes(
                k,
                WrapAlgorithm::AesKw,
                &out[..len],
                &mut [0; 64]
            )),
            "KW unwrap of {len} bytes must fail with InvalidLength"
        );
    }
    for len in [0usize, 8, 15, 17, 31] {
        assert!(
            is_invalid_length(&store.unwrap_bytes(
                k,
                WrapAlgorithm::AesKwp,
                &out[..len],
                &mut [0; 64]
            )),
            "KWP unwrap of {len} bytes must fail with InvalidLength"
        );
    }
    for len in [0usize, 8, 15, 17, 23] {
        assert!(
            is_invalid_length(&store.wrap_bytes(
                k,
                WrapAlgorithm::AesKw,
                &[7; 24][..len],
                &mut out
            )),
            "KW wrap of {len} bytes must fail with InvalidLength"
        );
    }
    assert!(
        is_invalid_length(&store.wrap_bytes(k, WrapAlgorithm::AesKwp, &[], &mut out)),
        "KWP wrap of nothing must fail with InvalidLength"
    );
    // KWP's smallest output, one AES block (8 bytes: some HSMs pad shorter input wrongly).
    let n = store
        .wrap_bytes(k, WrapAlgorithm::AesKwp, &[0xA5; 8], &mut out)
        .expect("KWP wrap of 8 bytes");
    assert_eq!(n, 16, "KWP wraps 8 bytes into 16");
    let wrapped: [u8; 16] = out[..16].try_into().unwrap();
    let mut back = [0u8; 8];
    assert_eq!(
        store.unwrap_bytes(k, WrapAlgorithm::AesKwp, &wrapped, &mut back),
        Ok(8),
        "KWP unwraps 16 bytes into 8"
    );
    assert_eq!(back, [0xA5; 8]);
    assert!(
        matches!(
            store.unwrap_bytes(k, WrapAlgorithm::AesKwp, &wrapped, &mut [0u8; 7]),
            Err(Error::BufferTooSmall { .. })
        ),
        "unwrap needs room for the padded plaintext"
    );
    assert!(
        matches!(
            store.wrap_bytes(k, WrapAlgorithm::AesKwp, &[0xA5; 8], &mut [0u8; 15]),
            Err(Error::BufferTooSmall { .. })
        ),
        "wrap needs room for the whole output"
    );
    // unwrap_key takes exactly the length a key of the kind wraps to.
    let id = KeyId(BASE + 14);
    let mut long = [0u8; 56];
    let n = store
        .wrap_bytes(k, WrapAlgorithm::AesKw, &[3; 48], &mut long)
        .expect("KW wrap of 48 bytes");
    assert_eq!(n, 56);
    assert!(
        store
            .unwrap_key(k, WrapAlgorithm::AesKw, &long, id, KeyKind::Aes256)
            .is_err(),
        "unwrap_key of 56 bytes into an AES-256 key must fail"
    );
    assert!(
        is_invalid_length(&store.unwrap_key(k, WrapAlgorithm::AesKw, &short, id, KeyKind::Aes128)),
        "unwrap_key of 16 KW bytes must fail with InvalidLength"
    );
    assert!(
        is_store_err(&store.key_kind(id), StoreError::NotFound),
        "a refused unwrap_key stores nothing"
    );
}

/// [`Records`]: create, replace, read back, buffer too small, delete, not found.
pub fn records<S: Records + ?Sized>(store: &mut S) {
    assert!(
        store.max_record_len() >= 64,
        "stores must accept records of 64 bytes"
    );
    let r = RecordId(BASE + 20);
    let mut out = [0u8; 64];
    assert!(is_store_err(
        &store.read_record(r, &mut out),
        StoreError::NotFound
    ));
    store.write_record(r, b"first value").expect("write");
    let n = store.read_record(r, &mut out).expect("read");
    assert_eq!(&out[..n], b"first value");
    store.write_record(r, b"second").expect("replace");
    let n = store.read_record(r, &mut out).expect("read replaced");
    assert_eq!(&out[..n], b"second", "replace must not leave old bytes");
    let full = [0xA5u8; 64];
    store.write_record(r, &full).expect("write max");
    let n = store.read_record(r, &mut out).expect("read max");
    assert_eq!(&out[..n], &full[..]);
    assert_eq!(
        store.read_record(r, &mut [0u8; 10]),
        Err(Error::buffer_too_small(64)),
        "short buffer reports the needed length"
    );
    let too_big = store.max_record_len() + 1;
    if too_big <= 4096 {
        let big = [0u8; 4096];
        assert!(
            is_store_err(
                &store.write_record(r, &big[..too_big]),
                StoreError::RecordTooLarge
            ),
            "oversize record must fail with RecordTooLarge"
        );
        let n = store
            .read_record(r, &mut out)
            .expect("read after failed write");
        assert_eq!(
            &out[..n],
            &full[..],
            "failed write must not change the record"
        );
    }
    store
        .write_record(RecordId(BASE + 21), b"")
        .expect("empty record");
    assert_eq!(
        store
            .read_record(RecordId(BASE + 21), &mut out)
            .expect("read empty"),
        0
    );
    store.delete_record(r).expect("delete");
    store
        .delete_record(RecordId(BASE + 21))
        .expect("delete empty");
    assert!(is_store_err(
        &store.read_record(r, &mut out),
        StoreError::NotFound
    ));
    assert!(is_store_err(&store.delete_record(r), StoreError::NotFound));
}
