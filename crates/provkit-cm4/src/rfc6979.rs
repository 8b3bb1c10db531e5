//! RFC 6979 nonces for P-256 with SHA-256 (section 3.2), on the provider's one
//! HMAC-SHA256 ([`RustCrypto::hmac_sha256`], which HKDF and the handshake use too), so
//! that a firmware links no second HMAC, no HMAC-DRBG of the `rfc6979` crate and no
//! big-integer code for the nonce: about 1.5 KiB less flash on a Cortex-M4.
//!
//! The candidates are the `rfc6979` crate's (as RustCrypto's `ecdsa` draws them), so
//! signatures are identical on both providers; the tests compare the two on random keys
//! and digests.

use provkit::error::Result;
use provkit::provider::{CryptoProvider, RustCrypto};
use zeroize::Zeroize;

/// The order n of the P-256 group, big-endian.
const ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
];

/// `a - n` (mod 2^256) for a 32-byte big-endian `a`, and whether it borrowed (`a < n`).
/// Constant time: one pass over every byte, no branch on the value.
fn sub_order(a: &[u8; 32]) -> ([u8; 32], bool) {
    let mut out = [0u8; 32];
    let mut borrow = 0u16;
    for ((o, x), n) in out.iter_mut().zip(a).zip(&ORDER).rev() {
        let d = 0x100 + u16::from(*x) - u16::from(*n) - borrow;
        *o = d.to_le_bytes()[0];
        borrow = 1 - (d >> 8);
    }
    (out, borrow == 1)
}

/// Whether the candidate `k` is in `[1, n - 1]`, in constant time (the RFC's step h.3).
fn in_range(k: &[u8; 32]) -> bool {
    let (mut diff, below_n) = sub_order(k);
    diff.zeroize();
    let nonzero = k.iter().fold(0u8, |acc, b| acc | b) != 0;
    below_n & nonzero
}

/// `bits2octets(h1)`: the digest reduced mod n. A 256-bit digest is below 2n, so one
/// conditional subtraction does, chosen without a branch.
fn reduce(digest: &[u8; 32]) -> [u8; 32] {
    let (diff, below_n) = sub_order(digest);
    let keep = 0u8.wrapping_sub(u8::from(below_n));
    let mut out = [0u8; 32];
    for ((o, d), s) in out.iter_mut().zip(digest).zip(&diff) {
        *o = (d & keep) | (s & !keep);
    }
    out
}

/// The HMAC-DRBG of RFC 6979 section 3.2 for one signature: `K` and `V` after step g,
/// then one candidate `k` per [`next`](Self::next). Wiped on drop.
pub(crate) struct Nonces {
    k: [u8; 32],
    v: [u8; 32],
    /// Whether a candidate has been handed out: the next one first updates `K` and `V`
    /// (step h.3's "otherwise" branch).
    drawn: bool,
}

impl Drop for Nonces {
    fn drop(&mut self) {
        self.k.zeroize();
        self.v.zeroize();
    }
}

/// `out = HMAC_key(parts)` on the provider's HMAC-SHA256.
fn hmac(key: &[u8; 32], parts: &[&[u8]], out: &mut [u8; 32]) -> Result<()> {
    RustCrypto::hmac_sha256(key, parts, out)
}

impl Nonces {
    /// Steps b to g for the private scalar `x` (big-endian, in `[1, n - 1]`) and the
    /// message digest `h1`, with no additional data.
    pub(crate) fn new(x: &[u8; 32], digest: &[u8; 32]) -> Result<Self> {
        let h = reduce(digest);
        let mut drbg = Self {
            k: [0; 32],
            // From a constant (through `black_box`, which LLVM would otherwise turn into
            // a `memset` call and link a 220-byte `__aeabi_memset` for it).
            v: *core::hint::black_box(&[1; 32]),
            drawn: false,
        };
        drbg.update(Some([x, &h]))?;
        Ok(drbg)
    }

    /// `K = HMAC_K(V || 00 || seed)`, `V = HMAC_K(V)`, and with a seed once more with
    /// `01` (steps d to g); without one, the first pair alone (step h.3).
    fn update(&mut self, seed: Option<[&[u8]; 2]>) -> Result<()> {
        let [a, b] = seed.unwrap_or([&[], &[]]);
        let tags: &[u8] = if seed.is_some() { &[0, 1] } else { &[0] };
        let mut t = [0u8; 32];
        let mut result = Ok(());
        for tag in tags {
            result = result
                .and_then(|()| hmac(&self.k, &[&self.v, &[*tag], a, b], &mut t))
                .map(|()| self.k.copy_from_slice(&t))
                .and_then(|()| hmac(&self.k, &[&self.v], &mut t))
                .map(|()| self.v.copy_from_slice(&t));
        }
        t.zeroize();
        result
    }

    /// The next candidate `k` in `[1, n - 1]`, big-endian (step h). Call again for the
    /// next candidate when this one gives `r = 0` or `s = 0`.
    pub(crate) fn next(&mut self, k: &mut [u8; 32]) -> Result<()> {
        loop {
            if self.drawn {
                self.update(None)?;
            }
            let mut t = [0u8; 32];
            let drawn = hmac(&self.k, &[&self.v], &mut t);
            self.v.copy_from_slice(&t);
            t.zeroize();
            drawn?;
            self.drawn = true;
            // qlen = hlen = 256: T is one block, and bits2int(T) is T itself.
            if in_range(&self.v) {
                k.copy_from_slice(&self.v);
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rfc6979::bigint::U256;

    const N: U256 =
        U256::from_be_hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");

    fn unhex<const L: usize>(s: &str) -> [u8; L] {
        let mut out = [0u8; L];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    /// The first `count` candidates of the `rfc6979` crate and of [`Nonces`].
    fn both(x: &[u8; 32], digest: &[u8; 32], count: usize) {
        let mut theirs = rfc6979::KGenerator::<sha2::Sha256, U256>::new(x, digest, &[], &N);
        let mut ours = Nonces::new(x, digest).unwrap();
        for i in 0..count {
            let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
            theirs.fill_next_k(&mut a);
            ours.next(&mut b).unwrap();
            assert_eq!(a, b, "candidate {i} for x {x:02x?}, digest {digest:02x?}");
        }
    }

    #[test]
    fn rfc_6979_a_2_5() {
        let x = unhex::<32>("c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721");
        for (msg, k) in [
            (
                &b"sample"[..],
                "a6e3c57dd01abe90086538398355dd4c3b17aa873382b0f24d6129493d8aad60",
            ),
            (
                &b"test"[..],
                "d16b6ae827f17175e040871a1c7ec3500192c4c92677336ec2537acaee0008e0",
            ),
        ] {
            let digest = RustCrypto::sha256(&[msg]);
            let mut got = [0u8; 32];
            Nonces::new(&x, &digest).unwrap().next(&mut got).unwrap();
            assert_eq!(got, unhex::<32>(k));
            both(&x, &digest, 3);
        }
    }

    /// Random keys and digests, and digests at and above n (reduced before use), each
    /// for three candidates: the later ones are what a signature with r or s = 0 takes.
    #[test]
    fn the_rfc6979_crate_s_candidates() {
        let mut state = [0x5au8; 32];
        let mut next = || {
            state = RustCrypto::sha256(&[&state]);
            state
        };
        for _ in 0..200 {
            let (mut x, digest) = (next(), next());
            x[0] &= 0x7f;
            both(&x, &digest, 3);
        }
        let x = next();
        let mut n_plus = ORDER;
        n_plus[31] += 1;
        let mut n_minus = ORDER;
        n_minus[31] -= 1;
        for digest in [ORDER, n_plus, n_minus, [0xff; 32], [0; 32], [1; 32]] {
            both(&[1; 32], &digest, 2);
            both(&x, &digest, 2);
        }
    }

    #[test]
    fn range_and_reduction() {
        let one = {
            let mut b = [0u8; 32];
            b[31] = 1;
            b
        };
        let mut n_minus = ORDER;
        n_minus[31] -= 1;
        let mut n_plus = ORDER;
        n_plus[31] += 1;
        assert!(!in_range(&[0; 32]));
        assert!(in_range(&one));
        assert!(in_range(&n_minus));
        assert!(!in_range(&ORDER));
        assert!(!in_range(&n_plus));
        assert!(!in_range(&[0xff; 32]));
        assert_eq!(reduce(&ORDER), [0; 32]);
        assert_eq!(reduce(&n_plus), one);
        assert_eq!(reduce(&n_minus), n_minus);
        assert_eq!(reduce(&one), one);
    }
}
