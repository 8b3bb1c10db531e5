//! The whole job, end to end: a factory line that manufactures devices, ships their keys to
//! a test authority, and a test station, a payment host and a telemetry server that check
//! every one of them.
//!
//! ```text
//! cargo run --release --example factory_line                      # defaults, < 1 minute
//! cargo run --release --example factory_line -- --devices 1000000 # throughput figures
//! cargo run --release --example factory_line -- --help
//! ```
//!
//! Steps, each timed and checked:
//! 1. **CA hierarchy**: a root CA, the factory's intermediate CA, and the test station's
//!    own certificate from it.
//! 2. **Manufacture**: each device generates its P-256 key pair in its own key store, the
//!    factory CA issues its compact certificate (which the device verifies before keeping
//!    it), and it receives a DUKPT initial key that the factory HSM derives from the BDK.
//! 3. **Shipment**: the factory seals every device's DUKPT initial key into one signed,
//!    HPKE-sealed shipment file for the test authority.
//! 4. **Ledger import**: the authority verifies and opens the file into an SQLite ledger,
//!    where each key exists only wrapped under its KEK; every stored key's check value
//!    must match the initial key the payment host derives from the BDK for that serial.
//! 5. **Test station**: a SIGMA-I handshake with every device; both sides check the other's
//!    certificate chain, the session keys must agree, and one record goes each way. The
//!    ledger then marks each passed device's key issued (exactly once) and attaches its
//!    X.509 certificate, every action in its audit log.
//! 6. **DUKPT**: every device runs a PIN transaction; the host derives the keys from the
//!    BDK and the KSN, decrypts the PIN, checks the MAC, and the device checks the reply.
//! 7. **Telemetry**: every device sends a signed reading through an untrusted relay to the
//!    server, which opens it with the key from the device's certificate. A tampering relay
//!    is tried on purpose and must be refused (counted apart from failures).
//! 8. **KEK rotation**: a new KEK version, every key rewrapped, a census showing all keys
//!    on the new version, the old version retired and destroyed; then every key is
//!    unwrapped and checked under the new version, and the ledger's hash-chained audit log
//!    is verified from genesis (through an anchor taken after the import) to its head.
//!
//! The per-device steps run on `--threads` workers (`std::thread::scope`) over batches of
//! devices, so memory stays bounded however many devices there are: what later steps need
//! of a device (its certificate) is streamed to a file in `--out`, and its key store is
//! re-created from a per-run seed (see `factory_line/sim.rs` for why that is sound in a
//! simulation and what a real device does instead). All other randomness comes from the
//! operating system's CSPRNG.
//!
//! Exits 0 when every check passed, 1 when any failed (or a step could not run), 2 for a
//! bad command line.
//!
//! Measured on the project's 2-core machine, release build, with other jobs sharing the
//! cores: the default 10,000 devices in 19 s; 100,000 devices in 323 s (310 devices/s
//! end to end; test-station handshakes 461/s, telemetry 2,174/s, manufacture 2,321/s,
//! ledger import 66,500 keys/s, rotation 130,000 keys/s) with 18 MiB peak RSS. The run
//! costs about 2.7 ms of CPU per device, so 1,000,000 devices take about 25 minutes on two
//! idle cores, in the same memory (the ledger file grows by about 1 KiB per device).

/// Prints a line to stdout; a closed pipe (`| head`) cuts the output short instead of
/// panicking.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

#[path = "factory_line/cli.rs"]
mod cli;
#[path = "factory_line/sim.rs"]
mod sim;

use cli::{Config, Parsed, Row};
use indicatif::{ProgressBar, ProgressStyle};
use provkit::cert::{self, COMPACT_LEN, CaCert, CaName, CaProfile, CompactCert, DeviceRequest};
use provkit::dukpt::{AesDevice, AesKsn, InitialKeyId, KeyType, initial_key_from_store};
use provkit::ec::EcPublicKey;
use provkit::envelope::shipment::{
    self, DeviceKeyRecord, KeyUsageCode, ShipmentParams, ShipmentWriter,
};
use provkit::envelope::telemetry::{
    TELEMETRY_HEADER_LEN, TelemetryHeader, open_telemetry, seal_telemetry_signed, telemetry_len,
};
use provkit::envelope::{Kcv, KekId, KekRef, KekRing, KekSlot};
use provkit::handshake::{
    CredentialMode, Initiator, MAX_MSG2_LEN, MAX_MSG3_LEN, MSG1_LEN, PeerPolicy, Responder,
};
use provkit::secret::{SecretBuf, SecretBytes};
use provkit::store::{
    IdentityKeys, KeyId, KeyInventory, KeyKind, MemoryStore, RecordId, SymmetricKeys, WrapAlgorithm,
};
use provkit_ledger::{
    ChainHead, IssueOutcome, Ledger, LedgerBackend, LedgerConfig, LedgerTx, TxMode,
};
use provkit_sqlite::{Durability, SqliteLedger, SqliteOptions};
use sim::{DeviceRng, os_rng, os_secret};
use std::error::Error;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use subtle::ConstantTimeEq;

type BoxError = Box<dyn Error + Send + Sync>;

/// A device's compact certificate, as burnt into its one-time-programmable memory.
type Cert = [u8; COMPACT_LEN];

// Key handles. Each party has its own store (an HSM, a secure element) in production.
const ROOT_KEY: KeyId = KeyId(1);
const FACTORY_CA_KEY: KeyId = KeyId(2);
const BDK: KeyId = KeyId(3);
const SHIPMENT_SIGNER: KeyId = KeyId(4);
const DEVICE_KEY: KeyId = KeyId(1);
const STATION_KEY: KeyId = KeyId(1);
const SERVER_KEY: KeyId = KeyId(1);
const AUTHORITY_HPKE_KEY: KeyId = KeyId(1);
const AUTHORITY_KEK: KeyId = KeyId(2);
const AUTHORITY_FINGERPRINT_KEY: KeyId = KeyId(3);
const AUTHORITY_KEK_V2: KeyId = KeyId(4);
/// The ledger's KEK.
const LEDGER_KEK: KekId = KekId(*b"ledger\0\0");
/// Keys issued per ledger transaction.
const ISSUE_BATCH: usize = 4096;
/// Keys rewrapped per ledger transaction.
const ROTATE_BATCH: u32 = 4096;
/// Where a device keeps its DUKPT registers (33 records from here).
const DUKPT_BASE: RecordId = RecordId(0);

/// Device serials are `SERIAL_BASE + index + 1` (never 0).
const SERIAL_BASE: u64 = 0x00F1_0000_0000_0000;
/// The test station's own certificate serial, outside the device range.
const STATION_SERIAL: u64 = 0x00F0_5745_0000_0001;
/// The BDK's id in every KSN this line issues.
const BDK_ID: [u8; 4] = [0xFA, 0xC7, 0x01, 0x00];
/// Devices handed to the workers at a time (memory per batch: about 120 bytes each).
const BATCH_PER_THREAD: usize = 2048;
const RECORDS_PER_CHUNK: u16 = 256;

/// A device's key store: its identity key and its DUKPT registers.
type DeviceStore = MemoryStore<1, { AesDevice::RECORDS as usize }, 64>;
/// One worker's session on the factory HSM (factory CA key and BDK).
type FactoryHsm = MemoryStore<4, 0, 0>;
/// One session on a single-key store (station, server, payment host).
type OneKey = MemoryStore<1, 0, 0>;
/// The test authority's HSM: HPKE key, KEK versions, fingerprint key.
type AuthorityHsm = MemoryStore<4, 0, 0>;

fn main() -> ExitCode {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let config = match cli::parse(std::env::args().skip(1), threads) {
        Ok(Parsed::Run(c)) => c,
        Ok(Parsed::Help) => {
            say!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("error: {e}\n{}", cli::USAGE);
            return ExitCode::from(2);
        }
    };
    match run(&config) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(failures) => {
            eprintln!("FAILED: {failures} check(s) failed");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The long-lived secrets of the run, drawn from the OS RNG. Each worker opens its own
/// "session" on a party's HSM by importing them into a fresh `MemoryStore` (a real HSM
/// cluster shares keys between partitions itself; these bytes never leave the process).
struct Secrets {
    factory_ca: SecretBytes<32>,
    bdk: SecretBytes<16>,
    station: SecretBytes<32>,
    server: SecretBytes<32>,
    /// The seed the simulated devices' key stores are re-created from.
    devices: SecretBytes<32>,
}

impl Secrets {
    fn new() -> Result<Self, BoxError> {
        Ok(Self {
            factory_ca: p256_scalar()?,
            bdk: os_secret()?,
            station: p256_scalar()?,
            server: p256_scalar()?,
            devices: os_secret()?,
        })
    }

    fn factory_hsm(&self) -> provkit::Result<FactoryHsm> {
        let mut hsm = FactoryHsm::new();
        hsm.import_p256(FACTORY_CA_KEY, &self.factory_ca)?;
        hsm.import_symmetric(BDK, KeyKind::Aes128, self.bdk.dangerous_expose())?;
        Ok(hsm)
    }

    fn payment_host(&self) -> provkit::Result<OneKey> {
        let mut hsm = OneKey::new();
        hsm.import_symmetric(BDK, KeyKind::Aes128, self.bdk.dangerous_expose())?;
        Ok(hsm)
    }

    fn one_key(scalar: &SecretBytes<32>, id: KeyId) -> provkit::Result<OneKey> {
        let mut store = OneKey::new();
        store.import_p256(id, scalar)?;
        Ok(store)
    }
}

/// A valid P-256 private scalar from the OS RNG (a random 256-bit string is out of range
/// with probability 2^-32; draw again then).
fn p256_scalar() -> Result<SecretBytes<32>, BoxError> {
    for _ in 0..8 {
        let s = os_secret::<32>()?;
        if OneKey::new().import_p256(KeyId(1), &s).is_ok() {
            return Ok(s);
        }
    }
    Err("the OS RNG produced no valid P-256 scalar in 8 tries".into())
}

/// Everything the per-device steps share (read-only).
struct Line<'a> {
    config: &'a Config,
    out: PathBuf,
    secrets: Secrets,
    now: u64,
    root: CaCert<'a>,
    factory: CaCert<'a>,
    station_cert: Cert,
    server_public: EcPublicKey,
}

impl Line<'_> {
    fn devices(&self) -> u64 {
        u64::from(self.config.devices)
    }

    fn policy(&self) -> PeerPolicy<'_> {
        PeerPolicy::new(&self.root, self.now).with_intermediate(&self.factory)
    }

    fn certs_path(&self) -> PathBuf {
        self.out.join("device-certs.bin")
    }
}

fn serial_of(index: u64) -> u64 {
    SERIAL_BASE + index + 1
}

fn index_of(serial: u64) -> Option<u64> {
    serial.checked_sub(SERIAL_BASE + 1)
}

fn ikid_of(index: u64) -> Result<InitialKeyId, String> {
    let id = u32::try_from(index + 1).map_err(|_| format!("device index {index} out of range"))?;
    Ok(InitialKeyId::from_parts(BDK_ID, id.to_be_bytes()))
}

/// Re-creates device `serial`'s key store: the same key generation, from the same
/// per-device stream, gives the same identity key (see `sim::DeviceRng`).
fn device_store(
    seed: &SecretBytes<32>,
    serial: u64,
) -> provkit::Result<(DeviceStore, EcPublicKey)> {
    let mut store = DeviceStore::new();
    let public = store.generate_p256(DEVICE_KEY, &mut DeviceRng::new(seed, serial))?;
    Ok((store, public))
}

/// Adds a step's context to a library error.
fn ctx(what: &'static str) -> impl FnOnce(provkit::Error) -> String {
    move |e| format!("{what}: {e}")
}

fn check(ok: bool, what: &str) -> Result<(), String> {
    if ok { Ok(()) } else { Err(what.to_owned()) }
}

fn run(config: &Config) -> Result<u64, BoxError> {
    let started = Instant::now();
    let out = match &config.out {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!(
            "factory_line-{}-{}",
            std::process::id(),
            SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs()
        )),
    };
    std::fs::create_dir_all(&out).map_err(|e| format!("cannot create {}: {e}", out.display()))?;
    say!(
        "factory line: {} devices, {} worker threads",
        cli::group(f64::from(config.devices)),
        config.threads
    );
    say!("output directory: {}", out.display());
    say!(
        "randomness: the OS CSPRNG (getrandom) for every key, nonce and ephemeral; simulated \
         devices re-create their key stores from a per-run seed drawn from it"
    );

    let mut rows = Vec::new();
    let mut tampers = 0u64;

    // 1. CA hierarchy.
    let t = Instant::now();
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let secrets = Secrets::new()?;
    let mut rng = os_rng();
    let mut root_store = OneKey::new();
    root_store.generate_p256(ROOT_KEY, &mut rng)?;
    let year = 365 * 86_400;
    let mut root_der = [0u8; 1024];
    let n = cert::create_root(
        &mut root_store,
        ROOT_KEY,
        &CaProfile::new(
            CaName::new("Example Root CA").with_organization("Example Devices Ltd"),
            random_serial(&mut rng),
            now - 3600,
            now + 25 * year,
        )
        .with_path_len(1),
        &mut root_der,
    )?;
    let root_der = root_der.get(..n).ok_or("root certificate length")?.to_vec();
    let mut hsm = secrets.factory_hsm()?;
    let factory_public = hsm.public_key(FACTORY_CA_KEY)?;
    let mut int_der = [0u8; 1024];
    let root = CaCert::from_der(&root_der)?;
    let n = cert::create_intermediate(
        &mut root_store,
        ROOT_KEY,
        &root,
        &factory_public,
        &CaProfile::new(
            CaName::new("Factory Line 1 CA").with_organization("Example Devices Ltd"),
            random_serial(&mut rng),
            now - 3600,
            now + 10 * year,
        )
        .with_path_len(0),
        &mut int_der,
    )?;
    let int_der = int_der.get(..n).ok_or("intermediate length")?.to_vec();
    drop(root_store); // the root goes back offline
    let root = CaCert::from_der(&root_der)?;
    let factory = CaCert::from_der(&int_der)?;
    cert::verify_ca(&root, &factory, now)?;
    let station_public =
        Secrets::one_key(&secrets.station, STATION_KEY)?.public_key(STATION_KEY)?;
    let station_cert = cert::issue_device(
        &mut hsm,
        FACTORY_CA_KEY,
        &factory,
        &DeviceRequest::new(STATION_SERIAL, &station_public, now),
    )?;
    cert::verify_device(
        &root,
        Some(&factory),
        &CompactCert::parse(&station_cert)?,
        now,
    )?;
    let server_public = Secrets::one_key(&secrets.server, SERVER_KEY)?.public_key(SERVER_KEY)?;
    std::fs::write(out.join("root.pem"), cert::to_pem(&root_der)?)?;
    std::fs::write(out.join("factory-ca.pem"), cert::to_pem(&int_der)?)?;
    rows.push(Row {
        step: "CA hierarchy",
        count: 3,
        time: t.elapsed(),
        bytes: None,
        failures: 0,
    });

    let line = Line {
        config,
        out,
        secrets,
        now,
        root,
        factory,
        station_cert,
        server_public,
    };

    // 2. Manufacture.
    rows.push(manufacture(&line)?);
    // 3. Shipment file.
    let (row, shipment_path, authority) = write_shipment(&line, &mut hsm)?;
    rows.push(row);
    drop(hsm);
    // 4. Ledger import.
    let (row, mut ledger) = import(&line, &shipment_path, authority)?;
    rows.push(row);
    let anchor = ledger.audit_head()?;
    // 5. Test station, and the ledger's record of what passed.
    let (row, passed) = handshakes(&line)?;
    rows.push(row);
    rows.push(record_issuance(&line, &mut ledger, &passed)?);
    // 6. DUKPT.
    rows.push(dukpt(&line)?);
    // 7. Telemetry.
    let (row, refused) = telemetry(&line)?;
    tampers += refused;
    rows.push(row);
    // 8. KEK rotation, key and audit checks.
    let (rotation, check) = rotate(&line, &mut ledger, anchor)?;
    rows.push(rotation);
    rows.push(check);

    say!();
    say!("{}", cli::table(&rows).trim_end());
    let failures: u64 = rows.iter().map(|r| r.failures).sum();
    let wall = started.elapsed();
    say!(
        "bytes on wire: manufacture = public key to the CA + certificate back; shipment = \
         the file; handshakes = 3 messages (certificates by value) + one record each way; \
         DUKPT = request (KSN, PIN block, body, CMAC) + reply; telemetry = each message once \
         (the relay forwards the same bytes)"
    );
    say!("tamper checks refused as they must be: {tampers} (not counted as failures)");
    say!(
        "wall time {}: {} devices end to end ({} devices/s)",
        cli::format_time(wall),
        cli::group(line.devices() as f64),
        cli::group(line.devices() as f64 / wall.as_secs_f64().max(1e-9)),
    );
    match peak_rss_kib() {
        Some(kib) => say!("peak RSS (VmHWM): {:.1} MiB", kib as f64 / 1024.0),
        None => say!("peak RSS: /proc/self/status not available"),
    }
    say!("files kept in {}", line.out.display());
    Ok(failures)
}

/// Per-step counters, summed over workers.
#[derive(Debug, Default)]
struct Tally {
    ok: u64,
    failed: u64,
    bytes: u64,
    tamper_refused: u64,
    first_error: Option<String>,
}

impl Tally {
    fn merge(&mut self, other: Self) {
        self.ok += other.ok;
        self.failed += other.failed;
        self.bytes += other.bytes;
        self.tamper_refused += other.tamper_refused;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }
}

/// What one device's step produced: an output for the sink, bytes on the wire, and
/// deliberate tampering attempts that were (correctly) refused.
struct Done<O> {
    out: O,
    bytes: u64,
    tamper_refused: u64,
}

fn bar(name: &str, len: u64) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template(
        "{prefix:<24} [{bar:40}] {human_pos}/{human_len}  {elapsed} eta {eta}",
    )
    .map(|s| s.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(name.to_owned());
    bar
}

/// Runs `per` for every device on the configured number of threads, a batch at a time.
/// Each worker makes its own state with `make` (its HSM sessions) once per batch; `per`
/// gets the device index and, if `certs` is given, the device's certificate read from
/// that file. `sink` receives each device's output in index order on this thread
/// (`None` for a device whose step failed). A failing device is counted, not fatal.
fn for_each_device<W, O, Mk, Per, Sink>(
    line: &Line<'_>,
    name: &str,
    certs: Option<&Path>,
    make: Mk,
    per: Per,
    mut sink: Sink,
) -> Result<Tally, BoxError>
where
    O: Send,
    Mk: Fn() -> Result<W, String> + Sync,
    Per: Fn(&mut W, u64, Option<&Cert>) -> Result<Done<O>, String> + Sync,
    Sink: FnMut(u64, Option<O>) -> std::io::Result<()>,
{
    let n = line.devices();
    let threads = line.config.threads;
    let progress = bar(name, n);
    let mut reader = match certs {
        Some(p) => Some(BufReader::with_capacity(
            1 << 16,
            File::open(p).map_err(|e| format!("cannot open {}: {e}", p.display()))?,
        )),
        None => None,
    };
    let batch_len = BATCH_PER_THREAD * threads;
    let mut batch: Vec<Cert> = Vec::new();
    let mut tally = Tally::default();
    let mut start = 0u64;
    while start < n {
        let len = usize::try_from((n - start).min(batch_len as u64))?;
        if let Some(r) = reader.as_mut() {
            batch.clear();
            batch.resize(len, [0; COMPACT_LEN]);
            for c in &mut batch {
                r.read_exact(c)?;
            }
        }
        let chunk = len.div_ceil(threads);
        let (make, per, batch, progress) = (&make, &per, &batch, &progress);
        type Part<O> = (Vec<Option<O>>, Tally);
        let parts: Vec<Result<Part<O>, String>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads)
                .map(|t| t * chunk)
                .filter(|lo| *lo < len)
                .map(|lo| {
                    let hi = (lo + chunk).min(len);
                    s.spawn(move || -> Result<Part<O>, String> {
                        let mut worker = make().map_err(|e| format!("worker setup: {e}"))?;
                        let mut outs = Vec::with_capacity(hi - lo);
                        let mut part = Tally::default();
                        for k in lo..hi {
                            let index = start + k as u64;
                            match per(&mut worker, index, batch.get(k)) {
                                Ok(done) => {
                                    part.ok += 1;
                                    part.bytes += done.bytes;
                                    part.tamper_refused += done.tamper_refused;
                                    outs.push(Some(done.out));
                                }
                                Err(e) => {
                                    part.failed += 1;
                                    if part.first_error.is_none() {
                                        part.first_error =
                                            Some(format!("device {:#018x}: {e}", serial_of(index)));
                                    }
                                    outs.push(None);
                                }
                            }
                            if k % 64 == 63 {
                                progress.inc(64);
                            }
                        }
                        Ok((outs, part))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("a worker panicked".to_owned()))
                })
                .collect()
        });
        let mut index = start;
        for part in parts {
            let (outs, part) = part?;
            for o in outs {
                sink(index, o)?;
                index += 1;
            }
            tally.merge(part);
        }
        start += len as u64;
        progress.set_position(start);
    }
    progress.finish_and_clear();
    if let Some(e) = &tally.first_error {
        eprintln!("{name}: {} failure(s); first: {e}", tally.failed);
    }
    Ok(tally)
}

fn row(step: &'static str, t: Instant, tally: &Tally, bytes: Option<u64>) -> Row {
    Row {
        step,
        count: tally.ok + tally.failed,
        time: t.elapsed(),
        bytes,
        failures: tally.failed,
    }
}

/// Step 2: key generation on the device, certificate issuance, DUKPT key injection.
fn manufacture(line: &Line<'_>) -> Result<Row, BoxError> {
    let t = Instant::now();
    let mut file = BufWriter::with_capacity(1 << 16, File::create(line.certs_path())?);
    let tally = for_each_device(
        line,
        "manufacture",
        None,
        || line.secrets.factory_hsm().map_err(|e| e.to_string()),
        |hsm, index, _| {
            let serial = serial_of(index);
            // On the device: generate the identity key; only the public key leaves.
            let (mut device, public) =
                device_store(&line.secrets.devices, serial).map_err(ctx("key generation"))?;
            // The factory CA signs by handle.
            let cert = cert::issue_device(
                hsm,
                FACTORY_CA_KEY,
                &line.factory,
                &DeviceRequest::new(serial, &public, line.now),
            )
            .map_err(ctx("issue"))?;
            // The device checks what it is given before burning it in.
            let parsed = CompactCert::parse(&cert).map_err(ctx("parse certificate"))?;
            let verified =
                cert::verify_issued(&line.factory, &parsed, line.now).map_err(ctx("verify"))?;
            check(verified.serial == serial, "certificate serial")?;
            check(
                verified.public_key == public,
                "certified key is not the device's",
            )?;
            // DUKPT key injection: the HSM derives the initial key from the BDK by handle,
            // the device loads it into its registers and starts at counter 1.
            let ikid = ikid_of(index)?;
            let ik = initial_key_from_store(hsm, BDK, ikid).map_err(ctx("derive IK"))?;
            let terminal = AesDevice::load_initial_key(&mut device, DUKPT_BASE, &ik)
                .map_err(ctx("load IK"))?;
            let first = terminal.next_ksn(&mut device).map_err(ctx("next KSN"))?;
            check(
                first.map(|k| k.to_bytes()) == Some(AesKsn::new(ikid, 1).to_bytes()),
                "DUKPT device does not start at counter 1",
            )?;
            Ok(Done {
                out: cert,
                // The public key (compressed) to the CA, the certificate back.
                bytes: (33 + COMPACT_LEN) as u64,
                tamper_refused: 0,
            })
        },
        |_, cert| file.write_all(&cert.unwrap_or([0; COMPACT_LEN])),
    )?;
    file.flush()?;
    Ok(row("manufacture", t, &tally, Some(tally.bytes)))
}

/// The test authority's HPKE key and KEK (its HSM), and the public key it trusts the
/// manufacturer's shipments by.
struct Authority {
    store: AuthorityHsm,
    manufacturer: EcPublicKey,
}

/// Step 3: the factory seals every device's DUKPT initial key into one shipment file.
fn write_shipment(
    line: &Line<'_>,
    hsm: &mut FactoryHsm,
) -> Result<(Row, PathBuf, Authority), BoxError> {
    let t = Instant::now();
    let mut rng = os_rng();
    // The authority's keys; its public HPKE key reaches the factory out of band, as does
    // the factory's shipment-signing key the other way.
    let mut authority = AuthorityHsm::new();
    let authority_public = authority.generate_p256(AUTHORITY_HPKE_KEY, &mut rng)?;
    authority.generate_symmetric(AUTHORITY_KEK, KeyKind::Aes256, &mut rng)?;
    authority.generate_symmetric(AUTHORITY_FINGERPRINT_KEY, KeyKind::Aes256, &mut rng)?;
    let manufacturer = hsm.generate_p256(SHIPMENT_SIGNER, &mut rng)?;

    let path = line.out.join("shipment.pksh");
    let params = ShipmentParams::new(
        *b"Example Devices ",
        batch_id(line.now),
        line.config.devices,
    )
    .with_records_per_chunk(RECORDS_PER_CHUNK);
    let progress = bar("shipment", line.devices());
    let mut chunk_buf = vec![0u8; shipment::chunk_buffer_len(RECORDS_PER_CHUNK)];
    let mut out = BufWriter::with_capacity(1 << 16, File::create(&path)?);
    let (mut writer, header) = ShipmentWriter::new(
        hsm,
        SHIPMENT_SIGNER,
        &authority_public,
        &params,
        &mut chunk_buf,
        &mut rng,
    )?;
    out.write_all(&header)?;
    for index in 0..line.devices() {
        let ik = initial_key_from_store(hsm, BDK, ikid_of(index)?)?;
        // The initial key leaves the HSM only into the sealed shipment's record (a real
        // HSM would export it under the shipment key itself).
        let key = SecretBuf::<32>::from_slice(ik.dangerous_expose())?;
        let record =
            DeviceKeyRecord::new(serial_of(index), index, KeyUsageCode::INITIAL_DUKPT, &key)?;
        if let Some(chunk) = writer.push(&record)? {
            out.write_all(chunk)?;
        }
        if index % 1024 == 1023 {
            progress.inc(1024);
        }
    }
    out.write_all(&writer.finish(hsm)?)?;
    out.flush()?;
    drop(out);
    progress.finish_and_clear();
    let size = std::fs::metadata(&path)?.len();
    let row = Row {
        step: "shipment file (seal)",
        count: line.devices(),
        time: t.elapsed(),
        bytes: Some(size),
        failures: 0,
    };
    Ok((
        row,
        path,
        Authority {
            store: authority,
            manufacturer,
        },
    ))
}

fn batch_id(now: u64) -> [u8; 16] {
    let mut id = *b"line1-0000000000";
    let digits = format!("{:010}", now % 10_000_000_000);
    if let Some(tail) = id.get_mut(6..) {
        tail.copy_from_slice(digits.as_bytes());
    }
    id
}

/// The test authority's ledger: SQLite for the rows, a key store (its HSM) for the HPKE
/// key, the KEK versions and the fingerprint key, and a ring naming the KEK versions.
type AuthorityLedger = Ledger<SqliteLedger, AuthorityHsm, KekRing<4>>;

/// Opens the ledger in `out` with the authority's key store.
fn open_ledger(line: &Line<'_>, authority: Authority) -> Result<AuthorityLedger, BoxError> {
    let path = line.out.join("ledger.sqlite");
    // WAL with synchronous=NORMAL: commits survive a crash of this process; the last
    // ones may be lost in a power cut (production ledgers use the default, FULL).
    let backend = SqliteLedger::open(
        &path,
        SqliteOptions {
            durability: Durability::Normal,
            ..SqliteOptions::default()
        },
    )?;
    let mut ring = KekRing::<4>::new();
    ring.add_version(kek_slot(1))?;
    Ok(Ledger::new(
        backend,
        authority.store,
        ring,
        LedgerConfig::new(LEDGER_KEK, AUTHORITY_FINGERPRINT_KEY),
    ))
}

/// The ledger KEK's slot for `version` (version 1 under key 2, version 2 under key 4).
fn kek_slot(version: u32) -> KekSlot {
    KekSlot {
        kek: KekRef {
            id: LEDGER_KEK,
            version,
        },
        key: if version == 1 {
            AUTHORITY_KEK
        } else {
            AUTHORITY_KEK_V2
        },
        wrap: WrapAlgorithm::AesKw,
    }
}

/// Counts bytes read into a progress bar.
struct Progress<R> {
    inner: R,
    bar: ProgressBar,
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        Ok(n)
    }
}

/// Step 4: the authority verifies and opens the shipment into the ledger, where each key
/// is stored wrapped under KEK version 1; then every stored key's check value is compared
/// with the one the payment host derives from the BDK for that serial.
fn import(
    line: &Line<'_>,
    path: &Path,
    authority: Authority,
) -> Result<(Row, AuthorityLedger), BoxError> {
    let t = Instant::now();
    let manufacturer = authority.manufacturer;
    let mut ledger = open_ledger(line, authority)?;
    let size = std::fs::metadata(path)?.len();
    let progress = bar("ledger import", size);
    let input = Progress {
        inner: BufReader::with_capacity(1 << 16, File::open(path)?),
        bar: progress.clone(),
    };
    let report = ledger.import(AUTHORITY_HPKE_KEY, &manufacturer, input, line.now)?;
    progress.finish_and_clear();
    let mut failures = 0u64;
    if u64::from(report.records) != line.devices() || report.promoted != line.devices() {
        eprintln!(
            "ledger import: {} records in the file, {} promoted, {} expected",
            report.records,
            report.promoted,
            line.devices()
        );
        failures += 1;
    }
    if !report.refused.is_empty() {
        eprintln!(
            "ledger import: {} records refused; first: {:?}",
            report.refused.len(),
            report.refused.first()
        );
        failures += report.refused.len() as u64;
    }
    let census = ledger.census()?;
    if census.count(kek_slot(1).kek) != line.devices() || census.total() != line.devices() {
        eprintln!("ledger import: census {:?}", census.0);
        failures += 1;
    }
    // Every row: the serial's key is the initial key the BDK gives for that serial.
    let progress = bar("ledger KCV check", line.devices());
    let mut host = line.secrets.payment_host()?;
    let mut after = None;
    let mut seen = 0u64;
    let mut bad = 0u64;
    loop {
        let rows = {
            let mut tx = ledger.backend_mut().begin(TxMode::Read)?;
            tx.keys_page(after, 8192)?
        };
        let Some(last) = rows.last().map(|r| r.serial) else {
            break;
        };
        for r in &rows {
            let ok = index_of(r.serial)
                .filter(|i| *i < line.devices())
                .ok_or_else(|| format!("unknown serial {:#x}", r.serial))
                .and_then(|i| {
                    let ik = initial_key_from_store(&mut host, BDK, ikid_of(i)?)
                        .map_err(ctx("derive IK"))?;
                    let key =
                        SecretBuf::<32>::from_slice(ik.dangerous_expose()).map_err(ctx("IK"))?;
                    Kcv::of_key(&key).map_err(ctx("KCV"))
                })
                .is_ok_and(|kcv| kcv == r.kcv && r.usage == KeyUsageCode::INITIAL_DUKPT);
            bad += u64::from(!ok);
        }
        seen += rows.len() as u64;
        progress.set_position(seen);
        after = Some(last);
    }
    progress.finish_and_clear();
    if bad > 0 || seen != line.devices() {
        eprintln!(
            "ledger import: {bad} rows with a wrong key, {seen} rows for {} devices",
            line.devices()
        );
    }
    failures += bad + u64::from(seen != line.devices());
    Ok((
        Row {
            step: "ledger import",
            count: report.promoted,
            time: t.elapsed(),
            bytes: None,
            failures,
        },
        ledger,
    ))
}

/// Step 5b: the ledger records every device the test station passed: its key as issued
/// (exactly once, in transactions of a batch) and its certificate (X.509 DER), audited.
fn record_issuance(
    line: &Line<'_>,
    ledger: &mut AuthorityLedger,
    passed: &[u64],
) -> Result<Row, BoxError> {
    let t = Instant::now();
    let progress = bar("ledger issuance", line.devices());
    let mut certs = BufReader::with_capacity(1 << 16, File::open(line.certs_path())?);
    let mut failures = 0u64;
    let mut first_error: Option<String> = None;
    let mut note = |failures: &mut u64, e: String| {
        *failures += 1;
        first_error.get_or_insert(e);
    };
    let mut done = 0u64;
    let mut der = vec![0u8; 1024];
    let mut batch: Vec<(u64, Cert)> = Vec::with_capacity(ISSUE_BATCH);
    for index in 0..line.devices() {
        let mut cert = [0u8; COMPACT_LEN];
        certs.read_exact(&mut cert)?;
        if passed
            .get((index / 64) as usize)
            .is_some_and(|w| w >> (index % 64) & 1 == 1)
        {
            batch.push((serial_of(index), cert));
        } else {
            note(
                &mut failures,
                format!("device {:#018x} did not pass the station", serial_of(index)),
            );
        }
        if batch.len() == ISSUE_BATCH || index + 1 == line.devices() {
            let serials: Vec<u64> = batch.iter().map(|(s, _)| *s).collect();
            let outcomes = ledger.issue_batch(&serials, line.now)?;
            for ((serial, cert), outcome) in batch.iter().zip(&outcomes) {
                match outcome {
                    IssueOutcome::Issued(k) if k.serial == *serial => {}
                    other => {
                        note(&mut failures, format!("issue {serial:#018x}: {other:?}"));
                        continue;
                    }
                }
                let expanded = CompactCert::parse(cert).and_then(|c| {
                    let n = cert::expand(&c, line.factory.as_issuer(), &mut der)?;
                    Ok(n)
                });
                match expanded {
                    Ok(n) => {
                        let bytes = der.get(..n).unwrap_or(&[]);
                        if let Err(e) = ledger.attach_certificate(*serial, bytes, line.now) {
                            note(&mut failures, format!("certificate {serial:#018x}: {e}"));
                        }
                    }
                    Err(e) => note(&mut failures, format!("expand {serial:#018x}: {e}")),
                }
            }
            done += batch.len() as u64;
            progress.set_position(done);
            batch.clear();
        }
    }
    progress.finish_and_clear();
    if let Some(e) = &first_error {
        eprintln!("ledger issuance: {failures} failure(s); first: {e}");
    }
    // Spot check: the first device's full record (key, certificate, shipment, history).
    let serial = serial_of(0);
    match ledger.lookup(serial)? {
        Some(r)
            if r.key.issued_at.is_some()
                && r.key.certificate.is_some()
                && r.shipment_transcript.is_some() => {}
        other => {
            eprintln!("ledger lookup {serial:#018x}: incomplete record {other:?}");
            failures += 1;
        }
    }
    Ok(Row {
        step: "ledger issuance + certs",
        count: line.devices(),
        time: t.elapsed(),
        bytes: None,
        failures,
    })
}

/// Step 8: KEK rotation: add version 2, rewrap every key, check the census, retire
/// version 1, check that every key opens, and verify the audit chain.
fn rotate(
    line: &Line<'_>,
    ledger: &mut AuthorityLedger,
    anchor: ChainHead,
) -> Result<(Row, Row), BoxError> {
    let t = Instant::now();
    let mut failures = 0u64;
    let v1 = kek_slot(1);
    let v2 = kek_slot(2);
    ledger
        .keys_mut()
        .generate_symmetric(v2.key, KeyKind::Aes256, &mut os_rng())?;
    ledger.keks_mut().add_version(v2)?;
    let spinner = ProgressBar::new_spinner().with_message("KEK rotation: rewrapping");
    spinner.enable_steady_tick(Duration::from_millis(120));
    let report = ledger.rotate(ROTATE_BATCH, line.now)?;
    spinner.finish_and_clear();
    let n = line.devices();
    if report.rewrapped != n
        || !report.refused.is_empty()
        || report.before.count(v1.kek) != n
        || report.after.count(v2.kek) != n
        || report.after.total() != n
    {
        eprintln!(
            "rotation: rewrapped {}, refused {}, census before {:?}, after {:?}",
            report.rewrapped,
            report.refused.len(),
            report.before.0,
            report.after.0
        );
        failures += 1;
    }
    // Retire version 1: the ledger refuses while any key (live or staged) is under it.
    // Then the directory forgets it and the HSM destroys its key. (`KekRing`'s own
    // retirement wants an envelope `Census`, which a ledger does not have: it counts
    // rows, so the ring is rebuilt with the versions still in use.)
    ledger.set_min_decrypt_version(LEDGER_KEK, 2, line.now)?;
    let mut ring = KekRing::<4>::new();
    ring.add_version(v2)?;
    *ledger.keks_mut() = ring;
    ledger.keys_mut().delete_key(v1.key)?;
    let census = ledger.census()?;
    say!(
        "KEK rotation: {} keys rewrapped in {} transactions; census after: {} under {:?} v{}, {} under v1 (retired and deleted)",
        cli::group(report.rewrapped as f64),
        report.batches,
        cli::group(census.count(v2.kek) as f64),
        String::from_utf8_lossy(&LEDGER_KEK.0).trim_end_matches('\0'),
        v2.kek.version,
        census.count(v1.kek),
    );
    if census.count(v1.kek) != 0 || census.count(v2.kek) != n {
        failures += 1;
    }
    let rotation = Row {
        step: "KEK rotation + rewrap",
        count: report.rewrapped,
        time: t.elapsed(),
        bytes: None,
        failures,
    };

    // Every key unwraps under version 2 with its KCV and fingerprint; the audit chain
    // verifies from genesis to its head.
    let t = Instant::now();
    let spinner = ProgressBar::new_spinner().with_message("ledger: checking keys and audit chain");
    spinner.enable_steady_tick(Duration::from_millis(120));
    let keys = ledger.check_keys()?;
    let chain = ledger.verify_audit(Some(anchor));
    spinner.finish_and_clear();
    let mut failures = keys.bad.len() as u64 + u64::from(keys.checked != n);
    match &chain {
        Ok(report) if report.refusals == 0 => say!(
            "audit chain: {} records verified from genesis through the anchor taken after \
             import to head #{} {}",
            cli::group(report.rows as f64),
            report.head.seq,
            hex(report.head.hash.get(..8).unwrap_or(&[]))
        ),
        Ok(report) => {
            eprintln!("audit chain: {} refusal events recorded", report.refusals);
            failures += 1;
        }
        Err(e) => {
            eprintln!("audit chain: {e}");
            failures += 1;
        }
    }
    let check = Row {
        step: "ledger keys + audit check",
        count: keys.checked,
        time: t.elapsed(),
        bytes: None,
        failures,
    };
    Ok((rotation, check))
}

/// One worker's sessions for the test station.
struct Station {
    store: OneKey,
}

/// Step 5: the test station handshakes with every device.
fn handshakes(line: &Line<'_>) -> Result<(Row, Vec<u64>), BoxError> {
    let t = Instant::now();
    let policy = line.policy();
    let certs = line.certs_path();
    // One bit per device: passed the station.
    let mut passed = vec![0u64; usize::try_from(line.devices().div_ceil(64))?];
    let tally = for_each_device(
        line,
        "test station",
        Some(&certs),
        || {
            Ok(Station {
                store: Secrets::one_key(&line.secrets.station, STATION_KEY)
                    .map_err(|e| e.to_string())?,
            })
        },
        |station, index, cert| {
            let cert = cert.ok_or("no certificate")?;
            let serial = serial_of(index);
            let mut rng = os_rng();
            let (mut device, public) =
                device_store(&line.secrets.devices, serial).map_err(ctx("device key store"))?;
            let device_cert = CompactCert::parse(cert).map_err(ctx("device certificate"))?;
            let station_cert =
                CompactCert::parse(&line.station_cert).map_err(ctx("station certificate"))?;
            let (mut m1, mut m2, mut m3) =
                ([0u8; MSG1_LEN], [0u8; MAX_MSG2_LEN], [0u8; MAX_MSG3_LEN]);
            // Station → device: message 1.
            let (st, n1) = Initiator::new(STATION_KEY, station_cert, CredentialMode::ByValue)
                .start(&mut rng, &mut m1)
                .map_err(ctx("message 1"))?;
            // Device → station: message 2, signed by the device key.
            let (dev, n2) = Responder::new(DEVICE_KEY, device_cert, CredentialMode::ByValue)
                .respond(&mut device, &mut rng, m1.get(..n1).unwrap_or(&[]), &mut m2)
                .map_err(ctx("message 2"))?;
            // Station: the device's certificate must chain to the root and be this one.
            let parsed = st
                .parse_message_2(m2.get(..n2).unwrap_or(&[]))
                .map_err(ctx("parse message 2"))?;
            let peer = parsed
                .peer_certificate()
                .ok_or("device sent no certificate")?;
            let verified = parsed
                .verify_message_2(
                    &CompactCert::parse(&peer).map_err(ctx("peer cert"))?,
                    &policy,
                )
                .map_err(ctx("verify message 2"))?;
            check(verified.peer().serial == serial, "device serial")?;
            check(verified.peer().public_key == public, "device key")?;
            let (mut s_station, n3) = verified
                .finish(&mut station.store, &mut m3)
                .map_err(ctx("message 3"))?;
            // Device: the station's certificate must chain to the same root.
            let parsed = dev
                .parse_message_3(m3.get(..n3).unwrap_or(&[]))
                .map_err(ctx("parse message 3"))?;
            let peer = parsed
                .peer_certificate()
                .ok_or("station sent no certificate")?;
            let (mut s_device, who) = parsed
                .verify_message_3(
                    &CompactCert::parse(&peer).map_err(ctx("peer cert"))?,
                    &policy,
                )
                .map_err(ctx("verify message 3"))?;
            check(who.serial == STATION_SERIAL, "station serial")?;
            // Both ends hold the same keys: a record goes each way, and then (the station's
            // session confirmed by the device's record) exporter values agree.
            let (mut rec, mut plain) = ([0u8; 64], [0u8; 64]);
            let command = b"SELFTEST;RUN=ALL";
            let n = s_station
                .seal(command, b"station", &mut rec)
                .map_err(ctx("seal"))?;
            let m = s_device
                .open(rec.get(..n).unwrap_or(&[]), b"station", &mut plain)
                .map_err(ctx("open"))?;
            check(plain.get(..m) == Some(&command[..]), "command record")?;
            let result = b"SELFTEST;PASS";
            let n2r = s_device
                .seal(result, b"device", &mut rec)
                .map_err(ctx("seal"))?;
            let m = s_station
                .open(rec.get(..n2r).unwrap_or(&[]), b"device", &mut plain)
                .map_err(ctx("open"))?;
            check(plain.get(..m) == Some(&result[..]), "result record")?;
            let (mut a, mut b) = ([0u8; 32], [0u8; 32]);
            s_station
                .export(b"factory_line test", &serial.to_be_bytes(), &mut a)
                .map_err(ctx("export"))?;
            s_device
                .export(b"factory_line test", &serial.to_be_bytes(), &mut b)
                .map_err(ctx("export"))?;
            check(bool::from(a.ct_eq(&b)), "session keys differ")?;
            Ok(Done {
                out: (),
                bytes: (n1 + n2 + n3 + n + n2r) as u64,
                tamper_refused: 0,
            })
        },
        |index, done| {
            if let (Some(()), Some(word)) = (done, passed.get_mut((index / 64) as usize)) {
                *word |= 1 << (index % 64);
            }
            Ok(())
        },
    )?;
    Ok((
        row("test station handshakes", t, &tally, Some(tally.bytes)),
        passed,
    ))
}

/// One worker's sessions for the DUKPT step: the factory HSM (to restore the simulated
/// devices' registers) and the payment host's HSM holding the BDK.
struct Dukpt {
    factory: FactoryHsm,
    host: OneKey,
}

/// Step 6: one PIN transaction per device, verified by the host from the BDK and KSN.
fn dukpt(line: &Line<'_>) -> Result<Row, BoxError> {
    let t = Instant::now();
    let tally = for_each_device(
        line,
        "DUKPT transactions",
        None,
        || {
            Ok(Dukpt {
                factory: line.secrets.factory_hsm().map_err(|e| e.to_string())?,
                host: line.secrets.payment_host().map_err(|e| e.to_string())?,
            })
        },
        |w, index, _| {
            let serial = serial_of(index);
            let mut rng = os_rng();
            // The simulation keeps no device flash between steps: restore this device's
            // registers as injected at manufacture (counter 1).
            let mut flash = DeviceStore::new();
            {
                let ik = initial_key_from_store(&mut w.factory, BDK, ikid_of(index)?)
                    .map_err(ctx("restore IK"))?;
                AesDevice::load_initial_key(&mut flash, DUKPT_BASE, &ik)
                    .map_err(ctx("restore registers"))?;
            }
            // --- Terminal.
            let mut terminal = AesDevice::open(&mut flash, DUKPT_BASE).map_err(ctx("open"))?;
            let txn = terminal
                .next_transaction(&mut flash)
                .map_err(ctx("transaction"))?;
            let pan = format!("4{:015}", serial % 1_000_000_000_000_000);
            let pin = format!("{:04}", serial % 10_000);
            let body = format!("SALE;DEV={serial:016X};AMOUNT=1.00;CUR=EUR");
            let ksn = txn.ksn().to_bytes();
            let pin_block = txn
                .encrypt_pin_block(KeyType::Aes128, pin.as_bytes(), pan.as_bytes(), &mut rng)
                .map_err(ctx("PIN block"))?;
            let mac = txn
                .request_cmac(KeyType::Aes128, body.as_bytes())
                .map_err(ctx("request MAC"))?;
            // --- Host: everything from the BDK handle and what came on the wire.
            let ksn = AesKsn::parse(&ksn).map_err(ctx("KSN"))?;
            let ik = initial_key_from_store(&mut w.host, BDK, ksn.initial_key_id())
                .map_err(ctx("host IK"))?;
            let key = ik.transaction_key(&ksn).map_err(ctx("host key"))?;
            let got = key
                .decrypt_pin_block(KeyType::Aes128, &pin_block, pan.as_bytes())
                .map_err(ctx("decrypt PIN"))?;
            let want = SecretBuf::<12>::from_slice(pin.as_bytes()).map_err(ctx("PIN"))?;
            check(bool::from(got.ct_eq(&want)), "PIN differs at the host")?;
            key.verify_request_cmac(KeyType::Aes128, body.as_bytes(), &mac)
                .map_err(ctx("request MAC at the host"))?;
            let reply = b"APPROVED";
            let reply_mac = key
                .response_cmac(KeyType::Aes128, reply)
                .map_err(ctx("response MAC"))?;
            // --- Terminal checks the reply with the same transaction's keys.
            txn.verify_response_cmac(KeyType::Aes128, reply, &reply_mac)
                .map_err(ctx("response MAC at the terminal"))?;
            let request = AesKsn::LEN + pin_block.len() + body.len() + mac.len();
            Ok(Done {
                out: (),
                bytes: (request + reply.len() + reply_mac.len()) as u64,
                tamper_refused: 0,
            })
        },
        |_, _| Ok(()),
    )?;
    Ok(row("DUKPT transactions", t, &tally, Some(tally.bytes)))
}

const READING_LEN: usize = 24;

/// The untrusted relay: forwards the message; for the first device it also tries two
/// attacks, whose messages the server must refuse.
enum Relay {
    Forward,
    FlipCiphertextBit,
    Readdress,
}

fn relay(message: &[u8], how: &Relay) -> Vec<u8> {
    let mut m = message.to_vec();
    match how {
        Relay::Forward => {}
        Relay::FlipCiphertextBit => {
            if let Some(b) = m.get_mut(TELEMETRY_HEADER_LEN) {
                *b ^= 0x01;
            }
        }
        Relay::Readdress => {
            // Claim the message came from the next device (serial at header offset 4).
            if let Some(s) = m.get_mut(4..12) {
                let serial = u64::from_be_bytes(s.try_into().unwrap_or([0; 8]));
                s.copy_from_slice(&serial.wrapping_add(1).to_be_bytes());
            }
        }
    }
    m
}

/// Step 7: signed telemetry from every device, through the relay, opened by the server.
fn telemetry(line: &Line<'_>) -> Result<(Row, u64), BoxError> {
    let t = Instant::now();
    let certs = line.certs_path();
    // The server's directory of device certificates by serial (here: the certificate
    // file, read a batch at a time beside the devices; a server would query the ledger).
    let directory = CertDirectory::open(&certs, line.devices())?;
    let tally = for_each_device(
        line,
        "telemetry via relay",
        Some(&certs),
        || {
            let server =
                Secrets::one_key(&line.secrets.server, SERVER_KEY).map_err(|e| e.to_string())?;
            Ok((server, directory.handle()?))
        },
        |(server, dir), index, _| {
            let serial = serial_of(index);
            let mut rng = os_rng();
            let (mut device, _) =
                device_store(&line.secrets.devices, serial).map_err(ctx("device key store"))?;
            let mut payload = [0u8; READING_LEN];
            payload[..8].copy_from_slice(&serial.to_be_bytes());
            payload[8..12].copy_from_slice(&1u32.to_be_bytes());
            payload[12..].copy_from_slice(b"T=21.5;V=3.3");
            let mut msg = [0u8; telemetry_len(READING_LEN, true)];
            let n = seal_telemetry_signed(
                &mut device,
                DEVICE_KEY,
                &line.server_public,
                serial,
                &payload,
                &mut msg,
                &mut rng,
            )
            .map_err(ctx("seal"))?;
            let sent = msg.get(..n).ok_or("telemetry length")?;
            let mut receive = |bytes: &mut [u8]| -> Result<Vec<u8>, String> {
                let h = TelemetryHeader::parse(bytes).map_err(ctx("header"))?;
                let key = dir.public_key(h.serial)?;
                open_telemetry(server, SERVER_KEY, Some(&key), bytes)
                    .map(|p| p.to_vec())
                    .map_err(ctx("open"))
            };
            let mut forwarded = relay(sent, &Relay::Forward);
            let opened = receive(&mut forwarded)?;
            check(opened == payload, "payload differs at the server")?;
            let mut refused = 0;
            if index == 0 {
                for attack in [Relay::FlipCiphertextBit, Relay::Readdress] {
                    let mut bad = relay(sent, &attack);
                    check(bad != sent, "the relay's attack changed nothing")?;
                    if receive(&mut bad).is_err() {
                        refused += 1;
                    } else {
                        return Err("the server accepted a tampered message".to_owned());
                    }
                }
            }
            Ok(Done {
                out: (),
                bytes: n as u64,
                tamper_refused: refused,
            })
        },
        |_, _| Ok(()),
    )?;
    let expected_refusals = 2;
    let mut row = row("telemetry via relay", t, &tally, Some(tally.bytes));
    if tally.tamper_refused != expected_refusals {
        // The first device failed before its attacks ran: they did not prove anything.
        row.failures += 1;
    }
    Ok((row, tally.tamper_refused))
}

/// The server's directory of device certificates by serial: the certificate file, which
/// holds only certificates the test station verified in step 5 (a server would query the
/// ledger). One open file per worker.
struct CertDirectory {
    path: PathBuf,
    devices: u64,
}

/// One worker's handle on the [`CertDirectory`].
struct CertLookup {
    file: File,
    devices: u64,
}

impl CertDirectory {
    fn open(path: &Path, devices: u64) -> Result<Self, BoxError> {
        let len = std::fs::metadata(path)?.len();
        if len != devices * COMPACT_LEN as u64 {
            return Err(format!(
                "{} has {len} bytes, expected {devices} certificates",
                path.display()
            )
            .into());
        }
        Ok(Self {
            path: path.to_owned(),
            devices,
        })
    }

    fn handle(&self) -> Result<CertLookup, String> {
        let file = File::open(&self.path)
            .map_err(|e| format!("cannot open {}: {e}", self.path.display()))?;
        Ok(CertLookup {
            file,
            devices: self.devices,
        })
    }
}

impl CertLookup {
    /// The certified public key of device `serial`; an unknown serial is an error.
    fn public_key(&mut self, serial: u64) -> Result<EcPublicKey, String> {
        let index = index_of(serial)
            .filter(|i| *i < self.devices)
            .ok_or_else(|| format!("unknown device serial {serial:#018x}"))?;
        let mut cert = [0u8; COMPACT_LEN];
        self.file
            .seek(SeekFrom::Start(index * COMPACT_LEN as u64))
            .and_then(|_| self.file.read_exact(&mut cert))
            .map_err(|e| format!("certificate directory: {e}"))?;
        let parsed = CompactCert::parse(&cert).map_err(ctx("directory certificate"))?;
        check(
            parsed.serial() == serial,
            "directory entry for another serial",
        )?;
        parsed.public_key().map_err(ctx("directory key"))
    }
}

/// VmHWM from /proc/self/status, in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A random 16-byte CA certificate serial.
fn random_serial(rng: &mut sim::OsRng) -> [u8; 16] {
    let mut serial = [0u8; 16];
    rand_core::Rng::fill_bytes(rng, &mut serial);
    serial
}

/// Lower-case hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
