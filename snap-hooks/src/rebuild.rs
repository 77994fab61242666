//! [`Rebuild`]: a client that is dropped before every checkpoint and built
//! again after the restore, so no pooled connection crosses a snapshot.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use crate::error::{BoxError, RegisterError};
use crate::hook::Hook;
use crate::registry::{Registry, global};

type Build<T> = Box<dyn Fn() -> Result<T, BoxError> + Send + Sync>;

/// Holds a client (HTTP client, database pool, SDK client) built by a
/// function you give it.
///
/// - [`get`](Self::get) builds it on first use and hands out the same one
///   until the next checkpoint.
/// - Before a checkpoint it is dropped, closing its connections, so the
///   snapshot holds none.
/// - After a restore it is built again on first use, or at once with
///   [`eager`](Self::eager) (then a failing build fails the restore).
///
/// Callers must not keep the `Arc` from [`get`](Self::get) across a
/// checkpoint; a clone kept alive keeps its connections too.
///
/// ```
/// # #[derive(Debug)] struct Client;
/// # impl Client { fn connect() -> std::io::Result<Client> { Ok(Client) } }
/// let client = snap_hooks::Rebuild::new("db", Client::connect).unwrap();
/// let c = client.get().unwrap();
/// ```
pub struct Rebuild<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    name: String,
    build: Build<T>,
    slot: Mutex<Option<Arc<T>>>,
    eager: AtomicBool,
    builds: AtomicU64,
}

impl<T> std::fmt::Debug for Rebuild<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rebuild")
            .field("name", &self.inner.name)
            .field("builds", &self.builds())
            .finish()
    }
}

impl<T: Send + Sync + 'static> Rebuild<T> {
    /// Holds what `build` makes, with hooks named `name` in the global
    /// registry. Nothing is built yet.
    pub fn new<F, E>(name: impl Into<String>, build: F) -> Result<Self, RegisterError>
    where
        F: Fn() -> Result<T, E> + Send + Sync + 'static,
        E: Into<BoxError>,
    {
        Self::in_registry(global(), name, build)
    }

    /// The same, with hooks in `registry`.
    pub fn in_registry<F, E>(
        registry: &Registry,
        name: impl Into<String>,
        build: F,
    ) -> Result<Self, RegisterError>
    where
        F: Fn() -> Result<T, E> + Send + Sync + 'static,
        E: Into<BoxError>,
    {
        let name = name.into();
        let inner = Arc::new(Inner {
            name: name.clone(),
            build: Box::new(move || build().map_err(Into::into)),
            slot: Mutex::new(None),
            eager: AtomicBool::new(false),
            builds: AtomicU64::new(0),
        });
        let (drop_it, rebuild_it) = (Arc::downgrade(&inner), Arc::downgrade(&inner));
        registry.register(
            Hook::new(name)
                .before_checkpoint(move || -> Result<(), BoxError> {
                    if let Some(inner) = drop_it.upgrade() {
                        inner.slot().take();
                    }
                    Ok(())
                })
                .after_restore(move || after_restore(&rebuild_it)),
        )?;
        Ok(Self { inner })
    }

    /// Builds again right after each restore instead of on first use.
    pub fn eager(self) -> Self {
        self.inner.eager.store(true, Ordering::Release);
        self
    }

    /// The client, built now if there is none.
    pub fn get(&self) -> Result<Arc<T>, BoxError> {
        let mut slot = self.inner.slot();
        if let Some(client) = &*slot {
            return Ok(Arc::clone(client));
        }
        let client = Arc::new(self.inner.make()?);
        *slot = Some(Arc::clone(&client));
        Ok(client)
    }

    /// Drops the client now; the next [`get`](Self::get) builds a new one.
    pub fn invalidate(&self) {
        self.inner.slot().take();
    }
}

impl<T> Rebuild<T> {
    /// How many times the client has been built.
    pub fn builds(&self) -> u64 {
        self.inner.builds.load(Ordering::Acquire)
    }
}

impl<T> Inner<T> {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<Arc<T>>> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn make(&self) -> Result<T, BoxError> {
        let client = (self.build)()?;
        self.builds.fetch_add(1, Ordering::AcqRel);
        tracing::debug!(name = %self.name, "client built");
        Ok(client)
    }
}

fn after_restore<T>(inner: &Weak<Inner<T>>) -> Result<(), BoxError> {
    let Some(inner) = inner.upgrade() else {
        return Ok(());
    };
    // Whatever survived the checkpoint is stale.
    let mut slot = inner.slot();
    *slot = None;
    if inner.eager.load(Ordering::Acquire) {
        *slot = Some(Arc::new(inner.make()?));
    }
    Ok(())
}
