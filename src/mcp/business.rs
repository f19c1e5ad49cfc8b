//! `list_templates`, `block_contact` and `unblock_contact`: what the business account
//! has and whom it refuses.

use rmcp::RoleServer;
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::schemars::{self, JsonSchema};
use rmcp::service::RequestContext;
use rmcp::{tool, tool_router};
use serde::{Deserialize, Serialize};

use super::WhatsAppServer;
use crate::messaging::{TemplateInfo, TemplateQuery};

/// `list_templates` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListTemplatesParams {
    /// Only the template with this exact name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub name: Option<String>,
    /// Only this language code, e.g. "en_US".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub language: Option<String>,
    /// APPROVED (default), PENDING, REJECTED, PAUSED, DISABLED, or ALL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub status: Option<String>,
    /// 1 to 100 (default 20).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "u32", range(min = 1, max = 100))]
    pub limit: Option<u32>,
}

/// How many parameters each part of a template needs.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TemplateParametersView {
    /// Header parameters (a text placeholder, or 1 for an image/video/document header).
    pub header: usize,
    /// Body parameters ({{1}}, {{2}}, ... or named ones).
    pub body: usize,
    /// Button parameters (URL suffixes, copy codes).
    pub buttons: usize,
}

/// One template.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TemplateView {
    pub name: String,
    pub language: String,
    /// MARKETING, UTILITY or AUTHENTICATION.
    pub category: String,
    pub status: String,
    /// Header, body, footer and buttons, with their placeholders.
    pub text: String,
    pub parameters: TemplateParametersView,
}

/// `list_templates` result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListTemplatesResult {
    pub templates: Vec<TemplateView>,
}

impl From<TemplateInfo> for TemplateView {
    fn from(t: TemplateInfo) -> Self {
        TemplateView {
            name: t.name,
            language: t.language,
            category: t.category,
            status: t.status,
            text: t.text,
            parameters: TemplateParametersView {
                header: t.parameters.header,
                body: t.parameters.body,
                buttons: t.parameters.buttons,
            },
        }
    }
}

/// `block_contact` / `unblock_contact` arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct BlockParams {
    /// The contact: a phone number in any format or a BSUID.
    pub contact: String,
}

/// `block_contact` / `unblock_contact` result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct BlockResultView {
    pub success: bool,
    /// The contact as list_conversations names it.
    pub contact: String,
}

#[tool_router(router = business_router, vis = "pub(crate)")]
impl WhatsAppServer {
    /// List the business account's message templates (approved ones by default), each
    /// with its text and how many header, body and button parameters send_template needs
    /// for it. Kept for a few minutes, so call it freely. Needs WA_BUSINESS_ACCOUNT_ID.
    #[tool(
        name = "list_templates",
        annotations(
            title = "List WhatsApp message templates",
            read_only_hint = true,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn list_templates(
        &self,
        Parameters(p): Parameters<ListTemplatesParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<ListTemplatesResult>, String> {
        let query = TemplateQuery {
            name: p.name,
            language: p.language,
            status: p.status,
            limit: p.limit,
        };
        self.messaging_for(&ctx)
            .list_templates(query)
            .await
            .map(|list| {
                Json(ListTemplatesResult {
                    templates: list.into_iter().map(TemplateView::from).collect(),
                })
            })
            .map_err(|e| e.to_string())
    }

    /// Block a contact: they can no longer message this business number and every send
    /// to them is refused. Meta only blocks someone who wrote in the last 24 hours. Only
    /// do this when the owner asks for it.
    #[tool(
        name = "block_contact",
        annotations(
            title = "Block a WhatsApp contact",
            read_only_hint = false,
            destructive_hint = true,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn block_contact(
        &self,
        Parameters(p): Parameters<BlockParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<BlockResultView>, String> {
        self.messaging_for(&ctx)
            .block_contact(&p.contact)
            .await
            .map(|r| {
                Json(BlockResultView {
                    success: true,
                    contact: r.contact,
                })
            })
            .map_err(|e| e.to_string())
    }

    /// Unblock a contact blocked before, so they can write again and be written to.
    #[tool(
        name = "unblock_contact",
        annotations(
            title = "Unblock a WhatsApp contact",
            read_only_hint = false,
            destructive_hint = false,
            idempotent_hint = true,
            open_world_hint = true
        )
    )]
    async fn unblock_contact(
        &self,
        Parameters(p): Parameters<BlockParams>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<BlockResultView>, String> {
        self.messaging_for(&ctx)
            .unblock_contact(&p.contact)
            .await
            .map(|r| {
                Json(BlockResultView {
                    success: true,
                    contact: r.contact,
                })
            })
            .map_err(|e| e.to_string())
    }
}
