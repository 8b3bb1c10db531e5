//! A PKCS#11 HSM key store for [`provkit`]: [`Pkcs11Store`] implements
//! [`KeyInventory`](provkit::store::KeyInventory),
//! [`IdentityKeys`](provkit::store::IdentityKeys),
//! [`SymmetricKeys`](provkit::store::SymmetricKeys) and
//! [`Records`](provkit::store::Records), so every provkit protocol (certificate issuing,
//! the handshake, DUKPT, envelopes) runs with its keys inside an HSM. Built on
//! [`cryptoki`] 0.12 and tested against SoftHSM2.
//!
//! - CA signing keys, ECDH keys, KEKs and BDKs are `CKA_SENSITIVE` token objects created
//!   or imported in the HSM; P-256 keys are never extractable, symmetric keys only by
//!   `C_WrapKey` under a trusted export KEK, and only if the [`ExportPolicy`] allows it
//!   for their id.
//! - Every symmetric key has exactly one [`KeyRole`], fixed by its attributes (see
//!   "Key roles" below); no key both wraps stored keys and releases what it unwraps.
//! - Signing (`CKM_ECDSA`), ECDH (`CKM_ECDH1_DERIVE`), block encryption (`CKM_AES_ECB`,
//!   `CKM_DES3_ECB`) and wrapping (`C_WrapKey`/`C_UnwrapKey`, mechanisms chosen by
//!   [`WrapMechanisms`]) run in the HSM.
//! - Tokens are found by label, never by slot number. The module is loaded and
//!   `C_Initialize`d once per process and shared by every store ([`session`]).
//! - How key and record ids map to PKCS#11 objects: [`ids`]. How records are replaced
//!   atomically: [`records`].
//! - Errors: operations return [`provkit::Error`] (see [`error`] for the mapping);
//!   opening returns [`OpenError`].
//!
//! # Key roles
//!
//! A key that can both wrap stored keys and unwrap into something readable hands out
//! every key it wraps (Clulow, 2003: `wrap_key(K, X)` then `unwrap_bytes(K, blob)`); a KEK that
//! can also encrypt raw blocks forges wraps of chosen keys, which it then unwraps into
//! the store as KEKs of known value. So each symmetric key gets one role when it is
//! created ([`Pkcs11Config::roles`], by id; default [`KeyRole::Derive`]), the role is
//! written into its attributes, which are unmodifiable, and every operation checks the
//! role read back from the HSM object:
//!
//! | role | trait operations | `ENCRYPT` | `DECRYPT` | `WRAP` | `UNWRAP` | `DERIVE`, `SIGN`, `VERIFY` | `TRUSTED` | created by |
//! |---|---|---|---|---|---|---|---|---|
//! | [`Derive`](KeyRole::Derive) (BDK, data key, PRF) | `encrypt_block` | ✓ | – | – | – | – | – | user |
//! | [`DataKek`](KeyRole::DataKek) (envelope, ledger) | `wrap_bytes`, `unwrap_bytes`, [`rewrap`](Pkcs11Store::rewrap) | – | – | ✓ | ✓ | – | – | user |
//! | [`ImportKek`](KeyRole::ImportKek) (shipments in) | `unwrap_key` | – | – | – | ✓ | – | – | user |
//! | [`ExportKek`](KeyRole::ExportKek) (keys out) | `wrap_key` | – | – | ✓ | – | – | ✓ | SO ([`create_export_kek`]) |
//!
//! Every secret key is also `CKA_SENSITIVE=true`, `CKA_MODIFIABLE=false` and
//! `CKA_WRAP_WITH_TRUSTED=true`; `CKA_EXTRACTABLE` follows the [`ExportPolicy`] (never
//! for an export KEK). What this gives, checked against SoftHSM2 by `tests/key_roles.rs`:
//!
//! - The only key that wraps stored keys (the export KEK) cannot unwrap, encrypt or
//!   decrypt, and only the security officer can make one (`CKA_TRUSTED`): the user can
//!   neither import a KEK of known value into that role nor unwrap into it.
//! - Stored keys are `CKA_WRAP_WITH_TRUSTED`: the HSM itself refuses `C_WrapKey` of a
//!   stored key under any untrusted key (a data or import KEK), even through raw PKCS#11.
//! - The data KEK, whose unwraps reach the caller by design, only ever holds caller
//!   material: it cannot wrap stored keys, and never unwraps into the store.
//! - The import KEK, which unwraps caller-supplied keys into the store, never releases
//!   what it unwraps and is a different object from the export KEK.
//! - No KEK encrypts raw blocks, so none can forge a wrap; a key whose attributes are
//!   not exactly one role (made by an older version or another tool) is refused for
//!   everything with `WrongKeyKind`.
//!
//! **On a real HSM** use the same attribute sets, and in addition, where the HSM
//! supports them (cryptoki 0.12 cannot send attribute-array attributes, so this store
//! does not): `CKA_UNWRAP_TEMPLATE` on import KEKs (`CKA_SENSITIVE=true`,
//! `CKA_EXTRACTABLE=false`, `CKA_TOKEN=true`, `CKA_WRAP_WITH_TRUSTED=true`), so raw
//! `C_UnwrapKey` cannot create a readable object with them either, and on data KEKs
//! (`CKA_TOKEN=false`); `CKA_WRAP_TEMPLATE` on export KEKs naming the key types they may
//! wrap; `CKA_DESTROYABLE=false` on export KEKs; a policy that only the SO (or a
//! quorum) sets `CKA_TRUSTED`; and user PINs that are not shared with the SO. Vendors
//! that restrict `CKM_AES_ECB` on keys with `CKA_WRAP` (several do) enforce the same
//! separation; on HSMs with `CKA_ALLOWED_MECHANISMS`, restrict each role to its
//! mechanisms (`CKM_AES_ECB`/`CKM_DES3_ECB`, or the configured wrap mechanisms).
//!
//! # What SoftHSM2 (2.6) does differently, and how the store copes
//!
//! - `CKM_AES_KEY_WRAP_PAD` is RFC 5649 when unwrapping, but `C_WrapKey` zero-pads
//!   input that is not a multiple of 8 bytes first and encodes the *padded* length, so
//!   its wrap of 20 bytes unwraps (anywhere) to 24. Whole keys (16/24/32 bytes) are
//!   unaffected. The store refuses such lengths
//!   ([`WrapMechanisms::kwp_zero_pads`], default on) and
//!   [`Pkcs11Store::check_wrap_mechanisms`] finds the deviation with the RFC's vectors.
//! - A failed unwrap integrity check is `CKR_GENERAL_ERROR`; the store reports it from
//!   `C_UnwrapKey` as provkit's opaque `Crypto`.
//! - AES keys created by `C_UnwrapKey` have `CKA_VALUE_LEN` 0 and the attribute cannot
//!   be set in the unwrap template; the key size is recorded in the label ([`ids`]) and
//!   the unwrapped length is checked by a trial block encryption
//!   ([`Pkcs11Store::rewrap`]).
//! - Initialising a token moves it to a new slot number: tokens are found by label.
//! - Attributes given to `C_UnwrapKey` after `CKA_MODIFIABLE=false` in the same template
//!   are refused (`CKR_ATTRIBUTE_READ_ONLY`): the store puts it last.
//! - Usage attributes missing from a template default to true: the store always gives
//!   all of them.
//! - `CKA_TRUSTED` can be set only by the SO, and an SO session can create only public
//!   objects: export KEKs are `CKA_PRIVATE=false` (sensitive and wrap-only, so that
//!   exposes nothing; the keys they wrap are private and need the user's login).
//! - A process that exits while another of its threads is inside the module (writing
//!   a token object) has SoftHSM2's exit-time destructors free the object store under
//!   that thread, which then creates a lock file named with freed memory in the working
//!   directory. Join every thread that uses a store before the process exits.
//!
//! # Rewrap rate
//!
//! `cargo bench -p provkit-pkcs11 --bench rewrap` measures KEK rotation of 32-byte keys
//! in SoftHSM2: [`Pkcs11Store::rewrap`] (session objects) ran at about 2,600 keys/s
//! (RFC 5649) and 2,900 keys/s (RFC 3394) on an idle 2-core x86-64 machine (RFC 5649 now
//! costs one more `C_UnwrapKey`, the length probe, which has its own session object
//! since the key roles: expect roughly a third less); going
//! through the traits (`unwrap_key` into a token object, `wrap_key`, `delete_key`) is
//! limited by SoftHSM2's file-backed token store to 15-25 keys/s.
//!
//! # Example
//!
//! ```no_run
//! use provkit::store::{IdentityKeys, KeyId, SymmetricKeys, KeyKind, WrapAlgorithm};
//! use provkit_pkcs11::{ExportPolicy, KeyRole, KeyRoles, Pin, Pkcs11Config, Pkcs11Store};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Module from PROVKIT_PKCS11_MODULE, else /usr/lib/softhsm/libsofthsm2.so.
//! let mut config = Pkcs11Config::new("provisioning", Pin::from("1234"));
//! config.export = ExportPolicy::WrappedIds(vec![0x1000..=0x1FFF]); // data keys only
//! config.roles = KeyRoles::default() // everything else: Derive (encrypt_block only)
//!     .with(3..=3, KeyRole::DataKek) // envelope KEK: wrap / unwrap
//!     .with(4..=4, KeyRole::ImportKek); // unwrap_key of incoming keys
//! // Once, at provisioning, by the security officer: the trusted export KEK.
//! provkit_pkcs11::create_export_kek(&config, &Pin::from("so-pin"), KeyId(2), KeyKind::Aes256, None)?;
//! let mut hsm = Pkcs11Store::open(config)?;
//! hsm.check_wrap_mechanisms()?; // this HSM's mechanisms really are RFC 3394 / 5649
//!
//! let mut rng = provkit::rng::OsRng; // unused here: the HSM generates keys
//! let ca_public = hsm.generate_p256(KeyId(1), &mut rng)?;
//! let signature = hsm.sign_digest(KeyId(1), &provkit::ec::sha256(b"tbs"))?;
//! ca_public.verify_digest(&provkit::ec::sha256(b"tbs"), &signature)?;
//!
//! hsm.generate_symmetric(KeyId(0x1000), KeyKind::Aes256, &mut rng)?; // a data key
//! let mut wrapped = [0u8; 40];
//! let n = hsm.wrap_key(KeyId(2), WrapAlgorithm::AesKwp, KeyId(0x1000), &mut wrapped)?;
//! assert_eq!(n, 40);
//! # Ok(())
//! # }
//! ```
//!
//! **Concurrency.** One module is loaded and initialised per process (with OS locking);
//! each store has its own session, so stores may live on different threads. SoftHSM 2.6's
//! file-backed tokens were seen to fail concurrent *token-object writes* (key generation,
//! records) from several sessions with `Store(Backend)`: serialise writes to one token
//! (signing, ECDH, wrap and unwrap run concurrently).

#![forbid(unsafe_code)]
#![warn(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::missing_errors_doc
)]
#![cfg_attr(
    test,
    allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)
)]

pub mod config;
pub mod error;
pub mod ids;
pub mod records;
pub mod session;
pub mod store;
mod vectors;

pub use config::{
    ExportPolicy, KeyRole, KeyRoles, Pin, Pkcs11Config, WrapMechanism, WrapMechanisms,
};
pub use error::OpenError;
pub use session::{create_export_kek, init_token};
pub use store::Pkcs11Store;
