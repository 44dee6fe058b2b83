//! One poller per watched table, fanned out in memory: however many people watch a table,
//! the database is read once per poll interval for it. A table's feed starts when someone
//! first watches or polls it, keeps its recent events in memory (new watchers and `events?
//! after=` are answered from there), and stops a little after the last watcher left, or
//! once the table has ended and everything was delivered.

use deadpool_postgres::Pool;
use simrunner::store::StoreError;
use simrunner::store::public::{self, FeedEvent};
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// Events a feed keeps in memory.
const RECENT: usize = 1_000;
/// How long a feed nobody watches keeps polling (for pollers who come back).
const LINGER: Duration = Duration::from_secs(20);
/// Events read per poll at most.
const BATCH: i64 = 500;

/// One table's live feed.
#[derive(Debug)]
pub struct TableFeed {
    pub table_id: String,
    sender: broadcast::Sender<Arc<FeedEvent>>,
    recent: RwLock<VecDeque<Arc<FeedEvent>>>,
    last_seq: AtomicI64,
    ended: AtomicBool,
    last_access: Mutex<Instant>,
}

impl TableFeed {
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<FeedEvent>> {
        self.sender.subscribe()
    }

    pub fn last_seq(&self) -> i64 {
        self.last_seq.load(Ordering::SeqCst)
    }

    /// The table has ended and its last event is in [`TableFeed::recent_after`].
    pub fn ended(&self) -> bool {
        self.ended.load(Ordering::SeqCst)
    }

    fn touch(&self) {
        *self.last_access.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    /// The events after `after`, up to `limit`, when memory still holds all of them.
    pub fn recent_after(&self, after: i64, limit: usize) -> Option<Vec<Arc<FeedEvent>>> {
        let recent = self.recent.read().unwrap_or_else(|p| p.into_inner());
        let first = recent.front().map(|e| e.seq).unwrap_or(self.last_seq() + 1);
        // Memory covers `after` when the event right after it is there (or nothing is new).
        if after.saturating_add(1) < first && after < self.last_seq() {
            return None;
        }
        Some(
            recent
                .iter()
                .filter(|e| e.seq > after)
                .take(limit)
                .cloned()
                .collect(),
        )
    }

    fn push(&self, events: Vec<FeedEvent>) {
        let mut recent = self.recent.write().unwrap_or_else(|p| p.into_inner());
        for event in events {
            if event.seq <= self.last_seq() {
                continue;
            }
            self.last_seq.store(event.seq, Ordering::SeqCst);
            if event.kind == "table_ended" {
                self.ended.store(true, Ordering::SeqCst);
            }
            let event = Arc::new(event);
            if recent.len() == RECENT {
                recent.pop_front();
            }
            recent.push_back(event.clone());
            // Nobody listening is fine: they read `recent` when they come.
            let _ = self.sender.send(event);
        }
    }
}

/// All the feeds of this process.
#[derive(Debug)]
pub struct FeedHub {
    pool: Pool,
    poll_every: Duration,
    feeds: Mutex<HashMap<String, Arc<TableFeed>>>,
    /// Feed reads made, for the benchmark's queries-per-second figure.
    pub queries: AtomicU64,
}

impl FeedHub {
    pub fn new(pool: Pool, poll_every: Duration) -> Arc<Self> {
        Arc::new(Self {
            pool,
            poll_every,
            feeds: Mutex::new(HashMap::new()),
            queries: AtomicU64::new(0),
        })
    }

    /// The table's feed, started (with its latest events loaded) if nobody watched it.
    pub async fn feed(self: &Arc<Self>, table_id: &str) -> Result<Arc<TableFeed>, StoreError> {
        if let Some(feed) = self.existing(table_id) {
            feed.touch();
            return Ok(feed);
        }
        let latest = {
            let client = self.pool.get().await?;
            self.queries.fetch_add(1, Ordering::Relaxed);
            public::latest_events(&client, table_id, BATCH).await?
        };
        let (sender, _) = broadcast::channel(RECENT);
        let fresh = Arc::new(TableFeed {
            table_id: table_id.to_owned(),
            sender,
            recent: RwLock::new(VecDeque::with_capacity(RECENT)),
            last_seq: AtomicI64::new(0),
            ended: AtomicBool::new(false),
            last_access: Mutex::new(Instant::now()),
        });
        fresh.push(latest);
        let feed = {
            let mut feeds = self.feeds.lock().unwrap_or_else(|p| p.into_inner());
            // Another request may have started it meanwhile: keep the first.
            feeds
                .entry(table_id.to_owned())
                .or_insert_with(|| fresh.clone())
                .clone()
        };
        if Arc::ptr_eq(&feed, &fresh) {
            tokio::spawn(self.clone().poll(feed.clone()));
        }
        Ok(feed)
    }

    fn existing(&self, table_id: &str) -> Option<Arc<TableFeed>> {
        self.feeds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(table_id)
            .cloned()
    }

    /// Reads new events every interval until nobody has watched for a while or the table
    /// has ended.
    async fn poll(self: Arc<Self>, feed: Arc<TableFeed>) {
        let mut ticker = tokio::time::interval(self.poll_every);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let idle = feed.sender.receiver_count() == 0
                && feed
                    .last_access
                    .lock()
                    .map(|t| t.elapsed())
                    .unwrap_or(LINGER)
                    >= LINGER;
            if idle || (feed.ended() && feed.sender.receiver_count() == 0) {
                break;
            }
            if feed.ended() {
                continue;
            }
            let read = async {
                let client = self.pool.get().await?;
                self.queries.fetch_add(1, Ordering::Relaxed);
                public::events_after(&client, &feed.table_id, feed.last_seq(), BATCH).await
            };
            match read.await {
                Ok(events) => feed.push(events),
                // The next tick tries again; watchers keep what they have.
                Err(error) => {
                    tracing::warn!(%error, table = %feed.table_id, "reading the feed failed")
                }
            }
        }
        self.feeds
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&feed.table_id);
    }
}
