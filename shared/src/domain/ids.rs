use std::fmt;

macro_rules! prefixed_id {
    ($(#[$doc:meta])* $name:ident, $prefix:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            pub const PREFIX: &'static str = $prefix;

            /// A new id: the prefix and a time-ordered UUIDv7 in simple form.
            pub fn generate() -> Self {
                Self(format!("{}{}", $prefix, uuid::Uuid::now_v7().simple()))
            }

            /// Accepts exactly `<prefix><32 lowercase hex digits>`; anything else cannot be an
            /// id of ours, so callers answer "not found" without asking the database.
            pub fn parse(text: &str) -> Option<Self> {
                let hex = text.strip_prefix($prefix)?;
                let valid = hex.len() == 32
                    && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
                valid.then(|| Self(text.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

prefixed_id!(
    /// `sim_…`: a simulation config.
    SimulationId,
    "sim_"
);
prefixed_id!(
    /// `run_…`: one run of a simulation config.
    RunId,
    "run_"
);
prefixed_id!(
    /// `key_…`: a stored provider API key.
    ApiKeyId,
    "key_"
);
prefixed_id!(
    /// `agt_…`: an outside agent registered to play over the agent protocol.
    AgentId,
    "agt_"
);
prefixed_id!(
    /// `plt_…`: a remote MoltPoker-compatible platform simulations can play at.
    PlatformId,
    "plt_"
);
prefixed_id!(
    /// `whk_…`: a webhook endpoint a webhook seat calls.
    WebhookId,
    "whk_"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_round_trip_and_foreign_text_is_rejected() {
        let id = SimulationId::generate();
        assert_eq!(SimulationId::parse(id.as_str()), Some(id.clone()));
        assert_eq!(id.as_str().len(), 4 + 32);
        for bad in [
            "",
            "sim_",
            "run_0123456789abcdef0123456789abcdef",
            "sim_0123456789ABCDEF0123456789ABCDEF",
            "sim_0123456789abcdef0123456789abcde",
            "sim_0123456789abcdef0123456789abcdef0",
            "sim_../../etc/passwd",
        ] {
            assert_eq!(SimulationId::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn ids_generated_later_sort_later() {
        let a = RunId::generate();
        std::thread::sleep(std::time::Duration::from_millis(2));
        let b = RunId::generate();
        assert!(a < b);
    }
}
