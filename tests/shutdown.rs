//! Stopping `snaprun run` leaves nothing behind, under every engine: cold
//! (`--engine none`), native (rust-heavy-init restored, with a restore
//! waiting at its gate) and CRIU (rust-hello restored, with a worker
//! prepared ahead).
//!
//! - SIGTERM: an invocation in flight still gets its answer within the
//!   grace, and snaprun exits 143.
//! - SIGINT: snaprun exits 130.
//! - SIGKILL: nothing can run in snaprun, so its children must end by
//!   themselves (their parent-death signal, the relay's end of its pipe).
//!
//! CRIU restoring lazily (`--lazy-pages`), with a `criu lazy-pages` daemon
//! per instance, is stopped with SIGTERM and SIGKILL too.
//!
//! Each signal goes to snaprun's pid alone, never to a process group, so
//! that a process left behind is seen. Afterwards no process that snaprun
//! started remains (those recorded under it before the signal, and any
//! whose command line, environment or open files name the test's own
//! directory), and no mount under that directory.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Lines, criu_engine, eventually, http_post, json, rust_heavy_init, rust_hello};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// The shutdown grace the tests give: long enough for the slow invocation.
const GRACE_S: u64 = 8;
/// How long the slow invocation sleeps.
const SLOW_MS: u64 = 1500;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Engine {
    Cold,
    Native,
    Criu,
    /// CRIU restoring lazily: each instance has a `criu lazy-pages` daemon,
    /// and nothing is prepared ahead.
    CriuLazy,
}

impl Engine {
    fn flags(self) -> &'static [&'static str] {
        match self {
            Self::Cold => &["--engine", "none"],
            Self::Native => &["--engine", "native"],
            Self::Criu => &["--engine", "criu"],
            Self::CriuLazy => &["--engine", "criu", "--lazy-pages"],
        }
    }
}

/// A `snaprun run` of this test's own, in a directory of its own. On drop
/// (also when the test fails) snaprun and everything that names the
/// directory are killed.
struct Function {
    engine: Engine,
    tmp: tempfile::TempDir,
    child: Option<Child>,
    addr: String,
    logs: Arc<Mutex<Vec<String>>>,
}

impl Function {
    /// Starts `snaprun run` under `engine` on a copy of `bootstrap` (with,
    /// for a cold start and `grandchild`, a grandchild of snaprun beside
    /// it) and waits until it listens.
    fn start(engine: Engine, bootstrap: &Path, grandchild: bool) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let entry = install(engine, bootstrap, tmp.path(), grandchild);
        let mut child = common::snaprun()
            .arg("run")
            .args(["--listen", "127.0.0.1:0"])
            .args(engine.flags())
            .args(["--shutdown-grace", &GRACE_S.to_string()])
            .arg("--snapshot-dir")
            .arg(tmp.path().join("snap"))
            .arg("--")
            .arg(&entry)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            // Away from the test harness's group, so that nothing but the
            // test signals it.
            .process_group(0)
            .spawn()
            .expect("start snaprun run");
        let lines = Lines::new(child.stderr.take().unwrap());
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&logs);
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            while let Ok(line) = lines.rx.recv() {
                if let Some(rest) = line.strip_prefix("snaprun: listening on http://") {
                    let _ = addr_tx.send(rest.split_whitespace().next().unwrap().to_owned());
                }
                sink.lock().unwrap().push(line);
            }
        });
        let mut function = Self {
            engine,
            tmp,
            child: Some(child),
            addr: String::new(),
            logs,
        };
        function.addr = addr_rx
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("snaprun did not listen: {:#?}", function.logs()));
        function
    }

    fn dir(&self) -> &Path {
        self.tmp.path()
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Waits until `needle` is logged; fails the test after `limit`.
    fn wait_for_log(&self, needle: &str, limit: Duration) {
        let seen = eventually(limit, || self.logs().iter().any(|l| l.contains(needle)));
        assert!(seen, "{needle:?} not logged: {:#?}", self.logs());
    }

    /// Invokes `payload`; the answer must be a success.
    fn invoke_ok(&self, payload: &str) -> serde_json::Value {
        let (status, failed, body) = invoke(&self.addr, payload);
        assert_eq!((status, failed), (200, false), "{body}\n{:#?}", self.logs());
        json(&body)
    }

    /// Serves one invocation, then waits until what the engine keeps ready
    /// is there: a native restore at its gate, a CRIU worker.
    fn ready_with_spare(&self) {
        self.invoke_ok("{}");
        let spare = match self.engine {
            Engine::Cold | Engine::CriuLazy => return,
            // The instance and the restore waiting at its gate.
            Engine::Native => eventually(Duration::from_secs(30), || {
                descendants(self.pid())
                    .into_iter()
                    .filter(|pid| exe(*pid) == Some(self.dir().join("bootstrap")))
                    .count()
                    >= 2
            }),
            Engine::Criu => eventually(Duration::from_secs(30), || {
                !common::criu_children(self.pid(), "swrk").is_empty()
            }),
        };
        assert!(
            spare,
            "{:?}: nothing kept ready: {:#?}",
            self.engine,
            self.logs()
        );
    }

    /// Sends `signal` to snaprun alone.
    fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.pid() as i32), signal).unwrap();
    }

    /// Waits for snaprun to exit, within `limit`.
    fn exited(&mut self, limit: Duration) -> ExitStatus {
        let child = self.child.as_mut().unwrap();
        let mut status = None;
        let exited = eventually(limit, || {
            status = child.try_wait().unwrap();
            status.is_some()
        });
        assert!(
            exited,
            "snaprun still runs {limit:?} after the signal: {:#?}",
            self.logs()
        );
        self.child = None;
        status.unwrap()
    }

    /// Everything snaprun started, and what names this test's directory.
    fn ours(&self) -> BTreeSet<u32> {
        let mut ours: BTreeSet<u32> = descendants(self.pid()).into_iter().collect();
        ours.extend(naming(self.dir()));
        ours
    }

    /// None of `had`, nothing naming the directory and no mount under it
    /// is left (within a few seconds: a SIGKILLed parent's children die as
    /// the kernel gets to them).
    fn assert_nothing_left(&self, had: &BTreeSet<u32>, at: &str) {
        let mut left = Vec::new();
        let gone = eventually(Duration::from_secs(10), || {
            left = had
                .iter()
                .copied()
                .chain(naming(self.dir()))
                .filter(|pid| common::alive(*pid))
                .map(|pid| (pid, common::cmdline(pid)))
                .collect();
            left.is_empty()
        });
        assert!(
            gone,
            "{at}: left behind: {left:#?}\nlogs: {:#?}",
            self.logs()
        );
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let needle = self.dir().to_str().unwrap();
        let ours: Vec<&str> = mounts.lines().filter(|l| l.contains(needle)).collect();
        assert!(ours.is_empty(), "{at}: mounts left behind: {ours:#?}");
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        for pid in naming(self.dir()) {
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
    }
}

/// Puts the bootstrap in `dir` as `dir/bootstrap`, so that its processes
/// name the directory (their executable, and `LAMBDA_TASK_ROOT`); returns
/// what snaprun runs. With `grandchild`, a cold start runs it through a
/// script that first starts a grandchild of snaprun's, which only a kill of
/// the bootstrap's whole process group ends. (After a SIGKILL of snaprun
/// nothing can: the parent-death signal reaches its children only.)
fn install(engine: Engine, bootstrap: &Path, dir: &Path, grandchild: bool) -> PathBuf {
    let copy = dir.join("bootstrap");
    std::fs::copy(bootstrap, &copy).unwrap();
    if engine != Engine::Cold || !grandchild {
        return copy;
    }
    let script = dir.join("bootstrap.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nsleep 600 &\nexec {} \"$@\"\n",
            copy.to_str().unwrap()
        ),
    )
    .unwrap();
    set_executable(&script);
    script
}

fn set_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// POSTs an event to the front door: (status, function error?, body).
fn invoke(addr: &str, payload: &str) -> (u16, bool, String) {
    http_post(
        addr,
        "/2015-03-31/functions/function/invocations",
        payload.as_bytes(),
    )
}

/// Like [`invoke`], for a front door that may be closing: the status and
/// body, or `None` if the connection was refused or closed unanswered.
fn try_invoke(addr: &str) -> Option<(u16, String)> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let request = format!(
        "POST /2015-03-31/functions/function/invocations HTTP/1.1\r\nHost: {addr}\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{{}}"
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, body.to_owned()))
}

/// The bootstrap of `engine`'s test: rust-hello (cold, CRIU), or
/// rust-heavy-init (native); `None` when CRIU tests may be skipped here.
fn bootstrap(engine: Engine) -> Option<PathBuf> {
    match engine {
        Engine::Cold => Some(rust_hello()),
        Engine::Native => Some(rust_heavy_init()),
        Engine::Criu | Engine::CriuLazy => criu_engine().map(|_| rust_hello()),
    }
}

/// SIGTERM with a slow invocation in flight: it is answered, nothing new is
/// taken, snaprun exits 143 and leaves nothing behind.
fn sigterm_finishes_in_flight_work(engine: Engine) {
    let Some(bootstrap) = bootstrap(engine) else {
        return;
    };
    let mut function = Function::start(engine, &bootstrap, true);
    function.ready_with_spare();
    let addr = function.addr.clone();
    let slow = std::thread::spawn(move || {
        let started = Instant::now();
        let answer = invoke(&addr, &format!("{{\"sleep_ms\":{SLOW_MS}}}"));
        (answer, started.elapsed())
    });
    // The bootstrap says when it has the event.
    function.wait_for_log(&format!("sleeping {SLOW_MS} ms"), Duration::from_secs(30));
    let had = function.ours();
    let signalled = Instant::now();
    function.signal(Signal::SIGTERM);
    // From this line on nothing new is taken: a connection is refused, or
    // closed, or the invocation answered 503, while the slow one runs on.
    function.wait_for_log("snaprun: SIGTERM, stopping", Duration::from_secs(10));
    match try_invoke(&function.addr) {
        None => {}
        Some((status, body)) => assert!(
            status == 503 && body.contains("the function is shutting down"),
            "taken after the stop: {status} {body}"
        ),
    }
    let status = function.exited(Duration::from_secs(GRACE_S + 10));
    let ((code, failed, body), took) = slow.join().unwrap();
    assert_eq!(
        (code, failed),
        (200, false),
        "the invocation in flight was cut: {body}\n{:#?}",
        function.logs()
    );
    assert!(json(&body)["invocations"].as_u64().is_some(), "{body}");
    assert!(
        took < Duration::from_millis(SLOW_MS) + Duration::from_secs(GRACE_S),
        "the invocation took {took:?}"
    );
    assert_eq!(status.code(), Some(143), "{status}: {:#?}", function.logs());
    assert!(
        signalled.elapsed() < Duration::from_secs(GRACE_S),
        "snaprun took {:?} to stop",
        signalled.elapsed()
    );
    let logs = function.logs();
    assert!(
        logs.iter().any(|l| l == "snaprun: stopped"),
        "not a clean stop: {logs:#?}"
    );
    function.assert_nothing_left(&had, &format!("{engine:?}, SIGTERM"));
}

/// SIGINT with an instance and a spare ready: snaprun exits 130 and leaves
/// nothing behind.
fn sigint_stops(engine: Engine) {
    let Some(bootstrap) = bootstrap(engine) else {
        return;
    };
    let mut function = Function::start(engine, &bootstrap, true);
    function.ready_with_spare();
    let had = function.ours();
    function.signal(Signal::SIGINT);
    let status = function.exited(Duration::from_secs(GRACE_S + 10));
    assert_eq!(status.code(), Some(130), "{status}: {:#?}", function.logs());
    function.assert_nothing_left(&had, &format!("{engine:?}, SIGINT"));
}

/// SIGKILL with an instance and a spare ready: what snaprun started ends
/// without it.
fn sigkill_leaves_nothing(engine: Engine) {
    let Some(bootstrap) = bootstrap(engine) else {
        return;
    };
    let mut function = Function::start(engine, &bootstrap, false);
    function.ready_with_spare();
    let had = function.ours();
    function.signal(Signal::SIGKILL);
    let status = function.exited(Duration::from_secs(10));
    assert_eq!(status.signal(), Some(libc::SIGKILL), "{status}");
    function.assert_nothing_left(&had, &format!("{engine:?}, SIGKILL"));
}

#[test]
fn cold_sigterm_answers_the_invocation_in_flight_then_ends_every_process() {
    sigterm_finishes_in_flight_work(Engine::Cold);
}

#[test]
fn cold_sigint_ends_every_process() {
    sigint_stops(Engine::Cold);
}

#[test]
fn cold_sigkill_leaves_no_bootstrap() {
    sigkill_leaves_nothing(Engine::Cold);
}

#[test]
fn native_sigterm_answers_the_invocation_in_flight_then_ends_every_process() {
    sigterm_finishes_in_flight_work(Engine::Native);
}

#[test]
fn native_sigint_ends_every_process() {
    sigint_stops(Engine::Native);
}

#[test]
fn native_sigkill_leaves_no_bootstrap() {
    sigkill_leaves_nothing(Engine::Native);
}

#[test]
fn criu_sigterm_answers_the_invocation_in_flight_then_ends_every_process() {
    sigterm_finishes_in_flight_work(Engine::Criu);
}

#[test]
fn criu_sigint_ends_every_process() {
    sigint_stops(Engine::Criu);
}

#[test]
fn criu_sigkill_leaves_no_bootstrap() {
    sigkill_leaves_nothing(Engine::Criu);
}

#[test]
fn criu_lazy_sigterm_answers_the_invocation_in_flight_then_ends_every_process() {
    sigterm_finishes_in_flight_work(Engine::CriuLazy);
}

#[test]
fn criu_lazy_sigkill_leaves_no_bootstrap_and_no_lazy_pages_daemon() {
    sigkill_leaves_nothing(Engine::CriuLazy);
}

/// A bootstrap that never notices its Runtime API is gone (here one that
/// never calls it) still ends when snaprun is SIGKILLed: its parent-death
/// signal ends it.
#[test]
fn sigkill_ends_a_bootstrap_that_ignores_its_runtime_api() {
    let tmp = tempfile::tempdir().unwrap();
    let script = tmp.path().join("bootstrap");
    std::fs::write(&script, "#!/bin/sh\nexec sleep 600\n").unwrap();
    set_executable(&script);
    let mut function = Function {
        engine: Engine::Cold,
        tmp,
        child: None,
        addr: String::new(),
        logs: Arc::default(),
    };
    function.child = Some(
        common::snaprun()
            .args(["run", "--listen", "127.0.0.1:0", "--engine", "none"])
            .args(["--init-timeout", "600", "--"])
            .arg(&script)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap(),
    );
    // `sleep` runs with the function's environment, which names the
    // directory (LAMBDA_TASK_ROOT).
    let mut had = BTreeSet::new();
    let started = eventually(Duration::from_secs(30), || {
        had = function.ours();
        had.iter().any(|pid| {
            exe(*pid).is_some_and(|exe| exe.file_name().is_some_and(|name| name == "sleep"))
        })
    });
    assert!(started, "the bootstrap did not start: {had:?}");
    function.signal(Signal::SIGKILL);
    function.exited(Duration::from_secs(10));
    function.assert_nothing_left(&had, "a bootstrap that ignores its Runtime API");
}

/// Every descendant of `root`, read recursively from
/// `/proc/PID/task/*/children`.
fn descendants(root: u32) -> Vec<u32> {
    let mut found = Vec::new();
    let mut todo = vec![root];
    while let Some(pid) = todo.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let children =
                std::fs::read_to_string(task.path().join("children")).unwrap_or_default();
            for child in children.split_whitespace().filter_map(|c| c.parse().ok()) {
                found.push(child);
                todo.push(child);
            }
        }
    }
    found
}

/// The processes whose command line, environment or open files name `dir`.
fn naming(dir: &Path) -> Vec<u32> {
    let needle = dir.to_str().unwrap().as_bytes();
    let contains = |hay: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    common::pids()
        .into_iter()
        .filter(|pid| *pid != std::process::id())
        .filter(|pid| {
            let read =
                |name: &str| std::fs::read(format!("/proc/{pid}/{name}")).unwrap_or_default();
            contains(&read("cmdline"))
                || contains(&read("environ"))
                || std::fs::read_dir(format!("/proc/{pid}/fd"))
                    .into_iter()
                    .flatten()
                    .flatten()
                    .any(|fd| {
                        std::fs::read_link(fd.path())
                            .is_ok_and(|target| contains(target.as_os_str().as_encoded_bytes()))
                    })
        })
        .collect()
}

fn exe(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}
