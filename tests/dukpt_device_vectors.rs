//! The AES DUKPT device state, record by record (`docs/dukpt.md`, "Device state"): an
//! AES-128 initial key from `tests/data/dukpt/aes_dukpt.json` loaded into a
//! `MemoryStore`-backed `AesDevice`, then five transactions. After each step the test
//! reads the exact bytes of every record the device keeps (the header at `base` and the 32
//! registers at `base + 1 + i`), decodes them with a decoder written here from the spec,
//! and checks the decoding against what the spec says the state must be: the header
//! fields, which registers are live (a function of the next counter alone) and their keys,
//! recomputed from the initial key with the AES DUKPT derivation written here with the
//! `aes` crate (not provkit's). It also checks the decoding against the device's own
//! reads (`next_ksn`, `dangerous_register`), the transaction keys against the source
//! vectors, and that nothing is stored outside the 33 records.
//!
//! The result is `tests/data/dukpt/device_state.json`; `PROVKIT_REGENERATE=1` rewrites
//! it, otherwise the regenerated text must equal the committed file.

use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use provkit::dukpt::{AesDevice, InitialKey, InitialKeyId};
use provkit::error::{Error, StoreError};
use provkit::store::{MemoryStore, RecordId, Records};
use serde_json::{Value, json};

/// Where the device's records start: not 0, so that `base + 1 + i` shows.
const BASE: u32 = 10;
const REGISTERS: u32 = 32;
const MAX_ONES: u32 = 16;
const TRANSACTIONS: usize = 5;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The source vectors: the AES-128 device sequence of `aes_dukpt.json`.
fn source() -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dukpt/aes_dukpt.json");
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    all["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == "aes128bdk-device-sequence-1-50")
        .unwrap()
        .clone()
}

/// AES DUKPT intermediate derivation (docs/dukpt.md): `AES-ECB(k, 01 01 8000 0002 0080 ‖
/// DerivationID ‖ counter)` for an AES-128 key.
fn derive(k: &[u8], derivation_id: &[u8], counter: u32) -> Vec<u8> {
    let mut dd = [0u8; 16];
    dd[..8].copy_from_slice(&[0x01, 0x01, 0x80, 0x00, 0x00, 0x02, 0x00, 0x80]);
    dd[8..12].copy_from_slice(derivation_id);
    dd[12..].copy_from_slice(&counter.to_be_bytes());
    let mut block = Array::from(dd);
    aes::Aes128::new_from_slice(k)
        .unwrap()
        .encrypt_block(&mut block);
    block.to_vec()
}

/// The intermediate derivation key of counter `c`: from the IK, one derivation per
/// one-bit of `c`, most significant first, over the running prefix.
fn transaction_key(ik: &[u8], ikid: &[u8], c: u32) -> Vec<u8> {
    let mut k = ik.to_vec();
    let mut prefix = 0u32;
    for j in (0..32).rev() {
        if c & (1 << j) != 0 {
            prefix |= 1 << j;
            k = derive(&k, &ikid[4..8], prefix);
        }
    }
    k
}

/// docs/dukpt.md: the counter whose key register `j` holds when the next counter is `n`.
fn live_counter(n: u32, j: u32) -> Option<u32> {
    let low = n.trailing_zeros();
    if j < low {
        return None;
    }
    if j == low {
        return Some(n);
    }
    if n & (1 << j) != 0 {
        return None;
    }
    let above = if j == 31 {
        0
    } else {
        n & !((1u32 << (j + 1)) - 1)
    };
    (above.count_ones() < MAX_ONES).then_some(above | 1 << j)
}

/// The header record, decoded from the spec.
struct Header {
    scheme: u8,
    status: u8,
    next_counter: u32,
    id: Vec<u8>,
}

fn decode_header(b: &[u8]) -> (Header, Value) {
    assert_eq!(b.len(), 18, "header length");
    assert_eq!(&b[..2], &[0x44, 0x01], "magic and version");
    let h = Header {
        scheme: b[2],
        status: b[3],
        next_counter: u32::from_be_bytes(b[4..8].try_into().unwrap()),
        id: b[8..18].to_vec(),
    };
    let scheme = match h.scheme {
        0x02 => "AES-128",
        0x03 => "AES-192",
        0x04 => "AES-256",
        0x80 => "TDES",
        other => panic!("unknown scheme {other:#04x}"),
    };
    let status = match h.status {
        0 => "active",
        1 => "exhausted",
        2 => "loading",
        other => panic!("unknown status {other}"),
    };
    let v = json!({
        "magic": hex(&b[..1]),
        "version": b[1],
        "scheme": hex(&b[2..3]),
        "scheme_name": scheme,
        "status": h.status,
        "status_name": status,
        "next_counter": hex(&b[4..8]),
        "id": hex(&h.id),
        "initial_key_id": hex(&h.id[..8]),
    });
    (h, v)
}

/// A register record (AES-128: 4 + 16 bytes), decoded from the spec: counter 0 = empty,
/// and then the key bytes are zero too.
fn decode_register(b: &[u8]) -> (Option<(u32, Vec<u8>)>, Value) {
    assert_eq!(b.len(), 20, "register length");
    let counter = u32::from_be_bytes(b[..4].try_into().unwrap());
    if counter == 0 {
        assert!(
            b[4..].iter().all(|&x| x == 0),
            "an empty register holds zeros"
        );
        return (None, json!({ "counter": hex(&b[..4]), "empty": true }));
    }
    (
        Some((counter, b[4..].to_vec())),
        json!({ "counter": hex(&b[..4]), "empty": false, "key": hex(&b[4..]) }),
    )
}

fn read(store: &mut MemoryStore<0, 40, 64>, id: u32) -> Vec<u8> {
    let mut buf = [0u8; 64];
    let n = store.read_record(RecordId(id), &mut buf).unwrap();
    buf[..n].to_vec()
}

/// Every record the device keeps, decoded and checked against the spec and the device.
fn snapshot(
    store: &mut MemoryStore<0, 40, 64>,
    dev: &AesDevice,
    ik: &[u8],
    ikid: &[u8],
    want_next: u32,
) -> Value {
    // Nothing outside the 33 records.
    for outside in [BASE - 1, BASE + 1 + REGISTERS] {
        let mut buf = [0u8; 64];
        assert_eq!(
            store.read_record(RecordId(outside), &mut buf),
            Err(Error::Store(StoreError::NotFound))
        );
    }
    let hb = read(store, BASE);
    let (h, hv) = decode_header(&hb);
    assert_eq!(h.scheme, 0x02, "AES-128");
    assert_eq!(h.status, 0, "active");
    assert_eq!(h.next_counter, want_next);
    assert_eq!(h.id, [ikid, &[0, 0][..]].concat(), "IKID ‖ 0000");
    let ksn = dev.next_ksn(store).unwrap().unwrap();
    assert_eq!(ksn.counter(), h.next_counter, "next_ksn");
    assert_eq!(&ksn.to_bytes()[..8], ikid);
    let mut records = vec![json!({
        "record_id": BASE,
        "role": "header",
        "bytes": hex(&hb),
        "decoded": hv,
    })];
    for j in 0..REGISTERS {
        let id = BASE + 1 + j;
        let rb = read(store, id);
        let (reg, rv) = decode_register(&rb);
        let want = live_counter(h.next_counter, j).map(|c| (c, transaction_key(ik, ikid, c)));
        assert_eq!(reg, want, "register {j} at next counter {}", h.next_counter);
        let device = dev.dangerous_register(store, j).unwrap();
        assert_eq!(
            device.as_ref().map(|k| k.dangerous_expose().to_vec()),
            reg.as_ref().map(|(_, k)| k.clone()),
            "dangerous_register({j})"
        );
        records.push(json!({
            "record_id": id,
            "role": format!("register {j}"),
            "bytes": hex(&rb),
            "decoded": rv,
        }));
    }
    Value::Array(records)
}

#[test]
fn dukpt_device_state_follows_from_the_spec() {
    let src = source();
    let ik = unhex(src["initial_key"].as_str().unwrap());
    let ikid = unhex(src["initial_key_id"].as_str().unwrap());
    let sequence = src["expected"]["sequence"].as_array().unwrap();
    let initial =
        InitialKey::from_bytes(InitialKeyId::new(ikid.clone().try_into().unwrap()), &ik).unwrap();
    let mut store = MemoryStore::<0, 40, 64>::new();
    let mut dev = AesDevice::load_initial_key(&mut store, RecordId(BASE), &initial).unwrap();
    let mut steps = vec![json!({
        "step": "load_initial_key",
        "records": snapshot(&mut store, &dev, &ik, &ikid, 1),
    })];
    // After the load, the registers are the source's (X9.24-3 supplement listing).
    let after_load = src_registers("aes128bdk-device-registers-after-load");
    for (j, want) in after_load.iter().enumerate() {
        let got = &steps[0]["records"][j + 1]["decoded"];
        assert_eq!(got.get("key").and_then(Value::as_str), want.as_deref());
    }
    for (t, expected) in sequence.iter().enumerate().take(TRANSACTIONS) {
        let tk = dev.next_transaction(&mut store).unwrap();
        let counter = tk.ksn().counter();
        assert_eq!(
            format!("{counter:08X}"),
            expected["transaction_counter"].as_str().unwrap()
        );
        assert_eq!(
            hex(tk.dangerous_expose()),
            expected["transaction_key"].as_str().unwrap().to_lowercase()
        );
        let next = counter + 1;
        let records = snapshot(&mut store, &dev, &ik, &ikid, next);
        if t == 0 {
            let after_tx1 = src_registers("aes128bdk-device-registers-after-tx1");
            for (j, want) in after_tx1.iter().enumerate() {
                let got = &records[j + 1]["decoded"];
                assert_eq!(got.get("key").and_then(Value::as_str), want.as_deref());
            }
        }
        steps.push(json!({
            "step": format!("next_transaction #{}", t + 1),
            "transaction_counter": format!("{counter:08x}"),
            "ksn": hex(&tk.ksn().to_bytes()),
            "transaction_key": hex(tk.dangerous_expose()),
            "records": records,
        }));
    }
    let all = json!({
        "source": "provkit tests/dukpt_device_vectors.rs: an AesDevice on a MemoryStore, decoded with a decoder written from docs/dukpt.md (\"Device state and the counter discipline\") and checked against it: live registers and their keys recomputed from the initial key with the AES DUKPT derivation written with the aes crate, the device's own reads, and the initial key, registers and transaction keys of tests/data/dukpt/aes_dukpt.json",
        "conventions": "hex byte strings; counters u32 big-endian; record `base` = header (18 bytes): 44 (magic) | 01 (version) | scheme (02 AES-128) | status (00 active, 01 exhausted, 02 loading) | next counter (4) | IKID (8) | 0000; record `base + 1 + i` = register i (20 bytes for AES-128): counter (4, 00000000 = empty, then the key bytes are zero) | intermediate derivation key (16)",
        "initial_key_source": "tests/data/dukpt/aes_dukpt.json, vector aes128bdk-device-sequence-1-50",
        "initial_key": hex(&ik),
        "initial_key_id": hex(&ikid),
        "base_record_id": BASE,
        "store": "MemoryStore<0, 40, 64> (records of up to 64 bytes)",
        "steps": steps,
    });
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dukpt/device_state.json");
    let text = serde_json::to_string_pretty(&all).unwrap() + "\n";
    if std::env::var_os("PROVKIT_REGENERATE").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "DUKPT device state vector changed"
    );
}

/// A `device_registers` vector's register list (lower-case hex, `None` = empty).
fn src_registers(id: &str) -> Vec<Option<String>> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/dukpt/aes_dukpt.json");
    let all: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let v = all["vectors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["id"] == id)
        .unwrap();
    v["expected"]["registers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().map(str::to_lowercase))
        .collect()
}
