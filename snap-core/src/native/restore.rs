//! Restoring a native snapshot into a freshly exec'd copy of the program.
//!
//! The work happens in two halves. Ordinary Rust code validates the snapshot
//! and everything it depends on, reopens files, reinstalls signal handlers,
//! loads the recorded working set and writes a [`RestorerPlan`] into a fresh
//! mapping that no saved region overlaps. Then the restorer runs on a stack
//! inside that mapping and, with raw system calls only, maps the memory
//! image over the process's writable memory, faults the working set in,
//! waits at the gate if the restore was started ahead, restores the TLS
//! base and glibc's thread id, and jumps into the checkpointing
//! `save_and_call`, which returns a second time.

use std::fs::{File, OpenOptions};
use std::os::fd::{AsRawFd, IntoRawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::gate;
use super::handoff::{GUARD, Handoff, MAX_REGIONS, RawRegion, RawRun, RestorerPlan};
use super::maps::{self, Treatment};
use super::state::NativeState;
use super::sys::{self, Pair};
use super::timing::{self, Stage, Stamps};
use super::working_set::{self, WorkingSet};
use super::{NAME, RestoreError};
use crate::OsError;
use crate::resumed::RestoreRequest;
use crate::resumed::{RESTORE_ENV, RESTORE_FAILED, RESTORE_GATE_ENV};
use crate::snapshot::{Expect, MANIFEST_FILE, OpenError, Snapshot};

/// The restorer's stack.
const STACK: usize = 256 * 1024;

/// Restores the snapshot in `dir` into this process. Does not return on
/// success: the program continues inside the checkpoint call that took it.
/// On failure nothing of the process was replaced.
pub(crate) fn restore_from(dir: &Path) -> Result<(), RestoreError> {
    let mut stamps = Stamps::start();
    let gated = gate::asked()?;
    let with_working_set = working_set::wanted()?;
    let snapshot = Snapshot::open(
        dir,
        &Expect {
            engine: Some(NAME),
            identity: None,
            host: crate::engine::NATIVE_HOST_RULE,
        },
    )?;
    stamps.end(Stage::Validate);
    let manifest = snapshot.manifest();
    let exe = std::env::current_exe().map_err(OsError::during("find the running binary"))?;
    let sha256 =
        crate::snapshot::digest_of(&exe).map_err(OsError::during("hash the running binary"))?;
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
    stamps.end(Stage::Identity);
    let current = check_layout(&state, &exe)?;
    stamps.end(Stage::Layout);
    reopen_files(&state)?;
    reinstall_signals(&state);
    stamps.end(Stage::Files);

    let image = File::open(snapshot.payload_dir().join(super::IMAGE_FILE))
        .map_err(OsError::during("open the memory image"))?;
    let request = RestoreRequest::of_this_process(dir, &[RESTORE_ENV, RESTORE_GATE_ENV]);
    // Only a speed-up: the launcher that recorded it says when it is
    // wrong (snaprun, once per snapshot), so a restore goes on quietly.
    let mut working_set = match with_working_set {
        true => working_set::load(&snapshot, &state).unwrap_or_else(|err| {
            tracing::debug!(err = %crate::chain(&err), "restoring without the working set");
            None
        }),
        false => None,
    };
    if !gated {
        // On demand, populating is on the clock: only the written pages
        // pay for it (a copy each either way, without a fault each); read
        // pages come in as fast by fault-around as in one pass, and a pass
        // maps more of them (measured: docs/engines.md).
        if let Some(set) = working_set.as_mut() {
            set.runs.retain(|run| run.write);
        }
    }
    let plan = write_plan(&state, &current, image, &request, working_set.as_ref())?;
    stamps.end(Stage::Plan);
    // SAFETY: `plan` is the fully written plan area, ours alone.
    unsafe {
        (*plan).stamps = stamps;
        (*plan).gated = u64::from(gated);
    }
    // SAFETY: `plan` is a fully written RestorerPlan at the start of a
    // private mapping that no saved region overlaps; the restorer runs on
    // the stack at its end and never returns.
    unsafe {
        sys::call_on_stack(
            plan.cast(),
            plan.cast::<u8>().add((*plan).area_len as usize),
            restorer,
        )
    }
}

/// Checks that this process has the snapshot's code, libraries, TLS and
/// vDSO where the snapshot had them. Returns the memory map it checked.
///
/// A library must be the same file (inode) as at checkpoint time. The
/// program itself need only have the same content, which the identity
/// check has proven by its sha256: a rebuild that produced the same bytes
/// restores.
fn check_layout(state: &NativeState, exe: &Path) -> Result<Vec<maps::Mapping>, RestoreError> {
    let current = maps::read_self().map_err(OsError::during("read /proc/self/maps"))?;
    let exe = exe.to_string_lossy();
    for want in &state.expected {
        let found = current.iter().find(|m| m.start == want.start);
        let same = found.is_some_and(|m| {
            m.end == want.end
                && m.path == want.path
                && m.offset == want.offset
                && (m.inode == want.inode || m.path == exe)
        });
        if !same {
            return Err(RestoreError::LayoutMismatch(format!(
                "{} at {:#x}-{:#x} (offset {:#x}, inode {}) is {}",
                want.path,
                want.start,
                want.end,
                want.offset,
                want.inode,
                found.map_or_else(
                    || "not mapped here".to_owned(),
                    |m| format!(
                        "{} {:#x}-{:#x} (offset {:#x}, inode {}) here",
                        m.path, m.start, m.end, m.offset, m.inode
                    )
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
                // SAFETY: the vDSO is mapped readable for the process's life.
                if unsafe { maps::digest_memory(m.start, m.len()) } != digest {
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
    Ok(current)
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
///
/// `current` is the memory map [`check_layout`] read. Reopening files and
/// encoding the request may have mapped memory since, so a candidate that
/// looks free there is mapped with `MAP_FIXED_NOREPLACE`, and one that has
/// been taken in the meantime (`EEXIST`) makes it try the next. Reading
/// `/proc/self/maps` a second time cost every restore about 0.05 ms.
fn write_plan(
    state: &NativeState,
    current: &[maps::Mapping],
    image: File,
    request: &RestoreRequest,
    working_set: Option<&WorkingSet>,
) -> Result<*mut RestorerPlan, RestoreError> {
    if state.regions.len() > MAX_REGIONS {
        return Err(RestoreError::LayoutMismatch(format!(
            "{} regions, at most {MAX_REGIONS}",
            state.regions.len()
        )));
    }
    let request_bytes = request.encode()?;
    let runs = working_set.map_or(&[][..], |set| set.runs.as_slice());
    let page = 4096usize;
    let head = std::mem::size_of::<RestorerPlan>().div_ceil(page) * page;
    let runs_at = head + request_bytes.len().div_ceil(page) * page;
    let runs_len = (runs.len() * std::mem::size_of::<RawRun>()).div_ceil(page) * page;
    let len = runs_at + runs_len + STACK;
    let taken = |start: u64, end: u64| {
        current.iter().any(|m| m.start < end && start < m.end)
            || state.regions.iter().any(|r| r.start < end && start < r.end)
    };
    let mut candidates = (1..64u64)
        .map(|k| 0x7e00_0000_0000u64 - k * (1 << 32))
        .filter(|b| !taken(*b, b + len as u64));
    let area = loop {
        let Some(base) = candidates.next() else {
            return Err(RestoreError::LayoutMismatch(
                "no free address range for the restorer".into(),
            ));
        };
        // SAFETY: an anonymous private mapping at an address that was free
        // when the map was read; MAP_FIXED_NOREPLACE fails rather than
        // replace anything mapped there since.
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
        if area != libc::MAP_FAILED && area as u64 == base {
            break area;
        }
        let err = std::io::Error::last_os_error();
        if area == libc::MAP_FAILED && err.raw_os_error() == Some(libc::EEXIST) {
            continue;
        }
        if area != libc::MAP_FAILED {
            // A kernel without MAP_FIXED_NOREPLACE placed it elsewhere.
            // SAFETY: the mapping just made, used by nothing.
            unsafe { libc::munmap(area, len) };
        }
        return Err(OsError::last("map the restorer").into());
    };
    let plan = area.cast::<RestorerPlan>();
    // Move the image to a high descriptor, away from reopened files.
    // SAFETY: F_DUPFD_CLOEXEC on a descriptor we own.
    let image_fd = unsafe { libc::fcntl(image.as_raw_fd(), libc::F_DUPFD_CLOEXEC, 1000) };
    if image_fd < 0 {
        return Err(OsError::last("move the image descriptor").into());
    }
    drop(image);
    // SAFETY: `plan` points at `len` fresh, writable, zeroed bytes, enough
    // for a RestorerPlan plus the request bytes (sized above).
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
        p.request_offset = head as u64;
        p.request_len = request_bytes.len() as u64;
        p.stack_start = state
            .regions
            .iter()
            .find(|r| r.name == "[stack]")
            .map_or(0, |r| r.start);
        p.count = state.regions.len() as u64;
        for (raw, r) in p.regions.iter_mut().zip(&state.regions) {
            *raw = RawRegion {
                start: r.start,
                len: r.end - r.start,
                prot: prot_bits(r.prot),
                offset: r.image_offset.unwrap_or(GUARD),
            };
        }
        std::ptr::copy_nonoverlapping(
            request_bytes.as_ptr(),
            area.cast::<u8>().add(head),
            request_bytes.len(),
        );
        p.runs_offset = runs_at as u64;
        p.runs_count = runs.len() as u64;
        let raw_runs = area.cast::<u8>().add(runs_at).cast::<RawRun>();
        for (i, run) in runs.iter().enumerate() {
            raw_runs.add(i).write(RawRun {
                start: run.start,
                len: u64::from(run.pages) * 4096,
                advice: if run.write {
                    libc::MADV_POPULATE_WRITE
                } else {
                    libc::MADV_POPULATE_READ
                } as u64,
            });
        }
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

/// The restorer. Runs on the plan area's stack with raw system calls only:
/// the heap, libc's state and the old stack are all being replaced.
///
/// After mapping the image it populates the working set's runs, each with
/// one `madvise`; a run the kernel refuses (a kernel before 5.14 has no
/// `MADV_POPULATE_*`) is left to fault in as it is touched. Then, for a
/// restore started ahead, it waits at the gate.
///
/// # Safety
/// `arg` is a [`RestorerPlan`] written by `write_plan`, at the start of a
/// mapping that no saved region overlaps, and the caller is on the stack at
/// that mapping's end (see [`sys::call_on_stack`]). Every address in the
/// plan comes from the snapshot and was checked against this process's
/// layout. It never returns: it jumps into the checkpointing call.
unsafe extern "C" fn restorer(arg: *const u8) -> ! {
    let plan = arg.cast::<RestorerPlan>().cast_mut();
    // SAFETY: `arg` is the plan written by `write_plan`, in a mapping that no
    // step below touches. Every address mapped comes from the snapshot and
    // was checked against this process's layout; every run populated was
    // checked to lie inside that memory (`WorkingSet::check`).
    unsafe {
        let p = &mut *plan;
        if p.brk != 0 && sys::syscall6(libc::SYS_brk, [p.brk, 0, 0, 0, 0, 0]) as u64 != p.brk {
            fail(b"snap: restore: cannot set the program break\n");
        }
        let count = (p.count as usize).min(MAX_REGIONS);
        let regions = p.regions.as_ptr();
        for i in 0..count {
            let r = *regions.add(i);
            let (prot, flags, fd, offset) = if r.offset == GUARD {
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
        if p.stack_start >= 4096 {
            // The saved stack is a fixed mapping now, where the exec'd one
            // grew down on demand: a page below it that grows down takes
            // over (up to RLIMIT_STACK, as before). Where something is
            // mapped there already (the exec'd stack went deeper than the
            // saved one, and its rest still grows down), it stays.
            sys::syscall6(
                libc::SYS_mmap,
                [
                    p.stack_start - 4096,
                    4096,
                    (libc::PROT_READ | libc::PROT_WRITE) as u64,
                    (libc::MAP_PRIVATE
                        | libc::MAP_ANONYMOUS
                        | libc::MAP_FIXED_NOREPLACE
                        | libc::MAP_GROWSDOWN) as u64,
                    u64::MAX,
                    0,
                ],
            );
        }
        p.stamps.end_at(Stage::Map, timing::now_ns_raw());
        let runs = arg.add(p.runs_offset as usize).cast::<RawRun>();
        for i in 0..p.runs_count as usize {
            let run = *runs.add(i);
            let ret = sys::syscall6(libc::SYS_madvise, [run.start, run.len, run.advice, 0, 0, 0]);
            if ret == 0 {
                p.stamps.add_populated(
                    run.len / 4096,
                    run.advice == libc::MADV_POPULATE_WRITE as u64,
                );
            }
        }
        p.stamps.end_at(Stage::Populate, timing::now_ns_raw());
        if p.gated != 0 {
            gate::wait_raw();
            p.stamps.gate_opened_at(timing::now_ns_raw());
        }
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
        let Pair { a, b } = Handoff::Restored { plan }.to_pair();
        sys::resume(&p.ctx, a, b)
    }
}

/// Writes `message` to stderr and exits with [`RESTORE_FAILED`]: the
/// process is half-restored and cannot go on.
///
/// # Safety
/// Only from the restorer: it makes raw system calls and touches nothing
/// else, so it is safe while memory is being replaced.
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
