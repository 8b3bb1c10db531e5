//! Key check values: the first bytes of AES-CMAC of a zero block under the key, to confirm
//! a key (or key component) arrived intact without revealing it.

use crate::boundary::Failure;
use crate::boundary::{apart, array_out, bytes, guard};
use crate::provkit_status;
use provkit::envelope::{KCV_LEN, Kcv};
use provkit::secret::SecretBuf;

/// Bytes of a key check value.
pub const PROVKIT_KCV_LEN: usize = 5;
const _: () = assert!(PROVKIT_KCV_LEN == KCV_LEN);

/// The AES-CMAC key check value of the AES key `key` (16 bytes; 24 or 32 where the library
/// is built with those sizes): `PROVKIT_KCV_LEN` bytes to `kcv_out`.
///
/// # Safety
/// `key` is `key_len` readable bytes; `kcv_out` is `kcv_len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn provkit_kcv_aes(
    key: *const u8,
    key_len: usize,
    kcv_out: *mut u8,
    kcv_len: usize,
) -> provkit_status {
    guard(|| {
        // An AES key is 16, 24 or 32 bytes: any other length is the caller's mistake (a
        // build without AES-192/256 answers PROVKIT_ERR_UNSUPPORTED for those below).
        if !matches!(key_len, 16 | 24 | 32) {
            return Err(Failure::PROVKIT_ERR_INVALID_ARGUMENT);
        }
        apart(key, key_len, kcv_out, kcv_len)?;
        // SAFETY: the caller's contract.
        let out = unsafe { array_out::<KCV_LEN>(kcv_out, kcv_len) }?;
        // SAFETY: the caller's contract.
        let key = SecretBuf::<32>::from_slice(unsafe { bytes(key, key_len) }?)?;
        *out = Kcv::of_key(&key)?.0;
        Ok(())
    })
}
