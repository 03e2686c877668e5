//! `smsgate account …`: manage customer accounts in the store.

use std::io::BufRead;
use std::path::{Path, PathBuf};

use clap::{ArgAction, Args, Subcommand};
use ipnet::IpNet;

use crate::accounts::fields::{self, check_password};
use crate::accounts::{api_key, password};
use crate::ingress::http_api::send::check_callback_url;
use crate::node::{callback_targets, database_path};
use crate::store::{
    Account, AccountPatch, ApiKey, BindType, NewAccount, NewApiKey, Store, StoreError,
};

use super::CliError;
use super::serve::load_config;
use super::store_file::with_store;
use super::table::{fields, list_or, table};

/// `smsgate account`: the arguments shared by every account command.
#[derive(Debug, Args)]
pub struct AccountArgs {
    /// Print JSON instead of text (for scripts).
    #[arg(long, global = true)]
    json: bool,
    /// What to do.
    #[command(subcommand)]
    command: AccountCommand,
}

#[derive(Debug, Subcommand)]
enum AccountCommand {
    /// Create an account.
    Add {
        /// The SMPP system_id (1 to 64 printable ASCII characters, no spaces).
        #[arg(value_parser = parse_system_id)]
        system_id: String,
        #[command(flatten)]
        password: PasswordInput,
        #[command(flatten)]
        settings: AccountSettings,
    },
    /// List every account.
    List,
    /// Show one account's settings.
    Show {
        /// The account's system_id.
        system_id: String,
    },
    /// Change an account's settings; options not given stay as they are.
    Set {
        /// The account's system_id.
        system_id: String,
        #[command(flatten)]
        changes: AccountChanges,
    },
    /// Set a new password.
    Passwd {
        /// The account's system_id.
        system_id: String,
        #[command(flatten)]
        password: PasswordInput,
    },
    /// Add or remove credits (`+N` or `-N`) and print the new balance; the
    /// balance never goes below zero.
    Credit {
        /// The account's system_id.
        system_id: String,
        /// The change, e.g. +1000 or -50.
        #[arg(allow_negative_numbers = true, value_name = "+N|-N")]
        change: i64,
    },
    /// Stop an account from binding: its binds are refused with ESME_RBINDFAIL.
    Disable {
        /// The account's system_id.
        system_id: String,
    },
    /// Let a disabled account bind again.
    Enable {
        /// The account's system_id.
        system_id: String,
    },
    /// Delete an account; its messages stay in the store.
    Delete {
        /// The account's system_id.
        system_id: String,
    },
    /// Import a legacy SHA-1 password hash from another SMS server.
    ///
    /// The hash is the hex SHA-1 of the UTF-16LE password. This creates the
    /// account with the given options or, if it exists, replaces only its
    /// password hash. The hash is replaced by argon2id on the account's next
    /// good bind.
    ImportSha1 {
        /// The SMPP system_id (1 to 64 printable ASCII characters, no spaces).
        #[arg(value_parser = parse_system_id)]
        system_id: String,
        /// The SHA-1 hash: 40 hexadecimal digits.
        #[arg(long, value_name = "HEX")]
        hash: String,
        #[command(flatten)]
        settings: AccountSettings,
    },
    /// Manage the account's keys for the HTTP API.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
    /// Print the secret that signs the account's HTTP API callbacks
    /// (header X-Smsgate-Signature: sha256=HMAC-SHA256(secret,
    /// "<X-Smsgate-Timestamp>.<body>")). Derived from the node key in the
    /// data directory, so it is the same on every start.
    CallbackSecret {
        /// The account's system_id.
        system_id: String,
    },
}

/// `smsgate account api-key …`.
#[derive(Debug, Subcommand)]
enum ApiKeyCommand {
    /// Create a key for an account and print it: it is shown only this once
    /// (the store keeps only its SHA-256).
    Create {
        /// The account's system_id.
        system_id: String,
        /// A note on what the key is for (shown in lists).
        #[arg(long, value_name = "TEXT")]
        label: Option<String>,
    },
    /// List an account's keys: ids, labels and last use, never the keys.
    List {
        /// The account's system_id.
        system_id: String,
    },
    /// Revoke a key by its id: requests with it are refused from now on.
    Revoke {
        /// The key's id, as `list` shows it.
        key_id: String,
    },
}

/// A new password: on the command line, or one line on stdin (which keeps
/// it out of the shell history and the process list).
#[derive(Debug, Args)]
#[group(required = true, multiple = false)]
struct PasswordInput {
    /// The password (1 to 64 octets).
    #[arg(long, value_name = "PASSWORD")]
    password: Option<String>,
    /// Read the password from the first line of stdin.
    #[arg(long)]
    password_stdin: bool,
}

/// The settings of a new account.
#[derive(Debug, Args)]
struct AccountSettings {
    /// Starting credits (one per message segment).
    #[arg(long, default_value_t = 0, value_parser = clap::value_parser!(i64).range(0..))]
    credits: i64,
    /// Messages per second over all the account's sessions [default: no limit].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    tps: Option<u32>,
    /// How many sessions may be bound at once.
    #[arg(long, value_name = "N", default_value_t = fields::DEFAULT_MAX_BINDS, value_parser = clap::value_parser!(u32).range(1..))]
    max_binds: u32,
    /// How many requests a session may have in flight.
    #[arg(long, value_name = "N", default_value_t = fields::DEFAULT_WINDOW, value_parser = clap::value_parser!(u32).range(1..))]
    window: u32,
    /// How many deliver_sm (receipts, MO) a session may have unanswered.
    #[arg(long, value_name = "N", default_value_t = fields::DEFAULT_DELIVER_WINDOW, value_parser = clap::value_parser!(u32).range(1..=i64::from(fields::MAX_DELIVER_WINDOW)))]
    deliver_window: u32,
    /// Allowed bind types, comma-separated [default: tx,rx,trx].
    #[arg(long, value_name = "TYPES", value_delimiter = ',', value_parser = parse_bind_type)]
    bind_types: Vec<BindType>,
    /// A source address range binds may come from (CIDR like 203.0.113.0/24
    /// or 2001:db8::/32, or one address); repeat for more [default: any].
    #[arg(long, value_name = "CIDR", value_parser = parse_ip_range)]
    allow_ip: Vec<IpNet>,
    /// A sender id the account may use, exact or with `*` and `?`; repeat for more [default: any].
    #[arg(long = "sender", value_name = "ID")]
    senders: Vec<String>,
    /// The sender put on messages that come without one.
    #[arg(long, value_name = "ID")]
    default_sender: Option<String>,
    /// An MO address range: a number, a prefix ending in `*`, or `/regex/`; repeat for more.
    #[arg(long = "address-range", value_name = "PATTERN")]
    address_ranges: Vec<String>,
    /// A group name routes can match on.
    #[arg(long, value_name = "G")]
    group: Option<String>,
}

/// Changes to an account; each option given replaces that setting.
#[derive(Debug, Args)]
struct AccountChanges {
    /// Whether the account may bind.
    #[arg(long, value_name = "true|false", action = ArgAction::Set)]
    enabled: Option<bool>,
    /// Messages per second, or `none` for no limit.
    #[arg(long, value_name = "N|none", value_parser = parse_tps)]
    tps: Option<Setting<u32>>,
    /// How many sessions may be bound at once.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_binds: Option<u32>,
    /// How many requests a session may have in flight.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    window: Option<u32>,
    /// How many deliver_sm (receipts, MO) a session may have unanswered.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(fields::MAX_DELIVER_WINDOW)))]
    deliver_window: Option<u32>,
    /// Allowed bind types, comma-separated (replaces the list).
    #[arg(long, value_name = "TYPES", value_delimiter = ',', value_parser = parse_bind_type)]
    bind_types: Option<Vec<BindType>>,
    /// Add a source address range (CIDR or one address); repeat for more.
    #[arg(long, value_name = "CIDR", value_parser = parse_ip_range)]
    allow_ip: Vec<IpNet>,
    /// Empty the IP allowlist (binds from any address) before adding any --allow-ip.
    #[arg(long)]
    clear_allow_ip: bool,
    /// Add an allowed sender id; repeat for more.
    #[arg(long = "sender", value_name = "ID")]
    senders: Vec<String>,
    /// Empty the sender list (any sender) before adding any --sender.
    #[arg(long)]
    clear_senders: bool,
    /// The default sender, or `none`.
    #[arg(long, value_name = "ID|none", value_parser = parse_setting)]
    default_sender: Option<Setting<String>>,
    /// Add an MO address range; repeat for more.
    #[arg(long = "address-range", value_name = "PATTERN")]
    address_ranges: Vec<String>,
    /// Empty the address ranges before adding any --address-range.
    #[arg(long)]
    clear_address_ranges: bool,
    /// The group, or `none`.
    #[arg(long, value_name = "G|none", value_parser = parse_setting)]
    group: Option<Setting<String>>,
    /// Where the status events of the account's HTTP API messages sent
    /// without a `callback_url` are POSTed (http or https, a public
    /// address unless `[http] callback_allow` allows it), or `none`.
    #[arg(long, value_name = "URL|none", value_parser = parse_setting)]
    callback_url: Option<Setting<String>>,
    /// The configuration file whose `[http] callback_allow` --callback-url
    /// is checked against; without it ./smsgate.toml if it exists (as for
    /// `serve`), else the defaults.
    #[arg(long, env = "SMSGATE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
}

/// A value given on the command line where `none` removes the setting.
#[derive(Debug, Clone)]
struct Setting<T>(Option<T>);

/// An account as the CLI shows it: the store's fields plus which kind of
/// password hash it has (never the hash itself).
#[derive(serde::Serialize)]
struct AccountView<'a> {
    #[serde(flatten)]
    account: &'a Account,
    password: &'static str,
}

impl<'a> AccountView<'a> {
    fn of(account: &'a Account) -> AccountView<'a> {
        let password = if password::is_legacy(&account.password_hash) {
            "legacy-sha1"
        } else {
            "argon2id"
        };
        AccountView { account, password }
    }
}

/// Runs an account command against the store in `data_dir`.
pub fn run(data_dir: &Path, args: AccountArgs) -> Result<(), CliError> {
    let json = args.json;
    let db = database_path(data_dir);
    let explained = |error: StoreError, system_id: &str| explain(error, system_id, &db);
    match args.command {
        AccountCommand::Add {
            system_id,
            password,
            settings,
        } => {
            let hash = password::hash(&password.read()?)?;
            let account = with_store(data_dir, async |store| {
                let new = settings.into_new_account(system_id.clone(), hash);
                store
                    .create_account(new)
                    .await
                    .map_err(|error| explained(error, &system_id))
            })?;
            print_account(&account, json)
        }
        AccountCommand::List => {
            let accounts = with_store(data_dir, async |store| Ok(store.accounts().await?))?;
            print_accounts(&accounts, json, &db)
        }
        AccountCommand::Show { system_id } => {
            let account = with_store(data_dir, async |store| {
                store
                    .account(&system_id)
                    .await?
                    .ok_or_else(|| explained(not_found(&system_id), &system_id))
            })?;
            print_account(&account, json)
        }
        AccountCommand::Set { system_id, changes } => {
            if let Some(Setting(Some(url))) = &changes.callback_url {
                let (config, _) = load_config(changes.config.as_deref())?;
                check_callback_url(url, &callback_targets(&config))?;
            }
            let account = with_store(data_dir, async |store| {
                let current = store
                    .account(&system_id)
                    .await?
                    .ok_or_else(|| explained(not_found(&system_id), &system_id))?;
                let patch = changes.into_patch(&current)?;
                store
                    .update_account(&system_id, patch)
                    .await
                    .map_err(|error| explained(error, &system_id))
            })?;
            print_account(&account, json)
        }
        AccountCommand::Passwd {
            system_id,
            password,
        } => {
            let hash = password::hash(&password.read()?)?;
            with_store(data_dir, async |store| {
                store
                    .set_password_hash(&system_id, &hash)
                    .await
                    .map_err(|error| explained(error, &system_id))
            })?;
            print_done(json, &system_id, "password changed")
        }
        AccountCommand::Credit { system_id, change } => {
            let balance = with_store(data_dir, async |store| {
                store
                    .add_credits(&system_id, change)
                    .await
                    .map_err(|error| explained(error, &system_id))
            })?;
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "system_id": system_id, "credits": balance })
                );
            } else {
                println!("{system_id}: {balance} credits");
            }
            Ok(())
        }
        AccountCommand::Disable { system_id } => {
            set_enabled(data_dir, &db, &system_id, false, json)
        }
        AccountCommand::Enable { system_id } => set_enabled(data_dir, &db, &system_id, true, json),
        AccountCommand::Delete { system_id } => {
            with_store(data_dir, async |store| {
                store
                    .delete_account(&system_id)
                    .await
                    .map_err(|error| explained(error, &system_id))
            })?;
            print_done(json, &system_id, "deleted (its messages stay in the store)")
        }
        AccountCommand::ImportSha1 {
            system_id,
            hash,
            settings,
        } => {
            let stored = password::legacy_sha1(&hash)
                .map_err(|error| format!("invalid --hash for {system_id}: {error}"))?;
            let (account, created) = with_store(data_dir, async |store| {
                if store.account(&system_id).await?.is_some() {
                    store
                        .set_password_hash(&system_id, &stored)
                        .await
                        .map_err(|error| explained(error, &system_id))?;
                    let account = store
                        .account(&system_id)
                        .await?
                        .ok_or_else(|| explained(not_found(&system_id), &system_id))?;
                    return Ok((account, false));
                }
                let new = settings.into_new_account(system_id.clone(), stored);
                let account = store
                    .create_account(new)
                    .await
                    .map_err(|error| explained(error, &system_id))?;
                Ok((account, true))
            })?;
            if !created && !json {
                println!(
                    "{system_id} exists: replaced its password hash only \
                     (change other settings with `smsgate account set`)"
                );
            }
            print_account(&account, json)
        }
        AccountCommand::ApiKey(command) => run_api_key(data_dir, &db, command, json),
        AccountCommand::CallbackSecret { system_id } => {
            let key = crate::delivery::webhook_courier::callback_key(data_dir)?;
            let secret = crate::delivery::webhook_courier::callback_secret(&key, &system_id);
            if json {
                println!(
                    "{}",
                    serde_json::json!({ "account": system_id, "callback_secret": secret })
                );
            } else {
                println!("{secret}");
            }
            Ok(())
        }
    }
}

fn run_api_key(
    data_dir: &Path,
    db: &Path,
    command: ApiKeyCommand,
    json: bool,
) -> Result<(), CliError> {
    match command {
        ApiKeyCommand::Create { system_id, label } => {
            let generated = api_key::generate();
            let key = with_store(data_dir, async |store| {
                store
                    .create_api_key(NewApiKey {
                        id: generated.id.clone(),
                        account: system_id.clone(),
                        key_hash: generated.hash.clone(),
                        label,
                    })
                    .await
                    .map_err(|error| explain_key(error, &system_id, db))
            })?;
            if json {
                let mut view = serde_json::to_value(&key)?;
                view["key"] = generated.key.into();
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                println!(
                    "{}: API key {} created. The key, shown only now (keep it secret):\n{}\n\
                     Send it as `Authorization: Bearer KEY`; revoke it with \
                     `smsgate account api-key revoke {}`.",
                    key.account, key.id, generated.key, key.id
                );
            }
            Ok(())
        }
        ApiKeyCommand::List { system_id } => {
            let keys = with_store(data_dir, async |store| {
                if store.account(&system_id).await?.is_none() {
                    return Err(explain(not_found(&system_id), &system_id, db));
                }
                Ok(store.api_keys(&system_id).await?)
            })?;
            print_api_keys(&system_id, &keys, json)
        }
        ApiKeyCommand::Revoke { key_id } => {
            let key = with_store(data_dir, async |store| {
                store
                    .revoke_api_key(&key_id)
                    .await
                    .map_err(|error| match error {
                        StoreError::NotFound(_) => format!(
                            "there is no API key {key_id:?} in {} (see `smsgate account api-key \
                         list ACCOUNT`)",
                            db.display()
                        )
                        .into(),
                        other => other.into(),
                    })
            })?;
            print_done(json, &key.account, &format!("API key {} revoked", key.id))
        }
    }
}

/// An unknown account is explained as for every account command; anything
/// else (a clash of random ids, which is all but impossible) as it is.
fn explain_key(error: StoreError, system_id: &str, db: &Path) -> CliError {
    match error {
        StoreError::NotFound(_) => explain(error, system_id, db),
        other => other.into(),
    }
}

fn print_api_keys(system_id: &str, keys: &[ApiKey], json: bool) -> Result<(), CliError> {
    if json {
        println!("{}", serde_json::to_string_pretty(keys)?);
        return Ok(());
    }
    if keys.is_empty() {
        println!(
            "{system_id} has no API keys (create one with `smsgate account api-key create {system_id}`)"
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|key| {
            vec![
                key.id.clone(),
                or_dash(key.label.as_deref()),
                humantime::format_rfc3339_seconds(key.created_at).to_string(),
                key.last_used_at.map_or_else(
                    || "never".to_string(),
                    |at| humantime::format_rfc3339_seconds(at).to_string(),
                ),
            ]
        })
        .collect();
    print!(
        "{}",
        table(&["KEY ID", "LABEL", "CREATED", "LAST USED"], &rows)
    );
    Ok(())
}

fn set_enabled(
    data_dir: &Path,
    db: &Path,
    system_id: &str,
    enabled: bool,
    json: bool,
) -> Result<(), CliError> {
    let account = with_store(data_dir, async |store| {
        let patch = AccountPatch {
            enabled: Some(enabled),
            ..AccountPatch::default()
        };
        store
            .update_account(system_id, patch)
            .await
            .map_err(|error| explain(error, system_id, db))
    })?;
    print_account(&account, json)
}

impl PasswordInput {
    /// The password, checked for length. Never echoed or logged.
    fn read(self) -> Result<String, CliError> {
        let password = match self.password {
            Some(password) => password,
            None => {
                let mut line = String::new();
                std::io::stdin().lock().read_line(&mut line)?;
                let line = line.strip_suffix('\n').unwrap_or(&line);
                line.strip_suffix('\r').unwrap_or(line).to_string()
            }
        };
        check_password(&password)?;
        if let Some(warning) = fields::smpp_password_warning(&password) {
            eprintln!("warning: {warning}");
        }
        Ok(password)
    }
}

impl AccountSettings {
    fn into_new_account(self, system_id: String, password_hash: String) -> NewAccount {
        NewAccount {
            system_id,
            password_hash,
            credits: self.credits,
            max_binds: self.max_binds,
            tps: self.tps,
            window: self.window,
            deliver_window: self.deliver_window,
            bind_types: or_all_bind_types(self.bind_types),
            allowed_ips: self.allow_ip,
            allowed_senders: self.senders,
            default_sender: self.default_sender,
            address_ranges: self.address_ranges,
            group: self.group,
        }
    }
}

impl AccountChanges {
    /// The patch these options make to `current`; list options add to the
    /// current list (after clearing it, if asked).
    fn into_patch(self, current: &Account) -> Result<AccountPatch, CliError> {
        let extended = |clear: bool, current: &[String], added: Vec<String>| {
            (clear || !added.is_empty()).then(|| {
                let kept = if clear { Vec::new() } else { current.to_vec() };
                kept.into_iter().chain(added).collect::<Vec<_>>()
            })
        };
        let allowed_ips = (self.clear_allow_ip || !self.allow_ip.is_empty()).then(|| {
            let kept = if self.clear_allow_ip {
                Vec::new()
            } else {
                current.allowed_ips.clone()
            };
            kept.into_iter().chain(self.allow_ip).collect()
        });
        let patch = AccountPatch {
            enabled: self.enabled,
            max_binds: self.max_binds,
            tps: self.tps.map(|Setting(tps)| tps),
            window: self.window,
            deliver_window: self.deliver_window,
            bind_types: self.bind_types.map(or_all_bind_types),
            allowed_ips,
            allowed_senders: extended(self.clear_senders, &current.allowed_senders, self.senders),
            default_sender: self.default_sender.map(|Setting(sender)| sender),
            address_ranges: extended(
                self.clear_address_ranges,
                &current.address_ranges,
                self.address_ranges,
            ),
            group: self.group.map(|Setting(group)| group),
            callback_url: self.callback_url.map(|Setting(url)| url),
        };
        if patch.is_empty() {
            return Err(
                "nothing to change: give at least one option (see `smsgate account set --help`)"
                    .into(),
            );
        }
        Ok(patch)
    }
}

/// An empty bind-type list means the default: every type.
fn or_all_bind_types(types: Vec<BindType>) -> Vec<BindType> {
    if types.is_empty() {
        BindType::ALL.to_vec()
    } else {
        types
    }
}

fn not_found(system_id: &str) -> StoreError {
    StoreError::NotFound(format!("account {system_id}"))
}

/// Says what went wrong with an account and what to do about it.
fn explain(error: StoreError, system_id: &str, db: &Path) -> CliError {
    match error {
        StoreError::NotFound(_) => format!(
            "there is no account {system_id:?} in {} (see `smsgate account list`, \
             or --data-dir if it is elsewhere)",
            db.display()
        )
        .into(),
        StoreError::AlreadyExists(_) => format!(
            "an account {system_id:?} exists already: choose another system_id, or change \
             this one with `smsgate account set` / `smsgate account passwd`"
        )
        .into(),
        other => other.into(),
    }
}

fn print_account(account: &Account, json: bool) -> Result<(), CliError> {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&AccountView::of(account))?
        );
        return Ok(());
    }
    let view = AccountView::of(account);
    let password = match view.password {
        "legacy-sha1" => "legacy SHA-1 (replaced by argon2id on the next good bind)",
        _ => "argon2id",
    };
    let ips: Vec<String> = account.allowed_ips.iter().map(IpNet::to_string).collect();
    print!(
        "{}",
        fields(&[
            ("system_id", account.system_id.clone()),
            ("enabled", yes_no(account.enabled).to_string()),
            ("credits", account.credits.to_string()),
            ("password", password.to_string()),
            ("max binds", account.max_binds.to_string()),
            ("tps", tps_text(account.tps)),
            ("window", account.window.to_string()),
            ("deliver window", account.deliver_window.to_string()),
            ("bind types", bind_types_text(&account.bind_types)),
            ("allowed IPs", list_or(&ips, "any")),
            ("senders", list_or(&account.allowed_senders, "any")),
            ("default sender", or_dash(account.default_sender.as_deref())),
            ("address ranges", list_or(&account.address_ranges, "none")),
            ("group", or_dash(account.group.as_deref())),
            ("callback URL", or_dash(account.callback_url.as_deref())),
            (
                "created",
                humantime::format_rfc3339_seconds(account.created_at).to_string()
            ),
        ])
    );
    Ok(())
}

fn print_accounts(accounts: &[Account], json: bool, db: &Path) -> Result<(), CliError> {
    if json {
        let views: Vec<AccountView<'_>> = accounts.iter().map(AccountView::of).collect();
        println!("{}", serde_json::to_string_pretty(&views)?);
        return Ok(());
    }
    if accounts.is_empty() {
        println!(
            "no accounts in {} (add one with `smsgate account add`)",
            db.display()
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = accounts
        .iter()
        .map(|account| {
            vec![
                account.system_id.clone(),
                yes_no(account.enabled).to_string(),
                account.credits.to_string(),
                tps_text(account.tps),
                account.max_binds.to_string(),
                account.window.to_string(),
                bind_types_text(&account.bind_types),
                or_dash(account.group.as_deref()),
            ]
        })
        .collect();
    print!(
        "{}",
        table(
            &[
                "SYSTEM_ID",
                "ENABLED",
                "CREDITS",
                "TPS",
                "BINDS",
                "WINDOW",
                "BIND TYPES",
                "GROUP"
            ],
            &rows
        )
    );
    Ok(())
}

fn print_done(json: bool, system_id: &str, what: &str) -> Result<(), CliError> {
    if json {
        println!(
            "{}",
            serde_json::json!({ "system_id": system_id, "result": what })
        );
    } else {
        println!("{system_id}: {what}");
    }
    Ok(())
}

fn yes_no(flag: bool) -> &'static str {
    if flag { "yes" } else { "no" }
}

fn tps_text(tps: Option<u32>) -> String {
    tps.map_or_else(|| "unlimited".to_string(), |tps| tps.to_string())
}

fn bind_types_text(types: &[BindType]) -> String {
    types
        .iter()
        .map(|bind_type| bind_type.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

fn or_dash(value: Option<&str>) -> String {
    value.unwrap_or("-").to_string()
}

fn parse_system_id(text: &str) -> Result<String, String> {
    fields::check_system_id(text)?;
    Ok(text.to_string())
}

fn parse_bind_type(text: &str) -> Result<BindType, String> {
    BindType::parse(text.trim())
        .ok_or_else(|| format!("{text:?} is not a bind type: use tx, rx or trx"))
}

fn parse_ip_range(text: &str) -> Result<IpNet, String> {
    fields::parse_ip_range(text)
}

fn parse_tps(text: &str) -> Result<Setting<u32>, String> {
    if text == "none" {
        return Ok(Setting(None));
    }
    match text.parse::<u32>() {
        Ok(tps) if tps > 0 => Ok(Setting(Some(tps))),
        _ => Err(format!(
            "{text:?} is not a rate: give messages per second (1 or more), or `none` for no limit"
        )),
    }
}

fn parse_setting(text: &str) -> Result<Setting<String>, String> {
    if text.is_empty() {
        return Err("give a value, or `none` to remove the setting".to_string());
    }
    Ok(Setting((text != "none").then(|| text.to_string())))
}
