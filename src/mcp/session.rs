//! The life of one MCP connection. It ends when the client closes its input (end of
//! file on stdin: what a client that quits does first), when the transport stops, or
//! (over HTTP) when the transport drops the connection's server.
//! Work that runs for the connection watches that end and stops with it: a
//! `wait_for_messages` still sleeping answers at once with its empty page (so the answer
//! is written while the transport still drains responses, instead of being dropped when
//! it gives up on the handler), and the resource feed and update forwarding end, so
//! nothing of a finished connection keeps the database open.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, ReadBuf};
use tokio::sync::watch;

/// Whether the connection has ended; clones share it.
#[derive(Clone)]
pub(crate) struct Session {
    ended: Arc<watch::Sender<bool>>,
}

impl Session {
    pub(crate) fn new() -> Session {
        Session {
            ended: Arc::new(watch::Sender::new(false)),
        }
    }

    /// Marks the connection ended; every [`Session::ended`] future completes.
    pub(crate) fn end(&self) {
        self.ended.send_replace(true);
    }

    /// Completes once the connection has ended (at once if it already has).
    pub(crate) fn ended(&self) -> impl Future<Output = ()> + Send + 'static {
        let mut ended = self.ended.subscribe();
        async move {
            // An error means every sender is gone: nothing can end it later, so it has.
            let _ = ended.wait_for(|e| *e).await;
        }
    }
}

/// Ends its session when dropped. A server keeps one, shared by its clones, so the
/// session of an HTTP connection (which has no input stream to reach its end) ends
/// when the transport closes it and drops the last clone of its server.
pub(crate) struct EndOnDrop(pub(crate) Session);

impl Drop for EndOnDrop {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// The client's input stream, ending the session when it reaches end of file or fails.
pub(crate) struct EndOnEof<R> {
    inner: R,
    session: Session,
}

impl<R> EndOnEof<R> {
    pub(crate) fn new(inner: R, session: Session) -> EndOnEof<R> {
        EndOnEof { inner, session }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for EndOnEof<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let wanted = buf.remaining() > 0;
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        match &polled {
            // Nothing read into room for something: end of file.
            Poll::Ready(Ok(())) if wanted && buf.filled().len() == before => self.session.end(),
            Poll::Ready(Err(_)) => self.session.end(),
            _ => {}
        }
        polled
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    #[tokio::test]
    async fn end_of_file_ends_the_session_and_data_does_not() {
        let session = Session::new();
        let (mut writer, reader) = tokio::io::duplex(64);
        let mut input = EndOnEof::new(reader, session.clone());
        tokio::io::AsyncWriteExt::write_all(&mut writer, b"{}\n")
            .await
            .expect("written");
        let mut buf = [0u8; 16];
        assert_eq!(input.read(&mut buf).await.expect("read"), 3);
        assert!(!*session.ended.borrow(), "data is not the end");
        drop(writer);
        assert_eq!(input.read(&mut buf).await.expect("read"), 0);
        session.ended().await;
    }
}
