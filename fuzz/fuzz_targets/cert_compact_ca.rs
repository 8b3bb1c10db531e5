//! Compact CA certificate parsing, chain verification and expansion on arbitrary bytes:
//! never panics; whatever parses and expands to DER must compress back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provkit::cert::{self, COMPACT_CA_MAX_LEN, CaCert, CompactCert};

/// The committed test chain: a root (the issuer) and a device of its intermediate.
const ROOT: &[u8] = include_bytes!("../../tests/data/cert/root.compact");
const DEVICE: &[u8] = include_bytes!("../../tests/data/cert/device.compact");

fuzz_target!(|data: &[u8]| {
    let (Ok(root), Ok(device)) = (CaCert::from_compact(ROOT), CompactCert::parse(DEVICE)) else {
        return;
    };
    let Ok(ca) = CaCert::from_compact(data) else {
        return;
    };
    let _ = cert::verify_device(&root, Some(&ca), &device, 1_760_000_000);
    let _ = cert::verify_ca(&ca, &ca, 1_760_000_000);
    // Expand under the root, or under itself when it claims to be self-signed.
    let mut der = [0u8; 1024];
    for issuer in [&root, &ca] {
        let Ok(n) = ca.write_der(issuer, &mut der) else {
            continue;
        };
        let parsed = CaCert::from_der(&der[..n]).expect("expansion must parse as a CA");
        let mut back = [0u8; COMPACT_CA_MAX_LEN];
        let m = parsed
            .write_compact(&mut back)
            .expect("expansion must compress");
        assert_eq!(&back[..m], data, "compress(expand(c)) != c");
    }
});
