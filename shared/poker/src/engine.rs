//! One hand of No-Limit Texas Hold'em, 2 to 9 seats.
//!
//! The caller asks [`Hand::to_act`] who must decide, offers [`Hand::legal`] to that seat's
//! agent and passes its choice to [`Hand::apply`]; the hand deals streets, returns uncalled
//! bets, builds side pots and pays them out by itself. Everything that happens is pushed to
//! [`Hand::events`] in order.
//!
//! Rules, as the code applies them:
//! - Blinds: small blind left of the button, big blind left of that; heads-up the button posts
//!   the small blind, acts first before the flop and last after it. A blind larger than a
//!   stack is posted all-in.
//! - The minimum raise is the size of the last full bet or raise (at least the big blind).
//! - A player may raise only if the bet has grown by at least one full raise since they last
//!   acted on this street: an all-in for less than a full raise does not reopen betting for
//!   players who already acted (several short all-ins that add up to a full raise do).
//! - A bet or raise is offered only when an opponent who is not all-in could put in more
//!   than the current bet; otherwise it could only come back uncalled.
//! - A seat is asked to act only when someone could act against it: when every opponent
//!   still in the hand is all-in and the seat already has at least as much in front as each
//!   of them, the remaining streets are dealt without betting and the excess is returned.
//! - Fold is offered only when there is something to call.
//!
//! Conventions, where rule books (and other engines, such as PokerKit) differ:
//! - **Callers match the full big blind** when the big blind is posted all-in short: the
//!   amount to call (and the base of the first raise) is the big blind, not what the big
//!   blind could post; what nobody else matched comes back as an uncalled bet. PokerKit has
//!   callers match only the chips posted.
//! - **Odd chips go one at a time** clockwise from the button: each pot is split on its own,
//!   and when it splits unevenly the winners nearest the button's left get one chip each.
//!   PokerKit gives every odd chip to the first winner, and first merges the pots whose
//!   winners are the same.
//! - **The big blind's option is skipped when nobody can answer it**: a seat whose only
//!   choice would be to check, because nothing is owed and nobody left could answer a bet,
//!   is not asked (typically the big blind when everyone else folded or is all-in; also a
//!   small blind that covers a short all-in big blind). PokerKit asks it to check.
//!
//! `infra/phh_replay.py` replays recorded hands in PokerKit and counts each convention by
//! name (see the README's "Hand histories (PHH)").

use super::cards::Card;
use super::eval::{HandRank, evaluate};
use super::pots::{Pot, SeatSet, build_pots};

pub const MAX_SEATS: usize = 9;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Street {
    Preflop,
    Flop,
    Turn,
    River,
}

impl Street {
    pub fn name(self) -> &'static str {
        match self {
            Street::Preflop => "preflop",
            Street::Flop => "flop",
            Street::Turn => "turn",
            Street::River => "river",
        }
    }

    fn board_len(self) -> usize {
        match self {
            Street::Preflop => 0,
            Street::Flop => 3,
            Street::Turn => 4,
            Street::River => 5,
        }
    }

    fn next(self) -> Option<Street> {
        match self {
            Street::Preflop => Some(Street::Flop),
            Street::Flop => Some(Street::Turn),
            Street::Turn => Some(Street::River),
            Street::River => None,
        }
    }
}

/// What an agent decides. A bet is a raise from zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Fold,
    Check,
    Call,
    /// Raise (or bet) so that this seat's chips in front total this amount on this street.
    RaiseTo(i64),
}

/// What the seat to act may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Legal {
    /// Chips a call puts in (capped at the stack); 0 when checking is possible. Before the
    /// flop the call is to the full big blind even when the big blind was posted short.
    pub to_call: i64,
    /// `(min, max)` totals for [`Action::RaiseTo`]; `max` is all-in. `None`: no raise allowed.
    pub raise: Option<(i64, i64)>,
}

impl Legal {
    pub fn can_check(&self) -> bool {
        self.to_call == 0
    }

    pub fn allows(&self, action: Action) -> bool {
        match action {
            Action::Fold | Action::Call => self.to_call > 0,
            Action::Check => self.to_call == 0,
            Action::RaiseTo(to) => self
                .raise
                .is_some_and(|(min, max)| (min..=max).contains(&to)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlindKind {
    Small,
    Big,
}

/// What an action did, as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Fold,
    Check,
    Call,
    Bet,
    Raise,
}

impl ActionKind {
    pub fn name(self) -> &'static str {
        match self {
            ActionKind::Fold => "fold",
            ActionKind::Check => "check",
            ActionKind::Call => "call",
            ActionKind::Bet => "bet",
            ActionKind::Raise => "raise",
        }
    }
}

/// Everything that happens in a hand, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    HandStarted {
        button: usize,
        small_blind_seat: usize,
        big_blind_seat: usize,
    },
    BlindPosted {
        seat: usize,
        kind: BlindKind,
        amount: i64,
        all_in: bool,
    },
    /// Private: only the seat and the record see these before showdown.
    HoleCards {
        seat: usize,
        cards: [Card; 2],
    },
    Acted {
        seat: usize,
        street: Street,
        kind: ActionKind,
        /// Chips this action put in.
        amount: i64,
        /// The seat's chips in front on this street afterwards.
        total: i64,
        all_in: bool,
    },
    StreetDealt {
        street: Street,
        /// The whole board so far.
        board: [Option<Card>; 5],
    },
    UncalledBetReturned {
        seat: usize,
        amount: i64,
    },
    ShowedDown {
        seat: usize,
        cards: [Card; 2],
        rank: HandRank,
    },
    PotAwarded {
        /// 0 is the main pot.
        pot: usize,
        amount: i64,
        eligible: SeatSet,
        winners: SeatSet,
    },
    HandComplete,
}

/// Where a seat stands in the hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeatStatus {
    /// Not dealt in (empty seat or busted).
    Out,
    Active,
    Folded,
    AllIn,
}

impl SeatStatus {
    pub fn name(self) -> &'static str {
        match self {
            SeatStatus::Out => "out",
            SeatStatus::Active => "active",
            SeatStatus::Folded => "folded",
            SeatStatus::AllIn => "all_in",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Seat {
    status: SeatStatus,
    stack: i64,
    /// Chips in front on the current street.
    street: i64,
    /// Chips put in this hand.
    total: i64,
    hole: [Card; 2],
    /// The bet level when this seat last acted on this street; `None` before it acts.
    acted_at: Option<i64>,
    /// Chips won back this hand (pots and returned bets).
    won: i64,
}

/// An illegal action, with what was allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActionError {
    #[error("the hand is over; nobody is to act")]
    HandOver,
    #[error("seat {seat} cannot {action}: {allowed}")]
    NotAllowed {
        seat: usize,
        action: String,
        allowed: String,
    },
}

/// How a hand is set up: who sits where with what, and the cards.
#[derive(Debug, Clone)]
pub struct HandSetup {
    /// Chips per seat; 0 (or `None` past the table's size) means not dealt in.
    pub stacks: [i64; MAX_SEATS],
    pub button: usize,
    pub small_blind: i64,
    pub big_blind: i64,
    /// Hole cards per seat (ignored for seats not dealt in).
    pub holes: [[Card; 2]; MAX_SEATS],
    pub board: [Card; 5],
}

/// One hand in progress.
#[derive(Debug, Clone)]
pub struct Hand {
    seats: [Seat; MAX_SEATS],
    button: usize,
    small_blind_seat: usize,
    big_blind_seat: usize,
    big_blind: i64,
    street: Street,
    board: [Card; 5],
    /// The highest chips in front on this street: what everyone must match.
    bet: i64,
    /// The size of the last full bet or raise on this street.
    min_raise: i64,
    to_act: Option<usize>,
    events: Vec<Event>,
    pots: [Pot; MAX_SEATS],
    pot_count: usize,
    finished: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    #[error("a hand needs at least two seats with chips")]
    TooFewPlayers,
    #[error("the button must be on a seat with chips")]
    ButtonOnEmptySeat,
    #[error("blinds must be positive with the big blind at least the small blind")]
    BadBlinds,
    #[error("card {0} is dealt twice")]
    DuplicateCard(Card),
}

impl Hand {
    /// Posts the blinds and deals; the first seat to act is then [`Hand::to_act`].
    pub fn start(setup: &HandSetup) -> Result<Self, SetupError> {
        Self::start_reusing(setup, Vec::new())
    }

    /// Like [`Hand::start`], reusing an event buffer (no allocation per hand).
    pub fn start_reusing(setup: &HandSetup, mut events: Vec<Event>) -> Result<Self, SetupError> {
        if setup.small_blind < 1 || setup.big_blind < setup.small_blind {
            return Err(SetupError::BadBlinds);
        }
        let mut dealt_seats = [0usize; MAX_SEATS];
        let mut count = 0;
        for seat in (0..MAX_SEATS).filter(|&s| setup.stacks[s] > 0) {
            dealt_seats[count] = seat;
            count += 1;
        }
        let dealt = &dealt_seats[..count];
        if dealt.len() < 2 {
            return Err(SetupError::TooFewPlayers);
        }
        if setup.stacks[setup.button] <= 0 {
            return Err(SetupError::ButtonOnEmptySeat);
        }
        let mut seen = 0u64;
        let cards = dealt
            .iter()
            .flat_map(|&s| setup.holes[s])
            .chain(setup.board);
        for card in cards {
            if seen & (1 << card.index()) != 0 {
                return Err(SetupError::DuplicateCard(card));
            }
            seen |= 1 << card.index();
        }

        let empty = Seat {
            status: SeatStatus::Out,
            stack: 0,
            street: 0,
            total: 0,
            hole: [Card::new(0, 0); 2],
            acted_at: None,
            won: 0,
        };
        let mut seats = [empty; MAX_SEATS];
        for &s in dealt {
            seats[s] = Seat {
                status: SeatStatus::Active,
                stack: setup.stacks[s],
                hole: setup.holes[s],
                ..empty
            };
        }
        events.clear();
        let mut hand = Self {
            seats,
            button: setup.button,
            small_blind_seat: 0,
            big_blind_seat: 0,
            big_blind: setup.big_blind,
            street: Street::Preflop,
            board: setup.board,
            bet: 0,
            min_raise: setup.big_blind,
            to_act: None,
            events,
            pots: [Pot {
                amount: 0,
                eligible: 0,
            }; MAX_SEATS],
            pot_count: 0,
            finished: false,
        };
        let (sb, bb) = if dealt.len() == 2 {
            let other = hand.next_dealt(setup.button);
            (setup.button, other)
        } else {
            let sb = hand.next_dealt(setup.button);
            (sb, hand.next_dealt(sb))
        };
        hand.small_blind_seat = sb;
        hand.big_blind_seat = bb;
        hand.events.push(Event::HandStarted {
            button: setup.button,
            small_blind_seat: sb,
            big_blind_seat: bb,
        });
        hand.post_blind(sb, BlindKind::Small, setup.small_blind);
        hand.post_blind(bb, BlindKind::Big, setup.big_blind);
        hand.bet = setup.big_blind;
        for &s in dealt {
            hand.events.push(Event::HoleCards {
                seat: s,
                cards: setup.holes[s],
            });
        }
        hand.to_act = hand.first_to_act(bb);
        hand.settle();
        Ok(hand)
    }

    fn post_blind(&mut self, seat: usize, kind: BlindKind, amount: i64) {
        let paid = self.put_in(seat, amount);
        self.events.push(Event::BlindPosted {
            seat,
            kind,
            amount: paid,
            all_in: self.seats[seat].status == SeatStatus::AllIn,
        });
    }

    /// Moves up to `amount` from the seat's stack in front of it; returns what moved.
    fn put_in(&mut self, seat: usize, amount: i64) -> i64 {
        let s = &mut self.seats[seat];
        let paid = amount.min(s.stack);
        s.stack -= paid;
        s.street += paid;
        s.total += paid;
        if s.stack == 0 {
            s.status = SeatStatus::AllIn;
        }
        paid
    }

    fn next_dealt(&self, from: usize) -> usize {
        (1..=MAX_SEATS)
            .map(|i| (from + i) % MAX_SEATS)
            .find(|&s| self.seats[s].status != SeatStatus::Out)
            .expect("at least two seats are dealt in")
    }

    fn live_count(&self) -> usize {
        self.seats
            .iter()
            .filter(|s| matches!(s.status, SeatStatus::Active | SeatStatus::AllIn))
            .count()
    }

    /// The first seat after `after`, clockwise, that must act (see [`Hand::must_act`]).
    fn first_to_act(&self, after: usize) -> Option<usize> {
        (1..=MAX_SEATS)
            .map(|i| (after + i) % MAX_SEATS)
            .find(|&seat| self.must_act(seat))
    }

    /// Whether `seat` has a decision to make. With an opponent who can still bet: when it
    /// owes chips or has not acted on this street. With every opponent all-in (or folded):
    /// only when one of them has more in front than it, since a bet could not be answered
    /// and checking or folding chips nobody can win is no decision.
    fn must_act(&self, seat: usize) -> bool {
        let s = &self.seats[seat];
        if s.status != SeatStatus::Active {
            return false;
        }
        let opponents = self.opponents(seat);
        if opponents.clone().any(|o| o.status == SeatStatus::Active) {
            s.street < self.bet || s.acted_at.is_none()
        } else {
            opponents.map(|o| o.street).max().unwrap_or(0) > s.street
        }
    }

    /// The other seats still holding cards.
    fn opponents(&self, seat: usize) -> impl Iterator<Item = &Seat> + Clone {
        self.seats.iter().enumerate().filter_map(move |(i, s)| {
            (i != seat && matches!(s.status, SeatStatus::Active | SeatStatus::AllIn)).then_some(s)
        })
    }

    /// Who must decide now; `None` once the hand is over.
    pub fn to_act(&self) -> Option<usize> {
        self.to_act
    }

    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// What the seat to act may do.
    pub fn legal(&self) -> Option<Legal> {
        let seat = self.to_act?;
        let s = &self.seats[seat];
        let to_call = (self.bet - s.street).min(s.stack);
        let max = s.street + s.stack;
        let reopened = s
            .acted_at
            .is_none_or(|level| self.bet - level >= self.min_raise);
        // Only an opponent who is not all-in and could put in more than the bet can answer.
        let someone_can_answer = self
            .opponents(seat)
            .any(|o| o.status == SeatStatus::Active && o.stack + o.street > self.bet);
        let raise = (reopened && someone_can_answer && max > self.bet)
            .then(|| ((self.bet + self.min_raise).min(max), max));
        Some(Legal { to_call, raise })
    }

    /// Applies the acting seat's decision, then deals, returns and pays whatever follows.
    pub fn apply(&mut self, action: Action) -> Result<(), ActionError> {
        let seat = self.to_act.ok_or(ActionError::HandOver)?;
        let legal = self.legal().ok_or(ActionError::HandOver)?;
        if !legal.allows(action) {
            return Err(ActionError::NotAllowed {
                seat,
                action: describe(action),
                allowed: describe_legal(&legal),
            });
        }
        let (kind, amount) = match action {
            Action::Fold => {
                self.seats[seat].status = SeatStatus::Folded;
                (ActionKind::Fold, 0)
            }
            Action::Check => (ActionKind::Check, 0),
            Action::Call => (ActionKind::Call, self.put_in(seat, legal.to_call)),
            Action::RaiseTo(to) => {
                let kind = if self.bet == 0 {
                    ActionKind::Bet
                } else {
                    ActionKind::Raise
                };
                let increment = to - self.bet;
                if increment >= self.min_raise {
                    self.min_raise = increment;
                }
                let amount = self.put_in(seat, to - self.seats[seat].street);
                self.bet = to;
                (kind, amount)
            }
        };
        let s = &mut self.seats[seat];
        s.acted_at = Some(self.bet);
        self.events.push(Event::Acted {
            seat,
            street: self.street,
            kind,
            amount,
            total: s.street,
            all_in: s.status == SeatStatus::AllIn,
        });
        self.to_act = self.first_to_act(seat);
        self.settle();
        Ok(())
    }

    /// Moves the hand forward while nobody has a decision to make.
    fn settle(&mut self) {
        while self.to_act.is_none() && !self.finished {
            if self.live_count() <= 1 {
                self.finish(false);
            } else if let Some(next) = self.street.next() {
                self.street = next;
                self.bet = 0;
                self.min_raise = self.big_blind;
                for s in &mut self.seats {
                    s.street = 0;
                    s.acted_at = None;
                }
                let mut board = [None; 5];
                for (slot, card) in board.iter_mut().zip(&self.board[..next.board_len()]) {
                    *slot = Some(*card);
                }
                self.events.push(Event::StreetDealt {
                    street: next,
                    board,
                });
                self.to_act = self.first_to_act(self.button);
            } else {
                self.finish(true);
            }
        }
    }

    fn finish(&mut self, showdown: bool) {
        self.return_uncalled_bet();
        let mut totals = [0; MAX_SEATS];
        let mut folded: SeatSet = 0;
        for (i, s) in self.seats.iter().enumerate() {
            totals[i] = s.total;
            if !matches!(s.status, SeatStatus::Active | SeatStatus::AllIn) {
                folded |= 1 << i;
            }
        }
        let mut pots = self.pots;
        let pot_count = build_pots(&totals, folded, &mut pots);
        let mut ranks = [None; MAX_SEATS];
        if showdown {
            for i in self.order_from_button() {
                let s = &self.seats[i];
                if folded & (1 << i) == 0 {
                    let seven = [
                        s.hole[0],
                        s.hole[1],
                        self.board[0],
                        self.board[1],
                        self.board[2],
                        self.board[3],
                        self.board[4],
                    ];
                    let rank = evaluate(&seven);
                    ranks[i] = Some(rank);
                    self.events.push(Event::ShowedDown {
                        seat: i,
                        cards: s.hole,
                        rank,
                    });
                }
            }
        }
        for (index, pot) in pots[..pot_count].iter().enumerate() {
            let winners = self.pot_winners(pot.eligible, &ranks);
            self.pay(pot.amount, winners);
            self.events.push(Event::PotAwarded {
                pot: index,
                amount: pot.amount,
                eligible: pot.eligible,
                winners,
            });
        }
        self.pots = pots;
        self.pot_count = pot_count;
        self.events.push(Event::HandComplete);
        self.finished = true;
        self.to_act = None;
    }

    /// The eligible seats holding the best hand (all of them when there was no showdown).
    fn pot_winners(&self, eligible: SeatSet, ranks: &[Option<HandRank>; MAX_SEATS]) -> SeatSet {
        let best = (0..MAX_SEATS)
            .filter(|s| eligible & (1 << s) != 0)
            .filter_map(|s| ranks[s])
            .max();
        match best {
            None => eligible,
            Some(best) => (0..MAX_SEATS)
                .filter(|&s| eligible & (1 << s) != 0 && ranks[s] == Some(best))
                .fold(0, |set, s| set | (1 << s)),
        }
    }

    /// Splits `amount` among `winners`; odd chips one each from the button's left.
    fn pay(&mut self, amount: i64, winners: SeatSet) {
        let count = i64::from(winners.count_ones());
        if count == 0 {
            return;
        }
        let (share, mut odd) = (amount / count, amount % count);
        for seat in self.order_from_button() {
            if winners & (1 << seat) != 0 {
                let extra = i64::from(odd > 0);
                odd -= extra;
                self.seats[seat].stack += share + extra;
                self.seats[seat].won += share + extra;
            }
        }
    }

    /// Seats clockwise starting left of the button, the button last.
    fn order_from_button(&self) -> impl Iterator<Item = usize> + use<> {
        let button = self.button;
        (1..=MAX_SEATS).map(move |i| (button + i) % MAX_SEATS)
    }

    /// The part of the biggest contribution nobody matched goes back to its owner.
    fn return_uncalled_bet(&mut self) {
        let (top, top_total) = self
            .seats
            .iter()
            .enumerate()
            .max_by_key(|(_, s)| s.total)
            .map(|(i, s)| (i, s.total))
            .expect("seats");
        let second = self
            .seats
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != top)
            .map(|(_, s)| s.total)
            .max()
            .unwrap_or(0);
        let excess = top_total - second;
        if excess > 0 {
            let s = &mut self.seats[top];
            s.total -= excess;
            s.street -= excess.min(s.street);
            s.stack += excess;
            s.won += excess;
            if s.status == SeatStatus::AllIn {
                s.status = SeatStatus::Active;
            }
            self.events.push(Event::UncalledBetReturned {
                seat: top,
                amount: excess,
            });
        }
    }

    /// Events so far; cleared by [`Hand::into_events`] reuse.
    pub fn events(&self) -> &[Event] {
        &self.events
    }

    /// Gives back the event buffer for the next hand.
    pub fn into_events(self) -> Vec<Event> {
        self.events
    }

    pub fn street(&self) -> Street {
        self.street
    }

    /// The board dealt so far.
    pub fn board(&self) -> &[Card] {
        &self.board[..self.street.board_len()]
    }

    pub fn hole(&self, seat: usize) -> [Card; 2] {
        self.seats[seat].hole
    }

    pub fn stack(&self, seat: usize) -> i64 {
        self.seats[seat].stack
    }

    /// The seat's chips in front on the current street.
    pub fn in_front(&self, seat: usize) -> i64 {
        self.seats[seat].street
    }

    /// Chips in the middle, including this street's bets.
    pub fn pot(&self) -> i64 {
        self.seats.iter().map(|s| s.total).sum()
    }

    /// Players still holding cards (not folded), the seat asking included.
    pub fn players_in_hand(&self) -> usize {
        self.live_count()
    }

    pub fn big_blind(&self) -> i64 {
        self.big_blind
    }

    pub fn button(&self) -> usize {
        self.button
    }

    pub fn blind_seats(&self) -> (usize, usize) {
        (self.small_blind_seat, self.big_blind_seat)
    }

    /// The pots as paid out (after the hand is finished).
    pub fn pots(&self) -> &[Pot] {
        &self.pots[..self.pot_count]
    }

    /// What the seat won back this hand (pots and a returned bet).
    pub fn won(&self, seat: usize) -> i64 {
        self.seats[seat].won
    }

    /// What the seat put in this hand, net of a returned bet.
    pub fn contributed(&self, seat: usize) -> i64 {
        self.seats[seat].total
    }

    pub fn status(&self, seat: usize) -> SeatStatus {
        self.seats[seat].status
    }

    /// Whether the seat was dealt into this hand.
    pub fn is_dealt(&self, seat: usize) -> bool {
        self.seats[seat].status != SeatStatus::Out
    }
}

fn describe(action: Action) -> String {
    match action {
        Action::Fold => "fold".into(),
        Action::Check => "check".into(),
        Action::Call => "call".into(),
        Action::RaiseTo(to) => format!("raise to {to}"),
    }
}

fn describe_legal(legal: &Legal) -> String {
    let mut options = Vec::new();
    if legal.to_call > 0 {
        options.push("fold".to_owned());
        options.push(format!("call {}", legal.to_call));
    } else {
        options.push("check".to_owned());
    }
    if let Some((min, max)) = legal.raise {
        options.push(if min == max {
            format!("raise to exactly {max} (all-in)")
        } else {
            format!("raise to {min}..={max}")
        });
    }
    format!("allowed: {}", options.join(", "))
}
