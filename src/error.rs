//! One small error type for the whole crate.
//!
//! [`Error`] is `Copy`, needs no heap, is four bytes and `#[non_exhaustive]`, so it is
//! returned from firmware in one register, as cheaply as an integer, and can grow new
//! kinds without breaking callers. (An eight-byte error costs every fallible call a
//! memory round trip on Cortex-M: about 1.9 KiB of flash across the device side.) Byte
//! offsets and lengths in it are therefore [`ByteCount`]s: 24 bits, saturating.
//! Every authentication failure (bad signature, bad MAC or tag, invalid peer point) is
//! the single opaque [`Error::Crypto`]: a detailed reason would be an oracle for an
//! attacker and is rarely actionable for the caller.
//!
//! Debug and Display output never contain key material; still, do not send them to a
//! peer: the decode offsets say how far a parser got.

use core::fmt;

/// Result alias used throughout the crate.
pub type Result<T> = core::result::Result<T, Error>;

/// The crate's error: an area plus a kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Error {
    /// Authentication or cryptographic failure, deliberately without detail.
    Crypto,
    /// Malformed input: what was wrong and at which byte offset.
    Decode(DecodeError),
    /// A caller-provided output buffer is too small; `needed` bytes would fit.
    BufferTooSmall {
        /// Bytes the operation needs (at least this many if it is saturated).
        needed: ByteCount,
    },
    /// Certificate content or policy failure.
    Cert(CertError),
    /// Key-store failure.
    Store(StoreError),
    /// DUKPT policy failure (counter, key strength, key usage, exhaustion).
    Dukpt(DukptError),
    /// Handshake protocol or peer-policy failure.
    Handshake(HandshakeError),
    /// Envelope, shipment, HPKE or key-component failure that is not an authentication
    /// failure.
    Envelope(EnvelopeError),
    /// A well-formed request that this crate or the key store does not support.
    Unsupported,
}

/// What was wrong with an encoded input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DecodeErrorKind {
    /// The input ended before the structure did.
    Truncated,
    /// Bytes were left after a complete structure.
    TrailingData,
    /// A tag other than the one required at this position.
    UnexpectedTag,
    /// A length that is not minimal DER, or that exceeds the enclosing structure.
    InvalidLength,
    /// An unknown format or version byte.
    UnknownVersion,
    /// A field whose value is outside its allowed range.
    InvalidValue,
    /// A valid encoding that is outside the profile this crate expands byte-exactly.
    OutsideProfile,
    /// Not a valid P-256 point, or not in the required encoding.
    InvalidPoint,
}

/// A decode failure: its kind and the byte offset where it was detected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DecodeError {
    /// What was wrong.
    pub kind: DecodeErrorKind,
    /// Offset into the input at which it was detected.
    pub offset: ByteCount,
}

/// A byte offset or length in an [`Error`], in 24 bits so that the error fits a register.
///
/// Values from [`ByteCount::MAX`] (16 MiB - 1) up saturate to it: an offset that far into
/// a stream, or an output that large, reads as "at least 16 MiB - 1". Everything the
/// device side parses or writes, and every single record a backend handles, is far below.
///
/// ```
/// use provkit::error::ByteCount;
/// assert_eq!(ByteCount::new(300).get(), 300);
/// assert!(ByteCount::new(usize::MAX).is_saturated());
/// assert_eq!(ByteCount::new(7), 7);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ByteCount([u8; 3]);

impl ByteCount {
    /// The largest count; larger values saturate to it.
    pub const MAX: usize = 0xFF_FFFF;

    /// `n`, or [`ByteCount::MAX`] when `n` is larger.
    #[must_use]
    pub const fn new(n: usize) -> Self {
        let n = if n > Self::MAX { Self::MAX } else { n };
        #[allow(clippy::cast_possible_truncation)] // n <= MAX < 2^24
        let [a, b, c, _] = (n as u32).to_le_bytes();
        Self([a, b, c])
    }

    /// The count (saturated at [`ByteCount::MAX`]).
    #[must_use]
    pub const fn get(self) -> usize {
        let [a, b, c] = self.0;
        u32::from_le_bytes([a, b, c, 0]) as usize
    }

    /// Whether the true value was [`ByteCount::MAX`] or more.
    #[must_use]
    pub const fn is_saturated(self) -> bool {
        self.get() == Self::MAX
    }
}

impl From<usize> for ByteCount {
    fn from(n: usize) -> Self {
        Self::new(n)
    }
}

impl PartialEq<usize> for ByteCount {
    fn eq(&self, other: &usize) -> bool {
        self.get() == *other && !(self.is_saturated() && *other > Self::MAX)
    }
}

impl fmt::Debug for ByteCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for ByteCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_saturated() {
            write!(f, "{} or more", Self::MAX)
        } else {
            write!(f, "{}", self.get())
        }
    }
}

/// Certificate and chain failures that are not decode errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CertError {
    /// The certificate is not valid yet at the `now` passed in.
    NotYetValid,
    /// The certificate has expired at the `now` passed in.
    Expired,
    /// The certificate's issuer does not match the CA offered to verify it.
    IssuerMismatch,
    /// A CA certificate lacks the CA flag or the keyCertSign usage.
    NotACa,
    /// A chain is longer than the issuer's path length constraint allows.
    PathTooLong,
    /// The certificate lacks a key usage the operation requires.
    UsageNotAllowed,
    /// A date or name that the format cannot represent.
    Unrepresentable,
    /// A critical extension this crate does not understand, so cannot enforce.
    UnknownCriticalExtension,
    /// The CA's key in the store does not match the CA certificate.
    KeyMismatch,
}

/// Handshake and session failures that are not decode or authentication errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HandshakeError {
    /// The peer presented this side's own identity (a reflected handshake).
    Reflection,
    /// The peer's serial is revoked.
    Revoked,
    /// The peer is not the pinned one, and no valid replacement statement was shown.
    PeerNotPinned,
    /// The certificate given to verify is not the one the peer's credential designates.
    CredentialMismatch,
    /// The session has sent its last record under the current keys; rekey or reconnect.
    SessionExhausted,
    /// A record was replayed or is too old for the replay window.
    Replay,
    /// The session is not confirmed yet (an initiator that has opened no record from the
    /// responder), and the operation needs the peer to have completed the handshake.
    NotConfirmed,
}

/// Key-store failures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreError {
    /// No key or record under this id.
    NotFound,
    /// A key or record already exists under this id.
    AlreadyExists,
    /// The key exists but is of another kind than the operation needs.
    WrongKeyKind,
    /// The store has no room left.
    Full,
    /// The record is larger than the store accepts.
    RecordTooLarge,
    /// The backing medium failed (flash, database, HSM); the cause is what the backend
    /// reported, also the error's [`source`](core::error::Error::source).
    Backend(BackendCause),
    /// Stored data failed its integrity check.
    Corrupt,
}

/// DUKPT failures that are not decode, store or authentication errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DukptError {
    /// The transaction counter is 0, has more one-bits than the scheme allows (16 for
    /// AES, 10 for TDES) or lies outside the counter field.
    InvalidCounter,
    /// The KSN belongs to another Initial Key ID (or initial KSN) than the key it was
    /// given to.
    KsnMismatch,
    /// The device has used its last transaction counter; it needs a new initial key.
    Exhausted,
    /// The requested working key is stronger than the initial key (AES DUKPT strength rule).
    KeyTooStrong,
    /// The key's usage or type does not allow this operation (e.g. a MAC key for a PIN block).
    WrongKeyUsage,
    /// A PIN that is not 4 to 12 decimal digits.
    InvalidPin,
    /// A PAN that is not 1 to 19 decimal digits (ISO 9564 format 4) or 2 to 19 (format
    /// 0, which drops the check digit).
    InvalidPan,
}

/// Envelope-encryption failures that are not decode, store or authentication errors.
///
/// Authentication failures (a wrong key, a tampered envelope or shipment, a bad
/// signature or commitment) are always the opaque [`Error::Crypto`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// No KEK is registered under this KEK id (and version).
    UnknownKek,
    /// The KEK version is below the KEK's minimum decryption version: the envelope should
    /// have been rewrapped before that version was retired.
    KekVersionRetired,
    /// A KEK version that is not above every registered version of that KEK.
    KekVersionOrder,
    /// The KEK version is still needed: envelopes under it remain (per the census), or it
    /// is the primary version.
    KekVersionInUse,
    /// The caller context is too long to encode (purpose over 255 bytes).
    ContextTooLong,
    /// A key check value does not match the key.
    KcvMismatch,
    /// The key check value of the key component at this index (from 0) does not match.
    ComponentKcvMismatch(u8),
    /// Key components must number 2 to 16 (and as many KCVs as components).
    ComponentCount,
    /// A key component, or a key to split, that is not 16, 24 or 32 bytes long, or not
    /// the length of the key it is combined into.
    ComponentLength,
    /// A shipment or telemetry message addressed to another recipient key.
    WrongRecipient,
    /// The verifying key passed in is not the one the shipment names as its signer.
    WrongSigner,
    /// Shipment records are not in strictly increasing serial order (or repeat a serial).
    RecordOrder,
    /// More or fewer shipment records than the header declares.
    RecordCount,
    /// A signed telemetry message and no device key to verify it, or an unsigned one
    /// where a signature is required.
    SignaturePolicy,
    /// The stream failed earlier or is complete; start again from the beginning.
    StreamFinished,
}

impl Error {
    /// A decode error of `kind` at `offset`.
    #[must_use]
    pub const fn decode(kind: DecodeErrorKind, offset: usize) -> Self {
        Self::Decode(DecodeError {
            kind,
            offset: ByteCount::new(offset),
        })
    }

    /// An output buffer too small for the `needed` bytes.
    #[must_use]
    pub const fn buffer_too_small(needed: usize) -> Self {
        Self::BufferTooSmall {
            needed: ByteCount::new(needed),
        }
    }
}

impl From<DecodeError> for Error {
    fn from(e: DecodeError) -> Self {
        Self::Decode(e)
    }
}

impl From<CertError> for Error {
    fn from(e: CertError) -> Self {
        Self::Cert(e)
    }
}

impl From<HandshakeError> for Error {
    fn from(e: HandshakeError) -> Self {
        Self::Handshake(e)
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Reflection => "peer presented our own identity",
            Self::Revoked => "peer certificate is revoked",
            Self::PeerNotPinned => "peer is not the pinned peer",
            Self::CredentialMismatch => "certificate does not match the peer's credential",
            Self::SessionExhausted => "session record counter exhausted",
            Self::Replay => "replayed or stale record",
            Self::NotConfirmed => "session not confirmed by the peer yet",
        })
    }
}

/// What a key store's backend reported when it failed: a PKCS#11 return value, an
/// SQLSTATE, an SQLite result code, an OS error number, or a kind without code.
///
/// Carried by [`StoreError::Backend`] so that the cause survives the trip through
/// provkit's `Copy` [`Error`] (and is its [`source`](core::error::Error::source)). Three
/// bytes, so that [`Error`] stays four: the codes are packed, and the rare codes that do
/// not fit are kept only as far as they do (each constructor says how). Compare two
/// causes with `==`, read one back with [`pkcs11_rv`](Self::pkcs11_rv),
/// [`sql_state_code`](Self::sql_state_code), [`sqlite_code`](Self::sqlite_code) or
/// [`os_error`](Self::os_error), and ask [`is_transient`](Self::is_transient) whether
/// trying again can succeed.
///
/// ```
/// use provkit::error::BackendCause;
/// let c = BackendCause::pkcs11(0x30);
/// assert_eq!(c.to_string(), "CKR_DEVICE_ERROR (0x30)");
/// assert_eq!(c.pkcs11_rv(), Some(0x30));
/// assert!(BackendCause::sql_state(*b"40001").is_transient());
/// assert_eq!(BackendCause::sqlite(5).to_string(), "SQLite error 5 (SQLITE_BUSY)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BackendCause(Cause);

/// The packed representation: a niche in [`SqlClass`] leaves room for the other kinds
/// and for [`StoreError`]'s unit variants, so the whole fits three bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Cause {
    Unspecified,
    Flash,
    Signer,
    /// A `CK_RV`: standard values below 0x8000 as they are; vendor-defined ones
    /// (`CKR_VENDOR_DEFINED | n`, n < 0x7FFF) as `0x8000 | n`; [`CODE_OUT_OF_RANGE`]
    /// for the rest.
    Pkcs11([u8; 2]),
    /// An SQLite extended result code.
    Sqlite([u8; 2]),
    /// An OS error number.
    Os([u8; 2]),
    /// An SQLSTATE of a known class: the class and the subclass's three characters in
    /// base 36.
    SqlState(SqlClass, [u8; 2]),
    /// An SQLSTATE of a class outside PostgreSQL's (or not five `[0-9A-Z]`).
    SqlStateOther,
}

/// A stored code that did not fit two bytes.
const CODE_OUT_OF_RANGE: u16 = 0xFFFF;

/// `CKR_VENDOR_DEFINED`.
const CKR_VENDOR_DEFINED: u64 = 0x8000_0000;

macro_rules! sql_classes {
    ($($v:ident = $s:literal,)*) => {
        /// The SQLSTATE classes PostgreSQL defines (its documentation's appendix A).
        #[derive(Clone, Copy, PartialEq, Eq, Hash)]
        #[allow(clippy::upper_case_acronyms)] // the class codes themselves
        enum SqlClass { $($v,)* }

        impl SqlClass {
            const fn code(self) -> [u8; 2] {
                match self { $(Self::$v => *$s,)* }
            }

            const fn from_code(c: &[u8; 2]) -> Option<Self> {
                match c { $($s => Some(Self::$v),)* _ => None }
            }
        }
    };
}

sql_classes! {
    C00 = b"00", C01 = b"01", C02 = b"02", C03 = b"03", C08 = b"08", C09 = b"09",
    C0A = b"0A", C0B = b"0B", C0F = b"0F", C0L = b"0L", C0P = b"0P", C0Z = b"0Z",
    C20 = b"20", C21 = b"21", C22 = b"22", C23 = b"23", C24 = b"24", C25 = b"25",
    C26 = b"26", C27 = b"27", C28 = b"28", C2B = b"2B", C2D = b"2D", C2F = b"2F",
    C34 = b"34", C38 = b"38", C39 = b"39", C3B = b"3B", C3D = b"3D", C3F = b"3F",
    C40 = b"40", C42 = b"42", C44 = b"44", C53 = b"53", C54 = b"54", C55 = b"55",
    C57 = b"57", C58 = b"58", C72 = b"72", CF0 = b"F0", CHV = b"HV", CP0 = b"P0",
    CXX = b"XX",
}

/// The value of an SQLSTATE character `[0-9A-Z]` in base 36.
const fn base36(c: u8) -> Option<u16> {
    match c {
        b'0'..=b'9' => Some((c - b'0') as u16),
        b'A'..=b'Z' => Some((c - b'A') as u16 + 10),
        _ => None,
    }
}

/// The character of a base-36 digit (below 36).
const fn base36_char(d: u16) -> u8 {
    #[allow(clippy::cast_possible_truncation)] // d < 36
    let d = d as u8;
    if d < 10 { b'0' + d } else { b'A' + d - 10 }
}

/// `n` as two bytes, or [`CODE_OUT_OF_RANGE`] when it does not fit below it.
const fn packed(n: u64) -> [u8; 2] {
    #[allow(clippy::cast_possible_truncation)] // checked
    let v = if n < CODE_OUT_OF_RANGE as u64 {
        n as u16
    } else {
        CODE_OUT_OF_RANGE
    };
    v.to_le_bytes()
}

/// The stored code, `None` when it did not fit.
const fn unpacked(b: [u8; 2]) -> Option<u16> {
    match u16::from_le_bytes(b) {
        CODE_OUT_OF_RANGE => None,
        v => Some(v),
    }
}

impl BackendCause {
    /// No cause recorded: the backend gave none, or provkit could not keep it.
    pub const UNSPECIFIED: Self = Self(Cause::Unspecified);
    /// The flash driver (`embedded-storage` NOR flash) failed a read, write or erase.
    pub const FLASH: Self = Self(Cause::Flash);
    /// An external signer (a RustCrypto `Signer`, e.g. a cloud KMS client) failed; its
    /// `signature::Error` carries nothing provkit can keep.
    pub const SIGNER: Self = Self(Cause::Signer);

    /// A PKCS#11 return value (`CK_RV`). Standard values are kept whole; a
    /// vendor-defined value (`CKR_VENDOR_DEFINED | n`) is kept when `n < 0x7FFF`; any
    /// other value reads back as `None` from [`pkcs11_rv`](Self::pkcs11_rv).
    #[must_use]
    pub const fn pkcs11(rv: u64) -> Self {
        let code = if rv < 0x8000 {
            packed(rv)
        } else if rv >= CKR_VENDOR_DEFINED && rv - CKR_VENDOR_DEFINED < 0x7FFF {
            packed(0x8000 | (rv - CKR_VENDOR_DEFINED))
        } else {
            packed(u64::MAX)
        };
        Self(Cause::Pkcs11(code))
    }

    /// An SQLSTATE (five characters `[0-9A-Z]`, e.g. `*b"40001"`). Kept whole when its
    /// class is one PostgreSQL defines (every code PostgreSQL itself raises); otherwise
    /// only the fact that it was an SQLSTATE is kept.
    #[must_use]
    pub const fn sql_state(code: [u8; 5]) -> Self {
        let [c0, c1, s0, s1, s2] = code;
        let (Some(class), Some(a), Some(b), Some(c)) = (
            SqlClass::from_code(&[c0, c1]),
            base36(s0),
            base36(s1),
            base36(s2),
        ) else {
            return Self(Cause::SqlStateOther);
        };
        Self(Cause::SqlState(
            class,
            ((a * 36 + b) * 36 + c).to_le_bytes(),
        ))
    }

    /// An SQLite (extended) result code, e.g. 5 (`SQLITE_BUSY`) or 517
    /// (`SQLITE_BUSY_SNAPSHOT`). Codes outside 0..0xFFFF read back as `None`.
    #[must_use]
    pub const fn sqlite(code: i32) -> Self {
        #[allow(clippy::cast_sign_loss)] // checked
        let code = if code < 0 { u64::MAX } else { code as u64 };
        Self(Cause::Sqlite(packed(code)))
    }

    /// An OS error number (`errno` on Unix). Numbers outside 0..0xFFFF read back as
    /// `None`.
    #[must_use]
    pub const fn os(errno: i32) -> Self {
        #[allow(clippy::cast_sign_loss)] // checked
        let code = if errno < 0 { u64::MAX } else { errno as u64 };
        Self(Cause::Os(packed(code)))
    }

    /// The PKCS#11 return value, if this is one that was kept.
    #[must_use]
    pub const fn pkcs11_rv(self) -> Option<u64> {
        match self.0 {
            Cause::Pkcs11(b) => match unpacked(b) {
                Some(v) if v >= 0x8000 => Some(CKR_VENDOR_DEFINED | (v & 0x7FFF) as u64),
                Some(v) => Some(v as u64),
                None => None,
            },
            _ => None,
        }
    }

    /// The SQLSTATE, if this is one that was kept.
    #[must_use]
    pub const fn sql_state_code(self) -> Option<[u8; 5]> {
        match self.0 {
            Cause::SqlState(class, sub) => {
                let [c0, c1] = class.code();
                let n = u16::from_le_bytes(sub);
                Some([
                    c0,
                    c1,
                    base36_char(n / (36 * 36) % 36),
                    base36_char(n / 36 % 36),
                    base36_char(n % 36),
                ])
            }
            _ => None,
        }
    }

    /// The SQLite extended result code, if this is one that was kept.
    #[must_use]
    pub const fn sqlite_code(self) -> Option<i32> {
        match self.0 {
            Cause::Sqlite(b) => match unpacked(b) {
                Some(v) => Some(v as i32),
                None => None,
            },
            _ => None,
        }
    }

    /// The OS error number, if this is one that was kept.
    #[must_use]
    pub const fn os_error(self) -> Option<i32> {
        match self.0 {
            Cause::Os(b) => match unpacked(b) {
                Some(v) => Some(v as i32),
                None => None,
            },
            _ => None,
        }
    }

    /// Whether no cause was recorded ([`BackendCause::UNSPECIFIED`]).
    #[must_use]
    pub const fn is_unspecified(self) -> bool {
        matches!(self.0, Cause::Unspecified)
    }

    /// Whether the same operation can succeed if tried again (after reopening the
    /// session or connection where one was lost): the failure is about contention or
    /// availability, not about the request or the stored data.
    ///
    /// Transient are:
    /// - SQLSTATE 40001 (serialization failure), 40P01 (deadlock), class 08 (connection
    ///   exception), 53300 (too many connections), 55P03 (lock not available), 57P01,
    ///   57P02, 57P03 (server shutting down or starting);
    /// - SQLite `SQLITE_BUSY` and `SQLITE_LOCKED` with their extended codes;
    /// - `CKR_DEVICE_REMOVED`, `CKR_TOKEN_NOT_PRESENT`, `CKR_SESSION_CLOSED`,
    ///   `CKR_SESSION_COUNT` and `CKR_SESSION_HANDLE_INVALID`.
    ///
    /// Nothing else is: OS error numbers differ between systems, so they are not
    /// classified here.
    #[must_use]
    pub const fn is_transient(self) -> bool {
        match self.0 {
            Cause::SqlState(class, _) => match self.sql_state_code() {
                Some(c) => {
                    matches!(class, SqlClass::C08)
                        || matches!(
                            &c,
                            b"40001"
                                | b"40P01"
                                | b"53300"
                                | b"55P03"
                                | b"57P01"
                                | b"57P02"
                                | b"57P03"
                        )
                }
                None => false,
            },
            Cause::Sqlite(_) => match self.sqlite_code() {
                Some(c) => matches!(c & 0xFF, 5 | 6),
                None => false,
            },
            Cause::Pkcs11(_) => matches!(self.pkcs11_rv(), Some(0x32 | 0xB0 | 0xB1 | 0xB3 | 0xE0)),
            _ => false,
        }
    }
}

/// The names of the common `CK_RV` values (PKCS#11 3.0).
const fn ckr_name(rv: u64) -> Option<&'static str> {
    Some(match rv {
        0x00 => "CKR_OK",
        0x01 => "CKR_CANCEL",
        0x02 => "CKR_HOST_MEMORY",
        0x03 => "CKR_SLOT_ID_INVALID",
        0x05 => "CKR_GENERAL_ERROR",
        0x06 => "CKR_FUNCTION_FAILED",
        0x07 => "CKR_ARGUMENTS_BAD",
        0x10 => "CKR_ATTRIBUTE_READ_ONLY",
        0x11 => "CKR_ATTRIBUTE_SENSITIVE",
        0x12 => "CKR_ATTRIBUTE_TYPE_INVALID",
        0x13 => "CKR_ATTRIBUTE_VALUE_INVALID",
        0x1B => "CKR_ACTION_PROHIBITED",
        0x20 => "CKR_DATA_INVALID",
        0x21 => "CKR_DATA_LEN_RANGE",
        0x30 => "CKR_DEVICE_ERROR",
        0x31 => "CKR_DEVICE_MEMORY",
        0x32 => "CKR_DEVICE_REMOVED",
        0x40 => "CKR_ENCRYPTED_DATA_INVALID",
        0x41 => "CKR_ENCRYPTED_DATA_LEN_RANGE",
        0x50 => "CKR_FUNCTION_CANCELED",
        0x54 => "CKR_FUNCTION_NOT_SUPPORTED",
        0x60 => "CKR_KEY_HANDLE_INVALID",
        0x62 => "CKR_KEY_SIZE_RANGE",
        0x63 => "CKR_KEY_TYPE_INCONSISTENT",
        0x68 => "CKR_KEY_FUNCTION_NOT_PERMITTED",
        0x69 => "CKR_KEY_NOT_WRAPPABLE",
        0x6A => "CKR_KEY_UNEXTRACTABLE",
        0x70 => "CKR_MECHANISM_INVALID",
        0x71 => "CKR_MECHANISM_PARAM_INVALID",
        0x82 => "CKR_OBJECT_HANDLE_INVALID",
        0x90 => "CKR_OPERATION_ACTIVE",
        0x91 => "CKR_OPERATION_NOT_INITIALIZED",
        0xA0 => "CKR_PIN_INCORRECT",
        0xA1 => "CKR_PIN_INVALID",
        0xA2 => "CKR_PIN_LEN_RANGE",
        0xA3 => "CKR_PIN_EXPIRED",
        0xA4 => "CKR_PIN_LOCKED",
        0xB0 => "CKR_SESSION_CLOSED",
        0xB1 => "CKR_SESSION_COUNT",
        0xB3 => "CKR_SESSION_HANDLE_INVALID",
        0xB5 => "CKR_SESSION_READ_ONLY",
        0xB6 => "CKR_SESSION_EXISTS",
        0xC0 => "CKR_SIGNATURE_INVALID",
        0xC1 => "CKR_SIGNATURE_LEN_RANGE",
        0xD0 => "CKR_TEMPLATE_INCOMPLETE",
        0xD1 => "CKR_TEMPLATE_INCONSISTENT",
        0xE0 => "CKR_TOKEN_NOT_PRESENT",
        0xE1 => "CKR_TOKEN_NOT_RECOGNIZED",
        0xE2 => "CKR_TOKEN_WRITE_PROTECTED",
        0xF0 => "CKR_UNWRAPPING_KEY_HANDLE_INVALID",
        0x100 => "CKR_USER_ALREADY_LOGGED_IN",
        0x101 => "CKR_USER_NOT_LOGGED_IN",
        0x102 => "CKR_USER_PIN_NOT_INITIALIZED",
        0x103 => "CKR_USER_TYPE_INVALID",
        0x110 => "CKR_WRAPPED_KEY_INVALID",
        0x112 => "CKR_WRAPPED_KEY_LEN_RANGE",
        0x113 => "CKR_WRAPPING_KEY_HANDLE_INVALID",
        0x150 => "CKR_BUFFER_TOO_SMALL",
        0x190 => "CKR_CRYPTOKI_NOT_INITIALIZED",
        0x191 => "CKR_CRYPTOKI_ALREADY_INITIALIZED",
        0x200 => "CKR_FUNCTION_REJECTED",
        _ => return None,
    })
}

/// The names of SQLite's primary result codes.
const fn sqlite_name(primary: i32) -> Option<&'static str> {
    Some(match primary {
        1 => "SQLITE_ERROR",
        2 => "SQLITE_INTERNAL",
        3 => "SQLITE_PERM",
        4 => "SQLITE_ABORT",
        5 => "SQLITE_BUSY",
        6 => "SQLITE_LOCKED",
        7 => "SQLITE_NOMEM",
        8 => "SQLITE_READONLY",
        9 => "SQLITE_INTERRUPT",
        10 => "SQLITE_IOERR",
        11 => "SQLITE_CORRUPT",
        12 => "SQLITE_NOTFOUND",
        13 => "SQLITE_FULL",
        14 => "SQLITE_CANTOPEN",
        15 => "SQLITE_PROTOCOL",
        16 => "SQLITE_EMPTY",
        17 => "SQLITE_SCHEMA",
        18 => "SQLITE_TOOBIG",
        19 => "SQLITE_CONSTRAINT",
        20 => "SQLITE_MISMATCH",
        21 => "SQLITE_MISUSE",
        22 => "SQLITE_NOLFS",
        23 => "SQLITE_AUTH",
        24 => "SQLITE_FORMAT",
        25 => "SQLITE_RANGE",
        26 => "SQLITE_NOTADB",
        _ => return None,
    })
}

impl fmt::Display for BackendCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Cause::Unspecified => f.write_str("unspecified backend failure"),
            Cause::Flash => f.write_str("flash driver failure"),
            Cause::Signer => f.write_str("external signer failure"),
            Cause::Pkcs11(_) => match self.pkcs11_rv() {
                Some(rv) => match ckr_name(rv) {
                    Some(name) => write!(f, "{name} ({rv:#x})"),
                    None if rv >= CKR_VENDOR_DEFINED => write!(f, "vendor-defined CK_RV {rv:#x}"),
                    None => write!(f, "CK_RV {rv:#x}"),
                },
                None => f.write_str("CK_RV out of the range provkit keeps"),
            },
            Cause::SqlState(..) | Cause::SqlStateOther => match self.sql_state_code() {
                Some(code) => {
                    f.write_str("SQLSTATE ")?;
                    for c in code {
                        write!(f, "{}", char::from(c))?;
                    }
                    Ok(())
                }
                None => f.write_str("SQLSTATE of a class outside PostgreSQL's"),
            },
            Cause::Sqlite(_) => match self.sqlite_code() {
                Some(code) => match sqlite_name(code & 0xFF) {
                    Some(name) if code <= 0xFF => write!(f, "SQLite error {code} ({name})"),
                    Some(name) => write!(f, "SQLite error {code} (extended {name})"),
                    None => write!(f, "SQLite error {code}"),
                },
                None => f.write_str("SQLite error code out of the range provkit keeps"),
            },
            Cause::Os(_) => match self.os_error() {
                // The system's text, which ends "(os error n)".
                #[cfg(feature = "std")]
                Some(n) => write!(f, "{}", std::io::Error::from_raw_os_error(n)),
                #[cfg(not(feature = "std"))]
                Some(n) => write!(f, "OS error {n}"),
                None => f.write_str("OS error number out of the range provkit keeps"),
            },
        }
    }
}

impl fmt::Debug for BackendCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BackendCause({self})")
    }
}

impl core::error::Error for BackendCause {}

impl From<BackendCause> for Error {
    fn from(c: BackendCause) -> Self {
        Self::Store(StoreError::Backend(c))
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}

impl From<DukptError> for Error {
    fn from(e: DukptError) -> Self {
        Self::Dukpt(e)
    }
}

impl From<EnvelopeError> for Error {
    fn from(e: EnvelopeError) -> Self {
        Self::Envelope(e)
    }
}

impl fmt::Display for EnvelopeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownKek => f.write_str("no KEK registered under this id and version"),
            Self::KekVersionRetired => {
                f.write_str("KEK version is below the minimum decryption version")
            }
            Self::KekVersionOrder => f.write_str("KEK version not above the existing versions"),
            Self::KekVersionInUse => f.write_str("KEK version still in use"),
            Self::ContextTooLong => f.write_str("envelope context too long"),
            Self::KcvMismatch => f.write_str("key check value does not match"),
            Self::ComponentKcvMismatch(i) => {
                write!(f, "key check value of component {i} does not match")
            }
            Self::ComponentCount => f.write_str("wrong number of key components"),
            Self::ComponentLength => f.write_str("key component of the wrong length"),
            Self::WrongRecipient => f.write_str("addressed to another recipient key"),
            Self::WrongSigner => f.write_str("signer key does not match the one named"),
            Self::RecordOrder => f.write_str("records not in strictly increasing serial order"),
            Self::RecordCount => f.write_str("record count differs from the header"),
            Self::SignaturePolicy => f.write_str("message signature does not meet the policy"),
            Self::StreamFinished => f.write_str("stream already failed or finished"),
        }
    }
}

impl fmt::Display for DukptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::InvalidCounter => "invalid DUKPT transaction counter",
            Self::KsnMismatch => "KSN belongs to another initial key",
            Self::Exhausted => "DUKPT device exhausted: no transaction counter left",
            Self::KeyTooStrong => "working key stronger than the initial key",
            Self::WrongKeyUsage => "key usage or type does not allow this operation",
            Self::InvalidPin => "PIN must be 4 to 12 decimal digits",
            Self::InvalidPan => "invalid PAN for this PIN block format",
        })
    }
}

impl fmt::Display for DecodeErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Truncated => "input truncated",
            Self::TrailingData => "trailing data after structure",
            Self::UnexpectedTag => "unexpected tag",
            Self::InvalidLength => "invalid length",
            Self::UnknownVersion => "unknown format version",
            Self::InvalidValue => "invalid field value",
            Self::OutsideProfile => "outside the supported certificate profile",
            Self::InvalidPoint => "invalid P-256 point",
        })
    }
}

impl fmt::Display for CertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotYetValid => "certificate not yet valid",
            Self::Expired => "certificate expired",
            Self::IssuerMismatch => "certificate issuer does not match the CA",
            Self::NotACa => "issuer is not a CA allowed to sign certificates",
            Self::PathTooLong => "certificate path too long for the issuer's constraint",
            Self::UsageNotAllowed => "key usage not allowed by the certificate",
            Self::Unrepresentable => "value not representable in the certificate format",
            Self::UnknownCriticalExtension => "unsupported critical extension",
            Self::KeyMismatch => "CA key does not match the CA certificate",
        })
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NotFound => "no key or record under this id",
            Self::AlreadyExists => "a key or record already exists under this id",
            Self::WrongKeyKind => "key is of the wrong kind for this operation",
            Self::Full => "key store is full",
            Self::RecordTooLarge => "record too large for this store",
            Self::Backend(_) => "key store backend failure",
            Self::Corrupt => "stored data failed its integrity check",
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Crypto => f.write_str("cryptographic verification failed"),
            Self::Decode(d) => write!(f, "decode error at byte {}: {}", d.offset, d.kind),
            Self::BufferTooSmall { needed } => {
                write!(f, "output buffer too small: {needed} bytes needed")
            }
            Self::Cert(c) => write!(f, "certificate error: {c}"),
            Self::Store(s) => write!(f, "key store error: {s}"),
            Self::Handshake(h) => write!(f, "handshake error: {h}"),
            Self::Dukpt(d) => write!(f, "DUKPT error: {d}"),
            Self::Envelope(e) => write!(f, "envelope error: {e}"),
            Self::Unsupported => f.write_str("operation not supported"),
        }
    }
}

/// The cause of a [`StoreError::Backend`], unless it is unspecified. Display leaves it
/// out, as error chains print each source once.
impl core::error::Error for Error {
    fn source(&self) -> Option<&(dyn core::error::Error + 'static)> {
        match self {
            Self::Store(StoreError::Backend(c)) if !c.is_unspecified() => Some(c),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;

    const _: () = assert!(size_of::<Error>() == 4, "Error must fit one register");
    const _: () = assert!(
        size_of::<StoreError>() == 3,
        "StoreError must leave Error its discriminant byte"
    );
    const _: () = assert!(
        size_of::<Result<()>>() == 4,
        "Result<()> must fit one register"
    );

    #[test]
    fn byte_counts_round_trip_and_saturate() {
        for n in [0, 1, 255, 256, 65_535, 65_536, ByteCount::MAX - 1] {
            assert_eq!(ByteCount::new(n).get(), n);
            assert!(!ByteCount::new(n).is_saturated());
            assert_eq!(ByteCount::new(n), n);
        }
        for n in [ByteCount::MAX, ByteCount::MAX + 1, usize::MAX] {
            assert_eq!(ByteCount::new(n).get(), ByteCount::MAX);
            assert!(ByteCount::new(n).is_saturated());
        }
        assert_ne!(ByteCount::new(ByteCount::MAX + 1), ByteCount::MAX + 1);
        assert_eq!(
            std::format!("{}", Error::buffer_too_small(usize::MAX)),
            "output buffer too small: 16777215 or more bytes needed"
        );
    }

    #[test]
    fn error_is_copy_and_displays() {
        fn assert_copy<T: Copy + Send + Sync + 'static>() {}
        assert_copy::<Error>();
        let text = std::format!("{}", Error::decode(DecodeErrorKind::Truncated, 7));
        assert_eq!(text, "decode error at byte 7: input truncated");
    }

    #[test]
    fn backend_causes_display_and_round_trip() {
        use core::error::Error as _;
        let show = |c: BackendCause| std::format!("{c}");
        assert_eq!(show(BackendCause::pkcs11(0x30)), "CKR_DEVICE_ERROR (0x30)");
        assert_eq!(show(BackendCause::pkcs11(0xA0)), "CKR_PIN_INCORRECT (0xa0)");
        assert_eq!(show(BackendCause::pkcs11(0x1B7)), "CK_RV 0x1b7");
        assert_eq!(
            show(BackendCause::pkcs11(0x8000_0123)),
            "vendor-defined CK_RV 0x80000123"
        );
        assert_eq!(
            BackendCause::pkcs11(0x8000_0123).pkcs11_rv(),
            Some(0x8000_0123)
        );
        assert_eq!(BackendCause::pkcs11(0x8001_0000).pkcs11_rv(), None);
        assert_eq!(BackendCause::pkcs11(0x1_0000).pkcs11_rv(), None);
        assert_eq!(show(BackendCause::sql_state(*b"40P01")), "SQLSTATE 40P01");
        assert_eq!(show(BackendCause::sql_state(*b"23505")), "SQLSTATE 23505");
        for code in [
            *b"00000", *b"XX000", *b"08006", *b"0AZZZ", *b"HV00B", *b"P0001",
        ] {
            assert_eq!(BackendCause::sql_state(code).sql_state_code(), Some(code));
        }
        for other in [*b"ZZ000", *b"40p01", *b"4000\0"] {
            assert_eq!(BackendCause::sql_state(other).sql_state_code(), None);
            assert_eq!(
                show(BackendCause::sql_state(other)),
                "SQLSTATE of a class outside PostgreSQL's"
            );
        }
        assert_eq!(
            show(BackendCause::sqlite(5)),
            "SQLite error 5 (SQLITE_BUSY)"
        );
        assert_eq!(
            show(BackendCause::sqlite(517)),
            "SQLite error 517 (extended SQLITE_BUSY)"
        );
        assert_eq!(BackendCause::sqlite(2067).sqlite_code(), Some(2067));
        assert_eq!(BackendCause::sqlite(-1).sqlite_code(), None);
        assert_eq!(BackendCause::os(28).os_error(), Some(28));
        assert_eq!(BackendCause::os(i32::MAX).os_error(), None);
        assert!(show(BackendCause::os(28)).contains("os error 28"));
        // Each kind reads back only as itself.
        assert_eq!(BackendCause::sqlite(5).pkcs11_rv(), None);
        assert_eq!(BackendCause::pkcs11(5).sqlite_code(), None);
        assert_eq!(BackendCause::os(5).sql_state_code(), None);
        assert_ne!(BackendCause::os(5), BackendCause::sqlite(5));
        assert_eq!(
            std::format!("{:?}", BackendCause::FLASH),
            "BackendCause(flash driver failure)"
        );

        // The cause is the error's source, except when there is none to give.
        let e = Error::from(BackendCause::sql_state(*b"40001"));
        assert_eq!(
            e,
            Error::Store(StoreError::Backend(BackendCause::sql_state(*b"40001")))
        );
        assert_eq!(
            std::format!("{e}"),
            "key store error: key store backend failure"
        );
        let source = e.source().expect("a source");
        assert_eq!(std::format!("{source}"), "SQLSTATE 40001");
        assert_eq!(
            source.downcast_ref::<BackendCause>(),
            Some(&BackendCause::sql_state(*b"40001"))
        );
        assert!(Error::from(BackendCause::UNSPECIFIED).source().is_none());
        assert!(Error::Store(StoreError::NotFound).source().is_none());
    }

    #[test]
    fn transient_backend_causes() {
        for transient in [
            BackendCause::sql_state(*b"40001"),
            BackendCause::sql_state(*b"40P01"),
            BackendCause::sql_state(*b"08006"),
            BackendCause::sql_state(*b"08000"),
            BackendCause::sql_state(*b"53300"),
            BackendCause::sql_state(*b"55P03"),
            BackendCause::sql_state(*b"57P01"),
            BackendCause::sqlite(5),
            BackendCause::sqlite(517),
            BackendCause::sqlite(6),
            BackendCause::sqlite(262),
            BackendCause::pkcs11(0x32),
            BackendCause::pkcs11(0xB0),
            BackendCause::pkcs11(0xB3),
            BackendCause::pkcs11(0xE0),
        ] {
            assert!(transient.is_transient(), "{transient}");
        }
        for lasting in [
            BackendCause::UNSPECIFIED,
            BackendCause::FLASH,
            BackendCause::SIGNER,
            BackendCause::sql_state(*b"23505"),
            BackendCause::sql_state(*b"42501"),
            BackendCause::sql_state(*b"40002"),
            BackendCause::sql_state(*b"ZZ001"),
            BackendCause::sqlite(8),
            BackendCause::sqlite(13),
            BackendCause::sqlite(0x105 + 0x10000),
            BackendCause::pkcs11(0x30),
            BackendCause::pkcs11(0xA0),
            BackendCause::pkcs11(0x8000_0032),
            BackendCause::os(11),
        ] {
            assert!(!lasting.is_transient(), "{lasting}");
        }
    }
}
