//! The initiator's parsing and verification of message 2 on arbitrary bytes: never
//! panics, and accepts nothing that was not produced by the fixture's responder.
#![no_main]

#[path = "handshake_common.rs"]
mod common;

use common::*;
use libfuzzer_sys::fuzz_target;
use provkit::cert::CompactCert;
use provkit::handshake::{CredentialMode, Initiator, PeerCredential};
use provkit::testing::InsecureTestRng;

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let mut rng = InsecureTestRng::new(1);
    let mine = CompactCert::parse(&f.initiator_cert).unwrap();
    let mut m1 = [0u8; 64];
    let (hs, _) = Initiator::new(KEY, mine, CredentialMode::ByValue)
        .start(&mut rng, &mut m1)
        .unwrap();
    let Ok(parsed) = hs.parse_message_2(data) else {
        return;
    };
    // Only a message encrypted under this handshake's keys gets here; resolve and verify.
    let peer = match parsed.peer_credential() {
        PeerCredential::ByValue(c) => c,
        PeerCredential::ByReference(_) => f.responder_cert,
    };
    let Ok(peer) = CompactCert::parse(&peer) else {
        return;
    };
    let _ = with_policy(|p| parsed.verify_message_2(&peer, p).map(|v| v.peer().serial));
});
