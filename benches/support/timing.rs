//! Timing helpers shared by the benches that print ratios of interleaved workloads.
#![allow(dead_code)] // each bench uses a subset

use std::time::Instant;

/// Median of `samples` (sorted in place).
pub fn median(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Median per-call time of `f`, in ns, over `rounds` rounds of `per_round` calls.
pub fn median_ns(rounds: &mut [f64], per_round: u32, f: &mut dyn FnMut()) -> f64 {
    for slot in rounds.iter_mut() {
        let t = Instant::now();
        for _ in 0..per_round {
            f();
        }
        *slot = t.elapsed().as_nanos() as f64 / f64::from(per_round);
    }
    median(rounds)
}
