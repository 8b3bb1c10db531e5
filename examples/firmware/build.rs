//! Puts memory.x where cortex-m-rt's link.x finds it, and turns the committed handshake
//! transcript (tests/data/handshake/transcripts.json) into byte arrays, so the firmware
//! checks that it reproduces the host's transcript byte for byte; and turns the X9.24-3
//! AES-128 DUKPT vectors (tests/data/dukpt/aes_dukpt.json) into a table of expected PIN
//! blocks and CMACs per transaction counter; and Wycheproof's ECDSA P-256 and ECDH
//! secp256r1 files into tables the assembly provider runs under QEMU.
use std::{env, fs, path::PathBuf};

fn field<'a>(json: &'a str, name: &str) -> &'a str {
    let key = format!("\"{name}\": \"");
    let start = json.find(&key).unwrap_or_else(|| panic!("{name} missing")) + key.len();
    let end = start + json[start..].find('"').expect("closing quote");
    &json[start..end]
}

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("OUT_DIR"));
    fs::copy("memory.x", out.join("memory.x")).expect("copy memory.x");
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rerun-if-changed=memory.x");

    let path = "../../tests/data/handshake/transcripts.json";
    println!("cargo:rerun-if-changed={path}");
    let json = fs::read_to_string(path).expect("transcripts.json");
    let first = &json[..json
        .find("\"responder_credential\": \"ByReference\"")
        .unwrap_or(json.len())];
    let mut rs = String::new();
    for (name, konst) in [
        ("root_certificate_compact", "ROOT_COMPACT"),
        ("initiator_compact_certificate", "INITIATOR_CERT"),
        ("responder_compact_certificate", "RESPONDER_CERT"),
        ("initiator_private_scalar", "INITIATOR_SCALAR"),
        ("responder_private_scalar", "RESPONDER_SCALAR"),
        ("initiator_ephemeral_scalar", "INITIATOR_EPHEMERAL"),
        ("responder_ephemeral_scalar", "RESPONDER_EPHEMERAL"),
        ("message_1", "MESSAGE_1"),
        ("message_2", "MESSAGE_2"),
        ("message_3", "MESSAGE_3"),
        ("exported_32", "EXPORTED"),
    ] {
        let hex = field(first, name);
        let bytes: Vec<String> = (0..hex.len())
            .step_by(2)
            .map(|i| format!("0x{}", &hex[i..i + 2]))
            .collect();
        rs += &format!(
            "pub const {konst}: [u8; {}] = [{}];\n",
            bytes.len(),
            bytes.join(", ")
        );
    }
    rs += &format!("pub const NOW: u64 = {};\n", {
        let key = "\"now\": ";
        let s = first.find(key).expect("now") + key.len();
        &first[s..s + first[s..].find(',').expect("comma")]
    });
    rs += &dukpt_vectors();
    rs += &wycheproof_ecdsa();
    rs += &wycheproof_ecdh();
    fs::write(out.join("vectors.rs"), rs).expect("write vectors.rs");
}

fn hex_array(hex: &str) -> String {
    let bytes: Vec<String> = (0..hex.len())
        .step_by(2)
        .map(|i| format!("0x{}", &hex[i..i + 2]))
        .collect();
    format!("[{}]", bytes.join(", "))
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

fn byte_list(bytes: &[u8]) -> String {
    let items: Vec<String> = bytes.iter().map(|b| format!("0x{b:02x}")).collect();
    format!("&[{}]", items.join(", "))
}

/// Wycheproof's result: valid (must pass), invalid (must fail), acceptable (either).
fn outcome(v: &serde_json::Value) -> &'static str {
    match v["result"].as_str().expect("result") {
        "valid" => "Outcome::Valid",
        "invalid" => "Outcome::Invalid",
        _ => "Outcome::Acceptable",
    }
}

/// `WYCHEPROOF_ECDSA: [(uncompressed key, message, P1363 signature, outcome)]` from
/// Wycheproof's ECDSA P-256 SHA-256 (IEEE P1363 signatures) file.
fn wycheproof_ecdsa() -> String {
    let path = "../../tests/data/wycheproof/ecdsa_secp256r1_sha256_p1363_test.json";
    println!("cargo:rerun-if-changed={path}");
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(path).expect("ecdsa file")).expect("json");
    let mut rows = Vec::new();
    for group in json["testGroups"].as_array().expect("groups") {
        let key = hex_bytes(group["publicKey"]["uncompressed"].as_str().expect("key"));
        for t in group["tests"].as_array().expect("tests") {
            rows.push(format!(
                "({}, {}, {}, {})",
                byte_list(&key),
                byte_list(&hex_bytes(t["msg"].as_str().expect("msg"))),
                byte_list(&hex_bytes(t["sig"].as_str().expect("sig"))),
                outcome(t)
            ));
        }
    }
    format!(
        "pub static WYCHEPROOF_ECDSA: [Case; {}] = [{}];\n",
        rows.len(),
        rows.join(",\n")
    )
}

/// `WYCHEPROOF_ECDH: [(public point or empty, private scalar, shared, outcome)]` from
/// Wycheproof's ECDH secp256r1 file (X.509 public keys). The point is the SPKI's when
/// the SPKI is a named-curve P-256 key (provkit's profile); empty otherwise, which
/// provkit refuses before any arithmetic, so such a test must not be `valid`.
fn wycheproof_ecdh() -> String {
    const NAMED_P256: &str = "301306072a8648ce3d020106082a8648ce3d030107";
    let path = "../../tests/data/wycheproof/ecdh_secp256r1_test.json";
    println!("cargo:rerun-if-changed={path}");
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(path).expect("ecdh file")).expect("json");
    let mut rows = Vec::new();
    for group in json["testGroups"].as_array().expect("groups") {
        for t in group["tests"].as_array().expect("tests") {
            let spki = t["public"].as_str().expect("public");
            // SEQUENCE { named P-256 AlgorithmIdentifier, BIT STRING (0 unused bits) }.
            let point = [("3059", "034200", 65usize), ("3039", "032200", 33)]
                .iter()
                .find_map(|(outer, bits, len)| {
                    let prefix = format!("{outer}{NAMED_P256}{bits}");
                    let rest = spki.strip_prefix(&prefix)?;
                    (rest.len() == 2 * len).then(|| hex_bytes(rest))
                })
                .unwrap_or_default();
            let mut private = hex_bytes(t["private"].as_str().expect("private"));
            while private.len() > 32 && private[0] == 0 {
                private.remove(0);
            }
            let mut scalar = vec![0u8; 32usize.saturating_sub(private.len())];
            scalar.extend_from_slice(&private);
            rows.push(format!(
                "({}, {}, {}, {})",
                byte_list(&point),
                byte_list(&scalar),
                byte_list(&hex_bytes(t["shared"].as_str().expect("shared"))),
                outcome(t)
            ));
        }
    }
    format!(
        "pub static WYCHEPROOF_ECDH: [Case; {}] = [{}];\n",
        rows.len(),
        rows.join(",\n")
    )
}

/// `DUKPT_IK`, `DUKPT_IKID` and `DUKPT: [(counter, pin block, cmac)]` for the AES-128
/// BDK, with the PIN, PAN, fill and message the vectors use.
fn dukpt_vectors() -> String {
    let path = "../../tests/data/dukpt/aes_dukpt.json";
    println!("cargo:rerun-if-changed={path}");
    let json: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(path).expect("aes_dukpt.json")).expect("json");
    let vectors = json["vectors"].as_array().expect("vectors");
    let s = |v: &serde_json::Value| v.as_str().expect("string").to_owned();
    let mut rows = Vec::new();
    let (mut ik, mut ikid, mut pin, mut pan, mut msg) = (None, None, None, None, None);
    for v in vectors {
        let id = s(&v["id"]);
        if !id.starts_with("aes128bdk-") || !id.ends_with("-aes128") {
            continue;
        }
        let e = &v["expected"];
        let counter = u32::from_str_radix(&s(&v["transaction_counter"]), 16).expect("counter");
        ik.get_or_insert_with(|| s(&e["initial_key"]));
        ikid.get_or_insert_with(|| s(&v["initial_key_id"]));
        if id.ends_with("pin_encryption-aes128") {
            let p = &e["pin_block_format4"];
            pin.get_or_insert_with(|| (s(&p["pin"]), s(&p["random_fill"])));
            pan.get_or_insert_with(|| s(&p["pan"]));
            rows.push((counter, Some(s(&p["encrypted_pin_block"])), None));
        } else if id.ends_with("mac_generation-aes128") {
            let m = &e["aes_cmac"];
            msg.get_or_insert_with(|| s(&m["message_ascii"]));
            rows.push((counter, None, Some(s(&m["mac"]))));
        }
    }
    let mut table = Vec::new();
    for (counter, pin_block, _) in rows.iter().filter(|r| r.1.is_some()) {
        let mac = rows
            .iter()
            .find(|r| r.0 == *counter && r.2.is_some())
            .and_then(|r| r.2.clone())
            .expect("a CMAC for each PIN-block counter");
        table.push(format!(
            "({counter}, {}, {})",
            hex_array(pin_block.as_deref().expect("pin block")),
            hex_array(&mac)
        ));
    }
    let (pin, fill) = pin.expect("pin");
    format!(
        "pub const DUKPT_IK: [u8; 16] = {};\npub const DUKPT_IKID: [u8; 8] = {};\n\
         pub const DUKPT_PIN: &[u8] = b\"{pin}\";\npub const DUKPT_FILL: [u8; 8] = {};\n\
         pub const DUKPT_PAN: &[u8] = b\"{}\";\npub const DUKPT_MESSAGE: &[u8] = b\"{}\";\n\
         pub const DUKPT: [(u32, [u8; 16], [u8; 16]); {}] = [{}];\n",
        hex_array(&ik.expect("ik")),
        hex_array(&ikid.expect("ikid")),
        hex_array(&fill),
        pan.expect("pan"),
        msg.expect("message"),
        table.len(),
        table.join(", ")
    )
}
