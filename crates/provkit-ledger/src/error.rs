//! The ledger's error type.

use crate::audit::ChainBreak;
use crate::rows::BatchId;
use provkit::envelope::{KekId, KekRef};
use provkit::error::{BackendCause, StoreError};
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// Whether, and how, a failed ledger call can be repeated with success.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Retry {
    /// Repeating the call fails the same way (a constraint, a permission, a full disk,
    /// a stored row that does not decode).
    Never,
    /// The database rolled the transaction back because of other transactions
    /// (serialization failure, deadlock, lock wait timed out): the same call can succeed
    /// at once, on the same connection. Backends with a [`RetryPolicy`] repeat these
    /// calls themselves.
    Immediately,
    /// The connection was lost: repeat the call over a new connection (a new backend).
    /// A commit in flight may or may not have happened; the ledger's calls are safe to
    /// repeat anyway (an `issue` answers with the key or with
    /// [`LedgerError::AlreadyIssued`]).
    AfterReconnect,
}

/// A database failure: the backend's message, the cause provkit keeps of it (SQLSTATE,
/// SQLite result code), whether a retry can succeed, and the driver's error as the
/// [`source`](std::error::Error::source).
///
/// Equality compares the message, the cause and the retry class, not the source.
#[derive(Clone, Debug)]
pub struct BackendError {
    message: String,
    cause: BackendCause,
    retry: Retry,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

impl BackendError {
    /// A failure reported by the database driver, which becomes the source. `message`
    /// must not contain key material (no backend is ever given any).
    pub fn new(
        message: impl Into<String>,
        cause: BackendCause,
        retry: Retry,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self {
            message: message.into(),
            cause,
            retry,
            source: Some(Arc::new(source)),
        }
    }

    /// A failure the ledger or a backend detected itself (a database answer that breaks
    /// the backend contract): no cause, no source, not retryable.
    pub fn detected(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            cause: BackendCause::UNSPECIFIED,
            retry: Retry::Never,
            source: None,
        }
    }

    /// The backend's message (PostgreSQL's ends with the SQLSTATE).
    #[must_use]
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The cause provkit keeps: the SQLSTATE or SQLite result code, to match on.
    #[must_use]
    pub const fn cause(&self) -> BackendCause {
        self.cause
    }

    /// Whether and how the call can be repeated.
    #[must_use]
    pub const fn retry(&self) -> Retry {
        self.retry
    }
}

impl PartialEq for BackendError {
    fn eq(&self, other: &Self) -> bool {
        self.message == other.message && self.cause == other.cause && self.retry == other.retry
    }
}

impl Eq for BackendError {}

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for BackendError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.source {
            Some(e) => Some(&**e),
            None => None,
        }
    }
}

/// A failure reading the shipment stream: its kind and the `std::io::Error` itself.
///
/// Equality compares the kind and the message.
#[derive(Clone, Debug)]
pub struct IoError(Arc<std::io::Error>);

impl IoError {
    /// The kind of the I/O failure.
    #[must_use]
    pub fn kind(&self) -> std::io::ErrorKind {
        self.0.kind()
    }

    /// The I/O error.
    #[must_use]
    pub fn error(&self) -> &std::io::Error {
        &self.0
    }
}

impl From<std::io::Error> for IoError {
    fn from(e: std::io::Error) -> Self {
        Self(Arc::new(e))
    }
}

impl PartialEq for IoError {
    fn eq(&self, other: &Self) -> bool {
        self.0.kind() == other.0.kind() && self.0.to_string() == other.0.to_string()
    }
}

impl Eq for IoError {}

impl fmt::Display for IoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How a backend repeats a call that failed with [`Retry::Immediately`]: at most
/// `attempts` tries in all, sleeping `backoff`, then twice as long each time up to
/// `max_backoff`, between them.
///
/// Only calls that run in one transaction are repeated (see
/// [`LedgerBackend::retry_policy`](crate::LedgerBackend::retry_policy)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RetryPolicy {
    /// Tries in all, the first included (1: never repeat).
    pub attempts: u32,
    /// The sleep before the first repetition.
    pub backoff: Duration,
    /// The longest sleep between two tries.
    pub max_backoff: Duration,
}

impl RetryPolicy {
    /// Never repeat: the caller sees the first failure.
    pub const NONE: Self = Self {
        attempts: 1,
        backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
    };

    /// The sleep before repetition `n` (from 1).
    #[must_use]
    pub fn backoff(&self, n: u32) -> Duration {
        let factor = 1u32.checked_shl(n.saturating_sub(1)).unwrap_or(u32::MAX);
        self.backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }
}

/// Result alias for ledger operations.
pub type Result<T> = core::result::Result<T, LedgerError>;

/// Why a ledger operation failed. Refusals (already issued, conflicts) are also written to
/// the audit log before they are returned. Messages never contain key material.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LedgerError {
    /// A provkit operation failed (store, KEK, shipment format or authentication).
    Provkit(provkit::Error),
    /// The database failed: the backend's message (no key material is ever passed to a
    /// backend, so none can appear here), its cause and whether a retry can succeed.
    Backend(BackendError),
    /// Reading the shipment stream failed.
    Io(IoError),
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
            Self::Backend(e) => write!(f, "database: {e}"),
            Self::Io(e) => write!(f, "reading the shipment: {e}"),
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

impl LedgerError {
    /// Whether and how the call that failed can be repeated with success: a backend's
    /// classification for [`Backend`](Self::Backend); [`Retry::AfterReconnect`] for a
    /// key-store failure whose cause [is transient](BackendCause::is_transient) (a lost
    /// HSM session: reopen the store); [`Retry::Never`] for every refusal and the rest.
    #[must_use]
    pub const fn retry(&self) -> Retry {
        match self {
            Self::Backend(e) => e.retry,
            Self::Provkit(provkit::Error::Store(StoreError::Backend(c))) if c.is_transient() => {
                Retry::AfterReconnect
            }
            _ => Retry::Never,
        }
    }

    /// Whether repeating the call can succeed (now or over a new connection); see
    /// [`retry`](Self::retry).
    #[must_use]
    pub const fn is_retryable(&self) -> bool {
        !matches!(self.retry(), Retry::Never)
    }
}

impl std::error::Error for LedgerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Provkit(e) | Self::ShipmentRejected { error: e, .. } => Some(e),
            Self::Backend(e) => std::error::Error::source(e),
            Self::Io(e) => Some(e.error()),
            _ => None,
        }
    }
}

impl From<BackendError> for LedgerError {
    fn from(e: BackendError) -> Self {
        Self::Backend(e)
    }
}

impl From<std::io::Error> for LedgerError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e.into())
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p = RetryPolicy {
            attempts: 10,
            backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(80),
        };
        let ms: Vec<u128> = (1..=6).map(|n| p.backoff(n).as_millis()).collect();
        assert_eq!(ms, [10, 20, 40, 80, 80, 80]);
        assert_eq!(p.backoff(u32::MAX), Duration::from_millis(80));
        assert_eq!(RetryPolicy::NONE.backoff(1), Duration::ZERO);
    }

    #[test]
    fn sources_and_retry_classes() {
        let io = LedgerError::from(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "short file",
        ));
        let LedgerError::Io(inner) = &io else {
            panic!("{io:?}")
        };
        assert_eq!(inner.kind(), std::io::ErrorKind::UnexpectedEof);
        assert_eq!(
            io.source().map(ToString::to_string).as_deref(),
            Some("short file")
        );
        assert_eq!(io.to_string(), "reading the shipment: short file");
        assert_eq!(io.clone(), io);
        assert!(!io.is_retryable());

        let lost = StoreError::Backend(BackendCause::pkcs11(0xB3));
        let e = LedgerError::Provkit(lost.into());
        assert_eq!(e.retry(), Retry::AfterReconnect);
        let source = e.source().expect("the provkit error");
        assert_eq!(
            source.source().map(ToString::to_string).as_deref(),
            Some("CKR_SESSION_HANDLE_INVALID (0xb3)")
        );
        let device = LedgerError::Provkit(StoreError::Backend(BackendCause::pkcs11(0x30)).into());
        assert_eq!(device.retry(), Retry::Never);

        let busy = BackendError::new(
            "database is locked",
            BackendCause::sqlite(5),
            Retry::Immediately,
            std::io::Error::other("driver error"),
        );
        let e = LedgerError::from(busy.clone());
        assert!(e.is_retryable());
        assert_eq!(e.to_string(), "database: database is locked");
        assert_eq!(
            e.source().map(ToString::to_string).as_deref(),
            Some("driver error")
        );
        // Equality leaves the source out.
        let same = BackendError::new(
            "database is locked",
            BackendCause::sqlite(5),
            Retry::Immediately,
            std::io::Error::other("another driver error"),
        );
        assert_eq!(busy, same);
        assert_ne!(busy, BackendError::detected("database is locked"));
        // A failure the ledger detected itself has no source.
        assert!(BackendError::detected("page").source().is_none());
        assert!(!LedgerError::from(BackendError::detected("page")).is_retryable());
        assert!(LedgerError::UnknownSerial(1).source().is_none());
    }
}
