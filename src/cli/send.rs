//! `wa-mcp send` and `wa-mcp messages`: the MCP tools' twins for shells and scripts.

use std::process::ExitCode;
use std::time::Duration;

use clap::Args;

use super::CliError;
use crate::config::Config;
use crate::messaging::{
    Button, MessageQuery, Messaging, SendInteractiveInput, SendLocationInput, SendMediaInput,
    SendMessageInput, SendResult,
};
use crate::model::MessageRow;
use crate::store::Store;
use crate::terminal::{for_terminal, json_for_terminal};

#[derive(Debug, Args)]
pub struct SendArgs {
    /// Recipient: a phone number in any format, or a BSUID
    #[arg(long)]
    pub to: String,
    /// The text (with --buttons: the message above the buttons; with --media: use --caption)
    #[arg(long, required_unless_present_any = ["media", "location"])]
    pub body: Option<String>,
    /// Send a file instead: a local path (any file you can read) or an https URL
    #[arg(long, value_name = "PATH|URL", conflicts_with_all = ["location", "buttons"])]
    pub media: Option<String>,
    /// With --media: image, document, audio, video or sticker (read from the file when omitted)
    #[arg(long = "type", value_name = "TYPE", requires = "media")]
    pub media_type: Option<String>,
    /// With --media: the caption of an image, video or document
    #[arg(long, requires = "media")]
    pub caption: Option<String>,
    /// With --media: a document's file name as the recipient sees it
    #[arg(long, requires = "media")]
    pub filename: Option<String>,
    /// With --media: send an OGG/Opus file as a voice note
    #[arg(long, requires = "media")]
    pub voice: bool,
    /// Send a location pin instead: latitude and longitude in degrees
    #[arg(
        long,
        value_name = "LAT,LON",
        allow_hyphen_values = true,
        conflicts_with = "buttons"
    )]
    pub location: Option<String>,
    /// With --location: the place's name
    #[arg(long, requires = "location")]
    pub name: Option<String>,
    /// With --location: the place's address
    #[arg(long, requires = "location")]
    pub address: Option<String>,
    /// Reply buttons under --body: up to 3, comma-separated, each `id=Title` or `Title`
    #[arg(long, value_name = "BUTTONS", requires = "body")]
    pub buttons: Option<String>,
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
        let sent = match send_kind(&messaging, args).await {
            Ok(sent) => sent,
            Err(e) => {
                eprintln!("not sent: {}", for_terminal(&e));
                return Ok(ExitCode::FAILURE);
            }
        };
        println!("{}", json_for_terminal(&sent.to_string()));
        Ok(ExitCode::SUCCESS)
    })
}

/// Sends what the flags ask for through the same messaging calls as the MCP tools, and
/// returns the result as the tools print it.
async fn send_kind(messaging: &Messaging, args: &SendArgs) -> Result<serde_json::Value, String> {
    let result = |r: SendResult| {
        serde_json::json!({
            "id": r.id, "wamid": r.wamid, "status": r.status, "createdAt": r.created_at,
        })
    };
    let key = args.idempotency_key.clone();
    if let Some(media) = &args.media {
        let is_url = media
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
            || media.starts_with("http://");
        let input = SendMediaInput {
            to: args.to.clone(),
            path: (!is_url).then(|| media.clone()),
            url: is_url.then(|| media.clone()),
            kind: args.media_type.clone(),
            caption: args.caption.clone(),
            filename: args.filename.clone(),
            voice: args.voice,
            reply_to: args.reply_to.clone(),
            phone_number_id: args.from_phone_number_id.clone(),
            idempotency_key: key,
        };
        let sent = messaging
            .send_media_as_owner(input)
            .await
            .map_err(|e| e.to_string())?;
        let mut out = result(sent.sent);
        out["mediaId"] = sent.media_id.into();
        if let Some(note) = sent.note {
            out["note"] = note.into();
        }
        return Ok(out);
    }
    if let Some(location) = &args.location {
        let (latitude, longitude) = parse_lat_lon(location)?;
        let input = SendLocationInput {
            to: args.to.clone(),
            latitude,
            longitude,
            name: args.name.clone(),
            address: args.address.clone(),
            reply_to: args.reply_to.clone(),
            phone_number_id: args.from_phone_number_id.clone(),
            idempotency_key: key,
        };
        return messaging
            .send_location(input)
            .await
            .map(result)
            .map_err(|e| e.to_string());
    }
    let body = args.body.clone().unwrap_or_default();
    if let Some(buttons) = &args.buttons {
        let input = SendInteractiveInput {
            to: args.to.clone(),
            body,
            buttons: Some(parse_buttons(buttons)),
            reply_to: args.reply_to.clone(),
            phone_number_id: args.from_phone_number_id.clone(),
            idempotency_key: key,
            ..SendInteractiveInput::default()
        };
        return messaging
            .send_interactive(input)
            .await
            .map(result)
            .map_err(|e| e.to_string());
    }
    let input = SendMessageInput {
        to: args.to.clone(),
        body,
        phone_number_id: args.from_phone_number_id.clone(),
        reply_to: args.reply_to.clone(),
        preview_url: args.preview_url,
        idempotency_key: key,
    };
    messaging
        .send_message(input)
        .await
        .map(result)
        .map_err(|e| e.to_string())
}

/// `LAT,LON` in degrees.
fn parse_lat_lon(s: &str) -> Result<(f64, f64), String> {
    let parsed = s
        .split_once(',')
        .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)));
    parsed.ok_or_else(|| {
        format!("--location must be LAT,LON in degrees, e.g. 51.5072,-0.1276; got {s:?}")
    })
}

/// `id=Title,Title2`: a button without `=` uses its title as its id.
fn parse_buttons(s: &str) -> Vec<Button> {
    s.split(',')
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(|b| match b.split_once('=') {
            Some((id, title)) => Button {
                id: id.trim().to_owned(),
                title: title.trim().to_owned(),
            },
            None => Button {
                id: b.to_owned(),
                title: b.to_owned(),
            },
        })
        .collect()
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
