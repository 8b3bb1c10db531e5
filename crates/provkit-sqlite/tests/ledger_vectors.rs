//! The issuance ledger's audit chain (`docs/ledger.md`), byte for byte: a fixed session on
//! a `SqliteLedger` (in memory) driven through `provkit_ledger::Ledger` with fixed keys,
//! a fixed RNG seed for the shipments and a fixed `now` per call, whose audit log holds
//! every event kind of the spec (all 17 tags) and every refusal code the session can
//! reach. For each audit row the vector gives the columns as stored, the event's fields
//! decoded by a decoder written here from the spec's table (not provkit's), the previous
//! hash, the exact bytes hashed and the hash; then the head, the final `ledger_keys`,
//! `ledger_imports` and `ledger_kek_policy` rows, and each key's fingerprint with its
//! CBC-MAC intermediates.
//!
//! The result is `tests/data/ledger/audit_chain.json` (at the workspace root);
//! `PROVKIT_REGENERATE=1` rewrites it, otherwise the regenerated text must equal the
//! committed file. A second test reads the committed file alone and recomputes everything
//! from `docs/ledger.md` with `sha2` and `aes` directly: event layouts, the `kind` and
//! `serial` columns, the chain from `h_0`, the head, fingerprints, header and
//! certificate hashes.

use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use provkit::ec::EcPublicKey;
use provkit::envelope::shipment::{
    DeviceKeyRecord, HEADER_LEN, KeyUsageCode, ShipmentParams, ShipmentWriter, chunk_buffer_len,
};
use provkit::envelope::{KekId, KekRef, KekRing, KekSlot};
use provkit::secret::{SecretBuf, SecretBytes};
use provkit::store::{IdentityKeys, KeyId, KeyKind, MemoryStore, SymmetricKeys, WrapAlgorithm};
use provkit::testing::InsecureTestRng;
use provkit_ledger::{
    Ledger, LedgerBackend, LedgerConfig, LedgerError, LedgerTx, StoredWrap, TxMode,
};
use provkit_sqlite::{SqliteLedger, SqliteOptions};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

// ------------------------------------------------------------------ inputs

const AUTHORITY_SCALAR: [u8; 32] = [0xA1; 32];
const MANUFACTURER_SCALAR: [u8; 32] = [0x4D; 32];
const IMPOSTOR_SCALAR: [u8; 32] = [0x4E; 32];
const MANUFACTURER_ID: [u8; 16] = *b"ACME devices ltd";
const KEK: KekId = KekId(*b"line-kek");
const FINGERPRINT_KEY: [u8; 32] = [0xF1; 32];
/// (version, store handle, AES-256 key, wrap algorithm).
const KEK_VERSIONS: [(u32, u32, [u8; 32], WrapAlgorithm); 3] = [
    (1, 2, [0x11; 32], WrapAlgorithm::AesKw),
    (2, 4, [0x22; 32], WrapAlgorithm::AesKwp),
    (3, 5, [0x33; 32], WrapAlgorithm::AesKw),
];
const RECIPIENT: KeyId = KeyId(1);
const FINGERPRINT: KeyId = KeyId(3);
const RNG_SEED: u64 = 17;
const STAGE_RECORDS: usize = 1;
const HIGH_SERIAL: u64 = 0x8000_0000_0000_0001;
const CERTIFICATE: &[u8] = include_bytes!("../../../tests/data/cert/device.der");

type Keys = MemoryStore<5, 0, 0>;
type VecLedger = Ledger<SqliteLedger, Keys, KekRing<4>>;

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn sha256(b: &[u8]) -> [u8; 32] {
    Sha256::digest(b).into()
}

fn batch(c: u8) -> [u8; 16] {
    let mut b = *b"vector batch A01";
    b[13] = c;
    b
}

/// A device key: `len` bytes `seed, seed + 1, …` (wrapping).
fn device_key(seed: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| seed.wrapping_add(i as u8)).collect()
}

fn kind_name(len: usize) -> &'static str {
    match len {
        16 => "AES-128",
        24 => "AES-192",
        _ => "AES-256",
    }
}

fn slot(version: u32) -> KekSlot {
    let (v, handle, _, wrap) = KEK_VERSIONS[version as usize - 1];
    KekSlot {
        kek: KekRef {
            id: KEK,
            version: v,
        },
        key: KeyId(handle),
        wrap,
    }
}

fn kek_store() -> Keys {
    let mut s = Keys::new();
    s.import_p256(RECIPIENT, &SecretBytes::new(AUTHORITY_SCALAR))
        .unwrap();
    s.import_symmetric(FINGERPRINT, KeyKind::Aes256, &FINGERPRINT_KEY)
        .unwrap();
    for (_, handle, key, _) in KEK_VERSIONS {
        s.import_symmetric(KeyId(handle), KeyKind::Aes256, &key)
            .unwrap();
    }
    s
}

fn ring(versions: &[u32]) -> KekRing<4> {
    let mut r = KekRing::new();
    for &v in versions {
        r.add_version(slot(v)).unwrap();
    }
    r
}

/// One shipment file: its records (serial, key id, key) and where its chunks end.
struct Shipment {
    name: &'static str,
    batch_id: [u8; 16],
    signer: &'static str,
    per_chunk: u16,
    records: Vec<(u64, u64, Vec<u8>)>,
    file: Vec<u8>,
    chunk_ends: Vec<usize>,
}

impl Shipment {
    /// The file cut after its first `chunks` chunks (no trailer).
    fn truncated(&self, chunks: usize) -> &[u8] {
        &self.file[..self.chunk_ends[chunks - 1]]
    }
}

struct Manufacturer {
    store: MemoryStore<2, 0, 0>,
    pk: EcPublicKey,
    authority_pk: EcPublicKey,
    rng: InsecureTestRng,
}

impl Manufacturer {
    fn new() -> Self {
        let mut store = MemoryStore::new();
        let pk = store
            .import_p256(KeyId(1), &SecretBytes::new(MANUFACTURER_SCALAR))
            .unwrap();
        store
            .import_p256(KeyId(2), &SecretBytes::new(IMPOSTOR_SCALAR))
            .unwrap();
        let authority_pk = kek_store().public_key(RECIPIENT).unwrap();
        Self {
            store,
            pk,
            authority_pk,
            rng: InsecureTestRng::new(RNG_SEED),
        }
    }

    fn seal(
        &mut self,
        name: &'static str,
        batch_id: [u8; 16],
        impostor: bool,
        per_chunk: u16,
        records: Vec<(u64, u64, Vec<u8>)>,
    ) -> Shipment {
        let params = ShipmentParams::new(MANUFACTURER_ID, batch_id, records.len() as u32)
            .with_records_per_chunk(per_chunk);
        let mut buf = vec![0u8; chunk_buffer_len(per_chunk)];
        let signer = KeyId(if impostor { 2 } else { 1 });
        let (mut w, header) = ShipmentWriter::new(
            &mut self.store,
            signer,
            &self.authority_pk,
            &params,
            &mut buf,
            &mut self.rng,
        )
        .unwrap();
        let mut file = header.to_vec();
        let mut chunk_ends = Vec::new();
        for (serial, key_id, key) in &records {
            let r = DeviceKeyRecord::new(
                *serial,
                *key_id,
                KeyUsageCode::INITIAL_DUKPT,
                &SecretBuf::from_slice(key).unwrap(),
            )
            .unwrap();
            if let Some(c) = w.push(&r).unwrap() {
                file.extend_from_slice(c);
                chunk_ends.push(file.len());
            }
        }
        file.extend_from_slice(&w.finish(&mut self.store).unwrap());
        Shipment {
            name,
            batch_id,
            signer: if impostor { "impostor" } else { "manufacturer" },
            per_chunk,
            records,
            file,
            chunk_ends,
        }
    }
}

/// Every shipment of the session, sealed in this order from one RNG.
fn shipments() -> (Manufacturer, Vec<Shipment>) {
    let mut m = Manufacturer::new();
    let a = vec![
        (1, 101, device_key(0x10, 16)),
        (2, 102, device_key(0x20, 24)),
        (3, 103, device_key(0x30, 32)),
        (HIGH_SERIAL, 104, device_key(0x40, 16)),
    ];
    let v = vec![
        m.seal("A", batch(b'A'), false, 2, a.clone()),
        // The same records sealed again: another header, the same batch id.
        m.seal("A-resealed", batch(b'A'), false, 2, a.clone()),
        m.seal(
            "B",
            batch(b'B'),
            true,
            2,
            vec![(40, 140, device_key(0x50, 16))],
        ),
        m.seal(
            "C",
            batch(b'C'),
            false,
            2,
            vec![
                a[0].clone(),                    // serial 1, same key: duplicate record
                (2, 202, device_key(0x60, 16)),  // serial 2, another key: serial conflict
                (10, 210, a[2].2.clone()),       // serial 3's key: duplicate key
                (11, 103, device_key(0x70, 16)), // serial 3's key id: key id conflict
                (12, 212, device_key(0x80, 16)), // promoted
            ],
        ),
        m.seal(
            "D",
            batch(b'D'),
            false,
            1,
            vec![
                (50, 150, device_key(0x90, 16)),
                (51, 151, device_key(0xA0, 16)),
            ],
        ),
        m.seal(
            "E",
            batch(b'E'),
            false,
            2,
            vec![
                (20, 120, device_key(0xB0, 16)),
                (21, 121, device_key(0xC0, 32)),
            ],
        ),
        m.seal(
            "G",
            batch(b'G'),
            false,
            2,
            vec![(30, 130, device_key(0xD0, 16))],
        ),
    ];
    (m, v)
}

// ------------------------------------------------------------------ the session

fn error_name(e: &LedgerError) -> String {
    match e {
        LedgerError::BatchConflict(_) => "BatchConflict".into(),
        LedgerError::ShipmentRejected { .. } => "ShipmentRejected".into(),
        LedgerError::Io(_) => "Io".into(),
        LedgerError::AlreadyIssued { issued_at, .. } => format!("AlreadyIssued(at {issued_at})"),
        LedgerError::UnknownSerial(_) => "UnknownSerial".into(),
        LedgerError::NotIssued(_) => "NotIssued".into(),
        LedgerError::CertificateExists(_) => "CertificateExists".into(),
        LedgerError::KekVersionInUse { below, .. } => format!("KekVersionInUse(below {below})"),
        LedgerError::KekVersionRetired(k) => format!("KekVersionRetired(version {})", k.version),
        other => panic!("unexpected error {other:?}"),
    }
}

fn outcome<T>(r: Result<T, LedgerError>, ok: impl FnOnce(T) -> String) -> String {
    match r {
        Ok(v) => ok(v),
        Err(e) => format!("error {}", error_name(&e)),
    }
}

/// Runs the session; returns the description of each call (with the sequence numbers
/// it appended) and the backend.
fn session(ships: &[Shipment], pk: &EcPublicKey) -> (Vec<Value>, SqliteLedger) {
    let by = |n: &str| ships.iter().find(|s| s.name == n).unwrap();
    let backend = SqliteLedger::open(":memory:", SqliteOptions::default()).unwrap();
    let mut config = LedgerConfig::new(KEK, FINGERPRINT);
    config.stage_records = STAGE_RECORDS;
    let mut ledger: VecLedger = Ledger::new(backend, kek_store(), ring(&[1]), config);
    let mut calls = Vec::new();
    let mut record = |ledger: &mut VecLedger,
                      call: String,
                      now: u64,
                      run: &mut dyn FnMut(&mut VecLedger) -> String| {
        let before = ledger.audit_head().unwrap().seq;
        let result = run(ledger);
        let after = ledger.audit_head().unwrap().seq;
        calls.push(json!({
            "call": call,
            "now": now,
            "result": result,
            "audit_seqs": (before + 1..=after).collect::<Vec<_>>(),
        }));
    };
    let import = |l: &mut VecLedger, file: &[u8], now: u64| {
        outcome(l.import(RECIPIENT, pk, file, now), |r| {
            format!(
                "ok: records {}, promoted {}, refused {:?}, resumed_from_chunk {}, already_imported {}",
                r.records,
                r.promoted,
                r.refused
                    .iter()
                    .map(|x| (x.serial, x.reason.code()))
                    .collect::<Vec<_>>(),
                r.resumed_from_chunk,
                r.already_imported
            )
        })
    };
    let issue = |l: &mut VecLedger, serial: u64, now: u64| {
        outcome(l.issue(serial, now), |k| {
            format!("ok: key_id {} under {:?}", k.key_id, k.wrapped.kek.version)
        })
    };
    let attach = |l: &mut VecLedger, serial: u64, now: u64| {
        outcome(l.attach_certificate(serial, CERTIFICATE, now), |()| {
            "ok".into()
        })
    };

    let a = by("A");
    record(&mut ledger, "import A".into(), 1000, &mut |l| {
        import(l, &a.file, 1000)
    });
    record(&mut ledger, "import A again".into(), 1010, &mut |l| {
        import(l, &a.file, 1010)
    });
    let a2 = by("A-resealed");
    record(&mut ledger, "import A-resealed".into(), 1020, &mut |l| {
        import(l, &a2.file, 1020)
    });
    let b = by("B");
    record(
        &mut ledger,
        "import B (signed by the impostor)".into(),
        1030,
        &mut |l| import(l, &b.file, 1030),
    );
    let c = by("C");
    record(
        &mut ledger,
        "import C cut after 2 of 3 chunks".into(),
        1040,
        &mut |l| import(l, c.truncated(2), 1040),
    );
    record(&mut ledger, "import C".into(), 1050, &mut |l| {
        import(l, &c.file, 1050)
    });
    let d = by("D");
    record(
        &mut ledger,
        "import D cut after 1 of 2 chunks".into(),
        1060,
        &mut |l| import(l, d.truncated(1), 1060),
    );
    record(&mut ledger, "abandon_import D".into(), 1070, &mut |l| {
        outcome(l.abandon_import(&d.batch_id, 1070), |n| {
            format!("ok: {n} staged rows deleted")
        })
    });
    record(&mut ledger, "issue 1".into(), 1100, &mut |l| {
        issue(l, 1, 1100)
    });
    record(&mut ledger, "issue 1".into(), 1110, &mut |l| {
        issue(l, 1, 1110)
    });
    record(&mut ledger, "issue 99".into(), 1120, &mut |l| {
        issue(l, 99, 1120)
    });
    record(
        &mut ledger,
        format!("issue_batch [2, {HIGH_SERIAL}, 77]"),
        1130,
        &mut |l| {
            outcome(l.issue_batch(&[2, HIGH_SERIAL, 77], 1130), |v| {
                format!("ok: {} outcomes", v.len())
            })
        },
    );
    record(&mut ledger, "attach_certificate 1".into(), 1140, &mut |l| {
        attach(l, 1, 1140)
    });
    record(&mut ledger, "attach_certificate 1".into(), 1150, &mut |l| {
        attach(l, 1, 1150)
    });
    record(&mut ledger, "attach_certificate 3".into(), 1160, &mut |l| {
        attach(l, 3, 1160)
    });
    record(
        &mut ledger,
        "attach_certificate 99".into(),
        1170,
        &mut |l| attach(l, 99, 1170),
    );
    ledger.keks_mut().add_version(slot(2)).unwrap();
    let e = by("E");
    record(
        &mut ledger,
        "register KEK version 2; import E".into(),
        1200,
        &mut |l| import(l, &e.file, 1200),
    );
    let set_min = |l: &mut VecLedger, v: u32, now: u64| {
        outcome(l.set_min_decrypt_version(KEK, v, now), |()| "ok".into())
    };
    record(
        &mut ledger,
        "set_min_decrypt_version 2".into(),
        1210,
        &mut |l| set_min(l, 2, 1210),
    );
    let rotate = |l: &mut VecLedger, batch: u32, now: u64| {
        outcome(l.rotate(batch, now), |r| {
            format!(
                "ok: rewrapped {}, batches {}, refused {:?}",
                r.rewrapped,
                r.batches,
                r.refused
                    .iter()
                    .map(|(s, x)| (*s, x.code()))
                    .collect::<Vec<_>>()
            )
        })
    };
    record(&mut ledger, "rotate (batch 2)".into(), 1220, &mut |l| {
        rotate(l, 2, 1220)
    });
    record(
        &mut ledger,
        "set_min_decrypt_version 2".into(),
        1230,
        &mut |l| set_min(l, 2, 1230),
    );
    // A process with a stale KEK directory (version 1 only) tries to import G under
    // version 1, below the minimum: refused.
    let (backend, keys, keks) = ledger.into_parts();
    let mut stale: VecLedger = Ledger::new(backend, keys, ring(&[1]), config);
    let g = by("G");
    record(
        &mut stale,
        "import G (a process whose directory knows version 1 only, below the minimum)".into(),
        1240,
        &mut |l| import(l, &g.file, 1240),
    );
    let (backend, keys, _) = stale.into_parts();
    let mut ledger: VecLedger = Ledger::new(backend, keys, keks, config);
    ledger.keks_mut().add_version(slot(3)).unwrap();
    // A storage fault: the first byte of serial 12's wrapped key flipped (not audited).
    record(
        &mut ledger,
        "damage serial 12's stored wrapped key (first byte XOR 0x80, LedgerTx::update_wrapped)"
            .into(),
        1245,
        &mut |l| {
            let mut tx = l.backend_mut().begin(TxMode::Write).unwrap();
            let row = tx.key_by_serial(12).unwrap().unwrap();
            let mut bytes = row.wrapped.bytes.clone();
            bytes[0] ^= 0x80;
            let damaged = StoredWrap {
                bytes,
                ..row.wrapped
            };
            assert!(tx.update_wrapped(12, damaged.kek, &damaged).unwrap());
            tx.commit().unwrap();
            "ok".into()
        },
    );
    record(
        &mut ledger,
        "register KEK version 3; rotate (batch 3)".into(),
        1250,
        &mut |l| rotate(l, 3, 1250),
    );
    record(
        &mut ledger,
        "set_min_decrypt_version 3".into(),
        1260,
        &mut |l| set_min(l, 3, 1260),
    );

    let report = ledger.verify_audit(None).unwrap();
    assert_eq!(report.head, ledger.audit_head().unwrap());
    let (backend, _, _) = ledger.into_parts();
    (calls, backend)
}

// ------------------------------------------------------------------ the spec, written here

/// A field of an event, as `docs/ledger.md` ("Audit events") lists it.
#[derive(Clone, Copy)]
enum Ty {
    Bytes(usize),
    U32,
    U64,
    /// KEK id (8) ‖ version (u32).
    Kek,
    /// KEK id (8) alone.
    KekId,
    /// Refusal code (u8).
    Reason,
    /// u16 count of (KEK (12) ‖ count (u64)).
    Census,
}

/// The spec's table: tag → (event, fields, the field the `serial` column repeats).
/// An event's name, its fields, and the field its `serial` column repeats.
type Layout = (&'static str, Vec<(&'static str, Ty)>, Option<&'static str>);

fn layout(tag: u8) -> Option<Layout> {
    use Ty::*;
    Some(match tag {
        0x01 => (
            "ImportStarted",
            vec![
                ("batch_id", Bytes(16)),
                ("manufacturer_id", Bytes(16)),
                ("header_hash", Bytes(32)),
                ("record_count", U32),
            ],
            None,
        ),
        0x02 => (
            "ImportResumed",
            vec![
                ("batch_id", Bytes(16)),
                ("header_hash", Bytes(32)),
                ("chunks_staged", U32),
            ],
            None,
        ),
        0x03 => (
            "ImportCompleted",
            vec![
                ("batch_id", Bytes(16)),
                ("transcript_hash", Bytes(32)),
                ("records", U32),
                ("promoted", U64),
                ("refused", U64),
            ],
            None,
        ),
        0x04 => (
            "ImportRepeated",
            vec![("batch_id", Bytes(16)), ("header_hash", Bytes(32))],
            None,
        ),
        0x05 => (
            "ImportRefused",
            vec![
                ("batch_id", Bytes(16)),
                ("header_hash", Bytes(32)),
                ("reason", Reason),
            ],
            None,
        ),
        0x06 => (
            "ImportAbandoned",
            vec![("batch_id", Bytes(16)), ("staged", U64)],
            None,
        ),
        0x07 => (
            "RecordRefused",
            vec![
                ("batch_id", Bytes(16)),
                ("serial", U64),
                ("key_id", U64),
                ("reason", Reason),
            ],
            Some("serial"),
        ),
        0x08 => (
            "Issued",
            vec![("serial", U64), ("key_id", U64), ("kek", Kek)],
            Some("serial"),
        ),
        0x09 => (
            "IssueRefused",
            vec![("serial", U64), ("reason", Reason)],
            Some("serial"),
        ),
        0x0A => (
            "CertificateAttached",
            vec![("serial", U64), ("certificate_hash", Bytes(32))],
            Some("serial"),
        ),
        0x0B => (
            "CertificateRefused",
            vec![("serial", U64), ("reason", Reason)],
            Some("serial"),
        ),
        0x0C => (
            "RotationStarted",
            vec![("target", Kek), ("census", Census)],
            None,
        ),
        0x0D => (
            "Rewrapped",
            vec![
                ("target", Kek),
                ("count", U32),
                ("first_serial", U64),
                ("last_serial", U64),
            ],
            None,
        ),
        0x0E => (
            "RewrapRefused",
            vec![("serial", U64), ("from", Kek), ("reason", Reason)],
            Some("serial"),
        ),
        0x0F => (
            "RotationCompleted",
            vec![("target", Kek), ("census", Census)],
            None,
        ),
        0x10 => (
            "MinDecryptVersionSet",
            vec![("kek", KekId), ("version", U32)],
            None,
        ),
        0x11 => (
            "MinDecryptVersionRefused",
            vec![("kek", KekId), ("version", U32), ("below", U64)],
            None,
        ),
        _ => return None,
    })
}

const REFUSALS: [&str; 13] = [
    "already issued",
    "unknown serial",
    "serial conflict",
    "duplicate key",
    "key id conflict",
    "batch conflict",
    "shipment invalid",
    "not issued",
    "certificate exists",
    "KEK version retired",
    "KEK version in use",
    "duplicate record",
    "unwrap failed",
];

fn be(b: &[u8]) -> u64 {
    b.iter().fold(0, |a, &x| (a << 8) | u64::from(x))
}

fn take<'a>(rest: &mut &'a [u8], n: usize) -> &'a [u8] {
    assert!(rest.len() >= n, "event too short");
    let (a, b) = rest.split_at(n);
    *rest = b;
    a
}

fn kek_value(b: &[u8]) -> Value {
    json!({ "kek_id": hex(&b[..8]), "version": be(&b[8..12]) })
}

/// Decodes event bytes by the spec's table: (event name, fields, the serial it is about).
/// Each field: name, the bytes it occupies, and its value.
fn decode_event(event: &[u8]) -> (&'static str, Vec<Value>, Option<u64>) {
    let (name, fields, serial_field) = layout(event[0]).expect("unknown tag");
    let mut rest = &event[1..];
    let mut out = vec![json!({ "field": "tag", "hex": hex(&event[..1]), "value": event[0] })];
    let mut serial = None;
    for (field, ty) in fields {
        let (bytes, value) = match ty {
            Ty::Bytes(n) => {
                let b = take(&mut rest, n);
                (b, Value::String(hex(b)))
            }
            Ty::U32 => {
                let b = take(&mut rest, 4);
                (b, json!(be(b)))
            }
            Ty::U64 => {
                let b = take(&mut rest, 8);
                (b, json!(be(b)))
            }
            Ty::Kek => {
                let b = take(&mut rest, 12);
                (b, kek_value(b))
            }
            Ty::KekId => {
                let b = take(&mut rest, 8);
                (b, Value::String(hex(b)))
            }
            Ty::Reason => {
                let b = take(&mut rest, 1);
                let name = REFUSALS
                    .get(usize::from(b[0]).wrapping_sub(1))
                    .expect("unknown refusal code");
                (b, json!({ "code": b[0], "name": name }))
            }
            Ty::Census => {
                let start = rest;
                let n = be(take(&mut rest, 2));
                let entries: Vec<Value> = (0..n)
                    .map(|_| {
                        let e = take(&mut rest, 20);
                        let mut v = kek_value(&e[..12]);
                        v["keys"] = json!(be(&e[12..]));
                        v
                    })
                    .collect();
                let used = start.len() - rest.len();
                (&start[..used], json!({ "entries": entries }))
            }
        };
        if Some(field) == serial_field {
            serial = Some(be(bytes));
        }
        out.push(json!({ "field": field, "hex": hex(bytes), "value": value }));
    }
    assert!(rest.is_empty(), "trailing bytes after {name}");
    (name, out, serial)
}

const AUDIT_DOMAIN: &[u8] = b"provkit-ledger audit v1\0";
const FINGERPRINT_DOMAIN: &[u8] = b"provkit-ledger key fingerprint v1\0";

/// The bytes hashed for row `seq`.
fn chain_input(prev: &[u8], seq: u64, ts: u64, event: &[u8]) -> Vec<u8> {
    let mut v = AUDIT_DOMAIN.to_vec();
    v.extend_from_slice(prev);
    v.extend_from_slice(&seq.to_be_bytes());
    v.extend_from_slice(&ts.to_be_bytes());
    v.extend_from_slice(&(event.len() as u32).to_be_bytes());
    v.extend_from_slice(event);
    v
}

/// The fingerprint of `key` under `F`, with its CBC-MAC intermediates.
fn fingerprint(f: &[u8], key: &[u8]) -> Value {
    let aes = aes::Aes256::new_from_slice(f).unwrap();
    let code = match key.len() {
        16 => 1u8,
        24 => 2,
        32 => 3,
        _ => unreachable!(),
    };
    let mut b0 = [0u8; 16];
    b0[0] = code;
    b0[1] = key.len() as u8;
    let enc = |x: [u8; 16]| -> [u8; 16] {
        let mut b = Array::from(x);
        aes.encrypt_block(&mut b);
        b.into()
    };
    let mut x = enc(b0);
    let mut macs = vec![hex(&x)];
    let mut blocks = Vec::new();
    for chunk in key.chunks(16) {
        let mut m = [0u8; 16];
        m[..chunk.len()].copy_from_slice(chunk);
        blocks.push(hex(&m));
        for (a, b) in x.iter_mut().zip(m) {
            *a ^= b;
        }
        x = enc(x);
        macs.push(hex(&x));
    }
    let mut input = FINGERPRINT_DOMAIN.to_vec();
    input.push(code);
    input.extend_from_slice(&x);
    json!({
        "kind_code": code,
        "b0": hex(&b0),
        "key_blocks": blocks,
        "cbc_mac_chain": macs,
        "t": hex(&x),
        "hash_input": hex(&input),
        "fingerprint": hex(&sha256(&input)),
    })
}

// ------------------------------------------------------------------ the vector

/// `seq, ts, kind, serial, event, hash` as SQLite returns them.
type AuditColumns = (i64, i64, i64, Option<i64>, Vec<u8>, Vec<u8>);

fn vector() -> Value {
    let (m, ships) = shipments();
    let (calls, mut backend) = session(&ships, &m.pk);
    let conn = backend.connection();
    // Each live row's key, from the shipment of its batch (A before A-resealed).
    let mut all_keys: BTreeMap<(String, u64), Vec<u8>> = BTreeMap::new();
    for s in &ships {
        for (serial, _, k) in &s.records {
            all_keys
                .entry((hex(&s.batch_id), *serial))
                .or_insert_with(|| k.clone());
        }
    }

    // The audit log, as stored.
    let mut stmt = conn
        .prepare("SELECT seq, ts, kind, serial, event, hash FROM ledger_audit ORDER BY seq")
        .unwrap();
    let raw: Vec<AuditColumns> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
            ))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    drop(stmt);
    let mut prev = vec![0u8; 32];
    let mut rows = Vec::new();
    for (seq, ts, kind, serial, event, hash) in raw {
        let (name, fields, _) = decode_event(&event);
        let input = chain_input(&prev, seq as u64, ts as u64, &event);
        rows.push(json!({
            "seq": seq,
            "ts": ts,
            "kind": kind,
            "serial": serial.map(|s| s as u64),
            "event_name": name,
            "event": hex(&event),
            "fields": fields,
            "prev_hash": hex(&prev),
            "hash_input": hex(&input),
            "hash": hex(&hash),
        }));
        prev = hash;
    }
    let (head_seq, head_hash): (i64, Vec<u8>) = conn
        .query_row(
            "SELECT seq, hash FROM ledger_audit_head WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();

    let mut stmt = conn
        .prepare(
            "SELECT serial, batch_id, manufacturer_id, key_id, usage, kind, kcv, kek_id, \
             kek_version, wrap_alg, wrapped, fingerprint, imported_at, issued_at, certificate \
             FROM ledger_keys ORDER BY serial",
        )
        .unwrap();
    let keys: Vec<Value> = stmt
        .query_map([], |r| {
            let serial: i64 = r.get(0)?;
            let certificate: Option<Vec<u8>> = r.get(14)?;
            Ok(json!({
                "serial": serial as u64,
                "serial_column": serial,
                "batch_id": hex(&r.get::<_, Vec<u8>>(1)?),
                "manufacturer_id": hex(&r.get::<_, Vec<u8>>(2)?),
                "key_id": r.get::<_, i64>(3)?,
                "usage": hex(&r.get::<_, Vec<u8>>(4)?),
                "kind": r.get::<_, i64>(5)?,
                "kcv": hex(&r.get::<_, Vec<u8>>(6)?),
                "kek_id": hex(&r.get::<_, Vec<u8>>(7)?),
                "kek_version": r.get::<_, i64>(8)?,
                "wrap_alg": r.get::<_, i64>(9)?,
                "wrapped": hex(&r.get::<_, Vec<u8>>(10)?),
                "fingerprint": hex(&r.get::<_, Vec<u8>>(11)?),
                "imported_at": r.get::<_, i64>(12)?,
                "issued_at": r.get::<_, Option<i64>>(13)?,
                "certificate_sha256": certificate.map(|c| hex(&sha256(&c))),
            }))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    drop(stmt);
    let keys: Vec<Value> = keys
        .into_iter()
        .map(|mut k| {
            let batch = k["batch_id"].as_str().unwrap().to_owned();
            let key = &all_keys[&(batch, k["serial"].as_u64().unwrap())];
            k["key"] = json!(hex(key));
            k["fingerprint_computation"] = fingerprint(&FINGERPRINT_KEY, key);
            k
        })
        .collect();
    let mut stmt = conn
        .prepare(
            "SELECT batch_id, manufacturer_id, header_hash, record_count, chunks_staged, \
             records_staged, status, transcript_hash, started_at, completed_at \
             FROM ledger_imports ORDER BY batch_id",
        )
        .unwrap();
    let imports: Vec<Value> = stmt
        .query_map([], |r| {
            Ok(json!({
                "batch_id": hex(&r.get::<_, Vec<u8>>(0)?),
                "manufacturer_id": hex(&r.get::<_, Vec<u8>>(1)?),
                "header_hash": hex(&r.get::<_, Vec<u8>>(2)?),
                "record_count": r.get::<_, i64>(3)?,
                "chunks_staged": r.get::<_, i64>(4)?,
                "records_staged": r.get::<_, i64>(5)?,
                "status": r.get::<_, i64>(6)?,
                "transcript_hash": r.get::<_, Option<Vec<u8>>>(7)?.map(|b| hex(&b)),
                "started_at": r.get::<_, i64>(8)?,
                "completed_at": r.get::<_, Option<i64>>(9)?,
            }))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    drop(stmt);
    let policy: Vec<Value> = conn
        .prepare("SELECT kek_id, min_decrypt_version FROM ledger_kek_policy ORDER BY kek_id")
        .unwrap()
        .query_map([], |r| {
            Ok(json!({
                "kek_id": hex(&r.get::<_, Vec<u8>>(0)?),
                "min_decrypt_version": r.get::<_, i64>(1)?,
            }))
        })
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap();
    let staged: i64 = conn
        .query_row("SELECT COUNT(*) FROM ledger_staged", [], |r| r.get(0))
        .unwrap();
    assert_eq!(staged, 0);

    let shipments: Vec<Value> = ships
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "batch_id": hex(&s.batch_id),
                "batch_id_ascii": String::from_utf8(s.batch_id.to_vec()).unwrap(),
                "signed_by": s.signer,
                "records_per_chunk": s.per_chunk,
                "records": s.records.iter().map(|(serial, key_id, key)| json!({
                    "serial": serial,
                    "key_id": key_id,
                    "usage": "B1",
                    "kind": kind_name(key.len()),
                    "key": hex(key),
                })).collect::<Vec<_>>(),
                "chunk_ends": s.chunk_ends,
                "header": hex(&s.file[..HEADER_LEN]),
                "header_hash": hex(&sha256(&s.file[..HEADER_LEN])),
                "file": hex(&s.file),
            })
        })
        .collect();

    let mut authority = kek_store();
    json!({
        "source": "provkit crates/provkit-sqlite/tests/ledger_vectors.rs: the calls below on provkit_ledger::Ledger over provkit_sqlite::SqliteLedger (\":memory:\"), with the inputs below; shipments sealed by provkit's ShipmentWriter with InsecureTestRng(rng_seed), in the order listed; rows read back from the SQLite tables; `fields`, `prev_hash`, `hash_input` and `fingerprint_computation` computed from docs/ledger.md with sha2 and aes directly; regenerated and compared byte for byte on every run",
        "conventions": "hex byte strings; event integers big-endian; `serial` in audit rows and keys = the u64 the event or row is about, `serial_column` = the same 64 bits as SQL stores them (signed); audit `serial` null = SQL NULL; hash_input = \"provkit-ledger audit v1\\0\" (24 bytes) || prev_hash (32) || seq (u64) || ts (u64) || len(event) (u32) || event; hash = SHA-256(hash_input); row 1's prev_hash = 32 zero bytes",
        "inputs": {
            "authority_hpke_private_scalar": hex(&AUTHORITY_SCALAR),
            "authority_hpke_public_key": hex(&authority.public_key(RECIPIENT).unwrap().to_uncompressed()),
            "manufacturer_private_scalar": hex(&MANUFACTURER_SCALAR),
            "manufacturer_public_key": hex(&m.pk.to_uncompressed()),
            "impostor_private_scalar": hex(&IMPOSTOR_SCALAR),
            "manufacturer_id": hex(&MANUFACTURER_ID),
            "rng_seed": RNG_SEED,
            "kek_id": hex(&KEK.0),
            "kek_id_ascii": "line-kek",
            "kek_versions": KEK_VERSIONS.iter().map(|(v, _, key, wrap)| json!({
                "version": v,
                "key": hex(key),
                "wrap_alg": if *wrap == WrapAlgorithm::AesKw { 1 } else { 2 },
            })).collect::<Vec<_>>(),
            "fingerprint_key": hex(&FINGERPRINT_KEY),
            "stage_records": STAGE_RECORDS,
            "certificate": hex(CERTIFICATE),
            "certificate_source": "tests/data/cert/device.der",
            "certificate_sha256": hex(&sha256(CERTIFICATE)),
        },
        "shipments": shipments,
        "calls": calls,
        "audit": {
            "domain": hex(AUDIT_DOMAIN),
            "genesis_hash": hex(&[0u8; 32]),
            "rows": rows,
            "head": { "seq": head_seq, "hash": hex(&head_hash) },
        },
        "ledger_keys": keys,
        "ledger_imports": imports,
        "ledger_kek_policy": policy,
    })
}

fn vector_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/ledger/audit_chain.json")
}

#[test]
fn audit_chain_vector_is_stable() {
    let path = vector_path();
    let v = vector();
    let text = serde_json::to_string_pretty(&v).unwrap() + "\n";
    if std::env::var_os("PROVKIT_REGENERATE").is_some() {
        follows_the_spec(&v);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap();
    if committed != text {
        let (n, (old, new)) = committed
            .lines()
            .chain(std::iter::repeat("<end of file>"))
            .zip(text.lines().chain(std::iter::repeat("<end of text>")))
            .enumerate()
            .find(|(_, (a, b))| a != b)
            .unwrap();
        panic!(
            "ledger audit chain vector changed, first at line {}:\n  committed:   {old}\n  regenerated: {new}\n(PROVKIT_REGENERATE=1 rewrites it)",
            n + 1
        );
    }
}

// ------------------------------------------------------------------ the independent check

fn h(v: &Value) -> Vec<u8> {
    unhex(v.as_str().expect("hex string"))
}

fn u(v: &Value) -> u64 {
    v.as_u64().expect("unsigned integer")
}

#[test]
fn audit_chain_vector_follows_the_spec() {
    // When regenerating, the other test checks the new vector before writing it.
    if std::env::var_os("PROVKIT_REGENERATE").is_some() {
        return;
    }
    let v: Value = serde_json::from_str(&std::fs::read_to_string(vector_path()).unwrap()).unwrap();
    follows_the_spec(&v);
}

/// Checks a vector against `docs/ledger.md` alone (and that provkit decodes its events).
fn follows_the_spec(v: &Value) {
    let audit = &v["audit"];
    assert_eq!(h(&audit["domain"]), AUDIT_DOMAIN);
    assert_eq!(h(&audit["genesis_hash"]), [0u8; 32]);
    let rows = audit["rows"].as_array().unwrap();
    let mut prev = vec![0u8; 32];
    let mut tags = BTreeSet::new();
    let mut codes = BTreeSet::new();
    for (i, row) in rows.iter().enumerate() {
        let seq = u(&row["seq"]);
        assert_eq!(seq, i as u64 + 1, "sequence numbers from 1 without gaps");
        let ts = u(&row["ts"]);
        let event = h(&row["event"]);
        assert_eq!(h(&row["prev_hash"]), prev, "row {seq}: previous hash");
        let input = chain_input(&prev, seq, ts, &event);
        assert_eq!(h(&row["hash_input"]), input, "row {seq}: hash input");
        let hash = sha256(&input);
        assert_eq!(h(&row["hash"]), hash, "row {seq}: hash");
        let (name, fields, serial) = decode_event(&event);
        assert_eq!(row["event_name"], name, "row {seq}: event");
        assert_eq!(
            row["fields"],
            Value::Array(fields.clone()),
            "row {seq}: fields"
        );
        let joined: Vec<u8> = fields.iter().flat_map(|f| h(&f["hex"])).collect();
        assert_eq!(joined, event, "row {seq}: fields are the event, in order");
        assert_eq!(
            u(&row["kind"]),
            u64::from(event[0]),
            "row {seq}: kind column"
        );
        assert_eq!(row["serial"].as_u64(), serial, "row {seq}: serial column");
        tags.insert(event[0]);
        for f in &fields {
            if f["field"] == "reason" {
                codes.insert(u(&f["value"]["code"]));
            }
        }
        // The code agrees: the event decodes and re-encodes to the same bytes.
        let decoded = provkit_ledger::AuditEvent::decode(&event).expect("provkit decodes");
        assert_eq!(decoded.encode(), event);
        assert_eq!(decoded.serial(), serial);
        prev = hash.to_vec();
    }
    assert_eq!(u(&audit["head"]["seq"]), rows.len() as u64);
    assert_eq!(h(&audit["head"]["hash"]), prev, "head = last row's hash");
    assert_eq!(
        tags,
        (0x01..=0x11).collect::<BTreeSet<u8>>(),
        "every event kind of the spec"
    );
    assert_eq!(
        codes,
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 13]
            .into_iter()
            .collect::<BTreeSet<u64>>(),
        "every refusal code an event carries (11, KEK version in use, is in none)"
    );

    // Calls name exactly the rows, in order, each with the call's `now` as timestamp.
    let mut next = 1;
    for call in v["calls"].as_array().unwrap() {
        for s in call["audit_seqs"].as_array().unwrap() {
            assert_eq!(u(s), next);
            assert_eq!(rows[next as usize - 1]["ts"], call["now"]);
            next += 1;
        }
    }
    assert_eq!(next, rows.len() as u64 + 1);

    // Header hashes and certificate hashes.
    let inputs = &v["inputs"];
    let cert_hash = sha256(&h(&inputs["certificate"]));
    assert_eq!(h(&inputs["certificate_sha256"]), cert_hash);
    let mut header_hashes = BTreeSet::new();
    for s in v["shipments"].as_array().unwrap() {
        let file = h(&s["file"]);
        assert_eq!(h(&s["header"]), file[..HEADER_LEN]);
        let hh = sha256(&file[..HEADER_LEN]);
        assert_eq!(h(&s["header_hash"]), hh);
        header_hashes.insert(hex(&hh));
    }
    for row in rows {
        for f in row["fields"].as_array().unwrap() {
            match f["field"].as_str().unwrap() {
                "header_hash" => assert!(header_hashes.contains(f["hex"].as_str().unwrap())),
                "certificate_hash" => assert_eq!(h(&f["hex"]), cert_hash),
                _ => {}
            }
        }
    }

    // Key rows: serial columns, fingerprints from the fingerprint key and the key.
    let f = h(&inputs["fingerprint_key"]);
    for k in v["ledger_keys"].as_array().unwrap() {
        let serial = u(&k["serial"]);
        assert_eq!(k["serial_column"].as_i64().unwrap(), serial as i64);
        let key = h(&k["key"]);
        let fp = fingerprint(&f, &key);
        assert_eq!(k["fingerprint_computation"], fp, "serial {serial}");
        assert_eq!(k["fingerprint"], fp["fingerprint"], "serial {serial}");
        assert_eq!(u(&k["kind"]), u(&fp["kind_code"]));
    }
}
