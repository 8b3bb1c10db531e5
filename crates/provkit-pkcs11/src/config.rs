//! What a [`Pkcs11Store`](crate::Pkcs11Store) needs to know: module, token, PIN, id
//! namespace, which wrap mechanisms the HSM offers, and which keys may leave it wrapped.

use core::fmt;
use std::ops::RangeInclusive;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// Environment variable naming the PKCS#11 module when [`Pkcs11Config::new`] is used.
pub const MODULE_ENV: &str = "PROVKIT_PKCS11_MODULE";

/// The module used when [`MODULE_ENV`] is not set: SoftHSM2 as Debian installs it.
pub const DEFAULT_MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

/// The largest record accepted by default (PKCS#11 data objects have no fixed limit;
/// this keeps a runaway caller from filling the token).
pub const DEFAULT_MAX_RECORD_LEN: usize = 4096;

/// A token PIN. Zeroized on drop, never printed (`Debug` shows `Pin(..)`).
pub struct Pin(Zeroizing<String>);

impl Pin {
    /// Takes ownership of `pin`; the `String` is wiped when the `Pin` is dropped.
    #[must_use]
    pub fn new(pin: String) -> Self {
        Self(Zeroizing::new(pin))
    }

    /// A fresh copy in the type cryptoki's `C_Login` wants (which also zeroizes on drop).
    pub(crate) fn auth_pin(&self) -> cryptoki::types::AuthPin {
        cryptoki::types::AuthPin::from(self.0.as_str())
    }
}

impl From<&str> for Pin {
    fn from(pin: &str) -> Self {
        Self::new(pin.to_owned())
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(..)")
    }
}

/// Which PKCS#11 mechanism performs one of provkit's [`WrapAlgorithm`]s.
///
/// HSMs disagree here: PKCS#11 2.40 defines `CKM_AES_KEY_WRAP_PAD` loosely, SoftHSM2 and
/// several vendors implement RFC 5649 under it, PKCS#11 3.0 adds `CKM_AES_KEY_WRAP_KWP`
/// (`0x210B`, not yet in cryptoki) and others use vendor-defined numbers. Check a choice
/// with [`Pkcs11Store::check_wrap_mechanisms`](crate::Pkcs11Store::check_wrap_mechanisms).
///
/// [`WrapAlgorithm`]: provkit::store::WrapAlgorithm
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum WrapMechanism {
    /// `CKM_AES_KEY_WRAP` (`0x2109`): RFC 3394.
    AesKeyWrap,
    /// `CKM_AES_KEY_WRAP_PAD` (`0x210A`): RFC 5649 on SoftHSM2.
    AesKeyWrapPad,
    /// A vendor-defined mechanism number (at least `CKM_VENDOR_DEFINED`), taking no
    /// parameter.
    Vendor(u64),
    /// The HSM has no mechanism for this algorithm: wrapping with it fails with
    /// [`provkit::Error::Unsupported`].
    Unavailable,
}

/// The mechanism used for each [`WrapAlgorithm`](provkit::store::WrapAlgorithm).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WrapMechanisms {
    /// For [`WrapAlgorithm::AesKw`](provkit::store::WrapAlgorithm::AesKw) (RFC 3394).
    pub aes_kw: WrapMechanism,
    /// For [`WrapAlgorithm::AesKwp`](provkit::store::WrapAlgorithm::AesKwp) (RFC 5649).
    pub aes_kwp: WrapMechanism,
    /// The `aes_kwp` mechanism zero-pads input that is not a multiple of 8 bytes *before*
    /// wrapping and so encodes the padded length: SoftHSM2 2.6 does this in `C_WrapKey`
    /// (its `C_UnwrapKey` is correct RFC 5649). Its output for such lengths unwraps,
    /// anywhere, to the input plus trailing zero bytes, so the store refuses to wrap
    /// them ([`provkit::Error::Unsupported`]) rather than hand out a wrong wrap. Whole
    /// keys (16, 24, 32 bytes) are unaffected.
    pub kwp_zero_pads: bool,
}

impl Default for WrapMechanisms {
    /// SoftHSM2's mapping: RFC 3394 under `CKM_AES_KEY_WRAP`, RFC 5649 under
    /// `CKM_AES_KEY_WRAP_PAD`, zero-padding short lengths when wrapping.
    fn default() -> Self {
        Self {
            aes_kw: WrapMechanism::AesKeyWrap,
            aes_kwp: WrapMechanism::AesKeyWrapPad,
            kwp_zero_pads: true,
        }
    }
}

/// Whether a symmetric key created by the store may ever leave the HSM wrapped.
///
/// Every secret key is `CKA_SENSITIVE` (its value is never readable). A key that must
/// be passed to [`wrap_key`](provkit::store::SymmetricKeys::wrap_key), such as a data
/// key being rewrapped, also needs `CKA_EXTRACTABLE`; KEKs and DUKPT BDKs should not have
/// it. PKCS#11 lets `CKA_EXTRACTABLE` go from true to false but never back, so the
/// decision is made when the key is created, from its id.
///
/// An extractable key is also `CKA_WRAP_WITH_TRUSTED`: only a [`KeyRole::ExportKek`]
/// (which is `CKA_TRUSTED`, set by the security officer) can wrap it, whatever the
/// policy. [`KeyRole::ExportKek`]s themselves are never extractable.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExportPolicy {
    /// No symmetric key is extractable (`CKA_EXTRACTABLE=false`); `wrap_key` always
    /// fails: [`provkit::Error::Unsupported`] under an export KEK (the HSM refuses),
    /// `WrongKeyKind` under any other key. The default.
    Sealed,
    /// Every symmetric key may leave wrapped (`CKA_EXTRACTABLE=true`).
    Wrapped,
    /// Keys whose id lies in one of these ranges may leave wrapped; all others are sealed.
    WrappedIds(Vec<RangeInclusive<u32>>),
}

impl ExportPolicy {
    /// True if a symmetric key created under `id` gets `CKA_EXTRACTABLE=true`.
    #[must_use]
    pub fn extractable(&self, id: u32) -> bool {
        match self {
            Self::Sealed => false,
            Self::Wrapped => true,
            Self::WrappedIds(ranges) => ranges.iter().any(|r| r.contains(&id)),
        }
    }
}

/// The one thing a symmetric key may do, fixed by its PKCS#11 attributes when it is
/// created and never changed (`CKA_MODIFIABLE=false`). See the crate documentation
/// ("Key roles") for the attribute sets and why no key has two roles.
///
/// Every operation checks the role *read back from the HSM object*, so a key created
/// with another attribute set (by an older version of this crate, or by another tool)
/// is refused for everything with [`StoreError::WrongKeyKind`](provkit::store::StoreError).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyRole {
    /// [`encrypt_block`](provkit::store::SymmetricKeys::encrypt_block) only
    /// (`CKA_ENCRYPT` alone): DUKPT BDKs (derivation is ECB encryption), key check values,
    /// the ledger's fingerprint PRF, data keys. Cannot wrap, unwrap or decrypt. The only
    /// role TDES keys may have. The default.
    Derive,
    /// [`wrap_bytes`](provkit::store::SymmetricKeys::wrap_bytes) and
    /// [`unwrap_bytes`](provkit::store::SymmetricKeys::unwrap_bytes) of caller-supplied material
    /// (`CKA_WRAP` + `CKA_UNWRAP`, untrusted), and
    /// [`rewrap`](crate::Pkcs11Store::rewrap) between two such keys: envelope and ledger
    /// KEKs, whose plaintext is the caller's by design. Cannot wrap a stored key (stored
    /// keys are `CKA_WRAP_WITH_TRUSTED`) and never unwraps into a stored key.
    DataKek,
    /// [`unwrap_key`](provkit::store::SymmetricKeys::unwrap_key) only (`CKA_UNWRAP`
    /// alone): imports caller-supplied wrapped keys as sensitive token objects. Its
    /// unwraps never reach the caller.
    ImportKek,
    /// [`wrap_key`](provkit::store::SymmetricKeys::wrap_key) only (`CKA_WRAP` +
    /// `CKA_TRUSTED`, never extractable): wraps stored keys out. Only the security officer
    /// can create one ([`create_export_kek`](crate::create_export_kek)); the store refuses
    /// to generate, import or unwrap a key into this role.
    ExportKek,
}

/// Which [`KeyRole`] a symmetric key gets when the store creates it, by key id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRoles {
    /// The role of ids in no range.
    pub default: KeyRole,
    /// Id ranges and their role; the first range containing an id wins.
    pub ranges: Vec<(RangeInclusive<u32>, KeyRole)>,
}

impl Default for KeyRoles {
    /// Every key [`KeyRole::Derive`].
    fn default() -> Self {
        Self {
            default: KeyRole::Derive,
            ranges: Vec::new(),
        }
    }
}

impl KeyRoles {
    /// Adds `ids` with `role` (after the ranges already given, so earlier ones win).
    #[must_use]
    pub fn with(mut self, ids: RangeInclusive<u32>, role: KeyRole) -> Self {
        self.ranges.push((ids, role));
        self
    }

    /// The role a key created under `id` gets.
    #[must_use]
    pub fn role(&self, id: u32) -> KeyRole {
        self.ranges
            .iter()
            .find(|(r, _)| r.contains(&id))
            .map_or(self.default, |(_, role)| *role)
    }
}

/// How to reach one token, and the store's policies on it.
#[derive(Debug)]
pub struct Pkcs11Config {
    /// Path of the PKCS#11 shared library.
    pub module: PathBuf,
    /// The token's label (`CKA_LABEL` of the token, without the space padding). Slots are
    /// always found by this label, because slot numbers change (SoftHSM2 renumbers a slot
    /// when its token is initialised; HSMs reorder them across reboots).
    pub token_label: String,
    /// The user PIN.
    pub pin: Pin,
    /// Prefix of every object id this store creates, so that several stores (services,
    /// tests) can share a token without seeing each other's keys and records.
    pub namespace: u32,
    /// Which mechanism implements each wrap algorithm on this HSM.
    pub wrap: WrapMechanisms,
    /// Which symmetric keys may leave the HSM wrapped.
    pub export: ExportPolicy,
    /// The role each symmetric key the store creates gets.
    pub roles: KeyRoles,
    /// The largest record [`Records::write_record`](provkit::store::Records::write_record)
    /// accepts.
    pub max_record_len: usize,
}

impl Pkcs11Config {
    /// A configuration for the token labelled `token_label`: module from
    /// [`MODULE_ENV`] or else [`DEFAULT_MODULE`], namespace 0, SoftHSM2's wrap mechanisms,
    /// every symmetric key sealed and [`KeyRole::Derive`], records up to
    /// [`DEFAULT_MAX_RECORD_LEN`] bytes.
    #[must_use]
    pub fn new(token_label: &str, pin: Pin) -> Self {
        Self {
            module: default_module(),
            token_label: token_label.to_owned(),
            pin,
            namespace: 0,
            wrap: WrapMechanisms::default(),
            export: ExportPolicy::Sealed,
            roles: KeyRoles::default(),
            max_record_len: DEFAULT_MAX_RECORD_LEN,
        }
    }
}

/// The module path from [`MODULE_ENV`], or [`DEFAULT_MODULE`].
#[must_use]
pub fn default_module() -> PathBuf {
    std::env::var_os(MODULE_ENV).map_or_else(|| PathBuf::from(DEFAULT_MODULE), PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pin_never_prints() {
        let pin = Pin::from("123456");
        assert_eq!(format!("{pin:?}"), "Pin(..)");
        let config = Pkcs11Config::new("t", Pin::from("987654"));
        assert!(!format!("{config:?}").contains("987654"));
    }

    #[test]
    fn export_policy_by_id() {
        assert!(!ExportPolicy::Sealed.extractable(1));
        assert!(ExportPolicy::Wrapped.extractable(1));
        let p = ExportPolicy::WrappedIds(vec![10..=20, 100..=100]);
        assert!(p.extractable(10) && p.extractable(20) && p.extractable(100));
        assert!(!p.extractable(9) && !p.extractable(21) && !p.extractable(101));
    }

    #[test]
    fn roles_by_id_first_range_wins() {
        let roles = KeyRoles::default()
            .with(10..=20, KeyRole::DataKek)
            .with(15..=30, KeyRole::ImportKek);
        assert_eq!(roles.role(9), KeyRole::Derive);
        assert_eq!(roles.role(10), KeyRole::DataKek);
        assert_eq!(roles.role(20), KeyRole::DataKek);
        assert_eq!(roles.role(21), KeyRole::ImportKek);
        assert_eq!(roles.role(31), KeyRole::Derive);
    }
}
