//! PostgreSQL ledger failures: the ledger repeats a call that the server rolled back for
//! a serialization failure or a deadlock (bounded by its retry policy), never one that
//! would fail again, and every failure carries its SQLSTATE through `source()`.
//!
//! Failures are real server errors: a deadlock with a second connection, and errors
//! raised by a trigger that counts the tries in a sequence (sequences are not rolled
//! back, so it counts every try).

use postgres::error::SqlState;
use provkit::error::BackendCause;
use provkit_ledger::suite::{Fixture, RECIPIENT, SuiteLedger};
use provkit_ledger::{LedgerError, Retry, RetryPolicy};
use provkit_postgres::PgLedger;
use provkit_postgres::cluster::TestSchema;
use std::error::Error as _;
use std::time::{Duration, Instant};

/// A ledger in a fresh schema with serials 10 to 14 imported.
fn ledger(schema: &TestSchema) -> SuiteLedger<PgLedger> {
    let mut fx = Fixture::new(40);
    let backend = PgLedger::connect(schema.url(), schema.name()).unwrap();
    let mut ledger = Fixture::ledger(backend, 100);
    let file = fx.shipment(*b"retry-batch-0001", &[10, 11, 12, 13, 14], 5);
    ledger
        .import(RECIPIENT, &fx.manufacturer_pk, file.as_slice(), 1_000)
        .unwrap();
    ledger
}

/// Makes every update of `ledger_keys` fail with SQLSTATE `code` for the first
/// `failures` tries (all of them for `i64::MAX`); returns a connection to read the count.
fn inject(schema: &TestSchema, code: &str, failures: i64) -> postgres::Client {
    let mut client = schema.client();
    let s = schema.name();
    client
        .batch_execute(&format!(
            "CREATE SEQUENCE {s}.tries;
             CREATE FUNCTION {s}.inject() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 IF nextval('{s}.tries') <= {failures} THEN
                     RAISE EXCEPTION 'injected failure' USING ERRCODE = '{code}';
                 END IF;
                 RETURN NEW;
             END $$;
             CREATE TRIGGER inject BEFORE UPDATE ON {s}.ledger_keys
                 FOR EACH ROW EXECUTE FUNCTION {s}.inject();"
        ))
        .unwrap();
    client
}

/// How many times the trigger ran.
fn tries(client: &mut postgres::Client) -> i64 {
    client
        .query_one("SELECT last_value FROM tries", &[])
        .unwrap()
        .get(0)
}

/// The SQLSTATE of the `postgres::Error` that is the source of `e`.
fn source_code(e: &LedgerError) -> SqlState {
    e.source()
        .and_then(|s| s.downcast_ref::<postgres::Error>())
        .and_then(postgres::Error::code)
        .cloned()
        .unwrap_or_else(|| panic!("no postgres::Error with a code as source: {e:?}"))
}

#[test]
fn serialization_failures_are_retried_until_success() {
    let schema = TestSchema::new("retry_serialization");
    let mut ledger = ledger(&schema);
    let mut counter = inject(&schema, "40001", 2);
    let key = ledger.issue(10, 2_000).unwrap();
    assert_eq!(key.serial, 10);
    assert_eq!(
        tries(&mut counter),
        3,
        "two failed tries and the one that succeeded"
    );
    assert_eq!(ledger.retries(), 2);
    // The rolled-back tries left nothing: one issuance, audited once.
    let record = ledger.lookup(10).unwrap().unwrap();
    let issued = record
        .history
        .iter()
        .filter(|(_, _, e)| matches!(e, provkit_ledger::AuditEvent::Issued { .. }))
        .count();
    assert_eq!(issued, 1, "{:?}", record.history);
    ledger.verify_audit(None).unwrap();
}

#[test]
fn retries_are_bounded_by_the_policy() {
    let schema = TestSchema::new("retry_bounded");
    let mut ledger = ledger(&schema);
    let mut counter = inject(&schema, "40001", i64::MAX);
    let start = Instant::now();
    let e = ledger.issue(11, 2_000).unwrap_err();
    let attempts = PgLedger::DEFAULT_RETRY.attempts;
    assert_eq!(tries(&mut counter), i64::from(attempts));
    assert_eq!(ledger.retries(), u64::from(attempts - 1));
    // 10 + 20 + 40 + 80 ms of backoff.
    assert!(start.elapsed() >= Duration::from_millis(150));
    assert_eq!(e.retry(), Retry::Immediately);
    assert!(e.is_retryable());
    assert_eq!(source_code(&e), SqlState::T_R_SERIALIZATION_FAILURE);
    let LedgerError::Backend(b) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(b.cause(), BackendCause::sql_state(*b"40001"));
    assert!(e.to_string().contains("40001"), "{e}");

    // Without a policy the first failure is the answer.
    ledger.backend_mut().set_retry_policy(RetryPolicy::NONE);
    let before = tries(&mut counter);
    assert!(ledger.issue(11, 2_001).unwrap_err().is_retryable());
    assert_eq!(tries(&mut counter), before + 1);
}

/// `provkit_postgres::is_retryable`, for the caller's own queries, follows the ledger's
/// rule: a serialization failure, a deadlock or a lock timeout is retried at once; a lost
/// connection, a permission error or a constraint violation is not. (It said no to a lock
/// timeout, 55P03, which the ledger itself repeats.)
#[test]
fn is_retryable_follows_the_ledgers_rule() {
    let schema = TestSchema::new("retry_public");
    let mut client = schema.client();
    for (code, retryable) in [
        ("40001", true),
        ("40P01", true),
        ("55P03", true),
        ("08006", false),
        ("42501", false),
        ("23505", false),
    ] {
        let e = client
            .batch_execute(&format!(
                "DO $$ BEGIN RAISE EXCEPTION 'raised' USING ERRCODE = '{code}'; END $$"
            ))
            .unwrap_err();
        assert_eq!(e.code().map(SqlState::code), Some(code));
        assert_eq!(provkit_postgres::is_retryable(&e), retryable, "{code}");
    }
}

#[test]
fn other_failures_are_not_retried_and_keep_their_sqlstate() {
    let schema = TestSchema::new("retry_never");
    let mut ledger = ledger(&schema);
    let mut counter = inject(&schema, "42501", i64::MAX);
    let e = ledger.issue(12, 2_000).unwrap_err();
    assert_eq!(tries(&mut counter), 1, "a permission error is not repeated");
    assert_eq!(ledger.retries(), 0);
    assert_eq!(e.retry(), Retry::Never);
    assert!(!e.is_retryable());
    assert_eq!(source_code(&e), SqlState::INSUFFICIENT_PRIVILEGE);
    let LedgerError::Backend(b) = &e else {
        panic!("{e:?}")
    };
    assert_eq!(b.cause(), BackendCause::sql_state(*b"42501"));
    assert_eq!(b.cause().to_string(), "SQLSTATE 42501");
    // Nothing was issued.
    assert_eq!(ledger.lookup(12).unwrap().unwrap().key.issued_at, None);
}

/// A second client locks serial 13's row, the ledger locks the audit head and waits for
/// the row, then the client asks for the head: a real deadlock. The ledger's backend,
/// waiting longest, detects it and is rolled back (40P01); the ledger repeats the call,
/// which succeeds once the client commits.
#[test]
fn a_deadlock_with_another_client_is_retried() {
    let schema = TestSchema::new("retry_deadlock");
    let mut ledger = ledger(&schema);
    let pid: i32 = ledger
        .backend_mut()
        .client()
        .query_one("SELECT pg_backend_pid()", &[])
        .unwrap()
        .get(0);
    let mut other = schema.client();
    // Make sure the ledger's backend is the one that detects the deadlock (superuser
    // only; the default 1 s applies to both otherwise, and the ledger waits longer).
    let _ = other.batch_execute("SET deadlock_timeout = '10s'");
    other
        .batch_execute("BEGIN; UPDATE ledger_keys SET imported_at = imported_at WHERE serial = 13")
        .unwrap();
    let issuing = std::thread::spawn(move || {
        let r = ledger.issue(13, 2_000);
        (ledger, r)
    });
    // Wait until the ledger waits for the row lock.
    let mut watcher = schema.client();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let waiting: Option<String> = watcher
            .query_one(
                "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1",
                &[&pid],
            )
            .unwrap()
            .get(0);
        if waiting.as_deref() == Some("Lock") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the ledger never waited for the row"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Returns once the ledger's transaction was rolled back by the deadlock detector.
    other
        .batch_execute("SELECT seq FROM ledger_audit_head WHERE id = 1 FOR UPDATE")
        .unwrap();
    other.batch_execute("COMMIT").unwrap();
    let (ledger, r) = issuing.join().unwrap();
    assert_eq!(r.unwrap().serial, 13);
    assert_eq!(ledger.retries(), 1, "one deadlock, one repetition");
}
