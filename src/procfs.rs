//! What snaprun reads about its instances from `/proc`.

/// The first child of `pid`, from `/proc/PID/task/PID/children`.
pub(crate) fn first_child(pid: i32) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Peak RSS of `pid` in MB (`VmHWM` of `/proc/PID/status`); 0 once the
/// process is gone.
pub fn peak_rss_mb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb.div_ceil(1024))
}
