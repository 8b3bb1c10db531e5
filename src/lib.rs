#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![deny(unused_must_use)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

pub mod cert;
pub mod ec;
pub mod error;
pub mod secret;
pub mod store;
#[cfg(feature = "test-suite")]
pub mod testing;

pub use error::{Error, Result};
