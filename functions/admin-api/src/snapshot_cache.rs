//! Answers kept for as long as the database has not changed.
//!
//! A request first reads the database's snapshot ([`store::snapshot`]: one short round
//! trip). While it is the one the kept answer was asked under, nothing has committed since,
//! so the query would read the same rows: the kept bytes are sent again. Otherwise the
//! answer is read and kept under the new snapshot. Nothing is ever stale: the check is made
//! on every request, by the database, and a client that has just written sees its write.
//!
//! Why it is sound: the answer is read by a statement that starts after the snapshot was
//! seen, so it includes every commit that snapshot includes (a snapshot never comes back
//! once something has changed, so whoever sees the same one later gets an answer at least
//! as new as what it saw). Requests that see the same snapshot and miss wait for one read
//! instead of each running it (a burst after every write stays one query).
//!
//! What it is worth depends on how often the database changes: any commit moves the
//! snapshot, a recorded hand as much as a saved config. The `api` benchmark prints the list
//! with the database still and with commits arriving elsewhere.

use crate::error::ApiError;
use axum::body::Bytes;
use simrunner::store;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// The most answers kept for one snapshot (e.g. pages of a list): a client cannot grow the
/// cache by asking for many cursors; past it, answers are read and not kept.
const MOST_KEPT: usize = 32;

/// Answers by key, kept for the newest snapshot seen.
#[derive(Default)]
pub struct SnapshotCache {
    kept: Mutex<Kept>,
}

#[derive(Default)]
struct Kept {
    snapshot: String,
    answers: HashMap<String, Arc<OnceCell<Bytes>>>,
}

impl SnapshotCache {
    /// The answer for `key` under the database's current snapshot: kept, or `read` (run at
    /// most once for everyone who asks under the same snapshot) and kept.
    pub async fn get<F, Fut>(
        &self,
        client: &deadpool_postgres::Client,
        key: String,
        read: F,
    ) -> Result<Bytes, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, ApiError>>,
    {
        let snapshot = store::snapshot(client).await?;
        let cell = {
            let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
            if kept.snapshot != snapshot {
                *kept = Kept {
                    snapshot,
                    answers: HashMap::new(),
                };
            }
            if kept.answers.len() < MOST_KEPT || kept.answers.contains_key(&key) {
                Some(kept.answers.entry(key).or_default().clone())
            } else {
                None
            }
        };
        match cell {
            Some(cell) => cell.get_or_try_init(read).await.cloned(),
            None => read().await,
        }
    }
}
