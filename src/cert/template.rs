//! The X.509 template: one function writes the device and the CA TBSCertificate.
//!
//! Devices hash the template's output as a stream to verify a compact certificate;
//! servers write the same output into a buffer to expand it; CAs sign it. One piece of
//! code serves all three, so they cannot drift.

use crate::cert::compact::DeviceUsage;
use crate::cert::der::{Der, Sink, Template, emit, tag};
use crate::cert::time::{NO_EXPIRY, UnixTime, write_time};
use crate::cert::x509::{ECDSA_WITH_SHA256, key_usage, oid};
use crate::ec::{EcPublicKey, EcdsaSignature, UNCOMPRESSED_LEN, sha256};

/// Length of the subjectKeyIdentifier this crate writes (RFC 7093 method 1: the
/// leftmost 160 bits of SHA-256 of the subjectPublicKey).
pub const KEY_ID_LEN: usize = 20;

/// subjectKeyIdentifier of a public key (RFC 7093 §2 method 1).
#[must_use]
pub fn key_identifier(key: &EcPublicKey) -> [u8; KEY_ID_LEN] {
    key_identifier_of(&key.to_uncompressed())
}

/// subjectKeyIdentifier of an uncompressed point.
fn key_identifier_of(point: &[u8; UNCOMPRESSED_LEN]) -> [u8; KEY_ID_LEN] {
    sha256(point)
        .first_chunk::<KEY_ID_LEN>()
        .copied()
        .unwrap_or([0; KEY_ID_LEN])
}

/// What a certificate needs from its issuer: the issuer's subject Name (DER, copied
/// verbatim) and its subjectKeyIdentifier (becomes the authorityKeyIdentifier).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IssuerRef<'a> {
    /// The issuer's subject Name, DER-encoded (tag and length included).
    pub name: &'a [u8],
    /// The issuer's subjectKeyIdentifier value.
    pub key_id: &'a [u8],
}

/// Which profile a TBSCertificate follows, with what varies within it.
#[derive(Clone, Copy)]
pub(crate) enum Profile {
    /// A device certificate (`docs/cert-format.md`): the subject is the serial, notAfter
    /// is [`NO_EXPIRY`].
    Device(DeviceUsage),
    /// A CA certificate. A self-signed one is its own issuer and has no
    /// authorityKeyIdentifier.
    Ca {
        self_signed: bool,
        path_len: Option<u8>,
    },
}

/// Everything that goes into a TBSCertificate.
pub(crate) struct Tbs<'a> {
    /// The serialNumber's big-endian value (leading zeros are dropped).
    pub(crate) serial: &'a [u8],
    pub(crate) issuer: IssuerRef<'a>,
    /// notBefore and notAfter.
    pub(crate) validity: (UnixTime, UnixTime),
    /// A CA's subject Name (a device's is its serial).
    pub(crate) subject: SubjectName<'a>,
    pub(crate) key: &'a EcPublicKey,
    pub(crate) profile: Profile,
}

impl<'a> Tbs<'a> {
    /// A device's TBSCertificate.
    pub(crate) const fn device(
        serial: &'a [u8; 8],
        not_before: UnixTime,
        usage: DeviceUsage,
        key: &'a EcPublicKey,
        issuer: IssuerRef<'a>,
    ) -> Self {
        Self {
            serial,
            issuer,
            validity: (not_before, NO_EXPIRY),
            subject: SubjectName::Der(&[]),
            key,
            profile: Profile::Device(usage),
        }
    }

    /// SHA-256 of the TBSCertificate, streamed (it is never held in memory): what the CA
    /// signs and the device verifies.
    pub(crate) fn digest(&self) -> [u8; 32] {
        let mut h = <sha2::Sha256 as sha2::Digest>::new();
        emit(self, &mut h);
        sha2::Digest::finalize(h).into()
    }
}

impl Template for Tbs<'_> {
    fn der(&self, w: &mut Der<'_>) {
        let self_signed = matches!(
            self.profile,
            Profile::Ca {
                self_signed: true,
                ..
            }
        );
        w.open(tag::SEQUENCE);
        w.put(&[tag::CONTEXT_0, 3, tag::INTEGER, 1, 2]); // version v3
        w.uint(self.serial);
        w.put(ECDSA_WITH_SHA256);
        if self_signed {
            self.subject.write(w);
        } else {
            w.put(self.issuer.name);
        }
        w.open(tag::SEQUENCE);
        write_time(w, self.validity.0);
        write_time(w, self.validity.1);
        w.close();
        match self.profile {
            Profile::Device(_) => write_device_subject(w, self.serial),
            Profile::Ca { .. } => self.subject.write(w),
        }
        let point = self.key.to_uncompressed();
        let key_id = key_identifier_of(&point);
        w.put(&SPKI_PREFIX);
        w.put(&point);
        w.open(tag::CONTEXT_3);
        w.open(tag::SEQUENCE);
        match self.profile {
            Profile::Device(usage) => {
                write_aki(w, self.issuer.key_id);
                write_ski(w, &key_id);
                let mut ku = key_usage::DIGITAL_SIGNATURE;
                if usage.key_agreement {
                    ku |= key_usage::KEY_AGREEMENT;
                }
                write_key_usage(w, ku);
                extension(w, &EXT_KEY_USAGE);
                w.open(tag::SEQUENCE);
                w.prim(tag::OID, oid::CLIENT_AUTH);
                if usage.server_auth {
                    w.prim(tag::OID, oid::SERVER_AUTH);
                }
                w.close_n(3);
            }
            Profile::Ca { path_len, .. } => {
                extension(w, &BASIC_CONSTRAINTS);
                w.open(tag::SEQUENCE);
                w.put(&[tag::BOOLEAN, 1, 0xff]);
                if let Some(n) = path_len {
                    w.uint(&[n]);
                }
                w.close_n(3);
                write_key_usage(w, key_usage::KEY_CERT_SIGN | key_usage::CRL_SIGN);
                write_ski(w, &key_id);
                if !self_signed {
                    write_aki(w, self.issuer.key_id);
                }
            }
        }
        w.close_n(3);
    }
}

/// The device subject up to its value: SEQUENCE (27) { SET (25) { SEQUENCE (23) {
/// serialNumber (2.5.4.5), PrintableString (16) … } } }; 16 hex digits follow.
const DEVICE_SUBJECT_PREFIX: [u8; 13] = [
    0x30, 0x1b, 0x31, 0x19, 0x30, 0x17, 0x06, 0x03, 0x55, 0x04, 0x05, 0x13, 0x10,
];

/// SubjectPublicKeyInfo up to the point: SEQUENCE (89) { id-ecPublicKey prime256v1
/// (RFC 5480), BIT STRING (66) with no unused bits … }; the 65-byte uncompressed point
/// follows.
const SPKI_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// The subjectKeyIdentifier extension up to the key id: SEQUENCE (29) { id-ce 14,
/// OCTET STRING (22) { OCTET STRING (20) … } }.
const SKI_PREFIX: [u8; 11] = [
    0x30, 0x1d, 0x06, 0x03, 0x55, 0x1d, 0x0e, 0x04, 0x16, 0x04, 0x14,
];

/// The keyUsage extension up to its bits: SEQUENCE (14) { id-ce 15, critical,
/// OCTET STRING (4) { BIT STRING (2) … } }; the unused-bit count and one byte follow.
const KEY_USAGE_PREFIX: [u8; 14] = [
    0x30, 0x0e, 0x06, 0x03, 0x55, 0x1d, 0x0f, 0x01, 0x01, 0xff, 0x04, 0x04, 0x03, 0x02,
];

/// The device subject: a single serialNumber attribute, the serial as 16 uppercase hex
/// digits.
fn write_device_subject(w: &mut Der<'_>, serial: &[u8]) {
    let mut hex = [0u8; 16];
    for (i, slot) in hex.iter_mut().enumerate() {
        let byte = serial.get(i / 2).copied().unwrap_or(0);
        let nibble = if i % 2 == 0 { byte >> 4 } else { byte & 0xf };
        *slot = nibble + if nibble < 10 { b'0' } else { b'A' - 10 };
    }
    w.put(&DEVICE_SUBJECT_PREFIX);
    w.put(&hex);
}

/// A whole Certificate: a TBSCertificate and its signature.
struct Certificate<'t> {
    tbs: &'t Tbs<'t>,
    signature: &'t EcdsaSignature,
}

impl Template for Certificate<'_> {
    fn der(&self, w: &mut Der<'_>) {
        w.open(tag::SEQUENCE);
        self.tbs.der(w);
        w.put(ECDSA_WITH_SHA256);
        w.open(tag::BIT_STRING);
        w.put(&[0]);
        w.ecdsa_sig_value(self.signature);
        w.close_n(2);
    }
}

/// Writes a whole Certificate around a TBSCertificate.
pub(crate) fn write_certificate(s: &mut dyn Sink, tbs: &Tbs<'_>, signature: &EcdsaSignature) {
    emit(&Certificate { tbs, signature }, s);
}

/// The extnID (and, when critical, the critical flag) of the extensions written with
/// [`extension`], DER-encoded.
const BASIC_CONSTRAINTS: [u8; 8] = [0x06, 0x03, 0x55, 0x1d, 0x13, 0x01, 0x01, 0xff];
const AUTHORITY_KEY_ID: [u8; 5] = [0x06, 0x03, 0x55, 0x1d, 0x23];
const EXT_KEY_USAGE: [u8; 5] = [0x06, 0x03, 0x55, 0x1d, 0x25];

/// Opens an extension (its SEQUENCE and extnValue OCTET STRING) after `head`, its extnID
/// and critical flag: the value follows, then two `close`s.
fn extension(w: &mut Der<'_>, head: &[u8]) {
    w.open(tag::SEQUENCE);
    w.put(head);
    w.open(tag::OCTET_STRING);
}

fn write_aki(w: &mut Der<'_>, key_id: &[u8]) {
    extension(w, &AUTHORITY_KEY_ID);
    w.open(tag::SEQUENCE);
    w.prim(tag::IMPLICIT_0, key_id);
    w.close_n(3);
}

fn write_ski(w: &mut Der<'_>, key_id: &[u8; KEY_ID_LEN]) {
    w.put(&SKI_PREFIX);
    w.put(key_id);
}

/// The keyUsage extension for a non-empty `mask` of named bits 0–7 (all this crate
/// writes): a BIT STRING of one byte, trailing zero bits unused (DER).
#[allow(clippy::cast_possible_truncation)] // bits 0-7 only; at most 7 unused bits
fn write_key_usage(w: &mut Der<'_>, mask: u16) {
    // Named bit n is bit 7 - n of the byte: the bit-reversed mask.
    let bits = (mask as u8).reverse_bits();
    w.put(&KEY_USAGE_PREFIX);
    w.put(&[bits.trailing_zeros() as u8, bits]);
}

/// A CA's subject Name: copied verbatim (DER), or written by a template (built from its
/// parts when the CA is created).
#[derive(Clone, Copy)]
pub(crate) enum SubjectName<'a> {
    Der(&'a [u8]),
    Built(&'a dyn Template),
}

impl SubjectName<'_> {
    fn write(&self, w: &mut Der<'_>) {
        match self {
            Self::Der(der) => w.put(der),
            Self::Built(name) => name.der(w),
        }
    }
}
