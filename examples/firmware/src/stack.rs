//! Peak stack measurement by painting: fill the free stack below the current frame with
//! a pattern, run a step, and find the deepest word that no longer holds it.

use core::ptr::{addr_of, read_volatile, write_volatile};

const PAINT: u32 = 0xDEAD_BEEF;

unsafe extern "C" {
    static _stack_start: u32;
    static _stack_end: u32;
}

fn bounds() -> (usize, usize) {
    // Only the addresses of the linker symbols are taken (no read): no `unsafe` needed.
    (
        addr_of!(_stack_end) as usize,
        addr_of!(_stack_start) as usize,
    )
}

/// Paints from the stack's lowest address up to a little below the current stack pointer,
/// and returns that stack pointer: the step's entry.
pub fn paint() -> usize {
    let (low, _) = bounds();
    let entry = cortex_m::register::msp::read() as usize;
    let mut at = low;
    while at < entry - 64 {
        // SAFETY: [low, entry - 64) is unused stack memory below the live frames.
        unsafe { write_volatile(at as *mut u32, PAINT) };
        at += 4;
    }
    entry
}

/// The deepest point reached since `paint`: `(bytes below entry, bytes from reset)`.
pub fn peak(entry: usize) -> (usize, usize) {
    let (low, high) = bounds();
    let mut at = low;
    // SAFETY: reads words of the stack region, which is mapped RAM.
    while at < high && unsafe { read_volatile(at as *const u32) } == PAINT {
        at += 4;
    }
    (entry.saturating_sub(at), high - at)
}
