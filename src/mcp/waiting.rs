//! The `wait_for_messages` tool: blocks until a WhatsApp user writes (or the timeout),
//! so a model waiting for a reply makes one call instead of polling `get_messages`.

use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::schemars::{self, JsonSchema};
use rmcp::service::RequestContext;
use rmcp::{RoleServer, tool, tool_router};
use serde::Deserialize;

use super::{GetMessagesResult, WhatsAppServer};
use crate::messaging::WaitQuery;

/// `wait_for_messages` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WaitForMessagesParams {
    /// Only messages after this ISO-8601 timestamp: pass the previous result's
    /// `next.since`. Omit to wait for messages that arrive after this call begins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub since: Option<String>,
    /// With `since`: the previous result's `next.sinceId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub since_id: Option<String>,
    /// Only messages from this phone number (any format) or BSUID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub contact: Option<String>,
    /// How long to wait, 1 to 60 seconds (default 30).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u32", range(min = 1, max = 60))]
    pub timeout_seconds: Option<u32>,
}

#[tool_router(router = waiting_router, vis = "pub(crate)")]
impl WhatsAppServer {
    /// Wait for WhatsApp messages you receive. Returns as soon as at least one inbound
    /// message exists after the cursor (the same result as get_messages), or after
    /// `timeoutSeconds` with no messages and `next` unchanged. Without `since` it waits
    /// for messages that arrive after the call begins. To keep listening, call again
    /// with the returned `next.since` and `next.sinceId`. Use this instead of polling
    /// get_messages.
    #[tool(
        name = "wait_for_messages",
        annotations(
            title = "Wait for WhatsApp messages",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = false
        )
    )]
    async fn wait_for_messages(
        &self,
        Parameters(p): Parameters<WaitForMessagesParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<Json<GetMessagesResult>, String> {
        let query = WaitQuery {
            since: p.since,
            since_id: p.since_id,
            contact: p.contact,
            timeout_seconds: p.timeout_seconds,
        };
        // Cancelled by the client, or the client closed its input and is leaving.
        let (ct, ended) = (context.ct.clone(), self.session.ended());
        let cancelled = async move {
            tokio::select! {
                () = ct.cancelled() => {}
                () = ended => {}
            }
        };
        let page = self
            .messaging
            .wait_for_messages(query, cancelled)
            .await
            .map_err(|e| e.to_string())?;
        // The same shape as get_messages, reactions on each message included.
        self.page_result(page).await
    }
}
