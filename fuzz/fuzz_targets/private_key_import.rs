//! Private-key files (`provkit::store::import`): PKCS#8, encrypted PKCS#8 and SEC1 DER,
//! and PEM, from arbitrary bytes. Never panics; whatever reads as a key imports into a
//! store with the public key it reported.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provkit::store::import::P256PrivateKey;
use provkit::store::{KeyId, MemoryStore};

fuzz_target!(|data: &[u8]| {
    let keys = [
        P256PrivateKey::from_pkcs8_der(data),
        P256PrivateKey::from_sec1_der(data),
        P256PrivateKey::from_encrypted_pkcs8_der(data, b"correct-horse"),
        core::str::from_utf8(data)
            .map_err(|_| provkit::Error::Unsupported)
            .and_then(|pem| P256PrivateKey::from_pem(pem, Some(b"correct-horse"))),
    ];
    for key in keys.into_iter().flatten() {
        let public = key.public_key();
        let mut store = MemoryStore::<1, 0, 0>::new();
        assert_eq!(key.import_into(&mut store, KeyId(1)), Ok(public));
    }
});
