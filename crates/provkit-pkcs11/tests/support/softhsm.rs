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
//!
//! The child runs *in* the temporary directory, and the parent fails if the child left
//! anything there besides the configuration and the token directory: a file created by
//! the module from a dangling path (as SoftHSM2 does when the process exits while
//! another thread is still writing token objects) lands in the working directory, which
//! used to be the crate's source directory.

use provkit::store::{KeyId, KeyKind};
use provkit_pkcs11::{
    ExportPolicy, KeyRoles, Pin, Pkcs11Config, Pkcs11Store, config::default_module,
};
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
         (or run the tests with `scripts/test`, which installs it), or set PROVKIT_PKCS11_MODULE",
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
        .current_dir(&dir)
        .env(CHILD_ENV, name)
        .env("SOFTHSM2_CONF", &conf)
        .output()
        .unwrap();
    let stray = stray_entries(&dir);
    let _ = std::fs::remove_dir_all(&dir);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    print!("{stdout}");
    eprint!("{stderr}");
    // First: a stray file means the module wrote through a dangling path, which matters
    // more than whether the test body passed.
    assert!(
        stray.is_empty(),
        "test {name} ({}) left files in its working directory: {stray:?}",
        output.status
    );
    assert!(
        output.status.success(),
        "test {name} failed in SoftHSM2 child process"
    );
    assert!(
        stdout.contains("test result: ok. 1 passed"),
        "child process did not run exactly the test {name}"
    );
}

/// Entries of the child's directory other than `softhsm2.conf` and `tokens`.
pub fn stray_entries(dir: &std::path::Path) -> Vec<std::ffi::OsString> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n != "softhsm2.conf" && n != "tokens")
        .collect()
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
#[allow(dead_code)]
pub fn store(namespace: u32, export: ExportPolicy) -> Pkcs11Store {
    Pkcs11Store::open(config(namespace, export)).unwrap()
}

/// A store on the test token in `namespace` with key roles.
#[allow(dead_code)]
pub fn store_with(namespace: u32, export: ExportPolicy, roles: KeyRoles) -> Pkcs11Store {
    let mut c = config(namespace, export);
    c.roles = roles;
    Pkcs11Store::open(c).unwrap()
}

/// Creates the export KEK `id` in `namespace` as the SO (before any store logs in).
#[allow(dead_code)]
pub fn export_kek(namespace: u32, id: KeyId, kind: KeyKind, value: Option<&[u8]>) {
    provkit_pkcs11::create_export_kek(
        &config(namespace, ExportPolicy::Sealed),
        &Pin::from(SO_PIN),
        id,
        kind,
        value,
    )
    .unwrap();
}

#[allow(dead_code)]
pub fn module_path() -> PathBuf {
    default_module()
}

/// A second, raw cryptoki session on the test token (logged in as the user), to inspect
/// or attack what the store created. The module is already initialised by the store in
/// this process: that is fine.
#[allow(dead_code)]
pub fn raw_session() -> cryptoki::session::Session {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::session::UserType;
    use cryptoki::types::AuthPin;
    let m = Pkcs11::new(module_path()).unwrap();
    let _ = m.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK));
    let slot = m
        .get_slots_with_initialized_token()
        .unwrap()
        .into_iter()
        .find(|s| m.get_token_info(*s).unwrap().label().trim_end() == TOKEN)
        .unwrap();
    let session = m.open_rw_session(slot).unwrap();
    let _ = session.login(UserType::User, Some(&AuthPin::from(USER_PIN)));
    session
}
