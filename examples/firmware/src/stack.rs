//! Peak stack measurement by painting: fill the free stack with a pattern at boot, and
//! find the deepest word that no longer holds it at the end.

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

/// Paints from the stack's lowest address up to a little below the current stack pointer.
pub fn paint() {
    let (low, _) = bounds();
    let sp = cortex_m::register::msp::read() as usize - 64;
    let mut at = low;
    while at < sp {
        // SAFETY: [low, sp) is unused stack memory below the live frames.
        unsafe { write_volatile(at as *mut u32, PAINT) };
        at += 4;
    }
}

/// Bytes of stack used since `paint`, at the deepest point.
pub fn peak() -> usize {
    let (low, high) = bounds();
    let mut at = low;
    // SAFETY: reads words of the stack region, which is mapped RAM.
    while at < high && unsafe { read_volatile(at as *const u32) } == PAINT {
        at += 4;
    }
    high - at
}
