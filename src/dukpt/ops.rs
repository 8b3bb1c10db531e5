//! What AES DUKPT working keys are for: ISO 9564 format 4 PIN blocks, AES-CMAC,
//! HMAC-SHA256 and CBC data encryption, plus the request/response convention helpers on
//! [`TransactionKey`].

use super::keys::{KeyType, TransactionKey, WorkingKey, WorkingKeyUsage};
use super::pin::{digits, parse_pin_field, require};
use crate::block::{AesDec, AesEnc, xor};
use crate::error::{DecodeErrorKind, DukptError, Error, Result};
use crate::provider::{CryptoProvider, RustCrypto};
use crate::secret::{SecretBuf, SecretBytes};
use subtle::ConstantTimeEq;

/// The ISO 9564-1 format 4 plaintext PIN field: `4 | N | PIN digits | A…A` (8 bytes),
/// then the 8 bytes of `fill`.
///
/// # Errors
/// [`DukptError::InvalidPin`] unless `pin` is 4 to 12 ASCII digits.
pub fn format4_pin_field(pin: &[u8], fill: &[u8; 8]) -> Result<SecretBytes<16>> {
    digits(pin, 4, 12, DukptError::InvalidPin)?;
    let n = u8::try_from(pin.len()).unwrap_or(0);
    let [f0, f1, f2, f3, f4, f5, f6, f7] = *fill;
    let mut field = SecretBytes::new([
        0x40 | n,
        0xAA,
        0xAA,
        0xAA,
        0xAA,
        0xAA,
        0xAA,
        0xAA,
        f0,
        f1,
        f2,
        f3,
        f4,
        f5,
        f6,
        f7,
    ]);
    put_digits(field.expose_mut(), 2, pin);
    Ok(field)
}

/// The ISO 9564-1 format 4 plaintext PAN field: `M | PAN (at least 12 digits, padded
/// left with zeros) | 0…0`, where `M` = PAN length − 12 (0 for shorter PANs).
///
/// # Errors
/// [`DukptError::InvalidPan`] unless `pan` is 1 to 19 ASCII digits.
pub fn format4_pan_field(pan: &[u8]) -> Result<[u8; 16]> {
    digits(pan, 1, 19, DukptError::InvalidPan)?;
    let m = u8::try_from(pan.len().saturating_sub(12)).unwrap_or(0);
    let mut field = [m << 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
    put_digits(&mut field, 1 + 12usize.saturating_sub(pan.len()), pan);
    Ok(field)
}

/// Writes the ASCII digits `d` (already checked) as nibbles of `buf` from nibble `at`
/// (0 = high nibble of byte 0).
fn put_digits(buf: &mut [u8; 16], at: usize, d: &[u8]) {
    for (i, c) in d.iter().enumerate() {
        let pos = at + i;
        let v = c.wrapping_sub(b'0') & 0x0F;
        if let Some(b) = buf.get_mut(pos / 2) {
            *b = if pos.is_multiple_of(2) {
                (*b & 0x0F) | (v << 4)
            } else {
                (*b & 0xF0) | v
            };
        }
    }
}

fn pin_key(key: &WorkingKey) -> Result<()> {
    require(key.usage() == WorkingKeyUsage::PinEncryption && key.key_type().is_aes())
}

/// Encrypts `pin` as an ISO 9564-1 format 4 PIN block bound to `pan`:
/// `C = AES(K, AES(K, PIN field) XOR PAN field)`, with 8 random fill bytes from `rng`.
///
/// # Errors
/// [`DukptError::WrongKeyUsage`] unless `key` is an AES PIN encryption key;
/// [`DukptError::InvalidPin`], [`DukptError::InvalidPan`].
pub fn encrypt_pin_block<R: rand_core::CryptoRng + ?Sized>(
    key: &WorkingKey,
    pin: &[u8],
    pan: &[u8],
    rng: &mut R,
) -> Result<[u8; 16]> {
    let mut fill = SecretBytes::<8>::random(rng);
    encrypt_pin_block_with_fill(key, pin, pan, fill.expose_mut())
}

/// [`encrypt_pin_block`] with caller-chosen fill bytes: for test vectors, or when the
/// random fill comes from elsewhere. The fill must be random in production.
///
/// # Errors
/// As [`encrypt_pin_block`].
pub fn encrypt_pin_block_with_fill(
    key: &WorkingKey,
    pin: &[u8],
    pan: &[u8],
    fill: &[u8; 8],
) -> Result<[u8; 16]> {
    pin_key(key)?;
    let pan_field = format4_pan_field(pan)?;
    let mut block = format4_pin_field(pin, fill)?;
    let cipher = AesEnc::new(key.bytes())?;
    let b = block.expose_mut();
    cipher.encrypt(b);
    xor(b, &pan_field);
    cipher.encrypt(b);
    Ok(*b)
}

/// Decrypts a format 4 PIN block bound to `pan` and returns the PIN as ASCII digits.
///
/// # Errors
/// [`DukptError::WrongKeyUsage`], [`DukptError::InvalidPan`]; [`Error::Crypto`] when the
/// decrypted block is not a well-formed format 4 PIN field (wrong key, wrong PAN or
/// tampering: deliberately one opaque error).
pub fn decrypt_pin_block(key: &WorkingKey, block: &[u8; 16], pan: &[u8]) -> Result<SecretBuf<12>> {
    pin_key(key)?;
    let pan_field = format4_pan_field(pan)?;
    let cipher = AesDec::new(key.bytes())?;
    let mut b = SecretBytes::new(*block);
    let buf = b.expose_mut();
    cipher.decrypt(buf);
    xor(buf, &pan_field);
    cipher.decrypt(buf);
    parse_pin_field(buf, 4, 0xA)
}

fn mac_key(key: &WorkingKey) -> Result<()> {
    require(key.usage().is_mac())
}

/// AES-CMAC (NIST SP 800-38B) of `msg` under a MAC working key (generation,
/// verification or both ways) of an AES type.
///
/// # Errors
/// [`DukptError::WrongKeyUsage`] for another usage or type; [`Error::Unsupported`] for
/// an AES-192 or AES-256 key when the `aes192` or `aes256` feature is off.
pub fn cmac(key: &WorkingKey, msg: &[u8]) -> Result<[u8; 16]> {
    require(key.usage().is_mac() && key.key_type().is_aes())?;
    Ok(AesEnc::new(key.bytes())?.cmac(msg))
}

/// Verifies an AES-CMAC tag in constant time. `tag` may be truncated to its leftmost 4
/// to 16 bytes.
///
/// # Errors
/// [`Error::Crypto`] when it does not match (or has another length);
/// [`DukptError::WrongKeyUsage`] as [`cmac()`].
pub fn verify_cmac(key: &WorkingKey, msg: &[u8], tag: &[u8]) -> Result<()> {
    let full = cmac(key, msg)?;
    ct_prefix(&full, tag, 4)
}

/// HMAC-SHA256 of `msg` under an HMAC working key of a MAC usage.
///
/// # Errors
/// [`DukptError::WrongKeyUsage`] for another usage or type.
pub fn hmac_sha256(key: &WorkingKey, msg: &[u8]) -> Result<[u8; 32]> {
    mac_key(key)?;
    require(key.key_type().is_hmac())?;
    let mut tag = [0u8; 32];
    RustCrypto::hmac_sha256(key.bytes(), &[msg], &mut tag)?;
    Ok(tag)
}

/// Verifies an HMAC-SHA256 tag (truncated to 16..=32 bytes allowed) in constant time.
///
/// # Errors
/// [`Error::Crypto`] when it does not match; [`DukptError::WrongKeyUsage`].
pub fn verify_hmac_sha256(key: &WorkingKey, msg: &[u8], tag: &[u8]) -> Result<()> {
    let full = hmac_sha256(key, msg)?;
    ct_prefix(&full, tag, 16)
}

fn ct_prefix(full: &[u8], tag: &[u8], min: usize) -> Result<()> {
    match full.get(..tag.len()) {
        Some(prefix) if tag.len() >= min && bool::from(prefix.ct_eq(tag)) => Ok(()),
        _ => Err(Error::Crypto),
    }
}

fn data_key(key: &WorkingKey) -> Result<usize> {
    require(key.usage().is_data())?;
    match key.key_type() {
        KeyType::Aes128 | KeyType::Aes192 | KeyType::Aes256 => Ok(16),
        #[cfg(feature = "tdes")]
        KeyType::Tdes2 | KeyType::Tdes3 => Ok(8),
        _ => Err(DukptError::WrongKeyUsage.into()),
    }
}

fn check_lengths(block: usize, iv: &[u8], buf: &[u8]) -> Result<()> {
    if iv.len() != block {
        return Err(Error::decode(DecodeErrorKind::InvalidLength, iv.len()));
    }
    if !buf.len().is_multiple_of(block) {
        return Err(Error::decode(DecodeErrorKind::InvalidLength, buf.len()));
    }
    Ok(())
}

/// Encrypts `buf` in place in CBC mode under a data working key (encrypt, decrypt or
/// both ways; the request/response direction is the caller's convention). AES keys use
/// 16-byte blocks and IV; TDEA keys (feature `tdes`) 8-byte ones. No padding is added:
/// pad `buf` to a whole number of blocks first (the DUKPT convention is zero padding).
///
/// # Errors
/// [`DukptError::WrongKeyUsage`]; `Decode(InvalidLength)` when `iv` is not one block or
/// `buf` not a whole number of blocks.
pub fn cbc_encrypt(key: &WorkingKey, iv: &[u8], buf: &mut [u8]) -> Result<()> {
    let block = data_key(key)?;
    check_lengths(block, iv, buf)?;
    if block == 8 {
        #[cfg(feature = "tdes")]
        return super::tdes::tdes_cbc(key.bytes(), iv, buf, true);
    }
    let cipher = AesEnc::new(key.bytes())?;
    let mut chain = [0u8; 16];
    chain.copy_from_slice(iv);
    for chunk in buf.chunks_exact_mut(16) {
        for (c, x) in chain.iter_mut().zip(chunk.iter()) {
            *c ^= x;
        }
        cipher.encrypt(&mut chain);
        chunk.copy_from_slice(&chain);
    }
    Ok(())
}

/// Decrypts `buf` in place in CBC mode; the inverse of [`cbc_encrypt`].
///
/// # Errors
/// As [`cbc_encrypt`].
pub fn cbc_decrypt(key: &WorkingKey, iv: &[u8], buf: &mut [u8]) -> Result<()> {
    let block = data_key(key)?;
    check_lengths(block, iv, buf)?;
    if block == 8 {
        #[cfg(feature = "tdes")]
        return super::tdes::tdes_cbc(key.bytes(), iv, buf, false);
    }
    let cipher = AesDec::new(key.bytes())?;
    let mut prev = [0u8; 16];
    prev.copy_from_slice(iv);
    for chunk in buf.chunks_exact_mut(16) {
        let mut b = [0u8; 16];
        b.copy_from_slice(chunk);
        let saved = b;
        cipher.decrypt(&mut b);
        for ((o, x), p) in chunk.iter_mut().zip(b).zip(prev) {
            *o = x ^ p;
        }
        prev = saved;
    }
    Ok(())
}

/// The request/response convention of openemv/dukpt and moov-io/dukpt: request MACs use
/// the MAC generation key, response MACs the MAC verification key; request data the
/// data encryption key, response data the data decryption key. Device and host call the
/// same functions on their own [`TransactionKey`] for the same KSN.
impl TransactionKey {
    /// Encrypts a format 4 PIN block with the PIN encryption key of `key_type`.
    ///
    /// # Errors
    /// As [`TransactionKey::working_key`] and [`encrypt_pin_block`].
    pub fn encrypt_pin_block<R: rand_core::CryptoRng + ?Sized>(
        &self,
        key_type: KeyType,
        pin: &[u8],
        pan: &[u8],
        rng: &mut R,
    ) -> Result<[u8; 16]> {
        let key = self.working_key(WorkingKeyUsage::PinEncryption, key_type)?;
        encrypt_pin_block(&key, pin, pan, rng)
    }

    /// Decrypts a format 4 PIN block with the PIN encryption key of `key_type`.
    ///
    /// # Errors
    /// As [`TransactionKey::working_key`] and [`decrypt_pin_block`].
    pub fn decrypt_pin_block(
        &self,
        key_type: KeyType,
        block: &[u8; 16],
        pan: &[u8],
    ) -> Result<SecretBuf<12>> {
        let key = self.working_key(WorkingKeyUsage::PinEncryption, key_type)?;
        decrypt_pin_block(&key, block, pan)
    }

    /// AES-CMAC of a request, under the MAC generation key of `key_type`.
    ///
    /// # Errors
    /// As [`TransactionKey::working_key`] and [`cmac()`].
    pub fn request_cmac(&self, key_type: KeyType, msg: &[u8]) -> Result<[u8; 16]> {
        cmac(
            &self.working_key(WorkingKeyUsage::MacGeneration, key_type)?,
            msg,
        )
    }

    /// Verifies a request's AES-CMAC (MAC generation key of `key_type`).
    ///
    /// # Errors
    /// [`Error::Crypto`] on mismatch; as [`TransactionKey::request_cmac`].
    pub fn verify_request_cmac(&self, key_type: KeyType, msg: &[u8], tag: &[u8]) -> Result<()> {
        verify_cmac(
            &self.working_key(WorkingKeyUsage::MacGeneration, key_type)?,
            msg,
            tag,
        )
    }

    /// AES-CMAC of a response, under the MAC verification key of `key_type`.
    ///
    /// # Errors
    /// As [`TransactionKey::working_key`] and [`cmac()`].
    pub fn response_cmac(&self, key_type: KeyType, msg: &[u8]) -> Result<[u8; 16]> {
        cmac(
            &self.working_key(WorkingKeyUsage::MacVerification, key_type)?,
            msg,
        )
    }

    /// Verifies a response's AES-CMAC (MAC verification key of `key_type`).
    ///
    /// # Errors
    /// [`Error::Crypto`] on mismatch; as [`TransactionKey::response_cmac`].
    pub fn verify_response_cmac(&self, key_type: KeyType, msg: &[u8], tag: &[u8]) -> Result<()> {
        verify_cmac(
            &self.working_key(WorkingKeyUsage::MacVerification, key_type)?,
            msg,
            tag,
        )
    }

    /// Encrypts request data in place (CBC, data encryption key of `key_type`).
    ///
    /// # Errors
    /// As [`TransactionKey::working_key`] and [`cbc_encrypt`].
    pub fn encrypt_request(&self, key_type: KeyType, iv: &[u8], buf: &mut [u8]) -> Result<()> {
        cbc_encrypt(
            &self.working_key(WorkingKeyUsage::DataEncryption, key_type)?,
            iv,
            buf,
        )
    }

    /// Decrypts request data in place (the host side of [`encrypt_request`](Self::encrypt_request)).
    ///
    /// # Errors
    /// As [`TransactionKey::working_key`] and [`cbc_decrypt`].
    pub fn decrypt_request(&self, key_type: KeyType, iv: &[u8], buf: &mut [u8]) -> Result<()> {
        cbc_decrypt(
            &self.working_key(WorkingKeyUsage::DataEncryption, key_type)?,
            iv,
            buf,
        )
    }

    /// Encrypts response data in place (CBC, data decryption key of `key_type`).
    ///
    /// # Errors
    /// As [`TransactionKey::working_key`] and [`cbc_encrypt`].
    pub fn encrypt_response(&self, key_type: KeyType, iv: &[u8], buf: &mut [u8]) -> Result<()> {
        cbc_encrypt(
            &self.working_key(WorkingKeyUsage::DataDecryption, key_type)?,
            iv,
            buf,
        )
    }

    /// Decrypts response data in place (the device side of [`encrypt_response`](Self::encrypt_response)).
    ///
    /// # Errors
    /// As [`TransactionKey::working_key`] and [`cbc_decrypt`].
    pub fn decrypt_response(&self, key_type: KeyType, iv: &[u8], buf: &mut [u8]) -> Result<()> {
        cbc_decrypt(
            &self.working_key(WorkingKeyUsage::DataDecryption, key_type)?,
            iv,
            buf,
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// The fields nibble by nibble, as ISO 9564-1 lays them out.
    fn reference(pin: &[u8], pan: &[u8], fill: &[u8; 8]) -> ([u8; 16], [u8; 16]) {
        fn set(buf: &mut [u8; 16], i: usize, v: u8) {
            let shift = if i.is_multiple_of(2) { 4 } else { 0 };
            buf[i / 2] = (buf[i / 2] & !(0xF << shift)) | (v << shift);
        }
        let mut p = [0xAA; 16];
        p[8..].copy_from_slice(fill);
        set(&mut p, 0, 4);
        set(&mut p, 1, u8::try_from(pin.len()).unwrap());
        for (i, d) in pin.iter().enumerate() {
            set(&mut p, 2 + i, d - b'0');
        }
        let mut a = [0u8; 16];
        set(
            &mut a,
            0,
            u8::try_from(pan.len().saturating_sub(12)).unwrap(),
        );
        let pad = 12usize.saturating_sub(pan.len());
        for (i, d) in pan.iter().enumerate() {
            set(&mut a, 1 + pad + i, d - b'0');
        }
        (p, a)
    }

    #[test]
    fn format4_fields_for_every_length() {
        let digits = b"9876543210123456789";
        let fill = [0x10, 0x32, 0x54, 0x76, 0x98, 0xBA, 0xDC, 0xFE];
        for pin_len in 4..=12 {
            for pan_len in 1..=19 {
                let (pin, pan) = (&digits[..pin_len], &digits[19 - pan_len..]);
                let (want_pin, want_pan) = reference(pin, pan, &fill);
                assert_eq!(*format4_pin_field(pin, &fill).unwrap().expose(), want_pin);
                assert_eq!(format4_pan_field(pan).unwrap(), want_pan);
            }
        }
        let pin_err = Err(Error::Dukpt(DukptError::InvalidPin));
        assert_eq!(format4_pin_field(b"123", &fill).map(|_| ()), pin_err);
        assert_eq!(format4_pin_field(&digits[..13], &fill).map(|_| ()), pin_err);
        assert_eq!(format4_pin_field(b"12a4", &fill).map(|_| ()), pin_err);
        let pan_err = Err(Error::Dukpt(DukptError::InvalidPan));
        assert_eq!(format4_pan_field(b""), pan_err);
        assert_eq!(format4_pan_field(b"12345678901234567890"), pan_err);
        assert_eq!(format4_pan_field(b"4111x"), pan_err);
    }
}
