//! [`FlashStore`]: a power-fail-safe key store on NOR flash (feature `embedded-storage`)
//! that leaves no superseded secret behind.
//!
//! The flash region is a ring of erase pages written as a log. Every key, record and
//! deletion is appended as an entry; the entry with the highest sequence number for an id
//! wins. An entry counts only once its trailer — CRC-32 over header and data plus a commit
//! word — is written, and the trailer is written last, so a power cut at any program unit
//! leaves either the previous value or the new one, never a torn or lost one.
//!
//! Writes go round the ring, so erases are spread over all pages. When the active page
//! is full, the next page is erased and opened, and the live entries of the page after it
//! (the oldest) are copied forward; that page is then erased. Mounting completes any of
//! these steps a power cut interrupted.
//!
//! **Scrubbing.** A log keeps what it supersedes, so every write, deletion and page copy
//! ends by scrubbing: each entry that is no longer the newest of its id (and every torn
//! entry a power cut left) is destroyed before the call returns. How depends on the part:
//! - [`mount_multiwrite`](FlashStore::mount_multiwrite), for parts that may program a word
//!   again (embedded-storage's [`MultiwriteNorFlash`]): the dead entry's data and trailer
//!   are programmed to zero in place, then its tag (marking it scrubbed).
//! - [`mount`](FlashStore::mount), for parts that program each word once (e.g. STM32 with
//!   flash ECC): the page holding the dead entry is evacuated: its live entries are copied
//!   forward and the page is erased. This costs up to two page erases per superseding
//!   write.
//!
//! Mounting sweeps the whole flash the same way, so a scrub a power cut interrupted is
//! finished before `mount` returns.
//!
//! Layout (little-endian; full spec in `docs/flash-format.md`). `U` is the program unit:
//! the part's write size, at least 4 bytes (1, 2, 4, 8, 16 or 32-byte parts are supported).
//!
//! ```text
//! page  = header (16, padded to U) || entries… || 0xFF…
//! header = "PKFS" || format version (1) || 0 0 0 || erase count (u32) || CRC-32 of the first 12 bytes
//! entry = length (u16) || !length (u16) || tag (1) || key kind (1) || 0 0 || id (u32)
//!         || sequence (u32) || data || 0xFF padding to U
//!         || CRC-32 (header and data) || "PK!." commit word || 0xFF padding to U
//! ```
//!
//! The first word carries the length and its complement: if a cut tears the first unit,
//! the pair cannot match, and a reader skips one unit; if it tears anything later, the
//! length is known and the reader skips the whole entry. Torn bytes therefore never hide
//! the entries written after a reboot.
//!
//! The live key material is stored as it is given (protect the flash with the MCU's
//! read-out protection, or store keys wrapped); it is zeroized from RAM after each
//! operation.

// Entry sizes are bounded by MAX_DATA_LEN (256) and offsets by the page size (a u32):
// the usize → u32 casts below cannot truncate.
#![allow(clippy::cast_possible_truncation)]

use crate::ec::{EcPublicKey, EcdsaSignature};
use crate::error::{BackendCause, Error, Result, StoreError};
use crate::provider::{CryptoProvider, RustCrypto};
use crate::secret::SecretBytes;
use crate::store::soft::SoftKey;
use crate::store::{
    IdentityKeys, KeyId, KeyInventory, KeyKind, RecordId, Records, SymmetricKeys, WrapAlgorithm,
};
use core::fmt;
use core::marker::PhantomData;
use embedded_storage::nor_flash::{MultiwriteNorFlash, NorFlash};

/// The on-flash format version this code writes.
pub const FORMAT_VERSION: u8 = 1;
/// Largest record or key entry payload, in bytes.
pub const MAX_DATA_LEN: usize = 256;
/// Largest program unit (write size) the store supports, in bytes.
pub const MAX_WRITE_SIZE: usize = 32;

const MAGIC: u32 = u32::from_le_bytes(*b"PKFS");
const COMMIT: u32 = u32::from_le_bytes(*b"PK!.");
const PAGE_HEADER_LEN: u32 = 16;
const ENTRY_HEADER_LEN: u32 = 16;
const TRAILER_LEN: u32 = 8;
/// What a scrub programs: zeros, one chunk of up to the largest unit at a time.
const ZEROS: [u8; MAX_WRITE_SIZE] = [0; MAX_WRITE_SIZE];

// Entry tags. Keys (1, 3) and records (2, 4) live in separate id namespaces; 0 marks an
// entry scrubbed in place.
const SCRUBBED: u32 = 0;
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
    /// Flash address where what was read starts (entry or torn unit).
    start: u32,
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

    /// Whether the first word was torn (its length and complement do not match).
    fn is_torn(&self) -> bool {
        self.first >> 16 != self.len() ^ 0xffff
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
/// // RamFlash may program a word again: superseded entries are zeroed in place.
/// let mut store = FlashStore::mount_multiwrite(RamFlash::<4096, 1024>::new())?;
/// store.write_record(RecordId(1), b"counter 7")?;
/// store.write_record(RecordId(1), b"counter 8")?;
/// let flash = store.into_inner();
/// // The superseded value is gone from the raw image.
/// assert!(!flash.contents().windows(9).any(|w| w == b"counter 7"));
/// // After a reset:
/// let mut store = FlashStore::mount_multiwrite(flash)?;
/// let mut buf = [0u8; 16];
/// let n = store.read_record(RecordId(1), &mut buf)?;
/// assert_eq!(&buf[..n], b"counter 8");
/// # Ok(())
/// # }
/// ```
pub struct FlashStore<F: NorFlash, P: CryptoProvider = RustCrypto> {
    flash: F,
    pages: u32,
    page_size: u32,
    active: u32,
    write_offset: u32,
    next_seq: u32,
    /// The active page's erase count when it was opened.
    active_erases: u32,
    /// Dead entries are zeroed in place (the part may program a word again), rather than
    /// their pages evacuated and erased.
    multiwrite: bool,
    /// The provider keys are used on (signing, ECDH, AES): a type, no state.
    provider: PhantomData<fn() -> P>,
}

impl<F: MultiwriteNorFlash> FlashStore<F> {
    /// Mounts the store on a part that may program a word again (bits 1 → 0): a
    /// superseded entry is destroyed by zeroing it in place, which costs no erase.
    /// Otherwise as [`mount`](Self::mount).
    ///
    /// # Errors
    /// As [`mount`](Self::mount).
    pub fn mount_multiwrite(flash: F) -> Result<Self> {
        Self::open(flash, true, F::ERASE_SIZE)
    }
}

impl<F: MultiwriteNorFlash, P: CryptoProvider> FlashStore<F, P> {
    /// [`mount_multiwrite`](FlashStore::mount_multiwrite) for a store whose keys run on
    /// the provider `P`.
    ///
    /// # Errors
    /// As [`mount`](FlashStore::mount).
    pub fn mount_multiwrite_with_provider(flash: F) -> Result<Self> {
        Self::open(flash, true, F::ERASE_SIZE)
    }

    /// [`mount_multiwrite_with_provider`](Self::mount_multiwrite_with_provider) with
    /// store pages of `page_size` bytes, as
    /// [`mount_with_page_size`](FlashStore::mount_with_page_size).
    ///
    /// # Errors
    /// As [`mount_with_page_size`](FlashStore::mount_with_page_size).
    pub fn mount_multiwrite_with_page_size(flash: F, page_size: usize) -> Result<Self> {
        Self::open(flash, true, page_size)
    }
}

impl<F: NorFlash> FlashStore<F> {
    /// Mounts the store on `flash`, formatting it if it holds no store, completes any
    /// page change a power cut interrupted, and scrubs every superseded or torn entry.
    /// Its keys run on provkit's portable provider, [`RustCrypto`];
    /// [`mount_with_provider`](FlashStore::mount_with_provider) picks another (a
    /// Cortex-M4 assembly provider, say).
    ///
    /// This is the mode for parts that program each word once (e.g. flash with ECC): a
    /// superseded entry is destroyed by evacuating and erasing its page, which costs up
    /// to two page erases per write that replaces or deletes a value. Parts that may
    /// program a word again should use [`mount_multiwrite`](Self::mount_multiwrite).
    ///
    /// # Errors
    /// `Store(Corrupt)` for a page of another format version; `Store(Backend)` for flash
    /// errors; `Unsupported` for a geometry this store cannot use (fewer than 2 pages,
    /// pages under 256 bytes, a write size other than 1, 2, 4, 8, 16 or 32 bytes, or
    /// a page size that is not a multiple of it).
    pub fn mount(flash: F) -> Result<Self> {
        Self::open(flash, false, F::ERASE_SIZE)
    }
}

impl<F: NorFlash, P: CryptoProvider> FlashStore<F, P> {
    /// The program unit: the part's write size, at least a word.
    const UNIT: u32 = if F::WRITE_SIZE > 4 {
        F::WRITE_SIZE as u32
    } else {
        4
    };

    /// [`mount`](FlashStore::mount) for a store whose keys run on the provider `P`: a
    /// firmware on a Cortex-M4 signs and agrees on `provkit_cm4::Cm4`'s assembly.
    ///
    /// ```
    /// use provkit::provider::RustCrypto;
    /// use provkit::store::flash::{FlashStore, RamFlash};
    ///
    /// let mut flash = RamFlash::<4096, 1024>::new();
    /// let store = FlashStore::<_, RustCrypto>::mount_with_provider(&mut flash)?;
    /// # let _ = store;
    /// # Ok::<(), provkit::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`mount`](FlashStore::mount).
    pub fn mount_with_provider(flash: F) -> Result<Self> {
        Self::open(flash, false, F::ERASE_SIZE)
    }

    /// [`mount_with_provider`](Self::mount_with_provider) with store pages of
    /// `page_size` bytes instead of the part's `ERASE_SIZE`: a page is then one or more
    /// whole erase sectors, erased together. For a driver whose sector size is known only
    /// at run time (`provkit-c`'s flash driver over C callbacks declares the smallest
    /// sector and checks each erase against the part's), or a page that spans several
    /// small sectors. Mount a store with the page size it was formatted with.
    ///
    /// # Errors
    /// As [`mount`](FlashStore::mount); `Unsupported` also when `page_size` is not a
    /// multiple of `F::ERASE_SIZE`.
    pub fn mount_with_page_size(flash: F, page_size: usize) -> Result<Self> {
        Self::open(flash, false, page_size)
    }

    fn open(flash: F, multiwrite: bool, page_size: usize) -> Result<Self> {
        if F::ERASE_SIZE == 0 || !page_size.is_multiple_of(F::ERASE_SIZE) {
            return Err(Error::Unsupported);
        }
        let page_size = u32::try_from(page_size).map_err(|_| Error::Unsupported)?;
        let capacity = u32::try_from(flash.capacity()).map_err(|_| Error::Unsupported)?;
        let pages = capacity / page_size.max(1);
        if pages < 2
            || !F::WRITE_SIZE.is_power_of_two()
            || F::WRITE_SIZE > MAX_WRITE_SIZE
            || page_size < 256
            || page_size % Self::UNIT != 0
        {
            return Err(Error::Unsupported);
        }
        let mut store = Self {
            flash,
            pages,
            page_size,
            active: 0,
            write_offset: page_size, // "full": forces a page change before the first write
            next_seq: 1,
            active_erases: 0,
            multiwrite,
            provider: PhantomData,
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
            store.active_erases = store.erase_count(page)?;
            store.finish_reclaim()?;
        }
        store.scrub(None)?;
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

    /// `n` rounded up to whole program units.
    const fn units(n: u32) -> u32 {
        (n + Self::UNIT - 1) & !(Self::UNIT - 1)
    }

    /// Flash bytes taken by an entry with `len` data bytes: header and data, then the
    /// trailer, each padded to whole units.
    const fn entry_len(len: u32) -> u32 {
        Self::units(ENTRY_HEADER_LEN + len) + Self::units(TRAILER_LEN)
    }

    fn read(&mut self, at: u32, buf: &mut [u8]) -> Result<()> {
        self.flash
            .read(at, buf)
            .map_err(|_| BackendCause::FLASH.into())
    }

    fn write(&mut self, at: u32, buf: &[u8]) -> Result<()> {
        self.flash
            .write(at, buf)
            .map_err(|_| BackendCause::FLASH.into())
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
    /// committed, else 0 (torn units and entries are skipped this way). At offset 0 it
    /// reads the page header: a page whose header does not check has no entries, and
    /// one of another format version is `Store(Corrupt)`.
    fn step(&mut self, page: u32, e: &mut Entry) -> Result<()> {
        let offset = e.next;
        e.next = 0;
        e.at = 0;
        // The smallest entry is a header and a trailer: less room is the tail.
        if offset + Self::entry_len(0) > self.page_size {
            return Ok(());
        }
        let at = page * self.page_size + offset;
        e.start = at;
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
            e.next = Self::units(PAGE_HEADER_LEN);
            return Ok(());
        }
        if e.first == !0 {
            return Ok(());
        }
        if e.is_torn() {
            e.next = offset + Self::UNIT; // a torn first unit
            return Ok(());
        }
        let len = e.len();
        let next = offset + Self::entry_len(len);
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

    /// Streams the entry at `at`, a unit at a time, through its CRC: the header `head`,
    /// then `len` data bytes from `src`. With `write`, programs each unit (the data padded
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
        let mut buf = SecretBytes::new([0u8; MAX_WRITE_SIZE]);
        let unit = Self::UNIT as usize;
        let mut crc = !0;
        let mut done = 0;
        let total = ENTRY_HEADER_LEN + len;
        while done < total {
            let chunk = buf.expose_mut().get_mut(..unit).ok_or(Error::Unsupported)?;
            chunk.fill(0xff);
            let (part, _) = chunk.split_at_mut((total - done).min(Self::UNIT) as usize);
            // The header is whole units or lies within the first one.
            let (from_head, rest) =
                part.split_at_mut((ENTRY_HEADER_LEN.saturating_sub(done) as usize).min(part.len()));
            for (d, s) in from_head
                .iter_mut()
                .zip(head.get(done as usize..).unwrap_or_default())
            {
                *d = *s;
            }
            let data_at = (done + from_head.len() as u32).saturating_sub(ENTRY_HEADER_LEN);
            match src {
                Src::Ram(bytes) => {
                    for (d, s) in rest
                        .iter_mut()
                        .zip(bytes.get(data_at as usize..).unwrap_or_default())
                    {
                        *d = *s;
                    }
                }
                Src::Flash(entry) => {
                    if !rest.is_empty() {
                        self.read(entry + ENTRY_HEADER_LEN + data_at, rest)?;
                    }
                }
            }
            crc = crc32(crc, part);
            if write {
                let chunk = buf.expose().get(..unit).ok_or(Error::Unsupported)?;
                self.write(at + done, chunk)?;
            }
            done += Self::UNIT;
        }
        let mut trailer = [0xffu8; MAX_WRITE_SIZE];
        let trailer = trailer
            .get_mut(..Self::units(TRAILER_LEN) as usize)
            .ok_or(Error::Unsupported)?;
        if let Some((t, _)) = trailer.split_first_chunk_mut::<8>() {
            *t = (u64::from(!crc) | u64::from(COMMIT) << 32).to_le_bytes();
        }
        let end = at + Self::units(total);
        if write {
            // The trailer commits the entry; it is the last thing written.
            self.write(end, trailer)?;
            return Ok(true);
        }
        let mut found = [0u8; TRAILER_LEN as usize];
        self.read(end, &mut found)?;
        Ok(trailer.get(..TRAILER_LEN as usize) == Some(&found[..]))
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

    /// Appends an entry, then scrubs what it supersedes: once this returns `Ok`, no
    /// older value of the id is left on the flash.
    fn append(&mut self, meta: u32, id: u32, data: &[u8]) -> Result<()> {
        let len = data.len() as u32;
        if data.len() > MAX_DATA_LEN
            || Self::units(PAGE_HEADER_LEN) + Self::entry_len(len) > self.page_size
        {
            return Err(StoreError::RecordTooLarge.into());
        }
        self.append_from(meta, id, len, Src::Ram(data))?;
        self.scrub(Some((!meta & 1, id)))
    }

    /// Writes an entry, opening further pages first while the active one has no room
    /// (the reclaim that comes with a page change may fill the new page), once round the
    /// ring at most.
    fn append_from(&mut self, meta: u32, id: u32, len: u32, src: Src<'_>) -> Result<()> {
        for _ in 0..self.pages {
            if self.write_offset + Self::entry_len(len) <= self.page_size {
                break;
            }
            self.change_page()?;
        }
        self.write_entry(meta, id, len, src)
    }

    /// Writes an entry at the write offset of the active page with the next sequence
    /// number: header and data, then the trailer that commits it. Refused with
    /// `Store(Full)` when the page has no room, and with `Store(Corrupt)` unless its slot
    /// is erased and the page has not been erased since it was opened: this store only
    /// writes where it left erased flash, so anything else means the flash changed
    /// behind its back (another mount through [`flash_mut`](Self::flash_mut)), and
    /// writing there would corrupt newer entries or be lost.
    fn write_entry(&mut self, meta: u32, id: u32, len: u32, src: Src<'_>) -> Result<()> {
        let size = Self::entry_len(len);
        if self.write_offset + size > self.page_size {
            return Err(StoreError::Full.into());
        }
        let at = self.active * self.page_size + self.write_offset;
        // A page erased behind this view's back has another erase count.
        if self.erase_count(self.active)? != self.active_erases
            || !self.holds_only(at, size, 0xff)?
        {
            return Err(StoreError::Corrupt.into());
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

    /// Whether the `len` bytes at `at` all equal `byte`.
    fn holds_only(&mut self, at: u32, len: u32, byte: u8) -> Result<bool> {
        let mut word = [0u8; 4];
        let mut off = 0;
        while off < len {
            let part = word
                .get_mut(..(len - off).min(4) as usize)
                .ok_or(Error::Unsupported)?;
            self.read(at + off, part)?;
            if part.iter().any(|&b| b != byte) {
                return Ok(false);
            }
            off += 4;
        }
        Ok(true)
    }

    /// Opens the next page and reclaims the oldest one into it.
    fn change_page(&mut self) -> Result<()> {
        let next = self.next_page(self.active);
        self.clean(next)?;
        self.active = next;
        self.active_erases = self.erase_count(next)?;
        self.write_offset = Self::units(PAGE_HEADER_LEN);
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
        let mut header = [0xffu8; MAX_WRITE_SIZE];
        let [c0, c1, c2, c3] = erase_count.wrapping_add(1).to_le_bytes();
        let [m0, m1, m2, m3] = MAGIC.to_le_bytes();
        let fields = [m0, m1, m2, m3, FORMAT_VERSION, 0, 0, 0, c0, c1, c2, c3];
        let crc = (!crc32(!0, &fields)).to_le_bytes();
        for (d, s) in header.iter_mut().zip(fields.iter().chain(&crc)) {
            *d = *s;
        }
        let header = header
            .get(..Self::units(PAGE_HEADER_LEN) as usize)
            .ok_or(Error::Unsupported)?;
        let base = page * self.page_size;
        self.flash
            .erase(base, base + self.page_size)
            .map_err(|_| Error::from(BackendCause::FLASH))?;
        self.write(base, header)
    }

    /// Copies the live entries of the page after the active one (the oldest) into the
    /// active page, then erases it. Safe to repeat after a power cut.
    fn finish_reclaim(&mut self) -> Result<()> {
        let oldest = self.next_page(self.active);
        self.reclaim(oldest, false)
    }

    /// Copies the live entries of `page` forward, into the active page (with `grow`,
    /// opening further pages as it fills; without, `Store(Full)` if it does), then erases
    /// `page` so that stale values never outlive their reclaim. The page's erase count is
    /// kept for wear levelling reports.
    fn reclaim(&mut self, page: u32, grow: bool) -> Result<()> {
        let mut e = Entry::default();
        loop {
            self.step(page, &mut e)?;
            if e.next == 0 {
                break;
            }
            if e.at != 0 && self.must_keep(&e)? {
                if grow {
                    // Opening a page reclaims the oldest one. When that is `page`, its
                    // reclaim copies what is left of it and erases it: this one is over
                    // (and must not read an entry from the erased page).
                    for _ in 0..self.pages {
                        if self.write_offset + Self::entry_len(e.len()) <= self.page_size {
                            break;
                        }
                        let reclaims_page = self.next_page(self.next_page(self.active)) == page;
                        self.change_page()?;
                        if reclaims_page {
                            return Ok(());
                        }
                    }
                }
                self.write_entry(e.meta, e.id, e.len(), Src::Flash(e.at))?;
            }
        }
        self.clean(page)
    }

    /// An entry must move forward on reclaim if it is the newest for its id and is a
    /// value, or is a deletion that still hides an older value somewhere.
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

    /// Destroys every dead entry on the flash: the values of `only` (a namespace and id)
    /// that are not its newest entry, or with `None`, of every id, and every torn unit or
    /// uncommitted entry a power cut left with bytes programmed. On a multi-write part
    /// each is zeroed in place; otherwise its page is evacuated and erased. Deletions hold
    /// no secret and are left to reclaim. Safe to repeat after a power cut.
    fn scrub(&mut self, only: Option<(u32, u32)>) -> Result<()> {
        'pass: loop {
            for page in 0..self.pages {
                let mut e = Entry::default();
                self.step(page, &mut e)?;
                if e.next == 0 {
                    // No valid header: never formatted, or its erase was cut short, which
                    // can leave any of its old entries. Live ones were copied before any
                    // erase began.
                    let base = page * self.page_size;
                    if only.is_none() && !self.holds_only(base, self.page_size, 0xff)? {
                        self.clean(page)?;
                    }
                    continue;
                }
                loop {
                    self.step(page, &mut e)?;
                    if e.next == 0 {
                        break;
                    }
                    if !self.is_dead(&e, only)? {
                        continue;
                    }
                    if self.multiwrite {
                        self.zero(&e)?;
                    } else {
                        // Each evacuation erases a page that held a dead entry and copies
                        // only live ones: the passes end.
                        self.evacuate(page)?;
                        continue 'pass;
                    }
                }
            }
            return Ok(());
        }
    }

    /// Whether `e` (just read by [`step`](Self::step)) holds bytes that must not stay.
    fn is_dead(&mut self, e: &Entry, only: Option<(u32, u32)>) -> Result<bool> {
        if e.at != 0 {
            if e.len() == 0 || only.is_some_and(|o| o != (e.namespace(), e.id)) {
                return Ok(false);
            }
            let mut best = Entry::default();
            self.latest(e.namespace(), e.id, &mut best)?;
            return Ok(best.at != e.at);
        }
        if only.is_some() {
            // A completed write leaves nothing torn.
            return Ok(false);
        }
        if e.is_torn() {
            return Ok(!self.holds_only(e.start, Self::UNIT, 0)?);
        }
        // An uncommitted entry: dead if anything after its header was programmed.
        let from = e.start + ENTRY_HEADER_LEN;
        let end = e.start + Self::entry_len(e.len());
        Ok(e.tag() != SCRUBBED && !self.holds_only(from, end - from, 0xff)?)
    }

    /// Zeroes a dead entry in place (multi-write parts): the trailer first (the entry
    /// stops counting), then the data, then the tag, which marks it scrubbed. A torn unit
    /// is zeroed whole. Every step only clears bits, and a cut between them leaves an
    /// entry the next mount's scrub zeroes again.
    fn zero(&mut self, e: &Entry) -> Result<()> {
        if e.is_torn() {
            return self.program_zeros(e.start, Self::UNIT);
        }
        let head_units = Self::units(ENTRY_HEADER_LEN);
        let body = Self::units(ENTRY_HEADER_LEN + e.len());
        self.program_zeros(e.start + body, Self::units(TRAILER_LEN))?;
        self.program_zeros(e.start + head_units, body - head_units)?;
        // The header's units again, with the tag cleared (and any data sharing its unit).
        let mut unit = [0u8; MAX_WRITE_SIZE];
        let scrubbed = Entry {
            meta: e.meta & !0xff,
            ..*e
        };
        for (d, s) in unit.iter_mut().zip(scrubbed.header()) {
            *d = s;
        }
        let unit = unit.get(..head_units as usize).ok_or(Error::Unsupported)?;
        self.write(e.start, unit)
    }

    /// Programs `len` bytes (whole units) at `at` to zero.
    fn program_zeros(&mut self, at: u32, len: u32) -> Result<()> {
        let mut off = 0;
        while off < len {
            let n = (len - off).min(MAX_WRITE_SIZE as u32);
            self.write(at + off, ZEROS.get(..n as usize).unwrap_or_default())?;
            off += n;
        }
        Ok(())
    }

    /// Moves the live entries of `page` forward and erases it (parts that program a word
    /// once). The active page is first closed by a page change, so that its live
    /// entries can move.
    fn evacuate(&mut self, page: u32) -> Result<()> {
        if page == self.active {
            self.change_page()?;
        }
        self.reclaim(page, true)
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
    fn p256(&mut self, id: KeyId) -> Result<SoftKey<P>> {
        let mut buf = SecretBytes::zero();
        if self.load(id, &mut buf)? != KeyKind::P256 {
            return Err(StoreError::WrongKeyKind.into());
        }
        SoftKey::p256_from_scalar(&buf).map_err(|_| Error::Store(StoreError::Corrupt))
    }

    fn key(&mut self, id: KeyId) -> Result<SoftKey<P>> {
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

    fn insert_key(&mut self, id: KeyId, key: &SoftKey<P>) -> Result<()> {
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

impl<F: NorFlash, P: CryptoProvider> fmt::Debug for FlashStore<F, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlashStore")
            .field("pages", &self.pages)
            .field("active", &self.active)
            .field("write_offset", &self.write_offset)
            .field("multiwrite", &self.multiwrite)
            .finish_non_exhaustive()
    }
}

impl<F: NorFlash, P: CryptoProvider> KeyInventory for FlashStore<F, P> {
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

impl<F: NorFlash, P: CryptoProvider> IdentityKeys for FlashStore<F, P> {
    fn generate_p256(
        &mut self,
        id: KeyId,
        rng: &mut dyn rand_core::CryptoRng,
    ) -> Result<EcPublicKey> {
        let key = SoftKey::<P>::p256_random(rng);
        self.insert_key(id, &key)?;
        key.public_key()
    }

    fn import_p256(&mut self, id: KeyId, scalar: &SecretBytes<32>) -> Result<EcPublicKey> {
        let key = SoftKey::<P>::p256_from_scalar(scalar)?;
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

impl<F: NorFlash, P: CryptoProvider> SymmetricKeys for FlashStore<F, P> {
    fn import_symmetric(&mut self, id: KeyId, kind: KeyKind, key: &[u8]) -> Result<()> {
        let key = SoftKey::<P>::symmetric(kind, key)?;
        self.insert_key(id, &key)
    }

    fn generate_symmetric(
        &mut self,
        id: KeyId,
        kind: KeyKind,
        rng: &mut dyn rand_core::CryptoRng,
    ) -> Result<()> {
        let key = SoftKey::<P>::symmetric_random(kind, rng)?;
        self.insert_key(id, &key)
    }

    fn encrypt_block(&mut self, id: KeyId, block: &mut [u8]) -> Result<()> {
        self.key(id)?.encrypt_block(block)
    }

    fn wrap_bytes(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        self.key(kek)?.wrap_bytes(alg, plaintext, out)
    }

    fn unwrap_bytes(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        wrapped: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        self.key(kek)?.unwrap_bytes(alg, wrapped, out)
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

impl<F: NorFlash, P: CryptoProvider> Records for FlashStore<F, P> {
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

/// A NOR flash in RAM, for tests, host tools and firmware that keeps a store in RAM:
/// `SIZE` bytes in pages of `PAGE` bytes, programmed `WRITE` bytes at a time (1, 2, 4, 8,
/// 16 or 32). With `MULTI` (the default) a unit may be programmed again, clearing more
/// bits, as on parts that implement [`MultiwriteNorFlash`]; without, like a part with
/// flash ECC, a unit that is not erased refuses a second program
/// ([`RamFlashError::Reprogrammed`]). It can simulate a power cut after a given number
/// of programmed or erased units ([`cut_power_after`](Self::cut_power_after)).
pub struct RamFlash<
    const SIZE: usize,
    const PAGE: usize,
    const WRITE: usize = 4,
    const MULTI: bool = true,
> {
    bytes: [u8; SIZE],
    budget: Option<usize>,
    /// Whether the unit in progress when power goes is left partly changed.
    tear: bool,
    units_done: usize,
}

/// Why a [`RamFlash`] refused a program or erase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RamFlashError {
    /// Power is cut: nothing changes any more (reads still work).
    PowerCut,
    /// Outside the flash, or not aligned to the write or erase size.
    OutOfBounds,
    /// A second program of a unit that is not erased, on a part without multi-write.
    Reprogrammed,
}

impl embedded_storage::nor_flash::NorFlashError for RamFlashError {
    fn kind(&self) -> embedded_storage::nor_flash::NorFlashErrorKind {
        use embedded_storage::nor_flash::NorFlashErrorKind;
        match self {
            Self::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            Self::PowerCut | Self::Reprogrammed => NorFlashErrorKind::Other,
        }
    }
}

impl<const SIZE: usize, const PAGE: usize, const WRITE: usize, const MULTI: bool>
    RamFlash<SIZE, PAGE, WRITE, MULTI>
{
    /// An erased flash.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            bytes: [0xff; SIZE],
            budget: None,
            tear: false,
            units_done: 0,
        }
    }

    /// After `units` more unit programs or unit erases, the flash stops changing and every
    /// write or erase fails: the one in progress is left partly done. Reads still work.
    pub fn cut_power_after(&mut self, units: usize) {
        self.budget = Some(units);
        self.tear = false;
    }

    /// Like [`cut_power_after`](Self::cut_power_after), but the unit in progress when the
    /// power goes is left torn, as a real part can leave it: all its bytes are programmed
    /// (or erased) but bytes 2 and 3, the upper half of its first 32-bit word.
    pub fn tear_power_after(&mut self, units: usize) {
        self.budget = Some(units);
        self.tear = true;
    }

    /// Restores power (as after a reset).
    pub fn restore_power(&mut self) {
        self.budget = None;
    }

    /// Units programmed or erased so far (to size a power-cut sweep). A unit is the write
    /// size, at least 4 bytes.
    #[must_use]
    pub const fn units_done(&self) -> usize {
        self.units_done
    }

    /// The raw contents, as a dump of the part would show them.
    #[must_use]
    pub const fn contents(&self) -> &[u8; SIZE] {
        &self.bytes
    }

    /// The unit the power budget counts: the write size, at least 4 bytes.
    const UNIT: usize = if WRITE > 4 { WRITE } else { 4 };

    /// Programs `src` over (NOR programming only clears bits) or, with `None`, erases
    /// the bytes from `start` to `end`, a unit at a time: each unit spends one unit of
    /// the power budget. When it runs out, the unit in progress is left as it was, or
    /// torn (see [`tear_power_after`](Self::tear_power_after)). Out of range: nothing
    /// changes.
    fn change(
        &mut self,
        start: usize,
        end: usize,
        src: Option<&[u8]>,
    ) -> core::result::Result<(), RamFlashError> {
        let dst = self
            .bytes
            .get_mut(start..end)
            .ok_or(RamFlashError::OutOfBounds)?;
        for (i, unit) in dst.chunks_mut(Self::UNIT).enumerate() {
            let from = src.map(|s| s.get(i * Self::UNIT..).unwrap_or_default());
            if !MULTI && from.is_some() && unit.iter().any(|&b| b != 0xff) {
                return Err(RamFlashError::Reprogrammed);
            }
            let change = |unit: &mut [u8]| {
                for (j, d) in unit.iter_mut().enumerate() {
                    *d = match from {
                        Some(s) => *d & s.get(j).copied().unwrap_or(0xff),
                        None => 0xff,
                    };
                }
            };
            if let Some(n) = &mut self.budget {
                let Some(left) = n.checked_sub(1) else {
                    if self.tear {
                        // Bytes 2 and 3 keep their old values.
                        let kept = [unit.get(2).copied(), unit.get(3).copied()];
                        change(unit);
                        for (d, b) in unit.iter_mut().skip(2).zip(kept) {
                            if let Some(b) = b {
                                *d = b;
                            }
                        }
                        self.tear = false;
                    }
                    return Err(RamFlashError::PowerCut);
                };
                *n = left;
            }
            self.units_done += 1;
            change(unit);
        }
        Ok(())
    }
}

impl<const SIZE: usize, const PAGE: usize, const WRITE: usize, const MULTI: bool> Default
    for RamFlash<SIZE, PAGE, WRITE, MULTI>
{
    fn default() -> Self {
        Self::new()
    }
}

impl<const SIZE: usize, const PAGE: usize, const WRITE: usize, const MULTI: bool> fmt::Debug
    for RamFlash<SIZE, PAGE, WRITE, MULTI>
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RamFlash")
            .field("size", &SIZE)
            .field("page", &PAGE)
            .field("write", &WRITE)
            .field("multiwrite", &MULTI)
            .finish_non_exhaustive()
    }
}

impl<const SIZE: usize, const PAGE: usize, const WRITE: usize, const MULTI: bool>
    embedded_storage::nor_flash::ErrorType for RamFlash<SIZE, PAGE, WRITE, MULTI>
{
    type Error = RamFlashError;
}

impl<const SIZE: usize, const PAGE: usize, const WRITE: usize, const MULTI: bool>
    embedded_storage::nor_flash::ReadNorFlash for RamFlash<SIZE, PAGE, WRITE, MULTI>
{
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> core::result::Result<(), RamFlashError> {
        let start = offset as usize;
        let src = self
            .bytes
            .get(start..start + bytes.len())
            .ok_or(RamFlashError::OutOfBounds)?;
        bytes.copy_from_slice(src);
        Ok(())
    }

    fn capacity(&self) -> usize {
        SIZE
    }
}

impl<const SIZE: usize, const PAGE: usize, const WRITE: usize, const MULTI: bool> NorFlash
    for RamFlash<SIZE, PAGE, WRITE, MULTI>
{
    const WRITE_SIZE: usize = WRITE;
    const ERASE_SIZE: usize = PAGE;

    fn erase(&mut self, from: u32, to: u32) -> core::result::Result<(), RamFlashError> {
        let (from, to) = (from as usize, to as usize);
        // Out of range (or `from > to`) is refused by `change`.
        if from % PAGE != 0 || to % PAGE != 0 {
            return Err(RamFlashError::OutOfBounds);
        }
        self.change(from, to, None)
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> core::result::Result<(), RamFlashError> {
        let start = offset as usize;
        if !start.is_multiple_of(Self::UNIT) || !bytes.len().is_multiple_of(Self::UNIT) {
            return Err(RamFlashError::OutOfBounds);
        }
        self.change(start, start + bytes.len(), Some(bytes))
    }
}

/// Programs a unit again only by clearing more bits, as multi-write parts do.
impl<const SIZE: usize, const PAGE: usize, const WRITE: usize> MultiwriteNorFlash
    for RamFlash<SIZE, PAGE, WRITE, true>
{
}
