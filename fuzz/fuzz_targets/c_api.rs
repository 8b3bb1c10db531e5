//! The C API (crates/provkit-c) on arbitrary input, through its `extern "C"` functions as a
//! C caller would use them: every call returns a status (never a crash or a sanitizer
//! report), and nothing garbage yields a session, a verified chain or a transaction.
//!
//! The first byte picks what the rest is: certificates for chain verification and parsing,
//! message 2 or 3 for a handshake started from the committed transcript, or the image of
//! the NOR flash a store is mounted on (a dump an attacker wrote), then read and used for
//! DUKPT. Buffer capacities come from the input too, so short buffers are exercised.
#![no_main]

use core::ffi::c_void;
use libfuzzer_sys::fuzz_target;
use provkit_c::cert::{provkit_ca_info, provkit_device_info};
use provkit_c::dukpt::provkit_dukpt_transaction;
use provkit_c::handshake::{provkit_handshake, provkit_peer_policy, provkit_session};
use provkit_c::provkit_status::{self, PROVKIT_OK};
use provkit_c::rng::provkit_rng;
use provkit_c::store::{provkit_flash_driver, provkit_store};
use provkit_c::{cert, dukpt, handshake, store};
use std::sync::OnceLock;

const TRANSCRIPTS: &str = include_str!("../../tests/data/handshake/transcripts.json");
const CHAIN: [&[u8]; 3] = [
    include_bytes!("../../tests/data/cert/root.compact"),
    include_bytes!("../../tests/data/cert/intermediate.compact"),
    include_bytes!("../../tests/data/cert/device.compact"),
];
const FLASH_LEN: usize = 4096;
const SECTOR: u32 = 1024;

/// The first committed transcript's inputs.
struct Vector {
    root: Vec<u8>,
    initiator_cert: Vec<u8>,
    responder_cert: Vec<u8>,
    initiator_scalar: Vec<u8>,
    responder_scalar: Vec<u8>,
    message_1: Vec<u8>,
    now: u64,
}

fn hex_field(json: &str, name: &str) -> Vec<u8> {
    let key = format!("\"{name}\": \"");
    let start = json.find(&key).expect("field") + key.len();
    let hex = &json[start..start + json[start..].find('"').expect("quote")];
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

fn vector() -> &'static Vector {
    static V: OnceLock<Vector> = OnceLock::new();
    V.get_or_init(|| {
        let first = &TRANSCRIPTS[..TRANSCRIPTS.find("ByReference").unwrap_or(TRANSCRIPTS.len())];
        let key = "\"now\": ";
        let s = first.find(key).expect("now") + key.len();
        Vector {
            root: hex_field(first, "root_certificate_compact"),
            initiator_cert: hex_field(first, "initiator_compact_certificate"),
            responder_cert: hex_field(first, "responder_compact_certificate"),
            initiator_scalar: hex_field(first, "initiator_private_scalar"),
            responder_scalar: hex_field(first, "responder_private_scalar"),
            message_1: hex_field(first, "message_1"),
            now: first[s..s + first[s..].find(',').expect("comma")]
                .parse()
                .expect("now"),
        }
    })
}

/// A counter as the RNG: the fuzzer explores inputs, not randomness.
unsafe extern "C" fn counter_fill(ctx: *mut c_void, buf: *mut u8, len: usize) -> i32 {
    let n = unsafe { &mut *ctx.cast::<u8>() };
    for i in 0..len {
        *n = n.wrapping_add(1);
        unsafe { *buf.add(i) = *n | 1 };
    }
    0
}

/// RAM flash for a flash store: bits only go 1 → 0 when programmed.
struct Ram {
    bytes: [u8; FLASH_LEN],
}

unsafe extern "C" fn ram_read(ctx: *mut c_void, offset: u32, buf: *mut u8, len: usize) -> i32 {
    let ram = unsafe { &*ctx.cast::<Ram>() };
    let src = &ram.bytes[offset as usize..offset as usize + len];
    unsafe { core::ptr::copy_nonoverlapping(src.as_ptr(), buf, len) };
    0
}

unsafe extern "C" fn ram_program(
    ctx: *mut c_void,
    offset: u32,
    data: *const u8,
    len: usize,
) -> i32 {
    let ram = unsafe { &mut *ctx.cast::<Ram>() };
    let data = unsafe { core::slice::from_raw_parts(data, len) };
    for (b, d) in ram.bytes[offset as usize..offset as usize + len]
        .iter_mut()
        .zip(data)
    {
        *b &= d;
    }
    0
}

unsafe extern "C" fn ram_erase(ctx: *mut c_void, offset: u32, len: u32) -> i32 {
    let ram = unsafe { &mut *ctx.cast::<Ram>() };
    ram.bytes[offset as usize..(offset + len) as usize].fill(0xff);
    0
}

fn driver(ram: &mut Ram, multiwrite: bool) -> provkit_flash_driver {
    provkit_flash_driver {
        ctx: (ram as *mut Ram).cast(),
        read: Some(ram_read),
        program: Some(ram_program),
        erase: Some(ram_erase),
        capacity: FLASH_LEN as u32,
        sector_size: SECTOR,
        write_size: 4,
        multiwrite,
    }
}

/// Zeroed, as the header asks of a state before its first use.
fn zeroed<T>() -> Box<T> {
    // SAFETY: provkit's states are byte arrays: all-zero is a valid (empty) state.
    unsafe { Box::new(core::mem::zeroed()) }
}

fn ok(status: provkit_status) -> bool {
    status == PROVKIT_OK
}

fn policy(v: &Vector) -> provkit_peer_policy {
    provkit_peer_policy {
        root: v.root.as_ptr(),
        root_len: v.root.len(),
        intermediate: core::ptr::null(),
        intermediate_len: 0,
        now: v.now,
        revoked: core::ptr::null(),
        revoked_len: 0,
    }
}

/// A store on fresh RAM flash holding `scalar` as key 1.
fn store_with(ram: &mut Ram, scalar: &[u8]) -> Box<provkit_store> {
    let mut s = zeroed::<provkit_store>();
    let d = driver(ram, false);
    unsafe {
        assert!(ok(store::provkit_store_mount_flash(&mut *s, &d)));
        assert!(ok(store::provkit_store_import_p256(
            &mut *s,
            1,
            scalar.as_ptr(),
            scalar.len(),
            core::ptr::null_mut(),
            0
        )));
    }
    s
}

/// One device for a handshake: its flash (the store keeps a pointer to it, so it is boxed
/// and outlives the store), its store with key 1, a handshake and a session state, and the
/// counter its RNG draws from.
struct Side {
    store: Box<provkit_store>,
    hs: Box<provkit_handshake>,
    session: Box<provkit_session>,
    rng: Box<Counter>,
    _ram: Box<Ram>,
}

struct Counter(u8);

impl Counter {
    fn as_rng(&mut self) -> provkit_rng {
        provkit_rng {
            fill: Some(counter_fill),
            ctx: (&mut self.0 as *mut u8).cast(),
        }
    }
}

impl Side {
    fn new(scalar: &[u8]) -> Self {
        let mut ram = Box::new(Ram {
            bytes: [0xff; FLASH_LEN],
        });
        Self {
            store: store_with(&mut ram, scalar),
            hs: zeroed(),
            session: zeroed(),
            rng: Box::new(Counter(0)),
            _ram: ram,
        }
    }
}

fn chain(data: &[u8]) {
    // Each of root, intermediate, device replaced by a slice of the input when its
    // length byte is non-zero.
    let (lens, rest) = data.split_at(data.len().min(3));
    let mut parts: Vec<&[u8]> = CHAIN.to_vec();
    let mut at = 0;
    for (i, &l) in lens.iter().enumerate() {
        if l != 0 {
            let end = (at + l as usize).min(rest.len());
            parts[i] = &rest[at..end];
            at = end;
        }
    }
    let mut info = provkit_device_info {
        serial: 0,
        not_before: 0,
        public_key: [0; 65],
        issuer_key_id: [0; 4],
        key_agreement: false,
        server_auth: false,
    };
    let verified = unsafe {
        cert::provkit_cert_verify_chain(
            parts[0].as_ptr(),
            parts[0].len(),
            parts[1].as_ptr(),
            parts[1].len(),
            parts[2].as_ptr(),
            parts[2].len(),
            1_760_000_000,
            &mut info,
        )
    };
    if ok(verified) {
        // Only the committed chain (or the device certificate unchanged) verifies.
        assert_eq!(parts[2], CHAIN[2]);
    }
    let mut ca = provkit_ca_info {
        public_key: [0; 65],
        short_key_id: [0; 4],
    };
    unsafe {
        let _ = cert::provkit_cert_parse(rest.as_ptr(), rest.len(), &mut info);
        let _ = cert::provkit_ca_parse(rest.as_ptr(), rest.len(), &mut ca);
    }
}

fn initiator(data: &[u8]) {
    let v = vector();
    let (cap, msg2) = data.split_first().unwrap_or((&0, &[]));
    let mut side = Side::new(&v.initiator_scalar);
    let (st, hs, session) = (&mut side.store, &mut side.hs, &mut side.session);
    let rng = side.rng.as_rng();
    let mut m1 = [0u8; 64];
    let mut m3 = vec![0u8; usize::from(*cap)];
    let (mut m1_len, mut m3_len) = (0, 0);
    let p = policy(v);
    unsafe {
        assert!(ok(handshake::provkit_initiator_start(
            &mut **hs,
            1,
            v.initiator_cert.as_ptr(),
            v.initiator_cert.len(),
            handshake::PROVKIT_CREDENTIAL_BY_VALUE,
            &rng,
            m1.as_mut_ptr(),
            m1.len(),
            &mut m1_len
        )));
        let m3_cap = m3.len();
        // Message 2 with the responder's certificate known (`known`) or not (empty).
        let mut finish = |known: &[u8], m3_len: &mut usize| {
            handshake::provkit_initiator_finish(
                &mut **hs,
                &mut **st,
                &p,
                known.as_ptr(),
                known.len(),
                msg2.as_ptr(),
                msg2.len(),
                m3.as_mut_ptr(),
                m3_cap,
                m3_len,
                &mut **session,
                core::ptr::null_mut(),
            )
        };
        let finished = finish(&v.responder_cert, &mut m3_len);
        // Message 2 must be encrypted under this handshake's fresh keys: garbage never is.
        assert!(!ok(finished), "a fuzzed message 2 finished a handshake");
        // A message-3 buffer too short for this side's message 3 is refused before the
        // handshake is consumed (the caller may retry); any other failure consumes it.
        let intact = finished == provkit_status::PROVKIT_ERR_BUFFER_TOO_SMALL && m3_len > m3_cap;
        // So a second finish is refused again the same way, or is a state error.
        assert_eq!(
            finish(&[], &mut m3_len),
            if intact {
                provkit_status::PROVKIT_ERR_BUFFER_TOO_SMALL
            } else {
                provkit_status::PROVKIT_ERR_WRONG_STATE
            }
        );
        store::provkit_store_release(&mut **st);
    }
}

fn responder(data: &[u8]) {
    let v = vector();
    let (which, rest) = data.split_first().unwrap_or((&0, &[]));
    let mut side = Side::new(&v.responder_scalar);
    let (st, hs, session) = (&mut side.store, &mut side.hs, &mut side.session);
    let rng = side.rng.as_rng();
    // Odd: the input is message 1; even: a valid message 1, then the input as message 3.
    let msg1: &[u8] = if which & 1 == 1 { rest } else { &v.message_1 };
    let mut m2 = [0u8; 256];
    let mut m2_len = 0;
    let p = policy(v);
    unsafe {
        let responded = handshake::provkit_responder_respond(
            &mut **hs,
            &mut **st,
            1,
            v.responder_cert.as_ptr(),
            v.responder_cert.len(),
            handshake::PROVKIT_CREDENTIAL_BY_VALUE,
            &rng,
            msg1.as_ptr(),
            msg1.len(),
            m2.as_mut_ptr(),
            m2.len(),
            &mut m2_len,
        );
        if which & 1 == 0 {
            assert!(ok(responded));
            let finished = handshake::provkit_responder_finish(
                &mut **hs,
                &p,
                core::ptr::null(),
                0,
                rest.as_ptr(),
                rest.len(),
                &mut **session,
                core::ptr::null_mut(),
            );
            assert!(!ok(finished), "a fuzzed message 3 finished a handshake");
        }
        handshake::provkit_handshake_reset(&mut **hs);
        store::provkit_store_release(&mut **st);
    }
}

fn flash_image(data: &[u8]) {
    let (flags, image) = data.split_first().unwrap_or((&0, &[]));
    let mut ram = Box::new(Ram {
        bytes: [0xff; FLASH_LEN],
    });
    let n = image.len().min(FLASH_LEN);
    ram.bytes[..n].copy_from_slice(&image[..n]);
    let d = driver(&mut ram, flags & 1 == 1);
    let mut st = zeroed::<provkit_store>();
    let mut txn = zeroed::<provkit_dukpt_transaction>();
    let mut buf = [0u8; 300];
    let mut len = 0usize;
    let mut ksn = [0u8; 12];
    unsafe {
        if !ok(store::provkit_store_mount_flash(&mut *st, &d)) {
            return;
        }
        for id in [1u32, 2, 0x100, 0x101] {
            let _ = store::provkit_store_read_record(
                &mut *st,
                id,
                buf.as_mut_ptr(),
                buf.len(),
                &mut len,
            );
            assert!(len <= buf.len());
        }
        let mut pk = [0u8; 65];
        let _ = store::provkit_store_public_key(&mut *st, 1, pk.as_mut_ptr(), pk.len());
        // A DUKPT device read from the image: refused, or a transaction from it.
        let _ = dukpt::provkit_dukpt_next_transaction(
            &mut *st,
            0x100,
            &mut *txn,
            ksn.as_mut_ptr(),
            ksn.len(),
        );
        dukpt::provkit_dukpt_transaction_reset(&mut *txn);
        // The store still takes writes (or reports why not) on whatever it mounted.
        let _ = store::provkit_store_write_record(&mut *st, 7, b"after".as_ptr(), 5);
        store::provkit_store_release(&mut *st);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&what, rest)) = data.split_first() else {
        return;
    };
    match what % 4 {
        0 => chain(rest),
        1 => initiator(rest),
        2 => responder(rest),
        _ => flash_image(rest),
    }
});
