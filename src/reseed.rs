//! Reseeding restored Node processes that do not reseed themselves.
//!
//! A CRIU snapshot copies a Node process's random state: OpenSSL's DRBGs,
//! Node's cache of pre-made UUIDs, V8's `Math.random`. A runtime that knows
//! nothing of snapshots (AWS's `aws-lambda-ric`) would hand every restored
//! instance the same "random" values. So, unless told not to
//! (`--no-reseed`), snaprun:
//! - installs `@snap/hooks`' preload ([`NodePreload`]) and the getrandom
//!   OpenSSL engine, from this binary, in a private directory of the user's;
//! - adds `--require PRELOAD` to the bootstrap's `NODE_OPTIONS`, so every
//!   Node process of the function loads it before any of its code: OpenSSL
//!   draws from `getrandom(2)` from then on, with no state to copy, and the
//!   process holds the preload open, which marks it;
//! - after each restore, sends every marked process [`RESTORE_SIGNAL`] and
//!   waits for each to report, through the Runtime API, that its
//!   after-restore hooks ran (`Math.random` reseeded, Node's caches used
//!   up) before the function gets its first event ([`after_restore`]).
//!
//! When a snapshot is made, [`Coverage`] says which processes of the tree
//! snaprun cannot reseed, and snaprun warns once (docs/hooks.md,
//! "Unmodified Node runtimes").

use std::collections::BTreeSet;
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};
use snap::private_dir::{HomeKind, PrivateDirError, user_home};

use crate::runtime::{ErrorBody, RuntimeApi};
use crate::start_error::StartError;

/// The signal that tells a marked process it was restored. Ignored by
/// default, so a process that gets it without the preload does nothing.
pub const RESTORE_SIGNAL: nix::sys::signal::Signal = nix::sys::signal::Signal::SIGURG;

/// The engine's file name in the installed directory.
const ENGINE: &str = "snap_getrandom_engine.so";
/// The preload's file name in the installed directory.
const PRELOAD: &str = "preload.js";

/// What is installed: `@snap/hooks`' files the preload needs, as the
/// package lays them out, and the engine `build.rs` built.
const FILES: &[(&str, &[u8])] = &[
    (PRELOAD, include_bytes!("../snap-hooks/js/preload.js")),
    ("index.js", include_bytes!("../snap-hooks/js/index.js")),
    (
        "lib/builtins.js",
        include_bytes!("../snap-hooks/js/lib/builtins.js"),
    ),
    (
        "lib/state.js",
        include_bytes!("../snap-hooks/js/lib/state.js"),
    ),
    (
        ENGINE,
        include_bytes!(concat!(env!("OUT_DIR"), "/snap_getrandom_engine.so")),
    ),
];

/// Why the preload could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum ReseedError {
    /// No private directory of the user's could be had.
    #[error("no private directory for the reseeding preload")]
    Home(#[from] PrivateDirError),
    /// This snaprun was cross-built without the engine (`build.rs`).
    #[error(
        "this snaprun was built without the getrandom OpenSSL engine (no OpenSSL headers for its target), so it cannot reseed restored Node processes: rebuild it where they are installed, or pass --no-reseed"
    )]
    NotBuilt,
    /// Writing it failed.
    #[error("cannot install the reseeding preload in {}", .dir.display())]
    Install {
        /// Where.
        dir: PathBuf,
        /// Why.
        #[source]
        cause: io::Error,
    },
}

/// The preload and the engine, installed where the function's Node
/// processes can load them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePreload {
    dir: PathBuf,
}

impl NodePreload {
    /// Installs them in `node-reseed-DIGEST` of the user's private snaprun
    /// home (on disk), or finds them there. The directory is named for its
    /// contents, so a snapshot made by this build finds the same files,
    /// which CRIU reopens at every restore.
    pub fn install() -> Result<Self, ReseedError> {
        Self::install_in(&user_home("snaprun", HomeKind::Disk)?)
    }

    /// As [`Self::install`], in `home`, a private directory.
    pub fn install_in(home: &Path) -> Result<Self, ReseedError> {
        if FILES
            .iter()
            .any(|(name, bytes)| *name == ENGINE && bytes.is_empty())
        {
            return Err(ReseedError::NotBuilt);
        }
        // The path the kernel names in /proc/PID/fd, links resolved: the
        // marker is found by comparing with it (a HOME under a linked
        // directory would otherwise hide every marked process).
        let home = std::fs::canonicalize(home).map_err(|cause| ReseedError::Install {
            dir: home.to_owned(),
            cause,
        })?;
        let dir = home.join(format!("node-reseed-{}", digest()));
        let failed = |cause| ReseedError::Install {
            dir: dir.clone(),
            cause,
        };
        if holds_files(&dir).map_err(failed)? {
            return Ok(Self { dir });
        }
        let staged = tempfile::Builder::new()
            .prefix(".node-reseed-")
            .tempdir_in(&home)
            .map_err(failed)?;
        write_files(staged.path()).map_err(failed)?;
        if dir.exists() {
            // Not what this build installs (cut short, or changed by hand).
            std::fs::remove_dir_all(&dir).map_err(failed)?;
        }
        match std::fs::rename(staged.path(), &dir) {
            Ok(()) => {
                // Renamed away: nothing left for the guard to remove.
                let _ = staged.keep();
                Ok(Self { dir })
            }
            // Another snaprun installed the same files meanwhile.
            Err(_) if holds_files(&dir).map_err(failed)? => Ok(Self { dir }),
            Err(cause) => Err(failed(cause)),
        }
    }

    /// The preload, which every process that loaded it holds open.
    pub fn preload(&self) -> PathBuf {
        self.dir.join(PRELOAD)
    }

    /// Adds the preload to `env`, a bootstrap's environment: `--require`
    /// in front of any `NODE_OPTIONS` already there, and the engine in
    /// `SNAP_HOOKS_RAND_ENGINE`.
    pub fn add_to(&self, env: &mut Vec<(String, String)>) {
        let require = format!("--require {}", quoted(&self.preload()));
        match env.iter_mut().find(|(k, _)| k == "NODE_OPTIONS") {
            Some((_, options)) if !options.trim().is_empty() => {
                *options = format!("{require} {options}");
            }
            Some((_, options)) => *options = require,
            None => env.push(("NODE_OPTIONS".into(), require)),
        }
        env.retain(|(k, _)| k != "SNAP_HOOKS_RAND_ENGINE");
        env.push((
            "SNAP_HOOKS_RAND_ENGINE".into(),
            self.dir.join(ENGINE).display().to_string(),
        ));
    }
}

/// A path as one `NODE_OPTIONS` word: in double quotes, `\` and `"`
/// escaped (Node's own rules for that variable).
fn quoted(path: &Path) -> String {
    let text = path.display().to_string();
    format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The installed files' digest, 16 hex digits.
fn digest() -> String {
    let mut hash = Sha256::new();
    for (name, bytes) in FILES {
        hash.update((name.len() as u64).to_le_bytes());
        hash.update(name.as_bytes());
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    }
    hash.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Whether `dir` holds exactly this build's files (false if it is missing).
fn holds_files(dir: &Path) -> io::Result<bool> {
    for (name, bytes) in FILES {
        match std::fs::read(dir.join(name)) {
            Ok(found) if found == *bytes => {}
            Ok(_) => return Ok(false),
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(err) => return Err(err),
        }
    }
    Ok(true)
}

fn write_files(dir: &Path) -> io::Result<()> {
    for (name, bytes) in FILES {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(parent)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)?;
        file.write_all(bytes)?;
        file.sync_all()?;
    }
    Ok(())
}

/// Which processes of a tree at its snapshot point snaprun will reseed
/// after a restore, and which it cannot vouch for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Coverage {
    /// Reseeding is off (`--no-reseed`): nothing was looked for.
    pub off: bool,
    /// Processes holding the preload: reseeded after every restore.
    pub reseeded: usize,
    /// Node processes without it (started with `NODE_OPTIONS` cleared).
    pub bare_node: Vec<String>,
    /// The bootstrap's program.
    pub bootstrap: String,
}

impl Coverage {
    /// Looks at the tree below `relay` (the sandbox's root, whose first
    /// child is the bootstrap), for `preload` (None: reseeding is off).
    pub fn of(relay: i32, preload: Option<&NodePreload>) -> Self {
        let below = crate::procfs::descendants(relay);
        let bootstrap = below
            .first()
            .and_then(|&pid| crate::procfs::exe(pid))
            .unwrap_or_else(|| "the bootstrap".into());
        let marker = preload.map(NodePreload::preload);
        let mut reseeded = 0;
        let mut bare_node = Vec::new();
        for &pid in &below {
            if marker
                .as_deref()
                .is_some_and(|m| crate::procfs::holds_open(pid, m))
            {
                reseeded += 1;
            } else if let Some(exe) = crate::procfs::exe(pid).filter(|e| is_node(e)) {
                bare_node.push(format!("{exe} (pid {pid})"));
            }
        }
        Self {
            off: preload.is_none(),
            reseeded,
            bare_node,
            bootstrap,
        }
    }

    /// The one line to warn with, if some random state may be copied to
    /// every restored instance.
    pub fn warning(&self) -> Option<String> {
        const FIX: &str = "make such values after the restore or reseed in an after-restore hook (docs/hooks.md), and check with `snaprun check-unique`";
        if self.off {
            return Some(format!(
                "reseeding is off (--no-reseed): random generators seeded during init (OpenSSL's, Math.random, Node's UUID cache) may repeat their values in every restored instance; {FIX}"
            ));
        }
        if !self.bare_node.is_empty() {
            return Some(format!(
                "{} started without snaprun's preload (NODE_OPTIONS replaced?): its random values may repeat in every restored instance; keep NODE_OPTIONS when starting Node, or {FIX}",
                self.bare_node.join(", ")
            ));
        }
        if self.reseeded == 0 {
            return Some(format!(
                "{} is not a Node runtime snaprun can reseed: values drawn from a random generator seeded during init may repeat in every restored instance, unless it reseeds them itself; {FIX}",
                self.bootstrap
            ));
        }
        None
    }
}

/// Whether `found` restored processes holding the preload are all the
/// `marked` ones the snapshot had.
fn all_found(found: usize, marked: usize) -> Result<(), ErrorBody> {
    if found == marked {
        return Ok(());
    }
    Err(ErrorBody::new(
        snap::lambda::ErrorType::AfterRestoreError,
        format!(
            "{found} restored Node process(es) hold snaprun's preload, where the snapshot had {marked}: a process that cannot be reseeded would serve with the snapshot's random state, so this instance is not served"
        ),
    ))
}

/// Whether `exe` is a Node executable (`node`, `nodejs`, `node20`, ...).
fn is_node(exe: &str) -> bool {
    Path::new(exe)
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("node"))
}

/// After a restore of the tree below `relay`: sends every process holding
/// `preload` the restore signal, and waits, up to `limit`, until each has
/// reported through `api` that its after-restore hooks ran. Returns how
/// many there were. A report of a failed hook is a
/// `Runtime.AfterRestoreError`; a process that does not report in time, a
/// `Runtime.RestoreHookUserTimeout`.
///
/// `marked` is how many processes held the preload when the snapshot was
/// made ([`Coverage::reseeded`]): a restored tree in which fewer are found
/// is not served, since the rest could not be reseeded.
pub async fn after_restore(
    api: &RuntimeApi,
    relay: i32,
    preload: &NodePreload,
    marked: usize,
    limit: Duration,
) -> Result<usize, StartError> {
    let marker = preload.preload();
    let mut waiting = BTreeSet::new();
    for pid in crate::procfs::descendants(relay) {
        if !crate::procfs::holds_open(pid, &marker) {
            continue;
        }
        // The pid it reports is its own, in the tree's namespace.
        let Some(inner) = crate::procfs::innermost_pid(pid) else {
            continue;
        };
        let Ok(target) = i32::try_from(pid) else {
            continue;
        };
        // One that exited since it was found is not counted, and the count
        // then differs from the snapshot's (`all_found`).
        if nix::sys::signal::kill(nix::unistd::Pid::from_raw(target), RESTORE_SIGNAL).is_ok() {
            waiting.insert(inner);
        }
    }
    let count = waiting.len();
    all_found(count, marked).map_err(StartError::Restore)?;
    if count == 0 {
        return Ok(0);
    }
    let reports = api.restored_reports();
    let waited = tokio::time::timeout(limit, async {
        let mut reports = reports;
        loop {
            for report in reports.borrow_and_update().iter() {
                if waiting.remove(&report.pid) {
                    if let Some(error) = &report.error {
                        return Err(StartError::Restore(error.clone()));
                    }
                }
            }
            if waiting.is_empty() {
                return Ok(());
            }
            if reports.changed().await.is_err() {
                return Ok(());
            }
        }
    })
    .await;
    match waited {
        Ok(Ok(())) => {
            tracing::debug!(processes = count, "restored Node processes reported");
            Ok(count)
        }
        Ok(Err(err)) => Err(err),
        Err(_) => Err(StartError::Restore(ErrorBody::new(
            snap::lambda::ErrorType::RestoreHookUserTimeout,
            format!(
                "{} of {count} Node process(es) of the restored function did not report their after-restore reseeding within {:.1} s (pids {}, in the function's namespace)",
                waiting.len(),
                limit.as_secs_f64(),
                waiting
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_preload_goes_in_front_of_the_functions_own_node_options() {
        let preload = NodePreload {
            dir: PathBuf::from("/h/node-reseed-x"),
        };
        let mut env = vec![(
            "NODE_OPTIONS".to_owned(),
            "--max-old-space-size=100".to_owned(),
        )];
        preload.add_to(&mut env);
        assert_eq!(
            env,
            [
                (
                    "NODE_OPTIONS".to_owned(),
                    "--require \"/h/node-reseed-x/preload.js\" --max-old-space-size=100".to_owned()
                ),
                (
                    "SNAP_HOOKS_RAND_ENGINE".to_owned(),
                    "/h/node-reseed-x/snap_getrandom_engine.so".to_owned()
                )
            ]
        );
        // A rand engine named already gives way to snaprun's.
        let mut named = vec![(
            "SNAP_HOOKS_RAND_ENGINE".to_owned(),
            "/elsewhere.so".to_owned(),
        )];
        preload.add_to(&mut named);
        assert_eq!(
            named,
            [
                (
                    "NODE_OPTIONS".to_owned(),
                    "--require \"/h/node-reseed-x/preload.js\"".to_owned()
                ),
                (
                    "SNAP_HOOKS_RAND_ENGINE".to_owned(),
                    "/h/node-reseed-x/snap_getrandom_engine.so".to_owned()
                )
            ]
        );
    }

    #[test]
    fn a_path_is_one_node_options_word() {
        assert_eq!(
            quoted(Path::new("/a b/\"c\"\\d")),
            "\"/a b/\\\"c\\\"\\\\d\""
        );
    }

    #[test]
    fn installing_twice_finds_the_first_install_and_mends_a_changed_one() {
        let home = tempfile::tempdir().expect("tempdir");
        let first = NodePreload::install_in(home.path()).expect("install");
        let second = NodePreload::install_in(home.path()).expect("again");
        assert_eq!(first, second);
        std::fs::write(first.preload(), b"planted").expect("change it");
        let mended = NodePreload::install_in(home.path()).expect("mend");
        assert_eq!(
            std::fs::read(mended.preload()).expect("read"),
            FILES[0].1,
            "the changed preload is replaced by this build's"
        );
        let entries: Vec<_> = std::fs::read_dir(home.path())
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(entries.len(), 1, "no staging directory left: {entries:?}");
        // Reached through a link, it names the real path, which is what
        // /proc/PID/fd shows for the marker.
        let linked = tempfile::tempdir().expect("tempdir");
        let link = linked.path().join("home");
        std::os::unix::fs::symlink(home.path(), &link).expect("link");
        let through = NodePreload::install_in(&link).expect("install through a link");
        assert_eq!(through, first);
        assert!(
            !through.preload().starts_with(linked.path()),
            "{}",
            through.preload().display()
        );
    }

    #[test]
    fn a_restore_missing_a_marked_process_is_refused_naming_both_counts() {
        assert!(all_found(2, 2).is_ok());
        assert!(all_found(0, 0).is_ok());
        let missing = all_found(1, 2).expect_err("one missing");
        assert_eq!(missing.error_type, "Runtime.AfterRestoreError");
        assert!(
            missing.message.starts_with(
                "1 restored Node process(es) hold snaprun's preload, where the snapshot had 2"
            ),
            "{}",
            missing.message
        );
        assert!(all_found(3, 2).is_err(), "one more than marked is as wrong");
    }

    #[test]
    fn the_warning_names_what_is_not_reseeded() {
        let none = Coverage {
            off: false,
            reseeded: 0,
            bare_node: vec![],
            bootstrap: "/fn/bootstrap".into(),
        };
        let line = none.warning().expect("a warning");
        assert!(
            line.contains("/fn/bootstrap is not a Node runtime snaprun can reseed"),
            "{line}"
        );
        let covered = Coverage {
            reseeded: 1,
            ..none.clone()
        };
        assert_eq!(covered.warning(), None);
        let off = Coverage {
            off: true,
            ..covered.clone()
        };
        assert!(off.warning().expect("off").contains("--no-reseed"));
        let bare = Coverage {
            reseeded: 1,
            bare_node: vec!["/usr/bin/node (pid 9)".into()],
            ..none
        };
        assert!(
            bare.warning()
                .expect("bare")
                .contains("/usr/bin/node (pid 9) started without")
        );
    }
}
