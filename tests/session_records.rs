//! The record layer of an established session: record framing and the 64-record
//! replay window, checked at its edges and against a reference model.
//!
//! Each test names the mutants of `src/handshake/session.rs` it kills (see
//! `docs/testing.md`); they are behavioural and use only the public API.

mod common;

use common::*;
use provkit::Error;
use provkit::cert::CompactCert;
use provkit::error::{DecodeErrorKind, HandshakeError};
use provkit::handshake::{CredentialMode, Initiator, RECORD_OVERHEAD, Responder, Session};
use provkit::testing::InsecureTestRng;
use std::collections::BTreeSet;

/// Width of the replay window the session documents.
const WINDOW: u64 = 64;

/// A completed handshake: (initiator, responder).
fn sessions() -> (Session, Session) {
    let mut pki = Pki::new(31);
    let mut a = pki.device(2001, 1);
    let mut b = pki.device(2002, 2);
    let root = pki.root();
    let int = pki.intermediate();
    let policy = provkit::handshake::PeerPolicy::new(&root, NOW).with_intermediate(&int);
    let a_cert = CompactCert::parse(&a.cert).unwrap();
    let b_cert = CompactCert::parse(&b.cert).unwrap();
    let mut rng_a = InsecureTestRng::new(40);
    let mut rng_b = InsecureTestRng::new(41);
    let mut buf = [0u8; 512];
    let (hs_a, n) = Initiator::new(DEVICE_KEY, a_cert, CredentialMode::ByValue)
        .start(&mut rng_a, &mut buf)
        .unwrap();
    let m1 = buf[..n].to_vec();
    let (hs_b, n) = Responder::new(DEVICE_KEY, b_cert, CredentialMode::ByValue)
        .respond(&mut b.store, &mut rng_b, &m1, &mut buf)
        .unwrap();
    let m2 = buf[..n].to_vec();
    let parsed = hs_a.parse_message_2(&m2).unwrap();
    let peer = parsed.peer_certificate().unwrap();
    let verified = parsed
        .verify_message_2(&CompactCert::parse(&peer).unwrap(), &policy)
        .unwrap();
    let (initiator, n) = verified.finish(&mut a.store, &mut buf).unwrap();
    let m3 = buf[..n].to_vec();
    let parsed = hs_b.parse_message_3(&m3).unwrap();
    let peer = parsed.peer_certificate().unwrap();
    let (responder, _) = parsed
        .verify_message_3(&CompactCert::parse(&peer).unwrap(), &policy)
        .unwrap();
    (initiator, responder)
}

/// Seals `count` records from `from`, record `i` carrying `i` as its plaintext.
fn seal_records(from: &mut Session, count: u64) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            let mut rec = [0u8; 8 + RECORD_OVERHEAD];
            let n = from.seal(&i.to_be_bytes(), b"ad", &mut rec).unwrap();
            rec[..n].to_vec()
        })
        .collect()
}

/// Opens `rec` and checks the plaintext is its sequence number.
fn open(to: &mut Session, rec: &[u8]) -> provkit::Result<u64> {
    let mut out = [0u8; 8];
    let n = to.open(rec, b"ad", &mut out)?;
    assert_eq!(n, 8);
    Ok(u64::from_be_bytes(out))
}

const REPLAY: Error = Error::Handshake(HandshakeError::Replay);

/// Kills `record.len() < RECORD_OVERHEAD` -> `==` in `Session::open` (a record shorter
/// than the overhead would reach `split_at` and panic): every length below the overhead
/// is a clean `Truncated` error, and the session still works afterwards.
#[test]
fn records_shorter_than_the_overhead_are_truncated_errors() {
    let (mut init, mut resp) = sessions();
    let mut rec = [0u8; 64];
    let n = init.seal(b"hello", b"", &mut rec).unwrap();
    let mut out = [0u8; 64];
    for len in 0..RECORD_OVERHEAD {
        let err = resp.open(&rec[..len], b"", &mut out).unwrap_err();
        assert!(
            matches!(err, Error::Decode(d) if d.kind == DecodeErrorKind::Truncated),
            "{len}-byte record: {err:?}"
        );
    }
    assert_eq!(resp.open(&rec[..n], b"", &mut out).unwrap(), 5);
    assert_eq!(&out[..5], b"hello");
}

/// Kills `record.len() < RECORD_OVERHEAD` -> `<=` in `Session::open`: a record with an
/// empty plaintext is exactly `RECORD_OVERHEAD` bytes and opens (it still authenticates:
/// a flipped tag bit is refused).
#[test]
fn records_with_an_empty_plaintext_open() {
    let (mut init, mut resp) = sessions();
    let mut rec = [0u8; RECORD_OVERHEAD];
    assert_eq!(init.seal(b"", b"ctx", &mut rec).unwrap(), RECORD_OVERHEAD);
    let mut forged = rec;
    forged[RECORD_OVERHEAD - 1] ^= 0x80;
    assert_eq!(resp.open(&forged, b"ctx", &mut []), Err(Error::Crypto));
    assert_eq!(resp.open(&rec, b"ctx", &mut []), Ok(0));
    assert!(init.open(&[0u8; RECORD_OVERHEAD], b"ctx", &mut []).is_err());
    // And the other direction, which also confirms the initiator.
    let n = resp.seal(b"", b"", &mut rec).unwrap();
    assert_eq!(n, RECORD_OVERHEAD);
    assert!(!init.is_confirmed());
    assert_eq!(init.open(&rec, b"", &mut []), Ok(0));
    assert!(init.is_confirmed());
}

/// Kills `h - seq` -> `h + seq` in `check_replay`: out-of-order records whose sequence
/// numbers are large (so `h + seq` would reach the window width) but which lie inside
/// the window are accepted once, then refused.
#[test]
fn late_records_inside_the_window_open_once() {
    let (mut init, mut resp) = sessions();
    let recs = seal_records(&mut init, 200);
    assert_eq!(open(&mut resp, &recs[150]), Ok(150));
    // 150 - 87 = 63: the oldest number the window still holds.
    for seq in [100u64, 140, 149, 87] {
        assert_eq!(open(&mut resp, &recs[seq as usize]), Ok(seq), "seq {seq}");
        assert_eq!(
            open(&mut resp, &recs[seq as usize]),
            Err(REPLAY),
            "seq {seq}"
        );
    }
    // One further back has left the window.
    assert_eq!(open(&mut resp, &recs[86]), Err(REPLAY));
    assert_eq!(open(&mut resp, &recs[150]), Err(REPLAY));
}

/// Kills `seq - h` -> `seq / h` (and `seq + h`) in `mark_seen`: after the window moves
/// forward by a short jump, the records seen before the jump must still be refused,
/// and the ones skipped must still open.
#[test]
fn records_seen_before_a_jump_stay_refused() {
    let (mut init, mut resp) = sessions();
    let recs = seal_records(&mut init, 40);
    assert_eq!(open(&mut resp, &recs[1]), Ok(1));
    assert_eq!(open(&mut resp, &recs[3]), Ok(3));
    assert_eq!(open(&mut resp, &recs[1]), Err(REPLAY));
    assert_eq!(open(&mut resp, &recs[10]), Ok(10));
    assert_eq!(open(&mut resp, &recs[3]), Err(REPLAY));
    assert_eq!(open(&mut resp, &recs[1]), Err(REPLAY));
    assert_eq!(open(&mut resp, &recs[30]), Ok(30));
    for seq in [1u64, 3, 10, 30] {
        assert_eq!(
            open(&mut resp, &recs[seq as usize]),
            Err(REPLAY),
            "seq {seq}"
        );
    }
    for seq in [0u64, 2, 9, 29] {
        assert_eq!(open(&mut resp, &recs[seq as usize]), Ok(seq), "seq {seq}");
    }
}

/// Kills `shift >= WINDOW` -> `>` in `mark_seen` and `h - seq >= WINDOW` -> `>` in
/// `check_replay` (each would shift a u64 by 64 and panic, or accept a record exactly
/// one window old): a jump of exactly the window width, and a record exactly one window
/// behind, are handled without panicking.
#[test]
fn a_jump_of_exactly_the_window_width() {
    let (mut init, mut resp) = sessions();
    let recs = seal_records(&mut init, 2 * WINDOW + 2);
    let w = WINDOW as usize;
    assert_eq!(open(&mut resp, &recs[0]), Ok(0));
    assert_eq!(open(&mut resp, &recs[w]), Ok(WINDOW));
    assert_eq!(open(&mut resp, &recs[0]), Err(REPLAY));
    assert_eq!(
        open(&mut resp, &recs[1]),
        Ok(1),
        "63 behind: inside the window"
    );
    assert_eq!(open(&mut resp, &recs[1]), Err(REPLAY));
    // A jump longer than the window forgets everything behind it.
    assert_eq!(open(&mut resp, &recs[2 * w + 1]), Ok(2 * WINDOW + 1));
    assert_eq!(open(&mut resp, &recs[w + 1]), Err(REPLAY), "64 behind");
    assert_eq!(open(&mut resp, &recs[w + 2]), Ok(WINDOW + 2), "63 behind");
    assert_eq!(open(&mut resp, &recs[w]), Err(REPLAY));
}

/// A reference model of the documented window: a record opens iff its number was never
/// accepted and it is newer than the highest accepted, or less than 64 behind it.
struct Model {
    seen: BTreeSet<u64>,
}

impl Model {
    fn accepts(&mut self, seq: u64) -> bool {
        let ok = !self.seen.contains(&seq)
            && self
                .seen
                .last()
                .is_none_or(|&h| seq > h || h - seq < WINDOW);
        if ok {
            self.seen.insert(seq);
        }
        ok
    }
}

/// Kills the arithmetic and comparison mutants of `check_replay` and `mark_seen` together:
/// thousands of deliveries in a scrambled order (late, early, repeated, far-future
/// records), compared record by record with the model.
#[test]
fn the_replay_window_matches_a_reference_model() {
    let (mut init, mut resp) = sessions();
    let total = 4000u64;
    let recs = seal_records(&mut init, total);
    let mut model = Model {
        seen: BTreeSet::new(),
    };
    // A deterministic xorshift: deliveries mostly near a moving front, some far behind,
    // some far ahead, with replays.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut front = 0u64;
    let (mut accepted, mut refused) = (0, 0);
    for _ in 0..2000 {
        let r = next();
        let seq = match r % 8 {
            0 => front.saturating_sub(60 + r / 8 % 10),
            1 => front + r / 8 % 70,
            _ => front.saturating_sub(r / 8 % 64),
        }
        .min(total - 1);
        if r % 32 == 3 {
            front = (front + 1 + r / 32 % 66).min(total - 1);
        } else if r % 4 == 1 {
            front = (front + 1).min(total - 1);
        }
        let want = model.accepts(seq);
        let got = open(&mut resp, &recs[seq as usize]);
        if want {
            assert_eq!(got, Ok(seq), "seq {seq} should open");
            accepted += 1;
        } else {
            assert_eq!(got, Err(REPLAY), "seq {seq} should be refused");
            refused += 1;
        }
    }
    // The walk exercised both outcomes substantially.
    assert!(accepted > 500 && refused > 500, "{accepted} / {refused}");
}

/// Kills `fmt -> Ok(Default::default())` in `Session`'s `Debug`: the output names the
/// type, role and record count and carries no key material.
#[test]
fn debug_output_shows_state_but_no_keys() {
    let (mut init, _) = sessions();
    let mut rec = [0u8; 32];
    init.seal(b"x", b"", &mut rec).unwrap();
    let s = format!("{init:?}");
    assert!(s.starts_with("Session"), "{s}");
    assert!(s.contains("Initiator"), "{s}");
    assert!(s.contains("sent: 1"), "{s}");
    assert!(!s.contains("secret") && !s.contains("key:"), "{s}");
}
