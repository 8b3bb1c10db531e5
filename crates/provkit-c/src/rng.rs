//! The RNG: a C callback.

use crate::boundary::Failure;
use crate::boundary::{Ffi, get};
use core::convert::Infallible;
use core::ffi::c_void;

/// A random number generator written in C (the MCU's TRNG driver, or a DRBG seeded from
/// it).
///
/// `fill` writes `len` unpredictable bytes to `buf` and returns 0, or returns non-zero when
/// it cannot (a TRNG health-test failure, say). A failure is never ignored: the call that
/// drew the bytes returns `PROVKIT_ERR_RNG_FAILED` and keeps nothing it made from them
/// (its output is zeroed, its state left empty, a generated key deleted).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct provkit_rng {
    /// Fills `buf[0..len]`; 0 on success.
    pub fill: Option<unsafe extern "C" fn(ctx: *mut c_void, buf: *mut u8, len: usize) -> i32>,
    /// Passed to `fill` as is.
    pub ctx: *mut c_void,
}

/// [`provkit_rng`] as provkit's RNG: records a failure instead of failing mid-operation
/// (rand_core 0.10's `CryptoRng` cannot fail), for [`check`](Self::check) afterwards.
pub(crate) struct CallbackRng {
    fill: unsafe extern "C" fn(ctx: *mut c_void, buf: *mut u8, len: usize) -> i32,
    ctx: *mut c_void,
    failed: bool,
}

impl CallbackRng {
    /// The RNG at `rng`.
    ///
    /// # Safety
    /// `rng` is NULL or points to a `provkit_rng` whose `fill` may be called with its `ctx`.
    pub(crate) unsafe fn new(rng: *const provkit_rng) -> Ffi<Self> {
        // SAFETY: the caller's contract.
        let rng = unsafe { get(rng) }?;
        Ok(Self {
            fill: rng.fill.ok_or(Failure::PROVKIT_ERR_NULL_POINTER)?,
            ctx: rng.ctx,
            failed: false,
        })
    }

    /// `PROVKIT_ERR_RNG_FAILED` if any draw failed.
    pub(crate) fn check(&self) -> Ffi {
        if self.failed {
            Err(Failure::PROVKIT_ERR_RNG_FAILED)
        } else {
            Ok(())
        }
    }
}

impl rand_core::TryRng for CallbackRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        rand_core::utils::next_word_via_fill(self)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        rand_core::utils::next_word_via_fill(self)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        // SAFETY: `dst` is `dst.len()` writable bytes; `fill` and `ctx` are the caller's
        // RNG (`new`'s contract).
        let status = unsafe { (self.fill)(self.ctx, dst.as_mut_ptr(), dst.len()) };
        if status != 0 {
            self.failed = true;
            // Whatever the callback left is not used: every result of this call is
            // discarded. A fixed non-zero value (a valid scalar) keeps rejection sampling
            // from looping on zeros until then. Written byte by byte: `fill` would link
            // `memset` (220 bytes) for this path alone.
            for b in dst.iter_mut() {
                // SAFETY: `b` is a valid, exclusive byte of `dst`.
                unsafe { core::ptr::write_volatile(b, 0x5a) };
            }
        }
        Ok(())
    }
}

// The callback is the C caller's promise of unpredictable bytes; a failure is reported.
impl rand_core::TryCryptoRng for CallbackRng {}
