//! The operator's commands end to end on SQLite stores: the binary run in a temp
//! directory, its output and exit codes, and what it left in the stores.

mod support;

use provkit::envelope::telemetry::{seal_telemetry_signed, telemetry_len};
use provkit::store::KeyId;
use provkit::testing::InsecureTestRng;
use support::{Env, census, device, device_keys, keys_csv, refused_output, scenario};

const STORE: [&str; 2] = ["--store", "sqlite:authority.db"];

fn with<'a>(args: &[&'a str]) -> Vec<&'a str> {
    let mut v = args.to_vec();
    v.extend_from_slice(&STORE);
    v
}

#[test]
fn full_scenario_on_sqlite() {
    let env = Env::new("scenario");
    scenario(&env, &STORE, &[]);
}

#[test]
fn ca_ceremony_and_its_refusals() {
    let env = Env::new("ca");
    // A missing store is refused for every command but those that set one up.
    let e = env.refused(&with(&["ca", "list"]));
    assert_eq!(e.trim(), "provkit: sqlite:authority.db: no such store");
    assert!(!env.path("authority.db").exists());
    env.ok(&with(&[
        "ca",
        "init",
        "--root-name",
        "Ceremony Root",
        "--intermediate-name",
        "Line 1 CA",
    ]));
    // Twice: refused, the CA kept.
    let e = env.refused(&with(&[
        "ca",
        "init",
        "--root-name",
        "Other",
        "--intermediate-name",
        "Other",
    ]));
    assert!(e.contains("already holds a CA"), "{e}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(env.path("authority.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    env.ok(&with(&["ca", "export", "--out", "out"]));
    let shown = env.ok(&[
        "cert",
        "show",
        "out/intermediate.compact",
        "--issuer",
        "out/root.der",
    ]);
    assert!(shown.contains("CN=Line 1 CA"), "{shown}");
    assert!(shown.contains("signed by it"), "{shown}");
    // The exported root parses as the same CA in its compact form.
    let root = env.read("out/root.der");
    let compact = env.read("out/root.compact");
    assert_eq!(
        provkit::cert::CaCert::from_der(&root)
            .unwrap()
            .short_key_id(),
        provkit::cert::CaCert::from_compact(&compact)
            .unwrap()
            .short_key_id()
    );

    // Issue from SEC1 hex and from SPKI PEM; list them.
    let (_, a) = device(1);
    let (_, b) = device(2);
    env.write(
        "a.hex",
        a.to_compressed()
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect::<String>(),
    );
    env.write("b.pem", b.to_spki_pem());
    let at = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 86_400;
    let at_text = at.to_string();
    let issued = env.json(&with(&[
        "ca",
        "issue",
        "--public-key",
        "a.hex",
        "--serial",
        "77",
        "--at",
        &at_text,
        "-o",
        "a.bin",
    ]));
    assert_eq!(issued["serial"], "0x000000000000004d");
    assert!(
        issued["not_before"]
            .as_str()
            .unwrap()
            .ends_with("T00:00:00Z")
    );
    env.ok(&with(&[
        "ca",
        "issue",
        "--public-key",
        "b.pem",
        "--serial",
        "0x4e",
        "--key-agreement",
        "-o",
        "b.bin",
    ]));
    let v = env.json(&[
        "cert",
        "verify",
        "b.bin",
        "--root",
        "out/root.pem",
        "--intermediate",
        "out/intermediate.pem",
    ]);
    assert_eq!(v["serial"], "0x000000000000004e");
    let a_bin = env.read("a.bin");
    let c = provkit::cert::CompactCert::parse(a_bin.as_slice()).unwrap();
    assert_eq!(c.public_key().unwrap(), a);
    assert_eq!(c.not_before(), at / 86_400 * 86_400);
    // A serial issued once is refused, and nothing is written.
    let e = env.refused(&with(&[
        "ca",
        "issue",
        "--public-key",
        "b.pem",
        "--serial",
        "77",
        "-o",
        "again.bin",
    ]));
    assert!(e.contains("already has a certificate"), "{e}");
    assert!(!env.path("again.bin").exists());
    let list = env.json(&with(&["ca", "list"]));
    let serials: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["serial"].as_str().unwrap())
        .collect();
    assert_eq!(serials, ["0x000000000000004d", "0x000000000000004e"]);
    let table = env.ok(&with(&["ca", "list"]));
    assert!(table.starts_with("serial"), "{table}");

    // From a PKCS#10 request made by `openssl req` (provkit's tests/data/csr): the
    // request names the serial and proves possession of its key.
    let csr_dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/csr/");
    for f in ["openssl_device.csr", "openssl_san.csr"] {
        env.write(f, std::fs::read(format!("{csr_dir}{f}")).unwrap());
    }
    let e = env.refused(&with(&[
        "ca",
        "issue",
        "--csr",
        "openssl_device.csr",
        "--serial",
        "5",
        "-o",
        "c.bin",
    ]));
    assert!(e.contains("expects 0000000000000005"), "{e}");
    let e = env.refused(&with(&[
        "ca",
        "issue",
        "--csr",
        "openssl_san.csr",
        "-o",
        "c.bin",
    ]));
    assert!(
        e.contains("outside the CA's profile") && e.contains("2.5.29.17"),
        "{e}"
    );
    assert!(!env.path("c.bin").exists());
    let from_csr = env.json(&with(&[
        "ca",
        "issue",
        "--csr",
        "openssl_device.csr",
        "-o",
        "c.bin",
    ]));
    assert_eq!(from_csr["serial"], "0x0102030405060708");
    let both = env.run(&with(&[
        "ca",
        "issue",
        "--csr",
        "openssl_device.csr",
        "--public-key",
        "b.pem",
        "-o",
        "d.bin",
    ]));
    assert_eq!(both.status.code(), Some(2), "a usage error");

    // A device certificate from another CA is foreign to this one.
    let other = Env::new("ca-other");
    other.ok(&[
        "ca",
        "init",
        "--root-name",
        "Foreign Root",
        "--intermediate-name",
        "Foreign CA",
        "--store",
        "sqlite:o.db",
    ]);
    other.write("b.pem", b.to_spki_pem());
    other.ok(&[
        "ca",
        "issue",
        "--public-key",
        "b.pem",
        "--serial",
        "9",
        "-o",
        "f.bin",
        "--store",
        "sqlite:o.db",
    ]);
    env.write("foreign.bin", other.read("f.bin"));
    let e = env.refused(&[
        "cert",
        "verify",
        "foreign.bin",
        "--root",
        "out/root.pem",
        "--intermediate",
        "out/intermediate.pem",
    ]);
    assert!(e.contains("foreign.bin"), "{e}");

    // A wrong passphrase: refused before anything is read.
    let mut wrong = Env::new("ca-wrong");
    wrong.vars = vec![("PROVKIT_PASSPHRASE".into(), "not it".into())];
    let args = [
        "ca",
        "list",
        "--store",
        &format!("sqlite:{}", env.path("authority.db").display()),
    ];
    let e = wrong.refused(&args);
    assert!(e.ends_with("wrong passphrase\n"), "{e}");
    // And no passphrase at all, without a terminal.
    wrong.vars.clear();
    let e = wrong.refused(&args);
    assert!(e.contains("PROVKIT_PASSPHRASE"), "{e}");
    // Usage errors are exit 2.
    assert_eq!(env.run(&["ca", "issue"]).status.code(), Some(2));
    assert_eq!(
        env.run(&["ledger", "lookup", "0", "--store", "sqlite:x"])
            .status
            .code(),
        Some(2)
    );
    // A PIN or password on the command line is refused outright.
    let e = env.refused(&["ca", "list", "--store", "pkcs11:token=t;pin=1234"]);
    assert!(e.contains("PROVKIT_PIN"), "{e}");
    let e = env.refused(&["ca", "list", "--store", "postgres://u:pw@localhost/db"]);
    assert!(e.contains("PGPASSWORD"), "{e}");
}

#[test]
fn shipment_from_json_and_refusals() {
    let env = Env::new("shipment");
    env.ok(&with(&[
        "key",
        "create",
        "shipment-recipient",
        "-o",
        "r.pem",
    ]));
    env.ok(&with(&["ledger", "init"]));
    let factory = ["--store", "sqlite:factory.db"];
    let mut a = vec!["key", "create", "shipment-signer", "-o", "s.pem"];
    a.extend_from_slice(&factory);
    env.ok(&a);
    // The same keys as JSON, out of order: sealed in serial order.
    let mut items: Vec<String> = device_keys()
        .iter()
        .map(|(s, k)| format!("{{\"serial\":\"{s:#x}\",\"key\":\"{k}\",\"usage\":\"D0\"}}"))
        .collect();
    items.reverse();
    env.write("keys.json", format!("[{}]", items.join(",")));
    let seal = |input: &str, batch: &str, out: &str| {
        let mut a = vec![
            "shipment",
            "seal",
            input,
            "--recipient",
            "r.pem",
            "--manufacturer-id",
            "M",
            "--batch-id",
            batch,
            "-o",
            out,
        ];
        a.extend_from_slice(&factory);
        env.run(&a)
    };
    assert!(seal("keys.json", "j1", "j1.pksh").status.success());
    let imp = env.json(&with(&[
        "shipment",
        "import",
        "j1.pksh",
        "--manufacturer",
        "s.pem",
    ]));
    assert_eq!(imp["imported"], 5);
    let (serial, _) = device_keys()[0];
    let l = env.json(&with(&["ledger", "lookup", &serial.to_string()]));
    assert_eq!(l["usage"], "D0");
    assert_eq!(l["key_id"], serial);

    // The same serials and keys in another batch: every record refused, reported.
    env.write("keys.csv", keys_csv());
    assert!(seal("keys.csv", "c1", "c1.pksh").status.success());
    let imp = env.json(&with(&[
        "shipment",
        "import",
        "c1.pksh",
        "--manufacturer",
        "s.pem",
    ]));
    assert_eq!(imp["imported"], 0);
    assert_eq!(imp["refused"].as_array().unwrap().len(), 5);
    assert_eq!(census(&env, &STORE), vec![(1, 5)]);

    // Bad input files: refused, and no output file appears.
    for (name, text, why) in [
        (
            "dup.csv",
            "1,000102030405060708090a0b0c0d0e0f\n1,000102030405060708090a0b0c0d0e0f\n",
            "twice",
        ),
        ("short.csv", "1,0001\n", "16, 24 or 32 bytes"),
        ("nokey.json", "[{\"serial\":1}]", "no key"),
        ("empty.csv", "serial,key\n", "no device keys"),
    ] {
        env.write(name, text);
        let o = seal(name, "x", "x.pksh");
        let e = refused_output(&[name], &o);
        assert!(e.contains(why), "{name}: {e}");
        assert!(!env.path("x.pksh").exists());
        assert!(!env.path("x.partial").exists());
    }
    // Audit with the wrong key, a file sealed to another recipient.
    let e = env.refused(&["shipment", "audit", "j1.pksh", "--manufacturer", "r.pem"]);
    assert!(e.contains("refused"), "{e}");
    let other = Env::new("shipment-other");
    other.ok(&[
        "key",
        "create",
        "shipment-recipient",
        "-o",
        "r2.pem",
        "--store",
        "sqlite:o.db",
    ]);
    env.write("r2.pem", other.read("r2.pem"));
    let mut a = vec![
        "shipment",
        "seal",
        "keys.csv",
        "--recipient",
        "r2.pem",
        "--manufacturer-id",
        "M",
        "--batch-id",
        "elsewhere",
        "-o",
        "elsewhere.pksh",
    ];
    a.extend_from_slice(&factory);
    env.ok(&a);
    env.ok(&[
        "shipment",
        "audit",
        "elsewhere.pksh",
        "--manufacturer",
        "s.pem",
    ]);
    let head = env.ok(&with(&["ledger", "anchor"]));
    let e = env.refused(&with(&[
        "shipment",
        "import",
        "elsewhere.pksh",
        "--manufacturer",
        "s.pem",
    ]));
    assert!(e.contains("another recipient"), "{e}");
    assert_eq!(env.ok(&with(&["ledger", "anchor"])), head);
}

#[test]
fn audit_verify_detects_a_tampered_row() {
    let env = Env::new("audit");
    env.ok(&with(&[
        "key",
        "create",
        "shipment-recipient",
        "-o",
        "r.pem",
    ]));
    env.ok(&with(&["ledger", "init"]));
    env.ok(&[
        "key",
        "create",
        "shipment-signer",
        "-o",
        "s.pem",
        "--store",
        "sqlite:f.db",
    ]);
    env.write("keys.csv", keys_csv());
    env.ok(&[
        "shipment",
        "seal",
        "keys.csv",
        "--recipient",
        "r.pem",
        "--manufacturer-id",
        "M",
        "--batch-id",
        "b",
        "-o",
        "b.pksh",
        "--store",
        "sqlite:f.db",
    ]);
    env.ok(&with(&[
        "shipment",
        "import",
        "b.pksh",
        "--manufacturer",
        "s.pem",
    ]));
    env.ok(&with(&["ledger", "anchor", "-o", "anchor.txt"]));
    env.ok(&with(&["ledger", "rotate", "--generate"]));
    let ok = env.json(&with(&["ledger", "verify", "--anchor", "anchor.txt"]));
    let rows = ok["rows"].as_u64().unwrap();
    assert!(rows >= 4, "{ok}");
    let head = env.json(&with(&["ledger", "anchor"]));
    assert_eq!(head["seq"], ok["head_seq"]);
    assert_eq!(head["hash"], ok["head_hash"]);

    // Edit one row's timestamp: the chain names it. The attacker has the file: the
    // append-only triggers (which every open puts back) are no obstacle.
    let db = rusqlite::Connection::open(env.path("authority.db")).unwrap();
    let tamper = |sql: &str, p: &[&dyn rusqlite::ToSql]| {
        db.execute_batch(
            "DROP TRIGGER IF EXISTS ledger_audit_no_update; \
             DROP TRIGGER IF EXISTS ledger_audit_no_delete;",
        )
        .unwrap();
        db.execute(sql, p).unwrap();
    };
    tamper("UPDATE ledger_audit SET ts = ts + 1 WHERE seq = 2", &[]);
    let e = env.refused(&with(&["ledger", "verify"]));
    assert_eq!(
        e.trim(),
        "provkit: audit chain broken: row edited at sequence number 2"
    );
    tamper("UPDATE ledger_audit SET ts = ts - 1 WHERE seq = 2", &[]);
    env.ok(&with(&["ledger", "verify"]));
    // Delete a row in the middle.
    let saved: (i64, i64, Option<i64>, Vec<u8>, Vec<u8>) = db
        .query_row(
            "SELECT ts, kind, serial, event, hash FROM ledger_audit WHERE seq = 3",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    tamper("DELETE FROM ledger_audit WHERE seq = 3", &[]);
    let e = env.refused(&with(&["ledger", "verify"]));
    assert!(e.contains("sequence number 3"), "{e}");
    tamper(
        "INSERT INTO ledger_audit (seq, ts, kind, serial, event, hash) \
         VALUES (3, ?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![saved.0, saved.1, saved.2, saved.3, saved.4],
    );
    env.ok(&with(&["ledger", "verify", "--anchor", "anchor.txt"]));
    // An anchor naming another history.
    let text = String::from_utf8(env.read("anchor.txt")).unwrap();
    let last = text.trim_end().chars().last().unwrap();
    let flipped = if last == '0' { '1' } else { '0' };
    env.write(
        "forged.txt",
        format!(
            "{}{flipped}\n",
            &text.trim_end()[..text.trim_end().len() - 1]
        ),
    );
    let e = env.refused(&with(&["ledger", "verify", "--anchor", "forged.txt"]));
    assert!(e.contains("differs from the anchor"), "{e}");
    env.write("garbage.txt", "seq 1");
    let e = env.refused(&with(&["ledger", "verify", "--anchor", "garbage.txt"]));
    assert!(e.contains("not an anchor"), "{e}");
}

/// Runs `provkit kek split` on a pseudo-terminal (util-linux `script`), Enter pressed
/// for each custodian; returns what the terminal showed and what went to stdout.
fn split_on_a_terminal(env: &Env, n: usize) -> (String, String) {
    assert!(
        std::path::Path::new("/usr/bin/script").exists(),
        "util-linux `script` is needed to give `kek split` a terminal (apt-get install bsdutils)"
    );
    let cmd = format!(
        "{} kek split --components {n} --json > kcvs.json",
        env!("CARGO_BIN_EXE_provkit")
    );
    let mut c = std::process::Command::new("script");
    c.args(["-qec", &cmd, "/dev/null"])
        .current_dir(&env.dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all("\n".repeat(2 * n).as_bytes()).unwrap();
    }
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8(env.read("kcvs.json")).unwrap(),
    )
}

#[test]
fn dual_control_kek_from_three_components() {
    let env = Env::new("kek");
    let (screen, stdout) = split_on_a_terminal(&env, 3);
    // The components, as the custodians read them off the screen.
    let mut components = Vec::new();
    for line in screen.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("component ") {
            let (_, hex) = rest.split_once(": ").unwrap();
            components.push(hex.trim().to_owned());
        }
        if let Some(kcv) = line.strip_prefix("its KCV:") {
            let last = components.len() - 1;
            components[last] = format!("{}\n{}", components[last], kcv.trim());
        }
    }
    assert_eq!(components.len(), 3, "{screen}");
    let record: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let kcv = record["kcv"].as_str().unwrap().to_owned();
    // stdout has the KCVs (public), never a component.
    for c in &components {
        let (hex, component_kcv) = c.split_once('\n').unwrap();
        assert!(!stdout.contains(&hex.replace(' ', "")), "{stdout}");
        assert!(
            !stdout.to_lowercase().contains(&hex.to_lowercase()),
            "{stdout}"
        );
        assert!(stdout.contains(component_kcv), "{stdout}");
    }
    let input = |cs: &[String]| cs.iter().map(|c| format!("{c}\n")).collect::<String>();

    // A mistyped KCV for component 2: refused, the store not even created.
    let mut typo = components.clone();
    let (hex, k) = typo[1].split_once('\n').unwrap();
    let mut k = k.to_owned();
    k.replace_range(0..1, if k.starts_with('0') { "1" } else { "0" });
    typo[1] = format!("{hex}\n{k}");
    let args = with(&["kek", "combine", "--components", "3", "--kcv", &kcv]);
    let o = env.run_with_input(&args, &input(&typo));
    let e = refused_output(&args, &o);
    assert!(
        e.contains("component 2") && e.contains("nothing imported"),
        "{e}"
    );
    assert!(!env.path("authority.db").exists());
    // Two components only (the third custodian absent): the whole key's KCV differs.
    let args2 = with(&["kek", "combine", "--components", "2", "--kcv", &kcv]);
    let o = env.run_with_input(&args2, &input(&components[..2]));
    let e = refused_output(&args2, &o);
    assert!(e.contains("combined key"), "{e}");
    assert!(!env.path("authority.db").exists());

    // All three, right: KEK version 1 in the store.
    let o = env.run_with_input(&[&args[..], &["--json"]].concat(), &input(&components));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let done: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(done["kek_version"], 1);
    assert_eq!(done["kcv"], kcv.as_str());
    // Once more as version 1: that version exists, refused.
    let args = [&args[..], &["--version", "1"]].concat();
    let o = env.run_with_input(&args, &input(&components));
    assert!(refused_output(&args, &o).contains("already holds KEK version 1"));

    // The ledger uses it: set up without a KEK of its own, a shipment imports under v1.
    let li = env.json(&with(&["ledger", "init", "--no-kek"]));
    assert_eq!(li["kek_versions"], serde_json::json!([1]));
    assert_eq!(li["created"], serde_json::json!(["fingerprint key"]));
    env.ok(&with(&[
        "key",
        "create",
        "shipment-recipient",
        "-o",
        "r.pem",
    ]));
    env.ok(&[
        "key",
        "create",
        "shipment-signer",
        "-o",
        "s.pem",
        "--store",
        "sqlite:f.db",
    ]);
    env.write("keys.csv", keys_csv());
    env.ok(&[
        "shipment",
        "seal",
        "keys.csv",
        "--recipient",
        "r.pem",
        "--manufacturer-id",
        "M",
        "--batch-id",
        "b",
        "-o",
        "b.pksh",
        "--store",
        "sqlite:f.db",
    ]);
    env.ok(&with(&[
        "shipment",
        "import",
        "b.pksh",
        "--manufacturer",
        "s.pem",
    ]));
    assert_eq!(census(&env, &STORE), vec![(1, 5)]);
}

#[test]
fn telemetry_opened_with_the_server_key_in_the_store() {
    let env = Env::new("telemetry");
    env.ok(&with(&[
        "ca",
        "init",
        "--root-name",
        "R",
        "--intermediate-name",
        "I",
    ]));
    env.ok(&with(&["ca", "export", "--out", "ca"]));
    let server_pem = env.ok(&with(&["key", "create", "telemetry"]));
    assert!(server_pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    let exported = env.ok(&with(&["key", "export", "telemetry"]));
    assert_eq!(exported, server_pem);
    let server = provkit::ec::EcPublicKey::from_spki_pem(&server_pem).unwrap();
    let (mut dev, public) = device(11);
    env.write("dev.pem", public.to_spki_pem());
    env.ok(&with(&[
        "ca",
        "issue",
        "--public-key",
        "dev.pem",
        "--serial",
        "0x51",
        "-o",
        "dev.bin",
    ]));
    let payload = b"{\"temp\":21.5}";
    let mut msg = vec![0u8; telemetry_len(payload.len(), true)];
    let n = seal_telemetry_signed(
        &mut dev,
        KeyId(1),
        &server,
        0x51,
        payload,
        &mut msg,
        &mut InsecureTestRng::new(3),
    )
    .unwrap();
    msg.truncate(n);
    env.write("m.bin", &msg);
    let open = |file: &str, cert: &str| {
        with(&[
            "telemetry",
            "open",
            file,
            "--device-cert",
            cert,
            "--issuer",
            "ca/intermediate.pem",
        ])
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<String>>()
    };
    let a = open("m.bin", "dev.bin");
    let r: Vec<&str> = a.iter().map(String::as_str).collect();
    let v = env.json(&r);
    assert_eq!(v["serial"], "0x0000000000000051");
    assert_eq!(v["signed"], true);
    assert_eq!(
        v["payload_hex"],
        payload
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    // Altered in transit: refused, no payload.
    let mut bad = msg.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    env.write("bad.bin", &bad);
    let a = open("bad.bin", "dev.bin");
    let r: Vec<&str> = a.iter().map(String::as_str).collect();
    assert!(env.refused(&r).contains("refused"));
    // Another device's certificate: refused.
    let (_, other) = device(12);
    env.write("other.pem", other.to_spki_pem());
    env.ok(&with(&[
        "ca",
        "issue",
        "--public-key",
        "other.pem",
        "--serial",
        "0x52",
        "-o",
        "other.bin",
    ]));
    let a = open("m.bin", "other.bin");
    let r: Vec<&str> = a.iter().map(String::as_str).collect();
    assert!(env.refused(&r).contains("device 0x0000000000000052"));
    // Without a certificate: a signed message is refused.
    assert!(
        env.refused(&with(&["telemetry", "open", "m.bin"]))
            .contains("--device-cert")
    );
}

#[test]
fn every_command_has_help_with_an_example() {
    let env = Env::new("help");
    for cmd in [
        "cert show",
        "cert verify",
        "cert expand",
        "cert compress",
        "key create",
        "key export",
        "ca init",
        "ca export",
        "ca issue",
        "ca list",
        "shipment seal",
        "shipment audit",
        "shipment import",
        "ledger init",
        "ledger lookup",
        "ledger census",
        "ledger rotate",
        "ledger verify",
        "ledger anchor",
        "kek split",
        "kek combine",
        "telemetry open",
    ] {
        let mut args: Vec<&str> = cmd.split(' ').collect();
        args.push("--help");
        let out = env.ok(&args);
        let example = out
            .lines()
            .find_map(|l| l.trim().strip_prefix("Example: "))
            .unwrap_or_else(|| panic!("{cmd}: no example in --help:\n{out}"));
        assert!(
            example.starts_with("provkit ") || example.contains(" provkit "),
            "{cmd}: {example}"
        );
        assert!(
            example.contains(cmd),
            "{cmd}: the example is for another command: {example}"
        );
    }
}
