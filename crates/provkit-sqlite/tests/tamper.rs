//! Tampering with the audit log in the SQLite file is detected: an edit of each column,
//! a deleted row, swapped rows, a deleted tail, and a recomputed history (with an anchor).

use provkit_ledger::audit::{ChainBreakKind, chain_hash};
use provkit_ledger::suite::{Fixture, RECIPIENT};
use provkit_ledger::{ChainHead, LedgerError};
use provkit_sqlite::{SqliteLedger, SqliteOptions};
use std::path::{Path, PathBuf};

fn dir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("provkit-tamper-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A ledger with 3 import rows and 8 issuance rows (11 audit rows; row 5 issues serial 3); returns its anchor (head).
fn build(path: &Path) -> ChainHead {
    let mut fx = Fixture::new(40);
    let backend = SqliteLedger::open(path, SqliteOptions::default()).unwrap();
    let mut ledger = Fixture::ledger(backend, 1000);
    let file = fx.shipment(*b"tamper-batch-001", &[1, 2, 3, 4, 5, 6], 4);
    ledger
        .import(RECIPIENT, &fx.manufacturer_pk, file.as_slice(), 1)
        .unwrap();
    for s in [1, 2, 3, 1, 4, 5, 2, 6] {
        let _ = ledger.issue(s, 10 + s);
    }
    let _ = ledger.import(RECIPIENT, &fx.manufacturer_pk, file.as_slice(), 30);
    ledger.verify_audit(None).unwrap().head
}

fn copy(src: &Path, name: &str) -> SqliteLedger {
    let dst = dir().join(format!("{name}.db"));
    let _ = std::fs::remove_file(&dst);
    let conn = rusqlite::Connection::open(src).unwrap();
    conn.execute("VACUUM INTO ?1", [dst.to_str().unwrap()])
        .unwrap();
    let mut l = SqliteLedger::open(&dst, SqliteOptions::default()).unwrap();
    // The attacker has the file: the append-only triggers are no obstacle.
    l.connection()
        .execute_batch("DROP TRIGGER ledger_audit_no_update; DROP TRIGGER ledger_audit_no_delete;")
        .unwrap();
    l
}

fn verdict(backend: SqliteLedger, anchor: Option<ChainHead>) -> (u64, ChainBreakKind) {
    let mut ledger = Fixture::ledger(backend, 1000);
    match ledger.verify_audit(anchor) {
        Err(LedgerError::ChainBroken(b)) => (b.seq, b.kind),
        other => panic!("tampering not detected: {other:?}"),
    }
}

fn tampered(src: &Path, name: &str, sql: &str, anchor: Option<ChainHead>) -> (u64, ChainBreakKind) {
    let mut l = copy(src, name);
    l.connection().execute_batch(sql).unwrap();
    verdict(l, anchor)
}

#[test]
fn every_kind_of_tampering_is_detected() {
    let src = dir().join("source.db");
    let _ = std::fs::remove_file(&src);
    let head = build(&src);
    assert_eq!(head.seq, 11);
    use ChainBreakKind::*;

    // The triggers refuse edits through SQL on an untouched file.
    let mut clean = SqliteLedger::open(&src, SqliteOptions::default()).unwrap();
    assert!(
        clean
            .connection()
            .execute("UPDATE ledger_audit SET ts = 0 WHERE seq = 1", [])
            .is_err()
    );
    assert!(
        clean
            .connection()
            .execute("DELETE FROM ledger_audit WHERE seq = 1", [])
            .is_err()
    );
    drop(clean);

    // Row 5 is an issuance (it has a serial). Each column edited:
    let cases: &[(&str, &str, (u64, ChainBreakKind))] = &[
        (
            "ts",
            "UPDATE ledger_audit SET ts = ts + 1 WHERE seq = 5",
            (5, Edited),
        ),
        (
            "kind",
            "UPDATE ledger_audit SET kind = 9 WHERE seq = 5",
            (5, Edited),
        ),
        (
            "serial",
            "UPDATE ledger_audit SET serial = serial + 1 WHERE seq = 5",
            (5, Edited),
        ),
        (
            "serial-null",
            "UPDATE ledger_audit SET serial = NULL WHERE seq = 5",
            (5, Edited),
        ),
        (
            "event",
            "UPDATE ledger_audit SET event = substr(event, 1, 8) || X'FF' || substr(event, 10) WHERE seq = 5",
            (5, Edited),
        ),
        (
            "hash",
            "UPDATE ledger_audit SET hash = zeroblob(32) WHERE seq = 5",
            (5, Edited),
        ),
        (
            "hash-len",
            "UPDATE ledger_audit SET hash = X'00' WHERE seq = 5",
            (5, Edited),
        ),
        (
            "seq",
            "UPDATE ledger_audit SET seq = 100 WHERE seq = 5",
            (5, Missing),
        ),
        (
            "delete",
            "DELETE FROM ledger_audit WHERE seq = 5",
            (5, Missing),
        ),
        (
            "swap",
            "UPDATE ledger_audit SET seq = -1 WHERE seq = 4; UPDATE ledger_audit SET seq = 4 WHERE seq = 5; \
             UPDATE ledger_audit SET seq = 5 WHERE seq = -1;",
            (4, Edited),
        ),
        (
            "tail",
            "DELETE FROM ledger_audit WHERE seq = 11",
            (11, Truncated),
        ),
        (
            "head",
            "UPDATE ledger_audit_head SET seq = 10",
            (10, HeadMismatch),
        ),
    ];
    for (name, sql, want) in cases {
        assert_eq!(tampered(&src, name, sql, None), *want, "case {name}");
    }

    // A tail deleted together with a rewritten head: only an anchor shows it.
    let mut l = copy(&src, "tail-and-head");
    let (seq10, hash10): (i64, Vec<u8>) = l
        .connection()
        .query_row(
            "SELECT seq, hash FROM ledger_audit WHERE seq = 10",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    l.connection()
        .execute("DELETE FROM ledger_audit WHERE seq = 11", [])
        .unwrap();
    l.connection()
        .execute(
            "UPDATE ledger_audit_head SET seq = ?1, hash = ?2",
            rusqlite::params![seq10, hash10],
        )
        .unwrap();
    assert_eq!(verdict(l, Some(head)), (11, Truncated));

    // A whole history recomputed after an edit of row 3: consistent in itself, but not
    // with the anchor exported before.
    let mut l = copy(&src, "rewrite");
    type Row = (i64, i64, Vec<u8>);
    let rows: Vec<Row> = {
        let c = l.connection();
        let mut st = c
            .prepare("SELECT seq, ts, event FROM ledger_audit ORDER BY seq")
            .unwrap();
        st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    let mut prev = [0u8; 32];
    for (seq, ts, event) in &rows {
        let ts = if *seq == 3 { *ts + 100 } else { *ts };
        let h = chain_hash(&prev, *seq as u64, ts as u64, event);
        l.connection()
            .execute(
                "UPDATE ledger_audit SET ts = ?2, hash = ?3 WHERE seq = ?1",
                rusqlite::params![seq, ts, h.as_slice()],
            )
            .unwrap();
        l.connection()
            .execute(
                "UPDATE ledger_audit_head SET seq = ?1, hash = ?2",
                rusqlite::params![seq, h.as_slice()],
            )
            .unwrap();
        prev = h;
    }
    let mut ledger = Fixture::ledger(l, 1000);
    assert!(
        ledger.verify_audit(None).is_ok(),
        "a recomputed chain is self-consistent"
    );
    assert_eq!(
        verdict(ledger.into_parts().0, Some(head)),
        (11, AnchorMismatch)
    );
}

/// A column edited to another storage class (text, real, blob where an integer belongs)
/// has no faithful `u64` reading: every value is a real serial or time, so none can stand
/// in for it. Such a row is reported edited, even when the event is about serial 2⁶⁴−1
/// at time 2⁶⁴−1 (the values a placeholder of −1 / `u64::MAX` would have matched).
#[test]
fn a_column_of_the_wrong_type_is_an_edit() {
    let src = dir().join("types.db");
    let _ = std::fs::remove_file(&src);
    {
        let backend = SqliteLedger::open(&src, SqliteOptions::default()).unwrap();
        let mut ledger = Fixture::ledger(backend, 1000);
        // Row 1: IssueRefused { serial: 2⁶⁴−1, unknown serial } at time 2⁶⁴−1.
        assert_eq!(
            ledger.issue(u64::MAX, u64::MAX),
            Err(LedgerError::UnknownSerial(u64::MAX))
        );
        // Row 2: the same about serial 2⁶³ at time 2⁶³.
        let _ = ledger.issue(1 << 63, 1 << 63);
        assert_eq!(ledger.verify_audit(None).unwrap().rows, 2);
    }
    use ChainBreakKind::Edited;
    let cases: &[(&str, &str, (u64, ChainBreakKind))] = &[
        (
            "serial-text",
            "UPDATE ledger_audit SET serial = 'x' WHERE seq = 1",
            (1, Edited),
        ),
        (
            "serial-real",
            "UPDATE ledger_audit SET serial = -1.5 WHERE seq = 1",
            (1, Edited),
        ),
        (
            "serial-blob",
            "UPDATE ledger_audit SET serial = X'FFFFFFFFFFFFFFFF' WHERE seq = 1",
            (1, Edited),
        ),
        (
            "ts-text",
            "UPDATE ledger_audit SET ts = 'x' WHERE seq = 1",
            (1, Edited),
        ),
        (
            "ts-blob",
            "UPDATE ledger_audit SET ts = X'00' WHERE seq = 1",
            (1, Edited),
        ),
        (
            "kind-text",
            "UPDATE ledger_audit SET kind = '9' || 'x' WHERE seq = 2",
            (2, Edited),
        ),
        (
            "serial-text-2^63",
            "UPDATE ledger_audit SET serial = 'x' WHERE seq = 2",
            (2, Edited),
        ),
        (
            "event-text",
            "UPDATE ledger_audit SET event = 'x' WHERE seq = 2",
            (2, Edited),
        ),
        (
            "hash-text",
            "UPDATE ledger_audit SET hash = 'x' WHERE seq = 2",
            (2, Edited),
        ),
    ];
    for (name, sql, want) in cases {
        assert_eq!(tampered(&src, name, sql, None), *want, "case {name}");
    }
}
