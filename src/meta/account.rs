//! Account-level Graph API reads that `doctor --online` uses: which app the access token
//! belongs to (`GET /app`) and which apps receive a WhatsApp Business Account's webhooks
//! (`GET /{waba_id}/subscribed_apps`). Both are idempotent reads, retried like
//! [`MetaClient::phone_number_info`], and go through the same transport, so the token is
//! only ever sent as the bearer header and never appears in a URL, an error or a log line.
//!
//! This file is a child module of `client` (declared there) so it can reuse the private
//! call and retry machinery without widening its visibility.

use serde::Deserialize;

use super::{Call, MetaClient};
use crate::meta::error::MetaError;
use crate::meta::transport::Method;

/// The Meta app an access token was issued for, as `GET /app` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct AppIdentity {
    /// The app id, the same id `subscribed_apps` lists.
    pub id: String,
    /// The app's display name, when Meta gives it.
    #[serde(default)]
    pub name: Option<String>,
}

/// One app subscribed to a WhatsApp Business Account's webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct SubscribedApp {
    /// The app id.
    pub id: String,
    /// The app's display name, when Meta gives it.
    #[serde(default)]
    pub name: Option<String>,
}

#[derive(Deserialize)]
struct SubscribedAppsPage {
    #[serde(default)]
    data: Vec<SubscribedAppEntry>,
}

#[derive(Deserialize)]
struct SubscribedAppEntry {
    whatsapp_business_api_data: Option<SubscribedApp>,
}

impl MetaClient {
    /// `GET {base}/{version}/app`: the app the configured token belongs to. Meta answers
    /// it for user and system-user tokens alike; a bad token is error 190.
    pub fn token_app(&self) -> Result<AppIdentity, MetaError> {
        let (status, body) = self.get_json("app", "", "?fields=id,name")?;
        parse(&body, status)
    }

    /// `GET {base}/{version}/{waba_id}/subscribed_apps`: the apps Meta sends this
    /// account's webhooks to. An empty list means Meta delivers none of them anywhere.
    /// Entries without app data are skipped.
    pub fn subscribed_apps(&self, waba_id: &str) -> Result<Vec<SubscribedApp>, MetaError> {
        let (status, body) = self.get_json(waba_id, "/subscribed_apps", "")?;
        let page: SubscribedAppsPage = parse(&body, status)?;
        Ok(page
            .data
            .into_iter()
            .filter_map(|entry| entry.whatsapp_business_api_data)
            .collect())
    }

    /// An idempotent GET of `/{version}/{id}{edge}{query}`: the status and body of the
    /// 2xx answer, or the error that ended the call.
    fn get_json(
        &self,
        id: &str,
        edge: &str,
        query: &'static str,
    ) -> Result<(u16, String), MetaError> {
        let call = Call {
            method: Method::Get,
            path: self.path(id, edge)?,
            query: query.to_owned(),
            body: None,
            idempotent: true,
        };
        let answer = self.inner.execute(&call)?;
        Ok((answer.status, answer.body))
    }
}

fn parse<T: for<'de> Deserialize<'de>>(body: &str, status: u16) -> Result<T, MetaError> {
    serde_json::from_str(body).map_err(|e| MetaError::InvalidResponse {
        status,
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subscribed_apps_reads_meta_documented_shape() {
        let body = r#"{"data":[{"whatsapp_business_api_data":{"id":"67084","link":"https://www.facebook.com/games/?app_id=67084","name":"Jaspers Market"}},{"other":1}]}"#;
        let page: SubscribedAppsPage = parse(body, 200).expect("parses");
        let apps: Vec<_> = page
            .data
            .into_iter()
            .filter_map(|e| e.whatsapp_business_api_data)
            .collect();
        assert_eq!(
            apps,
            vec![SubscribedApp {
                id: "67084".into(),
                name: Some("Jaspers Market".into())
            }]
        );
        let empty: SubscribedAppsPage = parse(r#"{"data":[]}"#, 200).expect("parses");
        assert!(empty.data.is_empty());
    }

    #[test]
    fn an_unexpected_body_is_an_invalid_response() {
        let err = parse::<AppIdentity>("[]", 200).expect_err("not an app");
        assert!(matches!(
            err,
            MetaError::InvalidResponse { status: 200, .. }
        ));
    }
}
