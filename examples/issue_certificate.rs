//! Creates a root CA, a factory (intermediate) CA and a device identity; prints the
//! compact certificate's size and writes the PEM chain to a directory so that anyone
//! can check it with OpenSSL:
//!
//! ```text
//! cargo run --example issue_certificate -- out/
//! openssl verify -CAfile out/root.pem -untrusted out/intermediate.pem out/device.pem
//! ```
//!
//! The device generates its key pair in its own key store; only its public key goes to
//! the CA. The CA keys sit in another store and sign by handle.

use provkit::cert::{self, CaCert, CaName, CaProfile, CompactCert, DeviceRequest};
use provkit::store::{IdentityKeys, KeyId, MemoryStore};
use std::time::{SystemTime, UNIX_EPOCH};

const ROOT: KeyId = KeyId(1);
const FACTORY: KeyId = KeyId(2);
const DEVICE: KeyId = KeyId(1);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .ok_or("usage: issue_certificate <output-directory>")?;
    let dir = std::path::Path::new(&dir);
    std::fs::create_dir_all(dir)?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    // Seeded from the clock for the demo; a real factory uses its hardware RNG.
    let mut rng = provkit::testing::TestRng::new(now);

    let mut ca_store = MemoryStore::<2, 0, 0>::new();
    ca_store.generate_p256(ROOT, &mut rng)?;
    let factory_public = ca_store.generate_p256(FACTORY, &mut rng)?;
    let year = 365 * 86_400;
    let mut serial = [0u8; 16];
    rand_fill(&mut rng, &mut serial);
    let mut root_der = [0u8; 1024];
    let n = cert::create_root(
        &mut ca_store,
        ROOT,
        &CaProfile::new(
            CaName::new("Example Root CA").with_organization("Example Devices Ltd"),
            serial,
            now - 3600,
            now + 25 * year,
        )
        .with_path_len(1),
        &mut root_der,
    )?;
    let root_der = &root_der[..n];
    let root = CaCert::from_der(root_der)?;
    rand_fill(&mut rng, &mut serial);
    let mut int_der = [0u8; 1024];
    let n = cert::create_intermediate(
        &mut ca_store,
        ROOT,
        &root,
        &factory_public,
        &CaProfile::new(
            CaName::new("Factory Line 1 CA").with_organization("Example Devices Ltd"),
            serial,
            now - 3600,
            now + 10 * year,
        )
        .with_path_len(0),
        &mut int_der,
    )?;
    let int_der = &int_der[..n];
    let factory = CaCert::from_der(int_der)?;

    // On the device: generate the identity key; only the public key leaves.
    let mut device_store = MemoryStore::<1, 0, 0>::new();
    let device_public = device_store.generate_p256(DEVICE, &mut rng)?;
    let device_serial = 0x0000_1234_5678_9abc;
    let compact = cert::issue_device(
        &mut ca_store,
        FACTORY,
        &factory,
        &DeviceRequest::new(device_serial, &device_public, now),
    )?;
    let parsed = CompactCert::parse(&compact)?;
    let verified = cert::verify_device(&root, Some(&factory), &parsed, now)?;
    let device_der_len = cert::expanded_len(&parsed, factory.as_issuer())?;

    std::fs::write(dir.join("root.pem"), cert::to_pem(root_der)?)?;
    std::fs::write(dir.join("intermediate.pem"), cert::to_pem(int_der)?)?;
    std::fs::write(
        dir.join("device.pem"),
        cert::expand_to_pem(&parsed, factory.as_issuer())?,
    )?;
    std::fs::write(dir.join("device.compact"), compact)?;

    println!("device serial        {:016X}", verified.serial);
    println!(
        "compact certificate  {} bytes (stored on the device)",
        compact.len()
    );
    println!("expanded X.509 DER   {device_der_len} bytes");
    println!(
        "root / intermediate  {} / {} bytes DER",
        root_der.len(),
        int_der.len()
    );
    println!(
        "wrote {}/{{root,intermediate,device}}.pem and device.compact",
        dir.display()
    );
    println!(
        "check: openssl verify -CAfile {0}/root.pem -untrusted {0}/intermediate.pem {0}/device.pem",
        dir.display()
    );
    Ok(())
}

fn rand_fill(rng: &mut provkit::testing::TestRng, out: &mut [u8]) {
    use rand_core::Rng;
    rng.fill_bytes(out);
}
