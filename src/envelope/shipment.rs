//! Shipment files: a manufacturer delivers device keys to a test authority.
//!
//! A shipment is one HPKE context (base mode, DHKEM(P-256), HKDF-SHA256, AES-256-GCM) from
//! the manufacturer to the authority's key, in chunks, signed by the manufacturer twice:
//! the header (which names the batch, the record count and the HPKE encapsulated key) and
//! the whole transcript (a trailer). Format and rationale: `docs/shipment-format.md`.
//!
//! | piece | where |
//! |---|---|
//! | manufacturer side | [`ShipmentWriter`], [`ShipmentParams`], [`DeviceKeyRecord`] |
//! | authority side (streaming, sans-IO) | [`ShipmentOpener`], [`OpenedRecord`], [`WrappedKey`] |
//! | whole file in memory | [`open_shipment`] |
//! | signatures only, no key | [`audit_shipment`] |
//!
//! Memory is one chunk on each side (at most 229,392 bytes at 4,096 records per chunk;
//! 14,352 bytes at the default 256), whatever the number of records.

mod header;
mod reader;
mod record;
mod writer;

pub use header::{
    HEADER_LEN, MAGIC, MAX_RECORDS_PER_CHUNK, SHIPMENT_VERSION, ShipmentHeader, TRAILER_LEN,
    chunk_buffer_len,
};
pub use reader::{ShipmentOpener, ShipmentSummary, audit_shipment, open_shipment};
pub use record::{
    DeviceKeyRecord, KeyUsageCode, MAX_WRAPPED_LEN, OpenedRecord, RECORD_LEN, WrappedKey,
};
pub use writer::{ShipmentParams, ShipmentWriter};
