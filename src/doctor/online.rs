//! `doctor --online`: the token, the phone number and the webhook subscription, asked
//! of Meta's Graph API with the configured base URL and version.
//!
//! 1. `GET /app`: the token is valid, and which app it was issued for.
//! 2. `GET /{phone_number_id}`: the number exists for this token; its display number,
//!    verified name and quality rating.
//! 3. `GET /{waba_id}/subscribed_apps` (when `WA_BUSINESS_ACCOUNT_ID` is set): the app is
//!    subscribed to the account's webhooks, the most common reason none ever arrive.
//!    When it is not, the remedy is the exact call that subscribes it, with the token
//!    left as `$WA_ACCESS_TOKEN` for the shell to fill in.

use std::time::Duration;

use super::Check;
use crate::config::Config;
use crate::meta::{
    ApiErrorKind, AppIdentity, MetaClient, MetaClientOptions, MetaError, RetryPolicy, SubscribedApp,
};

/// Per attempt; doctor is interactive, so it gives up sooner than a send does.
const TIMEOUT: Duration = Duration::from_secs(15);

const TOKEN_REMEDY: &str = "issue a new token (a System User token from Meta Business \
    Settings > Users > System users does not expire; the one from WhatsApp > API Setup lasts \
    24 hours) and set WA_ACCESS_TOKEN";

/// Every online check, in order; later ones are skipped when the token is refused or
/// Meta cannot be reached.
pub fn online_checks(config: &Config) -> Vec<Check> {
    if config.access_token.is_none() {
        return vec![Check::skip(
            "Meta",
            "WA_ACCESS_TOKEN is unset, so nothing can be asked of Meta",
        )];
    }
    let client = MetaClient::new(MetaClientOptions {
        base_url: config.graph_base_url.clone(),
        api_version: config.graph_api_version.clone(),
        token: config.access_token.clone(),
        timeout: TIMEOUT,
        retry: RetryPolicy {
            max_retries: 1,
            ..RetryPolicy::default()
        },
    });
    let (token, app) = token_check(&client, config);
    let stop = token.outcome == super::Outcome::Fail;
    let mut checks = vec![token];
    if stop {
        checks.push(Check::skip(
            "phone number",
            "not checked: the token check failed",
        ));
        checks.push(Check::skip(
            "webhook subscription",
            "not checked: the token check failed",
        ));
        return checks;
    }
    checks.push(match &config.default_phone_number_id {
        Some(id) => phone_check(&client, id),
        None => Check::skip("phone number", "WA_DEFAULT_PHONE_NUMBER_ID is unset"),
    });
    checks.push(match &config.business_account_id {
        Some(waba) => subscription_check(&client, config, waba, app.as_ref()),
        None => Check::skip(
            "webhook subscription",
            "WA_BUSINESS_ACCOUNT_ID is unset, so the account's subscribed apps cannot be read",
        ),
    });
    checks
}

/// The token and the app it belongs to. A refused token or an unreachable Meta fails.
fn token_check(client: &MetaClient, config: &Config) -> (Check, Option<AppIdentity>) {
    const NAME: &str = "access token";
    match client.token_app() {
        Ok(app) => {
            let check = Check::pass(
                NAME,
                format!("accepted; issued for app {}", app_label(&app)),
            );
            (check, Some(app))
        }
        Err(e) if is_token_error(&e) => (
            Check::fail(
                NAME,
                format!("refused: invalid or expired ({e})"),
                TOKEN_REMEDY,
            ),
            None,
        ),
        Err(e @ (MetaError::Unreachable { .. } | MetaError::InvalidRequest { .. })) => (
            Check::fail(
                NAME,
                format!("cannot ask Meta: {e}"),
                format!(
                    "check this machine's network and DNS, and WA_GRAPH_BASE_URL ({})",
                    config.graph_base_url
                ),
            ),
            None,
        ),
        Err(e) => (
            Check::warn(
                NAME,
                format!("Meta would not say which app it belongs to ({e})"),
                "the subscription check below cannot recognise your app; look the token up \
                 in Meta's Access Token Debugger to see its app and permissions",
            ),
            None,
        ),
    }
}

fn is_token_error(e: &MetaError) -> bool {
    matches!(e, MetaError::Api(api) if api.kind == ApiErrorKind::TokenInvalid)
}

/// Meta could not answer (no connection, a timeout, rate limiting or a 5xx): the call
/// says nothing about the ids or the token, so no check may blame them.
fn is_unavailable(e: &MetaError) -> bool {
    let busy = |status: u16| status == 429 || status >= 500;
    match e {
        MetaError::Unreachable { .. } | MetaError::NoAnswer { .. } => true,
        MetaError::Http { status, .. } => busy(*status),
        MetaError::Api(api) => busy(api.http_status),
        _ => false,
    }
}

fn meta_unavailable(name: &str, e: &MetaError) -> Check {
    Check::fail(
        name,
        format!("Meta could not answer ({e})"),
        "an outage or rate limit at Meta, or this machine's network: try again in a few \
         minutes",
    )
}

fn phone_check(client: &MetaClient, id: &str) -> Check {
    const NAME: &str = "phone number";
    match client.phone_number_info(id) {
        Ok(info) => {
            let display = info
                .display_phone_number
                .as_deref()
                .unwrap_or("(no number)");
            let name = info
                .verified_name
                .as_deref()
                .unwrap_or("(no verified name)");
            let quality = info.quality_rating.as_deref().unwrap_or("UNKNOWN");
            let detail = format!("{id} is {display}, {name}, quality rating {quality}");
            match quality {
                "RED" | "YELLOW" => Check::warn(
                    NAME,
                    detail,
                    "recipients block or report your messages: Meta may lower this number's \
                     messaging limit; see WhatsApp Manager > Insights",
                ),
                _ => Check::pass(NAME, detail),
            }
        }
        Err(e) if is_token_error(&e) => {
            Check::fail(NAME, format!("the token was refused ({e})"), TOKEN_REMEDY)
        }
        Err(e) if is_unavailable(&e) => meta_unavailable(NAME, &e),
        Err(e) => Check::fail(
            NAME,
            format!("Meta does not know phone number id {id} for this token ({e})"),
            "copy the Phone number ID from the app dashboard's WhatsApp > API Setup into \
             WA_DEFAULT_PHONE_NUMBER_ID, and check that the token's system user has the \
             WhatsApp account assigned",
        ),
    }
}

fn subscription_check(
    client: &MetaClient,
    config: &Config,
    waba: &str,
    app: Option<&AppIdentity>,
) -> Check {
    const NAME: &str = "webhook subscription";
    let subscribed = match client.subscribed_apps(waba) {
        Ok(list) => list,
        Err(e) if is_unavailable(&e) => return meta_unavailable(NAME, &e),
        Err(e) => {
            return Check::fail(
                NAME,
                format!("cannot read the subscribed apps of account {waba} ({e})"),
                "check WA_BUSINESS_ACCOUNT_ID (WhatsApp > API Setup) and that the token has \
                 the whatsapp_business_management permission",
            );
        }
    };
    let fix = subscribe_command(config, waba);
    let listed = list_apps(&subscribed);
    match app {
        Some(app) if subscribed.iter().any(|s| s.id == app.id) => Check::pass(
            NAME,
            format!(
                "app {} receives the webhooks of account {waba}",
                app_label(app)
            ),
        ),
        _ if subscribed.is_empty() => Check::fail(
            NAME,
            format!("no app is subscribed to account {waba}: Meta sends its webhooks nowhere"),
            format!("subscribe your app: {fix}"),
        ),
        Some(app) => Check::fail(
            NAME,
            format!(
                "app {} is not subscribed to account {waba} (subscribed: {listed}), so its \
                 webhooks never reach you",
                app_label(app)
            ),
            format!("subscribe your app: {fix}"),
        ),
        None => Check::warn(
            NAME,
            format!("account {waba} sends its webhooks to {listed}; which app is yours is unknown"),
            format!("if yours is not among them, subscribe it: {fix}"),
        ),
    }
}

/// The call that subscribes the token's app to the account; the token stays a shell
/// variable, never its value.
pub fn subscribe_command(config: &Config, waba: &str) -> String {
    format!(
        "curl -X POST '{}/{}/{waba}/subscribed_apps' -H \"Authorization: Bearer $WA_ACCESS_TOKEN\"",
        config.graph_base_url, config.graph_api_version
    )
}

fn app_label(app: &AppIdentity) -> String {
    match &app.name {
        Some(name) => format!("{name:?} ({})", app.id),
        None => app.id.clone(),
    }
}

fn list_apps(apps: &[SubscribedApp]) -> String {
    apps.iter()
        .map(|a| match &a.name {
            Some(name) => format!("{name:?} ({})", a.id),
            None => a.id.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
