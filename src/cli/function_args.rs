//! The flags that describe a function, shared by `run` and `bench`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use snap::criu::CriuEngine;
use snaprun::engines::{LazyPages, MapPages, SnapshotEngine, SnapshotPlan};
use snaprun::function::FunctionSpec;
use snaprun::reseed::NodePreload;
use snaprun::runtime::FunctionConfig;
use snaprun::snapshot_lock::SnapshotLock;
use snaprun::store::SnapshotStore;

/// Which engine starts instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum EngineChoice {
    /// Snapshot after init with CRIU and restore every instance (needs root).
    Criu,
    /// The bootstrap links snap and snapshots itself; restores map its memory
    /// lazily (no root).
    Native,
    /// A plain cold start for every instance: the baseline.
    None,
    /// native if the bootstrap links snap, else CRIU where it works here,
    /// else none; says which. With a snapshot engine, `run` times the first
    /// cold starts against the first restores, serves from whichever reached
    /// its first response sooner, says so, and re-checks now and then.
    Auto,
    /// (bench) Every engine that works here for the bootstrap: none; criu as
    /// root where CRIU is installed; native if the bootstrap links snap.
    All,
}

/// A function: its bootstrap, configuration and engine.
#[derive(Debug, clap::Args)]
pub(crate) struct FunctionArgs {
    /// How instances start. `bench` takes a list (none,criu,native) or
    /// `all`, and measures the engines side by side, interleaved run by run.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        value_name = "ENGINE",
        default_value = "auto"
    )]
    engine: Vec<EngineChoice>,
    /// Where the snapshot lives (default: a directory per function under the
    /// system temp dir). A valid snapshot of the same bootstrap, arguments
    /// and configuration is reused.
    #[arg(long, value_name = "DIR")]
    snapshot_dir: Option<PathBuf>,
    /// Make a new snapshot even if a valid one exists.
    #[arg(long)]
    fresh: bool,
    /// Make a host service at this loopback address reachable at the same
    /// address inside snapshotted instances, which have a network namespace
    /// of their own (repeatable).
    #[arg(long, value_name = "ADDR:PORT")]
    forward: Vec<SocketAddr>,
    /// Restore memory lazily (CRIU engine): each restored instance starts
    /// before its memory is copied and gets every page at first touch from a
    /// `criu lazy-pages` daemon of its own, which copies the rest in the
    /// background. `auto` does so for snapshots with 32 MiB of memory pages or
    /// more, where it pays off, when userfaultfd is available and memory is
    /// not mapped (--map-pages). Needs userfaultfd (root).
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        default_value_t = LazyPages::Auto,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "on"
    )]
    lazy_pages: LazyPages,
    /// Map memory from the snapshot's page images into restored instances
    /// (CRIU engine) instead of copying it: an instance starts without its
    /// memory copied, instances share the pages they only read, and a page
    /// is copied when written. Needs the CRIU patch scripts/install-criu.sh
    /// applies. `auto` maps whenever the installed CRIU can and restores are
    /// not lazy.
    #[arg(
        long,
        value_enum,
        value_name = "WHEN",
        default_value_t = MapPages::Auto,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "on"
    )]
    map_pages: MapPages,
    /// Per-invocation limit, in seconds.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    timeout: f64,
    /// Limit on init, in seconds [default: 10, or 130 while snapshotting].
    #[arg(long, value_name = "SECONDS")]
    init_timeout: Option<f64>,
    /// Limit on a restore plus after-restore hooks, in seconds.
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    restore_timeout: f64,
    /// Do not reseed restored Node processes (CRIU engine). By default every
    /// Node process of the function loads @snap/hooks' preload, and after
    /// each restore reseeds OpenSSL, Math.random and Node's random caches
    /// before its first event, so that no two instances share a random
    /// value (docs/hooks.md, "Unmodified Node runtimes").
    #[arg(long)]
    no_reseed: bool,
    /// Extra environment for the bootstrap (repeatable).
    #[arg(long = "env", value_name = "K=V", value_parser = parse_env)]
    env: Vec<(String, String)>,
    /// The handler, passed as _HANDLER.
    #[arg(long, default_value = "index.handler")]
    handler: String,
    /// Memory size reported to the function, in MB.
    #[arg(long, default_value_t = 128)]
    memory_size: u32,
    /// The function's name.
    #[arg(long, default_value = "function")]
    function_name: String,
    #[command(flatten)]
    store: super::store_args::StoreArgs,
    /// The bootstrap and its arguments. A name without a slash is looked up
    /// on PATH, as a shell would.
    /// (`bench --all-demos` takes none.)
    #[arg(last = true, value_name = "BOOTSTRAP [ARGS]")]
    command: Vec<String>,
}

/// A function ready to start: always its spec, and a snapshot plan when a
/// snapshot engine is in use.
#[derive(Debug)]
pub(crate) struct Function {
    pub(crate) spec: FunctionSpec,
    pub(crate) snapshot: Option<SnapshotEngine>,
    /// `--engine auto` picked the snapshot engine: `run` may start cold
    /// instead when that is faster.
    pub(crate) adaptive: bool,
}

impl Function {
    pub(crate) fn engine_name(&self) -> &'static str {
        self.snapshot.as_ref().map_or("none", SnapshotEngine::name)
    }
}

/// The engine picked: none, CRIU (with its binary) or native.
enum Picked {
    None,
    Criu(CriuEngine),
    Native,
}

impl FunctionArgs {
    /// Whether a bootstrap was given.
    pub(crate) fn has_command(&self) -> bool {
        !self.command.is_empty()
    }

    /// Whether `--fresh` was given.
    pub(crate) fn fresh(&self) -> bool {
        self.fresh
    }

    /// Checks the flags and picks the one engine `--engine` names.
    pub(crate) fn resolve(self) -> anyhow::Result<Function> {
        let [choice] = self.engine[..] else {
            anyhow::bail!("--engine takes one engine here; a list is for `snaprun bench`");
        };
        anyhow::ensure!(
            choice != EngineChoice::All,
            "--engine all is for `snaprun bench`; name one engine"
        );
        let checked = self.check()?;
        let engine = pick_engine(choice, &checked.spec.bootstrap)?;
        let adaptive = choice == EngineChoice::Auto && !matches!(engine, Picked::None);
        let mut function = checked.function(engine, None, false)?;
        function.adaptive = adaptive;
        Ok(function)
    }

    /// Checks the flags and picks every engine `--engine` names, in order
    /// and each once (`all` expands to the engines that work here). With
    /// more than one snapshot engine, each keeps its snapshot in a
    /// subdirectory of the snapshot directory named after it.
    pub(crate) fn resolve_each(self) -> anyhow::Result<Vec<Function>> {
        let checked = self.check()?;
        let bootstrap = checked.spec.bootstrap.clone();
        let mut picked: Vec<Picked> = Vec::new();
        for choice in &self.engine {
            let more = match choice {
                EngineChoice::All => all_engines(&bootstrap),
                choice => vec![pick_engine(*choice, &bootstrap)?],
            };
            for engine in more {
                if !picked.iter().any(|p| p.name() == engine.name()) {
                    picked.push(engine);
                }
            }
        }
        let snapshots = picked.iter().filter(|p| !matches!(p, Picked::None)).count();
        let several = picked.len() > 1;
        if several && !picked.iter().any(|p| matches!(p, Picked::Criu(_))) {
            anyhow::ensure!(
                checked.forward.is_empty()
                    && checked.lazy_pages != LazyPages::On
                    && checked.map_pages != MapPages::On,
                "--forward, --lazy-pages and --map-pages are for the CRIU engine, which is not among these"
            );
        }
        picked
            .into_iter()
            .map(|engine| {
                let subdir = (snapshots > 1).then(|| engine.name());
                checked.function(engine, subdir, several)
            })
            .collect()
    }

    /// Everything but the engine: the bootstrap found, the flags checked.
    fn check(&self) -> anyhow::Result<Checked> {
        let (bootstrap, rest) = self
            .command
            .split_first()
            .context("no bootstrap given: put it last, after --")?;
        let bootstrap = locate_bootstrap(bootstrap)?;
        let meta = std::fs::metadata(&bootstrap)
            .with_context(|| format!("bootstrap {}", bootstrap.display()))?;
        anyhow::ensure!(
            meta.is_file()
                && std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o111 != 0,
            "bootstrap {} is not an executable file",
            bootstrap.display()
        );
        for forward in &self.forward {
            anyhow::ensure!(
                forward.ip().is_loopback(),
                "--forward {forward}: only loopback addresses can be forwarded"
            );
        }
        let spec = FunctionSpec {
            bootstrap,
            args: rest.to_vec(),
            env: self.env.clone(),
            config: FunctionConfig {
                name: self.function_name.clone(),
                memory_mb: self.memory_size,
                handler: self.handler.clone(),
                timeout: seconds("timeout", self.timeout)?,
            },
            // Set per engine.
            init_timeout: Duration::ZERO,
        };
        if let Some(init) = self.init_timeout {
            seconds("init-timeout", init)?;
        }
        Ok(Checked {
            spec,
            dir: self.snapshot_dir.clone(),
            restore_timeout: seconds("restore-timeout", self.restore_timeout)?,
            init_timeout: self.init_timeout,
            fresh: self.fresh,
            forward: self.forward.clone(),
            lazy_pages: self.lazy_pages,
            map_pages: self.map_pages,
            reseed: !self.no_reseed,
            store: self.store.connect()?,
        })
    }
}

/// A function's checked flags, before an engine is picked.
struct Checked {
    spec: FunctionSpec,
    /// `--snapshot-dir`, if given.
    dir: Option<PathBuf>,
    restore_timeout: Duration,
    init_timeout: Option<f64>,
    fresh: bool,
    forward: Vec<SocketAddr>,
    lazy_pages: LazyPages,
    map_pages: MapPages,
    /// Not `--no-reseed`.
    reseed: bool,
    /// `--store`, if given.
    store: Option<Arc<SnapshotStore>>,
}

impl Checked {
    /// The function under `engine`, with its snapshot in `dir`. Alone, an
    /// engine refuses flags that are not for it (`--lazy-pages` and
    /// `--forward` for the native engine, `--lazy-pages` for none); one
    /// of `several` leaves them to the engines they are for.
    fn function(
        &self,
        engine: Picked,
        subdir: Option<&str>,
        several: bool,
    ) -> anyhow::Result<Function> {
        let default_init = if matches!(engine, Picked::None) {
            10.0
        } else {
            130.0
        };
        let mut spec = self.spec.clone();
        spec.init_timeout = seconds("init-timeout", self.init_timeout.unwrap_or(default_init))?;
        if self.map_pages == MapPages::On {
            anyhow::ensure!(
                self.lazy_pages != LazyPages::On,
                "--lazy-pages and --map-pages=on exclude each other: a restore either maps its memory or loads it lazily"
            );
            anyhow::ensure!(
                several || !matches!(engine, Picked::None),
                "--map-pages restores from a snapshot; --engine none starts every instance cold"
            );
            if let Picked::Criu(criu) = &engine {
                anyhow::ensure!(
                    criu.maps_pages(),
                    "--map-pages: {} cannot map restored memory: it was built without snap's map_pages patch (scripts/install-criu.sh applies it)",
                    criu.binary().display()
                );
            }
        }
        if self.lazy_pages == LazyPages::On {
            anyhow::ensure!(
                several || !matches!(engine, Picked::None),
                "--lazy-pages restores from a snapshot; --engine none starts every instance cold"
            );
            if matches!(engine, Picked::Criu(_)) {
                snap::criu::check_lazy_pages().context("--lazy-pages")?;
            }
        }
        // Only a snapshot engine needs the directory, and only now that the
        // flags have passed: the default one is created on first use.
        let dir = || -> anyhow::Result<(PathBuf, Arc<SnapshotLock>)> {
            let base = match &self.dir {
                Some(dir) => dir.clone(),
                None => default_snapshot_dir(&self.spec)?,
            };
            let dir = subdir.map_or_else(|| base.clone(), |sub| base.join(sub));
            let lock = SnapshotLock::acquire(&dir)?;
            Ok((dir, Arc::new(lock)))
        };
        anyhow::ensure!(
            several || self.reseed || matches!(engine, Picked::Criu(_)),
            "--no-reseed is for the CRIU engine, which snapshots Node processes; --engine {} reseeds nothing",
            engine.name()
        );
        let snapshot = match engine {
            Picked::None => None,
            Picked::Criu(engine) => {
                let (dir, lock) = dir()?;
                Some(SnapshotEngine::Criu(
                    engine,
                    SnapshotPlan {
                        spec: spec.clone(),
                        dir,
                        lock,
                        fresh: self.fresh,
                        forwards: self.forward.clone(),
                        lazy_pages: self.lazy_pages,
                        map_pages: self.map_pages,
                        restore_timeout: self.restore_timeout,
                        reseed: if self.reseed {
                            Some(Arc::new(NodePreload::install()?))
                        } else {
                            None
                        },
                        store: self.store.clone(),
                    },
                ))
            }
            Picked::Native => {
                anyhow::ensure!(
                    several || self.forward.is_empty(),
                    "--forward is for the CRIU engine; native instances share the host's network"
                );
                anyhow::ensure!(
                    several || self.lazy_pages != LazyPages::On,
                    "--lazy-pages is for the CRIU engine; native restores always map memory lazily"
                );
                anyhow::ensure!(
                    several || self.map_pages != MapPages::On,
                    "--map-pages is for the CRIU engine; native restores always map memory"
                );
                let (dir, lock) = dir()?;
                Some(SnapshotEngine::Native(SnapshotPlan {
                    spec: spec.clone(),
                    dir,
                    lock,
                    fresh: self.fresh,
                    forwards: Vec::new(),
                    lazy_pages: LazyPages::Off,
                    map_pages: MapPages::Off,
                    restore_timeout: self.restore_timeout,
                    reseed: None,
                    store: self.store.clone(),
                }))
            }
        };
        Ok(Function {
            spec,
            snapshot,
            adaptive: false,
        })
    }
}

impl Picked {
    fn name(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Criu(_) => snap::engine::CRIU,
            Self::Native => snap::engine::NATIVE,
        }
    }
}

/// `--engine all`: none, then CRIU where it works here (root, installed),
/// then native where the bootstrap links it; says on stderr which it left
/// out and why.
fn all_engines(bootstrap: &std::path::Path) -> Vec<Picked> {
    let mut all = vec![Picked::None];
    match CriuEngine::locate() {
        Ok(engine) if nix::unistd::geteuid().is_root() => all.push(Picked::Criu(engine)),
        Ok(_) => eprintln!("snaprun: engine all: leaving out criu (it needs root)"),
        Err(err) => eprintln!(
            "snaprun: engine all: leaving out criu ({})",
            snap::chain(&err)
        ),
    }
    match auto_native(
        snap::lambda::supports_native(bootstrap),
        snap::NATIVE_SUPPORTED,
    ) {
        AutoNative::Use => all.push(Picked::Native),
        AutoNative::NotLinked => eprintln!(
            "snaprun: engine all: leaving out native ({} does not link snap)",
            bootstrap.display()
        ),
        AutoNative::Unsupported => eprintln!(
            "snaprun: engine all: leaving out native (not supported on {})",
            std::env::consts::ARCH
        ),
    }
    all
}

/// The bootstrap as a shell would run it: a name without a slash is looked
/// up on `PATH` (and kept as the absolute path found, which is then part of
/// the snapshot's identity); a path is taken as it is.
fn locate_bootstrap(name: &str) -> anyhow::Result<PathBuf> {
    if name.contains('/') {
        return Ok(PathBuf::from(name));
    }
    let found = which::which(name).with_context(|| {
        format!(
            "bootstrap {name}: not found on PATH ({}); give its path instead",
            std::env::var("PATH").unwrap_or_default()
        )
    })?;
    std::path::absolute(&found)
        .with_context(|| format!("bootstrap {name}: cannot make {} absolute", found.display()))
}

fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => {
            // Read by restores only, long after this: refused now. (No
            // native restore exists elsewhere.)
            #[cfg(all(target_os = "linux", target_arch = "x86_64"))]
            if k == snap::native::WORKING_SET_ENV {
                snap::native::working_set_setting(Some(v.as_ref())).map_err(|e| e.to_string())?;
            }
            Ok((k.to_owned(), v.to_owned()))
        }
        _ => Err(format!("{s:?} is not K=V")),
    }
}

/// The engine asked for, or the best one that works here for `bootstrap`.
fn pick_engine(choice: EngineChoice, bootstrap: &std::path::Path) -> anyhow::Result<Picked> {
    let links_native = snap::lambda::supports_native(bootstrap);
    match choice {
        EngineChoice::None => Ok(Picked::None),
        EngineChoice::Criu => Ok(Picked::Criu(CriuEngine::locate().context("--engine criu")?)),
        EngineChoice::Native => {
            anyhow::ensure!(
                snap::NATIVE_SUPPORTED,
                "--engine native: the native engine is not supported on this architecture ({}); use --engine criu",
                std::env::consts::ARCH
            );
            anyhow::ensure!(
                links_native,
                "--engine native: {} does not link snap's native engine (it must call snap::lambda::snapshot_point())",
                bootstrap.display()
            );
            Ok(Picked::Native)
        }
        EngineChoice::All => anyhow::bail!("--engine all is for `snaprun bench`; name one engine"),
        EngineChoice::Auto => match auto_native(links_native, snap::NATIVE_SUPPORTED) {
            AutoNative::Use => {
                eprintln!(
                    "snaprun: engine auto: using native ({} links snap)",
                    bootstrap.display()
                );
                Ok(Picked::Native)
            }
            why => {
                if why == AutoNative::Unsupported {
                    eprintln!(
                        "snaprun: engine auto: {} links snap, but the native engine is not supported on {}",
                        bootstrap.display(),
                        std::env::consts::ARCH
                    );
                }
                auto_criu()
            }
        },
    }
}

/// Whether `--engine auto` takes the native engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AutoNative {
    /// The bootstrap links it and it runs here.
    Use,
    /// The bootstrap does not link it.
    NotLinked,
    /// The bootstrap links it, but this architecture has no native engine:
    /// fall back to CRIU.
    Unsupported,
}

fn auto_native(links_native: bool, native_supported: bool) -> AutoNative {
    match (links_native, native_supported) {
        (false, _) => AutoNative::NotLinked,
        (true, true) => AutoNative::Use,
        (true, false) => AutoNative::Unsupported,
    }
}

/// `--engine auto` without the native engine: CRIU as root, else none.
fn auto_criu() -> anyhow::Result<Picked> {
    match CriuEngine::locate() {
        Ok(engine) if nix::unistd::geteuid().is_root() => {
            eprintln!(
                "snaprun: engine auto: using CRIU {} ({})",
                engine.version(),
                engine.binary().display()
            );
            Ok(Picked::Criu(engine))
        }
        Ok(_) => {
            eprintln!("snaprun: engine auto: using none (CRIU needs root)");
            Ok(Picked::None)
        }
        Err(err) => {
            eprintln!("snaprun: engine auto: using none ({})", snap::chain(&err));
            Ok(Picked::None)
        }
    }
}

/// `NAME-HASH` in the user's private snapshot home
/// ([`snaprun::snapshot_home::snapshot_home`]), where the hash covers the
/// bootstrap's path, arguments and extra environment, so different
/// functions never share one.
fn default_snapshot_dir(spec: &FunctionSpec) -> anyhow::Result<PathBuf> {
    let mut key = spec.bootstrap.display().to_string();
    let env = spec.env.iter().flat_map(|(k, v)| [k, v]);
    for part in spec.args.iter().chain(env) {
        key.push('\0');
        key.push_str(part);
    }
    let digest = snap::Sha256Digest::of(key.as_bytes()).to_string();
    let home = snaprun::snapshot_home::snapshot_home()
        .context("the default snapshot directory (give --snapshot-dir instead)")?;
    Ok(home.join(format!("{}-{}", spec.config.name, &digest[..12])))
}

fn seconds(name: &str, value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|d| !d.is_zero())
        .with_context(|| format!("--{name} must be a positive number of seconds, not {value}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_falls_back_from_native_where_the_architecture_has_none() {
        assert_eq!(auto_native(true, true), AutoNative::Use);
        assert_eq!(auto_native(true, false), AutoNative::Unsupported);
        assert_eq!(auto_native(false, true), AutoNative::NotLinked);
        assert_eq!(auto_native(false, false), AutoNative::NotLinked);
        // This build's own answer follows its target.
        assert_eq!(
            snap::NATIVE_SUPPORTED,
            cfg!(all(target_os = "linux", target_arch = "x86_64"))
        );
    }
}
