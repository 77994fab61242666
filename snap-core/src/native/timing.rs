//! How long each stage of a native restore took, for finding where a
//! restore's time goes without a tracer's overhead. Every restore records
//! the stages (a vDSO clock read each); the restored process prints them to
//! stderr when its environment has [`RESTORE_TIMING_ENV`] set:
//!
//! ```text
//! snap: restore timing (ms): validate 0.112, identity 0.021, layout 0.048, files 0.003, plan 0.041, map 0.060, total 0.285
//! ```
//!
//! The clock starts when [`crate::init`] begins the restore, after the exec
//! and the dynamic loader; `map` runs from the restorer's start to the
//! restored side's first instruction after the jump. A restore started
//! ahead waits at its gate ([`crate::RESTORE_GATE_ENV`]) between `plan` and
//! `map`; that wait is left out of the stages and the total, and printed
//! last (`gate 812.402`).

use nix::time::{ClockId, clock_gettime};

/// Set (to anything) in the restoring environment to print the stages.
pub const RESTORE_TIMING_ENV: &str = "SNAP_RESTORE_TIMING";

/// The stages, in order.
const STAGES: [&str; 6] = ["validate", "identity", "layout", "files", "plan", "map"];

/// Monotonic nanoseconds at the start and at the end of each stage; 0 for a
/// stage not reached.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Stamps {
    start: u64,
    ends: [u64; STAGES.len()],
    /// Nanoseconds spent waiting at the gate after `plan`; 0 for none.
    gate: u64,
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
}

fn now_ns() -> u64 {
    // CLOCK_MONOTONIC is always available; a failure reads as 0 ("not
    // reached") rather than failing a restore over a diagnostic.
    clock_gettime(ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
        .unwrap_or(0)
}

impl Stamps {
    /// Starts the clock.
    pub(super) fn start() -> Self {
        Self {
            start: now_ns(),
            ends: [0; STAGES.len()],
            gate: 0,
        }
    }

    /// Marks the gate opening: the time since `plan` ended was a wait.
    pub(super) fn gate_opened(&mut self) {
        let plan = self.ends[Stage::Plan as usize];
        if plan != 0 {
            self.gate = now_ns().saturating_sub(plan);
        }
    }

    /// Marks the end of `stage`.
    pub(super) fn end(&mut self, stage: Stage) {
        self.ends[stage as usize] = now_ns();
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
            if i == Stage::Plan as usize {
                last += self.gate;
            }
        }
        let reached = self.ends.iter().rev().find(|e| **e != 0);
        let waited = if reached.is_some_and(|e| *e > self.ends[Stage::Plan as usize]) {
            self.gate
        } else {
            0
        };
        let total = reached.map_or(0, |e| e.saturating_sub(self.start).saturating_sub(waited));
        out.push_str(&format!(" total {:.3}", ms(total)));
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

    #[test]
    fn the_line_names_every_stage_in_order() {
        let mut stamps = Stamps {
            start: 1_000_000,
            ends: [0; STAGES.len()],
            gate: 0,
        };
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
            "snap: restore timing (ms): validate 0.100, identity 0.100, layout 0.100, files 0.100, plan 0.100, map -, total 0.500"
        );
        stamps.end(Stage::Map);
        assert!(stamps.line().contains(" map "), "{}", stamps.line());
        assert!(!stamps.line().contains("map -"));
    }

    #[test]
    fn a_wait_at_the_gate_is_left_out_of_the_stages_and_the_total() {
        let mut stamps = Stamps {
            start: 1_000_000,
            ends: [0; STAGES.len()],
            gate: 0,
        };
        for (i, end) in stamps.ends.iter_mut().take(5).enumerate() {
            *end = 1_000_000 + (i as u64 + 1) * 100_000;
        }
        // 5 ms at the gate after plan, then 0.2 ms of mapping.
        stamps.gate = 5_000_000;
        stamps.ends[Stage::Map as usize] = 1_500_000 + 5_000_000 + 200_000;
        assert_eq!(
            stamps.line(),
            "snap: restore timing (ms): validate 0.100, identity 0.100, layout 0.100, files 0.100, plan 0.100, map 0.200, total 0.700, gate 5.000"
        );
    }
}
