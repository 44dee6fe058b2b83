//! Following a table at a remote platform from what its seats are sent: a [`Hand`] of this
//! engine that mirrors the platform's hand, so simrunner's agents see a `Turn` exactly as at a
//! built-in table and the run records the hand as it records its own.
//!
//! Every seat at such a table is ours, so every seat's `game_state` reaches us and, between
//! them, every hole card. The board is learned as the platform deals it (`game_state`,
//! `street_dealt`, `hand_complete`); until then the hand is built with placeholder cards
//! nobody sees. An action the platform reports (`last_action`) is applied only once the
//! cards it deals are known, so the mirrored hand never shows a placeholder. Rebuilding from
//! the hand's start (its stacks, button and blinds, then every action) makes learning a card
//! late harmless.
//!
//! Pure: messages in, hand out. What it cannot reconcile (a seat acting out of turn, blinds
//! posted elsewhere, a card changing) is an [`OutOfSync`] the runner ends the run with.

use crate::messages::{CardObject, GameState, HandComplete, LastAction, StreetDealt};
use crate::view::{self, SeatFacts};
use poker::{Action, Card, Hand, HandSetup, MAX_SEATS};
use std::collections::VecDeque;
use std::fmt;

/// The platform's table and the mirrored hand disagree: the message says how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutOfSync(pub String);

impl fmt::Display for OutOfSync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for OutOfSync {}

fn out_of_sync(message: impl Into<String>) -> OutOfSync {
    OutOfSync(message.into())
}

/// What a message changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    /// Nothing new (a copy another seat already brought, or a message between hands).
    Nothing,
    /// A new hand started.
    NewHand,
    /// The hand moved on, or a card became known.
    Moved,
}

/// One table's current hand, as its seats' messages tell it.
#[derive(Debug, Clone)]
pub struct Follower {
    small_blind: i64,
    big_blind: i64,
    current: Option<Followed>,
}

/// How a hand started, and every card of it known so far.
#[derive(Debug, Clone)]
struct Deal {
    /// The platform's number for the hand.
    number: i64,
    blinds: (i64, i64),
    stacks: [i64; MAX_SEATS],
    button: usize,
    holes: [Option<[Card; 2]>; MAX_SEATS],
    /// The board as dealt so far.
    board: Vec<Card>,
}

#[derive(Debug, Clone)]
struct Followed {
    deal: Deal,
    /// Actions in `hand`, in order.
    applied: Vec<Action>,
    /// Actions reported whose cards are not known yet: `(seat, action)`.
    pending: VecDeque<(usize, Action)>,
    hand: Hand,
    /// The newest `seq` taken in.
    seq: i64,
    /// The newest `last_action` taken in (a state repeats it until the next action).
    last: Option<LastAction>,
    /// `hand_complete` arrived.
    completed: bool,
}

fn card(object: &CardObject) -> Result<Card, OutOfSync> {
    object
        .to_card()
        .ok_or_else(|| out_of_sync(format!("{object:?} is not a card")))
}

fn cards(objects: &[CardObject]) -> Result<Vec<Card>, OutOfSync> {
    objects.iter().map(card).collect()
}

/// The engine's action for what the platform reports (bets and raises alike as `raiseTo`).
fn action_of(last: &LastAction) -> Result<Action, OutOfSync> {
    Ok(match last.kind.as_str() {
        "fold" => Action::Fold,
        "check" => Action::Check,
        "call" => Action::Call,
        "raiseTo" | "raise" | "bet" => Action::RaiseTo(last.amount.ok_or_else(|| {
            out_of_sync(format!(
                "seat {}'s {} has no amount",
                last.seat_id, last.kind
            ))
        })?),
        other => return Err(out_of_sync(format!("unknown action kind {other:?}"))),
    })
}

impl Deal {
    /// The hand from its start with every known card (placeholders for the rest) and every
    /// applied action.
    fn build(&self, applied: &[Action]) -> Result<Hand, OutOfSync> {
        let mut used = 0u64;
        for card in self.holes.iter().flatten().flatten().chain(&self.board) {
            used |= 1 << card.index();
        }
        let mut spare = Card::deck()
            .into_iter()
            .filter(move |c| used & (1 << c.index()) == 0);
        let mut next = || spare.next().expect("52 cards cover a full table");
        let holes = std::array::from_fn(|seat| match self.holes[seat] {
            Some(hole) => hole,
            None => [next(), next()],
        });
        let board = std::array::from_fn(|i| match self.board.get(i) {
            Some(card) => *card,
            None => next(),
        });
        let setup = HandSetup {
            stacks: self.stacks,
            button: self.button,
            small_blind: self.blinds.0,
            big_blind: self.blinds.1,
            holes,
            board,
        };
        let mut hand = Hand::start(&setup)
            .map_err(|e| out_of_sync(format!("hand {} cannot start here: {e}", self.number)))?;
        for action in applied {
            hand.apply(*action)
                .map_err(|e| out_of_sync(format!("hand {}: {e}", self.number)))?;
        }
        Ok(hand)
    }

    /// Takes in dealt board cards; `true` when some were new.
    fn learn_board(&mut self, board: &[Card]) -> Result<bool, OutOfSync> {
        let known = self.board.len().min(board.len());
        if board[..known] != self.board[..known] {
            return Err(out_of_sync(format!(
                "hand {}: the board changed from {} to {}",
                self.number,
                show(&self.board),
                show(board)
            )));
        }
        if board.len() <= self.board.len() {
            return Ok(false);
        }
        if board.len() > 5 {
            return Err(out_of_sync(format!("a board of {} cards", board.len())));
        }
        self.board = board.to_vec();
        Ok(true)
    }

    /// Takes in a seat's hole cards; `true` when they were new.
    fn learn_hole(&mut self, seat: usize, hole: &[Card]) -> Result<bool, OutOfSync> {
        let [a, b] = hole else {
            return Err(out_of_sync(format!(
                "seat {seat} has {} hole cards",
                hole.len()
            )));
        };
        match self.holes.get(seat) {
            None => Err(out_of_sync(format!("no seat {seat}"))),
            Some(Some(known)) if *known == [*a, *b] => Ok(false),
            Some(Some(known)) => Err(out_of_sync(format!(
                "hand {}: seat {seat}'s cards changed from {} to {a}{b}",
                self.number,
                show(known)
            ))),
            Some(None) => {
                self.holes[seat] = Some([*a, *b]);
                Ok(true)
            }
        }
    }
}

impl Followed {
    fn rebuild(&mut self) -> Result<(), OutOfSync> {
        self.hand = self.deal.build(&self.applied)?;
        Ok(())
    }

    /// Applies the reported actions whose cards are known.
    fn advance(&mut self) -> Result<bool, OutOfSync> {
        let mut moved = false;
        while let Some(&(seat, action)) = self.pending.front() {
            if self.hand.to_act() != Some(seat) {
                return Err(out_of_sync(format!(
                    "hand {}: the platform says seat {seat} acted, but {} here",
                    self.deal.number,
                    match self.hand.to_act() {
                        Some(to_act) => format!("seat {to_act} is to act"),
                        None => "the hand is over".to_owned(),
                    }
                )));
            }
            let mut next = self.hand.clone();
            next.apply(action).map_err(|e| {
                out_of_sync(format!(
                    "hand {}: the platform took {action:?} for seat {seat}, which is not \
                     allowed here ({e})",
                    self.deal.number
                ))
            })?;
            if next.board().len() > self.deal.board.len() {
                break; // deals cards not known yet
            }
            self.hand = next;
            self.applied.push(action);
            self.pending.pop_front();
            moved = true;
        }
        Ok(moved)
    }
}

/// The state shows the hand as it stands here: the same seat to act, stacks and bets.
fn shows(hand: &Hand, state: &GameState) -> bool {
    hand.to_act().map(|s| s as u8) == state.current_seat
        && state.players.iter().all(|p| {
            hand.stack(p.seat_id as usize) == p.stack && hand.in_front(p.seat_id as usize) == p.bet
        })
}

fn show(cards: &[Card]) -> String {
    cards.iter().map(Card::to_string).collect()
}

impl Follower {
    pub fn new(small_blind: i64, big_blind: i64) -> Self {
        Self {
            small_blind,
            big_blind,
            current: None,
        }
    }

    /// The hand as far as it is known, once one started.
    pub fn hand(&self) -> Option<&Hand> {
        self.current.as_ref().map(|c| &c.hand)
    }

    /// The platform's number of the current hand.
    pub fn number(&self) -> Option<i64> {
        self.current.as_ref().map(|c| c.deal.number)
    }

    /// The newest `seq` taken in for the current hand.
    pub fn seq(&self) -> Option<i64> {
        self.current.as_ref().map(|c| c.seq)
    }

    /// Every seat's chips before the current hand's blinds (0 for seats not dealt in).
    pub fn start_stacks(&self) -> [i64; MAX_SEATS] {
        self.current
            .as_ref()
            .map_or([0; MAX_SEATS], |c| c.deal.stacks)
    }

    /// Every action the platform reported is in the hand (none waits for its cards).
    pub fn caught_up(&self) -> bool {
        self.current.as_ref().is_some_and(|c| c.pending.is_empty())
    }

    /// Every dealt seat's hole cards are known.
    pub fn holes_known(&self) -> bool {
        self.current.as_ref().is_some_and(|c| {
            (0..MAX_SEATS).all(|seat| !c.hand.is_dealt(seat) || c.deal.holes[seat].is_some())
        })
    }

    /// The hand is over here and at the platform (its `hand_complete` arrived), with every
    /// card it dealt known: it can be recorded.
    pub fn settled(&self) -> bool {
        self.current.as_ref().is_some_and(|c| {
            c.completed && c.pending.is_empty() && c.hand.is_finished() && self.holes_known()
        })
    }

    /// A `game_state` one of our seats received.
    pub fn observe(&mut self, state: &GameState) -> Result<Seen, OutOfSync> {
        if !matches!(
            state.phase.as_str(),
            "preflop" | "flop" | "turn" | "river" | "showdown"
        ) {
            return Ok(Seen::Nothing);
        }
        match &self.current {
            Some(current) if state.hand_number < current.deal.number => return Ok(Seen::Nothing),
            Some(current) if state.hand_number == current.deal.number => {}
            _ => return self.start(state),
        }
        let current = self.current.as_mut().expect("matched above");
        let mut learned = false;
        for player in &state.players {
            if let Some(hole) = &player.hole_cards {
                learned |= current
                    .deal
                    .learn_hole(player.seat_id as usize, &cards(hole)?)?;
            }
        }
        learned |= current.deal.learn_board(&cards(&state.community_cards)?)?;
        if learned {
            current.rebuild()?;
        }
        let newest = state.seq > current.seq;
        if newest {
            current.seq = state.seq;
            if let Some(last) = &state.last_action {
                // A state repeats the last action until the next one, but a seat can also
                // do the same twice running (heads-up, the big blind checks its option and
                // then first on the flop): a repeat leaves the hand as it is here.
                let repeated = Some(last) == current.last.as_ref()
                    && current.pending.is_empty()
                    && shows(&current.hand, state);
                if !repeated {
                    current
                        .pending
                        .push_back((last.seat_id as usize, action_of(last)?));
                    current.last = Some(last.clone());
                }
            }
        }
        let moved = current.advance()?;
        if newest && current.pending.is_empty() && !current.hand.is_finished() {
            let here = current.hand.to_act();
            let there = state.current_seat.map(usize::from);
            if there.is_some() && there != here {
                return Err(out_of_sync(format!(
                    "hand {}: the platform waits for seat {} but seat {} is to act here",
                    current.deal.number,
                    there.unwrap_or_default(),
                    here.map_or("none".to_owned(), |s| s.to_string())
                )));
            }
        }
        Ok(if learned || moved {
            Seen::Moved
        } else {
            Seen::Nothing
        })
    }

    /// The first state of a new hand: stacks before the blinds, the button, who posted.
    fn start(&mut self, state: &GameState) -> Result<Seen, OutOfSync> {
        let number = state.hand_number;
        let posted: i64 = state.players.iter().map(|p| p.bet).sum();
        let fresh = state.phase == "preflop"
            && !state.players.iter().any(|p| p.folded)
            && posted <= self.small_blind + self.big_blind;
        // A hand the blinds decide (every seat but one all-in on them) is over before
        // anyone acts: its first state already shows the result, so it starts from the
        // stacks the previous hand left.
        let decided = state.last_action.is_none()
            && !fresh
            && self.current.as_ref().is_some_and(|c| c.hand.is_finished());
        if !fresh && !decided {
            return Err(out_of_sync(format!(
                "hand {number} was already under way when it was first seen"
            )));
        }
        let mut stacks = [0; MAX_SEATS];
        let mut holes = [None; MAX_SEATS];
        for player in &state.players {
            let seat = player.seat_id as usize;
            if seat >= MAX_SEATS {
                return Err(out_of_sync(format!("no seat {seat}")));
            }
            if player.is_active {
                stacks[seat] = match &self.current {
                    Some(previous) if decided => previous.hand.stack(seat),
                    _ => player.stack + player.bet,
                };
            }
            if let Some(hole) = &player.hole_cards
                && let [a, b] = cards(hole)?[..]
            {
                holes[seat] = Some([a, b]);
            }
        }
        let board = if decided {
            cards(&state.community_cards)?
        } else {
            Vec::new()
        };
        let deal = Deal {
            number,
            blinds: (self.small_blind, self.big_blind),
            stacks,
            button: state.dealer_seat as usize,
            holes,
            board,
        };
        let followed = Followed {
            hand: deal.build(&[])?,
            deal,
            applied: Vec::new(),
            pending: VecDeque::new(),
            seq: state.seq,
            last: state.last_action.clone(),
            completed: false,
        };
        let hand = &followed.hand;
        // (Who won it is checked once every hole card is known: `differences`.)
        if decided && !hand.is_finished() {
            return Err(out_of_sync(format!(
                "hand {number} ended before anyone acted there, but not here"
            )));
        }
        for player in state.players.iter().filter(|_| !decided) {
            let seat = player.seat_id as usize;
            if hand.in_front(seat) != player.bet {
                return Err(out_of_sync(format!(
                    "hand {number}: seat {seat} has {} in front there, {} here (blinds posted \
                     differently)",
                    player.bet,
                    hand.in_front(seat)
                )));
            }
        }
        let there = state.current_seat.map(usize::from);
        if there.is_some() && there != hand.to_act() {
            return Err(out_of_sync(format!(
                "hand {number}: the first to act is seat {} there",
                there.unwrap_or_default()
            )));
        }
        self.current = Some(followed);
        Ok(Seen::NewHand)
    }

    /// A `street_dealt`: the new cards of a street.
    pub fn street(&mut self, dealt: &StreetDealt) -> Result<Seen, OutOfSync> {
        let Some(current) = self
            .current
            .as_mut()
            .filter(|c| c.deal.number == dealt.hand_number)
        else {
            return Ok(Seen::Nothing);
        };
        let before = match dealt.street.as_str() {
            "flop" => 0,
            "turn" => 3,
            "river" => 4,
            _ => return Ok(Seen::Nothing),
        };
        if current.deal.board.len() < before {
            return Ok(Seen::Nothing); // an earlier street is still to come
        }
        let mut board = current.deal.board[..before].to_vec();
        board.extend(cards(&dealt.cards)?);
        if !current.deal.learn_board(&board)? {
            return Ok(Seen::Nothing);
        }
        current.rebuild()?;
        current.advance()?;
        Ok(Seen::Moved)
    }

    /// A `hand_complete`: the whole board and the cards shown.
    pub fn complete(&mut self, done: &HandComplete) -> Result<Seen, OutOfSync> {
        let Some(current) = self
            .current
            .as_mut()
            .filter(|c| c.deal.number == done.hand_number)
        else {
            return Ok(Seen::Nothing);
        };
        let mut learned = current.deal.learn_board(&cards(&done.community_cards)?)?;
        for result in &done.results {
            if !result.hole_cards.is_empty() {
                learned |= current
                    .deal
                    .learn_hole(result.seat_id as usize, &cards(&result.hole_cards)?)?;
            }
        }
        if learned {
            current.rebuild()?;
        }
        let moved = current.advance()?;
        let first = !current.completed;
        current.completed = true;
        if !current.pending.is_empty() {
            return Err(out_of_sync(format!(
                "hand {}: it ended there without the cards its last actions deal",
                current.deal.number
            )));
        }
        Ok(if learned || moved || first {
            Seen::Moved
        } else {
            Seen::Nothing
        })
    }

    /// Where the platform's results of the hand differ from this engine's (each a sentence;
    /// empty when they agree): logged, as the platform's word is final for its table.
    pub fn differences(&self, done: &HandComplete) -> Vec<String> {
        let Some(current) = self
            .current
            .as_ref()
            .filter(|c| c.deal.number == done.hand_number)
        else {
            return vec![format!(
                "hand {} was not followed (the hand followed is {:?})",
                done.hand_number,
                self.number()
            )];
        };
        let facts: Vec<SeatFacts> = (0..MAX_SEATS)
            .map(|seat| SeatFacts {
                agent_id: seat.to_string(),
                name: None,
                present: true,
            })
            .collect();
        let ours = view::hand_complete(&facts, &current.hand, done.hand_number, 0);
        let mut differences = Vec::new();
        for result in &done.results {
            let here = ours
                .results
                .iter()
                .find(|r| r.seat_id == result.seat_id)
                .map_or(0, |r| r.winnings);
            if here != result.winnings {
                differences.push(format!(
                    "hand {}: seat {} won {} there, {here} here",
                    done.hand_number, result.seat_id, result.winnings
                ));
            }
        }
        differences
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::Moment;
    use poker::Legal;

    /// A small deterministic generator (the tests need no more).
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    fn facts(n: usize) -> Vec<SeatFacts> {
        (0..n)
            .map(|i| SeatFacts {
                agent_id: format!("agt_{i}"),
                name: Some(format!("seat {i}")),
                present: true,
            })
            .collect()
    }

    fn random_action(rng: &mut Rng, legal: &Legal) -> Action {
        match (rng.below(10), legal.raise) {
            (0, _) if legal.to_call > 0 => Action::Fold,
            (1..=3, Some((min, max))) => Action::RaiseTo(if rng.below(4) == 0 {
                max
            } else {
                min + rng.below((max - min) as u64 + 1) as i64
            }),
            _ if legal.to_call > 0 => Action::Call,
            _ => Action::Check,
        }
    }

    fn random_setup(rng: &mut Rng, seats: usize) -> HandSetup {
        let mut deck = Card::deck();
        for i in (1..deck.len()).rev() {
            deck.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let mut stacks = [0; MAX_SEATS];
        for stack in stacks.iter_mut().take(seats) {
            // Some short stacks, so blinds go all-in and side pots form.
            *stack = if rng.below(5) == 0 {
                1 + rng.below(30) as i64
            } else {
                50 + rng.below(400) as i64
            };
        }
        if rng.below(4) == 0 {
            stacks[rng.below(seats as u64) as usize] = 0; // a seat sits this hand out
        }
        let button = (0..seats).find(|&s| stacks[s] > 0).unwrap();
        HandSetup {
            stacks,
            button,
            small_blind: 5,
            big_blind: 10,
            holes: std::array::from_fn(|i| [deck[2 * i], deck[2 * i + 1]]),
            board: [deck[40], deck[41], deck[42], deck[43], deck[44]],
        }
    }

    /// Plays random tables of ours (the platform) to the end, sending each seat what the
    /// hub sends it (in a shuffled order, some copies lost), and checks that the follower
    /// mirrors every step, ends each hand with the same hand, and agrees on the results.
    #[test]
    fn a_follower_mirrors_random_tables_from_what_the_seats_are_sent() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let (mut hands, mut decisions, mut decided) = (0, 0, 0);
        for table_number in 0..250u64 {
            let seats = 2 + rng.below(8) as usize;
            let mut table =
                poker::Table::new(seats, 20 + rng.below(600) as i64, 5, 10, table_number);
            let facts = facts(seats);
            let mut follower = Follower::new(5, 10);
            let mut seq = 0;
            let mut events = Vec::new();
            let mut number = 0;
            while let Some((_, mut hand)) = table.deal(std::mem::take(&mut events)) {
                number += 1;
                hands += 1;
                decided += usize::from(hand.is_finished());
                let mut told = 0;
                loop {
                    seq += 1;
                    let mut copies: Vec<(usize, bool)> = (0..seats).map(|s| (s, true)).collect();
                    for i in (1..copies.len()).rev() {
                        copies.swap(i, rng.below(i as u64 + 1) as usize);
                    }
                    // Lose some copies (never the first, so each state reaches us once).
                    for copy in copies.iter_mut().skip(1) {
                        copy.1 = rng.below(3) != 0;
                    }
                    for dealt in &view::streets_dealt(&hand, number, told) {
                        follower.street(dealt).unwrap();
                    }
                    told = hand.events().len();
                    for (seat, _) in copies.into_iter().filter(|c| c.1) {
                        let moment = Moment::Hand {
                            hand: &hand,
                            number,
                        };
                        let state = view::game_state("t", &facts, moment, seq, seat, None);
                        follower.observe(&state).unwrap();
                    }
                    let mirrored = follower.hand().unwrap();
                    assert_eq!(mirrored.to_act(), hand.to_act(), "hand {number}");
                    assert_eq!(mirrored.legal(), hand.legal(), "hand {number}");
                    assert_eq!(mirrored.board(), hand.board(), "hand {number}");
                    // Until a seat's own copy arrives, its cards are placeholders.
                    if follower.holes_known() && !hand.is_finished() {
                        assert_eq!(mirrored.events(), hand.events(), "hand {number}");
                        decisions += 1;
                    }
                    let Some(legal) = hand.legal() else {
                        break;
                    };
                    hand.apply(random_action(&mut rng, &legal)).unwrap();
                }
                for seat in (0..seats).filter(|&s| hand.is_dealt(s)) {
                    let done = view::hand_complete(&facts, &hand, number, seat);
                    follower.complete(&done).unwrap();
                    assert!(follower.differences(&done).is_empty());
                }
                assert!(follower.settled(), "hand {number}");
                assert_eq!(
                    follower.hand().unwrap().events(),
                    hand.events(),
                    "hand {number}"
                );
                table.settle(&hand);
                events = hand.into_events();
            }
        }
        assert!(
            decisions > 2_000 && hands > 500,
            "{decisions} decisions in {hands} hands"
        );
        assert!(decided > 0, "no hand was decided by the blinds");
    }

    fn started() -> (Hand, Vec<SeatFacts>) {
        let mut rng = Rng(7);
        let mut setup = random_setup(&mut rng, 3);
        setup.stacks[..3].fill(100);
        (Hand::start(&setup).unwrap(), facts(3))
    }

    #[test]
    fn an_action_out_of_turn_or_a_hand_first_seen_midway_is_out_of_sync() {
        let (mut hand, facts) = started();
        let state = |hand: &Hand, seq| {
            view::game_state("t", &facts, Moment::Hand { hand, number: 1 }, seq, 0, None)
        };
        let mut follower = Follower::new(5, 10);
        assert_eq!(follower.observe(&state(&hand, 1)), Ok(Seen::NewHand));
        let to_act = hand.to_act().unwrap();
        hand.apply(Action::Call).unwrap();
        let mut wrong = state(&hand, 2);
        wrong.last_action.as_mut().unwrap().seat_id = ((to_act + 1) % 3) as u8;
        let error = follower.clone().observe(&wrong).unwrap_err();
        assert!(error.0.contains("acted"), "{error}");
        assert_eq!(follower.observe(&state(&hand, 2)), Ok(Seen::Moved));
        // A repeat of the same state changes nothing.
        assert_eq!(follower.observe(&state(&hand, 2)), Ok(Seen::Nothing));

        hand.apply(Action::Call).unwrap();
        let mut late = Follower::new(5, 10);
        let error = late.observe(&state(&hand, 3)).unwrap_err();
        assert!(error.0.contains("under way"), "{error}");
    }

    #[test]
    fn a_card_that_changes_is_out_of_sync() {
        let (hand, facts) = started();
        let mut follower = Follower::new(5, 10);
        let mut state = view::game_state(
            "t",
            &facts,
            Moment::Hand {
                hand: &hand,
                number: 1,
            },
            1,
            0,
            None,
        );
        follower.observe(&state).unwrap();
        let hole = state.players[0].hole_cards.as_mut().unwrap();
        hole.swap(0, 1);
        state.seq = 2;
        let error = follower.observe(&state).unwrap_err();
        assert!(error.0.contains("cards changed"), "{error}");
    }
}
