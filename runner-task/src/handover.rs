//! Handover: a run started as an always-on config's next table (`standby`) opens its table at
//! once, so watchers see it beside the one about to close, but deals its first hand only when
//! fewer than `live_tables` of its config's runs are in play. The check and the switch are
//! one statement under the config's row lock, so two waiting runs never both take one place.

use crate::run::Signals;
use simrunner::domain::RunId;
use simrunner::store::StoreError;
use simrunner::store::recording::{self, TakeOver};
use std::time::Duration;

/// How often a waiting run looks again: a run's end is seen within this.
const POLL: Duration = Duration::from_millis(100);

/// Returns once the run may deal (at once for a run that is not waiting), or once a stop
/// arrived (the caller then ends the run before its first hand).
pub async fn wait_for_turn(
    pool: &deadpool_postgres::Pool,
    run: &RunId,
    signals: &Signals,
) -> Result<(), StoreError> {
    let mut announced = false;
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
                }
                signals.pause(POLL).await;
            }
        }
    }
    Ok(())
}
