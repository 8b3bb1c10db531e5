//! The README's operator walkthrough, run exactly as written: the lines of the shell
//! block between the `walkthrough` markers, in one `sh -e` in a temp directory, with the
//! `provkit` under test first on PATH. So the walkthrough cannot drift from the tool.
//!
//! Left out of the published crate (its `include`): the README is the workspace's.

use std::path::{Path, PathBuf};
use std::process::Command;

fn walkthrough() -> String {
    let readme = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    let text = std::fs::read_to_string(&readme).unwrap();
    let (_, rest) = text
        .split_once("<!-- walkthrough:begin -->")
        .expect("README.md has a walkthrough:begin marker");
    let (block, _) = rest
        .split_once("<!-- walkthrough:end -->")
        .expect("README.md has a walkthrough:end marker");
    let block = block.trim();
    let body = block
        .strip_prefix("```sh")
        .and_then(|b| b.strip_suffix("```"))
        .expect("the walkthrough is one ```sh block");
    body.trim().to_owned()
}

#[test]
fn readme_walkthrough_runs_as_written() {
    let script = walkthrough();
    let commands: Vec<&str> = script
        .lines()
        .filter(|l| l.starts_with("provkit "))
        .collect();
    assert!(commands.len() >= 10, "{script}");
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_provkit"))
        .parent()
        .unwrap()
        .to_owned();
    let dir = std::env::temp_dir().join(format!("provkit-cli-readme-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let output = Command::new("sh")
        .args(["-e", "-c", &script])
        .current_dir(&dir)
        .env("PATH", path)
        .env_remove("PROVKIT_PASSPHRASE")
        .env_remove("PROVKIT_STORE")
        .env_remove("PROVKIT_LEDGER")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        output.status.success(),
        "the README walkthrough failed:\n{stdout}\n{stderr}"
    );
    // What each step printed: the certificate verified, the shipment audited and
    // imported, the lookup, the rotation, the census and the audit chain.
    for expected in [
        "result     valid",
        "signatures valid, file complete",
        "imported    1",
        "shipment batch       batch-0001",
        "rewrapped         1",
        "retired versions  1",
        "ledger  2        1",
        "audit chain intact",
        "anchor             seq ",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
}
