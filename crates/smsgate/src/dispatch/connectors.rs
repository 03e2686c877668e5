//! The running connectors of a node, by name, built from `[connectors.*]`.
//!
//! A `sim` connector is two things: a simulator listening on 127.0.0.1 and
//! an smpp connector bound to it, so the demo and the tests exercise the
//! same SMPP path a carrier would. Dispatch only sees the smpp connector.
//!
//! On a reload the connectors whose settings did not change keep running
//! (their binds stay up); changed and removed ones are retired: dispatch
//! stops giving them messages, and they are shut down (unbinding after
//! their submits in flight) once no pass holds them any more.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tracing::{info, warn};

use super::config::{ConnectorConfig, ConnectorKind};
use super::outcomes::Outcomes;
use super::shape::LongMessages;
use crate::connectors::http::HttpConnector;
use crate::connectors::sim::SimServer;
use crate::connectors::smpp_client::{HostConfig, SmppClient, SmppClientConfig};
use crate::connectors::{ConnectorHealth, Inbound, OutboundSegment, SubmitOutcome};
use crate::settings::InvalidSetting;
use crate::trace_switch::TraceSwitches;

/// The system_id our smpp connector binds to a `sim` connector's simulator
/// with, when the simulator's configuration does not require one.
const SIM_SYSTEM_ID: &str = "smsgate";

/// How long a retired connector may stay in use by passes before it is
/// stopped anyway (a pass's submit is bounded by its response timeout).
const RETIRE_WAIT: Duration = Duration::from_secs(60);

/// Every connector of a node.
#[derive(Debug)]
pub struct Connectors {
    links: BTreeMap<String, Arc<Link>>,
    /// Where every connector's receipts and MO go, kept for connectors
    /// started by a reload.
    events: mpsc::Sender<Inbound>,
    /// The node's trace switches, given to every connector started.
    trace: TraceSwitches,
}

/// One running connector, with what dispatch needs to know about its answers.
#[derive(Debug)]
pub struct Link {
    transport: Transport,
    simulator: Option<SimServer>,
    outcomes: Outcomes,
    synchronous: bool,
    long_messages: LongMessages,
    /// The settings it was started with: a reload restarts it only when they change.
    config: ConnectorConfig,
}

#[derive(Debug)]
enum Transport {
    Smpp(SmppClient),
    Http(HttpConnector),
}

impl Link {
    fn start(
        name: &str,
        config: &ConnectorConfig,
        events: &mpsc::Sender<Inbound>,
        trace: &TraceSwitches,
    ) -> Result<Link, InvalidSetting> {
        let outcomes = Outcomes::from_config(name, &config.outcomes)?;
        let (transport, simulator) = match &config.kind {
            ConnectorKind::Smpp(client) => (
                Transport::Smpp(SmppClient::start_traced(
                    name.to_string(),
                    client.clone(),
                    events.clone(),
                    trace.clone(),
                )?),
                None,
            ),
            ConnectorKind::Http(http) => (
                Transport::Http(HttpConnector::start_traced(
                    name.to_string(),
                    http.clone(),
                    trace.clone(),
                )?),
                None,
            ),
            ConnectorKind::Sim(sim) => {
                let local = SocketAddr::from(([127, 0, 0, 1], 0));
                let simulator = SimServer::start(&[local], sim.clone())
                    .map_err(|e| InvalidSetting(format!("connector {name}: {e}")))?;
                let hosts = vec![HostConfig::plain(simulator.local_addr().to_string())];
                let system_id = if sim.system_id.is_empty() {
                    SIM_SYSTEM_ID
                } else {
                    &sim.system_id
                };
                let client = SmppClientConfig::new(system_id, &sim.password, hosts);
                (
                    Transport::Smpp(SmppClient::start_traced(
                        name.to_string(),
                        client,
                        events.clone(),
                        trace.clone(),
                    )?),
                    Some(simulator),
                )
            }
        };
        Ok(Link {
            transport,
            simulator,
            outcomes,
            synchronous: config.synchronous,
            // An HTTP API takes the whole text in one request; SMPP
            // carriers most commonly want UDH segments.
            long_messages: config.long_messages.unwrap_or(match config.kind {
                ConnectorKind::Http(_) => LongMessages::Payload,
                _ => LongMessages::Udh,
            }),
            config: config.clone(),
        })
    }

    /// Sends one segment and waits for the provider's answer.
    pub async fn submit(&self, segment: &OutboundSegment) -> SubmitOutcome {
        match &self.transport {
            Transport::Smpp(client) => client.submit(segment).await,
            Transport::Http(client) => client.submit(segment).await,
        }
    }

    /// What it is, as configured: `smpp`, `http` or `sim`.
    pub fn kind(&self) -> &'static str {
        match self.config.kind {
            ConnectorKind::Smpp(_) => "smpp",
            ConnectorKind::Http(_) => "http",
            ConnectorKind::Sim(_) => "sim",
        }
    }

    /// How it is doing.
    pub fn health(&self) -> ConnectorHealth {
        match &self.transport {
            Transport::Smpp(client) => client.health(),
            Transport::Http(client) => client.health(),
        }
    }

    /// Its outcome table.
    pub fn outcomes(&self) -> &Outcomes {
        &self.outcomes
    }

    /// How its carrier takes long messages.
    pub fn long_messages(&self) -> LongMessages {
        self.long_messages
    }

    /// Whether a successful submit is already the final outcome.
    pub fn is_synchronous(&self) -> bool {
        self.synchronous
    }

    /// Unbinds (waiting for its submits in flight), then stops its simulator.
    async fn shutdown(self) {
        match self.transport {
            Transport::Smpp(client) => client.shutdown().await,
            Transport::Http(client) => client.shutdown().await,
        }
        if let Some(simulator) = self.simulator {
            simulator.shutdown().await;
        }
    }
}

impl Connectors {
    /// Starts every configured connector (binds come up in the background);
    /// their receipts and MO go to `events`; each logs its traffic while
    /// its switch in `trace` is on. Must run within a Tokio runtime.
    pub fn start(
        configs: &BTreeMap<String, ConnectorConfig>,
        events: &mpsc::Sender<Inbound>,
        trace: &TraceSwitches,
    ) -> Result<Connectors, InvalidSetting> {
        let mut links = BTreeMap::new();
        for (name, config) in configs {
            links.insert(
                name.clone(),
                Arc::new(Link::start(name, config, events, trace)?),
            );
        }
        Ok(Connectors {
            links,
            events: events.clone(),
            trace: trace.clone(),
        })
    }

    /// No connectors (what a stopped dispatcher holds).
    pub fn empty() -> Connectors {
        let (events, _) = mpsc::channel(1);
        Connectors {
            links: BTreeMap::new(),
            events,
            trace: TraceSwitches::new(),
        }
    }

    /// The connectors for `configs`: those whose settings are unchanged are
    /// taken over from `self` as they run, the others started. Returns the
    /// new set and the connectors of `self` it does not keep (to be
    /// [`retire`](Connectors::retire)d). Nothing changes if a new connector
    /// fails to start (the ones started are stopped again).
    pub fn reconfigure(
        &self,
        configs: &BTreeMap<String, ConnectorConfig>,
    ) -> Result<(Connectors, Vec<Arc<Link>>), InvalidSetting> {
        let mut links = BTreeMap::new();
        let mut started = Vec::new();
        for (name, config) in configs {
            let link = match self.links.get(name) {
                Some(running) if running.config == *config => Arc::clone(running),
                _ => match Link::start(name, config, &self.events, &self.trace) {
                    Ok(link) => {
                        started.push(name.clone());
                        Arc::new(link)
                    }
                    Err(error) => {
                        let fresh: Vec<Arc<Link>> = started
                            .iter()
                            .filter_map(|name| links.remove(name))
                            .collect();
                        tokio::spawn(retire(fresh));
                        return Err(error);
                    }
                },
            };
            links.insert(name.clone(), link);
        }
        let retired = self
            .links
            .iter()
            .filter(|(name, link)| links.get(*name).is_none_or(|kept| !Arc::ptr_eq(kept, link)))
            .map(|(_, link)| Arc::clone(link))
            .collect();
        if !started.is_empty() {
            info!(connectors = ?started, "dispatch: connectors started by the reload");
        }
        Ok((
            Connectors {
                links,
                events: self.events.clone(),
                trace: self.trace.clone(),
            },
            retired,
        ))
    }

    /// The connector called `name`, if it runs.
    pub fn get(&self, name: &str) -> Option<&Arc<Link>> {
        self.links.get(name)
    }

    /// Every connector by name.
    pub fn links(&self) -> impl Iterator<Item = (&String, &Arc<Link>)> {
        self.links.iter()
    }

    /// The connectors' names and health, by name.
    pub fn health(&self) -> BTreeMap<String, ConnectorHealth> {
        self.links
            .iter()
            .map(|(name, link)| (name.clone(), link.health()))
            .collect()
    }

    /// Whether `name` has a bind up: routing tries connectors without one last.
    pub fn is_healthy(&self, name: &str) -> bool {
        self.get(name).is_some_and(|link| link.health().bound > 0)
    }

    /// Unbinds every connector (each waits for its submits in flight), then
    /// stops the simulators.
    pub async fn shutdown(self) {
        retire(self.links.into_values().collect()).await;
    }
}

/// Stops connectors once nothing else holds them (or after [`RETIRE_WAIT`]).
pub async fn retire(links: Vec<Arc<Link>>) {
    let deadline = tokio::time::Instant::now() + RETIRE_WAIT;
    let mut waiting = links;
    while !waiting.is_empty() {
        let mut still_held = Vec::new();
        for link in waiting {
            match Arc::try_unwrap(link) {
                Ok(link) => link.shutdown().await,
                Err(link) => still_held.push(link),
            }
        }
        waiting = still_held;
        if waiting.is_empty() {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            warn!(
                connectors = waiting.len(),
                "dispatch: connectors still in use after {RETIRE_WAIT:?}; they stop when released"
            );
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
