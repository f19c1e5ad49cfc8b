//! Remote MCP on the listener: the authorization server and the `/mcp` transport, built
//! when `WA_PUBLIC_URL` is set and valid (the routes still answer 404 until an owner
//! passphrase exists).

use std::sync::Arc;

use crate::config::Config;
use crate::http::{McpEndpoint, Remote};
use crate::mcp::{HttpTransport, WhatsAppServer};
use crate::messaging::Messaging;
use crate::messaging::oauth::Authority;

/// The remote state for the listener, or `None` (with a log line saying why).
pub fn remote(config: &Config, messaging: &Messaging) -> Option<Remote> {
    let public = match config.public_url()? {
        Ok(url) => url,
        Err(why) => {
            tracing::warn!(reason = %why, "WA_PUBLIC_URL is not usable; remote MCP is off");
            return None;
        }
    };
    let authority = Authority::new(messaging.store().clone(), public.clone());
    let transport = Arc::new(HttpTransport::new(
        WhatsAppServer::new(messaging.clone()),
        &public,
        authority.clone(),
    ));
    let mcp: McpEndpoint = Arc::new(move |req| {
        let transport = Arc::clone(&transport);
        Box::pin(async move { transport.handle(req).await })
    });
    match crate::messaging::oauth::owner_status(messaging.store()) {
        Ok(s) if s.passphrase_set => {
            tracing::info!(url = %public.join("/mcp"), "remote MCP is on");
        }
        Ok(_) => tracing::warn!(
            "WA_PUBLIC_URL is set but no owner passphrase exists: remote MCP stays off until `wa-mcp auth passphrase`"
        ),
        Err(e) => tracing::warn!(error = %e, "cannot read the remote MCP state"),
    }
    Some(Remote { authority, mcp })
}
