//! The NOR-flash key store: the conformance suite, persistence, wear spreading, and a
//! power cut at every word of a workload.

use provkit::store::flash::{FlashStore, RamFlash};
use provkit::store::{
    IdentityKeys, KeyId, KeyInventory, KeyKind, RecordId, Records, SymmetricKeys, suite,
};
use std::collections::BTreeMap;

type Flash = RamFlash<2048, 512>;

#[test]
fn flash_store_passes_the_suite() {
    suite::all(&mut FlashStore::mount(RamFlash::<8192, 1024>::new()).unwrap());
}

#[test]
fn keys_and_records_survive_a_remount() {
    let mut s = FlashStore::mount(Flash::new()).unwrap();
    let mut rng = provkit::testing::TestRng::new(1);
    let public = s.generate_p256(KeyId(1), &mut rng).unwrap();
    s.import_symmetric(KeyId(2), KeyKind::Aes128, &[7; 16])
        .unwrap();
    s.write_record(RecordId(9), b"pinned peer").unwrap();
    let mut s = FlashStore::mount(s.into_inner()).unwrap();
    assert_eq!(s.public_key(KeyId(1)).unwrap(), public);
    let digest = [3u8; 32];
    public
        .verify_digest(&digest, &s.sign_digest(KeyId(1), &digest).unwrap())
        .unwrap();
    let mut block = [0u8; 16];
    s.encrypt_block(KeyId(2), &mut block).unwrap();
    let mut buf = [0u8; 32];
    let n = s.read_record(RecordId(9), &mut buf).unwrap();
    assert_eq!(&buf[..n], b"pinned peer");
}

#[test]
fn a_stale_view_refuses_to_write_over_newer_entries() {
    let mut old = FlashStore::mount(Flash::new()).unwrap();
    old.write_record(RecordId(1), b"first").unwrap();
    {
        // A second view of the same flash (as after a reset) writes behind `old`'s back.
        let mut new = FlashStore::mount(&mut *old.flash_mut()).unwrap();
        new.write_record(RecordId(1), b"second").unwrap();
        new.write_record(RecordId(2), b"other").unwrap();
    }
    // `old` would write where `new` already did: refused, nothing overwritten.
    assert_eq!(
        old.write_record(RecordId(3), b"stale"),
        Err(provkit::Error::Store(provkit::error::StoreError::Corrupt))
    );
    let mut s = FlashStore::mount(old.into_inner()).unwrap();
    let mut buf = [0u8; 16];
    let n = s.read_record(RecordId(1), &mut buf).unwrap();
    assert_eq!(&buf[..n], b"second");
    let n = s.read_record(RecordId(2), &mut buf).unwrap();
    assert_eq!(&buf[..n], b"other");
    s.write_record(RecordId(3), b"fresh").unwrap();
}

#[test]
fn writes_spread_over_all_pages() {
    let mut s = FlashStore::mount(RamFlash::<4096, 512>::new()).unwrap();
    s.write_record(RecordId(1), b"kept").unwrap();
    for i in 0..2000u32 {
        s.write_record(RecordId(2), &i.to_le_bytes()).unwrap();
    }
    let mut counts = [0u32; 8];
    assert_eq!(s.erase_counts(&mut counts).unwrap(), 8);
    let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
    assert!(*min >= 5 && max - min <= 1, "erase counts {counts:?}");
    let mut buf = [0u8; 8];
    let n = s.read_record(RecordId(1), &mut buf).unwrap();
    assert_eq!(
        &buf[..n],
        b"kept",
        "a value written once survives many reclaims"
    );
    let n = s.read_record(RecordId(2), &mut buf).unwrap();
    assert_eq!(&buf[..n], &1999u32.to_le_bytes());
}

#[test]
fn store_full_is_reported_and_nothing_is_lost() {
    let mut s = FlashStore::mount(RamFlash::<1024, 512>::new()).unwrap();
    let big = [0x5a; 200];
    let mut written = 0;
    let err = loop {
        match s.write_record(RecordId(written), &big) {
            Ok(()) => written += 1,
            Err(e) => break e,
        }
        assert!(written < 10, "must fill up");
    };
    assert_eq!(err, provkit::Error::Store(provkit::store::StoreError::Full));
    let mut s = FlashStore::mount(s.into_inner()).unwrap();
    let mut buf = [0u8; 256];
    for id in 0..written {
        assert_eq!(
            s.read_record(RecordId(id), &mut buf).unwrap(),
            200,
            "record {id}"
        );
    }
}

#[derive(Clone, Debug)]
enum Op {
    Write(u32, Vec<u8>),
    Delete(u32),
    Key(u32),
}

fn workload() -> Vec<Op> {
    let mut ops = vec![Op::Key(1)];
    for i in 0..48u32 {
        let id = i % 5;
        match i % 7 {
            3 => ops.push(Op::Delete(id)),
            5 => ops.push(Op::Key(100 + i)),
            _ => ops.push(Op::Write(id, vec![i as u8; 8 + (i as usize * 13) % 90])),
        }
    }
    ops
}

type Model = BTreeMap<(u8, u32), Vec<u8>>;

fn apply(s: &mut FlashStore<Flash>, op: &Op, model: &mut Model) -> provkit::Result<()> {
    match op {
        Op::Write(id, v) => {
            s.write_record(RecordId(*id), v)?;
            model.insert((1, *id), v.clone());
        }
        Op::Delete(id) => match s.delete_record(RecordId(*id)) {
            Ok(()) => {
                model.remove(&(1, *id));
            }
            Err(provkit::Error::Store(provkit::store::StoreError::NotFound)) => {}
            Err(e) => return Err(e),
        },
        Op::Key(id) => {
            s.import_symmetric(KeyId(*id), KeyKind::Aes128, &[*id as u8; 16])?;
            model.insert((0, *id), vec![*id as u8; 16]);
        }
    }
    Ok(())
}

fn observed(s: &mut FlashStore<Flash>, model_ids: &[(u8, u32)]) -> Model {
    let mut m = Model::new();
    for &(ns, id) in model_ids {
        if ns == 1 {
            let mut buf = [0u8; 256];
            match s.read_record(RecordId(id), &mut buf) {
                Ok(n) => {
                    m.insert((1, id), buf[..n].to_vec());
                }
                Err(provkit::Error::Store(provkit::store::StoreError::NotFound)) => {}
                Err(e) => panic!("record {id} unreadable after power cut: {e:?}"),
            }
        } else {
            match s.key_kind(KeyId(id)) {
                Ok(KeyKind::Aes128) => {
                    let mut b = [0u8; 16];
                    s.encrypt_block(KeyId(id), &mut b).unwrap();
                    m.insert((0, id), vec![id as u8; 16]);
                }
                Ok(k) => panic!("key {id} has kind {k:?}"),
                Err(provkit::Error::Store(provkit::store::StoreError::NotFound)) => {}
                Err(e) => panic!("key {id} unreadable after power cut: {e:?}"),
            }
        }
    }
    m
}

/// Cuts power at every word written or erased by the workload; after each cut and a
/// remount, every value is the one before the interrupted operation or the one after
/// it, and the store keeps working.
#[test]
fn power_cut_at_every_word_loses_nothing() {
    let ops = workload();
    let ids: Vec<(u8, u32)> = ops
        .iter()
        .map(|op| match op {
            Op::Write(id, _) | Op::Delete(id) => (1, *id),
            Op::Key(id) => (0, *id),
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    // Uncut run: how many words the workload programs and erases.
    let mut s = FlashStore::mount(Flash::new()).unwrap();
    let mut model = Model::new();
    for op in &ops {
        apply(&mut s, op, &mut model).unwrap();
    }
    let total = s.into_inner().words_done();
    assert!(
        total > 1000,
        "workload too small to cycle the ring: {total} words"
    );
    println!("power-cut sweep over {total} word writes and erases");

    for cut in 0..total {
        let mut flash = Flash::new();
        flash.cut_power_after(cut);
        let mut s = FlashStore::mount(flash).unwrap();
        let mut before = Model::new();
        let mut interrupted = None;
        for (i, op) in ops.iter().enumerate() {
            let mut after = before.clone();
            match apply(&mut s, op, &mut after) {
                Ok(()) => before = after,
                Err(_) => {
                    interrupted = Some((i, after));
                    break;
                }
            }
        }
        let mut flash = s.into_inner();
        flash.restore_power();
        let mut s =
            FlashStore::mount(flash).unwrap_or_else(|e| panic!("cut {cut}: remount failed: {e:?}"));
        let seen = observed(&mut s, &ids);
        match interrupted {
            None => assert_eq!(seen, before, "cut {cut}: completed workload changed"),
            Some((i, after)) => assert!(
                seen == before || seen == after,
                "cut {cut} during op {i} ({:?}): neither old nor new state\nseen   {seen:?}\nbefore {before:?}",
                ops[i]
            ),
        }
        // The store still takes writes after the cut.
        s.write_record(RecordId(77), b"after").unwrap();
        let mut buf = [0u8; 8];
        assert_eq!(
            s.read_record(RecordId(77), &mut buf).unwrap(),
            5,
            "cut {cut}"
        );
    }
}

/// A page filled to within a few bytes of its end, as the last page of the region: its
/// tail is found without reading past the end of the flash.
#[test]
fn a_last_page_filled_to_its_end_still_reads_and_mounts() {
    let mut s = FlashStore::mount(RamFlash::<2048, 512>::new()).unwrap();
    // A 220-byte record takes 244 bytes: two fill a page's 496 to 8 bytes from its end.
    // Writing begins on page 1, so the sixth write fills the last page, page 3.
    for i in 0..6u8 {
        s.write_record(RecordId(u32::from(i % 2)), &[i; 220])
            .unwrap();
    }
    let mut counts = [0u32; 4];
    s.erase_counts(&mut counts).unwrap();
    assert_eq!(counts, [1; 4], "no page erased twice yet");
    let mut buf = [0u8; 256];
    assert_eq!(s.read_record(RecordId(0), &mut buf).unwrap(), 220);
    assert_eq!(&buf[..220], &[4; 220]);
    let mut s = FlashStore::mount(s.into_inner()).unwrap();
    assert_eq!(s.read_record(RecordId(1), &mut buf).unwrap(), 220);
    assert_eq!(&buf[..220], &[5; 220]);
    s.write_record(RecordId(2), b"next page").unwrap();
    let mut s = FlashStore::mount(s.into_inner()).unwrap();
    assert_eq!(s.read_record(RecordId(0), &mut buf).unwrap(), 220);
    assert_eq!(&buf[..220], &[4; 220]);
    assert_eq!(s.read_record(RecordId(2), &mut buf).unwrap(), 9);
}
