//! `/admin/api/accounts`: customer accounts, their credits and their
//! customer API keys, as `smsgate account …` manages them, with the same
//! defaults and the same rules for each field ([`crate::accounts::fields`]).

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize};

use super::AdminState;
use super::body::{conflict, invalid, json, optional_json, store_problem};
use crate::accounts::api_key;
use crate::accounts::fields::{self, DEFAULT_DELIVER_WINDOW, DEFAULT_MAX_BINDS, DEFAULT_WINDOW};
use crate::ingress::http_api::problem::Problem;
use crate::store::{Account, AccountPatch, ApiKey, BindType, NewAccount, NewApiKey, StoreError};

/// An account as listed: the store's fields (never the password hash) and
/// how many sessions it has bound on this node.
#[derive(Debug, Serialize)]
pub(super) struct AccountView {
    #[serde(flatten)]
    account: Account,
    sessions: usize,
}

/// `POST /admin/api/accounts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewAccountRequest {
    system_id: String,
    password: String,
    #[serde(default)]
    credits: i64,
    #[serde(default = "default_max_binds")]
    max_binds: u32,
    #[serde(default)]
    tps: Option<u32>,
    #[serde(default = "default_window")]
    window: u32,
    #[serde(default = "default_deliver_window")]
    deliver_window: u32,
    #[serde(default)]
    bind_types: Vec<String>,
    #[serde(default)]
    allowed_ips: Vec<String>,
    #[serde(default)]
    allowed_senders: Vec<String>,
    #[serde(default)]
    default_sender: Option<String>,
    #[serde(default)]
    address_ranges: Vec<String>,
    #[serde(default)]
    group: Option<String>,
    /// Where the status events of its HTTP API messages sent without a
    /// `callback_url` go.
    #[serde(default)]
    callback_url: Option<String>,
}

fn default_max_binds() -> u32 {
    DEFAULT_MAX_BINDS
}

fn default_window() -> u32 {
    DEFAULT_WINDOW
}

fn default_deliver_window() -> u32 {
    DEFAULT_DELIVER_WINDOW
}

/// `PATCH /admin/api/accounts/{system_id}`: each field given replaces the
/// setting; `null` removes `tps` (no limit), `default_sender`, `group` and
/// `callback_url`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct AccountChanges {
    enabled: Option<bool>,
    max_binds: Option<u32>,
    #[serde(default, deserialize_with = "present")]
    tps: Option<Option<u32>>,
    window: Option<u32>,
    deliver_window: Option<u32>,
    bind_types: Option<Vec<String>>,
    allowed_ips: Option<Vec<String>>,
    allowed_senders: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    default_sender: Option<Option<String>>,
    address_ranges: Option<Vec<String>>,
    #[serde(default, deserialize_with = "present")]
    group: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    callback_url: Option<Option<String>>,
    password: Option<String>,
}

/// A field that is present, `null` included: `Some(None)` for `null`,
/// `None` (by `default`) when absent.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

/// `POST /admin/api/accounts/{system_id}/credits`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CreditChange {
    delta: i64,
}

/// The balance after a credit change.
#[derive(Debug, Serialize)]
pub(super) struct Balance {
    credits: i64,
}

/// `POST /admin/api/accounts/{system_id}/api-keys`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct NewKeyRequest {
    #[serde(default)]
    label: Option<String>,
}

/// A new API key, with the key itself: shown this once.
#[derive(Debug, Serialize)]
pub(super) struct CreatedKey {
    #[serde(flatten)]
    key: ApiKey,
    #[serde(rename = "key")]
    secret: String,
}

/// `GET /admin/api/accounts`.
pub(super) async fn list(
    State(admin): State<AdminState>,
) -> Result<Json<Vec<AccountView>>, Problem> {
    let accounts = admin.ctx.store.accounts().await.map_err(store_problem)?;
    let mut bound: HashMap<String, usize> = HashMap::new();
    for session in admin.ctx.registry.list() {
        *bound.entry(session.system_id).or_default() += 1;
    }
    Ok(Json(
        accounts
            .into_iter()
            .map(|account| AccountView {
                sessions: bound.get(&account.system_id).copied().unwrap_or(0),
                account,
            })
            .collect(),
    ))
}

/// `POST /admin/api/accounts`: 201 with the account.
pub(super) async fn create(
    State(admin): State<AdminState>,
    body: Result<Json<NewAccountRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<AccountView>), Problem> {
    let request = json(body)?;
    fields::check_system_id(&request.system_id).map_err(invalid)?;
    fields::check_password(&request.password).map_err(invalid)?;
    if request.credits < 0 {
        return Err(invalid(format!(
            "credits cannot be negative (got {})",
            request.credits
        )));
    }
    positive("max_binds", request.max_binds)?;
    positive("window", request.window)?;
    fields::check_deliver_window(request.deliver_window).map_err(invalid)?;
    if let Some(tps) = request.tps {
        positive("tps", tps)?;
    }
    let callback_url = callback_url(&admin, request.callback_url)?;
    let new = NewAccount {
        password_hash: hash_password(&admin, request.password).await?,
        credits: request.credits,
        max_binds: request.max_binds,
        tps: request.tps,
        window: request.window,
        deliver_window: request.deliver_window,
        bind_types: bind_types(&request.bind_types)?,
        allowed_ips: ip_ranges(&request.allowed_ips)?,
        allowed_senders: request.allowed_senders,
        default_sender: not_blank("default_sender", request.default_sender)?,
        address_ranges: request.address_ranges,
        group: not_blank("group", request.group)?,
        system_id: request.system_id,
    };
    let system_id = new.system_id.clone();
    let account = admin
        .ctx
        .store
        .create_account(new)
        .await
        .map_err(|error| match error {
            StoreError::AlreadyExists(_) => {
                conflict(format!("an account {system_id:?} exists already"))
            }
            other => store_problem(other),
        })?;
    // NewAccount has no callback URL (the CLI and the store's other
    // callers never set one at creation): it is set as a change.
    let account = match callback_url {
        Some(url) => admin
            .ctx
            .store
            .update_account(
                &system_id,
                AccountPatch {
                    callback_url: Some(Some(url)),
                    ..AccountPatch::default()
                },
            )
            .await
            .map_err(store_problem)?,
        None => account,
    };
    Ok((StatusCode::CREATED, Json(view(&admin, account))))
}

/// `GET /admin/api/accounts/{system_id}`.
pub(super) async fn show(
    State(admin): State<AdminState>,
    Path(system_id): Path<String>,
) -> Result<Json<AccountView>, Problem> {
    let account = existing(&admin, &system_id).await?;
    Ok(Json(view(&admin, account)))
}

/// `PATCH /admin/api/accounts/{system_id}`.
pub(super) async fn update(
    State(admin): State<AdminState>,
    Path(system_id): Path<String>,
    body: Result<Json<AccountChanges>, JsonRejection>,
) -> Result<Json<AccountView>, Problem> {
    let changes = json(body)?;
    existing(&admin, &system_id).await?;
    let new_hash = match changes.password {
        Some(password) => {
            fields::check_password(&password).map_err(invalid)?;
            Some(hash_password(&admin, password).await?)
        }
        None => None,
    };
    for (name, value) in [("max_binds", changes.max_binds), ("window", changes.window)] {
        if let Some(value) = value {
            positive(name, value)?;
        }
    }
    if let Some(Some(tps)) = changes.tps {
        positive("tps", tps)?;
    }
    if let Some(window) = changes.deliver_window {
        fields::check_deliver_window(window).map_err(invalid)?;
    }
    let patch = AccountPatch {
        enabled: changes.enabled,
        max_binds: changes.max_binds,
        tps: changes.tps,
        window: changes.window,
        deliver_window: changes.deliver_window,
        bind_types: changes.bind_types.as_deref().map(bind_types).transpose()?,
        allowed_ips: changes.allowed_ips.as_deref().map(ip_ranges).transpose()?,
        allowed_senders: changes.allowed_senders,
        default_sender: changes
            .default_sender
            .map(|sender| not_blank("default_sender", sender))
            .transpose()?,
        address_ranges: changes.address_ranges,
        group: changes
            .group
            .map(|group| not_blank("group", group))
            .transpose()?,
        callback_url: changes
            .callback_url
            .map(|url| callback_url(&admin, url))
            .transpose()?,
    };
    let changes_settings = !patch.is_empty();
    if !changes_settings && new_hash.is_none() {
        return Err(invalid(
            "nothing to change: give at least one field (enabled, max_binds, tps, window, deliver_window, \
             bind_types, allowed_ips, allowed_senders, default_sender, address_ranges, group, \
             callback_url, password)",
        ));
    }
    let store = &admin.ctx.store;
    if changes_settings {
        store
            .update_account(&system_id, patch)
            .await
            .map_err(store_problem)?;
    }
    if let Some(hash) = new_hash {
        store
            .set_password_hash(&system_id, &hash)
            .await
            .map_err(store_problem)?;
        admin.ctx.verifier.forget(&system_id);
    }
    // Enabled, allowlist and the rest: the customer API sees them now,
    // not when its remembered keys lapse.
    admin.ctx.api_keys.clear();
    let account = existing(&admin, &system_id).await?;
    Ok(Json(view(&admin, account)))
}

/// `POST /admin/api/accounts/{system_id}/credits`: the new balance; a
/// change that would take it below zero is refused (422) and changes nothing.
pub(super) async fn credit(
    State(admin): State<AdminState>,
    Path(system_id): Path<String>,
    body: Result<Json<CreditChange>, JsonRejection>,
) -> Result<Json<Balance>, Problem> {
    let CreditChange { delta } = json(body)?;
    let below_zero = |balance: i64| {
        invalid(format!(
            "the credits of account {system_id} cannot go below zero \
             (balance {balance}, change {delta})"
        ))
    };
    let account = existing(&admin, &system_id).await?;
    if account
        .credits
        .checked_add(delta)
        .is_none_or(|after| after < 0)
    {
        return Err(below_zero(account.credits));
    }
    match admin.ctx.store.add_credits(&system_id, delta).await {
        Ok(credits) => Ok(Json(Balance { credits })),
        // The store refuses a change below zero as a backend error;
        // messages charged since the read above may have made it one.
        Err(StoreError::Backend(detail)) => {
            let now = existing(&admin, &system_id).await?;
            if now.credits.checked_add(delta).is_none_or(|after| after < 0) {
                Err(below_zero(now.credits))
            } else {
                Err(store_problem(StoreError::Backend(detail)))
            }
        }
        Err(error) => Err(store_problem(error)),
    }
}

/// `DELETE /admin/api/accounts/{system_id}`: 204. Its messages stay; its
/// bound sessions are unbound within seconds (they re-read their account).
pub(super) async fn remove(
    State(admin): State<AdminState>,
    Path(system_id): Path<String>,
) -> Result<StatusCode, Problem> {
    admin
        .ctx
        .store
        .delete_account(&system_id)
        .await
        .map_err(store_problem)?;
    admin.ctx.api_keys.clear();
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /admin/api/accounts/{system_id}/api-keys`: never the keys themselves.
pub(super) async fn api_keys(
    State(admin): State<AdminState>,
    Path(system_id): Path<String>,
) -> Result<Json<Vec<ApiKey>>, Problem> {
    existing(&admin, &system_id).await?;
    let keys = admin
        .ctx
        .store
        .api_keys(&system_id)
        .await
        .map_err(store_problem)?;
    Ok(Json(keys))
}

/// `POST /admin/api/accounts/{system_id}/api-keys`: 201 with the key, shown
/// this once (the store keeps only its SHA-256).
pub(super) async fn create_api_key(
    State(admin): State<AdminState>,
    Path(system_id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<CreatedKey>), Problem> {
    let request: NewKeyRequest = optional_json(&body)?;
    existing(&admin, &system_id).await?;
    let generated = api_key::generate();
    let key = admin
        .ctx
        .store
        .create_api_key(NewApiKey {
            id: generated.id,
            account: system_id,
            key_hash: generated.hash,
            label: not_blank("label", request.label)?,
        })
        .await
        .map_err(store_problem)?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            key,
            secret: generated.key,
        }),
    ))
}

/// `DELETE /admin/api/accounts/{system_id}/api-keys/{key_id}`: 204; 404
/// when the account has no such key.
pub(super) async fn revoke_api_key(
    State(admin): State<AdminState>,
    Path((system_id, key_id)): Path<(String, String)>,
) -> Result<StatusCode, Problem> {
    let store = &admin.ctx.store;
    let owned = store
        .api_keys(&system_id)
        .await
        .map_err(store_problem)?
        .iter()
        .any(|key| key.id == key_id);
    if !owned {
        return Err(Problem::not_found(format!(
            "account {system_id} has no API key {key_id}"
        )));
    }
    store.revoke_api_key(&key_id).await.map_err(store_problem)?;
    admin.ctx.api_keys.clear();
    Ok(StatusCode::NO_CONTENT)
}

/// The account, or 404.
async fn existing(admin: &AdminState, system_id: &str) -> Result<Account, Problem> {
    admin
        .ctx
        .store
        .account(system_id)
        .await
        .map_err(store_problem)?
        .ok_or_else(|| Problem::not_found(format!("no account {system_id}")))
}

fn view(admin: &AdminState, account: Account) -> AccountView {
    AccountView {
        sessions: admin.ctx.registry.count_for(&account.system_id),
        account,
    }
}

/// An argon2id hash, made on the password threads (~30 ms of CPU).
async fn hash_password(admin: &AdminState, password: String) -> Result<String, Problem> {
    admin.ctx.verifier.hash(password).await.map_err(|error| {
        tracing::warn!(%error, "admin api: cannot hash a password");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "the password could not be hashed",
        )
    })
}

fn positive(name: &str, value: u32) -> Result<(), Problem> {
    if value == 0 {
        return Err(invalid(format!("{name} must be 1 or more")));
    }
    Ok(())
}

/// Bind types by their short or long names; none given means every type.
fn bind_types(names: &[String]) -> Result<Vec<BindType>, Problem> {
    if names.is_empty() {
        return Ok(BindType::ALL.to_vec());
    }
    names
        .iter()
        .map(|name| {
            BindType::parse(name.trim()).ok_or_else(|| {
                invalid(format!(
                    "bind_types: {name:?} is not a bind type (use tx, rx, trx or \
                     transmitter, receiver, transceiver)"
                ))
            })
        })
        .collect()
}

fn ip_ranges(texts: &[String]) -> Result<Vec<IpNet>, Problem> {
    texts
        .iter()
        .map(|text| {
            fields::parse_ip_range(text.trim())
                .map_err(|why| invalid(format!("allowed_ips: {why}")))
        })
        .collect()
}

/// An optional text that, when given, is not empty.
fn not_blank(name: &str, value: Option<String>) -> Result<Option<String>, Problem> {
    match value {
        Some(text) if text.trim().is_empty() => Err(invalid(format!(
            "{name} is empty: give a value, or leave it out (null) to have none"
        ))),
        other => Ok(other),
    }
}

/// An account's default callback URL, checked as a message's is (a
/// literal internal address is refused unless `[http] callback_allow`
/// allows it); blank is none.
fn callback_url(admin: &AdminState, url: Option<String>) -> Result<Option<String>, Problem> {
    match url {
        Some(url) if !url.trim().is_empty() => {
            crate::ingress::http_api::send::check_callback_url(&url, &admin.ctx.callback_targets)
                .map_err(invalid)?;
            Ok(Some(url))
        }
        _ => Ok(None),
    }
}
