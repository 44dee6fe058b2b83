//! How the console words things: schedules, line-ups, limits, durations, the next scheduled
//! time. Pure functions of the API's views, so the pages and the JSON agree.

use crate::routes::simulations::{AgentSlotView, RunView, SimulationView};
use chrono::{DateTime, Duration, Utc};
use simrunner::domain::calendar::parse_time_zone;
use simrunner::domain::{Calendar, CronExpr};

/// `every 30 min`, `cron(0 8 ? * MON-FRI *) Europe/Berlin`, `always on: 2 tables,
/// 08:00–23:00 Europe/Berlin, handover` or `one-off`.
pub fn schedule(view: &SimulationView) -> String {
    let zone = view.time_zone.as_deref().unwrap_or("UTC");
    match view.schedule_type {
        "periodic" => match (view.interval_minutes, &view.cron_expression) {
            (Some(minutes), _) if minutes % 60 == 0 => format!("every {} h", minutes / 60),
            (Some(minutes), _) => format!("every {minutes} min"),
            (None, Some(cron)) => {
                let mut text = format!("cron({cron}) {zone}");
                if let Some(max) = view.max_runs {
                    text.push_str(&format!(", at most {max} runs"));
                }
                text
            }
            (None, None) => "periodic".into(),
        },
        "always_on" => {
            let tables = view.live_tables.unwrap_or(1);
            let mut text = format!(
                "always on: {tables} table{}",
                if tables == 1 { "" } else { "s" }
            );
            if view.windows.is_empty() {
                text.push_str(", all day");
            } else {
                let windows: Vec<String> = view
                    .windows
                    .iter()
                    .map(|w| format!("{}–{}", w.start, w.end))
                    .collect();
                text.push_str(&format!(", {} {zone}", windows.join(", ")));
            }
            if view.handover {
                text.push_str(", handover");
            }
            text
        }
        _ => "one-off".into(),
    }
}

/// `tight ×2, random, protocol (openai:gpt-4o-mini)`: seats grouped by what plays them, in
/// seat order of first appearance.
pub fn lineup(slots: &[AgentSlotView]) -> String {
    let mut groups: Vec<(String, usize)> = Vec::new();
    for slot in slots {
        let detail = slot
            .model
            .as_deref()
            .or(slot.agent_id.as_deref())
            .or(slot.webhook_id.as_deref());
        let name = match detail {
            Some(detail) => format!("{} ({detail})", slot.agent_type),
            None => slot.agent_type.to_owned(),
        };
        match groups.iter_mut().find(|(n, _)| *n == name) {
            Some((_, count)) => *count += 1,
            None => groups.push((name, 1)),
        }
    }
    groups
        .into_iter()
        .map(|(name, count)| match count {
            1 => name,
            n => format!("{name} ×{n}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `20 hands · 10 min max · blinds 5/10 · stack 1,000 · live · LLM budget $2.00`, or
/// `10 tables × 20 hands · …` for a multi-table config.
pub fn limits(view: &SimulationView) -> String {
    let table = &view.table_config;
    let hands = match view.tables {
        1 => format!("{} hands", chips(view.max_hands)),
        n => format!("{n} tables × {} hands", chips(view.max_hands)),
    };
    let mut parts = vec![
        hands,
        format!("{} min max", view.max_run_minutes),
        format!(
            "blinds {}/{}",
            chips(table.blinds.small),
            chips(table.blinds.big)
        ),
        format!("stack {}", chips(table.initial_stack)),
        format!("{} s to act", table.action_timeout_ms as f64 / 1000.0),
        view.pace.to_owned(),
    ];
    if view.schedule_type != "one_off" {
        parts.push(format!("cooldown {} min", view.cooldown_minutes));
    }
    if let Some(budget) = view.max_llm_cost_usd {
        parts.push(format!("LLM budget ${budget:.2}"));
    }
    if let Some(after) = view.auto_pause_after {
        parts.push(format!(
            "pauses after {after} failed or degraded runs in a row"
        ));
    }
    if view.hosted_table.is_some() {
        parts.push("hosted for a remote client".into());
    } else if view.host != "builtin" {
        parts.push(format!("plays at platform {}", view.host));
    }
    parts.join(" · ")
}

/// `1,000,000`
pub fn chips(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if amount < 0 { format!("-{out}") } else { out }
}

/// When an active periodic config should next run, as far as this side can tell: a
/// calendar's next time; one interval after its latest run was created, and not before that
/// run's cooldown is over. The scheduler keeps its own clock, so this is an estimate; `None`
/// for a paused, one-off or always-on config, or while a run is active.
pub fn next_run(view: &SimulationView, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if view.status != "active" || view.schedule_type != "periodic" || view.is_running {
        return None;
    }
    if let Some(cron) = &view.cron_expression {
        let calendar = Calendar {
            cron: CronExpr::parse(cron).ok()?,
            time_zone: parse_time_zone(view.time_zone.as_deref().unwrap_or("UTC")).ok()?,
            starts_at: view.starts_at,
            ends_at: view.ends_at,
            max_runs: view.max_runs,
        };
        return calendar.next_after(now);
    }
    let interval = Duration::minutes(view.interval_minutes?);
    let Some(run) = &view.latest_run else {
        return Some(now + interval);
    };
    let mut next = run.created_at + interval;
    if let Some(end) = run.completed_at {
        next = next.max(end + Duration::minutes(view.cooldown_minutes));
    }
    // A due time in the past means "at the scheduler's next firing": whole intervals later,
    // counted rather than stepped (a config idle for a year must not cost a loop per page).
    if next < now {
        let missed = (now - next).num_seconds() / interval.num_seconds() + 1;
        next += interval * missed as i32;
    }
    Some(next)
}

/// `cooling down` from `cooling_down`.
pub fn reason(code: &str) -> String {
    code.replace('_', " ")
}

/// `2 min 05 s`, or `running` while the run is active.
pub fn duration(run: &RunView) -> String {
    let (Some(start), Some(end)) = (run.started_at, run.completed_at) else {
        return if matches!(run.status, "queued" | "running") {
            "running".into()
        } else {
            "—".into()
        };
    };
    let seconds = (end - start).num_seconds().max(0);
    match seconds {
        s if s < 60 => format!("{s} s"),
        s if s < 3600 => format!("{} min {:02} s", s / 60, s % 60),
        s => format!("{} h {:02} min", s / 3600, s % 3600 / 60),
    }
}

/// `12,345 tokens · $0.042` for a run with LLM seats.
pub fn llm_usage(run: &RunView) -> Option<String> {
    let usage = run.llm_usage.as_ref()?;
    let tokens = usage["tokens"]["input"].as_i64().unwrap_or(0)
        + usage["tokens"]["output"].as_i64().unwrap_or(0);
    let mut text = format!("{} tokens", chips(tokens));
    if let Some(cost) = usage["cost_usd"].as_f64() {
        text.push_str(&format!(" · ${cost:.3}"));
    }
    Some(text)
}

/// What the run warned about: providers that stopped answering (`llm_warnings`) and webhook
/// seats that fell back (`webhook_warnings`), as their messages.
pub fn run_warnings(run: &RunView) -> Vec<String> {
    let Some(results) = &run.results else {
        return Vec::new();
    };
    ["llm_warnings", "webhook_warnings"]
        .iter()
        .filter_map(|list| results[*list].as_array())
        .flatten()
        .filter_map(|warning| warning["message"].as_str().map(str::to_owned))
        .collect()
}

/// `82.5 %`, or `—` when there is nothing to measure.
pub fn percent(share: Option<f64>) -> String {
    match share {
        Some(share) => format!("{:.1} %", share * 100.0),
        None => "—".into(),
    }
}

/// One bar of a chart: where it is drawn (in the chart's own units) and what it says.
pub struct Bar {
    pub x: f64,
    pub y: f64,
    pub width: f64,
    pub height: f64,
    /// `bad`, `ok` or `none` (nothing to measure): the bar's colour.
    pub class: &'static str,
    pub title: String,
}

/// Chart geometry: 100 units high, `width` wide.
pub const CHART_HEIGHT: f64 = 100.0;

/// Bars for shares (0–1) over time, on a chart `width` units wide: a bar under `target` is
/// drawn as bad; a bucket with nothing to measure as a faint stub.
pub fn share_bars(shares: &[(DateTime<Utc>, Option<f64>)], width: f64, target: f64) -> Vec<Bar> {
    let step = width / shares.len().max(1) as f64;
    shares
        .iter()
        .enumerate()
        .map(|(i, (at, share))| {
            let height = share.map_or(2.0, |s| (s * CHART_HEIGHT).max(1.0));
            Bar {
                x: i as f64 * step + 1.0,
                y: CHART_HEIGHT - height,
                width: (step - 2.0).max(1.0),
                height,
                class: match share {
                    None => "none",
                    Some(s) if *s < target => "bad",
                    Some(_) => "ok",
                },
                title: format!("{}: {}", at.format("%Y-%m-%d %H:%M UTC"), percent(*share)),
            }
        })
        .collect()
}

/// Bars for runs over time, failed ones stacked on top in the bad colour.
pub fn run_bars(buckets: &[(DateTime<Utc>, i64, i64)], width: f64) -> Vec<Bar> {
    let step = width / buckets.len().max(1) as f64;
    let most = buckets
        .iter()
        .map(|(_, runs, _)| *runs)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let mut bars = Vec::new();
    for (i, (at, runs, failed)) in buckets.iter().enumerate() {
        let x = i as f64 * step + 1.0;
        let width = (step - 2.0).max(1.0);
        let ok = (runs - failed) as f64 / most * CHART_HEIGHT;
        let bad = *failed as f64 / most * CHART_HEIGHT;
        let title = format!(
            "{}: {runs} runs, {failed} failed",
            at.format("%Y-%m-%d %H:%M UTC")
        );
        bars.push(Bar {
            x,
            y: CHART_HEIGHT - ok,
            width,
            height: ok,
            class: "ok",
            title: title.clone(),
        });
        if *failed > 0 {
            bars.push(Bar {
                x,
                y: CHART_HEIGHT - ok - bad,
                width,
                height: bad,
                class: "bad",
                title,
            });
        }
    }
    bars
}

/// Percent-encodes everything but unreserved characters and `/`, for a path in a query.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(agent_type: &'static str, model: Option<&str>) -> AgentSlotView {
        AgentSlotView {
            agent_type,
            model: model.map(str::to_owned),
            agent_id: None,
            webhook_id: None,
        }
    }

    #[test]
    fn outside_seats_name_the_agent_they_are_kept_for() {
        let mut kept = slot("external", None);
        kept.agent_id = Some("agt_1".into());
        let slots = [slot("external", None), slot("external", None), kept];
        assert_eq!(lineup(&slots), "external ×2, external (agt_1)");
    }

    #[test]
    fn line_ups_group_seats_by_what_plays_them() {
        let slots = [
            slot("tight", None),
            slot("protocol", Some("openai:gpt-4o-mini")),
            slot("tight", None),
            slot("random", None),
            slot("protocol", Some("anthropic:claude")),
        ];
        assert_eq!(
            lineup(&slots),
            "tight ×2, protocol (openai:gpt-4o-mini), random, protocol (anthropic:claude)"
        );
    }

    #[test]
    fn the_next_run_is_an_interval_after_the_last_and_never_in_the_past() {
        use crate::routes::simulations::{BlindsView, TableConfigView};
        let now = Utc::now();
        let run = |created: DateTime<Utc>, completed: Option<DateTime<Utc>>| RunView {
            id: "run_x".into(),
            config_id: "sim_x".into(),
            status: "completed",
            trigger: "schedule",
            hands_played: 1,
            table_id: None,
            results: None,
            error: None,
            created_at: created,
            started_at: Some(created),
            completed_at: completed,
            heartbeat_at: None,
            stop_requested_at: None,
            llm_usage: None,
            standby: false,
            degraded: false,
            degraded_reasons: vec![],
            decisions: 0,
            fallbacks: 0,
            remote_watch_url: None,
        };
        let view = |latest: Option<RunView>| SimulationView {
            id: "sim_x".into(),
            name: "x".into(),
            status: "active",
            schedule_type: "periodic",
            interval_minutes: Some(30),
            cron_expression: None,
            time_zone: None,
            starts_at: None,
            ends_at: None,
            max_runs: None,
            live_tables: None,
            windows: vec![],
            handover: false,
            auto_pause_after: None,
            pause_reason: None,
            coverage_lost_at: None,
            cooldown_minutes: 45,
            max_hands: 1,
            tables: 1,
            max_run_minutes: 1,
            pace: "fast",
            agent_count: 2,
            agent_slots: vec![],
            table_config: TableConfigView {
                blinds: BlindsView { small: 1, big: 2 },
                initial_stack: 100,
                action_timeout_ms: 1000,
            },
            max_llm_cost_usd: None,
            join_timeout_seconds: None,
            fill_empty_seats_with: None,
            host: "builtin".into(),
            hosted_table: None,
            bucket_key: String::new(),
            is_running: false,
            latest_run: latest,
            last_skip: None,
            warnings: vec![],
            created_at: now,
            updated_at: now,
        };
        let minutes = Duration::minutes;
        // Never run: one interval from now.
        assert_eq!(next_run(&view(None), now), Some(now + minutes(30)));
        // The cooldown outlasts the interval.
        let recent = run(now - minutes(10), Some(now - minutes(5)));
        assert_eq!(next_run(&view(Some(recent)), now), Some(now + minutes(40)));
        // Long idle: the next whole interval after now, not a time in the past.
        let old = run(now - Duration::days(365), Some(now - Duration::days(365)));
        let next = next_run(&view(Some(old)), now).unwrap();
        assert!(next > now && next <= now + minutes(30), "{next} vs {now}");
        // Paused: nothing scheduled.
        let mut paused = view(None);
        paused.status = "paused";
        assert_eq!(next_run(&paused, now), None);
    }

    #[test]
    fn charts_scale_to_their_height_and_mark_what_misses_the_target() {
        let at = DateTime::UNIX_EPOCH;
        let bars = share_bars(&[(at, Some(1.0)), (at, Some(0.5)), (at, None)], 300.0, 0.95);
        assert_eq!((bars[0].height, bars[0].class), (100.0, "ok"));
        assert_eq!((bars[1].y, bars[1].class), (50.0, "bad"));
        assert_eq!(bars[2].class, "none");
        assert!(bars[1].title.ends_with("50.0 %"));
        let bars = run_bars(&[(at, 4, 1), (at, 2, 0)], 200.0);
        assert_eq!(bars.len(), 3, "a failed part only where runs failed");
        assert_eq!((bars[0].height, bars[1].height), (75.0, 25.0));
        assert_eq!(bars[2].height, 50.0);
    }

    #[test]
    fn numbers_and_paths_are_written_for_people_and_urls() {
        assert_eq!(chips(1_000_000), "1,000,000");
        assert_eq!(chips(999), "999");
        assert_eq!(chips(-1234), "-1,234");
        assert_eq!(url_encode("/admin/x?a=1&b=<"), "/admin/x%3Fa%3D1%26b%3D%3C");
        assert_eq!(reason("missing_api_key"), "missing api key");
    }
}
