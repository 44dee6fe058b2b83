//! What an agent sends: `{type:"action", action:{turn_token, kind, amount?}, expected_seq?}`
//! and `{type:"ping", payload:{timestamp}}` (the same in both framings).

use crate::errors::ErrorCode;
use poker::Action;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    Fold,
    Check,
    Call,
    /// The seat's total bet on the street after the action (`amount`).
    RaiseTo,
}

impl ActionKind {
    pub const ALL: [ActionKind; 4] = [
        ActionKind::Fold,
        ActionKind::Check,
        ActionKind::Call,
        ActionKind::RaiseTo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ActionKind::Fold => "fold",
            ActionKind::Check => "check",
            ActionKind::Call => "call",
            ActionKind::RaiseTo => "raiseTo",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// One action, as the agent sent it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientAction {
    pub turn_token: String,
    pub kind: ActionKind,
    /// Only meaningful for `raiseTo` (ignored otherwise, as the reference platform does).
    pub amount: Option<i64>,
}

impl ClientAction {
    /// The engine's action; `raiseTo` needs an amount.
    pub fn to_engine(&self) -> Result<Action, String> {
        Ok(match self.kind {
            ActionKind::Fold => Action::Fold,
            ActionKind::Check => Action::Check,
            ActionKind::Call => Action::Call,
            ActionKind::RaiseTo => Action::RaiseTo(
                self.amount
                    .ok_or("raiseTo needs an amount: your total bet on this street")?,
            ),
        })
    }

    /// The action for an engine action (the client side).
    pub fn from_engine(turn_token: &str, action: Action) -> Self {
        let (kind, amount) = match action {
            Action::Fold => (ActionKind::Fold, None),
            Action::Check => (ActionKind::Check, None),
            Action::Call => (ActionKind::Call, None),
            Action::RaiseTo(to) => (ActionKind::RaiseTo, Some(to)),
        };
        Self {
            turn_token: turn_token.to_owned(),
            kind,
            amount,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientMessage {
    Action {
        action: ClientAction,
        expected_seq: Option<i64>,
    },
    Ping {
        timestamp: Option<i64>,
    },
}

/// Why a frame was refused: the code and message of the `error` answered to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameError {
    pub code: ErrorCode,
    pub message: String,
}

fn invalid(message: impl Into<String>) -> FrameError {
    FrameError {
        code: ErrorCode::ValidationError,
        message: message.into(),
    }
}

/// Turn tokens the server issues are short; anything longer is not one of them.
const MAX_TURN_TOKEN_CHARS: usize = 128;

impl ClientMessage {
    /// Parses one text frame. Unknown fields are ignored (clients may add their own);
    /// unknown types, missing or mistyped fields are `VALIDATION_ERROR`s that say which.
    pub fn parse(text: &str) -> Result<Self, FrameError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|e| invalid(format!("the frame is not JSON: {e}")))?;
        let object = value
            .as_object()
            .ok_or_else(|| invalid("the frame must be a JSON object with a type"))?;
        let kind = object
            .get("type")
            .and_then(Value::as_str)
            .ok_or_else(|| invalid("the frame needs a string field type: action or ping"))?;
        match kind {
            "ping" => {
                let timestamp = match object.get("payload").and_then(|p| p.get("timestamp")) {
                    None | Some(Value::Null) => None,
                    Some(t) => Some(
                        t.as_i64()
                            .ok_or_else(|| invalid("payload.timestamp must be an integer"))?,
                    ),
                };
                Ok(ClientMessage::Ping { timestamp })
            }
            "action" => {
                let action = object
                    .get("action")
                    .and_then(Value::as_object)
                    .ok_or_else(|| invalid("an action frame needs an object field action"))?;
                let turn_token = action
                    .get("turn_token")
                    .and_then(Value::as_str)
                    .filter(|t| !t.is_empty() && t.chars().count() <= MAX_TURN_TOKEN_CHARS)
                    .ok_or_else(|| {
                        invalid("action.turn_token must be the turn_token of your game_state")
                    })?;
                let kind_text = action
                    .get("kind")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("action.kind must be fold, check, call or raiseTo"))?;
                let kind = ActionKind::parse(kind_text).ok_or_else(|| {
                    invalid(format!(
                        "action.kind must be fold, check, call or raiseTo (got {kind_text:?})"
                    ))
                })?;
                let amount = match action.get("amount") {
                    None | Some(Value::Null) => None,
                    Some(a) => Some(
                        a.as_i64()
                            .filter(|a| *a > 0)
                            .ok_or_else(|| invalid("action.amount must be a positive integer"))?,
                    ),
                };
                let expected_seq = match object.get("expected_seq") {
                    None | Some(Value::Null) => None,
                    Some(s) => Some(
                        s.as_i64()
                            .ok_or_else(|| invalid("expected_seq must be an integer"))?,
                    ),
                };
                Ok(ClientMessage::Action {
                    action: ClientAction {
                        turn_token: turn_token.to_owned(),
                        kind,
                        amount,
                    },
                    expected_seq,
                })
            }
            other => Err(invalid(format!(
                "unknown message type {other:?}; agents send action or ping"
            ))),
        }
    }

    /// The frame as an agent sends it.
    pub fn to_json(&self) -> String {
        match self {
            ClientMessage::Action {
                action,
                expected_seq,
            } => {
                let mut body =
                    json!({"turn_token": action.turn_token, "kind": action.kind.as_str()});
                if let Some(amount) = action.amount {
                    body["amount"] = json!(amount);
                }
                let mut frame = json!({"type": "action", "action": body});
                if let Some(seq) = expected_seq {
                    frame["expected_seq"] = json!(seq);
                }
                frame.to_string()
            }
            ClientMessage::Ping { timestamp } => {
                json!({"type": "ping", "payload": {"timestamp": timestamp}}).to_string()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_pings_round_trip() {
        for message in [
            ClientMessage::Action {
                action: ClientAction::from_engine("t1", Action::RaiseTo(40)),
                expected_seq: Some(7),
            },
            ClientMessage::Action {
                action: ClientAction::from_engine("t2", Action::Check),
                expected_seq: None,
            },
            ClientMessage::Ping {
                timestamp: Some(1_700_000_000_000),
            },
        ] {
            assert_eq!(ClientMessage::parse(&message.to_json()), Ok(message));
        }
    }

    #[test]
    fn bad_frames_say_what_is_wrong() {
        for (frame, says) in [
            ("not json", "not JSON"),
            ("[1]", "JSON object"),
            ("{}", "type"),
            (r#"{"type":"hello"}"#, "unknown message type \"hello\""),
            (r#"{"type":"action"}"#, "field action"),
            (
                r#"{"type":"action","action":{"kind":"call"}}"#,
                "turn_token",
            ),
            (
                r#"{"type":"action","action":{"turn_token":"t","kind":"bet"}}"#,
                "got \"bet\"",
            ),
            (
                r#"{"type":"action","action":{"turn_token":"t","kind":"raiseTo","amount":-5}}"#,
                "positive integer",
            ),
            (
                r#"{"type":"action","action":{"turn_token":"t","kind":"call"},"expected_seq":"3"}"#,
                "expected_seq",
            ),
        ] {
            let error = ClientMessage::parse(frame).unwrap_err();
            assert_eq!(error.code, ErrorCode::ValidationError, "{frame}");
            assert!(error.message.contains(says), "{frame}: {}", error.message);
        }
    }

    #[test]
    fn raise_to_needs_an_amount_and_other_kinds_ignore_one() {
        let raise = ClientAction {
            turn_token: "t".into(),
            kind: ActionKind::RaiseTo,
            amount: None,
        };
        assert!(raise.to_engine().unwrap_err().contains("amount"));
        let call = ClientAction {
            turn_token: "t".into(),
            kind: ActionKind::Call,
            amount: Some(20),
        };
        assert_eq!(call.to_engine(), Ok(Action::Call));
    }
}
