//! DUKPT against external vectors (`tests/data/dukpt/`, copied from the shared vector
//! set; each record names its source) and property tests device ⇔ host.
//!
//! Every record of both files is checked; the tests count them by kind and assert the
//! totals, so a vector that is silently skipped fails the build.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation,
    clippy::std_instead_of_alloc
)]

use provkit::Error;
use provkit::dukpt::tdes::{
    self, Ipek, TdesBdk, TdesDevice, TdesKsn, TdesUsage, decrypt_pin_block_format0,
    encrypt_pin_block_format0, format0_pin_block, retail_mac, tdes_cbc_decrypt, tdes_cbc_encrypt,
    verify_retail_mac,
};
use provkit::dukpt::{
    AesBdk, AesDevice, AesKeySize, AesKsn, DukptError, HostCache, InitialKey, InitialKeyId,
    KeyType, WorkingKeyUsage, cbc_decrypt, cbc_encrypt, cmac, decrypt_pin_block,
    encrypt_pin_block_with_fill, format4_pan_field, format4_pin_field, hmac_sha256,
    initial_key_derivation_data, initial_key_from_store, verify_cmac, verify_hmac_sha256,
    working_key_derivation_data,
};
use provkit::secret::SecretBuf;
use provkit::store::{
    BackendCause, KeyId, MemoryStore, RecordId, Records, StoreError, SymmetricKeys,
};
use provkit::testing::InsecureTestRng;
use rand_core::Rng;
use serde_json::Value;
use std::collections::BTreeMap;
use subtle::ConstantTimeEq;

type Flash = MemoryStore<4, 40, 64>;

const AES_FILE: &str = include_str!("data/dukpt/aes_dukpt.json");
const TDES_FILE: &str = include_str!("data/dukpt/tdes_dukpt.json");

fn hex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn hex_of(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("missing string {key} in {v}"))
}

fn u16_hex(s: &str) -> u16 {
    u16::from_str_radix(s, 16).unwrap()
}

fn u32_hex(s: &str) -> u32 {
    u32::from_str_radix(s, 16).unwrap()
}

fn ikid_of(v: &Value) -> InitialKeyId {
    InitialKeyId::new(hex(s(v, "initial_key_id")).try_into().unwrap())
}

fn bdk_size(name: &str) -> AesKeySize {
    match name {
        "AES128" => AesKeySize::Aes128,
        "AES192" => AesKeySize::Aes192,
        "AES256" => AesKeySize::Aes256,
        other => panic!("bdk type {other}"),
    }
}

fn key_type_of(v: &Value) -> KeyType {
    let alg = u16_hex(s(v, "algorithm_indicator"));
    let bits = u16::try_from(v["key_length_bits"].as_u64().unwrap()).unwrap();
    KeyType::from_code(alg, bits).unwrap()
}

fn usage_of(v: &Value) -> WorkingKeyUsage {
    WorkingKeyUsage::from_code(u16_hex(s(v, "key_usage_code"))).unwrap()
}

/// The record's BDK → IK, checked against `expected.initial_key` and against the
/// derivation by handle through a key store.
fn initial_key(v: &Value) -> InitialKey {
    let bdk_bytes = hex(s(v, "bdk"));
    let bdk = AesBdk::from_bytes(&bdk_bytes).unwrap();
    assert_eq!(bdk.size(), bdk_size(s(v, "bdk_type")));
    let ikid = ikid_of(v);
    let ik = bdk.initial_key(ikid).unwrap();
    let expected = s(&v["expected"], "initial_key");
    assert_eq!(hex_of(ik.dangerous_expose()), expected, "{}", s(v, "id"));

    let mut hsm = MemoryStore::<2, 0, 64>::new();
    hsm.import_symmetric(KeyId(7), bdk.size().key_kind(), &bdk_bytes)
        .unwrap();
    let by_handle = initial_key_from_store(&mut hsm, KeyId(7), ikid).unwrap();
    assert_eq!(hex_of(by_handle.dangerous_expose()), expected);
    ik
}

fn check_working_extras(v: &Value, ksn: &AesKsn, wk: &provkit::dukpt::WorkingKey) {
    let id = s(v, "id");
    let e = &v["expected"];
    let txn_host = || initial_key(v).transaction_key(ksn).unwrap();
    if let Some(p) = e.get("pin_block_format4") {
        let pin = s(p, "pin").as_bytes();
        let pan = s(p, "pan").as_bytes();
        let fill: [u8; 8] = hex(s(p, "random_fill")).try_into().unwrap();
        let field = format4_pin_field(pin, &fill).unwrap();
        assert_eq!(
            hex_of(field.dangerous_expose()),
            s(p, "plaintext_pin_field"),
            "{id}"
        );
        assert_eq!(
            hex_of(&format4_pan_field(pan).unwrap()),
            s(p, "plaintext_pan_field"),
            "{id}"
        );
        let block = encrypt_pin_block_with_fill(wk, pin, pan, &fill).unwrap();
        assert_eq!(hex_of(&block), s(p, "encrypted_pin_block"), "{id}");
        let back = decrypt_pin_block(wk, &block, pan).unwrap();
        assert!(bool::from(back.ct_eq(&SecretBuf::from_slice(pin).unwrap())));
        // Wrong PAN: opaque failure.
        assert_eq!(
            decrypt_pin_block(wk, &block, b"4111111111111112").err(),
            Some(Error::Crypto)
        );
        // The convenience on the transaction key decrypts the same block.
        let back = txn_host()
            .decrypt_pin_block(wk.key_type(), &block, pan)
            .unwrap();
        assert!(bool::from(back.ct_eq(&SecretBuf::from_slice(pin).unwrap())));
    }
    if let Some(m) = e.get("aes_cmac") {
        let msg = s(m, "message_ascii").as_bytes();
        let mac = hex(s(m, "mac"));
        assert_eq!(hex_of(&cmac(wk, msg).unwrap()), s(m, "mac"), "{id}");
        verify_cmac(wk, msg, &mac).unwrap();
        verify_cmac(wk, msg, &mac[..8]).unwrap();
        assert_eq!(verify_cmac(wk, b"other", &mac), Err(Error::Crypto));
        let txn = txn_host();
        match wk.usage() {
            WorkingKeyUsage::MacGeneration => {
                txn.verify_request_cmac(wk.key_type(), msg, &mac).unwrap()
            }
            WorkingKeyUsage::MacVerification => {
                txn.verify_response_cmac(wk.key_type(), msg, &mac).unwrap()
            }
            other => panic!("{id}: CMAC under {other:?}"),
        }
    }
    if let Some(m) = e.get("hmac_sha256") {
        let msg = s(m, "message_ascii").as_bytes();
        assert_eq!(hex_of(&hmac_sha256(wk, msg).unwrap()), s(m, "mac"), "{id}");
        verify_hmac_sha256(wk, msg, &hex(s(m, "mac"))).unwrap();
    }
    if let Some(c) = e.get("aes_cbc") {
        let iv = hex(s(c, "iv"));
        let plain = hex(s(c, "plaintext"));
        let mut buf = plain.clone();
        cbc_encrypt(wk, &iv, &mut buf).unwrap();
        assert_eq!(hex_of(&buf), s(c, "ciphertext"), "{id}");
        cbc_decrypt(wk, &iv, &mut buf).unwrap();
        assert_eq!(buf, plain);
        // Request data uses the encrypt key, response data the decrypt key.
        let txn = txn_host();
        let mut buf = plain.clone();
        match wk.usage() {
            WorkingKeyUsage::DataEncryption => {
                txn.encrypt_request(wk.key_type(), &iv, &mut buf).unwrap()
            }
            WorkingKeyUsage::DataDecryption => {
                txn.encrypt_response(wk.key_type(), &iv, &mut buf).unwrap()
            }
            other => panic!("{id}: CBC under {other:?}"),
        }
        assert_eq!(hex_of(&buf), s(c, "ciphertext"), "{id}");
    }
}

fn aes_working_key(v: &Value) {
    let id = s(v, "id");
    let e = &v["expected"];
    let ik = initial_key(v);
    let ksn = AesKsn::parse(&hex(s(v, "ksn"))).unwrap();
    assert_eq!(ksn.initial_key_id(), ikid_of(v));
    assert_eq!(ksn.counter(), u32_hex(s(v, "transaction_counter")));
    assert_eq!(
        ksn.is_valid(),
        v["counter_valid"].as_bool().unwrap(),
        "{id}"
    );
    let usage = usage_of(v);
    let ty = key_type_of(v);
    assert_eq!(
        hex_of(&working_key_derivation_data(&ksn, usage, ty)),
        s(e, "derivation_data"),
        "{id}"
    );
    let txn = ik.transaction_key(&ksn).unwrap();
    assert_eq!(
        hex_of(txn.dangerous_expose()),
        s(e, "transaction_key"),
        "{id}"
    );
    let wk = txn.working_key(usage, ty).unwrap();
    assert_eq!(hex_of(wk.dangerous_expose()), s(e, "working_key"), "{id}");
    assert_eq!(
        (wk.usage(), wk.key_type(), wk.len()),
        (usage, ty, ty.key_len())
    );
    // The other host paths give the same key.
    let direct = ik.working_key(&ksn, usage, ty).unwrap();
    assert_eq!(hex_of(direct.dangerous_expose()), s(e, "working_key"));
    let mut cache = HostCache::new(initial_key(v));
    let cached = cache.working_key(&ksn, usage, ty).unwrap();
    assert_eq!(hex_of(cached.dangerous_expose()), s(e, "working_key"));
    let mut seen = 0;
    ik.for_each_working_key([ksn], usage, ty, |i, k, r| {
        assert_eq!((i, *k), (0, ksn));
        assert_eq!(hex_of(r.unwrap().dangerous_expose()), s(e, "working_key"));
        seen += 1;
    })
    .unwrap();
    assert_eq!(seen, 1);
    // The device reaches the same key at this counter.
    let mut flash = Flash::new();
    let mut dev =
        AesDevice::dangerous_load_initial_key_at(&mut flash, RecordId(0), &ik, ksn.counter())
            .unwrap();
    let dtx = dev.next_transaction(&mut flash).unwrap();
    assert_eq!(dtx.ksn(), ksn);
    assert_eq!(
        hex_of(dtx.working_key(usage, ty).unwrap().dangerous_expose()),
        s(e, "working_key")
    );
    check_working_extras(v, &ksn, &wk);
}

fn aes_transaction_key(v: &Value) {
    let id = s(v, "id");
    let ik = initial_key(v);
    let ksn = AesKsn::parse(&hex(s(v, "ksn"))).unwrap();
    let valid = v["counter_valid"].as_bool().unwrap();
    assert_eq!(ksn.is_valid(), valid, "{id}");
    let expected = s(&v["expected"], "transaction_key");
    let permissive = ik.transaction_key_permissive(&ksn).unwrap();
    assert_eq!(hex_of(permissive.dangerous_expose()), expected, "{id}");
    if valid {
        let strict = ik.transaction_key(&ksn).unwrap();
        assert_eq!(hex_of(strict.dangerous_expose()), expected, "{id}");
        let mut flash = Flash::new();
        let mut dev =
            AesDevice::dangerous_load_initial_key_at(&mut flash, RecordId(0), &ik, ksn.counter())
                .unwrap();
        let dtx = dev.next_transaction(&mut flash).unwrap();
        assert_eq!(hex_of(dtx.dangerous_expose()), expected, "{id}");
    } else {
        // Strict host derivation refuses what no conforming device sends.
        assert_eq!(
            ik.transaction_key(&ksn).err(),
            Some(Error::Dukpt(DukptError::InvalidCounter))
        );
        let mut flash = Flash::new();
        assert_eq!(
            AesDevice::dangerous_load_initial_key_at(&mut flash, RecordId(0), &ik, ksn.counter())
                .err(),
            Some(Error::Dukpt(DukptError::InvalidCounter))
        );
    }
}

fn aes_update_key(v: &Value) {
    let id = s(v, "id");
    let e = &v["expected"];
    let ik = initial_key(v);
    let ksn = AesKsn::parse(&hex(s(v, "ksn"))).unwrap();
    assert_eq!(ksn.counter(), provkit::dukpt::AES_UPDATE_KEY_COUNTER);
    assert!(!ksn.is_valid());
    assert_eq!(usage_of(v), WorkingKeyUsage::KeyEncryptionKey);
    let ty = key_type_of(v);
    assert_eq!(
        hex_of(&working_key_derivation_data(
            &ksn,
            WorkingKeyUsage::KeyEncryptionKey,
            ty
        )),
        s(e, "derivation_data")
    );
    let txn = ik.transaction_key_permissive(&ksn).unwrap();
    assert_eq!(
        hex_of(txn.dangerous_expose()),
        s(e, "transaction_key"),
        "{id}"
    );
    let uk = ik.update_key(ty).unwrap();
    assert_eq!(hex_of(uk.dangerous_expose()), s(e, "working_key"), "{id}");
    assert_eq!(uk.usage(), WorkingKeyUsage::KeyEncryptionKey);
    assert!(ik.transaction_key(&ksn).is_err());
}

fn aes_initial_key(v: &Value) {
    let ik = initial_key(v);
    let e = &v["expected"];
    assert_eq!(
        hex_of(&initial_key_derivation_data(
            ikid_of(v),
            bdk_size(s(v, "bdk_type"))
        )),
        s(e, "derivation_data")
    );
    assert_eq!(ik.size(), bdk_size(s(v, "bdk_type")));
}

fn ik_from_record(v: &Value) -> InitialKey {
    InitialKey::from_bytes(ikid_of(v), &hex(s(v, "initial_key"))).unwrap()
}

fn aes_device_registers(v: &Value) {
    let id = s(v, "id");
    let e = &v["expected"];
    let ik = ik_from_record(v);
    let mut flash = Flash::new();
    let mut dev = AesDevice::load_initial_key(&mut flash, RecordId(100), &ik).unwrap();
    let n = v["transactions_generated"].as_u64().unwrap();
    let mut last = None;
    for _ in 0..n {
        last = Some(dev.next_transaction(&mut flash).unwrap());
    }
    let regs = e["registers"].as_array().unwrap();
    assert_eq!(regs.len(), 32);
    for (i, r) in regs.iter().enumerate() {
        let got = dev.dangerous_register(&mut flash, i as u32).unwrap();
        match r.as_str() {
            None => assert!(got.is_none(), "{id}: register {i} should be empty"),
            Some(hexkey) => assert_eq!(
                hex_of(got.unwrap().dangerous_expose()),
                hexkey,
                "{id}: register {i}"
            ),
        }
    }
    let next = dev.next_ksn(&mut flash).unwrap().unwrap();
    assert_eq!(
        next.counter(),
        u32_hex(s(e, "next_transaction_counter")),
        "{id}"
    );
    if let Some(c) = e.get("last_transaction_counter") {
        let txn = last.unwrap();
        assert_eq!(txn.ksn().counter(), u32_hex(c.as_str().unwrap()));
        let pin = txn
            .working_key(WorkingKeyUsage::PinEncryption, KeyType::Aes128)
            .unwrap();
        assert_eq!(
            hex_of(pin.dangerous_expose()),
            s(e, "last_pin_key_aes128"),
            "{id}"
        );
    }
    // A reset (re-open from the records) keeps the state.
    let reopened = AesDevice::open(&mut flash, RecordId(100)).unwrap();
    assert_eq!(reopened.initial_key_id(), ikid_of(v));
    assert_eq!(reopened.next_ksn(&mut flash).unwrap(), Some(next));
}

fn aes_device_sequence(v: &Value) -> usize {
    let ik = ik_from_record(v);
    assert_eq!(s(v, "key_usage"), "PIN_ENCRYPTION");
    assert_eq!(s(v, "working_key_type"), "AES128");
    let seq = v["expected"]["sequence"].as_array().unwrap();
    let mut flash = Flash::new();
    let mut dev = AesDevice::load_initial_key(&mut flash, RecordId(0), &ik).unwrap();
    let first = u32_hex(s(v, "first_transaction_counter"));
    assert_eq!(dev.next_ksn(&mut flash).unwrap().unwrap().counter(), first);
    let mut cache = HostCache::new(ik_from_record(v));
    let mut ksns = Vec::new();
    for step in seq {
        let txn = dev.next_transaction(&mut flash).unwrap();
        assert_eq!(hex_of(&txn.ksn().to_bytes()), s(step, "ksn"));
        assert_eq!(txn.ksn().counter(), u32_hex(s(step, "transaction_counter")));
        assert_eq!(hex_of(txn.dangerous_expose()), s(step, "transaction_key"));
        let pin = txn
            .working_key(WorkingKeyUsage::PinEncryption, KeyType::Aes128)
            .unwrap();
        assert_eq!(hex_of(pin.dangerous_expose()), s(step, "pin_key_aes128"));
        let host = cache.transaction_key(&txn.ksn()).unwrap();
        assert_eq!(hex_of(host.dangerous_expose()), s(step, "transaction_key"));
        ksns.push(txn.ksn());
    }
    // Batched host derivation of the whole sequence.
    let mut got = vec![None; seq.len()];
    ik.for_each_working_key(
        ksns.iter().copied(),
        WorkingKeyUsage::PinEncryption,
        KeyType::Aes128,
        |i, _, r| {
            got[i] = Some(hex_of(r.unwrap().dangerous_expose()));
        },
    )
    .unwrap();
    for (g, step) in got.iter().zip(seq) {
        assert_eq!(g.as_deref(), Some(s(step, "pin_key_aes128")));
    }
    seq.len()
}

fn aes_ksn_advance(v: &Value) {
    let ksn = AesKsn::parse(&hex(s(v, "ksn"))).unwrap();
    assert_eq!(ksn.counter(), u32_hex(s(v, "transaction_counter")));
    let e = &v["expected"];
    let exhausted = e["exhausted"].as_bool().unwrap();
    match ksn.next() {
        Some(n) => {
            assert!(!exhausted, "{}", s(v, "id"));
            assert_eq!(hex_of(&n.to_bytes()), s(e, "next_ksn"));
            assert_eq!(n.counter(), u32_hex(s(e, "next_transaction_counter")));
        }
        None => {
            assert!(exhausted, "{}", s(v, "id"));
            assert!(e["next_ksn"].is_null());
        }
    }
}

#[test]
fn aes_vectors_all_pass() {
    let file: Value = serde_json::from_str(AES_FILE).unwrap();
    let vectors = file["vectors"].as_array().unwrap();
    assert_eq!(vectors.len() as u64, file["count"].as_u64().unwrap());
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    let mut sequence_steps = 0;
    for v in vectors {
        assert!(v["source"].as_str().is_some_and(|s| !s.is_empty()));
        let kind = s(v, "kind");
        match kind {
            "initial_key" => aes_initial_key(v),
            "working_key" => aes_working_key(v),
            "transaction_key" => aes_transaction_key(v),
            "update_key" => aes_update_key(v),
            "device_registers" => aes_device_registers(v),
            "device_sequence" => sequence_steps += aes_device_sequence(v),
            "ksn_advance" => aes_ksn_advance(v),
            other => panic!("unhandled AES vector kind {other}"),
        }
        *counts.entry(kind.to_owned()).or_default() += 1;
    }
    let expected: BTreeMap<String, usize> = [
        ("initial_key", 2),
        ("working_key", 100),
        ("transaction_key", 12),
        ("update_key", 3),
        ("device_registers", 2),
        ("device_sequence", 1),
        ("ksn_advance", 7),
    ]
    .into_iter()
    .map(|(k, n)| (k.to_owned(), n))
    .collect();
    assert_eq!(counts, expected);
    assert_eq!(counts.values().sum::<usize>(), 127);
    assert_eq!(sequence_steps, 50);
}

fn tdes_ipek(v: &Value) -> Ipek {
    let bdk_bytes = hex(s(v, "bdk"));
    let bdk = TdesBdk::from_bytes(&bdk_bytes).unwrap();
    let ksn = TdesKsn::parse(&hex(s(v, "ksn"))).unwrap();
    let ipek = bdk.ipek(&ksn);
    let mut hsm = MemoryStore::<2, 0, 64>::new();
    bdk.import_into(&mut hsm, KeyId(1), KeyId(2)).unwrap();
    let by_handle = tdes::ipek_from_store(&mut hsm, KeyId(1), KeyId(2), &ksn).unwrap();
    assert_eq!(by_handle.dangerous_expose(), ipek.dangerous_expose());
    ipek
}

fn tdes_ksn_record(v: &Value) {
    let id = s(v, "id");
    let e = &v["expected"];
    let ksn = TdesKsn::parse(&hex(s(v, "ksn"))).unwrap();
    assert_eq!(hex_of(&ksn.initial_ksn().to_bytes()), s(v, "initial_ksn"));
    assert_eq!(ksn.counter(), u32_hex(s(v, "transaction_counter")));
    assert_eq!(
        u64::from(ksn.counter().count_ones()),
        v["counter_one_bits"].as_u64().unwrap()
    );
    let ipek = tdes_ipek(v);
    assert_eq!(hex_of(ipek.dangerous_expose()), s(e, "ipek"), "{id}");
    let txn = ipek.transaction_key(&ksn).unwrap();
    assert_eq!(
        hex_of(txn.dangerous_expose()),
        s(e, "transaction_key"),
        "{id}"
    );
    for (field, usage) in [
        ("pin_key", TdesUsage::Pin),
        ("mac_request_key", TdesUsage::MacRequest),
        ("mac_response_key", TdesUsage::MacResponse),
        ("data_request_key_variant", TdesUsage::DataRequestVariant),
        ("data_response_key_variant", TdesUsage::DataResponseVariant),
        ("data_request_key", TdesUsage::DataRequest),
        ("data_response_key", TdesUsage::DataResponse),
    ] {
        let wk = txn.working_key(usage);
        assert_eq!(hex_of(wk.dangerous_expose()), s(e, field), "{id} {field}");
    }
    // The device reaches the same transaction key at this counter.
    let mut flash = Flash::new();
    let mut dev =
        TdesDevice::dangerous_load_ipek_at(&mut flash, RecordId(0), &ipek, ksn.counter()).unwrap();
    let dtx = dev.next_transaction(&mut flash).unwrap();
    assert_eq!(dtx.ksn(), ksn);
    assert_eq!(
        hex_of(dtx.dangerous_expose()),
        s(e, "transaction_key"),
        "{id}"
    );

    let p = &e["pin_block_format0"];
    let (pin, pan) = (s(p, "pin").as_bytes(), s(p, "pan").as_bytes());
    assert_eq!(
        hex_of(format0_pin_block(pin, pan).unwrap().dangerous_expose()),
        s(p, "plaintext_pin_block")
    );
    let pin_key = txn.working_key(TdesUsage::Pin);
    let block = encrypt_pin_block_format0(&pin_key, pin, pan).unwrap();
    assert_eq!(hex_of(&block), s(p, "encrypted_pin_block"), "{id}");
    assert_eq!(txn.encrypt_pin_block(pin, pan).unwrap(), block);
    let back = decrypt_pin_block_format0(&pin_key, &block, pan).unwrap();
    assert!(bool::from(back.ct_eq(&SecretBuf::from_slice(pin).unwrap())));

    let m = &e["mac_x9_19"];
    let msg = s(m, "message_ascii").as_bytes();
    let req = txn.request_mac(msg).unwrap();
    assert_eq!(hex_of(&req), s(m, "request_mac"), "{id}");
    assert_eq!(
        hex_of(&txn.response_mac(msg).unwrap()),
        s(m, "response_mac"),
        "{id}"
    );
    verify_retail_mac(&txn.working_key(TdesUsage::MacRequest), msg, &req[..4]).unwrap();
    assert_eq!(
        verify_retail_mac(&txn.working_key(TdesUsage::MacResponse), msg, &req),
        Err(Error::Crypto)
    );
    if let Some(alt) = e.get("mac_x9_19_alt") {
        let mac = retail_mac(
            &txn.working_key(TdesUsage::MacRequest),
            s(alt, "message_ascii").as_bytes(),
        )
        .unwrap();
        assert_eq!(hex_of(&mac[..4]), s(alt, "request_mac_left4"), "{id}");
    }

    let c = &e["tdes_cbc"];
    let iv: [u8; 8] = hex(s(c, "iv")).try_into().unwrap();
    let plain = hex(s(c, "plaintext"));
    let mut buf = plain.clone();
    txn.encrypt_request(&iv, &mut buf).unwrap();
    assert_eq!(hex_of(&buf), s(c, "request_ciphertext"), "{id}");
    txn.decrypt_request(&iv, &mut buf).unwrap();
    assert_eq!(buf, plain);
    let mut buf = plain.clone();
    tdes_cbc_encrypt(&txn.working_key(TdesUsage::DataResponse), &iv, &mut buf).unwrap();
    assert_eq!(hex_of(&buf), s(c, "response_ciphertext"), "{id}");
    txn.decrypt_response(&iv, &mut buf).unwrap();
    assert_eq!(buf, plain);
}

fn tdes_data_decrypt(v: &Value) {
    let ksn = TdesKsn::parse(&hex(s(v, "ksn"))).unwrap();
    assert_eq!(ksn.counter(), u32_hex(s(v, "transaction_counter")));
    let ipek = tdes_ipek(v);
    let txn = ipek.transaction_key(&ksn).unwrap();
    let key = txn.working_key(TdesUsage::PinVariantAsData);
    let e = &v["expected"];
    assert_eq!(hex_of(key.dangerous_expose()), s(e, "key"));
    // The X9.24-1 PIN key has the same bytes but may not decrypt data.
    let mut buf = hex(s(&v["input"], "ciphertext"));
    let iv: [u8; 8] = hex(s(&v["input"], "iv")).try_into().unwrap();
    assert_eq!(
        tdes_cbc_decrypt(&txn.working_key(TdesUsage::Pin), &iv, &mut buf),
        Err(Error::Dukpt(DukptError::WrongKeyUsage))
    );
    tdes_cbc_decrypt(&key, &iv, &mut buf).unwrap();
    assert_eq!(hex_of(&buf), s(e, "plaintext_hex"));
    assert!(buf.starts_with(s(e, "plaintext_ascii_prefix").as_bytes()));
}

fn tdes_ksn_advance(v: &Value) {
    let ksn = TdesKsn::parse(&hex(s(v, "ksn"))).unwrap();
    let e = &v["expected"];
    match ksn.next() {
        Some(n) => {
            assert_eq!(hex_of(&n.to_bytes()), s(e, "next_ksn"), "{}", s(v, "id"));
            assert_ne!(e.get("exhausted").and_then(Value::as_bool), Some(true));
        }
        None => {
            assert!(e["next_ksn"].is_null(), "{}", s(v, "id"));
            assert_eq!(e["exhausted"].as_bool(), Some(true));
        }
    }
}

#[test]
fn tdes_vectors_all_pass() {
    let file: Value = serde_json::from_str(TDES_FILE).unwrap();
    let vectors = file["vectors"].as_array().unwrap();
    assert_eq!(vectors.len() as u64, file["count"].as_u64().unwrap());
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for v in vectors {
        assert!(v["source"].as_str().is_some_and(|s| !s.is_empty()));
        let kind = s(v, "kind");
        match kind {
            "tdes_ksn" => tdes_ksn_record(v),
            "tdes_data_decrypt" => tdes_data_decrypt(v),
            "tdes_ksn_advance" => tdes_ksn_advance(v),
            other => panic!("unhandled TDES vector kind {other}"),
        }
        *counts.entry(kind.to_owned()).or_default() += 1;
    }
    assert_eq!(counts.get("tdes_ksn"), Some(&27));
    assert_eq!(counts.get("tdes_ksn_advance"), Some(&10));
    assert_eq!(counts.get("tdes_data_decrypt"), Some(&1));
    assert_eq!(counts.values().sum::<usize>(), 38);
}

/// The X9.24-1 A.4 sequences run on a device in order: the initial sequence from the
/// IPEK and the rollover sequence from counter FF800, every vector KSN on the way.
#[test]
fn tdes_device_runs_the_annex_sequences() {
    let file: Value = serde_json::from_str(TDES_FILE).unwrap();
    let mut expected: BTreeMap<u32, String> = BTreeMap::new();
    let mut bdk = None;
    for v in file["vectors"].as_array().unwrap() {
        if s(v, "kind") == "tdes_ksn" && s(v, "initial_ksn") == "FFFF9876543210E00000" {
            let ksn = TdesKsn::parse(&hex(s(v, "ksn"))).unwrap();
            expected.insert(
                ksn.counter(),
                s(&v["expected"], "transaction_key").to_owned(),
            );
            bdk = Some(hex(s(v, "bdk")));
        }
    }
    let ksn0 = TdesKsn::parse(&hex("FFFF9876543210E00000")).unwrap();
    let ipek = TdesBdk::from_bytes(&bdk.unwrap()).unwrap().ipek(&ksn0);
    let mut hits = 0;
    for (start, stop) in [(1u32, 0x14u32), (0xFF800, 0x10_0000)] {
        let mut flash = Flash::new();
        let mut dev =
            TdesDevice::dangerous_load_ipek_at(&mut flash, RecordId(3), &ipek, start).unwrap();
        loop {
            let txn = dev.next_transaction(&mut flash).unwrap();
            let c = txn.ksn().counter();
            let host = ipek.transaction_key(&txn.ksn()).unwrap();
            assert_eq!(txn.dangerous_expose(), host.dangerous_expose(), "{c:#x}");
            if let Some(k) = expected.get(&c) {
                assert_eq!(&hex_of(txn.dangerous_expose()), k, "{c:#x}");
                hits += 1;
            }
            if c >= stop {
                break;
            }
        }
    }
    // 14 of the initial sequence (1..=0x14), 9 of the rollover sequence (FF800..100000).
    assert_eq!(hits, 23);
}

#[test]
fn tdes_device_from_ipek_starts_at_one_and_exhausts() {
    let ksn0 = TdesKsn::parse(&hex("FFFF9876543210E00000")).unwrap();
    let ipek = Ipek::from_bytes(&ksn0, &hex("6AC292FAA1315B4D858AB3A3D7D5933A")).unwrap();
    let mut flash = Flash::new();
    let mut dev = TdesDevice::load_ipek(&mut flash, RecordId(0), &ipek).unwrap();
    assert_eq!(dev.next_ksn(&mut flash).unwrap().unwrap().counter(), 1);
    let t = dev.next_transaction(&mut flash).unwrap();
    assert_eq!(
        hex_of(t.dangerous_expose()),
        "042666B49184CFA368DE9628D0397BC9"
    );
    let reopened = TdesDevice::open(&mut flash, RecordId(0)).unwrap();
    assert_eq!(reopened.initial_ksn(), ksn0);

    let mut dev =
        TdesDevice::dangerous_load_ipek_at(&mut flash, RecordId(0), &ipek, 0x1F_F800).unwrap();
    let last = dev.next_transaction(&mut flash).unwrap();
    assert_eq!(last.ksn().counter(), 0x1F_F800);
    assert_eq!(dev.next_ksn(&mut flash).unwrap(), None);
    assert_eq!(
        dev.next_transaction(&mut flash).err(),
        Some(Error::Dukpt(DukptError::Exhausted))
    );
    // An AES device cannot open TDES state.
    assert_eq!(
        AesDevice::open(&mut flash, RecordId(0)).err(),
        Some(Error::Store(StoreError::Corrupt))
    );
}

fn sample_counters(rng: &mut InsecureTestRng, max_ones: u32, bits: u32, n: usize) -> Vec<u32> {
    let mask = if bits == 32 {
        u32::MAX
    } else {
        (1u32 << bits) - 1
    };
    (0..n)
        .map(|_| {
            loop {
                let mut c = rng.next_u32() & mask;
                // Clear random bits until the counter is valid, so every popcount occurs.
                while c.count_ones() > max_ones {
                    c &= !(1 << (rng.next_u32() % bits));
                }
                if c != 0 {
                    break c;
                }
            }
        })
        .collect()
}

/// Device-side and host-side keys agree for random counters and at the counter's
/// rollover edges: load the device at the counter, run transactions from there, and
/// derive every one on the host (plain, cached and batched).
#[test]
fn aes_device_and_host_agree_for_random_counters() {
    let mut rng = InsecureTestRng::new(0xD0C7);
    let mut edges = vec![
        1,
        2,
        0xFF,
        0xFFFE,
        0xFFFF,
        0x1_0000,
        0x1_FFFE,
        0x2_0000,
        0x2_0001,
        0x7FFF_8000,
        0x8000_0000,
        0xFFFE_0000,
        0xFFFE_2000,
        0xFFFE_8000,
        0xFFFF_0000,
        0x0000_FFFF,
        0xAAAA_AAAA,
        0x5555_5555,
    ];
    // Counters with exactly 16 one-bits: the next one carries.
    edges.extend((0..16).map(|k| 0xFFFFu32 << k));
    edges.extend(sample_counters(&mut rng, 16, 32, 120));
    let mut checked = 0;
    for (i, &start) in edges.iter().enumerate() {
        let size = [AesKeySize::Aes128, AesKeySize::Aes192, AesKeySize::Aes256][i % 3];
        let bdk = AesBdk::generate(size, &mut rng);
        let mut id = [0u8; 8];
        rng.fill_bytes(&mut id);
        let ikid = InitialKeyId::new(id);
        let ik = bdk.initial_key(ikid).unwrap();
        let mut cache = HostCache::new(bdk.initial_key(ikid).unwrap());
        let mut flash = Flash::new();
        let mut dev =
            AesDevice::dangerous_load_initial_key_at(&mut flash, RecordId(10), &ik, start).unwrap();
        let mut expected = Some(AesKsn::new(ikid, start));
        let mut ksns = Vec::new();
        let mut pins = Vec::new();
        for _ in 0..(1 + rng.next_u32() % 40) {
            let Some(want) = expected else {
                assert_eq!(
                    dev.next_transaction(&mut flash).err(),
                    Some(Error::Dukpt(DukptError::Exhausted))
                );
                break;
            };
            // Every few transactions the device is "reset" and re-opened from flash.
            if rng.next_u32().is_multiple_of(4) {
                dev = AesDevice::open(&mut flash, RecordId(10)).unwrap();
            }
            assert_eq!(dev.next_ksn(&mut flash).unwrap(), Some(want));
            let txn = dev.next_transaction(&mut flash).unwrap();
            assert_eq!(txn.ksn(), want);
            let host = ik.transaction_key(&want).unwrap();
            assert_eq!(
                txn.dangerous_expose(),
                host.dangerous_expose(),
                "{start:#x} -> {want}"
            );
            let cached = cache.transaction_key(&want).unwrap();
            assert_eq!(cached.dangerous_expose(), host.dangerous_expose());
            let ty = KeyType::ALL[(rng.next_u32() % 8) as usize];
            let usage = WorkingKeyUsage::ALL[(rng.next_u32() % 8) as usize];
            match (txn.working_key(usage, ty), host.working_key(usage, ty)) {
                (Ok(a), Ok(b)) => assert_eq!(a.dangerous_expose(), b.dangerous_expose()),
                (Err(a), Err(b)) => {
                    assert_eq!(a, b);
                    assert_eq!(a, Error::Dukpt(DukptError::KeyTooStrong));
                    assert!(!ty.allowed_under(size));
                }
                other => panic!("device and host disagree: {other:?}"),
            }
            pins.push(hex_of(
                txn.working_key(WorkingKeyUsage::PinEncryption, KeyType::Aes128)
                    .unwrap()
                    .dangerous_expose(),
            ));
            ksns.push(want);
            expected = want.next();
            checked += 1;
        }
        let mut got = vec![String::new(); ksns.len()];
        ik.for_each_working_key(
            ksns.iter().copied(),
            WorkingKeyUsage::PinEncryption,
            KeyType::Aes128,
            |i, _, r| {
                got[i] = hex_of(r.unwrap().dangerous_expose());
            },
        )
        .unwrap();
        assert_eq!(got, pins);
    }
    assert!(checked > 1000, "{checked}");
}

#[test]
fn tdes_device_and_host_agree_for_random_counters() {
    let mut rng = InsecureTestRng::new(0x7DE5);
    let mut starts = vec![
        1, 0x3FF, 0x400, 0xFF800, 0xFFC00, 0x1F_F000, 0x1F_F800, 0x10_0000,
    ];
    starts.extend((0..10).map(|k| 0x3FFu32 << k));
    starts.extend(sample_counters(&mut rng, 10, 21, 60));
    let mut checked = 0;
    for start in starts {
        let mut b = [0u8; 16];
        rng.fill_bytes(&mut b);
        let mut k = [0u8; 10];
        rng.fill_bytes(&mut k);
        let ksn0 = TdesKsn::from_bytes(&k).initial_ksn();
        let ipek = TdesBdk::from_bytes(&b).unwrap().ipek(&ksn0);
        let mut flash = Flash::new();
        let mut dev =
            TdesDevice::dangerous_load_ipek_at(&mut flash, RecordId(0), &ipek, start).unwrap();
        let mut expected = Some(ksn0.with_counter(start).unwrap());
        for _ in 0..30 {
            let Some(want) = expected else {
                assert_eq!(
                    dev.next_transaction(&mut flash).err(),
                    Some(Error::Dukpt(DukptError::Exhausted))
                );
                break;
            };
            let txn = dev.next_transaction(&mut flash).unwrap();
            assert_eq!(txn.ksn(), want);
            let host = ipek.transaction_key(&want).unwrap();
            assert_eq!(txn.dangerous_expose(), host.dangerous_expose());
            expected = want.next();
            checked += 1;
        }
    }
    assert!(checked > 1000, "{checked}");
}

/// A record store whose writes start failing after a budget: a power cut at every
/// possible point of a transaction.
struct CutStore {
    inner: Flash,
    budget: Option<usize>,
}

impl Records for CutStore {
    fn max_record_len(&self) -> usize {
        self.inner.max_record_len()
    }
    fn read_record(&mut self, id: RecordId, out: &mut [u8]) -> provkit::Result<usize> {
        self.inner.read_record(id, out)
    }
    fn write_record(&mut self, id: RecordId, data: &[u8]) -> provkit::Result<()> {
        match &mut self.budget {
            Some(0) => Err(StoreError::Backend(BackendCause::FLASH).into()),
            Some(n) => {
                *n -= 1;
                self.inner.write_record(id, data)
            }
            None => self.inner.write_record(id, data),
        }
    }
    fn delete_record(&mut self, id: RecordId) -> provkit::Result<()> {
        self.inner.delete_record(id)
    }
}

/// A device loaded at counter `start` into a fresh [`CutStore`] with power on.
fn device_at(ik: &InitialKey, start: u32) -> (CutStore, AesDevice) {
    let mut store = CutStore {
        inner: Flash::new(),
        budget: None,
    };
    let dev = AesDevice::dangerous_load_initial_key_at(&mut store, RecordId(0), ik, start).unwrap();
    (store, dev)
}

#[test]
fn power_cut_never_reuses_a_counter() {
    let bdk = AesBdk::from_bytes(&[0x42; 16]).unwrap();
    let ikid = InitialKeyId::new(*b"PWRCUT01");
    let ik = bdk.initial_key(ikid).unwrap();
    for start in [
        1u32,
        0x0F,
        0xFFFE,
        0xFFFF,
        0x8000_0000,
        0xFFFE_8000,
        0xFFFF_0000,
    ] {
        for budget in 0..40 {
            let (mut store, mut dev) = device_at(&ik, start);
            store.budget = Some(budget);
            let mut used = Vec::new();
            let failed = loop {
                match dev.next_transaction(&mut store) {
                    Ok(t) => used.push(t.ksn().counter()),
                    Err(e) => break e,
                }
            };
            assert!(
                failed == Error::Store(StoreError::Backend(BackendCause::FLASH))
                    || failed == Error::Dukpt(DukptError::Exhausted)
            );
            // Power returns: re-open and carry on.
            store.budget = None;
            let mut dev = AesDevice::open(&mut store, RecordId(0)).unwrap();
            match dev.next_transaction(&mut store) {
                Ok(t) => {
                    let c = t.ksn().counter();
                    assert!(
                        used.iter().all(|&u| u < c),
                        "counter {c:#x} reused after cut ({used:x?})"
                    );
                    let host = ik.transaction_key(&t.ksn()).unwrap();
                    assert_eq!(t.dangerous_expose(), host.dangerous_expose());
                }
                Err(e) => assert_eq!(e, Error::Dukpt(DukptError::Exhausted)),
            }
        }
    }
}

/// A power cut after a transaction's commit and before the wipe of its register leaves
/// that register holding the used counter's key, which derives every counter below it
/// already used. Opening the device, and its next transaction, must empty it.
#[test]
fn a_cut_between_commit_and_wipe_leaves_no_used_key() {
    let bdk = AesBdk::from_bytes(&[0x24; 16]).unwrap();
    let ikid = InitialKeyId::new(*b"WIPECUT1");
    let ik = bdk.initial_key(ikid).unwrap();
    for start in [1u32, 2, 3, 4, 6, 0x0F, 0x10, 0xFFFE_8000, 0xFFFF_0000] {
        for reopen in [true, false] {
            let (mut store, mut dev) = device_at(&ik, start);
            // The transaction writes its children (while the counter has room for more
            // one-bits), then the commit, then the wipe: power fails at the wipe.
            let cur = start.trailing_zeros();
            let children = if start.count_ones() < 16 { cur } else { 0 };
            store.budget = Some(children as usize + 1);
            assert_eq!(
                dev.next_transaction(&mut store).unwrap_err(),
                Error::Store(StoreError::Backend(BackendCause::FLASH))
            );
            store.budget = None;
            let used = ik.transaction_key(&AesKsn::new(ikid, start)).unwrap();
            if reopen {
                AesDevice::open(&mut store, RecordId(0)).unwrap();
            } else {
                match dev.next_transaction(&mut store) {
                    Ok(t) => assert!(t.ksn().counter() > start),
                    Err(e) => assert_eq!(e, Error::Dukpt(DukptError::Exhausted)),
                }
            }
            let mut rec = [0u8; 64];
            let n = store
                .inner
                .read_record(RecordId(1 + cur), &mut rec)
                .unwrap();
            // (The next transaction may refill the register with a child's key.)
            assert!(
                !reopen || rec[..n].iter().all(|&b| b == 0),
                "start {start:#x} reopen {reopen}: used register {cur} not wiped"
            );
            for j in 0..32 {
                let n = store.inner.read_record(RecordId(1 + j), &mut rec).unwrap();
                assert!(
                    !rec[..n].windows(16).any(|w| w == used.dangerous_expose()),
                    "start {start:#x}: register {j} holds the used key"
                );
            }
        }
    }
}

#[test]
fn strict_host_checks() {
    let bdk = AesBdk::from_bytes(&hex("FEDCBA9876543210F1F1F1F1F1F1F1F1")).unwrap();
    let ikid = InitialKeyId::new(hex("1234567890123456").try_into().unwrap());
    let ik = bdk.initial_key(ikid).unwrap();
    let bad = |c| ik.transaction_key(&AesKsn::new(ikid, c)).err();
    assert_eq!(bad(0), Some(Error::Dukpt(DukptError::InvalidCounter)));
    assert_eq!(
        bad(0x1_FFFF),
        Some(Error::Dukpt(DukptError::InvalidCounter))
    );
    assert_eq!(
        bad(0xFFFF_0001),
        Some(Error::Dukpt(DukptError::InvalidCounter))
    );
    assert_eq!(
        bad(u32::MAX),
        Some(Error::Dukpt(DukptError::InvalidCounter))
    );
    let other = AesKsn::new(InitialKeyId::new([0; 8]), 1);
    assert_eq!(
        ik.transaction_key(&other).err(),
        Some(Error::Dukpt(DukptError::KsnMismatch))
    );
    assert_eq!(
        ik.transaction_key_permissive(&other).err(),
        Some(Error::Dukpt(DukptError::KsnMismatch))
    );
    // Permissive counter 0 is the initial key itself.
    let zero = ik
        .transaction_key_permissive(&AesKsn::new(ikid, 0))
        .unwrap();
    assert_eq!(zero.dangerous_expose(), ik.dangerous_expose());
    // Parsing.
    assert_eq!(
        AesKsn::parse(&[0; 11]).err(),
        Some(Error::decode(
            provkit::error::DecodeErrorKind::InvalidLength,
            11
        ))
    );
    assert!(TdesKsn::parse(&[0; 12]).is_err());
    // Strength rule under an AES-128 initial key.
    let txn = ik.transaction_key(&AesKsn::new(ikid, 1)).unwrap();
    for ty in KeyType::ALL {
        let r = txn.working_key(WorkingKeyUsage::PinEncryption, ty);
        let allowed = matches!(
            ty,
            KeyType::Tdes2 | KeyType::Tdes3 | KeyType::Aes128 | KeyType::Hmac128
        );
        assert_eq!(r.is_ok(), allowed, "{ty:?}");
        if !allowed {
            assert_eq!(r.err(), Some(Error::Dukpt(DukptError::KeyTooStrong)));
            assert_eq!(
                ik.update_key(ty).err(),
                Some(Error::Dukpt(DukptError::KeyTooStrong))
            );
        }
    }
    assert!(
        ik.for_each_working_key(
            [AesKsn::new(ikid, 1)],
            WorkingKeyUsage::PinEncryption,
            KeyType::Aes256,
            |_, _, _| {}
        )
        .is_err()
    );
    // Batched derivation reports bad KSNs per item and still derives the good ones.
    let mut results = Vec::new();
    ik.for_each_working_key(
        [
            AesKsn::new(ikid, 0),
            AesKsn::new(ikid, 3),
            other,
            AesKsn::new(ikid, 0x1_FFFF),
        ],
        WorkingKeyUsage::PinEncryption,
        KeyType::Aes128,
        |i, _, r| results.push((i, r.map(|k| hex_of(k.dangerous_expose())))),
    )
    .unwrap();
    results.sort_by_key(|r| r.0);
    assert_eq!(results.len(), 4);
    assert_eq!(results[0].1, Err(Error::Dukpt(DukptError::InvalidCounter)));
    assert_eq!(
        results[1].1.as_deref(),
        Ok("7D69F01F3B45449F62C7816ECE723268")
    );
    assert_eq!(results[2].1, Err(Error::Dukpt(DukptError::KsnMismatch)));
    assert_eq!(results[3].1, Err(Error::Dukpt(DukptError::InvalidCounter)));
}

#[test]
fn helpers_refuse_the_wrong_key() {
    let bdk = AesBdk::from_bytes(&[1; 32]).unwrap();
    let ikid = InitialKeyId::new([2; 8]);
    let txn = bdk
        .initial_key(ikid)
        .unwrap()
        .transaction_key(&AesKsn::new(ikid, 9))
        .unwrap();
    let wrong = Some(Error::Dukpt(DukptError::WrongKeyUsage));
    let pin = txn
        .working_key(WorkingKeyUsage::PinEncryption, KeyType::Aes256)
        .unwrap();
    let mac = txn
        .working_key(WorkingKeyUsage::MacBothWays, KeyType::Aes256)
        .unwrap();
    let hmac = txn
        .working_key(WorkingKeyUsage::MacGeneration, KeyType::Hmac256)
        .unwrap();
    let data = txn
        .working_key(WorkingKeyUsage::DataBothWays, KeyType::Aes192)
        .unwrap();
    let kek = txn
        .working_key(WorkingKeyUsage::KeyEncryptionKey, KeyType::Aes128)
        .unwrap();
    assert_eq!(cmac(&pin, b"x").err(), wrong);
    assert_eq!(cmac(&hmac, b"x").err(), wrong);
    assert_eq!(hmac_sha256(&mac, b"x").err(), wrong);
    assert_eq!(
        encrypt_pin_block_with_fill(&mac, b"1234", b"4111111111111111", &[0; 8]).err(),
        wrong
    );
    assert_eq!(cbc_encrypt(&pin, &[0; 16], &mut [0; 16]).err(), wrong);
    assert_eq!(cbc_encrypt(&kek, &[0; 16], &mut [0; 16]).err(), wrong);
    assert!(cbc_encrypt(&data, &[0; 16], &mut [0; 15]).is_err());
    assert!(cbc_encrypt(&data, &[0; 8], &mut [0; 16]).is_err());
    assert_eq!(
        encrypt_pin_block_with_fill(&pin, b"123", b"4111111111111111", &[0; 8]).err(),
        Some(Error::Dukpt(DukptError::InvalidPin))
    );
    assert_eq!(
        encrypt_pin_block_with_fill(&pin, b"1234", b"41111111111111111111", &[0; 8]).err(),
        Some(Error::Dukpt(DukptError::InvalidPan))
    );
    // A TDEA data key from AES DUKPT encrypts with TDES-CBC.
    let tdea = txn
        .working_key(WorkingKeyUsage::DataEncryption, KeyType::Tdes3)
        .unwrap();
    let mut buf = *b"0123456789abcdef";
    cbc_encrypt(&tdea, &[0; 8], &mut buf).unwrap();
    cbc_decrypt(&tdea, &[0; 8], &mut buf).unwrap();
    assert_eq!(&buf, b"0123456789abcdef");
    // Short PANs pad left with zeros in format 4.
    assert_eq!(
        hex_of(&format4_pan_field(b"12345").unwrap()),
        "00000000123450000000000000000000"
    );
    // Debug never shows key bytes.
    let text = format!("{pin:?} {txn:?} {bdk:?}");
    assert!(!text.contains("0101"), "{text}");
}

#[test]
fn device_state_survives_small_records_and_rejects_garbage() {
    let ik = InitialKey::from_bytes(InitialKeyId::new([9; 8]), &[3; 32]).unwrap();
    // AES-256 registers are 36-byte records: a 32-byte-record store is refused.
    let mut tiny = MemoryStore::<0, 40, 32>::new();
    assert_eq!(
        AesDevice::load_initial_key(&mut tiny, RecordId(0), &ik).err(),
        Some(Error::Store(StoreError::RecordTooLarge))
    );
    let mut flash = Flash::new();
    assert_eq!(
        AesDevice::open(&mut flash, RecordId(0)).err(),
        Some(Error::Store(StoreError::NotFound))
    );
    flash
        .write_record(RecordId(0), b"not a dukpt header")
        .unwrap();
    assert_eq!(
        AesDevice::open(&mut flash, RecordId(0)).err(),
        Some(Error::Store(StoreError::Corrupt))
    );
    let mut dev = AesDevice::load_initial_key(&mut flash, RecordId(0), &ik).unwrap();
    // A stale handle to state that was replaced by another device's does not touch it.
    let other = InitialKey::from_bytes(InitialKeyId::new([8; 8]), &[4; 32]).unwrap();
    let mut stale = AesDevice::load_initial_key(&mut flash, RecordId(0), &other).unwrap();
    let fresh = AesDevice::load_initial_key(&mut flash, RecordId(0), &ik).unwrap();
    assert_eq!(
        stale.next_transaction(&mut flash).err(),
        Some(Error::Store(StoreError::Corrupt))
    );
    assert_eq!(fresh.next_ksn(&mut flash).unwrap().unwrap().counter(), 1);
    // A tampered register is detected, not used.
    flash.write_record(RecordId(1), &[0; 36]).unwrap();
    assert_eq!(
        dev.next_transaction(&mut flash).err(),
        Some(Error::Store(StoreError::Corrupt))
    );
}

/// The host cache and the batch keep intermediate keys by counter prefix and, with every
/// working key, the future keys of the counter's children (one AES call for all of them).
/// Whatever order KSNs come in (in order from any start, including runs that end at 16
/// one-bits; random; replays and jumps back), every key size and every key type, they
/// give exactly the plain derivation's keys.
#[test]
fn cache_and_batch_match_plain_derivation_in_any_order() {
    let mut rng = InsecureTestRng::new(0xCAC4E);
    let sizes = [AesKeySize::Aes128, AesKeySize::Aes192, AesKeySize::Aes256];
    let mut starts = vec![1u32, 2, 0x7F, 0x1_0000, 0x8000_0000, 0xFFFE_0000];
    starts.extend((0..16).map(|k| 0xFFFFu32 << k));
    starts.extend(sample_counters(&mut rng, 16, 32, 6));
    let mut checked = 0usize;
    for (round, size) in sizes.iter().copied().enumerate() {
        let bdk = AesBdk::generate(size, &mut rng);
        let ikid = InitialKeyId::new([round as u8, 1, 2, 3, 4, 5, 6, 7]);
        let ik = bdk.initial_key(ikid).unwrap();
        let mut cache = HostCache::new(bdk.initial_key(ikid).unwrap());
        let mut ksns = Vec::new();
        // In order from each start (the cache carries over from the previous run: a jump).
        for &start in &starts {
            let run = core::iter::successors(Some(AesKsn::new(ikid, start)), AesKsn::next);
            ksns.extend(run.take(1 + (rng.next_u32() % 70) as usize));
        }
        // Random counters, then replays of earlier KSNs in random order.
        ksns.extend(
            sample_counters(&mut rng, 16, 32, 60)
                .into_iter()
                .map(|c| AesKsn::new(ikid, c)),
        );
        let earlier = ksns.clone();
        ksns.extend((0..80).map(|_| earlier[(rng.next_u32() as usize) % earlier.len()]));
        let allowed: Vec<KeyType> = KeyType::ALL
            .into_iter()
            .filter(|t| t.allowed_under(size))
            .collect();
        for ksn in &ksns {
            let ty = allowed[(rng.next_u32() as usize) % allowed.len()];
            let usage = WorkingKeyUsage::ALL[(rng.next_u32() % 8) as usize];
            let want = ik.working_key(ksn, usage, ty).unwrap();
            // Alternate the cache's two entry points: both must leave it consistent.
            let got = if rng.next_u32().is_multiple_of(3) {
                cache
                    .transaction_key(ksn)
                    .unwrap()
                    .working_key(usage, ty)
                    .unwrap()
            } else {
                cache.working_key(ksn, usage, ty).unwrap()
            };
            assert_eq!(
                got.dangerous_expose(),
                want.dangerous_expose(),
                "{size:?} {ksn} {ty:?}"
            );
            checked += 1;
        }
        // The batch, on the same sequence, for every key type this size allows.
        for ty in allowed {
            let mut got = vec![None; ksns.len()];
            ik.for_each_working_key(
                ksns.iter().copied(),
                WorkingKeyUsage::DataEncryption,
                ty,
                |i, k, r| {
                    assert_eq!(*k, ksns[i]);
                    assert!(got[i].is_none(), "index {i} reported twice");
                    got[i] = Some(hex_of(r.unwrap().dangerous_expose()));
                },
            )
            .unwrap();
            for (ksn, got) in ksns.iter().zip(got) {
                let want = ik
                    .working_key(ksn, WorkingKeyUsage::DataEncryption, ty)
                    .unwrap();
                assert_eq!(
                    got.as_deref(),
                    Some(hex_of(want.dangerous_expose()).as_str())
                );
            }
        }
    }
    assert!(checked > 1000, "{checked}");
}
