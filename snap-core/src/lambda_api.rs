//! The two Runtime API calls a snapshotted process may have to make itself:
//! reporting a hook failure with its proper `errorType`.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// A Runtime API error body: `{"errorMessage": ..., "errorType": ...}`.
pub fn error_body(error_type: &str, message: &str) -> String {
    format!(
        "{{\"errorMessage\":{},\"errorType\":{}}}",
        json_string(message),
        json_string(error_type)
    )
}

fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Posts an error of `error_type` to `/runtime/{endpoint}` (`init/error` or
/// `restore/error`) of the Runtime API in `AWS_LAMBDA_RUNTIME_API`, with the
/// type in the body and in `Lambda-Runtime-Function-Error-Type`.
pub fn post_error(endpoint: &str, error_type: &str, message: &str) -> io::Result<()> {
    let api = std::env::var("AWS_LAMBDA_RUNTIME_API")
        .map_err(|_| io::Error::other("AWS_LAMBDA_RUNTIME_API is not set"))?;
    let body = error_body(error_type, message);
    let mut stream = TcpStream::connect(&api)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        stream,
        "POST /2018-06-01/runtime/{endpoint} HTTP/1.1\r\nHost: {api}\r\n\
         Content-Type: application/vnd.aws.lambda.error+json\r\n\
         Lambda-Runtime-Function-Error-Type: {error_type}\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut status = [0u8; 12];
    stream.read_exact(&mut status)?;
    match &status[9..12] {
        b"202" | b"200" => Ok(()),
        other => Err(io::Error::other(format!(
            "the Runtime API answered {}",
            String::from_utf8_lossy(other)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_escape_what_json_needs() {
        assert_eq!(
            error_body(
                "Runtime.AfterRestoreError",
                "hook \"db\" failed:\n\\ refused"
            ),
            r#"{"errorMessage":"hook \"db\" failed:\u000a\\ refused","errorType":"Runtime.AfterRestoreError"}"#
        );
    }
}
