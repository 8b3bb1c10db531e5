//! Puts memory.x where cortex-m-rt's link.x finds it, and turns the committed handshake
//! transcript (tests/data/handshake/transcripts.json) into byte arrays, so the firmware
//! checks that it reproduces the host's transcript byte for byte; and turns the X9.24-3
//! AES-128 DUKPT vectors (tests/data/dukpt/aes_dukpt.json) into a table of expected PIN
//! blocks and CMACs per transaction counter.
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
    fs::write(out.join("vectors.rs"), rs).expect("write vectors.rs");
}

fn hex_array(hex: &str) -> String {
    let bytes: Vec<String> = (0..hex.len())
        .step_by(2)
        .map(|i| format!("0x{}", &hex[i..i + 2]))
        .collect();
    format!("[{}]", bytes.join(", "))
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
