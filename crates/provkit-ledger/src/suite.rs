//! The backend conformance suite: ledger semantics checked through [`Ledger`] on a
//! backend under test, so that SQLite and PostgreSQL are held to the same behaviour.
//!
//! Each function takes a fresh, empty backend (or, for the concurrent test, a function
//! that opens connections to one fresh database) and panics with a message naming the
//! broken obligation. Keys and shipments come from [`Fixture`] (deterministic, NOT
//! secure: [`provkit::testing::InsecureTestRng`]).
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

use crate::audit::{AuditEvent, AuditRecord, ChainHead, KeyCensus, Refusal};
use crate::backend::{LedgerBackend, LedgerTx, TxMode};
use crate::codec::{db_order, to_db};
use crate::error::LedgerError;
use crate::error::Result;
use crate::ledger::{IssueOutcome, Ledger, LedgerConfig};
use crate::rows::{BatchId, ImportRow, KeyRow, StoredWrap};
use provkit::ec::EcPublicKey;
use provkit::envelope::shipment::{
    DeviceKeyRecord, KeyUsageCode, ShipmentParams, ShipmentWriter, chunk_buffer_len,
};
use provkit::envelope::{KekId, KekRef, KekRing, KekSlot};
use provkit::secret::{SecretBuf, SecretBytes};
use provkit::store::{IdentityKeys, KeyId, KeyKind, MemoryStore, SymmetricKeys, WrapAlgorithm};
use provkit::testing::InsecureTestRng;
use std::collections::HashSet;
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::Duration;

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
    rng: InsecureTestRng,
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
            rng: InsecureTestRng::new(seed),
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
                    KeyUsageCode::INITIAL_DUKPT,
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
        let params = ShipmentParams::new(
            MANUFACTURER,
            batch_id,
            u32::try_from(records.len()).unwrap(),
        )
        .with_records_per_chunk(per_chunk);
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
pub fn all<B: LedgerBackend + Send + 'static>(mut fresh: impl FnMut() -> B) {
    import_and_idempotency(fresh());
    conflicts(fresh());
    resume(fresh());
    rejected_shipments(fresh());
    issuance(fresh());
    rotation(fresh());
    stale_directory_import(fresh());
    audit_verification(fresh());
    cursor_must_advance(fresh());
    serial_edges(fresh);
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
            KeyUsageCode::INITIAL_DUKPT,
            KeyKind::Aes128,
            &mut InsecureTestRng::new(5),
        )
        .unwrap(),
        DeviceKeyRecord::new(10, 10, KeyUsageCode::INITIAL_DUKPT, &k).unwrap(),
        DeviceKeyRecord::generate(
            11,
            11,
            KeyUsageCode::INITIAL_DUKPT,
            KeyKind::Aes128,
            &mut InsecureTestRng::new(6),
        )
        .unwrap(),
        DeviceKeyRecord::new(12, 12, KeyUsageCode::INITIAL_DUKPT, &k).unwrap(),
        DeviceKeyRecord::generate(
            13,
            1,
            KeyUsageCode::INITIAL_DUKPT,
            KeyKind::Aes128,
            &mut InsecureTestRng::new(7),
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
        &[DeviceKeyRecord::new(10, 10, KeyUsageCode::INITIAL_DUKPT, &k).unwrap()],
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

/// A process whose KEK directory still names a version below the recorded minimum
/// decryption version (a stale deployment) cannot import: its keys would be wrapped
/// under a retired version, refused at every rotation and lost with the old KEK. The
/// refusal is audited, stages nothing, and the same file imports once the directory
/// knows the current version.
pub fn stale_directory_import<B: LedgerBackend>(backend: B) {
    let mut fx = Fixture::new(18);
    let mut ledger = Fixture::ledger(backend, 1000);
    let first = fx.shipment(batch(10), &[700, 701], 2);
    ledger
        .import(RECIPIENT, &fx.manufacturer_pk, first.as_slice(), 1)
        .unwrap();
    ledger.keks_mut().add_version(Fixture::slot_v2()).unwrap();
    assert_eq!(ledger.rotate(10, 2).unwrap().rewrapped, 2);
    ledger.set_min_decrypt_version(KEK, 2, 3).unwrap();
    let (backend, _, _) = ledger.into_parts();

    let mut stale = Fixture::ledger(backend, 1000);
    let file = fx.shipment(batch(11), &[710, 711, 712], 2);
    assert_eq!(
        stale
            .import(RECIPIENT, &fx.manufacturer_pk, file.as_slice(), 4)
            .err(),
        Some(LedgerError::KekVersionRetired(Fixture::slot_v1().kek)),
        "an import under a retired KEK version is refused"
    );
    assert!(stale.lookup(710).unwrap().is_none(), "nothing promoted");
    assert!(
        stale.import_status(&batch(11)).unwrap().is_none(),
        "nothing staged"
    );
    let census = stale.census().unwrap();
    assert_eq!(
        census.count_below(KEK, 2),
        0,
        "no key under a retired version"
    );
    assert_last_event_refuses_retired(&mut stale, batch(11));

    let (backend, _, _) = stale.into_parts();
    let mut current = Fixture::ledger(backend, 1000);
    current.keks_mut().add_version(Fixture::slot_v2()).unwrap();
    let r = current
        .import(RECIPIENT, &fx.manufacturer_pk, file.as_slice(), 5)
        .unwrap();
    assert_eq!((r.promoted, r.already_imported), (3, false));
    let key = current.issue(711, 6).unwrap();
    assert_eq!(key.wrapped.kek, Fixture::slot_v2().kek);
    current.open_key(&key).unwrap();
    current.verify_audit(None).unwrap();
}

/// The minimum decryption version is raised, by another connection, while a stale
/// process's import is between its start and its first staged chunk: the import is
/// refused at staging (nothing staged under the retired version), audited, and the same
/// file imports after [`Ledger::abandon_import`] by a process that knows the current
/// version. `open` connects to one fresh database.
pub fn minimum_raised_during_import<B: LedgerBackend, F: Fn() -> B>(open: &F) {
    let mut fx = Fixture::new(19);
    let mut current = Fixture::ledger(open(), 1000);
    current.keks_mut().add_version(Fixture::slot_v2()).unwrap();
    let first = fx.shipment(batch(12), &[800, 801], 2);
    current
        .import(RECIPIENT, &fx.manufacturer_pk, first.as_slice(), 1)
        .unwrap();

    let mut stale = Fixture::ledger(open(), 1);
    let file = fx.shipment(batch(13), &[810, 811, 812], 1);
    let input = CallAfter {
        data: &file,
        at: provkit::envelope::shipment::HEADER_LEN,
        hook: Some(|| current.set_min_decrypt_version(KEK, 2, 3).unwrap()),
    };
    assert_eq!(
        stale.import(RECIPIENT, &fx.manufacturer_pk, input, 4).err(),
        Some(LedgerError::KekVersionRetired(Fixture::slot_v1().kek)),
        "a minimum raised during the import refuses it before anything is staged"
    );
    assert_eq!(stale.census().unwrap().count_below(KEK, 2), 0);
    assert!(stale.lookup(810).unwrap().is_none(), "nothing promoted");
    let status = stale.import_status(&batch(13)).unwrap().expect("started");
    assert_eq!(status.records_staged, 0, "nothing staged");
    assert_last_event_refuses_retired(&mut stale, batch(13));

    current.abandon_import(&batch(13), 5).unwrap();
    let r = current
        .import(RECIPIENT, &fx.manufacturer_pk, file.as_slice(), 6)
        .unwrap();
    assert_eq!(r.promoted, 3);
    assert_eq!(current.census().unwrap().count_below(KEK, 2), 0);
    current.verify_audit(None).unwrap();
}

/// Asserts that the newest audit event is `batch_id`'s import refused for a retired KEK
/// version.
fn assert_last_event_refuses_retired<B: LedgerBackend>(
    ledger: &mut SuiteLedger<B>,
    batch_id: BatchId,
) {
    let head = ledger.audit_head().unwrap();
    let event = {
        let mut tx = ledger.backend_mut().begin(TxMode::Read).unwrap();
        tx.audit_rows(head.seq, 1).unwrap().remove(0).decode()
    };
    assert!(
        matches!(
            event,
            Some(AuditEvent::ImportRefused {
                batch_id: b,
                reason: Refusal::KekVersionRetired,
                ..
            }) if b == batch_id
        ),
        "the refusal is audited: {event:?}"
    );
}

/// Reads `data`, calling `hook` once when the reader first reaches byte `at`.
struct CallAfter<'a, H: FnMut()> {
    data: &'a [u8],
    at: usize,
    hook: Option<H>,
}

impl<H: FnMut()> std::io::Read for CallAfter<'_, H> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.at == 0 {
            if let Some(mut hook) = self.hook.take() {
                hook();
            }
        }
        let n = buf.len().min(self.data.len());
        let n = if self.at > 0 { n.min(self.at) } else { n };
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        self.at = self.at.saturating_sub(n);
        Ok(n)
    }
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
    let check = |rows: &[AuditRecord]| {
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

/// Serials at the edges of the `u64` ↔ signed 64-bit column mapping
/// ([`to_db`]): 0, 1, 2⁶³−1 (largest positive), 2⁶³ (`i64::MIN`,
/// the first row in the database's serial order) and 2⁶⁴−1 (−1).
pub const EDGE_SERIALS: [u64; 5] = [0, 1, (1 << 63) - 1, 1 << 63, u64::MAX];

/// How long one rotation of the [`serial_edges`] fixture (about twenty keys) may take
/// before it counts as not terminating.
pub const ROTATION_BOUND: Duration = Duration::from_secs(120);

/// Serial 2⁶³: `i64::MIN` in the database, the first key in its order.
const TOP: u64 = 1 << 63;

/// One step of SplitMix64: deterministic "random" serials without an RNG dependency.
const fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// [`EDGE_SERIALS`], the serials on either side of the sign boundary, and `random` serials
/// drawn from `seed` over the whole `u64` range; ascending (`u64` order, as a shipment
/// lists them), without duplicates.
#[must_use]
pub fn edge_serials(seed: u64, random: usize) -> Vec<u64> {
    let mut state = seed;
    let mut v: Vec<u64> = EDGE_SERIALS
        .into_iter()
        .chain([(1 << 63) + 1, u64::MAX - 1])
        .chain((0..random).map(|_| splitmix64(&mut state)))
        .collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// `serials` in the order a backend pages them (ascending stored value, see
/// [`db_order`]).
fn in_db_order(serials: &[u64]) -> Vec<u64> {
    let mut v = serials.to_vec();
    v.sort_unstable_by(|a, b| db_order(*a, *b));
    v
}

/// Walks a key listing page by page from the start and returns the serials in the order
/// they came. Bounded: a listing of `n` keys must end within `n + 1` pages, every page
/// must lie strictly after its cursor, in [`db_order`]; otherwise this panics (a cursor
/// that maps onto a real serial restarts the walk and would loop forever).
fn walk_pages<B: LedgerBackend>(
    backend: &mut B,
    what: &str,
    n: usize,
    mut page: impl FnMut(&mut B::Tx<'_>, Option<u64>) -> Vec<KeyRow>,
) -> Vec<u64> {
    let mut tx = backend.begin(TxMode::Read).unwrap();
    let mut seen = Vec::new();
    let mut after: Option<u64> = None;
    for _ in 0..=n {
        let rows = page(&mut tx, after);
        let Some(last) = rows.last().map(|r| r.serial) else {
            return seen;
        };
        for r in &rows {
            assert!(
                after.is_none_or(|a| db_order(r.serial, a).is_gt()),
                "{what}: the page after serial {after:#x?} returned serial {:#x} (to_db {}): \
                 the cursor does not advance",
                r.serial,
                to_db(r.serial)
            );
            after = Some(r.serial);
            seen.push(r.serial);
        }
        after = Some(last);
    }
    panic!(
        "{what}: {n} keys still not listed after {} pages (seen {seen:#x?})",
        n + 1
    );
}

/// Runs `f` on the ledger on another thread and waits at most [`ROTATION_BOUND`] for it:
/// a ledger loop that does not terminate fails the test instead of hanging it.
fn within_bound<B, T>(
    ledger: SuiteLedger<B>,
    what: &str,
    f: impl FnOnce(&mut SuiteLedger<B>) -> T + Send + 'static,
) -> (SuiteLedger<B>, T)
where
    B: LedgerBackend + Send + 'static,
    T: Send + 'static,
{
    let (done, wait) = channel();
    std::thread::spawn(move || {
        let mut ledger = ledger;
        let out = f(&mut ledger);
        let _ = done.send((ledger, out));
    });
    match wait.recv_timeout(ROTATION_BOUND) {
        Ok(v) => v,
        Err(RecvTimeoutError::Timeout) => {
            panic!("{what} did not finish within {ROTATION_BOUND:?}: it does not terminate")
        }
        Err(RecvTimeoutError::Disconnected) => panic!("{what} panicked"),
    }
}

/// Serials 0, 1, 2⁶³−1, 2⁶³, 2⁶⁴−1, their neighbours and random ones through every
/// ledger operation — import, paging, census, lookup, issuance, certificates, key check,
/// rotation (with keys refused at the edges), audit — each case on a fresh backend from
/// `fresh`, with a different random draw, rotation batch size and set of unrewrappable
/// keys. Every loop is bounded: paging within `n + 1` pages, a rotation within
/// [`ROTATION_BOUND`]; the audit log must hold exactly the rows the operations imply.
pub fn serial_edges<B: LedgerBackend + Send + 'static>(mut fresh: impl FnMut() -> B) {
    let cases: [(u64, u32, &[u64]); 5] = [
        // 2⁶³ refused alone on its page: the cursor sits on i64::MIN.
        (1, 1, &EDGE_SERIALS),
        // 2⁶³ left as the last key not under the target on the second run.
        (2, 2, &[TOP]),
        (3, 3, &[]),
        (4, 1, &[u64::MAX, 0, TOP - 1]),
        (5, 64, &[TOP, TOP + 1]),
    ];
    for (seed, batch_size, corrupt) in cases {
        serial_edges_case(fresh(), seed, batch_size, corrupt);
    }
}

#[allow(clippy::too_many_lines)]
fn serial_edges_case<B: LedgerBackend + Send + 'static>(
    backend: B,
    seed: u64,
    batch_size: u32,
    corrupt: &[u64],
) {
    let serials = edge_serials(seed, 12);
    let n = serials.len();
    let n64 = n as u64;
    let ordered = in_db_order(&serials);
    let absent: Vec<u64> = [2, (1 << 63) - 2, (1 << 63) + 2, u64::MAX - 2]
        .into_iter()
        .filter(|s| !serials.contains(s))
        .collect();
    let case = format!("case seed {seed}, batch {batch_size}");
    let mut fx = Fixture::new(100 + seed);
    let mut ledger = Fixture::ledger(backend, 4);
    let b = batch(0x40 + u8::try_from(seed).unwrap());

    // Import (several chunks and staging transactions), then again: a no-op.
    let file = fx.shipment(b, &serials, 3);
    let r = ledger
        .import(RECIPIENT, &fx.manufacturer_pk, file.as_slice(), 1)
        .expect("import");
    assert_eq!(
        (u64::from(r.records), r.promoted),
        (n64, n64),
        "{case}: every key promoted"
    );
    assert!(r.refused.is_empty(), "{case}: {:?}", r.refused);
    assert!(
        ledger
            .import(RECIPIENT, &fx.manufacturer_pk, file.as_slice(), 1)
            .unwrap()
            .already_imported,
        "{case}: re-import is a no-op"
    );
    // The same serials with other keys, in another batch: every record a serial
    // conflict, classified and reported in the stored order, nothing promoted.
    let conflicting = fx.shipment(batch(0x60 + u8::try_from(seed).unwrap()), &serials, 5);
    let r = ledger
        .import(RECIPIENT, &fx.manufacturer_pk, conflicting.as_slice(), 1)
        .expect("conflicting import");
    assert_eq!(r.promoted, 0, "{case}: a live serial keeps its key");
    let refused: Vec<(u64, Refusal)> = r.refused.iter().map(|x| (x.serial, x.reason)).collect();
    let want: Vec<(u64, Refusal)> = ordered
        .iter()
        .map(|&s| (s, Refusal::SerialConflict))
        .collect();
    assert_eq!(refused, want, "{case}: conflicts");

    // Paging, at the backend: every key exactly once, in the stored order, bounded.
    for limit in [1, 2, 3, u32::try_from(n).unwrap() + 1] {
        let what = format!("{case}: keys_page(limit {limit})");
        let walk = walk_pages(ledger.backend_mut(), &what, n, |tx, after| {
            tx.keys_page(after, limit).unwrap()
        });
        assert_eq!(walk, ordered, "{what}");
        let what = format!("{case}: keys_not_under(v2, limit {limit})");
        let walk = walk_pages(ledger.backend_mut(), &what, n, |tx, after| {
            tx.keys_not_under(Fixture::slot_v2().kek, after, limit)
                .unwrap()
        });
        assert_eq!(walk, ordered, "{what}");
        let mut tx = ledger.backend_mut().begin(TxMode::Read).unwrap();
        for after in [None, Some(TOP), Some(u64::MAX), Some(0)] {
            assert!(
                tx.keys_not_under(Fixture::slot_v1().kek, after, limit)
                    .unwrap()
                    .is_empty(),
                "{case}: every key is under v1"
            );
        }
    }

    // Census and lookup.
    let census = ledger.census().unwrap();
    assert_eq!(
        (census.total(), census.count(Fixture::slot_v1().kek)),
        (n64, n64),
        "{case}: census"
    );
    for &s in &serials {
        let rec = ledger
            .lookup(s)
            .unwrap()
            .unwrap_or_else(|| panic!("{case}: serial {s:#x} not found"));
        assert_eq!(
            (rec.key.serial, rec.key.key_id, rec.key.batch_id),
            (s, s, b),
            "{case}: lookup {s:#x}"
        );
        assert_eq!((rec.key.imported_at, rec.key.issued_at), (1, None));
        let events: Vec<AuditEvent> = rec.history.into_iter().map(|(_, _, e)| e).collect();
        assert!(
            matches!(events.as_slice(), [AuditEvent::RecordRefused { serial, key_id, reason: Refusal::SerialConflict, .. }] if (*serial, *key_id) == (s, s)),
            "{case}: history of {s:#x}: {events:?}"
        );
    }
    for &a in &absent {
        assert!(ledger.lookup(a).unwrap().is_none(), "{case}: {a:#x} absent");
    }

    // Issuance: one batch, then each again, then the absent ones; certificates.
    let out = ledger.issue_batch(&serials, 2).unwrap();
    for (&s, o) in serials.iter().zip(&out) {
        let IssueOutcome::Issued(k) = o else {
            panic!("{case}: {s:#x} not issued: {o:?}")
        };
        assert_eq!((k.serial, k.key_id, k.issued_at), (s, s, 2));
        assert_eq!(
            ledger.open_key(k).unwrap().len(),
            16,
            "{case}: {s:#x} opens"
        );
    }
    for &s in &serials {
        assert_eq!(
            ledger.issue(s, 3),
            Err(LedgerError::AlreadyIssued {
                serial: s,
                issued_at: 2
            }),
            "{case}"
        );
        ledger
            .attach_certificate(s, &s.to_be_bytes(), 4)
            .unwrap_or_else(|e| panic!("{case}: certificate for {s:#x}: {e:?}"));
    }
    for &a in &absent {
        assert_eq!(ledger.issue(a, 3), Err(LedgerError::UnknownSerial(a)));
        let mut tx = ledger.backend_mut().begin(TxMode::Read).unwrap();
        let rows = tx.audit_for_serial(a).unwrap();
        assert_eq!(rows.len(), 1, "{case}: one event about absent {a:#x}");
        assert_eq!(
            rows[0].decode(),
            Some(AuditEvent::IssueRefused {
                serial: a,
                reason: Refusal::UnknownSerial
            })
        );
    }
    for &s in &serials {
        let rec = ledger.lookup(s).unwrap().unwrap();
        assert_eq!(rec.key.issued_at, Some(2));
        assert_eq!(rec.key.certificate.as_deref(), Some(&s.to_be_bytes()[..]));
        let events: Vec<(u8, Option<u64>)> = rec
            .history
            .iter()
            .map(|(_, _, e)| (e.tag(), e.serial()))
            .collect();
        assert_eq!(
            events,
            vec![
                (0x07, Some(s)),
                (0x08, Some(s)),
                (0x09, Some(s)),
                (0x0A, Some(s))
            ],
            "{case}: history of {s:#x}: RecordRefused, Issued, IssueRefused, \
             CertificateAttached"
        );
    }
    let check = ledger.check_keys().unwrap();
    assert_eq!((check.checked, check.bad.len()), (n64, 0), "{case}");
    // ImportStarted, ImportCompleted, ImportRepeated; ImportStarted, ImportCompleted;
    // four rows per serial; one per absent serial.
    let mut rows = 5 + 4 * n64 + absent.len() as u64;
    assert_eq!(ledger.verify_audit(None).unwrap().rows, rows, "{case}");

    // Keys that cannot be rewrapped (their wrapped bytes damaged) stay behind, refused.
    {
        let mut tx = ledger.backend_mut().begin(TxMode::Write).unwrap();
        for &s in corrupt {
            let row = tx.key_by_serial(s).unwrap().unwrap();
            let mut bytes = row.wrapped.bytes.clone();
            bytes[0] ^= 0x80;
            let damaged = StoredWrap {
                bytes,
                ..row.wrapped
            };
            assert!(tx.update_wrapped(s, damaged.kek, &damaged).unwrap());
        }
        tx.commit().unwrap();
    }
    let refused_order = in_db_order(corrupt);
    assert_eq!(
        ledger.check_keys().unwrap().bad,
        refused_order,
        "{case}: check_keys names the damaged keys"
    );
    let refused: Vec<(u64, Refusal)> = refused_order
        .iter()
        .map(|&s| (s, Refusal::UnwrapFailed))
        .collect();

    // First rotation: every key is a candidate; pages of `batch_size` in stored order.
    ledger.keks_mut().add_version(Fixture::slot_v2()).unwrap();
    let (mut ledger, r) = within_bound(ledger, "rotate", move |l| l.rotate(batch_size, 10));
    let r = r.unwrap_or_else(|e| panic!("{case}: rotate: {e:?}"));
    let pages: Vec<&[u64]> = ordered.chunks(batch_size as usize).collect();
    let c = corrupt.len() as u64;
    assert_eq!(r.batches as usize, pages.len(), "{case}: pages");
    assert_eq!(r.rewrapped, n64 - c, "{case}");
    assert_eq!(r.refused, refused, "{case}: refused keys");
    assert_eq!(r.after.count(Fixture::slot_v2().kek), n64 - c, "{case}");
    assert_eq!(r.after.count(Fixture::slot_v1().kek), c, "{case}");
    let rewrap_events = pages
        .iter()
        .filter(|p| p.iter().any(|s| !corrupt.contains(s)))
        .count() as u64;
    rows += 2 + c + rewrap_events;
    assert_eq!(
        ledger.verify_audit(None).unwrap().rows,
        rows,
        "{case}: started, one Rewrapped per page with a rewrap, one RewrapRefused per \
         damaged key, completed"
    );

    // Second rotation: only the damaged keys are candidates, refused again.
    let (mut ledger, r) = within_bound(ledger, "second rotate", move |l| l.rotate(batch_size, 11));
    let r = r.unwrap_or_else(|e| panic!("{case}: second rotate: {e:?}"));
    assert_eq!(
        u64::from(r.batches),
        c.div_ceil(u64::from(batch_size)),
        "{case}"
    );
    assert_eq!((r.rewrapped, &r.refused), (0, &refused), "{case}");
    rows += 2 + c;
    assert_eq!(ledger.verify_audit(None).unwrap().rows, rows, "{case}");
    for &s in corrupt {
        let rec = ledger.lookup(s).unwrap().unwrap();
        let refusals = rec
            .history
            .iter()
            .filter(
                |(_, _, e)| matches!(e, AuditEvent::RewrapRefused { serial, .. } if *serial == s),
            )
            .count();
        assert_eq!(refusals, 2, "{case}: {s:#x} refused by each rotation");
    }

    // Every other key still opens, now under v2.
    let check = ledger.check_keys().unwrap();
    assert_eq!((check.checked, check.bad), (n64, refused_order), "{case}");
    for &s in &serials {
        let key = ledger.lookup(s).unwrap().unwrap().key;
        let want = if corrupt.contains(&s) { 1 } else { 2 };
        assert_eq!(key.wrapped.kek.version, want, "{case}: {s:#x}");
    }
}

/// A backend wrapper that pages like the SQLite backend did before issue #14: a cursor
/// at serial 2⁶³ (`i64::MIN`, its "no cursor" value) starts the listing again from the
/// first row. For [`cursor_must_advance`]; not a backend to use.
#[derive(Debug)]
pub struct SentinelCursor<B>(pub B);

/// The transaction of [`SentinelCursor`]: everything delegated, except that the key
/// listings forget a cursor at 2⁶³.
#[derive(Debug)]
pub struct SentinelCursorTx<T>(T);

impl<B: LedgerBackend> LedgerBackend for SentinelCursor<B> {
    type Tx<'a>
        = SentinelCursorTx<B::Tx<'a>>
    where
        Self: 'a;

    fn begin(&mut self, mode: TxMode) -> Result<Self::Tx<'_>> {
        self.0.begin(mode).map(SentinelCursorTx)
    }
}

impl<T: LedgerTx> LedgerTx for SentinelCursorTx<T> {
    fn commit(self) -> Result<()> {
        self.0.commit()
    }
    fn audit_head(&mut self) -> Result<ChainHead> {
        self.0.audit_head()
    }
    fn append_audit(&mut self, record: &AuditRecord) -> Result<()> {
        self.0.append_audit(record)
    }
    fn audit_rows(&mut self, from_seq: u64, limit: u32) -> Result<Vec<AuditRecord>> {
        self.0.audit_rows(from_seq, limit)
    }
    fn audit_for_serial(&mut self, serial: u64) -> Result<Vec<AuditRecord>> {
        self.0.audit_for_serial(serial)
    }
    fn import_get(&mut self, batch_id: &BatchId) -> Result<Option<ImportRow>> {
        self.0.import_get(batch_id)
    }
    fn import_insert(&mut self, row: &ImportRow) -> Result<()> {
        self.0.import_insert(row)
    }
    fn import_progress(&mut self, batch_id: &BatchId, chunks: u32, records: u64) -> Result<()> {
        self.0.import_progress(batch_id, chunks, records)
    }
    fn import_complete(&mut self, batch_id: &BatchId, hash: &[u8; 32], at: u64) -> Result<()> {
        self.0.import_complete(batch_id, hash, at)
    }
    fn import_delete(&mut self, batch_id: &BatchId) -> Result<()> {
        self.0.import_delete(batch_id)
    }
    fn stage(&mut self, rows: &[KeyRow]) -> Result<()> {
        self.0.stage(rows)
    }
    fn promote_staged(&mut self, batch_id: &BatchId) -> Result<u64> {
        self.0.promote_staged(batch_id)
    }
    fn unpromoted_staged(&mut self, batch_id: &BatchId) -> Result<Vec<KeyRow>> {
        self.0.unpromoted_staged(batch_id)
    }
    fn clear_staged(&mut self, batch_id: &BatchId) -> Result<u64> {
        self.0.clear_staged(batch_id)
    }
    fn key_by_serial(&mut self, serial: u64) -> Result<Option<KeyRow>> {
        self.0.key_by_serial(serial)
    }
    fn key_by_fingerprint(&mut self, fingerprint: &[u8; 32]) -> Result<Option<KeyRow>> {
        self.0.key_by_fingerprint(fingerprint)
    }
    fn key_by_key_id(&mut self, manufacturer_id: &[u8; 16], key_id: u64) -> Result<Option<KeyRow>> {
        self.0.key_by_key_id(manufacturer_id, key_id)
    }
    fn mark_issued(&mut self, serial: u64, now: u64) -> Result<Option<KeyRow>> {
        self.0.mark_issued(serial, now)
    }
    fn set_certificate(&mut self, serial: u64, certificate: &[u8]) -> Result<bool> {
        self.0.set_certificate(serial, certificate)
    }
    fn keys_page(&mut self, after: Option<u64>, limit: u32) -> Result<Vec<KeyRow>> {
        self.0.keys_page(after.filter(|&a| a != TOP), limit)
    }
    fn keys_not_under(
        &mut self,
        target: KekRef,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<KeyRow>> {
        self.0
            .keys_not_under(target, after.filter(|&a| a != TOP), limit)
    }
    fn update_wrapped(
        &mut self,
        serial: u64,
        expected: KekRef,
        wrapped: &StoredWrap,
    ) -> Result<bool> {
        self.0.update_wrapped(serial, expected, wrapped)
    }
    fn census(&mut self) -> Result<KeyCensus> {
        self.0.census()
    }
    fn min_decrypt_version(&mut self, kek: KekId) -> Result<u32> {
        self.0.min_decrypt_version(kek)
    }
    fn set_min_decrypt_version(&mut self, kek: KekId, version: u32) -> Result<()> {
        self.0.set_min_decrypt_version(kek, version)
    }
}

/// The ledger's paging loops end even over a backend whose cursor does not advance
/// ([`SentinelCursor`]): `check_keys` and `rotate` fail with
/// [`LedgerError::Backend`] within [`ROTATION_BOUND`] instead of running forever, and a
/// rotation leaves the audit chain intact, with the first page's refusal recorded once.
pub fn cursor_must_advance<B: LedgerBackend + Send + 'static>(backend: B) {
    let mut fx = Fixture::new(18);
    let mut ledger = Fixture::ledger(SentinelCursor(backend), 1000);
    let file = fx.shipment(batch(11), &[TOP], 2);
    ledger
        .import(RECIPIENT, &fx.manufacturer_pk, file.as_slice(), 1)
        .unwrap();
    let (mut ledger, r) = within_bound(ledger, "check_keys", |l| l.check_keys());
    assert!(
        matches!(r, Err(LedgerError::Backend(_))),
        "a page that repeats its cursor is an error: {r:?}"
    );
    {
        let mut tx = ledger.backend_mut().begin(TxMode::Write).unwrap();
        let row = tx.key_by_serial(TOP).unwrap().unwrap();
        let mut bytes = row.wrapped.bytes.clone();
        bytes[0] ^= 0x80;
        let damaged = StoredWrap {
            bytes,
            ..row.wrapped
        };
        assert!(tx.update_wrapped(TOP, damaged.kek, &damaged).unwrap());
        tx.commit().unwrap();
    }
    ledger.keks_mut().add_version(Fixture::slot_v2()).unwrap();
    let rows = ledger.verify_audit(None).unwrap().rows;
    let (mut ledger, r) = within_bound(ledger, "rotate", |l| l.rotate(1, 2));
    assert!(
        matches!(r, Err(LedgerError::Backend(_))),
        "a rotation over a cursor that does not advance is an error: {r:?}"
    );
    let report = ledger.verify_audit(None).unwrap();
    assert_eq!(
        (report.rows, report.refusals),
        (rows + 2, 1),
        "RotationStarted and one RewrapRefused, nothing repeated"
    );
}
