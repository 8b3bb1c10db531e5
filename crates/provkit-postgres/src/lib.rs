//! A PostgreSQL key store for [`provkit`], for backends that run several instances
//! against one database.
//!
//! [`PgStore`] implements provkit's key-store traits ([`KeyInventory`], [`IdentityKeys`],
//! [`SymmetricKeys`], [`Records`]) over the synchronous `postgres` client. It keeps no
//! plaintext key in any table: every key and record is wrapped under a KEK that lives in
//! another store (an HSM through `provkit-pkcs11` in production), bound to its id and kind.
//!
//! Each store lives in one PostgreSQL schema, created on first use; give each tenant (or
//! each test) its own. Connections are not shared: each instance opens its own, and the
//! database's constraints and transactions arbitrate between them.
//!
//! ```no_run
//! use provkit::envelope::{KekId, KekRef, KekSlot};
//! use provkit::store::{IdentityKeys, KeyId, KeyKind, MemoryStore, SymmetricKeys, WrapAlgorithm};
//! use provkit_postgres::PgStore;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // The KEK: here a memory store; in production a PKCS#11 store.
//! let mut kek_store = MemoryStore::<1, 0, 0>::new();
//! kek_store.import_symmetric(KeyId(1), KeyKind::Aes256, &[7u8; 32])?;
//! let kek = KekSlot {
//!     kek: KekRef { id: KekId(*b"main-kek"), version: 1 },
//!     key: KeyId(1),
//!     wrap: WrapAlgorithm::AesKwp,
//! };
//! let mut store = PgStore::connect("postgres://app@127.0.0.1/provkit", "keys", kek_store, kek)?;
//! let mut rng = provkit::rng::OsRng;
//! let public = store.generate_p256(KeyId(10), &mut rng)?;
//! let sig = store.sign_digest(KeyId(10), &[0u8; 32])?;
//! public.verify_digest(&[0u8; 32], &sig)?;
//! # Ok(())
//! # }
//! ```
//!
//! [`KeyInventory`]: provkit::store::KeyInventory
//! [`IdentityKeys`]: provkit::store::IdentityKeys
//! [`SymmetricKeys`]: provkit::store::SymmetricKeys
//! [`Records`]: provkit::store::Records

#![forbid(unsafe_code)]
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::missing_errors_doc,
    clippy::missing_panics_doc
)]

#[cfg(feature = "test-cluster")]
pub mod cluster;
mod error;
pub mod ledger;
pub mod seal;
mod store;

pub use error::{OpenError, is_retryable};
pub use ledger::{PgLedger, PgLedgerTx};
pub use store::{DEFAULT_MAX_RECORD_LEN, PgStore};
