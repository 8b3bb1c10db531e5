//! [`PgLedger`]: the issuance ledger's [`LedgerBackend`] on PostgreSQL.
//!
//! Everything with meaning (events, hash chain, import, issuance, rotation) is
//! `provkit-ledger`'s; this module only stores rows, under these rules:
//!
//! - **Uniqueness by constraint**: `ledger_keys` has `PRIMARY KEY (serial)`,
//!   `UNIQUE (fingerprint)` and `UNIQUE (manufacturer_id, key_id)`; promotion inserts with
//!   `ON CONFLICT DO NOTHING`, so the database decides which of two racing writers wins.
//! - **Exactly-once issuance**: [`mark_issued`](LedgerTx::mark_issued) is one
//!   `UPDATE … WHERE serial = $1 AND issued_at IS NULL RETURNING …`; under READ COMMITTED
//!   a second updater waits for the first and then re-checks `issued_at IS NULL`, so of
//!   any number of concurrent calls exactly one gets the row.
//! - **One audit chain**: write transactions run at READ COMMITTED and lock the single
//!   row of `ledger_audit_head` with `SELECT … FOR UPDATE` when the ledger reads the head
//!   ([`audit_head`](LedgerTx::audit_head)). The lock is the first lock every chain-writing
//!   transaction takes, so appends are serialized in one order and cannot deadlock with
//!   each other, and the locked read returns the newest committed head. Read
//!   transactions are REPEATABLE READ, READ ONLY: one snapshot, so the verifier sees the
//!   rows and the head of one moment.
//! - **Append-only audit table**: a trigger refuses `UPDATE`, `DELETE` and `TRUNCATE` on
//!   `ledger_audit`. Whoever owns the table can drop the trigger; the hash chain is what
//!   detects that ([`Ledger::verify_audit`](provkit_ledger::Ledger::verify_audit)).
//!
//! Round trips dominate on PostgreSQL, so appends are buffered in the transaction and
//! written with one multi-row statement (with the head update) at commit, or before the
//! transaction reads the audit table; a refusal's [`key_by_serial`](LedgerTx::key_by_serial)
//! right after a failed [`mark_issued`](LedgerTx::mark_issued) is answered from the row
//! that statement already returned. Neither changes what is committed.
//!
//! Serialization failures and deadlocks (SQLSTATE 40001, 40P01) cannot arise between
//! ledger writers under this locking order, but one caused by another client can (a
//! report that locks ledger rows, a maintenance script). The ledger then repeats the call
//! itself, under [`PgLedger::DEFAULT_RETRY`] (see [`PgLedger::set_retry_policy`]): each
//! repeated call runs in one transaction, which the server rolled back, and changes
//! nothing outside it (the audit rows are in the same transaction, the KEK state is
//! only read), so a repetition starts from the state the first try saw. Failures are
//! [`LedgerError::Backend`] with the SQLSTATE as the [cause](provkit_ledger::BackendError::cause),
//! the `postgres::Error` as the source, and a [`Retry`](provkit_ledger::Retry) class: `Immediately` for
//! 40001, 40P01 and 55P03 (lock not available); `AfterReconnect` for a lost connection
//! (class 08, 57P01-57P03, a closed socket), which the ledger does not repeat, as it
//! cannot reconnect a client it was given; `Never` for the rest.

use crate::error::{OpenError, check_schema_name, to_ledger};
use crate::store::create_schema;
use postgres::types::ToSql;
use postgres::{Client, IsolationLevel, NoTls, Row, Statement, Transaction};
use provkit::envelope::shipment::KeyUsageCode;
use provkit::envelope::{Kcv, KekId, KekRef};
use provkit_ledger::codec::{
    array_from_db, from_db, kek_ref_from_db, kind_code, kind_from_code, to_db, u32_from_db,
    wrap_code, wrap_from_code,
};
use provkit_ledger::{
    AuditRecord, BatchId, ChainHead, ImportRow, ImportStatus, KeyRow, LedgerBackend, LedgerError,
    LedgerTx, Result, RetryPolicy, StoredWrap, TxMode,
};
use std::time::Duration;

/// The ledger's tables (PostgreSQL 14 or later, for `CREATE OR REPLACE TRIGGER`).
pub const LEDGER_SCHEMA_SQL: &str = r"
CREATE TABLE IF NOT EXISTS ledger_keys (
    serial          bigint   PRIMARY KEY,
    batch_id        bytea    NOT NULL CHECK (octet_length(batch_id) = 16),
    manufacturer_id bytea    NOT NULL CHECK (octet_length(manufacturer_id) = 16),
    key_id          bigint   NOT NULL,
    usage           bytea    NOT NULL CHECK (octet_length(usage) = 2),
    kind            smallint NOT NULL,
    kcv             bytea    NOT NULL,
    kek_id          bytea    NOT NULL CHECK (octet_length(kek_id) = 8),
    kek_version     bigint   NOT NULL,
    wrap_alg        smallint NOT NULL,
    wrapped         bytea    NOT NULL,
    fingerprint     bytea    NOT NULL UNIQUE CHECK (octet_length(fingerprint) = 32),
    imported_at     bigint   NOT NULL,
    issued_at       bigint,
    certificate     bytea,
    UNIQUE (manufacturer_id, key_id),
    CHECK (certificate IS NULL OR issued_at IS NOT NULL)
);
CREATE INDEX IF NOT EXISTS ledger_keys_kek ON ledger_keys (kek_id, kek_version);
CREATE TABLE IF NOT EXISTS ledger_staged (
    batch_id        bytea    NOT NULL CHECK (octet_length(batch_id) = 16),
    serial          bigint   NOT NULL,
    manufacturer_id bytea    NOT NULL,
    key_id          bigint   NOT NULL,
    usage           bytea    NOT NULL,
    kind            smallint NOT NULL,
    kcv             bytea    NOT NULL,
    kek_id          bytea    NOT NULL,
    kek_version     bigint   NOT NULL,
    wrap_alg        smallint NOT NULL,
    wrapped         bytea    NOT NULL,
    fingerprint     bytea    NOT NULL,
    imported_at     bigint   NOT NULL,
    PRIMARY KEY (batch_id, serial)
);
CREATE TABLE IF NOT EXISTS ledger_imports (
    batch_id        bytea    PRIMARY KEY CHECK (octet_length(batch_id) = 16),
    manufacturer_id bytea    NOT NULL,
    header_hash     bytea    NOT NULL,
    record_count    bigint   NOT NULL,
    chunks_staged   bigint   NOT NULL,
    records_staged  bigint   NOT NULL,
    status          smallint NOT NULL CHECK (status IN (1, 2)),
    transcript_hash bytea,
    started_at      bigint   NOT NULL,
    completed_at    bigint
);
CREATE TABLE IF NOT EXISTS ledger_audit (
    seq       bigint   PRIMARY KEY,
    ts        bigint   NOT NULL,
    kind      smallint NOT NULL,
    serial    bigint,
    event     bytea    NOT NULL,
    hash      bytea    NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_audit_serial ON ledger_audit (serial) WHERE serial IS NOT NULL;
CREATE TABLE IF NOT EXISTS ledger_audit_head (
    id        smallint PRIMARY KEY CHECK (id = 1),
    seq       bigint   NOT NULL,
    hash      bytea    NOT NULL CHECK (octet_length(hash) = 32)
);
INSERT INTO ledger_audit_head (id, seq, hash) VALUES (1, 0, '\x0000000000000000000000000000000000000000000000000000000000000000')
    ON CONFLICT (id) DO NOTHING;
CREATE TABLE IF NOT EXISTS ledger_kek_policy (
    kek_id      bytea  PRIMARY KEY CHECK (octet_length(kek_id) = 8),
    min_version bigint NOT NULL
);
CREATE OR REPLACE FUNCTION ledger_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger_audit is append-only (% refused)', TG_OP;
END $$;
CREATE OR REPLACE TRIGGER ledger_audit_append_only
    BEFORE UPDATE OR DELETE ON ledger_audit
    FOR EACH ROW EXECUTE FUNCTION ledger_audit_append_only();
CREATE OR REPLACE TRIGGER ledger_audit_no_truncate
    BEFORE TRUNCATE ON ledger_audit
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_audit_append_only();
";

/// The columns of a [`KeyRow`], in the order [`key_row`] reads them.
const KEY_COLS: &str = "serial, batch_id, manufacturer_id, key_id, usage, kind, kcv, kek_id, \
     kek_version, wrap_alg, wrapped, fingerprint, imported_at, issued_at, certificate";
/// The same from the staging table, which has no issue date or certificate.
const STAGED_COLS: &str = "serial, batch_id, manufacturer_id, key_id, usage, kind, kcv, kek_id, \
     kek_version, wrap_alg, wrapped, fingerprint, imported_at, NULL::bigint, NULL::bytea";
const IMPORT_COLS: &str = "batch_id, manufacturer_id, header_hash, record_count, chunks_staged, \
     records_staged, status, transcript_hash, started_at, completed_at";
const AUDIT_COLS: &str = "seq, ts, kind, serial, event, hash";

const STATUS_STAGING: i16 = 1;
const STATUS_COMPLETE: i16 = 2;

/// Statements prepared once per connection.
#[derive(Debug)]
struct Statements {
    head_lock: Statement,
    head_read: Statement,
    append: Statement,
    audit_rows: Statement,
    audit_for_serial: Statement,
    import_get: Statement,
    import_insert: Statement,
    import_progress: Statement,
    import_complete: Statement,
    import_delete: Statement,
    stage: Statement,
    promote: Statement,
    unpromoted: Statement,
    clear_staged: Statement,
    by_serial: Statement,
    by_fingerprint: Statement,
    by_key_id: Statement,
    mark_issued: Statement,
    set_certificate: Statement,
    keys_page_first: Statement,
    keys_page_after: Statement,
    keys_not_under_first: Statement,
    keys_not_under_after: Statement,
    update_wrapped: Statement,
    census: Statement,
    min_version: Statement,
    set_min_version: Statement,
}

impl Statements {
    fn prepare(c: &mut Client) -> core::result::Result<Self, postgres::Error> {
        Ok(Self {
            head_lock: c
                .prepare("SELECT seq, hash FROM ledger_audit_head WHERE id = 1 FOR UPDATE")?,
            head_read: c.prepare("SELECT seq, hash FROM ledger_audit_head WHERE id = 1")?,
            append: c.prepare(
                "WITH appended AS (
                     INSERT INTO ledger_audit (seq, ts, kind, serial, event, hash)
                     SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::smallint[],
                                          $4::bigint[], $5::bytea[], $6::bytea[])
                 )
                 UPDATE ledger_audit_head SET seq = $7, hash = $8 WHERE id = 1",
            )?,
            audit_rows: c.prepare(&format!(
                "SELECT {AUDIT_COLS} FROM ledger_audit WHERE seq >= $1 ORDER BY seq LIMIT $2"
            ))?,
            audit_for_serial: c.prepare(&format!(
                "SELECT {AUDIT_COLS} FROM ledger_audit WHERE serial = $1 ORDER BY seq"
            ))?,
            import_get: c.prepare(&format!(
                "SELECT {IMPORT_COLS} FROM ledger_imports WHERE batch_id = $1"
            ))?,
            import_insert: c.prepare(&format!(
                "INSERT INTO ledger_imports ({IMPORT_COLS}) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            ))?,
            import_progress: c.prepare(
                "UPDATE ledger_imports SET chunks_staged = $2, records_staged = $3 \
                 WHERE batch_id = $1",
            )?,
            import_complete: c.prepare(&format!(
                "UPDATE ledger_imports SET status = {STATUS_COMPLETE}, transcript_hash = $2, \
                 completed_at = $3 WHERE batch_id = $1"
            ))?,
            import_delete: c.prepare("DELETE FROM ledger_imports WHERE batch_id = $1")?,
            stage: c.prepare(
                "INSERT INTO ledger_staged (batch_id, serial, manufacturer_id, key_id, usage, \
                     kind, kcv, kek_id, kek_version, wrap_alg, wrapped, fingerprint, imported_at)
                 SELECT * FROM unnest($1::bytea[], $2::bigint[], $3::bytea[], $4::bigint[],
                     $5::bytea[], $6::smallint[], $7::bytea[], $8::bytea[], $9::bigint[],
                     $10::smallint[], $11::bytea[], $12::bytea[], $13::bigint[])",
            )?,
            promote: c.prepare(&format!(
                "INSERT INTO ledger_keys ({KEY_COLS}) \
                 SELECT {STAGED_COLS} FROM ledger_staged WHERE batch_id = $1 ORDER BY serial \
                 ON CONFLICT DO NOTHING"
            ))?,
            unpromoted: c.prepare(&format!(
                "SELECT {STAGED_COLS} FROM ledger_staged s WHERE s.batch_id = $1 AND NOT EXISTS \
                 (SELECT 1 FROM ledger_keys k WHERE k.serial = s.serial \
                  AND k.batch_id = s.batch_id AND k.fingerprint = s.fingerprint) \
                 ORDER BY s.serial"
            ))?,
            clear_staged: c.prepare("DELETE FROM ledger_staged WHERE batch_id = $1")?,
            by_serial: c.prepare(&format!(
                "SELECT {KEY_COLS} FROM ledger_keys WHERE serial = $1"
            ))?,
            by_fingerprint: c.prepare(&format!(
                "SELECT {KEY_COLS} FROM ledger_keys WHERE fingerprint = $1"
            ))?,
            by_key_id: c.prepare(&format!(
                "SELECT {KEY_COLS} FROM ledger_keys WHERE manufacturer_id = $1 AND key_id = $2"
            ))?,
            // One round trip: the issued row, or (issued = false) the row as it stands.
            mark_issued: c.prepare(&format!(
                "WITH issued AS (
                     UPDATE ledger_keys SET issued_at = $2
                     WHERE serial = $1 AND issued_at IS NULL RETURNING {KEY_COLS}
                 )
                 SELECT true, {KEY_COLS} FROM issued
                 UNION ALL
                 SELECT false, {KEY_COLS} FROM ledger_keys
                 WHERE serial = $1 AND NOT EXISTS (SELECT 1 FROM issued)"
            ))?,
            set_certificate: c.prepare(
                "UPDATE ledger_keys SET certificate = $2 \
                 WHERE serial = $1 AND issued_at IS NOT NULL AND certificate IS NULL",
            )?,
            // Key pages: the first page and the pages after a cursor are separate
            // statements, so that a cursor is always a real serial (never a reserved
            // value) and always an index condition: `$1 IS NULL OR serial > $1` is only
            // a filter in a generic plan, which scans the key index from its start for
            // every page.
            keys_page_first: c.prepare(&format!(
                "SELECT {KEY_COLS} FROM ledger_keys ORDER BY serial LIMIT $1"
            ))?,
            keys_page_after: c.prepare(&format!(
                "SELECT {KEY_COLS} FROM ledger_keys WHERE serial > $2 ORDER BY serial LIMIT $1"
            ))?,
            keys_not_under_first: c.prepare(&format!(
                "SELECT {KEY_COLS} FROM ledger_keys \
                 WHERE NOT (kek_id = $2 AND kek_version = $3) ORDER BY serial LIMIT $1"
            ))?,
            keys_not_under_after: c.prepare(&format!(
                "SELECT {KEY_COLS} FROM ledger_keys \
                 WHERE serial > $4 AND NOT (kek_id = $2 AND kek_version = $3) \
                 ORDER BY serial LIMIT $1"
            ))?,
            update_wrapped: c.prepare(
                "UPDATE ledger_keys SET kek_id = $2, kek_version = $3, wrap_alg = $4, wrapped = $5 \
                 WHERE serial = $1 AND kek_id = $6 AND kek_version = $7",
            )?,
            census: c.prepare(
                "SELECT kek_id, kek_version, count(*) FROM ( \
                     SELECT kek_id, kek_version FROM ledger_keys \
                     UNION ALL SELECT kek_id, kek_version FROM ledger_staged) AS t \
                 GROUP BY kek_id, kek_version ORDER BY kek_id, kek_version",
            )?,
            min_version: c
                .prepare("SELECT min_version FROM ledger_kek_policy WHERE kek_id = $1")?,
            set_min_version: c.prepare(
                "INSERT INTO ledger_kek_policy (kek_id, min_version) VALUES ($1, $2) \
                 ON CONFLICT (kek_id) DO UPDATE SET min_version = EXCLUDED.min_version",
            )?,
        })
    }
}

/// The ledger's tables in one PostgreSQL schema, over one connection. Open one per
/// thread or process; PostgreSQL arbitrates between them (see the [module](self) docs).
pub struct PgLedger {
    client: Client,
    schema: String,
    statements: Statements,
    retry: RetryPolicy,
}

impl core::fmt::Debug for PgLedger {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PgLedger")
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl PgLedger {
    /// Connects to `url` (no TLS: use [`open`](Self::open) with a TLS client across a
    /// network) and creates `schema` and the ledger tables if missing.
    ///
    /// # Errors
    /// [`OpenError`]: a bad schema name or a database failure.
    pub fn connect(url: &str, schema: &str) -> core::result::Result<Self, OpenError> {
        check_schema_name(schema)?;
        Self::open(Client::connect(url, NoTls)?, schema)
    }

    /// As [`connect`](Self::connect), over a client the caller connected. Its
    /// `search_path` is set to `schema`.
    ///
    /// # Errors
    /// As [`connect`](Self::connect).
    pub fn open(mut client: Client, schema: &str) -> core::result::Result<Self, OpenError> {
        create_schema(&mut client, schema, LEDGER_SCHEMA_SQL)?;
        let statements = Statements::prepare(&mut client)?;
        Ok(Self {
            client,
            schema: schema.to_owned(),
            statements,
            retry: Self::DEFAULT_RETRY,
        })
    }

    /// The retry policy a new `PgLedger` has: 5 tries in all, sleeping 10, 20, 40 and
    /// 80 ms between them (150 ms at most), for failures classed
    /// [`Retry::Immediately`](provkit_ledger::Retry::Immediately). A deadlock with another client costs that client's
    /// `deadlock_timeout` (1 s by default) per try on top.
    pub const DEFAULT_RETRY: RetryPolicy = RetryPolicy {
        attempts: 5,
        backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(80),
    };

    /// Replaces the retry policy ([`RetryPolicy::NONE`] to see every failure).
    pub const fn set_retry_policy(&mut self, policy: RetryPolicy) {
        self.retry = policy;
    }

    /// The schema the ledger's tables live in.
    #[must_use]
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The PostgreSQL client, for the caller's own queries (reports, tests).
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }
}

impl LedgerBackend for PgLedger {
    type Tx<'a> = PgLedgerTx<'a>;

    fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    fn begin(&mut self, mode: TxMode) -> Result<PgLedgerTx<'_>> {
        let builder = self.client.build_transaction();
        let tx = match mode {
            TxMode::Write => builder.isolation_level(IsolationLevel::ReadCommitted),
            TxMode::Read => builder
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true),
        }
        .start()
        .map_err(to_ledger)?;
        Ok(PgLedgerTx {
            tx,
            st: &self.statements,
            mode,
            pending: Vec::new(),
            last_miss: None,
        })
    }
}

/// One transaction of a [`PgLedger`]. Dropped without [`commit`](LedgerTx::commit), it
/// rolls back (so does the server when the connection dies).
pub struct PgLedgerTx<'a> {
    tx: Transaction<'a>,
    st: &'a Statements,
    mode: TxMode,
    /// Audit rows appended in this transaction and not yet sent.
    pending: Vec<AuditRecord>,
    /// The row (or its absence) of the last serial `mark_issued` did not issue.
    last_miss: Option<(u64, Option<KeyRow>)>,
}

impl core::fmt::Debug for PgLedgerTx<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PgLedgerTx")
            .field("mode", &self.mode)
            .field("pending_audit_rows", &self.pending.len())
            .finish_non_exhaustive()
    }
}

impl PgLedgerTx<'_> {
    /// Sends the buffered audit rows and moves the head, in one statement.
    fn flush(&mut self) -> Result<()> {
        let Some(last) = self.pending.last() else {
            return Ok(());
        };
        let head_seq = to_db(last.seq);
        let head_hash = last.hash.to_vec();
        let seqs: Vec<i64> = self.pending.iter().map(|r| to_db(r.seq)).collect();
        let times: Vec<i64> = self.pending.iter().map(|r| to_db(r.timestamp)).collect();
        let kinds: Vec<i16> = self.pending.iter().map(|r| i16::from(r.kind)).collect();
        let serials: Vec<Option<i64>> = self.pending.iter().map(|r| r.serial.map(to_db)).collect();
        let events: Vec<&[u8]> = self.pending.iter().map(|r| r.event.as_slice()).collect();
        let hashes: Vec<&[u8]> = self.pending.iter().map(|r| &r.hash[..]).collect();
        self.tx
            .execute(
                &self.st.append,
                &[
                    &seqs, &times, &kinds, &serials, &events, &hashes, &head_seq, &head_hash,
                ],
            )
            .map_err(to_ledger)?;
        self.pending.clear();
        Ok(())
    }

    fn query(&mut self, st: &Statement, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        self.last_miss = None;
        self.tx.query(st, params).map_err(to_ledger)
    }

    fn query_opt(&mut self, st: &Statement, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>> {
        self.last_miss = None;
        self.tx.query_opt(st, params).map_err(to_ledger)
    }

    fn execute(&mut self, st: &Statement, params: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        self.last_miss = None;
        self.tx.execute(st, params).map_err(to_ledger)
    }

    fn key_rows(&mut self, st: &Statement, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<KeyRow>> {
        self.query(st, params)?
            .iter()
            .map(|r| key_row(r, 0))
            .collect()
    }

    fn key_opt(
        &mut self,
        st: &Statement,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<KeyRow>> {
        self.query_opt(st, params)?
            .map(|r| key_row(&r, 0))
            .transpose()
    }
}

/// A column's value, or `Corrupt` when it does not convert.
fn col<'r, T: postgres::types::FromSql<'r>>(
    row: &'r Row,
    i: usize,
    what: &'static str,
) -> Result<T> {
    row.try_get(i).map_err(|_| LedgerError::Corrupt(what))
}

fn small_code(v: i16, what: &'static str) -> Result<i64> {
    if v < 0 {
        return Err(LedgerError::Corrupt(what));
    }
    Ok(i64::from(v))
}

/// A [`KeyRow`] from the columns [`KEY_COLS`] starting at `at`.
fn key_row(row: &Row, at: usize) -> Result<KeyRow> {
    let kcv: &[u8] = col(row, at + 6, "kcv")?;
    Ok(KeyRow {
        serial: from_db(col(row, at, "serial")?),
        batch_id: array_from_db(col(row, at + 1, "batch id")?, "batch id")?,
        manufacturer_id: array_from_db(col(row, at + 2, "manufacturer id")?, "manufacturer id")?,
        key_id: from_db(col(row, at + 3, "key id")?),
        usage: KeyUsageCode(array_from_db(col(row, at + 4, "usage")?, "usage")?),
        kind: kind_from_code(small_code(col(row, at + 5, "key kind")?, "key kind")?)?,
        kcv: Kcv(array_from_db(kcv, "kcv")?),
        wrapped: StoredWrap {
            kek: kek_ref_from_db(
                col(row, at + 7, "KEK id")?,
                col(row, at + 8, "KEK version")?,
            )?,
            alg: wrap_from_code(small_code(
                col(row, at + 9, "wrap algorithm")?,
                "wrap algorithm",
            )?)?,
            bytes: col(row, at + 10, "wrapped key")?,
        },
        fingerprint: array_from_db(col(row, at + 11, "fingerprint")?, "fingerprint")?,
        imported_at: from_db(col(row, at + 12, "imported at")?),
        issued_at: col::<Option<i64>>(row, at + 13, "issued at")?.map(from_db),
        certificate: col(row, at + 14, "certificate")?,
    })
}

fn audit_record(row: &Row) -> Result<AuditRecord> {
    let kind: i16 = col(row, 2, "audit kind")?;
    Ok(AuditRecord {
        seq: from_db(col(row, 0, "audit seq")?),
        timestamp: from_db(col(row, 1, "audit timestamp")?),
        kind: u8::try_from(kind).map_err(|_| LedgerError::Corrupt("audit kind"))?,
        serial: col::<Option<i64>>(row, 3, "audit serial")?.map(from_db),
        event: col(row, 4, "audit event")?,
        hash: array_from_db(col(row, 5, "audit hash")?, "audit hash")?,
    })
}

fn import_row(row: &Row) -> Result<ImportRow> {
    let status = match col::<i16>(row, 6, "import status")? {
        STATUS_STAGING => ImportStatus::Staging,
        STATUS_COMPLETE => ImportStatus::Complete,
        _ => return Err(LedgerError::Corrupt("import status")),
    };
    let transcript: Option<&[u8]> = col(row, 7, "transcript hash")?;
    Ok(ImportRow {
        batch_id: array_from_db(col(row, 0, "batch id")?, "batch id")?,
        manufacturer_id: array_from_db(col(row, 1, "manufacturer id")?, "manufacturer id")?,
        header_hash: array_from_db(col(row, 2, "header hash")?, "header hash")?,
        record_count: u32_from_db(col(row, 3, "record count")?, "record count")?,
        chunks_staged: u32_from_db(col(row, 4, "chunks staged")?, "chunks staged")?,
        records_staged: from_db(col(row, 5, "records staged")?),
        status,
        transcript_hash: transcript
            .map(|t| array_from_db(t, "transcript hash"))
            .transpose()?,
        started_at: from_db(col(row, 8, "started at")?),
        completed_at: col::<Option<i64>>(row, 9, "completed at")?.map(from_db),
    })
}

fn code16(code: u8) -> i16 {
    i16::from(code)
}

impl LedgerTx for PgLedgerTx<'_> {
    fn commit(mut self) -> Result<()> {
        self.flush()?;
        self.tx.commit().map_err(to_ledger)
    }

    fn audit_head(&mut self) -> Result<ChainHead> {
        if let Some(last) = self.pending.last() {
            return Ok(ChainHead::of(last));
        }
        let st = match self.mode {
            TxMode::Write => &self.st.head_lock,
            TxMode::Read => &self.st.head_read,
        };
        let row = self
            .query_opt(st, &[])?
            .ok_or(LedgerError::Corrupt("audit head row missing"))?;
        Ok(ChainHead {
            seq: from_db(col(&row, 0, "audit head seq")?),
            hash: array_from_db(col(&row, 1, "audit head hash")?, "audit head hash")?,
        })
    }

    fn append_audit(&mut self, record: &AuditRecord) -> Result<()> {
        self.pending.push(record.clone());
        Ok(())
    }

    fn audit_rows(&mut self, from_seq: u64, limit: u32) -> Result<Vec<AuditRecord>> {
        self.flush()?;
        self.query(&self.st.audit_rows, &[&to_db(from_seq), &i64::from(limit)])?
            .iter()
            .map(audit_record)
            .collect()
    }

    fn audit_for_serial(&mut self, serial: u64) -> Result<Vec<AuditRecord>> {
        self.flush()?;
        self.query(&self.st.audit_for_serial, &[&to_db(serial)])?
            .iter()
            .map(audit_record)
            .collect()
    }

    fn import_get(&mut self, batch_id: &BatchId) -> Result<Option<ImportRow>> {
        self.query_opt(&self.st.import_get, &[&&batch_id[..]])?
            .map(|r| import_row(&r))
            .transpose()
    }

    fn import_insert(&mut self, row: &ImportRow) -> Result<()> {
        let status = match row.status {
            ImportStatus::Staging => STATUS_STAGING,
            ImportStatus::Complete => STATUS_COMPLETE,
        };
        let transcript = row.transcript_hash.as_ref().map(|t| &t[..]);
        self.execute(
            &self.st.import_insert,
            &[
                &&row.batch_id[..],
                &&row.manufacturer_id[..],
                &&row.header_hash[..],
                &i64::from(row.record_count),
                &i64::from(row.chunks_staged),
                &to_db(row.records_staged),
                &status,
                &transcript,
                &to_db(row.started_at),
                &row.completed_at.map(to_db),
            ],
        )?;
        Ok(())
    }

    fn import_progress(
        &mut self,
        batch_id: &BatchId,
        chunks_staged: u32,
        records_staged: u64,
    ) -> Result<()> {
        self.execute(
            &self.st.import_progress,
            &[
                &&batch_id[..],
                &i64::from(chunks_staged),
                &to_db(records_staged),
            ],
        )?;
        Ok(())
    }

    fn import_complete(
        &mut self,
        batch_id: &BatchId,
        transcript_hash: &[u8; 32],
        completed_at: u64,
    ) -> Result<()> {
        self.execute(
            &self.st.import_complete,
            &[&&batch_id[..], &&transcript_hash[..], &to_db(completed_at)],
        )?;
        Ok(())
    }

    fn import_delete(&mut self, batch_id: &BatchId) -> Result<()> {
        self.execute(&self.st.import_delete, &[&&batch_id[..]])?;
        Ok(())
    }

    fn stage(&mut self, rows: &[KeyRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let batch: Vec<&[u8]> = rows.iter().map(|r| &r.batch_id[..]).collect();
        let serial: Vec<i64> = rows.iter().map(|r| to_db(r.serial)).collect();
        let manufacturer: Vec<&[u8]> = rows.iter().map(|r| &r.manufacturer_id[..]).collect();
        let key_id: Vec<i64> = rows.iter().map(|r| to_db(r.key_id)).collect();
        let usage: Vec<&[u8]> = rows.iter().map(|r| &r.usage.0[..]).collect();
        let kind = rows
            .iter()
            .map(|r| kind_code(r.kind).map(code16))
            .collect::<Result<Vec<i16>>>()?;
        let kcv: Vec<&[u8]> = rows.iter().map(|r| &r.kcv.0[..]).collect();
        let kek_id: Vec<&[u8]> = rows.iter().map(|r| &r.wrapped.kek.id.0[..]).collect();
        let kek_version: Vec<i64> = rows
            .iter()
            .map(|r| i64::from(r.wrapped.kek.version))
            .collect();
        let alg = rows
            .iter()
            .map(|r| wrap_code(r.wrapped.alg).map(code16))
            .collect::<Result<Vec<i16>>>()?;
        let wrapped: Vec<&[u8]> = rows.iter().map(|r| r.wrapped.bytes.as_slice()).collect();
        let fingerprint: Vec<&[u8]> = rows.iter().map(|r| &r.fingerprint[..]).collect();
        let imported: Vec<i64> = rows.iter().map(|r| to_db(r.imported_at)).collect();
        self.execute(
            &self.st.stage,
            &[
                &batch,
                &serial,
                &manufacturer,
                &key_id,
                &usage,
                &kind,
                &kcv,
                &kek_id,
                &kek_version,
                &alg,
                &wrapped,
                &fingerprint,
                &imported,
            ],
        )?;
        Ok(())
    }

    fn promote_staged(&mut self, batch_id: &BatchId) -> Result<u64> {
        self.execute(&self.st.promote, &[&&batch_id[..]])
    }

    fn unpromoted_staged(&mut self, batch_id: &BatchId) -> Result<Vec<KeyRow>> {
        self.key_rows(&self.st.unpromoted, &[&&batch_id[..]])
    }

    fn clear_staged(&mut self, batch_id: &BatchId) -> Result<u64> {
        self.execute(&self.st.clear_staged, &[&&batch_id[..]])
    }

    fn key_by_serial(&mut self, serial: u64) -> Result<Option<KeyRow>> {
        if let Some((missed, row)) = self.last_miss.take() {
            if missed == serial {
                return Ok(row);
            }
        }
        self.key_opt(&self.st.by_serial, &[&to_db(serial)])
    }

    fn key_by_fingerprint(&mut self, fingerprint: &[u8; 32]) -> Result<Option<KeyRow>> {
        self.key_opt(&self.st.by_fingerprint, &[&&fingerprint[..]])
    }

    fn key_by_key_id(&mut self, manufacturer_id: &[u8; 16], key_id: u64) -> Result<Option<KeyRow>> {
        self.key_opt(&self.st.by_key_id, &[&&manufacturer_id[..], &to_db(key_id)])
    }

    fn mark_issued(&mut self, serial: u64, now: u64) -> Result<Option<KeyRow>> {
        let row = self.query_opt(&self.st.mark_issued, &[&to_db(serial), &to_db(now)])?;
        let Some(row) = row else {
            self.last_miss = Some((serial, None));
            return Ok(None);
        };
        let issued: bool = col(&row, 0, "issued flag")?;
        let key = key_row(&row, 1)?;
        if issued {
            Ok(Some(key))
        } else {
            self.last_miss = Some((serial, Some(key)));
            Ok(None)
        }
    }

    fn set_certificate(&mut self, serial: u64, certificate: &[u8]) -> Result<bool> {
        Ok(self.execute(&self.st.set_certificate, &[&to_db(serial), &certificate])? == 1)
    }

    fn keys_page(&mut self, after: Option<u64>, limit: u32) -> Result<Vec<KeyRow>> {
        let limit = i64::from(limit);
        match after {
            None => self.key_rows(&self.st.keys_page_first, &[&limit]),
            Some(a) => self.key_rows(&self.st.keys_page_after, &[&limit, &to_db(a)]),
        }
    }

    fn keys_not_under(
        &mut self,
        target: KekRef,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<KeyRow>> {
        let (limit, kek_id, version) = (
            i64::from(limit),
            &target.id.0[..],
            i64::from(target.version),
        );
        match after {
            None => self.key_rows(&self.st.keys_not_under_first, &[&limit, &kek_id, &version]),
            Some(a) => self.key_rows(
                &self.st.keys_not_under_after,
                &[&limit, &kek_id, &version, &to_db(a)],
            ),
        }
    }

    fn update_wrapped(
        &mut self,
        serial: u64,
        expected: KekRef,
        wrapped: &StoredWrap,
    ) -> Result<bool> {
        let alg = code16(wrap_code(wrapped.alg)?);
        Ok(self.execute(
            &self.st.update_wrapped,
            &[
                &to_db(serial),
                &&wrapped.kek.id.0[..],
                &i64::from(wrapped.kek.version),
                &alg,
                &wrapped.bytes,
                &&expected.id.0[..],
                &i64::from(expected.version),
            ],
        )? == 1)
    }

    fn census(&mut self) -> Result<provkit_ledger::audit::KeyCensus> {
        let rows = self.query(&self.st.census, &[])?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let kek = kek_ref_from_db(col(row, 0, "KEK id")?, col(row, 1, "KEK version")?)?;
            let count: i64 = col(row, 2, "count")?;
            out.push((
                kek,
                u64::try_from(count).map_err(|_| LedgerError::Corrupt("count"))?,
            ));
        }
        Ok(provkit_ledger::audit::KeyCensus(out))
    }

    fn min_decrypt_version(&mut self, kek: KekId) -> Result<u32> {
        match self.query_opt(&self.st.min_version, &[&&kek.0[..]])? {
            Some(row) => u32_from_db(col(&row, 0, "min version")?, "min version"),
            None => Ok(0),
        }
    }

    fn set_min_decrypt_version(&mut self, kek: KekId, version: u32) -> Result<()> {
        self.execute(
            &self.st.set_min_version,
            &[&&kek.0[..], &i64::from(version)],
        )?;
        Ok(())
    }
}
