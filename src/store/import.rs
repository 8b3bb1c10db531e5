//! P-256 private keys from the files other tools write, into a store: PKCS#8
//! (`PrivateKeyInfo`, RFC 5208/5958), PKCS#8 encrypted with PBES2 (RFC 8018: PBKDF2 or
//! scrypt with AES-CBC), and SEC1 `ECPrivateKey` (RFC 5915), as DER or PEM. What
//! `openssl genpkey`, `openssl pkcs8 -topk8 -v2 aes-256-cbc`, `openssl ecparam -genkey`,
//! a KMS export or `p256::SecretKey::to_pkcs8_der` produce.
//!
//! The key is held only long enough to be imported: [`P256PrivateKey`] zeroizes on drop,
//! prints no key material, and [`import_into`](P256PrivateKey::import_into) consumes it,
//! so after an import the only copy is the store's, used by handle from then on.
//!
//! Parsing is RustCrypto's (`pkcs8`, `sec1`, `pkcs5`), behind checks of its own:
//! another algorithm or curve is [`Error::Unsupported`], a public key in the file that
//! does not belong to the private key is refused, and an encrypted file whose key
//! derivation would cost more than [`MAX_PBKDF2_ITERATIONS`] or [`MAX_SCRYPT_MEMORY`]
//! is refused before any work is done (a file is input, and a crafted one could ask
//! scrypt for terabytes).
//!
//! ```
//! use provkit::store::import::P256PrivateKey;
//! use provkit::store::{IdentityKeys, KeyId, MemoryStore};
//!
//! // `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`
//! let pem = "-----BEGIN PRIVATE KEY-----
//! MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgXsxpiDQZgJIp1XE5
//! lKfvtE8iTCDb8aUfVjvcA0wtmdChRANCAAQ+88YEOMezPsCVBDBL6LgcmJiG32L3
//! 5nOc3By2/kuce+ZIVsXnrOUST2S5io6esPRzxFP3nj1lUe0nloi2luSi
//! -----END PRIVATE KEY-----";
//! let key = P256PrivateKey::from_pem(pem, None)?;
//! let mut store = MemoryStore::<4, 0, 0>::new();
//! let public = key.import_into(&mut store, KeyId(1))?;
//! assert_eq!(store.public_key(KeyId(1))?, public);
//! # Ok::<(), provkit::Error>(())
//! ```

use crate::cert::der::{Reader, tag};
use crate::ec::EcPublicKey;
use crate::error::{ByteCount, DecodeError, DecodeErrorKind, Error, Result};
use crate::secret::SecretBytes;
use crate::store::{IdentityKeys, KeyId};
use core::fmt;
use pkcs8::der::{self, Decode, asn1::ObjectIdentifier};
use pkcs8::pkcs5::{self, pbes2};
use pkcs8::{DecodePrivateKey, EncryptedPrivateKeyInfoRef};

/// The most PBKDF2 iterations an encrypted PKCS#8 file may ask for (OpenSSL writes
/// 2048; OWASP's 2023 advice for PBKDF2-HMAC-SHA256 is 600,000).
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// The most memory, in bytes, scrypt may need for an encrypted PKCS#8 file
/// (`128 · r · N` plus `128 · r · p`): 1 GiB. OpenSSL writes N = 2^14, r = 8 (16 MiB).
pub const MAX_SCRYPT_MEMORY: u64 = 1 << 30;

/// prime256v1 (secp256r1), the only curve these files may name.
const PRIME256V1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// PBES2, 1.2.840.113549.1.5.13 (OID value bytes).
const PBES2: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x05, 0x0d];
/// PEM label of a PKCS#8 `PrivateKeyInfo` (RFC 7468, section 10).
const PKCS8_LABEL: &str = "PRIVATE KEY";
/// PEM label of a PKCS#8 `EncryptedPrivateKeyInfo` (RFC 7468, section 11).
const ENCRYPTED_PKCS8_LABEL: &str = "ENCRYPTED PRIVATE KEY";
/// PEM label of a SEC1 `ECPrivateKey` (RFC 5915, section 4).
const SEC1_LABEL: &str = "EC PRIVATE KEY";

/// A P-256 private key read from a standard encoding, on its way into a store.
///
/// Zeroized on drop; `Debug` shows the public key only.
pub struct P256PrivateKey {
    key: p256::SecretKey,
}

impl P256PrivateKey {
    /// Reads a DER PKCS#8 `PrivateKeyInfo` (version 1 or 2) of a P-256 key: algorithm
    /// id-ecPublicKey with the named curve prime256v1 (in the algorithm's parameters or
    /// the inner `ECPrivateKey`'s).
    ///
    /// # Errors
    /// - [`Error::Unsupported`] for a key of another algorithm or curve;
    /// - [`Error::Decode`] for malformed DER (with the offset where it was found), a
    ///   scalar out of range, or an embedded public key that is not the private key's.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        p256::SecretKey::from_pkcs8_der(der)
            .map(|key| Self { key })
            .map_err(from_pkcs8)
    }

    /// Reads a DER PKCS#8 `EncryptedPrivateKeyInfo` (PBES2 with PBKDF2-HMAC-SHA-2 or
    /// scrypt, and AES-CBC) and decrypts it with `password`.
    ///
    /// # Errors
    /// - [`Error::Crypto`] when the password is wrong (or the ciphertext was changed);
    /// - [`Error::Unsupported`] for PBES1, other ciphers or PRFs, a key derivation over
    ///   [`MAX_PBKDF2_ITERATIONS`] or [`MAX_SCRYPT_MEMORY`] (checked before deriving),
    ///   or a decrypted key of another algorithm or curve;
    /// - [`Error::Decode`] as for [`from_pkcs8_der`](Self::from_pkcs8_der).
    pub fn from_encrypted_pkcs8_der(der: &[u8], password: &[u8]) -> Result<Self> {
        // PBES1 and the PKCS#12 schemes (`openssl pkcs8 -v1 ...`) are refused by name:
        // `pkcs5` cannot parse most of them, which would read as malformed DER.
        let mut outer = Reader::new(der);
        let (mut info, _) = outer.read(tag::SEQUENCE)?;
        let (mut scheme, _) = info.read(tag::SEQUENCE)?;
        if scheme.value(tag::OID)? != PBES2 {
            return Err(Error::Unsupported);
        }
        let info = EncryptedPrivateKeyInfoRef::from_der(der).map_err(from_der)?;
        check_cost(&info.encryption_algorithm)?;
        let plain = info.decrypt(password).map_err(from_pkcs8)?;
        Self::from_pkcs8_der(plain.as_bytes())
    }

    /// Reads a DER SEC1 `ECPrivateKey` (RFC 5915; `openssl ecparam -genkey -outform DER`).
    /// Its curve parameters, when present, must name prime256v1.
    ///
    /// # Errors
    /// As [`from_pkcs8_der`](Self::from_pkcs8_der).
    pub fn from_sec1_der(der: &[u8]) -> Result<Self> {
        let parsed = sec1::EcPrivateKey::from_der(der).map_err(from_der)?;
        match parsed.parameters {
            Some(sec1::EcParameters::NamedCurve(oid)) if oid != PRIME256V1 => {
                Err(Error::Unsupported)
            }
            _ => p256::SecretKey::try_from(parsed)
                .map(|key| Self { key })
                .map_err(from_der),
        }
    }

    /// Reads a PEM private key, choosing the form by its label: `PRIVATE KEY` (PKCS#8),
    /// `ENCRYPTED PRIVATE KEY` (needs `password`) or `EC PRIVATE KEY` (SEC1, without
    /// OpenSSL's legacy `Proc-Type` encryption headers).
    ///
    /// # Errors
    /// - `Decode(UnexpectedTag)` for another label (a certificate, a public key, an RSA
    ///   key), `Decode(InvalidValue)` for text that is not PEM;
    /// - [`Error::Crypto`] for an encrypted key without a password or with a wrong one;
    /// - otherwise as the DER form's reader.
    pub fn from_pem(pem: &str, password: Option<&[u8]>) -> Result<Self> {
        let (label, der) = der::pem::decode_vec(pem.as_bytes())
            .map_err(|_| decode_error(DecodeErrorKind::InvalidValue, 0))?;
        // The decoded DER holds the key: wiped whatever the outcome.
        let der = zeroize::Zeroizing::new(der);
        match label {
            PKCS8_LABEL => Self::from_pkcs8_der(&der),
            ENCRYPTED_PKCS8_LABEL => {
                Self::from_encrypted_pkcs8_der(&der, password.ok_or(Error::Crypto)?)
            }
            SEC1_LABEL => Self::from_sec1_der(&der),
            _ => Err(decode_error(DecodeErrorKind::UnexpectedTag, 0)),
        }
    }

    /// The key's public key.
    #[must_use]
    pub fn public_key(&self) -> EcPublicKey {
        EcPublicKey::from(self.key.public_key())
    }

    /// Imports the key into `store` under `id` and returns its public key; the store
    /// refuses an `id` already in use (`Store(AlreadyExists)`). Consumes the key, whose
    /// bytes are zeroized here.
    ///
    /// # Errors
    /// What the store's [`IdentityKeys::import_p256`] returns.
    pub fn import_into<S: IdentityKeys + ?Sized>(
        self,
        store: &mut S,
        id: KeyId,
    ) -> Result<EcPublicKey> {
        let scalar = SecretBytes::<32>::from_slice(&self.key.to_bytes())?;
        store.import_p256(id, &scalar)
    }
}

impl fmt::Debug for P256PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("P256PrivateKey")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

/// Refuses a PBES2 key derivation that would cost more than the limits above, before
/// any of it is done.
fn check_cost(scheme: &pkcs5::EncryptionScheme) -> Result<()> {
    let pkcs5::EncryptionScheme::Pbes2(params) = scheme else {
        return Err(Error::Unsupported);
    };
    match &params.kdf {
        pbes2::Kdf::Pbkdf2(p) if p.iteration_count > MAX_PBKDF2_ITERATIONS => {
            Err(Error::Unsupported)
        }
        pbes2::Kdf::Scrypt(p) => {
            let r = u64::from(p.block_size);
            let memory = 128u64
                .checked_mul(r)
                .and_then(|b| b.checked_mul(p.cost_parameter))
                .and_then(|v| v.checked_add(128 * r * u64::from(p.parallelization)));
            match memory {
                Some(m) if m <= MAX_SCRYPT_MEMORY => Ok(()),
                _ => Err(Error::Unsupported),
            }
        }
        _ => Ok(()),
    }
}

fn decode_error(kind: DecodeErrorKind, offset: usize) -> Error {
    Error::Decode(DecodeError {
        kind,
        offset: ByteCount::new(offset),
    })
}

/// A DER error as a provkit decode error at the same offset.
fn from_der(e: der::Error) -> Error {
    use der::ErrorKind as K;
    let offset = e
        .position()
        .map_or(0, |p| usize::try_from(u32::from(p)).unwrap_or(usize::MAX));
    let kind = match e.kind() {
        K::Incomplete { .. } => DecodeErrorKind::Truncated,
        K::TrailingData { .. } => DecodeErrorKind::TrailingData,
        K::TagUnexpected { .. } | K::TagUnknown { .. } => DecodeErrorKind::UnexpectedTag,
        K::Length { .. } | K::IndefiniteLength | K::Overlength | K::Overflow => {
            DecodeErrorKind::InvalidLength
        }
        _ => DecodeErrorKind::InvalidValue,
    };
    decode_error(kind, offset)
}

fn from_pkcs8(e: pkcs8::Error) -> Error {
    match e {
        pkcs8::Error::Asn1(e) => from_der(e),
        pkcs8::Error::EncryptedPrivateKey(pkcs5::Error::DecryptFailed) => Error::Crypto,
        pkcs8::Error::EncryptedPrivateKey(pkcs5::Error::AlgorithmParametersInvalid { .. }) => {
            decode_error(DecodeErrorKind::InvalidValue, 0)
        }
        pkcs8::Error::EncryptedPrivateKey(_) | pkcs8::Error::PublicKey(_) => Error::Unsupported,
        // A malformed key or parameters (and whatever later versions add).
        _ => decode_error(DecodeErrorKind::InvalidValue, 0),
    }
}
