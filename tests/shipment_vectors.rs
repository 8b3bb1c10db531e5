//! A shipment vector with every input and intermediate value, computed from
//! `docs/shipment-format.md` and RFC 9180 with the RustCrypto crates directly (p256, sha2,
//! hkdf, aes-gcm, cmac), never through provkit's shipment or HPKE code: so the spec, not
//! the code, is what it checks. Three records (AES-128, AES-192 and AES-256 keys) in two
//! chunks of at most two records. The manufacturer's signing key, the authority's HPKE
//! key and the ephemeral key material are given, so anyone can open, audit and re-make
//! the file. provkit's writer must produce the file byte for byte (the ephemeral key
//! comes from a `FixedRng`), and provkit's reader must open it to the same records.
//!
//! The result is `tests/data/shipment/vectors.json`; `PROVKIT_REGENERATE=1` rewrites it,
//! otherwise the regenerated text must equal the committed file.

use aes_gcm::aead::{AeadInOut, KeyInit};
use cmac::Mac;
use hkdf::Hkdf;
use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{Signature, SigningKey};
use p256::elliptic_curve::sec1::ToSec1Point;
use p256::{PublicKey, SecretKey};
use provkit::envelope::shipment::{
    self, DeviceKeyRecord, HEADER_LEN, KeyUsageCode, OpenedRecord, ShipmentHeader, ShipmentParams,
    ShipmentWriter,
};
use provkit::envelope::{KekId, KekRef, KekSlot};
use provkit::secret::{SecretBuf, SecretBytes};
use provkit::store::{IdentityKeys, KeyId, KeyKind, MemoryStore, SymmetricKeys, WrapAlgorithm};
use provkit::testing::FixedRng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

const SIGNER: KeyId = KeyId(1);
const RECIPIENT: KeyId = KeyId(1);
const KEK: KeyId = KeyId(2);

const INFO_LABEL: &[u8] = b"provkit shipment v1";
const COMMIT_LABEL: &[u8] = b"provkit shipment v1 commit";
const HEADER_SIG_LABEL: &[u8] = b"provkit shipment v1 header";
const TRANSCRIPT_LABEL: &[u8] = b"provkit shipment v1 transcript";
const KEM_ID: u16 = 0x0010;
const KDF_ID: u16 = 0x0001;
const AEAD_ID: u16 = 0x0002;

// The inputs.
const MANUFACTURER_SCALAR: [u8; 32] = [0x31; 32];
const AUTHORITY_SCALAR: [u8; 32] = [0x32; 32];
const EPHEMERAL_IKM: [u8; 32] = [0x73; 32];
const MANUFACTURER_ID: [u8; 16] = *b"ACME devices ltd";
const BATCH_ID: [u8; 16] = *b"batch 2025-06-01";
const RECORDS_PER_CHUNK: u16 = 2;
/// The authority's KEK: not part of the file, only where the reader re-wraps the keys.
const KEK_BYTES: [u8; 32] = [0x34; 32];

/// (serial, key id, usage, key): one AES key of each size.
fn records() -> Vec<(u64, u64, [u8; 2], Vec<u8>)> {
    let key = |len: usize, seed: u8| -> Vec<u8> {
        (0..len as u8)
            .map(|j| seed.wrapping_add(j.wrapping_mul(17)))
            .collect()
    };
    vec![
        (
            0x0000_0100_0000_0001,
            0xABCD_0000_0000_0001,
            *b"B1",
            key(16, 0x10),
        ),
        (
            0x0000_0100_0000_0002,
            0xABCD_0000_0000_0002,
            *b"D0",
            key(24, 0x20),
        ),
        (
            0x0000_0100_0000_0005,
            0xABCD_0000_0000_0003,
            *b"M6",
            key(32, 0x30),
        ),
    ]
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn uncompressed(p: &PublicKey) -> Vec<u8> {
    p.to_sec1_point(false).as_bytes().to_vec()
}

fn fingerprint(p: &PublicKey) -> Vec<u8> {
    Sha256::digest(uncompressed(p))[..8].to_vec()
}

/// RFC 9180's labeled HKDF under `suite_id`.
struct Labeled<'a>(&'a [u8]);

impl Labeled<'_> {
    fn extract(&self, salt: &[u8], label: &[u8], ikm: &[u8]) -> Vec<u8> {
        let ikm = [b"HPKE-v1", self.0, label, ikm].concat();
        Hkdf::<Sha256>::extract(Some(salt), &ikm).0.to_vec()
    }

    fn expand(&self, prk: &[u8], label: &[u8], info: &[u8], len: usize) -> Vec<u8> {
        let info = [
            &(len as u16).to_be_bytes()[..],
            b"HPKE-v1",
            self.0,
            label,
            info,
        ]
        .concat();
        let mut out = vec![0u8; len];
        Hkdf::<Sha256>::from_prk(prk)
            .unwrap()
            .expand(&info, &mut out)
            .unwrap();
        out
    }
}

/// RFC 9180 7.1.3 DeriveKeyPair for DHKEM(P-256, HKDF-SHA256).
fn derive_key_pair(ikm: &[u8]) -> SecretKey {
    let kem = Labeled(b"KEM\x00\x10");
    let dkp_prk = kem.extract(b"", b"dkp_prk", ikm);
    (0u8..=255)
        .find_map(|counter| {
            SecretKey::from_slice(&kem.expand(&dkp_prk, b"candidate", &[counter], 32)).ok()
        })
        .unwrap()
}

/// ECDSA P-256 over a SHA-256 digest signed as a prehash: RFC 6979, then low-S.
fn sign(key: &SecretKey, digest: &[u8; 32]) -> [u8; 64] {
    let sig: Signature = SigningKey::from(key.clone()).sign_prehash(digest).unwrap();
    sig.normalize_s().to_bytes().into()
}

/// The X9.24 key check value: AES-CMAC(key, 0^128)[0..5].
fn kcv(key: &[u8]) -> [u8; 5] {
    fn mac<C: KeyInit + Mac>(key: &[u8]) -> Vec<u8> {
        let mut m = <C as KeyInit>::new_from_slice(key).unwrap();
        m.update(&[0u8; 16]);
        m.finalize().into_bytes().to_vec()
    }
    let full = match key.len() {
        16 => mac::<cmac::Cmac<aes::Aes128>>(key),
        24 => mac::<cmac::Cmac<aes::Aes192>>(key),
        32 => mac::<cmac::Cmac<aes::Aes256>>(key),
        _ => unreachable!(),
    };
    full[..5].try_into().unwrap()
}

/// The whole file built from the spec, and its description.
fn compute() -> (Vec<u8>, Value) {
    let manufacturer = SecretKey::from_slice(&MANUFACTURER_SCALAR).unwrap();
    let authority = SecretKey::from_slice(&AUTHORITY_SCALAR).unwrap();
    let pk_r = uncompressed(&authority.public_key());
    let recs = records();
    let count = recs.len() as u32;

    // Header bytes 0..65: everything before `enc`.
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(b"PKSH");
    header.push(1);
    header.extend_from_slice(&KEM_ID.to_be_bytes());
    header.extend_from_slice(&KDF_ID.to_be_bytes());
    header.extend_from_slice(&AEAD_ID.to_be_bytes());
    header.extend_from_slice(&MANUFACTURER_ID);
    header.extend_from_slice(&fingerprint(&manufacturer.public_key()));
    header.extend_from_slice(&fingerprint(&authority.public_key()));
    header.extend_from_slice(&BATCH_ID);
    header.extend_from_slice(&count.to_be_bytes());
    header.extend_from_slice(&RECORDS_PER_CHUNK.to_be_bytes());
    assert_eq!(header.len(), 65);
    let info = [INFO_LABEL, &header].concat();

    // DHKEM(P-256) Encap with the derived ephemeral key.
    let sk_e = derive_key_pair(&EPHEMERAL_IKM);
    let enc = uncompressed(&sk_e.public_key());
    let dh =
        p256::ecdh::diffie_hellman(sk_e.to_nonzero_scalar(), authority.public_key().as_affine());
    let kem = Labeled(b"KEM\x00\x10");
    let eae_prk = kem.extract(b"", b"eae_prk", dh.raw_secret_bytes());
    let kem_context = [&enc[..], &pk_r].concat();
    let shared_secret = kem.expand(&eae_prk, b"shared_secret", &kem_context, 32);

    // KeySchedule, base mode, AES-256-GCM.
    let suite_id = [
        &b"HPKE"[..],
        &KEM_ID.to_be_bytes(),
        &KDF_ID.to_be_bytes(),
        &AEAD_ID.to_be_bytes(),
    ]
    .concat();
    let hpke = Labeled(&suite_id);
    let psk_id_hash = hpke.extract(b"", b"psk_id_hash", b"");
    let info_hash = hpke.extract(b"", b"info_hash", &info);
    let ks_context = [&[0u8][..], &psk_id_hash, &info_hash].concat();
    let secret = hpke.extract(&shared_secret, b"secret", b"");
    let key = hpke.expand(&secret, b"key", &ks_context, 32);
    let base_nonce = hpke.expand(&secret, b"base_nonce", &ks_context, 12);
    let exporter_secret = hpke.expand(&secret, b"exp", &ks_context, 32);
    let commitment = hpke.expand(&exporter_secret, b"sec", COMMIT_LABEL, 32);

    header.extend_from_slice(&enc);
    header.extend_from_slice(&commitment);
    assert_eq!(header.len(), 162);
    let header_digest: [u8; 32] = Sha256::digest([HEADER_SIG_LABEL, &header].concat()).into();
    let header_signature = sign(&manufacturer, &header_digest);
    header.extend_from_slice(&header_signature);
    assert_eq!(header.len(), HEADER_LEN);

    // Records, 56 bytes each.
    let mut record_values = Vec::new();
    let mut plaintexts = Vec::new();
    for (serial, key_id, usage, k) in &recs {
        let key_type = match k.len() {
            16 => 1u8,
            24 => 2,
            _ => 3,
        };
        let check = kcv(k);
        let mut r = Vec::with_capacity(56);
        r.extend_from_slice(&serial.to_be_bytes());
        r.extend_from_slice(&key_id.to_be_bytes());
        r.extend_from_slice(usage);
        r.push(key_type);
        r.extend_from_slice(&check);
        r.extend_from_slice(k);
        r.resize(56, 0);
        record_values.push(json!({
            "serial": serial,
            "key_id": key_id,
            "usage": String::from_utf8(usage.to_vec()).unwrap(),
            "key_type": key_type,
            "key": hex(k),
            "kcv": hex(&check),
            "plaintext": hex(&r),
        }));
        plaintexts.push(r);
    }

    // Chunks: one Seal each, sequence number = chunk index.
    let cipher = aes_gcm::Aes256Gcm::new_from_slice(&key).unwrap();
    let mut transcript = Sha256::new();
    transcript.update(TRANSCRIPT_LABEL);
    transcript.update(&header);
    let mut file = header.clone();
    let mut chunk_values = Vec::new();
    let groups: Vec<&[Vec<u8>]> = plaintexts.chunks(RECORDS_PER_CHUNK.into()).collect();
    for (i, group) in groups.iter().enumerate() {
        let is_final = i + 1 == groups.len();
        let n = group.len() as u16;
        let mut aad = (i as u32).to_be_bytes().to_vec();
        aad.push(u8::from(is_final));
        aad.extend_from_slice(&n.to_be_bytes());
        let mut nonce = base_nonce.clone();
        for (b, s) in nonce[4..].iter_mut().zip((i as u64).to_be_bytes()) {
            *b ^= s;
        }
        let plaintext = group.concat();
        let mut body = plaintext.clone();
        let tag = cipher
            .encrypt_inout_detached(
                nonce.as_slice().try_into().unwrap(),
                &aad,
                body.as_mut_slice().into(),
            )
            .unwrap();
        let chunk = [&body[..], &tag].concat();
        transcript.update(&chunk);
        file.extend_from_slice(&chunk);
        chunk_values.push(json!({
            "index": i,
            "final": is_final,
            "records": n,
            "aad": hex(&aad),
            "sequence_number": i,
            "nonce": hex(&nonce),
            "plaintext": hex(&plaintext),
            "tag": hex(&tag),
            "chunk": hex(&chunk),
        }));
    }
    let transcript_hash: [u8; 32] = transcript.finalize().into();
    let trailer = sign(&manufacturer, &transcript_hash);
    file.extend_from_slice(&trailer);

    let u16h = |v: u16| hex(&v.to_be_bytes());
    let v = json!({
        "source": "provkit tests/shipment_vectors.rs: computed from docs/shipment-format.md and RFC 9180 with the RustCrypto crates directly (p256, sha2, hkdf, aes-gcm, cmac); equal to provkit's ShipmentWriter byte for byte (ephemeral key from FixedRng(ephemeral_ikm)), opened by provkit's open_shipment and audit_shipment",
        "conventions": "hex byte strings; integers in the header and records big-endian; signatures ECDSA P-256 raw r || s, RFC 6979 nonces, low-S, over the SHA-256 digest given (signed as a prehash); public keys SEC1 uncompressed",
        "inputs": {
            "manufacturer_private_scalar": hex(&MANUFACTURER_SCALAR),
            "manufacturer_public_key": hex(&uncompressed(&manufacturer.public_key())),
            "authority_private_scalar": hex(&AUTHORITY_SCALAR),
            "authority_public_key": hex(&pk_r),
            "ephemeral_ikm": hex(&EPHEMERAL_IKM),
            "ephemeral_note": "the HPKE ephemeral key is DeriveKeyPair(ephemeral_ikm), RFC 9180 7.1.3",
            "manufacturer_id": hex(&MANUFACTURER_ID),
            "batch_id": hex(&BATCH_ID),
            "record_count": count,
            "records_per_chunk": RECORDS_PER_CHUNK,
        },
        "header": {
            "magic": hex(b"PKSH"),
            "version": 1,
            "kem_id": u16h(KEM_ID),
            "kdf_id": u16h(KDF_ID),
            "aead_id": u16h(AEAD_ID),
            "manufacturer_id": hex(&MANUFACTURER_ID),
            "manufacturer_key_fingerprint": hex(&header[27..35]),
            "recipient_key_fingerprint": hex(&header[35..43]),
            "batch_id": hex(&BATCH_ID),
            "record_count": count,
            "records_per_chunk": RECORDS_PER_CHUNK,
            "enc": hex(&enc),
            "commitment": hex(&commitment),
            "signature": hex(&header_signature),
            "bytes": hex(&header),
        },
        "hpke": {
            "mode": 0,
            "suite_id": hex(&suite_id),
            "info": hex(&info),
            "ephemeral_private_scalar": hex(&sk_e.to_bytes()),
            "enc": hex(&enc),
            "dh": hex(dh.raw_secret_bytes()),
            "kem_context": hex(&kem_context),
            "shared_secret": hex(&shared_secret),
            "key_schedule_context": hex(&ks_context),
            "secret": hex(&secret),
            "key": hex(&key),
            "base_nonce": hex(&base_nonce),
            "exporter_secret": hex(&exporter_secret),
            "exporter_context": hex(COMMIT_LABEL),
            "export_length": 32,
            "commitment": hex(&commitment),
        },
        "header_signature": {
            "label": hex(HEADER_SIG_LABEL),
            "signed_bytes": "label || header[0..162]",
            "digest": hex(&header_digest),
            "signature": hex(&header_signature),
        },
        "records": record_values,
        "chunks": chunk_values,
        "trailer": {
            "label": hex(TRANSCRIPT_LABEL),
            "signed_bytes": "label || header (226 bytes) || chunk 0 || ... || chunk C-1",
            "transcript_hash": hex(&transcript_hash),
            "signature": hex(&trailer),
        },
        "file_length": file.len(),
        "file": hex(&file),
    });
    (file, v)
}

#[test]
fn shipment_vector_follows_from_the_spec_and_matches_provkit() {
    let (file, v) = compute();

    // provkit's writer, with the same keys and ephemeral IKM, writes the same bytes.
    let mut manufacturer = MemoryStore::<1, 0, 0>::new();
    let manufacturer_pk = manufacturer
        .import_p256(SIGNER, &SecretBytes::new(MANUFACTURER_SCALAR))
        .unwrap();
    let mut authority = MemoryStore::<2, 0, 0>::new();
    let authority_pk = authority
        .import_p256(RECIPIENT, &SecretBytes::new(AUTHORITY_SCALAR))
        .unwrap();
    authority
        .import_symmetric(KEK, KeyKind::Aes256, &KEK_BYTES)
        .unwrap();
    let recs = records();
    let params = ShipmentParams::new(MANUFACTURER_ID, BATCH_ID, recs.len() as u32)
        .with_records_per_chunk(RECORDS_PER_CHUNK);
    let mut buf = vec![0u8; shipment::chunk_buffer_len(RECORDS_PER_CHUNK)];
    let mut rng = FixedRng::new(&EPHEMERAL_IKM);
    let (mut w, header) = ShipmentWriter::new(
        &mut manufacturer,
        SIGNER,
        &authority_pk,
        &params,
        &mut buf,
        &mut rng,
    )
    .unwrap();
    assert_eq!(
        rng.consumed(),
        32,
        "the ephemeral key takes exactly 32 bytes"
    );
    let mut written = header.to_vec();
    for (serial, key_id, usage, key) in &recs {
        let r = DeviceKeyRecord::new(
            *serial,
            *key_id,
            KeyUsageCode(*usage),
            &SecretBuf::<32>::from_slice(key).unwrap(),
        )
        .unwrap();
        assert_eq!(hex(&r.kcv().0), hex(&kcv(key)), "provkit's KCV");
        if let Some(chunk) = w.push(&r).unwrap() {
            written.extend_from_slice(chunk);
        }
    }
    written.extend_from_slice(&w.finish(&mut manufacturer).unwrap());
    assert_eq!(hex(&written), hex(&file), "provkit writes differently");

    // The header parses to the inputs, and provkit's reader opens the file to the records.
    let parsed = ShipmentHeader::parse(&file[..HEADER_LEN]).unwrap();
    assert_eq!(parsed.manufacturer_id, MANUFACTURER_ID);
    assert_eq!(parsed.batch_id, BATCH_ID);
    assert_eq!(parsed.record_count, 3);
    assert_eq!(parsed.chunk_count(), 2);
    assert_eq!(parsed.file_len(), file.len() as u64);
    shipment::audit_shipment(&file, &manufacturer_pk).unwrap();
    let slot = KekSlot {
        kek: KekRef {
            id: KekId(*b"ta-kek\0\0"),
            version: 1,
        },
        key: KEK,
        wrap: WrapAlgorithm::AesKw,
    };
    let mut released: Vec<OpenedRecord> = Vec::new();
    let mut scratch = vec![0u8; parsed.max_chunk_len()];
    let summary = shipment::open_shipment(
        &mut authority,
        RECIPIENT,
        &manufacturer_pk,
        slot,
        &file,
        &mut scratch,
        |r| {
            released.push(*r);
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(summary.records, 3);
    assert_eq!(
        hex(&summary.transcript_hash),
        v["trailer"]["transcript_hash"].as_str().unwrap()
    );
    assert_eq!(released.len(), recs.len());
    for (r, (want, (serial, key_id, usage, key))) in released
        .iter()
        .zip(v["records"].as_array().unwrap().iter().zip(&recs))
    {
        assert_eq!((r.serial, r.key_id, r.usage.0), (*serial, *key_id, *usage));
        assert_eq!(hex(&r.kcv.0), want["kcv"].as_str().unwrap());
        let mut out = [0u8; 32];
        let n = authority
            .unwrap_bytes(KEK, r.wrapped.alg, r.wrapped.as_bytes(), &mut out)
            .unwrap();
        assert_eq!(hex(&out[..n]), hex(key), "the re-wrapped key");
    }

    // One flipped byte anywhere in a chunk, the header or the trailer fails the audit.
    for at in [
        12,
        70,
        200,
        HEADER_LEN + 3,
        file.len() - 100,
        file.len() - 1,
    ] {
        let mut bad = file.clone();
        bad[at] ^= 1;
        assert!(
            shipment::audit_shipment(&bad, &manufacturer_pk).is_err(),
            "byte {at} flipped"
        );
    }

    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/shipment/vectors.json");
    let text = serde_json::to_string_pretty(&v).unwrap() + "\n";
    if std::env::var_os("PROVKIT_REGENERATE").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        text,
        "shipment vectors changed"
    );
}
