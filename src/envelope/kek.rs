//! Key-encryption keys (KEKs): names, versions, and where each version lives in a store.

use crate::envelope::rewrap::Census;
use crate::error::{EnvelopeError, Error, Result, StoreError};
use crate::store::{KeyId, WrapAlgorithm};
use core::fmt;

/// A KEK's name: 8 opaque bytes, carried in every envelope (not Tink's 4 random bytes:
/// 64 bits leave room for meaningful names such as a tenant and a purpose).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KekId(pub [u8; 8]);

impl fmt::Debug for KekId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KekId(")?;
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// One version of a KEK: what an envelope header names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KekRef {
    /// The KEK's name.
    pub id: KekId,
    /// Its version, from 1; rotation adds a higher one.
    pub version: u32,
}

/// Where a KEK version lives: the store handle of the AES key and the wrap mechanism the
/// store (an HSM, say) uses with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KekSlot {
    /// The KEK version.
    pub kek: KekRef,
    /// The AES key in the store that holds this version.
    pub key: KeyId,
    /// How DEKs are wrapped under it (AES-KW or AES-KWP; both give the same length for the
    /// 48-byte DEK block, so a rewrap may switch).
    pub wrap: WrapAlgorithm,
}

/// Maps KEK names and versions to store handles, and enforces the version policy.
///
/// The mapping from ([`KekId`], version) to a store [`KeyId`] is the directory's to
/// choose: [`KekRing`] keeps an explicit table; a database-backed directory might keep a
/// row per version. No envelope is ever trial-decrypted: the header names the version, and
/// the directory answers in one lookup.
pub trait KekDirectory {
    /// The slot to encrypt under for KEK `id`: its primary (highest) version.
    ///
    /// # Errors
    /// [`EnvelopeError::UnknownKek`] if `id` has no version.
    fn encrypt_slot(&self, id: KekId) -> Result<KekSlot>;

    /// The slot holding `kek`, for decryption (open, or the source side of a rewrap).
    ///
    /// # Errors
    /// [`EnvelopeError::UnknownKek`]; [`EnvelopeError::KekVersionRetired`] when the
    /// version is below the KEK's minimum decryption version.
    fn decrypt_slot(&self, kek: KekRef) -> Result<KekSlot>;
}

/// A fixed-capacity, heap-free [`KekDirectory`]: up to `N` KEK versions, and a minimum
/// decryption version per KEK.
///
/// Rotation without downtime, in the order Vault and Tink users learned the hard way:
/// 1. [`add_version`](Self::add_version) with the new key (readers that know it can
///    already decrypt; new envelopes use it as soon as it is the highest version);
/// 2. rewrap the stored envelopes ([`Envelopes::rewrap_batch`](super::Envelopes::rewrap_batch)),
///    checking the [`Census`] before and after;
/// 3. [`set_min_decrypt_version`](Self::set_min_decrypt_version), which refuses while the
///    census still counts envelopes under older versions;
/// 4. [`remove_version`](Self::remove_version) on the retired versions, then delete
///    their keys from the store.
#[derive(Clone, Debug)]
pub struct KekRing<const N: usize> {
    slots: [Option<KekSlot>; N],
    min_versions: [Option<(KekId, u32)>; N],
}

impl<const N: usize> Default for KekRing<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> KekRing<N> {
    /// An empty ring.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            slots: [None; N],
            min_versions: [None; N],
        }
    }

    /// Registers a new KEK version. It becomes the primary (encryption) version of its KEK.
    ///
    /// # Errors
    /// [`EnvelopeError::KekVersionOrder`] if the version is 0 or not above every version
    /// of that KEK registered so far; [`StoreError::Full`] when `N` versions are held.
    pub fn add_version(&mut self, slot: KekSlot) -> Result<()> {
        if slot.kek.version == 0 {
            return Err(EnvelopeError::KekVersionOrder.into());
        }
        if self
            .primary(slot.kek.id)
            .is_some_and(|p| p.kek.version >= slot.kek.version)
        {
            return Err(EnvelopeError::KekVersionOrder.into());
        }
        let free = self
            .slots
            .iter_mut()
            .find(|s| s.is_none())
            .ok_or(Error::Store(StoreError::Full))?;
        *free = Some(slot);
        Ok(())
    }

    /// The primary (highest) version of KEK `id`.
    #[must_use]
    pub fn primary(&self, id: KekId) -> Option<KekSlot> {
        self.slots
            .iter()
            .flatten()
            .filter(|s| s.kek.id == id)
            .max_by_key(|s| s.kek.version)
            .copied()
    }

    /// The minimum decryption version of KEK `id` (0: every version decrypts).
    #[must_use]
    pub fn min_decrypt_version(&self, id: KekId) -> u32 {
        self.min_versions
            .iter()
            .flatten()
            .find(|(k, _)| *k == id)
            .map_or(0, |(_, v)| *v)
    }

    /// Raises the minimum decryption version of KEK `id` to `version`: envelopes under
    /// lower versions no longer open (or rewrap). `census` must be a complete count of the
    /// envelopes still stored; the call refuses while it counts any under a lower version.
    ///
    /// # Errors
    /// [`EnvelopeError::UnknownKek`]; [`EnvelopeError::KekVersionInUse`] when the census
    /// counts envelopes below `version`, is incomplete, or `version` is above the primary;
    /// [`EnvelopeError::KekVersionOrder`] when it would lower the minimum;
    /// [`StoreError::Full`].
    pub fn set_min_decrypt_version<const M: usize>(
        &mut self,
        id: KekId,
        version: u32,
        census: &Census<M>,
    ) -> Result<()> {
        let primary = self.primary(id).ok_or(EnvelopeError::UnknownKek)?;
        if version > primary.kek.version
            || !census.is_complete()
            || census.count_below(id, version) > 0
        {
            return Err(EnvelopeError::KekVersionInUse.into());
        }
        if version < self.min_decrypt_version(id) {
            return Err(EnvelopeError::KekVersionOrder.into());
        }
        if let Some(entry) = self
            .min_versions
            .iter_mut()
            .flatten()
            .find(|(k, _)| *k == id)
        {
            entry.1 = version;
            return Ok(());
        }
        let free = self
            .min_versions
            .iter_mut()
            .find(|s| s.is_none())
            .ok_or(Error::Store(StoreError::Full))?;
        *free = Some((id, version));
        Ok(())
    }

    /// Removes a retired version (below the minimum decryption version) and returns its
    /// slot, so that the caller can delete the key from the store.
    ///
    /// # Errors
    /// [`EnvelopeError::UnknownKek`]; [`EnvelopeError::KekVersionInUse`] if the version is
    /// not retired.
    pub fn remove_version(&mut self, kek: KekRef) -> Result<KekSlot> {
        if kek.version >= self.min_decrypt_version(kek.id) {
            return Err(EnvelopeError::KekVersionInUse.into());
        }
        let entry = self
            .slots
            .iter_mut()
            .find(|s| matches!(s, Some(slot) if slot.kek == kek))
            .ok_or(EnvelopeError::UnknownKek)?;
        entry.take().ok_or(EnvelopeError::UnknownKek.into())
    }

    /// Every registered version, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &KekSlot> {
        self.slots.iter().flatten()
    }
}

impl<const N: usize> KekDirectory for KekRing<N> {
    fn encrypt_slot(&self, id: KekId) -> Result<KekSlot> {
        self.primary(id).ok_or(EnvelopeError::UnknownKek.into())
    }

    fn decrypt_slot(&self, kek: KekRef) -> Result<KekSlot> {
        let slot = self
            .slots
            .iter()
            .flatten()
            .find(|s| s.kek == kek)
            .copied()
            .ok_or(Error::Envelope(EnvelopeError::UnknownKek))?;
        if kek.version < self.min_decrypt_version(kek.id) {
            return Err(EnvelopeError::KekVersionRetired.into());
        }
        Ok(slot)
    }
}
