//! AES DUKPT key serial numbers: Initial Key ID (8 bytes) || transaction counter (4 bytes).

use super::counter::AES_RULE;
use crate::error::{DecodeErrorKind, Error, Result};
use core::fmt;

/// The Initial Key ID of an AES DUKPT device: BDK ID (4 bytes) || Derivation ID (4 bytes).
///
/// Not secret: it travels in every KSN.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InitialKeyId([u8; 8]);

impl InitialKeyId {
    /// Length in bytes.
    pub const LEN: usize = 8;

    /// Wraps the 8 bytes.
    #[must_use]
    pub const fn new(bytes: [u8; 8]) -> Self {
        Self(bytes)
    }

    /// Builds the IKID from its two halves.
    #[must_use]
    pub const fn from_parts(bdk_id: [u8; 4], derivation_id: [u8; 4]) -> Self {
        let [a, b, c, d] = bdk_id;
        let [e, f, g, h] = derivation_id;
        Self([a, b, c, d, e, f, g, h])
    }

    /// The 8 bytes.
    #[must_use]
    pub const fn to_bytes(self) -> [u8; 8] {
        self.0
    }

    /// The BDK ID: which base derivation key the device belongs to.
    #[must_use]
    pub const fn bdk_id(self) -> [u8; 4] {
        let [a, b, c, d, ..] = self.0;
        [a, b, c, d]
    }

    /// The Derivation ID: which device under that BDK. It is also the part of the IKID
    /// that appears in every non-initial derivation data block.
    #[must_use]
    pub const fn derivation_id(self) -> [u8; 4] {
        let [.., e, f, g, h] = self.0;
        [e, f, g, h]
    }
}

impl fmt::Debug for InitialKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InitialKeyId({self})")
    }
}

impl fmt::Display for InitialKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02X}"))
    }
}

/// An AES DUKPT key serial number: [`InitialKeyId`] || 32-bit big-endian transaction
/// counter (12 bytes).
///
/// Parsing accepts any counter; whether a counter may be used is decided where keys are
/// derived ([`InitialKey::transaction_key`](super::InitialKey::transaction_key) rejects
/// counter 0 and counters with more than 16 one-bits).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AesKsn {
    ikid: InitialKeyId,
    counter: u32,
}

impl AesKsn {
    /// Length of an encoded KSN in bytes.
    pub const LEN: usize = 12;

    /// The KSN for `counter` under `ikid`.
    #[must_use]
    pub const fn new(ikid: InitialKeyId, counter: u32) -> Self {
        Self { ikid, counter }
    }

    /// Decodes the 12-byte KSN.
    #[must_use]
    pub const fn from_bytes(bytes: &[u8; 12]) -> Self {
        let [a, b, c, d, e, f, g, h, w, x, y, z] = *bytes;
        Self {
            ikid: InitialKeyId([a, b, c, d, e, f, g, h]),
            counter: u32::from_be_bytes([w, x, y, z]),
        }
    }

    /// Decodes a KSN from a slice, which must be exactly 12 bytes.
    ///
    /// # Errors
    /// `Decode(InvalidLength)` for any other length (at offset `min(len, 12)`).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let arr: &[u8; 12] = bytes.try_into().map_err(|_| {
            Error::decode(DecodeErrorKind::InvalidLength, bytes.len().min(Self::LEN))
        })?;
        Ok(Self::from_bytes(arr))
    }

    /// The 12-byte encoding.
    #[must_use]
    pub const fn to_bytes(&self) -> [u8; 12] {
        let [a, b, c, d, e, f, g, h] = self.ikid.0;
        let [w, x, y, z] = self.counter.to_be_bytes();
        [a, b, c, d, e, f, g, h, w, x, y, z]
    }

    /// The Initial Key ID.
    #[must_use]
    pub const fn initial_key_id(&self) -> InitialKeyId {
        self.ikid
    }

    /// The transaction counter.
    #[must_use]
    pub const fn counter(&self) -> u32 {
        self.counter
    }

    /// True when an originating device may use this counter: not 0 and at most 16
    /// one-bits (which also bounds it by [`AES_LAST_COUNTER`](super::AES_LAST_COUNTER)).
    #[must_use]
    pub const fn is_valid(&self) -> bool {
        AES_RULE.is_valid(self.counter)
    }

    /// The KSN a device uses after this one: counter + 1, then while it has more than 16
    /// one-bits add its lowest set bit. `None` once the counter space is exhausted (after
    /// `FFFF0000`).
    #[must_use]
    pub const fn next(&self) -> Option<Self> {
        match AES_RULE.next(self.counter) {
            Some(counter) => Some(Self {
                ikid: self.ikid,
                counter,
            }),
            None => None,
        }
    }
}

impl fmt::Debug for AesKsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AesKsn({self})")
    }
}

impl fmt::Display for AesKsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{:08X}", self.ikid, self.counter)
    }
}
