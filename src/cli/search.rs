//! `wa-mcp search`: what the MCP tool `search_messages` finds, for shells and scripts.

use std::process::ExitCode;

use clap::Args;

use super::CliError;
use crate::config::Config;
use crate::messaging::{Messaging, SearchInput};
use crate::store::Store;
use crate::terminal::{for_terminal, json_for_terminal};

#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words (all must match, any order), "quoted phrases" (quote them for the shell too),
    /// prefix*, OR
    #[arg(required = true, num_args = 1..)]
    pub query: Vec<String>,
    /// Only the conversation with this phone number or BSUID
    #[arg(long)]
    pub contact: Option<String>,
    /// inbound, outbound or all
    #[arg(long, default_value = "all")]
    pub direction: String,
    /// Only messages stored at or after this ISO-8601 timestamp
    #[arg(long)]
    pub since: Option<String>,
    /// Only messages stored before this ISO-8601 timestamp
    #[arg(long)]
    pub until: Option<String>,
    /// Results at most (1 to 50)
    #[arg(long, default_value_t = 20)]
    pub limit: u32,
    /// One JSON object per line (the tool's rows) instead of columns
    #[arg(long)]
    pub json: bool,
}

pub fn search(config: &Config, args: &SearchArgs) -> Result<ExitCode, CliError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let store = Store::open(&config.db_path)?;
        let messaging = Messaging::new(store, super::meta_client(config), config);
        let input = SearchInput {
            query: args.query.join(" "),
            contact: args.contact.clone(),
            direction: Some(args.direction.clone()),
            since: args.since.clone(),
            until: args.until.clone(),
            limit: Some(args.limit),
        };
        let results = match messaging.search_messages(input).await {
            Ok(results) => results,
            Err(e) => {
                eprintln!("search failed: {e}");
                return Ok(ExitCode::FAILURE);
            }
        };
        if !results.index.complete {
            eprintln!(
                "note: the search index is still being built ({}% of older messages indexed); \
                 older messages may be missing",
                results.index.percent()
            );
        }
        let view = crate::mcp::SearchMessagesResult::from(results);
        for hit in &view.messages {
            if args.json {
                let line = serde_json::to_string(hit).unwrap_or_default();
                println!("{}", json_for_terminal(&line));
            } else {
                let m = &hit.message;
                println!(
                    "{}  {:<8}  {:<24}  {:<11}  {}",
                    m.created_at,
                    m.direction,
                    for_terminal(m.contact.as_deref().unwrap_or("-")),
                    for_terminal(&m.kind),
                    for_terminal(&hit.snippet)
                );
            }
        }
        Ok(ExitCode::SUCCESS)
    })
}
