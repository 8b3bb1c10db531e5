//! HPKE (RFC 9180): DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-128-GCM, AES-256-GCM and
//! export-only; base and auth modes; single-shot and multi-message contexts; exporter.
//!
//! A small implementation of exactly this suite, on the primitives the rest of provkit
//! already links: the crypto provider's HKDF-SHA256 and AES-GCM (the same instances as
//! the handshake and envelopes; a device's telemetry on another provider, as a
//! Cortex-M4 firmware's, seals with that provider's AES-GCM), P-256 through the software
//! key type the stores use. One non-generic context type serves every AEAD. The DHKEM's Diffie-Hellman with a long-term key runs **in the
//! key store, by handle** ([`IdentityKeys::ecdh`]): a recipient's private key (and an
//! auth-mode sender's) may live in an HSM or secure element. Only the sender's ephemeral
//! key is in memory, and it is dropped (zeroized) by the setup. The shared secret, AEAD
//! key, base nonce and exporter secret live in zeroizing buffers and never print.
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
//! let mut rng = provkit::rng::OsRng; // or the device's hardware RNG
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

use crate::ec::{EcPublicKey, Ephemeral};
use crate::error::{DecodeErrorKind, EnvelopeError, Error, Result};
use crate::provider::{
    AeadBuf, CryptoProvider, GCM_NONCE_LEN as NONCE_LEN, RustCrypto, gcm_open, gcm_seal,
};
use crate::secret::SecretBytes;
use crate::store::{IdentityKeys, KeyId, SoftKey};
use core::fmt;

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

/// RFC 9180 §4: the version label of every labeled extract and expand.
const VERSION_LABEL: &[u8] = b"HPKE-v1";
/// `mode_base` and `mode_auth` (RFC 9180 §5, Table 1).
const MODE_BASE: u8 = 0x00;
const MODE_AUTH: u8 = 0x02;
/// `Nsecret`, `Nh` of HKDF-SHA256, and `Nsk` of P-256.
const SECRET_LEN: usize = 32;

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

    /// `Nk`: the AEAD key length (0 for export-only).
    const fn key_len(self) -> usize {
        match self {
            Self::Aes128Gcm => 16,
            Self::Aes256Gcm => 32,
            Self::ExportOnly => 0,
        }
    }
}

/// A short, public name for a P-256 public key: the first 8 bytes of SHA-256 of its
/// uncompressed SEC1 encoding. Shipment and telemetry headers use it to say which
/// recipient (or signer) key they are for.
#[must_use]
pub fn key_fingerprint(public: &EcPublicKey) -> [u8; FINGERPRINT_LEN] {
    let digest = crate::ec::sha256(&public.to_uncompressed());
    digest
        .first_chunk::<FINGERPRINT_LEN>()
        .copied()
        .unwrap_or([0; FINGERPRINT_LEN])
}

/// Whose `suite_id` a labeled extract or expand is under: the KEM's, or the whole suite's.
#[derive(Clone, Copy)]
enum Suite {
    Kem,
    Hpke(HpkeAead),
}

impl Suite {
    /// `"KEM" || I2OSP(kem_id, 2)`, or `"HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) ||
    /// I2OSP(aead_id, 2)` (checked against [`HpkeAead::id`] by a test).
    const fn id(self) -> &'static [u8] {
        match self {
            Self::Kem => b"KEM\x00\x10",
            Self::Hpke(HpkeAead::Aes128Gcm) => b"HPKE\x00\x10\x00\x01\x00\x01",
            Self::Hpke(HpkeAead::Aes256Gcm) => b"HPKE\x00\x10\x00\x01\x00\x02",
            Self::Hpke(HpkeAead::ExportOnly) => b"HPKE\x00\x10\x00\x01\xff\xff",
        }
    }
}

/// `LabeledExtract(salt, label, ikm)` into `out`.
#[inline(never)]
fn labeled_extract(
    suite: Suite,
    salt: &[u8],
    label: &[u8],
    ikm: &[u8],
    out: &mut [u8; SECRET_LEN],
) -> Result<()> {
    RustCrypto::hmac_sha256(salt, &[VERSION_LABEL, suite.id(), label, ikm], out)
}

/// `LabeledExpand(prk, label, info, L)` with `L = out.len()` and `info` the concatenation
/// of three parts (some may be empty).
#[inline(never)]
fn labeled_expand(
    prk: &[u8; SECRET_LEN],
    suite: Suite,
    label: &[u8],
    info: &[&[u8]; 3],
    out: &mut [u8],
) -> Result<()> {
    // Over 255 × 32 bytes `hkdf_expand` refuses (`Decode(InvalidLength)`) whatever `L` says.
    let len = u16::try_from(out.len()).unwrap_or(u16::MAX).to_be_bytes();
    let [i0, i1, i2] = *info;
    RustCrypto::hkdf_expand(
        prk,
        &[&len, VERSION_LABEL, suite.id(), label, i0, i1, i2],
        out,
    )
}

/// DHKEM(P-256) `DeriveKeyPair(ikm)` (RFC 9180 §7.1.3): the private scalar and the key.
fn derive_p256(ikm: &[u8]) -> Result<(SecretBytes<SECRET_LEN>, SoftKey)> {
    let mut dkp_prk = SecretBytes::zero();
    labeled_extract(Suite::Kem, b"", b"dkp_prk", ikm, dkp_prk.expose_mut())?;
    for counter in 0..=u8::MAX {
        let mut sk = SecretBytes::zero();
        labeled_expand(
            dkp_prk.expose(),
            Suite::Kem,
            b"candidate",
            &[&[counter], &[], &[]],
            sk.expose_mut(),
        )?;
        // The bitmask is 0xFF for P-256: nothing to clear. The key type rejects 0 and ≥ n.
        if let Ok(key) = SoftKey::p256_from_scalar(&sk) {
            return Ok((sk, key));
        }
    }
    // 256 candidates out of range: probability about 2⁻⁸¹⁹².
    Err(Error::Crypto)
}

/// An HPKE encryption context (RFC 9180 §5.2), either role: the key, base nonce and
/// exporter secret (zeroized on drop) and the next sequence number.
struct Context {
    aead: HpkeAead,
    /// The first `aead.key_len()` bytes are the key.
    key: SecretBytes<32>,
    base_nonce: SecretBytes<NONCE_LEN>,
    exporter_secret: SecretBytes<SECRET_LEN>,
    seq: u64,
}

/// Splits the first `N` bytes off `bytes` (which callers size to hold them).
fn take<'a, const N: usize>(bytes: &mut &'a mut [u8]) -> Result<&'a mut [u8; N]> {
    let (head, tail) = core::mem::take(bytes)
        .split_first_chunk_mut::<N>()
        .ok_or(Error::Unsupported)?;
    *bytes = tail;
    Ok(head)
}

impl Context {
    /// A context with no keys yet, for [`init`](Self::init).
    const fn empty() -> Self {
        Self {
            aead: HpkeAead::ExportOnly,
            key: SecretBytes::zero(),
            base_nonce: SecretBytes::zero(),
            exporter_secret: SecretBytes::zero(),
            seq: 0,
        }
    }

    /// [`empty`](Self::empty), then [`init`](Self::init).
    fn new(
        aead: HpkeAead,
        mode: u8,
        dh: &[u8],
        kem_context: &[&[u8]; 3],
        info: &[u8],
    ) -> Result<Self> {
        let mut ctx = Self::empty();
        ctx.init(aead, mode, dh, kem_context, info)?;
        Ok(ctx)
    }

    /// DHKEM `ExtractAndExpand(dh, kem_context)` (RFC 9180 §4.1), then
    /// `KeySchedule<ROLE>(mode, shared_secret, info, "", "")` (RFC 9180 §5.1), into this
    /// [`empty`](Self::empty) context (in place: no copy of the secrets to move out).
    #[inline(never)]
    fn init(
        &mut self,
        aead: HpkeAead,
        mode: u8,
        dh: &[u8],
        kem_context: &[&[u8]; 3],
        info: &[u8],
    ) -> Result<()> {
        if aead == HpkeAead::Aes256Gcm && !cfg!(feature = "aes256") {
            return Err(Error::Unsupported); // built without AES-256 (feature `aes256`)
        }
        // `eae_prk` (then `secret`) ‖ `shared_secret` ‖ `psk_id_hash` ‖ `info_hash`.
        let mut scratch = SecretBytes::<{ 4 * SECRET_LEN }>::zero();
        let mut rest = scratch.expose_mut().as_mut_slice();
        let prk = take::<SECRET_LEN>(&mut rest)?;
        let shared_secret = take::<SECRET_LEN>(&mut rest)?;
        let hashes = take::<{ 2 * SECRET_LEN }>(&mut rest)?;
        labeled_extract(Suite::Kem, b"", b"eae_prk", dh, prk)?;
        let label = b"shared_secret";
        labeled_expand(prk, Suite::Kem, label, kem_context, shared_secret)?;

        let suite = Suite::Hpke(aead);
        let (psk_id_hash, info_hash) = hashes.split_at_mut(SECRET_LEN);
        let psk_id_hash = psk_id_hash.try_into().map_err(|_| Error::Unsupported)?;
        let info_hash = info_hash.try_into().map_err(|_| Error::Unsupported)?;
        labeled_extract(suite, b"", b"psk_id_hash", b"", psk_id_hash)?;
        labeled_extract(suite, b"", b"info_hash", info, info_hash)?;
        // `ks_context = mode ‖ psk_id_hash ‖ info_hash`.
        let ks_context: [&[u8]; 3] = [&[mode], hashes, &[]];
        labeled_extract(suite, shared_secret, b"secret", b"", prk)?;
        self.aead = aead;
        if aead != HpkeAead::ExportOnly {
            let key = self
                .key
                .expose_mut()
                .get_mut(..aead.key_len())
                .ok_or(Error::Unsupported)?;
            labeled_expand(prk, suite, b"key", &ks_context, key)?;
            let nonce = self.base_nonce.expose_mut();
            labeled_expand(prk, suite, b"base_nonce", &ks_context, nonce)?;
        }
        let exp = self.exporter_secret.expose_mut();
        labeled_expand(prk, suite, b"exp", &ks_context, exp)
    }

    /// The AEAD key, or `Unsupported` for an export-only context.
    fn key(&self) -> Result<&[u8]> {
        match self.aead {
            HpkeAead::ExportOnly => Err(Error::Unsupported),
            aead => self
                .key
                .expose()
                .get(..aead.key_len())
                .ok_or(Error::Unsupported),
        }
    }

    /// `ComputeNonce(seq)` and the sequence number after it. The last sequence number,
    /// 2⁶⁴ − 1, is never used: the context is then finished (no nonce is ever repeated).
    fn nonce(&self) -> Result<([u8; NONCE_LEN], u64)> {
        let next = self
            .seq
            .checked_add(1)
            .ok_or(Error::Envelope(EnvelopeError::StreamFinished))?;
        let mut nonce = *self.base_nonce.expose();
        if let Some((_, tail)) = nonce.split_last_chunk_mut::<8>() {
            *tail = (u64::from_be_bytes(*tail) ^ self.seq).to_be_bytes();
        }
        Ok((nonce, next))
    }

    // Not inlined (nor `open`): inlined, the AES-GCM states of both AEADs sit in the
    // caller's frame under everything else it calls (telemetry: the signature), about
    // 1 KiB more peak stack on Cortex-M.
    /// Seals on the AES-GCM of the provider `P` (every provider's gives the same result:
    /// a firmware on another provider than [`RustCrypto`] seals its telemetry on that
    /// provider's, and links one AES-GCM).
    #[inline(never)]
    fn seal<P: CryptoProvider>(
        &mut self,
        aad: &[u8],
        buf: AeadBuf<'_, '_>,
        tag: &mut [u8; TAG_LEN],
    ) -> Result<()> {
        let key = self.key()?;
        let (nonce, next) = self.nonce()?;
        *tag = gcm_seal::<P>(key, &nonce, aad, buf)?;
        self.seq = next;
        Ok(())
    }

    #[inline(never)]
    fn open(&mut self, aad: &[u8], buf: AeadBuf<'_, '_>, tag: &[u8; TAG_LEN]) -> Result<()> {
        let key = self.key()?;
        let (nonce, next) = self.nonce()?;
        gcm_open::<RustCrypto>(key, &nonce, aad, buf, tag)?;
        self.seq = next;
        Ok(())
    }

    /// `Context.Export(exporter_context, L)` (RFC 9180 §5.3).
    fn export(&self, exporter_context: &[u8], out: &mut [u8]) -> Result<()> {
        labeled_expand(
            self.exporter_secret.expose(),
            Suite::Hpke(self.aead),
            b"sec",
            &[exporter_context, &[], &[]],
            out,
        )
    }
}

/// A sender's HPKE context: seals a sequence of messages (the nonce of each is derived
/// from its sequence number, which the context advances and never repeats) and exports
/// secrets.
pub struct SenderContext(Context);

/// A recipient's HPKE context: opens the sender's messages in order, and exports the same
/// secrets.
pub struct ReceiverContext(Context);

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

/// Parses `enc`: exactly 65 bytes, uncompressed, on the curve, not the identity.
fn parse_enc(enc: &[u8]) -> Result<EcPublicKey> {
    if enc.len() != ENC_LEN || enc.first() != Some(&0x04) {
        return Err(Error::decode(DecodeErrorKind::InvalidPoint, 0));
    }
    EcPublicKey::from_sec1(enc)
}

/// How a sender's ephemeral key is made. With `std` (servers, and every test build): RFC
/// 9180 `DeriveKeyPair` of 32 RNG bytes, so that a fixed RNG reproduces RFC 9180's test
/// vectors. Without (devices): a nonzero scalar below the order drawn from the RNG by
/// rejection sampling, the same code as the handshake's ephemeral keys, which links no
/// loop of labeled expands. RFC 9180 lets `GenerateKeyPair` be either; both are uniform.
const DERIVE_EPHEMERAL: bool = cfg!(feature = "std");

/// A fresh ephemeral key pair (see [`DERIVE_EPHEMERAL`] for `derive`): its public key
/// into `enc`, its DH with `recipient` into `dh`. The ephemeral secret is dropped here.
/// Not inlined, so that the key and its scalar multiplications leave the stack before the
/// caller goes on (telemetry signs next).
#[inline(never)]
fn ephemeral_dh<P: CryptoProvider, R: rand_core::CryptoRng + ?Sized>(
    recipient: &EcPublicKey,
    rng: &mut R,
    derive: bool,
    enc: &mut [u8; ENC_LEN],
    dh: &mut [u8; 32],
) -> Result<()> {
    let (pk, shared) = if derive {
        let ikm = SecretBytes::<32>::random(rng);
        let (_, sk) = derive_p256(ikm.expose())?;
        (sk.public_key()?, sk.ecdh(recipient)?)
    } else {
        let sk = Ephemeral::<P>::generate(rng);
        (sk.public_key(), sk.agree(recipient)?)
    };
    *enc = pk.to_uncompressed();
    *dh = *shared.expose();
    Ok(())
}

/// SetupBaseS, or SetupAuthS with `auth` = (DH of the sender's static key with
/// `recipient`, the sender's public key), into `ctx` (from [`SenderContext::empty`]):
/// writes the encapsulated key into `enc`.
pub(crate) fn setup_sender<P: CryptoProvider, R: rand_core::CryptoRng + ?Sized>(
    ctx: &mut SenderContext,
    enc: &mut [u8; ENC_LEN],
    recipient: &EcPublicKey,
    auth: Option<(&SecretBytes<32>, &EcPublicKey)>,
    aead: HpkeAead,
    info: &[u8],
    rng: &mut R,
) -> Result<()> {
    // `dh_eph`, then `dh_static` in auth mode.
    let mut dh = SecretBytes::<64>::zero();
    let (dh_eph, dh_static) = dh
        .expose_mut()
        .split_first_chunk_mut::<32>()
        .ok_or(Error::Unsupported)?;
    ephemeral_dh::<P, R>(recipient, rng, DERIVE_EPHEMERAL, enc, dh_eph)?;
    let pk_r = recipient.to_uncompressed();
    let pk_s;
    let (mode, dh_len, pk_s): (u8, usize, &[u8]) = match auth {
        None => (MODE_BASE, 32, &[]),
        Some((static_dh, sender_pk)) => {
            dh_static.copy_from_slice(static_dh.expose());
            pk_s = sender_pk.to_uncompressed();
            (MODE_AUTH, 64, &pk_s)
        }
    };
    let dh = dh.expose().get(..dh_len).ok_or(Error::Unsupported)?;
    let kem_context: [&[u8]; 3] = [enc, &pk_r, pk_s];
    ctx.0.init(aead, mode, dh, &kem_context, info)
}

/// SetupBaseS: a sender context to `recipient`, and the encapsulated key to send. The
/// ephemeral key is `DeriveKeyPair` of 32 bytes from `rng` in builds with `std` (so that a
/// fixed RNG reproduces RFC 9180's vectors), a scalar drawn from `rng` without.
///
/// # Errors
/// [`Error::Crypto`] if key derivation fails (negligible probability).
pub fn setup_sender_base<R: rand_core::CryptoRng + ?Sized>(
    recipient: &EcPublicKey,
    aead: HpkeAead,
    info: &[u8],
    rng: &mut R,
) -> Result<([u8; ENC_LEN], SenderContext)> {
    let (mut enc, mut ctx) = ([0u8; ENC_LEN], SenderContext::empty());
    setup_sender::<RustCrypto, R>(&mut ctx, &mut enc, recipient, None, aead, info, rng)?;
    Ok((enc, ctx))
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
    let (mut enc, mut ctx) = ([0u8; ENC_LEN], SenderContext::empty());
    let auth = Some((&dh_static, &sender_pk));
    setup_sender::<RustCrypto, R>(&mut ctx, &mut enc, recipient, auth, aead, info, rng)?;
    Ok((enc, ctx))
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
    let kem_context: [&[u8]; 3] = [enc, &pk_r.to_uncompressed(), &[]];
    let ctx = Context::new(aead, MODE_BASE, dh.expose(), &kem_context, info)?;
    Ok(ReceiverContext(ctx))
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
    let (a, b) = dh.expose_mut().split_at_mut(32);
    a.copy_from_slice(dh_eph.expose());
    b.copy_from_slice(dh_static.expose());
    let kem_context: [&[u8]; 3] = [enc, &pk_r.to_uncompressed(), &sender.to_uncompressed()];
    let ctx = Context::new(aead, MODE_AUTH, dh.expose(), &kem_context, info)?;
    Ok(ReceiverContext(ctx))
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
    let (scalar, _) = derive_p256(ikm)?;
    store.import_p256(id, &scalar)
}

impl SenderContext {
    /// A context with no keys yet, for [`setup_sender`] to set up.
    pub(crate) const fn empty() -> Self {
        Self(Context::empty())
    }

    /// Seals `buf` in place and returns the tag; the context moves to the next sequence
    /// number.
    ///
    /// # Errors
    /// [`Error::Unsupported`] for an export-only context;
    /// [`EnvelopeError::StreamFinished`] after 2⁶⁴ − 1 messages.
    pub fn seal_in_place_detached(&mut self, aad: &[u8], buf: &mut [u8]) -> Result<[u8; TAG_LEN]> {
        let mut tag = [0u8; TAG_LEN];
        self.0.seal::<RustCrypto>(aad, buf.into(), &mut tag)?;
        Ok(tag)
    }

    /// As [`seal_in_place_detached`](Self::seal_in_place_detached), the tag into `tag`,
    /// on the AES-GCM of the provider `P`.
    pub(crate) fn seal_in_place_into<P: CryptoProvider>(
        &mut self,
        aad: &[u8],
        buf: &mut [u8],
        tag: &mut [u8; TAG_LEN],
    ) -> Result<()> {
        self.0.seal::<P>(aad, buf.into(), tag)
    }

    /// Seals `plaintext` into `out` as `ciphertext ‖ tag`; returns the length written.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`]; as [`seal_in_place_detached`](Self::seal_in_place_detached).
    pub fn seal(&mut self, aad: &[u8], plaintext: &[u8], out: &mut [u8]) -> Result<usize> {
        let len = plaintext.len() + TAG_LEN;
        let out = out.get_mut(..len).ok_or(Error::buffer_too_small(len))?;
        let (ct, tag_out) = out
            .split_last_chunk_mut::<TAG_LEN>()
            .ok_or(Error::buffer_too_small(len))?;
        let buf = AeadBuf::Copy {
            input: plaintext,
            output: ct,
        };
        self.0.seal::<RustCrypto>(aad, buf, tag_out)?;
        Ok(len)
    }

    /// Exports `out.len()` bytes bound to `exporter_context` (RFC 9180 §5.3).
    ///
    /// # Errors
    /// `Decode(InvalidLength)` for more than 255 × 32 bytes.
    pub fn export(&self, exporter_context: &[u8], out: &mut [u8]) -> Result<()> {
        self.0.export(exporter_context, out)
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

impl ReceiverContext {
    /// Opens `buf` in place, checking `tag`; the context moves to the next sequence number
    /// only on success.
    ///
    /// # Errors
    /// [`Error::Crypto`] when the tag does not verify (`buf` is left as it was);
    /// [`Error::Unsupported`] for an export-only context;
    /// [`EnvelopeError::StreamFinished`] after 2⁶⁴ − 1 messages.
    pub fn open_in_place_detached(
        &mut self,
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; TAG_LEN],
    ) -> Result<()> {
        self.0.open(aad, buf.into(), tag)
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
        self.0.open(aad, (&mut *ct).into(), tag)?;
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
            .ok_or(Error::buffer_too_small(ct.len()))?;
        let buf = AeadBuf::Copy {
            input: ct,
            output: out,
        };
        self.0.open(aad, buf, tag)?;
        Ok(ct.len())
    }

    /// Exports `out.len()` bytes bound to `exporter_context` (RFC 9180 §5.3).
    ///
    /// # Errors
    /// `Decode(InvalidLength)` for more than 255 × 32 bytes.
    pub fn export(&self, exporter_context: &[u8], out: &mut [u8]) -> Result<()> {
        self.0.export(exporter_context, out)
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
        return Err(Error::buffer_too_small(needed));
    }
    let (enc, mut ctx) = setup_sender_base(recipient, aead, info, rng)?;
    let (enc_out, rest) = out
        .split_first_chunk_mut::<ENC_LEN>()
        .ok_or(Error::buffer_too_small(needed))?;
    *enc_out = enc;
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
        return Err(Error::buffer_too_small(needed));
    }
    let (enc, mut ctx) = setup_sender_auth(store, sender, recipient, aead, info, rng)?;
    let (enc_out, rest) = out
        .split_first_chunk_mut::<ENC_LEN>()
        .ok_or(Error::buffer_too_small(needed))?;
    *enc_out = enc;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use std::format;

    fn pair(aead: HpkeAead) -> (Context, Context) {
        let dh = [7u8; 32];
        (
            Context::new(aead, MODE_BASE, &dh, &[&[]; 3], b"info").unwrap(),
            Context::new(aead, MODE_BASE, &dh, &[&[]; 3], b"info").unwrap(),
        )
    }

    #[test]
    fn sequence_number_exhaustion_is_an_error_and_reuses_no_nonce() {
        for aead in [HpkeAead::Aes128Gcm, HpkeAead::Aes256Gcm] {
            let (s, r) = pair(aead);
            let (mut s, mut r) = (SenderContext(s), ReceiverContext(r));
            s.0.seq = u64::MAX - 2;
            r.0.seq = u64::MAX - 2;
            for _ in 0..2 {
                let mut buf = *b"msg";
                let tag = s.seal_in_place_detached(b"", &mut buf).unwrap();
                r.open_in_place_detached(b"", &mut buf, &tag).unwrap();
                assert_eq!(&buf, b"msg");
            }
            assert_eq!(s.0.seq, u64::MAX);
            let mut buf = *b"msg";
            assert_eq!(
                s.seal_in_place_detached(b"", &mut buf),
                Err(EnvelopeError::StreamFinished.into())
            );
            assert_eq!(&buf, b"msg", "nothing sealed");
            assert_eq!(
                r.open_in_place_detached(b"", &mut buf, &[0; TAG_LEN]),
                Err(EnvelopeError::StreamFinished.into())
            );
            assert_eq!(s.0.seq, u64::MAX);
            assert_eq!(r.0.seq, u64::MAX);
        }
    }

    #[test]
    fn failed_open_keeps_the_sequence_number() {
        let (s, r) = pair(HpkeAead::Aes128Gcm);
        let (mut s, mut r) = (SenderContext(s), ReceiverContext(r));
        let mut sealed = [0u8; 2 + TAG_LEN];
        s.seal(b"a", b"hi", &mut sealed).unwrap();
        let mut bad = sealed;
        bad[0] ^= 1;
        assert_eq!(r.open_in_place(b"a", &mut bad), Err(Error::Crypto));
        assert_eq!(r.0.seq, 0);
        assert_eq!(r.open_in_place(b"a", &mut sealed).unwrap(), b"hi");
        assert_eq!(r.0.seq, 1);
    }

    #[test]
    fn export_only_and_export_limits() {
        let (s, r) = pair(HpkeAead::ExportOnly);
        let (mut s, mut r) = (SenderContext(s), ReceiverContext(r));
        assert_eq!(s.0.key.expose(), &[0u8; 32], "no key derived");
        assert_eq!(s.0.base_nonce.expose(), &[0u8; NONCE_LEN]);
        assert_eq!(
            s.seal_in_place_detached(b"", &mut [0u8; 4]),
            Err(Error::Unsupported)
        );
        assert_eq!(
            r.open_in_place_detached(b"", &mut [0u8; 4], &[0; TAG_LEN]),
            Err(Error::Unsupported)
        );
        let (mut a, mut b) = ([0u8; 255 * 32], [0u8; 255 * 32]);
        s.export(b"x", &mut a).unwrap();
        r.export(b"x", &mut b).unwrap();
        assert_eq!(a, b);
        let mut too_long = [0u8; 255 * 32 + 1];
        assert!(matches!(
            s.export(b"x", &mut too_long),
            Err(Error::Decode(e)) if e.kind == DecodeErrorKind::InvalidLength
        ));
    }

    #[test]
    fn both_ephemeral_key_generations_agree_with_the_recipient() {
        use crate::store::MemoryStore;
        let mut rng = crate::testing::InsecureTestRng::new(5);
        let mut store = MemoryStore::<1, 0, 0>::new();
        let pk = store.generate_p256(KeyId(1), &mut rng).unwrap();
        let (mut enc, mut enc2, mut dh) = ([0u8; ENC_LEN], [0u8; ENC_LEN], [0u8; 32]);
        for derive in [false, true] {
            ephemeral_dh::<RustCrypto, _>(&pk, &mut rng, derive, &mut enc, &mut dh).unwrap();
            let theirs = store.ecdh(KeyId(1), &parse_enc(&enc).unwrap()).unwrap();
            assert_eq!(&dh, theirs.expose(), "derive: {derive}");
            ephemeral_dh::<RustCrypto, _>(&pk, &mut rng, derive, &mut enc2, &mut dh).unwrap();
            assert_ne!(enc, enc2, "a fresh key each time");
        }
        // With a fixed RNG, only `DeriveKeyPair` is RFC 9180's function of its bytes.
        let ikm = [0x42u8; 32];
        let mut derived = [0u8; ENC_LEN];
        let mut fixed = crate::testing::FixedRng::new(&ikm);
        ephemeral_dh::<RustCrypto, _>(&pk, &mut fixed, true, &mut derived, &mut dh).unwrap();
        let (_, key) = derive_p256(&ikm).unwrap();
        assert_eq!(derived, key.public_key().unwrap().to_uncompressed());
    }

    #[test]
    fn suite_ids_are_rfc_9180s() {
        assert_eq!(
            Suite::Kem.id(),
            [b"KEM".as_slice(), &KEM_ID.to_be_bytes()].concat()
        );
        for aead in [
            HpkeAead::Aes128Gcm,
            HpkeAead::Aes256Gcm,
            HpkeAead::ExportOnly,
        ] {
            let want = [
                b"HPKE".as_slice(),
                &KEM_ID.to_be_bytes(),
                &KDF_ID.to_be_bytes(),
                &aead.id().to_be_bytes(),
            ]
            .concat();
            assert_eq!(Suite::Hpke(aead).id(), want);
        }
    }

    #[test]
    fn debug_shows_no_secrets() {
        let (s, r) = pair(HpkeAead::Aes256Gcm);
        assert_eq!(format!("{:?}", SenderContext(s)), "SenderContext(..)");
        assert_eq!(format!("{:?}", ReceiverContext(r)), "ReceiverContext(..)");
    }
}
