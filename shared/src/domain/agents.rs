//! Outside agents: what a registration may say about the agent.

use super::ValidationErrors;
use serde_json::Value;

pub const AGENT_NAME_CHARS: std::ops::RangeInclusive<usize> = 1..=64;
/// The most `metadata` may take, as JSON text.
pub const AGENT_METADATA_BYTES: usize = 4096;

/// Unvalidated registration input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentDraft {
    pub name: Option<String>,
    pub metadata: Option<Value>,
}

/// A valid registration: a name shown at tables (trimmed, no control characters) and
/// optional metadata (a small JSON object).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAgent {
    pub name: Option<String>,
    pub metadata: Option<Value>,
}

impl AgentDraft {
    pub fn validate(self) -> Result<NewAgent, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        let name = self.name.map(|n| n.trim().to_owned());
        if let Some(name) = &name {
            if !AGENT_NAME_CHARS.contains(&name.chars().count()) {
                errors.add("name", "must be 1 to 64 characters after trimming spaces");
            } else if name.chars().any(char::is_control) {
                errors.add("name", "must not contain control characters");
            }
        }
        let metadata = match self.metadata {
            None | Some(Value::Null) => None,
            Some(Value::Object(object)) => {
                let value = Value::Object(object);
                if value.to_string().len() > AGENT_METADATA_BYTES {
                    errors.add(
                        "metadata",
                        format!("must be at most {AGENT_METADATA_BYTES} bytes of JSON"),
                    );
                }
                Some(value)
            }
            Some(_) => {
                errors.add("metadata", "must be a JSON object");
                None
            }
        };
        errors.into_result(|| NewAgent { name, metadata })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn names_are_trimmed_and_bounded_and_metadata_is_a_small_object() {
        let agent = AgentDraft {
            name: Some("  Tight Tim ".into()),
            metadata: Some(json!({"lang": "python"})),
        }
        .validate()
        .unwrap();
        assert_eq!(agent.name.as_deref(), Some("Tight Tim"));
        let errors = AgentDraft {
            name: Some("bad\nname".into()),
            metadata: Some(json!([1, 2])),
        }
        .validate()
        .unwrap_err();
        let fields: Vec<_> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["name", "metadata"]);
        for (name, ok) in [
            ("x".repeat(64), true),
            ("x".repeat(65), false),
            ("  ".into(), false),
        ] {
            let result = AgentDraft {
                name: Some(name.clone()),
                metadata: None,
            }
            .validate();
            assert_eq!(result.is_ok(), ok, "{name:?}");
        }
        let big = AgentDraft {
            name: None,
            metadata: Some(json!({"blob": "x".repeat(5000)})),
        };
        assert!(big.validate().is_err());
    }
}
