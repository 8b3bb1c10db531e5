//! The ledger's error type.

use crate::audit::ChainBreak;
use crate::rows::BatchId;
use provkit::envelope::{KekId, KekRef};
use std::fmt;

/// Result alias for ledger operations.
pub type Result<T> = core::result::Result<T, LedgerError>;

/// Why a ledger operation failed. Refusals (already issued, conflicts) are also written to
/// the audit log before they are returned. Messages never contain key material.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LedgerError {
    /// A provkit operation failed (store, KEK, shipment format or authentication).
    Provkit(provkit::Error),
    /// The database failed; the text is the backend's message (no key material is ever
    /// passed to a backend, so none can appear here).
    Backend(String),
    /// Reading the shipment stream failed.
    Io(String),
    /// The serial's key was already issued, at `issued_at` (Unix seconds).
    AlreadyIssued {
        /// The device serial.
        serial: u64,
        /// When it was issued.
        issued_at: u64,
    },
    /// No key for this serial has been imported.
    UnknownSerial(u64),
    /// The batch id was already imported (or is being imported) from a different file.
    BatchConflict(BatchId),
    /// The shipment failed verification (signature, AEAD, KCV, record order, truncation).
    ShipmentRejected {
        /// The batch id from the header (zeros when the header did not parse).
        batch_id: BatchId,
        /// What failed.
        error: provkit::Error,
    },
    /// A certificate can only be attached to an issued key.
    NotIssued(u64),
    /// The serial already has a certificate.
    CertificateExists(u64),
    /// A stored key is wrapped under a KEK version below the minimum decryption version.
    KekVersionRetired(KekRef),
    /// The minimum decryption version cannot be raised: `below` keys are still wrapped
    /// under lower versions, or the version is not registered.
    KekVersionInUse {
        /// The KEK.
        kek: KekId,
        /// Keys (live and staged) still under lower versions.
        below: u64,
    },
    /// The audit chain failed verification.
    ChainBroken(ChainBreak),
    /// A stored row is not well-formed (bad length, unknown code): the database was edited.
    Corrupt(&'static str),
}

impl fmt::Display for LedgerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Provkit(e) => write!(f, "{e}"),
            Self::Backend(m) => write!(f, "database: {m}"),
            Self::Io(m) => write!(f, "reading the shipment: {m}"),
            Self::AlreadyIssued { serial, issued_at } => {
                write!(f, "serial {serial:#x} was already issued (at {issued_at})")
            }
            Self::UnknownSerial(s) => write!(f, "no key imported for serial {s:#x}"),
            Self::BatchConflict(b) => write!(
                f,
                "batch {} was already imported from a different file",
                crate::codec::hex(b)
            ),
            Self::ShipmentRejected { batch_id, error } => write!(
                f,
                "shipment for batch {} rejected: {error}",
                crate::codec::hex(batch_id)
            ),
            Self::NotIssued(s) => write!(f, "serial {s:#x} has not been issued"),
            Self::CertificateExists(s) => write!(f, "serial {s:#x} already has a certificate"),
            Self::KekVersionRetired(k) => write!(
                f,
                "key wrapped under {:?} version {}, below the minimum decryption version",
                k.id, k.version
            ),
            Self::KekVersionInUse { kek, below } => write!(
                f,
                "{below} keys are still wrapped under versions of {kek:?} below the requested minimum"
            ),
            Self::ChainBroken(b) => write!(f, "audit chain broken: {b}"),
            Self::Corrupt(what) => write!(f, "corrupt ledger row: {what}"),
        }
    }
}

impl std::error::Error for LedgerError {}

impl From<provkit::Error> for LedgerError {
    fn from(e: provkit::Error) -> Self {
        Self::Provkit(e)
    }
}

impl From<ChainBreak> for LedgerError {
    fn from(b: ChainBreak) -> Self {
        Self::ChainBroken(b)
    }
}
