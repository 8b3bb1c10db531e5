//! Opaque states in caller memory: a tag word, then the Rust value.
//!
//! Each C state type (`provkit_handshake`, `provkit_session`, ...) is a byte array of a
//! size the header states, aligned to 16. provkit keeps a [`Slot`] in it: a tag saying what
//! it holds (0: nothing, so a zero-initialized state is an empty one), the address the
//! state had when it was filled (a handshake refers to its own certificate copy, so a
//! moved handshake is refused), and the value. Taking a value out or clearing a state wipes
//! every byte of it (secrets never stay behind in caller memory).

use crate::boundary::Failure;
use crate::boundary::Ffi;
use core::mem::{MaybeUninit, align_of, size_of};

/// What a C state type holds.
pub(crate) trait OpaqueState: Sized {
    /// The Rust value behind it.
    type Inner;
    /// The tag of a state that holds a value: distinct per type, never 0.
    const TAG: u32;
    /// Whether the value refers into the state itself (then a moved state is refused).
    const PINNED: bool = false;
    /// Fails the build when the value does not fit the size and alignment the header
    /// states; referenced by every accessor so that it is evaluated.
    const FITS: () = assert!(
        size_of::<Slot<Self::Inner>>() <= size_of::<Self>()
            && align_of::<Slot<Self::Inner>>() <= align_of::<Self>()
    );
}

/// The layout inside an opaque state.
#[repr(C)]
pub(crate) struct Slot<T> {
    tag: u32,
    home: usize,
    value: MaybeUninit<T>,
}

/// The slot in the state at `state`.
///
/// # Safety
/// `state` is NULL or points to a `S` the caller owns and nothing else accesses during
/// `'a`, zero-initialized or left by provkit (the header's rule).
pub(crate) unsafe fn slot<'a, S: OpaqueState>(state: *mut S) -> Ffi<Handle<'a, S>> {
    let () = S::FITS;
    if state.is_null() {
        return Err(Failure::PROVKIT_ERR_NULL_POINTER);
    }
    Ok(Handle {
        state,
        _life: core::marker::PhantomData,
    })
}

/// A caller's state, borrowed for one call.
pub(crate) struct Handle<'a, S: OpaqueState> {
    state: *mut S,
    _life: core::marker::PhantomData<&'a mut S>,
}

impl<'a, S: OpaqueState> Handle<'a, S> {
    fn slot(&mut self) -> *mut Slot<S::Inner> {
        self.state.cast()
    }

    /// Whether the state holds a value.
    fn holds(&mut self) -> bool {
        // SAFETY: `slot()` is valid for reads (`slot`'s contract; FITS holds); the tag is a
        // plain u32 that C zero-initialized or provkit wrote.
        unsafe { core::ptr::addr_of!((*self.slot()).tag).read_volatile() == S::TAG }
    }

    /// Whether the value is where it was written (always, for a state that is not pinned).
    fn at_home(&mut self) -> bool {
        let here = self.state as usize;
        // SAFETY: as in `holds`; `home` was written with the tag.
        !S::PINNED || unsafe { core::ptr::addr_of!((*self.slot()).home).read() } == here
    }

    /// The value, or `PROVKIT_ERR_WRONG_STATE` for an empty state (`PROVKIT_ERR_STATE_MOVED`,
    /// after clearing it, for a moved one).
    pub(crate) fn get(&mut self) -> Ffi<&mut S::Inner> {
        if !self.holds() {
            return Err(Failure::PROVKIT_ERR_WRONG_STATE);
        }
        if !self.at_home() {
            self.clear();
            return Err(Failure::PROVKIT_ERR_STATE_MOVED);
        }
        // SAFETY: the tag says the value was written by `put`, and it has not moved.
        Ok(unsafe { (*self.slot()).value.assume_init_mut() })
    }

    /// The value, for the rest of the call (as [`get`](Self::get)).
    pub(crate) fn into_mut(mut self) -> Ffi<&'a mut S::Inner> {
        self.get()?;
        // SAFETY: `get` checked that the value is there and at home; the handle's borrow of
        // the state is for `'a`.
        Ok(unsafe { (*self.slot()).value.assume_init_mut() })
    }

    /// Stores `value`, dropping whatever the state held.
    pub(crate) fn put(&mut self, value: S::Inner) {
        self.clear();
        let here = self.state as usize;
        let slot = self.slot();
        // SAFETY: `slot` is valid for writes and the state is empty (cleared above).
        unsafe {
            core::ptr::addr_of_mut!((*slot).value).write(MaybeUninit::new(value));
            core::ptr::addr_of_mut!((*slot).home).write(here);
            core::ptr::addr_of_mut!((*slot).tag).write_volatile(S::TAG);
        }
    }

    /// Where the value goes, for values built in place (the handshake's, which refer to
    /// bytes in the state): write it, then [`commit`](Self::commit).
    pub(crate) fn place(&mut self) -> *mut S::Inner {
        self.clear();
        // SAFETY: in bounds of the state (FITS).
        unsafe { core::ptr::addr_of_mut!((*self.slot()).value).cast() }
    }

    /// Where the value goes, without clearing: for the second half of a value built in
    /// place (the state is still empty: its tag is 0).
    pub(crate) fn place_kept(&mut self) -> *mut S::Inner {
        // SAFETY: in bounds of the state (FITS).
        unsafe { core::ptr::addr_of_mut!((*self.slot()).value).cast() }
    }

    /// Marks a value written through [`place`](Self::place) as present.
    ///
    /// # Safety
    /// A complete `S::Inner` was written at `place()`.
    pub(crate) unsafe fn commit(&mut self) {
        let here = self.state as usize;
        let slot = self.slot();
        // SAFETY: valid for writes (FITS); the value is complete (the caller's contract).
        unsafe {
            core::ptr::addr_of_mut!((*slot).home).write(here);
            core::ptr::addr_of_mut!((*slot).tag).write_volatile(S::TAG);
        }
    }

    /// Marks the state empty without dropping its value, which the caller has read out;
    /// its bytes stay until [`wipe`](Self::wipe).
    pub(crate) fn release(&mut self) {
        // SAFETY: valid for writes (FITS).
        unsafe { core::ptr::addr_of_mut!((*self.slot()).tag).write_volatile(0) };
    }

    /// Drops the value, if any, and wipes the state.
    pub(crate) fn clear(&mut self) {
        if self.holds() {
            // SAFETY: the tag says a value is there; it is dropped once (the tag is
            // cleared by the wipe). A moved handshake's value refers to bytes of its old
            // place, but dropping it reads none of them.
            unsafe { (*self.slot()).value.assume_init_drop() };
        }
        self.wipe();
    }

    /// Zeroes every byte of the state (tag included).
    pub(crate) fn wipe(&mut self) {
        // SAFETY: `state` is valid for writes of a whole `S`, a byte array.
        unsafe { zeroize::zeroize_flat_type(self.state) };
    }
}
