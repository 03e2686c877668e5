//! `smsgate bench`: load-test a running gateway from the customer's side.
//!
//! `bench smpp` binds several sessions as a customer account, keeps each
//! one's window of submit_sm in flight, answers every receipt at once and
//! matches it to its submit, and reports what the gateway sustained:
//! submits per second, receipts per second, end to end, and the latencies
//! of both. It speaks through our own SMPP session layer, the same one the
//! gateway serves with, so a run exercises exactly what customers use
//! (pipelined windows, TLS), with nothing to install. With `--idle` it
//! sends nothing: it binds (a bounded number at a time) as many sessions
//! as asked, holds them bound and idle, answering the gateway's
//! enquire_link, and reports how many bound, failed and were lost: what
//! the gateway's memory per idle session is measured with.
//!
//! `bench http` does the same over the customer HTTP API (or Kannel's
//! sendsms, for comparison): keep-alive connections, single messages or
//! batches, and the callbacks of their final states on a local listener.
//! It lives in `http/`.
//!
//! The files split by job: `args` (options and the checked plan),
//! `messages` (the submit_sm sent), `tls`, `client` (sessions and their
//! loops) and `stats` (counting, matching, the report).

mod args;
mod client;
mod http;
mod messages;
mod stats;
mod tls;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use smpp::session::SessionHandle;
use tokio::task::JoinSet;

pub use args::{BindKind, SmppArgs};
pub use http::{Api, HttpArgs};
pub use messages::Text;

use super::CliError;
use args::Plan;
use client::Run;
use stats::{BindProgress, IdleReport, Report, Setup};

/// How often the end of the receipt wait checks whether all are in: often
/// enough that the run does not overstay by much.
const RECEIPT_POLL: Duration = Duration::from_millis(10);
/// How long the sessions get to unbind at the end before they are closed.
const UNBIND_TIMEOUT: Duration = Duration::from_secs(10);

/// Options of `smsgate bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What to load.
    #[command(subcommand)]
    pub command: BenchCommand,
}

/// The load generators.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Bind as a customer over SMPP, submit as fast as the windows (or
    /// --rate) allow, await the receipts, and report rates and latencies.
    Smpp(SmppArgs),
    /// Send over the customer HTTP API (or Kannel's sendsms) on keep-alive
    /// connections, singly or in batches, optionally await each message's
    /// final callback, and report rates and latencies.
    Http(HttpArgs),
}

/// Runs a load test and prints its report on stdout.
pub fn run(args: BenchArgs) -> Result<(), CliError> {
    match args.command {
        BenchCommand::Smpp(args) => {
            let plan = args.plan()?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            if plan.idle.is_some() {
                let (report, all_held) = runtime.block_on(smpp_idle(plan))?;
                println!("{report}");
                return if all_held {
                    Ok(())
                } else {
                    Err("not every session bound and stayed bound".into())
                };
            }
            let report = runtime.block_on(smpp(plan))?;
            println!("{report}");
            Ok(())
        }
        BenchCommand::Http(args) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let report = runtime.block_on(http::run(args))?;
            println!("{report}");
            Ok(())
        }
    }
}

/// `--idle`: binds every session it can, holds them bound sending nothing,
/// unbinds; the report as printed, and whether every session bound and
/// stayed bound.
async fn smpp_idle(plan: Plan) -> Result<(String, bool), CliError> {
    let idle = plan.idle.unwrap_or_default();
    let tls = plan.tls.then(tls::connector).transpose()?;
    let sessions = plan.binds + plan.receiver_binds;
    let counts = Arc::new(BindProgress::default());
    let bind_start = Instant::now();
    let progress = tokio::spawn(stats::progress_line({
        let counts = Arc::clone(&counts);
        move || {
            format!(
                "{:>6.1}s  bound {} of {}, {} failed",
                bind_start.elapsed().as_secs_f64(),
                counts.bound.load(Ordering::Relaxed),
                sessions,
                counts.failed.load(Ordering::Relaxed),
            )
        }
    }));
    let binds = client::bind_each(&plan, tls.as_ref(), &counts).await;
    progress.abort();
    let bind_seconds = bind_start.elapsed().as_secs_f64();
    let (bound, failed, first_failure) =
        (binds.bound.len() as u64, binds.failed, binds.first_failure);
    let host = plan.host.clone();
    let (bind_kind, receiver_binds) = (client::bind_kind_name(plan.bind_kind), plan.receiver_binds);

    let run = Arc::new(Run::new(plan, Instant::now()));
    let held_since = Instant::now();
    let (handles, receivers) = client::hold_idle(&run, binds.bound, idle, || {
        stats::show_progress(&format!(
            "{:>6.1}s of {:?}  idle, {} of {} bound, {} lost",
            held_since.elapsed().as_secs_f64(),
            idle,
            bound,
            sessions,
            run.counters.sessions_lost.load(Ordering::Relaxed),
        ));
    })
    .await;
    let idle_seconds = held_since.elapsed().as_secs_f64();
    run.ending.store(true, Ordering::Relaxed);
    let lost = run.counters.sessions_lost.load(Ordering::Relaxed);
    stats::clear_progress();
    end_sessions(handles, receivers).await;

    let report = IdleReport {
        host,
        bind_kind,
        receiver_binds,
        sessions,
        bound,
        failed,
        first_failure,
        lost,
        bind_seconds,
        idle_seconds,
    };
    let all_held = report.all_held();
    let printed = if run.plan.json {
        report.json().to_string()
    } else {
        report.text()
    };
    Ok((printed, all_held))
}

/// Unbinds every session (closing those that do not answer in time) and
/// waits for their readers to see them close.
async fn end_sessions(handles: Vec<SessionHandle>, receivers: JoinSet<()>) {
    let unbinds = futures::future::join_all(handles.iter().map(SessionHandle::unbind));
    if tokio::time::timeout(UNBIND_TIMEOUT, unbinds).await.is_err() {
        for handle in &handles {
            handle.close();
        }
    }
    drop(handles);
    if tokio::time::timeout(UNBIND_TIMEOUT, receivers.join_all())
        .await
        .is_err()
    {
        eprintln!("smsgate bench: some sessions did not close in time");
    }
}

/// Binds, submits, waits for the receipts, unbinds; the report as printed.
async fn smpp(plan: Plan) -> Result<String, CliError> {
    let tls = plan.tls.then(tls::connector).transpose()?;
    let sessions = client::bind_all(&plan, tls.as_ref()).await?;
    let setup = Setup {
        host: plan.host.clone(),
        binds: plan.binds,
        bind_kind: client::bind_kind_name(plan.bind_kind),
        receiver_binds: plan.receiver_binds,
        window: plan.window,
        text: plan.text.name(),
        parts: plan.messages.parts(),
        receipts_requested: plan.receipts_requested,
        receipts_awaited: plan.receipts_awaited,
    };
    let json = plan.json;
    let run = Arc::new(Run::new(plan, Instant::now()));
    let progress = tokio::spawn(stats::progress(Arc::clone(&run.counters), run.start));

    let mut handles = Vec::with_capacity(sessions.len());
    let mut receivers = JoinSet::new();
    let mut submitters = JoinSet::new();
    for session in sessions {
        handles.push((session.handle.clone(), session.receives));
        receivers.spawn(client::receive_loop(Arc::clone(&run), session.events));
        if session.submits {
            submitters.spawn(client::submit_loop(Arc::clone(&run), session.handle));
        }
    }
    let mut binds = Vec::with_capacity(submitters.len());
    while let Some(done) = submitters.join_next().await {
        binds.push(done.map_err(|e| format!("a submit loop failed: {e}"))?);
    }

    if run.plan.receipts_awaited {
        let deadline = Instant::now() + run.plan.receipt_wait;
        let receiving = || {
            handles
                .iter()
                .any(|(handle, receives)| *receives && !handle.is_closed())
        };
        while run.counters.outstanding() > 0 && Instant::now() < deadline && receiving() {
            tokio::time::sleep(RECEIPT_POLL).await;
        }
    }
    let end = Instant::now();

    run.ending.store(true, Ordering::Relaxed);
    progress.abort();
    stats::clear_progress();
    let unbinds = futures::future::join_all(handles.iter().map(|(handle, _)| handle.unbind()));
    if tokio::time::timeout(UNBIND_TIMEOUT, unbinds).await.is_err() {
        for (handle, _) in &handles {
            handle.close();
        }
    }
    drop(handles);
    if tokio::time::timeout(UNBIND_TIMEOUT, receivers.join_all())
        .await
        .is_err()
    {
        eprintln!("smsgate bench: some sessions did not close in time");
    }

    let report = Report::new(
        setup,
        run.messages(),
        binds,
        &run.tracker,
        &run.counters,
        run.start,
        end,
    );
    Ok(if json {
        report.json().to_string()
    } else {
        report.text()
    })
}
