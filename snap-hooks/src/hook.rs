//! One hook: a name, a priority, a timeout, and an action for either phase.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::error::BoxError;

/// The timeout a hook gets unless it sets one: Lambda's whole restore
/// budget (restore plus after-restore hooks) is 10 s.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

type SyncAction = Arc<dyn Fn() -> Result<(), BoxError> + Send + Sync>;
type AsyncAction =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), BoxError>> + Send>> + Send + Sync>;

/// What a hook does in one phase.
#[derive(Clone)]
pub(crate) enum Action {
    /// Runs on a blocking thread.
    Sync(SyncAction),
    /// Runs as a task.
    Async(AsyncAction),
    /// Runs inline on the thread that runs the phase: for built-ins that
    /// touch that thread's thread-locals. Not timed.
    Inline(SyncAction),
}

/// A hook, built up and then handed to [`register`](crate::register).
///
/// ```
/// use std::time::Duration;
/// snap_hooks::register(
///     snap_hooks::Hook::new("flush-metrics")
///         .priority(10)
///         .timeout(Duration::from_secs(2))
///         .before_checkpoint(|| -> Result<(), std::io::Error> { Ok(()) })
///         .after_restore_async(|| async { Ok::<(), std::io::Error>(()) }),
/// )
/// .unwrap();
/// ```
#[derive(Clone)]
pub struct Hook {
    pub(crate) name: String,
    pub(crate) priority: i32,
    pub(crate) timeout: Duration,
    pub(crate) before: Option<Action>,
    pub(crate) after: Option<Action>,
}

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hook")
            .field("name", &self.name)
            .field("priority", &self.priority)
            .field("timeout", &self.timeout)
            .field("before", &self.before.is_some())
            .field("after", &self.after.is_some())
            .finish()
    }
}

impl Hook {
    /// A hook named `name`, priority 0, with [`DEFAULT_TIMEOUT`].
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            priority: 0,
            timeout: DEFAULT_TIMEOUT,
            before: None,
            after: None,
        }
    }

    /// Hooks of higher priority run first after a restore and last before a
    /// checkpoint. The default is 0; built-ins use [`crate::BUILTIN_PRIORITY`].
    pub fn priority(mut self, priority: i32) -> Self {
        self.priority = priority;
        self
    }

    /// How long each of its actions may run before it counts as failed.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Runs `f` before the checkpoint.
    pub fn before_checkpoint<F, E>(mut self, f: F) -> Self
    where
        F: Fn() -> Result<(), E> + Send + Sync + 'static,
        E: Into<BoxError>,
    {
        self.before = Some(Action::Sync(Arc::new(move || f().map_err(Into::into))));
        self
    }

    /// Runs `f` after each restore.
    pub fn after_restore<F, E>(mut self, f: F) -> Self
    where
        F: Fn() -> Result<(), E> + Send + Sync + 'static,
        E: Into<BoxError>,
    {
        self.after = Some(Action::Sync(Arc::new(move || f().map_err(Into::into))));
        self
    }

    /// Awaits `f()` before the checkpoint.
    pub fn before_checkpoint_async<F, Fut, E>(mut self, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError>,
    {
        self.before = Some(boxed_async(f));
        self
    }

    /// Awaits `f()` after each restore.
    pub fn after_restore_async<F, Fut, E>(mut self, f: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Into<BoxError>,
    {
        self.after = Some(boxed_async(f));
        self
    }

    /// Runs `f` after each restore on the thread that runs the phase.
    pub(crate) fn after_restore_inline<F>(mut self, f: F) -> Self
    where
        F: Fn() -> Result<(), BoxError> + Send + Sync + 'static,
    {
        self.after = Some(Action::Inline(Arc::new(f)));
        self
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

fn boxed_async<F, Fut, E>(f: F) -> Action
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<BoxError>,
{
    let f = Arc::new(f);
    Action::Async(Arc::new(move || {
        let future = f();
        Box::pin(async move { future.await.map_err(Into::into) })
    }))
}
