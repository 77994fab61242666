//! `snaprun invoke`: send one event to a running `snaprun run`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Context, bail};

/// Invoke a function served by `snaprun run` and print its response.
///
/// Exits non-zero when the function returns an error (the error JSON is still
/// printed).
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// The front door of `snaprun run`.
    #[arg(long, default_value = "http://127.0.0.1:9000")]
    endpoint: String,
    /// Seconds to wait for the answer.
    #[arg(long, default_value_t = 300)]
    wait: u64,
    /// The event: JSON text, or - to read it from stdin.
    #[arg(default_value = "{}")]
    payload: String,
}

pub(crate) fn run(args: Args) -> anyhow::Result<()> {
    let payload = if args.payload == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("read the event from stdin")?;
        buf
    } else {
        args.payload.into_bytes()
    };
    let authority = args
        .endpoint
        .strip_prefix("http://")
        .with_context(|| {
            format!(
                "--endpoint {}: only http:// endpoints are supported",
                args.endpoint
            )
        })?
        .trim_end_matches('/');
    let mut stream =
        TcpStream::connect(authority).with_context(|| format!("connect to {authority}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(args.wait)))?;
    let head = format!(
        "POST /2015-03-31/functions/function/invocations HTTP/1.1\r\nHost: {authority}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        payload.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(&payload)?;
    let mut response = Vec::new();
    stream
        .read_to_end(&mut response)
        .with_context(|| format!("read the answer from {authority}"))?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("malformed HTTP answer")?;
    let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
    let body = &response[split + 4..];
    let status = head.split_whitespace().nth(1).unwrap_or("?").to_owned();
    super::output::print(&format!("{}\n", String::from_utf8_lossy(body)))?;
    if status != "200" {
        // The front door's refusals are Lambda's error JSON: lead with them.
        match serde_json::from_slice::<serde_json::Value>(body) {
            Ok(error) if error["errorType"].is_string() => bail!(
                "the front door answered {status} {}: {}",
                error["errorType"].as_str().unwrap_or_default(),
                error["errorMessage"].as_str().unwrap_or_default()
            ),
            _ => bail!("the front door answered {status}"),
        }
    }
    if head.contains("\r\nx-amz-function-error:") {
        bail!("the function returned an error");
    }
    Ok(())
}
