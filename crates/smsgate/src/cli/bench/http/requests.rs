//! What goes over the wire: the request that carries some messages (a
//! JSON POST to smsgate's API, or a GET of Kannel's sendsms), and what its
//! answer says became of each of them.
//!
//! Every message of a run has a number; its destination is the prefix
//! followed by that number, zero-padded, so the gateway stores and routes
//! each as a real customer's message. A Kannel message is tracked under
//! its number (it is in the dlr-url), a gateway message under the id the
//! gateway answered.

use std::net::SocketAddr;

use base64::Engine as _;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderValue, USER_AGENT};
use hyper::{Method, Request, StatusCode, Uri};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};

use super::super::super::CliError;
use super::super::args::DESTINATION_DIGITS;
use super::args::{Api, Credentials, Plan};

/// One GSM 7-bit segment (ASCII letters only, which every alphabet table
/// and Kannel's default charset agree on).
const TEXT: &str = "smsgate bench: a test message from the HTTP load generator";
/// Kannel's dlr-mask for final reports only: delivered (1), not delivered
/// (2), refused by the SMSC (16).
const KANNEL_FINAL_DLR_MASK: u32 = 1 + 2 + 16;
/// The start of Kannel's answer to a message it took.
const KANNEL_ACCEPTED: &[u8] = b"0:";
/// The longest refusal reason kept from an answer, in characters.
const MAX_REASON: usize = 60;
/// The path of the callback listener for the gateway's status events.
pub(super) const CALLBACK_PATH: &str = "/callbacks";
/// The path of the callback listener for Kannel's delivery reports.
pub(super) const DLR_PATH: &str = "/dlr";

/// Builds the requests of a run; everything but the messages' numbers is
/// fixed at start.
#[derive(Debug)]
pub(super) struct Requests {
    api: Api,
    /// The API's path under the base URL.
    path: String,
    host: HeaderValue,
    /// `Authorization` for the gateway; Kannel takes its credentials in
    /// the query.
    authorization: Option<HeaderValue>,
    /// Kannel's `username=...&password=...&from=...&text=...&`, encoded.
    kannel_query: String,
    prefix: String,
    /// Digits of the counter after the prefix, and the numbers before it
    /// wraps.
    counter_width: usize,
    destinations: u64,
    from: String,
    /// The callback listener's address, when callbacks are asked for.
    callbacks: Option<SocketAddr>,
}

/// One message of smsgate's API (see `ingress::http_api::send`).
#[derive(Debug, Serialize)]
struct Message<'a> {
    to: String,
    from: &'a str,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    callback_url: Option<&'a str>,
}

/// `POST /api/v1/messages/batch`.
#[derive(Debug, Serialize)]
struct Batch<'a> {
    messages: Vec<Message<'a>>,
}

impl Requests {
    /// The requests of `plan`, reporting to the listener at `callbacks`.
    pub(super) fn new(plan: &Plan, callbacks: Option<SocketAddr>) -> Result<Requests, CliError> {
        let path = match (plan.api, plan.batch) {
            (Api::Kannel, _) => "/cgi-bin/sendsms",
            (Api::Smsgate, 1) => "/api/v1/messages",
            (Api::Smsgate, _) => "/api/v1/messages/batch",
        };
        let authorization = match (&plan.api, &plan.credentials) {
            (Api::Kannel, _) => None,
            (Api::Smsgate, Credentials::ApiKey(key)) => Some(format!("Bearer {key}")),
            (Api::Smsgate, Credentials::Password { user, password }) => {
                let pair =
                    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
                Some(format!("Basic {pair}"))
            }
        };
        let kannel_query = match &plan.credentials {
            Credentials::Password { user, password } if plan.api == Api::Kannel => format!(
                "username={}&password={}&from={}&text={}&",
                encode(user),
                encode(password),
                encode(&plan.from),
                encode(TEXT)
            ),
            _ => String::new(),
        };
        let path = format!("{}{path}", plan.target.base_path);
        // Checked here, so that every request's URI is one: the rest of it
        // is percent-encoded.
        path.parse::<Uri>()
            .map_err(|e| format!("--url {:?} has a path no request can have: {e}", plan.url))?;
        let host = HeaderValue::from_str(&plan.target.authority)
            .map_err(|_| format!("--url {:?} has a host no request can name", plan.url))?;
        let authorization = authorization
            .map(|value| HeaderValue::from_str(&value))
            .transpose()
            .map_err(|_| "the API key or the user name cannot be sent in an HTTP header")?;
        let counter_width = DESTINATION_DIGITS.saturating_sub(plan.prefix.len());
        Ok(Requests {
            api: plan.api,
            path,
            host,
            authorization,
            kannel_query,
            prefix: plan.prefix.clone(),
            counter_width,
            destinations: 10u64.pow(u32::try_from(counter_width).unwrap_or(u32::MAX)),
            from: plan.from.clone(),
            callbacks,
        })
    }

    /// The destination of message `number`: 12 digits, no `+`.
    fn destination(&self, number: u64) -> String {
        format!(
            "{}{:0width$}",
            self.prefix,
            number % self.destinations,
            width = self.counter_width
        )
    }

    /// The request carrying messages `first` to `first + count - 1`.
    pub(super) fn request(&self, first: u64, count: u32) -> Request<String> {
        let (method, uri, body) = match self.api {
            Api::Kannel => (Method::GET, self.kannel_uri(first), String::new()),
            Api::Smsgate => (Method::POST, self.path.clone(), self.json(first, count)),
        };
        let mut request = Request::new(body);
        *request.method_mut() = method;
        // The path was checked in `new`, the rest is percent-encoded.
        *request.uri_mut() = uri.parse().unwrap_or_default();
        let headers = request.headers_mut();
        headers.insert(HOST, self.host.clone());
        headers.insert(
            USER_AGENT,
            HeaderValue::from_static(concat!("smsgate-bench/", env!("CARGO_PKG_VERSION"))),
        );
        if self.api == Api::Smsgate {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        if let Some(authorization) = &self.authorization {
            headers.insert(AUTHORIZATION, authorization.clone());
        }
        request
    }

    /// The JSON body: one message, or a batch of `count`.
    fn json(&self, first: u64, count: u32) -> String {
        let callback_url = self
            .callbacks
            .map(|addr| format!("http://{addr}{CALLBACK_PATH}"));
        let message = |number: u64| Message {
            to: format!("+{}", self.destination(number)),
            from: &self.from,
            text: TEXT,
            callback_url: callback_url.as_deref(),
        };
        // Strings and an optional string: serializing cannot fail.
        if count == 1 {
            serde_json::to_string(&message(first)).unwrap_or_default()
        } else {
            let messages = (first..first + u64::from(count)).map(message).collect();
            serde_json::to_string(&Batch { messages }).unwrap_or_default()
        }
    }

    /// `/cgi-bin/sendsms?username=..&to=..`, with a dlr-url naming the
    /// message's number when callbacks are asked for (Kannel puts the
    /// report's type where `%d` is).
    fn kannel_uri(&self, number: u64) -> String {
        let mut uri = format!(
            "{}?{}to={}",
            self.path,
            self.kannel_query,
            self.destination(number)
        );
        if let Some(addr) = self.callbacks {
            let dlr_url = format!("http://{addr}{DLR_PATH}?id={number}&type=%d");
            uri.push_str(&format!(
                "&dlr-mask={KANNEL_FINAL_DLR_MASK}&dlr-url={}",
                encode(&dlr_url)
            ));
        }
        uri
    }

    /// What an answer with `status` and `body` says of the `count`
    /// messages from `first` it was for.
    pub(super) fn outcome(
        &self,
        status: StatusCode,
        body: &[u8],
        first: u64,
        count: u32,
    ) -> Outcome {
        match self.api {
            Api::Smsgate => smsgate_outcome(status, body, count),
            Api::Kannel => kannel_outcome(status, body, first),
        }
    }
}

/// What became of a request's messages, by what its answer says.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Outcome {
    /// The id each accepted message is tracked under.
    pub(super) accepted: Vec<String>,
    /// Why each refused one was: the problem's code, or Kannel's reason.
    pub(super) refused: Vec<String>,
    /// Messages the answer says nothing readable about.
    pub(super) unreadable: u64,
}

/// The gateway's answer to one message (`201`).
#[derive(Debug, Deserialize)]
struct SendAnswer {
    messages: Vec<Recipient>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Recipient {
    Accepted { id: String },
    Refused { problem: ProblemCode },
}

/// The part of an RFC 9457 problem counted.
#[derive(Debug, Deserialize)]
struct ProblemCode {
    code: String,
}

/// The gateway's answer to a batch (`200`).
#[derive(Debug, Deserialize)]
struct BatchAnswer {
    results: Vec<BatchEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum BatchEntry {
    Sent(SendAnswer),
    Refused { problem: ProblemCode },
}

fn smsgate_outcome(status: StatusCode, body: &[u8], count: u32) -> Outcome {
    let count = u64::from(count);
    let unreadable = || Outcome {
        unreadable: count,
        ..Outcome::default()
    };
    let mut outcome = Outcome::default();
    if !status.is_success() {
        // The whole request refused: by its problem, or by its status when
        // the body is not one (a proxy's page, say).
        let code = serde_json::from_slice::<ProblemCode>(body)
            .map_or_else(|_| format!("http_{}", status.as_u16()), |p| reason(&p.code));
        outcome.refused = vec![code; count as usize];
        return outcome;
    }
    // One recipient per message: each entry is one message's outcome.
    let mut one = |recipient: Recipient| match recipient {
        Recipient::Accepted { id } => outcome.accepted.push(id),
        Recipient::Refused { problem } => outcome.refused.push(reason(&problem.code)),
    };
    if count == 1 {
        match serde_json::from_slice::<SendAnswer>(body) {
            Ok(answer) if answer.messages.len() == 1 => answer.messages.into_iter().for_each(one),
            _ => return unreadable(),
        }
    } else {
        match serde_json::from_slice::<BatchAnswer>(body) {
            Ok(answer) if answer.results.len() as u64 == count => {
                let mut lost = 0;
                for entry in answer.results {
                    match entry {
                        BatchEntry::Sent(sent) if sent.messages.len() == 1 => {
                            sent.messages.into_iter().for_each(&mut one);
                        }
                        BatchEntry::Sent(_) => lost += 1,
                        BatchEntry::Refused { problem } => one(Recipient::Refused { problem }),
                    }
                }
                outcome.unreadable = lost;
            }
            _ => return unreadable(),
        }
    }
    outcome
}

/// Kannel answers a message it took `202 0: Accepted for delivery`;
/// anything else is a refusal, named by its first line.
fn kannel_outcome(status: StatusCode, body: &[u8], number: u64) -> Outcome {
    let mut outcome = Outcome::default();
    if status == StatusCode::ACCEPTED && body.starts_with(KANNEL_ACCEPTED) {
        outcome.accepted.push(number.to_string());
    } else {
        let text = String::from_utf8_lossy(body);
        let line = text.lines().next().unwrap_or_default().trim();
        outcome.refused.push(if line.is_empty() {
            format!("http_{}", status.as_u16())
        } else {
            reason(&format!("{} {line}", status.as_u16()))
        });
    }
    outcome
}

/// A reason as counted: printable and at most [`MAX_REASON`] characters.
fn reason(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control())
        .take(MAX_REASON)
        .collect()
}

/// Percent-encodes a query value.
fn encode(value: &str) -> String {
    utf8_percent_encode(value, NON_ALPHANUMERIC).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::bench::args::Stop;
    use crate::cli::bench::http::args::Target;
    use std::time::Duration;

    fn plan(api: Api, batch: u32) -> Plan {
        Plan {
            api,
            target: Target {
                https: false,
                authority: "127.0.0.1:8080".into(),
                base_path: String::new(),
            },
            url: "http://127.0.0.1:8080".into(),
            credentials: Credentials::Password {
                user: "acme".into(),
                password: "p&w".into(),
            },
            connections: 1,
            batch,
            stop: Stop::Count(10),
            rate: None,
            prefix: "4479".into(),
            from: "Acme".into(),
            callbacks: true,
            callback_wait: Duration::from_secs(1),
            json: true,
        }
    }

    fn listener() -> Option<SocketAddr> {
        Some(SocketAddr::from(([127, 0, 0, 1], 9000)))
    }

    #[test]
    fn a_single_message_is_posted_with_basic_auth_and_the_callback_url() {
        let requests = Requests::new(&plan(Api::Smsgate, 1), listener()).expect("valid");
        let request = requests.request(7, 1);
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.uri(), "/api/v1/messages");
        assert_eq!(request.headers()[HOST], "127.0.0.1:8080");
        assert_eq!(request.headers()[AUTHORIZATION], "Basic YWNtZTpwJnc=");
        let body: serde_json::Value = serde_json::from_str(request.body()).expect("JSON");
        assert_eq!(body["to"], "+447900000007");
        assert_eq!(body["from"], "Acme");
        assert_eq!(body["callback_url"], "http://127.0.0.1:9000/callbacks");
    }

    #[test]
    fn a_base_path_no_uri_can_have_is_refused_before_the_run() {
        let mut spaced = plan(Api::Smsgate, 1);
        spaced.target.base_path = "/sms gate".into();
        assert!(Requests::new(&spaced, None).is_err());
    }

    #[test]
    fn a_batch_holds_consecutive_messages_and_goes_to_the_batch_endpoint() {
        let requests = Requests::new(&plan(Api::Smsgate, 3), None).expect("valid");
        let request = requests.request(10, 3);
        assert_eq!(request.uri(), "/api/v1/messages/batch");
        let body: serde_json::Value = serde_json::from_str(request.body()).expect("JSON");
        let to: Vec<&str> = body["messages"]
            .as_array()
            .expect("a list")
            .iter()
            .map(|m| m["to"].as_str().expect("to"))
            .collect();
        assert_eq!(to, ["+447900000010", "+447900000011", "+447900000012"]);
        assert!(body["messages"][0].get("callback_url").is_none());
    }

    #[test]
    fn kannel_gets_its_credentials_and_an_encoded_dlr_url_in_the_query() {
        let requests = Requests::new(&plan(Api::Kannel, 1), listener()).expect("valid");
        let request = requests.request(5, 1);
        assert_eq!(request.method(), Method::GET);
        let uri = request.uri().to_string();
        assert!(uri.starts_with("/cgi-bin/sendsms?username=acme&password=p%26w&from=Acme&"));
        assert!(uri.contains("&to=447900000005&dlr-mask=19&"), "{uri}");
        assert!(
            uri.ends_with(
                "dlr-url=http%3A%2F%2F127%2E0%2E0%2E1%3A9000%2Fdlr%3Fid%3D5%26type%3D%25d"
            ),
            "{uri}"
        );
        assert!(request.headers().get(AUTHORIZATION).is_none());
    }

    #[test]
    fn gateway_answers_give_each_message_its_id_or_its_problem_code() {
        let requests = Requests::new(&plan(Api::Smsgate, 2), None).expect("valid");
        let single = br#"{"messages":[{"to":"+1","id":"01A","segments":1,"credits":1}],"credits_charged":1}"#;
        assert_eq!(
            requests.outcome(StatusCode::CREATED, single, 0, 1).accepted,
            ["01A"]
        );
        let batch = br#"{"results":[{"messages":[{"to":"+1","id":"01B","segments":1,"credits":1}],"credits_charged":1},
            {"problem":{"type":"t","title":"x","status":422,"detail":"d","code":"invalid_destination"}}],"credits_charged":1}"#;
        let outcome = requests.outcome(StatusCode::OK, batch, 0, 2);
        assert_eq!(outcome.accepted, ["01B"]);
        assert_eq!(outcome.refused, ["invalid_destination"]);
        let throttled = br#"{"type":"t","title":"x","status":429,"detail":"d","code":"throttled"}"#;
        let outcome = requests.outcome(StatusCode::TOO_MANY_REQUESTS, throttled, 0, 2);
        assert_eq!(outcome.refused, ["throttled", "throttled"]);
        let proxy = requests.outcome(StatusCode::BAD_GATEWAY, b"<html>", 0, 1);
        assert_eq!(proxy.refused, ["http_502"]);
        let short = requests.outcome(StatusCode::OK, br#"{"results":[]}"#, 0, 2);
        assert_eq!(short.unreadable, 2);
    }

    #[test]
    fn kannel_accepts_with_0_and_refuses_with_anything_else() {
        let requests = Requests::new(&plan(Api::Kannel, 1), None).expect("valid");
        let taken = requests.outcome(StatusCode::ACCEPTED, b"0: Accepted for delivery", 42, 1);
        assert_eq!(taken.accepted, ["42"]);
        let queued = requests.outcome(StatusCode::ACCEPTED, b"3: Queued for later delivery", 1, 1);
        assert_eq!(queued.refused, ["202 3: Queued for later delivery"]);
        let denied = requests.outcome(
            StatusCode::FORBIDDEN,
            b"Authorization failed for sendsms\n",
            1,
            1,
        );
        assert_eq!(denied.refused, ["403 Authorization failed for sendsms"]);
    }
}
