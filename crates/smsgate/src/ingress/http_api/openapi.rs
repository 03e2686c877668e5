//! The API's OpenAPI 3.1 document, generated from the handlers' and the
//! bodies' annotations, served at `GET /api/v1/openapi.json` without
//! credentials (it describes the API; it holds nothing of any account).

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{messages, status};

/// The customer API v1.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "smsgate customer API",
        description = "Send SMS and follow them: the HTTP twin of the gateway's SMPP server. \
            Errors are RFC 9457 problems (`application/problem+json`) with a stable `code`."
    ),
    paths(
        messages::send,
        messages::send_batch,
        messages::show,
        status::balance,
        status::status
    ),
    modifiers(&Credentials),
    security(("bearer" = []), ("basic" = [])),
    tags(
        (name = "messages", description = "Send messages and look them up"),
        (name = "account", description = "The calling account's credits and whether it can send now")
    )
)]
pub struct ApiDoc;

/// The two ways to authenticate: an API key as a bearer token, or the
/// account's SMPP system_id and password as HTTP Basic.
struct Credentials;

impl Modify for Credentials {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key from `smsgate account api-key create ACCOUNT`",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("The account's SMPP system_id and password"))
                    .build(),
            ),
        );
    }
}

/// `GET /api/v1/openapi.json`.
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
