//! ECDH P-256 keys on AWS-LC's `EC_KEY`, made from the caller's scalar with one
//! base-point multiplication.
//!
//! provkit draws every key from the caller's RNG (sans-IO), so a key is made from a
//! scalar. aws-lc-rs's `agreement::PrivateKey::from_private_key` computes the public
//! point and then validates the key pair, which multiplies the base point a second time:
//! an ephemeral key cost twice what AWS-LC's own key generation costs (the handshake
//! makes one per side). Here the public point is computed once, by the same constant-time
//! `EC_POINT_mul` on the base point, and the pair needs no check: nothing but that
//! multiplication made it. The agreement is AWS-LC's `ECDH_compute_key`, on a peer point
//! that `EC_POINT_oct2point` checks is on the curve.

use aws_lc_sys::{
    BIGNUM, BN_bin2bn, BN_clear_free, EC_GROUP, EC_KEY, EC_KEY_free, EC_KEY_new, EC_KEY_set_group,
    EC_KEY_set_private_key, EC_KEY_set_public_key, EC_POINT, EC_POINT_free, EC_POINT_mul,
    EC_POINT_new, EC_POINT_oct2point, EC_POINT_point2oct, EC_group_p256, ECDH_compute_key,
    point_conversion_form_t,
};
use core::ptr::{NonNull, null, null_mut};
use provkit::ec::UNCOMPRESSED_LEN;
use provkit::secret::SecretBytes;
use zeroize::Zeroize;

/// An ECDH P-256 private key (an `EC_KEY` with its public point set).
pub(crate) struct EcdhKey(NonNull<EC_KEY>);

// SAFETY: the `EC_KEY` is owned by this value alone, and after `from_scalar` returns it is
// only read (`ECDH_compute_key` takes it as `const`), which AWS-LC allows from several
// threads at once.
unsafe impl Send for EcdhKey {}
// SAFETY: as for `Send`: no method mutates the key.
unsafe impl Sync for EcdhKey {}

impl Drop for EcdhKey {
    fn drop(&mut self) {
        // SAFETY: the pointer came from `EC_KEY_new` and is freed once, here. AWS-LC's
        // `OPENSSL_free` wipes the private scalar before releasing it.
        unsafe { EC_KEY_free(self.0.as_ptr()) }
    }
}

/// An owned `BIGNUM` holding a private scalar, wiped when dropped.
struct Scalar(NonNull<BIGNUM>);

impl Drop for Scalar {
    fn drop(&mut self) {
        // SAFETY: from `BN_bin2bn`, freed once; `BN_clear_free` wipes it first.
        unsafe { BN_clear_free(self.0.as_ptr()) }
    }
}

/// An owned `EC_POINT` on P-256.
struct Point(NonNull<EC_POINT>);

impl Point {
    fn new(group: *const EC_GROUP) -> Option<Self> {
        // SAFETY: `group` is AWS-LC's static P-256 group.
        NonNull::new(unsafe { EC_POINT_new(group) }).map(Self)
    }
}

impl Drop for Point {
    fn drop(&mut self) {
        // SAFETY: from `EC_POINT_new`, freed once.
        unsafe { EC_POINT_free(self.0.as_ptr()) }
    }
}

/// AWS-LC's P-256 group: a static, never freed.
fn p256() -> *const EC_GROUP {
    // SAFETY: no arguments; returns a pointer to a static group.
    unsafe { EC_group_p256() }
}

impl EcdhKey {
    /// The key for the big-endian `scalar` and its public point (SEC1 uncompressed), or
    /// `None` when `scalar` is zero or not below the group order.
    pub(crate) fn from_scalar(scalar: &[u8; 32]) -> Option<(Self, [u8; UNCOMPRESSED_LEN])> {
        let group = p256();
        // SAFETY: each pointer passed below is either AWS-LC's static group or an object
        // created here, checked non-null and owned by a guard that frees it; buffers are
        // passed with their exact lengths.
        unsafe {
            let key = Self(NonNull::new(EC_KEY_new())?);
            if EC_KEY_set_group(key.0.as_ptr(), group) != 1 {
                return None;
            }
            let bn = Scalar(NonNull::new(BN_bin2bn(
                scalar.as_ptr(),
                scalar.len(),
                null_mut(),
            ))?);
            // Refuses zero and values at or above the order.
            if EC_KEY_set_private_key(key.0.as_ptr(), bn.0.as_ptr()) != 1 {
                return None;
            }
            let point = Point::new(group)?;
            let base_times_scalar = EC_POINT_mul(
                group,
                point.0.as_ptr(),
                bn.0.as_ptr(),
                null(),
                null(),
                null_mut(),
            );
            if base_times_scalar != 1
                || EC_KEY_set_public_key(key.0.as_ptr(), point.0.as_ptr()) != 1
            {
                return None;
            }
            let mut public = [0u8; UNCOMPRESSED_LEN];
            let written = EC_POINT_point2oct(
                group,
                point.0.as_ptr(),
                point_conversion_form_t::POINT_CONVERSION_UNCOMPRESSED,
                public.as_mut_ptr(),
                public.len(),
                null_mut(),
            );
            (written == UNCOMPRESSED_LEN).then_some((key, public))
        }
    }

    /// The shared secret (the x coordinate of scalar · peer) with the SEC1 uncompressed
    /// point `peer`, or `None` when `peer` is not a point of the curve.
    pub(crate) fn agree(&self, peer: &[u8; UNCOMPRESSED_LEN]) -> Option<SecretBytes<32>> {
        // `EC_POINT_oct2point` also takes X9.62's hybrid form (06/07): one encoding only.
        if peer.first() != Some(&0x04) {
            return None;
        }
        let group = p256();
        let point = Point::new(group)?;
        let mut shared = [0u8; 32];
        // SAFETY: `point` and `self.0` are live objects owned by guards; `peer` and
        // `shared` are passed with their exact lengths; no KDF callback.
        let written = unsafe {
            if EC_POINT_oct2point(
                group,
                point.0.as_ptr(),
                peer.as_ptr(),
                peer.len(),
                null_mut(),
            ) != 1
            {
                return None;
            }
            ECDH_compute_key(
                shared.as_mut_ptr().cast(),
                shared.len(),
                point.0.as_ptr(),
                self.0.as_ptr(),
                None,
            )
        };
        let out = (usize::try_from(written) == Ok(shared.len())).then(|| SecretBytes::new(shared));
        shared.zeroize();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::EcdhKey;
    use provkit::provider::{CryptoProvider, RustCrypto};
    use provkit::secret::SecretBytes;

    /// The group order n, big-endian.
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
        0x25, 0x51,
    ];

    #[test]
    fn keys_and_secrets_match_p256() {
        let mut n_minus_1 = N;
        n_minus_1[31] -= 1;
        let mut one = [0u8; 32];
        one[31] = 1;
        for scalar in [one, n_minus_1, [0x5a; 32]] {
            let (key, public) = EcdhKey::from_scalar(&scalar).expect("a valid scalar");
            let reference = RustCrypto::p256_key_from_scalar(&SecretBytes::new(scalar)).unwrap();
            let reference_public = RustCrypto::p256_public_key(&reference);
            assert_eq!(public, reference_public.to_uncompressed(), "d·G");
            // Agreement with itself: d·(d·G), as p256 computes it.
            let shared = key.agree(&public).expect("a curve point");
            let expected = RustCrypto::p256_ecdh(&reference, &reference_public).unwrap();
            assert_eq!(shared.dangerous_expose(), expected.dangerous_expose());
        }
    }

    #[test]
    fn refuses_out_of_range_scalars_and_off_curve_peers() {
        let mut above = N;
        above[31] += 1;
        for bad in [[0u8; 32], N, above, [0xff; 32]] {
            assert!(EcdhKey::from_scalar(&bad).is_none(), "{bad:02x?}");
        }
        let (key, mut public) = EcdhKey::from_scalar(&[7; 32]).unwrap();
        public[64] ^= 1;
        assert!(key.agree(&public).is_none(), "a point off the curve");
        let mut hybrid = public;
        hybrid[64] ^= 1;
        hybrid[0] = 0x07;
        assert!(key.agree(&hybrid).is_none(), "not the uncompressed form");
    }
}
