//! Attacks on the key store's API (Clulow's wrap/unwrap attacks and their relatives):
//! no sequence of `Pkcs11Store` calls may yield the value of a stored key, under any
//! [`ExportPolicy`] and whatever role the keys involved were given. Each attack is run
//! for every policy and every role of the KEK it abuses; an attack "succeeds" if any
//! byte string it obtains equals the stored key. Also: each role does exactly its one
//! job, the legitimate flows (envelope KEK, shipment import, export, DUKPT) still work,
//! and the attributes behind the roles are the documented ones.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/softhsm.rs"]
mod softhsm;

use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass};
use provkit::Error;
use provkit::store::{
    KeyId, KeyInventory, KeyKind, MemoryStore, StoreError, SymmetricKeys, WrapAlgorithm,
};
use provkit_pkcs11::{ExportPolicy, KeyRole, KeyRoles, Pkcs11Store};
use softhsm::{export_kek, store_with, with_token};

/// The victim: a stored AES-256 key whose value the attacker must not learn.
const VICTIM: KeyId = KeyId(100);
const VICTIM_VALUE: [u8; 32] = [0xA5; 32];
/// The KEK the attacks abuse, in every role.
const K: KeyId = KeyId(1);
/// A data KEK (rewrap target).
const K2: KeyId = KeyId(2);
/// Ids the attacker creates keys under (with values of their choice).
const T: KeyId = KeyId(50);
const T2: KeyId = KeyId(51);
/// Values the attacker knows.
const KNOWN_K: [u8; 32] = [0x11; 32];
const KNOWN_T: [u8; 32] = [0x77; 32];
const KNOWN_T2: [u8; 32] = [0x3C; 32];

const ROLES: [KeyRole; 4] = [
    KeyRole::Derive,
    KeyRole::DataKek,
    KeyRole::ImportKek,
    KeyRole::ExportKek,
];

fn policies() -> [ExportPolicy; 3] {
    [
        ExportPolicy::Sealed,
        ExportPolicy::Wrapped,
        ExportPolicy::WrappedIds(vec![0..=u32::MAX]),
    ]
}

/// Every id in the attack gets `role` (the attacker's keys too), except the rewrap
/// target, which is a data KEK.
fn roles(role: KeyRole) -> KeyRoles {
    KeyRoles {
        default: role,
        ranges: vec![
            (K2.0..=K2.0, KeyRole::DataKek),
            (VICTIM.0..=VICTIM.0, KeyRole::Derive),
        ],
    }
}

/// A software store holding `value` as AES-256 key 1, to decrypt what the attacker got.
fn soft(value: &[u8; 32]) -> MemoryStore<2, 0, 0> {
    let mut s = MemoryStore::<2, 0, 0>::new();
    s.import_symmetric(KeyId(1), KeyKind::Aes256, value)
        .unwrap();
    s
}

/// RFC 3394 key wrap computed with the HSM's `encrypt_block` under `kek` as the block
/// cipher (forging a blob from an ECB oracle). `None` if the HSM refuses the block.
fn forge_kw(hsm: &mut Pkcs11Store, kek: KeyId, plain: &[u8; 32]) -> Option<Vec<u8>> {
    let n = plain.len() / 8;
    let mut a = [0xA6u8; 8];
    let mut r: Vec<[u8; 8]> = plain.chunks(8).map(|c| c.try_into().unwrap()).collect();
    for j in 0..6u64 {
        for (i, ri) in r.iter_mut().enumerate() {
            let mut b = [0u8; 16];
            b[..8].copy_from_slice(&a);
            b[8..].copy_from_slice(ri);
            hsm.encrypt_block(kek, &mut b).ok()?;
            let t = (n as u64) * j + (i as u64) + 1;
            a.copy_from_slice(&b[..8]);
            for (x, y) in a.iter_mut().zip(t.to_be_bytes()) {
                *x ^= y;
            }
            ri.copy_from_slice(&b[8..]);
        }
    }
    let mut out = a.to_vec();
    for block in r {
        out.extend_from_slice(&block);
    }
    Some(out)
}

/// Everything the attacker can obtain from `hsm` about the victim, with `k` in whatever
/// role the store gave it and `known_k` its value if the attacker chose it.
fn attack(hsm: &mut Pkcs11Store, k: KeyId, known_k: Option<&[u8; 32]>) -> Vec<(String, Vec<u8>)> {
    let mut got = Vec::new();
    for alg in [WrapAlgorithm::AesKw, WrapAlgorithm::AesKwp] {
        let mut blob = [0u8; 40];
        let wrapped = hsm
            .wrap_key(k, alg, VICTIM, &mut blob)
            .ok()
            .map(|n| blob[..n].to_vec());
        if let Some(b) = &wrapped {
            // 1. wrap-then-unwrap with the same KEK.
            let mut out = [0u8; 40];
            if let Ok(n) = hsm.unwrap_bytes(k, alg, b, &mut out) {
                got.push((format!("{alg:?} wrap_key then unwrap"), out[..n].to_vec()));
            }
            // 2. wrap-then-decrypt: move the blob under a data KEK, which releases it.
            let mut moved = [0u8; 40];
            if let Ok(n) = hsm.rewrap(k, K2, alg, KeyKind::Aes256, b, &mut moved) {
                if let Ok(m) = hsm.unwrap_bytes(K2, alg, &moved[..n], &mut out) {
                    got.push((format!("{alg:?} rewrap then unwrap"), out[..m].to_vec()));
                }
            }
            // ... or decrypt in software under a KEK value the attacker chose.
            if let Some(v) = known_k {
                if let Ok(n) = soft(v).unwrap_bytes(KeyId(1), alg, b, &mut out) {
                    got.push((
                        format!("{alg:?} wrap_key under a known KEK"),
                        out[..n].to_vec(),
                    ));
                }
            }
        }
    }
    // 3. forge a blob of a known key with ECB under the KEK, unwrap it into a stored key
    //    of known value, wrap the victim under that.
    if let Some(forged) = forge_kw(hsm, k, &KNOWN_T) {
        if hsm
            .unwrap_key(k, WrapAlgorithm::AesKw, &forged, T, KeyKind::Aes256)
            .is_ok()
        {
            got.extend(wrap_under_known(hsm, T, &KNOWN_T, "forged KEK"));
        }
    }
    // 4. a wrap the KEK made of a known key, unwrapped into the store (one key used for
    //    wrap and unwrap_key), then used as a KEK.
    let mut blob = [0u8; 40];
    if let Ok(n) = hsm.wrap_bytes(k, WrapAlgorithm::AesKw, &KNOWN_T, &mut blob) {
        if hsm
            .unwrap_key(k, WrapAlgorithm::AesKw, &blob[..n], T, KeyKind::Aes256)
            .is_ok()
        {
            got.extend(wrap_under_known(hsm, T, &KNOWN_T, "wrap + unwrap_key KEK"));
        }
    }
    // 5. a KEK of a known value imported in the clear.
    if hsm.import_symmetric(T2, KeyKind::Aes256, &KNOWN_T2).is_ok() {
        got.extend(wrap_under_known(hsm, T2, &KNOWN_T2, "imported KEK"));
    }
    let _ = hsm.delete_key(T);
    let _ = hsm.delete_key(T2);
    got
}

/// `wrap_key(kek, victim)` decrypted in software with the kek's known value.
fn wrap_under_known(
    hsm: &mut Pkcs11Store,
    kek: KeyId,
    value: &[u8; 32],
    how: &str,
) -> Vec<(String, Vec<u8>)> {
    let mut got = Vec::new();
    for alg in [WrapAlgorithm::AesKw, WrapAlgorithm::AesKwp] {
        let mut blob = [0u8; 40];
        if let Ok(n) = hsm.wrap_key(kek, alg, VICTIM, &mut blob) {
            let mut out = [0u8; 40];
            if let Ok(m) = soft(value).unwrap_bytes(KeyId(1), alg, &blob[..n], &mut out) {
                got.push((format!("{alg:?} {how}"), out[..m].to_vec()));
            }
        }
    }
    got
}

fn assert_nothing_recovered(what: &str, got: &[(String, Vec<u8>)]) {
    let recovered: Vec<_> = got
        .iter()
        .filter(|(_, v)| v.windows(32).any(|w| w == VICTIM_VALUE))
        .map(|(how, _)| how.as_str())
        .collect();
    assert!(
        recovered.is_empty(),
        "{what}: the stored key was recovered by {recovered:?}"
    );
}

/// wrap-then-unwrap, wrap-then-decrypt (rewrap to a data KEK, or a known KEK),
/// forged-blob-then-unwrap, and one key in two roles: for every export policy and every
/// role of the abused KEK, nothing yields the victim's value.
#[test]
fn no_call_sequence_reveals_a_stored_key() {
    with_token("no_call_sequence_reveals_a_stored_key", || {
        let mut cases = Vec::new();
        let mut ns = 10;
        for policy in policies() {
            for role in ROLES {
                ns += 1;
                if role == KeyRole::ExportKek {
                    // Only the SO creates export KEKs: the attacker does not know its value.
                    export_kek(ns, K, KeyKind::Aes256, None);
                }
                cases.push((ns, policy.clone(), role));
            }
        }
        for (ns, policy, role) in cases {
            let what = format!("policy {policy:?}, KEK role {role:?}");
            let mut hsm = store_with(ns, policy, roles(role));
            hsm.import_symmetric(VICTIM, KeyKind::Aes256, &VICTIM_VALUE)
                .unwrap();
            let known = if role == KeyRole::ExportKek {
                None
            } else {
                hsm.import_symmetric(K, KeyKind::Aes256, &KNOWN_K).unwrap();
                Some(&KNOWN_K)
            };
            hsm.import_symmetric(K2, KeyKind::Aes256, &[0x22; 32])
                .unwrap();
            let got = attack(&mut hsm, K, known);
            assert_nothing_recovered(&what, &got);
        }
    });
}

/// A key with more than one role's attributes (what this crate created before roles:
/// encrypt + wrap + unwrap), made with another tool: the store refuses it for every
/// operation, so the attacks above get nothing through it either.
#[test]
fn a_key_with_two_roles_is_refused() {
    with_token("a_key_with_two_roles_is_refused", || {
        let ns = 3;
        let legacy = KeyId(7);
        for policy in policies() {
            let roles = KeyRoles::default().with(K2.0..=K2.0, KeyRole::DataKek);
            let mut hsm = store_with(ns, policy, roles);
            hsm.import_symmetric(VICTIM, KeyKind::Aes256, &VICTIM_VALUE)
                .unwrap();
            hsm.import_symmetric(K2, KeyKind::Aes256, &[0x22; 32])
                .unwrap();
            let raw = softhsm::raw_session();
            let id = [ns.to_be_bytes(), legacy.0.to_be_bytes()].concat();
            raw.generate_key(
                &Mechanism::AesKeyGen,
                &[
                    Attribute::Class(ObjectClass::SECRET_KEY),
                    Attribute::KeyType(KeyType::AES),
                    Attribute::ValueLen(32.into()),
                    Attribute::Token(true),
                    Attribute::Private(true),
                    Attribute::Sensitive(true),
                    Attribute::Extractable(false),
                    Attribute::Encrypt(true),
                    Attribute::Decrypt(false),
                    Attribute::Wrap(true),
                    Attribute::Unwrap(true),
                    Attribute::Sign(false),
                    Attribute::Verify(false),
                    Attribute::Derive(false),
                    Attribute::Id(id),
                    Attribute::Label(b"provkit:00000003:key:00000007:aes256".to_vec()),
                ],
            )
            .unwrap();
            let got = attack(&mut hsm, legacy, None);
            assert_nothing_recovered("legacy multi-role KEK", &got);
            let wrong = Err(Error::Store(StoreError::WrongKeyKind));
            assert_eq!(hsm.encrypt_block(legacy, &mut [0; 16]), wrong);
            assert_eq!(
                hsm.wrap_bytes(legacy, WrapAlgorithm::AesKw, &[0; 16], &mut [0; 24]),
                wrong.map(|()| 0)
            );
            assert!(hsm.last_backend_error().unwrap().contains("no single role"));
            hsm.delete_key(legacy).unwrap();
            hsm.delete_key(VICTIM).unwrap();
            hsm.delete_key(K2).unwrap();
        }
    });
}

/// Each role does its one job and refuses every other operation of the trait; the
/// export KEK cannot be created by the user.
#[test]
fn each_role_does_one_job() {
    with_token("each_role_does_one_job", || {
        let ns = 1;
        let (derive, data, import, export, target) =
            (KeyId(1), KeyId(2), KeyId(3), KeyId(4), KeyId(10));
        export_kek(ns, export, KeyKind::Aes256, Some(&[0x44; 32]));
        let roles = KeyRoles::default()
            .with(2..=2, KeyRole::DataKek)
            .with(3..=3, KeyRole::ImportKek)
            .with(4..=4, KeyRole::ExportKek);
        let mut hsm = store_with(ns, ExportPolicy::WrappedIds(vec![10..=19]), roles);
        let wrong = Err(Error::Store(StoreError::WrongKeyKind));
        hsm.import_symmetric(derive, KeyKind::Aes256, &[0x11; 32])
            .unwrap();
        hsm.import_symmetric(data, KeyKind::Aes256, &[0x22; 32])
            .unwrap();
        hsm.import_symmetric(import, KeyKind::Aes256, &[0x44; 32])
            .unwrap();
        hsm.import_symmetric(target, KeyKind::Aes128, &[0x55; 16])
            .unwrap();
        // The user can never make an export KEK: not by generating, importing or
        // unwrapping into its id.
        let mut rng = provkit::testing::InsecureTestRng::new(1);
        let export_roles = KeyRoles::default().with(0..=u32::MAX, KeyRole::ExportKek);
        let mut user = store_with(2, ExportPolicy::Sealed, export_roles);
        assert_eq!(
            user.generate_symmetric(KeyId(1), KeyKind::Aes256, &mut rng),
            Err(Error::Unsupported)
        );
        assert_eq!(
            user.import_symmetric(KeyId(1), KeyKind::Aes256, &[0; 32]),
            Err(Error::Unsupported)
        );
        assert!(
            user.last_backend_error()
                .unwrap()
                .contains("security officer")
        );
        drop(user);

        let mut block = [0u8; 16];
        let mut out = [0u8; 40];
        let blob = |s: &mut Pkcs11Store, out: &mut [u8; 40]| {
            s.wrap_bytes(data, WrapAlgorithm::AesKw, &[9; 16], out)
                .unwrap()
        };
        // Derive: encrypt_block only.
        hsm.encrypt_block(derive, &mut block).unwrap();
        assert_eq!(
            hsm.wrap_bytes(derive, WrapAlgorithm::AesKw, &[0; 16], &mut out),
            wrong.map(|()| 0)
        );
        let n = blob(&mut hsm, &mut out);
        let b = out[..n].to_vec();
        assert_eq!(
            hsm.unwrap_bytes(derive, WrapAlgorithm::AesKw, &b, &mut out),
            wrong.map(|()| 0)
        );
        assert_eq!(
            hsm.wrap_key(derive, WrapAlgorithm::AesKw, target, &mut out),
            wrong.map(|()| 0)
        );
        assert_eq!(
            hsm.unwrap_key(derive, WrapAlgorithm::AesKw, &b, KeyId(20), KeyKind::Aes128),
            wrong
        );
        // DataKek: wrap and unwrap of caller material (and rewrap between data KEKs).
        let mut back = [0u8; 40];
        assert_eq!(
            hsm.unwrap_bytes(data, WrapAlgorithm::AesKw, &b, &mut back),
            Ok(16)
        );
        assert_eq!(back[..16], [9; 16]);
        assert_eq!(hsm.encrypt_block(data, &mut block), wrong);
        assert_eq!(
            hsm.wrap_key(data, WrapAlgorithm::AesKw, target, &mut out),
            wrong.map(|()| 0)
        );
        assert_eq!(
            hsm.unwrap_key(data, WrapAlgorithm::AesKw, &b, KeyId(20), KeyKind::Aes128),
            wrong
        );
        // ImportKek: unwrap_key only.
        let mut soft_import = MemoryStore::<1, 0, 0>::new();
        soft_import
            .import_symmetric(KeyId(1), KeyKind::Aes256, &[0x44; 32])
            .unwrap();
        let mut w = [0u8; 24];
        soft_import
            .wrap_bytes(KeyId(1), WrapAlgorithm::AesKw, &[0x66; 16], &mut w)
            .unwrap();
        let r = hsm.unwrap_key(import, WrapAlgorithm::AesKw, &w, KeyId(20), KeyKind::Aes128);
        assert_eq!(r, Ok(()), "{:?}", hsm.last_backend_error());
        assert_eq!(
            hsm.unwrap_bytes(import, WrapAlgorithm::AesKw, &w, &mut out),
            wrong.map(|()| 0)
        );
        assert_eq!(
            hsm.wrap_bytes(import, WrapAlgorithm::AesKw, &[0; 16], &mut out),
            wrong.map(|()| 0)
        );
        assert_eq!(hsm.encrypt_block(import, &mut block), wrong);
        assert_eq!(
            hsm.wrap_key(import, WrapAlgorithm::AesKw, target, &mut out),
            wrong.map(|()| 0)
        );
        // ExportKek: wrap_key only; its wraps are the ones the import KEK (same value,
        // at the recipient) accepts.
        let n = hsm
            .wrap_key(export, WrapAlgorithm::AesKw, target, &mut out)
            .unwrap();
        let exported = out[..n].to_vec();
        let mut check = [0u8; 24];
        assert_eq!(
            soft_import.unwrap_bytes(KeyId(1), WrapAlgorithm::AesKw, &exported, &mut check),
            Ok(16)
        );
        assert_eq!(check[..16], [0x55; 16]);
        assert_eq!(
            hsm.unwrap_bytes(export, WrapAlgorithm::AesKw, &exported, &mut out),
            wrong.map(|()| 0)
        );
        assert_eq!(
            hsm.unwrap_key(
                export,
                WrapAlgorithm::AesKw,
                &exported,
                KeyId(21),
                KeyKind::Aes128
            ),
            wrong
        );
        assert_eq!(
            hsm.wrap_bytes(export, WrapAlgorithm::AesKw, &[0; 16], &mut out),
            wrong.map(|()| 0)
        );
        assert_eq!(hsm.encrypt_block(export, &mut block), wrong);
        assert_eq!(
            hsm.rewrap(
                export,
                data,
                WrapAlgorithm::AesKw,
                KeyKind::Aes128,
                &exported,
                &mut out
            ),
            wrong.map(|()| 0)
        );
        // A TDES key can only derive.
        let mut c = softhsm::config(3, ExportPolicy::Sealed);
        c.roles = KeyRoles::default().with(1..=1, KeyRole::DataKek);
        let mut tdes = Pkcs11Store::open(c).unwrap();
        assert_eq!(
            tdes.import_symmetric(KeyId(1), KeyKind::Tdes3, &[7; 24]),
            wrong
        );
    });
}

/// The attributes behind the roles, read from the HSM objects: every usage flag is
/// explicit, extractable keys need a trusted KEK, nothing is modifiable, and the HSM
/// itself (not only the store) refuses a data KEK wrapping a stored key.
#[test]
fn role_attributes_are_enforced_by_the_hsm() {
    use AttributeType as A;
    with_token("role_attributes_are_enforced_by_the_hsm", || {
        let ns = 5;
        export_kek(ns, KeyId(4), KeyKind::Aes256, None);
        let roles = KeyRoles::default()
            .with(2..=2, KeyRole::DataKek)
            .with(3..=3, KeyRole::ImportKek);
        let mut hsm = store_with(ns, ExportPolicy::Wrapped, roles);
        let mut rng = provkit::testing::InsecureTestRng::new(1);
        for id in 1..=3 {
            hsm.generate_symmetric(KeyId(id), KeyKind::Aes256, &mut rng)
                .unwrap();
        }
        let raw = softhsm::raw_session();
        let types = [
            A::Encrypt,
            A::Decrypt,
            A::Wrap,
            A::Unwrap,
            A::Derive,
            A::Sign,
            A::Verify,
            A::Trusted,
            A::WrapWithTrusted,
            A::Modifiable,
            A::Sensitive,
            A::Extractable,
            A::Private,
        ];
        let expect: [(u32, [bool; 13]); 4] = [
            // enc   dec   wrap   unwr   der    sign   ver    trust  wwt    mod    sens  extr  priv
            (
                1,
                [
                    true, false, false, false, false, false, false, false, true, false, true, true,
                    true,
                ],
            ),
            (
                2,
                [
                    false, false, true, true, false, false, false, false, true, false, true, true,
                    true,
                ],
            ),
            (
                3,
                [
                    false, false, false, true, false, false, false, false, true, false, true, true,
                    true,
                ],
            ),
            (
                4,
                [
                    false, false, true, false, false, false, false, true, false, false, true,
                    false, false,
                ],
            ),
        ];
        for (id, want) in expect {
            let h = raw
                .find_objects(&[
                    Attribute::Id([ns.to_be_bytes(), id.to_be_bytes()].concat()),
                    Attribute::Class(ObjectClass::SECRET_KEY),
                ])
                .unwrap()[0];
            let got: Vec<bool> = raw
                .get_attributes(h, &types)
                .unwrap()
                .into_iter()
                .map(|a| match a {
                    Attribute::Encrypt(b)
                    | Attribute::Decrypt(b)
                    | Attribute::Wrap(b)
                    | Attribute::Unwrap(b)
                    | Attribute::Derive(b)
                    | Attribute::Sign(b)
                    | Attribute::Verify(b)
                    | Attribute::Trusted(b)
                    | Attribute::WrapWithTrusted(b)
                    | Attribute::Modifiable(b)
                    | Attribute::Sensitive(b)
                    | Attribute::Extractable(b)
                    | Attribute::Private(b) => b,
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(got, want, "key {id}");
        }
        // Raw PKCS#11, bypassing the store: the data KEK may not wrap a stored key.
        let find = |id: u32| {
            raw.find_objects(&[
                Attribute::Id([ns.to_be_bytes(), id.to_be_bytes()].concat()),
                Attribute::Class(ObjectClass::SECRET_KEY),
            ])
            .unwrap()[0]
        };
        let e = raw
            .wrap_key(&Mechanism::AesKeyWrap, find(2), find(1))
            .unwrap_err();
        assert!(format!("{e:?}").contains("KeyNotWrappable"), "{e:?}");
        // ... nor can its usage be widened afterwards.
        assert!(
            raw.update_attributes(find(2), &[Attribute::Encrypt(true)])
                .is_err()
        );
        // The export KEK wraps it.
        raw.wrap_key(&Mechanism::AesKeyWrap, find(4), find(1))
            .unwrap();
    });
}
