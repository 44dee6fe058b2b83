//! Where a run's table is played: the port the hand loop (`run.rs`) drives, one hand at a
//! time. [`Builtin`] deals with simrunner's own engine; `platform::RemoteTable` follows a
//! table at a MoltPoker-compatible platform, whose seats are all the run's. Either way the
//! loop sees a [`Hand`] of this engine and asks the seat to act through the same agent seam,
//! deadline and fallback, so the agents cannot tell the two apart.

use poker::{Action, Hand, Table};
use std::time::Instant;

/// Why a table could not go on: an error code and a message for the run row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HostFault {
    pub code: &'static str,
    pub message: String,
}

impl HostFault {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// A hand that has begun.
#[derive(Debug, Clone)]
pub(crate) struct NewHand {
    /// Names the deck the hand was dealt from (for replaying and auditing it).
    pub deck_id: String,
    /// Every seat's chips before the blinds.
    pub start_stacks: Vec<i64>,
}

/// A seat of ours must decide.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TurnDue {
    /// When the host stops waiting (a platform times the seat out); `None`: the table's
    /// action timeout from when the agent is asked.
    pub deadline: Option<Instant>,
}

pub(crate) trait TableHost {
    /// The table pauses between hands at live pace (a platform keeps its own pace: a pause
    /// here would only eat into the next hand's first turn there).
    const PAUSES_BETWEEN_HANDS: bool = true;

    /// Begins the next hand: `Ok(None)` once the table is over (one seat holds every chip).
    async fn next_hand(&mut self) -> Result<Option<NewHand>, HostFault>;

    /// The current hand (after [`TableHost::next_hand`] gave one).
    fn hand(&self) -> &Hand;

    /// Waits until a seat must decide; `Ok(None)` once the hand is over.
    async fn next_turn(&mut self) -> Result<Option<TurnDue>, HostFault>;

    /// Plays `action` for the seat to act; what is worth logging about it for that seat.
    async fn act(&mut self, action: Action) -> Result<Vec<serde_json::Value>, HostFault>;

    /// The hand is over and recorded: its stacks are the table's. Returns warnings.
    fn settle(&mut self) -> Vec<String>;

    /// Every seat's chips now.
    fn stacks(&self) -> Vec<i64>;

    /// Seats with chips.
    fn players_left(&self) -> usize {
        self.stacks().iter().filter(|&&s| s > 0).count()
    }

    /// Takes a departing seat's chips off the table (between hands).
    fn cash_out(&mut self, seat: usize) -> i64;

    /// The run is over: the table is closed wherever it is (at a platform: the seats leave,
    /// then the table is stopped). Returns warnings.
    async fn close(&mut self) -> Vec<String>;

    /// What the run's results say about the host, if anything.
    fn report(&self) -> Option<serde_json::Value> {
        None
    }
}

/// simrunner's own engine and deck.
pub(crate) struct Builtin {
    table: Table,
    hand: Option<Hand>,
}

impl Builtin {
    pub fn new(table: Table) -> Self {
        Self { table, hand: None }
    }

    fn hand_mut(&mut self) -> &mut Hand {
        self.hand.as_mut().expect("a hand was dealt")
    }
}

impl TableHost for Builtin {
    async fn next_hand(&mut self) -> Result<Option<NewHand>, HostFault> {
        // The last hand's event buffer is reused: no allocation per hand.
        let events = self.hand.take().map(Hand::into_events).unwrap_or_default();
        let start_stacks = self.table.stacks().to_vec();
        Ok(self.table.deal(events).map(|(deal, hand)| {
            self.hand = Some(hand);
            NewHand {
                deck_id: self.table.deck_id(deal.number),
                start_stacks,
            }
        }))
    }

    fn hand(&self) -> &Hand {
        self.hand.as_ref().expect("a hand was dealt")
    }

    async fn next_turn(&mut self) -> Result<Option<TurnDue>, HostFault> {
        Ok(self.hand().to_act().map(|_| TurnDue { deadline: None }))
    }

    async fn act(&mut self, action: Action) -> Result<Vec<serde_json::Value>, HostFault> {
        self.hand_mut()
            .apply(action)
            .expect("checked against the legal actions");
        Ok(Vec::new())
    }

    fn settle(&mut self) -> Vec<String> {
        let hand = self.hand.as_ref().expect("a hand was dealt");
        self.table.settle(hand);
        Vec::new()
    }

    fn stacks(&self) -> Vec<i64> {
        self.table.stacks().to_vec()
    }

    fn players_left(&self) -> usize {
        self.table.players_left()
    }

    fn cash_out(&mut self, seat: usize) -> i64 {
        self.table.leave(seat)
    }

    async fn close(&mut self) -> Vec<String> {
        Vec::new()
    }
}
