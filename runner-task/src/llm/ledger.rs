//! What a run's LLM seats have spent: tokens and estimated cost per seat and in total, the
//! budget (`max_llm_cost_usd`), and warnings about providers that stopped answering for
//! good. Shared by the run's LLM agents; the runner writes it to the run row.

use super::prices::{Price, cost};
use super::wire::Usage;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Debug, Clone)]
struct SeatLedger {
    /// The seat's table in a multi-table run (from 1); `None` when the run plays one.
    table: Option<usize>,
    seat: usize,
    provider: &'static str,
    model: String,
    price: Option<Price>,
    usage: Usage,
    calls: u64,
    decisions: u64,
    fallbacks: u64,
    repairs: u64,
    cost_usd: f64,
}

#[derive(Debug, Default)]
pub struct Ledger {
    seats: Vec<SeatLedger>,
    budget_usd: Option<f64>,
    exhausted: bool,
    warnings: Vec<Value>,
}

/// The run's ledger, shared by its agents. The lock is never held across an `await`.
#[derive(Debug, Clone, Default)]
pub struct SharedLedger(Arc<Mutex<Ledger>>);

impl SharedLedger {
    pub fn new(budget_usd: Option<f64>) -> Self {
        Self(Arc::new(Mutex::new(Ledger {
            budget_usd,
            ..Ledger::default()
        })))
    }

    pub fn lock(&self) -> MutexGuard<'_, Ledger> {
        // A panic while holding the lock leaves counts that are still worth reading.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `seat 3`, or `table 2 seat 3` in a multi-table run.
pub fn seat_label(table: Option<usize>, seat: usize) -> String {
    match table {
        Some(table) => format!("table {table} seat {seat}"),
        None => format!("seat {seat}"),
    }
}

impl Ledger {
    /// Adds a seat (of `table` in a multi-table run) and returns its slot: how the seat's
    /// agent and the runner name it here.
    pub fn add_seat(
        &mut self,
        table: Option<usize>,
        seat: usize,
        provider: &'static str,
        model: &str,
        price: Option<Price>,
    ) -> usize {
        self.seats.push(SeatLedger {
            table,
            seat,
            provider,
            model: model.to_owned(),
            price,
            usage: Usage::default(),
            calls: 0,
            decisions: 0,
            fallbacks: 0,
            repairs: 0,
            cost_usd: 0.0,
        });
        self.seats.len() - 1
    }

    /// Counts one model call; returns true when this call used up the budget.
    pub fn record_call(&mut self, slot: usize, usage: &Usage) -> bool {
        if let Some(entry) = self.seats.get_mut(slot) {
            entry.calls += 1;
            entry.usage.add(usage);
            if let Some(price) = entry.price {
                entry.cost_usd += cost(&price, usage);
            }
        }
        let over = self
            .budget_usd
            .is_some_and(|budget| self.cost_usd() >= budget);
        let newly = over && !self.exhausted;
        self.exhausted |= over;
        newly
    }

    pub fn record_decision(&mut self, slot: usize, fell_back: bool) {
        if let Some(entry) = self.seats.get_mut(slot) {
            entry.decisions += 1;
            entry.fallbacks += u64::from(fell_back);
        }
    }

    pub fn record_repair(&mut self, slot: usize) {
        if let Some(entry) = self.seats.get_mut(slot) {
            entry.repairs += 1;
        }
    }

    /// A provider stopped answering this seat for the rest of the run (never the key).
    pub fn warn(&mut self, slot: usize, code: &str, status: Option<u16>, message: &str) {
        let Some(entry) = self.seats.get(slot) else {
            return;
        };
        let (provider, label) = (entry.provider, seat_label(entry.table, entry.seat));
        let mut warning = json!({
            "seat": entry.seat, "provider": provider, "code": code, "status": status,
            "message": format!("{provider} answered {code} for {label}: {message}; the seat \
                                checks or folds for the rest of the run"),
        });
        if let Some(table) = entry.table {
            warning["table"] = json!(table);
        }
        self.warnings.push(warning);
    }

    pub fn exhausted(&self) -> bool {
        self.exhausted
    }

    /// The estimated cost so far: seats of unknown price count nothing.
    pub fn cost_usd(&self) -> f64 {
        self.seats.iter().map(|s| s.cost_usd).sum()
    }

    pub fn seat_json(&self, slot: usize) -> Option<Value> {
        self.seats.get(slot).map(seat_json)
    }

    /// The run row's `llm_usage`: per seat and in total.
    pub fn to_json(&self) -> Value {
        let mut total = Usage::default();
        for seat in &self.seats {
            total.add(&seat.usage);
        }
        let priced = self.seats.iter().any(|s| s.price.is_some());
        json!({
            "seats": self.seats.iter().map(seat_json).collect::<Vec<_>>(),
            "tokens": total.to_json(),
            "calls": self.seats.iter().map(|s| s.calls).sum::<u64>(),
            "cost_usd": priced.then(|| round_cents(self.cost_usd())),
            "budget_usd": self.budget_usd,
            "budget_exhausted": self.exhausted,
            "warnings": self.warnings,
        })
    }
}

/// Costs are estimates: a tenth of a cent is precision enough.
fn round_cents(cost: f64) -> f64 {
    (cost * 1000.0).round() / 1000.0
}

fn seat_json(s: &SeatLedger) -> Value {
    let mut entry = json!({
        "seat": s.seat, "provider": s.provider, "model": s.model,
        "tokens": s.usage.to_json(), "calls": s.calls, "decisions": s.decisions,
        "fallbacks": s.fallbacks, "repairs": s.repairs,
        "cost_usd": s.price.map(|_| round_cents(s.cost_usd)),
    });
    if let Some(table) = s.table {
        entry["table"] = json!(table);
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_reached_once_and_unknown_prices_count_tokens_only() {
        let ledger = SharedLedger::new(Some(0.01));
        let mut l = ledger.lock();
        let priced = l.add_seat(
            None,
            0,
            "openai",
            "gpt-4o",
            Some(Price {
                input: 2.5,
                cached_input: 1.25,
                output: 10.0,
            }),
        );
        let unpriced = l.add_seat(Some(2), 1, "openai", "local-model", None);
        let call = Usage {
            input: 1000,
            output: 200,
            cached: 0,
            reasoning: 0,
        };
        assert!(!l.record_call(priced, &call), "$0.0045");
        assert!(!l.record_call(unpriced, &call), "unpriced");
        assert!(!l.record_call(priced, &call), "$0.009");
        assert!(l.record_call(priced, &call), "$0.0135 reaches $0.01");
        assert!(
            l.exhausted() && !l.record_call(priced, &call),
            "reported once"
        );
        l.warn(unpriced, "auth", Some(401), "refused");
        let json = l.to_json();
        assert_eq!(json["seats"][1]["cost_usd"], Value::Null);
        assert_eq!(
            json["seats"][1]["table"], 2,
            "a multi-table run's seat names its table"
        );
        assert_eq!(json["seats"][0].get("table"), None);
        assert_eq!(json["warnings"][0]["table"], 2);
        assert!(
            json["warnings"][0]["message"]
                .as_str()
                .unwrap()
                .contains("for table 2 seat 1:")
        );
        assert_eq!(json["tokens"]["input"], 5000);
        assert_eq!(json["cost_usd"], 0.018);
        assert_eq!(json["budget_exhausted"], true);
    }
}
