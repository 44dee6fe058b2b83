//! Hand evaluation for 5 to 7 cards with bit masks: no lookup tables, no allocation.
//!
//! Each suit is a 13-bit mask of ranks. Quads, trips and pairs fall out of AND/OR of the
//! four masks; straights out of a shifted AND over the rank mask (with the ace also counted
//! low). The result is a [`HandRank`] whose integer order is the poker order.

use super::cards::{Card, RANKS};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    HighCard,
    Pair,
    TwoPair,
    Trips,
    Straight,
    Flush,
    FullHouse,
    Quads,
    StraightFlush,
}

impl Category {
    pub const ALL: [Category; 9] = [
        Category::HighCard,
        Category::Pair,
        Category::TwoPair,
        Category::Trips,
        Category::Straight,
        Category::Flush,
        Category::FullHouse,
        Category::Quads,
        Category::StraightFlush,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Category::HighCard => "high card",
            Category::Pair => "pair",
            Category::TwoPair => "two pair",
            Category::Trips => "three of a kind",
            Category::Straight => "straight",
            Category::Flush => "flush",
            Category::FullHouse => "full house",
            Category::Quads => "four of a kind",
            Category::StraightFlush => "straight flush",
        }
    }
}

/// A hand's strength: category in bits 20.., then up to five ranks, 4 bits each, most
/// significant first. Larger is better; equal means a split.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HandRank(u32);

impl HandRank {
    fn new(category: Category, ranks: &[u32]) -> Self {
        let mut value = (category as u32) << 20;
        for (i, r) in ranks.iter().enumerate() {
            value |= r << (16 - 4 * i);
        }
        Self(value)
    }

    pub fn category(self) -> Category {
        Category::ALL[(self.0 >> 20) as usize]
    }

    pub fn value(self) -> u32 {
        self.0
    }
}

impl fmt::Display for HandRank {
    /// The category and the ranks that decide ties: `full house (K4)`, `pair (QAT7)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let significant = match self.category() {
            Category::Straight | Category::StraightFlush => 1,
            Category::Quads | Category::FullHouse => 2,
            Category::Trips | Category::TwoPair => 3,
            Category::Pair => 4,
            Category::HighCard | Category::Flush => 5,
        };
        let ranks: String = (0..significant)
            .map(|i| (self.0 >> (16 - 4 * i)) & 15)
            .map(|r| RANKS[r as usize] as char)
            .collect();
        write!(f, "{} ({})", self.category().name(), ranks)
    }
}

impl fmt::Debug for HandRank {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[inline]
fn top(mask: u16) -> u32 {
    15 - mask.leading_zeros()
}

/// The `n` highest ranks of `mask`, highest first.
#[inline]
fn top_n(mut mask: u16, n: usize, out: &mut [u32; 5], from: usize) {
    for slot in out.iter_mut().skip(from).take(n) {
        let r = top(mask);
        *slot = r;
        mask &= !(1 << r);
    }
}

/// The highest card of the best straight in `mask`, if any (the wheel's is the five).
#[inline]
fn straight_high(mask: u16) -> Option<u32> {
    let m = (u32::from(mask) << 1) | (u32::from(mask) >> 12 & 1);
    let runs = m & (m >> 1) & (m >> 2) & (m >> 3) & (m >> 4);
    (runs != 0).then(|| 31 - runs.leading_zeros() + 3)
}

/// The best five-card hand within `cards` (5 to 7 cards).
pub fn evaluate(cards: &[Card]) -> HandRank {
    debug_assert!((5..=7).contains(&cards.len()));
    // The four 13-bit suit masks side by side in one register, 16 bits apart, and the
    // number of cards of each suit, 4 bits apart.
    let (mut masks, mut counts) = (0u64, 0u16);
    for card in cards {
        masks |= 1 << (16 * card.suit() + card.rank());
        counts += 1 << (4 * card.suit());
    }
    let suits = [0, 1, 2, 3].map(|suit| (masks >> (16 * suit)) as u16);
    let [a, b, c, d] = suits;
    let mut ranks = [0u32; 5];

    // With at most seven cards a flush rules out quads and full houses, and only one suit
    // can have five. A count of 5 to 7 plus 3 sets its field's top bit (and never carries).
    let flushes = (counts + 0x3333) & 0x8888;
    if flushes != 0 {
        let flush = suits[flushes.trailing_zeros() as usize / 4];
        if let Some(high) = straight_high(flush) {
            return HandRank::new(Category::StraightFlush, &[high]);
        }
        top_n(flush, 5, &mut ranks, 0);
        return HandRank::new(Category::Flush, &ranks);
    }

    let all = a | b | c | d;
    let quads = a & b & c & d;
    if quads != 0 {
        let q = top(quads);
        return HandRank::new(Category::Quads, &[q, top(all & !(1 << q))]);
    }
    let three_plus = (a & b & c) | (a & b & d) | (a & c & d) | (b & c & d);
    let two_plus = (a & b) | (a & c) | (a & d) | (b & c) | (b & d) | (c & d);
    let pairs = two_plus & !three_plus;
    if three_plus != 0 {
        let t = top(three_plus);
        let under = pairs | (three_plus & !(1 << t));
        if under != 0 {
            return HandRank::new(Category::FullHouse, &[t, top(under)]);
        }
    }
    if let Some(high) = straight_high(all) {
        return HandRank::new(Category::Straight, &[high]);
    }
    if three_plus != 0 {
        let t = top(three_plus);
        ranks[0] = t;
        top_n(all & !(1 << t), 2, &mut ranks, 1);
        return HandRank::new(Category::Trips, &ranks[..3]);
    }
    if pairs == 0 {
        top_n(all, 5, &mut ranks, 0);
        HandRank::new(Category::HighCard, &ranks)
    } else if pairs & (pairs - 1) == 0 {
        let p = top(pairs);
        ranks[0] = p;
        top_n(all & !(1 << p), 3, &mut ranks, 1);
        HandRank::new(Category::Pair, &ranks[..4])
    } else {
        let high = top(pairs);
        let low = top(pairs & !(1 << high));
        let kicker = top(all & !(1 << high) & !(1 << low));
        HandRank::new(Category::TwoPair, &[high, low, kicker])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An independent reference for five cards: sort by (count, rank) and classify.
    fn reference5(cards: &[Card; 5]) -> HandRank {
        let mut counts = [0u32; 13];
        for c in cards {
            counts[c.rank() as usize] += 1;
        }
        let mut groups: Vec<(u32, u32)> = (0..13u32)
            .filter(|&r| counts[r as usize] > 0)
            .map(|r| (counts[r as usize], r))
            .collect();
        groups.sort_unstable_by(|x, y| y.cmp(x));
        let flush = cards.iter().all(|c| c.suit() == cards[0].suit());
        let distinct: Vec<u32> = groups.iter().map(|g| g.1).collect();
        let straight = if distinct.len() == 5 && distinct[0] - distinct[4] == 4 {
            Some(distinct[0])
        } else if distinct == [12, 3, 2, 1, 0] {
            Some(3)
        } else {
            None
        };
        let shape: Vec<u32> = groups.iter().map(|g| g.0).collect();
        let (category, ranks) = match (straight, flush, shape.as_slice()) {
            (Some(h), true, _) => (Category::StraightFlush, vec![h]),
            (_, _, [4, 1]) => (Category::Quads, distinct),
            (_, _, [3, 2]) => (Category::FullHouse, distinct),
            (_, true, _) => (Category::Flush, distinct),
            (Some(h), false, _) => (Category::Straight, vec![h]),
            (_, _, [3, 1, 1]) => (Category::Trips, distinct),
            (_, _, [2, 2, 1]) => (Category::TwoPair, distinct),
            (_, _, [2, 1, 1, 1]) => (Category::Pair, distinct),
            _ => (Category::HighCard, distinct),
        };
        HandRank::new(category, &ranks)
    }

    fn hand(text: &str) -> Vec<Card> {
        text.split_whitespace()
            .map(|c| Card::parse(c).unwrap())
            .collect()
    }

    /// All 2,598,960 five-card hands: the category counts every poker text lists, the
    /// 7,462 distinct values, and agreement with the reference on every single hand.
    #[test]
    fn exhaustive_five_card_enumeration() {
        let deck = Card::deck();
        let mut counts = [0u32; 9];
        let mut values = std::collections::HashSet::new();
        for a in 0..52 {
            for b in a + 1..52 {
                for c in b + 1..52 {
                    for d in c + 1..52 {
                        for e in d + 1..52 {
                            let five = [deck[a], deck[b], deck[c], deck[d], deck[e]];
                            let rank = evaluate(&five);
                            assert_eq!(rank, reference5(&five), "{five:?}");
                            counts[rank.category() as usize] += 1;
                            values.insert(rank);
                        }
                    }
                }
            }
        }
        assert_eq!(
            counts,
            [
                1_302_540, 1_098_240, 123_552, 54_912, 10_200, 5_108, 3_744, 624, 40
            ]
        );
        assert_eq!(values.len(), 7_462);
    }

    /// Seven cards: the best of the 21 five-card subsets, by the reference.
    #[test]
    fn seven_cards_agree_with_the_best_of_twenty_one() {
        use rand::SeedableRng;
        use rand::seq::SliceRandom;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let mut deck = Card::deck();
        for _ in 0..100_000 {
            deck.shuffle(&mut rng);
            let seven = &deck[..7];
            let mut best = None;
            for skip1 in 0..7 {
                for skip2 in skip1 + 1..7 {
                    let five: Vec<Card> = (0..7)
                        .filter(|&i| i != skip1 && i != skip2)
                        .map(|i| seven[i])
                        .collect();
                    let rank = reference5(&five.try_into().unwrap());
                    best = best.max(Some(rank));
                }
            }
            assert_eq!(Some(evaluate(seven)), best, "{seven:?}");
        }
    }

    #[test]
    fn tricky_hands_rank_as_poker_players_expect() {
        let rank = |s: &str| evaluate(&hand(s));
        // The wheel is the lowest straight; a six-high straight beats it.
        assert!(rank("As 2d 3c 4h 5s 9d Kc") < rank("2d 3c 4h 5s 6h 9d Kc"));
        // Two trips make a full house with the higher trips on top.
        assert_eq!(rank("Ks Kd Kc 4h 4s 4d 2c").to_string(), "full house (K4)");
        // Three pairs: the best two, and the best remaining card as kicker.
        assert_eq!(rank("Ks Kd 9c 9h 4s 4d Qc").category(), Category::TwoPair);
        assert!(rank("Ks Kd 9c 9h 4s 4d Qc") > rank("Ks Kd 9c 9h 4s 4d Jc"));
        // A flush with a straight in other suits is still a flush, and a straight flush wins.
        assert_eq!(rank("2h 5h 9h Jh Kh 3c 4d").category(), Category::Flush);
        assert_eq!(
            rank("9h Th Jh Qh Kh Ah 2c").to_string(),
            "straight flush (A)"
        );
    }
}
