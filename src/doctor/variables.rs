//! The configuration checks: each variable of the contract, set or not, and the
//! effective value of those that are not secret. Secrets are reported as set or unset
//! and nothing else: not their length, not a prefix.

use std::net::IpAddr;

use super::Check;
use crate::config::{Config, DEFAULT_GRAPH_API_VERSION, DEFAULT_GRAPH_BASE_URL, Secret};

/// One check per variable, in the contract's order.
pub fn variable_checks(config: &Config) -> Vec<Check> {
    vec![
        secret_check(
            "WA_ACCESS_TOKEN",
            config.access_token.as_ref(),
            "nothing can be sent (send_message, mark_read and `doctor --online` are refused)",
            "create a permanent token in Meta Business Settings > Users > System users > \
             Generate new token (permissions whatsapp_business_messaging and \
             whatsapp_business_management), or copy the temporary one from the app \
             dashboard's WhatsApp > API Setup, and set WA_ACCESS_TOKEN",
        ),
        secret_check(
            "WA_APP_SECRET",
            config.app_secret.as_ref(),
            "every webhook POST is refused with 404, so no replies or delivery statuses \
             arrive",
            "copy the App secret from the app dashboard's App settings > Basic (Show) and set \
             WA_APP_SECRET",
        ),
        secret_check(
            "WA_WEBHOOK_VERIFY_TOKEN",
            config.webhook_verify_token.as_ref(),
            "Meta's verification handshake is refused with 404, so the callback URL cannot be \
             saved in the app dashboard",
            "choose a long random string, set it as WA_WEBHOOK_VERIFY_TOKEN and enter the same \
             string as Verify token in the app dashboard's WhatsApp > Configuration > Webhook",
        ),
        phone_number_id_check(config.default_phone_number_id.as_deref()),
        business_account_check(config.business_account_id.as_deref()),
        allowed_recipients_check(config.allowed_recipients.as_deref()),
        api_version_check(&config.graph_api_version),
        base_url_check(&config.graph_base_url),
        bind_check(config.bind),
        Check::pass("APP_HTTP_PORT", config.port.to_string()),
        Check::pass("WA_DB_PATH", config.db_path.display().to_string()),
    ]
}

fn secret_check(name: &str, value: Option<&Secret>, breaks: &str, remedy: &str) -> Check {
    match value {
        Some(_) => Check::pass(name, "set"),
        None => Check::fail(name, format!("unset: {breaks}"), remedy),
    }
}

fn phone_number_id_check(id: Option<&str>) -> Check {
    const NAME: &str = "WA_DEFAULT_PHONE_NUMBER_ID";
    const WHERE: &str = "copy the Phone number ID (not the phone number) from the app \
                         dashboard's WhatsApp > API Setup and set WA_DEFAULT_PHONE_NUMBER_ID";
    match id {
        None => Check::fail(
            NAME,
            "unset: send_message has no business number to send from",
            WHERE,
        ),
        Some(id) if id.bytes().all(|b| b.is_ascii_digit()) => Check::pass(NAME, id),
        Some(id) => Check::fail(
            NAME,
            format!("{id:?} is not a phone number id (Meta's ids are only digits)"),
            WHERE,
        ),
    }
}

fn business_account_check(id: Option<&str>) -> Check {
    const NAME: &str = "WA_BUSINESS_ACCOUNT_ID";
    const WHERE: &str = "copy the WhatsApp Business Account ID from the app dashboard's \
                         WhatsApp > API Setup and set WA_BUSINESS_ACCOUNT_ID";
    match id {
        None => Check::warn(
            NAME,
            "unset (optional): `doctor --online` cannot check that Meta sends this account's \
             webhooks to your app",
            WHERE,
        ),
        Some(id) if id.bytes().all(|b| b.is_ascii_digit()) => Check::pass(NAME, id),
        Some(id) => Check::warn(
            NAME,
            format!("{id:?} is not an account id (Meta's ids are only digits)"),
            WHERE,
        ),
    }
}

fn allowed_recipients_check(list: Option<&[String]>) -> Check {
    const NAME: &str = "WA_ALLOWED_RECIPIENTS";
    match list {
        None => Check::pass(NAME, "unset: no limit, sending may reach anyone"),
        Some([]) => Check::pass(
            NAME,
            "set but empty: nobody is listed, sending reaches only contacts who wrote to you",
        ),
        Some(list) => Check::pass(
            NAME,
            format!(
                "{} entr{}: sending reaches only them and contacts who wrote to you",
                list.len(),
                if list.len() == 1 { "y" } else { "ies" }
            ),
        ),
    }
}

fn api_version_check(version: &str) -> Check {
    const NAME: &str = "WA_GRAPH_API_VERSION";
    let Some(number) = parse_version(version) else {
        return Check::fail(
            NAME,
            format!("{version:?} is not a Graph API version such as {DEFAULT_GRAPH_API_VERSION}"),
            format!("unset WA_GRAPH_API_VERSION to use {DEFAULT_GRAPH_API_VERSION}"),
        );
    };
    let pinned = parse_version(DEFAULT_GRAPH_API_VERSION).unwrap_or(number);
    if number < pinned {
        Check::warn(
            NAME,
            format!(
                "{version}, older than {DEFAULT_GRAPH_API_VERSION} which this release is built for"
            ),
            format!(
                "Meta retires each version about two years after release: unset \
                 WA_GRAPH_API_VERSION to use {DEFAULT_GRAPH_API_VERSION}"
            ),
        )
    } else {
        Check::pass(NAME, version)
    }
}

/// `v26.0` -> `(26, 0)`.
fn parse_version(version: &str) -> Option<(u32, u32)> {
    let (major, minor) = version.strip_prefix('v')?.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

fn base_url_check(url: &str) -> Check {
    const NAME: &str = "WA_GRAPH_BASE_URL";
    if url == DEFAULT_GRAPH_BASE_URL {
        return Check::pass(NAME, url);
    }
    if url.starts_with("https://") || points_at_loopback(url) {
        return Check::pass(NAME, format!("{url} (not Meta's host)"));
    }
    Check::warn(
        NAME,
        format!(
            "{url} is neither https nor this machine: the access token would travel unencrypted"
        ),
        format!("unset WA_GRAPH_BASE_URL to use {DEFAULT_GRAPH_BASE_URL}"),
    )
}

/// Whether `url` is `http://` to this machine (`localhost` or a loopback address).
pub(super) fn points_at_loopback(url: &str) -> bool {
    let rest = url.strip_prefix("http://").unwrap_or("");
    let host = rest.split(['/', '?']).next().unwrap_or("");
    let host = match host.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) => h,
        _ => host,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

fn bind_check(bind: IpAddr) -> Check {
    if bind.is_loopback() {
        return Check::pass("APP_BIND", bind.to_string());
    }
    Check::warn(
        "APP_BIND",
        format!(
            "{bind} is not loopback: the webhook listener is reachable from the network, not \
             only through the tunnel"
        ),
        "set APP_BIND=127.0.0.1 and point the tunnel at 127.0.0.1:<APP_HTTP_PORT>",
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doctor::Outcome;

    #[test]
    fn versions_older_than_the_pinned_one_warn() {
        assert_eq!(api_version_check("v26.0").outcome, Outcome::Pass);
        assert_eq!(api_version_check("v27.0").outcome, Outcome::Pass);
        assert_eq!(api_version_check("v20.0").outcome, Outcome::Warn);
        assert_eq!(api_version_check("26").outcome, Outcome::Fail);
    }

    #[test]
    fn plain_http_is_fine_only_to_this_machine() {
        assert_eq!(
            base_url_check("http://127.0.0.1:1234").outcome,
            Outcome::Pass
        );
        assert_eq!(base_url_check("http://localhost/x").outcome, Outcome::Pass);
        assert_eq!(base_url_check("http://[::1]:80").outcome, Outcome::Pass);
        assert_eq!(
            base_url_check("http://graph.example").outcome,
            Outcome::Warn
        );
        assert_eq!(
            base_url_check("https://graph.example").outcome,
            Outcome::Pass
        );
    }

    #[test]
    fn a_phone_number_is_not_a_phone_number_id() {
        assert_eq!(phone_number_id_check(Some("123456")).outcome, Outcome::Pass);
        let check = phone_number_id_check(Some("+1 555 0100"));
        assert_eq!(check.outcome, Outcome::Fail);
        assert!(check.remedy.unwrap_or_default().contains("Phone number ID"));
    }

    #[test]
    fn non_loopback_bind_warns() {
        assert_eq!(
            bind_check("127.0.0.1".parse().expect("ip")).outcome,
            Outcome::Pass
        );
        assert_eq!(
            bind_check("0.0.0.0".parse().expect("ip")).outcome,
            Outcome::Warn
        );
    }
}
