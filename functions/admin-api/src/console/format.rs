//! How the console words things: schedules, line-ups, limits, durations, the next scheduled
//! time. Pure functions of the API's views, so the pages and the JSON agree.

use crate::routes::simulations::{AgentSlotView, RunView, SimulationView};
use chrono::{DateTime, Duration, Utc};

/// `every 30 min` or `one-off`.
pub fn schedule(view: &SimulationView) -> String {
    match view.interval_minutes {
        Some(minutes) if view.schedule_type == "periodic" => {
            if minutes % 60 == 0 {
                format!("every {} h", minutes / 60)
            } else {
                format!("every {minutes} min")
            }
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

/// `20 hands · 10 min max · blinds 5/10 · stack 1,000 · live · LLM budget $2.00`
pub fn limits(view: &SimulationView) -> String {
    let table = &view.table_config;
    let mut parts = vec![
        format!("{} hands", chips(view.max_hands)),
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
    if view.schedule_type == "periodic" {
        parts.push(format!("cooldown {} min", view.cooldown_minutes));
    }
    if let Some(budget) = view.max_llm_cost_usd {
        parts.push(format!("LLM budget ${budget:.2}"));
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

/// When an active periodic config should next run, as far as this side can tell: one interval
/// after its latest run was created, and not before that run's cooldown is over. The
/// scheduler keeps its own clock, so this is an estimate; `None` for a paused or one-off
/// config, or while a run is active.
pub fn next_run(view: &SimulationView, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    if view.status != "active" || view.schedule_type != "periodic" || view.is_running {
        return None;
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
            remote_watch_url: None,
        };
        let view = |latest: Option<RunView>| SimulationView {
            id: "sim_x".into(),
            name: "x".into(),
            status: "active",
            schedule_type: "periodic",
            interval_minutes: Some(30),
            cooldown_minutes: 45,
            max_hands: 1,
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
    fn numbers_and_paths_are_written_for_people_and_urls() {
        assert_eq!(chips(1_000_000), "1,000,000");
        assert_eq!(chips(999), "999");
        assert_eq!(chips(-1234), "-1,234");
        assert_eq!(url_encode("/admin/x?a=1&b=<"), "/admin/x%3Fa%3D1%26b%3D%3C");
        assert_eq!(reason("missing_api_key"), "missing api key");
    }
}
