//! Errors: [`OpenError`] for connecting and creating the schema, and the mapping of
//! PostgreSQL failures to [`provkit::Error`] for key-store operations.
//!
//! `provkit::Error` is a small `Copy` enum without room for text, so a database failure
//! that is not one of provkit's own kinds becomes `Error::Store(StoreError::Backend(cause))`
//! with the SQLSTATE as the cause (also the error's `source()`), and the server's message
//! is kept in the store
//! ([`PgStore::last_backend_error`](crate::PgStore::last_backend_error)). No key material is
//! ever sent to the server, so none can appear in its messages.

use core::fmt;
use postgres::error::SqlState;
use provkit::Error;
use provkit::error::BackendCause;
use provkit::store::StoreError;
use provkit_ledger::{BackendError, LedgerError, Retry};

/// Why a store could not be opened.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenError {
    /// The schema name is not a plain lower-case SQL identifier (`[a-z_][a-z0-9_]{0,62}`).
    InvalidSchemaName(String),
    /// Connecting, or creating the schema and its tables, failed.
    Postgres(postgres::Error),
    /// The KEK slot given is unusable (missing from its store, or not an AES key).
    Kek(Error),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidSchemaName(name) => write!(
                f,
                "invalid schema name {name:?}: use 1 to 63 of [a-z0-9_], not starting with a digit"
            ),
            Self::Postgres(e) => write!(f, "PostgreSQL: {}", describe(e)),
            Self::Kek(e) => write!(f, "KEK unusable: {e}"),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Postgres(e) => Some(e),
            _ => None,
        }
    }
}

impl From<postgres::Error> for OpenError {
    fn from(e: postgres::Error) -> Self {
        Self::Postgres(e)
    }
}

/// The server's message with its SQLSTATE, or the client-side failure.
pub(crate) fn describe(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => e.to_string(),
    }
}

/// True for failures that a retry of the whole transaction, at once, resolves:
/// serialization failures, deadlocks and lock timeouts (SQLSTATE 40001, 40P01, 55P03),
/// for your own queries; the same rule the ledger repeats its own calls by. The ledger's
/// errors say it themselves
/// ([`LedgerError::retry`](provkit_ledger::LedgerError::retry)).
#[must_use]
pub fn is_retryable(e: &postgres::Error) -> bool {
    retry_class(e) == Retry::Immediately
}

/// The cause provkit keeps of a PostgreSQL failure: the SQLSTATE, else the OS error of a
/// failed socket, else none (a closed connection, a type conversion).
pub(crate) fn cause(e: &postgres::Error) -> BackendCause {
    if let Some(code) = e.code() {
        if let Ok(code) = <[u8; 5]>::try_from(code.code().as_bytes()) {
            return BackendCause::sql_state(code);
        }
    }
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(n) = s
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::raw_os_error)
        {
            return BackendCause::os(n);
        }
        source = s.source();
    }
    BackendCause::UNSPECIFIED
}

/// Whether the call that failed with `e` can be repeated: at once after a serialization
/// failure, a deadlock or a lock timeout (the server rolled the transaction back); over
/// a new connection when this one is closed or the server is shutting down.
pub(crate) fn retry_class(e: &postgres::Error) -> Retry {
    let state = e.code().map(SqlState::code);
    match state {
        Some("40001" | "40P01" | "55P03") => Retry::Immediately,
        Some(c) if c.starts_with("08") || matches!(c, "57P01" | "57P02" | "57P03") => {
            Retry::AfterReconnect
        }
        None if e.is_closed() => Retry::AfterReconnect,
        _ => Retry::Never,
    }
}

/// A PostgreSQL failure as a ledger error: the message with its SQLSTATE, the cause,
/// the retry class and the `postgres::Error` as its source.
pub(crate) fn to_ledger(e: postgres::Error) -> LedgerError {
    BackendError::new(describe(&e), cause(&e), retry_class(&e), e).into()
}

/// provkit's error for a PostgreSQL failure: a unique violation is `AlreadyExists`, the
/// rest is `Backend` with the SQLSTATE as its cause.
pub(crate) fn to_provkit(e: &postgres::Error) -> Error {
    match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION => StoreError::AlreadyExists.into(),
        _ => StoreError::Backend(cause(e)).into(),
    }
}

/// Checks that `name` can be used unquoted as a schema name, so it is never spliced into
/// SQL with anything an attacker could choose.
pub(crate) fn check_schema_name(name: &str) -> Result<(), OpenError> {
    let mut chars = name.chars();
    let ok = matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_lowercase())
        && chars.all(|c| c == '_' || c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.len() <= 63
        && !name.starts_with("pg_");
    if ok {
        Ok(())
    } else {
        Err(OpenError::InvalidSchemaName(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_names_are_plain_identifiers() {
        for good in ["provkit", "_x", "a1_b2", &"a".repeat(63)] {
            assert!(check_schema_name(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "1abc",
            "Abc",
            "a-b",
            "a b",
            "x\";drop schema public;--",
            "pg_catalog",
            &"a".repeat(64),
        ] {
            assert!(
                matches!(check_schema_name(bad), Err(OpenError::InvalidSchemaName(_))),
                "{bad}"
            );
        }
        let msg = check_schema_name("A").unwrap_err().to_string();
        assert!(msg.contains("invalid schema name"), "{msg}");
    }
}
