//! Randomness for the emulated device. QEMU's mps2-an386 has no TRNG; a real device
//! passes its hardware RNG wherever these are used.

use core::convert::Infallible;
use sha2::{Digest, Sha256};

/// Hands out fixed bytes: reproduces the host's handshake vector.
pub struct Fixed<const N: usize>(pub [u8; N], pub usize);

impl<const N: usize> rand_core::TryRng for Fixed<N> {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for d in dst {
            *d = self.0.get(self.1 % N).copied().unwrap_or(0);
            self.1 += 1;
        }
        Ok(())
    }
}
impl<const N: usize> rand_core::TryCryptoRng for Fixed<N> {}

/// SHA-256 in counter mode from a seed: emulation only, NOT a device RNG.
pub struct Drbg {
    seed: u64,
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl Drbg {
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }
}

impl rand_core::TryRng for Drbg {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for d in dst {
            if self.used == 32 {
                let mut h = Sha256::new();
                h.update(self.seed.to_le_bytes());
                h.update(self.counter.to_le_bytes());
                self.block = h.finalize().into();
                self.counter += 1;
                self.used = 0;
            }
            *d = self.block[self.used];
            self.used += 1;
        }
        Ok(())
    }
}
impl rand_core::TryCryptoRng for Drbg {}
