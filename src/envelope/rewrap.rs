//! Census of envelopes per KEK version, and batch rewrap reports.

use crate::envelope::format::inspect;
use crate::envelope::kek::{KekId, KekRef};
use crate::error::Error;

/// How many envelopes are under each KEK version: a dry run before a rewrap, proof after
/// it, and the evidence [`KekRing::set_min_decrypt_version`](super::KekRing::set_min_decrypt_version)
/// asks for before it retires a version.
///
/// Tracks up to `N` distinct KEK versions without a heap; envelopes under further
/// versions are counted in [`overflow`](Self::overflow), which makes the census
/// incomplete. Envelopes that do not parse are counted in
/// [`unreadable`](Self::unreadable).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Census<const N: usize> {
    entries: [Option<(KekRef, u64)>; N],
    overflow: u64,
    unreadable: u64,
}

impl<const N: usize> Default for Census<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Census<N> {
    /// An empty census.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            entries: [None; N],
            overflow: 0,
            unreadable: 0,
        }
    }

    /// Counts one envelope (its header only; no key is used).
    pub fn add(&mut self, envelope: &[u8]) {
        let Ok(info) = inspect(envelope) else {
            self.unreadable += 1;
            return;
        };
        if let Some((_, n)) = self
            .entries
            .iter_mut()
            .flatten()
            .find(|(k, _)| *k == info.kek)
        {
            *n += 1;
        } else if let Some(free) = self.entries.iter_mut().find(|e| e.is_none()) {
            *free = Some((info.kek, 1));
        } else {
            self.overflow += 1;
        }
    }

    /// Envelopes under `kek`.
    #[must_use]
    pub fn count(&self, kek: KekRef) -> u64 {
        self.entries
            .iter()
            .flatten()
            .find(|(k, _)| *k == kek)
            .map_or(0, |(_, n)| *n)
    }

    /// Envelopes under versions of KEK `id` below `version`.
    #[must_use]
    pub fn count_below(&self, id: KekId, version: u32) -> u64 {
        self.entries
            .iter()
            .flatten()
            .filter(|(k, _)| k.id == id && k.version < version)
            .map(|(_, n)| *n)
            .sum()
    }

    /// Envelopes counted (readable ones, including overflow).
    #[must_use]
    pub fn total(&self) -> u64 {
        self.entries.iter().flatten().map(|(_, n)| *n).sum::<u64>() + self.overflow
    }

    /// Envelopes under KEK versions beyond the `N` tracked.
    #[must_use]
    pub const fn overflow(&self) -> u64 {
        self.overflow
    }

    /// Inputs that are not envelopes (corrupt headers).
    #[must_use]
    pub const fn unreadable(&self) -> u64 {
        self.unreadable
    }

    /// True when every readable envelope is attributed to its KEK version.
    #[must_use]
    pub const fn is_complete(&self) -> bool {
        self.overflow == 0
    }

    /// Each KEK version seen, with its count.
    pub fn iter(&self) -> impl Iterator<Item = (KekRef, u64)> + '_ {
        self.entries.iter().flatten().copied()
    }
}

/// The outcome of [`Envelopes::rewrap_batch`](super::Envelopes::rewrap_batch).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RewrapReport<const N: usize> {
    /// Envelopes moved to the target version.
    pub rewrapped: u64,
    /// Envelopes already under the target version (unchanged).
    pub already_current: u64,
    /// Envelopes that could not be rewrapped (unchanged).
    pub failed: u64,
    /// Index and error of the first failure.
    pub first_failure: Option<(usize, Error)>,
    /// Census of the batch before.
    pub before: Census<N>,
    /// Census of the batch after.
    pub after: Census<N>,
}

impl<const N: usize> RewrapReport<N> {
    pub(crate) const fn new() -> Self {
        Self {
            rewrapped: 0,
            already_current: 0,
            failed: 0,
            first_failure: None,
            before: Census::new(),
            after: Census::new(),
        }
    }
}
