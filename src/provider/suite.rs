//! A conformance suite that any [`CryptoProvider`] runs against itself: known answers from
//! the standards, and every operation checked against [`RustCrypto`] on random inputs,
//! in both directions (keys, signatures and ciphertexts made by one provider are used by
//! the other, as a device on RustCrypto and a server on another provider do).
//!
//! Each function panics with a message naming the broken obligation. Call them from a
//! test:
//!
//! ```
//! use provkit::provider::{RustCrypto, suite};
//! suite::all::<RustCrypto>(64);
//! ```
//!
//! Vector files too large to embed (Wycheproof ECDSA, AES-GCM, HKDF) are run on each
//! provider by the provider's own tests (`tests/provider_suite.rs` here,
//! `crates/provkit-aws-lc/tests/` for aws-lc-rs).

#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::missing_panics_doc,
    clippy::indexing_slicing,
    clippy::cast_possible_truncation
)]

use super::{CryptoProvider, RustCrypto};
use crate::ec::{EcPublicKey, EcdsaSignature};
use crate::error::{DecodeErrorKind, Error};
use crate::secret::SecretBytes;
use crate::testing::InsecureTestRng;
use rand_core::Rng;

/// Runs every part of the suite; `rounds` random cases per differential check.
pub fn all<P: CryptoProvider>(rounds: usize) {
    known_answers::<P>();
    p256_against_rustcrypto::<P>(rounds);
    symmetric_against_rustcrypto::<P>(rounds);
    errors::<P>();
}

fn unhex<const N: usize>(s: &str) -> [u8; N] {
    let mut out = [0u8; N];
    assert_eq!(s.len(), 2 * N, "vector length");
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

/// Answers fixed by the standards: FIPS 197 (AES), FIPS 180 (SHA-256), RFC 4231 (HMAC),
/// RFC 5869 (HKDF), the GCM specification's test case 4, RFC 6979 A.2.5 (P-256 key and
/// ECDSA signature, verified; a provider with random nonces need not reproduce it).
pub fn known_answers<P: CryptoProvider>() {
    // FIPS 197 C.1–C.3.
    let pt: [u8; 16] = unhex("00112233445566778899aabbccddeeff");
    for (key, ct) in [
        (
            &unhex::<16>("000102030405060708090a0b0c0d0e0f")[..],
            "69c4e0d86a7b0430d8cdb78070b4c55a",
        ),
        (
            &unhex::<24>("000102030405060708090a0b0c0d0e0f1011121314151617")[..],
            "dda97ca4864cdfe06eaf70a0ec0d7191",
        ),
        (
            &unhex::<32>("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")[..],
            "8ea2b7ca516745bfeafc49904b496089",
        ),
    ] {
        let Ok(k) = P::aes_key(key) else {
            // A size the build leaves out (features aes192/aes256).
            continue;
        };
        let mut two = [0u8; 32];
        two[..16].copy_from_slice(&pt);
        two[16..].copy_from_slice(&pt);
        P::aes_encrypt_blocks(&k, &mut two).unwrap();
        assert_eq!(two[..16], unhex::<16>(ct), "AES-{} FIPS 197", key.len() * 8);
        assert_eq!(two[16..], unhex::<16>(ct), "AES ECB: each block alone");
    }
    // FIPS 180-2 B.1, in two parts.
    assert_eq!(
        P::sha256(&[b"a", b"bc"]),
        unhex::<32>("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        "SHA-256(abc)"
    );
    // RFC 4231 test case 2.
    let mut mac = [0u8; 32];
    P::hmac_sha256(b"Jefe", &[b"what do ya want ", b"for nothing?"], &mut mac).unwrap();
    assert_eq!(
        mac,
        unhex::<32>("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
        "HMAC-SHA256 RFC 4231 case 2"
    );
    // RFC 5869 A.1.
    let mut prk = [0u8; 32];
    P::hmac_sha256(
        &unhex::<13>("000102030405060708090a0b0c"),
        &[&[0x0b; 22]],
        &mut prk,
    )
    .unwrap();
    assert_eq!(
        prk,
        unhex::<32>("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5"),
        "HKDF-Extract RFC 5869 A.1"
    );
    let mut okm = [0u8; 42];
    P::hkdf_expand(
        &prk,
        &[&unhex::<4>("f0f1f2f3"), &unhex::<6>("f4f5f6f7f8f9")],
        &mut okm,
    )
    .unwrap();
    assert_eq!(
        okm[..32],
        unhex::<32>("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"),
        "HKDF-Expand RFC 5869 A.1"
    );
    assert_eq!(
        okm[32..],
        unhex::<10>("34007208d5b887185865"),
        "HKDF-Expand RFC 5869 A.1"
    );
    // GCM specification (McGrew–Viega) test case 4: AES-128, 60-byte message, 20-byte AAD.
    let key: [u8; 16] = unhex("feffe9928665731c6d6a8f9467308308");
    let nonce: [u8; 12] = unhex("cafebabefacedbaddecaf888");
    let aad: [u8; 20] = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
    let msg: [u8; 60] = unhex(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
    );
    let ct: [u8; 60] = unhex(
        "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091",
    );
    let mut buf = msg;
    let tag = P::aes_gcm_seal(&key, &nonce, &aad, &mut buf).unwrap();
    assert_eq!(
        (buf, tag),
        (ct, unhex("5bc94fbc3221a5db94fae95ae7121a47")),
        "GCM case 4"
    );
    P::aes_gcm_open(&key, &nonce, &aad, &mut buf, &tag).unwrap();
    assert_eq!(buf, msg, "GCM case 4 open");
    // RFC 6979 A.2.5: the key pair, and the SHA-256 signature of "sample" verifies.
    let x = SecretBytes::new(unhex::<32>(
        "c9afa9d845ba75166b5c215767b1d6934e50c3db36e89b127b8a622b120f6721",
    ));
    let key = P::p256_key_from_scalar(&x).unwrap();
    let public = P::p256_public_key(&key);
    assert_eq!(
        public.to_uncompressed()[1..],
        unhex::<64>(concat!(
            "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6",
            "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299"
        )),
        "RFC 6979 A.2.5 public key"
    );
    let digest = P::sha256(&[b"sample"]);
    let sig = EcdsaSignature(unhex(
        "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8",
    ));
    P::p256_verify_digest(&public, &digest, &sig).expect("RFC 6979 A.2.5 signature");
    // Its low-S twin verifies too (callers that need one encoding check it).
    P::p256_verify_digest(&public, &digest, &sig.normalize_s()).expect("low-S twin");
}

/// P-256 against [`RustCrypto`], both ways: the same public key from a scalar; the same
/// ECDH secret whichever provider holds which key; each provider's signatures verify on
/// the other and fail there when altered; both parse and refuse the same points.
pub fn p256_against_rustcrypto<P: CryptoProvider>(rounds: usize) {
    let mut rng = InsecureTestRng::new(0x5043_5032);
    for round in 0..rounds {
        let a = P::p256_generate(&mut rng);
        let b = RustCrypto::p256_generate(&mut rng);
        let (pa, pb) = (P::p256_public_key(&a), RustCrypto::p256_public_key(&b));
        let a_again = RustCrypto::p256_key_from_scalar(&P::p256_scalar(&a)).unwrap();
        assert_eq!(
            RustCrypto::p256_public_key(&a_again),
            pa,
            "public key of a scalar"
        );
        let b_again = P::p256_key_from_scalar(&RustCrypto::p256_scalar(&b)).unwrap();
        assert_eq!(P::p256_public_key(&b_again), pb, "public key of a scalar");
        let ab = P::p256_ecdh(&a, &pb).unwrap();
        let ba = RustCrypto::p256_ecdh(&b, &pa).unwrap();
        assert_eq!(
            ab.expose(),
            ba.expose(),
            "ECDH across providers (round {round})"
        );

        let mut digest = [0u8; 32];
        rng.fill_bytes(&mut digest);
        let sa = P::p256_sign_digest(&a, &digest).unwrap();
        RustCrypto::p256_verify_digest(&pa, &digest, &sa).expect("P's signature on RustCrypto");
        P::p256_verify_digest(&pa, &digest, &sa).expect("P's signature on P");
        P::p256_verify_digest(&pa, &digest, &sa.normalize_s()).expect("low-S form on P");
        let sb = RustCrypto::p256_sign_digest(&b, &digest).unwrap();
        P::p256_verify_digest(&pb, &digest, &sb).expect("RustCrypto's signature on P");
        let mut bad = sa;
        bad.0[(round * 7) % 64] ^= 1 << (round % 8);
        assert_eq!(
            P::p256_verify_digest(&pa, &digest, &bad),
            Err(Error::Crypto),
            "bit flip"
        );
        assert_eq!(
            P::p256_verify_digest(&pb, &digest, &sa),
            Err(Error::Crypto),
            "other key"
        );
        let mut other = digest;
        other[31] ^= 1;
        assert_eq!(
            P::p256_verify_digest(&pa, &other, &sa),
            Err(Error::Crypto),
            "other digest"
        );

        for sec1 in [&pa.to_compressed()[..], &pa.to_uncompressed()[..]] {
            assert_eq!(P::p256_parse_public(sec1).unwrap(), pa, "parse a point");
        }
        // Off the curve: y + 1.
        let mut off = pa.to_uncompressed();
        off[64] = off[64].wrapping_add(1);
        assert!(
            P::p256_parse_public(&off).is_err(),
            "a point off the curve parses"
        );
        // The point check that keys made by `EcPublicKey::from_uncompressed_on` rest on.
        let xy = |sec1: &[u8; 65]| -> [u8; 64] { sec1[1..].try_into().unwrap() };
        P::p256_check_point(&xy(&pa.to_uncompressed())).expect("a curve point");
        P::p256_check_point(&xy(&pb.to_uncompressed())).expect("a curve point");
        assert!(
            P::p256_check_point(&xy(&off)).is_err(),
            "a point off the curve passes the check"
        );
        assert_eq!(
            EcPublicKey::from_uncompressed_on::<P>(&pa.to_uncompressed()),
            Ok(pa),
            "a key through P's check"
        );
    }
}

/// SHA-256, HMAC, HKDF, AES-GCM (both forms, all key sizes the build has) and AES blocks
/// against [`RustCrypto`] on random lengths and contents; GCM ciphertexts of each open on
/// the other, and a tampered one leaves no plaintext.
pub fn symmetric_against_rustcrypto<P: CryptoProvider>(rounds: usize) {
    let mut rng = InsecureTestRng::new(0x5359_4d32);
    let mut data = [0u8; 300];
    for round in 0..rounds {
        rng.fill_bytes(&mut data);
        let len = (rng.next_u32() as usize) % data.len();
        let cut = (rng.next_u32() as usize) % (len + 1);
        let msg = &data[..len];
        let parts: [&[u8]; 2] = [&msg[..cut], &msg[cut..]];
        assert_eq!(
            P::sha256(&parts),
            RustCrypto::sha256(&[msg]),
            "SHA-256, {len} bytes"
        );

        let key = &data[len / 2..len / 2 + (round % 100)];
        let (mut m1, mut m2) = ([0u8; 32], [0u8; 32]);
        P::hmac_sha256(key, &parts, &mut m1).unwrap();
        RustCrypto::hmac_sha256(key, &[msg], &mut m2).unwrap();
        assert_eq!(m1, m2, "HMAC-SHA256, {}-byte key", key.len());

        let (mut o1, mut o2) = ([0u8; 100], [0u8; 100]);
        let n = round % 100;
        P::hkdf_expand(&m1, &parts, &mut o1[..n]).unwrap();
        RustCrypto::hkdf_expand(&m1, &[msg], &mut o2[..n]).unwrap();
        assert_eq!(o1, o2, "HKDF-Expand, {n} bytes");

        let mut nonce = [0u8; 12];
        rng.fill_bytes(&mut nonce);
        let aad = &data[..cut];
        for key_len in [16, 24, 32] {
            let key = &data[100..100 + key_len];
            let Ok(rk) = RustCrypto::aes_key(key) else {
                continue;
            };
            let pk = P::aes_key(key).unwrap();
            let mut b1 = [0u8; 64];
            b1.copy_from_slice(&data[200..264]);
            let mut b2 = b1;
            P::aes_encrypt_blocks(&pk, &mut b1).unwrap();
            RustCrypto::aes_encrypt_blocks(&rk, &mut b2).unwrap();
            assert_eq!(b1, b2, "AES-{} blocks", key_len * 8);

            let mut c1 = [0u8; 300];
            let c1 = &mut c1[..len];
            c1.copy_from_slice(msg);
            let t1 = P::aes_gcm_seal(key, &nonce, aad, c1).unwrap();
            let mut c2 = [0u8; 300];
            let c2 = &mut c2[..len];
            let t2 = RustCrypto::aes_gcm_seal_to(key, &nonce, aad, msg, c2).unwrap();
            assert_eq!(
                (&*c1, t1),
                (&*c2, t2),
                "AES-{}-GCM seal, {len} bytes",
                key_len * 8
            );
            let mut c3 = [0u8; 300];
            let c3 = &mut c3[..len];
            assert_eq!(P::aes_gcm_seal_to(key, &nonce, aad, msg, c3).unwrap(), t1);
            assert_eq!(c3, c1, "seal_to and seal agree");

            let mut out = [0u8; 300];
            let out = &mut out[..len];
            P::aes_gcm_open_to(key, &nonce, aad, c2, out, &t2).unwrap();
            assert_eq!(out, msg, "GCM open_to");
            RustCrypto::aes_gcm_open(key, &nonce, aad, c1, &t1).unwrap();
            assert_eq!(c1, msg, "P's GCM on RustCrypto");

            let mut bad = t2;
            bad[round % 16] ^= 0x80;
            assert_eq!(
                P::aes_gcm_open(key, &nonce, aad, c2, &bad),
                Err(Error::Crypto),
                "tampered tag"
            );
            assert_eq!(c2, c3, "a failed open leaves the ciphertext as it was");
            let mut out = [0u8; 300];
            let out = &mut out[..len];
            assert_eq!(
                P::aes_gcm_open_to(key, &nonce, aad, c3, out, &bad),
                Err(Error::Crypto),
                "tampered tag (open_to)"
            );
            assert!(
                len < 8 || out.windows(8).all(|w| !msg.windows(8).any(|m| m == w)),
                "a failed open_to left plaintext behind"
            );
        }
    }
}

/// The documented errors: bad scalars, key lengths, block lengths and points.
pub fn errors<P: CryptoProvider>() {
    let zero = SecretBytes::new([0u8; 32]);
    assert_eq!(
        P::p256_key_from_scalar(&zero).err(),
        Some(Error::Crypto),
        "scalar 0"
    );
    let n = SecretBytes::new(unhex::<32>(
        "ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551",
    ));
    assert_eq!(
        P::p256_key_from_scalar(&n).err(),
        Some(Error::Crypto),
        "scalar n"
    );
    let len = |e: Option<Error>| matches!(e, Some(Error::Decode(d)) if d.kind == DecodeErrorKind::InvalidLength);
    assert!(len(P::aes_key(&[0; 17]).err()), "a 17-byte AES key");
    assert!(
        len(P::aes_gcm_seal(&[0; 17], &[0; 12], b"", &mut []).err()),
        "a 17-byte GCM key"
    );
    let k = P::aes_key(&[0; 16]).unwrap();
    assert!(
        len(P::aes_encrypt_blocks(&k, &mut [0; 17]).err()),
        "17 bytes of blocks"
    );
    P::aes_encrypt_blocks(&k, &mut []).expect("no blocks");
    assert!(
        len(P::hkdf_expand(&[0; 32], &[], &mut [0; 255 * 32 + 1]).err()),
        "HKDF over 255 blocks"
    );
    assert!(len(P::aes_gcm_seal_to(
        &[0; 16],
        &[0; 12],
        b"",
        &[0; 4],
        &mut [0; 5]
    )
    .err()));
    // x = p (not a field element), a bad tag, the wrong lengths, an uncompressed point
    // off the curve.
    let mut x_is_p = [0u8; 33];
    x_is_p[0] = 0x02;
    x_is_p[1..].copy_from_slice(&unhex::<32>(
        "ffffffff00000001000000000000000000000000ffffffffffffffffffffffff",
    ));
    for bad in [
        &[][..],
        &x_is_p[..],
        &[0x05; 33][..],
        &[0x04; 64][..],
        &[0x04; 65][..],
    ] {
        let e = P::p256_parse_public(bad).err();
        assert!(
            matches!(e, Some(Error::Decode(d)) if d.kind == DecodeErrorKind::InvalidPoint),
            "point {bad:02x?}: {e:?}"
        );
    }
    // The point check: G passes; (0, 0) (where some encodings put the identity), a
    // coordinate equal to p or all ones (not field elements), and G with y + 1 do not.
    let p = unhex::<32>("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff");
    let g = unhex::<64>(concat!(
        "6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296",
        "4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5"
    ));
    P::p256_check_point(&g).expect("G");
    let (mut x_is_p, mut y_is_p, mut g_off) = (g, g, g);
    x_is_p[..32].copy_from_slice(&p);
    y_is_p[32..].copy_from_slice(&p);
    g_off[63] ^= 1;
    for bad in [[0u8; 64], [0xff; 64], x_is_p, y_is_p, g_off] {
        let e = P::p256_check_point(&bad).err();
        assert!(
            matches!(e, Some(Error::Decode(d)) if d.kind == DecodeErrorKind::InvalidPoint),
            "point check {bad:02x?}: {e:?}"
        );
        let mut sec1 = [0x04; 65];
        sec1[1..].copy_from_slice(&bad);
        assert!(EcPublicKey::from_uncompressed_on::<P>(&sec1).is_err());
    }
}
