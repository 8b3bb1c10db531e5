//! [`Records`] as `CKO_DATA` token objects.
//!
//! A record is a private (`CKA_PRIVATE`, readable only after login) data object labelled
//! `provkit:<namespace>:rec:<id>` whose `CKA_VALUE` is
//! `version (1 byte, 1) || generation (8 bytes, big-endian) || data`.
//!
//! PKCS#11 cannot change an object's value and be sure the change is atomic (nor do all
//! HSMs allow `C_SetAttributeValue` on `CKA_VALUE`), so a write **creates a new object
//! with the next generation, then destroys the old ones**. A crash between the two
//! leaves both; readers take the highest generation, so they see the old value or the
//! new one, never a mix, never nothing. The next write or delete removes the stale
//! object. A data object under a record's label whose value is not in this format makes
//! `read_record` fail with `Corrupt` (the newest value cannot be told); writing or
//! deleting the record removes it. Each `C_CreateObject` is itself all-or-nothing on SoftHSM2 (one object file)
//! and on HSMs with transactional storage; durability is the module's: SoftHSM2 has
//! written the object file when `C_CreateObject` returns.

use crate::ids::{APPLICATION, record_label};
use crate::store::{Pkcs11Store, wipe};
use cryptoki::object::{Attribute, AttributeType, ObjectClass, ObjectHandle};
use provkit::store::{RecordId, Records, StoreError};
use provkit::{Error, Result};
use zeroize::Zeroize;

const VERSION: u8 = 1;
const HEADER: usize = 9;

impl Pkcs11Store {
    /// Every data object of the record `id`, with its generation (`None` if its value
    /// is not in this module's format) and value.
    fn record_objects(&mut self, id: RecordId) -> Result<Vec<RecordObject>> {
        let template = [
            Attribute::Class(ObjectClass::DATA),
            Attribute::Token(true),
            Attribute::Application(APPLICATION.to_vec()),
            Attribute::Label(record_label(self.namespace(), id)),
        ];
        let r = self.session().find_objects(&template);
        let handles = self.ck(r)?;
        let mut found = Vec::with_capacity(handles.len());
        for handle in handles {
            let r = self
                .session()
                .get_attributes(handle, &[AttributeType::Value]);
            let value = self
                .ck(r)?
                .into_iter()
                .find_map(|a| match a {
                    Attribute::Value(v) => Some(v),
                    _ => None,
                })
                .unwrap_or_default();
            let generation = match value.get(..HEADER) {
                Some([VERSION, g @ ..]) => {
                    let mut b = [0u8; 8];
                    b.copy_from_slice(g);
                    Some(u64::from_be_bytes(b))
                }
                _ => None,
            };
            found.push(RecordObject {
                handle,
                generation,
                value,
            });
        }
        Ok(found)
    }

    fn destroy_all(&mut self, objects: Vec<RecordObject>) -> Result<()> {
        for object in objects {
            let r = self.session().destroy_object(object.handle);
            self.ck(r)?;
        }
        Ok(())
    }
}

/// One data object of a record; its value is wiped on drop.
struct RecordObject {
    handle: ObjectHandle,
    generation: Option<u64>,
    value: Vec<u8>,
}

impl Drop for RecordObject {
    fn drop(&mut self) {
        self.value.zeroize();
    }
}

impl Records for Pkcs11Store {
    fn max_record_len(&self) -> usize {
        self.max_record_len
    }

    fn read_record(&mut self, id: RecordId, out: &mut [u8]) -> Result<usize> {
        let objects = self.record_objects(id)?;
        if objects.iter().any(|o| o.generation.is_none()) {
            // Which value is newest cannot be told: report, never guess.
            return Err(StoreError::Corrupt.into());
        }
        let newest = objects
            .iter()
            .max_by_key(|o| o.generation)
            .map(|o| o.value.get(HEADER..).unwrap_or(&[]))
            .ok_or(Error::Store(StoreError::NotFound))?;
        let dst = out
            .get_mut(..newest.len())
            .ok_or(Error::buffer_too_small(newest.len()))?;
        dst.copy_from_slice(newest);
        Ok(newest.len())
    }

    fn write_record(&mut self, id: RecordId, data: &[u8]) -> Result<()> {
        if data.len() > self.max_record_len {
            return Err(StoreError::RecordTooLarge.into());
        }
        let old = self.record_objects(id)?;
        // Objects not in this format (corrupt) are replaced along with the rest.
        let generation = old
            .iter()
            .filter_map(|o| o.generation)
            .max()
            .map_or(Some(0), |g| g.checked_add(1))
            .ok_or(Error::Store(StoreError::Full))?;
        let mut value = Vec::with_capacity(HEADER + data.len());
        value.push(VERSION);
        value.extend_from_slice(&generation.to_be_bytes());
        value.extend_from_slice(data);
        let mut template = vec![
            Attribute::Class(ObjectClass::DATA),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Modifiable(false),
            Attribute::Application(APPLICATION.to_vec()),
            Attribute::Label(record_label(self.namespace(), id)),
            Attribute::Value(value),
        ];
        let r = self.session().create_object(&template);
        wipe(&mut template);
        self.ck(r)?;
        // The new object is durable; only now may the old ones go.
        self.destroy_all(old)
    }

    fn delete_record(&mut self, id: RecordId) -> Result<()> {
        let objects = self.record_objects(id)?;
        if objects.is_empty() {
            return Err(StoreError::NotFound.into());
        }
        self.destroy_all(objects)
    }
}
