//! Restoring a native snapshot into a freshly exec'd copy of the program.
//!
//! The work happens in two halves. Ordinary Rust code validates the snapshot
//! and everything it depends on, reopens files, reinstalls signal handlers
//! and writes a [`Plan`] into a fresh mapping that no saved region overlaps.
//! Then the restorer runs on a stack inside that mapping and, with raw system
//! calls only, maps the memory image over the process's writable memory,
//! restores the TLS base and glibc's thread id, and jumps into the
//! checkpointing `save_and_call`, which returns a second time.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use bincode::{Decode, Encode};

use super::maps::{self, Treatment};
use super::state::NativeState;
use super::sys::{self, Context};
use super::{NAME, RESTORE_ENV};
use crate::Sha256Digest;
use crate::snapshot::{Expect, HostRule, MANIFEST_FILE, OpenError, Snapshot};

/// Set while `init` re-execs to turn off layout randomization, so a failure
/// to do so cannot loop.
const REEXEC_ENV: &str = "SNAP_FIXED_LAYOUT_REEXEC";
/// Exit status of a process whose restore failed.
pub const RESTORE_FAILED: i32 = 75;

/// Why a restore could not happen. Nothing of the process was replaced.
#[derive(Debug, thiserror::Error)]
pub enum RestoreError {
    /// The snapshot is invalid or not for this program or host.
    #[error(transparent)]
    Snapshot(#[from] OpenError),
    /// Layout randomization could not be turned off.
    #[error("cannot run with a fixed address layout: {0}")]
    Layout(String),
    /// The process's layout differs from the snapshot's.
    #[error("memory layout differs from the snapshot: {0}")]
    LayoutMismatch(String),
    /// The kernel differs (vDSO or TLS placement).
    #[error("kernel differs from the snapshot's: {0}")]
    Kernel(String),
    /// A file the snapshot had open could not be reopened.
    #[error("cannot reopen fd {fd} ({path}): {cause}")]
    File {
        /// The descriptor.
        fd: i32,
        /// Its path.
        path: String,
        /// The cause.
        cause: std::io::Error,
    },
    /// A system call failed.
    #[error("{op}: {cause}")]
    Io {
        /// The operation.
        op: &'static str,
        /// The cause.
        cause: std::io::Error,
    },
}

fn io(op: &'static str) -> impl FnOnce(std::io::Error) -> RestoreError {
    move |cause| RestoreError::Io { op, cause }
}

/// The early entry point: call it first thing in `main`. It makes the
/// process run with a fixed layout (re-exec'ing once if needed) and, when
/// `SNAP_RESTORE_FROM` names a snapshot, restores it, in which case it does
/// not return: the program continues inside `checkpoint`. A failed restore
/// prints the reason and exits with status 75.
pub fn init() {
    if let Err(err) = try_init() {
        eprintln!("snap: restore failed: {err}");
        std::process::exit(RESTORE_FAILED);
    }
}

/// [`init`], returning the error instead of exiting.
pub fn try_init() -> Result<(), RestoreError> {
    super::criu_self::run_helper_if_asked();
    ensure_fixed_layout()?;
    match std::env::var_os(RESTORE_ENV) {
        Some(dir) if !dir.is_empty() => restore_from(Path::new(&dir)),
        _ => Ok(()),
    }
}

/// Whether this process runs with `ADDR_NO_RANDOMIZE`.
pub(super) fn layout_is_fixed() -> bool {
    // SAFETY: 0xffffffff queries the persona without changing it.
    let persona = unsafe { libc::personality(0xffff_ffff) };
    persona >= 0 && persona & libc::ADDR_NO_RANDOMIZE != 0
}

fn ensure_fixed_layout() -> Result<(), RestoreError> {
    if layout_is_fixed() {
        if std::env::var_os(REEXEC_ENV).is_some() {
            // SAFETY: called first thing in main, before any thread exists.
            unsafe { std::env::remove_var(REEXEC_ENV) };
        }
        return Ok(());
    }
    if std::env::var_os(REEXEC_ENV).is_some() {
        return Err(RestoreError::Layout(
            "the persona did not survive exec".into(),
        ));
    }
    set_fixed_layout().map_err(|e| RestoreError::Layout(e.to_string()))?;
    // SAFETY: called first thing in main, before any thread exists.
    unsafe { std::env::set_var(REEXEC_ENV, "1") };
    let args: Vec<OsString> = std::env::args_os().collect();
    let err = exec_self(&args);
    Err(RestoreError::Layout(format!("re-exec: {err}")))
}

/// Turns off address layout randomization for the next exec of this process
/// (`ADDR_NO_RANDOMIZE`, what `setarch -R` sets). Unprivileged and
/// async-signal-safe, so it may run between fork and exec of a child that
/// uses the native engine.
pub fn set_fixed_layout() -> std::io::Result<()> {
    // SAFETY: personality(0xffffffff) only queries; setting ADDR_NO_RANDOMIZE
    // only changes this process's persona for its next exec.
    unsafe {
        let persona = libc::personality(0xffff_ffff);
        if persona < 0
            || libc::personality((persona | libc::ADDR_NO_RANDOMIZE) as libc::c_ulong) < 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

fn exec_self(args: &[OsString]) -> std::io::Error {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new("/proc/self/exe");
    if let Some((first, rest)) = args.split_first() {
        cmd.arg0(first).args(rest);
    }
    cmd.exec()
}

/// What the restoring invocation passes to the restored program.
#[derive(Debug, Encode, Decode)]
pub(super) struct Info {
    pub(super) args: Vec<String>,
    pub(super) env: Vec<(String, String)>,
    pub(super) snapshot: String,
}

/// The most regions a snapshot may have.
const MAX_REGIONS: usize = 4096;
/// The restorer's stack.
const STACK: usize = 256 * 1024;

#[repr(C)]
#[derive(Clone, Copy)]
struct RawRegion {
    start: u64,
    len: u64,
    prot: u64,
    /// Image offset, or `u64::MAX` for a guard region.
    offset: u64,
}

/// Everything the restorer needs, at the start of its own mapping.
#[repr(C)]
pub(super) struct Plan {
    area_len: u64,
    image_fd: i64,
    brk: u64,
    ctx: Context,
    tid_addr: u64,
    sigmask: u64,
    altstack: libc::stack_t,
    info_offset: u64,
    info_len: u64,
    count: u64,
    regions: [RawRegion; MAX_REGIONS],
}

fn restore_from(dir: &Path) -> Result<(), RestoreError> {
    let snapshot = Snapshot::open(
        dir,
        &Expect {
            engine: Some(NAME),
            identity: None,
            host: HostRule::SameKernel,
        },
    )?;
    let manifest = snapshot.manifest();
    let exe = std::env::current_exe().map_err(io("find the running binary"))?;
    let sha256 = crate::snapshot::digest_of(&exe).map_err(io("hash the running binary"))?;
    if manifest.identity.bootstrap != exe.to_string_lossy() {
        return Err(OpenError::IdentityMismatch {
            field: "bootstrap",
            found: manifest.identity.bootstrap.clone(),
            expected: exe.display().to_string(),
        }
        .into());
    }
    if manifest.identity.bootstrap_sha256 != sha256 {
        return Err(OpenError::IdentityMismatch {
            field: "bootstrap sha256",
            found: manifest.identity.bootstrap_sha256.to_string(),
            expected: sha256.to_string(),
        }
        .into());
    }
    let state = NativeState::decode(&manifest.engine_state).map_err(|reason| {
        OpenError::ManifestCorrupt {
            path: dir.join(MANIFEST_FILE),
            reason: format!("native state: {reason}"),
        }
    })?;
    check_layout(&state)?;
    reopen_files(&state)?;
    reinstall_signals(&state);

    let image = File::open(snapshot.payload_dir().join("memory.img"))
        .map_err(io("open the memory image"))?;
    let info = Info {
        args: std::env::args().collect(),
        env: std::env::vars().filter(|(k, _)| k != RESTORE_ENV).collect(),
        snapshot: dir.display().to_string(),
    };
    let plan = write_plan(&state, image, &info)?;
    // SAFETY: `plan` is a fully written Plan at the start of a private
    // mapping that no saved region overlaps; the restorer runs on the stack
    // at its end and never returns.
    unsafe {
        sys::call_on_stack(
            plan.cast(),
            plan.cast::<u8>().add((*plan).area_len as usize),
            restorer,
        )
    }
}

/// Checks that this process has the snapshot's code, libraries, TLS and
/// vDSO where the snapshot had them.
fn check_layout(state: &NativeState) -> Result<(), RestoreError> {
    let current = maps::read_self().map_err(io("read /proc/self/maps"))?;
    for want in &state.expected {
        let found = current.iter().find(|m| m.start == want.start);
        let same = found.is_some_and(|m| {
            m.end == want.end
                && m.path == want.path
                && m.offset == want.offset
                && m.inode == want.inode
        });
        if !same {
            return Err(RestoreError::LayoutMismatch(format!(
                "{} at {:#x}-{:#x} (offset {:#x}) is {}",
                want.path,
                want.start,
                want.end,
                want.offset,
                found.map_or_else(
                    || "not mapped here".to_owned(),
                    |m| format!("{} {:#x}-{:#x} here", m.path, m.start, m.end)
                ),
            )));
        }
    }
    // A saved region may only cover memory this process can give up.
    for region in &state.regions {
        if let Some(m) = current.iter().find(|m| {
            m.start < region.end
                && region.start < m.end
                && matches!(m.treatment(), Treatment::Verify | Treatment::Kernel)
        }) {
            return Err(RestoreError::LayoutMismatch(format!(
                "saved region {:#x}-{:#x} {} overlaps {} here",
                region.start, region.end, region.name, m.path
            )));
        }
    }
    if let Some((start, end, digest)) = state.vdso {
        let here = current.iter().find(|m| m.path == "[vdso]");
        match here {
            Some(m) if m.start == start && m.end == end => {
                if digest_memory(m.start, m.len()) != digest {
                    return Err(RestoreError::Kernel("the vDSO contents differ".into()));
                }
            }
            _ => {
                return Err(RestoreError::Kernel(format!(
                    "the vDSO is not at {start:#x}-{end:#x}"
                )));
            }
        }
    }
    let fs_base = sys::fs_base();
    if fs_base != state.context.fs_base {
        return Err(RestoreError::LayoutMismatch(format!(
            "TLS base {fs_base:#x}, snapshot has {:#x}",
            state.context.fs_base
        )));
    }
    // SAFETY: the thread descriptor at the TLS base is mapped; the offset was
    // found in the same binary's descriptor at checkpoint time.
    let tid_here = unsafe { std::ptr::read_volatile((fs_base + state.tid_offset) as *const i32) };
    if tid_here != sys::gettid() {
        return Err(RestoreError::LayoutMismatch(
            "glibc's thread descriptor differs".into(),
        ));
    }
    Ok(())
}

fn reopen_files(state: &NativeState) -> Result<(), RestoreError> {
    use std::io::{Seek, SeekFrom};
    for f in &state.files {
        let flags = f.flags & !(libc::O_CREAT | libc::O_TRUNC | libc::O_EXCL | libc::O_CLOEXEC);
        let access = flags & libc::O_ACCMODE;
        let mut file = OpenOptions::new()
            .read(access == libc::O_RDONLY || access == libc::O_RDWR)
            .write(access == libc::O_WRONLY || access == libc::O_RDWR)
            .custom_flags(flags & !libc::O_ACCMODE)
            .open(&f.path)
            .map_err(|cause| RestoreError::File {
                fd: f.fd,
                path: f.path.clone(),
                cause,
            })?;
        if flags & libc::O_APPEND == 0 {
            file.seek(SeekFrom::Start(f.offset))
                .map_err(|cause| RestoreError::File {
                    fd: f.fd,
                    path: f.path.clone(),
                    cause,
                })?;
        }
        let raw = file.into_raw_fd();
        if raw != f.fd {
            // SAFETY: dup2 onto the snapshot's number; the fresh process has
            // nothing there that it will need (stdio excepted, never listed).
            let ret = unsafe {
                libc::dup3(
                    raw,
                    f.fd,
                    if f.flags & libc::O_CLOEXEC != 0 {
                        libc::O_CLOEXEC
                    } else {
                        0
                    },
                )
            };
            // SAFETY: `raw` came from into_raw_fd and is ours to close.
            unsafe { libc::close(raw) };
            if ret < 0 {
                return Err(RestoreError::File {
                    fd: f.fd,
                    path: f.path.clone(),
                    cause: std::io::Error::last_os_error(),
                });
            }
        }
    }
    Ok(())
}

fn reinstall_signals(state: &NativeState) {
    for d in &state.signals {
        // SAFETY: a zeroed sigaction with a handler address from the same
        // binary at the same address (fixed layout, checked above).
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = d.handler as libc::sighandler_t;
            action.sa_flags = d.flags as libc::c_int;
            let n = d.mask.len().min(std::mem::size_of::<libc::sigset_t>());
            std::ptr::copy_nonoverlapping(
                d.mask.as_ptr(),
                (&mut action.sa_mask as *mut libc::sigset_t).cast::<u8>(),
                n,
            );
            libc::sigaction(d.signal, &action, std::ptr::null_mut());
        }
    }
}

/// Maps the plan area where nothing saved or present is, and fills it.
fn write_plan(state: &NativeState, image: File, info: &Info) -> Result<*mut Plan, RestoreError> {
    if state.regions.len() > MAX_REGIONS {
        return Err(RestoreError::LayoutMismatch(format!(
            "{} regions, at most {MAX_REGIONS}",
            state.regions.len()
        )));
    }
    let info_bytes = bincode::encode_to_vec(info, bincode::config::standard()).map_err(|e| {
        RestoreError::Io {
            op: "encode the restore info",
            cause: std::io::Error::other(e.to_string()),
        }
    })?;
    let page = 4096usize;
    let head = std::mem::size_of::<Plan>().div_ceil(page) * page;
    let len = head + info_bytes.len().div_ceil(page) * page + STACK;
    // Read again, not reused from `check_layout`: reopening files and
    // encoding the info may have mapped memory since.
    let current = maps::read_self().map_err(io("read /proc/self/maps"))?;
    let taken = |start: u64, end: u64| {
        current.iter().any(|m| m.start < end && start < m.end)
            || state.regions.iter().any(|r| r.start < end && start < r.end)
    };
    let base = (1..64u64)
        .map(|k| 0x7e00_0000_0000u64 - k * (1 << 32))
        .find(|b| !taken(*b, b + len as u64))
        .ok_or_else(|| {
            RestoreError::LayoutMismatch("no free address range for the restorer".into())
        })?;
    // SAFETY: an anonymous private mapping at an address checked free;
    // MAP_FIXED_NOREPLACE fails rather than replace anything.
    let area = unsafe {
        libc::mmap(
            base as *mut libc::c_void,
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
            -1,
            0,
        )
    };
    if area == libc::MAP_FAILED || area as u64 != base {
        return Err(RestoreError::Io {
            op: "map the restorer",
            cause: std::io::Error::last_os_error(),
        });
    }
    let plan = area.cast::<Plan>();
    // Move the image to a high descriptor, away from reopened files.
    // SAFETY: F_DUPFD_CLOEXEC on a descriptor we own.
    let image_fd = unsafe { libc::fcntl(image.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 1000) };
    if image_fd < 0 {
        return Err(RestoreError::Io {
            op: "move the image descriptor",
            cause: std::io::Error::last_os_error(),
        });
    }
    drop(image);
    // SAFETY: `plan` points at `len` fresh, writable, zeroed bytes, enough
    // for a Plan plus the info bytes (sized above).
    unsafe {
        let p = &mut *plan;
        p.area_len = len as u64;
        p.image_fd = i64::from(image_fd);
        p.brk = state.brk;
        p.ctx = state.context;
        p.tid_addr = state.context.fs_base + state.tid_offset;
        p.sigmask = state.sigmask;
        p.altstack = libc::stack_t {
            ss_sp: state.altstack.0 as *mut libc::c_void,
            ss_flags: state.altstack.2,
            ss_size: state.altstack.1 as usize,
        };
        p.info_offset = head as u64;
        p.info_len = info_bytes.len() as u64;
        p.count = state.regions.len() as u64;
        for (raw, r) in p.regions.iter_mut().zip(&state.regions) {
            *raw = RawRegion {
                start: r.start,
                len: r.end - r.start,
                prot: prot_bits(r.prot),
                offset: r.image_offset.unwrap_or(u64::MAX),
            };
        }
        std::ptr::copy_nonoverlapping(
            info_bytes.as_ptr(),
            area.cast::<u8>().add(head),
            info_bytes.len(),
        );
    }
    Ok(plan)
}

/// Stored protection bits (1 read, 2 write, 4 execute) as `PROT_*` flags.
fn prot_bits(prot: u8) -> u64 {
    let mut bits = 0;
    if prot & 1 != 0 {
        bits |= libc::PROT_READ;
    }
    if prot & 2 != 0 {
        bits |= libc::PROT_WRITE;
    }
    if prot & 4 != 0 {
        bits |= libc::PROT_EXEC;
    }
    bits as u64
}

/// Reads the restore info out of the plan area and unmaps it.
///
/// # Safety
/// `plan` is the area the restorer ran from, still mapped.
pub(super) unsafe fn take_info(plan: *const Plan) -> Info {
    // SAFETY: the caller guarantees the area; its header says where the
    // info bytes are.
    let (bytes, len) = unsafe {
        let p = &*plan;
        let bytes = std::slice::from_raw_parts(
            plan.cast::<u8>().add(p.info_offset as usize),
            p.info_len as usize,
        )
        .to_vec();
        (bytes, p.area_len as usize)
    };
    // SAFETY: nothing refers to the area any more: the restorer's stack was
    // left for the restored one and the info is copied.
    unsafe { libc::munmap(plan as *mut libc::c_void, len) };
    bincode::decode_from_slice::<Info, _>(&bytes, bincode::config::standard())
        .map(|(info, _)| info)
        .unwrap_or(Info {
            args: Vec::new(),
            env: Vec::new(),
            snapshot: String::new(),
        })
}

/// The restorer. Runs on the plan area's stack with raw system calls only:
/// the heap, libc's state and the old stack are all being replaced.
unsafe extern "C" fn restorer(arg: *const u8) -> ! {
    let plan = arg.cast::<Plan>();
    // SAFETY: `arg` is the plan written by `write_plan`, in a mapping that no
    // step below touches. Every address mapped comes from the snapshot and
    // was checked against this process's layout.
    unsafe {
        let p = &*plan;
        if p.brk != 0 && sys::syscall6(libc::SYS_brk, [p.brk, 0, 0, 0, 0, 0]) as u64 != p.brk {
            fail(b"snap: restore: cannot set the program break\n");
        }
        let count = (p.count as usize).min(MAX_REGIONS);
        let regions = p.regions.as_ptr();
        for i in 0..count {
            let r = *regions.add(i);
            let (prot, flags, fd, offset) = if r.offset == u64::MAX {
                (
                    libc::PROT_NONE as u64,
                    (libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED) as u64,
                    u64::MAX,
                    0,
                )
            } else {
                (
                    r.prot,
                    (libc::MAP_PRIVATE | libc::MAP_FIXED) as u64,
                    p.image_fd as u64,
                    r.offset,
                )
            };
            let ret = sys::syscall6(libc::SYS_mmap, [r.start, r.len, prot, flags, fd, offset]);
            if ret as u64 != r.start {
                fail(b"snap: restore: cannot map a saved region\n");
            }
        }
        sys::syscall6(libc::SYS_close, [p.image_fd as u64, 0, 0, 0, 0, 0]);
        sys::syscall6(
            libc::SYS_arch_prctl,
            [sys::ARCH_SET_FS, p.ctx.fs_base, 0, 0, 0, 0],
        );
        let tid = sys::gettid();
        std::ptr::write_volatile(p.tid_addr as *mut i32, tid);
        if !p.altstack.ss_sp.is_null() {
            sys::syscall6(
                libc::SYS_sigaltstack,
                [&p.altstack as *const libc::stack_t as u64, 0, 0, 0, 0, 0],
            );
        }
        sys::syscall6(
            libc::SYS_rt_sigprocmask,
            [
                libc::SIG_SETMASK as u64,
                &p.sigmask as *const u64 as u64,
                0,
                8,
                0,
                0,
            ],
        );
        sys::resume(&p.ctx, 1, plan as u64)
    }
}

/// Writes `message` to stderr and exits; the process is half-restored.
unsafe fn fail(message: &[u8]) -> ! {
    // SAFETY: write and exit_group with a valid buffer.
    unsafe {
        sys::syscall6(
            libc::SYS_write,
            [2, message.as_ptr() as u64, message.len() as u64, 0, 0, 0],
        );
        sys::syscall6(libc::SYS_exit_group, [RESTORE_FAILED as u64, 0, 0, 0, 0, 0]);
    }
    loop {
        std::hint::spin_loop();
    }
}

/// SHA-256 of `len` bytes of this process's memory at `start`.
pub(super) fn digest_memory(start: u64, len: u64) -> [u8; 32] {
    let mut copy = vec![0u8; len as usize];
    // SAFETY: callers pass a readable mapping of this process.
    unsafe { std::ptr::copy_nonoverlapping(start as *const u8, copy.as_mut_ptr(), copy.len()) };
    Sha256Digest::of(&copy).0
}
