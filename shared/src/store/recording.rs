//! What the runner writes: the claim, heartbeats, the table, batches of finished hands with
//! their events and log lines, and the run's end. Also log retention and log reading.

use super::{StoreError, execute, query, query_opt};
use crate::domain::{RunId, RunStatus, SimulationId};
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use tokio_postgres::binary_copy::BinaryCopyInWriter;
use tokio_postgres::types::Type;

/// The result of trying to claim a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// This runner owns the run now.
    Claimed {
        config_id: SimulationId,
        seed: i64,
    },
    /// The run exists but is not queued (already claimed, finished or cancelled).
    NotQueued(RunStatus),
    Unknown,
}

/// Moves a queued run to running in one statement, so two runners can never both play it.
pub async fn claim_run(
    client: &impl GenericClient,
    run: &RunId,
    runner_id: &str,
    seed: i64,
) -> Result<Claim, StoreError> {
    let claimed = query_opt(
        client,
        "UPDATE simulation_runs
            SET status = 'running', started_at = now(), heartbeat_at = now(),
                runner_id = $2, seed = COALESCE(seed, $3)
          WHERE id = $1 AND status = 'queued'
          RETURNING config_id, seed",
        &[&run.as_str(), &runner_id, &seed],
    )
    .await?;
    if let Some(row) = claimed {
        let config: String = row.get(0);
        let config_id = SimulationId::parse(&config)
            .ok_or_else(|| StoreError::Corrupt(format!("config id {config:?}")))?;
        return Ok(Claim::Claimed {
            config_id,
            seed: row.get(1),
        });
    }
    let status = query_opt(
        client,
        "SELECT status FROM simulation_runs WHERE id = $1",
        &[&run.as_str()],
    )
    .await?;
    Ok(match status {
        None => Claim::Unknown,
        Some(row) => {
            let text: String = row.get(0);
            Claim::NotQueued(
                RunStatus::parse(&text)
                    .ok_or_else(|| StoreError::Corrupt(format!("run status {text:?}")))?,
            )
        }
    })
}

/// Refreshes the heartbeat and progress (hands, and the LLM seats' usage when there are
/// any); returns whether a stop was requested. `None` when the run is no longer running
/// (reaped or closed by someone else).
pub async fn heartbeat(
    client: &impl GenericClient,
    run: &RunId,
    hands_played: i64,
    llm_usage: Option<&serde_json::Value>,
) -> Result<Option<bool>, StoreError> {
    let row = query_opt(
        client,
        "UPDATE simulation_runs
            SET heartbeat_at = now(), hands_played = $2, llm_usage = COALESCE($3, llm_usage)
          WHERE id = $1 AND status = 'running'
          RETURNING stop_requested_at IS NOT NULL",
        &[&run.as_str(), &hands_played, &llm_usage],
    )
    .await?;
    Ok(row.map(|r| r.get(0)))
}

/// A table about to open.
#[derive(Debug, Clone)]
pub struct NewTable<'a> {
    pub id: &'a str,
    pub run: &'a RunId,
    /// The config's name, as the public tables list shows it.
    pub name: &'a str,
    pub bucket_key: &'a str,
    pub small_blind: i64,
    pub big_blind: i64,
    pub initial_stack: i64,
    pub action_timeout_ms: i64,
    pub seats: serde_json::Value,
    /// The table has external seats: it waits for its agents before its first hand
    /// (`started_at` stays NULL until [`super::seating::start_table`]).
    pub waits_for_agents: bool,
    /// The table's place in its run, from 1: the first is the run's `table_id`.
    pub position: i16,
}

/// Creates the table (or adopts one made for it: a hosted table the admin API opened before
/// its runner started) and links the run to it, atomically.
pub async fn open_table(
    client: &mut impl GenericClient,
    table: &NewTable<'_>,
) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    execute(
        &tx,
        "INSERT INTO tables (id, run_id, bucket_key, small_blind, big_blind, initial_stack,
                             action_timeout_ms, seats, name, started_at, position)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, CASE WHEN $10 THEN NULL ELSE now() END, $11)
         ON CONFLICT (id) DO UPDATE SET run_id = EXCLUDED.run_id WHERE tables.run_id IS NULL",
        &[
            &table.id,
            &table.run.as_str(),
            &table.bucket_key,
            &table.small_blind,
            &table.big_blind,
            &table.initial_stack,
            &table.action_timeout_ms,
            &table.seats,
            &table.name,
            &table.waits_for_agents,
            &table.position,
        ],
    )
    .await?;
    if table.position == 1 {
        execute(
            &tx,
            "UPDATE simulation_runs SET table_id = $2 WHERE id = $1",
            &[&table.run.as_str(), &table.id],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A JSON document already written as text: stored in `json` (or `jsonb`) columns as it is,
/// with no `serde_json::Value` in between. What the runner records is serialised once, when
/// it happens, and a batch holds compact text instead of maps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonText(String);

impl JsonText {
    /// `value` as JSON text.
    pub fn of(value: &impl serde::Serialize) -> Self {
        Self(serde_json::to_string(value).expect("recorded values serialise"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Adds `key` (not already there) with `value` to the object this text is.
    pub fn insert(&mut self, key: &str, value: &serde_json::Value) {
        debug_assert!(self.0.ends_with('}'), "only an object takes a field");
        self.0.pop();
        if !self.0.ends_with('{') {
            self.0.push(',');
        }
        self.0
            .push_str(&serde_json::to_string(key).expect("a string serialises"));
        self.0.push(':');
        self.0.push_str(&value.to_string());
        self.0.push('}');
    }
}

impl From<&serde_json::Value> for JsonText {
    fn from(value: &serde_json::Value) -> Self {
        Self(value.to_string())
    }
}

impl From<serde_json::Value> for JsonText {
    fn from(value: serde_json::Value) -> Self {
        Self(value.to_string())
    }
}

impl tokio_postgres::types::ToSql for JsonText {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> Result<tokio_postgres::types::IsNull, Box<dyn std::error::Error + Sync + Send>> {
        if *ty == Type::JSONB {
            out.extend_from_slice(&[1]); // jsonb's binary format version
        }
        out.extend_from_slice(self.0.as_bytes());
        Ok(tokio_postgres::types::IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::JSON || *ty == Type::JSONB
    }

    tokio_postgres::types::to_sql_checked!();
}

/// One finished hand, as stored.
#[derive(Debug, Clone)]
pub struct HandRow {
    pub number: i64,
    pub seed: String,
    pub button: i16,
    pub small_blind: i64,
    pub big_blind: i64,
    pub board: Vec<String>,
    pub pots: JsonText,
    pub results: JsonText,
    /// The seq of the hand's first public event.
    pub first_seq: i64,
    pub started_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
}

/// One public event.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub seq: i64,
    pub hand_number: Option<i64>,
    pub kind: &'static str,
    pub payload: JsonText,
}

/// One log line of one stream.
#[derive(Debug, Clone)]
pub struct LogRow {
    pub stream: String,
    pub seq: i64,
    pub entry: JsonText,
}

/// Everything recorded since the last write.
#[derive(Debug, Default)]
pub struct Batch {
    pub hands: Vec<HandRow>,
    pub events: Vec<EventRow>,
    pub logs: Vec<LogRow>,
}

impl Batch {
    pub fn is_empty(&self) -> bool {
        self.hands.is_empty() && self.events.is_empty() && self.logs.is_empty()
    }

    pub fn clear(&mut self) {
        self.hands.clear();
        self.events.clear();
        self.logs.clear();
    }
}

/// Where a table stands after a batch: what the public tables list shows.
#[derive(Debug, Clone)]
pub struct TableProgress<'a> {
    pub id: &'a str,
    pub hands_played: i64,
    /// `[{"seat", "stack"}]` after the last finished hand.
    pub stacks: &'a serde_json::Value,
}

/// Appends public events as they happen (live pace: each action reaches watchers at once).
/// Idempotent: a retried append skips the events already there. The hand's row follows in
/// [`write_batch`] when the hand ends.
pub async fn append_events(
    client: &impl GenericClient,
    table_id: &str,
    events: &[EventRow],
) -> Result<(), StoreError> {
    let seqs: Vec<i64> = events.iter().map(|e| e.seq).collect();
    let hands: Vec<Option<i64>> = events.iter().map(|e| e.hand_number).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind).collect();
    let payloads: Vec<&JsonText> = events.iter().map(|e| &e.payload).collect();
    execute(
        client,
        "WITH added AS (
             INSERT INTO table_events (table_id, seq, hand_number, kind, payload)
             SELECT $1, e.* FROM unnest($2::int8[], $3::int8[], $4::text[], $5::json[]) AS e
              WHERE EXISTS (SELECT 1 FROM tables WHERE id = $1)
             ON CONFLICT (table_id, seq) DO NOTHING
             RETURNING seq)
         UPDATE tables SET last_seq = GREATEST(last_seq, (SELECT max(seq) FROM added)),
                           last_event_at = now()
          WHERE id = $1 AND EXISTS (SELECT 1 FROM added)",
        &[&table_id, &seqs, &hands, &kinds, &payloads],
    )
    .await?;
    Ok(())
}

/// Writes a batch of whole hands, their events (those not appended already) and log lines
/// (with COPY, the fastest way into PostgreSQL), the table's progress and the run's in one
/// transaction: a hand's row is recorded completely or not at all. A batch is written whole
/// or not at all, so when its first hand, event or log line is already there (a retry after
/// a commit whose answer was lost) the batch is skipped: writing a batch twice is harmless.
pub async fn write_batch(
    client: &mut impl GenericClient,
    run: &RunId,
    table: Option<&TableProgress<'_>>,
    batch: &Batch,
    hands_played: i64,
) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    let table_id = table.map(|t| t.id);
    if already_written(&tx, run, table_id, batch).await? {
        return Ok(());
    }
    if let Some(table_id) = table_id {
        if !batch.hands.is_empty() {
            let sink = tx
                .copy_in(
                    "COPY hands (table_id, number, seed, button, small_blind, big_blind, board,
                                 pots, results, first_seq, started_at, completed_at)
                     FROM STDIN BINARY",
                )
                .await?;
            let types = [
                Type::TEXT,
                Type::INT8,
                Type::TEXT,
                Type::INT2,
                Type::INT8,
                Type::INT8,
                Type::TEXT_ARRAY,
                Type::JSON,
                Type::JSON,
                Type::INT8,
                Type::TIMESTAMPTZ,
                Type::TIMESTAMPTZ,
            ];
            let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, &types));
            for h in &batch.hands {
                writer
                    .as_mut()
                    .write(&[
                        &table_id,
                        &h.number,
                        &h.seed,
                        &h.button,
                        &h.small_blind,
                        &h.big_blind,
                        &h.board,
                        &h.pots,
                        &h.results,
                        &h.first_seq,
                        &h.started_at,
                        &h.completed_at,
                    ])
                    .await?;
            }
            writer.finish().await?;
        }
        if !batch.events.is_empty() {
            // COPY is the fastest way in: events are most of what a run writes.
            let sink = tx
                .copy_in(
                    "COPY table_events (table_id, seq, hand_number, kind, payload) FROM STDIN BINARY",
                )
                .await?;
            let types = [Type::TEXT, Type::INT8, Type::INT8, Type::TEXT, Type::JSON];
            let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, &types));
            for e in &batch.events {
                writer
                    .as_mut()
                    .write(&[&table_id, &e.seq, &e.hand_number, &e.kind, &e.payload])
                    .await?;
            }
            writer.finish().await?;
        }
    }
    if !batch.logs.is_empty() {
        let sink = tx
            .copy_in("COPY run_log_entries (run_id, stream, seq, entry) FROM STDIN BINARY")
            .await?;
        let types = [Type::TEXT, Type::TEXT, Type::INT8, Type::JSON];
        let mut writer = std::pin::pin!(BinaryCopyInWriter::new(sink, &types));
        for l in &batch.logs {
            writer
                .as_mut()
                .write(&[&run.as_str(), &l.stream, &l.seq, &l.entry])
                .await?;
        }
        writer.finish().await?;
    }
    if let Some(table) = table {
        let last_seq = batch.events.last().map(|e| e.seq).unwrap_or(0);
        let updated = execute(
            &tx,
            "UPDATE tables SET hands_played = $2, stacks = $3,
                               last_seq = GREATEST(last_seq, $4), last_event_at = now()
              WHERE id = $1",
            &[&table.id, &table.hands_played, &table.stacks, &last_seq],
        )
        .await?;
        // The batch's one check of its table (its rows have no foreign key): nothing is
        // committed for a table that does not exist.
        if updated == 0 {
            return Err(StoreError::Corrupt(format!(
                "table {} does not exist; its batch was not written",
                table.id
            )));
        }
    }
    execute(
        &tx,
        "UPDATE simulation_runs SET hands_played = GREATEST(hands_played, $2) WHERE id = $1",
        &[&run.as_str(), &hands_played],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether this batch was committed already: its first hand (or, without hands, its first
/// event; without either, its first log line) exists.
async fn already_written(
    client: &impl GenericClient,
    run: &RunId,
    table_id: Option<&str>,
    batch: &Batch,
) -> Result<bool, StoreError> {
    let found = match (
        table_id,
        batch.hands.first(),
        batch.events.first(),
        batch.logs.first(),
    ) {
        (Some(table_id), Some(hand), _, _) => {
            query_opt(
                client,
                "SELECT 1 FROM hands WHERE table_id = $1 AND number = $2",
                &[&table_id, &hand.number],
            )
            .await?
        }
        (Some(table_id), None, Some(event), _) => {
            query_opt(
                client,
                "SELECT 1 FROM table_events WHERE table_id = $1 AND seq = $2",
                &[&table_id, &event.seq],
            )
            .await?
        }
        (_, _, _, Some(log)) => {
            query_opt(
                client,
                "SELECT 1 FROM run_log_entries WHERE run_id = $1 AND stream = $2 AND seq = $3",
                &[&run.as_str(), &log.stream, &log.seq],
            )
            .await?
        }
        _ => None,
    };
    Ok(found.is_some())
}

/// Ends the feeds of open tables whose run is over (killed, failed, reaped, or its config
/// deleted) so no viewer waits forever: a `hand_aborted` for a hand left unfinished, then
/// `table_ended`, and the table marked ended. Returns the tables closed.
pub async fn close_abandoned_tables(
    client: &impl GenericClient,
) -> Result<Vec<String>, StoreError> {
    let rows = query(
        client,
        "WITH abandoned AS (
             SELECT t.id FROM tables t
              WHERE t.status = 'open'
                AND NOT EXISTS (SELECT 1 FROM simulation_runs r
                                 WHERE r.id = t.run_id AND r.status IN ('queued', 'running'))
              FOR UPDATE OF t SKIP LOCKED),
         last AS (
             SELECT DISTINCT ON (e.table_id) e.table_id, e.seq, e.kind, e.hand_number
               FROM table_events e JOIN abandoned a ON a.id = e.table_id
              ORDER BY e.table_id, e.seq DESC),
         aborted AS (
             INSERT INTO table_events (table_id, seq, hand_number, kind, payload)
             SELECT table_id, seq + 1, hand_number, 'hand_aborted',
                    json_build_object('hand', hand_number, 'reason', 'the run ended mid-hand')
               FROM last
              WHERE hand_number IS NOT NULL AND kind NOT IN ('hand_complete', 'table_ended')
             RETURNING table_id, seq),
         ended AS (
             INSERT INTO table_events (table_id, seq, kind, payload)
             SELECT a.id,
                    COALESCE((SELECT seq FROM aborted WHERE aborted.table_id = a.id),
                             (SELECT seq FROM last WHERE last.table_id = a.id), 0) + 1,
                    'table_ended',
                    json_build_object('hands_played', t.hands_played, 'stacks', t.stacks,
                                      'reason', 'the run ended')
               FROM abandoned a JOIN tables t ON t.id = a.id
              WHERE NOT EXISTS (SELECT 1 FROM last WHERE last.table_id = a.id
                                                     AND last.kind = 'table_ended')
             RETURNING table_id, seq)
         UPDATE tables t
            SET status = 'ended', ended_at = now(), last_event_at = now(),
                last_seq = GREATEST(t.last_seq, COALESCE((SELECT max(seq) FROM ended e
                                                           WHERE e.table_id = t.id), 0))
          WHERE t.id IN (SELECT id FROM abandoned)
         RETURNING t.id",
        &[],
    )
    .await?;
    let closed: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    if !closed.is_empty() {
        execute(
            client,
            "DELETE FROM agent_inbox WHERE table_id = ANY($1)",
            &[&closed],
        )
        .await?;
    }
    Ok(closed)
}

/// Marks the table ended (its agents' sessions end with it) and drops its unread inbox.
pub async fn close_table(client: &impl GenericClient, table_id: &str) -> Result<(), StoreError> {
    execute(
        client,
        "UPDATE tables SET status = 'ended', ended_at = now() WHERE id = $1 AND status = 'open'",
        &[&table_id],
    )
    .await?;
    execute(
        client,
        "DELETE FROM agent_inbox WHERE table_id = $1",
        &[&table_id],
    )
    .await?;
    Ok(())
}

/// How well a run's LLM and outside seats played: their decisions, how many fell back, and
/// why the run counts as degraded (`[{code, seat?, message}]`; `None`: it does not).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunQuality {
    pub decisions: i64,
    pub fallbacks: i64,
    pub degraded_reasons: Option<serde_json::Value>,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunEnd<'a> {
    pub status: RunStatus,
    pub hands_played: i64,
    pub results: Option<&'a serde_json::Value>,
    pub error_code: Option<&'a str>,
    pub error_message: Option<&'a str>,
    pub llm_usage: Option<&'a serde_json::Value>,
    /// `None` for a run that ended before it could judge its seats.
    pub quality: Option<&'a RunQuality>,
}

/// Closes a running run; `false` when it was no longer running (someone else closed it).
pub async fn finish_run(
    client: &impl GenericClient,
    run: &RunId,
    end: &RunEnd<'_>,
) -> Result<bool, StoreError> {
    debug_assert!(!end.status.is_active());
    let quality = end.quality.cloned().unwrap_or_default();
    let updated = execute(
        client,
        "UPDATE simulation_runs
            SET status = $2, completed_at = now(), hands_played = $3, results = $4,
                error_code = $5, error_message = $6, heartbeat_at = now(),
                llm_usage = COALESCE($7, llm_usage), decisions = $8, fallbacks = $9,
                degraded_reasons = $10
          WHERE id = $1 AND status = 'running'",
        &[
            &run.as_str(),
            &end.status.as_str(),
            &end.hands_played,
            &end.results,
            &end.error_code,
            &end.error_message,
            &end.llm_usage,
            &quality.decisions,
            &quality.fallbacks,
            &quality.degraded_reasons,
        ],
    )
    .await?;
    Ok(updated > 0)
}

/// Whether a run may deal now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakeOver {
    /// It is in play (it never waited, or it just took a free place).
    InPlay,
    /// Its config's tables are all in play: look again shortly.
    Wait,
}

/// A standby run takes a place in play when fewer than `live_tables` of its config's runs are
/// in play, under the config's row lock (so two standby runs cannot take one place); its
/// safety timeout counts from here (`started_at`).
pub async fn take_over(
    client: &mut impl GenericClient,
    run: &RunId,
) -> Result<TakeOver, StoreError> {
    let tx = client.transaction().await?;
    let Some(row) = query_opt(
        &tx,
        "SELECT r.standby, c.id, COALESCE(c.live_tables, 1)
           FROM simulation_runs r JOIN simulation_configs c ON c.id = r.config_id
          WHERE r.id = $1",
        &[&run.as_str()],
    )
    .await?
    else {
        return Ok(TakeOver::InPlay);
    };
    let (standby, config, live): (bool, String, i32) = (row.get(0), row.get(1), row.get(2));
    if !standby {
        return Ok(TakeOver::InPlay);
    }
    execute(
        &tx,
        "SELECT 1 FROM simulation_configs WHERE id = $1 FOR UPDATE",
        &[&config],
    )
    .await?;
    let took = execute(
        &tx,
        "UPDATE simulation_runs SET standby = false, started_at = now(), heartbeat_at = now()
          WHERE id = $1 AND standby AND status = 'running'
            AND (SELECT count(*) FROM simulation_runs o
                  WHERE o.config_id = $2 AND o.status IN ('queued', 'running') AND NOT o.standby)
                < $3",
        &[&run.as_str(), &config, &i64::from(live)],
    )
    .await?;
    tx.commit().await?;
    Ok(if took > 0 {
        TakeOver::InPlay
    } else {
        TakeOver::Wait
    })
}

/// Keeps the log entries of the `keep` most recent runs and deletes the rest, marking those
/// runs so their logs answer "expired". Returns how many runs lost their logs.
pub async fn rotate_logs(client: &impl GenericClient, keep: i64) -> Result<u64, StoreError> {
    let rows = query(
        client,
        "WITH kept AS (
             SELECT id FROM simulation_runs ORDER BY created_at DESC, id DESC LIMIT $1),
         expired AS (
             UPDATE simulation_runs r SET logs_expired_at = now()
              WHERE r.logs_expired_at IS NULL
                AND r.id NOT IN (SELECT id FROM kept)
                AND EXISTS (SELECT 1 FROM run_log_entries l WHERE l.run_id = r.id)
             RETURNING r.id),
         deleted AS (
             DELETE FROM run_log_entries WHERE run_id IN (SELECT id FROM expired))
         SELECT id FROM expired",
        &[&keep],
    )
    .await?;
    Ok(rows.len() as u64)
}

/// A run's logs for the admin API.
#[derive(Debug)]
pub enum RunLogs {
    Unknown,
    Expired,
    /// `(stream, entries)`, the summary first, then agents by seat.
    Streams(Vec<(String, Vec<serde_json::Value>)>),
}

pub async fn read_run_logs(
    client: &impl GenericClient,
    run: &RunId,
) -> Result<RunLogs, StoreError> {
    let Some(row) = query_opt(
        client,
        "SELECT logs_expired_at IS NOT NULL FROM simulation_runs WHERE id = $1",
        &[&run.as_str()],
    )
    .await?
    else {
        return Ok(RunLogs::Unknown);
    };
    if row.get::<_, bool>(0) {
        return Ok(RunLogs::Expired);
    }
    let rows = query(
        client,
        "SELECT stream, entry FROM run_log_entries WHERE run_id = $1
          ORDER BY stream <> 'simulation-summary', stream, seq",
        &[&run.as_str()],
    )
    .await?;
    let mut streams: Vec<(String, Vec<serde_json::Value>)> = Vec::new();
    for row in rows {
        let stream: String = row.get(0);
        let entry: serde_json::Value = row.get(1);
        match streams.last_mut() {
            Some((name, entries)) if *name == stream => entries.push(entry),
            _ => streams.push((stream, vec![entry])),
        }
    }
    Ok(RunLogs::Streams(streams))
}
