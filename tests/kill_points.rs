//! SIGKILL at points spread through making a snapshot and restoring from
//! it, for each engine, sent to snaprun, to the bootstrap, or to the CRIU
//! worker. After every kill:
//! - the snapshot directory holds a snapshot that opens in full, or none;
//! - once snaprun is dead, nothing it started is left running, and no mount
//!   of its remains;
//! - the next `snaprun run` on the same directory serves by itself, or the
//!   same one does when snaprun itself survived.
//!
//! And snaprun killed while a dump worker probes the kernel on a child of
//! its own leaves no such child.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{RunningFunction, criu_engine, json, rust_heavy_init, rust_hello};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use snap::Snapshot;
use snap::snapshot::Expect;

/// Kill points per phase and target: spread evenly over the time the phase
/// takes when nothing is killed.
const POINTS: u32 = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// snaprun alone, not its process group.
    Snaprun,
    /// Every process running the bootstrap: the one at init, restored
    /// instances, and a native restore waiting at its gate.
    Bootstrap,
    /// Every CRIU process snaprun started: dump and restore workers, the
    /// worker kept ready, lazy-pages daemons.
    CriuWorker,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No snapshot yet: init, then the checkpoint.
    Checkpoint,
    /// A snapshot to restore from.
    Restore,
}

struct Function {
    engine: &'static str,
    /// A copy of the bootstrap at a path of this test's own, to find its
    /// processes by.
    bootstrap: PathBuf,
    dir: PathBuf,
    tmp: tempfile::TempDir,
}

impl Function {
    fn new(engine: &'static str, bootstrap: &Path) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let copy = tmp.path().join("bootstrap");
        std::fs::copy(bootstrap, &copy).unwrap();
        Self {
            engine,
            bootstrap: copy,
            dir: tmp.path().join("snap"),
            tmp,
        }
    }

    fn start(&self) -> RunningFunction {
        RunningFunction::with_snapshot(self.engine, &self.dir, &[], &self.bootstrap)
    }

    fn needle(&self) -> &str {
        self.tmp.path().to_str().unwrap()
    }

    /// Makes the phase's starting state: no snapshot, or a good one.
    fn set_up(&self, phase: Phase) {
        match phase {
            Phase::Checkpoint => {
                let _ = std::fs::remove_dir_all(&self.dir);
            }
            Phase::Restore => {
                if Snapshot::open(&self.dir, &Expect::default()).is_err() {
                    let run = self.start();
                    serves(&run, "making the restore phase's snapshot");
                }
            }
        }
    }

    /// How long the phase takes, up to the first answer, when nothing is
    /// killed.
    fn time(&self, phase: Phase) -> Duration {
        self.set_up(phase);
        let started = Instant::now();
        let run = self.start();
        serves(&run, "timing the phase");
        started.elapsed()
    }

    /// The pids of `target` among snaprun's descendants.
    fn targets(&self, snaprun: u32, target: Target) -> Vec<u32> {
        let tree = descendants(snaprun);
        match target {
            Target::Snaprun => vec![snaprun],
            Target::Bootstrap => tree
                .into_iter()
                .filter(|pid| {
                    std::fs::read_link(format!("/proc/{pid}/exe"))
                        .is_ok_and(|exe| exe == self.bootstrap)
                })
                .collect(),
            Target::CriuWorker => tree
                .into_iter()
                .filter(|pid| {
                    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                    let program = cmdline.split(|b| *b == 0).next().unwrap_or_default();
                    Path::new(std::str::from_utf8(program).unwrap_or_default())
                        .file_name()
                        .is_some_and(|name| name == "criu")
                })
                .collect(),
        }
    }

    /// The snapshot directory holds a snapshot that opens in full, or none.
    fn assert_whole_or_absent(&self, at: &str) {
        if !self.dir.exists() {
            return;
        }
        if let Err(err) = Snapshot::open(&self.dir, &Expect::default()) {
            panic!(
                "{at}: {} is there but does not open: {}",
                self.dir.display(),
                snap::chain(&err)
            );
        }
    }

    /// Nothing of snaprun's is left: the processes it had when it was
    /// killed, anything that mentions this test's files, and any mount
    /// under them.
    fn assert_nothing_left(&self, had: &[u32], at: &str) {
        let mut left = Vec::new();
        let gone = common::eventually(Duration::from_secs(20), || {
            left = had
                .iter()
                .filter(|pid| common::alive(**pid))
                .map(|pid| (*pid, common::cmdline(*pid)))
                .chain(common::processes_mentioning(self.needle()))
                .collect();
            left.is_empty()
        });
        for (pid, _) in &left {
            let _ = kill(Pid::from_raw(*pid as i32), Signal::SIGKILL);
        }
        assert!(gone, "{at}: left behind by a killed snaprun: {left:#?}");
        let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
        let ours: Vec<&str> = mounts
            .lines()
            .filter(|l| l.contains(self.needle()))
            .collect();
        assert!(ours.is_empty(), "{at}: mounts left behind: {ours:#?}");
    }
}

/// Invokes until an answer comes back, allowing one error: the event that
/// was waiting on an instance that was killed gets that instance's error.
fn serves(run: &RunningFunction, at: &str) {
    let mut errors = Vec::new();
    loop {
        let (answer, answered) = std::sync::mpsc::channel();
        let addr = run.addr.clone();
        std::thread::spawn(move || {
            let _ = answer.send(common::http_post(
                &addr,
                "/2015-03-31/functions/function/invocations",
                b"{}",
            ));
        });
        let Ok((status, failed, body)) = answered.recv_timeout(Duration::from_secs(45)) else {
            panic!("{at}: no answer in 45 s\n{:#?}", run.logs());
        };
        if (status, failed) == (200, false) {
            let answer = json(&body);
            assert!(answer["invocations"].as_u64().is_some(), "{at}: {body}");
            return;
        }
        errors.push(body);
        assert!(
            errors.len() < 2,
            "{at}: no answer: {errors:#?}\n{:#?}",
            run.logs()
        );
    }
}

/// All descendants of `root`, found through each process's parent.
fn descendants(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = common::pids()
        .into_iter()
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut tree = BTreeSet::from([root]);
    loop {
        let before = tree.len();
        for (pid, ppid) in &parents {
            if tree.contains(ppid) {
                tree.insert(*pid);
            }
        }
        if tree.len() == before {
            break;
        }
    }
    tree.remove(&root);
    tree.into_iter().collect()
}

/// Kills `target` at [`POINTS`] points of each phase and checks what is
/// left; returns how many kills found their target alive.
fn kill_points(function: &Function, targets: &[Target]) -> usize {
    let mut hits = 0;
    for phase in [Phase::Checkpoint, Phase::Restore] {
        let span = function.time(phase);
        for &target in targets {
            for point in 0..POINTS {
                let at = format!(
                    "{} {phase:?}, SIGKILL to {target:?} at {point}/{POINTS} of {span:?}",
                    function.engine
                );
                function.set_up(phase);
                let mut run = function.start();
                std::thread::sleep(span * point / POINTS);
                let had = descendants(run.pid());
                let victims = function.targets(run.pid(), target);
                for pid in &victims {
                    let _ = kill(Pid::from_raw(*pid as i32), Signal::SIGKILL);
                }
                if !victims.is_empty() {
                    hits += 1;
                }
                eprintln!("{at}: killed {victims:?}");
                if target == Target::Snaprun {
                    run.kill_snaprun();
                    function.assert_nothing_left(&had, &at);
                    function.assert_whole_or_absent(&at);
                    let next = function.start();
                    serves(&next, &format!("{at}, the next snaprun"));
                } else {
                    function.assert_whole_or_absent(&at);
                    serves(&run, &format!("{at}, the same snaprun"));
                    function.assert_whole_or_absent(&at);
                }
            }
        }
    }
    // Every run above is gone with its process group.
    function.assert_nothing_left(&[], "the end");
    hits
}

/// Held by each test that runs CRIU: the probe test removes CRIU's kernel
/// cache, which slows every CRIU run down and so moves the kill points of
/// the other.
static CRIU_RUNS: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn criu_survives_sigkill_at_every_point_of_checkpoint_and_restore() {
    if criu_engine().is_none() {
        return;
    }
    let _alone = CRIU_RUNS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let function = Function::new("criu", &rust_hello());
    let hits = kill_points(
        &function,
        &[Target::Snaprun, Target::Bootstrap, Target::CriuWorker],
    );
    eprintln!("criu: {hits} kills found their target");
    assert!(hits >= 20, "only {hits} kills found their target");
}

#[test]
fn native_survives_sigkill_at_every_point_of_checkpoint_and_restore() {
    let function = Function::new("native", &rust_heavy_init());
    let hits = kill_points(&function, &[Target::Snaprun, Target::Bootstrap]);
    eprintln!("native: {hits} kills found their target");
    assert!(hits >= 20, "only {hits} kills found their target");
}

/// Whether `pid` sleeps in `clock_nanosleep` or is stopped under ptrace,
/// as a CRIU probe does until its parent kills it.
fn sleeps_as_a_probe(pid: u32) -> bool {
    let syscall = std::fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
    common::state(pid) == Some('t')
        || syscall.split_whitespace().next() == Some(&libc::SYS_clock_nanosleep.to_string())
}

/// A CRIU worker of snaprun's and a child of it that may be its kernel
/// probe: every CRIU run forks a child with its own command line,
/// ptrace-attaches to it and leaves it sleeping until it kills it.
fn probe_of_a_worker(snaprun: u32) -> Option<(u32, u32)> {
    common::children(snaprun).into_iter().find_map(|worker| {
        let line = common::cmdline(worker);
        if !line.contains("criu") {
            return None;
        }
        let probe = common::children(worker)
            .into_iter()
            .find(|child| common::cmdline(*child) == line)?;
        Some((worker, probe))
    })
}

/// Where CRIU as `scripts/install-criu.sh` builds it caches what it
/// learnt of the kernel (its `RUNDIR`).
const CRIU_KERNEL_CACHE: &str = "/dev/shm/criu.kdat";

/// A dump worker dies with snaprun, and the children it was probing the
/// kernel with die with it (`scripts/criu-probes-die-with-criu.patch`);
/// unpatched, such a child sleeps, or stays stopped, under init for good.
/// A probe is over in well under a millisecond, so snaprun is killed the
/// moment one is seen, with the worker stopped, until three dumps have
/// been caught in one: first with CRIU's kernel cache (one probe per run),
/// then without it (five).
#[test]
fn a_dump_worker_killed_while_it_probes_the_kernel_leaves_no_probe_behind() {
    let Some(criu) = criu_engine() else {
        return;
    };
    let _alone = CRIU_RUNS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    // A CRIU run that finishes writes the cache.
    let write_the_cache = || {
        let check = std::process::Command::new(criu.binary())
            .arg("check")
            .output()
            .unwrap();
        assert!(check.status.success(), "criu check: {check:?}");
    };
    let function = Function::new("criu", &rust_hello());
    for cached in [true, false] {
        if cached {
            write_the_cache();
        }
        let mut caught = 0;
        for attempt in 0..30 {
            if caught == 3 {
                break;
            }
            if !cached {
                let _ = std::fs::remove_file(CRIU_KERNEL_CACHE);
            }
            let at = format!("cached {cached}, attempt {attempt}");
            function.set_up(Phase::Checkpoint);
            let mut run = function.start();
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut probe = None;
            while probe.is_none() && Instant::now() < deadline && !function.dir.exists() {
                // The worker is stopped, so that it is still in its probe
                // when snaprun dies. Another child with the worker's command
                // line runs on and exits by itself; a probe sleeps, or stops.
                probe = probe_of_a_worker(run.pid()).filter(|(worker, probe)| {
                    let _ = kill(Pid::from_raw(*worker as i32), Signal::SIGSTOP);
                    let mut asleep = false;
                    common::eventually(Duration::from_millis(500), || {
                        asleep = sleeps_as_a_probe(*probe);
                        asleep || !common::alive(*probe)
                    });
                    if !asleep {
                        let _ = kill(Pid::from_raw(*worker as i32), Signal::SIGCONT);
                    }
                    asleep
                });
            }
            run.kill_snaprun();
            // Only a dump's probe counts: a restore's worker outlives snaprun
            // by design, and kills its own probe.
            let Some((worker, probe)) = probe.filter(|_| !function.dir.exists()) else {
                function.assert_nothing_left(&[], &at);
                continue;
            };
            caught += 1;
            function.assert_nothing_left(
                &[worker, probe],
                &format!("{at}: snaprun killed while pid {probe} probed the kernel"),
            );
        }
        assert_eq!(
            caught, 3,
            "cached {cached}: caught a dump worker probing the kernel only {caught} times in 30"
        );
    }
    // For the tests that come after.
    write_the_cache();
}
