//! A table's public state from its feed, as pure functions: the current hand folded from its
//! events (each event carries the values it changes, so this is bookkeeping, not poker), and
//! every event said in words for the action log. The watch page's script does the same fold
//! in the browser; this one renders the first paint and answers `GET …/tables/{id}`.

use serde::Serialize;
use serde_json::Value;
use simrunner::store::public::FeedEvent;
use utoipa::ToSchema;

/// One seat as a viewer sees it now.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SeatState {
    pub seat: usize,
    pub name: String,
    /// `random`, `tight`, `callstation`, `autonomous`, `protocol`, `external` or `webhook`.
    pub kind: String,
    pub model: Option<String>,
    pub stack: i64,
    /// Chips in front on this street.
    pub bet: i64,
    /// `waiting` (not in this hand), `active`, `folded`, `all_in` or `left` (an outside
    /// agent that left the table).
    pub status: &'static str,
    /// Cards shown at showdown; never anything else.
    pub cards: Option<Vec<String>>,
    /// The hand shown at showdown, e.g. "two pair".
    pub rank: Option<String>,
    pub winner: bool,
}

/// One pot as awarded.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PotState {
    pub amount: i64,
    pub winners: Vec<usize>,
}

/// The table now: the current (or last) hand, from the feed.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TableState {
    pub hand: Option<i64>,
    /// `preflop`, `flop`, `turn`, `river`, or `over` once the hand is decided.
    pub street: &'static str,
    pub board: Vec<String>,
    /// Chips in the middle, this street's bets included.
    pub pot: i64,
    /// The pots as awarded, once the hand is over; main pot first.
    pub pots: Vec<PotState>,
    pub button: Option<usize>,
    pub small_blind_seat: Option<usize>,
    pub big_blind_seat: Option<usize>,
    /// Whose turn it is; `None` between hands and when nobody can act.
    pub to_act: Option<usize>,
    pub seats: Vec<SeatState>,
    /// The hand ended without finishing (its run stopped).
    pub aborted: bool,
}

fn seat_of(payload: &Value) -> Option<usize> {
    payload["seat"].as_u64().map(|s| s as usize)
}

fn int(value: &Value) -> i64 {
    value.as_i64().unwrap_or(0)
}

impl TableState {
    /// No hand yet: the seats from the table, with `stacks` when a hand has finished.
    pub fn new(seats: &Value, stacks: Option<&Value>, initial_stack: i64) -> Self {
        let stack_of = |seat: usize| {
            stacks
                .and_then(Value::as_array)
                .and_then(|all| all.iter().find(|s| s["seat"].as_u64() == Some(seat as u64)))
                .map(|s| int(&s["stack"]))
                .unwrap_or(initial_stack)
        };
        let seats = seats
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| {
                let seat = s["seat"].as_u64()? as usize;
                Some(SeatState {
                    seat,
                    name: s["name"].as_str().unwrap_or("?").to_owned(),
                    kind: s["type"].as_str().unwrap_or("?").to_owned(),
                    model: s["model"].as_str().map(str::to_owned),
                    stack: stack_of(seat),
                    bet: 0,
                    status: "waiting",
                    cards: None,
                    rank: None,
                    winner: false,
                })
            })
            .collect();
        Self {
            hand: None,
            street: "preflop",
            board: Vec::new(),
            pot: 0,
            pots: Vec::new(),
            button: None,
            small_blind_seat: None,
            big_blind_seat: None,
            to_act: None,
            seats,
            aborted: false,
        }
    }

    fn seat_mut(&mut self, payload: &Value) -> Option<&mut SeatState> {
        let seat = seat_of(payload)?;
        self.seats.iter_mut().find(|s| s.seat == seat)
    }

    /// Applies one event. Events of other kinds than a hand's leave the state as it is.
    pub fn apply(&mut self, kind: &str, payload: &Value) {
        if let Some(to_act) = payload.get("to_act") {
            self.to_act = to_act.as_u64().map(|s| s as usize);
        }
        match kind {
            "hand_started" => {
                self.hand = payload["hand"].as_i64();
                self.street = "preflop";
                self.board.clear();
                self.pot = 0;
                self.pots.clear();
                self.aborted = false;
                self.button = payload["button"].as_u64().map(|s| s as usize);
                self.small_blind_seat = payload["small_blind_seat"].as_u64().map(|s| s as usize);
                self.big_blind_seat = payload["big_blind_seat"].as_u64().map(|s| s as usize);
                self.to_act = None;
                for seat in &mut self.seats {
                    seat.bet = 0;
                    seat.status = "waiting";
                    seat.cards = None;
                    seat.rank = None;
                    seat.winner = false;
                }
                for player in payload["players"].as_array().into_iter().flatten() {
                    if let Some(seat) = self.seat_mut(player) {
                        seat.status = "active";
                        seat.stack = int(&player["stack"]);
                    }
                }
            }
            "blind_posted" | "action" => {
                self.pot = int(&payload["pot"]);
                if let Some(seat) = self.seat_mut(payload) {
                    seat.stack = int(&payload["stack"]);
                    seat.bet = payload
                        .get("total")
                        .or_else(|| payload.get("bet"))
                        .map(int)
                        .unwrap_or(0);
                    if payload["action"] == "fold" {
                        seat.status = "folded";
                    } else if payload["all_in"] == true {
                        seat.status = "all_in";
                    }
                }
            }
            "street_dealt" => {
                self.street = match payload["street"].as_str() {
                    Some("flop") => "flop",
                    Some("turn") => "turn",
                    Some("river") => "river",
                    _ => self.street,
                };
                self.board = strings(&payload["board"]);
                self.pot = int(&payload["pot"]);
                for seat in &mut self.seats {
                    seat.bet = 0;
                }
            }
            "uncalled_bet_returned" => {
                self.pot = int(&payload["pot"]);
                let amount = int(&payload["amount"]);
                if let Some(seat) = self.seat_mut(payload) {
                    seat.stack = int(&payload["stack"]);
                    seat.bet = (seat.bet - amount).max(0);
                }
            }
            "showdown" => {
                if let Some(seat) = self.seat_mut(payload) {
                    seat.cards = Some(strings(&payload["cards"]));
                    seat.rank = payload["rank"].as_str().map(str::to_owned);
                }
            }
            "pot_awarded" => {
                self.street = "over";
                self.to_act = None;
                let winners: Vec<usize> = payload["winners"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|w| w.as_u64().map(|w| w as usize))
                    .collect();
                for seat in self.seats.iter_mut().filter(|s| winners.contains(&s.seat)) {
                    seat.winner = true;
                }
                self.pots.push(PotState {
                    amount: int(&payload["amount"]),
                    winners,
                });
            }
            "hand_complete" => {
                self.street = "over";
                self.to_act = None;
                self.pot = 0;
                for entry in payload["stacks"].as_array().into_iter().flatten() {
                    if let Some(seat) = self.seat_mut(entry) {
                        seat.stack = int(&entry["stack"]);
                        seat.bet = 0;
                    }
                }
            }
            "hand_aborted" => {
                self.street = "over";
                self.to_act = None;
                self.aborted = true;
            }
            "player_left" => {
                if let Some(seat) = self.seat_mut(payload) {
                    seat.status = "left";
                    seat.stack = 0;
                    seat.bet = 0;
                }
            }
            _ => {}
        }
    }

    /// The state after the latest hand among `events` (those before it are skipped).
    pub fn from_events(mut self, events: &[FeedEvent]) -> Self {
        let start = events
            .iter()
            .rposition(|e| e.kind == "hand_started")
            .unwrap_or(0);
        for event in &events[start..] {
            self.apply(&event.kind, &event.payload);
        }
        self
    }
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// How a seat's kind is shown: outside agents are marked as such.
pub fn kind_label(kind: &str) -> &str {
    match kind {
        "external" => "outside agent",
        "webhook" => "outside agent (webhook)",
        other => other,
    }
}

/// An event in words, as the action log shows it; `None` for events that say nothing.
pub fn describe(kind: &str, payload: &Value, name_of: impl Fn(usize) -> String) -> Option<String> {
    let who = || seat_of(payload).map(&name_of).unwrap_or_else(|| "?".into());
    let chips = |v: &Value| int(v).to_string();
    let all_in = if payload["all_in"] == true {
        " (all-in)"
    } else {
        ""
    };
    Some(match kind {
        "table_opened" => "The table opens".into(),
        "hand_started" => format!("Hand #{} begins", int(&payload["hand"])),
        "blind_posted" => format!(
            "{} posts the {} blind of {}{all_in}",
            who(),
            payload["blind"].as_str().unwrap_or(""),
            chips(&payload["amount"])
        ),
        "action" => match payload["action"].as_str().unwrap_or("") {
            "fold" => format!("{} folds", who()),
            "check" => format!("{} checks", who()),
            "call" => format!("{} calls {}{all_in}", who(), chips(&payload["amount"])),
            "bet" => format!("{} bets {}{all_in}", who(), chips(&payload["total"])),
            "raise" => format!("{} raises to {}{all_in}", who(), chips(&payload["total"])),
            other => format!("{} {other}", who()),
        },
        "street_dealt" => format!(
            "{}: {}",
            capitalised(payload["street"].as_str().unwrap_or("")),
            strings(&payload["board"]).join(" ")
        ),
        "uncalled_bet_returned" => {
            format!(
                "{} takes back {} uncalled",
                who(),
                chips(&payload["amount"])
            )
        }
        "player_left" => format!(
            "{} leaves the table with {}",
            who(),
            chips(&payload["stack"])
        ),
        "showdown" => format!(
            "{} shows {} ({})",
            who(),
            strings(&payload["cards"]).join(" "),
            payload["rank"].as_str().unwrap_or("")
        ),
        "pot_awarded" => {
            let winners: Vec<String> = payload["winners"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|w| w.as_u64().map(|w| name_of(w as usize)))
                .collect();
            let pot = if int(&payload["pot"]) == 0 {
                "the pot".to_owned()
            } else {
                format!("side pot {}", int(&payload["pot"]))
            };
            let verb = if winners.len() > 1 { "win" } else { "wins" };
            format!(
                "{} {verb} {pot} of {}",
                winners.join(" and "),
                chips(&payload["amount"])
            )
        }
        "hand_complete" => return None,
        "hand_aborted" => format!("Hand #{} was cut short", int(&payload["hand"])),
        "table_ended" => format!(
            "The table has ended after {} hands",
            int(&payload["hands_played"])
        ),
        _ => return None,
    })
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(seq: i64, kind: &str, payload: Value) -> FeedEvent {
        FeedEvent {
            seq,
            hand_number: Some(1),
            kind: kind.into(),
            payload,
            at: chrono::Utc::now(),
        }
    }

    fn seats() -> Value {
        json!([{"seat": 0, "name": "sim-tight-0", "type": "tight", "model": null},
               {"seat": 1, "name": "sim-protocol-1", "type": "protocol", "model": "openai:gpt-4o"}])
    }

    #[test]
    fn a_hand_is_folded_from_its_events_without_poker_logic() {
        let events = [
            event(
                1,
                "hand_started",
                json!({"hand": 7, "button": 0, "small_blind_seat": 0, "big_blind_seat": 1,
                "players": [{"seat": 0, "stack": 1000}, {"seat": 1, "stack": 1000}]}),
            ),
            event(
                2,
                "blind_posted",
                json!({"seat": 0, "blind": "small", "amount": 5, "stack": 995, "bet": 5, "pot": 5}),
            ),
            event(
                3,
                "blind_posted",
                json!({"seat": 1, "blind": "big", "amount": 10, "stack": 990, "bet": 10, "pot": 15, "to_act": 0}),
            ),
            event(
                4,
                "action",
                json!({"seat": 0, "action": "raise", "amount": 55, "total": 60, "stack": 940, "pot": 70, "to_act": 1}),
            ),
        ];
        let state = TableState::new(&seats(), None, 1000).from_events(&events);
        assert_eq!(state.hand, Some(7));
        assert_eq!(state.pot, 70);
        assert_eq!(state.to_act, Some(1));
        assert_eq!((state.seats[0].stack, state.seats[0].bet), (940, 60));
        assert_eq!(state.seats[1].status, "active");
        assert!(
            state.seats.iter().all(|s| s.cards.is_none()),
            "no cards before showdown"
        );

        let mut more = events.to_vec();
        more.push(event(5, "action", json!({"seat": 1, "action": "fold", "amount": 0, "total": 10, "stack": 990, "pot": 70, "to_act": null})));
        more.push(event(
            6,
            "pot_awarded",
            json!({"pot": 0, "amount": 70, "eligible": [0], "winners": [0]}),
        ));
        more.push(event(7, "hand_complete", json!({"hand": 7, "winners": [0], "stacks": [{"seat": 0, "stack": 1010}, {"seat": 1, "stack": 990}]})));
        let state = TableState::new(&seats(), None, 1000).from_events(&more);
        assert_eq!(state.street, "over");
        assert_eq!(state.to_act, None);
        assert_eq!(state.seats[1].status, "folded");
        assert!(state.seats[0].winner);
        assert_eq!(state.seats[0].stack, 1010);
        assert_eq!(
            state.pots,
            [PotState {
                amount: 70,
                winners: vec![0]
            }]
        );
    }

    #[test]
    fn events_read_as_sentences() {
        let name = |seat: usize| format!("sim-tight-{seat}");
        let say = |kind: &str, payload: Value| describe(kind, &payload, name).unwrap();
        assert_eq!(
            say("action", json!({"seat": 2, "action": "raise", "total": 60})),
            "sim-tight-2 raises to 60"
        );
        assert_eq!(
            say(
                "action",
                json!({"seat": 1, "action": "call", "amount": 40, "all_in": true})
            ),
            "sim-tight-1 calls 40 (all-in)"
        );
        assert_eq!(
            say(
                "street_dealt",
                json!({"street": "flop", "board": ["As", "Kd", "2c"]})
            ),
            "Flop: As Kd 2c"
        );
        assert_eq!(
            say(
                "pot_awarded",
                json!({"pot": 0, "amount": 120, "winners": [0, 3]})
            ),
            "sim-tight-0 and sim-tight-3 win the pot of 120"
        );
        assert!(describe("hand_complete", &json!({}), name).is_none());
    }
}
