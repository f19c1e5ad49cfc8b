//! Uploading a file for a media message: `POST /{version}/{phone_number_id}/media`, a
//! `multipart/form-data` body with `messaging_product=whatsapp`, `type` (the MIME type)
//! and `file`, answered with the media id a message then sends by.
//!
//! The body is streamed: a reader chain of the parts' heads, the file itself read from
//! the handle the caller already checked and hashed, and the closing boundary, sent with
//! a `Content-Length` known in advance. Memory stays a few buffers whatever the file's
//! size. An upload creates nothing a person sees, so it is retried like a read (the
//! file is rewound for each attempt), even when an attempt went out and got no answer;
//! a repeat at worst leaves an unused media id. An upload that never gets an answer
//! therefore ends as a plain failure (the message row `failed`, nothing sent), never
//! as the `unknown` of a send that may have reached the recipient.

use std::fs::File;
use std::io::{self, Cursor, Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::thread;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::client::{MetaClient, after_failure};
use super::envelope::error_from_answer;
use super::error::MetaError;
use super::retry;
use super::transport::{self, Failure};
use crate::metrics::{MetaAttemptResult, MetaOperation};

/// The longest one upload attempt may take: enough for 100 MiB on a slow line. Within
/// it, a stall (Meta taking none of the file, or not answering once it has it all) ends
/// the attempt after the client's per-attempt timeout.
const UPLOAD_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// The largest answer read from an upload.
const MAX_ANSWER_BYTES: u64 = 64 * 1024;

/// A file to upload, as the caller checked it.
pub struct UploadFile<'a> {
    /// The open file; read from its start, exactly `size` bytes.
    pub file: &'a File,
    pub size: u64,
    /// The MIME type read from the content, e.g. `application/pdf`.
    pub mime_type: &'a str,
    /// The name Meta is told (ASCII, no quotes or line breaks: see [`safe_file_name`]).
    pub file_name: &'a str,
}

/// The multipart body: head, file, tail, and its total length.
struct Multipart {
    boundary: String,
    head: Vec<u8>,
    tail: Vec<u8>,
}

impl Multipart {
    fn new(mime_type: &str, file_name: &str) -> Multipart {
        let boundary = format!("wa-mcp-{}", uuid::Uuid::new_v4().simple());
        let name = safe_file_name(file_name);
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\n\
             whatsapp\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\n\
             {mime_type}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; \
             filename=\"{name}\"\r\nContent-Type: {mime_type}\r\n\r\n"
        );
        let tail = format!("\r\n--{boundary}--\r\n");
        Multipart {
            boundary,
            head: head.into_bytes(),
            tail: tail.into_bytes(),
        }
    }

    fn length(&self, size: u64) -> u64 {
        self.head.len() as u64 + size + self.tail.len() as u64
    }

    /// The whole body as one reader, the file read from its start.
    fn reader<'a>(&'a self, file: &'a File, size: u64) -> io::Result<impl Read + 'a> {
        let mut handle = file;
        handle.seek(SeekFrom::Start(0))?;
        Ok(Cursor::new(&self.head[..])
            .chain(handle.take(size))
            .chain(Cursor::new(&self.tail[..])))
    }
}

/// A file name a multipart header can carry: printable ASCII without quotes or
/// backslashes (anything else becomes `_`), at most 200 characters, never empty.
pub fn safe_file_name(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .take(200)
        .map(|c| match c {
            ' '..='~' if c != '"' && c != '\\' => c,
            _ => '_',
        })
        .collect();
    if cleaned.trim().is_empty() {
        "file".to_owned()
    } else {
        cleaned
    }
}

#[derive(Deserialize)]
struct UploadAnswer {
    id: String,
}

impl MetaClient {
    /// Uploads `upload` for `phone_number_id` and returns Meta's media id. Retried on
    /// connection failures, 429 and 5xx (the file is read again from its start).
    pub fn upload_media(
        &self,
        phone_number_id: &str,
        upload: &UploadFile<'_>,
    ) -> Result<String, MetaError> {
        let token = self
            .inner
            .token
            .as_ref()
            .ok_or(MetaError::NoToken)?
            .expose();
        let path = self.path(phone_number_id, "/media")?;
        let url = format!("{}{path}", self.inner.base_url);
        let multipart = Multipart::new(upload.mime_type, upload.file_name);
        let mut retry = 0;
        loop {
            let started = Instant::now();
            let result = self.upload_once(&url, token, &multipart, upload);
            let elapsed = started.elapsed();
            let attempt = retry + 1;
            self.inner.metrics.observe_meta_attempt(
                MetaOperation::MediaUpload,
                attempt_result(&result),
                elapsed,
            );
            tracing::debug!(path = %path, attempt, latency_ms = elapsed.as_millis() as u64, "media upload attempt");
            let (error, retry_after) = match result {
                Ok((status, body, _)) if (200..300).contains(&status) => {
                    return serde_json::from_str::<UploadAnswer>(&body)
                        .map(|a| a.id)
                        .map_err(|e| MetaError::InvalidResponse {
                            status,
                            detail: format!("the upload answer has no media id: {e}"),
                        });
                }
                Ok((status, body, retry_after)) => {
                    let error = error_from_answer(status, &body, token);
                    if !retry::is_retryable_status(status) {
                        return Err(error);
                    }
                    (error, retry_after)
                }
                Err(failure) => match after_failure(failure, true, attempt) {
                    ControlFlow::Continue(error) => (error, None),
                    ControlFlow::Break(error) => return Err(error),
                },
            };
            let unit = retry::jitter_unit();
            let Some(delay) =
                retry::delay_before_retry(&self.inner.retry, retry, retry_after, unit)
            else {
                return Err(error);
            };
            thread::sleep(delay);
            retry += 1;
        }
    }

    /// One attempt: status, body and `Retry-After` of the answer.
    fn upload_once(
        &self,
        url: &str,
        token: &str,
        multipart: &Multipart,
        upload: &UploadFile<'_>,
    ) -> Result<(u16, String, Option<Duration>), Failure> {
        let bearer = transport::bearer_header(token)?;
        let mut body = multipart
            .reader(upload.file, upload.size)
            .map_err(|e| Failure::Unsendable(format!("the file could not be read: {e}")))?;
        let sent = self
            .inner
            .agent
            .post(url)
            .header("Authorization", bearer)
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={}", multipart.boundary),
            )
            .header("Content-Length", multipart.length(upload.size))
            .config()
            .timeout_global(Some(UPLOAD_TIMEOUT))
            .timeout_per_write(Some(self.inner.timeout))
            .timeout_recv_response(Some(self.inner.timeout))
            .build()
            .send(ureq::SendBody::from_reader(&mut body));
        let mut response = sent.map_err(|e| transport::classify(e, token))?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(retry::parse_retry_after);
        let text = response
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER_BYTES)
            .lossy_utf8(true)
            .read_to_string()
            .unwrap_or_default();
        Ok((status, text, retry_after))
    }
}

fn attempt_result(result: &Result<(u16, String, Option<Duration>), Failure>) -> MetaAttemptResult {
    match result {
        Ok((status, _, _)) if (200..300).contains(status) => MetaAttemptResult::Success,
        Ok(_) => MetaAttemptResult::HttpError,
        Err(Failure::NotSent(_) | Failure::Unsendable(_)) => MetaAttemptResult::NotSent,
        Err(Failure::NoAnswer(_)) => MetaAttemptResult::NoAnswer,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn the_body_is_head_file_tail_and_its_length_is_known() {
        let mut file = tempfile::tempfile().expect("temp file");
        file.write_all(b"%PDF-1.7 hello").expect("write");
        let multipart = Multipart::new("application/pdf", "a \"b\".pdf");
        let mut body = Vec::new();
        multipart
            .reader(&file, 14)
            .expect("reader")
            .read_to_end(&mut body)
            .expect("read");
        assert_eq!(body.len() as u64, multipart.length(14));
        let text = String::from_utf8(body).expect("utf8");
        assert!(text.contains("name=\"messaging_product\"\r\n\r\nwhatsapp\r\n"));
        assert!(text.contains("name=\"type\"\r\n\r\napplication/pdf\r\n"));
        assert!(text.contains("filename=\"a _b_.pdf\""));
        assert!(text.contains("\r\n\r\n%PDF-1.7 hello\r\n--"));
        assert!(text.ends_with(&format!("--{}--\r\n", multipart.boundary)));
    }

    #[test]
    fn file_names_are_made_safe_for_the_header() {
        assert_eq!(safe_file_name("report.pdf"), "report.pdf");
        assert_eq!(safe_file_name("a\r\nb\".pdf"), "a__b_.pdf");
        assert_eq!(safe_file_name("été.txt"), "_t_.txt");
        assert_eq!(safe_file_name(""), "file");
    }
}
