//! ISO 9564 PIN-field plumbing shared by AES format 4 and TDES format 0: nibble access,
//! digit checks, and parsing a decrypted PIN field.

use crate::error::{DukptError, Error, Result};
use crate::secret::{SecretBuf, SecretBytes};

/// Fails with [`DukptError::WrongKeyUsage`] unless `ok`.
pub(super) fn require(ok: bool) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(DukptError::WrongKeyUsage.into())
    }
}

/// Checks that `d` is `min..=max` ASCII decimal digits, else `err`.
pub(super) fn digits(d: &[u8], min: usize, max: usize, err: DukptError) -> Result<()> {
    if d.len() < min || d.len() > max || !d.iter().all(u8::is_ascii_digit) {
        return Err(err.into());
    }
    Ok(())
}

/// Sets nibble `i` (0 = high nibble of byte 0) of `buf`.
#[cfg(feature = "tdes")]
pub(super) fn set_nibble(buf: &mut [u8], i: usize, v: u8) {
    if let Some(b) = buf.get_mut(i / 2) {
        if i.is_multiple_of(2) {
            *b = (*b & 0x0F) | (v << 4);
        } else {
            *b = (*b & 0xF0) | (v & 0x0F);
        }
    }
}

/// Nibble `i` of `buf` (0xF past the end).
pub(super) fn nibble(buf: &[u8], i: usize) -> u8 {
    buf.get(i / 2).map_or(0xFF, |b| {
        if i.is_multiple_of(2) {
            b >> 4
        } else {
            b & 0x0F
        }
    })
}

/// Parses a plaintext PIN field `control | N | N digits | fill…` (14 digit nibbles after
/// the two header nibbles). Every malformation is the opaque [`Error::Crypto`]: a wrong
/// key or PAN looks the same as a tampered block, and must not become an oracle.
pub(super) fn parse_pin_field(buf: &[u8], control: u8, fill: u8) -> Result<SecretBuf<12>> {
    let n = usize::from(nibble(buf, 1));
    let mut ok = nibble(buf, 0) == control && (4..=12).contains(&n);
    let mut pin = SecretBytes::<12>::zero();
    for i in 0..14 {
        let v = nibble(buf, 2 + i);
        if i < n {
            ok &= v <= 9;
            if let Some(d) = pin.expose_mut().get_mut(i) {
                *d = b'0' + v;
            }
        } else {
            ok &= v == fill;
        }
    }
    if !ok {
        return Err(Error::Crypto);
    }
    SecretBuf::from_slice(pin.expose().get(..n).ok_or(Error::Crypto)?)
}
