//! How provkit's handles map to PKCS#11 token objects.
//!
//! | provkit | PKCS#11 object | found by |
//! |---|---|---|
//! | [`KeyId`] of a P-256 key | `CKO_PRIVATE_KEY` + `CKO_PUBLIC_KEY`, `CKK_EC` | `CKA_ID` |
//! | [`KeyId`] of an AES/TDES key | `CKO_SECRET_KEY`, `CKK_AES` / `CKK_DES2` / `CKK_DES3` | `CKA_ID` |
//! | [`RecordId`] | `CKO_DATA`, `CKA_APPLICATION` = `provkit` | `CKA_LABEL` |
//!
//! `CKA_ID` is 8 bytes: the store's namespace then the key id, both big-endian u32, so
//! the pair of a P-256 key shares one `CKA_ID` as PKCS#11 convention expects. Keys also
//! get `CKA_LABEL` = `provkit:<namespace>:key:<id>:<kind>` (8 hex digits each; kind
//! `p256`, `aes128`, `aes192`, `aes256`, `tdes2`, `tdes3`), readable in
//! `pkcs11-tool --list-objects`; records get `provkit:<namespace>:rec:<id>`.
//!
//! The kind in the label is needed for AES keys created by `C_UnwrapKey`: SoftHSM2
//! leaves their `CKA_VALUE_LEN` at 0 and refuses it in the unwrap template
//! (`CKR_ATTRIBUTE_READ_ONLY`), so the key size is known only from the label. A
//! non-zero `CKA_VALUE_LEN` always takes precedence.

use provkit::store::{KeyId, KeyKind, RecordId};

/// `CKA_APPLICATION` of record data objects.
pub(crate) const APPLICATION: &[u8] = b"provkit";

/// `CKA_ID` of the key `id` in `namespace`.
pub(crate) fn key_cka_id(namespace: u32, id: KeyId) -> Vec<u8> {
    let mut v = Vec::with_capacity(8);
    v.extend_from_slice(&namespace.to_be_bytes());
    v.extend_from_slice(&id.0.to_be_bytes());
    v
}

const KINDS: [(KeyKind, &str); 6] = [
    (KeyKind::P256, "p256"),
    (KeyKind::Aes128, "aes128"),
    (KeyKind::Aes192, "aes192"),
    (KeyKind::Aes256, "aes256"),
    (KeyKind::Tdes2, "tdes2"),
    (KeyKind::Tdes3, "tdes3"),
];

/// `CKA_LABEL` of the key `id` of `kind` in `namespace`.
pub(crate) fn key_label(namespace: u32, id: KeyId, kind: KeyKind) -> Vec<u8> {
    let name = KINDS
        .iter()
        .find(|(k, _)| *k == kind)
        .map_or("unknown", |(_, n)| n);
    format!("provkit:{namespace:08x}:key:{:08x}:{name}", id.0).into_bytes()
}

/// The kind named at the end of a key label, if any.
pub(crate) fn kind_from_label(label: &[u8]) -> Option<KeyKind> {
    let suffix = label.rsplit(|b| *b == b':').next()?;
    KINDS
        .iter()
        .find(|(_, n)| n.as_bytes() == suffix)
        .map(|(k, _)| *k)
}

/// `CKA_LABEL` of the record `id` in `namespace`.
pub(crate) fn record_label(namespace: u32, id: RecordId) -> Vec<u8> {
    format!("provkit:{namespace:08x}:rec:{:08x}", id.0).into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_is_namespaced_and_big_endian() {
        assert_eq!(
            key_cka_id(0x0102_0304, KeyId(0x0A0B_0C0D)),
            [1, 2, 3, 4, 0x0A, 0x0B, 0x0C, 0x0D]
        );
        assert_eq!(
            key_label(1, KeyId(0x2A), KeyKind::Aes192),
            b"provkit:00000001:key:0000002a:aes192"
        );
        for kind in [
            KeyKind::P256,
            KeyKind::Aes128,
            KeyKind::Aes256,
            KeyKind::Tdes3,
        ] {
            assert_eq!(kind_from_label(&key_label(9, KeyId(9), kind)), Some(kind));
        }
        assert_eq!(kind_from_label(b"provkit:00000001:key:0000002a"), None);
        assert_eq!(kind_from_label(b""), None);
        assert_eq!(
            record_label(0xFFFF_FFFF, RecordId(7)),
            b"provkit:ffffffff:rec:00000007"
        );
        assert_ne!(key_cka_id(1, KeyId(2)), key_cka_id(2, KeyId(1)));
    }
}
