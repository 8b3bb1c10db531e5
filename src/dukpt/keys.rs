//! AES DUKPT key types and host-side derivation.

use super::AES_UPDATE_KEY_COUNTER;
use super::cache::{Key, KeyTable};
use super::kdf::{
    USAGE_INITIAL_KEY, USAGE_KEY_DERIVATION, derivation_data, kdf, set_counter, step128, tail,
};
use super::ksn::{AesKsn, InitialKeyId};
use crate::error::{DecodeErrorKind, DukptError, Error, Result, StoreError};
use crate::secret::SecretBytes;
use crate::store::{KeyId, KeyKind, SymmetricKeys};
use core::fmt;

/// Size of an AES base derivation key and of the initial keys derived from it (they are
/// always the same size).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AesKeySize {
    /// 128-bit key.
    Aes128,
    /// 192-bit key.
    Aes192,
    /// 256-bit key.
    Aes256,
}

impl AesKeySize {
    /// Key length in bytes (16, 24, 32).
    #[must_use]
    pub const fn key_len(self) -> usize {
        match self {
            Self::Aes128 => 16,
            Self::Aes192 => 24,
            Self::Aes256 => 32,
        }
    }

    /// Key length in bits.
    #[must_use]
    pub const fn bits(self) -> u16 {
        match self {
            Self::Aes128 => 128,
            Self::Aes192 => 192,
            Self::Aes256 => 256,
        }
    }

    /// The size of an AES key of `len` bytes.
    #[must_use]
    pub const fn from_len(len: usize) -> Option<Self> {
        match len {
            16 => Some(Self::Aes128),
            24 => Some(Self::Aes192),
            32 => Some(Self::Aes256),
            _ => None,
        }
    }

    /// The working-key type of the same algorithm and size.
    #[must_use]
    pub const fn key_type(self) -> KeyType {
        match self {
            Self::Aes128 => KeyType::Aes128,
            Self::Aes192 => KeyType::Aes192,
            Self::Aes256 => KeyType::Aes256,
        }
    }

    /// The key-store kind for a key of this size.
    #[must_use]
    pub const fn key_kind(self) -> KeyKind {
        match self {
            Self::Aes128 => KeyKind::Aes128,
            Self::Aes192 => KeyKind::Aes192,
            Self::Aes256 => KeyKind::Aes256,
        }
    }

    const fn algorithm(self) -> u16 {
        self.key_type().algorithm_code()
    }

    /// Whether this build supports DUKPT with keys of this size: AES-128 always, AES-192
    /// with the `aes192` feature, AES-256 with `aes256` (both default).
    pub(crate) const fn is_supported(self) -> bool {
        match self {
            Self::Aes128 => true,
            Self::Aes192 => cfg!(feature = "aes192"),
            Self::Aes256 => cfg!(feature = "aes256"),
        }
    }

    /// The size of a `len`-byte key, if this build supports it.
    ///
    /// # Errors
    /// `Decode(InvalidLength)` unless `len` is 16, 24 or 32; [`Error::Unsupported`] for a
    /// size left out of this build.
    pub(crate) fn supported_from_len(len: usize) -> Result<Self> {
        let size = Self::from_len(len).ok_or(Error::decode(DecodeErrorKind::InvalidLength, len))?;
        size.supported()
    }

    /// `Ok(self)` if this build supports keys of this size, else [`Error::Unsupported`].
    pub(crate) const fn supported(self) -> Result<Self> {
        if self.is_supported() {
            Ok(self)
        } else {
            Err(Error::Unsupported)
        }
    }
}

/// What a working key may be used for (X9.24-3-2017 key usage indicator).
///
/// Every usage of the standard is here, including the "both ways" usages real POS
/// devices need. The request/response convention of openemv/dukpt and moov-io/dukpt
/// (request MAC: [`MacGeneration`](Self::MacGeneration), response MAC:
/// [`MacVerification`](Self::MacVerification), request data:
/// [`DataEncryption`](Self::DataEncryption), response data:
/// [`DataDecryption`](Self::DataDecryption)) is what the `request_*`/`response_*`
/// helpers on [`TransactionKey`] implement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WorkingKeyUsage {
    /// Key encryption key (`0002`).
    KeyEncryptionKey,
    /// PIN encryption (`1000`).
    PinEncryption,
    /// MAC generation (`2000`).
    MacGeneration,
    /// MAC verification (`2001`).
    MacVerification,
    /// MAC generation and verification (`2002`).
    MacBothWays,
    /// Data encryption (`3000`).
    DataEncryption,
    /// Data decryption (`3001`).
    DataDecryption,
    /// Data encryption and decryption (`3002`).
    DataBothWays,
}

impl WorkingKeyUsage {
    /// Every usage, in code order.
    pub const ALL: [Self; 8] = [
        Self::KeyEncryptionKey,
        Self::PinEncryption,
        Self::MacGeneration,
        Self::MacVerification,
        Self::MacBothWays,
        Self::DataEncryption,
        Self::DataDecryption,
        Self::DataBothWays,
    ];

    /// The two-byte key usage indicator of the derivation data.
    #[must_use]
    pub const fn code(self) -> u16 {
        match self {
            Self::KeyEncryptionKey => 0x0002,
            Self::PinEncryption => 0x1000,
            Self::MacGeneration => 0x2000,
            Self::MacVerification => 0x2001,
            Self::MacBothWays => 0x2002,
            Self::DataEncryption => 0x3000,
            Self::DataDecryption => 0x3001,
            Self::DataBothWays => 0x3002,
        }
    }

    /// The usage with this indicator, if it is a working-key usage.
    #[must_use]
    pub const fn from_code(code: u16) -> Option<Self> {
        Some(match code {
            0x0002 => Self::KeyEncryptionKey,
            0x1000 => Self::PinEncryption,
            0x2000 => Self::MacGeneration,
            0x2001 => Self::MacVerification,
            0x2002 => Self::MacBothWays,
            0x3000 => Self::DataEncryption,
            0x3001 => Self::DataDecryption,
            0x3002 => Self::DataBothWays,
            _ => return None,
        })
    }

    pub(crate) const fn is_mac(self) -> bool {
        matches!(
            self,
            Self::MacGeneration | Self::MacVerification | Self::MacBothWays
        )
    }

    pub(crate) const fn is_data(self) -> bool {
        matches!(
            self,
            Self::DataEncryption | Self::DataDecryption | Self::DataBothWays
        )
    }
}

/// The algorithm and length of a working key (X9.24-3-2017 algorithm indicator).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum KeyType {
    /// Two-key triple DES, 128 bits (`0000`).
    Tdes2,
    /// Three-key triple DES, 192 bits (`0001`).
    Tdes3,
    /// AES-128 (`0002`).
    Aes128,
    /// AES-192 (`0003`).
    Aes192,
    /// AES-256 (`0004`).
    Aes256,
    /// HMAC key of 128 bits (`0005`).
    Hmac128,
    /// HMAC key of 192 bits (`0005`).
    Hmac192,
    /// HMAC key of 256 bits (`0005`).
    Hmac256,
}

impl KeyType {
    /// Every type.
    pub const ALL: [Self; 8] = [
        Self::Tdes2,
        Self::Tdes3,
        Self::Aes128,
        Self::Aes192,
        Self::Aes256,
        Self::Hmac128,
        Self::Hmac192,
        Self::Hmac256,
    ];

    /// The two-byte algorithm indicator of the derivation data.
    #[must_use]
    pub const fn algorithm_code(self) -> u16 {
        match self {
            Self::Tdes2 => 0x0000,
            Self::Tdes3 => 0x0001,
            Self::Aes128 => 0x0002,
            Self::Aes192 => 0x0003,
            Self::Aes256 => 0x0004,
            Self::Hmac128 | Self::Hmac192 | Self::Hmac256 => 0x0005,
        }
    }

    /// Key length in bits (the derivation data's length field).
    #[must_use]
    pub const fn bits(self) -> u16 {
        match self {
            Self::Tdes2 | Self::Aes128 | Self::Hmac128 => 128,
            Self::Tdes3 | Self::Aes192 | Self::Hmac192 => 192,
            Self::Aes256 | Self::Hmac256 => 256,
        }
    }

    /// Key length in bytes.
    #[must_use]
    pub const fn key_len(self) -> usize {
        self.bits() as usize / 8
    }

    /// The type with this algorithm indicator and length, if any.
    #[must_use]
    pub const fn from_code(algorithm: u16, bits: u16) -> Option<Self> {
        Some(match (algorithm, bits) {
            (0x0000, 128) => Self::Tdes2,
            (0x0001, 192) => Self::Tdes3,
            (0x0002, 128) => Self::Aes128,
            (0x0003, 192) => Self::Aes192,
            (0x0004, 256) => Self::Aes256,
            (0x0005, 128) => Self::Hmac128,
            (0x0005, 192) => Self::Hmac192,
            (0x0005, 256) => Self::Hmac256,
            _ => return None,
        })
    }

    /// The strength rule: a working key may not be stronger than the initial key. TDEA
    /// keys (at most 112-bit strength) are allowed under every AES initial key; AES and
    /// HMAC keys need an initial key at least as long.
    #[must_use]
    pub const fn allowed_under(self, initial_key: AesKeySize) -> bool {
        match self {
            Self::Tdes2 | Self::Tdes3 => true,
            _ => self.bits() <= initial_key.bits(),
        }
    }

    pub(crate) const fn is_aes(self) -> bool {
        matches!(self, Self::Aes128 | Self::Aes192 | Self::Aes256)
    }

    pub(crate) const fn is_hmac(self) -> bool {
        matches!(self, Self::Hmac128 | Self::Hmac192 | Self::Hmac256)
    }
}

/// The derivation data (block counter 1) that turns a BDK into the initial key of `ikid`.
/// Useful to drive an HSM's own SP 800-108 mechanism.
#[must_use]
pub const fn initial_key_derivation_data(ikid: InitialKeyId, bdk: AesKeySize) -> [u8; 16] {
    derivation_data(
        USAGE_INITIAL_KEY,
        bdk.algorithm(),
        bdk.bits(),
        ikid.to_bytes(),
    )
}

/// The derivation data (block counter 1) of the working key of `usage` and `key_type`
/// for `ksn`, derived from that KSN's transaction key.
#[must_use]
pub const fn working_key_derivation_data(
    ksn: &AesKsn,
    usage: WorkingKeyUsage,
    key_type: KeyType,
) -> [u8; 16] {
    derivation_data(
        usage.code(),
        key_type.algorithm_code(),
        key_type.bits(),
        tail(ksn.initial_key_id().derivation_id(), ksn.counter()),
    )
}

/// An AES base derivation key in memory.
///
/// Prefer keeping the BDK in a key store and deriving with [`initial_key_from_store`];
/// this type is for hosts that hold the BDK in software (and for tests).
pub struct AesBdk {
    size: AesKeySize,
    key: SecretBytes<32>,
}

impl AesBdk {
    /// Copies a 16-, 24- or 32-byte AES key.
    ///
    /// # Errors
    /// `Decode(InvalidLength)` for another length; [`Error::Unsupported`] for a 24- or
    /// 32-byte key when the `aes192` or `aes256` feature is off.
    pub fn from_bytes(key: &[u8]) -> Result<Self> {
        let size = AesKeySize::supported_from_len(key.len())?;
        let mut out = SecretBytes::zero();
        copy_into(&mut out, key)?;
        Ok(Self { size, key: out })
    }

    /// A fresh random BDK. A size this build leaves out (features `aes192`,
    /// `aes256`) gives a BDK whose [`initial_key`](Self::initial_key) fails with
    /// [`Error::Unsupported`].
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(size: AesKeySize, rng: &mut R) -> Self {
        let mut key = SecretBytes::<32>::zero();
        if let Some(k) = key.expose_mut().get_mut(..size.key_len()) {
            rng.fill_bytes(k);
        }
        Self { size, key }
    }

    /// The key size.
    #[must_use]
    pub const fn size(&self) -> AesKeySize {
        self.size
    }

    /// Derives the initial key of the device `ikid`:
    /// `IK = KDF(BDK, 01 01 8001 alg len || IKID)`.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for a BDK from [`generate`](Self::generate) of a size this
    /// build leaves out; none otherwise (the key length is checked at construction).
    pub fn initial_key(&self, ikid: InitialKeyId) -> Result<InitialKey> {
        let mut key = SecretBytes::zero();
        let out = key
            .expose_mut()
            .get_mut(..self.size.key_len())
            .ok_or(Error::Unsupported)?;
        kdf(
            self.bytes(),
            initial_key_derivation_data(ikid, self.size),
            out,
        )?;
        Ok(InitialKey {
            size: self.size,
            ikid,
            key,
        })
    }

    fn bytes(&self) -> &[u8] {
        self.key.expose().get(..self.size.key_len()).unwrap_or(&[])
    }
}

impl fmt::Debug for AesBdk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AesBdk({:?}, ..)", self.size)
    }
}

/// Derives the initial key of `ikid` from the BDK held in `store` under `bdk`, using only
/// the store's AES block operation (one or two blocks), so the BDK can live in an HSM.
///
/// # Errors
/// [`StoreError::WrongKeyKind`] when `bdk` is not an AES key; [`Error::Unsupported`] for
/// an AES-192 or AES-256 BDK when the `aes192` or `aes256` feature is off;
/// the store's errors.
pub fn initial_key_from_store<S: SymmetricKeys + ?Sized>(
    store: &mut S,
    bdk: KeyId,
    ikid: InitialKeyId,
) -> Result<InitialKey> {
    let size = match store.key_kind(bdk)? {
        KeyKind::Aes128 => AesKeySize::Aes128,
        KeyKind::Aes192 => AesKeySize::Aes192,
        KeyKind::Aes256 => AesKeySize::Aes256,
        _ => return Err(StoreError::WrongKeyKind.into()),
    }
    .supported()?;
    let dd = initial_key_derivation_data(ikid, size);
    let mut key = SecretBytes::<32>::zero();
    let out = key
        .expose_mut()
        .get_mut(..size.key_len())
        .ok_or(Error::Unsupported)?;
    for (i, chunk) in out.chunks_mut(16).enumerate() {
        let mut block = SecretBytes::new(dd);
        if let Some(b) = block.expose_mut().get_mut(1) {
            *b = u8::try_from(i + 1).map_err(|_| Error::Unsupported)?;
        }
        store.encrypt_block(bdk, block.expose_mut())?;
        let n = chunk.len();
        chunk.copy_from_slice(block.expose().get(..n).ok_or(Error::Unsupported)?);
    }
    Ok(InitialKey { size, ikid, key })
}

/// The initial key (IK) of one device, bound to its Initial Key ID.
///
/// A host derives it from the BDK; a device receives it at injection and loads it into
/// an [`AesDevice`](super::AesDevice).
pub struct InitialKey {
    size: AesKeySize,
    ikid: InitialKeyId,
    key: SecretBytes<32>,
}

impl InitialKey {
    /// Imports an initial key (e.g. received in a key block at injection).
    ///
    /// # Errors
    /// `Decode(InvalidLength)` unless `key` is 16, 24 or 32 bytes; [`Error::Unsupported`]
    /// for a 24- or 32-byte key when the `aes192` or `aes256` feature is off.
    pub fn from_bytes(ikid: InitialKeyId, key: &[u8]) -> Result<Self> {
        let size = AesKeySize::supported_from_len(key.len())?;
        let mut out = SecretBytes::zero();
        copy_into(&mut out, key)?;
        Ok(Self {
            size,
            ikid,
            key: out,
        })
    }

    /// The key size (that of the BDK).
    #[must_use]
    pub const fn size(&self) -> AesKeySize {
        self.size
    }

    /// The Initial Key ID this key belongs to.
    #[must_use]
    pub const fn initial_key_id(&self) -> InitialKeyId {
        self.ikid
    }

    /// The intermediate derivation ("transaction") key for `ksn`.
    ///
    /// Cost: one AES key schedule and block (two for 192/256-bit keys) per one-bit of
    /// the counter. For many KSNs of one device see [`HostCache`](super::HostCache).
    ///
    /// # Errors
    /// [`DukptError::KsnMismatch`] when the KSN carries another Initial Key ID;
    /// [`DukptError::InvalidCounter`] for counter 0 or more than 16 one-bits (no
    /// conforming device sends those).
    pub fn transaction_key(&self, ksn: &AesKsn) -> Result<TransactionKey> {
        self.check_strict(ksn)?;
        self.transaction_key_permissive(ksn)
    }

    /// Like [`transaction_key`](Self::transaction_key) but for **any** counter, including
    /// 0, counters with more than 16 one-bits and `FFFFFFFF`. For tests and for the
    /// X9.24-3 supplement's invalid-counter examples; never accept such KSNs from the
    /// field.
    ///
    /// # Errors
    /// [`DukptError::KsnMismatch`] when the KSN carries another Initial Key ID.
    pub fn transaction_key_permissive(&self, ksn: &AesKsn) -> Result<TransactionKey> {
        if ksn.initial_key_id() != self.ikid {
            return Err(DukptError::KsnMismatch.into());
        }
        let mut key = SecretBytes::new(*self.key.expose());
        derive_path(&mut key, self.size, self.ikid, 0, ksn.counter())?;
        Ok(TransactionKey {
            ksn: *ksn,
            size: self.size,
            key,
        })
    }

    /// The working key of `usage` and `key_type` for `ksn`: transaction key, then one
    /// more derivation. Same checks as [`transaction_key`](Self::transaction_key).
    ///
    /// # Errors
    /// As [`transaction_key`](Self::transaction_key), plus [`DukptError::KeyTooStrong`].
    pub fn working_key(
        &self,
        ksn: &AesKsn,
        usage: WorkingKeyUsage,
        key_type: KeyType,
    ) -> Result<WorkingKey> {
        if !key_type.allowed_under(self.size) {
            return Err(DukptError::KeyTooStrong.into());
        }
        self.check_strict(ksn)?;
        let mut key = SecretBytes::new(*self.key.expose());
        derive_path(&mut key, self.size, self.ikid, 0, ksn.counter())?;
        if let (AesKeySize::Aes128, 16, Some(k)) = (
            self.size,
            key_type.key_len(),
            key.expose_mut().first_chunk_mut::<16>(),
        ) {
            // Hot path: the working key replaces the transaction key in place.
            step128(k, &working_key_derivation_data(ksn, usage, key_type));
            return Ok(WorkingKey {
                ksn: *ksn,
                usage,
                key_type,
                key,
            });
        }
        working_key_from(&key, self.size, ksn, usage, key_type)
    }

    /// The DUKPT Update Key (X9.24-3-2017 6.5.3): the key-encryption key derived with
    /// counter `FFFFFFFF` from the transaction key at `FFFFFFFF`, used to deliver a new
    /// initial key to the device.
    ///
    /// # Errors
    /// [`DukptError::KeyTooStrong`] when `key_type` is stronger than this key.
    pub fn update_key(&self, key_type: KeyType) -> Result<WorkingKey> {
        let ksn = AesKsn::new(self.ikid, AES_UPDATE_KEY_COUNTER);
        self.transaction_key_permissive(&ksn)?
            .working_key(WorkingKeyUsage::KeyEncryptionKey, key_type)
    }

    /// Derives the working key of `usage` and `key_type` for every KSN of `ksns`, calling
    /// `f(index, ksn, result)` for each, where `index` is the KSN's position in `ksns`.
    ///
    /// The batch keeps a [`HostCache`](super::HostCache)'s table of intermediate keys
    /// (2 KiB on the stack): a KSN whose intermediate key it holds (in-order counters,
    /// whose keys the previous working keys' derivations left there) costs one key
    /// schedule and one AES call. For AES-128 initial keys and 128-bit working keys, the
    /// others run eight at a time, interleaved, each from its longest cached prefix, so
    /// that the CPU overlaps their independent AES key schedules (about twice the
    /// single-call throughput on AES-NI hardware). **Results arrive in completion order,
    /// not input order** — use `index`. Other sizes are derived one at a time through the
    /// table. The same checks as [`working_key`](Self::working_key) apply per KSN.
    ///
    /// # Errors
    /// [`DukptError::KeyTooStrong`] (before any derivation); per-KSN errors go to `f`.
    pub fn for_each_working_key<I, F>(
        &self,
        ksns: I,
        usage: WorkingKeyUsage,
        key_type: KeyType,
        mut f: F,
    ) -> Result<()>
    where
        I: IntoIterator<Item = AesKsn>,
        F: FnMut(usize, &AesKsn, Result<WorkingKey>),
    {
        if !key_type.allowed_under(self.size) {
            return Err(DukptError::KeyTooStrong.into());
        }
        let mut table = KeyTable::new();
        let ksns = ksns.into_iter().enumerate();
        if self.size == AesKeySize::Aes128 && key_type.key_len() == 16 {
            self.interleaved128(ksns, usage, key_type, &mut table, &mut f);
        } else {
            for (i, ksn) in ksns {
                let r = self
                    .check_strict(&ksn)
                    .and_then(|()| table.working_key(self, &ksn, usage, key_type));
                f(i, &ksn, r);
            }
        }
        Ok(())
    }

    fn interleaved128<I, F>(
        &self,
        mut ksns: I,
        usage: WorkingKeyUsage,
        key_type: KeyType,
        table: &mut KeyTable,
        f: &mut F,
    ) where
        I: Iterator<Item = (usize, AesKsn)>,
        F: FnMut(usize, &AesKsn, Result<WorkingKey>),
    {
        /// Independent derivations in flight. Eight keep an AES-NI core busy (the
        /// out-of-order window overlaps about two key schedules; more lanes gain nothing).
        const LANES: usize = 8;
        #[derive(Clone, Copy)]
        struct Lane {
            index: usize,
            ksn: AesKsn,
            remaining: u32,
            prefix: u32,
            active: bool,
        }
        let Some(ik) = self.key.expose().first_chunk::<16>() else {
            return;
        };
        let mut step_dd = intermediate_derivation_data(self.size, self.ikid, 0);
        let mut keys: [SecretBytes<16>; LANES] = [const { SecretBytes::zero() }; LANES];
        let mut lanes = [Lane {
            index: 0,
            ksn: AesKsn::new(self.ikid, 0),
            remaining: 0,
            prefix: 0,
            active: false,
        }; LANES];
        let mut busy = 0usize;
        let mut drained = false;
        loop {
            // One derivation step per busy lane: the steps are independent, so the CPU
            // overlaps their key schedules and block encryptions.
            for (lane, key) in lanes.iter_mut().zip(keys.iter_mut()) {
                if !lane.active {
                    if drained {
                        continue;
                    }
                    // Refill from the input: invalid KSNs are reported and KSNs whose
                    // intermediate key the table holds are served as they pass; the
                    // first KSN that needs a derivation takes the lane, starting from
                    // its longest cached prefix.
                    let mut next = None;
                    for (index, ksn) in ksns.by_ref() {
                        if let Err(e) = self.check_strict(&ksn) {
                            f(index, &ksn, Err(e));
                            continue;
                        }
                        let counter = ksn.counter();
                        let (prefix, start) = match table.deepest(counter) {
                            Some((p, k)) => (p, k.expose().first_chunk::<16>().copied()),
                            None => (0, Some(*ik)),
                        };
                        let Some(start) = start else {
                            f(index, &ksn, Err(Error::Unsupported));
                            continue;
                        };
                        let mut start = SecretBytes::new(start);
                        if prefix == counter {
                            let r = table.working_key_and_children(
                                Key::Bytes(start.expose()),
                                self.size,
                                &ksn,
                                usage,
                                key_type,
                            );
                            f(index, &ksn, r);
                            continue;
                        }
                        core::mem::swap(key, &mut start);
                        next = Some((index, ksn, prefix));
                        break;
                    }
                    let Some((index, ksn, prefix)) = next else {
                        drained = true;
                        continue;
                    };
                    *lane = Lane {
                        index,
                        ksn,
                        remaining: ksn.counter() & !prefix,
                        prefix,
                        active: true,
                    };
                    busy += 1;
                }
                if lane.remaining != 0 {
                    let top = 1u32 << (31 - lane.remaining.leading_zeros());
                    lane.prefix |= top;
                    lane.remaining &= !top;
                    set_counter(&mut step_dd, lane.prefix);
                    step128(key.expose_mut(), &step_dd);
                    table.store(lane.prefix, key.expose());
                } else {
                    // The working key and the future keys of the counter's children, in
                    // one key schedule and one AES call.
                    let ksn = lane.ksn;
                    let r = table.working_key_and_children(
                        Key::Bytes(key.expose()),
                        self.size,
                        &ksn,
                        usage,
                        key_type,
                    );
                    lane.active = false;
                    busy -= 1;
                    f(lane.index, &ksn, r);
                }
            }
            if drained && busy == 0 {
                return;
            }
        }
    }

    pub(crate) fn check_strict(&self, ksn: &AesKsn) -> Result<()> {
        if ksn.initial_key_id() != self.ikid {
            return Err(DukptError::KsnMismatch.into());
        }
        if !ksn.is_valid() {
            return Err(DukptError::InvalidCounter.into());
        }
        Ok(())
    }

    pub(crate) fn key(&self) -> &SecretBytes<32> {
        &self.key
    }

    /// The raw key bytes. Every call is a place where the secret leaves its type.
    #[cfg(feature = "hazmat")]
    #[must_use]
    pub fn dangerous_expose(&self) -> &[u8] {
        self.key.expose().get(..self.size.key_len()).unwrap_or(&[])
    }
}

impl fmt::Debug for InitialKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InitialKey({:?}, {}, ..)", self.size, self.ikid)
    }
}

/// Walks the counter bits of `counter` that are not in `from` (which must be a prefix of
/// `counter`'s set bits, MSB first), deriving `key` one intermediate key per bit:
/// `key = KDF(key, 01 01 8000 alg len || DerivationID || prefix)`.
pub(crate) fn derive_path(
    key: &mut SecretBytes<32>,
    size: AesKeySize,
    ikid: InitialKeyId,
    from: u32,
    counter: u32,
) -> Result<()> {
    let mut dd = derivation_data(
        USAGE_KEY_DERIVATION,
        size.algorithm(),
        size.bits(),
        tail(ikid.derivation_id(), 0),
    );
    let mut remaining = counter & !from;
    let mut prefix = from;
    if size == AesKeySize::Aes128 {
        let k = key
            .expose_mut()
            .first_chunk_mut::<16>()
            .ok_or(Error::Unsupported)?;
        while remaining != 0 {
            let top = 1u32 << (31 - remaining.leading_zeros());
            prefix |= top;
            remaining &= !top;
            set_counter(&mut dd, prefix);
            step128(k, &dd);
        }
        return Ok(());
    }
    let mut next = SecretBytes::<32>::zero();
    while remaining != 0 {
        let top = 1u32 << (31 - remaining.leading_zeros());
        prefix |= top;
        remaining &= !top;
        set_counter(&mut dd, prefix);
        let cur = key
            .expose()
            .get(..size.key_len())
            .ok_or(Error::Unsupported)?;
        let out = next
            .expose_mut()
            .get_mut(..size.key_len())
            .ok_or(Error::Unsupported)?;
        kdf(cur, dd, out)?;
        core::mem::swap(key, &mut next);
    }
    Ok(())
}

/// One intermediate-key derivation: `dst = KDF(src, dd)` for keys of `size`.
#[inline]
pub(crate) fn derive_step(
    src: &SecretBytes<32>,
    dst: &mut SecretBytes<32>,
    size: AesKeySize,
    dd: &[u8; 16],
) -> Result<()> {
    if size == AesKeySize::Aes128 {
        let (Some(s), Some(d)) = (
            src.expose().first_chunk::<16>(),
            dst.expose_mut().first_chunk_mut::<16>(),
        ) else {
            return Err(Error::Unsupported);
        };
        *d = *s;
        step128(d, dd);
        return Ok(());
    }
    let cur = src
        .expose()
        .get(..size.key_len())
        .ok_or(Error::Unsupported)?;
    let out = dst
        .expose_mut()
        .get_mut(..size.key_len())
        .ok_or(Error::Unsupported)?;
    kdf(cur, *dd, out)
}

/// The derivation data of an intermediate key for counter (prefix) `counter`.
pub(crate) const fn intermediate_derivation_data(
    size: AesKeySize,
    ikid: InitialKeyId,
    counter: u32,
) -> [u8; 16] {
    derivation_data(
        USAGE_KEY_DERIVATION,
        size.algorithm(),
        size.bits(),
        tail(ikid.derivation_id(), counter),
    )
}

/// The working key of `usage` and `key_type` from the intermediate key `txn` of `ksn`.
pub(crate) fn working_key_from(
    txn: &SecretBytes<32>,
    size: AesKeySize,
    ksn: &AesKsn,
    usage: WorkingKeyUsage,
    key_type: KeyType,
) -> Result<WorkingKey> {
    if !key_type.allowed_under(size) {
        return Err(DukptError::KeyTooStrong.into());
    }
    let dd = working_key_derivation_data(ksn, usage, key_type);
    let mut key = SecretBytes::<32>::zero();
    kdf(
        head(txn, size.key_len()),
        dd,
        head_mut(&mut key, key_type.key_len()),
    )?;
    Ok(WorkingKey {
        ksn: *ksn,
        usage,
        key_type,
        key,
    })
}

/// The first `len` bytes of a key buffer (`len` ≤ 32 at every call; a longer one gives
/// an empty key, which the KDF refuses).
fn head(key: &SecretBytes<32>, len: usize) -> &[u8] {
    key.expose().get(..len).unwrap_or(&[])
}

/// The first `len` bytes of a key buffer, to fill (`len` ≤ 32 at every call).
fn head_mut(key: &mut SecretBytes<32>, len: usize) -> &mut [u8] {
    key.expose_mut().get_mut(..len).unwrap_or(&mut [])
}

/// An intermediate derivation key ("transaction key") for one KSN: what the device's
/// register holds for that counter and what the host derives from the initial key.
/// Working keys come from it.
pub struct TransactionKey {
    ksn: AesKsn,
    size: AesKeySize,
    key: SecretBytes<32>,
}

impl TransactionKey {
    pub(crate) fn new(ksn: AesKsn, size: AesKeySize, key: SecretBytes<32>) -> Self {
        Self { ksn, size, key }
    }

    /// The KSN this key belongs to (send it with the transaction).
    #[must_use]
    pub const fn ksn(&self) -> AesKsn {
        self.ksn
    }

    /// The size of the initial key (and of this key).
    #[must_use]
    pub const fn initial_key_size(&self) -> AesKeySize {
        self.size
    }

    /// Derives the working key of `usage` and `key_type`:
    /// `KDF(this key, 01 01 usage alg len || DerivationID || counter)`.
    ///
    /// # Errors
    /// [`DukptError::KeyTooStrong`] when `key_type` is stronger than the initial key.
    pub fn working_key(&self, usage: WorkingKeyUsage, key_type: KeyType) -> Result<WorkingKey> {
        working_key_from(&self.key, self.size, &self.ksn, usage, key_type)
    }

    /// The raw key bytes. Every call is a place where the secret leaves its type.
    #[cfg(feature = "hazmat")]
    #[must_use]
    pub fn dangerous_expose(&self) -> &[u8] {
        self.key.expose().get(..self.size.key_len()).unwrap_or(&[])
    }
}

impl fmt::Debug for TransactionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TransactionKey({}, ..)", self.ksn)
    }
}

/// A working key: its bytes plus the usage, type and KSN it was derived for. The helpers
/// ([`cmac`](super::cmac), [`encrypt_pin_block`](super::encrypt_pin_block),
/// [`cbc_encrypt`](super::cbc_encrypt), ...) refuse keys of another usage or type.
pub struct WorkingKey {
    ksn: AesKsn,
    usage: WorkingKeyUsage,
    key_type: KeyType,
    key: SecretBytes<32>,
}

impl WorkingKey {
    pub(crate) const fn new(
        ksn: AesKsn,
        usage: WorkingKeyUsage,
        key_type: KeyType,
        key: SecretBytes<32>,
    ) -> Self {
        Self {
            ksn,
            usage,
            key_type,
            key,
        }
    }

    /// The usage it was derived for.
    #[must_use]
    pub const fn usage(&self) -> WorkingKeyUsage {
        self.usage
    }

    /// Its algorithm and length.
    #[must_use]
    pub const fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The KSN it was derived for.
    #[must_use]
    pub const fn ksn(&self) -> AesKsn {
        self.ksn
    }

    /// Length in bytes.
    #[must_use]
    pub const fn len(&self) -> usize {
        self.key_type.key_len()
    }

    /// Always false (a working key has at least 16 bytes).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        false
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        self.key
            .expose()
            .get(..self.key_type.key_len())
            .unwrap_or(&[])
    }

    /// The raw key bytes. Every call is a place where the secret leaves its type.
    #[cfg(feature = "hazmat")]
    #[must_use]
    pub fn dangerous_expose(&self) -> &[u8] {
        self.bytes()
    }
}

impl fmt::Debug for WorkingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "WorkingKey({:?}, {:?}, {}, ..)",
            self.usage, self.key_type, self.ksn
        )
    }
}

fn copy_into(dst: &mut SecretBytes<32>, src: &[u8]) -> Result<()> {
    dst.expose_mut()
        .get_mut(..src.len())
        .ok_or(Error::decode(DecodeErrorKind::InvalidLength, src.len()))?
        .copy_from_slice(src);
    Ok(())
}
