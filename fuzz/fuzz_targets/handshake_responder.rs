//! The responder on arbitrary message 1 bytes (first input byte even) or arbitrary
//! message 3 bytes after a genuine message 1 (first byte odd): never panics.
#![no_main]

#[path = "handshake_common.rs"]
mod common;

use common::*;
use libfuzzer_sys::fuzz_target;
use provkit::cert::CompactCert;
use provkit::handshake::{CredentialMode, Initiator, PeerCredential, Responder};
use provkit::testing::InsecureTestRng;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let f = fixture();
    let mut rng = InsecureTestRng::new(2);
    let mut responder_store = store(0x33);
    let mine = CompactCert::parse(&f.responder_cert).unwrap();
    let responder = Responder::new(KEY, mine, CredentialMode::ByReference);
    let mut m2 = [0u8; 256];
    if selector % 2 == 0 {
        let _ = responder.respond(&mut responder_store, &mut rng, rest, &mut m2);
        return;
    }
    let initiator = CompactCert::parse(&f.initiator_cert).unwrap();
    let mut m1 = [0u8; 64];
    let (_hs, n1) = Initiator::new(KEY, initiator, CredentialMode::ByValue)
        .start(&mut rng, &mut m1)
        .unwrap();
    let (hs, _) = responder
        .respond(&mut responder_store, &mut rng, &m1[..n1], &mut m2)
        .unwrap();
    let Ok(parsed) = hs.parse_message_3(rest) else {
        return;
    };
    let peer = match parsed.peer_credential() {
        PeerCredential::ByValue(c) => c,
        PeerCredential::ByReference(_) => f.initiator_cert,
    };
    let Ok(peer) = CompactCert::parse(&peer) else {
        return;
    };
    let _ = with_policy(|p| parsed.verify_message_3(&peer, p).map(|(_, v)| v.serial));
});
