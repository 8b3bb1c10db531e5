//! DUKPT KSN parsing and host derivation on arbitrary KSNs (AES and TDES): never panics;
//! strict derivation accepts exactly the valid counters and then agrees with the
//! permissive call; the per-device cache and the batched path agree with the plain one;
//! advancing a KSN always gives a larger valid counter or reports exhaustion.
#![no_main]

use libfuzzer_sys::fuzz_target;
use provkit::dukpt::tdes::{TdesBdk, TdesKsn};
use provkit::dukpt::{
    AES_LAST_COUNTER, AesBdk, AesKsn, HostCache, InitialKey, KeyType, WorkingKeyUsage, cmac,
};

const MSG: &[u8] = b"provkit dukpt fuzz";

/// A non-secret fingerprint of a transaction key: the CMAC of a fixed message under its
/// AES-128 MAC generation key (keys themselves are not exposed without `hazmat`).
fn tag(t: &provkit::dukpt::TransactionKey) -> [u8; 16] {
    t.request_cmac(KeyType::Aes128, MSG)
        .expect("AES-128 MAC keys are allowed under every IK")
}

fuzz_target!(|data: &[u8]| {
    // Parsing of arbitrary lengths.
    let _ = AesKsn::parse(data);
    let _ = TdesKsn::parse(data);

    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let bdk_bytes = [0xA5u8; 32];
    let bdk_len = [16, 24, 32][usize::from(sel % 3)];
    let bdk = AesBdk::from_bytes(&bdk_bytes[..bdk_len]).expect("AES key length");
    let usage = WorkingKeyUsage::ALL[usize::from(sel >> 2) % WorkingKeyUsage::ALL.len()];
    let key_type = KeyType::ALL[usize::from(sel >> 5) % KeyType::ALL.len()];

    if let Some(raw) = rest.first_chunk::<{ AesKsn::LEN }>() {
        let ksn = AesKsn::from_bytes(raw);
        assert_eq!(AesKsn::parse(raw).ok(), Some(ksn));
        assert_eq!(&ksn.to_bytes(), raw);
        let ik: InitialKey = bdk.initial_key(ksn.initial_key_id()).expect("fixed BDK");

        let permissive = ik
            .transaction_key_permissive(&ksn)
            .expect("the KSN carries the IK's own IKID");
        let strict = ik.transaction_key(&ksn);
        assert_eq!(strict.is_ok(), ksn.is_valid());
        let plain = ik.working_key(&ksn, usage, key_type);
        assert_eq!(
            plain.is_ok(),
            ksn.is_valid() && key_type.allowed_under(ik.size())
        );
        if let Ok(t) = &strict {
            assert_eq!(t.ksn(), ksn);
            assert_eq!(tag(t), tag(&permissive));

            let mut cache =
                HostCache::new(bdk.initial_key(ksn.initial_key_id()).expect("fixed BDK"));
            let cached = cache.transaction_key(&ksn).expect("valid KSN");
            assert_eq!(tag(&cached), tag(t));

            let mac_key = ik
                .working_key(&ksn, WorkingKeyUsage::MacGeneration, KeyType::Aes128)
                .expect("valid KSN");
            let mut batched = None;
            ik.for_each_working_key(
                [ksn],
                WorkingKeyUsage::MacGeneration,
                KeyType::Aes128,
                |_, _, r| {
                    batched = Some(cmac(&r.expect("valid KSN"), MSG).expect("MAC key"));
                },
            )
            .expect("AES-128 allowed");
            assert_eq!(batched, Some(cmac(&mac_key, MSG).expect("MAC key")));
        }
        match ksn.next() {
            Some(n) => {
                assert!(n.is_valid());
                assert!(n.counter() > ksn.counter());
                assert_eq!(n.initial_key_id(), ksn.initial_key_id());
            }
            None => assert!(ksn.counter() >= AES_LAST_COUNTER),
        }
    }

    if let Some(raw) = rest.first_chunk::<{ TdesKsn::LEN }>() {
        let ksn = TdesKsn::from_bytes(raw);
        let tdes_bdk = TdesBdk::from_bytes(&bdk_bytes[..16]).expect("2TDEA key length");
        let ipek = tdes_bdk.ipek(&ksn);
        assert_eq!(ipek.initial_ksn(), ksn.initial_ksn());
        let permissive = ipek.transaction_key_permissive(&ksn).expect("same device");
        match ipek.transaction_key(&ksn) {
            Ok(t) => {
                assert!(ksn.is_valid());
                assert_eq!(t.request_mac(MSG).ok(), permissive.request_mac(MSG).ok());
            }
            Err(_) => assert!(!ksn.is_valid()),
        }
        match ksn.next() {
            Some(n) => {
                assert!(n.is_valid());
                assert!(n.counter() > ksn.counter());
                assert_eq!(n.initial_ksn(), ksn.initial_ksn());
            }
            None => assert!(ksn.counter() >= 0x1F_F800),
        }
    }
});
