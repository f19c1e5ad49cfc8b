//! `GET /metrics`: valid Prometheus text (checked by a strict parser below) whose
//! counters hold exactly what the server did, and sends counted by how they ended.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use common::{TestServer, fixture, sign};
use mockito::Server;
use serde_json::json;
use wa_mcp::config::Config;
use wa_mcp::messaging::{Messaging, SendMessageInput};
use wa_mcp::meta::MetaClient;
use wa_mcp::metrics::Metrics;
use wa_mcp::store::Store;

/// One parsed exposition: every sample by its series (`name{k="v",...}` with the labels
/// sorted), and each family's declared type.
#[derive(Debug, Default)]
struct Exposition {
    samples: BTreeMap<String, f64>,
    types: HashMap<String, String>,
}

impl Exposition {
    /// Parses `text` strictly, panicking with the offending line on any violation of
    /// exposition format 0.0.4 as this server writes it.
    fn parse(text: &str) -> Exposition {
        assert!(text.ends_with('\n'), "the text must end with a newline");
        let mut out = Exposition::default();
        let mut helped = HashMap::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let (name, help) = rest.split_once(' ').expect("HELP has a name and a text");
                assert!(valid_name(name) && !help.is_empty(), "bad HELP: {line}");
                assert!(
                    helped.insert(name.to_owned(), ()).is_none(),
                    "second HELP: {line}"
                );
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest.split_once(' ').expect("TYPE has a name and a type");
                assert!(helped.contains_key(name), "TYPE before HELP: {line}");
                assert!(
                    ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                    "unknown type: {line}"
                );
                let old = out.types.insert(name.to_owned(), kind.to_owned());
                assert!(old.is_none(), "second TYPE: {line}");
            } else {
                assert!(
                    !line.starts_with('#') && !line.is_empty(),
                    "stray line: {line:?}"
                );
                let (series, value) = parse_sample(line);
                let family = out.family_of(&series);
                assert!(
                    out.types.contains_key(&family),
                    "sample before its TYPE: {line}"
                );
                let old = out.samples.insert(series, value);
                assert!(old.is_none(), "repeated series: {line}");
            }
        }
        out.check_histograms();
        out
    }

    /// The family a series belongs to: itself, or a histogram's name without the suffix.
    fn family_of(&self, series: &str) -> String {
        let name = series.split('{').next().unwrap_or(series);
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = name.strip_suffix(suffix)
                && self.types.get(base).is_some_and(|t| t == "histogram")
            {
                return base.to_owned();
            }
        }
        name.to_owned()
    }

    /// Every histogram: buckets cumulative in ascending `le`, ending in `+Inf`, with
    /// `_count` equal to it and a `_sum`.
    fn check_histograms(&self) {
        for (family, _) in self.types.iter().filter(|(_, t)| *t == "histogram") {
            let mut groups: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
            let prefix = format!("{family}_bucket{{");
            for (series, value) in self.samples.range(prefix.clone()..) {
                let Some(labels) = series.strip_prefix(&prefix) else {
                    break;
                };
                let mut pairs = parse_labels(labels.trim_end_matches('}'));
                let le = pairs.remove("le").expect("every bucket has le");
                let le = parse_value(&le);
                groups
                    .entry(label_key(&pairs))
                    .or_default()
                    .push((le, *value));
            }
            assert!(!groups.is_empty(), "{family} has no buckets");
            for (labels, mut buckets) in groups {
                buckets.sort_by(|a, b| a.0.total_cmp(&b.0));
                assert!(
                    buckets.windows(2).all(|w| w[0].1 <= w[1].1),
                    "{family}{labels} buckets are not cumulative: {buckets:?}"
                );
                let (last_le, inf) = *buckets.last().expect("non-empty");
                assert_eq!(last_le, f64::INFINITY, "{family}{labels} lacks +Inf");
                let count = self.samples[&format!("{family}_count{labels}")];
                assert_eq!(count, inf, "{family}{labels}: _count != +Inf bucket");
                let sum = self.samples[&format!("{family}_sum{labels}")];
                assert!(sum >= 0.0, "{family}{labels}: negative sum");
            }
        }
    }

    /// The value of `name` with exactly these labels; panics when absent.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        let pairs = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let key = format!("{name}{}", label_key(&pairs));
        *self
            .samples
            .get(&key)
            .unwrap_or_else(|| panic!("no series {key}"))
    }
}

fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `name{labels} value` or `name value`, as `(series key, value)`.
fn parse_sample(line: &str) -> (String, f64) {
    let (series, value) = line.rsplit_once(' ').expect("a sample has a value");
    let value = parse_value(value);
    match series.split_once('{') {
        Some((name, labels)) => {
            assert!(valid_name(name), "bad metric name: {line}");
            let labels = labels.strip_suffix('}').expect("labels close with }");
            (format!("{name}{}", label_key(&parse_labels(labels))), value)
        }
        None => {
            assert!(valid_name(series), "bad metric name: {line}");
            (series.to_owned(), value)
        }
    }
}

fn parse_value(v: &str) -> f64 {
    match v {
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => v
            .parse()
            .unwrap_or_else(|_| panic!("not a sample value: {v:?}")),
    }
}

/// `k="v",k2="v2"` (escapes `\\`, `\"`, `\n` allowed), every name valid and unique.
fn parse_labels(mut s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    while !s.is_empty() {
        let (name, rest) = s.split_once("=\"").expect("label is name=\"value\"");
        assert!(valid_name(name), "bad label name {name:?}");
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next().expect("label value closes") {
                (i, '"') => break i,
                (_, '\\') => match chars.next().expect("escape completes").1 {
                    'n' => value.push('\n'),
                    c @ ('\\' | '"') => value.push(c),
                    c => panic!("bad escape \\{c}"),
                },
                (_, c) => value.push(c),
            }
        };
        assert!(
            out.insert(name.to_owned(), value).is_none(),
            "repeated label {name}"
        );
        s = &rest[end + 1..];
        s = s.strip_prefix(',').unwrap_or_else(|| {
            assert!(s.is_empty(), "labels must be separated by commas: {s:?}");
            s
        });
    }
    out
}

fn label_key(labels: &BTreeMap<String, String>) -> String {
    if labels.is_empty() {
        return String::new();
    }
    let inner: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
    format!("{{{}}}", inner.join(","))
}

fn delivery(i: usize) -> Vec<u8> {
    let text = format!("metrics test {i}");
    let payload = wa_mcp::cli::simulated_text_delivery(
        "447700900123",
        "Ada",
        &text,
        "106540352242922",
        "102290129340398",
        1_767_225_600,
    );
    serde_json::to_vec(&payload).expect("json")
}

fn scrape(server: &TestServer) -> Exposition {
    let reply = server.get("/metrics");
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.content_type.as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    Exposition::parse(&reply.body)
}

#[test]
fn metrics_count_deliveries_replays_and_signature_rejections_exactly() {
    let server = TestServer::start();
    let before = scrape(&server);
    assert_eq!(
        before.value(
            "wa_mcp_webhook_deliveries_total",
            &[("outcome", "processed")]
        ),
        0.0
    );
    let bodies: Vec<Vec<u8>> = (0..3).map(delivery).collect();
    for body in &bodies {
        assert_eq!(server.post_signed(body).status, 200);
    }
    assert_eq!(
        server.post_signed(&bodies[0]).status,
        200,
        "a replay is 200"
    );
    let wrong = sign(b"some other body");
    let rejected = server.post(&bodies[1], &[("x-hub-signature-256", wrong.as_str())]);
    assert_eq!(rejected.status, 404);
    let not_json = b"not json at all";
    assert_eq!(server.post_signed(not_json).status, 200, "kept as failed");

    let m = scrape(&server);
    let deliveries = |outcome| m.value("wa_mcp_webhook_deliveries_total", &[("outcome", outcome)]);
    assert_eq!(deliveries("processed"), 3.0);
    assert_eq!(deliveries("duplicate"), 1.0);
    assert_eq!(deliveries("failed"), 1.0);
    assert_eq!(deliveries("ignored"), 0.0);
    assert_eq!(
        m.value("wa_mcp_webhook_signature_rejections_total", &[]),
        1.0
    );
    assert_eq!(m.value("wa_mcp_webhook_duplicates_total", &[]), 1.0);
    assert_eq!(m.value("wa_mcp_webhook_messages_total", &[]), 3.0);
    assert_eq!(m.value("wa_mcp_webhook_statuses_total", &[]), 0.0);
    // Five signed POSTs were answered; the rejected one is not a signed POST.
    assert_eq!(
        m.value("wa_mcp_webhook_request_duration_seconds_count", &[]),
        5.0
    );
    assert_eq!(
        m.value("wa_mcp_webhook_refusals_total", &[("reason", "too_large")]),
        0.0
    );
    assert_eq!(m.types["wa_mcp_meta_request_duration_seconds"], "histogram");
    assert_eq!(
        server.count("webhook_events"),
        5,
        "the counts match the log"
    );
}

#[test]
fn an_oversized_body_is_counted_as_refused() {
    use std::io::{Read, Write};
    let server = TestServer::start();
    let head = format!(
        "POST /webhook/meta HTTP/1.1\r\nhost: x\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        6 * 1024 * 1024
    );
    let mut stream = std::net::TcpStream::connect(server.addr).expect("connect");
    stream.write_all(head.as_bytes()).expect("write head");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    assert!(response.starts_with(b"HTTP/1.1 413"));
    let m = scrape(&server);
    assert_eq!(
        m.value("wa_mcp_webhook_refusals_total", &[("reason", "too_large")]),
        1.0
    );
    assert_eq!(
        m.value("wa_mcp_webhook_request_duration_seconds_count", &[]),
        0.0
    );
}

#[test]
fn metrics_are_refused_to_requests_that_came_through_a_tunnel() {
    let server = TestServer::start();
    for (header, value) in [
        ("x-forwarded-for", "203.0.113.7"),
        ("forwarded", "for=203.0.113.7"),
        ("cf-connecting-ip", "203.0.113.7"),
    ] {
        let resp = ureq::get(&server.url("/metrics"))
            .header(header, value)
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .expect("answered");
        assert_eq!(resp.status().as_u16(), 404, "{header}");
    }
    assert_eq!(server.get("/metrics").status, 200, "a direct scrape works");
}

/// `GET /metrics` sent by hand with `host`, over a fresh connection; the status code.
fn metrics_status_with_host(server: &TestServer, host: &str) -> u16 {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(server.addr).expect("connect");
    let head = format!("GET /metrics HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(head.as_bytes()).expect("write");
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("a status line")
}

#[test]
fn metrics_are_refused_to_a_host_that_is_not_loopback() {
    // A page that rebinds its own name to 127.0.0.1 connects from loopback with no proxy
    // header; only its Host gives it away.
    let server = TestServer::start();
    let port = server.addr.port();
    for host in [
        format!("rebind.example.com:{port}"),
        format!("127.0.0.1.nip.io:{port}"),
        "localhost.example".to_owned(),
    ] {
        assert_eq!(metrics_status_with_host(&server, &host), 404, "{host}");
    }
    for host in [format!("localhost:{port}"), format!("127.0.0.1:{port}")] {
        assert_eq!(metrics_status_with_host(&server, &host), 200, "{host}");
    }
}

#[test]
fn the_webhook_accepts_whatever_host_the_tunnel_sends() {
    let server = TestServer::start();
    let body = fixture("inbound_text.json");
    let reply = server.post(
        &body,
        &[
            ("x-hub-signature-256", sign(&body).as_str()),
            ("host", "wa.owner-tunnel.example"),
            ("x-forwarded-for", "203.0.113.7"),
        ],
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
}

#[test]
fn a_server_without_app_secret_counts_refused_posts() {
    let server = TestServer::start_with(None, None);
    let body = fixture("inbound_text.json");
    assert_eq!(server.post_signed(&body).status, 404);
    let m = scrape(&server);
    assert_eq!(
        m.value(
            "wa_mcp_webhook_refusals_total",
            &[("reason", "no_app_secret")]
        ),
        1.0
    );
    assert_eq!(
        m.value("wa_mcp_webhook_signature_rejections_total", &[]),
        0.0
    );
}

const TOKEN: &str = "EAAG-metrics-test-token";
const PNID: &str = "106540352242922";

fn config(graph: &str) -> Config {
    common::config(graph, Some(TOKEN))
}

#[tokio::test(flavor = "multi_thread")]
async fn sends_are_counted_as_sent_and_failed_with_each_attempt_timed() {
    let mut graph = Server::new_async().await;
    let path = format!("/v26.0/{PNID}/messages");
    let ok = graph
        .mock("POST", path.as_str())
        .match_body(mockito::Matcher::PartialJson(
            json!({"text": {"body": "one"}}),
        ))
        .with_status(200)
        .with_body(json!({"messages": [{"id": "wamid.METRICS1"}]}).to_string())
        .expect(1)
        .create_async()
        .await;
    let refused = graph
        .mock("POST", path.as_str())
        .match_body(mockito::Matcher::PartialJson(
            json!({"text": {"body": "two"}}),
        ))
        .with_status(400)
        .with_body(fixture("graph_error_131047.json"))
        .expect(1)
        .create_async()
        .await;
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("wa.db")).expect("store");
    let metrics = Arc::new(Metrics::new());
    let meta = MetaClient::new(common::fast_meta_options(&graph.url(), Some(TOKEN)))
        .with_metrics(Arc::clone(&metrics));
    let messaging = Messaging::new(store, meta, &config(&graph.url()));
    let send = |body: &str| SendMessageInput {
        to: "+44 7700 900123".into(),
        body: body.into(),
        ..SendMessageInput::default()
    };
    messaging.send_message(send("one")).await.expect("sent");
    messaging
        .send_message(send("two"))
        .await
        .expect_err("131047 fails the send");
    ok.assert_async().await;
    refused.assert_async().await;

    let m = Exposition::parse(&metrics.render());
    let sends = |outcome| m.value("wa_mcp_sends_total", &[("outcome", outcome)]);
    assert_eq!(
        (sends("sent"), sends("failed"), sends("unknown")),
        (1.0, 1.0, 0.0)
    );
    let attempts = |result| {
        m.value(
            "wa_mcp_meta_requests_total",
            &[("operation", "send"), ("result", result)],
        )
    };
    assert_eq!((attempts("success"), attempts("http_error")), (1.0, 1.0));
    assert_eq!(
        m.value(
            "wa_mcp_meta_request_duration_seconds_count",
            &[("operation", "send")]
        ),
        2.0
    );
    assert_eq!(
        m.value(
            "wa_mcp_meta_request_duration_seconds_count",
            &[("operation", "mark_read")]
        ),
        0.0
    );
}

#[test]
fn the_parser_rejects_what_prometheus_would() {
    for bad in [
        "wa_x 1\n",                                            // no HELP/TYPE
        "# HELP wa_x h\n# TYPE wa_x counter\nwa_x one\n",      // not a number
        "# HELP wa_x h\n# TYPE wa_x counter\nwa_x{a=\"1} 1\n", // unclosed label
        "# HELP h_s h\n# TYPE h_s histogram\nh_s_bucket{le=\"1\"} 2\nh_s_bucket{le=\"+Inf\"} 1\nh_s_sum 0\nh_s_count 1\n",
        "# HELP h_s h\n# TYPE h_s histogram\nh_s_bucket{le=\"1\"} 1\nh_s_bucket{le=\"+Inf\"} 2\nh_s_sum 0\nh_s_count 1\n",
    ] {
        let text = bad.to_owned();
        let result = std::panic::catch_unwind(move || Exposition::parse(&text));
        assert!(result.is_err(), "accepted: {bad:?}");
    }
}

/// `wa-mcp mcp` shares one set of metrics between its listener, its Graph API client
/// and its sends: a send made over MCP shows up in the listener's `/metrics`.
#[test]
fn the_mcp_process_serves_the_sends_it_made() {
    use common::mcp_client::{McpClient, wa_mcp_command};
    let mut graph = Server::new();
    let sent = graph
        .mock("POST", format!("/v26.0/{PNID}/messages").as_str())
        .with_status(200)
        .with_body(json!({"messages": [{"id": "wamid.MCPMETRICS"}]}).to_string())
        .expect(1)
        .create();
    let dir = tempfile::tempdir().expect("temp dir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let mut cmd = wa_mcp_command(&dir.path().join("wa.db"), &graph.url());
    cmd.env("APP_HTTP_PORT", port.to_string());
    let mut client = McpClient::spawn(cmd, &["mcp"]);
    client.initialize();
    let result = client.call(
        "send_message",
        json!({"to": "+44 7700 900123", "body": "counted"}),
    );
    assert_eq!(result["isError"], false, "{result}");
    sent.assert();
    let body = ureq::get(&format!("http://127.0.0.1:{port}/metrics"))
        .call()
        .expect("metrics answered")
        .body_mut()
        .read_to_string()
        .expect("text");
    let m = Exposition::parse(&body);
    assert_eq!(m.value("wa_mcp_sends_total", &[("outcome", "sent")]), 1.0);
    assert_eq!(
        m.value(
            "wa_mcp_meta_requests_total",
            &[("operation", "send"), ("result", "success")]
        ),
        1.0
    );
    client.finish();
}
