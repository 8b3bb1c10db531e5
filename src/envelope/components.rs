//! Key components for dual control: a KEK as the XOR of N components, each held by a
//! different custodian and checked by its own KCV.
//!
//! Split knowledge (PCI PIN, X9.24): no custodian ever sees the key, only a component and
//! its KCV; the components are combined where the key is to live (here: straight into a
//! key store) and the combined key's KCV is checked against the one recorded at
//! generation.

use crate::envelope::kcv::Kcv;
use crate::error::{EnvelopeError, Error, Result};
use crate::secret::SecretBuf;
use crate::store::{KeyId, KeyKind, SymmetricKeys};
use core::fmt;

/// The most components a key may be split into.
pub const MAX_COMPONENTS: usize = 16;

/// One custodian's share of a key: as long as the key, with its own KCV.
pub struct KeyComponent {
    bytes: SecretBuf<32>,
    kcv: Kcv,
}

impl fmt::Debug for KeyComponent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyComponent")
            .field("len", &self.bytes.len())
            .field("kcv", &self.kcv)
            .finish_non_exhaustive()
    }
}

impl KeyComponent {
    /// A component as a custodian enters it, with the KCV written beside it; the KCV is
    /// checked here so that a typo is caught at the keyboard, not after combination.
    ///
    /// # Errors
    /// [`EnvelopeError::ComponentLength`] unless `bytes` is 16, 24 or 32 bytes;
    /// [`EnvelopeError::KcvMismatch`] when `kcv` does not match.
    pub fn from_custodian(bytes: &[u8], kcv: &Kcv) -> Result<Self> {
        let component = Self::new(bytes)?;
        component.kcv.check(kcv)?;
        Ok(component)
    }

    fn new(bytes: &[u8]) -> Result<Self> {
        if KeyKind::aes_for_len(bytes.len()).is_none() {
            return Err(EnvelopeError::ComponentLength.into());
        }
        let bytes = SecretBuf::from_slice(bytes)?;
        let kcv = Kcv::of_key(&bytes)?;
        Ok(Self { bytes, kcv })
    }

    /// The component's KCV (public: custodians record it beside the component).
    #[must_use]
    pub const fn kcv(&self) -> Kcv {
        self.kcv
    }

    /// Length in bytes (the key's length).
    #[must_use]
    pub const fn len(&self) -> usize {
        self.bytes.len()
    }

    /// True for an empty component (never produced by this module).
    #[must_use]
    pub const fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The component's bytes, to print or load into a custodian's smart card. Every call
    /// is a place where a component leaves its type.
    #[cfg(feature = "hazmat")]
    #[must_use]
    pub fn dangerous_expose(&self) -> &[u8] {
        self.bytes.expose()
    }
}

/// A key split into `N` components, and the KCV of the whole key.
#[derive(Debug)]
pub struct SplitKey<const N: usize> {
    /// The components, one per custodian.
    pub components: [KeyComponent; N],
    /// KCV of the combined key: recorded at generation, checked at combination.
    pub kcv: Kcv,
}

/// Generates a fresh AES key of `kind` directly as `N` components (2 ≤ N ≤ 16): the
/// whole key exists only transiently, to compute its KCV.
///
/// # Errors
/// [`EnvelopeError::ComponentCount`] for `N` out of range; [`Error::Unsupported`] for a
/// `kind` that is not AES.
pub fn generate_split_key<const N: usize, R: rand_core::CryptoRng + ?Sized>(
    kind: KeyKind,
    rng: &mut R,
) -> Result<SplitKey<N>> {
    let len = aes_len(kind)?;
    let mut key = SecretBuf::<32>::empty();
    {
        let mut random = crate::secret::SecretBytes::<32>::random(rng);
        key.set(random.expose_mut().get(..len).ok_or(Error::Unsupported)?)?;
    }
    split_key(&key, rng)
}

/// Splits `key` (16, 24 or 32 bytes) into `N` components (2 ≤ N ≤ 16): `N − 1` random
/// ones and the XOR of the key with all of them.
///
/// # Errors
/// [`EnvelopeError::ComponentCount`] for `N` out of range;
/// [`EnvelopeError::ComponentLength`] for a key that is not 16, 24 or 32 bytes.
pub fn split_key<const N: usize, R: rand_core::CryptoRng + ?Sized>(
    key: &SecretBuf<32>,
    rng: &mut R,
) -> Result<SplitKey<N>> {
    if !(2..=MAX_COMPONENTS).contains(&N) {
        return Err(EnvelopeError::ComponentCount.into());
    }
    if KeyKind::aes_for_len(key.len()).is_none() {
        return Err(EnvelopeError::ComponentLength.into());
    }
    let len = key.len();
    let mut last = crate::secret::SecretBytes::<32>::zero();
    last.expose_mut()
        .get_mut(..len)
        .ok_or(Error::Unsupported)?
        .copy_from_slice(key.expose());
    let mut failure = None;
    let mut make = |i: usize| -> KeyComponent {
        let mut bytes = crate::secret::SecretBytes::<32>::zero();
        if i + 1 == N {
            bytes.expose_mut().copy_from_slice(last.expose());
        } else {
            rng.fill_bytes(bytes.expose_mut().get_mut(..len).unwrap_or(&mut []));
            for (l, b) in last.expose_mut().iter_mut().zip(bytes.expose()) {
                *l ^= b;
            }
        }
        match KeyComponent::new(bytes.expose().get(..len).unwrap_or(&[])) {
            Ok(c) => c,
            Err(e) => {
                failure = Some(e);
                KeyComponent {
                    bytes: SecretBuf::empty(),
                    kcv: Kcv([0; 5]),
                }
            }
        }
    };
    let components: [KeyComponent; N] = core::array::from_fn(&mut make);
    if let Some(e) = failure {
        return Err(e);
    }
    Ok(SplitKey {
        components,
        kcv: Kcv::of_key(key)?,
    })
}

/// Combines `components` (2 to 16, all of `kind`'s length) by XOR, checks the result
/// against `expected` (the whole key's KCV), imports it into `store` under `id`, and
/// checks the KCV once more by handle inside the store.
///
/// Each component's own KCV was checked when it was entered
/// ([`KeyComponent::from_custodian`]). The combined key exists only in a zeroizing
/// buffer between the XOR and the import.
///
/// # Errors
/// [`EnvelopeError::ComponentCount`] for fewer than 2 or more than 16 components;
/// [`EnvelopeError::ComponentLength`] for a component that is not `kind`'s length;
/// [`Error::Unsupported`] for a `kind` that is not AES; [`EnvelopeError::KcvMismatch`]
/// when the combined key does not match `expected` (nothing is imported) or the store
/// computes another KCV (the imported key is deleted again); store errors from the import.
pub fn combine_into_store<S: SymmetricKeys + ?Sized>(
    store: &mut S,
    id: KeyId,
    kind: KeyKind,
    components: &[KeyComponent],
    expected: &Kcv,
) -> Result<()> {
    let len = aes_len(kind)?;
    if !(2..=MAX_COMPONENTS).contains(&components.len()) {
        return Err(EnvelopeError::ComponentCount.into());
    }
    if components.iter().any(|c| c.len() != len) {
        return Err(EnvelopeError::ComponentLength.into());
    }
    let mut key = crate::secret::SecretBytes::<32>::zero();
    for c in components {
        for (k, b) in key.expose_mut().iter_mut().zip(c.bytes.expose()) {
            *k ^= b;
        }
    }
    let key = key.expose().get(..len).ok_or(Error::Unsupported)?;
    Kcv::of_bytes(key)?.check(expected)?;
    store.import_symmetric(id, kind, key)?;
    let stored = Kcv::of_stored_key(store, id);
    if stored.as_ref().is_ok_and(|k| k.check(expected).is_ok()) {
        return Ok(());
    }
    let _ = store.delete_key(id);
    stored?;
    Err(EnvelopeError::KcvMismatch.into())
}

/// Checks the component KCVs a ceremony recorded against the components, naming the
/// first that differs.
///
/// # Errors
/// [`EnvelopeError::ComponentKcvMismatch`] with the index of the first mismatch;
/// [`EnvelopeError::ComponentCount`] when the slices differ in length.
pub fn check_component_kcvs(components: &[KeyComponent], kcvs: &[Kcv]) -> Result<()> {
    if components.len() != kcvs.len() || components.len() > MAX_COMPONENTS {
        return Err(EnvelopeError::ComponentCount.into());
    }
    for (i, (c, k)) in components.iter().zip(kcvs).enumerate() {
        if c.kcv.check(k).is_err() {
            let i = u8::try_from(i).map_err(|_| EnvelopeError::ComponentCount)?;
            return Err(EnvelopeError::ComponentKcvMismatch(i).into());
        }
    }
    Ok(())
}

fn aes_len(kind: KeyKind) -> Result<usize> {
    match kind {
        KeyKind::Aes128 | KeyKind::Aes192 | KeyKind::Aes256 => Ok(kind.key_len()),
        _ => Err(Error::Unsupported),
    }
}
