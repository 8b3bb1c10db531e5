//! Crash safety: a child process importing a shipment into a SQLite ledger is killed with
//! SIGKILL at 20 random points. After each kill the ledger opens, its audit chain
//! verifies, and the next child resumes the import. At the end every serial is present
//! exactly once, every key unwraps and KCV-checks, and the chain verifies.
//!
//! The binary is its own child: with `PROVKIT_CRASH_CHILD` set it only imports. The seed
//! is printed; set `PROVKIT_CRASH_SEED` to replay a run.

use provkit_ledger::AuditEvent;
use provkit_ledger::suite::{Fixture, RECIPIENT};
use provkit_ledger::{ImportStatus, LedgerBackend, LedgerTx, TxMode};
use provkit_sqlite::{SqliteLedger, SqliteOptions};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

const RECORDS: u64 = 120_000;
const KILLS: usize = 20;
const BATCH: [u8; 16] = *b"crash-test-batch";

fn open(db: &Path) -> provkit_ledger::suite::SuiteLedger<SqliteLedger> {
    Fixture::ledger(
        SqliteLedger::open(db, SqliteOptions::default()).unwrap(),
        2048,
    )
}

fn child(db: &Path, file: &Path) {
    let fx = Fixture::new(0);
    let mut ledger = open(db);
    let input = std::io::BufReader::new(std::fs::File::open(file).unwrap());
    ledger
        .import(RECIPIENT, &fx.manufacturer_pk, input, 1_700_000_000)
        .unwrap();
}

fn spawn(db: &Path, file: &Path) -> std::process::Child {
    Command::new(std::env::current_exe().unwrap())
        .env("PROVKIT_CRASH_CHILD", "1")
        .env("PROVKIT_CRASH_DB", db)
        .env("PROVKIT_CRASH_FILE", file)
        .spawn()
        .unwrap()
}

/// xorshift64*: the kill schedule only needs to be reproducible, not secure.
struct Schedule(u64);
impl Schedule {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn parent() -> Result<(), String> {
    let seed = std::env::var("PROVKIT_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        });
    println!("crash test seed: {seed} (replay with PROVKIT_CRASH_SEED={seed})");
    let dir: PathBuf = std::env::temp_dir().join(format!("provkit-crash-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let file = dir.join("shipment.bin");
    let serials: Vec<u64> = (0..RECORDS).map(|i| 0x00D0_0000_0000 + i).collect();
    std::fs::write(&file, Fixture::new(77).shipment(BATCH, &serials, 256))
        .map_err(|e| e.to_string())?;

    // One uninterrupted child times the import, so that kills land inside it.
    let timing_db = dir.join("timing.db");
    let t = Instant::now();
    let status = spawn(&timing_db, &file).wait().map_err(|e| e.to_string())?;
    let full = t.elapsed();
    if !status.success() {
        return Err("the timing import failed".into());
    }
    println!("an uninterrupted import takes {:.2} s", full.as_secs_f64());

    let db = dir.join("ledger.db");
    let mut schedule = Schedule(seed);
    let mut killed_mid_import = 0;
    let mut last_staged = 0;
    for i in 0..KILLS {
        // Between 5% and 60% of an uninterrupted import: a resumed run re-decrypts the
        // staged chunks and then stages more, so most kills land in staging, some in
        // the promotion, and the import still advances from kill to kill.
        let full_ms = full.as_millis() as u64;
        let ms = full_ms / 20 + schedule.next() % (full_ms * 55 / 100).max(1);
        let mut c = spawn(&db, &file);
        std::thread::sleep(Duration::from_millis(ms));
        let _ = c.kill(); // SIGKILL
        let status = c.wait().map_err(|e| e.to_string())?;
        let mut ledger = open(&db);
        let report = ledger
            .verify_audit(None)
            .map_err(|e| format!("kill {i}: audit chain does not verify: {e}"))?;
        let st = ledger.import_status(&BATCH).map_err(|e| e.to_string())?;
        let (state, staged) = st.as_ref().map_or(("not started", 0), |s| {
            (
                if s.status == ImportStatus::Complete {
                    "complete"
                } else {
                    "staging"
                },
                s.records_staged,
            )
        });
        if staged < last_staged {
            return Err(format!(
                "kill {i}: staging went backwards ({last_staged} -> {staged})"
            ));
        }
        last_staged = staged;
        if !status.success() && state != "complete" {
            killed_mid_import += 1;
        }
        println!(
            "kill {i:2} after {ms:5} ms: {state}, {staged} records staged, audit {} rows verified",
            report.rows
        );
    }
    // Finish the import.
    if !spawn(&db, &file)
        .wait()
        .map_err(|e| e.to_string())?
        .success()
    {
        return Err("final import failed".into());
    }
    let mut ledger = open(&db);
    let report = ledger.verify_audit(None).map_err(|e| e.to_string())?;
    let census = ledger.census().map_err(|e| e.to_string())?;
    if census.total() != RECORDS {
        return Err(format!(
            "{} keys stored (live and staged), expected {RECORDS}",
            census.total()
        ));
    }
    let check = ledger.check_keys().map_err(|e| e.to_string())?;
    if check.checked != RECORDS || !check.bad.is_empty() {
        return Err(format!(
            "key check: {} checked, {} bad",
            check.checked,
            check.bad.len()
        ));
    }
    // Every serial exactly once, in order.
    let mut tx = ledger
        .backend_mut()
        .begin(TxMode::Read)
        .map_err(|e| e.to_string())?;
    let mut after = None;
    let mut expect = serials.iter();
    loop {
        let page = tx.keys_page(after, 10_000).map_err(|e| e.to_string())?;
        let Some(last) = page.last() else { break };
        after = Some(last.serial);
        for row in &page {
            if expect.next() != Some(&row.serial) {
                return Err(format!("unexpected serial {:#x}", row.serial));
            }
        }
    }
    if expect.next().is_some() {
        return Err("serials missing".into());
    }
    let rows = tx.audit_rows(1, 1_000).map_err(|e| e.to_string())?;
    let completed = rows
        .iter()
        .filter(|r| matches!(r.decode(), Some(AuditEvent::ImportCompleted { .. })))
        .count();
    let resumed = rows
        .iter()
        .filter(|r| matches!(r.decode(), Some(AuditEvent::ImportResumed { .. })))
        .count();
    if completed != 1 {
        return Err(format!(
            "{completed} ImportCompleted events, expected exactly 1"
        ));
    }
    println!(
        "{killed_mid_import} of {KILLS} kills interrupted the import; {resumed} resumptions audited; \
         {RECORDS} serials exactly once, all keys KCV-checked; audit chain of {} rows verifies",
        report.rows
    );
    if killed_mid_import == 0 {
        return Err("no kill interrupted the import: the test proved nothing".into());
    }
    drop(tx);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn main() -> ExitCode {
    if std::env::var_os("PROVKIT_CRASH_CHILD").is_some() {
        let db = PathBuf::from(std::env::var_os("PROVKIT_CRASH_DB").unwrap_or_default());
        let file = PathBuf::from(std::env::var_os("PROVKIT_CRASH_FILE").unwrap_or_default());
        child(&db, &file);
        return ExitCode::SUCCESS;
    }
    match parent() {
        Ok(()) => {
            println!("test result: ok. 1 passed; 0 failed");
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("crash test FAILED: {e}");
            println!("test result: FAILED. 0 passed; 1 failed");
            ExitCode::FAILURE
        }
    }
}
