//! A zero-copy view of an X.509 v3 certificate with an ECDSA P-256 key and signature.
//!
//! This is the only X.509 shape the crate needs: its own CA certificates, foreign CA
//! certificates that sign device certificates, and expanded device certificates on
//! import. Anything else (RSA, other curves, v1 certificates, unique identifiers,
//! unknown critical extensions) is rejected with a decode or certificate error.

use crate::cert::der::{Reader, tag};
use crate::cert::time::{UnixTime, parse_time};
use crate::ec::{EcPublicKey, EcdsaSignature};
use crate::error::{ByteCount, CertError, DecodeErrorKind, Error, Result};

/// DER of AlgorithmIdentifier ecdsa-with-SHA256 (RFC 5758), no parameters.
pub(crate) const ECDSA_WITH_SHA256: &[u8] = &[
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];
/// DER of AlgorithmIdentifier id-ecPublicKey with namedCurve prime256v1 (RFC 5480).
pub(crate) const EC_P256_SPKI_ALG: &[u8] = &[
    0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48,
    0xce, 0x3d, 0x03, 0x01, 0x07,
];

/// Extension OIDs (value bytes).
pub(crate) mod oid {
    pub(crate) const BASIC_CONSTRAINTS: &[u8] = &[0x55, 0x1d, 0x13];
    pub(crate) const KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x0f];
    pub(crate) const SUBJECT_KEY_ID: &[u8] = &[0x55, 0x1d, 0x0e];
    pub(crate) const AUTHORITY_KEY_ID: &[u8] = &[0x55, 0x1d, 0x23];
    pub(crate) const EXT_KEY_USAGE: &[u8] = &[0x55, 0x1d, 0x25];
    pub(crate) const CLIENT_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
    pub(crate) const SERVER_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01];
    pub(crate) const COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
    pub(crate) const ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0a];
}

/// keyUsage bits (RFC 5280 §4.2.1.3), as a mask where bit `n` is named bit `n`.
pub mod key_usage {
    /// digitalSignature (0).
    pub const DIGITAL_SIGNATURE: u16 = 1 << 0;
    /// keyAgreement (4).
    pub const KEY_AGREEMENT: u16 = 1 << 4;
    /// keyCertSign (5).
    pub const KEY_CERT_SIGN: u16 = 1 << 5;
    /// cRLSign (6).
    pub const CRL_SIGN: u16 = 1 << 6;
}

/// The extensions this crate understands, as found in a certificate (`#[non_exhaustive]`:
/// it may come to understand more).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Extensions<'a> {
    /// basicConstraints: `(cA, pathLenConstraint)`.
    pub basic_constraints: Option<(bool, Option<u8>)>,
    /// keyUsage as a mask of [`key_usage`] bits.
    pub key_usage: Option<u16>,
    /// subjectKeyIdentifier value.
    pub subject_key_id: Option<&'a [u8]>,
    /// authorityKeyIdentifier keyIdentifier value.
    pub authority_key_id: Option<&'a [u8]>,
    /// extendedKeyUsage: `(clientAuth, serverAuth)` present.
    pub ext_key_usage: Option<(bool, bool)>,
}

/// A parsed certificate, borrowing the DER it came from.
#[derive(Clone, Copy, Debug)]
pub struct X509Cert<'a> {
    der: &'a [u8],
    tbs: &'a [u8],
    serial: &'a [u8],
    issuer: &'a [u8],
    subject: &'a [u8],
    not_before: UnixTime,
    not_after: UnixTime,
    point: &'a [u8],
    public_key: EcPublicKey,
    extensions: Extensions<'a>,
    signature: EcdsaSignature,
}

impl<'a> X509Cert<'a> {
    /// Parses `der`, which must be exactly one certificate.
    ///
    /// # Errors
    /// `Decode` with the offset of the first byte outside the supported shape;
    /// `Cert(UnknownCriticalExtension)` for a critical extension this crate cannot enforce.
    pub fn from_der(der: &'a [u8]) -> Result<Self> {
        let mut outer = Reader::new(der);
        let (mut cert, _) = outer.read(tag::SEQUENCE)?;
        outer.finish()?;
        let (mut tbs, tbs_bytes) = cert.read(tag::SEQUENCE)?;
        expect_bytes(&mut cert, ECDSA_WITH_SHA256)?;
        let sig_at = cert.offset();
        let sig_bits = cert.value(tag::BIT_STRING)?;
        let sig_der = match sig_bits {
            [0, rest @ ..] => rest,
            _ => return Err(Error::decode(DecodeErrorKind::InvalidValue, sig_at)),
        };
        let mut sig_reader = Reader::new(sig_der);
        let signature = sig_reader
            .ecdsa_sig_value()
            .map_err(|e| shift(e, sig_at + 3))?;
        sig_reader.finish().map_err(|e| shift(e, sig_at + 3))?;
        cert.finish()?;

        // TBSCertificate
        let version_at = tbs.offset();
        let (mut version, _) = tbs.read(tag::CONTEXT_0)?;
        if version.value(tag::INTEGER)? != [2] {
            return Err(Error::decode(DecodeErrorKind::UnknownVersion, version_at));
        }
        version.finish()?;
        let serial_at = tbs.offset();
        let serial = tbs.value(tag::INTEGER)?;
        if serial.is_empty() || serial.len() > 21 || serial.first().is_some_and(|b| b & 0x80 != 0) {
            return Err(Error::decode(DecodeErrorKind::InvalidValue, serial_at));
        }
        expect_bytes(&mut tbs, ECDSA_WITH_SHA256)?;
        let (_, issuer) = tbs.read(tag::SEQUENCE)?;
        let (mut validity, _) = tbs.read(tag::SEQUENCE)?;
        let not_before = read_time(&mut validity)?;
        let not_after = read_time(&mut validity)?;
        validity.finish()?;
        let (_, subject) = tbs.read(tag::SEQUENCE)?;
        let (mut spki, _) = tbs.read(tag::SEQUENCE)?;
        expect_bytes(&mut spki, EC_P256_SPKI_ALG)?;
        let point_at = spki.offset();
        let point = match spki.value(tag::BIT_STRING)? {
            [0, p @ ..] => p,
            _ => return Err(Error::decode(DecodeErrorKind::InvalidPoint, point_at)),
        };
        let public_key = EcPublicKey::from_sec1(point).map_err(|e| shift(e, point_at + 3))?;
        spki.finish()?;
        let extensions = match tbs.optional(tag::CONTEXT_3)? {
            Some(mut wrapper) => {
                let (exts, _) = wrapper.read(tag::SEQUENCE)?;
                wrapper.finish()?;
                parse_extensions(exts)?
            }
            None => Extensions::default(),
        };
        tbs.finish()?;
        Ok(Self {
            der,
            tbs: tbs_bytes,
            serial,
            issuer,
            subject,
            not_before,
            not_after,
            point,
            public_key,
            extensions,
            signature,
        })
    }

    /// The whole certificate DER.
    #[must_use]
    pub const fn der(&self) -> &'a [u8] {
        self.der
    }
    /// The signed TBSCertificate DER.
    #[must_use]
    pub const fn tbs(&self) -> &'a [u8] {
        self.tbs
    }
    /// Content bytes of the serialNumber INTEGER.
    #[must_use]
    pub const fn serial(&self) -> &'a [u8] {
        self.serial
    }
    /// The issuer Name, as DER (tag and length included).
    #[must_use]
    pub const fn issuer_name(&self) -> &'a [u8] {
        self.issuer
    }
    /// The subject Name, as DER (tag and length included).
    #[must_use]
    pub const fn subject_name(&self) -> &'a [u8] {
        self.subject
    }
    /// notBefore, in Unix seconds.
    #[must_use]
    pub const fn not_before(&self) -> UnixTime {
        self.not_before
    }
    /// notAfter, in Unix seconds.
    #[must_use]
    pub const fn not_after(&self) -> UnixTime {
        self.not_after
    }
    /// The subject public key (validated).
    #[must_use]
    pub const fn public_key(&self) -> &EcPublicKey {
        &self.public_key
    }
    /// The SEC1 point bytes as encoded in the certificate.
    #[must_use]
    pub const fn public_key_bytes(&self) -> &'a [u8] {
        self.point
    }
    /// The extensions understood by this crate.
    #[must_use]
    pub const fn extensions(&self) -> &Extensions<'a> {
        &self.extensions
    }
    /// The signature as raw `r || s`.
    #[must_use]
    pub const fn signature(&self) -> &EcdsaSignature {
        &self.signature
    }

    /// Checks `not_before <= now <= not_after`.
    ///
    /// # Errors
    /// `Cert(NotYetValid)` or `Cert(Expired)`.
    pub fn check_validity(&self, now: UnixTime) -> Result<()> {
        if now < self.not_before {
            Err(CertError::NotYetValid.into())
        } else if now > self.not_after {
            Err(CertError::Expired.into())
        } else {
            Ok(())
        }
    }

    /// Verifies this certificate's signature with `issuer_key`.
    ///
    /// # Errors
    /// [`Error::Crypto`] if it does not verify.
    pub fn verify_signature(&self, issuer_key: &EcPublicKey) -> Result<()> {
        self.verify_signature_on::<crate::provider::RustCrypto>(issuer_key)
    }

    /// [`verify_signature`](Self::verify_signature) on the provider `P`.
    pub(crate) fn verify_signature_on<P: crate::provider::CryptoProvider>(
        &self,
        issuer_key: &EcPublicKey,
    ) -> Result<()> {
        issuer_key.verify_digest_on::<P>(&P::sha256(&[self.tbs]), &self.signature)
    }
}

fn shift(e: Error, by: usize) -> Error {
    match e {
        Error::Decode(mut d) => {
            d.offset = ByteCount::new(d.offset.get().saturating_add(by));
            Error::Decode(d)
        }
        other => other,
    }
}

fn expect_bytes(r: &mut Reader<'_>, expected: &[u8]) -> Result<()> {
    let at = r.offset();
    let first = expected.first().copied().unwrap_or(0);
    let (_, whole) = r.read(first)?;
    if whole == expected {
        Ok(())
    } else {
        Err(Error::decode(DecodeErrorKind::OutsideProfile, at))
    }
}

fn read_time(r: &mut Reader<'_>) -> Result<UnixTime> {
    let at = r.offset();
    let t = r.peek_tag().ok_or(r.err(DecodeErrorKind::Truncated))?;
    if t != tag::UTC_TIME && t != tag::GENERALIZED_TIME {
        return Err(r.err(DecodeErrorKind::UnexpectedTag));
    }
    let v = r.value(t)?;
    parse_time(t, v, at)
}

fn parse_extensions(mut exts: Reader<'_>) -> Result<Extensions<'_>> {
    let mut out = Extensions::default();
    let mut seen = 0u8;
    while !exts.is_empty() {
        let at = exts.offset();
        let (mut ext, _) = exts.read(tag::SEQUENCE)?;
        let id = ext.value(tag::OID)?;
        let critical = if ext.peek_tag() == Some(tag::BOOLEAN) {
            let c_at = ext.offset();
            if !ext.boolean()? {
                // DER: a DEFAULT FALSE value is never encoded.
                return Err(Error::decode(DecodeErrorKind::InvalidValue, c_at));
            }
            true
        } else {
            false
        };
        let (mut value, _) = ext.read(tag::OCTET_STRING)?;
        ext.finish()?;
        let bit = match id {
            oid::BASIC_CONSTRAINTS => {
                let (mut seq, _) = value.read(tag::SEQUENCE)?;
                let ca = if seq.peek_tag() == Some(tag::BOOLEAN) {
                    let c_at = seq.offset();
                    if !seq.boolean()? {
                        return Err(Error::decode(DecodeErrorKind::InvalidValue, c_at));
                    }
                    true
                } else {
                    false
                };
                let path_len = if seq.peek_tag() == Some(tag::INTEGER) {
                    Some(seq.uint::<1>()?[0])
                } else {
                    None
                };
                seq.finish()?;
                out.basic_constraints = Some((ca, path_len));
                1
            }
            oid::KEY_USAGE => {
                out.key_usage = Some(read_bits(&mut value)?);
                2
            }
            oid::SUBJECT_KEY_ID => {
                out.subject_key_id = Some(value.value(tag::OCTET_STRING)?);
                4
            }
            oid::AUTHORITY_KEY_ID => {
                let (mut seq, _) = value.read(tag::SEQUENCE)?;
                out.authority_key_id = seq.optional(tag::IMPLICIT_0)?.map(|r| r.rest());
                // authorityCertIssuer / serial ([1], [2]) are allowed and ignored.
                let _ = seq;
                8
            }
            oid::EXT_KEY_USAGE => {
                let (mut seq, _) = value.read(tag::SEQUENCE)?;
                let (mut client, mut server) = (false, false);
                while !seq.is_empty() {
                    match seq.value(tag::OID)? {
                        oid::CLIENT_AUTH => client = true,
                        oid::SERVER_AUTH => server = true,
                        _ => {}
                    }
                }
                out.ext_key_usage = Some((client, server));
                16
            }
            _ if critical => return Err(CertError::UnknownCriticalExtension.into()),
            _ => {
                let _ = value.rest();
                continue;
            }
        };
        if seen & bit != 0 {
            return Err(Error::decode(DecodeErrorKind::InvalidValue, at));
        }
        seen |= bit;
        value.finish()?;
    }
    Ok(out)
}

/// Reads a named-bit-list BIT STRING into a mask (bit `n` = named bit `n`).
fn read_bits(r: &mut Reader<'_>) -> Result<u16> {
    let at = r.offset();
    let bad = Error::decode(DecodeErrorKind::InvalidValue, at);
    let v = r.value(tag::BIT_STRING)?;
    let (unused, bytes) = v.split_first().ok_or(bad)?;
    if *unused > 7 || bytes.len() > 2 || (bytes.is_empty() && *unused != 0) {
        return Err(bad);
    }
    let mut mask = 0u16;
    for (i, byte) in bytes.iter().enumerate() {
        for b in 0..8 {
            if byte & (0x80 >> b) != 0 {
                mask |= 1 << (i * 8 + b);
            }
        }
    }
    // DER: unused bits are zero and there are no trailing zero bits.
    let last = bytes.last().copied().unwrap_or(0);
    let unused_mask = (1u16 << unused) - 1;
    if u16::from(last) & unused_mask != 0 || (!bytes.is_empty() && (last >> unused) & 1 == 0) {
        return Err(bad);
    }
    Ok(mask)
}
