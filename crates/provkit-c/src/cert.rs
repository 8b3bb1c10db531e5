//! Compact certificates: parsing, and chain verification (root → intermediate → device).

use crate::Provider;
use crate::boundary::{Ffi, array, bytes, get_mut, guard};
use crate::provkit_status;
use provkit::cert::{self, CaCert, CompactCert, VerifiedDevice};

/// Bytes of a compact device certificate.
pub const PROVKIT_COMPACT_CERT_LEN: usize = 111;
const _: () = assert!(PROVKIT_COMPACT_CERT_LEN == cert::COMPACT_LEN);

/// A device certificate's contents: from [`provkit_cert_verify_chain`] and the handshake
/// (verified), or from [`provkit_cert_parse`] (not verified).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct provkit_device_info {
    /// The device serial.
    pub serial: u64,
    /// notBefore, in seconds since 1970 (UTC).
    pub not_before: u64,
    /// The device's public key, uncompressed (`04 || x || y`).
    pub public_key: [u8; 65],
    /// The short key id of the CA that issued it.
    pub issuer_key_id: [u8; 4],
    /// Certified for static ECDH with the identity key (keyAgreement).
    pub key_agreement: bool,
    /// Certified as a TLS server (serverAuth).
    pub server_auth: bool,
}

/// A compact CA certificate's key, from [`provkit_ca_parse`] (not verified).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct provkit_ca_info {
    /// The CA's public key, uncompressed.
    pub public_key: [u8; 65],
    /// Its short key id, which the certificates it issues name.
    pub short_key_id: [u8; 4],
}

impl From<&VerifiedDevice> for provkit_device_info {
    fn from(v: &VerifiedDevice) -> Self {
        Self {
            serial: v.serial,
            not_before: v.not_before,
            public_key: v.public_key.to_uncompressed(),
            issuer_key_id: v.issuer_key_id,
            key_agreement: v.usage.key_agreement,
            server_auth: v.usage.server_auth,
        }
    }
}

/// Parses a compact CA certificate.
///
/// # Safety
/// `ca` is `ca_len` readable bytes.
pub(crate) unsafe fn ca<'a>(ca: *const u8, ca_len: usize) -> Ffi<CaCert<'a>> {
    // SAFETY: the caller's contract.
    let ca = unsafe { bytes(ca, ca_len) }?;
    Ok(CaCert::from_compact_on::<Provider>(ca)?)
}

/// Parses a compact device certificate: exactly `PROVKIT_COMPACT_CERT_LEN` bytes (another
/// length is `PROVKIT_ERR_INVALID_ARGUMENT`, as everywhere a certificate is passed).
///
/// # Safety
/// `cert` is `cert_len` readable bytes.
pub(crate) unsafe fn device<'a>(cert: *const u8, cert_len: usize) -> Ffi<CompactCert<'a>> {
    // SAFETY: the caller's contract.
    let cert = unsafe { array::<PROVKIT_COMPACT_CERT_LEN>(cert, cert_len) }?;
    Ok(CompactCert::parse(cert)?)
}

/// Verifies the chain `root` → `intermediate` → `device` at `now` (seconds since 1970):
/// `root` (a compact CA certificate) is the trust anchor (a CA, whose own signature and
/// validity are not checked); `intermediate` may be NULL
/// (with length 0) for a device the root issued directly; `device` is the 111-byte
/// compact device certificate. On success fills `*out`.
///
/// # Safety
/// Each pointer is NULL or points to its length in readable bytes; `out` is NULL or
/// writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_cert_verify_chain(
    root: *const u8,
    root_len: usize,
    intermediate: *const u8,
    intermediate_len: usize,
    device_cert: *const u8,
    device_len: usize,
    now: u64,
    out: *mut provkit_device_info,
) -> provkit_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let out = unsafe { get_mut(out) }?;
        // SAFETY: the caller's contract.
        let root = unsafe { ca(root, root_len) }?;
        let intermediate = match intermediate_len {
            0 => None,
            // SAFETY: the caller's contract.
            _ => Some(unsafe { ca(intermediate, intermediate_len) }?),
        };
        // SAFETY: the caller's contract.
        let device = unsafe { device(device_cert, device_len) }?;
        let verified =
            cert::verify_device_on::<Provider>(&root, intermediate.as_ref(), &device, now)?;
        *out = (&verified).into();
        Ok(())
    })
}

/// Parses a compact device certificate without verifying it (the chain is checked by
/// [`provkit_cert_verify_chain`]): for showing what a certificate says.
///
/// # Safety
/// `cert` is `cert_len` readable bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_cert_parse(
    cert: *const u8,
    cert_len: usize,
    out: *mut provkit_device_info,
) -> provkit_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let out = unsafe { get_mut(out) }?;
        // SAFETY: the caller's contract.
        let c = unsafe { device(cert, cert_len) }?;
        let usage = c.usage();
        *out = provkit_device_info {
            serial: c.serial(),
            not_before: c.not_before(),
            public_key: c.public_key()?.to_uncompressed(),
            issuer_key_id: c.issuer_key_id(),
            key_agreement: usage.key_agreement,
            server_auth: usage.server_auth,
        };
        Ok(())
    })
}

/// Parses a compact CA certificate (its signature is checked when a chain is verified).
///
/// # Safety
/// `ca` is `ca_len` readable bytes; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_ca_parse(
    ca_cert: *const u8,
    ca_len: usize,
    out: *mut provkit_ca_info,
) -> provkit_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let out = unsafe { get_mut(out) }?;
        // SAFETY: the caller's contract.
        let c = unsafe { ca(ca_cert, ca_len) }?;
        *out = provkit_ca_info {
            public_key: c.public_key().to_uncompressed(),
            short_key_id: c.short_key_id(),
        };
        Ok(())
    })
}
