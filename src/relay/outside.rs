//! `snaprun`'s end of the relay: turns framed streams back into connections
//! to the Runtime API (or to forwarded host services).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::net::unix::pipe;
use tokio::sync::{mpsc, watch};

use super::frame::{Frame, MAX_FRAME_PAYLOAD};
use crate::runtime::{RuntimeApi, routes};

/// The streams of one relay.
#[derive(Debug, Clone)]
pub struct Mux {
    to_relay: mpsc::UnboundedSender<Frame>,
    shared: Arc<Shared>,
    exit: watch::Receiver<Option<String>>,
}

#[derive(Debug)]
struct Shared {
    api: Arc<RuntimeApi>,
    forwards: Vec<SocketAddr>,
    streams: Mutex<HashMap<u32, mpsc::UnboundedSender<Vec<u8>>>>,
    /// Per Runtime API stream: request bytes not yet answered.
    unanswered: Mutex<HashMap<u32, Vec<u8>>>,
}

impl Mux {
    /// Starts serving a relay whose stdin is `control_in` (our write end) and
    /// whose stdout is `control_out` (our read end).
    pub fn start(
        control_in: OwnedFd,
        control_out: OwnedFd,
        api: Arc<RuntimeApi>,
        forwards: Vec<SocketAddr>,
    ) -> std::io::Result<Self> {
        let writer = pipe::Sender::from_owned_fd(control_in)?;
        let reader = pipe::Receiver::from_owned_fd(control_out)?;
        let (to_relay, outbox) = mpsc::unbounded_channel();
        let (exit_tx, exit) = watch::channel(None);
        let shared = Arc::new(Shared {
            api,
            forwards,
            streams: Mutex::new(HashMap::new()),
            unanswered: Mutex::new(HashMap::new()),
        });
        let mux = Self {
            to_relay,
            shared,
            exit,
        };
        tokio::spawn(write_frames(writer, outbox));
        tokio::spawn(read_frames(reader, mux.clone(), exit_tx));
        Ok(mux)
    }

    /// The one Runtime API request the bootstrap is blocked in, with its
    /// raw bytes: what a restored copy must be answered.
    pub fn pending_request(&self) -> Option<(u32, Vec<u8>)> {
        let unanswered = lock(&self.shared.unanswered);
        let mut pending = unanswered.iter().filter(|(_, bytes)| !bytes.is_empty());
        let (id, bytes) = pending.next()?;
        if pending.next().is_some() {
            return None;
        }
        Some((*id, bytes.clone()))
    }

    /// Replays a request that a restored bootstrap is blocked in: stream
    /// `id` exists in the restored relay, and its answer goes back there.
    pub fn replay(&self, id: u32, request: Vec<u8>) {
        self.open(id, 0);
        self.data(id, request);
    }

    /// Resolves when the relay reports that the bootstrap exited, or
    /// disappears; says how.
    pub async fn exited(&self) -> String {
        let mut exit = self.exit.clone();
        match exit.wait_for(Option::is_some).await {
            Ok(status) => status.clone().unwrap_or_default(),
            Err(_) => "the relay is gone".into(),
        }
    }

    fn open(&self, id: u32, listener: u32) {
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        let (tx, rx) = mpsc::unbounded_channel();
        lock(&self.shared.streams).insert(id, tx);
        if listener == 0 {
            lock(&self.shared.unanswered).insert(id, Vec::new());
            let api = Arc::clone(&self.shared.api);
            tokio::spawn(async move {
                if let Err(err) = routes::serve(api, theirs).await {
                    tracing::debug!(%err, "runtime API stream ended");
                }
            });
        } else {
            let target = self.shared.forwards.get(listener as usize - 1).copied();
            tokio::spawn(forward(theirs, target));
        }
        tokio::spawn(pump(id, ours, rx, self.clone()));
    }

    fn data(&self, id: u32, bytes: Vec<u8>) {
        if let Some(pending) = lock(&self.shared.unanswered).get_mut(&id) {
            pending.extend_from_slice(&bytes);
        }
        let sent = lock(&self.shared.streams)
            .get(&id)
            .map(|tx| tx.send(bytes).is_ok());
        if sent != Some(true) {
            // A stream this side never saw (opened before the snapshot) or
            // one already closed: tell the relay to drop it.
            let _ = self.to_relay.send(Frame::Close { id });
        }
    }

    fn close(&self, id: u32) {
        lock(&self.shared.streams).remove(&id);
        lock(&self.shared.unanswered).remove(&id);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn write_frames(mut writer: pipe::Sender, mut outbox: mpsc::UnboundedReceiver<Frame>) {
    let mut bytes = Vec::new();
    while let Some(frame) = outbox.recv().await {
        bytes.clear();
        frame.encode_into(&mut bytes);
        while let Ok(next) = outbox.try_recv() {
            next.encode_into(&mut bytes);
        }
        if writer.write_all(&bytes).await.is_err() {
            return;
        }
    }
}

async fn read_frames(mut reader: pipe::Receiver, mux: Mux, exit: watch::Sender<Option<String>>) {
    let mut inbox = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let why = 'read: loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break 'read "the relay exited".to_owned(),
            Ok(n) => n,
        };
        inbox.extend_from_slice(&buf[..n]);
        let mut used = 0;
        loop {
            match Frame::decode(&inbox[used..]) {
                Ok(Some((frame, len))) => {
                    used += len;
                    match frame {
                        Frame::Open { id, listener } => mux.open(id, listener),
                        Frame::Data { id, bytes } => mux.data(id, bytes),
                        Frame::Close { id } => mux.close(id),
                        Frame::Exit { status } => break 'read describe(status),
                    }
                }
                Ok(None) => break,
                Err(err) => break 'read format!("the relay sent garbage: {err}"),
            }
        }
        inbox.drain(..used);
    };
    exit.send_replace(Some(why));
}

/// Carries one stream's bytes between its in-process end and the relay.
async fn pump(
    id: u32,
    stream: DuplexStream,
    mut inbound: mpsc::UnboundedReceiver<Vec<u8>>,
    mux: Mux,
) {
    let (mut read, mut write) = tokio::io::split(stream);
    let to_relay = mux.to_relay.clone();
    let shared = Arc::clone(&mux.shared);
    let outbound = async move {
        let mut buf = vec![0u8; MAX_FRAME_PAYLOAD.min(64 * 1024)];
        loop {
            match read.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if let Some(pending) = lock(&shared.unanswered).get_mut(&id) {
                        pending.clear();
                    }
                    if to_relay
                        .send(Frame::Data {
                            id,
                            bytes: buf[..n].to_vec(),
                        })
                        .is_err()
                    {
                        break;
                    }
                }
            }
        }
        let _ = to_relay.send(Frame::Close { id });
    };
    let inbound = async move {
        while let Some(bytes) = inbound.recv().await {
            if write.write_all(&bytes).await.is_err() {
                break;
            }
        }
        let _ = write.shutdown().await;
    };
    tokio::join!(outbound, inbound);
    mux.close(id);
}

/// Connects a forwarded stream to its service on the host.
async fn forward(mut stream: DuplexStream, target: Option<SocketAddr>) {
    let Some(target) = target else { return };
    match tokio::net::TcpStream::connect(target).await {
        Ok(mut tcp) => {
            let _ = tcp.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut stream, &mut tcp).await;
        }
        Err(err) => tracing::warn!(%target, %err, "forward: cannot connect"),
    }
}

/// Formats a raw wait status like `std::process::ExitStatus` does.
pub fn describe(status: i32) -> String {
    if status & 0x7f == 0 {
        format!("exit status: {}", (status >> 8) & 0xff)
    } else {
        format!("signal: {}", status & 0x7f)
    }
}
