//! The machine-level pieces of the native engine, x86_64 Linux only: saving
//! and resuming a register context, switching stacks, and raw system calls
//! for the restorer, which runs while the process's memory is being replaced
//! and so may touch neither libc's state (errno, locks) nor the heap.

use std::arch::naked_asm;

/// Callee-saved registers, stack and instruction pointers, FPU control
/// state and the TLS base of the thread that checkpointed.
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
#[unsafe(naked)]
pub(super) unsafe extern "C" fn save_and_call(
    ctx: *mut Context,
    f: unsafe extern "C" fn(*mut Context, *mut u8) -> Pair,
    arg: *mut u8,
) -> Pair {
    naked_asm!(
        "mov [rdi + 0], rbx",
        "mov [rdi + 8], rbp",
        "mov [rdi + 16], r12",
        "mov [rdi + 24], r13",
        "mov [rdi + 32], r14",
        "mov [rdi + 40], r15",
        "lea rax, [rsp + 8]",
        "mov [rdi + 48], rax",
        "mov rax, [rsp]",
        "mov [rdi + 56], rax",
        "stmxcsr [rdi + 64]",
        "fnstcw [rdi + 68]",
        // Entry left rsp 8 off 16-byte alignment; realign for the call.
        "sub rsp, 8",
        "mov rax, rsi",
        "mov rsi, rdx",
        "call rax",
        "add rsp, 8",
        "ret",
    )
}

/// Restores `ctx` and returns from its `save_and_call` with `(a, b)`.
#[unsafe(naked)]
pub(super) unsafe extern "C" fn resume(ctx: *const Context, a: u64, b: u64) -> ! {
    naked_asm!(
        "mov rbx, [rdi + 0]",
        "mov rbp, [rdi + 8]",
        "mov r12, [rdi + 16]",
        "mov r13, [rdi + 24]",
        "mov r14, [rdi + 32]",
        "mov r15, [rdi + 40]",
        "ldmxcsr [rdi + 64]",
        "fldcw [rdi + 68]",
        "mov rax, rsi",
        "mov rsp, [rdi + 48]",
        "jmp qword ptr [rdi + 56]",
    )
}

/// Calls `f(arg)` on the stack whose top is `stack_top`; `f` never returns.
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
