//! X.509 parsing and the device-certificate import on arbitrary DER: never panics;
//! whatever imports must expand back to exactly the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provkit::cert::{self, CaCert, CompactCert, X509Cert};

const CA: &[u8] = include_bytes!("../../tests/data/cert/intermediate.der");

fuzz_target!(|data: &[u8]| {
    let _ = X509Cert::from_der(data).map(|x| x.check_validity(1_760_000_000));
    if let (Ok(parent), Ok(child)) = (CaCert::from_der(CA), CaCert::from_der(data)) {
        let _ = cert::verify_ca(&parent, &child, 1_760_000_000);
    }
    let Ok(ca) = CaCert::from_der(CA) else { return };
    if let Ok(compact) = cert::import_x509(data, ca.as_issuer()) {
        let c = CompactCert::parse(&compact).expect("imported compact must parse");
        let mut out = [0u8; 2048];
        let n = cert::expand(&c, ca.as_issuer(), &mut out).expect("imported compact must expand");
        assert_eq!(&out[..n], data, "expand(import(x)) != x");
    }
});
