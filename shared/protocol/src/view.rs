//! What one seat is shown of the table: the engine's hand turned into protocol payloads.
//! Every seat sees stacks, bets, the board and the action; only its own hole cards; and
//! legal actions and the turn token only when it is to act. Hole cards of other seats appear
//! only in `hand_complete`, for seats that showed down.

use crate::messages::{
    CardObject, GameState, HandComplete, HandResult, LastAction, LegalAction, PlayerView, PotView,
    StreetDealt,
};
use poker::engine::{ActionKind as EngineKind, Event};
use poker::pots::{Pot, build_pots};
use poker::{Hand, Legal, MAX_SEATS, SeatStatus};

/// One seat as the other agents know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeatFacts {
    /// The agent's id (`agt_…`), or a made-up one for a built-in player.
    pub agent_id: String,
    pub name: Option<String>,
    /// Still at the table (not left, not busted out of the run).
    pub present: bool,
}

/// Where the table is: before its first hand, in (or just after) a hand, or over.
#[derive(Debug, Clone, Copy)]
pub enum Moment<'a> {
    /// No hand yet (or between hands): stacks per seat and the last button.
    Between {
        stacks: &'a [i64],
        dealer: usize,
        /// Hands played so far.
        hands: i64,
        ended: bool,
    },
    Hand {
        hand: &'a Hand,
        number: i64,
    },
}

fn cards(cards: &[poker::Card]) -> Vec<CardObject> {
    cards.iter().copied().map(CardObject::of).collect()
}

fn seat_list(bits: u16) -> Vec<u8> {
    (0..MAX_SEATS as u8)
        .filter(|s| bits & (1 << s) != 0)
        .collect()
}

fn pot_views(pots: &[Pot]) -> Vec<PotView> {
    pots.iter()
        .map(|p| PotView {
            amount: p.amount,
            eligible_seats: seat_list(p.eligible),
        })
        .collect()
}

/// The pots as they stand: the paid-out pots once the hand is over, otherwise the side
/// pots the contributions so far would make.
fn current_pots(hand: &Hand) -> Vec<PotView> {
    if hand.is_finished() {
        return pot_views(hand.pots());
    }
    let mut totals = [0; MAX_SEATS];
    let mut folded = 0u16;
    for (seat, total) in totals.iter_mut().enumerate() {
        *total = hand.contributed(seat);
        if hand.status(seat) == SeatStatus::Folded {
            folded |= 1 << seat;
        }
    }
    let mut pots = [Pot {
        amount: 0,
        eligible: 0,
    }; MAX_SEATS];
    let count = build_pots(&totals, folded, &mut pots);
    pot_views(&pots[..count])
}

/// The protocol's names for what the seat to act may do: fold only when there is something
/// to call, `call` with its amount, `raiseTo` with the seat's total after it.
pub fn legal_actions(legal: &Legal) -> Vec<LegalAction> {
    let plain = |kind: &str| LegalAction {
        kind: kind.to_owned(),
        min_amount: None,
        max_amount: None,
    };
    let mut actions = Vec::with_capacity(3);
    if legal.to_call > 0 {
        actions.push(plain("fold"));
        actions.push(LegalAction {
            kind: "call".into(),
            min_amount: Some(legal.to_call),
            max_amount: Some(legal.to_call),
        });
    } else {
        actions.push(plain("check"));
    }
    if let Some((min, max)) = legal.raise {
        actions.push(LegalAction {
            kind: "raiseTo".into(),
            min_amount: Some(min),
            max_amount: Some(max),
        });
    }
    actions
}

fn last_action(hand: &Hand) -> Option<LastAction> {
    hand.events().iter().rev().find_map(|event| match *event {
        Event::Acted {
            seat,
            kind,
            amount,
            total,
            ..
        } => Some(LastAction {
            seat_id: seat as u8,
            kind: match kind {
                EngineKind::Fold => "fold",
                EngineKind::Check => "check",
                EngineKind::Call => "call",
                EngineKind::Bet | EngineKind::Raise => "raiseTo",
            }
            .into(),
            amount: match kind {
                EngineKind::Fold | EngineKind::Check => None,
                EngineKind::Call => Some(amount),
                EngineKind::Bet | EngineKind::Raise => Some(total),
            },
        }),
        _ => None,
    })
}

/// The `game_state` seat `for_seat` receives. `turn_token` is that seat's token when it is
/// to act (the caller issues tokens); it is ignored for any other seat.
pub fn game_state(
    table_id: &str,
    seats: &[SeatFacts],
    moment: Moment<'_>,
    seq: i64,
    for_seat: usize,
    turn_token: Option<&str>,
) -> GameState {
    match moment {
        Moment::Between {
            stacks,
            dealer,
            hands,
            ended,
        } => GameState {
            table_id: table_id.to_owned(),
            hand_number: hands,
            phase: if ended { "ended" } else { "waiting" }.into(),
            community_cards: Vec::new(),
            pots: Vec::new(),
            players: seats
                .iter()
                .enumerate()
                .map(|(seat, facts)| PlayerView {
                    seat_id: seat as u8,
                    agent_id: facts.agent_id.clone(),
                    agent_name: facts.name.clone(),
                    stack: stacks.get(seat).copied().unwrap_or(0),
                    bet: 0,
                    folded: false,
                    all_in: false,
                    is_active: facts.present && stacks.get(seat).is_some_and(|s| *s > 0),
                    hole_cards: None,
                })
                .collect(),
            dealer_seat: dealer as u8,
            current_seat: None,
            last_action: None,
            legal_actions: None,
            min_raise: None,
            to_call: None,
            seq,
            turn_token: None,
        },
        Moment::Hand { hand, number } => {
            let to_act = hand.to_act();
            let own_turn = to_act == Some(for_seat);
            let legal = hand.legal().filter(|_| own_turn);
            let highest = (0..seats.len())
                .map(|s| hand.in_front(s))
                .max()
                .unwrap_or(0);
            let players = seats
                .iter()
                .enumerate()
                .map(|(seat, facts)| {
                    let status = hand.status(seat);
                    PlayerView {
                        seat_id: seat as u8,
                        agent_id: facts.agent_id.clone(),
                        agent_name: facts.name.clone(),
                        stack: hand.stack(seat),
                        bet: hand.in_front(seat),
                        folded: status == SeatStatus::Folded,
                        all_in: status == SeatStatus::AllIn,
                        is_active: facts.present && status != SeatStatus::Out,
                        hole_cards: (seat == for_seat && hand.is_dealt(seat))
                            .then(|| cards(&hand.hole(seat))),
                    }
                })
                .collect();
            let to_call = match legal {
                Some(legal) => legal.to_call,
                None if hand.status(for_seat) == SeatStatus::Active => {
                    (highest - hand.in_front(for_seat)).min(hand.stack(for_seat))
                }
                None => 0,
            };
            GameState {
                table_id: table_id.to_owned(),
                hand_number: number,
                phase: if hand.is_finished() {
                    "showdown"
                } else {
                    hand.street().name()
                }
                .into(),
                community_cards: cards(hand.board()),
                pots: current_pots(hand),
                players,
                dealer_seat: hand.button() as u8,
                current_seat: to_act.map(|s| s as u8),
                last_action: last_action(hand),
                legal_actions: legal.as_ref().map(legal_actions),
                min_raise: legal.and_then(|l| l.raise).map(|(min, _)| min - highest),
                to_call: (to_call > 0).then_some(to_call),
                seq,
                turn_token: turn_token.filter(|_| own_turn).map(str::to_owned),
            }
        }
    }
}

/// The `hand_complete` seat `for_seat` receives once `hand` is over: every dealt seat's
/// winnings, and hole cards only for seats that showed down (and the receiver's own).
pub fn hand_complete(
    seats: &[SeatFacts],
    hand: &Hand,
    number: i64,
    for_seat: usize,
) -> HandComplete {
    let mut shown: [Option<(Vec<CardObject>, String)>; MAX_SEATS] = Default::default();
    let mut returned = [0i64; MAX_SEATS];
    for event in hand.events() {
        match *event {
            Event::ShowedDown {
                seat,
                cards: hole,
                rank,
            } => {
                shown[seat] = Some((cards(&hole), rank.category().name().to_owned()));
            }
            Event::UncalledBetReturned { seat, amount } => returned[seat] += amount,
            _ => {}
        }
    }
    let showdown = shown.iter().any(Option::is_some);
    let results = seats
        .iter()
        .enumerate()
        .filter(|(seat, _)| hand.is_dealt(*seat))
        .map(|(seat, facts)| {
            let (hole_cards, hand_rank) = match shown[seat].take() {
                Some((hole, rank)) => (hole, Some(rank)),
                None if seat == for_seat => (cards(&hand.hole(seat)), None),
                None => (Vec::new(), None),
            };
            HandResult {
                seat_id: seat as u8,
                agent_id: facts.agent_id.clone(),
                hole_cards,
                hand_rank,
                winnings: hand.won(seat) - returned[seat],
            }
        })
        .collect();
    HandComplete {
        hand_number: number,
        results,
        final_pots: pot_views(hand.pots()),
        community_cards: cards(hand.board()),
        showdown,
    }
}

/// The streets dealt by the events from `from` on, as `street_dealt` messages.
pub fn streets_dealt(hand: &Hand, number: i64, from: usize) -> Vec<StreetDealt> {
    hand.events()[from.min(hand.events().len())..]
        .iter()
        .filter_map(|event| match event {
            Event::StreetDealt { street, board } => {
                let dealt: Vec<poker::Card> = board.iter().flatten().copied().collect();
                let new = match street {
                    poker::Street::Flop => &dealt[..],
                    _ => &dealt[dealt.len().saturating_sub(1)..],
                };
                Some(StreetDealt {
                    hand_number: number,
                    street: street.name().to_owned(),
                    cards: cards(new),
                })
            }
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use poker::{Action, Card, HandSetup};

    fn facts(n: usize) -> Vec<SeatFacts> {
        (0..n)
            .map(|i| SeatFacts {
                agent_id: format!("agt_{i}"),
                name: Some(format!("agent {i}")),
                present: true,
            })
            .collect()
    }

    /// Three seats of 1,000, button on 0, blinds 5/10, seat i holding deck cards 2i, 2i+1.
    fn hand() -> Hand {
        let deck = Card::deck();
        let mut stacks = [0; MAX_SEATS];
        stacks[..3].fill(1000);
        Hand::start(&HandSetup {
            stacks,
            button: 0,
            small_blind: 5,
            big_blind: 10,
            holes: std::array::from_fn(|i| [deck[2 * i], deck[2 * i + 1]]),
            board: [deck[40], deck[41], deck[42], deck[43], deck[44]],
        })
        .unwrap()
    }

    #[test]
    fn each_seat_sees_its_own_cards_and_only_the_seat_to_act_gets_actions_and_the_token() {
        let hand = hand();
        let seats = facts(3);
        let to_act = hand.to_act().unwrap();
        assert_eq!(to_act, 0, "three-handed, the button acts first preflop");
        for seat in 0..3 {
            let state = game_state(
                "tbl_x",
                &seats,
                Moment::Hand {
                    hand: &hand,
                    number: 1,
                },
                7,
                seat,
                Some("tok"),
            );
            for player in &state.players {
                assert_eq!(player.hole_cards.is_some(), player.seat_id as usize == seat);
            }
            assert_eq!(state.legal_actions.is_some(), seat == to_act);
            assert_eq!(state.turn_token.is_some(), seat == to_act);
            assert_eq!(state.current_seat, Some(0));
            assert_eq!(state.phase, "preflop");
            assert_eq!(state.seq, 7);
            assert_eq!(state.pots.iter().map(|p| p.amount).sum::<i64>(), 15);
        }
        let mine = game_state(
            "tbl_x",
            &seats,
            Moment::Hand {
                hand: &hand,
                number: 1,
            },
            7,
            0,
            Some("tok"),
        );
        let kinds: Vec<_> = mine
            .legal_actions
            .unwrap()
            .iter()
            .map(|a| (a.kind.clone(), a.min_amount, a.max_amount))
            .collect();
        assert_eq!(
            kinds,
            [
                ("fold".into(), None, None),
                ("call".into(), Some(10), Some(10)),
                ("raiseTo".into(), Some(20), Some(1000)),
            ]
        );
        assert_eq!(mine.to_call, Some(10));
        assert_eq!(mine.min_raise, Some(10));
    }

    #[test]
    fn the_last_action_names_raises_by_their_total_and_results_hide_unshown_cards() {
        let mut hand = hand();
        let seats = facts(3);
        hand.apply(Action::RaiseTo(30)).unwrap();
        let state = game_state(
            "t",
            &seats,
            Moment::Hand {
                hand: &hand,
                number: 2,
            },
            1,
            1,
            None,
        );
        assert_eq!(
            state.last_action,
            Some(LastAction {
                seat_id: 0,
                kind: "raiseTo".into(),
                amount: Some(30)
            })
        );
        hand.apply(Action::Fold).unwrap();
        hand.apply(Action::Fold).unwrap();
        assert!(hand.is_finished());
        let done = hand_complete(&seats, &hand, 2, 1);
        assert!(!done.showdown);
        let winner = done.results.iter().find(|r| r.seat_id == 0).unwrap();
        assert!(winner.hole_cards.is_empty(), "nobody showed: no cards");
        assert_eq!(
            winner.winnings, 25,
            "the pot: the blinds and the 10 of the raise they matched; the rest came back"
        );
        let own = done.results.iter().find(|r| r.seat_id == 1).unwrap();
        assert_eq!(own.hole_cards.len(), 2, "an agent sees its own cards back");
    }

    #[test]
    fn a_showdown_reveals_the_cards_shown_and_streets_are_reported_once() {
        let mut hand = hand();
        let seats = facts(3);
        let mut seen = hand.events().len();
        let mut streets = Vec::new();
        while let Some(legal) = hand.legal() {
            hand.apply(if legal.can_check() {
                Action::Check
            } else {
                Action::Call
            })
            .unwrap();
            streets.extend(streets_dealt(&hand, 1, seen));
            seen = hand.events().len();
        }
        let names: Vec<_> = streets
            .iter()
            .map(|s| (s.street.as_str(), s.cards.len()))
            .collect();
        assert_eq!(names, [("flop", 3), ("turn", 1), ("river", 1)]);
        let done = hand_complete(&seats, &hand, 1, 2);
        assert!(done.showdown);
        assert!(
            done.results
                .iter()
                .all(|r| r.hole_cards.len() == 2 && r.hand_rank.is_some())
        );
        assert_eq!(done.results.iter().map(|r| r.winnings).sum::<i64>(), 30);
        let ended = game_state(
            "t",
            &seats,
            Moment::Between {
                stacks: &[990, 990, 1020],
                dealer: 0,
                hands: 1,
                ended: true,
            },
            9,
            0,
            None,
        );
        assert_eq!(ended.phase, "ended");
        assert!(ended.players.iter().all(|p| p.hole_cards.is_none()));
    }
}
