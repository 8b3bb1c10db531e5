//! Reaching a token: one initialised module per process, slots found by token label,
//! a logged-in read-write session.
//!
//! PKCS#11 allows `C_Initialize` once per process and module, and login state is shared
//! by every session of the process on a token. So modules are loaded once, kept in a
//! process-wide registry and shared by every store; a store opens its own session and
//! logs in unless the process already is; stores never log out (closing the last
//! session ends the login).

use crate::config::{KeyRole, Pin, Pkcs11Config};
use crate::error::{OpenError, describe, rv};
use crate::ids::{key_cka_id, key_label};
use crate::store::{Usage, wipe};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use provkit::store::{KeyId, KeyKind};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

static MODULES: OnceLock<Mutex<Vec<(PathBuf, Pkcs11)>>> = OnceLock::new();

/// The initialised module at `path`, loading and initialising it on first use.
pub(crate) fn module(path: &Path) -> Result<Pkcs11, OpenError> {
    let mut modules = MODULES
        .get_or_init(|| Mutex::new(Vec::new()))
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some((_, m)) = modules.iter().find(|(p, _)| p == path) {
        return Ok(m.clone());
    }
    if !path.exists() {
        return Err(OpenError::ModuleLoad {
            path: path.to_owned(),
            detail: "no such file".into(),
        });
    }
    let m = Pkcs11::new(path).map_err(|e| OpenError::ModuleLoad {
        path: path.to_owned(),
        detail: describe(&e),
    })?;
    match m.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        // Initialised by other code in this process: usable as it is.
        Err(e) if rv(&e) == Some(RvError::CryptokiAlreadyInitialized) => {}
        other => other?,
    }
    modules.push((path.to_owned(), m.clone()));
    Ok(m)
}

/// The one slot whose initialised token is labelled `label`.
pub(crate) fn slot_by_label(module: &Pkcs11, label: &str) -> Result<Slot, OpenError> {
    let mut found = None;
    for slot in module.get_slots_with_initialized_token()? {
        if module.get_token_info(slot)?.label().trim_end() == label {
            if found.is_some() {
                return Err(OpenError::AmbiguousToken {
                    label: label.to_owned(),
                });
            }
            found = Some(slot);
        }
    }
    found.ok_or_else(|| OpenError::TokenNotFound {
        label: label.to_owned(),
    })
}

/// A read-write session on the token labelled `label`, logged in as user.
pub(crate) fn open_session(module: &Pkcs11, label: &str, pin: &Pin) -> Result<Session, OpenError> {
    let slot = slot_by_label(module, label)?;
    let session = module.open_rw_session(slot)?;
    login(&session, UserType::User, pin)?;
    Ok(session)
}

fn login(session: &Session, user: UserType, pin: &Pin) -> Result<(), OpenError> {
    match session.login(user, Some(&pin.auth_pin())) {
        Ok(()) => Ok(()),
        Err(e) if rv(&e) == Some(RvError::UserAlreadyLoggedIn) => Ok(()),
        Err(e) => Err(OpenError::Login {
            detail: describe(&e),
            source: e,
        }),
    }
}

/// Initialises a new token labelled `label` in a free slot of the module at `module`
/// and sets its user PIN: what `softhsm2-util --init-token --free` does, for tests and
/// first-time provisioning.
///
/// # Errors
/// [`OpenError::TokenExists`] if a token already has this label (labels must stay
/// unique, since stores find tokens by label); [`OpenError::NoFreeSlot`]; module and
/// PKCS#11 failures.
pub fn init_token(
    module: &Path,
    label: &str,
    so_pin: &Pin,
    user_pin: &Pin,
) -> Result<(), OpenError> {
    let m = self::module(module)?;
    match slot_by_label(&m, label) {
        Err(OpenError::TokenNotFound { .. }) => {}
        Ok(_) | Err(OpenError::AmbiguousToken { .. }) => {
            return Err(OpenError::TokenExists {
                label: label.to_owned(),
            });
        }
        Err(e) => return Err(e),
    }
    let mut free = None;
    for slot in m.get_slots_with_token()? {
        if !m.get_token_info(slot)?.token_initialized() {
            free = Some(slot);
            break;
        }
    }
    let slot = free.ok_or(OpenError::NoFreeSlot)?;
    m.init_token(slot, &so_pin.auth_pin(), label)?;
    // SoftHSM2 moves an initialised token to a new slot number: look it up again.
    let slot = slot_by_label(&m, label)?;
    let session = m.open_rw_session(slot)?;
    login(&session, UserType::So, so_pin)?;
    session.init_pin(&user_pin.auth_pin())?;
    session.logout()?;
    Ok(())
}

/// Creates the export KEK `id` of `kind` (AES) on the token of `config`, as the security
/// officer: the only way a [`KeyRole::ExportKek`] comes to exist, because only the SO may
/// set `CKA_TRUSTED`, and only a trusted key can wrap the store's extractable keys
/// (`CKA_WRAP_WITH_TRUSTED`). Generated in the HSM, or imported from `value` (a key
/// ceremony's result, shared with the party that will unwrap the exports).
///
/// The key is wrap-only, sensitive, never extractable and unmodifiable. SoftHSM2 lets
/// the SO create only public objects, so it is `CKA_PRIVATE=false`: visible (and usable
/// for `C_WrapKey`) without login, while the keys it can wrap stay private.
///
/// PKCS#11 login state is per process: call this before any store of the process logs
/// in (at provisioning), or it fails with a [`OpenError::Login`] saying so. The SO cannot
/// see the user's private objects, so choose an id no store uses.
///
/// # Errors
/// [`OpenError::Login`] for a wrong SO PIN or a user already logged in;
/// [`OpenError::ExportKek`] for a kind that is not AES, a `value` of the wrong length or
/// an id already holding a public object; module, token and PKCS#11 failures.
pub fn create_export_kek(
    config: &Pkcs11Config,
    so_pin: &Pin,
    id: KeyId,
    kind: KeyKind,
    value: Option<&[u8]>,
) -> Result<(), OpenError> {
    let len = match kind {
        KeyKind::Aes128 | KeyKind::Aes192 | KeyKind::Aes256 => kind.key_len(),
        _ => {
            return Err(OpenError::ExportKek {
                detail: format!("an export KEK is an AES key, not {kind:?}"),
            });
        }
    };
    if value.is_some_and(|v| v.len() != len) {
        return Err(OpenError::ExportKek {
            detail: format!("{kind:?} needs {len} bytes"),
        });
    }
    let m = module(&config.module)?;
    let slot = slot_by_label(&m, &config.token_label)?;
    let session = m.open_rw_session(slot)?;
    login(&session, UserType::So, so_pin)?;
    let result = create_trusted(&session, config.namespace, id, kind, len, value);
    // Always log the SO out again, even after a failure.
    let logout = session.logout();
    result?;
    logout?;
    Ok(())
}

fn create_trusted(
    session: &Session,
    namespace: u32,
    id: KeyId,
    kind: KeyKind,
    len: usize,
    value: Option<&[u8]>,
) -> Result<(), OpenError> {
    let cka_id = key_cka_id(namespace, id);
    if !session
        .find_objects(&[Attribute::Token(true), Attribute::Id(cka_id.clone())])?
        .is_empty()
    {
        return Err(OpenError::ExportKek {
            detail: format!("key id {:#x} is already in use", id.0),
        });
    }
    let mut template = vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::Token(true),
        Attribute::Private(false),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Id(cka_id),
        Attribute::Label(key_label(namespace, id, kind)),
    ];
    template.extend(Usage::of(KeyRole::ExportKek).attributes());
    template.push(Attribute::Modifiable(false));
    match value {
        Some(v) => {
            template.push(Attribute::Value(v.to_vec()));
            let r = session.create_object(&template);
            wipe(&mut template);
            r?;
        }
        None => {
            let len = u64::try_from(len).map_err(|_| OpenError::ExportKek {
                detail: "key length".into(),
            })?;
            template.push(Attribute::ValueLen(len.into()));
            session.generate_key(&Mechanism::AesKeyGen, &template)?;
        }
    }
    Ok(())
}
