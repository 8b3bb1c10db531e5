//! The envelope's byte layout (`docs/envelope-format.md`), the caller context and the
//! key derivation shared by seal, open and rewrap.

use crate::ec::sha256_parts;
use crate::envelope::kek::{KekId, KekRef};
use crate::error::{DecodeErrorKind, EnvelopeError, Error, Result};
use crate::provider::{CryptoProvider, GCM_NONCE_LEN as NONCE_LEN, GCM_TAG_LEN as TAG_LEN};
use crate::secret::SecretBytes;
use crate::store::WrapAlgorithm;

/// Envelope format version.
pub const FORMAT_VERSION: u8 = 1;
/// Length of the header in front of the ciphertext (every version-1 suite).
pub const HEADER_LEN: usize = 137;
/// Bytes an envelope adds to its plaintext: header and tag.
pub const OVERHEAD: usize = HEADER_LEN + TAG_LEN;
/// Length of the random per-envelope nonce (the HKDF salt).
pub const NONCE_BYTES: usize = 32;
/// Length of the key commitment.
pub const COMMITMENT_LEN: usize = 32;
/// Length of the wrapped DEK block (48 bytes wrapped by AES-KW or AES-KWP).
pub const WRAPPED_DEK_LEN: usize = 56;

pub(crate) const OFF_SUITE: usize = 1;
pub(crate) const OFF_NONCE: usize = 3;
pub(crate) const OFF_COMMIT: usize = 35;
/// End of the part of the header that a rewrap never changes (and the payload AAD covers).
pub(crate) const STABLE_LEN: usize = 67;
pub(crate) const OFF_KEK_ID: usize = 67;
pub(crate) const OFF_KEK_VERSION: usize = 75;
pub(crate) const OFF_WRAP_ALG: usize = 79;
pub(crate) const OFF_WRAPPED_LEN: usize = 80;
pub(crate) const OFF_WRAPPED: usize = 81;
/// The header prefix the DEK wrap's binding value covers.
pub(crate) const BOUND_LEN: usize = OFF_WRAPPED_LEN;
/// Length of the binding value wrapped with the DEK.
pub(crate) const BINDING_LEN: usize = 16;
/// DEK plus binding: the 48 bytes that are wrapped.
pub(crate) const DEK_BLOCK_LEN: usize = 48;

const _: () = assert!(OFF_WRAPPED + WRAPPED_DEK_LEN == HEADER_LEN);
const _: () = assert!(OFF_COMMIT + COMMITMENT_LEN == STABLE_LEN);

/// The longest `purpose` a [`Context`] may carry.
pub const MAX_PURPOSE_LEN: usize = 255;
/// Longest encoded context: serial (8), purpose length (1), purpose.
const MAX_CONTEXT_LEN: usize = 9 + MAX_PURPOSE_LEN;

const LABEL_KEY: &[u8] = b"provkit envelope v1 key";
const LABEL_COMMIT: &[u8] = b"provkit envelope v1 commit";
const LABEL_BIND: &[u8] = b"provkit envelope v1 wrap";

/// The payload suite: how the data is encrypted and the DEK derived and committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Suite {
    /// `0x0001`: 256-bit DEK; HKDF-SHA256 derives an AES-256-GCM key, its 96-bit nonce
    /// and a 256-bit key commitment from the DEK and the envelope nonce.
    Aes256GcmHkdfSha256Committed,
}

impl Suite {
    /// The suite's identifier on the wire.
    #[must_use]
    pub const fn id(self) -> u16 {
        match self {
            Self::Aes256GcmHkdfSha256Committed => 0x0001,
        }
    }

    /// The suite with identifier `id`, if this crate knows it.
    #[must_use]
    pub const fn from_id(id: u16) -> Option<Self> {
        match id {
            0x0001 => Some(Self::Aes256GcmHkdfSha256Committed),
            _ => None,
        }
    }
}

pub(crate) const fn wrap_alg_id(alg: WrapAlgorithm) -> u8 {
    match alg {
        WrapAlgorithm::AesKw => 0x01,
        WrapAlgorithm::AesKwp => 0x02,
    }
}

pub(crate) const fn wrap_alg_from_id(id: u8) -> Option<WrapAlgorithm> {
    match id {
        0x01 => Some(WrapAlgorithm::AesKw),
        0x02 => Some(WrapAlgorithm::AesKwp),
        _ => None,
    }
}

/// What the caller binds an envelope to: the device it belongs to and what it is for.
///
/// The context is not stored in the envelope; the opener must supply the same values.
/// An envelope moved to another row, device or purpose does not open (`Crypto`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Context<'a> {
    /// The device serial the data belongs to (0 when there is none).
    pub serial: u64,
    /// What the data is for, e.g. `b"device-key"` or a table and column name; at most
    /// [`MAX_PURPOSE_LEN`] bytes.
    pub purpose: &'a [u8],
}

impl<'a> Context<'a> {
    /// A context for `serial` and `purpose`.
    #[must_use]
    pub const fn new(serial: u64, purpose: &'a [u8]) -> Self {
        Self { serial, purpose }
    }

    /// `serial (8, BE) || len(purpose) (1) || purpose` into `out`; returns its length.
    fn encode(&self, out: &mut [u8; MAX_CONTEXT_LEN]) -> Result<usize> {
        let len = u8::try_from(self.purpose.len()).map_err(|_| EnvelopeError::ContextTooLong)?;
        let (serial, rest) = out.split_at_mut(8);
        serial.copy_from_slice(&self.serial.to_be_bytes());
        let (l, rest) = rest.split_first_mut().ok_or(Error::Unsupported)?;
        *l = len;
        rest.get_mut(..self.purpose.len())
            .ok_or(EnvelopeError::ContextTooLong)?
            .copy_from_slice(self.purpose);
        Ok(9 + self.purpose.len())
    }
}

/// What an envelope header says, readable without any key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EnvelopeInfo {
    /// The payload suite.
    pub suite: Suite,
    /// The KEK version that wraps the DEK.
    pub kek: KekRef,
    /// How the DEK is wrapped.
    pub wrap: WrapAlgorithm,
    /// Length of the plaintext.
    pub payload_len: usize,
}

/// Reads an envelope's header without opening it (no key needed): for a census, or to
/// pick the store before opening.
///
/// # Errors
/// `Decode` errors: `Truncated` (shorter than [`OVERHEAD`]), `UnknownVersion` at 0,
/// `InvalidValue` for an unknown suite (offset 1) or wrap algorithm (offset 79),
/// `InvalidLength` for a wrapped-DEK length other than 56 (offset 80).
pub fn inspect(envelope: &[u8]) -> Result<EnvelopeInfo> {
    let (header, rest) = envelope
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(Error::decode(DecodeErrorKind::Truncated, envelope.len()))?;
    let payload_len = rest
        .len()
        .checked_sub(TAG_LEN)
        .ok_or(Error::decode(DecodeErrorKind::Truncated, envelope.len()))?;
    let h = Header(header);
    if h.byte(0) != FORMAT_VERSION {
        return Err(Error::decode(DecodeErrorKind::UnknownVersion, 0));
    }
    let suite = Suite::from_id(u16::from_be_bytes(h.array::<2>(OFF_SUITE)))
        .ok_or(Error::decode(DecodeErrorKind::InvalidValue, OFF_SUITE))?;
    let wrap = wrap_alg_from_id(h.byte(OFF_WRAP_ALG))
        .ok_or(Error::decode(DecodeErrorKind::InvalidValue, OFF_WRAP_ALG))?;
    if usize::from(h.byte(OFF_WRAPPED_LEN)) != WRAPPED_DEK_LEN {
        return Err(Error::decode(
            DecodeErrorKind::InvalidLength,
            OFF_WRAPPED_LEN,
        ));
    }
    Ok(EnvelopeInfo {
        suite,
        kek: h.kek(),
        wrap,
        payload_len,
    })
}

/// Read access to a complete header (length checked once, by the type).
pub(crate) struct Header<'a>(pub(crate) &'a [u8; HEADER_LEN]);

impl Header<'_> {
    pub(crate) fn byte(&self, at: usize) -> u8 {
        self.0.get(at).copied().unwrap_or(0)
    }

    pub(crate) fn array<const L: usize>(&self, at: usize) -> [u8; L] {
        self.0
            .get(at..)
            .and_then(|s| s.first_chunk::<L>())
            .copied()
            .unwrap_or([0; L])
    }

    pub(crate) fn kek(&self) -> KekRef {
        KekRef {
            id: KekId(self.array::<8>(OFF_KEK_ID)),
            version: u32::from_be_bytes(self.array::<4>(OFF_KEK_VERSION)),
        }
    }

    pub(crate) fn nonce(&self) -> [u8; NONCE_BYTES] {
        self.array::<NONCE_BYTES>(OFF_NONCE)
    }

    pub(crate) fn commitment(&self) -> [u8; COMMITMENT_LEN] {
        self.array::<COMMITMENT_LEN>(OFF_COMMIT)
    }

    pub(crate) fn wrapped(&self) -> [u8; WRAPPED_DEK_LEN] {
        self.array::<WRAPPED_DEK_LEN>(OFF_WRAPPED)
    }

    /// The binding value wrapped with the DEK: it covers bytes 0..80 (version, suite,
    /// nonce, commitment, KEK id, KEK version, wrap algorithm).
    pub(crate) fn binding(&self) -> [u8; BINDING_LEN] {
        binding(self.0.get(..BOUND_LEN).unwrap_or(&[]))
    }
}

pub(crate) fn binding(bound: &[u8]) -> [u8; BINDING_LEN] {
    let digest = sha256_parts(&[LABEL_BIND, bound]);
    digest
        .first_chunk::<BINDING_LEN>()
        .copied()
        .unwrap_or([0; BINDING_LEN])
}

/// The payload key and nonce, and the commitment, derived from a DEK.
pub(crate) struct Derived {
    /// AES-256 key (32) || GCM nonce (12).
    pub(crate) key_nonce: SecretBytes<44>,
    pub(crate) commitment: [u8; COMMITMENT_LEN],
    /// Encoded context, kept for the AAD.
    context: [u8; MAX_CONTEXT_LEN],
    context_len: usize,
}

impl Derived {
    /// `PRK = HKDF-Extract(salt = nonce, IKM = DEK)`; key ‖ nonce and commitment are two
    /// HKDF-Expand outputs under distinct labels, both over `suite ‖ context`.
    pub(crate) fn new<P: CryptoProvider>(
        dek: &SecretBytes<32>,
        nonce: &[u8; NONCE_BYTES],
        suite: Suite,
        context: &Context<'_>,
    ) -> Result<Self> {
        let mut ctx = [0u8; MAX_CONTEXT_LEN];
        let ctx_len = context.encode(&mut ctx)?;
        let encoded = ctx.get(..ctx_len).ok_or(EnvelopeError::ContextTooLong)?;
        let suite_id = suite.id().to_be_bytes();
        let mut prk = SecretBytes::<32>::zero();
        P::hmac_sha256(nonce, &[dek.expose()], prk.expose_mut())?;
        let prk = prk.expose();
        let mut key_nonce = SecretBytes::<44>::zero();
        let mut commitment = [0u8; COMMITMENT_LEN];
        P::hkdf_expand(
            prk,
            &[LABEL_KEY, &suite_id, encoded],
            key_nonce.expose_mut(),
        )?;
        P::hkdf_expand(prk, &[LABEL_COMMIT, &suite_id, encoded], &mut commitment)?;
        Ok(Self {
            key_nonce,
            commitment,
            context: ctx,
            context_len: ctx_len,
        })
    }

    pub(crate) fn key(&self) -> &[u8] {
        self.key_nonce.expose().get(..32).unwrap_or(&[])
    }

    pub(crate) fn nonce(&self) -> [u8; NONCE_LEN] {
        self.key_nonce
            .expose()
            .last_chunk::<NONCE_LEN>()
            .copied()
            .unwrap_or([0; NONCE_LEN])
    }

    /// The payload AAD: header bytes 0..67 (version, suite, nonce, commitment) followed by
    /// the encoded context. Written into `out`; returns the used prefix.
    pub(crate) fn aad<'o>(
        &self,
        stable: &[u8],
        out: &'o mut [u8; STABLE_LEN + MAX_CONTEXT_LEN],
    ) -> &'o [u8] {
        let (a, b) = out.split_at_mut(STABLE_LEN);
        a.copy_from_slice(stable.get(..STABLE_LEN).unwrap_or(&[0; STABLE_LEN]));
        let ctx = self.context.get(..self.context_len).unwrap_or(&[]);
        if let Some(dst) = b.get_mut(..ctx.len()) {
            dst.copy_from_slice(ctx);
        }
        out.get(..STABLE_LEN + self.context_len).unwrap_or(&[])
    }
}

/// Scratch for [`Derived::aad`].
pub(crate) const AAD_BUF_LEN: usize = STABLE_LEN + MAX_CONTEXT_LEN;
