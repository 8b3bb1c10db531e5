//! `provkit`: the operator's command-line tool, on provkit's public API only.
//!
//! Today it covers certificates (`provkit cert show | verify | expand | compress`); the CA,
//! shipment, ledger, key-custodian and telemetry commands of issue #19 come next.
//!
//! Exit codes: 0 success; 1 refused or a failed check (the reason on stderr, one line);
//! 2 usage error.

mod cert;
mod input;
mod report;
mod time;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// A refusal or a failed check: printed as one line on stderr, exit code 1.
#[derive(Debug)]
pub struct Failure(pub String);

const EXIT_CODES: &str = "Exit codes: 0 success; 1 refused or a failed check (the reason on \
                          stderr, one line); 2 usage error.";

/// provkit: device certificates for operators.
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Cert(c) => cert::run(c),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message)) => {
            eprintln!("provkit: {message}");
            ExitCode::from(1)
        }
    }
}
