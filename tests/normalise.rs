//! Behaviour of the pure normalisation API (`prepare_delivery` / `normalise_delivery`)
//! against the sample payloads in `tests/fixtures/` (see SOURCES.md there) and against
//! hand-made odd shapes. Every fixture goes through `prepare_delivery`, so redaction runs
//! first exactly as in production.

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use wa_mcp::model::{
    ContactSeen, Delivery, InboundMessage, Media, MetaErrorInfo, NormaliseError, PreparedDelivery,
    StatusUpdate,
};
use wa_mcp::webhook::{normalise_delivery, prepare_delivery};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

const REDACTED: &str = "<redacted>";

fn fixture_path(name: &str) -> String {
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/").to_owned() + name
}

fn fixture(name: &str) -> Vec<u8> {
    let path = fixture_path(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("fixture {path}: {e}"))
}

fn fixture_json(name: &str) -> Value {
    serde_json::from_slice(&fixture(name))
        .unwrap_or_else(|e| panic!("fixture {name} is not JSON: {e}"))
}

fn prepare(body: &[u8]) -> PreparedDelivery {
    prepare_delivery(body, "req-test".to_owned(), 1_750_000_000_000_000)
}

fn prepared(name: &str) -> PreparedDelivery {
    prepare(&fixture(name))
}

/// The rows a fixture yields, through `prepare_delivery` as in production.
fn delivery(name: &str) -> Delivery {
    prepared(name)
        .parsed
        .unwrap_or_else(|e| panic!("fixture {name} did not normalise: {e}"))
}

/// The one message of a single-message fixture; also checks the delivery is otherwise clean.
fn single_message(name: &str) -> InboundMessage {
    let d = delivery(name);
    assert_eq!(d.messages.len(), 1, "{name}: messages {:#?}", d.messages);
    assert!(d.statuses.is_empty(), "{name}: statuses {:#?}", d.statuses);
    assert!(d.problems.is_empty(), "{name}: problems {:?}", d.problems);
    assert!(
        d.ignored_fields.is_empty(),
        "{name}: ignored {:?}",
        d.ignored_fields
    );
    d.messages.into_iter().next().expect("length checked above")
}

/// The one status of a single-status fixture; also checks the delivery is otherwise clean.
fn single_status(name: &str) -> StatusUpdate {
    let d = delivery(name);
    assert_eq!(d.statuses.len(), 1, "{name}: statuses {:#?}", d.statuses);
    assert!(d.messages.is_empty(), "{name}: messages {:#?}", d.messages);
    assert!(d.problems.is_empty(), "{name}: problems {:?}", d.problems);
    assert!(
        d.value_errors.is_empty(),
        "{name}: value errors {:?}",
        d.value_errors
    );
    d.statuses.into_iter().next().expect("length checked above")
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

fn err(code: &str, title: &str) -> MetaErrorInfo {
    MetaErrorInfo {
        code: code.to_owned(),
        title: title.to_owned(),
    }
}

fn media(id: &str, mime: &str, sha256: &str, filename: Option<&str>) -> Media {
    Media {
        id: s(id),
        mime_type: s(mime),
        sha256: s(sha256),
        filename: filename.map(str::to_owned),
    }
}

fn contact(
    wa_id: Option<&str>,
    user_id: Option<&str>,
    parent_user_id: Option<&str>,
    username: Option<&str>,
    profile_name: Option<&str>,
) -> ContactSeen {
    ContactSeen {
        wa_id: wa_id.map(str::to_owned),
        user_id: user_id.map(str::to_owned),
        parent_user_id: parent_user_id.map(str::to_owned),
        username: username.map(str::to_owned),
        profile_name: profile_name.map(str::to_owned),
    }
}

// Envelope of Meta's own documentation examples.
const META_ENTRY: &str = "102290129340398";
const META_PNID: &str = "106540352242922";

fn sheena() -> ContactSeen {
    contact(Some("16505551234"), None, None, None, Some("Sheena Nelson"))
}

// Envelope of pywa's samples.
const PYWA_ENTRY: &str = "1234567890987654321";
const PYWA_PNID: &str = "1122334455667";

fn pywa_user() -> ContactSeen {
    contact(
        Some("972987654321"),
        Some("US.13491208655302741918"),
        Some("US.ENT.11815799212886844830"),
        None,
        Some("Test Name"),
    )
}

fn event(entry: &str, change: usize, wamid: &str) -> String {
    format!("{entry}:{change}:{wamid}")
}

/// The message objects of a fixture, in delivery order, as sent.
fn fixture_messages(name: &str) -> Vec<Value> {
    fixture_items(name, "messages")
}

fn fixture_items(name: &str, key: &str) -> Vec<Value> {
    let v = fixture_json(name);
    let mut out = Vec::new();
    for entry in v["entry"].as_array().into_iter().flatten() {
        for change in entry["changes"].as_array().into_iter().flatten() {
            if change["field"] != "messages" {
                continue;
            }
            out.extend(
                change["value"][key]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .cloned(),
            );
        }
    }
    out
}

/// A minimal `messages` delivery around the given `value` object.
fn envelope(value: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "E1", "changes": [{"field": "messages", "value": value}]}]
    }))
    .expect("serialisable")
}

// ---------------------------------------------------------------------------------------
// Text and media
// ---------------------------------------------------------------------------------------

#[test]
fn text_message_yields_body_sender_timestamp_and_event_id() {
    let wamid = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=";
    let d = delivery("inbound_text.json");
    assert_eq!(d.contacts, vec![sheena()]);
    assert!(d.value_errors.is_empty());
    let m = single_message("inbound_text.json");
    assert_eq!(m.event_id, event(META_ENTRY, 0, wamid));
    assert_eq!(m.wamid.as_deref(), Some(wamid));
    assert_eq!(m.phone_number_id.as_deref(), Some(META_PNID));
    assert_eq!(m.sender, sheena());
    assert_eq!(m.kind, "text");
    assert_eq!(m.body.as_deref(), Some("Does it come in another color?"));
    assert_eq!(m.media, None);
    assert_eq!(m.context_wamid, None);
    assert_eq!(m.error, None);
    assert_eq!(m.ts, Some(1_749_416_383));
}

#[test]
fn image_message_keeps_caption_and_media() {
    let m = single_message("inbound_image.json");
    assert_eq!(m.kind, "image");
    assert_eq!(m.body.as_deref(), Some("Taj Mahal"));
    assert_eq!(
        m.media,
        Some(media(
            "1003383421387256",
            "image/jpeg",
            "SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=",
            None
        ))
    );
    assert_eq!(m.sender, sheena());
    assert_eq!(m.ts, Some(1_744_344_496));
    assert_eq!(
        m.event_id,
        event(
            META_ENTRY,
            0,
            "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="
        )
    );
    // The lookaside url is not a column but stays in the raw object.
    assert_eq!(
        m.raw["image"]["url"],
        "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=133..."
    );
}

#[test]
fn image_without_caption_has_media_and_no_body() {
    let m = single_message("inbound_image_with_url.json");
    assert_eq!(m.kind, "image");
    assert_eq!(m.body, None);
    assert_eq!(
        m.media,
        Some(media("65463453", "image/jpeg", "4654+8g=", None))
    );
    assert_eq!(m.sender, pywa_user());
    assert_eq!(m.ts, Some(1_697_043_379));
    assert_eq!(m.event_id, event(PYWA_ENTRY, 0, "wamid.xyzxyz"));
    assert_eq!(m.phone_number_id.as_deref(), Some(PYWA_PNID));
}

#[test]
fn audio_message_has_media_and_no_body() {
    let m = single_message("inbound_audio.json");
    assert_eq!(m.kind, "audio");
    assert_eq!(m.body, None);
    assert_eq!(
        m.media,
        Some(media(
            "1234567890987654321",
            "audio/ogg; codecs=opus",
            "E3dxS/PdYZE7ppA3pQ4mpCFaXBJ8pX4SRN/dsfvds/iPGA=",
            None
        ))
    );
    // context.forwarded without context.id refers to nothing.
    assert_eq!(m.context_wamid, None);
    assert_eq!(m.raw["context"]["forwarded"], true);
    assert_eq!(m.sender, pywa_user());
    assert_eq!(m.ts, Some(1_697_043_509));
    assert_eq!(m.event_id, event(PYWA_ENTRY, 0, "wamid.xyzxyz"));
}

#[test]
fn voice_note_stays_kind_audio_with_voice_flag_in_raw() {
    let m = single_message("inbound_audio_voice.json");
    assert_eq!(m.kind, "audio");
    assert_eq!(m.body, None);
    assert_eq!(
        m.media,
        Some(media(
            "1234567890987654321",
            "audio/ogg; codecs=opus",
            "m04pFf2ERdaopTyFkGPA0+bX3i+YY2dYgVFwOgDLSDI=",
            None
        ))
    );
    assert_eq!(m.raw["audio"]["voice"], true);
    assert_eq!(m.ts, Some(1_697_043_473));
    assert_eq!(m.sender, pywa_user());
}

#[test]
fn video_message_keeps_caption_and_media() {
    let m = single_message("inbound_video.json");
    assert_eq!(m.kind, "video");
    assert_eq!(m.body.as_deref(), Some("caption"));
    assert_eq!(
        m.media,
        Some(media(
            "765756756",
            "video/mp4",
            "Jh+2ij6PzUv/J2y+grrtegr/ZMzRxkEPwc24Oyib4s03w9Jc=",
            None
        ))
    );
    assert_eq!(m.context_wamid, None);
    assert_eq!(m.ts, Some(1_697_044_362));
    assert_eq!(m.sender, pywa_user());
}

#[test]
fn document_message_keeps_filename_and_caption() {
    let m = single_message("inbound_document.json");
    assert_eq!(m.kind, "document");
    assert_eq!(m.body.as_deref(), Some("my receipt"));
    assert_eq!(
        m.media,
        Some(media(
            "622684793477189",
            "application/pdf",
            "V5OPpLD/gEG6Xjg0MbmQDLFgcKsL+j5LfY4ny/pZ4MY=",
            Some("receipt.pdf")
        ))
    );
    assert_eq!(m.ts, Some(1_744_344_496));
    assert_eq!(m.sender, sheena());
}

#[test]
fn animated_sticker_has_media_and_animated_flag_in_raw() {
    let m = single_message("inbound_sticker_animated.json");
    assert_eq!(m.kind, "sticker");
    assert_eq!(m.body, None);
    assert_eq!(
        m.media,
        Some(media(
            "1908647269898587",
            "image/webp",
            "wvqXMe6n7n1W0zphvLPoLj+s/NtKqmr3zZ7YzTP7xFI=",
            None
        ))
    );
    assert_eq!(m.raw["sticker"]["animated"], true);
    assert_eq!(m.ts, Some(1_744_344_496));
    assert_eq!(m.sender, sheena());
}

#[test]
fn static_sticker_has_media() {
    let m = single_message("inbound_sticker_static.json");
    assert_eq!(m.kind, "sticker");
    assert_eq!(m.body, None);
    assert_eq!(
        m.media,
        Some(media(
            "1234567890987654321",
            "image/webp",
            "OmT4nhjUhCMIPNmj7eeOZeCYjTXkLxoOv85OMCFwSuc=",
            None
        ))
    );
    assert_eq!(m.raw["sticker"]["animated"], false);
    assert_eq!(m.ts, Some(1_697_043_760));
}

// ---------------------------------------------------------------------------------------
// Location, contacts, interactive, button, reaction, order, system
// ---------------------------------------------------------------------------------------

#[test]
fn location_body_names_place_address_and_coordinates() {
    let m = single_message("inbound_location.json");
    assert_eq!(m.kind, "location");
    assert_eq!(m.media, None);
    let body = m.body.expect("a location has a body");
    assert_eq!(
        body,
        "Location: Philz Coffee, 101 Forest Ave, Palo Alto, CA 94301, (37.44221496582, -122.16165924072)"
    );
    assert_eq!(m.ts, Some(1_744_344_496));
    assert_eq!(m.sender, sheena());
}

#[test]
fn location_with_only_coordinates_still_has_a_body() {
    let m = single_message("inbound_location_current.json");
    assert_eq!(m.kind, "location");
    assert_eq!(m.body.as_deref(), Some("Location: (12.25089, 43.90539)"));
    assert_eq!(m.context_wamid, None);
    assert_eq!(m.ts, Some(1_697_044_557));
}

#[test]
fn single_shared_contact_body_has_name_and_phone() {
    let m = single_message("inbound_contacts.json");
    assert_eq!(m.kind, "contacts");
    assert_eq!(
        m.body.as_deref(),
        Some("Contact: Barbara J. Johnson (+1 (415) 555-0829)")
    );
    assert_eq!(m.media, None);
    // The sender is the person who shared, not the shared card.
    assert_eq!(m.sender, sheena());
    assert_eq!(m.ts, Some(1_744_344_496));
    assert_eq!(m.raw["contacts"][0]["org"]["company"], "Social Tsunami");
}

#[test]
fn multiple_shared_contacts_are_all_listed_in_order() {
    let m = single_message("inbound_contacts_multiple.json");
    assert_eq!(m.kind, "contacts");
    assert_eq!(
        m.body.as_deref(),
        Some(
            "Contact: Chandler Bing (+1 555-555-5555); Monica (+1 666-666-6666); \
             Rachel Green (+1 777-777-7777)"
        )
    );
    assert_eq!(m.sender, pywa_user());
    assert_eq!(m.ts, Some(1_697_044_621));
    // The shared cards do not leak into the delivery's contacts (only value.contacts).
    assert_eq!(
        delivery("inbound_contacts_multiple.json").contacts,
        vec![pywa_user()]
    );
}

#[test]
fn contact_request_from_username_user_without_name_or_phone_of_sender() {
    let m = single_message("inbound_contacts_request_contact_info_bsuid.json");
    assert_eq!(m.kind, "contacts");
    assert_eq!(
        m.body.as_deref(),
        Some("Contact: (no name) (+1 650-555-0147)")
    );
    assert_eq!(
        m.sender,
        contact(
            None,
            Some("US.20581937466401827395"),
            None,
            Some("@maya.okafor"),
            Some("Maya Okafor")
        )
    );
    assert_eq!(m.ts, Some(1_779_013_020));
}

#[test]
fn interactive_button_reply_body_is_title_and_context_is_the_prompt() {
    let m = single_message("inbound_interactive_button_reply.json");
    assert_eq!(m.kind, "interactive");
    assert_eq!(m.body.as_deref(), Some("Cancel"));
    assert_eq!(
        m.context_wamid.as_deref(),
        Some("wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI3MEM2RUJFNkI0RENGQTVDRjUA")
    );
    assert_eq!(m.raw["interactive"]["button_reply"]["id"], "cancel-button");
    assert_eq!(m.ts, Some(1_750_025_136));
    assert_eq!(m.sender, sheena());
    assert_eq!(
        m.event_id,
        event(
            META_ENTRY,
            0,
            "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTZBQzg0MzQ4QjRCM0NGNkVGOAA="
        )
    );
}

#[test]
fn interactive_list_reply_body_has_title_and_description() {
    let m = single_message("inbound_interactive_list_reply.json");
    assert_eq!(m.kind, "interactive");
    assert_eq!(
        m.body.as_deref(),
        Some("Priority Mail Express (Next Day to 2 Days)")
    );
    assert_eq!(
        m.context_wamid.as_deref(),
        Some("wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=")
    );
    assert_eq!(m.raw["interactive"]["list_reply"]["id"], "priority_express");
    assert_eq!(m.ts, Some(1_749_854_575));
}

#[test]
fn interactive_list_reply_without_description_body_is_title() {
    let m = single_message("inbound_interactive_list_reply_no_description.json");
    assert_eq!(m.kind, "interactive");
    assert_eq!(m.body.as_deref(), Some("title"));
    assert_eq!(m.context_wamid.as_deref(), Some("wamid.xyzxyz"));
    assert_eq!(m.wamid.as_deref(), Some("wamid.zyzxyz"));
    assert_eq!(m.event_id, event(PYWA_ENTRY, 0, "wamid.zyzxyz"));
    assert_eq!(m.ts, Some(1_698_266_905));
}

#[test]
fn flow_nfm_reply_body_is_response_json_with_flow_token_redacted() {
    let original_token = "AQAAAAACS5FpgQ_cAAAAAD0QI3s.";
    let p = prepared("inbound_interactive_nfm_reply_flow.json");
    assert!(
        !p.payload.contains(original_token),
        "flow_token stored in payload: {}",
        p.payload
    );
    let d = p.parsed.expect("normalises");
    assert_eq!(d.messages.len(), 1);
    let m = &d.messages[0];
    assert_eq!(m.kind, "interactive");
    assert_eq!(m.context_wamid.as_deref(), Some("wamid.gvwegfretge=="));
    assert_eq!(m.ts, Some(1_702_502_473));
    let body = m.body.as_deref().expect("nfm_reply has a body");
    assert!(!body.contains(original_token), "flow_token in body: {body}");
    let answers: Value = serde_json::from_str(body).expect("body is the response_json");
    assert_eq!(
        answers,
        json!({
            "comment_text": "Comment Text",
            "delivery_rating": "4",
            "flow_token": REDACTED,
            "purchase_rating": "2",
            "recommend_radio": "0",
            "cs_rating": "0"
        })
    );
    // The raw row holds the same redacted response_json.
    let raw_json = m.raw["interactive"]["nfm_reply"]["response_json"]
        .as_str()
        .expect("response_json stays a string");
    assert!(!raw_json.contains(original_token));
    assert_eq!(
        serde_json::from_str::<Value>(raw_json).expect("JSON"),
        answers
    );
    assert_eq!(m.raw["interactive"]["nfm_reply"]["body"], "Sent");
}

#[test]
fn interactive_without_interactive_object_keeps_row_and_value_error() {
    let d = delivery("inbound_interactive_without_payload_value_errors.json");
    assert!(d.problems.is_empty(), "{:?}", d.problems);
    assert_eq!(d.messages.len(), 1);
    let m = &d.messages[0];
    assert_eq!(m.kind, "interactive");
    assert_eq!(m.body, None);
    assert_eq!(m.media, None);
    assert_eq!(m.wamid.as_deref(), Some("wamid.wegrchytvwcggt="));
    assert_eq!(m.context_wamid.as_deref(), Some("wamid.gvwegfretge=="));
    assert_eq!(m.ts, Some(1_700_505_494));
    assert_eq!(m.sender, pywa_user());
    assert_eq!(d.value_errors, vec![err("131000", "Something went wrong")]);
}

#[test]
fn template_quick_reply_button_body_is_text_and_context_is_template() {
    let m = single_message("inbound_button_template_quick_reply.json");
    assert_eq!(m.kind, "button");
    assert_eq!(m.body.as_deref(), Some("Unsubscribe"));
    assert_eq!(
        m.context_wamid.as_deref(),
        Some("wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=")
    );
    assert_eq!(m.raw["button"]["payload"], "Unsubscribe");
    assert_eq!(m.ts, Some(1_750_091_045));
    assert_eq!(m.sender, sheena());
}

#[test]
fn button_with_referral_reads_numeric_timestamp_and_keeps_referral() {
    let m = single_message("inbound_button_with_referral_and_referred_product.json");
    assert_eq!(m.kind, "button");
    assert_eq!(m.body.as_deref(), Some("No"));
    assert_eq!(m.context_wamid.as_deref(), Some("wamid.ID"));
    // timestamp is a JSON number in this sample.
    assert_eq!(m.ts, Some(1_669_233_778));
    assert_eq!(m.raw["referral"]["source_id"], "ADID");
    assert_eq!(
        m.raw["context"]["referred_product"]["product_retailer_id"],
        "PRODUCT_ID"
    );
    assert_eq!(m.raw["context"]["frequently_forwarded"], true);
    // `from` does not match the contact's wa_id: no name is borrowed from it.
    assert_eq!(
        m.sender,
        contact(Some("16315551234"), None, None, None, None)
    );
}

#[test]
fn reaction_body_is_emoji_and_context_is_reacted_message() {
    let m = single_message("inbound_reaction.json");
    assert_eq!(m.kind, "reaction");
    assert_eq!(m.body.as_deref(), Some("👍"));
    assert_eq!(
        m.context_wamid.as_deref(),
        Some("wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=")
    );
    assert_eq!(m.media, None);
    assert_eq!(m.ts, Some(1_749_419_544));
    assert_eq!(m.sender, sheena());
}

#[test]
fn reaction_removed_with_empty_emoji_has_empty_body() {
    let m = single_message("inbound_reaction_removed_empty_emoji.json");
    assert_eq!(m.kind, "reaction");
    assert_eq!(m.body.as_deref(), Some(""));
    assert_eq!(m.context_wamid.as_deref(), Some("wamid.yzxyzx="));
    assert_eq!(m.ts, Some(1_697_044_456));
}

#[test]
fn reaction_removed_without_emoji_key_has_empty_body() {
    let m = single_message("inbound_reaction_removed_no_emoji.json");
    assert_eq!(m.kind, "reaction");
    assert_eq!(m.body.as_deref(), Some(""));
    assert_eq!(
        m.context_wamid.as_deref(),
        Some("wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=")
    );
    assert_eq!(m.ts, Some(1_749_419_544));
}

#[test]
fn order_body_counts_items_and_keeps_text() {
    let m = single_message("inbound_order.json");
    assert_eq!(m.kind, "order");
    assert_eq!(m.body.as_deref(), Some("Order of 2 items: Love these!"));
    assert_eq!(m.raw["order"]["catalog_id"], "194836987003835");
    assert_eq!(
        m.raw["order"]["product_items"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(m.ts, Some(1_750_096_325));
    assert_eq!(m.sender, sheena());
}

#[test]
fn system_user_changed_number_without_contacts_block() {
    let d = delivery("inbound_system_user_changed_number.json");
    assert!(d.contacts.is_empty());
    let m = single_message("inbound_system_user_changed_number.json");
    assert_eq!(m.kind, "system");
    assert_eq!(
        m.body.as_deref(),
        Some("User Sheena Nelson changed from 16505551234 to 12195555358")
    );
    assert_eq!(
        m.sender,
        contact(Some("16505551234"), None, None, None, None)
    );
    assert_eq!(m.raw["system"]["wa_id"], "12195555358");
    assert_eq!(m.raw["system"]["type"], "user_changed_number");
    assert_eq!(m.ts, Some(1_750_269_342));
    assert_eq!(
        m.event_id,
        event(
            META_ENTRY,
            0,
            "wamid.HBgLMTk4MzU1NTE5NzQVAgASGAoxMTgyMDg2MjY3AA=="
        )
    );
}

#[test]
fn system_customer_identity_changed() {
    let m = single_message("inbound_system_customer_identity_changed.json");
    assert_eq!(m.kind, "system");
    assert_eq!(m.body.as_deref(), Some("User identity changed"));
    assert_eq!(
        m.sender,
        contact(Some("972987654321"), None, None, None, Some("User A"))
    );
    assert_eq!(m.raw["identity"]["hash"], "xyzxyz");
    assert_eq!(m.raw["system"]["type"], "customer_identity_changed");
    assert_eq!(m.ts, Some(1_697_044_706));
}

#[test]
fn system_user_changed_user_id_without_from() {
    let m = single_message("inbound_system_user_changed_user_id.json");
    assert_eq!(m.kind, "system");
    assert_eq!(
        m.body.as_deref(),
        Some("User Maya Okafor changed from US.20581937466401827395 to US.38106652914073358201")
    );
    assert_eq!(m.raw["system"]["user_id"], "US.38106652914073358201");
    assert_eq!(m.raw["system"]["type"], "user_changed_user_id");
    assert_eq!(m.ts, Some(1_779_105_533));
    assert_eq!(
        m.event_id,
        event(
            "318475926104853",
            0,
            "wamid.HBgLMTAwMDAwMDAwMDAVAgASGBQzQUU5MDQzQjdDMUQ4MkY1QTY0MAA="
        )
    );
    assert_eq!(m.phone_number_id.as_deref(), Some("402938571648392"));
}

#[test]
fn system_user_changed_user_id_with_phone_shape() {
    let m = single_message("inbound_system_user_changed_user_id_with_phone.json");
    assert_eq!(m.kind, "system");
    assert_eq!(
        m.body.as_deref(),
        Some("User Maya Okafor changed from US.20581937466401827395 to US.38106652914073358201")
    );
    assert_eq!(m.sender.wa_id.as_deref(), Some("16505550147"));
    assert_eq!(m.raw["system"]["wa_id"], "16505550162");
    assert_eq!(m.ts, Some(1_779_105_533));
}

// ---------------------------------------------------------------------------------------
// Referral, context, forwarding, unsupported, edit, revoke
// ---------------------------------------------------------------------------------------

#[test]
fn click_to_whatsapp_referral_is_a_text_row_with_referral_in_raw() {
    let m = single_message("inbound_text_ctwa_referral.json");
    assert_eq!(m.kind, "text");
    assert_eq!(m.body.as_deref(), Some("Can I get more info about this?"));
    assert_eq!(m.context_wamid, None);
    assert_eq!(m.raw["referral"]["source_id"], "120226305854810726");
    assert_eq!(m.raw["referral"]["source_type"], "ad");
    assert_eq!(m.raw["referral"]["headline"], "Chat with us");
    assert!(
        m.raw["referral"]["ctwa_clid"]
            .as_str()
            .is_some_and(|c| c.starts_with("Aff-n8ZTODiE79d22KtAwQKj9e")),
        "ctwa_clid kept: {}",
        m.raw["referral"]
    );
    assert_eq!(
        m.raw["referral"]["welcome_message"]["text"],
        "Hi there! Let us know how we can help!"
    );
    assert_eq!(m.ts, Some(1_750_275_992));
    assert_eq!(m.sender, sheena());
}

#[test]
fn legacy_referral_placeholders_are_a_text_row_with_referral_in_raw() {
    let m = single_message("inbound_text_ctwa_referral_legacy_placeholders.json");
    assert_eq!(m.kind, "text");
    assert_eq!(m.body.as_deref(), Some("BODY"));
    assert_eq!(m.raw["referral"]["ctwa_clid"], "CTWA_CLID");
    assert_eq!(m.raw["referral"]["video_url"], "RAW_VIDEO_URL");
    assert_eq!(m.ts, Some(1_697_045_000));
}

#[test]
fn reply_context_id_becomes_context_wamid() {
    let m = single_message("inbound_reply_context.json");
    assert_eq!(m.kind, "text");
    assert_eq!(m.body.as_deref(), Some("replied text"));
    assert_eq!(m.context_wamid.as_deref(), Some("wamid.xyzxyz=="));
    assert_eq!(m.wamid.as_deref(), Some("wamid.xyzxyz"));
    assert_eq!(m.raw["context"]["from"], "972123456789");
    assert_eq!(m.ts, Some(1_697_044_746));
    assert_eq!(m.sender, pywa_user());
}

#[test]
fn forwarded_text_keeps_flag_in_raw_and_has_no_context_wamid() {
    let m = single_message("inbound_forwarded.json");
    assert_eq!(m.kind, "text");
    assert_eq!(m.body.as_deref(), Some("forwarded text"));
    assert_eq!(m.context_wamid, None);
    assert_eq!(m.raw["context"]["forwarded"], true);
    assert_eq!(m.ts, Some(1_697_044_815));
}

#[test]
fn frequently_forwarded_text_keeps_flag_in_raw() {
    let m = single_message("inbound_frequently_forwarded.json");
    assert_eq!(m.kind, "text");
    assert_eq!(m.body.as_deref(), Some("text forwarded many times"));
    assert_eq!(m.context_wamid, None);
    assert_eq!(m.raw["context"]["frequently_forwarded"], true);
    assert_eq!(m.ts, Some(1_697_044_968));
}

#[test]
fn unsupported_message_keeps_error_code_and_title() {
    let m = single_message("inbound_unsupported.json");
    assert_eq!(m.kind, "unsupported");
    assert_eq!(m.body, None);
    assert_eq!(m.media, None);
    assert_eq!(m.error, Some(err("131051", "Message type unknown")));
    assert_eq!(m.raw["unsupported"]["type"], "edit");
    assert_eq!(m.ts, Some(1_750_090_702));
    assert_eq!(m.sender, sheena());
}

#[test]
fn unsupported_message_pywa_shape_keeps_error() {
    let m = single_message("inbound_unsupported_with_errors_pywa.json");
    assert_eq!(m.kind, "unsupported");
    assert_eq!(m.body, None);
    assert_eq!(m.error, Some(err("131051", "Message type unknown")));
    assert_eq!(m.raw["unsupported"]["type"], "pool");
    assert_eq!(m.ts, Some(1_697_044_706));
}

#[test]
fn unknown_legacy_type_keeps_error_from_errors() {
    let m = single_message("inbound_unknown_legacy_errors.json");
    assert_eq!(m.kind, "unknown");
    assert_eq!(m.body, None);
    assert_eq!(m.error, Some(err("131051", "Unsupported message type")));
    assert_eq!(m.ts, Some(1_669_233_778));
    assert_eq!(
        m.event_id,
        event("WHATSAPP_BUSINESS_ACCOUNT_ID", 0, "wamid.ID")
    );
    // `from` (PHONE_NUMBER) differs from the contact's wa_id (WHATSAPP_ID): not merged.
    assert_eq!(
        m.sender,
        contact(Some("PHONE_NUMBER"), None, None, None, None)
    );
}

#[test]
fn edit_takes_body_from_nested_message_and_refers_to_original() {
    let m = single_message("inbound_edit_image.json");
    assert_eq!(m.kind, "edit");
    assert_eq!(m.body.as_deref(), Some("Updated image caption"));
    assert_eq!(
        m.context_wamid.as_deref(),
        Some("wamid.HBgLMTQxMjU1NTA4MjkVAgASGBQzQUNCNjk5RDUwNUZGMUZEM0VBRAA=")
    );
    assert_eq!(m.raw["edit"]["message"]["image"]["id"], "1234567890");
    assert_eq!(m.ts, Some(1_749_854_575));
    assert_eq!(
        m.event_id,
        event(
            META_ENTRY,
            0,
            "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA="
        )
    );
    // `from` does not match the only contact (a different wa_id): no borrowing.
    assert_eq!(
        m.sender,
        contact(Some("16505551234"), None, None, None, None)
    );
}

#[test]
fn revoke_refers_to_original_message() {
    let m = single_message("inbound_revoke.json");
    assert_eq!(m.kind, "revoke");
    assert_eq!(m.body, None);
    assert_eq!(m.media, None);
    assert_eq!(
        m.context_wamid.as_deref(),
        Some("<ORIGINAL_WHATSAPP_MESSAGE_ID>")
    );
    assert_eq!(m.wamid.as_deref(), Some("<WHATSAPP_MESSAGE_ID>"));
    assert_eq!(
        m.event_id,
        event("<WHATSAPP_BUSINESS_ACCOUNT_ID>", 0, "<WHATSAPP_MESSAGE_ID>")
    );
    assert_eq!(
        m.phone_number_id.as_deref(),
        Some("<BUSINESS_PHONE_NUMBER_ID>")
    );
    assert_eq!(m.ts, Some(1_697_043_223));
}

// ---------------------------------------------------------------------------------------
// Event ids
// ---------------------------------------------------------------------------------------

#[test]
fn message_event_id_is_entry_change_and_message_id() {
    let d = delivery("inbound_batch_two_changes.json");
    let ids: Vec<&str> = d.messages.iter().map(|m| m.event_id.as_str()).collect();
    // Same wamid in two changes: the change index keeps the event ids apart.
    assert_eq!(
        ids,
        vec![
            "WHATSAPP_BUSINESS_ACCOUNT_ID:0:wamid.ID",
            "WHATSAPP_BUSINESS_ACCOUNT_ID:1:wamid.ID",
        ]
    );
}

#[test]
fn status_event_id_is_id_status_and_timestamp() {
    let st = single_status("status_read.json");
    assert_eq!(st.event_id, "wamid.xyzxyz:read:1689380458");
}

#[test]
fn message_without_id_gets_a_stable_event_id() {
    let value = json!({
        "metadata": {"phone_number_id": "P1"},
        "messages": [
            {"from": "111", "timestamp": "5", "type": "text", "text": {"body": "no id"}},
            {"from": "111", "timestamp": "6", "type": "text", "text": {"body": "no id either"}},
        ]
    });
    let body = envelope(value);
    let first = prepare(&body).parsed.expect("normalises");
    let again = prepare(&body).parsed.expect("normalises");
    assert!(first.problems.is_empty(), "{:?}", first.problems);
    assert_eq!(first.messages.len(), 2);
    let a = &first.messages[0];
    let b = &first.messages[1];
    assert_eq!(a.wamid, None);
    assert_eq!(a.body.as_deref(), Some("no id"));
    assert_eq!(a.phone_number_id.as_deref(), Some("P1"));
    assert!(a.event_id.starts_with("E1:0:"), "{}", a.event_id);
    assert!(!a.event_id.is_empty());
    assert_ne!(a.event_id, b.event_id);
    // Same bytes, same ids: a redelivery is recognised.
    assert_eq!(a.event_id, again.messages[0].event_id);
    assert_eq!(b.event_id, again.messages[1].event_id);
}

#[test]
fn message_event_ids_are_unique_within_each_fixture() {
    for name in inbound_fixture_names() {
        let d = delivery(&name);
        let mut ids: Vec<&str> = d.messages.iter().map(|m| m.event_id.as_str()).collect();
        let n = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), n, "{name}: duplicate event ids");
    }
}

// ---------------------------------------------------------------------------------------
// Statuses
// ---------------------------------------------------------------------------------------

#[test]
fn status_sent_with_biz_opaque_callback_data() {
    let st = single_status("status_sent_biz_opaque_callback_data.json");
    assert_eq!(st.status, "sent");
    assert_eq!(st.wamid, "wamid.xyzxyz");
    assert_eq!(st.event_id, "wamid.xyzxyz:sent:1698266945");
    assert_eq!(st.ts, Some(1_698_266_945));
    assert_eq!(st.recipient_id.as_deref(), Some("972987654321"));
    assert_eq!(st.recipient_user_id, None);
    assert_eq!(st.phone_number_id.as_deref(), Some(PYWA_PNID));
    assert_eq!(st.error, None);
    assert_eq!(st.raw["biz_opaque_callback_data"], "some data");
    assert_eq!(st.raw["conversation"]["expiration_timestamp"], "1698339900");
    assert_eq!(st.raw["pricing"]["pricing_model"], "CBP");
}

#[test]
fn status_sent_marketing_keeps_conversation_and_pricing_in_raw() {
    let st = single_status("status_sent_marketing_pmp.json");
    let wamid = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=";
    assert_eq!(st.status, "sent");
    assert_eq!(st.wamid, wamid);
    assert_eq!(st.event_id, format!("{wamid}:sent:1750030073"));
    assert_eq!(st.ts, Some(1_750_030_073));
    assert_eq!(st.recipient_id.as_deref(), Some("16505551234"));
    assert_eq!(st.phone_number_id.as_deref(), Some(META_PNID));
    assert_eq!(st.raw["conversation"]["origin"]["type"], "marketing");
    assert_eq!(st.raw["pricing"]["pricing_model"], "PMP");
    assert_eq!(st.raw["pricing"]["type"], "regular");
    assert_eq!(st.raw["pricing"]["category"], "marketing");
}

#[test]
fn status_delivered_keeps_pricing_and_collects_contacts() {
    let d = delivery("status_delivered.json");
    assert_eq!(d.contacts, vec![pywa_user()]);
    let st = single_status("status_delivered.json");
    assert_eq!(st.status, "delivered");
    assert_eq!(st.event_id, "wamid.xyzxyz:delivered:1698266945");
    assert_eq!(st.ts, Some(1_698_266_945));
    assert_eq!(st.recipient_id.as_deref(), Some("972987654321"));
    assert_eq!(st.error, None);
    assert_eq!(
        st.raw["conversation"]["id"],
        "7270432eae37498234f4444b35ffc5"
    );
    assert_eq!(st.raw["pricing"]["billable"], true);
    assert_eq!(st.raw["pricing"]["category"], "service");
}

#[test]
fn status_read() {
    let st = single_status("status_read.json");
    assert_eq!(st.status, "read");
    assert_eq!(st.wamid, "wamid.xyzxyz");
    assert_eq!(st.ts, Some(1_689_380_458));
    assert_eq!(st.recipient_id.as_deref(), Some("972987654321"));
    assert_eq!(st.phone_number_id.as_deref(), Some(PYWA_PNID));
    assert_eq!(st.error, None);
    assert_eq!(st.raw["pricing"]["pricing_model"], "CBP");
}

#[test]
fn status_played() {
    let st = single_status("status_played.json");
    assert_eq!(st.status, "played");
    assert_eq!(st.event_id, "wamid.xyzxyz:played:1689380458");
    assert_eq!(st.ts, Some(1_689_380_458));
    assert_eq!(st.recipient_id.as_deref(), Some("972987654321"));
}

#[test]
fn status_failed_131049_keeps_error_code_and_title() {
    let st = single_status("status_failed_131049.json");
    let wamid = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBI0QUQ2MjA4NEYyRkExNjMyREUA";
    assert_eq!(st.status, "failed");
    assert_eq!(st.wamid, wamid);
    assert_eq!(st.event_id, format!("{wamid}:failed:1751142888"));
    assert_eq!(st.ts, Some(1_751_142_888));
    assert_eq!(st.recipient_id.as_deref(), Some("16505551234"));
    assert_eq!(
        st.error,
        Some(err(
            "131049",
            "This message was not delivered to maintain healthy ecosystem engagement."
        ))
    );
    assert_eq!(
        st.raw["errors"][0]["error_data"]["details"],
        "In order to maintain a healthy ecosystem engagement, the message failed to be delivered."
    );
}

#[test]
fn status_failed_131047_re_engagement() {
    let st = single_status("status_failed_131047.json");
    assert_eq!(st.status, "failed");
    assert_eq!(st.error, Some(err("131047", "Re-engagement message")));
    assert_eq!(st.event_id, "wamid.xyzxyz:failed:1689380458");
    assert_eq!(
        st.raw["errors"][0]["href"],
        "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"
    );
}

#[test]
fn status_failed_130472_experiment() {
    let st = single_status("status_failed_130472.json");
    assert_eq!(st.status, "failed");
    assert_eq!(
        st.error,
        Some(err("130472", "User's number is part of an experiment"))
    );
}

#[test]
fn status_for_a_group_message() {
    let st = single_status("status_group_read.json");
    assert_eq!(st.status, "read");
    assert_eq!(st.wamid, "<WHATSAPP_MESSAGE_ID>");
    assert_eq!(st.event_id, "<WHATSAPP_MESSAGE_ID>:read:1698266945");
    assert_eq!(st.recipient_id.as_deref(), Some("fowefinoewcnw"));
    assert_eq!(
        st.phone_number_id.as_deref(),
        Some("<BUSINESS_PHONE_NUMBER_ID>")
    );
    assert_eq!(st.raw["recipient_type"], "group");
    assert_eq!(st.raw["recipient_participant_user_id"], "US.123456");
    let d = delivery("status_group_read.json");
    assert_eq!(
        d.contacts,
        vec![contact(
            Some("<USER_PHONE_NUMBER>"),
            Some("US.123456"),
            Some("<PARENT_BSUID>"),
            Some("<USERNAME>"),
            Some("<USER_DISPLAY_NAME>")
        )]
    );
}

#[test]
fn status_v24_without_conversation_or_pricing() {
    let st = single_status("status_v24_no_conversation_no_pricing.json");
    assert_eq!(st.status, "sent");
    assert_eq!(st.ts, Some(1_750_030_073));
    assert_eq!(st.recipient_id.as_deref(), Some("16505551234"));
    assert_eq!(st.error, None);
    assert!(st.raw.get("conversation").is_none());
    assert!(st.raw.get("pricing").is_none());
}

#[test]
fn status_to_bsuid_only_recipient() {
    let d = delivery("status_delivered_bsuid_only.json");
    assert_eq!(
        d.contacts,
        vec![contact(
            None,
            Some("US.20581937466401827395"),
            None,
            Some("@maya.okafor"),
            Some("Maya Okafor")
        )]
    );
    let st = single_status("status_delivered_bsuid_only.json");
    assert_eq!(st.status, "delivered");
    assert_eq!(st.recipient_id, None);
    assert_eq!(
        st.recipient_user_id.as_deref(),
        Some("US.20581937466401827395")
    );
    assert_eq!(st.ts, Some(1_779_012_502));
    assert_eq!(st.phone_number_id.as_deref(), Some("402938571648392"));
    assert_eq!(st.raw["pricing"]["category"], "marketing");
}

#[test]
fn status_to_bsuid_with_parent_keeps_parent_in_raw() {
    let st = single_status("status_delivered_bsuid_parent_no_phone_meta_example.json");
    assert_eq!(st.status, "delivered");
    assert_eq!(st.recipient_id, None);
    assert_eq!(
        st.recipient_user_id.as_deref(),
        Some("US.13491208655302741918")
    );
    assert_eq!(
        st.raw["recipient_parent_user_id"],
        "US.ENT.11815799212886844830"
    );
}

// ---------------------------------------------------------------------------------------
// Batches
// ---------------------------------------------------------------------------------------

#[test]
fn batch_with_two_changes_reads_both_messages_in_order() {
    let d = delivery("inbound_batch_two_changes.json");
    assert!(d.problems.is_empty());
    assert!(d.statuses.is_empty());
    assert!(d.ignored_fields.is_empty());
    assert_eq!(d.messages.len(), 2);
    let bodies: Vec<Option<&str>> = d.messages.iter().map(|m| m.body.as_deref()).collect();
    assert_eq!(bodies, vec![Some("MESSAGE_BODY"), Some("MESSAGE_BODY2")]);
    let ts: Vec<Option<i64>> = d.messages.iter().map(|m| m.ts).collect();
    assert_eq!(ts, vec![Some(1_669_233_778), Some(1_669_233_779)]);
    for m in &d.messages {
        assert_eq!(m.kind, "text");
        assert_eq!(m.phone_number_id.as_deref(), Some("PHONE_NUMBER_ID"));
        assert_eq!(
            m.sender,
            contact(Some("PHONE_NUMBER"), None, None, None, Some("NAME"))
        );
    }
    // One contacts entry per change.
    assert_eq!(d.contacts.len(), 2);
}

/// event id, status, ts, recipient_id, recipient_user_id
type StatusSummary<'a> = (
    &'a str,
    &'a str,
    Option<i64>,
    Option<&'a str>,
    Option<&'a str>,
);

#[test]
fn large_batch_reads_every_message_and_status_of_every_entry_and_change() {
    let d = delivery("inbound_batch_large.json");
    assert!(d.problems.is_empty(), "{:?}", d.problems);
    assert!(d.value_errors.is_empty());
    assert_eq!(d.ignored_fields, vec!["message_template_status_update"]);

    let entry = "318475926104853";
    let pnid = "402938571648392";
    let expected: Vec<(String, &str, Option<&str>, ContactSeen)> = vec![
        (
            event(
                entry,
                0,
                "wamid.HBgLMTY1MDU1NTAxODMVAgASGBQzQTFCOUM0N0UwMkQ1Rjg2QTNDMQA=",
            ),
            "text",
            Some("Can I change my delivery address?"),
            contact(
                Some("16505550183"),
                Some("US.47730918264150392817"),
                None,
                None,
                Some("Daniel Reyes"),
            ),
        ),
        (
            event(
                entry,
                0,
                "wamid.HBgMNDQ3NzAwOTAwMTIzFQIAEhgUM0E2NEYyRDA4RTlCMTdDNUIyNzQA",
            ),
            "image",
            Some("Damaged box on arrival"),
            contact(
                Some("447700900123"),
                Some("GB.90316284750193826451"),
                None,
                None,
                Some("Amelia Clarke"),
            ),
        ),
        (
            event(
                entry,
                1,
                "wamid.HBgLMTY1MDU1NTAxOTYVAgASGBQzQUMwN0U1RDI5QjRGMTgzNkU5MAA=",
            ),
            "interactive",
            Some("Confirm 2 PM"),
            contact(
                Some("16505550196"),
                Some("US.55120847396028174630"),
                None,
                None,
                Some("Priya Natarajan"),
            ),
        ),
        (
            event(
                entry,
                1,
                "wamid.HBgMNDQ3NzAwOTAwNDU2FQIAEhgUM0FGMzgxOUM2RDBFMjdCNDVBMTgA",
            ),
            "location",
            Some(
                "Location: One Canada Square, 1 Canada Square, London E14 5AB, \
                 (51.50493812561, -0.01953601837)",
            ),
            contact(
                Some("447700900456"),
                Some("GB.12870394561827305946"),
                None,
                None,
                Some("Oliver Hughes"),
            ),
        ),
    ];
    assert_eq!(d.messages.len(), expected.len());
    for (m, (event_id, kind, body, sender)) in d.messages.iter().zip(&expected) {
        assert_eq!(&m.event_id, event_id);
        assert_eq!(m.kind, *kind, "{event_id}");
        assert_eq!(m.body.as_deref(), *body, "{event_id}");
        assert_eq!(&m.sender, sender, "{event_id}");
        assert_eq!(m.phone_number_id.as_deref(), Some(pnid), "{event_id}");
    }
    let ts: Vec<Option<i64>> = d.messages.iter().map(|m| m.ts).collect();
    assert_eq!(
        ts,
        vec![
            Some(1_779_200_011),
            Some(1_779_200_013),
            Some(1_779_200_015),
            Some(1_779_200_016)
        ]
    );
    assert_eq!(
        d.messages[1].media,
        Some(media(
            "1184729365012847",
            "image/jpeg",
            "k3V8qR2xW0pLm4nZt6yB1cD9eF7gH5jK0aS2dQ4wE8o=",
            None
        ))
    );
    assert_eq!(
        d.messages[2].context_wamid.as_deref(),
        Some("wamid.HBgLMTY1MDU1NTAxOTYVAgARGBI3RDBCM0U5NUExNEMyOEY2RTIA")
    );

    let statuses: Vec<StatusSummary> = d
        .statuses
        .iter()
        .map(|s| {
            (
                s.event_id.as_str(),
                s.status.as_str(),
                s.ts,
                s.recipient_id.as_deref(),
                s.recipient_user_id.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            (
                "wamid.HBgLMTY1MDU1NTAxODMVAgARGBJBODJDNUYwRTNCOTE3RDQ2QzAA:sent:1779200021",
                "sent",
                Some(1_779_200_021),
                Some("16505550183"),
                Some("US.47730918264150392817"),
            ),
            (
                "wamid.HBgMNDQ3NzAwOTAwMTIzFQIAERgSQjVFMUQ3MzkyQTBDNEY2OEUxAA==:delivered:1779200024",
                "delivered",
                Some(1_779_200_024),
                Some("447700900123"),
                Some("GB.90316284750193826451"),
            ),
            (
                "wamid.HBgLMTY1MDU1NTAxOTYVAgARGBJDOTNGMEE2RTFENUIyODQ3MEIA:read:1779200027",
                "read",
                Some(1_779_200_027),
                Some("16505550196"),
                Some("US.55120847396028174630"),
            ),
        ]
    );
    for st in &d.statuses {
        assert_eq!(st.phone_number_id.as_deref(), Some(pnid));
        assert_eq!(st.raw["pricing"]["pricing_model"], "PMP");
    }
    assert_eq!(d.statuses[2].raw["pricing"]["category"], "utility");
    // 2 + 2 contacts in entry 1, 3 in entry 2's messages change.
    assert_eq!(d.contacts.len(), 7);
}

// ---------------------------------------------------------------------------------------
// BSUID / usernames
// ---------------------------------------------------------------------------------------

#[test]
fn bsuid_only_message_without_from_takes_sender_from_only_contact() {
    let m = single_message("inbound_bsuid_only_no_from.json");
    assert_eq!(m.kind, "text");
    assert_eq!(m.body.as_deref(), Some("MESSAGE_BODY"));
    assert_eq!(
        m.sender,
        contact(None, Some("BSUID_123"), None, None, Some("NAME"))
    );
    assert!(m.sender.is_identified());
    assert_eq!(
        m.event_id,
        event("WHATSAPP_BUSINESS_ACCOUNT_ID", 0, "wamid.ID")
    );
}

#[test]
fn username_user_without_phone_has_user_id_and_username_no_wa_id() {
    let m = single_message("inbound_text_bsuid_username_no_phone.json");
    assert_eq!(m.kind, "text");
    assert_eq!(
        m.body.as_deref(),
        Some("Hi, is my order #4471 ready for pickup?")
    );
    assert_eq!(
        m.sender,
        contact(
            None,
            Some("US.20581937466401827395"),
            None,
            Some("@maya.okafor"),
            Some("Maya Okafor")
        )
    );
    assert_eq!(m.ts, Some(1_779_012_345));
    assert_eq!(m.phone_number_id.as_deref(), Some("402938571648392"));
}

#[test]
fn username_user_with_phone_has_both_ids() {
    let m = single_message("inbound_text_bsuid_with_phone.json");
    assert_eq!(m.body.as_deref(), Some("Thanks! I'll come by after 5pm."));
    assert_eq!(
        m.sender,
        contact(
            Some("16505550147"),
            Some("US.20581937466401827395"),
            None,
            Some("@maya.okafor"),
            Some("Maya Okafor")
        )
    );
    assert_eq!(m.ts, Some(1_779_012_410));
}

#[test]
fn parent_bsuid_user_without_phone_meta_example() {
    let m = single_message("inbound_text_bsuid_parent_no_phone_meta_example.json");
    assert_eq!(m.body.as_deref(), Some("Does it come in another color?"));
    assert_eq!(
        m.sender,
        contact(
            None,
            Some("US.13491208655302741918"),
            Some("US.ENT.11815799212886844830"),
            Some("@realsheenanelson"),
            Some("Sheena Nelson")
        )
    );
}

#[test]
fn quick_reply_button_with_from_user_id_gets_parent_user_id_from_contact() {
    let m = single_message("inbound_button_quick_reply_bsuid_no_context.json");
    assert_eq!(m.kind, "button");
    assert_eq!(m.body.as_deref(), Some("title"));
    assert_eq!(m.raw["button"]["payload"], "callback_data");
    assert_eq!(m.context_wamid, None);
    assert_eq!(m.sender, pywa_user());
    assert_eq!(m.ts, Some(1_698_269_027));
    assert_eq!(m.event_id, event("5467539754836534", 0, "wamid.xsidjx"));
}

#[test]
fn contact_without_profile_still_identifies_sender() {
    let d = delivery("inbound_contact_without_profile.json");
    assert_eq!(
        d.contacts,
        vec![contact(Some("PHONE_NUMBER"), None, None, None, None)]
    );
    let m = single_message("inbound_contact_without_profile.json");
    assert_eq!(
        m.sender,
        contact(Some("PHONE_NUMBER"), None, None, None, None)
    );
    assert_eq!(m.body.as_deref(), Some("MESSAGE_BODY"));
}

// ---------------------------------------------------------------------------------------
// Other webhook fields and value-level errors
// ---------------------------------------------------------------------------------------

fn assert_only_ignored(name: &str, field: &str) {
    let d = delivery(name);
    assert!(d.messages.is_empty(), "{name}: {:#?}", d.messages);
    assert!(d.statuses.is_empty(), "{name}: {:#?}", d.statuses);
    assert!(d.contacts.is_empty(), "{name}: {:#?}", d.contacts);
    assert!(d.value_errors.is_empty(), "{name}: {:?}", d.value_errors);
    assert!(d.problems.is_empty(), "{name}: {:?}", d.problems);
    assert_eq!(d.ignored_fields, vec![field.to_owned()], "{name}");
}

macro_rules! ignored_field_tests {
    ($($test:ident: $file:literal => $field:literal;)+) => {$(
        #[test]
        fn $test() {
            assert_only_ignored($file, $field);
        }
    )+};
}

ignored_field_tests! {
    account_update_restriction_is_ignored: "account_update_account_restriction.json" => "account_update";
    account_update_violation_is_ignored: "account_update_account_violation.json" => "account_update";
    account_update_disabled_is_ignored: "account_update_disabled_update.json" => "account_update";
    account_update_partner_removed_is_ignored: "account_update_partner_removed.json" => "account_update";
    calls_connect_is_ignored: "calls_connect_user_initiated.json" => "calls";
    template_quality_update_is_ignored: "message_template_quality_update.json" => "message_template_quality_update";
    template_status_update_is_ignored: "message_template_status_update_approved.json" => "message_template_status_update";
    template_category_update_is_ignored: "template_category_update.json" => "template_category_update";
    user_preferences_is_ignored: "user_preferences_marketing_resume.json" => "user_preferences";
    smb_message_echoes_are_not_inbound_messages: "smb_message_echoes_text.json" => "smb_message_echoes";
    user_id_update_is_ignored: "user_id_update.json" => "user_id_update";
}

#[test]
fn value_level_errors_only_are_collected() {
    let d = delivery("errors_value_level_130429.json");
    assert!(d.messages.is_empty());
    assert!(d.statuses.is_empty());
    assert!(d.contacts.is_empty());
    assert!(d.problems.is_empty(), "{:?}", d.problems);
    assert!(d.ignored_fields.is_empty());
    assert_eq!(d.value_errors, vec![err("130429", "Rate limit hit")]);
}

#[test]
fn value_error_without_title_falls_back_to_message_and_without_code_is_skipped() {
    let body = envelope(json!({
        "errors": [
            {"code": 1, "message": "only a message"},
            {"title": "no code"},
            "not an object",
            {"code": "2"}
        ]
    }));
    let d = prepare(&body).parsed.expect("normalises");
    assert_eq!(
        d.value_errors,
        vec![err("1", "only a message"), err("2", "")]
    );
}

// ---------------------------------------------------------------------------------------
// Every fixture, raw objects
// ---------------------------------------------------------------------------------------

fn all_fixture_names() -> Vec<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("fixtures dir")
        .map(|e| {
            e.expect("dir entry")
                .file_name()
                .to_string_lossy()
                .into_owned()
        })
        .filter(|n| n.ends_with(".json"))
        .collect();
    names.sort();
    assert!(names.len() > 50, "fixtures found: {names:?}");
    names
}

fn inbound_fixture_names() -> Vec<String> {
    all_fixture_names()
        .into_iter()
        .filter(|n| n.starts_with("inbound_"))
        .collect()
}

#[test]
fn every_fixture_normalises_without_problems() {
    for name in all_fixture_names() {
        let p = prepared(&name);
        if name.starts_with("graph_") {
            // Graph API responses are not webhook deliveries.
            assert_eq!(p.parsed, Err(NormaliseError::NoEntries), "{name}");
            continue;
        }
        let d = p
            .parsed
            .unwrap_or_else(|e| panic!("{name} did not normalise: {e}"));
        assert!(d.problems.is_empty(), "{name}: {:?}", d.problems);
        let messages = fixture_items(&name, "messages");
        let statuses = fixture_items(&name, "statuses");
        assert_eq!(d.messages.len(), messages.len(), "{name}");
        assert_eq!(d.statuses.len(), statuses.len(), "{name}");
        for m in &d.messages {
            assert!(!m.event_id.is_empty(), "{name}");
            assert!(!m.kind.is_empty(), "{name}");
            assert!(m.ts.is_some(), "{name}: {}", m.event_id);
            assert!(m.phone_number_id.is_some(), "{name}: {}", m.event_id);
        }
    }
}

#[test]
fn raw_is_the_message_object_as_received_when_nothing_is_secret() {
    for name in inbound_fixture_names() {
        if name == "inbound_interactive_nfm_reply_flow.json" {
            continue; // holds a flow_token, covered by its own test
        }
        let d = delivery(&name);
        let raws: Vec<Value> = d.messages.into_iter().map(|m| m.raw).collect();
        assert_eq!(raws, fixture_messages(&name), "{name}");
    }
}

#[test]
fn raw_is_the_status_object_as_received() {
    for name in all_fixture_names()
        .into_iter()
        .filter(|n| n.starts_with("status_") || n == "inbound_batch_large.json")
    {
        let d = delivery(&name);
        let raws: Vec<Value> = d.statuses.into_iter().map(|s| s.raw).collect();
        assert_eq!(raws, fixture_items(&name, "statuses"), "{name}");
    }
}

#[test]
fn prepared_delivery_carries_request_data_and_hash_of_exact_bytes() {
    let body = fixture("inbound_text.json");
    let p = prepare_delivery(&body, "req-42".to_owned(), 123_456);
    assert_eq!(p.request_id, "req-42");
    assert_eq!(p.received_at, 123_456);
    let expected: String = Sha256::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(p.payload_sha256, expected);
    let stored: Value = serde_json::from_str(&p.payload).expect("payload is JSON");
    assert_eq!(stored, fixture_json("inbound_text.json"));
}

#[test]
fn normalise_delivery_direct_matches_prepare_for_clean_payloads() {
    for name in [
        "inbound_text.json",
        "inbound_batch_large.json",
        "status_failed_131049.json",
    ] {
        let direct = normalise_delivery(&fixture_json(name)).expect("normalises");
        assert_eq!(direct, delivery(name), "{name}");
    }
}

// ---------------------------------------------------------------------------------------
// Malformed input
// ---------------------------------------------------------------------------------------

#[derive(Debug)]
enum Expect {
    Err(NormaliseError),
    /// Any `NotJson`, whatever serde says.
    NotJson,
    Ok {
        messages: usize,
        statuses: usize,
        problems: usize,
        ignored: usize,
    },
}

fn ok(messages: usize, statuses: usize, problems: usize, ignored: usize) -> Expect {
    Expect::Ok {
        messages,
        statuses,
        problems,
        ignored,
    }
}

fn odd_shapes() -> Vec<(&'static str, Vec<u8>, Expect)> {
    let j = |v: Value| serde_json::to_vec(&v).expect("serialisable");
    let deep_array = "[".repeat(100_000);
    let deep_object = "{\"a\":".repeat(50_000);
    vec![
        ("empty body", Vec::new(), Expect::NotJson),
        ("not json", b"not json".to_vec(), Expect::NotJson),
        (
            "invalid utf-8",
            vec![0xff, 0xfe, 0x00, 0x7b],
            Expect::NotJson,
        ),
        (
            "truncated object",
            b"{\"entry\": [".to_vec(),
            Expect::NotJson,
        ),
        ("trailing garbage", b"{} {}".to_vec(), Expect::NotJson),
        ("deep arrays", deep_array.into_bytes(), Expect::NotJson),
        ("deep objects", deep_object.into_bytes(), Expect::NotJson),
        (
            "json array",
            b"[]".to_vec(),
            Expect::Err(NormaliseError::NotAnObject),
        ),
        (
            "array of delivery",
            j(json!([{"entry": []}])),
            Expect::Err(NormaliseError::NotAnObject),
        ),
        (
            "null",
            b"null".to_vec(),
            Expect::Err(NormaliseError::NotAnObject),
        ),
        (
            "number",
            b"42".to_vec(),
            Expect::Err(NormaliseError::NotAnObject),
        ),
        (
            "string",
            b"\"entry\"".to_vec(),
            Expect::Err(NormaliseError::NotAnObject),
        ),
        (
            "bool",
            b"true".to_vec(),
            Expect::Err(NormaliseError::NotAnObject),
        ),
        (
            "empty object",
            b"{}".to_vec(),
            Expect::Err(NormaliseError::NoEntries),
        ),
        (
            "entry object",
            j(json!({"entry": {}})),
            Expect::Err(NormaliseError::NoEntries),
        ),
        (
            "entry string",
            j(json!({"entry": "x"})),
            Expect::Err(NormaliseError::NoEntries),
        ),
        (
            "entry null",
            j(json!({"entry": null})),
            Expect::Err(NormaliseError::NoEntries),
        ),
        (
            "entry number",
            j(json!({"entry": 3})),
            Expect::Err(NormaliseError::NoEntries),
        ),
        (
            "Entry capitalised",
            j(json!({"Entry": []})),
            Expect::Err(NormaliseError::NoEntries),
        ),
        ("entry empty", j(json!({"entry": []})), ok(0, 0, 0, 0)),
        (
            "entry items not objects",
            j(json!({"entry": [1, "x", null, [], true]})),
            ok(0, 0, 5, 0),
        ),
        (
            "entry item empty object",
            j(json!({"entry": [{}]})),
            ok(0, 0, 0, 0),
        ),
        (
            "changes not an array",
            j(json!({"entry": [{"id": "e", "changes": "x"}]})),
            ok(0, 0, 0, 0),
        ),
        (
            "changes items not objects",
            j(json!({"entry": [{"id": "e", "changes": [1, null, "messages"]}]})),
            ok(0, 0, 0, 3),
        ),
        (
            "change without field",
            j(json!({"entry": [{"id": "e", "changes": [{"value": {"messages": [{"id": "m"}]}}]}]})),
            ok(0, 0, 0, 1),
        ),
        (
            "change with numeric field",
            j(json!({"entry": [{"id": "e", "changes": [{"field": 7, "value": {}}]}]})),
            ok(0, 0, 0, 1),
        ),
        (
            "messages change missing value",
            j(json!({"entry": [{"id": "e", "changes": [{"field": "messages"}]}]})),
            ok(0, 0, 1, 0),
        ),
        (
            "messages change value not an object",
            j(json!({"entry": [{"id": "e", "changes": [
                {"field": "messages", "value": null},
                {"field": "messages", "value": "x"},
                {"field": "messages", "value": []}
            ]}]})),
            ok(0, 0, 3, 0),
        ),
        ("empty value", envelope(json!({})), ok(0, 0, 0, 0)),
        (
            "messages not objects",
            envelope(json!({"messages": ["a", 1, null, true, [],
                {"id": "ok", "type": "text", "text": {"body": "hi"}}]})),
            ok(1, 0, 5, 0),
        ),
        (
            "messages an object",
            envelope(json!({"messages": {"id": "x"}})),
            ok(0, 0, 0, 0),
        ),
        (
            "messages a string",
            envelope(json!({"messages": "x"})),
            ok(0, 0, 0, 0),
        ),
        (
            "message empty object",
            envelope(json!({"messages": [{}]})),
            ok(1, 0, 0, 0),
        ),
        (
            "message parts of wrong types",
            envelope(json!({"messages": [
                {"id": 12, "from": {"x": 1}, "type": "text", "text": "plain", "timestamp": "soon"},
                {"id": "a", "type": "image", "image": []},
                {"id": "b", "type": "interactive", "interactive": {"type": "button_reply", "button_reply": "x"}},
                {"id": "c", "type": "interactive", "interactive": {"type": 5}},
                {"id": "d", "type": "location", "location": {"latitude": "north"}},
                {"id": "e", "type": "contacts", "contacts": "x"},
                {"id": "f", "type": "contacts", "contacts": [1, {"name": 2, "phones": "x"}]},
                {"id": "g", "type": "reaction", "reaction": {"emoji": 3}},
                {"id": "h", "type": "order", "order": {"product_items": {}}},
                {"id": "i", "type": "edit", "edit": {"message": {"type": "edit", "edit": {}}}},
                {"id": "j", "type": "revoke", "revoke": []},
                {"id": "k", "type": null, "errors": [1, {"code": null}]},
                {"id": "l", "type": "text", "context": "x", "text": {"body": ["x"]}},
                {"id": "m", "type": ["text"], "timestamp": 1.5e300},
                {"id": "n", "type": "system", "system": {"body": {}}}
            ]})),
            ok(15, 0, 0, 0),
        ),
        (
            "statuses missing id or status",
            envelope(json!({"statuses": [
                {"status": "sent", "timestamp": "1"},
                {"id": "w1", "timestamp": "1"},
                "x",
                null,
                {"id": "w2", "status": "read", "timestamp": "2"},
                {"id": "", "status": "sent"},
                {"id": "w3", "status": ""}
            ]})),
            ok(0, 1, 6, 0),
        ),
        (
            "contacts of wrong shapes",
            envelope(
                json!({"contacts": [1, null, {}, {"profile": "x"}, {"wa_id": 5}],
                "messages": [{"id": "m", "from": "5", "type": "text", "text": {"body": "x"}}]}),
            ),
            ok(1, 0, 0, 0),
        ),
        (
            "errors of wrong shapes",
            envelope(json!({"errors": "x", "metadata": "x"})),
            ok(0, 0, 0, 0),
        ),
        (
            "nested just under the parser limit inside a message",
            envelope(json!({"messages": [{
                "id": "deep", "type": "text", "text": {"body": "hi"},
                "extra": nest(100)
            }]})),
            ok(1, 0, 0, 0),
        ),
        (
            "nested over the parser limit inside a message",
            nested_message_bytes(1_000),
            Expect::NotJson,
        ),
    ]
}

fn nest(depth: usize) -> Value {
    let mut v = json!("leaf");
    for i in 0..depth {
        v = if i % 2 == 0 {
            json!([v])
        } else {
            json!({"k": v})
        };
    }
    v
}

/// A delivery with `depth` nested arrays inside a message, written as text (a `Value`
/// that deep would be too deep for serde_json to write back).
fn nested_message_bytes(depth: usize) -> Vec<u8> {
    format!(
        "{{\"entry\":[{{\"id\":\"E1\",\"changes\":[{{\"field\":\"messages\",\"value\":\
         {{\"messages\":[{{\"id\":\"deep\",\"type\":\"text\",\"extra\":{}{}}}]}}}}]}}]}}",
        "[".repeat(depth),
        "]".repeat(depth)
    )
    .into_bytes()
}

#[test]
fn malformed_inputs_never_panic_and_report_what_they_can() {
    for (label, body, expect) in odd_shapes() {
        let outcome = catch_unwind(AssertUnwindSafe(|| prepare(&body)));
        let p = outcome.unwrap_or_else(|_| panic!("{label}: prepare_delivery panicked"));
        match (&expect, &p.parsed) {
            (Expect::NotJson, Err(NormaliseError::NotJson(_))) => {}
            (Expect::Err(want), Err(got)) => assert_eq!(got, want, "{label}"),
            (
                Expect::Ok {
                    messages,
                    statuses,
                    problems,
                    ignored,
                },
                Ok(d),
            ) => {
                assert_eq!(d.messages.len(), *messages, "{label}: {:#?}", d.messages);
                assert_eq!(d.statuses.len(), *statuses, "{label}: {:#?}", d.statuses);
                assert_eq!(d.problems.len(), *problems, "{label}: {:?}", d.problems);
                assert_eq!(
                    d.ignored_fields.len(),
                    *ignored,
                    "{label}: {:?}",
                    d.ignored_fields
                );
            }
            (want, got) => panic!("{label}: expected {want:?}, got {got:?}"),
        }
        // Whatever happened, the delivery log gets something to keep.
        if !body.is_empty() {
            assert!(!p.payload.is_empty(), "{label}: empty payload");
        }
        assert_eq!(p.payload_sha256.len(), 64, "{label}");
    }
}

#[test]
fn malformed_values_never_panic_when_normalised_directly() {
    let cases = [
        json!(null),
        json!([]),
        json!("x"),
        json!({}),
        json!({"entry": [[[]]]}),
        json!({"entry": [{"changes": [{"field": "messages", "value": {"messages": [[], {}], "statuses": [[], {}]}}]}]}),
    ];
    for v in cases {
        let outcome = catch_unwind(AssertUnwindSafe(|| normalise_delivery(&v)));
        assert!(outcome.is_ok(), "normalise_delivery panicked on {v}");
    }
    assert_eq!(
        normalise_delivery(&json!(null)),
        Err(NormaliseError::NotAnObject)
    );
    assert_eq!(
        normalise_delivery(&json!([])),
        Err(NormaliseError::NotAnObject)
    );
    assert_eq!(
        normalise_delivery(&json!({})),
        Err(NormaliseError::NoEntries)
    );
}

#[test]
fn non_json_body_is_kept_as_text_in_payload() {
    let p = prepare(b"hello, not json");
    assert!(
        matches!(p.parsed, Err(NormaliseError::NotJson(_))),
        "{:?}",
        p.parsed
    );
    assert_eq!(p.payload, "hello, not json");
    let p = prepare(b"[1,2]");
    assert_eq!(p.parsed, Err(NormaliseError::NotAnObject));
    assert_eq!(p.payload, "[1,2]");
}

#[test]
fn statuses_missing_id_or_status_are_problems_and_the_rest_is_read() {
    let body = envelope(json!({
        "metadata": {"phone_number_id": "P1"},
        "statuses": [
            {"status": "sent", "timestamp": "1"},
            {"id": "wamid.ok", "status": "delivered", "timestamp": "2", "recipient_id": "111"},
            {"id": "wamid.nostatus", "timestamp": "3"},
        ],
        "messages": [
            "junk",
            {"id": "wamid.m", "from": "111", "type": "text", "text": {"body": "still read"}, "timestamp": "4"}
        ]
    }));
    let d = prepare(&body).parsed.expect("normalises");
    assert_eq!(d.statuses.len(), 1);
    let st = &d.statuses[0];
    assert_eq!(st.wamid, "wamid.ok");
    assert_eq!(st.event_id, "wamid.ok:delivered:2");
    assert_eq!(st.phone_number_id.as_deref(), Some("P1"));
    assert_eq!(d.messages.len(), 1);
    assert_eq!(d.messages[0].body.as_deref(), Some("still read"));
    assert_eq!(d.messages[0].event_id, "E1:0:wamid.m");
    assert_eq!(d.problems.len(), 3, "{:?}", d.problems);
    assert!(
        d.problems
            .iter()
            .any(|p| p.contains("status E1:0:0") && p.contains("no id")),
        "{:?}",
        d.problems
    );
    assert!(
        d.problems
            .iter()
            .any(|p| p.contains("status E1:0:2") && p.contains("no status")),
        "{:?}",
        d.problems
    );
    assert!(
        d.problems.iter().any(|p| p.contains("message E1:0:0")),
        "{:?}",
        d.problems
    );
}

#[test]
fn timestamps_in_odd_forms() {
    let body = envelope(json!({"messages": [
        {"id": "a", "type": "text", "text": {"body": "x"}, "timestamp": " 1700000000 "},
        {"id": "b", "type": "text", "text": {"body": "x"}, "timestamp": 1_700_000_001},
        {"id": "c", "type": "text", "text": {"body": "x"}, "timestamp": "tomorrow"},
        {"id": "d", "type": "text", "text": {"body": "x"}, "timestamp": 1.5},
        {"id": "e", "type": "text", "text": {"body": "x"}},
        {"id": "f", "type": "text", "text": {"body": "x"}, "timestamp": null}
    ]}));
    let d = prepare(&body).parsed.expect("normalises");
    let ts: Vec<Option<i64>> = d.messages.iter().map(|m| m.ts).collect();
    assert_eq!(
        ts,
        vec![
            Some(1_700_000_000),
            Some(1_700_000_001),
            None,
            None,
            None,
            None
        ]
    );
}

#[test]
fn message_without_type_is_kept_as_unknown() {
    let body = envelope(json!({"messages": [
        {"id": "wamid.notype", "from": "111", "timestamp": "1", "text": {"body": "hi"}}
    ]}));
    let d = prepare(&body).parsed.expect("normalises");
    assert_eq!(d.messages.len(), 1);
    assert_eq!(d.messages[0].kind, "unknown");
    assert_eq!(d.messages[0].event_id, "E1:0:wamid.notype");
}

#[test]
fn unknown_future_type_keeps_its_text() {
    let body = envelope(json!({"messages": [
        {"id": "wamid.f", "from": "111", "timestamp": "1", "type": "hologram",
         "hologram": {"caption": "look"}}
    ]}));
    let d = prepare(&body).parsed.expect("normalises");
    assert_eq!(d.messages[0].kind, "hologram");
    assert_eq!(d.messages[0].body.as_deref(), Some("look"));
    assert_eq!(d.messages[0].raw["hologram"]["caption"], "look");
}

#[test]
fn sender_is_not_guessed_when_contacts_block_has_several_entries() {
    let body = envelope(json!({
        "contacts": [
            {"wa_id": "111", "profile": {"name": "A"}},
            {"wa_id": "222", "profile": {"name": "B"}}
        ],
        "messages": [
            {"id": "m1", "type": "text", "text": {"body": "x"}},
            {"id": "m2", "from": "222", "type": "text", "text": {"body": "y"}}
        ]
    }));
    let d = prepare(&body).parsed.expect("normalises");
    assert_eq!(d.messages[0].sender, ContactSeen::default());
    assert_eq!(
        d.messages[1].sender,
        contact(Some("222"), None, None, None, Some("B"))
    );
}

// ---------------------------------------------------------------------------------------
// Redaction
// ---------------------------------------------------------------------------------------

#[test]
fn secrets_are_redacted_in_payload_and_rows() {
    let secrets = [
        "EAAG-root-token",
        "entry-app-secret",
        "EAAG-metadata-token",
        "contact-app-secret",
        "EAAG-message-token",
        "deep-APP-SECRET",
        "EAAG-status-token",
        "pricing-secret",
        "string-embedded-token",
    ];
    let body = serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "access_token": secrets[0],
        "entry": [{
            "id": "E1",
            "app_secret": secrets[1],
            "changes": [{
                "field": "messages",
                "value": {
                    "metadata": {"phone_number_id": "P1", "access_token": secrets[2]},
                    "contacts": [{"wa_id": "111", "profile": {"name": "Ana", "app_secret": secrets[3]}}],
                    "messages": [{
                        "from": "111",
                        "id": "wamid.R1",
                        "timestamp": "1",
                        "type": "text",
                        "text": {"body": "my access_token is not a key here", "access_token": secrets[4]},
                        "context": {"nested": [{"deeper": [{"APP_SECRET": secrets[5]}]}]},
                        // A field Meta defines as carrying JSON (a Flow reply's).
                        "response_json": format!("{{\"access_token\":\"{}\"}}", secrets[8])
                    }],
                    "statuses": [{
                        "id": "wamid.S1",
                        "status": "sent",
                        "timestamp": "2",
                        "recipient_id": "111",
                        "access_token": secrets[6],
                        "pricing": {"category": "service", "app_secret": secrets[7]}
                    }]
                }
            }]
        }]
    }))
    .expect("serialisable");
    let p = prepare(&body);
    for secret in secrets {
        assert!(
            !p.payload.contains(secret),
            "{secret} stored: {}",
            p.payload
        );
    }
    let stored: Value = serde_json::from_str(&p.payload).expect("payload is JSON");
    assert_eq!(stored["access_token"], REDACTED);
    assert_eq!(stored["entry"][0]["app_secret"], REDACTED);
    let value = &stored["entry"][0]["changes"][0]["value"];
    assert_eq!(value["metadata"]["access_token"], REDACTED);
    assert_eq!(value["metadata"]["phone_number_id"], "P1");
    assert_eq!(value["contacts"][0]["profile"]["app_secret"], REDACTED);
    assert_eq!(value["contacts"][0]["profile"]["name"], "Ana");

    let d = p.parsed.expect("normalises");
    assert!(d.problems.is_empty(), "{:?}", d.problems);
    assert_eq!(d.messages.len(), 1);
    assert_eq!(d.statuses.len(), 1);
    let m = &d.messages[0];
    assert_eq!(m.body.as_deref(), Some("my access_token is not a key here"));
    assert_eq!(m.raw["text"]["access_token"], REDACTED);
    assert_eq!(
        m.raw["context"]["nested"][0]["deeper"][0]["APP_SECRET"],
        REDACTED
    );
    let carried = m.raw["response_json"]
        .as_str()
        .expect("response_json stays a string");
    let note: Value = serde_json::from_str(carried).expect("response_json stays JSON");
    assert_eq!(note, json!({"access_token": REDACTED}));
    assert_eq!(
        m.sender,
        contact(Some("111"), None, None, None, Some("Ana"))
    );
    let st = &d.statuses[0];
    assert_eq!(st.raw["access_token"], REDACTED);
    assert_eq!(st.raw["pricing"]["app_secret"], REDACTED);
    assert_eq!(st.raw["pricing"]["category"], "service");
    let rows = format!("{d:?}");
    for secret in secrets {
        assert!(!rows.contains(secret), "{secret} reached a row");
    }
    // The hash is of the bytes received, so the log can prove what arrived.
    let expected: String = Sha256::digest(&body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(p.payload_sha256, expected);
}

/// Guards finding 5 of the hardening review: a WhatsApp user's text that happens to be
/// JSON was stored re-sorted and redacted. It is a person's text: the row's body, its
/// raw object and the delivery log keep it exactly as written.
#[test]
fn a_text_message_that_is_json_is_stored_exactly_as_written() {
    let text = r#"{"zeta": 1, "my_password_hint": "blue"}"#;
    let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{
        "field": "messages", "value": {"metadata": {"phone_number_id": "106540352242922"},
        "messages": [{"from": "447700900123", "id": "wamid.J1", "timestamp": "1795428000",
                      "type": "text", "text": {"body": text}}]}}]}]});
    let prepared = prepare_delivery(body.to_string().as_bytes(), "json-text".into(), 0);
    let delivery = prepared.parsed.as_ref().expect("normalised");
    assert_eq!(delivery.messages[0].body.as_deref(), Some(text));
    assert_eq!(delivery.messages[0].raw["text"]["body"], text);
    let stored: Value = serde_json::from_str(&prepared.payload).expect("JSON");
    assert_eq!(stored, body, "the delivery log keeps the text too");
}
