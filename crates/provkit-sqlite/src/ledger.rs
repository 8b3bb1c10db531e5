//! [`SqliteLedger`]: the ledger backend on SQLite.

use crate::{SqliteOptions, db, open_connection};
use provkit::envelope::shipment::KeyUsageCode;
use provkit::envelope::{Kcv, KekId, KekRef};
use provkit_ledger::codec::{
    array_from_db, from_db, kek_ref_from_db, kind_code, kind_from_code, to_db, u32_from_db,
    wrap_code, wrap_from_code,
};
use provkit_ledger::{
    AuditRecord, BatchId, ChainHead, ImportRow, ImportStatus, KeyCensus, KeyRow, LedgerBackend,
    LedgerError, LedgerTx, Result, StoredWrap, TxMode,
};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use std::path::Path;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS ledger_keys (
    serial          INTEGER PRIMARY KEY,
    batch_id        BLOB    NOT NULL,
    manufacturer_id BLOB    NOT NULL,
    key_id          INTEGER NOT NULL,
    usage           BLOB    NOT NULL,
    kind            INTEGER NOT NULL,
    kcv             BLOB    NOT NULL,
    kek_id          BLOB    NOT NULL,
    kek_version     INTEGER NOT NULL,
    wrap_alg        INTEGER NOT NULL,
    wrapped         BLOB    NOT NULL,
    fingerprint     BLOB    NOT NULL UNIQUE,
    imported_at     INTEGER NOT NULL,
    issued_at       INTEGER,
    certificate     BLOB,
    UNIQUE (manufacturer_id, key_id)
);
CREATE INDEX IF NOT EXISTS ledger_keys_kek ON ledger_keys (kek_id, kek_version);
CREATE TABLE IF NOT EXISTS ledger_staged (
    batch_id        BLOB    NOT NULL,
    serial          INTEGER NOT NULL,
    manufacturer_id BLOB    NOT NULL,
    key_id          INTEGER NOT NULL,
    usage           BLOB    NOT NULL,
    kind            INTEGER NOT NULL,
    kcv             BLOB    NOT NULL,
    kek_id          BLOB    NOT NULL,
    kek_version     INTEGER NOT NULL,
    wrap_alg        INTEGER NOT NULL,
    wrapped         BLOB    NOT NULL,
    fingerprint     BLOB    NOT NULL,
    imported_at     INTEGER NOT NULL,
    PRIMARY KEY (batch_id, serial)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ledger_imports (
    batch_id        BLOB    PRIMARY KEY,
    manufacturer_id BLOB    NOT NULL,
    header_hash     BLOB    NOT NULL,
    record_count    INTEGER NOT NULL,
    chunks_staged   INTEGER NOT NULL,
    records_staged  INTEGER NOT NULL,
    status          INTEGER NOT NULL,
    transcript_hash BLOB,
    started_at      INTEGER NOT NULL,
    completed_at    INTEGER
);
CREATE TABLE IF NOT EXISTS ledger_audit (
    seq    INTEGER PRIMARY KEY,
    ts     INTEGER NOT NULL,
    kind   INTEGER NOT NULL,
    serial INTEGER,
    event  BLOB    NOT NULL,
    hash   BLOB    NOT NULL
);
CREATE INDEX IF NOT EXISTS ledger_audit_serial ON ledger_audit (serial) WHERE serial IS NOT NULL;
CREATE TABLE IF NOT EXISTS ledger_audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB    NOT NULL
);
CREATE TABLE IF NOT EXISTS ledger_kek_policy (
    kek_id              BLOB    PRIMARY KEY,
    min_decrypt_version INTEGER NOT NULL
);
CREATE TRIGGER IF NOT EXISTS ledger_audit_no_update BEFORE UPDATE ON ledger_audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS ledger_audit_no_delete BEFORE DELETE ON ledger_audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
";

const KEY_COLUMNS: &str = "serial, batch_id, manufacturer_id, key_id, usage, kind, kcv, kek_id, \
     kek_version, wrap_alg, wrapped, fingerprint, imported_at, issued_at, certificate";
const STAGED_COLUMNS: &str = "serial, batch_id, manufacturer_id, key_id, usage, kind, kcv, kek_id, \
     kek_version, wrap_alg, wrapped, fingerprint, imported_at, NULL, NULL";

/// The issuance ledger's tables in a SQLite file: a [`LedgerBackend`].
///
/// ```no_run
/// # fn main() -> provkit_ledger::Result<()> {
/// let backend = provkit_sqlite::SqliteLedger::open("ledger.db", Default::default())?;
/// # let _ = backend; Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct SqliteLedger {
    conn: rusqlite::Connection,
}

impl SqliteLedger {
    /// Opens (creating if needed) the ledger tables in the file at `path`, in WAL mode.
    ///
    /// # Errors
    /// [`LedgerError::Backend`] when the file cannot be opened or the schema created.
    pub fn open(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self> {
        let conn = open_connection(path.as_ref(), options).map_err(db)?;
        conn.execute_batch(SCHEMA).map_err(db)?;
        Ok(Self { conn })
    }

    /// The underlying connection: for reports and inspection (and, in tests, for
    /// simulating an attacker who edits the file).
    pub const fn connection(&mut self) -> &mut rusqlite::Connection {
        &mut self.conn
    }
}

impl LedgerBackend for SqliteLedger {
    type Tx<'a> = SqliteTx<'a>;

    fn begin(&mut self, mode: TxMode) -> Result<SqliteTx<'_>> {
        let behavior = match mode {
            TxMode::Read => TransactionBehavior::Deferred,
            TxMode::Write => TransactionBehavior::Immediate,
        };
        let tx = self.conn.transaction_with_behavior(behavior).map_err(db)?;
        Ok(SqliteTx { tx })
    }
}

/// One SQLite transaction (rolled back on drop unless committed).
#[derive(Debug)]
pub struct SqliteTx<'a> {
    tx: rusqlite::Transaction<'a>,
}

/// A key row's columns as SQLite returns them, converted after the query.
struct RawKey {
    serial: i64,
    batch_id: Vec<u8>,
    manufacturer_id: Vec<u8>,
    key_id: i64,
    usage: Vec<u8>,
    kind: i64,
    kcv: Vec<u8>,
    kek_id: Vec<u8>,
    kek_version: i64,
    wrap_alg: i64,
    wrapped: Vec<u8>,
    fingerprint: Vec<u8>,
    imported_at: i64,
    issued_at: Option<i64>,
    certificate: Option<Vec<u8>>,
}

impl RawKey {
    fn read(r: &rusqlite::Row<'_>) -> rusqlite::Result<Self> {
        Ok(Self {
            serial: r.get(0)?,
            batch_id: r.get(1)?,
            manufacturer_id: r.get(2)?,
            key_id: r.get(3)?,
            usage: r.get(4)?,
            kind: r.get(5)?,
            kcv: r.get(6)?,
            kek_id: r.get(7)?,
            kek_version: r.get(8)?,
            wrap_alg: r.get(9)?,
            wrapped: r.get(10)?,
            fingerprint: r.get(11)?,
            imported_at: r.get(12)?,
            issued_at: r.get(13)?,
            certificate: r.get(14)?,
        })
    }

    fn convert(self) -> Result<KeyRow> {
        Ok(KeyRow {
            serial: from_db(self.serial),
            batch_id: array_from_db(&self.batch_id, "batch id")?,
            manufacturer_id: array_from_db(&self.manufacturer_id, "manufacturer id")?,
            key_id: from_db(self.key_id),
            usage: KeyUsageCode(array_from_db(&self.usage, "key usage")?),
            kind: kind_from_code(self.kind)?,
            kcv: Kcv(array_from_db(&self.kcv, "KCV")?),
            wrapped: StoredWrap {
                kek: kek_ref_from_db(&self.kek_id, self.kek_version)?,
                alg: wrap_from_code(self.wrap_alg)?,
                bytes: self.wrapped,
            },
            fingerprint: array_from_db(&self.fingerprint, "fingerprint")?,
            imported_at: from_db(self.imported_at),
            issued_at: self.issued_at.map(from_db),
            certificate: self.certificate,
        })
    }
}

impl SqliteTx<'_> {
    fn keys_where(&self, sql_where: &str, params: &[&dyn rusqlite::ToSql]) -> Result<Vec<KeyRow>> {
        self.rows(
            &format!("SELECT {KEY_COLUMNS} FROM ledger_keys {sql_where}"),
            params,
        )
    }

    fn rows(&self, sql: &str, params: &[&dyn rusqlite::ToSql]) -> Result<Vec<KeyRow>> {
        let mut stmt = self.tx.prepare_cached(sql).map_err(db)?;
        let raw = stmt
            .query_map(params, RawKey::read)
            .map_err(db)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db)?;
        raw.into_iter().map(RawKey::convert).collect()
    }

    fn one_key(&self, sql_where: &str, params: &[&dyn rusqlite::ToSql]) -> Result<Option<KeyRow>> {
        Ok(self.keys_where(sql_where, params)?.into_iter().next())
    }
}

fn to_u32(v: i64, what: &'static str) -> Result<u32> {
    u32_from_db(v, what)
}

impl LedgerTx for SqliteTx<'_> {
    fn commit(self) -> Result<()> {
        self.tx.commit().map_err(db)
    }

    fn audit_head(&mut self) -> Result<ChainHead> {
        let head = self
            .tx
            .prepare_cached("SELECT seq, hash FROM ledger_audit_head WHERE id = 1")
            .map_err(db)?
            .query_row([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?)))
            .optional()
            .map_err(db)?;
        match head {
            None => Ok(ChainHead::GENESIS),
            Some((seq, hash)) => Ok(ChainHead {
                seq: from_db(seq),
                hash: array_from_db(&hash, "audit head hash")?,
            }),
        }
    }

    fn append_audit(&mut self, record: &AuditRecord) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO ledger_audit (seq, ts, kind, serial, event, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )
            .map_err(db)?
            .execute(params![
                to_db(record.seq),
                to_db(record.timestamp),
                record.kind,
                record.serial.map(to_db),
                record.event,
                record.hash.as_slice()
            ])
            .map_err(db)?;
        self.tx
            .prepare_cached(
                "INSERT INTO ledger_audit_head (id, seq, hash) VALUES (1, ?1, ?2) \
                 ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
            )
            .map_err(db)?
            .execute(params![to_db(record.seq), record.hash.as_slice()])
            .map_err(db)?;
        Ok(())
    }

    fn audit_rows(&mut self, from_seq: u64, limit: u32) -> Result<Vec<AuditRecord>> {
        audit_query(
            &self.tx,
            "SELECT seq, ts, kind, serial, event, hash FROM ledger_audit WHERE seq >= ?1 ORDER BY seq LIMIT ?2",
            params![to_db(from_seq), limit],
        )
    }

    fn audit_for_serial(&mut self, serial: u64) -> Result<Vec<AuditRecord>> {
        audit_query(
            &self.tx,
            "SELECT seq, ts, kind, serial, event, hash FROM ledger_audit WHERE serial = ?1 ORDER BY seq",
            params![to_db(serial)],
        )
    }

    fn import_get(&mut self, batch_id: &BatchId) -> Result<Option<ImportRow>> {
        type Raw = (
            Vec<u8>,
            Vec<u8>,
            i64,
            i64,
            i64,
            i64,
            Option<Vec<u8>>,
            i64,
            Option<i64>,
        );
        let raw: Option<Raw> = self
            .tx
            .prepare_cached(
                "SELECT manufacturer_id, header_hash, record_count, chunks_staged, records_staged, \
                 status, transcript_hash, started_at, completed_at FROM ledger_imports WHERE batch_id = ?1",
            )
            .map_err(db)?
            .query_row(params![batch_id.as_slice()], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                    r.get(6)?,
                    r.get(7)?,
                    r.get(8)?,
                ))
            })
            .optional()
            .map_err(db)?;
        let Some((mid, hh, count, chunks, records, status, transcript, started, completed)) = raw
        else {
            return Ok(None);
        };
        Ok(Some(ImportRow {
            batch_id: *batch_id,
            manufacturer_id: array_from_db(&mid, "manufacturer id")?,
            header_hash: array_from_db(&hh, "header hash")?,
            record_count: to_u32(count, "record count")?,
            chunks_staged: to_u32(chunks, "chunks staged")?,
            records_staged: from_db(records),
            status: match status {
                0 => ImportStatus::Staging,
                1 => ImportStatus::Complete,
                _ => return Err(LedgerError::Corrupt("import status")),
            },
            transcript_hash: transcript
                .map(|t| array_from_db(&t, "transcript hash"))
                .transpose()?,
            started_at: from_db(started),
            completed_at: completed.map(from_db),
        }))
    }

    fn import_insert(&mut self, row: &ImportRow) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO ledger_imports (batch_id, manufacturer_id, header_hash, record_count, \
                 chunks_staged, records_staged, status, transcript_hash, started_at, completed_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .map_err(db)?
            .execute(params![
                row.batch_id.as_slice(),
                row.manufacturer_id.as_slice(),
                row.header_hash.as_slice(),
                row.record_count,
                row.chunks_staged,
                to_db(row.records_staged),
                match row.status {
                    ImportStatus::Staging => 0,
                    ImportStatus::Complete => 1,
                },
                row.transcript_hash.as_ref().map(|t| t.as_slice()),
                to_db(row.started_at),
                row.completed_at.map(to_db),
            ])
            .map_err(db)?;
        Ok(())
    }

    fn import_progress(
        &mut self,
        batch_id: &BatchId,
        chunks_staged: u32,
        records_staged: u64,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE ledger_imports SET chunks_staged = ?2, records_staged = ?3 WHERE batch_id = ?1",
            )
            .map_err(db)?
            .execute(params![batch_id.as_slice(), chunks_staged, to_db(records_staged)])
            .map_err(db)?;
        Ok(())
    }

    fn import_complete(
        &mut self,
        batch_id: &BatchId,
        transcript_hash: &[u8; 32],
        completed_at: u64,
    ) -> Result<()> {
        self.tx
            .prepare_cached(
                "UPDATE ledger_imports SET status = 1, transcript_hash = ?2, completed_at = ?3 \
                 WHERE batch_id = ?1",
            )
            .map_err(db)?
            .execute(params![
                batch_id.as_slice(),
                transcript_hash.as_slice(),
                to_db(completed_at)
            ])
            .map_err(db)?;
        Ok(())
    }

    fn import_delete(&mut self, batch_id: &BatchId) -> Result<()> {
        self.tx
            .execute(
                "DELETE FROM ledger_imports WHERE batch_id = ?1",
                params![batch_id.as_slice()],
            )
            .map_err(db)?;
        Ok(())
    }

    fn stage(&mut self, rows: &[KeyRow]) -> Result<()> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "INSERT INTO ledger_staged (batch_id, serial, manufacturer_id, key_id, usage, kind, \
                 kcv, kek_id, kek_version, wrap_alg, wrapped, fingerprint, imported_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
            )
            .map_err(db)?;
        for r in rows {
            stmt.execute(params![
                r.batch_id.as_slice(),
                to_db(r.serial),
                r.manufacturer_id.as_slice(),
                to_db(r.key_id),
                r.usage.0.as_slice(),
                kind_code(r.kind)?,
                r.kcv.0.as_slice(),
                r.wrapped.kek.id.0.as_slice(),
                r.wrapped.kek.version,
                wrap_code(r.wrapped.alg)?,
                r.wrapped.bytes,
                r.fingerprint.as_slice(),
                to_db(r.imported_at),
            ])
            .map_err(db)?;
        }
        Ok(())
    }

    fn promote_staged(&mut self, batch_id: &BatchId) -> Result<u64> {
        let n = self
            .tx
            .prepare_cached(
                "INSERT OR IGNORE INTO ledger_keys (serial, batch_id, manufacturer_id, key_id, usage, \
                 kind, kcv, kek_id, kek_version, wrap_alg, wrapped, fingerprint, imported_at) \
                 SELECT serial, batch_id, manufacturer_id, key_id, usage, kind, kcv, kek_id, \
                 kek_version, wrap_alg, wrapped, fingerprint, imported_at \
                 FROM ledger_staged WHERE batch_id = ?1 ORDER BY serial",
            )
            .map_err(db)?
            .execute(params![batch_id.as_slice()])
            .map_err(db)?;
        Ok(n as u64)
    }

    fn unpromoted_staged(&mut self, batch_id: &BatchId) -> Result<Vec<KeyRow>> {
        self.rows(
            &format!(
                "SELECT {STAGED_COLUMNS} FROM ledger_staged s WHERE s.batch_id = ?1 AND NOT EXISTS \
                 (SELECT 1 FROM ledger_keys k WHERE k.serial = s.serial AND k.batch_id = s.batch_id \
                 AND k.fingerprint = s.fingerprint) ORDER BY s.serial"
            ),
            &[&batch_id.as_slice()],
        )
    }

    fn clear_staged(&mut self, batch_id: &BatchId) -> Result<u64> {
        let n = self
            .tx
            .execute(
                "DELETE FROM ledger_staged WHERE batch_id = ?1",
                params![batch_id.as_slice()],
            )
            .map_err(db)?;
        Ok(n as u64)
    }

    fn key_by_serial(&mut self, serial: u64) -> Result<Option<KeyRow>> {
        self.one_key("WHERE serial = ?1", &[&to_db(serial)])
    }

    fn key_by_fingerprint(&mut self, fingerprint: &[u8; 32]) -> Result<Option<KeyRow>> {
        self.one_key("WHERE fingerprint = ?1", &[&fingerprint.as_slice()])
    }

    fn key_by_key_id(&mut self, manufacturer_id: &[u8; 16], key_id: u64) -> Result<Option<KeyRow>> {
        self.one_key(
            "WHERE manufacturer_id = ?1 AND key_id = ?2",
            &[&manufacturer_id.as_slice(), &to_db(key_id)],
        )
    }

    fn mark_issued(&mut self, serial: u64, now: u64) -> Result<Option<KeyRow>> {
        Ok(self
            .rows(
                &format!(
                    "UPDATE ledger_keys SET issued_at = ?2 WHERE serial = ?1 AND issued_at IS NULL \
                     RETURNING {KEY_COLUMNS}"
                ),
                &[&to_db(serial), &to_db(now)],
            )?
            .into_iter()
            .next())
    }

    fn set_certificate(&mut self, serial: u64, certificate: &[u8]) -> Result<bool> {
        let n = self
            .tx
            .prepare_cached(
                "UPDATE ledger_keys SET certificate = ?2 WHERE serial = ?1 \
                 AND issued_at IS NOT NULL AND certificate IS NULL",
            )
            .map_err(db)?
            .execute(params![to_db(serial), certificate])
            .map_err(db)?;
        Ok(n == 1)
    }

    // Paging: "from the start" is its own statement, never a reserved serial value: every
    // i64 is some serial's stored value (i64::MIN is 2^63), so a sentinel cursor would
    // restart the walk at that serial. Two statements rather than `?1 IS NULL OR …` keep
    // the range on the rowid.

    fn keys_page(&mut self, after: Option<u64>, limit: u32) -> Result<Vec<KeyRow>> {
        match after {
            None => self.keys_where("ORDER BY serial LIMIT ?1", &[&limit]),
            Some(a) => self.keys_where(
                "WHERE serial > ?2 ORDER BY serial LIMIT ?1",
                &[&limit, &to_db(a)],
            ),
        }
    }

    fn keys_not_under(
        &mut self,
        target: KekRef,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<KeyRow>> {
        let (kek_id, version) = (target.id.0.as_slice(), target.version);
        match after {
            None => self.keys_where(
                "WHERE NOT (kek_id = ?2 AND kek_version = ?3) ORDER BY serial LIMIT ?1",
                &[&limit, &kek_id, &version],
            ),
            Some(a) => self.keys_where(
                "WHERE serial > ?4 AND NOT (kek_id = ?2 AND kek_version = ?3) \
                 ORDER BY serial LIMIT ?1",
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
        let n = self
            .tx
            .prepare_cached(
                "UPDATE ledger_keys SET kek_id = ?2, kek_version = ?3, wrap_alg = ?4, wrapped = ?5 \
                 WHERE serial = ?1 AND kek_id = ?6 AND kek_version = ?7",
            )
            .map_err(db)?
            .execute(params![
                to_db(serial),
                wrapped.kek.id.0.as_slice(),
                wrapped.kek.version,
                wrap_code(wrapped.alg)?,
                wrapped.bytes,
                expected.id.0.as_slice(),
                expected.version
            ])
            .map_err(db)?;
        Ok(n == 1)
    }

    fn census(&mut self) -> Result<KeyCensus> {
        let mut stmt = self
            .tx
            .prepare_cached(
                "SELECT kek_id, kek_version, SUM(n) FROM ( \
                 SELECT kek_id, kek_version, COUNT(*) AS n FROM ledger_keys GROUP BY kek_id, kek_version \
                 UNION ALL \
                 SELECT kek_id, kek_version, COUNT(*) AS n FROM ledger_staged GROUP BY kek_id, kek_version) \
                 GROUP BY kek_id, kek_version ORDER BY kek_id, kek_version",
            )
            .map_err(db)?;
        let raw = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })
            .map_err(db)?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map_err(db)?;
        raw.into_iter()
            .map(|(id, v, n)| Ok((kek_ref_from_db(&id, v)?, from_db(n))))
            .collect::<Result<Vec<_>>>()
            .map(KeyCensus)
    }

    fn min_decrypt_version(&mut self, kek: KekId) -> Result<u32> {
        let v: Option<i64> = self
            .tx
            .prepare_cached("SELECT min_decrypt_version FROM ledger_kek_policy WHERE kek_id = ?1")
            .map_err(db)?
            .query_row(params![kek.0.as_slice()], |r| r.get(0))
            .optional()
            .map_err(db)?;
        v.map_or(Ok(0), |v| to_u32(v, "minimum decryption version"))
    }

    fn set_min_decrypt_version(&mut self, kek: KekId, version: u32) -> Result<()> {
        self.tx
            .execute(
                "INSERT INTO ledger_kek_policy (kek_id, min_decrypt_version) VALUES (?1, ?2) \
                 ON CONFLICT (kek_id) DO UPDATE SET min_decrypt_version = excluded.min_decrypt_version",
                params![kek.0.as_slice(), version],
            )
            .map_err(db)?;
        Ok(())
    }
}

fn audit_query(
    tx: &rusqlite::Transaction<'_>,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<AuditRecord>> {
    use rusqlite::types::Value;
    let mut stmt = tx.prepare_cached(sql).map_err(db)?;
    let raw = stmt
        .query_map(params, |r| {
            let v = |i: usize| r.get_ref(i).map(owned);
            Ok([v(0)?, v(1)?, v(2)?, v(3)?, v(4)?, v(5)?])
        })
        .map_err(db)?
        .collect::<rusqlite::Result<Vec<[Value; 6]>>>()
        .map_err(db)?;
    Ok(raw.into_iter().map(audit_record).collect())
}

/// An audit row as read. The audit table is evidence: a value of the wrong type is an
/// edit, and is passed on in a form the chain verifier rejects rather than failing the
/// read. It must not be read as some stand-in number: every `u64` is a real serial or
/// time (−1 is serial 2⁶⁴−1), so a stand-in would match a row that really holds it and
/// hide the edit. A row with any such column keeps only its sequence number, with an
/// empty event and kind 0, which no event has: the verifier reports it edited, there.
fn audit_record(row: [rusqlite::types::Value; 6]) -> AuditRecord {
    use rusqlite::types::Value;
    fn int(v: &Value) -> Option<i64> {
        match v {
            Value::Integer(i) => Some(*i),
            _ => None,
        }
    }
    fn blob(v: Value) -> Option<Vec<u8>> {
        match v {
            Value::Blob(b) => Some(b),
            _ => None,
        }
    }
    let [seq, ts, kind, serial, event, hash] = row;
    // `seq` is the rowid, always an integer; 0 is no sequence number.
    let seq = int(&seq).map_or(0, from_db);
    let serial = match serial {
        Value::Null => Some(None),
        Value::Integer(i) => Some(Some(from_db(i))),
        _ => None,
    };
    let typed = || {
        Some(AuditRecord {
            seq,
            timestamp: from_db(int(&ts)?),
            kind: u8::try_from(int(&kind)?).ok()?,
            serial: serial?,
            event: blob(event)?,
            hash: blob(hash)?.try_into().ok()?,
        })
    };
    typed().unwrap_or(AuditRecord {
        seq,
        timestamp: 0,
        kind: 0,
        serial: None,
        event: Vec::new(),
        hash: [0; 32],
    })
}

/// A column value owned, without rusqlite's text conversion (which panics on text that
/// is not UTF-8, as an edited file may contain).
fn owned(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::Value {
    use rusqlite::types::{Value, ValueRef};
    match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Integer(i),
        ValueRef::Real(f) => Value::Real(f),
        // Text where a blob belongs: keep the bytes, tagged, so the row fails the chain.
        ValueRef::Text(t) => {
            let mut b = b"text:".to_vec();
            b.extend_from_slice(t);
            Value::Blob(b)
        }
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    }
}
