//! Rotates a KEK without touching the data: seal 1,000 rows under KEK version 1, add
//! version 2, take a census, rewrap every row, prove by SHA-256 that the encrypted data
//! bytes did not change, retire version 1 and delete its key.
//!
//! ```text
//! cargo run --example envelope_rotation
//! ```

use provkit::ec::sha256;
use provkit::envelope::{self, Context, Envelopes, HEADER_LEN, KekId, KekRef, KekRing, KekSlot};
use provkit::rng::OsRng;
use provkit::store::{KeyId, KeyInventory, KeyKind, MemoryStore, SymmetricKeys, WrapAlgorithm};
use std::time::Instant;

const KEK: KekId = KekId(*b"devkeys\0");
const ROWS: u64 = 1000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut rng = OsRng;
    let mut store = MemoryStore::<4, 0, 0>::new();
    let mut ring = KekRing::<4>::new();
    let v1 = KekSlot {
        kek: KekRef {
            id: KEK,
            version: 1,
        },
        key: KeyId(1),
        wrap: WrapAlgorithm::AesKw,
    };
    store.generate_symmetric(v1.key, KeyKind::Aes256, &mut rng)?;
    ring.add_version(v1)?;

    // A table of rows: each a device's secret, bound to its serial and column.
    let mut table: Vec<(u64, Vec<u8>)> = Vec::new();
    {
        let mut env = Envelopes::new(&mut store, &ring);
        for serial in 0..ROWS {
            let secret = format!("per-device secret #{serial}");
            let ctx = Context::new(serial, b"devices.secret");
            table.push((
                serial,
                env.seal_to_vec(KEK, &ctx, &mut rng, secret.as_bytes())?,
            ));
        }
    }
    let fingerprint = |t: &[(u64, Vec<u8>)]| -> Vec<[u8; 32]> {
        t.iter().map(|(_, e)| sha256(&e[HEADER_LEN..])).collect()
    };
    let data_before = fingerprint(&table);

    // Rotate: version 2 becomes the primary; readers of version 1 keep working.
    let v2 = KekSlot {
        kek: KekRef {
            id: KEK,
            version: 2,
        },
        key: KeyId(2),
        wrap: WrapAlgorithm::AesKw,
    };
    store.generate_symmetric(v2.key, KeyKind::Aes256, &mut rng)?;
    ring.add_version(v2)?;
    let census = envelope::census::<4, _>(table.iter().map(|(_, e)| e.as_slice()));
    println!("census before: {:?}", census.iter().collect::<Vec<_>>());
    if ring.set_min_decrypt_version(KEK, 2, &census).is_err() {
        println!(
            "retiring v1 now is refused: {} rows still under it",
            census.count(v1.kek)
        );
    }

    let t = Instant::now();
    let report = Envelopes::new(&mut store, &ring)
        .rewrap_batch::<4, _>(table.iter_mut().map(|(_, e)| e.as_mut_slice()), KEK);
    let secs = t.elapsed().as_secs_f64();
    println!(
        "rewrapped {} rows ({} already current, {} failed) in {:.1} ms ({:.0} rewraps/s)",
        report.rewrapped,
        report.already_current,
        report.failed,
        secs * 1000.0,
        report.rewrapped as f64 / secs
    );
    println!(
        "census after:  {:?}",
        report.after.iter().collect::<Vec<_>>()
    );

    let data_after = fingerprint(&table);
    assert_eq!(data_before, data_after);
    println!("data bytes untouched: SHA-256 of all {ROWS} payloads identical before and after");

    // Retire and destroy version 1.
    let census = envelope::census::<4, _>(table.iter().map(|(_, e)| e.as_slice()));
    ring.set_min_decrypt_version(KEK, 2, &census)?;
    let retired = ring.remove_version(v1.kek)?;
    store.delete_key(retired.key)?;
    println!("v1 retired and its key deleted");

    let mut env = Envelopes::new(&mut store, &ring);
    for (serial, e) in &table {
        let secret = env.open_to_vec(&Context::new(*serial, b"devices.secret"), e)?;
        assert_eq!(secret, format!("per-device secret #{serial}").into_bytes());
    }
    println!("all {ROWS} rows open under v2");
    Ok(())
}
