//! The registry: hooks in registration order, and the rule that orders them.
//!
//! After a restore, hooks run by priority (highest first), then in
//! registration order (FIFO). Before a checkpoint they run in exactly the
//! reverse order (so LIFO within a priority): what was set up first is torn
//! down last, as in SnapStart and CRaC.

use std::cell::Cell;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};

use crate::error::{Phase, RegisterError};
use crate::hook::Hook;

/// A set of hooks and the phase (if any) running them. Programs use the
/// process-wide one behind [`global`]; tests can make their own.
#[derive(Debug, Default)]
pub struct Registry {
    state: Mutex<State>,
    idle: Condvar,
}

#[derive(Debug, Default)]
struct State {
    hooks: Vec<(u64, Arc<Hook>)>,
    next: u64,
    running: Option<Phase>,
}

thread_local! {
    /// The phase whose hook (or runner) this thread is executing.
    static IN_PHASE: Cell<Option<Phase>> = const { Cell::new(None) };
}

/// Marks the current thread as running `phase` until dropped.
pub(crate) struct InPhase(Option<Phase>);

impl InPhase {
    pub(crate) fn enter(phase: Phase) -> Self {
        Self(IN_PHASE.with(|p| p.replace(Some(phase))))
    }
}

impl Drop for InPhase {
    fn drop(&mut self) {
        IN_PHASE.with(|p| p.set(self.0));
    }
}

/// A running phase; the registry is open again once it is dropped.
pub(crate) struct Running<'a> {
    registry: &'a Registry,
    /// The hooks in the order this phase runs them.
    pub(crate) hooks: Vec<Arc<Hook>>,
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.registry.lock().running = None;
        self.registry.idle.notify_all();
    }
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The state, once no phase is running.
    fn lock_idle(&self) -> MutexGuard<'_, State> {
        let mut state = self.lock();
        while state.running.is_some() {
            state = self
                .idle
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
        state
    }

    /// Adds `hook`. While a phase runs, a call from another thread waits for
    /// it to end; a call from inside one of the phase's hooks is refused.
    pub fn register(&self, hook: Hook) -> Result<(), RegisterError> {
        if hook.before.is_none() && hook.after.is_none() {
            return Err(RegisterError::Empty(hook.name));
        }
        if let Some(phase) = IN_PHASE.with(Cell::get) {
            return Err(RegisterError::DuringPhase {
                name: hook.name,
                phase,
            });
        }
        let mut state = self.lock_idle();
        let seq = state.next;
        state.next += 1;
        state.hooks.push((seq, Arc::new(hook)));
        Ok(())
    }

    /// Removes every hook named `name`; returns how many there were.
    pub fn unregister(&self, name: &str) -> usize {
        let mut state = self.lock_idle();
        let before = state.hooks.len();
        state.hooks.retain(|(_, h)| h.name != name);
        before - state.hooks.len()
    }

    /// The hooks' names in the order `phase` runs them.
    pub fn order(&self, phase: Phase) -> Vec<String> {
        ordered(&self.lock().hooks, phase)
            .iter()
            .map(|h| h.name.clone())
            .collect()
    }

    /// Starts `phase`: waits for a phase running on another thread, then
    /// closes registration until the returned guard is dropped. `None` if
    /// this thread is already inside a phase (a checkpoint from a hook).
    pub(crate) fn begin(&self, phase: Phase) -> Option<Running<'_>> {
        if IN_PHASE.with(Cell::get).is_some() {
            return None;
        }
        let mut state = self.lock_idle();
        state.running = Some(phase);
        let hooks = ordered(&state.hooks, phase);
        Some(Running {
            registry: self,
            hooks,
        })
    }
}

/// `hooks` (with their registration numbers) in the order `phase` runs them.
fn ordered(hooks: &[(u64, Arc<Hook>)], phase: Phase) -> Vec<Arc<Hook>> {
    let mut sorted: Vec<&(u64, Arc<Hook>)> = hooks.iter().collect();
    sorted.sort_by(|(a_seq, a), (b_seq, b)| b.priority.cmp(&a.priority).then(a_seq.cmp(b_seq)));
    if phase == Phase::BeforeCheckpoint {
        sorted.reverse();
    }
    sorted.into_iter().map(|(_, h)| Arc::clone(h)).collect()
}

/// The process-wide registry that [`snap::checkpoint`] and the Lambda
/// adapter run. Touching it installs the built-ins and connects it to
/// `snap::checkpoint` (see [`crate::install`]).
pub fn global() -> &'static Registry {
    static GLOBAL: OnceLock<Registry> = OnceLock::new();
    let mut fresh = false;
    let registry = GLOBAL.get_or_init(|| {
        fresh = true;
        Registry::new()
    });
    if fresh {
        crate::install_into(registry);
    }
    registry
}
