//! The compiled route table and the rule that picks one route per message.
//!
//! Routes are kept sorted by `order` (then declaration) and cut into tiers
//! of equal order. The first tier with a matching route decides; inside it
//! the longest matching prefix wins, then the earliest declared. A route
//! whose prefix is no longer than the best match so far is not even
//! checked further, so a typical message looks at a few prefixes per route
//! and runs the other filters of only a handful.

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use serde::Serialize;

use super::config::{RouteConfig, Strategy};
use super::filters::{Filters, Mismatch};
use super::strategy::{Connectors, Pick, PriceSource};
use super::{
    ConnectorHealth, Outcome, RouteActions, RouteDecision, RouteError, RouteExplanation,
    RouteInput, RouteVerdict,
};

/// The longest sender id an SMPP source address holds (a 21-octet
/// C-string).
const MAX_SENDER_LEN: usize = 20;

/// Every route, compiled. Built once per configuration (and again on
/// reload); shared by every dispatcher task behind an `Arc`. Only the
/// weighted round robin's scores change after building, behind their own
/// short-lived locks.
#[derive(Debug, Default)]
pub struct RouteTable {
    /// In evaluation order: by `order`, then as declared.
    routes: Vec<Route>,
    /// Runs of `routes` with equal order.
    tiers: Vec<Range<usize>>,
}

#[derive(Debug)]
struct Route {
    name: Arc<str>,
    order: i64,
    filters: Filters,
    connectors: Connectors,
    strategy: Strategy,
    actions: RouteActions,
}

/// A route as `smsgate route list` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RouteSummary {
    /// The route.
    pub name: String,
    /// Its order.
    pub order: i64,
    /// Its filters in words; empty for a default route.
    pub filters: Vec<String>,
    /// Its connectors as declared.
    pub connectors: Vec<String>,
    /// Its strategy.
    pub strategy: Strategy,
    /// weighted: one weight per connector.
    pub weights: Option<Vec<i64>>,
    /// least_cost: each connector's price table and how many prefixes it prices.
    pub price_tables: Vec<String>,
    /// What the route changes in a message, in words.
    pub actions: Option<String>,
}

/// Checks routes as far as can be done without reading their price tables
/// (which are relative to the configuration file): names, strategies,
/// regexes, time windows. [`crate::config::Config::validate`] runs it.
pub fn check_routes(routes: &[RouteConfig]) -> Result<(), RouteError> {
    RouteTable::compile(routes, &mut PriceSource::Unchecked).map(drop)
}

impl RouteTable {
    /// Compiles routes, reading price tables relative to `base_dir` (the
    /// configuration file's directory). A table named by several routes is
    /// read once.
    pub fn from_config(routes: &[RouteConfig], base_dir: &Path) -> Result<RouteTable, RouteError> {
        RouteTable::compile(
            routes,
            &mut PriceSource::Files {
                base_dir,
                loaded: HashMap::new(),
            },
        )
    }

    /// Whether some route filters on the account's group: dispatch then
    /// looks the group up for each message.
    pub fn uses_group(&self) -> bool {
        self.routes.iter().any(|route| route.filters.uses_group())
    }

    /// Whether some route filters on the text: dispatch then decodes each
    /// message's text for routing.
    pub fn uses_text(&self) -> bool {
        self.routes.iter().any(|route| route.filters.uses_text())
    }

    fn compile(
        routes: &[RouteConfig],
        prices: &mut PriceSource<'_>,
    ) -> Result<RouteTable, RouteError> {
        let mut compiled = Vec::with_capacity(routes.len());
        for (index, config) in routes.iter().enumerate() {
            if config.name.trim().is_empty() {
                return Err(RouteError::Invalid {
                    route: format!("#{}", index + 1),
                    problem: "the name is empty; every route needs a unique name".into(),
                });
            }
            if routes[..index]
                .iter()
                .any(|other| other.name == config.name)
            {
                return Err(RouteError::Invalid {
                    route: config.name.clone(),
                    problem: "the name is used by another route; names must be unique".into(),
                });
            }
            compiled.push(Route::compile(config, prices)?);
        }
        // Stable: equal orders keep their declaration order.
        compiled.sort_by_key(|route| route.order);
        let mut tiers: Vec<Range<usize>> = Vec::new();
        for (index, route) in compiled.iter().enumerate() {
            match tiers.last_mut() {
                Some(tier) if compiled[tier.start].order == route.order => tier.end = index + 1,
                _ => tiers.push(index..index + 1),
            }
        }
        Ok(RouteTable {
            routes: compiled,
            tiers,
        })
    }

    /// How many routes there are.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether there are no routes (every message fails with "no route").
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }

    /// The route for a message at `now`, with its connectors in the order to
    /// try them given `health`; `None` when no route matches. Runs per
    /// message: builds no text, and moves a weighted route's round robin on.
    pub fn route_for(
        &self,
        input: &RouteInput<'_>,
        now: Timestamp,
        health: &dyn ConnectorHealth,
    ) -> Option<RouteDecision> {
        let (index, _) = self.select(
            |_, route| route.filters.prefix_len(input.destination),
            |_, route| route.check(input, now).is_ok(),
        )?;
        Some(self.routes[index].decide(input.destination, health, Pick::Advance))
    }

    /// The decision `route_for` would make, without moving any round robin
    /// on, and why: each route's verdict and the chosen route's connectors.
    pub fn explain(
        &self,
        input: &RouteInput<'_>,
        now: Timestamp,
        health: &dyn ConnectorHealth,
    ) -> RouteExplanation {
        let prefixes: Vec<Option<usize>> = self
            .routes
            .iter()
            .map(|route| route.filters.prefix_len(input.destination))
            .collect();
        let checks: Vec<Result<(), Mismatch>> = self
            .routes
            .iter()
            .zip(&prefixes)
            .map(|(route, prefix)| match prefix {
                None => Err(Mismatch::Prefix),
                Some(_) => route.check(input, now),
            })
            .collect();
        let chosen = self.select(
            |index, _| prefixes.get(index).copied().flatten(),
            |index, _| checks.get(index).is_some_and(Result::is_ok),
        );
        let routes = self
            .routes
            .iter()
            .zip(prefixes.iter().zip(&checks))
            .enumerate()
            .map(|(index, (route, (prefix, check)))| {
                let prefix_len = prefix.unwrap_or(0);
                let (outcome, reason) = match (check, chosen) {
                    (Err(mismatch), _) => (
                        Outcome::NoMatch,
                        route.filters.explain(*mismatch, input, now),
                    ),
                    (Ok(()), Some((best, _))) if best == index => (
                        Outcome::Chosen,
                        route.why_matched(input.destination, prefix_len),
                    ),
                    (Ok(()), Some((best, best_len))) => (
                        Outcome::Outranked,
                        self.why_outranked(input.destination, index, prefix_len, best, best_len),
                    ),
                    // select chooses a route whenever one matched; kept
                    // total rather than panicking.
                    (Ok(()), None) => (Outcome::Outranked, "matched".to_string()),
                };
                RouteVerdict {
                    route: route.name.to_string(),
                    order: route.order,
                    outcome,
                    reason,
                }
            })
            .collect();
        let (decision, connectors) = match chosen {
            Some((index, _)) => {
                let route = &self.routes[index];
                (
                    Some(route.decide(input.destination, health, Pick::Peek)),
                    route.connectors.notes(input.destination, health),
                )
            }
            None => (None, Vec::new()),
        };
        RouteExplanation {
            decision,
            routes,
            connectors,
        }
    }

    /// The routes in evaluation order, described.
    pub fn summaries(&self) -> Vec<RouteSummary> {
        self.routes
            .iter()
            .map(|route| RouteSummary {
                name: route.name.to_string(),
                order: route.order,
                filters: route.filters.describe(),
                connectors: route
                    .connectors
                    .names()
                    .iter()
                    .map(|name| name.to_string())
                    .collect(),
                strategy: route.strategy,
                weights: route.connectors.weights().map(<[i64]>::to_vec),
                price_tables: route
                    .connectors
                    .price_tables()
                    .into_iter()
                    .map(|(connector, table)| {
                        format!(
                            "{connector}: {} ({} prefixes)",
                            table.path().display(),
                            table.prefix_count()
                        )
                    })
                    .collect(),
                actions: route.actions.describe(),
            })
            .collect()
    }

    /// The rule of evaluation: the first tier with a match decides; in it,
    /// the longest prefix, then the first declared. `prefix_len` says how
    /// long route `i`'s matching prefix is (`None`: it does not match);
    /// `matches` checks its other filters and is only asked of routes that
    /// could still win.
    fn select(
        &self,
        mut prefix_len: impl FnMut(usize, &Route) -> Option<usize>,
        mut matches: impl FnMut(usize, &Route) -> bool,
    ) -> Option<(usize, usize)> {
        for tier in &self.tiers {
            let mut best: Option<(usize, usize)> = None;
            for index in tier.clone() {
                let route = &self.routes[index];
                let Some(len) = prefix_len(index, route) else {
                    continue;
                };
                if best.is_some_and(|(_, best_len)| len <= best_len) {
                    continue;
                }
                if matches(index, route) {
                    best = Some((index, len));
                }
            }
            if best.is_some() {
                return best;
            }
        }
        None
    }

    fn why_outranked(
        &self,
        destination: &str,
        index: usize,
        prefix_len: usize,
        best: usize,
        best_len: usize,
    ) -> String {
        let (route, winner) = (&self.routes[index], &self.routes[best]);
        let prefix = |len: usize| destination.get(..len).unwrap_or(destination).to_string();
        if route.order != winner.order {
            format!(
                "matched too, but {} comes first (order {} before {})",
                winner.name, winner.order, route.order
            )
        } else if prefix_len < best_len {
            let ours = if prefix_len == 0 {
                "none".to_string()
            } else {
                prefix(prefix_len)
            };
            format!(
                "matched too, but {} has a longer matching prefix ({} over {ours})",
                winner.name,
                prefix(best_len)
            )
        } else {
            format!(
                "matched too, but {} has an equal order and prefix and is declared earlier",
                winner.name
            )
        }
    }
}

impl Route {
    fn compile(config: &RouteConfig, prices: &mut PriceSource<'_>) -> Result<Route, RouteError> {
        let invalid = |problem: String| RouteError::Invalid {
            route: config.name.clone(),
            problem,
        };
        if let Some(sender) = &config.sender
            && (sender.is_empty() || sender.len() > MAX_SENDER_LEN)
        {
            return Err(invalid(format!(
                "sender {sender:?} must be 1 to {MAX_SENDER_LEN} characters"
            )));
        }
        if config.validity_cap == Some(Duration::ZERO) {
            return Err(invalid(
                "validity_cap is zero, which would expire every message at once".into(),
            ));
        }
        Ok(Route {
            name: Arc::from(config.name.as_str()),
            order: config.order,
            filters: Filters::compile(config)?,
            connectors: Connectors::compile(config, prices)?,
            strategy: config.strategy,
            actions: RouteActions {
                sender: config.sender.as_deref().map(Arc::from),
                source_ton: config.source_ton,
                source_npi: config.source_npi,
                validity_cap: config.validity_cap,
            },
        })
    }

    /// Every check but the prefix: the filters, then whether the route can
    /// serve the destination at all.
    fn check(&self, input: &RouteInput<'_>, now: Timestamp) -> Result<(), Mismatch> {
        self.filters.check(input, now)?;
        if !self.connectors.serves(input.destination) {
            return Err(Mismatch::NoPrice);
        }
        Ok(())
    }

    fn decide(&self, destination: &str, health: &dyn ConnectorHealth, pick: Pick) -> RouteDecision {
        RouteDecision {
            route: self.name.clone(),
            strategy: self.strategy,
            connectors: self.connectors.order(destination, health, pick),
            actions: self.actions.clone(),
        }
    }

    fn why_matched(&self, destination: &str, prefix_len: usize) -> String {
        if self.filters.is_empty() {
            return "matched: a default route (no filters)".into();
        }
        let mut reason = format!("matched: {}", self.filters.describe().join("; "));
        if self.filters.prefix_choices() > 1 {
            reason.push_str(&format!(
                " (longest matching prefix {})",
                destination.get(..prefix_len).unwrap_or(destination)
            ));
        }
        reason
    }
}
