//! A P-256 public key has exactly the two SEC1 encodings, compressed and uncompressed:
//! `EcPublicKey::from_sec1` (and so X.509 import, which parses the SPKI point with it)
//! refuses the non-standard compact form `05 || x` that the `p256` crate also accepts,
//! which would give one key a second byte string.

use provkit::ec::EcPublicKey;
use provkit::error::{DecodeErrorKind, Error};

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// RFC 6979 A.2.5's public key.
const X: &str = "60fed4ba255a9d31c961eb74c6356d68c049b8923b61fa6ce669622e60f29fb6";
const Y: &str = "7903fe1008b8bc99a41ae9e95628bc64f2f1b20c2d7e9f5177a3c294d4462299";

#[test]
fn only_the_two_sec1_forms_parse() {
    let uncompressed = unhex(&format!("04{X}{Y}"));
    let key = EcPublicKey::from_sec1(&uncompressed).unwrap();
    // y ends in 0x99: odd.
    assert_eq!(
        EcPublicKey::from_sec1(&unhex(&format!("03{X}"))).unwrap(),
        key
    );
    for bad in [
        format!("05{X}"),
        format!("02{X}{Y}"),
        format!("06{X}{Y}"),
        format!("04{X}"),
    ] {
        assert_eq!(
            EcPublicKey::from_sec1(&unhex(&bad)),
            Err(Error::decode(DecodeErrorKind::InvalidPoint, 0)),
            "{bad}"
        );
    }
}
