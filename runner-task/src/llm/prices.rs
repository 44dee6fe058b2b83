//! Estimated cost of LLM calls: a price per million tokens for common models (the
//! providers' published list prices when this table was written), overridable with
//! `SIMRUNNER_LLM_PRICES`. Unknown models are counted in tokens only.

use super::wire::Usage;
use serde_json::Value;

pub use simrunner::domain::models::Price;
use simrunner::domain::models::{LIST_PRICES, price};

/// The cost of `usage` at `price`: cached input at its own price, reasoning billed as output.
pub fn cost(price: &Price, usage: &Usage) -> f64 {
    let fresh = usage.input.saturating_sub(usage.cached) as f64;
    (fresh * price.input
        + usage.cached as f64 * price.cached_input
        + usage.output as f64 * price.output)
        / 1_000_000.0
}

#[derive(Debug, Clone)]
pub struct PriceTable {
    /// Defaults, then overrides: on equally long prefixes the later entry wins.
    entries: Vec<(String, Price)>,
}

impl Default for PriceTable {
    fn default() -> Self {
        Self {
            entries: LIST_PRICES
                .iter()
                .map(|(model, price)| ((*model).to_owned(), *price))
                .collect(),
        }
    }
}

impl PriceTable {
    /// The defaults with `SIMRUNNER_LLM_PRICES` on top: a JSON object of `provider:model`
    /// prefixes to `{"input", "output", "cached_input"?}` in dollars per million tokens.
    pub fn with_overrides(text: &str) -> Result<Self, String> {
        let parsed: Value = serde_json::from_str(text)
            .map_err(|e| format!("is not JSON ({e}); expected {{\"provider:model\": {{\"input\": 0.5, \"output\": 1.5}}}}"))?;
        let Value::Object(models) = parsed else {
            return Err("must be a JSON object of \"provider:model\" to prices".into());
        };
        let mut overrides = Vec::new();
        for (model, fields) in models {
            let number = |name: &str| fields[name].as_f64().filter(|p| p.is_finite() && *p >= 0.0);
            let (Some(input), Some(output)) = (number("input"), number("output")) else {
                return Err(format!(
                    "{model:?} needs \"input\" and \"output\": dollars per million tokens, 0 or more"
                ));
            };
            let cached_input = number("cached_input").unwrap_or(input);
            overrides.push((model, price(input, cached_input, output)));
        }
        let mut table = Self::default();
        table.entries.append(&mut overrides);
        Ok(table)
    }

    /// The price of `provider:model`, by its longest known prefix (an override on a tie:
    /// `max_by_key` keeps the last of equal keys).
    pub fn lookup(&self, model: &str) -> Option<Price> {
        self.entries
            .iter()
            .filter(|(prefix, _)| model.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, price)| *price)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_prefix_prices_a_model() {
        let table = PriceTable::default();
        assert_eq!(
            table.lookup("openai:gpt-4o-mini-2024-07-18").unwrap().input,
            0.15
        );
        assert_eq!(table.lookup("openai:gpt-4o").unwrap().input, 2.50);
        assert_eq!(
            table
                .lookup("anthropic:claude-sonnet-4-20250514")
                .unwrap()
                .output,
            15.0
        );
        assert_eq!(table.lookup("openai:my-local-llama"), None);
        let usage = Usage {
            input: 1_000_000,
            output: 100_000,
            cached: 400_000,
            reasoning: 0,
        };
        let cost = cost(&table.lookup("openai:gpt-4o").unwrap(), &usage);
        assert!(
            (cost - (0.6 * 2.5 + 0.4 * 1.25 + 0.1 * 10.0)).abs() < 1e-9,
            "{cost}"
        );
    }

    #[test]
    fn overrides_win_and_bad_ones_are_explained() {
        let table = PriceTable::with_overrides(
            r#"{"openai:gpt-4o": {"input": 1, "output": 2}, "openai:qwen": {"input": 0, "output": 0}}"#,
        )
        .unwrap();
        assert_eq!(table.lookup("openai:gpt-4o-2024").unwrap().output, 2.0);
        assert_eq!(
            table.lookup("openai:gpt-4o-mini").unwrap().input,
            0.15,
            "longer default prefix"
        );
        assert_eq!(
            table.lookup("openai:qwen2.5-0.5b").unwrap().cached_input,
            0.0
        );
        assert!(PriceTable::with_overrides("[1]").is_err());
        assert!(
            PriceTable::with_overrides(r#"{"openai:x": {"input": -1, "output": 1}}"#)
                .unwrap_err()
                .contains("\"openai:x\"")
        );
    }
}
