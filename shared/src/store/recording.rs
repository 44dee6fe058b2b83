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
    pub bucket_key: &'a str,
    pub small_blind: i64,
    pub big_blind: i64,
    pub initial_stack: i64,
    pub action_timeout_ms: i64,
    pub seats: serde_json::Value,
}

/// Creates the table and links the run to it, atomically.
pub async fn open_table(
    client: &mut impl GenericClient,
    table: &NewTable<'_>,
) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    execute(
        &tx,
        "INSERT INTO tables (id, run_id, bucket_key, small_blind, big_blind, initial_stack,
                             action_timeout_ms, seats)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (id) DO NOTHING",
        &[
            &table.id,
            &table.run.as_str(),
            &table.bucket_key,
            &table.small_blind,
            &table.big_blind,
            &table.initial_stack,
            &table.action_timeout_ms,
            &table.seats,
        ],
    )
    .await?;
    execute(
        &tx,
        "UPDATE simulation_runs SET table_id = $2 WHERE id = $1",
        &[&table.run.as_str(), &table.id],
    )
    .await?;
    tx.commit().await?;
    Ok(())
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
    pub pots: serde_json::Value,
    pub results: serde_json::Value,
    pub started_at: DateTime<Utc>,
    pub completed_at: DateTime<Utc>,
}

/// One public event.
#[derive(Debug, Clone)]
pub struct EventRow {
    pub seq: i64,
    pub hand_number: Option<i64>,
    pub kind: &'static str,
    pub payload: serde_json::Value,
}

/// One log line of one stream.
#[derive(Debug, Clone)]
pub struct LogRow {
    pub stream: String,
    pub seq: i64,
    pub entry: serde_json::Value,
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

/// Writes a batch of whole hands, their events and log lines (with COPY, the fastest way
/// into PostgreSQL), and the run's progress in one transaction: a hand is recorded
/// completely or not at all. A batch is written whole or not
/// at all, so when its first log line is already there (a retry after a commit whose answer
/// was lost) the batch is skipped: writing a batch twice is harmless.
pub async fn write_batch(
    client: &mut impl GenericClient,
    run: &RunId,
    table_id: Option<&str>,
    batch: &Batch,
    hands_played: i64,
) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    if already_written(&tx, run, table_id, batch).await? {
        return Ok(());
    }
    if let Some(table_id) = table_id {
        if !batch.hands.is_empty() {
            let sink = tx
                .copy_in(
                    "COPY hands (table_id, number, seed, button, small_blind, big_blind, board,
                                 pots, results, started_at, completed_at) FROM STDIN BINARY",
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
    execute(
        &tx,
        "UPDATE simulation_runs SET hands_played = GREATEST(hands_played, $2) WHERE id = $1",
        &[&run.as_str(), &hands_played],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Whether this batch was committed already: its first event (or, without events, its first
/// log line) exists.
async fn already_written(
    client: &impl GenericClient,
    run: &RunId,
    table_id: Option<&str>,
    batch: &Batch,
) -> Result<bool, StoreError> {
    let found = match (table_id, batch.events.first(), batch.logs.first()) {
        (Some(table_id), Some(event), _) => {
            query_opt(
                client,
                "SELECT 1 FROM table_events WHERE table_id = $1 AND seq = $2",
                &[&table_id, &event.seq],
            )
            .await?
        }
        (_, _, Some(log)) => {
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

/// Marks the table ended.
pub async fn close_table(client: &impl GenericClient, table_id: &str) -> Result<(), StoreError> {
    execute(
        client,
        "UPDATE tables SET status = 'ended', ended_at = now() WHERE id = $1 AND status = 'open'",
        &[&table_id],
    )
    .await?;
    Ok(())
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
}

/// Closes a running run; `false` when it was no longer running (someone else closed it).
pub async fn finish_run(
    client: &impl GenericClient,
    run: &RunId,
    end: &RunEnd<'_>,
) -> Result<bool, StoreError> {
    debug_assert!(!end.status.is_active());
    let updated = execute(
        client,
        "UPDATE simulation_runs
            SET status = $2, completed_at = now(), hands_played = $3, results = $4,
                error_code = $5, error_message = $6, heartbeat_at = now(),
                llm_usage = COALESCE($7, llm_usage)
          WHERE id = $1 AND status = 'running'",
        &[
            &run.as_str(),
            &end.status.as_str(),
            &end.hands_played,
            &end.results,
            &end.error_code,
            &end.error_message,
            &end.llm_usage,
        ],
    )
    .await?;
    Ok(updated > 0)
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
