//! `provkit telemetry`: opens a device's telemetry message with the server key held in
//! the store (by handle), checking the device's signature against its certificate.

use crate::input::{CertFile, Kind};
use crate::report::{Report, hex};
use crate::store::{Create, TELEMETRY_KEY};
use crate::{Context, Failure, StoreArgs, now};
use clap::{Args, Subcommand};
use provkit::cert::{self, CompactCert};
use provkit::envelope::telemetry::{TelemetryHeader, open_telemetry};
use std::path::PathBuf;

/// Telemetry.
#[derive(Debug, Subcommand)]
pub enum TelemetryCommand {
    /// Opens a telemetry message with the store's telemetry key. A signed message needs
    /// the device's certificate (compact or X.509) and its issuing CA, which verifies it;
    /// the certificate's serial must be the message's. Refused (exit 1, no payload) for
    /// anything altered, a message to another server, or another device's signature.
    ///
    /// Example: provkit telemetry open reading.bin --store sqlite:server.db --device-cert device.bin --issuer intermediate.pem -o reading.json
    Open(Open),
}

/// `telemetry open`.
#[derive(Debug, Args)]
pub struct Open {
    /// The message file.
    file: PathBuf,
    #[command(flatten)]
    store: StoreArgs,
    /// The device's certificate (required for a signed message).
    #[arg(long, requires = "issuer")]
    device_cert: Option<PathBuf>,
    /// The CA that issued the device certificate.
    #[arg(long)]
    issuer: Option<PathBuf>,
    /// Where to write the payload (default: shown as hex).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Prints one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs a `telemetry` command.
///
/// # Errors
/// A [`Failure`] for anything refused.
pub fn run(command: TelemetryCommand) -> Result<(), Failure> {
    match command {
        TelemetryCommand::Open(a) => open(&a),
    }
}

fn open(a: &Open) -> Result<(), Failure> {
    let name = a.file.display().to_string();
    let mut message = std::fs::read(&a.file).ctx(&name)?;
    let header = TelemetryHeader::parse(&message).ctx(&name)?;
    let device = match (&a.device_cert, &a.issuer) {
        (Some(cert_path), Some(issuer_path)) => {
            let issuer_file = CertFile::read(issuer_path)?;
            let issuer = issuer_file.ca()?;
            let file = CertFile::read(cert_path)?;
            let compact = match file.kind {
                Kind::DerDevice => cert::import_x509(&file.bytes, issuer.as_issuer())
                    .map_err(|e| file.failed(e))?,
                _ => *file.compact()?.as_bytes(),
            };
            let c = CompactCert::parse(&compact).map_err(|e| file.failed(e))?;
            let v = cert::verify_issued(&issuer, &c, now()).map_err(|e| file.failed(e))?;
            if v.serial != header.serial {
                return Err(Failure(format!(
                    "{name}: from device {:#018x}, but the certificate is device {:#018x}'s",
                    header.serial, v.serial
                )));
            }
            Some(v.public_key)
        }
        _ => None,
    };
    if header.signed && device.is_none() {
        return Err(Failure(format!(
            "{name}: signed by device {:#018x}: give its certificate (--device-cert, --issuer)",
            header.serial
        )));
    }
    let mut store = a.store.open(Create::No)?;
    let payload = open_telemetry(&mut store, TELEMETRY_KEY, device.as_ref(), &mut message)
        .map_err(|e| Failure(format!("{name}: refused: {e}")))?;
    let mut r = Report::default();
    r.field("serial", format!("{:#018x}", header.serial))
        .field("signed", header.signed)
        .field("payload_bytes", payload.len());
    match &a.output {
        Some(p) => std::fs::write(p, &*payload).ctx(&p.display().to_string())?,
        None => {
            r.field("payload_hex", hex(payload));
        }
    }
    r.print(a.json);
    Ok(())
}
