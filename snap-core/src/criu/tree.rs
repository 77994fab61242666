//! What the engine must know about a process tree before dumping it, read
//! from `/proc`, and what it records for the restore.

use std::fs;
use std::io;
use std::path::PathBuf;

use bincode::{Decode, Encode};

/// One of the root's stdio descriptors, as it was at checkpoint time.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum StdioEnd {
    /// A pipe or socket to a process outside the tree. Every restore must
    /// hand in a replacement, which CRIU installs through `inherit_fd`.
    External {
        /// CRIU's key for it, such as `pipe:[12345]`.
        key: String,
    },
    /// A path CRIU reopens by itself (a regular file, `/dev/null`).
    Path {
        /// The path.
        path: String,
    },
    /// Not open.
    Closed,
}

impl StdioEnd {
    /// Whether this end is a socket, which CRIU only dumps with `ext_unix_sk`.
    pub(super) fn is_socket(&self) -> bool {
        matches!(self, Self::External { key } if key.starts_with("socket:"))
    }
}

/// The engine-private state of a CRIU snapshot, stored in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct CriuState {
    /// The root's pid when dumped, in the dumping host's view.
    pub root_pid: i32,
    /// Whether the root was PID 1 of a PID namespace of its own, so that
    /// restores get fresh namespaces and never collide.
    pub owns_pid_ns: bool,
    /// Whether the tree had a network namespace of its own.
    pub owns_net_ns: bool,
    /// Whether the root leads its own session. A root that does not (a
    /// program checkpointing itself from a shell's session) is dumped and
    /// restored as a shell job, joining the restorer's session.
    pub session_leader: bool,
    /// Whether that namespace had nothing but loopback, so a restore can
    /// start from an empty namespace and only bring `lo` up (much faster
    /// than CRIU replaying links, addresses and routes with `ip`).
    pub net_loopback_only: bool,
    /// The root's descriptors 0, 1 and 2.
    pub stdio: [StdioEnd; 3],
    /// CRIU's version, `major * 10000 + minor * 100 + sublevel`.
    pub criu_version: u32,
}

impl CriuState {
    pub(super) fn encode(&self) -> Result<Vec<u8>, bincode::error::EncodeError> {
        bincode::encode_to_vec(self, bincode::config::standard())
    }

    pub(super) fn decode(bytes: &[u8]) -> Result<Self, String> {
        let config = bincode::config::standard().with_limit::<{ 1 << 16 }>();
        match bincode::decode_from_slice::<Self, _>(bytes, config) {
            Ok((state, used)) if used == bytes.len() => Ok(state),
            Ok(_) => Err("trailing bytes after the CRIU state".into()),
            Err(e) => Err(e.to_string()),
        }
    }

    /// Whether CRIU dumped the root with its memory into `images`: each
    /// live process gets an `mm-N.img`, N its pid as CRIU saw it (1 for
    /// the init of a namespace of its own). A root that exited during the
    /// dump is saved as a zombie, with none.
    pub(super) fn root_dumped(&self, images: &std::path::Path) -> bool {
        let pid = if self.owns_pid_ns { 1 } else { self.root_pid };
        dumped_alive(images, pid)
    }
}

/// Whether CRIU dumped process `pid` (as the images number it) into
/// `images` with its memory, as a live process: a zombie gets no
/// `mm-N.img`.
pub(super) fn dumped_alive(images: &std::path::Path, pid: i32) -> bool {
    images.join(format!("mm-{pid}.img")).exists()
}

/// Why a process cannot be dumped as it is.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    /// There is no such process.
    #[error("no process with pid {0}")]
    NoSuchProcess(i32),
    /// The process has exited and waits to be reaped.
    #[error("pid {0} has exited (a zombie); there is nothing left to checkpoint")]
    Exited(i32),
    /// A stdio descriptor is a terminal, which needs a shell job.
    #[error(
        "fd {fd} of pid {pid} is the terminal {path}; give the process files, pipes or sockets as stdio (start it with `snaprun spawn`)"
    )]
    Terminal {
        /// The process.
        pid: i32,
        /// The descriptor.
        fd: i32,
        /// The terminal.
        path: String,
    },
    /// The session's leader is in an outer PID namespace (`/proc` shows
    /// session 0), so CRIU cannot record the session and refuses the dump.
    #[error(
        "the session leader of pid {0} is outside its PID namespace, which CRIU cannot dump; start the process in a session of its own (setsid, or `snaprun spawn`)"
    )]
    SessionOutside(i32),
    /// Reading `/proc` failed.
    #[error("{}", path.display())]
    Proc {
        /// What was read.
        path: PathBuf,
        /// The cause.
        #[source]
        cause: io::Error,
    },
}

/// Reads what the engine needs to know about the tree rooted at `pid`.
pub(super) fn inspect(pid: i32, criu_version: u32) -> Result<CriuState, TreeError> {
    let proc = PathBuf::from(format!("/proc/{pid}"));
    let status_path = proc.join("status");
    let status = fs::read_to_string(&status_path).map_err(|cause| match cause.kind() {
        io::ErrorKind::NotFound => TreeError::NoSuchProcess(pid),
        _ => TreeError::Proc {
            path: status_path,
            cause,
        },
    })?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::trim)
    };
    if field("State:").is_some_and(|state| state.starts_with('Z')) {
        return Err(TreeError::Exited(pid));
    }
    let gone = |path: PathBuf, cause: io::Error| match cause.kind() {
        io::ErrorKind::NotFound => TreeError::Exited(pid),
        _ => TreeError::Proc { path, cause },
    };
    let own = |rel: &str| -> Result<bool, TreeError> {
        let path = proc.join(rel);
        let theirs = fs::read_link(&path).map_err(|cause| gone(path, cause))?;
        let ours = fs::read_link(format!("/proc/self/{rel}")).map_err(|cause| TreeError::Proc {
            path: rel.into(),
            cause,
        })?;
        Ok(theirs != ours)
    };
    // NSpid lists the pid in each namespace, outermost first; PID 1 last
    // means the root is the init of its own namespace.
    let is_ns_init = field("NSpid:")
        .and_then(|ids| ids.split_whitespace().last())
        .is_some_and(|innermost| innermost == "1");
    let owns_pid_ns = own("ns/pid")? && is_ns_init;
    // /proc/PID/stat: "pid (comm) state ppid pgrp session ..."; comm may
    // hold spaces, so count from the closing parenthesis.
    let stat = fs::read_to_string(proc.join("stat")).unwrap_or_default();
    let session = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(3))
        .and_then(|session| session.parse::<i32>().ok());
    if session == Some(0) {
        return Err(TreeError::SessionOutside(pid));
    }
    let session_leader = session == Some(pid);
    let owns_net_ns = own("ns/net")?;
    // /proc/PID/net/dev lists the interfaces of PID's network namespace.
    let net_loopback_only = fs::read_to_string(proc.join("net/dev")).is_ok_and(|dev| {
        let names: Vec<&str> = dev
            .lines()
            .skip(2)
            .filter_map(|l| l.split(':').next())
            .map(str::trim)
            .collect();
        names == ["lo"]
    });

    let mut stdio = [StdioEnd::Closed, StdioEnd::Closed, StdioEnd::Closed];
    for (fd, end) in stdio.iter_mut().enumerate() {
        let target = match fs::read_link(proc.join(format!("fd/{fd}"))) {
            Ok(target) => target.to_string_lossy().into_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(cause) => {
                return Err(TreeError::Proc {
                    path: proc.join(format!("fd/{fd}")),
                    cause,
                });
            }
        };
        *end = if target.starts_with("pipe:[") || target.starts_with("socket:[") {
            StdioEnd::External { key: target }
        } else if target.starts_with("/dev/pts/")
            || target.starts_with("/dev/tty")
            || target == "/dev/console"
        {
            return Err(TreeError::Terminal {
                pid,
                fd: fd as i32,
                path: target,
            });
        } else {
            StdioEnd::Path { path: target }
        };
    }
    Ok(CriuState {
        root_pid: pid,
        owns_pid_ns,
        owns_net_ns,
        session_leader,
        net_loopback_only,
        stdio,
        criu_version,
    })
}
