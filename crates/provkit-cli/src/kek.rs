//! `provkit kek`: the ledger KEK under dual control (split knowledge). `split` makes a
//! fresh KEK directly as N components and shows each custodian only their component and
//! its KCV, on the terminal alone; `combine` takes the components back from the
//! custodians, checks each one's KCV as it is entered and the whole key's KCV, and
//! imports the key straight into the store as a ledger KEK version.

use crate::report::Report;
use crate::secret::{hex_secret, read_secret_line, terminal, tty_wait_enter, tty_write};
use crate::store::{Create, MAX_KEK_VERSION, kek_key};
use crate::{Context, Failure, StoreArgs};
use clap::{Args, Subcommand};
use provkit::envelope::{Kcv, KeyComponent, combine_into_store, generate_split_key};
use provkit::store::{KeyId, KeyKind, MemoryStore};
use std::fmt::Write as _;
use std::io::{BufRead, IsTerminal, Write};
use zeroize::Zeroizing;

/// Dual-control KEKs.
#[derive(Debug, Subcommand)]
pub enum KekCommand {
    /// Generates a KEK as N components (2 to 9) and shows them one at a time, each
    /// custodian alone at the terminal, with its KCV; the screen is cleared after each.
    /// Components go to the terminal only (never stdout, a file or a log); stdout gets
    /// the KCVs, which are public, for the ceremony record. Needs a terminal.
    ///
    /// Example: provkit kek split --components 3
    Split(Split),
    /// Combines N components into a ledger KEK version in the store. Each custodian
    /// types their component (not echoed) and its KCV; each KCV is checked as it is
    /// entered and the combined key's against --kcv, before anything is imported.
    /// Without a terminal, reads "COMPONENT" and "KCV" lines alternately from stdin
    /// (for scripts and tests).
    ///
    /// Example: provkit kek combine --components 3 --kcv 0a1b2c3d4e --store sqlite:authority.db
    Combine(Combine),
}

/// `kek split`.
#[derive(Debug, Args)]
pub struct Split {
    /// How many custodians (2 to 9).
    #[arg(long, value_parser = clap::value_parser!(u8).range(2..=9))]
    components: u8,
    /// Prints one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// `kek combine`.
#[derive(Debug, Args)]
pub struct Combine {
    #[command(flatten)]
    store: StoreArgs,
    /// How many components (2 to 9).
    #[arg(long, value_parser = clap::value_parser!(u8).range(2..=9))]
    components: u8,
    /// The whole key's KCV, recorded by `kek split`.
    #[arg(long)]
    kcv: String,
    /// The ledger KEK version to import as (default: one above the highest in the store).
    #[arg(long)]
    version: Option<u32>,
    /// Prints one JSON object instead of a table.
    #[arg(long)]
    json: bool,
}

/// Runs a `kek` command.
///
/// # Errors
/// A [`Failure`] for anything refused.
pub fn run(command: KekCommand) -> Result<(), Failure> {
    match command {
        KekCommand::Split(a) => split(&a),
        KekCommand::Combine(a) => combine(&a),
    }
}

fn make<const N: usize>() -> Result<(Vec<KeyComponent>, Kcv), Failure> {
    let split =
        generate_split_key::<N, _>(KeyKind::Aes256, &mut provkit::rng::OsRng).ctx("split key")?;
    Ok((split.components.into_iter().collect(), split.kcv))
}

const CLEAR: &str = "\x1b[2J\x1b[3J\x1b[H";

fn split(a: &Split) -> Result<(), Failure> {
    let mut tty = terminal()?;
    let (components, kcv) = match a.components {
        2 => make::<2>(),
        3 => make::<3>(),
        4 => make::<4>(),
        5 => make::<5>(),
        6 => make::<6>(),
        7 => make::<7>(),
        8 => make::<8>(),
        _ => make::<9>(),
    }?;
    let n = components.len();
    for (i, c) in components.iter().enumerate() {
        tty_write(
            &mut tty,
            &format!(
                "{CLEAR}Key component {} of {n}.\nCustodian {}: press Enter when you alone \
                 can see this screen.\n",
                i + 1,
                i + 1
            ),
        )?;
        tty_wait_enter(&mut tty)?;
        // The component is formatted straight into one zeroizing buffer: no copy of it
        // is left in memory once it has been shown.
        let mut text = Zeroizing::new(String::with_capacity(256));
        let shown = (|| -> std::fmt::Result {
            write!(text, "\n  component {}: ", i + 1)?;
            for (j, b) in c.dangerous_expose().iter().enumerate() {
                if j > 0 && j % 4 == 0 {
                    text.push(' ');
                }
                write!(text, "{b:02X}")?;
            }
            write!(
                text,
                "\n  its KCV:     {}\n\nWrite both down, then press Enter to clear the \
                 screen.\n",
                c.kcv()
            )
        })();
        shown.map_err(|_| Failure("formatting a component".into()))?;
        tty_write(&mut tty, &text)?;
        tty_wait_enter(&mut tty)?;
        tty_write(&mut tty, CLEAR)?;
    }
    let mut r = Report::default();
    r.field("components", n)
        .field("key_kind", "AES-256")
        .field("kcv", kcv.to_string())
        .field(
            "component_kcvs",
            components
                .iter()
                .map(|c| c.kcv().to_string())
                .collect::<Vec<_>>(),
        );
    r.print(a.json);
    Ok(())
}

fn parse_kcv(text: &str, what: &str) -> Result<Kcv, Failure> {
    let bytes = hex_secret(text.trim(), what)?;
    let arr: [u8; 5] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| Failure(format!("{what}: a KCV is 5 bytes (10 hex digits)")))?;
    Ok(Kcv(arr))
}

/// A KCV line: echoed at a terminal (it is public), else the next stdin line.
fn read_kcv_line(prompt: &str) -> Result<String, Failure> {
    if std::io::stdin().is_terminal() {
        eprint!("{prompt}: ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    let n = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure(format!("{prompt}: {e}")))?;
    if n == 0 {
        return Err(Failure(format!("{prompt}: end of input")));
    }
    Ok(line.trim().to_owned())
}

fn combine(a: &Combine) -> Result<(), Failure> {
    let expected = parse_kcv(&a.kcv, "--kcv")?;
    let n = usize::from(a.components);
    let mut components = Vec::with_capacity(n);
    for i in 1..=n {
        let line = read_secret_line(&format!("component {i} of {n}"))?;
        let bytes = hex_secret(&line, &format!("component {i}"))?;
        let kcv = parse_kcv(
            &read_kcv_line(&format!("KCV of component {i}"))?,
            &format!("KCV of component {i}"),
        )?;
        let c = KeyComponent::from_custodian(&bytes, &kcv).map_err(|e| {
            Failure(format!(
                "component {i}: {e} (mistyped component or KCV); nothing imported"
            ))
        })?;
        components.push(c);
    }
    let kind = components
        .first()
        .and_then(|c| KeyKind::aes_for_len(c.len()))
        .ok_or_else(|| Failure("components are not AES keys".into()))?;
    // The combination is checked first in a throwaway in-memory store, and the store
    // opened only then: a refusal leaves no trace.
    combine_into_store(
        &mut MemoryStore::<1, 0, 0>::new(),
        KeyId(1),
        kind,
        &components,
        &expected,
    )
    .map_err(|e| {
        Failure(format!(
            "combined key: {e} (its KCV is not {expected}); nothing imported"
        ))
    })?;
    let mut store = a.store.open(Create::IfMissing)?;
    let versions = store.kek_versions()?;
    let version = match a.version {
        Some(v) => v,
        None => versions.last().map_or(1, |v| v + 1),
    };
    if !(1..=MAX_KEK_VERSION).contains(&version) {
        return Err(Failure(format!("--version: 1 to {MAX_KEK_VERSION}")));
    }
    if versions.contains(&version) {
        return Err(Failure(format!(
            "{}: already holds KEK version {version}",
            a.store.store
        )));
    }
    combine_into_store(&mut store, kek_key(version), kind, &components, &expected).map_err(
        |e| {
            Failure(format!(
                "combined key: {e} (its KCV is not {expected}); nothing imported"
            ))
        },
    )?;
    let mut r = Report::default();
    r.field("store", a.store.store.as_str())
        .field("kek_version", version)
        .field("key_kind", format!("{kind:?}"))
        .field("kcv", expected.to_string());
    r.print(a.json);
    Ok(())
}
