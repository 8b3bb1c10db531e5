//! DUKPT: Derived Unique Key Per Transaction.
//!
//! One base derivation key (BDK) serves many devices: every device holds a unique
//! *initial key* (IK) derived from the BDK and the device's identifier, and derives a
//! fresh key for every transaction. The host re-derives any transaction's keys from the
//! BDK and the key serial number (KSN) the device sends along, so it stores no
//! per-device secrets.
//!
//! - **AES DUKPT** (ANSI X9.24-3-2017), always available:
//!   - host (receiving SCD): [`AesBdk::initial_key`] or [`initial_key_from_store`] (BDK by
//!     handle, e.g. in an HSM) → [`InitialKey::transaction_key`] →
//!     [`TransactionKey::working_key`] for every [`WorkingKeyUsage`] and [`KeyType`];
//!     [`InitialKey::update_key`]; the strength rule; strict KSN validation with an
//!     explicit [`InitialKey::transaction_key_permissive`] for tests.
//!   - speed: [`HostCache`] (per-device cache of intermediate keys, for counters that
//!     arrive roughly in order) and [`InitialKey::for_each_working_key`] (batched
//!     derivation that interleaves independent AES key schedules).
//!   - device (transaction-originating SCD): [`AesDevice`], 32 intermediate derivation
//!     registers persisted through [`Records`](crate::store::Records); the counter is
//!     advanced and stored **before** a transaction key is returned.
//!   - helpers: ISO 9564 format 4 PIN blocks, AES-CMAC, HMAC-SHA256 and CBC data
//!     encryption in both directions ([`TransactionKey::request_cmac`] and friends name
//!     the request/response convention).
//! - **TDES DUKPT** (ANSI X9.24-1-2009), feature `tdes`: see the `tdes` module.
//!
//! AES-192 and AES-256 DUKPT are behind the default features `aes192` and
//! `aes256`. A firmware that only uses AES-128 builds without them and links no
//! code for those key sizes; it refuses such keys with
//! [`Error::Unsupported`](crate::Error::Unsupported) (when a BDK or initial key is
//! imported or derived, when a device stored with one is opened, and when an AES working
//! key of that size is used), never by panicking.
//!
//! Everything is `no_std` and heap-free. Keys are typed values ([`InitialKey`],
//! [`TransactionKey`], [`WorkingKey`]) that zeroize on drop and are not `Clone`; a
//! [`WorkingKey`] remembers its usage and type, and every helper checks them. Raw key
//! bytes leave only through `dangerous_expose` under the `hazmat` feature.
//!
//! The byte-level conventions (KSN layout, derivation data, device record layout) are
//! specified in `docs/dukpt.md`.
//!
//! ```
//! use provkit::dukpt::{AesBdk, AesDevice, AesKsn, InitialKeyId, KeyType, WorkingKeyUsage};
//! use provkit::store::{MemoryStore, RecordId};
//!
//! # fn main() -> provkit::Result<()> {
//! let bdk = AesBdk::from_bytes(&[0x11; 16])?;
//! let ikid = InitialKeyId::new([0x12, 0x34, 0x56, 0x78, 0x90, 0x12, 0x34, 0x56]);
//!
//! // Injection: the device receives its initial key and fills its registers.
//! let mut flash = MemoryStore::<0, 33, 64>::new();
//! let mut device = AesDevice::load_initial_key(&mut flash, RecordId(0), &bdk.initial_key(ikid)?)?;
//!
//! // A transaction on the device.
//! let txn = device.next_transaction(&mut flash)?;
//! let mac = txn.request_cmac(KeyType::Aes128, b"amount=12.00")?;
//!
//! // The host re-derives the key from the BDK and the KSN sent with the message.
//! let ksn = AesKsn::from_bytes(&txn.ksn().to_bytes());
//! let host = bdk.initial_key(ksn.initial_key_id())?.transaction_key(&ksn)?;
//! host.verify_request_cmac(KeyType::Aes128, b"amount=12.00", &mac)?;
//! # Ok(())
//! # }
//! ```

#![deny(clippy::indexing_slicing)]

mod cache;
mod counter;
mod device;
mod kdf;
mod keys;
mod ksn;
mod ops;
mod pin;
#[cfg(feature = "tdes")]
pub mod tdes;

pub use crate::error::DukptError;
pub use cache::HostCache;
pub use device::AesDevice;
pub use keys::{
    AesBdk, AesKeySize, InitialKey, KeyType, TransactionKey, WorkingKey, WorkingKeyUsage,
    initial_key_derivation_data, initial_key_from_store, working_key_derivation_data,
};
pub use ksn::{AesKsn, InitialKeyId};
pub use ops::{
    cbc_decrypt, cbc_encrypt, cmac, decrypt_pin_block, encrypt_pin_block,
    encrypt_pin_block_with_fill, format4_pan_field, format4_pin_field, hmac_sha256, verify_cmac,
    verify_hmac_sha256,
};

/// Largest counter value an AES DUKPT device uses (`FFFF0000`); advancing from it
/// exhausts the device.
pub const AES_LAST_COUNTER: u32 = 0xFFFF_0000;
/// Most one-bits an AES DUKPT transaction counter may have.
pub const AES_MAX_ONE_BITS: u32 = 16;
/// The counter of the DUKPT Update Key (never a transaction counter).
pub const AES_UPDATE_KEY_COUNTER: u32 = 0xFFFF_FFFF;
