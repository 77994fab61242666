//! `snap::checkpoint` through CRIU, for programs the native engine refuses
//! (several threads, live sockets): the process asks a helper outside its
//! own tree to dump it, as CRaC's criuengine does.
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
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::restore::Info;
use super::{GENERATION, RestoreContext, Resumed};
use crate::Engine;
use crate::criu::{CheckpointOptions, CriuEngine, RestoreOptions, RestoredTree};
use crate::snapshot::Snapshot;

/// The manifest annotation naming the pipe the process waits on.
const RESUME_PIPE: &str = "snap.resume-pipe";
const HELPER_ENV: &str = "SNAP_CRIU_HELPER";

/// Why a CRIU checkpoint of this process failed.
#[derive(Debug, thiserror::Error)]
pub enum CriuSelfError {
    /// No usable CRIU.
    #[error(transparent)]
    Locate(#[from] crate::criu::LocateError),
    /// The helper reported a failure (CRIU's, with its log).
    #[error("{0}")]
    Helper(String),
    /// A system call failed.
    #[error("{op}: {cause}")]
    Io {
        /// The operation.
        op: &'static str,
        /// The cause.
        cause: std::io::Error,
    },
}

fn io(op: &'static str) -> impl FnOnce(std::io::Error) -> CriuSelfError {
    move |cause| CriuSelfError::Io { op, cause }
}

/// Checkpoints this process (and its children) into `dir` with CRIU.
/// Returns twice, like [`super::checkpoint`]. Needs root.
///
/// A process whose session leader is in an outer PID namespace (as under a
/// container's or CI runner's shell) cannot be dumped by CRIU; such a process
/// first starts a session of its own (`setsid`), detaching from that outer
/// session and its terminal.
pub fn checkpoint_with_criu(dir: &Path) -> Result<Resumed, CriuSelfError> {
    CriuEngine::locate()?;
    own_session_if_outside()?;
    let (mut resume, report) = std::io::pipe().map_err(io("pipe"))?;
    let resume_fd: OwnedFd = resume.try_clone().map_err(io("dup"))?.into();
    let key = std::fs::read_link(format!("/proc/self/fd/{}", resume_fd.as_raw_fd()))
        .map_err(io("read the pipe's identity"))?
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
    let mut intermediate = helper.spawn().map_err(io("start the CRIU helper"))?;
    let _ = intermediate.wait();
    drop(report);

    // CRIU dumps this process while it waits here.
    let mut tag = [0u8; 1];
    resume
        .read_exact(&mut tag)
        .map_err(io("wait for the CRIU helper"))?;
    match tag[0] {
        b'C' => {
            let snapshot = Snapshot::open(dir, &CriuEngine::requirements(None))
                .map_err(|e| CriuSelfError::Helper(e.to_string()))?;
            Ok(Resumed::Checkpointed(Box::new(snapshot)))
        }
        b'R' => {
            let mut rest = Vec::new();
            resume
                .read_to_end(&mut rest)
                .map_err(io("read the restore info"))?;
            let info = bincode::decode_from_slice::<Info, _>(&rest, bincode::config::standard())
                .map(|(info, _)| info)
                .map_err(|e| CriuSelfError::Helper(format!("restore info: {e}")))?;
            super::checkpoint::apply_env(&info.env);
            let generation = GENERATION.fetch_add(1, std::sync::atomic::Ordering::AcqRel) + 1;
            Ok(Resumed::Restored(RestoreContext {
                args: info.args,
                env: info.env,
                generation,
                snapshot: PathBuf::from(info.snapshot),
            }))
        }
        _ => {
            let mut message = Vec::new();
            let _ = resume.read_to_end(&mut message);
            Err(CriuSelfError::Helper(
                String::from_utf8_lossy(&message).into_owned(),
            ))
        }
    }
}

/// Moves this process into a session of its own when its session's leader
/// is outside its PID namespace (`getsid` answers 0).
fn own_session_if_outside() -> Result<(), CriuSelfError> {
    use nix::unistd::{getsid, setsid};
    if getsid(None).map_err(|e| io("getsid")(e.into()))?.as_raw() != 0 {
        return Ok(());
    }
    tracing::info!("session leader is outside the PID namespace; starting a new session");
    setsid().map(drop).map_err(|e| CriuSelfError::Io {
        op: "setsid (the session leader is outside this PID namespace, which CRIU cannot dump, \
             and this process leads a process group)",
        cause: e.into(),
    })
}

/// Runs the helper if this process was started as one; never returns then.
pub(super) fn run_helper_if_asked() {
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
        let engine = CriuEngine::locate().map_err(|e| e.to_string())?;
        let options = CheckpointOptions {
            leave_running: true,
            identity: None,
            annotations: vec![(RESUME_PIPE.into(), key.as_bytes().to_vec())],
        };
        engine
            .checkpoint(&pid, Path::new(dir), &options)
            .map(drop)
            .map_err(|e| e.to_string())
    })();
    let _ = match outcome {
        Ok(()) => report.write_all(b"C"),
        Err(message) => report.write_all(format!("E{message}").as_bytes()),
    };
    std::process::exit(0)
}

/// Restores a snapshot made by [`checkpoint_with_criu`]: the restored process
/// returns `Restored` with `args` and `env`. Needs root; the original process
/// must have exited (its pid comes back).
pub fn restore_with_criu(
    dir: &Path,
    mut options: RestoreOptions,
    args: Vec<String>,
    env: Vec<(String, String)>,
) -> Result<RestoredTree, CriuSelfError> {
    let engine = CriuEngine::locate()?;
    let snapshot = Snapshot::open(dir, &CriuEngine::requirements(None))
        .map_err(|e| CriuSelfError::Helper(e.to_string()))?;
    let key = snapshot
        .manifest()
        .annotation(RESUME_PIPE)
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .ok_or_else(|| {
            CriuSelfError::Helper(format!(
                "{} was not made by snap::checkpoint",
                dir.display()
            ))
        })?;
    let (resume, mut feed) = std::io::pipe().map_err(io("pipe"))?;
    let info = Info {
        args,
        env,
        snapshot: dir.display().to_string(),
    };
    let mut message = vec![b'R'];
    message.extend(
        bincode::encode_to_vec(&info, bincode::config::standard())
            .map_err(|e| CriuSelfError::Helper(e.to_string()))?,
    );
    feed.write_all(&message)
        .map_err(io("write the restore info"))?;
    drop(feed);
    options.inherit.push((resume.into(), key));
    engine
        .restore(&snapshot, options)
        .map_err(|e| CriuSelfError::Helper(e.to_string()))
}
