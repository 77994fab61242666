//! Connections: resolve, connect (TCP, or TLS with rustls), the HTTP/1
//! handshake, and the keep-alive pool of each `Agent`.
//!
//! A connection's task (hyper's `Connection`, which owns the socket) runs
//! on the tokio runtime, never on the JS scheduler: dropping the init
//! runtime before the snapshot point ends it and closes its socket.
//! [`close_all`] empties the pool there too, so that no sender of a dead
//! connection is handed out after a restore.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use super::body::RequestBody;
use super::error::NetError;

/// An idle connection older than this is closed rather than reused (Node's
/// keep-alive agents time idle sockets out after 5 s; servers commonly
/// close after 5 s too).
const IDLE_MAX: Duration = Duration::from_secs(4);

/// What identifies a connection that a request may reuse.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct PoolKey {
    /// The `Agent`'s id.
    pub(crate) agent: u32,
    pub(crate) https: bool,
    pub(crate) host: String,
    pub(crate) port: u16,
    /// The TLS options (server name, verification, CAs), as one string.
    pub(crate) tls: String,
}

/// TLS options of one request.
#[derive(Debug, Clone, Default)]
pub(crate) struct TlsOptions {
    pub(crate) reject_unauthorized: bool,
    /// PEM certificates replacing the default roots.
    pub(crate) ca: Vec<String>,
    /// The name sent and verified (`servername`), when not the host.
    pub(crate) servername: Option<String>,
}

impl TlsOptions {
    /// The part of a [`PoolKey`] these options make.
    pub(crate) fn key(&self) -> String {
        format!(
            "{}|{}|{}",
            self.reject_unauthorized,
            self.servername.as_deref().unwrap_or(""),
            self.ca.join("")
        )
    }
}

/// A connection ready for one request.
#[derive(Debug)]
pub(crate) struct Conn {
    pub(crate) sender: SendRequest<RequestBody>,
    pub(crate) remote: SocketAddr,
    pub(crate) local: Option<SocketAddr>,
    /// It served a request before.
    pub(crate) reused: bool,
}

#[derive(Debug)]
struct Idle {
    conn: Conn,
    since: Instant,
}

thread_local! {
    static POOL: RefCell<HashMap<PoolKey, Vec<Idle>>> = RefCell::new(HashMap::new());
    static TLS_CONFIGS: RefCell<HashMap<String, Arc<rustls::ClientConfig>>> = RefCell::new(HashMap::new());
}

/// A pooled connection for `key` if one is alive, else a new one.
pub(crate) async fn checkout(key: &PoolKey, tls: &TlsOptions) -> Result<Conn, NetError> {
    while let Some(mut conn) = take_idle(key) {
        if conn.sender.ready().await.is_ok() {
            conn.reused = true;
            return Ok(conn);
        }
    }
    connect(key, tls).await
}

fn take_idle(key: &PoolKey) -> Option<Conn> {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let list = pool.get_mut(key)?;
        // Most recently used first (Node's agents default to `lifo`).
        while let Some(idle) = list.pop() {
            if idle.since.elapsed() < IDLE_MAX && !idle.conn.sender.is_closed() {
                return Some(idle.conn);
            }
        }
        None
    })
}

/// Gives a connection whose response was read to the end back to its
/// agent's pool.
pub(crate) fn checkin(key: PoolKey, conn: Conn) {
    if conn.sender.is_closed() {
        return;
    }
    POOL.with(|pool| {
        pool.borrow_mut().entry(key).or_default().push(Idle {
            conn,
            since: Instant::now(),
        });
    });
}

/// Closes every idle connection of one agent (`agent.destroy()`).
pub(crate) fn close_agent(agent: u32) {
    POOL.with(|pool| pool.borrow_mut().retain(|key, _| key.agent != agent));
}

/// Closes every idle connection: before the snapshot point, where no socket
/// may be open; connections are made again after a restore.
pub(crate) fn close_all() -> usize {
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        let closed = pool.values().map(Vec::len).sum();
        pool.clear();
        closed
    })
}

/// Idle connections in every pool.
pub(crate) fn idle_count() -> usize {
    POOL.with(|pool| pool.borrow().values().map(Vec::len).sum())
}

async fn connect(key: &PoolKey, tls: &TlsOptions) -> Result<Conn, NetError> {
    let addrs = resolve(&key.host, key.port).await?;
    let mut last = None;
    let mut stream = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(s) => {
                stream = Some((s, addr));
                break;
            }
            Err(cause) => last = Some(NetError::connect(addr, cause)),
        }
    }
    let Some((stream, remote)) = stream else {
        return Err(last.unwrap_or_else(|| NetError::NotFound {
            host: key.host.clone(),
            cause: std::io::Error::other("no address"),
        }));
    };
    // Best effort, as Node's default `noDelay: true`.
    let _ = stream.set_nodelay(true);
    let local = stream.local_addr().ok();
    let sender = if key.https {
        let config = tls_config(tls)?;
        let name = tls.servername.clone().unwrap_or_else(|| key.host.clone());
        let server_name = rustls::pki_types::ServerName::try_from(name.clone())
            .map_err(|_| NetError::ServerName { name })?;
        let tls_stream = tokio_rustls::TlsConnector::from(config)
            .connect(server_name, stream)
            .await
            .map_err(NetError::tls)?;
        handshake(tls_stream).await?
    } else {
        handshake(stream).await?
    };
    tracing::debug!(%remote, https = key.https, "http: connected");
    Ok(Conn {
        sender,
        remote,
        local,
        reused: false,
    })
}

async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, NetError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    let found = tokio::net::lookup_host((bare, port))
        .await
        .map_err(|cause| NetError::NotFound {
            host: host.to_owned(),
            cause,
        })?;
    // In the resolver's order (Node's default `verbatim`), each tried in
    // turn.
    let addrs: Vec<SocketAddr> = found.collect();
    if addrs.is_empty() {
        return Err(NetError::NotFound {
            host: host.to_owned(),
            cause: std::io::Error::other("no address"),
        });
    }
    Ok(addrs)
}

async fn handshake<S>(io: S) -> Result<SendRequest<RequestBody>, NetError>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + Unpin + 'static,
{
    let (sender, connection) = http1::Builder::new()
        .handshake(TokioIo::new(io))
        .await
        .map_err(|cause| NetError::Http { cause })?;
    tokio::spawn(async move {
        if let Err(err) = connection.await {
            tracing::debug!(%err, "http: connection ended");
        }
    });
    Ok(sender)
}

fn tls_config(tls: &TlsOptions) -> Result<Arc<rustls::ClientConfig>, NetError> {
    let key = format!("{}|{}", tls.reject_unauthorized, tls.ca.join(""));
    if let Some(config) = TLS_CONFIGS.with(|c| c.borrow().get(&key).cloned()) {
        return Ok(config);
    }
    let base = if tls.reject_unauthorized && tls.ca.is_empty() {
        llrt_tls::TLS_CONFIG
            .as_ref()
            .map(Clone::clone)
            .map_err(|e| NetError::TlsConfig {
                message: e.to_string(),
            })?
    } else {
        llrt_tls::build_client_config(llrt_tls::BuildClientConfigOptions {
            reject_unauthorized: tls.reject_unauthorized,
            ca: (!tls.ca.is_empty())
                .then(|| tls.ca.iter().map(|c| c.as_bytes().to_vec()).collect()),
        })
        .map_err(|e| NetError::TlsConfig {
            message: e.to_string(),
        })?
    };
    let mut config = base;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let config = Arc::new(config);
    TLS_CONFIGS.with(|c| c.borrow_mut().insert(key, config.clone()));
    Ok(config)
}
