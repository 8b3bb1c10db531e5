//! AES key wrap length limits (NIST SP 800-38F, RFC 3394, RFC 5649), enforced once in
//! `WrapAlgorithm` and the software key every in-process store uses.

use aes::cipher::KeyInit;
use provkit::Error;
use provkit::error::DecodeErrorKind;
use provkit::store::{KeyId, KeyInventory, KeyKind, MemoryStore, SymmetricKeys, WrapAlgorithm};

const KEK: KeyId = KeyId(1);
const KEK_BYTES: [u8; 16] = [0x42; 16];

fn store() -> MemoryStore<4, 0, 0> {
    let mut s = MemoryStore::new();
    s.import_symmetric(KEK, KeyKind::Aes128, &KEK_BYTES)
        .unwrap();
    s
}

fn invalid_length<T: core::fmt::Debug>(r: provkit::Result<T>, offset: usize) {
    match r {
        Err(Error::Decode(d)) => {
            assert_eq!(d.kind, DecodeErrorKind::InvalidLength);
            assert_eq!(d.offset.get(), offset);
        }
        other => panic!("expected Decode(InvalidLength), got {other:?}"),
    }
}

/// RFC 3394's algorithm run over a single semiblock, as a careless peer would: the
/// integrity check value is right, the length is not.
fn kw_of_one_semiblock(key: &[u8; 8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    aes_kw::KwAes128::new_from_slice(&KEK_BYTES)
        .unwrap()
        .wrap_key(key, &mut out)
        .unwrap();
    out
}

#[test]
fn kw_unwrap_refuses_an_8_byte_key() {
    let mut s = store();
    let wrapped = kw_of_one_semiblock(&[0x11; 8]);
    let mut out = [0xEEu8; 32];
    invalid_length(
        s.unwrap_bytes(KEK, WrapAlgorithm::AesKw, &wrapped, &mut out),
        16,
    );
    assert_eq!(out, [0xEE; 32], "nothing is written for a refused length");
    // Nor can unwrap_key turn it into a stored key.
    invalid_length(
        s.unwrap_key(
            KEK,
            WrapAlgorithm::AesKw,
            &wrapped,
            KeyId(2),
            KeyKind::Aes128,
        ),
        16,
    );
}

#[test]
fn kw_smallest_valid_input_is_24_bytes() {
    let mut s = store();
    let mut wrapped = [0u8; 24];
    assert_eq!(
        s.wrap_bytes(KEK, WrapAlgorithm::AesKw, &[9; 16], &mut wrapped),
        Ok(24)
    );
    let mut out = [0u8; 16];
    assert_eq!(
        s.unwrap_bytes(KEK, WrapAlgorithm::AesKw, &wrapped, &mut out),
        Ok(16)
    );
    assert_eq!(out, [9; 16]);
    for len in [0, 8, 16, 17, 23, 31] {
        invalid_length(
            s.unwrap_bytes(KEK, WrapAlgorithm::AesKw, &[0; 40][..len], &mut [0; 40]),
            len,
        );
    }
}

#[test]
fn kw_wrap_needs_a_multiple_of_8_from_16() {
    let mut s = store();
    for len in [0, 1, 8, 15, 17, 20] {
        invalid_length(
            s.wrap_bytes(KEK, WrapAlgorithm::AesKw, &[1; 32][..len], &mut [0; 64]),
            len,
        );
    }
    assert_eq!(
        s.wrap_bytes(KEK, WrapAlgorithm::AesKw, &[1; 24], &mut [0; 32]),
        Ok(32)
    );
}

#[test]
fn kwp_limits() {
    let mut s = store();
    invalid_length(
        s.wrap_bytes(KEK, WrapAlgorithm::AesKwp, &[], &mut [0; 16]),
        0,
    );
    for len in [0, 8, 12, 15, 17, 23] {
        invalid_length(
            s.unwrap_bytes(KEK, WrapAlgorithm::AesKwp, &[0; 32][..len], &mut [0; 32]),
            len,
        );
    }
    // One byte wraps into one AES block and back.
    let mut wrapped = [0u8; 16];
    assert_eq!(
        s.wrap_bytes(KEK, WrapAlgorithm::AesKwp, &[0xA5], &mut wrapped),
        Ok(16)
    );
    let mut out = [0u8; 8];
    assert_eq!(
        s.unwrap_bytes(KEK, WrapAlgorithm::AesKwp, &wrapped, &mut out),
        Ok(1)
    );
    assert_eq!(out[0], 0xA5);
}

#[test]
fn output_buffers_are_checked_on_both_sides() {
    let mut s = store();
    assert_eq!(
        s.wrap_bytes(KEK, WrapAlgorithm::AesKwp, &[1; 9], &mut [0; 23]),
        Err(Error::buffer_too_small(24))
    );
    let mut wrapped = [0u8; 24];
    s.wrap_bytes(KEK, WrapAlgorithm::AesKwp, &[1; 9], &mut wrapped)
        .unwrap();
    // The padded plaintext (16 bytes) must fit, though only 9 are the key.
    assert_eq!(
        s.unwrap_bytes(KEK, WrapAlgorithm::AesKwp, &wrapped, &mut [0; 15]),
        Err(Error::buffer_too_small(16))
    );
    let mut out = [0u8; 16];
    assert_eq!(
        s.unwrap_bytes(KEK, WrapAlgorithm::AesKwp, &wrapped, &mut out),
        Ok(9)
    );
}

#[test]
fn unwrap_key_takes_only_the_kinds_length() {
    let mut s = store();
    // 48 bytes of KW: a valid wrap, but of nothing an AES-256 key can be.
    let mut wrapped = [0u8; 56];
    s.wrap_bytes(KEK, WrapAlgorithm::AesKw, &[2; 48], &mut wrapped)
        .unwrap();
    invalid_length(
        s.unwrap_key(
            KEK,
            WrapAlgorithm::AesKw,
            &wrapped,
            KeyId(3),
            KeyKind::Aes256,
        ),
        56,
    );
    // The exact length works.
    let mut w40 = [0u8; 40];
    s.wrap_bytes(KEK, WrapAlgorithm::AesKw, &[2; 32], &mut w40)
        .unwrap();
    s.unwrap_key(KEK, WrapAlgorithm::AesKw, &w40, KeyId(3), KeyKind::Aes256)
        .unwrap();
    assert_eq!(s.key_kind(KeyId(3)), Ok(KeyKind::Aes256));
}

#[test]
fn length_functions_follow_sp_800_38f() {
    use WrapAlgorithm::{AesKw, AesKwp};
    for (len, kw, kwp) in [
        (0, None, None),
        (1, None, Some(16)),
        (8, None, Some(16)),
        (9, None, Some(24)),
        (15, None, Some(24)),
        (16, Some(24), Some(24)),
        (17, None, Some(32)),
        (24, Some(32), Some(32)),
        (32, Some(40), Some(40)),
    ] {
        assert_eq!(AesKw.wrapped_len(len), kw, "KW wrapped_len({len})");
        assert_eq!(AesKwp.wrapped_len(len), kwp, "KWP wrapped_len({len})");
    }
    for (len, kw, kwp) in [
        (0, None, None),
        (8, None, None),
        (16, None, Some(8)),
        (20, None, None),
        (24, Some(16), Some(16)),
        (25, None, None),
        (40, Some(32), Some(32)),
    ] {
        assert_eq!(AesKw.unwrapped_len(len), kw, "KW unwrapped_len({len})");
        assert_eq!(AesKwp.unwrapped_len(len), kwp, "KWP unwrapped_len({len})");
    }
    // No overflow at the top of usize.
    assert_eq!(AesKw.wrapped_len(usize::MAX - 7), None);
    assert_eq!(AesKwp.wrapped_len(usize::MAX), None);
    assert_eq!(AesKw.unwrapped_len(usize::MAX - 7), None);
}

/// KWP's 32-bit length field: 2^32 - 1 bytes is the largest plaintext.
#[cfg(target_pointer_width = "64")]
#[test]
fn kwp_length_field_bounds_the_plaintext() {
    use WrapAlgorithm::AesKwp;
    let max = u32::MAX as usize;
    assert_eq!(AesKwp.wrapped_len(max), Some(max + 1 + 8));
    assert_eq!(AesKwp.wrapped_len(max + 1), None);
    assert_eq!(AesKwp.unwrapped_len(max + 1 + 8), Some(max + 1));
    assert_eq!(AesKwp.unwrapped_len(max + 1 + 16), None);
    // KW: at most 2^54 - 1 semiblocks.
    let kw_max = ((1usize << 54) - 1) * 8;
    assert_eq!(WrapAlgorithm::AesKw.wrapped_len(kw_max), Some(kw_max + 8));
    assert_eq!(WrapAlgorithm::AesKw.wrapped_len(kw_max + 8), None);
}
