//! Compact certificate parsing, verification and expansion on arbitrary bytes: never
//! panics; whatever parses and expands must import back to the same bytes, and parse
//! with x509-cert and re-encode byte for byte.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provkit::cert::{self, CaCert, CompactCert};
use x509_cert::der::{Decode, Encode};

/// A fixed factory CA certificate (made by this crate) to verify and expand against.
const CA: &[u8] = include_bytes!("../../tests/data/cert/intermediate.der");

fuzz_target!(|data: &[u8]| {
    let Ok(ca) = CaCert::from_der(CA) else { return };
    let Ok(c) = CompactCert::parse(data) else {
        return;
    };
    let _ = cert::verify_issued(&ca, &c, 1_760_000_000);
    let mut out = [0u8; 1024];
    if let Ok(n) = cert::expand(&c, ca.as_issuer(), &mut out) {
        let back = cert::import_x509(&out[..n], ca.as_issuer()).expect("expansion must import");
        assert_eq!(&back[..], data, "import(expand(c)) != c");
        let parsed = x509_cert::Certificate::from_der(&out[..n]).expect("x509-cert parses it");
        assert_eq!(
            parsed.to_der().expect("re-encodes"),
            &out[..n],
            "x509-cert round trip"
        );
    }
});
