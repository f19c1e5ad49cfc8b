//! `wa-mcp auth passphrase | clients | revoke CLIENT_ID`: the owner's side of remote
//! MCP. The passphrase is read from the terminal without echo (asked twice), or as the
//! first line of stdin when that is not a terminal; it is stored only as an argon2id
//! hash, and setting it ends any throttle of wrong passphrases.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use clap::Subcommand;

use super::CliError;
use crate::config::Config;
use crate::messaging::oauth::{self, clients};
use crate::store::Store;
use crate::terminal::for_terminal;

#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Set or change the owner passphrase that approves remote clients (at least 12
    /// characters; read from the terminal, or stdin when it is not a terminal)
    Passphrase,
    /// List the remote clients: name, redirect host, approval and last use
    Clients,
    /// Revoke a remote client and all its tokens (effective on its next request)
    Revoke {
        /// The client id `wa-mcp auth clients` shows
        client_id: String,
    },
}

pub fn auth(config: &Config, command: &AuthCommand) -> Result<ExitCode, CliError> {
    let store = Store::open(&config.db_path)?;
    match command {
        AuthCommand::Passphrase => passphrase(config, &store),
        AuthCommand::Clients => list(&store),
        AuthCommand::Revoke { client_id } => revoke(&store, client_id),
    }
}

fn passphrase(config: &Config, store: &Store) -> Result<ExitCode, CliError> {
    let passphrase = if std::io::stdin().is_terminal() {
        let first = prompt_hidden("New owner passphrase (12 characters or more): ")?;
        let again = prompt_hidden("The same again: ")?;
        if first != again {
            return Err(CliError::Usage(
                "the two passphrases differ; nothing changed".into(),
            ));
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime
        .block_on(oauth::set_passphrase(store, passphrase))
        .map_err(|e| CliError::Usage(e.to_string()))?;
    println!("owner passphrase set; any throttle of wrong passphrases is cleared");
    match config.public_url() {
        Some(Ok(url)) => println!("remote MCP: {}", url.join("/mcp")),
        Some(Err(why)) => println!("remote MCP stays off: {why}"),
        None => println!("remote MCP stays off until WA_PUBLIC_URL is set"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads one line from the terminal with echo off (`stty`), restoring it afterwards.
fn prompt_hidden(prompt: &str) -> Result<String, CliError> {
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    let stty = |arg: &str| {
        std::process::Command::new("stty")
            .arg(arg)
            .stdin(std::process::Stdio::inherit())
            .status()
            .is_ok_and(|s| s.success())
    };
    let hidden = stty("-echo");
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    if hidden {
        stty("echo");
    }
    eprintln!();
    read?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

fn list(store: &Store) -> Result<ExitCode, CliError> {
    let owner = oauth::owner_status(store)?;
    if !owner.passphrase_set {
        println!("no owner passphrase is set: remote MCP is off (wa-mcp auth passphrase)");
    } else if let Some(until) = &owner.throttled_until {
        println!(
            "consent is throttled after {} wrong passphrase(s) until {until} (wa-mcp auth passphrase ends it)",
            owner.failed_attempts
        );
    }
    let rows = clients::list_clients(store)?;
    if rows.is_empty() {
        println!("no remote clients registered");
    }
    for c in rows {
        let state = match (&c.revoked_at, &c.approved_at) {
            (Some(at), _) => format!("revoked {at}"),
            (None, Some(at)) => format!("approved {at}"),
            (None, None) => "registered, never approved".to_owned(),
        };
        let host = c
            .redirect_uris
            .first()
            .map(|u| clients::redirect_host(u))
            .unwrap_or_default();
        println!(
            "{}  {}  redirect {}  {}  last use {}",
            c.client_id,
            for_terminal(&c.client_name),
            for_terminal(&host),
            state,
            c.last_used_at.as_deref().unwrap_or("never")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn revoke(store: &Store, client_id: &str) -> Result<ExitCode, CliError> {
    if clients::revoke_client(store, client_id)? {
        let client_id = for_terminal(client_id);
        println!("revoked {client_id}: its tokens are gone and its next request is refused");
        Ok(ExitCode::SUCCESS)
    } else {
        let client_id = for_terminal(client_id);
        eprintln!("no remote client has id {client_id} (see wa-mcp auth clients)");
        Ok(ExitCode::FAILURE)
    }
}
