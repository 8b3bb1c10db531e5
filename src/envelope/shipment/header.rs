//! The shipment header: fixed 226 bytes, signed by the manufacturer.

use crate::ec::EcdsaSignature;
use crate::ec::sha256_parts;
use crate::envelope::hpke::{ENC_LEN, FINGERPRINT_LEN, HpkeAead, KDF_ID, KEM_ID, TAG_LEN};
use crate::envelope::shipment::record::RECORD_LEN;
use crate::error::{DecodeErrorKind, Error, Result};

/// The file's first four bytes.
pub const MAGIC: [u8; 4] = *b"PKSH";
/// Shipment format version.
pub const SHIPMENT_VERSION: u8 = 1;
/// Length of the header.
pub const HEADER_LEN: usize = 226;
/// Length of the trailer (the manufacturer's signature over the transcript).
pub const TRAILER_LEN: usize = 64;
/// The largest number of records per chunk (bounds the reader's buffer:
/// 4096 × 56 + 16 bytes = 229,392 bytes).
pub const MAX_RECORDS_PER_CHUNK: u16 = 4096;

/// The AEAD of the HPKE context (AES-256-GCM).
pub(crate) const AEAD: HpkeAead = HpkeAead::Aes256Gcm;

pub(crate) const OFF_ENC: usize = 65;
pub(crate) const OFF_COMMIT: usize = 130;
pub(crate) const OFF_SIG: usize = 162;

const _: () = assert!(OFF_ENC + ENC_LEN == OFF_COMMIT);
const _: () = assert!(OFF_SIG + 64 == HEADER_LEN);

pub(crate) const INFO_LABEL: &[u8] = b"provkit shipment v1";
pub(crate) const COMMIT_LABEL: &[u8] = b"provkit shipment v1 commit";
const HEADER_SIG_LABEL: &[u8] = b"provkit shipment v1 header";
pub(crate) const TRANSCRIPT_LABEL: &[u8] = b"provkit shipment v1 transcript";

/// A parsed shipment header. The fields are what the manufacturer signed; nothing here
/// is trusted until [`ShipmentOpener::new`](super::ShipmentOpener::new) (or
/// [`audit_shipment`](super::audit_shipment)) has verified the signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShipmentHeader {
    /// Who made the file (assigned out of band; look up the signing key with it).
    pub manufacturer_id: [u8; 16],
    /// [`key_fingerprint`](crate::envelope::hpke::key_fingerprint) of the manufacturer's
    /// signing key.
    pub manufacturer_key: [u8; FINGERPRINT_LEN],
    /// [`key_fingerprint`](crate::envelope::hpke::key_fingerprint) of the recipient's HPKE
    /// key.
    pub recipient_key: [u8; FINGERPRINT_LEN],
    /// The batch: recipients refuse a batch id they have already imported.
    pub batch_id: [u8; 16],
    /// Number of device key records (at least 1).
    pub record_count: u32,
    /// Records per chunk (1 to [`MAX_RECORDS_PER_CHUNK`]); the last chunk may hold fewer.
    pub records_per_chunk: u16,
    pub(crate) raw: [u8; HEADER_LEN],
}

impl ShipmentHeader {
    /// Parses exactly [`HEADER_LEN`] bytes.
    ///
    /// # Errors
    /// `Decode`: `Truncated` / `TrailingData` for another length; `UnexpectedTag` for a
    /// wrong magic; `UnknownVersion` at 4; `InvalidValue` for unsupported suite ids (5, 7,
    /// 9), a record count of 0 (59) or a chunk size out of range (63); `InvalidPoint` for an
    /// `enc` that is not uncompressed (65).
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let raw: [u8; HEADER_LEN] = match bytes.len() {
            n if n < HEADER_LEN => return Err(Error::decode(DecodeErrorKind::Truncated, n)),
            n if n > HEADER_LEN => {
                return Err(Error::decode(DecodeErrorKind::TrailingData, HEADER_LEN));
            }
            _ => bytes
                .first_chunk::<HEADER_LEN>()
                .copied()
                .ok_or(Error::decode(DecodeErrorKind::Truncated, 0))?,
        };
        let r = Reader(&raw);
        if r.array::<4>(0) != MAGIC {
            return Err(Error::decode(DecodeErrorKind::UnexpectedTag, 0));
        }
        if r.array::<1>(4) != [SHIPMENT_VERSION] {
            return Err(Error::decode(DecodeErrorKind::UnknownVersion, 4));
        }
        for (at, want) in [(5, KEM_ID), (7, KDF_ID), (9, AEAD.id())] {
            if u16::from_be_bytes(r.array(at)) != want {
                return Err(Error::decode(DecodeErrorKind::InvalidValue, at));
            }
        }
        let record_count = u32::from_be_bytes(r.array(59));
        if record_count == 0 {
            return Err(Error::decode(DecodeErrorKind::InvalidValue, 59));
        }
        let records_per_chunk = u16::from_be_bytes(r.array(63));
        if records_per_chunk == 0 || records_per_chunk > MAX_RECORDS_PER_CHUNK {
            return Err(Error::decode(DecodeErrorKind::InvalidValue, 63));
        }
        if r.array::<1>(OFF_ENC) != [0x04] {
            return Err(Error::decode(DecodeErrorKind::InvalidPoint, OFF_ENC));
        }
        Ok(Self {
            manufacturer_id: r.array(11),
            manufacturer_key: r.array(27),
            recipient_key: r.array(35),
            batch_id: r.array(43),
            record_count,
            records_per_chunk,
            raw,
        })
    }

    /// The header's bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &[u8; HEADER_LEN] {
        &self.raw
    }

    /// Number of chunks: ⌈record count / records per chunk⌉.
    #[must_use]
    pub const fn chunk_count(&self) -> u32 {
        self.record_count.div_ceil(self.records_per_chunk as u32)
    }

    /// Records in chunk `index` (0 past the end).
    #[must_use]
    pub fn chunk_records(&self, index: u32) -> u16 {
        let per = u32::from(self.records_per_chunk);
        let start = u64::from(index) * u64::from(per);
        let left = u64::from(self.record_count).saturating_sub(start);
        u16::try_from(left.min(u64::from(per))).unwrap_or(0)
    }

    /// Length in bytes of chunk `index` on the wire (records × 56 + 16; 0 past the end).
    #[must_use]
    pub fn chunk_len(&self, index: u32) -> usize {
        match self.chunk_records(index) {
            0 => 0,
            n => usize::from(n) * RECORD_LEN + TAG_LEN,
        }
    }

    /// The buffer a reader needs for one chunk.
    #[must_use]
    pub fn max_chunk_len(&self) -> usize {
        chunk_buffer_len(self.records_per_chunk)
    }

    /// Length of the whole file: header, chunks, trailer.
    #[must_use]
    pub fn file_len(&self) -> u64 {
        let records = u64::from(self.record_count) * RECORD_LEN as u64;
        let tags = u64::from(self.chunk_count()) * TAG_LEN as u64;
        HEADER_LEN as u64 + records + tags + TRAILER_LEN as u64
    }

    pub(crate) fn enc(&self) -> [u8; ENC_LEN] {
        Reader(&self.raw).array(OFF_ENC)
    }

    pub(crate) fn commitment(&self) -> [u8; 32] {
        Reader(&self.raw).array(OFF_COMMIT)
    }

    pub(crate) fn signature(&self) -> EcdsaSignature {
        EcdsaSignature(Reader(&self.raw).array(OFF_SIG))
    }
}

/// The buffer a writer or reader needs for chunks of `records_per_chunk` records.
#[must_use]
pub const fn chunk_buffer_len(records_per_chunk: u16) -> usize {
    records_per_chunk as usize * RECORD_LEN + TAG_LEN
}

/// The digest the header signature covers: SHA-256 over a label and bytes 0..162.
pub(crate) fn header_digest(raw: &[u8; HEADER_LEN]) -> [u8; 32] {
    sha256_parts(&[HEADER_SIG_LABEL, raw.get(..OFF_SIG).unwrap_or(&[])])
}

/// HPKE `info`: a label and header bytes 0..65 (everything before `enc`).
pub(crate) fn hpke_info(raw: &[u8; HEADER_LEN]) -> [u8; INFO_LABEL.len() + OFF_ENC] {
    let mut out = [0u8; INFO_LABEL.len() + OFF_ENC];
    let (l, h) = out.split_at_mut(INFO_LABEL.len());
    l.copy_from_slice(INFO_LABEL);
    if let Some(src) = raw.get(..OFF_ENC) {
        h.copy_from_slice(src);
    }
    out
}

/// Chunk AAD: index (u32) ‖ final flag (u8) ‖ records in the chunk (u16).
pub(crate) fn chunk_aad(index: u32, is_final: bool, records: u16) -> [u8; 7] {
    let [a, b, c, d] = index.to_be_bytes();
    let [e, f] = records.to_be_bytes();
    [a, b, c, d, u8::from(is_final), e, f]
}

struct Reader<'a>(&'a [u8; HEADER_LEN]);

impl Reader<'_> {
    fn array<const L: usize>(&self, at: usize) -> [u8; L] {
        self.0
            .get(at..)
            .and_then(|s| s.first_chunk::<L>())
            .copied()
            .unwrap_or([0; L])
    }
}
