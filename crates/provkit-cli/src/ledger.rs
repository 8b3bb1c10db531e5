//! `provkit ledger`: the issuance ledger (`provkit-ledger`) over the store's database (or
//! `--ledger`), with its keys (fingerprint key, KEK versions, HPKE key) in the store.

use crate::ca::ledger_failure;
use crate::report::{Report, hex, print_rows};
use crate::store::{
    AnyLedger, AnyStore, Create, FINGERPRINT_KEY, LEDGER_KEK, MAX_KEK_VERSION, Spec, kek_key,
    kek_slot,
};
use crate::{Context, Failure, LedgerArgs, now, time};
use clap::{Args, Subcommand};
use provkit::envelope::KekRing;
use provkit::store::{KeyInventory, KeyKind, SymmetricKeys};
use provkit_ledger::{ChainHead, Ledger, LedgerConfig, LedgerError};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Every KEK version the store holds.
pub type Ring = KekRing<{ MAX_KEK_VERSION as usize }>;
/// The ledger as the CLI opens it.
pub type CliLedger = Ledger<AnyLedger, AnyStore, Ring>;

/// The issuance ledger.
#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Sets the ledger up: its tables, the fingerprint key and (unless --no-kek, for a KEK
    /// that custodians will combine with `provkit kek combine`) KEK version 1, both
    /// generated in the store from the OS RNG.
    ///
    /// Example: provkit ledger init --store sqlite:authority.db
    Init(Init),
    /// Everything the ledger knows about a serial: key id, KCV, KEK version, shipment,
    /// certificate, dates, audit history.
    ///
    /// Example: provkit ledger lookup 0x00f1000000000001 --store sqlite:authority.db
    Lookup(Lookup),
    /// Keys per KEK version, and the minimum version that still decrypts.
    ///
    /// Example: provkit ledger census --store sqlite:authority.db --json
    Census(Plain),
    /// Rewraps every key to the highest KEK version in the store (with --generate, a new
    /// version made first); with --retire, then retires and deletes the older versions.
    ///
    /// Example: provkit ledger rotate --generate --retire --store sqlite:authority.db
    Rotate(Rotate),
    /// Verifies the audit chain from genesis to its head, and through an exported anchor
    /// when one is given: detects edited, deleted, reordered or truncated rows.
    ///
    /// Example: provkit ledger verify --anchor anchor.txt --store sqlite:authority.db
    Verify(Verify),
    /// Exports the audit chain's head as an anchor (keep it elsewhere; `verify --anchor`
    /// then also detects a rewritten history).
    ///
    /// Example: provkit ledger anchor --store sqlite:authority.db -o anchor.txt
    Anchor(Anchor),
}

/// `ledger init`.
#[derive(Debug, Args)]
pub struct Init {
    #[command(flatten)]
    store: LedgerArgs,
    /// Makes no KEK (custodians combine version 1 with `provkit kek combine`).
    #[arg(long)]
    no_kek: bool,
    /// Prints one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// `ledger lookup`.
#[derive(Debug, Args)]
pub struct Lookup {
    /// The device serial (decimal, or hex with 0x).
    #[arg(value_parser = crate::ca::parse_serial)]
    serial: u64,
    #[command(flatten)]
    store: LedgerArgs,
    /// Writes the device certificate (DER), if one is attached, to this file.
    #[arg(long)]
    certificate_out: Option<PathBuf>,
    /// Prints one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// A ledger command with no options of its own.
#[derive(Debug, Args)]
pub struct Plain {
    #[command(flatten)]
    store: LedgerArgs,
    /// Prints JSON instead of a table.
    #[arg(long)]
    json: bool,
}

/// `ledger rotate`.
#[derive(Debug, Args)]
pub struct Rotate {
    #[command(flatten)]
    store: LedgerArgs,
    /// Generates a new KEK version in the store (OS RNG) first.
    #[arg(long)]
    generate: bool,
    /// After rewrapping, raises the minimum decryption version to the new version and
    /// deletes the older versions from the store.
    #[arg(long)]
    retire: bool,
    /// Keys rewrapped per transaction.
    #[arg(long, default_value_t = 4096)]
    batch: u32,
    /// Prints one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// `ledger verify`.
#[derive(Debug, Args)]
pub struct Verify {
    #[command(flatten)]
    store: LedgerArgs,
    /// An anchor exported by `provkit ledger anchor`.
    #[arg(long)]
    anchor: Option<PathBuf>,
    /// Prints one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// `ledger anchor`.
#[derive(Debug, Args)]
pub struct Anchor {
    #[command(flatten)]
    store: LedgerArgs,
    /// Where to write the anchor (default: stdout).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Prints the head as one JSON object (`seq`, `hash`) instead of the anchor line.
    #[arg(long, conflicts_with = "output")]
    json: bool,
}

/// Opens the store and the ledger of `args`, with every KEK version the store holds.
///
/// # Errors
/// A [`Failure`] when either cannot be opened, or the store has no fingerprint key (the
/// ledger was never set up).
pub fn open(args: &LedgerArgs, create: Create) -> Result<CliLedger, Failure> {
    open_with(args.store.open(create)?, args, create)
}

/// As [`open`], with the store already open.
///
/// # Errors
/// As [`open`].
pub fn open_with(
    mut store: AnyStore,
    args: &LedgerArgs,
    create: Create,
) -> Result<CliLedger, Failure> {
    let spec = args.store.spec()?;
    let ledger_spec = args.ledger.as_deref().map(Spec::parse).transpose()?;
    if create == Create::No && !store.has_key(FINGERPRINT_KEY)? {
        return Err(Failure(format!(
            "{}: no ledger keys (set the ledger up with `provkit ledger init`)",
            args.store.store
        )));
    }
    let ring = ring(&mut store)?;
    let backend = AnyLedger::open(ledger_spec.as_ref(), &spec, create)?;
    Ok(Ledger::new(
        backend,
        store,
        ring,
        LedgerConfig::new(LEDGER_KEK, FINGERPRINT_KEY),
    ))
}

/// A ring of every KEK version in `store`.
///
/// # Errors
/// A [`Failure`] for a store failure.
pub fn ring(store: &mut AnyStore) -> Result<Ring, Failure> {
    let mut ring = Ring::new();
    for v in store.kek_versions()? {
        ring.add_version(kek_slot(v)).ctx("KEK ring")?;
    }
    Ok(ring)
}

/// A ledger error as one line, with the audit chain's break in words.
fn lf(e: LedgerError) -> Failure {
    ledger_failure(e)
}

/// Runs a `ledger` command.
///
/// # Errors
/// A [`Failure`] for anything refused.
pub fn run(command: LedgerCommand) -> Result<(), Failure> {
    match command {
        LedgerCommand::Init(a) => init(&a),
        LedgerCommand::Lookup(a) => lookup(&a),
        LedgerCommand::Census(a) => census(&a),
        LedgerCommand::Rotate(a) => rotate(&a),
        LedgerCommand::Verify(a) => verify(&a),
        LedgerCommand::Anchor(a) => anchor(&a),
    }
}

fn init(a: &Init) -> Result<(), Failure> {
    let mut l = open(&a.store, Create::IfMissing)?;
    let mut rng = provkit::rng::OsRng;
    let keys = l.keys_mut();
    let mut made = Vec::new();
    if !keys.has_key(FINGERPRINT_KEY)? {
        keys.generate_symmetric(FINGERPRINT_KEY, KeyKind::Aes256, &mut rng)
            .ctx("generate the fingerprint key")?;
        made.push("fingerprint key");
    }
    let versions = keys.kek_versions()?;
    if versions.is_empty() && !a.no_kek {
        keys.generate_symmetric(kek_key(1), KeyKind::Aes256, &mut rng)
            .ctx("generate KEK version 1")?;
        l.keks_mut().add_version(kek_slot(1)).ctx("KEK ring")?;
        made.push("KEK version 1");
    }
    let head = l.audit_head().map_err(lf)?;
    let versions = l.keys_mut().kek_versions()?;
    let mut r = Report::default();
    r.field("created", made)
        .field("kek_versions", versions)
        .field("audit_rows", head.seq);
    r.print(a.json);
    Ok(())
}

fn batch_text(b: &[u8; 16]) -> String {
    if b.iter()
        .all(|c| c.is_ascii_graphic() || *c == b' ' || *c == 0)
    {
        String::from_utf8_lossy(b)
            .trim_end_matches(['\0', ' '])
            .to_owned()
    } else {
        hex(b)
    }
}

fn lookup(a: &Lookup) -> Result<(), Failure> {
    let mut l = open(&a.store, Create::No)?;
    let record = l
        .lookup(a.serial)
        .map_err(lf)?
        .ok_or_else(|| Failure(format!("serial {:#018x}: not in the ledger", a.serial)))?;
    let k = &record.key;
    let mut r = Report::default();
    r.field("serial", format!("{:#018x}", k.serial))
        .field("key_id", k.key_id)
        .field("usage", String::from_utf8_lossy(&k.usage.0).into_owned())
        .field("key_kind", format!("{:?}", k.kind))
        .field("kcv", k.kcv.to_string())
        .field("kek_version", k.wrapped.kek.version)
        .field("manufacturer", batch_text(&k.manufacturer_id))
        .field("shipment_batch", batch_text(&k.batch_id))
        .field(
            "shipment_transcript",
            record
                .shipment_transcript
                .map_or(Value::Null, |t| Value::from(hex(&t))),
        )
        .field("imported_at", time::format(k.imported_at))
        .field(
            "issued_at",
            k.issued_at
                .map_or(Value::Null, |t| Value::from(time::format(t))),
        );
    match &k.certificate {
        Some(der) => {
            r.field("certificate_sha256", hex(&provkit::ec::sha256(der)));
            if let Ok(x) = provkit::cert::X509Cert::from_der(der) {
                r.field("certificate_not_before", time::format(x.not_before()));
            }
            if let Some(p) = &a.certificate_out {
                std::fs::write(p, der).ctx(&p.display().to_string())?;
            }
        }
        None => {
            r.field("certificate_sha256", Value::Null);
        }
    }
    r.field("audit_events", record.history.len());
    r.print(a.json);
    Ok(())
}

fn census_rows(l: &mut CliLedger) -> Result<Vec<Vec<(&'static str, String)>>, Failure> {
    let census = l.census().map_err(lf)?;
    let mut entries = census.0;
    entries.sort_by_key(|(k, _)| (k.id.0, k.version));
    Ok(entries
        .iter()
        .map(|(k, n)| {
            vec![
                (
                    "kek",
                    String::from_utf8_lossy(&k.id.0)
                        .trim_end_matches('\0')
                        .to_owned(),
                ),
                ("version", k.version.to_string()),
                ("keys", n.to_string()),
            ]
        })
        .collect())
}

fn census(a: &Plain) -> Result<(), Failure> {
    let mut l = open(&a.store, Create::No)?;
    let rows = census_rows(&mut l)?;
    let min = l.min_decrypt_version(LEDGER_KEK).map_err(lf)?;
    let versions = l.keys_mut().kek_versions()?;
    if a.json {
        let keys: Vec<Value> = rows
            .iter()
            .map(|row| {
                let get = |n: &str| row.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone());
                serde_json::json!({
                    "kek": get("kek"),
                    "version": get("version").and_then(|v| v.parse::<u32>().ok()),
                    "keys": get("keys").and_then(|v| v.parse::<u64>().ok()),
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({
                "census": keys,
                "min_decrypt_version": min,
                "kek_versions_in_store": versions,
            })
        );
    } else {
        print_rows(&rows, false, "no keys in the ledger");
        println!("min decrypt version  {min}");
        println!(
            "KEK versions in store  {}",
            versions
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

fn rotate(a: &Rotate) -> Result<(), Failure> {
    let mut l = open(&a.store, Create::No)?;
    let mut versions = l.keys_mut().kek_versions()?;
    if a.generate {
        let next = versions.last().map_or(1, |v| v + 1);
        if next > MAX_KEK_VERSION {
            return Err(Failure(format!("no KEK version above {MAX_KEK_VERSION}")));
        }
        l.keys_mut()
            .generate_symmetric(kek_key(next), KeyKind::Aes256, &mut provkit::rng::OsRng)
            .ctx(&format!("generate KEK version {next}"))?;
        l.keks_mut().add_version(kek_slot(next)).ctx("KEK ring")?;
        versions.push(next);
    }
    let Some(&target) = versions.last() else {
        return Err(Failure("the store holds no ledger KEK".into()));
    };
    let t = now();
    let report = l.rotate(a.batch, t).map_err(lf)?;
    if let Some((serial, why)) = report.refused.first() {
        return Err(Failure(format!(
            "{} key(s) could not be rewrapped (first: serial {serial:#018x}, {why:?}); \
             nothing retired",
            report.refused.len()
        )));
    }
    let mut retired = Vec::new();
    if a.retire {
        l.set_min_decrypt_version(LEDGER_KEK, target, t)
            .map_err(lf)?;
        for v in versions.iter().copied().filter(|v| *v < target) {
            l.keys_mut()
                .delete_key(kek_key(v))
                .ctx(&format!("delete KEK version {v}"))?;
            retired.push(v);
        }
    }
    let count = |c: &provkit_ledger::KeyCensus| {
        let mut e: Vec<_> =
            c.0.iter()
                .map(|(k, n)| format!("v{}: {n}", k.version))
                .collect();
        e.sort();
        e
    };
    let mut r = Report::default();
    r.field("target_version", target)
        .field("rewrapped", report.rewrapped)
        .field("batches", report.batches)
        .field("before", count(&report.before))
        .field("after", count(&report.after))
        .field("retired_versions", retired);
    r.print(a.json);
    Ok(())
}

const ANCHOR_TAG: &str = "provkit-ledger-anchor v1";

fn read_anchor(path: &Path) -> Result<ChainHead, Failure> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).ctx(&name)?;
    let bad = || {
        Failure(format!(
            "{name}: not an anchor written by `provkit ledger anchor`"
        ))
    };
    let mut parts = text
        .trim()
        .strip_prefix(ANCHOR_TAG)
        .ok_or_else(bad)?
        .split_whitespace();
    let seq = parts
        .next()
        .and_then(|p| p.strip_prefix("seq="))
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let hash_hex = parts
        .next()
        .and_then(|p| p.strip_prefix("hash="))
        .ok_or_else(bad)?;
    let hash: [u8; 32] = crate::secret::hex_secret(hash_hex, &name)?
        .as_slice()
        .try_into()
        .map_err(|_| bad())?;
    if parts.next().is_some() {
        return Err(bad());
    }
    Ok(ChainHead { seq, hash })
}

fn verify(a: &Verify) -> Result<(), Failure> {
    let anchor = a.anchor.as_deref().map(read_anchor).transpose()?;
    let mut l = open(&a.store, Create::No)?;
    let report = l.verify_audit(anchor).map_err(|e| match e {
        LedgerError::ChainBroken(b) => Failure(format!("audit chain broken: {b}")),
        e => lf(e),
    })?;
    let mut r = Report::default();
    r.field("result", "audit chain intact")
        .field("rows", report.rows)
        .field("head_seq", report.head.seq)
        .field("head_hash", hex(&report.head.hash))
        .field("refusals_recorded", report.refusals)
        .field(
            "anchor",
            anchor.map_or(Value::Null, |h| {
                Value::from(format!("seq {} verified", h.seq))
            }),
        );
    r.print(a.json);
    Ok(())
}

fn anchor(a: &Anchor) -> Result<(), Failure> {
    let mut l = open(&a.store, Create::No)?;
    let head = l.audit_head().map_err(lf)?;
    let line = format!("{ANCHOR_TAG} seq={} hash={}\n", head.seq, hex(&head.hash));
    if a.json {
        println!(
            "{}",
            serde_json::json!({ "seq": head.seq, "hash": hex(&head.hash) })
        );
        return Ok(());
    }
    match &a.output {
        Some(p) => std::fs::write(p, line).ctx(&p.display().to_string()),
        None => {
            print!("{line}");
            Ok(())
        }
    }
}
