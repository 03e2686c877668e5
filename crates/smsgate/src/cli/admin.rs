//! `smsgate admin …`: the operators of the admin API and the console (their
//! users and tokens), managed in the store whether or not the gateway runs.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use clap::{Args, Subcommand};

use crate::accounts::fields::check_password;
use crate::accounts::{admin_token, password};
use crate::node::database_path;
use crate::store::{AdminToken, AdminUser, NewAdminToken, Store, StoreError};

use super::CliError;
use super::store_file::with_store;
use super::table::table;

/// `smsgate admin`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Print JSON instead of text (for scripts).
    #[arg(long, global = true)]
    json: bool,
    /// What to do.
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Debug, Subcommand)]
enum AdminCommand {
    /// Manage admin users (who may log in to the console and the admin API).
    #[command(subcommand)]
    User(UserCommand),
    /// Manage admin tokens (for scripts calling the admin API).
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
enum UserCommand {
    /// Add an admin user; asks for the password (or reads it from stdin).
    Add {
        /// The login name.
        name: String,
        #[command(flatten)]
        password: PasswordSource,
    },
    /// List the admin users.
    List,
    /// Set an admin user's password.
    Passwd {
        /// The login name.
        name: String,
        #[command(flatten)]
        password: PasswordSource,
    },
    /// Remove an admin user (its console sessions end at their next request).
    Remove {
        /// The login name.
        name: String,
    },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print it: it is shown only this once (the store
    /// keeps only its SHA-256).
    Create {
        /// A note on what the token is for (shown in lists).
        #[arg(long, value_name = "TEXT")]
        label: Option<String>,
    },
    /// List the tokens: ids, labels and last use, never the tokens.
    List,
    /// Revoke a token by its id: requests with it are refused from now on.
    Revoke {
        /// The token's id, as `list` shows it.
        id: String,
    },
}

/// Where the password comes from: asked on the terminal (twice, not
/// echoed), or the first line of stdin (for scripts).
#[derive(Debug, Args)]
struct PasswordSource {
    /// Read the password from the first line of stdin instead of asking.
    #[arg(long)]
    password_stdin: bool,
}

/// Runs an admin command against the store in `data_dir`.
pub fn run(data_dir: &Path, args: AdminArgs) -> Result<(), CliError> {
    let db = database_path(data_dir);
    match args.command {
        AdminCommand::User(command) => run_user(data_dir, &db, command, args.json),
        AdminCommand::Token(command) => run_token(data_dir, &db, command, args.json),
    }
}

fn run_user(data_dir: &Path, db: &Path, command: UserCommand, json: bool) -> Result<(), CliError> {
    match command {
        UserCommand::Add { name, password } => {
            check_name(&name)?;
            let hash = password::hash(&password.read(&name)?)?;
            let user = with_store(data_dir, async |store| {
                store
                    .create_admin_user(&name, &hash)
                    .await
                    .map_err(|error| explain_user(error, &name, db))
            })?;
            if json {
                println!("{}", serde_json::to_string_pretty(&user)?);
            } else {
                println!("admin user {} added", user.name);
            }
            Ok(())
        }
        UserCommand::List => {
            let users = with_store(data_dir, async |store| Ok(store.admin_users().await?))?;
            print_users(&users, json, db)
        }
        UserCommand::Passwd { name, password } => {
            let hash = password::hash(&password.read(&name)?)?;
            with_store(data_dir, async |store| {
                store
                    .set_admin_password_hash(&name, &hash)
                    .await
                    .map_err(|error| explain_user(error, &name, db))
            })?;
            print_done(json, &name, "password changed")
        }
        UserCommand::Remove { name } => {
            with_store(data_dir, async |store| {
                store
                    .delete_admin_user(&name)
                    .await
                    .map_err(|error| explain_user(error, &name, db))
            })?;
            print_done(json, &name, "removed")
        }
    }
}

fn run_token(
    data_dir: &Path,
    db: &Path,
    command: TokenCommand,
    json: bool,
) -> Result<(), CliError> {
    match command {
        TokenCommand::Create { label } => {
            let generated = admin_token::generate();
            let token = with_store(data_dir, async |store| {
                Ok(store
                    .create_admin_token(NewAdminToken {
                        id: generated.id.clone(),
                        token_hash: generated.hash.clone(),
                        label,
                    })
                    .await?)
            })?;
            if json {
                let mut view = serde_json::to_value(&token)?;
                view["token"] = generated.key.into();
                println!("{}", serde_json::to_string_pretty(&view)?);
            } else {
                println!(
                    "admin token {} created. The token, shown only now (keep it secret):\n{}\n\
                     Send it as `Authorization: Bearer TOKEN` to /admin/api; revoke it with \
                     `smsgate admin token revoke {}`.",
                    token.id, generated.key, token.id
                );
            }
            Ok(())
        }
        TokenCommand::List => {
            let tokens = with_store(data_dir, async |store| Ok(store.admin_tokens().await?))?;
            print_tokens(&tokens, json)
        }
        TokenCommand::Revoke { id } => {
            let token = with_store(data_dir, async |store| {
                store
                    .revoke_admin_token(&id)
                    .await
                    .map_err(|error| match error {
                        StoreError::NotFound(_) => format!(
                            "there is no admin token {id:?} in {} (see `smsgate admin token list`)",
                            db.display()
                        )
                        .into(),
                        other => CliError::from(other),
                    })
            })?;
            print_done(json, &format!("token {}", token.id), "revoked")
        }
    }
}

impl PasswordSource {
    /// The password for `name`, checked for length. Never echoed or logged.
    fn read(self, name: &str) -> Result<String, CliError> {
        let password = if self.password_stdin {
            read_line()?
        } else {
            let first = ask(&format!("new password for admin user {name}: "))?;
            let again = ask("the same again: ")?;
            if first != again {
                return Err("the two passwords differ; nothing changed".into());
            }
            first
        };
        check_password(&password)?;
        Ok(password)
    }
}

/// One line of stdin, without its line end.
fn read_line() -> Result<String, CliError> {
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    let line = line.strip_suffix('\n').unwrap_or(&line);
    Ok(line.strip_suffix('\r').unwrap_or(line).to_string())
}

/// Asks on the terminal with echo off (through `stty`, so no terminal
/// library is needed); refuses without a terminal rather than read a
/// password that scrolls by.
fn ask(prompt: &str) -> Result<String, CliError> {
    if !std::io::stdin().is_terminal() {
        return Err("no terminal to ask for the password on: give it with --password-stdin".into());
    }
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let stty = |setting: &str| {
        Command::new("stty")
            .arg(setting)
            .stdin(Stdio::inherit())
            .status()
            .is_ok_and(|status| status.success())
    };
    let hidden = stty("-echo");
    let line = read_line();
    if hidden {
        stty("echo");
    }
    eprintln!();
    line
}

/// Admin user names: 1 to 64 printable ASCII characters without spaces or
/// `:` (which would end the name in HTTP Basic credentials).
fn check_name(name: &str) -> Result<(), CliError> {
    let length = name.chars().count();
    if length == 0 || length > 64 || !name.chars().all(|c| c.is_ascii_graphic() && c != ':') {
        return Err(format!(
            "{name:?} is not a user name: 1 to 64 printable ASCII characters, no spaces or `:`"
        )
        .into());
    }
    Ok(())
}

fn explain_user(error: StoreError, name: &str, db: &Path) -> CliError {
    match error {
        StoreError::NotFound(_) => format!(
            "there is no admin user {name:?} in {} (see `smsgate admin user list`)",
            db.display()
        )
        .into(),
        StoreError::AlreadyExists(_) => format!(
            "an admin user {name:?} exists already (change its password with \
             `smsgate admin user passwd {name}`)"
        )
        .into(),
        other => other.into(),
    }
}

fn print_users(users: &[AdminUser], json: bool, db: &Path) -> Result<(), CliError> {
    if json {
        println!("{}", serde_json::to_string_pretty(users)?);
        return Ok(());
    }
    if users.is_empty() {
        println!(
            "no admin users in {} (add one with `smsgate admin user add NAME`, or start \
             `smsgate serve` once to have `admin` created)",
            db.display()
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|user| {
            vec![
                user.name.clone(),
                humantime::format_rfc3339_seconds(user.created_at).to_string(),
            ]
        })
        .collect();
    print!("{}", table(&["NAME", "CREATED"], &rows));
    Ok(())
}

fn print_tokens(tokens: &[AdminToken], json: bool) -> Result<(), CliError> {
    if json {
        println!("{}", serde_json::to_string_pretty(tokens)?);
        return Ok(());
    }
    if tokens.is_empty() {
        println!("no admin tokens (create one with `smsgate admin token create --label NAME`)");
        return Ok(());
    }
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|token| {
            vec![
                token.id.clone(),
                token.label.clone().unwrap_or_else(|| "-".to_string()),
                humantime::format_rfc3339_seconds(token.created_at).to_string(),
                token.last_used_at.map_or_else(
                    || "never".to_string(),
                    |at| humantime::format_rfc3339_seconds(at).to_string(),
                ),
            ]
        })
        .collect();
    print!(
        "{}",
        table(&["TOKEN ID", "LABEL", "CREATED", "LAST USED"], &rows)
    );
    Ok(())
}

fn print_done(json: bool, what: &str, result: &str) -> Result<(), CliError> {
    if json {
        println!("{}", serde_json::json!({ "name": what, "result": result }));
    } else {
        println!("{what}: {result}");
    }
    Ok(())
}
