//! TDES DUKPT (ANSI X9.24-1-2009 Annex A; identical to X9.24-3-2017 Annex C). Legacy:
//! use AES DUKPT for new systems. Feature `tdes`.
//!
//! - KSN: 10 bytes, a 59-bit initial KSN followed by a 21-bit counter with at most 10
//!   one-bits ([`TdesKsn`]).
//! - IPEK: `TDES(BDK, KSN₈) || TDES(BDK ⊕ C0C0C0C000000000C0C0C0C000000000, KSN₈)`, where
//!   KSN₈ is the leftmost 8 bytes of the KSN with the counter cleared ([`TdesBdk::ipek`],
//!   [`ipek_from_store`]).
//! - Transaction key: one non-reversible key generation step (single DES on each key
//!   half) per counter one-bit ([`Ipek::transaction_key`]); a device keeps 21 future-key
//!   registers ([`TdesDevice`]).
//! - Working keys are XOR variants of the transaction key, named in [`TdesUsage`]. The
//!   data keys of X9.24-1 add a one-way step (`TDES(v, vL) || TDES(v, vR)`); vendor
//!   conventions differ, so the variants without it and the MagTek-style use of the PIN
//!   variant for data are separate, explicitly named usages:
//!
//! | usage | XOR mask | one-way step | who |
//! |---|---|---|---|
//! | [`Pin`](TdesUsage::Pin) | `00000000000000FF 00000000000000FF` | no | X9.24-1 |
//! | [`MacRequest`](TdesUsage::MacRequest) | `000000000000FF00 000000000000FF00` | no | X9.24-1 |
//! | [`MacResponse`](TdesUsage::MacResponse) | `00000000FF000000 00000000FF000000` | no | X9.24-1 |
//! | [`DataRequest`](TdesUsage::DataRequest) | `0000000000FF0000 0000000000FF0000` | yes | X9.24-1, ID TECH |
//! | [`DataResponse`](TdesUsage::DataResponse) | `000000FF00000000 000000FF00000000` | yes | X9.24-1 |
//! | [`DataRequestVariant`](TdesUsage::DataRequestVariant) | as `DataRequest` | no | some vendors |
//! | [`DataResponseVariant`](TdesUsage::DataResponseVariant) | as `DataResponse` | no | some vendors |
//! | [`PinVariantAsData`](TdesUsage::PinVariantAsData) | as `Pin` | no | MagTek-style readers |
//!
//! Helpers: ISO 9564 format 0 PIN blocks, ANSI X9.19 retail MACs, TDES-CBC.

use super::counter::TDES_RULE;
use super::device::{self, Geometry, TAG_TDES};
use super::pin::{digits, parse_pin_field, require, set_nibble};
use crate::error::{DecodeErrorKind, DukptError, Error, Result, StoreError};
use crate::secret::{SecretBuf, SecretBytes};
use crate::store::{KeyId, KeyKind, RecordId, Records, SymmetricKeys};
use core::fmt;
use des::cipher::{Array, BlockCipherDecrypt, BlockCipherEncrypt, KeyInit};
use subtle::ConstantTimeEq;

/// The XOR mask that turns the BDK into its variant for the right half of the IPEK, and
/// a key into its variant for the left half of each future-key step.
pub const KEY_VARIANT_MASK: [u8; 16] = [
    0xC0, 0xC0, 0xC0, 0xC0, 0, 0, 0, 0, 0xC0, 0xC0, 0xC0, 0xC0, 0, 0, 0, 0,
];

/// Bits of the counter in the 10-byte KSN: the low 5 bits of byte 7, bytes 8 and 9.
const COUNTER_MASK: u32 = 0x1F_FFFF;

/// A TDES DUKPT key serial number: 59-bit initial KSN || 21-bit transaction counter.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TdesKsn([u8; 10]);

impl TdesKsn {
    /// Length of an encoded KSN.
    pub const LEN: usize = 10;

    /// Wraps the 10 bytes.
    #[must_use]
    pub const fn from_bytes(bytes: &[u8; 10]) -> Self {
        Self(*bytes)
    }

    /// Decodes a KSN from a slice, which must be exactly 10 bytes. (Some systems send
    /// KSNs left-padded with `FF` to 12 bytes; strip that before parsing.)
    ///
    /// # Errors
    /// `Decode(InvalidLength)` for any other length.
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        let arr: &[u8; 10] = bytes.try_into().map_err(|_| {
            Error::decode(DecodeErrorKind::InvalidLength, bytes.len().min(Self::LEN))
        })?;
        Ok(Self(*arr))
    }

    /// The 10 bytes.
    #[must_use]
    pub const fn to_bytes(&self) -> [u8; 10] {
        self.0
    }

    /// The 21-bit transaction counter.
    #[must_use]
    pub const fn counter(&self) -> u32 {
        let [.., a, b, c] = self.0;
        u32::from_be_bytes([0, a, b, c]) & COUNTER_MASK
    }

    /// The same KSN with the counter cleared (the device's initial KSN).
    #[must_use]
    pub const fn initial_ksn(&self) -> Self {
        self.with_counter_unchecked(0)
    }

    /// The KSN for `counter` under the same initial KSN.
    ///
    /// # Errors
    /// [`DukptError::InvalidCounter`] when `counter` does not fit 21 bits.
    pub const fn with_counter(&self, counter: u32) -> Result<Self> {
        if counter > COUNTER_MASK {
            return Err(Error::Dukpt(DukptError::InvalidCounter));
        }
        Ok(self.with_counter_unchecked(counter))
    }

    const fn with_counter_unchecked(&self, counter: u32) -> Self {
        let [k0, k1, k2, k3, k4, k5, k6, k7, ..] = self.0;
        let [_, a, b, c] = (counter & COUNTER_MASK).to_be_bytes();
        Self([k0, k1, k2, k3, k4, k5, k6, (k7 & 0xE0) | a, b, c])
    }

    /// True when a device may use this counter: not 0, at most 10 one-bits.
    #[must_use]
    pub const fn is_valid(&self) -> bool {
        TDES_RULE.is_valid(self.counter())
    }

    /// The KSN a device uses after this one, `None` when the counter space is exhausted.
    #[must_use]
    pub const fn next(&self) -> Option<Self> {
        match TDES_RULE.next(self.counter()) {
            Some(c) => Some(self.with_counter_unchecked(c)),
            None => None,
        }
    }

    /// The leftmost 8 bytes of the initial KSN (input of the IPEK derivation).
    const fn ipek_input(&self) -> [u8; 8] {
        let [a, b, c, d, e, f, g, h, ..] = self.initial_ksn().0;
        [a, b, c, d, e, f, g, h]
    }

    /// The rightmost 8 bytes with the counter replaced by `counter` (input of a
    /// future-key step).
    const fn step_input(&self, counter: u32) -> [u8; 8] {
        let [_, _, a, b, c, d, e, f, g, h] = self.with_counter_unchecked(counter).0;
        [a, b, c, d, e, f, g, h]
    }
}

impl fmt::Debug for TdesKsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TdesKsn({self})")
    }
}

impl fmt::Display for TdesKsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02X}"))
    }
}

fn des_encrypt(key: &[u8; 8], block: &mut [u8; 8]) {
    des::Des::new(&Array::from(*key)).encrypt_block(block.into());
}

fn tdes2_encrypt(key: &[u8; 16], block: &mut [u8; 8]) {
    des::TdesEde2::new(&Array::from(*key)).encrypt_block(block.into());
}

fn halves(key: &[u8; 16]) -> (&[u8; 8], &[u8; 8]) {
    let (l, r) = key.split_at(8);
    // Both halves are 8 bytes by construction.
    let l: &[u8; 8] = l.try_into().unwrap_or(&[0; 8]);
    let r: &[u8; 8] = r.try_into().unwrap_or(&[0; 8]);
    (l, r)
}

/// One half of the non-reversible key generation process: `DES(kL, data ⊕ kR) ⊕ kR`.
fn nrkgp_half(key: &[u8; 16], data: &[u8; 8]) -> [u8; 8] {
    let (kl, kr) = halves(key);
    let mut r = [0u8; 8];
    for ((o, d), k) in r.iter_mut().zip(data).zip(kr) {
        *o = d ^ k;
    }
    des_encrypt(kl, &mut r);
    for (o, k) in r.iter_mut().zip(kr) {
        *o ^= k;
    }
    r
}

/// The non-reversible key generation process: new right half from `key`, new left half
/// from `key ⊕ C0C0C0C000000000C0C0C0C000000000`.
fn future_key(key: &[u8; 16], data: &[u8; 8], out: &mut [u8; 16]) {
    let mut variant = SecretBytes::new(*key);
    for (v, m) in variant.expose_mut().iter_mut().zip(KEY_VARIANT_MASK) {
        *v ^= m;
    }
    let right = nrkgp_half(key, data);
    let left = nrkgp_half(variant.expose(), data);
    let (l, r) = out.split_at_mut(8);
    l.copy_from_slice(&left);
    r.copy_from_slice(&right);
}

/// A 2TDEA TDES DUKPT base derivation key in memory.
pub struct TdesBdk(SecretBytes<16>);

impl TdesBdk {
    /// Copies a 16-byte 2TDEA key.
    ///
    /// # Errors
    /// `Decode(InvalidLength)` for another length.
    pub fn from_bytes(key: &[u8]) -> Result<Self> {
        SecretBytes::from_slice(key).map(Self)
    }

    /// Derives the IPEK of the device whose KSN (any counter) is `ksn`.
    #[must_use]
    pub fn ipek(&self, ksn: &TdesKsn) -> Ipek {
        let input = ksn.ipek_input();
        let mut key = SecretBytes::<16>::zero();
        let mut variant = SecretBytes::new(*self.0.expose());
        for (v, m) in variant.expose_mut().iter_mut().zip(KEY_VARIANT_MASK) {
            *v ^= m;
        }
        let (l, r) = key.expose_mut().split_at_mut(8);
        let mut block = input;
        tdes2_encrypt(self.0.expose(), &mut block);
        l.copy_from_slice(&block);
        block = input;
        tdes2_encrypt(variant.expose(), &mut block);
        r.copy_from_slice(&block);
        Ipek {
            iksn: ksn.initial_ksn(),
            key,
        }
    }

    /// Imports the BDK and its variant (`BDK ⊕ C0C0C0C000000000C0C0C0C000000000`) into a
    /// key store as two 2TDEA keys, for [`ipek_from_store`].
    ///
    /// # Errors
    /// The store's errors.
    pub fn import_into<S: SymmetricKeys + ?Sized>(
        &self,
        store: &mut S,
        bdk: KeyId,
        variant: KeyId,
    ) -> Result<()> {
        let mut v = SecretBytes::new(*self.0.expose());
        for (b, m) in v.expose_mut().iter_mut().zip(KEY_VARIANT_MASK) {
            *b ^= m;
        }
        store.import_symmetric(bdk, KeyKind::Tdes2, self.0.expose())?;
        store.import_symmetric(variant, KeyKind::Tdes2, v.expose())
    }
}

impl fmt::Debug for TdesBdk {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TdesBdk(..)")
    }
}

/// Derives the IPEK with the BDK held by handle. A key store offers only block
/// encryption, so the BDK's variant (`BDK ⊕ C0C0C0C000000000C0C0C0C000000000`) must be
/// stored as a second key ([`TdesBdk::import_into`] does both).
///
/// # Errors
/// [`StoreError::WrongKeyKind`] unless both are 2TDEA keys; the store's errors.
pub fn ipek_from_store<S: SymmetricKeys + ?Sized>(
    store: &mut S,
    bdk: KeyId,
    bdk_variant: KeyId,
    ksn: &TdesKsn,
) -> Result<Ipek> {
    if store.key_kind(bdk)? != KeyKind::Tdes2 || store.key_kind(bdk_variant)? != KeyKind::Tdes2 {
        return Err(StoreError::WrongKeyKind.into());
    }
    let input = ksn.ipek_input();
    let mut key = SecretBytes::<16>::zero();
    let (l, r) = key.expose_mut().split_at_mut(8);
    l.copy_from_slice(&input);
    store.encrypt_block(bdk, l)?;
    r.copy_from_slice(&input);
    store.encrypt_block(bdk_variant, r)?;
    Ok(Ipek {
        iksn: ksn.initial_ksn(),
        key,
    })
}

/// The initial PIN encryption key (IPEK) of one TDES DUKPT device, bound to its initial
/// KSN.
pub struct Ipek {
    iksn: TdesKsn,
    key: SecretBytes<16>,
}

impl Ipek {
    /// Imports an IPEK (e.g. received at injection) for the device of `ksn` (any counter).
    ///
    /// # Errors
    /// `Decode(InvalidLength)` unless `key` is 16 bytes.
    pub fn from_bytes(ksn: &TdesKsn, key: &[u8]) -> Result<Self> {
        Ok(Self {
            iksn: ksn.initial_ksn(),
            key: SecretBytes::from_slice(key)?,
        })
    }

    /// The initial KSN (counter 0).
    #[must_use]
    pub const fn initial_ksn(&self) -> TdesKsn {
        self.iksn
    }

    /// The transaction key for `ksn`.
    ///
    /// # Errors
    /// [`DukptError::KsnMismatch`] when `ksn` belongs to another device;
    /// [`DukptError::InvalidCounter`] for counter 0 or more than 10 one-bits.
    pub fn transaction_key(&self, ksn: &TdesKsn) -> Result<TdesTransactionKey> {
        if ksn.initial_ksn() != self.iksn {
            return Err(DukptError::KsnMismatch.into());
        }
        if !ksn.is_valid() {
            return Err(DukptError::InvalidCounter.into());
        }
        self.transaction_key_permissive(ksn)
    }

    /// Like [`transaction_key`](Self::transaction_key) for **any** 21-bit counter; for
    /// tests only.
    ///
    /// # Errors
    /// [`DukptError::KsnMismatch`] when `ksn` belongs to another device.
    pub fn transaction_key_permissive(&self, ksn: &TdesKsn) -> Result<TdesTransactionKey> {
        if ksn.initial_ksn() != self.iksn {
            return Err(DukptError::KsnMismatch.into());
        }
        let mut key = SecretBytes::new(*self.key.expose());
        let mut next = SecretBytes::<16>::zero();
        let counter = ksn.counter();
        let mut prefix = 0u32;
        for j in (0..21).rev() {
            let bit = 1u32 << j;
            if counter & bit != 0 {
                prefix |= bit;
                future_key(key.expose(), &ksn.step_input(prefix), next.expose_mut());
                core::mem::swap(&mut key, &mut next);
            }
        }
        Ok(TdesTransactionKey { ksn: *ksn, key })
    }

    /// The raw key bytes. Every call is a place where the secret leaves its type.
    #[cfg(feature = "hazmat")]
    #[must_use]
    pub const fn dangerous_expose(&self) -> &[u8; 16] {
        self.key.expose()
    }
}

impl fmt::Debug for Ipek {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Ipek({}, ..)", self.iksn)
    }
}

/// What a TDES DUKPT working key is for: which variant of the transaction key, and
/// whether the data-key one-way step follows. See the [module](self) table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TdesUsage {
    /// PIN encryption key (variant `…FF`).
    Pin,
    /// MAC key for requests (X9.19 retail MAC).
    MacRequest,
    /// MAC key for responses.
    MacResponse,
    /// Data key for requests: data variant, then the one-way step (X9.24-1).
    DataRequest,
    /// Data key for responses: data variant, then the one-way step (X9.24-1).
    DataResponse,
    /// The request data variant **without** the one-way step (some vendors).
    DataRequestVariant,
    /// The response data variant **without** the one-way step (some vendors).
    DataResponseVariant,
    /// Legacy MagTek-style readers: track data encrypted with the **PIN** variant and no
    /// one-way step. Not the X9.24-1 data key.
    PinVariantAsData,
}

impl TdesUsage {
    /// The byte XORed into bytes `i` and `i + 8` of the transaction key, and `i`.
    const fn variant(self) -> (usize, bool) {
        match self {
            Self::Pin | Self::PinVariantAsData => (7, false),
            Self::MacRequest => (6, false),
            Self::MacResponse => (4, false),
            Self::DataRequest => (5, true),
            Self::DataRequestVariant => (5, false),
            Self::DataResponse => (3, true),
            Self::DataResponseVariant => (3, false),
        }
    }

    const fn is_data(self) -> bool {
        matches!(
            self,
            Self::DataRequest
                | Self::DataResponse
                | Self::DataRequestVariant
                | Self::DataResponseVariant
                | Self::PinVariantAsData
        )
    }
}

/// A TDES DUKPT transaction key (the "current key" for one KSN).
pub struct TdesTransactionKey {
    ksn: TdesKsn,
    key: SecretBytes<16>,
}

impl TdesTransactionKey {
    /// The KSN it belongs to.
    #[must_use]
    pub const fn ksn(&self) -> TdesKsn {
        self.ksn
    }

    /// The working key of `usage`.
    #[must_use]
    pub fn working_key(&self, usage: TdesUsage) -> TdesWorkingKey {
        let (byte, one_way) = usage.variant();
        let mut key = SecretBytes::new(*self.key.expose());
        let k = key.expose_mut();
        for i in [byte, byte + 8] {
            if let Some(b) = k.get_mut(i) {
                *b ^= 0xFF;
            }
        }
        if one_way {
            let v = *k;
            let (l, r) = k.split_at_mut(8);
            let (vl, vr) = halves(&v);
            let mut bl = *vl;
            let mut br = *vr;
            tdes2_encrypt(&v, &mut bl);
            tdes2_encrypt(&v, &mut br);
            l.copy_from_slice(&bl);
            r.copy_from_slice(&br);
            zeroize::Zeroize::zeroize(&mut bl);
            zeroize::Zeroize::zeroize(&mut br);
        }
        TdesWorkingKey {
            ksn: self.ksn,
            usage,
            key,
        }
    }

    /// ISO 9564 format 0 PIN block under the PIN key.
    ///
    /// # Errors
    /// As [`encrypt_pin_block_format0`].
    pub fn encrypt_pin_block(&self, pin: &[u8], pan: &[u8]) -> Result<[u8; 8]> {
        encrypt_pin_block_format0(&self.working_key(TdesUsage::Pin), pin, pan)
    }

    /// X9.19 retail MAC of a request (full 8 bytes; X9.24-1 prints the left 4).
    ///
    /// # Errors
    /// None in practice; see [`retail_mac`].
    pub fn request_mac(&self, msg: &[u8]) -> Result<[u8; 8]> {
        retail_mac(&self.working_key(TdesUsage::MacRequest), msg)
    }

    /// X9.19 retail MAC of a response.
    ///
    /// # Errors
    /// None in practice; see [`retail_mac`].
    pub fn response_mac(&self, msg: &[u8]) -> Result<[u8; 8]> {
        retail_mac(&self.working_key(TdesUsage::MacResponse), msg)
    }

    /// TDES-CBC encryption of request data under the X9.24-1 request data key.
    ///
    /// # Errors
    /// As [`tdes_cbc_encrypt`].
    pub fn encrypt_request(&self, iv: &[u8; 8], buf: &mut [u8]) -> Result<()> {
        tdes_cbc_encrypt(&self.working_key(TdesUsage::DataRequest), iv, buf)
    }

    /// TDES-CBC decryption of request data.
    ///
    /// # Errors
    /// As [`tdes_cbc_decrypt`].
    pub fn decrypt_request(&self, iv: &[u8; 8], buf: &mut [u8]) -> Result<()> {
        tdes_cbc_decrypt(&self.working_key(TdesUsage::DataRequest), iv, buf)
    }

    /// TDES-CBC encryption of response data under the X9.24-1 response data key.
    ///
    /// # Errors
    /// As [`tdes_cbc_encrypt`].
    pub fn encrypt_response(&self, iv: &[u8; 8], buf: &mut [u8]) -> Result<()> {
        tdes_cbc_encrypt(&self.working_key(TdesUsage::DataResponse), iv, buf)
    }

    /// TDES-CBC decryption of response data.
    ///
    /// # Errors
    /// As [`tdes_cbc_decrypt`].
    pub fn decrypt_response(&self, iv: &[u8; 8], buf: &mut [u8]) -> Result<()> {
        tdes_cbc_decrypt(&self.working_key(TdesUsage::DataResponse), iv, buf)
    }

    /// The raw key bytes. Every call is a place where the secret leaves its type.
    #[cfg(feature = "hazmat")]
    #[must_use]
    pub const fn dangerous_expose(&self) -> &[u8; 16] {
        self.key.expose()
    }
}

impl fmt::Debug for TdesTransactionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TdesTransactionKey({}, ..)", self.ksn)
    }
}

/// A TDES DUKPT working key (2TDEA) with its usage.
pub struct TdesWorkingKey {
    ksn: TdesKsn,
    usage: TdesUsage,
    key: SecretBytes<16>,
}

impl TdesWorkingKey {
    /// Its usage.
    #[must_use]
    pub const fn usage(&self) -> TdesUsage {
        self.usage
    }

    /// The KSN it was derived for.
    #[must_use]
    pub const fn ksn(&self) -> TdesKsn {
        self.ksn
    }

    /// The raw key bytes. Every call is a place where the secret leaves its type.
    #[cfg(feature = "hazmat")]
    #[must_use]
    pub const fn dangerous_expose(&self) -> &[u8; 16] {
        self.key.expose()
    }
}

impl fmt::Debug for TdesWorkingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TdesWorkingKey({:?}, {}, ..)", self.usage, self.ksn)
    }
}

/// The ISO 9564-1 format 0 PAN field: `0000` and the 12 rightmost PAN digits excluding
/// the check digit (padded left with zeros).
fn format0_pan_field(pan: &[u8]) -> Result<[u8; 8]> {
    digits(pan, 2, 19, DukptError::InvalidPan)?;
    let body = pan.get(..pan.len() - 1).ok_or(DukptError::InvalidPan)?;
    let take = body
        .get(body.len().saturating_sub(12)..)
        .ok_or(DukptError::InvalidPan)?;
    let mut field = [0u8; 8];
    let start = 16 - take.len();
    for (i, d) in take.iter().enumerate() {
        set_nibble(&mut field, start + i, d - b'0');
    }
    Ok(field)
}

/// The ISO 9564-1 format 0 plaintext PIN block: `0 | N | PIN | F…F` XOR the PAN field.
///
/// # Errors
/// [`DukptError::InvalidPin`] unless `pin` is 4 to 12 ASCII digits;
/// [`DukptError::InvalidPan`] unless `pan` is 2 to 19 ASCII digits.
pub fn format0_pin_block(pin: &[u8], pan: &[u8]) -> Result<SecretBytes<8>> {
    digits(pin, 4, 12, DukptError::InvalidPin)?;
    let pan_field = format0_pan_field(pan)?;
    let mut block = SecretBytes::new([0xFF; 8]);
    let b = block.expose_mut();
    set_nibble(b, 0, 0);
    set_nibble(
        b,
        1,
        u8::try_from(pin.len()).map_err(|_| DukptError::InvalidPin)?,
    );
    for (i, d) in pin.iter().enumerate() {
        set_nibble(b, 2 + i, d - b'0');
    }
    for (x, p) in b.iter_mut().zip(pan_field) {
        *x ^= p;
    }
    Ok(block)
}

/// Encrypts a format 0 PIN block (TDES-ECB under a [`TdesUsage::Pin`] key).
///
/// # Errors
/// [`DukptError::WrongKeyUsage`]; as [`format0_pin_block`].
pub fn encrypt_pin_block_format0(key: &TdesWorkingKey, pin: &[u8], pan: &[u8]) -> Result<[u8; 8]> {
    require(key.usage == TdesUsage::Pin)?;
    let mut block = format0_pin_block(pin, pan)?;
    tdes2_encrypt(key.key.expose(), block.expose_mut());
    Ok(*block.expose())
}

/// Decrypts a format 0 PIN block and returns the PIN as ASCII digits.
///
/// # Errors
/// [`DukptError::WrongKeyUsage`], [`DukptError::InvalidPan`]; [`Error::Crypto`] when the
/// result is not a well-formed format 0 block.
pub fn decrypt_pin_block_format0(
    key: &TdesWorkingKey,
    block: &[u8; 8],
    pan: &[u8],
) -> Result<SecretBuf<12>> {
    require(key.usage == TdesUsage::Pin)?;
    let pan_field = format0_pan_field(pan)?;
    let mut b = SecretBytes::new(*block);
    des::TdesEde2::new(&Array::from(*key.key.expose())).decrypt_block(b.expose_mut().into());
    let buf = b.expose_mut();
    for (x, p) in buf.iter_mut().zip(pan_field) {
        *x ^= p;
    }
    parse_pin_field(buf, 0, 0xF)
}

/// ANSI X9.19 retail MAC (ISO 9797-1 MAC algorithm 3, padding method 1): single-DES CBC-MAC
/// under the left key half, then decrypt with the right half and encrypt with the left.
/// Returns all 8 bytes; X9.24-1 transmits the leftmost 4.
///
/// # Errors
/// [`DukptError::WrongKeyUsage`] unless `key` is a MAC request or response key.
pub fn retail_mac(key: &TdesWorkingKey, msg: &[u8]) -> Result<[u8; 8]> {
    require(matches!(
        key.usage,
        TdesUsage::MacRequest | TdesUsage::MacResponse
    ))?;
    let (kl, kr) = halves(key.key.expose());
    let left = des::Des::new(&Array::from(*kl));
    let right = des::Des::new(&Array::from(*kr));
    let mut state = [0u8; 8];
    let mut blocks = msg.chunks(8).peekable();
    if blocks.peek().is_none() {
        left.encrypt_block((&mut state).into());
    }
    for chunk in blocks {
        for (s, m) in state.iter_mut().zip(chunk) {
            *s ^= m;
        }
        left.encrypt_block((&mut state).into());
    }
    right.decrypt_block((&mut state).into());
    left.encrypt_block((&mut state).into());
    Ok(state)
}

/// Verifies a retail MAC in constant time; `tag` may be its leftmost 4 to 8 bytes.
///
/// # Errors
/// [`Error::Crypto`] on mismatch; as [`retail_mac`].
pub fn verify_retail_mac(key: &TdesWorkingKey, msg: &[u8], tag: &[u8]) -> Result<()> {
    let full = retail_mac(key, msg)?;
    match full.get(..tag.len()) {
        Some(p) if tag.len() >= 4 && bool::from(p.ct_eq(tag)) => Ok(()),
        _ => Err(Error::Crypto),
    }
}

/// TDES-CBC in place with a 2TDEA (16-byte) or 3TDEA (24-byte) key.
pub(crate) fn tdes_cbc(key: &[u8], iv: &[u8], buf: &mut [u8], encrypt: bool) -> Result<()> {
    let iv: &[u8; 8] = iv
        .try_into()
        .map_err(|_| Error::decode(DecodeErrorKind::InvalidLength, iv.len()))?;
    if !buf.len().is_multiple_of(8) {
        return Err(Error::decode(DecodeErrorKind::InvalidLength, buf.len()));
    }
    match key.len() {
        16 => cbc_with(
            &des::TdesEde2::new_from_slice(key).map_err(|_| Error::Unsupported)?,
            iv,
            buf,
            encrypt,
        ),
        24 => cbc_with(
            &des::TdesEde3::new_from_slice(key).map_err(|_| Error::Unsupported)?,
            iv,
            buf,
            encrypt,
        ),
        n => Err(Error::decode(DecodeErrorKind::InvalidLength, n)),
    }
}

fn cbc_with<C>(cipher: &C, iv: &[u8; 8], buf: &mut [u8], encrypt: bool) -> Result<()>
where
    C: BlockCipherEncrypt<BlockSize = des::cipher::consts::U8>
        + BlockCipherDecrypt<BlockSize = des::cipher::consts::U8>,
{
    let mut chain = *iv;
    for chunk in buf.chunks_exact_mut(8) {
        let block: &mut [u8; 8] = chunk.try_into().map_err(|_| Error::Unsupported)?;
        if encrypt {
            for (b, c) in block.iter_mut().zip(chain) {
                *b ^= c;
            }
            cipher.encrypt_block(block.into());
            chain = *block;
        } else {
            let saved = *block;
            cipher.decrypt_block(block.into());
            for (b, c) in block.iter_mut().zip(chain) {
                *b ^= c;
            }
            chain = saved;
        }
    }
    Ok(())
}

fn data_key(key: &TdesWorkingKey) -> Result<()> {
    require(key.usage.is_data())
}

/// TDES-CBC encryption in place under a data key ([`TdesUsage::DataRequest`] and the
/// other data usages, including the vendor ones). Pad `buf` to a multiple of 8 first
/// (the convention is zero padding).
///
/// # Errors
/// [`DukptError::WrongKeyUsage`]; `Decode(InvalidLength)` when `buf` is not whole blocks.
pub fn tdes_cbc_encrypt(key: &TdesWorkingKey, iv: &[u8; 8], buf: &mut [u8]) -> Result<()> {
    data_key(key)?;
    tdes_cbc(key.key.expose(), iv, buf, true)
}

/// TDES-CBC decryption in place; the inverse of [`tdes_cbc_encrypt`].
///
/// # Errors
/// As [`tdes_cbc_encrypt`].
pub fn tdes_cbc_decrypt(key: &TdesWorkingKey, iv: &[u8; 8], buf: &mut [u8]) -> Result<()> {
    data_key(key)?;
    tdes_cbc(key.key.expose(), iv, buf, false)
}

/// A TDES DUKPT transaction-originating device: 21 future-key registers persisted in a
/// [`Records`] store (22 records from `base`, each at most 20 bytes), with the same
/// advance-and-commit-before-use discipline as [`AesDevice`](super::AesDevice).
pub struct TdesDevice {
    base: RecordId,
    iksn: TdesKsn,
}

const fn tdes_geometry() -> Geometry {
    Geometry {
        rule: TDES_RULE,
        key_len: 16,
        tag: TAG_TDES,
    }
}

fn tdes_deriver(iksn: TdesKsn) -> impl Fn(&[u8], u32, &mut [u8]) -> Result<()> {
    move |parent, counter, out| {
        let parent: &[u8; 16] = parent.try_into().map_err(|_| Error::Unsupported)?;
        let out: &mut [u8; 16] = out.try_into().map_err(|_| Error::Unsupported)?;
        future_key(parent, &iksn.step_input(counter), out);
        Ok(())
    }
}

impl TdesDevice {
    /// Number of records the device occupies from its base id.
    pub const RECORDS: u32 = 22;

    /// Loads `ipek` into the future-key registers at `base`, counter 1.
    ///
    /// # Errors
    /// [`StoreError::RecordTooLarge`] when the store's records are too small; store errors.
    pub fn load_ipek<S: Records + ?Sized>(
        store: &mut S,
        base: RecordId,
        ipek: &Ipek,
    ) -> Result<Self> {
        Self::load_at(store, base, ipek, 1)
    }

    /// Loads `ipek` with the counter at `counter` (registers as a device that has just
    /// reached it). For tests of counter edges; dangerous because reloading at a used
    /// counter reuses keys.
    ///
    /// # Errors
    /// [`DukptError::InvalidCounter`]; as [`load_ipek`](Self::load_ipek).
    #[cfg(feature = "hazmat")]
    pub fn dangerous_load_ipek_at<S: Records + ?Sized>(
        store: &mut S,
        base: RecordId,
        ipek: &Ipek,
        counter: u32,
    ) -> Result<Self> {
        Self::load_at(store, base, ipek, counter)
    }

    fn load_at<S: Records + ?Sized>(
        store: &mut S,
        base: RecordId,
        ipek: &Ipek,
        counter: u32,
    ) -> Result<Self> {
        let iksn = ipek.iksn;
        device::load(
            store,
            base,
            tdes_geometry(),
            iksn.to_bytes(),
            ipek.key.expose(),
            counter,
            tdes_deriver(iksn),
        )?;
        Ok(Self { base, iksn })
    }

    /// Opens the device state stored at `base`, first emptying any register its counter
    /// says must be empty (what a power cut between a transaction commit and the wipe of
    /// the used register leaves).
    ///
    /// # Errors
    /// [`StoreError::NotFound`]; [`StoreError::Corrupt`] when it is not a complete TDES
    /// DUKPT state.
    pub fn open<S: Records + ?Sized>(store: &mut S, base: RecordId) -> Result<Self> {
        let header = device::open(store, base, tdes_geometry())?;
        Ok(Self {
            base,
            iksn: TdesKsn(header.id),
        })
    }

    /// Takes the next counter, commits the advance, returns its transaction key.
    ///
    /// # Errors
    /// [`DukptError::Exhausted`] after the last counter (`1FF800`); store errors.
    pub fn next_transaction<S: Records + ?Sized>(
        &mut self,
        store: &mut S,
    ) -> Result<TdesTransactionKey> {
        let (header, key) = device::next(
            store,
            self.base,
            tdes_geometry(),
            self.iksn.to_bytes(),
            tdes_deriver(self.iksn),
        )?;
        let mut k = SecretBytes::<16>::zero();
        k.expose_mut()
            .copy_from_slice(key.expose().get(..16).ok_or(Error::Unsupported)?);
        Ok(TdesTransactionKey {
            ksn: self.iksn.with_counter(header.counter)?,
            key: k,
        })
    }

    /// The KSN the next transaction will use, `None` once exhausted.
    ///
    /// # Errors
    /// Store errors.
    pub fn next_ksn<S: Records + ?Sized>(&self, store: &mut S) -> Result<Option<TdesKsn>> {
        let (_, next) = device::peek(store, self.base, tdes_geometry())?;
        next.map(|c| self.iksn.with_counter(c)).transpose()
    }

    /// The device's initial KSN.
    #[must_use]
    pub const fn initial_ksn(&self) -> TdesKsn {
        self.iksn
    }

    /// The live content of future-key register `index` (0..21, bit `index` of the
    /// counter), `None` when empty.
    ///
    /// # Errors
    /// Store errors; [`StoreError::Corrupt`].
    #[cfg(feature = "hazmat")]
    pub fn dangerous_register<S: Records + ?Sized>(
        &self,
        store: &mut S,
        index: u32,
    ) -> Result<Option<SecretBytes<16>>> {
        Ok(
            device::register(store, self.base, tdes_geometry(), index)?.map(|k| {
                let mut out = SecretBytes::<16>::zero();
                if let Some(src) = k.expose().first_chunk::<16>() {
                    *out.expose_mut() = *src;
                }
                out
            }),
        )
    }
}

impl fmt::Debug for TdesDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TdesDevice")
            .field("base", &self.base)
            .field("iksn", &self.iksn)
            .finish()
    }
}
