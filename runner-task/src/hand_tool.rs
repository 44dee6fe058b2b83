//! `runner-task hand`: plays one hand given as JSON and prints the outcome as JSON. The
//! format is in the README ("Checking a hand").

use serde::Deserialize;
use serde_json::{Value, json};
use simrunner::poker::engine::{Action, Event, HandSetup, MAX_SEATS};
use simrunner::poker::{Card, Hand};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeatInput {
    pub stack: i64,
    pub hole: [String; 2],
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Blinds {
    pub small: i64,
    pub big: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionInput {
    pub seat: usize,
    /// `fold`, `check`, `call`, `bet` or `raise` (with `to`).
    pub action: String,
    pub to: Option<i64>,
}

/// One hand: seats by position (`null` for an empty seat), the button, blinds, the board
/// (up to five cards; the streets the actions reach must be there) and the actions in order.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandInput {
    pub seats: Vec<Option<SeatInput>>,
    pub button: usize,
    pub blinds: Blinds,
    #[serde(default)]
    pub board: Vec<String>,
    #[serde(default)]
    pub actions: Vec<ActionInput>,
}

/// A rejected hand: a code and a message naming the problem.
#[derive(Debug, PartialEq, Eq)]
pub struct ToolError {
    pub code: &'static str,
    pub message: String,
}

impl ToolError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    pub fn to_json(&self) -> Value {
        json!({"error": {"code": self.code, "message": self.message}})
    }
}

fn card(text: &str, what: &str) -> Result<Card, ToolError> {
    Card::parse(text).ok_or_else(|| {
        ToolError::new(
            "invalid_card",
            format!("{what}: {text:?} is not a card like \"As\" or \"Td\""),
        )
    })
}

fn seats_of(set: u16) -> Vec<usize> {
    (0..MAX_SEATS).filter(|s| set & (1 << s) != 0).collect()
}

/// Plays the hand and describes the outcome.
pub fn run(input: &str) -> Result<Value, ToolError> {
    let hand: HandInput =
        serde_json::from_str(input).map_err(|e| ToolError::new("invalid_input", e.to_string()))?;
    if hand.seats.len() < 2 || hand.seats.len() > MAX_SEATS {
        return Err(ToolError::new(
            "invalid_input",
            "seats: give 2 to 9 seats (null for an empty one)",
        ));
    }
    if hand.board.len() > 5 {
        return Err(ToolError::new("invalid_input", "board: at most five cards"));
    }
    let mut stacks = [0; MAX_SEATS];
    let mut holes = [[Card::new(0, 0); 2]; MAX_SEATS];
    let mut used = 0u64;
    for (seat, input) in hand.seats.iter().enumerate() {
        if let Some(s) = input {
            if s.stack < 1 {
                return Err(ToolError::new(
                    "invalid_input",
                    format!("seats[{seat}].stack must be at least 1"),
                ));
            }
            stacks[seat] = s.stack;
            holes[seat] = [
                card(&s.hole[0], &format!("seats[{seat}].hole"))?,
                card(&s.hole[1], &format!("seats[{seat}].hole"))?,
            ];
            used |= (1 << holes[seat][0].index()) | (1 << holes[seat][1].index());
        }
    }
    let given: Vec<Card> = hand
        .board
        .iter()
        .map(|c| card(c, "board"))
        .collect::<Result<_, _>>()?;
    for c in &given {
        used |= 1 << c.index();
    }
    // Unknown board cards are filled from unused ones; reaching them is an error below.
    let mut filler = Card::deck()
        .into_iter()
        .filter(|c| used & (1 << c.index()) == 0);
    let mut board = [Card::new(0, 0); 5];
    for (i, slot) in board.iter_mut().enumerate() {
        *slot = match given.get(i) {
            Some(c) => *c,
            None => filler.next().expect("52 cards are enough"),
        };
    }
    if hand.button >= hand.seats.len() {
        return Err(ToolError::new(
            "invalid_input",
            "button must be one of the seats",
        ));
    }
    let mut game = Hand::start(&HandSetup {
        stacks,
        button: hand.button,
        small_blind: hand.blinds.small,
        big_blind: hand.blinds.big,
        holes,
        board,
    })
    .map_err(|e| ToolError::new("invalid_hand", e.to_string()))?;

    for (i, a) in hand.actions.iter().enumerate() {
        let to_act = game.to_act().ok_or_else(|| {
            ToolError::new(
                "illegal_action",
                format!("actions[{i}]: the hand is already over"),
            )
        })?;
        if a.seat != to_act {
            return Err(ToolError::new(
                "illegal_action",
                format!(
                    "actions[{i}]: it is seat {to_act}'s turn, not seat {}'s",
                    a.seat
                ),
            ));
        }
        let action = match (a.action.as_str(), a.to) {
            ("fold", None) => Action::Fold,
            ("check", None) => Action::Check,
            ("call", None) => Action::Call,
            ("bet" | "raise", Some(to)) => Action::RaiseTo(to),
            ("bet" | "raise", None) => {
                return Err(ToolError::new(
                    "invalid_input",
                    format!("actions[{i}]: {} needs \"to\"", a.action),
                ));
            }
            (other, _) => {
                return Err(ToolError::new(
                    "invalid_input",
                    format!(
                        "actions[{i}]: {other:?} is not fold, check, call, bet or raise (\"to\" only with bet and raise)"
                    ),
                ));
            }
        };
        game.apply(action)
            .map_err(|e| ToolError::new("illegal_action", format!("actions[{i}]: {e}")))?;
    }
    if game.board().len() > given.len() {
        return Err(ToolError::new(
            "board_incomplete",
            format!(
                "the hand reaches the {} but the board has {} cards; give at least {}",
                game.street().name(),
                given.len(),
                game.board().len()
            ),
        ));
    }
    let mut ranks: [Option<String>; MAX_SEATS] = Default::default();
    let mut pots = Vec::new();
    for event in game.events() {
        match *event {
            Event::ShowedDown { seat, rank, .. } => ranks[seat] = Some(rank.to_string()),
            Event::PotAwarded {
                amount,
                eligible,
                winners,
                ..
            } => pots.push(json!({
                "amount": amount, "eligible": seats_of(eligible), "winners": seats_of(winners),
            })),
            _ => {}
        }
    }
    let seats: Vec<Value> = (0..hand.seats.len())
        .filter(|&s| stacks[s] > 0)
        .map(|s| {
            json!({
                "seat": s, "start_stack": stacks[s], "final_stack": game.stack(s),
                "net": game.stack(s) - stacks[s], "won": game.won(s), "rank": ranks[s],
            })
        })
        .collect();
    let mut out = json!({
        "complete": game.is_finished(),
        "street": game.street().name(),
        "board": game.board().iter().map(Card::to_string).collect::<Vec<_>>(),
        "pots": pots,
        "seats": seats,
    });
    if let (Some(seat), Some(legal)) = (game.to_act(), game.legal()) {
        out["to_act"] = json!({
            "seat": seat, "to_call": legal.to_call,
            "raise": legal.raise.map(|(min, max)| json!({"min_to": min, "max_to": max})),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_three_way_all_in_reports_side_pots_winners_and_ranks() {
        let out = run(r#"{
            "seats": [{"stack": 50, "hole": ["As","Ah"]}, {"stack": 150, "hole": ["Ks","Kh"]},
                      {"stack": 400, "hole": ["7c","2d"]}],
            "button": 2, "blinds": {"small": 5, "big": 10},
            "board": ["3c","8d","9h","Js","4s"],
            "actions": [{"seat": 2, "action": "raise", "to": 400},
                        {"seat": 0, "action": "call"}, {"seat": 1, "action": "call"}]
        }"#)
        .unwrap();
        assert_eq!(out["complete"], true);
        assert_eq!(
            out["pots"],
            json!([
                {"amount": 150, "eligible": [0, 1, 2], "winners": [0]},
                {"amount": 200, "eligible": [1, 2], "winners": [1]},
            ])
        );
        assert_eq!(out["seats"][2]["final_stack"], 250);
        assert_eq!(out["seats"][0]["rank"], "pair (AJ98)");
    }

    #[test]
    fn illegal_or_malformed_input_is_named() {
        let base = |actions: &str, board: &str| {
            format!(
                r#"{{"seats": [{{"stack": 100, "hole": ["As","Ah"]}}, {{"stack": 100, "hole": ["Ks","Kh"]}}],
                "button": 0, "blinds": {{"small": 1, "big": 2}}, "board": {board}, "actions": {actions}}}"#
            )
        };
        let code = |input: String| run(&input).unwrap_err().code;
        assert_eq!(
            code(base(r#"[{"seat": 0, "action": "check"}]"#, "[]")),
            "illegal_action"
        );
        assert_eq!(
            code(base(r#"[{"seat": 1, "action": "call"}]"#, "[]")),
            "illegal_action"
        );
        assert_eq!(
            code(base(r#"[{"seat": 0, "action": "raise"}]"#, "[]")),
            "invalid_input"
        );
        assert_eq!(
            code(base(
                r#"[{"seat": 0, "action": "call"}, {"seat": 1, "action": "check"}]"#,
                r#"["2c"]"#
            )),
            "board_incomplete"
        );
        assert_eq!(code(base("[]", r#"["As"]"#)), "invalid_hand");
        assert_eq!(code(base("[]", r#"["Zz"]"#)), "invalid_card");
        let partial = run(&base(r#"[{"seat": 0, "action": "call"}]"#, "[]")).unwrap();
        assert_eq!(partial["complete"], false);
        assert_eq!(partial["to_act"]["seat"], 1);
    }
}
