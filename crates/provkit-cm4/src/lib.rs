//! A provkit crypto provider for Cortex-M4 and M33 (M7: see "Constant time"): P-256 on
//! Emill Larsson's P256-Cortex-M4 assembly, everything else on provkit's portable
//! [`RustCrypto`].
//!
//! `Cm4` (on ARM targets) implements [`CryptoProvider`]: a firmware picks it by type
//! (`FlashStore::<_, Cm4>::mount_with_provider`, `Initiator::<Cm4>::with_provider`,
//! `cert::verify_device_on::<Cm4>`, `seal_telemetry_signed_on::<Cm4, _, _>`), and no
//! protocol code changes. Counted with QEMU on the firmware proof (`docs/footprint.md`),
//! one side of a handshake takes 3.4 M instructions instead of RustCrypto's 55 M at
//! opt-level "z" (about 63 ms instead of 1 s at 64 MHz), and a chain verification 1.7 M
//! instead of 27 M. The full device side (chain verification, both handshake roles,
//! DUKPT, telemetry, the NOR-flash store) takes 39.4 KiB of flash on it, against 46.5 KiB
//! on RustCrypto: it links no `p256` arithmetic and no `aes-gcm` layers.
//!
//! On other targets (the host, RISC-V, Cortex-M0+ and M23, which lack the DSP and
//! 32×32→64 multiply instructions the assembly relies on) the crate is empty: those
//! builds use [`RustCrypto`].
//!
//! # Which binding, and why
//! Two crates carry this assembly. Both were measured under QEMU before choosing.
//! - `p256-cm4` 0.4.0 translates it into Rust `naked_asm` blocks, so it needs no external
//!   toolchain (but Rust 1.88). Its point decompression is wrong: where Emill's
//!   `P256_decompress_point` computes x² − 3 with the Montgomery form of 3
//!   (`three_mont`), the translation subtracts the curve constant b. Every compressed
//!   point therefore decompresses to a wrong y. provkit's cross-check of the provider
//!   against RustCrypto caught it at once: the compressed base point G comes back off the
//!   curve. Devices decompress every certificate key and ephemeral key, so that crate
//!   cannot be used as it is.
//! - `p256-cortex-m4` 0.1.0-alpha.6 (ycrypto; this crate's choice) builds Emill's own
//!   GNU-assembler source and C through `p256-cortex-m4-sys`, with `arm-none-eabi-gcc`
//!   at build time (Debian's `gcc-arm-none-eabi` and `libnewlib-arm-none-eabi`). Its
//!   safe API covers what provkit needs: key from scalar, d·G, signing with a caller-fed
//!   `k`, ECDH, verification, and SEC 1 decoding (with decompression). Default features
//!   are off, so its fallback (an old `p256`) is not linked.
//!
//! The workspace's MSRV (1.87) holds: the assembly builds on ARM targets only.
//!
//! # What comes from where
//! - Key generation draws the scalar exactly as [`RustCrypto`] does (32 bytes, drawn
//!   again while 0 or not below n), so a fixed RNG gives the same keys on both providers.
//!   The assembly checks the range and computes d·G.
//! - Signing computes the RFC 6979 nonce here (HMAC-DRBG over SHA-256, section 3.2, on
//!   [`RustCrypto`]'s one HMAC-SHA256: the candidates of the `rfc6979` crate that
//!   RustCrypto's `ecdsa` uses, which the tests compare) and feeds it to the assembly's
//!   signing call as the "random" `k`. Signatures are therefore deterministic and
//!   identical to [`RustCrypto`]'s: the committed handshake transcripts reproduce on
//!   either provider (the QEMU proof checks it, and pairs a device on each provider both
//!   ways).
//! - Verification, ECDH, point decompression and point validation are the assembly's.
//!   Every [`EcPublicKey`] it makes or takes in passes `Cm4::p256_check_point`, the
//!   assembly's range and on-curve check (`EcPublicKey::from_uncompressed_on`), so a
//!   firmware on this provider links no field arithmetic from `p256`.
//! - SHA-256, HMAC, HKDF and AES are [`RustCrypto`]'s. AES-GCM is
//!   `provkit::provider::block_gcm` on RustCrypto's AES block operation (the same
//!   function as RustCrypto's `aes-gcm`, without that crate's generic layers).
//!
//! # Constant time
//! The P256-Cortex-M4 README ("Security") states: "The implementation runs in constant
//! time (unless input values are invalid) and uses a constant code memory access pattern,
//! regardless of the scalar/private key". That covers key generation, signing and ECDH.
//! Verification handles public data only. The same README says a processor with a data
//! cache needs the `has_d_cache` option, which makes the RAM access pattern constant too.
//! `p256-cortex-m4-sys` builds with it off (`p256-cortex-m4-config.h`: 0). The Cortex-M4
//! and M33 have no data cache, so this holds there. On a Cortex-M7 with its D-cache
//! enabled, the precomputed-table lookups leave a secret-dependent access pattern. Such a
//! firmware should keep private-key operations on [`RustCrypto`], or in a secure element
//! behind the key-store traits. provkit adds no secret-dependent branch around the
//! assembly, and the RFC 6979 generator is constant time, as RustCrypto's is.
//!
//! # Tested
//! Under QEMU (`examples/firmware`, run by CI):
//! - Wycheproof's ECDSA P-256 SHA-256 (262 tests) and ECDH secp256r1 (612 tests) files on
//!   this provider;
//! - every device step: chain verification, both handshake roles reproducing the host
//!   transcript, records, telemetry that the server opens, keys in the NOR-flash store;
//! - a handshake each way with the other side on [`RustCrypto`].
//!
//! ```ignore
//! use provkit::handshake::{CredentialMode, Initiator};
//! use provkit_cm4::Cm4;
//! let initiator = Initiator::<Cm4>::with_provider(identity, cert, CredentialMode::ByValue);
//! ```
//!
//! [`RustCrypto`]: provkit::provider::RustCrypto
//! [`CryptoProvider`]: provkit::provider::CryptoProvider
//! [`EcPublicKey`]: provkit::ec::EcPublicKey

#![no_std]

#[cfg(target_arch = "arm")]
mod cm4;
#[cfg(any(target_arch = "arm", test))]
mod rfc6979;

#[cfg(target_arch = "arm")]
pub use cm4::{Cm4, P256Key};
