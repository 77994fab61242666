//! Taking a native checkpoint of the calling process.

use std::fs::{self, File};
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;

use super::maps::{self, Mapping, Treatment};
use super::restore::{self, Plan};
use super::state::{Disposition, Expected, NativeState, Region};
use super::sys::{self, Context, Pair};
use super::{
    CheckpointOptions, GENERATION, NAME, Offender, RestoreContext, Resumed, Resumption, SelfEngine,
    fds,
};
use crate::snapshot::{CreateError, Identity, Seal, SnapshotWriter};

/// Why a native checkpoint was refused or failed. The process keeps running
/// unchanged, and no snapshot is left behind.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The engine does not run on this architecture.
    #[error("the native engine needs x86_64 Linux, not {0}")]
    Architecture(&'static str),
    /// The process runs with a randomized layout.
    #[error(
        "address space layout randomization is on: call snap::native::init() first thing in main"
    )]
    Randomized,
    /// More than one thread.
    #[error("the native engine checkpoints single-threaded processes; this one has {}: {}", threads.len(), threads.iter().map(|(tid, name)| format!("{tid} ({name})")).collect::<Vec<_>>().join(", "))]
    Threads {
        /// Each thread's id and name.
        threads: Vec<(i32, String)>,
    },
    /// Descriptors the engine cannot restore.
    #[error("descriptors the native engine cannot restore (close them first, or set an FdPolicy): {}", offenders.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Descriptors {
        /// Each one, with its kind and target.
        offenders: Vec<Offender>,
    },
    /// A shared mapping, which restores could not each own.
    #[error("shared mapping {start:#x}-{end:#x} {path} cannot be checkpointed")]
    SharedMapping {
        /// Start address.
        start: u64,
        /// End address.
        end: u64,
        /// What it maps.
        path: String,
    },
    /// The memory map kept changing while it was read.
    #[error("the memory map did not settle")]
    Unsettled,
    /// glibc's thread id was not found in the thread descriptor.
    #[error("cannot find the thread id in the thread descriptor")]
    ThreadId,
    /// Writing the snapshot failed.
    #[error(transparent)]
    Create(#[from] CreateError),
    /// A before-checkpoint hook failed: no snapshot was taken and the
    /// process carries on.
    #[error("a before-checkpoint hook failed, no snapshot was taken: {0}")]
    BeforeHooks(#[source] super::HookFailure),
    /// An after-restore (or after-checkpoint) hook failed. In a restored
    /// process this means the instance must not serve.
    #[error("an after-restore hook failed: {0}")]
    AfterHooks(#[source] super::HookFailure),
    /// The CRIU engine failed (with `SelfEngine::Criu`).
    #[error(transparent)]
    Criu(super::criu_self::CriuSelfError),
    /// A system call failed.
    #[error("{op}: {cause}")]
    Io {
        /// The operation.
        op: &'static str,
        /// The cause.
        cause: std::io::Error,
    },
}

fn io(op: &'static str) -> impl FnOnce(std::io::Error) -> CheckpointError {
    move |cause| CheckpointError::Io { op, cause }
}

/// The memory dump, run while the caller is suspended in
/// [`sys::save_and_call`]. It must not allocate: the heap is being copied.
#[repr(C)]
struct Dump {
    fd: i32,
    /// `(start, len, image offset)` of each region to save.
    regions: *const (u64, u64, u64),
    count: usize,
}

const RESTORED: u64 = 1;

/// Checkpoints the calling process into `options.dir`. Returns
/// [`Resumed::Checkpointed`] here, and [`Resumed::Restored`] in every process
/// later restored from the snapshot.
///
/// When a hook library has installed a [`Lifecycle`](super::Lifecycle)
/// (`snap-hooks` does), its before-checkpoint hooks run first, and a failure
/// there returns [`CheckpointError::BeforeHooks`] with no snapshot taken; its
/// after hooks run on whichever side this call returns.
pub fn checkpoint(options: &CheckpointOptions) -> Result<Resumed, CheckpointError> {
    let Some(hooks) = super::lifecycle::current() else {
        return take(options);
    };
    hooks
        .before_checkpoint()
        .map_err(CheckpointError::BeforeHooks)?;
    let taken = take(options);
    let how = match &taken {
        Ok(Resumed::Checkpointed(_)) => Resumption::Checkpointed,
        Ok(Resumed::Restored(context)) => Resumption::Restored(context),
        Err(_) => Resumption::Aborted,
    };
    match (hooks.after_checkpoint(how), taken) {
        (Ok(()), taken) => taken,
        (Err(hook), Ok(_)) => Err(CheckpointError::AfterHooks(hook)),
        (Err(hook), Err(engine)) => {
            tracing::error!(%hook, "an after-checkpoint hook failed after the checkpoint failed");
            Err(engine)
        }
    }
}

/// Takes the checkpoint with the chosen engine, hooks aside.
fn take(options: &CheckpointOptions) -> Result<Resumed, CheckpointError> {
    if options.engine == SelfEngine::Criu {
        return super::criu_self::checkpoint_with_criu(&options.dir).map_err(CheckpointError::Criu);
    }
    if !cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        return Err(CheckpointError::Architecture(std::env::consts::ARCH));
    }
    if !restore::layout_is_fixed() {
        return Err(CheckpointError::Randomized);
    }
    check_threads()?;
    let files =
        fds::scan(&options.fds).map_err(|offenders| CheckpointError::Descriptors { offenders })?;

    let identity =
        Identity::of_process(std::process::id() as i32).map_err(io("read own identity"))?;
    let writer = SnapshotWriter::create(&options.dir)?;
    let image_path = writer.payload_dir().join("memory.img");
    let image = File::create(&image_path).map_err(|e| CreateError::io("create", &image_path, e))?;

    let signals = dispositions();
    let (sigmask, altstack) = signal_state();
    let (regions, expected, vdso, plan) = settle_map()?;
    let fs_base = sys::fs_base();
    let tid_offset = tid_offset(fs_base, &saved_ranges(&plan))?;
    // SAFETY: brk(0) only reports the current program break.
    let brk = unsafe { sys::syscall6(libc::SYS_brk, [0; 6]) } as u64;

    let mut context = Context {
        fs_base,
        ..Context::default()
    };
    let mut dump = Dump {
        fd: image.as_raw_fd(),
        regions: plan.as_ptr(),
        count: plan.len(),
    };
    // SAFETY: `dump_memory` only reads mapped memory and writes it to the
    // image with pwrite; `context` and `dump` outlive the call.
    let ret =
        unsafe { sys::save_and_call(&mut context, dump_memory, (&mut dump as *mut Dump).cast()) };
    if ret.a == RESTORED {
        // This is a restored process. Everything in this frame describes the
        // checkpointing process; none of it may be dropped here.
        std::mem::forget((writer, image, regions, expected, plan, files, signals));
        return Ok(Resumed::Restored(restored(ret.b as *const Plan)));
    }
    if ret.a != 0 {
        return Err(CheckpointError::Io {
            op: "write the memory image",
            cause: std::io::Error::from_raw_os_error(ret.b as i32),
        });
    }
    image.sync_all().map_err(io("fsync the memory image"))?;
    drop(image);
    context.fs_base = fs_base;
    let state = NativeState {
        context,
        regions,
        expected,
        vdso,
        brk,
        tid_offset,
        signals,
        sigmask,
        altstack,
        files,
        generation: GENERATION.load(Ordering::Acquire),
    };
    let snapshot = writer.commit(Seal {
        engine: NAME.into(),
        identity,
        scratch: Vec::new(),
        engine_state: state.encode(),
        annotations: Vec::new(),
    })?;
    Ok(Resumed::Checkpointed(Box::new(snapshot)))
}

/// Writes each planned region to the image. Allocation-free.
unsafe extern "C" fn dump_memory(_ctx: *mut Context, arg: *mut u8) -> Pair {
    // SAFETY: `arg` is the `Dump` that `checkpoint` passed, alive for the call.
    let dump = unsafe { &*(arg as *const Dump) };
    for i in 0..dump.count {
        // SAFETY: `regions` points at `count` planned entries.
        let (start, len, offset) = unsafe { *dump.regions.add(i) };
        let mut done = 0u64;
        while done < len {
            // SAFETY: [start, start + len) is a readable private mapping of
            // this process (read from /proc/self/maps, unchanged since); the
            // kernel reads it, no Rust reference to it is formed.
            let n = unsafe {
                libc::pwrite(
                    dump.fd,
                    (start + done) as *const libc::c_void,
                    (len - done) as usize,
                    (offset + done) as libc::off_t,
                )
            };
            if n <= 0 {
                let errno = std::io::Error::last_os_error()
                    .raw_os_error()
                    .unwrap_or(libc::EIO);
                return Pair {
                    a: 2,
                    b: errno as u64,
                };
            }
            done += n as u64;
        }
    }
    Pair { a: 0, b: 0 }
}

fn check_threads() -> Result<(), CheckpointError> {
    let tasks = || -> Result<Vec<i32>, CheckpointError> {
        Ok(fs::read_dir("/proc/self/task")
            .map_err(io("read /proc/self/task"))?
            .flatten()
            .filter_map(|e| e.file_name().to_str()?.parse().ok())
            .collect())
    };
    let mut tids = tasks()?;
    // A thread that was just joined (a hook runner's) leaves /proc a moment
    // after its joiner returns.
    for _ in 0..20 {
        if tids.len() == 1 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
        tids = tasks()?;
    }
    if tids.len() > 1 {
        let threads = tids
            .into_iter()
            .map(|tid| {
                let name =
                    fs::read_to_string(format!("/proc/self/task/{tid}/comm")).unwrap_or_default();
                (tid, name.trim().to_owned())
            })
            .collect();
        return Err(CheckpointError::Threads { threads });
    }
    Ok(())
}

type Settled = (
    Vec<Region>,
    Vec<Expected>,
    Option<(u64, u64, [u8; 32])>,
    Vec<(u64, u64, u64)>,
);

/// Reads the memory map until two reads agree, and plans the image.
fn settle_map() -> Result<Settled, CheckpointError> {
    for _ in 0..4 {
        let first = maps::read_self().map_err(io("read /proc/self/maps"))?;
        let planned = plan(&first)?;
        let second = maps::read_self().map_err(io("read /proc/self/maps"))?;
        if first == second {
            return Ok(planned);
        }
    }
    Err(CheckpointError::Unsettled)
}

fn plan(maps: &[Mapping]) -> Result<Settled, CheckpointError> {
    let mut regions = Vec::with_capacity(maps.len());
    let mut expected = Vec::new();
    let mut vdso = None;
    let mut plan = Vec::with_capacity(maps.len());
    let mut offset = 0u64;
    for m in maps {
        let prot = u8::from(m.read) | (u8::from(m.write) << 1) | (u8::from(m.exec) << 2);
        match m.treatment() {
            Treatment::Save => {
                plan.push((m.start, m.len(), offset));
                regions.push(Region {
                    start: m.start,
                    end: m.end,
                    prot,
                    image_offset: Some(offset),
                    name: m.path.clone(),
                });
                offset += m.len();
            }
            Treatment::Guard => {
                regions.push(Region {
                    start: m.start,
                    end: m.end,
                    prot: 0,
                    image_offset: None,
                    name: m.path.clone(),
                });
            }
            Treatment::Verify => expected.push(Expected {
                start: m.start,
                end: m.end,
                path: m.path.clone(),
                offset: m.offset,
                inode: m.inode,
            }),
            Treatment::Kernel => {
                if m.path == "[vdso]" {
                    vdso = Some((m.start, m.end, restore::digest_memory(m.start, m.len())));
                }
            }
            Treatment::Unsupported => {
                return Err(CheckpointError::SharedMapping {
                    start: m.start,
                    end: m.end,
                    path: m.path.clone(),
                });
            }
        }
    }
    Ok((regions, expected, vdso, plan))
}

fn saved_ranges(plan: &[(u64, u64, u64)]) -> Vec<(u64, u64)> {
    plan.iter().map(|(s, l, _)| (*s, s + l)).collect()
}

/// Finds glibc's copy of the thread id in the thread descriptor at the TLS
/// base, within the writable region that holds it.
fn tid_offset(fs_base: u64, saved: &[(u64, u64)]) -> Result<u64, CheckpointError> {
    let tid = sys::gettid();
    let end = saved
        .iter()
        .find(|(s, e)| *s <= fs_base && fs_base < *e)
        .map(|(_, e)| *e)
        .ok_or(CheckpointError::ThreadId)?;
    let limit = (end - fs_base).min(0x1000);
    let mut offset = 0;
    while offset + 4 <= limit {
        // SAFETY: [fs_base, end) is mapped, readable memory of this thread.
        let value = unsafe { std::ptr::read_volatile((fs_base + offset) as *const i32) };
        if value == tid {
            return Ok(offset);
        }
        offset += 4;
    }
    Err(CheckpointError::ThreadId)
}

/// Every installed (non-default) signal disposition.
fn dispositions() -> Vec<Disposition> {
    let mut out = Vec::new();
    for signal in 1..=64 {
        if signal == libc::SIGKILL || signal == libc::SIGSTOP {
            continue;
        }
        // SAFETY: a zeroed sigaction is a valid out-parameter; a null `act`
        // only queries.
        let mut old: libc::sigaction = unsafe { std::mem::zeroed() };
        // SAFETY: as above.
        if unsafe { libc::sigaction(signal, std::ptr::null(), &mut old) } != 0 {
            continue;
        }
        if old.sa_sigaction == libc::SIG_DFL {
            continue;
        }
        // SAFETY: sigset_t is plain bytes.
        let mask = unsafe {
            std::slice::from_raw_parts((&old.sa_mask as *const libc::sigset_t).cast::<u8>(), 8)
        }
        .to_vec();
        out.push(Disposition {
            signal,
            handler: old.sa_sigaction as u64,
            flags: old.sa_flags as i64,
            mask,
        });
    }
    out
}

/// The thread's blocked-signal mask and alternate stack.
fn signal_state() -> (u64, (u64, u64, i32)) {
    // SAFETY: zeroed sigset_t and stack_t are valid out-parameters.
    let mut set: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: queries the mask only.
    unsafe { libc::pthread_sigmask(libc::SIG_BLOCK, std::ptr::null(), &mut set) };
    // SAFETY: the first 8 bytes of sigset_t are the kernel's mask.
    let mask = unsafe { std::ptr::read_unaligned((&set as *const libc::sigset_t).cast::<u64>()) };
    // SAFETY: as above.
    let mut stack: libc::stack_t = unsafe { std::mem::zeroed() };
    // SAFETY: queries the alternate stack only.
    unsafe { libc::sigaltstack(std::ptr::null(), &mut stack) };
    (
        mask,
        (stack.ss_sp as u64, stack.ss_size as u64, stack.ss_flags),
    )
}

/// Replaces this process's environment with the restoring invocation's.
pub(super) fn apply_env(env: &[(String, String)]) {
    let current: Vec<String> = std::env::vars_os()
        .filter_map(|(k, _)| k.into_string().ok())
        .collect();
    for key in current {
        if !env.iter().any(|(k, _)| *k == key) {
            // SAFETY: a restored process runs this before anything else
            // reads the environment: right after the return from the
            // checkpoint call, on the thread that made it.
            unsafe { std::env::remove_var(&key) };
        }
    }
    for (k, v) in env {
        // SAFETY: as above.
        unsafe { std::env::set_var(k, v) };
    }
}

/// Builds the restored side's view, from the plan the restorer left.
fn restored(plan: *const Plan) -> RestoreContext {
    let generation = GENERATION.fetch_add(1, Ordering::AcqRel) + 1;
    // SAFETY: the restorer passed the plan area it ran from; it stays mapped
    // until `release` below.
    let info = unsafe { restore::take_info(plan) };
    apply_env(&info.env);
    RestoreContext {
        args: info.args,
        env: info.env,
        generation,
        snapshot: info.snapshot.into(),
    }
}
