//! One request to `criu swrk` over its SOCK_SEQPACKET RPC, using the message
//! types that the `rust-criu` crate generates from CRIU's `rpc.proto`.
//!
//! `rust_criu::Criu` covers the common case, but three things this engine
//! needs are out of its reach: the `network_lock` option (a tree that owns its
//! network namespace must use `skip` where no iptables is installed), the
//! restored pid in the RESTORE response, and handing `inherit_fd` descriptors
//! to CRIU without clearing close-on-exec in this (multi-threaded) process.
//! So the engine drives the same protocol itself.

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd, RawFd};
use std::path::Path;
use std::process::Child;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::socket::{AddressFamily, MsgFlags, SockFlag, SockType, recv, socketpair};
use protobuf::{Message, MessageField};
use rust_criu::rust_criu_protobuf::rpc::{Criu_opts, Criu_req, Criu_req_type, Criu_resp};

use super::{log, sys};

/// The largest RPC message accepted from CRIU.
const MAX_MESSAGE: usize = 1 << 20;

/// Why an RPC exchange with CRIU failed.
#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    /// The binary could not be started.
    #[error("cannot start {binary}")]
    Spawn {
        /// The CRIU binary.
        binary: String,
        /// The cause.
        #[source]
        cause: io::Error,
    },
    /// Talking to the worker failed.
    #[error("{op} on the CRIU RPC socket")]
    Socket {
        /// The operation.
        op: &'static str,
        /// The cause.
        #[source]
        cause: io::Error,
    },
    /// The worker sent something that is not a CRIU response.
    #[error("malformed CRIU RPC response")]
    Malformed(#[source] protobuf::Error),
    /// The worker's answer does not fit the request.
    #[error("unexpected CRIU RPC response: {0}")]
    Unexpected(String),
    /// The request could not be encoded.
    #[error("cannot encode the CRIU RPC request")]
    Encode(#[source] protobuf::Error),
    /// The worker exited before answering.
    #[error("CRIU exited without answering ({0})")]
    Vanished(String),
    /// The worker had exited before it could be sent the request (a
    /// worker kept ready that died while it waited): it did nothing.
    #[error("CRIU had exited before it was asked ({0})")]
    Gone(String),
    /// CRIU answered that the operation failed.
    #[error("CRIU reports failure{}{}", errno.map(|e| format!(" (errno {e}: {})", io::Error::from_raw_os_error(e))).unwrap_or_default(), message.as_deref().map(|m| format!(": {m}")).unwrap_or_default())]
    Failed {
        /// CRIU's errno for the failure, if it set one.
        errno: Option<i32>,
        /// CRIU's error message, if it sent one.
        message: Option<String>,
    },
}

/// A successful exchange.
#[derive(Debug)]
pub(super) struct Reply {
    pub(super) response: Criu_resp,
    /// Each notification CRIU sent (`pre-dump`, `post-restore`, ...) and when,
    /// counted from the start of the request.
    pub(super) notifications: Vec<(String, Duration)>,
}

/// Sends one request of `kind` with `opts` to a fresh `criu swrk` and waits
/// for the answer. Each `(fd, key)` of `inherit` is handed to CRIU as an
/// `inherit_fd` entry: the restored resource `key` becomes `fd`.
/// `on_notify` sees each notification (with `notify_scripts` set) as the
/// script name and the pid CRIU gives; an error fails the operation.
pub(super) fn call(
    binary: &Path,
    kind: Criu_req_type,
    opts: Option<Criu_opts>,
    inherit: &[(BorrowedFd<'_>, String)],
    on_notify: &mut dyn FnMut(&str, i32) -> Result<(), String>,
) -> Result<Reply, RpcError> {
    let fds: Vec<BorrowedFd<'_>> = inherit.iter().map(|(fd, _)| *fd).collect();
    let keys: Vec<String> = inherit.iter().map(|(_, key)| key.clone()).collect();
    Worker::spawn(binary, kind, &fds, Restoring::default())?.call(opts, &keys, on_notify)
}

/// How a restore's worker runs.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Restoring {
    /// Map memory from the page images ([`super::RestoreOptions::map_pages`]).
    pub(super) map_pages: bool,
    /// Leave the caller's process group. For a tree restored into a session
    /// of its own: killed halfway, a worker leaves the tasks it made waiting
    /// for it forever, so a signal to the caller's group (a terminal's
    /// Ctrl-C, a supervisor's kill) must not reach it; it finishes, or fails
    /// on finding its caller gone and kills what it made. A tree restored
    /// into the caller's session as a shell job joins the worker's group, so
    /// that worker stays in the caller's.
    pub(super) own_group: bool,
}

/// A `criu swrk` waiting for its one request. Starting one costs several
/// milliseconds (CRIU links some twenty shared libraries), so a caller may
/// start it ahead of time. Dropped unused, it is killed and reaped.
#[derive(Debug)]
pub(super) struct Worker {
    child: Child,
    /// Becomes readable when the worker exits, whoever still holds its end
    /// of the socket; shared with whoever may have to stop it.
    pidfd: Arc<OwnedFd>,
    /// The worker's end of the socket, as `/proc/PID/fd` names it: the
    /// tasks it forks for a restore inherit it, and are found by it if the
    /// worker dies.
    their_end: Option<(&'static str, u64)>,
    sock: OwnedFd,
    kind: Criu_req_type,
    /// The numbers the inherited descriptors have in the worker, in order.
    inherited: Vec<RawFd>,
}

impl Worker {
    /// Starts a worker for a request of `kind` with `inherit` available to
    /// it; a restore's worker runs as `restoring` says.
    pub(super) fn spawn(
        binary: &Path,
        kind: Criu_req_type,
        inherit: &[BorrowedFd<'_>],
        restoring: Restoring,
    ) -> Result<Self, RpcError> {
        let (ours, theirs): (OwnedFd, OwnedFd) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(|e| RpcError::Socket {
            op: "socketpair",
            cause: e.into(),
        })?;
        let (child, numbers) =
            // A dump or a version request is asked and answered on the
            // calling thread; a restore may be prepared on one thread and
            // asked on another, so it must not die with the first.
            sys::spawn_swrk(
                binary,
                theirs.as_fd(),
                inherit,
                kind != Criu_req_type::RESTORE,
                restoring.own_group,
                restoring.map_pages,
            )
            .map_err(
                |cause| RpcError::Spawn {
                    binary: binary.display().to_string(),
                    cause,
                },
            )?;
        let their_end = sys::pipe_or_socket(theirs.as_fd());
        let pidfd = i32::try_from(child.id())
            .map_err(io::Error::other)
            .and_then(sys::pidfd_open)
            .map_err(|cause| RpcError::Socket {
                op: "pidfd_open",
                cause,
            })?;
        Ok(Self {
            child,
            pidfd: Arc::new(pidfd),
            their_end,
            sock: ours,
            kind,
            inherited: numbers[1..].to_vec(),
        })
    }

    /// The worker's pid.
    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The worker's end of the socket, which the tasks it forks inherit.
    pub(super) fn their_end(&self) -> Option<(&'static str, u64)> {
        self.their_end
    }

    /// A pidfd of the worker, to kill it from another thread.
    pub(super) fn pidfd(&self) -> Arc<OwnedFd> {
        Arc::clone(&self.pidfd)
    }

    /// Whether the worker is still there to be asked: false once it has
    /// exited or been killed (and then it is reaped).
    pub(super) fn is_waiting(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends the request with `opts`, the inherited descriptors named by
    /// `keys` (in the order given to [`Worker::spawn`]), and waits for the
    /// answer.
    /// `opts` is `None` for a request that takes none (a version request:
    /// CRIU's options message has required fields).
    pub(super) fn call(
        mut self,
        mut opts: Option<Criu_opts>,
        keys: &[String],
        on_notify: &mut dyn FnMut(&str, i32) -> Result<(), String>,
    ) -> Result<Reply, RpcError> {
        let started = Instant::now();
        for (key, number) in keys.iter().zip(&self.inherited) {
            let mut entry = rust_criu::rust_criu_protobuf::rpc::Inherit_fd::new();
            entry.set_key(key.clone());
            entry.set_fd(*number);
            opts.get_or_insert_with(Criu_opts::new)
                .inherit_fd
                .push(entry);
        }
        let mut req = Criu_req::new();
        req.set_type(self.kind);
        req.opts = MessageField::from_option(opts);

        let result = exchange(
            &self.sock,
            self.pidfd.as_fd(),
            &req,
            self.kind,
            started,
            on_notify,
        );
        // CRIU exits once it has answered (or once its socket closes).
        let _ = nix::sys::socket::shutdown(self.sock.as_raw_fd(), nix::sys::socket::Shutdown::Both);
        let status = match self.child.wait() {
            Ok(status) => status.to_string(),
            Err(e) => e.to_string(),
        };
        match result {
            Err(RpcError::Socket { op: "receive", .. }) | Err(RpcError::Vanished(_)) => {
                Err(RpcError::Vanished(status))
            }
            Err(RpcError::Gone(_)) => Err(RpcError::Gone(status)),
            other => other,
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        // Reaped already when `call` ran; a worker never asked is killed.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn exchange(
    sock: &OwnedFd,
    worker: BorrowedFd<'_>,
    req: &Criu_req,
    kind: Criu_req_type,
    started: Instant,
    on_notify: &mut dyn FnMut(&str, i32) -> Result<(), String>,
) -> Result<Reply, RpcError> {
    let bytes = req.write_to_bytes().map_err(RpcError::Encode)?;
    send(sock, &bytes)?;
    let mut notifications = Vec::new();
    loop {
        let response = receive(sock, worker)?;
        if response.type_() == Criu_req_type::NOTIFY {
            let script = response.notify.script().to_owned();
            tracing::trace!(%script, "criu notification");
            let handled = on_notify(&script, response.notify.pid());
            notifications.push((script, started.elapsed()));
            let mut ack = Criu_req::new();
            ack.set_type(Criu_req_type::NOTIFY);
            ack.set_notify_success(handled.is_ok());
            let ack = ack.write_to_bytes().map_err(RpcError::Encode)?;
            send(sock, &ack)?;
            if let Err(message) = handled {
                return Err(RpcError::Failed {
                    errno: None,
                    message: Some(message),
                });
            }
            continue;
        }
        if !response.success() {
            return Err(RpcError::Failed {
                errno: response
                    .has_cr_errno()
                    .then(|| response.cr_errno())
                    .filter(|e| *e != 0),
                message: response
                    .has_cr_errmsg()
                    .then(|| response.cr_errmsg().trim().to_owned())
                    // The log's tail, kept with the error, names the cause.
                    .filter(|m| !m.is_empty() && !log::harmless(m)),
            });
        }
        if response.type_() != kind {
            return Err(RpcError::Unexpected(format!(
                "answer of type {:?} to a {kind:?} request",
                response.type_()
            )));
        }
        return Ok(Reply {
            response,
            notifications,
        });
    }
}

fn send(sock: &OwnedFd, bytes: &[u8]) -> Result<(), RpcError> {
    let mut file = File::from(
        sock.try_clone()
            .map_err(|cause| RpcError::Socket { op: "dup", cause })?,
    );
    // A SEQPACKET write is one message; a short write is an error. One
    // whose peer has exited is refused: that worker never saw the request.
    file.write_all(bytes)
        .map_err(|cause| match cause.raw_os_error() {
            Some(libc::EPIPE | libc::ECONNRESET | libc::ENOTCONN) => {
                RpcError::Gone(cause.to_string())
            }
            _ => RpcError::Socket { op: "send", cause },
        })
}

/// Receives one message, or fails once the worker (`pidfd`) has exited
/// without sending one: the socket may stay open after it dies, held by
/// tasks it forked.
fn receive(sock: &OwnedFd, worker: BorrowedFd<'_>) -> Result<Criu_resp, RpcError> {
    use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
    let mut buf = vec![0u8; MAX_MESSAGE];
    let n = loop {
        let mut fds = [
            PollFd::new(sock.as_fd(), PollFlags::POLLIN),
            PollFd::new(worker, PollFlags::POLLIN),
        ];
        match poll(&mut fds, PollTimeout::NONE) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                return Err(RpcError::Socket {
                    op: "poll",
                    cause: e.into(),
                });
            }
        }
        // A message sent just before the worker exited is still read.
        let exited = fds[1].any().unwrap_or(false) && !fds[0].any().unwrap_or(false);
        let flags = match exited {
            true => MsgFlags::MSG_TRUNC | MsgFlags::MSG_DONTWAIT,
            false => MsgFlags::MSG_TRUNC,
        };
        match recv(sock.as_raw_fd(), &mut buf, flags) {
            Ok(n) => break n,
            Err(nix::errno::Errno::EAGAIN) if exited => {
                return Err(RpcError::Vanished("the worker exited".into()));
            }
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => {
                return Err(RpcError::Socket {
                    op: "receive",
                    cause: e.into(),
                });
            }
        }
    };
    if n == 0 {
        return Err(RpcError::Vanished("socket closed".into()));
    }
    if n > buf.len() {
        return Err(RpcError::Unexpected(format!(
            "message of {n} bytes exceeds {MAX_MESSAGE}"
        )));
    }
    Criu_resp::parse_from_bytes(&buf[..n]).map_err(RpcError::Malformed)
}

/// Kills every other process that holds one of `files`, each a pipe or a
/// socket (`"pipe"` or `"socket"`) and its inode: the tasks a CRIU worker
/// forked for a restore and left behind when it died.
pub(super) fn kill_holders(files: &[(&str, u64)]) {
    let links: Vec<String> = files
        .iter()
        .map(|(kind, inode)| format!("{kind}:[{inode}]"))
        .collect();
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return;
    };
    let me = std::process::id() as i32;
    for pid in procs
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me)
    {
        let holds = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|fd| {
                std::fs::read_link(fd.path()).is_ok_and(|target| {
                    links.iter().any(|link| target.as_os_str() == link.as_str())
                })
            });
        if holds {
            tracing::debug!(pid, "killing a task left by a CRIU worker that died");
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worker holds its own end of the socket and not ours, so that it
    /// sees the socket close, and exits, when its caller dies.
    #[test]
    fn a_worker_holds_only_its_own_end_of_the_socket() {
        let binary = match crate::criu::locate() {
            Ok((binary, _)) => binary,
            Err(err) if std::env::var("SNAP_REQUIRE_CRIU").is_ok_and(|v| v == "1") => {
                panic!("SNAP_REQUIRE_CRIU=1 but {err}")
            }
            Err(err) => {
                eprintln!("SKIPPED: {err}");
                return;
            }
        };
        let worker = Worker::spawn(&binary, Criu_req_type::VERSION, &[], Restoring::default())
            .expect("spawn criu swrk");
        let sockets: Vec<String> = std::fs::read_dir(format!("/proc/{}/fd", worker.pid()))
            .expect("read the worker's descriptors")
            .flatten()
            .filter_map(|fd| std::fs::read_link(fd.path()).ok())
            .map(|target| target.display().to_string())
            .filter(|target| target.starts_with("socket:"))
            .collect();
        assert_eq!(sockets.len(), 1, "{sockets:?}");
        // It still answers.
        let reply = worker
            .call(None, &[], &mut |_, _| Ok(()))
            .expect("a version answer");
        assert!(reply.response.version.major_number() >= 4);
    }
}
