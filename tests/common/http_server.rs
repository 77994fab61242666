//! A small HTTP/1.1 server for the `node:http` client tests: keep-alive,
//! request bodies by length or chunked, and a few routes whose answers
//! a client can check. Plain std threads, one per connection; it lives as
//! long as the test process.
//!
//! Routes:
//! - `/echo`: a JSON body `{method, path, headers, body, conn}` (`headers`
//!   sorted, names lower-cased; `conn` is the connection's number);
//! - `/conn`: the connection's number as text;
//! - `/chunked`: `one`, `two`, `three` as three chunks, 20 ms apart;
//! - `/headers`: repeated headers (`set-cookie`, `x-dup`, `content-type`),
//!   names in lower case;
//! - `/slow`: `late` after 500 ms;
//! - `/status/N`: status N with an empty body;
//! - `/hangup`: closes the connection without answering;
//! - anything else: 404.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A running server.
#[derive(Debug, Clone)]
pub struct HttpServer {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// Its port.
    pub port: u16,
    connections: Arc<AtomicUsize>,
}

impl HttpServer {
    /// Starts one on a free loopback port.
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let number = counter.fetch_add(1, Ordering::SeqCst) + 1;
                std::thread::spawn(move || serve(stream, number));
            }
        });
        Self {
            base: format!("http://127.0.0.1:{port}"),
            port,
            connections,
        }
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }
}

struct Request {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn serve(stream: TcpStream, number: usize) {
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        let keep = !request
            .headers
            .iter()
            .any(|(n, v)| n == "connection" && v.eq_ignore_ascii_case("close"));
        if respond(&mut writer, &request, number).is_err() || !keep {
            return;
        }
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).ok()?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    let header = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let mut body = Vec::new();
    if let Some(length) = header("content-length") {
        body.resize(length.parse().ok()?, 0);
        reader.read_exact(&mut body).ok()?;
    } else if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            reader.read_line(&mut size).ok()?;
            let size = usize::from_str_radix(size.trim(), 16).ok()?;
            let mut chunk = vec![0; size + 2];
            reader.read_exact(&mut chunk).ok()?;
            if size == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..size]);
        }
    }
    Some(Request {
        method,
        path,
        headers,
        body,
    })
}

fn respond(out: &mut TcpStream, request: &Request, number: usize) -> std::io::Result<()> {
    let route = request.path.split('?').next().unwrap_or("");
    match route {
        "/echo" => {
            let mut headers = request.headers.clone();
            headers.sort();
            let body = serde_json::json!({
                "method": request.method,
                "path": request.path,
                "headers": headers,
                "body": String::from_utf8_lossy(&request.body),
                "conn": number,
            })
            .to_string();
            let head_only = request.method == "HEAD";
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                body.len()
            )?;
            if !head_only {
                out.write_all(body.as_bytes())?;
            }
        }
        "/hangup" => {
            out.shutdown(std::net::Shutdown::Both)?;
            return Err(std::io::Error::other("hung up on purpose"));
        }
        "/conn" => {
            let body = number.to_string();
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )?;
        }
        "/chunked" => {
            write!(
                out,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
            )?;
            for part in ["one", "two", "three"] {
                write!(out, "{:x}\r\n{part}\r\n", part.len())?;
                out.flush()?;
                std::thread::sleep(Duration::from_millis(20));
            }
            write!(out, "0\r\n\r\n")?;
        }
        "/headers" => {
            write!(
                out,
                "HTTP/1.1 200 OK\r\nset-cookie: a=1\r\nset-cookie: b=2\r\nx-dup: one\r\nx-dup: two\r\n\
                 content-type: text/plain\r\ncontent-type: text/html\r\ncontent-length: 2\r\n\r\nok"
            )?;
        }
        "/slow" => {
            std::thread::sleep(Duration::from_millis(500));
            write!(out, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate")?;
        }
        _ if route.starts_with("/status/") => {
            let status: u16 = route["/status/".len()..].parse().unwrap_or(500);
            write!(
                out,
                "HTTP/1.1 {status} Whatever\r\nContent-Length: 0\r\n\r\n"
            )?;
        }
        _ => write!(out, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")?,
    }
    out.flush()
}
