//! The rows a backend stores and returns. Plain data: the backend maps them to its
//! columns (see `docs/ledger.md` for the reference schema) and never interprets them.

use provkit::envelope::shipment::KeyUsageCode;
use provkit::envelope::{Kcv, KekRef};
use provkit::store::{KeyKind, WrapAlgorithm};

/// A shipment batch id (16 bytes, chosen by the manufacturer, signed in the header).
pub type BatchId = [u8; 16];

/// A device key wrapped under one KEK version: what the database holds instead of a key.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct StoredWrap {
    /// The KEK version the key is wrapped under.
    pub kek: KekRef,
    /// The wrap mechanism (AES-KW or AES-KWP).
    pub alg: WrapAlgorithm,
    /// The wrapped bytes (24 to 40).
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for StoredWrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Wrapped bytes are not secret, but they are noise in logs.
        f.debug_struct("StoredWrap")
            .field("kek", &self.kek)
            .field("alg", &self.alg)
            .field("len", &self.bytes.len())
            .finish()
    }
}

/// One device key: a row of the live table (or of the staging table, where `issued_at`
/// and `certificate` are always `None`).
///
/// The database enforces `UNIQUE(serial)`, `UNIQUE(fingerprint)` and
/// `UNIQUE(manufacturer_id, key_id)` on the live table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRow {
    /// The device serial (unique).
    pub serial: u64,
    /// The shipment batch it came from.
    pub batch_id: BatchId,
    /// The manufacturer (from the shipment header).
    pub manufacturer_id: [u8; 16],
    /// The manufacturer's key id (unique per manufacturer).
    pub key_id: u64,
    /// The key usage.
    pub usage: KeyUsageCode,
    /// The key type (AES-128/192/256).
    pub kind: KeyKind,
    /// The key check value (public; identifies the key to custodians).
    pub kcv: Kcv,
    /// The key, wrapped under a KEK version.
    pub wrapped: StoredWrap,
    /// Keyed one-way fingerprint of the key ([`crate::fingerprint`]); unique.
    pub fingerprint: [u8; 32],
    /// When the key was staged/imported (Unix seconds).
    pub imported_at: u64,
    /// When it was issued, once it has been.
    pub issued_at: Option<u64>,
    /// The device certificate (DER), once attached.
    pub certificate: Option<Vec<u8>>,
}

/// Where an import stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ImportStatus {
    /// Chunks are being staged; nothing is live yet.
    Staging,
    /// The trailer verified and the staged records were promoted.
    Complete,
}

/// The progress row of one shipment import (one per batch id).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportRow {
    /// The batch id (primary key).
    pub batch_id: BatchId,
    /// The manufacturer.
    pub manufacturer_id: [u8; 16],
    /// SHA-256 of the 226-byte signed header: identifies the file before its end is read.
    pub header_hash: [u8; 32],
    /// Records the header announces.
    pub record_count: u32,
    /// Chunks whose records are committed to staging (resume skips these).
    pub chunks_staged: u32,
    /// Records committed to staging.
    pub records_staged: u64,
    /// Staging or complete.
    pub status: ImportStatus,
    /// The transcript hash once the trailer verified (the file's identity).
    pub transcript_hash: Option<[u8; 32]>,
    /// When the import was first started.
    pub started_at: u64,
    /// When it completed.
    pub completed_at: Option<u64>,
}
