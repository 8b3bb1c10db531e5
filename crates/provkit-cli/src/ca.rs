//! `provkit ca`: a root and an intermediate CA whose keys are generated in the store (OS
//! RNG) and never leave it, their certificates kept as records beside them; device
//! certificates issued by the intermediate, each kept as a record too (`ca list`).

use crate::keys::read_public_key;
use crate::report::{Report, hex};
use crate::store::{
    AnyStore, Create, INTERMEDIATE_CERT, INTERMEDIATE_KEY, ISSUED_BASE, ISSUED_COUNT, ROOT_CERT,
    ROOT_KEY,
};
use crate::{Context, Failure, LedgerArgs, StoreArgs, now, time};
use clap::{Args, Subcommand};
use provkit::cert::{
    self, COMPACT_LEN, CaCert, CaName, CaProfile, CompactCert, DeviceRequest, DeviceUsage, csr,
};
use provkit::rand_core::Rng;
use provkit::store::{IdentityKeys, KeyInventory, RecordId, Records};
use provkit_ledger::LedgerError;
use std::path::PathBuf;

const YEAR: u64 = 365 * 86_400;

/// The CA.
#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Creates the root and the intermediate CA in the store: both key pairs generated in
    /// the store from the OS RNG, the certificates kept as records. Refused if the store
    /// already holds a CA.
    ///
    /// Example: provkit ca init --store sqlite:ca.db --root-name "Example Root CA" --intermediate-name "Factory 1 CA" --organization "Example Devices Ltd"
    Init(Init),
    /// Writes the root and intermediate certificates to a directory: root.pem, root.der,
    /// intermediate.pem, intermediate.der, and the compact forms root.compact and
    /// intermediate.compact.
    ///
    /// Example: provkit ca export --store sqlite:ca.db --out certs/
    Export(Export),
    /// Issues a compact device certificate (111 bytes) for a device's public key (SPKI
    /// PEM or DER, SEC1 bytes or hex) and serial, or for a PKCS#10 request, signed by the
    /// intermediate in the store. Refused for a serial already issued.
    ///
    /// Example: provkit ca issue --store sqlite:ca.db --public-key device.pem --serial 0x8000000000000001 -o device.bin
    ///
    /// Example: provkit ca issue --store sqlite:ca.db --csr device.csr -o device.bin
    Issue(Issue),
    /// Lists the device certificates the CA issued.
    ///
    /// Example: provkit ca list --store sqlite:ca.db --json
    List(List),
}

/// `ca init`.
#[derive(Debug, Args)]
pub struct Init {
    #[command(flatten)]
    store: StoreArgs,
    /// The root CA's common name.
    #[arg(long)]
    root_name: String,
    /// The intermediate CA's common name.
    #[arg(long)]
    intermediate_name: String,
    /// The organization in both names.
    #[arg(long)]
    organization: Option<String>,
    /// The root's validity in years.
    #[arg(long, default_value_t = 25)]
    root_years: u64,
    /// The intermediate's validity in years.
    #[arg(long, default_value_t = 10)]
    intermediate_years: u64,
    /// Prints one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// `ca export`.
#[derive(Debug, Args)]
pub struct Export {
    #[command(flatten)]
    store: StoreArgs,
    /// The directory to write to (created if missing).
    #[arg(long)]
    out: PathBuf,
}

/// `ca issue`.
#[derive(Debug, Args)]
pub struct Issue {
    #[command(flatten)]
    store: LedgerArgs,
    /// The device's public key file (with --serial), unless --csr is given.
    #[arg(long, required_unless_present = "csr", conflicts_with = "csr")]
    public_key: Option<PathBuf>,
    /// A PKCS#10 certification request (PEM or DER, e.g. from `openssl req -new -subj
    /// /serialNumber=<16 hex digits>`) instead of --public-key: its signature must verify
    /// (proof of possession), its subject name the serial, and its extensions ask for no
    /// more than --key-agreement and --server-auth allow; a refusal says why.
    #[arg(long)]
    csr: Option<PathBuf>,
    /// The device serial (decimal, or hex with 0x). With --csr, the serial the request
    /// must name (or the serial for a request with an empty subject).
    #[arg(long, value_parser = parse_serial, required_unless_present = "csr")]
    serial: Option<u64>,
    /// The issue time (default: now): YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or Unix seconds.
    #[arg(long)]
    at: Option<String>,
    /// Adds keyAgreement (static ECDH with the device key).
    #[arg(long)]
    key_agreement: bool,
    /// Adds serverAuth.
    #[arg(long)]
    server_auth: bool,
    /// Also records the certificate in the ledger: the serial's key (from an imported
    /// shipment) is marked issued and the certificate attached to it.
    #[arg(long)]
    attach: bool,
    /// Where to write the compact certificate.
    #[arg(long, short)]
    output: PathBuf,
    /// Prints one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// `ca list`.
#[derive(Debug, Args)]
pub struct List {
    #[command(flatten)]
    store: StoreArgs,
    /// Prints JSON (an array) instead of a table.
    #[arg(long)]
    json: bool,
}

/// Parses a serial: decimal or `0x` hex, not zero.
///
/// # Errors
/// A message for clap.
pub fn parse_serial(s: &str) -> Result<u64, String> {
    let v = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(&h.replace('_', ""), 16),
        None => s.replace('_', "").parse(),
    }
    .map_err(|e| format!("{s:?}: {e}"))?;
    if v == 0 {
        return Err("serial 0 is not allowed".into());
    }
    Ok(v)
}

/// Runs a `ca` command.
///
/// # Errors
/// A [`Failure`] for anything refused.
pub fn run(command: CaCommand) -> Result<(), Failure> {
    match command {
        CaCommand::Init(a) => init(&a),
        CaCommand::Export(a) => export(&a),
        CaCommand::Issue(a) => issue(&a),
        CaCommand::List(a) => list(&a),
    }
}

/// The CA's two certificates, read from the store.
pub struct Ca {
    /// The root (DER).
    pub root: Vec<u8>,
    /// The intermediate (DER).
    pub intermediate: Vec<u8>,
}

impl Ca {
    /// Reads the CA from `store`.
    ///
    /// # Errors
    /// A [`Failure`] when the store holds no CA.
    pub fn load(store: &mut AnyStore, name: &str) -> Result<Self, Failure> {
        match (store.record(ROOT_CERT)?, store.record(INTERMEDIATE_CERT)?) {
            (Some(root), Some(intermediate)) => Ok(Self { root, intermediate }),
            _ => Err(Failure(format!(
                "{name}: holds no CA (create one with `provkit ca init`)"
            ))),
        }
    }

    /// The root certificate.
    ///
    /// # Errors
    /// A [`Failure`] when it does not parse.
    pub fn root(&self) -> Result<CaCert<'_>, Failure> {
        CaCert::from_der(&self.root).ctx("root certificate")
    }

    /// The intermediate certificate.
    ///
    /// # Errors
    /// A [`Failure`] when it does not parse.
    pub fn intermediate(&self) -> Result<CaCert<'_>, Failure> {
        CaCert::from_der(&self.intermediate).ctx("intermediate certificate")
    }
}

fn init(a: &Init) -> Result<(), Failure> {
    let mut store = a.store.open(Create::IfMissing)?;
    let name = &a.store.store;
    for id in [ROOT_KEY, INTERMEDIATE_KEY] {
        if store.has_key(id)? {
            return Err(Failure(format!(
                "{name}: already holds a CA key (key {})",
                id.0
            )));
        }
    }
    if store.record(ROOT_CERT)?.is_some() || store.record(INTERMEDIATE_CERT)?.is_some() {
        return Err(Failure(format!("{name}: already holds a CA")));
    }
    let result = create(&mut store, a);
    if result.is_err() {
        // Nothing half-made stays behind.
        let _ = store.delete_record(INTERMEDIATE_CERT);
        let _ = store.delete_record(ROOT_CERT);
        let _ = store.delete_key(INTERMEDIATE_KEY);
        let _ = store.delete_key(ROOT_KEY);
    }
    let (root_der, int_der) = result?;
    let root = CaCert::from_der(&root_der).ctx("root certificate")?;
    let int = CaCert::from_der(&int_der).ctx("intermediate certificate")?;
    let (nb, na) = root.validity();
    let (inb, ina) = int.validity();
    let mut r = Report::default();
    r.field("store", name.as_str())
        .field("root", a.root_name.as_str())
        .field("root_key_id", hex(&root.short_key_id()))
        .field(
            "root_validity",
            format!("{} to {}", time::format(nb), time::format(na)),
        )
        .field("intermediate", a.intermediate_name.as_str())
        .field("intermediate_key_id", hex(&int.short_key_id()))
        .field(
            "intermediate_validity",
            format!("{} to {}", time::format(inb), time::format(ina)),
        );
    r.print(a.json);
    Ok(())
}

fn create(store: &mut AnyStore, a: &Init) -> Result<(Vec<u8>, Vec<u8>), Failure> {
    let mut rng = provkit::rng::OsRng;
    let now = now();
    store
        .generate_p256(ROOT_KEY, &mut rng)
        .ctx("generate the root key")?;
    let int_public = store
        .generate_p256(INTERMEDIATE_KEY, &mut rng)
        .ctx("generate the intermediate key")?;
    let org = a.organization.as_deref();
    let name = |cn| match org {
        Some(o) => CaName::new(cn).with_organization(o),
        None => CaName::new(cn),
    };
    let mut serial = [0u8; 16];
    rng.fill_bytes(&mut serial);
    serial[0] &= 0x7f;
    let mut root_der = vec![0u8; 1024];
    let n = cert::create_root(
        store,
        ROOT_KEY,
        &CaProfile::new(
            name(&a.root_name),
            serial,
            now - 3600,
            now + a.root_years * YEAR,
        )
        .with_path_len(1),
        &mut root_der,
    )
    .ctx("root certificate")?;
    root_der.truncate(n);
    rng.fill_bytes(&mut serial);
    serial[0] &= 0x7f;
    let mut int_der = vec![0u8; 1024];
    let n = cert::create_intermediate(
        store,
        ROOT_KEY,
        &CaCert::from_der(&root_der).ctx("root certificate")?,
        &int_public,
        &CaProfile::new(
            name(&a.intermediate_name),
            serial,
            now - 3600,
            now + a.intermediate_years * YEAR,
        )
        .with_path_len(0),
        &mut int_der,
    )
    .ctx("intermediate certificate")?;
    int_der.truncate(n);
    store
        .write_record(INTERMEDIATE_CERT, &int_der)
        .ctx("store the intermediate certificate")?;
    store
        .write_record(ROOT_CERT, &root_der)
        .ctx("store the root certificate")?;
    Ok((root_der, int_der))
}

fn export(a: &Export) -> Result<(), Failure> {
    let mut store = a.store.open(Create::No)?;
    let ca = Ca::load(&mut store, &a.store.store)?;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    for (stem, der) in [("root", &ca.root), ("intermediate", &ca.intermediate)] {
        let c = CaCert::from_der(der).ctx(stem)?;
        files.push((
            format!("{stem}.pem"),
            cert::to_pem(der).ctx(stem)?.into_bytes(),
        ));
        files.push((format!("{stem}.der"), der.clone()));
        let mut compact = [0u8; cert::COMPACT_CA_MAX_LEN];
        let n = c
            .write_compact(&mut compact)
            .ctx(&format!("{stem} compact form"))?;
        files.push((
            format!("{stem}.compact"),
            compact.get(..n).unwrap_or(&[]).to_vec(),
        ));
    }
    std::fs::create_dir_all(&a.out).ctx(&a.out.display().to_string())?;
    for (file, bytes) in &files {
        let p = a.out.join(file);
        std::fs::write(&p, bytes).ctx(&p.display().to_string())?;
    }
    Ok(())
}

fn issued_count(store: &mut AnyStore) -> Result<u32, Failure> {
    match store.record(ISSUED_COUNT)? {
        None => Ok(0),
        Some(b) => b
            .as_slice()
            .try_into()
            .map(u32::from_be_bytes)
            .map_err(|_| Failure("the issued-certificate counter is corrupt".into())),
    }
}

/// Every certificate the CA issued, in issue order.
fn issued(store: &mut AnyStore) -> Result<Vec<[u8; COMPACT_LEN]>, Failure> {
    let n = issued_count(store)?;
    let mut out = Vec::with_capacity(n as usize);
    for i in 0..n {
        let rec = store
            .record(RecordId(ISSUED_BASE + i))?
            .ok_or_else(|| Failure(format!("issued certificate {i} is missing from the store")))?;
        out.push(
            rec.as_slice()
                .try_into()
                .map_err(|_| Failure(format!("issued certificate {i} is corrupt")))?,
        );
    }
    Ok(out)
}

fn issue(a: &Issue) -> Result<(), Failure> {
    let at = a.at.as_deref().map_or_else(|| Ok(now()), time::parse)?;
    let usage = DeviceUsage::SIGN_ONLY
        .with_key_agreement(a.key_agreement)
        .with_server_auth(a.server_auth);
    let request = match (&a.csr, &a.public_key, a.serial) {
        (Some(path), _, serial) => {
            let name = path.display().to_string();
            let bytes = std::fs::read(path).ctx(&name)?;
            let mut policy = csr::CsrPolicy::new().allowing(usage);
            if let Some(s) = serial {
                policy = policy.for_serial(s);
            }
            csr::check_request(&bytes, &policy, at).map_err(|e| Failure(format!("{name}: {e}")))?
        }
        (None, Some(path), Some(serial)) => {
            DeviceRequest::new(serial, &read_public_key(path)?, at).with_usage(usage)
        }
        _ => return Err(Failure("give --public-key and --serial, or --csr".into())),
    };
    let (serial, public) = (request.serial, request.public_key);
    let store = a.store.store.open(Create::No)?;
    // With --attach the store is the ledger's KEK store too; the ledger is checked
    // before anything is signed, so a refusal changes nothing.
    let mut holder = if a.attach {
        let mut l = crate::ledger::open_with(store, &a.store, Create::No)?;
        match l.lookup(serial).map_err(ledger_failure)? {
            None => {
                return Err(Failure(format!(
                    "serial {:#018x}: no key in the ledger to attach the certificate to",
                    serial
                )));
            }
            Some(r) if r.key.certificate.is_some() => {
                return Err(Failure(format!(
                    "serial {:#018x}: the ledger already holds a certificate for it",
                    serial
                )));
            }
            Some(_) => {}
        }
        Holder::Ledger(Box::new(l))
    } else {
        Holder::Store(Box::new(store))
    };
    let ca = Ca::load(holder.store(), &a.store.store.store)?;
    let int = ca.intermediate()?;
    let root = ca.root()?;
    for c in &issued(holder.store())? {
        if CompactCert::parse(c).is_ok_and(|c| c.serial() == serial) {
            return Err(Failure(format!(
                "serial {:#018x} already has a certificate",
                serial
            )));
        }
    }
    let compact =
        cert::issue_device(holder.store(), INTERMEDIATE_KEY, &int, &request).ctx("issue")?;
    let parsed = CompactCert::parse(&compact).ctx("issued certificate")?;
    cert::verify_device(&root, Some(&int), &parsed, at).ctx("issued certificate")?;
    if let Holder::Ledger(l) = &mut holder {
        let mut der = vec![0u8; cert::expanded_len(&parsed, int.as_issuer()).ctx("expand")?];
        let n = cert::expand(&parsed, int.as_issuer(), &mut der).ctx("expand")?;
        der.truncate(n);
        let t = now();
        let issued_at = l
            .lookup(serial)
            .map_err(ledger_failure)?
            .and_then(|r| r.key.issued_at);
        if issued_at.is_none() {
            l.issue(serial, t).map_err(ledger_failure)?;
        }
        l.attach_certificate(serial, &der, t)
            .map_err(ledger_failure)?;
    }
    let store = holder.store();
    let n = issued_count(store)?;
    store
        .write_record(RecordId(ISSUED_BASE + n), &compact)
        .ctx("record the certificate")?;
    store
        .write_record(ISSUED_COUNT, &(n + 1).to_be_bytes())
        .ctx("record the certificate")?;
    std::fs::write(&a.output, compact).ctx(&a.output.display().to_string())?;
    let mut r = Report::default();
    r.field("serial", format!("{:#018x}", serial))
        .field("not_before", time::format(parsed.not_before()))
        .field("issuer_key_id", hex(&parsed.issuer_key_id()))
        .field("public_key", hex(&public.to_compressed()))
        .field("output", a.output.display().to_string())
        .field("attached_to_ledger", a.attach);
    r.print(a.json);
    Ok(())
}

/// The store alone, or inside the ledger that uses it as its KEK store.
enum Holder {
    Store(Box<AnyStore>),
    Ledger(Box<crate::ledger::CliLedger>),
}

impl Holder {
    fn store(&mut self) -> &mut AnyStore {
        match self {
            Self::Store(s) => s,
            Self::Ledger(l) => l.keys_mut(),
        }
    }
}

/// A ledger error as a [`Failure`].
pub fn ledger_failure(e: LedgerError) -> Failure {
    Failure(format!("ledger: {e}"))
}

fn list(a: &List) -> Result<(), Failure> {
    let mut store = a.store.open(Create::No)?;
    let _ = Ca::load(&mut store, &a.store.store)?;
    let certs = issued(&mut store)?;
    let mut rows = Vec::new();
    for (i, c) in certs.iter().enumerate() {
        let p = CompactCert::parse(c).ctx(&format!("issued certificate {i}"))?;
        let public = p.public_key().ctx(&format!("issued certificate {i}"))?;
        rows.push(vec![
            ("serial", format!("{:#018x}", p.serial())),
            ("not_before", time::format(p.not_before())),
            ("public_key", hex(&public.to_compressed())),
        ]);
    }
    crate::report::print_rows(&rows, a.json, "no certificates issued");
    Ok(())
}
