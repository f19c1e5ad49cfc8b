//! The one typed configuration: embedded defaults, overridden by environment
//! variables, overridden by flags (every variable of the contract has both).

use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;

use clap::Args;

/// The Graph API version used unless `WA_GRAPH_API_VERSION` says otherwise.
pub const DEFAULT_GRAPH_API_VERSION: &str = "v26.0";
/// Days delivery-log payloads are kept unless `WA_PAYLOAD_RETENTION_DAYS` says otherwise.
pub const DEFAULT_PAYLOAD_RETENTION_DAYS: u32 = 30;
/// Meta's Graph API host.
pub const DEFAULT_GRAPH_BASE_URL: &str = "https://graph.facebook.com";

/// A secret value: usable, but never printed by `Debug` or `Display`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A secret from a setting; an empty or blank setting counts as unset.
    pub fn from_setting(value: Option<String>) -> Option<Secret> {
        value.filter(|v| !v.trim().is_empty()).map(Secret)
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// The settings as clap reads them from flags and the environment. Secrets hide their
/// environment values from `--help`.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// The database file [default: $XDG_DATA_HOME/wa-mcp/wa-mcp.db]
    #[arg(long = "db", env = "WA_DB_PATH", global = true, value_name = "PATH")]
    pub db_path: Option<PathBuf>,
    /// Graph API bearer token
    #[arg(
        long,
        env = "WA_ACCESS_TOKEN",
        hide_env_values = true,
        global = true,
        value_name = "TOKEN"
    )]
    pub access_token: Option<String>,
    /// App secret that signs webhook deliveries (X-Hub-Signature-256)
    #[arg(
        long,
        env = "WA_APP_SECRET",
        hide_env_values = true,
        global = true,
        value_name = "SECRET"
    )]
    pub app_secret: Option<String>,
    /// Token Meta sends in the webhook verification handshake
    #[arg(
        long,
        env = "WA_WEBHOOK_VERIFY_TOKEN",
        hide_env_values = true,
        global = true,
        value_name = "TOKEN"
    )]
    pub webhook_verify_token: Option<String>,
    /// The business phone number id that sends by default
    #[arg(
        long,
        env = "WA_DEFAULT_PHONE_NUMBER_ID",
        global = true,
        value_name = "ID"
    )]
    pub default_phone_number_id: Option<String>,
    /// The WhatsApp Business Account id
    #[arg(long, env = "WA_BUSINESS_ACCOUNT_ID", global = true, value_name = "ID")]
    pub business_account_id: Option<String>,
    /// Comma-separated numbers or BSUIDs that may be written to, besides anyone who has
    /// written to us (unset: no limit; set but empty: only those who wrote to us)
    #[arg(
        long,
        env = "WA_ALLOWED_RECIPIENTS",
        global = true,
        value_name = "LIST"
    )]
    pub allowed_recipients: Option<String>,
    /// Comma-separated folders send_media may read local files from, besides the media folder
    #[arg(long, env = "WA_MEDIA_SEND_DIRS", global = true, value_name = "DIRS")]
    pub media_send_dirs: Option<String>,
    /// Graph API version
    #[arg(long, env = "WA_GRAPH_API_VERSION", global = true, default_value = DEFAULT_GRAPH_API_VERSION)]
    pub graph_api_version: String,
    /// Graph API base URL
    #[arg(long, env = "WA_GRAPH_BASE_URL", global = true, default_value = DEFAULT_GRAPH_BASE_URL)]
    pub graph_base_url: String,
    /// Address the webhook listener binds
    #[arg(long, env = "APP_BIND", global = true, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Port the webhook listener binds
    #[arg(long, env = "APP_HTTP_PORT", global = true, default_value_t = 3000)]
    pub port: u16,
    /// Days a delivery's payload stays in the delivery log (the row stays; payloads of
    /// failed deliveries are kept until reprocessed); 0 keeps them forever
    #[arg(
        long,
        env = "WA_PAYLOAD_RETENTION_DAYS",
        global = true,
        default_value_t = DEFAULT_PAYLOAD_RETENTION_DAYS,
        value_name = "DAYS",
        value_parser = clap::value_parser!(u32).range(0..=36_500)
    )]
    pub payload_retention_days: u32,
    /// The owner's own WhatsApp number(s), comma-separated: where permission prompts go
    #[arg(long, env = "WA_OWNER_NUMBERS", global = true, value_name = "LIST")]
    pub owner_numbers: Option<String>,
    /// Whose messages `mcp --channel` pushes: numbers/BSUIDs, or `*` [default: the owner numbers]
    #[arg(long, env = "WA_CHANNEL_SENDERS", global = true, value_name = "LIST")]
    pub channel_senders: Option<String>,
    /// Which sends need the user's yes when the client can ask its user
    #[arg(long, env = "WA_CONFIRM_SENDS", global = true, value_enum, default_value_t = ConfirmSends::Strangers)]
    pub confirm_sends: ConfirmSends,
    /// The public https base URL (the tunnel) remote MCP clients reach; remote MCP is
    /// off without it
    #[arg(long, env = "WA_PUBLIC_URL", global = true, value_name = "URL")]
    pub public_url: Option<String>,
}

/// `WA_CONFIRM_SENDS`: which sends wait for the user's yes when the client can ask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ConfirmSends {
    /// Sends to someone who has never written to this number.
    #[default]
    Strangers,
    /// Every send.
    Always,
    /// None.
    Never,
}

impl ConfirmSends {
    /// The setting as written in the environment.
    pub fn as_str(self) -> &'static str {
        match self {
            ConfirmSends::Strangers => "strangers",
            ConfirmSends::Always => "always",
            ConfirmSends::Never => "never",
        }
    }
}

/// The owner in the loop: who the owner is, whose messages a channel session hears, and
/// which sends wait for a yes. Entries are kept as written; `messaging` reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OwnerSettings {
    /// `WA_OWNER_NUMBERS` entries; empty when unset.
    pub owner_numbers: Vec<String>,
    /// `WA_CHANNEL_SENDERS` entries (`*` allowed); `None` when unset (the owner numbers).
    pub channel_senders: Option<Vec<String>>,
    pub confirm_sends: ConfirmSends,
}

/// The configuration every command runs with, passed explicitly.
#[derive(Debug, Clone)]
pub struct Config {
    pub db_path: PathBuf,
    pub access_token: Option<Secret>,
    pub app_secret: Option<Secret>,
    pub webhook_verify_token: Option<Secret>,
    pub default_phone_number_id: Option<String>,
    pub business_account_id: Option<String>,
    /// `None` (the variable unset) means no limit; `Some` of an empty list (set to an
    /// empty or blank value) means nobody is listed, so only people who wrote to us
    /// may be written to.
    pub allowed_recipients: Option<Vec<String>>,
    /// The folders `send_media` may read local files from besides the media folder
    /// beside the database; `None` (unset) means that folder alone.
    pub media_send_dirs: Option<Vec<PathBuf>>,
    pub graph_api_version: String,
    pub graph_base_url: String,
    pub bind: IpAddr,
    pub port: u16,
    /// Days delivery-log payloads are kept; 0 keeps them forever.
    pub payload_retention_days: u32,
    /// `WA_OWNER_NUMBERS`, `WA_CHANNEL_SENDERS`, `WA_CONFIRM_SENDS`.
    pub owner: OwnerSettings,
    /// `WA_PUBLIC_URL` as given (trimmed); see [`Config::public_url`].
    pub public_url_setting: Option<String>,
}

/// A comma-separated setting's non-empty entries, trimmed.
fn list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

impl Config {
    /// `WA_PUBLIC_URL` checked: `None` when unset, the reason when it is not a usable
    /// base URL (remote MCP then stays off).
    pub fn public_url(&self) -> Option<Result<PublicUrl, String>> {
        self.public_url_setting.as_deref().map(PublicUrl::parse)
    }

    /// Resolves defaults (the database path) and reads secrets into [`Secret`]s.
    pub fn from_args(args: ConfigArgs) -> Config {
        let non_empty =
            |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        Config {
            db_path: args.db_path.unwrap_or_else(default_db_path),
            access_token: Secret::from_setting(args.access_token),
            app_secret: Secret::from_setting(args.app_secret),
            webhook_verify_token: Secret::from_setting(args.webhook_verify_token),
            default_phone_number_id: non_empty(args.default_phone_number_id),
            business_account_id: non_empty(args.business_account_id),
            allowed_recipients: args.allowed_recipients.as_deref().map(recipient_list),
            media_send_dirs: non_empty(args.media_send_dirs).map(|list| {
                list.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(PathBuf::from)
                    .collect()
            }),
            graph_api_version: args.graph_api_version,
            graph_base_url: args.graph_base_url.trim_end_matches('/').to_owned(),
            bind: args.bind,
            port: args.port,
            payload_retention_days: args.payload_retention_days,
            owner: OwnerSettings {
                owner_numbers: args.owner_numbers.as_deref().map(list).unwrap_or_default(),
                channel_senders: non_empty(args.channel_senders).map(|l| list(&l)),
                confirm_sends: args.confirm_sends,
            },
            public_url_setting: non_empty(args.public_url),
        }
    }
}

/// The public base URL remote clients and Meta reach: `https://host[:port]`, or
/// `http://` for a loopback host only. It has no path, query, fragment or user info; a
/// trailing `/` is dropped, so [`PublicUrl::as_str`] is exactly the OAuth issuer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    base: String,
    https: bool,
    /// The host as written (IPv6 in brackets), lowercased.
    host: String,
    port: Option<u16>,
}

impl PublicUrl {
    /// Checks and normalises a setting; the error says what is wrong with it.
    pub fn parse(input: &str) -> Result<PublicUrl, String> {
        let input = input.trim().trim_end_matches('/');
        let (https, rest) = if let Some(rest) = strip_prefix_ci(input, "https://") {
            (true, rest)
        } else if let Some(rest) = strip_prefix_ci(input, "http://") {
            (false, rest)
        } else {
            return Err("WA_PUBLIC_URL must start with https://".into());
        };
        if rest.is_empty() || rest.contains(['/', '?', '#', '@', ' ']) {
            return Err(
                "WA_PUBLIC_URL must be a base URL such as https://example.trycloudflare.com, \
                 without a path, query or user name"
                    .into(),
            );
        }
        let (host, port) = split_authority(rest)
            .ok_or_else(|| format!("WA_PUBLIC_URL has no valid host and port: {rest}"))?;
        let host = host.to_ascii_lowercase();
        if !https && !is_loopback_host(&host) {
            return Err(
                "WA_PUBLIC_URL must use https (plain http is accepted only for localhost or 127.0.0.1)"
                    .into(),
            );
        }
        let scheme = if https { "https" } else { "http" };
        let base = match port {
            Some(p) => format!("{scheme}://{host}:{p}"),
            None => format!("{scheme}://{host}"),
        };
        Ok(PublicUrl {
            base,
            https,
            host,
            port,
        })
    }

    /// The URL itself, without a trailing slash: the OAuth issuer.
    pub fn as_str(&self) -> &str {
        &self.base
    }

    /// The absolute URL of `path` (which starts with `/`) under this base.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The host, lowercased (an IPv6 address keeps its brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// Whether a request's `Host` header names this URL's host and port (the scheme's
    /// default port may be written or left out).
    pub fn matches_host_header(&self, header: &str) -> bool {
        let Some((host, port)) = split_authority(header.trim()) else {
            return false;
        };
        let default = if self.https { 443 } else { 80 };
        host.eq_ignore_ascii_case(&self.host)
            && port.unwrap_or(default) == self.port.unwrap_or(default)
    }

    /// The web origin (`scheme://host[:port]`) of this URL, as a browser writes it in
    /// an `Origin` header.
    pub fn origin(&self) -> &str {
        &self.base
    }
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Splits `host[:port]` (IPv6 in brackets) and checks both parts' characters.
pub fn split_authority(authority: &str) -> Option<(&str, Option<u16>)> {
    let (host, port) = if authority.starts_with('[') {
        let end = authority.find(']')?;
        let (host, rest) = authority.split_at(end + 1);
        match rest.strip_prefix(':') {
            Some(p) => (host, Some(p)),
            None if rest.is_empty() => (host, None),
            None => return None,
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        Some(p) => Some(p.parse::<u16>().ok().filter(|p| *p != 0)?),
        None => None,
    };
    let host_ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '[' | ']' | ':'));
    host_ok.then_some((host, port))
}

/// Whether `host` (no port; IPv6 in brackets) is this machine: `localhost`, a name
/// under `.localhost`, 127.0.0.0/8 or `[::1]`.
pub fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The entries of a comma-separated list, trimmed, blanks dropped: an empty or blank
/// setting is an empty list, never "no list".
fn recipient_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// `$XDG_DATA_HOME/wa-mcp/wa-mcp.db`, else `~/.local/share/wa-mcp/wa-mcp.db`, else
/// `./wa-mcp.db` when there is no home directory at all.
pub fn default_db_path() -> PathBuf {
    let from_env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let data =
        from_env("XDG_DATA_HOME").or_else(|| from_env("HOME").map(|h| h.join(".local/share")));
    match data {
        Some(dir) => dir.join("wa-mcp").join("wa-mcp.db"),
        None => PathBuf::from("wa-mcp.db"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let s = Secret::from_setting(Some("EAAGm0PX4ZCpsBA".into())).expect("set");
        assert_eq!(format!("{s:?} {s}"), "<redacted> <redacted>");
        assert_eq!(s.expose(), "EAAGm0PX4ZCpsBA");
    }

    #[test]
    fn public_urls_are_https_or_loopback_http_without_a_path() {
        let url = PublicUrl::parse("HTTPS://Wa.Example.com/").expect("valid");
        assert_eq!(url.as_str(), "https://wa.example.com");
        assert_eq!(url.join("/mcp"), "https://wa.example.com/mcp");
        assert!(url.matches_host_header("wa.example.com:443"));
        assert!(url.matches_host_header("WA.example.com"));
        assert!(!url.matches_host_header("wa.example.com:8443"));
        assert!(!url.matches_host_header("evil.example"));
        let local = PublicUrl::parse("http://127.0.0.1:3000").expect("loopback http");
        assert!(local.matches_host_header("127.0.0.1:3000"));
        assert!(PublicUrl::parse("http://[::1]:8080").is_ok());
        for bad in [
            "http://wa.example.com",
            "ftp://x",
            "https://",
            "https://x/path",
            "https://u@x",
            "https://x:99999",
            "https://x?q",
            "wa.example.com",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn loopback_hosts() {
        for h in [
            "localhost",
            "127.0.0.1",
            "127.1.2.3",
            "[::1]",
            "app.localhost",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in ["example.com", "10.0.0.1", "[::2]", "localhost.example"] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }

    #[test]
    fn an_empty_recipient_list_is_a_list_of_nobody() {
        assert_eq!(recipient_list(""), Vec::<String>::new());
        assert_eq!(recipient_list(" , "), Vec::<String>::new());
        assert_eq!(recipient_list(" 4477, US.1 ,"), vec!["4477", "US.1"]);
    }

    #[test]
    fn blank_secrets_are_unset() {
        assert_eq!(Secret::from_setting(Some("  ".into())), None);
        assert_eq!(Secret::from_setting(None), None);
    }
}
