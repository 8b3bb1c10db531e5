//! The X.509 templates: one function each for the device and CA TBSCertificate.
//!
//! Devices hash their template's output as a stream to verify a compact certificate;
//! servers write the same output into a buffer to expand it; CAs sign it. One piece of
//! code serves all three, so they cannot drift.

use crate::cert::compact::{CompactCert, DeviceUsage};
use crate::cert::der::{Der, Sink, Template, emit, tag};
use crate::cert::time::{NO_EXPIRY, UnixTime, write_time};
use crate::cert::x509::{EC_P256_SPKI_ALG, ECDSA_WITH_SHA256, key_usage, oid, write_bits};
use crate::ec::{EcPublicKey, EcdsaSignature, UNCOMPRESSED_LEN, sha256};

/// Length of the subjectKeyIdentifier this crate writes (RFC 7093 method 1: the
/// leftmost 160 bits of SHA-256 of the subjectPublicKey).
pub const KEY_ID_LEN: usize = 20;

/// subjectKeyIdentifier of a public key (RFC 7093 §2 method 1).
#[must_use]
pub fn key_identifier(key: &EcPublicKey) -> [u8; KEY_ID_LEN] {
    let digest = sha256(&key.to_uncompressed());
    let mut out = [0u8; KEY_ID_LEN];
    out.copy_from_slice(digest.get(..KEY_ID_LEN).unwrap_or(&[0; KEY_ID_LEN]));
    out
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

/// Everything that goes into a device TBSCertificate.
pub(crate) struct DeviceTbs<'a> {
    pub(crate) serial: u64,
    pub(crate) not_before: UnixTime,
    pub(crate) usage: DeviceUsage,
    pub(crate) point: [u8; UNCOMPRESSED_LEN],
    pub(crate) key_id: [u8; KEY_ID_LEN],
    pub(crate) issuer: IssuerRef<'a>,
}

impl<'a> DeviceTbs<'a> {
    pub(crate) fn new(
        serial: u64,
        not_before: UnixTime,
        usage: DeviceUsage,
        key: &EcPublicKey,
        issuer: IssuerRef<'a>,
    ) -> Self {
        Self {
            serial,
            not_before,
            usage,
            point: key.to_uncompressed(),
            key_id: key_identifier(key),
            issuer,
        }
    }

    /// From a parsed compact certificate (decompresses the public key).
    pub(crate) fn from_compact(
        cert: &CompactCert<'_>,
        issuer: IssuerRef<'a>,
    ) -> crate::Result<Self> {
        Ok(Self::new(
            cert.serial(),
            cert.not_before(),
            cert.usage(),
            &cert.public_key()?,
            issuer,
        ))
    }

    /// SHA-256 of the TBSCertificate: what the CA signs and the device verifies.
    pub(crate) fn digest(&self) -> [u8; 32] {
        digest_of(self)
    }
}

impl Template for DeviceTbs<'_> {
    fn der(&self, w: &mut Der<'_>) {
        let mut hex = [0u8; 16];
        for (i, slot) in hex.iter_mut().enumerate() {
            let nibble = (self.serial >> (60 - 4 * i)) & 0xf;
            *slot = b"0123456789ABCDEF"
                .get(nibble as usize)
                .copied()
                .unwrap_or(b'0');
        }
        tbs_head(
            w,
            &self.serial.to_be_bytes(),
            SubjectName::Der(self.issuer.name),
            self.not_before,
            NO_EXPIRY,
            SubjectName::Serial(&hex),
            &self.point,
        );
        write_aki(w, self.issuer.key_id);
        write_ski(w, &self.key_id);
        let mut ku = key_usage::DIGITAL_SIGNATURE;
        if self.usage.key_agreement {
            ku |= key_usage::KEY_AGREEMENT;
        }
        write_key_usage(w, ku);
        extension(w, oid::EXT_KEY_USAGE, false);
        w.open(tag::SEQUENCE);
        w.prim(tag::OID, oid::CLIENT_AUTH);
        if self.usage.server_auth {
            w.prim(tag::OID, oid::SERVER_AUTH);
        }
        w.close_n(3 + 3); // the sequence, the extension, and what `tbs_head` opened
    }
}

/// SHA-256 of a template's DER, streamed: the TBS is never held in memory.
fn digest_of(t: &dyn Template) -> [u8; 32] {
    let mut h = <sha2::Sha256 as sha2::Digest>::new();
    emit(t, &mut h);
    sha2::Digest::finalize(h).into()
}

/// The TBSCertificate up to its extensions: opens the TBSCertificate, `[3]` and the
/// extensions SEQUENCE, which the caller fills and closes (three `close`s).
fn tbs_head(
    w: &mut Der<'_>,
    serial: &[u8],
    issuer: SubjectName<'_>,
    not_before: UnixTime,
    not_after: UnixTime,
    subject: SubjectName<'_>,
    point: &[u8; UNCOMPRESSED_LEN],
) {
    w.open(tag::SEQUENCE);
    w.put(&[tag::CONTEXT_0, 3, tag::INTEGER, 1, 2]); // version v3
    w.uint(serial);
    w.put(ECDSA_WITH_SHA256);
    issuer.write(w);
    w.open(tag::SEQUENCE);
    write_time(w, not_before);
    write_time(w, not_after);
    w.close();
    subject.write(w);
    w.open(tag::SEQUENCE);
    w.put(EC_P256_SPKI_ALG);
    w.open(tag::BIT_STRING);
    w.put(&[0]);
    w.put(point);
    w.close_n(2);
    w.open(tag::CONTEXT_3);
    w.open(tag::SEQUENCE);
}

/// A whole Certificate: a TBSCertificate and its signature.
struct Certificate<'t> {
    tbs: &'t dyn Template,
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
pub(crate) fn write_certificate(s: &mut dyn Sink, tbs: &dyn Template, signature: &EcdsaSignature) {
    emit(&Certificate { tbs, signature }, s);
}

/// Opens an extension (its SEQUENCE and extnValue OCTET STRING): the value follows, then
/// two `close`s.
fn extension(w: &mut Der<'_>, id: &[u8], critical: bool) {
    w.open(tag::SEQUENCE);
    w.prim(tag::OID, id);
    if critical {
        w.put(&[tag::BOOLEAN, 1, 0xff]);
    }
    w.open(tag::OCTET_STRING);
}

fn write_aki(w: &mut Der<'_>, key_id: &[u8]) {
    extension(w, oid::AUTHORITY_KEY_ID, false);
    w.open(tag::SEQUENCE);
    w.prim(tag::IMPLICIT_0, key_id);
    w.close_n(3);
}

fn write_ski(w: &mut Der<'_>, key_id: &[u8]) {
    extension(w, oid::SUBJECT_KEY_ID, false);
    w.prim(tag::OCTET_STRING, key_id);
    w.close_n(2);
}

fn write_key_usage(w: &mut Der<'_>, mask: u16) {
    extension(w, oid::KEY_USAGE, true);
    write_bits(w, mask);
    w.close_n(2);
}

/// A Name in a TBSCertificate: a CA's built from its parts when the CA is created, one
/// copied verbatim (DER), or a device's serialNumber.
#[derive(Clone, Copy)]
pub(crate) enum SubjectName<'a> {
    Parts(&'a crate::cert::ca::CaName<'a>),
    Der(&'a [u8]),
    /// A device subject: a single serialNumber attribute, 16 uppercase hex digits.
    Serial(&'a [u8; 16]),
}

impl SubjectName<'_> {
    fn write(&self, w: &mut Der<'_>) {
        match self {
            Self::Parts(name) => name.write(w),
            Self::Der(der) => w.put(der),
            Self::Serial(hex) => {
                w.open(tag::SEQUENCE);
                w.open(tag::SET);
                w.open(tag::SEQUENCE);
                w.prim(tag::OID, oid::SERIAL_NUMBER);
                w.prim(tag::PRINTABLE_STRING, *hex);
                w.close_n(3);
            }
        }
    }
}

/// Everything that goes into a CA TBSCertificate.
pub(crate) struct CaTbs<'a> {
    pub(crate) serial: [u8; 16],
    pub(crate) issuer: IssuerRef<'a>,
    pub(crate) self_signed: bool,
    pub(crate) not_before: UnixTime,
    pub(crate) not_after: UnixTime,
    pub(crate) subject: SubjectName<'a>,
    pub(crate) point: [u8; UNCOMPRESSED_LEN],
    pub(crate) key_id: [u8; KEY_ID_LEN],
    pub(crate) path_len: Option<u8>,
}

impl CaTbs<'_> {
    pub(crate) fn digest(&self) -> [u8; 32] {
        digest_of(self)
    }
}

impl Template for CaTbs<'_> {
    fn der(&self, w: &mut Der<'_>) {
        tbs_head(
            w,
            &self.serial,
            if self.self_signed {
                self.subject
            } else {
                SubjectName::Der(self.issuer.name)
            },
            self.not_before,
            self.not_after,
            self.subject,
            &self.point,
        );
        extension(w, oid::BASIC_CONSTRAINTS, true);
        w.open(tag::SEQUENCE);
        w.put(&[tag::BOOLEAN, 1, 0xff]);
        if let Some(n) = self.path_len {
            w.uint(&[n]);
        }
        w.close_n(3);
        write_key_usage(w, key_usage::KEY_CERT_SIGN | key_usage::CRL_SIGN);
        write_ski(w, &self.key_id);
        if !self.self_signed {
            write_aki(w, self.issuer.key_id);
        }
        w.close_n(3);
    }
}
