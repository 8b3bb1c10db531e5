//! RFC 9180 with the recipient's and the auth-mode sender's static keys on aws-lc-rs:
//! every vector of provkit's `tests/data/hpke/rfc9180_p256_sha256_aesgcm.json` seals to
//! the vector's ciphertexts, opens them and exports the vector's values when the KEM's
//! Diffie-Hellman with those keys runs in an [`AwsLc`] store (by handle, as a server
//! holds its telemetry and shipment keys). The vector file lives in provkit's
//! `tests/data/hpke` (this test is left out of the package).

use provkit::envelope::hpke::{self, HpkeAead};
use provkit::store::{KeyId, MemoryStore};
use provkit::testing::FixedRng;
use provkit_aws_lc::AwsLc;
use serde_json::Value;
use std::path::Path;

type Store = MemoryStore<2, 0, 0, AwsLc>;
const RECIPIENT: KeyId = KeyId(1);
const SENDER: KeyId = KeyId(2);

fn hex(v: &Value) -> Vec<u8> {
    let s = v.as_str().unwrap();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn every_rfc9180_vector_with_static_keys_on_aws_lc() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/data/hpke/rfc9180_p256_sha256_aesgcm.json");
    let vectors: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (mut opened, mut exported) = (0, 0);
    for v in &vectors {
        let aead =
            HpkeAead::from_id(u16::try_from(v["aead_id"].as_u64().unwrap()).unwrap()).unwrap();
        let auth = v["mode"].as_u64() == Some(2);
        let info = hex(&v["info"]);
        let mut recipient = Store::new();
        let pk_r = hpke::derive_key_pair(&mut recipient, RECIPIENT, &hex(&v["ikmR"])).unwrap();
        assert_eq!(pk_r.to_uncompressed().to_vec(), hex(&v["pkRm"]));
        let mut sender = Store::new();
        let pk_s =
            auth.then(|| hpke::derive_key_pair(&mut sender, SENDER, &hex(&v["ikmS"])).unwrap());

        let ikm_e = hex(&v["ikmE"]);
        let mut rng = FixedRng::new(&ikm_e);
        let (enc, mut s) = if auth {
            hpke::setup_sender_auth(&mut sender, SENDER, &pk_r, aead, &info, &mut rng)
        } else {
            hpke::setup_sender_base(&pk_r, aead, &info, &mut rng)
        }
        .unwrap();
        assert_eq!(enc.to_vec(), hex(&v["enc"]));
        let mut r = match &pk_s {
            Some(pk_s) => {
                hpke::setup_receiver_auth(&mut recipient, RECIPIENT, pk_s, &enc, aead, &info)
            }
            None => hpke::setup_receiver_base(&mut recipient, RECIPIENT, &enc, aead, &info),
        }
        .unwrap();
        for e in v["encryptions"].as_array().unwrap() {
            let (aad, pt, ct) = (hex(&e["aad"]), hex(&e["pt"]), hex(&e["ct"]));
            let mut out = vec![0u8; ct.len()];
            s.seal(&aad, &pt, &mut out).unwrap();
            assert_eq!(out, ct);
            let mut buf = ct.clone();
            assert_eq!(r.open_in_place(&aad, &mut buf).unwrap(), &pt[..]);
            opened += 1;
        }
        for x in v["exports"].as_array().unwrap() {
            let mut got = vec![0u8; usize::try_from(x["L"].as_u64().unwrap()).unwrap()];
            r.export(&hex(&x["exporter_context"]), &mut got).unwrap();
            assert_eq!(got, hex(&x["exported_value"]));
            exported += 1;
        }
    }
    // The file's counts, as provkit's own tests/hpke.rs asserts them.
    assert_eq!((vectors.len(), opened, exported), (4, 771, 12));
}
