//! Turns what the engine reports into what is stored: the public event feed (hole cards
//! only at showdown), the hand row, sparse bot decision logs and per-agent results.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use simrunner::poker::engine::{ActionKind, BlindKind, Event};
use simrunner::poker::pots::SeatSet;
use simrunner::poker::{Card, Hand, MAX_SEATS};
use simrunner::store::recording::{Batch, EventRow, HandRow, LogRow};

/// One seat's agent, as shown in records.
#[derive(Debug, Clone)]
pub struct SeatInfo {
    pub seat: usize,
    pub name: String,
    pub agent_type: &'static str,
    pub model: Option<String>,
}

impl SeatInfo {
    pub fn stream(&self) -> String {
        format!("agent-{}-{}", self.seat, self.agent_type)
    }

    pub fn to_json(&self) -> Value {
        json!({"seat": self.seat, "name": self.name, "type": self.agent_type, "model": self.model})
    }
}

fn seats_of(set: SeatSet) -> Vec<usize> {
    (0..MAX_SEATS).filter(|s| set & (1 << s) != 0).collect()
}

fn cards(cards: &[Card]) -> Vec<String> {
    cards.iter().map(Card::to_string).collect()
}

/// Running tallies per seat for the run's results.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub hands_won: [i64; MAX_SEATS],
}

/// Collects rows between database writes and numbers events and log lines.
#[derive(Debug)]
pub struct Recorder {
    pub batch: Batch,
    next_event: i64,
    next_log: std::collections::HashMap<String, i64>,
    pub tally: Tally,
    seats: Vec<SeatInfo>,
    blinds: (i64, i64),
}

impl Recorder {
    /// A recorder for a table with these seats and `(small, big)` blinds.
    pub fn new(seats: Vec<SeatInfo>, blinds: (i64, i64)) -> Self {
        Self {
            batch: Batch::default(),
            next_event: 0,
            next_log: Default::default(),
            tally: Tally::default(),
            seats,
            blinds,
        }
    }

    pub fn event(&mut self, hand: Option<i64>, kind: &'static str, payload: Value) {
        self.next_event += 1;
        self.batch.events.push(EventRow {
            seq: self.next_event,
            hand_number: hand,
            kind,
            payload,
        });
    }

    pub fn log(&mut self, stream: &str, entry: Value) {
        let seq = self.next_log.entry(stream.to_owned()).or_insert(0);
        *seq += 1;
        self.batch.logs.push(LogRow {
            stream: stream.to_owned(),
            seq: *seq,
            entry,
        });
    }

    /// Records a finished hand: its public events, its row and its bots' notable decisions.
    pub fn hand(
        &mut self,
        number: i64,
        deck_id: String,
        hand: &Hand,
        start_stacks: &[i64],
        started_at: DateTime<Utc>,
    ) {
        let seats = std::mem::take(&mut self.seats);
        let n = Some(number);
        let mut pots = Vec::new();
        let mut ranks: [Option<String>; MAX_SEATS] = Default::default();
        let mut winners_all: SeatSet = 0;
        for event in hand.events() {
            match *event {
                Event::HandStarted {
                    button,
                    small_blind_seat,
                    big_blind_seat,
                } => {
                    let stacks: Vec<Value> = seats
                        .iter()
                        .filter(|s| hand.is_dealt(s.seat))
                        .map(|s| json!({"seat": s.seat, "name": s.name, "stack": start_stacks[s.seat]}))
                        .collect();
                    self.event(
                        n,
                        "hand_started",
                        json!({
                            "hand": number, "button": button, "small_blind_seat": small_blind_seat,
                            "big_blind_seat": big_blind_seat, "players": stacks,
                        }),
                    );
                }
                Event::BlindPosted {
                    seat,
                    kind,
                    amount,
                    all_in,
                } => {
                    let blind = if kind == BlindKind::Small {
                        "small"
                    } else {
                        "big"
                    };
                    self.event(
                        n,
                        "blind_posted",
                        json!({
                            "seat": seat, "blind": blind, "amount": amount, "all_in": all_in,
                        }),
                    );
                }
                // Private until showdown: kept in the hand row, not in the public feed.
                Event::HoleCards { .. } => {}
                Event::Acted {
                    seat,
                    street,
                    kind,
                    amount,
                    total,
                    all_in,
                } => {
                    let payload = json!({
                        "seat": seat, "street": street.name(), "action": kind.name(),
                        "amount": amount, "total": total, "all_in": all_in,
                    });
                    // Bots log sparsely: only bets, raises and all-ins.
                    if (matches!(kind, ActionKind::Bet | ActionKind::Raise) || all_in)
                        && let Some(info) = seats.get(seat)
                    {
                        let mut entry = payload.clone();
                        entry["hand"] = json!(number);
                        entry["event"] = json!("decision");
                        self.log(&info.stream(), entry);
                    }
                    self.event(n, "action", payload);
                }
                Event::StreetDealt { street, board } => {
                    let dealt: Vec<Card> = board.iter().flatten().copied().collect();
                    self.event(
                        n,
                        "street_dealt",
                        json!({"street": street.name(), "board": cards(&dealt)}),
                    );
                }
                Event::UncalledBetReturned { seat, amount } => {
                    self.event(
                        n,
                        "uncalled_bet_returned",
                        json!({"seat": seat, "amount": amount}),
                    );
                }
                Event::ShowedDown {
                    seat,
                    cards: hole,
                    rank,
                } => {
                    ranks[seat] = Some(rank.to_string());
                    self.event(
                        n,
                        "showdown",
                        json!({
                            "seat": seat, "cards": cards(&hole), "rank": rank.to_string(),
                        }),
                    );
                }
                Event::PotAwarded {
                    pot,
                    amount,
                    eligible,
                    winners,
                } => {
                    winners_all |= winners;
                    let entry = json!({
                        "pot": pot, "amount": amount,
                        "eligible": seats_of(eligible), "winners": seats_of(winners),
                    });
                    pots.push(entry.clone());
                    self.event(n, "pot_awarded", entry);
                }
                Event::HandComplete => {
                    let stacks: Vec<Value> = seats
                        .iter()
                        .map(|s| json!({"seat": s.seat, "stack": hand.stack(s.seat)}))
                        .collect();
                    self.event(
                        n,
                        "hand_complete",
                        json!({
                            "hand": number, "winners": seats_of(winners_all), "stacks": stacks,
                        }),
                    );
                }
            }
        }
        for seat in seats_of(winners_all) {
            self.tally.hands_won[seat] += 1;
        }
        let results: Vec<Value> = seats
            .iter()
            .filter(|s| hand.is_dealt(s.seat))
            .map(|s| {
                json!({
                    "seat": s.seat,
                    "hole": cards(&hand.hole(s.seat)),
                    "start_stack": start_stacks[s.seat],
                    "end_stack": hand.stack(s.seat),
                    "net": hand.stack(s.seat) - start_stacks[s.seat],
                    "rank": ranks[s.seat],
                })
            })
            .collect();
        self.batch.hands.push(HandRow {
            number,
            seed: deck_id,
            button: hand.button() as i16,
            small_blind: self.blinds.0,
            big_blind: self.blinds.1,
            board: cards(hand.board()),
            pots: Value::Array(pots),
            results: Value::Array(results),
            started_at,
            completed_at: Utc::now(),
        });
        self.seats = seats;
    }
}

/// Per-agent results at the end of a run.
pub fn agent_results(
    seats: &[SeatInfo],
    final_stacks: &[i64],
    initial_stack: i64,
    big_blind: i64,
    hands: i64,
    tally: &Tally,
) -> Value {
    let agents: Vec<Value> = seats
        .iter()
        .map(|s| {
            let net = final_stacks[s.seat] - initial_stack;
            let bb_per_100 = if hands > 0 {
                (net as f64 / big_blind as f64) * 100.0 / hands as f64
            } else {
                0.0
            };
            json!({
                "seat": s.seat, "name": s.name, "type": s.agent_type, "model": s.model,
                "final_stack": final_stacks[s.seat], "net": net,
                "hands_won": tally.hands_won[s.seat],
                "bb_per_100": (bb_per_100 * 100.0).round() / 100.0,
            })
        })
        .collect();
    Value::Array(agents)
}
