//! Inbound webhook deliveries built to order: who writes, which wamid, when (Meta's
//! Unix seconds) and what, ready to commit straight into a store.

use serde_json::{Value, json};
use wa_mcp::model::PreparedDelivery;
use wa_mcp::webhook::prepare_delivery;

/// The business number every built delivery is addressed to.
pub const PNID: &str = "106540352242922";

/// A delivery of one message from `from` (a phone number) with profile `name`, sent at
/// `ts` (Unix seconds). `content` is the type-specific part, e.g.
/// `json!({"type": "text", "text": {"body": "hi"}})`.
pub fn inbound(from: &str, name: &str, wamid: &str, ts: i64, content: Value) -> PreparedDelivery {
    let mut message = json!({"from": from, "id": wamid, "timestamp": ts.to_string()});
    if let (Some(m), Value::Object(c)) = (message.as_object_mut(), content) {
        m.extend(c);
    }
    let body = json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": PNID},
            "contacts": [{"profile": {"name": name}, "wa_id": from}],
            "messages": [message]
        }}]}]
    });
    prepare_delivery(body.to_string().as_bytes(), format!("req-{wamid}"), 0)
}

/// A text message delivery.
pub fn text(from: &str, name: &str, wamid: &str, ts: i64, body: &str) -> PreparedDelivery {
    inbound(
        from,
        name,
        wamid,
        ts,
        json!({"type": "text", "text": {"body": body}}),
    )
}

/// A reaction delivery: `emoji` on `target`; an empty emoji removes the reaction.
pub fn reaction(from: &str, wamid: &str, ts: i64, target: &str, emoji: &str) -> PreparedDelivery {
    inbound(
        from,
        "Reactor",
        wamid,
        ts,
        json!({"type": "reaction", "reaction": {"message_id": target, "emoji": emoji}}),
    )
}
