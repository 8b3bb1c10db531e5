//! Foreign X.509 and PKCS#10 (`provkit::cert::pki`, `provkit::cert::csr`) on arbitrary
//! bytes: certificate files, chain validation under a fixed OpenSSL root, and
//! certification requests. Never panics; a request that is accepted names a non-zero
//! serial and issues.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provkit::cert::{self, CaCert, CaName, CaProfile, DeviceUsage, csr, pki};
use provkit::store::{IdentityKeys, KeyId, MemoryStore};
use provkit::testing::InsecureTestRng;

const ROOT: &[u8] = include_bytes!("../../tests/data/pki/root.pem");

fuzz_target!(|data: &[u8]| {
    if let Ok(chain) = pki::read_certificates(data) {
        let anchors = pki::read_certificates(ROOT).expect("the fixture reads");
        let _ = pki::verify_chain(&anchors, &chain, 1_831_593_600);
    }
    let policy = csr::CsrPolicy::new().allowing(
        DeviceUsage::SIGN_ONLY
            .with_key_agreement(true)
            .with_server_auth(true),
    );
    if let Ok(request) = csr::check_request(data, &policy, 1_750_000_000) {
        assert_ne!(request.serial, 0);
        let mut store = MemoryStore::<1, 0, 0>::new();
        store
            .generate_p256(KeyId(1), &mut InsecureTestRng::new(1))
            .expect("a fresh store");
        let profile = CaProfile::new(CaName::new("Fuzz CA"), [1; 16], 0, u64::from(u32::MAX));
        let mut der = [0u8; 512];
        let n = cert::create_root(&mut store, KeyId(1), &profile, &mut der).expect("a root");
        let ca = CaCert::from_der(&der[..n]).expect("its own root");
        cert::issue_device(&mut store, KeyId(1), &ca, &request)
            .expect("an accepted request issues");
    }
});
