#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![deny(unused_must_use)]
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::std_instead_of_core,
    clippy::std_instead_of_alloc,
    clippy::alloc_instead_of_core,
    clippy::missing_errors_doc,
    clippy::missing_panics_doc,
    clippy::cast_possible_truncation
)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

mod block;
pub mod cert;
pub mod dukpt;
pub mod ec;
pub mod envelope;
pub mod error;
pub mod handshake;
pub mod provider;
pub mod rng;
pub mod secret;
pub mod store;
#[cfg(feature = "test-suite")]
pub mod testing;

pub use error::{Error, Result};
/// The rand_core version of provkit's public API (0.10): every `R: rand_core::CryptoRng`
/// bound names it. See [`rng`] for the OS RNG and for adapting a hardware RNG driver.
pub use rand_core;

/// `docs/integration.md`, included so that its examples run as doctests; not part of the
/// API (it exists only under `cfg(doctest)`).
#[cfg(doctest)]
#[doc = include_str!("../docs/integration.md")]
pub struct IntegrationGuide;
