//! `wa-mcp send --media/--location/--buttons`: the owner's shell goes through the same
//! send path as the tools, and may send any file they can read.

mod common;

use common::mcp_checks::outbound_rows;
use common::mcp_client::wa_mcp_command;
use mockito::{Matcher, Server};
use serde_json::json;

fn run(db: &std::path::Path, graph: &str, args: &[&str]) -> (bool, serde_json::Value, String) {
    let out = wa_mcp_command(db, graph)
        .arg("send")
        .args(args)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let value = serde_json::from_str(stdout.trim()).unwrap_or(serde_json::Value::Null);
    (
        out.status.success(),
        value,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn the_shell_sends_a_file_a_location_and_buttons_through_the_one_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("wa.db");
    // Outside any WA_MEDIA_SEND_DIRS folder: the owner at a shell may send it.
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "Meeting at 5\n").expect("write");
    let mut meta = Server::new();
    let upload = meta
        .mock("POST", "/v26.0/106540352242922/media")
        .with_status(200)
        .with_body(r#"{"id":"MEDIA9"}"#)
        .expect(1)
        .create();
    let mut send = |body: serde_json::Value, wamid: &str| {
        meta.mock("POST", "/v26.0/106540352242922/messages")
            .match_body(Matcher::PartialJson(body))
            .with_status(200)
            .with_body(
                json!({"messaging_product": "whatsapp", "messages": [{"id": wamid}]}).to_string(),
            )
            .expect(1)
            .create()
    };
    let document = send(
        json!({"type": "document", "document": {"id": "MEDIA9", "filename": "notes.txt"}}),
        "wamid.C1",
    );
    let location = send(
        json!({"type": "location", "location": {"latitude": 51.5, "longitude": -0.12}}),
        "wamid.C2",
    );
    let buttons = send(
        json!({"type": "interactive", "interactive": {"type": "button",
        "action": {"buttons": [{"type": "reply", "reply": {"id": "yes", "title": "Yes"}},
                               {"type": "reply", "reply": {"id": "No", "title": "No"}}]}}}),
        "wamid.C3",
    );
    let to = "+44 7700 900123";
    let graph = meta.url();
    let path = file.to_str().expect("utf8");
    let (ok, out, err) = run(&db, &graph, &["--to", to, "--media", path]);
    assert!(ok, "{err}");
    assert_eq!(out["mediaId"], "MEDIA9");
    let (ok, out, err) = run(&db, &graph, &["--to", to, "--location", "51.5,-0.12"]);
    assert!(ok, "{err}");
    assert_eq!(out["wamid"], "wamid.C2");
    let (ok, _, err) = run(
        &db,
        &graph,
        &["--to", to, "--body", "Coming?", "--buttons", "yes=Yes,No"],
    );
    assert!(ok, "{err}");
    let (ok, _, err) = run(&db, &graph, &["--to", to, "--location", "95,0"]);
    assert!(!ok);
    assert!(err.contains("latitude"), "{err}");
    upload.assert();
    document.assert();
    location.assert();
    buttons.assert();
    assert_eq!(outbound_rows(&db), 3);
}
