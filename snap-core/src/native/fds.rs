//! Open file descriptors: which the engine reopens at restore and which it
//! cannot restore.

use std::fmt;
use std::fs;

use super::DumpError;
use super::state::OpenFile;
use crate::OsError;
use crate::fd_policy::{FdAction, FdKind, FdPolicy};

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
pub(super) fn scan(policy: &FdPolicy) -> Result<Vec<OpenFile>, DumpError> {
    let fds: Vec<i32> = fs::read_dir("/proc/self/fd")
        .map_err(OsError::during("read /proc/self/fd"))?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
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
            let (flags, offset) = fdinfo(fd).map_err(OsError::during("read /proc/self/fdinfo"))?;
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
            FdAction::Close => nix::unistd::close(fd)
                .map_err(|e| OsError::new("close a descriptor the policy closes", e.into()))?,
            FdAction::Ignore => {}
        }
    }
    if offenders.is_empty() {
        Ok(files)
    } else {
        Err(DumpError::Descriptors { offenders })
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
fn fdinfo(fd: i32) -> std::io::Result<(i32, u64)> {
    let text = fs::read_to_string(format!("/proc/self/fdinfo/{fd}"))?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
    };
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "no flags or pos");
    let flags = field("flags:")
        .and_then(|f| i32::from_str_radix(f, 8).ok())
        .ok_or_else(bad)?;
    let pos = field("pos:").and_then(|p| p.parse().ok()).ok_or_else(bad)?;
    Ok((flags, pos))
}
