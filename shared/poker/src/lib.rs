//! No-Limit Texas Hold'em as pure logic: cards, hand evaluation, the betting engine, side
//! pots, tables, the bots' decision rules, the one agent seam ([`Agent`]), what a table
//! remembers, and what an LLM player sees and how its answers are read ([`llm`]). Nothing
//! here does I/O: no database, network, clock or async runtime.

pub mod agents;
pub mod cards;
pub mod engine;
pub mod eval;
pub mod llm;
pub mod memory;
pub mod phh;
pub mod pots;
pub mod table;
pub mod turn;

pub use agents::{
    Bot, CallStation, Decision, RandomBot, TightBot, fallback, legal_choice, play_out,
};
pub use cards::Card;
pub use engine::{
    Action, ActionError, Event, Hand, HandSetup, Legal, MAX_SEATS, SeatStatus, Street,
};
pub use eval::{Category, HandRank, evaluate};
pub use memory::TableMemory;
pub use table::Table;
pub use turn::{Agent, Choice, FallbackReason, Reply, Turn};

#[cfg(test)]
mod scenarios;
#[cfg(test)]
mod testing;
