//! How long each stage of a native restore took, for finding where a
//! restore's time goes without a tracer's overhead. Every restore records
//! the stages (a vDSO clock read each); the restored process prints them to
//! stderr when its environment has [`RESTORE_TIMING_ENV`] set:
//!
//! ```text
//! snap: restore timing (ms): validate 0.121, identity 0.017, layout 0.028, files 0.004, plan 0.044, map 0.030, populate 0.119, jump 0.016, total 0.380; working set 0 pages read, 44 written
//! ```
//!
//! The clock starts when [`crate::init`] begins the restore, after the exec
//! and the dynamic loader. `map` is the restorer mapping the image,
//! `populate` faulting in the recorded working set (0 without one), and
//! `jump` from there to the restored side's first instruction after the
//! jump. A restore started ahead waits at its gate
//! ([`crate::RESTORE_GATE_ENV`]) between `populate` and `jump`; that wait
//! is left out of the stages and the total, and printed last
//! (`gate 812.402`).

use nix::time::{ClockId, clock_gettime};

/// Set (to anything) in the restoring environment to print the stages.
pub const RESTORE_TIMING_ENV: &str = "SNAP_RESTORE_TIMING";

/// The stages, in order.
const STAGES: [&str; 8] = [
    "validate", "identity", "layout", "files", "plan", "map", "populate", "jump",
];

/// Monotonic nanoseconds at the start and at the end of each stage; 0 for a
/// stage not reached.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Stamps {
    start: u64,
    ends: [u64; STAGES.len()],
    /// Nanoseconds spent waiting at the gate after `populate`; 0 for none.
    gate: u64,
    /// Pages of the working set populated for reading, and for writing.
    populated: [u64; 2],
}

/// A stage of the restore, by its place in [`STAGES`].
#[derive(Debug, Clone, Copy)]
pub(super) enum Stage {
    Validate = 0,
    Identity = 1,
    Layout = 2,
    Files = 3,
    Plan = 4,
    Map = 5,
    Populate = 6,
    Jump = 7,
}

/// The stage the gate follows.
const BEFORE_GATE: Stage = Stage::Populate;

fn now_ns() -> u64 {
    // CLOCK_MONOTONIC is always available; a failure reads as 0 ("not
    // reached") rather than failing a restore over a diagnostic.
    clock_gettime(ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
        .unwrap_or(0)
}

/// [`now_ns`] with a raw system call, for the restorer, which may not call
/// into libc while memory is being replaced.
///
/// # Safety
/// None beyond a system call's; `unsafe` only because the restorer's
/// helpers all are.
pub(super) unsafe fn now_ns_raw() -> u64 {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec, which `t` is.
    let ret = unsafe {
        super::sys::syscall6(
            libc::SYS_clock_gettime,
            [
                libc::CLOCK_MONOTONIC as u64,
                &mut t as *mut libc::timespec as u64,
                0,
                0,
                0,
                0,
            ],
        )
    };
    if ret != 0 {
        return 0;
    }
    t.tv_sec as u64 * 1_000_000_000 + t.tv_nsec as u64
}

impl Stamps {
    /// Starts the clock.
    pub(super) fn start() -> Self {
        Self {
            start: now_ns(),
            ends: [0; STAGES.len()],
            gate: 0,
            populated: [0; 2],
        }
    }

    /// Marks the gate opening at `now` (monotonic nanoseconds): the time
    /// since `populate` ended was a wait.
    pub(super) fn gate_opened_at(&mut self, now: u64) {
        let before = self.ends[BEFORE_GATE as usize];
        if before != 0 {
            self.gate = now.saturating_sub(before);
        }
    }

    /// Marks the end of `stage`.
    pub(super) fn end(&mut self, stage: Stage) {
        self.end_at(stage, now_ns());
    }

    /// Marks the end of `stage` at `now` (monotonic nanoseconds).
    pub(super) fn end_at(&mut self, stage: Stage, now: u64) {
        self.ends[stage as usize] = now;
    }

    /// Counts the working set's pages populated, for reading or writing.
    pub(super) fn add_populated(&mut self, pages: u64, write: bool) {
        self.populated[usize::from(write)] += pages;
    }

    /// One line: each stage's milliseconds and the total.
    pub(super) fn line(&self) -> String {
        let mut out = String::from("snap: restore timing (ms):");
        let mut last = self.start;
        for (i, (name, end)) in STAGES.iter().zip(self.ends).enumerate() {
            if end == 0 || last == 0 {
                out.push_str(&format!(" {name} -,"));
                last = 0;
                continue;
            }
            out.push_str(&format!(" {name} {:.3},", ms(end.saturating_sub(last))));
            last = end;
            if i == BEFORE_GATE as usize {
                last += self.gate;
            }
        }
        let reached = self.ends.iter().rev().find(|e| **e != 0);
        let waited = if reached.is_some_and(|e| *e > self.ends[BEFORE_GATE as usize]) {
            self.gate
        } else {
            0
        };
        let total = reached.map_or(0, |e| e.saturating_sub(self.start).saturating_sub(waited));
        out.push_str(&format!(" total {:.3}", ms(total)));
        let [read, written] = self.populated;
        if read + written != 0 {
            out.push_str(&format!(
                "; working set {read} pages read, {written} written"
            ));
        }
        if self.gate != 0 {
            out.push_str(&format!(", gate {:.3}", ms(self.gate)));
        }
        out
    }

    /// Prints [`Self::line`] when the (restored) environment asks for it.
    pub(super) fn report(&self) {
        if std::env::var_os(RESTORE_TIMING_ENV).is_some_and(|v| !v.is_empty()) {
            eprintln!("{}", self.line());
        }
    }
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamps() -> Stamps {
        Stamps {
            start: 1_000_000,
            ends: [0; STAGES.len()],
            gate: 0,
            populated: [0; 2],
        }
    }

    #[test]
    fn the_line_names_every_stage_in_order() {
        let mut stamps = stamps();
        for (i, stage) in [
            Stage::Validate,
            Stage::Identity,
            Stage::Layout,
            Stage::Files,
            Stage::Plan,
        ]
        .into_iter()
        .enumerate()
        {
            stamps.ends[stage as usize] = 1_000_000 + (i as u64 + 1) * 100_000;
        }
        assert_eq!(
            stamps.line(),
            "snap: restore timing (ms): validate 0.100, identity 0.100, layout 0.100, files 0.100, plan 0.100, map -, populate -, jump -, total 0.500"
        );
        stamps.end(Stage::Map);
        stamps.end(Stage::Populate);
        stamps.end(Stage::Jump);
        assert!(stamps.line().contains(" map "), "{}", stamps.line());
        assert!(!stamps.line().contains(" -,"), "{}", stamps.line());
        assert!(!stamps.line().contains("working set"));
    }

    #[test]
    fn a_wait_at_the_gate_is_left_out_of_the_stages_and_the_total() {
        let mut stamps = stamps();
        for (i, end) in stamps.ends.iter_mut().take(7).enumerate() {
            *end = 1_000_000 + (i as u64 + 1) * 100_000;
        }
        // 5 ms at the gate after populate, then 0.2 ms to the jump.
        stamps.gate_opened_at(1_700_000 + 5_000_000);
        stamps.end_at(Stage::Jump, 1_700_000 + 5_000_000 + 200_000);
        stamps.add_populated(30, false);
        stamps.add_populated(12, true);
        stamps.add_populated(2, false);
        assert_eq!(
            stamps.line(),
            "snap: restore timing (ms): validate 0.100, identity 0.100, layout 0.100, files 0.100, plan 0.100, map 0.100, populate 0.100, jump 0.200, total 0.900; working set 32 pages read, 12 written, gate 5.000"
        );
    }
}
