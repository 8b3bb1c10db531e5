//! The compact CA certificate: a CA certificate in this crate's profile in 136 to 392
//! bytes, so that a device can hold its root and intermediate without an X.509 parser.
//!
//! Layout (format version 1, integers big-endian; full spec in `docs/cert-format.md`):
//!
//! | offset | len | field |
//! |---:|---:|---|
//! | 0 | 1 | header: version (bits 7–4) = 1, self-signed (bit 3), pathLen present (bit 2), reserved (bit 1) = 0, y parity (bit 0) |
//! | 1 | 1 | pathLenConstraint (0 when absent) |
//! | 2 | 16 | serial (the INTEGER's 16 content bytes, first byte 0x01–0x7f) |
//! | 18 | 8 | notBefore, Unix seconds |
//! | 26 | 8 | notAfter, Unix seconds |
//! | 34 | 4 | issuer key id: the first 4 bytes of the issuer's subjectKeyIdentifier |
//! | 38 | 32 | public key: x coordinate |
//! | 70 | 64 | issuer's signature `r ‖ s` over the TBSCertificate |
//! | 134 | n | subject Name, DER (a SEQUENCE, at most 255 content bytes), copied verbatim |
//!
//! Everything else in the certificate is fixed by the CA template
//! ([`Tbs`](crate::cert::template)): the subjectKeyIdentifier is RFC 7093 method 1 of the
//! key, and the issuer Name and authorityKeyIdentifier come from the issuer.

use crate::cert::compact::concat;
use crate::cert::der::tag;
use crate::cert::template::{IssuerRef, KEY_ID_LEN, Profile, SubjectName, Tbs, key_identifier};
use crate::cert::time::{NO_EXPIRY, UnixTime};
use crate::ec::{EcPublicKey, EcdsaSignature};
use crate::error::{DecodeErrorKind, Error, Result};

/// Format version of compact CA certificates.
pub const CA_FORMAT_VERSION: u8 = 1;
/// Bytes before the subject Name.
pub(crate) const FIXED_LEN: usize = 134;
/// Largest compact CA certificate: a subject Name of 255 content bytes.
pub const COMPACT_CA_MAX_LEN: usize = FIXED_LEN + 3 + 255;

const SELF_SIGNED: u8 = 0x08;
const HAS_PATH_LEN: u8 = 0x04;
const RESERVED: u8 = 0x02;
const OFF_SERIAL: usize = 2;
const OFF_NOT_BEFORE: usize = 18;
const OFF_NOT_AFTER: usize = 26;
const OFF_ISSUER_ID: usize = 34;
const OFF_X: usize = 38;
const OFF_SIGNATURE: usize = 70;

/// The fields of a compact CA certificate, to encode one.
pub(crate) struct CompactCaFields<'a> {
    pub(crate) self_signed: bool,
    pub(crate) path_len: Option<u8>,
    pub(crate) serial: [u8; 16],
    pub(crate) not_before: UnixTime,
    pub(crate) not_after: UnixTime,
    pub(crate) issuer_key_id: [u8; 4],
    pub(crate) public_key: EcPublicKey,
    pub(crate) signature: EcdsaSignature,
    pub(crate) name: &'a [u8],
}

impl CompactCaFields<'_> {
    /// Writes the encoding into `out`; returns its length.
    pub(crate) fn encode(&self, out: &mut [u8]) -> Result<usize> {
        let len = FIXED_LEN + self.name.len();
        let out = out.get_mut(..len).ok_or(Error::buffer_too_small(len))?;
        let mut header = (CA_FORMAT_VERSION << 4) | u8::from(self.public_key.y_is_odd());
        if self.self_signed {
            header |= SELF_SIGNED;
        }
        if self.path_len.is_some() {
            header |= HAS_PATH_LEN;
        }
        let parts: [&[u8]; 8] = [
            &[header, self.path_len.unwrap_or(0)],
            &self.serial,
            &self.not_before.to_be_bytes(),
            &self.not_after.to_be_bytes(),
            &self.issuer_key_id,
            &self.public_key.x(),
            &self.signature.0,
            self.name,
        ];
        concat(out, &parts)
    }
}

/// A parsed compact CA certificate, borrowing its bytes; its key decompressed and its
/// subjectKeyIdentifier computed once, at parse time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CompactCa<'a> {
    raw: &'a [u8],
    /// The fields before the Name (a fixed-size view of `raw`, so reading them needs no
    /// bounds checks).
    fixed: &'a [u8; FIXED_LEN],
    name: &'a [u8],
    public_key: EcPublicKey,
    key_id: [u8; KEY_ID_LEN],
}

/// The `N` bytes of `fixed` at `at` (a constant: this folds to plain loads).
#[inline(always)]
fn get<const N: usize>(fixed: &[u8; FIXED_LEN], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = fixed.get(at..at + N) {
        out.copy_from_slice(src);
    }
    out
}

impl<'a> CompactCa<'a> {
    /// Parses and checks the structure; the signature is the chain's job.
    pub(crate) fn parse(raw: &'a [u8]) -> Result<Self> {
        Self::parse_on::<crate::provider::RustCrypto>(raw)
    }

    /// [`parse`](Self::parse), the key decompressed on the provider `P`.
    pub(crate) fn parse_on<P: crate::provider::CryptoProvider>(raw: &'a [u8]) -> Result<Self> {
        let decode = Error::decode;
        let header = *raw.first().ok_or(decode(DecodeErrorKind::Truncated, 0))?;
        if header >> 4 != CA_FORMAT_VERSION || header & RESERVED != 0 {
            return Err(decode(DecodeErrorKind::UnknownVersion, 0));
        }
        let (fixed, name) = raw
            .split_first_chunk::<FIXED_LEN>()
            .ok_or(decode(DecodeErrorKind::Truncated, raw.len()))?;
        check_name(name)?;
        if header & HAS_PATH_LEN == 0 && fixed[1] != 0 {
            return Err(decode(DecodeErrorKind::InvalidValue, 1));
        }
        if !(1..=0x7f).contains(&fixed[OFF_SERIAL]) {
            return Err(decode(DecodeErrorKind::InvalidValue, OFF_SERIAL));
        }
        let public_key =
            EcPublicKey::from_x_and_parity_on::<P>(&get(fixed, OFF_X), header & 1 == 1)
                .map_err(|_| decode(DecodeErrorKind::InvalidPoint, OFF_X))?;
        let ca = Self {
            raw,
            fixed,
            name,
            key_id: key_identifier(&public_key),
            public_key,
        };
        if ca.not_before() > NO_EXPIRY {
            return Err(decode(DecodeErrorKind::InvalidValue, OFF_NOT_BEFORE));
        }
        if ca.not_after() > NO_EXPIRY {
            return Err(decode(DecodeErrorKind::InvalidValue, OFF_NOT_AFTER));
        }
        if ca.self_signed() && ca.key_id.get(..4) != Some(&ca.issuer_key_id()[..]) {
            return Err(decode(DecodeErrorKind::InvalidValue, OFF_ISSUER_ID));
        }
        // One encoding per certificate: the high-S twin of the signature is refused.
        if !ca.signature().is_low_s() {
            return Err(decode(DecodeErrorKind::InvalidValue, OFF_SIGNATURE + 32));
        }
        Ok(ca)
    }

    pub(crate) const fn as_bytes(&self) -> &'a [u8] {
        self.raw
    }

    pub(crate) const fn self_signed(&self) -> bool {
        self.fixed[0] & SELF_SIGNED != 0
    }

    pub(crate) const fn path_len(&self) -> Option<u8> {
        if self.fixed[0] & HAS_PATH_LEN != 0 {
            Some(self.fixed[1])
        } else {
            None
        }
    }

    pub(crate) fn not_before(&self) -> UnixTime {
        u64::from_be_bytes(get(self.fixed, OFF_NOT_BEFORE))
    }

    pub(crate) fn not_after(&self) -> UnixTime {
        u64::from_be_bytes(get(self.fixed, OFF_NOT_AFTER))
    }

    pub(crate) fn issuer_key_id(&self) -> [u8; 4] {
        get(self.fixed, OFF_ISSUER_ID)
    }

    pub(crate) fn signature(&self) -> EcdsaSignature {
        EcdsaSignature(get(self.fixed, OFF_SIGNATURE))
    }

    pub(crate) const fn name(&self) -> &'a [u8] {
        self.name
    }

    pub(crate) const fn public_key(&self) -> &EcPublicKey {
        &self.public_key
    }

    pub(crate) const fn key_id(&self) -> &[u8; KEY_ID_LEN] {
        &self.key_id
    }

    /// The TBSCertificate this stands for, with `issuer` (itself, when self-signed).
    pub(crate) fn tbs<'t>(&'t self, issuer: IssuerRef<'t>) -> Tbs<'t> {
        Tbs {
            serial: self.fixed.get(OFF_SERIAL..OFF_NOT_BEFORE).unwrap_or(&[]),
            issuer,
            validity: (self.not_before(), self.not_after()),
            subject: SubjectName::Der(self.name()),
            key: &self.public_key,
            profile: Profile::Ca {
                self_signed: self.self_signed(),
                path_len: self.path_len(),
            },
        }
    }
}

/// The subject Name must be one DER SEQUENCE filling the rest of the input, with a
/// minimal length of at most 255.
fn check_name(name: &[u8]) -> Result<()> {
    let at = |i: usize| FIXED_LEN + i;
    match name {
        [] => Err(Error::decode(DecodeErrorKind::Truncated, at(0))),
        [t, ..] if *t != tag::SEQUENCE => Err(Error::decode(DecodeErrorKind::UnexpectedTag, at(0))),
        [_, len, body @ ..] if *len < 0x80 => exact(usize::from(*len), body.len(), at(2)),
        [_, 0x81, len, body @ ..] if *len >= 0x80 => exact(usize::from(*len), body.len(), at(3)),
        [_] => Err(Error::decode(DecodeErrorKind::Truncated, at(1))),
        _ => Err(Error::decode(DecodeErrorKind::InvalidLength, at(1))),
    }
}

fn exact(declared: usize, present: usize, body_at: usize) -> Result<()> {
    match present.cmp(&declared) {
        core::cmp::Ordering::Less => {
            Err(Error::decode(DecodeErrorKind::Truncated, body_at + present))
        }
        core::cmp::Ordering::Greater => Err(Error::decode(
            DecodeErrorKind::TrailingData,
            body_at + declared,
        )),
        core::cmp::Ordering::Equal => Ok(()),
    }
}
