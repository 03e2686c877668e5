//! Error answers as RFC 9457 problem details (`application/problem+json`):
//! `type` (a URL naming the problem), `title` (the same for every
//! occurrence of it), `status`, `detail` (this occurrence) and `code`, the
//! stable machine code clients branch on.
//!
//! Acceptance's [`Rejection`]s keep their codes (`invalid_destination`,
//! `throttled`, ...) and get the HTTP status that says who must act:
//! 422 for content the gateway will never take, 403 for a sender the account
//! may not use, 402 for missing credits, 429 for the rate (retry shortly),
//! 503 for the gateway's own trouble (retry later). The API adds its own
//! codes: `bad_json` (400), `unauthorized` (401), `account_disabled`,
//! `address_not_allowed` and `address_blocked` (403), `not_found` (404),
//! `invalid_text`, `too_many_recipients` and `too_many_messages` (422),
//! `store_unavailable` (503).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use smpp::CommandStatus;
use utoipa::ToSchema;

use crate::accept::Rejection;
use crate::store::StoreError;

/// Where the problem types are documented.
const TYPE_BASE: &str = "https://smsgate.dev/problems/";

/// One problem: what the client did wrong or what went wrong here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    status: StatusCode,
    code: &'static str,
    detail: String,
    /// Seconds for a `Retry-After` header (429 has one of 1 s without it).
    retry_after: Option<u64>,
}

impl Problem {
    /// A problem with its status, stable code and detail.
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            status,
            code,
            detail: detail.into(),
            retry_after: None,
        }
    }

    /// 401: credentials that do not authenticate, said as such (`detail`
    /// names what was wrong without telling which part).
    pub fn login_failed(detail: &'static str) -> Problem {
        Problem::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    /// [`Problem::address_blocked`] for a login `guard` refused (its
    /// refusal already counted there).
    pub fn blocked_by(
        guard: &crate::accounts::ip_guard::IpGuard,
        ip: Option<std::net::IpAddr>,
    ) -> Problem {
        let remaining = ip
            .and_then(|ip| guard.remaining(ip))
            .unwrap_or(std::time::Duration::from_secs(1));
        Problem::address_blocked(remaining)
    }

    /// 403 with `Retry-After`: the caller's address is blocked on this
    /// surface after too many failed logins, for `remaining`.
    pub fn address_blocked(remaining: std::time::Duration) -> Problem {
        let remaining = crate::accounts::ip_guard::whole_seconds(remaining);
        Problem {
            retry_after: Some(remaining.as_secs()),
            ..Problem::new(
                StatusCode::FORBIDDEN,
                "address_blocked",
                format!(
                    "too many failed logins from this address: try again in {} \
                     (an operator can lift the block: smsgate security unblock ADDRESS)",
                    humantime::format_duration(remaining)
                ),
            )
        }
    }

    /// 422: a well-formed request the gateway will not take.
    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    /// 401: no credentials, or ones that do not authenticate. Says no more
    /// than that, so nobody learns which accounts or keys exist.
    pub fn unauthorized() -> Problem {
        Problem::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "give an API key (Authorization: Bearer KEY) or the account's SMPP system_id and password (HTTP Basic)",
        )
    }

    /// 404 for anything the caller may not see, existing or not.
    pub fn not_found(what: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not_found", what)
    }

    /// 503: the store failed; the detail stays in the log.
    pub fn store_unavailable(error: &StoreError) -> Problem {
        tracing::warn!(%error, "http api: store error");
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            "the gateway cannot reach its store right now; try again shortly",
        )
    }

    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The problem document.
    pub fn body(&self) -> ProblemBody<'_> {
        ProblemBody {
            problem_type: format!("{TYPE_BASE}{}", self.code),
            title: title(self.code, self.status),
            status: self.status.as_u16(),
            detail: &self.detail,
            code: self.code,
        }
    }
}

/// The JSON of a [`Problem`] (also used inside batch answers); named
/// `Problem` in the OpenAPI document.
#[derive(Debug, Serialize, ToSchema)]
#[schema(
    as = Problem,
    examples(json!({
        "type": "https://smsgate.dev/problems/insufficient_credits",
        "title": "Not enough credits",
        "status": 402,
        "detail": "the message costs 1 credits and account acme has 0",
        "code": "insufficient_credits"
    }))
)]
pub struct ProblemBody<'a> {
    /// A URL naming the problem type: the base followed by `code`.
    #[serde(rename = "type")]
    #[schema(format = "uri")]
    problem_type: String,
    /// The same for every occurrence of the problem type.
    title: &'static str,
    /// The HTTP status.
    status: u16,
    /// What went wrong this time, for people.
    detail: &'a str,
    /// The stable machine code clients branch on (`invalid_destination`,
    /// `insufficient_credits`, `throttled`, ...).
    code: &'static str,
}

impl Serialize for Problem {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.body().serialize(serializer)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(self.body())).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        } else if self.status == StatusCode::TOO_MANY_REQUESTS {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"smsgate\", Basic realm=\"smsgate\""),
            );
        }
        response
    }
}

impl From<Rejection> for Problem {
    fn from(rejection: Rejection) -> Problem {
        let status = if rejection.code == "sender_not_allowed" {
            StatusCode::FORBIDDEN
        } else if rejection.status == CommandStatus::ESME_RSUBMITFAIL {
            StatusCode::PAYMENT_REQUIRED
        } else if rejection.status == CommandStatus::ESME_RTHROTTLED {
            StatusCode::TOO_MANY_REQUESTS
        } else if rejection.status == CommandStatus::ESME_RSYSERR {
            StatusCode::SERVICE_UNAVAILABLE
        } else {
            StatusCode::UNPROCESSABLE_ENTITY
        };
        Problem::new(status, rejection.code, rejection.reason)
    }
}

impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Problem {
        let status = match rejection {
            JsonRejection::MissingJsonContentType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            JsonRejection::BytesRejection(_) => rejection.status(),
            _ => StatusCode::BAD_REQUEST,
        };
        Problem::new(status, "bad_json", rejection.body_text())
    }
}

/// The title of each problem type: the same for every occurrence.
fn title(code: &str, status: StatusCode) -> &'static str {
    match code {
        "bad_json" => "The body is not the JSON this endpoint takes",
        "unauthorized" => "Authentication required",
        "account_disabled" => "The account is disabled",
        "address_not_allowed" => "The client address is not on the account's allowlist",
        "address_blocked" => "Too many failed logins from this address",
        "not_found" => "Not found",
        "store_unavailable" => "The gateway's store is unavailable",
        "invalid_text" => "The text cannot be sent as asked",
        "too_many_recipients" => "Too many recipients",
        "too_many_messages" => "Too many messages in one batch",
        "missing_destination" => "No recipient",
        "invalid_destination" => "Invalid recipient number",
        "missing_sender" => "No sender",
        "invalid_sender" => "Invalid sender",
        "sender_not_allowed" => "The account may not use this sender",
        "invalid_message_length" => "The message is too long",
        "invalid_schedule" => "Invalid send time",
        "invalid_validity" => "Invalid validity",
        "invalid_callback_url" => "Invalid callback URL",
        "invalid_tags" => "Invalid tags",
        "invalid_client_ref" => "Invalid client reference",
        "throttled" => "Over the account's message rate",
        "insufficient_credits" => "Not enough credits",
        "system_error" => "The gateway could not take the message",
        "csrf" => "The console session's CSRF token is missing or wrong",
        "conflict" => "It exists already",
        "invalid" => "A field has a value the API does not take",
        "internal" => "The gateway failed to do it",
        _ => status.canonical_reason().unwrap_or("Error"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_of(status: CommandStatus, code: &'static str) -> StatusCode {
        Problem::from(Rejection::new(status, code, "why")).status()
    }

    #[test]
    fn rejections_keep_their_code_and_get_the_status_saying_who_must_act() {
        assert_eq!(
            status_of(CommandStatus::ESME_RINVDSTADR, "invalid_destination"),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            status_of(CommandStatus::ESME_RINVSRCADR, "sender_not_allowed"),
            StatusCode::FORBIDDEN
        );
        assert_eq!(
            status_of(CommandStatus::ESME_RINVSRCADR, "invalid_sender"),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            status_of(CommandStatus::ESME_RSUBMITFAIL, "insufficient_credits"),
            StatusCode::PAYMENT_REQUIRED
        );
        assert_eq!(
            status_of(CommandStatus::ESME_RTHROTTLED, "throttled"),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(
            status_of(CommandStatus::ESME_RSYSERR, "system_error"),
            StatusCode::SERVICE_UNAVAILABLE
        );
    }

    #[test]
    fn body_has_the_rfc_9457_members_and_the_code() {
        let problem = Problem::unprocessable("invalid_text", "`text` is empty");
        let json = serde_json::to_value(&problem).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "type": "https://smsgate.dev/problems/invalid_text",
                "title": "The text cannot be sent as asked",
                "status": 422,
                "detail": "`text` is empty",
                "code": "invalid_text",
            })
        );
    }
}
