/// Where a run is in its life: `queued → running → completed | failed | cancelled`
/// (a queued run may also go straight to `failed` or `cancelled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
}

impl RunStatus {
    pub const ALL: [RunStatus; 5] = [
        RunStatus::Queued,
        RunStatus::Running,
        RunStatus::Completed,
        RunStatus::Failed,
        RunStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Completed => "completed",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Queued and running runs count against the concurrency limit.
    pub fn is_active(self) -> bool {
        matches!(self, RunStatus::Queued | RunStatus::Running)
    }
}

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunTrigger {
    Manual,
    Schedule,
    /// Started to keep an always-on config's tables live.
    AlwaysOn,
}

impl RunTrigger {
    pub fn as_str(self) -> &'static str {
        match self {
            RunTrigger::Manual => "manual",
            RunTrigger::Schedule => "schedule",
            RunTrigger::AlwaysOn => "always_on",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            RunTrigger::Manual,
            RunTrigger::Schedule,
            RunTrigger::AlwaysOn,
        ]
        .into_iter()
        .find(|t| t.as_str() == text)
    }
}
