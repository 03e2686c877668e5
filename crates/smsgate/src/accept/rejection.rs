//! [`Rejection`]: why a submission was refused, for the SMPP client (a
//! command_status), the HTTP client (a stable machine code) and people (a
//! sentence for the trace and the logs).

use std::fmt;

use smpp::CommandStatus;

/// A submission the gateway refused. Nothing was stored or charged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The SMPP command_status to answer with.
    pub status: CommandStatus,
    /// A stable machine-readable code (`invalid_destination`, ...), for the
    /// HTTP API's problem responses; never changes once published.
    pub code: &'static str,
    /// What was wrong, for people: safe to log (it never quotes message text).
    pub reason: String,
}

impl Rejection {
    /// A rejection with its status, code and reason.
    pub fn new(status: CommandStatus, code: &'static str, reason: impl Into<String>) -> Self {
        Rejection {
            status,
            code,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let status = self.status.name().unwrap_or("vendor status");
        write!(f, "{status} ({}): {}", self.code, self.reason)
    }
}

impl std::error::Error for Rejection {}
