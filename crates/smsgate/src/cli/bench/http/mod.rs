//! `smsgate bench http`: the customer HTTP API under load, as `bench smpp`
//! loads SMPP.
//!
//! It opens `--connections` keep-alive connections, sends on each one
//! request after another (one message to `POST /api/v1/messages`, or
//! `--batch` of them to `/api/v1/messages/batch`; or Kannel's `GET
//! /cgi-bin/sendsms`, to measure Kannel on the same machine with the same
//! load), and counts what the answers say of each message. With
//! `--callbacks` it also listens on 127.0.0.1, has each message report its
//! final state there, and matches the reports to the messages answered.
//!
//! The files split by job: `args` (options and the checked plan),
//! `requests` (what is sent and what an answer means), `connection` (the
//! connections and their loops), `callbacks` (the listener) and `report`.

mod args;
mod callbacks;
mod connection;
mod report;
mod requests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::task::JoinSet;

pub use args::{Api, HttpArgs};

use super::super::CliError;
use super::stats;
use connection::{Connector, Run};
use report::{Report, Setup};
use requests::Requests;

/// How often the end of the callback wait checks whether all are in.
const CALLBACK_POLL: Duration = Duration::from_millis(10);

/// Connects, sends, waits for the callbacks; the report as printed.
pub(super) async fn run(args: HttpArgs) -> Result<String, CliError> {
    let plan = args.plan()?;
    let listener = if plan.callbacks {
        Some(callbacks::bind().await?)
    } else {
        None
    };
    let requests = Requests::new(&plan, listener.as_ref().map(|(_, addr)| *addr))?;
    let connector = Connector::new(&plan.target)?;
    let connections = connection::open_all(&connector, plan.connections, &plan.url).await?;
    let setup = Setup {
        api: plan.api.name(),
        url: plan.url.clone(),
        connections: plan.connections,
        batch: plan.batch,
        callbacks: plan.callbacks,
    };
    let json = plan.json;
    let run = Arc::new(Run::new(plan, requests, connector, Instant::now()));
    let listening = listener.map(|(listener, _)| callbacks::serve(listener, Arc::clone(&run)));
    let progress = tokio::spawn(stats::progress(Arc::clone(&run.counters), run.start));

    let mut senders = JoinSet::new();
    for connection in connections {
        senders.spawn(connection::send_loop(Arc::clone(&run), connection));
    }
    let mut seen = Vec::with_capacity(senders.len());
    while let Some(done) = senders.join_next().await {
        seen.push(done.map_err(|e| format!("a connection's loop failed: {e}"))?);
    }

    if run.plan.callbacks {
        let deadline = Instant::now() + run.plan.callback_wait;
        while run.counters.outstanding() > 0 && Instant::now() < deadline {
            tokio::time::sleep(CALLBACK_POLL).await;
        }
    }
    let end = Instant::now();
    progress.abort();
    stats::clear_progress();
    if let Some(listening) = listening {
        listening.abort();
    }

    let report = Report::new(setup, seen, &run, end);
    Ok(if json {
        report.json().to_string()
    } else {
        report.text()
    })
}
