//! The issuance ledger on PostgreSQL: provkit-ledger's backend conformance suite, 8
//! connections issuing the same 100,000 serials at once, and tamper detection on the
//! audit table.

use provkit_ledger::audit::ChainBreakKind;
use provkit_ledger::suite::{self, Fixture, RECIPIENT};
use provkit_ledger::{LedgerBackend, LedgerError, LedgerTx, TxMode};
use provkit_postgres::PgLedger;
use provkit_postgres::cluster::TestSchema;
use std::time::Instant;

fn open(schema: &TestSchema) -> PgLedger {
    PgLedger::connect(schema.url(), schema.name()).unwrap()
}

/// Runs one part of the suite on a backend in a fresh schema.
fn on_fresh(name: &str, part: fn(PgLedger)) {
    let schema = TestSchema::new(name);
    part(open(&schema));
}

#[test]
fn suite_import_and_idempotency() {
    on_fresh("suite_import", suite::import_and_idempotency);
}

#[test]
fn suite_conflicts() {
    on_fresh("suite_conflicts", suite::conflicts);
}

#[test]
fn suite_resume() {
    on_fresh("suite_resume", suite::resume);
}

#[test]
fn suite_rejected_shipments() {
    on_fresh("suite_rejected", suite::rejected_shipments);
}

#[test]
fn suite_issuance() {
    on_fresh("suite_issuance", suite::issuance);
}

#[test]
fn suite_rotation() {
    on_fresh("suite_rotation", suite::rotation);
}

#[test]
fn suite_stale_directory_import() {
    on_fresh("suite_stale", suite::stale_directory_import);
}

#[test]
fn suite_audit_verification() {
    on_fresh("suite_audit", suite::audit_verification);
}

#[test]
fn suite_cursor_must_advance() {
    on_fresh("suite_cursor", suite::cursor_must_advance);
}

/// Two connections: one raises the minimum decryption version while the other, with a
/// stale KEK directory, is importing.
#[test]
fn suite_minimum_raised_during_import() {
    let schema = TestSchema::new("suite_raised");
    suite::minimum_raised_during_import(&|| open(&schema));
}

/// Serials 0, 1, 2⁶³−1, 2⁶³, 2⁶⁴−1 and random ones through every ledger operation,
/// each case in a fresh schema.
#[test]
fn suite_serial_edges() {
    let mut schemas = Vec::new();
    suite::serial_edges(|| {
        let schema = TestSchema::new("suite_edges");
        let backend = open(&schema);
        schemas.push(schema);
        backend
    });
}

/// `suite::all` itself, so that parts added to the suite later run here too.
#[test]
fn suite_all() {
    let mut schemas = Vec::new();
    suite::all(|| {
        let schema = TestSchema::new("ledger_suite");
        let backend = open(&schema);
        schemas.push(schema);
        backend
    });
}

/// 8 client connections (threads, each its own connection) issue the same 100,000
/// serials at once, in batches of 1,000, half of them walking the serials backwards:
/// every serial is issued exactly once, no key twice, one refusal audited per losing
/// attempt (700,000), and the audit chain verifies. The database enforces it: the
/// conditional `UPDATE … WHERE issued_at IS NULL` and the head row locked `FOR UPDATE`.
#[test]
fn eight_connections_issue_100k_serials_exactly_once() {
    let serials: u64 = std::env::var("PROVKIT_PG_CONCURRENT_SERIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let schema = TestSchema::new("concurrent");
    let start = Instant::now();
    suite::concurrent_issuance(&|| open(&schema), 8, serials, 1_000);
    let elapsed = start.elapsed();
    eprintln!(
        "8 connections x {serials} serials: {:.1} s ({:.0} attempts/s, import included)",
        elapsed.as_secs_f64(),
        (8 * serials) as f64 / elapsed.as_secs_f64()
    );
    // The database agrees with the suite's count.
    let mut client = schema.client();
    let row = client
        .query_one(
            "SELECT count(*), count(issued_at), count(DISTINCT fingerprint) FROM ledger_keys",
            &[],
        )
        .unwrap();
    let (rows, issued, distinct): (i64, i64, i64) = (row.get(0), row.get(1), row.get(2));
    assert_eq!(
        (rows, issued, distinct),
        (serials as i64, serials as i64, serials as i64)
    );
}

/// A ledger with a few imports and issuances, and its audit row count.
fn populated(schema: &TestSchema) -> (suite::SuiteLedger<PgLedger>, u64) {
    let mut fx = Fixture::new(30);
    let mut ledger = Fixture::ledger(open(schema), 100);
    let file = fx.shipment(*b"tamper-batch-001", &[10, 11, 12, 13, 14], 2);
    ledger
        .import(RECIPIENT, &fx.manufacturer_pk, file.as_slice(), 1_000)
        .unwrap();
    for (i, s) in [10u64, 11, 12, 10, 99].into_iter().enumerate() {
        let _ = ledger.issue(s, 2_000 + i as u64);
    }
    let rows = ledger.verify_audit(None).unwrap().rows;
    assert!(
        rows >= 7,
        "import and five issue attempts audited ({rows} rows)"
    );
    (ledger, rows)
}

fn broken(ledger: &mut suite::SuiteLedger<PgLedger>) -> (u64, ChainBreakKind) {
    match ledger.verify_audit(None) {
        Err(LedgerError::ChainBroken(b)) => (b.seq, b.kind),
        other => panic!("tampering not detected: {other:?}"),
    }
}

/// The audit table refuses UPDATE, DELETE and TRUNCATE outright; and when its owner
/// disables that trigger, every edit of any column, a deleted row, a deleted tail, two
/// swapped rows and a forged head are each detected by the hash chain, at the right
/// sequence number.
#[test]
fn audit_tampering_is_detected() {
    let schema = TestSchema::new("audit_tamper");
    let (mut ledger, _) = populated(&schema);
    let mut c = schema.client();

    for sql in [
        "UPDATE ledger_audit SET ts = ts + 1 WHERE seq = 3",
        "DELETE FROM ledger_audit WHERE seq = 3",
        "TRUNCATE ledger_audit",
    ] {
        let e = c.batch_execute(sql).unwrap_err();
        assert!(
            e.as_db_error().unwrap().message().contains("append-only"),
            "{sql}: {e}"
        );
    }
    ledger.verify_audit(None).unwrap();

    // The owner can disable the trigger; the chain still catches every change.
    c.batch_execute("ALTER TABLE ledger_audit DISABLE TRIGGER USER")
        .unwrap();
    let edits = [
        ("ts = ts + 1", "ts = ts - 1"),
        ("kind = kind # 1", "kind = kind # 1"),
        (
            "serial = coalesce(serial, 0) + 7",
            "serial = NULLIF(serial - 7, 0)",
        ),
        (
            "event = set_byte(event, 1, get_byte(event, 1) # 1)",
            "event = set_byte(event, 1, get_byte(event, 1) # 1)",
        ),
        (
            "hash = set_byte(hash, 0, get_byte(hash, 0) # 1)",
            "hash = set_byte(hash, 0, get_byte(hash, 0) # 1)",
        ),
    ];
    for (edit, undo) in edits {
        let seq = 4i64;
        c.execute(
            &format!("UPDATE ledger_audit SET {edit} WHERE seq = $1"),
            &[&seq],
        )
        .unwrap();
        let (at, kind) = broken(&mut ledger);
        assert_eq!(at, 4, "edit {edit} reported at seq {at} ({kind:?})");
        c.execute(
            &format!("UPDATE ledger_audit SET {undo} WHERE seq = $1"),
            &[&seq],
        )
        .unwrap();
        ledger
            .verify_audit(None)
            .unwrap_or_else(|e| panic!("undo of {edit}: {e}"));
    }

    // Swapping two rows' positions.
    c.batch_execute(
        "UPDATE ledger_audit SET seq = -1 WHERE seq = 3;
         UPDATE ledger_audit SET seq = 3 WHERE seq = 4;
         UPDATE ledger_audit SET seq = 4 WHERE seq = -1;",
    )
    .unwrap();
    assert_eq!(broken(&mut ledger).0, 3, "swapped rows");
    c.batch_execute(
        "UPDATE ledger_audit SET seq = -1 WHERE seq = 3;
         UPDATE ledger_audit SET seq = 3 WHERE seq = 4;
         UPDATE ledger_audit SET seq = 4 WHERE seq = -1;",
    )
    .unwrap();
    ledger.verify_audit(None).unwrap();

    // Deleting a row in the middle.
    c.batch_execute("DELETE FROM ledger_audit WHERE seq = 5")
        .unwrap();
    assert_eq!(broken(&mut ledger), (5, ChainBreakKind::Missing));
}

/// Deleting the newest rows (and even forging the head row to match) is detected: the
/// head row, or an exported anchor, no longer matches.
#[test]
fn audit_truncation_is_detected() {
    let schema = TestSchema::new("audit_truncate");
    let (mut ledger, rows) = populated(&schema);
    let anchor = ledger.audit_head().unwrap();
    assert_eq!(anchor.seq, rows);
    let mut c = schema.client();
    c.batch_execute("ALTER TABLE ledger_audit DISABLE TRIGGER USER")
        .unwrap();
    let last = rows as i64;
    c.execute("DELETE FROM ledger_audit WHERE seq = $1", &[&last])
        .unwrap();
    let (at, _) = broken(&mut ledger);
    assert!(at + 1 >= rows, "deleted tail reported at {at}");

    // Forge the head to the new last row: the chain alone is consistent again, but the
    // anchor exported earlier exposes the rewrite.
    c.execute(
        "UPDATE ledger_audit_head SET seq = a.seq, hash = a.hash FROM ledger_audit a WHERE a.seq = $1",
        &[&(last - 1)],
    )
    .unwrap();
    ledger.verify_audit(None).unwrap();
    assert!(matches!(
        ledger.verify_audit(Some(anchor)),
        Err(LedgerError::ChainBroken(_))
    ));
}

/// Uniqueness holds in the database itself, whatever a client sends: a second row with
/// a live serial, fingerprint or (manufacturer, key id) is rejected by a constraint.
#[test]
fn uniqueness_is_enforced_by_constraints() {
    let schema = TestSchema::new("constraints");
    let (mut ledger, _) = populated(&schema);
    let mut c = schema.client();
    let copy = |changes: &str| {
        format!(
            "INSERT INTO ledger_keys SELECT * FROM (SELECT serial, batch_id, manufacturer_id, \
             key_id, usage, kind, kcv, kek_id, kek_version, wrap_alg, wrapped, fingerprint, \
             imported_at, NULL::bigint AS issued_at, NULL::bytea AS certificate \
             FROM ledger_keys WHERE serial = 13) AS r {changes}"
        )
    };
    // Same serial; same key (fingerprint) under a new serial; same key id under a new serial.
    let same_serial = c.batch_execute(&copy("")).unwrap_err();
    assert_eq!(same_serial.code().unwrap().code(), "23505");
    let same_key = c
        .batch_execute(
            "INSERT INTO ledger_keys (serial, batch_id, manufacturer_id, key_id, usage, kind, kcv, \
             kek_id, kek_version, wrap_alg, wrapped, fingerprint, imported_at) \
             SELECT 5000, batch_id, manufacturer_id, 5000, usage, kind, kcv, kek_id, kek_version, \
             wrap_alg, wrapped, fingerprint, imported_at FROM ledger_keys WHERE serial = 13",
        )
        .unwrap_err();
    assert_eq!(same_key.code().unwrap().code(), "23505", "{same_key}");
    let same_key_id = c
        .batch_execute(
            "INSERT INTO ledger_keys (serial, batch_id, manufacturer_id, key_id, usage, kind, kcv, \
             kek_id, kek_version, wrap_alg, wrapped, fingerprint, imported_at) \
             SELECT 5001, batch_id, manufacturer_id, key_id, usage, kind, kcv, kek_id, kek_version, \
             wrap_alg, wrapped, decode(repeat('ab', 32), 'hex'), imported_at FROM ledger_keys WHERE serial = 13",
        )
        .unwrap_err();
    assert_eq!(same_key_id.code().unwrap().code(), "23505", "{same_key_id}");
    // A certificate without an issue date cannot be stored.
    let e = c
        .batch_execute("UPDATE ledger_keys SET certificate = '\\x01' WHERE serial = 13")
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "23514");
    ledger.verify_audit(None).unwrap();
}

/// A read transaction sees one snapshot: rows appended after it began are invisible to
/// it, so the verifier compares rows and head of one moment.
#[test]
fn read_transactions_see_one_snapshot() {
    let schema = TestSchema::new("snapshot");
    let (mut ledger, rows) = populated(&schema);
    let mut reader = open(&schema);
    let mut tx = reader.begin(TxMode::Read).unwrap();
    let before = tx.audit_head().unwrap();
    assert_eq!(before.seq, rows);
    let _ = ledger.issue(13, 9_000).unwrap();
    assert_eq!(tx.audit_head().unwrap(), before, "snapshot moved");
    assert_eq!(tx.audit_rows(1, 1_000).unwrap().len() as u64, rows);
    tx.commit().unwrap();
    let mut tx = reader.begin(TxMode::Read).unwrap();
    assert_eq!(tx.audit_head().unwrap().seq, rows + 1);
}

/// The key pages behind `rotate` and `check_keys` take their cursor as an index
/// condition even in a generic plan (`plan_cache_mode = force_generic_plan`, as a server
/// may be configured): each page reads its own rows, not the key index from its start
/// (`$1 IS NULL OR serial > $1` is only a filter there: quadratic over a large ledger).
#[test]
fn key_pages_are_index_ranges_in_generic_plans() {
    let schema = TestSchema::new("page_plans");
    let mut backend = open(&schema);
    let c = backend.client();
    // Rows enough for the planner to prefer the index; not valid keys, never read back.
    c.batch_execute(
        "INSERT INTO ledger_keys (serial, batch_id, manufacturer_id, key_id, usage, kind, kcv, \
         kek_id, kek_version, wrap_alg, wrapped, fingerprint, imported_at) \
         SELECT g, decode(repeat('00', 16), 'hex'), decode(repeat('00', 16), 'hex'), g, '\\x0000', \
         1, '\\x0000000000', '\\x0000000000000000', 1, 1, '\\x00', \
         sha256(int8send(g)), 0 FROM generate_series(1, 50000) AS g; \
         ANALYZE ledger_keys; SET plan_cache_mode = force_generic_plan;",
    )
    .unwrap();
    let statements = c
        .query(
            "SELECT name, statement, parameter_types::text[] FROM pg_prepared_statements \
             WHERE statement LIKE '%FROM ledger_keys%ORDER BY serial LIMIT%'",
            &[],
        )
        .unwrap();
    let mut with_cursor = 0;
    for row in &statements {
        let (name, sql, types): (String, String, Vec<String>) =
            (row.get(0), row.get(1), row.get(2));
        if !sql.contains("serial >") {
            continue;
        }
        with_cursor += 1;
        let args: Vec<&str> = types
            .iter()
            .map(|t| match t.as_str() {
                "bigint" => "10",
                "bytea" => "'\\x00'::bytea",
                other => panic!("parameter type {other} in {sql}"),
            })
            .collect();
        let plan: Vec<String> = c
            .query(&format!("EXPLAIN EXECUTE {name}({})", args.join(", ")), &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert!(
            plan.iter().any(|l| l.contains("Index Cond: (serial >")),
            "the cursor is not an index condition in the generic plan of\n{sql}\n{}",
            plan.join("\n")
        );
    }
    assert_eq!(
        with_cursor, 2,
        "keys_page and keys_not_under after a cursor"
    );
}
