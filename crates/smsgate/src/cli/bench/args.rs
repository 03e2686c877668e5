//! The options of `smsgate bench smpp`, and the run they describe once
//! checked: the plan the client and the report work from, so that neither
//! has to second-guess the command line.

use std::time::Duration;

use clap::{Args, ValueEnum};

use super::super::CliError;
use super::messages::{Messages, Text};

/// Where the gateway's plaintext SMPP listener is by default.
const DEFAULT_PLAIN_HOST: &str = "127.0.0.1:2775";
/// Where the gateway's TLS listener is by default.
const DEFAULT_TLS_HOST: &str = "127.0.0.1:2776";
/// Messages sent when neither `--count` nor `--duration` is given: enough
/// for stable figures, few enough to finish in seconds on a laptop.
const DEFAULT_COUNT: u64 = 10_000;
/// Digits of every destination, country code included: UK mobiles are
/// 44 7xxx xxxxxx.
pub(super) const DESTINATION_DIGITS: usize = 12;
/// Sessions connecting and binding at once by default: the gateway's
/// default `max_unbound_per_ip`, since all of them come from one address
/// and a connection past it would be closed to make room.
const DEFAULT_BIND_CONCURRENCY: u32 = 50;

/// Options of `smsgate bench smpp`.
#[derive(Debug, Args)]
pub struct SmppArgs {
    /// The gateway's SMPP listener, HOST:PORT [default: 127.0.0.1:2775, or
    /// 127.0.0.1:2776 with --tls].
    #[arg(long, value_name = "HOST:PORT")]
    pub host: Option<String>,
    /// The account to bind as.
    #[arg(long, value_name = "ID")]
    pub system_id: String,
    /// The account's SMPP password.
    #[arg(
        long,
        env = "SMSGATE_BENCH_PASSWORD",
        hide_env_values = true,
        value_name = "PASSWORD"
    )]
    pub password: String,
    /// Sessions that submit, all bound before the first message goes.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..))]
    pub binds: u32,
    /// Sessions connecting and binding at once; the rest wait their turn,
    /// so that thousands of binds do not arrive in one instant. The
    /// gateway's `max_unbound_per_ip` should be at least this.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_BIND_CONCURRENCY, value_parser = clap::value_parser!(u32).range(1..))]
    pub bind_concurrency: u32,
    /// How the submitting sessions bind: `trx` (transceiver, receipts come
    /// back on them) or `tx` (transmitter: receipts are awaited only on the
    /// --receiver-binds).
    #[arg(long, value_enum, default_value_t = BindKind::Trx, value_name = "TYPE")]
    pub bind_type: BindKind,
    /// Receiver sessions bound besides the submitting ones, only to take
    /// receipts.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub receiver_binds: u32,
    /// submit_sm each session keeps unanswered at once (pipelined); the
    /// account's window on the gateway should be at least as large, or the
    /// excess is answered ESME_RTHROTTLED.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub window: u32,
    /// Messages to send, over all sessions; with `--text long` each is
    /// three submit_sm [default: 10000 unless --duration is given].
    #[arg(long, value_name = "N", conflicts_with = "duration", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Send for this long instead of a number of messages ("30s", "2m").
    #[arg(long, value_name = "DURATION", value_parser = humantime::parse_duration)]
    pub duration: Option<Duration>,
    /// Send nothing: bind every session (carrying on past binds that
    /// fail), hold them bound and idle for this long ("10s", "5m"),
    /// answering the gateway's enquire_link, then unbind and report how
    /// many bound, failed and were lost. Exits 1 unless every session
    /// bound and stayed bound.
    #[arg(long, value_name = "DURATION", conflicts_with_all = ["count", "duration", "rate"], value_parser = humantime::parse_duration)]
    pub idle: Option<Duration>,
    /// Most submit_sm per second over all sessions [default: as fast as the
    /// windows allow].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub rate: Option<u32>,
    /// SMPP over TLS. Any certificate is accepted: the gateway's is
    /// self-signed unless configured, and a load test is not the place to
    /// check it.
    #[arg(long)]
    pub tls: bool,
    /// What each message is: `gsm` (one GSM 7-bit segment), `ucs2` (one
    /// UCS-2 segment) or `long` (a three-segment GSM 7-bit text sent as
    /// three submit_sm with concatenation UDH).
    #[arg(long, value_enum, default_value_t = Text::Gsm, value_name = "KIND")]
    pub text: Text,
    /// Ask for no delivery receipts (registered_delivery 0), so only the
    /// submit side is measured.
    #[arg(long)]
    pub no_receipts: bool,
    /// Destinations are this prefix followed by a zero-padded counter, 12
    /// digits in all (the default gives valid UK mobiles, 4479xxxxxxxx).
    #[arg(long, value_name = "DIGITS", default_value = "4479")]
    pub destination_prefix: String,
    /// The sender of every message: digits, or an alphanumeric id.
    #[arg(long, value_name = "SENDER", default_value = "smsgate")]
    pub source: String,
    /// How long to wait, after the last submit_sm_resp, for receipts still
    /// outstanding.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = humantime::parse_duration)]
    pub receipt_wait: Duration,
    /// Print the result as one JSON line instead of text.
    #[arg(long)]
    pub json: bool,
}

/// How the submitting sessions bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BindKind {
    /// bind_transceiver: submits out, receipts in on the same session.
    Trx,
    /// bind_transmitter: submits only.
    Tx,
}

/// When the submit phase ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// After this many messages have been handed to the sessions.
    Count(u64),
    /// When this much time has passed since the first submit.
    Duration(Duration),
}

impl Stop {
    /// From `--count` and `--duration` (the duration wins when both are
    /// given; neither is `default` messages).
    pub(super) fn from_options(
        count: Option<u64>,
        duration: Option<Duration>,
        default: u64,
    ) -> Result<Stop, CliError> {
        match (count, duration) {
            (_, Some(duration)) if duration.is_zero() => {
                Err("--duration must be longer than zero".into())
            }
            (_, Some(duration)) => Ok(Stop::Duration(duration)),
            (Some(count), None) => Ok(Stop::Count(count)),
            (None, None) => Ok(Stop::Count(default)),
        }
    }
}

/// One run, checked: everything the client and the report need.
#[derive(Debug)]
pub(super) struct Plan {
    pub(super) host: String,
    pub(super) tls: bool,
    pub(super) system_id: String,
    pub(super) password: String,
    pub(super) binds: u32,
    /// Sessions connecting and binding at once.
    pub(super) bind_concurrency: usize,
    pub(super) bind_kind: BindKind,
    pub(super) receiver_binds: u32,
    pub(super) window: usize,
    pub(super) stop: Stop,
    /// `--idle`: hold the sessions bound this long and send nothing.
    pub(super) idle: Option<Duration>,
    pub(super) rate: Option<u32>,
    pub(super) text: Text,
    pub(super) messages: Messages,
    /// Whether receipts are asked for (registered_delivery 1).
    pub(super) receipts_requested: bool,
    /// Whether the run waits for receipts: asked for, and some session
    /// can receive them.
    pub(super) receipts_awaited: bool,
    pub(super) receipt_wait: Duration,
    pub(super) json: bool,
}

impl SmppArgs {
    /// Checks the options that clap cannot and resolves the defaults.
    pub(super) fn plan(self) -> Result<Plan, CliError> {
        let host = match self.host {
            Some(host) => host,
            None if self.tls => DEFAULT_TLS_HOST.to_string(),
            None => DEFAULT_PLAIN_HOST.to_string(),
        };
        let stop = Stop::from_options(self.count, self.duration, DEFAULT_COUNT)?;
        if self.idle.is_some_and(|idle| idle.is_zero()) {
            return Err("--idle must be longer than zero".into());
        }
        let receipts_requested = !self.no_receipts;
        let receives = self.bind_type == BindKind::Trx || self.receiver_binds > 0;
        let messages = Messages::new(
            self.text,
            &self.source,
            &self.destination_prefix,
            receipts_requested,
        )?;
        Ok(Plan {
            host,
            tls: self.tls,
            system_id: self.system_id,
            password: self.password,
            binds: self.binds,
            bind_concurrency: usize::try_from(self.bind_concurrency).unwrap_or(usize::MAX),
            bind_kind: self.bind_type,
            receiver_binds: self.receiver_binds,
            window: usize::try_from(self.window).unwrap_or(usize::MAX),
            stop,
            idle: self.idle,
            rate: self.rate,
            text: self.text,
            messages,
            receipts_requested,
            receipts_awaited: receipts_requested && receives,
            receipt_wait: self.receipt_wait,
            json: self.json,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: SmppArgs,
    }

    fn plan(args: &[&str]) -> Result<Plan, CliError> {
        let mut line = vec!["bench", "--system-id", "acme", "--password", "pw"];
        line.extend_from_slice(args);
        Cli::try_parse_from(line)?.args.plan()
    }

    #[test]
    fn defaults_are_four_transceivers_of_100_and_10000_messages_with_receipts() {
        let plan = plan(&[]).expect("valid");
        assert_eq!(plan.host, "127.0.0.1:2775");
        assert_eq!((plan.binds, plan.window), (4, 100));
        assert_eq!(plan.bind_kind, BindKind::Trx);
        assert_eq!(plan.stop, Stop::Count(10_000));
        assert!(plan.receipts_requested && plan.receipts_awaited);
        assert_eq!(plan.receipt_wait, Duration::from_secs(30));
        assert_eq!((plan.idle, plan.bind_concurrency), (None, 50));
    }

    #[test]
    fn tls_defaults_to_the_tls_port() {
        assert_eq!(plan(&["--tls"]).expect("valid").host, "127.0.0.1:2776");
        let given = plan(&["--tls", "--host", "gw:3000"]).expect("valid");
        assert_eq!(given.host, "gw:3000");
    }

    #[test]
    fn transmitters_await_receipts_only_with_receiver_binds() {
        assert!(
            !plan(&["--bind-type", "tx"])
                .expect("valid")
                .receipts_awaited
        );
        let with_rx = plan(&["--bind-type", "tx", "--receiver-binds", "1"]).expect("valid");
        assert!(with_rx.receipts_awaited);
        assert!(!plan(&["--no-receipts"]).expect("valid").receipts_awaited);
    }

    #[test]
    fn duration_replaces_count_and_both_at_once_are_refused() {
        let timed = plan(&["--duration", "2m"]).expect("valid");
        assert_eq!(timed.stop, Stop::Duration(Duration::from_secs(120)));
        assert!(plan(&["--duration", "1s", "--count", "5"]).is_err());
        assert!(plan(&["--duration", "0s"]).is_err());
        assert!(plan(&["--count", "0"]).is_err());
        assert!(plan(&["--window", "0"]).is_err());
    }

    #[test]
    fn idle_holds_the_sessions_and_refuses_message_options_and_zero() {
        let idle = plan(&[
            "--idle",
            "90s",
            "--binds",
            "10000",
            "--bind-concurrency",
            "100",
        ])
        .expect("valid");
        assert_eq!(idle.idle, Some(Duration::from_secs(90)));
        assert_eq!((idle.binds, idle.bind_concurrency), (10_000, 100));
        for other in [["--count", "5"], ["--duration", "1s"], ["--rate", "10"]] {
            let mut args = vec!["--idle", "1s"];
            args.extend_from_slice(&other);
            assert!(plan(&args).is_err(), "--idle with {other:?}");
        }
        assert!(plan(&["--idle", "0s"]).is_err());
        assert!(plan(&["--bind-concurrency", "0"]).is_err());
    }
}
