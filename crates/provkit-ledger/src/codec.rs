//! Small conversions every backend needs, kept here so that SQLite and PostgreSQL store
//! the same codes.

use crate::error::{LedgerError, Result};
use provkit::envelope::{KekId, KekRef};
use provkit::store::{KeyKind, WrapAlgorithm};

/// The one-byte code of an AES key kind (the shipment record's codes: 1, 2, 3).
///
/// # Errors
/// [`LedgerError::Corrupt`] for a kind the ledger does not hold (P-256, TDES).
pub fn kind_code(kind: KeyKind) -> Result<u8> {
    match kind {
        KeyKind::Aes128 => Ok(1),
        KeyKind::Aes192 => Ok(2),
        KeyKind::Aes256 => Ok(3),
        _ => Err(LedgerError::Corrupt("key kind")),
    }
}

/// The key kind for a code from [`kind_code`].
///
/// # Errors
/// [`LedgerError::Corrupt`] for an unknown code.
pub fn kind_from_code(code: i64) -> Result<KeyKind> {
    match code {
        1 => Ok(KeyKind::Aes128),
        2 => Ok(KeyKind::Aes192),
        3 => Ok(KeyKind::Aes256),
        _ => Err(LedgerError::Corrupt("key kind")),
    }
}

/// The one-byte code of a wrap algorithm (1 AES-KW, 2 AES-KWP; as in envelopes).
///
/// # Errors
/// [`LedgerError::Corrupt`] for an algorithm this format has no code for.
pub fn wrap_code(alg: WrapAlgorithm) -> Result<u8> {
    match alg {
        WrapAlgorithm::AesKw => Ok(1),
        WrapAlgorithm::AesKwp => Ok(2),
        _ => Err(LedgerError::Corrupt("wrap algorithm")),
    }
}

/// The wrap algorithm for a code from [`wrap_code`].
///
/// # Errors
/// [`LedgerError::Corrupt`] for an unknown code.
pub fn wrap_from_code(code: i64) -> Result<WrapAlgorithm> {
    match code {
        1 => Ok(WrapAlgorithm::AesKw),
        2 => Ok(WrapAlgorithm::AesKwp),
        _ => Err(LedgerError::Corrupt("wrap algorithm")),
    }
}

/// A `u64` (serial, timestamp, sequence number) as the signed 64-bit integer SQL
/// databases store: the same 64 bits, so the mapping is exact and reversible. Values
/// from 2⁶³ read as negative in SQL, so the database's order of serials is
/// [`db_order`], not `u64` order.
///
/// Every `i64` is the image of exactly one `u64`: no stored value is free to serve as a
/// "none" marker (`i64::MIN` is serial 2⁶³, `-1` is 2⁶⁴−1). Absence is `NULL` or a
/// different query, never a reserved number.
#[must_use]
pub const fn to_db(v: u64) -> i64 {
    i64::from_be_bytes(v.to_be_bytes())
}

/// The order in which a database lists serials: ascending by their stored value
/// [`to_db`] (2⁶³ … 2⁶⁴−1 first, then 0 … 2⁶³−1). Key pages
/// ([`LedgerTx::keys_page`](crate::LedgerTx::keys_page)) come in this order, and the
/// ledger checks that each page lies strictly after its cursor in it.
#[must_use]
pub fn db_order(a: u64, b: u64) -> core::cmp::Ordering {
    to_db(a).cmp(&to_db(b))
}

/// The inverse of [`to_db`].
#[must_use]
pub const fn from_db(v: i64) -> u64 {
    u64::from_be_bytes(v.to_be_bytes())
}

/// A `u32` read back from a database integer column.
///
/// # Errors
/// [`LedgerError::Corrupt`] when out of range.
pub fn u32_from_db(v: i64, what: &'static str) -> Result<u32> {
    u32::try_from(v).map_err(|_| LedgerError::Corrupt(what))
}

/// A fixed-length array from a database blob.
///
/// # Errors
/// [`LedgerError::Corrupt`] when the length differs.
pub fn array_from_db<const N: usize>(bytes: &[u8], what: &'static str) -> Result<[u8; N]> {
    bytes.try_into().map_err(|_| LedgerError::Corrupt(what))
}

/// A KEK id from a database blob (8 bytes).
///
/// # Errors
/// [`LedgerError::Corrupt`] when the length differs.
pub fn kek_id_from_db(bytes: &[u8]) -> Result<KekId> {
    array_from_db(bytes, "KEK id").map(KekId)
}

/// A KEK reference from its database columns.
///
/// # Errors
/// [`LedgerError::Corrupt`] for a bad id length or version.
pub fn kek_ref_from_db(id: &[u8], version: i64) -> Result<KekRef> {
    Ok(KekRef {
        id: kek_id_from_db(id)?,
        version: u32_from_db(version, "KEK version")?,
    })
}

/// Lower-case hex, for messages and reports (never for secrets).
#[must_use]
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}
