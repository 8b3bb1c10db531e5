//! Errors: [`OpenError`] for reaching a token, and the mapping of PKCS#11 return values
//! to [`provkit::Error`] for key-store operations.
//!
//! `provkit::Error` is a small `Copy` enum without room for text, so a failure that is
//! not one of provkit's own kinds becomes `Error::Store(StoreError::Backend(cause))` with
//! the `CK_RV` as the cause (also the error's `source()`), and the PKCS#11 function and
//! return value are kept in the store
//! ([`Pkcs11Store::last_backend_error`](crate::Pkcs11Store::last_backend_error)).

use core::fmt;
use cryptoki::error::{Error as CkError, Rv, RvError};
use provkit::Error;
use provkit::error::BackendCause;
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
        /// cryptoki's error (the function and `CK_RV`), also the
        /// [`source`](std::error::Error::source).
        source: CkError,
    },
    /// Any other PKCS#11 failure while opening.
    Pkcs11 {
        /// The PKCS#11 function and return value.
        detail: String,
        /// cryptoki's error, also the [`source`](std::error::Error::source).
        source: CkError,
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
            Self::Login { detail, .. } => write!(f, "token login failed: {detail}"),
            Self::Pkcs11 { detail, .. } => write!(f, "PKCS#11 failure: {detail}"),
        }
    }
}

impl std::error::Error for OpenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Login { source, .. } | Self::Pkcs11 { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl OpenError {
    /// The `CK_RV` of a [`Login`](Self::Login) or [`Pkcs11`](Self::Pkcs11) failure, as
    /// provkit's [`BackendCause`] (e.g. `CKR_PIN_INCORRECT (0xa0)`).
    #[must_use]
    pub fn cause(&self) -> Option<BackendCause> {
        match self {
            Self::Login { source, .. } | Self::Pkcs11 { source, .. } => rv(source).map(cause_of),
            _ => None,
        }
    }
}

impl From<CkError> for OpenError {
    fn from(e: CkError) -> Self {
        Self::Pkcs11 {
            detail: describe(&e),
            source: e,
        }
    }
}

/// Every `CK_RV` below `CKR_VENDOR_DEFINED` that cryptoki 0.12 maps to an `RvError`
/// variant (cryptoki has no mapping back), `CKR_OK` aside.
const STANDARD_RVS: [u64; 93] = [
    0x1, 0x2, 0x3, 0x5, 0x6, 0x7, 0x8, 0x9, 0xA, 0x10, 0x11, 0x12, 0x13, 0x1B, 0x20, 0x21, 0x30,
    0x31, 0x32, 0x40, 0x41, 0x50, 0x51, 0x54, 0x60, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69,
    0x6A, 0x70, 0x71, 0x82, 0x90, 0x91, 0xA0, 0xA1, 0xA2, 0xA3, 0xA4, 0xB0, 0xB1, 0xB3, 0xB4, 0xB5,
    0xB6, 0xB7, 0xB8, 0xC0, 0xC1, 0xD0, 0xD1, 0xE0, 0xE1, 0xE2, 0xF0, 0xF1, 0xF2, 0x100, 0x101,
    0x102, 0x103, 0x104, 0x105, 0x110, 0x112, 0x113, 0x114, 0x115, 0x120, 0x121, 0x130, 0x140,
    0x150, 0x160, 0x170, 0x180, 0x190, 0x191, 0x1A0, 0x1A1, 0x1B0, 0x1B1, 0x1B5, 0x1B6, 0x1B7,
    0x1B8, 0x1B9, 0x200,
];

/// The `CK_RV` behind cryptoki's `RvError`, as provkit's cause.
pub(crate) fn cause_of(rv: RvError) -> BackendCause {
    let code = match rv {
        RvError::VendorDefined(code) | RvError::UnknownErrorCode(code) => Some(code),
        rv => STANDARD_RVS
            .iter()
            .copied()
            .find(|&c| Rv::from(c) == Rv::Error(rv)),
    };
    code.map_or(BackendCause::UNSPECIFIED, BackendCause::pkcs11)
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
        Some(rv) => StoreError::Backend(cause_of(rv)).into(),
        None => StoreError::Backend(BackendCause::UNSPECIFIED).into(),
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
            Error::Store(StoreError::Backend(BackendCause::pkcs11(0x05)))
        );
        assert_eq!(
            to_provkit(&e(RvError::SessionHandleInvalid)),
            Error::Store(StoreError::Backend(BackendCause::pkcs11(0xB3)))
        );
        assert_eq!(
            to_provkit(&e(RvError::VendorDefined(0x8000_0042))),
            Error::Store(StoreError::Backend(BackendCause::pkcs11(0x8000_0042)))
        );
        assert_eq!(
            describe(&e(RvError::PinIncorrect)),
            "UnwrapKey: PinIncorrect"
        );
    }

    #[test]
    fn every_standard_rv_maps_back_to_its_code() {
        for code in STANDARD_RVS {
            if let Rv::Error(rv) = Rv::from(code) {
                assert_eq!(cause_of(rv).pkcs11_rv(), Some(code), "{rv:?}");
            }
        }
        assert_eq!(
            cause_of(RvError::PinIncorrect).to_string(),
            "CKR_PIN_INCORRECT (0xa0)"
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
