//! Remote MCP in `doctor`: whether `WA_PUBLIC_URL` is usable, whether an owner
//! passphrase exists, whether consent is throttled by wrong passphrases, and, when both
//! are set, that the protected-resource metadata answers through the public URL (the
//! tunnel reaches this listener and the listener has remote MCP on).

use std::time::Duration;

use super::Check;
use crate::config::{Config, PublicUrl};
use crate::messaging::oauth::{OwnerStatus, owner_status_in_file};

/// Per request; a tunnel that takes longer is as good as down.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The checks, in report order.
pub fn remote_checks(config: &Config) -> Vec<Check> {
    let url = match config.public_url() {
        None => {
            return vec![Check::skip(
                "WA_PUBLIC_URL",
                "unset: remote MCP (claude.ai, ChatGPT) is off; see docs/guides/remote.md",
            )];
        }
        Some(Err(why)) => {
            return vec![Check::fail(
                "WA_PUBLIC_URL",
                why,
                "set it to the tunnel's https base URL, e.g. https://wa.example.com",
            )];
        }
        Some(Ok(url)) => url,
    };
    let mut checks = vec![Check::pass(
        "WA_PUBLIC_URL",
        format!("remote MCP at {}", url.join("/mcp")),
    )];
    match owner_status_in_file(&config.db_path) {
        Err(e) => checks.push(Check::fail(
            "owner passphrase",
            format!("cannot read it: {e}"),
            "see the database checks above",
        )),
        Ok(o) if !o.passphrase_set => checks.push(Check::warn(
            "owner passphrase",
            "not set: every remote route answers 404",
            "run `wa-mcp auth passphrase`",
        )),
        Ok(o) => {
            checks.push(Check::pass("owner passphrase", "set (argon2id hash)"));
            checks.push(throttle_check(&o));
            checks.push(metadata_check(&url));
        }
    }
    checks
}

fn throttle_check(o: &OwnerStatus) -> Check {
    match &o.throttled_until {
        Some(until) => Check::warn(
            "consent throttle",
            format!(
                "{} wrong passphrase(s) in a row: no passphrase is checked until {until}",
                o.failed_attempts
            ),
            "if that was not you, someone is guessing; `wa-mcp auth passphrase` ends the \
             throttle (choose a new passphrase)",
        ),
        None if o.failed_attempts > 0 => Check::warn(
            "consent throttle",
            format!(
                "{} wrong passphrase(s) since the last right one",
                o.failed_attempts
            ),
            "if that was not you, set a new passphrase with `wa-mcp auth passphrase`",
        ),
        None => Check::pass("consent throttle", "no wrong passphrases"),
    }
}

/// `GET <public>/.well-known/oauth-protected-resource` must answer 200 with this URL's
/// `/mcp` as `resource`.
fn metadata_check(url: &PublicUrl) -> Check {
    let name = "remote metadata";
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let address = url.join("/.well-known/oauth-protected-resource");
    let mut resp = match agent.get(&address).call() {
        Ok(r) => r,
        Err(e) => {
            return Check::fail(
                name,
                format!("{address} did not answer: {e}"),
                "start the tunnel and `wa-mcp serve` (or `wa-mcp mcp`), and check that the tunnel \
                 forwards to APP_HTTP_PORT",
            );
        }
    };
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_json()
        .unwrap_or_default();
    let expected = url.join("/mcp");
    if status == 200 && body["resource"] == expected.as_str() {
        Check::pass(name, format!("{address} answers for {expected}"))
    } else if status == 404 {
        Check::fail(
            name,
            format!("{address} answered 404: the server there has remote MCP off"),
            "restart the server with WA_PUBLIC_URL set, after `wa-mcp auth passphrase`",
        )
    } else {
        Check::fail(
            name,
            format!("{address} answered {status} without this server's metadata"),
            "point the tunnel at this wa-mcp's port",
        )
    }
}
