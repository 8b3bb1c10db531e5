//! The example's CA, in any key store: a root CA and a factory (intermediate) CA whose keys
//! are generated in the store and whose certificates are kept as records beside them, so a
//! persistent store holds a CA that is usable again.
//!
//! Shared by `examples/issue_certificate.rs` and `tests/issue_certificate.rs`, which checks
//! that a second run on the same store reuses the CA.

use provkit::cert::{self, COMPACT_LEN, CaCert, CaName, CaProfile, DeviceRequest, DeviceUsage};
use provkit::ec::EcPublicKey;
use provkit::error::{Error, Result, StoreError};
use provkit::rand_core::CryptoRng;
use provkit::store::{IdentityKeys, KeyId, RecordId, Records};

/// The root CA's key.
pub const ROOT_KEY: KeyId = KeyId(1);
/// The factory CA's key: it signs the device certificates.
pub const FACTORY_KEY: KeyId = KeyId(2);
/// The root certificate (DER), as a record.
pub const ROOT_CERT: RecordId = RecordId(1);
/// The factory CA's certificate (DER), as a record.
pub const FACTORY_CERT: RecordId = RecordId(2);
/// Room for either CA certificate's DER.
pub const MAX_CA_DER: usize = 1024;

const YEAR: u64 = 365 * 86_400;
const ORGANIZATION: &str = "Example Devices Ltd";

/// The CA's two certificates, as DER.
#[derive(Debug)]
pub struct Ca {
    /// The root certificate, self-signed.
    pub root_der: Vec<u8>,
    /// The factory CA's certificate, signed by the root.
    pub factory_der: Vec<u8>,
    /// True if this run created the CA; false if it was loaded from the store.
    pub created: bool,
}

impl Ca {
    /// The root certificate (the trust anchor).
    pub fn root(&self) -> Result<CaCert<'_>> {
        CaCert::from_der(&self.root_der)
    }

    /// The factory CA's certificate.
    pub fn factory(&self) -> Result<CaCert<'_>> {
        CaCert::from_der(&self.factory_der)
    }

    /// Issues a compact certificate under the factory CA for a device's public key.
    pub fn issue<S: IdentityKeys>(
        &self,
        store: &mut S,
        device: &EcPublicKey,
        serial: u64,
        now: u64,
    ) -> Result<[u8; COMPACT_LEN]> {
        let factory = self.factory()?;
        let request = DeviceRequest::new(serial, device, now).with_usage(DeviceUsage::SIGN_ONLY);
        cert::issue_device(store, FACTORY_KEY, &factory, &request)
    }
}

/// Loads the CA kept in `store`; if the store holds none, creates one there: both key
/// pairs generated in the store from `rng`, the certificates written as records.
///
/// A store with only one of the two certificates is refused (`Store(Corrupt)`), and one
/// with the keys but no certificates (a run cut short while creating the CA) fails with
/// `Store(AlreadyExists)`: neither is overwritten.
pub fn open_or_create<S>(store: &mut S, rng: &mut dyn CryptoRng, now: u64) -> Result<Ca>
where
    S: IdentityKeys + Records,
{
    match (read(store, ROOT_CERT)?, read(store, FACTORY_CERT)?) {
        (Some(root_der), Some(factory_der)) => {
            let ca = Ca {
                root_der,
                factory_der,
                created: false,
            };
            cert::verify_ca(&ca.root()?, &ca.factory()?, now)?;
            Ok(ca)
        }
        (None, None) => create(store, rng, now),
        _ => Err(StoreError::Corrupt.into()),
    }
}

fn read<S: Records>(store: &mut S, id: RecordId) -> Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; MAX_CA_DER];
    match store.read_record(id, &mut buf) {
        Ok(n) => {
            buf.truncate(n);
            Ok(Some(buf))
        }
        Err(Error::Store(StoreError::NotFound)) => Ok(None),
        Err(e) => Err(e),
    }
}

fn create<S>(store: &mut S, rng: &mut dyn CryptoRng, now: u64) -> Result<Ca>
where
    S: IdentityKeys + Records,
{
    store.generate_p256(ROOT_KEY, rng)?;
    let factory_public = store.generate_p256(FACTORY_KEY, rng)?;

    let mut serial = [0u8; 16];
    rng.fill_bytes(&mut serial);
    let mut root_der = vec![0u8; MAX_CA_DER];
    let n = cert::create_root(
        store,
        ROOT_KEY,
        &CaProfile::new(
            CaName::new("Example Root CA").with_organization(ORGANIZATION),
            serial,
            now - 3600,
            now + 25 * YEAR,
        )
        .with_path_len(1),
        &mut root_der,
    )?;
    root_der.truncate(n);

    rng.fill_bytes(&mut serial);
    let mut factory_der = vec![0u8; MAX_CA_DER];
    let n = cert::create_intermediate(
        store,
        ROOT_KEY,
        &CaCert::from_der(&root_der)?,
        &factory_public,
        &CaProfile::new(
            CaName::new("Factory Line 1 CA").with_organization(ORGANIZATION),
            serial,
            now - 3600,
            now + 10 * YEAR,
        )
        .with_path_len(0),
        &mut factory_der,
    )?;
    factory_der.truncate(n);

    // The factory certificate first: a store with a root certificate always has both.
    store.write_record(FACTORY_CERT, &factory_der)?;
    store.write_record(ROOT_CERT, &root_der)?;
    Ok(Ca {
        root_der,
        factory_der,
        created: true,
    })
}
