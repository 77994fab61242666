//! Where a restored instance's first invocation spends its time, past the
//! native engine's jump: printed to stderr as one line when the restoring
//! environment has `SNAP_RESTORE_TIMING` set, after snap-core's own
//! `snap: restore timing (ms): …` line for the stages up to the jump.
//!
//! ```text
//! snapjs: first invocation (ms): after-restore 0.412, next-event 0.180, handler 4.921, response 0.151, total 5.664; faults minor 1520 major 0 (after-restore 301, next-event 40, handler 1099, response 80); runtime-api requests 2 connections 1
//! ```
//!
//! The clock starts when the snapshot point returns in the restored
//! process (`snapshot_point::take`), and each stage ends where the next
//! begins:
//! - `after-restore`: the signal self-pipe remade, a new tokio runtime, the
//!   random sources reseeded, `process.env` refreshed, the after-restore
//!   hooks, the Runtime API client;
//! - `next-event`: `GET invocation/next` until the event has arrived (its
//!   connect included, and any wait for an event to come);
//! - `handler`: the JS work, the handler's invocation until it settles,
//!   and its result as JSON;
//! - `response`: `POST invocation/{id}/response` (or `/error`) until the
//!   API answers.
//!
//! Faults are `getrusage(RUSAGE_SELF)` deltas over the same stages: minor
//! ones (a page copied on write, or mapped from the image or the binary
//! already in the page cache) and major ones (read from disk).

use std::io::Write;
use std::time::Instant;

/// The stages, in order.
const STAGES: [&str; 4] = ["after-restore", "next-event", "handler", "response"];

/// A stage of the first invocation, by its place in [`STAGES`].
#[derive(Debug, Clone, Copy)]
pub(crate) enum Stage {
    AfterRestore = 0,
    NextEvent = 1,
    Handler = 2,
    Response = 3,
}

/// The clock of a restored instance's first invocation.
#[derive(Debug)]
pub(crate) struct FirstInvocation {
    start: Instant,
    start_faults: (u64, u64),
    /// When each stage ended, and the process's faults then.
    ends: [Option<(Instant, (u64, u64))>; STAGES.len()],
}

/// Whether the restoring environment asks for the stages (set, to anything
/// but empty, as snap-core reads it).
pub(crate) fn wanted() -> bool {
    std::env::var_os(crate::snapshot_point::RESTORE_TIMING_ENV).is_some_and(|v| !v.is_empty())
}

impl FirstInvocation {
    /// Starts the clock: call it as the snapshot point returns.
    pub(crate) fn start() -> Self {
        Self {
            start: Instant::now(),
            start_faults: crate::sys::page_faults(),
            ends: [None; STAGES.len()],
        }
    }

    /// Marks the end of `stage`.
    pub(crate) fn end(&mut self, stage: Stage) {
        self.ends[stage as usize] = Some((Instant::now(), crate::sys::page_faults()));
    }

    /// The line, with the Runtime API client's request and connection
    /// counts.
    pub(crate) fn line(&self, requests: u64, connections: u64) -> String {
        let mut times = Vec::new();
        let mut minors = Vec::new();
        let (mut at, mut faults) = (self.start, self.start_faults);
        for (name, end) in STAGES.iter().zip(&self.ends) {
            let Some((time, now)) = *end else {
                continue;
            };
            let ms = time.saturating_duration_since(at).as_secs_f64() * 1000.0;
            times.push(format!("{name} {ms:.3}"));
            minors.push(format!("{name} {}", now.0.saturating_sub(faults.0)));
            (at, faults) = (time, now);
        }
        let total = at.saturating_duration_since(self.start).as_secs_f64() * 1000.0;
        format!(
            "snapjs: first invocation (ms): {}, total {total:.3}; faults minor {} major {} ({}); runtime-api requests {requests} connections {connections}",
            times.join(", "),
            faults.0.saturating_sub(self.start_faults.0),
            faults.1.saturating_sub(self.start_faults.1),
            minors.join(", "),
        )
    }

    /// Prints [`Self::line`] to stderr. A report the restoring environment
    /// asked for, in the shape of snap-core's own line, rather than a log
    /// record that a log filter could drop.
    pub(crate) fn print(&self, requests: u64, connections: u64) {
        let mut line = self.line(requests, connections);
        line.push('\n');
        let _ = std::io::stderr().write_all(line.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_every_stage_reached_and_the_total() {
        let mut clock = FirstInvocation::start();
        for stage in [
            Stage::AfterRestore,
            Stage::NextEvent,
            Stage::Handler,
            Stage::Response,
        ] {
            clock.end(stage);
        }
        let line = clock.line(2, 1);
        assert!(
            line.starts_with("snapjs: first invocation (ms): after-restore "),
            "{line}"
        );
        for part in [
            ", next-event ",
            ", handler ",
            ", response ",
            ", total ",
            "; faults minor ",
            " major ",
            "; runtime-api requests 2 connections 1",
        ] {
            assert!(line.contains(part), "{part} in {line}");
        }
    }
}
