//! Health, as the seed measures it, per config and overall over a period: coverage (the share
//! of the expected time with at least one live table, and with the configured number), runs,
//! failure rate, hands, LLM spend and fallbacks per 100 decisions, with a series of buckets
//! for charts.
//!
//! Figures are made hour by hour: two queries (runs that ended in the hours, tables open
//! during them), and the time arithmetic here, where a config's daily windows in its time
//! zone are known. An hour that ended more than a few minutes ago is final (runs end and
//! tables close at the time they do), so its figures are kept in `health_hours` and a period
//! reads them back: only the current hour, and hours nobody asked about yet, are computed.
//!
//! The expected time of an always-on config is its windows since it was created; of any
//! other config, and of the site, the whole period since creation.

use super::StoreError;
use crate::domain::calendar::{DailyWindow, parse_time_zone, window_spans};
use chrono::{DateTime, Duration, DurationRound as _, Utc};
use deadpool_postgres::GenericClient;
use std::collections::HashMap;
use tokio_postgres::types::Json;

type Span = (DateTime<Utc>, DateTime<Utc>);

/// The figures of one config, or of the site.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    /// Runs that ended (completed or failed; cancelled runs are the operator's choice).
    pub runs: i64,
    pub failed: i64,
    pub degraded: i64,
    pub cancelled: i64,
    pub hands: i64,
    pub llm_cost_usd: f64,
    pub decisions: i64,
    pub fallbacks: i64,
    /// Share of the expected time with at least one live table; `None` when nothing was
    /// expected (a config created after the period).
    pub coverage: Option<f64>,
    /// Share with the configured number of live tables (always-on configs, and the site: the
    /// sum over active always-on configs).
    pub full_coverage: Option<f64>,
}

impl Figures {
    /// Failed runs among those that ended; `None` without any.
    pub fn failure_rate(&self) -> Option<f64> {
        (self.runs > 0).then(|| self.failed as f64 / self.runs as f64)
    }

    pub fn fallbacks_per_100(&self) -> Option<f64> {
        (self.decisions > 0).then(|| self.fallbacks as f64 * 100.0 / self.decisions as f64)
    }
}

/// One stretch of the period, for charts.
#[derive(Debug, Clone, PartialEq)]
pub struct Bucket {
    pub start: DateTime<Utc>,
    pub runs: i64,
    pub failed: i64,
    pub coverage: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct ConfigHealth {
    pub id: String,
    pub name: String,
    pub schedule_type: String,
    pub status: String,
    pub live_tables: Option<i64>,
    pub figures: Figures,
    pub series: Vec<Bucket>,
}

#[derive(Debug, Clone)]
pub struct Health {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub overall: Figures,
    pub series: Vec<Bucket>,
    pub configs: Vec<ConfigHealth>,
    /// Tables open now, and runs queued or running now.
    pub open_tables: i64,
    pub active_runs: i64,
}

/// How many intervals overlap, step by step: after `times[i]` the count is `counts[i]`.
/// Built once per set of intervals; each span then walks only its own stretch.
struct Timeline {
    times: Vec<DateTime<Utc>>,
    counts: Vec<i64>,
}

impl Timeline {
    fn new(intervals: &[Span]) -> Self {
        let mut events: Vec<(DateTime<Utc>, i64)> = Vec::with_capacity(intervals.len() * 2);
        for (start, end) in intervals.iter().filter(|(s, e)| s < e) {
            events.push((*start, 1));
            events.push((*end, -1));
        }
        // Ends before starts at the same instant: a handover at one instant is no overlap.
        events.sort_unstable();
        let mut count = 0;
        let (times, counts) = events
            .into_iter()
            .map(|(at, delta)| {
                count += delta;
                (at, count)
            })
            .unzip();
        Self { times, counts }
    }

    /// Seconds within `spans` (sorted, disjoint) during which at least `min` intervals overlap.
    fn covered(&self, min: i64, spans: &[Span]) -> f64 {
        let mut total = 0.0;
        for &(start, end) in spans {
            let mut i = self.times.partition_point(|t| *t <= start);
            let mut count = if i == 0 { 0 } else { self.counts[i - 1] };
            let mut cursor = start;
            while cursor < end {
                let next = self.times.get(i).map_or(end, |t| (*t).min(end));
                if count >= min {
                    total += (next - cursor).num_milliseconds() as f64 / 1000.0;
                }
                cursor = next;
                match self.times.get(i) {
                    Some(t) if *t <= cursor => {
                        count = self.counts[i];
                        i += 1;
                    }
                    _ => break,
                }
            }
        }
        total
    }
}

fn length(spans: &[Span]) -> f64 {
    spans
        .iter()
        .map(|(s, e)| (*e - *s).num_milliseconds() as f64 / 1000.0)
        .sum()
}

fn clip(spans: &[Span], from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Span> {
    spans
        .iter()
        .map(|(s, e)| ((*s).max(from), (*e).min(to)))
        .filter(|(s, e)| s < e)
        .collect()
}

/// One hour's raw figures for a config (or the site, `scope` ""): sums, and seconds expected,
/// covered by a table, and covered by the configured number of tables.
#[derive(Debug, Clone, Default, PartialEq)]
struct Hour {
    runs: i64,
    failed: i64,
    degraded: i64,
    cancelled: i64,
    hands: i64,
    llm_cost_usd: f64,
    decisions: i64,
    fallbacks: i64,
    expected: f64,
    covered: f64,
    /// Always-on configs, and the site while some always-on config is active.
    full: Option<f64>,
}

impl Hour {
    fn add(&mut self, other: &Hour) {
        self.runs += other.runs;
        self.failed += other.failed;
        self.degraded += other.degraded;
        self.cancelled += other.cancelled;
        self.hands += other.hands;
        self.llm_cost_usd += other.llm_cost_usd;
        self.decisions += other.decisions;
        self.fallbacks += other.fallbacks;
        self.expected += other.expected;
        self.covered += other.covered;
        self.full = match (self.full, other.full) {
            (None, None) => None,
            (a, b) => Some(a.unwrap_or(0.0) + b.unwrap_or(0.0)),
        };
    }

    fn figures(&self) -> Figures {
        let share =
            |seconds: f64| (self.expected > 0.0).then(|| (seconds / self.expected).min(1.0));
        Figures {
            runs: self.runs,
            failed: self.failed,
            degraded: self.degraded,
            cancelled: self.cancelled,
            hands: self.hands,
            llm_cost_usd: self.llm_cost_usd,
            decisions: self.decisions,
            fallbacks: self.fallbacks,
            coverage: share(self.covered),
            full_coverage: self.full.and_then(share),
        }
    }
}

/// A config as the figures need it.
struct Config {
    id: String,
    name: String,
    schedule_type: String,
    status: String,
    live_tables: Option<i64>,
    windows: Vec<DailyWindow>,
    tz: chrono_tz::Tz,
    created_at: DateTime<Utc>,
}

impl Config {
    /// The stretches of `[from, to)` it was expected to have a table.
    fn expected(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Span> {
        let start = from.max(self.created_at);
        if self.schedule_type == "always_on" {
            window_spans(&self.windows, self.tz, start, to)
        } else if start < to {
            vec![(start, to)]
        } else {
            Vec::new()
        }
    }

    fn always_on_live(&self) -> Option<i64> {
        (self.schedule_type == "always_on").then_some(self.live_tables.unwrap_or(1))
    }
}

async fn configs(client: &impl GenericClient) -> Result<Vec<Config>, StoreError> {
    let rows = client
        .query(
            "SELECT id, name, schedule_type, status, live_tables, windows, time_zone, created_at
               FROM simulation_configs ORDER BY created_at, id",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| Config {
            id: row.get(0),
            name: row.get(1),
            schedule_type: row.get(2),
            status: row.get(3),
            live_tables: row.get::<_, Option<i32>>(4).map(i64::from),
            windows: row
                .get::<_, Option<Json<Vec<serde_json::Value>>>>(5)
                .map(|Json(w)| w)
                .unwrap_or_default()
                .iter()
                .filter_map(|w| DailyWindow::parse(w["start"].as_str()?, w["end"].as_str()?).ok())
                .collect(),
            tz: row
                .get::<_, Option<String>>(6)
                .and_then(|t| parse_time_zone(&t).ok())
                .unwrap_or(chrono_tz::Tz::UTC),
            created_at: row.get(7),
        })
        .collect())
}

/// The site's scope in `health_hours`.
const SITE: &str = "";

/// An hour this long past its end is final: its figures are kept.
const SETTLED: Duration = Duration::minutes(5);

/// Computes the figures of every hour in `[from, to)` (hour-aligned `from`; the last hour may
/// be partial), for each config and the site, from the runs and tables themselves.
async fn compute(
    client: &impl GenericClient,
    configs: &[Config],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<HashMap<(String, DateTime<Utc>), Hour>, StoreError> {
    let mut hours: HashMap<(String, DateTime<Utc>), Hour> = HashMap::new();
    let starts: Vec<DateTime<Utc>> = {
        let mut at = from;
        let mut starts = Vec::new();
        while at < to {
            starts.push(at);
            at += Duration::hours(1);
        }
        starts
    };
    let runs = client
        .query(
            "SELECT config_id, date_trunc('hour', completed_at),
                    count(*) FILTER (WHERE status IN ('completed', 'failed')),
                    count(*) FILTER (WHERE status = 'failed'),
                    count(*) FILTER (WHERE degraded_reasons IS NOT NULL),
                    count(*) FILTER (WHERE status = 'cancelled'),
                    COALESCE(sum(hands_played), 0)::bigint,
                    COALESCE(sum(llm_cost_usd), 0)::float8,
                    COALESCE(sum(decisions), 0)::bigint,
                    COALESCE(sum(fallbacks), 0)::bigint
               FROM simulation_runs
              WHERE completed_at >= $1 AND completed_at < $2
              GROUP BY 1, 2",
            &[&from, &to],
        )
        .await?;
    for row in &runs {
        let part = run_counts(row);
        let hour: DateTime<Utc> = row.get(1);
        hours.entry((row.get(0), hour)).or_default().add(&part);
        hours.entry((SITE.to_owned(), hour)).or_default().add(&part);
    }

    let tables = client
        .query(
            "SELECT r.config_id, GREATEST(t.created_at, $1), LEAST(COALESCE(t.ended_at, $2), $2)
               FROM tables t JOIN simulation_runs r ON r.id = t.run_id
              WHERE t.created_at < $2 AND (t.ended_at IS NULL OR t.ended_at > $1)",
            &[&from, &to],
        )
        .await?;
    let mut intervals: HashMap<String, Vec<Span>> = HashMap::new();
    let mut all: Vec<Span> = Vec::with_capacity(tables.len());
    for row in &tables {
        let span: Span = (row.get(1), row.get(2));
        all.push(span);
        intervals.entry(row.get(0)).or_default().push(span);
    }
    let hour_of = |start: DateTime<Utc>| (start, (start + Duration::hours(1)).min(to));
    for config in configs {
        let timeline = Timeline::new(intervals.get(&config.id).map_or(&[][..], Vec::as_slice));
        let expected = config.expected(from, to);
        for &start in &starts {
            let (h0, h1) = hour_of(start);
            let spans = clip(&expected, h0, h1);
            let hour = hours.entry((config.id.clone(), start)).or_default();
            hour.expected = length(&spans);
            hour.covered = timeline.covered(1, &spans);
            hour.full = config
                .always_on_live()
                .map(|live| timeline.covered(live, &spans));
        }
    }
    let wanted: i64 = configs
        .iter()
        .filter(|c| c.status == "active")
        .filter_map(Config::always_on_live)
        .sum();
    let timeline = Timeline::new(&all);
    for &start in &starts {
        let (h0, h1) = hour_of(start);
        let site = hours.entry((SITE.to_owned(), start)).or_default();
        site.expected = length(&[(h0, h1)]);
        site.covered = timeline.covered(1, &[(h0, h1)]);
        site.full = (wanted > 0).then(|| timeline.covered(wanted, &[(h0, h1)]));
    }
    Ok(hours)
}

/// An hour's run counts from a row whose columns 2 to 9 are runs, failed, degraded, cancelled,
/// hands, LLM cost, decisions and fallbacks (how both the runs and the kept hours are read).
fn run_counts(row: &tokio_postgres::Row) -> Hour {
    Hour {
        runs: row.get(2),
        failed: row.get(3),
        degraded: row.get(4),
        cancelled: row.get(5),
        hands: row.get(6),
        llm_cost_usd: row.get(7),
        decisions: row.get(8),
        fallbacks: row.get(9),
        ..Hour::default()
    }
}

/// The hours of `[from, to)`: kept ones read back, the rest computed (and kept once settled).
async fn hours(
    client: &impl GenericClient,
    configs: &[Config],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<HashMap<(String, DateTime<Utc>), Hour>, StoreError> {
    let mut hours: HashMap<(String, DateTime<Utc>), Hour> = HashMap::new();
    let kept = client
        .query(
            "SELECT scope, hour, runs, failed, degraded, cancelled, hands, llm_cost_usd,
                    decisions, fallbacks, expected_seconds, covered_seconds, full_seconds
               FROM health_hours WHERE hour >= $1 AND hour < $2",
            &[&from, &to],
        )
        .await?;
    for row in &kept {
        hours.insert(
            (row.get(0), row.get(1)),
            Hour {
                expected: row.get(10),
                covered: row.get(11),
                full: row.get(12),
                ..run_counts(row)
            },
        );
    }
    // Contiguous runs of hours the site's row is missing for are computed at once.
    let mut missing: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    let mut at = from;
    while at < to {
        if !hours.contains_key(&(SITE.to_owned(), at)) {
            match missing.last_mut() {
                Some(range) if range.1 == at => range.1 = at + Duration::hours(1),
                _ => missing.push((at, at + Duration::hours(1))),
            }
        }
        at += Duration::hours(1);
    }
    let settled_before = Utc::now() - SETTLED;
    for (start, end) in missing {
        let computed = compute(client, configs, start, end.min(to)).await?;
        let settled: Vec<(&(String, DateTime<Utc>), &Hour)> = computed
            .iter()
            .filter(|((_, hour), _)| *hour + Duration::hours(1) <= settled_before.min(to))
            .collect();
        if !settled.is_empty() {
            let scopes: Vec<&str> = settled.iter().map(|((s, _), _)| s.as_str()).collect();
            let starts: Vec<DateTime<Utc>> = settled.iter().map(|((_, h), _)| *h).collect();
            let column =
                |f: fn(&Hour) -> i64| settled.iter().map(|(_, h)| f(h)).collect::<Vec<_>>();
            let seconds =
                |f: fn(&Hour) -> f64| settled.iter().map(|(_, h)| f(h)).collect::<Vec<_>>();
            let full: Vec<Option<f64>> = settled.iter().map(|(_, h)| h.full).collect();
            client
                .execute(
                    "INSERT INTO health_hours (scope, hour, runs, failed, degraded, cancelled,
                                               hands, llm_cost_usd, decisions, fallbacks,
                                               expected_seconds, covered_seconds, full_seconds)
                     SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::int8[], $4::int8[],
                                          $5::int8[], $6::int8[], $7::int8[], $8::float8[],
                                          $9::int8[], $10::int8[], $11::float8[], $12::float8[],
                                          $13::float8[])
                     ON CONFLICT (scope, hour) DO NOTHING",
                    &[
                        &scopes,
                        &starts,
                        &column(|h| h.runs),
                        &column(|h| h.failed),
                        &column(|h| h.degraded),
                        &column(|h| h.cancelled),
                        &column(|h| h.hands),
                        &seconds(|h| h.llm_cost_usd),
                        &column(|h| h.decisions),
                        &column(|h| h.fallbacks),
                        &seconds(|h| h.expected),
                        &seconds(|h| h.covered),
                        &full,
                    ],
                )
                .await?;
            // Kept a day beyond the longest period, then dropped.
            client
                .execute(
                    "DELETE FROM health_hours WHERE hour < $1",
                    &[&(to - Duration::days(8))],
                )
                .await?;
        }
        hours.extend(computed);
    }
    Ok(hours)
}

/// The health of every config and of the site over `[from, to)` — `from` on the hour (as
/// [`period`] gives it) — in `buckets` stretches of whole hours, the last one ending at `to`.
pub async fn health(
    client: &impl GenericClient,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    buckets: i32,
) -> Result<Health, StoreError> {
    let configs = configs(client).await?;
    let hours = hours(client, &configs, from, to).await?;
    let total_hours = ((to - from).num_minutes() + 59) / 60;
    let per_bucket = (total_hours / i64::from(buckets.max(1))).max(1);
    let starts: Vec<DateTime<Utc>> = (0..i64::from(buckets.max(1)))
        .map(|k| from + Duration::hours(k * per_bucket))
        .collect();
    let figures_of = |scope: &str| -> (Hour, Vec<Bucket>) {
        let mut total = Hour::default();
        let series = starts
            .iter()
            .map(|start| {
                let mut bucket = Hour::default();
                for h in 0..per_bucket {
                    if let Some(hour) = hours.get(&(scope.to_owned(), *start + Duration::hours(h)))
                    {
                        bucket.add(hour);
                    }
                }
                total.add(&bucket);
                let figures = bucket.figures();
                Bucket {
                    start: *start,
                    runs: figures.runs,
                    failed: figures.failed,
                    coverage: figures.coverage,
                }
            })
            .collect();
        (total, series)
    };
    let (site, series) = figures_of(SITE);
    let configs = configs
        .iter()
        .map(|config| {
            let (total, series) = figures_of(&config.id);
            ConfigHealth {
                id: config.id.clone(),
                name: config.name.clone(),
                schedule_type: config.schedule_type.clone(),
                status: config.status.clone(),
                live_tables: config.live_tables,
                figures: total.figures(),
                series,
            }
        })
        .collect();
    let now = client
        .query_one(
            "SELECT (SELECT count(*) FROM tables WHERE status = 'open'),
                    (SELECT count(*) FROM simulation_runs WHERE status IN ('queued', 'running'))",
            &[],
        )
        .await?;
    Ok(Health {
        from,
        to,
        overall: site.figures(),
        series,
        configs,
        open_tables: now.get(0),
        active_runs: now.get(1),
    })
}

/// The two periods the console and the API show, on the hour: the last 24 hours (hourly, the
/// current hour last) and 7 days (six-hourly).
pub fn period(name: &str, now: DateTime<Utc>) -> Option<(DateTime<Utc>, i32)> {
    let hour = now.duration_trunc(Duration::hours(1)).unwrap_or(now);
    match name {
        "24h" => Some((hour - Duration::hours(23), 24)),
        "7d" => Some((hour - Duration::hours(7 * 24 - 1), 28)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: i64) -> DateTime<Utc> {
        DateTime::UNIX_EPOCH + Duration::minutes(minute)
    }

    #[test]
    fn coverage_counts_overlaps_inside_the_expected_spans_only() {
        // Two tables: 0–30 and 20–60; a handover at 60 to a table 60–90.
        let tables = Timeline::new(&[(at(0), at(30)), (at(20), at(60)), (at(60), at(90))]);
        let day = [(at(0), at(120))];
        assert_eq!(tables.covered(1, &day), 90.0 * 60.0);
        assert_eq!(tables.covered(2, &day), 10.0 * 60.0);
        // Spans cut the timeline anywhere, between events too.
        assert_eq!(
            tables.covered(1, &[(at(25), at(26)), (at(89), at(95))]),
            2.0 * 60.0
        );
        assert_eq!(tables.covered(2, &[(at(10), at(25))]), 5.0 * 60.0);
        // A window 50–70 sees 20 minutes of the 20; after the last table, none.
        assert_eq!(tables.covered(1, &[(at(50), at(70))]), 20.0 * 60.0);
        assert_eq!(tables.covered(1, &[]), 0.0);
        assert_eq!(tables.covered(1, &[(at(100), at(120))]), 0.0);
    }
}
