//! The terminal's DUKPT side: key injection into the flash store, then transactions whose
//! registers and counter live in flash and survive a remount (a reset).

use crate::rng::VectorReplayRng;
use crate::{Store, instructions, vectors};
use cortex_m_semihosting::hprintln;
use provkit::dukpt::{AesBdk, AesDevice, InitialKey, InitialKeyId, KeyType};
use provkit::store::flash::FlashStore;
use provkit::store::{RecordId, Records};

/// Where the terminal's 33 DUKPT records start.
const BASE: RecordId = RecordId(0x100);

/// Where the size-refusal check writes a foreign device header.
const OTHER_BASE: RecordId = RecordId(0x200);

/// Key injection: the initial key of the X9.24-3 AES-128 test BDK.
#[inline(never)]
pub fn inject(store: &mut Store) -> bool {
    let ikid = InitialKeyId::new(vectors::DUKPT_IKID);
    InitialKey::from_bytes(ikid, &vectors::DUKPT_IK)
        .and_then(|ik| AesDevice::load_initial_key(store, BASE, &ik))
        .is_ok()
}

/// Counters 1..=8, remounting the flash before each as after a reset; at each counter the
/// supplement has vectors for, the PIN block and request CMAC must equal them. With
/// `multiwrite`, the store is mounted for a part that programs a word twice (superseded
/// registers zeroed in place); without, for a part that programs each word once (their
/// pages evacuated and erased). Prints the instructions of each mount and transaction.
#[inline(never)]
pub fn transactions(store: &mut Store, multiwrite: bool) -> bool {
    let last = vectors::DUKPT.iter().map(|v| v.0).max().unwrap_or(0);
    let mut checked = 0;
    let (mut mounts, mut txns) = ((u64::MAX, 0u64), (u64::MAX, 0u64));
    for counter in 1..=last {
        let mark = instructions::Mark::now();
        let flash = &mut **store.flash_mut();
        let mounted = if multiwrite {
            FlashStore::mount_multiwrite(flash)
        } else {
            FlashStore::mount(flash)
        };
        let Ok(mut flash) = mounted else {
            return false;
        };
        let mount = mark.elapsed();
        let mark = instructions::Mark::now();
        let result = transaction(&mut flash, counter);
        let txn = mark.elapsed();
        mounts = (mounts.0.min(mount), mounts.1.max(mount));
        txns = (txns.0.min(txn), txns.1.max(txn));
        let Some(ok) = result else {
            return false;
        };
        if !ok {
            return false;
        }
        checked += usize::from(vectors::DUKPT.iter().any(|v| v.0 == counter));
    }
    hprintln!(
        "       DUKPT instructions ({}): mount {}-{}, transaction {}-{}",
        if multiwrite {
            "multiwrite"
        } else {
            "single-write"
        },
        mounts.0,
        mounts.1,
        txns.0,
        txns.1
    );
    checked == vectors::DUKPT.len()
}

/// One transaction; `None` if it failed, `Some(false)` if it disagreed with a vector.
#[inline(never)]
fn transaction<F: embedded_storage::nor_flash::NorFlash>(
    flash: &mut FlashStore<F>,
    counter: u32,
) -> Option<bool> {
    let mut device = AesDevice::open(flash, BASE).ok()?;
    let txn = device.next_transaction(flash).ok()?;
    if txn.ksn().counter() != counter {
        return Some(false);
    }
    let mut fill = VectorReplayRng::new(&vectors::DUKPT_FILL);
    let pin_block = txn
        .encrypt_pin_block(
            KeyType::Aes128,
            vectors::DUKPT_PIN,
            vectors::DUKPT_PAN,
            &mut fill,
        )
        .ok()?;
    let mac = txn
        .request_cmac(KeyType::Aes128, vectors::DUKPT_MESSAGE)
        .ok()?;
    Some(match vectors::DUKPT.iter().find(|v| v.0 == counter) {
        Some((_, want_pin, want_mac)) => pin_block == *want_pin && mac == *want_mac,
        None => true,
    })
}

/// This firmware builds provkit without `aes192` and `aes256` (it only uses
/// AES-128): AES-192 and AES-256 keys must be refused with `Error::Unsupported`, never a
/// panic, both at import and when opening a device whose stored header says AES-256.
#[inline(never)]
pub fn refuses_unbuilt_sizes(store: &mut Store) -> bool {
    let unsupported = Err(provkit::Error::Unsupported);
    let ikid = InitialKeyId::new(vectors::DUKPT_IKID);
    let key = [0x11u8; 32];
    let imports = [24, 32].iter().all(|&len| {
        InitialKey::from_bytes(ikid, &key[..len]).map(|_| ()) == unsupported
            && AesBdk::from_bytes(&key[..len]).map(|_| ()) == unsupported
    });
    // A complete device header (docs/dukpt.md) for an AES-256 initial key, counter 1.
    let mut header = [0u8; 18];
    header[..8].copy_from_slice(&[0x44, 0x01, 0x04, 0x00, 0, 0, 0, 1]);
    header[8..16].copy_from_slice(&vectors::DUKPT_IKID);
    // Mounted afresh, as `transactions` leaves the flash ahead of `store`'s view.
    let Ok(mut flash) = FlashStore::mount(&mut **store.flash_mut()) else {
        return false;
    };
    imports
        && flash.write_record(OTHER_BASE, &header).is_ok()
        && AesDevice::open(&mut flash, OTHER_BASE).map(|_| ()) == unsupported
        && InitialKey::from_bytes(ikid, &key[..16]).is_ok()
}
