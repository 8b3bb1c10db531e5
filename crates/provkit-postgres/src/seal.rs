//! What a key or record row holds: its secret, bound to its id and kind, wrapped under
//! the KEK. The database never sees a plaintext key or record.
//!
//! The wrapped plaintext is an 8-byte header followed by the secret, always a multiple of
//! 8 bytes and at least 16, so both AES-KW (RFC 3394) and AES-KWP (RFC 5649) can wrap it:
//!
//! ```text
//! key:    01 | kind (1) | 00 00 | key id (4, BE) | key material (16, 24 or 32)
//! record: 01 | 80       | 00 00 | record id (4, BE) | length (4, BE) | 00 00 00 00 | data | zero padding to 8
//! ```
//!
//! Binding the id and kind inside the wrap means a row copied over another id, or a kind
//! column edited, fails the check on first use with `StoreError::Corrupt` rather than
//! silently using another key.

use provkit::error::DecodeErrorKind;
use provkit::store::{KeyId, KeyKind, RecordId, StoreError};
use provkit::{Error, Result};
use zeroize::Zeroizing;

const VERSION: u8 = 1;
const RECORD_TAG: u8 = 0x80;
const HEADER: usize = 8;

/// The code of a key kind in the `kind` column and in the wrapped header.
pub(crate) const fn kind_code(kind: KeyKind) -> Option<u8> {
    Some(match kind {
        KeyKind::P256 => 1,
        KeyKind::Aes128 => 2,
        KeyKind::Aes192 => 3,
        KeyKind::Aes256 => 4,
        KeyKind::Tdes2 => 5,
        KeyKind::Tdes3 => 6,
        _ => return None,
    })
}

/// The key kind of a code, if it is one.
pub(crate) const fn kind_from_code(code: i16) -> Option<KeyKind> {
    Some(match code {
        1 => KeyKind::P256,
        2 => KeyKind::Aes128,
        3 => KeyKind::Aes192,
        4 => KeyKind::Aes256,
        5 => KeyKind::Tdes2,
        6 => KeyKind::Tdes3,
        _ => return None,
    })
}

/// The plaintext to wrap for key `id` of `kind`.
pub(crate) fn key_plaintext(
    id: KeyId,
    kind: KeyKind,
    material: &[u8],
) -> Result<Zeroizing<Vec<u8>>> {
    let code = kind_code(kind).ok_or(Error::Unsupported)?;
    if material.len() != kind.key_len() {
        return Err(Error::decode(
            DecodeErrorKind::InvalidLength,
            material.len(),
        ));
    }
    let mut out = Zeroizing::new(Vec::with_capacity(HEADER + material.len()));
    out.extend_from_slice(&[VERSION, code, 0, 0]);
    out.extend_from_slice(&id.0.to_be_bytes());
    out.extend_from_slice(material);
    Ok(out)
}

/// The key material in an unwrapped key plaintext, after checking it belongs to `id` and
/// `kind`.
pub(crate) fn key_material(plain: &[u8], id: KeyId, kind: KeyKind) -> Result<&[u8]> {
    let code = kind_code(kind).ok_or(Error::Unsupported)?;
    let corrupt = Error::Store(StoreError::Corrupt);
    let (header, material) = plain.split_at_checked(HEADER).ok_or(corrupt)?;
    let mut expected = [VERSION, code, 0, 0, 0, 0, 0, 0];
    if let Some(tail) = expected.get_mut(4..) {
        tail.copy_from_slice(&id.0.to_be_bytes());
    }
    if header != expected || material.len() != kind.key_len() {
        return Err(corrupt);
    }
    Ok(material)
}

/// The plaintext to wrap for record `id`.
pub(crate) fn record_plaintext(id: RecordId, data: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let len = u32::try_from(data.len()).map_err(|_| Error::Store(StoreError::RecordTooLarge))?;
    let padded = (HEADER + 8 + data.len()).div_ceil(8) * 8;
    let mut out = Zeroizing::new(Vec::with_capacity(padded));
    out.extend_from_slice(&[VERSION, RECORD_TAG, 0, 0]);
    out.extend_from_slice(&id.0.to_be_bytes());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(data);
    out.resize(padded, 0);
    Ok(out)
}

/// The data in an unwrapped record plaintext, after checking it belongs to `id`.
pub(crate) fn record_data(plain: &[u8], id: RecordId) -> Result<&[u8]> {
    let corrupt = Error::Store(StoreError::Corrupt);
    let (header, rest) = plain.split_at_checked(HEADER + 8).ok_or(corrupt)?;
    let mut expected = [VERSION, RECORD_TAG, 0, 0, 0, 0, 0, 0];
    if let Some(tail) = expected.get_mut(4..) {
        tail.copy_from_slice(&id.0.to_be_bytes());
    }
    let (id_part, len_part) = header.split_at(HEADER);
    if id_part != expected || len_part.get(4..) != Some(&[0u8; 4][..]) {
        return Err(corrupt);
    }
    let len_bytes: [u8; 4] = len_part
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(corrupt)?;
    let len = usize::try_from(u32::from_be_bytes(len_bytes)).map_err(|_| corrupt)?;
    let (data, padding) = rest.split_at_checked(len).ok_or(corrupt)?;
    if padding.len() >= 8 || padding.iter().any(|&b| b != 0) {
        return Err(corrupt);
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_plaintext_round_trips_and_binds_id_and_kind() {
        let material = [0x42u8; 24];
        let plain = key_plaintext(KeyId(7), KeyKind::Aes192, &material).unwrap();
        assert_eq!(plain.len(), 32);
        assert_eq!(plain.len() % 8, 0);
        assert_eq!(
            key_material(&plain, KeyId(7), KeyKind::Aes192).unwrap(),
            material
        );
        let corrupt = Err(Error::Store(StoreError::Corrupt));
        assert_eq!(key_material(&plain, KeyId(8), KeyKind::Aes192), corrupt);
        assert_eq!(key_material(&plain, KeyId(7), KeyKind::Tdes3), corrupt);
        assert_eq!(
            key_material(&plain[..31], KeyId(7), KeyKind::Aes192),
            corrupt
        );
        assert!(key_plaintext(KeyId(7), KeyKind::Aes128, &material).is_err());
    }

    #[test]
    fn record_plaintext_round_trips_every_length() {
        for len in 0..=40usize {
            let data: Vec<u8> = (0..len).map(|i| i as u8 ^ 0x5a).collect();
            let plain = record_plaintext(RecordId(9), &data).unwrap();
            assert_eq!(plain.len() % 8, 0, "len {len}");
            assert!(plain.len() >= 16);
            assert_eq!(record_data(&plain, RecordId(9)).unwrap(), &data[..]);
            assert_eq!(
                record_data(&plain, RecordId(10)),
                Err(Error::Store(StoreError::Corrupt))
            );
        }
    }

    #[test]
    fn record_length_field_is_checked() {
        let mut plain = record_plaintext(RecordId(1), b"abc").unwrap();
        plain[11] = 9; // claims 9 bytes, 5 bytes of padding follow 3 of data
        assert_eq!(
            record_data(&plain, RecordId(1)),
            Err(Error::Store(StoreError::Corrupt))
        );
        let mut plain = record_plaintext(RecordId(1), b"abc").unwrap();
        plain[11] = 1; // claims 1 byte: 7 bytes of "padding" are not all zero
        assert_eq!(
            record_data(&plain, RecordId(1)),
            Err(Error::Store(StoreError::Corrupt))
        );
    }

    #[test]
    fn kind_codes_round_trip() {
        for kind in [
            KeyKind::P256,
            KeyKind::Aes128,
            KeyKind::Aes192,
            KeyKind::Aes256,
            KeyKind::Tdes2,
            KeyKind::Tdes3,
        ] {
            let code = kind_code(kind).unwrap();
            assert_eq!(kind_from_code(i16::from(code)), Some(kind));
        }
        assert_eq!(kind_from_code(0), None);
        assert_eq!(kind_from_code(7), None);
    }
}
