//! Key stores from C: provkit's NOR-flash store over a C flash driver, or a key store
//! written in C (a secure element driver) behind a vtable.
//!
//! Both become a [`provkit_store`], which every function that uses a key or a record
//! takes. A firmware links only the kind it sets up (see `Ops`).

use crate::Provider;
use crate::boundary::Failure;
use crate::boundary::{
    Ffi, apart, array, array_out, bytes, bytes_mut, get, get_mut, guard, needed,
};
use crate::provkit_status;
use crate::rng::{CallbackRng, provkit_rng};
use crate::state::{OpaqueState, slot};
use crate::status::callback_error;
use core::ffi::c_void;
use core::mem::ManuallyDrop;
use embedded_storage::nor_flash::{
    ErrorType, MultiwriteNorFlash, NorFlash, NorFlashError, NorFlashErrorKind, ReadNorFlash,
};
use provkit::Error;
use provkit::ec::{EcPublicKey, EcdsaSignature, UNCOMPRESSED_LEN};
use provkit::error::StoreError;
use provkit::provider::CryptoProvider;
use provkit::secret::SecretBytes;
use provkit::store::flash::FlashStore;
use provkit::store::{IdentityKeys, KeyId, KeyInventory, KeyKind, RecordId, Records};

/// Bytes of a `provkit_store`.
pub const PROVKIT_STORE_SIZE: usize = 128;
/// Bytes of an uncompressed P-256 public key (SEC1: `04 || x || y`).
pub const PROVKIT_PUBLIC_KEY_LEN: usize = 65;
/// Bytes of a P-256 private scalar, a digest, an ECDH shared secret.
pub const PROVKIT_SCALAR_LEN: usize = 32;
/// Bytes of an ECDSA P-256 signature (`r || s`, big-endian).
pub const PROVKIT_SIGNATURE_LEN: usize = 64;
/// The smallest erase sector the flash store accepts; sectors are multiples of it.
pub const PROVKIT_FLASH_MIN_SECTOR: u32 = 256;

/// A key store: the NOR-flash store ([`provkit_store_mount_flash`]) or a C key store
/// ([`provkit_store_use_keystore`]). Zero-initialize it (`provkit_store s = {0};`) or
/// release it before setting it up; release it with [`provkit_store_release`].
#[repr(C, align(16))]
pub struct provkit_store {
    opaque: [u8; PROVKIT_STORE_SIZE],
}

impl core::fmt::Debug for provkit_store {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("provkit_store")
    }
}

/// A NOR-flash part, driven by C callbacks. provkit uses `capacity` bytes from offset 0
/// of what the driver addresses (give it a partition), in pages of one erase sector.
///
/// The callbacks return 0 on success, anything else on failure (reported as
/// `PROVKIT_ERR_STORE_BACKEND`). provkit calls them only with offsets and lengths inside
/// `capacity`; `program` with offsets and lengths that are multiples of the library's
/// program unit ([`provkit_flash_unit`]), `erase` with whole sectors.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct provkit_flash_driver {
    /// Passed to every callback as is.
    pub ctx: *mut c_void,
    /// Reads `len` bytes at `offset` into `buf`.
    pub read: Option<
        unsafe extern "C" fn(ctx: *mut c_void, offset: u32, buf: *mut u8, len: usize) -> i32,
    >,
    /// Programs `len` bytes at `offset` (bits 1 → 0 only; the bytes were erased, or with
    /// `multiwrite`, may be programmed again).
    pub program: Option<
        unsafe extern "C" fn(ctx: *mut c_void, offset: u32, data: *const u8, len: usize) -> i32,
    >,
    /// Erases the `len` bytes at `offset` to 0xFF: one or more whole sectors.
    pub erase: Option<unsafe extern "C" fn(ctx: *mut c_void, offset: u32, len: u32) -> i32>,
    /// Bytes provkit may use: at least two sectors, a multiple of `sector_size`.
    pub capacity: u32,
    /// The part's erase sector: a multiple of [`PROVKIT_FLASH_MIN_SECTOR`] (256).
    pub sector_size: u32,
    /// The part's program size: 1, 2, 4, 8, 16 or 32 bytes, at most [`provkit_flash_unit`].
    pub write_size: u32,
    /// Whether the part may program a word again (bits 1 → 0): a superseded key is then
    /// zeroed in place instead of its page evacuated and erased. False for flash with ECC.
    pub multiwrite: bool,
}

/// A key store written in C, e.g. over a secure element that holds the identity key.
///
/// Every callback gets the `ctx` given to [`provkit_store_use_keystore`] and returns a
/// [`provkit_status`]: `PROVKIT_OK`, or the store error that says what happened
/// (`PROVKIT_ERR_STORE_NOT_FOUND` for an absent key or record, `PROVKIT_ERR_STORE_FULL`,
/// ...); any other value is reported as `PROVKIT_ERR_STORE_BACKEND`. The lengths passed
/// are the buffers' sizes (65 for a public key, 32 for a digest or a shared secret, 64
/// for a signature). Optional callbacks may be NULL: provkit then answers
/// `PROVKIT_ERR_UNSUPPORTED`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct provkit_keystore_vtable {
    /// Writes the uncompressed public key of P-256 key `key_id`. Required.
    pub public_key: Option<
        unsafe extern "C" fn(
            ctx: *mut c_void,
            key_id: u32,
            public_out: *mut u8,
            public_len: usize,
        ) -> i32,
    >,
    /// Signs a SHA-256 digest with key `key_id`: `r || s`. Required.
    pub sign_digest: Option<
        unsafe extern "C" fn(
            ctx: *mut c_void,
            key_id: u32,
            digest: *const u8,
            digest_len: usize,
            signature_out: *mut u8,
            signature_len: usize,
        ) -> i32,
    >,
    /// ECDH of key `key_id` with a peer's uncompressed public key (provkit has checked it
    /// is on the curve): the shared x-coordinate. Optional: the device functions of this
    /// API sign with the identity key and agree only with ephemeral keys; a store that
    /// offers static ECDH (a certified keyAgreement key) provides it.
    pub ecdh: Option<
        unsafe extern "C" fn(
            ctx: *mut c_void,
            key_id: u32,
            peer_public: *const u8,
            peer_len: usize,
            shared_out: *mut u8,
            shared_len: usize,
        ) -> i32,
    >,
    /// Generates P-256 key `key_id` inside the store, with its own RNG; writes its public
    /// key. Optional.
    pub generate_p256: Option<
        unsafe extern "C" fn(
            ctx: *mut c_void,
            key_id: u32,
            public_out: *mut u8,
            public_len: usize,
        ) -> i32,
    >,
    /// Deletes key `key_id`. Optional.
    pub delete_key: Option<unsafe extern "C" fn(ctx: *mut c_void, key_id: u32) -> i32>,
    /// Reads record `record_id` into `out` (`capacity` bytes) and sets `*len_out`; a
    /// record larger than `capacity` returns `PROVKIT_ERR_BUFFER_TOO_SMALL` with its
    /// length in `*len_out`. Required for DUKPT and pinning.
    pub read_record: Option<
        unsafe extern "C" fn(
            ctx: *mut c_void,
            record_id: u32,
            out: *mut u8,
            capacity: usize,
            len_out: *mut usize,
        ) -> i32,
    >,
    /// Writes (replaces) record `record_id`, atomically. Required for DUKPT and pinning.
    pub write_record: Option<
        unsafe extern "C" fn(ctx: *mut c_void, record_id: u32, data: *const u8, len: usize) -> i32,
    >,
    /// Deletes record `record_id`. Optional.
    pub delete_record: Option<unsafe extern "C" fn(ctx: *mut c_void, record_id: u32) -> i32>,
    /// The largest record the store holds, in bytes (a DUKPT device needs 20 for an AES-128
    /// initial key, 36 for AES-256).
    pub max_record_len: usize,
}

/// The flash store's program unit in this build: 4 bytes by default, 8, 16 or 32 with
/// feature `flash-unit-8`, `-16` or `-32`. A driver's `write_size` must divide it.
#[unsafe(no_mangle)]
pub extern "C" fn provkit_flash_unit() -> u32 {
    UNIT as u32
}

#[cfg(feature = "flash-unit-32")]
const UNIT: usize = 32;
#[cfg(all(feature = "flash-unit-16", not(feature = "flash-unit-32")))]
const UNIT: usize = 16;
#[cfg(all(
    feature = "flash-unit-8",
    not(any(feature = "flash-unit-16", feature = "flash-unit-32"))
))]
const UNIT: usize = 8;
#[cfg(not(any(
    feature = "flash-unit-8",
    feature = "flash-unit-16",
    feature = "flash-unit-32"
)))]
const UNIT: usize = 4;

/// The C flash driver as embedded-storage's NOR flash. It declares the smallest sector
/// the store accepts; the store's pages are the part's real sectors
/// (`mount_with_page_size`), and every erase is checked against them.
struct CallbackFlash {
    driver: provkit_flash_driver,
}

/// A flash failure: the driver's, or a request outside the part (never made by the store).
#[derive(Debug)]
enum FlashFault {
    Driver,
    OutOfBounds,
    NotAligned,
}

impl NorFlashError for FlashFault {
    fn kind(&self) -> NorFlashErrorKind {
        match self {
            Self::Driver => NorFlashErrorKind::Other,
            Self::OutOfBounds => NorFlashErrorKind::OutOfBounds,
            Self::NotAligned => NorFlashErrorKind::NotAligned,
        }
    }
}

impl CallbackFlash {
    fn inside(&self, offset: u32, len: usize) -> Result<(), FlashFault> {
        let end = (offset as usize).checked_add(len);
        match end {
            Some(end) if end <= self.driver.capacity as usize => Ok(()),
            _ => Err(FlashFault::OutOfBounds),
        }
    }
}

impl ErrorType for CallbackFlash {
    type Error = FlashFault;
}

impl ReadNorFlash for CallbackFlash {
    const READ_SIZE: usize = 1;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), FlashFault> {
        self.inside(offset, bytes.len())?;
        let read = self.driver.read.ok_or(FlashFault::Driver)?;
        // SAFETY: `bytes` is `bytes.len()` writable bytes; the driver's contract.
        match unsafe { read(self.driver.ctx, offset, bytes.as_mut_ptr(), bytes.len()) } {
            0 => Ok(()),
            _ => Err(FlashFault::Driver),
        }
    }

    fn capacity(&self) -> usize {
        self.driver.capacity as usize
    }
}

impl NorFlash for CallbackFlash {
    const WRITE_SIZE: usize = UNIT;
    const ERASE_SIZE: usize = PROVKIT_FLASH_MIN_SECTOR as usize;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), FlashFault> {
        let sector = self.driver.sector_size;
        if from > to || !from.is_multiple_of(sector) || !to.is_multiple_of(sector) {
            return Err(FlashFault::NotAligned);
        }
        self.inside(from, (to - from) as usize)?;
        let erase = self.driver.erase.ok_or(FlashFault::Driver)?;
        // SAFETY: the driver's contract; whole sectors inside the part.
        match unsafe { erase(self.driver.ctx, from, to - from) } {
            0 => Ok(()),
            _ => Err(FlashFault::Driver),
        }
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), FlashFault> {
        if !(offset as usize).is_multiple_of(UNIT) || !bytes.len().is_multiple_of(UNIT) {
            return Err(FlashFault::NotAligned);
        }
        self.inside(offset, bytes.len())?;
        let program = self.driver.program.ok_or(FlashFault::Driver)?;
        // SAFETY: `bytes` is `bytes.len()` readable bytes; the driver's contract.
        match unsafe { program(self.driver.ctx, offset, bytes.as_ptr(), bytes.len()) } {
            0 => Ok(()),
            _ => Err(FlashFault::Driver),
        }
    }
}

// The store mounts with `mount_multiwrite_with_page_size` only when the driver says the
// part may program a word again.
impl MultiwriteNorFlash for CallbackFlash {}

/// A key store in C, behind its vtable.
struct CallbackStore {
    vtable: provkit_keystore_vtable,
    ctx: *mut c_void,
}

type Callback<T> = Option<T>;

impl CallbackStore {
    /// The result of a callback's status.
    fn result(status: i32) -> provkit::Result<()> {
        if status == provkit_status::PROVKIT_OK as i32 {
            Ok(())
        } else {
            Err(callback_error(status))
        }
    }

    fn required<T>(callback: Callback<T>) -> provkit::Result<T> {
        callback.ok_or(Error::Unsupported)
    }

    fn public_key_from(&self, raw: &[u8; UNCOMPRESSED_LEN]) -> provkit::Result<EcPublicKey> {
        // Checked on the curve, whatever the C store wrote.
        <Provider as CryptoProvider>::p256_parse_public(raw)
    }
}

impl KeyInventory for CallbackStore {
    fn key_kind(&mut self, id: KeyId) -> provkit::Result<KeyKind> {
        self.public_key(id).map(|_| KeyKind::P256)
    }

    fn delete_key(&mut self, id: KeyId) -> provkit::Result<()> {
        let delete = Self::required(self.vtable.delete_key)?;
        // SAFETY: the C store's contract (`provkit_store_use_keystore`).
        Self::result(unsafe { delete(self.ctx, id.0) })
    }
}

impl IdentityKeys for CallbackStore {
    fn generate_p256(
        &mut self,
        id: KeyId,
        _rng: &mut dyn rand_core::CryptoRng,
    ) -> provkit::Result<EcPublicKey> {
        let generate = Self::required(self.vtable.generate_p256)?;
        let mut raw = [0u8; UNCOMPRESSED_LEN];
        // SAFETY: `raw` is UNCOMPRESSED_LEN writable bytes; the C store's contract.
        Self::result(unsafe { generate(self.ctx, id.0, raw.as_mut_ptr(), raw.len()) })?;
        self.public_key_from(&raw)
    }

    fn import_p256(&mut self, _: KeyId, _: &SecretBytes<32>) -> provkit::Result<EcPublicKey> {
        // A secure element's keys are born in it or provisioned by its own means.
        Err(Error::Unsupported)
    }

    fn public_key(&mut self, id: KeyId) -> provkit::Result<EcPublicKey> {
        let public_key = Self::required(self.vtable.public_key)?;
        let mut raw = [0u8; UNCOMPRESSED_LEN];
        // SAFETY: `raw` is UNCOMPRESSED_LEN writable bytes; the C store's contract.
        Self::result(unsafe { public_key(self.ctx, id.0, raw.as_mut_ptr(), raw.len()) })?;
        self.public_key_from(&raw)
    }

    fn sign_digest(&mut self, id: KeyId, digest: &[u8; 32]) -> provkit::Result<EcdsaSignature> {
        let sign = Self::required(self.vtable.sign_digest)?;
        let mut sig = [0u8; PROVKIT_SIGNATURE_LEN];
        // SAFETY: the buffers are the lengths given; the C store's contract.
        Self::result(unsafe {
            sign(
                self.ctx,
                id.0,
                digest.as_ptr(),
                digest.len(),
                sig.as_mut_ptr(),
                sig.len(),
            )
        })?;
        Ok(EcdsaSignature(sig))
    }

    fn ecdh(&mut self, id: KeyId, peer: &EcPublicKey) -> provkit::Result<SecretBytes<32>> {
        let ecdh = Self::required(self.vtable.ecdh)?;
        let peer = peer.to_uncompressed();
        let mut out = [0u8; 32];
        // SAFETY: the buffers are the lengths given; the C store's contract.
        let status = unsafe {
            ecdh(
                self.ctx,
                id.0,
                peer.as_ptr(),
                peer.len(),
                out.as_mut_ptr(),
                out.len(),
            )
        };
        let shared = SecretBytes::new(out);
        zeroize::Zeroize::zeroize(&mut out);
        Self::result(status)?;
        Ok(shared)
    }
}

impl Records for CallbackStore {
    fn max_record_len(&self) -> usize {
        self.vtable.max_record_len
    }

    fn read_record(&mut self, id: RecordId, out: &mut [u8]) -> provkit::Result<usize> {
        let read = Self::required(self.vtable.read_record)?;
        let mut len = 0usize;
        // SAFETY: `out` is `out.len()` writable bytes, `len` a writable usize; the C
        // store's contract.
        let status = unsafe { read(self.ctx, id.0, out.as_mut_ptr(), out.len(), &mut len) };
        if status == provkit_status::PROVKIT_ERR_BUFFER_TOO_SMALL as i32 {
            return Err(Error::buffer_too_small(len));
        }
        Self::result(status)?;
        if len > out.len() {
            // The callback claims more than it could have written.
            return Err(StoreError::Corrupt.into());
        }
        Ok(len)
    }

    fn write_record(&mut self, id: RecordId, data: &[u8]) -> provkit::Result<()> {
        if data.len() > self.vtable.max_record_len {
            return Err(StoreError::RecordTooLarge.into());
        }
        let write = Self::required(self.vtable.write_record)?;
        // SAFETY: `data` is `data.len()` readable bytes; the C store's contract.
        Self::result(unsafe { write(self.ctx, id.0, data.as_ptr(), data.len()) })
    }

    fn delete_record(&mut self, id: RecordId) -> provkit::Result<()> {
        let delete = Self::required(self.vtable.delete_record)?;
        // SAFETY: the C store's contract.
        Self::result(unsafe { delete(self.ctx, id.0) })
    }
}

/// One of the two store kinds; which one, `StoreInner::kind` says.
union Storage {
    flash: ManuallyDrop<FlashStore<CallbackFlash, Provider>>,
    callbacks: ManuallyDrop<CallbackStore>,
}

#[derive(Clone, Copy)]
enum Kind {
    Flash,
    Callbacks,
}

/// The record operations of a store, per kind: every firmware that sets a kind up uses
/// them (DUKPT registers, pinned peers), and the table of a kind is referenced only by the
/// function that sets that kind up. Key operations go through `Device::either` instead, so
/// that a firmware links P-256 signing only where it signs (a DUKPT terminal never does).
struct Ops {
    max_record_len: fn(&Storage) -> usize,
    read_record: fn(&mut Storage, RecordId, &mut [u8]) -> provkit::Result<usize>,
    write_record: fn(&mut Storage, RecordId, &[u8]) -> provkit::Result<()>,
}

// SAFETY (every accessor below): a store's `ops` and `kind` are set with its storage, by
// the one function that fills that variant (`provkit_store_mount_flash` for `flash`,
// `provkit_store_use_keystore` for `callbacks`).
fn flash(s: &mut Storage) -> &mut FlashStore<CallbackFlash, Provider> {
    // SAFETY: see above.
    unsafe { &mut s.flash }
}

fn flash_ref(s: &Storage) -> &FlashStore<CallbackFlash, Provider> {
    // SAFETY: see above.
    unsafe { &s.flash }
}

fn callbacks(s: &mut Storage) -> &mut CallbackStore {
    // SAFETY: see above.
    unsafe { &mut s.callbacks }
}

fn callbacks_ref(s: &Storage) -> &CallbackStore {
    // SAFETY: see above.
    unsafe { &s.callbacks }
}

static FLASH_OPS: Ops = Ops {
    max_record_len: |s| flash_ref(s).max_record_len(),
    read_record: |s, id, out| flash(s).read_record(id, out),
    write_record: |s, id, data| flash(s).write_record(id, data),
};

static CALLBACK_OPS: Ops = Ops {
    max_record_len: |s| callbacks_ref(s).max_record_len(),
    read_record: |s, id, out| callbacks(s).read_record(id, out),
    write_record: |s, id, data| callbacks(s).write_record(id, data),
};

/// A store in a `provkit_store`.
pub(crate) struct StoreInner {
    kind: Kind,
    ops: &'static Ops,
    storage: Storage,
}

/// A set-up store, as protocols see it: identity keys and records, dispatched to its kind.
pub(crate) struct Device<'a>(&'a mut StoreInner);

impl Device<'_> {
    /// The store for the operations outside `Ops` (keys): each links both kinds (the C
    /// key store's side is a callback call), but only where it is called.
    fn either<T>(
        &mut self,
        on_flash: impl FnOnce(&mut FlashStore<CallbackFlash, Provider>) -> T,
        on_callbacks: impl FnOnce(&mut CallbackStore) -> T,
    ) -> T {
        match self.0.kind {
            Kind::Flash => on_flash(flash(&mut self.0.storage)),
            Kind::Callbacks => on_callbacks(callbacks(&mut self.0.storage)),
        }
    }
}

impl KeyInventory for Device<'_> {
    fn key_kind(&mut self, id: KeyId) -> provkit::Result<KeyKind> {
        self.either(|f| f.key_kind(id), |c| c.key_kind(id))
    }

    fn delete_key(&mut self, id: KeyId) -> provkit::Result<()> {
        self.either(|f| f.delete_key(id), |c| c.delete_key(id))
    }
}

impl IdentityKeys for Device<'_> {
    fn generate_p256(
        &mut self,
        id: KeyId,
        rng: &mut dyn rand_core::CryptoRng,
    ) -> provkit::Result<EcPublicKey> {
        match self.0.kind {
            Kind::Flash => flash(&mut self.0.storage).generate_p256(id, rng),
            Kind::Callbacks => callbacks(&mut self.0.storage).generate_p256(id, rng),
        }
    }

    fn import_p256(&mut self, id: KeyId, scalar: &SecretBytes<32>) -> provkit::Result<EcPublicKey> {
        self.either(|f| f.import_p256(id, scalar), |c| c.import_p256(id, scalar))
    }

    fn public_key(&mut self, id: KeyId) -> provkit::Result<EcPublicKey> {
        self.either(|f| f.public_key(id), |c| c.public_key(id))
    }

    fn sign_digest(&mut self, id: KeyId, digest: &[u8; 32]) -> provkit::Result<EcdsaSignature> {
        self.either(|f| f.sign_digest(id, digest), |c| c.sign_digest(id, digest))
    }

    fn ecdh(&mut self, id: KeyId, peer: &EcPublicKey) -> provkit::Result<SecretBytes<32>> {
        self.either(|f| f.ecdh(id, peer), |c| c.ecdh(id, peer))
    }
}

impl Records for Device<'_> {
    fn max_record_len(&self) -> usize {
        (self.0.ops.max_record_len)(&self.0.storage)
    }

    fn read_record(&mut self, id: RecordId, out: &mut [u8]) -> provkit::Result<usize> {
        (self.0.ops.read_record)(&mut self.0.storage, id, out)
    }

    fn write_record(&mut self, id: RecordId, data: &[u8]) -> provkit::Result<()> {
        (self.0.ops.write_record)(&mut self.0.storage, id, data)
    }

    fn delete_record(&mut self, id: RecordId) -> provkit::Result<()> {
        self.either(|f| f.delete_record(id), |c| c.delete_record(id))
    }
}

impl OpaqueState for provkit_store {
    type Inner = StoreInner;
    const TAG: u32 = 0x7073_7431; // "pst1"
}

/// The store set up in `store`.
///
/// # Safety
/// As [`slot`].
#[inline(never)]
pub(crate) unsafe fn device_store<'a>(store: *mut provkit_store) -> Ffi<Device<'a>> {
    // SAFETY: the caller's contract.
    Ok(Device(unsafe { slot(store) }?.into_mut()?))
}

/// The first step of setting a store up: releases what `store` held and copies the
/// caller's description (a flash driver or a vtable), which may go after the call.
///
/// # Safety
/// `store` as [`slot`]; `description` is NULL or a valid `T`.
unsafe fn set_up<'a, T: Copy>(
    store: *mut provkit_store,
    description: *const T,
) -> Ffi<(crate::state::Handle<'a, provkit_store>, T)> {
    // SAFETY: the caller's contract.
    let mut state = unsafe { slot(store) }?;
    state.clear();
    // SAFETY: the caller's contract.
    let description = *unsafe { get(description) }?;
    Ok((state, description))
}

/// Mounts provkit's NOR-flash key store on the part `driver` describes (copied: the
/// struct may go after the call, its `ctx` must stay valid while the store is used):
/// formats it if it holds no store, completes what a power cut interrupted, and scrubs
/// superseded keys. Any store `store` held is released first.
///
/// Returns `PROVKIT_ERR_INVALID_ARGUMENT` for a geometry the store cannot use (see
/// [`provkit_flash_driver`]), `PROVKIT_ERR_NULL_POINTER` for a missing callback,
/// `PROVKIT_ERR_STORE_CORRUPT` for flash of another format, `PROVKIT_ERR_STORE_BACKEND`
/// when the driver fails.
///
/// # Safety
/// `store` is NULL or a `provkit_store` (zero-initialized or set up by provkit);
/// `driver` is NULL or a valid `provkit_flash_driver` whose callbacks may be called with
/// its `ctx` until the store is released.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_store_mount_flash(
    store: *mut provkit_store,
    driver: *const provkit_flash_driver,
) -> provkit_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let (mut state, driver) = unsafe { set_up(store, driver) }?;
        if driver.read.is_none() || driver.program.is_none() || driver.erase.is_none() {
            return Err(Failure::PROVKIT_ERR_NULL_POINTER);
        }
        let w = driver.write_size as usize;
        let sector = driver.sector_size;
        if !w.is_power_of_two()
            || w > UNIT
            || sector == 0
            || !sector.is_multiple_of(PROVKIT_FLASH_MIN_SECTOR)
            || !driver.capacity.is_multiple_of(sector)
            || driver.capacity / sector < 2
        {
            return Err(Failure::PROVKIT_ERR_INVALID_ARGUMENT);
        }
        let flash = CallbackFlash { driver };
        let mounted = if driver.multiwrite {
            FlashStore::<_, Provider>::mount_multiwrite_with_page_size(flash, sector as usize)
        } else {
            FlashStore::<_, Provider>::mount_with_page_size(flash, sector as usize)
        };
        state.put(StoreInner {
            kind: Kind::Flash,
            ops: &FLASH_OPS,
            storage: Storage {
                flash: ManuallyDrop::new(mounted?),
            },
        });
        Ok(())
    })
}

/// Sets up `store` over a key store written in C: `vtable` (copied) and `ctx`, which is
/// passed to every callback and must stay valid while the store is used. Any store
/// `store` held is released first.
///
/// # Safety
/// `store` is NULL or a `provkit_store`; `vtable` is NULL or a valid vtable whose
/// callbacks may be called with `ctx` until the store is released.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_store_use_keystore(
    store: *mut provkit_store,
    vtable: *const provkit_keystore_vtable,
    ctx: *mut c_void,
) -> provkit_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let (mut state, vtable) = unsafe { set_up(store, vtable) }?;
        if vtable.public_key.is_none() || vtable.sign_digest.is_none() {
            return Err(Failure::PROVKIT_ERR_NULL_POINTER);
        }
        state.put(StoreInner {
            kind: Kind::Callbacks,
            ops: &CALLBACK_OPS,
            storage: Storage {
                callbacks: ManuallyDrop::new(CallbackStore { vtable, ctx }),
            },
        });
        Ok(())
    })
}

/// Releases `store` and wipes it; it may then be set up again. NULL or an empty store is
/// a no-op. Nothing on the flash changes.
///
/// # Safety
/// `store` is NULL or a `provkit_store`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_store_release(store: *mut provkit_store) {
    let _ = guard(|| {
        // SAFETY: the caller's contract.
        unsafe { slot(store) }?.clear();
        Ok(())
    });
}

/// Imports a P-256 private key (`scalar`, 32 bytes, big-endian) as key `key_id`, and writes
/// its public key to `public_out` (65 bytes) unless `public_len` is 0. A flash store keeps
/// the scalar on flash (protect it with the MCU's read-out protection); a C key store
/// answers `PROVKIT_ERR_UNSUPPORTED`.
///
/// # Safety
/// `store` as [`provkit_store_release`]; `scalar` is `scalar_len` readable bytes;
/// `public_out` is `public_len` writable bytes (or NULL with 0).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_store_import_p256(
    store: *mut provkit_store,
    key_id: u32,
    scalar: *const u8,
    scalar_len: usize,
    public_out: *mut u8,
    public_len: usize,
) -> provkit_status {
    guard(|| {
        apart(scalar, scalar_len, public_out, public_len)?;
        // SAFETY: the caller's contract.
        let scalar = unsafe { array::<32>(scalar, scalar_len) }?;
        // SAFETY: the caller's contract.
        let out = unsafe { public_output(public_out, public_len) }?;
        // SAFETY: the caller's contract.
        let mut store = unsafe { device_store(store) }?;
        let public = store.import_p256(KeyId(key_id), &SecretBytes::new(*scalar))?;
        write_public(out, &public);
        Ok(())
    })
}

/// Generates P-256 key `key_id` (from `rng` for a flash store; a C key store uses its own)
/// and writes its public key to `public_out` (65 bytes) unless `public_len` is 0. If `rng`
/// fails, the key is deleted again and `PROVKIT_ERR_RNG_FAILED` returned.
///
/// # Safety
/// As [`provkit_store_import_p256`]; `rng` is NULL or a valid `provkit_rng`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_store_generate_p256(
    store: *mut provkit_store,
    key_id: u32,
    rng: *const provkit_rng,
    public_out: *mut u8,
    public_len: usize,
) -> provkit_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let mut rng = unsafe { CallbackRng::new(rng) }?;
        // SAFETY: the caller's contract.
        let out = unsafe { public_output(public_out, public_len) }?;
        // SAFETY: the caller's contract.
        let mut store = unsafe { device_store(store) }?;
        let public = store.generate_p256(KeyId(key_id), &mut rng)?;
        if let Err(failed) = rng.check() {
            // A key from a failed RNG never stays.
            store.delete_key(KeyId(key_id))?;
            return Err(failed);
        }
        write_public(out, &public);
        Ok(())
    })
}

/// Writes the public key of P-256 key `key_id` to `public_out` (65 bytes).
///
/// # Safety
/// `store` as [`provkit_store_release`]; `public_out` is `public_len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_store_public_key(
    store: *mut provkit_store,
    key_id: u32,
    public_out: *mut u8,
    public_len: usize,
) -> provkit_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let out = unsafe { array_out::<UNCOMPRESSED_LEN>(public_out, public_len) }?;
        // SAFETY: the caller's contract.
        let mut store = unsafe { device_store(store) }?;
        *out = store.public_key(KeyId(key_id))?.to_uncompressed();
        Ok(())
    })
}

/// Deletes key `key_id` (from flash: scrubbed before this returns).
///
/// # Safety
/// `store` as [`provkit_store_release`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_store_delete_key(
    store: *mut provkit_store,
    key_id: u32,
) -> provkit_status {
    guard(|| {
        // SAFETY: the caller's contract.
        unsafe { device_store(store) }?.delete_key(KeyId(key_id))?;
        Ok(())
    })
}

/// Reads record `record_id` into `out` (`capacity` bytes) and sets `*len_out` to its
/// length. A record longer than `capacity` gives `PROVKIT_ERR_BUFFER_TOO_SMALL` with the
/// length needed in `*len_out`.
///
/// # Safety
/// `store` as [`provkit_store_release`]; `out` is `capacity` writable bytes; `len_out` is
/// NULL or a writable `size_t`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_store_read_record(
    store: *mut provkit_store,
    record_id: u32,
    out: *mut u8,
    capacity: usize,
    len_out: *mut usize,
) -> provkit_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let len_out = unsafe { get_mut(len_out) }?;
        *len_out = 0;
        // SAFETY: the caller's contract.
        let out = unsafe { bytes_mut(out, capacity) }?;
        // SAFETY: the caller's contract.
        let mut store = unsafe { device_store(store) }?;
        *len_out = store
            .read_record(RecordId(record_id), out)
            .map_err(|e| needed(e, len_out))?;
        Ok(())
    })
}

/// Writes (replaces) record `record_id`, atomically: after a power cut, either the old or
/// the new value.
///
/// # Safety
/// `store` as [`provkit_store_release`]; `data` is `len` readable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_store_write_record(
    store: *mut provkit_store,
    record_id: u32,
    data: *const u8,
    len: usize,
) -> provkit_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let data = unsafe { bytes(data, len) }?;
        // SAFETY: the caller's contract.
        unsafe { device_store(store) }?.write_record(RecordId(record_id), data)?;
        Ok(())
    })
}

/// Deletes record `record_id`.
///
/// # Safety
/// `store` as [`provkit_store_release`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_store_delete_record(
    store: *mut provkit_store,
    record_id: u32,
) -> provkit_status {
    guard(|| {
        // SAFETY: the caller's contract.
        unsafe { device_store(store) }?.delete_record(RecordId(record_id))?;
        Ok(())
    })
}

/// `public_out` for a function whose public-key output is optional (length 0).
///
/// # Safety
/// As [`bytes_mut`].
unsafe fn public_output<'a>(p: *mut u8, len: usize) -> Ffi<Option<&'a mut [u8; UNCOMPRESSED_LEN]>> {
    if len == 0 {
        return Ok(None);
    }
    // SAFETY: the caller's contract.
    unsafe { array_out::<UNCOMPRESSED_LEN>(p, len) }.map(Some)
}

fn write_public(out: Option<&mut [u8; UNCOMPRESSED_LEN]>, key: &EcPublicKey) {
    if let Some(out) = out {
        *out = key.to_uncompressed();
    }
}
