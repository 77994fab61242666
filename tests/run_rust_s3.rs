//! The rust-s3 demo (the AWS SDK for Rust, `aws-sdk-s3`) reading a real
//! object from a real S3-compatible server (`moto_server`) on 127.0.0.1:
//! the plain bootstrap unchanged under `--engine none` and `--engine criu`,
//! and its native variant (`snap::tokio::run`,
//! `snap_hooks::aws::fresh_credentials`) restored by the native engine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Moto, RunningFunction};
use serde_json::Value;

const TEXT: &str = "hello from a real S3-compatible server, read by Rust\n";

/// The demo's two bootstraps (plain, native), once moto is there.
fn prerequisites() -> Option<(PathBuf, PathBuf)> {
    if let Some(problem) = common::moto_missing() {
        if std::env::var("SNAP_REQUIRE_CRIU").is_ok_and(|v| v == "1") {
            panic!("{problem}");
        }
        eprintln!("SKIPPED: {problem} (scripts/test.sh installs it)");
        return None;
    }
    let plain = common::rust_s3();
    let native = plain.with_file_name("bootstrap-native");
    Some((plain, native))
}

/// `snaprun run FLAGS` on `bootstrap`, pointed at `moto`.
fn start(moto: &Moto, flags: &[&str], bootstrap: &Path) -> RunningFunction {
    let mut args: Vec<String> = flags.iter().map(|f| (*f).to_owned()).collect();
    args.extend(moto.function_env());
    args.extend(["--".to_owned(), bootstrap.display().to_string()]);
    RunningFunction::start(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Invokes `run` `n` times in a row; every answer is the object.
fn reads_the_object(run: &RunningFunction, n: usize) {
    for i in 0..n {
        let (status, failed, body) = run.invoke(b"{}");
        assert_eq!((status, failed), (200, false), "invocation {i}: {body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["body"], TEXT, "{body}");
        assert_eq!(v["bytes"], TEXT.len(), "{body}");
    }
}

/// Eight requests at once on two instances, each the object; the pids that
/// served them.
fn reads_it_concurrently(run: &RunningFunction) -> HashSet<u64> {
    let answers = run.invoke_concurrently(8, 4, |_| "{}".to_owned());
    assert_eq!(answers.len(), 32);
    assert!(
        answers.iter().all(|(_, v)| v["body"] == TEXT),
        "{answers:?}"
    );
    answers
        .iter()
        .map(|(_, v)| v["pid"].as_u64().unwrap())
        .collect()
}

/// A missing object is the handler's error, named, returned to the invoker.
fn a_missing_key_is_the_functions_error(run: &RunningFunction) {
    let (status, failed, body) = run.invoke(br#"{"key":"no-such-key.txt"}"#);
    assert_eq!((status, failed), (200, true), "{body}");
    assert!(
        body.contains("s3://snap-demo/no-such-key.txt") && body.contains("NoSuchKey"),
        "{body}"
    );
}

#[test]
fn rust_s3_reads_the_object_cold() {
    let Some((plain, _)) = prerequisites() else {
        return;
    };
    let moto = Moto::start(TEXT);
    let run = start(&moto, &["--engine", "none", "--concurrency", "2"], &plain);
    reads_the_object(&run, 20);
    assert_eq!(reads_it_concurrently(&run).len(), 2);
    a_missing_key_is_the_functions_error(&run);
}

#[test]
fn rust_s3_unchanged_restores_from_a_criu_snapshot() {
    let Some((plain, _)) = prerequisites() else {
        return;
    };
    if common::criu_engine().is_none() {
        return;
    }
    let moto = Moto::start(TEXT);
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = tmp.path().join("snap");
    let forward = moto.endpoint.trim_start_matches("http://").to_owned();
    let run = start(
        &moto,
        &[
            "--engine",
            "criu",
            "--snapshot-dir",
            snapshot.to_str().unwrap(),
            "--forward",
            &forward,
            "--concurrency",
            "2",
        ],
        &plain,
    );
    // The client and its pooled connection to moto, made at init, were
    // checkpointed; each restored instance reads through them. (Each
    // restored instance has the snapshot's pid, in a namespace of its own.)
    reads_the_object(&run, 20);
    reads_it_concurrently(&run);
    a_missing_key_is_the_functions_error(&run);
    let logs = run.logs();
    assert!(
        logs.iter()
            .any(|l| l.contains("REPORT RequestId: ") && l.contains("\tRestore Duration: ")),
        "served by restored instances: {logs:#?}"
    );
}

#[test]
fn rust_s3_native_variant_restores_natively() {
    let Some((_, native)) = prerequisites() else {
        return;
    };
    let moto = Moto::start(TEXT);
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = tmp.path().join("snap");
    let run = start(
        &moto,
        &[
            "--engine",
            "native",
            "--snapshot-dir",
            snapshot.to_str().unwrap(),
            "--concurrency",
            "2",
        ],
        &native,
    );
    reads_the_object(&run, 20);
    assert_eq!(reads_it_concurrently(&run).len(), 2);
    a_missing_key_is_the_functions_error(&run);
    let logs = run.logs();
    let restored = logs
        .iter()
        .filter(|l| l.contains("REPORT RequestId: ") && l.contains("\tRestore Duration: "))
        .count();
    assert_eq!(restored, 2, "both instances were restored: {logs:#?}");
    assert!(
        logs.iter()
            .any(|l| l.starts_with("snaprun: native snapshot written to")),
        "{logs:#?}"
    );
}

/// Temporary credentials of a role moto knows, as JSON in the shape an
/// AWS container credentials endpoint serves.
struct RoleCredentials {
    json: String,
}

/// With moto checking auth after the seeding (2 requests) and these 6:
/// two roles (`fn-a`, `fn-b`) allowed everything, and a session of each.
fn two_role_sessions(moto: &Moto) -> (RoleCredentials, RoleCredentials) {
    let script = format!(
        r#"
import boto3, json
kw = dict(endpoint_url='{endpoint}', region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')
iam = boto3.client('iam', **kw)
sts = boto3.client('sts', **kw)
trust = json.dumps({{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Principal": {{"AWS": "*"}}, "Action": "sts:AssumeRole"}}]}})
allow = json.dumps({{"Version": "2012-10-17", "Statement": [{{"Effect": "Allow", "Action": "*", "Resource": "*"}}]}})
for r in ['a', 'b']:
    iam.create_role(RoleName='fn-' + r, AssumeRolePolicyDocument=trust)
    iam.put_role_policy(RoleName='fn-' + r, PolicyName='all', PolicyDocument=allow)
for r in ['a', 'b']:
    c = sts.assume_role(RoleArn='arn:aws:iam::123456789012:role/fn-' + r, RoleSessionName='snap-' + r)['Credentials']
    print(json.dumps({{'AccessKeyId': c['AccessKeyId'], 'SecretAccessKey': c['SecretAccessKey'], 'Token': c['SessionToken'], 'Expiration': c['Expiration'].strftime('%Y-%m-%dT%H:%M:%SZ')}}))
"#,
        endpoint = moto.endpoint
    );
    let out = Command::new("python3")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "setting up roles in moto: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines().map(|l| RoleCredentials { json: l.to_owned() });
    (lines.next().unwrap(), lines.next().unwrap())
}

/// Takes every permission from role `fn-a`, acting as `as_role`.
fn revoke_role_a(moto: &Moto, as_role: &RoleCredentials) {
    let c: Value = serde_json::from_str(&as_role.json).unwrap();
    let script = format!(
        "import boto3\n\
         iam = boto3.client('iam', endpoint_url='{}', region_name='us-east-1', aws_access_key_id={:?}, aws_secret_access_key={:?}, aws_session_token={:?})\n\
         iam.delete_role_policy(RoleName='fn-a', PolicyName='all')\n",
        moto.endpoint,
        c["AccessKeyId"].as_str().unwrap(),
        c["SecretAccessKey"].as_str().unwrap(),
        c["Token"].as_str().unwrap(),
    );
    let status = Command::new("python3")
        .args(["-c", &script])
        .status()
        .unwrap();
    assert!(status.success(), "revoking role fn-a in moto");
}

/// An AWS container credentials endpoint on 127.0.0.1 (what
/// `AWS_CONTAINER_CREDENTIALS_FULL_URI` names): it serves whichever role's
/// credentials it holds now, and counts the requests.
struct CredentialsEndpoint {
    uri: String,
    current: std::sync::Arc<std::sync::Mutex<String>>,
    served: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl CredentialsEndpoint {
    fn start(first: &RoleCredentials) -> Self {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let uri = format!("http://{}/credentials", listener.local_addr().unwrap());
        let current = std::sync::Arc::new(std::sync::Mutex::new(first.json.clone()));
        let served = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (json, count) = (current.clone(), served.clone());
        // Ends with the test process; it holds nothing else.
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
                    if line == "\r\n" {
                        break;
                    }
                    line.clear();
                }
                let body = json.lock().unwrap().clone();
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        Self {
            uri,
            current,
            served,
        }
    }

    fn serve(&self, role: &RoleCredentials) {
        *self.current.lock().unwrap() = role.json.clone();
    }

    fn served(&self) -> usize {
        self.served.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// The native variant restored after its credentials changed: role `fn-a`
/// at init, `fn-b` afterwards with `fn-a` stripped of its rights, as a
/// restored Lambda instance gets a new session. With `stale`, the client is
/// built from the config as it crossed the snapshot (no
/// `fresh_credentials`). Returns the first invocation's answer, and how
/// often the endpoint was asked for credentials before it.
fn restored_after_a_credential_change(
    native: &Path,
    stale: bool,
) -> ((u16, bool, String), usize, usize) {
    let moto = Moto::start_checking_auth_after(8, TEXT);
    let (a, b) = two_role_sessions(&moto);
    let endpoint = CredentialsEndpoint::start(&a);
    let tmp = tempfile::tempdir().unwrap();
    let snapshot = tmp.path().join("snap");
    let mut snaprun = common::snaprun();
    // The chain must reach the endpoint: no credentials from snaprun's own
    // environment.
    for name in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
    ] {
        snaprun.env_remove(name);
    }
    let endpoint_env = format!("AWS_CONTAINER_CREDENTIALS_FULL_URI={}", endpoint.uri);
    let s3_env = format!("S3_ENDPOINT={}", moto.endpoint);
    let mut args = vec![
        "--engine",
        "native",
        "--snapshot-dir",
        snapshot.to_str().unwrap(),
        "--env",
        &endpoint_env,
        "--env",
        &s3_env,
    ];
    if stale {
        args.extend(["--env", "RUST_S3_STALE_CREDENTIALS=1"]);
    }
    args.extend(["--", native.to_str().unwrap()]);
    let run = RunningFunction::start_command(snaprun, &args);
    run.wait_for_log("snaprun: native snapshot written to", 1);
    let at_init = endpoint.served();
    // The restoring environment's credentials are another role's, and the
    // first role's are no good any more.
    endpoint.serve(&b);
    revoke_role_a(&moto, &b);
    let answer = run.invoke(b"{}");
    (answer, at_init, endpoint.served())
}

#[test]
fn a_restored_native_instance_signs_with_the_credentials_of_its_environment() {
    let Some((_, native)) = prerequisites() else {
        return;
    };
    let ((status, failed, body), at_init, after) =
        restored_after_a_credential_change(&native, false);
    // Init's first request resolved role fn-a's credentials...
    assert_eq!(at_init, 1, "{body}");
    // ...and the restored instance resolved fn-b's, and read the object
    // with them.
    assert_eq!((status, failed), (200, false), "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["body"], TEXT, "{body}");
    assert_eq!(after, 2, "{body}");
}

#[test]
fn a_client_built_from_the_carried_config_fails_clearly_with_inits_credentials() {
    let Some((_, native)) = prerequisites() else {
        return;
    };
    let ((status, failed, body), at_init, after) =
        restored_after_a_credential_change(&native, true);
    assert_eq!(at_init, 1, "{body}");
    // It signed with init's cached credentials, never asking again, and
    // S3 said no: an error the invoker reads, not a hang.
    assert_eq!(after, 1, "{body}");
    assert_eq!((status, failed), (200, true), "{body}");
    assert!(
        body.contains("GetObject s3://snap-demo/hello.txt") && body.contains("AccessDenied"),
        "{body}"
    );
}
