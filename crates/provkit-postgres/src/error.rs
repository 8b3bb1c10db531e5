//! Errors: [`OpenError`] for connecting and creating the schema, and the mapping of
//! PostgreSQL failures to [`provkit::Error`] for key-store operations.
//!
//! `provkit::Error` is a small `Copy` enum without room for backend detail, so a database
//! failure that is not one of provkit's own kinds becomes `Error::Store(StoreError::Backend)`
//! and the server's message is kept in the store
//! ([`PgStore::last_backend_error`](crate::PgStore::last_backend_error)). No key material is
//! ever sent to the server, so none can appear in its messages.

use core::fmt;
use postgres::error::SqlState;
use provkit::Error;
use provkit::store::StoreError;

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

/// True for failures that a retry of the whole transaction resolves: serialization
/// failures and deadlocks (SQLSTATE 40001, 40P01).
#[must_use]
pub fn is_retryable(e: &postgres::Error) -> bool {
    matches!(
        e.code(),
        Some(c) if *c == SqlState::T_R_SERIALIZATION_FAILURE || *c == SqlState::T_R_DEADLOCK_DETECTED
    )
}

/// provkit's error for a PostgreSQL failure: a unique violation is `AlreadyExists`, the
/// rest is `Backend`.
pub(crate) fn to_provkit(e: &postgres::Error) -> Error {
    match e.code() {
        Some(c) if *c == SqlState::UNIQUE_VIOLATION => StoreError::AlreadyExists.into(),
        _ => StoreError::Backend.into(),
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
