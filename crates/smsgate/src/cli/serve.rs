//! `smsgate serve`: run the gateway until SIGTERM or Ctrl-C.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, ValueEnum};
use tracing::{info, warn};

use super::CliError;
use crate::clock::SystemClock;
use crate::config::{Config, ConfigError};
use crate::node::Node;
use crate::store::{AccountPatch, BindType, NewAccount};

/// Options of `smsgate serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The configuration file. Without it, ./smsgate.toml is read if it
    /// exists, and otherwise every setting takes its default.
    #[arg(long, short, env = "SMSGATE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log lines for people (text) or for log collectors (json).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, env = "SMSGATE_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Do not create the `demo` account on first start.
    #[arg(long)]
    pub no_demo: bool,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One readable line per event.
    Text,
    /// One JSON object per line.
    Json,
}

/// Runs the gateway.
pub fn run(data_dir: &Path, args: ServeArgs) -> Result<(), CliError> {
    init_logging(args.log_format);
    let (config, path) = load_config(args.config.as_deref())?;
    let config_dir = path.as_deref().and_then(Path::parent);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve(
        config,
        path.as_deref(),
        config_dir,
        data_dir,
        !args.no_demo,
    ))
}

/// The configuration a command runs with: the file given (`--config` or
/// SMSGATE_CONFIG), else ./smsgate.toml if it exists, else the defaults.
/// Also returns the file it came from, if any: paths inside it (price
/// tables) are relative to its directory.
pub fn load_config(explicit: Option<&Path>) -> Result<(Config, Option<PathBuf>), ConfigError> {
    let path = match explicit {
        Some(path) => Some(path.to_path_buf()),
        None => Some(PathBuf::from("smsgate.toml")).filter(|path| path.exists()),
    };
    let config = match &path {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    Ok((config, path))
}

async fn serve(
    config: Config,
    config_path: Option<&Path>,
    config_dir: Option<&Path>,
    data_dir: &Path,
    demo: bool,
) -> Result<(), CliError> {
    let mut node = Node::start(&config, config_dir, data_dir, Arc::new(SystemClock)).await?;
    let real = config.has_real_connectors() && !config.demo.keep;
    if demo && !real {
        create_demo_account(&node).await?;
    }
    if real {
        disable_demo_account(&node).await?;
    }
    for (addr, tls) in node.smpp.local_addrs() {
        let scheme = if *tls { "SMPP over TLS" } else { "SMPP" };
        println!("smsgate: {scheme} on {addr}");
    }
    if let Some(http) = &node.http {
        for addr in http.local_addrs() {
            println!("smsgate: HTTP API on http://{addr}/api/v1");
        }
        if let Some(addr) = http.local_addrs().first() {
            let password = crate::ingress::admin_api::bootstrap::password_file(data_dir);
            let login = if password.exists() {
                format!(
                    "user {}, first password in {}",
                    crate::ingress::admin_api::bootstrap::FIRST_USER,
                    password.display()
                )
            } else {
                "log in as an admin user: smsgate admin --help".to_string()
            };
            println!(
                "smsgate: operator console on http://{}/console/ ({login})",
                reachable(*addr)
            );
        }
    }
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(mut hangup) => loop {
            tokio::select! {
                () = wait_for_signal() => break,
                _ = hangup.recv() => reload(&mut node, config_path, config_dir),
            }
        },
        Err(error) => {
            warn!(%error, "cannot watch SIGHUP; the configuration is read at start only");
            wait_for_signal().await;
        }
    }
    node.shutdown().await;
    Ok(())
}

/// An address to type into a browser on this machine: a wildcard listen
/// address becomes loopback.
fn reachable(addr: std::net::SocketAddr) -> std::net::SocketAddr {
    match addr.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            std::net::SocketAddr::from(([127, 0, 0, 1], addr.port()))
        }
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, addr.port()))
        }
        _ => addr,
    }
}

/// SIGHUP: reads the configuration file again and puts its routes and
/// connectors in force; customer sessions stay bound. A file that does not
/// load or validate changes nothing (logged).
fn reload(node: &mut Node, config_path: Option<&Path>, config_dir: Option<&Path>) {
    let Some(path) = config_path else {
        info!("SIGHUP received; running without a configuration file, nothing to reload");
        return;
    };
    info!(path = %path.display(), "SIGHUP received; reloading the configuration");
    let config = match Config::load(path) {
        Ok(config) => config,
        Err(error) => {
            warn!(%error, "reload refused; the running configuration stays");
            return;
        }
    };
    match node.reload(&config, config_dir) {
        Ok(at_restart) if at_restart.is_empty() => info!("reloaded routes and connectors"),
        Ok(at_restart) => warn!(
            sections = ?at_restart,
            "reloaded routes and connectors; the changes to these sections take effect at the next start"
        ),
        Err(error) => warn!(%error, "reload refused; the running configuration stays"),
    }
}

/// With real connectors declared, the `demo` account (a password printed on
/// a first start, 1000 credits) must not send through them: disables it,
/// saying so, unless `[demo] keep = true`.
async fn disable_demo_account(node: &Node) -> Result<(), CliError> {
    let Some(account) = node.store.account(DEMO_ACCOUNT).await? else {
        return Ok(());
    };
    if !account.enabled {
        return Ok(());
    }
    node.store
        .update_account(
            DEMO_ACCOUNT,
            AccountPatch {
                enabled: Some(false),
                ..AccountPatch::default()
            },
        )
        .await?;
    warn!(
        account = DEMO_ACCOUNT,
        "disabled the demo account: the configuration declares real connectors \
         (keep it with [demo] keep = true, or enable it: smsgate account set demo --enabled true)"
    );
    Ok(())
}

/// The account a first start creates for trying smsgate.
const DEMO_ACCOUNT: &str = "demo";

/// On the first start (no accounts yet) creates the account `demo` with a
/// random password, printed once, so a newcomer can bind at once. The
/// password is not logged.
async fn create_demo_account(node: &Node) -> Result<(), CliError> {
    if !node.store.accounts().await?.is_empty() {
        return Ok(());
    }
    let secret: String = {
        use rand::Rng;
        const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        let mut rng = rand::rng();
        (0..8)
            .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
            .collect()
    };
    let hash = node.smpp.context().verifier.hash(secret.clone()).await?;
    node.store
        .create_account(NewAccount {
            system_id: DEMO_ACCOUNT.into(),
            password_hash: hash,
            credits: 1000,
            max_binds: 4,
            tps: Some(50),
            window: 10,
            deliver_window: 10,
            bind_types: BindType::ALL.to_vec(),
            allowed_ips: Vec::new(),
            allowed_senders: Vec::new(),
            default_sender: Some("smsgate".into()),
            address_ranges: Vec::new(),
            group: None,
        })
        .await?;
    info!("created the demo account");
    println!(
        "smsgate: first start: created account `demo` with password `{secret}` and 1000 credits \
         (change it: smsgate account passwd demo --password-stdin)"
    );
    Ok(())
}

/// Waits for Ctrl-C or SIGTERM: how every long-running command stops.
pub(crate) async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = ctrl_c => info!("interrupted"),
                _ = term.recv() => info!("SIGTERM received"),
            }
        }
        Err(e) => {
            warn!(error = %e, "cannot watch SIGTERM; stopping on Ctrl-C only");
            let _ = ctrl_c.await;
        }
    }
}

/// Log lines to stderr, filtered by SMSGATE_LOG (default: info). Colours
/// only when stderr is a terminal and NO_COLOR is not set, so that a log
/// file or a pipe carries no ANSI escapes.
pub(crate) fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("SMSGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}
