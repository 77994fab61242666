//! Order, failure, timeout and registration rules of a phase, on registries
//! of their own (the global one is left alone).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use snap_hooks::{Hook, HookError, Phase, PhaseError, RegisterError, Registry, Resume};

type Log = Arc<Mutex<Vec<String>>>;

fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

fn taken(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

/// A hook that logs "before:NAME" and "after:NAME".
fn logging(name: &str, log: &Log) -> Hook {
    let (b, a) = (Arc::clone(log), Arc::clone(log));
    let (nb, na) = (format!("before:{name}"), format!("after:{name}"));
    Hook::new(name)
        .before_checkpoint(move || -> Result<(), std::io::Error> {
            b.lock().unwrap().push(nb.clone());
            Ok(())
        })
        .after_restore(move || -> Result<(), std::io::Error> {
            a.lock().unwrap().push(na.clone());
            Ok(())
        })
}

fn failing_before(name: &str, log: &Log) -> Hook {
    let a = Arc::clone(log);
    let na = format!("after:{name}");
    Hook::new(name)
        .before_checkpoint(|| Err(std::io::Error::other("disk full")))
        .after_restore(move || -> Result<(), std::io::Error> {
            a.lock().unwrap().push(na.clone());
            Ok(())
        })
}

fn restored() -> Resume {
    Resume::restored(1)
}

#[test]
fn before_runs_lifo_after_runs_fifo_and_priorities_come_first() {
    let registry = Registry::new();
    let log = log();
    registry.register(logging("a", &log)).unwrap();
    registry.register(logging("b", &log)).unwrap();
    registry
        .register(logging("urgent", &log).priority(5))
        .unwrap();
    registry.register(logging("c", &log)).unwrap();
    registry
        .register(logging("late", &log).priority(-1))
        .unwrap();

    let ran = registry.run_before_checkpoint().unwrap();
    assert_eq!(ran.hooks, ["late", "c", "b", "a", "urgent"]);
    assert_eq!(
        taken(&log),
        [
            "before:late",
            "before:c",
            "before:b",
            "before:a",
            "before:urgent"
        ]
    );
    let ran = registry.run_after_restore(restored()).unwrap();
    assert_eq!(ran.hooks, ["urgent", "a", "b", "c", "late"]);
    assert_eq!(registry.order(Phase::AfterRestore), ran.hooks);
    assert_eq!(
        taken(&log),
        [
            "after:urgent",
            "after:a",
            "after:b",
            "after:c",
            "after:late"
        ]
    );
}

#[test]
fn a_failing_before_hook_stops_the_phase_and_undoes_the_hooks_it_passed() {
    let registry = Registry::new();
    let log = log();
    registry.register(logging("first", &log)).unwrap();
    registry.register(failing_before("broken", &log)).unwrap();
    registry.register(logging("third", &log)).unwrap();

    let err = registry.run_before_checkpoint().unwrap_err();
    // "third" ran (LIFO), "broken" failed, "first" never ran; only "third"
    // is undone, so the process keeps working.
    assert_eq!(taken(&log), ["before:third", "after:third"]);
    let PhaseError::BeforeCheckpoint { failure, undo } = &err else {
        panic!("{err:?}");
    };
    assert!(undo.is_none());
    assert_eq!(failure.name(), "broken");
    assert_eq!(err.error_type(), "Runtime.BeforeSnapshotError");
    let message = err.to_string();
    assert!(
        message.contains("before-checkpoint hook \"broken\" failed: disk full"),
        "{message}"
    );
}

#[test]
fn a_failing_after_hook_stops_the_phase() {
    let registry = Registry::new();
    let log = log();
    registry.register(logging("first", &log)).unwrap();
    registry
        .register(Hook::new("reconnect").after_restore(|| Err(std::io::Error::other("refused"))))
        .unwrap();
    registry.register(logging("third", &log)).unwrap();

    let err = registry.run_after_restore(restored()).unwrap_err();
    assert_eq!(taken(&log), ["after:first"]);
    assert!(
        matches!(&err, PhaseError::AfterRestore(HookError::Failed { name, .. }) if name == "reconnect")
    );
    assert_eq!(err.error_type(), "Runtime.AfterRestoreError");
}

#[test]
fn a_panicking_hook_fails_with_its_message() {
    let registry = Registry::new();
    registry
        .register(
            Hook::new("oops")
                .after_restore(|| -> Result<(), std::io::Error> { panic!("index out of range") }),
        )
        .unwrap();
    let err = registry.run_after_restore(restored()).unwrap_err();
    assert!(
        matches!(err.hook(), Some(HookError::Panicked { message, .. }) if message == "index out of range"),
        "{err:?}"
    );
}

#[test]
fn a_hanging_sync_hook_times_out_and_is_abandoned() {
    let registry = Registry::new();
    let log = log();
    let release = Arc::new(AtomicBool::new(false));
    let hang = Arc::clone(&release);
    registry.register(logging("earlier", &log)).unwrap();
    registry
        .register(
            Hook::new("hangs")
                .timeout(Duration::from_millis(200))
                .before_checkpoint(move || -> Result<(), std::io::Error> {
                    while !hang.load(Ordering::Acquire) {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Ok(())
                }),
        )
        .unwrap();
    let started = Instant::now();
    let err = registry.run_before_checkpoint().unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    release.store(true, Ordering::Release);
    assert!(
        matches!(err.hook(), Some(HookError::TimedOut { name, timeout, .. }) if name == "hangs" && *timeout == Duration::from_millis(200))
    );
    assert!(
        err.to_string().contains("did not finish within 200ms"),
        "{err}"
    );
    // The hook registered earlier never ran its before action (LIFO), so
    // nothing is undone.
    assert!(taken(&log).is_empty());
}

#[test]
fn a_hanging_async_hook_times_out_with_the_restore_timeout_type() {
    let registry = Registry::new();
    registry
        .register(
            Hook::new("slow-dns")
                .timeout(Duration::from_millis(100))
                .after_restore_async(|| async {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    Ok::<(), std::io::Error>(())
                }),
        )
        .unwrap();
    let started = Instant::now();
    let err = registry.run_after_restore(restored()).unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(err.error_type(), "Runtime.RestoreHookUserTimeout");
}

#[test]
fn async_hooks_run_in_order_with_sync_ones() {
    let registry = Registry::new();
    let log = log();
    let l = Arc::clone(&log);
    registry.register(logging("sync", &log)).unwrap();
    registry
        .register(Hook::new("async").after_restore_async(move || {
            let l = Arc::clone(&l);
            async move {
                tokio::time::sleep(Duration::from_millis(20)).await;
                l.lock().unwrap().push("after:async".into());
                Ok::<(), std::io::Error>(())
            }
        }))
        .unwrap();
    registry.register(logging("last", &log)).unwrap();
    registry.run_after_restore(restored()).unwrap();
    assert_eq!(taken(&log), ["after:sync", "after:async", "after:last"]);
}

#[test]
fn registering_from_inside_a_hook_is_refused() {
    let registry = Arc::new(Registry::new());
    let inner = Arc::clone(&registry);
    let refused = Arc::new(Mutex::new(None));
    let seen = Arc::clone(&refused);
    registry
        .register(Hook::new("registers").before_checkpoint(
            move || -> Result<(), std::io::Error> {
                let result = inner
                    .register(Hook::new("sneaky").after_restore(|| Ok::<(), std::io::Error>(())));
                *seen.lock().unwrap() = Some(result);
                Ok(())
            },
        ))
        .unwrap();
    registry.run_before_checkpoint().unwrap();
    let result = refused.lock().unwrap().take().unwrap();
    assert!(
        matches!(&result, Err(RegisterError::DuringPhase { name, phase: Phase::BeforeCheckpoint }) if name == "sneaky"),
        "{result:?}"
    );
    assert_eq!(registry.order(Phase::AfterRestore), ["registers"]);
}

#[test]
fn registering_from_another_thread_waits_for_the_phase_to_end() {
    let registry = Arc::new(Registry::new());
    let (entered_tx, entered_rx) = std::sync::mpsc::channel();
    let finished = Arc::new(AtomicBool::new(false));
    let done = Arc::clone(&finished);
    registry
        .register(
            Hook::new("slow").before_checkpoint(move || -> Result<(), std::io::Error> {
                let _ = entered_tx.send(());
                std::thread::sleep(Duration::from_millis(300));
                done.store(true, Ordering::Release);
                Ok(())
            }),
        )
        .unwrap();
    let runner = Arc::clone(&registry);
    let phase = std::thread::spawn(move || runner.run_before_checkpoint().unwrap());
    entered_rx.recv().unwrap();
    registry
        .register(Hook::new("later").after_restore(|| Ok::<(), std::io::Error>(())))
        .unwrap();
    assert!(
        finished.load(Ordering::Acquire),
        "registration went through while the phase ran"
    );
    assert_eq!(phase.join().unwrap().hooks, ["slow"]);
    assert_eq!(registry.order(Phase::AfterRestore), ["slow", "later"]);
}

#[test]
fn a_hook_with_no_action_is_refused() {
    let err = Registry::new().register(Hook::new("nothing")).unwrap_err();
    assert!(matches!(err, RegisterError::Empty(name) if name == "nothing"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_async_entry_points_run_on_the_callers_runtime() {
    let registry = Registry::new();
    let log = log();
    registry.register(logging("a", &log)).unwrap();
    registry.run_before_checkpoint_async().await.unwrap();
    registry.run_after_restore_async(restored()).await.unwrap();
    // The blocking entry point works from inside a runtime too.
    registry.run_before_checkpoint().unwrap();
    assert_eq!(taken(&log), ["before:a", "after:a", "before:a"]);
}

#[test]
fn a_rebuild_client_is_dropped_before_the_checkpoint_and_rebuilt_after() {
    let registry = Registry::new();
    let made = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = Arc::clone(&made);
    let client = snap_hooks::Rebuild::in_registry(&registry, "client", move || {
        Ok::<u32, std::io::Error>(counter.fetch_add(1, Ordering::AcqRel) + 1)
    })
    .unwrap();
    assert_eq!(*client.get().unwrap(), 1);
    assert_eq!(
        *client.get().unwrap(),
        1,
        "the same client until a checkpoint"
    );
    let held = client.get().unwrap();
    registry.run_before_checkpoint().unwrap();
    // Dropped before the checkpoint: only the caller's clone is left.
    assert_eq!(Arc::strong_count(&held), 1);
    registry.run_after_restore(restored()).unwrap();
    assert_eq!(client.builds(), 1, "lazy: nothing built until first use");
    assert_eq!(*client.get().unwrap(), 2);
}

#[test]
fn an_eager_rebuild_that_fails_fails_the_restore() {
    let registry = Registry::new();
    let up = Arc::new(AtomicBool::new(true));
    let server = Arc::clone(&up);
    let client = snap_hooks::Rebuild::in_registry(&registry, "db", move || {
        if server.load(Ordering::Acquire) {
            Ok(())
        } else {
            Err(std::io::Error::other("connection refused"))
        }
    })
    .unwrap()
    .eager();
    client.get().unwrap();
    registry.run_before_checkpoint().unwrap();
    up.store(false, Ordering::Release);
    let err = registry.run_after_restore(restored()).unwrap_err();
    assert!(
        err.to_string()
            .contains("after-restore hook \"db\" failed: connection refused"),
        "{err}"
    );
    up.store(true, Ordering::Release);
    registry.run_after_restore(restored()).unwrap();
    assert_eq!(client.builds(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_runtime_worker_gets_its_thread_rng_reseeded() {
    // One task lands on each worker: all four are reached, none twice.
    for _ in 0..5 {
        let reached = snap_hooks::reseed_runtime_workers(Duration::from_secs(5)).await;
        assert_eq!(reached, 4);
    }
}
