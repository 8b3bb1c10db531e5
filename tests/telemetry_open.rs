//! Opening telemetry (`src/envelope/telemetry.rs`): length limits of the header parse,
//! empty payloads, and what the device's signature covers, checked against a sender
//! that re-uses a genuine signature in another message.
//!
//! Each test names the mutants it kills (see `docs/testing.md`).

use provkit::Error;
use provkit::ec::{EcPublicKey, EcdsaSignature, SIGNATURE_LEN};
use provkit::envelope::hpke::TAG_LEN;
use provkit::envelope::telemetry::{
    self, TELEMETRY_HEADER_LEN, TelemetryHeader, open_telemetry, seal_telemetry,
    seal_telemetry_signed, telemetry_len,
};
use provkit::error::DecodeErrorKind;
use provkit::secret::SecretBytes;
use provkit::store::{IdentityKeys, KeyId, KeyInventory, KeyKind, MemoryStore};
use provkit::testing::InsecureTestRng;

type Store = MemoryStore<2, 0, 0>;
const SERVER: KeyId = KeyId(1);
const DEVICE: KeyId = KeyId(2);

/// A device store that hands out a signature it was given instead of signing: what a
/// server that opened one signed message could do to forge another.
struct Replaying {
    inner: Store,
    canned: Option<EcdsaSignature>,
    last: Option<EcdsaSignature>,
}

impl KeyInventory for Replaying {
    fn key_kind(&mut self, id: KeyId) -> provkit::Result<KeyKind> {
        self.inner.key_kind(id)
    }
    fn delete_key(&mut self, id: KeyId) -> provkit::Result<()> {
        self.inner.delete_key(id)
    }
}

impl IdentityKeys for Replaying {
    fn generate_p256(
        &mut self,
        id: KeyId,
        rng: &mut dyn rand_core::CryptoRng,
    ) -> provkit::Result<EcPublicKey> {
        self.inner.generate_p256(id, rng)
    }
    fn import_p256(&mut self, id: KeyId, scalar: &SecretBytes<32>) -> provkit::Result<EcPublicKey> {
        self.inner.import_p256(id, scalar)
    }
    fn public_key(&mut self, id: KeyId) -> provkit::Result<EcPublicKey> {
        self.inner.public_key(id)
    }
    fn sign_digest(&mut self, id: KeyId, digest: &[u8; 32]) -> provkit::Result<EcdsaSignature> {
        if let Some(sig) = self.canned {
            return Ok(sig);
        }
        let sig = self.inner.sign_digest(id, digest)?;
        self.last = Some(sig);
        Ok(sig)
    }
    fn ecdh(&mut self, id: KeyId, peer: &EcPublicKey) -> provkit::Result<SecretBytes<32>> {
        self.inner.ecdh(id, peer)
    }
}

fn server(seed: u64) -> (Store, EcPublicKey) {
    let mut s = Store::new();
    let pk = s
        .generate_p256(SERVER, &mut InsecureTestRng::new(seed))
        .unwrap();
    (s, pk)
}

fn signed(
    device: &mut Replaying,
    to: &EcPublicKey,
    payload: &[u8],
    rng: &mut InsecureTestRng,
) -> Vec<u8> {
    let mut msg = vec![0u8; telemetry_len(payload.len(), true)];
    seal_telemetry_signed(device, DEVICE, to, 42, payload, &mut msg, rng).unwrap();
    msg
}

/// Kills `signature_digest -> [0; 32]` and `-> [1; 32]`: a genuine device signature
/// does not verify on another payload, in another message to the same server (fresh
/// ephemeral key), or in a message to another server.
#[test]
fn a_device_signature_covers_payload_header_and_recipient() {
    let (mut s1, pk1) = server(1);
    let (mut s2, pk2) = server(2);
    let mut rng = InsecureTestRng::new(3);
    let mut inner = Store::new();
    let device_pk = inner.generate_p256(DEVICE, &mut rng).unwrap();
    let mut device = Replaying {
        inner,
        canned: None,
        last: None,
    };
    let mut genuine = signed(&mut device, &pk1, b"temp=20", &mut rng);
    assert_eq!(
        open_telemetry(&mut s1, SERVER, Some(&device_pk), &mut genuine).unwrap(),
        b"temp=20"
    );
    device.canned = device.last;
    for (second, payload) in [
        (false, &b"temp=99"[..]),
        (false, b"temp=20"),
        (true, b"temp=20"),
    ] {
        let (store, to) = if second {
            (&mut s2, &pk2)
        } else {
            (&mut s1, &pk1)
        };
        let mut forged = signed(&mut device, to, payload, &mut rng);
        assert_eq!(
            open_telemetry(store, SERVER, Some(&device_pk), &mut forged),
            Err(Error::Crypto),
            "{:?} to server {}",
            core::str::from_utf8(payload),
            if second { 2 } else { 1 }
        );
        assert!(
            !forged.windows(payload.len()).any(|w| w == payload),
            "no payload released"
        );
    }
}

/// Kills `rest.len() < min` -> `<=` in `TelemetryHeader::parse`: a message with an
/// empty payload is exactly header + (signature) + tag and opens, signed or not.
#[test]
fn empty_payloads_open() {
    let (mut s, pk) = server(4);
    let mut rng = InsecureTestRng::new(5);
    let mut msg = vec![0u8; telemetry_len(0, false)];
    assert_eq!(msg.len(), TELEMETRY_HEADER_LEN + TAG_LEN);
    seal_telemetry(&pk, 7, b"", &mut msg, &mut rng).unwrap();
    assert!(!TelemetryHeader::parse(&msg).unwrap().signed);
    assert_eq!(
        open_telemetry(&mut s, SERVER, None, &mut msg),
        Ok(&mut [][..])
    );

    let mut inner = Store::new();
    let device_pk = inner.generate_p256(DEVICE, &mut rng).unwrap();
    let mut device = Replaying {
        inner,
        canned: None,
        last: None,
    };
    let mut msg = signed(&mut device, &pk, b"", &mut rng);
    assert_eq!(msg.len(), TELEMETRY_HEADER_LEN + SIGNATURE_LEN + TAG_LEN);
    assert!(TelemetryHeader::parse(&msg).unwrap().signed);
    assert_eq!(
        open_telemetry(&mut s, SERVER, Some(&device_pk), &mut msg),
        Ok(&mut [][..])
    );
}

/// Kills `rest.len() < min` -> `==` in `TelemetryHeader::parse`: every message too short
/// for its tag (and, when signed, its signature) is `Truncated` at its length, before
/// any key is used.
#[test]
fn messages_too_short_for_tag_or_signature_are_truncated() {
    let (mut s, pk) = server(6);
    let mut rng = InsecureTestRng::new(7);
    let mut unsigned = vec![0u8; telemetry_len(3, false)];
    seal_telemetry(&pk, 7, b"abc", &mut unsigned, &mut rng).unwrap();
    let mut inner = Store::new();
    let device_pk = inner.generate_p256(DEVICE, &mut rng).unwrap();
    let mut device = Replaying {
        inner,
        canned: None,
        last: None,
    };
    let signed_msg = signed(&mut device, &pk, b"abc", &mut rng);
    let truncated_at = |m: &[u8]| match TelemetryHeader::parse(m) {
        Err(Error::Decode(d)) if d.kind == DecodeErrorKind::Truncated => d.offset.get(),
        other => panic!("{} bytes: {other:?}", m.len()),
    };
    for len in 0..TELEMETRY_HEADER_LEN + TAG_LEN {
        assert_eq!(truncated_at(&unsigned[..len]), len);
        let mut m = unsigned[..len].to_vec();
        assert!(open_telemetry(&mut s, SERVER, None, &mut m).is_err());
    }
    for len in 0..TELEMETRY_HEADER_LEN + SIGNATURE_LEN + TAG_LEN {
        assert_eq!(truncated_at(&signed_msg[..len]), len);
        let mut m = signed_msg[..len].to_vec();
        assert!(open_telemetry(&mut s, SERVER, Some(&device_pk), &mut m).is_err());
    }
    assert!(TelemetryHeader::parse(&unsigned[..TELEMETRY_HEADER_LEN + TAG_LEN]).is_ok());
    assert!(
        TelemetryHeader::parse(&signed_msg[..TELEMETRY_HEADER_LEN + SIGNATURE_LEN + TAG_LEN])
            .is_ok()
    );
    let _ = telemetry::TELEMETRY_VERSION;
}
