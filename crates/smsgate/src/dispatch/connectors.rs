//! The running connectors of a node, by name, built from `[connectors.*]`.
//!
//! A `sim` connector is two things: a simulator listening on 127.0.0.1 and
//! an smpp connector bound to it, so the demo and the tests exercise the
//! same SMPP path a carrier would. Dispatch only sees the smpp connector.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use tokio::sync::mpsc;

use crate::config::{ConfigError, ConnectorConfig};
use crate::connectors::InboundEvent;
use crate::connectors::sim::SimServer;
use crate::connectors::smpp_client::{HostConfig, SmppClient, SmppClientConfig};

/// The system_id our smpp connector binds to a `sim` connector's simulator
/// with, when the simulator's configuration does not require one.
const SIM_SYSTEM_ID: &str = "smsgate";

/// Every connector of a node.
#[derive(Debug)]
pub struct Connectors {
    links: BTreeMap<String, Link>,
}

/// One connector: the client that submits, and the simulator behind it
/// when the connector is a `sim`.
#[derive(Debug)]
struct Link {
    client: SmppClient,
    simulator: Option<SimServer>,
}

impl Connectors {
    /// Starts every configured connector (binds come up in the background);
    /// their receipts and MO go to `events`. Must run within a Tokio runtime.
    pub fn start(
        configs: &BTreeMap<String, ConnectorConfig>,
        events: &mpsc::Sender<InboundEvent>,
    ) -> Result<Connectors, ConfigError> {
        let mut links = BTreeMap::new();
        for (name, config) in configs {
            let link = match config {
                ConnectorConfig::Smpp(client) => Link {
                    client: SmppClient::start(name.clone(), client.clone(), events.clone())?,
                    simulator: None,
                },
                ConnectorConfig::Sim(sim) => {
                    let local = SocketAddr::from(([127, 0, 0, 1], 0));
                    let simulator = SimServer::start(&[local], sim.clone())
                        .map_err(|e| ConfigError::Invalid(format!("connector {name}: {e}")))?;
                    let hosts = vec![HostConfig::plain(simulator.local_addr().to_string())];
                    let system_id = if sim.system_id.is_empty() {
                        SIM_SYSTEM_ID
                    } else {
                        &sim.system_id
                    };
                    let client = SmppClientConfig::new(system_id, &sim.password, hosts);
                    Link {
                        client: SmppClient::start(name.clone(), client, events.clone())?,
                        simulator: Some(simulator),
                    }
                }
            };
            links.insert(name.clone(), link);
        }
        Ok(Connectors { links })
    }

    /// The connector called `name`, if it runs.
    pub fn get(&self, name: &str) -> Option<&SmppClient> {
        self.links.get(name).map(|link| &link.client)
    }

    /// Whether `name` has a bind up: routing tries connectors without one last.
    pub fn is_healthy(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|client| client.health().bound > 0)
    }

    /// Unbinds every connector (each waits for its submits in flight), then
    /// stops the simulators.
    pub async fn shutdown(self) {
        let mut simulators = Vec::new();
        for link in self.links.into_values() {
            link.client.shutdown().await;
            simulators.extend(link.simulator);
        }
        for simulator in simulators {
            simulator.shutdown().await;
        }
    }
}
