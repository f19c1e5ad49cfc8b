//! Realistic deliveries for load: the Cloud API's envelope with `k` text messages from
//! distinct senders, 1 to 3 KB in all, every wamid unique to the run.

use serde_json::json;

use crate::webhook::signature::signature_header;

/// One delivery ready to send, and the wamids it carries.
pub struct Delivery {
    pub body: Vec<u8>,
    pub signature: String,
    pub wamids: Vec<String>,
}

/// Delivery `i` of run `run`, with `k` messages, signed with `secret`.
pub fn delivery(secret: &[u8], run: &str, i: usize, k: usize) -> Delivery {
    let mut contacts = Vec::with_capacity(k);
    let mut messages = Vec::with_capacity(k);
    let mut wamids = Vec::with_capacity(k);
    for m in 0..k {
        let from = format!("44770{:07}", (i * k + m) % 10_000_000);
        let wamid = format!("wamid.HBgM{run}{i:08}{m:03}");
        // Text lengths vary so bodies span about 1 to 3 KB with one message.
        let text = LOREM.repeat(1 + (i + m) % 4);
        contacts.push(json!({"profile": {"name": format!("Load Tester {m}")}, "wa_id": from}));
        messages.push(
            json!({"from": from, "id": wamid, "timestamp": "1764000000", "type": "text",
                             "text": {"body": text}}),
        );
        wamids.push(wamid);
    }
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398",
        "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": contacts, "messages": messages}}]}]})
    .to_string()
    .into_bytes();
    let signature = signature_header(secret, &body);
    Delivery {
        body,
        signature,
        wamids,
    }
}

const LOREM: &str = "Hello! I ordered the blue jacket last week and wanted to ask whether it \
comes in a larger size, and if I could swap it at the shop on Saturday morning. Thanks a lot, \
and sorry for the long message, I just wanted to make sure everything is clear before I come. ";
