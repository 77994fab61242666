//! [`checkpoint`](crate::checkpoint()) through CRIU
//! ([`SelfEngine::Criu`](crate::SelfEngine)), for programs the native engine
//! refuses (several threads, live sockets) and for architectures it does
//! not run on: the process asks a helper outside its own tree to dump it,
//! as CRaC's criuengine does.
//!
//! The process blocks reading a pipe whose other end only the helper holds.
//! The helper (this same binary, exec'd with `SNAP_CRIU_HELPER`, detached so
//! it is not in the dumped tree) has CRIU dump the process, leaving it
//! running, and writes `C` into the pipe: the process returns
//! `Checkpointed`. A restore hands the restored process a fresh pipe in place
//! of that one (CRIU `inherit_fd`) carrying `R` and the restoring side's
//! args and environment: it returns `Restored`.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use super::{CheckpointOptions, CriuEngine, LocateError, RestoreOptions, RestoredTree};
use crate::resumed::{RequestError, RestoreRequest, Resumed};
use crate::snapshot::{OpenError, Snapshot};
use crate::{Engine, OsError};

/// The manifest annotation naming the pipe the process waits on.
const RESUME_PIPE: &str = "snap.resume-pipe";
const HELPER_ENV: &str = "SNAP_CRIU_HELPER";

/// The first byte on the resume pipe: the helper dumped the process.
const CHECKPOINTED: u8 = b'C';
/// The first byte on the resume pipe: a restore, its request follows.
const RESTORED: u8 = b'R';
/// The first byte on the resume pipe: the helper failed, its report follows.
const FAILED: u8 = b'E';

/// Why a CRIU checkpoint of this process, or its restore, failed.
#[derive(Debug, thiserror::Error)]
pub enum SelfDumpError {
    /// No usable CRIU.
    #[error(transparent)]
    Locate(#[from] LocateError),
    /// The dump helper, a separate process, reported a failure. Its report
    /// is text because it crosses a process boundary: CRIU's error and the
    /// tail of its log, as the helper rendered them.
    #[error("the CRIU dump helper failed: {report}")]
    DumpFailed {
        /// What the helper reported.
        report: String,
    },
    /// The snapshot the helper wrote, or the one to restore, is not valid.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The snapshot was not made by [`checkpoint_self`].
    #[error("{dir} was not made by snap::checkpoint with SelfEngine::Criu")]
    NotSelfDumped {
        /// The snapshot directory.
        dir: String,
    },
    /// The restore request could not be passed or read.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// CRIU could not restore the snapshot.
    #[error(transparent)]
    Restore(#[from] super::RestoreError),
    /// A system call failed.
    #[error(transparent)]
    Os(#[from] OsError),
}

/// Checkpoints this process (and its children) into `dir` with CRIU.
/// Returns twice, like [`checkpoint`](crate::checkpoint()). Needs root.
///
/// A process whose session leader is in an outer PID namespace (as under a
/// container's or CI runner's shell) cannot be dumped by CRIU; such a process
/// first starts a session of its own (`setsid`), detaching from that outer
/// session and its terminal.
pub fn checkpoint_self(dir: &Path) -> Result<Resumed, SelfDumpError> {
    CriuEngine::locate()?;
    own_session_if_outside()?;
    let (mut resume, report) = std::io::pipe().map_err(OsError::during("pipe"))?;
    let resume_fd: OwnedFd = resume.try_clone().map_err(OsError::during("dup"))?.into();
    let key = std::fs::read_link(format!("/proc/self/fd/{}", resume_fd.as_raw_fd()))
        .map_err(OsError::during("read the pipe's identity"))?
        .to_string_lossy()
        .into_owned();
    drop(resume_fd);
    let report: OwnedFd = report.into();
    let report_raw = report.as_raw_fd();
    let mut helper = Command::new("/proc/self/exe");
    helper
        .env(
            HELPER_ENV,
            format!("{} {} {}", std::process::id(), key, dir.display()),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    // SAFETY: between fork and exec the closure only makes system calls:
    // it forks once more (so the helper is not in the dumped tree), starts a
    // session and moves the report pipe to fd 3 without close-on-exec.
    unsafe {
        helper.pre_exec(move || {
            match libc::fork() {
                -1 => return Err(std::io::Error::last_os_error()),
                0 => {}
                _ => libc::_exit(0),
            }
            libc::setsid();
            if libc::dup2(report_raw, 3) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut intermediate = helper
        .spawn()
        .map_err(OsError::during("start the CRIU helper"))?;
    // The intermediate child only forks the helper and exits.
    intermediate
        .wait()
        .map_err(OsError::during("wait for the CRIU helper's parent"))?;
    drop(report);

    // CRIU dumps this process while it waits here.
    let mut tag = [0u8; 1];
    resume
        .read_exact(&mut tag)
        .map_err(OsError::during("wait for the CRIU helper"))?;
    match tag[0] {
        CHECKPOINTED => {
            let snapshot = Snapshot::open(dir, &CriuEngine::requirements(None))?;
            Ok(Resumed::Checkpointed(Box::new(snapshot)))
        }
        RESTORED => {
            let mut rest = Vec::new();
            resume
                .read_to_end(&mut rest)
                .map_err(OsError::during("read the restore request"))?;
            Ok(Resumed::Restored(
                RestoreRequest::decode(&rest)?.into_restored(),
            ))
        }
        _ => {
            let mut report = Vec::new();
            resume
                .read_to_end(&mut report)
                .map_err(OsError::during("read the CRIU helper's report"))?;
            Err(SelfDumpError::DumpFailed {
                report: String::from_utf8_lossy(&report).into_owned(),
            })
        }
    }
}

/// Moves this process into a session of its own when its session's leader
/// is outside its PID namespace (`getsid` answers 0).
fn own_session_if_outside() -> Result<(), SelfDumpError> {
    use nix::unistd::{getsid, setsid};
    if getsid(None)
        .map_err(|e| OsError::new("getsid", e.into()))?
        .as_raw()
        != 0
    {
        return Ok(());
    }
    tracing::info!("session leader is outside the PID namespace; starting a new session");
    setsid().map(drop).map_err(|e| {
        OsError::new(
            "setsid (the session leader is outside this PID namespace, which CRIU cannot dump, \
             and this process leads a process group)",
            e.into(),
        )
        .into()
    })
}

/// Runs the dump helper if this process was started as one (by
/// [`checkpoint_self`]); never returns then. [`crate::init`] calls it.
pub(crate) fn run_dump_helper_if_asked() {
    let Some(request) = std::env::var_os(HELPER_ENV) else {
        return;
    };
    let request = request.to_string_lossy().into_owned();
    let mut parts = request.splitn(3, ' ');
    let (Some(pid), Some(key), Some(dir)) = (parts.next(), parts.next(), parts.next()) else {
        std::process::exit(2);
    };
    // SAFETY: fd 3 is the report pipe the parent installed for this helper.
    let mut report = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(3) };
    let outcome = (|| -> Result<(), String> {
        let pid: i32 = pid.parse().map_err(|_| format!("bad pid {pid}"))?;
        let engine = CriuEngine::locate().map_err(|e| crate::os_error::chain(&e))?;
        let options = CheckpointOptions {
            leave_running: true,
            identity: None,
            annotations: vec![(RESUME_PIPE.into(), key.as_bytes().to_vec())],
            essential: Vec::new(),
        };
        engine
            .checkpoint(&pid, Path::new(dir), &options)
            .map(drop)
            .map_err(|e| crate::os_error::chain(&e))
    })();
    let written = match outcome {
        Ok(()) => report.write_all(&[CHECKPOINTED]),
        Err(message) => report.write_all(&[[FAILED].as_slice(), message.as_bytes()].concat()),
    };
    // The checkpointing process reads a failure from a closed pipe too.
    std::process::exit(i32::from(written.is_err()))
}

/// Restores a snapshot made by [`checkpoint_self`]: the restored process
/// returns `Restored` with `args` and `env`. Needs root; the original process
/// must have exited (its pid comes back).
pub fn restore_self(
    dir: &Path,
    mut options: RestoreOptions,
    args: Vec<String>,
    env: Vec<(String, String)>,
) -> Result<RestoredTree, SelfDumpError> {
    let engine = CriuEngine::locate()?;
    let snapshot = Snapshot::open(dir, &CriuEngine::requirements(None))?;
    let key = snapshot
        .manifest()
        .annotation(RESUME_PIPE)
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .ok_or_else(|| SelfDumpError::NotSelfDumped {
            dir: dir.display().to_string(),
        })?;
    let (resume, mut feed) = std::io::pipe().map_err(OsError::during("pipe"))?;
    let request = RestoreRequest {
        args,
        env,
        snapshot: dir.display().to_string(),
    };
    let mut message = vec![RESTORED];
    message.extend(request.encode()?);
    options.inherit.push((resume.into(), key));
    let mut tree = engine.restore(&snapshot, options)?;
    // Only now that CRIU is done does the process learn it is restored and
    // run on. CRIU resumes the threads, then detaches them one by one: a
    // process quick to exit could otherwise take a thread with it before
    // CRIU let go of it, and CRIU would call the restore failed.
    if let Err(cause) = feed.write_all(&message) {
        let _ = tree.kill();
        return Err(OsError::during("write the restore request")(cause).into());
    }
    drop(feed);
    Ok(tree)
}
