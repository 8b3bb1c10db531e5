//! `provkit`: the operator's command-line tool, on provkit's public API only.
//!
//! - `provkit cert show | verify | expand | compress`: certificates in any form.
//! - `provkit key create | export`: the store's service keys (shipment signing and
//!   receiving, telemetry), generated in the store.
//! - `provkit ca init | export | issue | list`: a root and an intermediate CA whose keys
//!   are generated in the store and never leave it, and the device certificates issued.
//! - `provkit shipment seal | audit | import`: device-key shipment files.
//! - `provkit ledger init | lookup | census | rotate | verify | anchor`: the issuance
//!   ledger and its audit chain.
//! - `provkit kek split | combine`: a ledger KEK under dual control.
//! - `provkit telemetry open`: a device's telemetry message, with the server key in the
//!   store.
//!
//! Stores are named by `--store` (see [`store`] for the forms); passphrases and PINs come
//! from `PROVKIT_PASSPHRASE` / `PROVKIT_PIN` or the terminal, never from the command
//! line.
//!
//! Exit codes: 0 success; 1 refused or a failed check (the reason on stderr, one line);
//! 2 usage error.

mod ca;
mod cert;
mod input;
mod kek;
mod keys;
mod ledger;
mod progress;
mod report;
mod secret;
mod shipment;
mod store;
mod telemetry;
mod time;

use clap::{Args, Parser, Subcommand};
use std::process::ExitCode;

/// A refusal or a failed check: printed as one line on stderr, exit code 1.
#[derive(Debug)]
pub struct Failure(pub String);

/// Adds what was being done to an error, as a [`Failure`].
pub trait Context<T> {
    /// The error, prefixed with `what`.
    ///
    /// # Errors
    /// The [`Failure`].
    fn ctx(self, what: &str) -> Result<T, Failure>;
}

impl<T, E: std::fmt::Display> Context<T> for Result<T, E> {
    fn ctx(self, what: &str) -> Result<T, Failure> {
        self.map_err(|e| Failure(format!("{what}: {e}")))
    }
}

const EXIT_CODES: &str = "Stores: --store sqlite:PATH | postgres://USER@HOST/DB[#SCHEMA] | \
pkcs11:token=LABEL[;module=PATH][;namespace=N] (or PROVKIT_STORE). Passphrases and PINs: \
PROVKIT_PASSPHRASE, PROVKIT_PIN or the terminal; never arguments.\n\n\
Exit codes: 0 success; 1 refused or a failed check (the reason on stderr, one line); 2 usage \
error.";

/// provkit: device certificates, CA, shipments, ledger and keys for operators.
#[derive(Debug, Parser)]
#[command(name = "provkit", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Certificates: show, verify, expand, compress.
    #[command(subcommand)]
    Cert(cert::CertCommand),
    /// Service keys in a store: create one, export its public key.
    #[command(subcommand)]
    Key(keys::KeyCommand),
    /// The CA: a root and an intermediate in a store; issue and list device certificates.
    #[command(subcommand)]
    Ca(ca::CaCommand),
    /// Shipments of device keys: seal, audit, import into the ledger.
    #[command(subcommand)]
    Shipment(shipment::ShipmentCommand),
    /// The issuance ledger: lookup, census, KEK rotation, audit chain.
    #[command(subcommand)]
    Ledger(ledger::LedgerCommand),
    /// The ledger KEK under dual control: split into custodian components, combine.
    #[command(subcommand)]
    Kek(kek::KekCommand),
    /// Telemetry messages: open one with the server key in the store.
    #[command(subcommand)]
    Telemetry(telemetry::TelemetryCommand),
}

/// Where keys (and the ledger) are.
#[derive(Debug, Args)]
pub struct StoreArgs {
    /// The key store: `sqlite:PATH`, `postgres://USER@HOST/DB#SCHEMA` (schema optional)
    /// or `pkcs11:token=LABEL;module=PATH;namespace=N` (module and namespace optional).
    #[arg(long, env = "PROVKIT_STORE", value_name = "SPEC")]
    pub store: String,
}

impl StoreArgs {
    /// The parsed spec.
    ///
    /// # Errors
    /// A [`Failure`] for a malformed spec.
    pub fn spec(&self) -> Result<store::Spec, Failure> {
        store::Spec::parse(&self.store)
    }

    /// Opens the store.
    ///
    /// # Errors
    /// A [`Failure`] as [`store::AnyStore::open`].
    pub fn open(&self, create: store::Create) -> Result<store::AnyStore, Failure> {
        store::AnyStore::open(&self.spec()?, create)
    }
}

/// Where keys and the ledger are.
#[derive(Debug, Args)]
pub struct LedgerArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The ledger database (sqlite:PATH or a postgres URL); default: the store's own.
    #[arg(long, env = "PROVKIT_LEDGER", value_name = "SPEC")]
    ledger: Option<String>,
}

/// The current time, Unix seconds.
#[must_use]
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Cert(c) => cert::run(c),
        Command::Key(c) => keys::run(c),
        Command::Ca(c) => ca::run(c),
        Command::Shipment(c) => shipment::run(c),
        Command::Ledger(c) => ledger::run(c),
        Command::Kek(c) => kek::run(c),
        Command::Telemetry(c) => telemetry::run(c),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message)) => {
            eprintln!("provkit: {message}");
            ExitCode::from(1)
        }
    }
}
