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
    /// The backing medium failed (flash, database, HSM); details are in the backend's log.
    Backend,
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
            Self::Backend => "key store backend failure",
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

impl core::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;
    extern crate std;

    const _: () = assert!(size_of::<Error>() == 4, "Error must fit one register");
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
}
