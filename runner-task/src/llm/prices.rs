//! Estimated cost of LLM calls: a price per million tokens for common models (the
//! providers' published list prices when this table was written), overridable with
//! `SIMRUNNER_LLM_PRICES`. Unknown models are counted in tokens only.

use super::wire::Usage;
use serde_json::Value;

/// US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub input: f64,
    /// Input tokens served from the provider's prompt cache.
    pub cached_input: f64,
    pub output: f64,
}

impl Price {
    /// The cost of `usage`: cached input at its own price, reasoning billed as output.
    pub fn cost(&self, usage: &Usage) -> f64 {
        let fresh = usage.input.saturating_sub(usage.cached) as f64;
        (fresh * self.input
            + usage.cached as f64 * self.cached_input
            + usage.output as f64 * self.output)
            / 1_000_000.0
    }
}

const fn price(input: f64, cached_input: f64, output: f64) -> Price {
    Price {
        input,
        cached_input,
        output,
    }
}

/// `provider:model` prefixes; the longest matching prefix wins, so dated model names
/// (`claude-sonnet-4-20250514`) find their family.
const DEFAULTS: &[(&str, Price)] = &[
    ("openai:gpt-5", price(1.25, 0.125, 10.0)),
    ("openai:gpt-5-mini", price(0.25, 0.025, 2.0)),
    ("openai:gpt-5-nano", price(0.05, 0.005, 0.40)),
    ("openai:gpt-4.1", price(2.0, 0.50, 8.0)),
    ("openai:gpt-4.1-mini", price(0.40, 0.10, 1.60)),
    ("openai:gpt-4.1-nano", price(0.10, 0.025, 0.40)),
    ("openai:gpt-4o", price(2.50, 1.25, 10.0)),
    ("openai:gpt-4o-mini", price(0.15, 0.075, 0.60)),
    ("openai:o3", price(2.0, 0.50, 8.0)),
    ("openai:o4-mini", price(1.10, 0.275, 4.40)),
    ("anthropic:claude-opus-4", price(15.0, 1.50, 75.0)),
    ("anthropic:claude-opus-4-5", price(5.0, 0.50, 25.0)),
    ("anthropic:claude-sonnet-4", price(3.0, 0.30, 15.0)),
    ("anthropic:claude-3-7-sonnet", price(3.0, 0.30, 15.0)),
    ("anthropic:claude-haiku-4-5", price(1.0, 0.10, 5.0)),
    ("anthropic:claude-3-5-haiku", price(0.80, 0.08, 4.0)),
    ("google:gemini-2.5-pro", price(1.25, 0.31, 10.0)),
    ("google:gemini-2.5-flash", price(0.30, 0.075, 2.50)),
    ("google:gemini-2.5-flash-lite", price(0.10, 0.025, 0.40)),
    ("google:gemini-2.0-flash", price(0.10, 0.025, 0.40)),
    ("google:gemini-2.0-flash-lite", price(0.075, 0.075, 0.30)),
];

#[derive(Debug, Clone)]
pub struct PriceTable {
    /// Defaults, then overrides: on equally long prefixes the later entry wins.
    entries: Vec<(String, Price)>,
}

impl Default for PriceTable {
    fn default() -> Self {
        Self {
            entries: DEFAULTS
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
        let cost = table.lookup("openai:gpt-4o").unwrap().cost(&usage);
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
