//! `provkit key`: the P-256 service keys a store holds besides the CA (shipment signing,
//! shipment receiving, telemetry), generated in the store from the OS RNG; only their
//! public keys leave it. Also reads public key files for the other commands.

use crate::report::{Report, hex};
use crate::store::{Create, SHIPMENT_RECIPIENT, SHIPMENT_SIGNER, TELEMETRY_KEY};
use crate::{Context, Failure, StoreArgs};
use clap::{Args, Subcommand, ValueEnum};
use provkit::ec::EcPublicKey;
use provkit::envelope::hpke::key_fingerprint;
use provkit::store::{IdentityKeys, KeyId};
use std::path::{Path, PathBuf};

/// A service key's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Role {
    /// The manufacturer's key that signs shipments.
    ShipmentSigner,
    /// The recipient's key that shipments are sealed to (HPKE).
    ShipmentRecipient,
    /// The telemetry server's key that devices seal to (HPKE).
    Telemetry,
}

impl Role {
    /// The store key of the role.
    #[must_use]
    pub const fn key(self) -> KeyId {
        match self {
            Self::ShipmentSigner => SHIPMENT_SIGNER,
            Self::ShipmentRecipient => SHIPMENT_RECIPIENT,
            Self::Telemetry => TELEMETRY_KEY,
        }
    }

    const fn name(self) -> &'static str {
        match self {
            Self::ShipmentSigner => "shipment-signer",
            Self::ShipmentRecipient => "shipment-recipient",
            Self::Telemetry => "telemetry",
        }
    }
}

/// Service keys in a store.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generates a service key in the store (OS RNG; the private key never leaves the
    /// store) and writes its public key (SPKI PEM). Refused if the store already has one.
    ///
    /// Example: PROVKIT_PASSPHRASE=... provkit key create shipment-signer --store sqlite:factory.db -o factory-signer.pem
    Create(KeyCreate),
    /// Writes the public key of a service key (SPKI PEM).
    ///
    /// Example: provkit key export shipment-recipient --store sqlite:authority.db -o authority.pem
    Export(Export),
}

/// `key create`.
#[derive(Debug, Args)]
pub struct KeyCreate {
    /// The key's role.
    role: Role,
    #[command(flatten)]
    store: StoreArgs,
    /// Where to write the public key (SPKI PEM; default: stdout).
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Prints one JSON object instead of a table (with --output).
    #[arg(long, requires = "output")]
    json: bool,
}

/// `key export`.
#[derive(Debug, Args)]
pub struct Export {
    /// The key's role.
    role: Role,
    #[command(flatten)]
    store: StoreArgs,
    /// Where to write the public key (SPKI PEM; default: stdout).
    #[arg(long, short)]
    output: Option<PathBuf>,
}

/// Runs a `key` command.
///
/// # Errors
/// A [`Failure`] for anything refused.
pub fn run(command: KeyCommand) -> Result<(), Failure> {
    match command {
        KeyCommand::Create(a) => {
            let mut store = a.store.open(Create::IfMissing)?;
            if store.has_key(a.role.key())? {
                return Err(Failure(format!(
                    "{}: the store already holds a {} key",
                    a.store.store,
                    a.role.name()
                )));
            }
            let public = store
                .generate_p256(a.role.key(), &mut provkit::rng::OsRng)
                .ctx(&format!("generate the {} key", a.role.name()))?;
            write_public(a.output.as_deref(), &public)?;
            if a.output.is_some() {
                let mut r = Report::default();
                r.field("role", a.role.name())
                    .field("key_id", a.role.key().0)
                    .field("public_key", hex(&public.to_compressed()))
                    .field("fingerprint", hex(&key_fingerprint(&public)));
                r.print(a.json);
            }
            Ok(())
        }
        KeyCommand::Export(a) => {
            let mut store = a.store.open(Create::No)?;
            let public = store.public_key(a.role.key()).ctx(&format!(
                "{}: the {} key",
                a.store.store,
                a.role.name()
            ))?;
            write_public(a.output.as_deref(), &public)
        }
    }
}

fn write_public(path: Option<&Path>, public: &EcPublicKey) -> Result<(), Failure> {
    let pem = public.to_spki_pem();
    match path {
        Some(p) => std::fs::write(p, pem).ctx(&p.display().to_string()),
        None => {
            print!("{pem}");
            Ok(())
        }
    }
}

/// Reads a P-256 public key: SPKI PEM (`PUBLIC KEY`), SPKI DER, SEC1 bytes (33 or 65),
/// or SEC1 as hex text.
///
/// # Errors
/// A [`Failure`] naming the file.
pub fn read_public_key(path: &Path) -> Result<EcPublicKey, Failure> {
    let name = path.display().to_string();
    let raw = std::fs::read(path).ctx(&name)?;
    let text = raw.trim_ascii();
    let is_hex = !text.is_empty()
        && text
            .iter()
            .all(|b| b.is_ascii_hexdigit() || b.is_ascii_whitespace());
    let key = if text.starts_with(b"-----BEGIN ") {
        let pem = std::str::from_utf8(text).ctx(&name)?;
        EcPublicKey::from_spki_pem(pem)
    } else if is_hex {
        let hex = std::str::from_utf8(text).ctx(&name)?;
        EcPublicKey::from_sec1(&crate::secret::hex_secret(hex, &name)?)
    } else if text.first() == Some(&0x30) {
        EcPublicKey::from_spki_der(text)
    } else if matches!(text.len(), 33 | 65) {
        EcPublicKey::from_sec1(text)
    } else {
        return Err(Failure(format!(
            "{name}: not a public key (SPKI PEM or DER, SEC1 bytes or hex)"
        )));
    };
    key.map_err(|e| Failure(format!("{name}: not a P-256 public key ({e})")))
}
