//! The test authority of the field problem: it imports a manufacturer's shipment of device
//! keys into the SQLite issuance ledger, then serves the device keys to the test
//! application one serial at a time — each exactly once — and proves it with the audit
//! chain.
//!
//! ```text
//! cargo run --release --example test_station              # 10,000 devices
//! cargo run --release --example test_station -- 200000    # more
//! ```
//!
//! **KEK custody.** Where SoftHSM2 is installed (`/usr/lib/softhsm/libsofthsm2.so`, or
//! `PROVKIT_PKCS11_MODULE`), the KEK, the fingerprint key and the HPKE recipient key are
//! generated as non-extractable objects in a fresh SoftHSM2 token (in a temp dir) and used
//! through the PKCS#11 store: no authority key ever exists in this process's memory.
//! Where it is absent, the example falls back to FILE keys (0600 files next to the
//! database) in a software store, and says so. The ledger is generic over the store, so
//! only [`hsm_keys`] and [`file_keys`] differ.

use provkit::envelope::shipment::{
    DeviceKeyRecord, KeyUsageCode, ShipmentParams, ShipmentWriter, chunk_buffer_len,
};
use provkit::envelope::{Kcv, KekId, KekRef, KekRing, KekSlot};
use provkit::rng::OsRng;
use provkit::secret::SecretBytes;
use provkit::store::{
    IdentityKeys, KeyId, KeyKind, KeyStore, MemoryStore, SymmetricKeys, WrapAlgorithm,
};
use provkit_ledger::{IssueOutcome, Ledger, LedgerConfig, LedgerError};
use provkit_pkcs11::{KeyRole, KeyRoles, Pin, Pkcs11Config, Pkcs11Store, init_token};
use provkit_sqlite::{SqliteLedger, SqliteOptions};
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const HPKE_KEY: KeyId = KeyId(1);
const KEK_V1: KeyId = KeyId(2);
const FINGERPRINT_KEY: KeyId = KeyId(3);
const LEDGER_KEK: KekId = KekId(*b"ta-kek\0\0");

/// Set in the child process that runs against a fresh SoftHSM2 token.
const SOFTHSM_CHILD: &str = "PROVKIT_TEST_STATION_SOFTHSM";
const TOKEN: &str = "test-authority";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Reads a 32-byte key file, creating it from the OS RNG (mode 0600) on first use.
fn file_key(path: &Path) -> Result<SecretBytes<32>, Box<dyn std::error::Error>> {
    if !path.exists() {
        let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut())?;
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        opts.open(path)?.write_all(bytes.as_ref())?;
    }
    let bytes = zeroize::Zeroizing::new(std::fs::read(path)?);
    Ok(SecretBytes::from_slice(&bytes)?)
}

/// The authority's keys as FILE keys in a software store (the fallback without SoftHSM2):
/// the HPKE recipient key (shipments are sealed to it), the KEK that wraps every device
/// key at rest, and the fingerprint key behind the ledger's UNIQUE(fingerprint).
fn file_keys(dir: &Path) -> Result<MemoryStore<3, 0, 0>, Box<dyn std::error::Error>> {
    let mut keys = MemoryStore::<3, 0, 0>::new();
    keys.import_p256(HPKE_KEY, &file_key(&dir.join("authority-hpke.key"))?)?;
    let kek = file_key(&dir.join("authority-kek.key"))?;
    keys.import_symmetric(KEK_V1, KeyKind::Aes256, kek.dangerous_expose())?;
    let fp = file_key(&dir.join("authority-fingerprint.key"))?;
    keys.import_symmetric(FINGERPRINT_KEY, KeyKind::Aes256, fp.dangerous_expose())?;
    Ok(keys)
}

/// The same three keys generated inside a fresh SoftHSM2 token, non-extractable.
fn hsm_keys(rng: &mut OsRng) -> Result<Pkcs11Store, Box<dyn std::error::Error>> {
    let module = provkit_pkcs11::config::default_module();
    // A throwaway token for this run; a real authority logs in to its HSM's token.
    let (so_pin, user_pin) = (Pin::new("so-pin-1".into()), Pin::new("user-pin-1".into()));
    init_token(&module, TOKEN, &so_pin, &user_pin)?;
    // The KEK releases what it unwraps to this process (shipment keys), so it is a data
    // KEK: it can never wrap a stored key out (docs/threat-model.md, PKCS#11 key roles).
    let mut config = Pkcs11Config::new(TOKEN, user_pin);
    config.roles = KeyRoles::default().with(KEK_V1.0..=KEK_V1.0, KeyRole::DataKek);
    let mut keys = Pkcs11Store::open(config)?;
    keys.generate_p256(HPKE_KEY, rng)?;
    keys.generate_symmetric(KEK_V1, KeyKind::Aes256, rng)?;
    keys.generate_symmetric(FINGERPRINT_KEY, KeyKind::Aes256, rng)?;
    Ok(keys)
}

/// SoftHSM2 reads `SOFTHSM2_CONF` once, when the module loads, and setting a variable in
/// a running process is `unsafe`: so the station re-runs itself with the variable
/// pointing at a fresh token directory. Returns `None` (run with file keys) when
/// SoftHSM2 is not installed.
fn rerun_with_softhsm(
    dir: &Path,
) -> Result<Option<std::process::ExitStatus>, Box<dyn std::error::Error>> {
    if !provkit_pkcs11::config::default_module().exists() {
        return Ok(None);
    }
    let tokens = dir.join("softhsm-tokens");
    std::fs::create_dir_all(&tokens)?;
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )?;
    let status = std::process::Command::new(std::env::current_exe()?)
        .args(std::env::args_os().skip(1))
        .env(SOFTHSM_CHILD, dir)
        .env("SOFTHSM2_CONF", &conf)
        .status()?;
    Ok(Some(status))
}

/// The manufacturer: seals `count` fresh AES-128 DUKPT initial keys to the authority.
fn manufacture(
    path: &Path,
    authority: &provkit::ec::EcPublicKey,
    count: u32,
    rng: &mut OsRng,
) -> Result<(provkit::ec::EcPublicKey, Vec<u64>), Box<dyn std::error::Error>> {
    let mut hsm = MemoryStore::<1, 0, 0>::new();
    let signer = hsm.generate_p256(KeyId(1), rng)?;
    let params = ShipmentParams::new(*b"ACME devices ltd", *b"batch-2025-06-01", count);
    let mut buf = vec![0u8; chunk_buffer_len(params.records_per_chunk)];
    let (mut writer, header) =
        ShipmentWriter::new(&mut hsm, KeyId(1), authority, &params, &mut buf, rng)?;
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    out.write_all(&header)?;
    let mut serials = Vec::with_capacity(count as usize);
    for i in 0..count {
        let serial = 0x00A1_0000_0000 + u64::from(i);
        let record = DeviceKeyRecord::generate(
            serial,
            u64::from(i),
            KeyUsageCode::INITIAL_DUKPT,
            KeyKind::Aes128,
            rng,
        )?;
        if let Some(chunk) = writer.push(&record)? {
            out.write_all(chunk)?;
        }
        serials.push(serial);
    }
    out.write_all(&writer.finish(&mut hsm)?)?;
    out.flush()?;
    Ok((signer, serials))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let count: u32 = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 10_000,
    };
    let mut rng = OsRng;
    if let Some(dir) = std::env::var_os(SOFTHSM_CHILD) {
        let dir = std::path::PathBuf::from(dir);
        let keys = hsm_keys(&mut rng)?;
        let custody = "SoftHSM2 (PKCS#11): KEK, fingerprint key and HPKE key generated \
                       non-extractable in a fresh token; wrap, unwrap, ECDH in the HSM";
        return run(keys, custody, &dir, count, &mut rng);
    }
    let dir = std::env::temp_dir().join(format!("provkit-test-station-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    if let Some(status) = rerun_with_softhsm(&dir)? {
        if status.success() {
            return Ok(());
        }
        return Err(format!("test station (SoftHSM2) failed: {status}").into());
    }
    let keys = file_keys(&dir)?;
    let custody = format!(
        "FILE KEK ({}) in a software store: SoftHSM2 is not installed \
         (apt-get install -y softhsm2 to keep the keys in an HSM)",
        dir.join("authority-kek.key").display()
    );
    run(keys, &custody, &dir, count, &mut rng)
}

/// Manufacture, import, serve: the same for either key custody.
fn run<K: KeyStore>(
    mut keys: K,
    custody: &str,
    dir: &Path,
    count: u32,
    rng: &mut OsRng,
) -> Result<(), Box<dyn std::error::Error>> {
    println!("== test station ==");
    println!("key custody: {custody}");
    let authority_pk = keys.public_key(HPKE_KEY)?;

    let shipment = dir.join("shipment.bin");
    let t = Instant::now();
    let (manufacturer_pk, serials) = manufacture(&shipment, &authority_pk, count, rng)?;
    println!(
        "manufacturer: {count} device keys sealed into {} ({} bytes) in {:.2} s",
        shipment.display(),
        std::fs::metadata(&shipment)?.len(),
        t.elapsed().as_secs_f64()
    );

    // The ledger: SQLite file in WAL mode, KEK version 1 in the directory.
    let mut ring = KekRing::<4>::new();
    ring.add_version(KekSlot {
        kek: KekRef {
            id: LEDGER_KEK,
            version: 1,
        },
        key: KEK_V1,
        wrap: WrapAlgorithm::AesKw,
    })?;
    let db = dir.join("ledger.db");
    let backend = SqliteLedger::open(&db, SqliteOptions::default())?;
    let mut ledger = Ledger::new(
        backend,
        keys,
        ring,
        LedgerConfig::new(LEDGER_KEK, FINGERPRINT_KEY),
    );

    let t = Instant::now();
    let report = ledger.import(
        HPKE_KEY,
        &manufacturer_pk,
        BufReader::new(std::fs::File::open(&shipment)?),
        now(),
    )?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "import: {} records verified, wrapped under the KEK and promoted in {secs:.2} s ({:.0} records/s); {} refused",
        report.promoted,
        report.promoted as f64 / secs,
        report.refused.len()
    );
    let again = ledger.import(
        HPKE_KEY,
        &manufacturer_pk,
        BufReader::new(std::fs::File::open(&shipment)?),
        now(),
    )?;
    println!(
        "import again: already imported = {} (idempotent, audited)",
        again.already_imported
    );

    // The test application asks for keys, one serial at a time. It repeats one request
    // (a retry after a power glitch, say) and asks for a serial that was never shipped.
    let requests = [serials[0], serials[1], serials[2], serials[1], 0xDEAD_BEEF];
    for serial in requests {
        match ledger.issue(serial, now()) {
            Ok(key) => {
                // Unwrapped only now, for injection, and checked against its KCV.
                let secret = ledger.open_key(&key)?;
                let kcv = Kcv::of_key(&secret)?;
                println!(
                    "serve {serial:#x}: key id {} ({:?}, {} bytes) injected, KCV {kcv} (matches the manufacturer's)",
                    key.key_id,
                    key.kind,
                    secret.len()
                );
            }
            Err(LedgerError::AlreadyIssued { issued_at, .. }) => {
                println!("serve {serial:#x}: REFUSED — already issued at {issued_at} (audited)");
            }
            Err(LedgerError::UnknownSerial(_)) => {
                println!(
                    "serve {serial:#x}: REFUSED — no key was shipped for this serial (audited)"
                );
            }
            Err(e) => return Err(e.into()),
        }
    }

    // The rest of the line, in batches of 1,000 serials per transaction.
    let t = Instant::now();
    let mut issued = 0u64;
    let mut refused = 0u64;
    for chunk in serials.chunks(1000) {
        for o in ledger.issue_batch(chunk, now())? {
            match o {
                IssueOutcome::Issued(_) => issued += 1,
                IssueOutcome::Refused { .. } => refused += 1,
            }
        }
    }
    println!(
        "line: {issued} more keys issued, {refused} refused as already issued, in {:.2} s",
        t.elapsed().as_secs_f64()
    );

    let rec = ledger.lookup(serials[1])?.ok_or("serial missing")?;
    println!(
        "lookup {:#x}: key id {}, batch {:?}, issued at {:?}, shipment transcript {}, {} audit events",
        rec.key.serial,
        rec.key.key_id,
        String::from_utf8_lossy(&rec.key.batch_id),
        rec.key.issued_at,
        rec.shipment_transcript
            .map_or_else(String::new, |h| provkit_ledger::codec::hex(&h)),
        rec.history.len()
    );
    let chain = ledger.verify_audit(None)?;
    let check = ledger.check_keys()?;
    println!(
        "audit chain: {} rows verified ({} refusals), head {}",
        chain.rows, chain.refusals, chain.head
    );
    println!(
        "keys: {} unwrap and KCV-check, {} bad",
        check.checked,
        check.bad.len()
    );
    println!("census: {}", ledger.census()?);
    println!(
        "summary: {count} devices, each key issued exactly once; database {}",
        db.display()
    );
    Ok(())
}
