//! Rule-by-rule scenarios and seeded property tests for the engine.

use super::cards::Card;
use super::engine::{Action, ActionKind, Event, Hand, HandSetup, MAX_SEATS, Street};
use super::{Bot, CallStation, RandomBot, Table, TightBot, play_out};

fn cards(text: &str) -> Vec<Card> {
    text.split_whitespace()
        .map(|c| Card::parse(c).unwrap())
        .collect()
}

/// A hand with the given stacks (seat = index), button, blinds, holes and board.
fn hand(stacks: &[i64], button: usize, blinds: (i64, i64), holes: &[&str], board: &str) -> Hand {
    let mut all_stacks = [0; MAX_SEATS];
    all_stacks[..stacks.len()].copy_from_slice(stacks);
    let mut all_holes = [[Card::new(0, 0); 2]; MAX_SEATS];
    for (seat, h) in holes.iter().enumerate() {
        let c = cards(h);
        all_holes[seat] = [c[0], c[1]];
    }
    let b = cards(board);
    Hand::start(&HandSetup {
        stacks: all_stacks,
        button,
        small_blind: blinds.0,
        big_blind: blinds.1,
        holes: all_holes,
        board: [b[0], b[1], b[2], b[3], b[4]],
    })
    .unwrap()
}

/// Applies actions, checking each is made by the expected seat.
fn play(hand: &mut Hand, actions: &[(usize, Action)]) {
    for &(seat, action) in actions {
        assert_eq!(
            hand.to_act(),
            Some(seat),
            "expected seat {seat} to act before {action:?}"
        );
        hand.apply(action).unwrap();
    }
}

fn stacks(hand: &Hand, seats: usize) -> Vec<i64> {
    (0..seats).map(|s| hand.stack(s)).collect()
}

const BOARD: &str = "5h 6d 9c Js Td";

#[test]
fn heads_up_the_button_posts_the_small_blind_acts_first_preflop_and_last_after() {
    let mut h = hand(&[100, 100], 0, (1, 2), &["As Ks", "Qd Qh"], BOARD);
    assert_eq!(h.blind_seats(), (0, 1));
    assert_eq!(h.to_act(), Some(0), "the button acts first preflop");
    play(&mut h, &[(0, Action::Call), (1, Action::Check)]);
    assert_eq!(h.street(), Street::Flop);
    assert_eq!(
        h.to_act(),
        Some(1),
        "the big blind acts first after the flop"
    );
    play(&mut h, &[(1, Action::Check), (0, Action::Check)]);
    assert_eq!(h.to_act(), Some(1));
}

#[test]
fn three_handed_blinds_sit_left_of_the_button_and_the_big_blind_gets_its_option() {
    let mut h = hand(
        &[100, 100, 100],
        2,
        (1, 2),
        &["As Ks", "Qd Qh", "7c 2d"],
        BOARD,
    );
    assert_eq!(h.blind_seats(), (0, 1));
    play(&mut h, &[(2, Action::Call), (0, Action::Call)]);
    assert_eq!(h.to_act(), Some(1), "the big blind may still raise");
    let legal = h.legal().unwrap();
    assert!(legal.can_check() && legal.raise == Some((4, 100)));
    play(&mut h, &[(1, Action::RaiseTo(8))]);
    assert_eq!(h.to_act(), Some(2));
}

#[test]
fn the_minimum_raise_is_the_last_full_raise() {
    let mut h = hand(
        &[1000; 4],
        0,
        (5, 10),
        &["As Ks", "Qd Qh", "7c 2d", "8s 8h"],
        BOARD,
    );
    assert_eq!(h.legal().unwrap().raise, Some((20, 1000)));
    play(&mut h, &[(3, Action::RaiseTo(40))]); // a raise of 30
    assert_eq!(h.legal().unwrap().raise, Some((70, 1000)));
    assert!(h.apply(Action::RaiseTo(69)).is_err());
    play(&mut h, &[(0, Action::RaiseTo(70))]);
    assert_eq!(h.legal().unwrap().raise, Some((100, 1000)));
}

#[test]
fn a_short_all_in_does_not_reopen_betting_for_those_who_already_acted() {
    // Seat 2 (first to act) raises to 30; seat 3 shoves 45, a raise of 15 < 20.
    let mut h = hand(
        &[1000, 1000, 1000, 45],
        3,
        (5, 10),
        &["As Ks", "Qd Qh", "7c 2d", "8s 8h"],
        BOARD,
    );
    assert_eq!(h.blind_seats(), (0, 1));
    play(
        &mut h,
        &[(2, Action::RaiseTo(30)), (3, Action::RaiseTo(45))],
    );
    // The blinds have not acted since the full raise: they may raise (to 45 + 20 at least).
    assert_eq!(h.legal().unwrap().raise, Some((65, 1000)));
    play(&mut h, &[(0, Action::Call), (1, Action::Call)]);
    // Seat 2 already acted and faces only the short raise: call or fold, no raise.
    let legal = h.legal().unwrap();
    assert_eq!((legal.to_call, legal.raise), (15, None));
    let refused = h.apply(Action::RaiseTo(100)).unwrap_err().to_string();
    assert!(refused.contains("fold, call 15"), "{refused}");
}

#[test]
fn short_all_ins_that_add_up_to_a_full_raise_do_reopen_betting() {
    let mut h = hand(
        &[1000, 1000, 1000, 45, 58],
        4,
        (5, 10),
        &["As Ks", "Qd Qh", "7c 2d", "8s 8h", "3c 3d"],
        BOARD,
    );
    // Seat 2 raises to 30, seat 3 shoves 45 (+15), seat 4 shoves 58 (+13): 28 over 30.
    play(
        &mut h,
        &[
            (2, Action::RaiseTo(30)),
            (3, Action::RaiseTo(45)),
            (4, Action::RaiseTo(58)),
        ],
    );
    play(&mut h, &[(0, Action::Call), (1, Action::Call)]);
    assert_eq!(h.legal().unwrap().raise, Some((78, 1000)));
}

#[test]
fn side_pots_go_only_to_players_who_contributed_to_them() {
    // Seat 0 all-in for 50 with the best hand, seat 1 for 150 with the second best,
    // seat 2 covers with the worst.
    let mut h = hand(
        &[50, 150, 400],
        2,
        (5, 10),
        &["As Ah", "Ks Kh", "7c 2d"],
        "3c 8d 9h Js 4s",
    );
    play(
        &mut h,
        &[
            (2, Action::RaiseTo(400)),
            (0, Action::Call),
            (1, Action::Call),
        ],
    );
    assert!(h.is_finished());
    let pots: Vec<_> = h.pots().iter().map(|p| (p.amount, p.eligible)).collect();
    assert_eq!(pots, [(150, 0b111), (200, 0b110)]);
    assert_eq!(
        stacks(&h, 3),
        [150, 200, 250],
        "250 of seat 2's 400 was never called"
    );
    assert!(h.events().contains(&Event::UncalledBetReturned {
        seat: 2,
        amount: 250
    }));
}

#[test]
fn split_pots_give_odd_chips_to_the_first_winner_left_of_the_button() {
    // Seats 1 and 2 both play the board's straight; seat 0 folds on the flop.
    let mut h = hand(
        &[100, 100, 100],
        0,
        (5, 10),
        &["As Ad", "2s 3h", "2d 3s"],
        "8s 9d Th Jc 7h",
    );
    // Seat 1 is the small blind, seat 2 the big blind, seat 0 the button acts first.
    play(
        &mut h,
        &[
            (0, Action::RaiseTo(25)),
            (1, Action::Call),
            (2, Action::Call),
        ],
    );
    play(
        &mut h,
        &[
            (1, Action::RaiseTo(10)),
            (2, Action::Call),
            (0, Action::Fold),
        ],
    );
    play(&mut h, &[(1, Action::Check), (2, Action::Check)]);
    play(&mut h, &[(1, Action::Check), (2, Action::Check)]);
    // Pot: 25 (seat 0) + 35 + 35 = 95: 47 each, the odd chip to seat 1 (left of button 0).
    assert_eq!(stacks(&h, 3), [75, 113, 112]);
}

#[test]
fn when_everyone_folds_the_last_player_wins_without_showing() {
    let mut h = hand(
        &[100, 100, 100],
        0,
        (5, 10),
        &["2c 3d", "Ks Kd", "Qh Qc"],
        BOARD,
    );
    play(&mut h, &[(0, Action::Fold), (1, Action::Fold)]);
    assert!(h.is_finished());
    assert_eq!(stacks(&h, 3), [100, 95, 105]);
    assert!(
        !h.events()
            .iter()
            .any(|e| matches!(e, Event::ShowedDown { .. }))
    );
}

#[test]
fn all_in_players_see_the_board_run_out_and_a_short_blind_is_posted_all_in() {
    // Seat 1, the big blind, has only 4 chips.
    let mut h = hand(&[100, 4], 0, (5, 10), &["2c 3d", "Ks Kd"], BOARD);
    assert!(matches!(
        h.events()[2],
        Event::BlindPosted {
            seat: 1,
            amount: 4,
            all_in: true,
            ..
        }
    ));
    assert_eq!(
        h.legal().unwrap().to_call,
        5,
        "the call is to the full big blind"
    );
    play(&mut h, &[(0, Action::Call)]);
    assert!(h.is_finished(), "nobody can bet: the board is dealt out");
    assert_eq!(h.street(), Street::River);
    assert_eq!(
        stacks(&h, 2),
        [96, 8],
        "kings win seat 0's 4; the 6 over 4 goes back"
    );
}

#[test]
fn illegal_actions_are_refused_with_what_is_allowed() {
    let mut h = hand(
        &[100, 100, 100],
        0,
        (5, 10),
        &["2c 3d", "Ks Kd", "Qh Qc"],
        BOARD,
    );
    let error = h.apply(Action::Check).unwrap_err().to_string();
    assert!(
        error.contains("seat 0 cannot check") && error.contains("raise to 20..=100"),
        "{error}"
    );
    assert!(h.apply(Action::RaiseTo(15)).is_err());
    assert!(h.apply(Action::RaiseTo(101)).is_err());
    play(&mut h, &[(0, Action::Call), (1, Action::Call)]);
    assert!(
        h.apply(Action::Fold).is_err(),
        "folding is not offered when checking is free"
    );
}

// ---- properties over many seeded hands -----------------------------------------------------

fn lineup(seats: usize, seed: u64) -> Vec<Box<dyn Bot>> {
    (0..seats)
        .map(|s| -> Box<dyn Bot> {
            match (s as u64 + seed) % 3 {
                0 => Box::new(RandomBot::new(seed * 31 + s as u64)),
                1 => Box::new(TightBot),
                _ => Box::new(CallStation),
            }
        })
        .collect()
}

/// Plays a whole table; returns every event of every hand.
fn run_table(seats: usize, seed: u64, hands: u64) -> Vec<Event> {
    let mut table = Table::new(seats, 200, 1, 2, seed);
    let mut agents = lineup(seats, seed);
    let mut all = Vec::new();
    while table.hands_dealt() < hands {
        let Some((_, mut hand)) = table.deal(Vec::new()) else {
            break;
        };
        let before: i64 = table.stacks().iter().sum();
        play_out(&mut hand, &mut agents);
        table.settle(&hand);
        assert_eq!(
            table.stacks().iter().sum::<i64>(),
            before,
            "chips are conserved"
        );
        for event in hand.events() {
            if let Event::PotAwarded {
                winners,
                eligible,
                amount,
                ..
            } = *event
            {
                assert_eq!(winners & !eligible, 0, "a pot went to a seat not in it");
                assert!(winners != 0 && amount > 0);
                for seat in 0..MAX_SEATS {
                    if eligible & (1 << seat) != 0 {
                        assert!(
                            hand.contributed(seat) > 0,
                            "seat {seat} is eligible without paying"
                        );
                    }
                }
            }
        }
        let paid: i64 = (0..seats).map(|s| hand.won(s)).sum();
        let put_in: i64 = (0..seats).map(|s| hand.contributed(s)).sum::<i64>()
            + hand
                .events()
                .iter()
                .filter_map(|e| match e {
                    Event::UncalledBetReturned { amount, .. } => Some(*amount),
                    _ => None,
                })
                .sum::<i64>();
        assert_eq!(paid, put_in, "everything put in is paid out");
        all.extend_from_slice(hand.events());
    }
    all
}

#[test]
fn thousands_of_seeded_hands_conserve_chips_and_pay_only_contributors() {
    let (mut hands, mut raises, mut showdowns) = (0, 0, 0);
    for seed in 0..60 {
        let seats = 2 + (seed as usize % 8);
        for event in run_table(seats, seed, 200) {
            match event {
                Event::HandComplete => hands += 1,
                Event::Acted {
                    kind: ActionKind::Raise,
                    ..
                } => raises += 1,
                Event::ShowedDown { .. } => showdowns += 1,
                _ => {}
            }
        }
    }
    assert!(hands > 3_000, "only {hands} hands were played");
    assert!(
        raises > 500 && showdowns > 1_000,
        "{raises} raises, {showdowns} showdowns"
    );
}

#[test]
fn a_run_replays_exactly_from_its_seed() {
    assert_eq!(run_table(6, 42, 300), run_table(6, 42, 300));
    assert_ne!(run_table(6, 42, 50), run_table(6, 43, 50));
}
