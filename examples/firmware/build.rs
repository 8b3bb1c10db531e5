//! Puts memory.x where cortex-m-rt's link.x finds it, and turns the committed handshake
//! transcript (tests/data/handshake/transcripts.json) into byte arrays, so the firmware
//! checks that it reproduces the host's transcript byte for byte.
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
        ("root_certificate_der", "ROOT_DER"),
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
    fs::write(out.join("vectors.rs"), rs).expect("write vectors.rs");
}
