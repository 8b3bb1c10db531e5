//! Device key records: what a shipment carries, and what the reader hands back.

use crate::envelope::kcv::Kcv;
use crate::envelope::kek::KekRef;
use crate::error::{DecodeErrorKind, Error, Result};
use crate::secret::{SecretBuf, SecretBytes};
use crate::store::{KeyKind, WrapAlgorithm};
use core::fmt;

/// Length of a record on the wire (inside the encryption).
pub const RECORD_LEN: usize = 56;
/// The longest wrapped key a [`WrappedKey`] holds (a 32-byte key under AES-KW/KWP).
pub const MAX_WRAPPED_LEN: usize = 40;

/// What a key may be used for: a two-character ASCII code in the style of TR-31 /
/// ANSI X9.143 key usage, bound into the shipment's authenticated encryption.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyUsageCode(pub [u8; 2]);

impl KeyUsageCode {
    /// `K0`: key-encryption (wrapping) key.
    pub const KEY_ENCRYPTION: Self = Self(*b"K0");
    /// `B0`: base derivation key (DUKPT BDK).
    pub const BASE_DERIVATION: Self = Self(*b"B0");
    /// `B1`: initial DUKPT key (IK / IPEK).
    pub const INITIAL_DUKPT: Self = Self(*b"B1");
    /// `D0`: data encryption.
    pub const DATA_ENCRYPTION: Self = Self(*b"D0");
    /// `P0`: PIN encryption.
    pub const PIN_ENCRYPTION: Self = Self(*b"P0");
    /// `M6`: MAC (AES-CMAC).
    pub const MAC_CMAC: Self = Self(*b"M6");
}

impl fmt::Debug for KeyUsageCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b] = self.0;
        if a.is_ascii_graphic() && b.is_ascii_graphic() {
            write!(f, "KeyUsageCode({}{})", char::from(a), char::from(b))
        } else {
            write!(f, "KeyUsageCode({a:02x}{b:02x})")
        }
    }
}

/// One device key as the manufacturer ships it.
pub struct DeviceKeyRecord {
    serial: u64,
    key_id: u64,
    usage: KeyUsageCode,
    kind: KeyKind,
    key: SecretBuf<32>,
    kcv: Kcv,
}

impl fmt::Debug for DeviceKeyRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DeviceKeyRecord")
            .field("serial", &self.serial)
            .field("key_id", &self.key_id)
            .field("usage", &self.usage)
            .field("kind", &self.kind)
            .field("kcv", &self.kcv)
            .finish_non_exhaustive()
    }
}

impl DeviceKeyRecord {
    /// A record for the AES key `key` (16, 24 or 32 bytes) of device `serial`; its KCV is
    /// computed here.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a key that is not an AES key length.
    pub fn new(serial: u64, key_id: u64, usage: KeyUsageCode, key: &SecretBuf<32>) -> Result<Self> {
        let kind = KeyKind::aes_for_len(key.len()).ok_or(Error::Unsupported)?;
        let key = SecretBuf::from_slice(key.expose())?;
        let kcv = Kcv::of_key(&key)?;
        Ok(Self {
            serial,
            key_id,
            usage,
            kind,
            key,
            kcv,
        })
    }

    /// A record with a fresh random AES key of `kind`.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a `kind` that is not AES.
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(
        serial: u64,
        key_id: u64,
        usage: KeyUsageCode,
        kind: KeyKind,
        rng: &mut R,
    ) -> Result<Self> {
        let len = match kind {
            KeyKind::Aes128 | KeyKind::Aes192 | KeyKind::Aes256 => kind.key_len(),
            _ => return Err(Error::Unsupported),
        };
        let random = SecretBytes::<32>::random(rng);
        let key = SecretBuf::from_slice(random.expose().get(..len).ok_or(Error::Unsupported)?)?;
        Self::new(serial, key_id, usage, &key)
    }

    /// The device serial.
    #[must_use]
    pub const fn serial(&self) -> u64 {
        self.serial
    }

    /// The manufacturer's key identifier.
    #[must_use]
    pub const fn key_id(&self) -> u64 {
        self.key_id
    }

    /// The key usage.
    #[must_use]
    pub const fn usage(&self) -> KeyUsageCode {
        self.usage
    }

    /// The key type.
    #[must_use]
    pub const fn kind(&self) -> KeyKind {
        self.kind
    }

    /// The key check value (X9.24 AES-CMAC, 5 bytes).
    #[must_use]
    pub const fn kcv(&self) -> Kcv {
        self.kcv
    }

    /// Writes the 56-byte wire form.
    pub(crate) fn encode(&self, out: &mut [u8; RECORD_LEN]) -> Result<()> {
        let (serial, rest) = out.split_at_mut(8);
        serial.copy_from_slice(&self.serial.to_be_bytes());
        let (key_id, rest) = rest.split_at_mut(8);
        key_id.copy_from_slice(&self.key_id.to_be_bytes());
        let (usage, rest) = rest.split_at_mut(2);
        usage.copy_from_slice(&self.usage.0);
        let (kind, rest) = rest.split_at_mut(1);
        kind.copy_from_slice(&[kind_byte(self.kind)?]);
        let (kcv, key) = rest.split_at_mut(5);
        kcv.copy_from_slice(&self.kcv.0);
        key.fill(0);
        key.get_mut(..self.key.len())
            .ok_or(Error::Unsupported)?
            .copy_from_slice(self.key.expose());
        Ok(())
    }
}

/// A record's fields as decoded from plaintext; `key` borrows the decrypted chunk.
pub(crate) struct DecodedRecord<'a> {
    pub(crate) serial: u64,
    pub(crate) key_id: u64,
    pub(crate) usage: KeyUsageCode,
    pub(crate) kind: KeyKind,
    pub(crate) kcv: Kcv,
    pub(crate) key: &'a [u8],
}

/// Parses a 56-byte record; `base` is its offset for error reporting. The key padding
/// must be zero.
pub(crate) fn decode(r: &[u8; RECORD_LEN], base: usize) -> Result<DecodedRecord<'_>> {
    let (serial, rest) = r.split_first_chunk::<8>().ok_or(Error::Unsupported)?;
    let (key_id, rest) = rest.split_first_chunk::<8>().ok_or(Error::Unsupported)?;
    let (usage, rest) = rest.split_first_chunk::<2>().ok_or(Error::Unsupported)?;
    let (kind, rest) = rest.split_first().ok_or(Error::Unsupported)?;
    let (kcv, key) = rest.split_first_chunk::<5>().ok_or(Error::Unsupported)?;
    let kind =
        kind_from_byte(*kind).ok_or(Error::decode(DecodeErrorKind::InvalidValue, base + 18))?;
    let (key, padding) = key
        .split_at_checked(kind.key_len())
        .ok_or(Error::Unsupported)?;
    if padding.iter().any(|b| *b != 0) {
        return Err(Error::decode(DecodeErrorKind::InvalidValue, base + 24));
    }
    Ok(DecodedRecord {
        serial: u64::from_be_bytes(*serial),
        key_id: u64::from_be_bytes(*key_id),
        usage: KeyUsageCode(*usage),
        kind,
        kcv: Kcv(*kcv),
        key,
    })
}

fn kind_byte(kind: KeyKind) -> Result<u8> {
    match kind {
        KeyKind::Aes128 => Ok(0x01),
        KeyKind::Aes192 => Ok(0x02),
        KeyKind::Aes256 => Ok(0x03),
        _ => Err(Error::Unsupported),
    }
}

const fn kind_from_byte(b: u8) -> Option<KeyKind> {
    match b {
        0x01 => Some(KeyKind::Aes128),
        0x02 => Some(KeyKind::Aes192),
        0x03 => Some(KeyKind::Aes256),
        _ => None,
    }
}

/// Key material wrapped under a KEK (AES-KW or AES-KWP): safe to store in a database.
/// Unwrap it into a store with [`SymmetricKeys::unwrap_key`](crate::store::SymmetricKeys::unwrap_key).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct WrappedKey {
    /// The KEK version it is wrapped under.
    pub kek: KekRef,
    /// The wrap algorithm.
    pub alg: WrapAlgorithm,
    bytes: [u8; MAX_WRAPPED_LEN],
    len: usize,
}

impl WrappedKey {
    pub(crate) fn new(kek: KekRef, alg: WrapAlgorithm, wrapped: &[u8]) -> Result<Self> {
        let mut bytes = [0u8; MAX_WRAPPED_LEN];
        bytes
            .get_mut(..wrapped.len())
            .ok_or(Error::Unsupported)?
            .copy_from_slice(wrapped);
        Ok(Self {
            kek,
            alg,
            bytes,
            len: wrapped.len(),
        })
    }

    /// The wrapped bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or(&[])
    }
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WrappedKey")
            .field("kek", &self.kek)
            .field("alg", &self.alg)
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

/// A record as the shipment reader releases it: authenticated, KCV-checked, and its key
/// re-wrapped under the recipient's KEK. The plaintext key never leaves the reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OpenedRecord {
    /// The device serial.
    pub serial: u64,
    /// The manufacturer's key identifier.
    pub key_id: u64,
    /// The key usage.
    pub usage: KeyUsageCode,
    /// The key type.
    pub kind: KeyKind,
    /// The key check value, verified against the key.
    pub kcv: Kcv,
    /// The key, wrapped under the recipient's KEK.
    pub wrapped: WrappedKey,
}

#[cfg(test)]
mod tests {
    //! `decode` directly: only a manufacturer holding the shipment's keys can seal a
    //! malformed record, so the integration tests cannot reach these errors. Kills the
    //! offset mutants `base + 18` -> `*` and `base + 24` -> `-`/`*` (`docs/testing.md`).

    use super::*;

    fn record(kind: u8) -> [u8; RECORD_LEN] {
        let mut r = [0u8; RECORD_LEN];
        r[..8].copy_from_slice(&9u64.to_be_bytes());
        r[8..16].copy_from_slice(&10u64.to_be_bytes());
        r[16..18].copy_from_slice(b"D0");
        r[18] = kind;
        r[24..24 + 16].fill(0x42);
        r
    }

    #[test]
    fn bad_kind_and_nonzero_padding_are_reported_at_their_offset() {
        let base = 3 * RECORD_LEN;
        let good = record(0x01);
        let d = decode(&good, base).unwrap();
        assert_eq!((d.serial, d.key_id, d.kind), (9, 10, KeyKind::Aes128));
        assert_eq!(d.key, &[0x42; 16]);
        for bad in [0x00, 0x04, 0xFF] {
            assert_eq!(
                decode(&record(bad), base).err(),
                Some(Error::decode(DecodeErrorKind::InvalidValue, base + 18))
            );
        }
        let mut padded = record(0x01);
        padded[RECORD_LEN - 1] = 1;
        assert_eq!(
            decode(&padded, base).err(),
            Some(Error::decode(DecodeErrorKind::InvalidValue, base + 24))
        );
        // A 32-byte key leaves no padding; a 24-byte key's padding is checked too.
        assert!(decode(&record(0x03), 0).is_ok());
        let mut r = record(0x02);
        r[24 + 24] = 7;
        assert_eq!(
            decode(&r, 1).err(),
            Some(Error::decode(DecodeErrorKind::InvalidValue, 25))
        );
    }
}
