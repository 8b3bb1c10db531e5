//! The footprint probe: links exactly the device capabilities selected by cargo features
//! (`cap-cert`, `cap-initiator`, `cap-responder`, `cap-dukpt`, `cap-seal`; the NOR-flash key
//! store is always in, as the device's key store), with no output and a halting panic
//! handler, so that `.text + .rodata` measures the library and its primitives, not a test
//! harness. Inputs come through `black_box` so nothing is constant-folded away.
//! `scripts/footprint.py` builds it per capability and writes `docs/footprint.md`.
//! With `provider-cm4`, every capability runs on `provkit_cm4::Cm4` (the Cortex-M4
//! assembly) instead of provkit's portable `RustCrypto`.
//!
//! Linked, never run: the QEMU proof (`src/main.rs`) is what checks behaviour.

#![no_std]
#![no_main]

use core::convert::Infallible;
use core::hint::black_box;
use core::panic::PanicInfo;
use cortex_m_rt::entry;
use provkit::store::flash::{FlashStore, RamFlash};
use provkit::store::{KeyId, RecordId, Records};

/// The device's flash: on a real part, the memory-mapped NOR-flash driver.
type Flash = RamFlash<8192, 1024>;
/// The provider every capability runs on.
#[cfg(not(feature = "provider-cm4"))]
type P = provkit::provider::RustCrypto;
#[cfg(feature = "provider-cm4")]
type P = provkit_cm4::Cm4;
type Store = FlashStore<&'static mut Flash, P>;
const IDENTITY: KeyId = KeyId(1);
/// Where the probe's inputs come from: zeros in `.bss`, which take no flash (a constant
/// array would sit in `.rodata` and count as the library's), opaque through `black_box`.
#[unsafe(link_section = ".bss.probe_input")]
static INPUT: [u8; 512] = [0; 512];

/// Stands in for the part's TRNG peripheral (a volatile register read on hardware), so that
/// the probe links what drawing randomness costs. **PLACEHOLDER, NOT RANDOM** (a linear
/// congruential step): the probe is only measured, never run for keys; a real device passes
/// its TRNG driver.
struct PlaceholderTrng(u32);

impl rand_core::TryRng for PlaceholderTrng {
    type Error = Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        self.0 = black_box(self.0.wrapping_mul(747_796_405).wrapping_add(1));
        Ok(self.0)
    }
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(u64::from(self.try_next_u32()?) << 32 | u64::from(self.try_next_u32()?))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for b in dst {
            *b = self.try_next_u32()?.to_le_bytes()[0];
        }
        Ok(())
    }
}
impl rand_core::TryCryptoRng for PlaceholderTrng {}

fn input(len: usize) -> &'static [u8] {
    black_box(&INPUT[..len])
}

#[entry]
fn main() -> ! {
    // cortex-m-rt hands `main` its `static mut`s as `&'static mut`, without `unsafe`.
    static mut FLASH: Flash = Flash::new();
    let flash: &'static mut Flash = FLASH;
    let mut rng = PlaceholderTrng(black_box(1));
    let mut ok = 0u32;
    if let Ok(mut store) = Store::mount_with_provider(flash) {
        ok += u32::from(flash_store(&mut store));
        #[cfg(feature = "cap-cert")]
        {
            ok += u32::from(cert::verify().is_ok());
        }
        #[cfg(feature = "cap-initiator")]
        {
            ok += u32::from(initiator::run(&mut store, &mut rng).is_ok());
        }
        #[cfg(feature = "cap-responder")]
        {
            ok += u32::from(responder::run(&mut store, &mut rng).is_ok());
        }
        #[cfg(feature = "cap-dukpt")]
        {
            ok += u32::from(dukpt::run(&mut store, &mut rng).is_ok());
        }
        #[cfg(feature = "cap-seal")]
        {
            ok += u32::from(seal::run(&mut store, &mut rng).is_ok());
        }
    }
    black_box(ok);
    black_box(&mut rng);
    loop {
        cortex_m::asm::wfi();
    }
}

/// Key-store use every device makes: its identity key and a record (e.g. a pinned peer).
#[inline(never)]
fn flash_store(store: &mut Store) -> bool {
    use provkit::secret::SecretBytes;
    use provkit::store::IdentityKeys;
    let mut scalar = [0u8; 32];
    scalar.copy_from_slice(input(32));
    let mut buf = [0u8; 64];
    store
        .import_p256(IDENTITY, &SecretBytes::new(scalar))
        .is_ok()
        && store.write_record(RecordId(1), input(64)).is_ok()
        && store.read_record(RecordId(1), &mut buf).is_ok()
}

#[cfg(feature = "cap-cert")]
mod cert {
    use super::{P, input};
    use provkit::cert::{CaCert, CompactCert, verify_device_on};

    /// Chain verification: root and intermediate (compact CA certificates, as a device
    /// holds them), 111-byte device certificate.
    #[inline(never)]
    pub fn verify() -> provkit::Result<()> {
        let root = CaCert::from_compact_on::<P>(input(182))?;
        let int = CaCert::from_compact_on::<P>(input(187))?;
        let device = CompactCert::parse(input(111))?;
        verify_device_on::<P>(
            &root,
            Some(&int),
            &device,
            core::hint::black_box(1_760_000_000),
        )
        .map(|_| ())
    }
}

#[cfg(any(feature = "cap-initiator", feature = "cap-responder"))]
fn policy_root() -> provkit::Result<provkit::cert::CaCert<'static>> {
    provkit::cert::CaCert::from_compact_on::<P>(input(182))
}

/// Peers must chain to `root`; nothing revoked.
#[cfg(any(feature = "cap-initiator", feature = "cap-responder"))]
fn policy<'a>(root: &'a provkit::cert::CaCert<'a>) -> provkit::handshake::PeerPolicy<'a> {
    provkit::handshake::PeerPolicy::new(root, black_box(1_760_000_000))
}

#[cfg(any(feature = "cap-initiator", feature = "cap-responder"))]
fn records(session: &mut provkit::handshake::Session<P>) -> provkit::Result<()> {
    let mut rec = [0u8; 96];
    let mut out = [0u8; 96];
    let n = session.seal(input(32), b"", &mut rec)?;
    session.open(core::hint::black_box(&rec[..n]), b"", &mut out)?;
    Ok(())
}

#[cfg(feature = "cap-initiator")]
mod initiator {
    use super::{IDENTITY, P, PlaceholderTrng, Store, input, policy, policy_root, records};
    use provkit::cert::CompactCert;
    use provkit::handshake::{CredentialMode, Initiator, PeerCredential};

    /// Both initiator messages, the responder's verification, and a record each way.
    #[inline(never)]
    pub fn run(store: &mut Store, rng: &mut PlaceholderTrng) -> provkit::Result<()> {
        let root = policy_root()?;
        let policy = policy(&root);
        let mut m1 = [0u8; 40];
        let mut m3 = [0u8; 200];
        let mine = CompactCert::parse(input(111))?;
        let (hs, _) = Initiator::<P>::with_provider(IDENTITY, mine, CredentialMode::ByValue)
            .start(rng, &mut m1)?;
        let parsed = hs.parse_message_2(input(230))?;
        let peer = match parsed.peer_credential() {
            PeerCredential::ByValue(c) => c,
            PeerCredential::ByReference(_) => [0; 111],
        };
        let (mut session, _) = parsed
            .verify_message_2(&CompactCert::parse(&peer)?, &policy)?
            .finish(store, &mut m3)?;
        records(&mut session)
    }
}

#[cfg(feature = "cap-responder")]
mod responder {
    use super::{IDENTITY, P, PlaceholderTrng, Store, input, policy, policy_root, records};
    use provkit::cert::CompactCert;
    use provkit::handshake::{CredentialMode, Responder};

    /// The responder's message, the initiator's verification, and a record each way.
    #[inline(never)]
    pub fn run(store: &mut Store, rng: &mut PlaceholderTrng) -> provkit::Result<()> {
        let root = policy_root()?;
        let policy = policy(&root);
        let mut m2 = [0u8; 232];
        let mine = CompactCert::parse(input(111))?;
        let (hs, _) = Responder::<P>::with_provider(IDENTITY, mine, CredentialMode::ByValue)
            .respond(store, rng, input(40), &mut m2)?;
        let parsed = hs.parse_message_3(input(190))?;
        let peer = parsed.peer_certificate().unwrap_or([0; 111]);
        let (mut session, _) = parsed.verify_message_3(&CompactCert::parse(&peer)?, &policy)?;
        records(&mut session)
    }
}

#[cfg(feature = "cap-dukpt")]
mod dukpt {
    use super::{PlaceholderTrng, Store, input};
    use provkit::dukpt::{AesDevice, KeyType};
    use provkit::store::RecordId;

    /// A transaction: next key from the flash registers, PIN block (its fill from the
    /// TRNG) and request CMAC.
    #[inline(never)]
    pub fn run(store: &mut Store, rng: &mut PlaceholderTrng) -> provkit::Result<()> {
        let mut device = AesDevice::open(store, RecordId(0x100))?;
        let txn = device.next_transaction(store)?;
        let pin = txn.encrypt_pin_block(KeyType::Aes128, input(4), input(16), rng)?;
        let mac = txn.request_cmac(KeyType::Aes128, input(64))?;
        core::hint::black_box((pin, mac));
        Ok(())
    }
}

#[cfg(feature = "cap-seal")]
mod seal {
    use super::{IDENTITY, P, PlaceholderTrng, Store, input};
    use provkit::envelope::telemetry::seal_telemetry_signed_on;
    use provkit::provider::CryptoProvider;

    /// Telemetry sealed (HPKE, P-256 + HKDF-SHA256 + AES-128-GCM) to the server, signed.
    #[inline(never)]
    pub fn run(store: &mut Store, rng: &mut PlaceholderTrng) -> provkit::Result<()> {
        let server = P::p256_parse_public(input(65))?;
        let mut out = [0u8; 256];
        seal_telemetry_signed_on::<P, _, _>(
            store,
            IDENTITY,
            &server,
            42,
            input(32),
            &mut out,
            rng,
        )?;
        core::hint::black_box(&out);
        Ok(())
    }
}

#[panic_handler]
fn panic(_: &PanicInfo<'_>) -> ! {
    loop {
        cortex_m::asm::wfi();
    }
}
