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
use super::pots::{ALL_SEATS, Pot, SeatSet, build_pots, clockwise, seat_count, seats_in};

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

impl HandSetup {
    /// The seats dealt in, or why this is no hand.
    pub(crate) fn check(&self) -> Result<SeatSet, SetupError> {
        if self.small_blind < 1 || self.big_blind < self.small_blind {
            return Err(SetupError::BadBlinds);
        }
        let mut dealt: SeatSet = 0;
        for (seat, &stack) in self.stacks.iter().enumerate() {
            if stack > 0 {
                dealt |= 1 << seat;
            }
        }
        if seat_count(dealt) < 2 {
            return Err(SetupError::TooFewPlayers);
        }
        if self.stacks[self.button] <= 0 {
            return Err(SetupError::ButtonOnEmptySeat);
        }
        // Adding the cards' bits carries exactly when a card repeats (the sum then exceeds
        // the union).
        let bit = |card: Card| 1u64 << card.index();
        let (mut union, mut sum) = (0, 0);
        for seat in seats_in(dealt) {
            let [first, second] = self.holes[seat].map(bit);
            union |= first | second;
            sum += first + second;
        }
        for card in self.board.map(bit) {
            union |= card;
            sum += card;
        }
        if sum != union {
            // Some card is dealt twice: name the first repeat, seat by seat, then the board.
            let mut seen = 0;
            let cards = seats_in(dealt).flat_map(|seat| self.holes[seat]);
            for card in cards.chain(self.board) {
                if seen & bit(card) != 0 {
                    return Err(SetupError::DuplicateCard(card));
                }
                seen |= bit(card);
            }
        }
        Ok(dealt)
    }
}

/// One hand in progress.
///
/// What each seat has is kept as one array per quantity, and where each seat stands as
/// sets of seats ([`Hand::status`] reads them): deciding who acts next, what they may do and
/// how the pots split is then a few bit operations over small arrays, and the hand, which
/// is moved into place once per deal, stays small.
#[derive(Debug, Clone)]
pub struct Hand {
    /// Chips behind.
    stacks: [i64; MAX_SEATS],
    /// Chips in front on the current street.
    streets: [i64; MAX_SEATS],
    /// Chips put in this hand.
    totals: [i64; MAX_SEATS],
    /// Chips won back this hand (pots and returned bets).
    won: [i64; MAX_SEATS],
    /// The bet level when the seat last acted on this street, for the seats in `acted`.
    acted_at: [i64; MAX_SEATS],
    holes: [[Card; 2]; MAX_SEATS],
    /// Seats dealt in; of those, the ones that can still bet ([`SeatStatus::Active`]) and
    /// the ones all-in. The others dealt in have folded.
    dealt: SeatSet,
    active: SeatSet,
    all_in: SeatSet,
    /// Seats that have acted on this street.
    acted: SeatSet,
    /// Seats that have not acted on this street since the bet last rose: those still active
    /// owe chips or have yet to act.
    pending: SeatSet,
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
    /// All of `totals`, summed.
    pot: i64,
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
    pub fn start_reusing(setup: &HandSetup, events: Vec<Event>) -> Result<Self, SetupError> {
        let dealt = setup.check()?;
        Ok(Self::deal_in(setup, dealt, events))
    }

    /// Posts the blinds and deals a setup that [`HandSetup::check`] found valid, with
    /// `dealt` the seats it returned.
    ///
    /// Kept out of line: the hand is then built where the caller's result lives rather than
    /// built here and copied out (a hand is over half a kilobyte; those copies showed in the
    /// engine benchmark).
    #[inline(never)]
    pub(crate) fn deal_in(setup: &HandSetup, dealt: SeatSet, mut events: Vec<Event>) -> Self {
        let mut holes = [[Card::new(0, 0); 2]; MAX_SEATS];
        for seat in seats_in(dealt) {
            holes[seat] = setup.holes[seat];
        }
        events.clear();
        let mut hand = Self {
            // Seats not dealt in have no chips (a setup may say so with a negative stack).
            stacks: setup.stacks.map(|stack| stack.max(0)),
            streets: [0; MAX_SEATS],
            totals: [0; MAX_SEATS],
            won: [0; MAX_SEATS],
            acted_at: [0; MAX_SEATS],
            holes,
            dealt,
            active: dealt,
            all_in: 0,
            acted: 0,
            pending: ALL_SEATS,
            button: setup.button,
            small_blind_seat: 0,
            big_blind_seat: 0,
            big_blind: setup.big_blind,
            street: Street::Preflop,
            board: setup.board,
            bet: 0,
            min_raise: setup.big_blind,
            to_act: None,
            pot: 0,
            events,
            pots: [Pot {
                amount: 0,
                eligible: 0,
            }; MAX_SEATS],
            pot_count: 0,
            finished: false,
        };
        let next_dealt = |from| {
            clockwise(dealt, from)
                .next()
                .expect("two seats are dealt in")
        };
        let (sb, bb) = if seat_count(dealt) == 2 {
            (setup.button, next_dealt(setup.button))
        } else {
            let sb = next_dealt(setup.button);
            (sb, next_dealt(sb))
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
        for seat in seats_in(dealt) {
            hand.events.push(Event::HoleCards {
                seat,
                cards: setup.holes[seat],
            });
        }
        hand.pass_turn(bb);
        hand
    }

    fn post_blind(&mut self, seat: usize, kind: BlindKind, amount: i64) {
        let paid = self.put_in(seat, amount);
        self.events.push(Event::BlindPosted {
            seat,
            kind,
            amount: paid,
            all_in: self.all_in & (1 << seat) != 0,
        });
    }

    /// Moves up to `amount` from the seat's stack in front of it; returns what moved.
    fn put_in(&mut self, seat: usize, amount: i64) -> i64 {
        let paid = amount.min(self.stacks[seat]);
        self.stacks[seat] -= paid;
        self.streets[seat] += paid;
        self.totals[seat] += paid;
        self.pot += paid;
        if self.stacks[seat] == 0 {
            self.active &= !(1 << seat);
            self.all_in |= 1 << seat;
        }
        paid
    }

    /// Seats still holding cards: active or all-in.
    fn live(&self) -> SeatSet {
        self.active | self.all_in
    }

    /// Gives the turn to the first seat after `after` that must act, and moves the hand on
    /// if nobody must.
    fn pass_turn(&mut self, after: usize) {
        self.to_act = self.first_to_act(after);
        self.settle();
    }

    /// The first seat after `after`, clockwise, with a decision to make. With an opponent
    /// who can still bet: a seat that owes chips or has not acted on this street. With every
    /// opponent all-in (or folded): only when one of them has more in front than it, since a
    /// bet could not be answered and checking or folding chips nobody can win is no decision.
    fn first_to_act(&self, after: usize) -> Option<usize> {
        if several(self.active) {
            clockwise(self.active & self.pending, after).next()
        } else {
            let most_all_in = seats_in(self.all_in).map(|o| self.streets[o]).max();
            seats_in(self.active).find(|&seat| most_all_in.unwrap_or(0) > self.streets[seat])
        }
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
        self.to_act.map(|seat| self.legal_for(seat))
    }

    /// What `seat` may do if it is to act now.
    fn legal_for(&self, seat: usize) -> Legal {
        let (stack, street) = (self.stacks[seat], self.streets[seat]);
        let to_call = (self.bet - street).min(stack);
        let max = street + stack;
        let reopened =
            self.acted & (1 << seat) == 0 || self.bet - self.acted_at[seat] >= self.min_raise;
        // Only an opponent who is not all-in and could put in more than the bet can answer.
        let someone_can_answer = seats_in(self.active & !(1 << seat))
            .any(|o| self.stacks[o] + self.streets[o] > self.bet);
        let raise = (reopened && someone_can_answer && max > self.bet)
            .then(|| ((self.bet + self.min_raise).min(max), max));
        Legal { to_call, raise }
    }

    /// Applies the acting seat's decision, then deals, returns and pays whatever follows.
    pub fn apply(&mut self, action: Action) -> Result<(), ActionError> {
        let seat = self.to_act.ok_or(ActionError::HandOver)?;
        let legal = self.legal_for(seat);
        if !legal.allows(action) {
            return Err(ActionError::NotAllowed {
                seat,
                action: describe(action),
                allowed: describe_legal(&legal),
            });
        }
        let (kind, amount) = match action {
            Action::Fold => {
                self.active &= !(1 << seat);
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
                let amount = self.put_in(seat, to - self.streets[seat]);
                self.bet = to;
                (kind, amount)
            }
        };
        self.acted |= 1 << seat;
        self.acted_at[seat] = self.bet;
        self.pending &= !(1 << seat);
        if matches!(action, Action::RaiseTo(_)) {
            self.pending = ALL_SEATS & !(1 << seat);
        }
        self.events.push(Event::Acted {
            seat,
            street: self.street,
            kind,
            amount,
            total: self.streets[seat],
            all_in: self.all_in & (1 << seat) != 0,
        });
        self.pass_turn(seat);
        Ok(())
    }

    /// Moves the hand forward while nobody has a decision to make.
    fn settle(&mut self) {
        while self.to_act.is_none() && !self.finished {
            if !several(self.live()) {
                self.finish(false);
            } else if let Some(next) = self.street.next() {
                self.street = next;
                self.bet = 0;
                self.min_raise = self.big_blind;
                self.streets = [0; MAX_SEATS];
                self.acted = 0;
                self.pending = ALL_SEATS;
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
        let live = self.live();
        let pot_count = build_pots(&self.totals, ALL_SEATS & !live, &mut self.pots);
        let mut ranks = [None; MAX_SEATS];
        if showdown {
            for seat in clockwise(live, self.button) {
                let [first, second] = self.holes[seat];
                let board = self.board;
                let rank = evaluate(&[
                    first, second, board[0], board[1], board[2], board[3], board[4],
                ]);
                ranks[seat] = Some(rank);
                self.events.push(Event::ShowedDown {
                    seat,
                    cards: self.holes[seat],
                    rank,
                });
            }
        }
        for index in 0..pot_count {
            let pot = self.pots[index];
            let winners = pot_winners(pot.eligible, &ranks);
            self.pay(pot.amount, winners);
            self.events.push(Event::PotAwarded {
                pot: index,
                amount: pot.amount,
                eligible: pot.eligible,
                winners,
            });
        }
        self.pot_count = pot_count;
        self.events.push(Event::HandComplete);
        self.finished = true;
        self.to_act = None;
    }

    /// Splits `amount` among `winners`; odd chips one each from the button's left.
    fn pay(&mut self, amount: i64, winners: SeatSet) {
        let count = seat_count(winners) as i64;
        if count == 0 {
            return;
        }
        if count == 1 {
            // The usual case, without a division.
            let seat = winners.trailing_zeros() as usize;
            self.stacks[seat] += amount;
            self.won[seat] += amount;
            return;
        }
        let (share, mut odd) = (amount / count, amount % count);
        for seat in clockwise(winners, self.button) {
            let extra = i64::from(odd > 0);
            odd -= extra;
            self.stacks[seat] += share + extra;
            self.won[seat] += share + extra;
        }
    }

    /// The part of the biggest contribution nobody matched goes back to its owner.
    fn return_uncalled_bet(&mut self) {
        // The most any seat put in, and the most any other seat put in (the same when two
        // seats share the top, and then nothing goes back).
        let (mut most, mut second) = (self.totals[0], i64::MIN);
        for &total in &self.totals[1..] {
            second = second.max(total.min(most));
            most = most.max(total);
        }
        let excess = most - second;
        if excess > 0 {
            let top = self
                .totals
                .iter()
                .position(|&total| total == most)
                .expect("a seat put in the most");
            self.totals[top] -= excess;
            self.streets[top] -= excess.min(self.streets[top]);
            self.stacks[top] += excess;
            self.won[top] += excess;
            self.pot -= excess;
            if self.all_in & (1 << top) != 0 {
                self.all_in &= !(1 << top);
                self.active |= 1 << top;
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
        self.holes[seat]
    }

    pub fn stack(&self, seat: usize) -> i64 {
        self.stacks[seat]
    }

    /// The seat's chips in front on the current street.
    pub fn in_front(&self, seat: usize) -> i64 {
        self.streets[seat]
    }

    /// Chips in the middle, including this street's bets.
    pub fn pot(&self) -> i64 {
        self.pot
    }

    /// Players still holding cards (not folded), the seat asking included.
    pub fn players_in_hand(&self) -> usize {
        seat_count(self.live())
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
        self.won[seat]
    }

    /// What the seat put in this hand, net of a returned bet.
    pub fn contributed(&self, seat: usize) -> i64 {
        self.totals[seat]
    }

    pub fn status(&self, seat: usize) -> SeatStatus {
        assert!(seat < MAX_SEATS, "seat {seat} of {MAX_SEATS}");
        let bit = 1 << seat;
        if self.active & bit != 0 {
            SeatStatus::Active
        } else if self.all_in & bit != 0 {
            SeatStatus::AllIn
        } else if self.dealt & bit != 0 {
            SeatStatus::Folded
        } else {
            SeatStatus::Out
        }
    }

    /// Whether the seat was dealt into this hand.
    pub fn is_dealt(&self, seat: usize) -> bool {
        assert!(seat < MAX_SEATS, "seat {seat} of {MAX_SEATS}");
        self.dealt & (1 << seat) != 0
    }
}

/// Whether `set` holds two seats or more.
fn several(set: SeatSet) -> bool {
    set & set.wrapping_sub(1) != 0
}

/// The eligible seats holding the best hand (all of them when there was no showdown).
fn pot_winners(eligible: SeatSet, ranks: &[Option<HandRank>; MAX_SEATS]) -> SeatSet {
    match seats_in(eligible).filter_map(|s| ranks[s]).max() {
        None => eligible,
        Some(best) => seats_in(eligible)
            .filter(|&s| ranks[s] == Some(best))
            .fold(0, |set, s| set | (1 << s)),
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
