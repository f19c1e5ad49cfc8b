//! Reading a Cloud API webhook body into a [`Delivery`]: every entry, change, message
//! and status, not only the first, and never a panic on a shape we did not expect.

use std::collections::HashMap;

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::content::describe_message;
use super::fields::{array, str_field};
use crate::hex::to_hex;
use crate::model::NormaliseError;
use crate::model::delivery::{ContactSeen, Delivery, InboundMessage, MetaErrorInfo, StatusUpdate};

/// Parses and reads a raw body. See [`normalise_delivery`].
pub fn parse_delivery(body: &[u8]) -> Result<Value, NormaliseError> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| NormaliseError::NotJson(e.to_string()))?;
    if !value.is_object() {
        return Err(NormaliseError::NotAnObject);
    }
    Ok(value)
}

/// Reads a (redacted) webhook payload into the rows it asks for. Each message object
/// becomes one [`InboundMessage`]; each status one [`StatusUpdate`]; `contacts` blocks
/// are collected; other `field`s are listed as ignored. Unreadable parts are listed in
/// `problems` and skipped, so one odd item never costs its neighbours.
pub fn normalise_delivery(payload: &Value) -> Result<Delivery, NormaliseError> {
    let root = payload.as_object().ok_or(NormaliseError::NotAnObject)?;
    let entries = root
        .get("entry")
        .and_then(Value::as_array)
        .ok_or(NormaliseError::NoEntries)?;
    let mut out = Delivery::default();
    for (ei, entry) in entries.iter().enumerate() {
        let Some(entry) = entry.as_object() else {
            out.problems.push(format!("entry {ei} is not an object"));
            continue;
        };
        let entry_id = str_field(entry, "id").unwrap_or_default();
        let changes = entry.get("changes").and_then(Value::as_array);
        for (ci, change) in changes.into_iter().flatten().enumerate() {
            read_change(&mut out, &entry_id, ci, change);
        }
    }
    Ok(out)
}

fn read_change(out: &mut Delivery, entry_id: &str, ci: usize, change: &Value) {
    let field = change.get("field").and_then(Value::as_str).unwrap_or("");
    if field != "messages" {
        out.ignored_fields
            .push(if field.is_empty() { "<none>" } else { field }.to_owned());
        return;
    }
    let Some(value) = change.get("value").and_then(Value::as_object) else {
        out.problems
            .push(format!("change {entry_id}:{ci} has no value object"));
        return;
    };
    let phone_number_id = value
        .get("metadata")
        .and_then(Value::as_object)
        .and_then(|m| str_field(m, "phone_number_id"));
    let contacts: Vec<ContactSeen> = array(value, "contacts").filter_map(read_contact).collect();
    let index = ContactIndex::new(&contacts);
    for (mi, msg) in array(value, "messages").enumerate() {
        match read_message(msg, entry_id, ci, mi, &phone_number_id, &index) {
            Some(m) => out.messages.push(m),
            None => out
                .problems
                .push(format!("message {entry_id}:{ci}:{mi} is not an object")),
        }
    }
    for (si, status) in array(value, "statuses").enumerate() {
        match read_status(status, &phone_number_id) {
            Ok(s) => out.statuses.push(s),
            Err(why) => out
                .problems
                .push(format!("status {entry_id}:{ci}:{si} {why}")),
        }
    }
    out.value_errors
        .extend(array(value, "errors").filter_map(read_error));
    out.contacts.extend(contacts);
}

fn read_contact(c: &Value) -> Option<ContactSeen> {
    let c = c.as_object()?;
    let profile = c.get("profile").and_then(Value::as_object);
    let contact = ContactSeen {
        wa_id: str_field(c, "wa_id"),
        user_id: str_field(c, "user_id"),
        parent_user_id: str_field(c, "parent_user_id"),
        username: profile
            .and_then(|p| str_field(p, "username"))
            .or_else(|| str_field(c, "username")),
        profile_name: profile.and_then(|p| str_field(p, "name")),
    };
    contact.is_identified().then_some(contact)
}

fn read_message(
    msg: &Value,
    entry_id: &str,
    ci: usize,
    mi: usize,
    phone_number_id: &Option<String>,
    contacts: &ContactIndex<'_>,
) -> Option<InboundMessage> {
    let obj = msg.as_object()?;
    let wamid = str_field(obj, "id");
    let event_id = match &wamid {
        Some(id) => format!("{entry_id}:{ci}:{id}"),
        None => format!("{entry_id}:{ci}:#{mi}:{}", short_digest(msg)),
    };
    let mut sender = ContactSeen {
        wa_id: str_field(obj, "from"),
        user_id: str_field(obj, "from_user_id"),
        parent_user_id: str_field(obj, "from_parent_user_id"),
        ..ContactSeen::default()
    };
    // The contacts block describes the senders of this change; match by phone or
    // BSUID, or take the only one when the message names nobody.
    let matched = contacts.find(&sender);
    if let Some(c) = matched {
        sender.fill_from(c);
    }
    let kind = str_field(obj, "type").unwrap_or_else(|| "unknown".to_owned());
    let content = describe_message(&kind, obj);
    Some(InboundMessage {
        event_id,
        wamid,
        phone_number_id: phone_number_id.clone(),
        sender,
        kind,
        body: content.body,
        media: content.media,
        context_wamid: content.refers_to,
        interactive_reply: content.interactive_reply,
        error: array(obj, "errors").find_map(read_error),
        ts: timestamp(obj),
        raw: msg.clone(),
    })
}

/// A change's contacts block, looked up by phone or BSUID in constant time, so a large
/// signed delivery costs linear time, not contacts x messages.
struct ContactIndex<'a> {
    contacts: &'a [ContactSeen],
    by_phone: HashMap<&'a str, usize>,
    by_user: HashMap<&'a str, usize>,
}

impl<'a> ContactIndex<'a> {
    fn new(contacts: &'a [ContactSeen]) -> Self {
        let (mut by_phone, mut by_user) = (HashMap::new(), HashMap::new());
        for (i, c) in contacts.iter().enumerate() {
            if let Some(p) = &c.wa_id {
                by_phone.entry(p.as_str()).or_insert(i);
            }
            if let Some(u) = &c.user_id {
                by_user.entry(u.as_str()).or_insert(i);
            }
        }
        ContactIndex {
            contacts,
            by_phone,
            by_user,
        }
    }

    /// The first entry naming the same user by phone or BSUID, or the only entry when
    /// the sender names nobody.
    fn find(&self, sender: &ContactSeen) -> Option<&'a ContactSeen> {
        let phone = sender.wa_id.as_deref().and_then(|p| self.by_phone.get(p));
        let user = sender.user_id.as_deref().and_then(|u| self.by_user.get(u));
        match phone.into_iter().chain(user).min() {
            Some(&i) => Some(&self.contacts[i]),
            None if self.contacts.len() == 1 && !sender.is_identified() => self.contacts.first(),
            None => None,
        }
    }
}

fn read_status(status: &Value, phone_number_id: &Option<String>) -> Result<StatusUpdate, String> {
    let obj = status.as_object().ok_or("is not an object")?;
    let wamid = str_field(obj, "id").ok_or("has no id")?;
    let state = str_field(obj, "status").ok_or("has no status")?;
    let ts = timestamp(obj);
    let ts_key = str_field(obj, "timestamp").unwrap_or_default();
    Ok(StatusUpdate {
        event_id: format!("{wamid}:{state}:{ts_key}"),
        wamid,
        status: state,
        ts,
        recipient_id: str_field(obj, "recipient_id"),
        recipient_user_id: str_field(obj, "recipient_user_id"),
        phone_number_id: phone_number_id.clone(),
        error: array(obj, "errors").find_map(read_error),
        raw: status.clone(),
    })
}

fn read_error(e: &Value) -> Option<MetaErrorInfo> {
    let e = e.as_object()?;
    let code = str_field(e, "code")?;
    let title = str_field(e, "title")
        .or_else(|| str_field(e, "message"))
        .unwrap_or_default();
    Some(MetaErrorInfo { code, title })
}

/// Meta's `timestamp`: Unix seconds, as a string or (in some payloads) a number.
fn timestamp(obj: &Map<String, Value>) -> Option<i64> {
    match obj.get("timestamp")? {
        Value::String(s) => s.trim().parse().ok(),
        Value::Number(n) => n.as_i64(),
        _ => None,
    }
}

fn short_digest(v: &Value) -> String {
    let digest = Sha256::digest(v.to_string().as_bytes());
    to_hex(&digest[..8])
}
