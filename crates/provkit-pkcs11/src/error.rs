//! Errors: [`OpenError`] for reaching a token, and the mapping of PKCS#11 return values
//! to [`provkit::Error`] for key-store operations.
//!
//! `provkit::Error` is a small `Copy` enum without room for backend detail, so a failure
//! that is not one of provkit's own kinds becomes `Error::Store(StoreError::Backend)` and
//! the PKCS#11 function and return value are kept in the store
//! ([`Pkcs11Store::last_backend_error`](crate::Pkcs11Store::last_backend_error)).

use core::fmt;
use cryptoki::error::{Error as CkError, RvError};
use provkit::Error;
use provkit::store::StoreError;
use std::path::PathBuf;

/// Why a store (or [`init_token`](crate::init_token)) could not reach its token.
#[derive(Debug)]
#[non_exhaustive]
pub enum OpenError {
    /// The PKCS#11 module could not be loaded.
    ModuleLoad {
        /// The path tried.
        path: PathBuf,
        /// The loader's message.
        detail: String,
    },
    /// No initialised token carries this label.
    TokenNotFound {
        /// The label looked for.
        label: String,
    },
    /// More than one token carries this label, so the choice would be a guess.
    AmbiguousToken {
        /// The label looked for.
        label: String,
    },
    /// [`init_token`](crate::init_token) found a token with this label already.
    TokenExists {
        /// The label.
        label: String,
    },
    /// [`init_token`](crate::init_token) found no slot with an uninitialised token.
    NoFreeSlot,
    /// [`create_export_kek`](crate::create_export_kek) refused its input.
    ExportKek {
        /// Why.
        detail: String,
    },
    /// The PIN was refused (wrong, locked or expired).
    Login {
        /// The PKCS#11 return value.
        detail: String,
    },
    /// Any other PKCS#11 failure while opening.
    Pkcs11 {
        /// The PKCS#11 function and return value.
        detail: String,
    },
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ModuleLoad { path, detail } => write!(
                f,
                "cannot load PKCS#11 module {}: {detail} (for SoftHSM2 on Debian: \
                 apt-get install -y softhsm2; or set PROVKIT_PKCS11_MODULE)",
                path.display()
            ),
            Self::TokenNotFound { label } => write!(f, "no initialised token labelled {label:?}"),
            Self::AmbiguousToken { label } => {
                write!(f, "more than one token labelled {label:?}")
            }
            Self::TokenExists { label } => write!(f, "a token labelled {label:?} already exists"),
            Self::NoFreeSlot => f.write_str("no slot with an uninitialised token"),
            Self::ExportKek { detail } => write!(f, "cannot create the export KEK: {detail}"),
            Self::Login { detail } => write!(f, "token login failed: {detail}"),
            Self::Pkcs11 { detail } => write!(f, "PKCS#11 failure: {detail}"),
        }
    }
}

impl std::error::Error for OpenError {}

impl From<CkError> for OpenError {
    fn from(e: CkError) -> Self {
        Self::Pkcs11 {
            detail: describe(&e),
        }
    }
}

/// A short description of a cryptoki error: function and return-value name. Never
/// contains key material (PKCS#11 errors carry none).
pub(crate) fn describe(e: &CkError) -> String {
    match e {
        CkError::Pkcs11(rv, function) => format!("{function:?}: {rv:?}"),
        other => other.to_string(),
    }
}

/// The return value of a cryptoki error, if it is a PKCS#11 one.
pub(crate) fn rv(e: &CkError) -> Option<RvError> {
    match e {
        CkError::Pkcs11(rv, _) => Some(*rv),
        _ => None,
    }
}

/// provkit's error for a PKCS#11 failure.
///
/// Integrity failures of an unwrap are the opaque `Crypto`; misuse of a key is
/// `WrongKeyKind`; a handle destroyed meanwhile is `NotFound`; an unextractable key or an unknown mechanism is `Unsupported`; a full
/// token is `Full`; the rest is `Backend`.
pub(crate) fn to_provkit(e: &CkError) -> Error {
    match rv(e) {
        Some(
            RvError::WrappedKeyInvalid
            | RvError::WrappedKeyLenRange
            | RvError::EncryptedDataInvalid
            | RvError::EncryptedDataLenRange,
        ) => Error::Crypto,
        Some(
            RvError::KeyTypeInconsistent
            | RvError::KeyFunctionNotPermitted
            | RvError::WrappingKeyTypeInconsistent
            | RvError::UnwrappingKeyTypeInconsistent,
        ) => StoreError::WrongKeyKind.into(),
        // Another session destroyed the object between lookup and use.
        Some(
            RvError::KeyHandleInvalid
            | RvError::ObjectHandleInvalid
            | RvError::WrappingKeyHandleInvalid
            | RvError::UnwrappingKeyHandleInvalid,
        ) => StoreError::NotFound.into(),
        Some(
            RvError::KeyUnextractable
            | RvError::KeyNotWrappable
            | RvError::MechanismInvalid
            | RvError::MechanismParamInvalid,
        ) => Error::Unsupported,
        Some(RvError::DeviceMemory) => StoreError::Full.into(),
        _ => StoreError::Backend.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptoki::context::Function;

    #[test]
    fn maps_return_values() {
        let e = |rv| CkError::Pkcs11(rv, Function::UnwrapKey);
        assert_eq!(to_provkit(&e(RvError::WrappedKeyInvalid)), Error::Crypto);
        assert_eq!(
            to_provkit(&e(RvError::KeyFunctionNotPermitted)),
            Error::Store(StoreError::WrongKeyKind)
        );
        assert_eq!(
            to_provkit(&e(RvError::KeyUnextractable)),
            Error::Unsupported
        );
        assert_eq!(
            to_provkit(&e(RvError::DeviceMemory)),
            Error::Store(StoreError::Full)
        );
        assert_eq!(
            to_provkit(&e(RvError::GeneralError)),
            Error::Store(StoreError::Backend)
        );
        assert_eq!(
            describe(&e(RvError::PinIncorrect)),
            "UnwrapKey: PinIncorrect"
        );
    }

    #[test]
    fn module_load_error_says_how_to_install() {
        let e = OpenError::ModuleLoad {
            path: PathBuf::from("/nowhere.so"),
            detail: "not found".into(),
        };
        assert!(e.to_string().contains("apt-get install -y softhsm2"));
    }
}
