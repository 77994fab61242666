//! A request body fed by JS: either whole when the request is opened, or
//! chunk by chunk through a bounded channel (so `write` waits while the
//! connection is behind: Node's backpressure).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::mpsc;

/// Chunks the channel holds before `write` waits.
pub(crate) const CHANNEL_CHUNKS: usize = 8;

/// The body of one request.
#[derive(Debug)]
pub(crate) enum RequestBody {
    /// Known in full (`end(data)` before anything was sent).
    Whole(Option<Bytes>),
    /// Streamed by `write` calls until `end`.
    Streamed(mpsc::Receiver<Bytes>),
}

impl Body for RequestBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Self::Whole(data) => Poll::Ready(data.take().map(|d| Ok(Frame::data(d)))),
            Self::Streamed(rx) => rx
                .poll_recv(cx)
                .map(|chunk| chunk.map(|d| Ok(Frame::data(d)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, Self::Whole(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Whole(data) => SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64)),
            Self::Streamed(_) => SizeHint::default(),
        }
    }
}
