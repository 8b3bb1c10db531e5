//! The audit log: events, their canonical byte encoding, and the hash chain.
//!
//! Every ledger action appends one event; so does every *refused* attempt. Row `n` stores
//! `h_n = SHA-256(AUDIT_DOMAIN ‖ h_{n-1} ‖ seq_n ‖ timestamp_n ‖ len(event_n) ‖ event_n)`
//! (integers big-endian: u64, u64, u32), with `h_0` = 32 zero bytes and sequence
//! numbers from 1 without gaps. The backend also keeps a head row (last sequence number
//! and hash), updated in the same transaction as each append: it makes a deleted tail
//! detectable, and it is the row a PostgreSQL backend locks (`FOR UPDATE`) to serialize
//! appends. [`ChainVerifier`] names the first sequence number where the log stops
//! matching its chain. Byte layouts: `docs/ledger.md`.

use crate::codec::hex;
use crate::rows::BatchId;
use provkit::envelope::{KekId, KekRef};
use sha2::Digest;
use std::fmt;

/// Domain separation for the chain hash.
pub const AUDIT_DOMAIN: &[u8] = b"provkit-ledger audit v1\0";

/// The hash before the first row.
pub const GENESIS_HASH: [u8; 32] = [0; 32];

/// Why an attempt was refused (a byte in the refusal events).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Refusal {
    /// The serial's key was already issued.
    AlreadyIssued,
    /// No key imported for the serial.
    UnknownSerial,
    /// The serial already holds a different key.
    SerialConflict,
    /// The key is already held by another serial.
    DuplicateKey,
    /// The manufacturer's key id is already used by another key.
    KeyIdConflict,
    /// The batch id was imported from a different file.
    BatchConflict,
    /// The shipment failed verification.
    ShipmentInvalid,
    /// A certificate for a key not yet issued.
    NotIssued,
    /// The serial already has a certificate.
    CertificateExists,
    /// The key's KEK version is below the minimum decryption version.
    KekVersionRetired,
    /// A minimum decryption version that keys still need.
    KekVersionInUse,
    /// The same serial with the same key is already live (from another batch).
    DuplicateRecord,
    /// The stored wrapped key failed to unwrap (integrity check).
    UnwrapFailed,
}

impl Refusal {
    /// The code on the wire.
    #[must_use]
    pub const fn code(self) -> u8 {
        match self {
            Self::AlreadyIssued => 1,
            Self::UnknownSerial => 2,
            Self::SerialConflict => 3,
            Self::DuplicateKey => 4,
            Self::KeyIdConflict => 5,
            Self::BatchConflict => 6,
            Self::ShipmentInvalid => 7,
            Self::NotIssued => 8,
            Self::CertificateExists => 9,
            Self::KekVersionRetired => 10,
            Self::KekVersionInUse => 11,
            Self::DuplicateRecord => 12,
            Self::UnwrapFailed => 13,
        }
    }

    /// The refusal for a code.
    #[must_use]
    pub const fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            1 => Self::AlreadyIssued,
            2 => Self::UnknownSerial,
            3 => Self::SerialConflict,
            4 => Self::DuplicateKey,
            5 => Self::KeyIdConflict,
            6 => Self::BatchConflict,
            7 => Self::ShipmentInvalid,
            8 => Self::NotIssued,
            9 => Self::CertificateExists,
            10 => Self::KekVersionRetired,
            11 => Self::KekVersionInUse,
            12 => Self::DuplicateRecord,
            13 => Self::UnwrapFailed,
            _ => return None,
        })
    }
}

/// How many keys (live and staged) are wrapped under each KEK version, sorted by version.
/// The ledger's counterpart of [`provkit::envelope::Census`], which counts envelopes by
/// parsing their headers; ledger rows carry the version in a column instead.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct KeyCensus(pub Vec<(KekRef, u64)>);

impl KeyCensus {
    /// Keys under `kek`.
    #[must_use]
    pub fn count(&self, kek: KekRef) -> u64 {
        self.0
            .iter()
            .filter(|(k, _)| *k == kek)
            .map(|(_, n)| *n)
            .sum()
    }

    /// Keys under versions of `id` below `version`.
    #[must_use]
    pub fn count_below(&self, id: KekId, version: u32) -> u64 {
        self.0
            .iter()
            .filter(|(k, _)| k.id == id && k.version < version)
            .map(|(_, n)| *n)
            .sum()
    }

    /// Keys counted.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.0.iter().map(|(_, n)| *n).sum()
    }
}

impl fmt::Display for KeyCensus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("(no keys)");
        }
        for (i, (k, n)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{} v{}: {n}", hex(&k.id.0), k.version)?;
        }
        Ok(())
    }
}

/// One audited action or refused attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AuditEvent {
    /// A new shipment import began (header verified).
    ImportStarted {
        /// Batch id.
        batch_id: BatchId,
        /// Manufacturer id.
        manufacturer_id: [u8; 16],
        /// SHA-256 of the signed header.
        header_hash: [u8; 32],
        /// Records announced.
        record_count: u32,
    },
    /// An interrupted import was resumed.
    ImportResumed {
        /// Batch id.
        batch_id: BatchId,
        /// SHA-256 of the signed header.
        header_hash: [u8; 32],
        /// Chunks already staged (skipped).
        chunks_staged: u32,
    },
    /// The trailer verified and the staged records were promoted.
    ImportCompleted {
        /// Batch id.
        batch_id: BatchId,
        /// The shipment's transcript hash (its identity).
        transcript_hash: [u8; 32],
        /// Records in the file.
        records: u32,
        /// Records made live.
        promoted: u64,
        /// Records refused (each also has a [`AuditEvent::RecordRefused`]).
        refused: u64,
    },
    /// The same file was imported again: nothing changed.
    ImportRepeated {
        /// Batch id.
        batch_id: BatchId,
        /// SHA-256 of the signed header.
        header_hash: [u8; 32],
    },
    /// An import was refused (batch conflict, verification failure).
    ImportRefused {
        /// Batch id (zeros when the header did not parse).
        batch_id: BatchId,
        /// SHA-256 of the header bytes read.
        header_hash: [u8; 32],
        /// Why.
        reason: Refusal,
    },
    /// A staged import was abandoned and its staging rows deleted.
    ImportAbandoned {
        /// Batch id.
        batch_id: BatchId,
        /// Staged records deleted.
        staged: u64,
    },
    /// One record of a verified shipment was not made live.
    RecordRefused {
        /// Batch id.
        batch_id: BatchId,
        /// Its serial.
        serial: u64,
        /// Its manufacturer key id.
        key_id: u64,
        /// Why.
        reason: Refusal,
    },
    /// A key was issued for a serial (exactly once).
    Issued {
        /// The serial.
        serial: u64,
        /// The manufacturer key id.
        key_id: u64,
        /// The KEK version it was wrapped under when issued.
        kek: KekRef,
    },
    /// An issuance request was refused.
    IssueRefused {
        /// The serial.
        serial: u64,
        /// Why.
        reason: Refusal,
    },
    /// A certificate was attached to an issued key.
    CertificateAttached {
        /// The serial.
        serial: u64,
        /// SHA-256 of the certificate.
        certificate_hash: [u8; 32],
    },
    /// A certificate attachment was refused.
    CertificateRefused {
        /// The serial.
        serial: u64,
        /// Why.
        reason: Refusal,
    },
    /// A rotation to `target` began; the census before it.
    RotationStarted {
        /// The version keys are rewrapped to.
        target: KekRef,
        /// Keys per version before.
        census: KeyCensus,
    },
    /// One batch of keys was rewrapped under `target`.
    Rewrapped {
        /// The new version.
        target: KekRef,
        /// Keys rewrapped in this batch.
        count: u32,
        /// First serial of the batch.
        first_serial: u64,
        /// Last serial of the batch.
        last_serial: u64,
    },
    /// One key could not be rewrapped.
    RewrapRefused {
        /// The serial.
        serial: u64,
        /// The version it is under.
        from: KekRef,
        /// Why.
        reason: Refusal,
    },
    /// A rotation finished; the census after it.
    RotationCompleted {
        /// The new version.
        target: KekRef,
        /// Keys per version after.
        census: KeyCensus,
    },
    /// The minimum decryption version of a KEK was raised.
    MinDecryptVersionSet {
        /// The KEK.
        kek: KekId,
        /// The new minimum.
        version: u32,
    },
    /// Raising the minimum decryption version was refused.
    MinDecryptVersionRefused {
        /// The KEK.
        kek: KekId,
        /// The version asked for.
        version: u32,
        /// Keys still below it.
        below: u64,
    },
}

/// Event tags (the first byte of the encoding, and the `kind` column).
mod tag {
    pub(super) const IMPORT_STARTED: u8 = 0x01;
    pub(super) const IMPORT_RESUMED: u8 = 0x02;
    pub(super) const IMPORT_COMPLETED: u8 = 0x03;
    pub(super) const IMPORT_REPEATED: u8 = 0x04;
    pub(super) const IMPORT_REFUSED: u8 = 0x05;
    pub(super) const IMPORT_ABANDONED: u8 = 0x06;
    pub(super) const RECORD_REFUSED: u8 = 0x07;
    pub(super) const ISSUED: u8 = 0x08;
    pub(super) const ISSUE_REFUSED: u8 = 0x09;
    pub(super) const CERT_ATTACHED: u8 = 0x0A;
    pub(super) const CERT_REFUSED: u8 = 0x0B;
    pub(super) const ROTATION_STARTED: u8 = 0x0C;
    pub(super) const REWRAPPED: u8 = 0x0D;
    pub(super) const REWRAP_REFUSED: u8 = 0x0E;
    pub(super) const ROTATION_COMPLETED: u8 = 0x0F;
    pub(super) const MIN_VERSION_SET: u8 = 0x10;
    pub(super) const MIN_VERSION_REFUSED: u8 = 0x11;
}

struct Enc(Vec<u8>);

impl Enc {
    fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.0.extend_from_slice(b);
        self
    }
    fn u8(&mut self, v: u8) -> &mut Self {
        self.0.push(v);
        self
    }
    fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.bytes(&v.to_be_bytes())
    }
    fn kek(&mut self, k: KekRef) -> &mut Self {
        self.bytes(&k.id.0).u32(k.version)
    }
    fn census(&mut self, c: &KeyCensus) -> &mut Self {
        // At most u16::MAX versions are encoded; a census never approaches that.
        let n = u16::try_from(c.0.len()).unwrap_or(u16::MAX);
        self.bytes(&n.to_be_bytes());
        for (k, count) in c.0.iter().take(usize::from(n)) {
            self.kek(*k).u64(*count);
        }
        self
    }
}

struct Dec<'a>(&'a [u8]);

impl Dec<'_> {
    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (a, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*a)
    }
    fn u8(&mut self) -> Option<u8> {
        self.array::<1>().map(|[b]| b)
    }
    fn u16(&mut self) -> Option<u16> {
        self.array().map(u16::from_be_bytes)
    }
    fn u32(&mut self) -> Option<u32> {
        self.array().map(u32::from_be_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.array().map(u64::from_be_bytes)
    }
    fn kek(&mut self) -> Option<KekRef> {
        Some(KekRef {
            id: KekId(self.array()?),
            version: self.u32()?,
        })
    }
    fn reason(&mut self) -> Option<Refusal> {
        Refusal::from_code(self.u8()?)
    }
    fn census(&mut self) -> Option<KeyCensus> {
        let n = self.u16()?;
        let mut v = Vec::with_capacity(usize::from(n));
        for _ in 0..n {
            v.push((self.kek()?, self.u64()?));
        }
        Some(KeyCensus(v))
    }
}

impl AuditEvent {
    /// The event's tag: the first byte of its encoding and the backend's `kind` column.
    #[must_use]
    pub const fn tag(&self) -> u8 {
        match self {
            Self::ImportStarted { .. } => tag::IMPORT_STARTED,
            Self::ImportResumed { .. } => tag::IMPORT_RESUMED,
            Self::ImportCompleted { .. } => tag::IMPORT_COMPLETED,
            Self::ImportRepeated { .. } => tag::IMPORT_REPEATED,
            Self::ImportRefused { .. } => tag::IMPORT_REFUSED,
            Self::ImportAbandoned { .. } => tag::IMPORT_ABANDONED,
            Self::RecordRefused { .. } => tag::RECORD_REFUSED,
            Self::Issued { .. } => tag::ISSUED,
            Self::IssueRefused { .. } => tag::ISSUE_REFUSED,
            Self::CertificateAttached { .. } => tag::CERT_ATTACHED,
            Self::CertificateRefused { .. } => tag::CERT_REFUSED,
            Self::RotationStarted { .. } => tag::ROTATION_STARTED,
            Self::Rewrapped { .. } => tag::REWRAPPED,
            Self::RewrapRefused { .. } => tag::REWRAP_REFUSED,
            Self::RotationCompleted { .. } => tag::ROTATION_COMPLETED,
            Self::MinDecryptVersionSet { .. } => tag::MIN_VERSION_SET,
            Self::MinDecryptVersionRefused { .. } => tag::MIN_VERSION_REFUSED,
        }
    }

    /// The device serial the event is about, if any (the backend's `serial` column, so
    /// that "what happened to serial X" is one indexed query).
    #[must_use]
    pub const fn serial(&self) -> Option<u64> {
        match self {
            Self::RecordRefused { serial, .. }
            | Self::Issued { serial, .. }
            | Self::IssueRefused { serial, .. }
            | Self::CertificateAttached { serial, .. }
            | Self::CertificateRefused { serial, .. }
            | Self::RewrapRefused { serial, .. } => Some(*serial),
            _ => None,
        }
    }

    /// True for refused or failed attempts.
    #[must_use]
    pub const fn is_refusal(&self) -> bool {
        matches!(
            self,
            Self::ImportRefused { .. }
                | Self::RecordRefused { .. }
                | Self::IssueRefused { .. }
                | Self::CertificateRefused { .. }
                | Self::RewrapRefused { .. }
                | Self::MinDecryptVersionRefused { .. }
        )
    }

    /// The canonical encoding: tag, then the fields in declaration order, fixed width,
    /// big-endian; a census is a u16 count of (KEK id, version, count) entries.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut e = Enc(Vec::with_capacity(96));
        e.u8(self.tag());
        match self {
            Self::ImportStarted {
                batch_id,
                manufacturer_id,
                header_hash,
                record_count,
            } => e
                .bytes(batch_id)
                .bytes(manufacturer_id)
                .bytes(header_hash)
                .u32(*record_count),
            Self::ImportResumed {
                batch_id,
                header_hash,
                chunks_staged,
            } => e.bytes(batch_id).bytes(header_hash).u32(*chunks_staged),
            Self::ImportCompleted {
                batch_id,
                transcript_hash,
                records,
                promoted,
                refused,
            } => e
                .bytes(batch_id)
                .bytes(transcript_hash)
                .u32(*records)
                .u64(*promoted)
                .u64(*refused),
            Self::ImportRepeated {
                batch_id,
                header_hash,
            } => e.bytes(batch_id).bytes(header_hash),
            Self::ImportRefused {
                batch_id,
                header_hash,
                reason,
            } => e.bytes(batch_id).bytes(header_hash).u8(reason.code()),
            Self::ImportAbandoned { batch_id, staged } => e.bytes(batch_id).u64(*staged),
            Self::RecordRefused {
                batch_id,
                serial,
                key_id,
                reason,
            } => e
                .bytes(batch_id)
                .u64(*serial)
                .u64(*key_id)
                .u8(reason.code()),
            Self::Issued {
                serial,
                key_id,
                kek,
            } => e.u64(*serial).u64(*key_id).kek(*kek),
            Self::IssueRefused { serial, reason } | Self::CertificateRefused { serial, reason } => {
                e.u64(*serial).u8(reason.code())
            }
            Self::CertificateAttached {
                serial,
                certificate_hash,
            } => e.u64(*serial).bytes(certificate_hash),
            Self::RotationStarted { target, census }
            | Self::RotationCompleted { target, census } => e.kek(*target).census(census),
            Self::Rewrapped {
                target,
                count,
                first_serial,
                last_serial,
            } => e
                .kek(*target)
                .u32(*count)
                .u64(*first_serial)
                .u64(*last_serial),
            Self::RewrapRefused {
                serial,
                from,
                reason,
            } => e.u64(*serial).kek(*from).u8(reason.code()),
            Self::MinDecryptVersionSet { kek, version } => e.bytes(&kek.0).u32(*version),
            Self::MinDecryptVersionRefused {
                kek,
                version,
                below,
            } => e.bytes(&kek.0).u32(*version).u64(*below),
        };
        e.0
    }

    /// Decodes [`encode`](Self::encode)'s output; `None` for anything else (unknown tag,
    /// wrong length, unknown refusal code, trailing bytes).
    #[must_use]
    pub fn decode(bytes: &[u8]) -> Option<Self> {
        let mut d = Dec(bytes);
        let event = match d.u8()? {
            tag::IMPORT_STARTED => Self::ImportStarted {
                batch_id: d.array()?,
                manufacturer_id: d.array()?,
                header_hash: d.array()?,
                record_count: d.u32()?,
            },
            tag::IMPORT_RESUMED => Self::ImportResumed {
                batch_id: d.array()?,
                header_hash: d.array()?,
                chunks_staged: d.u32()?,
            },
            tag::IMPORT_COMPLETED => Self::ImportCompleted {
                batch_id: d.array()?,
                transcript_hash: d.array()?,
                records: d.u32()?,
                promoted: d.u64()?,
                refused: d.u64()?,
            },
            tag::IMPORT_REPEATED => Self::ImportRepeated {
                batch_id: d.array()?,
                header_hash: d.array()?,
            },
            tag::IMPORT_REFUSED => Self::ImportRefused {
                batch_id: d.array()?,
                header_hash: d.array()?,
                reason: d.reason()?,
            },
            tag::IMPORT_ABANDONED => Self::ImportAbandoned {
                batch_id: d.array()?,
                staged: d.u64()?,
            },
            tag::RECORD_REFUSED => Self::RecordRefused {
                batch_id: d.array()?,
                serial: d.u64()?,
                key_id: d.u64()?,
                reason: d.reason()?,
            },
            tag::ISSUED => Self::Issued {
                serial: d.u64()?,
                key_id: d.u64()?,
                kek: d.kek()?,
            },
            tag::ISSUE_REFUSED => Self::IssueRefused {
                serial: d.u64()?,
                reason: d.reason()?,
            },
            tag::CERT_ATTACHED => Self::CertificateAttached {
                serial: d.u64()?,
                certificate_hash: d.array()?,
            },
            tag::CERT_REFUSED => Self::CertificateRefused {
                serial: d.u64()?,
                reason: d.reason()?,
            },
            tag::ROTATION_STARTED => Self::RotationStarted {
                target: d.kek()?,
                census: d.census()?,
            },
            tag::REWRAPPED => Self::Rewrapped {
                target: d.kek()?,
                count: d.u32()?,
                first_serial: d.u64()?,
                last_serial: d.u64()?,
            },
            tag::REWRAP_REFUSED => Self::RewrapRefused {
                serial: d.u64()?,
                from: d.kek()?,
                reason: d.reason()?,
            },
            tag::ROTATION_COMPLETED => Self::RotationCompleted {
                target: d.kek()?,
                census: d.census()?,
            },
            tag::MIN_VERSION_SET => Self::MinDecryptVersionSet {
                kek: KekId(d.array()?),
                version: d.u32()?,
            },
            tag::MIN_VERSION_REFUSED => Self::MinDecryptVersionRefused {
                kek: KekId(d.array()?),
                version: d.u32()?,
                below: d.u64()?,
            },
            _ => return None,
        };
        d.0.is_empty().then_some(event)
    }
}

/// The chain hash of row `seq`: `SHA-256(AUDIT_DOMAIN ‖ prev ‖ seq ‖ timestamp ‖
/// len(event) ‖ event)`.
#[must_use]
pub fn chain_hash(prev: &[u8; 32], seq: u64, timestamp: u64, event: &[u8]) -> [u8; 32] {
    let mut h = sha2::Sha256::new();
    h.update(AUDIT_DOMAIN);
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update(timestamp.to_be_bytes());
    // Events are far below 4 GiB; saturate rather than wrap if one ever is not.
    h.update(u32::try_from(event.len()).unwrap_or(u32::MAX).to_be_bytes());
    h.update(event);
    h.finalize().into()
}

/// One stored audit row, as the backend writes and returns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// Sequence number, from 1, without gaps (primary key).
    pub seq: u64,
    /// When (Unix seconds, from the caller).
    pub timestamp: u64,
    /// The event tag (denormalized from `event`, for queries; verified).
    pub kind: u8,
    /// The serial the event is about (denormalized, for queries; verified).
    pub serial: Option<u64>,
    /// The canonical event bytes.
    pub event: Vec<u8>,
    /// The chain hash `h_seq`.
    pub hash: [u8; 32],
}

impl AuditRecord {
    /// The row that follows `head` for `event` at `timestamp`.
    #[must_use]
    pub fn next(head: &ChainHead, timestamp: u64, event: &AuditEvent) -> Self {
        let bytes = event.encode();
        let seq = head.seq + 1;
        Self {
            seq,
            timestamp,
            kind: event.tag(),
            serial: event.serial(),
            hash: chain_hash(&head.hash, seq, timestamp, &bytes),
            event: bytes,
        }
    }

    /// The decoded event, if the bytes are a valid event.
    #[must_use]
    pub fn decode(&self) -> Option<AuditEvent> {
        AuditEvent::decode(&self.event)
    }
}

/// The end of the chain: the last sequence number and its hash (`seq` 0 and
/// [`GENESIS_HASH`] for an empty log). Export it now and then (print it, sign it, store
/// it elsewhere) as an anchor: [`ChainVerifier`] then also detects a rewritten history.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChainHead {
    /// Last sequence number (0: empty).
    pub seq: u64,
    /// Its hash.
    pub hash: [u8; 32],
}

impl ChainHead {
    /// The head of an empty log.
    pub const GENESIS: Self = Self {
        seq: 0,
        hash: GENESIS_HASH,
    };

    /// The head after `record`.
    #[must_use]
    pub const fn of(record: &AuditRecord) -> Self {
        Self {
            seq: record.seq,
            hash: record.hash,
        }
    }
}

impl fmt::Display for ChainHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seq {} hash {}", self.seq, hex(&self.hash))
    }
}

/// What is wrong at the first broken sequence number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ChainBreakKind {
    /// The row's contents do not match its chain hash (or its denormalized columns do not
    /// match its event, or the event does not decode): edited.
    Edited,
    /// The row with this sequence number is missing: deleted.
    Missing,
    /// A row appears out of sequence (reordered or duplicated).
    OutOfOrder,
    /// Rows at the end are gone: the head row (or the anchor) names a later row.
    Truncated,
    /// The head row does not match the last row (rows appended outside the ledger, or
    /// the head edited).
    HeadMismatch,
    /// The row at the anchor's sequence number has another hash: history rewritten.
    AnchorMismatch,
}

/// The first place the audit log stops matching its chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChainBreak {
    /// The first broken sequence number.
    pub seq: u64,
    /// What is wrong there.
    pub kind: ChainBreakKind,
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ChainBreakKind::Edited => "row edited",
            ChainBreakKind::Missing => "row deleted",
            ChainBreakKind::OutOfOrder => "row out of order",
            ChainBreakKind::Truncated => "log truncated",
            ChainBreakKind::HeadMismatch => "head row does not match the log",
            ChainBreakKind::AnchorMismatch => "row differs from the anchor",
        };
        write!(f, "{what} at sequence number {}", self.seq)
    }
}

/// A verified log: how many rows, and its head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChainReport {
    /// Rows verified.
    pub rows: u64,
    /// The verified head.
    pub head: ChainHead,
    /// Refusal events among them.
    pub refusals: u64,
}

/// Streams audit rows in sequence order and names the first break.
#[derive(Clone, Debug)]
pub struct ChainVerifier {
    next_seq: u64,
    prev: [u8; 32],
    anchor: Option<ChainHead>,
    refusals: u64,
}

impl ChainVerifier {
    /// A verifier from the genesis, optionally checking against an exported `anchor`.
    #[must_use]
    pub const fn new(anchor: Option<ChainHead>) -> Self {
        Self {
            next_seq: 1,
            prev: GENESIS_HASH,
            anchor,
            refusals: 0,
        }
    }

    /// The sequence number expected next.
    #[must_use]
    pub const fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Checks the next row.
    ///
    /// # Errors
    /// The [`ChainBreak`] at this row.
    pub fn push(&mut self, row: &AuditRecord) -> Result<(), ChainBreak> {
        let expected = self.next_seq;
        if row.seq < expected {
            return Err(ChainBreak {
                seq: row.seq,
                kind: ChainBreakKind::OutOfOrder,
            });
        }
        if row.seq > expected {
            return Err(ChainBreak {
                seq: expected,
                kind: ChainBreakKind::Missing,
            });
        }
        let edited = ChainBreak {
            seq: row.seq,
            kind: ChainBreakKind::Edited,
        };
        let event = row.decode().ok_or(edited)?;
        if event.tag() != row.kind || event.serial() != row.serial {
            return Err(edited);
        }
        let hash = chain_hash(&self.prev, row.seq, row.timestamp, &row.event);
        if hash != row.hash {
            return Err(edited);
        }
        if self
            .anchor
            .is_some_and(|a| a.seq == row.seq && a.hash != hash)
        {
            return Err(ChainBreak {
                seq: row.seq,
                kind: ChainBreakKind::AnchorMismatch,
            });
        }
        if event.is_refusal() {
            self.refusals += 1;
        }
        self.prev = hash;
        self.next_seq += 1;
        Ok(())
    }

    /// Ends verification against the backend's head row.
    ///
    /// # Errors
    /// [`ChainBreakKind::Truncated`] when the head or anchor names rows that are gone;
    /// [`ChainBreakKind::HeadMismatch`] when the head does not match the last row.
    pub fn finish(self, head: ChainHead) -> Result<ChainReport, ChainBreak> {
        let last = self.next_seq - 1;
        let beyond = head.seq.max(self.anchor.map_or(0, |a| a.seq));
        if beyond > last {
            return Err(ChainBreak {
                seq: last + 1,
                kind: ChainBreakKind::Truncated,
            });
        }
        if head.seq != last || head.hash != self.prev {
            return Err(ChainBreak {
                seq: head.seq.min(last),
                kind: ChainBreakKind::HeadMismatch,
            });
        }
        Ok(ChainReport {
            rows: last,
            head,
            refusals: self.refusals,
        })
    }
}
