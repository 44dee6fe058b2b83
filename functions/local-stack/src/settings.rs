//! The local stack's settings: the admin API's (in local mode, where nothing is required)
//! and what only the local stack has: the address it listens on and the demo simulation.

use admin_api::settings::{ApiSettings, Mode};
use agents_api::AgentsSettings;
use simrunner::settings::{EnvReader, SettingsError};
use std::net::SocketAddr;

#[derive(Debug)]
pub struct LocalSettings {
    pub api: ApiSettings,
    /// The agents surface: registration, public URLs, rate limits.
    pub agents: AgentsSettings,
    /// `SIMRUNNER_HTTP_ADDR` (default `127.0.0.1:8080`): every surface on one port.
    pub http_addr: SocketAddr,
    /// `SIMRUNNER_DEMO` (`on` by default): a demo simulation on a fresh database.
    pub demo: bool,
}

impl LocalSettings {
    pub fn from_env(env: &mut EnvReader<'_>) -> Self {
        let api = ApiSettings::from_env(env, Mode::Local);
        let agents = AgentsSettings::from_env(env);
        let http_addr = env
            .parsed("SIMRUNNER_HTTP_ADDR", "an address such as 127.0.0.1:8080")
            .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 8080)));
        let demo = match env.raw("SIMRUNNER_DEMO").as_deref().map(str::trim) {
            None | Some("on") => true,
            Some("off") => false,
            Some(other) => {
                env.problem(
                    "SIMRUNNER_DEMO",
                    format!("expected on or off, got {other:?}"),
                );
                false
            }
        };
        Self {
            api,
            agents,
            http_addr,
            demo,
        }
    }
}

/// Reads the settings and stops at once, listing every problem, when any is wrong.
pub fn load() -> Result<LocalSettings, SettingsError> {
    let mut env = EnvReader::from_process();
    let settings = LocalSettings::from_env(&mut env);
    env.finish().map(|()| settings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(vars: &[(&str, &str)]) -> Result<LocalSettings, SettingsError> {
        let mut env = EnvReader::from_vars(vars);
        let settings = LocalSettings::from_env(&mut env);
        env.finish().map(|()| settings)
    }

    #[test]
    fn the_local_stack_needs_nothing_and_defaults_the_address_and_the_demo() {
        let settings = read(&[]).unwrap();
        assert_eq!(settings.http_addr.to_string(), "127.0.0.1:8080");
        assert!(settings.demo);
        assert_eq!(settings.api.pool_size, 16);
    }

    #[test]
    fn a_bad_address_or_demo_switch_is_named() {
        let error = read(&[
            ("SIMRUNNER_HTTP_ADDR", "localhost"),
            ("SIMRUNNER_DEMO", "maybe"),
        ])
        .unwrap_err();
        let variables: Vec<_> = error.problems.iter().map(|p| p.variable.as_str()).collect();
        assert_eq!(variables, ["SIMRUNNER_HTTP_ADDR", "SIMRUNNER_DEMO"]);
    }
}
