//! The relay process: PID 1 of the sandbox. Single-threaded and
//! poll-driven, so CRIU snapshots it as plain sockets and pipes.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::Pid;

use super::frame::{Frame, MAX_FRAME_PAYLOAD};

/// What the relay serves and runs.
#[derive(Debug)]
pub struct Config {
    /// Listener 0 is the Runtime API; the others are forwards.
    pub listen: Vec<SocketAddr>,
    /// The bootstrap.
    pub bootstrap: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
}

/// How often the relay looks for an exited bootstrap when nothing happens.
const TICK_MS: u16 = 20;

/// Runs the relay until the bootstrap exits or `snaprun` goes away, and
/// returns the exit code for the relay itself.
pub fn run(config: Config) -> io::Result<i32> {
    let listeners = config
        .listen
        .iter()
        .map(|addr| {
            let l = TcpListener::bind(addr)?;
            l.set_nonblocking(true)?;
            Ok(l)
        })
        .collect::<io::Result<Vec<_>>>()?;
    let logs = io::stderr().as_fd().try_clone_to_owned()?;
    let child = Command::new(&config.bootstrap)
        .args(&config.args)
        .stdin(Stdio::null())
        .stdout(Stdio::from(logs.try_clone()?))
        .stderr(Stdio::from(logs))
        .spawn()?;
    let child = Pid::from_raw(child.id() as i32);

    // SAFETY: fds 0 and 1 are the control pipes snaprun gave this process;
    // nothing else in it uses them.
    let (mut control_in, mut control_out) = unsafe {
        (
            File::from(OwnedFd::from_raw_fd(0)),
            File::from(OwnedFd::from_raw_fd(1)),
        )
    };
    let mut relay = Relay {
        conns: HashMap::new(),
        next_id: 1,
        inbox: Vec::new(),
    };
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        if let Some(status) = reap(child) {
            send(&mut control_out, &Frame::Exit { status })?;
            return Ok(0);
        }
        let ids: Vec<u32> = relay.conns.keys().copied().collect();
        let ready = {
            let mut fds: Vec<PollFd<'_>> = listeners
                .iter()
                .map(|l| PollFd::new(l.as_fd(), PollFlags::POLLIN))
                .chain(std::iter::once(PollFd::new(
                    control_in.as_fd(),
                    PollFlags::POLLIN,
                )))
                .chain(
                    ids.iter()
                        .map(|id| PollFd::new(relay.conns[id].as_fd(), PollFlags::POLLIN)),
                )
                .collect();
            match poll(&mut fds, PollTimeout::from(TICK_MS)) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e.into()),
            }
            fds.iter()
                .map(|fd| fd.revents().is_some_and(|r| !r.is_empty()))
                .collect::<Vec<bool>>()
        };
        let (accepting, rest) = ready.split_at(listeners.len());
        for (index, listener) in listeners.iter().enumerate().filter(|(i, _)| accepting[*i]) {
            relay.accept(listener, index as u32, &mut control_out)?;
        }
        if rest[0] {
            let n = control_in.read(&mut buf)?;
            if n == 0 {
                // snaprun is gone: so is the reason to run.
                let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
                return Ok(1);
            }
            relay.inbox.extend_from_slice(&buf[..n]);
            relay.deliver()?;
        }
        for (id, _) in ids.iter().zip(&rest[1..]).filter(|(_, r)| **r) {
            relay.pump(*id, &mut buf, &mut control_out)?;
        }
    }
}

struct Relay {
    conns: HashMap<u32, TcpStream>,
    next_id: u32,
    inbox: Vec<u8>,
}

impl Relay {
    fn accept(&mut self, listener: &TcpListener, index: u32, out: &mut File) -> io::Result<()> {
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nodelay(true)?;
                    let id = self.next_id;
                    self.next_id = self.next_id.wrapping_add(1).max(1);
                    self.conns.insert(id, stream);
                    send(
                        out,
                        &Frame::Open {
                            id,
                            listener: index,
                        },
                    )?;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Writes what snaprun sent to the connections it names.
    fn deliver(&mut self) -> io::Result<()> {
        let mut used = 0;
        while let Some((frame, n)) = Frame::decode(&self.inbox[used..])? {
            used += n;
            match frame {
                Frame::Data { id, bytes } => {
                    let failed = match self.conns.get_mut(&id) {
                        Some(conn) => conn.write_all(&bytes).is_err(),
                        None => false,
                    };
                    if failed {
                        self.conns.remove(&id);
                    }
                }
                Frame::Close { id } => {
                    if let Some(conn) = self.conns.remove(&id) {
                        let _ = conn.shutdown(Shutdown::Both);
                    }
                }
                Frame::Open { .. } | Frame::Exit { .. } => {}
            }
        }
        self.inbox.drain(..used);
        Ok(())
    }

    /// Carries what a connection sent to snaprun.
    fn pump(&mut self, id: u32, buf: &mut [u8], out: &mut File) -> io::Result<()> {
        let Some(conn) = self.conns.get_mut(&id) else {
            return Ok(());
        };
        let cap = MAX_FRAME_PAYLOAD.min(buf.len());
        let n = match conn.read(&mut buf[..cap]) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            Err(_) => 0,
        };
        if n == 0 {
            self.conns.remove(&id);
            return send(out, &Frame::Close { id });
        }
        send(
            out,
            &Frame::Data {
                id,
                bytes: buf[..n].to_vec(),
            },
        )
    }
}

fn send(out: &mut File, frame: &Frame) -> io::Result<()> {
    let mut bytes = Vec::new();
    frame.encode_into(&mut bytes);
    out.write_all(&bytes)
}

/// Reaps every exited process (orphans come to PID 1) and returns the
/// bootstrap's wait status once it has exited.
fn reap(bootstrap: Pid) -> Option<i32> {
    loop {
        match waitpid(Pid::from_raw(-1), Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::Exited(pid, code)) if pid == bootstrap => return Some(code << 8),
            Ok(WaitStatus::Signaled(pid, signal, _)) if pid == bootstrap => {
                return Some(signal as i32);
            }
            Ok(WaitStatus::StillAlive) | Err(_) => return None,
            Ok(_) => continue,
        }
    }
}
