//! Whether a finished run was degraded: its LLM or outside seats fell back (checked or folded)
//! for reasons an operator must fix — a key the provider refused, no quota, a model it does
//! not know, the run's LLM budget spent, a webhook destination that may not be reached — or
//! too often for any reason (timeouts above the threshold). Pure: the runner feeds it what
//! the run counted and writes the answer on the run row.

use crate::llm::ledger::seat_label;
use poker::FallbackReason;
use serde_json::{Value, json};
use simrunner::store::recording::RunQuality;
use std::collections::BTreeMap;

/// A seat is degraded when more than this share of its decisions fell back…
const FALLBACK_SHARE: f64 = 0.2;
/// …over at least this many decisions (one early timeout is not a pattern).
const MIN_DECISIONS: u64 = 5;

/// Per seat that decides on its own (LLM, outside agents): decisions, and fallbacks by reason.
#[derive(Debug, Default)]
pub struct SeatQuality {
    seats: BTreeMap<usize, (u64, BTreeMap<&'static str, u64>)>,
}

impl SeatQuality {
    pub fn record(&mut self, seat: usize, fell_back: Option<FallbackReason>) {
        let (decisions, fallbacks) = self.seats.entry(seat).or_default();
        *decisions += 1;
        // Stopping and leaving are what the run or the agent chose, not a fault.
        if let Some(reason) =
            fell_back.filter(|r| !matches!(r, FallbackReason::Stopping | FallbackReason::Left))
        {
            *fallbacks.entry(reason.name()).or_default() += 1;
        }
    }
}

/// The run's quality from its tables' seat counts (each table's number in a multi-table run,
/// `None` when it plays one), its LLM usage (`warnings`, `budget_exhausted`) and its webhook
/// warnings (each naming its `table` in a multi-table run).
pub fn classify(
    tables: &[(Option<usize>, &SeatQuality)],
    llm_usage: Option<&Value>,
    webhook_warnings: &Value,
) -> RunQuality {
    let mut reasons = Vec::new();
    for warning in llm_usage
        .and_then(|u| u["warnings"].as_array())
        .into_iter()
        .flatten()
    {
        reasons.push(reason_of(warning));
    }
    if llm_usage.is_some_and(|u| u["budget_exhausted"] == true) {
        reasons.push(json!({
            "code": "budget_exhausted",
            "message": "the run's LLM budget (max_llm_cost_usd) was spent; its LLM seats checked or folded from then on",
        }));
    }
    for warning in webhook_warnings.as_array().into_iter().flatten() {
        if warning["code"] == "destination_refused" {
            reasons.push(reason_of(warning));
        }
    }
    let (mut decisions, mut fallbacks) = (0, 0);
    for &(table, seats) in tables {
        for (seat, (made, by_reason)) in &seats.seats {
            let fell_back: u64 = by_reason.values().sum();
            decisions += made;
            fallbacks += fell_back;
            let explained = reasons
                .iter()
                .any(|r| r["seat"] == json!(seat) && r["table"] == json!(table));
            if explained
                || *made < MIN_DECISIONS
                || (fell_back as f64) <= FALLBACK_SHARE * *made as f64
            {
                continue;
            }
            let (top, _) = by_reason
                .iter()
                .max_by_key(|(_, n)| **n)
                .expect("fell back at least once");
            let code = if *top == "timeout" {
                "timeouts"
            } else {
                "fallbacks"
            };
            let mut reason = json!({
                "code": code, "seat": seat,
                "message": format!(
                    "{} checked or folded in {fell_back} of its {made} decisions (mostly {top}), \
                     above the {}% threshold",
                    seat_label(table, *seat),
                    (FALLBACK_SHARE * 100.0) as u32
                ),
            });
            if let Some(table) = table {
                reason["table"] = json!(table);
            }
            reasons.push(reason);
        }
    }
    // Table by table, seat by seat (the run-wide ones first), however the warnings arrived.
    reasons.sort_by_key(|r| (r["table"].as_u64(), r["seat"].as_u64()));
    RunQuality {
        decisions: decisions as i64,
        fallbacks: fallbacks as i64,
        degraded_reasons: (!reasons.is_empty()).then(|| Value::Array(reasons)),
    }
}

/// A warning as a degraded reason: its code, seat (and table) and message.
fn reason_of(warning: &Value) -> Value {
    let mut reason = json!({
        "code": warning["code"], "seat": warning["seat"], "message": warning["message"],
    });
    if !warning["table"].is_null() {
        reason["table"] = warning["table"].clone();
    }
    reason
}

/// The run's end as one CloudWatch embedded-metric line (the task's log group turns it into
/// metrics): runs ended, failed and degraded, hands, LLM spend, decisions and fallbacks.
pub fn emf(failed: bool, hands: i64, quality: &RunQuality, llm_usage: Option<&Value>) -> String {
    let cost = llm_usage
        .and_then(|u| u["cost_usd"].as_f64())
        .unwrap_or(0.0);
    simrunner::metrics::emf_line(
        chrono::Utc::now(),
        &[
            ("RunsEnded", "Count", 1.0),
            ("RunsFailed", "Count", f64::from(u8::from(failed))),
            (
                "RunsDegraded",
                "Count",
                f64::from(u8::from(quality.degraded_reasons.is_some())),
            ),
            ("Hands", "Count", hands as f64),
            ("LlmCostUsd", "None", cost),
            ("Decisions", "Count", quality.decisions as f64),
            ("Fallbacks", "Count", quality.fallbacks as f64),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_keys_and_frequent_timeouts_degrade_a_run_seat_by_seat_and_a_stray_timeout_does_not()
    {
        let mut seats = SeatQuality::default();
        for _ in 0..10 {
            seats.record(0, Some(FallbackReason::Auth));
            seats.record(1, None);
        }
        seats.record(1, Some(FallbackReason::Timeout));
        for i in 0..10 {
            seats.record(2, (i < 3).then_some(FallbackReason::Timeout));
        }
        seats.record(3, Some(FallbackReason::Stopping));
        // Warnings arrive in the order the seats met them; the reasons read seat by seat.
        let usage = json!({"warnings": [{"seat": 3, "provider": "google", "code": "model_not_found",
                                         "status": 404, "message": "google answered model_not_found for seat 3"},
                                        {"seat": 0, "provider": "openai", "code": "auth", "status": 401,
                                         "message": "openai answered auth for seat 0"}],
                           "budget_exhausted": false});
        let quality = classify(&[(None, &seats)], Some(&usage), &json!([]));
        assert_eq!((quality.decisions, quality.fallbacks), (32, 14));
        let reasons = quality.degraded_reasons.unwrap();
        let codes: Vec<(&str, i64)> = reasons
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["code"].as_str().unwrap(), r["seat"].as_i64().unwrap()))
            .collect();
        assert_eq!(
            codes,
            [("auth", 0), ("timeouts", 2), ("model_not_found", 3)]
        );

        let mut fine = SeatQuality::default();
        for _ in 0..10 {
            fine.record(0, None);
        }
        assert!(
            classify(&[(None, &fine)], None, &json!([]))
                .degraded_reasons
                .is_none()
        );
        let spent = classify(
            &[(None, &fine)],
            Some(&json!({"warnings": [], "budget_exhausted": true})),
            &json!([]),
        );
        assert_eq!(
            spent.degraded_reasons.unwrap()[0]["code"],
            "budget_exhausted"
        );
    }

    #[test]
    fn a_multi_table_run_names_the_table_of_each_degraded_seat() {
        let (mut first, mut second) = (SeatQuality::default(), SeatQuality::default());
        for _ in 0..10 {
            first.record(1, None);
            second.record(1, Some(FallbackReason::Timeout));
        }
        // The refused key is table 1's seat 1: table 2's seat 1 is degraded by its timeouts.
        let usage = json!({"warnings": [{"seat": 1, "table": 1, "code": "auth",
                                         "message": "openai answered auth for table 1 seat 1"}],
                           "budget_exhausted": false});
        let quality = classify(
            &[(Some(1), &first), (Some(2), &second)],
            Some(&usage),
            &json!([{"seat": 4, "table": 2, "code": "destination_refused", "message": "refused"}]),
        );
        let reasons = quality.degraded_reasons.unwrap();
        let named: Vec<(i64, i64, &str)> = reasons
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["table"].as_i64().unwrap(),
                    r["seat"].as_i64().unwrap(),
                    r["code"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            named,
            [
                (1, 1, "auth"),
                (2, 1, "timeouts"),
                (2, 4, "destination_refused")
            ]
        );
        assert!(
            reasons[1]["message"]
                .as_str()
                .unwrap()
                .starts_with("table 2 seat 1 checked or folded in 10 of its 10")
        );
    }
}
