//! The Runtime API calls a snapshotted process may have to make itself:
//! reporting a hook failure with its proper `errorType`, before any
//! Runtime API client of the function's own is running.
//!
//! It uses `ureq` (no TLS, no default features): a small, maintained,
//! blocking HTTP client, which is what a process that has just been
//! restored and has no async runtime yet can use. It runs only on a hook
//! failure, never on a restore's normal path, so it costs a restore
//! nothing.

use std::time::Duration;

/// Why a Runtime API error could not be posted.
#[derive(Debug, thiserror::Error)]
pub enum PostError {
    /// `AWS_LAMBDA_RUNTIME_API` is not set.
    #[error("AWS_LAMBDA_RUNTIME_API is not set")]
    NoRuntimeApi,
    /// The request failed.
    #[error("cannot post to {url}")]
    Http {
        /// The endpoint.
        url: String,
        /// The client's error.
        #[source]
        cause: Box<ureq::Error>,
    },
    /// The Runtime API refused the error.
    #[error("the Runtime API answered {status} to {url}")]
    Refused {
        /// The endpoint.
        url: String,
        /// Its status.
        status: u16,
    },
}

/// A Runtime API error body: `{"errorMessage": ..., "errorType": ...}`.
///
/// The type is one of snap's own ([`ErrorType`](super::ErrorType)) or any a runtime reports
/// for its function (`TypeError`, ...).
pub fn error_body(error_type: impl AsRef<str>, message: &str) -> String {
    serde_json::json!({
        "errorMessage": message,
        "errorType": error_type.as_ref(),
    })
    .to_string()
}

/// Posts an error of `error_type` to `/runtime/{endpoint}` (`init/error` or
/// `restore/error`) of the Runtime API in `AWS_LAMBDA_RUNTIME_API`, with the
/// type in the body and in `Lambda-Runtime-Function-Error-Type`.
pub fn post_error(
    endpoint: &str,
    error_type: impl AsRef<str>,
    message: &str,
) -> Result<(), PostError> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(|_| PostError::NoRuntimeApi)?;
    post(&api, endpoint, error_type, message)
}

/// [`post_error`] to the Runtime API at `api` (`host:port`).
fn post(
    api: &str,
    endpoint: &str,
    error_type: impl AsRef<str>,
    message: &str,
) -> Result<(), PostError> {
    let error_type = error_type.as_ref();
    let url = format!("http://{api}/2018-06-01/runtime/{endpoint}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(5)))
        .http_status_as_error(false)
        .build()
        .into();
    let response = agent
        .post(&url)
        .header("Content-Type", "application/vnd.aws.lambda.error+json")
        .header("Lambda-Runtime-Function-Error-Type", error_type)
        .send(error_body(error_type, message))
        .map_err(|cause| PostError::Http {
            url: url.clone(),
            cause: Box::new(cause),
        })?;
    match response.status().as_u16() {
        200 | 202 => Ok(()),
        status => Err(PostError::Refused { url, status }),
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    use super::super::ErrorType;
    use super::*;

    #[test]
    fn bodies_escape_what_json_needs() {
        let body = error_body(
            ErrorType::AfterRestoreError,
            "hook \"db\" failed:\n\\ refused",
        );
        let parsed: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["errorMessage"], "hook \"db\" failed:\n\\ refused");
        assert_eq!(parsed["errorType"], "Runtime.AfterRestoreError");
    }

    /// Serves one request with `status`, returning its head and body.
    fn serve_once(status: u16) -> (String, std::thread::JoinHandle<(String, String)>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            let (stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut length = 0;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap();
                }
                if line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let mut stream = stream;
            write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            .unwrap();
            (head, String::from_utf8(body).unwrap())
        });
        (addr, server)
    }

    #[test]
    fn posts_the_type_in_the_header_and_the_body() {
        let (addr, server) = serve_once(202);
        post(
            &addr,
            "restore/error",
            ErrorType::AfterRestoreError,
            "db: refused",
        )
        .unwrap();
        let (head, body) = server.join().unwrap();
        assert!(head.starts_with("POST /2018-06-01/runtime/restore/error HTTP/1.1"));
        assert!(
            head.to_ascii_lowercase()
                .contains("lambda-runtime-function-error-type: runtime.afterrestoreerror")
        );
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["errorMessage"], "db: refused");

        let (addr, server) = serve_once(500);
        let refused = post(&addr, "init/error", ErrorType::BeforeSnapshotError, "x").unwrap_err();
        assert!(
            matches!(refused, PostError::Refused { status: 500, .. }),
            "{refused}"
        );
        server.join().unwrap();
    }
}
