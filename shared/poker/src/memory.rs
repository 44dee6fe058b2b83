//! What a table remembers across hands, from public information only: per-seat playing
//! statistics and short summaries of the most recent hands. LLM agents read it (their
//! opponent summaries and the `recent_hands` tool); its size does not grow with the run, so
//! prompts stay flat however long a run lasts.

use crate::cards::Card;
use crate::engine::{ActionKind, Event, Hand, MAX_SEATS, Street};
use crate::pots::SeatSet;
use serde_json::{Value, json};
use std::collections::VecDeque;

/// How many finished hands a table keeps summaries of.
pub const RECENT_HANDS: usize = 10;

/// One seat's counts over the hands it was dealt into.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SeatStats {
    pub hands: u32,
    /// Hands where it put chips in voluntarily before the flop (a call, bet or raise).
    pub vpip: u32,
    /// Hands where it raised before the flop.
    pub pfr: u32,
    pub bets_and_raises: u32,
    pub calls: u32,
    pub folds: u32,
    pub showdowns: u32,
    /// Hands where it won at least one pot.
    pub won: u32,
}

impl SeatStats {
    /// The compact summary an LLM sees: rates as whole percentages.
    pub fn summary(&self, seat: usize) -> Value {
        let pct = |n: u32| (n * 100).checked_div(self.hands).unwrap_or(0);
        let aggression = if self.calls == 0 {
            f64::from(self.bets_and_raises)
        } else {
            (f64::from(self.bets_and_raises) / f64::from(self.calls) * 10.0).round() / 10.0
        };
        json!({
            "seat": seat, "hands_seen": self.hands, "vpip_pct": pct(self.vpip),
            "pfr_pct": pct(self.pfr), "aggression": aggression,
            "showdown_pct": pct(self.showdowns), "won_pct": pct(self.won),
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct TableMemory {
    stats: [SeatStats; MAX_SEATS],
    recent: VecDeque<Value>,
}

fn cards(cards: &[Card]) -> Vec<String> {
    cards.iter().map(Card::to_string).collect()
}

fn seats_of(set: SeatSet) -> Vec<usize> {
    (0..MAX_SEATS).filter(|s| set & (1 << s) != 0).collect()
}

impl TableMemory {
    pub fn stats(&self, seat: usize) -> Option<&SeatStats> {
        self.stats.get(seat)
    }

    /// The last `count` hands' public summaries, newest first.
    pub fn recent(&self, count: usize) -> impl Iterator<Item = &Value> {
        self.recent.iter().rev().take(count)
    }

    /// Learns from a finished hand: what every seat did (public) and a summary of the hand in
    /// which only cards shown at showdown appear.
    pub fn observe(&mut self, number: i64, hand: &Hand) {
        let mut voluntary: SeatSet = 0;
        let mut raised: SeatSet = 0;
        let mut showed: SeatSet = 0;
        let mut winners: SeatSet = 0;
        let mut actions = Vec::new();
        let mut shown = Vec::new();
        let mut pots = Vec::new();
        for event in hand.events() {
            match *event {
                Event::Acted {
                    seat,
                    street,
                    kind,
                    total,
                    all_in,
                    ..
                } => {
                    let stats = &mut self.stats[seat];
                    match kind {
                        ActionKind::Bet | ActionKind::Raise => stats.bets_and_raises += 1,
                        ActionKind::Call => stats.calls += 1,
                        ActionKind::Fold => stats.folds += 1,
                        ActionKind::Check => {}
                    }
                    if street == Street::Preflop
                        && matches!(kind, ActionKind::Call | ActionKind::Bet | ActionKind::Raise)
                    {
                        voluntary |= 1 << seat;
                        if kind != ActionKind::Call {
                            raised |= 1 << seat;
                        }
                    }
                    let mut entry =
                        json!({"seat": seat, "street": street.name(), "action": kind.name()});
                    if matches!(kind, ActionKind::Bet | ActionKind::Raise | ActionKind::Call) {
                        entry["to"] = json!(total);
                    }
                    if all_in {
                        entry["all_in"] = json!(true);
                    }
                    actions.push(entry);
                }
                Event::ShowedDown {
                    seat,
                    cards: hole,
                    rank,
                } => {
                    showed |= 1 << seat;
                    shown.push(
                        json!({"seat": seat, "cards": cards(&hole), "rank": rank.to_string()}),
                    );
                }
                Event::PotAwarded {
                    amount, winners: w, ..
                } => {
                    winners |= w;
                    pots.push(json!({"amount": amount, "winners": seats_of(w)}));
                }
                _ => {}
            }
        }
        for seat in (0..MAX_SEATS).filter(|&s| hand.is_dealt(s)) {
            let stats = &mut self.stats[seat];
            stats.hands += 1;
            let bit = 1 << seat;
            stats.vpip += u32::from(voluntary & bit != 0);
            stats.pfr += u32::from(raised & bit != 0);
            stats.showdowns += u32::from(showed & bit != 0);
            stats.won += u32::from(winners & bit != 0);
        }
        if self.recent.len() == RECENT_HANDS {
            self.recent.pop_front();
        }
        self.recent.push_back(json!({
            "hand": number, "button": hand.button(), "board": cards(hand.board()),
            "actions": actions, "shown": shown, "pots": pots,
        }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Action;
    use crate::testing::decision_hand;

    #[test]
    fn statistics_count_voluntary_play_and_summaries_show_only_shown_cards() {
        let mut memory = TableMemory::default();
        // Seat 0 is the button; with three players seat 0 acts first preflop.
        let mut hand = decision_hand(&[1000, 1000, 1000]);
        hand.apply(Action::RaiseTo(30)).unwrap(); // seat 0 raises
        hand.apply(Action::Fold).unwrap(); // seat 1 (small blind) folds
        hand.apply(Action::Fold).unwrap(); // seat 2 (big blind) folds
        assert!(hand.is_finished());
        memory.observe(1, &hand);
        let raiser = memory.stats(0).unwrap();
        assert_eq!(
            (raiser.hands, raiser.vpip, raiser.pfr, raiser.won),
            (1, 1, 1, 1)
        );
        let blind = memory.stats(1).unwrap();
        assert_eq!((blind.hands, blind.vpip, blind.folds), (1, 0, 1));
        assert_eq!(raiser.summary(0)["vpip_pct"], 100);

        let summary = memory.recent(1).next().unwrap().to_string();
        for seat in 0..3 {
            for card in hand.hole(seat) {
                assert!(
                    !summary.contains(&card.to_string()),
                    "{card} leaked: {summary}"
                );
            }
        }
        assert!(summary.contains("\"raise\""));
    }

    #[test]
    fn only_the_last_hands_are_kept() {
        let mut memory = TableMemory::default();
        for number in 1..=(RECENT_HANDS as i64 + 5) {
            let mut hand = decision_hand(&[1000, 1000, 1000]);
            while !hand.is_finished() {
                hand.apply(Action::Fold)
                    .or_else(|_| hand.apply(Action::Check))
                    .unwrap();
            }
            memory.observe(number, &hand);
        }
        let numbers: Vec<i64> = memory
            .recent(100)
            .map(|h| h["hand"].as_i64().unwrap())
            .collect();
        assert_eq!(numbers.len(), RECENT_HANDS);
        assert_eq!(numbers[0], RECENT_HANDS as i64 + 5, "newest first");
        assert_eq!(memory.stats(0).unwrap().hands, RECENT_HANDS as u32 + 5);
    }
}
