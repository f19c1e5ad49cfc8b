//! `send_reaction`: put an emoji on a message of a conversation, or take it away.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::schemars::{self, JsonSchema};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use serde::{Deserialize, Serialize};

use super::WhatsAppServer;
use crate::messaging::SendReactionInput;

/// `send_reaction` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SendReactionParams {
    /// Our id or the wamid of the message to react to (from get_messages).
    pub message_id: String,
    /// One emoji, e.g. "👍". An empty string removes your reaction.
    pub emoji: String,
}

/// `send_reaction` result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct SendReactionResult {
    /// Our id of the outbound reaction.
    pub id: String,
    /// Meta's message id (wamid).
    pub wamid: Option<String>,
    /// `sent`, later `delivered`, `read`...
    pub status: String,
}

#[tool_router(router = reactions_router, vis = "pub(crate)")]
impl WhatsAppServer {
    /// React to a WhatsApp message with an emoji, or remove your reaction with an empty
    /// emoji. The reaction goes to the person the message was exchanged with.
    #[tool(
        name = "send_reaction",
        annotations(
            title = "React to a WhatsApp message",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = false,
            open_world_hint = true
        )
    )]
    async fn send_reaction(
        &self,
        Parameters(p): Parameters<SendReactionParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<SendReactionResult>, String> {
        let input = SendReactionInput {
            message_id: p.message_id,
            emoji: p.emoji,
        };
        self.messaging_for(&ctx)
            .send_reaction(input)
            .await
            .map(|r| {
                Json(SendReactionResult {
                    id: r.id,
                    wamid: r.wamid,
                    status: r.status,
                })
            })
            .map_err(|e| e.to_string())
    }
}
