//! Wakers that can be cut loose from the async runtime that made them.
//!
//! QuickJS's scheduler (rquickjs) keeps the last waker it was polled with,
//! and a tokio waker keeps its runtime's driver alive: epoll and eventfd
//! descriptors the native engine refuses at the snapshot point. So the init
//! phase runs under [`Detachable`]: everything inside sees a proxy waker,
//! and [`Detachable::detach`] drops the real one before the init runtime is
//! dropped.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};

/// The slot a proxy waker forwards to.
#[derive(Debug, Default)]
struct Slot(Mutex<Option<Waker>>);

impl Wake for Slot {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let waker = self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}

/// Runs futures with a proxy waker that [`Self::detach`] disconnects.
#[derive(Debug, Default, Clone)]
pub(crate) struct Detachable(Arc<Slot>);

impl Detachable {
    /// `future`, polled with this proxy's waker.
    pub(crate) fn run<F: Future>(&self, future: F) -> impl Future<Output = F::Output> {
        Proxied {
            slot: Arc::clone(&self.0),
            future: Box::pin(future),
        }
    }

    /// Drops the real waker: whatever kept the proxy keeps nothing of the
    /// runtime that polled it.
    pub(crate) fn detach(&self) {
        self.0
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }
}

struct Proxied<F> {
    slot: Arc<Slot>,
    future: Pin<Box<F>>,
}

impl<F: Future> Future for Proxied<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        *self.slot.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(cx.waker().clone());
        let proxy = Waker::from(Arc::clone(&self.slot));
        self.future.as_mut().poll(&mut Context::from_waker(&proxy))
    }
}
