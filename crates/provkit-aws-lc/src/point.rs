//! P-256 point decompression and the on-curve check, on fiat-crypto's P-256 field.
//!
//! Every handshake side decompresses two peer points (the ephemeral key and the
//! certificate's key). aws-lc-rs can parse a compressed point but never hands its
//! coordinates back, and AWS-LC's own decompression runs on its generic bignum square
//! root; `p256`'s runs on `crypto-bigint`'s generic Montgomery arithmetic. fiat-crypto's
//! `p256_64` is the formally verified field code specialised to p (the one BoringSSL and
//! AWS-LC build from), and a square root there costs a third of `p256`'s
//! (`cargo bench -p provkit-aws-lc --bench point`).
//!
//! The inputs are public keys, yet the field operations are fiat's constant-time ones;
//! only the final accept/refuse decisions branch.

use fiat_crypto::p256_64::{
    fiat_p256_add, fiat_p256_from_bytes, fiat_p256_from_montgomery,
    fiat_p256_montgomery_domain_field_element, fiat_p256_mul,
    fiat_p256_non_montgomery_domain_field_element, fiat_p256_opp, fiat_p256_square, fiat_p256_sub,
    fiat_p256_to_bytes, fiat_p256_to_montgomery,
};

/// A field element in fiat's Montgomery domain.
type Fe = fiat_p256_montgomery_domain_field_element;

/// The field prime p, big-endian.
const P: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
];

/// The curve's b, big-endian.
const B: [u8; 32] = [
    0x5a, 0xc6, 0x35, 0xd8, 0xaa, 0x3a, 0x93, 0xe7, 0xb3, 0xeb, 0xbd, 0x55, 0x76, 0x98, 0x86, 0xbc,
    0x65, 0x1d, 0x06, 0xb0, 0xcc, 0x53, 0xb0, 0xf6, 0x3b, 0xce, 0x3c, 0x3e, 0x27, 0xd2, 0x60, 0x4b,
];

/// b in the Montgomery domain, converted at compile time (fiat's functions are `const`).
const B_MONTGOMERY: Fe = {
    let mut le = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        le[i] = B[31 - i];
        i += 1;
    }
    let mut limbs = fiat_p256_non_montgomery_domain_field_element([0; 4]);
    fiat_p256_from_bytes(&mut limbs.0, &le);
    let mut fe = fiat_p256_montgomery_domain_field_element([0; 4]);
    fiat_p256_to_montgomery(&mut fe, &limbs);
    fe
};

/// Reads a big-endian coordinate; `None` unless it is below p.
fn from_be(be: &[u8; 32]) -> Option<Fe> {
    // Big-endian byte strings of equal length compare as the numbers do.
    if be >= &P {
        return None;
    }
    let mut le = *be;
    le.reverse();
    let mut limbs = fiat_p256_non_montgomery_domain_field_element([0; 4]);
    fiat_p256_from_bytes(&mut limbs.0, &le);
    let mut fe = fiat_p256_montgomery_domain_field_element([0; 4]);
    fiat_p256_to_montgomery(&mut fe, &limbs);
    Some(fe)
}

/// The canonical big-endian bytes of `fe`.
fn to_be(fe: &Fe) -> [u8; 32] {
    let mut limbs = fiat_p256_non_montgomery_domain_field_element([0; 4]);
    fiat_p256_from_montgomery(&mut limbs, fe);
    let mut be = [0u8; 32];
    fiat_p256_to_bytes(&mut be, &limbs.0);
    be.reverse();
    be
}

fn mul(a: &Fe, b: &Fe) -> Fe {
    let mut out = fiat_p256_montgomery_domain_field_element([0; 4]);
    fiat_p256_mul(&mut out, a, b);
    out
}

fn sub(a: &Fe, b: &Fe) -> Fe {
    let mut out = fiat_p256_montgomery_domain_field_element([0; 4]);
    fiat_p256_sub(&mut out, a, b);
    out
}

/// `a` squared `n` times: a^(2^n).
fn sqn(a: &Fe, n: usize) -> Fe {
    let mut out = *a;
    for _ in 0..n {
        let x = out;
        fiat_p256_square(&mut out, &x);
    }
    out
}

/// The right-hand side of the curve equation, x³ - 3x + b.
fn curve_rhs(x: &Fe) -> Fe {
    let x3 = mul(&sqn(x, 1), x);
    let mut rhs = fiat_p256_montgomery_domain_field_element([0; 4]);
    fiat_p256_add(&mut rhs, &sub(&sub(&sub(&x3, x), x), x), &B_MONTGOMERY);
    rhs
}

/// A candidate square root of `a`: a^((p + 1) / 4), since p ≡ 3 (mod 4). It is a root
/// only if its square is `a` (the caller checks). The same addition chain as `p256`'s:
/// (p + 1) / 4 = 2^254 - 2^222 + 2^190 + 2^94.
fn sqrt_candidate(a: &Fe) -> Fe {
    let t11 = mul(a, &sqn(a, 1));
    let t1111 = mul(&t11, &sqn(&t11, 2));
    let t8 = mul(&t1111, &sqn(&t1111, 4));
    let t16 = mul(&sqn(&t8, 8), &t8);
    let t32 = mul(&sqn(&t16, 16), &t16);
    let t = mul(&sqn(&t32, 32), a);
    let t = mul(&sqn(&t, 96), a);
    sqn(&t, 94)
}

/// The affine point `x || y` (big-endian) with this `x` and the parity of `y`, or `None`
/// when `x` is not below p or x³ - 3x + b has no square root (no point has this x).
pub(crate) fn decompress(x_be: &[u8; 32], y_is_odd: bool) -> Option<[u8; 64]> {
    let x = from_be(x_be)?;
    let rhs = curve_rhs(&x);
    let y = sqrt_candidate(&rhs);
    // fiat's outputs are fully reduced, so equal elements have equal limbs.
    if sqn(&y, 1).0 != rhs.0 {
        return None;
    }
    let mut y_be = to_be(&y);
    if (y_be[31] & 1 == 1) != y_is_odd {
        // p - y has the other parity (p is odd, and y = 0 has no curve point: the group's
        // order is prime, so no point has y = 0).
        let mut minus_y = fiat_p256_montgomery_domain_field_element([0; 4]);
        fiat_p256_opp(&mut minus_y, &y);
        y_be = to_be(&minus_y);
    }
    let mut xy = [0u8; 64];
    xy[..32].copy_from_slice(x_be);
    xy[32..].copy_from_slice(&y_be);
    Some(xy)
}

/// Whether `x || y` (big-endian) is an affine point of the curve: both coordinates below
/// p and y² = x³ - 3x + b.
pub(crate) fn is_on_curve(xy: &[u8; 64]) -> bool {
    let (Some(x), Some(y)) = (xy.first_chunk::<32>(), xy.last_chunk::<32>()) else {
        return false;
    };
    let (Some(x), Some(y)) = (from_be(x), from_be(y)) else {
        return false;
    };
    sqn(&y, 1).0 == curve_rhs(&x).0
}

#[cfg(test)]
mod tests {
    use super::{P, decompress, is_on_curve};
    use provkit::provider::{CryptoProvider, RustCrypto};
    use provkit::testing::InsecureTestRng;
    use rand_core::Rng;

    /// `p256`'s answer for the compressed point `tag || x`.
    fn reference(x: &[u8; 32], odd: bool) -> Option<[u8; 64]> {
        let mut sec1 = [if odd { 0x03 } else { 0x02 }; 33];
        sec1[1..].copy_from_slice(x);
        let key = RustCrypto::p256_parse_public(&sec1).ok()?;
        key.to_uncompressed()[1..].try_into().ok()
    }

    #[test]
    fn decompression_agrees_with_p256_on_random_x() {
        // About half of all x have a point; both answers must match either way.
        let mut rng = InsecureTestRng::new(9);
        let (mut points, mut none) = (0, 0);
        for round in 0..2000 {
            let mut x = [0u8; 32];
            rng.fill_bytes(&mut x);
            let odd = round % 2 == 1;
            let ours = decompress(&x, odd);
            assert_eq!(ours, reference(&x, odd), "x = {x:02x?}");
            match ours {
                Some(xy) => {
                    points += 1;
                    assert!(is_on_curve(&xy));
                    assert_eq!(xy[63] & 1 == 1, odd, "the parity asked for");
                }
                None => none += 1,
            }
        }
        assert!(
            points > 800 && none > 800,
            "{points} points, {none} refused"
        );
    }

    #[test]
    fn edge_coordinates() {
        let mut p_minus_1 = P;
        p_minus_1[31] -= 1;
        let mut max = [0xff; 32];
        let cases = [[0u8; 32], [1; 32], P, p_minus_1, max];
        for x in cases {
            for odd in [false, true] {
                assert_eq!(decompress(&x, odd), reference(&x, odd), "x = {x:02x?}");
            }
        }
        // x = p and above are not field elements, even where x - p would have a point.
        max[31] = 0xfe;
        assert_eq!(decompress(&P, false), None);
        assert_eq!(decompress(&max, true), None);
        // The generator, both ways, and a key's point off by one in y.
        let g =
            RustCrypto::p256_public_key(&RustCrypto::p256_generate(&mut InsecureTestRng::new(1)));
        let xy: [u8; 64] = g.to_uncompressed()[1..].try_into().unwrap();
        assert_eq!(decompress(&g.x(), g.y_is_odd()), Some(xy));
        assert!(is_on_curve(&xy));
        let mut off = xy;
        off[63] ^= 1;
        assert!(!is_on_curve(&off));
        let mut y_is_p = xy;
        y_is_p[32..].copy_from_slice(&P);
        assert!(!is_on_curve(&y_is_p));
    }
}
