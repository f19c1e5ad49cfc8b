//! `wa-mcp simulate inbound`: what Meta would POST when someone writes to the business,
//! signed with the configured app secret, sent to a running server.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use serde_json::{Value, json};
use uuid::Uuid;

use super::CliError;
use crate::config::Config;
use crate::phone::to_meta_format;
use crate::webhook::signature::signature_header;

#[derive(Debug, Args)]
pub struct SimulateInboundArgs {
    /// The sender's phone number, any format (e.g. "+44 7700 900123")
    #[arg(long)]
    pub from: String,
    /// The message text
    #[arg(long)]
    pub text: String,
    /// The sender's profile name
    #[arg(long, default_value = "Test User")]
    pub name: String,
    /// Where to POST [default: http://<APP_BIND>:<APP_HTTP_PORT>/webhook/meta]
    #[arg(long)]
    pub url: Option<String>,
}

/// A text-message delivery shaped exactly as the Cloud API sends one, with a fresh wamid.
pub fn simulated_text_delivery(
    from: &str,
    name: &str,
    text: &str,
    phone_number_id: &str,
    account_id: &str,
    unix_secs: i64,
) -> Value {
    let wamid = format!(
        "wamid.HBgM{}",
        Uuid::new_v4().simple().to_string().to_uppercase()
    );
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": account_id,
            "changes": [{
                "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {
                        "display_phone_number": "15550000000",
                        "phone_number_id": phone_number_id
                    },
                    "contacts": [{ "profile": { "name": name }, "wa_id": from }],
                    "messages": [{
                        "from": from,
                        "id": wamid,
                        "timestamp": unix_secs.to_string(),
                        "type": "text",
                        "text": { "body": text }
                    }]
                },
                "field": "messages"
            }]
        }]
    })
}

pub fn inbound(config: &Config, args: &SimulateInboundArgs) -> Result<ExitCode, CliError> {
    let secret = config.app_secret.as_ref().ok_or_else(|| {
        CliError::Usage("WA_APP_SECRET is not set: the simulated delivery must be signed with the same app secret the server uses".into())
    })?;
    let from = to_meta_format(&args.from).map_err(|e| CliError::Usage(format!("--from: {e}")))?;
    let url = args.url.clone().unwrap_or_else(|| default_url(config));
    let delivery = simulated_text_delivery(
        &from,
        &args.name,
        &args.text,
        config
            .default_phone_number_id
            .as_deref()
            .unwrap_or("100000000000001"),
        config
            .business_account_id
            .as_deref()
            .unwrap_or("100000000000002"),
        crate::timefmt::now_micros() / 1_000_000,
    );
    let body = delivery.to_string();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(30)))
        .http_status_as_error(false)
        .build()
        .into();
    let response = agent
        .post(&url)
        .header("content-type", "application/json")
        .header(
            "x-hub-signature-256",
            &signature_header(secret.expose().as_bytes(), body.as_bytes()),
        )
        .send(body.as_bytes())
        .map_err(|e| {
            CliError::Usage(format!(
                "could not reach {url}: {e} (is `wa-mcp serve` running?)"
            ))
        })?;
    let status = response.status().as_u16();
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    if status == 200 {
        println!(
            "delivered: {url} answered 200 (request id {request_id}); a text from {from} is stored"
        );
        Ok(ExitCode::SUCCESS)
    } else {
        let hint = if status == 404 {
            " (the server refused the signature: does it use the same WA_APP_SECRET?)"
        } else {
            ""
        };
        eprintln!("not delivered: {url} answered {status}{hint} (request id {request_id})");
        Ok(ExitCode::FAILURE)
    }
}

fn default_url(config: &Config) -> String {
    let host = if config.bind.is_unspecified() {
        "127.0.0.1".to_owned()
    } else if config.bind.is_ipv6() {
        format!("[{}]", config.bind)
    } else {
        config.bind.to_string()
    };
    format!("http://{host}:{}/webhook/meta", config.port)
}
