//! Expansion of a compact certificate into X.509 DER, and the reverse import.

use crate::cert::compact::{COMPACT_LEN, CompactCert, CompactFields, DeviceUsage, unix_to_day};
use crate::cert::der::{Compare, Counter, Sink, SliceSink};
use crate::cert::template::{IssuerRef, Tbs, write_certificate};
use crate::cert::x509::{X509Cert, key_usage};
use crate::error::{DecodeErrorKind, Error, Result};

fn write(cert: &CompactCert<'_>, issuer: IssuerRef<'_>, s: &mut dyn Sink) -> Result<()> {
    // The short key id is the one compact field the DER does not repeat: check it, so
    // that expansion is injective and a certificate never expands under the wrong CA.
    if issuer.key_id.get(..4) != Some(&cert.issuer_key_id()[..]) {
        return Err(crate::error::CertError::IssuerMismatch.into());
    }
    let (serial, key) = (cert.serial().to_be_bytes(), cert.public_key()?);
    let tbs = Tbs::device(&serial, cert.not_before(), cert.usage(), &key, issuer);
    write_certificate(s, &tbs, &cert.signature());
    Ok(())
}

/// Length of the X.509 DER that [`expand`] writes for `cert` issued by `issuer`.
///
/// # Errors
/// As [`expand`], except for the buffer size.
pub fn expanded_len(cert: &CompactCert<'_>, issuer: IssuerRef<'_>) -> Result<usize> {
    let mut c = Counter(0);
    write(cert, issuer, &mut c)?;
    Ok(c.0)
}

/// Writes the X.509 v3 DER certificate that `cert` stands for into `out`; returns
/// its length. The output is deterministic and carries the compact signature, so it
/// verifies under `issuer`'s key with any X.509 implementation.
///
/// # Errors
/// `Cert(IssuerMismatch)` if `cert` names another CA's key id; [`Error::BufferTooSmall`];
/// `Decode(InvalidPoint)`.
pub fn expand(cert: &CompactCert<'_>, issuer: IssuerRef<'_>, out: &mut [u8]) -> Result<usize> {
    let mut sink = SliceSink::new(out);
    write(cert, issuer, &mut sink)?;
    sink.finish()
}

/// Converts an X.509 device certificate issued by `issuer` in this crate's profile back
/// into its compact form, bit-exactly: the compact form is re-expanded under `issuer` and
/// must reproduce `der` byte for byte, so `expand(import_x509(der, issuer), issuer) == der`.
///
/// The signature is not verified here; verify the compact result as usual.
///
/// # Errors
/// `Decode(OutsideProfile)` at the first byte where `der` departs from the profile or
/// from `issuer` (other extensions, names, dates not at midnight, a notAfter other than
/// 99991231235959Z, another issuer name or key id, a high-S signature, ...); other `Decode` kinds for
/// malformed DER.
pub fn import_x509(der: &[u8], issuer: IssuerRef<'_>) -> Result<[u8; COMPACT_LEN]> {
    let x = X509Cert::from_der(der)?;
    let outside = |at: usize| Error::decode(DecodeErrorKind::OutsideProfile, at);
    // The compact form has one encoding: a high-S signature (whose `s`, at least 2^255,
    // is the last 32 bytes of the DER) has no compact twin.
    if !x.signature().is_low_s() {
        return Err(outside(der.len().saturating_sub(32)));
    }
    let serial_bytes = x.serial();
    let mut serial = [0u8; 8];
    let digits = match serial_bytes {
        [0, rest @ ..] => rest,
        all => all,
    };
    let start = 8usize.checked_sub(digits.len()).ok_or(outside(0))?;
    serial
        .get_mut(start..)
        .ok_or(outside(0))?
        .copy_from_slice(digits);
    let ext = x.extensions();
    let mut issuer_key_id = [0u8; 4];
    issuer_key_id.copy_from_slice(issuer.key_id.get(..4).ok_or(outside(0))?);
    let usage = DeviceUsage {
        key_agreement: ext
            .key_usage
            .is_some_and(|ku| ku & key_usage::KEY_AGREEMENT != 0),
        server_auth: ext.ext_key_usage.is_some_and(|(_, server)| server),
    };
    let issued_day = unix_to_day(x.not_before()).map_err(|_| outside(0))?;
    let compact = CompactFields {
        serial: u64::from_be_bytes(serial),
        issuer_key_id,
        issued_day,
        usage,
        public_key: *x.public_key(),
        signature: *x.signature(),
    }
    .encode()
    .map_err(|_| outside(0))?;

    // Byte-exact check: re-expand and compare as a stream, no buffer needed.
    let parsed = CompactCert::parse(&compact)?;
    let mut cmp = Compare::new(der);
    write(&parsed, issuer, &mut cmp)?;
    cmp.finish()?;
    Ok(compact)
}

/// PEM encoding of a DER certificate (`-----BEGIN CERTIFICATE-----`, LF line endings).
///
/// # Errors
/// Never in practice; `Unsupported` if the encoder reports an internal length error.
#[cfg(feature = "alloc")]
pub fn to_pem(der: &[u8]) -> Result<alloc::string::String> {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der)
        .map_err(|_| Error::Unsupported)
}

/// The DER inside a PEM certificate (`-----BEGIN CERTIFICATE-----`): the inverse of
/// [`to_pem`], for CA and device certificates kept as PEM files. One block; a bundle of
/// several is read by [`pki::read_certificates`](crate::cert::pki::read_certificates)
/// (feature `x509`).
///
/// # Errors
/// `Decode(InvalidValue)` for text that is not one PEM block or whose label is not
/// `CERTIFICATE` (offset 0: PEM has no byte offsets worth reporting).
///
/// ```
/// # fn main() -> provkit::Result<()> {
/// let der = [0x30, 0x03, 0x02, 0x01, 0x01];
/// assert_eq!(provkit::cert::from_pem(&provkit::cert::to_pem(&der)?)?, der);
/// assert!(provkit::cert::from_pem("-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n").is_err());
/// # Ok(())
/// # }
/// ```
#[cfg(feature = "alloc")]
pub fn from_pem(pem: &str) -> Result<alloc::vec::Vec<u8>> {
    let invalid = Error::decode(DecodeErrorKind::InvalidValue, 0);
    match der::pem::decode_vec(pem.trim_start().as_bytes()) {
        Ok(("CERTIFICATE", der)) => Ok(der),
        _ => Err(invalid),
    }
}

/// Expands `cert` and returns it as PEM.
///
/// # Errors
/// As [`expand`].
#[cfg(feature = "alloc")]
pub fn expand_to_pem(
    cert: &CompactCert<'_>,
    issuer: IssuerRef<'_>,
) -> Result<alloc::string::String> {
    let mut der = alloc::vec![0u8; expanded_len(cert, issuer)?];
    expand(cert, issuer, &mut der)?;
    to_pem(&der)
}
