//! The operator scenario with every key in a SoftHSM2 token (PKCS#11) and the ledger's
//! rows in SQLite (`--ledger`). The token is made for the test in a temp directory of its
//! own (`SOFTHSM2_CONF` is given to each `provkit` process, never set in this one); the
//! PIN reaches `provkit` through `PROVKIT_PIN`. Without SoftHSM2 the test fails with the
//! install command, as provkit-pkcs11's tests do.

mod support;

use std::process::Command;
use support::{Env, scenario};

const TOKEN: &str = "provkit-cli";
const PIN: &str = "246810";

fn module() -> std::path::PathBuf {
    provkit_pkcs11::config::default_module()
}

#[test]
fn full_scenario_on_softhsm() {
    let module = module();
    assert!(
        module.exists(),
        "SoftHSM2 is not installed (no PKCS#11 module at {}): run `apt-get install -y softhsm2` \
         (or scripts/test, which installs it), or set PROVKIT_PKCS11_MODULE",
        module.display()
    );
    let mut env = Env::new("pkcs11");
    let tokens = env.path("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = env.path("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    let init = Command::new("softhsm2-util")
        .args([
            "--init-token",
            "--free",
            "--label",
            TOKEN,
            "--so-pin",
            "13579135",
            "--pin",
            PIN,
        ])
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .expect("softhsm2-util (package softhsm2)");
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    env.vars
        .push(("SOFTHSM2_CONF".into(), conf.display().to_string()));
    env.vars.push(("PROVKIT_PIN".into(), PIN.into()));
    let spec = format!("pkcs11:token={TOKEN};module={}", module.display());

    // A PKCS#11 store keeps no ledger rows: refused without --ledger.
    let e = env.refused(&["ledger", "init", "--store", &spec]);
    assert!(e.contains("--ledger"), "{e}");
    // A wrong PIN is refused.
    let mut wrong = Env::new("pkcs11-wrong");
    wrong.vars = vec![
        ("SOFTHSM2_CONF".into(), conf.display().to_string()),
        ("PROVKIT_PIN".into(), "000000".into()),
    ];
    wrong.refused(&["ca", "list", "--store", &spec]);

    scenario(&env, &["--store", &spec], &["--ledger", "sqlite:ledger.db"]);
}
