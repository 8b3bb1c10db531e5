//! Device-side chain verification: root → optional intermediate → compact device
//! certificate, with no heap and `now` passed in.

use crate::cert::ca::{CaCert, verify_ca_on};
use crate::cert::compact::{CompactCert, DeviceUsage};
use crate::cert::template::Tbs;
use crate::cert::time::UnixTime;
use crate::ec::EcPublicKey;
use crate::error::{CertError, Result};
use crate::provider::{CryptoProvider, RustCrypto};

/// A device identity whose certificate chain verified.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedDevice {
    /// The device serial.
    pub serial: u64,
    /// The device's certified public key.
    pub public_key: EcPublicKey,
    /// Certified usages.
    pub usage: DeviceUsage,
    /// notBefore of the device certificate.
    pub not_before: UnixTime,
    /// Short key id of the CA that issued it.
    pub issuer_key_id: [u8; 4],
}

/// Verifies a compact certificate against the CA that issued it, at `now`.
///
/// The device certificate never expires (notAfter 9999-12-31, as 802.1AR IDevIDs);
/// `now` before its issue date is rejected.
///
/// # Errors
/// `Cert(IssuerMismatch)` if the short key id names another CA; `Cert(NotYetValid)`;
/// `Decode(InvalidPoint)`; [`Error::Crypto`](crate::Error::Crypto) for a bad signature.
pub fn verify_issued(
    issuer: &CaCert<'_>,
    device: &CompactCert<'_>,
    now: UnixTime,
) -> Result<VerifiedDevice> {
    verify_issued_on::<RustCrypto>(issuer, device, now)
}

/// [`verify_issued`] with the signature checked on the provider `P`.
pub(crate) fn verify_issued_on<P: CryptoProvider>(
    issuer: &CaCert<'_>,
    device: &CompactCert<'_>,
    now: UnixTime,
) -> Result<VerifiedDevice> {
    if device.issuer_key_id() != issuer.short_key_id() {
        return Err(CertError::IssuerMismatch.into());
    }
    if now < device.not_before() {
        return Err(CertError::NotYetValid.into());
    }
    let verified = VerifiedDevice {
        serial: device.serial(),
        public_key: device.public_key_on::<P>()?,
        usage: device.usage(),
        not_before: device.not_before(),
        issuer_key_id: device.issuer_key_id(),
    };
    let serial = verified.serial.to_be_bytes();
    let tbs = Tbs::device(
        &serial,
        verified.not_before,
        verified.usage,
        &verified.public_key,
        issuer.as_issuer(),
    );
    issuer
        .public_key()
        .verify_digest_on::<P>(&tbs.digest(), &device.signature())?;
    Ok(verified)
}

/// Verifies the chain `root` → `intermediate` (if any) → `device` at `now`.
///
/// `root` is the trust anchor: it is not itself checked for validity or signature,
/// only for being a CA. The intermediate must be signed by the root, be valid at
/// `now`, and be allowed by the root's path length.
///
/// # Errors
/// As [`verify_issued`] and [`verify_ca`](crate::cert::verify_ca).
pub fn verify_device(
    root: &CaCert<'_>,
    intermediate: Option<&CaCert<'_>>,
    device: &CompactCert<'_>,
    now: UnixTime,
) -> Result<VerifiedDevice> {
    verify_device_on::<RustCrypto>(root, intermediate, device, now)
}

/// [`verify_device`] on the provider `P`: signatures checked and the device key
/// decompressed there (a firmware on a Cortex-M4 passes `provkit_cm4::Cm4`).
///
/// # Errors
/// As [`verify_device`].
pub fn verify_device_on<P: CryptoProvider>(
    root: &CaCert<'_>,
    intermediate: Option<&CaCert<'_>>,
    device: &CompactCert<'_>,
    now: UnixTime,
) -> Result<VerifiedDevice> {
    match intermediate {
        Some(ica) => {
            verify_ca_on::<P>(root, ica, now)?;
            verify_issued_on::<P>(ica, device, now)
        }
        None => verify_issued_on::<P>(root, device, now),
    }
}
