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
use crate::ec::{COMPRESSED_LEN, EcPublicKey, EcdsaSignature, SIGNATURE_LEN};
use crate::error::{DecodeErrorKind, Error, Result};
use crate::handshake::key_schedule::{TAG_LEN, hash};

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
    hash(&[b"provkit kid", cert.as_bytes()])[0]
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

/// Parses a received compressed ephemeral point (validated on the curve).
pub(crate) fn parse_point(bytes: &[u8], at: usize) -> Result<EcPublicKey> {
    match bytes.first() {
        Some(0x02 | 0x03) if bytes.len() == COMPRESSED_LEN => EcPublicKey::from_sec1(bytes)
            .map_err(|_| Error::decode(DecodeErrorKind::InvalidPoint, at)),
        _ => Err(Error::decode(DecodeErrorKind::InvalidPoint, at)),
    }
}
