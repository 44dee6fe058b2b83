//! Hand histories in the Poker Hand History format (PHH), the open, TOML-based format
//! PokerKit reads and writes (<https://phh.readthedocs.io>): one hand as a `.phh` document,
//! many as a `.phhs` file (one TOML table per hand).
//!
//! The mapping (also in the README):
//! - `variant = "NT"` (no-limit Texas hold'em), `antes` all 0, `min_bet` the big blind.
//! - Players are listed by position, as PHH requires: the small blind first, the button last.
//!   Heads-up the big blind is `p1` and the button (who posts the small blind) `p2`;
//!   `blinds_or_straddles = [small, big, 0, …]` either way (PHH assigns them in reverse
//!   heads-up). `seats` gives each player's seat number (1-based) and `seat_count` the
//!   table's seats; `players` their names.
//! - `starting_stacks` before the blinds, `finishing_stacks` after the pots are paid.
//! - `actions`: `d dh pN` with each player's two hole cards (`????` when hidden), then in
//!   order `pN f` (fold), `pN cc` (check or call), `pN cbr X` (bet or raise to X, this
//!   street's total), `d db` with the cards each street adds, and `pN sm` with the cards of
//!   each player who showed down, written where PokerKit's showdown begins: after the last
//!   betting action (before a board that is run out).
//! - `table` (the table id), `hand` (its number), and the start time in UTC: `year`, `month`,
//!   `day`, `time`, `time_zone = "UTC"`.
//!
//! Nothing here does I/O: callers build a [`HandHistory`] from what they stored.

use super::cards::Card;
use super::engine::MAX_SEATS;
use std::fmt::Write as _;

/// One finished hand, as PHH needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandHistory {
    /// The table's id.
    pub table: String,
    /// The hand's number at its table.
    pub hand: i64,
    /// When the hand started, in UTC.
    pub started_at: Option<StartTime>,
    pub small_blind: i64,
    pub big_blind: i64,
    /// How many seats the table has (dealt in or not).
    pub seat_count: usize,
    pub button: usize,
    /// The seats dealt in, in any order.
    pub players: Vec<Player>,
    /// Betting actions and board cards, in the order they happened.
    pub steps: Vec<Step>,
}

/// A UTC timestamp, split the way PHH's `year`, `month`, `day` and `time` fields want it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StartTime {
    pub year: i32,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Player {
    /// 0-based, as the engine numbers seats.
    pub seat: usize,
    pub name: String,
    pub starting_stack: i64,
    pub finishing_stack: i64,
    pub hole: Hole,
}

/// What the reader may know of a player's hole cards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hole {
    /// Not shown: written as `????`.
    Hidden,
    /// Known to the reader (the admin's view), not shown down.
    Dealt([Card; 2]),
    /// Shown at showdown: dealt face down, then shown with `pN sm`.
    Shown([Card; 2]),
}

/// Something that happened after the deal, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Fold {
        seat: usize,
    },
    CheckOrCall {
        seat: usize,
    },
    /// A bet or raise to this street total.
    BetOrRaiseTo {
        seat: usize,
        to: i64,
    },
    /// The cards a street adds to the board.
    Board(Vec<Card>),
}

/// A hand that cannot be written: its steps or button name a seat that was not dealt in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhhError {
    #[error("hand {hand}: seat {seat} acts but was not dealt in")]
    UnknownSeat { hand: i64, seat: usize },
    #[error("hand {hand}: the button (seat {seat}) was not dealt in")]
    ButtonNotDealt { hand: i64, seat: usize },
}

impl HandHistory {
    /// Appends the hand as a `.phh` document.
    pub fn write_phh(&self, out: &mut String) -> Result<(), PhhError> {
        let order = self.positions()?;
        self.write_fields(&order, out)
    }

    /// Appends the hand as one entry of a `.phhs` file: a TOML table named by the hand
    /// number, followed by a blank line.
    pub fn write_phhs_entry(&self, out: &mut String) -> Result<(), PhhError> {
        let order = self.positions()?;
        let _ = writeln!(out, "[{}]", self.hand);
        self.write_fields(&order, out)?;
        out.push('\n');
        Ok(())
    }

    /// The players in PHH order: clockwise from the button's left, the button last.
    fn positions(&self) -> Result<Vec<&Player>, PhhError> {
        if !self.players.iter().any(|p| p.seat == self.button) {
            return Err(PhhError::ButtonNotDealt {
                hand: self.hand,
                seat: self.button,
            });
        }
        let mut order: Vec<&Player> = self.players.iter().collect();
        order.sort_by_key(|p| (p.seat + MAX_SEATS - self.button - 1) % MAX_SEATS);
        Ok(order)
    }

    fn write_fields(&self, order: &[&Player], out: &mut String) -> Result<(), PhhError> {
        let index = |seat: usize| {
            order
                .iter()
                .position(|p| p.seat == seat)
                .map(|i| i + 1)
                .ok_or(PhhError::UnknownSeat {
                    hand: self.hand,
                    seat,
                })
        };
        out.push_str("variant = \"NT\"\n");
        write_numbers(out, "antes", order.iter().map(|_| 0));
        let blinds = [self.small_blind, self.big_blind];
        let blinds = (0..order.len()).map(|i| blinds.get(i).copied().unwrap_or(0));
        write_numbers(out, "blinds_or_straddles", blinds);
        let _ = writeln!(out, "min_bet = {}", self.big_blind);
        write_numbers(
            out,
            "starting_stacks",
            order.iter().map(|p| p.starting_stack),
        );

        out.push_str("actions = [\n");
        for (i, player) in order.iter().enumerate() {
            let _ = write!(out, "  \"d dh p{} ", i + 1);
            match player.hole {
                Hole::Hidden => out.push_str("????"),
                Hole::Dealt(cards) | Hole::Shown(cards) => write_cards(out, &cards),
            }
            out.push_str("\",\n");
        }
        // PokerKit's showdown begins when the betting is over: after the last action, before
        // any board that is run out.
        let last_action = self
            .steps
            .iter()
            .rposition(|s| !matches!(s, Step::Board(_)));
        if last_action.is_none() {
            write_showdown(out, order);
        }
        for (at, step) in self.steps.iter().enumerate() {
            match step {
                Step::Fold { seat } => {
                    let _ = writeln!(out, "  \"p{} f\",", index(*seat)?);
                }
                Step::CheckOrCall { seat } => {
                    let _ = writeln!(out, "  \"p{} cc\",", index(*seat)?);
                }
                Step::BetOrRaiseTo { seat, to } => {
                    let _ = writeln!(out, "  \"p{} cbr {to}\",", index(*seat)?);
                }
                Step::Board(cards) => {
                    out.push_str("  \"d db ");
                    write_cards(out, cards);
                    out.push_str("\",\n");
                }
            }
            if Some(at) == last_action {
                write_showdown(out, order);
            }
        }
        out.push_str("]\n");

        write_numbers(
            out,
            "finishing_stacks",
            order.iter().map(|p| p.finishing_stack),
        );
        write_array(out, "players", order, |out, p| write_string(out, &p.name));
        write_numbers(out, "seats", order.iter().map(|p| p.seat as i64 + 1));
        let _ = writeln!(out, "seat_count = {}", self.seat_count);
        out.push_str("table = ");
        write_string(out, &self.table);
        let _ = writeln!(out, "\nhand = {}", self.hand);
        if let Some(t) = self.started_at {
            let _ = writeln!(
                out,
                "year = {}\nmonth = {}\nday = {}\ntime = {:02}:{:02}:{:02}\ntime_zone = \"UTC\"",
                t.year, t.month, t.day, t.hour, t.minute, t.second
            );
        }
        Ok(())
    }
}

fn write_showdown(out: &mut String, order: &[&Player]) {
    for (i, player) in order.iter().enumerate() {
        if let Hole::Shown(cards) = player.hole {
            let _ = write!(out, "  \"p{} sm ", i + 1);
            write_cards(out, &cards);
            out.push_str("\",\n");
        }
    }
}

fn write_cards(out: &mut String, cards: &[Card]) {
    for card in cards {
        let _ = write!(out, "{card}");
    }
}

/// `key = [a, b, …]`, each item written by `write`.
fn write_array<T>(
    out: &mut String,
    key: &str,
    items: impl IntoIterator<Item = T>,
    write: impl Fn(&mut String, T),
) {
    let _ = write!(out, "{key} = [");
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        write(out, item);
    }
    out.push_str("]\n");
}

fn write_numbers(out: &mut String, key: &str, values: impl Iterator<Item = i64>) {
    write_array(out, key, values, |out, value| {
        let _ = write!(out, "{value}");
    });
}

/// A TOML basic string: quotes, backslashes and control characters escaped, so any name
/// stays one value on one line.
fn write_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cards(text: &str) -> [Card; 2] {
        [
            Card::parse(&text[..2]).unwrap(),
            Card::parse(&text[2..]).unwrap(),
        ]
    }

    fn player(seat: usize, name: &str, stacks: (i64, i64), hole: Hole) -> Player {
        Player {
            seat,
            name: name.into(),
            starting_stack: stacks.0,
            finishing_stack: stacks.1,
            hole,
        }
    }

    /// Three-handed, button on seat 4: seat 0 is the small blind, seat 2 the big blind.
    fn three_handed() -> HandHistory {
        HandHistory {
            table: "tbl_0123".into(),
            hand: 7,
            started_at: Some(StartTime {
                year: 2026,
                month: 3,
                day: 9,
                hour: 14,
                minute: 5,
                second: 7,
            }),
            small_blind: 5,
            big_blind: 10,
            seat_count: 6,
            button: 4,
            players: vec![
                player(4, "sim-random-4", (1000, 990), Hole::Hidden),
                player(0, "sim-tight-0", (500, 0), Hole::Shown(cards("AsAh"))),
                player(
                    2,
                    "sim-callstation-2",
                    (800, 1310),
                    Hole::Shown(cards("KsKh")),
                ),
            ],
            steps: vec![
                Step::CheckOrCall { seat: 4 },
                Step::BetOrRaiseTo { seat: 0, to: 500 },
                Step::CheckOrCall { seat: 2 },
                Step::Fold { seat: 4 },
                Step::Board(vec![
                    Card::parse("2c").unwrap(),
                    Card::parse("7d").unwrap(),
                    Card::parse("Kd").unwrap(),
                ]),
                Step::Board(vec![Card::parse("9s").unwrap()]),
                Step::Board(vec![Card::parse("3h").unwrap()]),
            ],
        }
    }

    #[test]
    fn a_hand_is_written_by_position_with_the_showdown_where_the_betting_ends() {
        let mut out = String::new();
        three_handed().write_phh(&mut out).unwrap();
        assert_eq!(
            out,
            r#"variant = "NT"
antes = [0, 0, 0]
blinds_or_straddles = [5, 10, 0]
min_bet = 10
starting_stacks = [500, 800, 1000]
actions = [
  "d dh p1 AsAh",
  "d dh p2 KsKh",
  "d dh p3 ????",
  "p3 cc",
  "p1 cbr 500",
  "p2 cc",
  "p3 f",
  "p1 sm AsAh",
  "p2 sm KsKh",
  "d db 2c7dKd",
  "d db 9s",
  "d db 3h",
]
finishing_stacks = [0, 1310, 990]
players = ["sim-tight-0", "sim-callstation-2", "sim-random-4"]
seats = [1, 3, 5]
seat_count = 6
table = "tbl_0123"
hand = 7
year = 2026
month = 3
day = 9
time = 14:05:07
time_zone = "UTC"
"#
        );
    }

    #[test]
    fn heads_up_the_big_blind_is_the_first_player_and_the_button_the_second() {
        let hand = HandHistory {
            button: 1,
            seat_count: 2,
            players: vec![
                player(1, "button", (100, 95), Hole::Dealt(cards("2c3d"))),
                player(0, "big blind", (100, 105), Hole::Dealt(cards("KsKd"))),
            ],
            steps: vec![Step::Fold { seat: 1 }],
            started_at: None,
            ..three_handed()
        };
        let mut out = String::new();
        hand.write_phh(&mut out).unwrap();
        assert!(out.contains("blinds_or_straddles = [5, 10]\n"), "{out}");
        assert!(
            out.contains("\"d dh p1 KsKd\",\n  \"d dh p2 2c3d\",\n  \"p2 f\",\n]"),
            "{out}"
        );
        assert!(
            out.contains("players = [\"big blind\", \"button\"]"),
            "{out}"
        );
        assert!(!out.contains("sm") && !out.contains("year"), "{out}");
    }

    #[test]
    fn player_names_with_quotes_backslashes_and_newlines_stay_one_toml_string() {
        let mut hand = three_handed();
        hand.players[0].name = "Bob \"the \\ dealer\"\nsecond line\ttab\u{7}".into();
        let mut out = String::new();
        hand.write_phh(&mut out).unwrap();
        let line = out.lines().find(|l| l.starts_with("players")).unwrap();
        assert_eq!(
            line,
            r#"players = ["sim-tight-0", "sim-callstation-2", "Bob \"the \\ dealer\"\nsecond line\ttab\u0007"]"#
        );
        assert_eq!(out.lines().count(), 30, "no name breaks a line");
    }

    #[test]
    fn a_phhs_entry_is_a_table_named_by_the_hand_number_and_all_in_before_any_action_shows_at_once()
    {
        let mut hand = three_handed();
        hand.steps.retain(|s| matches!(s, Step::Board(_)));
        let mut out = String::new();
        hand.write_phhs_entry(&mut out).unwrap();
        assert!(out.starts_with("[7]\nvariant = \"NT\"\n"), "{out}");
        assert!(out.ends_with("time_zone = \"UTC\"\n\n"), "{out}");
        assert!(
            out.contains(
                "\"d dh p3 ????\",\n  \"p1 sm AsAh\",\n  \"p2 sm KsKh\",\n  \"d db 2c7dKd\""
            ),
            "{out}"
        );
    }

    #[test]
    fn a_step_by_a_seat_not_dealt_in_is_refused() {
        let mut hand = three_handed();
        hand.steps.push(Step::Fold { seat: 3 });
        assert_eq!(
            hand.write_phh(&mut String::new()),
            Err(PhhError::UnknownSeat { hand: 7, seat: 3 })
        );
        hand.button = 5;
        assert_eq!(
            hand.write_phh(&mut String::new()),
            Err(PhhError::ButtonNotDealt { hand: 7, seat: 5 })
        );
    }
}
