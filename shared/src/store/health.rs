//! Health, as the seed measures it, per config and overall over a period: coverage (the share
//! of the expected time with at least one live table, and with the configured number), runs,
//! failure rate, hands, LLM spend and fallbacks per 100 decisions, with a series of buckets
//! for charts. Two queries (runs that ended in the period, tables open during it); the time
//! arithmetic is done here, where a config's daily windows in its time zone are known.
//!
//! The expected time of an always-on config is its windows since it was created; of any
//! other config, and of the site, the whole period since creation.

use super::StoreError;
use crate::domain::calendar::{DailyWindow, parse_time_zone, window_spans};
use chrono::{DateTime, Duration, Utc};
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

    fn add_runs(&mut self, other: &Figures) {
        self.runs += other.runs;
        self.failed += other.failed;
        self.degraded += other.degraded;
        self.cancelled += other.cancelled;
        self.hands += other.hands;
        self.llm_cost_usd += other.llm_cost_usd;
        self.decisions += other.decisions;
        self.fallbacks += other.fallbacks;
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

    /// The share (0–1) of `spans` with at least `min` overlapping; `None` without spans.
    fn share(&self, min: i64, spans: &[Span]) -> Option<f64> {
        let expected = length(spans);
        (expected > 0.0 && min >= 1).then(|| (self.covered(min, spans) / expected).min(1.0))
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

/// What one config contributes, before the figures are summed.
struct ConfigRow {
    health: ConfigHealth,
    expected: Vec<Span>,
    always_on_live: Option<i64>,
    active: bool,
}

/// The health of every config and of the site over `[from, to)`, in `buckets` equal stretches.
pub async fn health(
    client: &impl GenericClient,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    buckets: i32,
) -> Result<Health, StoreError> {
    let bucket = (to - from) / buckets.max(1);
    let starts: Vec<DateTime<Utc>> = (0..buckets.max(1)).map(|i| from + bucket * i).collect();

    let configs = client
        .query(
            "SELECT id, name, schedule_type, status, live_tables, windows, time_zone, created_at
               FROM simulation_configs ORDER BY created_at, id",
            &[],
        )
        .await?;
    let mut rows: Vec<ConfigRow> = Vec::with_capacity(configs.len());
    let mut index: HashMap<String, usize> = HashMap::new();
    for row in &configs {
        let id: String = row.get(0);
        let schedule_type: String = row.get(2);
        let status: String = row.get(3);
        let live_tables: Option<i64> = row.get::<_, Option<i32>>(4).map(i64::from);
        let windows: Vec<DailyWindow> = row
            .get::<_, Option<Json<Vec<serde_json::Value>>>>(5)
            .map(|Json(w)| w)
            .unwrap_or_default()
            .iter()
            .filter_map(|w| DailyWindow::parse(w["start"].as_str()?, w["end"].as_str()?).ok())
            .collect();
        let tz = row
            .get::<_, Option<String>>(6)
            .and_then(|t| parse_time_zone(&t).ok())
            .unwrap_or(chrono_tz::Tz::UTC);
        let created: DateTime<Utc> = row.get(7);
        let start = from.max(created);
        let expected = if schedule_type == "always_on" {
            window_spans(&windows, tz, start, to)
        } else if start < to {
            vec![(start, to)]
        } else {
            Vec::new()
        };
        index.insert(id.clone(), rows.len());
        rows.push(ConfigRow {
            always_on_live: (schedule_type == "always_on").then_some(live_tables.unwrap_or(1)),
            active: status == "active",
            expected,
            health: ConfigHealth {
                id,
                name: row.get(1),
                schedule_type,
                status,
                live_tables,
                figures: Figures::default(),
                series: starts
                    .iter()
                    .map(|s| Bucket {
                        start: *s,
                        runs: 0,
                        failed: 0,
                        coverage: None,
                    })
                    .collect(),
            },
        });
    }

    let runs = client
        .query(
            "SELECT config_id,
                    LEAST(floor(extract(epoch FROM completed_at - $1) / $3::float8)::int, $4 - 1) AS bucket,
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
            &[
                &from,
                &to,
                &(bucket.num_milliseconds() as f64 / 1000.0),
                &buckets.max(1),
            ],
        )
        .await?;
    for row in &runs {
        let Some(&i) = index.get(&row.get::<_, String>(0)) else {
            continue;
        };
        let part = Figures {
            runs: row.get(2),
            failed: row.get(3),
            degraded: row.get(4),
            cancelled: row.get(5),
            hands: row.get(6),
            llm_cost_usd: row.get(7),
            decisions: row.get(8),
            fallbacks: row.get(9),
            ..Figures::default()
        };
        let health = &mut rows[i].health;
        health.figures.add_runs(&part);
        if let Some(b) = health.series.get_mut(row.get::<_, i32>(1).max(0) as usize) {
            b.runs += part.runs;
            b.failed += part.failed;
        }
    }

    let tables = client
        .query(
            "SELECT r.config_id, GREATEST(t.created_at, $1), LEAST(COALESCE(t.ended_at, $2), $2)
               FROM tables t JOIN simulation_runs r ON r.id = t.run_id
              WHERE t.created_at < $2 AND (t.ended_at IS NULL OR t.ended_at > $1)",
            &[&from, &to],
        )
        .await?;
    let mut intervals: Vec<Vec<Span>> = vec![Vec::new(); rows.len()];
    let mut all: Vec<Span> = Vec::with_capacity(tables.len());
    for row in &tables {
        let span: Span = (row.get(1), row.get(2));
        all.push(span);
        if let Some(&i) = index.get(&row.get::<_, String>(0)) {
            intervals[i].push(span);
        }
    }

    let mut overall = Figures::default();
    let mut series: Vec<Bucket> = starts
        .iter()
        .map(|s| Bucket {
            start: *s,
            runs: 0,
            failed: 0,
            coverage: None,
        })
        .collect();
    for (row, mine) in rows.iter_mut().zip(&intervals) {
        let timeline = Timeline::new(mine);
        let figures = &mut row.health.figures;
        figures.coverage = timeline.share(1, &row.expected);
        figures.full_coverage = row
            .always_on_live
            .and_then(|live| timeline.share(live, &row.expected));
        for b in &mut row.health.series {
            b.coverage = timeline.share(1, &clip(&row.expected, b.start, b.start + bucket));
        }
        overall.add_runs(figures);
        for (total, mine) in series.iter_mut().zip(&row.health.series) {
            total.runs += mine.runs;
            total.failed += mine.failed;
        }
    }
    let whole = vec![(from, to)];
    let timeline = Timeline::new(&all);
    overall.coverage = timeline.share(1, &whole);
    let wanted: i64 = rows
        .iter()
        .filter(|r| r.active)
        .filter_map(|r| r.always_on_live)
        .sum();
    overall.full_coverage = (wanted > 0)
        .then(|| timeline.share(wanted, &whole))
        .flatten();
    for b in &mut series {
        b.coverage = timeline.share(1, &[(b.start, b.start + bucket)]);
    }

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
        overall,
        series,
        configs: rows.into_iter().map(|r| r.health).collect(),
        open_tables: now.get(0),
        active_runs: now.get(1),
    })
}

/// The two periods the console and the API show: the last 24 hours (hourly) and 7 days
/// (six-hourly).
pub fn period(name: &str, now: DateTime<Utc>) -> Option<(DateTime<Utc>, i32)> {
    match name {
        "24h" => Some((now - Duration::hours(24), 24)),
        "7d" => Some((now - Duration::days(7), 28)),
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
        // A window 50–70 sees 20 minutes of the 20.
        assert_eq!(tables.share(1, &[(at(50), at(70))]), Some(1.0));
        assert_eq!(tables.share(1, &[]), None);
        assert_eq!(tables.share(1, &[(at(100), at(120))]), Some(0.0));
    }
}
