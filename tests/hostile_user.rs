//! Another local user (uid 65534) plants what snaprun and snapjs used to
//! trust, then root runs them: a bytecode cache where snapjs looked for
//! one, a link at a snapshot directory's lock, a snapshot of its own. The
//! planted bytecode must not run, the link's target must be unchanged, and
//! the planted snapshot must be refused by name.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{RunningFunction, snapjs};
use snap::snapshot::{Expect, Identity, Seal, SnapshotWriter};

const NOBODY: u32 = 65534;

/// Whether this test can play both users: it needs root. Under
/// `SNAP_REQUIRE_CRIU=1` (scripts/test.sh, as root) not being root fails.
fn as_root() -> bool {
    if common::is_root() {
        return true;
    }
    assert!(
        std::env::var("SNAP_REQUIRE_CRIU").as_deref() != Ok("1"),
        "the hostile-user tests need root, to play uid {NOBODY} and root"
    );
    eprintln!("SKIPPED: the hostile-user tests need root");
    false
}

/// A temporary directory uid 65534 can enter, with `mode`.
fn shared_dir(mode: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).unwrap();
    dir
}

/// `program` run as uid 65534 with no groups and no capabilities.
fn as_nobody(program: &Path) -> Command {
    let mut command = Command::new("setpriv");
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(program);
    command
}

/// A symbolic link at `link` to `target`, made by uid 65534.
fn plant_link(target: &Path, link: &Path) {
    let mut ln = as_nobody(Path::new("/bin/ln"));
    ln.arg("-s").arg(target).arg(link);
    run_ok(ln);
}

/// `shared` in `parent`: a directory every user may write, without the
/// sticky bit (a shared project directory), which the kernel's
/// `protected_symlinks` does not cover.
fn writable_by_all(parent: &Path) -> PathBuf {
    let shared = parent.join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
    shared
}

fn run_ok(mut command: Command) {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Copies `from` to `to`, executable by all, keeping its modification time
/// (snapjs keys its cache on the executable's size and mtime).
fn copy_executable(from: &Path, to: &Path) {
    std::fs::copy(from, to).unwrap();
    let modified = std::fs::metadata(from).unwrap().modified().unwrap();
    std::fs::File::options()
        .write(true)
        .open(to)
        .unwrap()
        .set_modified(modified)
        .unwrap();
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Runs `snapjs` once as uid 65534 on the handler in `root`, with its cache
/// in `cache` (made by that user), and returns the cache file it wrote.
/// The Runtime API is unreachable, so snapjs stops after loading the
/// handler, which is when it writes the cache.
fn compile_as_nobody(snapjs: &Path, root: &Path, cache: &Path) -> PathBuf {
    std::fs::create_dir(cache).unwrap();
    std::fs::set_permissions(cache, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::chown(cache, Some(NOBODY), Some(NOBODY)).unwrap();
    let mut command = as_nobody(snapjs);
    command
        .arg(root)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", cache)
        .env("_HANDLER", "index.handler")
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:1")
        .env("SNAPJS_CACHE_DIR", cache);
    // It fails at its first `next`, having compiled the handler.
    let _ = command.output().unwrap();
    let files: Vec<PathBuf> = std::fs::read_dir(cache)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "qbc"))
        .collect();
    assert_eq!(files.len(), 1, "snapjs wrote one cache file: {files:?}");
    files[0].clone()
}

#[test]
fn planted_bytecode_where_snapjs_used_to_look_never_runs() {
    if !as_root() {
        return;
    }
    let tmp = shared_dir(0o755);
    let snapjs = {
        let copy = tmp.path().join("snapjs");
        copy_executable(&snapjs(), &copy);
        copy
    };
    // The victim's handler, in a directory both users can read.
    let task_root = tmp.path().join("task");
    std::fs::create_dir(&task_root).unwrap();
    std::fs::set_permissions(&task_root, std::fs::Permissions::from_mode(0o777)).unwrap();
    let handler = task_root.join("index.mjs");
    let benign = "export const handler = async () => ({ who: 'benign' });\n";
    let planted = "export const handler = async () => ({ who: 'planted' });\n";

    // The attacker compiles both sources at the handler's path: the cache
    // key of the benign one, the bytecode of the planted one.
    std::fs::write(&handler, planted).unwrap();
    let planted_file = compile_as_nobody(&snapjs, &task_root, &tmp.path().join("c1"));
    std::fs::write(&handler, benign).unwrap();
    let benign_file = compile_as_nobody(&snapjs, &task_root, &tmp.path().join("c2"));
    let (magic_and_key, bytecode) = {
        let benign = std::fs::read(&benign_file).unwrap();
        let planted = std::fs::read(&planted_file).unwrap();
        (benign[..24].to_vec(), planted[24..].to_vec())
    };

    // It plants the forgery where snapjs used to look: $TMPDIR/snapjs-bytecode.
    let world = shared_dir(0o1777);
    let old_cache = world.path().join("snapjs-bytecode");
    run_ok({
        let mut mkdir = as_nobody(Path::new("/bin/mkdir"));
        mkdir.args(["-m", "755"]).arg(&old_cache);
        mkdir
    });
    let forged = old_cache.join(benign_file.file_name().unwrap());
    let mut bytes = magic_and_key;
    bytes.extend_from_slice(&bytecode);
    let staging = tmp.path().join("forged");
    std::fs::write(&staging, &bytes).unwrap();
    run_ok({
        let mut cp = as_nobody(Path::new("/bin/cp"));
        cp.arg(&staging).arg(&forged);
        cp
    });
    assert_eq!(std::fs::metadata(&forged).unwrap().uid(), NOBODY);

    // Root runs the benign handler twice (a miss, then a hit of its own
    // cache), with that temp directory and a home of its own.
    let home = tempfile::tempdir().unwrap();
    for round in ["first", "second"] {
        let run = RunningFunction::start(&[
            "--engine",
            "none",
            "--handler",
            "index.handler",
            "--env",
            &format!("TMPDIR={}", world.path().display()),
            "--env",
            &format!("HOME={}", home.path().display()),
            "--",
            snapjs.to_str().unwrap(),
            task_root.to_str().unwrap(),
        ]);
        let answer = run.invoke_ok(b"{}");
        assert_eq!(answer["who"], "benign", "{round} run: {answer}");
    }
    // Its own cache is private to root, in its home.
    let own = home.path().join(".cache/snapjs");
    let meta = std::fs::symlink_metadata(&own).unwrap();
    assert_eq!((meta.uid(), meta.mode() & 0o777), (0, 0o700));
    let cached: Vec<_> = std::fs::read_dir(&own).unwrap().flatten().collect();
    assert_eq!(cached.len(), 1, "{cached:?}");
    let file = cached[0].metadata().unwrap();
    assert_eq!((file.uid(), file.mode() & 0o777), (0, 0o600));

    // A cache directory that the other user made is refused, not used,
    // even when named outright.
    let run = RunningFunction::start(&[
        "--engine",
        "none",
        "--handler",
        "index.handler",
        "--env",
        &format!("SNAPJS_CACHE_DIR={}", old_cache.display()),
        "--",
        snapjs.to_str().unwrap(),
        task_root.to_str().unwrap(),
    ]);
    let answer = run.invoke_ok(b"{}");
    assert_eq!(answer["who"], "benign", "{answer}");
    let logs = run.logs();
    assert!(
        logs.iter().any(|l| l.contains("the bytecode cache is off")
            && l.contains("belongs to uid 65534, not to this user")),
        "{logs:#?}"
    );
}

#[test]
fn a_link_planted_at_a_snapshot_lock_is_refused_and_its_target_unchanged() {
    if !as_root() {
        return;
    }
    let tmp = shared_dir(0o755);
    let sentinel = tmp.path().join("sentinel");
    std::fs::write(&sentinel, b"root's precious file").unwrap();
    let shared = writable_by_all(tmp.path());
    plant_link(&sentinel, &shared.join("snap.lock"));
    let out = common::snaprun()
        .args([
            "bench",
            "--engine",
            "native",
            "--runs",
            "1",
            "--snapshot-dir",
        ])
        .arg(shared.join("snap"))
        .arg("--")
        .arg(common::rust_heavy_init())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{} is a symbolic link: refusing to lock through it",
            shared.join("snap.lock").display()
        )),
        "{stderr}"
    );
    assert_eq!(std::fs::read(&sentinel).unwrap(), b"root's precious file");
    assert!(!shared.join("snap").exists(), "nothing was made");
}

/// A valid snapshot, made by root in `dir`.
fn make_snapshot(dir: &Path) {
    let writer = SnapshotWriter::create(dir).unwrap();
    std::fs::write(writer.payload_dir().join("memory.img"), b"pages").unwrap();
    writer
        .commit(Seal {
            engine: "test".into(),
            identity: Identity::of_command(Path::new("/bin/sh"), &[], []).unwrap(),
            scratch: Vec::new(),
            engine_state: Vec::new(),
            annotations: Vec::new(),
        })
        .unwrap();
}

fn chown_all(path: &Path, uid: u32) {
    std::os::unix::fs::lchown(path, Some(uid), Some(uid)).unwrap();
    if std::fs::symlink_metadata(path).unwrap().is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            chown_all(&entry.unwrap().path(), uid);
        }
    }
}

#[test]
fn a_snapshot_another_user_planted_is_refused_by_name() {
    if !as_root() {
        return;
    }
    let tmp = shared_dir(0o755);
    let own = tmp.path().join("own");
    make_snapshot(&own);
    snap::Snapshot::open(&own, &Expect::default()).unwrap();

    // The other user's copy, 0755 as its umask leaves it: no one else may
    // write it, but they chose what it holds.
    let planted = tmp.path().join("planted");
    common::copy_dir(&own, &planted);
    std::fs::set_permissions(&planted, std::fs::Permissions::from_mode(0o755)).unwrap();
    chown_all(&planted, NOBODY);
    let inspect = |dir: &Path| {
        let out = common::snaprun().arg("inspect").arg(dir).output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, stderr) = inspect(&planted);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}: owned by uid 65534, not by this user (uid 0) or root",
            planted.display()
        )),
        "{stderr}"
    );
    // Only a file of it the other user's: refused, naming that file.
    chown_all(&planted, 0);
    std::os::unix::fs::lchown(planted.join("payload/memory.img"), Some(NOBODY), None).unwrap();
    let (ok, stderr) = inspect(&planted);
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}: owned by uid 65534",
            planted.join("payload/memory.img").display()
        )),
        "{stderr}"
    );

    // A link to root's own snapshot, made by the other user where root
    // will look: refused as a link, whatever it leads to.
    let shared = writable_by_all(tmp.path());
    plant_link(&own, &shared.join("snap"));
    let (ok, stderr) = inspect(&shared.join("snap"));
    assert!(!ok, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "{}: a symbolic link, where a snapshot holds a real file or directory",
            shared.join("snap").display()
        )),
        "{stderr}"
    );
    // And root's own snapshot still opens.
    let (ok, stderr) = inspect(&own);
    assert!(ok, "{stderr}");
}
