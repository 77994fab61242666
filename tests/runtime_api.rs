//! The Runtime API, spoken to with a raw HTTP client as a bootstrap would:
//! every endpoint's success and error paths.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use snaprun::runtime::{
    BootstrapState, FunctionConfig, MAX_PAYLOAD, Outcome, RuntimeApi, SnapStart, routes,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const BASE: &str = "/2018-06-01/runtime";

async fn start(snapstart: SnapStart) -> (Arc<RuntimeApi>, SocketAddr) {
    let config = FunctionConfig {
        name: "probe".into(),
        memory_mb: 128,
        handler: "index.handler".into(),
        timeout: Duration::from_secs(30),
    };
    let api = Arc::new(RuntimeApi::new(config, snapstart));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let served = Arc::clone(&api);
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(routes::serve(Arc::clone(&served), stream));
        }
    });
    (api, addr)
}

struct Answer {
    status: u16,
    head: String,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<String> {
        self.head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }
}

/// One request on a fresh connection, with `Connection: close`.
async fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Answer {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("transfer-encoding"))
    {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    Answer {
        status: head.split_whitespace().nth(1).unwrap().parse().unwrap(),
        head: head.to_owned(),
        body: body.to_owned(),
    }
}

async fn get(addr: SocketAddr, path: &str) -> Answer {
    http(addr, "GET", &format!("{BASE}{path}"), &[], b"").await
}

async fn post(addr: SocketAddr, path: &str, body: &[u8]) -> Answer {
    http(addr, "POST", &format!("{BASE}{path}"), &[], body).await
}

fn error_type(answer: &Answer) -> String {
    let v: serde_json::Value = serde_json::from_str(&answer.body).unwrap();
    v["errorType"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn next_then_response_delivers_the_event_and_the_result() {
    let (api, addr) = start(SnapStart::Off).await;
    let next = tokio::spawn(get(addr, "/invocation/next"));
    let (id, outcome) = api.invoke(Bytes::from_static(b"{\"n\":1}")).await.unwrap();
    let next = next.await.unwrap();
    assert_eq!(next.status, 200);
    assert_eq!(next.body, "{\"n\":1}");
    assert_eq!(next.header("lambda-runtime-aws-request-id").unwrap(), id);
    let deadline: u64 = next
        .header("lambda-runtime-deadline-ms")
        .unwrap()
        .parse()
        .unwrap();
    assert!(deadline > 1_700_000_000_000);
    assert!(
        next.header("lambda-runtime-invoked-function-arn")
            .unwrap()
            .ends_with(":function:probe")
    );
    assert!(
        next.header("lambda-runtime-trace-id")
            .unwrap()
            .starts_with("Root=1-")
    );
    assert_eq!(*api.state().borrow(), BootstrapState::Invoking(id.clone()));

    let answer = post(
        addr,
        &format!("/invocation/{id}/response"),
        b"{\"ok\":true}",
    )
    .await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (202, "{\"status\":\"OK\"}")
    );
    assert_eq!(
        outcome.await.unwrap(),
        Outcome::Response(Bytes::from_static(b"{\"ok\":true}"))
    );
    // Answered once: a second response for the same id is refused.
    assert_eq!(
        post(addr, &format!("/invocation/{id}/response"), b"again")
            .await
            .status,
        403
    );
}

#[tokio::test]
async fn a_wrong_request_id_is_400_and_the_invocation_stays_open() {
    let (api, addr) = start(SnapStart::Off).await;
    let next = tokio::spawn(get(addr, "/invocation/next"));
    let (id, outcome) = api.invoke(Bytes::from_static(b"{}")).await.unwrap();
    next.await.unwrap();
    let answer = post(addr, "/invocation/not-the-id/response", b"{}").await;
    assert_eq!(answer.status, 400);
    assert_eq!(error_type(&answer), "InvalidRequestID");
    assert_eq!(
        answer.header("content-type").unwrap(),
        "application/vnd.aws.lambda.error+json"
    );
    assert_eq!(
        post(addr, "/invocation/not-the-id/error", b"{}")
            .await
            .status,
        400
    );
    assert_eq!(
        post(addr, &format!("/invocation/{id}/response"), b"1")
            .await
            .status,
        202
    );
    assert_eq!(
        outcome.await.unwrap(),
        Outcome::Response(Bytes::from_static(b"1"))
    );
}

#[tokio::test]
async fn calls_in_the_wrong_state_are_403() {
    let (api, addr) = start(SnapStart::Off).await;
    // Nothing in flight.
    let answer = post(addr, "/invocation/some-id/response", b"{}").await;
    assert_eq!(
        (answer.status, error_type(&answer).as_str()),
        (403, "InvalidStateTransition")
    );
    assert_eq!(
        post(addr, "/invocation/some-id/error", b"{}").await.status,
        403
    );
    // restore/next without a snapshot being made.
    let answer = get(addr, "/restore/next").await;
    assert_eq!(answer.status, 403);
    assert!(answer.body.contains("snap-start"), "{}", answer.body);
    assert_eq!(post(addr, "/restore/error", b"{}").await.status, 403);
    // next while an invocation is in flight.
    let next = tokio::spawn(get(addr, "/invocation/next"));
    let (id, _outcome) = api.invoke(Bytes::from_static(b"{}")).await.unwrap();
    next.await.unwrap();
    assert_eq!(get(addr, "/invocation/next").await.status, 403);
    // init/error once init is over.
    assert_eq!(post(addr, "/init/error", b"{}").await.status, 403);
    assert_eq!(
        post(addr, &format!("/invocation/{id}/response"), b"{}")
            .await
            .status,
        202
    );
}

#[tokio::test]
async fn an_oversized_response_is_413_and_the_invoker_gets_an_error() {
    let (api, addr) = start(SnapStart::Off).await;
    let next = tokio::spawn(get(addr, "/invocation/next"));
    let (id, outcome) = api.invoke(Bytes::from_static(b"{}")).await.unwrap();
    next.await.unwrap();
    let big = vec![b'x'; MAX_PAYLOAD + 1];
    let answer = post(addr, &format!("/invocation/{id}/response"), &big).await;
    assert_eq!(answer.status, 413);
    assert_eq!(error_type(&answer), "RequestEntityTooLarge");
    match outcome.await.unwrap() {
        Outcome::Error(e) => assert_eq!(e.error_type, "Function.ResponseSizeTooLarge"),
        other => panic!("{other:?}"),
    }
    // Exactly at the limit is fine.
    let next = tokio::spawn(get(addr, "/invocation/next"));
    let (id, outcome) = api.invoke(Bytes::from_static(b"{}")).await.unwrap();
    next.await.unwrap();
    let answer = post(
        addr,
        &format!("/invocation/{id}/response"),
        &vec![b'y'; MAX_PAYLOAD],
    )
    .await;
    assert_eq!(answer.status, 202);
    assert!(matches!(outcome.await.unwrap(), Outcome::Response(b) if b.len() == MAX_PAYLOAD));
}

#[tokio::test]
async fn error_bodies_well_formed_malformed_or_missing() {
    let (api, addr) = start(SnapStart::Off).await;
    for (body, header, want_type, want_message) in [
        (
            &br#"{"errorMessage":"boom","errorType":"Handler.Boom","stackTrace":["at x"]}"#[..],
            None,
            "Handler.Boom",
            "boom",
        ),
        (
            &b"this is not json"[..],
            Some("Runtime.Custom"),
            "Runtime.Custom",
            "this is not json",
        ),
        (&b""[..], Some("unhandled"), "unhandled", ""),
        (&b"[1,2,3]"[..], None, "Unhandled", "[1,2,3]"),
    ] {
        let next = tokio::spawn(get(addr, "/invocation/next"));
        let (id, outcome) = api.invoke(Bytes::from_static(b"{}")).await.unwrap();
        next.await.unwrap();
        let headers: Vec<(&str, &str)> = header
            .map(|h| ("Lambda-Runtime-Function-Error-Type", h))
            .into_iter()
            .collect();
        let answer = http(
            addr,
            "POST",
            &format!("{BASE}/invocation/{id}/error"),
            &headers,
            body,
        )
        .await;
        assert_eq!(answer.status, 202, "{}", answer.body);
        match outcome.await.unwrap() {
            Outcome::Error(e) => assert_eq!(
                (e.error_type.as_str(), e.message.as_str()),
                (want_type, want_message)
            ),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn init_error_is_accepted_during_init_only() {
    let (api, addr) = start(SnapStart::Off).await;
    let answer = http(
        addr,
        "POST",
        &format!("{BASE}/init/error"),
        &[("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")],
        br#"{"errorMessage":"cannot load handler","errorType":"Runtime.ImportModuleError"}"#,
    )
    .await;
    assert_eq!(answer.status, 202);
    match &*api.state().borrow() {
        BootstrapState::InitFailed(e) => assert_eq!(e.error_type, "Runtime.ImportModuleError"),
        other => panic!("{other:?}"),
    }
    // The first report stands: a second one (lambda_runtime repeating what
    // a hook library already posted) is refused and changes nothing.
    let again = http(
        addr,
        "POST",
        &format!("{BASE}/init/error"),
        &[("Lambda-Runtime-Function-Error-Type", "Runtime.InitError")],
        br#"{"errorMessage":"boxed","errorType":"&alloc::boxed::Box<dyn core::error::Error>"}"#,
    )
    .await;
    assert_eq!(again.status, 403);
    match &*api.state().borrow() {
        BootstrapState::InitFailed(e) => assert_eq!(e.error_type, "Runtime.ImportModuleError"),
        other => panic!("{other:?}"),
    }
    assert_eq!(get(addr, "/invocation/next").await.status, 403);
}

#[tokio::test]
async fn restore_next_is_the_snapshot_point_and_restore_error_follows_it() {
    let (api, addr) = start(SnapStart::Snapshotting).await;
    let pending = tokio::spawn(get(addr, "/restore/next"));
    let mut state = api.state();
    state
        .wait_for(BootstrapState::is_snapshot_point)
        .await
        .unwrap();
    assert_eq!(*state.borrow(), BootstrapState::AwaitingRestore);
    assert!(!pending.is_finished());
    // A second restore/next, or next, while one is pending, is refused.
    assert_eq!(get(addr, "/restore/next").await.status, 403);
    assert_eq!(get(addr, "/invocation/next").await.status, 403);
    api.release_restore();
    let answer = pending.await.unwrap();
    assert_eq!((answer.status, answer.body.as_str()), (200, ""));
    assert_eq!(*api.state().borrow(), BootstrapState::Restoring);
    let answer = post(
        addr,
        "/restore/error",
        br#"{"errorMessage":"hook","errorType":"Runtime.AfterRestoreError"}"#,
    )
    .await;
    assert_eq!(answer.status, 202);
    assert!(
        matches!(&*api.state().borrow(), BootstrapState::RestoreFailed(e) if e.error_type == "Runtime.AfterRestoreError")
    );
}

#[tokio::test]
async fn a_restored_instance_answers_restore_next_at_once() {
    let (api, addr) = start(SnapStart::Restored).await;
    let answer = tokio::time::timeout(Duration::from_secs(5), get(addr, "/restore/next"))
        .await
        .unwrap();
    assert_eq!(answer.status, 200);
    let next = tokio::spawn(get(addr, "/invocation/next"));
    let (id, outcome) = api.invoke(Bytes::from_static(b"{}")).await.unwrap();
    next.await.unwrap();
    assert_eq!(
        post(addr, &format!("/invocation/{id}/response"), b"\"r\"")
            .await
            .status,
        202
    );
    assert_eq!(
        outcome.await.unwrap(),
        Outcome::Response(Bytes::from_static(b"\"r\""))
    );
}

#[tokio::test]
async fn streaming_responses_are_buffered_and_bad_modes_refused() {
    let (api, addr) = start(SnapStart::Off).await;
    let next = tokio::spawn(get(addr, "/invocation/next"));
    let (id, outcome) = api.invoke(Bytes::from_static(b"{}")).await.unwrap();
    next.await.unwrap();
    let path = format!("{BASE}/invocation/{id}/response");
    let answer = http(
        addr,
        "POST",
        &path,
        &[("Lambda-Runtime-Function-Response-Mode", "sideways")],
        b"x",
    )
    .await;
    assert_eq!(
        (answer.status, error_type(&answer).as_str()),
        (400, "InvalidResponseModeHeader")
    );
    let chunked = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
    let answer = http(
        addr,
        "POST",
        &path,
        &[
            ("Lambda-Runtime-Function-Response-Mode", "streaming"),
            ("Transfer-Encoding", "chunked"),
        ],
        chunked,
    )
    .await;
    assert_eq!(answer.status, 202);
    assert_eq!(
        outcome.await.unwrap(),
        Outcome::Response(Bytes::from_static(b"hello world"))
    );
}

#[tokio::test]
async fn a_stream_that_fails_midway_reports_its_error_trailers() {
    let (api, addr) = start(SnapStart::Off).await;
    // As the Node runtime client fails a stream: the type, and base64 of
    // the error JSON; then as lambda_runtime would: base64 of the message.
    for (body_trailer, message) in [
        (
            "eyJlcnJvclR5cGUiOiJFcnJvciIsImVycm9yTWVzc2FnZSI6Im1pZC1zdHJlYW0ifQ==",
            "mid-stream",
        ),
        ("c3RyZWFtIGJyb2tlbg==", "stream broken"),
    ] {
        let next = tokio::spawn(get(addr, "/invocation/next"));
        let (id, outcome) = api.invoke(Bytes::from_static(b"{}")).await.unwrap();
        next.await.unwrap();
        let chunked = format!(
            "5\r\nhello\r\n0\r\nLambda-Runtime-Function-Error-Type: Error\r\n\
             Lambda-Runtime-Function-Error-Body: {body_trailer}\r\n\r\n"
        );
        let answer = http(
            addr,
            "POST",
            &format!("{BASE}/invocation/{id}/response"),
            &[
                ("Lambda-Runtime-Function-Response-Mode", "streaming"),
                ("Transfer-Encoding", "chunked"),
                (
                    "Trailer",
                    "Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body",
                ),
            ],
            chunked.as_bytes(),
        )
        .await;
        assert_eq!(answer.status, 202, "{}", answer.body);
        match outcome.await.unwrap() {
            Outcome::Error(error) => {
                assert_eq!(
                    (error.error_type.as_str(), error.message.as_str()),
                    ("Error", message)
                );
            }
            other => panic!("a failed stream answered {other:?}"),
        }
    }
}

#[tokio::test]
async fn unknown_paths_and_methods() {
    let (_api, addr) = start(SnapStart::Off).await;
    let answer = get(addr, "/invocation/nope").await;
    assert_eq!(answer.status, 404);
    assert_eq!(
        http(addr, "GET", "/2099-01-01/runtime/invocation/next", &[], b"")
            .await
            .status,
        404
    );
    assert_eq!(post(addr, "/invocation/next", b"").await.status, 405);
    assert_eq!(get(addr, "/init/error").await.status, 405);
}

#[tokio::test]
async fn a_natively_restored_process_reports_restore_errors_before_its_first_next() {
    // The native engine restores without restore/next: its after-restore
    // hooks run before the first next, and their failure is accepted then.
    let (api, addr) = start(SnapStart::Restored).await;
    let answer = http(
        addr,
        "POST",
        &format!("{BASE}/restore/error"),
        &[("Lambda-Runtime-Function-Error-Type", "Runtime.AfterRestoreError")],
        br#"{"errorMessage":"after-restore hook \"db\" failed","errorType":"Runtime.AfterRestoreError"}"#,
    )
    .await;
    assert_eq!(answer.status, 202);
    match &*api.state().borrow() {
        BootstrapState::RestoreFailed(e) => assert_eq!(e.error_type, "Runtime.AfterRestoreError"),
        other => panic!("{other:?}"),
    }
    // A process that was never restored cannot report one.
    let (_, addr) = start(SnapStart::Off).await;
    assert_eq!(post(addr, "/restore/error", b"{}").await.status, 403);
}

#[tokio::test]
async fn a_restored_node_process_reports_its_reseeding_and_a_bad_report_is_refused_by_name() {
    let (api, addr) = start(SnapStart::Restored).await;
    let reports = api.restored_reports();
    let answer = post(
        addr,
        "/snap/restored",
        br#"{"pid": 2, "by": "preload", "ran": ["snap.openssl-rand", "snap.math-random"]}"#,
    )
    .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    let got = reports.borrow().clone();
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].pid, got[0].by.as_str()), (2, "preload"));
    assert_eq!(got[0].ran, ["snap.openssl-rand", "snap.math-random"]);
    for (body, says) in [
        (&b"{\"by\": \"preload\"}"[..], "missing field `pid`"),
        (b"{\"pid\": 0, \"by\": \"preload\"}", "not a process id: 0"),
        (b"[1, 2]", "not a restore report"),
    ] {
        let answer = post(addr, "/snap/restored", body).await;
        assert_eq!(answer.status, 400, "{}", answer.body);
        assert_eq!(error_type(&answer), "InvalidBody");
        assert!(answer.body.contains(says), "{}", answer.body);
    }
    let oversized = vec![b' '; 65 << 10];
    let answer = post(addr, "/snap/restored", &oversized).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer.body.contains("at most 65536 bytes"),
        "{}",
        answer.body
    );
    assert_eq!(reports.borrow().len(), 1, "no refused report was kept");
    assert_eq!(get(addr, "/snap/restored").await.status, 405);
    // Only a restored instance has a restore to report.
    let (_, addr) = start(SnapStart::Snapshotting).await;
    let answer = post(addr, "/snap/restored", br#"{"pid": 2, "by": "preload"}"#).await;
    assert_eq!(answer.status, 403, "{}", answer.body);
}
