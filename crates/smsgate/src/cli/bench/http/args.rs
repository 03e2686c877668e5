//! The options of `smsgate bench http`, and the run they describe once
//! checked: the plan the connections, the callback listener and the
//! report work from.

use std::time::Duration;

use clap::{Args, ValueEnum};

use super::super::super::CliError;
use super::super::args::{DESTINATION_DIGITS, Stop};

/// Messages sent when neither `--count` nor `--duration` is given, as for
/// `bench smpp`.
const DEFAULT_COUNT: u64 = 10_000;
/// The most messages the gateway takes in one batch (its
/// `ingress::http_api::messages::MAX_BATCH`): more is refused here rather
/// than answered 422 by every request.
const MAX_BATCH: usize = 1000;
/// The longest alphanumeric sender id a handset shows.
const ALPHANUMERIC_MAX: usize = 11;
/// The longest numeric sender the gateway takes (E.164 and then some).
const NUMERIC_MAX: usize = 20;

/// Options of `smsgate bench http`.
#[derive(Debug, Args)]
pub struct HttpArgs {
    /// The base URL of the HTTP listener: the gateway's, or Kannel's
    /// smsbox (sendsms-port) with `--api kannel`.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Which API to load: `smsgate` (POST /api/v1/messages, or
    /// /api/v1/messages/batch with --batch above 1) or `kannel` (GET
    /// /cgi-bin/sendsms with --user and --password as the sendsms-user).
    #[arg(long, value_enum, default_value_t = Api::Smsgate, value_name = "API")]
    pub api: Api,
    /// An API key of the account (`smsgate account api-key create`), sent
    /// as `Authorization: Bearer KEY`.
    #[arg(
        long,
        env = "SMSGATE_API_KEY",
        hide_env_values = true,
        value_name = "KEY",
        conflicts_with = "user"
    )]
    pub api_key: Option<String>,
    /// Authenticate as this account with its SMPP password (HTTP Basic);
    /// with `--api kannel`, the sendsms-user's username.
    #[arg(long, value_name = "USER", requires = "password")]
    pub user: Option<String>,
    /// The password of --user.
    #[arg(
        long,
        env = "SMSGATE_BENCH_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    pub password: Option<String>,
    /// Keep-alive connections, each with one request in flight at a time;
    /// all are opened before the first request goes.
    #[arg(long, value_name = "N", default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    pub connections: u32,
    /// Messages per request: 1 posts each to /api/v1/messages, more posts
    /// them together to /api/v1/messages/batch (at most 1000).
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub batch: u32,
    /// Messages to send, over all connections [default: 10000 unless
    /// --duration is given].
    #[arg(long, value_name = "N", conflicts_with = "duration", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Send for this long instead of a number of messages ("30s", "2m").
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Most messages per second over all connections (a batch goes when
    /// its first message is due) [default: as fast as the answers come].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: Option<u32>,
    /// Destinations are this prefix followed by a zero-padded counter, 12
    /// digits in all (the default gives valid UK mobiles, 4479xxxxxxxx).
    #[arg(long, value_name = "DIGITS", default_value = "4479")]
    pub to: String,
    /// The sender of every message: digits, or an alphanumeric id.
    #[arg(long, value_name = "SENDER", default_value = "smsgate")]
    pub from: String,
    /// Start a listener on 127.0.0.1, ask for each message's final state
    /// to be reported to it (smsgate: `callback_url`; Kannel: `dlr-url`
    /// with `dlr-mask` 19), and match the reports to the messages. The
    /// gateway refuses loopback callback URLs unless its `[http]
    /// callback_allow` lists 127.0.0.1.
    #[arg(long)]
    pub callbacks: bool,
    /// How long to wait, after the last answer, for callbacks still
    /// outstanding.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub callback_wait: Duration,
    /// Print the result as one JSON line instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The API a run loads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Api {
    /// smsgate's customer API.
    Smsgate,
    /// Kannel's smsbox sendsms interface.
    Kannel,
}

impl Api {
    /// As written on the command line.
    pub(super) fn name(self) -> &'static str {
        match self {
            Api::Smsgate => "smsgate",
            Api::Kannel => "kannel",
        }
    }
}

/// How requests authenticate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Credentials {
    /// `Authorization: Bearer KEY`.
    ApiKey(String),
    /// HTTP Basic for smsgate; `username` and `password` in the query
    /// for Kannel.
    Password { user: String, password: String },
}

/// Where the HTTP listener is, taken apart once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Target {
    /// `http` or `https`.
    pub(super) https: bool,
    /// HOST:PORT, for connecting, the Host header and TLS.
    pub(super) authority: String,
    /// The base path, without a trailing slash (usually empty).
    pub(super) base_path: String,
}

/// One run, checked.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) api: Api,
    pub(super) target: Target,
    /// The URL as given, for the report.
    pub(super) url: String,
    pub(super) credentials: Credentials,
    pub(super) connections: u32,
    pub(super) batch: u32,
    pub(super) stop: Stop,
    pub(super) rate: Option<u32>,
    pub(super) prefix: String,
    pub(super) from: String,
    pub(super) callbacks: bool,
    pub(super) callback_wait: Duration,
    pub(super) json: bool,
}

impl HttpArgs {
    /// Checks the options that clap cannot and resolves the defaults.
    pub(super) fn plan(self) -> Result<Plan, CliError> {
        let stop = Stop::from_options(self.count, self.duration, DEFAULT_COUNT)?;
        let credentials = match (self.api_key, self.user, self.password) {
            (Some(_), _, _) if self.api == Api::Kannel => {
                return Err(
                    "Kannel takes no API key: give --user and --password (its sendsms-user)".into(),
                );
            }
            (Some(key), _, _) => Credentials::ApiKey(key),
            (None, Some(user), Some(password)) => Credentials::Password { user, password },
            _ => {
                return Err(
                    "give --api-key KEY (or SMSGATE_API_KEY), or --user and --password \
                            (or SMSGATE_BENCH_PASSWORD); create a key with \
                            `smsgate account api-key create ACCOUNT`"
                        .into(),
                );
            }
        };
        let max_batch = match self.api {
            Api::Smsgate => MAX_BATCH,
            Api::Kannel => 1,
        };
        if usize::try_from(self.batch).unwrap_or(usize::MAX) > max_batch {
            return Err(match self.api {
                Api::Smsgate => format!(
                    "--batch {} is more than the {MAX_BATCH} messages a batch may hold",
                    self.batch
                ),
                Api::Kannel => "Kannel's sendsms takes one message per request: --batch 1".into(),
            }
            .into());
        }
        check_prefix(&self.to)?;
        check_sender(&self.from)?;
        Ok(Plan {
            api: self.api,
            target: target(&self.url)?,
            url: self.url,
            credentials,
            connections: self.connections,
            batch: self.batch,
            stop,
            rate: self.rate,
            prefix: self.to,
            from: self.from,
            callbacks: self.callbacks,
            callback_wait: self.callback_wait,
            json: self.json,
        })
    }
}

/// `--url` taken apart: http or https, host and port (the scheme's
/// default port when none is written), the path before the API's.
fn target(url: &str) -> Result<Target, CliError> {
    let bad = |why: &str| -> CliError {
        format!("--url {url:?} is not a base URL like http://127.0.0.1:8080: {why}").into()
    };
    let (https, rest) = if let Some(rest) = url.strip_prefix("http://") {
        (false, rest)
    } else if let Some(rest) = url.strip_prefix("https://") {
        (true, rest)
    } else {
        return Err(bad("it must start with http:// or https://"));
    };
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, ""),
    };
    if authority.is_empty() || authority.contains('@') {
        return Err(bad("it needs a host, and no user name in it"));
    }
    if path.contains(['?', '#']) {
        return Err(bad("it may not have a query or a fragment"));
    }
    let has_port = match authority.rfind(':') {
        Some(colon) => !authority[colon..].contains(']'),
        None => false,
    };
    let authority = if has_port {
        authority.to_string()
    } else {
        format!("{authority}:{}", if https { 443 } else { 80 })
    };
    Ok(Target {
        https,
        authority,
        base_path: path.trim_end_matches('/').to_string(),
    })
}

/// The destination prefix: digits, leaving room for a counter.
fn check_prefix(prefix: &str) -> Result<(), CliError> {
    if prefix.is_empty()
        || prefix.len() >= DESTINATION_DIGITS
        || !prefix.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(format!(
            "--to must be 1 to {} digits (the destinations' prefix), not {prefix:?}",
            DESTINATION_DIGITS - 1
        )
        .into());
    }
    Ok(())
}

/// The sender: a number, or an alphanumeric id a handset can show.
fn check_sender(from: &str) -> Result<(), CliError> {
    let numeric = !from.is_empty() && from.bytes().all(|b| b.is_ascii_digit());
    let max = if numeric {
        NUMERIC_MAX
    } else {
        ALPHANUMERIC_MAX
    };
    if from.is_empty() || from.chars().count() > max || from.chars().any(char::is_control) {
        return Err(format!(
            "--from must be 1 to {max} printable characters for a {} sender, not {from:?}",
            if numeric { "numeric" } else { "alphanumeric" }
        )
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: HttpArgs,
    }

    fn plan(args: &[&str]) -> Result<Plan, CliError> {
        let mut line = vec!["bench"];
        line.extend_from_slice(args);
        Cli::try_parse_from(line)?.args.plan()
    }

    fn with_key(args: &[&str]) -> Result<Plan, CliError> {
        let mut line = vec!["--api-key", "sgk_x"];
        line.extend_from_slice(args);
        plan(&line)
    }

    #[test]
    fn defaults_are_50_connections_of_single_messages_to_the_local_gateway() {
        let plan = with_key(&[]).expect("valid");
        assert_eq!(plan.api, Api::Smsgate);
        assert_eq!(
            plan.target,
            Target {
                https: false,
                authority: "127.0.0.1:8080".into(),
                base_path: String::new(),
            }
        );
        assert_eq!((plan.connections, plan.batch), (50, 1));
        assert_eq!(plan.stop, Stop::Count(10_000));
        assert_eq!(plan.credentials, Credentials::ApiKey("sgk_x".into()));
        assert!(!plan.callbacks);
        assert_eq!(plan.callback_wait, Duration::from_secs(30));
    }

    #[test]
    fn the_url_gives_the_scheme_port_and_base_path() {
        let https = with_key(&["--url", "https://gw.example/sms/"]).expect("valid");
        assert_eq!(
            https.target,
            Target {
                https: true,
                authority: "gw.example:443".into(),
                base_path: "/sms".into(),
            }
        );
        let v6 = with_key(&["--url", "http://[::1]"]).expect("valid");
        assert_eq!(v6.target.authority, "[::1]:80");
        let v6_port = with_key(&["--url", "http://[::1]:13013"]).expect("valid");
        assert_eq!(v6_port.target.authority, "[::1]:13013");
        for bad in ["ftp://gw", "http://", "http://u:p@gw", "http://gw/?x=1"] {
            assert!(with_key(&["--url", bad]).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_are_a_key_or_a_user_with_a_password() {
        let basic = plan(&["--user", "acme", "--password", "pw"]).expect("valid");
        assert_eq!(
            basic.credentials,
            Credentials::Password {
                user: "acme".into(),
                password: "pw".into()
            }
        );
        assert!(plan(&[]).is_err(), "none given");
        assert!(plan(&["--user", "acme"]).is_err(), "no password");
        assert!(
            plan(&["--api-key", "k", "--user", "acme", "--password", "pw"]).is_err(),
            "both"
        );
    }

    #[test]
    fn batches_are_at_most_1000_and_kannel_takes_single_messages_with_a_password() {
        assert_eq!(with_key(&["--batch", "1000"]).expect("valid").batch, 1000);
        assert!(with_key(&["--batch", "1001"]).is_err());
        assert!(with_key(&["--batch", "0"]).is_err());
        let kannel = ["--api", "kannel", "--user", "k", "--password", "pw"];
        assert_eq!(plan(&kannel).expect("valid").api, Api::Kannel);
        let mut batched = kannel.to_vec();
        batched.extend(["--batch", "10"]);
        assert!(plan(&batched).is_err());
        assert!(with_key(&["--api", "kannel"]).is_err(), "no API key");
    }

    #[test]
    fn duration_replaces_count_and_bad_senders_and_prefixes_are_refused() {
        let timed = with_key(&["--duration", "2m"]).expect("valid");
        assert_eq!(timed.stop, Stop::Duration(Duration::from_secs(120)));
        assert!(with_key(&["--duration", "1s", "--count", "5"]).is_err());
        assert!(with_key(&["--duration", "0s"]).is_err());
        assert!(with_key(&["--connections", "0"]).is_err());
        assert!(with_key(&["--to", "44x"]).is_err());
        assert!(with_key(&["--to", "447911223344"]).is_err());
        assert!(with_key(&["--from", "TwelveLetter"]).is_err());
        assert!(with_key(&["--from", "447700900123"]).is_ok());
    }
}
