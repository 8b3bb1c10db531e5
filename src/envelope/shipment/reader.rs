//! The test authority's side: a streaming, sans-IO shipment reader with bounded memory.

use crate::ec::{EcPublicKey, EcdsaSignature};
use crate::envelope::hpke::{self, ReceiverContext, key_fingerprint};
use crate::envelope::kcv::Kcv;
use crate::envelope::kek::KekSlot;
use crate::envelope::shipment::header::{
    AEAD, COMMIT_LABEL, HEADER_LEN, ShipmentHeader, TRAILER_LEN, TRANSCRIPT_LABEL, chunk_aad,
    header_digest, hpke_info,
};
use crate::envelope::shipment::record::{OpenedRecord, RECORD_LEN, WrappedKey, decode};
use crate::error::{DecodeErrorKind, EnvelopeError, Error, Result};
use crate::store::{IdentityKeys, KeyId, SymmetricKeys};
use core::fmt;
use sha2::Digest;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// What a completely verified shipment was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShipmentSummary {
    /// The manufacturer's id.
    pub manufacturer_id: [u8; 16],
    /// The batch id (refuse one already imported).
    pub batch_id: [u8; 16],
    /// Records opened.
    pub records: u32,
    /// SHA-256 transcript hash the trailer signature covers (label, header, chunks): the
    /// file's identity for a ledger.
    pub transcript_hash: [u8; 32],
}

/// Opens a shipment as a stream, chunk by chunk, with only the caller's chunk buffer as
/// memory. Sans-IO: the caller reads [`next_chunk_len`](Self::next_chunk_len) bytes,
/// hands them to [`open_chunk`](Self::open_chunk), and at the end passes the trailer to
/// [`finish`](Self::finish).
///
/// What is verified when:
/// - [`new`](Self::new): the header's signature by the manufacturer's key (which also
///   binds the HPKE encapsulated key, so only the manufacturer can have made the chunks),
///   the recipient, and the key commitment, before anything is decrypted;
/// - [`open_chunk`](Self::open_chunk): the chunk's AEAD tag, with its index, final flag
///   and record count as associated data and the HPKE sequence number as nonce; only then
///   are its records released, each KCV-checked and re-wrapped under the recipient's KEK;
/// - [`finish`](Self::finish): that every chunk came, and the trailer signature over the
///   whole transcript.
///
/// Every released record is authentic and in place. A truncated file fails at the end,
/// so import records transactionally: stage them, commit after `finish`.
pub struct ShipmentOpener {
    ctx: ReceiverContext,
    header: ShipmentHeader,
    manufacturer: EcPublicKey,
    kek: KekSlot,
    next_chunk: u32,
    opened: u32,
    last_serial: Option<u64>,
    transcript: sha2::Sha256,
    failed: bool,
}

impl fmt::Debug for ShipmentOpener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShipmentOpener")
            .field("header", &self.header)
            .field("next_chunk", &self.next_chunk)
            .field("opened", &self.opened)
            .finish_non_exhaustive()
    }
}

impl ShipmentOpener {
    /// Verifies the header (exactly [`HEADER_LEN`] bytes) and sets up decryption with the
    /// recipient's HPKE key `recipient` in `store` (by handle). `manufacturer` is the
    /// signing key the caller trusts for [`ShipmentHeader::manufacturer_id`] (parse the
    /// header first to look it up); `kek` is where released keys are re-wrapped.
    ///
    /// # Errors
    /// `Decode` errors from [`ShipmentHeader::parse`]; [`EnvelopeError::WrongSigner`] when
    /// `manufacturer` is not the key the header names; [`EnvelopeError::WrongRecipient`];
    /// [`Error::Crypto`] for a bad signature or commitment; store errors.
    pub fn new<S: IdentityKeys + ?Sized>(
        store: &mut S,
        recipient: KeyId,
        manufacturer: &EcPublicKey,
        header: &[u8],
        kek: KekSlot,
    ) -> Result<Self> {
        let h = ShipmentHeader::parse(header)?;
        if h.manufacturer_key != key_fingerprint(manufacturer) {
            return Err(EnvelopeError::WrongSigner.into());
        }
        manufacturer.verify_digest_low_s(&header_digest(&h.raw), &h.signature())?;
        if h.recipient_key != key_fingerprint(&store.public_key(recipient)?) {
            return Err(EnvelopeError::WrongRecipient.into());
        }
        let ctx = hpke::setup_receiver_base(store, recipient, &h.enc(), AEAD, &hpke_info(&h.raw))?;
        let mut commitment = [0u8; 32];
        ctx.export(COMMIT_LABEL, &mut commitment)?;
        if !bool::from(commitment.ct_eq(&h.commitment())) {
            return Err(Error::Crypto);
        }
        let mut transcript = sha2::Sha256::new();
        transcript.update(TRANSCRIPT_LABEL);
        transcript.update(h.raw);
        Ok(Self {
            ctx,
            header: h,
            manufacturer: *manufacturer,
            kek,
            next_chunk: 0,
            opened: 0,
            last_serial: None,
            transcript,
            failed: false,
        })
    }

    /// The verified header.
    #[must_use]
    pub const fn header(&self) -> &ShipmentHeader {
        &self.header
    }

    /// Length of the next chunk to read, or `None` when all chunks are open (read the
    /// [`TRAILER_LEN`]-byte trailer next).
    #[must_use]
    pub fn next_chunk_len(&self) -> Option<usize> {
        match self.header.chunk_len(self.next_chunk) {
            0 => None,
            n => Some(n),
        }
    }

    /// Authenticates and decrypts the next chunk in place, then calls `on_record` for each
    /// record in order, with its key re-wrapped under the KEK by handle. The chunk buffer
    /// is zeroized before this returns, success or not.
    ///
    /// # Errors
    /// `Decode(InvalidLength)` when `chunk` is not [`next_chunk_len`](Self::next_chunk_len)
    /// bytes; [`Error::Crypto`] when the chunk does not authenticate (tampered, reordered,
    /// duplicated, from another file): no record of it is released;
    /// [`EnvelopeError::RecordOrder`], [`EnvelopeError::KcvMismatch`] or `Decode` errors
    /// for a bad record (records before it in the chunk were released);
    /// [`EnvelopeError::StreamFinished`] after any earlier error or past the last chunk;
    /// errors from the store and from `on_record`.
    pub fn open_chunk<S, F>(&mut self, store: &mut S, chunk: &mut [u8], on_record: F) -> Result<()>
    where
        S: SymmetricKeys + ?Sized,
        F: FnMut(&OpenedRecord) -> Result<()>,
    {
        let result = self.open_chunk_inner(store, chunk, on_record);
        chunk.zeroize();
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn open_chunk_inner<S, F>(
        &mut self,
        store: &mut S,
        chunk: &mut [u8],
        mut on_record: F,
    ) -> Result<()>
    where
        S: SymmetricKeys + ?Sized,
        F: FnMut(&OpenedRecord) -> Result<()>,
    {
        if self.failed {
            return Err(EnvelopeError::StreamFinished.into());
        }
        let expected = self
            .next_chunk_len()
            .ok_or(Error::Envelope(EnvelopeError::StreamFinished))?;
        if chunk.len() != expected {
            return Err(Error::decode(DecodeErrorKind::InvalidLength, chunk.len()));
        }
        self.transcript.update(&*chunk);
        let index = self.next_chunk;
        let records = self.header.chunk_records(index);
        let is_final = index + 1 == self.header.chunk_count();
        let aad = chunk_aad(index, is_final, records);
        let body = self.ctx.open_in_place(&aad, chunk)?;
        self.next_chunk += 1;
        for (i, r) in body.chunks_exact_mut(RECORD_LEN).enumerate() {
            let r: &mut [u8; RECORD_LEN] = r.try_into().map_err(|_| Error::Unsupported)?;
            let outcome = self.release(store, r, i * RECORD_LEN, &mut on_record);
            r.zeroize();
            outcome?;
        }
        Ok(())
    }

    fn release<S, F>(
        &mut self,
        store: &mut S,
        r: &[u8; RECORD_LEN],
        base: usize,
        on_record: &mut F,
    ) -> Result<()>
    where
        S: SymmetricKeys + ?Sized,
        F: FnMut(&OpenedRecord) -> Result<()>,
    {
        let d = decode(r, base)?;
        if self.last_serial.is_some_and(|s| d.serial <= s) {
            return Err(EnvelopeError::RecordOrder.into());
        }
        Kcv::of_bytes(d.key)?.check(&d.kcv)?;
        let mut wrapped = [0u8; 40];
        let n = store.wrap_bytes(self.kek.key, self.kek.wrap, d.key, &mut wrapped)?;
        let record = OpenedRecord {
            serial: d.serial,
            key_id: d.key_id,
            usage: d.usage,
            kind: d.kind,
            kcv: d.kcv,
            wrapped: WrappedKey::new(
                self.kek.kek,
                self.kek.wrap,
                wrapped.get(..n).ok_or(Error::Unsupported)?,
            )?,
        };
        self.last_serial = Some(d.serial);
        self.opened += 1;
        on_record(&record)
    }

    /// Checks that every chunk was opened and verifies the trailer: the manufacturer's
    /// signature over the transcript.
    ///
    /// # Errors
    /// `Decode(Truncated)` when chunks are missing; `Decode(InvalidLength)` for a trailer
    /// that is not [`TRAILER_LEN`] bytes; [`Error::Crypto`] for a bad signature;
    /// [`EnvelopeError::StreamFinished`] after an earlier error.
    pub fn finish(self, trailer: &[u8]) -> Result<ShipmentSummary> {
        if self.failed {
            return Err(EnvelopeError::StreamFinished.into());
        }
        if self.next_chunk_len().is_some() || self.opened != self.header.record_count {
            return Err(Error::decode(DecodeErrorKind::Truncated, 0));
        }
        let sig = trailer
            .first_chunk::<TRAILER_LEN>()
            .filter(|_| trailer.len() == TRAILER_LEN)
            .ok_or(Error::decode(DecodeErrorKind::InvalidLength, trailer.len()))?;
        let transcript_hash: [u8; 32] = self.transcript.clone().finalize().into();
        self.manufacturer
            .verify_digest_low_s(&transcript_hash, &EcdsaSignature(*sig))?;
        Ok(ShipmentSummary {
            manufacturer_id: self.header.manufacturer_id,
            batch_id: self.header.batch_id,
            records: self.opened,
            transcript_hash,
        })
    }
}

/// Opens a whole shipment held in memory: a convenience over [`ShipmentOpener`] for
/// small files, tests and fuzzing. `scratch` must hold one chunk
/// ([`ShipmentHeader::max_chunk_len`]).
///
/// # Errors
/// As [`ShipmentOpener`]'s methods; `Decode(Truncated)` / `Decode(TrailingData)` when
/// the file is shorter or longer than its header says; [`Error::BufferTooSmall`].
#[allow(clippy::too_many_arguments)]
pub fn open_shipment<S, F>(
    store: &mut S,
    recipient: KeyId,
    manufacturer: &EcPublicKey,
    kek: KekSlot,
    file: &[u8],
    scratch: &mut [u8],
    on_record: F,
) -> Result<ShipmentSummary>
where
    S: IdentityKeys + SymmetricKeys + ?Sized,
    F: FnMut(&OpenedRecord) -> Result<()>,
{
    let mut on_record = on_record;
    let header = file
        .get(..HEADER_LEN)
        .ok_or(Error::decode(DecodeErrorKind::Truncated, file.len()))?;
    let mut opener = ShipmentOpener::new(store, recipient, manufacturer, header, kek)?;
    let mut at = HEADER_LEN;
    while let Some(len) = opener.next_chunk_len() {
        let src = file
            .get(at..at + len)
            .ok_or(Error::decode(DecodeErrorKind::Truncated, file.len()))?;
        let buf = scratch.get_mut(..len).ok_or(Error::buffer_too_small(len))?;
        buf.copy_from_slice(src);
        opener.open_chunk(store, buf, &mut on_record)?;
        at += len;
    }
    let trailer = file
        .get(at..)
        .ok_or(Error::decode(DecodeErrorKind::Truncated, file.len()))?;
    if trailer.len() > TRAILER_LEN {
        return Err(Error::decode(
            DecodeErrorKind::TrailingData,
            at + TRAILER_LEN,
        ));
    }
    if trailer.len() < TRAILER_LEN {
        return Err(Error::decode(DecodeErrorKind::Truncated, file.len()));
    }
    opener.finish(trailer)
}

/// Verifies both manufacturer signatures over a whole shipment without decrypting it (no
/// recipient key needed): for an auditor, a relay or an archive.
///
/// # Errors
/// `Decode` errors for a malformed or wrong-length file; [`EnvelopeError::WrongSigner`];
/// [`Error::Crypto`] for a bad signature.
pub fn audit_shipment(file: &[u8], manufacturer: &EcPublicKey) -> Result<ShipmentHeader> {
    let header = ShipmentHeader::parse(
        file.get(..HEADER_LEN)
            .ok_or(Error::decode(DecodeErrorKind::Truncated, file.len()))?,
    )?;
    if header.manufacturer_key != key_fingerprint(manufacturer) {
        return Err(EnvelopeError::WrongSigner.into());
    }
    manufacturer.verify_digest_low_s(&header_digest(&header.raw), &header.signature())?;
    let len = usize::try_from(header.file_len()).map_err(|_| Error::Unsupported)?;
    if file.len() != len {
        let kind = if file.len() < len {
            DecodeErrorKind::Truncated
        } else {
            DecodeErrorKind::TrailingData
        };
        return Err(Error::decode(kind, file.len().min(len)));
    }
    let (body, trailer) = file
        .split_at_checked(len - TRAILER_LEN)
        .ok_or(Error::decode(DecodeErrorKind::Truncated, file.len()))?;
    let mut t = sha2::Sha256::new();
    t.update(TRANSCRIPT_LABEL);
    t.update(body);
    let digest: [u8; 32] = t.finalize().into();
    let sig = trailer
        .first_chunk::<TRAILER_LEN>()
        .ok_or(Error::decode(DecodeErrorKind::Truncated, file.len()))?;
    manufacturer.verify_digest_low_s(&digest, &EcdsaSignature(*sig))?;
    Ok(header)
}
