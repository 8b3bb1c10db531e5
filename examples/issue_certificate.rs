//! Creates a root CA, a factory (intermediate) CA and a device identity; prints the
//! compact certificate's size and writes the PEM chain to a directory so that anyone
//! can check it with OpenSSL:
//!
//! ```text
//! cargo run --example issue_certificate -- out/
//! openssl verify -CAfile out/root.pem -untrusted out/intermediate.pem out/device.pem
//! ```
//!
//! Every key comes from the operating system's RNG (`provkit::rng::OsRng`). The device
//! generates its key pair in its own key store; only its public key goes to the CA. The CA
//! keys sit in another store and sign by handle.
//!
//! Without `--store` the CA lives in memory and is gone when the run ends. To keep it:
//!
//! ```text
//! cargo run --example issue_certificate -- out/ --store sqlite:ca.db   # creates the CA
//! cargo run --example issue_certificate -- out2/ --store sqlite:ca.db  # reuses it
//! ```
//!
//! The SQLite store (`provkit-sqlite`) keeps both CA keys and both CA certificates, each
//! wrapped (AES-KWP) under a 32-byte KEK; no plaintext key is in the database. The KEK is
//! read from the file named by `PROVKIT_CA_KEK_FILE`, by default `<database>.kek`, and
//! created from the OS RNG (mode 0600) on first use. That file is the secret: keep it
//! apart from the database and its backups. In production the KEK (or the CA keys
//! themselves) stays in an HSM: `SqliteStore` takes any key store for its KEK, e.g. a
//! `provkit_pkcs11::Pkcs11Store`. Every later run on the same database issues a new
//! device under the same root and factory CA.

#[path = "issue_certificate/ca.rs"]
mod ca;

use provkit::cert::{self, CompactCert};
use provkit::envelope::{KekId, KekRef, KekSlot};
use provkit::rand_core::Rng;
use provkit::rng::OsRng;
use provkit::store::{
    IdentityKeys, KeyId, KeyKind, MemoryStore, Records, SymmetricKeys, WrapAlgorithm,
};
use provkit_sqlite::{SqliteOptions, SqliteStore};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

const USAGE: &str = "usage: issue_certificate <output-directory> [--store sqlite:<database>]";
const DEVICE: KeyId = KeyId(1);

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (dir, store) = match args.as_slice() {
        [dir] => (dir, None),
        [dir, flag, spec] if flag == "--store" => {
            let path = spec.strip_prefix("sqlite:").ok_or(USAGE)?;
            (dir, Some(PathBuf::from(path)))
        }
        _ => return Err(USAGE.into()),
    };
    let dir = Path::new(dir);
    std::fs::create_dir_all(dir)?;
    match store {
        None => {
            println!("CA store           in memory (gone after this run; --store keeps it)");
            let mut store = MemoryStore::<2, 2, { ca::MAX_CA_DER }>::new();
            run(&mut store, dir)
        }
        Some(db) => {
            let kek_file = std::env::var_os("PROVKIT_CA_KEK_FILE").map_or_else(
                || {
                    let mut name = db.clone().into_os_string();
                    name.push(".kek");
                    PathBuf::from(name)
                },
                PathBuf::from,
            );
            let mut store = open_sqlite(&db, &kek_file)?;
            println!(
                "CA store           {} (keys wrapped under the KEK in {})",
                db.display(),
                kek_file.display()
            );
            run(&mut store, dir)
        }
    }
}

/// Opens the SQLite key store at `db`, wrapping under the KEK read from `kek_file`.
fn open_sqlite(
    db: &Path,
    kek_file: &Path,
) -> Result<SqliteStore<MemoryStore<1, 0, 0>>, Box<dyn std::error::Error>> {
    if !kek_file.exists() {
        let mut kek = zeroize::Zeroizing::new([0u8; 32]);
        OsRng.fill_bytes(kek.as_mut());
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        opts.open(kek_file)?.write_all(kek.as_ref())?;
    }
    let kek = zeroize::Zeroizing::new(std::fs::read(kek_file)?);
    if kek.len() != 32 {
        return Err(format!("{}: a KEK file holds 32 bytes", kek_file.display()).into());
    }
    let mut kek_store = MemoryStore::<1, 0, 0>::new();
    kek_store.import_symmetric(KeyId(1), KeyKind::Aes256, &kek)?;
    let slot = KekSlot {
        kek: KekRef {
            id: KekId(*b"ca-kek\0\0"),
            version: 1,
        },
        key: KeyId(1),
        wrap: WrapAlgorithm::AesKwp,
    };
    Ok(SqliteStore::open(
        db,
        kek_store,
        slot,
        SqliteOptions::default(),
    )?)
}

/// Loads or creates the CA in `ca_store`, then issues a fresh device and writes the chain.
fn run<S: IdentityKeys + Records>(
    ca_store: &mut S,
    dir: &Path,
) -> Result<(), Box<dyn std::error::Error>> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut rng = OsRng;
    let ca = ca::open_or_create(ca_store, &mut rng, now)?;
    println!(
        "CA                 {}",
        if ca.created {
            "created (root and factory keys from the OS RNG)"
        } else {
            "loaded from the store"
        }
    );
    let (root, factory) = (ca.root()?, ca.factory()?);

    // On the device: generate the identity key; only the public key leaves.
    let mut device_store = MemoryStore::<1, 0, 0>::new();
    let device_public = device_store.generate_p256(DEVICE, &mut rng)?;
    let device_serial = rng.next_u64().max(1);
    let compact = ca.issue(ca_store, &device_public, device_serial, now)?;
    let parsed = CompactCert::parse(&compact)?;
    let verified = cert::verify_device(&root, Some(&factory), &parsed, now)?;
    let device_der_len = cert::expanded_len(&parsed, factory.as_issuer())?;

    std::fs::write(dir.join("root.pem"), cert::to_pem(&ca.root_der)?)?;
    std::fs::write(dir.join("intermediate.pem"), cert::to_pem(&ca.factory_der)?)?;
    std::fs::write(
        dir.join("device.pem"),
        cert::expand_to_pem(&parsed, factory.as_issuer())?,
    )?;
    std::fs::write(dir.join("device.compact"), compact)?;

    println!("device serial      {:016X}", verified.serial);
    println!(
        "compact cert       {} bytes (stored on the device)",
        compact.len()
    );
    println!("expanded X.509 DER {device_der_len} bytes");
    println!(
        "root / factory CA  {} / {} bytes DER",
        ca.root_der.len(),
        ca.factory_der.len()
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
