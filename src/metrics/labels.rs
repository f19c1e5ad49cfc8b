//! The label values of the metrics: small enums whose discriminants index the fixed
//! arrays of counters, in the order of their `ALL`.

/// Why a webhook POST was answered with something other than 200 or the signature 404.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookRefusal {
    /// `WA_APP_SECRET` is not set, so nothing can be verified (404).
    NoAppSecret,
    /// The body passed 5 MiB (413).
    TooLarge,
    /// The body was broken off or is not a valid HTTP body (400).
    UnreadableBody,
    /// The body came slower than the floor rate, or not within 60 s (408).
    TooSlow,
    /// No room was free for the body: its size needed a large-body permit or a share of
    /// the budget for bodies in flight, and none was left (503, `Retry-After: 5`).
    BodiesBusy,
    /// The writer's queue was full (503, `Retry-After: 1`).
    Saturated,
    /// The database could not commit (503, `Retry-After: 5`).
    NotStored,
}

impl WebhookRefusal {
    pub(super) const ALL: [WebhookRefusal; 7] = [
        WebhookRefusal::NoAppSecret,
        WebhookRefusal::TooLarge,
        WebhookRefusal::UnreadableBody,
        WebhookRefusal::TooSlow,
        WebhookRefusal::BodiesBusy,
        WebhookRefusal::Saturated,
        WebhookRefusal::NotStored,
    ];

    /// The `reason` label.
    pub fn as_str(self) -> &'static str {
        match self {
            WebhookRefusal::NoAppSecret => "no_app_secret",
            WebhookRefusal::TooLarge => "too_large",
            WebhookRefusal::UnreadableBody => "unreadable_body",
            WebhookRefusal::TooSlow => "too_slow",
            WebhookRefusal::BodiesBusy => "bodies_busy",
            WebhookRefusal::Saturated => "saturated",
            WebhookRefusal::NotStored => "not_stored",
        }
    }
}

/// Which kind of Graph API call an attempt belonged to (the `operation` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaOperation {
    /// `POST /{phone_number_id}/messages` that sends something (text, template, reaction...).
    Send,
    /// `POST /{phone_number_id}/messages` with `status: read`.
    MarkRead,
    /// A `GET` of a Graph object (the phone number check, media look-ups).
    Lookup,
    /// The `GET` of a media file's download URL, until its answer's headers arrive.
    MediaDownload,
    /// `POST /{phone_number_id}/media`: a file uploaded for a media message.
    MediaUpload,
}

impl MetaOperation {
    pub(super) const ALL: [MetaOperation; 5] = [
        MetaOperation::Send,
        MetaOperation::MarkRead,
        MetaOperation::Lookup,
        MetaOperation::MediaDownload,
        MetaOperation::MediaUpload,
    ];

    /// The `operation` label.
    pub fn as_str(self) -> &'static str {
        match self {
            MetaOperation::Send => "send",
            MetaOperation::MarkRead => "mark_read",
            MetaOperation::Lookup => "lookup",
            MetaOperation::MediaDownload => "media_download",
            MetaOperation::MediaUpload => "media_upload",
        }
    }
}

/// How one Graph API attempt ended (the `result` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaAttemptResult {
    /// A 2xx answer.
    Success,
    /// An answer with an error status (4xx, 5xx).
    HttpError,
    /// Nothing reached Meta (DNS, refused connection, connect timeout, bad request).
    NotSent,
    /// The request went out and no answer came back.
    NoAnswer,
}

impl MetaAttemptResult {
    pub(super) const ALL: [MetaAttemptResult; 4] = [
        MetaAttemptResult::Success,
        MetaAttemptResult::HttpError,
        MetaAttemptResult::NotSent,
        MetaAttemptResult::NoAnswer,
    ];

    /// The `result` label.
    pub fn as_str(self) -> &'static str {
        match self {
            MetaAttemptResult::Success => "success",
            MetaAttemptResult::HttpError => "http_error",
            MetaAttemptResult::NotSent => "not_sent",
            MetaAttemptResult::NoAnswer => "no_answer",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_indexes_its_own_slot() {
        for (i, v) in WebhookRefusal::ALL.iter().enumerate() {
            assert_eq!(*v as usize, i);
        }
        for (i, v) in MetaOperation::ALL.iter().enumerate() {
            assert_eq!(*v as usize, i);
        }
        for (i, v) in MetaAttemptResult::ALL.iter().enumerate() {
            assert_eq!(*v as usize, i);
        }
    }
}
