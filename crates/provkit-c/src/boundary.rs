//! The checks every function makes on what C hands it: pointers, lengths, overlap; and the
//! guard that turns errors (and, on hosts, panics) into a status.

use crate::provkit_status;
use core::num::NonZeroI32;
use core::slice;

/// The result of a function body: a status for every failure.
pub(crate) type Ffi<T = ()> = Result<T, Failure>;

/// A failure: a [`provkit_status`] other than `PROVKIT_OK`, held as a non-zero `i32`. So
/// `Ffi<()>` is one word with 0 for `Ok` (every `?` is a test against zero, and [`guard`]
/// returns the word as it is), and `Ffi<&T>` uses the NULL niche.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(transparent)]
pub(crate) struct Failure(NonZeroI32);

macro_rules! failures {
    ($($name:ident),* $(,)?) => {
        #[allow(dead_code)]
        impl Failure {
            $(
                #[doc = concat!("`", stringify!($name), "`.")]
                pub(crate) const $name: Self = Self::of(provkit_status::$name);
            )*
        }
    };
}

failures!(
    PROVKIT_ERR_NULL_POINTER,
    PROVKIT_ERR_BUFFER_TOO_SMALL,
    PROVKIT_ERR_INVALID_ARGUMENT,
    PROVKIT_ERR_WRONG_STATE,
    PROVKIT_ERR_STATE_MOVED,
    PROVKIT_ERR_RNG_FAILED,
    PROVKIT_ERR_PANIC,
    PROVKIT_ERR_HANDSHAKE_PEER_NOT_PINNED,
);

impl Failure {
    /// The failure of `status`, which is not `PROVKIT_OK`. Only evaluated in the constants
    /// above, where `PROVKIT_OK` would be a build error (the panic never reaches run time).
    #[allow(clippy::panic)]
    const fn of(status: provkit_status) -> Self {
        match NonZeroI32::new(status as i32) {
            Some(code) => Self(code),
            None => panic!("PROVKIT_OK is no failure"),
        }
    }

    /// The status, for C.
    pub(crate) fn status(self) -> provkit_status {
        // SAFETY: a `Failure` is only made from a `provkit_status` (`of`, `From<Error>`), a
        // fieldless `repr(i32)` enum: its value is one of the enum's discriminants.
        unsafe { core::mem::transmute::<i32, provkit_status>(self.0.get()) }
    }
}

impl From<provkit::Error> for Failure {
    fn from(e: provkit::Error) -> Self {
        let status = provkit_status::from(e);
        // Every error maps to a status other than PROVKIT_OK (`status.rs`).
        NonZeroI32::new(status as i32).map_or(Self::PROVKIT_ERR_PANIC, Self)
    }
}

/// Runs a function body, returning `PROVKIT_OK` or its failure. With `std`, a panic is
/// caught here and returned as `PROVKIT_ERR_PANIC` (unwinding into C is undefined).
pub(crate) fn guard(body: impl FnOnce() -> Ffi) -> provkit_status {
    #[cfg(feature = "std")]
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body))
        .unwrap_or(Err(Failure::PROVKIT_ERR_PANIC));
    #[cfg(not(feature = "std"))]
    let outcome = body();
    match outcome {
        Ok(()) => provkit_status::PROVKIT_OK,
        Err(failure) => failure.status(),
    }
}

/// `*p`, or `PROVKIT_ERR_NULL_POINTER`.
///
/// # Safety
/// `p` is NULL or points to a valid `T` that nothing mutates during `'a`.
pub(crate) unsafe fn get<'a, T>(p: *const T) -> Ffi<&'a T> {
    // SAFETY: the caller's contract; NULL is refused by `as_ref`.
    unsafe { p.as_ref() }.ok_or(Failure::PROVKIT_ERR_NULL_POINTER)
}

/// `&mut *p`, or `PROVKIT_ERR_NULL_POINTER`.
///
/// # Safety
/// `p` is NULL or points to a valid `T` that nothing else accesses during `'a`.
pub(crate) unsafe fn get_mut<'a, T>(p: *mut T) -> Ffi<&'a mut T> {
    // SAFETY: the caller's contract; NULL is refused by `as_mut`.
    unsafe { p.as_mut() }.ok_or(Failure::PROVKIT_ERR_NULL_POINTER)
}

/// The `len` bytes at `p`: empty when `len` is 0 (then `p` may be NULL), else
/// `PROVKIT_ERR_NULL_POINTER` for NULL.
///
/// # Safety
/// Unless NULL, `p` points to `len` readable bytes that nothing mutates during `'a`.
pub(crate) unsafe fn bytes<'a>(p: *const u8, len: usize) -> Ffi<&'a [u8]> {
    if len == 0 {
        return Ok(&[]);
    }
    if p.is_null() {
        return Err(Failure::PROVKIT_ERR_NULL_POINTER);
    }
    if len > isize::MAX as usize {
        return Err(Failure::PROVKIT_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: non-NULL, `len` readable bytes by the caller's contract, `len` ≤ isize::MAX.
    Ok(unsafe { slice::from_raw_parts(p, len) })
}

/// The `len` writable bytes at `p`, as [`bytes`].
///
/// # Safety
/// Unless NULL, `p` points to `len` writable bytes that nothing else accesses during `'a`.
pub(crate) unsafe fn bytes_mut<'a>(p: *mut u8, len: usize) -> Ffi<&'a mut [u8]> {
    if len == 0 {
        return Ok(&mut []);
    }
    if p.is_null() {
        return Err(Failure::PROVKIT_ERR_NULL_POINTER);
    }
    if len > isize::MAX as usize {
        return Err(Failure::PROVKIT_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: non-NULL, `len` writable bytes by the caller's contract, `len` ≤ isize::MAX.
    Ok(unsafe { slice::from_raw_parts_mut(p, len) })
}

/// Exactly `N` bytes at `p`, whose length the caller gave as `len`: a wrong length is
/// `PROVKIT_ERR_INVALID_ARGUMENT`.
///
/// # Safety
/// As [`bytes`].
pub(crate) unsafe fn array<'a, const N: usize>(p: *const u8, len: usize) -> Ffi<&'a [u8; N]> {
    if len != N {
        return Err(Failure::PROVKIT_ERR_INVALID_ARGUMENT);
    }
    // SAFETY: as `bytes`.
    let b = unsafe { bytes(p, len) }?;
    b.try_into()
        .map_err(|_| Failure::PROVKIT_ERR_INVALID_ARGUMENT)
}

/// The first `N` of `len` writable bytes at `p`: a shorter buffer is
/// `PROVKIT_ERR_BUFFER_TOO_SMALL`.
///
/// # Safety
/// As [`bytes_mut`].
pub(crate) unsafe fn array_out<'a, const N: usize>(p: *mut u8, len: usize) -> Ffi<&'a mut [u8; N]> {
    if len < N {
        return Err(Failure::PROVKIT_ERR_BUFFER_TOO_SMALL);
    }
    // SAFETY: as `bytes_mut`.
    let b = unsafe { bytes_mut(p, N) }?;
    b.try_into()
        .map_err(|_| Failure::PROVKIT_ERR_INVALID_ARGUMENT)
}

/// Refuses an output buffer that overlaps an input, before either becomes a slice: Rust
/// (and the AEADs) assume they are apart, and C callers sometimes pass one buffer for both.
#[inline(never)]
pub(crate) fn apart(
    input: *const u8,
    input_len: usize,
    output: *const u8,
    output_len: usize,
) -> Ffi {
    let (a, b) = (input as usize, output as usize);
    if input_len == 0
        || output_len == 0
        || a.saturating_add(input_len) <= b
        || b.saturating_add(output_len) <= a
    {
        Ok(())
    } else {
        Err(Failure::PROVKIT_ERR_INVALID_ARGUMENT)
    }
}

/// The status of a failure, writing the length needed to `len_out` first for
/// `BufferTooSmall` (the functions that have a length output say so). Used as
/// `.map_err(|e| needed(e, len_out))?`: one copy, out of line, for every function.
#[inline(never)]
pub(crate) fn needed(e: provkit::Error, len_out: &mut usize) -> Failure {
    if let provkit::Error::BufferTooSmall { needed } = e {
        *len_out = needed.get();
    }
    e.into()
}
