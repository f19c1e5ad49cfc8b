//! `doctor --webhook URL`: the public callback URL (a tunnel to the listener, ending in
//! `/webhook/meta`) probed the way Meta calls it.
//!
//! 1. The GET handshake with the configured verify token and a random challenge: it
//!    passes when the answer is 200 with exactly the challenge. Over plain http it is
//!    sent only to this machine, so the token never crosses a network unencrypted.
//! 2. A signed test delivery: a `whatsapp_business_account` delivery whose only change
//!    has the field `wa_mcp_doctor`, which wa-mcp keeps in its delivery log as `ignored`
//!    and turns into no message, contact or status. It passes on 200.
//! 3. The same body with a wrong signature: it passes on 404, the answer to a forgery.
//!
//! Redirects are not followed (Meta does not follow them either) and every request has
//! a short timeout.

use std::time::Duration;

use serde_json::json;
use ureq::http::Response;
use uuid::Uuid;

use super::{Check, Outcome};
use crate::config::Config;
use crate::webhook::signature::signature_header;

/// Per request; a tunnel that takes longer is as good as down for Meta.
const TIMEOUT: Duration = Duration::from_secs(10);
/// The route every wa-mcp serves Meta's webhook on.
const WEBHOOK_PATH: &str = "/webhook/meta";

/// The URL's shape, then the three probes; once one gets no answer at all, the rest
/// are skipped rather than failing for the same reason.
pub fn webhook_checks(config: &Config, url: &str) -> Vec<Check> {
    let url = url.trim();
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(TIMEOUT))
        .http_status_as_error(false)
        .max_redirects(0)
        .build()
        .into();
    let body = test_delivery(config);
    // Any key but the real secret: a random one cannot be it.
    let forged = signature_header(Uuid::new_v4().as_bytes(), body.as_bytes());
    let probes: [(&str, Probe<'_>); 3] = [
        (
            "handshake",
            Box::new(
                || match (&config.webhook_verify_token, handshake_in_clear(url)) {
                    (None, _) => Ok(Check::skip(
                        "handshake",
                        "WA_WEBHOOK_VERIFY_TOKEN is unset (see above)",
                    )),
                    (Some(_), Some(not_sent)) => Ok(not_sent),
                    (Some(token), None) => handshake_check(&agent, url, token.expose()),
                },
            ),
        ),
        (
            "signed delivery",
            Box::new(|| match &config.app_secret {
                Some(secret) => {
                    let signature = signature_header(secret.expose().as_bytes(), body.as_bytes());
                    signed_delivery_check(&agent, url, &body, &signature)
                }
                None => Ok(Check::skip(
                    "signed delivery",
                    "WA_APP_SECRET is unset (see above)",
                )),
            }),
        ),
        (
            "forged delivery",
            Box::new(|| forged_delivery_check(&agent, url, &body, &forged)),
        ),
    ];
    let shape = url_check(url);
    let mut answered = shape.outcome != Outcome::Fail;
    let mut checks = vec![shape];
    for (name, probe) in probes {
        if !answered {
            checks.push(Check::skip(
                name,
                "not sent: the URL is unusable or did not answer",
            ));
            continue;
        }
        checks.push(probe().unwrap_or_else(|check| {
            answered = false;
            check
        }));
    }
    checks
}

/// One probe: `Err` carries the failure when no answer came at all.
type Probe<'a> = Box<dyn FnOnce() -> Result<Check, Check> + 'a>;

fn url_check(url: &str) -> Check {
    const NAME: &str = "callback URL";
    let parsed = ureq::http::Uri::try_from(url).ok();
    let usable = parsed.as_ref().is_some_and(|uri| {
        matches!(uri.scheme_str(), Some("http" | "https")) && uri.host().is_some()
    });
    if !usable {
        return Check::fail(
            NAME,
            format!("{url:?} is not an http(s) URL"),
            format!("give the full URL, e.g. https://<your tunnel host>{WEBHOOK_PATH}"),
        );
    }
    // wa-mcp routes the exact path, so `/webhook/meta/` would be a 404 to Meta.
    let path_ok = url
        .split(['?', '#'])
        .next()
        .is_some_and(|u| u.ends_with(WEBHOOK_PATH));
    if !path_ok {
        return Check::warn(
            NAME,
            format!("{url} does not end in {WEBHOOK_PATH}, the only route wa-mcp answers"),
            format!("use https://<your tunnel host>{WEBHOOK_PATH}, here and in the app dashboard"),
        );
    }
    if !url.starts_with("https://") {
        return Check::warn(
            NAME,
            format!("{url} is not https: Meta only calls https URLs with a valid certificate"),
            "fine for a local test; give Meta the tunnel's https URL",
        );
    }
    Check::pass(NAME, url)
}

/// The handshake puts the verify token in the query string: over plain http it is sent
/// only to this machine. For any other host the probe is skipped, and this says why.
fn handshake_in_clear(url: &str) -> Option<Check> {
    if url.starts_with("https://") || super::variables::points_at_loopback(url) {
        return None;
    }
    Some(Check::skip(
        "handshake",
        "not sent: over plain http it would carry WA_WEBHOOK_VERIFY_TOKEN unencrypted to \
         another machine; give the tunnel's https URL (Meta only calls https)",
    ))
}

fn handshake_check(agent: &ureq::Agent, url: &str, verify_token: &str) -> Result<Check, Check> {
    const NAME: &str = "handshake";
    let challenge = Uuid::new_v4().simple().to_string();
    let sent = agent
        .get(url)
        .query("hub.mode", "subscribe")
        .query("hub.verify_token", verify_token)
        .query("hub.challenge", &challenge)
        .call();
    let (status, body) = match sent.map(read) {
        Ok(answer) => answer,
        Err(e) => return Err(unreachable(NAME, url, &e)),
    };
    Ok(match status {
        200 if body == challenge => Check::pass(
            NAME,
            "answered 200 with exactly the challenge, as Meta needs to save the URL",
        ),
        200 => Check::fail(
            NAME,
            "answered 200 but not with the challenge: something other than wa-mcp answers here",
            "point the tunnel at 127.0.0.1:<APP_HTTP_PORT> where wa-mcp listens",
        ),
        404 => Check::fail(
            NAME,
            "refused (404): the server's WA_WEBHOOK_VERIFY_TOKEN differs from this one, the \
             URL's path is wrong, or the tunnel behind this URL is gone",
            "give the running server the same WA_WEBHOOK_VERIFY_TOKEN as here (restart it after \
             changing it), and end the URL in /webhook/meta",
        ),
        status => other_status(NAME, status),
    })
}

fn signed_delivery_check(
    agent: &ureq::Agent,
    url: &str,
    body: &str,
    signature: &str,
) -> Result<Check, Check> {
    const NAME: &str = "signed delivery";
    let status = post(agent, url, body, signature).map_err(|e| unreachable(NAME, url, &e))?;
    Ok(match status {
        200 => Check::pass(
            NAME,
            "answered 200: deliveries signed with WA_APP_SECRET are accepted (the test left \
             one `ignored` entry in the delivery log)",
        ),
        404 => Check::fail(
            NAME,
            "refused (404): the server's WA_APP_SECRET differs from this one (or it has none), \
             so it refuses every delivery Meta signs",
            "set WA_APP_SECRET to the App secret from the app dashboard's App settings > Basic, \
             the same for the server and here, and restart the server",
        ),
        status => other_status(NAME, status),
    })
}

fn forged_delivery_check(
    agent: &ureq::Agent,
    url: &str,
    body: &str,
    signature: &str,
) -> Result<Check, Check> {
    const NAME: &str = "forged delivery";
    let status = post(agent, url, body, signature).map_err(|e| unreachable(NAME, url, &e))?;
    Ok(match status {
        404 => Check::pass(NAME, "a wrong signature is refused (404), as it should be"),
        200 => Check::fail(
            NAME,
            "a delivery with a wrong signature was accepted: whatever answers here does not \
             check signatures, so anyone could inject messages",
            "make sure the tunnel points at wa-mcp itself, not at another service or a proxy \
             that answers for it",
        ),
        status => other_status(NAME, status),
    })
}

/// The harmless delivery: Meta's envelope with one change of a field no one subscribes to.
fn test_delivery(config: &Config) -> String {
    let account = config.business_account_id.as_deref().unwrap_or("0");
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": account,
            "time": crate::timefmt::now_micros() / 1_000_000,
            "changes": [{
                "field": "wa_mcp_doctor",
                "value": {
                    "check": "webhook reachability test from wa-mcp doctor",
                    "nonce": Uuid::new_v4().to_string(),
                },
            }],
        }],
    })
    .to_string()
}

fn post(agent: &ureq::Agent, url: &str, body: &str, signature: &str) -> Result<u16, ureq::Error> {
    agent
        .post(url)
        .header("content-type", "application/json")
        .header("x-hub-signature-256", signature)
        .send(body.as_bytes())
        .map(|r| read(r).0)
}

/// The status and (up to 64 KiB of) the body of a probe's answer.
pub(super) fn read(mut response: Response<ureq::Body>) -> (u16, String) {
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(64 * 1024)
        .read_to_string()
        .unwrap_or_default();
    (status, body)
}

fn unreachable(name: &str, url: &str, error: &ureq::Error) -> Check {
    // A refused URI's text would be the request's, verify token included: never shown.
    let error = match error {
        ureq::Error::BadUri(_) => "not a valid URL".to_owned(),
        other => other.to_string(),
    };
    Check::fail(
        name,
        format!("no answer from {url}: {error}"),
        "start the tunnel (cloudflared or ngrok) and `wa-mcp serve`; a quick tunnel gets a new \
         URL at every restart, so update it here and in the app dashboard",
    )
}

fn other_status(name: &str, status: u16) -> Check {
    let (detail, remedy) = match status {
        300..=399 => (
            format!("answered a redirect ({status}), which Meta does not follow"),
            "give the final URL (https, no redirect) to Meta",
        ),
        502 | 504 | 530 => (
            format!("answered {status}: the tunnel is up but nothing answers behind it"),
            "start `wa-mcp serve` (or Claude Desktop's `wa-mcp mcp`) and point the tunnel at \
             127.0.0.1:<APP_HTTP_PORT>",
        ),
        503 => (
            "answered 503: wa-mcp is overloaded or its database is unavailable".to_owned(),
            "look at the server's log and `wa-mcp doctor` on that machine",
        ),
        _ => (
            format!("answered {status}, not what Meta needs"),
            "point the tunnel at 127.0.0.1:<APP_HTTP_PORT> where wa-mcp listens",
        ),
    };
    Check::fail(name, detail, remedy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verify_token_goes_in_clear_only_to_this_machine() {
        for url in [
            "http://wa.example/webhook/meta",
            "http://10.0.0.5:3000/webhook/meta",
        ] {
            let check = handshake_in_clear(url).expect("refused");
            assert_eq!(check.outcome, Outcome::Skip, "{check}");
            assert!(check.detail.contains("WA_WEBHOOK_VERIFY_TOKEN"), "{check}");
        }
        for url in [
            "https://wa.example/webhook/meta",
            "http://127.0.0.1:3000/webhook/meta",
            "http://localhost:3000/webhook/meta",
            "http://[::1]:3000/webhook/meta",
        ] {
            assert_eq!(handshake_in_clear(url), None, "{url}");
        }
    }

    #[test]
    fn the_url_must_end_in_the_webhook_path() {
        assert_eq!(
            url_check("https://a.example/webhook/meta").outcome,
            Outcome::Pass
        );
        assert_eq!(url_check("https://a.example/").outcome, Outcome::Warn);
        assert_eq!(
            url_check("https://a.example/webhook/meta/").outcome,
            Outcome::Warn,
            "the listener does not answer the path with a trailing slash"
        );
        assert_eq!(
            url_check("https://a.example/webhook/meta?x=1").outcome,
            Outcome::Pass
        );
        assert_eq!(url_check("a.example/webhook/meta").outcome, Outcome::Fail);
        assert_eq!(url_check("ht!tp://x y/webhook/meta").outcome, Outcome::Fail);
        assert_eq!(
            url_check("http://127.0.0.1:3000/webhook/meta").outcome,
            Outcome::Warn
        );
    }
}
