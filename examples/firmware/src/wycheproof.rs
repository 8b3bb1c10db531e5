//! Wycheproof's ECDSA P-256 SHA-256 (P1363) and ECDH secp256r1 suites on a provider, under
//! QEMU: the Cortex-M4 assembly (provkit-cm4) gets the same edge cases (bad points, r or s
//! out of range, special scalars) as the RustCrypto provider gets on the host.

use crate::vectors::{WYCHEPROOF_ECDH, WYCHEPROOF_ECDSA};
use cortex_m_semihosting::hprintln;
use provkit::ec::EcdsaSignature;
use provkit::provider::CryptoProvider;
use provkit::secret::SecretBytes;
use subtle::ConstantTimeEq;

/// One test: ECDSA (uncompressed key, message, P1363 signature, outcome) or ECDH (public
/// point or empty, private scalar, shared secret, outcome).
pub type Case = (&'static [u8], &'static [u8], &'static [u8], Outcome);

/// What Wycheproof expects of a test.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Must be accepted (and, for ECDH, give the shared secret).
    Valid,
    /// Must be refused.
    Invalid,
    /// Either is allowed (legacy or unusual encodings).
    Acceptable,
}

/// Every ECDSA test: a signature of another length than 64 bytes cannot be an
/// `EcdsaSignature` and counts as refused. Returns whether all passed.
#[inline(never)]
pub fn ecdsa<P: CryptoProvider>() -> bool {
    let mut failed = 0u32;
    for (i, (key, msg, sig, outcome)) in WYCHEPROOF_ECDSA.iter().enumerate() {
        let accepted = P::p256_parse_public(key).is_ok_and(|key| {
            <[u8; 64]>::try_from(*sig).is_ok_and(|sig| {
                P::p256_verify_digest(&key, &P::sha256(&[msg]), &EcdsaSignature(sig)).is_ok()
            })
        });
        if (*outcome == Outcome::Valid && !accepted) || (*outcome == Outcome::Invalid && accepted) {
            hprintln!("       Wycheproof ECDSA test {} FAILED", i);
            failed += 1;
        }
    }
    hprintln!(
        "       Wycheproof ECDSA P-256 SHA-256: {} tests, {} failed",
        WYCHEPROOF_ECDSA.len(),
        failed
    );
    failed == 0
}

/// Every ECDH test: a public key outside provkit's profile (empty here) or a point the
/// provider refuses counts as refused; an accepted one must give Wycheproof's secret.
#[inline(never)]
pub fn ecdh<P: CryptoProvider>() -> bool {
    let mut failed = 0u32;
    for (i, (point, scalar, shared, outcome)) in WYCHEPROOF_ECDH.iter().enumerate() {
        let mut d = [0u8; 32];
        d.copy_from_slice(scalar);
        let agreed = P::p256_parse_public(point).ok().and_then(|peer| {
            let key = P::p256_key_from_scalar(&SecretBytes::new(d)).ok()?;
            P::p256_ecdh(&key, &peer).ok()
        });
        let pass = match (agreed, outcome) {
            (Some(secret), Outcome::Valid | Outcome::Acceptable) => {
                bool::from(secret.ct_eq(&SecretBytes::new(shared_bytes(shared))))
            }
            (Some(_), Outcome::Invalid) => false,
            (None, Outcome::Valid) => false,
            (None, _) => true,
        };
        if !pass {
            hprintln!("       Wycheproof ECDH test {} FAILED", i);
            failed += 1;
        }
    }
    hprintln!(
        "       Wycheproof ECDH secp256r1: {} tests, {} failed",
        WYCHEPROOF_ECDH.len(),
        failed
    );
    failed == 0
}

fn shared_bytes(shared: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    if shared.len() == 32 {
        out.copy_from_slice(shared);
    }
    out
}
