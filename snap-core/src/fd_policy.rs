//! What [`checkpoint`](crate::checkpoint()) does with descriptors the
//! native engine cannot reopen by path (sockets, pipes, epoll, ...): refuse
//! the checkpoint and name them (the default), close them, or leave them.

use std::collections::BTreeMap;
use std::fmt;

/// What kind of descriptor something is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FdKind {
    /// A network or unix socket.
    Socket,
    /// A pipe or FIFO.
    Pipe,
    /// An epoll instance.
    Epoll,
    /// An eventfd.
    EventFd,
    /// A timerfd.
    TimerFd,
    /// A signalfd.
    SignalFd,
    /// An inotify instance.
    Inotify,
    /// Anything else the engine cannot reopen by path.
    Other,
}

impl fmt::Display for FdKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            Self::Socket => "socket",
            Self::Pipe => "pipe",
            Self::Epoll => "epoll",
            Self::EventFd => "eventfd",
            Self::TimerFd => "timerfd",
            Self::SignalFd => "signalfd",
            Self::Inotify => "inotify",
            Self::Other => "other",
        };
        f.write_str(name)
    }
}

/// What to do with descriptors the engine cannot restore.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FdAction {
    /// Refuse the checkpoint, listing them (the default).
    #[default]
    Error,
    /// Close them before the checkpoint.
    Close,
    /// Leave them open; restored processes do not have them.
    Ignore,
}

/// The action per kind of descriptor.
#[derive(Debug, Clone, Default)]
pub struct FdPolicy {
    actions: BTreeMap<FdKind, FdAction>,
}

impl FdPolicy {
    /// Sets the action for `kind`.
    pub fn with(mut self, kind: FdKind, action: FdAction) -> Self {
        self.actions.insert(kind, action);
        self
    }

    #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
    pub(crate) fn action(&self, kind: FdKind) -> FdAction {
        self.actions.get(&kind).copied().unwrap_or_default()
    }
}
