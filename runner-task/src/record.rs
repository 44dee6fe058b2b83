//! Turns what the engine reports into what is stored: the public event feed (hole cards
//! only at showdown), the hand row, sparse bot decision logs and per-agent results.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use simrunner::poker::engine::{ActionKind, BlindKind, Event};
use simrunner::poker::pots::SeatSet;
use simrunner::poker::{Card, Hand, MAX_SEATS};
use simrunner::store::recording::{Batch, EventRow, HandRow, JsonText, LogRow};

/// One seat's agent, as shown in records.
#[derive(Debug, Clone)]
pub struct SeatInfo {
    pub seat: usize,
    pub name: String,
    pub agent_type: &'static str,
    pub model: Option<String>,
    /// The outside agent at an external seat (`agt_…`).
    pub agent_id: Option<String>,
}

impl SeatInfo {
    pub fn stream(&self) -> String {
        format!("agent-{}-{}", self.seat, self.agent_type)
    }

    pub fn to_json(&self) -> Value {
        let mut seat = json!({"seat": self.seat, "name": self.name, "type": self.agent_type, "model": self.model});
        if let Some(agent) = &self.agent_id {
            seat["agent_id"] = json!(agent);
        }
        seat
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

/// A hand's public state as its events are converted, so each event can carry the values a
/// viewer shows (stack, bet, pot after it) without poker logic of its own.
#[derive(Debug, Clone, Default)]
struct Tracking {
    /// Engine events of the current hand already converted.
    converted: usize,
    stacks: [i64; MAX_SEATS],
    bets: [i64; MAX_SEATS],
    pot: i64,
    /// The seq of the hand's first event.
    first_seq: i64,
    ranks: [Option<String>; MAX_SEATS],
    pots: Vec<PotAwarded>,
    winners: SeatSet,
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
    hand: Tracking,
    /// Put before every log stream's name: `table-2/` for a multi-table run's second table.
    stream_prefix: String,
}

impl Recorder {
    /// The seats as finally taken (outside agents' names, bots in empty seats).
    pub fn set_seats(&mut self, seats: Vec<SeatInfo>) {
        self.seats = seats;
    }

    /// A recorder for a table with these seats and `(small, big)` blinds, whose log streams
    /// are named with `stream_prefix` first.
    pub fn new(seats: Vec<SeatInfo>, blinds: (i64, i64), stream_prefix: String) -> Self {
        Self {
            stream_prefix,
            batch: Batch::default(),
            next_event: 0,
            next_log: Default::default(),
            tally: Tally::default(),
            seats,
            blinds,
            hand: Tracking::default(),
        }
    }

    pub fn event(&mut self, hand: Option<i64>, kind: &'static str, payload: Value) {
        self.push_event(hand, kind, JsonText::from(payload));
    }

    fn push_event(&mut self, hand: Option<i64>, kind: &'static str, payload: JsonText) {
        self.next_event += 1;
        self.batch.events.push(EventRow {
            seq: self.next_event,
            hand_number: hand,
            kind,
            payload,
        });
    }

    /// The seq of the last event recorded.
    pub fn last_seq(&self) -> i64 {
        self.next_event
    }

    pub fn log(&mut self, stream: &str, entry: Value) {
        self.push_log(stream, JsonText::from(entry));
    }

    fn push_log(&mut self, stream: &str, entry: JsonText) {
        let stream = format!("{}{stream}", self.stream_prefix);
        let seq = self.next_log.entry(stream.clone()).or_insert(0);
        *seq += 1;
        self.batch.logs.push(LogRow {
            stream,
            seq: *seq,
            entry,
        });
    }

    /// A new hand is dealt with these stacks: its events are converted from the start.
    pub fn begin_hand(&mut self, start_stacks: &[i64]) {
        let mut stacks = [0; MAX_SEATS];
        stacks[..start_stacks.len()].copy_from_slice(start_stacks);
        self.hand = Tracking {
            stacks,
            first_seq: self.next_event + 1,
            ..Tracking::default()
        };
    }

    /// Converts the hand's events since the last call into public feed events (hole cards
    /// only at showdown) and its bots' notable decisions into log lines. The last blind,
    /// action or street of the call says whose turn it is now (`to_act`, null when the
    /// betting is over), so a viewer can highlight the seat.
    pub fn advance(&mut self, number: i64, hand: &Hand) {
        let seats = std::mem::take(&mut self.seats);
        let n = Some(number);
        let mut turn_event = None;
        for event in &hand.events()[self.hand.converted..] {
            let t = &mut self.hand;
            match *event {
                Event::HandStarted {
                    button,
                    small_blind_seat,
                    big_blind_seat,
                } => {
                    let players: Vec<Player> = seats
                        .iter()
                        .filter(|s| hand.is_dealt(s.seat))
                        .map(|s| Player {
                            seat: s.seat,
                            name: &s.name,
                            stack: t.stacks[s.seat],
                        })
                        .collect();
                    let payload = JsonText::of(&HandStarted {
                        hand: number,
                        button,
                        small_blind_seat,
                        big_blind_seat,
                        players,
                    });
                    self.push_event(n, "hand_started", payload);
                }
                Event::BlindPosted {
                    seat,
                    kind,
                    amount,
                    all_in,
                } => {
                    t.stacks[seat] -= amount;
                    t.bets[seat] += amount;
                    t.pot += amount;
                    let payload = JsonText::of(&BlindPosted {
                        seat,
                        blind: if kind == BlindKind::Small {
                            "small"
                        } else {
                            "big"
                        },
                        amount,
                        all_in,
                        stack: t.stacks[seat],
                        bet: t.bets[seat],
                        pot: t.pot,
                    });
                    self.push_event(n, "blind_posted", payload);
                    turn_event = Some(self.batch.events.len() - 1);
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
                    t.stacks[seat] -= amount;
                    t.bets[seat] = total;
                    t.pot += amount;
                    let acted = Acted {
                        seat,
                        street: street.name(),
                        action: kind.name(),
                        amount,
                        total,
                        all_in,
                        stack: t.stacks[seat],
                        pot: t.pot,
                    };
                    // Bots log sparsely: only bets, raises and all-ins.
                    if (matches!(kind, ActionKind::Bet | ActionKind::Raise) || all_in)
                        && let Some(info) = seats.get(seat)
                    {
                        let entry = JsonText::of(&Decision {
                            acted: &acted,
                            hand: number,
                            event: "decision",
                        });
                        self.push_log(&info.stream(), entry);
                    }
                    self.push_event(n, "action", JsonText::of(&acted));
                    turn_event = Some(self.batch.events.len() - 1);
                }
                Event::StreetDealt { street, board } => {
                    t.bets = [0; MAX_SEATS];
                    let dealt: Vec<Card> = board.iter().flatten().copied().collect();
                    let payload = JsonText::of(&StreetDealt {
                        street: street.name(),
                        board: cards(&dealt),
                        pot: t.pot,
                    });
                    self.push_event(n, "street_dealt", payload);
                    turn_event = Some(self.batch.events.len() - 1);
                }
                Event::UncalledBetReturned { seat, amount } => {
                    t.stacks[seat] += amount;
                    t.bets[seat] = (t.bets[seat] - amount).max(0);
                    t.pot -= amount;
                    let payload = JsonText::of(&Returned {
                        seat,
                        amount,
                        stack: t.stacks[seat],
                        pot: t.pot,
                    });
                    self.push_event(n, "uncalled_bet_returned", payload);
                }
                Event::ShowedDown {
                    seat,
                    cards: hole,
                    rank,
                } => {
                    let rank = rank.to_string();
                    let payload = JsonText::of(&ShowedDown {
                        seat,
                        cards: cards(&hole),
                        rank: &rank,
                    });
                    t.ranks[seat] = Some(rank);
                    self.push_event(n, "showdown", payload);
                }
                Event::PotAwarded {
                    pot,
                    amount,
                    eligible,
                    winners,
                } => {
                    t.winners |= winners;
                    let award = PotAwarded {
                        pot,
                        amount,
                        eligible: seats_of(eligible),
                        winners: seats_of(winners),
                    };
                    let payload = JsonText::of(&award);
                    t.pots.push(award);
                    self.push_event(n, "pot_awarded", payload);
                }
                Event::HandComplete => {
                    let payload = JsonText::of(&HandComplete {
                        hand: number,
                        winners: seats_of(t.winners),
                        stacks: seats
                            .iter()
                            .map(|s| SeatStack {
                                seat: s.seat,
                                stack: hand.stack(s.seat),
                            })
                            .collect(),
                    });
                    self.push_event(n, "hand_complete", payload);
                }
            }
        }
        self.hand.converted = hand.events().len();
        if let Some(index) = turn_event {
            self.batch.events[index]
                .payload
                .insert("to_act", &json!(hand.to_act()));
        }
        self.seats = seats;
    }

    /// Records a finished hand: its remaining events, its row, and who won.
    pub fn finish_hand(
        &mut self,
        number: i64,
        deck_id: String,
        hand: &Hand,
        start_stacks: &[i64],
        started_at: DateTime<Utc>,
    ) {
        self.advance(number, hand);
        for seat in seats_of(self.hand.winners) {
            self.tally.hands_won[seat] += 1;
        }
        let results: Vec<SeatResult> = self
            .seats
            .iter()
            .filter(|s| hand.is_dealt(s.seat))
            .map(|s| SeatResult {
                seat: s.seat,
                hole: cards(&hand.hole(s.seat)),
                start_stack: start_stacks[s.seat],
                end_stack: hand.stack(s.seat),
                net: hand.stack(s.seat) - start_stacks[s.seat],
                rank: self.hand.ranks[s.seat].as_deref(),
            })
            .collect();
        let results = JsonText::of(&results);
        self.batch.hands.push(HandRow {
            number,
            seed: deck_id,
            button: hand.button() as i16,
            small_blind: self.blinds.0,
            big_blind: self.blinds.1,
            board: cards(hand.board()),
            pots: JsonText::of(&std::mem::take(&mut self.hand.pots)),
            results,
            first_seq: self.hand.first_seq,
            started_at,
            completed_at: Utc::now(),
        });
    }
}

// What the feed's events, the decision log lines and the hand rows hold, serialised straight
// to JSON text (in this field order) with no map in between.

#[derive(Serialize)]
struct Player<'a> {
    seat: usize,
    name: &'a str,
    stack: i64,
}

#[derive(Serialize)]
struct HandStarted<'a> {
    hand: i64,
    button: usize,
    small_blind_seat: usize,
    big_blind_seat: usize,
    players: Vec<Player<'a>>,
}

#[derive(Serialize)]
struct BlindPosted {
    seat: usize,
    blind: &'static str,
    amount: i64,
    all_in: bool,
    stack: i64,
    bet: i64,
    pot: i64,
}

#[derive(Serialize)]
struct Acted {
    seat: usize,
    street: &'static str,
    action: &'static str,
    amount: i64,
    total: i64,
    all_in: bool,
    stack: i64,
    pot: i64,
}

/// A bot's notable decision in its log stream: the action, its hand, `"event": "decision"`.
#[derive(Serialize)]
struct Decision<'a> {
    #[serde(flatten)]
    acted: &'a Acted,
    hand: i64,
    event: &'static str,
}

#[derive(Serialize)]
struct StreetDealt {
    street: &'static str,
    board: Vec<String>,
    pot: i64,
}

#[derive(Serialize)]
struct Returned {
    seat: usize,
    amount: i64,
    stack: i64,
    pot: i64,
}

#[derive(Serialize)]
struct ShowedDown<'a> {
    seat: usize,
    cards: Vec<String>,
    rank: &'a str,
}

#[derive(Debug, Clone, Serialize)]
struct PotAwarded {
    pot: usize,
    amount: i64,
    eligible: Vec<usize>,
    winners: Vec<usize>,
}

#[derive(Serialize)]
struct SeatStack {
    seat: usize,
    stack: i64,
}

#[derive(Serialize)]
struct HandComplete {
    hand: i64,
    winners: Vec<usize>,
    stacks: Vec<SeatStack>,
}

#[derive(Serialize)]
struct SeatResult<'a> {
    seat: usize,
    hole: Vec<String>,
    start_stack: i64,
    end_stack: i64,
    net: i64,
    rank: Option<&'a str>,
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
