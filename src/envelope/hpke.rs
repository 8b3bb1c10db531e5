//! HPKE (RFC 9180): DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, AES-256-GCM and
//! export-only; base and auth modes; single-shot and multi-message contexts; exporter.
//!
//! The key schedule, AEAD contexts and exporter are the `hpke` crate's. The DHKEM's
//! Diffie-Hellman with a long-term key runs **in the key store, by handle**
//! ([`IdentityKeys::ecdh`]): a recipient's private key (and an auth-mode sender's) may
//! live in an HSM or secure element. Only the sender's ephemeral key is in memory, and it
//! is consumed by the setup.
//!
//! This layer is RFC 9180 exactly (every vector in `tests/data/hpke/` passes through it)
//! and therefore, like RFC 9180's AEADs, **not key-committing**. The telemetry and
//! shipment formats built on it add a commitment (an exported value checked in constant
//! time before any decryption); do the same in any protocol where one ciphertext could be
//! offered to several recipients.
//!
//! ```
//! use provkit::envelope::hpke::{self, HpkeAead};
//! use provkit::store::{IdentityKeys, KeyId, MemoryStore};
//!
//! # fn main() -> provkit::Result<()> {
//! let mut rng = provkit::testing::TestRng::new(3); // use a real CSPRNG
//! let mut server = MemoryStore::<1, 0, 0>::new();
//! let server_pk = server.generate_p256(KeyId(1), &mut rng)?;
//!
//! let mut sealed = [0u8; hpke::ENC_LEN + 5 + hpke::TAG_LEN];
//! let n = hpke::seal_base(&server_pk, HpkeAead::Aes128Gcm, b"info", b"aad", b"hello",
//!                         &mut sealed, &mut rng)?;
//! let mut out = [0u8; 5];
//! let m = hpke::open_base(&mut server, KeyId(1), HpkeAead::Aes128Gcm, b"info", b"aad",
//!                         &sealed[..n], &mut out)?;
//! assert_eq!(&out[..m], b"hello");
//! # Ok(())
//! # }
//! ```

use crate::ec::{EcPublicKey, UNCOMPRESSED_LEN};
use crate::envelope::primitives::sha256_parts;
use crate::error::{DecodeErrorKind, EnvelopeError, Error, Result};
use crate::secret::SecretBytes;
use crate::store::{IdentityKeys, KeyId};
use core::fmt;
use hpke::aead::{AeadCtx, AeadCtxR, AeadCtxS, AeadTag, AesGcm128, AesGcm256, ExportOnlyAead};
use hpke::inout::InOutBuf;
use hpke::kdf::{HkdfSha256, Kdf as _};
use hpke::kem::{DhP256HkdfSha256, SharedSecret};
use hpke::{Deserializable, HpkeError, Kem as _, OpModeR, Serializable};

// `combine_secrets`, `extract_and_expand`, `SharedSecret` and `AeadCtx` are public but
// `#[doc(hidden)]` in `hpke` 0.15: they let the DHKEM's static-key DH run in the key store
// while the key schedule and AEAD contexts stay the crate's. The RFC 9180 vectors in
// `tests/hpke.rs` pin their behaviour; re-check them when moving off hpke 0.15.1.
type Kem = DhP256HkdfSha256;

/// Length of the encapsulated key `enc` (an uncompressed P-256 point).
pub const ENC_LEN: usize = 65;
/// Length of an AEAD tag.
pub const TAG_LEN: usize = 16;
/// RFC 9180 KEM identifier of DHKEM(P-256, HKDF-SHA256).
pub const KEM_ID: u16 = 0x0010;
/// RFC 9180 KDF identifier of HKDF-SHA256.
pub const KDF_ID: u16 = 0x0001;
/// Length of a [`key_fingerprint`].
pub const FINGERPRINT_LEN: usize = 8;

/// `"KEM" || I2OSP(kem_id, 2)`.
const KEM_SUITE_ID: [u8; 5] = [b'K', b'E', b'M', 0x00, 0x10];

/// The AEAD of an HPKE context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HpkeAead {
    /// AES-128-GCM (`0x0001`).
    Aes128Gcm,
    /// AES-256-GCM (`0x0002`).
    Aes256Gcm,
    /// Export-only (`0xFFFF`): the context derives secrets but cannot seal or open.
    ExportOnly,
}

impl HpkeAead {
    /// The RFC 9180 AEAD identifier.
    #[must_use]
    pub const fn id(self) -> u16 {
        match self {
            Self::Aes128Gcm => 0x0001,
            Self::Aes256Gcm => 0x0002,
            Self::ExportOnly => 0xFFFF,
        }
    }

    /// The AEAD with RFC 9180 identifier `id`, if supported.
    #[must_use]
    pub const fn from_id(id: u16) -> Option<Self> {
        match id {
            0x0001 => Some(Self::Aes128Gcm),
            0x0002 => Some(Self::Aes256Gcm),
            0xFFFF => Some(Self::ExportOnly),
            _ => None,
        }
    }
}

/// A short, public name for a P-256 public key: the first 8 bytes of SHA-256 of its
/// uncompressed SEC1 encoding. Shipment and telemetry headers use it to say which
/// recipient (or signer) key they are for.
#[must_use]
pub fn key_fingerprint(public: &EcPublicKey) -> [u8; FINGERPRINT_LEN] {
    let digest = sha256_parts(&[&public.to_uncompressed()]);
    digest
        .first_chunk::<FINGERPRINT_LEN>()
        .copied()
        .unwrap_or([0; FINGERPRINT_LEN])
}

#[allow(
    clippy::large_enum_variant,
    reason = "no heap: the context lives in place"
)]
enum SenderInner {
    Aes128(AeadCtxS<AesGcm128, HkdfSha256, Kem>),
    Aes256(AeadCtxS<AesGcm256, HkdfSha256, Kem>),
    ExportOnly(AeadCtxS<ExportOnlyAead, HkdfSha256, Kem>),
}

#[allow(
    clippy::large_enum_variant,
    reason = "no heap: the context lives in place"
)]
enum ReceiverInner {
    Aes128(AeadCtxR<AesGcm128, HkdfSha256, Kem>),
    Aes256(AeadCtxR<AesGcm256, HkdfSha256, Kem>),
    ExportOnly(AeadCtxR<ExportOnlyAead, HkdfSha256, Kem>),
}

/// A sender's HPKE context: seals a sequence of messages (the nonce of each is derived
/// from its sequence number, which the context advances and never repeats) and exports
/// secrets.
pub struct SenderContext(SenderInner);

/// A recipient's HPKE context: opens the sender's messages in order, and exports the same
/// secrets.
pub struct ReceiverContext(ReceiverInner);

impl fmt::Debug for SenderContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SenderContext(..)")
    }
}

impl fmt::Debug for ReceiverContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReceiverContext(..)")
    }
}

fn map_hpke(e: HpkeError) -> Error {
    match e {
        HpkeError::MessageLimitReached => EnvelopeError::StreamFinished.into(),
        HpkeError::KdfOutputTooLong => Error::decode(DecodeErrorKind::InvalidLength, 0),
        _ => Error::Crypto,
    }
}

fn hpke_public(pk: &EcPublicKey) -> Result<<Kem as hpke::Kem>::PublicKey> {
    <Kem as hpke::Kem>::PublicKey::from_bytes(&pk.to_uncompressed())
        .map_err(|_| Error::decode(DecodeErrorKind::InvalidPoint, 0))
}

/// Parses `enc`: exactly 65 bytes, uncompressed, on the curve, not the identity.
fn parse_enc(enc: &[u8]) -> Result<EcPublicKey> {
    if enc.len() != ENC_LEN || enc.first() != Some(&0x04) {
        return Err(Error::decode(DecodeErrorKind::InvalidPoint, 0));
    }
    EcPublicKey::from_sec1(enc)
}

/// DHKEM ExtractAndExpand: `shared_secret` from `dh` and `kem_context`.
fn extract_and_expand(dh: &[u8], kem_context: &[&[u8]]) -> Result<SecretBytes<32>> {
    // kem_context is at most enc || pkR || pkS.
    let mut context = [0u8; 3 * UNCOMPRESSED_LEN];
    let mut len = 0;
    for part in kem_context {
        context
            .get_mut(len..len + part.len())
            .ok_or(Error::Unsupported)?
            .copy_from_slice(part);
        len += part.len();
    }
    let mut ss = SecretBytes::<32>::zero();
    HkdfSha256::extract_and_expand(
        dh,
        &KEM_SUITE_ID,
        context.get(..len).ok_or(Error::Unsupported)?,
        ss.expose_mut(),
    )
    .map_err(map_hpke)?;
    Ok(ss)
}

/// The RFC 9180 key schedule (the `hpke` crate's), from a DHKEM shared secret.
fn key_schedule<A: hpke::aead::Aead>(
    shared_secret: &SecretBytes<32>,
    sender: Option<&EcPublicKey>,
    info: &[u8],
) -> Result<AeadCtx<A, HkdfSha256, Kem>> {
    let ss = SharedSecret::<Kem>(hpke::hybrid_array::Array::from(*shared_secret.expose()));
    Ok(match sender {
        None => HkdfSha256::combine_secrets(&OpModeR::<Kem>::Base, ss, info),
        Some(pk) => HkdfSha256::combine_secrets(&OpModeR::<Kem>::Auth(hpke_public(pk)?), ss, info),
    })
}

fn sender_context(
    aead: HpkeAead,
    shared_secret: &SecretBytes<32>,
    sender: Option<&EcPublicKey>,
    info: &[u8],
) -> Result<SenderContext> {
    Ok(SenderContext(match aead {
        HpkeAead::Aes128Gcm => {
            SenderInner::Aes128(key_schedule(shared_secret, sender, info)?.into())
        }
        HpkeAead::Aes256Gcm => {
            SenderInner::Aes256(key_schedule(shared_secret, sender, info)?.into())
        }
        HpkeAead::ExportOnly => {
            SenderInner::ExportOnly(key_schedule(shared_secret, sender, info)?.into())
        }
    }))
}

fn receiver_context(
    aead: HpkeAead,
    shared_secret: &SecretBytes<32>,
    sender: Option<&EcPublicKey>,
    info: &[u8],
) -> Result<ReceiverContext> {
    Ok(ReceiverContext(match aead {
        HpkeAead::Aes128Gcm => {
            ReceiverInner::Aes128(key_schedule(shared_secret, sender, info)?.into())
        }
        HpkeAead::Aes256Gcm => {
            ReceiverInner::Aes256(key_schedule(shared_secret, sender, info)?.into())
        }
        HpkeAead::ExportOnly => {
            ReceiverInner::ExportOnly(key_schedule(shared_secret, sender, info)?.into())
        }
    }))
}

/// A fresh ephemeral key pair (DeriveKeyPair of 32 random bytes, as RFC 9180's
/// GenerateKeyPair) and its DH with `recipient`. The ephemeral secret is dropped here.
fn ephemeral_dh<R: rand_core::CryptoRng + ?Sized>(
    recipient: &EcPublicKey,
    rng: &mut R,
) -> Result<([u8; ENC_LEN], SecretBytes<32>)> {
    let ikm = SecretBytes::<32>::random(rng);
    let (sk, pk) = Kem::derive_keypair(ikm.expose());
    let mut enc = [0u8; ENC_LEN];
    pk.write_exact(&mut enc);
    let mut scalar = SecretBytes::<32>::zero();
    sk.write_exact(scalar.expose_mut());
    drop(sk);
    let secret = p256::SecretKey::from_slice(scalar.expose()).map_err(|_| Error::Crypto)?;
    let shared =
        p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), recipient.inner().as_affine());
    let dh = SecretBytes::<32>::from_slice(shared.raw_secret_bytes())?;
    Ok((enc, dh))
}

/// SetupBaseS: a sender context to `recipient`, and the encapsulated key to send.
///
/// # Errors
/// [`Error::Crypto`] if key derivation fails (negligible probability).
pub fn setup_sender_base<R: rand_core::CryptoRng + ?Sized>(
    recipient: &EcPublicKey,
    aead: HpkeAead,
    info: &[u8],
    rng: &mut R,
) -> Result<([u8; ENC_LEN], SenderContext)> {
    let (enc, dh) = ephemeral_dh(recipient, rng)?;
    let ss = extract_and_expand(dh.expose(), &[&enc, &recipient.to_uncompressed()])?;
    Ok((enc, sender_context(aead, &ss, None, info)?))
}

/// SetupAuthS: as [`setup_sender_base`], authenticated by the sender's static P-256 key
/// `sender` in `store` (used by handle for the second DH).
///
/// # Errors
/// Store errors for `sender`; [`Error::Crypto`] as [`setup_sender_base`].
pub fn setup_sender_auth<S: IdentityKeys + ?Sized, R: rand_core::CryptoRng + ?Sized>(
    store: &mut S,
    sender: KeyId,
    recipient: &EcPublicKey,
    aead: HpkeAead,
    info: &[u8],
    rng: &mut R,
) -> Result<([u8; ENC_LEN], SenderContext)> {
    let sender_pk = store.public_key(sender)?;
    let dh_static = store.ecdh(sender, recipient)?;
    let (enc, dh_eph) = ephemeral_dh(recipient, rng)?;
    let mut dh = SecretBytes::<64>::zero();
    {
        let (a, b) = dh.expose_mut().split_at_mut(32);
        a.copy_from_slice(dh_eph.expose());
        b.copy_from_slice(dh_static.expose());
    }
    let ss = extract_and_expand(
        dh.expose(),
        &[
            &enc,
            &recipient.to_uncompressed(),
            &sender_pk.to_uncompressed(),
        ],
    )?;
    Ok((enc, sender_context(aead, &ss, Some(&sender_pk), info)?))
}

/// SetupBaseR: the recipient's context for `enc`, with its private key `recipient` in
/// `store` (used by handle).
///
/// # Errors
/// `Decode(InvalidPoint)` for an `enc` that is not a valid uncompressed point; store
/// errors for `recipient`.
pub fn setup_receiver_base<S: IdentityKeys + ?Sized>(
    store: &mut S,
    recipient: KeyId,
    enc: &[u8],
    aead: HpkeAead,
    info: &[u8],
) -> Result<ReceiverContext> {
    let pk_e = parse_enc(enc)?;
    let pk_r = store.public_key(recipient)?;
    let dh = store.ecdh(recipient, &pk_e)?;
    let ss = extract_and_expand(dh.expose(), &[enc, &pk_r.to_uncompressed()])?;
    receiver_context(aead, &ss, None, info)
}

/// SetupAuthR: as [`setup_receiver_base`], checking that the sender holds the private key
/// of `sender` (a wrong sender key gives a context that opens nothing).
///
/// # Errors
/// As [`setup_receiver_base`].
pub fn setup_receiver_auth<S: IdentityKeys + ?Sized>(
    store: &mut S,
    recipient: KeyId,
    sender: &EcPublicKey,
    enc: &[u8],
    aead: HpkeAead,
    info: &[u8],
) -> Result<ReceiverContext> {
    let pk_e = parse_enc(enc)?;
    let pk_r = store.public_key(recipient)?;
    let dh_eph = store.ecdh(recipient, &pk_e)?;
    let dh_static = store.ecdh(recipient, sender)?;
    let mut dh = SecretBytes::<64>::zero();
    {
        let (a, b) = dh.expose_mut().split_at_mut(32);
        a.copy_from_slice(dh_eph.expose());
        b.copy_from_slice(dh_static.expose());
    }
    let ss = extract_and_expand(
        dh.expose(),
        &[enc, &pk_r.to_uncompressed(), &sender.to_uncompressed()],
    )?;
    receiver_context(aead, &ss, Some(sender), info)
}

/// RFC 9180 DeriveKeyPair(`ikm`) for DHKEM(P-256): imports the derived private key into
/// `store` under `id` and returns its public key. For deterministic provisioning from a
/// seed held elsewhere; [`IdentityKeys::generate_p256`] is the usual way.
///
/// # Errors
/// `Decode(InvalidLength)` when `ikm` is shorter than 32 bytes; store errors.
pub fn derive_key_pair<S: IdentityKeys + ?Sized>(
    store: &mut S,
    id: KeyId,
    ikm: &[u8],
) -> Result<EcPublicKey> {
    if ikm.len() < 32 {
        return Err(Error::decode(DecodeErrorKind::InvalidLength, ikm.len()));
    }
    let (sk, _) = Kem::derive_keypair(ikm);
    let mut scalar = SecretBytes::<32>::zero();
    sk.write_exact(scalar.expose_mut());
    store.import_p256(id, &scalar)
}

macro_rules! seal_inner {
    ($ctx:expr, $aad:expr, $buf:expr) => {
        match $ctx {
            SenderInner::Aes128(c) => {
                let tag = c.seal_inout_detached($buf, $aad).map_err(map_hpke)?;
                let mut out = [0u8; TAG_LEN];
                tag.write_exact(&mut out);
                Ok(out)
            }
            SenderInner::Aes256(c) => {
                let tag = c.seal_inout_detached($buf, $aad).map_err(map_hpke)?;
                let mut out = [0u8; TAG_LEN];
                tag.write_exact(&mut out);
                Ok(out)
            }
            SenderInner::ExportOnly(_) => Err(Error::Unsupported),
        }
    };
}

impl SenderContext {
    /// Seals `buf` in place and returns the tag; the context moves to the next sequence
    /// number.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for an export-only context;
    /// [`EnvelopeError::StreamFinished`] after 2⁶⁴ − 1 messages.
    pub fn seal_in_place_detached(&mut self, aad: &[u8], buf: &mut [u8]) -> Result<[u8; TAG_LEN]> {
        seal_inner!(&mut self.0, aad, InOutBuf::from(buf))
    }

    /// Seals `plaintext` into `out` as `ciphertext ‖ tag`; returns the length written.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`]; as [`seal_in_place_detached`](Self::seal_in_place_detached).
    pub fn seal(&mut self, aad: &[u8], plaintext: &[u8], out: &mut [u8]) -> Result<usize> {
        let len = plaintext.len() + TAG_LEN;
        let out = out
            .get_mut(..len)
            .ok_or(Error::BufferTooSmall { needed: len })?;
        let (ct, tag_out) = out
            .split_last_chunk_mut::<TAG_LEN>()
            .ok_or(Error::BufferTooSmall { needed: len })?;
        let buf = InOutBuf::new(plaintext, ct).map_err(|_| Error::Unsupported)?;
        let tag: [u8; TAG_LEN] = seal_inner!(&mut self.0, aad, buf)?;
        tag_out.copy_from_slice(&tag);
        Ok(len)
    }

    /// Exports `out.len()` bytes bound to `exporter_context` (RFC 9180 §5.3).
    ///
    /// # Errors
    /// `Decode(InvalidLength)` for more than 255 × 32 bytes.
    pub fn export(&self, exporter_context: &[u8], out: &mut [u8]) -> Result<()> {
        match &self.0 {
            SenderInner::Aes128(c) => c.export(exporter_context, out),
            SenderInner::Aes256(c) => c.export(exporter_context, out),
            SenderInner::ExportOnly(c) => c.export(exporter_context, out),
        }
        .map_err(map_hpke)
    }

    /// Seals `plaintext` into a new `Vec` (`ciphertext ‖ tag`).
    ///
    /// # Errors
    /// As [`seal`](Self::seal).
    #[cfg(feature = "alloc")]
    pub fn seal_to_vec(&mut self, aad: &[u8], plaintext: &[u8]) -> Result<alloc::vec::Vec<u8>> {
        let mut out = alloc::vec![0u8; plaintext.len() + TAG_LEN];
        self.seal(aad, plaintext, &mut out)?;
        Ok(out)
    }
}

macro_rules! open_inner {
    ($ctx:expr, $aad:expr, $buf:expr, $tag:expr) => {
        match $ctx {
            ReceiverInner::Aes128(c) => {
                let tag = AeadTag::<AesGcm128>::from_bytes($tag).map_err(|_| Error::Crypto)?;
                c.open_inout_detached($buf, $aad, &tag).map_err(map_hpke)
            }
            ReceiverInner::Aes256(c) => {
                let tag = AeadTag::<AesGcm256>::from_bytes($tag).map_err(|_| Error::Crypto)?;
                c.open_inout_detached($buf, $aad, &tag).map_err(map_hpke)
            }
            ReceiverInner::ExportOnly(_) => Err(Error::Unsupported),
        }
    };
}

impl ReceiverContext {
    /// Opens `buf` in place, checking `tag`; the context moves to the next sequence number
    /// only on success.
    ///
    /// # Errors
    /// [`Error::Crypto`] when the tag does not verify (`buf` is left as it was);
    /// [`Error::Unsupported`] for an export-only context.
    pub fn open_in_place_detached(
        &mut self,
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<()> {
        open_inner!(&mut self.0, aad, InOutBuf::from(buf), tag)
    }

    /// Opens `ciphertext ‖ tag` in place and returns the plaintext (a prefix of `buf`).
    ///
    /// # Errors
    /// As [`open_in_place_detached`](Self::open_in_place_detached); `Decode(Truncated)`
    /// when `buf` is shorter than a tag.
    pub fn open_in_place<'b>(&mut self, aad: &[u8], buf: &'b mut [u8]) -> Result<&'b mut [u8]> {
        let len = buf.len();
        let (ct, tag) = buf
            .split_last_chunk_mut::<TAG_LEN>()
            .ok_or(Error::decode(DecodeErrorKind::Truncated, len))?;
        open_inner!(&mut self.0, aad, InOutBuf::from(&mut *ct), tag)?;
        Ok(ct)
    }

    /// Opens `ciphertext ‖ tag` into `out`; returns the plaintext length.
    ///
    /// # Errors
    /// As [`open_in_place`](Self::open_in_place); [`Error::BufferTooSmall`].
    pub fn open(&mut self, aad: &[u8], sealed: &[u8], out: &mut [u8]) -> Result<usize> {
        let (ct, tag) = sealed
            .split_last_chunk::<TAG_LEN>()
            .ok_or(Error::decode(DecodeErrorKind::Truncated, sealed.len()))?;
        let out = out
            .get_mut(..ct.len())
            .ok_or(Error::BufferTooSmall { needed: ct.len() })?;
        let buf = InOutBuf::new(ct, out).map_err(|_| Error::Unsupported)?;
        open_inner!(&mut self.0, aad, buf, tag)?;
        Ok(ct.len())
    }

    /// Exports `out.len()` bytes bound to `exporter_context` (RFC 9180 §5.3).
    ///
    /// # Errors
    /// `Decode(InvalidLength)` for more than 255 × 32 bytes.
    pub fn export(&self, exporter_context: &[u8], out: &mut [u8]) -> Result<()> {
        match &self.0 {
            ReceiverInner::Aes128(c) => c.export(exporter_context, out),
            ReceiverInner::Aes256(c) => c.export(exporter_context, out),
            ReceiverInner::ExportOnly(c) => c.export(exporter_context, out),
        }
        .map_err(map_hpke)
    }

    /// Opens `ciphertext ‖ tag` into a new `Vec`.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    #[cfg(feature = "alloc")]
    pub fn open_to_vec(&mut self, aad: &[u8], sealed: &[u8]) -> Result<alloc::vec::Vec<u8>> {
        let mut out = alloc::vec![0u8; sealed.len().saturating_sub(TAG_LEN)];
        let n = self.open(aad, sealed, &mut out)?;
        out.truncate(n);
        Ok(out)
    }
}

/// Single-shot base-mode seal: writes `enc ‖ ciphertext ‖ tag` into `out` and returns
/// its length (`plaintext.len() + 81`).
///
/// # Errors
/// [`Error::BufferTooSmall`]; as [`setup_sender_base`] and [`SenderContext::seal`].
#[allow(clippy::too_many_arguments)]
pub fn seal_base<R: rand_core::CryptoRng + ?Sized>(
    recipient: &EcPublicKey,
    aead: HpkeAead,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    out: &mut [u8],
    rng: &mut R,
) -> Result<usize> {
    let needed = ENC_LEN + plaintext.len() + TAG_LEN;
    if out.len() < needed {
        return Err(Error::BufferTooSmall { needed });
    }
    let (enc, mut ctx) = setup_sender_base(recipient, aead, info, rng)?;
    let (enc_out, rest) = out
        .split_first_chunk_mut::<ENC_LEN>()
        .ok_or(Error::BufferTooSmall { needed })?;
    enc_out.copy_from_slice(&enc);
    Ok(ENC_LEN + ctx.seal(aad, plaintext, rest)?)
}

/// Single-shot auth-mode seal (sender key `sender` in `store`): `enc ‖ ciphertext ‖ tag`.
///
/// # Errors
/// As [`seal_base`] and [`setup_sender_auth`].
#[allow(clippy::too_many_arguments)]
pub fn seal_auth<S: IdentityKeys + ?Sized, R: rand_core::CryptoRng + ?Sized>(
    store: &mut S,
    sender: KeyId,
    recipient: &EcPublicKey,
    aead: HpkeAead,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    out: &mut [u8],
    rng: &mut R,
) -> Result<usize> {
    let needed = ENC_LEN + plaintext.len() + TAG_LEN;
    if out.len() < needed {
        return Err(Error::BufferTooSmall { needed });
    }
    let (enc, mut ctx) = setup_sender_auth(store, sender, recipient, aead, info, rng)?;
    let (enc_out, rest) = out
        .split_first_chunk_mut::<ENC_LEN>()
        .ok_or(Error::BufferTooSmall { needed })?;
    enc_out.copy_from_slice(&enc);
    Ok(ENC_LEN + ctx.seal(aad, plaintext, rest)?)
}

/// Single-shot base-mode open of `enc ‖ ciphertext ‖ tag` into `out`; returns the
/// plaintext length.
///
/// # Errors
/// `Decode` for a malformed input; [`Error::Crypto`] when it does not open;
/// [`Error::BufferTooSmall`]; store errors.
pub fn open_base<S: IdentityKeys + ?Sized>(
    store: &mut S,
    recipient: KeyId,
    aead: HpkeAead,
    info: &[u8],
    aad: &[u8],
    sealed: &[u8],
    out: &mut [u8],
) -> Result<usize> {
    let (enc, rest) = sealed
        .split_first_chunk::<ENC_LEN>()
        .ok_or(Error::decode(DecodeErrorKind::Truncated, sealed.len()))?;
    setup_receiver_base(store, recipient, enc, aead, info)?.open(aad, rest, out)
}

/// Single-shot auth-mode open (the sender's public key `sender`).
///
/// # Errors
/// As [`open_base`].
#[allow(clippy::too_many_arguments)]
pub fn open_auth<S: IdentityKeys + ?Sized>(
    store: &mut S,
    recipient: KeyId,
    sender: &EcPublicKey,
    aead: HpkeAead,
    info: &[u8],
    aad: &[u8],
    sealed: &[u8],
    out: &mut [u8],
) -> Result<usize> {
    let (enc, rest) = sealed
        .split_first_chunk::<ENC_LEN>()
        .ok_or(Error::decode(DecodeErrorKind::Truncated, sealed.len()))?;
    setup_receiver_auth(store, recipient, sender, enc, aead, info)?.open(aad, rest, out)
}
