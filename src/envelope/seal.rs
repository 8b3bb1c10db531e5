//! Sealing, opening and rewrapping envelopes with a KEK used by handle.

use crate::envelope::format::{
    AAD_BUF_LEN, BINDING_LEN, BOUND_LEN, Context, DEK_BLOCK_LEN, Derived, FORMAT_VERSION,
    HEADER_LEN, Header, NONCE_BYTES, OFF_COMMIT, OFF_KEK_ID, OFF_KEK_VERSION, OFF_NONCE, OFF_SUITE,
    OFF_WRAP_ALG, OFF_WRAPPED, OFF_WRAPPED_LEN, OVERHEAD, STABLE_LEN, Suite, WRAPPED_DEK_LEN,
    binding, inspect, wrap_alg_id,
};
use crate::envelope::kek::{KekDirectory, KekId, KekRef, KekSlot};
use crate::envelope::rewrap::{Census, RewrapReport};
use crate::error::{DecodeErrorKind, Error, Result};
use crate::provider::{
    AeadBuf, CryptoProvider, GCM_TAG_LEN as TAG_LEN, RustCrypto, gcm_open, gcm_seal,
};
use crate::secret::SecretBytes;
use crate::store::SymmetricKeys;
use core::fmt;
use core::marker::PhantomData;
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

/// [`WRAPPED_DEK_LEN`] as the header byte.
const WRAPPED_DEK_LEN_BYTE: u8 = 56;
const _: () = assert!(WRAPPED_DEK_LEN_BYTE as usize == WRAPPED_DEK_LEN);

/// The suite every new envelope uses.
const SUITE: Suite = Suite::Aes256GcmHkdfSha256Committed;

/// Length of the envelope for a plaintext of `plaintext_len` bytes.
#[must_use]
pub const fn sealed_len(plaintext_len: usize) -> usize {
    plaintext_len + OVERHEAD
}

/// What a single rewrap did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rewrapped {
    /// The header now names `to`; the payload bytes are unchanged.
    Moved {
        /// The KEK version the DEK was wrapped under.
        from: KekRef,
        /// The KEK version it is wrapped under now.
        to: KekRef,
    },
    /// The envelope was already under the target KEK's primary version; nothing changed.
    AlreadyCurrent,
}

/// Seals, opens and rewraps envelopes, using KEKs by handle in `store` as `directory`
/// maps them.
///
/// An envelope is `header ‖ ciphertext ‖ tag` (`docs/envelope-format.md`): a fresh
/// 256-bit DEK per envelope, wrapped under a KEK together with a value that binds it to
/// the header; the payload key, nonce and a key commitment derived from the DEK with
/// HKDF-SHA256 over the caller's [`Context`]. Nonces come from the RNG, never from the
/// caller.
///
/// ```
/// use provkit::envelope::{Context, Envelopes, KekId, KekRef, KekRing, KekSlot};
/// use provkit::store::{KeyId, KeyKind, MemoryStore, SymmetricKeys, WrapAlgorithm};
///
/// # fn main() -> provkit::Result<()> {
/// let mut rng = provkit::rng::OsRng;
/// let mut store = MemoryStore::<2, 0, 0>::new();
/// store.generate_symmetric(KeyId(7), KeyKind::Aes256, &mut rng)?;
/// let kek = KekRef { id: KekId(*b"db-keys\0"), version: 1 };
/// let mut ring = KekRing::<4>::new();
/// ring.add_version(KekSlot { kek, key: KeyId(7), wrap: WrapAlgorithm::AesKw })?;
///
/// let ctx = Context::new(0xC0FFEE, b"device-key");
/// let mut buf = [0u8; provkit::envelope::sealed_len(5)];
/// let mut env = Envelopes::new(&mut store, &ring);
/// let n = env.seal(kek.id, &ctx, &mut rng, b"hello", &mut buf)?;
/// let mut out = [0u8; 5];
/// let m = env.open(&ctx, &buf[..n], &mut out)?;
/// assert_eq!(&out[..m], b"hello");
/// // Another context does not open it.
/// assert!(env.open(&Context::new(0xC0FFEF, b"device-key"), &buf[..n], &mut out).is_err());
/// # Ok(())
/// # }
/// ```
///
/// The key derivation and AES-256-GCM run on the [`CryptoProvider`] `P`: [`RustCrypto`]
/// from [`new`](Envelopes::new), a server's own from
/// [`with_provider`](Envelopes::with_provider). The KEK operations run in the store.
pub struct Envelopes<'a, S: ?Sized, D: ?Sized, P: CryptoProvider = RustCrypto> {
    store: &'a mut S,
    directory: &'a D,
    provider: PhantomData<P>,
}

impl<S: ?Sized, D: ?Sized, P: CryptoProvider> fmt::Debug for Envelopes<'_, S, D, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Envelopes").finish_non_exhaustive()
    }
}

impl<'a, S: SymmetricKeys + ?Sized, D: KekDirectory + ?Sized> Envelopes<'a, S, D> {
    /// Envelopes with KEKs from `store`, named through `directory`, on [`RustCrypto`].
    pub fn new(store: &'a mut S, directory: &'a D) -> Self {
        Self::with_provider(store, directory)
    }
}

impl<'a, S: SymmetricKeys + ?Sized, D: KekDirectory + ?Sized, P: CryptoProvider>
    Envelopes<'a, S, D, P>
{
    /// As [`new`](Envelopes::new), on the provider `P`
    /// (`Envelopes::<_, _, AwsLc>::with_provider(..)` on a server).
    pub fn with_provider(store: &'a mut S, directory: &'a D) -> Self {
        Self {
            store,
            directory,
            provider: PhantomData,
        }
    }

    /// Seals in place. `buf` holds [`HEADER_LEN`] bytes of space, then the plaintext,
    /// then [`TAG_LEN`](crate::envelope::TAG_LEN) bytes of space: `buf.len()` is
    /// [`sealed_len`] of the plaintext length. No heap, no copy of the plaintext.
    ///
    /// # Errors
    /// [`Error::BufferTooSmall`] when `buf` is shorter than [`OVERHEAD`];
    /// [`EnvelopeError::UnknownKek`](crate::error::EnvelopeError::UnknownKek);
    /// [`EnvelopeError::ContextTooLong`](crate::error::EnvelopeError::ContextTooLong);
    /// store errors for the KEK.
    pub fn seal_in_place<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        kek: KekId,
        context: &Context<'_>,
        rng: &mut R,
        buf: &mut [u8],
    ) -> Result<()> {
        let dek = SecretBytes::<32>::random(rng);
        let mut nonce = [0u8; NONCE_BYTES];
        rng.fill_bytes(&mut nonce);
        self.seal_with(kek, context, &dek, &nonce, buf)
    }

    /// Seals `plaintext` into `out` (at least [`sealed_len`] bytes); returns the
    /// envelope's length.
    ///
    /// # Errors
    /// As [`seal_in_place`](Self::seal_in_place).
    pub fn seal<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        kek: KekId,
        context: &Context<'_>,
        rng: &mut R,
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        let len = sealed_len(plaintext.len());
        let out = out.get_mut(..len).ok_or(Error::buffer_too_small(len))?;
        out.get_mut(HEADER_LEN..HEADER_LEN + plaintext.len())
            .ok_or(Error::buffer_too_small(len))?
            .copy_from_slice(plaintext);
        self.seal_in_place(kek, context, rng, out)?;
        Ok(len)
    }

    /// Seals with a caller-chosen DEK and nonce. **Hazmat**: a repeated (DEK, nonce) pair
    /// with different plaintexts destroys confidentiality; for fixed test vectors only.
    ///
    /// # Errors
    /// As [`seal_in_place`](Self::seal_in_place).
    #[cfg(feature = "hazmat")]
    pub fn dangerous_seal_with_nonce(
        &mut self,
        kek: KekId,
        context: &Context<'_>,
        dek: &SecretBytes<32>,
        nonce: &[u8; NONCE_BYTES],
        buf: &mut [u8],
    ) -> Result<()> {
        self.seal_with(kek, context, dek, nonce, buf)
    }

    fn seal_with(
        &mut self,
        kek: KekId,
        context: &Context<'_>,
        dek: &SecretBytes<32>,
        nonce: &[u8; NONCE_BYTES],
        buf: &mut [u8],
    ) -> Result<()> {
        let len = buf.len();
        if len < OVERHEAD {
            return Err(Error::buffer_too_small(OVERHEAD));
        }
        let slot = self.directory.encrypt_slot(kek)?;
        let derived = Derived::new::<P>(dek, nonce, SUITE, context)?;
        let (header, rest) = buf
            .split_first_chunk_mut::<HEADER_LEN>()
            .ok_or(Error::buffer_too_small(OVERHEAD))?;
        let (payload, tag_out) = rest
            .split_last_chunk_mut::<TAG_LEN>()
            .ok_or(Error::buffer_too_small(OVERHEAD))?;
        write_stable(header, nonce, &derived.commitment)?;
        write_key_slot(self.store, header, &slot, dek)?;
        let mut aad = [0u8; AAD_BUF_LEN];
        let aad = derived.aad(header, &mut aad);
        let tag = gcm_seal::<P>(derived.key(), &derived.nonce(), aad, payload.into())?;
        tag_out.copy_from_slice(&tag);
        Ok(())
    }

    /// Opens an envelope in place and returns its plaintext, a sub-slice of `envelope`.
    ///
    /// Order of checks: header syntax; the KEK version against the directory (and its
    /// minimum decryption version); the DEK unwrap under the KEK by handle; the binding of
    /// the DEK to this header (constant time); the key commitment for this context
    /// (constant time); only then the AES-GCM tag and decryption.
    ///
    /// # Errors
    /// `Decode` errors for a malformed header; `UnknownKek` and `KekVersionRetired`
    /// ([`EnvelopeError`](crate::error::EnvelopeError)); [`Error::Crypto`] for every
    /// authentication failure (wrong KEK, tampered header or payload, wrong context), in
    /// which case no plaintext is released and the payload bytes are left as they were.
    pub fn open_in_place<'b>(
        &mut self,
        context: &Context<'_>,
        envelope: &'b mut [u8],
    ) -> Result<&'b mut [u8]> {
        let derived = self.unlock(context, envelope)?;
        let (header, rest) = envelope
            .split_first_chunk_mut::<HEADER_LEN>()
            .ok_or(Error::decode(DecodeErrorKind::Truncated, 0))?;
        let (payload, tag) = rest
            .split_last_chunk_mut::<TAG_LEN>()
            .ok_or(Error::decode(DecodeErrorKind::Truncated, 0))?;
        let mut aad = [0u8; AAD_BUF_LEN];
        let aad = derived.aad(header, &mut aad);
        gcm_open::<P>(
            derived.key(),
            &derived.nonce(),
            aad,
            AeadBuf::InPlace(&mut *payload),
            tag,
        )?;
        Ok(payload)
    }

    /// Opens `envelope` into `out` (at least the payload length); returns the plaintext
    /// length. `envelope` is not modified.
    ///
    /// # Errors
    /// As [`open_in_place`](Self::open_in_place), plus [`Error::BufferTooSmall`].
    pub fn open(
        &mut self,
        context: &Context<'_>,
        envelope: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        let info = inspect(envelope)?;
        let out = out
            .get_mut(..info.payload_len)
            .ok_or(Error::buffer_too_small(info.payload_len))?;
        let derived = self.unlock(context, envelope)?;
        let (header, rest) = envelope
            .split_first_chunk::<HEADER_LEN>()
            .ok_or(Error::decode(DecodeErrorKind::Truncated, 0))?;
        let (payload, tag) = rest
            .split_last_chunk::<TAG_LEN>()
            .ok_or(Error::decode(DecodeErrorKind::Truncated, 0))?;
        let mut aad = [0u8; AAD_BUF_LEN];
        let aad = derived.aad(header, &mut aad);
        let buf = AeadBuf::Copy {
            input: payload,
            output: out,
        };
        // On a bad tag no plaintext reaches `out` (the provider's promise).
        gcm_open::<P>(derived.key(), &derived.nonce(), aad, buf, tag)?;
        Ok(info.payload_len)
    }

    /// Rewraps the DEK of `envelope` under the primary version of KEK `target`, in place.
    /// Only the key slot of the header (KEK id, version, wrap algorithm, wrapped DEK)
    /// changes: the stable header and the payload bytes stay identical, and the plaintext
    /// never leaves the DEK (this needs no [`Context`], so it can be delegated).
    ///
    /// # Errors
    /// As [`open_in_place`](Self::open_in_place) for the source KEK (an envelope under a
    /// retired version cannot be rewrapped); `UnknownKek` for `target`; store errors. On
    /// error, `envelope` is unchanged.
    pub fn rewrap_in_place(&mut self, envelope: &mut [u8], target: KekId) -> Result<Rewrapped> {
        let info = inspect(envelope)?;
        let to = self.directory.encrypt_slot(target)?;
        let header = envelope
            .first_chunk_mut::<HEADER_LEN>()
            .ok_or(Error::decode(DecodeErrorKind::Truncated, 0))?;
        if info.kek == to.kek && info.wrap == to.wrap {
            return Ok(Rewrapped::AlreadyCurrent);
        }
        let from = self.directory.decrypt_slot(info.kek)?;
        let dek = self.unwrap_dek(header, &from)?;
        // Build the new header in a copy and only then commit it: an error leaves the
        // envelope untouched.
        let mut new_header = *header;
        write_key_slot(self.store, &mut new_header, &to, &dek)?;
        *header = new_header;
        Ok(Rewrapped::Moved {
            from: info.kek,
            to: to.kek,
        })
    }

    /// Rewraps every envelope in `envelopes` to KEK `target`'s primary version, counting
    /// versions before and after (`N` distinct KEK versions are tracked; more are counted
    /// as overflow).
    ///
    /// Failures do not stop the batch: they are counted, with the index and error of the
    /// first. Run [`Census`] alone for a dry run.
    pub fn rewrap_batch<'e, const N: usize, I>(
        &mut self,
        envelopes: I,
        target: KekId,
    ) -> RewrapReport<N>
    where
        I: IntoIterator<Item = &'e mut [u8]>,
    {
        let mut report = RewrapReport::new();
        for (index, envelope) in envelopes.into_iter().enumerate() {
            report.before.add(envelope);
            match self.rewrap_in_place(envelope, target) {
                Ok(Rewrapped::Moved { .. }) => report.rewrapped += 1,
                Ok(Rewrapped::AlreadyCurrent) => report.already_current += 1,
                Err(e) => {
                    report.failed += 1;
                    if report.first_failure.is_none() {
                        report.first_failure = Some((index, e));
                    }
                }
            }
            report.after.add(envelope);
        }
        report
    }

    /// Checks the header, unwraps the DEK and verifies binding and commitment.
    fn unlock(&mut self, context: &Context<'_>, envelope: &[u8]) -> Result<Derived> {
        let info = inspect(envelope)?;
        let header = Header(
            envelope
                .first_chunk::<HEADER_LEN>()
                .ok_or(Error::decode(DecodeErrorKind::Truncated, 0))?,
        );
        let slot = self.directory.decrypt_slot(info.kek)?;
        let dek = self.unwrap_dek(header.0, &slot)?;
        let derived = Derived::new::<P>(&dek, &header.nonce(), info.suite, context)?;
        if !bool::from(derived.commitment.ct_eq(&header.commitment())) {
            return Err(Error::Crypto);
        }
        Ok(derived)
    }

    /// Unwraps `DEK ‖ binding` with `slot`'s KEK (using the algorithm the header names)
    /// and checks the binding against the header in constant time.
    fn unwrap_dek(&mut self, header: &[u8; HEADER_LEN], slot: &KekSlot) -> Result<SecretBytes<32>> {
        let info_wrap = crate::envelope::format::wrap_alg_from_id(
            header.get(OFF_WRAP_ALG).copied().unwrap_or(0),
        )
        .ok_or(Error::decode(DecodeErrorKind::InvalidValue, OFF_WRAP_ALG))?;
        let h = Header(header);
        let wrapped = h.wrapped();
        let mut block = SecretBytes::<DEK_BLOCK_LEN>::zero();
        let n = self
            .store
            .unwrap_bytes(slot.key, info_wrap, &wrapped, block.expose_mut())
            .map_err(|e| match e {
                Error::Store(_) | Error::Unsupported => e,
                _ => Error::Crypto,
            })?;
        if n != DEK_BLOCK_LEN {
            return Err(Error::Crypto);
        }
        let (dek, bound) = block.expose().split_at(32);
        if !bool::from(bound.ct_eq(&h.binding())) {
            return Err(Error::Crypto);
        }
        SecretBytes::<32>::from_slice(dek)
    }
}

/// Writes version, suite, nonce and commitment (bytes 0..67).
fn write_stable(
    header: &mut [u8; HEADER_LEN],
    nonce: &[u8; NONCE_BYTES],
    commitment: &[u8; 32],
) -> Result<()> {
    let (stable, _) = header.split_at_mut(STABLE_LEN);
    let (version, rest) = stable.split_at_mut(OFF_SUITE);
    version.copy_from_slice(&[FORMAT_VERSION]);
    let (suite, rest) = rest.split_at_mut(OFF_NONCE - OFF_SUITE);
    suite.copy_from_slice(&SUITE.id().to_be_bytes());
    let (n, c) = rest.split_at_mut(OFF_COMMIT - OFF_NONCE);
    n.copy_from_slice(nonce);
    c.copy_from_slice(commitment);
    Ok(())
}

/// Writes KEK id, version, wrap algorithm and the wrapped `DEK ‖ binding` (bytes 67..137).
fn write_key_slot<S: SymmetricKeys + ?Sized>(
    store: &mut S,
    header: &mut [u8; HEADER_LEN],
    slot: &KekSlot,
    dek: &SecretBytes<32>,
) -> Result<()> {
    let alg = wrap_alg_id(slot.wrap);
    {
        let (_, key_slot) = header.split_at_mut(OFF_KEK_ID);
        let (id, rest) = key_slot.split_at_mut(OFF_KEK_VERSION - OFF_KEK_ID);
        id.copy_from_slice(&slot.kek.id.0);
        let (version, rest) = rest.split_at_mut(OFF_WRAP_ALG - OFF_KEK_VERSION);
        version.copy_from_slice(&slot.kek.version.to_be_bytes());
        let (a, rest) = rest.split_at_mut(OFF_WRAPPED_LEN - OFF_WRAP_ALG);
        a.copy_from_slice(&[alg]);
        let (l, _) = rest.split_at_mut(OFF_WRAPPED - OFF_WRAPPED_LEN);
        l.copy_from_slice(&[WRAPPED_DEK_LEN_BYTE]);
    }
    let bind: [u8; BINDING_LEN] = binding(header.get(..BOUND_LEN).unwrap_or(&[]));
    let mut block = SecretBytes::<DEK_BLOCK_LEN>::zero();
    {
        let (d, b) = block.expose_mut().split_at_mut(32);
        d.copy_from_slice(dek.expose());
        b.copy_from_slice(&bind);
    }
    let mut wrapped = [0u8; WRAPPED_DEK_LEN];
    let n = store.wrap_bytes(slot.key, slot.wrap, block.expose(), &mut wrapped)?;
    if n != WRAPPED_DEK_LEN {
        wrapped.zeroize();
        return Err(Error::Unsupported);
    }
    header
        .get_mut(OFF_WRAPPED..)
        .ok_or(Error::Unsupported)?
        .copy_from_slice(&wrapped);
    Ok(())
}

/// A dry-run census of `envelopes`: how many are under each KEK version.
pub fn census<'e, const N: usize, I>(envelopes: I) -> Census<N>
where
    I: IntoIterator<Item = &'e [u8]>,
{
    let mut c = Census::new();
    for e in envelopes {
        c.add(e);
    }
    c
}

#[cfg(feature = "alloc")]
impl<S: SymmetricKeys + ?Sized, D: KekDirectory + ?Sized, P: CryptoProvider>
    Envelopes<'_, S, D, P>
{
    /// Seals `plaintext` into a new `Vec`.
    ///
    /// # Errors
    /// As [`seal_in_place`](Self::seal_in_place).
    pub fn seal_to_vec<R: rand_core::CryptoRng + ?Sized>(
        &mut self,
        kek: KekId,
        context: &Context<'_>,
        rng: &mut R,
        plaintext: &[u8],
    ) -> Result<alloc::vec::Vec<u8>> {
        let mut out = alloc::vec![0u8; sealed_len(plaintext.len())];
        self.seal(kek, context, rng, plaintext, &mut out)?;
        Ok(out)
    }

    /// Opens `envelope` into a new `Vec`.
    ///
    /// # Errors
    /// As [`open_in_place`](Self::open_in_place).
    pub fn open_to_vec(
        &mut self,
        context: &Context<'_>,
        envelope: &[u8],
    ) -> Result<alloc::vec::Vec<u8>> {
        let info = inspect(envelope)?;
        let mut out = alloc::vec![0u8; info.payload_len];
        self.open(context, envelope, &mut out)?;
        Ok(out)
    }
}
