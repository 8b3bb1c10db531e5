//! Secrets the operator gives: store passphrases and PINs (from an environment variable or
//! a terminal prompt, never from the command line) and key components (from the terminal,
//! or from standard input when it is not a terminal).

use crate::Failure;
use std::io::{BufRead, IsTerminal, Write};
use zeroize::Zeroizing;

/// The environment variable a store passphrase is read from.
pub const PASSPHRASE_VAR: &str = "PROVKIT_PASSPHRASE";
/// The environment variable a PKCS#11 user PIN is read from.
pub const PIN_VAR: &str = "PROVKIT_PIN";

/// A secret from the environment variable `var`, or else typed at the terminal (not
/// echoed) after `prompt`; typed twice when `confirm` (a new passphrase).
///
/// # Errors
/// A [`Failure`] when the variable is unset and there is no terminal, when the two
/// entries differ, or when the secret is empty.
pub fn from_env_or_prompt(
    var: &str,
    prompt: &str,
    confirm: bool,
) -> Result<Zeroizing<String>, Failure> {
    if let Some(v) = std::env::var_os(var) {
        let v = Zeroizing::new(
            v.into_string()
                .map_err(|_| Failure(format!("{var} is not valid UTF-8")))?,
        );
        if v.is_empty() {
            return Err(Failure(format!("{var} is empty")));
        }
        return Ok(v);
    }
    if !std::io::stdin().is_terminal() && !std::io::stderr().is_terminal() {
        return Err(Failure(format!(
            "{prompt}: set {var}, or run on a terminal to be asked"
        )));
    }
    let first = Zeroizing::new(
        rpassword::prompt_password(format!("{prompt}: "))
            .map_err(|e| Failure(format!("{prompt}: {e}")))?,
    );
    if first.is_empty() {
        return Err(Failure(format!("{prompt}: empty")));
    }
    if confirm {
        let again = Zeroizing::new(
            rpassword::prompt_password(format!("{prompt} (again): "))
                .map_err(|e| Failure(format!("{prompt}: {e}")))?,
        );
        if *again != *first {
            return Err(Failure(format!("{prompt}: the two entries differ")));
        }
    }
    Ok(first)
}

/// Reads one line of secret input: from the terminal without echo after `prompt` when
/// standard input is a terminal, else the next line of standard input (for scripts and
/// tests). The line is returned without its line ending.
///
/// # Errors
/// A [`Failure`] at the end of input or on a read error.
pub fn read_secret_line(prompt: &str) -> Result<Zeroizing<String>, Failure> {
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password(format!("{prompt}: "))
            .map(Zeroizing::new)
            .map_err(|e| Failure(format!("{prompt}: {e}")));
    }
    let mut line = Zeroizing::new(String::new());
    let n = std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Failure(format!("{prompt}: {e}")))?;
    if n == 0 {
        return Err(Failure(format!("{prompt}: end of input")));
    }
    let trimmed = Zeroizing::new(line.trim_end_matches(['\r', '\n']).to_owned());
    Ok(trimmed)
}

/// Decodes hex (spaces and dashes between groups allowed, as custodians write
/// components) into a zeroizing buffer.
///
/// # Errors
/// A [`Failure`] naming `what` for a non-hex character or an odd number of digits.
pub fn hex_secret(text: &str, what: &str) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let digits: Zeroizing<Vec<u8>> = Zeroizing::new(
        text.bytes()
            .filter(|b| !matches!(b, b' ' | b'-' | b'\t'))
            .collect(),
    );
    if !digits.len().is_multiple_of(2) {
        return Err(Failure(format!("{what}: an odd number of hex digits")));
    }
    let mut out = Zeroizing::new(Vec::with_capacity(digits.len() / 2));
    for pair in digits.chunks_exact(2) {
        let v = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        };
        match (
            pair.first().copied().and_then(v),
            pair.get(1).copied().and_then(v),
        ) {
            (Some(h), Some(l)) => out.push(h << 4 | l),
            _ => return Err(Failure(format!("{what}: not hex"))),
        }
    }
    Ok(out)
}

/// The controlling terminal, to show a secret on (never stdout, never a file).
///
/// # Errors
/// A [`Failure`] when the process has no terminal.
pub fn terminal() -> Result<std::fs::File, Failure> {
    std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| {
            Failure(format!(
                "no terminal to show key components on (/dev/tty: {e})"
            ))
        })
}

/// Writes `text` to the terminal `tty`.
///
/// # Errors
/// A [`Failure`] on a write error.
pub fn tty_write(tty: &mut std::fs::File, text: &str) -> Result<(), Failure> {
    tty.write_all(text.as_bytes())
        .and_then(|()| tty.flush())
        .map_err(|e| Failure(format!("terminal: {e}")))
}

/// Waits for Enter on the terminal `tty`.
///
/// # Errors
/// A [`Failure`] on a read error.
pub fn tty_wait_enter(tty: &mut std::fs::File) -> Result<(), Failure> {
    let mut reader = std::io::BufReader::new(tty);
    let mut line = String::new();
    reader
        .read_line(&mut line)
        .map(|_| ())
        .map_err(|e| Failure(format!("terminal: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_with_groups() {
        assert_eq!(
            hex_secret("0a1B 2c-3d", "x").unwrap().as_slice(),
            &[0x0a, 0x1b, 0x2c, 0x3d]
        );
        assert!(hex_secret("abc", "x").is_err());
        assert!(hex_secret("zz", "x").is_err());
    }
}
