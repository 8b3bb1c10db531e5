//! Status codes: what every function returns, with a name for each.

use core::ffi::c_char;
use provkit::Error;
use provkit::error::{CertError, DecodeErrorKind, DukptError, HandshakeError, StoreError};

/// What a provkit call did: `PROVKIT_OK`, or why it failed.
///
/// Codes are grouped by area (1-99 the API, 100 decoding, 200 certificates, 300 key
/// stores, 400 DUKPT, 500 the handshake, 600 envelopes) and never change meaning;
/// [`provkit_status_name`] names each. Key-store callbacks return these codes too.
#[repr(i32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum provkit_status {
    /// Success.
    PROVKIT_OK = 0,
    /// A required pointer argument was NULL (or a buffer pointer was NULL with a non-zero
    /// length).
    PROVKIT_ERR_NULL_POINTER = 1,
    /// An output buffer is too short; where the function has a length output it holds the
    /// length needed.
    PROVKIT_ERR_BUFFER_TOO_SMALL = 2,
    /// An argument is out of range: a wrong fixed length, an unknown enum value,
    /// overlapping input and output buffers, an invalid flash or key-store description.
    PROVKIT_ERR_INVALID_ARGUMENT = 3,
    /// The state object does not hold what this call needs: never started, already consumed
    /// by an earlier call or failure, or reset.
    PROVKIT_ERR_WRONG_STATE = 4,
    /// A handshake state was copied or moved in memory after it was started; it has been
    /// discarded.
    PROVKIT_ERR_STATE_MOVED = 5,
    /// The RNG callback reported a failure; nothing that used its output was kept.
    PROVKIT_ERR_RNG_FAILED = 6,
    /// An internal error was caught at the boundary (host builds); please report it.
    PROVKIT_ERR_PANIC = 7,
    /// A well-formed request this build or the key store does not support.
    PROVKIT_ERR_UNSUPPORTED = 8,
    /// Authentication or cryptographic failure, deliberately without detail.
    PROVKIT_ERR_CRYPTO = 9,
    /// Malformed input: it ends too early.
    PROVKIT_ERR_DECODE_TRUNCATED = 100,
    /// Malformed input: bytes after its end.
    PROVKIT_ERR_DECODE_TRAILING_DATA = 101,
    /// Malformed input: an unexpected tag.
    PROVKIT_ERR_DECODE_UNEXPECTED_TAG = 102,
    /// Malformed input: an invalid length.
    PROVKIT_ERR_DECODE_INVALID_LENGTH = 103,
    /// Malformed input: an unknown version.
    PROVKIT_ERR_DECODE_UNKNOWN_VERSION = 104,
    /// Malformed input: a value out of range.
    PROVKIT_ERR_DECODE_INVALID_VALUE = 105,
    /// Well-formed input outside provkit's profile.
    PROVKIT_ERR_DECODE_OUTSIDE_PROFILE = 106,
    /// Not a valid P-256 point, or not in the required encoding.
    PROVKIT_ERR_DECODE_INVALID_POINT = 107,
    /// Malformed input (a kind newer than this list).
    PROVKIT_ERR_DECODE_OTHER = 199,
    /// A certificate is not yet valid at `now`.
    PROVKIT_ERR_CERT_NOT_YET_VALID = 200,
    /// A certificate has expired at `now`.
    PROVKIT_ERR_CERT_EXPIRED = 201,
    /// A certificate was not issued by the given CA.
    PROVKIT_ERR_CERT_ISSUER_MISMATCH = 202,
    /// A CA certificate lacks CA rights.
    PROVKIT_ERR_CERT_NOT_A_CA = 203,
    /// The chain is longer than a CA's path length allows.
    PROVKIT_ERR_CERT_PATH_TOO_LONG = 204,
    /// A certificate's usage does not allow this operation.
    PROVKIT_ERR_CERT_USAGE_NOT_ALLOWED = 205,
    /// A value cannot be represented in the compact form.
    PROVKIT_ERR_CERT_UNREPRESENTABLE = 206,
    /// An unknown critical extension.
    PROVKIT_ERR_CERT_UNKNOWN_CRITICAL_EXTENSION = 207,
    /// A certificate names another key than the one given.
    PROVKIT_ERR_CERT_KEY_MISMATCH = 208,
    /// Certificate failure (a kind newer than this list).
    PROVKIT_ERR_CERT_OTHER = 299,
    /// No key or record under this id.
    PROVKIT_ERR_STORE_NOT_FOUND = 300,
    /// A key already exists under this id.
    PROVKIT_ERR_STORE_ALREADY_EXISTS = 301,
    /// The key under this id is of another kind.
    PROVKIT_ERR_STORE_WRONG_KEY_KIND = 302,
    /// The store is full.
    PROVKIT_ERR_STORE_FULL = 303,
    /// A record is larger than the store holds.
    PROVKIT_ERR_STORE_RECORD_TOO_LARGE = 304,
    /// The flash driver or key-store callback failed.
    PROVKIT_ERR_STORE_BACKEND = 305,
    /// The stored data is inconsistent.
    PROVKIT_ERR_STORE_CORRUPT = 306,
    /// Key-store failure (a kind newer than this list).
    PROVKIT_ERR_STORE_OTHER = 399,
    /// An invalid DUKPT transaction counter.
    PROVKIT_ERR_DUKPT_INVALID_COUNTER = 400,
    /// The KSN belongs to another initial key.
    PROVKIT_ERR_DUKPT_KSN_MISMATCH = 401,
    /// The DUKPT device has used its last counter; it needs a new initial key.
    PROVKIT_ERR_DUKPT_EXHAUSTED = 402,
    /// The working key asked for is stronger than the initial key.
    PROVKIT_ERR_DUKPT_KEY_TOO_STRONG = 403,
    /// The key's usage does not allow this operation.
    PROVKIT_ERR_DUKPT_WRONG_KEY_USAGE = 404,
    /// A PIN that is not 4 to 12 decimal digits.
    PROVKIT_ERR_DUKPT_INVALID_PIN = 405,
    /// A PAN that is not 1 to 19 decimal digits.
    PROVKIT_ERR_DUKPT_INVALID_PAN = 406,
    /// DUKPT failure (a kind newer than this list).
    PROVKIT_ERR_DUKPT_OTHER = 499,
    /// The peer sent our own ephemeral key back.
    PROVKIT_ERR_HANDSHAKE_REFLECTION = 500,
    /// The peer's certificate is revoked.
    PROVKIT_ERR_HANDSHAKE_REVOKED = 501,
    /// The peer is not the pinned one.
    PROVKIT_ERR_HANDSHAKE_PEER_NOT_PINNED = 502,
    /// The peer's credential does not match the certificate given for it.
    PROVKIT_ERR_HANDSHAKE_CREDENTIAL_MISMATCH = 503,
    /// The session has sealed or opened its last record; rekey or start again.
    PROVKIT_ERR_HANDSHAKE_SESSION_EXHAUSTED = 504,
    /// A record was replayed or arrived out of order.
    PROVKIT_ERR_HANDSHAKE_REPLAY = 505,
    /// The session is not confirmed yet.
    PROVKIT_ERR_HANDSHAKE_NOT_CONFIRMED = 506,
    /// Handshake failure (a kind newer than this list).
    PROVKIT_ERR_HANDSHAKE_OTHER = 599,
    /// Envelope, HPKE or telemetry failure that is not an authentication failure.
    PROVKIT_ERR_ENVELOPE = 600,
}

/// Every status's name, NUL-terminated, in one static: a firmware that never calls
/// [`provkit_status_name`] links none of it (a static gets its own section, which the
/// linker drops; string literals would share one it keeps).
static NAMES: [u8; 1620] = *b"PROVKIT_OK\0PROVKIT_ERR_NULL_POINTER\0PROVKIT_ERR_BUFFER_TOO_SMALL\0\
      PROVKIT_ERR_INVALID_ARGUMENT\0PROVKIT_ERR_WRONG_STATE\0PROVKIT_ERR_STATE_MOVED\0\
      PROVKIT_ERR_RNG_FAILED\0PROVKIT_ERR_PANIC\0PROVKIT_ERR_UNSUPPORTED\0\
      PROVKIT_ERR_CRYPTO\0PROVKIT_ERR_DECODE_TRUNCATED\0\
      PROVKIT_ERR_DECODE_TRAILING_DATA\0PROVKIT_ERR_DECODE_UNEXPECTED_TAG\0\
      PROVKIT_ERR_DECODE_INVALID_LENGTH\0PROVKIT_ERR_DECODE_UNKNOWN_VERSION\0\
      PROVKIT_ERR_DECODE_INVALID_VALUE\0PROVKIT_ERR_DECODE_OUTSIDE_PROFILE\0\
      PROVKIT_ERR_DECODE_INVALID_POINT\0PROVKIT_ERR_DECODE_OTHER\0\
      PROVKIT_ERR_CERT_NOT_YET_VALID\0PROVKIT_ERR_CERT_EXPIRED\0\
      PROVKIT_ERR_CERT_ISSUER_MISMATCH\0PROVKIT_ERR_CERT_NOT_A_CA\0\
      PROVKIT_ERR_CERT_PATH_TOO_LONG\0PROVKIT_ERR_CERT_USAGE_NOT_ALLOWED\0\
      PROVKIT_ERR_CERT_UNREPRESENTABLE\0PROVKIT_ERR_CERT_UNKNOWN_CRITICAL_EXTENSION\0\
      PROVKIT_ERR_CERT_KEY_MISMATCH\0PROVKIT_ERR_CERT_OTHER\0\
      PROVKIT_ERR_STORE_NOT_FOUND\0PROVKIT_ERR_STORE_ALREADY_EXISTS\0\
      PROVKIT_ERR_STORE_WRONG_KEY_KIND\0PROVKIT_ERR_STORE_FULL\0\
      PROVKIT_ERR_STORE_RECORD_TOO_LARGE\0PROVKIT_ERR_STORE_BACKEND\0\
      PROVKIT_ERR_STORE_CORRUPT\0PROVKIT_ERR_STORE_OTHER\0\
      PROVKIT_ERR_DUKPT_INVALID_COUNTER\0PROVKIT_ERR_DUKPT_KSN_MISMATCH\0\
      PROVKIT_ERR_DUKPT_EXHAUSTED\0PROVKIT_ERR_DUKPT_KEY_TOO_STRONG\0\
      PROVKIT_ERR_DUKPT_WRONG_KEY_USAGE\0PROVKIT_ERR_DUKPT_INVALID_PIN\0\
      PROVKIT_ERR_DUKPT_INVALID_PAN\0PROVKIT_ERR_DUKPT_OTHER\0\
      PROVKIT_ERR_HANDSHAKE_REFLECTION\0PROVKIT_ERR_HANDSHAKE_REVOKED\0\
      PROVKIT_ERR_HANDSHAKE_PEER_NOT_PINNED\0\
      PROVKIT_ERR_HANDSHAKE_CREDENTIAL_MISMATCH\0\
      PROVKIT_ERR_HANDSHAKE_SESSION_EXHAUSTED\0PROVKIT_ERR_HANDSHAKE_REPLAY\0\
      PROVKIT_ERR_HANDSHAKE_NOT_CONFIRMED\0PROVKIT_ERR_HANDSHAKE_OTHER\0\
      PROVKIT_ERR_ENVELOPE\0PROVKIT_UNKNOWN_STATUS\0";

/// The name of a status code (`"PROVKIT_ERR_DECODE_TRUNCATED"`), as a NUL-terminated
/// static string; `"PROVKIT_UNKNOWN_STATUS"` for a value that is no code. Never NULL.
#[unsafe(no_mangle)]
pub extern "C" fn provkit_status_name(status: i32) -> *const c_char {
    let at: usize = match status {
        0 => 0,
        1 => 11,
        2 => 36,
        3 => 65,
        4 => 94,
        5 => 118,
        6 => 142,
        7 => 165,
        8 => 183,
        9 => 207,
        100 => 226,
        101 => 255,
        102 => 288,
        103 => 322,
        104 => 356,
        105 => 391,
        106 => 424,
        107 => 459,
        199 => 492,
        200 => 517,
        201 => 548,
        202 => 573,
        203 => 606,
        204 => 632,
        205 => 663,
        206 => 698,
        207 => 731,
        208 => 775,
        299 => 805,
        300 => 828,
        301 => 856,
        302 => 889,
        303 => 922,
        304 => 945,
        305 => 980,
        306 => 1006,
        399 => 1032,
        400 => 1056,
        401 => 1090,
        402 => 1121,
        403 => 1149,
        404 => 1182,
        405 => 1216,
        406 => 1246,
        499 => 1276,
        500 => 1300,
        501 => 1333,
        502 => 1363,
        503 => 1401,
        504 => 1443,
        505 => 1483,
        506 => 1512,
        599 => 1548,
        600 => 1576,
        _ => 1597,
    };
    NAMES.as_ptr().wrapping_add(at).cast()
}

impl From<Error> for provkit_status {
    fn from(e: Error) -> Self {
        use provkit_status as S;
        match e {
            Error::Crypto => S::PROVKIT_ERR_CRYPTO,
            Error::BufferTooSmall { .. } => S::PROVKIT_ERR_BUFFER_TOO_SMALL,
            Error::Unsupported => S::PROVKIT_ERR_UNSUPPORTED,
            Error::Decode(d) => match d.kind {
                DecodeErrorKind::Truncated => S::PROVKIT_ERR_DECODE_TRUNCATED,
                DecodeErrorKind::TrailingData => S::PROVKIT_ERR_DECODE_TRAILING_DATA,
                DecodeErrorKind::UnexpectedTag => S::PROVKIT_ERR_DECODE_UNEXPECTED_TAG,
                DecodeErrorKind::InvalidLength => S::PROVKIT_ERR_DECODE_INVALID_LENGTH,
                DecodeErrorKind::UnknownVersion => S::PROVKIT_ERR_DECODE_UNKNOWN_VERSION,
                DecodeErrorKind::InvalidValue => S::PROVKIT_ERR_DECODE_INVALID_VALUE,
                DecodeErrorKind::OutsideProfile => S::PROVKIT_ERR_DECODE_OUTSIDE_PROFILE,
                DecodeErrorKind::InvalidPoint => S::PROVKIT_ERR_DECODE_INVALID_POINT,
                _ => S::PROVKIT_ERR_DECODE_OTHER,
            },
            Error::Cert(c) => match c {
                CertError::NotYetValid => S::PROVKIT_ERR_CERT_NOT_YET_VALID,
                CertError::Expired => S::PROVKIT_ERR_CERT_EXPIRED,
                CertError::IssuerMismatch => S::PROVKIT_ERR_CERT_ISSUER_MISMATCH,
                CertError::NotACa => S::PROVKIT_ERR_CERT_NOT_A_CA,
                CertError::PathTooLong => S::PROVKIT_ERR_CERT_PATH_TOO_LONG,
                CertError::UsageNotAllowed => S::PROVKIT_ERR_CERT_USAGE_NOT_ALLOWED,
                CertError::Unrepresentable => S::PROVKIT_ERR_CERT_UNREPRESENTABLE,
                CertError::UnknownCriticalExtension => {
                    S::PROVKIT_ERR_CERT_UNKNOWN_CRITICAL_EXTENSION
                }
                CertError::KeyMismatch => S::PROVKIT_ERR_CERT_KEY_MISMATCH,
                _ => S::PROVKIT_ERR_CERT_OTHER,
            },
            Error::Store(s) => match s {
                StoreError::NotFound => S::PROVKIT_ERR_STORE_NOT_FOUND,
                StoreError::AlreadyExists => S::PROVKIT_ERR_STORE_ALREADY_EXISTS,
                StoreError::WrongKeyKind => S::PROVKIT_ERR_STORE_WRONG_KEY_KIND,
                StoreError::Full => S::PROVKIT_ERR_STORE_FULL,
                StoreError::RecordTooLarge => S::PROVKIT_ERR_STORE_RECORD_TOO_LARGE,
                StoreError::Backend(_) => S::PROVKIT_ERR_STORE_BACKEND,
                StoreError::Corrupt => S::PROVKIT_ERR_STORE_CORRUPT,
                _ => S::PROVKIT_ERR_STORE_OTHER,
            },
            Error::Dukpt(d) => match d {
                DukptError::InvalidCounter => S::PROVKIT_ERR_DUKPT_INVALID_COUNTER,
                DukptError::KsnMismatch => S::PROVKIT_ERR_DUKPT_KSN_MISMATCH,
                DukptError::Exhausted => S::PROVKIT_ERR_DUKPT_EXHAUSTED,
                DukptError::KeyTooStrong => S::PROVKIT_ERR_DUKPT_KEY_TOO_STRONG,
                DukptError::WrongKeyUsage => S::PROVKIT_ERR_DUKPT_WRONG_KEY_USAGE,
                DukptError::InvalidPin => S::PROVKIT_ERR_DUKPT_INVALID_PIN,
                DukptError::InvalidPan => S::PROVKIT_ERR_DUKPT_INVALID_PAN,
                _ => S::PROVKIT_ERR_DUKPT_OTHER,
            },
            Error::Handshake(h) => match h {
                HandshakeError::Reflection => S::PROVKIT_ERR_HANDSHAKE_REFLECTION,
                HandshakeError::Revoked => S::PROVKIT_ERR_HANDSHAKE_REVOKED,
                HandshakeError::PeerNotPinned => S::PROVKIT_ERR_HANDSHAKE_PEER_NOT_PINNED,
                HandshakeError::CredentialMismatch => S::PROVKIT_ERR_HANDSHAKE_CREDENTIAL_MISMATCH,
                HandshakeError::SessionExhausted => S::PROVKIT_ERR_HANDSHAKE_SESSION_EXHAUSTED,
                HandshakeError::Replay => S::PROVKIT_ERR_HANDSHAKE_REPLAY,
                HandshakeError::NotConfirmed => S::PROVKIT_ERR_HANDSHAKE_NOT_CONFIRMED,
                _ => S::PROVKIT_ERR_HANDSHAKE_OTHER,
            },
            Error::Envelope(_) => S::PROVKIT_ERR_ENVELOPE,
            // `Error` is non-exhaustive: an area newer than this list.
            _ => S::PROVKIT_ERR_UNSUPPORTED,
        }
    }
}

/// The provkit error a key-store callback's status stands for: a store error it names, or
/// `Store(Backend)` for anything else (a failed bus transfer, an unknown value).
pub(crate) fn callback_error(code: i32) -> Error {
    use provkit_status as S;
    let store = |e| Error::Store(e);
    match code {
        c if c == S::PROVKIT_ERR_STORE_NOT_FOUND as i32 => store(StoreError::NotFound),
        c if c == S::PROVKIT_ERR_STORE_ALREADY_EXISTS as i32 => store(StoreError::AlreadyExists),
        c if c == S::PROVKIT_ERR_STORE_WRONG_KEY_KIND as i32 => store(StoreError::WrongKeyKind),
        c if c == S::PROVKIT_ERR_STORE_FULL as i32 => store(StoreError::Full),
        c if c == S::PROVKIT_ERR_STORE_RECORD_TOO_LARGE as i32 => store(StoreError::RecordTooLarge),
        c if c == S::PROVKIT_ERR_STORE_CORRUPT as i32 => store(StoreError::Corrupt),
        c if c == S::PROVKIT_ERR_UNSUPPORTED as i32 => Error::Unsupported,
        c if c == S::PROVKIT_ERR_CRYPTO as i32 => Error::Crypto,
        _ => store(StoreError::Backend(provkit::error::BackendCause::SIGNER)),
    }
}
