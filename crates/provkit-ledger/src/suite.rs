//! The backend conformance suite: ledger semantics checked through [`Ledger`] on a
//! backend under test, so that SQLite and PostgreSQL are held to the same behaviour.
//!
//! Each function takes a fresh, empty backend (or, for the concurrent test, a function
//! that opens connections to one fresh database) and panics with a message naming the
//! broken obligation. Keys and shipments come from [`Fixture`] (deterministic, NOT
//! secure: [`provkit::testing::TestRng`]).
//!
//! ```text
//! provkit_ledger::suite::all(|| MyBackend::fresh());
//! provkit_ledger::suite::concurrent_issuance(&|| MyBackend::open(&url), 8, 100_000, 1_000);
//! ```

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::missing_panics_doc,
    clippy::indexing_slicing
)]

use crate::audit::{AuditEvent, ChainHead, Refusal};
use crate::backend::{LedgerBackend, LedgerTx, TxMode};
use crate::error::LedgerError;
use crate::ledger::{IssueOutcome, Ledger, LedgerConfig};
use provkit::ec::EcPublicKey;
use provkit::envelope::shipment::{
    DeviceKeyRecord, KeyUsage, ShipmentParams, ShipmentWriter, chunk_buffer_len,
};
use provkit::envelope::{KekId, KekRef, KekRing, KekSlot};
use provkit::secret::{SecretBuf, SecretBytes};
use provkit::store::{IdentityKeys, KeyId, KeyKind, MemoryStore, SymmetricKeys, WrapAlgorithm};
use provkit::testing::TestRng;
use std::collections::HashSet;

/// The authority's HPKE key in [`Fixture::kek_store`].
pub const RECIPIENT: KeyId = KeyId(1);
/// KEK version 1.
pub const KEK_V1: KeyId = KeyId(2);
/// The fingerprint key.
pub const FINGERPRINT: KeyId = KeyId(3);
/// KEK version 2 (for rotation).
pub const KEK_V2: KeyId = KeyId(4);
/// The ledger KEK's name.
pub const KEK: KekId = KekId(*b"suitekek");
/// Manufacturer id used by the fixture.
pub const MANUFACTURER: [u8; 16] = *b"suite manufactur";

/// The KEK store type of the suite: HPKE key, two KEK versions, fingerprint key.
pub type SuiteKeys = MemoryStore<4, 0, 0>;
/// The ledger type the suite drives.
pub type SuiteLedger<B> = Ledger<B, SuiteKeys, KekRing<4>>;

/// Deterministic parties: the manufacturer's signing key and the authority's keys.
#[derive(Debug)]
pub struct Fixture {
    manufacturer: MemoryStore<1, 0, 0>,
    /// The manufacturer's public key (what the authority trusts).
    pub manufacturer_pk: EcPublicKey,
    authority_pk: EcPublicKey,
    rng: TestRng,
}

impl Default for Fixture {
    fn default() -> Self {
        Self::new(1)
    }
}

impl Fixture {
    /// The fixture for `seed` (record keys differ per seed; the parties' keys do not).
    #[must_use]
    pub fn new(seed: u64) -> Self {
        let mut manufacturer = MemoryStore::new();
        let manufacturer_pk = manufacturer
            .import_p256(KeyId(1), &SecretBytes::new([0x4D; 32]))
            .unwrap();
        let authority_pk = Self::kek_store().public_key(RECIPIENT).unwrap();
        Self {
            manufacturer,
            manufacturer_pk,
            authority_pk,
            rng: TestRng::new(seed),
        }
    }

    /// The authority's KEK store (the same keys on every call, so that threads and
    /// processes can each hold one).
    #[must_use]
    pub fn kek_store() -> SuiteKeys {
        let mut s = SuiteKeys::new();
        s.import_p256(RECIPIENT, &SecretBytes::new([0x52; 32]))
            .unwrap();
        s.import_symmetric(KEK_V1, KeyKind::Aes256, &[0x11; 32])
            .unwrap();
        s.import_symmetric(FINGERPRINT, KeyKind::Aes256, &[0xF1; 32])
            .unwrap();
        s.import_symmetric(KEK_V2, KeyKind::Aes256, &[0x22; 32])
            .unwrap();
        s
    }

    /// KEK version 1's slot.
    #[must_use]
    pub const fn slot_v1() -> KekSlot {
        KekSlot {
            kek: KekRef {
                id: KEK,
                version: 1,
            },
            key: KEK_V1,
            wrap: WrapAlgorithm::AesKw,
        }
    }

    /// KEK version 2's slot.
    #[must_use]
    pub const fn slot_v2() -> KekSlot {
        KekSlot {
            kek: KekRef {
                id: KEK,
                version: 2,
            },
            key: KEK_V2,
            wrap: WrapAlgorithm::AesKwp,
        }
    }

    /// A ledger over `backend` with version 1 registered.
    pub fn ledger<B: LedgerBackend>(backend: B, stage_records: usize) -> SuiteLedger<B> {
        let mut ring = KekRing::new();
        ring.add_version(Self::slot_v1()).unwrap();
        let mut config = LedgerConfig::new(KEK, FINGERPRINT);
        config.stage_records = stage_records;
        Ledger::new(backend, Self::kek_store(), ring, config)
    }

    /// A sealed shipment of fresh AES-128 keys for `serials` (key id = serial).
    pub fn shipment(&mut self, batch_id: [u8; 16], serials: &[u64], per_chunk: u16) -> Vec<u8> {
        let records: Vec<DeviceKeyRecord> = serials
            .iter()
            .map(|&s| {
                DeviceKeyRecord::generate(
                    s,
                    s,
                    KeyUsage::INITIAL_DUKPT,
                    KeyKind::Aes128,
                    &mut self.rng,
                )
                .unwrap()
            })
            .collect();
        self.shipment_of(batch_id, &records, per_chunk)
    }

    /// A sealed shipment of the given records.
    pub fn shipment_of(
        &mut self,
        batch_id: [u8; 16],
        records: &[DeviceKeyRecord],
        per_chunk: u16,
    ) -> Vec<u8> {
        let params = ShipmentParams {
            manufacturer_id: MANUFACTURER,
            batch_id,
            record_count: u32::try_from(records.len()).unwrap(),
            records_per_chunk: per_chunk,
        };
        let mut buf = vec![0u8; chunk_buffer_len(per_chunk)];
        let (mut w, header) = ShipmentWriter::new(
            &mut self.manufacturer,
            KeyId(1),
            &self.authority_pk,
            &params,
            &mut buf,
            &mut self.rng,
        )
        .unwrap();
        let mut out = header.to_vec();
        for r in records {
            if let Some(c) = w.push(r).unwrap() {
                out.extend_from_slice(c);
            }
        }
        out.extend_from_slice(&w.finish(&mut self.manufacturer).unwrap());
        out
    }
}

fn batch(n: u8) -> [u8; 16] {
    let mut b = *b"suite-batch-0000";
    b[15] = n;
    b
}

/// Runs every single-connection part of the suite, each on a fresh backend from `fresh`.
pub fn all<B: LedgerBackend>(mut fresh: impl FnMut() -> B) {
    import_and_idempotency(fresh());
    conflicts(fresh());
    resume(fresh());
    rejected_shipments(fresh());
    issuance(fresh());
    rotation(fresh());
    audit_verification(fresh());
}

/// Import, re-import (no-op), lookups, no plaintext, audit.
pub fn import_and_idempotency<B: LedgerBackend>(backend: B) {
    let mut fx = Fixture::new(10);
    let mut ledger = Fixture::ledger(backend, 64);
    let serials: Vec<u64> = (1000..1300).collect();
    let file = fx.shipment(batch(1), &serials, 32);
    let r = ledger
        .import(RECIPIENT, &fx.manufacturer_pk, file.as_slice(), 100)
        .expect("import");
    assert_eq!(r.records, 300);
    assert_eq!(r.promoted, 300, "every record promoted");
    assert!(r.refused.is_empty() && !r.already_imported);
    let again = ledger
        .import(RECIPIENT, &fx.manufacturer_pk, file.as_slice(), 101)
        .expect("re-import");
    assert!(again.already_imported, "same file again is a no-op");
    assert_eq!(again.promoted, 0);
    assert_eq!(again.transcript_hash, r.transcript_hash);
    let census = ledger.census().unwrap();
    assert_eq!(
        census.count(Fixture::slot_v1().kek),
        300,
        "census counts live keys"
    );
    let rec = ledger.lookup(1005).unwrap().expect("lookup");
    assert_eq!(rec.key.key_id, 1005);
    assert_eq!(rec.key.batch_id, batch(1));
    assert_eq!(rec.key.imported_at, 100);
    assert_eq!(rec.shipment_transcript, r.transcript_hash);
    assert!(ledger.lookup(5).unwrap().is_none());
    let check = ledger.check_keys().unwrap();
    assert_eq!(check.checked, 300);
    assert!(check.bad.is_empty(), "every key unwraps and KCV-checks");
    let report = ledger.verify_audit(None).expect("audit verifies");
    // ImportStarted, ImportCompleted, ImportRepeated.
    assert_eq!(report.rows, 3);
    let mut tx = ledger.backend_mut().begin(TxMode::Read).unwrap();
    let rows = tx.audit_rows(1, 10).unwrap();
    assert!(matches!(
        rows[0].decode(),
        Some(AuditEvent::ImportStarted {
            record_count: 300,
            ..
        })
    ));
    assert!(matches!(
        rows[2].decode(),
        Some(AuditEvent::ImportRepeated { .. })
    ));
}

/// Batch conflicts, serial conflicts, duplicate records, duplicate keys, key-id
/// conflicts: refused, reported and audited; uniqueness held by the database.
pub fn conflicts<B: LedgerBackend>(backend: B) {
    let mut fx = Fixture::new(11);
    let mut ledger = Fixture::ledger(backend, 1000);
    let a = fx.shipment(batch(1), &[1, 2, 3, 4], 2);
    ledger
        .import(RECIPIENT, &fx.manufacturer_pk, a.as_slice(), 1)
        .unwrap();
    // Same batch id, another file.
    let other = fx.shipment(batch(1), &[9], 2);
    assert_eq!(
        ledger.import(RECIPIENT, &fx.manufacturer_pk, other.as_slice(), 2),
        Err(LedgerError::BatchConflict(batch(1))),
        "a batch id imported from another file is refused"
    );
    // Serial 3 again with a new key: conflict; serial 10, 11 new; serial 12 reuses
    // serial 10's key; serial 13 reuses key id 1.
    let k = SecretBuf::<32>::from_slice(&[0x77; 16]).unwrap();
    let records = vec![
        DeviceKeyRecord::generate(
            3,
            300,
            KeyUsage::INITIAL_DUKPT,
            KeyKind::Aes128,
            &mut TestRng::new(5),
        )
        .unwrap(),
        DeviceKeyRecord::new(10, 10, KeyUsage::INITIAL_DUKPT, &k).unwrap(),
        DeviceKeyRecord::generate(
            11,
            11,
            KeyUsage::INITIAL_DUKPT,
            KeyKind::Aes128,
            &mut TestRng::new(6),
        )
        .unwrap(),
        DeviceKeyRecord::new(12, 12, KeyUsage::INITIAL_DUKPT, &k).unwrap(),
        DeviceKeyRecord::generate(
            13,
            1,
            KeyUsage::INITIAL_DUKPT,
            KeyKind::Aes128,
            &mut TestRng::new(7),
        )
        .unwrap(),
    ];
    let b = fx.shipment_of(batch(2), &records, 2);
    let r = ledger
        .import(RECIPIENT, &fx.manufacturer_pk, b.as_slice(), 3)
        .unwrap();
    assert_eq!(r.promoted, 2, "serials 10 and 11 go live");
    let reasons: Vec<(u64, Refusal)> = r.refused.iter().map(|x| (x.serial, x.reason)).collect();
    assert_eq!(
        reasons,
        vec![
            (3, Refusal::SerialConflict),
            (12, Refusal::DuplicateKey),
            (13, Refusal::KeyIdConflict)
        ]
    );
    // The very same record of serial 1 in a third batch: a duplicate, not a conflict.
    // (Same key bytes are needed: reuse serial 10's key for a new batch's serial 10.)
    let c = fx.shipment_of(
        batch(3),
        &[DeviceKeyRecord::new(10, 10, KeyUsage::INITIAL_DUKPT, &k).unwrap()],
        2,
    );
    let r = ledger
        .import(RECIPIENT, &fx.manufacturer_pk, c.as_slice(), 4)
        .unwrap();
    assert_eq!(r.refused[0].reason, Refusal::DuplicateRecord);
    assert_eq!(
        ledger.lookup(3).unwrap().unwrap().key.batch_id,
        batch(1),
        "first key kept"
    );
    assert!(ledger.lookup(12).unwrap().is_none());
    let report = ledger.verify_audit(None).unwrap();
    // Batch conflict + 3 record refusals + 1 duplicate record.
    assert_eq!(report.refusals, 5, "every refusal is audited");
}

/// An import interrupted part-way resumes without re-inserting staged chunks.
pub fn resume<B: LedgerBackend>(backend: B) {
    let mut fx = Fixture::new(12);
    let mut ledger = Fixture::ledger(backend, 10);
    let serials: Vec<u64> = (0..200).collect();
    let file = fx.shipment(batch(4), &serials, 10);
    // The stream breaks after about half the file.
    let cut = &file[..file.len() / 2];
    assert!(matches!(
        ledger.import(RECIPIENT, &fx.manufacturer_pk, cut, 1),
        Err(LedgerError::Io(_))
    ));
    let status = ledger
        .import_status(&batch(4))
        .unwrap()
        .expect("import row");
    assert!(status.chunks_staged > 0, "progress was committed");
    assert!(
        ledger.lookup(0).unwrap().is_none(),
        "nothing live before the trailer"
    );
    let r = ledger
        .import(RECIPIENT, &fx.manufacturer_pk, file.as_slice(), 2)
        .unwrap();
    assert_eq!(r.resumed_from_chunk, status.chunks_staged);
    assert_eq!(r.promoted, 200);
    assert!(r.refused.is_empty(), "nothing doubled");
    assert_eq!(ledger.census().unwrap().total(), 200, "staging cleared");
    ledger.verify_audit(None).unwrap();
    // Abandoning a complete import is refused.
    assert!(ledger.abandon_import(&batch(4), 3).is_err());
}

/// Tampered, truncated and wrongly signed shipments are refused and audited; nothing
/// goes live.
pub fn rejected_shipments<B: LedgerBackend>(backend: B) {
    let mut fx = Fixture::new(13);
    let mut ledger = Fixture::ledger(backend, 1000);
    let mut file = fx.shipment(batch(5), &[1, 2, 3], 2);
    let at = file.len() - 10; // in the trailer: every chunk stages, the signature fails
    file[at] ^= 1;
    assert!(matches!(
        ledger.import(RECIPIENT, &fx.manufacturer_pk, file.as_slice(), 1),
        Err(LedgerError::ShipmentRejected { .. })
    ));
    assert!(ledger.lookup(1).unwrap().is_none());
    let wrong = Fixture::kek_store().public_key(RECIPIENT).unwrap();
    let good = fx.shipment(batch(6), &[1], 2);
    assert!(matches!(
        ledger.import(RECIPIENT, &wrong, good.as_slice(), 2),
        Err(LedgerError::ShipmentRejected { .. })
    ));
    let mut long = good.clone();
    long.push(0);
    assert!(matches!(
        ledger.import(RECIPIENT, &fx.manufacturer_pk, long.as_slice(), 3),
        Err(LedgerError::ShipmentRejected { .. })
    ));
    assert_eq!(ledger.verify_audit(None).unwrap().refusals, 3);
    // The staged rows of the failed batch are abandoned explicitly.
    assert_eq!(ledger.abandon_import(&batch(5), 4).unwrap(), 3);
    assert_eq!(ledger.abandon_import(&batch(6), 4).unwrap(), 1);
    assert_eq!(ledger.census().unwrap().total(), 0);
    // After abandoning, the batch imports from the good file.
    let r = ledger
        .import(RECIPIENT, &fx.manufacturer_pk, good.as_slice(), 5)
        .unwrap();
    assert_eq!(r.promoted, 1);
}

/// Exactly-once issuance, refusals, batch issuance, key opening, certificates, lookup.
pub fn issuance<B: LedgerBackend>(backend: B) {
    let mut fx = Fixture::new(14);
    let mut ledger = Fixture::ledger(backend, 1000);
    let file = fx.shipment(batch(7), &[100, 101, 102, 103], 4);
    ledger
        .import(RECIPIENT, &fx.manufacturer_pk, file.as_slice(), 1)
        .unwrap();
    let k = ledger.issue(100, 50).expect("first issue");
    assert_eq!((k.serial, k.key_id, k.issued_at), (100, 100, 50));
    let key = ledger.open_key(&k).expect("open issued key");
    assert_eq!(key.len(), 16);
    assert_eq!(
        ledger.issue(100, 51),
        Err(LedgerError::AlreadyIssued {
            serial: 100,
            issued_at: 50
        }),
        "a second issue is refused"
    );
    assert_eq!(ledger.issue(999, 52), Err(LedgerError::UnknownSerial(999)));
    let out = ledger.issue_batch(&[101, 100, 102], 53).unwrap();
    assert!(matches!(out[0], IssueOutcome::Issued(_)));
    assert!(matches!(
        out[1],
        IssueOutcome::Refused {
            reason: Refusal::AlreadyIssued,
            issued_at: Some(50),
            ..
        }
    ));
    assert!(matches!(out[2], IssueOutcome::Issued(_)));
    assert_eq!(
        ledger.attach_certificate(103, b"cert", 54),
        Err(LedgerError::NotIssued(103))
    );
    ledger.attach_certificate(100, b"device cert", 55).unwrap();
    assert_eq!(
        ledger.attach_certificate(100, b"again", 56),
        Err(LedgerError::CertificateExists(100))
    );
    let rec = ledger.lookup(100).unwrap().unwrap();
    assert_eq!(rec.key.issued_at, Some(50));
    assert_eq!(rec.key.certificate.as_deref(), Some(&b"device cert"[..]));
    let kinds: Vec<u8> = rec.history.iter().map(|(_, _, e)| e.tag()).collect();
    // Issued, IssueRefused, IssueRefused (batch), CertificateAttached, CertificateRefused.
    assert_eq!(kinds.len(), 5, "history of serial 100: {kinds:?}");
    let report = ledger.verify_audit(None).unwrap();
    assert_eq!(report.refusals, 5);
}

/// Rotation in batches with census before/after and minimum-decryption-version rules.
pub fn rotation<B: LedgerBackend>(backend: B) {
    let mut fx = Fixture::new(15);
    let mut ledger = Fixture::ledger(backend, 1000);
    let serials: Vec<u64> = (500..550).collect();
    let file = fx.shipment(batch(8), &serials, 16);
    ledger
        .import(RECIPIENT, &fx.manufacturer_pk, file.as_slice(), 1)
        .unwrap();
    let early = ledger.issue(500, 2).unwrap();
    ledger.keks_mut().add_version(Fixture::slot_v2()).unwrap();
    assert_eq!(
        ledger.set_min_decrypt_version(KEK, 2, 3),
        Err(LedgerError::KekVersionInUse {
            kek: KEK,
            below: 50
        }),
        "cannot retire a version keys still need"
    );
    let r = ledger.rotate(7, 4).unwrap();
    assert_eq!(r.before.count(Fixture::slot_v1().kek), 50);
    assert_eq!(r.after.count(Fixture::slot_v2().kek), 50);
    assert_eq!(r.after.count_below(KEK, 2), 0);
    assert_eq!((r.rewrapped, r.batches), (50, 8));
    assert!(r.refused.is_empty());
    ledger.set_min_decrypt_version(KEK, 2, 5).unwrap();
    assert_eq!(ledger.min_decrypt_version(KEK).unwrap(), 2);
    assert_eq!(
        ledger.open_key(&early).err(),
        Some(LedgerError::KekVersionRetired(Fixture::slot_v1().kek)),
        "a key wrapped under a retired version does not open"
    );
    let fresh = ledger.issue(501, 6).unwrap();
    assert_eq!(fresh.wrapped.kek.version, 2);
    ledger.open_key(&fresh).unwrap();
    let check = ledger.check_keys().unwrap();
    assert_eq!((check.checked, check.bad.len()), (50, 0));
    // A second rotation finds nothing to do.
    assert_eq!(ledger.rotate(7, 7).unwrap().rewrapped, 0);
    ledger.verify_audit(None).unwrap();
}

/// The verifier on rows as stored: anchors, and in-memory edits of each field.
pub fn audit_verification<B: LedgerBackend>(backend: B) {
    let mut fx = Fixture::new(16);
    let mut ledger = Fixture::ledger(backend, 1000);
    let file = fx.shipment(batch(9), &[1, 2, 3], 2);
    ledger
        .import(RECIPIENT, &fx.manufacturer_pk, file.as_slice(), 1)
        .unwrap();
    let anchor = ledger.audit_head().unwrap();
    for s in [1, 2, 3, 1] {
        let _ = ledger.issue(s, 2);
    }
    let report = ledger.verify_audit(Some(anchor)).unwrap();
    assert_eq!(report.rows, anchor.seq + 4);
    assert!(matches!(
        ledger.verify_audit(Some(ChainHead { seq: anchor.seq, hash: [9; 32] })),
        Err(LedgerError::ChainBroken(b)) if b.seq == anchor.seq
    ));
    assert!(matches!(
        ledger.verify_audit(Some(ChainHead {
            seq: 1000,
            hash: [0; 32]
        })),
        Err(LedgerError::ChainBroken(_))
    ));
    let rows = {
        let mut tx = ledger.backend_mut().begin(TxMode::Read).unwrap();
        tx.audit_rows(1, 100).unwrap()
    };
    let check = |rows: &[crate::audit::AuditRecord]| {
        let mut v = crate::audit::ChainVerifier::new(None);
        for r in rows {
            v.push(r)?;
        }
        Ok::<_, crate::audit::ChainBreak>(())
    };
    check(&rows).unwrap();
    let mut t = rows.clone();
    t[2].timestamp += 1;
    assert_eq!(check(&t).unwrap_err().seq, 3);
    let mut t = rows.clone();
    t[3].serial = Some(77);
    assert_eq!(check(&t).unwrap_err().seq, 4);
    let mut t = rows.clone();
    t.remove(1);
    assert_eq!(check(&t).unwrap_err().seq, 2);
}

/// `threads` connections issue the same `serials` serials at once, in batches of `batch`
/// (each thread in its own order): every serial is issued exactly once, no key twice,
/// one refusal audited per losing attempt, and the chain verifies. `open` opens a new
/// connection to one fresh database.
pub fn concurrent_issuance<B, F>(open: &F, threads: usize, serials: u64, batch_size: usize)
where
    B: LedgerBackend,
    F: Fn() -> B + Sync,
{
    let mut fx = Fixture::new(17);
    let mut ledger = Fixture::ledger(open(), 65_536);
    let all: Vec<u64> = (0..serials).map(|i| 0x00C0_0000_0000 + i).collect();
    let file = fx.shipment(batch(10), &all, 4096);
    let r = ledger
        .import(RECIPIENT, &fx.manufacturer_pk, file.as_slice(), 1)
        .expect("import");
    assert_eq!(r.promoted, serials);
    let results: Vec<Vec<(u64, Vec<u8>)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let all = &all;
                s.spawn(move || {
                    let mut l = Fixture::ledger(open(), 1);
                    // Half the threads walk backwards, so that they meet the others.
                    let mut order = all.clone();
                    if t % 2 == 1 {
                        order.reverse();
                    }
                    let mut mine = Vec::new();
                    for chunk in order.chunks(batch_size) {
                        for o in l.issue_batch(chunk, 10 + t as u64).expect("issue_batch") {
                            if let IssueOutcome::Issued(k) = o {
                                mine.push((k.serial, k.wrapped.bytes));
                            }
                        }
                    }
                    mine
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut seen = HashSet::new();
    let mut keys = HashSet::new();
    for (serial, wrapped) in results.iter().flatten() {
        assert!(seen.insert(*serial), "serial {serial:#x} issued twice");
        assert!(keys.insert(wrapped.clone()), "a key was issued twice");
    }
    assert_eq!(
        seen.len() as u64,
        serials,
        "every serial issued exactly once"
    );
    let report = ledger.verify_audit(None).expect("chain verifies");
    let attempts = serials * threads as u64;
    assert_eq!(
        report.refusals,
        attempts - serials,
        "one refusal audited per losing attempt"
    );
    assert_eq!(report.rows, 2 + attempts, "one audit row per attempt");
}
