//! The admin API's settings, read once from the environment.

use crate::auth::{JwtKey, JwtVerifier};
use simrunner::dispatch::RunSettings;
use simrunner::domain::WebhookPolicy;
use simrunner::secrets::Keyring;
use simrunner::settings::{EnvReader, Secret, SettingsError};

/// Where the API runs: Lambda needs every secret given; the local stack makes up what is
/// missing (an embedded database, a generated admin token and key-encryption key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Lambda,
    Local,
}

/// Admin tokens shorter than this are refused: they would be guessable.
pub const ADMIN_TOKEN_MIN_CHARS: usize = 16;

#[derive(Debug)]
pub struct ApiSettings {
    pub database_url: Option<Secret<String>>,
    pub pool_size: usize,
    pub admin_token: Option<Secret<String>>,
    pub jwt: Option<JwtVerifier>,
    pub keyring: Option<Keyring>,
    /// `SIMRUNNER_LAUNCHER` (`process` in the local stack by default, none in Lambda),
    /// `SIMRUNNER_SCHEDULER` (`local` by default) and the dispatch limits.
    pub runs: RunSettings,
    /// `SIMRUNNER_WEBHOOK_ALLOW_HTTP_LOOPBACK` (off by default): webhook endpoints on this
    /// machine may be created (the runners this program starts are given the same setting).
    pub webhooks: WebhookPolicy,
}

impl ApiSettings {
    pub fn from_env(env: &mut EnvReader<'_>, mode: Mode) -> Self {
        let database_url = env.secret("DATABASE_URL");
        if mode == Mode::Lambda {
            env.require(
                "DATABASE_URL",
                database_url.as_ref(),
                "the PostgreSQL connection URL",
            );
        }
        let default_pool = if mode == Mode::Lambda { 2 } else { 16 };
        let pool_size = env.integer_in("SIMRUNNER_DB_POOL_SIZE", 1..=100, default_pool) as usize;

        let admin_token = env.secret("SIMRUNNER_ADMIN_TOKEN");
        if admin_token
            .as_ref()
            .is_some_and(|t| t.expose().chars().count() < ADMIN_TOKEN_MIN_CHARS)
        {
            env.problem(
                "SIMRUNNER_ADMIN_TOKEN",
                format!("must be at least {ADMIN_TOKEN_MIN_CHARS} characters"),
            );
        }
        let jwt = read_jwt(env);
        if mode == Mode::Lambda && admin_token.is_none() && jwt.is_none() {
            env.problem(
                "SIMRUNNER_ADMIN_TOKEN",
                "is required unless JWT sign-in is configured (SIMRUNNER_JWT_HS256_SECRET or \
                 SIMRUNNER_JWT_RS256_PUBLIC_KEY, with SIMRUNNER_ADMIN_EMAILS)",
            );
        }

        let keyring = Keyring::from_env(env, mode == Mode::Lambda);
        let runs = RunSettings::from_env(env, (mode == Mode::Local).then_some("process"));
        let webhooks = WebhookPolicy::from_env(env);
        Self {
            database_url,
            pool_size,
            admin_token,
            jwt,
            keyring,
            runs,
            webhooks,
        }
    }
}

fn read_jwt(env: &mut EnvReader<'_>) -> Option<JwtVerifier> {
    let hs256 = env.secret("SIMRUNNER_JWT_HS256_SECRET");
    // PEM keys span lines; an environment variable may carry them with literal "\n".
    let rs256 = env
        .raw("SIMRUNNER_JWT_RS256_PUBLIC_KEY")
        .map(|pem| pem.replace("\\n", "\n"));
    let key = match (hs256, rs256) {
        (None, None) => return None,
        (Some(_), Some(_)) => {
            env.problem(
                "SIMRUNNER_JWT_RS256_PUBLIC_KEY",
                "set either SIMRUNNER_JWT_HS256_SECRET or SIMRUNNER_JWT_RS256_PUBLIC_KEY, not both",
            );
            return None;
        }
        (Some(secret), None) => {
            if secret.expose().len() < 32 {
                env.problem(
                    "SIMRUNNER_JWT_HS256_SECRET",
                    "must be at least 32 characters",
                );
                return None;
            }
            JwtKey::Hs256(secret)
        }
        (None, Some(pem)) => JwtKey::Rs256PublicPem(pem),
    };
    let emails: Vec<String> = env
        .raw("SIMRUNNER_ADMIN_EMAILS")
        .map(|list| list.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    if emails.iter().all(|e| e.trim().is_empty()) {
        env.problem(
            "SIMRUNNER_ADMIN_EMAILS",
            "is required with JWT sign-in: a comma-separated list of admin emails",
        );
        return None;
    }
    let issuer = env.raw("SIMRUNNER_JWT_ISSUER");
    let audience = env.raw("SIMRUNNER_JWT_AUDIENCE");
    JwtVerifier::new(&key, emails, issuer.as_deref(), audience.as_deref())
        .map_err(|problem| env.problem("SIMRUNNER_JWT_RS256_PUBLIC_KEY", problem))
        .ok()
}

/// Reads the settings and stops at once, listing every problem, when any is wrong.
pub fn load(mode: Mode) -> Result<ApiSettings, SettingsError> {
    let mut env = EnvReader::from_process();
    let settings = ApiSettings::from_env(&mut env, mode);
    env.finish().map(|()| settings)
}

#[cfg(test)]
mod tests {
    use super::*;
    use simrunner::launch::LauncherSettings;
    use simrunner::schedule::SchedulerSettings;

    fn read(mode: Mode, vars: &[(&str, &str)]) -> Result<ApiSettings, SettingsError> {
        let mut env = EnvReader::from_vars(vars);
        let settings = ApiSettings::from_env(&mut env, mode);
        env.finish().map(|()| settings)
    }

    fn variables(error: &SettingsError) -> Vec<&str> {
        error.problems.iter().map(|p| p.variable.as_str()).collect()
    }

    const KEY: &str = "0000000000000000000000000000000000000000000000000000000000000001";

    #[test]
    fn lambda_mode_names_every_missing_variable_at_once() {
        let error = read(Mode::Lambda, &[]).unwrap_err();
        assert_eq!(
            variables(&error),
            [
                "DATABASE_URL",
                "SIMRUNNER_ADMIN_TOKEN",
                "SIMRUNNER_KEY_ENCRYPTION_KEY"
            ]
        );
    }

    #[test]
    fn the_local_stack_needs_nothing() {
        let settings = read(Mode::Local, &[]).unwrap();
        assert_eq!(settings.pool_size, 16);
        assert!(settings.keyring.is_none() && settings.admin_token.is_none());
        assert_eq!(
            settings.runs.launcher,
            Some(LauncherSettings::Process {
                runner_program: None
            }),
            "runs start as child processes"
        );
    }

    #[test]
    fn malformed_values_are_named_without_echoing_secrets() {
        let error = read(
            Mode::Lambda,
            &[
                ("DATABASE_URL", "postgres://u:p@db/simrunner"),
                ("SIMRUNNER_ADMIN_TOKEN", "short-secret"),
                ("SIMRUNNER_KEY_ENCRYPTION_KEY", "not-a-key-at-all"),
                ("SIMRUNNER_DB_POOL_SIZE", "0"),
            ],
        )
        .unwrap_err();
        assert_eq!(
            variables(&error),
            [
                "SIMRUNNER_DB_POOL_SIZE",
                "SIMRUNNER_ADMIN_TOKEN",
                "SIMRUNNER_KEY_ENCRYPTION_KEY"
            ]
        );
        let text = error.to_string();
        assert!(
            !text.contains("short-secret") && !text.contains("not-a-key-at-all"),
            "{text}"
        );
    }

    #[test]
    fn jwt_sign_in_can_replace_the_admin_token_but_needs_an_allowlist() {
        let base = [
            ("DATABASE_URL", "postgres://db/simrunner"),
            ("SIMRUNNER_KEY_ENCRYPTION_KEY", KEY),
            (
                "SIMRUNNER_JWT_HS256_SECRET",
                "0123456789abcdef0123456789abcdef",
            ),
        ];
        let error = read(Mode::Lambda, &base).unwrap_err();
        assert_eq!(
            variables(&error),
            ["SIMRUNNER_ADMIN_EMAILS", "SIMRUNNER_ADMIN_TOKEN"]
        );
        let mut vars = base.to_vec();
        vars.push(("SIMRUNNER_ADMIN_EMAILS", "ops@example.com, cto@example.com"));
        let settings = read(Mode::Lambda, &vars).unwrap();
        assert!(settings.jwt.is_some() && settings.admin_token.is_none());
        assert_eq!(settings.pool_size, 2, "Lambda pools stay small");
        assert_eq!(
            settings.runs.launcher, None,
            "Lambda has no default launcher"
        );
    }

    #[test]
    fn the_aws_adapters_are_chosen_by_name_and_need_their_settings() {
        let base = [
            ("DATABASE_URL", "postgres://db/simrunner"),
            ("SIMRUNNER_KEY_ENCRYPTION_KEY", KEY),
            ("SIMRUNNER_ADMIN_TOKEN", "0123456789abcdef0123"),
            ("SIMRUNNER_LAUNCHER", "ecs"),
            ("SIMRUNNER_SCHEDULER", "eventbridge"),
        ];
        let error = read(Mode::Lambda, &base).unwrap_err();
        assert_eq!(
            variables(&error),
            [
                "SIMRUNNER_ECS_CLUSTER",
                "SIMRUNNER_ECS_TASK_DEFINITION",
                "SIMRUNNER_ECS_SUBNETS",
                "SIMRUNNER_ECS_SECURITY_GROUPS",
                "SIMRUNNER_DISPATCH_FUNCTION_ARN",
                "SIMRUNNER_SCHEDULER_ROLE_ARN"
            ]
        );
        let mut vars = base.to_vec();
        vars.extend([
            ("SIMRUNNER_ECS_CLUSTER", "simrunner"),
            ("SIMRUNNER_ECS_TASK_DEFINITION", "simrunner-runner"),
            ("SIMRUNNER_ECS_SUBNETS", "subnet-1"),
            ("SIMRUNNER_ECS_SECURITY_GROUPS", "sg-1"),
            (
                "SIMRUNNER_DISPATCH_FUNCTION_ARN",
                "arn:aws:lambda:us-east-1:1:function:d",
            ),
            (
                "SIMRUNNER_SCHEDULER_ROLE_ARN",
                "arn:aws:iam::1:role/scheduler",
            ),
            ("SIMRUNNER_SCHEDULE_GROUP", "sims"),
        ]);
        let settings = read(Mode::Lambda, &vars).unwrap();
        assert!(
            matches!(settings.runs.launcher, Some(LauncherSettings::Ecs(ref ecs)) if ecs.cluster == "simrunner")
        );
        assert!(
            matches!(settings.runs.scheduler, SchedulerSettings::EventBridge(ref eb) if eb.group == "sims")
        );
        let error = read(Mode::Local, &[("SIMRUNNER_SCHEDULER", "cron")]).unwrap_err();
        assert_eq!(variables(&error), ["SIMRUNNER_SCHEDULER"]);
    }
}
