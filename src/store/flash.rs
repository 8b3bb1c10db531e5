//! [`FlashStore`]: a power-fail-safe key store on NOR flash (feature `embedded-storage`).
//!
//! The flash region is a ring of erase pages written as a log. Every key, record and
//! deletion is appended as an entry; the entry with the highest sequence number for an id
//! wins. An entry counts only once its trailer — CRC-32 over header and data plus a commit
//! word — is written, and the trailer is written last, so a power cut at any word leaves
//! either the previous value or the new one, never a torn or lost one.
//!
//! Writes go round the ring, so erases are spread over all pages. When the active page
//! is full, the next page is erased and opened, and the live entries of the page after it
//! (the oldest) are copied forward; that page is then erased. Mounting completes any of
//! these steps a power cut interrupted.
//!
//! Layout (little-endian; full spec in `docs/flash-format.md`):
//!
//! ```text
//! page  = header (16) || entries… || 0xFF…
//! header = "PKFS" || format version (1) || 0 0 0 || erase count (u32) || CRC-32 of the first 12 bytes
//! entry = length (u16) || !length (u16) || tag (1) || key kind (1) || 0 0 || id (u32)
//!         || sequence (u32) || data || 0xFF padding to 4 bytes
//!         || CRC-32 (header and data) || "PK!." commit word
//! ```
//!
//! The first word carries the length and its complement: if a cut tears that word, the
//! pair cannot match, and a reader skips one word; if it tears anything later, the length
//! is known and the reader skips the whole entry. Torn bytes therefore never hide the
//! entries written after a reboot.
//!
//! Key material is stored as it is given (protect the flash with the MCU's read-out
//! protection, or store keys wrapped); it is zeroized from RAM after each operation.

// Entry sizes are bounded by MAX_DATA_LEN (256) and offsets by the page size (a u32):
// the usize → u32 casts below cannot truncate.
#![allow(clippy::cast_possible_truncation)]

use crate::ec::{EcPublicKey, EcdsaSignature};
use crate::error::{Error, Result, StoreError};
use crate::secret::{SecretBuf, SecretBytes};
use crate::store::soft::SoftKey;
use crate::store::{
    IdentityKeys, KeyId, KeyInventory, KeyKind, RecordId, Records, SymmetricKeys, WrapAlgorithm,
};
use core::fmt;
use embedded_storage::nor_flash::NorFlash;

/// The on-flash format version this code writes.
pub const FORMAT_VERSION: u8 = 1;
/// Largest record or key entry payload, in bytes.
pub const MAX_DATA_LEN: usize = 256;

const MAGIC: &[u8; 4] = b"PKFS";
const COMMIT: &[u8; 4] = b"PK!.";
const PAGE_HEADER_LEN: u32 = 16;
const ENTRY_HEADER_LEN: usize = 16;
const TRAILER_LEN: usize = 8;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
enum Tag {
    Key = 1,
    Record = 2,
    KeyDeleted = 3,
    RecordDeleted = 4,
}

impl Tag {
    fn from_byte(b: u8) -> Option<Self> {
        match b {
            1 => Some(Self::Key),
            2 => Some(Self::Record),
            3 => Some(Self::KeyDeleted),
            4 => Some(Self::RecordDeleted),
            _ => None,
        }
    }

    /// Keys and records live in separate id namespaces.
    fn namespace(self) -> u8 {
        match self {
            Self::Key | Self::KeyDeleted => 0,
            Self::Record | Self::RecordDeleted => 1,
        }
    }

    fn is_deletion(self) -> bool {
        matches!(self, Self::KeyDeleted | Self::RecordDeleted)
    }
}

fn kind_code(kind: KeyKind) -> u8 {
    match kind {
        KeyKind::P256 => 1,
        KeyKind::Aes128 => 2,
        KeyKind::Aes192 => 3,
        KeyKind::Aes256 => 4,
        KeyKind::Tdes2 => 5,
        KeyKind::Tdes3 => 6,
    }
}

fn kind_from_code(code: u8) -> Option<KeyKind> {
    Some(match code {
        1 => KeyKind::P256,
        2 => KeyKind::Aes128,
        3 => KeyKind::Aes192,
        4 => KeyKind::Aes256,
        5 => KeyKind::Tdes2,
        6 => KeyKind::Tdes3,
        _ => return None,
    })
}

/// CRC-32 (IEEE 802.3, reflected), bitwise: small code, and entries are short.
pub(crate) fn crc32(parts: &[&[u8]]) -> u32 {
    let mut crc = !0u32;
    for part in parts {
        for &b in *part {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
            }
        }
    }
    !crc
}

const fn align4(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// A valid entry found on flash.
#[derive(Clone, Copy, Debug)]
struct Entry {
    tag: Tag,
    kind: u8,
    len: usize,
    id: u32,
    seq: u32,
    page: u32,
    offset: u32,
}

impl Entry {
    fn data_offset(&self) -> u32 {
        self.offset + ENTRY_HEADER_LEN as u32
    }

    fn total_len(&self) -> u32 {
        (align4(ENTRY_HEADER_LEN + self.len) + TRAILER_LEN) as u32
    }
}

/// Key store on a NOR flash region. See the [module docs](self).
///
/// ```
/// use provkit::store::flash::{FlashStore, RamFlash};
/// use provkit::store::{RecordId, Records};
///
/// # fn main() -> provkit::Result<()> {
/// let mut store = FlashStore::mount(RamFlash::<4096, 1024>::new())?;
/// store.write_record(RecordId(1), b"counter 7")?;
/// let flash = store.into_inner();
/// // After a reset:
/// let mut store = FlashStore::mount(flash)?;
/// let mut buf = [0u8; 16];
/// let n = store.read_record(RecordId(1), &mut buf)?;
/// assert_eq!(&buf[..n], b"counter 7");
/// # Ok(())
/// # }
/// ```
pub struct FlashStore<F: NorFlash> {
    flash: F,
    pages: u32,
    page_size: u32,
    active: u32,
    write_offset: u32,
    next_seq: u32,
}

fn backend<E>(_: E) -> Error {
    Error::Store(StoreError::Backend)
}

impl<F: NorFlash> FlashStore<F> {
    /// Mounts the store on `flash`, formatting it if it holds no store, and completes
    /// any page change a power cut interrupted.
    ///
    /// # Errors
    /// `Store(Corrupt)` for a page of another format version; `Store(Backend)` for flash
    /// errors; `Unsupported` for a geometry this store cannot use (fewer than 2 pages, or
    /// a write size that does not divide 4).
    pub fn mount(flash: F) -> Result<Self> {
        let page_size = u32::try_from(F::ERASE_SIZE).map_err(|_| Error::Unsupported)?;
        let capacity = u32::try_from(flash.capacity()).map_err(|_| Error::Unsupported)?;
        let pages = capacity / page_size.max(1);
        if pages < 2 || 4 % F::WRITE_SIZE != 0 || page_size < 256 {
            return Err(Error::Unsupported);
        }
        let mut store = Self {
            flash,
            pages,
            page_size,
            active: 0,
            write_offset: page_size, // "full": forces a page change before the first write
            next_seq: 1,
        };
        let mut best: Option<(u32, u32)> = None; // (seq, page)
        for page in 0..pages {
            if store.page_header(page)?.is_none() {
                continue;
            }
            let mut last = None;
            store.for_each_entry(page, &mut |e| {
                last = Some(e.seq);
                Ok(true)
            })?;
            if let Some(seq) = last {
                if best.is_none_or(|(s, _)| seq > s) {
                    best = Some((seq, page));
                }
            }
        }
        if let Some((seq, page)) = best {
            store.next_seq = seq.wrapping_add(1);
            store.active = page;
            store.write_offset = store.tail(page)?;
            store.finish_reclaim()?;
        }
        Ok(store)
    }

    /// Gives the flash back (e.g. to simulate a reset in tests).
    pub fn into_inner(self) -> F {
        self.flash
    }

    /// The flash under the store, e.g. to mount a second view of it as after a reset.
    /// Writing through it behind the store's back voids the store's guarantees: this
    /// store's view goes stale. It then refuses to write (`Store(Corrupt)`) where it
    /// finds its next slot already written, rather than corrupt the newer entries; mount
    /// again to see them.
    pub fn flash_mut(&mut self) -> &mut F {
        &mut self.flash
    }

    /// Erase counts of each page, for wear reports.
    ///
    /// # Errors
    /// `Store(Backend)` on flash errors.
    pub fn erase_counts(&mut self, out: &mut [u32]) -> Result<usize> {
        let mut n = 0;
        for (page, slot) in (0..self.pages).zip(out.iter_mut()) {
            *slot = self.page_header(page)?.unwrap_or(0);
            n += 1;
        }
        Ok(n)
    }

    fn page_base(&self, page: u32) -> u32 {
        page * self.page_size
    }

    /// The page's erase count if its header is valid and of this format version.
    fn page_header(&mut self, page: u32) -> Result<Option<u32>> {
        let mut h = [0u8; PAGE_HEADER_LEN as usize];
        self.flash
            .read(self.page_base(page), &mut h)
            .map_err(backend)?;
        let (body, crc) = h.split_at(12);
        if body.get(..4) != Some(&MAGIC[..]) || crc32(&[body]).to_le_bytes() != crc {
            return Ok(None);
        }
        if body.get(4) != Some(&FORMAT_VERSION) {
            // A future migration reads older versions here and rewrites them on reclaim.
            return Err(StoreError::Corrupt.into());
        }
        let mut count = [0u8; 4];
        count.copy_from_slice(body.get(8..12).unwrap_or(&[0; 4]));
        Ok(Some(u32::from_le_bytes(count)))
    }

    /// Calls `f` for each committed entry of `page` in order, skipping torn ones, up to
    /// the first erased word (the page's tail). `f` returns false to stop.
    fn for_each_entry(
        &mut self,
        page: u32,
        f: &mut dyn FnMut(Entry) -> Result<bool>,
    ) -> Result<()> {
        let mut offset = PAGE_HEADER_LEN;
        while let Some((next, entry)) = self.step(page, offset)? {
            offset = next;
            if let Some(e) = entry {
                if !f(e)? {
                    break;
                }
            }
        }
        Ok(())
    }

    /// Reads whatever starts at `offset`: `None` at the tail, else the offset after it
    /// and the entry if it is committed (torn words and entries yield `None` entries).
    fn step(&mut self, page: u32, offset: u32) -> Result<Option<(u32, Option<Entry>)>> {
        if offset + 4 > self.page_size {
            return Ok(None);
        }
        let base = self.page_base(page) + offset;
        let mut h = [0u8; ENTRY_HEADER_LEN];
        self.flash.read(base, &mut h).map_err(backend)?;
        let [
            l0,
            l1,
            n0,
            n1,
            tag,
            kind,
            _,
            _,
            i0,
            i1,
            i2,
            i3,
            s0,
            s1,
            s2,
            s3,
        ] = h;
        if [l0, l1, n0, n1] == [0xff; 4] {
            return Ok(None);
        }
        let len = u16::from_le_bytes([l0, l1]);
        if len != !u16::from_le_bytes([n0, n1]) {
            return Ok(Some((offset + 4, None))); // a torn length word
        }
        let len = usize::from(len);
        let total = (align4(ENTRY_HEADER_LEN + len) + TRAILER_LEN) as u32;
        if len > MAX_DATA_LEN || offset + total > self.page_size {
            return Ok(None); // never written by this store: treat as the end
        }
        let next = offset + total;
        let Some(tag) = Tag::from_byte(tag) else {
            return Ok(Some((next, None)));
        };
        let e = Entry {
            tag,
            kind,
            len,
            id: u32::from_le_bytes([i0, i1, i2, i3]),
            seq: u32::from_le_bytes([s0, s1, s2, s3]),
            page,
            offset,
        };
        let mut data = SecretBuf::<MAX_DATA_LEN>::empty();
        self.read_data(&e, &mut data)?;
        let mut trailer = [0u8; TRAILER_LEN];
        self.flash
            .read(base + align4(ENTRY_HEADER_LEN + len) as u32, &mut trailer)
            .map_err(backend)?;
        let (crc, commit) = trailer.split_at(4);
        let committed = commit == COMMIT && crc == crc32(&[&h, data.expose()]).to_le_bytes();
        Ok(Some((next, committed.then_some(e))))
    }

    fn read_data(&mut self, e: &Entry, out: &mut SecretBuf<MAX_DATA_LEN>) -> Result<()> {
        let mut buf = SecretBytes::<MAX_DATA_LEN>::zero();
        let dst = buf
            .expose_mut()
            .get_mut(..e.len)
            .ok_or(Error::Store(StoreError::Corrupt))?;
        let base = self.page_base(e.page) + e.data_offset();
        self.flash.read(base, dst).map_err(backend)?;
        out.set(dst)
    }

    /// Offset of the page's first erased word after its entries: where writing goes on.
    fn tail(&mut self, page: u32) -> Result<u32> {
        let mut offset = PAGE_HEADER_LEN;
        while let Some((next, _)) = self.step(page, offset)? {
            offset = next;
        }
        Ok(offset)
    }

    /// The newest entry for `(namespace, id)` anywhere on flash.
    fn latest(&mut self, namespace: u8, id: u32) -> Result<Option<Entry>> {
        let mut best: Option<Entry> = None;
        for page in 0..self.pages {
            if self.page_header(page)?.is_none() {
                continue;
            }
            self.for_each_entry(page, &mut |e| {
                if e.tag.namespace() == namespace
                    && e.id == id
                    && best.is_none_or(|b| newer(e.seq, b.seq))
                {
                    best = Some(e);
                }
                Ok(true)
            })?;
        }
        Ok(best.filter(|e| !e.tag.is_deletion()))
    }

    fn append(&mut self, tag: Tag, kind: u8, id: u32, data: &[u8]) -> Result<()> {
        if data.len() > MAX_DATA_LEN {
            return Err(StoreError::RecordTooLarge.into());
        }
        let total = (align4(ENTRY_HEADER_LEN + data.len()) + TRAILER_LEN) as u32;
        if PAGE_HEADER_LEN + total > self.page_size {
            return Err(StoreError::RecordTooLarge.into());
        }
        if self.write_offset + total > self.page_size {
            self.change_page()?;
            if self.write_offset + total > self.page_size {
                return Err(StoreError::Full.into());
            }
        }
        if !self.is_erased(self.write_offset, total)? {
            return Err(StoreError::Corrupt.into());
        }
        self.write_entry(tag, kind, id, data)
    }

    /// Whether `len` bytes at `offset` in the active page are erased. This store only
    /// writes where it left erased flash; anything else means the flash changed behind
    /// its back (another mount through [`flash_mut`](Self::flash_mut)), and writing there
    /// would corrupt the newer entries, so the write is refused instead.
    fn is_erased(&mut self, offset: u32, len: u32) -> Result<bool> {
        let base = self.page_base(self.active) + offset;
        let mut chunk = [0u8; 16];
        let mut at = 0;
        while at < len {
            let n = (len - at).min(16);
            let buf = chunk.get_mut(..n as usize).ok_or(Error::Unsupported)?;
            self.flash.read(base + at, buf).map_err(backend)?;
            if buf.iter().any(|&b| b != 0xff) {
                return Ok(false);
            }
            at += n;
        }
        Ok(true)
    }

    fn write_entry(&mut self, tag: Tag, kind: u8, id: u32, data: &[u8]) -> Result<()> {
        let len = u16::try_from(data.len()).map_err(|_| Error::from(StoreError::RecordTooLarge))?;
        let seq = self.next_seq;
        let mut header = [0u8; ENTRY_HEADER_LEN];
        for (dst, src) in header.iter_mut().zip(
            len.to_le_bytes()
                .iter()
                .chain(&(!len).to_le_bytes())
                .chain(&[tag as u8, kind, 0, 0])
                .chain(&id.to_le_bytes())
                .chain(&seq.to_le_bytes()),
        ) {
            *dst = *src;
        }
        let body_len = align4(ENTRY_HEADER_LEN + data.len());
        let mut body = SecretBytes::<{ ENTRY_HEADER_LEN + MAX_DATA_LEN + 4 }>::zero();
        let b = body.expose_mut();
        b.fill(0xff);
        b.get_mut(..ENTRY_HEADER_LEN)
            .ok_or(Error::Unsupported)?
            .copy_from_slice(&header);
        b.get_mut(ENTRY_HEADER_LEN..ENTRY_HEADER_LEN + data.len())
            .ok_or(Error::Unsupported)?
            .copy_from_slice(data);
        let base = self.page_base(self.active) + self.write_offset;
        // The write offset moves first: whatever happens next, these bytes are spent.
        self.write_offset += (body_len + TRAILER_LEN) as u32;
        self.next_seq = seq.wrapping_add(1);
        let body = body.expose().get(..body_len).ok_or(Error::Unsupported)?;
        self.flash.write(base, body).map_err(backend)?;
        let mut trailer = [0u8; TRAILER_LEN];
        let (crc, commit) = trailer.split_at_mut(4);
        crc.copy_from_slice(&crc32(&[&header, data]).to_le_bytes());
        commit.copy_from_slice(COMMIT);
        // The trailer commits the entry; it is the last thing written.
        self.flash
            .write(base + body_len as u32, &trailer)
            .map_err(backend)
    }

    /// Opens the next page and reclaims the oldest one into it.
    fn change_page(&mut self) -> Result<()> {
        let next = (self.active + 1) % self.pages;
        if !self.is_clean(next)? {
            self.format(next)?;
        }
        self.active = next;
        self.write_offset = PAGE_HEADER_LEN;
        self.finish_reclaim()
    }

    /// A page with a valid header and nothing programmed after it: ready for entries.
    fn is_clean(&mut self, page: u32) -> Result<bool> {
        Ok(self.page_header(page)?.is_some() && self.tail(page)? == PAGE_HEADER_LEN)
    }

    /// Erases `page` and writes its header with the erase count carried forward.
    fn format(&mut self, page: u32) -> Result<()> {
        let erase_count = self.page_header(page).ok().flatten().unwrap_or(0);
        let base = self.page_base(page);
        self.flash
            .erase(base, base + self.page_size)
            .map_err(backend)?;
        let mut header = [0u8; PAGE_HEADER_LEN as usize];
        let (body, crc) = header.split_at_mut(12);
        body.get_mut(..4)
            .ok_or(Error::Unsupported)?
            .copy_from_slice(MAGIC);
        body.get_mut(4..8)
            .ok_or(Error::Unsupported)?
            .copy_from_slice(&[FORMAT_VERSION, 0, 0, 0]);
        body.get_mut(8..)
            .ok_or(Error::Unsupported)?
            .copy_from_slice(&erase_count.wrapping_add(1).to_le_bytes());
        crc.copy_from_slice(&crc32(&[body]).to_le_bytes());
        self.flash.write(base, &header).map_err(backend)
    }

    /// Copies the live entries of the page after the active one (the oldest) into the
    /// active page, then erases it. Safe to repeat after a power cut.
    fn finish_reclaim(&mut self) -> Result<()> {
        let oldest = (self.active + 1) % self.pages;
        if oldest == self.active {
            return Ok(());
        }
        if self.page_header(oldest)?.is_some() {
            let mut offset = PAGE_HEADER_LEN;
            while let Some((next, entry)) = self.step(oldest, offset)? {
                offset = next;
                let Some(e) = entry else { continue };
                if self.must_keep(&e)? {
                    let mut data = SecretBuf::<MAX_DATA_LEN>::empty();
                    self.read_data(&e, &mut data)?;
                    let total = e.total_len();
                    if self.write_offset + total > self.page_size {
                        return Err(StoreError::Full.into());
                    }
                    self.write_entry(e.tag, e.kind, e.id, data.expose())?;
                }
            }
        }
        if !self.is_clean(oldest)? {
            // Erased and formatted now, so stale values never outlive their reclaim, and
            // the page's erase count is kept for wear levelling reports.
            self.format(oldest)?;
        }
        Ok(())
    }

    /// An entry of the oldest page must move forward if it is the newest for its id and
    /// is a value, or is a deletion that still hides an older value somewhere.
    fn must_keep(&mut self, e: &Entry) -> Result<bool> {
        let mut newest = true;
        let mut others = false;
        for page in 0..self.pages {
            if self.page_header(page)?.is_none() {
                continue;
            }
            self.for_each_entry(page, &mut |o| {
                if o.tag.namespace() == e.tag.namespace()
                    && o.id == e.id
                    && (o.page, o.offset) != (e.page, e.offset)
                {
                    others = true;
                    if newer(o.seq, e.seq) {
                        newest = false;
                    }
                }
                Ok(true)
            })?;
        }
        Ok(newest && (!e.tag.is_deletion() || others))
    }

    fn key(&mut self, id: KeyId) -> Result<SoftKey> {
        let e = self
            .latest(0, id.0)?
            .ok_or(Error::Store(StoreError::NotFound))?;
        let kind = kind_from_code(e.kind).ok_or(Error::Store(StoreError::Corrupt))?;
        let mut data = SecretBuf::<MAX_DATA_LEN>::empty();
        self.read_data(&e, &mut data)?;
        match kind {
            KeyKind::P256 => SoftKey::p256_from_scalar(&SecretBytes::from_slice(data.expose())?),
            other => SoftKey::symmetric(other, data.expose()),
        }
        .map_err(|_| Error::Store(StoreError::Corrupt))
    }

    fn insert_key(&mut self, id: KeyId, key: &SoftKey) -> Result<()> {
        if self.latest(0, id.0)?.is_some() {
            return Err(StoreError::AlreadyExists.into());
        }
        let kind = key.kind();
        let material = key.material();
        let bytes = material
            .expose()
            .get(..kind.key_len())
            .ok_or(Error::Unsupported)?;
        self.append(Tag::Key, kind_code(kind), id.0, bytes)
    }
}

/// Sequence comparison that survives wrap-around (serial-number arithmetic).
fn newer(a: u32, b: u32) -> bool {
    a != b && a.wrapping_sub(b) < 1 << 31
}

impl<F: NorFlash> fmt::Debug for FlashStore<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlashStore")
            .field("pages", &self.pages)
            .field("active", &self.active)
            .field("write_offset", &self.write_offset)
            .finish_non_exhaustive()
    }
}

impl<F: NorFlash> KeyInventory for FlashStore<F> {
    fn key_kind(&mut self, id: KeyId) -> Result<KeyKind> {
        let e = self
            .latest(0, id.0)?
            .ok_or(Error::Store(StoreError::NotFound))?;
        kind_from_code(e.kind).ok_or(Error::Store(StoreError::Corrupt))
    }

    fn delete_key(&mut self, id: KeyId) -> Result<()> {
        self.latest(0, id.0)?
            .ok_or(Error::Store(StoreError::NotFound))?;
        self.append(Tag::KeyDeleted, 0, id.0, &[])
    }
}

impl<F: NorFlash> IdentityKeys for FlashStore<F> {
    fn generate_p256<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        id: KeyId,
        rng: &mut R,
    ) -> Result<EcPublicKey> {
        let key = SoftKey::p256_random(rng);
        self.insert_key(id, &key)?;
        key.public_key()
    }

    fn import_p256(&mut self, id: KeyId, scalar: &SecretBytes<32>) -> Result<EcPublicKey> {
        let key = SoftKey::p256_from_scalar(scalar)?;
        self.insert_key(id, &key)?;
        key.public_key()
    }

    fn public_key(&mut self, id: KeyId) -> Result<EcPublicKey> {
        self.key(id)?.public_key()
    }

    fn sign_digest(&mut self, id: KeyId, digest: &[u8; 32]) -> Result<EcdsaSignature> {
        self.key(id)?.sign_digest(digest)
    }

    fn ecdh(&mut self, id: KeyId, peer: &EcPublicKey) -> Result<SecretBytes<32>> {
        self.key(id)?.ecdh(peer)
    }
}

impl<F: NorFlash> SymmetricKeys for FlashStore<F> {
    fn import_symmetric(&mut self, id: KeyId, kind: KeyKind, key: &[u8]) -> Result<()> {
        let key = SoftKey::symmetric(kind, key)?;
        self.insert_key(id, &key)
    }

    fn generate_symmetric<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        id: KeyId,
        kind: KeyKind,
        rng: &mut R,
    ) -> Result<()> {
        let key = SoftKey::symmetric_random(kind, rng)?;
        self.insert_key(id, &key)
    }

    fn encrypt_block(&mut self, id: KeyId, block: &mut [u8]) -> Result<()> {
        self.key(id)?.encrypt_block(block)
    }

    fn wrap(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        self.key(kek)?.wrap(alg, plaintext, out)
    }

    fn unwrap(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        wrapped: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        self.key(kek)?.unwrap(alg, wrapped, out)
    }

    fn wrap_key(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        key: KeyId,
        out: &mut [u8],
    ) -> Result<usize> {
        let inner = self.key(key)?;
        self.key(kek)?.wrap_key(alg, &inner, out)
    }

    fn unwrap_key(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        wrapped: &[u8],
        id: KeyId,
        kind: KeyKind,
    ) -> Result<()> {
        if self.latest(0, id.0)?.is_some() {
            return Err(StoreError::AlreadyExists.into());
        }
        let key = self.key(kek)?.unwrap_key(alg, wrapped, kind)?;
        self.insert_key(id, &key)
    }
}

impl<F: NorFlash> Records for FlashStore<F> {
    fn max_record_len(&self) -> usize {
        MAX_DATA_LEN
    }

    fn read_record(&mut self, id: RecordId, out: &mut [u8]) -> Result<usize> {
        let e = self
            .latest(1, id.0)?
            .ok_or(Error::Store(StoreError::NotFound))?;
        let dst = out.get_mut(..e.len).ok_or(Error::buffer_too_small(e.len))?;
        let base = self.page_base(e.page) + e.data_offset();
        self.flash.read(base, dst).map_err(backend)?;
        Ok(e.len)
    }

    fn write_record(&mut self, id: RecordId, data: &[u8]) -> Result<()> {
        self.append(Tag::Record, 0, id.0, data)
    }

    fn delete_record(&mut self, id: RecordId) -> Result<()> {
        self.latest(1, id.0)?
            .ok_or(Error::Store(StoreError::NotFound))?;
        self.append(Tag::RecordDeleted, 0, id.0, &[])
    }
}

/// A NOR flash in RAM: `SIZE` bytes in pages of `PAGE` bytes, 4-byte writes, for tests,
/// host tools and firmware that keeps a store in RAM. It can simulate a power cut after
/// a given number of programmed or erased words ([`cut_power_after`](Self::cut_power_after)).
pub struct RamFlash<const SIZE: usize, const PAGE: usize> {
    bytes: [u8; SIZE],
    budget: Option<usize>,
    words_done: usize,
}

/// The error [`RamFlash`] reports once power is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PowerCut;

impl embedded_storage::nor_flash::NorFlashError for PowerCut {
    fn kind(&self) -> embedded_storage::nor_flash::NorFlashErrorKind {
        embedded_storage::nor_flash::NorFlashErrorKind::Other
    }
}

impl<const SIZE: usize, const PAGE: usize> RamFlash<SIZE, PAGE> {
    /// An erased flash.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            bytes: [0xff; SIZE],
            budget: None,
            words_done: 0,
        }
    }

    /// After `words` more word writes or word erases, the flash stops changing and every
    /// write or erase fails: the one in progress is left partly done. Reads still work.
    pub fn cut_power_after(&mut self, words: usize) {
        self.budget = Some(words);
    }

    /// Restores power (as after a reset).
    pub fn restore_power(&mut self) {
        self.budget = None;
    }

    /// Words programmed or erased so far (to size a power-cut sweep).
    #[must_use]
    pub const fn words_done(&self) -> usize {
        self.words_done
    }

    /// The raw contents.
    #[must_use]
    pub const fn contents(&self) -> &[u8; SIZE] {
        &self.bytes
    }

    fn spend(&mut self) -> core::result::Result<(), PowerCut> {
        match &mut self.budget {
            Some(0) => Err(PowerCut),
            Some(n) => {
                *n -= 1;
                self.words_done += 1;
                Ok(())
            }
            None => {
                self.words_done += 1;
                Ok(())
            }
        }
    }
}

impl<const SIZE: usize, const PAGE: usize> Default for RamFlash<SIZE, PAGE> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const SIZE: usize, const PAGE: usize> fmt::Debug for RamFlash<SIZE, PAGE> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RamFlash")
            .field("size", &SIZE)
            .field("page", &PAGE)
            .finish_non_exhaustive()
    }
}

impl<const SIZE: usize, const PAGE: usize> embedded_storage::nor_flash::ErrorType
    for RamFlash<SIZE, PAGE>
{
    type Error = PowerCut;
}

impl<const SIZE: usize, const PAGE: usize> embedded_storage::nor_flash::ReadNorFlash
    for RamFlash<SIZE, PAGE>
{
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> core::result::Result<(), PowerCut> {
        let start = offset as usize;
        let src = self.bytes.get(start..start + bytes.len()).ok_or(PowerCut)?;
        bytes.copy_from_slice(src);
        Ok(())
    }

    fn capacity(&self) -> usize {
        SIZE
    }
}

impl<const SIZE: usize, const PAGE: usize> NorFlash for RamFlash<SIZE, PAGE> {
    const WRITE_SIZE: usize = 4;
    const ERASE_SIZE: usize = PAGE;

    fn erase(&mut self, from: u32, to: u32) -> core::result::Result<(), PowerCut> {
        let (from, to) = (from as usize, to as usize);
        if from % PAGE != 0 || to % PAGE != 0 || to > SIZE || from > to {
            return Err(PowerCut);
        }
        let mut at = from;
        while at < to {
            self.spend()?;
            if let Some(w) = self.bytes.get_mut(at..at + 4) {
                w.fill(0xff);
            }
            at += 4;
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> core::result::Result<(), PowerCut> {
        let start = offset as usize;
        if !start.is_multiple_of(4) || !bytes.len().is_multiple_of(4) || start + bytes.len() > SIZE
        {
            return Err(PowerCut);
        }
        for (i, chunk) in bytes.chunks(4).enumerate() {
            self.spend()?;
            if let Some(w) = self.bytes.get_mut(start + 4 * i..start + 4 * i + 4) {
                // NOR programming only clears bits.
                for (d, s) in w.iter_mut().zip(chunk) {
                    *d &= *s;
                }
            }
        }
        Ok(())
    }
}
