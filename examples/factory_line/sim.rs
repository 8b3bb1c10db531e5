//! What stands in for hardware in the simulation: the OS RNG (every party's TRNG) and the
//! per-device seed generator that lets a million simulated devices keep no state in RAM.

use provkit::ec::sha256;
use provkit::secret::SecretBytes;
use rand_core::utils::next_word_via_fill;
use std::convert::Infallible;
use zeroize::Zeroize;

/// The RNG every party uses for fresh randomness (ephemeral keys, nonces, PIN-block fill,
/// CA and BDK generation): the operating system's CSPRNG, `provkit::rng::OsRng`.
pub use provkit::rng::{OsRng, os_rng};

/// Draws a 32-byte secret from the OS RNG, reporting an RNG failure as an error rather
/// than a panic.
pub fn os_secret<const N: usize>() -> Result<SecretBytes<N>, getrandom::Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)?;
    let secret = SecretBytes::new(bytes);
    bytes.zeroize();
    Ok(secret)
}

const DEVICE_LABEL: &[u8; 27] = b"factory_line device seed v1";

/// The key-generation randomness of one simulated device:
/// SHA-256(label ‖ run seed ‖ serial ‖ block counter), a PRF of a 256-bit secret that is
/// drawn from the OS RNG once per run.
///
/// Why: a real device generates its identity key once with its own TRNG and keeps it in
/// its secure element. A simulation of 1,000,000 devices cannot keep 1,000,000 key stores
/// in memory between steps, so each step *re-creates* a device's store by running the
/// same key generation again from this deterministic stream: the device's key is the same
/// in every step (later steps check it against the certificate), no two devices share
/// one, and nothing per device stays in RAM. Only the simulation does this; every other
/// random value in the run comes from [`os_rng`].
pub struct DeviceRng<'s> {
    seed: &'s SecretBytes<32>,
    serial: u64,
    counter: u64,
    block: [u8; 32],
    used: usize,
}

impl<'s> DeviceRng<'s> {
    /// The stream of device `serial` under the run's `seed`.
    pub fn new(seed: &'s SecretBytes<32>, serial: u64) -> Self {
        Self {
            seed,
            serial,
            counter: 0,
            block: [0; 32],
            used: 32,
        }
    }

    fn refill(&mut self) {
        let mut input = [0u8; DEVICE_LABEL.len() + 32 + 8 + 8];
        let (label, rest) = input.split_at_mut(DEVICE_LABEL.len());
        let (seed, rest) = rest.split_at_mut(32);
        let (serial, counter) = rest.split_at_mut(8);
        label.copy_from_slice(DEVICE_LABEL);
        seed.copy_from_slice(self.seed.dangerous_expose());
        serial.copy_from_slice(&self.serial.to_be_bytes());
        counter.copy_from_slice(&self.counter.to_be_bytes());
        self.block = sha256(&input);
        input.zeroize();
        self.counter = self.counter.wrapping_add(1);
        self.used = 0;
    }
}

impl rand_core::TryRng for DeviceRng<'_> {
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

impl rand_core::TryCryptoRng for DeviceRng<'_> {}

impl Drop for DeviceRng<'_> {
    fn drop(&mut self) {
        self.block.zeroize();
    }
}

impl std::fmt::Debug for DeviceRng<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceRng")
            .field("serial", &self.serial)
            .finish_non_exhaustive()
    }
}
