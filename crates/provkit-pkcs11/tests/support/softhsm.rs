//! A SoftHSM2 token per test, in its own token directory.
//!
//! SoftHSM2 reads `SOFTHSM2_CONF` when the module is initialised, once per process, and
//! setting an environment variable inside a running multi-threaded test binary is
//! `unsafe` (forbidden in this workspace). So each test re-runs *itself* in a child
//! process of the same test binary (`<binary> <test name> --exact`) with
//! `SOFTHSM2_CONF` pointing at a fresh temporary directory. In the child, one token is
//! initialised (through the crate's own `init_token`) by a `OnceLock` fixture and shared
//! by every store the test opens; the module is loaded and `C_Initialize`d once.
//!
//! The parent fails unless the child ran exactly one test and it passed, so a filter
//! mistake cannot turn into a silent pass. Without SoftHSM2 the parent fails with the
//! install command.

use provkit_pkcs11::{ExportPolicy, Pin, Pkcs11Config, Pkcs11Store, config::default_module};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

const CHILD_ENV: &str = "PROVKIT_PKCS11_TEST_CHILD";
pub const TOKEN: &str = "provkit-test";
pub const SO_PIN: &str = "87654321";
pub const USER_PIN: &str = "123456";

/// Runs `body` against a fresh SoftHSM2 token, in a child process. `name` must be the
/// test function's name.
pub fn with_token(name: &str, body: impl FnOnce()) {
    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        token();
        body();
        return;
    }
    let module = default_module();
    assert!(
        module.exists(),
        "SoftHSM2 is not installed (no PKCS#11 module at {}): run `apt-get install -y softhsm2` \
         (or `bash .ci/softhsm.sh`), or set PROVKIT_PKCS11_MODULE",
        module.display()
    );
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!(
        "provkit-pkcs11-{}-{name}-{nanos}",
        std::process::id()
    ));
    let tokens = dir.join("tokens");
    std::fs::create_dir_all(&tokens).unwrap();
    let conf = dir.join("softhsm2.conf");
    std::fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .unwrap();
    let output = Command::new(std::env::current_exe().unwrap())
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, name)
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    assert!(
        output.status.success(),
        "test {name} failed in SoftHSM2 child process"
    );
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "child process did not run exactly the test {name}"
    );
}

/// The token of this (child) process, initialised on first use.
pub fn token() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        provkit_pkcs11::init_token(
            &default_module(),
            TOKEN,
            &Pin::from(SO_PIN),
            &Pin::from(USER_PIN),
        )
        .unwrap();
    });
}

/// A configuration for the test token in `namespace`.
pub fn config(namespace: u32, export: ExportPolicy) -> Pkcs11Config {
    let mut c = Pkcs11Config::new(TOKEN, Pin::from(USER_PIN));
    c.namespace = namespace;
    c.export = export;
    c
}

/// A store on the test token in `namespace`.
pub fn store(namespace: u32, export: ExportPolicy) -> Pkcs11Store {
    Pkcs11Store::open(config(namespace, export)).unwrap()
}

#[allow(dead_code)]
pub fn module_path() -> PathBuf {
    default_module()
}
