//! The protocol's error codes, on the WebSocket (`error` messages) and in REST errors.

/// Every code a server of this protocol sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// The action is not one the seat may take now (kind or amount).
    InvalidAction,
    /// Another seat is to act, or nobody is.
    NotYourTurn,
    /// `expected_seq` is not the current state's `seq`: wait for the next state.
    StaleSeq,
    /// No credentials, bad ones, or a revoked agent.
    Unauthorized,
    TableFull,
    TableNotFound,
    /// The session is over (left, table ended, taken over by a newer connection): join again.
    SessionExpired,
    /// A frame or body that is not what the protocol allows.
    ValidationError,
    /// The client's protocol version is older than the minimum supported.
    OutdatedClient,
    /// The table has ended.
    TableEnded,
    /// The agent sends faster than the server accepts.
    RateLimitExceeded,
    /// The agent already sits at this table.
    AlreadySeated,
    /// The agent does not sit at this table.
    NotSeated,
    InternalError,
}

impl ErrorCode {
    pub const ALL: [ErrorCode; 14] = [
        ErrorCode::InvalidAction,
        ErrorCode::NotYourTurn,
        ErrorCode::StaleSeq,
        ErrorCode::Unauthorized,
        ErrorCode::TableFull,
        ErrorCode::TableNotFound,
        ErrorCode::SessionExpired,
        ErrorCode::ValidationError,
        ErrorCode::OutdatedClient,
        ErrorCode::TableEnded,
        ErrorCode::RateLimitExceeded,
        ErrorCode::AlreadySeated,
        ErrorCode::NotSeated,
        ErrorCode::InternalError,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidAction => "INVALID_ACTION",
            ErrorCode::NotYourTurn => "NOT_YOUR_TURN",
            ErrorCode::StaleSeq => "STALE_SEQ",
            ErrorCode::Unauthorized => "UNAUTHORIZED",
            ErrorCode::TableFull => "TABLE_FULL",
            ErrorCode::TableNotFound => "TABLE_NOT_FOUND",
            ErrorCode::SessionExpired => "SESSION_EXPIRED",
            ErrorCode::ValidationError => "VALIDATION_ERROR",
            ErrorCode::OutdatedClient => "OUTDATED_CLIENT",
            ErrorCode::TableEnded => "TABLE_ENDED",
            ErrorCode::RateLimitExceeded => "RATE_LIMIT_EXCEEDED",
            ErrorCode::AlreadySeated => "ALREADY_SEATED",
            ErrorCode::NotSeated => "NOT_SEATED",
            ErrorCode::InternalError => "INTERNAL_ERROR",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == text)
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_distinct_name_that_parses_back() {
        let mut names: Vec<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
        }
        names.sort();
        names.dedup();
        assert_eq!(names.len(), ErrorCode::ALL.len());
    }
}
