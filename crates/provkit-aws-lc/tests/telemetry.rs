//! Telemetry from a device on the default provider, opened by a server on aws-lc-rs: the
//! server key in an [`AwsLc`] store decapsulates, the device signature is checked on
//! [`AwsLc`] (`open_telemetry_on`), and what the default provider refuses is refused here
//! too.

use provkit::Error;
use provkit::envelope::telemetry::{
    open_telemetry, open_telemetry_on, seal_telemetry, seal_telemetry_signed, telemetry_len,
};
use provkit::store::{IdentityKeys, KeyId, MemoryStore};
use provkit::testing::InsecureTestRng;
use provkit_aws_lc::AwsLc;

const SERVER: KeyId = KeyId(1);
const DEVICE: KeyId = KeyId(2);

#[test]
fn device_telemetry_opens_on_a_server_on_aws_lc() {
    let mut rng = InsecureTestRng::new(5);
    let mut server = MemoryStore::<1, 0, 0, AwsLc>::new();
    let server_pk = server.generate_p256(SERVER, &mut rng).unwrap();
    let mut device = MemoryStore::<1, 0, 0>::new();
    let device_pk = device.generate_p256(DEVICE, &mut rng).unwrap();

    let payload = b"temp=21.5";
    let mut signed = vec![0u8; telemetry_len(payload.len(), true)];
    seal_telemetry_signed(
        &mut device,
        DEVICE,
        &server_pk,
        7,
        payload,
        &mut signed,
        &mut rng,
    )
    .unwrap();
    let mut unsigned = vec![0u8; telemetry_len(payload.len(), false)];
    seal_telemetry(&server_pk, 7, payload, &mut unsigned, &mut rng).unwrap();

    let mut m = signed.clone();
    let opened = open_telemetry_on::<AwsLc, _>(&mut server, SERVER, Some(&device_pk), &mut m);
    assert_eq!(opened.unwrap(), payload);
    let mut m = unsigned.clone();
    assert_eq!(
        open_telemetry_on::<AwsLc, _>(&mut server, SERVER, None, &mut m).unwrap(),
        payload
    );

    // Every single-byte change is refused, on either provider alike.
    for i in 0..signed.len() {
        let mut a = signed.clone();
        a[i] ^= 0x01;
        let mut b = a.clone();
        let on_aws_lc =
            open_telemetry_on::<AwsLc, _>(&mut server, SERVER, Some(&device_pk), &mut a)
                .map(|p| p.to_vec());
        let on_default =
            open_telemetry(&mut server, SERVER, Some(&device_pk), &mut b).map(|p| p.to_vec());
        assert!(on_aws_lc.is_err(), "byte {i} flipped was accepted");
        assert_eq!(on_aws_lc, on_default, "byte {i}");
    }
    // Another device's key does not verify the signature.
    let other_pk = MemoryStore::<1, 0, 0>::new()
        .generate_p256(DEVICE, &mut rng)
        .unwrap();
    let mut m = signed.clone();
    assert_eq!(
        open_telemetry_on::<AwsLc, _>(&mut server, SERVER, Some(&other_pk), &mut m),
        Err(Error::Crypto)
    );
}
