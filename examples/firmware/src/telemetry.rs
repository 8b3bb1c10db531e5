//! Telemetry: the device seals a reading to the server's HPKE key, signed by its identity
//! key in the flash store; the server (simulated here, with its key in a memory store)
//! opens it, and refuses it once a relay flips a byte.

use crate::rng::PlaceholderRng;
use crate::{IDENTITY, Store, StoreOn};
use provkit::ec::EcPublicKey;
use provkit::envelope::telemetry::{open_telemetry, seal_telemetry_signed_on, telemetry_len};
use provkit::provider::CryptoProvider;
use provkit::store::{IdentityKeys, KeyId, MemoryStore};

const SERVER: KeyId = KeyId(7);
const SERIAL: u64 = 0x8000_0000_0000_002a;
const READING: &[u8] = b"temp=21.5C;rssi=-67;fw=1.0.3";
const LEN: usize = telemetry_len(READING.len(), true);

/// What crosses the relay, and the server's key.
#[derive(Default)]
pub struct Sealed {
    server: Option<MemoryStore<1, 0, 0>>,
    server_pk: Option<EcPublicKey>,
    message: Option<[u8; LEN]>,
}

/// The server side, before any device seals: its HPKE key pair, whose public key a
/// device is provisioned with.
#[inline(never)]
pub fn make_server(out: &mut Sealed) -> bool {
    let mut rng = PlaceholderRng::new(3);
    let mut server = MemoryStore::<1, 0, 0>::new();
    let Ok(server_pk) = server.generate_p256(SERVER, &mut rng) else {
        return false;
    };
    out.server = Some(server);
    out.server_pk = Some(server_pk);
    true
}

/// The device side: seal to the server's public key (provisioned with the firmware).
#[inline(never)]
pub fn seal<P: CryptoProvider>(device: &mut StoreOn<P>, out: &mut Sealed) -> bool {
    let mut rng = PlaceholderRng::new(5);
    let Some(server_pk) = out.server_pk else {
        return false;
    };
    let mut message = [0u8; LEN];
    let sealed = seal_to(device, &server_pk, &mut message, &mut rng);
    out.message = Some(message);
    sealed
}

#[inline(never)]
fn seal_to<P: CryptoProvider>(
    device: &mut StoreOn<P>,
    server: &EcPublicKey,
    message: &mut [u8; LEN],
    rng: &mut PlaceholderRng,
) -> bool {
    // The ephemeral key on the provider the store runs on.
    seal_telemetry_signed_on::<P, _, _>(device, IDENTITY, server, SERIAL, READING, message, rng)
        == Ok(LEN)
}

/// The server side: opens the message, and refuses a copy with one flipped byte.
#[inline(never)]
pub fn open<P: CryptoProvider>(device: &mut StoreOn<P>, sealed: &mut Sealed) -> bool {
    let (Some(server), Some(message), Ok(device_pk)) = (
        sealed.server.as_mut(),
        sealed.message.as_mut(),
        device.public_key(IDENTITY),
    ) else {
        return false;
    };
    let mut tampered = *message;
    tampered[LEN - 1] ^= 1;
    let opened = matches!(
        open_telemetry(server, SERVER, Some(&device_pk), message),
        Ok(payload) if payload == READING
    );
    opened && open_telemetry(server, SERVER, Some(&device_pk), &mut tampered).is_err()
}

/// This firmware builds provkit without `aes256`: an HPKE context for AES-256-GCM must be
/// refused with `Error::Unsupported`, never a panic, while AES-128-GCM works.
#[inline(never)]
pub fn refuses_aes256(device: &mut Store) -> bool {
    use provkit::envelope::hpke::{HpkeAead, setup_sender_base};
    let mut rng = PlaceholderRng::new(4);
    let Ok(server) = device.public_key(IDENTITY) else {
        return false;
    };
    matches!(
        setup_sender_base(&server, HpkeAead::Aes256Gcm, b"info", &mut rng),
        Err(provkit::Error::Unsupported)
    ) && setup_sender_base(&server, HpkeAead::Aes128Gcm, b"info", &mut rng).is_ok()
}
