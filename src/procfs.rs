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

/// The pid `pid` has in its innermost PID namespace (the last field of
/// `NSpid` in `/proc/PID/status`): for a process of a tree in a namespace
/// of its own, the pid CRIU's images give it.
pub(crate) fn innermost_pid(pid: u32) -> Option<i32> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("NSpid:"))?
        .split_whitespace()
        .last()?
        .parse()
        .ok()
}

/// Peak RSS of `pid` in MB (`VmHWM` of `/proc/PID/status`); 0 once the
/// process is gone.
pub fn peak_rss_mb(pid: u32) -> u64 {
    kb_field(&format!("/proc/{pid}/status"), "VmHWM:").map_or(0, |kb| kb.div_ceil(1024))
}

/// The proportional set size of `pid` and every process below it, in kB
/// (`Pss` of `/proc/PID/smaps_rollup`): pages shared by N processes count
/// 1/N in each, so the sum over N instances is what they cost together. A
/// process that is gone counts 0.
pub fn tree_pss_kb(pid: u32) -> u64 {
    std::iter::once(pid)
        .chain(descendants(pid))
        .map(|pid| kb_field(&format!("/proc/{pid}/smaps_rollup"), "Pss:").unwrap_or(0))
        .sum()
}

/// The `KEY N kB` line of a `/proc` file, in kB.
fn kb_field(path: &str, key: &str) -> Option<u64> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Every process below `pid`, parents before their children (so the first
/// is `pid`'s first child), from `/proc/PID/task/*/children`.
pub(crate) fn descendants(pid: impl Into<i64>) -> Vec<u32> {
    let mut found = Vec::new();
    let mut next = 0;
    let children = |pid: i64| -> Vec<u32> {
        std::fs::read_dir(format!("/proc/{pid}/task"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
            .flat_map(|list| {
                list.split_whitespace()
                    .filter_map(|p| p.parse::<u32>().ok())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    found.extend(children(pid.into()));
    while next < found.len() {
        let below = children(i64::from(found[next]));
        found.extend(below);
        next += 1;
    }
    found
}

/// The program `pid` runs (`/proc/PID/exe`), if it can be read.
pub(crate) fn exe(pid: u32) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .map(|p| p.display().to_string())
}

/// Whether `pid` has `path` open (a link of `/proc/PID/fd` names it).
pub(crate) fn holds_open(pid: u32, path: &std::path::Path) -> bool {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .into_iter()
        .flatten()
        .flatten()
        .any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == path))
}

/// Whether `pid` is blocked reading its standard input (`/proc/PID/syscall`
/// names `read` on descriptor 0), as a native restore waiting at its gate
/// is; `None` where it cannot be told (the process is gone, or this
/// process may not look).
pub fn reads_stdin(pid: u32) -> Option<bool> {
    let syscall = std::fs::read_to_string(format!("/proc/{pid}/syscall")).ok()?;
    let mut fields = syscall.split_whitespace();
    let number = fields.next()?;
    if number == "running" {
        return Some(false);
    }
    let fd = fields.next().and_then(|a| a.strip_prefix("0x"));
    Some(number.parse::<i64>().ok() == Some(libc::SYS_read) && fd == Some("0"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    /// Waits, within 10 s, until `pid` sleeps in a system call (state S).
    fn asleep(pid: u32) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
            // The state follows the command's closing parenthesis.
            let state = stat.rsplit_once(") ").unwrap().1;
            if state.starts_with('S') {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "{pid} never slept");
            std::thread::yield_now();
        }
    }

    #[test]
    fn a_process_blocked_on_its_stdin_is_told_from_one_that_sleeps() {
        use std::process::{Command, Stdio};
        let mut cat = Command::new("cat")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let mut sleep = Command::new("sleep").arg("30").spawn().unwrap();
        asleep(cat.id());
        asleep(sleep.id());
        assert_eq!(reads_stdin(cat.id()), Some(true));
        // Blocked too, but in clock_nanosleep.
        assert_eq!(reads_stdin(sleep.id()), Some(false));
        drop(cat.stdin.take());
        cat.wait().unwrap();
        sleep.kill().unwrap();
        sleep.wait().unwrap();
        assert_eq!(reads_stdin(sleep.id()), None, "a reaped process");
    }
}
