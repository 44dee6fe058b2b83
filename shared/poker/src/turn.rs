//! The one agent seam. Every seat's agent — a bot or an LLM — is asked for its action through
//! [`Agent::act`] with a [`Turn`]: what the seat may see, and by when it must answer. Bots
//! answer at once ([`Reply::Now`], no allocation); LLM agents answer later
//! ([`Reply::Later`]), and the caller bounds them with the table's action deadline. Whatever
//! comes back is checked against the legal actions; anything else becomes the fallback.
//!
//! Nothing here reads a clock or does I/O: the deadline is only carried to the agent.

use crate::agents::{Bot, Decision, fallback};
use crate::engine::{Action, Hand, Legal};
use crate::memory::TableMemory;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

/// Everything a seat may know when it must act. Built by the caller; agents only read it.
#[derive(Clone, Copy)]
pub struct Turn<'a> {
    pub decision: Decision<'a>,
    /// The hand so far. Agents must not read other seats' hole cards from it: the LLM game
    /// state ([`crate::llm::game_state`]) shows only the acting seat's.
    pub hand: &'a Hand,
    /// 1 for the run's first hand.
    pub hand_number: i64,
    /// Seat names, by seat.
    pub names: &'a [String],
    /// What the table has seen in earlier hands (public information only).
    pub memory: &'a TableMemory,
    /// When the answer is due (the table's action timeout from now).
    pub deadline: Instant,
}

/// Why a seat played the fallback instead of its agent's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FallbackReason {
    /// No answer before the deadline.
    Timeout,
    RateLimited,
    Overloaded,
    /// The model declined to answer.
    Refused,
    /// The answer was cut off (token limit).
    Truncated,
    /// The answer was not the JSON asked for.
    Malformed,
    /// The answer named an action the seat may not take.
    Illegal,
    /// The provider refused the key: the seat plays the fallback for the rest of the run.
    Auth,
    /// The account is out of quota or credit: likewise for the rest of the run.
    Quota,
    /// The provider failed (5xx) or could not be reached.
    ProviderError,
    /// A webhook's destination is not one it may reach (an inside address, plain http
    /// where it is not allowed): nothing was sent.
    DestinationRefused,
    /// The run's LLM budget (`max_llm_cost_usd`) is spent.
    BudgetExhausted,
    /// The run is stopping: the hand ends at once, without waiting for the model.
    Stopping,
    /// An outside agent left the table (or was revoked) during the hand: its seat checks or
    /// folds to the end of the hand, then is cashed out.
    Left,
}

impl FallbackReason {
    pub fn name(self) -> &'static str {
        match self {
            FallbackReason::Timeout => "timeout",
            FallbackReason::RateLimited => "rate_limited",
            FallbackReason::Overloaded => "overloaded",
            FallbackReason::Refused => "refused",
            FallbackReason::Truncated => "truncated",
            FallbackReason::Malformed => "malformed",
            FallbackReason::Illegal => "illegal",
            FallbackReason::Auth => "auth",
            FallbackReason::Quota => "quota",
            FallbackReason::ProviderError => "provider_error",
            FallbackReason::DestinationRefused => "destination_refused",
            FallbackReason::BudgetExhausted => "budget_exhausted",
            FallbackReason::Stopping => "stopping",
            FallbackReason::Left => "left",
        }
    }

    /// Errors after which asking the provider again is pointless for the rest of the run.
    pub fn is_permanent(self) -> bool {
        matches!(self, FallbackReason::Auth | FallbackReason::Quota)
    }
}

/// What an agent chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Act(Action),
    /// No usable answer: the seat plays [`fallback`].
    Fallback(FallbackReason),
}

impl Choice {
    /// The action the engine takes: the agent's if it is legal, else the fallback, with the
    /// reason when it was a fallback.
    pub fn resolve(self, legal: &Legal) -> (Action, Option<FallbackReason>) {
        match self {
            Choice::Act(action) if legal.allows(action) => (action, None),
            Choice::Act(_) => (fallback(legal), Some(FallbackReason::Illegal)),
            Choice::Fallback(reason) => (fallback(legal), Some(reason)),
        }
    }
}

/// An agent's answer: ready now, or a future the caller awaits until the deadline.
pub enum Reply<'a> {
    Now(Choice),
    Later(Pin<Box<dyn Future<Output = Choice> + Send + 'a>>),
}

impl Future for Reply<'_> {
    type Output = Choice;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Choice> {
        match self.get_mut() {
            Reply::Now(choice) => Poll::Ready(*choice),
            Reply::Later(future) => future.as_mut().poll(cx),
        }
    }
}

/// Decides for one seat.
pub trait Agent: Send {
    fn act<'a>(&'a mut self, turn: &'a Turn<'a>) -> Reply<'a>;

    /// Log entries written since the last call, moved into `into` (LLM agents log every
    /// prompt and answer; bots log nothing here).
    fn drain_log(&mut self, _into: &mut Vec<serde_json::Value>) {}
}

/// Every bot is an agent that answers at once.
impl<B: Bot> Agent for B {
    fn act<'a>(&'a mut self, turn: &'a Turn<'a>) -> Reply<'a> {
        Reply::Now(Choice::Act(self.decide(&turn.decision)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::CallStation;
    use crate::testing::{decision_hand, turn_for};
    use std::task::Waker;

    #[test]
    fn a_bot_answers_at_once_through_the_agent_seam() {
        let hand = decision_hand(&[1000, 1000, 1000]);
        let memory = TableMemory::default();
        let names = ["a".to_owned(), "b".to_owned(), "c".to_owned()];
        let turn = turn_for(&hand, &names, &memory);
        let mut bot = CallStation;
        let mut reply = Agent::act(&mut bot, &turn);
        assert!(matches!(reply, Reply::Now(_)), "no future for a bot");
        let polled = Pin::new(&mut reply).poll(&mut Context::from_waker(Waker::noop()));
        assert_eq!(polled, Poll::Ready(Choice::Act(Action::Call)));
    }

    #[test]
    fn illegal_choices_and_fallbacks_resolve_to_check_or_fold() {
        let facing_a_bet = Legal {
            to_call: 10,
            raise: Some((20, 100)),
        };
        let free = Legal {
            to_call: 0,
            raise: Some((10, 100)),
        };
        assert_eq!(
            Choice::Act(Action::RaiseTo(30)).resolve(&facing_a_bet),
            (Action::RaiseTo(30), None)
        );
        assert_eq!(
            Choice::Act(Action::Check).resolve(&facing_a_bet),
            (Action::Fold, Some(FallbackReason::Illegal))
        );
        assert_eq!(
            Choice::Act(Action::RaiseTo(500)).resolve(&free),
            (Action::Check, Some(FallbackReason::Illegal))
        );
        assert_eq!(
            Choice::Fallback(FallbackReason::Timeout).resolve(&free),
            (Action::Check, Some(FallbackReason::Timeout))
        );
        assert!(FallbackReason::Quota.is_permanent() && !FallbackReason::Timeout.is_permanent());
    }
}
