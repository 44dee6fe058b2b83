//! The built-in bots: documented decision rules that answer at once from what the seat
//! sees. They are agents too (see [`crate::turn::Agent`]), like the LLM agents the runner
//! drives.

use super::cards::Card;
use super::engine::{Action, Hand, Legal, Street};
use super::eval::{Category, evaluate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a seat sees when it must act.
#[derive(Debug, Clone, Copy)]
pub struct Decision<'a> {
    pub seat: usize,
    pub hole: [Card; 2],
    pub board: &'a [Card],
    pub street: Street,
    /// All chips put in this hand so far, this street's bets included.
    pub pot: i64,
    pub stack: i64,
    /// This seat's chips in front on this street (a posted blind counts).
    pub in_front: i64,
    pub big_blind: i64,
    /// Players still holding cards, this one included.
    pub players_in_hand: usize,
    pub legal: Legal,
}

impl<'a> Decision<'a> {
    /// The decision facing the seat to act, if any.
    pub fn of(hand: &'a Hand) -> Option<Self> {
        let seat = hand.to_act()?;
        Some(Self {
            seat,
            hole: hand.hole(seat),
            board: hand.board(),
            street: hand.street(),
            pot: hand.pot(),
            stack: hand.stack(seat),
            in_front: hand.in_front(seat),
            big_blind: hand.big_blind(),
            players_in_hand: hand.players_in_hand(),
            legal: hand.legal()?,
        })
    }
}

/// A decision rule: answers at once, from the decision alone, with no I/O.
pub trait Bot: Send {
    fn decide(&mut self, decision: &Decision<'_>) -> Action;
}

/// Uniform over the legal kinds of action (fold, check, call, raise); a raise is uniform
/// over the legal amounts.
pub struct RandomBot {
    rng: ChaCha8Rng,
}

impl RandomBot {
    pub fn new(seed: u64) -> Self {
        Self {
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }
}

impl Bot for RandomBot {
    fn decide(&mut self, d: &Decision<'_>) -> Action {
        let mut options = [Action::Check; 3];
        let mut n = 0;
        let mut push = |a| {
            options[n] = a;
            n += 1;
        };
        if d.legal.can_check() {
            push(Action::Check);
        } else {
            push(Action::Fold);
            push(Action::Call);
        }
        if let Some((min, _)) = d.legal.raise {
            push(Action::RaiseTo(min));
        }
        match options[self.rng.random_range(0..n)] {
            Action::RaiseTo(_) => {
                let (min, max) = d.legal.raise.expect("offered");
                Action::RaiseTo(self.rng.random_range(min..=max))
            }
            other => other,
        }
    }
}

/// What a seat does when its agent fails to answer in time or answers with an illegal
/// action: check if that is legal, otherwise fold.
pub fn fallback(legal: &Legal) -> Action {
    if legal.can_check() {
        Action::Check
    } else {
        Action::Fold
    }
}

/// The bot's answer if it is legal, otherwise [`fallback`].
pub fn legal_choice(bot: &mut dyn Bot, decision: &Decision<'_>) -> Action {
    let chosen = bot.decide(decision);
    if decision.legal.allows(chosen) {
        chosen
    } else {
        fallback(&decision.legal)
    }
}

/// Plays a hand to its end with one bot per seat and no pauses.
pub fn play_out(hand: &mut Hand, bots: &mut [Box<dyn Bot>]) {
    while let Some(decision) = Decision::of(hand) {
        let action = legal_choice(bots[decision.seat].as_mut(), &decision);
        hand.apply(action)
            .expect("the action was checked against the legal ones");
    }
}

/// Checks when it can, otherwise calls; never raises, never folds.
pub struct CallStation;

impl Bot for CallStation {
    fn decide(&mut self, d: &Decision<'_>) -> Action {
        if d.legal.can_check() {
            Action::Check
        } else {
            Action::Call
        }
    }
}

/// Plays few hands, and those hard.
///
/// Before the flop it scores its two cards (Chen's formula: pairs and high, suited,
/// connected cards score high). It raises about the pot with 10+ when the bet is at most
/// three big blinds, re-raises anything with 16+ (aces, kings), calls bigger bets with 10+
/// and small ones with 7+, and otherwise checks or folds. After the flop it estimates its
/// chance from its made hand: it bets or raises about the pot when that is 0.6+ and it faces
/// at most half the pot (with 0.9+, any bet under a quarter of its stack), calls when the
/// chance beats the pot odds
/// (call / (pot + call)), and otherwise checks or folds.
pub struct TightBot;

/// A preflop score from 0 to about 20, after Bill Chen's formula.
pub fn starting_hand_score(hole: [Card; 2]) -> f64 {
    let (hi, lo) = if hole[0].rank() >= hole[1].rank() {
        (hole[0], hole[1])
    } else {
        (hole[1], hole[0])
    };
    let high = match hi.rank() {
        12 => 10.0,
        11 => 8.0,
        10 => 7.0,
        9 => 6.0,
        r => f64::from(r + 2) / 2.0,
    };
    if hi.rank() == lo.rank() {
        return (high * 2.0).max(5.0);
    }
    let mut score = high;
    if hi.suit() == lo.suit() {
        score += 2.0;
    }
    let gap = hi.rank() - lo.rank() - 1;
    score -= match gap {
        0 => 0.0,
        1 => 1.0,
        2 => 2.0,
        3 => 4.0,
        _ => 5.0,
    };
    if gap <= 1 && hi.rank() < 10 {
        score += 1.0;
    }
    score
}

/// A rough chance of winning from the made hand and the number of opponents.
fn made_hand_strength(hole: [Card; 2], board: &[Card], opponents: usize) -> f64 {
    let mut cards = [hole[0]; 7];
    cards[1] = hole[1];
    cards[2..2 + board.len()].copy_from_slice(board);
    let base: f64 = match evaluate(&cards[..2 + board.len()]).category() {
        Category::HighCard => 0.12,
        Category::Pair => 0.40,
        Category::TwoPair => 0.65,
        Category::Trips => 0.78,
        Category::Straight => 0.85,
        Category::Flush => 0.88,
        Category::FullHouse => 0.95,
        Category::Quads | Category::StraightFlush => 0.99,
    };
    base.powf(opponents.max(1) as f64 * 0.5)
}

fn raise_about_pot(d: &Decision<'_>) -> Option<Action> {
    let (min, max) = d.legal.raise?;
    let target = d.pot + d.legal.to_call * 2;
    Some(Action::RaiseTo(target.clamp(min, max)))
}

impl Bot for TightBot {
    fn decide(&mut self, d: &Decision<'_>) -> Action {
        let passive = if d.legal.can_check() {
            Action::Check
        } else {
            Action::Fold
        };
        let call = if d.legal.can_check() {
            Action::Check
        } else {
            Action::Call
        };
        // One raise per street: after betting or raising, it calls a re-raise unless the
        // hand is premium and the call is still small against its stack.
        let first_raise = d.in_front == 0;
        let affordable = d.legal.to_call * 4 <= d.stack;
        if d.street == Street::Preflop {
            let score = starting_hand_score(d.hole);
            let cheap = d.legal.to_call <= 3 * d.big_blind;
            let first_raise = d.in_front <= d.big_blind;
            let raise = if (score >= 16.0 && affordable) || (score >= 10.0 && cheap && first_raise)
            {
                raise_about_pot(d)
            } else {
                None
            };
            return match raise {
                Some(raise) => raise,
                None if score >= 10.0 || (score >= 7.0 && cheap) => call,
                None => passive,
            };
        }
        let strength = made_hand_strength(d.hole, d.board, d.players_in_hand - 1);
        let small_bet = d.legal.to_call * 2 <= d.pot;
        if ((strength >= 0.9 && affordable) || (strength >= 0.6 && small_bet && first_raise))
            && let Some(raise) = raise_about_pot(d)
        {
            return raise;
        }
        let to_call = d.legal.to_call as f64;
        if to_call > 0.0 && strength >= to_call / (d.pot as f64 + to_call) {
            Action::Call
        } else {
            passive
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::decision_hand;

    #[test]
    fn the_random_bot_only_chooses_legal_actions_and_uses_the_whole_raise_range() {
        let hand = decision_hand(&[1000, 1000, 1000]);
        let decision = Decision::of(&hand).unwrap();
        let mut bot = RandomBot::new(1);
        let mut kinds = std::collections::HashSet::new();
        let (mut low, mut high) = (i64::MAX, 0);
        for _ in 0..3_000 {
            let action = bot.decide(&decision);
            assert!(decision.legal.allows(action), "{action:?}");
            if let Action::RaiseTo(to) = action {
                low = low.min(to);
                high = high.max(to);
            }
            kinds.insert(std::mem::discriminant(&action));
        }
        assert_eq!(kinds.len(), 3, "fold, call and raise all occur");
        assert!(low <= 40 && high >= 950, "raises spanned {low}..{high}");
    }

    #[test]
    fn the_callstation_calls_bets_and_checks_when_it_is_free() {
        let mut hand = decision_hand(&[1000, 1000, 1000]);
        let decision = Decision::of(&hand).unwrap();
        assert_eq!(CallStation.decide(&decision), Action::Call);
        hand.apply(Action::Call).unwrap();
        hand.apply(Action::Call).unwrap();
        let decision = Decision::of(&hand).unwrap();
        assert_eq!(CallStation.decide(&decision), Action::Check);
    }

    #[test]
    fn the_tight_bot_ranks_starting_hands_like_a_player_would() {
        let score = |a: &str, b: &str| {
            starting_hand_score([Card::parse(a).unwrap(), Card::parse(b).unwrap()])
        };
        assert!(score("As", "Ah") > score("Ks", "Kh"));
        assert!(
            score("As", "Ks") > score("Ad", "Kh"),
            "suited beats offsuit"
        );
        assert!(
            score("Js", "Ts") > score("Js", "6s"),
            "connected beats gapped"
        );
        assert!(score("7c", "2d") < 7.0, "seven-deuce is folded");
        assert!(score("Ac", "Kd") >= 10.0, "ace-king is raised");
    }
}
