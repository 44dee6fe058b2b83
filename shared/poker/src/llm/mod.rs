//! What an LLM player sees and how its answers are read, as pure functions: the rules it is
//! given, the compact game state of its turn, the schema its answer must follow (only the
//! legal actions), the repair of out-of-range amounts, and the read-only tools of the
//! autonomous agent. The runner adds the providers' wire formats and the HTTP calls.

mod answer;
mod state;
mod tools;

pub use answer::{
    Answer, AnswerProblem, Resolved, answer_schema, legal_names, parse_answer, resolve,
};
pub use state::{game_state, positions};
pub use tools::{ACT_TOOL, ToolSpec, run_tool, tool_specs};

/// The rules and the answer format, sent as the system prompt of every request (and by the
/// autonomous agent's `rules` tool).
pub const RULES: &str = "You are a player at a No-Limit Texas Hold'em table in a simulation. \
Each turn you get the game state as JSON and must choose one legal action.

Rules: 2 to 9 players; the small and big blinds are posted left of the button (heads-up the \
button posts the small blind and acts first before the flop). Each player has two private \
hole cards; five community cards come on the flop (3), turn (1) and river (1). Betting goes \
clockwise; on each street you may fold, check (when there is nothing to call), call, bet or \
raise. A bet or raise is given as `amount`: the TOTAL of your chips in front on this street \
after the action (not the increase), between `min_to` and `max_to` of the legal action; \
`max_to` is all-in. The best five-card hand from hole and board cards wins at showdown; \
side pots go only to those who paid into them.

Game state fields: `you` (your seat, position, hole cards, stack behind, bet this street), \
`board`, `pot` (all chips in, this street's bets included), `to_call`, `pot_odds` \
(to_call / (pot + to_call)), `effective_stack`, `players` (each seat's stack, bet this \
street and status), `actions` (this hand so far), `legal` (what you may do now) and \
`opponents` (each opponent's hands seen, VPIP %, PFR %, aggression).

Answer with JSON only: {\"reasoning\": one or two short sentences, \"action\": one of the \
legal action names, \"amount\": the total to bet or raise to for bet/raise, otherwise \
null}. An illegal or late answer checks if possible, otherwise folds.";
