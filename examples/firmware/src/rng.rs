//! The randomness of this proof, which runs on QEMU's `mps2-an386`: that machine has **no
//! TRNG**, so two stand-ins live here, in the example, and nowhere in the library. Neither
//! is random. **A real device passes its TRNG driver** (or a DRBG seeded from it) wherever
//! these are passed; `provkit::rng`'s documentation shows how to adapt a HAL's driver to
//! provkit's `rand_core::CryptoRng`.

use core::convert::Infallible;
use provkit::rand_core::utils::next_word_via_fill;
use provkit::rand_core::{TryCryptoRng, TryRng};

/// Replays fixed bytes, in order, cycling: the ephemeral keys and PIN-block fill of the
/// host's test vectors, so that this firmware reproduces the host transcript and DUKPT
/// vectors byte for byte (the key generation code path stays the real one).
///
/// **NOT RANDOM.** Only for reproducing vectors; a real device passes its TRNG.
pub struct VectorReplayRng<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> VectorReplayRng<'a> {
    /// Hands out `bytes`, then starts over.
    pub const fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, pos: 0 }
    }
}

impl TryRng for VectorReplayRng<'_> {
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

// A false promise, made only so that the vectors' fixed ephemerals reach the real API.
impl TryCryptoRng for VectorReplayRng<'_> {}

/// Stands in for the TRNG that QEMU lacks, where the proof needs fresh-looking randomness
/// (the second pairing, the telemetry server's key): SHA-256 in counter mode over a
/// fixed seed.
///
/// **PLACEHOLDER, NOT SECURE:** its whole output follows from a small seed in this source
/// file. A real device passes its TRNG driver here.
pub struct PlaceholderRng {
    seed: u64,
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl PlaceholderRng {
    /// The stand-in's stream for `seed`.
    pub const fn new(seed: u64) -> Self {
        Self {
            seed,
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }

    fn refill(&mut self) {
        const LABEL: &[u8; 40] = b"provkit-firmware PlaceholderRng NO TRNG!";
        let mut input = [0u8; 40 + 8 + 8];
        input[..40].copy_from_slice(LABEL);
        input[40..48].copy_from_slice(&self.seed.to_be_bytes());
        input[48..].copy_from_slice(&self.counter.to_be_bytes());
        self.block = provkit::ec::sha256(&input);
        self.counter = self.counter.wrapping_add(1);
        self.used = 0;
    }
}

impl TryRng for PlaceholderRng {
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

// A placeholder's promise: on hardware, only the TRNG driver may make it.
impl TryCryptoRng for PlaceholderRng {}
