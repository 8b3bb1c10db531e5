//! Keys at rest and keys in transit: KEK/DEK envelopes, AES key wrap, HPKE, telemetry,
//! shipment files and key components.
//!
//! | piece | where | spec |
//! |---|---|---|
//! | KEK/DEK envelopes: seal, open, rewrap, census | [`Envelopes`], [`Context`], [`census`] | `docs/envelope-format.md` |
//! | KEK names, versions, rotation policy | [`KekRing`], [`KekDirectory`], [`KekSlot`] | |
//! | HPKE (RFC 9180), keys by handle | [`hpke`] | RFC 9180 |
//! | device → server telemetry via a relay | [`telemetry`] | `docs/telemetry-format.md` |
//! | manufacturer → test authority shipments | [`shipment`] | `docs/shipment-format.md` |
//! | dual control: key components, KCVs | [`split_key`], [`combine_into_store`], [`Kcv`] | X9.24 |
//! | raw primitives for vector suites | `primitives` (feature `hazmat`) | |
//!
//! **Key commitment everywhere.** AES-GCM is not key-committing: a ciphertext can be made
//! to decrypt under two keys ("invisible salamanders", the AWS Encryption SDK fix in 2.0).
//! Envelopes carry an HKDF-derived 256-bit commitment to the data key; telemetry and
//! shipments carry an HPKE-exported commitment; each is checked in constant time before
//! anything is decrypted. The raw [`hpke`] module stays RFC 9180 exact.
//!
//! **Keys by handle.** KEKs are AES keys in a [`SymmetricKeys`](crate::store::SymmetricKeys)
//! store (an HSM, say) used through `wrap_bytes`/`unwrap_bytes`; HPKE recipients and signers are P-256
//! keys in an [`IdentityKeys`](crate::store::IdentityKeys) store used through `ecdh` and
//! `sign_digest`. Data keys live only in zeroizing buffers, for one operation.
//!
//! **Nonces are never the caller's.** Envelope nonces come from the RNG and feed a key
//! derivation; HPKE nonces come from the context's sequence number. The only ways to
//! choose one are `hazmat` functions named `dangerous_…`.

mod components;
mod format;
pub mod hpke;
mod kcv;
mod kek;
#[cfg(feature = "hazmat")]
pub mod primitives;
#[cfg(not(feature = "hazmat"))]
pub(crate) mod primitives;
mod rewrap;
mod seal;
pub mod shipment;
pub mod telemetry;

pub use components::{
    KeyComponent, MAX_COMPONENTS, SplitKey, check_component_kcvs, combine_into_store,
    generate_split_key, split_key,
};
pub use format::{
    COMMITMENT_LEN, Context, EnvelopeInfo, FORMAT_VERSION, HEADER_LEN, MAX_PURPOSE_LEN,
    NONCE_BYTES, OVERHEAD, Suite, WRAPPED_DEK_LEN, inspect,
};
pub use kcv::{KCV_LEN, Kcv};
pub use kek::{KekDirectory, KekId, KekRef, KekRing, KekSlot};
pub use rewrap::{Census, RewrapReport};
pub use seal::{Envelopes, Rewrapped, census, sealed_len};

/// Length of the AES-GCM tag at the end of an envelope.
pub const TAG_LEN: usize = 16;
