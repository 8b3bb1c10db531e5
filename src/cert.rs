//! Compact device certificates that expand byte-exactly into X.509.
//!
//! A device generates its own P-256 key pair; the factory CA signs an X.509
//! TBSCertificate built from a fixed template, and the device stores only the 111-byte
//! [`CompactCert`]: serial, issuer key id, issue date, usage, the public key's x
//! coordinate and parity, and the signature `r || s`. Anyone holding the issuing CA
//! certificate can [`expand`] it into the full DER certificate, whose signature is the
//! very same bytes, so OpenSSL, rustls-webpki and any TLS stack accept it.
//!
//! The device side verifies a chain with no heap: it rebuilds the TBSCertificate into
//! a SHA-256 state as a stream ([`verify_device`]).
//!
//! | piece | where |
//! |---|---|
//! | 111-byte format | [`CompactCert`], [`CompactFields`], `docs/cert-format.md` |
//! | X.509 expansion and import | [`expand`], [`import_x509`], `to_pem`, `from_pem` and `expand_to_pem` (feature `alloc`) |
//! | CA side | [`create_root`], [`create_intermediate`], [`issue_device`] |
//! | device side | [`verify_device`], [`verify_issued`], [`verify_ca`] |
//! | compact CA certificates (devices' roots and intermediates) | [`CaCert::from_compact`], [`CaCert::write_compact`], [`CaCert::write_der`] |
//! | foreign certificates | [`X509Cert`], [`CaCert::from_der`]; with feature `x509`, any chain, full names and certificate files ([`pki`]) |
//! | certification requests (PKCS#10) | [`csr`] (feature `x509`) |

mod ca;
mod chain;
mod compact;
mod compact_ca;
#[cfg(feature = "x509")]
pub mod csr;
pub(crate) mod der;
mod expand;
#[cfg(feature = "x509")]
pub mod pki;
mod template;
mod time;
mod x509;

pub use ca::{
    CaCert, CaName, CaProfile, DeviceRequest, create_intermediate, create_root, issue_device,
    verify_ca,
};
pub use chain::{VerifiedDevice, verify_device, verify_device_on, verify_issued};
pub use compact::{
    COMPACT_LEN, CompactCert, CompactFields, DeviceUsage, FORMAT_VERSION, day_to_unix, unix_to_day,
};
pub use compact_ca::{CA_FORMAT_VERSION, COMPACT_CA_MAX_LEN};
pub use expand::{expand, expanded_len, import_x509};
#[cfg(feature = "alloc")]
pub use expand::{expand_to_pem, from_pem, to_pem};
pub use template::{IssuerRef, KEY_ID_LEN, key_identifier};
pub use time::{NO_EXPIRY, UnixTime};
pub use x509::{Extensions, X509Cert, key_usage};
