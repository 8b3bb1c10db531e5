//! Telemetry: a reading sealed with HPKE to the server's key, signed by the device's
//! identity key, so that relays can neither read nor alter it.

use crate::Provider;
use crate::boundary::Failure;
use crate::boundary::{apart, array, bytes, bytes_mut, get_mut, guard, needed};
use crate::provkit_status;
use crate::rng::{CallbackRng, provkit_rng};
use crate::store::{device_store, provkit_store};
use provkit::envelope::telemetry::{seal_telemetry_signed_on, telemetry_len};
use provkit::provider::CryptoProvider;
use provkit::store::KeyId;

/// The length of a signed telemetry message carrying `payload_len` bytes (0 if that
/// overflows).
#[unsafe(no_mangle)]
pub extern "C" fn provkit_telemetry_len(payload_len: usize) -> usize {
    if payload_len > usize::MAX / 2 {
        return 0;
    }
    telemetry_len(payload_len, true)
}

/// Seals `payload` to the server's P-256 public key `server_public` (65 bytes,
/// uncompressed) for device `serial`, signed by identity key `identity` in `store`; the
/// HPKE ephemeral key from `rng`. Writes `provkit_telemetry_len(payload_len)` bytes to
/// `out` and that length to `*out_len`. On any failure `out` is zeroed (it may have held
/// part of the message).
///
/// # Safety
/// `store` is NULL or a set-up `provkit_store`; the buffers are valid for their lengths;
/// `rng` is NULL or a valid `provkit_rng`; `out` overlaps no input.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_telemetry_seal(
    store: *mut provkit_store,
    identity: u32,
    server_public: *const u8,
    server_public_len: usize,
    serial: u64,
    payload: *const u8,
    payload_len: usize,
    rng: *const provkit_rng,
    out: *mut u8,
    out_cap: usize,
    out_len: *mut usize,
) -> provkit_status {
    guard(|| {
        // SAFETY: the caller's contract.
        let len_out = unsafe { get_mut(out_len) }?;
        *len_out = 0;
        apart(payload, payload_len, out, out_cap)?;
        apart(server_public, server_public_len, out, out_cap)?;
        // SAFETY: the caller's contract.
        let server = unsafe { array::<65>(server_public, server_public_len) }?;
        let server = <Provider as CryptoProvider>::p256_parse_public(server)?;
        // SAFETY: the caller's contract.
        let (payload, out) = unsafe { (bytes(payload, payload_len)?, bytes_mut(out, out_cap)?) };
        // SAFETY: the caller's contract.
        let mut rng = unsafe { CallbackRng::new(rng) }?;
        // SAFETY: the caller's contract.
        let mut store = unsafe { device_store(store) }?;
        let sealed = seal_telemetry_signed_on::<Provider, _, _>(
            &mut store,
            KeyId(identity),
            &server,
            serial,
            payload,
            out,
            &mut rng,
        );
        // Whatever failed (the RNG, the signing key, a short buffer), `out` may hold part of
        // the message or the payload in clear: it is zeroed.
        let n = match (sealed, rng.check()) {
            (Ok(n), Ok(())) => n,
            (sealed, rng) => {
                out.fill(0);
                rng?;
                return Err(
                    sealed.map_or_else(|e| needed(e, len_out), |_| Failure::PROVKIT_ERR_RNG_FAILED)
                );
            }
        };
        *len_out = n;
        Ok(())
    })
}
