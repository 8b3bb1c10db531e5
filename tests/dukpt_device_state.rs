//! The DUKPT device state record (`docs/dukpt.md`, "Device state"), tampered with
//! through the public store API: every header field is checked on its own, the
//! "loading" marker is refused by every entry point, and the record-size check runs
//! before anything is written.
//!
//! Header record at `base`: `44 01 | scheme | status | next counter (u32 BE) | id (10)`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use provkit::Error;
use provkit::dukpt::tdes::{Ipek, TdesDevice, TdesKsn};
use provkit::dukpt::{AesDevice, DukptError, InitialKey, InitialKeyId};
use provkit::store::{MemoryStore, RecordId, Records, StoreError};

type Flash = MemoryStore<0, 40, 64>;

const BASE: RecordId = RecordId(0);
const CORRUPT: Option<Error> = Some(Error::Store(StoreError::Corrupt));
const TOO_LARGE: Option<Error> = Some(Error::Store(StoreError::RecordTooLarge));
const NOT_FOUND: Option<Error> = Some(Error::Store(StoreError::NotFound));

// Header offsets.
const MAGIC: usize = 0;
const VERSION: usize = 1;
const TAG: usize = 2;
const STATUS: usize = 3;
const COUNTER: usize = 4;
const ID: usize = 8;

const STATUS_ACTIVE: u8 = 0;
const STATUS_EXHAUSTED: u8 = 1;
const STATUS_LOADING: u8 = 2;

const TAG_AES256: u8 = 0x04;
const TAG_TDES: u8 = 0x80;

fn ik128() -> InitialKey {
    InitialKey::from_bytes(InitialKeyId::new(*b"DEVSTATE"), &[0xA5; 16]).unwrap()
}

fn ik256() -> InitialKey {
    InitialKey::from_bytes(InitialKeyId::new(*b"DEVST256"), &[0x5A; 32]).unwrap()
}

fn ipek() -> Ipek {
    let ksn = TdesKsn::parse(&[0xFF, 0xFF, 0x98, 0x76, 0x54, 0x32, 0x10, 0xE0, 0, 0]).unwrap();
    Ipek::from_bytes(&ksn, &[0x6A; 16]).unwrap()
}

fn aes_device() -> (Flash, AesDevice) {
    let mut store = Flash::new();
    let dev = AesDevice::load_initial_key(&mut store, BASE, &ik128()).unwrap();
    (store, dev)
}

fn tdes_device() -> (Flash, TdesDevice) {
    let mut store = Flash::new();
    let dev = TdesDevice::load_ipek(&mut store, BASE, &ipek()).unwrap();
    (store, dev)
}

fn header<S: Records>(store: &mut S) -> [u8; 18] {
    let mut h = [0u8; 18];
    assert_eq!(store.read_record(BASE, &mut h).unwrap(), 18);
    h
}

/// Rewrites the header record with one change.
fn tamper<S: Records>(store: &mut S, edit: impl FnOnce(&mut [u8; 18])) {
    let mut h = header(store);
    edit(&mut h);
    store.write_record(BASE, &h).unwrap();
}

fn set_status<S: Records>(store: &mut S, status: u8) {
    tamper(store, |h| h[STATUS] = status);
}

/// Every AES entry point refuses the state with `Corrupt`.
fn aes_refused(store: &mut Flash, dev: &mut AesDevice) {
    assert_eq!(AesDevice::open(store, BASE).err(), CORRUPT);
    assert_eq!(dev.next_ksn(store).err(), CORRUPT);
    assert_eq!(dev.next_transaction(store).err(), CORRUPT);
}

#[test]
fn a_wrong_magic_or_version_alone_is_corrupt() {
    let (mut store, mut dev) = aes_device();
    let good = header(&mut store);
    assert_eq!(&good[..4], &[0x44, 0x01, 0x02, STATUS_ACTIVE]);

    tamper(&mut store, |h| h[MAGIC] = 0x45);
    aes_refused(&mut store, &mut dev);

    store.write_record(BASE, &good).unwrap();
    tamper(&mut store, |h| h[VERSION] = 0x02);
    aes_refused(&mut store, &mut dev);

    // The untouched header still works: nothing above was a side effect.
    store.write_record(BASE, &good).unwrap();
    assert_eq!(dev.next_transaction(&mut store).unwrap().ksn().counter(), 1);
}

#[test]
fn status_values_past_loading_are_corrupt() {
    for status in [STATUS_LOADING + 1, 0x7F, 0xFF] {
        let (mut store, mut dev) = aes_device();
        set_status(&mut store, status);
        aes_refused(&mut store, &mut dev);
    }
    // The last valid status below "loading": exhausted opens and reports exhaustion.
    let (mut store, mut dev) = aes_device();
    set_status(&mut store, STATUS_EXHAUSTED);
    let reopened = AesDevice::open(&mut store, BASE).unwrap();
    assert_eq!(reopened.next_ksn(&mut store).unwrap(), None);
    assert_eq!(
        dev.next_transaction(&mut store).err(),
        Some(Error::Dukpt(DukptError::Exhausted))
    );
}

#[test]
fn a_loading_header_is_refused_everywhere_and_leaves_the_registers() {
    let (mut store, mut dev) = aes_device();
    set_status(&mut store, STATUS_LOADING);
    aes_refused(&mut store, &mut dev);
    // None of those calls scrubbed a register: once the load "completes", the device
    // runs from counter 1.
    set_status(&mut store, STATUS_ACTIVE);
    assert!(dev.dangerous_register(&mut store, 0).unwrap().is_some());
    assert_eq!(dev.next_transaction(&mut store).unwrap().ksn().counter(), 1);

    let (mut store, mut dev) = tdes_device();
    set_status(&mut store, STATUS_LOADING);
    assert_eq!(TdesDevice::open(&mut store, BASE).err(), CORRUPT);
    assert_eq!(dev.next_ksn(&mut store).err(), CORRUPT);
    assert_eq!(dev.next_transaction(&mut store).err(), CORRUPT);
    set_status(&mut store, STATUS_ACTIVE);
    assert_eq!(dev.next_transaction(&mut store).unwrap().ksn().counter(), 1);
}

#[test]
fn state_of_another_device_kind_is_corrupt() {
    // TDES state opened as AES, and AES state opened as TDES.
    let (mut store, _) = tdes_device();
    assert_eq!(header(&mut store)[TAG], TAG_TDES);
    assert_eq!(AesDevice::open(&mut store, BASE).err(), CORRUPT);
    let (mut store, _) = aes_device();
    assert_eq!(TdesDevice::open(&mut store, BASE).err(), CORRUPT);

    // A handle whose state now carries another scheme's tag: the registers would still
    // fit, but the tag alone is refused.
    for tag in [TAG_AES256, TAG_TDES] {
        let (mut store, mut dev) = aes_device();
        tamper(&mut store, |h| h[TAG] = tag);
        assert_eq!(dev.next_ksn(&mut store).err(), CORRUPT);
        assert_eq!(dev.next_transaction(&mut store).err(), CORRUPT);
    }
    let (mut store, mut dev) = tdes_device();
    tamper(&mut store, |h| h[TAG] = 0x02);
    assert_eq!(dev.next_ksn(&mut store).err(), CORRUPT);
    assert_eq!(dev.next_transaction(&mut store).err(), CORRUPT);
}

#[test]
fn a_wrong_initial_key_id_is_corrupt() {
    // Any byte of the 10-byte id, including the AES padding.
    for at in [ID, ID + 7, ID + 8, ID + 9] {
        let (mut store, mut dev) = aes_device();
        tamper(&mut store, |h| h[at] ^= 1);
        assert_eq!(dev.next_transaction(&mut store).err(), CORRUPT);
    }
    let (mut store, mut dev) = tdes_device();
    tamper(&mut store, |h| h[ID + 2] ^= 1);
    assert_eq!(dev.next_transaction(&mut store).err(), CORRUPT);
}

#[test]
fn an_invalid_counter_is_corrupt_only_while_active() {
    // Active: 0 and a counter with 17 one-bits are refused.
    for counter in [0u32, 0x0001_FFFF] {
        let (mut store, mut dev) = aes_device();
        tamper(&mut store, |h| {
            h[COUNTER..ID].copy_from_slice(&counter.to_be_bytes());
        });
        assert_eq!(dev.next_transaction(&mut store).err(), CORRUPT);
    }
    // Exhausted: the counter no longer matters.
    let (mut store, mut dev) = aes_device();
    tamper(&mut store, |h| {
        h[STATUS] = STATUS_EXHAUSTED;
        h[COUNTER..ID].copy_from_slice(&0u32.to_be_bytes());
    });
    assert_eq!(
        dev.next_transaction(&mut store).err(),
        Some(Error::Dukpt(DukptError::Exhausted))
    );
    assert_eq!(dev.next_ksn(&mut store).unwrap(), None);
}

#[test]
fn registers_past_the_counter_width_are_empty() {
    let (mut store, dev) = aes_device();
    assert!(dev.dangerous_register(&mut store, 31).unwrap().is_some());
    for index in [32, 33, u32::MAX] {
        assert!(dev.dangerous_register(&mut store, index).unwrap().is_none());
    }
    let (mut store, dev) = tdes_device();
    assert!(dev.dangerous_register(&mut store, 20).unwrap().is_some());
    for index in [21, 31, 32, u32::MAX] {
        assert!(dev.dangerous_register(&mut store, index).unwrap().is_none());
    }
}

#[test]
fn records_of_exactly_the_register_length_suffice() {
    // AES-128 and TDES registers: 4 + 16 = 20 bytes (more than the 18-byte header).
    let mut store = MemoryStore::<0, 40, 20>::new();
    let mut dev = AesDevice::load_initial_key(&mut store, BASE, &ik128()).unwrap();
    assert_eq!(dev.next_transaction(&mut store).unwrap().ksn().counter(), 1);
    let mut store = MemoryStore::<0, 40, 20>::new();
    let mut dev = TdesDevice::load_ipek(&mut store, BASE, &ipek()).unwrap();
    assert_eq!(dev.next_transaction(&mut store).unwrap().ksn().counter(), 1);
    // AES-256 registers: 4 + 32 = 36 bytes.
    let mut store = MemoryStore::<0, 40, 36>::new();
    let mut dev = AesDevice::load_initial_key(&mut store, BASE, &ik256()).unwrap();
    assert_eq!(dev.next_transaction(&mut store).unwrap().ksn().counter(), 1);
}

#[test]
fn records_one_byte_short_are_refused_before_anything_is_written() {
    // The header (18 bytes) would fit: the refusal must come before it is written.
    let mut store = MemoryStore::<0, 40, 19>::new();
    assert_eq!(
        AesDevice::load_initial_key(&mut store, BASE, &ik128()).err(),
        TOO_LARGE
    );
    assert_eq!(store.read_record(BASE, &mut [0; 64]).err(), NOT_FOUND);
    assert_eq!(
        TdesDevice::load_ipek(&mut store, BASE, &ipek()).err(),
        TOO_LARGE
    );
    assert_eq!(store.read_record(BASE, &mut [0; 64]).err(), NOT_FOUND);

    // An AES-256 load into 35-byte records leaves the AES-128 device already there.
    let mut store = MemoryStore::<0, 40, 35>::new();
    let mut dev = AesDevice::load_initial_key(&mut store, BASE, &ik128()).unwrap();
    let before = header(&mut store);
    assert_eq!(
        AesDevice::load_initial_key(&mut store, BASE, &ik256()).err(),
        TOO_LARGE
    );
    assert_eq!(header(&mut store), before);
    assert_eq!(dev.next_transaction(&mut store).unwrap().ksn().counter(), 1);
}

#[test]
fn debug_shows_the_device_but_no_key() {
    let mut store = Flash::new();
    let dev = AesDevice::load_initial_key(&mut store, RecordId(7), &ik128()).unwrap();
    let text = format!("{dev:?}");
    for part in [
        "AesDevice",
        "base: RecordId(7)",
        "size: Aes128",
        "ikid: InitialKeyId(4445565354415445)",
    ] {
        assert!(text.contains(part), "{text}");
    }
    let lower = text.to_ascii_lowercase();
    assert!(!lower.contains("a5a5") && !lower.contains("165"), "{text}");
}
