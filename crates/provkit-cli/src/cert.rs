//! `provkit cert`: show a certificate in words, verify a chain at a given time, expand a
//! compact device certificate to X.509 and compress one back.

use crate::Failure;
use crate::input::{CertFile, Kind};
use crate::report::{Report, hex};
use crate::time;
use clap::{Args, Subcommand};
use provkit::cert::{self, CaCert, CompactCert, DeviceUsage, X509Cert, key_usage};
use std::io::Write;
use std::path::{Path, PathBuf};
use x509_cert::der::Decode;

/// Certificates: compact device and CA certificates, X.509 DER and PEM.
#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Shows a certificate in words (any form: compact, compact CA, DER, PEM).
    ///
    /// Example: provkit cert show device.bin --issuer factory-ca.pem
    Show(Show),
    /// Verifies a device or CA certificate against a root (through an intermediate) at a
    /// given time. Exit code 0: valid; 1: refused, with the reason.
    ///
    /// Example: provkit cert verify device.bin --root root.pem --intermediate factory-ca.pem --at 2026-01-01
    Verify(Verify),
    /// Expands a compact device certificate into its X.509 certificate (PEM by default).
    ///
    /// Example: provkit cert expand device.bin --issuer factory-ca.pem -o device.pem
    Expand(Expand),
    /// Compresses an X.509 device certificate of provkit's profile into its 111-byte
    /// compact form (refused for any certificate that would not expand back byte for byte).
    ///
    /// Example: provkit cert compress device.pem --issuer factory-ca.pem -o device.bin
    Compress(Compress),
}

/// `cert show`.
#[derive(Debug, Args)]
pub struct Show {
    /// The certificate file.
    file: PathBuf,
    /// The issuing CA certificate: also shows whether it names this issuer, and the
    /// expanded size of a compact certificate.
    #[arg(long)]
    issuer: Option<PathBuf>,
    /// Prints one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// `cert verify`.
#[derive(Debug, Args)]
pub struct Verify {
    /// The certificate to verify: a device certificate (compact or X.509) or a CA.
    file: PathBuf,
    /// The trust anchor.
    #[arg(long)]
    root: PathBuf,
    /// The CA between the root and the certificate, if any.
    #[arg(long)]
    intermediate: Option<PathBuf>,
    /// The time to verify at: YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ or Unix seconds (default:
    /// now).
    #[arg(long)]
    at: Option<String>,
    /// Prints one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// `cert expand`.
#[derive(Debug, Args)]
pub struct Expand {
    /// The compact device certificate.
    file: PathBuf,
    /// The issuing CA certificate.
    #[arg(long)]
    issuer: PathBuf,
    /// Writes DER instead of PEM (needs --output).
    #[arg(long, requires = "output")]
    der: bool,
    /// The file to write (default: PEM to stdout).
    #[arg(long, short)]
    output: Option<PathBuf>,
}

/// `cert compress`.
#[derive(Debug, Args)]
pub struct Compress {
    /// The X.509 device certificate (DER or PEM).
    file: PathBuf,
    /// The issuing CA certificate.
    #[arg(long)]
    issuer: PathBuf,
    /// The file to write the 111 bytes to (default: hex to stdout).
    #[arg(long, short)]
    output: Option<PathBuf>,
}

/// Runs a `cert` command.
///
/// # Errors
/// A [`Failure`] for anything refused.
pub fn run(command: CertCommand) -> Result<(), Failure> {
    match command {
        CertCommand::Show(a) => show(&a),
        CertCommand::Verify(a) => verify(&a),
        CertCommand::Expand(a) => expand(&a),
        CertCommand::Compress(a) => compress(&a),
    }
}

fn show(a: &Show) -> Result<(), Failure> {
    let file = CertFile::read(&a.file)?;
    let issuer = a.issuer.as_deref().map(CertFile::read).transpose()?;
    let issuer_ca = issuer.as_ref().map(CertFile::ca).transpose()?;
    let mut r = Report::default();
    r.field(
        "kind",
        format!(
            "{}{}",
            file.kind.describe(),
            if file.pem { " (PEM)" } else { "" }
        ),
    );
    match file.kind {
        Kind::CompactDevice => show_compact(&file, &file.compact()?, issuer_ca.as_ref(), &mut r)?,
        Kind::CompactCa | Kind::DerCa => show_ca(&file, &file.ca()?, issuer_ca.as_ref(), &mut r)?,
        Kind::DerDevice => show_x509(&file.x509()?, &mut r),
    }
    r.print(a.json);
    Ok(())
}

fn usage_words(usage: DeviceUsage) -> (Vec<&'static str>, Vec<&'static str>) {
    let mut ku = vec!["digitalSignature"];
    if usage.key_agreement {
        ku.push("keyAgreement");
    }
    let mut eku = vec!["clientAuth"];
    if usage.server_auth {
        eku.push("serverAuth");
    }
    (ku, eku)
}

fn show_compact(
    file: &CertFile,
    c: &CompactCert<'_>,
    issuer: Option<&CaCert<'_>>,
    r: &mut Report,
) -> Result<(), Failure> {
    let public = c.public_key().map_err(|e| file.failed(e))?;
    let (ku, eku) = usage_words(c.usage());
    r.field("serial", format!("{:#018x}", c.serial()))
        .field("issuer_key_id", hex(&c.issuer_key_id()))
        .field("not_before", time::format(c.not_before()))
        .field("not_after", "never (9999-12-31T23:59:59Z)")
        .field("key_usage", ku)
        .field("extended_key_usage", eku)
        .field("public_key", hex(&public.to_compressed()))
        .field("signature", hex(&c.signature().0));
    if let Some(ca) = issuer {
        let named = c.issuer_key_id() == ca.short_key_id();
        r.field("issuer", subject(ca.subject_name()))
            .field("issuer_matches", named);
        if named {
            let len = cert::expanded_len(c, ca.as_issuer()).map_err(|e| file.failed(e))?;
            r.field("expanded_der_bytes", len);
        }
    }
    Ok(())
}

fn show_ca(
    file: &CertFile,
    ca: &CaCert<'_>,
    issuer: Option<&CaCert<'_>>,
    r: &mut Report,
) -> Result<(), Failure> {
    let (not_before, not_after) = ca.validity();
    r.field("subject", subject(ca.subject_name()));
    if let Some(x) = ca.x509() {
        r.field("issuer", subject(x.issuer_name()))
            .field("serial", hex(x.serial()));
    }
    r.field("key_id", hex(&ca.short_key_id()))
        .field(
            "path_len",
            ca.path_len()
                .map_or(serde_json::Value::Null, serde_json::Value::from),
        )
        .field("not_before", time::format(not_before))
        .field("not_after", time::format(not_after))
        .field("public_key", hex(&ca.public_key().to_compressed()));
    let mut compact = [0u8; cert::COMPACT_CA_MAX_LEN];
    match ca.write_compact(&mut compact) {
        Ok(n) => r.field("compact_bytes", n),
        Err(e) => r.field("compact_form", format!("none ({e})")),
    };
    if let Some(issuer) = issuer {
        // Signature and names only: validity is `verify`'s question (with a time).
        let signed = cert::verify_ca(issuer, ca, not_before.max(issuer.validity().0));
        r.field(
            "issuer_check",
            signed.map_or_else(|e| format!("refused: {e}"), |()| "signed by it".to_owned()),
        );
    }
    let _ = file;
    Ok(())
}

fn show_x509(x: &X509Cert<'_>, r: &mut Report) {
    let ext = x.extensions();
    let mut ku = Vec::new();
    for (bit, name) in [
        (key_usage::DIGITAL_SIGNATURE, "digitalSignature"),
        (key_usage::KEY_AGREEMENT, "keyAgreement"),
        (key_usage::KEY_CERT_SIGN, "keyCertSign"),
        (key_usage::CRL_SIGN, "cRLSign"),
    ] {
        if ext.key_usage.is_some_and(|m| m & bit != 0) {
            ku.push(name);
        }
    }
    let eku: Vec<&str> = ext
        .ext_key_usage
        .map(|(client, server)| {
            [(client, "clientAuth"), (server, "serverAuth")]
                .into_iter()
                .filter_map(|(on, name)| on.then_some(name))
                .collect()
        })
        .unwrap_or_default();
    r.field("subject", subject(x.subject_name()))
        .field("issuer", subject(x.issuer_name()))
        .field("serial", hex(x.serial()))
        .field("not_before", time::format(x.not_before()))
        .field("not_after", time::format(x.not_after()))
        .field("key_usage", ku)
        .field("extended_key_usage", eku)
        .field("public_key", hex(&x.public_key().to_compressed()))
        .field("der_bytes", x.der().len());
}

/// A DER Name in words (RFC 4514), or its hex when it does not decode.
fn subject(name_der: &[u8]) -> String {
    x509_cert::name::Name::from_der(name_der).map_or_else(
        |_| format!("(undecodable name {})", hex(name_der)),
        |n| n.to_string(),
    )
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn verify(a: &Verify) -> Result<(), Failure> {
    let at = a.at.as_deref().map_or_else(|| Ok(now()), time::parse)?;
    let root_file = CertFile::read(&a.root)?;
    let root = root_file.ca()?;
    let int_file = a.intermediate.as_deref().map(CertFile::read).transpose()?;
    let intermediate = int_file.as_ref().map(CertFile::ca).transpose()?;
    let file = CertFile::read(&a.file)?;
    let mut r = Report::default();
    match file.kind {
        Kind::CompactCa | Kind::DerCa => {
            let ca = file.ca()?;
            if let Some(int) = &intermediate {
                cert::verify_ca(&root, int, at).map_err(|e| refused(&a.intermediate, e))?;
            }
            let issuer = intermediate.as_ref().unwrap_or(&root);
            cert::verify_ca(issuer, &ca, at).map_err(|e| file.failed(e))?;
            r.field("result", "valid")
                .field("kind", file.kind.describe())
                .field("subject", subject(ca.subject_name()));
        }
        Kind::CompactDevice | Kind::DerDevice => {
            let issuer = intermediate.as_ref().unwrap_or(&root);
            let compact = match file.kind {
                Kind::DerDevice => cert::import_x509(&file.bytes, issuer.as_issuer())
                    .map_err(|e| file.failed(e))?,
                _ => *file.compact()?.as_bytes(),
            };
            let c = CompactCert::parse(&compact).map_err(|e| file.failed(e))?;
            let v = cert::verify_device(&root, intermediate.as_ref(), &c, at).map_err(|e| {
                if intermediate.is_some() && matches!(e, provkit::Error::Cert(_)) {
                    // Which link failed: the intermediate's own checks come first.
                    match cert::verify_ca(&root, issuer, at) {
                        Err(ie) => refused(&a.intermediate, ie),
                        Ok(()) => file.failed(e),
                    }
                } else {
                    file.failed(e)
                }
            })?;
            r.field("result", "valid")
                .field("kind", file.kind.describe())
                .field("serial", format!("{:#018x}", v.serial))
                .field("issued_by", subject(issuer.subject_name()));
        }
    }
    r.field("root", subject(root.subject_name()))
        .field("at", time::format(at));
    r.print(a.json);
    Ok(())
}

fn refused(path: &Option<PathBuf>, e: provkit::Error) -> Failure {
    let name = path
        .as_deref()
        .map_or_else(String::new, |p| p.display().to_string());
    Failure(format!("{name}: {e}"))
}

fn expand(a: &Expand) -> Result<(), Failure> {
    let file = CertFile::read(&a.file)?;
    let c = file.compact()?;
    let issuer_file = CertFile::read(&a.issuer)?;
    let issuer = issuer_file.ca()?;
    if c.issuer_key_id() != issuer.short_key_id() {
        return Err(Failure(format!(
            "{}: issued by the CA with key id {}, not {} ({})",
            file.name,
            hex(&c.issuer_key_id()),
            issuer_file.name,
            hex(&issuer.short_key_id())
        )));
    }
    let mut der =
        vec![0u8; cert::expanded_len(&c, issuer.as_issuer()).map_err(|e| file.failed(e))?];
    let n = cert::expand(&c, issuer.as_issuer(), &mut der).map_err(|e| file.failed(e))?;
    der.truncate(n);
    let bytes = if a.der {
        der
    } else {
        cert::to_pem(&der).map_err(|e| file.failed(e))?.into_bytes()
    };
    write_out(a.output.as_deref(), &bytes)
}

fn compress(a: &Compress) -> Result<(), Failure> {
    let file = CertFile::read(&a.file)?;
    let x = file.x509()?;
    let issuer_file = CertFile::read(&a.issuer)?;
    let issuer = issuer_file.ca()?;
    let compact = cert::import_x509(x.der(), issuer.as_issuer()).map_err(|e| file.failed(e))?;
    match &a.output {
        Some(path) => write_out(Some(path), &compact),
        None => write_out(None, format!("{}\n", hex(&compact)).as_bytes()),
    }
}

/// Writes `bytes` to `path` (created or replaced) or to stdout.
fn write_out(path: Option<&Path>, bytes: &[u8]) -> Result<(), Failure> {
    match path {
        Some(p) => std::fs::write(p, bytes).map_err(|e| Failure(format!("{}: {e}", p.display()))),
        None => std::io::stdout()
            .write_all(bytes)
            .map_err(|e| Failure(format!("stdout: {e}"))),
    }
}
