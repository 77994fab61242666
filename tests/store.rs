//! Snapshots shared through an S3-compatible store (`--store`, `snaprun
//! push`, `snaprun pull`) against a real S3 API server: moto's, on
//! loopback. Each "machine" is a snapshot directory and a chunk cache of
//! its own, so a second machine starts with an empty cache.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::{Moto, RunningFunction, eventually, rust_heavy_init};

const STORE: &str = "s3://snap-demo/fleet";

/// One machine: its own snapshot directory and chunk cache.
struct Machine {
    tmp: tempfile::TempDir,
    snapshot: PathBuf,
    cache: PathBuf,
}

impl Machine {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        Self {
            snapshot: tmp.path().join("snap"),
            cache: tmp.path().join("chunks"),
            tmp,
        }
    }

    /// snaprun with the store's endpoint and credentials.
    fn snaprun(&self, moto: &Moto) -> Command {
        self.snaprun_at(&moto.endpoint)
    }

    /// snaprun with the store at `endpoint`, test credentials, and this
    /// machine's own cache of decrypted snapshots (removed with it).
    fn snaprun_at(&self, endpoint: &str) -> Command {
        let mut command = common::snaprun();
        command
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("SNAP_PLAIN_CACHE", self.tmp.path().join("plain"));
        command
    }

    /// `snaprun run --store` on this machine, with `extra` flags.
    fn run(&self, moto: &Moto, engine: &str, bootstrap: &Path, extra: &[&str]) -> RunningFunction {
        self.run_as(self.snaprun(moto), engine, bootstrap, extra)
    }

    /// [`Machine::run`] through `snaprun`, which may carry global flags.
    fn run_as(
        &self,
        snaprun: Command,
        engine: &str,
        bootstrap: &Path,
        extra: &[&str],
    ) -> RunningFunction {
        let mut args = vec![
            "--engine",
            engine,
            "--snapshot-dir",
            self.snapshot.to_str().unwrap(),
            "--chunk-cache",
            self.cache.to_str().unwrap(),
            "--store",
            STORE,
        ];
        args.extend_from_slice(extra);
        args.extend(["--", bootstrap.to_str().unwrap()]);
        RunningFunction::start_command(snaprun, &args)
    }

    /// `snaprun ARGS --chunk-cache CACHE --store STORE`: (success, stdout, stderr).
    fn snaprun_store(&self, moto: &Moto, args: &[&str]) -> (bool, String, String) {
        self.snaprun_store_at(&moto.endpoint, args)
    }

    /// [`Machine::snaprun_store`] with the store at `endpoint`.
    fn snaprun_store_at(&self, endpoint: &str, args: &[&str]) -> (bool, String, String) {
        let out = self
            .snaprun_at(endpoint)
            .args(args)
            .args([
                "--chunk-cache",
                self.cache.to_str().unwrap(),
                "--store",
                STORE,
            ])
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn cached_chunks(&self) -> Vec<(String, u64)> {
        let Ok(entries) = std::fs::read_dir(&self.cache) else {
            return Vec::new();
        };
        entries
            .map(Result::unwrap)
            .filter(|e| e.file_name().len() == 64)
            .map(|e| {
                (
                    e.file_name().to_string_lossy().into_owned(),
                    e.metadata().unwrap().len(),
                )
            })
            .collect()
    }
}

/// Runs a boto3 script against moto, with `s3` bound to a client and
/// `B`/`P` to the bucket and prefix; returns its stdout.
fn boto(moto: &Moto, script: &str) -> String {
    let full = format!(
        "import boto3, json, sys\n\
         s3 = boto3.client('s3', endpoint_url='{}', region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')\n\
         B, P = 'snap-demo', 'fleet'\n{script}",
        moto.endpoint
    );
    let out = Command::new("python3")
        .args(["-c", &full])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "boto3: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Rewrites snapshot `key`'s `manifest.json` in the store: `edit` is
/// Python that changes `m`, the parsed manifest.
fn edit_manifest(moto: &Moto, key: &str, edit: &str) {
    boto(
        moto,
        &format!(
            "k = P + '/snapshots/{key}/manifest.json'\n\
             m = json.loads(s3.get_object(Bucket=B, Key=k)['Body'].read())\n\
             {edit}\n\
             s3.put_object(Bucket=B, Key=k, Body=json.dumps(m).encode())"
        ),
    );
}

/// The keys under the store's prefix that start with `under`.
fn keys(moto: &Moto, under: &str) -> Vec<String> {
    boto(
        moto,
        &format!(
            "for page in s3.get_paginator('list_objects_v2').paginate(Bucket=B, Prefix=P + '/{under}'):\n    \
             for o in page.get('Contents', []): print(o['Key'])"
        ),
    )
    .lines()
    .map(str::to_owned)
    .collect()
}

/// The chunk digests the store's manifest lists for snapshot `key`'s
/// image, in order (zeros left out).
fn chunks_of(moto: &Moto, key: &str) -> Vec<String> {
    let listing = boto(
        moto,
        &format!(
            "m = json.loads(s3.get_object(Bucket=B, Key=P + '/snapshots/{key}/manifest.json')['Body'].read())\n\
             print(json.dumps([c for c in m['chunks'] if c]))"
        ),
    );
    serde_json::from_str(&listing).unwrap()
}

/// Snapshot `key`'s working set in the store, once it is recorded: its
/// chunks, each one of the manifest's, and the pages touched.
fn working_set_of(moto: &Moto, key: &str) -> (Vec<String>, u64) {
    let stored = format!("snapshots/{key}/working-set.json");
    assert!(
        eventually(Duration::from_secs(30), || !keys(moto, &stored).is_empty()),
        "no working set recorded"
    );
    let text = boto(
        moto,
        &format!("print(s3.get_object(Bucket=B, Key=P + '/{stored}')['Body'].read().decode())"),
    );
    let set: serde_json::Value = serde_json::from_str(&text).unwrap();
    let chunks: Vec<String> = set["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_owned())
        .collect();
    let listed = chunks_of(moto, key);
    for chunk in &chunks {
        assert!(
            listed.contains(chunk),
            "{chunk} is not one of the snapshot's chunks"
        );
    }
    (chunks, set["pages_touched"].as_u64().unwrap())
}

/// The digests of every chunk the store holds.
fn stored_chunks(moto: &Moto) -> BTreeSet<String> {
    keys(moto, "chunks/")
        .into_iter()
        .map(|key| key.rsplit('/').next().unwrap().to_owned())
        .collect()
}

/// Waits until a log line contains `needle`; returns it.
fn log_line(run: &RunningFunction, needle: &str) -> String {
    let mut found = None;
    let seen = eventually(Duration::from_secs(60), || {
        found = run.logs().into_iter().find(|l| l.contains(needle));
        found.is_some()
    });
    assert!(
        seen,
        "no log line with {needle:?}:\n{}",
        run.logs().join("\n")
    );
    found.unwrap()
}

/// The number before `word` in `line`, as in "20 fetched".
fn count_before(line: &str, word: &str) -> u64 {
    let at = line
        .find(&format!(" {word}"))
        .unwrap_or_else(|| panic!("{word:?} not in {line}"));
    line[..at]
        .rsplit(|c: char| !c.is_ascii_digit())
        .next()
        .unwrap()
        .parse()
        .unwrap_or_else(|_| panic!("no count before {word:?} in {line}"))
}

/// The manifest and memory image of the native snapshot in `dir`.
fn image_of(dir: &Path) -> (Vec<u8>, Vec<u8>) {
    let read = |name| std::fs::read(dir.join(name)).unwrap();
    (read("manifest.snap"), read("payload/memory.img"))
}

/// The temporaries of unfinished snapshots beside `snapshot`.
fn temporaries_beside(snapshot: &Path) -> Vec<String> {
    std::fs::read_dir(snapshot.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("snap-tmp"))
        .collect()
}

/// The key in a `pushed the snapshot to STORE as KEY: ...` line.
fn key_in(pushed: &str) -> String {
    let after = pushed.split(" as ").nth(1).unwrap();
    after.split(':').next().unwrap().to_owned()
}

/// Machine A makes the snapshot and pushes it; returns its key and the
/// answer to its first invocation.
fn first_machine(moto: &Moto, a: &Machine) -> (String, serde_json::Value) {
    let run = a.run(moto, "native", &rust_heavy_init(), &[]);
    let answer = run.invoke_ok(br#"{"nth":100}"#);
    let pushed = log_line(&run, "pushed the snapshot to");
    assert!(
        pushed.contains(STORE) && pushed.contains("all zeros"),
        "{pushed}"
    );
    let key = key_in(&pushed);
    // The first invocation after a restore records the working set.
    let (chunks, pages) = working_set_of(moto, &key);
    assert!(!chunks.is_empty() && pages > 0, "{chunks:?}, {pages} pages");
    (key, answer)
}

#[test]
fn a_second_machine_restores_the_first_machines_snapshot_from_an_empty_cache() {
    let moto = Moto::start("hello");
    let (a, b) = (Machine::new(), Machine::new());
    let (key, on_a) = first_machine(&moto, &a);
    // Chunks then manifest: the snapshot's files are in the store.
    assert!(!keys(&moto, "chunks/").is_empty());
    assert_eq!(
        keys(&moto, &format!("snapshots/{key}/manifest.json")).len(),
        1
    );

    let run = b.run(&moto, "native", &rust_heavy_init(), &[]);
    let on_b = run.invoke_ok(br#"{"nth":100}"#);
    let pulled = log_line(&run, "pulled the snapshot from");
    let logs = run.logs().join("\n");
    assert!(!logs.contains("running init"), "{logs}");
    // Everything came from the store, the working set first.
    assert!(count_before(&pulled, "fetched") > 0, "{pulled}");
    assert_eq!(count_before(&pulled, "from the cache"), 0, "{pulled}");
    assert!(pulled.contains("the working set's"), "{pulled}");
    // B continues from A's init: the same init, the same table, its own
    // instance.
    assert_eq!(on_b["init_ms"], on_a["init_ms"], "{on_b}");
    assert_eq!(on_b["primes"], on_a["primes"]);
    assert_eq!(on_b["nth_prime"], on_a["nth_prime"]);
    assert_ne!(on_b["instance_id"], on_a["instance_id"]);
    // What B's cache holds are the store's chunks, each under its sha256.
    let cached = b.cached_chunks();
    assert_eq!(cached.len() as u64, count_before(&pulled, "fetched"));
    for (name, _) in &cached {
        let bytes = std::fs::read(b.cache.join(name)).unwrap();
        assert_eq!(&snap::Sha256Digest::of(&bytes).to_string(), name);
    }
}

#[test]
fn push_and_pull_carry_a_snapshot_byte_for_byte_and_a_second_push_uploads_nothing_new() {
    let moto = Moto::start("hello");
    let (a, b, c) = (Machine::new(), Machine::new(), Machine::new());
    let (key, _) = first_machine(&moto, &a);

    // An identical push stores no chunk again.
    let (ok, out, err) =
        a.snaprun_store(&moto, &["push", "--replace", a.snapshot.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), key);
    assert_eq!(count_before(&err, "of"), 0, "{err}");
    assert!(count_before(&err, "already stored") > 0, "{err}");
    // Without --replace, the store's snapshot is kept.
    let (ok, _, err) = a.snaprun_store(&moto, &["push", a.snapshot.to_str().unwrap()]);
    assert!(
        ok && err.contains("already holds a snapshot of this function"),
        "{err}"
    );

    let (ok, out, err) = b.snaprun_store(&moto, &["pull", &key, b.snapshot.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(out.trim(), b.snapshot.to_str().unwrap());
    for name in ["manifest.snap", "payload/memory.img"] {
        assert_eq!(
            std::fs::read(a.snapshot.join(name)).unwrap(),
            std::fs::read(b.snapshot.join(name)).unwrap(),
            "{name} differs"
        );
    }
    // inspect names the key a store gives the snapshot.
    let (ok, out, err) = common::run_snaprun(&["inspect", b.snapshot.to_str().unwrap()]);
    assert!(
        ok && out.contains(&format!("store key  {key}\n")),
        "{out}{err}"
    );
    // Zero chunks are holes: the pulled image takes less disk than its size.
    let image = std::fs::metadata(b.snapshot.join("payload/memory.img")).unwrap();
    assert!(
        std::os::unix::fs::MetadataExt::blocks(&image) * 512 < image.len(),
        "no holes in the pulled image"
    );
    // A pull into a machine whose cache holds the chunks fetches none.
    common::copy_dir(&b.cache, &c.cache);
    let (ok, _, err) = c.snaprun_store(&moto, &["pull", &key, c.snapshot.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(count_before(&err, "fetched"), 0, "{err}");
    // An unknown key, and one that is not a key, are named.
    let unknown = "0".repeat(64);
    let (ok, _, err) = c.snaprun_store(&moto, &["pull", &unknown, "/nonexistent/x"]);
    assert!(
        !ok && err.contains(&format!("has no snapshot {unknown}")),
        "{err}"
    );
    let (ok, _, err) = c.snaprun_store(&moto, &["pull", "latest", "/nonexistent/x"]);
    assert!(
        !ok && err.contains("\"latest\" is not a snapshot key"),
        "{err}"
    );
}

#[test]
fn a_fresh_snapshot_of_the_same_function_uploads_only_its_changed_chunks() {
    let moto = Moto::start("hello");
    let a = Machine::new();
    let (key, _) = first_machine(&moto, &a);
    // What the store holds before the second push: the first snapshot's
    // chunks, and nothing else.
    let first: BTreeSet<String> = chunks_of(&moto, &key).into_iter().collect();
    let before = stored_chunks(&moto);
    assert_eq!(before, first, "the store holds the first snapshot's chunks");

    let run = a.run(&moto, "native", &rust_heavy_init(), &["--fresh"]);
    run.invoke_ok(b"{}");
    let pushed = log_line(&run, "pushed the snapshot to");
    eprintln!("second snapshot: {pushed}");
    let second: BTreeSet<String> = chunks_of(&moto, &key_in(&pushed)).into_iter().collect();
    // The chunks that changed: in the new snapshot, not in the old one.
    let changed: BTreeSet<String> = second.difference(&first).cloned().collect();
    let kept = second.len() - changed.len();
    assert!(kept > 0, "the two snapshots share no chunk: {pushed}");
    assert!(
        !changed.is_empty(),
        "the fresh snapshot is the old one: {pushed}"
    );
    // Exactly those were uploaded; the others were found in the store.
    assert_eq!(
        count_before(&pushed, "of"),
        changed.len() as u64,
        "{pushed}"
    );
    assert_eq!(
        count_before(&pushed, "already stored"),
        kept as u64,
        "{pushed}"
    );
    let after = stored_chunks(&moto);
    let written: BTreeSet<String> = after.difference(&before).cloned().collect();
    assert_eq!(
        written, changed,
        "the store gained other chunks than the changed ones"
    );
}

#[test]
fn corrupt_and_missing_chunks_are_refused_by_name_and_nothing_is_left() {
    let moto = Moto::start("hello");
    let a = Machine::new();
    let (key, _) = first_machine(&moto, &a);
    let chunks = chunks_of(&moto, &key);
    let (victim, gone) = (&chunks[0], &chunks[1]);
    // A chunk whose bytes are not what its name says: valid zstd of other
    // bytes, so only the hash can tell.
    boto(
        &moto,
        &format!(
            "s3.copy_object(Bucket=B, Key='backup', CopySource={{'Bucket': B, 'Key': P + '/chunks/{victim}'}})\n\
             other = s3.get_object(Bucket=B, Key=P + '/chunks/{gone}')['Body'].read()\n\
             s3.put_object(Bucket=B, Key=P + '/chunks/{victim}', Body=other)"
        ),
    );
    let b = Machine::new();
    let (ok, _, err) = b.snaprun_store(&moto, &["pull", &key, b.snapshot.to_str().unwrap()]);
    assert!(!ok, "a corrupt chunk was accepted");
    assert!(
        err.contains(&format!("chunk {victim} of memory.img"))
            && err.contains("is corrupt: fetched twice"),
        "{err}"
    );
    assert!(!b.snapshot.exists(), "a partial snapshot was left");
    assert!(
        b.cached_chunks().iter().all(|(name, _)| name != victim),
        "the bad chunk was cached"
    );
    // Garbage that is not zstd at all.
    boto(
        &moto,
        &format!("s3.put_object(Bucket=B, Key=P + '/chunks/{victim}', Body=b'garbage')"),
    );
    let (ok, _, err) = b.snaprun_store(&moto, &["pull", &key, b.snapshot.to_str().unwrap()]);
    assert!(!ok && err.contains("does not decompress"), "{err}");

    // A missing chunk (and the corrupt one mended).
    boto(
        &moto,
        &format!(
            "s3.copy_object(Bucket=B, Key=P + '/chunks/{victim}', CopySource={{'Bucket': B, 'Key': 'backup'}})"
        ),
    );
    boto(
        &moto,
        &format!("s3.delete_object(Bucket=B, Key=P + '/chunks/{gone}')"),
    );
    let c = Machine::new();
    let (ok, _, err) = c.snaprun_store(&moto, &["pull", &key, c.snapshot.to_str().unwrap()]);
    assert!(!ok, "a snapshot with a missing chunk was pulled");
    assert!(
        err.contains(&format!(
            "chunk {gone} of memory.img is missing from {STORE}"
        )),
        "{err}"
    );
    assert!(!c.snapshot.exists());
    let leftovers: Vec<_> = std::fs::read_dir(c.snapshot.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().contains("snap-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");

    // snaprun run falls back to init, says why, and serves.
    let run = c.run(&moto, "native", &rust_heavy_init(), &[]);
    run.invoke_ok(b"{}");
    let line = log_line(&run, "running init:");
    assert!(line.contains("is missing from"), "{line}");
}

#[test]
fn an_upload_that_stopped_before_its_manifest_holds_no_snapshot() {
    let moto = Moto::start("hello");
    let a = Machine::new();
    let (key, _) = first_machine(&moto, &a);
    // What an upload cut off before its commit leaves: chunks, no manifest.
    boto(
        &moto,
        &format!("s3.delete_object(Bucket=B, Key=P + '/snapshots/{key}/manifest.json')"),
    );
    assert!(!keys(&moto, "chunks/").is_empty());
    let b = Machine::new();
    let (ok, _, err) = b.snaprun_store(&moto, &["pull", &key, b.snapshot.to_str().unwrap()]);
    assert!(!ok && err.contains("has no snapshot"), "{err}");
    // A machine runs init and commits its own, reusing the chunks there.
    let run = b.run(&moto, "native", &rust_heavy_init(), &[]);
    run.invoke_ok(b"{}");
    log_line(&run, "has no snapshot of this function yet");
    let pushed = log_line(&run, "pushed the snapshot to");
    assert!(count_before(&pushed, "already stored") > 0, "{pushed}");
    // A manifest that is not one is refused by name.
    boto(
        &moto,
        &format!(
            "s3.put_object(Bucket=B, Key=P + '/snapshots/{key}/manifest.json', Body=b'{{\"format\": 1}}')"
        ),
    );
    let c = Machine::new();
    let (ok, _, err) = c.snaprun_store(&moto, &["pull", &key, c.snapshot.to_str().unwrap()]);
    assert!(
        !ok && err.contains(&format!(
            "fleet/snapshots/{key}/manifest.json in {STORE} cannot be used"
        )),
        "{err}"
    );
}

#[test]
fn a_forged_chunk_list_is_refused_and_replaces_nothing() {
    let moto = Moto::start("hello");
    let (a, b) = (Machine::new(), Machine::new());
    let (key, _) = first_machine(&moto, &a);
    // B holds the genuine snapshot already.
    let (ok, _, err) = b.snaprun_store(&moto, &["pull", &key, b.snapshot.to_str().unwrap()]);
    assert!(ok, "{err}");
    let genuine = image_of(&b.snapshot);
    // Two real chunks swapped: every chunk matches its name, the file does
    // not match the manifest's checksum.
    edit_manifest(
        &moto,
        &key,
        "c = m['chunks']\n\
         i = [n for n, d in enumerate(c) if d]\n\
         c[i[0]], c[i[1]] = c[i[1]], c[i[0]]",
    );
    let (ok, _, err) = b.snaprun_store(&moto, &["pull", &key, b.snapshot.to_str().unwrap()]);
    assert!(!ok, "a forged chunk list was accepted");
    assert!(
        err.contains("nothing was replaced") && err.contains("memory.img: checksum mismatch"),
        "{err}"
    );
    // The snapshot B had is still there, whole, and nothing else is.
    assert!(
        image_of(&b.snapshot) == genuine,
        "the snapshot B had changed"
    );
    let (ok, _, err) = common::run_snaprun(&["inspect", b.snapshot.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert_eq!(temporaries_beside(&b.snapshot), Vec::<String>::new());
}

#[test]
fn a_file_list_other_than_the_snapshot_manifests_is_refused_before_anything_is_fetched() {
    let moto = Moto::start("hello");
    let a = Machine::new();
    let (key, _) = first_machine(&moto, &a);
    // The last file claims another 4 GiB of zeros: 8192 more null chunks,
    // consistent within manifest.json, not with the manifest.snap it carries.
    edit_manifest(
        &moto,
        &key,
        "m['files'][-1]['size'] += 4 << 30\n\
         end = m['files'][-1]['offset'] + m['files'][-1]['size']\n\
         m['chunks'] += [None] * (-(-end // m['chunk_size']) - len(m['chunks']))",
    );
    let b = Machine::new();
    let (ok, _, err) = b.snaprun_store(&moto, &["pull", &key, b.snapshot.to_str().unwrap()]);
    assert!(!ok, "a file list other than the snapshot's was accepted");
    let size = std::fs::metadata(a.snapshot.join("payload/memory.img"))
        .unwrap()
        .len();
    assert!(
        err.contains(&format!(
            "its files are not the snapshot manifest's: it lists memory.img of {} bytes, \
             where the snapshot manifest lists memory.img of {size} bytes",
            size + (4 << 30)
        )),
        "{err}"
    );
    assert!(b.cached_chunks().is_empty(), "chunks were fetched first");
    assert!(!b.snapshot.exists());
    assert_eq!(temporaries_beside(&b.snapshot), Vec::<String>::new());
}

#[test]
fn eviction_keeps_the_cache_in_its_budget_while_instances_run() {
    let moto = Moto::start("hello");
    let a = Machine::new();
    let (_key, on_a) = first_machine(&moto, &a);
    let b = Machine::new();
    // A 1 MiB budget: two of the snapshot's chunks.
    let run = b.run(
        &moto,
        "native",
        &rust_heavy_init(),
        &["--cache-mib", "1", "--concurrency", "2"],
    );
    for n in 1..=20 {
        let answer = run.invoke_ok(format!("{{\"nth\":{n}}}").as_bytes());
        assert_eq!(answer["primes"], on_a["primes"]);
    }
    log_line(&run, "pulled the snapshot from");
    let held: u64 = b.cached_chunks().iter().map(|(_, len)| len).sum();
    assert!(held <= 1 << 20, "the cache holds {held} bytes");
    assert!(!b.cached_chunks().is_empty(), "eviction emptied the cache");
    // The instances map the pulled snapshot, not the cache: restores go on.
    std::fs::remove_dir_all(&b.cache).unwrap();
    for n in 21..=30 {
        run.invoke_ok(format!("{{\"nth\":{n}}}").as_bytes());
    }
}

#[test]
fn concurrent_pulls_on_one_machine_fetch_each_chunk_once() {
    let moto = Moto::start("hello");
    let a = Machine::new();
    let (key, _) = first_machine(&moto, &a);
    let b = Machine::new();
    let dirs: Vec<PathBuf> = (0..3)
        .map(|n| b.cache.with_file_name(format!("pull{n}")))
        .collect();
    let pulls: Vec<_> = dirs
        .iter()
        .map(|dir| {
            b.snaprun(&moto)
                .args(["pull", &key, dir.to_str().unwrap()])
                .args(["--chunk-cache", b.cache.to_str().unwrap(), "--store", STORE])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut fetched = 0;
    let mut distinct = 0;
    for pull in pulls {
        let out = pull.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        fetched += count_before(&err, "fetched");
        distinct = count_before(&err, "fetched") + count_before(&err, "from the cache");
    }
    assert_eq!(fetched, distinct, "chunks fetched more than once");
    for dir in &dirs {
        assert_eq!(
            std::fs::read(dir.join("payload/memory.img")).unwrap(),
            std::fs::read(a.snapshot.join("payload/memory.img")).unwrap()
        );
    }
}

#[test]
fn two_machines_pushing_at_once_end_up_serving_one_snapshot() {
    let moto = Moto::start("hello");
    let (a, b) = (Machine::new(), Machine::new());
    let runs = [
        a.run(&moto, "native", &rust_heavy_init(), &[]),
        b.run(&moto, "native", &rust_heavy_init(), &[]),
    ];
    let answers: Vec<_> = std::thread::scope(|s| {
        let handles: Vec<_> = runs
            .iter()
            .map(|run| s.spawn(|| run.invoke_ok(b"{}")))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let said: Vec<String> = runs
        .iter()
        .map(|run| {
            let settled = eventually(Duration::from_secs(30), || {
                let logs = run.logs().join("\n");
                logs.contains("pushed the snapshot to")
                    || logs.contains("committed first by another machine")
                    || logs.contains("pulled the snapshot from")
            });
            let logs = run.logs().join("\n");
            assert!(
                settled,
                "a machine neither pushed nor took the other's snapshot:\n{logs}"
            );
            logs
        })
        .collect();
    let winners = said
        .iter()
        .filter(|l| l.contains("pushed the snapshot to"))
        .count();
    assert_eq!(winners, 1, "{said:#?}");
    // The other machine serves the winner's snapshot: both restore the same
    // init, and their directories hold the same manifest.
    assert_eq!(
        std::fs::read(a.snapshot.join("manifest.snap")).unwrap(),
        std::fs::read(b.snapshot.join("manifest.snap")).unwrap()
    );
    let later: Vec<_> = runs.iter().map(|run| run.invoke_ok(b"{}")).collect();
    assert_eq!(
        later[0]["init_ms"], later[1]["init_ms"],
        "{later:?} after {answers:?}"
    );
}

#[test]
fn a_store_that_is_down_is_named_and_the_cache_serves_what_it_holds() {
    let mut moto = Moto::start("hello");
    let (a, b) = (Machine::new(), Machine::new());
    let (key, _) = first_machine(&moto, &a);
    // B pulls once, so its cache holds the manifest and every chunk.
    let (ok, _, err) = b.snaprun_store(&moto, &["pull", &key, b.snapshot.to_str().unwrap()]);
    assert!(ok, "{err}");
    std::fs::remove_dir_all(&b.snapshot).unwrap();
    let endpoint = moto.endpoint.clone();
    moto.stop();

    // An empty cache: a clear error, soon.
    let c = Machine::new();
    let started = Instant::now();
    let (ok, _, err) = c.snaprun_store(&moto, &["pull", &key, c.snapshot.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "GET fleet/snapshots/{key}/manifest.json in {STORE} failed (endpoint {endpoint})"
        )),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    assert!(!c.snapshot.exists());
    // B's cache still serves.
    let (ok, _, err) = b.snaprun_store(&moto, &["pull", &key, b.snapshot.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        err.contains("the store was unreachable, and the cache served"),
        "{err}"
    );
    // And snaprun run with an empty cache runs init, says why, and serves.
    let run = c.run(&moto, "native", &rust_heavy_init(), &[]);
    run.invoke_ok(b"{}");
    let line = log_line(&run, "running init:");
    assert!(line.contains(&endpoint), "{line}");
    log_line(&run, "the snapshot serves from here only");
}

#[test]
fn a_bad_store_address_is_refused_before_anything_runs() {
    let (ok, _, err) = common::run_snaprun(&[
        "run",
        "--store",
        "/srv/snaps",
        "--",
        rust_heavy_init().to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(
        err.contains("\"/srv/snaps\" is not a store address: only s3:// stores are supported"),
        "{err}"
    );
    let (ok, _, err) = common::run_snaprun(&["push", "/nonexistent"]);
    assert!(!ok && err.contains("snaprun push needs --store"), "{err}");
}

#[test]
fn criu_snapshots_travel_through_the_store_too() {
    if common::criu_engine().is_none() {
        return;
    }
    let moto = Moto::start("hello");
    let (a, b) = (Machine::new(), Machine::new());
    let bootstrap = common::rust_hello();
    let on_a = {
        let run = a.run(&moto, "criu", &bootstrap, &[]);
        let answer = run.invoke_ok(br#"{"name":"a"}"#);
        log_line(&run, "pushed the snapshot to");
        answer
    };
    let run = b.run(&moto, "criu", &bootstrap, &[]);
    let on_b = run.invoke_ok(br#"{"name":"b"}"#);
    let pulled = log_line(&run, "pulled the snapshot from");
    assert!(count_before(&pulled, "fetched") > 0, "{pulled}");
    assert!(!run.logs().join("\n").contains("running init"));
    // B restored A's process: A's init, reseeded after its own restore.
    assert_eq!(on_b["init_nonce"], on_a["init_nonce"], "{on_a} {on_b}");
    assert_eq!(on_b["init_summary"], on_a["init_summary"]);
    assert_ne!(on_b["restore_nonce"], on_a["restore_nonce"]);
    assert_eq!(
        std::fs::read(a.snapshot.join("manifest.snap")).unwrap(),
        std::fs::read(b.snapshot.join("manifest.snap")).unwrap()
    );
}

#[test]
fn signed_and_encrypted_snapshots_travel_as_they_are_and_open_only_with_their_keys() {
    let moto = Moto::start("hello");
    let (a, b, c) = (Machine::new(), Machine::new(), Machine::new());
    let keys = tempfile::tempdir().unwrap();
    let (sign, seal, other) = (
        keys.path().join("sign"),
        keys.path().join("seal"),
        keys.path().join("other"),
    );
    std::fs::write(&sign, [1u8; 32]).unwrap();
    std::fs::write(&seal, [2u8; 32]).unwrap();
    std::fs::write(&other, [3u8; 32]).unwrap();
    let with_keys = |machine: &Machine, signing: &Path| {
        let mut command = machine.snaprun(&moto);
        command.args([
            "--signing-key",
            signing.to_str().unwrap(),
            "--encrypt-key",
            seal.to_str().unwrap(),
        ]);
        command
    };
    let bootstrap = rust_heavy_init();
    let (on_a, key) = {
        let run = a.run_as(with_keys(&a, &sign), "native", &bootstrap, &[]);
        let answer = run.invoke_ok(b"{}");
        // The store gets the ciphertext: the plain image's chunks of zeros
        // are gone.
        let pushed = log_line(&run, "pushed the snapshot to");
        assert_eq!(count_before(&pushed, "all zeros"), 0, "{pushed}");
        let key = key_in(&pushed);
        // The working set names the sealed chunks of the pages touched.
        let (chunks, pages) = working_set_of(&moto, &key);
        assert!(!chunks.is_empty() && pages > 0, "{chunks:?}, {pages} pages");
        (answer, key)
    };
    // B has both keys: it pulls, opens and restores A's snapshot.
    let run = b.run_as(with_keys(&b, &sign), "native", &bootstrap, &[]);
    let on_b = run.invoke_ok(b"{}");
    log_line(&run, "pulled the snapshot from");
    assert_eq!(on_b["init_ms"], on_a["init_ms"]);
    drop(run);
    // C signs with another key: the store's snapshot is refused before any
    // chunk is fetched, and C runs init instead of trusting it.
    let run = c.run_as(with_keys(&c, &other), "native", &bootstrap, &[]);
    run.invoke_ok(b"{}");
    let line = log_line(&run, "running init:");
    assert!(line.contains("the signature does not match"), "{line}");
    assert!(c.cached_chunks().is_empty(), "C fetched chunks");
    // Its push loses to A's manifest, whose snapshot it cannot use: it
    // keeps its own, and goes on serving from it.
    log_line(&run, "which cannot be used here; keeping this machine's");
    for _ in 0..3 {
        run.invoke_ok(b"{}");
    }
    drop(run);
    // D has the signing key and not the encryption key: refused before
    // any chunk is fetched too.
    let d = Machine::new();
    let (ok, _, err) = d.snaprun_store(
        &moto,
        &[
            "--signing-key",
            sign.to_str().unwrap(),
            "pull",
            &key,
            d.snapshot.to_str().unwrap(),
        ],
    );
    assert!(
        !ok && err.contains("the snapshot is encrypted; give its key"),
        "{err}"
    );
    assert!(d.cached_chunks().is_empty(), "D fetched chunks");
    assert!(!d.snapshot.exists());
}

#[test]
fn checkpoint_pushes_a_process_tree_that_another_machine_pulls_and_restores() {
    if common::criu_engine().is_none() {
        return;
    }
    let moto = Moto::start("hello");
    let (a, b) = (Machine::new(), Machine::new());
    let mut cleanup = common::Cleanup::default();
    let out = a.snapshot.with_file_name("counter.out");
    let (ok, stdout, stderr) = common::run_snaprun(&[
        "spawn",
        "--stdout",
        out.to_str().unwrap(),
        "--",
        // A process of another language than the CLI tests' shell loops.
        "python3",
        "-u",
        "-c",
        "import itertools, time\nfor i in itertools.count(1):\n    print(i)\n    time.sleep(0.05)",
    ]);
    assert!(ok, "{stderr}");
    let pid: i32 = stdout.trim().parse().unwrap();
    cleanup.pids.push(pid);
    let count = || -> Vec<u64> {
        std::fs::read_to_string(&out)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.parse().ok())
            .collect()
    };
    assert!(eventually(Duration::from_secs(10), || count().len() >= 3));
    let (ok, stdout, stderr) = a.snaprun_store(
        &moto,
        &[
            "checkpoint",
            "--pid",
            &pid.to_string(),
            "--snapshot-dir",
            a.snapshot.to_str().unwrap(),
        ],
    );
    assert!(ok, "{stderr}");
    let key = stdout.lines().last().unwrap().to_owned();
    assert!(key.parse::<snap::Sha256Digest>().is_ok(), "{stdout}");
    let last = *count().last().unwrap();

    let (ok, _, stderr) = b.snaprun_store(&moto, &["pull", &key, b.snapshot.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    let (ok, stdout, stderr) =
        common::run_snaprun(&["restore", "--snapshot-dir", b.snapshot.to_str().unwrap()]);
    assert!(ok, "{stderr}");
    cleanup
        .pids
        .extend(stdout.lines().map(|l| l.parse::<i32>().unwrap()));
    // The copy continues the count where the checkpoint left it.
    assert!(
        eventually(Duration::from_secs(20), || count().contains(&(last + 2))),
        "no copy counted on from {last}: {:?}",
        count()
    );
    let values = count();
    assert!(
        (1..=last).all(|v| values.iter().filter(|w| **w == v).count() == 1),
        "the copy started over: {values:?}"
    );
}

#[test]
fn a_pull_killed_at_any_point_leaves_a_whole_snapshot_or_none_and_a_sound_cache() {
    let moto = Moto::start("hello");
    let (a, b) = (Machine::new(), Machine::new());
    let (key, _) = first_machine(&moto, &a);
    let mut hits = 0;
    for delay_ms in [5u64, 20, 40, 80, 120, 200] {
        let mut pull = b
            .snaprun(&moto)
            .args(["pull", &key, b.snapshot.to_str().unwrap()])
            .args(["--chunk-cache", b.cache.to_str().unwrap(), "--store", STORE])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(delay_ms));
        if pull.try_wait().unwrap().is_none() {
            hits += 1;
        }
        let _ = pull.kill();
        let _ = pull.wait();
        // Whole or absent.
        if b.snapshot.exists() {
            let (ok, _, err) = common::run_snaprun(&["inspect", b.snapshot.to_str().unwrap()]);
            assert!(ok, "after a kill at {delay_ms} ms: {err}");
        }
        // Every cached chunk is the chunk its name says.
        for (name, _) in b.cached_chunks() {
            let bytes = std::fs::read(b.cache.join(&name)).unwrap();
            assert_eq!(snap::Sha256Digest::of(&bytes).to_string(), name);
        }
        let _ = std::fs::remove_dir_all(&b.snapshot);
        // What earlier pulls cached makes the next one quicker: drop the
        // cache now and then, so that later kills land in fetches again.
        if delay_ms % 40 == 0 {
            let _ = std::fs::remove_dir_all(&b.cache);
        }
    }
    assert!(hits >= 3, "only {hits} kills landed mid-pull");
    let (ok, _, err) = b.snaprun_store(&moto, &["pull", &key, b.snapshot.to_str().unwrap()]);
    assert!(ok, "{err}");
    let leftovers = temporaries_beside(&b.snapshot);
    assert!(leftovers.is_empty(), "{leftovers:?}");
    let temporaries: Vec<_> = std::fs::read_dir(&b.cache)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-"))
        .collect();
    assert!(temporaries.is_empty(), "{temporaries:?}");
}

#[test]
fn the_default_chunk_cache_is_on_disk_under_the_users_cache_home_and_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let moto = Moto::start("hello");
    let (a, b) = (Machine::new(), Machine::new());
    let (key, _) = first_machine(&moto, &a);
    let home = tempfile::tempdir().unwrap();
    let out = b
        .snaprun(&moto)
        .env("HOME", home.path())
        .env_remove("XDG_CACHE_HOME")
        .args(["pull", &key, b.snapshot.to_str().unwrap(), "--store", STORE])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cache = home.path().join(".cache/snaprun/chunks");
    let chunks = std::fs::read_dir(&cache)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().len() == 64)
        .count();
    assert!(chunks > 0, "nothing cached in {}", cache.display());
    for dir in [home.path().join(".cache/snaprun"), cache] {
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700, "{}", dir.display());
    }
}

#[test]
fn a_chunk_cache_that_cannot_be_made_is_named_and_nothing_is_pulled() {
    let moto = Moto::start("hello");
    let b = Machine::new();
    let not_a_dir = b.cache.with_file_name("a-file");
    std::fs::write(&not_a_dir, b"not a directory").unwrap();
    let out = b
        .snaprun(&moto)
        .args(["pull", &"0".repeat(64), b.snapshot.to_str().unwrap()])
        .args([
            "--store",
            STORE,
            "--chunk-cache",
            not_a_dir.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains(&format!(
            "cannot open the chunk cache {}",
            not_a_dir.display()
        )),
        "{err}"
    );
    assert!(!b.snapshot.exists());
    assert_eq!(std::fs::read(&not_a_dir).unwrap(), b"not a directory");
    let (ok, _, err) = common::run_snaprun(&[
        "pull",
        &"0".repeat(64),
        "/x",
        "--store",
        STORE,
        "--cache-mib",
        "lots",
    ]);
    assert!(
        !ok && err.contains("invalid value 'lots' for '--cache-mib <MIB>'"),
        "{err}"
    );
}

#[test]
fn an_object_larger_than_its_bound_is_refused_by_name_before_its_body_is_read() {
    let moto = Moto::start("hello");
    let (a, b) = (Machine::new(), Machine::new());
    let (key, _) = first_machine(&moto, &a);
    // A chunk of 512 KiB can take at most zstd's bound for it compressed;
    // the store serves 4 MiB under its name.
    let victim = &chunks_of(&moto, &key)[0];
    boto(
        &moto,
        &format!("s3.put_object(Bucket=B, Key=P + '/chunks/{victim}', Body=bytes(4 << 20))"),
    );
    let (ok, _, err) = b.snaprun_store(&moto, &["pull", &key, b.snapshot.to_str().unwrap()]);
    assert!(!ok, "an oversized chunk was accepted");
    let bound = snaprun::store::CHUNK_SIZE + snaprun::store::CHUNK_SIZE / 256;
    assert!(
        err.contains(&format!(
            "fleet/chunks/{victim} in {STORE} is over its bound of "
        )) && err.contains("(the most a chunk of 524288 bytes takes compressed)"),
        "{err}"
    );
    // Refused from the size the store announced: not a byte of the body
    // was taken, where a whole read would have taken 4 MiB.
    let received = count_before(&err, "bytes of it");
    assert_eq!(received, 0, "{err}");
    // ZSTD_compressBound(512 KiB).
    assert_eq!(count_before(&err, "bytes (the most"), bound, "{err}");
    assert!(!b.snapshot.exists());
    assert!(b.cached_chunks().iter().all(|(name, _)| name != victim));

    // A manifest over 32 MiB, likewise.
    boto(
        &moto,
        &format!(
            "s3.put_object(Bucket=B, Key=P + '/snapshots/{key}/manifest.json', Body=bytes((32 << 20) + 1))"
        ),
    );
    let (ok, _, err) = b.snaprun_store(&moto, &["pull", &key, b.snapshot.to_str().unwrap()]);
    assert!(!ok, "an oversized manifest was accepted");
    assert!(
        err.contains(&format!(
            "fleet/snapshots/{key}/manifest.json in {STORE} is over its bound of 33554432 bytes \
             (the most a store manifest may be); refused after receiving 0 bytes of it"
        )),
        "{err}"
    );
    assert!(!b.snapshot.exists());
}

/// A server on loopback that accepts every connection and never answers,
/// until it is dropped.
struct Stall {
    endpoint: String,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Stall {
    fn start() -> Self {
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let thread = {
            let (accepted, stop) = (accepted.clone(), stop.clone());
            std::thread::spawn(move || {
                // Held open, unread and unanswered, until the test ends.
                let mut held = Vec::new();
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    if let Ok(stream) = stream {
                        accepted.fetch_add(1, Ordering::SeqCst);
                        held.push(stream);
                    }
                }
            })
        };
        Self {
            endpoint: format!("http://{addr}"),
            accepted,
            stop,
            thread: Some(thread),
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
    }
}

impl Drop for Stall {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        // Wakes the accept loop, which then sees the flag.
        let addr = self.endpoint.trim_start_matches("http://");
        let _ = std::net::TcpStream::connect(addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[test]
fn a_store_that_accepts_and_never_answers_fails_within_the_deadline_and_run_runs_init() {
    let stall = Stall::start();
    let a = Machine::new();
    let key = "0".repeat(64);
    let started = Instant::now();
    let (ok, _, err) = a.snaprun_store_at(
        &stall.endpoint,
        &["pull", &key, a.snapshot.to_str().unwrap()],
    );
    let took = started.elapsed();
    assert!(!ok, "{err}");
    assert!(
        err.contains(&format!(
            "GET fleet/snapshots/{key}/manifest.json in {STORE} did not finish within 15 s \
             (endpoint {}): the store stalled or is too slow",
            stall.endpoint
        )),
        "{err}"
    );
    // The real default: 15 s, where the client alone took 120 s.
    assert!(took < Duration::from_secs(25), "took {took:?}: {err}");
    assert!(stall.accepted() > 0, "the request never reached the server");
    assert!(!a.snapshot.exists());

    // snaprun run: the pull gives up, init runs, the push gives up, and
    // the function serves from this machine's snapshot.
    let run = a.run_as(
        a.snaprun_at(&stall.endpoint),
        "native",
        &rust_heavy_init(),
        &[],
    );
    let answer = run.invoke_ok(br#"{"nth":100}"#);
    assert!(answer["nth_prime"].is_number(), "{answer}");
    let line = log_line(&run, "running init:");
    assert!(
        line.contains("did not finish within 15 s") && line.contains(&stall.endpoint),
        "{line}"
    );
    let line = log_line(&run, "the snapshot serves from here only");
    assert!(line.contains("did not finish within 15 s"), "{line}");
    run.invoke_ok(b"{}");
}
