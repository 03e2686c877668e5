//! The OpenAPI document at `/api/v1/openapi.json`: served without
//! credentials, a well-formed OpenAPI 3.1 document whose references all
//! resolve, and the contract the examples in `docs/api.md` and in its own
//! schemas are checked against.

mod common;

use serde_json::{Value, json};

/// The endpoints the document must describe, with their methods.
const ENDPOINTS: [(&str, &str); 5] = [
    ("post", "/api/v1/messages"),
    ("post", "/api/v1/messages/batch"),
    ("get", "/api/v1/messages/{id}"),
    ("get", "/api/v1/balance"),
    ("get", "/api/v1/status"),
];

/// Fetches the document from a running node, without credentials.
async fn served_document() -> Value {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = common::start_node(&common::local_config(), dir.path()).await;
    let addr = common::http_addr(&node);
    let response = common::http_client()
        .get(format!("http://{addr}/api/v1/openapi.json"))
        .send()
        .await
        .expect("the request is answered");
    assert_eq!(response.status().as_u16(), 200, "served without a key");
    response.json().await.expect("the document is JSON")
}

/// The document as the code generates it (what the node serves).
fn document() -> Value {
    use utoipa::OpenApi as _;
    serde_json::to_value(smsgate::ingress::http_api::openapi::ApiDoc::openapi())
        .expect("the document serializes")
}

/// Every `$ref` in `value`, with where it is.
fn refs<'a>(value: &'a Value, at: String, found: &mut Vec<(String, &'a str)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match (key.as_str(), child) {
                    ("$ref", Value::String(target)) => found.push((at.clone(), target)),
                    _ => refs(child, format!("{at}/{key}"), found),
                }
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                refs(child, format!("{at}/{index}"), found);
            }
        }
        _ => {}
    }
}

/// A validator for `schema` (a part of `document`, whose `$ref`s point
/// into it): the document is the root, so `#/components/schemas/X`
/// resolves; its OpenAPI members are keywords JSON Schema ignores.
fn validator(document: &Value, schema: &Value) -> jsonschema::Validator {
    let mut root = document.clone();
    root["allOf"] = json!([schema]);
    jsonschema::draft202012::new(&root).expect("the schema compiles")
}

/// The schema of the request body, or of the answer with `status`, of an
/// operation.
fn schema_of<'a>(document: &'a Value, method: &str, path: &str, status: Option<&str>) -> &'a Value {
    let operation = &document["paths"][path][method.to_lowercase()];
    assert!(operation.is_object(), "the document has no {method} {path}");
    let content = match status {
        None => &operation["requestBody"]["content"],
        Some(status) => &operation["responses"][status]["content"],
    };
    let content = content
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} has no body for {status:?} in the document"));
    assert_eq!(
        content.len(),
        1,
        "one media type for {method} {path} {status:?}"
    );
    let (_, media) = content.iter().next().expect("one media type");
    &media["schema"]
}

/// Errors of `instance` against `schema`, as text; empty when valid.
fn errors(document: &Value, schema: &Value, instance: &Value) -> Vec<String> {
    validator(document, schema)
        .iter_errors(instance)
        .map(|error| format!("{error} at {}", error.instance_path()))
        .collect()
}

/// An example of `docs/api.md`: the JSON block after a
/// `<!-- request: METHOD PATH -->` or `<!-- response: STATUS METHOD PATH -->`.
#[derive(Debug)]
struct DocExample {
    marker: String,
    method: String,
    path: String,
    /// None for a request body.
    status: Option<String>,
    json: Value,
}

fn doc_examples(markdown: &str) -> Vec<DocExample> {
    let mut examples = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        let Some(marker) = line
            .strip_prefix("<!-- ")
            .and_then(|rest| rest.strip_suffix(" -->"))
        else {
            continue;
        };
        let words: Vec<&str> = marker.split_whitespace().collect();
        let (status, method, path) = match words.as_slice() {
            ["request:", method, path] => (None, *method, *path),
            ["response:", status, method, path] => (Some(status.to_string()), *method, *path),
            _ => panic!("docs/api.md: malformed example marker {line:?}"),
        };
        assert_eq!(
            lines.next(),
            Some("```json"),
            "docs/api.md: {line:?} must be followed by a ```json block"
        );
        let block: Vec<&str> = lines.by_ref().take_while(|line| *line != "```").collect();
        let json = serde_json::from_str(&block.join("\n"))
            .unwrap_or_else(|error| panic!("docs/api.md: {marker}: not JSON: {error}"));
        examples.push(DocExample {
            marker: marker.to_string(),
            method: method.to_string(),
            path: path.to_string(),
            status,
            json,
        });
    }
    examples
}

#[tokio::test]
async fn the_document_is_served_without_credentials_and_is_openapi_3_1() {
    let served = served_document().await;
    assert_eq!(served, document(), "the node serves the generated document");
    let version = served["openapi"].as_str().expect("an openapi version");
    assert!(version.starts_with("3.1."), "OpenAPI 3.1, not {version}");

    let spec = oas3::from_json(served.to_string()).expect("a well-formed OpenAPI 3.1 document");
    let paths = spec.paths.expect("paths");
    for (method, path) in ENDPOINTS {
        let item = paths
            .get(path)
            .unwrap_or_else(|| panic!("{path} is documented"));
        let operation = match method {
            "get" => item.get.as_ref(),
            _ => item.post.as_ref(),
        };
        assert!(operation.is_some(), "{method} {path} is documented");
    }
    let components = spec.components.expect("components");
    for scheme in ["bearer", "basic"] {
        assert!(
            components.security_schemes.contains_key(scheme),
            "the {scheme} security scheme is declared"
        );
    }
    assert_eq!(
        served["security"],
        json!([{"bearer": []}, {"basic": []}]),
        "every operation takes either credential"
    );
}

#[test]
fn every_reference_resolves() {
    let document = document();
    let mut found = Vec::new();
    refs(&document, String::new(), &mut found);
    assert!(found.len() > 10, "the schemas refer to each other");
    for (at, target) in found {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{at}: {target} is not local"));
        assert!(
            document.pointer(pointer).is_some(),
            "{at}: {target} does not resolve"
        );
    }
}

#[test]
fn errors_are_problem_json() {
    let document = document();
    for (method, path) in ENDPOINTS {
        let responses = document["paths"][path][method]["responses"]
            .as_object()
            .expect("responses");
        for status in ["401", "503"] {
            let content = &responses[status]["content"];
            assert_eq!(
                content["application/problem+json"]["schema"],
                json!({"$ref": "#/components/schemas/Problem"}),
                "{method} {path} answers {status} as a problem"
            );
        }
    }
}

#[test]
fn the_schemas_own_examples_match_them() {
    let document = document();
    let schemas = document["components"]["schemas"]
        .as_object()
        .expect("component schemas");
    let mut checked = Vec::new();
    for (name, schema) in schemas {
        for example in schema["examples"].as_array().into_iter().flatten() {
            let errors = errors(&document, schema, example);
            assert!(errors.is_empty(), "{name} example {example}: {errors:?}");
            checked.push(name.as_str());
        }
    }
    for name in ["SendRequest", "BatchRequest", "SendAnswer", "Problem"] {
        assert!(checked.contains(&name), "{name} has an example");
    }
}

#[test]
fn the_examples_in_docs_match_the_document() {
    let document = document();
    let markdown =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/api.md"))
            .expect("docs/api.md");
    let examples = doc_examples(&markdown);
    for example in &examples {
        let schema = schema_of(
            &document,
            &example.method,
            &example.path,
            example.status.as_deref(),
        );
        let errors = errors(&document, schema, &example.json);
        assert!(
            errors.is_empty(),
            "docs/api.md {}: {errors:?}",
            example.marker
        );
    }
    for (method, path) in ENDPOINTS {
        assert!(
            examples.iter().any(|example| {
                example.method.eq_ignore_ascii_case(method)
                    && example.path == path
                    && example
                        .status
                        .as_deref()
                        .is_some_and(|s| s.starts_with('2'))
            }),
            "docs/api.md shows a successful answer of {method} {path}"
        );
    }
    for path in ["/api/v1/messages", "/api/v1/messages/batch"] {
        assert!(
            examples
                .iter()
                .any(|example| example.path == path && example.status.is_none()),
            "docs/api.md shows a request to POST {path}"
        );
    }
}

#[test]
fn wrong_examples_fail_validation() {
    let document = document();
    let request = schema_of(&document, "post", "/api/v1/messages", None);
    assert!(
        errors(
            &document,
            request,
            &json!({"to": "+447911123456", "text": "hi"})
        )
        .is_empty()
    );
    for wrong in [
        json!({"to": 447911123456_u64, "text": "hi"}),
        json!({"to": "+447911123456"}),
        json!({"to": "+447911123456", "text": "hi", "priority": 3}),
        json!({"to": "+447911123456", "text": "hi", "encoding": "utf8"}),
    ] {
        assert!(
            !errors(&document, request, &wrong).is_empty(),
            "{wrong} must not validate"
        );
    }
    let answer = schema_of(&document, "post", "/api/v1/messages", Some("201"));
    let missing_id =
        json!({"messages": [{"to": "1", "segments": 1, "credits": 1}], "credits_charged": 1});
    assert!(!errors(&document, answer, &missing_id).is_empty());
    let problem = schema_of(&document, "get", "/api/v1/balance", Some("401"));
    assert!(!errors(&document, problem, &json!({"code": "unauthorized"})).is_empty());
}
