//! The health figures as metrics, pure: Prometheus text (the local stack's `/metrics`) and
//! CloudWatch embedded metric format lines (printed by the dispatch function at every reap and
//! by the runner when a run ends; CloudWatch Logs turns them into metrics the alarms watch).

use crate::store::health::{Figures, Health};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use std::fmt::Write as _;

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "simrunner";

fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Prometheus text exposition (version 0.0.4) of the site's and each config's figures over
/// `period` (a label: `24h`, `7d`).
pub fn prometheus(health: &[(&str, &Health)]) -> String {
    type Figure = fn(&Figures) -> Option<f64>;
    let families: [(&str, &str, Figure); 9] = [
        (
            "simrunner_coverage_ratio",
            "Share of the expected time with at least one live table",
            |f| f.coverage,
        ),
        (
            "simrunner_full_coverage_ratio",
            "Share of the expected time with the configured number of live tables",
            |f| f.full_coverage,
        ),
        (
            "simrunner_runs",
            "Runs that ended (completed or failed) in the period",
            |f| Some(f.runs as f64),
        ),
        (
            "simrunner_failed_runs",
            "Runs that failed in the period",
            |f| Some(f.failed as f64),
        ),
        (
            "simrunner_degraded_runs",
            "Runs whose LLM or outside seats fell back for a reason to fix",
            |f| Some(f.degraded as f64),
        ),
        (
            "simrunner_failure_rate",
            "Failed runs among those that ended",
            Figures::failure_rate,
        ),
        (
            "simrunner_hands",
            "Hands played by runs that ended in the period",
            |f| Some(f.hands as f64),
        ),
        (
            "simrunner_llm_cost_usd",
            "Estimated LLM spend of runs that ended in the period",
            |f| Some(f.llm_cost_usd),
        ),
        (
            "simrunner_fallbacks_per_100_decisions",
            "Decisions of LLM and outside seats that fell back, per 100",
            Figures::fallbacks_per_100,
        ),
    ];
    let mut text = String::new();
    for (name, help, value) in families {
        let _ = writeln!(text, "# HELP {name} {help}.\n# TYPE {name} gauge");
        for (period, health) in health {
            if let Some(v) = value(&health.overall) {
                let _ = writeln!(text, "{name}{{period=\"{period}\"}} {v}");
            }
            for config in &health.configs {
                if let Some(v) = value(&config.figures) {
                    let _ = writeln!(
                        text,
                        "{name}{{period=\"{period}\",config=\"{}\",name=\"{}\"}} {v}",
                        config.id,
                        label(&config.name)
                    );
                }
            }
        }
    }
    if let Some((_, now)) = health.first() {
        let _ = writeln!(
            text,
            "# HELP simrunner_open_tables Tables open now.\n# TYPE simrunner_open_tables gauge\n\
             simrunner_open_tables {}\n# HELP simrunner_active_runs Runs queued or running now.\n\
             # TYPE simrunner_active_runs gauge\nsimrunner_active_runs {}",
            now.open_tables, now.active_runs
        );
    }
    text
}

/// One embedded-metric-format line: `values` as dimensionless metrics (name, unit, value).
pub fn emf_line(at: DateTime<Utc>, values: &[(&str, &str, f64)]) -> String {
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": at.timestamp_millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [[]],
                "Metrics": values.iter().map(|(name, unit, _)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
            }],
        }),
    );
    for (name, _, value) in values {
        line.insert((*name).into(), json!(value));
    }
    Value::Object(line).to_string()
}

/// The site's figures over the last 24 hours, and what is live now, as the dispatch function
/// reports them each minute; what the template's alarms watch. Percentages as percentages.
pub fn site_emf(health: &Health, at: DateTime<Utc>) -> String {
    let f = &health.overall;
    let mut values = vec![
        ("OpenTables", "Count", health.open_tables as f64),
        ("ActiveRuns", "Count", health.active_runs as f64),
        ("Runs24h", "Count", f.runs as f64),
        ("FailedRuns24h", "Count", f.failed as f64),
        ("Hands24h", "Count", f.hands as f64),
        ("LlmCostUsd24h", "None", f.llm_cost_usd),
    ];
    if let Some(coverage) = f.coverage {
        values.push(("Coverage24h", "Percent", coverage * 100.0));
    }
    if let Some(full) = f.full_coverage {
        values.push(("FullCoverage24h", "Percent", full * 100.0));
    }
    if let Some(rate) = f.failure_rate() {
        values.push(("FailureRate24h", "Percent", rate * 100.0));
    }
    if let Some(per_100) = f.fallbacks_per_100() {
        values.push(("FallbacksPer100Decisions24h", "None", per_100));
    }
    emf_line(at, &values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::health::ConfigHealth;

    fn health() -> Health {
        let figures = Figures {
            runs: 10,
            failed: 1,
            hands: 200,
            decisions: 50,
            fallbacks: 5,
            coverage: Some(0.5),
            ..Figures::default()
        };
        Health {
            from: DateTime::UNIX_EPOCH,
            to: DateTime::UNIX_EPOCH,
            overall: figures.clone(),
            series: Vec::new(),
            configs: vec![ConfigHealth {
                id: "sim_1".into(),
                name: "Say \"hi\"".into(),
                schedule_type: "always_on".into(),
                status: "active".into(),
                live_tables: Some(1),
                figures,
                series: Vec::new(),
            }],
            open_tables: 2,
            active_runs: 3,
        }
    }

    #[test]
    fn prometheus_text_escapes_labels_and_skips_missing_figures() {
        let text = prometheus(&[("24h", &health())]);
        assert!(
            text.contains("simrunner_failure_rate{period=\"24h\"} 0.1\n"),
            "{text}"
        );
        assert!(text.contains(
            r#"simrunner_coverage_ratio{period="24h",config="sim_1",name="Say \"hi\""} 0.5"#
        ));
        assert!(
            !text.contains("simrunner_full_coverage_ratio{"),
            "no always-on figure given"
        );
        assert!(text.contains("simrunner_open_tables 2\n"));
    }

    #[test]
    fn emf_lines_declare_every_value_they_carry() {
        let line: Value = serde_json::from_str(&site_emf(&health(), DateTime::UNIX_EPOCH)).unwrap();
        let declared = line["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap();
        for metric in declared {
            assert!(
                line[metric["Name"].as_str().unwrap()].is_number(),
                "{metric}"
            );
        }
        assert_eq!(line["FailureRate24h"], 10.0);
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Namespace"],
            "simrunner"
        );
    }
}
