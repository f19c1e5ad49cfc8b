//! `wa-mcp send` and `wa-mcp messages`: the MCP tools' twins for shells and scripts.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::CliError;
use crate::config::Config;
use crate::messaging::{MessageQuery, Messaging, SendMessageInput};
use crate::model::MessageRow;
use crate::store::Store;
use crate::terminal::{for_terminal, json_for_terminal};

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Recipient: a phone number in any format, or a BSUID
    #[arg(long)]
    pub to: String,
    /// The text
    #[arg(long)]
    pub body: String,
    /// The wamid this message replies to
    #[arg(long)]
    pub reply_to: Option<String>,
    /// Show a preview of the first URL
    #[arg(long)]
    pub preview_url: bool,
    /// A repeated send with the same key sends nothing and prints the first result
    #[arg(long)]
    pub idempotency_key: Option<String>,
    /// Send from this business phone number id instead of the default
    #[arg(long)]
    pub from_phone_number_id: Option<String>,
}

#[derive(Debug, Args)]
pub struct MessagesArgs {
    /// Only messages stored after this ISO-8601 timestamp
    #[arg(long)]
    pub since: Option<String>,
    /// Only the conversation with this phone number or BSUID
    #[arg(long)]
    pub contact: Option<String>,
    /// inbound, outbound or all
    #[arg(long, default_value = "all")]
    pub direction: String,
    /// Messages per page
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Keep printing new messages as they arrive
    #[arg(long)]
    pub follow: bool,
    /// One JSON object per line instead of columns
    #[arg(long)]
    pub json: bool,
}

fn messaging(config: &Config) -> Result<Messaging, CliError> {
    let store = Store::open(&config.db_path)?;
    Ok(Messaging::new(store, super::meta_client(config), config))
}

pub fn send(config: &Config, args: &SendArgs) -> Result<ExitCode, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let messaging = messaging(config)?;
        let input = SendMessageInput {
            to: args.to.clone(),
            body: args.body.clone(),
            phone_number_id: args.from_phone_number_id.clone(),
            reply_to: args.reply_to.clone(),
            preview_url: args.preview_url,
            idempotency_key: args.idempotency_key.clone(),
        };
        match messaging.send_message(input).await {
            Ok(sent) => {
                let out = serde_json::json!({
                    "id": sent.id, "wamid": sent.wamid, "status": sent.status, "createdAt": sent.created_at,
                });
                println!("{}", json_for_terminal(&out.to_string()));
                Ok(ExitCode::SUCCESS)
            }
            Err(e) => {
                eprintln!("not sent: {}", for_terminal(&e.to_string()));
                Ok(ExitCode::FAILURE)
            }
        }
    })
}

pub fn messages(config: &Config, args: &MessagesArgs) -> Result<ExitCode, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let messaging = messaging(config)?;
        // Subscribed before the first page, so a commit between a page and the wait
        // below is never missed: it marks the signal changed and the wait returns at once.
        let mut commits = messaging.store().subscribe_commits();
        let mut since = args.since.clone();
        let mut since_id = None;
        loop {
            let query = MessageQuery {
                since: since.clone(),
                since_id: since_id.clone(),
                limit: Some(args.limit),
                direction: Some(args.direction.clone()),
                contact: args.contact.clone(),
            };
            let page = messaging
                .get_messages(query)
                .await
                .map_err(|e| CliError::Usage(e.to_string()))?;
            for m in &page.messages {
                print_message(m, args.json);
            }
            (since, since_id) = (page.next.since, page.next.since_id);
            if !page.has_more {
                if !args.follow {
                    return Ok(ExitCode::SUCCESS);
                }
                // Woken by any commit to the file, this process's or another's (a
                // `serve` daemon); the timeout only bounds a missed signal.
                let woke = tokio::time::timeout(Duration::from_secs(5), commits.changed()).await;
                if matches!(woke, Ok(Err(_))) {
                    // The signal is gone (the store is closing): poll instead of spinning.
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        }
    })
}

/// One message as a line: a JSON object with `--json`, else a table row. Every field a
/// sender could choose is escaped for the terminal first.
fn print_message(m: &MessageRow, json: bool) {
    if json {
        let v = serde_json::to_value(crate::mcp::MessageView::from(m.clone())).unwrap_or_default();
        println!("{}", json_for_terminal(&v.to_string()));
        return;
    }
    println!(
        "{}  {:<8}  {:<24}  {:<11}  {:<9}  {}",
        m.created_at,
        m.direction,
        for_terminal(m.contact.as_deref().unwrap_or("-")),
        for_terminal(&m.kind),
        m.status,
        for_terminal(m.body.as_deref().unwrap_or(""))
    );
}
