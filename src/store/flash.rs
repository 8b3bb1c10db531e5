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
use crate::secret::SecretBytes;
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

const MAGIC: u32 = u32::from_le_bytes(*b"PKFS");
const COMMIT: u32 = u32::from_le_bytes(*b"PK!.");
const PAGE_HEADER_LEN: u32 = 16;
const ENTRY_HEADER_LEN: u32 = 16;
const TRAILER_LEN: u32 = 8;

// Entry tags. Keys (1, 3) and records (2, 4) live in separate id namespaces.
const KEY: u32 = 1;
const RECORD: u32 = 2;
const KEY_DELETED: u32 = 3;
const RECORD_DELETED: u32 = 4;
// Namespaces: keys 0, records 1; a scan for `NONE` matches no entry.
const KEYS: u32 = 0;
const RECORDS: u32 = 1;
const NONE: u32 = 2;

fn kind_code(kind: KeyKind) -> u32 {
    match kind {
        KeyKind::P256 => 1,
        KeyKind::Aes128 => 2,
        KeyKind::Aes192 => 3,
        KeyKind::Aes256 => 4,
        KeyKind::Tdes2 => 5,
        KeyKind::Tdes3 => 6,
    }
}

fn kind_from_code(code: u32) -> Result<KeyKind> {
    Ok(match code {
        1 => KeyKind::P256,
        2 => KeyKind::Aes128,
        3 => KeyKind::Aes192,
        4 => KeyKind::Aes256,
        5 => KeyKind::Tdes2,
        6 => KeyKind::Tdes3,
        _ => return Err(StoreError::Corrupt.into()),
    })
}

/// CRC-32 (IEEE 802.3, reflected), bitwise (small code; entries are short): updates the
/// register `crc` (start at `!0`, the CRC is the final register inverted) with `bytes`.
fn crc32(mut crc: u32, bytes: &[u8]) -> u32 {
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    crc
}

/// Flash bytes taken by an entry header and `len` data bytes, padded to a word.
const fn body_len(len: u32) -> u32 {
    (ENTRY_HEADER_LEN + len + 3) & !3
}

/// A cursor over a page: the header last read (an entry's, or the page header's as
/// magic, version, erase count and CRC), where it is, and where the next one starts.
#[derive(Clone, Copy, Default)]
struct Entry {
    /// Data length and its complement: `len | !len << 16`.
    first: u32,
    /// Tag and key kind: `tag | kind << 8`.
    meta: u32,
    id: u32,
    seq: u32,
    /// Flash address of a committed entry; 0 for none (a page header is there).
    at: u32,
    /// Page offset to read next: 0 first (the page header), and 0 again at the tail.
    next: u32,
}

impl Entry {
    fn len(&self) -> u32 {
        self.first & 0xffff
    }

    fn tag(&self) -> u32 {
        self.meta & 0xff
    }

    fn kind(&self) -> u32 {
        self.meta >> 8 & 0xff
    }

    fn namespace(&self) -> u32 {
        !self.meta & 1
    }

    fn is_deletion(&self) -> bool {
        self.tag() >= KEY_DELETED
    }

    /// The header's 16 bytes as on flash.
    fn header(&self) -> [u8; 16] {
        let [a0, a1, a2, a3] = self.first.to_le_bytes();
        let [b0, b1, b2, b3] = self.meta.to_le_bytes();
        let [c0, c1, c2, c3] = self.id.to_le_bytes();
        let [d0, d1, d2, d3] = self.seq.to_le_bytes();
        [
            a0, a1, a2, a3, b0, b1, b2, b3, c0, c1, c2, c3, d0, d1, d2, d3,
        ]
    }
}

/// Where an entry's data comes from.
#[derive(Clone, Copy)]
enum Src<'a> {
    Ram(&'a [u8]),
    /// The flash address of an entry whose data is copied.
    Flash(u32),
}

/// A walk over the formatted pages: what it looks for and what it found.
#[derive(Default)]
struct Scan {
    /// The id sought, in its namespace.
    namespace: u32,
    id: u32,
    /// How many committed entries the id sought has.
    count: u32,
    /// The page whose last entry has the highest sequence number: (that number, page,
    /// offset of the page's tail).
    top: Option<(u32, u32, u32)>,
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
        let mut s = Scan {
            namespace: NONE,
            ..Scan::default()
        };
        store.scan(&mut s, &mut Entry::default())?;
        if let Some((seq, page, tail)) = s.top {
            store.next_seq = seq.wrapping_add(1);
            store.active = page;
            store.write_offset = tail;
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
            *slot = self.erase_count(page)?;
            n += 1;
        }
        Ok(n)
    }

    fn read(&mut self, at: u32, buf: &mut [u8]) -> Result<()> {
        self.flash
            .read(at, buf)
            .map_err(|_| StoreError::Backend.into())
    }

    fn write(&mut self, at: u32, buf: &[u8]) -> Result<()> {
        self.flash
            .write(at, buf)
            .map_err(|_| StoreError::Backend.into())
    }

    /// The page after `page` in the ring.
    fn next_page(&self, page: u32) -> u32 {
        let next = page + 1;
        if next < self.pages { next } else { 0 }
    }

    /// The page's erase count, 0 if its header is not valid.
    fn erase_count(&mut self, page: u32) -> Result<u32> {
        let mut e = Entry::default();
        self.step(page, &mut e)?;
        Ok(if e.next == 0 { 0 } else { e.id })
    }

    /// Reads what starts at offset `e.next` of `page` into `e` and moves `e.next` past
    /// it, to 0 at the page's tail. `e.at` becomes the entry's address if it is
    /// committed, else 0 (torn words and entries are skipped this way). At offset 0 it
    /// reads the page header: a page whose header does not check has no entries, and
    /// one of another format version is `Store(Corrupt)`.
    fn step(&mut self, page: u32, e: &mut Entry) -> Result<()> {
        let offset = e.next;
        e.next = 0;
        e.at = 0;
        // The smallest entry is a header and a trailer: less room is the tail.
        if offset + ENTRY_HEADER_LEN + TRAILER_LEN > self.page_size {
            return Ok(());
        }
        let at = page * self.page_size + offset;
        let mut h = [0u8; 16];
        self.read(at, &mut h)?;
        let [l0, l1, n0, n1, t, k, z0, z1, i0, i1, i2, i3, s0, s1, s2, s3] = h;
        e.first = u32::from_le_bytes([l0, l1, n0, n1]);
        e.meta = u32::from_le_bytes([t, k, z0, z1]);
        e.id = u32::from_le_bytes([i0, i1, i2, i3]);
        e.seq = u32::from_le_bytes([s0, s1, s2, s3]);
        if offset == 0 {
            // Magic, format version, erase count, CRC-32 of the first 12 bytes.
            if e.first != MAGIC || !crc32(!0, h.split_at(12).0) != e.seq {
                return Ok(());
            }
            if t != FORMAT_VERSION {
                // A future migration reads older versions here and rewrites them on reclaim.
                return Err(StoreError::Corrupt.into());
            }
            e.next = PAGE_HEADER_LEN;
            return Ok(());
        }
        if e.first == !0 {
            return Ok(());
        }
        let len = e.len();
        if e.first >> 16 != len ^ 0xffff {
            e.next = offset + 4; // a torn length word
            return Ok(());
        }
        let next = offset + body_len(len) + TRAILER_LEN;
        if len > MAX_DATA_LEN as u32 || next > self.page_size {
            return Ok(()); // never written by this store: treat as the end
        }
        e.next = next;
        if (KEY..=RECORD_DELETED).contains(&u32::from(t))
            && self.stream(at, &h, len, Src::Flash(at), false)?
        {
            e.at = at;
        }
        Ok(())
    }

    /// Streams the entry at `at`, a word at a time, through its CRC: the header `head`,
    /// then `len` data bytes from `src`. With `write`, programs each word (the data padded
    /// with `0xFF`) and then the trailer that commits the entry; without, reads the
    /// trailer and returns whether it matches.
    fn stream(
        &mut self,
        at: u32,
        head: &[u8; 16],
        len: u32,
        src: Src<'_>,
        write: bool,
    ) -> Result<bool> {
        let mut word = SecretBytes::new([0u8; 4]);
        let mut crc = !0;
        let mut done = 0;
        let total = ENTRY_HEADER_LEN + len;
        while done < total {
            let w = word.expose_mut();
            *w = [0xff; 4];
            let part = w
                .get_mut(..(total - done).min(4) as usize)
                .ok_or(Error::Unsupported)?;
            let from = match (done.checked_sub(ENTRY_HEADER_LEN), src) {
                (None, _) => head.get(done as usize..),
                (Some(i), Src::Ram(bytes)) => bytes.get(i as usize..),
                (Some(_), Src::Flash(entry)) => {
                    self.read(entry + done, part)?;
                    None
                }
            };
            for (d, s) in part.iter_mut().zip(from.unwrap_or_default()) {
                *d = *s;
            }
            crc = crc32(crc, part);
            if write {
                self.write(at + done, word.expose())?;
            }
            done += 4;
        }
        let trailer = (u64::from(!crc) | u64::from(COMMIT) << 32).to_le_bytes();
        let end = at + body_len(len);
        if write {
            // The trailer commits the entry; it is the last thing written.
            self.write(end, &trailer)?;
            return Ok(true);
        }
        let mut found = [0u8; 8];
        self.read(end, &mut found)?;
        Ok(found == trailer)
    }

    /// Walks the committed entries of every formatted page, in order, into a [`Scan`],
    /// and into `best` the newest entry of the id it seeks (`best.at` stays 0 if none).
    fn scan(&mut self, s: &mut Scan, best: &mut Entry) -> Result<()> {
        for page in 0..self.pages {
            let mut e = Entry::default();
            let mut last = None;
            let mut tail = 0;
            loop {
                self.step(page, &mut e)?;
                if e.next == 0 {
                    break;
                }
                tail = e.next;
                if e.at == 0 {
                    continue;
                }
                last = Some(e.seq);
                if e.namespace() == s.namespace && e.id == s.id {
                    s.count += 1;
                    if best.at == 0 || newer(e.seq, best.seq) {
                        *best = e;
                    }
                }
            }
            if let Some(seq) = last {
                if s.top.is_none_or(|(t, _, _)| newer(seq, t)) {
                    s.top = Some((seq, page, tail));
                }
            }
        }
        Ok(())
    }

    /// Reads the newest entry for `(namespace, id)` on flash into `e` (passed in empty):
    /// whether it is a value (not none, nor a deletion).
    fn latest(&mut self, namespace: u32, id: u32, e: &mut Entry) -> Result<bool> {
        let mut s = Scan {
            namespace,
            id,
            ..Scan::default()
        };
        self.scan(&mut s, e)?;
        Ok(e.at != 0 && !e.is_deletion())
    }

    /// [`latest`](Self::latest), or `Store(NotFound)` if there is no value.
    fn found(&mut self, namespace: u32, id: u32, e: &mut Entry) -> Result<()> {
        if !self.latest(namespace, id, e)? {
            return Err(StoreError::NotFound.into());
        }
        Ok(())
    }

    fn append(&mut self, meta: u32, id: u32, data: &[u8]) -> Result<()> {
        let len = data.len() as u32;
        if data.len() > MAX_DATA_LEN
            || PAGE_HEADER_LEN + body_len(len) + TRAILER_LEN > self.page_size
        {
            return Err(StoreError::RecordTooLarge.into());
        }
        if self.write_offset + body_len(len) + TRAILER_LEN > self.page_size {
            self.change_page()?;
        }
        self.write_entry(meta, id, len, Src::Ram(data))
    }

    /// Writes an entry at the write offset of the active page with the next sequence
    /// number: header and data, then the trailer that commits it. Refused with
    /// `Store(Full)` when the page has no room, and with `Store(Corrupt)` unless its slot
    /// is erased: this store only writes where it left erased flash, so anything else
    /// means the flash changed behind its back (another mount through
    /// [`flash_mut`](Self::flash_mut)), and writing there would corrupt newer entries.
    fn write_entry(&mut self, meta: u32, id: u32, len: u32, src: Src<'_>) -> Result<()> {
        let size = body_len(len) + TRAILER_LEN;
        if self.write_offset + size > self.page_size {
            return Err(StoreError::Full.into());
        }
        let at = self.active * self.page_size + self.write_offset;
        let mut word = [0u8; 4];
        let mut off = 0;
        while off < size {
            self.read(at + off, &mut word)?;
            if word != [0xff; 4] {
                return Err(StoreError::Corrupt.into());
            }
            off += 4;
        }
        let head = Entry {
            first: len | (len ^ 0xffff) << 16,
            meta,
            id,
            seq: self.next_seq,
            ..Entry::default()
        }
        .header();
        // The write offset moves first: whatever happens next, these bytes are spent.
        self.write_offset += size;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.stream(at, &head, len, src, true).map(drop)
    }

    /// Opens the next page and reclaims the oldest one into it.
    fn change_page(&mut self) -> Result<()> {
        let next = self.next_page(self.active);
        self.clean(next)?;
        self.active = next;
        self.write_offset = PAGE_HEADER_LEN;
        self.finish_reclaim()
    }

    /// Makes `page` ready for entries: unless it is already (a valid header and nothing
    /// programmed after it), erases it and writes its header with the erase count
    /// carried forward.
    fn clean(&mut self, page: u32) -> Result<()> {
        let mut e = Entry::default();
        self.step(page, &mut e)?;
        let mut erase_count = 0;
        if e.next != 0 {
            erase_count = e.id;
            self.step(page, &mut e)?;
            if e.next == 0 {
                return Ok(());
            }
        }
        let [c0, c1, c2, c3] = erase_count.wrapping_add(1).to_le_bytes();
        let [m0, m1, m2, m3] = MAGIC.to_le_bytes();
        let mut header = [
            m0,
            m1,
            m2,
            m3,
            FORMAT_VERSION,
            0,
            0,
            0,
            c0,
            c1,
            c2,
            c3,
            0,
            0,
            0,
            0,
        ];
        let (body, crc) = header.split_at_mut(12);
        crc.copy_from_slice(&(!crc32(!0, body)).to_le_bytes());
        let base = page * self.page_size;
        self.flash
            .erase(base, base + self.page_size)
            .map_err(|_| Error::Store(StoreError::Backend))?;
        self.write(base, &header)
    }

    /// Copies the live entries of the page after the active one (the oldest) into the
    /// active page, then erases it. Safe to repeat after a power cut.
    fn finish_reclaim(&mut self) -> Result<()> {
        let oldest = self.next_page(self.active);
        let mut e = Entry::default();
        loop {
            self.step(oldest, &mut e)?;
            if e.next == 0 {
                break;
            }
            if e.at != 0 && self.must_keep(&e)? {
                self.write_entry(e.meta, e.id, e.len(), Src::Flash(e.at))?;
            }
        }
        // Erased and formatted now, so stale values never outlive their reclaim, and the
        // page's erase count is kept for wear levelling reports.
        self.clean(oldest)
    }

    /// An entry of the oldest page must move forward if it is the newest for its id and
    /// is a value, or is a deletion that still hides an older value somewhere.
    fn must_keep(&mut self, e: &Entry) -> Result<bool> {
        let mut s = Scan {
            namespace: e.namespace(),
            id: e.id,
            ..Scan::default()
        };
        let mut best = Entry::default();
        self.scan(&mut s, &mut best)?;
        Ok(best.at == e.at && (!e.is_deletion() || s.count > 1))
    }

    /// Reads the key under `id` into `buf` (its first `kind.key_len()` bytes): its kind.
    fn load(&mut self, id: KeyId, buf: &mut SecretBytes<32>) -> Result<KeyKind> {
        let mut e = Entry::default();
        self.found(KEYS, id.0, &mut e)?;
        let kind = kind_from_code(e.kind())?;
        let bytes = buf
            .expose_mut()
            .get_mut(..e.len() as usize)
            .filter(|b| b.len() == kind.key_len())
            .ok_or(Error::Store(StoreError::Corrupt))?;
        self.read(e.at + ENTRY_HEADER_LEN, bytes)?;
        Ok(kind)
    }

    /// The P-256 key under `id`; `Store(WrongKeyKind)` for a symmetric one.
    fn p256(&mut self, id: KeyId) -> Result<SoftKey> {
        let mut buf = SecretBytes::zero();
        if self.load(id, &mut buf)? != KeyKind::P256 {
            return Err(StoreError::WrongKeyKind.into());
        }
        SoftKey::p256_from_scalar(&buf).map_err(|_| Error::Store(StoreError::Corrupt))
    }

    fn key(&mut self, id: KeyId) -> Result<SoftKey> {
        let mut buf = SecretBytes::zero();
        match self.load(id, &mut buf)? {
            KeyKind::P256 => SoftKey::p256_from_scalar(&buf),
            kind => {
                SoftKey::symmetric(kind, buf.expose().get(..kind.key_len()).unwrap_or_default())
            }
        }
        .map_err(|_| Error::Store(StoreError::Corrupt))
    }

    /// `Store(AlreadyExists)` if `id` holds a key.
    fn vacant(&mut self, id: KeyId) -> Result<()> {
        if self.latest(KEYS, id.0, &mut Entry::default())? {
            return Err(StoreError::AlreadyExists.into());
        }
        Ok(())
    }

    fn insert_key(&mut self, id: KeyId, key: &SoftKey) -> Result<()> {
        self.vacant(id)?;
        let kind = key.kind();
        let material = key.material();
        let bytes = material
            .expose()
            .get(..kind.key_len())
            .ok_or(Error::Unsupported)?;
        self.append(KEY | kind_code(kind) << 8, id.0, bytes)
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
        let mut e = Entry::default();
        self.found(KEYS, id.0, &mut e)?;
        kind_from_code(e.kind())
    }

    fn delete_key(&mut self, id: KeyId) -> Result<()> {
        self.found(KEYS, id.0, &mut Entry::default())?;
        self.append(KEY_DELETED, id.0, &[])
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
        // A valid scalar is its own canonical encoding: stored as given.
        self.vacant(id)?;
        self.append(KEY | kind_code(KeyKind::P256) << 8, id.0, scalar.expose())?;
        key.public_key()
    }

    fn public_key(&mut self, id: KeyId) -> Result<EcPublicKey> {
        self.p256(id)?.public_key()
    }

    fn sign_digest(&mut self, id: KeyId, digest: &[u8; 32]) -> Result<EcdsaSignature> {
        self.p256(id)?.sign_digest(digest)
    }

    fn ecdh(&mut self, id: KeyId, peer: &EcPublicKey) -> Result<SecretBytes<32>> {
        self.p256(id)?.ecdh(peer)
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
        self.vacant(id)?;
        let key = self.key(kek)?.unwrap_key(alg, wrapped, kind)?;
        self.insert_key(id, &key)
    }
}

impl<F: NorFlash> Records for FlashStore<F> {
    fn max_record_len(&self) -> usize {
        MAX_DATA_LEN
    }

    fn read_record(&mut self, id: RecordId, out: &mut [u8]) -> Result<usize> {
        let mut e = Entry::default();
        self.found(RECORDS, id.0, &mut e)?;
        let len = e.len() as usize;
        let dst = out.get_mut(..len).ok_or(Error::buffer_too_small(len))?;
        self.read(e.at + ENTRY_HEADER_LEN, dst)?;
        Ok(len)
    }

    fn write_record(&mut self, id: RecordId, data: &[u8]) -> Result<()> {
        self.append(RECORD, id.0, data)
    }

    fn delete_record(&mut self, id: RecordId) -> Result<()> {
        self.found(RECORDS, id.0, &mut Entry::default())?;
        self.append(RECORD_DELETED, id.0, &[])
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

    /// Programs `src` over (NOR programming only clears bits) or, with `None`, erases
    /// the bytes from `start` to `end`, a word at a time: each word spends one word of
    /// the power budget, and none is left partly changed. Out of range: nothing changes.
    fn change(
        &mut self,
        start: usize,
        end: usize,
        src: Option<&[u8]>,
    ) -> core::result::Result<(), PowerCut> {
        let dst = self.bytes.get_mut(start..end).ok_or(PowerCut)?;
        for (i, d) in dst.iter_mut().enumerate() {
            if i % 4 == 0 {
                if let Some(n) = &mut self.budget {
                    *n = n.checked_sub(1).ok_or(PowerCut)?;
                }
                self.words_done += 1;
            }
            *d = match src {
                Some(s) => *d & s.get(i).copied().unwrap_or(0xff),
                None => 0xff,
            };
        }
        Ok(())
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
        // Out of range (or `from > to`) is refused by `change`.
        if from % PAGE != 0 || to % PAGE != 0 {
            return Err(PowerCut);
        }
        self.change(from, to, None)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> core::result::Result<(), PowerCut> {
        let start = offset as usize;
        if !start.is_multiple_of(4) || !bytes.len().is_multiple_of(4) {
            return Err(PowerCut);
        }
        self.change(start, start + bytes.len(), Some(bytes))
    }
}
