//! The Lambda Runtime API client: `invocation/next`, the invocation's
//! response or error, and `init/error`.
//!
//! It uses hyper's HTTP/1 client connection (no pool, no resolver: the API
//! address is an IP literal and port), one connection kept alive from
//! request to request, as AWS's runtime clients keep theirs: an invocation
//! is a `next` and a response on the same connection, where a connection
//! per request cost a connect and hyper's handshake each. A connection the
//! API has closed is replaced, and a request it never took is sent again on
//! the new one. Nothing of it is open at the snapshot point: the client is
//! made after it (`main.rs`).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;

const BASE: &str = "/2018-06-01/runtime";

/// A failed Runtime API call.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ApiError {
    /// `AWS_LAMBDA_RUNTIME_API` is not set.
    #[error("AWS_LAMBDA_RUNTIME_API is not set")]
    NoAddress,
    /// Connecting failed.
    #[error("cannot connect to the Runtime API at {addr}")]
    Connect {
        addr: String,
        #[source]
        cause: std::io::Error,
    },
    /// The HTTP exchange failed.
    #[error("{method} {path}: HTTP exchange with the Runtime API failed")]
    Http {
        method: Method,
        path: String,
        #[source]
        cause: hyper::Error,
    },
    /// A request could not be built (a header value the API gave us back).
    #[error("{path}: cannot build the request")]
    Request {
        path: String,
        #[source]
        cause: hyper::http::Error,
    },
    /// The API answered with an unexpected status.
    #[error("{method} {path}: the Runtime API answered {status}: {body}")]
    Status {
        method: Method,
        path: String,
        status: StatusCode,
        body: String,
    },
}

/// One event from `invocation/next`.
#[derive(Debug)]
pub(crate) struct Invocation {
    /// `Lambda-Runtime-Aws-Request-Id`.
    pub(crate) request_id: String,
    /// `Lambda-Runtime-Deadline-Ms` (Unix ms).
    pub(crate) deadline_ms: u64,
    /// `Lambda-Runtime-Invoked-Function-Arn`.
    pub(crate) function_arn: String,
    /// `Lambda-Runtime-Trace-Id`.
    pub(crate) trace_id: Option<String>,
    /// `Lambda-Runtime-Client-Context`.
    pub(crate) client_context: Option<String>,
    /// `Lambda-Runtime-Cognito-Identity`.
    pub(crate) cognito_identity: Option<String>,
    /// The event, as sent.
    pub(crate) body: Bytes,
}

/// The Runtime API at one address, and the connection to it.
#[derive(Debug)]
pub(crate) struct RuntimeApi {
    addr: String,
    /// The connection kept alive between requests, if one is open.
    sender: Option<SendRequest<Full<Bytes>>>,
    /// Requests sent so far.
    requests: u64,
    /// Connections opened so far.
    connects: u64,
}

impl RuntimeApi {
    /// The API named by `AWS_LAMBDA_RUNTIME_API` (read now: a restored
    /// process has the restoring environment).
    pub(crate) fn from_env() -> Result<Self, ApiError> {
        let addr = std::env::var("AWS_LAMBDA_RUNTIME_API").map_err(|_| ApiError::NoAddress)?;
        Ok(Self {
            addr,
            sender: None,
            requests: 0,
            connects: 0,
        })
    }

    /// How many requests this client has sent, and over how many
    /// connections.
    pub(crate) fn counts(&self) -> (u64, u64) {
        (self.requests, self.connects)
    }

    /// A new connection; its driver runs as a task of the current runtime
    /// and ends with it (when the sender is dropped or the API closes it).
    async fn connect(
        &mut self,
        http: impl Fn(hyper::Error) -> ApiError,
    ) -> Result<SendRequest<Full<Bytes>>, ApiError> {
        let stream = tokio::net::TcpStream::connect(&self.addr)
            .await
            .map_err(|cause| ApiError::Connect {
                addr: self.addr.clone(),
                cause,
            })?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(&http)?;
        tokio::spawn(connection);
        self.connects += 1;
        Ok(sender)
    }

    async fn exchange(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<(StatusCode, hyper::HeaderMap, Bytes), ApiError> {
        let full = format!("{BASE}/{path}");
        let http = |cause| ApiError::Http {
            method: method.clone(),
            path: full.clone(),
            cause,
        };
        let mut request = Request::builder()
            .method(method.clone())
            .uri(&full)
            .header(hyper::header::HOST, &self.addr);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let mut request = request
            .body(Full::new(body))
            .map_err(|cause| ApiError::Request {
                path: full.clone(),
                cause,
            })?;
        // The kept connection if the API has not closed it, else a new one.
        let mut reused = false;
        let mut sender = match self.sender.take() {
            Some(mut sender) => match sender.ready().await {
                Ok(()) => {
                    reused = true;
                    sender
                }
                Err(_) => self.connect(&http).await?,
            },
            None => self.connect(&http).await?,
        };
        self.requests += 1;
        let response = loop {
            match sender.try_send_request(request).await {
                Ok(response) => break response,
                // The kept connection closed before it took the request (the
                // request was not sent): once more, on a new connection.
                Err(mut failed) if reused => match failed.take_message() {
                    Some(unsent) => {
                        request = unsent;
                        reused = false;
                        sender = self.connect(&http).await?;
                    }
                    None => return Err(http(failed.into_error())),
                },
                Err(failed) => return Err(http(failed.into_error())),
            }
        };
        let (parts, incoming) = response.into_parts();
        let body = incoming.collect().await.map_err(http)?.to_bytes();
        self.sender = Some(sender);
        Ok((parts.status, parts.headers, body))
    }

    /// `GET invocation/next`: waits for the next event.
    pub(crate) async fn next(&mut self) -> Result<Invocation, ApiError> {
        let (status, headers, body) = self
            .exchange(Method::GET, "invocation/next", &[], Bytes::new())
            .await?;
        if status != StatusCode::OK {
            return Err(ApiError::Status {
                method: Method::GET,
                path: "invocation/next".into(),
                status,
                body: String::from_utf8_lossy(&body).into_owned(),
            });
        }
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Ok(Invocation {
            request_id: header("lambda-runtime-aws-request-id").unwrap_or_default(),
            deadline_ms: header("lambda-runtime-deadline-ms")
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
            function_arn: header("lambda-runtime-invoked-function-arn").unwrap_or_default(),
            trace_id: header("lambda-runtime-trace-id"),
            client_context: header("lambda-runtime-client-context"),
            cognito_identity: header("lambda-runtime-cognito-identity"),
            body,
        })
    }

    async fn post(
        &mut self,
        path: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<(), ApiError> {
        let (status, _, answer) = self.exchange(Method::POST, path, headers, body).await?;
        if status.is_success() {
            return Ok(());
        }
        Err(ApiError::Status {
            method: Method::POST,
            path: path.to_owned(),
            status,
            body: String::from_utf8_lossy(&answer).into_owned(),
        })
    }

    /// `POST invocation/{id}/response`.
    pub(crate) async fn respond(&mut self, request_id: &str, body: Bytes) -> Result<(), ApiError> {
        self.post(
            &format!("invocation/{request_id}/response"),
            &[("content-type", "application/json")],
            body,
        )
        .await
    }

    /// `POST invocation/{id}/error` with a Lambda error body.
    pub(crate) async fn fail(
        &mut self,
        request_id: &str,
        error_type: &str,
        body: Bytes,
    ) -> Result<(), ApiError> {
        self.post(
            &format!("invocation/{request_id}/error"),
            &error_headers(error_type),
            body,
        )
        .await
    }

    /// `POST init/error` with a Lambda error body.
    pub(crate) async fn init_error(
        &mut self,
        error_type: &str,
        body: Bytes,
    ) -> Result<(), ApiError> {
        self.post("init/error", &error_headers(error_type), body)
            .await
    }
}

fn error_headers(error_type: &str) -> [(&str, &str); 2] {
    [
        ("content-type", "application/vnd.aws.lambda.error+json"),
        ("lambda-runtime-function-error-type", error_type),
    ]
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;

    /// A Runtime API stand-in answering every request 200 with an event,
    /// closing each connection after its answer when `close` is set (with
    /// `Connection: close`), keeping it otherwise. Serves `requests`
    /// requests, then returns the connections it accepted.
    fn serve(close: bool, requests: usize) -> (String, std::thread::JoinHandle<usize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let server = std::thread::spawn(move || {
            let (mut served, mut accepted) = (0, 0);
            while served < requests {
                let (stream, _) = listener.accept().unwrap();
                accepted += 1;
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                while served < requests {
                    let mut length = 0;
                    let mut line = String::new();
                    loop {
                        line.clear();
                        if reader.read_line(&mut line).unwrap() == 0 {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                        if line == "\r\n" {
                            break;
                        }
                    }
                    if line != "\r\n" {
                        break; // the client closed this connection
                    }
                    let mut body = vec![0; length];
                    reader.read_exact(&mut body).unwrap();
                    let connection = if close { "Connection: close\r\n" } else { "" };
                    write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nLambda-Runtime-Aws-Request-Id: id-{served}\r\n{connection}Content-Length: 2\r\n\r\n{{}}"
                    )
                    .unwrap();
                    served += 1;
                    if close {
                        break;
                    }
                }
            }
            accepted
        });
        (addr, server)
    }

    fn api(addr: String) -> RuntimeApi {
        RuntimeApi {
            addr,
            sender: None,
            requests: 0,
            connects: 0,
        }
    }

    async fn invocation_twice(api: &mut RuntimeApi) {
        for _ in 0..2 {
            let event = api.next().await.unwrap();
            api.respond(&event.request_id, Bytes::from_static(b"{}"))
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn invocations_share_one_kept_alive_connection() {
        let (addr, server) = serve(false, 4);
        let mut api = api(addr);
        invocation_twice(&mut api).await;
        assert_eq!(api.counts(), (4, 1));
        drop(api);
        assert_eq!(server.join().unwrap(), 1);
    }

    #[tokio::test]
    async fn a_connection_the_api_closed_is_replaced() {
        let (addr, server) = serve(true, 4);
        let mut api = api(addr);
        invocation_twice(&mut api).await;
        assert_eq!(
            api.counts(),
            (4, 4),
            "one connection per answer that closed it"
        );
        drop(api);
        assert_eq!(server.join().unwrap(), 4);
    }
}
