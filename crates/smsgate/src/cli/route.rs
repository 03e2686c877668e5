//! `smsgate route …`: see which route and connector order a message would
//! get, and why, without sending anything; list the routes.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::CliError;
use super::serve::load_config;
use crate::accept::NumberTable;
use crate::routing::{ConnectorHealth, RouteTable, RouteTest, test_route};

/// `smsgate route`: the arguments shared by every route command.
#[derive(Debug, Args)]
pub struct RouteArgs {
    /// The configuration file. Without it, ./smsgate.toml is read if it
    /// exists, and otherwise the defaults apply: one route to the built-in
    /// simulator connector.
    #[arg(
        long,
        short,
        global = true,
        env = "SMSGATE_CONFIG",
        value_name = "FILE"
    )]
    config: Option<PathBuf>,
    /// Print JSON instead of text (for scripts).
    #[arg(long, global = true)]
    json: bool,
    /// What to do.
    #[command(subcommand)]
    command: RouteCommand,
}

#[derive(Debug, Subcommand)]
enum RouteCommand {
    /// Show which route and connector order a message would get, and why.
    Test(TestArgs),
    /// List the routes in evaluation order.
    List,
}

/// The message to route.
#[derive(Debug, Args)]
struct TestArgs {
    /// The source address (sender id).
    #[arg(long, value_name = "ADDRESS")]
    from: String,
    /// The destination, international: +447700900123 (spaces and dashes
    /// are ignored).
    #[arg(long, value_name = "NUMBER")]
    to: String,
    /// The submitting account's system_id.
    #[arg(long, value_name = "SYSTEM_ID", default_value = "")]
    account: String,
    /// The account's group.
    #[arg(long)]
    group: Option<String>,
    /// The message text (without it, the message counts as binary).
    #[arg(long)]
    text: Option<String>,
    /// A tag the message carries; repeat for several.
    #[arg(long = "tag", value_name = "TAG")]
    tags: Vec<String>,
    /// The SMPP data_coding.
    #[arg(long, value_name = "N", default_value_t = 0)]
    data_coding: u8,
    /// Route as at this time, RFC 3339 (2026-03-02T21:30:00Z); default now.
    #[arg(long, value_name = "TIME")]
    at: Option<jiff::Timestamp>,
    /// Treat this connector as unhealthy; repeat for several.
    #[arg(long = "unhealthy", value_name = "CONNECTOR")]
    unhealthy: Vec<String>,
}

/// Runs a route command.
pub fn run(args: RouteArgs) -> Result<(), CliError> {
    let (config, path) = load_config(args.config.as_deref())?;
    let base_dir = path
        .as_deref()
        .and_then(Path::parent)
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let table = RouteTable::from_config(&config.routes, base_dir)?;
    let source = path.as_deref().map_or_else(
        || "the defaults (no configuration file)".to_string(),
        |path| path.display().to_string(),
    );
    let declared: Vec<&str> = config.connectors.keys().map(String::as_str).collect();
    let undeclared = |connector: &str| !declared.contains(&connector);
    match args.command {
        RouteCommand::List => list(&table, &source, args.json, &undeclared),
        RouteCommand::Test(test_args) => test(&table, test_args, args.json, &undeclared),
    }
}

/// What `route list` and `route test` say of a connector the file does not
/// declare: a node refuses such a file, though the routes can be explained.
fn undeclared_note(connector: &str) -> String {
    format!(
        "connector {connector} is not declared ([connectors.{connector}] is missing): \
         a node refuses to start with these routes"
    )
}

fn list(
    table: &RouteTable,
    source: &str,
    json: bool,
    undeclared: &dyn Fn(&str) -> bool,
) -> Result<(), CliError> {
    let summaries = table.summaries();
    if json {
        let mut routes = serde_json::to_value(&summaries)?;
        if let Some(routes) = routes.as_array_mut() {
            for (route, summary) in routes.iter_mut().zip(&summaries) {
                let missing: Vec<&String> = summary
                    .connectors
                    .iter()
                    .filter(|name| undeclared(name))
                    .collect();
                if let Some(route) = route.as_object_mut() {
                    route.insert("undeclared_connectors".into(), serde_json::json!(missing));
                }
            }
        }
        println!("{}", serde_json::to_string_pretty(&routes)?);
        return Ok(());
    }
    if summaries.is_empty() {
        println!("no routes in {source}: every message would fail with \"no route\"");
        return Ok(());
    }
    println!("routes in {source}, in evaluation order:");
    for (position, route) in summaries.iter().enumerate() {
        println!("{}. {} (order {})", position + 1, route.name, route.order);
        if route.filters.is_empty() {
            println!("   filters: none (a default route)");
        } else {
            println!("   filters: {}", route.filters.join("; "));
        }
        let weights = route
            .weights
            .as_ref()
            .map(|weights| {
                let weights: Vec<String> = weights.iter().map(i64::to_string).collect();
                format!(", weights {}", weights.join(":"))
            })
            .unwrap_or_default();
        println!(
            "   connectors: {} ({}{weights})",
            route.connectors.join(", "),
            route.strategy.as_str()
        );
        for connector in route.connectors.iter().filter(|name| undeclared(name)) {
            println!("   warning: {}", undeclared_note(connector));
        }
        for table in &route.price_tables {
            println!("   price table {table}");
        }
        if let Some(actions) = &route.actions {
            println!("   actions: {actions}");
        }
    }
    Ok(())
}

/// Connectors named with `--unhealthy` are down; the rest are up.
struct Unhealthy(Vec<String>);

impl ConnectorHealth for Unhealthy {
    fn is_healthy(&self, connector: &str) -> bool {
        !self.0.iter().any(|down| down == connector)
    }
}

fn test(
    table: &RouteTable,
    args: TestArgs,
    json: bool,
    undeclared: &dyn Fn(&str) -> bool,
) -> Result<(), CliError> {
    let numbers = NumberTable::from_phonenumber_metadata()?;
    let test = RouteTest {
        account: &args.account,
        group: args.group.as_deref(),
        from: &args.from,
        to: &args.to,
        text: args.text.as_deref(),
        tags: &args.tags,
        data_coding: args.data_coding,
        at: args.at.unwrap_or_else(jiff::Timestamp::now),
    };
    let answer = test_route(table, &numbers, &test, &Unhealthy(args.unhealthy))
        .map_err(|error| format!("--to {error}"))?;
    if answer.number.is_none() {
        // Acceptance refuses it before any route is looked at.
        return Err(format!(
            "--to {}: +{} is not a valid number: smsgate refuses it at acceptance \
             (ESME_RINVDSTADR over SMPP, invalid_destination over HTTP), so no route ever sees it",
            args.to, answer.destination
        )
        .into());
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&answer.to_json())?);
        return Ok(());
    }
    if let Some(number) = &answer.number {
        println!(
            "destination: {number} (a valid number, calling code {})",
            number.country_code()
        );
    }
    println!("at: {}", answer.at);
    for line in answer.explanation.lines() {
        println!("{line}");
    }
    for note in answer
        .explanation
        .connectors
        .iter()
        .filter(|note| undeclared(&note.name))
    {
        println!("warning: {}", undeclared_note(&note.name));
    }
    Ok(())
}
