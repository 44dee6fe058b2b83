//! Handover: a run started as an always-on config's next table (`standby`) opens its table at
//! once, so watchers see it beside the one about to close, but deals its first hand only when
//! fewer than `live_tables` of its config's runs are in play. The check and the switch are
//! one statement under the config's row lock, so two waiting runs never both take one place.
//! It looks again when PostgreSQL says a run started or ended (`simrunner_runs`), and every
//! second regardless.

use crate::run::Signals;
use simrunner::db::Listener;
use simrunner::domain::RunId;
use simrunner::store::StoreError;
use simrunner::store::recording::{self, TakeOver};
use std::time::Duration;

/// How often a waiting run looks again without being told of a run's end.
const BACKSTOP: Duration = Duration::from_secs(1);

/// Returns once the run may deal (at once for a run that is not waiting), or once a stop
/// arrived (the caller then ends the run before its first hand).
pub async fn wait_for_turn(
    pool: &deadpool_postgres::Pool,
    database_url: &str,
    run: &RunId,
    signals: &Signals,
) -> Result<(), StoreError> {
    let mut announced = false;
    let mut runs: Option<Listener> = None;
    while !signals.stopping() {
        let turn = crate::run::with_retry("taking over a table", || async {
            let mut client = pool.get().await?;
            recording::take_over(&mut client, run).await
        })
        .await?;
        match turn {
            TakeOver::InPlay => return Ok(()),
            TakeOver::Wait => {
                if !announced {
                    tracing::info!(%run, "waiting for a table of the config to close before dealing");
                    announced = true;
                    runs = Listener::connect(database_url, &["simrunner_runs"])
                        .await
                        .map_err(|error| tracing::warn!(%error, "not listening for run endings; polling"))
                        .ok();
                    // Listening now: look again, so an end between the look and LISTEN is seen.
                    continue;
                }
                match &mut runs {
                    Some(listener) => tokio::select! {
                        _ = listener.recv() => listener.drain().clear(),
                        _ = tokio::time::sleep(BACKSTOP) => {}
                        _ = signals.stopped() => {}
                    },
                    None => signals.pause(BACKSTOP).await,
                }
            }
        }
    }
    Ok(())
}
