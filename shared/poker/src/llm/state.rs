//! The game state an LLM player is shown on its turn: compact JSON whose size depends only on
//! the table and the current hand, never on how long the run has lasted.

use super::answer::legal_json;
use crate::cards::Card;
use crate::engine::{BlindKind, Event, Hand, MAX_SEATS, SeatStatus};
use crate::turn::Turn;
use serde_json::{Value, json};

/// Position names by seat for the seats dealt into `hand` (`None` for the others): the
/// button, the blinds, then the seats between them named back from the button (CO, HJ, LJ)
/// and forward from the big blind (UTG, UTG+1, UTG+2).
pub fn positions(hand: &Hand) -> [Option<&'static str>; MAX_SEATS] {
    let mut names = [None; MAX_SEATS];
    let (small, big) = hand.blind_seats();
    let button = hand.button();
    let order: Vec<usize> = (0..MAX_SEATS)
        .map(|i| (small + i) % MAX_SEATS)
        .filter(|&s| hand.is_dealt(s))
        .collect();
    if order.len() == 2 {
        names[button] = Some("BTN");
        names[big] = Some("BB");
        return names;
    }
    names[small] = Some("SB");
    names[big] = Some("BB");
    names[button] = Some("BTN");
    const EARLY: [&str; 3] = ["UTG", "UTG+1", "UTG+2"];
    const LATE: [&str; 3] = ["LJ", "HJ", "CO"];
    let middle = &order[2..order.len() - 1];
    let late = middle.len().min(3);
    let (early_seats, late_seats) = middle.split_at(middle.len() - late);
    for (seat, name) in early_seats.iter().zip(EARLY) {
        names[*seat] = Some(name);
    }
    for (seat, name) in late_seats.iter().zip(&LATE[3 - late..]) {
        names[*seat] = Some(name);
    }
    names
}

fn cards(cards: &[Card]) -> Vec<String> {
    cards.iter().map(Card::to_string).collect()
}

/// This hand's public actions so far, blinds included.
fn actions(hand: &Hand) -> Vec<Value> {
    hand.events()
        .iter()
        .filter_map(|event| match *event {
            Event::BlindPosted {
                seat, kind, amount, ..
            } => {
                let blind = match kind {
                    BlindKind::Small => "small_blind",
                    BlindKind::Big => "big_blind",
                };
                Some(json!({"seat": seat, "street": "preflop", "action": blind, "to": amount}))
            }
            Event::Acted {
                seat,
                street,
                kind,
                total,
                all_in,
                ..
            } => {
                let mut entry =
                    json!({"seat": seat, "street": street.name(), "action": kind.name()});
                if total > 0 {
                    entry["to"] = json!(total);
                }
                if all_in {
                    entry["all_in"] = json!(true);
                }
                Some(entry)
            }
            _ => None,
        })
        .collect()
}

/// The state of `turn` as its seat may see it: its own hole cards and nothing of anyone
/// else's.
pub fn game_state(turn: &Turn<'_>) -> Value {
    let d = &turn.decision;
    let hand = turn.hand;
    let positions = positions(hand);
    let name = |seat: usize| turn.names.get(seat).map(String::as_str).unwrap_or("?");
    let dealt: Vec<usize> = (0..MAX_SEATS).filter(|&s| hand.is_dealt(s)).collect();
    let players: Vec<Value> = dealt
        .iter()
        .map(|&seat| {
            json!({
                "seat": seat, "name": name(seat), "position": positions[seat],
                "stack": hand.stack(seat), "bet": hand.in_front(seat),
                "status": hand.status(seat).name(),
            })
        })
        .collect();
    // What is really at stake: our chips against the deepest opponent still in the hand.
    let deepest_opponent = dealt
        .iter()
        .filter(|&&s| s != d.seat && hand.status(s) != SeatStatus::Folded)
        .map(|&s| hand.stack(s) + hand.in_front(s))
        .max()
        .unwrap_or(0);
    let effective_stack = (d.stack + d.in_front).min(deepest_opponent);
    let pot_odds = if d.legal.to_call > 0 {
        (d.legal.to_call as f64 / (d.pot + d.legal.to_call) as f64 * 1000.0).round() / 1000.0
    } else {
        0.0
    };
    let opponents: Vec<Value> = dealt
        .iter()
        .filter(|&&s| s != d.seat)
        .filter_map(|&s| turn.memory.stats(s).map(|stats| stats.summary(s)))
        .collect();
    json!({
        "hand": turn.hand_number,
        "street": d.street.name(),
        "you": {
            "seat": d.seat, "name": name(d.seat), "position": positions[d.seat],
            "hole": cards(&d.hole), "stack": d.stack, "bet": d.in_front,
        },
        "board": cards(d.board),
        "pot": d.pot,
        "to_call": d.legal.to_call,
        "pot_odds": pot_odds,
        "effective_stack": effective_stack,
        "big_blind": d.big_blind,
        "button": hand.button(),
        "players": players,
        "actions": actions(hand),
        "legal": legal_json(d),
        "opponents": opponents,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Action;
    use crate::memory::TableMemory;
    use crate::testing::{decision_hand, turn_for};

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|s| format!("p{s}")).collect()
    }

    #[test]
    fn positions_follow_the_button() {
        let hand = decision_hand(&[100; 6]);
        let p = positions(&hand);
        assert_eq!(
            &p[..6],
            &[
                Some("BTN"),
                Some("SB"),
                Some("BB"),
                Some("LJ"),
                Some("HJ"),
                Some("CO")
            ]
        );
        let nine = positions(&decision_hand(&[100; 9]));
        assert_eq!(nine[3], Some("UTG"));
        assert_eq!(nine[8], Some("CO"));
        let heads_up = positions(&decision_hand(&[100, 100]));
        assert_eq!(&heads_up[..2], &[Some("BTN"), Some("BB")]);
    }

    #[test]
    fn the_state_shows_the_seats_own_cards_and_no_one_elses() {
        let mut hand = decision_hand(&[1000, 1000, 1000]);
        hand.apply(Action::RaiseTo(30)).unwrap();
        let memory = TableMemory::default();
        let names = names(3);
        let turn = turn_for(&hand, &names, &memory);
        let state = game_state(&turn);
        assert_eq!(state["you"]["seat"], 1);
        let own: Vec<String> = hand.hole(1).iter().map(Card::to_string).collect();
        assert_eq!(state["you"]["hole"], json!(own));
        let text = state.to_string();
        for seat in [0, 2] {
            for card in hand.hole(seat) {
                assert!(!text.contains(&format!("\"{card}\"")), "{card} leaked");
            }
        }
        assert_eq!(state["to_call"], 25, "30 to match, 5 posted");
        assert_eq!(state["pot_odds"], 0.357, "25 / (45 + 25)");
        assert_eq!(state["actions"][2]["action"], "raise");
        assert_eq!(state["legal"][1], json!({"action": "call", "amount": 25}));
        assert_eq!(state["legal"][2]["min_to"], 50);
        assert_eq!(state["players"][0]["bet"], 30);
    }

    #[test]
    fn the_state_does_not_grow_with_the_run() {
        let mut memory = TableMemory::default();
        let names = names(3);
        let size_after = |memory: &TableMemory| {
            let hand = decision_hand(&[1000, 1000, 1000]);
            game_state(&turn_for(&hand, &names, memory))
                .to_string()
                .len()
        };
        let mut finished = decision_hand(&[1000, 1000, 1000]);
        finished.apply(Action::Call).unwrap();
        finished.apply(Action::Call).unwrap();
        while !finished.is_finished() {
            finished.apply(Action::Check).unwrap();
        }
        memory.observe(1, &finished);
        let early = size_after(&memory);
        for number in 2..=500 {
            memory.observe(number, &finished);
        }
        let late = size_after(&memory);
        assert!(
            late <= early + 16,
            "{early} bytes at hand 2, {late} at hand 501"
        );
    }
}
