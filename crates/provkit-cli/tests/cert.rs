//! `provkit cert` end to end: the binary run on a PKI made with provkit's API in a temp
//! directory, every command, its output, and its exit code for good and bad input.

use provkit::cert::{self, CaCert, CaName, CaProfile, DeviceRequest};
use provkit::store::{IdentityKeys, KeyId, KeyOnlyStore};
use provkit::testing::InsecureTestRng;
use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output};

/// 2024-01-01T00:00:00Z
const T0: u64 = 1_704_067_200;
/// 2025-06-01T12:00:00Z
const ISSUED: u64 = 1_748_779_200;
const SERIAL: u64 = 0x8000_0000_0000_002a;

/// A root, an intermediate (DER, PEM and compact) and a device, as files.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new(name: &str, seed: u64) -> Self {
        let dir = std::env::temp_dir().join(format!("provkit-cli-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut rng = InsecureTestRng::new(seed);
        let mut ca = KeyOnlyStore::<2>::new();
        ca.generate_p256(KeyId(1), &mut rng).unwrap();
        let int_pk = ca.generate_p256(KeyId(2), &mut rng).unwrap();
        let mut buf = [0u8; 1024];
        let profile = |cn, serial, path_len| {
            CaProfile::new(
                CaName::new(cn).with_organization("provkit test"),
                serial,
                T0,
                T0 + 10 * 365 * 86_400,
            )
            .with_path_len(path_len)
        };
        let n = cert::create_root(
            &mut ca,
            KeyId(1),
            &profile("Test Root", [1; 16], 1),
            &mut buf,
        )
        .unwrap();
        let root_der = buf[..n].to_vec();
        let root = CaCert::from_der(&root_der).unwrap();
        let n = cert::create_intermediate(
            &mut ca,
            KeyId(1),
            &root,
            &int_pk,
            &profile("Factory CA", [2; 16], 0),
            &mut buf,
        )
        .unwrap();
        let int_der = buf[..n].to_vec();
        let int = CaCert::from_der(&int_der).unwrap();
        let mut compact_int = [0u8; cert::COMPACT_CA_MAX_LEN];
        let m = int.write_compact(&mut compact_int).unwrap();
        let mut device = KeyOnlyStore::<1>::new();
        let device_pk = device.generate_p256(KeyId(1), &mut rng).unwrap();
        let compact = cert::issue_device(
            &mut ca,
            KeyId(2),
            &int,
            &DeviceRequest::new(SERIAL, &device_pk, ISSUED),
        )
        .unwrap();
        let pki = Self { dir };
        pki.write("root.der", &root_der);
        pki.write("root.pem", cert::to_pem(&root_der).unwrap().as_bytes());
        pki.write("int.der", &int_der);
        pki.write("int.compact", &compact_int[..m]);
        pki.write("device.bin", &compact);
        pki
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn write(&self, name: &str, bytes: &[u8]) {
        std::fs::write(self.path(name), bytes).unwrap();
    }

    fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    /// Runs `provkit` with `args`; file names that exist in the PKI directory are given
    /// as their paths.
    fn run(&self, args: &[&str]) -> Output {
        let args: Vec<PathBuf> = args
            .iter()
            .map(|a| {
                let p = self.path(a);
                if p.exists() { p } else { PathBuf::from(a) }
            })
            .collect();
        Command::new(env!("CARGO_BIN_EXE_provkit"))
            .args(&args)
            .output()
            .unwrap()
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn json(o: &Output) -> Value {
    assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
    serde_json::from_str(&stdout(o)).unwrap()
}

/// Exit code 1 and exactly one line on stderr, containing `what`.
fn refused(o: &Output, what: &str) {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "stdout {} stderr {err}",
        stdout(o)
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains(what), "{err:?} does not say {what:?}");
}

#[test]
fn show_prints_every_form_in_words() {
    let pki = Pki::new("show", 1);
    let device = json(&pki.run(&[
        "cert",
        "show",
        "device.bin",
        "--issuer",
        "int.der",
        "--json",
    ]));
    assert_eq!(device["kind"], "compact device certificate");
    assert_eq!(device["serial"], "0x800000000000002a");
    // A compact certificate keeps the issue day: notBefore is its midnight.
    assert_eq!(device["not_before"], "2025-06-01T00:00:00Z");
    assert_eq!(device["issuer"], "CN=Factory CA,O=provkit test");
    assert_eq!(device["issuer_matches"], true);
    assert_eq!(device["key_usage"], serde_json::json!(["digitalSignature"]));
    assert!(device["expanded_der_bytes"].as_u64().unwrap() > 300);

    let root = json(&pki.run(&["cert", "show", "root.pem", "--json"]));
    assert_eq!(root["kind"], "X.509 CA certificate (PEM)");
    assert_eq!(root["subject"], "CN=Test Root,O=provkit test");
    assert_eq!(root["path_len"], 1);
    assert_eq!(root["not_before"], "2024-01-01T00:00:00Z");
    let int = json(&pki.run(&[
        "cert",
        "show",
        "int.compact",
        "--issuer",
        "root.der",
        "--json",
    ]));
    assert_eq!(int["kind"], "compact CA certificate");
    assert_eq!(int["issuer_check"], "signed by it");
    // The same fields as a table.
    let table = pki.run(&["cert", "show", "device.bin"]);
    assert_eq!(table.status.code(), Some(0));
    assert!(
        stdout(&table).contains("serial              0x800000000000002a"),
        "{}",
        stdout(&table)
    );
}

#[test]
fn verify_accepts_the_chain_and_refuses_with_the_reason() {
    let pki = Pki::new("verify", 2);
    let chain = ["--root", "root.der", "--intermediate", "int.compact"];
    let ok = json(
        &pki.run(
            &[
                &[
                    "cert",
                    "verify",
                    "device.bin",
                    "--at",
                    "2026-01-01",
                    "--json",
                ][..],
                &chain,
            ]
            .concat(),
        ),
    );
    assert_eq!(ok["result"], "valid");
    assert_eq!(ok["issued_by"], "CN=Factory CA,O=provkit test");
    assert_eq!(ok["at"], "2026-01-01T00:00:00Z");
    // The intermediate verifies against the root.
    let ok = json(&pki.run(&[
        "cert",
        "verify",
        "int.der",
        "--root",
        "root.pem",
        "--at",
        "2026-01-01",
        "--json",
    ]));
    assert_eq!(ok["result"], "valid");

    // Before the device was issued.
    refused(
        &pki.run(
            &[
                &[
                    "cert",
                    "verify",
                    "device.bin",
                    "--at",
                    "2025-05-31T23:59:59Z",
                ][..],
                &chain,
            ]
            .concat(),
        ),
        "not yet valid",
    );
    // After the intermediate expired.
    refused(
        &pki.run(
            &[
                &["cert", "verify", "device.bin", "--at", "2040-01-01"][..],
                &chain,
            ]
            .concat(),
        ),
        "int.compact",
    );
    // A tampered signature.
    let mut tampered = pki.read("device.bin");
    tampered[100] ^= 1;
    pki.write("tampered.bin", &tampered);
    refused(
        &pki.run(
            &[
                &["cert", "verify", "tampered.bin", "--at", "2026-01-01"][..],
                &chain,
            ]
            .concat(),
        ),
        "tampered.bin",
    );
    // Another PKI's root.
    let other = Pki::new("verify-other", 3);
    let output = Command::new(env!("CARGO_BIN_EXE_provkit"))
        .args(["cert", "verify"])
        .arg(pki.path("device.bin"))
        .arg("--root")
        .arg(other.path("root.der"))
        .arg("--intermediate")
        .arg(pki.path("int.der"))
        .args(["--at", "2026-01-01"])
        .output()
        .unwrap();
    refused(&output, "int.der");
}

#[test]
fn expand_and_compress_round_trip() {
    let pki = Pki::new("expand", 4);
    let out = pki.run(&["cert", "expand", "device.bin", "--issuer", "int.der"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let pem = stdout(&out);
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"), "{pem}");
    pki.write("device.pem", pem.as_bytes());
    let shown = json(&pki.run(&["cert", "show", "device.pem", "--json"]));
    assert_eq!(shown["kind"], "X.509 device certificate (PEM)");
    assert_eq!(shown["issuer"], "CN=Factory CA,O=provkit test");
    assert_eq!(shown["not_before"], "2025-06-01T00:00:00Z");

    let out = pki.run(&[
        "cert",
        "expand",
        "device.bin",
        "--issuer",
        "int.compact",
        "--der",
        "-o",
        &pki.path("device.der").display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let der = pki.read("device.der");
    assert_eq!(
        cert::to_pem(&der).unwrap(),
        pem,
        "DER and PEM are the same certificate"
    );

    let back = pki.path("back.bin").display().to_string();
    for input in ["device.pem", "device.der"] {
        let out = pki.run(&[
            "cert", "compress", input, "--issuer", "int.der", "-o", &back,
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(pki.read("back.bin"), pki.read("device.bin"), "{input}");
    }
    // The X.509 form verifies as the compact one does.
    let ok = json(&pki.run(&[
        "cert",
        "verify",
        "device.pem",
        "--root",
        "root.der",
        "--intermediate",
        "int.der",
        "--at",
        "2026-01-01",
        "--json",
    ]));
    assert_eq!(ok["serial"], "0x800000000000002a");
    // Expanding under the wrong issuer is refused before anything is written.
    refused(
        &pki.run(&["cert", "expand", "device.bin", "--issuer", "root.der"]),
        "issued by the CA with key id",
    );
}

#[test]
fn bad_input_is_one_clear_line_and_usage_errors_exit_2() {
    let pki = Pki::new("bad", 5);
    let device = pki.read("device.bin");
    pki.write("short.bin", &device[..110]);
    refused(
        &pki.run(&["cert", "show", "short.bin"]),
        "short.bin: not a certificate provkit reads",
    );
    pki.write("long.bin", &[&device[..], &[0]].concat());
    refused(&pki.run(&["cert", "show", "long.bin"]), "long.bin");
    refused(&pki.run(&["cert", "show", "missing.bin"]), "missing.bin");
    pki.write(
        "key.pem",
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
    );
    refused(
        &pki.run(&["cert", "show", "key.pem"]),
        "PEM holds a PUBLIC KEY, not a CERTIFICATE",
    );
    refused(
        &pki.run(&["cert", "verify", "device.bin", "--root", "device.bin"]),
        "not a CA certificate",
    );
    refused(
        &pki.run(&[
            "cert",
            "verify",
            "device.bin",
            "--root",
            "root.der",
            "--at",
            "soon",
        ]),
        "expected YYYY-MM-DD",
    );
    // A compressed certificate is never written over a file on refusal.
    pki.write("keep.bin", b"keep");
    let keep = pki.path("keep.bin").display().to_string();
    refused(
        &pki.run(&[
            "cert", "compress", "root.der", "--issuer", "int.der", "-o", &keep,
        ]),
        "root.der",
    );
    assert_eq!(pki.read("keep.bin"), b"keep");
    for usage in [
        &["cert"][..],
        &["cert", "show"],
        &["cert", "verify", "device.bin"],
        &["cert", "frobnicate"],
        &[
            "cert",
            "expand",
            "device.bin",
            "--issuer",
            "int.der",
            "--der",
        ],
    ] {
        let o = pki.run(usage);
        assert_eq!(o.status.code(), Some(2), "{usage:?}: {}", stderr(&o));
    }
    let help = pki.run(&["cert", "verify", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(
        stdout(&help).contains("Example: provkit cert verify"),
        "{}",
        stdout(&help)
    );
}
