//! The ledger: import, issuance, certificates, rotation and audit over any backend.

use crate::audit::{
    AuditEvent, AuditRecord, ChainHead, ChainReport, ChainVerifier, KeyCensus, Refusal,
};
use crate::backend::{LedgerBackend, LedgerTx, TxMode};
use crate::codec::db_order;
use crate::error::{BackendError, LedgerError, Result, Retry};
use crate::fingerprint::fingerprint;
use crate::rows::{BatchId, ImportRow, ImportStatus, KeyRow, StoredWrap};
use provkit::ec::{EcPublicKey, sha256};
use provkit::envelope::shipment::{
    HEADER_LEN, KeyUsageCode, OpenedRecord, ShipmentHeader, ShipmentOpener, TRAILER_LEN,
};
use provkit::envelope::{Kcv, KekDirectory, KekId, KekRef, KekSlot};
use provkit::secret::SecretBuf;
use provkit::store::{IdentityKeys, KeyId, KeyKind, SymmetricKeys};
use std::io::Read;
use zeroize::Zeroizing;

/// Rows read per page when scanning the audit log or the key table.
const PAGE: u32 = 10_000;

/// How a [`Ledger`] is set up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LedgerConfig {
    /// The KEK keys are wrapped under: imports and rotations use its primary version in
    /// the [`KekDirectory`].
    pub kek: KekId,
    /// The AES key, in the KEK store, that computes key fingerprints
    /// ([`crate::fingerprint`]). Never rotated.
    pub fingerprint_key: KeyId,
    /// Records per staging transaction during import (at least one chunk is staged per
    /// transaction). Larger is faster; a crash loses at most this much work.
    pub stage_records: usize,
}

impl LedgerConfig {
    /// A configuration with the default staging size (16,384 records).
    #[must_use]
    pub const fn new(kek: KekId, fingerprint_key: KeyId) -> Self {
        Self {
            kek,
            fingerprint_key,
            stage_records: 16_384,
        }
    }
}

/// One record of a verified shipment that was not made live, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RefusedRecord {
    /// The serial.
    pub serial: u64,
    /// The manufacturer key id.
    pub key_id: u64,
    /// Why: [`Refusal::DuplicateRecord`] (this serial already has this very key),
    /// [`Refusal::SerialConflict`], [`Refusal::DuplicateKey`] or [`Refusal::KeyIdConflict`].
    pub reason: Refusal,
}

/// What an import did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportReport {
    /// The batch id.
    pub batch_id: BatchId,
    /// Records in the file.
    pub records: u32,
    /// Records made live by this call.
    pub promoted: u64,
    /// Records refused, with reasons (each also audited).
    pub refused: Vec<RefusedRecord>,
    /// Chunks that an earlier, interrupted run had staged (skipped this time).
    pub resumed_from_chunk: u32,
    /// True when this exact file was already imported: nothing changed.
    pub already_imported: bool,
    /// The file's transcript hash.
    pub transcript_hash: Option<[u8; 32]>,
}

/// A key handed out by [`Ledger::issue`]: still wrapped; open it with
/// [`Ledger::open_key`] at the point of injection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedKey {
    /// The serial.
    pub serial: u64,
    /// The manufacturer key id.
    pub key_id: u64,
    /// The batch the key came in.
    pub batch_id: BatchId,
    /// The key usage.
    pub usage: KeyUsageCode,
    /// The key type.
    pub kind: KeyKind,
    /// Its key check value.
    pub kcv: Kcv,
    /// The wrapped key.
    pub wrapped: StoredWrap,
    /// When it was issued.
    pub issued_at: u64,
}

impl IssuedKey {
    fn from_row(row: KeyRow, issued_at: u64) -> Self {
        Self {
            serial: row.serial,
            key_id: row.key_id,
            batch_id: row.batch_id,
            usage: row.usage,
            kind: row.kind,
            kcv: row.kcv,
            wrapped: row.wrapped,
            issued_at,
        }
    }
}

/// The outcome for one serial of [`Ledger::issue_batch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IssueOutcome {
    /// Issued now, by this call.
    Issued(IssuedKey),
    /// Refused (and audited).
    Refused {
        /// The serial.
        serial: u64,
        /// [`Refusal::AlreadyIssued`] or [`Refusal::UnknownSerial`].
        reason: Refusal,
        /// When it was issued, for [`Refusal::AlreadyIssued`].
        issued_at: Option<u64>,
    },
}

/// The outcome of [`Ledger::attach_certificate`] when it is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertificateOutcome {
    /// Attached.
    Attached,
    /// Refused (and audited).
    Refused(Refusal),
}

/// Everything the ledger knows about one serial: which key, certificate and shipment,
/// and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceRecord {
    /// The live row.
    pub key: KeyRow,
    /// The transcript hash of the shipment the key came in.
    pub shipment_transcript: Option<[u8; 32]>,
    /// Every audit event about the serial: (sequence number, timestamp, event).
    pub history: Vec<(u64, u64, AuditEvent)>,
}

/// The outcome of [`Ledger::rotate`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RotationReport {
    /// The version keys were rewrapped to.
    pub target: KekRef,
    /// Keys per version before.
    pub before: KeyCensus,
    /// Keys per version after.
    pub after: KeyCensus,
    /// Keys rewrapped.
    pub rewrapped: u64,
    /// Transactions (batches) used.
    pub batches: u32,
    /// Keys that could not be rewrapped (each audited), with the reason.
    pub refused: Vec<(u64, Refusal)>,
}

/// The outcome of [`Ledger::check_keys`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KeyCheckReport {
    /// Keys unwrapped and checked.
    pub checked: u64,
    /// Serials whose key failed to unwrap, whose KCV or fingerprint did not match, or whose
    /// KEK version is retired.
    pub bad: Vec<u64>,
}

/// The audit chain's head, carried through one write transaction.
struct Chain {
    head: ChainHead,
    now: u64,
}

impl Chain {
    fn lock<T: LedgerTx>(tx: &mut T, now: u64) -> Result<Self> {
        Ok(Self {
            head: tx.audit_head()?,
            now,
        })
    }

    fn append<T: LedgerTx>(&mut self, tx: &mut T, event: &AuditEvent) -> Result<()> {
        let record = AuditRecord::next(&self.head, self.now, event);
        tx.append_audit(&record)?;
        self.head = ChainHead::of(&record);
        Ok(())
    }
}

/// The issuance ledger over a backend `B`, a KEK store `K` (an HSM in production) and a
/// KEK directory `D` (which KEK versions exist and which are retired).
///
/// One `Ledger` per thread: each owns its backend connection and KEK store session; the
/// database serializes them.
pub struct Ledger<B, K, D> {
    backend: B,
    keys: K,
    keks: D,
    config: LedgerConfig,
    /// Tries repeated under the backend's retry policy.
    retries: u64,
}

impl<B, K, D> std::fmt::Debug for Ledger<B, K, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

fn io_err(e: std::io::Error) -> LedgerError {
    LedgerError::Io(e.into())
}

impl<B: LedgerBackend, K: SymmetricKeys, D: KekDirectory> Ledger<B, K, D> {
    /// A ledger over `backend` (already opened, schema in place), with the KEK store
    /// `keys` and the KEK directory `keks`.
    pub const fn new(backend: B, keys: K, keks: D, config: LedgerConfig) -> Self {
        Self {
            backend,
            keys,
            keks,
            config,
            retries: 0,
        }
    }

    /// How many times this ledger repeated a call after a failure the backend classed
    /// [`Retry::Immediately`] (see [`LedgerBackend::retry_policy`]): a figure to
    /// export as a metric; a steady rise means contention with other clients.
    #[must_use]
    pub const fn retries(&self) -> u64 {
        self.retries
    }

    /// Runs `op` (one transaction, nothing outside it) and repeats it under the
    /// backend's retry policy while it fails with [`Retry::Immediately`]: the failed
    /// transaction was rolled back, so a repetition starts from the same state.
    fn retrying<T>(&mut self, mut op: impl FnMut(&mut Self) -> Result<T>) -> Result<T> {
        let policy = self.backend.retry_policy();
        let mut attempt = 1;
        loop {
            match op(self) {
                Err(LedgerError::Backend(e))
                    if e.retry() == Retry::Immediately && attempt < policy.attempts =>
                {
                    std::thread::sleep(policy.backoff(attempt));
                    attempt += 1;
                    self.retries = self.retries.saturating_add(1);
                }
                r => return r,
            }
        }
    }

    /// The configuration.
    #[must_use]
    pub const fn config(&self) -> &LedgerConfig {
        &self.config
    }

    /// The backend (for queries the ledger does not wrap).
    pub const fn backend_mut(&mut self) -> &mut B {
        &mut self.backend
    }

    /// The KEK store.
    pub const fn keys_mut(&mut self) -> &mut K {
        &mut self.keys
    }

    /// The KEK directory (to register a new version before [`rotate`](Self::rotate)).
    pub const fn keks_mut(&mut self) -> &mut D {
        &mut self.keks
    }

    /// Takes the ledger apart.
    pub fn into_parts(self) -> (B, K, D) {
        (self.backend, self.keys, self.keks)
    }

    // ------------------------------------------------------------------ import

    /// Imports a shipment read from `input` (the whole file, from its first byte).
    ///
    /// The header is verified against `manufacturer`, decrypted with the HPKE key
    /// `recipient` in the KEK store, and each released key arrives wrapped under the
    /// ledger KEK's primary version: refused when that version is below the recorded
    /// minimum decryption version (a process with a stale directory), as the keys would
    /// not open. Records are staged per chunk group in their own transactions, with
    /// progress; only after the trailer signature verified are they promoted to the live
    /// table, in one transaction that also marks the import complete. So:
    /// - **idempotent**: the same file again is a no-op ([`ImportReport::already_imported`]);
    /// - **resumable**: after a crash, call `import` again with the same file; staged
    ///   chunks are decrypted (the HPKE sequence requires it) but not re-inserted;
    /// - **conflicts**: a batch id already imported from another file is refused with
    ///   [`LedgerError::BatchConflict`]; records whose serial, key or key id is already
    ///   live are refused one by one ([`ImportReport::refused`]).
    ///
    /// Every refusal and verification failure is audited.
    ///
    /// # Errors
    /// [`LedgerError::BatchConflict`]; [`LedgerError::KekVersionRetired`] when the
    /// primary version is below the minimum; [`LedgerError::ShipmentRejected`] when any
    /// verification fails (nothing is promoted; staged rows stay until
    /// [`abandon_import`](Self::abandon_import)); [`LedgerError::Io`]; backend errors.
    pub fn import<R: Read>(
        &mut self,
        recipient: KeyId,
        manufacturer: &EcPublicKey,
        mut input: R,
        now: u64,
    ) -> Result<ImportReport>
    where
        K: IdentityKeys,
    {
        let mut header = [0u8; HEADER_LEN];
        input.read_exact(&mut header).map_err(io_err)?;
        let header_hash = sha256(&header);
        let batch_id = ShipmentHeader::parse(&header).map_or([0; 16], |h| h.batch_id);
        let slot = self.keks.encrypt_slot(self.config.kek)?;
        let opener =
            match ShipmentOpener::new(&mut self.keys, recipient, manufacturer, &header, slot) {
                Ok(o) => o,
                Err(e) => return Err(self.reject_import(batch_id, header_hash, e, now)),
            };
        let parsed = *opener.header();

        // Start, resume, repeat or refuse.
        let (skip_chunks, records_staged) = {
            let mut tx = self.backend.begin(TxMode::Write)?;
            let mut chain = Chain::lock(&mut tx, now)?;
            if slot.kek.version < tx.min_decrypt_version(slot.kek.id)? {
                // A process whose directory is behind the recorded minimum.
                chain.append(
                    &mut tx,
                    &AuditEvent::ImportRefused {
                        batch_id,
                        header_hash,
                        reason: Refusal::KekVersionRetired,
                    },
                )?;
                tx.commit()?;
                return Err(LedgerError::KekVersionRetired(slot.kek));
            }
            let existing = tx.import_get(&batch_id)?;
            let start = match existing {
                Some(row) if row.header_hash != header_hash => {
                    chain.append(
                        &mut tx,
                        &AuditEvent::ImportRefused {
                            batch_id,
                            header_hash,
                            reason: Refusal::BatchConflict,
                        },
                    )?;
                    tx.commit()?;
                    return Err(LedgerError::BatchConflict(batch_id));
                }
                Some(row) if row.status == ImportStatus::Complete => {
                    chain.append(
                        &mut tx,
                        &AuditEvent::ImportRepeated {
                            batch_id,
                            header_hash,
                        },
                    )?;
                    tx.commit()?;
                    return Ok(ImportReport {
                        batch_id,
                        records: row.record_count,
                        promoted: 0,
                        refused: Vec::new(),
                        resumed_from_chunk: 0,
                        already_imported: true,
                        transcript_hash: row.transcript_hash,
                    });
                }
                Some(row) => {
                    chain.append(
                        &mut tx,
                        &AuditEvent::ImportResumed {
                            batch_id,
                            header_hash,
                            chunks_staged: row.chunks_staged,
                        },
                    )?;
                    (row.chunks_staged, row.records_staged)
                }
                None => {
                    tx.import_insert(&ImportRow {
                        batch_id,
                        manufacturer_id: parsed.manufacturer_id,
                        header_hash,
                        record_count: parsed.record_count,
                        chunks_staged: 0,
                        records_staged: 0,
                        status: ImportStatus::Staging,
                        transcript_hash: None,
                        started_at: now,
                        completed_at: None,
                    })?;
                    chain.append(
                        &mut tx,
                        &AuditEvent::ImportStarted {
                            batch_id,
                            manufacturer_id: parsed.manufacturer_id,
                            header_hash,
                            record_count: parsed.record_count,
                        },
                    )?;
                    (0, 0)
                }
            };
            tx.commit()?;
            start
        };

        let staged = self.stage_chunks(
            opener,
            &mut input,
            slot,
            &parsed,
            skip_chunks,
            records_staged,
            now,
        );
        let summary = match staged {
            Ok(s) => s,
            Err(StageError::Shipment(e)) => {
                return Err(self.reject_import(batch_id, header_hash, e, now));
            }
            Err(StageError::Io(e)) => {
                let _ = self.reject_import(batch_id, header_hash, provkit::Error::Unsupported, now);
                return Err(e);
            }
            Err(StageError::Ledger(e @ LedgerError::KekVersionRetired(_))) => {
                return Err(self
                    .audit_import_refusal(batch_id, header_hash, Refusal::KekVersionRetired, now)
                    .map_or_else(|audit| audit, |()| e));
            }
            Err(StageError::Ledger(e)) => return Err(e),
        };

        // Promote, in one transaction with the completion mark and the audit events.
        let mut tx = self.backend.begin(TxMode::Write)?;
        let mut chain = Chain::lock(&mut tx, now)?;
        match tx.import_get(&batch_id)? {
            Some(row) if row.header_hash == header_hash && row.status == ImportStatus::Staging => {}
            Some(row) if row.header_hash == header_hash => {
                // Another process completed the same file meanwhile.
                chain.append(
                    &mut tx,
                    &AuditEvent::ImportRepeated {
                        batch_id,
                        header_hash,
                    },
                )?;
                tx.commit()?;
                return Ok(ImportReport {
                    batch_id,
                    records: row.record_count,
                    promoted: 0,
                    refused: Vec::new(),
                    resumed_from_chunk: skip_chunks,
                    already_imported: true,
                    transcript_hash: row.transcript_hash,
                });
            }
            _ => {
                chain.append(
                    &mut tx,
                    &AuditEvent::ImportRefused {
                        batch_id,
                        header_hash,
                        reason: Refusal::BatchConflict,
                    },
                )?;
                tx.commit()?;
                return Err(LedgerError::BatchConflict(batch_id));
            }
        }
        let promoted = tx.promote_staged(&batch_id)?;
        let mut refused = Vec::new();
        for row in tx.unpromoted_staged(&batch_id)? {
            let reason = classify_conflict(&mut tx, &row)?;
            chain.append(
                &mut tx,
                &AuditEvent::RecordRefused {
                    batch_id,
                    serial: row.serial,
                    key_id: row.key_id,
                    reason,
                },
            )?;
            refused.push(RefusedRecord {
                serial: row.serial,
                key_id: row.key_id,
                reason,
            });
        }
        tx.import_complete(&batch_id, &summary.transcript_hash, now)?;
        tx.clear_staged(&batch_id)?;
        chain.append(
            &mut tx,
            &AuditEvent::ImportCompleted {
                batch_id,
                transcript_hash: summary.transcript_hash,
                records: summary.records,
                promoted,
                refused: refused.len() as u64,
            },
        )?;
        tx.commit()?;
        Ok(ImportReport {
            batch_id,
            records: summary.records,
            promoted,
            refused,
            resumed_from_chunk: skip_chunks,
            already_imported: false,
            transcript_hash: Some(summary.transcript_hash),
        })
    }

    /// Opens every chunk, stages those after `skip_chunks`, reads the trailer and
    /// verifies it.
    #[allow(clippy::too_many_arguments)]
    fn stage_chunks<R: Read>(
        &mut self,
        mut opener: ShipmentOpener,
        input: &mut R,
        slot: KekSlot,
        header: &ShipmentHeader,
        skip_chunks: u32,
        mut records_staged: u64,
        now: u64,
    ) -> core::result::Result<provkit::envelope::shipment::ShipmentSummary, StageError> {
        let mut chunk = Zeroizing::new(vec![0u8; header.max_chunk_len()]);
        let mut opened: Vec<OpenedRecord> = Vec::new();
        let mut pending: Vec<KeyRow> = Vec::new();
        let mut index: u32 = 0;
        while let Some(len) = opener.next_chunk_len() {
            let buf = chunk
                .get_mut(..len)
                .ok_or(StageError::Ledger(LedgerError::Corrupt("chunk length")))?;
            input
                .read_exact(buf)
                .map_err(|e| StageError::Io(io_err(e)))?;
            opened.clear();
            if index < skip_chunks {
                opener
                    .open_chunk(&mut self.keys, buf, |_| Ok(()))
                    .map_err(StageError::Shipment)?;
            } else {
                opener
                    .open_chunk(&mut self.keys, buf, |r| {
                        opened.push(*r);
                        Ok(())
                    })
                    .map_err(StageError::Shipment)?;
                for r in &opened {
                    pending.push(self.row_for(r, slot, header, now)?);
                }
            }
            index += 1;
            let last = opener.next_chunk_len().is_none();
            if index > skip_chunks && (pending.len() >= self.config.stage_records || last) {
                records_staged += pending.len() as u64;
                let mut tx = self.backend.begin(TxMode::Write)?;
                // The minimum may have been raised since the import started. Raising it
                // counts staged keys under the chain lock, so this transaction takes
                // that lock before it reads the minimum: one of the two sees the other.
                Chain::lock(&mut tx, now)?;
                if slot.kek.version < tx.min_decrypt_version(slot.kek.id)? {
                    return Err(StageError::Ledger(LedgerError::KekVersionRetired(slot.kek)));
                }
                tx.stage(&pending)?;
                tx.import_progress(&header.batch_id, index, records_staged)?;
                tx.commit()?;
                pending.clear();
            }
        }
        let mut trailer = [0u8; TRAILER_LEN];
        input
            .read_exact(&mut trailer)
            .map_err(|e| StageError::Io(io_err(e)))?;
        let mut extra = [0u8; 1];
        match input.read(&mut extra) {
            Ok(0) => {}
            Ok(_) => {
                return Err(StageError::Shipment(provkit::Error::decode(
                    provkit::error::DecodeErrorKind::TrailingData,
                    usize::try_from(header.file_len()).unwrap_or(usize::MAX),
                )));
            }
            Err(e) => return Err(StageError::Io(io_err(e))),
        }
        opener.finish(&trailer).map_err(StageError::Shipment)
    }

    /// The staging row for a released record: its fingerprint is computed from the key
    /// unwrapped into a zeroizing buffer for that one computation.
    fn row_for(
        &mut self,
        r: &OpenedRecord,
        slot: KekSlot,
        header: &ShipmentHeader,
        now: u64,
    ) -> Result<KeyRow> {
        let mut plain = Zeroizing::new([0u8; 40]);
        let n = self.keys.unwrap_bytes(
            slot.key,
            r.wrapped.alg,
            r.wrapped.as_bytes(),
            plain.as_mut(),
        )?;
        let key = plain.get(..n).ok_or(LedgerError::Corrupt("key length"))?;
        let fp = fingerprint(&mut self.keys, self.config.fingerprint_key, r.kind, key)?;
        Ok(KeyRow {
            serial: r.serial,
            batch_id: header.batch_id,
            manufacturer_id: header.manufacturer_id,
            key_id: r.key_id,
            usage: r.usage,
            kind: r.kind,
            kcv: r.kcv,
            wrapped: StoredWrap {
                kek: r.wrapped.kek,
                alg: r.wrapped.alg,
                bytes: r.wrapped.as_bytes().to_vec(),
            },
            fingerprint: fp,
            imported_at: now,
            issued_at: None,
            certificate: None,
        })
    }

    /// Audits a rejected shipment and returns the error to report.
    fn reject_import(
        &mut self,
        batch_id: BatchId,
        header_hash: [u8; 32],
        error: provkit::Error,
        now: u64,
    ) -> LedgerError {
        match self.audit_import_refusal(batch_id, header_hash, Refusal::ShipmentInvalid, now) {
            Ok(()) => LedgerError::ShipmentRejected { batch_id, error },
            Err(e) => e,
        }
    }

    /// Audits an import refused for `reason`, in its own transaction.
    fn audit_import_refusal(
        &mut self,
        batch_id: BatchId,
        header_hash: [u8; 32],
        reason: Refusal,
        now: u64,
    ) -> Result<()> {
        let mut tx = self.backend.begin(TxMode::Write)?;
        let mut chain = Chain::lock(&mut tx, now)?;
        chain.append(
            &mut tx,
            &AuditEvent::ImportRefused {
                batch_id,
                header_hash,
                reason,
            },
        )?;
        tx.commit()
    }

    /// Abandons a staging (incomplete) import: deletes its staged rows and its progress,
    /// so that the batch can be imported again from another file. Audited.
    ///
    /// # Errors
    /// [`LedgerError::BatchConflict`] if the batch is complete (a completed import is
    /// never undone); [`LedgerError::Corrupt`]-free backend errors otherwise.
    pub fn abandon_import(&mut self, batch_id: &BatchId, now: u64) -> Result<u64> {
        self.retrying(|l| l.abandon_import_once(batch_id, now))
    }

    fn abandon_import_once(&mut self, batch_id: &BatchId, now: u64) -> Result<u64> {
        let mut tx = self.backend.begin(TxMode::Write)?;
        let mut chain = Chain::lock(&mut tx, now)?;
        match tx.import_get(batch_id)? {
            Some(row) if row.status == ImportStatus::Complete => {
                return Err(LedgerError::BatchConflict(*batch_id));
            }
            Some(_) => {}
            None => return Ok(0),
        }
        let staged = tx.clear_staged(batch_id)?;
        tx.import_delete(batch_id)?;
        chain.append(
            &mut tx,
            &AuditEvent::ImportAbandoned {
                batch_id: *batch_id,
                staged,
            },
        )?;
        tx.commit()?;
        Ok(staged)
    }

    // ------------------------------------------------------------------ issuance

    /// Issues the key of `serial`, exactly once: the first call returns it, every later
    /// call (from any thread or process) is refused with
    /// [`LedgerError::AlreadyIssued`] and audited.
    ///
    /// # Errors
    /// [`LedgerError::AlreadyIssued`]; [`LedgerError::UnknownSerial`]; backend errors.
    pub fn issue(&mut self, serial: u64, now: u64) -> Result<IssuedKey> {
        let mut outcomes = self.issue_batch(&[serial], now)?;
        match outcomes.pop() {
            Some(IssueOutcome::Issued(k)) => Ok(k),
            Some(IssueOutcome::Refused {
                issued_at: Some(issued_at),
                ..
            }) => Err(LedgerError::AlreadyIssued { serial, issued_at }),
            _ => Err(LedgerError::UnknownSerial(serial)),
        }
    }

    /// Issues several serials in one transaction (one audit row each, issued or refused):
    /// the fast path for a line that requests keys in groups.
    ///
    /// # Errors
    /// Backend errors (then nothing of the batch is issued).
    pub fn issue_batch(&mut self, serials: &[u64], now: u64) -> Result<Vec<IssueOutcome>> {
        self.retrying(|l| l.issue_batch_once(serials, now))
    }

    fn issue_batch_once(&mut self, serials: &[u64], now: u64) -> Result<Vec<IssueOutcome>> {
        let mut tx = self.backend.begin(TxMode::Write)?;
        let mut chain = Chain::lock(&mut tx, now)?;
        let mut out = Vec::with_capacity(serials.len());
        for &serial in serials {
            if let Some(row) = tx.mark_issued(serial, now)? {
                chain.append(
                    &mut tx,
                    &AuditEvent::Issued {
                        serial,
                        key_id: row.key_id,
                        kek: row.wrapped.kek,
                    },
                )?;
                out.push(IssueOutcome::Issued(IssuedKey::from_row(row, now)));
                continue;
            }
            let (reason, issued_at) = match tx.key_by_serial(serial)? {
                Some(row) => (Refusal::AlreadyIssued, row.issued_at),
                None => (Refusal::UnknownSerial, None),
            };
            chain.append(&mut tx, &AuditEvent::IssueRefused { serial, reason })?;
            out.push(IssueOutcome::Refused {
                serial,
                reason,
                issued_at,
            });
        }
        tx.commit()?;
        Ok(out)
    }

    /// Unwraps an issued key into a zeroizing buffer, for injection into the device, and
    /// checks it against its KCV. Refuses keys under a retired KEK version.
    ///
    /// # Errors
    /// [`LedgerError::KekVersionRetired`]; `Provkit(Crypto)` when the unwrap or the KCV
    /// check fails; store errors.
    pub fn open_key(&mut self, key: &IssuedKey) -> Result<SecretBuf<32>> {
        self.retrying(|l| l.open_key_once(key))
    }

    fn open_key_once(&mut self, key: &IssuedKey) -> Result<SecretBuf<32>> {
        let min = {
            let mut tx = self.backend.begin(TxMode::Read)?;
            tx.min_decrypt_version(key.wrapped.kek.id)?
        };
        unwrap_checked(
            &mut self.keys,
            &self.keks,
            &key.wrapped,
            key.kind,
            key.kcv,
            min,
        )?
        .secret()
    }

    /// Attaches the device certificate to an issued key, once. Refusals are audited.
    ///
    /// # Errors
    /// [`LedgerError::UnknownSerial`], [`LedgerError::NotIssued`],
    /// [`LedgerError::CertificateExists`]; backend errors.
    pub fn attach_certificate(&mut self, serial: u64, certificate: &[u8], now: u64) -> Result<()> {
        self.retrying(|l| l.attach_certificate_once(serial, certificate, now))
    }

    fn attach_certificate_once(&mut self, serial: u64, certificate: &[u8], now: u64) -> Result<()> {
        let mut tx = self.backend.begin(TxMode::Write)?;
        let mut chain = Chain::lock(&mut tx, now)?;
        if tx.set_certificate(serial, certificate)? {
            chain.append(
                &mut tx,
                &AuditEvent::CertificateAttached {
                    serial,
                    certificate_hash: sha256(certificate),
                },
            )?;
            return tx.commit();
        }
        let (reason, err) = match tx.key_by_serial(serial)? {
            None => (Refusal::UnknownSerial, LedgerError::UnknownSerial(serial)),
            Some(row) if row.issued_at.is_none() => {
                (Refusal::NotIssued, LedgerError::NotIssued(serial))
            }
            Some(_) => (
                Refusal::CertificateExists,
                LedgerError::CertificateExists(serial),
            ),
        };
        chain.append(&mut tx, &AuditEvent::CertificateRefused { serial, reason })?;
        tx.commit()?;
        Err(err)
    }

    /// Which key, certificate and shipment `serial` got, and when (with its audit
    /// history); `None` when no key was imported for it.
    ///
    /// # Errors
    /// Backend errors; [`LedgerError::Corrupt`] for an audit row that does not decode.
    pub fn lookup(&mut self, serial: u64) -> Result<Option<DeviceRecord>> {
        self.retrying(|l| l.lookup_once(serial))
    }

    fn lookup_once(&mut self, serial: u64) -> Result<Option<DeviceRecord>> {
        let mut tx = self.backend.begin(TxMode::Read)?;
        let Some(key) = tx.key_by_serial(serial)? else {
            return Ok(None);
        };
        let shipment_transcript = tx
            .import_get(&key.batch_id)?
            .and_then(|i| i.transcript_hash);
        let history = tx
            .audit_for_serial(serial)?
            .into_iter()
            .map(|r| {
                r.decode()
                    .map(|e| (r.seq, r.timestamp, e))
                    .ok_or(LedgerError::Corrupt("audit event"))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Some(DeviceRecord {
            key,
            shipment_transcript,
            history,
        }))
    }

    /// The import row of `batch_id`.
    ///
    /// # Errors
    /// Backend errors.
    pub fn import_status(&mut self, batch_id: &BatchId) -> Result<Option<ImportRow>> {
        self.retrying(|l| l.import_status_once(batch_id))
    }

    fn import_status_once(&mut self, batch_id: &BatchId) -> Result<Option<ImportRow>> {
        let mut tx = self.backend.begin(TxMode::Read)?;
        tx.import_get(batch_id)
    }

    // ------------------------------------------------------------------ rotation

    /// Keys per KEK version (live and staged).
    ///
    /// # Errors
    /// Backend errors.
    pub fn census(&mut self) -> Result<KeyCensus> {
        self.retrying(|l| l.census_once())
    }

    fn census_once(&mut self) -> Result<KeyCensus> {
        let mut tx = self.backend.begin(TxMode::Read)?;
        tx.census()
    }

    /// Rewraps every live key not yet under the ledger KEK's primary version, in
    /// transactions of `batch` keys: unwrap under the old version (refused below the
    /// minimum decryption version), wrap under the new. Audits the census before and
    /// after and one event per batch; keys that cannot be rewrapped are refused one by
    /// one and stay as they were. Safe to re-run after a crash.
    ///
    /// Register the new version in the directory first ([`keks_mut`](Self::keks_mut)).
    ///
    /// # Errors
    /// KEK directory errors for the target; store errors for the target KEK; backend
    /// errors.
    pub fn rotate(&mut self, batch: u32, now: u64) -> Result<RotationReport> {
        let target = self.keks.encrypt_slot(self.config.kek)?;
        let batch = batch.max(1);
        let before = {
            let mut tx = self.backend.begin(TxMode::Write)?;
            let mut chain = Chain::lock(&mut tx, now)?;
            let before = tx.census()?;
            chain.append(
                &mut tx,
                &AuditEvent::RotationStarted {
                    target: target.kek,
                    census: before.clone(),
                },
            )?;
            tx.commit()?;
            before
        };
        let mut after: Option<u64> = None;
        let mut rewrapped = 0u64;
        let mut batches = 0u32;
        let mut refused = Vec::new();
        loop {
            let mut tx = self.backend.begin(TxMode::Write)?;
            let rows = tx.keys_not_under(target.kek, after, batch)?;
            let Some(last) = page_end(after, &rows)? else {
                break;
            };
            let mut chain = Chain::lock(&mut tx, now)?;
            let mut mins: Vec<(KekId, u32)> = Vec::new();
            let mut count = 0u32;
            let mut first = None;
            for row in &rows {
                let id = row.wrapped.kek.id;
                let min = match mins.iter().find(|(k, _)| *k == id) {
                    Some((_, v)) => *v,
                    None => {
                        let v = tx.min_decrypt_version(id)?;
                        mins.push((id, v));
                        v
                    }
                };
                let reason = match rewrap_one(&mut self.keys, &self.keks, row, target, min) {
                    Ok(new) => {
                        if tx.update_wrapped(row.serial, row.wrapped.kek, &new)? {
                            count += 1;
                            first.get_or_insert(row.serial);
                        }
                        continue;
                    }
                    Err(LedgerError::KekVersionRetired(_)) => Refusal::KekVersionRetired,
                    Err(LedgerError::Provkit(provkit::Error::Crypto)) => Refusal::UnwrapFailed,
                    Err(e) => return Err(e),
                };
                chain.append(
                    &mut tx,
                    &AuditEvent::RewrapRefused {
                        serial: row.serial,
                        from: row.wrapped.kek,
                        reason,
                    },
                )?;
                refused.push((row.serial, reason));
            }
            if let Some(first_serial) = first {
                chain.append(
                    &mut tx,
                    &AuditEvent::Rewrapped {
                        target: target.kek,
                        count,
                        first_serial,
                        last_serial: last,
                    },
                )?;
            }
            tx.commit()?;
            rewrapped += u64::from(count);
            batches += 1;
            after = Some(last);
        }
        let mut tx = self.backend.begin(TxMode::Write)?;
        let mut chain = Chain::lock(&mut tx, now)?;
        let census_after = tx.census()?;
        chain.append(
            &mut tx,
            &AuditEvent::RotationCompleted {
                target: target.kek,
                census: census_after.clone(),
            },
        )?;
        tx.commit()?;
        Ok(RotationReport {
            target: target.kek,
            before,
            after: census_after,
            rewrapped,
            batches,
            refused,
        })
    }

    /// The minimum decryption version recorded for `kek`.
    ///
    /// # Errors
    /// Backend errors.
    pub fn min_decrypt_version(&mut self, kek: KekId) -> Result<u32> {
        self.retrying(|l| l.min_decrypt_version_once(kek))
    }

    fn min_decrypt_version_once(&mut self, kek: KekId) -> Result<u32> {
        let mut tx = self.backend.begin(TxMode::Read)?;
        tx.min_decrypt_version(kek)
    }

    /// Raises the minimum decryption version of `kek` to `version`: keys under lower
    /// versions no longer open or rewrap. Refused (and audited) while the census counts
    /// any key, live or staged, under a lower version, when `version` is above the
    /// directory's primary version, or when it would lower the minimum.
    ///
    /// # Errors
    /// [`LedgerError::KekVersionInUse`]; backend errors.
    pub fn set_min_decrypt_version(&mut self, kek: KekId, version: u32, now: u64) -> Result<()> {
        self.retrying(|l| l.set_min_decrypt_version_once(kek, version, now))
    }

    fn set_min_decrypt_version_once(&mut self, kek: KekId, version: u32, now: u64) -> Result<()> {
        let primary = self
            .keks
            .encrypt_slot(kek)
            .map(|s| s.kek.version)
            .unwrap_or(0);
        let mut tx = self.backend.begin(TxMode::Write)?;
        let mut chain = Chain::lock(&mut tx, now)?;
        let below = tx.census()?.count_below(kek, version);
        let current = tx.min_decrypt_version(kek)?;
        if below > 0 || version > primary || version < current {
            chain.append(
                &mut tx,
                &AuditEvent::MinDecryptVersionRefused {
                    kek,
                    version,
                    below,
                },
            )?;
            tx.commit()?;
            return Err(LedgerError::KekVersionInUse { kek, below });
        }
        tx.set_min_decrypt_version(kek, version)?;
        chain.append(&mut tx, &AuditEvent::MinDecryptVersionSet { kek, version })?;
        tx.commit()
    }

    // ------------------------------------------------------------------ verification

    /// The current head of the audit chain (export it as an anchor).
    ///
    /// # Errors
    /// Backend errors.
    pub fn audit_head(&mut self) -> Result<ChainHead> {
        self.retrying(|l| l.audit_head_once())
    }

    fn audit_head_once(&mut self) -> Result<ChainHead> {
        let mut tx = self.backend.begin(TxMode::Read)?;
        tx.audit_head()
    }

    /// Verifies the whole audit log against its chain, its head row and, if given, an
    /// exported `anchor`.
    ///
    /// # Errors
    /// [`LedgerError::ChainBroken`] naming the first broken sequence number; backend
    /// errors.
    pub fn verify_audit(&mut self, anchor: Option<ChainHead>) -> Result<ChainReport> {
        self.retrying(|l| l.verify_audit_once(anchor))
    }

    fn verify_audit_once(&mut self, anchor: Option<ChainHead>) -> Result<ChainReport> {
        let mut tx = self.backend.begin(TxMode::Read)?;
        let mut verifier = ChainVerifier::new(anchor);
        loop {
            let rows = tx.audit_rows(verifier.next_seq(), PAGE)?;
            if rows.is_empty() {
                break;
            }
            for row in &rows {
                verifier.push(row)?;
            }
        }
        let head = tx.audit_head()?;
        Ok(verifier.finish(head)?)
    }

    /// Unwraps every live key, checks its KCV and recomputes its fingerprint: proof that
    /// every stored key is intact and usable.
    ///
    /// # Errors
    /// Backend errors (a key that fails is reported in [`KeyCheckReport::bad`]).
    pub fn check_keys(&mut self) -> Result<KeyCheckReport> {
        let mut report = KeyCheckReport::default();
        let mut after = None;
        let mut mins: Vec<(KekId, u32)> = Vec::new();
        loop {
            let rows = {
                let mut tx = self.backend.begin(TxMode::Read)?;
                let rows = tx.keys_page(after, PAGE)?;
                for r in &rows {
                    let id = r.wrapped.kek.id;
                    if !mins.iter().any(|(k, _)| *k == id) {
                        mins.push((id, tx.min_decrypt_version(id)?));
                    }
                }
                rows
            };
            let Some(last) = page_end(after, &rows)? else {
                break;
            };
            for row in &rows {
                let min = mins
                    .iter()
                    .find(|(k, _)| *k == row.wrapped.kek.id)
                    .map_or(0, |(_, v)| *v);
                let ok = match unwrap_checked(
                    &mut self.keys,
                    &self.keks,
                    &row.wrapped,
                    row.kind,
                    row.kcv,
                    min,
                ) {
                    Ok(key) => {
                        fingerprint(
                            &mut self.keys,
                            self.config.fingerprint_key,
                            row.kind,
                            key.bytes(),
                        )? == row.fingerprint
                    }
                    Err(_) => false,
                };
                report.checked += 1;
                if !ok {
                    report.bad.push(row.serial);
                }
            }
            after = Some(last);
        }
        Ok(report)
    }
}

/// The last serial of a key page (`None` when empty: the walk is over), after checking
/// that the page lies strictly after its cursor `after` and ascends, in the database's
/// order ([`db_order`]). The paging loops end only because every page moves the cursor
/// forward; a backend that lists a row at or before its cursor (as one that read a real
/// serial as "no cursor" did) would make them run forever, refusing the same key again
/// on every turn. That is an error instead.
fn page_end(after: Option<u64>, rows: &[KeyRow]) -> Result<Option<u64>> {
    let mut cursor = after;
    for row in rows {
        if let Some(c) = cursor.filter(|&c| db_order(row.serial, c).is_le()) {
            return Err(BackendError::detected(format!(
                "key page does not advance: serial {:#x} listed after serial {c:#x}",
                row.serial
            ))
            .into());
        }
        cursor = Some(row.serial);
    }
    Ok(rows.last().map(|r| r.serial))
}

fn unwrap_checked<K: SymmetricKeys, D: KekDirectory>(
    keys: &mut K,
    keks: &D,
    wrapped: &StoredWrap,
    kind: KeyKind,
    kcv: Kcv,
    min_version: u32,
) -> Result<Plain> {
    if wrapped.kek.version < min_version {
        return Err(LedgerError::KekVersionRetired(wrapped.kek));
    }
    let slot = match keks.decrypt_slot(wrapped.kek) {
        Ok(s) => s,
        Err(provkit::Error::Envelope(provkit::error::EnvelopeError::KekVersionRetired)) => {
            return Err(LedgerError::KekVersionRetired(wrapped.kek));
        }
        Err(e) => return Err(e.into()),
    };
    let mut plain = Plain {
        buf: Zeroizing::new([0u8; 40]),
        len: 0,
    };
    plain.len = keys.unwrap_bytes(slot.key, wrapped.alg, &wrapped.bytes, plain.buf.as_mut())?;
    if plain.len != kind.key_len() {
        return Err(provkit::Error::Crypto.into());
    }
    Kcv::of_key(&plain.secret()?)?.check(&kcv)?;
    Ok(plain)
}

fn rewrap_one<K: SymmetricKeys, D: KekDirectory>(
    keys: &mut K,
    keks: &D,
    row: &KeyRow,
    target: KekSlot,
    min: u32,
) -> Result<StoredWrap> {
    let key = unwrap_checked(keys, keks, &row.wrapped, row.kind, row.kcv, min)?;
    let mut out = [0u8; 40];
    // The key is only in `key` (zeroized on drop) and in the store's wrap call.
    let n = keys.wrap_bytes(target.key, target.wrap, key.bytes(), &mut out)?;
    Ok(StoredWrap {
        kek: target.kek,
        alg: target.wrap,
        bytes: out
            .get(..n)
            .ok_or(LedgerError::Corrupt("wrap length"))?
            .to_vec(),
    })
}

/// A key unwrapped for one operation, zeroized on drop.
struct Plain {
    buf: Zeroizing<[u8; 40]>,
    len: usize,
}

impl Plain {
    fn bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or(&[])
    }

    fn secret(&self) -> Result<SecretBuf<32>> {
        Ok(SecretBuf::from_slice(self.bytes())?)
    }
}

/// Why a staged record was not promoted.
fn classify_conflict<T: LedgerTx>(tx: &mut T, row: &KeyRow) -> Result<Refusal> {
    if let Some(live) = tx.key_by_serial(row.serial)? {
        return Ok(if live.fingerprint == row.fingerprint {
            Refusal::DuplicateRecord
        } else {
            Refusal::SerialConflict
        });
    }
    if tx.key_by_fingerprint(&row.fingerprint)?.is_some() {
        return Ok(Refusal::DuplicateKey);
    }
    if tx
        .key_by_key_id(&row.manufacturer_id, row.key_id)?
        .is_some()
    {
        return Ok(Refusal::KeyIdConflict);
    }
    Err(LedgerError::Corrupt(
        "staged row refused without a conflict",
    ))
}

enum StageError {
    Shipment(provkit::Error),
    Io(LedgerError),
    Ledger(LedgerError),
}

impl From<LedgerError> for StageError {
    fn from(e: LedgerError) -> Self {
        Self::Ledger(e)
    }
}
