//! An LLM's answer: the schema it is forced into (only the legal action names), reading it,
//! and turning it into an engine action. Providers enforce the schema natively, but every
//! answer is validated here even so; an out-of-range amount is clamped and reported as a
//! repair, anything else unusable is a problem the caller turns into the fallback.

use crate::agents::Decision;
use crate::engine::{Action, Legal};
use serde_json::{Value, json};

/// The action names the seat may answer with, in a fixed order. A raise is called `bet`
/// when nobody has chips in front on this street yet.
pub fn legal_names(decision: &Decision<'_>) -> Vec<&'static str> {
    let legal = &decision.legal;
    let mut names = Vec::with_capacity(3);
    if legal.to_call > 0 {
        names.extend(["fold", "call"]);
    } else {
        names.push("check");
    }
    if legal.raise.is_some() {
        names.push(raise_name(decision));
    }
    names
}

fn raise_name(decision: &Decision<'_>) -> &'static str {
    if decision.in_front + decision.legal.to_call > 0 {
        "raise"
    } else {
        "bet"
    }
}

/// The legal actions as the game state lists them, with amounts.
pub(super) fn legal_json(decision: &Decision<'_>) -> Value {
    let legal = &decision.legal;
    let mut actions = Vec::with_capacity(3);
    if legal.to_call > 0 {
        actions.push(json!({"action": "fold"}));
        actions.push(json!({"action": "call", "amount": legal.to_call}));
    } else {
        actions.push(json!({"action": "check"}));
    }
    if let Some((min, max)) = legal.raise {
        actions.push(json!({"action": raise_name(decision), "min_to": min, "max_to": max}));
    }
    Value::Array(actions)
}

/// The JSON Schema of an answer on this turn: `action` lists only the legal names.
/// Strict-mode friendly: every property required, nothing else allowed.
pub fn answer_schema(decision: &Decision<'_>) -> Value {
    let amount = match decision.legal.raise {
        Some((min, max)) => format!(
            "for {}: the total of your chips in front after it, {min} to {max}; otherwise null",
            raise_name(decision)
        ),
        None => "null (no bet or raise is possible)".to_owned(),
    };
    json!({
        "type": "object",
        "properties": {
            "reasoning": {"type": "string", "description": "one or two short sentences"},
            "action": {"type": "string", "enum": legal_names(decision)},
            "amount": {"type": ["integer", "null"], "description": amount},
        },
        "required": ["reasoning", "action", "amount"],
        "additionalProperties": false,
    })
}

/// An answer as the model gave it.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    pub reasoning: String,
    pub action: String,
    pub amount: Option<i64>,
}

/// Why an answer cannot be played.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerProblem {
    /// Not the JSON object asked for.
    Malformed(String),
    /// A well-formed answer the seat may not play.
    Illegal(String),
}

impl AnswerProblem {
    pub fn message(&self) -> &str {
        match self {
            AnswerProblem::Malformed(m) | AnswerProblem::Illegal(m) => m,
        }
    }
}

/// Reads an answer from a JSON value (a tool call's input) or from text that holds one
/// (a structured-output message; code fences and prose around the object are tolerated).
pub fn parse_answer(value: &Value) -> Result<Answer, AnswerProblem> {
    let owned;
    let value = match value {
        Value::String(text) => {
            owned = json_in_text(text)?;
            &owned
        }
        other => other,
    };
    let Value::Object(fields) = value else {
        return Err(AnswerProblem::Malformed(
            "the answer is not a JSON object".into(),
        ));
    };
    let action = match fields.get("action") {
        Some(Value::String(action)) => action.trim().to_ascii_lowercase(),
        _ => {
            return Err(AnswerProblem::Malformed(
                "`action` is missing or not a string".into(),
            ));
        }
    };
    let amount =
        match fields.get("amount") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => match n.as_i64() {
                Some(n) => Some(n),
                // 120.0 is an integer in JSON terms; 120.5 is not a chip count.
                None => match n.as_f64() {
                    Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => Some(f as i64),
                    _ => {
                        return Err(AnswerProblem::Malformed(format!(
                            "`amount` {n} is not a whole number of chips"
                        )));
                    }
                },
            },
            Some(Value::String(s)) => Some(s.trim().parse().map_err(|_| {
                AnswerProblem::Malformed(format!("`amount` {s:?} is not a number"))
            })?),
            Some(other) => {
                return Err(AnswerProblem::Malformed(format!(
                    "`amount` must be an integer or null, got {other}"
                )));
            }
        };
    let reasoning = match fields.get("reasoning") {
        Some(Value::String(r)) => r.clone(),
        _ => String::new(),
    };
    Ok(Answer {
        reasoning,
        action,
        amount,
    })
}

fn json_in_text(text: &str) -> Result<Value, AnswerProblem> {
    let start = text.find('{');
    let end = text.rfind('}');
    match (start, end) {
        (Some(start), Some(end)) if start < end => serde_json::from_str(&text[start..=end])
            .map_err(|e| AnswerProblem::Malformed(format!("the answer is not valid JSON: {e}"))),
        _ => Err(AnswerProblem::Malformed(
            "the answer holds no JSON object".into(),
        )),
    }
}

/// An answer turned into an engine action, with what was changed to make it legal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub action: Action,
    /// Set when the answer needed a repair (an amount clamped to the legal range, a call
    /// with nothing to call played as a check…).
    pub repair: Option<String>,
}

/// Turns an answer into a legal action, repairing what can be repaired.
pub fn resolve(answer: &Answer, legal: &Legal) -> Result<Resolved, AnswerProblem> {
    let done = |action| {
        Ok(Resolved {
            action,
            repair: None,
        })
    };
    let repaired = |action, why: String| {
        Ok(Resolved {
            action,
            repair: Some(why),
        })
    };
    match answer.action.as_str() {
        "fold" if legal.to_call > 0 => done(Action::Fold),
        "fold" => repaired(Action::Check, "fold with nothing to call: checked".into()),
        "check" if legal.to_call == 0 => done(Action::Check),
        "check" => Err(AnswerProblem::Illegal(format!(
            "cannot check: {} to call",
            legal.to_call
        ))),
        "call" if legal.to_call > 0 => done(Action::Call),
        "call" => repaired(Action::Check, "call with nothing to call: checked".into()),
        "bet" | "raise" | "all_in" | "allin" => {
            let Some((min, max)) = legal.raise else {
                return Err(AnswerProblem::Illegal(format!(
                    "cannot {}: no raise is possible now",
                    answer.action
                )));
            };
            let wanted = if answer.action.starts_with("all") {
                Some(max)
            } else {
                answer.amount
            };
            match wanted {
                Some(to) if (min..=max).contains(&to) => done(Action::RaiseTo(to)),
                Some(to) => {
                    let clamped = to.clamp(min, max);
                    repaired(
                        Action::RaiseTo(clamped),
                        format!(
                            "{} to {to} is outside {min}..={max}: {clamped}",
                            answer.action
                        ),
                    )
                }
                None => repaired(
                    Action::RaiseTo(min),
                    format!("{} without an amount: the minimum, {min}", answer.action),
                ),
            }
        }
        other => Err(AnswerProblem::Illegal(format!("unknown action {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::decision_hand;

    fn answer(action: &str, amount: Option<i64>) -> Answer {
        Answer {
            reasoning: String::new(),
            action: action.into(),
            amount,
        }
    }

    #[test]
    fn the_schema_offers_only_legal_actions() {
        let mut hand = decision_hand(&[1000, 1000, 1000]);
        let facing = Decision::of(&hand).unwrap();
        assert_eq!(legal_names(&facing), ["fold", "call", "raise"]);
        let schema = answer_schema(&facing);
        assert_eq!(
            schema["properties"]["action"]["enum"],
            json!(["fold", "call", "raise"])
        );
        assert_eq!(schema["required"], json!(["reasoning", "action", "amount"]));
        hand.apply(Action::Call).unwrap();
        hand.apply(Action::Call).unwrap();
        // The big blind's option: nothing to call, raising allowed.
        let option = Decision::of(&hand).unwrap();
        assert_eq!(legal_names(&option), ["check", "raise"]);
        hand.apply(Action::Check).unwrap();
        let flop = Decision::of(&hand).unwrap();
        assert_eq!(legal_names(&flop), ["check", "bet"]);
    }

    #[test]
    fn answers_are_read_from_tool_input_or_from_text() {
        let from_tool =
            parse_answer(&json!({"reasoning": "strong", "action": "Raise", "amount": 60}));
        assert_eq!(from_tool.unwrap().amount, Some(60));
        let fenced =
            "```json\n{\"reasoning\": \"ok\", \"action\": \"call\", \"amount\": null}\n```";
        assert_eq!(parse_answer(&json!(fenced)).unwrap().action, "call");
        assert_eq!(
            parse_answer(&json!({"action": "bet", "amount": 40.0}))
                .unwrap()
                .amount,
            Some(40)
        );
        for bad in [
            json!("I think I will call"),
            json!("{\"action\": "),
            json!([1]),
            json!({"amount": 3}),
            json!({"action": "bet", "amount": 2.5}),
        ] {
            assert!(
                matches!(parse_answer(&bad), Err(AnswerProblem::Malformed(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn out_of_range_amounts_are_clamped_and_reported() {
        let legal = Legal {
            to_call: 20,
            raise: Some((40, 500)),
        };
        assert_eq!(
            resolve(&answer("raise", Some(100)), &legal).unwrap().action,
            Action::RaiseTo(100)
        );
        let high = resolve(&answer("raise", Some(9_999)), &legal).unwrap();
        assert_eq!(high.action, Action::RaiseTo(500));
        assert!(high.repair.unwrap().contains("outside 40..=500"));
        assert_eq!(
            resolve(&answer("raise", Some(1)), &legal).unwrap().action,
            Action::RaiseTo(40)
        );
        assert_eq!(
            resolve(&answer("raise", None), &legal).unwrap().action,
            Action::RaiseTo(40)
        );
        assert_eq!(
            resolve(&answer("all_in", None), &legal).unwrap().action,
            Action::RaiseTo(500)
        );
    }

    #[test]
    fn illegal_answers_are_problems_and_harmless_slips_are_repaired() {
        let facing = Legal {
            to_call: 20,
            raise: None,
        };
        let free = Legal {
            to_call: 0,
            raise: Some((10, 100)),
        };
        assert!(matches!(
            resolve(&answer("check", None), &facing),
            Err(AnswerProblem::Illegal(_))
        ));
        assert!(matches!(
            resolve(&answer("raise", Some(50)), &facing),
            Err(AnswerProblem::Illegal(_))
        ));
        assert!(matches!(
            resolve(&answer("shove", None), &facing),
            Err(AnswerProblem::Illegal(_))
        ));
        let call = resolve(&answer("call", None), &free).unwrap();
        assert_eq!(call.action, Action::Check);
        assert!(call.repair.is_some());
        assert_eq!(
            resolve(&answer("fold", None), &free).unwrap().action,
            Action::Check
        );
    }
}
