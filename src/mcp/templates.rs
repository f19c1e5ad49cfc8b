//! `send_template`: an approved template message, the way to reach someone whose
//! 24-hour window is closed.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::schemars::{self, JsonSchema};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{SendMessageResult, WhatsAppServer};
use crate::messaging::SendTemplateInput;

/// `send_template` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendTemplateParams {
    /// The recipient: a phone number with country code in any format or a BSUID.
    pub to: String,
    /// The template's name exactly as approved in WhatsApp Manager, e.g. "order_update".
    pub name: String,
    /// The template's language code as approved, e.g. "en_US" (underscore, not hyphen).
    pub language: String,
    /// The Cloud API components filling the template's parameters, e.g.
    /// [{"type": "body", "parameters": [{"type": "text", "text": "Ada"}]}]. Omit for a
    /// template without parameters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<Map<String, Value>>")]
    pub components: Option<Value>,
    /// The business phone number id to send from (default: WA_DEFAULT_PHONE_NUMBER_ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub phone_number_id: Option<String>,
    /// Any unique string. Calling again with the same key returns the first call's
    /// result and sends nothing. A key already used for a different message is refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub idempotency_key: Option<String>,
}

#[tool_router(router = templates_router, vis = "pub(crate)")]
impl WhatsAppServer {
    /// Send an approved WhatsApp template message. This is the only way to reach someone
    /// whose 24-hour window is closed (they have not written for a day). Returns the
    /// stored message's id, wamid and status; a template Meta refuses (unknown name,
    /// wrong language, parameters that do not fit) comes back as an error saying which.
    /// When this client can ask its user, a send to someone who never wrote first waits
    /// for the user's yes (WA_CONFIRM_SENDS); otherwise the usual rules apply.
    #[tool(
        name = "send_template",
        annotations(
            title = "Send a WhatsApp template message",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn send_template(
        &self,
        Parameters(p): Parameters<SendTemplateParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<SendMessageResult>, String> {
        let input = SendTemplateInput {
            to: p.to,
            name: p.name,
            language: p.language,
            components: p.components,
            phone_number_id: p.phone_number_id,
            idempotency_key: p.idempotency_key,
        };
        self.messaging_for(&ctx)
            .send_template(input)
            .await
            .map(|r| Json(r.into()))
            .map_err(|e| e.to_string())
    }
}
