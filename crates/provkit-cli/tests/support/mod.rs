//! Runs the `provkit` binary in a temp directory of its own, with a store passphrase in
//! the environment, and the operator scenarios shared by the SQLite, PostgreSQL and
//! PKCS#11 tests.

#![allow(dead_code)]

use provkit::envelope::Kcv;
use provkit::secret::SecretBuf;
use provkit::store::{IdentityKeys, KeyId, MemoryStore};
use provkit::testing::InsecureTestRng;
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub const PASSPHRASE: &str = "correct horse battery staple";

/// A temp directory, the environment every run gets, and the binary.
pub struct Env {
    pub dir: PathBuf,
    pub vars: Vec<(String, String)>,
}

impl Env {
    pub fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir =
            std::env::temp_dir().join(format!("provkit-cli-{}-{name}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            dir,
            vars: vec![("PROVKIT_PASSPHRASE".into(), PASSPHRASE.into())],
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    pub fn write(&self, name: &str, bytes: impl AsRef<[u8]>) {
        std::fs::write(self.path(name), bytes).unwrap();
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_provkit"));
        c.args(args)
            .current_dir(&self.dir)
            .env_remove("PROVKIT_STORE")
            .env_remove("PROVKIT_LEDGER")
            .env_remove("PROVKIT_PIN")
            .env_remove("PROVKIT_PASSPHRASE");
        for (k, v) in &self.vars {
            c.env(k, v);
        }
        c
    }

    /// Runs `provkit args` with `stdin` (empty: none), in the directory.
    pub fn run_with_input(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_input(args, "")
    }

    /// Runs and asserts success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let o = self.run(args);
        assert!(
            o.status.success(),
            "provkit {args:?} failed ({}): {}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }

    /// Runs with `--json` appended and parses stdout.
    pub fn json(&self, args: &[&str]) -> Value {
        let mut a = args.to_vec();
        a.push("--json");
        serde_json::from_str(&self.ok(&a)).unwrap()
    }

    /// Runs and asserts a refusal (exit 1, one line on stderr, nothing on stdout);
    /// returns that line.
    pub fn refused(&self, args: &[&str]) -> String {
        refused_output(args, &self.run(args))
    }
}

pub fn refused_output(args: &[&str], o: &Output) -> String {
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(
        o.status.code(),
        Some(1),
        "provkit {args:?} should be refused: {err}"
    );
    assert!(
        o.stdout.is_empty(),
        "refusal printed on stdout: {:?}",
        o.stdout
    );
    assert_eq!(err.lines().count(), 1, "one line on stderr: {err:?}");
    assert!(err.starts_with("provkit: "), "{err}");
    err
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The device keys of the scenarios' shipment: (serial, AES-128 key hex).
pub fn device_keys() -> Vec<(u64, String)> {
    (1..=5u64)
        .map(|i| {
            let key: String = (0..16u64)
                .map(|j| format!("{:02x}", (i * 37 + j * 11) % 251))
                .collect();
            (0x00F1_0000_0000_0000 + i, key)
        })
        .collect()
}

/// The KCV of a hex key.
pub fn kcv_of(hex_key: &str) -> String {
    let bytes: Vec<u8> = (0..hex_key.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex_key[i..i + 2], 16).unwrap())
        .collect();
    Kcv::of_key(&SecretBuf::<32>::from_slice(&bytes).unwrap())
        .unwrap()
        .to_string()
}

/// The keys as a CSV file with a header.
pub fn keys_csv() -> String {
    let mut s = String::from("serial,key,key_id\n");
    for (i, (serial, key)) in device_keys().iter().enumerate() {
        s.push_str(&format!("{serial:#x},{key},{}\n", 1000 + i));
    }
    s
}

/// A device key pair made on the "device" (a software store); its public key as SPKI PEM.
pub fn device(seed: u64) -> (MemoryStore<1, 0, 0>, provkit::ec::EcPublicKey) {
    let mut store = MemoryStore::<1, 0, 0>::new();
    let public = store
        .generate_p256(KeyId(1), &mut InsecureTestRng::new(seed))
        .unwrap();
    (store, public)
}

/// Census counts by KEK version, from `ledger census --json`.
pub fn census(env: &Env, store: &[&str]) -> Vec<(u64, u64)> {
    let mut args = vec!["ledger", "census"];
    args.extend_from_slice(store);
    let v = env.json(&args);
    v["census"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["version"].as_u64().unwrap(), e["keys"].as_u64().unwrap()))
        .collect()
}

/// The full operator scenario on one store: CA ceremony, a shipment sealed by a
/// manufacturer (its own SQLite store), imported (twice), a tampered copy refused with
/// nothing changed, a lookup, a certificate attached, a rotation and an audit check.
/// `store` are the `--store` (and `--ledger`) arguments of the authority.
/// `ledger` are the `--ledger` arguments (empty: the store's own database), given to
/// the commands that use the ledger.
pub fn scenario(env: &Env, store: &[&str], ledger: &[&str]) {
    let with = |args: &[&str]| -> Vec<String> {
        let uses_ledger = matches!(
            args,
            ["ledger", ..] | ["shipment", "import", ..] | ["ca", "issue", ..]
        );
        let extra: &[&str] = if uses_ledger { ledger } else { &[] };
        args.iter()
            .chain(store.iter())
            .chain(extra.iter())
            .map(|s| (*s).to_owned())
            .collect()
    };
    let run_ok = |args: &[&str]| {
        let a = with(args);
        let r: Vec<&str> = a.iter().map(String::as_str).collect();
        env.ok(&r)
    };
    let run_json = |args: &[&str]| {
        let a = with(args);
        let r: Vec<&str> = a.iter().map(String::as_str).collect();
        env.json(&r)
    };
    let run_refused = |args: &[&str]| {
        let a = with(args);
        let r: Vec<&str> = a.iter().map(String::as_str).collect();
        env.refused(&r)
    };

    // CA ceremony.
    let init = run_json(&[
        "ca",
        "init",
        "--root-name",
        "Scenario Root",
        "--intermediate-name",
        "Scenario Factory CA",
        "--organization",
        "provkit tests",
    ]);
    assert_eq!(init["root"], "Scenario Root");
    run_ok(&["ca", "export", "--out", "certs"]);
    for f in [
        "root.pem",
        "intermediate.pem",
        "root.compact",
        "intermediate.compact",
    ] {
        assert!(env.path("certs").join(f).exists(), "{f}");
    }
    // Service keys and the ledger.
    run_ok(&["key", "create", "shipment-recipient", "-o", "recipient.pem"]);
    let li = run_json(&["ledger", "init"]);
    assert_eq!(li["kek_versions"], serde_json::json!([1]));
    // The manufacturer, in a store of its own.
    let factory = ["--store", "sqlite:factory.db"];
    let mut a = vec!["key", "create", "shipment-signer", "-o", "signer.pem"];
    a.extend_from_slice(&factory);
    env.ok(&a);
    env.write("keys.csv", keys_csv());
    let mut a = vec![
        "shipment",
        "seal",
        "keys.csv",
        "--recipient",
        "recipient.pem",
        "--manufacturer-id",
        "Scenario Maker",
        "--batch-id",
        "batch-0001",
        "--records-per-chunk",
        "2",
        "-o",
        "batch.pksh",
    ];
    a.extend_from_slice(&factory);
    env.ok(&a);
    let audit = env.json(&[
        "shipment",
        "audit",
        "batch.pksh",
        "--manufacturer",
        "signer.pem",
    ]);
    assert_eq!(audit["records"], 5);
    assert_eq!(audit["chunks"], 3);

    // A tampered and a truncated copy: refused, nothing changed (census and audit head).
    let bytes = env.read("batch.pksh");
    let mut tampered = bytes.clone();
    tampered[bytes.len() / 2] ^= 0x20;
    env.write("tampered.pksh", &tampered);
    env.write("truncated.pksh", &bytes[..bytes.len() - 10]);
    let head_before = run_ok(&["ledger", "anchor"]);
    for f in ["tampered.pksh", "truncated.pksh"] {
        let e = run_refused(&["shipment", "import", f, "--manufacturer", "signer.pem"]);
        assert!(e.contains("refused"), "{e}");
    }
    assert_eq!(run_ok(&["ledger", "anchor"]), head_before);
    assert!(census(env, &[store, ledger].concat()).is_empty());

    // Import, then the same file again: nothing duplicated.
    let imp = run_json(&[
        "shipment",
        "import",
        "batch.pksh",
        "--manufacturer",
        "signer.pem",
    ]);
    assert_eq!(imp["imported"], 5);
    assert_eq!(imp["result"], "imported");
    let again = run_json(&[
        "shipment",
        "import",
        "batch.pksh",
        "--manufacturer",
        "signer.pem",
    ]);
    assert_eq!(again["imported"], 0);
    assert_eq!(again["result"], "already imported: nothing changed");
    assert_eq!(census(env, &[store, ledger].concat()), vec![(1, 5)]);
    let anchor = run_ok(&["ledger", "anchor"]);
    env.write("anchor.txt", &anchor);

    // Lookup: key id, KCV, shipment, dates.
    let (serial, key) = device_keys()[2].clone();
    let s = format!("{serial:#x}");
    let l = run_json(&["ledger", "lookup", &s]);
    assert_eq!(l["key_id"], 1002);
    assert_eq!(l["kcv"], kcv_of(&key));
    assert_eq!(l["kek_version"], 1);
    assert_eq!(l["shipment_batch"], "batch-0001");
    assert_eq!(l["manufacturer"], "Scenario Maker");
    assert!(l["issued_at"].is_null());
    assert_eq!(l["shipment_transcript"], imp["transcript"]);
    run_refused(&["ledger", "lookup", "0x1234"]);

    // The CA issues the device's certificate and attaches it in the ledger.
    let (_dev, public) = device(7);
    env.write("device.pem", public.to_spki_pem());
    run_ok(&[
        "ca",
        "issue",
        "--public-key",
        "device.pem",
        "--serial",
        &s,
        "--attach",
        "-o",
        "device.bin",
    ]);
    env.ok(&[
        "cert",
        "verify",
        "device.bin",
        "--root",
        "certs/root.pem",
        "--intermediate",
        "certs/intermediate.pem",
    ]);
    let l = run_json(&["ledger", "lookup", &s, "--certificate-out", "device.der"]);
    assert!(l["issued_at"].is_string());
    let der = env.read("device.der");
    assert_eq!(
        l["certificate_sha256"],
        provkit::ec::sha256(&der)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let list = run_json(&["ca", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["serial"], format!("{serial:#018x}"));

    // Rotation to a new KEK version, the old one retired.
    let rot = run_json(&["ledger", "rotate", "--generate", "--retire"]);
    assert_eq!(rot["target_version"], 2);
    assert_eq!(rot["rewrapped"], 5);
    assert_eq!(rot["retired_versions"], serde_json::json!([1]));
    assert_eq!(census(env, &[store, ledger].concat()), vec![(2, 5)]);
    let c = run_json(&["ledger", "census"]);
    assert_eq!(c["min_decrypt_version"], 2);
    assert_eq!(c["kek_versions_in_store"], serde_json::json!([2]));
    assert_eq!(run_json(&["ledger", "lookup", &s])["kek_version"], 2);

    // The audit chain, from genesis and through the anchor taken after the import.
    let v = run_json(&["ledger", "verify", "--anchor", "anchor.txt"]);
    assert_eq!(v["result"], "audit chain intact");
    assert!(v["rows"].as_u64().unwrap() > 5);
}

pub fn write_path(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).unwrap();
}
