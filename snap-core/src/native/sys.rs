//! The machine-level pieces of the native engine, x86_64 Linux only: saving
//! and resuming a register context, switching stacks, and raw system calls
//! for the restorer, which runs while the process's memory is being replaced
//! and so may touch neither libc's state (errno, locks) nor the heap.

use std::arch::naked_asm;
use std::mem::offset_of;

/// Callee-saved registers, stack and instruction pointers, FPU control
/// state and the TLS base of the thread that checkpointed.
///
/// The asm below addresses the fields with `offset_of!`, so its layout and
/// theirs cannot drift apart; `repr(C)` keeps it stable in snapshots.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub(super) struct Context {
    pub(super) rbx: u64,
    pub(super) rbp: u64,
    pub(super) r12: u64,
    pub(super) r13: u64,
    pub(super) r14: u64,
    pub(super) r15: u64,
    /// The stack pointer after `save_and_call` returns.
    pub(super) rsp: u64,
    /// Where `save_and_call` returns to.
    pub(super) rip: u64,
    pub(super) mxcsr: u32,
    pub(super) fpu_cw: u16,
    pub(super) _pad: u16,
    pub(super) fs_base: u64,
}

/// Two words returned in rax:rdx.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub(super) struct Pair {
    pub(super) a: u64,
    pub(super) b: u64,
}

/// Saves the caller's context into `ctx`, then calls `f(ctx, arg)` on the
/// same stack and returns what it returns. A later [`resume`] of `ctx`
/// makes this call return a second time, with the values `resume` gives.
///
/// The caller is suspended inside this call while `f` runs, so memory
/// written by `f` (a snapshot of the whole address space) shows every caller
/// frame exactly as the second return will find it.
///
/// # Safety
/// - `ctx` is valid for writes of a [`Context`] for the whole call.
/// - `f` is safe to call with `ctx` and `arg`, and returns normally.
/// - A second return (through [`resume`]) happens only in a process whose
///   memory, including this call's caller frames, is the memory `f` saw:
///   the caller must treat everything in its frame as belonging to the
///   process that checkpointed (and neither drop nor free it twice).
#[unsafe(naked)]
pub(super) unsafe extern "C" fn save_and_call(
    ctx: *mut Context,
    f: unsafe extern "C" fn(*mut Context, *mut u8) -> Pair,
    arg: *mut u8,
) -> Pair {
    naked_asm!(
        "mov [rdi + {rbx}], rbx",
        "mov [rdi + {rbp}], rbp",
        "mov [rdi + {r12}], r12",
        "mov [rdi + {r13}], r13",
        "mov [rdi + {r14}], r14",
        "mov [rdi + {r15}], r15",
        "lea rax, [rsp + 8]",
        "mov [rdi + {rsp}], rax",
        "mov rax, [rsp]",
        "mov [rdi + {rip}], rax",
        "stmxcsr [rdi + {mxcsr}]",
        "fnstcw [rdi + {fpu_cw}]",
        // Entry left rsp 8 off 16-byte alignment; realign for the call.
        "sub rsp, 8",
        "mov rax, rsi",
        "mov rsi, rdx",
        "call rax",
        "add rsp, 8",
        "ret",
        rbx = const offset_of!(Context, rbx),
        rbp = const offset_of!(Context, rbp),
        r12 = const offset_of!(Context, r12),
        r13 = const offset_of!(Context, r13),
        r14 = const offset_of!(Context, r14),
        r15 = const offset_of!(Context, r15),
        rsp = const offset_of!(Context, rsp),
        rip = const offset_of!(Context, rip),
        mxcsr = const offset_of!(Context, mxcsr),
        fpu_cw = const offset_of!(Context, fpu_cw),
    )
}

/// Restores `ctx` and returns from its `save_and_call` with `(a, b)`.
///
/// # Safety
/// `ctx` was filled by [`save_and_call`] in a process whose memory this
/// process now holds (a restore mapped it back), so the stack and return
/// address it names are live, and the TLS base is already the one it had.
/// Nothing of the current stack survives the jump.
#[unsafe(naked)]
pub(super) unsafe extern "C" fn resume(ctx: *const Context, a: u64, b: u64) -> ! {
    naked_asm!(
        "mov rbx, [rdi + {rbx}]",
        "mov rbp, [rdi + {rbp}]",
        "mov r12, [rdi + {r12}]",
        "mov r13, [rdi + {r13}]",
        "mov r14, [rdi + {r14}]",
        "mov r15, [rdi + {r15}]",
        "ldmxcsr [rdi + {mxcsr}]",
        "fldcw [rdi + {fpu_cw}]",
        "mov rax, rsi",
        "mov rsp, [rdi + {rsp}]",
        "jmp qword ptr [rdi + {rip}]",
        rbx = const offset_of!(Context, rbx),
        rbp = const offset_of!(Context, rbp),
        r12 = const offset_of!(Context, r12),
        r13 = const offset_of!(Context, r13),
        r14 = const offset_of!(Context, r14),
        r15 = const offset_of!(Context, r15),
        rsp = const offset_of!(Context, rsp),
        rip = const offset_of!(Context, rip),
        mxcsr = const offset_of!(Context, mxcsr),
        fpu_cw = const offset_of!(Context, fpu_cw),
    )
}

/// Calls `f(arg)` on the stack whose top is `stack_top`; `f` never returns.
///
/// # Safety
/// `stack_top` is the end of a writable region large enough for `f`'s
/// frames, which nothing else uses while `f` runs; `f` is safe to call with
/// `arg` and never returns (the old stack is abandoned).
#[unsafe(naked)]
pub(super) unsafe extern "C" fn call_on_stack(
    arg: *const u8,
    stack_top: *mut u8,
    f: unsafe extern "C" fn(*const u8) -> !,
) -> ! {
    naked_asm!("mov rsp, rsi", "and rsp, -16", "call rdx", "ud2",)
}

/// A raw system call with up to six arguments; returns the kernel's value
/// (negative errno on failure) without touching errno.
///
/// # Safety
/// The caller upholds the contract of system call `nr`.
#[inline(always)]
pub(super) unsafe fn syscall6(nr: i64, a: [u64; 6]) -> i64 {
    let ret: i64;
    // SAFETY: the `syscall` instruction clobbers rcx and r11 only; the
    // caller vouches for the arguments.
    unsafe {
        std::arch::asm!(
            "syscall",
            inlateout("rax") nr => ret,
            in("rdi") a[0],
            in("rsi") a[1],
            in("rdx") a[2],
            in("r10") a[3],
            in("r8") a[4],
            in("r9") a[5],
            lateout("rcx") _,
            lateout("r11") _,
            options(nostack),
        );
    }
    ret
}

/// `arch_prctl` codes (asm/prctl.h).
pub(super) const ARCH_SET_FS: u64 = 0x1002;
const ARCH_GET_FS: u64 = 0x1003;

/// Reads the calling thread's FS base (its TLS pointer).
pub(super) fn fs_base() -> u64 {
    let mut base = 0u64;
    // SAFETY: ARCH_GET_FS writes one u64 to the address given, a local.
    let ret = unsafe {
        syscall6(
            libc::SYS_arch_prctl,
            [ARCH_GET_FS, &mut base as *mut u64 as u64, 0, 0, 0, 0],
        )
    };
    if ret < 0 { 0 } else { base }
}

/// The calling thread's kernel thread id.
pub(super) fn gettid() -> i32 {
    // SAFETY: gettid takes no arguments and cannot fail.
    unsafe { syscall6(libc::SYS_gettid, [0; 6]) as i32 }
}
