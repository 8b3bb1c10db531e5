//! The compact device certificate: 111 bytes that expand byte-exactly into X.509.
//!
//! Layout (format version 1, all integers big-endian; full spec in `docs/cert-format.md`):
//!
//! | offset | len | field |
//! |---:|---:|---|
//! | 0 | 1 | header: version (bits 7–4) = 1, reserved (bit 3) = 0, usage (bits 2–1), y parity (bit 0) |
//! | 1 | 8 | device serial (u64, non-zero) |
//! | 9 | 4 | issuer key id: first 4 bytes of the issuing CA's subjectKeyIdentifier |
//! | 13 | 2 | issue date: days since 2000-01-01 (notBefore at 00:00:00Z) |
//! | 15 | 32 | device public key: x coordinate |
//! | 47 | 64 | CA signature `r ‖ s` over the expanded TBSCertificate |

use crate::cert::time::{DAY, UnixTime, days_from_civil};
use crate::ec::{EcPublicKey, EcdsaSignature};
use crate::error::{DecodeErrorKind, Error, Result};

/// Size of a compact certificate in bytes.
pub const COMPACT_LEN: usize = 111;
/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u8 = 1;

/// Offset of the signature's `s` (after `r`).
const OFF_S: usize = 47 + 32;

const EPOCH_2000_DAYS: i64 = days_from_civil(2000, 1, 1) as i64;

/// What a device key is certified for, beyond `digitalSignature` and `clientAuth`,
/// which every device certificate carries.
///
/// Start from [`SIGN_ONLY`](Self::SIGN_ONLY) (also the `Default`) and add usages:
/// `DeviceUsage::SIGN_ONLY.with_key_agreement(true)`. `#[non_exhaustive]`: the header's
/// reserved bit may carry another usage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct DeviceUsage {
    /// Adds `keyAgreement` to keyUsage (static ECDH with the identity key).
    pub key_agreement: bool,
    /// Adds `serverAuth` to extendedKeyUsage (the device may act as a TLS server).
    pub server_auth: bool,
}

impl DeviceUsage {
    /// Signature and TLS client authentication only: the default, and what the
    /// handshake needs.
    pub const SIGN_ONLY: Self = Self {
        key_agreement: false,
        server_auth: false,
    };

    /// The same usages, with `keyAgreement` added (`true`) or left out (`false`).
    #[must_use]
    pub const fn with_key_agreement(mut self, key_agreement: bool) -> Self {
        self.key_agreement = key_agreement;
        self
    }

    /// The same usages, with `serverAuth` added (`true`) or left out (`false`).
    #[must_use]
    pub const fn with_server_auth(mut self, server_auth: bool) -> Self {
        self.server_auth = server_auth;
        self
    }

    const fn to_bits(self) -> u8 {
        (self.key_agreement as u8) | ((self.server_auth as u8) << 1)
    }

    const fn from_bits(bits: u8) -> Self {
        Self {
            key_agreement: bits & 1 != 0,
            server_auth: bits & 2 != 0,
        }
    }
}

/// The fields of a compact certificate, for building one.
///
/// Built with [`new`](Self::new) and [`with_usage`](Self::with_usage)
/// (`#[non_exhaustive]`: the header's reserved bit may come to carry a field).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct CompactFields {
    /// Device serial (non-zero); also the X.509 serialNumber and subject serialNumber.
    pub serial: u64,
    /// First 4 bytes of the issuing CA's subjectKeyIdentifier.
    pub issuer_key_id: [u8; 4],
    /// Issue date, in days since 2000-01-01.
    pub issued_day: u16,
    /// Certified usages.
    pub usage: DeviceUsage,
    /// The device's public key.
    pub public_key: EcPublicKey,
    /// The CA's signature over the expanded TBSCertificate.
    pub signature: EcdsaSignature,
}

impl CompactFields {
    /// The fields of a certificate for device `serial` and `public_key`, issued on
    /// `issued_day` (days since 2000-01-01) by the CA whose key id starts with
    /// `issuer_key_id`, with the CA's `signature`, for [`DeviceUsage::SIGN_ONLY`].
    #[must_use]
    pub const fn new(
        serial: u64,
        issuer_key_id: [u8; 4],
        issued_day: u16,
        public_key: &EcPublicKey,
        signature: EcdsaSignature,
    ) -> Self {
        Self {
            serial,
            issuer_key_id,
            issued_day,
            usage: DeviceUsage::SIGN_ONLY,
            public_key: *public_key,
            signature,
        }
    }

    /// The same fields with `usage`.
    #[must_use]
    pub const fn with_usage(mut self, usage: DeviceUsage) -> Self {
        self.usage = usage;
        self
    }

    /// The 111-byte encoding.
    ///
    /// # Errors
    /// `Decode(InvalidValue)` for a zero serial (X.509 serials are positive).
    pub fn encode(&self) -> Result<[u8; COMPACT_LEN]> {
        if self.serial == 0 {
            return Err(Error::decode(DecodeErrorKind::InvalidValue, 1));
        }
        let mut out = [0u8; COMPACT_LEN];
        let header = (FORMAT_VERSION << 4)
            | (self.usage.to_bits() << 1)
            | u8::from(self.public_key.y_is_odd());
        let parts: [&[u8]; 6] = [
            &[header],
            &self.serial.to_be_bytes(),
            &self.issuer_key_id,
            &self.issued_day.to_be_bytes(),
            &self.public_key.x(),
            &self.signature.0,
        ];
        concat(&mut out, &parts)?;
        Ok(out)
    }
}

/// Writes `parts` one after another at the start of `out`; returns the length written.
/// The compact formats are such concatenations of fixed fields.
pub(crate) fn concat(out: &mut [u8], parts: &[&[u8]]) -> Result<usize> {
    let mut at = 0;
    for p in parts {
        out.get_mut(at..at + p.len())
            .ok_or(Error::buffer_too_small(at + p.len()))?
            .copy_from_slice(p);
        at += p.len();
    }
    Ok(at)
}

/// Unix time of the start of day `day` (days since 2000-01-01).
#[must_use]
pub const fn day_to_unix(day: u16) -> UnixTime {
    (EPOCH_2000_DAYS as u64 + day as u64) * DAY
}

/// The day (since 2000-01-01) containing `t`.
///
/// # Errors
/// `Cert(Unrepresentable)` before 2000-01-01 or after 2179-06-06.
pub fn unix_to_day(t: UnixTime) -> Result<u16> {
    (t / DAY)
        .checked_sub(EPOCH_2000_DAYS as u64)
        .and_then(|d| u16::try_from(d).ok())
        .ok_or(crate::error::CertError::Unrepresentable.into())
}

/// A parsed compact certificate borrowing its 111 bytes (no copy, no heap).
///
/// Parsing checks structure only; [`verify`](crate::cert::verify_device) checks the
/// signature, which covers every byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CompactCert<'a> {
    raw: &'a [u8; COMPACT_LEN],
}

impl<'a> CompactCert<'a> {
    /// Parses exactly [`COMPACT_LEN`] bytes.
    ///
    /// # Errors
    /// `Decode` with `Truncated`, `TrailingData`, `UnknownVersion` (header version or
    /// reserved bit) or `InvalidValue` (zero serial at offset 1; a high-S signature, at
    /// offset 79: only the low-S form is a certificate, so one device identity has one
    /// encoding).
    pub fn parse(bytes: &'a [u8]) -> Result<Self> {
        let raw: &[u8; COMPACT_LEN] = bytes.try_into().map_err(|_| {
            if bytes.len() < COMPACT_LEN {
                Error::decode(DecodeErrorKind::Truncated, bytes.len())
            } else {
                Error::decode(DecodeErrorKind::TrailingData, COMPACT_LEN)
            }
        })?;
        let header = raw[0];
        if header >> 4 != FORMAT_VERSION || header & 0x08 != 0 {
            return Err(Error::decode(DecodeErrorKind::UnknownVersion, 0));
        }
        let cert = Self { raw };
        if cert.serial() == 0 {
            return Err(Error::decode(DecodeErrorKind::InvalidValue, 1));
        }
        if !cert.signature().is_low_s() {
            return Err(Error::decode(DecodeErrorKind::InvalidValue, OFF_S));
        }
        Ok(cert)
    }

    /// The 111 bytes.
    #[must_use]
    pub const fn as_bytes(&self) -> &'a [u8; COMPACT_LEN] {
        self.raw
    }

    fn field<const N: usize>(&self, at: usize) -> [u8; N] {
        let mut out = [0u8; N];
        if let Some(src) = self.raw.get(at..at + N) {
            out.copy_from_slice(src);
        }
        out
    }

    /// Certified usages.
    #[must_use]
    pub const fn usage(&self) -> DeviceUsage {
        DeviceUsage::from_bits((self.raw[0] >> 1) & 0x03)
    }

    /// The device serial.
    #[must_use]
    pub fn serial(&self) -> u64 {
        u64::from_be_bytes(self.field(1))
    }

    /// First 4 bytes of the issuing CA's subjectKeyIdentifier.
    #[must_use]
    pub fn issuer_key_id(&self) -> [u8; 4] {
        self.field(9)
    }

    /// Issue date in days since 2000-01-01.
    #[must_use]
    pub fn issued_day(&self) -> u16 {
        u16::from_be_bytes(self.field(13))
    }

    /// notBefore: 00:00:00Z on the issue date.
    #[must_use]
    pub fn not_before(&self) -> UnixTime {
        day_to_unix(self.issued_day())
    }

    /// The device public key, decompressed and validated.
    ///
    /// # Errors
    /// `Decode(InvalidPoint)` at offset 15 if `x` is not on the curve.
    pub fn public_key(&self) -> Result<EcPublicKey> {
        self.public_key_on::<crate::provider::RustCrypto>()
    }

    /// [`public_key`](Self::public_key), decompressed on the provider `P`.
    pub(crate) fn public_key_on<P: crate::provider::CryptoProvider>(&self) -> Result<EcPublicKey> {
        EcPublicKey::from_x_and_parity_on::<P>(&self.field(15), self.raw[0] & 1 == 1)
            .map_err(|_| Error::decode(DecodeErrorKind::InvalidPoint, 15))
    }

    /// The CA signature `r || s`.
    #[must_use]
    pub fn signature(&self) -> EcdsaSignature {
        EcdsaSignature(self.field(47))
    }
}
