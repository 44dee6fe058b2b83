//! The autonomous agent's tools. Every tool reads only this table's turn and memory; none
//! reaches the network or the file system (the seed system's `http_request` and
//! `fetch_document` tools were a server-side request forgery hole and are not rebuilt).

use super::answer::answer_schema;
use super::{RULES, game_state};
use crate::engine::MAX_SEATS;
use crate::memory::RECENT_HANDS;
use crate::turn::Turn;
use serde_json::{Value, json};

/// The tool that ends a decision: its input is an answer.
pub const ACT_TOOL: &str = "act";

/// A tool as offered to a model: a name, what it does, its parameters as JSON Schema.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: &'static str,
    pub description: &'static str,
    pub parameters: Value,
}

fn no_parameters() -> Value {
    json!({"type": "object", "properties": {}, "required": [], "additionalProperties": false})
}

/// The tools on this turn; `act`'s schema lists only the legal actions.
pub fn tool_specs(turn: &Turn<'_>) -> Vec<ToolSpec> {
    vec![
        ToolSpec {
            name: "rules",
            description: "The rules of the game and the meaning of every game state field.",
            parameters: no_parameters(),
        },
        ToolSpec {
            name: "game_state",
            description: "The current hand as you may see it: your cards, the board, stacks, \
                          bets, this hand's actions and your legal actions.",
            parameters: no_parameters(),
        },
        ToolSpec {
            name: "recent_hands",
            description: "Summaries of this table's most recent finished hands, newest first: \
                          actions, board, cards shown at showdown, pots and winners.",
            parameters: json!({
                "type": "object",
                "properties": {"count": {"type": "integer", "minimum": 1, "maximum": RECENT_HANDS}},
                "required": ["count"],
                "additionalProperties": false,
            }),
        },
        ToolSpec {
            name: "opponent_stats",
            description: "One opponent's statistics at this table: hands seen, VPIP %, PFR %, \
                          aggression, showdown % and won %.",
            parameters: json!({
                "type": "object",
                "properties": {"seat": {"type": "integer", "minimum": 0, "maximum": 8}},
                "required": ["seat"],
                "additionalProperties": false,
            }),
        },
        ToolSpec {
            name: "pot_odds",
            description: "The price of calling: pot, amount to call, pot odds, the equity a \
                          call needs, effective stack and stack-to-pot ratio.",
            parameters: no_parameters(),
        },
        ToolSpec {
            name: ACT_TOOL,
            description: "Take your action. This ends your turn.",
            parameters: answer_schema(&turn.decision),
        },
    ]
}

/// Runs a read-only tool. `Err` is a message for the model (unknown tool, bad arguments).
pub fn run_tool(name: &str, arguments: &Value, turn: &Turn<'_>) -> Result<Value, String> {
    match name {
        "rules" => Ok(json!(RULES)),
        "game_state" => Ok(game_state(turn)),
        "recent_hands" => {
            let count = arguments["count"]
                .as_u64()
                .unwrap_or(3)
                .clamp(1, RECENT_HANDS as u64);
            let hands: Vec<&Value> = turn.memory.recent(count as usize).collect();
            Ok(json!({"hands": hands}))
        }
        "opponent_stats" => {
            let seat = arguments["seat"]
                .as_u64()
                .ok_or("`seat` must be a seat number")? as usize;
            if seat >= MAX_SEATS || seat == turn.decision.seat || !turn.hand.is_dealt(seat) {
                return Err(format!("seat {seat} is not an opponent in this hand"));
            }
            turn.memory
                .stats(seat)
                .map(|stats| stats.summary(seat))
                .ok_or_else(|| format!("no seat {seat}"))
        }
        "pot_odds" => {
            let d = &turn.decision;
            let to_call = d.legal.to_call;
            let pot_odds = to_call as f64 / (d.pot + to_call).max(1) as f64;
            let state = game_state(turn);
            let effective = state["effective_stack"].as_i64().unwrap_or(d.stack);
            Ok(json!({
                "pot": d.pot, "to_call": to_call,
                "pot_odds": (pot_odds * 1000.0).round() / 1000.0,
                "equity_needed_pct": (pot_odds * 100.0).round(),
                "effective_stack": effective,
                "stack_to_pot": ((effective as f64 / d.pot.max(1) as f64) * 10.0).round() / 10.0,
            }))
        }
        ACT_TOOL => Err("`act` is answered by taking the action, not run as a tool".into()),
        other => Err(format!(
            "there is no tool {other:?}; the tools are rules, game_state, recent_hands, \
             opponent_stats, pot_odds and act"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memory::TableMemory;
    use crate::testing::{decision_hand, turn_for};

    #[test]
    fn tools_read_this_table_only_and_explain_bad_calls() {
        let hand = decision_hand(&[1000, 1000, 1000]);
        let memory = TableMemory::default();
        let names: Vec<String> = (0..3).map(|s| format!("p{s}")).collect();
        let turn = turn_for(&hand, &names, &memory);
        let specs = tool_specs(&turn);
        let tool_names: Vec<&str> = specs.iter().map(|t| t.name).collect();
        assert_eq!(
            tool_names,
            [
                "rules",
                "game_state",
                "recent_hands",
                "opponent_stats",
                "pot_odds",
                "act"
            ]
        );
        assert!(
            !tool_names
                .iter()
                .any(|n| n.contains("http") || n.contains("fetch"))
        );
        assert_eq!(
            run_tool("game_state", &json!({}), &turn).unwrap()["you"]["seat"],
            0
        );
        let odds = run_tool("pot_odds", &json!({}), &turn).unwrap();
        assert_eq!(odds["to_call"], 10);
        assert_eq!(odds["equity_needed_pct"], 40.0, "10 / (15 + 10)");
        assert_eq!(
            run_tool("opponent_stats", &json!({"seat": 2}), &turn).unwrap()["hands_seen"],
            0
        );
        assert!(
            run_tool("opponent_stats", &json!({"seat": 0}), &turn).is_err(),
            "itself"
        );
        assert!(
            run_tool("opponent_stats", &json!({"seat": 7}), &turn).is_err(),
            "empty seat"
        );
        assert!(run_tool("opponent_stats", &json!({"seat": 99}), &turn).is_err());
        assert!(
            run_tool(
                "http_request",
                &json!({"url": "http://169.254.169.254/"}),
                &turn
            )
            .unwrap_err()
            .contains("no tool")
        );
        assert_eq!(
            run_tool("recent_hands", &json!({"count": 5}), &turn).unwrap()["hands"],
            json!([])
        );
    }
}
