//! Randomness for real keys: the operating system's RNG (feature `std`), and how to plug
//! in a device's hardware RNG.
//!
//! Every provkit function that makes a key, a nonce, an ephemeral key or PIN-block fill
//! takes `rng: &mut R` with `R: rand_core::CryptoRng + ?Sized`, and the `rand_core` in
//! that bound is **rand_core 0.10** (re-exported as [`provkit::rand_core`](crate::rand_core),
//! so an adapter names exactly the version provkit uses). `CryptoRng` in 0.10 is implemented
//! for every `TryCryptoRng<Error = Infallible>`: to be provkit's RNG, a type implements
//! [`TryRng`](rand_core::TryRng) with `type Error = Infallible` and the marker
//! [`TryCryptoRng`](rand_core::TryCryptoRng). Implementing that marker is the promise
//! that the bytes are unpredictable: a true RNG, or a DRBG seeded from one.
//!
//! # On a server or a PC (`std`)
//!
//! One line: `OsRng` (feature `std`) draws from the operating system's CSPRNG through
//! `getrandom` (`getrandom(2)` on Linux, `BCryptGenRandom` on Windows, ...).
//!
//! ```
//! # #[cfg(feature = "std")]
//! # fn main() -> provkit::Result<()> {
//! use provkit::rng::OsRng;
//! use provkit::store::{IdentityKeys, KeyId, MemoryStore};
//!
//! let mut store = MemoryStore::<1, 0, 0>::new();
//! let public = store.generate_p256(KeyId(1), &mut OsRng)?;
//! # let _ = public;
//! # Ok(())
//! # }
//! # #[cfg(not(feature = "std"))]
//! # fn main() {}
//! ```
//!
//! `OsRng` is infallible, as the `CryptoRng` bound requires: if the operating system
//! cannot deliver random bytes it **panics** (the convention of `getrandom` and `rand`,
//! through `rand_core::UnwrapErr`), and never hands out predictable bytes. That failure
//! practically only happens very early in boot or in a broken sandbox. A program that
//! wants to report it as an error calls `getrandom::fill` (or uses `getrandom::SysRng`,
//! which is a `TryCryptoRng` with an error) once at start-up, before making keys.
//!
//! # On a device: adapting a hardware RNG driver
//!
//! A firmware has no OS RNG; it passes its TRNG driver (or a DRBG seeded from it). HAL
//! drivers are written against other interfaces; a small newtype makes them provkit's RNG.
//! Never substitute a seeded software generator (`provkit::testing`'s are **not secure**):
//! whoever knows the seed knows every key.
//!
//! A driver with a fallible `fill` (the shape of embedded-hal 0.2's `rng::Read` and of
//! most vendor HALs). A TRNG that reports a fault (a seed or clock error) must not hand out
//! its bytes: this adapter retries a few times, then panics, which resets the device.
//!
//! ```
//! use core::convert::Infallible;
//! use provkit::rand_core::utils::next_word_via_fill;
//! use provkit::rand_core::{TryCryptoRng, TryRng};
//! # mod hal {
//! #     //! Stands in for the MCU's HAL so that this example runs on the host.
//! #     #[derive(Debug)]
//! #     pub struct TrngFault;
//! #     pub struct Trng(pub u8);
//! #     impl Trng {
//! #         pub fn fill(&mut self, buf: &mut [u8]) -> Result<(), TrngFault> {
//! #             for b in buf {
//! #                 self.0 = self.0.wrapping_mul(29).wrapping_add(7);
//! #                 *b = self.0;
//! #             }
//! #             Ok(())
//! #         }
//! #     }
//! # }
//!
//! /// The MCU's true RNG peripheral, as provkit's RNG.
//! pub struct HwRng(pub hal::Trng);
//!
//! impl TryRng for HwRng {
//!     type Error = Infallible;
//!
//!     fn try_next_u32(&mut self) -> Result<u32, Infallible> {
//!         next_word_via_fill(self)
//!     }
//!
//!     fn try_next_u64(&mut self) -> Result<u64, Infallible> {
//!         next_word_via_fill(self)
//!     }
//!
//!     fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
//!         for _ in 0..3 {
//!             if self.0.fill(dst).is_ok() {
//!                 return Ok(());
//!             }
//!         }
//!         panic!("TRNG fault: no random bytes, no keys");
//!     }
//! }
//!
//! // The promise provkit relies on: these bytes come from a true RNG.
//! impl TryCryptoRng for HwRng {}
//!
//! # fn main() -> provkit::Result<()> {
//! # use provkit::store::{IdentityKeys, KeyId, MemoryStore};
//! # let trng = hal::Trng(1);
//! let mut rng = HwRng(trng);
//! let mut store = MemoryStore::<1, 0, 0>::new();
//! store.generate_p256(KeyId(1), &mut rng)?;
//! # Ok(())
//! # }
//! ```
//!
//! A driver that implements an older rand_core's traits (many HALs implement
//! `rand_core` 0.6's `RngCore + CryptoRng`, some 0.9's): depend on that version under
//! another name, e.g. `rand_core_06 = { package = "rand_core", version = "0.6" }`, and
//! forward its three methods. rand_core 0.9's `RngCore` has the same three methods, so
//! the same adapter works with `rand_core_09` in its place. Their `fill_bytes` already
//! panics where the generator fails.
//!
//! ```
//! use core::convert::Infallible;
//! use provkit::rand_core::{TryCryptoRng, TryRng};
//!
//! /// A HAL RNG written against rand_core 0.6, as provkit's (rand_core 0.10) RNG.
//! pub struct Compat<T>(pub T);
//!
//! impl<T: rand_core_06::RngCore + rand_core_06::CryptoRng> TryRng for Compat<T> {
//!     type Error = Infallible;
//!
//!     fn try_next_u32(&mut self) -> Result<u32, Infallible> {
//!         Ok(self.0.next_u32())
//!     }
//!
//!     fn try_next_u64(&mut self) -> Result<u64, Infallible> {
//!         Ok(self.0.next_u64())
//!     }
//!
//!     fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
//!         self.0.fill_bytes(dst);
//!         Ok(())
//!     }
//! }
//!
//! // Only for what the HAL itself marks as a CryptoRng.
//! impl<T: rand_core_06::RngCore + rand_core_06::CryptoRng> TryCryptoRng for Compat<T> {}
//!
//! # /// Stands in for the HAL's TRNG driver so that this example runs on the host.
//! # struct HalTrng(u64);
//! # impl rand_core_06::RngCore for HalTrng {
//! #     fn next_u32(&mut self) -> u32 { self.next_u64() as u32 }
//! #     fn next_u64(&mut self) -> u64 {
//! #         self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1);
//! #         self.0
//! #     }
//! #     fn fill_bytes(&mut self, dst: &mut [u8]) { rand_core_06::impls::fill_bytes_via_next(self, dst) }
//! #     fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), rand_core_06::Error> {
//! #         self.fill_bytes(dst);
//! #         Ok(())
//! #     }
//! # }
//! # impl rand_core_06::CryptoRng for HalTrng {}
//! # fn main() -> provkit::Result<()> {
//! # use provkit::store::{IdentityKeys, KeyId, MemoryStore};
//! # let hal_trng = HalTrng(1);
//! let mut rng = Compat(hal_trng);
//! let mut store = MemoryStore::<1, 0, 0>::new();
//! store.generate_p256(KeyId(1), &mut rng)?;
//! # Ok(())
//! # }
//! ```
//!
//! A driver whose errors you would rather see as a type can implement `TryRng` with its
//! own `Error` (and `TryCryptoRng`), and be passed as `&mut rand_core::UnwrapErr(driver)`,
//! which panics on an error like the adapters above.

#[cfg(feature = "std")]
pub use os::{OsRng, os_rng};

#[cfg(feature = "std")]
mod os {
    use core::convert::Infallible;

    /// The operating system's cryptographically secure RNG (through `getrandom`), as
    /// provkit's `rand_core::CryptoRng`. Feature `std`.
    ///
    /// A zero-sized handle: write `&mut OsRng` wherever provkit asks for an RNG. Each call
    /// asks the operating system; nothing is buffered or seeded in the process.
    ///
    /// # Panics
    /// Every method panics if the operating system cannot deliver random bytes (see the
    /// [module documentation](crate::rng)); it never returns predictable bytes.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct OsRng;

    /// A handle on the operating system's RNG: the same as writing [`OsRng`].
    #[must_use]
    pub const fn os_rng() -> OsRng {
        OsRng
    }

    // An OS RNG failure cannot be carried through `CryptoRng`'s infallible interface; it
    // must not be ignored either: the getrandom/rand convention is to panic.
    #[allow(clippy::panic)]
    fn fail(err: getrandom::Error) -> Infallible {
        panic!("provkit::rng::OsRng: the operating system's random number generator failed: {err}")
    }

    impl rand_core::TryRng for OsRng {
        type Error = Infallible;

        fn try_next_u32(&mut self) -> Result<u32, Infallible> {
            getrandom::u32().map_err(fail)
        }

        fn try_next_u64(&mut self) -> Result<u64, Infallible> {
            getrandom::u64().map_err(fail)
        }

        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
            getrandom::fill(dst).map_err(fail)
        }
    }

    impl rand_core::TryCryptoRng for OsRng {}

    #[cfg(test)]
    mod tests {
        use super::OsRng;
        use rand_core::Rng;

        #[test]
        fn fills_and_differs() {
            let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
            OsRng.fill_bytes(&mut a);
            OsRng.fill_bytes(&mut b);
            assert_ne!(a, [0; 32]);
            assert_ne!(a, b);
            assert_ne!(super::os_rng().next_u64(), OsRng.next_u64());
        }

        #[test]
        fn is_a_crypto_rng() {
            fn takes<R: rand_core::CryptoRng + ?Sized>(_: &mut R) {}
            takes(&mut OsRng);
            takes(&mut super::os_rng());
        }
    }
}
