//! Webhook delivery against a real HTTP server on 127.0.0.1: the exact
//! bodies, the signature, and what each kind of answer comes to.

use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use smsgate::delivery::callback_targets::CallbackTargets;
use smsgate::delivery::webhook::{
    MoEvent, PostOutcome, StatusEvent, TIMESTAMP_HEADER, Webhook, WebhookConfig, WebhookPayload,
};
use smsgate::store::MessageState;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// One request as the server saw it.
struct Received {
    headers: HeaderMap,
    body: Bytes,
}

/// A server on a free port that records each request and answers
/// `status` (with `answer` as the body) after `delay`. Returns its URL.
async fn server(
    status: StatusCode,
    answer: &'static str,
    delay: Duration,
) -> (String, mpsc::UnboundedReceiver<Received>) {
    let (tx, rx) = mpsc::unbounded_channel();
    let app = Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(Received { headers, body });
                tokio::time::sleep(delay).await;
                (status, answer)
            }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{address}/hook"), rx)
}

fn webhook(url: &str, extra_toml: &str) -> Webhook {
    let config: WebhookConfig =
        toml::from_str(&format!("url = {url:?}\n{extra_toml}")).expect("test config parses");
    Webhook::new("crm", config).expect("valid webhook")
}

fn mo() -> WebhookPayload {
    WebhookPayload::Mo(MoEvent {
        id: "01HXMO0000000000000000000".into(),
        from: "+447700900123".into(),
        to: "31699887766".into(),
        text: "Hello \"world\" 😀".into(),
        connector: "carrier".into(),
        received_at: "2024-05-01T12:00:00Z".parse().expect("timestamp"),
        segments: 2,
    })
}

fn status() -> WebhookPayload {
    WebhookPayload::Status(StatusEvent {
        id: "01HXMT0000000000000000000".into(),
        state: MessageState::Delivered,
        previous_state: Some(MessageState::Submitted),
        err: None,
        at: "2024-05-01T12:00:05Z".parse().expect("timestamp"),
        client_ref: Some("order-7".into()),
    })
}

async fn received(rx: &mut mpsc::UnboundedReceiver<Received>) -> Received {
    tokio::time::timeout(Duration::from_secs(5), rx.recv())
        .await
        .expect("the server got a request")
        .expect("one request")
}

fn text(body: &Bytes) -> &str {
    std::str::from_utf8(body).expect("utf-8 body")
}

fn header<'a>(request: &'a Received, name: &str) -> Option<&'a str> {
    request
        .headers
        .get(name)
        .map(|value| value.to_str().expect("ascii header"))
}

#[tokio::test]
async fn mo_is_posted_as_a_flat_json_object_with_the_constant_fields() {
    let (url, mut rx) = server(StatusCode::OK, "", Duration::ZERO).await;
    let hook = webhook(&url, "[fields]\naccount = \"acme\"\n");
    assert_eq!(hook.post(&mo()).await, PostOutcome::Delivered);
    let request = received(&mut rx).await;
    assert_eq!(header(&request, "content-type"), Some("application/json"));
    assert_eq!(
        text(&request.body),
        r#"{"event":"mo","id":"01HXMO0000000000000000000","from":"+447700900123","to":"31699887766","text":"Hello \"world\" 😀","connector":"carrier","received_at":"2024-05-01T12:00:00Z","segments":2,"account":"acme"}"#
    );
    assert!(
        header(&request, "x-smsgate-signature").is_none(),
        "unsigned"
    );
}

#[tokio::test]
async fn status_event_json_has_null_for_what_is_unknown() {
    let (url, mut rx) = server(StatusCode::NO_CONTENT, "", Duration::ZERO).await;
    let hook = webhook(&url, "");
    assert_eq!(hook.post(&status()).await, PostOutcome::Delivered);
    assert_eq!(
        text(&received(&mut rx).await.body),
        r#"{"event":"status","id":"01HXMT0000000000000000000","state":"delivered","previous_state":"submitted","err":null,"at":"2024-05-01T12:00:05Z","client_ref":"order-7"}"#
    );
}

#[tokio::test]
async fn form_body_uses_the_configured_keys_and_leaves_out_what_is_unknown() {
    let (url, mut rx) = server(StatusCode::OK, "", Duration::ZERO).await;
    let hook = webhook(
        &url,
        "format = \"form\"\n[keys]\nto = \"To\"\nfrom = \"From\"\ntext = \"Body\"\n\
         err = \"Error\"\n[fields]\naccount = \"acme corp\"\n",
    );
    assert_eq!(hook.post(&mo()).await, PostOutcome::Delivered);
    let request = received(&mut rx).await;
    assert_eq!(
        header(&request, "content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(
        text(&request.body),
        "event=mo&id=01HXMO0000000000000000000&From=%2B447700900123&To=31699887766\
         &Body=Hello+%22world%22+%F0%9F%98%80&connector=carrier\
         &received_at=2024-05-01T12%3A00%3A00Z&segments=2&account=acme+corp"
    );
    assert_eq!(hook.post(&status()).await, PostOutcome::Delivered);
    assert_eq!(
        text(&received(&mut rx).await.body),
        "event=status&id=01HXMT0000000000000000000&state=delivered&previous_state=submitted\
         &at=2024-05-01T12%3A00%3A05Z&client_ref=order-7&account=acme+corp"
    );
}

#[tokio::test]
async fn signature_is_the_hmac_of_timestamp_dot_body() {
    let (url, mut rx) = server(StatusCode::OK, "", Duration::ZERO).await;
    let hook = webhook(&url, "secret = \"s3cret\"\n");
    assert_eq!(hook.post(&mo()).await, PostOutcome::Delivered);
    let request = received(&mut rx).await;
    let timestamp = header(&request, TIMESTAMP_HEADER).expect("timestamp header");
    let seconds: u64 = timestamp.parse().expect("unix seconds");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    assert!(now.abs_diff(seconds) < 60, "{seconds} vs {now}");

    let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").expect("any key length");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(&request.body);
    let expected: String = mac
        .finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    assert_eq!(
        header(&request, "x-smsgate-signature"),
        Some(format!("sha256={expected}").as_str())
    );
}

#[tokio::test]
async fn signature_header_name_can_be_changed() {
    let (url, mut rx) = server(StatusCode::OK, "", Duration::ZERO).await;
    let hook = webhook(
        &url,
        "secret = \"s3cret\"\nsignature_header = \"X-Hub-Signature\"\n",
    );
    assert_eq!(hook.post(&status()).await, PostOutcome::Delivered);
    let request = received(&mut rx).await;
    assert!(header(&request, "x-hub-signature").is_some_and(|value| value.starts_with("sha256=")));
    assert!(header(&request, "x-smsgate-signature").is_none());
}

#[tokio::test]
async fn server_errors_are_retried_with_the_status_but_never_the_body_in_the_reason() {
    let (url, _rx) = server(
        StatusCode::INTERNAL_SERVER_ERROR,
        "database\ndown",
        Duration::ZERO,
    )
    .await;
    assert_eq!(
        webhook(&url, "").post(&mo()).await,
        PostOutcome::Retry("answered HTTP 500 Internal Server Error".into())
    );
}

#[tokio::test]
async fn request_timeout_and_too_many_requests_are_retried() {
    for status in [StatusCode::REQUEST_TIMEOUT, StatusCode::TOO_MANY_REQUESTS] {
        let (url, _rx) = server(status, "", Duration::ZERO).await;
        let outcome = webhook(&url, "").post(&mo()).await;
        assert!(
            matches!(outcome, PostOutcome::Retry(_)),
            "{status}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn gone_is_permanent() {
    let (url, _rx) = server(StatusCode::GONE, "", Duration::ZERO).await;
    assert_eq!(
        webhook(&url, "").post(&mo()).await,
        PostOutcome::Permanent("answered HTTP 410 Gone".into())
    );
}

#[tokio::test]
async fn other_client_errors_and_redirects_are_permanent() {
    for status in [
        StatusCode::BAD_REQUEST,
        StatusCode::UNAUTHORIZED,
        StatusCode::NOT_FOUND,
        StatusCode::FOUND,
    ] {
        let (url, _rx) = server(status, "", Duration::ZERO).await;
        let outcome = webhook(&url, "").post(&mo()).await;
        assert!(
            matches!(outcome, PostOutcome::Permanent(_)),
            "{status}: {outcome:?}"
        );
    }
}

#[tokio::test]
async fn no_answer_within_the_timeout_is_retried() {
    let (url, _rx) = server(StatusCode::OK, "", Duration::from_secs(5)).await;
    let hook = webhook(&url, "timeout = \"200ms\"\n");
    let started = std::time::Instant::now();
    assert_eq!(
        hook.post(&mo()).await,
        PostOutcome::Retry("did not answer within 200ms".into())
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn a_refused_connection_is_retried_without_the_url_in_the_reason() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    let hook = webhook(&format!("http://{address}/hook?token=t0ken"), "");
    match hook.post(&mo()).await {
        PostOutcome::Retry(reason) => assert!(!reason.contains("t0ken"), "{reason}"),
        other => panic!("expected a retry: {other:?}"),
    }
}

fn guarded(url: &str, targets: CallbackTargets) -> Webhook {
    let config: WebhookConfig = toml::from_str(&format!("url = {url:?}\n")).expect("parses");
    Webhook::guarded("callback", config, std::sync::Arc::new(targets)).expect("valid webhook")
}

#[tokio::test]
async fn a_guarded_webhook_refuses_a_literal_loopback_target_without_connecting() {
    let (url, mut rx) = server(StatusCode::OK, "", Duration::ZERO).await;
    assert_eq!(
        guarded(&url, CallbackTargets::default())
            .post(&status())
            .await,
        PostOutcome::Permanent(
            "target refused: 127.0.0.1 is a loopback address (127.0.0.0/8)".into()
        )
    );
    let allowed = CallbackTargets::new(vec!["127.0.0.0/8".parse().expect("a range")], []);
    assert_eq!(
        guarded(&url, allowed).post(&status()).await,
        PostOutcome::Delivered
    );
    received(&mut rx).await;
    assert!(rx.try_recv().is_err(), "only the allowed post arrived");
}

#[tokio::test]
async fn a_guarded_webhook_refuses_a_name_resolving_to_loopback_when_it_connects() {
    let (url, mut rx) = server(StatusCode::OK, "", Duration::ZERO).await;
    let by_name = url.replace("127.0.0.1", "localhost");
    match guarded(&by_name, CallbackTargets::default())
        .post(&status())
        .await
    {
        PostOutcome::Permanent(reason) => assert!(
            reason.starts_with("target refused: localhost resolves only to refused addresses: "),
            "{reason}"
        ),
        other => panic!("expected a refusal: {other:?}"),
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(rx.try_recv().is_err(), "nothing reached the server");
}
