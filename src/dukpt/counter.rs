//! Transaction-counter arithmetic shared by AES DUKPT (32-bit counter, at most 16
//! one-bits) and TDES DUKPT (21-bit counter, at most 10 one-bits).

/// The shape of a scheme's counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CounterRule {
    /// Width of the counter field in bits (32 or 21); also the number of registers.
    pub(crate) bits: u32,
    /// Most one-bits a transaction counter may have (16 or 10).
    pub(crate) max_ones: u32,
}

pub(crate) const AES_RULE: CounterRule = CounterRule {
    bits: 32,
    max_ones: 16,
};

#[cfg(feature = "tdes")]
pub(crate) const TDES_RULE: CounterRule = CounterRule {
    bits: 21,
    max_ones: 10,
};

impl CounterRule {
    /// One more than the largest value the field holds.
    const fn limit(self) -> u64 {
        1u64 << self.bits
    }

    /// True when `c` fits the field.
    pub(crate) const fn fits(self, c: u32) -> bool {
        (c as u64) < self.limit()
    }

    /// True for a counter an originating device may use: not 0, inside the field, at
    /// most `max_ones` one-bits.
    pub(crate) const fn is_valid(self, c: u32) -> bool {
        c != 0 && self.fits(c) && c.count_ones() <= self.max_ones
    }

    /// The counter after `c`: `c + 1`, then while it has too many one-bits add its lowest
    /// set bit. `None` when that leaves the field (the device is exhausted).
    pub(crate) const fn next(self, c: u32) -> Option<u32> {
        let Some(mut n) = c.checked_add(1) else {
            return None;
        };
        while self.fits(n) && n.count_ones() > self.max_ones {
            match n.checked_add(n & n.wrapping_neg()) {
                Some(x) => n = x,
                None => return None,
            }
        }
        if self.fits(n) { Some(n) } else { None }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aes_advance_edges() {
        assert_eq!(AES_RULE.next(0), Some(1));
        assert_eq!(AES_RULE.next(0xFFFE), Some(0xFFFF));
        assert_eq!(AES_RULE.next(0xFFFF), Some(0x1_0000));
        assert_eq!(AES_RULE.next(0x7FFF_8000), Some(0x8000_0000));
        assert_eq!(AES_RULE.next(0xFFFE_8000), Some(0xFFFF_0000));
        assert_eq!(AES_RULE.next(0xFFFF_0000), None);
        assert!(!AES_RULE.is_valid(0x1_FFFF));
        assert!(AES_RULE.is_valid(0xFFFF_0000));
    }

    #[cfg(feature = "tdes")]
    #[test]
    fn tdes_advance_edges() {
        assert_eq!(TDES_RULE.next(0x3FF), Some(0x400));
        assert_eq!(TDES_RULE.next(0xFFC00), Some(0x10_0000));
        assert_eq!(TDES_RULE.next(0x1F_F800), None);
        assert!(!TDES_RULE.fits(0x20_0000));
    }

    #[test]
    fn next_is_the_smallest_valid_successor() {
        for rule in [
            CounterRule {
                bits: 12,
                max_ones: 5,
            },
            CounterRule {
                bits: 9,
                max_ones: 3,
            },
        ] {
            for c in 0..(1u32 << rule.bits) {
                let brute = (c + 1..(1u32 << rule.bits)).find(|&n| rule.is_valid(n));
                assert_eq!(rule.next(c), brute, "{rule:?} {c:#x}");
            }
        }
    }
}
