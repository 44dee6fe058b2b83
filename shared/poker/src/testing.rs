//! Builders shared by this crate's unit tests.

use crate::agents::Decision;
use crate::cards::Card;
use crate::engine::{Hand, HandSetup, MAX_SEATS};
use crate::memory::TableMemory;
use crate::turn::Turn;
use std::time::{Duration, Instant};

/// A hand with these stacks on seats 0.., the button on seat 0, blinds 5/10, and the deck
/// dealt in order: seat `i` holds cards `2i` and `2i + 1` of [`Card::deck`].
pub fn decision_hand(stacks: &[i64]) -> Hand {
    let mut all = [0; MAX_SEATS];
    all[..stacks.len()].copy_from_slice(stacks);
    let deck = Card::deck();
    Hand::start(&HandSetup {
        stacks: all,
        button: 0,
        small_blind: 5,
        big_blind: 10,
        holes: std::array::from_fn(|i| [deck[2 * i], deck[2 * i + 1]]),
        board: [deck[40], deck[41], deck[42], deck[43], deck[44]],
    })
    .unwrap()
}

/// The turn of whoever is to act in `hand`, as hand 1, due in a second.
pub fn turn_for<'a>(hand: &'a Hand, names: &'a [String], memory: &'a TableMemory) -> Turn<'a> {
    Turn {
        decision: Decision::of(hand).expect("someone is to act"),
        hand,
        hand_number: 1,
        names,
        memory,
        deadline: Instant::now() + Duration::from_secs(1),
    }
}
