//! How closely the smpp connector holds `tps_per_host` over a long run:
//! a simulator on 127.0.0.1 with N listen addresses (one per host), our
//! connector with two binds per host and the limit set, and more submits
//! queued than the limit lets through. Prints the submits per second each
//! host received, over the run and per 10 s window.
//!
//! ```sh
//! cargo run --release -p smsgate --example connector_rate -- 50 60 4
//! #                                                 tps secs hosts
//! ```

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use smpp::types::{npi, ton};
use smpp::{Address, COctetString};
use smsgate::connectors::sim::{Delay, SimConfig, SimServer};
use smsgate::connectors::smpp_client::{HostConfig, SmppClient, SmppClientConfig};
use smsgate::connectors::{OutboundSegment, SubmitOutcome};
use tokio::sync::mpsc;

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

#[tokio::main]
async fn main() {
    let tps = arg(1, 50);
    let secs = arg(2, 60);
    let hosts = arg(3, 4) as usize;
    let mut sims = Vec::new();
    for _ in 0..hosts {
        let config = SimConfig {
            latency: Delay::fixed(Duration::from_millis(2)),
            receipt_delay: Delay::fixed(Duration::from_secs(3600)),
            max_window: 100,
            ..SimConfig::default()
        };
        let local = SocketAddr::from(([127, 0, 0, 1], 0));
        sims.push(SimServer::start(&[local], config).expect("simulator"));
    }
    let host_configs = sims
        .iter()
        .map(|sim| HostConfig::plain(sim.local_addr().to_string()))
        .collect();
    let mut config = SmppClientConfig::new("acme", "pw", host_configs);
    config.tps_per_host = Some(u32::try_from(tps).unwrap_or(50));
    config.binds_per_host = 2;
    config.window = 50;
    let (events, mut received) = mpsc::channel(1024);
    tokio::spawn(async move { while received.recv().await.is_some() {} });
    let client = Arc::new(SmppClient::start("carrier".into(), config, events).expect("client"));
    while client.health().bound < hosts * 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let mut windows = Vec::new();
    let mut last = (Instant::now(), 0u64);
    let workers: Vec<_> = (0..(tps as usize * hosts).max(64))
        .map(|i| {
            let client = Arc::clone(&client);
            tokio::spawn(async move {
                let mut accepted = 0u64;
                while Instant::now() < deadline {
                    let segment = OutboundSegment {
                        message_id: format!("m{i}"),
                        source: Address::new(
                            ton::ALPHANUMERIC,
                            npi::UNKNOWN,
                            COctetString::from_static("Shop"),
                        ),
                        destination: Address::new(
                            ton::INTERNATIONAL,
                            npi::ISDN,
                            COctetString::from_static("447911123456"),
                        ),
                        esm_class: 0,
                        protocol_id: 0,
                        priority: 0,
                        data_coding: 0,
                        registered_delivery: 0,
                        validity_period: COctetString::empty(),
                        short_message: Bytes::from_static(b"rate check"),
                        tlvs: Vec::new(),
                    };
                    if matches!(
                        client.submit(&segment).await,
                        SubmitOutcome::Accepted { .. }
                    ) {
                        accepted += 1;
                    }
                }
                accepted
            })
        })
        .collect();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_secs(10)).await;
        let submits: u64 = sims.iter().map(|sim| sim.stats().accepted).sum();
        let now = Instant::now();
        let rate =
            (submits - last.1) as f64 / now.duration_since(last.0).as_secs_f64() / hosts as f64;
        windows.push(rate);
        last = (now, submits);
    }
    let mut total = 0;
    for worker in workers {
        total += worker.await.unwrap_or(0);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let per_host = total as f64 / elapsed / hosts as f64;
    println!(
        "tps_per_host {tps}, {hosts} hosts, {elapsed:.1} s: {total} accepted, {per_host:.2}/s per host ({:+.2}% of the limit)",
        (per_host / tps as f64 - 1.0) * 100.0
    );
    println!(
        "per 10 s window, per host: {}",
        windows
            .iter()
            .map(|r| format!("{r:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    if let Ok(client) = Arc::try_unwrap(client) {
        client.shutdown().await;
    }
    for sim in sims {
        sim.shutdown().await;
    }
}
