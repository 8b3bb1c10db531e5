//! provkit's device side on an emulated Cortex-M4 (QEMU `mps2-an386`).
//!
//! Every step checks its result; the binary exits with success (semihosting) only if all
//! of them passed. Each step is its own non-inlined function, so the stack it needs is
//! released before the next one, and the peak stack is measured per step by painting.
//!
//! ```text
//! cd examples/firmware && cargo run --release
//! ```

#![no_std]
#![no_main]

use core::panic::PanicInfo;
use core::ptr::addr_of_mut;
use cortex_m_rt::entry;
use cortex_m_semihosting::{debug, hprintln};
use provkit::cert::{self, CaCert, CompactCert};
use provkit::handshake::{
    CredentialMode, Initiator, PeerCredential, PeerPolicy, Responder, Session,
};
use provkit::secret::SecretBytes;
use provkit::store::flash::{FlashStore, RamFlash};
use provkit::store::{IdentityKeys, KeyId, RecordId, Records};
use provkit::testing::{FixedRng, TestRng};

mod stack;

mod vectors {
    include!(concat!(env!("OUT_DIR"), "/vectors.rs"));
}

/// The test PKI of tests/cert.rs: root -> factory intermediate -> device.
const CHAIN_ROOT: &[u8] = include_bytes!("../../../tests/data/cert/root.der");
const CHAIN_INTERMEDIATE: &[u8] = include_bytes!("../../../tests/data/cert/intermediate.der");
const CHAIN_DEVICE: &[u8] = include_bytes!("../../../tests/data/cert/device.compact");
/// 2025-10-09, when the test chain is valid.
const CHAIN_NOW: u64 = 1_760_000_000;

const IDENTITY: KeyId = KeyId(1);
type Flash = RamFlash<8192, 1024>;
type Store = FlashStore<&'static mut Flash>;

/// Counts passed steps and the deepest stack any of them used.
struct Steps {
    passed: u32,
    peak: usize,
}

impl Steps {
    fn run(&mut self, name: &str, step: &mut dyn FnMut() -> bool) {
        stack::paint();
        let ok = step();
        let used = stack::peak();
        self.peak = self.peak.max(used);
        hprintln!(
            "[{}] {} (stack {} B)",
            if ok { " ok " } else { "FAIL" },
            name,
            used
        );
        if !ok {
            debug::exit(debug::EXIT_FAILURE);
        }
        self.passed += 1;
    }
}

#[entry]
fn main() -> ! {
    hprintln!("provkit firmware proof on Cortex-M4 (mps2-an386)");
    // The flash images live in .bss (as memory-mapped flash would), never on the stack.
    static mut FLASH_A: Flash = Flash::new();
    static mut FLASH_B: Flash = Flash::new();
    // SAFETY: `main` runs once and never returns; these are its only references.
    let (flash_a, flash_b) = unsafe { (&mut *addr_of_mut!(FLASH_A), &mut *addr_of_mut!(FLASH_B)) };
    let mut a = FlashStore::mount(flash_a).unwrap_or_else(|_| fail("mount flash A"));
    let mut b = FlashStore::mount(flash_b).unwrap_or_else(|_| fail("mount flash B"));
    let mut steps = Steps { passed: 0, peak: 0 };

    steps.run(
        "certificate chain verifies (root -> intermediate -> 111-byte device cert)",
        &mut verify_chain,
    );
    steps.run(
        "tampered device certificate is rejected",
        &mut reject_tampered,
    );
    steps.run(
        "identity keys stored in the NOR-flash key store",
        &mut || store_identities(&mut a, &mut b),
    );
    steps.run("handshake, device A initiator: transcript identical to the host's vector; records; exporter", &mut || {
        handshake_as_initiator(&mut a, &mut b)
    });
    steps.run(
        "handshake, device A responder (fresh randomness); records both ways",
        &mut || handshake_as_responder(&mut a, &mut b),
    );
    steps.run(
        "pinned peer persists across a remount of the flash store",
        &mut || pin_and_remount(&mut a),
    );

    hprintln!(
        "PROVKIT-FIRMWARE steps={} peak_stack={}",
        steps.passed,
        steps.peak
    );
    if steps.peak > 8 * 1024 {
        fail("peak stack above 8 KiB");
    }
    hprintln!("all steps passed");
    debug::exit(debug::EXIT_SUCCESS);
    loop {}
}

fn fail(what: &str) -> ! {
    hprintln!("[FAIL] {}", what);
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}

#[inline(never)]
fn verify_chain() -> bool {
    (|| -> provkit::Result<bool> {
        let root = CaCert::from_der(CHAIN_ROOT)?;
        let int = CaCert::from_der(CHAIN_INTERMEDIATE)?;
        let v = cert::verify_device(
            &root,
            Some(&int),
            &CompactCert::parse(CHAIN_DEVICE)?,
            CHAIN_NOW,
        )?;
        Ok(v.serial == 0x8000_0000_0000_002a)
    })()
    .unwrap_or(false)
}

#[inline(never)]
fn reject_tampered() -> bool {
    let mut tampered = [0u8; cert::COMPACT_LEN];
    tampered.copy_from_slice(CHAIN_DEVICE);
    tampered[100] ^= 1;
    CaCert::from_der(CHAIN_ROOT)
        .and_then(|root| {
            let int = CaCert::from_der(CHAIN_INTERMEDIATE)?;
            cert::verify_device(
                &root,
                Some(&int),
                &CompactCert::parse(&tampered)?,
                CHAIN_NOW,
            )
        })
        .is_err()
}

#[inline(never)]
fn store_identities(a: &mut Store, b: &mut Store) -> bool {
    a.import_p256(IDENTITY, &SecretBytes::new(vectors::INITIATOR_SCALAR))
        .is_ok()
        && b.import_p256(IDENTITY, &SecretBytes::new(vectors::RESPONDER_SCALAR))
            .is_ok()
}

#[inline(never)]
fn handshake_as_initiator(a: &mut Store, b: &mut Store) -> bool {
    let mut rng_a = FixedRng::new(&vectors::INITIATOR_EPHEMERAL);
    let mut rng_b = FixedRng::new(&vectors::RESPONDER_EPHEMERAL);
    let certs = (&vectors::INITIATOR_CERT, &vectors::RESPONDER_CERT);
    let Ok((mut sa, mut sb)) = handshake(a, b, certs, &mut rng_a, &mut rng_b, true) else {
        return false;
    };
    let mut exported = [0u8; 32];
    records(&mut sa, &mut sb)
        && sa.export(b"vector", b"", &mut exported).is_ok()
        && exported == vectors::EXPORTED
}

#[inline(never)]
fn handshake_as_responder(a: &mut Store, b: &mut Store) -> bool {
    // QEMU has no TRNG: a seeded generator stands in (a real device passes its hardware RNG).
    let mut drbg_a = TestRng::new(1);
    let mut drbg_b = TestRng::new(2);
    let certs = (&vectors::RESPONDER_CERT, &vectors::INITIATOR_CERT);
    match handshake(b, a, certs, &mut drbg_b, &mut drbg_a, false) {
        Ok((mut sb, mut sa)) => records(&mut sb, &mut sa),
        Err(_) => false,
    }
}

#[inline(never)]
fn pin_and_remount(a: &mut Store) -> bool {
    let Ok(peer) = CompactCert::parse(&vectors::RESPONDER_CERT) else {
        return false;
    };
    if provkit::handshake::pin(a, RecordId(1), &peer).is_err() {
        return false;
    }
    // Simulate a reset: mount a new store on the same flash image.
    let image: &mut Flash = a.flash_mut();
    let Ok(mut again) = FlashStore::mount(image) else {
        return false;
    };
    let mut buf = [0u8; cert::COMPACT_LEN];
    again.read_record(RecordId(1), &mut buf) == Ok(cert::COMPACT_LEN)
        && buf == vectors::RESPONDER_CERT
}

/// One handshake between two flash-backed devices; with `check_vector`, each message
/// must equal the committed host transcript.
#[inline(never)]
fn handshake<RA: rand_core::CryptoRng, RB: rand_core::CryptoRng>(
    ini: &mut Store,
    res: &mut Store,
    certs: (&[u8; cert::COMPACT_LEN], &[u8; cert::COMPACT_LEN]),
    rng_i: &mut RA,
    rng_r: &mut RB,
    check_vector: bool,
) -> provkit::Result<(Session, Session)> {
    let root = CaCert::from_der(&vectors::ROOT_DER)?;
    let policy = PeerPolicy {
        root: &root,
        intermediate: None,
        revoked: &[],
        now: vectors::NOW,
    };
    let (mut m1, mut m2, mut m3) = ([0u8; 40], [0u8; 232], [0u8; 200]);
    let (hs_i, n1) = Initiator::new(
        IDENTITY,
        CompactCert::parse(certs.0)?,
        CredentialMode::ByValue,
    )
    .start(rng_i, &mut m1)?;
    let (hs_r, n2) = Responder::new(
        IDENTITY,
        CompactCert::parse(certs.1)?,
        CredentialMode::ByValue,
    )
    .respond(res, rng_r, &m1[..n1], &mut m2)?;
    let parsed = hs_i.parse_message_2(&m2[..n2])?;
    let peer = match parsed.peer_credential() {
        PeerCredential::ByValue(c) => c,
        PeerCredential::ByReference(_) => *certs.1,
    };
    let (si, n3) = parsed
        .verify_message_2(&CompactCert::parse(&peer)?, &policy)?
        .finish(ini, &mut m3)?;
    let parsed = hs_r.parse_message_3(&m3[..n3])?;
    let peer = parsed.peer_certificate().unwrap_or(*certs.0);
    let (sr, _) = parsed.verify_message_3(&CompactCert::parse(&peer)?, &policy)?;
    if check_vector
        && (m1[..n1] != vectors::MESSAGE_1[..]
            || m2[..n2] != vectors::MESSAGE_2[..]
            || m3[..n3] != vectors::MESSAGE_3[..])
    {
        return Err(provkit::Error::Crypto);
    }
    Ok((si, sr))
}

#[inline(never)]
fn records(a: &mut Session, b: &mut Session) -> bool {
    let mut rec = [0u8; 64];
    let mut out = [0u8; 64];
    for i in 0..3u8 {
        let Ok(n) = a.seal(&[i; 16], b"fw", &mut rec) else {
            return false;
        };
        if b.open(&rec[..n], b"fw", &mut out) != Ok(16) || out[..16] != [i; 16] {
            return false;
        }
        let Ok(n) = b.seal(b"ack", b"fw", &mut rec) else {
            return false;
        };
        if a.open(&rec[..n], b"fw", &mut out) != Ok(3) {
            return false;
        }
    }
    // A replayed record is refused.
    let Ok(n) = a.seal(b"once", b"", &mut rec) else {
        return false;
    };
    b.open(&rec[..n], b"", &mut out).is_ok() && b.open(&rec[..n], b"", &mut out).is_err()
}

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    hprintln!("panic: {}", info);
    debug::exit(debug::EXIT_FAILURE);
    loop {}
}
