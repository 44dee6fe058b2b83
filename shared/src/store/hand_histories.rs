//! Recorded hands as hand histories ([`poker::phh::HandHistory`]), for the PHH exports: a
//! hand row (stacks, button, blinds, hole cards) and its betting and board events from the
//! feed. Two views: [`View::Public`] reads only the `public_*` views, so it sees the hole
//! cards of seats that showed down and nothing more; [`View::Full`] reads the tables and
//! every hole card (the admin API). Only finished hands have a row, so a hand still being
//! played never appears.

use super::{StoreError, get, query, query_opt};
use chrono::{DateTime, Datelike as _, Timelike as _, Utc};
use deadpool_postgres::GenericClient;
use poker::Card;
use poker::phh::{HandHistory, Hole, Player, StartTime, Step};
use serde::Deserialize;
use serde_json::Value;
use std::ops::RangeInclusive;

impl From<poker::phh::PhhError> for StoreError {
    fn from(error: poker::phh::PhhError) -> Self {
        StoreError::Corrupt(error.to_string())
    }
}

/// Which hole cards a history shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// Only the cards of seats that showed down (what `public_hands` exposes).
    Public,
    /// Every seat's cards (the admin's view).
    Full,
}

/// Hands are read this many at a time: memory stays bounded however long the table.
const CHUNK: i64 = 500;

struct Sql {
    hands: &'static str,
    events: &'static str,
}

/// A chunk of hand rows, one more than asked: `$1` table, `$2`..`$3` hand numbers, `$4`
/// how many. `seats` are per seat `{seat, start_stack, end_stack}` (and `hole`, `rank` in
/// the full view); `shown` the public view's `[{seat, cards}]`.
macro_rules! hands_sql {
    ($columns:literal, $relation:literal) => {
        concat!(
            "SELECT number, button, small_blind, big_blind, started_at, first_seq, ",
            $columns,
            " FROM ",
            $relation,
            " WHERE table_id = $1 AND number BETWEEN $2 AND $3 ORDER BY number LIMIT $4"
        )
    };
}

/// The betting and board events of hands `$4`..`$5` of table `$1`, between seqs `$2` and `$3`.
macro_rules! events_sql {
    ($relation:literal) => {
        concat!(
            "SELECT hand_number, kind, payload::text AS payload FROM ",
            $relation,
            " WHERE table_id = $1 AND seq >= $2 AND seq < $3 AND hand_number BETWEEN $4 AND $5
                AND kind IN ('action', 'street_dealt') ORDER BY seq"
        )
    };
}

impl View {
    /// Each view's queries; the public one names only `public_*` views.
    fn sql(self) -> Sql {
        match self {
            View::Public => Sql {
                hands: hands_sql!("seats::text AS seats, shown::text AS shown", "public_hands"),
                events: events_sql!("public_table_events"),
            },
            View::Full => Sql {
                hands: hands_sql!("results::text AS seats, NULL::text AS shown", "hands"),
                events: events_sql!("table_events"),
            },
        }
    }
}

/// The table a run played: its id and seats (`[{"seat", "name", …}]`).
#[derive(Debug, Clone)]
pub struct RunTable {
    pub id: String,
    pub seats: Value,
}

/// The table a run played at `position` (1 for a one-table run), `None` for an unknown run;
/// a run that never opened that table (still queued, failed to start, or fewer tables) has
/// none, as `Some(None)`.
pub async fn run_table(
    client: &impl GenericClient,
    run_id: &str,
    position: i16,
) -> Result<Option<Option<RunTable>>, StoreError> {
    let Some(row) = query_opt(
        client,
        "SELECT t.id, t.seats FROM simulation_runs r
           LEFT JOIN tables t ON t.run_id = r.id AND t.position = $2
          WHERE r.id = $1",
        &[&run_id, &position],
    )
    .await?
    else {
        return Ok(None);
    };
    let id: Option<String> = get(&row, "id")?;
    Ok(Some(match id {
        Some(id) => Some(RunTable {
            id,
            seats: get(&row, "seats")?,
        }),
        None => None,
    }))
}

/// Calls `each` with every finished hand of table `table_id` (whose seats are `seats`, as
/// stored with the table) numbered within `numbers`, in order; returns how many there were.
pub async fn visit(
    client: &impl GenericClient,
    table_id: &str,
    seats: &Value,
    view: View,
    numbers: RangeInclusive<i64>,
    mut each: impl FnMut(&HandHistory) -> Result<(), StoreError>,
) -> Result<u64, StoreError> {
    let sql = view.sql();
    let names = seat_names(seats);
    let mut from = *numbers.start();
    let mut count = 0;
    while from <= *numbers.end() {
        // One hand more than a chunk: where its events start bounds the chunk's events.
        let mut rows = query(
            client,
            sql.hands,
            &[&table_id, &from, numbers.end(), &(CHUNK + 1)],
        )
        .await?;
        let next_first_seq = if rows.len() as i64 > CHUNK {
            rows.pop()
                .map(|r| get::<Option<i64>>(&r, "first_seq"))
                .transpose()?
                .flatten()
        } else {
            None
        };
        let (Some(first), Some(last)) = (rows.first(), rows.last()) else {
            break;
        };
        let (first_number, last_number): (i64, i64) = (get(first, "number")?, get(last, "number")?);
        let first_seq: Option<i64> = get(first, "first_seq")?;
        let events = query(
            client,
            sql.events,
            &[
                &table_id,
                &first_seq.unwrap_or(0),
                &next_first_seq.unwrap_or(i64::MAX),
                &first_number,
                &last_number,
            ],
        )
        .await?;
        let mut events = events.iter().peekable();
        for row in &rows {
            let number: i64 = get(row, "number")?;
            let mut feed = Vec::new();
            while let Some(event) = events.next_if(|e| e.get::<_, i64>("hand_number") <= number) {
                if event.get::<_, i64>("hand_number") == number {
                    feed.push(FeedItem {
                        kind: get(event, "kind")?,
                        payload: get(event, "payload")?,
                    });
                }
            }
            let hand = StoredHand {
                number,
                button: get(row, "button")?,
                small_blind: get(row, "small_blind")?,
                big_blind: get(row, "big_blind")?,
                started_at: get(row, "started_at")?,
                seats: get(row, "seats")?,
                shown: get(row, "shown")?,
            };
            each(&history(table_id, &names, view, &hand, &feed)?)?;
            count += 1;
        }
        from = last_number + 1;
    }
    Ok(count)
}

/// A hand row, as both views read it.
struct StoredHand {
    number: i64,
    button: i16,
    small_blind: i64,
    big_blind: i64,
    started_at: DateTime<Utc>,
    /// Per seat (JSON text): `seat`, `start_stack`, `end_stack`, and in the full view
    /// `hole` and `rank` (set when the seat showed down).
    seats: String,
    /// Public view (JSON text): `[{"seat", "cards"}]` of the seats that showed down.
    shown: Option<String>,
}

struct FeedItem {
    kind: String,
    payload: String,
}

#[derive(Deserialize)]
struct SeatRow {
    seat: usize,
    start_stack: i64,
    end_stack: i64,
    #[serde(default)]
    hole: Vec<String>,
    #[serde(default)]
    rank: Option<String>,
}

#[derive(Deserialize)]
struct ShownRow {
    seat: usize,
    cards: Vec<String>,
}

#[derive(Deserialize)]
struct ActionPayload {
    seat: usize,
    action: String,
    total: i64,
}

#[derive(Deserialize)]
struct StreetPayload {
    board: Vec<String>,
}

fn corrupt(hand: i64, what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("hand {hand}: {what}"))
}

fn parse<'a, T: Deserialize<'a>>(hand: i64, text: &'a str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| corrupt(hand, e))
}

fn two_cards(hand: i64, cards: &[String]) -> Result<[Card; 2], StoreError> {
    match cards {
        [a, b] => Ok([card(hand, a)?, card(hand, b)?]),
        _ => Err(corrupt(hand, format!("hole cards {cards:?}"))),
    }
}

fn card(hand: i64, text: &str) -> Result<Card, StoreError> {
    Card::parse(text).ok_or_else(|| corrupt(hand, format!("card {text:?}")))
}

fn seat_names(seats: &Value) -> Vec<(usize, String)> {
    seats
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| {
            let seat = s["seat"].as_u64()? as usize;
            Some((seat, s["name"].as_str().unwrap_or_default().to_owned()))
        })
        .collect()
}

/// One stored hand and its feed events as a hand history (pure).
fn history(
    table: &str,
    names: &[(usize, String)],
    view: View,
    hand: &StoredHand,
    feed: &[FeedItem],
) -> Result<HandHistory, StoreError> {
    let number = hand.number;
    let seats: Vec<SeatRow> = parse(number, &hand.seats)?;
    let shown: Vec<ShownRow> = match &hand.shown {
        Some(text) => parse(number, text)?,
        None => Vec::new(),
    };
    let mut players = Vec::with_capacity(seats.len());
    for s in &seats {
        let hole = match view {
            View::Public => match shown.iter().find(|x| x.seat == s.seat) {
                Some(x) => Hole::Shown(two_cards(number, &x.cards)?),
                None => Hole::Hidden,
            },
            View::Full if s.rank.is_some() => Hole::Shown(two_cards(number, &s.hole)?),
            View::Full => Hole::Dealt(two_cards(number, &s.hole)?),
        };
        players.push(Player {
            seat: s.seat,
            name: names
                .iter()
                .find(|(seat, _)| *seat == s.seat)
                .map(|(_, name)| name.clone())
                .unwrap_or_default(),
            starting_stack: s.start_stack,
            finishing_stack: s.end_stack,
            hole,
        });
    }
    let mut steps = Vec::with_capacity(feed.len());
    let mut board_len = 0;
    for item in feed {
        match item.kind.as_str() {
            "action" => {
                let a: ActionPayload = parse(number, &item.payload)?;
                steps.push(match a.action.as_str() {
                    "fold" => Step::Fold { seat: a.seat },
                    "check" | "call" => Step::CheckOrCall { seat: a.seat },
                    "bet" | "raise" => Step::BetOrRaiseTo {
                        seat: a.seat,
                        to: a.total,
                    },
                    other => return Err(corrupt(number, format!("action {other:?}"))),
                });
            }
            "street_dealt" => {
                let s: StreetPayload = parse(number, &item.payload)?;
                let added = s.board.get(board_len..).unwrap_or_default();
                let cards = added
                    .iter()
                    .map(|c| card(number, c))
                    .collect::<Result<Vec<_>, _>>()?;
                board_len = s.board.len();
                steps.push(Step::Board(cards));
            }
            _ => {}
        }
    }
    let at = hand.started_at;
    Ok(HandHistory {
        table: table.to_owned(),
        hand: number,
        started_at: Some(StartTime {
            year: at.year(),
            month: at.month(),
            day: at.day(),
            hour: at.hour(),
            minute: at.minute(),
            second: at.second(),
        }),
        small_blind: hand.small_blind,
        big_blind: hand.big_blind,
        seat_count: names.len(),
        button: usize::try_from(hand.button).map_err(|_| corrupt(number, "button"))?,
        players,
        steps,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(seats: &str, shown: Option<&str>) -> StoredHand {
        StoredHand {
            number: 3,
            button: 1,
            small_blind: 5,
            big_blind: 10,
            started_at: "2026-03-09T14:05:07.250Z".parse().unwrap(),
            seats: seats.into(),
            shown: shown.map(Into::into),
        }
    }

    fn feed() -> Vec<FeedItem> {
        [
            (
                "action",
                r#"{"seat":1,"action":"raise","amount":25,"total":30}"#,
            ),
            (
                "action",
                r#"{"seat":0,"action":"call","amount":20,"total":30}"#,
            ),
            (
                "street_dealt",
                r#"{"street":"flop","board":["2c","7d","Kd"]}"#,
            ),
            (
                "action",
                r#"{"seat":0,"action":"check","amount":0,"total":0}"#,
            ),
            (
                "action",
                r#"{"seat":1,"action":"bet","amount":40,"total":40}"#,
            ),
            (
                "action",
                r#"{"seat":0,"action":"fold","amount":0,"total":0}"#,
            ),
        ]
        .into_iter()
        .map(|(kind, payload)| FeedItem {
            kind: kind.into(),
            payload: payload.into(),
        })
        .collect()
    }

    fn names() -> Vec<(usize, String)> {
        vec![(0, "sim-tight-0".into()), (1, "sim-random-1".into())]
    }

    #[test]
    fn a_stored_hand_becomes_its_history_with_only_the_cards_its_view_may_show() {
        let seats = r#"[{"seat":0,"hole":["As","Ah"],"start_stack":100,"end_stack":70,"net":-30,"rank":null},
                        {"seat":1,"hole":["7c","2d"],"start_stack":100,"end_stack":130,"net":30,"rank":null}]"#;
        let full = history("tbl_1", &names(), View::Full, &stored(seats, None), &feed()).unwrap();
        assert_eq!(
            full.players[0].hole,
            Hole::Dealt([card(3, "As").unwrap(), card(3, "Ah").unwrap()])
        );
        assert_eq!(
            full.steps,
            [
                Step::BetOrRaiseTo { seat: 1, to: 30 },
                Step::CheckOrCall { seat: 0 },
                Step::Board(vec![
                    card(3, "2c").unwrap(),
                    card(3, "7d").unwrap(),
                    card(3, "Kd").unwrap()
                ]),
                Step::CheckOrCall { seat: 0 },
                Step::BetOrRaiseTo { seat: 1, to: 40 },
                Step::Fold { seat: 0 },
            ]
        );
        assert_eq!(full.players[1].name, "sim-random-1");
        assert_eq!(
            (
                full.button,
                full.seat_count,
                full.started_at.unwrap().second
            ),
            (1, 2, 7)
        );

        // The public view reads the seats without cards, and the shown cards apart.
        let seats = r#"[{"seat":0,"start_stack":100,"end_stack":70,"net":-30},
                        {"seat":1,"start_stack":100,"end_stack":130,"net":30}]"#;
        let public = history(
            "tbl_1",
            &names(),
            View::Public,
            &stored(
                seats,
                Some(r#"[{"seat":1,"cards":["7c","2d"],"rank":"high card"}]"#),
            ),
            &feed(),
        )
        .unwrap();
        assert_eq!(public.players[0].hole, Hole::Hidden);
        assert_eq!(
            public.players[1].hole,
            Hole::Shown([card(3, "7c").unwrap(), card(3, "2d").unwrap()])
        );
    }

    #[test]
    fn a_hand_that_does_not_parse_is_reported_as_corrupt_not_written_wrong() {
        let seats = r#"[{"seat":0,"hole":["As"],"start_stack":100,"end_stack":70}]"#;
        let error = history("tbl_1", &names(), View::Full, &stored(seats, None), &[]);
        assert!(matches!(error, Err(StoreError::Corrupt(m)) if m.contains("hand 3")));
    }
}
