//! Key components for dual control and key check values (`src/envelope/components.rs`,
//! `src/envelope/kcv.rs`): component counts at their limits, lengths, and what the
//! types print.
//!
//! Each test names the mutants it kills (see `docs/testing.md`).

use provkit::Error;
use provkit::envelope::{self, Kcv, KeyComponent, MAX_COMPONENTS};
use provkit::error::EnvelopeError;
use provkit::secret::SecretBuf;
use provkit::store::{IdentityKeys, KeyId, KeyInventory, KeyKind, MemoryStore};
use provkit::testing::InsecureTestRng;

type Store = MemoryStore<4, 2, 0>;

const COUNT: Error = Error::Envelope(EnvelopeError::ComponentCount);
const LENGTH: Error = Error::Envelope(EnvelopeError::ComponentLength);

fn entered(split: &[KeyComponent]) -> Vec<KeyComponent> {
    split
        .iter()
        .map(|c| KeyComponent::from_custodian(c.dangerous_expose(), &c.kcv()).unwrap())
        .collect()
}

/// Kills `check_component_kcvs`' `components.len() > MAX_COMPONENTS` -> `>=`/`==` and
/// `split_key`'s range check: 16 components is the limit and works end to end; 17 is
/// refused everywhere.
#[test]
fn sixteen_components_work_and_seventeen_are_refused() {
    assert_eq!(MAX_COMPONENTS, 16);
    let mut rng = InsecureTestRng::new(60);
    let split = envelope::generate_split_key::<16, _>(KeyKind::Aes128, &mut rng).unwrap();
    let parts = entered(&split.components);
    let kcvs: Vec<Kcv> = parts.iter().map(KeyComponent::kcv).collect();
    envelope::check_component_kcvs(&parts, &kcvs).unwrap();
    let mut store = Store::new();
    envelope::combine_into_store(&mut store, KeyId(1), KeyKind::Aes128, &parts, &split.kcv)
        .unwrap();
    assert_eq!(Kcv::of_stored_key(&mut store, KeyId(1)).unwrap(), split.kcv);

    let key = SecretBuf::<32>::from_slice(&[0x33; 16]).unwrap();
    assert_eq!(
        envelope::split_key::<17, _>(&key, &mut rng).err(),
        Some(COUNT)
    );
    assert_eq!(
        envelope::generate_split_key::<17, _>(KeyKind::Aes128, &mut rng).err(),
        Some(COUNT)
    );
    // 17 entered components (16 plus a repeat): refused before any KCV is compared.
    let mut seventeen = entered(&split.components);
    seventeen.push(KeyComponent::from_custodian(parts[0].dangerous_expose(), &kcvs[0]).unwrap());
    let mut kcvs17 = kcvs.clone();
    kcvs17.push(kcvs[0]);
    assert_eq!(
        envelope::check_component_kcvs(&seventeen, &kcvs17),
        Err(COUNT)
    );
    assert_eq!(
        envelope::combine_into_store(
            &mut store,
            KeyId(2),
            KeyKind::Aes128,
            &seventeen,
            &split.kcv
        ),
        Err(COUNT)
    );
    // Fewer KCVs than components.
    assert_eq!(
        envelope::check_component_kcvs(&parts, &kcvs[..15]),
        Err(COUNT)
    );
}

/// Kills `combine_into_store`'s `!(2..=MAX).contains(..) || any(len != len)` mutants:
/// a single component (which would be the key itself) is refused, and so is a mix of
/// lengths, even when the KCV given is the single component's own.
#[test]
fn one_component_or_mixed_lengths_are_refused() {
    let mut rng = InsecureTestRng::new(61);
    let split = envelope::generate_split_key::<2, _>(KeyKind::Aes128, &mut rng).unwrap();
    let parts = entered(&split.components);
    let mut store = Store::new();
    let own = parts[0].kcv();
    assert_eq!(
        envelope::combine_into_store(&mut store, KeyId(1), KeyKind::Aes128, &parts[..1], &own),
        Err(COUNT)
    );
    assert_eq!(
        envelope::combine_into_store(&mut store, KeyId(1), KeyKind::Aes128, &[], &own),
        Err(COUNT)
    );
    let long = envelope::generate_split_key::<2, _>(KeyKind::Aes256, &mut rng).unwrap();
    let mixed = [
        KeyComponent::from_custodian(parts[0].dangerous_expose(), &parts[0].kcv()).unwrap(),
        entered(&long.components).remove(0),
    ];
    assert_eq!(
        envelope::combine_into_store(&mut store, KeyId(1), KeyKind::Aes128, &mixed, &split.kcv),
        Err(LENGTH)
    );
    assert_eq!(
        envelope::combine_into_store(&mut store, KeyId(1), KeyKind::Aes256, &mixed, &split.kcv),
        Err(LENGTH)
    );
    assert_eq!(
        envelope::combine_into_store(&mut store, KeyId(1), KeyKind::P256, &parts, &split.kcv),
        Err(Error::Unsupported)
    );
    assert!(store.key_kind(KeyId(1)).is_err(), "nothing imported");
    // A key to split that is no AES key length: its length is wrong, not the count.
    let odd = SecretBuf::<32>::from_slice(&[0x33; 20]).unwrap();
    assert_eq!(
        envelope::split_key::<2, _>(&odd, &mut rng).err(),
        Some(LENGTH)
    );
    assert_eq!(
        Error::Envelope(EnvelopeError::ComponentLength).to_string(),
        "envelope error: key component of the wrong length"
    );
}

/// Kills `split_key`'s `i + 1 == N` -> `!=` and `+` -> `-`/`*`, and `^=` -> `|=`/`&=`:
/// the components of a known key XOR back to exactly that key, for every AES size
/// and several counts, and all but the last are independent of the key.
#[test]
fn split_components_xor_to_the_key() {
    for (len, kind) in [
        (16, KeyKind::Aes128),
        (24, KeyKind::Aes192),
        (32, KeyKind::Aes256),
    ] {
        let key_bytes: Vec<u8> = (0..len as u8).map(|i| i.wrapping_mul(37) ^ 0xC3).collect();
        let key = SecretBuf::<32>::from_slice(&key_bytes).unwrap();
        for n in [2usize, 3, 5] {
            let mut rng = InsecureTestRng::new(62);
            let parts = match n {
                2 => Vec::from(
                    envelope::split_key::<2, _>(&key, &mut rng)
                        .unwrap()
                        .components,
                ),
                3 => Vec::from(
                    envelope::split_key::<3, _>(&key, &mut rng)
                        .unwrap()
                        .components,
                ),
                _ => Vec::from(
                    envelope::split_key::<5, _>(&key, &mut rng)
                        .unwrap()
                        .components,
                ),
            };
            let mut xor = vec![0u8; len];
            for c in &parts {
                assert_eq!(c.len(), len);
                assert!(!c.is_empty());
                assert_ne!(
                    c.dangerous_expose(),
                    &key_bytes[..],
                    "no component is the key"
                );
                for (x, b) in xor.iter_mut().zip(c.dangerous_expose()) {
                    *x ^= b;
                }
            }
            assert_eq!(xor, key_bytes, "{kind:?}, {n} components");
            let mut store = Store::new();
            let split_kcv = Kcv::of_key(&key).unwrap();
            envelope::combine_into_store(&mut store, KeyId(3), kind, &entered(&parts), &split_kcv)
                .unwrap();
        }
    }
}

/// Kills `KeyComponent::len -> 0/1`, `is_empty -> true`, the `Debug` impls of
/// `KeyComponent` and `Kcv` and `Kcv`'s `Display` -> `Ok(Default::default())`, and
/// `from_custodian -> Ok(Default)`: what custodians see is the length and KCV, never
/// the component.
#[test]
fn components_print_their_kcv_but_not_their_bytes() {
    let bytes = [
        0x2bu8, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f,
        0x3c,
    ];
    let kcv = Kcv([0x7a, 0xd3, 0x86, 0xc3, 0x76]);
    let c = KeyComponent::from_custodian(&bytes, &kcv).unwrap();
    assert_eq!(c.kcv(), kcv);
    assert_eq!(c.len(), 16);
    assert!(!c.is_empty());
    assert_eq!(kcv.to_string(), "7ad386c376");
    assert_eq!(format!("{kcv:?}"), "Kcv(7ad386c376)");
    let text = format!("{c:?}");
    assert!(text.starts_with("KeyComponent"), "{text}");
    assert!(
        text.contains("len: 16") && text.contains("7ad386c376"),
        "{text}"
    );
    assert!(!text.to_lowercase().contains("2b7e"), "{text}");
    for wrong_len in [0usize, 8, 15, 17, 33] {
        assert_eq!(
            KeyComponent::from_custodian(&vec![1; wrong_len], &kcv).err(),
            Some(LENGTH),
            "{wrong_len}"
        );
    }
}

/// Kills `Kcv::of_stored_key`'s deleted AES match arm and `-> Ok(Default)`, and
/// `Kcv::check -> Ok(())`: a KCV by handle refuses a non-AES key, and a KCV differing
/// in any byte does not check.
#[test]
fn kcv_by_handle_refuses_other_keys_and_check_compares_every_byte() {
    let mut rng = InsecureTestRng::new(63);
    let mut store = Store::new();
    store.generate_p256(KeyId(1), &mut rng).unwrap();
    assert_eq!(
        Kcv::of_stored_key(&mut store, KeyId(1)),
        Err(Error::Unsupported)
    );
    assert!(
        Kcv::of_stored_key(&mut store, KeyId(9)).is_err(),
        "no such key"
    );
    let kcv = Kcv([1, 2, 3, 4, 5]);
    kcv.check(&Kcv([1, 2, 3, 4, 5])).unwrap();
    for i in 0..5 {
        let mut other = kcv;
        other.0[i] ^= 0x40;
        assert_eq!(
            kcv.check(&other),
            Err(Error::Envelope(EnvelopeError::KcvMismatch))
        );
    }
}
