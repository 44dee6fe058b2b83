//! A table across hands: stacks carry over, the button moves to the next seat with chips,
//! and each hand's cards come from the run's seed, so a run replays exactly.
//!
//! Hand *n* is dealt from ChaCha12 (the CSPRNG behind `rand`'s `StdRng`) keyed by the run
//! seed on stream *n*: hands are independent of each other and of how many random numbers
//! agents drew.

use super::cards::Card;
use super::engine::{Event, Hand, HandSetup, MAX_SEATS};
use super::pots::{SeatSet, clockwise, seat_count};
use rand::{Rng, SeedableRng};
use rand_chacha::{ChaCha12Core, ChaCha12Rng};

#[derive(Debug, Clone)]
pub struct Table {
    stacks: [i64; MAX_SEATS],
    seats: usize,
    small_blind: i64,
    big_blind: i64,
    button: Option<usize>,
    hands_dealt: u64,
    seed: u64,
    /// ChaCha12 keyed by `seed`, kept so that a hand's generator is a copy of it rather than
    /// a fresh key expansion from the seed (the same generator, made once per table).
    deck_key: ChaCha12Core,
}

/// A hand's cards and position, for the record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deal {
    pub number: u64,
    pub button: usize,
}

impl Table {
    /// `seats` players with `stack` chips each.
    pub fn new(seats: usize, stack: i64, small_blind: i64, big_blind: i64, seed: u64) -> Self {
        assert!((2..=MAX_SEATS).contains(&seats));
        let mut stacks = [0; MAX_SEATS];
        stacks[..seats].fill(stack);
        Self {
            stacks,
            seats,
            small_blind,
            big_blind,
            button: None,
            hands_dealt: 0,
            seed,
            deck_key: ChaCha12Core::seed_from_u64(seed),
        }
    }

    pub fn stacks(&self) -> &[i64] {
        &self.stacks[..self.seats]
    }

    /// Identifies hand `number`'s deck: the run seed and the stream it was dealt from.
    pub fn deck_id(&self, number: u64) -> String {
        format!("{:016x}/{}", self.seed, number - 1)
    }

    pub fn hands_dealt(&self) -> u64 {
        self.hands_dealt
    }

    /// Seats that still have chips.
    pub fn players_left(&self) -> usize {
        seat_count(self.with_chips())
    }

    /// The seats that still have chips (only the table's first `seats` ever do).
    fn with_chips(&self) -> SeatSet {
        let mut set = 0;
        for (seat, &stack) in self.stacks.iter().enumerate() {
            if stack > 0 {
                set |= 1 << seat;
            }
        }
        set
    }

    /// Deals the next hand, or `None` when fewer than two seats have chips.
    pub fn deal(&mut self, events: Vec<Event>) -> Option<(Deal, Hand)> {
        let with_chips = self.with_chips();
        let players = seat_count(with_chips);
        if players < 2 {
            return None;
        }
        let mut rng = ChaCha12Rng::from(self.deck_key.clone());
        rng.set_stream(self.hands_dealt);
        let start = match self.button {
            Some(b) => b + 1,
            None => rng.random_range(0..self.seats),
        };
        // The first seat with chips from `start` on, round the table.
        let from_start = with_chips & !((1 << start) - 1);
        let button = if from_start != 0 {
            from_start.trailing_zeros()
        } else {
            with_chips.trailing_zeros()
        } as usize;
        self.button = Some(button);

        // A partial Fisher-Yates shuffle: only the cards that are dealt.
        let mut deck = Card::deck();
        let needed = 2 * players + 5;
        for i in 0..needed {
            let j = rng.random_range(i..52);
            deck.swap(i, j);
        }
        let mut holes = [[deck[0]; 2]; MAX_SEATS];
        for (next, seat) in clockwise(with_chips, button).enumerate() {
            holes[seat] = [deck[next], deck[next + players]];
        }
        let board = [
            deck[2 * players],
            deck[2 * players + 1],
            deck[2 * players + 2],
            deck[2 * players + 3],
            deck[2 * players + 4],
        ];
        let setup = HandSetup {
            stacks: self.stacks,
            button,
            small_blind: self.small_blind,
            big_blind: self.big_blind,
            holes,
            board,
        };
        self.hands_dealt += 1;
        let dealt = setup.check().expect("a table deals valid hands");
        Some((
            Deal {
                number: self.hands_dealt,
                button,
            },
            Hand::deal_in(&setup, dealt, events),
        ))
    }

    /// A seat leaves between hands: its stack is taken off the table (returned, to be
    /// counted as the seat's result) and it is dealt no more hands.
    pub fn leave(&mut self, seat: usize) -> i64 {
        std::mem::take(&mut self.stacks[seat])
    }

    /// Takes the stacks a finished hand left.
    pub fn settle(&mut self, hand: &Hand) {
        debug_assert!(hand.is_finished());
        for seat in 0..self.seats {
            if hand.is_dealt(seat) {
                self.stacks[seat] = hand.stack(seat);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seat_that_leaves_takes_its_stack_and_is_dealt_no_more() {
        let mut table = Table::new(3, 100, 1, 2, 7);
        assert_eq!(table.leave(1), 100);
        assert_eq!(table.stacks(), [100, 0, 100]);
        assert_eq!(table.players_left(), 2);
        let (_, hand) = table.deal(Vec::new()).unwrap();
        assert!(!hand.is_dealt(1));
        table.leave(0);
        assert!(
            table.deal(Vec::new()).is_none(),
            "one seat left: the table is over"
        );
    }
}
