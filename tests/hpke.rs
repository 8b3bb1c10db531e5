//! HPKE (RFC 9180) through provkit's API: every vector in
//! `tests/data/hpke/rfc9180_p256_sha256_aesgcm.json` (base and auth modes, AES-128-GCM,
//! AES-256-GCM, export-only), with the private keys in a key store used by handle; plus
//! telemetry messages through a relay.

use provkit::Error;
use provkit::ec::EcPublicKey;
use provkit::envelope::hpke::{self, HpkeAead};
use provkit::envelope::telemetry::{self, TelemetryHeader};
use provkit::error::EnvelopeError;
use provkit::store::{IdentityKeys, KeyId, MemoryStore};
use provkit::testing::FixedRng;
use provkit::testing::InsecureTestRng;
use serde_json::Value;

const VECTORS: &str = include_str!("data/hpke/rfc9180_p256_sha256_aesgcm.json");

fn hex(v: &Value) -> Vec<u8> {
    let s = v.as_str().expect("hex string");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

type Store = MemoryStore<2, 0, 0>;
const RECIPIENT: KeyId = KeyId(1);
const SENDER: KeyId = KeyId(2);

#[derive(Default, Debug, PartialEq)]
struct Counts {
    vectors: usize,
    base: usize,
    auth: usize,
    sealed: usize,
    opened: usize,
    exports_sender: usize,
    exports_receiver: usize,
    single_shot: usize,
}

#[test]
fn every_rfc9180_vector_passes_through_our_api() {
    let vectors: Vec<Value> = serde_json::from_str(VECTORS).unwrap();
    let mut c = Counts::default();
    for v in &vectors {
        assert_eq!(v["kem_id"], 16);
        assert_eq!(v["kdf_id"], 1);
        let aead = HpkeAead::from_id(u16::try_from(v["aead_id"].as_u64().unwrap()).unwrap())
            .expect("supported AEAD");
        let auth = match v["mode"].as_u64().unwrap() {
            0 => false,
            2 => true,
            m => panic!("unexpected mode {m}"),
        };
        let info = hex(&v["info"]);

        // Recipient key: DeriveKeyPair(ikmR) imported into a store; it must be pkRm.
        let mut recipient_store = Store::new();
        let pk_r =
            hpke::derive_key_pair(&mut recipient_store, RECIPIENT, &hex(&v["ikmR"])).unwrap();
        assert_eq!(pk_r.to_uncompressed().to_vec(), hex(&v["pkRm"]));
        // Sender static key (auth mode), likewise.
        let mut sender_store = Store::new();
        let pk_s = auth.then(|| {
            let pk = hpke::derive_key_pair(&mut sender_store, SENDER, &hex(&v["ikmS"])).unwrap();
            assert_eq!(pk.to_uncompressed().to_vec(), hex(&v["pkSm"]));
            pk
        });

        // Sender: the RNG yields ikmE, so enc must be the vector's.
        let ikm_e = hex(&v["ikmE"]);
        let mut rng = FixedRng::new(&ikm_e);
        let (enc, mut sender) = if auth {
            hpke::setup_sender_auth(&mut sender_store, SENDER, &pk_r, aead, &info, &mut rng)
        } else {
            hpke::setup_sender_base(&pk_r, aead, &info, &mut rng)
        }
        .unwrap();
        assert_eq!(enc.to_vec(), hex(&v["enc"]));
        assert_eq!(enc.to_vec(), hex(&v["pkEm"]));

        let mut receiver = match pk_s {
            Some(pk_s) => {
                hpke::setup_receiver_auth(&mut recipient_store, RECIPIENT, &pk_s, &enc, aead, &info)
            }
            None => hpke::setup_receiver_base(&mut recipient_store, RECIPIENT, &enc, aead, &info),
        }
        .unwrap();

        let encryptions = v["encryptions"].as_array().unwrap();
        for (seq, e) in encryptions.iter().enumerate() {
            let (aad, pt, ct) = (hex(&e["aad"]), hex(&e["pt"]), hex(&e["ct"]));
            let mut out = vec![0u8; pt.len() + hpke::TAG_LEN];
            let n = sender.seal(&aad, &pt, &mut out).unwrap();
            assert_eq!(out[..n], ct[..], "seal seq {seq}");
            c.sealed += 1;
            // Open in place (the multi-message context advances its sequence number).
            let mut buf = ct.clone();
            let opened = receiver.open_in_place(&aad, &mut buf).unwrap();
            assert_eq!(opened, &pt[..], "open seq {seq}");
            c.opened += 1;
        }
        if aead == HpkeAead::ExportOnly {
            assert!(encryptions.is_empty());
            assert_eq!(
                sender.seal(b"", b"x", &mut [0u8; 17]),
                Err(Error::Unsupported)
            );
        }

        for x in v["exports"].as_array().unwrap() {
            let ctx = hex(&x["exporter_context"]);
            let want = hex(&x["exported_value"]);
            let len = usize::try_from(x["L"].as_u64().unwrap()).unwrap();
            let mut got = vec![0u8; len];
            sender.export(&ctx, &mut got).unwrap();
            assert_eq!(got, want);
            c.exports_sender += 1;
            let mut got = vec![0u8; len];
            receiver.export(&ctx, &mut got).unwrap();
            assert_eq!(got, want);
            c.exports_receiver += 1;
        }

        // Single-shot API: enc ‖ ct of sequence number 0.
        if let Some(e) = encryptions.first() {
            let (aad, pt, ct) = (hex(&e["aad"]), hex(&e["pt"]), hex(&e["ct"]));
            let ikm_e = hex(&v["ikmE"]);
            let mut rng = FixedRng::new(&ikm_e);
            let mut sealed = vec![0u8; hpke::ENC_LEN + ct.len()];
            let n = if auth {
                hpke::seal_auth(
                    &mut sender_store,
                    SENDER,
                    &pk_r,
                    aead,
                    &info,
                    &aad,
                    &pt,
                    &mut sealed,
                    &mut rng,
                )
            } else {
                hpke::seal_base(&pk_r, aead, &info, &aad, &pt, &mut sealed, &mut rng)
            }
            .unwrap();
            assert_eq!(sealed[..hpke::ENC_LEN], hex(&v["enc"])[..]);
            assert_eq!(sealed[hpke::ENC_LEN..n], ct[..]);
            let mut out = vec![0u8; pt.len()];
            let m = match pk_s {
                Some(pk_s) => hpke::open_auth(
                    &mut recipient_store,
                    RECIPIENT,
                    &pk_s,
                    aead,
                    &info,
                    &aad,
                    &sealed,
                    &mut out,
                ),
                None => hpke::open_base(
                    &mut recipient_store,
                    RECIPIENT,
                    aead,
                    &info,
                    &aad,
                    &sealed,
                    &mut out,
                ),
            }
            .unwrap();
            assert_eq!(out[..m], pt[..]);
            c.single_shot += 1;
        }

        c.vectors += 1;
        if auth {
            c.auth += 1;
        } else {
            c.base += 1;
        }
    }
    // The file's contents (tests/data/README.md): 4 vectors, 771 encryptions, 12 exports.
    assert_eq!(
        c,
        Counts {
            vectors: 4,
            base: 2,
            auth: 2,
            sealed: 771,
            opened: 771,
            exports_sender: 12,
            exports_receiver: 12,
            single_shot: 3,
        }
    );
    println!("HPKE vectors: {c:?}");
}

#[test]
fn wrong_key_info_sender_or_order_does_not_open() {
    let mut rng = InsecureTestRng::new(9);
    let mut server = Store::new();
    let pk = server.generate_p256(RECIPIENT, &mut rng).unwrap();
    let mut other = Store::new();
    let other_pk = other.generate_p256(RECIPIENT, &mut rng).unwrap();
    let mut device = Store::new();
    device.generate_p256(SENDER, &mut rng).unwrap();

    let (enc, mut s) =
        hpke::setup_sender_base(&pk, HpkeAead::Aes256Gcm, b"info", &mut rng).unwrap();
    let mut m0 = vec![0u8; 3 + 16];
    let mut m1 = vec![0u8; 3 + 16];
    s.seal(b"", b"one", &mut m0).unwrap();
    s.seal(b"", b"two", &mut m1).unwrap();

    // Out of order: message 1 at sequence 0.
    let mut r =
        hpke::setup_receiver_base(&mut server, RECIPIENT, &enc, HpkeAead::Aes256Gcm, b"info")
            .unwrap();
    let mut buf = m1.clone();
    assert_eq!(r.open_in_place(b"", &mut buf).unwrap_err(), Error::Crypto);
    assert_eq!(buf, m1, "a failed open leaves the ciphertext");
    assert_eq!(r.open_in_place(b"", &mut m0.clone()).unwrap(), b"one");
    assert_eq!(r.open_in_place(b"", &mut m1.clone()).unwrap(), b"two");
    // Replay of message 1 fails (sequence moved on).
    assert!(r.open_in_place(b"", &mut m1.clone()).is_err());

    // Wrong info, wrong recipient.
    let mut r =
        hpke::setup_receiver_base(&mut server, RECIPIENT, &enc, HpkeAead::Aes256Gcm, b"inf0")
            .unwrap();
    assert!(r.open_in_place(b"", &mut m0.clone()).is_err());
    let mut r =
        hpke::setup_receiver_base(&mut other, RECIPIENT, &enc, HpkeAead::Aes256Gcm, b"info")
            .unwrap();
    assert!(r.open_in_place(b"", &mut m0.clone()).is_err());
    let _ = other_pk;

    // Auth mode: the wrong sender key gives a context that opens nothing.
    let mut sealed = [0u8; 65 + 2 + 16];
    let n = hpke::seal_auth(
        &mut device,
        SENDER,
        &pk,
        HpkeAead::Aes128Gcm,
        b"i",
        b"a",
        b"hi",
        &mut sealed,
        &mut rng,
    )
    .unwrap();
    let mut out = [0u8; 2];
    let impostor = other.public_key(RECIPIENT).unwrap();
    assert_eq!(
        hpke::open_auth(
            &mut server,
            RECIPIENT,
            &impostor,
            HpkeAead::Aes128Gcm,
            b"i",
            b"a",
            &sealed[..n],
            &mut out
        ),
        Err(Error::Crypto)
    );
    let device_pk = device.public_key(SENDER).unwrap();
    assert_eq!(
        hpke::open_auth(
            &mut server,
            RECIPIENT,
            &device_pk,
            HpkeAead::Aes128Gcm,
            b"i",
            b"a",
            &sealed[..n],
            &mut out
        ),
        Ok(2)
    );

    // Invalid encapsulated keys are decode errors.
    let mut bad = enc;
    bad[0] = 0x02;
    assert!(matches!(
        hpke::setup_receiver_base(&mut server, RECIPIENT, &bad, HpkeAead::Aes256Gcm, b""),
        Err(Error::Decode(_))
    ));
    bad = enc;
    bad[64] ^= 1; // off the curve
    assert!(matches!(
        hpke::setup_receiver_base(&mut server, RECIPIENT, &bad, HpkeAead::Aes256Gcm, b""),
        Err(Error::Decode(_))
    ));
}

struct Telemetry {
    server: Store,
    server_pk: EcPublicKey,
    device: Store,
    device_pk: EcPublicKey,
}

fn telemetry_fixture() -> Telemetry {
    let mut rng = InsecureTestRng::new(77);
    let mut server = Store::new();
    let server_pk = server.generate_p256(RECIPIENT, &mut rng).unwrap();
    let mut device = Store::new();
    let device_pk = device.generate_p256(SENDER, &mut rng).unwrap();
    Telemetry {
        server,
        server_pk,
        device,
        device_pk,
    }
}

#[test]
fn telemetry_signed_and_unsigned_round_trip() {
    let mut f = telemetry_fixture();
    let mut rng = InsecureTestRng::new(1);
    let payload = b"temp=21.5C battery=87%";

    let mut msg = vec![0u8; telemetry::telemetry_len(payload.len(), true)];
    let n = telemetry::seal_telemetry_signed(
        &mut f.device,
        SENDER,
        &f.server_pk,
        42,
        payload,
        &mut msg,
        &mut rng,
    )
    .unwrap();
    assert_eq!(n, msg.len());
    let h = TelemetryHeader::parse(&msg).unwrap();
    assert!(h.signed);
    assert_eq!(h.serial, 42);
    assert_eq!(h.recipient, hpke::key_fingerprint(&f.server_pk));
    // The relay sees no plaintext.
    assert!(!msg.windows(payload.len()).any(|w| w == payload));
    let mut copy = msg.clone();
    let out =
        telemetry::open_telemetry(&mut f.server, RECIPIENT, Some(&f.device_pk), &mut copy).unwrap();
    assert_eq!(out, payload);
    // Policy: a signed message needs a device key, and the right one.
    assert_eq!(
        telemetry::open_telemetry(&mut f.server, RECIPIENT, None, &mut msg.clone()),
        Err(Error::Envelope(EnvelopeError::SignaturePolicy))
    );
    assert_eq!(
        telemetry::open_telemetry(
            &mut f.server,
            RECIPIENT,
            Some(&f.server_pk),
            &mut msg.clone()
        ),
        Err(Error::Crypto)
    );

    let mut msg = vec![0u8; telemetry::telemetry_len(payload.len(), false)];
    telemetry::seal_telemetry(&f.server_pk, 43, payload, &mut msg, &mut rng).unwrap();
    let out = telemetry::open_telemetry(&mut f.server, RECIPIENT, None, &mut msg.clone())
        .unwrap()
        .to_vec();
    assert_eq!(out, payload);
    assert_eq!(
        telemetry::open_telemetry(
            &mut f.server,
            RECIPIENT,
            Some(&f.device_pk),
            &mut msg.clone()
        ),
        Err(Error::Envelope(EnvelopeError::SignaturePolicy))
    );
}

#[test]
fn telemetry_every_byte_tampered_is_rejected_without_plaintext() {
    let mut f = telemetry_fixture();
    let mut rng = InsecureTestRng::new(2);
    let payload = b"secret reading 1234";
    let mut msg = vec![0u8; telemetry::telemetry_len(payload.len(), true)];
    telemetry::seal_telemetry_signed(
        &mut f.device,
        SENDER,
        &f.server_pk,
        7,
        payload,
        &mut msg,
        &mut rng,
    )
    .unwrap();
    for i in 0..msg.len() {
        for flip in [0x01u8, 0x80] {
            let mut t = msg.clone();
            t[i] ^= flip;
            let r = telemetry::open_telemetry(&mut f.server, RECIPIENT, Some(&f.device_pk), &mut t);
            assert!(r.is_err(), "byte {i} flip {flip:#x} accepted");
            assert!(
                !t.windows(payload.len()).any(|w| w == payload),
                "plaintext released at {i}"
            );
        }
    }
    // Truncation and extension.
    for len in 0..msg.len() {
        let mut t = msg[..len].to_vec();
        assert!(
            telemetry::open_telemetry(&mut f.server, RECIPIENT, Some(&f.device_pk), &mut t)
                .is_err()
        );
    }
    let mut t = msg.clone();
    t.push(0);
    assert!(
        telemetry::open_telemetry(&mut f.server, RECIPIENT, Some(&f.device_pk), &mut t).is_err()
    );
}

#[test]
fn telemetry_to_another_server_is_refused() {
    let mut f = telemetry_fixture();
    let mut rng = InsecureTestRng::new(3);
    let mut msg = vec![0u8; telemetry::telemetry_len(4, false)];
    telemetry::seal_telemetry(&f.server_pk, 1, b"data", &mut msg, &mut rng).unwrap();
    let mut other = Store::new();
    other.generate_p256(RECIPIENT, &mut rng).unwrap();
    assert_eq!(
        telemetry::open_telemetry(&mut other, RECIPIENT, None, &mut msg.clone()),
        Err(Error::Envelope(EnvelopeError::WrongRecipient))
    );
    let _ = &mut f.device;
}
