//! The relay: the Runtime API endpoint that lives inside a snapshotted tree.
//!
//! A bootstrap's connection to the Runtime API must survive checkpoint and
//! restore, and one snapshot must restore into many instances at once. So
//! the endpoint the bootstrap connects to is inside the snapshotted tree: the
//! relay, PID 1 of the sandbox, listens on `127.0.0.1:9001` in the tree's own
//! network namespace and starts the bootstrap as its child. It carries every
//! connection's bytes, framed, over its stdin and stdout pipes to `snaprun`,
//! which runs the real Runtime API ([`crate::runtime`]) over them.
//!
//! ```text
//!  sandbox (own PID + net namespace)          snaprun
//!  ┌──────────────────────────────────┐
//!  │ bootstrap ──tcp──▶ relay (PID 1) │══ fd 0/1 pipes ══▶ outside::Mux ──▶ hyper ──▶ RuntimeApi
//!  │     └── stdout/stderr ──────────────── fd 2 pipe ───▶ function logs
//!  └──────────────────────────────────┘
//! ```
//!
//! At the snapshot point the bootstrap is blocked in a request (`restore/next`
//! or `invocation/next`) on an established loopback connection; CRIU saves
//! that connection. Each restore hands the relay fresh pipes (`inherit_fd`),
//! and `snaprun` replays the pending request's bytes into a new HTTP
//! connection, so every restored instance gets its own answer on the restored
//! socket. Later connections simply arrive as new streams.
//!
//! Forwards (`--forward 127.0.0.1:PORT`) carry connections to services on
//! the host the same way: the relay listens on that address inside the
//! sandbox and `snaprun` connects to it outside.

pub mod frame;
pub mod inside;
pub mod outside;

/// Where the relay serves the Runtime API inside the sandbox.
pub const RUNTIME_API_ADDR: &str = "127.0.0.1:9001";

/// Bumped whenever the framing changes: a snapshot holds a relay of its own
/// build, so `snaprun` only restores snapshots whose relay it speaks to.
pub const PROTOCOL_VERSION: u32 = 1;
