//! How a program starts and stops runs and keeps schedules: the launcher, the scheduler and
//! the limits, read from the same settings by the local stack, the admin API function and
//! the dispatch function.

use super::DispatchPolicy;
use crate::alerts::{AlertSettings, Alerts};
use crate::launch::{Launcher, LauncherSettings, LocalRunners};
use crate::schedule::{Scheduler, SchedulerSettings};
use crate::settings::EnvReader;

/// `SIMRUNNER_LAUNCHER`, `SIMRUNNER_SCHEDULER` and the dispatch limits.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// `None`: nothing here can start runs.
    pub launcher: Option<LauncherSettings>,
    pub scheduler: SchedulerSettings,
    pub policy: DispatchPolicy,
    pub alerts: AlertSettings,
}

impl RunSettings {
    /// `launcher_when_unset` as for [`LauncherSettings::from_env`].
    pub fn from_env(env: &mut EnvReader<'_>, launcher_when_unset: Option<&str>) -> Self {
        Self {
            launcher: LauncherSettings::from_env(env, launcher_when_unset),
            scheduler: SchedulerSettings::from_env(env),
            policy: DispatchPolicy::from_env(env),
            alerts: AlertSettings::from_env(env),
        }
    }
}

/// The adapters built from [`RunSettings`].
#[derive(Debug)]
pub struct RunControl {
    /// `None` where no launcher is configured: starting a run is refused.
    pub launcher: Option<Launcher>,
    /// Kept in step with every periodic config before the config's change commits.
    pub scheduler: Scheduler,
    pub policy: DispatchPolicy,
    /// Where the ticks deliver alerts.
    pub alerts: Alerts,
}

impl Default for RunControl {
    /// No launcher and the local scheduler: what a read-only API needs.
    fn default() -> Self {
        Self {
            launcher: None,
            scheduler: Scheduler::Local,
            policy: DispatchPolicy::default(),
            alerts: Alerts::default(),
        }
    }
}

impl RunControl {
    /// AWS clients are built only for the AWS adapters, and connect on first use.
    pub async fn build(settings: RunSettings, runners: &LocalRunners) -> Self {
        let launcher = match settings.launcher {
            Some(launcher) => Some(launcher.build(runners).await),
            None => None,
        };
        Self {
            launcher,
            scheduler: settings.scheduler.build().await,
            policy: settings.policy,
            alerts: settings.alerts.build().await,
        }
    }
}
