//! The manufacturer's side: a streaming shipment writer with one chunk of memory.

use crate::ec::EcPublicKey;
use crate::envelope::hpke::{self, KDF_ID, KEM_ID, SenderContext, TAG_LEN, key_fingerprint};
use crate::envelope::shipment::header::{
    AEAD, COMMIT_LABEL, HEADER_LEN, MAGIC, MAX_RECORDS_PER_CHUNK, OFF_ENC, OFF_SIG,
    SHIPMENT_VERSION, TRAILER_LEN, TRANSCRIPT_LABEL, chunk_aad, chunk_buffer_len, header_digest,
    hpke_info,
};
use crate::envelope::shipment::record::{DeviceKeyRecord, RECORD_LEN};
use crate::error::{DecodeErrorKind, EnvelopeError, Error, Result};
use crate::store::{IdentityKeys, KeyId};
use core::fmt;
use sha2::Digest;
use zeroize::Zeroize;

/// What the manufacturer puts in a shipment header.
///
/// Built with [`new`](Self::new) and [`with_records_per_chunk`](Self::with_records_per_chunk)
/// (`#[non_exhaustive]`: more writer options may follow).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShipmentParams {
    /// The manufacturer's id (assigned out of band).
    pub manufacturer_id: [u8; 16],
    /// A batch id, unique per file.
    pub batch_id: [u8; 16],
    /// Exactly how many records will follow (at least 1).
    pub record_count: u32,
    /// Records per chunk (1 to 4096; 256 is a good default: 14 KiB chunks).
    pub records_per_chunk: u16,
}

impl ShipmentParams {
    /// A shipment of exactly `record_count` records from `manufacturer_id`, batch
    /// `batch_id`, in chunks of 256 records (14 KiB).
    #[must_use]
    pub const fn new(manufacturer_id: [u8; 16], batch_id: [u8; 16], record_count: u32) -> Self {
        Self {
            manufacturer_id,
            batch_id,
            record_count,
            records_per_chunk: 256,
        }
    }

    /// The same parameters with `records_per_chunk` records per chunk (1 to 4096).
    #[must_use]
    pub const fn with_records_per_chunk(mut self, records_per_chunk: u16) -> Self {
        self.records_per_chunk = records_per_chunk;
        self
    }
}

/// Writes a shipment file as a stream: the header at construction, then each chunk as it
/// fills, then the trailer. Holds one chunk of plaintext at a time, in a buffer the caller
/// lends ([`chunk_buffer_len`] bytes), which is zeroized on drop.
///
/// Records must come in strictly increasing serial order (the reader checks the same,
/// which makes duplicate serials detectable with constant memory).
pub struct ShipmentWriter<'b> {
    ctx: SenderContext,
    chunk: &'b mut [u8],
    signer: KeyId,
    record_count: u32,
    per_chunk: u16,
    in_chunk: u16,
    chunk_index: u32,
    written: u32,
    last_serial: Option<u64>,
    transcript: sha2::Sha256,
    failed: bool,
}

impl fmt::Debug for ShipmentWriter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShipmentWriter")
            .field("written", &self.written)
            .field("record_count", &self.record_count)
            .finish_non_exhaustive()
    }
}

impl Drop for ShipmentWriter<'_> {
    fn drop(&mut self) {
        self.chunk.zeroize();
    }
}

impl<'b> ShipmentWriter<'b> {
    /// Starts a shipment to `recipient`, signed by the manufacturer key `signer` in
    /// `store` (by handle). Returns the writer and the header bytes to write first.
    ///
    /// # Errors
    /// [`EnvelopeError::RecordCount`] for a record count of 0; `Decode(InvalidValue)` for
    /// a chunk size out of range; [`Error::BufferTooSmall`] when `chunk_buf` is shorter
    /// than [`chunk_buffer_len`]; store errors for `signer`.
    pub fn new<S: IdentityKeys + ?Sized, R: rand_core::CryptoRng + ?Sized>(
        store: &mut S,
        signer: KeyId,
        recipient: &EcPublicKey,
        params: &ShipmentParams,
        chunk_buf: &'b mut [u8],
        rng: &mut R,
    ) -> Result<(Self, [u8; HEADER_LEN])> {
        if params.record_count == 0 {
            return Err(EnvelopeError::RecordCount.into());
        }
        if params.records_per_chunk == 0 || params.records_per_chunk > MAX_RECORDS_PER_CHUNK {
            return Err(Error::decode(DecodeErrorKind::InvalidValue, 63));
        }
        let needed = chunk_buffer_len(params.records_per_chunk);
        if chunk_buf.len() < needed {
            return Err(Error::buffer_too_small(needed));
        }
        let signer_pk = store.public_key(signer)?;
        let mut raw = [0u8; HEADER_LEN];
        {
            let mut w = Writer(&mut raw, 0);
            w.put(&MAGIC);
            w.put(&[SHIPMENT_VERSION]);
            w.put(&KEM_ID.to_be_bytes());
            w.put(&KDF_ID.to_be_bytes());
            w.put(&AEAD.id().to_be_bytes());
            w.put(&params.manufacturer_id);
            w.put(&key_fingerprint(&signer_pk));
            w.put(&key_fingerprint(recipient));
            w.put(&params.batch_id);
            w.put(&params.record_count.to_be_bytes());
            w.put(&params.records_per_chunk.to_be_bytes());
            debug_assert_eq!(w.1, OFF_ENC);
        }
        let (enc, ctx) = hpke::setup_sender_base(recipient, AEAD, &hpke_info(&raw), rng)?;
        let mut commitment = [0u8; 32];
        ctx.export(COMMIT_LABEL, &mut commitment)?;
        {
            let mut w = Writer(&mut raw, OFF_ENC);
            w.put(&enc);
            w.put(&commitment);
            debug_assert_eq!(w.1, OFF_SIG);
        }
        let signature = crate::store::sign_low_s(store, signer, &header_digest(&raw))?;
        Writer(&mut raw, OFF_SIG).put(&signature.0);
        let mut transcript = sha2::Sha256::new();
        transcript.update(TRANSCRIPT_LABEL);
        transcript.update(raw);
        Ok((
            Self {
                ctx,
                chunk: chunk_buf,
                signer,
                record_count: params.record_count,
                per_chunk: params.records_per_chunk,
                in_chunk: 0,
                chunk_index: 0,
                written: 0,
                last_serial: None,
                transcript,
                failed: false,
            },
            raw,
        ))
    }

    /// Adds a record. Returns the sealed chunk to write out when this record completes
    /// one (the chunk borrows the writer's buffer until the next call).
    ///
    /// # Errors
    /// [`EnvelopeError::RecordCount`] past the declared count;
    /// [`EnvelopeError::RecordOrder`] when the serial is not above the previous one;
    /// [`EnvelopeError::StreamFinished`] after an earlier failure.
    pub fn push(&mut self, record: &DeviceKeyRecord) -> Result<Option<&[u8]>> {
        if self.failed {
            return Err(EnvelopeError::StreamFinished.into());
        }
        if self.written >= self.record_count {
            return Err(EnvelopeError::RecordCount.into());
        }
        if self.last_serial.is_some_and(|s| record.serial() <= s) {
            return Err(EnvelopeError::RecordOrder.into());
        }
        let at = usize::from(self.in_chunk) * RECORD_LEN;
        let slot = self
            .chunk
            .get_mut(at..)
            .and_then(|s| s.first_chunk_mut::<RECORD_LEN>())
            .ok_or(Error::Unsupported)?;
        record.encode(slot)?;
        self.last_serial = Some(record.serial());
        self.in_chunk += 1;
        self.written += 1;
        let is_final = self.written == self.record_count;
        if self.in_chunk < self.per_chunk && !is_final {
            return Ok(None);
        }
        match self.seal_chunk(is_final) {
            Ok(len) => Ok(self.chunk.get(..len)),
            Err(e) => {
                self.failed = true;
                self.chunk.zeroize();
                Err(e)
            }
        }
    }

    fn seal_chunk(&mut self, is_final: bool) -> Result<usize> {
        let records = self.in_chunk;
        let body_len = usize::from(records) * RECORD_LEN;
        let len = body_len + TAG_LEN;
        let (body, rest) = self
            .chunk
            .split_at_mut_checked(body_len)
            .ok_or(Error::Unsupported)?;
        let aad = chunk_aad(self.chunk_index, is_final, records);
        let tag = self.ctx.seal_in_place_detached(&aad, body)?;
        rest.get_mut(..TAG_LEN)
            .ok_or(Error::Unsupported)?
            .copy_from_slice(&tag);
        self.transcript
            .update(self.chunk.get(..len).ok_or(Error::Unsupported)?);
        self.chunk_index += 1;
        self.in_chunk = 0;
        Ok(len)
    }

    /// Completes the file: checks the record count and signs the transcript (the header
    /// and every chunk) with the manufacturer key, by handle. Returns the trailer.
    ///
    /// # Errors
    /// [`EnvelopeError::RecordCount`] when fewer records than declared were pushed;
    /// [`EnvelopeError::StreamFinished`] after an earlier failure; store errors.
    pub fn finish<S: IdentityKeys + ?Sized>(self, store: &mut S) -> Result<[u8; TRAILER_LEN]> {
        if self.failed {
            return Err(EnvelopeError::StreamFinished.into());
        }
        if self.written != self.record_count {
            return Err(EnvelopeError::RecordCount.into());
        }
        let digest: [u8; 32] = self.transcript.clone().finalize().into();
        Ok(crate::store::sign_low_s(store, self.signer, &digest)?.0)
    }
}

/// Sequential writes into the header array.
struct Writer<'a>(&'a mut [u8; HEADER_LEN], usize);

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) {
        if let Some(dst) = self.0.get_mut(self.1..self.1 + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
        self.1 += bytes.len();
    }
}

#[cfg(all(test, feature = "test-suite", feature = "alloc"))]
mod tests {
    //! A shipment with a malformed record inside an authentic chunk. Only a manufacturer
    //! holding the shipment's keys can make one ([`ShipmentWriter::push`] encodes every
    //! record it takes), so this test edits the writer's plaintext buffer before the chunk
    //! is sealed. Kills `i * RECORD_LEN` -> `i + RECORD_LEN` and `i / RECORD_LEN` in
    //! `ShipmentOpener::open_chunk_inner` (`docs/testing.md`): the error names the byte of
    //! the bad record inside the chunk, and the records before it were released.
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;
    use crate::envelope::shipment::{KeyUsageCode, ShipmentOpener, chunk_buffer_len};
    use crate::envelope::{KekId, KekRef, KekSlot, hpke};
    use crate::secret::SecretBuf;
    use crate::store::{KeyKind, MemoryStore, SymmetricKeys, WrapAlgorithm};
    use crate::testing::InsecureTestRng;
    use alloc::vec::Vec;

    #[test]
    fn a_malformed_record_in_an_authentic_chunk_is_reported_at_its_offset() {
        const PER_CHUNK: u16 = 4;
        const BAD: usize = 2;
        let mut manufacturer = MemoryStore::<2, 0, 0>::new();
        let mfr_pk = hpke::derive_key_pair(&mut manufacturer, KeyId(1), &[0x44; 32]).unwrap();
        let mut authority = MemoryStore::<2, 0, 0>::new();
        let auth_pk = hpke::derive_key_pair(&mut authority, KeyId(1), &[0x55; 32]).unwrap();
        authority
            .import_symmetric(KeyId(2), KeyKind::Aes256, &[0x66; 32])
            .unwrap();
        let params = ShipmentParams::new(*b"provkit test mfr", [9; 16], u32::from(PER_CHUNK))
            .with_records_per_chunk(PER_CHUNK);
        let mut buf = [0u8; chunk_buffer_len(PER_CHUNK)];
        let mut rng = InsecureTestRng::new(81);
        let (mut w, header) = ShipmentWriter::new(
            &mut manufacturer,
            KeyId(1),
            &auth_pk,
            &params,
            &mut buf,
            &mut rng,
        )
        .unwrap();
        let mut chunk = Vec::new();
        for i in 0..u64::from(PER_CHUNK) {
            if i == u64::from(PER_CHUNK) - 1 {
                // The key kind byte (record offset 18) of record BAD: no kind 0 exists.
                w.chunk[BAD * RECORD_LEN + 18] = 0;
            }
            let key = SecretBuf::<32>::from_slice(&[0x5A; 16]).unwrap();
            let record =
                DeviceKeyRecord::new(100 + i, 7000 + i, KeyUsageCode::DATA_ENCRYPTION, &key)
                    .unwrap();
            if let Some(c) = w.push(&record).unwrap() {
                chunk.extend_from_slice(c);
            }
        }
        assert_eq!(chunk.len(), chunk_buffer_len(PER_CHUNK));

        let kek = KekSlot {
            kek: KekRef {
                id: KekId(*b"ta-kek\0\0"),
                version: 1,
            },
            key: KeyId(2),
            wrap: WrapAlgorithm::AesKw,
        };
        let mut opener =
            ShipmentOpener::new(&mut authority, KeyId(1), &mfr_pk, &header, kek).unwrap();
        let mut released = Vec::new();
        let result = opener.open_chunk(&mut authority, &mut chunk, |r| {
            released.push(r.serial);
            Ok(())
        });
        assert_eq!(
            result,
            Err(Error::decode(
                DecodeErrorKind::InvalidValue,
                BAD * RECORD_LEN + 18
            ))
        );
        assert_eq!(released, [100, 101]);
    }
}
