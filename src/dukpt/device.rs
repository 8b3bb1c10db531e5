//! The transaction-originating device: intermediate derivation registers persisted as
//! records, and the counter discipline that never reuses a key.
//!
//! One engine serves AES DUKPT (32 registers, at most 16 one-bits) and TDES DUKPT (21
//! future-key registers, at most 10 one-bits). The record layout is specified in
//! `docs/dukpt.md`:
//!
//! - record `base`: header, 18 bytes: `44 01 | scheme | status | next counter (u32 BE) |
//!   id (10 bytes: AES IKID || 0000, or the TDES initial KSN)`;
//! - record `base + 1 + i`: register `i`, `counter (u32 BE) || key`, counter 0 = empty.
//!
//! Which registers are live is a function of the stored counter alone (see
//! [`register_counter`]), so a transaction commits with a single atomic header write.

use super::counter::CounterRule;
use crate::error::{DukptError, Error, Result, StoreError};
use crate::secret::SecretBytes;
use crate::store::{RecordId, Records};

use super::counter::AES_RULE;
use super::kdf::{kdf, set_counter};
use super::keys::{AesKeySize, InitialKey, TransactionKey, intermediate_derivation_data};
use super::ksn::{AesKsn, InitialKeyId};
use core::fmt;

const MAGIC: u8 = 0x44;
const VERSION: u8 = 0x01;
pub(crate) const HEADER_LEN: usize = 18;
const STATUS_ACTIVE: u8 = 0;
const STATUS_EXHAUSTED: u8 = 1;
const STATUS_LOADING: u8 = 2;

/// Scheme tag of TDES DUKPT in the header.
#[cfg(feature = "tdes")]
pub(crate) const TAG_TDES: u8 = 0x80;

/// What a scheme looks like to the engine.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Geometry {
    pub(crate) rule: CounterRule,
    pub(crate) key_len: usize,
    pub(crate) tag: u8,
}

/// The decoded header record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) tag: u8,
    pub(crate) status: u8,
    pub(crate) counter: u32,
    pub(crate) id: [u8; 10],
}

impl Header {
    fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = [0u8; HEADER_LEN];
        let (head, id) = out.split_at_mut(8);
        let [c0, c1, c2, c3] = self.counter.to_be_bytes();
        head.copy_from_slice(&[MAGIC, VERSION, self.tag, self.status, c0, c1, c2, c3]);
        id.copy_from_slice(&self.id);
        out
    }

    fn decode(bytes: &[u8]) -> Result<Self> {
        let arr: &[u8; HEADER_LEN] = bytes.try_into().map_err(|_| StoreError::Corrupt)?;
        let (head, rest) = arr.split_first_chunk::<8>().ok_or(StoreError::Corrupt)?;
        let [magic, version, tag, status, c0, c1, c2, c3] = *head;
        if magic != MAGIC || version != VERSION || status > STATUS_LOADING {
            return Err(StoreError::Corrupt.into());
        }
        let id: [u8; 10] = rest.try_into().map_err(|_| StoreError::Corrupt)?;
        Ok(Self {
            tag,
            status,
            counter: u32::from_be_bytes([c0, c1, c2, c3]),
            id,
        })
    }
}

fn record(base: RecordId, offset: u32) -> Result<RecordId> {
    base.0
        .checked_add(offset)
        .map(RecordId)
        .ok_or(Error::Unsupported)
}

fn register_id(base: RecordId, index: u32) -> Result<RecordId> {
    record(base, index.checked_add(1).ok_or(Error::Unsupported)?)
}

/// The counter whose intermediate key register `j` holds when the device's next counter
/// is `n`, or `None` when the register is empty:
/// - below the lowest set bit of `n`: empty (filled while `n` is used);
/// - at the lowest set bit: the key of `n` itself;
/// - above it, where `n` has a zero: the key of `(bits of n above j) | 1 << j`, unless
///   those bits already number `max_ones` (such a child would be an invalid counter);
/// - above it, where `n` has a one: empty (used up).
pub(crate) const fn register_counter(rule: CounterRule, n: u32, j: u32) -> Option<u32> {
    if n == 0 || j >= rule.bits {
        return None;
    }
    let cur = n.trailing_zeros();
    let bit = 1u32 << j;
    if j < cur {
        return None;
    }
    if j == cur {
        return Some(n);
    }
    if n & bit != 0 {
        return None;
    }
    let above = if j >= 31 { 0 } else { n & !((bit << 1) - 1) };
    if above.count_ones() >= rule.max_ones {
        return None;
    }
    Some(above | bit)
}

fn check_room<S: Records + ?Sized>(store: &S, g: Geometry) -> Result<()> {
    let need = HEADER_LEN.max(4 + g.key_len);
    if store.max_record_len() < need {
        return Err(StoreError::RecordTooLarge.into());
    }
    Ok(())
}

fn write_register<S: Records + ?Sized>(
    store: &mut S,
    base: RecordId,
    g: Geometry,
    index: u32,
    counter: u32,
    key: Option<&[u8]>,
) -> Result<()> {
    let mut rec = SecretBytes::<36>::zero();
    let buf = rec.expose_mut();
    let (head, body) = buf.split_at_mut(4);
    if let Some(key) = key {
        head.copy_from_slice(&counter.to_be_bytes());
        body.get_mut(..g.key_len)
            .ok_or(Error::Unsupported)?
            .copy_from_slice(key.get(..g.key_len).ok_or(Error::Unsupported)?);
    }
    let data = rec
        .expose()
        .get(..4 + g.key_len)
        .ok_or(Error::Unsupported)?;
    store.write_record(register_id(base, index)?, data)
}

/// Empties every register that state `header` says must be empty and still holds a
/// key: a power cut between a transaction's commit and the wipe of its register would
/// otherwise leave that register's key, which derives every counter below it already
/// used. An exhausted device needs no register at all. Registers already empty are
/// only read.
fn scrub<S: Records + ?Sized>(
    store: &mut S,
    base: RecordId,
    g: Geometry,
    header: &Header,
) -> Result<()> {
    let n = header.counter;
    for j in 0..g.rule.bits {
        if header.status == STATUS_ACTIVE && register_counter(g.rule, n, j).is_some() {
            continue;
        }
        let mut rec = SecretBytes::<64>::zero();
        let holds_key = match store.read_record(register_id(base, j)?, rec.expose_mut()) {
            Ok(_) => rec.expose().iter().any(|&b| b != 0),
            Err(Error::Store(StoreError::NotFound)) => false,
            // Oversized: not a register this engine wrote; overwrite it too.
            Err(Error::BufferTooSmall { .. }) => true,
            Err(e) => return Err(e),
        };
        if holds_key {
            write_register(store, base, g, j, 0, None)?;
        }
    }
    Ok(())
}

/// Opens the state at `base` for a device of geometry `g`: its header, after the
/// registers it says must be empty have been scrubbed.
pub(crate) fn open<S: Records + ?Sized>(
    store: &mut S,
    base: RecordId,
    g: Geometry,
) -> Result<Header> {
    let (header, _) = peek(store, base, g)?;
    scrub(store, base, g, &header)?;
    Ok(header)
}

/// Reads register `index` and checks that it holds the key of `expected`.
fn read_register<S: Records + ?Sized>(
    store: &mut S,
    base: RecordId,
    g: Geometry,
    index: u32,
    expected: u32,
) -> Result<SecretBytes<32>> {
    let mut rec = SecretBytes::<64>::zero();
    let len = match store.read_record(register_id(base, index)?, rec.expose_mut()) {
        Ok(len) => len,
        Err(Error::BufferTooSmall { .. }) => return Err(StoreError::Corrupt.into()),
        Err(e) => return Err(e),
    };
    if len != 4 + g.key_len {
        return Err(StoreError::Corrupt.into());
    }
    let (head, body) = rec
        .expose()
        .split_first_chunk::<4>()
        .ok_or(StoreError::Corrupt)?;
    if u32::from_be_bytes(*head) != expected {
        return Err(StoreError::Corrupt.into());
    }
    let mut key = SecretBytes::<32>::zero();
    key.expose_mut()
        .get_mut(..g.key_len)
        .ok_or(Error::Unsupported)?
        .copy_from_slice(body.get(..g.key_len).ok_or(StoreError::Corrupt)?);
    Ok(key)
}

pub(crate) fn read_header<S: Records + ?Sized>(store: &mut S, base: RecordId) -> Result<Header> {
    let mut buf = [0u8; HEADER_LEN];
    let len = match store.read_record(base, &mut buf) {
        Ok(len) => len,
        Err(Error::BufferTooSmall { .. }) => return Err(StoreError::Corrupt.into()),
        Err(e) => return Err(e),
    };
    Header::decode(buf.get(..len).ok_or(StoreError::Corrupt)?)
}

/// Loads an initial key: fills every register for the state "next counter = `start`"
/// and commits with the header. A header marked "loading" is written first so that a
/// power cut mid-load leaves a device that refuses to run rather than a mix of keys.
pub(crate) fn load<S, F>(
    store: &mut S,
    base: RecordId,
    g: Geometry,
    id: [u8; 10],
    ik: &[u8],
    start: u32,
    derive: F,
) -> Result<()>
where
    S: Records + ?Sized,
    F: Fn(&[u8], u32, &mut [u8]) -> Result<()>,
{
    if !g.rule.is_valid(start) {
        return Err(DukptError::InvalidCounter.into());
    }
    check_room(store, g)?;
    let mut header = Header {
        tag: g.tag,
        status: STATUS_LOADING,
        counter: start,
        id,
    };
    store.write_record(base, &header.encode())?;

    let mut k = SecretBytes::<32>::zero();
    k.expose_mut()
        .get_mut(..g.key_len)
        .ok_or(Error::Unsupported)?
        .copy_from_slice(ik.get(..g.key_len).ok_or(Error::Unsupported)?);
    let mut reg = SecretBytes::<32>::zero();
    let mut prefix = 0u32;
    for j in (0..g.rule.bits).rev() {
        let bit = 1u32 << j;
        let parent = k.expose().get(..g.key_len).ok_or(Error::Unsupported)?;
        let out = reg
            .expose_mut()
            .get_mut(..g.key_len)
            .ok_or(Error::Unsupported)?;
        match register_counter(g.rule, start, j) {
            Some(c) => {
                derive(parent, c, out)?;
                write_register(store, base, g, j, c, Some(out))?;
            }
            None => write_register(store, base, g, j, 0, None)?,
        }
        if start & bit != 0 && start.trailing_zeros() != j {
            // Descend: the path key of the prefix including this bit.
            prefix |= bit;
            derive(parent, prefix, out)?;
            core::mem::swap(&mut k, &mut reg);
        }
    }
    header.status = STATUS_ACTIVE;
    store.write_record(base, &header.encode())
}

/// Uses the next counter: returns it and its intermediate key, after the child
/// registers are written and the advanced counter is committed.
pub(crate) fn next<S, F>(
    store: &mut S,
    base: RecordId,
    g: Geometry,
    id: [u8; 10],
    derive: F,
) -> Result<(Header, SecretBytes<32>)>
where
    S: Records + ?Sized,
    F: Fn(&[u8], u32, &mut [u8]) -> Result<()>,
{
    let mut header = read_header(store, base)?;
    if header.tag != g.tag || header.status == STATUS_LOADING || header.id != id {
        return Err(StoreError::Corrupt.into());
    }
    let n = header.counter;
    if header.status == STATUS_ACTIVE && !g.rule.is_valid(n) {
        return Err(StoreError::Corrupt.into());
    }
    scrub(store, base, g, &header)?;
    if header.status == STATUS_EXHAUSTED {
        return Err(DukptError::Exhausted.into());
    }
    let cur = n.trailing_zeros();
    let key = read_register(store, base, g, cur, n)?;

    // 1. Children for the counters that follow n (into registers that are empty in
    //    state n, so a power cut here leaves state n intact).
    if n.count_ones() < g.rule.max_ones {
        let mut child = SecretBytes::<32>::zero();
        let parent = key.expose().get(..g.key_len).ok_or(Error::Unsupported)?;
        for j in (0..cur).rev() {
            let c = n | (1u32 << j);
            let out = child
                .expose_mut()
                .get_mut(..g.key_len)
                .ok_or(Error::Unsupported)?;
            derive(parent, c, out)?;
            write_register(store, base, g, j, c, Some(out))?;
        }
    }
    // 2. Commit: the counter moves past n before anyone sees n's key.
    let used = header;
    match g.rule.next(n) {
        Some(next) => header.counter = next,
        None => header.status = STATUS_EXHAUSTED,
    }
    store.write_record(base, &header.encode())?;
    // 3. Wipe the used register.
    write_register(store, base, g, cur, 0, None)?;
    Ok((used, key))
}

/// The counter the next transaction will use, or `None` once exhausted.
pub(crate) fn peek<S: Records + ?Sized>(
    store: &mut S,
    base: RecordId,
    g: Geometry,
) -> Result<(Header, Option<u32>)> {
    let header = read_header(store, base)?;
    if header.tag != g.tag || header.status == STATUS_LOADING {
        return Err(StoreError::Corrupt.into());
    }
    let next = (header.status == STATUS_ACTIVE).then_some(header.counter);
    Ok((header, next))
}

/// The live content of register `index` (hazmat inspection and tests).
#[cfg(feature = "hazmat")]
pub(crate) fn register<S: Records + ?Sized>(
    store: &mut S,
    base: RecordId,
    g: Geometry,
    index: u32,
) -> Result<Option<SecretBytes<32>>> {
    let (_, next) = peek(store, base, g)?;
    let Some(n) = next else { return Ok(None) };
    match register_counter(g.rule, n, index) {
        Some(c) => read_register(store, base, g, index, c).map(Some),
        None => Ok(None),
    }
}

/// An AES DUKPT transaction-originating device (e.g. a PIN pad), its state in a
/// [`Records`] store.
///
/// The state is 33 records from `base`: a header (18 bytes) and one record per
/// intermediate derivation register (4 + key length ≤ 36 bytes, so any store with
/// 64-byte records fits). The stored counter is the only source of truth and every call
/// re-reads it, so two handles on the same records cannot hand out the same counter;
/// this type is deliberately not `Clone`.
///
/// [`next_transaction`](Self::next_transaction) writes the registers of the following
/// counters, then atomically commits the advanced counter, then wipes the used register,
/// and only then returns the key: a power cut at any point never lets a counter be used
/// twice (at worst one counter is skipped).
pub struct AesDevice {
    base: RecordId,
    size: AesKeySize,
    ikid: InitialKeyId,
}

fn aes_geometry(size: AesKeySize) -> Geometry {
    Geometry {
        rule: AES_RULE,
        key_len: size.key_len(),
        tag: size.key_type().algorithm_code().to_be_bytes()[1],
    }
}

fn aes_id(ikid: InitialKeyId) -> [u8; 10] {
    let [a, b, c, d, e, f, g, h] = ikid.to_bytes();
    [a, b, c, d, e, f, g, h, 0, 0]
}

fn aes_deriver(
    size: AesKeySize,
    ikid: InitialKeyId,
) -> impl Fn(&[u8], u32, &mut [u8]) -> Result<()> {
    let dd = intermediate_derivation_data(size, ikid, 0);
    move |parent, counter, out| {
        let mut dd = dd;
        set_counter(&mut dd, counter);
        kdf(parent, dd, out)
    }
}

impl AesDevice {
    /// Number of records the device occupies from its base id.
    pub const RECORDS: u32 = 33;

    /// Loads `ik` (received at key injection) into the registers at `base` and starts
    /// the counter at 1. Overwrites any device state at `base`.
    ///
    /// # Errors
    /// [`StoreError::RecordTooLarge`] when the store's records are too small; store errors.
    pub fn load_initial_key<S: Records + ?Sized>(
        store: &mut S,
        base: RecordId,
        ik: &InitialKey,
    ) -> Result<Self> {
        Self::load_at(store, base, ik, 1)
    }

    /// Loads `ik` with the counter at `counter` instead of 1: the registers are exactly
    /// those of a device that has just reached that counter. For tests of counter edges
    /// (e.g. `FFFE0000`) that would take billions of transactions to reach.
    ///
    /// Dangerous because loading an initial key at a counter it has already used makes
    /// the device reuse transaction keys.
    ///
    /// # Errors
    /// [`DukptError::InvalidCounter`] for an invalid counter; as
    /// [`load_initial_key`](Self::load_initial_key).
    #[cfg(feature = "hazmat")]
    pub fn dangerous_load_initial_key_at<S: Records + ?Sized>(
        store: &mut S,
        base: RecordId,
        ik: &InitialKey,
        counter: u32,
    ) -> Result<Self> {
        Self::load_at(store, base, ik, counter)
    }

    fn load_at<S: Records + ?Sized>(
        store: &mut S,
        base: RecordId,
        ik: &InitialKey,
        counter: u32,
    ) -> Result<Self> {
        // Every constructor of `InitialKey` already refuses a size this build leaves
        // out; checked again before the store is touched.
        let size = ik.size().supported()?;
        let ikid = ik.initial_key_id();
        let ik_bytes = ik
            .key()
            .expose()
            .get(..size.key_len())
            .ok_or(Error::Unsupported)?;
        load(
            store,
            base,
            aes_geometry(size),
            aes_id(ikid),
            ik_bytes,
            counter,
            aes_deriver(size, ikid),
        )?;
        Ok(Self { base, size, ikid })
    }

    /// Opens the device state stored at `base` (e.g. after a reset), first emptying any
    /// register its counter says must be empty (what a power cut between a transaction
    /// commit and the wipe of the used register leaves).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] when nothing is stored there; [`StoreError::Corrupt`] when
    /// it is not a complete AES DUKPT state; [`Error::Unsupported`] for a device with an
    /// AES-192 or AES-256 initial key when the `aes192` or `aes256` feature
    /// is off.
    pub fn open<S: Records + ?Sized>(store: &mut S, base: RecordId) -> Result<Self> {
        let header = read_header(store, base)?;
        let size = match header.tag {
            0x02 => AesKeySize::Aes128,
            0x03 => AesKeySize::Aes192,
            0x04 => AesKeySize::Aes256,
            _ => return Err(StoreError::Corrupt.into()),
        };
        let size = size.supported()?;
        let header = open(store, base, aes_geometry(size))?;
        let [a, b, c, d, e, f, g, h, ..] = header.id;
        Ok(Self {
            base,
            size,
            ikid: InitialKeyId::new([a, b, c, d, e, f, g, h]),
        })
    }

    /// Starts a transaction: takes the next counter, commits the advance, and returns the
    /// counter's intermediate key (with its KSN) from which the working keys come.
    ///
    /// # Errors
    /// [`DukptError::Exhausted`] once the last counter (`FFFF0000`) has been used;
    /// [`StoreError::Corrupt`] for inconsistent state; store errors (after which the
    /// counter may have advanced, never gone back).
    pub fn next_transaction<S: Records + ?Sized>(
        &mut self,
        store: &mut S,
    ) -> Result<TransactionKey> {
        let g = aes_geometry(self.size);
        let (header, key) = next(
            store,
            self.base,
            g,
            aes_id(self.ikid),
            aes_deriver(self.size, self.ikid),
        )?;
        Ok(TransactionKey::new(
            AesKsn::new(self.ikid, header.counter),
            self.size,
            key,
        ))
    }

    /// The KSN the next transaction will use, or `None` once the device is exhausted.
    ///
    /// # Errors
    /// Store errors; [`StoreError::Corrupt`].
    pub fn next_ksn<S: Records + ?Sized>(&self, store: &mut S) -> Result<Option<AesKsn>> {
        let (_, next) = peek(store, self.base, aes_geometry(self.size))?;
        Ok(next.map(|c| AesKsn::new(self.ikid, c)))
    }

    /// The device's Initial Key ID.
    #[must_use]
    pub const fn initial_key_id(&self) -> InitialKeyId {
        self.ikid
    }

    /// The size of its initial key.
    #[must_use]
    pub const fn size(&self) -> AesKeySize {
        self.size
    }

    /// The first record id of its state.
    #[must_use]
    pub const fn base(&self) -> RecordId {
        self.base
    }

    /// The live content of intermediate derivation register `index` (0..32), `None` when
    /// the register is empty. For inspection against test vectors.
    ///
    /// # Errors
    /// Store errors; [`StoreError::Corrupt`].
    #[cfg(feature = "hazmat")]
    pub fn dangerous_register<S: Records + ?Sized>(
        &self,
        store: &mut S,
        index: u32,
    ) -> Result<Option<crate::secret::SecretBuf<32>>> {
        register(store, self.base, aes_geometry(self.size), index)?
            .map(|k| {
                crate::secret::SecretBuf::from_slice(
                    k.expose().get(..self.size.key_len()).unwrap_or(&[]),
                )
            })
            .transpose()
    }
}

impl fmt::Debug for AesDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AesDevice")
            .field("base", &self.base)
            .field("size", &self.size)
            .field("ikid", &self.ikid)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn register_map_matches_the_standard_after_load() {
        for j in 0..32 {
            assert_eq!(register_counter(AES_RULE, 1, j), Some(1 << j));
        }
        // After counter 1: register 0 is empty, the rest unchanged.
        assert_eq!(register_counter(AES_RULE, 2, 0), None);
        assert_eq!(register_counter(AES_RULE, 2, 1), Some(2));
        // n = 5 (101): r0 = 5, r1 = 6, r2 empty, r3 = 8.
        assert_eq!(register_counter(AES_RULE, 5, 0), Some(5));
        assert_eq!(register_counter(AES_RULE, 5, 1), Some(6));
        assert_eq!(register_counter(AES_RULE, 5, 2), None);
        assert_eq!(register_counter(AES_RULE, 5, 3), Some(8));
        assert_eq!(
            register_counter(AES_RULE, 0x8000_0000, 31),
            Some(0x8000_0000)
        );
    }
}
