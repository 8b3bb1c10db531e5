//! [`HostCache`]: a per-device cache of intermediate derivation keys for the host.

use super::keys::{
    InitialKey, KeyType, TransactionKey, WorkingKey, WorkingKeyUsage, derive_step,
    intermediate_derivation_data, working_key_from,
};
use super::ksn::AesKsn;
use crate::error::{Error, Result};
use crate::secret::SecretBytes;
use core::fmt;

/// Intermediate keys along the path of the last counter derived.
const DEPTH: usize = 32;

/// A host-side cache of one device's intermediate derivation keys.
///
/// Deriving the transaction key of counter `c` from the initial key walks the one-bits
/// of `c` from the most significant down, one AES derivation per bit. Consecutive
/// counters of one device share most of that walk: `c + 1` keeps every bit of `c` above
/// the bit that the increment sets. The cache keeps the intermediate key of every prefix
/// of the last counter (at most 32 keys, 1 KiB, zeroized on drop) and restarts the walk
/// from the longest shared prefix, so in-order counters cost about two derivations
/// (one intermediate, one working key) instead of popcount(c) + 1.
///
/// What it holds is exactly as sensitive as the initial key it was built from (every
/// cached key is derivable from it, none lets you derive the IK). Keep one cache per
/// device the host is actively serving, e.g. in a map keyed by [`InitialKeyId`], and
/// drop it when the device goes idle.
///
/// Results are identical to [`InitialKey::transaction_key`] and
/// [`InitialKey::working_key`], with the same strict KSN checks.
///
/// [`InitialKeyId`]: super::InitialKeyId
pub struct HostCache {
    ik: InitialKey,
    depth: usize,
    prefixes: [u32; DEPTH],
    keys: [SecretBytes<32>; DEPTH],
}

impl HostCache {
    /// An empty cache for the device of `ik`.
    #[must_use]
    pub const fn new(ik: InitialKey) -> Self {
        Self {
            ik,
            depth: 0,
            prefixes: [0; DEPTH],
            keys: [const { SecretBytes::zero() }; DEPTH],
        }
    }

    /// The device's initial key.
    #[must_use]
    pub const fn initial_key(&self) -> &InitialKey {
        &self.ik
    }

    /// Forgets every cached intermediate key (zeroizing them).
    pub fn clear(&mut self) {
        for k in &mut self.keys {
            zeroize::Zeroize::zeroize(k);
        }
        self.depth = 0;
    }

    /// Walks `ksn`'s counter reusing the cached prefix; returns the path depth (the
    /// counter's popcount), the counter's intermediate key being `keys[depth - 1]`.
    fn walk(&mut self, ksn: &AesKsn) -> Result<usize> {
        self.ik.check_strict(ksn)?;
        let size = self.ik.size();
        let ikid = self.ik.initial_key_id();
        let counter = ksn.counter();
        let mut remaining = counter;
        let mut prefix = 0u32;
        let mut d = 0usize;
        // Longest prefix shared with the cached path.
        while remaining != 0 && d < self.depth {
            let top = 1u32 << (31 - remaining.leading_zeros());
            if self.prefixes.get(d) != Some(&(prefix | top)) {
                break;
            }
            prefix |= top;
            remaining &= !top;
            d += 1;
        }
        // Derive the rest, extending the path.
        while remaining != 0 {
            let top = 1u32 << (31 - remaining.leading_zeros());
            prefix |= top;
            remaining &= !top;
            let dd = intermediate_derivation_data(size, ikid, prefix);
            let (done, rest) = self.keys.split_at_mut(d);
            let dst = rest.first_mut().ok_or(Error::Unsupported)?;
            let src = done.last().unwrap_or(self.ik.key());
            if let Err(e) = derive_step(src, dst, size, &dd) {
                self.depth = d;
                return Err(e);
            }
            if let Some(p) = self.prefixes.get_mut(d) {
                *p = prefix;
            }
            d += 1;
        }
        self.depth = d;
        Ok(d)
    }

    fn path_key(&self, depth: usize) -> &SecretBytes<32> {
        depth
            .checked_sub(1)
            .and_then(|i| self.keys.get(i))
            .unwrap_or(self.ik.key())
    }

    /// The transaction key for `ksn`, as [`InitialKey::transaction_key`].
    ///
    /// # Errors
    /// As [`InitialKey::transaction_key`].
    pub fn transaction_key(&mut self, ksn: &AesKsn) -> Result<TransactionKey> {
        let depth = self.walk(ksn)?;
        let key = SecretBytes::new(*self.path_key(depth).expose());
        Ok(TransactionKey::new(*ksn, self.ik.size(), key))
    }

    /// The working key for `ksn`, as [`InitialKey::working_key`].
    ///
    /// # Errors
    /// As [`InitialKey::working_key`].
    pub fn working_key(
        &mut self,
        ksn: &AesKsn,
        usage: WorkingKeyUsage,
        key_type: KeyType,
    ) -> Result<WorkingKey> {
        if !key_type.allowed_under(self.ik.size()) {
            return Err(crate::error::DukptError::KeyTooStrong.into());
        }
        let depth = self.walk(ksn)?;
        working_key_from::<true>(self.path_key(depth), self.ik.size(), ksn, usage, key_type)
    }
}

impl fmt::Debug for HostCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostCache")
            .field("ik", &self.ik)
            .field("depth", &self.depth)
            .finish_non_exhaustive()
    }
}
