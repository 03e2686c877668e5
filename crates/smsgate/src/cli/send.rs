//! `smsgate send`: send one message through a running gateway's HTTP API
//! (`POST /api/v1/messages`), so that scripts and an Asterisk dialplan
//! (`System()`) can send SMS with one command.
//!
//! It is a plain API client: it works on the gateway at `--url`, not on the
//! store, so the message is accepted, charged and routed as any customer's.
//! Exit status: 0 when every recipient was accepted, 2 when the gateway
//! refused the message or a recipient (the problem on stderr), 1 when the
//! gateway could not be asked or answered something that is not its API
//! (a command line that does not parse also exits 2, before anything is sent).

use std::io::{BufRead as _, Read as _};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use reqwest::{StatusCode, Url};
use serde::{Deserialize, Serialize};

use super::CliError;
use crate::tls_roots::system_roots;

/// The longest the whole request may take: a dialplan must not hang on a
/// gateway that does not answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The longest opening the connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Exit status when the gateway refused (a problem answer).
const REFUSED: u8 = 2;

/// Options of `smsgate send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// A recipient: an international number (E.164, `+` optional); repeat
    /// for more.
    #[arg(long = "to", value_name = "NUMBER", required = true)]
    to: Vec<String>,
    /// The sender: a number or an alphanumeric id of up to 11 characters
    /// [default: the account's default sender].
    #[arg(long, value_name = "SENDER")]
    from: Option<String>,
    /// The gateway's HTTP listener.
    #[arg(
        long,
        env = "SMSGATE_URL",
        default_value = "http://127.0.0.1:8080",
        value_name = "URL"
    )]
    url: String,
    /// An API key of the account (`smsgate account api-key create`), sent
    /// as `Authorization: Bearer KEY`.
    #[arg(
        long,
        env = "SMSGATE_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    api_key: Option<String>,
    /// Authenticate as this account with its SMPP password (HTTP Basic),
    /// read from stdin; wins over `--api-key` and SMSGATE_API_KEY.
    #[arg(long, value_name = "SYSTEM_ID", requires = "password_stdin")]
    user: Option<String>,
    /// Read the password for `--user` from the first line of stdin.
    #[arg(long, requires = "user")]
    password_stdin: bool,
    /// Your own reference, echoed in the answer.
    #[arg(long, value_name = "R")]
    client_ref: Option<String>,
    /// Print the gateway's JSON answer instead of one line per recipient.
    #[arg(long)]
    json: bool,
    /// The text; `-` reads it from stdin (after the password line, with
    /// `--password-stdin`), without its final newline.
    text: String,
}

/// How the request authenticates.
enum Credentials {
    ApiKey(String),
    Basic { system_id: String, password: String },
}

/// The request body (see `ingress::http_api::send::SendRequest`).
#[derive(Debug, Serialize)]
struct SendRequest<'a> {
    to: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<&'a str>,
    text: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_ref: Option<&'a str>,
}

/// The parts of the `201 Created` answer printed.
#[derive(Debug, Deserialize)]
struct SendAnswer {
    messages: Vec<RecipientOutcome>,
}

/// One recipient's outcome.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RecipientOutcome {
    Accepted {
        to: String,
        id: String,
        segments: u32,
    },
    Refused {
        to: String,
        problem: Problem,
    },
}

/// An RFC 9457 problem as the gateway writes it.
#[derive(Debug, Deserialize)]
struct Problem {
    title: String,
    detail: String,
    code: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {} ({})", self.title, self.detail, self.code)
    }
}

/// Sends the message and prints the outcome; the exit status says whether
/// the gateway took it.
pub fn run(args: SendArgs) -> Result<ExitCode, CliError> {
    let endpoint = endpoint(&args.url)?;
    let mut stdin = std::io::stdin().lock();
    let credentials = match (args.user, args.api_key) {
        (Some(system_id), _) => {
            let mut line = String::new();
            stdin.read_line(&mut line)?;
            Credentials::Basic {
                system_id,
                password: without_newline(&line).to_string(),
            }
        }
        (None, Some(key)) => Credentials::ApiKey(key),
        (None, None) => {
            return Err("give --api-key KEY (or SMSGATE_API_KEY), or --user SYSTEM_ID \
                        --password-stdin; create a key with `smsgate account api-key create SYSTEM_ID`"
                .into());
        }
    };
    let text = if args.text == "-" {
        let mut text = String::new();
        stdin.read_to_string(&mut text)?;
        without_newline(&text).to_string()
    } else {
        args.text
    };
    let body = SendRequest {
        to: &args.to,
        from: args.from.as_deref(),
        text: &text,
        client_ref: args.client_ref.as_deref(),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let (status, answer) = runtime.block_on(post(&endpoint, &credentials, &body))?;
    if args.json {
        println!("{answer}");
    }
    if status.is_success() {
        let answer: SendAnswer = serde_json::from_str(&answer).map_err(|error| {
            format!("the gateway at {endpoint} answered {status} with an unexpected body: {error}")
        })?;
        Ok(report(answer, !args.json))
    } else {
        let problem: Problem = serde_json::from_str(&answer).map_err(|_| {
            format!(
                "{endpoint} answered {status}, not as smsgate's API does (is --url the gateway's \
                 HTTP listener?): {}",
                answer.chars().take(200).collect::<String>()
            )
        })?;
        eprintln!("smsgate send: {problem}");
        Ok(ExitCode::from(REFUSED))
    }
}

/// `{url}/api/v1/messages`, checked.
fn endpoint(url: &str) -> Result<Url, CliError> {
    let endpoint = format!("{}/api/v1/messages", url.trim_end_matches('/'));
    let parsed = Url::parse(&endpoint).map_err(|error| {
        format!("--url {url:?} is not a URL like http://127.0.0.1:8080: {error}")
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!("--url {url:?} must start with http:// or https://").into());
    }
    Ok(parsed)
}

/// Posts the request; the answer's status and body, whatever the status.
async fn post(
    endpoint: &Url,
    credentials: &Credentials,
    body: &SendRequest<'_>,
) -> Result<(StatusCode, String), CliError> {
    let client = client(endpoint.scheme() == "https")?;
    let request = client.post(endpoint.clone()).json(body);
    let request = match credentials {
        Credentials::ApiKey(key) => request.bearer_auth(key),
        Credentials::Basic {
            system_id,
            password,
        } => request.basic_auth(system_id, Some(password)),
    };
    let unreachable = |error: reqwest::Error| {
        format!("cannot reach the gateway at {endpoint}: {}", chain(&error))
    };
    let response = request.send().await.map_err(unreachable)?;
    let status = response.status();
    let answer = response.text().await.map_err(unreachable)?;
    Ok((status, answer))
}

/// An HTTP client: rustls with the ring provider and the system's roots
/// (only needed, and then required, for https), no redirects (they would
/// turn the POST into a GET).
fn client(https: bool) -> Result<reqwest::Client, CliError> {
    let roots = if https {
        system_roots()?
    } else {
        rustls::RootCertStore::empty()
    };
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .user_agent(concat!("smsgate-send/", env!("CARGO_PKG_VERSION")))
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(CONNECT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    Ok(client)
}

/// Prints each recipient's outcome (accepted ones on stdout unless the
/// JSON was printed, refused ones on stderr); 2 if any was refused.
fn report(answer: SendAnswer, print_accepted: bool) -> ExitCode {
    let mut refused = false;
    for outcome in answer.messages {
        match outcome {
            RecipientOutcome::Accepted { to, id, segments } => {
                if print_accepted {
                    let plural = if segments == 1 { "" } else { "s" };
                    println!("{to} {id} {segments} segment{plural}");
                }
            }
            RecipientOutcome::Refused { to, problem } => {
                refused = true;
                eprintln!("smsgate send: {to}: {problem}");
            }
        }
    }
    if refused {
        ExitCode::from(REFUSED)
    } else {
        ExitCode::SUCCESS
    }
}

/// The line without its final newline (`\n` or `\r\n`).
fn without_newline(line: &str) -> &str {
    let line = line.strip_suffix('\n').unwrap_or(line);
    line.strip_suffix('\r').unwrap_or(line)
}

/// The error and its causes: reqwest's own message only names the URL.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_appends_the_api_path_once() {
        assert_eq!(
            endpoint("http://127.0.0.1:8080/").expect("valid").as_str(),
            "http://127.0.0.1:8080/api/v1/messages"
        );
        assert_eq!(
            endpoint("https://sms.example.com/gw")
                .expect("valid")
                .as_str(),
            "https://sms.example.com/gw/api/v1/messages"
        );
        assert!(endpoint("127.0.0.1:8080").is_err());
        assert!(endpoint("ftp://example.com").is_err());
    }

    #[test]
    fn answers_parse_into_accepted_and_refused_recipients() {
        let answer: SendAnswer = serde_json::from_value(serde_json::json!({
            "messages": [
                { "to": "447911123456", "id": "01J", "segments": 2, "credits": 2 },
                { "to": "1", "problem": {
                    "type": "https://smsgate.dev/problems/invalid_destination",
                    "title": "Invalid recipient number", "status": 422,
                    "detail": "not a number", "code": "invalid_destination" } },
            ],
            "credits_charged": 2,
        }))
        .expect("parses");
        assert!(matches!(
            &answer.messages[0],
            RecipientOutcome::Accepted { id, segments: 2, .. } if id == "01J"
        ));
        match &answer.messages[1] {
            RecipientOutcome::Refused { problem, .. } => assert_eq!(
                problem.to_string(),
                "Invalid recipient number: not a number (invalid_destination)"
            ),
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn stdin_lines_lose_only_their_final_newline() {
        assert_eq!(without_newline("two\nlines\r\n"), "two\nlines");
        assert_eq!(without_newline("secret"), "secret");
    }
}
