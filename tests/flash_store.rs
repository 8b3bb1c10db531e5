//! The NOR-flash key store: the conformance suite, persistence, wear spreading, and a
//! power cut at every word of a workload.

use embedded_storage::nor_flash::NorFlash;
use provkit::store::flash::{FlashStore, RamFlash};
use provkit::store::{
    IdentityKeys, KeyId, KeyInventory, KeyKind, RecordId, Records, SymmetricKeys, suite,
};
use std::collections::{BTreeMap, HashSet};

type Flash = RamFlash<2048, 512>;

#[test]
fn flash_store_passes_the_suite() {
    suite::all(&mut FlashStore::mount(RamFlash::<8192, 1024>::new()).unwrap());
}

#[test]
fn keys_and_records_survive_a_remount() {
    let mut s = FlashStore::mount(Flash::new()).unwrap();
    let mut rng = provkit::testing::InsecureTestRng::new(1);
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

/// Store pages of several erase sectors (`mount_with_page_size`): each page erased as a
/// whole, and the erase counts, the values and the page geometry survive a remount with
/// the same page size; a size that is not a multiple of the sector is refused.
#[test]
fn pages_may_span_several_erase_sectors() {
    let mut s = FlashStore::<_, provkit::provider::RustCrypto>::mount_with_page_size(
        RamFlash::<4096, 256>::new(),
        1024,
    )
    .unwrap();
    for i in 0..400u32 {
        s.write_record(RecordId(2), &i.to_le_bytes()).unwrap();
    }
    let mut counts = [0u32; 16];
    // 4096 bytes in 1024-byte pages: four pages, not sixteen 256-byte sectors.
    assert_eq!(s.erase_counts(&mut counts).unwrap(), 4);
    assert!(
        counts[..4].iter().all(|&c| c >= 2),
        "erase counts {counts:?}"
    );
    let mut again =
        FlashStore::<_, provkit::provider::RustCrypto>::mount_with_page_size(s.into_inner(), 1024)
            .unwrap();
    let mut buf = [0u8; 8];
    let n = again.read_record(RecordId(2), &mut buf).unwrap();
    assert_eq!(&buf[..n], &399u32.to_le_bytes());
    for bad in [0, 1000, 256 + 128] {
        assert_eq!(
            FlashStore::<_, provkit::provider::RustCrypto>::mount_with_page_size(
                RamFlash::<4096, 256>::new(),
                bad
            )
            .map(|_| ()),
            Err(provkit::Error::Unsupported),
            "page size {bad}"
        );
    }
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
    Key(u32, [u8; 16]),
    DeleteKey(u32),
}

/// Distinct pseudo-random bytes, so that a search of the raw flash for a value cannot
/// hit by accident.
fn bytes(seed: u32, len: usize) -> Vec<u8> {
    let mut x = u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// `n` record rewrites, record deletes, key imports and key deletes.
fn workload(n: u32) -> Vec<Op> {
    let mut ops = vec![Op::Key(1, bytes(1, 16).try_into().unwrap())];
    for i in 0..n {
        let id = i % 5;
        match i % 7 {
            3 => ops.push(Op::Delete(id)),
            5 => ops.push(Op::Key(100 + i, bytes(1000 + i, 16).try_into().unwrap())),
            6 => ops.push(Op::DeleteKey(100 + i - 1)),
            _ => ops.push(Op::Write(id, bytes(i + 7, 8 + (i as usize * 13) % 90))),
        }
    }
    ops
}

type Model = BTreeMap<(u8, u32), Vec<u8>>;

fn apply<F: NorFlash>(s: &mut FlashStore<F>, op: &Op, model: &mut Model) -> provkit::Result<()> {
    let absent = |r: provkit::Result<()>| match r {
        Err(provkit::Error::Store(provkit::store::StoreError::NotFound)) => Ok(()),
        r => r,
    };
    // The model moves first: an error may come after the change is committed (while
    // scrubbing), and then `model` is the state after the operation.
    match op {
        Op::Write(id, v) => {
            model.insert((1, *id), v.clone());
            s.write_record(RecordId(*id), v)?;
        }
        Op::Delete(id) => {
            model.remove(&(1, *id));
            absent(s.delete_record(RecordId(*id)))?;
        }
        Op::Key(id, k) => {
            model.insert((0, *id), k.to_vec());
            s.import_symmetric(KeyId(*id), KeyKind::Aes128, k)?;
        }
        Op::DeleteKey(id) => {
            model.remove(&(0, *id));
            absent(s.delete_key(KeyId(*id)))?;
        }
    }
    Ok(())
}

/// What the store holds of the ids of `ops` (key values are taken from `ops`: a key id
/// is imported once).
fn observed<F: NorFlash>(s: &mut FlashStore<F>, ops: &[Op]) -> Model {
    let mut m = Model::new();
    for op in ops {
        match op {
            Op::Write(id, _) | Op::Delete(id) => {
                let mut buf = [0u8; 256];
                match s.read_record(RecordId(*id), &mut buf) {
                    Ok(n) => {
                        m.insert((1, *id), buf[..n].to_vec());
                    }
                    Err(provkit::Error::Store(provkit::store::StoreError::NotFound)) => {}
                    Err(e) => panic!("record {id} unreadable after power cut: {e:?}"),
                }
            }
            Op::Key(id, k) => match s.key_kind(KeyId(*id)) {
                Ok(KeyKind::Aes128) => {
                    let mut b = [0u8; 16];
                    s.encrypt_block(KeyId(*id), &mut b).unwrap();
                    m.insert((0, *id), k.to_vec());
                }
                Ok(k) => panic!("key {id} has kind {k:?}"),
                Err(provkit::Error::Store(provkit::store::StoreError::NotFound)) => {}
                Err(e) => panic!("key {id} unreadable after power cut: {e:?}"),
            },
            Op::DeleteKey(_) => {}
        }
    }
    m
}

/// The values `ops` write that `live` no longer holds: none may be on the flash.
fn superseded<'a>(ops: &'a [Op], live: &Model) -> Vec<&'a [u8]> {
    let held: HashSet<&[u8]> = live.values().map(Vec::as_slice).collect();
    ops.iter()
        .filter_map(|op| match op {
            Op::Write(_, v) => Some(v.as_slice()),
            Op::Key(_, k) => Some(k.as_slice()),
            _ => None,
        })
        .filter(|v| !held.contains(v))
        .collect()
}

/// Panics if any 8 consecutive bytes of a superseded value are in the raw image.
fn assert_scrubbed(image: &[u8], dead: &[&[u8]], what: &str) {
    let windows: HashSet<&[u8]> = image.windows(8).collect();
    for v in dead {
        if let Some(at) = v.windows(8).position(|w| windows.contains(w)) {
            panic!(
                "{what}: bytes {at}..{} of a superseded value {v:02x?} are on the flash",
                at + 8
            );
        }
    }
}

/// A part of a given program size, with or without multi-write, and how the store mounts it.
trait Part: NorFlash + Sized {
    /// Whether the part may program a word again (mounted with `mount_multiwrite`).
    const MULTI: bool;
    fn blank() -> Self;
    fn mount(self) -> provkit::Result<FlashStore<Self>>;
    fn image(&self) -> &[u8];
    fn cut_power_after(&mut self, units: usize);
    fn tear_power_after(&mut self, units: usize);
    fn restore_power(&mut self);
    fn units_done(&self) -> usize;
}

macro_rules! part {
    ($multi:literal, $mount:ident) => {
        impl<const W: usize> Part for RamFlash<2048, 512, W, $multi> {
            const MULTI: bool = $multi;
            fn blank() -> Self {
                Self::new()
            }
            fn mount(self) -> provkit::Result<FlashStore<Self>> {
                FlashStore::$mount(self)
            }
            fn image(&self) -> &[u8] {
                self.contents()
            }
            fn cut_power_after(&mut self, units: usize) {
                RamFlash::cut_power_after(self, units);
            }
            fn tear_power_after(&mut self, units: usize) {
                RamFlash::tear_power_after(self, units);
            }
            fn restore_power(&mut self) {
                RamFlash::restore_power(self);
            }
            fn units_done(&self) -> usize {
                RamFlash::units_done(self)
            }
        }
    };
}
part!(true, mount_multiwrite);
part!(false, mount);

/// How the power goes in a sweep: between two units, or in the middle of one, leaving it
/// torn (part of its bytes programmed or erased).
#[derive(Clone, Copy, PartialEq)]
enum Cut {
    BetweenUnits,
    Torn,
}

/// Cuts power at every unit written or erased by the workload; after each cut and a
/// remount, every value is the one before the interrupted operation or the one after
/// it, no superseded value is left on the flash, and the store keeps working. Uncut, no
/// superseded value is left after any operation.
fn power_cut_sweep<P: Part>(n: u32, how: Cut) {
    let ops = workload(n);
    // Uncut run: how many units the workload programs and erases.
    let mut s = P::blank().mount().unwrap();
    let mut model = Model::new();
    for (i, op) in ops.iter().enumerate() {
        apply(&mut s, op, &mut model).unwrap();
        let image = s.flash_mut().image().to_vec();
        assert_scrubbed(
            &image,
            &superseded(&ops[..=i], &model),
            &format!("after op {i} ({op:?})"),
        );
    }
    let mut counts = [0u32; 4];
    s.erase_counts(&mut counts).unwrap();
    assert!(
        counts.iter().all(|&c| c >= 2),
        "workload too small to cycle the ring: erase counts {counts:?}"
    );
    let total = s.into_inner().units_done();
    println!("power-cut sweep over {total} unit programs and erases");

    for cut in 0..total {
        let mut flash = P::blank();
        match how {
            Cut::BetweenUnits => flash.cut_power_after(cut),
            Cut::Torn => flash.tear_power_after(cut),
        }
        let mut s = flash.mount().unwrap();
        let mut before = Model::new();
        let mut interrupted = None;
        let mut done = ops.len();
        for (i, op) in ops.iter().enumerate() {
            let mut after = before.clone();
            match apply(&mut s, op, &mut after) {
                Ok(()) => before = after,
                Err(_) => {
                    interrupted = Some((i, after));
                    done = i + 1;
                    break;
                }
            }
        }
        let mut flash = s.into_inner();
        flash.restore_power();
        let mut s = flash
            .mount()
            .unwrap_or_else(|e| panic!("cut {cut}: remount failed: {e:?}"));
        let seen = observed(&mut s, &ops);
        match &interrupted {
            None => assert_eq!(seen, before, "cut {cut}: completed workload changed"),
            Some((i, after)) => assert!(
                seen == before || seen == *after,
                "cut {cut} during op {i} ({:?}): neither old nor new state\nseen   {seen:?}\nbefore {before:?}",
                ops[*i]
            ),
        }
        let image = s.flash_mut().image().to_vec();
        let during = interrupted.as_ref().map(|(i, _)| (i, &ops[*i]));
        assert_scrubbed(
            &image,
            &superseded(&ops[..done], &seen),
            &format!("cut {cut} during {during:?}"),
        );
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

#[test]
fn power_cut_sweep_4_byte_units_multiwrite() {
    power_cut_sweep::<RamFlash<2048, 512, 4, true>>(64, Cut::BetweenUnits);
}

#[test]
fn power_cut_sweep_4_byte_units_single_write() {
    power_cut_sweep::<RamFlash<2048, 512, 4, false>>(48, Cut::BetweenUnits);
}

#[test]
fn power_cut_sweep_16_byte_units_multiwrite() {
    power_cut_sweep::<RamFlash<2048, 512, 16, true>>(48, Cut::BetweenUnits);
}

#[test]
fn power_cut_sweep_16_byte_units_single_write() {
    power_cut_sweep::<RamFlash<2048, 512, 16, false>>(48, Cut::BetweenUnits);
}

#[test]
fn torn_power_cut_sweep_4_byte_units_multiwrite() {
    power_cut_sweep::<RamFlash<2048, 512, 4, true>>(64, Cut::Torn);
}

#[test]
fn torn_power_cut_sweep_32_byte_units_multiwrite() {
    power_cut_sweep::<RamFlash<2048, 512, 32, true>>(48, Cut::Torn);
}

/// Also the regression test for an evacuation (single-write scrub) that opened a page
/// whose reclaim erased the page being evacuated, and then copied an entry from the
/// erased page: a record read back as 0xFF bytes.
#[test]
fn torn_power_cut_sweep_32_byte_units_single_write() {
    power_cut_sweep::<RamFlash<2048, 512, 32, false>>(48, Cut::Torn);
}

/// A page filled to within a few bytes of its end, as the last page of the region: its
/// tail is found without reading past the end of the flash.
#[test]
fn a_last_page_filled_to_its_end_still_reads_and_mounts() {
    let mut s = FlashStore::mount_multiwrite(RamFlash::<2048, 512>::new()).unwrap();
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
    let mut s = FlashStore::mount_multiwrite(s.into_inner()).unwrap();
    assert_eq!(s.read_record(RecordId(1), &mut buf).unwrap(), 220);
    assert_eq!(&buf[..220], &[5; 220]);
    s.write_record(RecordId(2), b"next page").unwrap();
    let mut s = FlashStore::mount_multiwrite(s.into_inner()).unwrap();
    assert_eq!(s.read_record(RecordId(0), &mut buf).unwrap(), 220);
    assert_eq!(&buf[..220], &[4; 220]);
    assert_eq!(s.read_record(RecordId(2), &mut buf).unwrap(), 9);
}

/// The review's attack: run DUKPT transactions with the registers in flash, dump the
/// flash after each, and look for the keys of the transactions already done. Each is
/// the key of a register that was used and wiped (or superseded), so none may be there.
fn dukpt_leaves_no_past_key<F: NorFlash>(
    mut store: FlashStore<F>,
    image: fn(&mut FlashStore<F>) -> Vec<u8>,
) {
    use provkit::dukpt::{AesBdk, AesDevice, InitialKeyId};
    let bdk = AesBdk::from_bytes(&bytes(99, 16)).unwrap();
    let ikid = InitialKeyId::new(*b"FLASHFS1");
    let ik = bdk.initial_key(ikid).unwrap();
    let mut device = AesDevice::load_initial_key(&mut store, RecordId(0x100), &ik).unwrap();
    let mut past: Vec<Vec<u8>> = Vec::new();
    for t in 0..40 {
        let txn = device.next_transaction(&mut store).unwrap();
        let key = txn.dangerous_expose().to_vec();
        assert_eq!(
            key,
            ik.transaction_key(&txn.ksn()).unwrap().dangerous_expose(),
            "transaction {t}"
        );
        past.push(key);
        let dead: Vec<&[u8]> = past.iter().map(Vec::as_slice).collect();
        assert_scrubbed(&image(&mut store), &dead, &format!("after transaction {t}"));
        if t % 8 == 7 {
            // As after a reset.
            device = AesDevice::open(&mut store, RecordId(0x100)).unwrap();
        }
    }
}

#[test]
fn dukpt_on_multiwrite_flash_leaves_no_past_transaction_key() {
    type F = RamFlash<16384, 1024, 8, true>;
    dukpt_leaves_no_past_key(FlashStore::mount_multiwrite(F::new()).unwrap(), |s| {
        s.flash_mut().contents().to_vec()
    });
}

#[test]
fn dukpt_on_single_write_flash_leaves_no_past_transaction_key() {
    type F = RamFlash<16384, 1024, 16, false>;
    dukpt_leaves_no_past_key(FlashStore::mount(F::new()).unwrap(), |s| {
        s.flash_mut().contents().to_vec()
    });
}

/// Every supported program size mounts, keeps values across a remount and scrubs.
#[test]
fn every_program_size_works() {
    fn check<const W: usize>() {
        let mut s = FlashStore::mount_multiwrite(RamFlash::<4096, 512, W, true>::new()).unwrap();
        s.write_record(RecordId(1), &bytes(5, 40)).unwrap();
        s.write_record(RecordId(1), &bytes(6, 40)).unwrap();
        let mut s = FlashStore::mount(s.into_inner()).unwrap();
        s.write_record(RecordId(2), &bytes(7, 33)).unwrap();
        s.write_record(RecordId(2), &bytes(8, 33)).unwrap();
        let mut s = FlashStore::mount_multiwrite(s.into_inner()).unwrap();
        let mut buf = [0u8; 64];
        let n = s.read_record(RecordId(1), &mut buf).unwrap();
        assert_eq!(buf[..n], bytes(6, 40), "write size {W}");
        let n = s.read_record(RecordId(2), &mut buf).unwrap();
        assert_eq!(buf[..n], bytes(8, 33), "write size {W}");
        let old = [bytes(5, 40), bytes(7, 33)];
        let dead: Vec<&[u8]> = old.iter().map(Vec::as_slice).collect();
        assert_scrubbed(s.flash_mut().contents(), &dead, &format!("write size {W}"));
    }
    check::<1>();
    check::<2>();
    check::<4>();
    check::<8>();
    check::<16>();
    check::<32>();
    // 64-byte units are not supported; nor are 3-byte ones.
    assert_eq!(
        FlashStore::mount(RamFlash::<4096, 512, 64, true>::new()).err(),
        Some(provkit::Error::Unsupported)
    );
    assert_eq!(
        FlashStore::mount(RamFlash::<4096, 512, 3, true>::new()).err(),
        Some(provkit::Error::Unsupported)
    );
}

/// A page whose erase a power cut interrupted can lose its header and keep old entries
/// behind it: mount erases such a page, wherever it is in the ring, even when the
/// pages before it are blank.
#[test]
fn mount_erases_a_page_whose_erase_was_cut_short() {
    use embedded_storage::nor_flash::NorFlash as _;
    type F = RamFlash<2048, 512>;
    type Mount = fn(F) -> provkit::Result<FlashStore<F>>;
    let secret = bytes(42, 24);
    let mounts: [Mount; 2] = [FlashStore::mount, FlashStore::mount_multiwrite];
    for mount in mounts {
        // Page 2: no header (erased first), an old entry's bytes still behind it.
        let mut f = F::new();
        f.write(2 * 512 + 96, &secret).unwrap();
        let mut s = mount(f).unwrap();
        assert_scrubbed(s.flash_mut().contents(), &[&secret], "after mount");
        s.write_record(RecordId(1), b"works").unwrap();
    }
}

/// Neither a scrubbed entry nor a write cut right after its entry header (no data behind
/// it) is work for the next mount: it neither programs nor erases (no wear from a
/// harmless cut or from scrubs already done).
#[test]
fn a_cut_after_an_entry_header_costs_the_next_mount_nothing() {
    fn check<P: Part>(header_units: usize) {
        let mut s = P::blank().mount().unwrap();
        s.write_record(RecordId(1), b"first value").unwrap();
        s.write_record(RecordId(1), b"first value, again").unwrap();
        s.write_record(RecordId(2), b"second value").unwrap();
        // Whatever a mount does to a fresh ring (formatting the next page) happens here;
        // the scrubbed first value must not look like work to the mount after it.
        let s = s.into_inner().mount().unwrap();
        let flash = s.into_inner();
        let before = flash.units_done();
        let mut s = flash.mount().unwrap();
        assert_eq!(s.flash_mut().units_done(), before, "a clean mount wrote");

        s.flash_mut().cut_power_after(header_units);
        assert!(s.write_record(RecordId(3), b"never committed").is_err());
        let mut flash = s.into_inner();
        flash.restore_power();
        let before = flash.units_done();
        let mut s = flash.mount().unwrap();
        assert_eq!(
            s.flash_mut().units_done(),
            before,
            "the mount after the cut programmed or erased"
        );
        let mut buf = [0u8; 16];
        assert_eq!(s.read_record(RecordId(2), &mut buf).unwrap(), 12);
        assert!(s.read_record(RecordId(3), &mut buf).is_err());
    }
    check::<RamFlash<2048, 512, 4, true>>(4);
    check::<RamFlash<2048, 512, 4, false>>(4);
    check::<RamFlash<2048, 512, 16, true>>(1);
    check::<RamFlash<2048, 512, 16, false>>(1);
}

/// A power cut while the first word of an entry header is programmed can leave any subset
/// of its bits cleared. Here the length half is partly written (`05 F0`, a length past the
/// page, where `05 00` was meant) and its complement not at all. The unit must be skipped
/// as torn, not taken for the end of the page: the next write goes after it, and both
/// records survive the mounts after. Kills `Entry::is_torn -> false` (`docs/testing.md`):
/// with it, the scan stops at the torn word and the next entry is programmed over it; and
/// `offset + UNIT` -> `offset * UNIT` in `step` (the walk would jump past the next entry).
#[test]
fn a_torn_length_word_is_skipped_not_taken_for_the_end_of_the_page() {
    fn check<P: Part>() {
        let mut s = P::blank().mount().unwrap();
        s.write_record(RecordId(1), b"first").unwrap();
        let mut flash = s.into_inner();
        // Writing begins on page 1: its tail is the first unit after its last programmed
        // byte (an entry ends with its commit word, which has no 0xFF byte).
        let unit = P::WRITE_SIZE.max(4);
        let end = flash.image()[512..1024]
            .iter()
            .rposition(|&b| b != 0xff)
            .unwrap()
            + 1;
        let tail = 512 + end.next_multiple_of(unit);
        let mut torn = vec![0xffu8; unit];
        torn[..2].copy_from_slice(&[0x05, 0xF0]);
        flash.write(tail as u32, &torn).unwrap();

        let mut s = flash.mount().unwrap();
        s.write_record(RecordId(2), b"second").unwrap();
        if P::MULTI {
            // Written in place: the next entry starts one unit after the torn one
            // (`docs/flash-format.md`), its data after its 16-byte header.
            let image = s.flash_mut().image();
            let at = image.windows(6).position(|w| w == b"second").unwrap();
            assert_eq!(at, tail + unit + 16, "write size {unit}");
        }
        let mut s = s.into_inner().mount().unwrap();
        let mut buf = [0u8; 16];
        let n = s.read_record(RecordId(1), &mut buf).unwrap();
        assert_eq!(&buf[..n], b"first");
        let n = s.read_record(RecordId(2), &mut buf).unwrap();
        assert_eq!(&buf[..n], b"second");
    }
    check::<RamFlash<2048, 512, 4, true>>();
    check::<RamFlash<2048, 512, 4, false>>();
    check::<RamFlash<2048, 512, 16, true>>();
    check::<RamFlash<2048, 512, 16, false>>();
}

/// The geometries `mount` refuses, each alone, and the smallest it takes: fewer than two
/// pages, pages under 256 bytes, and pages that are not a whole number of program units.
/// Kills the `||`/`&&` and comparison mutants of `FlashStore::open`'s checks
/// (`docs/testing.md`).
#[test]
fn unsupported_geometries_are_refused_one_by_one() {
    fn refused<F: NorFlash>(flash: F, what: &str) {
        assert_eq!(
            FlashStore::mount(flash).err(),
            Some(provkit::Error::Unsupported),
            "{what}"
        );
    }
    refused(RamFlash::<512, 512>::new(), "one page");
    refused(RamFlash::<1024, 128>::new(), "128-byte pages");
    refused(RamFlash::<1020, 255>::new(), "255-byte pages");
    refused(
        RamFlash::<2080, 260, 8>::new(),
        "pages not a multiple of 8-byte units",
    );
    refused(
        RamFlash::<2176, 272, 32>::new(),
        "pages not a multiple of 32-byte units",
    );
    // Two 256-byte pages: the smallest ring, and it works.
    let mut s = FlashStore::mount(RamFlash::<512, 256>::new()).unwrap();
    s.write_record(RecordId(1), b"smallest").unwrap();
    let mut s = FlashStore::mount(s.into_inner()).unwrap();
    let mut buf = [0u8; 16];
    let n = s.read_record(RecordId(1), &mut buf).unwrap();
    assert_eq!(&buf[..n], b"smallest");
    // 260-byte pages of 4-byte units are fine (260 = 65 units).
    FlashStore::mount(RamFlash::<520, 260>::new()).unwrap();
}

/// The largest record, and two records that fill a page to its last byte, are read back
/// after a remount: the walk's "never written by this store" guard must not take a
/// maximal entry, or one ending exactly at the page's end, for the end of the page. Kills
/// `len > MAX_DATA_LEN` -> `==`/`>=` and `next > page_size` -> `==`/`>=` in `step`.
#[test]
fn maximal_entries_and_a_page_filled_exactly_survive_a_remount() {
    fn check<P: Part>() {
        let mut s = P::blank().mount().unwrap();
        let max = s.max_record_len();
        s.write_record(RecordId(1), &bytes(1, max)).unwrap();
        let mut s = s.into_inner().mount().unwrap();
        let mut buf = vec![0u8; max];
        assert_eq!(s.read_record(RecordId(1), &mut buf).unwrap(), max);
        assert_eq!(buf, bytes(1, max));

        // 512-byte pages: a 16-byte page header, then two entries (a 16-byte header, the
        // data, an 8-byte trailer, each padded to whole units) that end at the page's end.
        let unit = P::WRITE_SIZE;
        let pad = |n: usize| n.next_multiple_of(unit);
        let first = pad(16 + 224) + pad(8);
        let len = 512 - pad(16) - first - pad(8) - 16;
        let mut s = P::blank().mount().unwrap();
        s.write_record(RecordId(2), &bytes(2, 224)).unwrap();
        s.write_record(RecordId(3), &bytes(3, len)).unwrap();
        let mut s = s.into_inner().mount().unwrap();
        for (id, want) in [(2, 224), (3, len)] {
            let n = s.read_record(RecordId(id), &mut buf).unwrap();
            assert_eq!(buf[..n], bytes(id, want), "record {id}");
        }
        // Both in one page, the second ending at its last byte.
        let image = s.flash_mut().image();
        let d2 = image
            .windows(8)
            .position(|w| w == &bytes(2, 224)[..8])
            .unwrap();
        let d3 = image
            .windows(8)
            .position(|w| w == &bytes(3, len)[..8])
            .unwrap();
        assert_eq!(d3, d2 + first, "write size {unit}");
        assert_eq!(
            (d3 - 16 + pad(16 + len) + pad(8)) % 512,
            0,
            "write size {unit}"
        );
    }
    check::<RamFlash<2048, 512, 4, true>>();
    check::<RamFlash<2048, 512, 16, false>>();
}

/// An entry header that this store never writes (a valid length word whose entry runs
/// past the end of the page) at the tail of the last page: the walk stops there, as at
/// the end of the page, instead of reading past the end of the flash, and the store
/// mounts with what it holds. Kills `||` -> `&&` in `step`'s guard.
#[test]
fn a_header_running_past_the_last_page_ends_the_walk() {
    let mut s = FlashStore::mount_multiwrite(RamFlash::<512, 256>::new()).unwrap();
    s.write_record(RecordId(1), b"kept").unwrap();
    let mut flash = s.into_inner();
    // Writing began on page 1, the last one.
    let end = flash.contents()[256..]
        .iter()
        .rposition(|&b| b != 0xff)
        .unwrap()
        + 1;
    let tail = 256 + end.next_multiple_of(4);
    let len: u32 = 200; // tail + 16 + 200 + 8 > 512
    assert!(tail + 16 + 200 + 8 > 512);
    flash
        .write(tail as u32, &(len | (len ^ 0xffff) << 16).to_le_bytes())
        .unwrap();
    let mut s = FlashStore::mount_multiwrite(flash).unwrap();
    let mut buf = [0u8; 8];
    let n = s.read_record(RecordId(1), &mut buf).unwrap();
    assert_eq!(&buf[..n], b"kept");
}

/// Deleting many ids in turn never fills the flash: a deletion that hides no older value
/// (the scrub has destroyed it) is dropped on reclaim, not carried forward for ever.
/// Kills `s.count > 1` -> `s.count == 1` in `must_keep` (every newest deletion kept:
/// `Store(Full)` after about 60 ids on this 2 KiB part).
#[test]
fn deletions_of_many_ids_do_not_fill_the_flash() {
    fn check<P: Part>() {
        let mut s = P::blank().mount().unwrap();
        for i in 0..400 {
            s.write_record(RecordId(i), &bytes(i, 40))
                .unwrap_or_else(|e| panic!("write {i}: {e:?}"));
            s.delete_record(RecordId(i))
                .unwrap_or_else(|e| panic!("delete {i}: {e:?}"));
        }
        let mut s = s.into_inner().mount().unwrap();
        let mut buf = [0u8; 64];
        for i in [0, 1, 199, 399] {
            assert_eq!(
                s.read_record(RecordId(i), &mut buf).unwrap_err(),
                provkit::Error::Store(provkit::store::StoreError::NotFound),
                "record {i}"
            );
        }
        s.write_record(RecordId(7), b"after").unwrap();
    }
    check::<RamFlash<2048, 512, 4, true>>();
    check::<RamFlash<2048, 512, 16, false>>();
}
