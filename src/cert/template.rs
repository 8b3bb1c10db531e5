//! The X.509 templates: one function each for the device and CA TBSCertificate.
//!
//! Devices hash their template's output as a stream to verify a compact certificate;
//! servers write the same output into a buffer to expand it; CAs sign it. One piece of
//! code serves all three, so they cannot drift.

use crate::cert::compact::{CompactCert, DeviceUsage};
use crate::cert::der::{Sink, ecdsa_sig_value, prim, tag, tlv, uint};
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
        digest_of(&|s| self.write(s))
    }

    /// Writes the TBSCertificate.
    pub(crate) fn write(&self, s: &mut dyn Sink) {
        tlv(s, tag::SEQUENCE, &|s| {
            s.put(&[tag::CONTEXT_0, 3, tag::INTEGER, 1, 2]); // version v3
            uint(s, &self.serial.to_be_bytes());
            s.put(ECDSA_WITH_SHA256);
            s.put(self.issuer.name);
            tlv(s, tag::SEQUENCE, &|s| {
                write_time(s, self.not_before);
                write_time(s, NO_EXPIRY);
            });
            write_device_subject(s, self.serial);
            write_spki(s, &self.point);
            tlv(s, tag::CONTEXT_3, &|s| {
                tlv(s, tag::SEQUENCE, &|s| {
                    write_aki(s, self.issuer.key_id);
                    write_ski(s, &self.key_id);
                    let mut ku = key_usage::DIGITAL_SIGNATURE;
                    if self.usage.key_agreement {
                        ku |= key_usage::KEY_AGREEMENT;
                    }
                    write_key_usage(s, ku);
                    extension(s, oid::EXT_KEY_USAGE, false, &|s| {
                        tlv(s, tag::SEQUENCE, &|s| {
                            prim(s, tag::OID, oid::CLIENT_AUTH);
                            if self.usage.server_auth {
                                prim(s, tag::OID, oid::SERVER_AUTH);
                            }
                        });
                    });
                });
            });
        });
    }
}

/// SHA-256 of what `write` emits, streamed: the TBS is never held in memory.
fn digest_of(write: &dyn Fn(&mut dyn Sink)) -> [u8; 32] {
    let mut h = <sha2::Sha256 as sha2::Digest>::new();
    write(&mut h);
    sha2::Digest::finalize(h).into()
}

/// Writes a whole Certificate around a TBS writer.
pub(crate) fn write_certificate(
    s: &mut dyn Sink,
    tbs: &dyn Fn(&mut dyn Sink),
    signature: &EcdsaSignature,
) {
    tlv(s, tag::SEQUENCE, &|s| {
        tbs(s);
        s.put(ECDSA_WITH_SHA256);
        tlv(s, tag::BIT_STRING, &|s| {
            s.put(&[0]);
            ecdsa_sig_value(s, signature);
        });
    });
}

/// The device subject: a single serialNumber attribute, 16 uppercase hex digits.
fn write_device_subject(s: &mut dyn Sink, serial: u64) {
    let mut hex = [0u8; 16];
    for (i, slot) in hex.iter_mut().enumerate() {
        let nibble = (serial >> (60 - 4 * i)) & 0xf;
        *slot = b"0123456789ABCDEF"
            .get(nibble as usize)
            .copied()
            .unwrap_or(b'0');
    }
    tlv(s, tag::SEQUENCE, &|s| {
        tlv(s, tag::SET, &|s| {
            tlv(s, tag::SEQUENCE, &|s| {
                prim(s, tag::OID, oid::SERIAL_NUMBER);
                prim(s, tag::PRINTABLE_STRING, &hex);
            });
        });
    });
}

pub(crate) fn write_spki(s: &mut dyn Sink, point: &[u8; UNCOMPRESSED_LEN]) {
    tlv(s, tag::SEQUENCE, &|s| {
        s.put(EC_P256_SPKI_ALG);
        tlv(s, tag::BIT_STRING, &|s| {
            s.put(&[0]);
            s.put(point);
        });
    });
}

pub(crate) fn extension(
    s: &mut dyn Sink,
    id: &[u8],
    critical: bool,
    value: &dyn Fn(&mut dyn Sink),
) {
    tlv(s, tag::SEQUENCE, &|s| {
        prim(s, tag::OID, id);
        if critical {
            s.put(&[tag::BOOLEAN, 1, 0xff]);
        }
        tlv(s, tag::OCTET_STRING, value);
    });
}

pub(crate) fn write_aki(s: &mut dyn Sink, key_id: &[u8]) {
    extension(s, oid::AUTHORITY_KEY_ID, false, &|s| {
        tlv(s, tag::SEQUENCE, &|s| prim(s, tag::IMPLICIT_0, key_id));
    });
}

pub(crate) fn write_ski(s: &mut dyn Sink, key_id: &[u8]) {
    extension(s, oid::SUBJECT_KEY_ID, false, &|s| {
        prim(s, tag::OCTET_STRING, key_id)
    });
}

pub(crate) fn write_key_usage(s: &mut dyn Sink, mask: u16) {
    extension(s, oid::KEY_USAGE, true, &|s| write_bits(s, mask));
}

/// A CA's subject Name: built from its parts when a CA is created, or copied verbatim
/// (DER) from a compact CA certificate.
#[derive(Clone, Copy)]
pub(crate) enum SubjectName<'a> {
    Parts(&'a crate::cert::ca::CaName<'a>),
    Der(&'a [u8]),
}

impl SubjectName<'_> {
    fn write(&self, s: &mut dyn Sink) {
        match self {
            Self::Parts(name) => name.write(s),
            Self::Der(der) => s.put(der),
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
        digest_of(&|s| self.write(s))
    }

    pub(crate) fn write(&self, s: &mut dyn Sink) {
        tlv(s, tag::SEQUENCE, &|s| {
            s.put(&[tag::CONTEXT_0, 3, tag::INTEGER, 1, 2]);
            uint(s, &self.serial);
            s.put(ECDSA_WITH_SHA256);
            if self.self_signed {
                self.subject.write(s);
            } else {
                s.put(self.issuer.name);
            }
            tlv(s, tag::SEQUENCE, &|s| {
                write_time(s, self.not_before);
                write_time(s, self.not_after);
            });
            self.subject.write(s);
            write_spki(s, &self.point);
            tlv(s, tag::CONTEXT_3, &|s| {
                tlv(s, tag::SEQUENCE, &|s| {
                    extension(s, oid::BASIC_CONSTRAINTS, true, &|s| {
                        tlv(s, tag::SEQUENCE, &|s| {
                            s.put(&[tag::BOOLEAN, 1, 0xff]);
                            if let Some(n) = self.path_len {
                                uint(s, &[n]);
                            }
                        });
                    });
                    write_key_usage(s, key_usage::KEY_CERT_SIGN | key_usage::CRL_SIGN);
                    write_ski(s, &self.key_id);
                    if !self.self_signed {
                        write_aki(s, self.issuer.key_id);
                    }
                });
            });
        });
    }
}
