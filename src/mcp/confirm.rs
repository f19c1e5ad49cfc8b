//! Asking the client's user before a send (`WA_CONFIRM_SENDS`). Every tool call runs
//! inside an approver for that call ([`crate::messaging::with_approver`]), so every
//! sender, whichever tool it belongs to, is asked about through the one hook in
//! `messaging`; this file only knows how to put the question to this client:
//! - a 2025-11-25 client that declared elicitation gets an `elicitation/create` form
//!   request in the middle of the call;
//! - a 2026-07-28 client that declared it gets the question back as the call's
//!   `input_required` result, and the send happens when the call comes again with the
//!   answer. The `requestState` carried between the rounds is sealed (HMAC, a key of
//!   this process), bound to the tool and every argument and the recipient, lives five
//!   minutes and is spent by its first answer: a "yes" cannot be replayed onto another
//!   recipient or text, nor used twice;
//! - a client that declared nothing cannot be asked (the rule in `messaging` decides).
//!
//! Nothing here depends on the transport: the same holds over stdio and HTTP.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::handler::server::tool::ToolCallContext;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, ElicitRequest, ElicitRequestParams, ElicitResult,
    ElicitationAction, ElicitationSchema, InputRequest, InputRequiredResult, InputResponses,
    JsonObject, ProtocolVersion, RequestStateCodec, SealOptions,
};
use rmcp::service::{Peer, RequestContext};
use rmcp::{ErrorData, RoleServer};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::WhatsAppServer;
use super::peer_text::{display_number, quoted_profile_name};
use crate::messaging::{Approval, SendApprover, SendPreview, with_approver};

/// How long a question's state can be answered.
const STATE_TTL: Duration = Duration::from_secs(5 * 60);
/// How long a 2025-11-25 client may take to answer before the send is dropped.
const ASK_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// The key of the question among the call's input requests and responses.
const INPUT_KEY: &str = "confirm_send";
/// The form's one field: true sends.
const FIELD: &str = "send";

/// What every session of the process shares: the key that seals question states, and
/// the states already answered (until they would have expired anyway).
#[derive(Clone)]
pub(crate) struct Confirmations {
    codec: Arc<RequestStateCodec>,
    spent: Arc<Mutex<HashMap<String, Instant>>>,
}

/// What a sealed state holds: which question it was.
#[derive(Serialize, Deserialize)]
struct QuestionState {
    nonce: String,
}

impl Confirmations {
    /// A fresh random key (two v4 UUIDs: 244 random bits) for this process.
    pub(crate) fn new() -> Confirmations {
        let mut key = Vec::with_capacity(32);
        key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
        // 32 bytes is RequestStateCodec::MIN_KEY_LENGTH: try_new cannot refuse it.
        #[allow(clippy::expect_used)]
        let codec = RequestStateCodec::try_new(key).expect("a 32-byte key is long enough");
        Confirmations {
            codec: Arc::new(codec),
            spent: Arc::default(),
        }
    }

    /// A new question's state, bound to `bound`.
    fn seal(&self, bound: &[u8]) -> Option<String> {
        let state = QuestionState {
            nonce: uuid::Uuid::new_v4().to_string(),
        };
        let options = SealOptions::new().associated_data(bound).ttl(STATE_TTL);
        self.codec.seal_json_with(&state, &options).ok()
    }

    /// Opens `sealed` if it is ours, unexpired, bound to `bound` and not yet answered;
    /// marks it answered.
    fn redeem(&self, sealed: &str, bound: &[u8]) -> bool {
        let state: QuestionState = match self.codec.open_json_with(sealed, bound) {
            Ok(state) => state,
            Err(e) => {
                tracing::warn!(error = %e, "confirmation_state_refused: asking again");
                return false;
            }
        };
        let Ok(mut spent) = self.spent.lock() else {
            return false;
        };
        let now = Instant::now();
        spent.retain(|_, at| now.duration_since(*at) < STATE_TTL);
        if spent.insert(state.nonce, now).is_some() {
            tracing::warn!("confirmation_state_replayed: asking again");
            return false;
        }
        true
    }
}

/// How this call's client can be asked.
enum Mode {
    /// `elicitation/create` to the client (up to 2025-11-25).
    Request(Peer<RoleServer>),
    /// An `input_required` result and a retried call (2026-07-28).
    RoundTrip {
        state: Option<String>,
        responses: Option<InputResponses>,
    },
    Unavailable,
}

/// The approver of one tool call.
struct CallAsker {
    mode: Mode,
    /// The hash of the tool's name and every argument.
    binding: [u8; 32],
    confirmations: Confirmations,
    /// The question to return instead of the call's result (round-trip form).
    pending: Mutex<Option<InputRequiredResult>>,
}

impl WhatsAppServer {
    /// Runs a tool call with an approver for its sends; a call whose send waits for
    /// the user's answer (round-trip form) returns the question instead.
    pub(super) async fn call_tool_confirming_sends(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let asker = Arc::new(CallAsker {
            binding: binding(&request.name, request.arguments.as_ref()),
            mode: mode(&request, &context),
            confirmations: self.confirmations.clone(),
            pending: Mutex::new(None),
        });
        let call = ToolCallContext::new(self, request, context);
        let approver: Arc<dyn SendApprover> = asker.clone();
        let result = with_approver(approver, self.tool_router.call(call)).await;
        match asker.pending.lock().ok().and_then(|mut p| p.take()) {
            Some(question) => Ok(CallToolResponse::InputRequired(question)),
            None => result,
        }
    }
}

fn mode(request: &CallToolRequestParams, context: &RequestContext<RoleServer>) -> Mode {
    let form = context
        .client_capabilities()
        .and_then(|c| c.elicitation)
        .is_some_and(|e| e.form.is_some() || e.url.is_none());
    if !form {
        return Mode::Unavailable;
    }
    let round_trip = context
        .protocol_version()
        .is_some_and(|v| v >= ProtocolVersion::V_2026_07_28);
    if round_trip {
        Mode::RoundTrip {
            state: request.request_state.clone(),
            responses: request.input_responses.clone(),
        }
    } else {
        Mode::Request(context.peer.clone())
    }
}

/// SHA-256 of the tool name and its arguments in a canonical form (keys sorted).
fn binding(tool: &str, arguments: Option<&JsonObject>) -> [u8; 32] {
    let arguments = arguments
        .map(|a| canonical(&Value::Object(a.clone())))
        .unwrap_or(Value::Null);
    let mut hash = Sha256::new();
    hash.update(b"wa-mcp/confirm-send/v1\0");
    hash.update(tool.as_bytes());
    hash.update(b"\0");
    hash.update(arguments.to_string().as_bytes());
    hash.finalize().into()
}

/// `value` with every object's keys in sorted order, whatever map type serde_json uses.
fn canonical(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, Value> =
                map.iter().map(|(k, v)| (k, canonical(v))).collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
        other => other.clone(),
    }
}

impl SendApprover for CallAsker {
    fn approve<'a>(
        &'a self,
        preview: &'a SendPreview,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = Approval> + Send + 'a>> {
        Box::pin(async move {
            match &self.mode {
                Mode::Unavailable => Approval::Unavailable,
                Mode::Request(peer) => ask_now(peer, preview).await,
                Mode::RoundTrip { state, responses } => {
                    self.round_trip(preview, state.as_deref(), responses.as_ref())
                }
            }
        })
    }
}

impl CallAsker {
    /// The answer carried by this call, if it answers a question this process asked
    /// about exactly this call; otherwise the question, left for the call's result.
    fn round_trip(
        &self,
        preview: &SendPreview,
        state: Option<&str>,
        responses: Option<&InputResponses>,
    ) -> Approval {
        let bound = self.bound_to(preview);
        let answer = responses.and_then(|r| r.get(INPUT_KEY));
        if let (Some(state), Some(answer)) = (state, answer)
            && self.confirmations.redeem(state, &bound)
        {
            return match serde_json::from_value::<ElicitResult>(answer.clone()) {
                Ok(result) => verdict(&result),
                Err(_) => Approval::Cancelled,
            };
        }
        let Some(sealed) = self.confirmations.seal(&bound) else {
            return Approval::Cancelled;
        };
        let question = InputRequest::Elicitation(ElicitRequest::new(form(preview)));
        let requests = BTreeMap::from([(INPUT_KEY.to_owned(), question)]);
        if let Ok(mut pending) = self.pending.lock() {
            *pending = Some(InputRequiredResult::new(Some(requests), Some(sealed)));
        }
        Approval::Pending
    }

    /// What a state is bound to: this call's arguments and the recipient asked about.
    fn bound_to(&self, preview: &SendPreview) -> Vec<u8> {
        let mut bound = self.binding.to_vec();
        bound.extend_from_slice(preview.to.as_bytes());
        bound
    }
}

/// Asks a 2025-11-25 client with `elicitation/create`; any failure sends nothing.
async fn ask_now(peer: &Peer<RoleServer>, preview: &SendPreview) -> Approval {
    match peer
        .create_elicitation_with_timeout(form(preview), Some(ASK_TIMEOUT))
        .await
    {
        Ok(result) => verdict(&result),
        Err(e) => {
            tracing::warn!(error = %e, "confirmation_not_answered: nothing sent");
            Approval::Cancelled
        }
    }
}

/// Accept with the box ticked sends; anything else does not.
fn verdict(result: &ElicitResult) -> Approval {
    match result.action {
        ElicitationAction::Accept => {
            let ticked = result
                .content
                .as_ref()
                .and_then(|c| c.get(FIELD))
                .and_then(Value::as_bool)
                .unwrap_or(false);
            if ticked {
                Approval::Approved
            } else {
                Approval::Declined
            }
        }
        ElicitationAction::Decline => Approval::Declined,
        // Cancel, or anything a later protocol adds: not a yes.
        _ => Approval::Cancelled,
    }
}

/// The question: who (number, profile name, whether they ever wrote) and what.
fn form(preview: &SendPreview) -> ElicitRequestParams {
    let name = preview
        .profile_name
        .as_deref()
        .map(|n| format!(" ({})", quoted_profile_name(n)))
        .unwrap_or_default();
    let history = if preview.stranger {
        "who has never written to this WhatsApp number"
    } else {
        "who has written to this number before"
    };
    let message = format!(
        "Send this WhatsApp {kind} to {to}{name}, {history}?\n\n{content}",
        kind = preview.kind,
        to = display_number(&preview.to),
        content = preview.content,
    );
    let schema = ElicitationSchema::builder()
        .required_bool_with(FIELD, |b| b.title("Send this message").with_default(true))
        .build_unchecked();
    ElicitRequestParams::FormElicitationParams {
        meta: None,
        message,
        requested_schema: schema,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binding_covers_every_argument_in_any_key_order() {
        let args = |v: Value| v.as_object().cloned();
        let a = binding(
            "send_message",
            args(serde_json::json!({"to": "1", "body": "hi"})).as_ref(),
        );
        let b = binding(
            "send_message",
            args(serde_json::json!({"body": "hi", "to": "1"})).as_ref(),
        );
        let c = binding(
            "send_message",
            args(serde_json::json!({"body": "hi!", "to": "1"})).as_ref(),
        );
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_ne!(
            a,
            binding(
                "send_template",
                args(serde_json::json!({"to": "1", "body": "hi"})).as_ref()
            )
        );
    }

    #[test]
    fn a_state_opens_once_and_only_for_its_call() {
        let confirmations = Confirmations::new();
        let sealed = confirmations.seal(b"call-a").expect("sealed");
        assert!(!confirmations.redeem(&sealed, b"call-b"), "another call");
        assert!(confirmations.redeem(&sealed, b"call-a"));
        assert!(!confirmations.redeem(&sealed, b"call-a"), "spent");
        assert!(
            !Confirmations::new().redeem(&sealed, b"call-a"),
            "another key"
        );
    }
}
