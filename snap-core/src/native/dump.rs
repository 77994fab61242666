//! Dumping the calling process: the native engine's side of
//! [`checkpoint`](crate::checkpoint()).

use std::fs::{self, File};
use std::os::fd::AsRawFd;

use super::handoff::Handoff;
use super::maps::{self, Mapping, Treatment};
use super::state::{Disposition, Expected, NativeState, Region};
use super::sys::{self, Context, Pair};
use super::{DumpError, NAME, fds};
use crate::OsError;
use crate::fd_policy::FdPolicy;
use crate::resumed::{Resumed, generation};
use crate::snapshot::{CreateError, Identity, Seal, SnapshotWriter};

/// The memory dump, run while the caller is suspended in
/// [`sys::save_and_call`]. It must not allocate: the heap is being copied.
#[repr(C)]
struct Dump {
    fd: i32,
    /// `(start, len, image offset)` of each region to save.
    regions: *const (u64, u64, u64),
    count: usize,
}

/// Dumps this process into `dir`. Returns [`Resumed::Checkpointed`] here,
/// and [`Resumed::Restored`] in every process later restored from the
/// snapshot (or [`DumpError::RestoreRequest`] there, if its restore request
/// cannot be read).
pub(crate) fn dump(dir: &std::path::Path, fds: &FdPolicy) -> Result<Resumed, DumpError> {
    if !crate::layout::layout_is_fixed() {
        return Err(DumpError::Randomized);
    }
    check_threads()?;
    let files = fds::scan(fds)?;

    let identity = Identity::of_process(std::process::id() as i32)
        .map_err(OsError::during("read own identity"))?;
    let writer = SnapshotWriter::create(dir)?;
    let image_path = writer.payload_dir().join(super::IMAGE_FILE);
    let image = File::create(&image_path).map_err(|e| CreateError::io("create", &image_path, e))?;

    let signals = dispositions();
    let (sigmask, altstack) = signal_state();
    let (regions, expected, vdso, plan_regions) = settle_map()?;
    let fs_base = sys::fs_base();
    let tid_offset = tid_offset(fs_base, &saved_ranges(&plan_regions))?;
    // SAFETY: brk(0) only reports the current program break.
    let brk = unsafe { sys::syscall6(libc::SYS_brk, [0; 6]) } as u64;

    let mut context = Context {
        fs_base,
        ..Context::default()
    };
    let mut dump = Dump {
        fd: image.as_raw_fd(),
        regions: plan_regions.as_ptr(),
        count: plan_regions.len(),
    };
    // SAFETY: `dump_memory` only reads mapped memory and writes it to the
    // image with pwrite; `context` and `dump` outlive the call.
    let returned =
        unsafe { sys::save_and_call(&mut context, dump_memory, (&mut dump as *mut Dump).cast()) };
    match Handoff::from_pair(returned) {
        Handoff::Restored { plan } => {
            // This is a restored process. Everything in this frame describes
            // the checkpointing process; none of it may be dropped here.
            std::mem::forget((
                writer,
                image,
                regions,
                expected,
                plan_regions,
                files,
                signals,
            ));
            // SAFETY: the restorer handed over the plan area it ran from,
            // still mapped; nothing else refers to it.
            let (request, mut stamps) = unsafe { super::handoff::take_request(plan) };
            stamps.end(super::timing::Stage::Jump);
            let restored = request.map(|r| r.into_restored());
            // After into_restored: the restoring environment decides.
            stamps.report();
            return Ok(Resumed::Restored(
                restored.map_err(DumpError::RestoreRequest)?,
            ));
        }
        Handoff::DumpFailed { errno } => {
            return Err(OsError::new(
                "write the memory image",
                std::io::Error::from_raw_os_error(errno),
            )
            .into());
        }
        Handoff::Dumped => {}
    }
    image
        .sync_all()
        .map_err(OsError::during("fsync the memory image"))?;
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
        generation: generation(),
    };
    let snapshot = writer.commit(Seal {
        engine: NAME.into(),
        identity,
        scratch: Vec::new(),
        engine_state: state.encode().map_err(DumpError::EncodeState)?,
        annotations: Vec::new(),
    })?;
    Ok(Resumed::Checkpointed(Box::new(snapshot)))
}

/// Writes each planned region to the image. Allocation-free: the heap is
/// being copied while it runs.
///
/// # Safety
/// `arg` points at a live [`Dump`] whose `regions` are `count` entries, each
/// a readable mapping of this process that stays mapped for the call.
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
                return Handoff::DumpFailed { errno }.to_pair();
            }
            done += n as u64;
        }
    }
    Handoff::Dumped.to_pair()
}

fn check_threads() -> Result<(), DumpError> {
    let tasks = || -> Result<Vec<i32>, DumpError> {
        Ok(fs::read_dir("/proc/self/task")
            .map_err(OsError::during("read /proc/self/task"))?
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
        return Err(DumpError::Threads { threads });
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
fn settle_map() -> Result<Settled, DumpError> {
    for _ in 0..4 {
        let first = maps::read_self().map_err(OsError::during("read /proc/self/maps"))?;
        let planned = plan(&first)?;
        let second = maps::read_self().map_err(OsError::during("read /proc/self/maps"))?;
        if first == second {
            return Ok(planned);
        }
    }
    Err(DumpError::Unsettled)
}

fn plan(maps: &[Mapping]) -> Result<Settled, DumpError> {
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
                    // SAFETY: the vDSO is mapped readable for the process's life.
                    let digest = unsafe { maps::digest_memory(m.start, m.len()) };
                    vdso = Some((m.start, m.end, digest));
                }
            }
            Treatment::Unsupported => {
                return Err(DumpError::SharedMapping {
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
fn tid_offset(fs_base: u64, saved: &[(u64, u64)]) -> Result<u64, DumpError> {
    let tid = sys::gettid();
    let end = saved
        .iter()
        .find(|(s, e)| *s <= fs_base && fs_base < *e)
        .map(|(_, e)| *e)
        .ok_or(DumpError::ThreadId)?;
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
    Err(DumpError::ThreadId)
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
