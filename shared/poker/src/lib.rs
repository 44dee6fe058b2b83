//! No-Limit Texas Hold'em: cards, hand evaluation, the betting engine, side pots and bots.

pub mod cards;
pub mod eval;

pub use cards::Card;
pub use eval::{Category, HandRank, evaluate};
pub mod agents;
pub mod engine;
pub mod pots;
pub mod table;

pub use agents::{
    Agent, CallStation, Decision, RandomBot, TightBot, fallback, legal_choice, play_out,
};
pub use engine::{Action, ActionError, Event, Hand, HandSetup, Legal, MAX_SEATS, Street};
pub use table::Table;

#[cfg(test)]
mod scenarios;
