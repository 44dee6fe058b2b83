//! Cards, as one byte each: `rank * 4 + suit`, ranks 0 (deuce) to 12 (ace), suits c d h s.

use std::fmt;

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Card(u8);

pub const RANKS: &[u8; 13] = b"23456789TJQKA";
pub const SUITS: &[u8; 4] = b"cdhs";

impl Card {
    /// `rank` 0..13 (deuce..ace), `suit` 0..4 (c, d, h, s).
    pub const fn new(rank: u8, suit: u8) -> Self {
        assert!(rank < 13 && suit < 4);
        Self(rank * 4 + suit)
    }

    /// The 52 cards in a fixed order.
    pub fn deck() -> [Card; 52] {
        std::array::from_fn(|i| Card(i as u8))
    }

    pub const fn rank(self) -> u8 {
        self.0 >> 2
    }

    pub const fn suit(self) -> u8 {
        self.0 & 3
    }

    pub const fn index(self) -> usize {
        self.0 as usize
    }

    /// Parses `As`, `td`, `2C`: rank then suit.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = text.as_bytes();
        if bytes.len() != 2 {
            return None;
        }
        let rank = RANKS
            .iter()
            .position(|&r| r == bytes[0].to_ascii_uppercase())?;
        let suit = SUITS
            .iter()
            .position(|&s| s == bytes[1].to_ascii_lowercase())?;
        Some(Card::new(rank as u8, suit as u8))
    }
}

impl fmt::Display for Card {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{}",
            RANKS[self.rank() as usize] as char,
            SUITS[self.suit() as usize] as char
        )
    }
}

impl fmt::Debug for Card {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_card_prints_and_parses_back() {
        let deck = Card::deck();
        for card in deck {
            assert_eq!(Card::parse(&card.to_string()), Some(card));
        }
        assert_eq!(Card::parse("as"), Card::parse("As"));
        assert_eq!(Card::parse("Ts").unwrap().rank(), 8);
        for bad in ["", "A", "1s", "Ax", "Asd"] {
            assert_eq!(Card::parse(bad), None, "{bad}");
        }
    }
}
