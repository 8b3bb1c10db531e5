//! [`Pkcs11Store`]: provkit's key-store traits over a PKCS#11 session.

use crate::config::{ExportPolicy, KeyRole, KeyRoles, Pkcs11Config, WrapMechanism, WrapMechanisms};
use crate::error::{OpenError, describe, to_provkit};
use crate::ids::{key_cka_id, key_label, kind_from_label};
use crate::session::{module, open_session};
use cryptoki::mechanism::elliptic_curve::{EcKdf, Ecdh1DeriveParams};
use cryptoki::mechanism::vendor_defined::VendorDefinedMechanism;
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::Session;
use provkit::ec::{EcPublicKey, EcdsaSignature};
use provkit::error::DecodeErrorKind;
use provkit::secret::SecretBytes;
use provkit::store::{
    IdentityKeys, KeyId, KeyInventory, KeyKind, MemoryStore, StoreError, SymmetricKeys,
    WrapAlgorithm,
};
use provkit::{Error, Result};
use zeroize::Zeroize;

/// DER of the P-256 curve OID (1.2.840.10045.3.1.7), the `CKA_EC_PARAMS` of our keys.
const P256_PARAMS: [u8; 10] = [0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];

/// A key store on one PKCS#11 token, through one logged-in session.
///
/// Private and secret keys are created inside the HSM as `CKA_SENSITIVE` token objects:
/// P-256 keys are never extractable; symmetric keys are extractable (and then only by
/// `C_WrapKey` under a trusted [`KeyRole::ExportKek`]) when the [`ExportPolicy`] says so.
/// Every symmetric key has exactly one [`KeyRole`], fixed by its attributes; each
/// operation checks it. Every operation runs in the HSM: `CKM_ECDSA`,
/// `CKM_ECDH1_DERIVE`, `CKM_AES_ECB` / `CKM_DES3_ECB`, `C_WrapKey` / `C_UnwrapKey` with
/// the configured [`WrapMechanisms`].
///
/// ECDH: provkit's [`IdentityKeys::ecdh`] returns the shared x-coordinate to the caller
/// (the handshake's HKDF runs in software), so the store derives it with the null KDF
/// into a *session* `CKK_GENERIC_SECRET` object that is non-sensitive and extractable,
/// reads it and destroys it at once. The private key stays sealed; the shared secret
/// exists in host memory, as it must for any software KDF. Keeping it inside the HSM
/// would need the whole KDF as PKCS#11 mechanisms, which provkit's protocols do not use.
///
/// Object ids: see the [`ids`](crate::ids) mapping. Creating a key first checks that
/// the id is free; two processes creating the same id at the same instant could both
/// succeed, since PKCS#11 has no unique constraint: give each writer its own namespace.
#[derive(Debug)]
pub struct Pkcs11Store {
    session: Session,
    namespace: u32,
    wrap: WrapMechanisms,
    export: ExportPolicy,
    roles: KeyRoles,
    pub(crate) max_record_len: usize,
    last_error: Option<String>,
}

impl Pkcs11Store {
    /// Loads the module (once per process), finds the token by label, opens a
    /// read-write session and logs in with the PIN.
    ///
    /// # Errors
    /// [`OpenError`] saying what failed: module, token label, PIN, or PKCS#11.
    pub fn open(config: Pkcs11Config) -> core::result::Result<Self, OpenError> {
        let m = module(&config.module)?;
        let session = open_session(&m, &config.token_label, &config.pin)?;
        Ok(Self {
            session,
            namespace: config.namespace,
            wrap: config.wrap,
            export: config.export,
            roles: config.roles,
            max_record_len: config.max_record_len,
            last_error: None,
        })
    }

    /// The PKCS#11 function and return value behind the last `Backend` (or other
    /// PKCS#11-caused) error, for logs. Contains no key material.
    #[must_use]
    pub fn last_backend_error(&self) -> Option<&str> {
        self.last_error.as_deref()
    }

    /// The namespace this store's object ids live in.
    #[must_use]
    pub const fn namespace(&self) -> u32 {
        self.namespace
    }

    /// Converts a cryptoki result, keeping the detail of a failure.
    pub(crate) fn ck<T>(&mut self, r: cryptoki::error::Result<T>) -> Result<T> {
        r.map_err(|e| {
            self.last_error = Some(describe(&e));
            to_provkit(&e)
        })
    }

    /// As [`ck`](Self::ck) for `C_UnwrapKey`, where SoftHSM2 reports a failed integrity
    /// check as `CKR_GENERAL_ERROR`: that becomes the opaque `Crypto` too (nothing was
    /// released either way; the detail stays in [`last_backend_error`](Self::last_backend_error)).
    fn ck_unwrap<T>(&mut self, r: cryptoki::error::Result<T>) -> Result<T> {
        r.map_err(|e| {
            self.last_error = Some(describe(&e));
            match crate::error::rv(&e) {
                Some(cryptoki::error::RvError::GeneralError) => Error::Crypto,
                _ => to_provkit(&e),
            }
        })
    }

    /// Records a failure that the HSM reported as success (e.g. an output length that
    /// contradicts the mechanism) and returns `Backend`.
    pub(crate) fn inconsistent(&mut self, what: &str) -> Error {
        self.last_error = Some(format!("inconsistent HSM answer: {what}"));
        StoreError::Backend(provkit::error::BackendCause::UNSPECIFIED).into()
    }

    pub(crate) fn session(&self) -> &Session {
        &self.session
    }

    /// Every token object carrying the `CKA_ID` of `id`.
    fn key_objects(&mut self, id: KeyId) -> Result<Vec<ObjectHandle>> {
        let template = [
            Attribute::Token(true),
            Attribute::Id(key_cka_id(self.namespace, id)),
        ];
        let r = self.session.find_objects(&template);
        self.ck(r)
    }

    /// The private or secret key under `id` and its kind.
    fn key(&mut self, id: KeyId) -> Result<(ObjectHandle, KeyKind)> {
        self.key_info(id).map(|k| (k.handle, k.kind))
    }

    /// The private or secret key under `id`: handle, kind and (secret keys) role.
    fn key_info(&mut self, id: KeyId) -> Result<KeyInfo> {
        for handle in self.key_objects(id)? {
            let r = self.session.get_attributes(
                handle,
                &[
                    AttributeType::Class,
                    AttributeType::KeyType,
                    AttributeType::ValueLen,
                    AttributeType::EcParams,
                    AttributeType::Label,
                    AttributeType::Encrypt,
                    AttributeType::Decrypt,
                    AttributeType::Wrap,
                    AttributeType::Unwrap,
                    AttributeType::Derive,
                    AttributeType::Sign,
                    AttributeType::Verify,
                    AttributeType::Trusted,
                ],
            );
            let attrs = self.ck(r)?;
            let mut class = None;
            let mut key_type = None;
            let mut len = None;
            let mut params = None;
            let mut label = None;
            let mut usage = Usage::default();
            for a in attrs {
                match a {
                    Attribute::Class(c) => class = Some(c),
                    Attribute::KeyType(k) => key_type = Some(k),
                    Attribute::ValueLen(l) => len = usize::try_from(u64::from(l)).ok(),
                    Attribute::EcParams(p) => params = Some(p),
                    Attribute::Label(l) => label = Some(l),
                    Attribute::Encrypt(b) => usage.encrypt = b,
                    Attribute::Decrypt(b) => usage.decrypt = b,
                    Attribute::Wrap(b) => usage.wrap = b,
                    Attribute::Unwrap(b) => usage.unwrap = b,
                    Attribute::Derive(b) => usage.derive = b,
                    Attribute::Sign(b) => usage.sign = b,
                    Attribute::Verify(b) => usage.verify = b,
                    Attribute::Trusted(b) => usage.trusted = b,
                    _ => {}
                }
            }
            let kind = match (class, key_type) {
                (Some(ObjectClass::PUBLIC_KEY), _) => continue,
                (Some(ObjectClass::PRIVATE_KEY), Some(KeyType::EC))
                    if params.as_deref() == Some(&P256_PARAMS[..]) =>
                {
                    KeyKind::P256
                }
                (Some(ObjectClass::SECRET_KEY), Some(KeyType::AES)) => {
                    // CKA_VALUE_LEN if the module kept it, else the label (see `ids`).
                    let from_label = label
                        .as_deref()
                        .and_then(kind_from_label)
                        .filter(|k| aes_value_len(*k).is_some());
                    len.and_then(KeyKind::aes_for_len)
                        .or(from_label)
                        .ok_or(Error::Unsupported)?
                }
                (Some(ObjectClass::SECRET_KEY), Some(KeyType::DES2)) => KeyKind::Tdes2,
                (Some(ObjectClass::SECRET_KEY), Some(KeyType::DES3)) => KeyKind::Tdes3,
                // An object provkit did not create (another curve, RSA, ...).
                _ => return Err(Error::Unsupported),
            };
            let role = if kind == KeyKind::P256 {
                None
            } else {
                usage.role()
            };
            return Ok(KeyInfo { handle, kind, role });
        }
        Err(StoreError::NotFound.into())
    }

    /// The symmetric key under `id`, which must have `role` (and, for the KEK roles, be
    /// an AES key); otherwise `WrongKeyKind`, with the reason in
    /// [`last_backend_error`](Self::last_backend_error).
    fn key_for(&mut self, id: KeyId, role: KeyRole) -> Result<(ObjectHandle, KeyKind)> {
        let info = self.key_info(id)?;
        let aes = KeyKind::aes_for_len(info.kind.key_len()) == Some(info.kind);
        if info.role == Some(role) && (role == KeyRole::Derive || aes) {
            return Ok((info.handle, info.kind));
        }
        self.last_error = Some(match info.role {
            _ if info.kind == KeyKind::P256 => format!("key {:#x} is a P-256 key", id.0),
            Some(r) if r == role => format!("key {:#x}: a {role:?} must be an AES key", id.0),
            Some(r) => format!(
                "key {:#x} is a {r:?}; this operation needs a {role:?}",
                id.0
            ),
            None => format!(
                "key {:#x} has no single role (its usage attributes mix roles or match none): \
                 refused for every operation",
                id.0
            ),
        });
        Err(StoreError::WrongKeyKind.into())
    }

    /// The key under `id`, which must be of a kind `ok` accepts.
    fn key_where(&mut self, id: KeyId, ok: fn(KeyKind) -> bool) -> Result<(ObjectHandle, KeyKind)> {
        let (handle, kind) = self.key(id)?;
        if ok(kind) {
            Ok((handle, kind))
        } else {
            Err(StoreError::WrongKeyKind.into())
        }
    }

    fn ensure_free(&mut self, id: KeyId) -> Result<()> {
        if self.key_objects(id)?.is_empty() {
            Ok(())
        } else {
            Err(StoreError::AlreadyExists.into())
        }
    }

    /// True if `len` bytes must not be wrapped with `alg` on this HSM (see
    /// [`WrapMechanisms::kwp_zero_pads`]).
    fn refuses_length(&self, alg: WrapAlgorithm, len: usize) -> bool {
        alg == WrapAlgorithm::AesKwp && self.wrap.kwp_zero_pads && !len.is_multiple_of(8)
    }

    fn wrap_mechanism(&self, alg: WrapAlgorithm) -> Result<Mechanism<'static>> {
        let m = match alg {
            WrapAlgorithm::AesKw => self.wrap.aes_kw,
            WrapAlgorithm::AesKwp => self.wrap.aes_kwp,
            _ => WrapMechanism::Unavailable,
        };
        mechanism(m)
    }

    /// The attributes of a symmetric key the store creates under `id`: its configured
    /// role's usage (see [`KeyRole`]), sensitive, unmodifiable, extractable per the
    /// [`ExportPolicy`] and then only under a trusted KEK (`CKA_WRAP_WITH_TRUSTED`).
    ///
    /// `Unsupported` for an id configured as [`KeyRole::ExportKek`] (only the security
    /// officer creates those: [`create_export_kek`](crate::create_export_kek));
    /// `WrongKeyKind` for a TDES key in a KEK role.
    fn secret_template(&mut self, id: KeyId, kind: KeyKind) -> Result<Vec<Attribute>> {
        let key_type = secret_key_type(kind)?;
        let role = self.roles.role(id.0);
        if role == KeyRole::ExportKek {
            self.last_error = Some(format!(
                "key {:#x} is configured as an ExportKek: only the security officer creates \
                 those (create_export_kek), never generate/import/unwrap_key",
                id.0
            ));
            return Err(Error::Unsupported);
        }
        if role != KeyRole::Derive && key_type != KeyType::AES {
            self.last_error = Some(format!("a {role:?} must be an AES key, not {kind:?}"));
            return Err(StoreError::WrongKeyKind.into());
        }
        let mut template = vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(key_type),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(self.export.extractable(id.0)),
            // Whatever the policy: an extractable key leaves only under a trusted KEK.
            Attribute::WrapWithTrusted(true),
        ];
        template.extend(Usage::of(role).attributes());
        template.push(Attribute::Id(key_cka_id(self.namespace, id)));
        template.push(Attribute::Label(key_label(self.namespace, id, kind)));
        // Last: SoftHSM2 applies C_UnwrapKey templates in order and refuses every
        // attribute after CKA_MODIFIABLE=false (see the crate docs).
        template.push(Attribute::Modifiable(false));
        Ok(template)
    }

    /// Creates a session object holding caller-supplied bytes as a generic secret, for
    /// `C_WrapKey`; destroyed when the guard drops.
    fn temp_secret(&mut self, bytes: &[u8]) -> Result<TempObject<'_>> {
        let mut template = vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::GENERIC_SECRET),
            Attribute::Token(false),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(true),
            Attribute::Value(bytes.to_vec()),
        ];
        template.extend(Usage::default().attributes());
        let r = self.session.create_object(&template);
        wipe(&mut template);
        let handle = self.ck(r)?;
        Ok(TempObject {
            session: &self.session,
            handle,
        })
    }

    /// Checks that the configured wrap mechanisms produce RFC 3394 and RFC 5649 outputs,
    /// with the RFCs' own test vectors, inside the HSM (on session objects that vanish
    /// with the session). Run it once when adopting a new HSM or mechanism setting.
    ///
    /// # Errors
    /// `Crypto` if an output differs from the RFC (the mechanism is not the algorithm it
    /// was configured as); `Unsupported` if a mechanism is unavailable; backend failures.
    pub fn check_wrap_mechanisms(&mut self) -> Result<()> {
        for v in crate::vectors::ALL {
            let mut template = vec![
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::AES),
                Attribute::Token(false),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Value(v.kek.to_vec()),
            ];
            template.extend(Usage::of(KeyRole::DataKek).attributes());
            let r = self.session.create_object(&template);
            wipe(&mut template);
            let kek = self.ck(r)?;
            let result = self.check_vector(kek, v);
            let r = self.session.destroy_object(kek);
            self.ck(r)?;
            result?;
        }
        Ok(())
    }

    fn check_vector(&mut self, kek: ObjectHandle, v: &crate::vectors::Vector) -> Result<()> {
        if self.refuses_length(v.alg, v.key.len()) {
            // Configured as zero-padding: the store refuses this length, nothing to check.
            return Ok(());
        }
        let mech = self.wrap_mechanism(v.alg)?;
        let wrapped = {
            let tmp = self.temp_secret(v.key)?;
            let r = tmp.session.wrap_key(&mech, kek, tmp.handle);
            drop(tmp);
            self.ck(r)?
        };
        if wrapped != v.wrapped {
            return Err(Error::Crypto);
        }
        let mut back = self.unwrap_to_vec(&mech, kek, v.wrapped)?;
        let same = back == v.key;
        back.zeroize();
        if same { Ok(()) } else { Err(Error::Crypto) }
    }

    /// `C_UnwrapKey` into a short-lived readable session object; returns its value.
    /// Only ever called with a [`KeyRole::DataKek`] (or a session KEK holding a public
    /// test vector): no other role may release what it unwraps.
    fn unwrap_to_vec(
        &mut self,
        mech: &Mechanism<'_>,
        kek: ObjectHandle,
        wrapped: &[u8],
    ) -> Result<Vec<u8>> {
        let mut template = vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::GENERIC_SECRET),
            Attribute::Token(false),
            Attribute::Private(true),
            Attribute::Sensitive(false),
            Attribute::Extractable(true),
        ];
        template.extend(Usage::default().attributes());
        let r = self.session.unwrap_key(mech, kek, wrapped, &template);
        let handle = self.ck_unwrap(r)?;
        let tmp = TempObject {
            session: &self.session,
            handle,
        };
        let r = tmp.session.get_attributes(handle, &[AttributeType::Value]);
        drop(tmp);
        let attrs = self.ck(r)?;
        attrs
            .into_iter()
            .find_map(|a| match a {
                Attribute::Value(v) => Some(v),
                _ => None,
            })
            .ok_or_else(|| self.inconsistent("unwrapped secret has no CKA_VALUE"))
    }

    fn public_object(&mut self, id: KeyId) -> Result<EcPublicKey> {
        let template = [
            Attribute::Token(true),
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::Id(key_cka_id(self.namespace, id)),
        ];
        let r = self.session.find_objects(&template);
        let found = self.ck(r)?;
        let handle = *found.first().ok_or(Error::Store(StoreError::Corrupt))?;
        let r = self
            .session
            .get_attributes(handle, &[AttributeType::EcPoint]);
        let attrs = self.ck(r)?;
        let point = attrs
            .into_iter()
            .find_map(|a| match a {
                Attribute::EcPoint(p) => Some(p),
                _ => None,
            })
            .ok_or(Error::Store(StoreError::Corrupt))?;
        decode_ec_point(&point).map_err(|_| StoreError::Corrupt.into())
    }
}

impl Pkcs11Store {
    /// Re-encrypts a wrapped key of `kind` from `old_kek` to `new_kek` inside the HSM
    /// (KEK rotation): `C_UnwrapKey` into a sensitive session object, `C_WrapKey` under
    /// the new KEK, destroy. The key is never in host memory and nothing is written to
    /// the token. Returns the length written to `out` (equal to `wrapped.len()`).
    ///
    /// Both KEKs must be [`KeyRole::DataKek`]s: what they wrap is caller material
    /// (either could [`unwrap_bytes`](SymmetricKeys::unwrap_bytes) it anyway). Blobs from
    /// [`wrap_key`](SymmetricKeys::wrap_key) are under an export KEK, which cannot unwrap,
    /// so they can never be moved under a key that releases its plaintext.
    ///
    /// The unwrapped length must be the kind's: for RFC 3394 the wrapped length fixes it
    /// and is checked first; for RFC 5649 the length inside the wrap may be up to 7 bytes
    /// shorter than the padded length, so the blob is first unwrapped into a sealed
    /// encrypt-only session object that is tried once (one ECB block, which the HSM
    /// refuses for a key of a size its type does not have) and destroyed, and the blob
    /// refused if that fails. [`unwrap_key`](SymmetricKeys::unwrap_key) checks the same way.
    ///
    /// # Errors
    /// `Crypto` if `wrapped` fails its integrity check under `old_kek`;
    /// `Decode(InvalidLength)` if it does not hold a key of `kind`; `BufferTooSmall`;
    /// `WrongKeyKind` unless both KEKs are data KEKs; store errors for the KEKs.
    pub fn rewrap(
        &mut self,
        old_kek: KeyId,
        new_kek: KeyId,
        alg: WrapAlgorithm,
        kind: KeyKind,
        wrapped: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        let (old, _) = self.key_for(old_kek, KeyRole::DataKek)?;
        let (new, _) = self.key_for(new_kek, KeyRole::DataKek)?;
        if out.len() < wrapped.len() {
            return Err(Error::buffer_too_small(wrapped.len()));
        }
        // A sensitive session object with no usage at all: it can only be wrapped.
        let mut template = vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(secret_key_type(kind)?),
            Attribute::Token(false),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(true),
        ];
        template.extend(Usage::default().attributes());
        template.push(Attribute::Modifiable(false));
        let handle = self.unwrap_checked(old, alg, wrapped, kind, &template)?;
        let mechanism = self.wrap_mechanism(alg)?;
        let tmp = TempObject {
            session: &self.session,
            handle,
        };
        let r = tmp.session.wrap_key(&mechanism, new, handle);
        drop(tmp);
        let rewrapped = self.ck(r)?;
        if rewrapped.len() != wrapped.len() {
            return Err(self.inconsistent("rewrapped length differs"));
        }
        copy_out(out, &rewrapped)
    }

    /// `C_UnwrapKey` of a key of `kind` with `template`, checking the unwrapped length
    /// (see [`rewrap`](Self::rewrap)); returns the new object.
    fn unwrap_checked(
        &mut self,
        kek: ObjectHandle,
        alg: WrapAlgorithm,
        wrapped: &[u8],
        kind: KeyKind,
        template: &[Attribute],
    ) -> Result<ObjectHandle> {
        if alg.wrapped_len(kind.key_len()) != Some(wrapped.len()) {
            return Err(invalid_length(wrapped.len()));
        }
        let mechanism = self.wrap_mechanism(alg)?;
        if alg != WrapAlgorithm::AesKw {
            self.probe_length(&mechanism, kek, wrapped, kind)?;
        }
        let r = self.session.unwrap_key(&mechanism, kek, wrapped, template);
        self.ck_unwrap(r)
    }

    /// The length probe for RFC 5649, whose wrapped length leaves the key length open by
    /// up to 7 bytes (RFC 3394's wrapped length fixes it and is checked before): the same
    /// unwrap into a sealed, encrypt-only session object, tried on one block and
    /// destroyed. The object the caller gets may have no encrypt capability (its role
    /// decides), so it cannot be probed itself.
    fn probe_length(
        &mut self,
        mechanism: &Mechanism<'_>,
        kek: ObjectHandle,
        wrapped: &[u8],
        kind: KeyKind,
    ) -> Result<()> {
        let mut probe_template = vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(secret_key_type(kind)?),
            Attribute::Token(false),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
        ];
        probe_template.extend(Usage::of(KeyRole::Derive).attributes());
        let r = self
            .session
            .unwrap_key(mechanism, kek, wrapped, &probe_template);
        let handle = self.ck_unwrap(r)?;
        let probe = TempObject {
            session: &self.session,
            handle,
        };
        let r = match kind {
            KeyKind::Tdes2 | KeyKind::Tdes3 => {
                probe
                    .session
                    .encrypt(&Mechanism::Des3Ecb, probe.handle, &[0; 8])
            }
            _ => probe
                .session
                .encrypt(&Mechanism::AesEcb, probe.handle, &[0; 16]),
        };
        drop(probe);
        if let Err(e) = r {
            self.last_error = Some(format!(
                "unwrapped key unusable as {kind:?}: {}",
                describe(&e)
            ));
            return Err(invalid_length(wrapped.len()));
        }
        Ok(())
    }
}

/// The cryptoki mechanism for a configured wrap mechanism.
fn mechanism(m: WrapMechanism) -> Result<Mechanism<'static>> {
    match m {
        WrapMechanism::AesKeyWrap => Ok(Mechanism::AesKeyWrap),
        WrapMechanism::AesKeyWrapPad => Ok(Mechanism::AesKeyWrapPad),
        WrapMechanism::Vendor(v) => {
            let t = MechanismType::new_vendor_defined(v).map_err(|_| Error::Unsupported)?;
            Ok(Mechanism::VendorDefined(VendorDefinedMechanism::new::<()>(
                t, None,
            )))
        }
        WrapMechanism::Unavailable => Err(Error::Unsupported),
    }
}

/// `CKA_EC_POINT` as SoftHSM and the spec give it (DER OCTET STRING around the SEC 1
/// point), or a bare SEC 1 point as some HSMs return.
fn decode_ec_point(bytes: &[u8]) -> Result<EcPublicKey> {
    match bytes {
        [0x04, len, rest @ ..] if usize::from(*len) == rest.len() => EcPublicKey::from_sec1(rest),
        _ => EcPublicKey::from_sec1(bytes),
    }
}

/// Zeroizes every `CKA_VALUE` in a template after use.
pub(crate) fn wipe(template: &mut [Attribute]) {
    for a in template {
        if let Attribute::Value(v) = a {
            v.zeroize();
        }
    }
}

/// A session object destroyed on drop, even on error paths.
struct TempObject<'a> {
    session: &'a Session,
    handle: ObjectHandle,
}

impl Drop for TempObject<'_> {
    fn drop(&mut self) {
        // A session object also vanishes when the session closes; nothing else to do
        // if destruction fails.
        let _ = self.session.destroy_object(self.handle);
    }
}

/// `CKA_KEY_TYPE` of a symmetric kind; `WrongKeyKind` for P-256.
fn secret_key_type(kind: KeyKind) -> Result<KeyType> {
    match kind {
        KeyKind::Aes128 | KeyKind::Aes192 | KeyKind::Aes256 => Ok(KeyType::AES),
        KeyKind::Tdes2 => Ok(KeyType::DES2),
        KeyKind::Tdes3 => Ok(KeyType::DES3),
        _ => Err(StoreError::WrongKeyKind.into()),
    }
}

/// A key found by id: handle, kind, and the role its usage attributes give it (`None`
/// for P-256 keys and for secret keys whose attributes are no single role).
struct KeyInfo {
    handle: ObjectHandle,
    kind: KeyKind,
    role: Option<KeyRole>,
}

/// The usage attributes of a secret key (missing ones read as false).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Usage {
    encrypt: bool,
    decrypt: bool,
    wrap: bool,
    unwrap: bool,
    derive: bool,
    sign: bool,
    verify: bool,
    trusted: bool,
}

impl Usage {
    /// The one usage set of each role.
    pub(crate) const fn of(role: KeyRole) -> Self {
        let none = Self {
            encrypt: false,
            decrypt: false,
            wrap: false,
            unwrap: false,
            derive: false,
            sign: false,
            verify: false,
            trusted: false,
        };
        match role {
            KeyRole::Derive => Self {
                encrypt: true,
                ..none
            },
            KeyRole::DataKek => Self {
                wrap: true,
                unwrap: true,
                ..none
            },
            KeyRole::ImportKek => Self {
                unwrap: true,
                ..none
            },
            KeyRole::ExportKek => Self {
                wrap: true,
                trusted: true,
                ..none
            },
        }
    }

    /// The role these attributes are exactly, if any.
    fn role(self) -> Option<KeyRole> {
        [
            KeyRole::Derive,
            KeyRole::DataKek,
            KeyRole::ImportKek,
            KeyRole::ExportKek,
        ]
        .into_iter()
        .find(|r| Self::of(*r) == self)
    }

    /// Every usage attribute, explicitly (SoftHSM2 defaults missing ones to true).
    /// `CKA_TRUSTED` is only included when true: only the security officer may set it.
    pub(crate) fn attributes(self) -> Vec<Attribute> {
        let mut v = vec![
            Attribute::Encrypt(self.encrypt),
            Attribute::Decrypt(self.decrypt),
            Attribute::Wrap(self.wrap),
            Attribute::Unwrap(self.unwrap),
            Attribute::Derive(self.derive),
            Attribute::Sign(self.sign),
            Attribute::Verify(self.verify),
        ];
        if self.trusted {
            v.push(Attribute::Trusted(true));
        }
        v
    }
}

/// `CKA_VALUE_LEN` of an AES kind; `None` for other kinds.
fn aes_value_len(kind: KeyKind) -> Option<u64> {
    match kind {
        KeyKind::Aes128 | KeyKind::Aes192 | KeyKind::Aes256 => u64::try_from(kind.key_len()).ok(),
        _ => None,
    }
}

fn invalid_length(len: usize) -> Error {
    Error::decode(DecodeErrorKind::InvalidLength, len)
}

fn copy_out(out: &mut [u8], data: &[u8]) -> Result<usize> {
    out.get_mut(..data.len())
        .ok_or(Error::buffer_too_small(data.len()))?
        .copy_from_slice(data);
    Ok(data.len())
}

impl KeyInventory for Pkcs11Store {
    fn key_kind(&mut self, id: KeyId) -> Result<KeyKind> {
        self.key(id).map(|(_, kind)| kind)
    }

    fn delete_key(&mut self, id: KeyId) -> Result<()> {
        let objects = self.key_objects(id)?;
        if objects.is_empty() {
            return Err(StoreError::NotFound.into());
        }
        for handle in objects {
            let r = self.session.destroy_object(handle);
            self.ck(r)?;
        }
        Ok(())
    }
}

impl IdentityKeys for Pkcs11Store {
    /// Generates the pair with `CKM_EC_KEY_PAIR_GEN` in the HSM; `rng` is not used.
    fn generate_p256(
        &mut self,
        id: KeyId,
        _rng: &mut dyn rand_core::CryptoRng,
    ) -> Result<EcPublicKey> {
        self.ensure_free(id)?;
        let cka_id = key_cka_id(self.namespace, id);
        let label = key_label(self.namespace, id, KeyKind::P256);
        let public = [
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(P256_PARAMS.to_vec()),
            Attribute::Id(cka_id.clone()),
            Attribute::Label(label.clone()),
        ];
        let private = [
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Derive(true),
            Attribute::Id(cka_id),
            Attribute::Label(label),
        ];
        let r = self
            .session
            .generate_key_pair(&Mechanism::EccKeyPairGen, &public, &private);
        self.ck(r)?;
        self.public_object(id)
    }

    /// Imports the scalar as a sealed `CKO_PRIVATE_KEY` (plus its public key, computed
    /// and validated in software first).
    fn import_p256(&mut self, id: KeyId, scalar: &SecretBytes<32>) -> Result<EcPublicKey> {
        // provkit's own store validates the scalar and computes the public key.
        let public = MemoryStore::<1, 0, 0>::new().import_p256(KeyId(0), scalar)?;
        self.ensure_free(id)?;
        let cka_id = key_cka_id(self.namespace, id);
        let label = key_label(self.namespace, id, KeyKind::P256);
        let mut private = vec![
            Attribute::Class(ObjectClass::PRIVATE_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Derive(true),
            Attribute::EcParams(P256_PARAMS.to_vec()),
            Attribute::Id(cka_id.clone()),
            Attribute::Label(label.clone()),
            Attribute::Value(scalar.dangerous_expose().to_vec()),
        ];
        let r = self.session.create_object(&private);
        wipe(&mut private);
        let private_handle = self.ck(r)?;
        let mut point = vec![0x04, 65];
        point.extend_from_slice(&public.to_uncompressed());
        let public_template = [
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(KeyType::EC),
            Attribute::Token(true),
            Attribute::Private(false),
            Attribute::Verify(true),
            Attribute::EcParams(P256_PARAMS.to_vec()),
            Attribute::EcPoint(point),
            Attribute::Id(cka_id),
            Attribute::Label(label),
        ];
        let r = self.session.create_object(&public_template);
        if let Err(e) = self.ck(r) {
            // Leave no half-imported key behind.
            let _ = self.session.destroy_object(private_handle);
            return Err(e);
        }
        Ok(public)
    }

    fn public_key(&mut self, id: KeyId) -> Result<EcPublicKey> {
        self.key_where(id, |k| k == KeyKind::P256)?;
        self.public_object(id)
    }

    /// `CKM_ECDSA` over the digest; the HSM returns raw `r || s`.
    fn sign_digest(&mut self, id: KeyId, digest: &[u8; 32]) -> Result<EcdsaSignature> {
        let (handle, _) = self.key_where(id, |k| k == KeyKind::P256)?;
        let r = self.session.sign(&Mechanism::Ecdsa, handle, digest);
        let sig = self.ck(r)?;
        let sig: [u8; 64] = sig
            .try_into()
            .map_err(|_| self.inconsistent("ECDSA signature is not 64 bytes"))?;
        Ok(EcdsaSignature(sig))
    }

    /// `CKM_ECDH1_DERIVE` with the null KDF into a short-lived session secret (see the
    /// type's documentation for why it is readable).
    fn ecdh(&mut self, id: KeyId, peer: &EcPublicKey) -> Result<SecretBytes<32>> {
        let (handle, _) = self.key_where(id, |k| k == KeyKind::P256)?;
        let point = peer.to_uncompressed();
        let params = Ecdh1DeriveParams::new(EcKdf::null(), &point);
        let template = [
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::GENERIC_SECRET),
            Attribute::ValueLen(32.into()),
            Attribute::Token(false),
            Attribute::Private(true),
            Attribute::Sensitive(false),
            Attribute::Extractable(true),
            Attribute::Encrypt(false),
            Attribute::Decrypt(false),
            Attribute::Wrap(false),
            Attribute::Unwrap(false),
            Attribute::Derive(false),
            Attribute::Sign(false),
            Attribute::Verify(false),
        ];
        let r = self
            .session
            .derive_key(&Mechanism::Ecdh1Derive(params), handle, &template);
        let derived = self.ck(r)?;
        let tmp = TempObject {
            session: &self.session,
            handle: derived,
        };
        let r = tmp.session.get_attributes(derived, &[AttributeType::Value]);
        drop(tmp);
        let attrs = self.ck(r)?;
        let mut shared = None;
        for a in attrs {
            if let Attribute::Value(mut v) = a {
                shared = Some(SecretBytes::<32>::from_slice(&v));
                v.zeroize();
            }
        }
        match shared {
            Some(Ok(s)) => Ok(s),
            _ => Err(self.inconsistent("ECDH output is not 32 bytes")),
        }
    }
}

impl SymmetricKeys for Pkcs11Store {
    /// Imports as a sensitive token object (extractable per the [`ExportPolicy`]).
    fn import_symmetric(&mut self, id: KeyId, kind: KeyKind, key: &[u8]) -> Result<()> {
        let mut template = self.secret_template(id, kind)?;
        if key.len() != kind.key_len() {
            return Err(invalid_length(key.len()));
        }
        self.ensure_free(id)?;
        template.push(Attribute::Value(key.to_vec()));
        let r = self.session.create_object(&template);
        wipe(&mut template);
        self.ck(r).map(drop)
    }

    /// Generates in the HSM (`CKM_AES_KEY_GEN`, `CKM_DES2_KEY_GEN`, `CKM_DES3_KEY_GEN`);
    /// `rng` is not used.
    fn generate_symmetric(
        &mut self,
        id: KeyId,
        kind: KeyKind,
        _rng: &mut dyn rand_core::CryptoRng,
    ) -> Result<()> {
        let mut template = self.secret_template(id, kind)?;
        self.ensure_free(id)?;
        let mechanism = match kind {
            KeyKind::Tdes2 => Mechanism::Des2KeyGen,
            KeyKind::Tdes3 => Mechanism::Des3KeyGen,
            _ => {
                let len = aes_value_len(kind).ok_or(Error::Store(StoreError::WrongKeyKind))?;
                template.push(Attribute::ValueLen(len.into()));
                Mechanism::AesKeyGen
            }
        };
        let r = self.session.generate_key(&mechanism, &template);
        self.ck(r).map(drop)
    }

    /// `CKM_AES_ECB` or `CKM_DES3_ECB` on one block, with a [`KeyRole::Derive`] key only.
    fn encrypt_block(&mut self, id: KeyId, block: &mut [u8]) -> Result<()> {
        let (handle, kind) = self.key_for(id, KeyRole::Derive)?;
        let (mechanism, block_len) = match kind {
            KeyKind::Aes128 | KeyKind::Aes192 | KeyKind::Aes256 => (Mechanism::AesEcb, 16),
            KeyKind::Tdes2 | KeyKind::Tdes3 => (Mechanism::Des3Ecb, 8),
            _ => return Err(StoreError::WrongKeyKind.into()),
        };
        if block.len() != block_len {
            return Err(invalid_length(block.len()));
        }
        let r = self.session.encrypt(&mechanism, handle, block);
        let out = self.ck(r)?;
        if out.len() != block_len {
            return Err(self.inconsistent("ECB output is not one block"));
        }
        block.copy_from_slice(&out);
        Ok(())
    }

    /// Imports `plaintext` as a temporary session secret and wraps it with `C_WrapKey`,
    /// under a [`KeyRole::DataKek`] only.
    fn wrap_bytes(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        plaintext: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        let (kek, _) = self.key_for(kek, KeyRole::DataKek)?;
        let needed = alg
            .wrapped_len(plaintext.len())
            .ok_or(invalid_length(plaintext.len()))?;
        if out.len() < needed {
            return Err(Error::buffer_too_small(needed));
        }
        if self.refuses_length(alg, plaintext.len()) {
            self.last_error = Some(format!(
                "refused: the configured RFC 5649 mechanism zero-pads {} bytes (kwp_zero_pads)",
                plaintext.len()
            ));
            return Err(Error::Unsupported);
        }
        let mechanism = self.wrap_mechanism(alg)?;
        let tmp = self.temp_secret(plaintext)?;
        let r = tmp.session.wrap_key(&mechanism, kek, tmp.handle);
        drop(tmp);
        let wrapped = self.ck(r)?;
        if wrapped.len() != needed {
            return Err(self.inconsistent("wrapped length differs from the algorithm's"));
        }
        copy_out(out, &wrapped)
    }

    /// `C_UnwrapKey` into a temporary readable session secret, whose value is returned:
    /// under a [`KeyRole::DataKek`] only, which never wraps a stored key, so what comes
    /// out is always caller material. Any other KEK is refused (`WrongKeyKind`).
    fn unwrap_bytes(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        wrapped: &[u8],
        out: &mut [u8],
    ) -> Result<usize> {
        let (kek, _) = self.key_for(kek, KeyRole::DataKek)?;
        // SP 800-38F's limits, before any HSM call (a 16-byte KW input would give 8 bytes).
        let max = alg
            .unwrapped_len(wrapped.len())
            .ok_or(invalid_length(wrapped.len()))?;
        if out.len() < max {
            return Err(Error::buffer_too_small(max));
        }
        let mechanism = self.wrap_mechanism(alg)?;
        let mut key = self.unwrap_to_vec(&mechanism, kek, wrapped)?;
        let n = copy_out(out, &key);
        key.zeroize();
        n
    }

    /// `C_WrapKey` under a [`KeyRole::ExportKek`] only (trusted, wrap-only: what it wraps
    /// can never be unwrapped in this store): the key leaves the HSM only wrapped, and
    /// only if it was created extractable ([`ExportPolicy`]); otherwise `Unsupported`.
    /// Any other KEK is refused (`WrongKeyKind`), and the HSM itself refuses it
    /// (`CKA_WRAP_WITH_TRUSTED`).
    fn wrap_key(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        key: KeyId,
        out: &mut [u8],
    ) -> Result<usize> {
        let (kek, _) = self.key_for(kek, KeyRole::ExportKek)?;
        let (key, kind) = self.key_where(key, |k| k != KeyKind::P256)?;
        let needed = alg
            .wrapped_len(kind.key_len())
            .ok_or(invalid_length(kind.key_len()))?;
        if out.len() < needed {
            return Err(Error::buffer_too_small(needed));
        }
        let mechanism = self.wrap_mechanism(alg)?;
        let r = self.session.wrap_key(&mechanism, kek, key);
        let wrapped = self.ck(r)?;
        if wrapped.len() != needed {
            return Err(self.inconsistent("wrapped length differs from the algorithm's"));
        }
        copy_out(out, &wrapped)
    }

    /// `C_UnwrapKey` under a [`KeyRole::ImportKek`] only, straight into a sensitive
    /// token object with the role configured for `id` (never an export KEK); the length
    /// is checked as described at [`Pkcs11Store::rewrap`].
    fn unwrap_key(
        &mut self,
        kek: KeyId,
        alg: WrapAlgorithm,
        wrapped: &[u8],
        id: KeyId,
        kind: KeyKind,
    ) -> Result<()> {
        let template = self.secret_template(id, kind)?;
        let (kek, _) = self.key_for(kek, KeyRole::ImportKek)?;
        self.ensure_free(id)?;
        self.unwrap_checked(kek, alg, wrapped, kind, &template)
            .map(drop)
    }
}
