//! `send_location`: a pin on the map, with an optional name and address.

use serde_json::{Map, Value, json};

use super::send::{Outgoing, parse_recipient};
use super::{Messaging, MessagingError, SendResult};
use crate::store::NewOutbound;

/// The longest name or address accepted (WhatsApp shows far less).
const MAX_LABEL_CHARS: usize = 1000;

/// A location to send.
#[derive(Debug, Clone, Default)]
pub struct SendLocationInput {
    /// A phone number in any format, or a BSUID.
    pub to: String,
    /// Degrees, -90..=90.
    pub latitude: f64,
    /// Degrees, -180..=180.
    pub longitude: f64,
    pub name: Option<String>,
    pub address: Option<String>,
    pub reply_to: Option<String>,
    pub phone_number_id: Option<String>,
    /// A repeated call with the same key returns the first call's result and sends nothing.
    pub idempotency_key: Option<String>,
}

fn validate(input: &SendLocationInput) -> Result<(), MessagingError> {
    let (lat, lon) = (input.latitude, input.longitude);
    if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
        return Err(MessagingError::InvalidInput(format!(
            "`latitude` must be between -90 and 90 degrees; got {lat}"
        )));
    }
    if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
        return Err(MessagingError::InvalidInput(format!(
            "`longitude` must be between -180 and 180 degrees; got {lon}"
        )));
    }
    for (field, value) in [("name", &input.name), ("address", &input.address)] {
        let chars = value.as_deref().map_or(0, |v| v.chars().count());
        if chars > MAX_LABEL_CHARS {
            return Err(MessagingError::InvalidInput(format!(
                "`{field}` must be at most {MAX_LABEL_CHARS} characters; it has {chars}"
            )));
        }
    }
    Ok(())
}

/// The row's body, as an inbound location reads: "Location: name, address (lat, lon)".
fn describe(input: &SendLocationInput, name: Option<&str>, address: Option<&str>) -> String {
    let coords = format!("({}, {})", input.latitude, input.longitude);
    let parts: Vec<&str> = [name, address, Some(coords.as_str())]
        .into_iter()
        .flatten()
        .collect();
    format!("Location: {}", parts.join(", "))
}

impl Messaging {
    /// Sends a location through the shared send path. The row's type is `location`.
    pub async fn send_location(
        &self,
        input: SendLocationInput,
    ) -> Result<SendResult, MessagingError> {
        validate(&input)?;
        let (recipient, seen) = parse_recipient(&input.to)?;
        self.require_token()?;
        let phone_number_id = self.phone_number_id(input.phone_number_id.clone())?;
        let trimmed = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let (name, address) = (trimmed(&input.name), trimmed(&input.address));
        let reply_to = trimmed(&input.reply_to);
        let mut location = Map::new();
        location.insert("latitude".into(), input.latitude.into());
        location.insert("longitude".into(), input.longitude.into());
        if let Some(n) = &name {
            location.insert("name".into(), n.clone().into());
        }
        if let Some(a) = &address {
            location.insert("address".into(), a.clone().into());
        }
        let mut message = json!({"type": "location", "location": Value::Object(location)});
        if let Some(wamid) = &reply_to {
            message["context"] = json!({"message_id": wamid});
        }
        let row = NewOutbound {
            phone_number_id: phone_number_id.clone(),
            recipient: seen,
            kind: "location".into(),
            body: Some(describe(&input, name.as_deref(), address.as_deref())),
            context_wamid: reply_to,
            idempotency_key: input.idempotency_key.clone(),
            fingerprint: None,
            raw: message.to_string(),
            media: None,
        };
        self.send_cloud_message(Outgoing {
            recipient,
            phone_number_id,
            request: message.clone(),
            message,
            row,
            upload: None,
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(latitude: f64, longitude: f64) -> SendLocationInput {
        SendLocationInput {
            latitude,
            longitude,
            ..SendLocationInput::default()
        }
    }

    #[test]
    fn coordinates_must_be_on_the_globe() {
        assert!(validate(&at(51.5, -0.12)).is_ok());
        assert!(validate(&at(90.0, 180.0)).is_ok());
        assert!(validate(&at(90.1, 0.0)).is_err());
        assert!(validate(&at(0.0, -180.5)).is_err());
        assert!(validate(&at(f64::NAN, 0.0)).is_err());
    }

    #[test]
    fn the_body_reads_like_an_inbound_location() {
        assert_eq!(
            describe(&at(51.5, -0.12), Some("Office"), None),
            "Location: Office, (51.5, -0.12)"
        );
    }
}
