//! Device → server telemetry through an untrusted relay (a phone, a gateway): one HPKE
//! message to the server's key, key-committed, optionally signed inside the encryption by
//! the device's identity key (by handle). Format: `docs/telemetry-format.md`.
//!
//! The relay sees the device serial and the message length, nothing else; it cannot
//! change, reorder into another message, or re-address a message without the server
//! noticing (`Crypto`). The signature is sign-then-encrypt over the header (including
//! the ephemeral key and the server's key fingerprint) and the payload, so that a server
//! cannot pass a device's signed message on to another server as fresh, and the relay
//! cannot strip or replace it.

use crate::ec::{EcPublicKey, EcdsaSignature, SIGNATURE_LEN, sha256_parts};
use crate::envelope::hpke::{
    self, ENC_LEN, FINGERPRINT_LEN, HpkeAead, SenderContext, TAG_LEN, key_fingerprint,
};
use crate::error::{DecodeErrorKind, EnvelopeError, Error, Result};
use crate::provider::{CryptoProvider, RustCrypto};
use crate::store::{IdentityKeys, KeyId};
use subtle::ConstantTimeEq;

/// Telemetry format version.
pub const TELEMETRY_VERSION: u8 = 1;
/// Length of the telemetry header.
pub const TELEMETRY_HEADER_LEN: usize = 117;

const FLAG_SIGNED: u8 = 0x01;
const OFF_ENC: usize = 20;
const OFF_COMMIT: usize = 85;
const INFO_LABEL: &[u8] = b"provkit telemetry v1";
const COMMIT_LABEL: &[u8] = b"provkit telemetry v1 commit";
const SIG_LABEL: &[u8] = b"provkit telemetry v1 signature";
/// The AEAD devices use (AES-128-GCM: cheapest on a microcontroller).
const AEAD: HpkeAead = HpkeAead::Aes128Gcm;

const _: () = assert!(OFF_ENC + ENC_LEN == OFF_COMMIT);
const _: () = assert!(OFF_COMMIT + 32 == TELEMETRY_HEADER_LEN);

/// Length of a telemetry message carrying `payload_len` bytes.
#[must_use]
pub const fn telemetry_len(payload_len: usize, signed: bool) -> usize {
    TELEMETRY_HEADER_LEN + payload_len + if signed { SIGNATURE_LEN } else { 0 } + TAG_LEN
}

/// The clear header of a telemetry message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TelemetryHeader {
    /// The sending device's serial (as it claims; authenticated only when signed).
    pub serial: u64,
    /// Whether the device signed the payload.
    pub signed: bool,
    /// The HPKE AEAD.
    pub aead: HpkeAead,
    /// [`key_fingerprint`] of the server key it is sealed to.
    pub recipient: [u8; FINGERPRINT_LEN],
}

impl TelemetryHeader {
    /// Parses the header of `message` (the whole message, so that its length is checked).
    ///
    /// # Errors
    /// `Decode`: `Truncated`; `UnknownVersion` at 0; `InvalidValue` for unknown flags
    /// (offset 1) or AEAD (offset 2).
    pub fn parse(message: &[u8]) -> Result<Self> {
        let (h, rest) = message
            .split_first_chunk::<TELEMETRY_HEADER_LEN>()
            .ok_or(Error::decode(DecodeErrorKind::Truncated, message.len()))?;
        let [version, flags, a0, a1, ..] = *h;
        if version != TELEMETRY_VERSION {
            return Err(Error::decode(DecodeErrorKind::UnknownVersion, 0));
        }
        if flags & !FLAG_SIGNED != 0 {
            return Err(Error::decode(DecodeErrorKind::InvalidValue, 1));
        }
        let aead = match HpkeAead::from_id(u16::from_be_bytes([a0, a1])) {
            Some(a @ (HpkeAead::Aes128Gcm | HpkeAead::Aes256Gcm)) => a,
            _ => return Err(Error::decode(DecodeErrorKind::InvalidValue, 2)),
        };
        let signed = flags & FLAG_SIGNED != 0;
        let min = TAG_LEN + if signed { SIGNATURE_LEN } else { 0 };
        if rest.len() < min {
            return Err(Error::decode(DecodeErrorKind::Truncated, message.len()));
        }
        let serial = h
            .get(4..12)
            .and_then(|s| s.first_chunk::<8>())
            .map_or(0, |b| u64::from_be_bytes(*b));
        let recipient = h
            .get(12..20)
            .and_then(|s| s.first_chunk::<FINGERPRINT_LEN>())
            .copied()
            .unwrap_or([0; FINGERPRINT_LEN]);
        Ok(Self {
            serial,
            signed,
            aead,
            recipient,
        })
    }
}

/// Seals an unsigned telemetry `payload` from device `serial` to `server`; writes the
/// message into `out` ([`telemetry_len`] bytes) and returns its length.
///
/// # Errors
/// [`Error::BufferTooSmall`].
pub fn seal_telemetry<R: rand_core::CryptoRng + ?Sized>(
    server: &EcPublicKey,
    serial: u64,
    payload: &[u8],
    out: &mut [u8],
    rng: &mut R,
) -> Result<usize> {
    seal::<RustCrypto, crate::store::MemoryStore<0, 0, 0>, R>(
        None, server, serial, payload, out, rng,
    )
}

/// Seals telemetry signed by the device identity key `device_key` in `store` (by handle,
/// over SHA-256; the signature travels inside the encryption).
///
/// # Errors
/// [`Error::BufferTooSmall`]; store errors for `device_key`.
pub fn seal_telemetry_signed<S: IdentityKeys + ?Sized, R: rand_core::CryptoRng + ?Sized>(
    store: &mut S,
    device_key: KeyId,
    server: &EcPublicKey,
    serial: u64,
    payload: &[u8],
    out: &mut [u8],
    rng: &mut R,
) -> Result<usize> {
    seal::<RustCrypto, S, R>(Some((store, device_key)), server, serial, payload, out, rng)
}

/// [`seal_telemetry_signed`] with the ephemeral key made and agreed on the provider `P`
/// (a firmware on a Cortex-M4 passes `provkit_cm4::Cm4`; the signature is the store's,
/// which runs on the provider it was mounted with). The same message as
/// [`seal_telemetry_signed`] for the same RNG output.
///
/// # Errors
/// As [`seal_telemetry_signed`].
pub fn seal_telemetry_signed_on<
    P: CryptoProvider,
    S: IdentityKeys + ?Sized,
    R: rand_core::CryptoRng + ?Sized,
>(
    store: &mut S,
    device_key: KeyId,
    server: &EcPublicKey,
    serial: u64,
    payload: &[u8],
    out: &mut [u8],
    rng: &mut R,
) -> Result<usize> {
    seal::<P, S, R>(Some((store, device_key)), server, serial, payload, out, rng)
}

fn seal<P: CryptoProvider, S: IdentityKeys + ?Sized, R: rand_core::CryptoRng + ?Sized>(
    signer: Option<(&mut S, KeyId)>,
    server: &EcPublicKey,
    serial: u64,
    payload: &[u8],
    out: &mut [u8],
    rng: &mut R,
) -> Result<usize> {
    let signed = signer.is_some();
    let len = telemetry_len(payload.len(), signed);
    let out = out.get_mut(..len).ok_or(Error::buffer_too_small(len))?;
    let (header, rest) = out
        .split_first_chunk_mut::<TELEMETRY_HEADER_LEN>()
        .ok_or(Error::buffer_too_small(len))?;
    let (body, tag_out) = rest
        .split_last_chunk_mut::<TAG_LEN>()
        .ok_or(Error::buffer_too_small(len))?;
    let (pt, sig_out) = body.split_at_mut(payload.len());
    pt.copy_from_slice(payload);
    let (fixed, tail) = header.split_at_mut(OFF_ENC);
    let (enc, commitment) = tail
        .split_first_chunk_mut::<ENC_LEN>()
        .ok_or(Error::buffer_too_small(len))?;
    // The HPKE info `INFO_LABEL ‖ header[0..20]`, with the header's fixed part built in it.
    let mut info = [0u8; INFO_LABEL.len() + OFF_ENC];
    let (label, f) = info.split_at_mut(INFO_LABEL.len());
    label.copy_from_slice(INFO_LABEL);
    let [a0, a1] = AEAD.id().to_be_bytes();
    let flags = if signed { FLAG_SIGNED } else { 0 };
    let (head, tail) = f
        .split_first_chunk_mut::<4>()
        .ok_or(Error::buffer_too_small(len))?;
    *head = [TELEMETRY_VERSION, flags, a0, a1];
    let (s, r) = tail.split_at_mut(8);
    s.copy_from_slice(&serial.to_be_bytes());
    r.copy_from_slice(&key_fingerprint(server));
    fixed.copy_from_slice(f);
    let mut ctx = SenderContext::empty();
    hpke::setup_sender::<P, R>(&mut ctx, enc, server, None, AEAD, &info, rng)?;
    ctx.export(COMMIT_LABEL, commitment)?;
    if let Some((store, key)) = signer {
        let digest = signature_digest(header, payload);
        let sig = crate::store::sign_low_s(store, key, &digest)?;
        sig_out.copy_from_slice(&sig.0);
    }
    ctx.seal_in_place_into::<P>(header, body, tag_out)?;
    Ok(len)
}

/// `INFO_LABEL ‖ header[0..20]`.
fn info(fixed: &[u8]) -> [u8; INFO_LABEL.len() + OFF_ENC] {
    let mut out = [0u8; INFO_LABEL.len() + OFF_ENC];
    let (l, f) = out.split_at_mut(INFO_LABEL.len());
    l.copy_from_slice(INFO_LABEL);
    if let Some(src) = fixed.get(..OFF_ENC) {
        f.copy_from_slice(src);
    }
    out
}

fn signature_digest(header: &[u8], payload: &[u8]) -> [u8; 32] {
    sha256_parts(&[SIG_LABEL, header.get(..OFF_COMMIT).unwrap_or(&[]), payload])
}

/// Opens a telemetry message in place with the server key `server_key` in `store` (by
/// handle) and returns the payload (a sub-slice of `message`).
///
/// `device` is the policy: `Some(key)` requires a signature by that key (look it up by
/// [`TelemetryHeader::serial`] first); `None` accepts only unsigned messages.
///
/// # Errors
/// `Decode` errors for a malformed header; [`EnvelopeError::WrongRecipient`] when it is
/// sealed to another key; [`EnvelopeError::SignaturePolicy`] when signed-ness and `device`
/// disagree; [`Error::Crypto`] for any authentication failure (commitment, tag,
/// signature), with no payload released.
pub fn open_telemetry<'m, S: IdentityKeys + ?Sized>(
    store: &mut S,
    server_key: KeyId,
    device: Option<&EcPublicKey>,
    message: &'m mut [u8],
) -> Result<&'m mut [u8]> {
    open_telemetry_on::<RustCrypto, S>(store, server_key, device, message)
}

/// [`open_telemetry`] with the device's signature checked on the provider `P` (a server
/// on `provkit-aws-lc` verifies about five times faster). The HPKE decapsulation runs in
/// `store`, on whatever provider it holds its keys with.
///
/// # Errors
/// As [`open_telemetry`].
pub fn open_telemetry_on<'m, P: CryptoProvider, S: IdentityKeys + ?Sized>(
    store: &mut S,
    server_key: KeyId,
    device: Option<&EcPublicKey>,
    message: &'m mut [u8],
) -> Result<&'m mut [u8]> {
    let h = TelemetryHeader::parse(message)?;
    if h.signed != device.is_some() {
        return Err(EnvelopeError::SignaturePolicy.into());
    }
    let server_pk = store.public_key(server_key)?;
    if h.recipient != key_fingerprint(&server_pk) {
        return Err(EnvelopeError::WrongRecipient.into());
    }
    let (header, rest) = message
        .split_first_chunk_mut::<TELEMETRY_HEADER_LEN>()
        .ok_or(Error::decode(DecodeErrorKind::Truncated, 0))?;
    let enc = header
        .get(OFF_ENC..OFF_COMMIT)
        .ok_or(Error::decode(DecodeErrorKind::Truncated, OFF_ENC))?;
    let mut ctx = hpke::setup_receiver_base(
        store,
        server_key,
        enc,
        h.aead,
        &info(header.get(..OFF_ENC).unwrap_or(&[])),
    )?;
    let mut commitment = [0u8; 32];
    ctx.export(COMMIT_LABEL, &mut commitment)?;
    let claimed = header.get(OFF_COMMIT..).unwrap_or(&[]);
    if !bool::from(commitment.as_slice().ct_eq(claimed)) {
        return Err(Error::Crypto);
    }
    let body = ctx.open_in_place(header, rest)?;
    let Some(device) = device else {
        return Ok(body);
    };
    let payload_len = body.len().saturating_sub(SIGNATURE_LEN);
    let (payload, sig) = body.split_at_mut(payload_len);
    let sig = EcdsaSignature(
        sig.first_chunk::<SIGNATURE_LEN>()
            .copied()
            .ok_or(Error::Crypto)?,
    );
    let digest = signature_digest(header, payload);
    if device.verify_digest_low_s_on::<P>(&digest, &sig).is_err() {
        zeroize::Zeroize::zeroize(&mut *payload);
        return Err(Error::Crypto);
    }
    Ok(payload)
}
