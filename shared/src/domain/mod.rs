//! Domain types. Input is parsed once at the edge into these types (parse, don't validate);
//! inside the system an invalid config cannot be represented. Domain types are not
//! `Serialize`/`Deserialize`: serde lives in the HTTP layer and in the store.

mod agents;
pub mod calendar;
mod ids;
pub mod models;
mod platform;
mod provider;
mod runs;
mod simulation;
mod validation;
mod webhook;

pub use agents::{AGENT_METADATA_BYTES, AGENT_NAME_CHARS, AgentDraft, NewAgent};
pub use calendar::{CronExpr, DailyWindow};
pub use ids::{AgentId, ApiKeyId, PlatformId, RunId, SimulationId, WebhookId};
pub use platform::{NewPlatform, PlatformDraft, parse_base_url};
pub use provider::{ApiKeyDraft, LABEL_MAX_CHARS, NewApiKey, Provider};
pub use runs::{RunStatus, RunTrigger};
pub use simulation::{
    AgentSlot, AgentSlotDraft, AgentType, AlwaysOn, Blinds, Calendar, ConfigStatus,
    ExternalSeating, Limits, MAX_CHIPS, MODEL_MAX_CHARS, ModelRef, Pace, Schedule, ScheduleKind,
    SchedulePreview, SimulationDraft, SimulationSpec, TableConfig, TableHost, WindowDraft,
    check_capacity,
};
pub use validation::{FieldError, ValidationErrors};
pub use webhook::{
    NewWebhook, WEBHOOK_URL_MAX_CHARS, WebhookDraft, WebhookPolicy, WebhookUrl, address_refusal,
};
