//! ECDSA malleability: `(r, s)` and `(r, n - s)` both verify, so provkit writes only the
//! low-S form and its own formats (compact device and CA certificates, replacement
//! statements, handshake signatures, telemetry, shipments) accept only that form.

mod common;

use common::*;
use provkit::Error;
use provkit::cert::{self, CaCert, CaName, CaProfile, CompactCert, DeviceRequest, X509Cert};
use provkit::ec::{EcPublicKey, EcdsaSignature, sha256};
use provkit::error::DecodeErrorKind;
use provkit::handshake::Replacement;
use provkit::secret::SecretBytes;
use provkit::store::{IdentityKeys, KeyId, KeyInventory, MemoryStore};
use provkit::testing::InsecureTestRng;

/// The P-256 group order, big-endian.
const N: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
];

/// `r || n - s`: the other valid encoding of the same signature.
fn twin(sig: &[u8]) -> [u8; 64] {
    let mut out = [0u8; 64];
    out[..32].copy_from_slice(&sig[..32]);
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(N[i]) - i16::from(sig[32 + i]) - borrow;
        borrow = i16::from(d < 0);
        out[32 + i] = d.rem_euclid(256) as u8;
    }
    assert_eq!(borrow, 0, "s < n");
    out
}

fn decode_err<T: core::fmt::Debug>(r: provkit::Result<T>, kind: DecodeErrorKind, at: usize) {
    match r {
        Err(Error::Decode(d)) => {
            assert_eq!(d.kind, kind);
            assert_eq!(d.offset.get(), at, "offset");
        }
        other => panic!("expected Decode({kind:?}) at {at}, got {other:?}"),
    }
}

#[test]
fn twin_arithmetic_is_right() {
    let mut rng = InsecureTestRng::new(5);
    let mut store = MemoryStore::<1, 0, 0>::new();
    let public = store.generate_p256(KeyId(1), &mut rng).unwrap();
    let digest = sha256(b"twin");
    let sig = store.sign_digest(KeyId(1), &digest).unwrap();
    let high = EcdsaSignature(twin(&sig.0));
    // Both verify under plain ECDSA: the malleability this file is about.
    public.verify_digest(&digest, &sig).unwrap();
    public.verify_digest(&digest, &high).unwrap();
    assert!(sig.is_low_s());
    assert!(!high.is_low_s());
    assert_eq!(high.normalize_s(), sig);
    assert_eq!(sig.normalize_s(), sig);
    // Only the low form passes the strict check provkit's own formats use.
    public.verify_digest_low_s(&digest, &sig).unwrap();
    assert_eq!(
        public.verify_digest_low_s(&digest, &high),
        Err(Error::Crypto)
    );
}

#[test]
fn software_stores_sign_low_s() {
    let mut rng = InsecureTestRng::new(6);
    let mut store = MemoryStore::<1, 0, 0>::new();
    store.generate_p256(KeyId(1), &mut rng).unwrap();
    // Unnormalised ECDSA is high-S half of the time: 64 signatures all low-S would
    // happen by chance with probability 2^-64.
    for i in 0u32..64 {
        let sig = store
            .sign_digest(KeyId(1), &sha256(&i.to_be_bytes()))
            .unwrap();
        assert!(sig.is_low_s(), "signature {i} is high-S");
    }
}

#[test]
fn compact_device_certificate_with_high_s_is_refused() {
    let pki = Pki::new(31);
    let good = CompactCert::parse(&pki.device).unwrap();
    assert!(good.signature().is_low_s());
    let mut flipped = pki.device;
    flipped[47..].copy_from_slice(&twin(&pki.device[47..]));
    assert_ne!(flipped, pki.device);
    decode_err(
        CompactCert::parse(&flipped),
        DecodeErrorKind::InvalidValue,
        79,
    );
}

#[test]
fn compact_ca_certificates_with_high_s_are_refused() {
    let pki = Pki::new(32);
    for ca in [pki.root(), pki.intermediate()] {
        let mut buf = [0u8; cert::COMPACT_CA_MAX_LEN];
        let n = ca.write_compact(&mut buf).unwrap();
        let compact = buf[..n].to_vec();
        CaCert::from_compact(&compact).unwrap();
        let mut flipped = compact.clone();
        let tw = twin(&compact[70..134]);
        flipped[70..134].copy_from_slice(&tw);
        decode_err(
            CaCert::from_compact(&flipped),
            DecodeErrorKind::InvalidValue,
            102,
        );
    }
}

/// DER length octets.
fn der_len(len: usize) -> Vec<u8> {
    match len {
        0..=0x7f => vec![len as u8],
        0x80..=0xff => vec![0x81, len as u8],
        _ => vec![0x82, (len >> 8) as u8, len as u8],
    }
}

fn tlv(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(body.len()));
    out.extend_from_slice(body);
    out
}

fn der_uint(be: &[u8]) -> Vec<u8> {
    let mut v: Vec<u8> = be.iter().copied().skip_while(|b| *b == 0).collect();
    if v.first().is_none_or(|b| b & 0x80 != 0) {
        v.insert(0, 0);
    }
    tlv(0x02, &v)
}

/// `der` with its signature replaced by `sig` (re-encoded).
fn with_signature(der: &[u8], sig: &[u8; 64]) -> Vec<u8> {
    let x = X509Cert::from_der(der).unwrap();
    let alg = [
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
    ];
    let mut value = der_uint(&sig[..32]);
    value.extend(der_uint(&sig[32..]));
    let mut bits = vec![0u8];
    bits.extend(tlv(0x30, &value));
    let mut body = x.tbs().to_vec();
    body.extend_from_slice(&alg);
    body.extend(tlv(0x03, &bits));
    tlv(0x30, &body)
}

#[test]
fn importing_x509_with_high_s_is_outside_profile() {
    let pki = Pki::new(33);
    let der = pki.device_der();
    let int = pki.intermediate();
    // The re-encoder reproduces the original.
    let sig = X509Cert::from_der(&der).unwrap().signature().0;
    assert_eq!(with_signature(&der, &sig), der);
    let high = with_signature(&der, &twin(&sig));
    // Still a valid X.509 certificate that verifies: X.509 does not require low-S.
    let x = X509Cert::from_der(&high).unwrap();
    x.verify_signature(int.public_key()).unwrap();
    // But it has no compact form.
    decode_err(
        cert::import_x509(&high, int.as_issuer()),
        DecodeErrorKind::OutsideProfile,
        high.len() - 32,
    );
    assert_eq!(
        cert::import_x509(&der, int.as_issuer()).unwrap(),
        pki.device
    );
}

#[test]
fn x509_ca_with_high_s_has_no_compact_form() {
    let pki = Pki::new(34);
    for der in [pki.root_der.clone(), pki.intermediate_der.clone()] {
        let sig = X509Cert::from_der(&der).unwrap().signature().0;
        let high = with_signature(&der, &twin(&sig));
        // A foreign CA signed high-S is still a CA certificate in DER...
        let ca = CaCert::from_der(&high).unwrap();
        // ...but its compact form would be a second encoding: refused.
        let mut buf = [0u8; cert::COMPACT_CA_MAX_LEN];
        decode_err(
            ca.write_compact(&mut buf),
            DecodeErrorKind::OutsideProfile,
            high.len() - 32,
        );
    }
}

/// A key store whose signatures come back high-S, as some HSMs' do.
struct HighSStore(MemoryStore<4, 0, 0>);

impl KeyInventory for HighSStore {
    fn key_kind(&mut self, id: KeyId) -> provkit::Result<provkit::store::KeyKind> {
        self.0.key_kind(id)
    }
    fn delete_key(&mut self, id: KeyId) -> provkit::Result<()> {
        self.0.delete_key(id)
    }
}

impl IdentityKeys for HighSStore {
    fn generate_p256(
        &mut self,
        id: KeyId,
        rng: &mut dyn rand_core::CryptoRng,
    ) -> provkit::Result<EcPublicKey> {
        self.0.generate_p256(id, rng)
    }
    fn import_p256(&mut self, id: KeyId, scalar: &SecretBytes<32>) -> provkit::Result<EcPublicKey> {
        self.0.import_p256(id, scalar)
    }
    fn public_key(&mut self, id: KeyId) -> provkit::Result<EcPublicKey> {
        self.0.public_key(id)
    }
    fn sign_digest(&mut self, id: KeyId, digest: &[u8; 32]) -> provkit::Result<EcdsaSignature> {
        let sig = self.0.sign_digest(id, digest)?;
        Ok(if sig.is_low_s() {
            EcdsaSignature(twin(&sig.0))
        } else {
            sig
        })
    }
    fn ecdh(&mut self, id: KeyId, peer: &EcPublicKey) -> provkit::Result<SecretBytes<32>> {
        self.0.ecdh(id, peer)
    }
}

#[test]
fn issuance_normalizes_a_stores_high_s() {
    let mut rng = InsecureTestRng::new(35);
    let mut hsm = HighSStore(MemoryStore::new());
    let root_key = KeyId(1);
    hsm.generate_p256(root_key, &mut rng).unwrap();
    // The store really does return high-S.
    assert!(!hsm.sign_digest(root_key, &[7; 32]).unwrap().is_low_s());
    let profile = CaProfile::new(
        CaName::new("High-S HSM Root").with_organization("provkit test"),
        [0x33; 16],
        T0,
        T0 + 20 * 365 * 86_400,
    )
    .with_path_len(1);
    let mut der = [0u8; 512];
    let n = cert::create_root(&mut hsm, root_key, &profile, &mut der).unwrap();
    let root = CaCert::from_der(&der[..n]).unwrap();
    assert!(root.x509().unwrap().signature().is_low_s(), "root is low-S");
    let mut compact = [0u8; cert::COMPACT_CA_MAX_LEN];
    let cn = root.write_compact(&mut compact).unwrap();
    CaCert::from_compact(&compact[..cn]).unwrap();

    let int_key = KeyId(2);
    let int_public = hsm.generate_p256(int_key, &mut rng).unwrap();
    let mut int_der = [0u8; 512];
    let n = cert::create_intermediate(
        &mut hsm,
        root_key,
        &root,
        &int_public,
        &CaProfile::new(
            profile.name,
            [0x34; 16],
            profile.not_before,
            profile.not_after,
        )
        .with_path_len(0),
        &mut int_der,
    )
    .unwrap();
    let int = CaCert::from_der(&int_der[..n]).unwrap();
    assert!(
        int.x509().unwrap().signature().is_low_s(),
        "intermediate is low-S"
    );
    cert::verify_ca(&root, &int, NOW).unwrap();

    let mut device = MemoryStore::<1, 0, 0>::new();
    let device_public = device.generate_p256(DEVICE_KEY, &mut rng).unwrap();
    let compact = cert::issue_device(
        &mut hsm,
        int_key,
        &int,
        &DeviceRequest::new(SERIAL, &device_public, ISSUED),
    )
    .unwrap();
    let parsed = CompactCert::parse(&compact).unwrap();
    assert!(parsed.signature().is_low_s(), "device certificate is low-S");
    cert::verify_device(&root, Some(&int), &parsed, NOW).unwrap();

    // Replacement statements too.
    let statement = Replacement::sign(&mut hsm, int_key, SERIAL - 1, &parsed).unwrap();
    let bytes = statement.encode();
    assert!(EcdsaSignature(bytes[49..].try_into().unwrap()).is_low_s());
    Replacement::parse(&bytes).unwrap();
}

#[test]
fn replacement_statement_with_high_s_is_refused() {
    let mut pki = Pki::new(36);
    let new_device = pki.device(SERIAL + 1, 77);
    let new_cert = CompactCert::parse(&new_device.cert).unwrap();
    let statement =
        Replacement::sign(&mut pki.ca_store, INTERMEDIATE_KEY, SERIAL, &new_cert).unwrap();
    let mut bytes = statement.encode();
    Replacement::parse(&bytes).unwrap();
    let tw = twin(&bytes[49..]);
    bytes[49..].copy_from_slice(&tw);
    decode_err(
        Replacement::parse(&bytes),
        DecodeErrorKind::InvalidValue,
        81,
    );
}

#[test]
fn normalize_s_at_the_edges() {
    let with_s = |s: [u8; 32]| {
        let mut sig = [0x11u8; 64];
        sig[32..].copy_from_slice(&s);
        EcdsaSignature(sig)
    };
    let s_of = |sig: EcdsaSignature| -> [u8; 32] { sig.0[32..].try_into().unwrap() };
    let mut half = N;
    // ⌊n/2⌋: n is odd, so shift right by one.
    let mut carry = 0u8;
    for b in half.iter_mut() {
        let next = *b & 1;
        *b = (*b >> 1) | (carry << 7);
        carry = next;
    }
    let mut half_plus_1 = half;
    half_plus_1[31] += 1;
    let mut n_minus_1 = N;
    n_minus_1[31] -= 1;
    let mut one = [0u8; 32];
    one[31] = 1;
    // The largest low-S value stays; the smallest high one maps onto it.
    assert!(with_s(half).is_low_s());
    assert_eq!(with_s(half).normalize_s(), with_s(half));
    assert!(!with_s(half_plus_1).is_low_s());
    assert_eq!(s_of(with_s(half_plus_1).normalize_s()), half);
    // A borrow through every byte.
    assert_eq!(s_of(with_s(n_minus_1).normalize_s()), one);
    // r is never touched.
    assert_eq!(with_s(n_minus_1).normalize_s().0[..32], [0x11; 32]);
    // Out of range (s ≥ n verifies under no key): unchanged, and still not low-S.
    assert_eq!(with_s(N).normalize_s(), with_s(N));
    assert_eq!(with_s([0xFF; 32]).normalize_s(), with_s([0xFF; 32]));
    assert!(!with_s(N).is_low_s());
    // Against twin() on real signatures, both ways.
    let mut rng = InsecureTestRng::new(9);
    let mut store = MemoryStore::<1, 0, 0>::new();
    let public = store.generate_p256(KeyId(1), &mut rng).unwrap();
    for i in 0u32..32 {
        let digest = sha256(&i.to_be_bytes());
        let sig = store.sign_digest(KeyId(1), &digest).unwrap();
        let high = EcdsaSignature(twin(&sig.0));
        assert_eq!(high.normalize_s(), sig);
        public
            .verify_digest_low_s(&digest, &high.normalize_s())
            .unwrap();
    }
}

/// A shipment whose trailer (or header) signature is replaced by its high-S twin is
/// refused, by the opener and by the audit: a file has one encoding. Before, the twin of
/// the trailer signature (covered by nothing else) opened and audited.
#[test]
fn shipments_with_high_s_signatures_are_refused() {
    use provkit::envelope::shipment::{
        self, DeviceKeyRecord, HEADER_LEN, KeyUsageCode, ShipmentParams, ShipmentWriter,
        TRAILER_LEN,
    };
    use provkit::envelope::{KekId, KekRef, KekSlot, hpke};
    use provkit::secret::SecretBuf;
    use provkit::store::{KeyKind, SymmetricKeys, WrapAlgorithm};

    let mut rng = InsecureTestRng::new(34);
    let mut maker = MemoryStore::<2, 0, 0>::new();
    let maker_pk = hpke::derive_key_pair(&mut maker, KeyId(1), &[0x44; 32]).unwrap();
    let mut authority = MemoryStore::<2, 0, 0>::new();
    let authority_pk = hpke::derive_key_pair(&mut authority, KeyId(1), &[0x55; 32]).unwrap();
    authority
        .import_symmetric(KeyId(2), KeyKind::Aes256, &[0x66; 32])
        .unwrap();
    let kek = KekSlot {
        kek: KekRef {
            id: KekId(*b"ta-kek\0\0"),
            version: 1,
        },
        key: KeyId(2),
        wrap: WrapAlgorithm::AesKw,
    };
    let params = ShipmentParams::new(*b"provkit test mfr", [9; 16], 2).with_records_per_chunk(2);
    let mut buf = vec![0u8; shipment::chunk_buffer_len(2)];
    let (mut w, header) = ShipmentWriter::new(
        &mut maker,
        KeyId(1),
        &authority_pk,
        &params,
        &mut buf,
        &mut rng,
    )
    .unwrap();
    let mut file = header.to_vec();
    for i in 0..2u64 {
        let key = SecretBuf::<32>::from_slice(&[i as u8; 16]).unwrap();
        let record = DeviceKeyRecord::new(i, i, KeyUsageCode::DATA_ENCRYPTION, &key).unwrap();
        if let Some(chunk) = w.push(&record).unwrap() {
            file.extend_from_slice(chunk);
        }
    }
    file.extend_from_slice(&w.finish(&mut maker).unwrap());

    let mut open = |file: &[u8]| {
        let mut scratch = vec![0u8; shipment::chunk_buffer_len(2)];
        shipment::open_shipment(
            &mut authority,
            KeyId(1),
            &maker_pk,
            kek,
            file,
            &mut scratch,
            |_| Ok(()),
        )
        .map(|s| s.records)
    };
    assert_eq!(open(&file), Ok(2));
    assert!(shipment::audit_shipment(&file, &maker_pk).is_ok());
    let trailer = file.len() - TRAILER_LEN;
    for at in [HEADER_LEN - 64, trailer] {
        let mut forked = file.clone();
        let sig = twin(&file[at..at + 64]);
        forked[at..at + 64].copy_from_slice(&sig);
        assert_eq!(open(&forked), Err(Error::Crypto), "twin at {at}");
        assert_eq!(
            shipment::audit_shipment(&forked, &maker_pk).map(|_| ()),
            Err(Error::Crypto),
            "twin at {at}"
        );
    }
}

/// Signed telemetry whose signature is replaced by its high-S twin (re-sealed under the
/// same HPKE context, so that only the signature differs) is refused. Before, it opened.
#[test]
fn telemetry_with_a_high_s_signature_is_refused() {
    use provkit::envelope::hpke::{self, HpkeAead};
    use provkit::envelope::telemetry::{
        TELEMETRY_HEADER_LEN, open_telemetry, seal_telemetry_signed, telemetry_len,
    };
    use provkit::testing::FixedRng;

    let mut rng = InsecureTestRng::new(35);
    let mut server = MemoryStore::<1, 0, 0>::new();
    let server_pk = server.generate_p256(KeyId(1), &mut rng).unwrap();
    let mut device = MemoryStore::<1, 0, 0>::new();
    let device_pk = device.generate_p256(KeyId(2), &mut rng).unwrap();
    let payload = b"temp=21";
    let ephemeral = [0x77u8; 32];
    let mut msg = vec![0u8; telemetry_len(payload.len(), true)];
    seal_telemetry_signed(
        &mut device,
        KeyId(2),
        &server_pk,
        9,
        payload,
        &mut msg,
        &mut FixedRng::new(&ephemeral),
    )
    .unwrap();
    let mut copy = msg.clone();
    assert_eq!(
        open_telemetry(&mut server, KeyId(1), Some(&device_pk), &mut copy).unwrap(),
        payload
    );
    // `copy` now holds the plaintext `payload || signature` after the header.
    let body = TELEMETRY_HEADER_LEN..TELEMETRY_HEADER_LEN + payload.len() + 64;
    let mut plaintext = copy[body.clone()].to_vec();
    let sig = twin(&plaintext[payload.len()..]);
    plaintext[payload.len()..].copy_from_slice(&sig);
    // The same ephemeral key (the same RNG bytes) gives the same HPKE context.
    let header = msg[..TELEMETRY_HEADER_LEN].to_vec();
    let mut info = b"provkit telemetry v1".to_vec();
    info.extend_from_slice(&header[..20]);
    let (enc, mut ctx) = hpke::setup_sender_base(
        &server_pk,
        HpkeAead::Aes128Gcm,
        &info,
        &mut FixedRng::new(&ephemeral),
    )
    .unwrap();
    assert_eq!(enc[..], header[20..85], "the same encapsulated key");
    let mut sealed = vec![0u8; plaintext.len() + 16];
    ctx.seal(&header, &plaintext, &mut sealed).unwrap();
    let mut forked = header.clone();
    forked.extend_from_slice(&sealed);
    assert_ne!(forked, msg);
    assert_eq!(
        open_telemetry(&mut server, KeyId(1), Some(&device_pk), &mut forked),
        Err(Error::Crypto)
    );
}
