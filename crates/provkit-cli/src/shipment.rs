//! `provkit shipment`: seal device keys into a signed, encrypted shipment file
//! (manufacturer), audit one without opening it, and import one into the ledger
//! (recipient), with every key re-wrapped under the ledger's KEK.

use crate::keys::read_public_key;
use crate::ledger::open_with;
use crate::progress::{Counting, bar};
use crate::report::{Report, hex};
use crate::secret::hex_secret;
use crate::store::{Create, SHIPMENT_RECIPIENT, SHIPMENT_SIGNER};
use crate::{Context, Failure, LedgerArgs, StoreArgs, now};
use clap::{Args, Subcommand};
use provkit::envelope::hpke::key_fingerprint;
use provkit::envelope::shipment::{
    DeviceKeyRecord, KeyUsageCode, MAX_RECORDS_PER_CHUNK, ShipmentParams, ShipmentWriter,
    audit_shipment, chunk_buffer_len,
};
use provkit::secret::SecretBuf;
use provkit::store::IdentityKeys;
use provkit_ledger::LedgerError;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use zeroize::{Zeroize, Zeroizing};

/// Shipments.
#[derive(Debug, Subcommand)]
pub enum ShipmentCommand {
    /// Seals device keys into a shipment file for one recipient, signed with the
    /// store's shipment-signer key. Input: CSV (`serial,key[,key_id[,usage]]`, an
    /// optional header line naming those columns) or JSON (an array of objects with
    /// `serial`, `key`, and optionally `key_id` and `usage`); `key` is the AES key in hex
    /// (16, 24 or 32 bytes); serials are decimal or 0x hex; `key_id` defaults to the
    /// serial, `usage` to B1 (initial DUKPT key). The output file appears only when
    /// sealing succeeded.
    ///
    /// Example: provkit shipment seal keys.csv --store sqlite:factory.db --recipient authority.pem --manufacturer-id "Example Devices" --batch-id batch-0001 -o batch-0001.pksh
    Seal(Seal),
    /// Verifies a shipment's signatures and length without opening it (no recipient key
    /// needed): for an auditor, a relay, an archive.
    ///
    /// Example: provkit shipment audit batch-0001.pksh --manufacturer factory-signer.pem
    Audit(Audit),
    /// Verifies a shipment, opens it with the store's shipment-recipient key and imports
    /// its keys into the ledger, each re-wrapped under the ledger's KEK. Idempotent: the
    /// same file again changes nothing. A truncated or tampered file is refused before
    /// the ledger is touched.
    ///
    /// Example: provkit shipment import batch-0001.pksh --manufacturer factory-signer.pem --store sqlite:authority.db
    Import(Import),
}

/// `shipment seal`.
#[derive(Debug, Args)]
pub struct Seal {
    /// The CSV or JSON file of serials and keys.
    input: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
    /// The recipient's public key (SPKI PEM or DER, SEC1).
    #[arg(long)]
    recipient: PathBuf,
    /// The manufacturer id (up to 16 bytes of text).
    #[arg(long)]
    manufacturer_id: String,
    /// The batch id (up to 16 bytes of text), unique per file.
    #[arg(long)]
    batch_id: String,
    /// Records per chunk (1 to 4096).
    #[arg(long, default_value_t = 256)]
    records_per_chunk: u16,
    /// The shipment file to write.
    #[arg(long, short)]
    output: PathBuf,
    /// Prints one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// `shipment audit`.
#[derive(Debug, Args)]
pub struct Audit {
    /// The shipment file.
    file: PathBuf,
    /// The manufacturer's public signing key.
    #[arg(long)]
    manufacturer: PathBuf,
    /// Prints one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// `shipment import`.
#[derive(Debug, Args)]
pub struct Import {
    /// The shipment file.
    file: PathBuf,
    /// The manufacturer's public signing key.
    #[arg(long)]
    manufacturer: PathBuf,
    #[command(flatten)]
    store: LedgerArgs,
    /// Prints one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs a `shipment` command.
///
/// # Errors
/// A [`Failure`] for anything refused.
pub fn run(command: ShipmentCommand) -> Result<(), Failure> {
    match command {
        ShipmentCommand::Seal(a) => seal(&a),
        ShipmentCommand::Audit(a) => audit(&a),
        ShipmentCommand::Import(a) => import(&a),
    }
}

/// A 16-byte id from text (zero-padded).
fn id16(text: &str, what: &str) -> Result<[u8; 16], Failure> {
    let b = text.as_bytes();
    if b.is_empty() || b.len() > 16 {
        return Err(Failure(format!("{what}: 1 to 16 bytes, not {}", b.len())));
    }
    let mut out = [0u8; 16];
    out.get_mut(..b.len())
        .ok_or_else(|| Failure(format!("{what}: too long")))?
        .copy_from_slice(b);
    Ok(out)
}

/// Text of a 16-byte id (its hex when it is not printable).
fn id_text(b: &[u8; 16]) -> String {
    let trimmed: &[u8] = {
        let end = b.iter().rposition(|c| *c != 0).map_or(0, |i| i + 1);
        b.get(..end).unwrap_or(b)
    };
    if trimmed.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
        String::from_utf8_lossy(trimmed).into_owned()
    } else {
        hex(b)
    }
}

/// One input row: a device key to seal.
struct Row {
    serial: u64,
    key_id: u64,
    usage: KeyUsageCode,
    key: SecretBuf<32>,
}

fn parse_u64(text: &str, what: &str) -> Result<u64, Failure> {
    crate::ca::parse_serial(text.trim()).map_err(|e| Failure(format!("{what}: {e}")))
}

fn usage(text: &str, what: &str) -> Result<KeyUsageCode, Failure> {
    let b: [u8; 2] = text.trim().as_bytes().try_into().map_err(|_| {
        Failure(format!(
            "{what}: a key usage is 2 characters (B1, K0, D0, ...)"
        ))
    })?;
    Ok(KeyUsageCode(b))
}

fn key_of(text: &str, what: &str) -> Result<SecretBuf<32>, Failure> {
    let bytes = hex_secret(text.trim(), what)?;
    if !matches!(bytes.len(), 16 | 24 | 32) {
        return Err(Failure(format!(
            "{what}: an AES key is 16, 24 or 32 bytes, not {}",
            bytes.len()
        )));
    }
    SecretBuf::from_slice(&bytes).map_err(|e| Failure(format!("{what}: {e}")))
}

fn read_csv(name: &str, text: &str) -> Result<Vec<Row>, Failure> {
    let mut rows = Vec::new();
    let mut columns: [usize; 4] = [0, 1, 2, 3];
    for (i, line) in text.lines().enumerate() {
        let at = format!("{name}:{}", i + 1);
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if rows.is_empty() && cells.contains(&"serial") {
            let find = |n: &str| cells.iter().position(|c| *c == n);
            let (Some(s), Some(k)) = (find("serial"), find("key")) else {
                return Err(Failure(format!(
                    "{at}: the header needs serial and key columns"
                )));
            };
            columns = [
                s,
                k,
                find("key_id").unwrap_or(usize::MAX),
                find("usage").unwrap_or(usize::MAX),
            ];
            continue;
        }
        let cell = |c: usize| cells.get(c).copied().filter(|v| !v.is_empty());
        let [s, k, kid, u] = columns;
        let serial = parse_u64(
            cell(s).ok_or_else(|| Failure(format!("{at}: no serial")))?,
            &at,
        )?;
        let key = key_of(
            cell(k).ok_or_else(|| Failure(format!("{at}: no key")))?,
            &at,
        )?;
        let key_id = cell(kid).map_or(Ok(serial), |v| parse_u64(v, &at))?;
        let usage = cell(u).map_or(Ok(KeyUsageCode::INITIAL_DUKPT), |v| usage(v, &at))?;
        rows.push(Row {
            serial,
            key_id,
            usage,
            key,
        });
    }
    Ok(rows)
}

fn read_json(name: &str, text: &str) -> Result<Vec<Row>, Failure> {
    let mut value: Value =
        serde_json::from_str(text).map_err(|e| Failure(format!("{name}: {e}")))?;
    let result = (|| {
        let items = value
            .as_array()
            .ok_or_else(|| Failure(format!("{name}: expected a JSON array of objects")))?;
        let mut rows = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let at = format!("{name}[{i}]");
            let num = |field: &str| -> Result<Option<u64>, Failure> {
                match item.get(field) {
                    None | Some(Value::Null) => Ok(None),
                    Some(Value::Number(n)) => n
                        .as_u64()
                        .filter(|v| *v != 0)
                        .map(Some)
                        .ok_or_else(|| Failure(format!("{at}.{field}: a positive integer"))),
                    Some(Value::String(s)) => parse_u64(s, &format!("{at}.{field}")).map(Some),
                    Some(_) => Err(Failure(format!("{at}.{field}: a number or a string"))),
                }
            };
            let serial = num("serial")?.ok_or_else(|| Failure(format!("{at}: no serial")))?;
            let key = key_of(
                item.get("key")
                    .and_then(Value::as_str)
                    .ok_or_else(|| Failure(format!("{at}: no key (hex string)")))?,
                &format!("{at}.key"),
            )?;
            let key_id = num("key_id")?.unwrap_or(serial);
            let usage = match item.get("usage").and_then(Value::as_str) {
                Some(u) => usage(u, &format!("{at}.usage"))?,
                None => KeyUsageCode::INITIAL_DUKPT,
            };
            rows.push(Row {
                serial,
                key_id,
                usage,
                key,
            });
        }
        Ok(rows)
    })();
    scrub(&mut value);
    result
}

/// Zeroizes every string in a parsed JSON document (the keys were hex strings).
fn scrub(v: &mut Value) {
    match v {
        Value::String(s) => s.zeroize(),
        Value::Array(items) => items.iter_mut().for_each(scrub),
        Value::Object(map) => map.values_mut().for_each(scrub),
        _ => {}
    }
}

fn read_rows(path: &Path) -> Result<Vec<Row>, Failure> {
    let name = path.display().to_string();
    let raw = Zeroizing::new(std::fs::read(path).ctx(&name)?);
    let text = std::str::from_utf8(&raw).map_err(|_| Failure(format!("{name}: not UTF-8 text")))?;
    let mut rows = if text.trim_start().starts_with('[') {
        read_json(&name, text)?
    } else {
        read_csv(&name, text)?
    };
    if rows.is_empty() {
        return Err(Failure(format!("{name}: no device keys")));
    }
    rows.sort_by_key(|r| r.serial);
    for pair in rows.windows(2) {
        if let [a, b] = pair {
            if a.serial == b.serial {
                return Err(Failure(format!(
                    "{name}: serial {:#018x} appears twice",
                    a.serial
                )));
            }
        }
    }
    Ok(rows)
}

fn seal(a: &Seal) -> Result<(), Failure> {
    if !(1..=MAX_RECORDS_PER_CHUNK).contains(&a.records_per_chunk) {
        return Err(Failure(format!(
            "--records-per-chunk: 1 to {MAX_RECORDS_PER_CHUNK}"
        )));
    }
    let manufacturer_id = id16(&a.manufacturer_id, "--manufacturer-id")?;
    let batch_id = id16(&a.batch_id, "--batch-id")?;
    let recipient = read_public_key(&a.recipient)?;
    let rows = read_rows(&a.input)?;
    let count = u32::try_from(rows.len()).map_err(|_| Failure("too many records".into()))?;
    let mut store = a.store.open(Create::No)?;
    let signer = store
        .public_key(SHIPMENT_SIGNER)
        .ctx(&format!("{}: the shipment-signer key", a.store.store))?;
    let params = ShipmentParams::new(manufacturer_id, batch_id, count)
        .with_records_per_chunk(a.records_per_chunk);
    let mut chunk = Zeroizing::new(vec![0u8; chunk_buffer_len(a.records_per_chunk)]);
    let mut rng = provkit::rng::OsRng;
    // Written next to the output and renamed at the end: a refusal leaves no file.
    let tmp = a.output.with_extension("partial");
    let out_name = a.output.display().to_string();
    let result = (|| -> Result<u64, Failure> {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&tmp).ctx(&out_name)?);
        let (mut writer, header) = ShipmentWriter::new(
            &mut store,
            SHIPMENT_SIGNER,
            &recipient,
            &params,
            &mut chunk,
            &mut rng,
        )
        .ctx("shipment header")?;
        out.write_all(&header).ctx(&out_name)?;
        let progress = bar("sealing", u64::from(count), false);
        for (i, row) in rows.iter().enumerate() {
            let record = DeviceKeyRecord::new(row.serial, row.key_id, row.usage, &row.key)
                .ctx(&format!("record {}", i + 1))?;
            if let Some(c) = writer.push(&record).ctx(&format!("record {}", i + 1))? {
                out.write_all(c).ctx(&out_name)?;
            }
            progress.inc(1);
        }
        let trailer = writer.finish(&mut store).ctx("shipment trailer")?;
        out.write_all(&trailer).ctx(&out_name)?;
        out.flush().ctx(&out_name)?;
        out.get_ref().sync_all().ctx(&out_name)?;
        progress.finish_and_clear();
        std::fs::metadata(&tmp).map(|m| m.len()).ctx(&out_name)
    })();
    let size = match result {
        Ok(size) => size,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, &a.output).ctx(&out_name)?;
    let mut r = Report::default();
    r.field("output", out_name)
        .field("records", count)
        .field("bytes", size)
        .field("manufacturer_id", id_text(&manufacturer_id))
        .field("batch_id", id_text(&batch_id))
        .field("signer_fingerprint", hex(&key_fingerprint(&signer)))
        .field("recipient_fingerprint", hex(&key_fingerprint(&recipient)));
    r.print(a.json);
    Ok(())
}

/// Reads a shipment and verifies it without opening it.
fn read_verified(
    file: &Path,
    manufacturer: &Path,
) -> Result<(Vec<u8>, provkit::envelope::shipment::ShipmentHeader), Failure> {
    let manufacturer = read_public_key(manufacturer)?;
    let name = file.display().to_string();
    let bytes = std::fs::read(file).ctx(&name)?;
    let header = audit_shipment(&bytes, &manufacturer)
        .map_err(|e| Failure(format!("{name}: refused: {e}")))?;
    Ok((bytes, header))
}

fn audit(a: &Audit) -> Result<(), Failure> {
    let (bytes, h) = read_verified(&a.file, &a.manufacturer)?;
    let mut r = Report::default();
    r.field("result", "signatures valid, file complete")
        .field("manufacturer_id", id_text(&h.manufacturer_id))
        .field("batch_id", id_text(&h.batch_id))
        .field("records", h.record_count)
        .field("records_per_chunk", h.records_per_chunk)
        .field("chunks", h.chunk_count())
        .field("bytes", bytes.len())
        .field("recipient_fingerprint", hex(&h.recipient_key));
    r.print(a.json);
    Ok(())
}

fn import(a: &Import) -> Result<(), Failure> {
    // Verified whole before the ledger is opened: a truncated or tampered file changes
    // nothing, not even the audit log.
    let (bytes, header) = read_verified(&a.file, &a.manufacturer)?;
    let manufacturer = read_public_key(&a.manufacturer)?;
    let store = a.store.store.open(Create::No)?;
    let mut l = open_with(store, &a.store, Create::No)?;
    let recipient = l.keys_mut().public_key(SHIPMENT_RECIPIENT).ctx(&format!(
        "{}: the shipment-recipient key",
        a.store.store.store
    ))?;
    if key_fingerprint(&recipient) != header.recipient_key {
        return Err(Failure(format!(
            "{}: sealed to another recipient (key fingerprint {}), not this store's ({})",
            a.file.display(),
            hex(&header.recipient_key),
            hex(&key_fingerprint(&recipient))
        )));
    }
    let t = now();
    let progress = bar("importing", bytes.len() as u64, true);
    let input = Counting {
        inner: bytes.as_slice(),
        bar: progress.clone(),
    };
    let report = match l.import(SHIPMENT_RECIPIENT, &manufacturer, input, t) {
        Ok(r) => r,
        Err(e) => {
            progress.finish_and_clear();
            if let LedgerError::ShipmentRejected { batch_id, .. } = &e {
                // Nothing stays staged from a file that failed.
                let _ = l.abandon_import(batch_id, t);
            }
            return Err(Failure(format!("{}: refused: {e}", a.file.display())));
        }
    };
    progress.finish_and_clear();
    let refused: Vec<String> = report
        .refused
        .iter()
        .map(|r| format!("{:#018x} {:?}", r.serial, r.reason))
        .collect();
    let mut r = Report::default();
    r.field(
        "result",
        if report.already_imported {
            "already imported: nothing changed"
        } else {
            "imported"
        },
    )
    .field("batch_id", id_text(&report.batch_id))
    .field("records", report.records)
    .field("imported", report.promoted)
    .field("refused", refused)
    .field(
        "transcript",
        report
            .transcript_hash
            .map_or(Value::Null, |h| Value::from(hex(&h))),
    );
    r.print(a.json);
    Ok(())
}
