//! A provkit crypto provider for Cortex-M4, M7 and M33: P-256 on Emill Larsson's
//! P256-Cortex-M4 assembly, everything else on provkit's portable [`RustCrypto`].
//!
//! [`Cm4`] implements [`CryptoProvider`]: a firmware picks it by type
//! (`Initiator::<Cm4>`, `FlashStore::<_, Cm4>`, `cert::verify_device_on::<Cm4>`), and
//! no protocol code changes. Counted with QEMU on the firmware proof
//! (`docs/footprint.md`), P-256 operations take 14 to 40 times fewer instructions than
//! RustCrypto's `p256` at opt-level "z".
//!
//! On other targets (the host, RISC-V, Cortex-M0+ and M23, which lack the DSP and
//! 32×32→64 multiply instructions the assembly relies on) the crate is empty: those
//! builds use [`RustCrypto`].
//!
//! # Which binding, and why
//! Two crates carry the same assembly. `p256-cortex-m4` (ycrypto) builds Emill's GNU
//! assembler source with `arm-none-eabi-gcc` at build time. `p256-cm4` (this crate's
//! choice) is a translation of that assembly into Rust `naked_asm` blocks. It needs no
//! external toolchain, so a firmware builds with `cargo` alone and a CI image needs no
//! cross compiler. It needs Rust 1.88 for `naked_asm`, on ARM targets only, so the
//! workspace's MSRV (1.87, which builds this crate empty on the host) does not move. Both
//! run the same instruction sequences. The issue's measurements of `p256-cortex-m4`
//! (`docs/footprint.md`) and ours of `p256-cm4` agree within a few percent per
//! operation.
//!
//! # What comes from where
//! - Key generation draws the scalar exactly as [`RustCrypto`] does, so a fixed RNG gives
//!   the same keys on both providers. The assembly computes d·G.
//! - Signing computes the RFC 6979 nonce here (HMAC-DRBG over SHA-256, the `rfc6979`
//!   crate, as RustCrypto's `ecdsa` does) and passes it to the assembly. Signatures are
//!   therefore deterministic and identical to [`RustCrypto`]'s: the committed handshake
//!   transcripts reproduce on either provider.
//! - Verification, ECDH and point decompression are the assembly's. Its output point
//!   becomes an [`EcPublicKey`] through provkit's own validation (an on-curve check, not
//!   a second decompression).
//! - SHA-256, HMAC, HKDF, AES and AES-GCM are [`RustCrypto`]'s.
//!
//! # Constant time
//! The P256-Cortex-M4 README states that its private-key operations (key generation,
//! signing, ECDH) run in constant time on Cortex-M4: no secret-dependent branches or
//! memory accesses. Scalar multiplication uses a fixed window with constant-time table
//! selection; the Cortex-M4's multiply instructions (`umull`, `umaal`) take a fixed
//! number of cycles. Verification handles public data only and is variable-time. The
//! claim is the upstream author's (<https://github.com/Emill/P256-Cortex-M4>), for
//! Cortex-M4 without caches; on cores with a data cache (M7) table selection still
//! touches every entry. provkit adds no secret-dependent branch around it. The RFC 6979
//! generator is constant time as RustCrypto's is.
//!
//! ```ignore
//! use provkit::handshake::{CredentialMode, Initiator};
//! use provkit_cm4::Cm4;
//! let initiator = Initiator::<Cm4>::new(identity, cert, CredentialMode::ByValue);
//! ```
//!
//! [`RustCrypto`]: provkit::provider::RustCrypto
//! [`CryptoProvider`]: provkit::provider::CryptoProvider
//! [`EcPublicKey`]: provkit::ec::EcPublicKey

#![no_std]

#[cfg(target_arch = "arm")]
mod cm4;

#[cfg(target_arch = "arm")]
pub use cm4::{Cm4, P256Key};
