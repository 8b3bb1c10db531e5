//! `provkit::store::StoreSigner` on a SoftHSM2 key (issue #18): a key generated in the
//! token signs through RustCrypto's `PrehashSigner` and `Signer`, and `p256`'s own
//! `VerifyingKey` checks the signatures. SoftHSM2 signs with random nonces and returns
//! high-S about half the time; the signer hands out low-S only. Each test runs in its own
//! child process with its own token (see `support/softhsm.rs`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/softhsm.rs"]
mod softhsm;

use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p256::ecdsa::signature::{Keypair, Signer, Verifier};
use p256::ecdsa::{Signature, VerifyingKey};
use provkit::ec::{EcPublicKey, EcdsaSignature, sha256};
use provkit::store::{IdentityKeys, KeyId, KeyInventory, StoreSigner};
use provkit::testing::InsecureTestRng;
use provkit_pkcs11::ExportPolicy;
use softhsm::{store, with_token};

#[test]
fn store_signer_on_softhsm() {
    with_token("store_signer_on_softhsm", || {
        let mut hsm = store(1, ExportPolicy::Sealed);
        let id = KeyId(40);
        let public = hsm.generate_p256(id, &mut InsecureTestRng::new(1)).unwrap();
        // The token returns high-S now and then (random nonces): what the signer fixes.
        let mut saw_high = false;
        for i in 0..16u8 {
            saw_high |= !hsm.sign_digest(id, &sha256(&[i])).unwrap().is_low_s();
        }

        let signer = StoreSigner::new(&mut hsm, id).unwrap();
        let vk: VerifyingKey = signer.verifying_key();
        assert_eq!(EcPublicKey::from(vk), public);
        for i in 0..16u8 {
            let digest = sha256(&[i, 0xA5]);
            let sig: Signature = signer.sign_prehash(&digest).unwrap();
            vk.verify_prehash(&digest, &sig).unwrap();
            assert!(EcdsaSignature::from(sig).is_low_s());
            let msg = [i; 100];
            let sig: Signature = signer.try_sign(&msg).unwrap();
            vk.verify(&msg, &sig).unwrap();
            assert!(EcdsaSignature::from(sig).is_low_s());
        }
        let r: Result<Signature, _> = signer.sign_prehash(&[0; 48]);
        assert!(r.is_err(), "a SHA-384 length prehash is refused");
        let hsm = signer.into_inner();
        hsm.delete_key(id).unwrap();
        assert!(saw_high, "SoftHSM2 returned only low-S in 16 signatures");
    });
}
