//! A PostgreSQL database for tests, benches and examples (feature `test-cluster`; not for
//! production).
//!
//! [`database_url`] answers `PROVKIT_PG_URL` when it is set (CI starts one cluster with
//! `.ci/postgres.sh start` and exports it). Otherwise it starts a throwaway cluster for this
//! process with the same script (`--no-install`: a test never installs packages), which
//! stops and removes itself once the process exits. Without PostgreSQL installed it panics
//! saying how to get it: a test never passes silently without a database.
//!
//! Each test takes its own [`TestSchema`], so tests run in parallel and repeatedly
//! against one database.

#![allow(clippy::panic, clippy::expect_used, clippy::unwrap_used)]

use postgres::{Client, NoTls};
use provkit::envelope::{KekId, KekRef, KekSlot};
use provkit::store::{KeyId, KeyKind, MemoryStore, SymmetricKeys, WrapAlgorithm};
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};

/// The environment variable naming the database tests use.
pub const URL_VAR: &str = "PROVKIT_PG_URL";

/// The database URL: `PROVKIT_PG_URL`, or a cluster started for this process.
///
/// # Panics
/// When `PROVKIT_PG_URL` is unset and no cluster can be started (PostgreSQL not
/// installed, `initdb` failing), with a message saying what to do.
pub fn database_url() -> String {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => url,
        _ => start_cluster(),
    })
    .clone()
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.ci/postgres.sh")
}

fn start_cluster() -> String {
    let script = script();
    let output = Command::new("bash")
        .arg(&script)
        .args(["start", "--no-install", "--watch-pid"])
        .arg(std::process::id().to_string())
        .env_remove("PROVKIT_PG_DIR")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.code() == Some(3) {
        panic!(
            "PostgreSQL is not installed, and {URL_VAR} is not set.\n\
             Install it (Debian: `apt-get install -y postgresql`; the tests start their own \
             cluster on loopback, the Debian service is not needed), or set {URL_VAR} to a \
             database the tests may create schemas in, e.g. via \
             `eval \"$(.ci/postgres.sh start)\"`.\n{stderr}"
        );
    }
    if !output.status.success() {
        panic!(
            "{} start failed ({}):\n{stderr}",
            script.display(),
            output.status
        );
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("export PROVKIT_PG_URL="))
        .map(|u| u.trim().to_owned())
        .unwrap_or_else(|| {
            panic!(
                "no PROVKIT_PG_URL in the output of {}:\n{stdout}",
                script.display()
            )
        })
}

/// A schema of its own for one test, dropped (with everything in it) when this is dropped.
#[derive(Debug)]
pub struct TestSchema {
    url: String,
    name: String,
}

impl TestSchema {
    /// A fresh, empty schema named after `prefix` (lower-cased letters, digits and `_`
    /// are kept), this process and a counter.
    ///
    /// # Panics
    /// When the database cannot be reached.
    #[must_use]
    pub fn new(prefix: &str) -> Self {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let clean: String = prefix
            .chars()
            .filter_map(|c| {
                let c = c.to_ascii_lowercase();
                (c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_').then_some(c)
            })
            .take(32)
            .collect();
        let name = format!(
            "t_{clean}_{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let url = database_url();
        let schema = Self { url, name };
        schema
            .client()
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", schema.name))
            .expect("drop a stale schema");
        schema
    }

    /// The schema's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The database URL.
    #[must_use]
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A new connection, its `search_path` set to the schema.
    ///
    /// # Panics
    /// When the database cannot be reached.
    #[must_use]
    pub fn client(&self) -> Client {
        let mut client = Client::connect(&self.url, NoTls)
            .unwrap_or_else(|e| panic!("connect to {}: {e}", self.url));
        client
            .batch_execute(&format!("SET search_path TO {}", self.name))
            .expect("set search_path");
        client
    }
}

impl Drop for TestSchema {
    fn drop(&mut self) {
        if let Ok(mut client) = Client::connect(&self.url, NoTls) {
            let _ = client.batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
        }
    }
}

/// The store holding a test KEK.
pub type KekStore = MemoryStore<4, 0, 0>;

/// A "file KEK" for tests: an AES-256 key from `seed` in a [`MemoryStore`], named
/// `KekId(*b"test-kek")` version 1, used with AES-KWP. Production keeps the KEK in an HSM.
///
/// # Panics
/// Never in practice (a fresh memory store has room).
#[must_use]
pub fn memory_kek(seed: u8) -> (KekStore, KekSlot) {
    let mut store = KekStore::new();
    let key: [u8; 32] = core::array::from_fn(|i| seed.wrapping_add(i as u8).wrapping_mul(31));
    store
        .import_symmetric(KeyId(1), KeyKind::Aes256, &key)
        .expect("import test KEK");
    let slot = KekSlot {
        kek: KekRef {
            id: KekId(*b"test-kek"),
            version: 1,
        },
        key: KeyId(1),
        wrap: WrapAlgorithm::AesKwp,
    };
    (store, slot)
}
