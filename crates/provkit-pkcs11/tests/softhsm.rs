//! `Pkcs11Store` against SoftHSM2: the provkit conformance suite, interop with provkit's
//! software implementations, key attributes, error mapping, records, shared modules.
//! Each test runs in its own child process with its own token (see `support/softhsm.rs`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/softhsm.rs"]
mod softhsm;

use provkit::Error;
use provkit::error::{BackendCause, DecodeErrorKind};
use provkit::store::{
    IdentityKeys, KeyId, KeyInventory, KeyKind, MemoryStore, RecordId, Records, StoreError,
    SymmetricKeys, WrapAlgorithm, suite,
};
use provkit::testing::InsecureTestRng;
use provkit_pkcs11::{
    ExportPolicy, KeyRole, KeyRoles, OpenError, Pin, Pkcs11Config, Pkcs11Store, WrapMechanism,
};
use softhsm::{config, export_kek, store, store_with, with_token};

use cryptoki::object::{Attribute, AttributeType, ObjectClass};
use cryptoki::session::Session;

fn bool_attr(session: &Session, id: Vec<u8>, class: ObjectClass, t: AttributeType) -> bool {
    let h = session
        .find_objects(&[Attribute::Id(id), Attribute::Class(class)])
        .unwrap()[0];
    match session.get_attributes(h, &[t]).unwrap().as_slice() {
        [Attribute::Sensitive(b)]
        | [Attribute::Extractable(b)]
        | [Attribute::NeverExtractable(b)]
        | [Attribute::AlwaysSensitive(b)]
        | [Attribute::Token(b)]
        | [Attribute::Decrypt(b)]
        | [Attribute::Encrypt(b)]
        | [Attribute::Wrap(b)]
        | [Attribute::Unwrap(b)]
        | [Attribute::Trusted(b)]
        | [Attribute::WrapWithTrusted(b)] => *b,
        other => panic!("unexpected {other:?}"),
    }
}

fn cka_id(namespace: u32, id: u32) -> Vec<u8> {
    [namespace.to_be_bytes(), id.to_be_bytes()].concat()
}

type Soft = MemoryStore<8, 4, 64>;

/// provkit's conformance suite, except `suite::symmetric_keys`: that part uses one key
/// for `encrypt_block`, `wrap_bytes`, `unwrap_bytes`, `wrap_key` and `unwrap_key`, which is exactly
/// the multi-role key this store refuses (see `key_roles.rs`). The same checks, with one
/// key per role, are in `symmetric_conformance_one_key_per_role`.
#[test]
fn conformance_suite() {
    with_token("conformance_suite", || {
        let mut hsm = store(1, ExportPolicy::WrappedIds(vec![0x5000_0000..=0x5FFF_FFFF]));
        suite::identity_keys(&mut hsm);
        suite::records(&mut hsm);
        // Run twice on the same token: the first run must have cleaned up after itself
        // (deleting every key and record), or AlreadyExists would fail the second.
        suite::identity_keys(&mut hsm);
        suite::records(&mut hsm);
    });
}

/// `suite::symmetric_keys`'s checks with one key per role: FIPS-197 block (derive key),
/// RFC 3394 wrap and unwrap (data KEK), a stored key out under the export KEK and back
/// in under the import KEK (same value, as at a recipient), no overwrite, not found.
#[test]
fn symmetric_conformance_one_key_per_role() {
    with_token("symmetric_conformance_one_key_per_role", || {
        let (derive, data, import, export) = (KeyId(10), KeyId(11), KeyId(12), KeyId(13));
        let transport = [0x5Au8; 32];
        export_kek(1, export, KeyKind::Aes256, Some(&transport));
        let roles = KeyRoles::default()
            .with(11..=11, KeyRole::DataKek)
            .with(12..=12, KeyRole::ImportKek);
        let mut hsm = store_with(1, ExportPolicy::WrappedIds(vec![20..=29]), roles);
        let key: [u8; 16] = core::array::from_fn(|i| i as u8);
        hsm.import_symmetric(derive, KeyKind::Aes128, &key).unwrap();
        let mut block: [u8; 16] = core::array::from_fn(|i| (i as u8) * 0x11);
        hsm.encrypt_block(derive, &mut block).unwrap();
        assert_eq!(
            block,
            [
                0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30, 0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4,
                0xc5, 0x5a
            ],
            "FIPS-197 C.1"
        );
        assert!(hsm.encrypt_block(derive, &mut [0u8; 8]).is_err());
        assert_eq!(
            hsm.import_symmetric(derive, KeyKind::Aes128, &key),
            Err(Error::Store(StoreError::AlreadyExists))
        );
        hsm.import_symmetric(data, KeyKind::Aes128, &key).unwrap();
        let plain: [u8; 16] = core::array::from_fn(|i| (i as u8) * 0x11);
        let mut out = [0u8; 24];
        assert_eq!(
            hsm.wrap_bytes(data, WrapAlgorithm::AesKw, &plain, &mut out),
            Ok(24)
        );
        assert_eq!(
            out,
            [
                0x1F, 0xA6, 0x8B, 0x0A, 0x81, 0x12, 0xB4, 0x47, 0xAE, 0xF3, 0x4B, 0xD8, 0xFB, 0x5A,
                0x7B, 0x82, 0x9D, 0x3E, 0x86, 0x23, 0x71, 0xD2, 0xCF, 0xE5
            ],
            "RFC 3394 4.1"
        );
        let mut back = [0u8; 16];
        assert_eq!(
            hsm.unwrap_bytes(data, WrapAlgorithm::AesKw, &out, &mut back),
            Ok(16)
        );
        assert_eq!(back, plain);
        let mut tampered = out;
        tampered[5] ^= 1;
        assert_eq!(
            hsm.unwrap_bytes(data, WrapAlgorithm::AesKw, &tampered, &mut back),
            Err(Error::Crypto)
        );
        // SP 800-38F: a KW input needs two semiblocks of key data. A valid one-semiblock
        // wrap (an 8-byte key) is refused by length before it reaches the HSM.
        use aes_kw::KeyInit;
        let mut short = [0u8; 16];
        aes_kw::KwAes128::new_from_slice(&key)
            .unwrap()
            .wrap_key(&[0x11; 8], &mut short)
            .unwrap();
        assert_eq!(
            hsm.unwrap_bytes(data, WrapAlgorithm::AesKw, &short, &mut back),
            Err(Error::decode(DecodeErrorKind::InvalidLength, 16))
        );
        hsm.import_symmetric(import, KeyKind::Aes256, &transport)
            .unwrap();
        let mut rng = InsecureTestRng::new(7);
        let (dek, dek2) = (KeyId(20), KeyId(21));
        hsm.generate_symmetric(dek, KeyKind::Aes256, &mut rng)
            .unwrap();
        let mut wrapped = [0u8; 40];
        assert_eq!(
            hsm.wrap_key(export, WrapAlgorithm::AesKwp, dek, &mut wrapped),
            Ok(40)
        );
        hsm.unwrap_key(
            import,
            WrapAlgorithm::AesKwp,
            &wrapped,
            dek2,
            KeyKind::Aes256,
        )
        .unwrap();
        let (mut b1, mut b2) = ([0x42u8; 16], [0x42u8; 16]);
        hsm.encrypt_block(dek, &mut b1).unwrap();
        hsm.encrypt_block(dek2, &mut b2).unwrap();
        assert_eq!(b1, b2, "the key came back in");
        assert_eq!(
            hsm.unwrap_key(
                import,
                WrapAlgorithm::AesKwp,
                &wrapped,
                dek2,
                KeyKind::Aes256
            ),
            Err(Error::Store(StoreError::AlreadyExists))
        );
        assert_eq!(
            hsm.wrap_key(export, WrapAlgorithm::AesKwp, KeyId(98), &mut wrapped),
            Err(Error::Store(StoreError::NotFound))
        );
        for id in [derive, data, import, dek, dek2] {
            hsm.delete_key(id).unwrap();
        }
        assert_eq!(
            hsm.encrypt_block(derive, &mut block),
            Err(Error::Store(StoreError::NotFound))
        );
    });
}

#[test]
fn backend_failure_carries_its_ck_rv() {
    with_token("backend_failure_carries_its_ck_rv", || {
        let mut hsm = store(1, ExportPolicy::Sealed);
        hsm.generate_p256(KeyId(1), &mut InsecureTestRng::new(1))
            .unwrap();
        // Log the application out behind the store's back (login state is shared by
        // every session of the process): the token now refuses private-key work.
        softhsm::raw_session().logout().unwrap();
        let e = hsm
            .generate_p256(KeyId(2), &mut InsecureTestRng::new(2))
            .unwrap_err();
        assert_eq!(
            e,
            Error::Store(StoreError::Backend(BackendCause::pkcs11(0x101)))
        );
        let cause = std::error::Error::source(&e).expect("the CK_RV as source");
        assert_eq!(cause.to_string(), "CKR_USER_NOT_LOGGED_IN (0x101)");
        assert!(!cause.downcast_ref::<BackendCause>().unwrap().is_transient());
        assert!(
            hsm.last_backend_error()
                .unwrap()
                .contains("UserNotLoggedIn"),
            "{:?}",
            hsm.last_backend_error()
        );
    });
}

#[test]
fn wrap_mechanisms_match_the_rfcs() {
    with_token("wrap_mechanisms_match_the_rfcs", || {
        let mut hsm = store(1, ExportPolicy::Sealed);
        hsm.check_wrap_mechanisms().unwrap();

        // A misconfiguration (RFC 3394 where RFC 5649 is expected) is caught.
        let mut c = config(2, ExportPolicy::Sealed);
        c.wrap.aes_kwp = WrapMechanism::AesKeyWrap;
        let mut wrong = Pkcs11Store::open(c).unwrap();
        assert!(wrong.check_wrap_mechanisms().is_err());

        // An HSM without the mechanism refuses clearly.
        let mut c = config(3, ExportPolicy::Sealed);
        c.wrap.aes_kwp = WrapMechanism::Unavailable;
        c.roles = KeyRoles::default().with(1..=1, KeyRole::DataKek);
        let mut none = Pkcs11Store::open(c).unwrap();
        assert_eq!(none.check_wrap_mechanisms(), Err(Error::Unsupported));
        none.import_symmetric(KeyId(1), KeyKind::Aes128, &[7; 16])
            .unwrap();
        assert_eq!(
            none.wrap_bytes(KeyId(1), WrapAlgorithm::AesKwp, &[1; 20], &mut [0; 32]),
            Err(Error::Unsupported)
        );
        // A vendor number below CKM_VENDOR_DEFINED is refused, not sent.
        let mut c = config(4, ExportPolicy::Sealed);
        c.wrap.aes_kw = WrapMechanism::Vendor(0x2109);
        c.roles = KeyRoles::default().with(1..=1, KeyRole::DataKek);
        let mut bad = Pkcs11Store::open(c).unwrap();
        bad.import_symmetric(KeyId(1), KeyKind::Aes128, &[7; 16])
            .unwrap();
        assert_eq!(
            bad.wrap_bytes(KeyId(1), WrapAlgorithm::AesKw, &[1; 16], &mut [0; 24]),
            Err(Error::Unsupported)
        );
    });
}

/// HSM wrap ⇔ software unwrap and back, byte for byte, for every KEK size, both
/// algorithms and every length each algorithm accepts up to 40 bytes (KWP: 1..=40,
/// including the odd 17 and 20; KW: 16, 24, 32, 40).
#[test]
fn wrap_interop_with_software() {
    with_token("wrap_interop_with_software", || {
        let data_keks = KeyRoles::default().with(1..=3, KeyRole::DataKek);
        let mut hsm = store_with(1, ExportPolicy::Sealed, data_keks);
        let mut rng = InsecureTestRng::new(42);
        for (n, kind) in [KeyKind::Aes128, KeyKind::Aes192, KeyKind::Aes256]
            .into_iter()
            .enumerate()
        {
            let kek_bytes: Vec<u8> = (0..kind.key_len()).map(|i| (i * 7 + n) as u8).collect();
            let kek = KeyId(n as u32 + 1);
            hsm.import_symmetric(kek, kind, &kek_bytes).unwrap();
            let mut soft = Soft::new();
            soft.import_symmetric(kek, kind, &kek_bytes).unwrap();
            for alg in [WrapAlgorithm::AesKw, WrapAlgorithm::AesKwp] {
                for len in 1..=40usize {
                    let Some(wlen) = alg.wrapped_len(len) else {
                        let mut out = [0u8; 64];
                        assert!(
                            hsm.wrap_bytes(kek, alg, &vec![1; len], &mut out).is_err(),
                            "{alg:?} must refuse {len} bytes"
                        );
                        continue;
                    };
                    let mut plain = vec![0u8; len];
                    rand_core::Rng::fill_bytes(&mut rng, &mut plain);
                    let (mut a, mut b) = ([0u8; 48], [0u8; 48]);
                    let bn = soft.wrap_bytes(kek, alg, &plain, &mut b).unwrap();
                    assert_eq!(bn, wlen);
                    let mut back = [0u8; 48];
                    if alg == WrapAlgorithm::AesKwp && len % 8 != 0 {
                        // SoftHSM2 zero-pads these before wrapping: refused (see below).
                        assert_eq!(
                            hsm.wrap_bytes(kek, alg, &plain, &mut a),
                            Err(Error::Unsupported)
                        );
                    } else {
                        let an = hsm.wrap_bytes(kek, alg, &plain, &mut a).unwrap();
                        assert_eq!(a[..an], b[..bn], "{kind:?} {alg:?} {len}: HSM = software");
                        let m = soft.unwrap_bytes(kek, alg, &a[..an], &mut back).unwrap();
                        assert_eq!(&back[..m], &plain[..], "software unwraps HSM wrap");
                    }
                    let m = hsm.unwrap_bytes(kek, alg, &b[..bn], &mut back).unwrap();
                    assert_eq!(&back[..m], &plain[..], "HSM unwraps software wrap ({len})");
                    let mut bad = b;
                    bad[bn - 1] ^= 0x80;
                    assert_eq!(
                        hsm.unwrap_bytes(kek, alg, &bad[..bn], &mut back),
                        Err(Error::Crypto),
                        "tampered {alg:?} {len}"
                    );
                }
            }
        }
    });
}

/// Stored keys: `C_WrapKey` output (under the export KEK) unwraps in software to the
/// key the HSM uses, and a software wrap goes into the HSM with `C_UnwrapKey` (under
/// the import KEK) as a working key.
#[test]
fn stored_key_wrap_interop() {
    with_token("stored_key_wrap_interop", || {
        let kek_bytes = [0x5Au8; 32];
        // Key 1 out (SO-created, trusted), key 2 in: one value, shared with software.
        export_kek(1, KeyId(1), KeyKind::Aes256, Some(&kek_bytes));
        let roles = KeyRoles::default().with(2..=2, KeyRole::ImportKek);
        let mut hsm = store_with(1, ExportPolicy::WrappedIds(vec![100..=199]), roles);
        let mut rng = InsecureTestRng::new(9);
        hsm.import_symmetric(KeyId(2), KeyKind::Aes256, &kek_bytes)
            .unwrap();
        let mut soft = Soft::new();
        soft.import_symmetric(KeyId(1), KeyKind::Aes256, &kek_bytes)
            .unwrap();
        for (i, kind) in [
            KeyKind::Aes128,
            KeyKind::Aes192,
            KeyKind::Aes256,
            KeyKind::Tdes2,
            KeyKind::Tdes3,
        ]
        .into_iter()
        .enumerate()
        {
            for alg in [WrapAlgorithm::AesKw, WrapAlgorithm::AesKwp] {
                let id = KeyId(100 + (i as u32) * 2 + u32::from(alg == WrapAlgorithm::AesKwp));
                hsm.generate_symmetric(id, kind, &mut rng).unwrap();
                assert_eq!(hsm.key_kind(id).unwrap(), kind);
                let mut wrapped = [0u8; 40];
                let n = hsm.wrap_key(KeyId(1), alg, id, &mut wrapped).unwrap();
                assert_eq!(Some(n), alg.wrapped_len(kind.key_len()));
                // Software unwraps it into a key that encrypts like the HSM's.
                let sid = KeyId(50);
                soft.unwrap_key(KeyId(1), alg, &wrapped[..n], sid, kind)
                    .unwrap();
                let bl = kind.block_len().unwrap();
                let (mut x, mut y) = ([0x3Cu8; 16], [0x3Cu8; 16]);
                hsm.encrypt_block(id, &mut x[..bl]).unwrap();
                soft.encrypt_block(sid, &mut y[..bl]).unwrap();
                assert_eq!(x, y, "{kind:?} {alg:?}: HSM key = unwrapped software key");
                // And back: software wrap, HSM unwrap_key.
                let n = soft.wrap_key(KeyId(1), alg, sid, &mut wrapped).unwrap();
                let back = KeyId(200 + id.0);
                hsm.unwrap_key(KeyId(2), alg, &wrapped[..n], back, kind)
                    .unwrap();
                let mut z = [0x3Cu8; 16];
                hsm.encrypt_block(back, &mut z[..bl]).unwrap();
                assert_eq!(x, z);
                soft.delete_key(sid).unwrap();
            }
        }
        // unwrap_key checks the kind's length: a 16-byte key is not an AES-256 key.
        let mut wrapped = [0u8; 40];
        let n = soft
            .wrap_bytes(KeyId(1), WrapAlgorithm::AesKwp, &[1; 16], &mut wrapped)
            .unwrap();
        assert!(
            hsm.unwrap_key(
                KeyId(2),
                WrapAlgorithm::AesKwp,
                &wrapped[..n],
                KeyId(999),
                KeyKind::Aes256
            )
            .is_err()
        );
        // RFC 5649 hides the exact length inside: 17 bytes wrap to the size of a 24-byte
        // key. The HSM must not keep a 17-byte "AES-192" key.
        let n = soft
            .wrap_bytes(KeyId(1), WrapAlgorithm::AesKwp, &[1; 17], &mut wrapped)
            .unwrap();
        assert_eq!(n, 32);
        assert_eq!(
            hsm.unwrap_key(
                KeyId(2),
                WrapAlgorithm::AesKwp,
                &wrapped[..n],
                KeyId(999),
                KeyKind::Aes192
            ),
            Err(Error::decode(DecodeErrorKind::InvalidLength, 32))
        );
        assert_eq!(
            hsm.key_kind(KeyId(999)),
            Err(Error::Store(StoreError::NotFound)),
            "a refused unwrap leaves no object"
        );
    });
}

/// What SoftHSM2's `CKM_AES_KEY_WRAP_PAD` does with lengths that are not a multiple of
/// 8 when wrapping: it zero-pads first and encodes the padded length, so a correct RFC
/// 5649 unwrap returns the input plus zeros. This is why `kwp_zero_pads` defaults to true.
#[test]
fn softhsm_kwp_zero_pads_short_lengths() {
    with_token("softhsm_kwp_zero_pads_short_lengths", || {
        let mut c = config(1, ExportPolicy::Sealed);
        c.wrap.kwp_zero_pads = false;
        c.roles = KeyRoles::default().with(1..=1, KeyRole::DataKek);
        let mut raw = Pkcs11Store::open(c).unwrap();
        assert_eq!(
            raw.check_wrap_mechanisms(),
            Err(Error::Crypto),
            "RFC 5649 section 6 vectors (20 and 7 bytes) differ on SoftHSM2"
        );
        raw.import_symmetric(KeyId(1), KeyKind::Aes128, &[0x5A; 16])
            .unwrap();
        let mut soft = Soft::new();
        soft.import_symmetric(KeyId(1), KeyKind::Aes128, &[0x5A; 16])
            .unwrap();
        for len in [1usize, 7, 9, 17, 20] {
            let mut w = [0u8; 48];
            let n = raw
                .wrap_bytes(KeyId(1), WrapAlgorithm::AesKwp, &vec![0xA1; len], &mut w)
                .unwrap();
            let mut back = [0u8; 48];
            let m = soft
                .unwrap_bytes(KeyId(1), WrapAlgorithm::AesKwp, &w[..n], &mut back)
                .unwrap();
            let padded = len.div_ceil(8) * 8;
            assert_eq!(m, padded, "{len} bytes come back as {padded}");
            assert!(back[..len].iter().all(|b| *b == 0xA1));
            assert!(back[len..m].iter().all(|b| *b == 0));
        }
        // With the default setting the store refuses instead, and the check passes.
        let roles = KeyRoles::default().with(1..=1, KeyRole::DataKek);
        let mut store = store_with(2, ExportPolicy::Sealed, roles);
        store.check_wrap_mechanisms().unwrap();
        store
            .import_symmetric(KeyId(1), KeyKind::Aes128, &[0x5A; 16])
            .unwrap();
        assert_eq!(
            store.wrap_bytes(KeyId(1), WrapAlgorithm::AesKwp, &[0xA1; 17], &mut [0; 48]),
            Err(Error::Unsupported)
        );
        assert!(store.last_backend_error().unwrap().contains("zero-pads"));
    });
}

/// CA signing key generated in the HSM: root, intermediate and device certificate all
/// signed by handle, verified by provkit's software chain verification.
#[test]
fn hsm_ca_issues_verifiable_certificates() {
    use provkit::cert::{self, CaCert, CaName, CaProfile, CompactCert, DeviceRequest};
    with_token("hsm_ca_issues_verifiable_certificates", || {
        let mut hsm = store(1, ExportPolicy::Sealed);
        let mut rng = InsecureTestRng::new(3);
        let (root_key, factory_key) = (KeyId(1), KeyId(2));
        hsm.generate_p256(root_key, &mut rng).unwrap();
        let factory_public = hsm.generate_p256(factory_key, &mut rng).unwrap();
        let now = 1_750_000_000;
        let year = 365 * 86_400;
        let profile = |cn, serial, path_len| {
            CaProfile::new(
                CaName::new(cn).with_organization("Example Devices Ltd"),
                serial,
                now - 3600,
                now + 10 * year,
            )
            .with_path_len(path_len)
        };
        let mut root_der = [0u8; 1024];
        let n = cert::create_root(
            &mut hsm,
            root_key,
            &profile("HSM Root", [1; 16], 1),
            &mut root_der,
        )
        .unwrap();
        let root = CaCert::from_der(&root_der[..n]).unwrap();
        let mut int_der = [0u8; 1024];
        let n = cert::create_intermediate(
            &mut hsm,
            root_key,
            &root,
            &factory_public,
            &profile("HSM Factory CA", [2; 16], 0),
            &mut int_der,
        )
        .unwrap();
        let factory = CaCert::from_der(&int_der[..n]).unwrap();

        // The device key lives in the device's own (software) store.
        let mut device = Soft::new();
        let device_public = device.generate_p256(KeyId(1), &mut rng).unwrap();
        let compact = cert::issue_device(
            &mut hsm,
            factory_key,
            &factory,
            &DeviceRequest::new(0x1234, &device_public, now),
        )
        .unwrap();
        let parsed = CompactCert::parse(&compact).unwrap();
        let verified = cert::verify_device(&root, Some(&factory), &parsed, now).unwrap();
        assert_eq!(verified.serial, 0x1234);
        assert_eq!(verified.public_key, device_public);

        // A chain from another root does not verify: the signatures are real.
        let mut other = Soft::new();
        other.generate_p256(KeyId(1), &mut rng).unwrap();
        let mut other_der = [0u8; 1024];
        let n = cert::create_root(
            &mut other,
            KeyId(1),
            &profile("HSM Root", [1; 16], 1),
            &mut other_der,
        )
        .unwrap();
        let other_root = CaCert::from_der(&other_der[..n]).unwrap();
        assert!(cert::verify_device(&other_root, Some(&factory), &parsed, now).is_err());
    });
}

/// ECDH in the HSM agrees with a software peer, both ways, for generated and imported
/// keys; the import computes the same public key as software.
#[test]
fn ecdh_agrees_with_software_peer() {
    with_token("ecdh_agrees_with_software_peer", || {
        use subtle::ConstantTimeEq;
        let mut hsm = store(1, ExportPolicy::Sealed);
        let mut soft = Soft::new();
        let mut rng = InsecureTestRng::new(5);
        let hsm_public = hsm.generate_p256(KeyId(1), &mut rng).unwrap();
        let soft_public = soft.generate_p256(KeyId(1), &mut rng).unwrap();
        let a = hsm.ecdh(KeyId(1), &soft_public).unwrap();
        let b = soft.ecdh(KeyId(1), &hsm_public).unwrap();
        assert!(bool::from(a.ct_eq(&b)), "HSM and software agree");
        let scalar = provkit::secret::SecretBytes::new([0x42; 32]);
        let imported = hsm.import_p256(KeyId(2), &scalar).unwrap();
        let reference = soft.import_p256(KeyId(2), &scalar).unwrap();
        assert_eq!(imported, reference);
        assert_eq!(hsm.public_key(KeyId(2)).unwrap(), reference);
        let c = hsm.ecdh(KeyId(2), &soft_public).unwrap();
        let d = soft.ecdh(KeyId(1), &imported).unwrap();
        assert!(bool::from(c.ct_eq(&d)));
        assert!(
            !bool::from(a.ct_eq(&c)),
            "different keys, different secrets"
        );
        // A signature of the imported key verifies under the software public key.
        let digest = provkit::ec::sha256(b"imported");
        let sig = hsm.sign_digest(KeyId(2), &digest).unwrap();
        reference.verify_digest(&digest, &sig).unwrap();
        // The derived secret is a session object: nothing is left on the token.
        let raw = softhsm::raw_session();
        let secrets = raw
            .find_objects(&[Attribute::Class(ObjectClass::SECRET_KEY)])
            .unwrap();
        assert!(
            secrets.is_empty(),
            "ECDH left {} secret objects",
            secrets.len()
        );
    });
}

/// A DUKPT BDK in the HSM derives the same initial keys as software.
#[test]
fn dukpt_bdk_in_hsm_matches_software() {
    use provkit::dukpt::{AesBdk, InitialKeyId, initial_key_from_store};
    with_token("dukpt_bdk_in_hsm_matches_software", || {
        let mut hsm = store(1, ExportPolicy::Sealed);
        for (i, len) in [16usize, 24, 32].into_iter().enumerate() {
            let bdk: Vec<u8> = (0..len).map(|j| (j * 13 + i) as u8).collect();
            let id = KeyId(10 + i as u32);
            hsm.import_symmetric(id, KeyKind::aes_for_len(len).unwrap(), &bdk)
                .unwrap();
            let software = AesBdk::from_bytes(&bdk).unwrap();
            for n in 0..4u8 {
                let ikid = InitialKeyId::new([0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, n]);
                let from_hsm = initial_key_from_store(&mut hsm, id, ikid).unwrap();
                let from_soft = software.initial_key(ikid).unwrap();
                assert_eq!(from_hsm.dangerous_expose(), from_soft.dangerous_expose());
            }
        }
    });
}

/// TDES keys in the HSM (CKM_DES3_ECB) encrypt like provkit's software TDES.
#[test]
fn tdes_blocks_match_software() {
    with_token("tdes_blocks_match_software", || {
        let mut hsm = store(1, ExportPolicy::Sealed);
        let mut soft = Soft::new();
        for (id, kind) in [(KeyId(1), KeyKind::Tdes2), (KeyId(2), KeyKind::Tdes3)] {
            let key: Vec<u8> = (0..kind.key_len())
                .map(|i| (i as u8).wrapping_mul(0x1F) ^ 3)
                .collect();
            hsm.import_symmetric(id, kind, &key).unwrap();
            soft.import_symmetric(id, kind, &key).unwrap();
            assert_eq!(hsm.key_kind(id).unwrap(), kind);
            let (mut a, mut b) = ([0x5Bu8; 8], [0x5Bu8; 8]);
            hsm.encrypt_block(id, &mut a).unwrap();
            soft.encrypt_block(id, &mut b).unwrap();
            assert_eq!(a, b, "{kind:?}");
            assert!(
                hsm.encrypt_block(id, &mut [0u8; 16]).is_err(),
                "TDES block is 8 bytes"
            );
            // TDES keys are not KEKs.
            assert_eq!(
                hsm.wrap_bytes(id, WrapAlgorithm::AesKw, &[0; 16], &mut [0; 24]),
                Err(Error::Store(StoreError::WrongKeyKind))
            );
        }
    });
}

/// What the HSM holds: sensitive, non-extractable private keys and KEKs; wrap-only
/// export exactly where the policy allows; sealed keys refuse `wrap_key`.
#[test]
fn keys_are_sealed_hsm_objects() {
    with_token("keys_are_sealed_hsm_objects", || {
        let ns = 7;
        export_kek(ns, KeyId(2), KeyKind::Aes256, None); // export KEK, by the SO
        let mut hsm = store(ns, ExportPolicy::WrappedIds(vec![100..=100]));
        let mut rng = InsecureTestRng::new(1);
        hsm.generate_p256(KeyId(1), &mut rng).unwrap();
        hsm.import_symmetric(KeyId(3), KeyKind::Aes128, &[9; 16])
            .unwrap(); // BDK
        hsm.generate_symmetric(KeyId(100), KeyKind::Aes128, &mut rng)
            .unwrap(); // DEK
        let raw = softhsm::raw_session();
        use AttributeType as T;
        let private = ObjectClass::PRIVATE_KEY;
        let secret = ObjectClass::SECRET_KEY;
        assert!(bool_attr(&raw, cka_id(ns, 1), private, T::Sensitive));
        assert!(!bool_attr(&raw, cka_id(ns, 1), private, T::Extractable));
        assert!(bool_attr(&raw, cka_id(ns, 1), private, T::NeverExtractable));
        assert!(bool_attr(&raw, cka_id(ns, 1), private, T::Token));
        for id in [2, 3] {
            assert!(bool_attr(&raw, cka_id(ns, id), secret, T::Sensitive));
            assert!(!bool_attr(&raw, cka_id(ns, id), secret, T::Extractable));
            assert!(!bool_attr(&raw, cka_id(ns, id), secret, T::Decrypt));
        }
        assert!(bool_attr(&raw, cka_id(ns, 2), secret, T::NeverExtractable));
        // Roles: the export KEK is trusted and wrap-only; the BDK and the data key only
        // encrypt; the data key leaves only under a trusted KEK.
        assert!(bool_attr(&raw, cka_id(ns, 2), secret, T::Trusted));
        assert!(bool_attr(&raw, cka_id(ns, 2), secret, T::Wrap));
        assert!(!bool_attr(&raw, cka_id(ns, 2), secret, T::Unwrap));
        assert!(!bool_attr(&raw, cka_id(ns, 2), secret, T::Encrypt));
        for id in [3, 100] {
            assert!(bool_attr(&raw, cka_id(ns, id), secret, T::Encrypt));
            assert!(!bool_attr(&raw, cka_id(ns, id), secret, T::Wrap));
            assert!(!bool_attr(&raw, cka_id(ns, id), secret, T::Unwrap));
            assert!(bool_attr(&raw, cka_id(ns, id), secret, T::WrapWithTrusted));
        }
        assert!(bool_attr(&raw, cka_id(ns, 100), secret, T::Sensitive));
        assert!(bool_attr(&raw, cka_id(ns, 100), secret, T::Extractable));
        // The sensitive value cannot be read, even by the logged-in user.
        let h = raw
            .find_objects(&[Attribute::Id(cka_id(ns, 2)), Attribute::Class(secret)])
            .unwrap()[0];
        assert!(raw.get_attributes(h, &[T::Value]).unwrap().is_empty());

        let mut out = [0u8; 40];
        assert_eq!(
            hsm.wrap_key(KeyId(2), WrapAlgorithm::AesKw, KeyId(3), &mut out),
            Err(Error::Unsupported),
            "a sealed BDK does not leave, not even wrapped"
        );
        assert!(
            hsm.last_backend_error()
                .unwrap()
                .contains("KeyUnextractable")
        );
        assert_eq!(
            hsm.wrap_key(KeyId(2), WrapAlgorithm::AesKw, KeyId(100), &mut out),
            Ok(24)
        );
        assert_eq!(
            hsm.wrap_key(KeyId(2), WrapAlgorithm::AesKw, KeyId(1), &mut out),
            Err(Error::Store(StoreError::WrongKeyKind)),
            "P-256 keys never leave"
        );
    });
}

/// provkit's error kinds for misuse, bad input and a broken setup; no panics.
#[test]
fn errors_map_cleanly() {
    with_token("errors_map_cleanly", || {
        let roles = KeyRoles::default()
            .with(4..=4, KeyRole::DataKek)
            .with(5..=5, KeyRole::ImportKek);
        let mut hsm = store_with(1, ExportPolicy::Sealed, roles);
        let mut rng = InsecureTestRng::new(2);
        let p256 = hsm.generate_p256(KeyId(1), &mut rng).unwrap();
        hsm.import_symmetric(KeyId(2), KeyKind::Aes128, &[1; 16])
            .unwrap();
        hsm.import_symmetric(KeyId(4), KeyKind::Aes128, &[1; 16])
            .unwrap();
        hsm.import_symmetric(KeyId(5), KeyKind::Aes128, &[1; 16])
            .unwrap();
        let wrong = Err(Error::Store(StoreError::WrongKeyKind));
        assert_eq!(hsm.ecdh(KeyId(2), &p256).map(drop), wrong);
        assert_eq!(hsm.sign_digest(KeyId(2), &[0; 32]).map(drop), wrong);
        assert_eq!(hsm.public_key(KeyId(2)).map(drop), wrong);
        assert_eq!(hsm.encrypt_block(KeyId(1), &mut [0; 16]), wrong);
        assert_eq!(
            hsm.wrap_bytes(KeyId(1), WrapAlgorithm::AesKw, &[0; 16], &mut [0; 24]),
            Err(Error::Store(StoreError::WrongKeyKind))
        );
        assert_eq!(
            hsm.import_symmetric(KeyId(3), KeyKind::P256, &[0; 32]),
            wrong
        );
        assert_eq!(
            hsm.import_symmetric(KeyId(2), KeyKind::Aes128, &[1; 16]),
            Err(Error::Store(StoreError::AlreadyExists))
        );
        assert_eq!(
            hsm.generate_p256(KeyId(2), &mut rng).map(drop),
            Err(Error::Store(StoreError::AlreadyExists))
        );
        assert_eq!(
            hsm.encrypt_block(KeyId(2), &mut [0; 15]),
            Err(Error::decode(DecodeErrorKind::InvalidLength, 15))
        );
        assert_eq!(
            hsm.unwrap_bytes(KeyId(4), WrapAlgorithm::AesKw, &[0; 20], &mut [0; 32]),
            Err(Error::decode(DecodeErrorKind::InvalidLength, 20))
        );
        assert_eq!(
            hsm.unwrap_bytes(KeyId(4), WrapAlgorithm::AesKw, &[0; 24], &mut [0; 8]),
            Err(Error::buffer_too_small(16))
        );
        assert_eq!(
            hsm.unwrap_bytes(KeyId(4), WrapAlgorithm::AesKw, &[0; 24], &mut [0; 16]),
            Err(Error::Crypto),
            "garbage fails the integrity check"
        );
        assert_eq!(
            hsm.unwrap_key(
                KeyId(5),
                WrapAlgorithm::AesKw,
                &[0; 24],
                KeyId(9),
                KeyKind::Aes128
            ),
            Err(Error::Crypto)
        );
        assert_eq!(
            hsm.key_kind(KeyId(9)),
            Err(Error::Store(StoreError::NotFound))
        );

        // Opening: wrong PIN, unknown token, missing module.
        let mut c = config(1, ExportPolicy::Sealed);
        c.pin = Pin::from("000000");
        // The process is already logged in through `hsm`; a fresh process would not be,
        // so drop it first to make the token check the PIN.
        drop(hsm);
        match Pkcs11Store::open(c) {
            Err(e @ OpenError::Login { .. }) => {
                assert!(e.to_string().contains("PinIncorrect"), "{e}");
                // The CK_RV comes through `source()` (cryptoki's error) and `cause()`.
                let source = std::error::Error::source(&e).expect("cryptoki's error");
                match source.downcast_ref::<cryptoki::error::Error>() {
                    Some(cryptoki::error::Error::Pkcs11(rv, _)) => {
                        assert_eq!(*rv, cryptoki::error::RvError::PinIncorrect)
                    }
                    other => panic!("source: {other:?}"),
                }
                assert_eq!(e.cause(), Some(BackendCause::pkcs11(0xA0)));
                assert_eq!(
                    e.cause().map(|c| c.to_string()).as_deref(),
                    Some("CKR_PIN_INCORRECT (0xa0)")
                );
            }
            other => panic!("wrong PIN: {other:?}"),
        }
        let c = Pkcs11Config::new("no-such-token", Pin::from(softhsm::USER_PIN));
        match Pkcs11Store::open(c) {
            Err(e @ OpenError::TokenNotFound { .. }) => {
                assert!(e.to_string().contains("no-such-token"))
            }
            other => panic!("unknown token: {other:?}"),
        }
        let mut c = config(1, ExportPolicy::Sealed);
        c.module = "/nonexistent/libpkcs11.so".into();
        match Pkcs11Store::open(c) {
            Err(e @ OpenError::ModuleLoad { .. }) => {
                assert!(e.to_string().contains("apt-get install -y softhsm2"), "{e}");
            }
            other => panic!("missing module: {other:?}"),
        }
        // Two tokens with one label are refused by init_token.
        assert!(matches!(
            provkit_pkcs11::init_token(
                &softhsm::module_path(),
                softhsm::TOKEN,
                &Pin::from(softhsm::SO_PIN),
                &Pin::from(softhsm::USER_PIN)
            ),
            Err(OpenError::TokenExists { .. })
        ));
    });
}

/// Records persist across sessions; a write interrupted between "create new" and
/// "destroy old" (simulated with a raw stale object) still reads the newest value and
/// is cleaned up by the next write.
#[test]
fn records_are_durable_and_replace_safely() {
    with_token("records_are_durable_and_replace_safely", || {
        let id = RecordId(5);
        {
            let mut hsm = store(1, ExportPolicy::Sealed);
            hsm.write_record(id, b"counter=1").unwrap();
            hsm.write_record(id, b"counter=2").unwrap();
        }
        let mut hsm = store(1, ExportPolicy::Sealed);
        let mut out = [0u8; 64];
        let n = hsm.read_record(id, &mut out).unwrap();
        assert_eq!(&out[..n], b"counter=2", "survives closing the session");

        let raw = softhsm::raw_session();
        let label = b"provkit:00000001:rec:00000005".to_vec();
        let find = || {
            raw.find_objects(&[
                Attribute::Class(ObjectClass::DATA),
                Attribute::Label(label.clone()),
            ])
            .unwrap()
        };
        assert_eq!(find().len(), 1, "the old generation was destroyed");
        assert!(
            matches!(
                raw.get_attributes(find()[0], &[AttributeType::Private])
                    .unwrap()
                    .as_slice(),
                [Attribute::Private(true)]
            ),
            "records need a login to read"
        );
        // A stale older generation left by a crash (generation 0 < current 1).
        let mut stale = vec![1u8];
        stale.extend_from_slice(&0u64.to_be_bytes());
        stale.extend_from_slice(b"counter=0");
        raw.create_object(&[
            Attribute::Class(ObjectClass::DATA),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Application(b"provkit".to_vec()),
            Attribute::Label(label.clone()),
            Attribute::Value(stale),
        ])
        .unwrap();
        assert_eq!(find().len(), 2);
        let n = hsm.read_record(id, &mut out).unwrap();
        assert_eq!(&out[..n], b"counter=2", "the newest generation wins");
        hsm.write_record(id, b"counter=3").unwrap();
        assert_eq!(find().len(), 1, "the next write removes every older object");
        let n = hsm.read_record(id, &mut out).unwrap();
        assert_eq!(&out[..n], b"counter=3");

        // A foreign object under a record label is reported, not misread.
        raw.create_object(&[
            Attribute::Class(ObjectClass::DATA),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Application(b"provkit".to_vec()),
            Attribute::Label(label.clone()),
            Attribute::Value(vec![9, 9]),
        ])
        .unwrap();
        assert_eq!(
            hsm.read_record(id, &mut out),
            Err(Error::Store(StoreError::Corrupt))
        );
        // Replacing or deleting a corrupt record works, and removes the bad object.
        hsm.write_record(id, b"counter=4").unwrap();
        assert_eq!(find().len(), 1);
        let n = hsm.read_record(id, &mut out).unwrap();
        assert_eq!(&out[..n], b"counter=4");
        hsm.delete_record(id).unwrap();
        assert!(find().is_empty());

        // Size limit from the configuration.
        let mut c = config(2, ExportPolicy::Sealed);
        c.max_record_len = 100;
        let mut small = Pkcs11Store::open(c).unwrap();
        assert_eq!(
            small.write_record(id, &[0; 101]),
            Err(Error::Store(StoreError::RecordTooLarge))
        );
        small.write_record(id, &[0; 100]).unwrap();
    });
}

/// Several stores in one process share the one initialised module, each in its own
/// session, from several threads at once; namespaces keep their ids apart.
///
/// The threads are scoped: even when one fails, none is still inside the module when
/// the child process exits. SoftHSM2's exit-time destructors free its object store, and
/// a thread still writing a token object then creates the object's lock file from a
/// freed path string, in the working directory: that is how an empty file named with
/// six bytes of a heap pointer came to be committed in this crate, from an earlier
/// version of this test whose detached threads outlived a failed assertion.
#[test]
fn stores_share_one_module_across_threads() {
    with_token("stores_share_one_module_across_threads", || {
        // Token objects are created one store after another: SoftHSM 2.6's file-backed
        // token fails concurrent object creation from several sessions (C_GenerateKeyPair,
        // C_CreateObject: Store(Backend)), so integrators should serialise token writes
        // per token. Signing runs concurrently below.
        let created: Vec<_> = (1..=4u32)
            .map(|ns| {
                let mut hsm = store(ns, ExportPolicy::Sealed);
                let mut rng = InsecureTestRng::new(u64::from(ns));
                // The same KeyId and RecordId in every namespace.
                let public = hsm.generate_p256(KeyId(1), &mut rng).unwrap();
                hsm.import_symmetric(KeyId(2), KeyKind::Aes128, &[ns as u8; 16])
                    .unwrap();
                (ns, public)
            })
            .collect();
        let publics: Vec<_> = std::thread::scope(|scope| {
            let threads: Vec<_> = created
                .into_iter()
                .map(|(ns, public)| {
                    scope.spawn(move || {
                        let mut hsm = store(ns, ExportPolicy::Sealed);
                        for i in 0..20u32 {
                            let digest = provkit::ec::sha256(&i.to_be_bytes());
                            let sig = hsm.sign_digest(KeyId(1), &digest).unwrap();
                            public.verify_digest(&digest, &sig).unwrap();
                        }
                        public
                    })
                })
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        // Token-object writes (records) one store at a time, for the same reason.
        for ns in 1..=4u32 {
            let mut hsm = store(ns, ExportPolicy::Sealed);
            for i in 0..20u32 {
                hsm.write_record(RecordId(1), &(ns * 1000 + i).to_be_bytes())
                    .unwrap();
            }
        }
        for (i, public) in publics.iter().enumerate() {
            let ns = i as u32 + 1;
            let mut hsm = store(ns, ExportPolicy::Sealed);
            assert_eq!(&hsm.public_key(KeyId(1)).unwrap(), public);
            let mut out = [0u8; 8];
            let n = hsm.read_record(RecordId(1), &mut out).unwrap();
            assert_eq!(&out[..n], &(ns * 1000 + 19).to_be_bytes());
            let mut block = [0u8; 16];
            hsm.encrypt_block(KeyId(2), &mut block).unwrap();
            let mut soft = Soft::new();
            soft.import_symmetric(KeyId(2), KeyKind::Aes128, &[ns as u8; 16])
                .unwrap();
            let mut expect = [0u8; 16];
            soft.encrypt_block(KeyId(2), &mut expect).unwrap();
            assert_eq!(block, expect, "namespace {ns} sees its own key");
        }
    });
}

/// KEK rotation inside the HSM: software-wrapped keys rewrapped by the HSM unwrap in
/// software under the new KEK to the same key; bad input is refused.
#[test]
fn rewrap_rotates_keks_in_hsm() {
    with_token("rewrap_rotates_keks_in_hsm", || {
        let data_keks = KeyRoles::default().with(1..=2, KeyRole::DataKek);
        let mut hsm = store_with(1, ExportPolicy::Sealed, data_keks);
        let (old, new) = (KeyId(1), KeyId(2));
        let mut soft = Soft::new();
        for (id, byte) in [(old, 0x11u8), (new, 0x22)] {
            hsm.import_symmetric(id, KeyKind::Aes256, &[byte; 32])
                .unwrap();
            soft.import_symmetric(id, KeyKind::Aes256, &[byte; 32])
                .unwrap();
        }
        for alg in [WrapAlgorithm::AesKw, WrapAlgorithm::AesKwp] {
            for kind in [KeyKind::Aes128, KeyKind::Aes256, KeyKind::Tdes3] {
                let key: Vec<u8> = (0..kind.key_len()).map(|i| i as u8 ^ 0xC3).collect();
                let mut w = [0u8; 40];
                let n = soft.wrap_bytes(old, alg, &key, &mut w).unwrap();
                let mut r = [0u8; 40];
                let m = hsm.rewrap(old, new, alg, kind, &w[..n], &mut r).unwrap();
                assert_eq!(m, n);
                let mut back = [0u8; 40];
                let k = soft.unwrap_bytes(new, alg, &r[..m], &mut back).unwrap();
                assert_eq!(&back[..k], &key[..], "{alg:?} {kind:?}");
                let mut bad = w;
                bad[0] ^= 1;
                assert_eq!(
                    hsm.rewrap(old, new, alg, kind, &bad[..n], &mut r),
                    Err(Error::Crypto)
                );
                assert_eq!(
                    hsm.rewrap(old, new, alg, kind, &w[..n], &mut [0; 8]),
                    Err(Error::buffer_too_small(n))
                );
            }
        }
        // A 17-byte secret in a 24-byte key's wrap is not an AES-192 key.
        let mut w = [0u8; 40];
        let n = soft
            .wrap_bytes(old, WrapAlgorithm::AesKwp, &[7; 17], &mut w)
            .unwrap();
        assert_eq!(
            hsm.rewrap(
                old,
                new,
                WrapAlgorithm::AesKwp,
                KeyKind::Aes192,
                &w[..n],
                &mut [0; 40]
            ),
            Err(Error::decode(DecodeErrorKind::InvalidLength, n))
        );
        // Nothing was left on the token or in the session.
        let raw = softhsm::raw_session();
        let secrets = raw
            .find_objects(&[Attribute::Class(ObjectClass::SECRET_KEY)])
            .unwrap();
        assert_eq!(secrets.len(), 2, "only the two KEKs");
    });
}
