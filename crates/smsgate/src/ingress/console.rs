//! The operator's web console (docs/admin-api.md): the HTML, CSS and
//! JavaScript under `crates/smsgate/console/`, embedded in the binary and
//! served at `/console/`. There is no front-end build step: those files are
//! what the browser gets. `/` and `/console` redirect to `/console/`.
//!
//! The console only talks to the admin API (`/admin/api/…`, same origin);
//! this module knows nothing of accounts or messages, and never reads a
//! file at run time. Every answer carries a strict Content-Security-Policy
//! (scripts and styles from this origin only, no inline script), so text
//! that slipped into the page as markup still could not run.

use axum::Router;
use axum::extract::Path;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// Where the console is served.
const PREFIX: &str = "/console/";

/// No inline script or style, nothing from another origin, not framable.
/// `img-src data:` is for the empty favicon; `style-src` allows the
/// stylesheet only (styles set from the scripts through the CSSOM are not
/// inline styles).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// One embedded file.
struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static [u8],
}

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

macro_rules! asset {
    ($name:literal, $content_type:expr) => {
        Asset {
            name: $name,
            content_type: $content_type,
            body: include_bytes!(concat!("../../console/", $name)),
        }
    };
}

/// The console's files; `index.html` is served for `/console/` itself.
const ASSETS: &[Asset] = &[
    asset!("index.html", HTML),
    asset!("style.css", CSS),
    asset!("app.js", JS),
    asset!("api.js", JS),
    asset!("ui.js", JS),
    asset!("chart.js", JS),
    asset!("dashboard.js", JS),
    asset!("sessions.js", JS),
    asset!("accounts.js", JS),
    asset!("connectors.js", JS),
    asset!("routes.js", JS),
    asset!("messages.js", JS),
    asset!("queues.js", JS),
    asset!("security.js", JS),
];

/// The console's routes, to merge into the HTTP listener's router.
pub fn routes() -> Router {
    Router::new()
        .route("/", get(to_console))
        .route("/console", get(to_console))
        .route(PREFIX, get(index))
        .route("/console/{file}", get(file))
}

async fn to_console() -> Redirect {
    Redirect::temporary(PREFIX)
}

async fn index() -> Response {
    serve("index.html")
}

async fn file(Path(name): Path<String>) -> Response {
    serve(&name)
}

fn serve(name: &str) -> Response {
    let Some(asset) = ASSETS.iter().find(|asset| asset.name == name) else {
        return with_security_headers(
            (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                "no such file in the console\n",
            )
                .into_response(),
        );
    };
    with_security_headers(
        (
            [
                (header::CONTENT_TYPE, asset.content_type),
                // Revalidate every time: an upgraded gateway serves new files
                // under the same names.
                (header::CACHE_CONTROL, "no-cache"),
            ],
            asset.body,
        )
            .into_response(),
    )
}

fn with_security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_module_the_console_imports_is_embedded() {
        for asset in ASSETS.iter().filter(|asset| asset.name.ends_with(".js")) {
            let source = std::str::from_utf8(asset.body).expect("UTF-8 JavaScript");
            for line in source.lines().filter(|line| line.contains(" from './")) {
                let Some(start) = line.find("'./") else {
                    continue;
                };
                let rest = &line[start + 3..];
                let imported = &rest[..rest.find('\'').expect("a closing quote")];
                assert!(
                    ASSETS.iter().any(|asset| asset.name == imported),
                    "{} imports {imported}, which is not embedded",
                    asset.name
                );
            }
        }
    }

    #[test]
    fn the_page_loads_only_embedded_files_and_no_inline_script() {
        let index = std::str::from_utf8(ASSETS[0].body).expect("UTF-8 HTML");
        assert!(index.contains(r#"<script type="module" src="app.js"></script>"#));
        assert!(index.contains(r#"<link rel="stylesheet" href="style.css">"#));
        assert_eq!(
            index.matches("<script").count(),
            1,
            "one script, no inline one"
        );
        assert!(
            !index.contains("style="),
            "no inline styles: the CSP refuses them"
        );
    }
}
