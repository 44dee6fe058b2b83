use super::ValidationErrors;
use crate::settings::Secret;

/// An LLM provider whose API key simrunner stores for LLM-driven agents.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    OpenAi,
    Anthropic,
    Google,
}

impl Provider {
    pub const ALL: [Provider; 3] = [Provider::OpenAi, Provider::Anthropic, Provider::Google];

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
            Provider::Google => "google",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == text)
    }

    pub fn names() -> String {
        Self::ALL.map(Provider::as_str).join(", ")
    }
}

pub const LABEL_MAX_CHARS: usize = 100;
pub const KEY_MIN_CHARS: usize = 8;
pub const KEY_MAX_CHARS: usize = 512;

/// A stored secret's `label` (a provider key's, a webhook endpoint's), trimmed: 1 to
/// [`LABEL_MAX_CHARS`] characters, no control characters. Problems go to `errors`.
pub(super) fn checked_label(errors: &mut ValidationErrors, label: Option<&str>) -> String {
    let label = label.map(str::trim).unwrap_or_default();
    if label.is_empty() {
        errors.add("label", "is required and must not be blank");
    } else if label.chars().count() > LABEL_MAX_CHARS {
        errors.add(
            "label",
            format!("must be at most {LABEL_MAX_CHARS} characters"),
        );
    } else if label.chars().any(char::is_control) {
        errors.add("label", "must not contain control characters");
    }
    label.to_owned()
}

/// Unvalidated input for a new provider key.
#[derive(Debug, Default)]
pub struct ApiKeyDraft {
    pub provider: Option<String>,
    pub label: Option<String>,
    pub key: Option<Secret<String>>,
}

/// A provider key ready to be sealed and stored.
#[derive(Debug)]
pub struct NewApiKey {
    pub provider: Provider,
    pub label: String,
    pub key: Secret<String>,
}

impl NewApiKey {
    /// The last four characters: all that is ever shown of a key.
    pub fn last4(&self) -> String {
        let chars: Vec<char> = self.key.expose().chars().collect();
        chars[chars.len().saturating_sub(4)..].iter().collect()
    }
}

impl ApiKeyDraft {
    /// Parses the draft; messages never contain the key itself.
    pub fn validate(self) -> Result<NewApiKey, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let provider = match self.provider.as_deref() {
            None => {
                errors.add(
                    "provider",
                    format!("is required: one of {}", Provider::names()),
                );
                None
            }
            Some(p) => Provider::parse(p).or_else(|| {
                errors.add(
                    "provider",
                    format!("unknown provider {p:?}; use one of {}", Provider::names()),
                );
                None
            }),
        };
        let label = checked_label(&mut errors, self.label.as_deref());
        let key = self.key.map(|k| k.expose().trim().to_owned());
        match key.as_deref() {
            None | Some("") => errors.add("key", "is required and must not be blank"),
            Some(k) if k.chars().any(|c| c.is_whitespace() || c.is_control()) => {
                errors.add("key", "must not contain spaces or control characters")
            }
            Some(k) if !(KEY_MIN_CHARS..=KEY_MAX_CHARS).contains(&k.chars().count()) => errors.add(
                "key",
                format!("must be {KEY_MIN_CHARS} to {KEY_MAX_CHARS} characters long"),
            ),
            Some(_) => {}
        }
        errors.into_result(|| NewApiKey {
            provider: provider.expect("checked"),
            label,
            key: Secret::new(key.expect("checked")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(provider: &str, label: &str, key: &str) -> ApiKeyDraft {
        ApiKeyDraft {
            provider: Some(provider.into()),
            label: Some(label.into()),
            key: Some(Secret::new(key.into())),
        }
    }

    #[test]
    fn a_valid_key_keeps_only_its_last_four_characters_visible() {
        let key = draft("anthropic", "  prod  ", " sk-ant-abcdefgh1234 ")
            .validate()
            .unwrap();
        assert_eq!(key.provider, Provider::Anthropic);
        assert_eq!(key.label, "prod");
        assert_eq!(key.last4(), "1234");
        assert_eq!(key.key.expose(), "sk-ant-abcdefgh1234");
    }

    #[test]
    fn every_problem_is_reported_and_the_key_is_never_echoed() {
        let errors = draft("openia", "", "sk bad key with spaces")
            .validate()
            .unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["provider", "label", "key"]);
        assert!(!errors.to_string().contains("bad key"));
        assert!(errors.0[0].message.contains("openai, anthropic, google"));
    }
}
