//! The AES DUKPT device (ANSI X9.24-3-2017): the initial key and the registers live in the
//! key store; each transaction takes the next counter and yields a transaction key, from
//! which the working keys (PIN, MAC, data) come.

use crate::boundary::Failure;
use crate::boundary::{Ffi, apart, array, array_out, bytes, bytes_mut, guard};
use crate::provkit_status;
use crate::rng::{CallbackRng, provkit_rng};
use crate::state::{OpaqueState, slot};
use crate::store::{device_store, provkit_store};
use provkit::dukpt::{AesDevice, InitialKey, InitialKeyId, KeyType, TransactionKey};
use provkit::store::RecordId;

/// Bytes of a `provkit_dukpt_transaction`.
pub const PROVKIT_DUKPT_TRANSACTION_SIZE: usize = 96;
/// Bytes of an AES DUKPT KSN (initial key id, 8 bytes, then the counter, big-endian).
pub const PROVKIT_DUKPT_KSN_LEN: usize = 12;
/// Bytes of an initial key id.
pub const PROVKIT_DUKPT_IKID_LEN: usize = 8;
/// How many consecutive record ids from its base a device occupies in the store.
pub const PROVKIT_DUKPT_RECORDS: u32 = 33;
const _: () = assert!(PROVKIT_DUKPT_RECORDS == AesDevice::RECORDS);

/// Working key type: double-length TDES.
pub const PROVKIT_DUKPT_KEY_TDES2: u32 = 0;
/// Working key type: triple-length TDES.
pub const PROVKIT_DUKPT_KEY_TDES3: u32 = 1;
/// Working key type: AES-128.
pub const PROVKIT_DUKPT_KEY_AES128: u32 = 2;
/// Working key type: AES-192.
pub const PROVKIT_DUKPT_KEY_AES192: u32 = 3;
/// Working key type: AES-256.
pub const PROVKIT_DUKPT_KEY_AES256: u32 = 4;

/// One transaction's key (from [`provkit_dukpt_next_transaction`]): the working keys of
/// that transaction come from it. Wipe it with [`provkit_dukpt_transaction_reset`] once
/// the transaction is done.
#[repr(C, align(16))]
pub struct provkit_dukpt_transaction {
    opaque: [u8; PROVKIT_DUKPT_TRANSACTION_SIZE],
}

impl core::fmt::Debug for provkit_dukpt_transaction {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("provkit_dukpt_transaction")
    }
}

impl OpaqueState for provkit_dukpt_transaction {
    type Inner = TransactionKey;
    const TAG: u32 = 0x7064_7431; // "pdt1"
}

fn key_type(code: u32) -> Ffi<KeyType> {
    Ok(match code {
        PROVKIT_DUKPT_KEY_TDES2 => KeyType::Tdes2,
        PROVKIT_DUKPT_KEY_TDES3 => KeyType::Tdes3,
        PROVKIT_DUKPT_KEY_AES128 => KeyType::Aes128,
        PROVKIT_DUKPT_KEY_AES192 => KeyType::Aes192,
        PROVKIT_DUKPT_KEY_AES256 => KeyType::Aes256,
        _ => return Err(Failure::PROVKIT_ERR_INVALID_ARGUMENT),
    })
}

/// The cipher block (and IV) length of working keys of type `code`: 8 for TDES, 16 for
/// AES.
fn block_len(code: u32) -> usize {
    match code {
        PROVKIT_DUKPT_KEY_TDES2 | PROVKIT_DUKPT_KEY_TDES3 => 8,
        _ => 16,
    }
}

/// The transaction key in `txn`.
///
/// # Safety
/// As [`slot`].
unsafe fn transaction<'a>(txn: *mut provkit_dukpt_transaction) -> Ffi<&'a mut TransactionKey> {
    // SAFETY: the caller's contract.
    unsafe { slot(txn) }?.into_mut()
}

/// Key injection: loads the initial key `ik` (16 bytes for AES-128; 24 or 32 where the
/// library is built with those sizes) with initial key id `ikid` (8 bytes) into the
/// registers from record `base` (`PROVKIT_DUKPT_RECORDS` records), counter 1. Overwrites
/// any device there.
///
/// # Safety
/// `store` is NULL or a set-up `provkit_store`; `ikid` and `ik` are valid for their lengths.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_dukpt_load_initial_key(
    store: *mut provkit_store,
    base: u32,
    ikid: *const u8,
    ikid_len: usize,
    ik: *const u8,
    ik_len: usize,
) -> provkit_status {
    guard(|| {
        // An AES initial key is 16, 24 or 32 bytes (a build without AES-192/256 answers
        // PROVKIT_ERR_UNSUPPORTED for those below).
        if !matches!(ik_len, 16 | 24 | 32) {
            return Err(Failure::PROVKIT_ERR_INVALID_ARGUMENT);
        }
        // SAFETY: the caller's contract.
        let ikid = InitialKeyId::new(*unsafe { array::<8>(ikid, ikid_len) }?);
        // SAFETY: the caller's contract.
        let ik = InitialKey::from_bytes(ikid, unsafe { bytes(ik, ik_len) }?)?;
        // SAFETY: the caller's contract.
        let mut store = unsafe { device_store(store) }?;
        AesDevice::load_initial_key(&mut store, RecordId(base), &ik)?;
        Ok(())
    })
}

/// Starts a transaction on the device at record `base`: takes the next counter, commits
/// the advance to the store (a power cut never lets a counter be used twice), and puts the
/// transaction key in `txn_out` (anything it held is wiped). Its KSN (12 bytes) goes to
/// `ksn_out`.
///
/// # Safety
/// `store` is NULL or a set-up `provkit_store`; `txn_out` is NULL or a
/// `provkit_dukpt_transaction`; `ksn_out` is `ksn_len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_dukpt_next_transaction(
    store: *mut provkit_store,
    base: u32,
    txn_out: *mut provkit_dukpt_transaction,
    ksn_out: *mut u8,
    ksn_len: usize,
) -> provkit_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let ksn_out = unsafe { array_out::<PROVKIT_DUKPT_KSN_LEN>(ksn_out, ksn_len) }?;
        // SAFETY: the caller's contract.
        let mut txn = unsafe { slot(txn_out) }?;
        txn.clear();
        // SAFETY: the caller's contract.
        let mut store = unsafe { device_store(store) }?;
        let mut device = AesDevice::open(&mut store, RecordId(base))?;
        let key = device.next_transaction(&mut store)?;
        *ksn_out = key.ksn().to_bytes();
        txn.put(key);
        Ok(())
    })
}

/// Encrypts an ISO 9564 format 4 PIN block under the transaction's PIN key of type
/// `key_type`: `pin` as ASCII digits (4 to 12), `pan` as ASCII digits (1 to 19), the
/// block's random fill from `rng`. Writes 16 bytes to `block_out`.
///
/// # Safety
/// `txn` is NULL or a `provkit_dukpt_transaction`; the buffers are valid for their
/// lengths; `rng` is NULL or a valid `provkit_rng`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_dukpt_encrypt_pin_block(
    txn: *mut provkit_dukpt_transaction,
    key_type_code: u32,
    pin: *const u8,
    pin_len: usize,
    pan: *const u8,
    pan_len: usize,
    rng: *const provkit_rng,
    block_out: *mut u8,
    block_len: usize,
) -> provkit_status {
    guard(|| {
        let kind = key_type(key_type_code)?;
        apart(pin, pin_len, block_out, block_len)?;
        apart(pan, pan_len, block_out, block_len)?;
        // SAFETY: the caller's contract.
        let mut rng = unsafe { CallbackRng::new(rng) }?;
        // SAFETY: the caller's contract.
        let (pin, pan, out) = unsafe {
            (
                bytes(pin, pin_len)?,
                bytes(pan, pan_len)?,
                array_out::<16>(block_out, block_len)?,
            )
        };
        // SAFETY: the caller's contract.
        let block = unsafe { transaction(txn) }?.encrypt_pin_block(kind, pin, pan, &mut rng)?;
        rng.check()?;
        *out = block;
        Ok(())
    })
}

/// AES-CMAC of a request message under the transaction's MAC generation key of type
/// `key_type` (16 bytes to `mac_out`).
///
/// # Safety
/// As [`provkit_dukpt_encrypt_pin_block`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_dukpt_request_cmac(
    txn: *mut provkit_dukpt_transaction,
    key_type_code: u32,
    msg: *const u8,
    msg_len: usize,
    mac_out: *mut u8,
    mac_len: usize,
) -> provkit_status {
    guard(|| {
        let kind = key_type(key_type_code)?;
        apart(msg, msg_len, mac_out, mac_len)?;
        // SAFETY: the caller's contract.
        let (msg, out) = unsafe { (bytes(msg, msg_len)?, array_out::<16>(mac_out, mac_len)?) };
        // SAFETY: the caller's contract.
        *out = unsafe { transaction(txn) }?.request_cmac(kind, msg)?;
        Ok(())
    })
}

/// Checks the host's AES-CMAC `mac` of a response message (under the MAC verification key
/// of type `key_type`) in constant time: `PROVKIT_ERR_CRYPTO` when it does not match. `mac`
/// may be the full 16 bytes or truncated to its first 4 to 15 (as X9.24 and ISO 9797
/// allow); a shorter one is refused.
///
/// # Safety
/// As [`provkit_dukpt_encrypt_pin_block`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_dukpt_verify_response_cmac(
    txn: *mut provkit_dukpt_transaction,
    key_type_code: u32,
    msg: *const u8,
    msg_len: usize,
    mac: *const u8,
    mac_len: usize,
) -> provkit_status {
    guard(|| {
        let kind = key_type(key_type_code)?;
        // SAFETY: the caller's contract.
        let (msg, mac) = unsafe { (bytes(msg, msg_len)?, bytes(mac, mac_len)?) };
        // SAFETY: the caller's contract.
        unsafe { transaction(txn) }?.verify_response_cmac(kind, msg, mac)?;
        Ok(())
    })
}

/// The data functions' shared body: `op` on `buf` in place with `iv`, one block long.
///
/// # Safety
/// As [`provkit_dukpt_encrypt_request`].
unsafe fn cbc(
    txn: *mut provkit_dukpt_transaction,
    key_type_code: u32,
    iv: *const u8,
    iv_len: usize,
    buf: *mut u8,
    buf_len: usize,
    op: fn(&TransactionKey, KeyType, &[u8], &mut [u8]) -> provkit::Result<()>,
) -> provkit_status {
    guard(|| {
        let kind = key_type(key_type_code)?;
        apart(iv, iv_len, buf, buf_len)?;
        if iv_len != block_len(key_type_code) {
            return Err(Failure::PROVKIT_ERR_INVALID_ARGUMENT);
        }
        // SAFETY: the caller's contract.
        let (iv, buf) = unsafe { (bytes(iv, iv_len)?, bytes_mut(buf, buf_len)?) };
        // SAFETY: the caller's contract.
        op(unsafe { transaction(txn) }?, kind, iv, buf)?;
        Ok(())
    })
}

/// Encrypts request data in place (`buf`, a multiple of the block size) under the
/// transaction's data encryption key of type `key_type`, CBC with `iv` (the block size).
///
/// # Safety
/// As [`provkit_dukpt_encrypt_pin_block`]; `iv` does not overlap `buf`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_dukpt_encrypt_request(
    txn: *mut provkit_dukpt_transaction,
    key_type_code: u32,
    iv: *const u8,
    iv_len: usize,
    buf: *mut u8,
    buf_len: usize,
) -> provkit_status {
    // SAFETY: the caller's contract.
    unsafe {
        cbc(
            txn,
            key_type_code,
            iv,
            iv_len,
            buf,
            buf_len,
            TransactionKey::encrypt_request,
        )
    }
}

/// Decrypts response data in place under the transaction's data decryption key; as
/// [`provkit_dukpt_encrypt_request`].
///
/// # Safety
/// As [`provkit_dukpt_encrypt_request`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_dukpt_decrypt_response(
    txn: *mut provkit_dukpt_transaction,
    key_type_code: u32,
    iv: *const u8,
    iv_len: usize,
    buf: *mut u8,
    buf_len: usize,
) -> provkit_status {
    // SAFETY: the caller's contract.
    unsafe {
        cbc(
            txn,
            key_type_code,
            iv,
            iv_len,
            buf,
            buf_len,
            TransactionKey::decrypt_response,
        )
    }
}

/// Wipes the transaction key in `txn`. NULL is a no-op.
///
/// # Safety
/// `txn` is NULL or a `provkit_dukpt_transaction`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_dukpt_transaction_reset(txn: *mut provkit_dukpt_transaction) {
    let _ = guard(|| {
        // SAFETY: the caller's contract.
        unsafe { slot(txn) }?.clear();
        Ok(())
    });
}
