//! Lambda's log lines: `INIT_REPORT` and `REPORT`.

use std::time::Duration;

use crate::instance::Start;
use crate::runtime::ErrorBody;

/// What a `REPORT` line says.
#[derive(Debug)]
pub struct Invocation<'a> {
    /// The request id.
    pub request_id: &'a str,
    /// Event delivered to outcome.
    pub duration: Duration,
    /// `--memory-size`.
    pub memory_size_mb: u32,
    /// Peak RSS of the bootstrap.
    pub max_memory_used_mb: u64,
    /// Set on an instance's first invocation.
    pub first: Option<Start>,
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn billed(d: Duration) -> String {
    format!("{} ms", (d.as_secs_f64() * 1000.0).ceil().max(1.0) as u64)
}

/// Formats the `REPORT` line.
pub fn invocation_line(r: &Invocation<'_>) -> String {
    let mut line = format!(
        "REPORT RequestId: {}\tDuration: {}\tBilled Duration: {}\tMemory Size: {} MB\tMax Memory Used: {} MB",
        r.request_id,
        ms(r.duration),
        billed(r.duration),
        r.memory_size_mb,
        r.max_memory_used_mb
    );
    match r.first {
        Some(Start::Cold { init }) => line.push_str(&format!("\tInit Duration: {}", ms(init))),
        Some(Start::Restored { restore }) => line.push_str(&format!(
            "\tRestore Duration: {}\tBilled Restore Duration: {}",
            ms(restore),
            billed(restore)
        )),
        None => {}
    }
    line
}

/// Prints a `REPORT` line to stderr, where function logs go.
pub fn invocation(r: &Invocation<'_>) {
    emit(invocation_line(r));
}

/// Prints an `INIT_REPORT` line.
pub fn init(init: Duration, error: Option<&ErrorBody>) {
    emit(match error {
        None => format!(
            "INIT_REPORT Init Duration: {}\tPhase: init\tStatus: success",
            ms(init)
        ),
        Some(e) => format!(
            "INIT_REPORT Init Duration: {}\tPhase: init\tStatus: error\tError Type: {}",
            ms(init),
            e.error_type
        ),
    });
}

/// Writes `line` and its newline to stderr in one `write`. The function's
/// processes share that stderr, and `eprintln!` writes a formatted line in
/// pieces, between which an instance's own output could land and split the
/// line. One write of less than `PIPE_BUF` bytes is never split. A stderr
/// that is gone loses the line, as it loses the function's own.
fn emit(mut line: String) {
    use std::io::Write;
    line.push('\n');
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_lines() {
        let line = invocation_line(&Invocation {
            request_id: "id-1",
            duration: Duration::from_micros(1500),
            memory_size_mb: 128,
            max_memory_used_mb: 40,
            first: Some(Start::Restored {
                restore: Duration::from_micros(12_250),
            }),
        });
        assert_eq!(
            line,
            "REPORT RequestId: id-1\tDuration: 1.50 ms\tBilled Duration: 2 ms\tMemory Size: 128 MB\tMax Memory Used: 40 MB\tRestore Duration: 12.25 ms\tBilled Restore Duration: 13 ms"
        );
    }
}
