//! Reading a certificate file: PEM, DER, a compact device certificate (111 bytes) or a
//! compact CA certificate, told apart by their content, never by the file name.

use crate::Failure;
use provkit::cert::{COMPACT_LEN, CaCert, CompactCert, X509Cert};
use std::path::Path;

/// What a certificate file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A 111-byte compact device certificate.
    CompactDevice,
    /// A compact CA certificate (a device's root or intermediate).
    CompactCa,
    /// An X.509 CA certificate (DER, or PEM decoded to DER).
    DerCa,
    /// Any other X.509 certificate provkit parses (a device's, expanded).
    DerDevice,
}

impl Kind {
    /// The kind in words, as `show` prints it.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::CompactDevice => "compact device certificate",
            Self::CompactCa => "compact CA certificate",
            Self::DerCa => "X.509 CA certificate",
            Self::DerDevice => "X.509 device certificate",
        }
    }
}

/// A certificate file's bytes (DER when it was PEM) and what they are.
#[derive(Debug)]
pub struct CertFile {
    /// The file as given on the command line, for messages.
    pub name: String,
    /// Whether the file was PEM.
    pub pem: bool,
    /// The certificate's bytes: compact, or DER.
    pub bytes: Vec<u8>,
    /// What they are.
    pub kind: Kind,
}

impl CertFile {
    /// Reads and classifies `path`.
    ///
    /// # Errors
    /// A [`Failure`] naming the file when it cannot be read or holds no certificate
    /// provkit reads.
    pub fn read(path: &Path) -> Result<Self, Failure> {
        let name = path.display().to_string();
        let raw = std::fs::read(path).map_err(|e| Failure(format!("{name}: {e}")))?;
        Self::from_bytes(name, raw)
    }

    fn from_bytes(name: String, raw: Vec<u8>) -> Result<Self, Failure> {
        let text = raw.trim_ascii_start();
        let (pem, bytes) = if text.starts_with(b"-----BEGIN ") {
            let (label, der) = pem_rfc7468::decode_vec(text)
                .map_err(|e| Failure(format!("{name}: not valid PEM ({e})")))?;
            if label != "CERTIFICATE" {
                return Err(Failure(format!(
                    "{name}: PEM holds a {label}, not a CERTIFICATE"
                )));
            }
            (true, der)
        } else {
            (false, raw)
        };
        let kind = classify(&bytes).map_err(|why| Failure(format!("{name}: {why}")))?;
        Ok(Self {
            name,
            pem,
            bytes,
            kind,
        })
    }

    /// The compact device certificate (for [`Kind::CompactDevice`]).
    ///
    /// # Errors
    /// A [`Failure`] when the file holds another kind.
    pub fn compact(&self) -> Result<CompactCert<'_>, Failure> {
        match self.kind {
            Kind::CompactDevice => CompactCert::parse(&self.bytes).map_err(|e| self.failed(e)),
            other => Err(Failure(format!(
                "{}: a {}, not a compact device certificate",
                self.name,
                other.describe()
            ))),
        }
    }

    /// The CA certificate (for [`Kind::CompactCa`] and [`Kind::DerCa`]).
    ///
    /// # Errors
    /// A [`Failure`] when the file holds a device certificate.
    pub fn ca(&self) -> Result<CaCert<'_>, Failure> {
        match self.kind {
            Kind::CompactCa => CaCert::from_compact(&self.bytes).map_err(|e| self.failed(e)),
            Kind::DerCa => CaCert::from_der(&self.bytes).map_err(|e| self.failed(e)),
            other => Err(Failure(format!(
                "{}: a {}, not a CA certificate",
                self.name,
                other.describe()
            ))),
        }
    }

    /// The X.509 certificate (for [`Kind::DerCa`] and [`Kind::DerDevice`]).
    ///
    /// # Errors
    /// A [`Failure`] when the file holds a compact certificate.
    pub fn x509(&self) -> Result<X509Cert<'_>, Failure> {
        match self.kind {
            Kind::DerCa | Kind::DerDevice => {
                X509Cert::from_der(&self.bytes).map_err(|e| self.failed(e))
            }
            other => Err(Failure(format!(
                "{}: a {}, not an X.509 certificate",
                self.name,
                other.describe()
            ))),
        }
    }

    /// A provkit error about this file as a [`Failure`].
    pub fn failed(&self, e: provkit::Error) -> Failure {
        Failure(format!("{}: {e}", self.name))
    }
}

/// Which kind `bytes` are, or why they are none.
fn classify(bytes: &[u8]) -> Result<Kind, String> {
    if bytes.len() == COMPACT_LEN {
        return CompactCert::parse(bytes)
            .map(|_| Kind::CompactDevice)
            .map_err(|e| format!("not a compact device certificate ({e})"));
    }
    if bytes.first() == Some(&0x30) {
        if CaCert::from_der(bytes).is_ok() {
            return Ok(Kind::DerCa);
        }
        return X509Cert::from_der(bytes)
            .map(|_| Kind::DerDevice)
            .map_err(|e| format!("not an X.509 certificate provkit reads ({e})"));
    }
    CaCert::from_compact(bytes)
        .map(|_| Kind::CompactCa)
        .map_err(|e| {
            format!(
                "not a certificate provkit reads: neither a 111-byte compact device \
             certificate, a compact CA certificate ({e}), DER nor PEM"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_names_the_file_and_what_was_expected() {
        let e = CertFile::from_bytes("x.bin".into(), vec![1, 2, 3]).unwrap_err();
        assert!(
            e.0.starts_with("x.bin: not a certificate provkit reads"),
            "{}",
            e.0
        );
        let e = CertFile::from_bytes(
            "k.pem".into(),
            b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".to_vec(),
        )
        .unwrap_err();
        assert_eq!(e.0, "k.pem: PEM holds a PRIVATE KEY, not a CERTIFICATE");
        let e = CertFile::from_bytes("t.der".into(), vec![0x30, 0x82, 0x01]).unwrap_err();
        assert!(
            e.0.starts_with("t.der: not an X.509 certificate provkit reads"),
            "{}",
            e.0
        );
    }
}
