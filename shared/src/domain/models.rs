//! The LLM models simrunner knows, by provider, with their list prices: what the console
//! offers in a seat's model field and what the runner estimates a run's spend with (its
//! `SIMRUNNER_LLM_PRICES` can add and override models).

use super::Provider;

/// US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub input: f64,
    /// Input tokens served from the provider's prompt cache.
    pub cached_input: f64,
    pub output: f64,
}

pub const fn price(input: f64, cached_input: f64, output: f64) -> Price {
    Price {
        input,
        cached_input,
        output,
    }
}

/// `provider:model` prefixes; the longest matching prefix wins, so dated model names
/// (`claude-sonnet-4-20250514`) find their family.
pub const LIST_PRICES: &[(&str, Price)] = &[
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

/// The model names of `provider` in the list above, in its order.
pub fn known_models(provider: Provider) -> Vec<&'static str> {
    let prefix = format!("{}:", provider.as_str());
    LIST_PRICES
        .iter()
        .filter_map(|(model, _)| model.strip_prefix(prefix.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_provider_has_models_and_every_listed_model_names_a_provider() {
        for provider in Provider::ALL {
            assert!(!known_models(provider).is_empty(), "{provider:?}");
        }
        let listed: usize = Provider::ALL.map(|p| known_models(p).len()).iter().sum();
        assert_eq!(listed, LIST_PRICES.len());
    }
}
