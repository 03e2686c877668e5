//! Who uses the gateway, as the store keeps them: customer accounts and
//! their API keys, the admin API's users and tokens, and the trace switches
//! an operator turns on for an account or a connector.

use std::time::SystemTime;

use ipnet::IpNet;

/// The three ways an SMPP client can bind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BindType {
    /// bind_transmitter: submits only.
    Transmitter,
    /// bind_receiver: receives deliver_sm only.
    Receiver,
    /// bind_transceiver: both.
    Transceiver,
}

impl BindType {
    /// Every bind type, the default set an account may use.
    pub const ALL: [BindType; 3] = [
        BindType::Transmitter,
        BindType::Receiver,
        BindType::Transceiver,
    ];

    /// The short name used in the CLI and the store: `tx`, `rx`, `trx`.
    pub fn as_str(self) -> &'static str {
        match self {
            BindType::Transmitter => "tx",
            BindType::Receiver => "rx",
            BindType::Transceiver => "trx",
        }
    }

    /// Parses `tx`, `rx` or `trx` (also the long names).
    pub fn parse(text: &str) -> Option<BindType> {
        match text.to_ascii_lowercase().as_str() {
            "tx" | "transmitter" => Some(BindType::Transmitter),
            "rx" | "receiver" => Some(BindType::Receiver),
            "trx" | "transceiver" => Some(BindType::Transceiver),
            _ => None,
        }
    }
}

/// A customer identity and everything that limits it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Account {
    /// The SMPP system_id (also the login for the HTTP API). Up to 64 characters.
    pub system_id: String,
    /// The password hash: an argon2id PHC string (`$argon2id$…`), or a
    /// legacy hash imported from another SMS server (`sha1-utf16le$HEX`),
    /// replaced by argon2id on the next good bind. Never a password.
    #[serde(skip)]
    pub password_hash: String,
    /// A disabled account cannot bind (ESME_RBINDFAIL).
    pub enabled: bool,
    /// Prepaid credits, in integer units: one per segment unless a rate table says otherwise.
    pub credits: i64,
    /// How many sessions may be bound at once.
    pub max_binds: u32,
    /// Messages per second over all the account's sessions; `None` for no limit.
    pub tps: Option<u32>,
    /// How many of the account's requests may be in flight per session.
    pub window: u32,
    /// How many deliver_sm (receipts, MO) may wait for the answer of one of
    /// its sessions at once (default 10, at most
    /// [`crate::accounts::fields::MAX_DELIVER_WINDOW`]).
    pub deliver_window: u32,
    /// Which bind types the account may use.
    pub bind_types: Vec<BindType>,
    /// Source IP ranges a bind may come from; empty allows any.
    pub allowed_ips: Vec<IpNet>,
    /// Sender ids the account may use: exact, or a pattern with `*` and `?`; empty allows any.
    pub allowed_senders: Vec<String>,
    /// The sender put on messages that come without one.
    pub default_sender: Option<String>,
    /// Address ranges (MO routing): exact numbers, prefixes ending in `*`, or `/regex/`.
    pub address_ranges: Vec<String>,
    /// A group name routes can match on.
    pub group: Option<String>,
    /// Where the status events of its HTTP API messages sent without a
    /// `callback_url` of their own are POSTed; `None` for nowhere.
    pub callback_url: Option<String>,
    /// When the account was created.
    #[serde(with = "crate::timefmt::rfc3339")]
    pub created_at: SystemTime,
}

/// The fields of a new account; the rest take their defaults.
#[derive(Debug, Clone)]
pub struct NewAccount {
    /// The system_id.
    pub system_id: String,
    /// The password hash (see [`Account::password_hash`]).
    pub password_hash: String,
    /// Starting credits.
    pub credits: i64,
    /// Max binds (default 4 in the CLI).
    pub max_binds: u32,
    /// Messages per second, `None` for no limit.
    pub tps: Option<u32>,
    /// Window per session (default 10).
    pub window: u32,
    /// Deliver window per session (default 10).
    pub deliver_window: u32,
    /// Allowed bind types.
    pub bind_types: Vec<BindType>,
    /// Allowed source IP ranges.
    pub allowed_ips: Vec<IpNet>,
    /// Allowed sender ids.
    pub allowed_senders: Vec<String>,
    /// Default sender.
    pub default_sender: Option<String>,
    /// MO address ranges.
    pub address_ranges: Vec<String>,
    /// Group.
    pub group: Option<String>,
}

/// A change to an account: each `Some` field is replaced.
#[derive(Debug, Clone, Default)]
pub struct AccountPatch {
    /// New enabled flag.
    pub enabled: Option<bool>,
    /// New max binds.
    pub max_binds: Option<u32>,
    /// New rate (`Some(None)` removes the limit).
    pub tps: Option<Option<u32>>,
    /// New window.
    pub window: Option<u32>,
    /// New deliver window.
    pub deliver_window: Option<u32>,
    /// New bind types.
    pub bind_types: Option<Vec<BindType>>,
    /// New IP allowlist.
    pub allowed_ips: Option<Vec<IpNet>>,
    /// New sender list.
    pub allowed_senders: Option<Vec<String>>,
    /// New default sender (`Some(None)` removes it).
    pub default_sender: Option<Option<String>>,
    /// New address ranges.
    pub address_ranges: Option<Vec<String>>,
    /// New group (`Some(None)` removes it).
    pub group: Option<Option<String>>,
    /// New default callback URL (`Some(None)` removes it).
    pub callback_url: Option<Option<String>>,
}

impl AccountPatch {
    /// Whether the patch sets nothing. Exhaustive on purpose: a new field
    /// must be considered here, and every caller that refuses an empty
    /// change (the CLI, the admin API) follows.
    pub fn is_empty(&self) -> bool {
        matches!(
            self,
            AccountPatch {
                enabled: None,
                max_binds: None,
                tps: None,
                window: None,
                deliver_window: None,
                bind_types: None,
                allowed_ips: None,
                allowed_senders: None,
                default_sender: None,
                address_ranges: None,
                group: None,
                callback_url: None,
            }
        )
    }

    /// Replaces the fields of `account` that this patch sets. Every store
    /// applies patches this way, so they mean the same everywhere.
    pub fn apply_to(self, account: &mut Account) {
        let AccountPatch {
            enabled,
            max_binds,
            tps,
            window,
            deliver_window,
            bind_types,
            allowed_ips,
            allowed_senders,
            default_sender,
            address_ranges,
            group,
            callback_url,
        } = self;
        if let Some(enabled) = enabled {
            account.enabled = enabled;
        }
        if let Some(max_binds) = max_binds {
            account.max_binds = max_binds;
        }
        if let Some(tps) = tps {
            account.tps = tps;
        }
        if let Some(window) = window {
            account.window = window;
        }
        if let Some(deliver_window) = deliver_window {
            account.deliver_window = deliver_window;
        }
        if let Some(bind_types) = bind_types {
            account.bind_types = bind_types;
        }
        if let Some(allowed_ips) = allowed_ips {
            account.allowed_ips = allowed_ips;
        }
        if let Some(allowed_senders) = allowed_senders {
            account.allowed_senders = allowed_senders;
        }
        if let Some(default_sender) = default_sender {
            account.default_sender = default_sender;
        }
        if let Some(address_ranges) = address_ranges {
            account.address_ranges = address_ranges;
        }
        if let Some(group) = group {
            account.group = group;
        }
        if let Some(callback_url) = callback_url {
            account.callback_url = callback_url;
        }
    }
}

/// A key for the customer HTTP API, as listed: never the key itself, which
/// only its creator saw (the store keeps a SHA-256 of it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ApiKey {
    /// The key's public id (also written inside the key), to list and revoke it by.
    pub id: String,
    /// The account it authenticates as.
    pub account: String,
    /// What the customer or operator noted it is for.
    pub label: Option<String>,
    /// When it was created.
    #[serde(with = "crate::timefmt::rfc3339")]
    pub created_at: SystemTime,
    /// When it last authenticated a request, to the minute; `None` if never.
    #[serde(with = "crate::timefmt::rfc3339_option")]
    pub last_used_at: Option<SystemTime>,
}

/// A new API key for [`Store::create_api_key`]: its hash, never the key
/// (see [`crate::accounts::api_key`]).
///
/// [`Store::create_api_key`]: crate::store::Store::create_api_key
#[derive(Debug, Clone)]
pub struct NewApiKey {
    /// Its public id.
    pub id: String,
    /// The account it authenticates as.
    pub account: String,
    /// The SHA-256 of the whole key, in lowercase hex.
    pub key_hash: String,
    /// A note on what it is for.
    pub label: Option<String>,
}

// Admin users and tokens

/// An operator of the admin API and the console, as listed: never the hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AdminUser {
    /// The login name.
    pub name: String,
    /// An argon2id PHC string, as for accounts. Never a password.
    #[serde(skip)]
    pub password_hash: String,
    /// When the user was created.
    #[serde(with = "crate::timefmt::rfc3339")]
    pub created_at: SystemTime,
}

/// A token for scripts calling the admin API, as listed: never the token,
/// which only its creator saw (the store keeps a SHA-256 of it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AdminToken {
    /// The token's public id (also written inside the token).
    pub id: String,
    /// What the operator noted it is for.
    pub label: Option<String>,
    /// When it was created.
    #[serde(with = "crate::timefmt::rfc3339")]
    pub created_at: SystemTime,
    /// When it last authenticated a request, to the minute; `None` if never.
    #[serde(with = "crate::timefmt::rfc3339_option")]
    pub last_used_at: Option<SystemTime>,
}

/// A new admin token for [`Store::create_admin_token`]: its hash, never the
/// token (see [`crate::accounts::admin_token`]).
///
/// [`Store::create_admin_token`]: crate::store::Store::create_admin_token
#[derive(Debug, Clone)]
pub struct NewAdminToken {
    /// Its public id.
    pub id: String,
    /// The SHA-256 of the whole token, in lowercase hex.
    pub token_hash: String,
    /// A note on what it is for.
    pub label: Option<String>,
}

// Trace switches

/// What a trace switch is for: one account's SMPP sessions, or one
/// connector's binds (or HTTP requests).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TraceKind {
    /// An account, by system_id.
    Account,
    /// A connector, by name.
    Connector,
}

impl TraceKind {
    /// `account` or `connector`, as stored and as the CLI and the admin API spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            TraceKind::Account => "account",
            TraceKind::Connector => "connector",
        }
    }

    /// Parses `account` or `connector`.
    pub fn parse(text: &str) -> Option<TraceKind> {
        match text {
            "account" => Some(TraceKind::Account),
            "connector" => Some(TraceKind::Connector),
            _ => None,
        }
    }
}

impl std::fmt::Display for TraceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a login failed: each surface keeps its own count and blocks, so a
/// script's typo on the customer API does not lock its operator out of the
/// console or the SMPP binds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Surface {
    /// SMPP binds.
    Smpp,
    /// The customer HTTP API (Basic authentication).
    Api,
    /// The operator console and the admin API.
    Console,
}

impl Surface {
    /// Every surface.
    pub const ALL: [Surface; 3] = [Surface::Smpp, Surface::Api, Surface::Console];

    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Surface::Smpp => "smpp",
            Surface::Api => "api",
            Surface::Console => "console",
        }
    }

    /// The surface of a stored or typed name.
    pub fn parse(name: &str) -> Option<Surface> {
        Surface::ALL
            .into_iter()
            .find(|surface| surface.as_str() == name)
    }
}

/// What the store holds for a customer API request's Idempotency-Key
/// ([`crate::store::Store::claim_idempotency_key`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key is new (or its first request was abandoned): this request
    /// runs, and the key is held for it.
    New,
    /// The first request with this key is still running.
    Running {
        /// The first request's digest.
        request_hash: Vec<u8>,
    },
    /// The first request was answered: its answer.
    Done {
        /// The first request's digest.
        request_hash: Vec<u8>,
        /// Its HTTP status.
        status: u16,
        /// Its body.
        body: Vec<u8>,
    },
}

/// An address blocked after too many failed logins on one surface.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct IpBlock {
    /// Where the logins failed.
    pub surface: Surface,
    /// The IPv4 address, or the first address of the IPv6 /64.
    pub address: std::net::IpAddr,
    /// When the block ends.
    #[serde(with = "crate::timefmt::rfc3339")]
    pub until: SystemTime,
    /// The node that started it.
    pub node: String,
}

/// A trace switch: PDU hex dumps in the log for an account or a connector
/// until a time (see [`crate::trace_switch`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TraceSwitch {
    /// What it traces.
    pub kind: TraceKind,
    /// The account's system_id or the connector's name.
    pub name: String,
    /// When it switches itself off.
    #[serde(with = "crate::timefmt::rfc3339")]
    pub until: SystemTime,
}
