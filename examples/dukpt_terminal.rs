//! A payment terminal and its host, end to end with AES DUKPT.
//!
//! - The host keeps the base derivation key (BDK) in a key store (here a `MemoryStore`
//!   standing in for an HSM) and only ever uses it by handle.
//! - At injection the terminal receives its initial key, derived by handle, and loads it
//!   into its 32 intermediate derivation registers, kept as records in its own store
//!   (its "flash").
//! - Per transaction the terminal advances its counter (committed before the key is
//!   used), encrypts the PIN as an ISO 9564 format 4 PIN block and MACs the request with
//!   AES-CMAC. The host re-derives the keys from the BDK and the KSN alone, decrypts the
//!   PIN, checks the MAC, and MACs its response, which the terminal checks in turn.
//!
//! Prints one line per transaction; exits non-zero on any mismatch.
//!
//! `cargo run --example dukpt_terminal`

use provkit::dukpt::{AesDevice, AesKsn, InitialKeyId, KeyType, initial_key_from_store};
use provkit::rng::OsRng;
use provkit::secret::SecretBuf;
use provkit::store::{KeyId, KeyKind, MemoryStore, RecordId, SymmetricKeys};
use std::process::ExitCode;
use subtle::ConstantTimeEq;

/// The BDK's handle in the host's key store.
const BDK: KeyId = KeyId(1);
/// The ANSI X9.24-3-2017 supplement's AES-128 test BDK, so the output is reproducible.
const TEST_BDK: [u8; 16] = [
    0xFE, 0xDC, 0xBA, 0x98, 0x76, 0x54, 0x32, 0x10, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1, 0xF1,
];

/// What travels from the terminal to the host.
struct Request {
    ksn: [u8; AesKsn::LEN],
    pan: &'static str,
    pin_block: [u8; 16],
    body: &'static [u8],
    mac: [u8; 16],
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

fn main() -> ExitCode {
    match run() {
        Ok(0) => ExitCode::SUCCESS,
        Ok(mismatches) => {
            eprintln!("{mismatches} mismatch(es)");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> provkit::Result<usize> {
    // Randomness for the PIN block fill: the OS RNG here; a terminal passes its TRNG.
    let mut rng = OsRng;

    // Host side: the BDK lives in the key store and is used by handle only.
    let mut hsm = MemoryStore::<2, 0, 64>::new();
    hsm.import_symmetric(BDK, KeyKind::Aes128, &TEST_BDK)?;

    // Key injection: derive this terminal's initial key and load it into its registers.
    let ikid = InitialKeyId::from_parts([0x12, 0x34, 0x56, 0x78], [0x90, 0x12, 0x34, 0x56]);
    let mut flash = MemoryStore::<0, { AesDevice::RECORDS as usize }, 64>::new();
    {
        let ik = initial_key_from_store(&mut hsm, BDK, ikid)?;
        AesDevice::load_initial_key(&mut flash, RecordId(0), &ik)?;
    } // The injected key is zeroized here; the terminal keeps only its registers.

    let sales: [(&str, &[u8], &[u8]); 5] = [
        ("4111111111111111", b"1234", b"SALE;AMOUNT=12.50;CUR=EUR"),
        ("5500000000000004", b"987654", b"SALE;AMOUNT=3.20;CUR=EUR"),
        ("340000000000009", b"0000", b"REFUND;AMOUNT=7.00;CUR=EUR"),
        (
            "6011000000000004",
            b"24681357",
            b"SALE;AMOUNT=120.00;CUR=EUR",
        ),
        ("4111111111111111", b"1234", b"SALE;AMOUNT=0.99;CUR=EUR"),
    ];

    println!(
        "{:<3} {:<24} {:<32} {:<16} {:>4} {:>4} {:>5}",
        "#", "KSN", "PIN block", "CMAC (left 8)", "PIN", "MAC", "reply"
    );
    let mut mismatches = 0;
    for (i, (pan, pin, body)) in sales.into_iter().enumerate() {
        // --- Terminal: after a reset it re-opens its state from flash every time.
        let mut terminal = AesDevice::open(&mut flash, RecordId(0))?;
        let txn = terminal.next_transaction(&mut flash)?;
        let request = Request {
            ksn: txn.ksn().to_bytes(),
            pan,
            pin_block: txn.encrypt_pin_block(KeyType::Aes128, pin, pan.as_bytes(), &mut rng)?,
            body,
            mac: txn.request_cmac(KeyType::Aes128, body)?,
        };

        // --- Host: everything from the BDK handle and the KSN on the wire.
        let ksn = AesKsn::parse(&request.ksn)?;
        let ik = initial_key_from_store(&mut hsm, BDK, ksn.initial_key_id())?;
        let host = ik.transaction_key(&ksn)?;
        let pin_ok = match host.decrypt_pin_block(
            KeyType::Aes128,
            &request.pin_block,
            request.pan.as_bytes(),
        ) {
            Ok(got) => bool::from(got.ct_eq(&SecretBuf::from_slice(pin)?)),
            Err(_) => false,
        };
        let mac_ok = host
            .verify_request_cmac(KeyType::Aes128, request.body, &request.mac)
            .is_ok();
        let tampered_rejected = host
            .verify_request_cmac(
                KeyType::Aes128,
                b"SALE;AMOUNT=9999.00;CUR=EUR",
                &request.mac,
            )
            .is_err();
        let reply: &[u8] = b"APPROVED";
        let reply_mac = host.response_cmac(KeyType::Aes128, reply)?;

        // --- Terminal checks the host's reply with the same transaction's keys.
        let reply_ok = txn
            .verify_response_cmac(KeyType::Aes128, reply, &reply_mac)
            .is_ok();

        let ok = |b: bool| if b { "ok" } else { "FAIL" };
        println!(
            "{:<3} {:<24} {:<32} {:<16} {:>4} {:>4} {:>5}",
            i + 1,
            hex(&request.ksn),
            hex(&request.pin_block),
            hex(&request.mac[..8]),
            ok(pin_ok),
            ok(mac_ok && tampered_rejected),
            ok(reply_ok),
        );
        mismatches += [pin_ok, mac_ok, tampered_rejected, reply_ok]
            .iter()
            .filter(|b| !**b)
            .count();
    }

    let next = AesDevice::open(&mut flash, RecordId(0))?.next_ksn(&mut flash)?;
    println!(
        "terminal's next KSN: {}",
        next.map_or_else(|| "exhausted".to_owned(), |k| k.to_string())
    );
    Ok(mismatches)
}
