//! Helpers shared by the integration tests.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

pub mod http_server;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use snap::criu::{CriuEngine, RestoredTree};
use snap::sandbox::SandboxedTree;

/// The CRIU engine, or `None` when CRIU tests may be skipped here. With
/// `SNAP_REQUIRE_CRIU=1` (set by scripts/test.sh) a missing CRIU or missing
/// root fails the test instead.
pub fn criu_engine() -> Option<CriuEngine> {
    let required = std::env::var("SNAP_REQUIRE_CRIU").is_ok_and(|v| v == "1");
    let problem = if !is_root() {
        "the CRIU engine needs root".to_owned()
    } else {
        match CriuEngine::locate() {
            Ok(engine) => return Some(engine),
            Err(err) => err.to_string(),
        }
    };
    if required {
        panic!("SNAP_REQUIRE_CRIU=1 but {problem}");
    }
    eprintln!("SKIPPED: {problem} (set SNAP_REQUIRE_CRIU=1 to make this a failure)");
    None
}

/// The CRIU engine, when it maps restored memory from the page images (the
/// patch scripts/install-criu.sh applies); `None` when that may be skipped,
/// as for [`criu_engine`].
pub fn criu_mapping_pages() -> Option<CriuEngine> {
    let engine = criu_engine()?;
    if engine.maps_pages() {
        return Some(engine);
    }
    missing(format!(
        "CRIU at {} lacks the map_pages patch: run scripts/install-criu.sh",
        engine.binary().display()
    ))
}

/// Every pid in /proc now.
pub fn pids() -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .collect()
}

/// The processes whose command line or open files mention `needle`, with
/// their command line.
pub fn processes_mentioning(needle: &str) -> Vec<(u32, String)> {
    let mut found = Vec::new();
    for pid in pids() {
        let Ok(raw) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        let line = String::from_utf8_lossy(&raw).replace('\0', " ");
        let holds_file = std::fs::read_dir(format!("/proc/{pid}/fd"))
            .into_iter()
            .flatten()
            .flatten()
            .any(|fd| {
                std::fs::read_link(fd.path())
                    .is_ok_and(|target| target.to_string_lossy().contains(needle))
            });
        if line.contains(needle) || holds_file {
            found.push((pid, line));
        }
    }
    found
}

/// Whether process `pid` is alive and not a zombie.
pub fn alive(pid: u32) -> bool {
    state(pid).is_some_and(|state| state != 'Z')
}

/// The state letter `/proc/PID/stat` gives `pid` (`S`, `Z`, `t`, ...);
/// `None` once it is gone.
pub fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // "pid (comm) state ...": comm may hold spaces, so split after ')'.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// The children of `pid`, from each of its threads' `children` list: one
/// read per thread, where [`children_where`] reads every process's stat.
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("children")).ok())
        .flat_map(|list| {
            list.split_whitespace()
                .filter_map(|child| child.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Process `pid`'s command line, its arguments joined by spaces.
pub fn cmdline(pid: u32) -> String {
    String::from_utf8_lossy(&std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default())
        .replace('\0', " ")
}

/// `snaprun bench --engine native --runs 1 --together 0 -- BOOTSTRAP`: one
/// snapshot made and restored once, for tests of where it goes.
pub fn native_bench_once(bootstrap: &Path) -> Command {
    let mut command = snaprun();
    command
        .args([
            "bench",
            "--engine",
            "native",
            "--runs",
            "1",
            "--together",
            "0",
            "--",
        ])
        .arg(bootstrap);
    command
}

/// The pids of processes that map a page image (`pages-N.img`) from under
/// `dir`: restored copies whose memory was mapped, not copied.
pub fn processes_mapping_images(dir: &Path) -> Vec<u32> {
    let dir = dir.to_string_lossy().into_owned();
    let mut found = Vec::new();
    for pid in pids() {
        let Ok(maps) = std::fs::read_to_string(format!("/proc/{pid}/maps")) else {
            continue;
        };
        if maps
            .lines()
            .any(|l| l.contains(dir.as_str()) && l.contains("/pages-") && l.ends_with(".img"))
        {
            found.push(pid);
        }
    }
    found
}

/// The Node fixture directory, or `None` when it may be skipped (as for CRIU).
pub fn node_fixture() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/node-sdk");
    if dir.join("node_modules/@aws-sdk/client-s3").is_dir() {
        return Some(dir);
    }
    missing(format!(
        "{} has no node_modules: run `npm ci` there (scripts/test.sh does)",
        dir.display()
    ))
}

/// tests/npm_compat, the compatibility suite's task root, with its
/// packages installed and the Node bootstrap's own (`@snap/hooks`), or
/// `None` when it may be skipped (as for CRIU): scripts/test.sh runs
/// `npm ci` in both.
pub fn npm_compat_root() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let suite = root.join("tests/npm_compat");
    let node_s3 = root.join("demo-functions/node-s3");
    for (project, needed) in [(&suite, ".package-lock.json"), (&node_s3, "@snap/hooks")] {
        if !project.join("node_modules").join(needed).exists() {
            return missing(format!(
                "{} has no node_modules/{needed}: run `npm ci` there (scripts/test.sh does)",
                project.display()
            ));
        }
    }
    Some(suite)
}

/// A prerequisite is missing: fails the test under `SNAP_REQUIRE_CRIU=1`
/// (scripts/test.sh), else skips it.
fn missing<T>(problem: String) -> Option<T> {
    if std::env::var("SNAP_REQUIRE_CRIU").is_ok_and(|v| v == "1") {
        panic!("{problem}");
    }
    eprintln!("SKIPPED: {problem}");
    None
}

pub fn is_root() -> bool {
    effective_uid() == 0
}

fn effective_uid() -> u32 {
    // /proc/self/status: "Uid: real effective saved fs".
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(str::to_owned))
        })
        .and_then(|uid| uid.parse().ok())
        .unwrap_or(u32::MAX)
}

/// Kills every tree it holds when dropped, also when a test panics.
#[derive(Default)]
pub struct Cleanup {
    pub sandboxes: Vec<SandboxedTree>,
    pub restored: Vec<RestoredTree>,
    pub pids: Vec<i32>,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for tree in &mut self.sandboxes {
            let _ = tree.kill();
        }
        for tree in &mut self.restored {
            let _ = tree.kill();
        }
        for pid in &self.pids {
            // Not our children (started by a snaprun process): kill only.
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
    }
}

/// Lines read from `reader` on a thread, so a test can wait with a timeout.
pub struct Lines {
    pub rx: mpsc::Receiver<String>,
}

impl Lines {
    pub fn new(reader: impl std::io::Read + Send + 'static) -> Self {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(reader).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { rx }
    }

    /// The next line, failing the test after `timeout`.
    pub fn next(&self, timeout: Duration) -> String {
        self.rx
            .recv_timeout(timeout)
            .unwrap_or_else(|e| panic!("no line within {timeout:?}: {e}"))
    }

    /// Every line until the writer side closes.
    pub fn rest(&self, timeout: Duration) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            match self.rx.recv_timeout(timeout) {
                Ok(line) => out.push(line),
                Err(mpsc::RecvTimeoutError::Disconnected) => return out,
                Err(mpsc::RecvTimeoutError::Timeout) => panic!("pipe still open after {timeout:?}"),
            }
        }
    }
}

/// The snaprun binary under test.
pub fn snaprun() -> Command {
    Command::new(env!("CARGO_BIN_EXE_snaprun"))
}

/// Runs snaprun and returns (success, stdout, stderr).
pub fn run_snaprun(args: &[&str]) -> (bool, String, String) {
    let out = snaprun().args(args).output().expect("run snaprun");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Copies a snapshot directory (flat payload) to `to`.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// The rust-hello demo's bootstrap, built (once per test binary) if needed.
pub fn rust_hello() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| build_demo("rust-hello")).clone()
}

/// The rust-heavy-init demo's bootstrap (links snap's native engine).
pub fn rust_heavy_init() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| build_demo("rust-heavy-init")).clone()
}

/// The rust-data-heavy demo's bootstrap (an unmodified `lambda_runtime`
/// function whose init fills a large table).
pub fn rust_data_heavy() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| build_demo("rust-data-heavy")).clone()
}

/// The rust-s3 demo's plain bootstrap (the AWS SDK for Rust); its native
/// variant, `bootstrap-native`, is built beside it.
pub fn rust_s3() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| build_demo("rust-s3")).clone()
}

/// Builds a demo from its own directory, so that its `.cargo/config.toml`
/// applies, and returns its bootstrap.
fn build_demo(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("demo-functions")
        .join(name);
    let status = Command::new(env!("CARGO"))
        .args(["build", "--release", "--locked", "--quiet"])
        .current_dir(&dir)
        .status()
        .expect("run cargo");
    assert!(status.success(), "building {name} failed");
    dir.join(release_dir(&dir)).join("bootstrap")
}

/// Where cargo puts a demo's release build: a demo whose
/// `.cargo/config.toml` names a build target (rust-heavy-init, linked
/// statically) builds into `target/TRIPLE/release`.
fn release_dir(dir: &Path) -> String {
    let config = std::fs::read_to_string(dir.join(".cargo/config.toml")).unwrap_or_default();
    let triple = config.lines().find_map(|line| {
        let value = line
            .trim()
            .strip_prefix("target")?
            .trim()
            .strip_prefix('=')?;
        Some(value.trim().trim_matches('"').to_owned())
    });
    match triple {
        Some(triple) => format!("target/{triple}/release"),
        None => "target/release".to_owned(),
    }
}

/// A `snaprun run` in the background, in a process group of its own: on
/// drop the whole group is killed, so bootstraps that snaprun started
/// (which a SIGKILL of snaprun alone would leave behind) go with it.
pub struct RunningFunction {
    child: std::process::Child,
    pub addr: String,
    logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl RunningFunction {
    /// Starts `snaprun run --listen 127.0.0.1:0 ARGS` and waits until it listens.
    pub fn start(args: &[&str]) -> Self {
        Self::start_exe(Path::new(env!("CARGO_BIN_EXE_snaprun")), args)
    }

    /// [`RunningFunction::start`] with the snaprun binary at `exe`.
    pub fn start_exe(exe: &Path, args: &[&str]) -> Self {
        Self::start_command(Command::new(exe), args)
    }

    /// [`RunningFunction::start`] through `snaprun`, a command for snaprun
    /// that may carry its own environment.
    pub fn start_command(mut snaprun: Command, args: &[&str]) -> Self {
        use std::os::unix::process::CommandExt;
        let mut child = snaprun
            .arg("run")
            .args(["--listen", "127.0.0.1:0"])
            .args(args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .spawn()
            .expect("start snaprun run");
        let lines = Lines::new(child.stderr.take().unwrap());
        let logs = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let addr = loop {
            let line = lines.next(Duration::from_secs(30));
            logs.lock().unwrap().push(line.clone());
            if let Some(rest) = line.strip_prefix("snaprun: listening on http://") {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        let sink = std::sync::Arc::clone(&logs);
        std::thread::spawn(move || {
            while let Ok(line) = lines.rx.recv() {
                sink.lock().unwrap().push(line);
            }
        });
        Self { child, addr, logs }
    }

    /// `snaprun run --engine ENGINE --snapshot-dir SNAPSHOT EXTRA -- BOOTSTRAP`.
    pub fn with_snapshot(engine: &str, snapshot: &Path, extra: &[&str], bootstrap: &Path) -> Self {
        let mut args = vec![
            "--engine",
            engine,
            "--snapshot-dir",
            snapshot.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.extend(["--", bootstrap.to_str().unwrap()]);
        Self::start(&args)
    }

    /// Invokes `payload`, which must end in a function error of
    /// `error_type`; returns its message.
    pub fn invoke_failing(&self, payload: &[u8], error_type: &str) -> String {
        let (status, failed, body) = self.invoke(payload);
        assert_eq!((status, failed), (200, true), "{body}");
        let v = json(&body);
        assert_eq!(v["errorType"], error_type, "{body}");
        v["errorMessage"].as_str().unwrap_or_default().to_owned()
    }

    /// snaprun's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGKILL to snaprun alone (not its process group) and reaps it.
    pub fn kill_snaprun(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Everything it has logged so far.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Invokes `payload`, which must succeed (200, no function error);
    /// returns the parsed answer.
    pub fn invoke_ok(&self, payload: &[u8]) -> serde_json::Value {
        let (status, failed, body) = self.invoke(payload);
        assert_eq!((status, failed), (200, false), "{body}");
        json(&body)
    }

    /// POSTs `payload` to the front door: (status, function error?, body).
    pub fn invoke(&self, payload: &[u8]) -> (u16, bool, String) {
        http_post(
            &self.addr,
            "/2015-03-31/functions/function/invocations",
            payload,
        )
    }
}

impl Drop for RunningFunction {
    fn drop(&mut self) {
        // The group's id is snaprun's pid (process_group(0)).
        let group = nix::unistd::Pid::from_raw(-(self.child.id() as i32));
        let _ = nix::sys::signal::kill(group, nix::sys::signal::Signal::SIGKILL);
        let _ = self.child.wait();
    }
}

/// A one-shot HTTP/1.1 POST: (status, has X-Amz-Function-Error, body).
pub fn http_post(addr: &str, path: &str, payload: &[u8]) -> (u16, bool, String) {
    http_post_with(addr, path, "", payload)
}

/// [`http_post`] with more header lines (`headers` is empty, or lines that
/// each end in `\r\n`).
pub fn http_post_with(
    addr: &str,
    path: &str,
    headers: &str,
    payload: &[u8],
) -> (u16, bool, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).expect("connect to the front door");
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
        payload.len()
    )
    .unwrap();
    stream.write_all(payload).unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("an HTTP answer");
    let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
    let function_error = head
        .to_ascii_lowercase()
        .contains("\r\nx-amz-function-error:");
    (status, function_error, body.to_owned())
}

/// Parses a JSON answer, failing the test with the text if it is not JSON.
pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

impl RunningFunction {
    /// Waits until `needle` has been logged `count` times; returns the logs.
    pub fn wait_for_log(&self, needle: &str, count: usize) -> Vec<String> {
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            let logs = self.logs();
            if logs.iter().filter(|l| l.contains(needle)).count() >= count {
                return logs;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{count} x {needle:?} not logged: {logs:#?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `clients` threads each send `per_client` invocations at once; request
    /// `n` carries `payload(n)`. Every answer must be a success; returns
    /// each `n` with its parsed answer.
    pub fn invoke_concurrently(
        &self,
        clients: u64,
        per_client: u64,
        payload: impl Fn(u64) -> String + Sync,
    ) -> Vec<(u64, serde_json::Value)> {
        let payload = &payload;
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..clients)
                .map(|client| {
                    scope.spawn(move || {
                        (0..per_client)
                            .map(|k| {
                                let n = client * 1000 + k;
                                let (status, failed, body) = http_post(
                                    &self.addr,
                                    "/2015-03-31/functions/function/invocations",
                                    payload(n).as_bytes(),
                                );
                                assert_eq!((status, failed), (200, false), "{body}");
                                (n, json(&body))
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        })
    }
}

impl RunningFunction {
    /// One answer per instance, by its `instance` field: invokes 8 at a
    /// time with `{"sleep_ms":300}` (each held, so each instance takes
    /// one) until 8 instances have answered. For functions started with
    /// `--concurrency 8` whose handler holds its answer `sleep_ms` and
    /// names its instance.
    pub fn answers_of_eight_instances(
        &self,
    ) -> std::collections::BTreeMap<String, serde_json::Value> {
        let mut by_instance = std::collections::BTreeMap::new();
        for _ in 0..10 {
            for (_, v) in self.invoke_concurrently(8, 1, |_| "{\"sleep_ms\":300}".to_owned()) {
                by_instance
                    .entry(v["instance"].as_str().unwrap().to_owned())
                    .or_insert(v);
            }
            if by_instance.len() == 8 {
                return by_instance;
            }
        }
        panic!("8 instances never answered: {by_instance:#?}");
    }
}

/// Why `moto_server` cannot run here (not installed), or `None`.
pub fn moto_missing() -> Option<String> {
    let found = Command::new("moto_server")
        .arg("--help")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok();
    (!found).then(|| "moto_server is not installed (pip install 'moto[server]')".to_owned())
}

/// A `moto_server` (S3-compatible) on 127.0.0.1 holding `snap-demo/hello.txt`,
/// killed on drop.
pub struct Moto {
    child: std::process::Child,
    /// Its port.
    pub port: u16,
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
}

impl Moto {
    /// On a free port, with `text` in `snap-demo/hello.txt`.
    pub fn start(text: &str) -> Self {
        Self::start_on(free_port(), text)
    }

    /// On `port` (a restart of a server that was there), with `text` in
    /// `snap-demo/hello.txt`.
    pub fn start_on(port: u16, text: &str) -> Self {
        Self::start_with(port, text, None)
    }

    /// On a free port, with `text` in `snap-demo/hello.txt`, checking
    /// credentials, signatures and IAM policies once `requests` requests
    /// have been served (the seeding takes two).
    pub fn start_checking_auth_after(requests: u32, text: &str) -> Self {
        Self::start_with(free_port(), text, Some(requests))
    }

    fn start_with(port: u16, text: &str, auth_after: Option<u32>) -> Self {
        let mut command = Command::new("moto_server");
        if let Some(requests) = auth_after {
            command.env("INITIAL_NO_AUTH_ACTION_COUNT", requests.to_string());
        }
        let child = command
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("moto_server (scripts/test.sh installs it)");
        let moto = Self {
            child,
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "moto_server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // Create the bucket and the object with boto3, which ships with moto.
        let script = format!(
            "import boto3\n\
             s3 = boto3.client('s3', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')\n\
             s3.create_bucket(Bucket='snap-demo')\n\
             s3.put_object(Bucket='snap-demo', Key='hello.txt', Body={text:?})\n",
            moto.endpoint
        );
        let status = Command::new("python3")
            .args(["-c", &script])
            .status()
            .unwrap();
        assert!(status.success(), "seeding moto failed");
        moto
    }
}

impl Moto {
    /// Stops the server (as if it were down); its port stays reserved in
    /// `endpoint` for messages.
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// `--env` arguments that point a function at this server, with the
    /// test credentials it accepts.
    pub fn function_env(&self) -> Vec<String> {
        [
            format!("S3_ENDPOINT={}", self.endpoint),
            "AWS_ACCESS_KEY_ID=test".to_owned(),
            "AWS_SECRET_ACCESS_KEY=test".to_owned(),
        ]
        .into_iter()
        .flat_map(|kv| ["--env".to_owned(), kv])
        .collect()
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The snapjs binary (the workspace's snap-js package), built if needed,
/// next to the snaprun under test. Built as scripts/test.sh builds the
/// workspace (so it is a no-op there): a `-p snap-js` build alone would
/// resolve other features and rebuild it.
pub fn snapjs() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let snaprun = Path::new(env!("CARGO_BIN_EXE_snaprun"));
            let release = snaprun.parent().is_some_and(|d| d.ends_with("release"));
            let mut cargo = Command::new(env!("CARGO"));
            cargo.args([
                "build",
                "--workspace",
                "--all-targets",
                "--locked",
                "--quiet",
            ]);
            if release {
                cargo.arg("--release");
            }
            assert!(
                cargo.status().expect("run cargo").success(),
                "building snapjs failed"
            );
            snaprun.with_file_name("snapjs")
        })
        .clone()
}

/// `snaprun run EXTRA --handler HANDLER -- snapjs ROOT`: snapjs serving the
/// function whose task root is `root`.
pub fn snapjs_function(root: &Path, extra: &[&str], handler: &str) -> RunningFunction {
    let snapjs = snapjs();
    let mut args = extra.to_vec();
    args.extend([
        "--handler",
        handler,
        "--",
        snapjs.to_str().unwrap(),
        root.to_str().unwrap(),
    ]);
    RunningFunction::start(&args)
}

/// The same, restored from a native snapshot made in `tmp` (every instance
/// is a restore, as under `--engine native`).
pub fn snapjs_restored(root: &Path, tmp: &tempfile::TempDir, handler: &str) -> RunningFunction {
    let snapshot = tmp.path().join("snap");
    snapjs_function(
        root,
        &[
            "--engine",
            "native",
            "--snapshot-dir",
            snapshot.to_str().unwrap(),
        ],
        handler,
    )
}

/// tests/fixtures/snapjs, the task root of snapjs's test handlers.
pub fn snapjs_fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/snapjs")
}

/// A demo's esbuild bundle for snapjs (`demo-functions/NAME/dist`), or
/// `None` when it may be skipped (as for CRIU): scripts/test.sh builds it.
pub fn snapjs_bundle(name: &str) -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("demo-functions")
        .join(name)
        .join("dist");
    if dir.join("index.mjs").is_file() {
        return Some(dir);
    }
    missing(format!(
        "{} has no index.mjs: run `npm ci && npm run build` in its demo (scripts/test.sh does)",
        dir.display()
    ))
}

/// An HTTP server on 127.0.0.1 answering every request with `body`, for as
/// long as the test runs; returns its address.
pub fn tiny_http_server(body: &'static str) -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    addr
}

/// The pids of CRIU processes in `mode` (`swrk`, `lazy-pages`) whose parent
/// is `parent`.
pub fn criu_children(parent: u32, mode: &str) -> Vec<u32> {
    children_where(parent, |pid| {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        cmdline.split(|b| *b == 0).nth(1) == Some(mode.as_bytes())
    })
}

/// The pids of `parent`'s children for which `keep` holds.
pub fn children_where(parent: u32, keep: impl Fn(u32) -> bool) -> Vec<u32> {
    let mut found = Vec::new();
    for pid in pids() {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces, so split after ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid == Some(parent) && keep(pid) {
            found.push(pid);
        }
    }
    found
}

/// Polls `condition` every 10 ms for up to `limit`; whether it came true.
pub fn eventually(limit: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    loop {
        if condition() {
            return true;
        }
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A command for snaprun that runs it in a mount namespace of its own, where
/// `dir` is a fresh tmpfs of `size` (such as `"2m"`): a filesystem that
/// fills up. The mount goes with the namespace's last process. Needs root.
pub fn snaprun_on_tmpfs(dir: &Path, size: &str) -> Command {
    assert!(is_root(), "mounting a small tmpfs needs root");
    let mut command = Command::new("unshare");
    command.args([
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        r#"mount -t tmpfs -o "size=$1" snap-test "$0" && shift && exec "$@""#,
    ]);
    command
        .arg(dir)
        .arg(size)
        .arg(env!("CARGO_BIN_EXE_snaprun"));
    command
}

/// Starts `snaprun run --engine ENGINE` on `bootstrap` with its snapshot
/// directory on a 2 MiB tmpfs, too small for the snapshot, and checks what
/// the first invoker and the log are told: that the filesystem is full,
/// where, and what to do, ahead of the engine's own account; and that no
/// part of a snapshot is left on it.
pub fn assert_a_full_filesystem_is_named_as_the_cause(engine: &str, bootstrap: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let small = tmp.path().join("small");
    std::fs::create_dir(&small).unwrap();
    let snapshot = small.join("snap");
    let run = RunningFunction::start_command(
        snaprun_on_tmpfs(&small, "2m"),
        &[
            "--engine",
            engine,
            "--snapshot-dir",
            snapshot.to_str().unwrap(),
            "--",
            bootstrap.to_str().unwrap(),
        ],
    );
    let (status, failed, body) = run.invoke(b"{}");
    assert_eq!((status, failed), (200, true), "{body}");
    let message = json(&body)["errorMessage"].as_str().unwrap().to_owned();
    let lead = format!(
        "no space left to make the snapshot in {} (",
        snapshot.display()
    );
    assert!(message.starts_with(&lead), "{message}");
    assert!(
        message.contains(
            " MiB free): free space there, or give --snapshot-dir on a larger filesystem: "
        ),
        "{message}"
    );
    assert!(message.contains("No space left on device"), "{message}");
    let logs = run.wait_for_log("snaprun: no space left to make the snapshot in", 1);
    // What the tmpfs holds, seen through snaprun's own mount namespace: the
    // lock, and nothing of the snapshot that did not fit.
    let seen =
        Path::new(&format!("/proc/{}/root", run.pid())).join(small.strip_prefix("/").unwrap());
    let mut left: Vec<String> = std::fs::read_dir(&seen)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.retain(|name| !name.ends_with(".init-error.json"));
    assert_eq!(left, ["snap.lock"], "{logs:#?}");
}

/// Serves `bootstrap` under `engine` with `--encrypt-key`, three times on
/// one snapshot directory (made, reused, then made again with `--fresh`),
/// and checks that every payload file is stored encrypted, that restores
/// read the one decrypted copy in the (test's own) cache, and that the
/// copy goes with its snapshot: replaced, then removed.
pub fn assert_encrypted_snapshots_serve(engine: &str, bootstrap: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let key = tmp.path().join("key");
    std::fs::write(&key, [42u8; 32]).unwrap();
    let cache = tmp.path().join("plain");
    let dir = tmp.path().join("snap");
    let copies = || -> Vec<String> {
        std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    };
    let mut seen = Vec::new();
    for round in ["made", "reused", "fresh"] {
        let mut snaprun = Command::new(env!("CARGO_BIN_EXE_snaprun"));
        snaprun
            .env("SNAP_PLAIN_CACHE", &cache)
            .arg("--encrypt-key")
            .arg(&key);
        let mut args = vec!["--engine", engine, "--snapshot-dir", dir.to_str().unwrap()];
        if round == "fresh" {
            args.push("--fresh");
        }
        args.extend(["--", bootstrap.to_str().unwrap()]);
        let run = RunningFunction::start_command(snaprun, &args);
        run.invoke_ok(b"{}");
        run.invoke_ok(b"{}");
        let logs = run.logs();
        let reused = logs
            .iter()
            .any(|l| l.starts_with("snaprun: restoring from the snapshot in"));
        assert_eq!(reused, round == "reused", "{round}: {logs:#?}");
        // One decrypted copy: the current snapshot's.
        let now = copies();
        assert_eq!(now.len(), 1, "{round}: {now:?}");
        seen.push(now[0].clone());
    }
    let payload = dir.join(snap::snapshot::PAYLOAD_DIR);
    let mut files = 0;
    for entry in std::fs::read_dir(&payload).unwrap() {
        let path = entry.unwrap().path();
        let head = std::fs::read(&path).unwrap();
        assert!(
            head.starts_with(b"SNAPENC1"),
            "{} is stored in the clear",
            path.display()
        );
        files += 1;
    }
    assert!(files > 0);
    assert_eq!(seen[0], seen[1], "the copy is reused");
    assert_ne!(
        seen[1], seen[2],
        "the fresh snapshot's copy replaced the old"
    );
    // The snapshot removed: the next open finds it gone, and its copy goes.
    std::fs::remove_dir_all(&dir).unwrap();
    let out = snaprun()
        .env("SNAP_PLAIN_CACHE", &cache)
        .args(["inspect", dir.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert_eq!(copies(), Vec::<String>::new(), "{err}");
}
