//! The order in which a route's connectors are tried for one message.
//!
//! Every strategy keeps every connector it may use: unhealthy ones go last
//! instead of being dropped, because "unhealthy" is a guess from recent
//! errors and the dispatcher's failover may still get through them. The
//! one exclusion is least_cost's: a connector with no price for the
//! destination does not serve it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::config::{RouteConfig, Strategy};
use super::prices::{Price, PriceTable};
use super::{ConnectorHealth, ConnectorNote, RouteError};

/// Health is kept as one bit per connector, so a route names at most this
/// many.
pub(super) const MAX_CONNECTORS: usize = 64;

/// A route's connectors and how to order them.
#[derive(Debug)]
pub(super) struct Connectors {
    names: Vec<Arc<str>>,
    plan: Plan,
}

#[derive(Debug)]
enum Plan {
    Failover,
    /// One table per connector, in the connectors' order.
    LeastCost(Vec<Arc<PriceTable>>),
    Weighted(SmoothWeights),
}

/// Whether choosing an order moves the weighted round robin on (a message
/// is being routed) or only looks (an explanation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Pick {
    Advance,
    Peek,
}

/// Where price tables come from while building: files (cached, so a table
/// shared by several routes is read once), or nowhere when only the
/// configuration's consistency is being checked.
pub(super) enum PriceSource<'a> {
    Files {
        base_dir: &'a Path,
        loaded: HashMap<PathBuf, Arc<PriceTable>>,
    },
    Unchecked,
}

impl Connectors {
    pub(super) fn compile(
        route: &RouteConfig,
        prices: &mut PriceSource<'_>,
    ) -> Result<Connectors, RouteError> {
        let invalid = |problem: String| RouteError::Invalid {
            route: route.name.clone(),
            problem,
        };
        if route.connectors.is_empty() {
            return Err(invalid("connectors is empty; name at least one".into()));
        }
        if route.connectors.len() > MAX_CONNECTORS {
            return Err(invalid(format!(
                "{} connectors; a route may name at most {MAX_CONNECTORS}",
                route.connectors.len()
            )));
        }
        for (index, name) in route.connectors.iter().enumerate() {
            if name.is_empty() {
                return Err(invalid("connectors has an empty name".into()));
            }
            if route.connectors[..index].contains(name) {
                return Err(invalid(format!("connector {name:?} is named twice")));
            }
        }
        if route.weights.is_some() && route.strategy != Strategy::Weighted {
            return Err(invalid(format!(
                "weights are set but the strategy is {}; use strategy = \"weighted\"",
                route.strategy.as_str()
            )));
        }
        if !route.price_tables.is_empty() && route.strategy != Strategy::LeastCost {
            return Err(invalid(format!(
                "price_tables are set but the strategy is {}; use strategy = \"least_cost\"",
                route.strategy.as_str()
            )));
        }
        let plan = match route.strategy {
            Strategy::Failover => Plan::Failover,
            Strategy::Weighted => {
                let weights = match &route.weights {
                    Some(weights) if weights.len() != route.connectors.len() => {
                        return Err(invalid(format!(
                            "weights has {} entries but connectors has {}; give one weight per connector",
                            weights.len(),
                            route.connectors.len()
                        )));
                    }
                    Some(weights) if weights.contains(&0) => {
                        return Err(invalid(
                            "weights must be at least 1 (leave a connector out instead)".into(),
                        ));
                    }
                    Some(weights) => weights.iter().map(|&w| i64::from(w)).collect(),
                    None => vec![1; route.connectors.len()],
                };
                Plan::Weighted(SmoothWeights::new(weights))
            }
            Strategy::LeastCost => {
                if let Some(stray) = route
                    .price_tables
                    .keys()
                    .find(|connector| !route.connectors.contains(connector))
                {
                    return Err(invalid(format!(
                        "price_tables names {stray:?}, which is not one of the route's connectors"
                    )));
                }
                if let Some(unpriced) = route
                    .connectors
                    .iter()
                    .find(|connector| !route.price_tables.contains_key(*connector))
                {
                    return Err(invalid(format!(
                        "strategy least_cost needs a price table for connector {unpriced:?} \
                         (price_tables = {{ {unpriced} = \"prices/{unpriced}.csv\" }})"
                    )));
                }
                let tables = route
                    .connectors
                    .iter()
                    .filter_map(|connector| route.price_tables.get(connector))
                    .map(|file| prices.load(file))
                    .collect::<Result<Vec<_>, _>>()?;
                Plan::LeastCost(tables)
            }
        };
        Ok(Connectors {
            names: route
                .connectors
                .iter()
                .map(|n| Arc::from(n.as_str()))
                .collect(),
            plan,
        })
    }

    /// The connectors as declared.
    pub(super) fn names(&self) -> &[Arc<str>] {
        &self.names
    }

    /// Whether the route can carry a message to `destination` at all: a
    /// least_cost route needs a price from at least one connector.
    pub(super) fn serves(&self, destination: &str) -> bool {
        match &self.plan {
            Plan::LeastCost(tables) => tables
                .iter()
                .any(|table| table.price_for(destination).is_some()),
            Plan::Failover | Plan::Weighted(_) => true,
        }
    }

    /// The connectors in the order to try them for `destination`.
    pub(super) fn order(
        &self,
        destination: &str,
        health: &dyn ConnectorHealth,
        pick: Pick,
    ) -> Vec<Arc<str>> {
        let healthy = self.health_mask(health);
        let is_healthy = |index: usize| healthy & (1 << index) != 0;
        let mut order: Vec<Arc<str>> = Vec::with_capacity(self.names.len());
        match &self.plan {
            Plan::Failover => {
                self.push_healthy_then_rest(&mut order, healthy, None);
            }
            Plan::Weighted(weights) => {
                let first = weights.pick(healthy, pick);
                if let Some(first) = first {
                    order.push(self.names[first].clone());
                }
                self.push_healthy_then_rest(&mut order, healthy, first);
            }
            Plan::LeastCost(tables) => {
                let mut priced: Vec<(bool, Price, usize)> = tables
                    .iter()
                    .enumerate()
                    .filter_map(|(index, table)| {
                        let (_, price) = table.price_for(destination)?;
                        Some((!is_healthy(index), price, index))
                    })
                    .collect();
                priced.sort_unstable();
                order.extend(
                    priced
                        .iter()
                        .map(|&(_, _, index)| self.names[index].clone()),
                );
            }
        }
        order
    }

    /// Each connector as declared, with its health and, for least_cost, its
    /// price for `destination` (and the prefix that set it).
    pub(super) fn notes(
        &self,
        destination: &str,
        health: &dyn ConnectorHealth,
    ) -> Vec<ConnectorNote> {
        let healthy = self.health_mask(health);
        self.names
            .iter()
            .enumerate()
            .map(|(index, name)| {
                let (price, price_prefix, price_table) = match &self.plan {
                    Plan::LeastCost(tables) => {
                        let table = &tables[index];
                        let found = table.price_for(destination);
                        (
                            found.map(|(_, price)| price),
                            found.map(|(prefix, _)| prefix.to_string()),
                            Some(table.path().display().to_string()),
                        )
                    }
                    Plan::Failover | Plan::Weighted(_) => (None, None, None),
                };
                let weight = match &self.plan {
                    Plan::Weighted(weights) => weights.weights.get(index).copied(),
                    Plan::Failover | Plan::LeastCost(_) => None,
                };
                ConnectorNote {
                    name: name.to_string(),
                    healthy: healthy & (1 << index) != 0,
                    price,
                    price_prefix,
                    price_table,
                    weight,
                }
            })
            .collect()
    }

    /// The price tables, per connector, of a least_cost route.
    pub(super) fn price_tables(&self) -> Vec<(&str, &PriceTable)> {
        match &self.plan {
            Plan::LeastCost(tables) => self
                .names
                .iter()
                .zip(tables)
                .map(|(name, table)| (&**name, &**table))
                .collect(),
            Plan::Failover | Plan::Weighted(_) => Vec::new(),
        }
    }

    /// The weights of a weighted route.
    pub(super) fn weights(&self) -> Option<&[i64]> {
        match &self.plan {
            Plan::Weighted(weights) => Some(&weights.weights),
            Plan::Failover | Plan::LeastCost(_) => None,
        }
    }

    fn health_mask(&self, health: &dyn ConnectorHealth) -> u64 {
        self.names
            .iter()
            .enumerate()
            .filter(|(_, name)| health.is_healthy(name))
            .fold(0, |mask, (index, _)| mask | 1 << index)
    }

    /// Appends the healthy connectors in declared order, then the unhealthy
    /// ones, leaving out `skip` (already placed).
    fn push_healthy_then_rest(&self, order: &mut Vec<Arc<str>>, healthy: u64, skip: Option<usize>) {
        for wanted_healthy in [true, false] {
            for (index, name) in self.names.iter().enumerate() {
                if Some(index) != skip && (healthy & (1 << index) != 0) == wanted_healthy {
                    order.push(name.clone());
                }
            }
        }
    }
}

impl PriceSource<'_> {
    fn load(&mut self, file: &Path) -> Result<Arc<PriceTable>, RouteError> {
        match self {
            PriceSource::Unchecked => Ok(Arc::new(PriceTable::unread(file))),
            PriceSource::Files { base_dir, loaded } => {
                let path = base_dir.join(file);
                if let Some(table) = loaded.get(&path) {
                    return Ok(table.clone());
                }
                let table = Arc::new(PriceTable::load(&path)?);
                loaded.insert(path, table.clone());
                Ok(table)
            }
        }
    }
}

/// Smooth weighted round robin (as nginx balances upstreams): each pick
/// adds every healthy connector's weight to its running score, takes the
/// highest score (the first declared on a tie) and takes the total off it.
/// Over one cycle of `sum(weights)` picks each connector is chosen exactly
/// `weight` times, interleaved rather than in bursts. Unhealthy connectors
/// sit out with their scores frozen.
#[derive(Debug)]
struct SmoothWeights {
    weights: Vec<i64>,
    /// The running scores, shared by every message routed through this
    /// route. Held only for the few additions of one pick, never across an
    /// await.
    current: Mutex<Vec<i64>>,
}

impl SmoothWeights {
    fn new(weights: Vec<i64>) -> SmoothWeights {
        let current = Mutex::new(vec![0; weights.len()]);
        SmoothWeights { weights, current }
    }

    /// The connector to try first, or `None` when none is healthy.
    fn pick(&self, healthy: u64, pick: Pick) -> Option<usize> {
        let mut guard = self
            .current
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut peeked;
        let current: &mut Vec<i64> = match pick {
            Pick::Advance => &mut guard,
            Pick::Peek => {
                peeked = guard.clone();
                &mut peeked
            }
        };
        let mut total = 0;
        let mut best: Option<usize> = None;
        for index in 0..current.len().min(self.weights.len()) {
            if healthy & (1 << index) == 0 {
                continue;
            }
            current[index] += self.weights[index];
            total += self.weights[index];
            if best.is_none_or(|best| current[index] > current[best]) {
                best = Some(index);
            }
        }
        if let Some(best) = best {
            current[best] -= total;
        }
        best
    }
}
