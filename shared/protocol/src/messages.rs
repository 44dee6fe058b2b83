//! What the server sends. Payloads are typed as the SDK framing carries them (its fuller
//! shape); [`ServerMessage::encode`] writes either framing, and [`ServerMessage::decode`]
//! reads the SDK framing back (what simrunner's own client uses).
//!
//! - `Framing::Agent` (`…/v1/ws?token=…&format=agent`): one flat object per message, cards as
//!   `"As"`, `actions` with `min`/`max` (see [`GameState::to_agent_json`]).
//! - `Framing::Envelope` (no `format`): `{type, table_id?, seq?, ts, payload}`, cards as
//!   `{rank, suit}`.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// How a connection wants its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Agent,
    Envelope,
}

impl Framing {
    /// From the connection's `format` query parameter: `agent`, or anything else (absent
    /// included) for envelopes, as the reference platform does.
    pub fn from_query(format: Option<&str>) -> Self {
        match format {
            Some("agent") => Framing::Agent,
            _ => Framing::Envelope,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Framing::Agent => "agent",
            Framing::Envelope => "envelope",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "agent" => Some(Framing::Agent),
            "envelope" => Some(Framing::Envelope),
            _ => None,
        }
    }
}

/// A card as the SDK framing writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardObject {
    /// `2`–`9`, `T`, `J`, `Q`, `K`, `A`.
    pub rank: String,
    /// `s`, `h`, `d` or `c`.
    pub suit: String,
}

impl CardObject {
    pub fn of(card: poker::Card) -> Self {
        let text = card.to_string();
        let (rank, suit) = text.split_at(1);
        Self {
            rank: rank.to_owned(),
            suit: suit.to_owned(),
        }
    }

    /// Two characters, as `format=agent` writes cards.
    pub fn short(&self) -> String {
        format!("{}{}", self.rank, self.suit)
    }

    pub fn to_card(&self) -> Option<poker::Card> {
        poker::Card::parse(&self.short())
    }
}

fn short_cards(cards: &[CardObject]) -> Vec<String> {
    cards.iter().map(CardObject::short).collect()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Welcome {
    pub protocol_version: String,
    pub min_supported_protocol_version: String,
    pub skill_doc_url: String,
    pub seat_id: u8,
    pub agent_id: String,
    pub action_timeout_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PotView {
    pub amount: i64,
    pub eligible_seats: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlayerView {
    pub seat_id: u8,
    pub agent_id: String,
    pub agent_name: Option<String>,
    pub stack: i64,
    pub bet: i64,
    pub folded: bool,
    pub all_in: bool,
    pub is_active: bool,
    /// Only the receiving agent's own seat.
    pub hole_cards: Option<Vec<CardObject>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LastAction {
    pub seat_id: u8,
    /// `fold`, `check`, `call` or `raiseTo` (bets and raises alike).
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LegalAction {
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_amount: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GameState {
    pub table_id: String,
    pub hand_number: i64,
    /// `waiting`, `preflop`, `flop`, `turn`, `river`, `showdown` or `ended`.
    pub phase: String,
    pub community_cards: Vec<CardObject>,
    pub pots: Vec<PotView>,
    pub players: Vec<PlayerView>,
    pub dealer_seat: u8,
    pub current_seat: Option<u8>,
    pub last_action: Option<LastAction>,
    /// Only on the receiving agent's own turn.
    pub legal_actions: Option<Vec<LegalAction>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_raise: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_call: Option<i64>,
    pub seq: i64,
    /// Only on the receiving agent's own turn; echoed in its action.
    #[serde(
        rename = "turn_token",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub turn_token: Option<String>,
}

impl GameState {
    /// The flat `format=agent` shape (also the body a webhook seat receives).
    pub fn to_agent_json(&self) -> Value {
        let players: Vec<Value> = self
            .players
            .iter()
            .map(|p| {
                let mut player = json!({
                    "seat": p.seat_id, "name": p.agent_name, "stack": p.stack, "bet": p.bet,
                });
                if p.folded {
                    player["folded"] = json!(true);
                }
                if p.all_in {
                    player["allIn"] = json!(true);
                }
                if let Some(cards) = p.hole_cards.as_deref().filter(|c| !c.is_empty()) {
                    player["cards"] = json!(short_cards(cards));
                }
                player
            })
            .collect();
        let mut out = json!({
            "type": "game_state",
            "seq": self.seq,
            "hand": self.hand_number,
            "phase": self.phase,
            "board": short_cards(&self.community_cards),
            "pot": self.pots.iter().map(|p| p.amount).sum::<i64>(),
            "players": players,
            "dealer": self.dealer_seat,
        });
        if let Some(seat) = self.current_seat {
            out["turn"] = json!(seat);
        }
        if let Some(last) = &self.last_action {
            out["last"] = json!({"seat": last.seat_id, "kind": last.kind});
            if let Some(amount) = last.amount {
                out["last"]["amount"] = json!(amount);
            }
        }
        if let Some(actions) = self.legal_actions.as_deref().filter(|a| !a.is_empty()) {
            out["actions"] = actions
                .iter()
                .map(|a| {
                    let mut action = json!({"kind": a.kind});
                    if let Some(min) = a.min_amount {
                        action["min"] = json!(min);
                    }
                    if let Some(max) = a.max_amount {
                        action["max"] = json!(max);
                    }
                    action
                })
                .collect();
        }
        if let Some(to_call) = self.to_call {
            out["toCall"] = json!(to_call);
        }
        if let Some(token) = &self.turn_token {
            out["turn_token"] = json!(token);
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ack {
    pub turn_token: String,
    pub seq: i64,
    pub success: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorPayload {
    pub code: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_supported_protocol_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skill_doc_url: Option<String>,
}

impl ErrorPayload {
    pub fn new(code: crate::ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code: code.as_str().to_owned(),
            message: message.into(),
            details: None,
            min_supported_protocol_version: None,
            skill_doc_url: None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandResult {
    pub seat_id: u8,
    pub agent_id: String,
    /// Cards shown at showdown (and the receiving agent's own); empty otherwise.
    pub hole_cards: Vec<CardObject>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hand_rank: Option<String>,
    pub winnings: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HandComplete {
    pub hand_number: i64,
    pub results: Vec<HandResult>,
    pub final_pots: Vec<PotView>,
    pub community_cards: Vec<CardObject>,
    pub showdown: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StreetDealt {
    pub hand_number: i64,
    /// `flop`, `turn` or `river`.
    pub street: String,
    pub cards: Vec<CardObject>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FinalStack {
    pub seat_id: u8,
    pub agent_id: String,
    pub stack: i64,
}

/// `waiting`/`running` (with the seat's view of the table) or `ended` (with why and the
/// final stacks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableStatus {
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seat_id: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_players_to_start: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_players: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_stacks: Option<Vec<FinalStack>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlayerJoined {
    pub seat_id: u8,
    pub agent_id: String,
    pub agent_name: String,
    pub stack: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlayerLeft {
    pub seat_id: u8,
    pub agent_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pong {
    pub timestamp: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ServerMessage {
    Welcome(Welcome),
    GameState(GameState),
    Ack(Ack),
    Error(ErrorPayload),
    HandComplete(HandComplete),
    StreetDealt(StreetDealt),
    TableStatus(TableStatus),
    PlayerJoined(PlayerJoined),
    PlayerLeft(PlayerLeft),
    Pong(Pong),
}

impl ServerMessage {
    pub fn kind(&self) -> &'static str {
        match self {
            ServerMessage::Welcome(_) => "welcome",
            ServerMessage::GameState(_) => "game_state",
            ServerMessage::Ack(_) => "ack",
            ServerMessage::Error(_) => "error",
            ServerMessage::HandComplete(_) => "hand_complete",
            ServerMessage::StreetDealt(_) => "street_dealt",
            ServerMessage::TableStatus(_) => "table_status",
            ServerMessage::PlayerJoined(_) => "player_joined",
            ServerMessage::PlayerLeft(_) => "player_left",
            ServerMessage::Pong(_) => "pong",
        }
    }

    fn seq(&self) -> Option<i64> {
        match self {
            ServerMessage::GameState(state) => Some(state.seq),
            ServerMessage::Ack(ack) => Some(ack.seq),
            _ => None,
        }
    }

    fn payload(&self) -> Value {
        let value = match self {
            ServerMessage::Welcome(p) => serde_json::to_value(p),
            ServerMessage::GameState(p) => serde_json::to_value(p),
            ServerMessage::Ack(p) => serde_json::to_value(p),
            ServerMessage::Error(p) => serde_json::to_value(p),
            ServerMessage::HandComplete(p) => serde_json::to_value(p),
            ServerMessage::StreetDealt(p) => serde_json::to_value(p),
            ServerMessage::TableStatus(p) => serde_json::to_value(p),
            ServerMessage::PlayerJoined(p) => serde_json::to_value(p),
            ServerMessage::PlayerLeft(p) => serde_json::to_value(p),
            ServerMessage::Pong(p) => serde_json::to_value(p),
        };
        value.expect("payloads are plain data")
    }

    /// The message as one text frame. `ts` (unix milliseconds) and `table_id` appear in
    /// envelopes only.
    pub fn encode(&self, framing: Framing, table_id: Option<&str>, ts: i64) -> String {
        match framing {
            Framing::Envelope => {
                let mut envelope = Map::new();
                envelope.insert("type".into(), json!(self.kind()));
                if let Some(table) = table_id {
                    envelope.insert("table_id".into(), json!(table));
                }
                if let Some(seq) = self.seq() {
                    envelope.insert("seq".into(), json!(seq));
                }
                envelope.insert("ts".into(), json!(ts));
                envelope.insert("payload".into(), self.payload());
                Value::Object(envelope).to_string()
            }
            Framing::Agent => self.to_agent_json().to_string(),
        }
    }

    fn to_agent_json(&self) -> Value {
        let flat = |payload: Value| {
            let mut out = Map::new();
            out.insert("type".into(), json!(self.kind()));
            if let Value::Object(fields) = payload {
                out.extend(fields);
            }
            Value::Object(out)
        };
        match self {
            ServerMessage::GameState(state) => state.to_agent_json(),
            ServerMessage::Welcome(w) => json!({
                "type": "welcome", "seat": w.seat_id, "agent_id": w.agent_id,
                "timeout": w.action_timeout_ms,
            }),
            ServerMessage::Ack(ack) => {
                json!({"type": "ack", "turn_token": ack.turn_token, "seq": ack.seq})
            }
            ServerMessage::Error(e) => {
                json!({"type": "error", "code": e.code, "message": e.message})
            }
            ServerMessage::HandComplete(h) => json!({
                "type": "hand_complete",
                "hand": h.hand_number,
                "results": h.results.iter().map(|r| {
                    let mut result = json!({
                        "seat": r.seat_id, "cards": short_cards(&r.hole_cards), "won": r.winnings,
                    });
                    if let Some(rank) = &r.hand_rank {
                        result["rank"] = json!(rank);
                    }
                    result
                }).collect::<Vec<_>>(),
                "showdown": h.showdown,
            }),
            ServerMessage::StreetDealt(s) => json!({
                "type": "street_dealt", "hand": s.hand_number, "street": s.street,
                "cards": short_cards(&s.cards),
            }),
            other => flat(other.payload()),
        }
    }

    /// Reads an envelope-framed message (the framing simrunner's client asks for).
    pub fn decode(text: &str) -> Result<Self, String> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| format!("not a JSON message: {e}"))?;
        let kind = value["type"]
            .as_str()
            .ok_or("a message without a type")?
            .to_owned();
        let payload = value
            .get("payload")
            .cloned()
            .ok_or_else(|| format!("a {kind} message without a payload (not an envelope)"))?;
        fn parse<T: serde::de::DeserializeOwned>(kind: &str, payload: Value) -> Result<T, String> {
            serde_json::from_value(payload).map_err(|e| format!("a malformed {kind}: {e}"))
        }
        Ok(match kind.as_str() {
            "welcome" => ServerMessage::Welcome(parse(&kind, payload)?),
            "game_state" => ServerMessage::GameState(parse(&kind, payload)?),
            "ack" => ServerMessage::Ack(parse(&kind, payload)?),
            "error" => ServerMessage::Error(parse(&kind, payload)?),
            "hand_complete" => ServerMessage::HandComplete(parse(&kind, payload)?),
            "street_dealt" => ServerMessage::StreetDealt(parse(&kind, payload)?),
            "table_status" => ServerMessage::TableStatus(parse(&kind, payload)?),
            "player_joined" => ServerMessage::PlayerJoined(parse(&kind, payload)?),
            "player_left" => ServerMessage::PlayerLeft(parse(&kind, payload)?),
            "pong" => ServerMessage::Pong(parse(&kind, payload)?),
            other => return Err(format!("an unknown message type {other:?}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(text: &str) -> CardObject {
        CardObject::of(poker::Card::parse(text).unwrap())
    }

    fn state() -> GameState {
        GameState {
            table_id: "tbl_1".into(),
            hand_number: 3,
            phase: "flop".into(),
            community_cards: vec![card("As"), card("Td"), card("2c")],
            pots: vec![PotView {
                amount: 60,
                eligible_seats: vec![0, 1],
            }],
            players: vec![
                PlayerView {
                    seat_id: 0,
                    agent_id: "agt_a".into(),
                    agent_name: Some("alice".into()),
                    stack: 970,
                    bet: 0,
                    folded: false,
                    all_in: false,
                    is_active: true,
                    hole_cards: Some(vec![card("Kh"), card("Kd")]),
                },
                PlayerView {
                    seat_id: 1,
                    agent_id: "agt_b".into(),
                    agent_name: None,
                    stack: 970,
                    bet: 0,
                    folded: false,
                    all_in: true,
                    is_active: true,
                    hole_cards: None,
                },
            ],
            dealer_seat: 1,
            current_seat: Some(0),
            last_action: Some(LastAction {
                seat_id: 1,
                kind: "call".into(),
                amount: Some(20),
            }),
            legal_actions: Some(vec![
                LegalAction {
                    kind: "check".into(),
                    min_amount: None,
                    max_amount: None,
                },
                LegalAction {
                    kind: "raiseTo".into(),
                    min_amount: Some(10),
                    max_amount: Some(970),
                },
            ]),
            min_raise: Some(10),
            to_call: None,
            seq: 12,
            turn_token: Some("tok".into()),
        }
    }

    #[test]
    fn envelopes_carry_type_table_seq_ts_and_the_camel_case_payload_and_read_back() {
        let message = ServerMessage::GameState(state());
        let text = message.encode(Framing::Envelope, Some("tbl_1"), 1_700_000_000_123);
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["type"], "game_state");
        assert_eq!(value["table_id"], "tbl_1");
        assert_eq!(value["seq"], 12);
        assert_eq!(value["ts"], 1_700_000_000_123_i64);
        let payload = &value["payload"];
        assert_eq!(
            payload["communityCards"][0],
            json!({"rank": "A", "suit": "s"})
        );
        assert_eq!(
            payload["players"][0]["holeCards"][1],
            json!({"rank": "K", "suit": "d"})
        );
        assert_eq!(payload["players"][1]["holeCards"], Value::Null);
        assert_eq!(payload["players"][1]["allIn"], true);
        assert_eq!(payload["legalActions"][1]["minAmount"], 10);
        assert_eq!(payload["turn_token"], "tok");
        assert!(payload.get("toCall").is_none());
        assert_eq!(ServerMessage::decode(&text), Ok(message));
    }

    #[test]
    fn the_agent_framing_is_flat_with_short_cards_and_only_what_is_set() {
        let text = ServerMessage::GameState(state()).encode(Framing::Agent, Some("tbl_1"), 0);
        let value: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            value,
            json!({
                "type": "game_state", "seq": 12, "hand": 3, "phase": "flop",
                "board": ["As", "Td", "2c"], "pot": 60,
                "players": [
                    {"seat": 0, "name": "alice", "stack": 970, "bet": 0, "cards": ["Kh", "Kd"]},
                    {"seat": 1, "name": null, "stack": 970, "bet": 0, "allIn": true},
                ],
                "dealer": 1, "turn": 0, "last": {"seat": 1, "kind": "call", "amount": 20},
                "actions": [{"kind": "check"}, {"kind": "raiseTo", "min": 10, "max": 970}],
                "turn_token": "tok",
            })
        );
        let welcome = ServerMessage::Welcome(Welcome {
            protocol_version: "0.1".into(),
            min_supported_protocol_version: "0.1".into(),
            skill_doc_url: "http://x/skill.md".into(),
            seat_id: 2,
            agent_id: "agt_a".into(),
            action_timeout_ms: 5000,
        });
        assert_eq!(
            serde_json::from_str::<Value>(&welcome.encode(Framing::Agent, None, 0)).unwrap(),
            json!({"type": "welcome", "seat": 2, "agent_id": "agt_a", "timeout": 5000})
        );
        let left = ServerMessage::PlayerLeft(PlayerLeft {
            seat_id: 4,
            agent_id: "agt_b".into(),
        });
        assert_eq!(
            serde_json::from_str::<Value>(&left.encode(Framing::Agent, None, 0)).unwrap(),
            json!({"type": "player_left", "seatId": 4, "agentId": "agt_b"})
        );
    }

    #[test]
    fn every_message_kind_survives_the_envelope() {
        let messages = [
            ServerMessage::Ack(Ack {
                turn_token: "t".into(),
                seq: 4,
                success: true,
            }),
            ServerMessage::Error(ErrorPayload::new(crate::ErrorCode::StaleSeq, "wait")),
            ServerMessage::HandComplete(HandComplete {
                hand_number: 2,
                results: vec![HandResult {
                    seat_id: 0,
                    agent_id: "agt_a".into(),
                    hole_cards: vec![card("Ah"), card("Ad")],
                    hand_rank: Some("pair".into()),
                    winnings: 40,
                }],
                final_pots: vec![],
                community_cards: vec![],
                showdown: true,
            }),
            ServerMessage::StreetDealt(StreetDealt {
                hand_number: 2,
                street: "turn".into(),
                cards: vec![card("9c")],
            }),
            ServerMessage::TableStatus(TableStatus {
                status: "ended".into(),
                seat_id: None,
                agent_id: None,
                min_players_to_start: None,
                current_players: None,
                reason: Some("hand limit reached".into()),
                final_stacks: Some(vec![FinalStack {
                    seat_id: 0,
                    agent_id: "agt_a".into(),
                    stack: 2000,
                }]),
            }),
            ServerMessage::PlayerJoined(PlayerJoined {
                seat_id: 1,
                agent_id: "agt_b".into(),
                agent_name: "bob".into(),
                stack: 1000,
            }),
            ServerMessage::Pong(Pong {
                timestamp: Some(17),
            }),
        ];
        for message in messages {
            let text = message.encode(Framing::Envelope, None, 5);
            assert_eq!(ServerMessage::decode(&text), Ok(message), "{text}");
        }
        assert!(ServerMessage::decode(r#"{"type":"ack","seq":1}"#).is_err());
        assert!(ServerMessage::decode(r#"{"type":"nope","ts":1,"payload":{}}"#).is_err());
    }
}
