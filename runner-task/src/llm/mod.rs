//! LLM agents: `protocol` (one structured answer per turn) and `autonomous` (a bounded tool
//! loop per turn), on OpenAI, Anthropic, Google or any OpenAI-compatible server.
//!
//! Each decision must be made by the turn's deadline (the table's action timeout). Whatever
//! cannot be played — a late, malformed, illegal, refused or failed answer — becomes the
//! fallback (check if legal, else fold); an out-of-range amount is clamped. One re-ask is
//! allowed while the deadline leaves time for it; a rate limit or overload is retried only
//! when the provider's `retry-after` fits before the deadline. After an auth or quota error
//! the seat plays the fallback for the rest of the run and the run records a warning. Every
//! prompt, answer, error and repair is logged in the seat's stream.
//!
//! The pure parts (game state, answer schema, repairs, tools) live in `poker::llm`.

pub mod anthropic;
pub mod client;
pub mod google;
pub mod ledger;
pub mod models;
pub mod openai;
pub mod prices;
pub mod wire;

use client::ProviderClient;
use ledger::SharedLedger;
use poker::llm::{
    ACT_TOOL, Answer, AnswerProblem, RULES, answer_schema, game_state, legal_names, parse_answer,
    resolve, run_tool, tool_specs,
};
use poker::{Action, Agent, Choice, FallbackReason, Reply, Turn};
use serde_json::{Value, json};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wire::{ChatRequest, ChatResponse, Finish, LlmError, Message, Output, ToolResult};

/// The most of one prompt or answer kept in a log entry.
pub const LOG_CAP_BYTES: usize = 16 * 1024;

/// Model calls per autonomous decision; the last offers only `act`.
pub const MAX_AUTONOMOUS_CALLS: usize = 6;

/// Output tokens per call: a short reasoning and an action, or one tool call.
const MAX_OUTPUT_TOKENS: u32 = 400;

/// Rate-limit or overload retries per call, when the provider's wait fits the deadline.
const MAX_RETRIES: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// One request per turn, the answer forced into the schema.
    Protocol,
    /// A tool loop per turn.
    Autonomous,
}

/// A seat played by a model.
pub struct LlmAgent {
    seat: usize,
    /// The seat's entry in the run's ledger.
    slot: usize,
    style: Style,
    model: String,
    client: Arc<ProviderClient>,
    ledger: SharedLedger,
    /// Set after an auth or quota error: the seat plays the fallback from then on.
    disabled: Option<FallbackReason>,
    /// How long the last call took, to judge whether another fits before the deadline.
    last_latency: Duration,
    log: Vec<Value>,
}

/// Text capped for the log, saying so when it was cut.
fn capped(text: String) -> Value {
    if text.len() <= LOG_CAP_BYTES {
        return Value::String(text);
    }
    let mut cut = LOG_CAP_BYTES;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    json!({"text": &text[..cut], "truncated": true, "bytes": text.len()})
}

fn message_json(message: &Message) -> Value {
    match message {
        Message::User(text) => json!({"role": "user", "content": text}),
        Message::Assistant { text, calls } => json!({
            "role": "assistant", "content": text,
            "tool_calls": calls.iter().map(|c| json!({"name": c.name, "arguments": c.arguments})).collect::<Vec<_>>(),
        }),
        Message::ToolResults(results) => json!({
            "role": "tool",
            "results": results.iter().map(|r| json!({"name": r.name, "content": r.content, "is_error": r.is_error})).collect::<Vec<_>>(),
        }),
    }
}

/// An action as logs show it.
pub fn action_json(action: Action) -> Value {
    match action {
        Action::Fold => json!({"action": "fold"}),
        Action::Check => json!({"action": "check"}),
        Action::Call => json!({"action": "call"}),
        Action::RaiseTo(to) => json!({"action": "raise", "to": to}),
    }
}

impl LlmAgent {
    pub fn new(
        seat: usize,
        slot: usize,
        style: Style,
        model: &str,
        client: Arc<ProviderClient>,
        ledger: SharedLedger,
    ) -> Self {
        Self {
            seat,
            slot,
            style,
            model: model.to_owned(),
            client,
            ledger,
            disabled: None,
            last_latency: Duration::from_millis(500),
            log: Vec::new(),
        }
    }

    fn note(&mut self, turn: &Turn<'_>, event: &str, mut entry: Value) {
        entry["event"] = json!(event);
        entry["hand"] = json!(turn.hand_number);
        entry["seat"] = json!(self.seat);
        self.log.push(entry);
    }

    /// Whether `calls` more calls (each about as slow as the last one) fit before the
    /// deadline.
    fn calls_fit(&self, deadline: Instant, calls: u32) -> bool {
        Instant::now() + self.last_latency * calls + Duration::from_millis(50) < deadline
    }

    /// One model call: logs the new messages, retries a rate limit or overload when the
    /// provider's wait fits, counts the tokens, and logs every failure. `Err` is the
    /// fallback the turn ends in.
    async fn call(
        &mut self,
        turn: &Turn<'_>,
        call: usize,
        messages: &[Message],
        new_from: usize,
        output: Output<'_>,
    ) -> Result<(ChatResponse, Duration), FallbackReason> {
        let sent: Vec<Value> = messages[new_from..].iter().map(message_json).collect();
        let tools: Option<Vec<&str>> = match output {
            Output::Answer { .. } => None,
            Output::Tools { tools, forced } => Some(match forced {
                Some(only) => vec![only],
                None => tools.iter().map(|t| t.name).collect(),
            }),
        };
        self.note(
            turn,
            "llm_prompt",
            json!({
                "call": call, "model": self.model,
                "system": if call == 1 { "the rules (see agent_start)" } else { "" },
                "messages": capped(Value::Array(sent).to_string()),
                "tools": tools,
            }),
        );
        let (model, client) = (self.model.clone(), self.client.clone());
        let request = ChatRequest {
            model: &model,
            system: RULES,
            messages,
            output,
            max_tokens: MAX_OUTPUT_TOKENS,
        };
        let mut retries = 0;
        loop {
            let started = Instant::now();
            let result = client.send(&request, turn.deadline).await;
            let latency = started.elapsed();
            match result {
                Ok(response) => {
                    self.last_latency = latency;
                    if self.ledger.lock().record_call(self.slot, &response.usage) {
                        tracing::warn!(seat = self.seat, "the run's LLM budget is spent");
                    }
                    return Ok((response, latency));
                }
                Err(error) => {
                    let wait = error.retry_after.filter(|wait| {
                        retries < MAX_RETRIES
                            && matches!(
                                error.kind,
                                wire::ErrorKind::RateLimited | wire::ErrorKind::Overloaded
                            )
                            && Instant::now() + *wait + self.last_latency < turn.deadline
                    });
                    self.log_error(turn, &error, latency, wait);
                    match wait {
                        Some(wait) => {
                            retries += 1;
                            tokio::time::sleep(wait).await;
                        }
                        None => return Err(self.give_up(&error)),
                    }
                }
            }
        }
    }

    fn log_error(
        &mut self,
        turn: &Turn<'_>,
        error: &LlmError,
        latency: Duration,
        retry_in: Option<Duration>,
    ) {
        self.note(
            turn,
            "llm_error",
            json!({
                "kind": error.kind.name(), "status": error.status, "message": error.message,
                "latency_ms": latency.as_millis() as u64,
                "retry_in_ms": retry_in.map(|d| d.as_millis() as u64),
            }),
        );
    }

    /// The fallback for a failed call; auth and quota errors, and a model the provider does
    /// not know (404), end the seat's model calls.
    fn give_up(&mut self, error: &LlmError) -> FallbackReason {
        let reason = error.kind.fallback();
        let unknown_model = error.kind == wire::ErrorKind::Rejected && error.status == Some(404);
        if (reason.is_permanent() || unknown_model) && self.disabled.is_none() {
            self.disabled = Some(reason);
            let code = if unknown_model {
                "model_not_found"
            } else {
                reason.name()
            };
            tracing::warn!(
                seat = self.seat,
                provider = self.client.provider().as_str(),
                code,
                "provider refused the seat for the rest of the run"
            );
            self.ledger
                .lock()
                .warn(self.slot, code, error.status, &error.message);
        }
        reason
    }

    /// Logs a response that ends the turn without an answer (refused, cut off).
    fn unusable(
        &mut self,
        turn: &Turn<'_>,
        response: &ChatResponse,
        latency: Duration,
    ) -> Option<FallbackReason> {
        let (kind, message, reason) = match &response.finish {
            Finish::Complete => return None,
            Finish::Truncated => (
                "truncated",
                "the answer hit the token limit".to_owned(),
                FallbackReason::Truncated,
            ),
            Finish::Refused(why) => ("refused", why.clone(), FallbackReason::Refused),
        };
        self.log_response(turn, response, latency, None);
        self.note(
            turn,
            "llm_error",
            json!({"kind": kind, "status": 200, "message": capped(message), "latency_ms": latency.as_millis() as u64}),
        );
        Some(reason)
    }

    fn log_response(
        &mut self,
        turn: &Turn<'_>,
        response: &ChatResponse,
        latency: Duration,
        parsed: Option<(&Answer, Action)>,
    ) {
        let raw = json!({
            "text": response.text,
            "tool_calls": response.calls.iter().map(|c| json!({"name": c.name, "arguments": c.arguments})).collect::<Vec<_>>(),
        });
        let mut entry = json!({
            "raw": capped(raw.to_string()),
            "usage": response.usage.to_json(),
            "finish_reason": response.finish_reason,
            "latency_ms": latency.as_millis() as u64,
            "request_id": response.request_id,
        });
        if let Some((answer, action)) = parsed {
            entry["answer"] = json!({"action": answer.action, "amount": answer.amount});
            entry["action"] = action_json(action);
            entry["reasoning"] = capped(answer.reasoning.clone());
        }
        self.note(turn, "llm_response", entry);
    }

    /// Reads an answer and turns it into a legal action, logging the response and any
    /// repair. `Err`: why it cannot be played.
    fn play_answer(
        &mut self,
        turn: &Turn<'_>,
        response: &ChatResponse,
        answer: Option<Value>,
        latency: Duration,
    ) -> Result<Action, (FallbackReason, AnswerProblem)> {
        let read = answer
            .ok_or_else(|| AnswerProblem::Malformed("the model gave no answer".into()))
            .and_then(|value| parse_answer(&value));
        let resolved =
            read.and_then(|answer| resolve(&answer, &turn.decision.legal).map(|r| (answer, r)));
        match resolved {
            Ok((answer, resolved)) => {
                self.log_response(turn, response, latency, Some((&answer, resolved.action)));
                if let Some(repair) = resolved.repair {
                    self.ledger.lock().record_repair(self.slot);
                    self.note(
                        turn,
                        "action_repaired",
                        json!({
                            "answer": {"action": answer.action, "amount": answer.amount},
                            "action": action_json(resolved.action), "reason": repair,
                        }),
                    );
                }
                Ok(resolved.action)
            }
            Err(problem) => {
                self.log_response(turn, response, latency, None);
                let (kind, reason) = match problem {
                    AnswerProblem::Malformed(_) => ("malformed", FallbackReason::Malformed),
                    AnswerProblem::Illegal(_) => ("illegal", FallbackReason::Illegal),
                };
                self.note(
                    turn,
                    "llm_error",
                    json!({"kind": kind, "status": 200, "message": problem.message(), "latency_ms": latency.as_millis() as u64}),
                );
                Err((reason, problem))
            }
        }
    }

    fn reask_text(turn: &Turn<'_>, problem: &AnswerProblem) -> String {
        format!(
            "That answer cannot be played: {}. Answer again; `action` must be one of: {}.",
            problem.message(),
            legal_names(&turn.decision).join(", ")
        )
    }

    async fn protocol(&mut self, turn: &Turn<'_>) -> Choice {
        let schema = answer_schema(&turn.decision);
        let mut messages = vec![Message::User(game_state(turn).to_string())];
        let mut new_from = 0;
        let mut call = 1;
        loop {
            let (response, latency) = match self
                .call(
                    turn,
                    call,
                    &messages,
                    new_from,
                    Output::Answer { schema: &schema },
                )
                .await
            {
                Ok(answered) => answered,
                Err(reason) => return Choice::Fallback(reason),
            };
            if let Some(reason) = self.unusable(turn, &response, latency) {
                return Choice::Fallback(reason);
            }
            let problem = match self.play_answer(turn, &response, response.answer(), latency) {
                Ok(action) => return Choice::Act(action),
                Err((reason, _)) if call == 2 || !self.calls_fit(turn.deadline, 1) => {
                    return Choice::Fallback(reason);
                }
                Err((_, problem)) => problem,
            };
            new_from = messages.len();
            let correction = Self::reask_text(turn, &problem);
            // Where the answer came as a forced tool call, the correction is its result.
            match response.calls.iter().find(|c| c.name == ACT_TOOL) {
                Some(act) => {
                    messages.push(Message::Assistant {
                        text: None,
                        calls: vec![act.clone()],
                    });
                    messages.push(Message::ToolResults(vec![ToolResult {
                        call_id: act.id.clone(),
                        name: act.name.clone(),
                        content: json!(correction),
                        is_error: true,
                    }]));
                }
                None => {
                    messages.push(Message::Assistant {
                        text: response.text.clone(),
                        calls: Vec::new(),
                    });
                    messages.push(Message::User(correction));
                }
            }
            call += 1;
        }
    }

    async fn autonomous(&mut self, turn: &Turn<'_>) -> Choice {
        let tools = tool_specs(turn);
        let mut messages = vec![Message::User(format!(
            "Hand {}: it is your turn. Use the tools to learn what you need, then take your \
             action with `act` (at most {MAX_AUTONOMOUS_CALLS} calls). The game state now: {}",
            turn.hand_number,
            game_state(turn)
        ))];
        let mut new_from = 0;
        let mut reasked = false;
        for call in 1..=MAX_AUTONOMOUS_CALLS {
            if self.ledger.lock().exhausted() {
                return Choice::Fallback(FallbackReason::BudgetExhausted);
            }
            let last = call == MAX_AUTONOMOUS_CALLS || !self.calls_fit(turn.deadline, 2);
            let output = Output::Tools {
                tools: &tools,
                forced: last.then_some(ACT_TOOL),
            };
            let (response, latency) = match self.call(turn, call, &messages, new_from, output).await
            {
                Ok(answered) => answered,
                Err(reason) => return Choice::Fallback(reason),
            };
            if let Some(reason) = self.unusable(turn, &response, latency) {
                return Choice::Fallback(reason);
            }
            new_from = messages.len();
            if let Some(act) = response.calls.iter().find(|c| c.name == ACT_TOOL) {
                match self.play_answer(turn, &response, Some(act.arguments.clone()), latency) {
                    Ok(action) => return Choice::Act(action),
                    Err((reason, _)) if reasked || last || !self.calls_fit(turn.deadline, 1) => {
                        return Choice::Fallback(reason);
                    }
                    Err((_, problem)) => {
                        reasked = true;
                        messages.push(Message::Assistant {
                            text: None,
                            calls: vec![act.clone()],
                        });
                        messages.push(Message::ToolResults(vec![ToolResult {
                            call_id: act.id.clone(),
                            name: act.name.clone(),
                            content: json!(Self::reask_text(turn, &problem)),
                            is_error: true,
                        }]));
                        continue;
                    }
                }
            }
            self.log_response(turn, &response, latency, None);
            if response.calls.is_empty() {
                messages.push(Message::Assistant {
                    text: response.text.clone(),
                    calls: Vec::new(),
                });
                messages.push(Message::User(
                    "Call a tool; take your action with `act`.".into(),
                ));
                continue;
            }
            let mut results = Vec::with_capacity(response.calls.len());
            for tool_call in &response.calls {
                self.note(
                    turn,
                    "tool_call",
                    json!({"name": tool_call.name, "arguments": tool_call.arguments}),
                );
                let result = run_tool(&tool_call.name, &tool_call.arguments, turn);
                let (content, is_error) = match result {
                    Ok(value) => (value, false),
                    Err(message) => (json!(message), true),
                };
                self.note(
                    turn,
                    "tool_result",
                    json!({"name": tool_call.name, "result": capped(content.to_string()), "is_error": is_error}),
                );
                results.push(ToolResult {
                    call_id: tool_call.id.clone(),
                    name: tool_call.name.clone(),
                    content,
                    is_error,
                });
            }
            messages.push(Message::Assistant {
                text: response.text.clone(),
                calls: response.calls.clone(),
            });
            messages.push(Message::ToolResults(results));
        }
        Choice::Fallback(FallbackReason::Malformed)
    }
}

impl Agent for LlmAgent {
    fn act<'a>(&'a mut self, turn: &'a Turn<'a>) -> Reply<'a> {
        if let Some(reason) = self.disabled {
            return Reply::Now(Choice::Fallback(reason));
        }
        if self.ledger.lock().exhausted() {
            return Reply::Now(Choice::Fallback(FallbackReason::BudgetExhausted));
        }
        match self.style {
            Style::Protocol => Reply::Later(Box::pin(self.protocol(turn))),
            Style::Autonomous => Reply::Later(Box::pin(self.autonomous(turn))),
        }
    }

    fn drain_log(&mut self, into: &mut Vec<Value>) {
        into.append(&mut self.log);
    }
}
