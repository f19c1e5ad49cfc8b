//! `normalise` target: a webhook body, any bytes at all, through `prepare_delivery`
//! (parse, redact, normalise) and, when it is JSON, through `normalise_delivery` alone.
//!
//! The rows expected are worked out here independently, by walking the payload the way
//! `webhook::normalise` documents it, and compared with what the code produced.

use serde_json::{Map, Value};
use wa_mcp::model::{Delivery, InboundMessage, NormaliseError, PreparedDelivery};
use wa_mcp::redact::{redact, redact_text};
use wa_mcp::webhook::{normalise_delivery, prepare_delivery};

use super::secrets::{assert_no_secret_values, assert_nothing_left_to_redact};

/// Never panics; the delivery log gets the body as lossy text with secret-looking pairs
/// redacted lexically when it is not JSON, the redacted JSON otherwise, and the rows
/// follow the payload's shape.
pub fn check(data: &[u8]) {
    let prepared = prepare_delivery(data, "fuzz".into(), 0);
    assert_eq!(prepared.request_id, "fuzz");
    assert_eq!(prepared.received_at, 0);
    assert!(
        is_lower_hex(&prepared.payload_sha256, 64),
        "payload_sha256 {:?}",
        prepared.payload_sha256
    );
    match serde_json::from_slice::<Value>(data) {
        Err(_) => {
            let text = String::from_utf8_lossy(data);
            assert_eq!(prepared.payload, redact_text(&text), "stored text");
            assert_nothing_left_to_redact(&prepared.payload);
            assert!(
                matches!(prepared.parsed, Err(NormaliseError::NotJson(_))),
                "a body that is not JSON gave {:?}",
                prepared.parsed
            );
        }
        Ok(value) => {
            check_prepared(&prepared, &value);
            check_rows(&value, &normalise_delivery(&value));
        }
    }
}

/// The stored payload of a JSON body is JSON with every secret redacted, so is the raw
/// object kept with each row, and the rows are those of the redacted payload.
fn check_prepared(prepared: &PreparedDelivery, value: &Value) {
    let stored: Value =
        serde_json::from_str(&prepared.payload).expect("the stored payload of JSON is JSON");
    assert_no_secret_values(&stored);
    if let Ok(delivery) = &prepared.parsed {
        delivery
            .messages
            .iter()
            .for_each(|m| assert_no_secret_values(&m.raw));
        delivery
            .statuses
            .iter()
            .for_each(|s| assert_no_secret_values(&s.raw));
    }
    let mut redacted = value.clone();
    redact(&mut redacted);
    check_rows(&redacted, &prepared.parsed);
}

/// `NotAnObject` for a non-object, `NoEntries` without an `entry` array, and otherwise
/// exactly the rows, ignored fields and problem count that [`Expected::walk`] finds.
fn check_rows(payload: &Value, result: &Result<Delivery, NormaliseError>) {
    let Some(root) = payload.as_object() else {
        assert_eq!(result, &Err(NormaliseError::NotAnObject));
        return;
    };
    let Some(entries) = root.get("entry").and_then(Value::as_array) else {
        assert_eq!(result, &Err(NormaliseError::NoEntries));
        return;
    };
    let delivery = match result {
        Ok(delivery) => delivery,
        Err(e) => panic!("an object with an entry array gave {e:?}"),
    };
    let expected = Expected::walk(entries);
    assert_eq!(delivery.ignored_fields, expected.ignored_fields);
    assert_eq!(
        delivery.problems.len(),
        expected.problems,
        "{:?}",
        delivery.problems
    );
    assert_eq!(delivery.contacts.len(), expected.contacts, "contacts kept");
    assert_eq!(delivery.value_errors.len(), expected.value_errors);
    assert_eq!(delivery.messages.len(), expected.messages.len(), "messages");
    for (got, want) in delivery.messages.iter().zip(&expected.messages) {
        want.check(got);
    }
    let status_ids: Vec<&str> = delivery
        .statuses
        .iter()
        .map(|s| s.event_id.as_str())
        .collect();
    assert_eq!(status_ids, expected.status_ids);
}

/// What one payload must normalise to, as far as its shape decides it.
#[derive(Default)]
struct Expected<'a> {
    messages: Vec<ExpectedMessage<'a>>,
    /// `status id:status:timestamp` of every status that has an id and a status.
    status_ids: Vec<String>,
    ignored_fields: Vec<String>,
    /// Contact-block entries that name a phone number or a BSUID.
    contacts: usize,
    /// Value-level `errors` items that carry a code.
    value_errors: usize,
    problems: usize,
}

impl<'a> Expected<'a> {
    fn walk(entries: &'a [Value]) -> Self {
        let mut out = Self::default();
        for entry in entries {
            let Some(entry) = entry.as_object() else {
                out.problems += 1;
                continue;
            };
            let entry_id = text(entry.get("id")).unwrap_or_default();
            let changes = entry.get("changes").and_then(Value::as_array);
            for (ci, change) in changes.into_iter().flatten().enumerate() {
                out.read_change(&entry_id, ci, change);
            }
        }
        out
    }

    fn read_change(&mut self, entry_id: &str, ci: usize, change: &'a Value) {
        let field = change.get("field").and_then(Value::as_str).unwrap_or("");
        if field != "messages" {
            let field = if field.is_empty() { "<none>" } else { field };
            self.ignored_fields.push(field.to_owned());
            return;
        }
        let Some(value) = change.get("value").and_then(Value::as_object) else {
            self.problems += 1;
            return;
        };
        let phone_number_id = value
            .get("metadata")
            .and_then(|m| text(m.get("phone_number_id")));
        for (mi, raw) in items(value, "messages").enumerate() {
            if raw.is_object() {
                let prefix = format!("{entry_id}:{ci}:");
                let phone_number_id = phone_number_id.clone();
                self.messages.push(ExpectedMessage {
                    prefix,
                    mi,
                    raw,
                    phone_number_id,
                });
            } else {
                self.problems += 1;
            }
        }
        for status in items(value, "statuses") {
            match (text(status.get("id")), text(status.get("status"))) {
                (Some(id), Some(state)) => {
                    let ts = text(status.get("timestamp")).unwrap_or_default();
                    self.status_ids.push(format!("{id}:{state}:{ts}"));
                }
                _ => self.problems += 1,
            }
        }
        let identified = |c: &&Value| text(c.get("wa_id")).or(text(c.get("user_id"))).is_some();
        self.contacts += items(value, "contacts").filter(identified).count();
        let coded = |e: &&Value| text(e.get("code")).is_some();
        self.value_errors += items(value, "errors").filter(coded).count();
    }
}

/// One message object, and where it sits in the payload.
struct ExpectedMessage<'a> {
    /// `entry id:change index:`, which every event id of that change starts with.
    prefix: String,
    /// Index in its `messages` array.
    mi: usize,
    raw: &'a Value,
    phone_number_id: Option<String>,
}

impl ExpectedMessage<'_> {
    fn check(&self, got: &InboundMessage) {
        let wamid = text(self.raw.get("id"));
        assert_eq!(got.wamid, wamid);
        match &wamid {
            Some(id) => assert_eq!(got.event_id, format!("{}{id}", self.prefix)),
            None => {
                let anonymous = format!("{}#{}:", self.prefix, self.mi);
                let digest = got.event_id.strip_prefix(&anonymous);
                assert!(
                    digest.is_some_and(|d| is_lower_hex(d, 16)),
                    "event_id {:?} is not {anonymous:?} and 16 hex digits",
                    got.event_id
                );
            }
        }
        assert_eq!(&got.raw, self.raw);
        assert_eq!(got.phone_number_id, self.phone_number_id);
        let kind = text(self.raw.get("type")).unwrap_or_else(|| "unknown".to_owned());
        assert_eq!(got.kind, kind);
        let sender = &got.sender;
        for (kept, key) in [
            (&sender.wa_id, "from"),
            (&sender.user_id, "from_user_id"),
            (&sender.parent_user_id, "from_parent_user_id"),
        ] {
            if let Some(named) = text(self.raw.get(key)) {
                assert_eq!(kept.as_deref(), Some(named.as_str()), "sender's {key}");
            }
        }
    }
}

/// A field as the normaliser reads it: non-empty strings as given, numbers written out.
fn text(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The elements of `obj[key]` when it is an array.
fn items<'a>(obj: &'a Map<String, Value>, key: &str) -> impl Iterator<Item = &'a Value> {
    obj.get(key).and_then(Value::as_array).into_iter().flatten()
}

fn is_lower_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}
