//! [`HostCache`]: a per-device cache of intermediate derivation keys for the host, and the
//! key table it shares with [`InitialKey::for_each_working_key`].

use super::kdf::encrypt_blocks;
use super::keys::{
    AesKeySize, InitialKey, KeyType, TransactionKey, WorkingKey, WorkingKeyUsage, derive_step,
    intermediate_derivation_data, working_key_derivation_data,
};
use super::ksn::AesKsn;
use crate::error::{DukptError, Error, Result};
use crate::secret::SecretBytes;
use core::fmt;
use zeroize::Zeroize;

/// One entry per bit position of the counter.
const BITS: usize = 32;

/// Blocks one key schedule can be asked for at once: a working key (up to two blocks) and
/// up to 31 children of two blocks each (192- and 256-bit intermediate keys).
const MAX_BLOCKS: usize = 2 + 2 * (BITS - 1);

/// Intermediate keys of one initial key, each tagged with its counter prefix and filed
/// under the lowest one-bit of that prefix.
///
/// Every stored key is simply the intermediate key of its prefix, whatever happens to the
/// other entries, so a lookup never needs more than the tag check. Two kinds of keys land
/// here: the path of the counter derived last (its prefixes), and the *future keys*: when
/// the working key of counter `c` is derived, the same key schedule and the same call
/// into the aes crate also give the intermediate keys of `c`'s children
/// `c | 1 << j` (every `j` below `c`'s lowest one-bit), the ones in-order counters
/// reach next. This is the device's own register scheme (X9.24-3 keeps one future key
/// per bit position) on the host: for counters that arrive in order, every working key
/// then costs one key schedule and one call into the aes crate (one multi-block
/// encryption), and no intermediate derivation at all.
pub(crate) struct KeyTable {
    prefixes: [u32; BITS],
    keys: [SecretBytes<32>; BITS],
    /// Blocks for one multi-block encryption; zeroed again after every use.
    scratch: [[u8; 16]; MAX_BLOCKS],
}

impl KeyTable {
    pub(crate) const fn new() -> Self {
        Self {
            prefixes: [0; BITS],
            keys: [const { SecretBytes::zero() }; BITS],
            scratch: [[0; 16]; MAX_BLOCKS],
        }
    }

    /// Forgets every key (zeroizing them).
    pub(crate) fn clear(&mut self) {
        for k in &mut self.keys {
            k.zeroize();
        }
        self.prefixes = [0; BITS];
    }

    /// Number of keys held.
    fn len(&self) -> usize {
        self.prefixes.iter().filter(|&&p| p != 0).count()
    }

    /// The deepest prefix of `counter` held (`counter` itself first), with its slot.
    fn deepest_slot(&self, counter: u32) -> Option<(u32, usize)> {
        let mut rest = counter;
        while rest != 0 {
            let slot = rest.trailing_zeros() as usize;
            let prefix = counter & (u32::MAX << slot);
            if self.prefixes.get(slot) == Some(&prefix) {
                return Some((prefix, slot));
            }
            rest &= rest - 1;
        }
        None
    }

    /// The deepest prefix of `counter` held (`counter` itself first), with its key.
    pub(crate) fn deepest(&self, counter: u32) -> Option<(u32, &SecretBytes<32>)> {
        let (prefix, slot) = self.deepest_slot(counter)?;
        self.keys.get(slot).map(|k| (prefix, k))
    }

    /// Files `key` (the intermediate key of `prefix`, which is not 0) under `prefix`'s
    /// lowest one-bit, replacing what was there.
    pub(crate) fn store(&mut self, prefix: u32, key: &[u8]) {
        let slot = prefix.trailing_zeros() as usize;
        if let (Some(p), Some(k)) = (self.prefixes.get_mut(slot), self.keys.get_mut(slot)) {
            overwrite(k.expose_mut(), key);
            *p = prefix;
        }
    }

    /// Files the intermediate key of `counter` and of each prefix on the way, deriving
    /// from the deepest prefix held (or the initial key) one key per remaining one-bit,
    /// and returns the slot of `counter`'s key. `counter` must not be 0.
    fn walk(&mut self, ik: &InitialKey, counter: u32) -> Result<usize> {
        let size = ik.size();
        let (mut prefix, mut src) = match self.deepest_slot(counter) {
            Some((p, slot)) => (p, Some(slot)),
            None => (0, None),
        };
        let mut remaining = counter & !prefix;
        while remaining != 0 {
            let top = 1u32 << (31 - remaining.leading_zeros());
            prefix |= top;
            remaining &= !top;
            let slot = top.trailing_zeros() as usize;
            let dd = intermediate_derivation_data(size, ik.initial_key_id(), prefix);
            // The parent's slot is above this one (its lowest one-bit is higher).
            let (low, high) = self.keys.split_at_mut(slot + 1);
            let parent = match src {
                Some(s) => high.get(s - slot - 1),
                None => Some(ik.key()),
            };
            let (Some(parent), Some(dst), Some(tag)) =
                (parent, low.last_mut(), self.prefixes.get_mut(slot))
            else {
                return Err(Error::Unsupported);
            };
            // Untagged while it is rewritten, so a failed step leaves no wrong key.
            *tag = 0;
            derive_step(parent, dst, size, &dd)?;
            *tag = prefix;
            src = Some(slot);
        }
        Ok(counter.trailing_zeros() as usize)
    }

    /// The intermediate key of `counter` (not 0), walking as needed.
    pub(crate) fn transaction_key(
        &mut self,
        ik: &InitialKey,
        counter: u32,
    ) -> Result<SecretBytes<32>> {
        let slot = self.walk(ik, counter)?;
        let key = self.keys.get(slot).ok_or(Error::Unsupported)?;
        Ok(SecretBytes::new(*key.expose()))
    }

    /// The working key of `usage` and `key_type` for `ksn` (whose counter is not 0),
    /// walking as needed, and the future keys of the counter's children.
    pub(crate) fn working_key(
        &mut self,
        ik: &InitialKey,
        ksn: &AesKsn,
        usage: WorkingKeyUsage,
        key_type: KeyType,
    ) -> Result<WorkingKey> {
        let size = ik.size();
        if !key_type.allowed_under(size) {
            return Err(DukptError::KeyTooStrong.into());
        }
        let slot = self.walk(ik, ksn.counter())?;
        self.working_key_and_children(Key::Slot(slot), size, ksn, usage, key_type)
    }

    /// From `key`, the intermediate key of `ksn`'s counter (a key of `size`, allowed to
    /// derive `key_type`), with one key schedule and one multi-block encryption: the
    /// working key of `usage` and `key_type`, and the future keys of the counter's
    /// children, filed here. A counter with 16 one-bits has no valid child and gets none.
    pub(crate) fn working_key_and_children(
        &mut self,
        key: Key<'_>,
        size: AesKeySize,
        ksn: &AesKsn,
        usage: WorkingKeyUsage,
        key_type: KeyType,
    ) -> Result<WorkingKey> {
        let counter = ksn.counter();
        let key_len = size.key_len();
        let work_len = key_type.key_len();
        let children = if counter != 0 && counter.count_ones() < 16 {
            counter.trailing_zeros()
        } else {
            0
        };
        // The blocks: the working key's, then each child's (block counters 1, 2).
        let work_blocks = work_len.div_ceil(16);
        let child_blocks = key_len.div_ceil(16);
        let mut n = 0usize;
        let mut push = |scratch: &mut [[u8; 16]; MAX_BLOCKS], dd: [u8; 16], count: usize| {
            for block_counter in (1u8..).take(count) {
                if let Some(b) = scratch.get_mut(n) {
                    *b = dd;
                    b[1] = block_counter;
                    n += 1;
                }
            }
        };
        push(
            &mut self.scratch,
            working_key_derivation_data(ksn, usage, key_type),
            work_blocks,
        );
        for j in (0..children).rev() {
            let dd = intermediate_derivation_data(size, ksn.initial_key_id(), counter | 1 << j);
            push(&mut self.scratch, dd, child_blocks);
        }
        let key = match key {
            Key::Slot(slot) => self.keys.get(slot).and_then(|k| k.expose().get(..key_len)),
            Key::Bytes(bytes) => Some(bytes),
        };
        let blocks = self.scratch.get_mut(..n);
        let result = match (key, blocks) {
            (Some(key), Some(blocks)) => encrypt_blocks(key, blocks),
            _ => Err(Error::Unsupported),
        };
        let out = result.map(|()| {
            let flat = self.scratch.as_flattened();
            let mut work = SecretBytes::<32>::zero();
            overwrite(work.expose_mut(), flat.get(..work_len).unwrap_or(&[]));
            for (i, j) in (0..children).rev().enumerate() {
                let first = (work_blocks + i * child_blocks) * 16;
                let slot = j as usize;
                if let (Some(p), Some(k), Some(src)) = (
                    self.prefixes.get_mut(slot),
                    self.keys.get_mut(slot),
                    flat.get(first..first + key_len),
                ) {
                    overwrite(k.expose_mut(), src);
                    *p = counter | 1 << j;
                }
            }
            WorkingKey::new(*ksn, usage, key_type, work)
        });
        if let Some(used) = self.scratch.as_flattened_mut().get_mut(..n * 16) {
            used.zeroize();
        }
        out
    }
}

/// Where [`KeyTable::working_key_and_children`] finds its key.
pub(crate) enum Key<'a> {
    /// In the table's slot.
    Slot(usize),
    /// Elsewhere.
    Bytes(&'a [u8]),
}

/// Writes `key` over the start of `dst` and zeros over the rest.
fn overwrite(dst: &mut [u8; 32], key: &[u8]) {
    let (head, tail) = dst.split_at_mut(key.len().min(32));
    head.copy_from_slice(key.get(..head.len()).unwrap_or(&[]));
    tail.fill(0);
}

impl Drop for KeyTable {
    fn drop(&mut self) {
        // The keys wipe themselves; the scratch blocks are zero after every use already.
        for b in &mut self.scratch {
            b.zeroize();
        }
    }
}

/// A host-side cache of one device's intermediate derivation keys.
///
/// Deriving the transaction key of counter `c` from the initial key walks the one-bits
/// of `c` from the most significant down, one AES derivation per bit. Consecutive
/// counters of one device share most of that walk: `c + 1` keeps every bit of `c` above
/// the bit that the increment sets. The cache keeps one intermediate key per bit
/// position (32 keys, 1 KiB, and 1 KiB of scratch blocks zeroed after each use; all
/// zeroized on drop): the prefixes of the last counter derived
/// and, with each working key, the intermediate keys of the counter's children (derived
/// in the same AES call, as the device's own future-key registers). A lookup restarts
/// the walk from the deepest prefix held, so in-order counters cost one key schedule and
/// one AES call per working key (no intermediate derivation), out-of-order ones a walk
/// from their longest cached prefix.
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
    table: KeyTable,
}

impl HostCache {
    /// An empty cache for the device of `ik`.
    #[must_use]
    pub const fn new(ik: InitialKey) -> Self {
        Self {
            ik,
            table: KeyTable::new(),
        }
    }

    /// The device's initial key.
    #[must_use]
    pub const fn initial_key(&self) -> &InitialKey {
        &self.ik
    }

    /// Forgets every cached intermediate key (zeroizing them).
    pub fn clear(&mut self) {
        self.table.clear();
    }

    /// The transaction key for `ksn`, as [`InitialKey::transaction_key`].
    ///
    /// # Errors
    /// As [`InitialKey::transaction_key`].
    pub fn transaction_key(&mut self, ksn: &AesKsn) -> Result<TransactionKey> {
        self.ik.check_strict(ksn)?;
        let key = self.table.transaction_key(&self.ik, ksn.counter())?;
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
            return Err(DukptError::KeyTooStrong.into());
        }
        self.ik.check_strict(ksn)?;
        self.table.working_key(&self.ik, ksn, usage, key_type)
    }
}

impl fmt::Debug for HostCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HostCache")
            .field("ik", &self.ik)
            .field("cached", &self.table.len())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;
    use crate::dukpt::keys::{AesBdk, derive_path};
    use crate::dukpt::ksn::InitialKeyId;

    /// A working key leaves its counter's children in the table as future keys (none
    /// once the counter has 16 one-bits), so the next in-order counters need no
    /// intermediate derivation; each is the plain derivation's transaction key.
    #[test]
    fn working_keys_file_the_future_keys_of_their_children() {
        for (size, bdk) in [
            (AesKeySize::Aes128, &[7u8; 16][..]),
            (AesKeySize::Aes256, &[9u8; 32][..]),
        ] {
            let ikid = InitialKeyId::new([1, 2, 3, 4, 5, 6, 7, 8]);
            let ik = AesBdk::from_bytes(bdk).unwrap().initial_key(ikid).unwrap();
            let mut cache =
                HostCache::new(AesBdk::from_bytes(bdk).unwrap().initial_key(ikid).unwrap());
            let ksn = AesKsn::new(ikid, 0b1011_1000);
            cache
                .working_key(&ksn, WorkingKeyUsage::PinEncryption, KeyType::Aes128)
                .unwrap();
            for child in [0b1011_1001u32, 0b1011_1010, 0b1011_1100] {
                let (prefix, key) = cache.table.deepest(child).unwrap();
                assert_eq!(prefix, child, "{size:?}");
                let mut want = SecretBytes::new(*ik.key().expose());
                derive_path(&mut want, size, ikid, 0, child).unwrap();
                assert_eq!(key.expose(), want.expose(), "{size:?} {child:#b}");
            }
            // The path is there too; the next in-order counter is a child already.
            assert_eq!(cache.table.deepest(0b1000_0000).unwrap().0, 0b1000_0000);
            assert_eq!(cache.table.len(), 7);
            // 16 one-bits: no valid child, none filed.
            cache.clear();
            let full = AesKsn::new(ikid, 0xFFFF_0000);
            cache
                .working_key(&full, WorkingKeyUsage::PinEncryption, KeyType::Aes128)
                .unwrap();
            assert_eq!(cache.table.len(), 16);
            assert_eq!(cache.table.deepest(0xFFFF_8000).unwrap().0, 0xFFFF_0000);
        }
    }
}
