//! Wire layouts of the three handshake messages and of credentials.
//!
//! ```text
//! message_1 = version (1) || X (33, compressed ephemeral point)
//! message_2 = Y (33) || AEAD_K2( credential_R || signature_R (64) ) || tag (16)
//! message_3 =           AEAD_K3( credential_I || signature_I (64) ) || tag (16)
//! credential = 0x00 || compact certificate (111)      by value
//!            | 0x01 || kid (1)                        by reference
//! ```
//!
//! Full layouts, the key schedule and the security argument: `docs/handshake.md`.

use crate::cert::{COMPACT_LEN, CompactCert};
use crate::ec::sha256_parts;
use crate::ec::{COMPRESSED_LEN, EcPublicKey, EcdsaSignature, SIGNATURE_LEN};
use crate::error::{DecodeErrorKind, Error, Result};
use crate::handshake::key_schedule::TAG_LEN;
use crate::provider::CryptoProvider;

/// Protocol version carried in message 1.
pub const VERSION: u8 = 1;
/// Length of message 1.
pub const MSG1_LEN: usize = 1 + COMPRESSED_LEN;
/// Longest message 2 (credential by value).
pub const MAX_MSG2_LEN: usize = COMPRESSED_LEN + MAX_PLAINTEXT_LEN + TAG_LEN;
/// Longest message 3 (credential by value).
pub const MAX_MSG3_LEN: usize = MAX_PLAINTEXT_LEN + TAG_LEN;

const TAG_BY_VALUE: u8 = 0x00;
const TAG_BY_REFERENCE: u8 = 0x01;
const MAX_PLAINTEXT_LEN: usize = 1 + COMPACT_LEN + SIGNATURE_LEN;

/// How a party presents its certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialMode {
    /// Send the whole compact certificate (first contact).
    ByValue,
    /// Send only its 1-byte key id: the peer already holds the certificate (e.g. paired).
    ByReference,
}

impl CredentialMode {
    const fn credential_len(self) -> usize {
        match self {
            Self::ByValue => 1 + COMPACT_LEN,
            Self::ByReference => 2,
        }
    }

    /// Length of message 2 for a responder using this mode.
    #[must_use]
    pub const fn msg2_len(self) -> usize {
        COMPRESSED_LEN + self.credential_len() + SIGNATURE_LEN + TAG_LEN
    }

    /// Length of message 3 for an initiator using this mode.
    #[must_use]
    pub const fn msg3_len(self) -> usize {
        self.credential_len() + SIGNATURE_LEN + TAG_LEN
    }
}

/// What the peer said about its certificate. Resolve a reference (look up the pinned
/// certificate with that kid) before verifying.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeerCredential {
    /// The peer sent its compact certificate.
    ByValue([u8; COMPACT_LEN]),
    /// The peer sent the kid of a certificate this side should already hold.
    ByReference(u8),
}

impl PeerCredential {
    /// Whether `cert` is the certificate this credential designates.
    #[must_use]
    pub fn matches(&self, cert: &CompactCert<'_>) -> bool {
        match self {
            Self::ByValue(bytes) => bytes == cert.as_bytes(),
            Self::ByReference(k) => *k == kid(cert),
        }
    }
}

/// The 1-byte credential reference of a certificate: the first byte of
/// `SHA-256("provkit kid" || compact certificate)`. Not unique across a fleet; the
/// transcript and signatures always cover the full certificate it resolves to.
#[must_use]
pub fn kid(cert: &CompactCert<'_>) -> u8 {
    sha256_parts(&[b"provkit kid", cert.as_bytes()])[0]
}

/// Writes `credential || signature` for `mode` into the front of `out`; returns the length.
pub(crate) fn write_plaintext(
    mode: CredentialMode,
    cert: &CompactCert<'_>,
    signature: &EcdsaSignature,
    out: &mut [u8],
) -> Result<usize> {
    let mut tmp = [0u8; MAX_PLAINTEXT_LEN];
    let cred: &[u8] = match mode {
        CredentialMode::ByValue => {
            tmp[0] = TAG_BY_VALUE;
            tmp[1..1 + COMPACT_LEN].copy_from_slice(cert.as_bytes());
            &tmp[..1 + COMPACT_LEN]
        }
        CredentialMode::ByReference => {
            tmp[0] = TAG_BY_REFERENCE;
            tmp[1] = kid(cert);
            &tmp[..2]
        }
    };
    let len = cred.len() + SIGNATURE_LEN;
    let dst = out.get_mut(..len).ok_or(Error::buffer_too_small(len))?;
    let (c, s) = dst.split_at_mut(cred.len());
    c.copy_from_slice(cred);
    s.copy_from_slice(&signature.0);
    Ok(len)
}

/// Parses a decrypted `credential || signature`, consuming all of it. `base` is the
/// plaintext's offset in its message, for error offsets.
pub(crate) fn parse_plaintext(
    plain: &[u8],
    base: usize,
) -> Result<(PeerCredential, EcdsaSignature)> {
    let (cred, rest) = match plain.split_first() {
        Some((&TAG_BY_VALUE, rest)) => {
            let bytes: [u8; COMPACT_LEN] = rest
                .get(..COMPACT_LEN)
                .and_then(|b| b.try_into().ok())
                .ok_or(Error::decode(
                    DecodeErrorKind::Truncated,
                    base + plain.len(),
                ))?;
            (
                PeerCredential::ByValue(bytes),
                rest.get(COMPACT_LEN..).unwrap_or(&[]),
            )
        }
        Some((&TAG_BY_REFERENCE, rest)) => {
            let (&k, rest) = rest.split_first().ok_or(Error::decode(
                DecodeErrorKind::Truncated,
                base + plain.len(),
            ))?;
            (PeerCredential::ByReference(k), rest)
        }
        Some(_) => return Err(Error::decode(DecodeErrorKind::UnexpectedTag, base)),
        None => return Err(Error::decode(DecodeErrorKind::Truncated, base)),
    };
    let sig: [u8; SIGNATURE_LEN] = rest.try_into().map_err(|_| {
        let at = base + plain.len() - rest.len();
        if rest.len() < SIGNATURE_LEN {
            Error::decode(DecodeErrorKind::Truncated, at)
        } else {
            Error::decode(DecodeErrorKind::TrailingData, at + SIGNATURE_LEN)
        }
    })?;
    Ok((cred, EcdsaSignature(sig)))
}

/// Parses a received compressed ephemeral point (decompressed on the provider `P`,
/// validated on the curve).
pub(crate) fn parse_point<P: CryptoProvider>(bytes: &[u8], at: usize) -> Result<EcPublicKey> {
    match bytes.first() {
        Some(0x02 | 0x03) if bytes.len() == COMPRESSED_LEN => P::p256_parse_public(bytes)
            .map_err(|_| Error::decode(DecodeErrorKind::InvalidPoint, at)),
        _ => Err(Error::decode(DecodeErrorKind::InvalidPoint, at)),
    }
}

#[cfg(test)]
mod tests {
    //! `parse_plaintext` and `write_plaintext` directly: a malicious peer holds the
    //! handshake keys and can encrypt any plaintext, but the integration tests can only
    //! produce honest ones. Each test names the mutants it kills (`docs/testing.md`).

    use super::*;
    use crate::error::DecodeError;

    /// Offset of message 2's plaintext, so that `base + x` and `base - x` differ.
    const BASE: usize = COMPRESSED_LEN;

    fn cert_bytes() -> [u8; COMPACT_LEN] {
        let mut c = [0u8; COMPACT_LEN];
        c[0] = 0x10; // version 1, sign-only, even y
        c[1..9].copy_from_slice(&0x1234u64.to_be_bytes());
        for (i, b) in c[9..].iter_mut().enumerate() {
            *b = u8::try_from(i).unwrap();
        }
        c
    }

    fn err(kind: DecodeErrorKind, at: usize) -> Error {
        Error::decode(kind, at)
    }

    fn kind_at(e: &Error) -> (DecodeErrorKind, usize) {
        match e {
            Error::Decode(DecodeError { kind, offset }) => (*kind, offset.get()),
            other => panic!("not a decode error: {other:?}"),
        }
    }

    /// Kills `write_plaintext -> Ok(0)/Ok(1)`, the `+` mutants of its by-value copy and
    /// `len`, and `parse_plaintext -> Ok(default)`: both credential forms round-trip
    /// byte-exactly, with the documented layouts.
    #[test]
    fn plaintexts_round_trip_in_both_modes() {
        let raw = cert_bytes();
        let cert = CompactCert::parse(&raw).unwrap();
        let sig = EcdsaSignature([0xA5; SIGNATURE_LEN]);
        let mut out = [0u8; MAX_PLAINTEXT_LEN + 4];

        let n = write_plaintext(CredentialMode::ByValue, &cert, &sig, &mut out).unwrap();
        assert_eq!(n, 1 + COMPACT_LEN + SIGNATURE_LEN);
        assert_eq!(out[0], TAG_BY_VALUE);
        assert_eq!(out[1..1 + COMPACT_LEN], raw);
        assert_eq!(out[1 + COMPACT_LEN..n], sig.0);
        let (cred, s) = parse_plaintext(&out[..n], BASE).unwrap();
        assert_eq!(cred, PeerCredential::ByValue(raw));
        assert_eq!(s.0, sig.0);
        assert!(cred.matches(&cert));

        let n = write_plaintext(CredentialMode::ByReference, &cert, &sig, &mut out).unwrap();
        assert_eq!(n, 2 + SIGNATURE_LEN);
        assert_eq!(out[..2], [TAG_BY_REFERENCE, kid(&cert)]);
        assert_eq!(out[2..n], sig.0);
        let (cred, s) = parse_plaintext(&out[..n], BASE).unwrap();
        assert_eq!(cred, PeerCredential::ByReference(kid(&cert)));
        assert_eq!(s.0, sig.0);
        assert!(cred.matches(&cert));

        // Too small an output: the exact size needed, nothing written past it.
        for (mode, needed) in [
            (CredentialMode::ByValue, 1 + COMPACT_LEN + SIGNATURE_LEN),
            (CredentialMode::ByReference, 2 + SIGNATURE_LEN),
        ] {
            assert_eq!(
                write_plaintext(mode, &cert, &sig, &mut out[..needed - 1]),
                Err(Error::buffer_too_small(needed))
            );
        }
    }

    /// Kills the offset mutants of `parse_plaintext` (`base + plain.len()` -> `-`/`*`,
    /// `base + plain.len() - rest.len()` -> `+`/`/`, `at + SIGNATURE_LEN` -> `-`/`*`) and
    /// `rest.len() < SIGNATURE_LEN` -> `==`/`>`/`<=`: every malformed plaintext gets the
    /// documented error kind at the offset where the problem is.
    #[test]
    fn malformed_plaintexts_report_kind_and_offset() {
        let raw = cert_bytes();
        // Each form with spare zero bytes after it, for the trailing-data cases.
        const V: usize = 1 + COMPACT_LEN + SIGNATURE_LEN;
        const R: usize = 2 + SIGNATURE_LEN;
        let mut by_value = [0u8; V + 1];
        by_value[0] = TAG_BY_VALUE;
        by_value[1..1 + COMPACT_LEN].copy_from_slice(&raw);
        by_value[1 + COMPACT_LEN..V].fill(7);
        let mut by_ref = [0u8; R + 9];
        by_ref[..2].copy_from_slice(&[TAG_BY_REFERENCE, 0x42]);
        by_ref[2..R].fill(7);

        use DecodeErrorKind::{TrailingData, Truncated, UnexpectedTag};
        let cases: [(&[u8], (DecodeErrorKind, usize)); 14] = [
            (&[], (Truncated, BASE)),
            (&[0x02], (UnexpectedTag, BASE)),
            (&[0xFF; 70], (UnexpectedTag, BASE)),
            // Certificate cut short: reported at the end of the plaintext.
            (&by_value[..1], (Truncated, BASE + 1)),
            (&by_value[..50], (Truncated, BASE + 50)),
            (&by_value[..COMPACT_LEN], (Truncated, BASE + COMPACT_LEN)),
            // Signature short by one, empty, or one byte long: at the signature's start.
            (&by_value[..V - 1], (Truncated, BASE + 1 + COMPACT_LEN)),
            (
                &by_value[..1 + COMPACT_LEN],
                (Truncated, BASE + 1 + COMPACT_LEN),
            ),
            (
                &by_value[..2 + COMPACT_LEN],
                (Truncated, BASE + 1 + COMPACT_LEN),
            ),
            (&by_ref[..1], (Truncated, BASE + 1)),
            (&by_ref[..2], (Truncated, BASE + 2)),
            (&by_ref[..R - 1], (Truncated, BASE + 2)),
            // Too many bytes: at the byte after the signature.
            (&by_value[..V + 1], (TrailingData, BASE + V)),
            (&by_ref[..R + 9], (TrailingData, BASE + R)),
        ];
        for (plain, want) in cases {
            let e = parse_plaintext(plain, BASE).unwrap_err();
            assert_eq!(kind_at(&e), want, "{}-byte plaintext", plain.len());
            assert_eq!(e, err(want.0, want.1));
        }
        assert!(parse_plaintext(&by_value[..V], BASE).is_ok());
        assert!(parse_plaintext(&by_ref[..R], 0).is_ok());
    }

    /// Kills `parse_point`'s guard `bytes.len() == COMPRESSED_LEN` -> `true` and `==` ->
    /// `!=`: a point with the right prefix but a wrong length is `InvalidPoint` at the
    /// given offset, not a panic or a parse of a prefix.
    #[test]
    fn points_of_the_wrong_length_or_prefix_are_invalid() {
        // The P-256 generator, compressed.
        let g: [u8; COMPRESSED_LEN] = [
            0x03, 0x6B, 0x17, 0xD1, 0xF2, 0xE1, 0x2C, 0x42, 0x47, 0xF8, 0xBC, 0xE6, 0xE5, 0x63,
            0xA4, 0x40, 0xF2, 0x77, 0x03, 0x7D, 0x81, 0x2D, 0xEB, 0x33, 0xA0, 0xF4, 0xA1, 0x39,
            0x45, 0xD8, 0x98, 0xC2, 0x96,
        ];
        assert!(parse_point::<crate::provider::RustCrypto>(&g, 1).is_ok());
        let invalid = |b: &[u8]| {
            parse_point::<crate::provider::RustCrypto>(b, 1)
                .map(|_| ())
                .map_err(|e| kind_at(&e))
        };
        let mut long = [0u8; COMPRESSED_LEN + 1];
        long[..COMPRESSED_LEN].copy_from_slice(&g);
        for bad in [&g[..32], &long[..], &[][..], &[0x03][..]] {
            assert_eq!(invalid(bad), Err((DecodeErrorKind::InvalidPoint, 1)));
        }
        let mut wrong_prefix = g;
        for p in [0x00, 0x04, 0x05] {
            wrong_prefix[0] = p;
            assert_eq!(
                invalid(&wrong_prefix),
                Err((DecodeErrorKind::InvalidPoint, 1))
            );
        }
    }

    /// Kills `+` -> `*` in the `MAX_PLAINTEXT_LEN`, `MAX_MSG2_LEN` and `MAX_MSG3_LEN`
    /// constants (callers size their buffers with them): the maxima are the by-value
    /// lengths of `docs/handshake.md`, 225 and 192 bytes.
    #[test]
    fn maximum_lengths_are_the_by_value_lengths() {
        assert_eq!(MAX_PLAINTEXT_LEN, 176);
        assert_eq!(MAX_MSG2_LEN, CredentialMode::ByValue.msg2_len());
        assert_eq!(MAX_MSG3_LEN, CredentialMode::ByValue.msg3_len());
        assert_eq!((MAX_MSG2_LEN, MAX_MSG3_LEN), (225, 192));
        assert_eq!(CredentialMode::ByReference.msg2_len(), 115);
        assert_eq!(CredentialMode::ByReference.msg3_len(), 82);
        assert_eq!(MSG1_LEN, 34);
    }

    /// Kills `PeerCredential::matches -> true/false` and its `==` -> `!=`, and
    /// `kid -> 0/1`: a credential matches its own certificate only, and the kid is the
    /// documented hash byte.
    #[test]
    fn credentials_match_only_their_certificate() {
        let raw = cert_bytes();
        let mut other_raw = raw;
        other_raw[60] ^= 1;
        let cert = CompactCert::parse(&raw).unwrap();
        let other = CompactCert::parse(&other_raw).unwrap();
        assert_eq!(kid(&cert), sha256_parts(&[b"provkit kid", &raw])[0]);
        assert_ne!(kid(&cert), kid(&other), "these two differ in their kid");
        let v = PeerCredential::ByValue(raw);
        let r = PeerCredential::ByReference(kid(&cert));
        assert!(v.matches(&cert) && r.matches(&cert));
        assert!(!v.matches(&other) && !r.matches(&other));
    }
}
