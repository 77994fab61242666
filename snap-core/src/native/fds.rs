//! Open file descriptors: which the engine reopens at restore and which it
//! cannot restore.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;

use super::state::OpenFile;

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

    fn action(&self, kind: FdKind) -> FdAction {
        self.actions.get(&kind).copied().unwrap_or_default()
    }
}

/// A descriptor the engine refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offender {
    /// The descriptor.
    pub fd: i32,
    /// Its kind.
    pub kind: FdKind,
    /// What `/proc/self/fd` says it points at.
    pub target: String,
}

impl fmt::Display for Offender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "fd {} {} {}", self.fd, self.kind, self.target)
    }
}

/// Scans this process's descriptors above stdio. Regular files and character
/// devices are reopened at restore; the rest follow `policy`.
pub(super) fn scan(policy: &FdPolicy) -> Result<Vec<OpenFile>, Vec<Offender>> {
    let fds: Vec<i32> = match fs::read_dir("/proc/self/fd") {
        Ok(entries) => entries
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect(),
        Err(_) => Vec::new(),
    };
    let mut files = Vec::new();
    let mut offenders = Vec::new();
    for fd in fds.into_iter().filter(|fd| *fd > 2) {
        // The directory stream's own descriptor is gone by now.
        let Ok(target) = fs::read_link(format!("/proc/self/fd/{fd}")) else {
            continue;
        };
        let target = target.to_string_lossy().into_owned();
        let reopenable = target.starts_with('/')
            && fs::metadata(&target).is_ok_and(|m| {
                use std::os::unix::fs::FileTypeExt;
                m.is_file() || m.file_type().is_char_device()
            });
        if reopenable {
            let (flags, offset) = fdinfo(fd);
            files.push(OpenFile {
                fd,
                path: target,
                flags,
                offset,
            });
            continue;
        }
        let kind = kind_of(&target);
        match policy.action(kind) {
            FdAction::Error => offenders.push(Offender { fd, kind, target }),
            FdAction::Close => {
                let _ = nix::unistd::close(fd);
            }
            FdAction::Ignore => {}
        }
    }
    if offenders.is_empty() {
        Ok(files)
    } else {
        Err(offenders)
    }
}

fn kind_of(target: &str) -> FdKind {
    match target {
        t if t.starts_with("socket:") => FdKind::Socket,
        t if t.starts_with("pipe:") => FdKind::Pipe,
        "anon_inode:[eventpoll]" => FdKind::Epoll,
        "anon_inode:[eventfd]" => FdKind::EventFd,
        "anon_inode:[timerfd]" => FdKind::TimerFd,
        "anon_inode:[signalfd]" => FdKind::SignalFd,
        "anon_inode:inotify" => FdKind::Inotify,
        t if t.starts_with('/') => {
            if fs::metadata(t).is_ok_and(|m| {
                use std::os::unix::fs::FileTypeExt;
                m.file_type().is_fifo()
            }) {
                FdKind::Pipe
            } else {
                FdKind::Other
            }
        }
        _ => FdKind::Other,
    }
}

/// `(flags, pos)` from `/proc/self/fdinfo/FD`.
fn fdinfo(fd: i32) -> (i32, u64) {
    let text = fs::read_to_string(format!("/proc/self/fdinfo/{fd}")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
    };
    let flags = field("flags:")
        .and_then(|f| i32::from_str_radix(f, 8).ok())
        .unwrap_or(0);
    let pos = field("pos:").and_then(|p| p.parse().ok()).unwrap_or(0);
    (flags, pos)
}
