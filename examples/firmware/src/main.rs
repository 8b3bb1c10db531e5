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
    AwaitingFinish, AwaitingResponse, CredentialMode, Initiator, PeerCredential, PeerPolicy,
    Responder, Session,
};
use provkit::provider::{CryptoProvider, RustCrypto};
use provkit::secret::SecretBytes;
use provkit::store::flash::{FlashStore, RamFlash};
use provkit::store::{IdentityKeys, KeyId, RecordId, Records};
use provkit_cm4::Cm4;
use rng::{PlaceholderRng, VectorReplayRng};

mod dukpt;
mod instructions;
mod rng;
mod stack;
mod telemetry;
mod wycheproof;

mod vectors {
    use crate::wycheproof::{Case, Outcome};
    include!(concat!(env!("OUT_DIR"), "/vectors.rs"));
}

/// The test PKI of tests/cert.rs: root -> factory intermediate -> device. The device holds
/// its CA certificates in compact form (182 and 187 bytes instead of 420 and 457 of DER),
/// so the firmware links no X.509 parser.
const CHAIN_ROOT: &[u8] = include_bytes!("../../../tests/data/cert/root.compact");
const CHAIN_INTERMEDIATE: &[u8] = include_bytes!("../../../tests/data/cert/intermediate.compact");
const CHAIN_DEVICE: &[u8] = include_bytes!("../../../tests/data/cert/device.compact");
/// 2025-10-09, when the test chain is valid.
const CHAIN_NOW: u64 = 1_760_000_000;

const IDENTITY: KeyId = KeyId(1);
/// The issue's budget for the deepest stack of any step, from reset.
const STACK_BUDGET: usize = 8 * 1024;
type Flash = RamFlash<8192, 1024>;
/// A device's key store, its keys used on the provider `P`.
type StoreOn<P> = FlashStore<&'static mut Flash, P>;
/// A device's key store on the portable RustCrypto provider.
type Store = StoreOn<RustCrypto>;

/// Counts passed steps and the deepest stack they used: below each step's entry (what the
/// library call needs) and from reset (that plus this harness, which holds two devices'
/// state in one binary).
struct Steps {
    passed: u32,
    /// Deepest device step, below its entry.
    peak: usize,
    /// Deepest device step, from reset.
    peak_total: usize,
}

impl Steps {
    fn named(&mut self, device: &str, what: &str, step: &mut dyn FnMut() -> bool) {
        self.measure(device, what, step, true);
    }

    fn run(&mut self, name: &str, step: &mut dyn FnMut() -> bool) {
        self.measure("", name, step, true);
    }

    /// A step that plays the server, not the device: checked like the others, but its
    /// stack is not part of the device's budget.
    fn server(&mut self, name: &str, step: &mut dyn FnMut() -> bool) {
        self.measure("", name, step, false);
    }

    /// Runs `step` between a stack paint and its reading, counting its instructions.
    fn measure(&mut self, device: &str, what: &str, step: &mut dyn FnMut() -> bool, counts: bool) {
        let entry = stack::paint();
        let mark = instructions::Mark::now();
        let ok = step();
        let executed = mark.elapsed();
        self.finish(ok, device, what, entry, counts, executed);
    }

    fn finish(
        &mut self,
        ok: bool,
        device: &str,
        what: &str,
        entry: usize,
        counts: bool,
        executed: u64,
    ) {
        let (used, total) = stack::peak(entry);
        if counts {
            self.peak = self.peak.max(used);
            self.peak_total = self.peak_total.max(total);
        }
        hprintln!(
            "[{}] {}{}{} (stack {} B; {} B from reset; {} instructions)",
            if ok { " ok " } else { "FAIL" },
            device,
            if device.is_empty() { "" } else { ": " },
            what,
            used,
            total,
            executed
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
    let core = cortex_m::Peripherals::take().unwrap_or_else(|| fail("core peripherals"));
    instructions::start(core.SYST);
    let (calibrated, milli) = instructions::calibrate();
    hprintln!(
        "[{}] calibration: {}.{:03} instructions per SysTick tick (QEMU -icount shift=0, 25 MHz: 40.000)",
        if calibrated { " ok " } else { "FAIL" },
        milli / 1000,
        milli % 1000
    );
    if !calibrated {
        fail("instruction counting is off: run QEMU with -icount shift=0");
    }
    // The flash images live in .bss (as memory-mapped flash would), never on the stack.
    static mut FLASH_A: Flash = Flash::new();
    static mut FLASH_B: Flash = Flash::new();
    static mut FLASH_TERMINAL: Flash = Flash::new();
    static mut FLASH_C: Flash = Flash::new();
    static mut FLASH_D: Flash = Flash::new();
    static mut FLASH_TERMINAL_MULTIWRITE: Flash = Flash::new();
    // SAFETY: `main` runs once and never returns; these are the only references.
    let (flash_a, flash_b, flash_t, flash_c, flash_d, flash_tm) = unsafe {
        (
            &mut *addr_of_mut!(FLASH_A),
            &mut *addr_of_mut!(FLASH_B),
            &mut *addr_of_mut!(FLASH_TERMINAL),
            &mut *addr_of_mut!(FLASH_C),
            &mut *addr_of_mut!(FLASH_D),
            &mut *addr_of_mut!(FLASH_TERMINAL_MULTIWRITE),
        )
    };
    let mut a = FlashStore::mount(flash_a).unwrap_or_else(|_| fail("mount flash A"));
    let mut b = FlashStore::mount(flash_b).unwrap_or_else(|_| fail("mount flash B"));
    let mut terminal = FlashStore::mount(flash_t).unwrap_or_else(|_| fail("mount flash T"));
    let mut terminal_multiwrite =
        FlashStore::mount_multiwrite(flash_tm).unwrap_or_else(|_| fail("mount flash TM"));
    // Devices C and D: the same keys as A and B, on the Cortex-M4 assembly provider.
    let mut c =
        StoreOn::<Cm4>::mount_with_provider(flash_c).unwrap_or_else(|_| fail("mount flash C"));
    let mut d =
        StoreOn::<Cm4>::mount_with_provider(flash_d).unwrap_or_else(|_| fail("mount flash D"));
    let mut steps = Steps {
        passed: 0,
        peak: 0,
        peak_total: 0,
    };

    steps.run(
        "certificate chain verifies (root -> intermediate -> 111-byte device cert)",
        &mut verify_chain::<RustCrypto>,
    );
    steps.run(
        "tampered device certificate is rejected",
        &mut reject_tampered,
    );
    steps.run(
        "identity keys stored in the NOR-flash key store",
        &mut || store_identities(&mut a, &mut b),
    );

    steps.run(
        "P-256 sign and ECDH through the flash store cost what the raw operations cost",
        &mut || store_overhead(&mut a),
    );

    pair_with_vector(&mut steps, ("A", "B"), &mut a, &mut b);
    pair_fresh(&mut steps, &mut a, &mut b);

    // The same device steps on the Cortex-M4 assembly provider, then one handshake each
    // way between a device on each provider.
    steps.run(
        "cm4: certificate chain verifies (root -> intermediate -> 111-byte device cert)",
        &mut verify_chain::<Cm4>,
    );
    steps.run(
        "cm4: Wycheproof ECDSA P-256 SHA-256 suite on the assembly",
        &mut wycheproof::ecdsa::<Cm4>,
    );
    steps.run(
        "cm4: Wycheproof ECDH secp256r1 suite on the assembly",
        &mut wycheproof::ecdh::<Cm4>,
    );
    steps.run(
        "cm4: identity keys stored in the NOR-flash key store",
        &mut || store_identities(&mut c, &mut d),
    );
    steps.run(
        "cm4: P-256 sign and ECDH through the flash store cost what the raw operations cost",
        &mut || store_overhead(&mut c),
    );
    pair_with_vector(&mut steps, ("C", "D"), &mut c, &mut d);
    pair_with_vector(&mut steps, ("A", "D"), &mut a, &mut d);
    pair_with_vector(&mut steps, ("C", "B"), &mut c, &mut b);
    let mut sealed_cm4 = telemetry::Sealed::default();
    steps.server(
        "server (simulated here): makes its HPKE key pair",
        &mut || telemetry::make_server(&mut sealed_cm4),
    );
    steps.run(
        "cm4: telemetry: HPKE-sealed to the server, signed by the identity key in flash",
        &mut || telemetry::seal(&mut c, &mut sealed_cm4),
    );
    steps.server(
        "server (simulated here): opens the cm4 device's telemetry; refuses a flipped byte",
        &mut || telemetry::open(&mut c, &mut sealed_cm4),
    );
    steps.run(
        "pinned peer persists across a remount of the flash store",
        &mut || pin_and_remount(&mut a),
    );

    steps.run(
        "DUKPT: X9.24-3 initial key injected into the terminal's flash store",
        &mut || dukpt::inject(&mut terminal),
    );
    steps.run(
        "DUKPT: transactions 1-8, flash remounted before each; PIN blocks and CMACs equal X9.24-3",
        &mut || dukpt::transactions(&mut terminal, false),
    );
    steps.run(
        "DUKPT: AES-192/256 keys refused (Unsupported) in this AES-128-only build",
        &mut || dukpt::refuses_unbuilt_sizes(&mut terminal),
    );
    // The same terminal on a part that programs a word twice: superseded registers are
    // zeroed in place instead of their pages evacuated and erased.
    steps.run(
        "DUKPT: X9.24-3 initial key injected into a multiwrite flash store",
        &mut || dukpt::inject(&mut terminal_multiwrite),
    );
    steps.run(
        "DUKPT: transactions 1-8 on multiwrite flash, remounted before each; equal to X9.24-3",
        &mut || dukpt::transactions(&mut terminal_multiwrite, true),
    );

    let mut sealed = telemetry::Sealed::default();
    steps.server(
        "server (simulated here): makes its HPKE key pair",
        &mut || telemetry::make_server(&mut sealed),
    );
    steps.run(
        "telemetry: HPKE-sealed to the server, signed by the identity key in flash",
        &mut || telemetry::seal(&mut a, &mut sealed),
    );
    steps.server(
        "server (simulated here): opens the telemetry; refuses it after a relay flips a byte",
        &mut || telemetry::open(&mut a, &mut sealed),
    );
    steps.run(
        "HPKE: AES-256-GCM refused (Unsupported) in this AES-128-only build",
        &mut || telemetry::refuses_aes256(&mut a),
    );

    hprintln!(
        "PROVKIT-FIRMWARE steps={} peak_stack={} peak_stack_from_reset={}",
        steps.passed,
        steps.peak,
        steps.peak_total
    );
    if steps.peak > STACK_BUDGET {
        fail("peak stack above the 8 KiB budget");
    }
    hprintln!("all steps passed");
    debug::exit(debug::EXIT_SUCCESS);
    loop {
        cortex_m::asm::wfi();
    }
}

fn fail(what: &str) -> ! {
    hprintln!("[FAIL] {}", what);
    debug::exit(debug::EXIT_FAILURE);
    loop {
        cortex_m::asm::wfi();
    }
}

#[inline(never)]
fn verify_chain<P: CryptoProvider>() -> bool {
    (|| -> provkit::Result<bool> {
        let root = CaCert::from_compact_on::<P>(CHAIN_ROOT)?;
        let int = CaCert::from_compact_on::<P>(CHAIN_INTERMEDIATE)?;
        let v = cert::verify_device_on::<P>(
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
    CaCert::from_compact(CHAIN_ROOT)
        .and_then(|root| {
            let int = CaCert::from_compact(CHAIN_INTERMEDIATE)?;
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
fn store_identities<P: CryptoProvider>(a: &mut StoreOn<P>, b: &mut StoreOn<P>) -> bool {
    a.import_p256(IDENTITY, &SecretBytes::new(vectors::INITIATOR_SCALAR))
        .is_ok()
        && b.import_p256(IDENTITY, &SecretBytes::new(vectors::RESPONDER_SCALAR))
            .is_ok()
}

/// Signs and agrees once on the provider directly and once through the flash store (which
/// reads the scalar from flash each time), with the same key and inputs, and prints both
/// counts: the store must not recompute the public key or anything else per call.
#[inline(never)]
fn store_overhead<P: CryptoProvider>(a: &mut StoreOn<P>) -> bool {
    let digest = [0x5a; 32];
    let Ok(key) = P::p256_key_from_scalar(&SecretBytes::new(vectors::INITIATOR_SCALAR)) else {
        return false;
    };
    let Ok(peer) = CompactCert::parse(&vectors::RESPONDER_CERT).and_then(|c| c.public_key()) else {
        return false;
    };
    let mark = instructions::Mark::now();
    let raw_sig = P::p256_sign_digest(&key, &digest);
    let raw_sign = mark.elapsed();
    let mark = instructions::Mark::now();
    let store_sig = a.sign_digest(IDENTITY, &digest);
    let store_sign = mark.elapsed();
    let mark = instructions::Mark::now();
    let raw_shared = P::p256_ecdh(&key, &peer);
    let raw_ecdh = mark.elapsed();
    let mark = instructions::Mark::now();
    let store_shared = a.ecdh(IDENTITY, &peer);
    let store_ecdh = mark.elapsed();
    hprintln!(
        "       P-256 instructions: sign raw {} flash store {}; ECDH raw {} flash store {}",
        raw_sign,
        store_sign,
        raw_ecdh,
        store_ecdh
    );
    let same_signature = match (raw_sig, store_sig) {
        (Ok(r), Ok(s)) => r.normalize_s() == s.normalize_s(),
        _ => false,
    };
    let same_secret = match (raw_shared, store_shared) {
        (Ok(r), Ok(s)) => bool::from(subtle::ConstantTimeEq::ct_eq(&r, &s)),
        _ => false,
    };
    same_signature && same_secret
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

/// Device A initiates with the host vector's fixed randomness: every message must be
/// byte-identical to tests/data/handshake/transcripts.json.
#[inline(never)]
fn pair_with_vector<PA: CryptoProvider, PB: CryptoProvider>(
    steps: &mut Steps,
    (name_a, name_b): (&str, &str),
    a: &mut StoreOn<PA>,
    b: &mut StoreOn<PB>,
) {
    let mut rng_a = VectorReplayRng::new(&vectors::INITIATOR_EPHEMERAL);
    let mut rng_b = VectorReplayRng::new(&vectors::RESPONDER_EPHEMERAL);
    let certs = (&vectors::INITIATOR_CERT, &vectors::RESPONDER_CERT);
    let (mut sa, mut sb) = handshake(
        steps, name_a, name_b, a, b, certs, &mut rng_a, &mut rng_b, true,
    );
    steps.run(
        "records both ways; replay refused; exporter equals the host's",
        &mut || {
            let mut exported = [0u8; 32];
            records(&mut sa, &mut sb)
                && sa.export(b"vector", b"", &mut exported).is_ok()
                && exported == vectors::EXPORTED
        },
    );
}

/// Device A responds, with fresh randomness. QEMU has no TRNG: `PlaceholderRng` stands in
/// (not secure; a real device passes its TRNG driver).
#[inline(never)]
fn pair_fresh(steps: &mut Steps, a: &mut Store, b: &mut Store) {
    let mut drbg_a = PlaceholderRng::new(1);
    let mut drbg_b = PlaceholderRng::new(2);
    let certs = (&vectors::RESPONDER_CERT, &vectors::INITIATOR_CERT);
    let (mut sb, mut sa) = handshake(
        steps,
        "B",
        "A",
        b,
        a,
        certs,
        &mut drbg_b,
        &mut drbg_a,
        false,
    );
    steps.run("records both ways; replay refused", &mut || {
        records(&mut sb, &mut sa)
    });
}

/// The messages on the wire between the two devices.
struct Wire {
    m1: [u8; 40],
    m2: [u8; 232],
    m3: [u8; 200],
    n1: usize,
    n2: usize,
    n3: usize,
}

/// One handshake between two flash-backed devices, a step per message, as on two real
/// devices: the state between messages is held by this caller (the application), and
/// each step's stack is only what that message needs. With `check_vector`, each message
/// must equal the committed host transcript.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn handshake<
    PI: CryptoProvider,
    PR: CryptoProvider,
    RA: rand_core::CryptoRng,
    RB: rand_core::CryptoRng,
>(
    steps: &mut Steps,
    name_i: &str,
    name_r: &str,
    ini: &mut StoreOn<PI>,
    res: &mut StoreOn<PR>,
    certs: (
        &'static [u8; cert::COMPACT_LEN],
        &'static [u8; cert::COMPACT_LEN],
    ),
    rng_i: &mut RA,
    rng_r: &mut RB,
    check_vector: bool,
) -> (Session<PI>, Session<PR>) {
    let root = CaCert::from_compact(&vectors::ROOT_COMPACT).unwrap_or_else(|_| fail("root"));
    let policy = PeerPolicy::new(&root, vectors::NOW);
    let mut wire = Wire {
        m1: [0; 40],
        m2: [0; 232],
        m3: [0; 200],
        n1: 0,
        n2: 0,
        n3: 0,
    };
    let mut hs_i = None;
    let mut hs_r = None;
    let mut s_i = None;
    let mut s_r = None;
    steps.named(name_i, "initiator: message 1", &mut || {
        hs_i = initiator_start(certs.0, rng_i, &mut wire).ok();
        hs_i.is_some() && (!check_vector || wire.m1[..wire.n1] == vectors::MESSAGE_1[..])
    });
    steps.named(
        name_r,
        "responder: message 2 (signed, certificate by value)",
        &mut || {
            hs_r = responder_respond(res, certs.1, rng_r, &mut wire).ok();
            hs_r.is_some() && (!check_vector || wire.m2[..wire.n2] == vectors::MESSAGE_2[..])
        },
    );
    steps.named(
        name_i,
        "initiator: verifies responder's chain and signature; message 3",
        &mut || {
            s_i = hs_i
                .take()
                .and_then(|hs| initiator_finish(ini, hs, &policy, certs.1, &mut wire).ok());
            s_i.is_some() && (!check_vector || wire.m3[..wire.n3] == vectors::MESSAGE_3[..])
        },
    );
    steps.named(
        name_r,
        "responder: verifies initiator's chain and signature",
        &mut || {
            s_r = hs_r
                .take()
                .and_then(|hs| responder_finish(hs, &policy, certs.0, &wire).ok());
            s_r.is_some()
        },
    );
    match (s_i, s_r) {
        (Some(i), Some(r)) => (i, r),
        _ => fail("handshake"),
    }
}

#[inline(never)]
fn initiator_start<P: CryptoProvider, R: rand_core::CryptoRng>(
    cert: &'static [u8; cert::COMPACT_LEN],
    rng: &mut R,
    wire: &mut Wire,
) -> provkit::Result<AwaitingResponse<'static, P>> {
    let cert = CompactCert::parse(cert)?;
    let (hs, n) = Initiator::<P>::with_provider(IDENTITY, cert, CredentialMode::ByValue)
        .start(rng, &mut wire.m1)?;
    wire.n1 = n;
    Ok(hs)
}

#[inline(never)]
fn responder_respond<P: CryptoProvider, R: rand_core::CryptoRng>(
    store: &mut StoreOn<P>,
    cert: &'static [u8; cert::COMPACT_LEN],
    rng: &mut R,
    wire: &mut Wire,
) -> provkit::Result<AwaitingFinish<'static, P>> {
    let cert = CompactCert::parse(cert)?;
    let (hs, n) = Responder::<P>::with_provider(IDENTITY, cert, CredentialMode::ByValue).respond(
        store,
        rng,
        &wire.m1[..wire.n1],
        &mut wire.m2,
    )?;
    wire.n2 = n;
    Ok(hs)
}

#[inline(never)]
fn initiator_finish<P: CryptoProvider>(
    store: &mut StoreOn<P>,
    hs: AwaitingResponse<'_, P>,
    policy: &PeerPolicy<'_>,
    known_peer: &[u8; cert::COMPACT_LEN],
    wire: &mut Wire,
) -> provkit::Result<Session<P>> {
    let parsed = hs.parse_message_2(&wire.m2[..wire.n2])?;
    let peer = match parsed.peer_credential() {
        PeerCredential::ByValue(c) => c,
        PeerCredential::ByReference(_) => *known_peer,
    };
    let (session, n) = parsed
        .verify_message_2(&CompactCert::parse(&peer)?, policy)?
        .finish(store, &mut wire.m3)?;
    wire.n3 = n;
    Ok(session)
}

#[inline(never)]
fn responder_finish<P: CryptoProvider>(
    hs: AwaitingFinish<'_, P>,
    policy: &PeerPolicy<'_>,
    known_peer: &[u8; cert::COMPACT_LEN],
    wire: &Wire,
) -> provkit::Result<Session<P>> {
    let parsed = hs.parse_message_3(&wire.m3[..wire.n3])?;
    let peer = parsed.peer_certificate().unwrap_or(*known_peer);
    let (session, _) = parsed.verify_message_3(&CompactCert::parse(&peer)?, policy)?;
    Ok(session)
}

#[inline(never)]
fn records<PA: CryptoProvider, PB: CryptoProvider>(
    a: &mut Session<PA>,
    b: &mut Session<PB>,
) -> bool {
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
    loop {
        cortex_m::asm::wfi();
    }
}
