//! Deterministic helpers for tests, test vectors, benches and fuzzing. **NOT SECURE.**
//!
//! Enabled by the `test-suite` feature. Nothing here may make a real key or reach
//! production firmware: the RNGs are pure functions of their seed or input, which is
//! exactly what reproducible test vectors and fuzzing need and exactly what a real device
//! must never use. For real keys use `provkit::rng::OsRng` (feature `std`) or, on a device,
//! its hardware RNG (see the `rng` module for adapting a HAL driver).

use core::convert::Infallible;
use rand_core::utils::next_word_via_fill;
use sha2::{Digest, Sha256};

/// A deterministic, seedable RNG (SHA-256 in counter mode). **NOT SECURE: for tests only.**
///
/// Its whole output is a function of a 64-bit seed, so anyone can recompute every key it
/// makes. It claims `CryptoRng` only so that tests, vectors, benches and fuzz targets can
/// drive APIs that require one. For real keys use `provkit::rng::OsRng` (feature `std`) or
/// a hardware RNG.
#[derive(Debug)]
pub struct InsecureTestRng {
    seed: u64,
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl InsecureTestRng {
    /// A generator whose whole output is determined by `seed`.
    #[must_use]
    pub const fn new(seed: u64) -> Self {
        Self {
            seed,
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }

    fn refill(&mut self) {
        let mut h = Sha256::new();
        // The label keeps the type's old name: every committed test vector was made with it.
        h.update(b"provkit TestRng NO SECURITY");
        h.update(self.seed.to_be_bytes());
        h.update(self.counter.to_be_bytes());
        self.block = h.finalize().into();
        self.counter = self.counter.wrapping_add(1);
        self.used = 0;
    }
}

impl rand_core::TryRng for InsecureTestRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        next_word_via_fill(self)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        next_word_via_fill(self)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for byte in dst {
            if self.used >= self.block.len() {
                self.refill();
            }
            *byte = self.block.get(self.used).copied().unwrap_or(0);
            self.used += 1;
        }
        Ok(())
    }
}

impl rand_core::TryCryptoRng for InsecureTestRng {}

/// An "RNG" that hands out fixed bytes, in order, cycling: it makes ephemeral keys an
/// input of test vectors (the key generation code path stays the real one). **NOT SECURE:
/// for tests only.**
#[derive(Debug)]
pub struct FixedRng<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> FixedRng<'a> {
    /// Hands out `bytes`, then starts over.
    #[must_use]
    pub const fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }

    /// Bytes handed out so far (more than `bytes.len()` means it cycled).
    #[must_use]
    pub const fn consumed(&self) -> usize {
        self.pos
    }
}

impl rand_core::TryRng for FixedRng<'_> {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        next_word_via_fill(self)
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        next_word_via_fill(self)
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for d in dst {
            *d = match self.bytes.len() {
                0 => 0,
                n => self.bytes.get(self.pos % n).copied().unwrap_or(0),
            };
            self.pos += 1;
        }
        Ok(())
    }
}

impl rand_core::TryCryptoRng for FixedRng<'_> {}
