//! [`RustCrypto`]: the provider on the RustCrypto crates, no_std and heap-free.

use super::{CryptoProvider, GCM_NONCE_LEN, GCM_TAG_LEN};
use crate::block::AesEnc;
use crate::ec::{COMPRESSED_LEN, EcPublicKey, EcdsaSignature, UNCOMPRESSED_LEN};
use crate::error::{DecodeErrorKind, Error, Result};
use crate::secret::SecretBytes;
use aes_gcm::aead::array::Array;
use aes_gcm::aead::inout::InOutBuf;
use aes_gcm::aead::{AeadInOut, KeyInit};
#[cfg(not(feature = "small-stack"))]
use p256::ecdsa::signature::hazmat::PrehashVerifier;
use zeroize::Zeroize as _;

/// The RustCrypto provider (`p256`, `sha2`, `hmac`, `aes`, `aes-gcm`; HKDF on `hmac`): the
/// default everywhere and the provider of every device build.
///
/// Signatures use RFC 6979 nonces, so signing is deterministic. With the `small-stack`
/// feature, verification computes `u1·G + u2·Q` table-free (about 3.5 KiB less stack
/// on Cortex-M, for a slower verify; the same result for every input).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RustCrypto;

/// [`RustCrypto`]'s P-256 private key: the scalar, and its public key from the first time
/// it is asked for. Making one from a scalar costs no scalar multiplication: the flash
/// store makes one per operation from the scalar it reads, and a signature or an ECDH
/// needs no public key. The scalar is wiped on drop.
pub struct P256Key {
    secret: p256::NonZeroScalar,
    public: core::cell::OnceCell<EcPublicKey>,
}

impl P256Key {
    fn new(secret: p256::NonZeroScalar) -> Self {
        Self {
            secret,
            public: core::cell::OnceCell::new(),
        }
    }
}

impl Drop for P256Key {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.secret);
    }
}

impl core::fmt::Debug for P256Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("P256Key(..)")
    }
}

/// [`RustCrypto`]'s AES key schedule: the `aes` crate's, for the key size chosen at run
/// time (the crate wipes its round keys on drop).
pub struct AesKey(AesEnc);

impl core::fmt::Debug for AesKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("AesKey(..)")
    }
}

#[cfg(feature = "aes192")]
type Aes192Gcm = aes_gcm::AesGcm<aes::Aes192, aes_gcm::aead::consts::U12>;

/// AES-GCM encryption of `buf` (in place or in → out), returning the tag.
#[inline(never)]
fn gcm_seal(
    key: &[u8],
    nonce: &[u8; GCM_NONCE_LEN],
    aad: &[u8],
    buf: InOutBuf<'_, '_, u8>,
) -> Result<[u8; GCM_TAG_LEN]> {
    let nonce = Array::from(*nonce);
    macro_rules! go {
        ($c:ty) => {
            <$c>::new(key.try_into().map_err(|_| Error::Unsupported)?)
                .encrypt_inout_detached(&nonce, aad, buf)
                .map(Into::into)
                .map_err(|_| Error::decode(DecodeErrorKind::InvalidLength, 0))
        };
    }
    match key.len() {
        16 => go!(aes_gcm::Aes128Gcm),
        #[cfg(feature = "aes192")]
        24 => go!(Aes192Gcm),
        #[cfg(feature = "aes256")]
        32 => go!(aes_gcm::Aes256Gcm),
        #[cfg(not(feature = "aes192"))]
        24 => Err(Error::Unsupported),
        #[cfg(not(feature = "aes256"))]
        32 => Err(Error::Unsupported),
        n => Err(Error::decode(DecodeErrorKind::InvalidLength, n)),
    }
}

/// AES-GCM decryption of `buf` (in place or in → out) after checking `tag` in constant
/// time. On failure the output holds no plaintext (the tag is checked before any
/// keystream is applied).
#[inline(never)]
fn gcm_open(
    key: &[u8],
    nonce: &[u8; GCM_NONCE_LEN],
    aad: &[u8],
    buf: InOutBuf<'_, '_, u8>,
    tag: &[u8; GCM_TAG_LEN],
) -> Result<()> {
    let nonce = Array::from(*nonce);
    let tag = Array::from(*tag);
    macro_rules! go {
        ($c:ty) => {
            <$c>::new(key.try_into().map_err(|_| Error::Unsupported)?)
                .decrypt_inout_detached(&nonce, aad, buf, &tag)
                .map_err(|_| Error::Crypto)
        };
    }
    match key.len() {
        16 => go!(aes_gcm::Aes128Gcm),
        #[cfg(feature = "aes192")]
        24 => go!(Aes192Gcm),
        #[cfg(feature = "aes256")]
        32 => go!(aes_gcm::Aes256Gcm),
        #[cfg(not(feature = "aes192"))]
        24 => Err(Error::Unsupported),
        #[cfg(not(feature = "aes256"))]
        32 => Err(Error::Unsupported),
        n => Err(Error::decode(DecodeErrorKind::InvalidLength, n)),
    }
}

/// HMAC-SHA256 under `key` of `head | parts | tail`, into `out`: the one HMAC of
/// [`RustCrypto::hmac_sha256`] and [`RustCrypto::hkdf_expand`].
#[inline(never)]
fn hmac_sha256(
    key: &[u8],
    head: &[u8],
    parts: &[&[u8]],
    tail: &[u8],
    out: &mut [u8; 32],
) -> Result<()> {
    use hmac::digest::{FixedOutput as _, KeyInit as _, Update as _};
    let mut mac =
        hmac::Hmac::<sha2::Sha256>::new_from_slice(key).map_err(|_| Error::Unsupported)?;
    mac.update(head);
    for part in parts {
        mac.update(part);
    }
    mac.update(tail);
    mac.finalize_into(out.into());
    Ok(())
}

/// `input` and `output` as one in → out buffer.
fn in_out<'a>(input: &'a [u8], output: &'a mut [u8]) -> Result<InOutBuf<'a, 'a, u8>> {
    let len = output.len();
    InOutBuf::new(input, output).map_err(|_| Error::decode(DecodeErrorKind::InvalidLength, len))
}

/// [`CryptoProvider::p256_check_point`] on `p256`: both coordinates field elements, the
/// point on the curve and not the identity.
pub(super) fn check_point(xy: &[u8; 64]) -> Result<()> {
    crate::ec::p256_point(xy)
        .map(|_| ())
        .ok_or(Error::decode(DecodeErrorKind::InvalidPoint, 0))
}

impl CryptoProvider for RustCrypto {
    type P256Key = P256Key;
    type AesKey = AesKey;

    fn p256_key_from_scalar(scalar: &SecretBytes<32>) -> Result<Self::P256Key> {
        let mut bytes = p256::FieldBytes::from(*scalar.expose());
        let key = p256::NonZeroScalar::from_repr(bytes).into_option();
        zeroize::Zeroize::zeroize(bytes.as_mut_slice());
        key.map(P256Key::new).ok_or(Error::Crypto)
    }

    fn p256_generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self::P256Key {
        // The same draw as p256's `SigningKey::generate_from_rng` (committed transcripts
        // reproduce from a fixed RNG).
        P256Key::new(
            <p256::NonZeroScalar as p256::elliptic_curve::Generate>::generate_from_rng(rng),
        )
    }

    fn p256_scalar(key: &Self::P256Key) -> SecretBytes<32> {
        let mut bytes = p256::FieldBytes::from(key.secret);
        let mut out = SecretBytes::zero();
        out.expose_mut().copy_from_slice(&bytes);
        zeroize::Zeroize::zeroize(bytes.as_mut_slice());
        out
    }

    fn p256_public_key(key: &Self::P256Key) -> EcPublicKey {
        *key.public.get_or_init(|| {
            EcPublicKey::from_p256(&p256::PublicKey::from_secret_scalar(&key.secret))
        })
    }

    fn p256_sign_digest(key: &Self::P256Key, digest: &[u8; 32]) -> Result<EcdsaSignature> {
        // RFC 6979 nonces, as p256's `SigningKey::sign_prehash`, from the scalar alone.
        let (sig, _) = ecdsa::hazmat::sign_prehashed_rfc6979::<p256::NistP256, sha2::Sha256>(
            &key.secret,
            digest,
            &[],
        );
        Ok(EcdsaSignature(sig.to_bytes().into()))
    }

    fn p256_ecdh(key: &Self::P256Key, peer: &EcPublicKey) -> Result<SecretBytes<32>> {
        let peer = peer.p256_key().ok_or(Error::Crypto)?;
        let shared = p256::ecdh::diffie_hellman(key.secret, peer.as_affine());
        let mut out = SecretBytes::zero();
        out.expose_mut().copy_from_slice(shared.raw_secret_bytes());
        Ok(out)
    }

    fn p256_parse_public(sec1: &[u8]) -> Result<EcPublicKey> {
        // Only the two SEC1 forms: `from_sec1_bytes` also takes the non-standard compact
        // form `05 || x`, a second encoding of a key that X.509 does not allow.
        let sec1_form = matches!(
            (sec1.first(), sec1.len()),
            (Some(0x02 | 0x03), COMPRESSED_LEN) | (Some(0x04), UNCOMPRESSED_LEN)
        );
        if !sec1_form {
            return Err(Error::decode(DecodeErrorKind::InvalidPoint, 0));
        }
        p256::PublicKey::from_sec1_bytes(sec1)
            .map(|pk| EcPublicKey::from_p256(&pk))
            .map_err(|_| Error::decode(DecodeErrorKind::InvalidPoint, 0))
    }

    fn p256_verify_digest(
        key: &EcPublicKey,
        digest: &[u8; 32],
        sig: &EcdsaSignature,
    ) -> Result<()> {
        let sig = p256::ecdsa::Signature::from_slice(&sig.0).map_err(|_| Error::Crypto)?;
        let key = key.p256_key().ok_or(Error::Crypto)?;
        #[cfg(not(feature = "small-stack"))]
        {
            p256::ecdsa::VerifyingKey::from(key)
                .verify_prehash(digest, &sig)
                .map_err(|_| Error::Crypto)
        }
        #[cfg(feature = "small-stack")]
        {
            small_stack::verify(&key, digest, &sig)
        }
    }

    #[inline(never)]
    fn sha256(parts: &[&[u8]]) -> [u8; 32] {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        for p in parts {
            h.update(p);
        }
        h.finalize().into()
    }

    fn hmac_sha256(key: &[u8], parts: &[&[u8]], out: &mut [u8; 32]) -> Result<()> {
        hmac_sha256(key, &[], parts, &[], out)
    }

    fn hkdf_expand(prk: &[u8; 32], info: &[&[u8]], out: &mut [u8]) -> Result<()> {
        // RFC 5869 section 2.3: T(i) = HMAC-Hash(PRK, T(i - 1) | info | i), on the one
        // HMAC of `hmac_sha256` (a firmware links one HMAC for both, and for RFC 6979).
        let len = out.len();
        if len > 255 * 32 {
            return Err(Error::decode(DecodeErrorKind::InvalidLength, len));
        }
        let mut t = [0u8; 32];
        let mut result = Ok(());
        for (i, block) in (1..=255u8).zip(out.chunks_mut(32)) {
            let prev: &[u8] = if i == 1 { &[] } else { &t };
            let mut next = [0u8; 32];
            result = result.and_then(|()| hmac_sha256(prk, prev, info, &[i], &mut next));
            t = next;
            next.zeroize();
            for (b, x) in block.iter_mut().zip(&t) {
                *b = *x;
            }
        }
        t.zeroize();
        result
    }

    fn aes_gcm_seal(
        key: &[u8],
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; GCM_TAG_LEN]> {
        gcm_seal(key, nonce, aad, buf.into())
    }

    fn aes_gcm_seal_to(
        key: &[u8],
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        input: &[u8],
        output: &mut [u8],
    ) -> Result<[u8; GCM_TAG_LEN]> {
        gcm_seal(key, nonce, aad, in_out(input, output)?)
    }

    fn aes_gcm_open(
        key: &[u8],
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; GCM_TAG_LEN],
    ) -> Result<()> {
        gcm_open(key, nonce, aad, buf.into(), tag)
    }

    fn aes_gcm_open_to(
        key: &[u8],
        nonce: &[u8; GCM_NONCE_LEN],
        aad: &[u8],
        input: &[u8],
        output: &mut [u8],
        tag: &[u8; GCM_TAG_LEN],
    ) -> Result<()> {
        gcm_open(key, nonce, aad, in_out(input, output)?, tag)
    }

    fn aes_key(key: &[u8]) -> Result<Self::AesKey> {
        AesEnc::new(key).map(AesKey)
    }

    fn aes_encrypt_blocks(key: &Self::AesKey, blocks: &mut [u8]) -> Result<()> {
        if !blocks.len().is_multiple_of(16) {
            return Err(Error::decode(DecodeErrorKind::InvalidLength, blocks.len()));
        }
        for block in blocks.chunks_exact_mut(16) {
            if let Ok(block) = <&mut [u8; 16]>::try_from(block) {
                key.0.encrypt(block);
            }
        }
        Ok(())
    }
}

/// ECDSA verification (SEC 1 v2, 4.1.4) computing `u1·G + u2·Q` by plain
/// double-and-add over one table-free accumulator, instead of p256's windowed `lincomb`
/// (two lookup tables of eight projective points and inlined helpers: over 4 KiB of
/// stack). Variable time is safe here: every input of verification is public.
#[cfg(feature = "small-stack")]
mod small_stack {
    use crate::error::{Error, Result};
    use p256::elliptic_curve::PrimeField;
    use p256::elliptic_curve::group::Group;
    use p256::elliptic_curve::ops::{Invert, Reduce};
    use p256::elliptic_curve::point::AffineCoordinates;
    use p256::{FieldBytes, ProjectivePoint, PublicKey, Scalar};

    pub(super) fn verify(
        q: &PublicKey,
        digest: &[u8; 32],
        sig: &p256::ecdsa::Signature,
    ) -> Result<()> {
        // `split_scalars` yields non-zero scalars below n: the range checks of step 1.
        let (r, s) = sig.split_scalars();
        // A 32-byte digest needs no truncation for a 256-bit order (step 2).
        let z = <Scalar as Reduce<FieldBytes>>::reduce(&FieldBytes::from(*digest));
        // s is non-zero, so its inverse exists.
        let s_inv: Scalar = *s.invert();
        let u1 = (z * s_inv).to_repr();
        let u2 = (*r * s_inv).to_repr();
        let point = double_and_add(&q.to_projective(), &u1, &u2);
        // The identity's `to_affine` is the all-zero point, whose x (0) never equals a
        // non-zero r.
        let x = point.to_affine().x();
        if <Scalar as Reduce<FieldBytes>>::reduce(&x) == *r {
            Ok(())
        } else {
            Err(Error::Crypto)
        }
    }

    /// `u1·G + u2·Q` (Shamir's trick without tables): one doubling per bit, an addition
    /// per set bit of each scalar, `G + Q` precomputed for bits set in both.
    #[inline(never)]
    fn double_and_add(q: &ProjectivePoint, u1: &FieldBytes, u2: &FieldBytes) -> ProjectivePoint {
        let g = ProjectivePoint::GENERATOR;
        let gq = g + q;
        let mut acc = ProjectivePoint::IDENTITY;
        for (b1, b2) in u1.iter().zip(u2.iter()) {
            for bit in (0..8).rev() {
                acc = acc.double();
                match ((b1 >> bit) & 1, (b2 >> bit) & 1) {
                    (1, 1) => acc += gq,
                    (1, 0) => acc += g,
                    (0, 1) => acc += q,
                    _ => {}
                }
            }
        }
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// HKDF-Expand on the one HMAC equals the hkdf crate's for every length over 0 to 9
    /// blocks and split or empty info, and refuses more than 255 blocks.
    #[test]
    fn hkdf_expand_is_the_hkdf_crate_s() {
        let prk = [0x42; 32];
        let reference = hkdf::Hkdf::<sha2::Sha256>::from_prk(&prk).unwrap();
        for len in 0..=9 * 32 + 1 {
            let mut ours = [0u8; 9 * 32 + 1];
            let mut theirs = [0u8; 9 * 32 + 1];
            RustCrypto::hkdf_expand(&prk, &[b"in", b"", b"fo"], &mut ours[..len]).unwrap();
            reference.expand(b"info", &mut theirs[..len]).unwrap();
            assert_eq!(ours, theirs, "L = {len}");
            RustCrypto::hkdf_expand(&prk, &[], &mut ours[..len]).unwrap();
            reference.expand(b"", &mut theirs[..len]).unwrap();
            assert_eq!(ours, theirs, "L = {len}, no info");
        }
        let mut max = [0u8; 255 * 32 + 1];
        RustCrypto::hkdf_expand(&prk, &[b"x"], &mut max[..255 * 32]).unwrap();
        let mut theirs = [0u8; 255 * 32];
        reference.expand(b"x", &mut theirs).unwrap();
        assert_eq!(max[..255 * 32], theirs);
        assert_eq!(
            RustCrypto::hkdf_expand(&prk, &[b"x"], &mut max),
            Err(Error::decode(DecodeErrorKind::InvalidLength, 255 * 32 + 1))
        );
    }

    /// A key made from a scalar, as the flash store makes one for every signature and
    /// ECDH, computes no public key until asked: each of those operations costs one scalar
    /// multiplication, not two (issue #21 measured 19.3 M instructions for a flash-store
    /// signature against 9.9 M for the raw one). Asked, it computes it once.
    #[test]
    fn a_key_from_a_scalar_computes_its_public_key_only_when_asked() {
        let key = RustCrypto::p256_key_from_scalar(&SecretBytes::new([7; 32])).unwrap();
        let peer = RustCrypto::p256_public_key(
            &RustCrypto::p256_key_from_scalar(&SecretBytes::new([9; 32])).unwrap(),
        );
        RustCrypto::p256_sign_digest(&key, &[1; 32]).unwrap();
        RustCrypto::p256_ecdh(&key, &peer).unwrap();
        assert!(key.public.get().is_none(), "signing or ECDH computed d·G");
        let public = RustCrypto::p256_public_key(&key);
        assert_eq!(key.public.get(), Some(&public));
        assert_eq!(
            public,
            EcPublicKey::from_p256(&p256::PublicKey::from_secret_scalar(&key.secret))
        );
    }
}
