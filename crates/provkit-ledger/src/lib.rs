//! The issuance ledger: which device serial got which key, certificate and shipment, and
//! when — with every device key issued exactly once, and every action (and every refused
//! attempt) in an append-only, hash-chained audit log.
//!
//! This crate holds everything that does not depend on the database, written once and
//! shared by every backend:
//!
//! | piece | where |
//! |---|---|
//! | what a database must provide (transactions, uniqueness) | [`LedgerBackend`], [`LedgerTx`] |
//! | rows the backend stores and returns | [`KeyRow`], [`ImportRow`], [`AuditRecord`], [`StoredWrap`] |
//! | audit events, their canonical bytes, the hash chain and its verifier | [`audit`] |
//! | import (shipment → staging → promote), issuance, certificates, rotation | [`Ledger`] |
//! | the backend conformance suite (feature `test-suite`) | `suite` |
//!
//! Backends: `provkit-sqlite` (embedded, one file, WAL) and `provkit-postgres`. The byte
//! formats and the import state machine are specified in `docs/ledger.md`.
//!
//! No clock is read here: every operation takes `now` (Unix seconds) from the caller.
//! No plaintext key is ever handed to a backend: keys arrive from the shipment reader
//! wrapped under the ledger's KEK, and their uniqueness is checked on a keyed,
//! one-way fingerprint ([`fingerprint`]).

#![forbid(unsafe_code)]
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::missing_errors_doc,
    clippy::missing_panics_doc
)]

pub mod audit;
pub mod backend;
pub mod codec;
mod error;
pub mod fingerprint;
mod ledger;
mod rows;
#[cfg(feature = "test-suite")]
pub mod suite;

pub use audit::{
    AuditEvent, AuditRecord, ChainBreak, ChainBreakKind, ChainHead, ChainReport, KeyCensus, Refusal,
};
pub use backend::{LedgerBackend, LedgerTx, TxMode};
pub use error::{BackendError, IoError, LedgerError, Result, Retry, RetryPolicy};
pub use ledger::{
    CertificateOutcome, DeviceRecord, ImportReport, IssueOutcome, IssuedKey, KeyCheckReport,
    Ledger, LedgerConfig, RefusedRecord, RotationReport,
};
pub use rows::{BatchId, ImportRow, ImportStatus, KeyRow, StoredWrap};
