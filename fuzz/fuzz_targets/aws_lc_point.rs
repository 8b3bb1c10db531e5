//! provkit-aws-lc's point decompression and on-curve check (on fiat-crypto's P-256
//! field) against `p256`'s, on every input: the same point, or a refusal from both.
//!
//! Input: a tag byte (its low bit is the parity of y), 32 bytes of x, then optionally 32
//! bytes of y for the on-curve check of `x || y`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provkit::provider::{CryptoProvider, RustCrypto};

// The module itself rather than the crate: provkit-aws-lc would bring AWS-LC's C build
// into the fuzz build, and this module uses none of it.
#[path = "../../crates/provkit-aws-lc/src/point.rs"]
mod point;

fuzz_target!(|data: &[u8]| {
    let Some((&tag, rest)) = data.split_first() else {
        return;
    };
    let Some(x) = rest.first_chunk::<32>() else {
        return;
    };
    let odd = tag & 1 == 1;
    let mut sec1 = [if odd { 0x03 } else { 0x02 }; 33];
    sec1[1..].copy_from_slice(x);
    let reference = RustCrypto::p256_parse_public(&sec1)
        .ok()
        .and_then(|k| <[u8; 64]>::try_from(&k.to_uncompressed()[1..]).ok());
    let ours = point::decompress(x, odd);
    assert_eq!(ours, reference, "decompression of {sec1:02x?}");
    if let Some(xy) = ours {
        assert!(
            point::is_on_curve(&xy),
            "a decompressed point fails the check"
        );
    }

    // The check on x || y as given (almost never a point) and on the decompressed point
    // with the input's remaining bytes xored into y (a point only where they are zero).
    if let Some(y) = rest.get(32..).and_then(|r| r.first_chunk::<32>()) {
        let mut xy = [0u8; 64];
        xy[..32].copy_from_slice(x);
        xy[32..].copy_from_slice(y);
        assert_eq!(
            point::is_on_curve(&xy),
            RustCrypto::p256_check_point(&xy).is_ok(),
            "on-curve check of {xy:02x?}"
        );
        if let Some(mut near) = ours {
            for (b, d) in near[32..].iter_mut().zip(y) {
                *b ^= d;
            }
            assert_eq!(
                point::is_on_curve(&near),
                RustCrypto::p256_check_point(&near).is_ok(),
                "on-curve check of {near:02x?}"
            );
        }
    }
});
