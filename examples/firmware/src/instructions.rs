//! Instructions per step, counted by QEMU: run with `-icount shift=0` (the runner in
//! `.cargo/config.toml`), every guest instruction advances virtual time by exactly 1 ns,
//! and SysTick, clocked from the 25 MHz core clock of `mps2-an386`, ticks once per
//! 40 instructions. SysTick is 24 bits wide; its interrupt counts the wraps, so a count
//! is exact to one tick (40 instructions) however long the step.
//!
//! [`calibrate`] checks that ratio with a loop of a known number of instructions before
//! anything is measured, so a QEMU that stops counting instructions (or another clock)
//! fails the proof instead of printing wrong figures.

use core::sync::atomic::{AtomicU32, Ordering};
use cortex_m::peripheral::syst::SystClkSource;
use cortex_m::peripheral::{SCB, SYST};
use cortex_m_rt::exception;

/// The 24-bit reload value: the counter runs 2^24 ticks between wraps.
const RELOAD: u32 = 0x00ff_ffff;
/// Core clock / (1 instruction per ns) = 1e9 / 25e6.
pub const INSTRUCTIONS_PER_TICK: u64 = 40;

static WRAPS: AtomicU32 = AtomicU32::new(0);

#[exception]
fn SysTick() {
    WRAPS.fetch_add(1, Ordering::Relaxed);
}

/// Starts SysTick from the core clock, free-running, its interrupt counting wraps.
pub fn start(mut syst: SYST) {
    syst.set_clock_source(SystClkSource::Core);
    syst.set_reload(RELOAD);
    syst.clear_current();
    syst.enable_interrupt();
    syst.enable_counter();
    // The current value reads 0 until the first tick loads the reload value.
    while SYST::get_current() == 0 {}
}

/// Ticks since [`start`]. A wrap whose interrupt is still pending (QEMU takes
/// interrupts at translation-block boundaries, a few instructions late) is counted too.
fn ticks() -> u64 {
    loop {
        let wraps = WRAPS.load(Ordering::Relaxed);
        let pending_before = SCB::is_pendst_pending();
        let current = SYST::get_current();
        let pending_after = SCB::is_pendst_pending();
        if pending_before != pending_after || WRAPS.load(Ordering::Relaxed) != wraps {
            continue; // a wrap happened while reading: read again
        }
        let wraps = u64::from(wraps) + u64::from(pending_before);
        return wraps * u64::from(RELOAD + 1) + u64::from(RELOAD - current);
    }
}

/// A point in the instruction count.
#[derive(Clone, Copy)]
pub struct Mark(u64);

impl Mark {
    pub fn now() -> Self {
        Self(ticks())
    }

    /// Instructions executed since this mark (to the nearest 40).
    pub fn elapsed(self) -> u64 {
        ticks().saturating_sub(self.0) * INSTRUCTIONS_PER_TICK
    }
}

/// Runs a countdown loop of 2 instructions per turn (`subs`, `bne`) and checks that
/// SysTick saw 40 instructions per tick, within 0.1 %. Returns whether it did, and the
/// measured instructions per tick × 1000.
pub fn calibrate() -> (bool, u64) {
    const TURNS: u32 = 4_000_000;
    let start = ticks();
    // SAFETY: a register-only countdown loop; touches no memory and no stack.
    unsafe {
        core::arch::asm!(
            "2:",
            "subs {n}, {n}, #1",
            "bne 2b",
            n = inout(reg) TURNS => _,
            options(nomem, nostack),
        );
    }
    let elapsed = ticks() - start;
    let instructions = 2 * u64::from(TURNS);
    let milli = instructions * 1000 / elapsed.max(1);
    (milli.abs_diff(INSTRUCTIONS_PER_TICK * 1000) <= 40, milli)
}
