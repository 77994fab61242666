//! Frames between the relay and `snaprun`.
//!
//! ```text
//! offset  size  field
//!      0     1  kind: 1 OPEN, 2 DATA, 3 CLOSE, 4 EXIT
//!      1     4  stream id, u32 little-endian (0 for EXIT)
//!      5     4  payload length, u32 little-endian, at most MAX_FRAME_PAYLOAD
//!      9     n  payload: OPEN the listener index (u32 LE: 0 is the Runtime
//!               API, k the k-th forward); DATA the bytes; CLOSE nothing;
//!               EXIT the bootstrap's wait status (i32 LE)
//! ```

use std::io;

/// Header length.
pub const HEADER: usize = 9;
/// The largest payload in one frame.
pub const MAX_FRAME_PAYLOAD: usize = 1 << 20;

/// One frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The relay accepted a connection on listener `listener`.
    Open {
        /// Stream id.
        id: u32,
        /// 0: the Runtime API; k: forward k.
        listener: u32,
    },
    /// Bytes for stream `id`.
    Data {
        /// Stream id.
        id: u32,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Stream `id` is closed on the sending side.
    Close {
        /// Stream id.
        id: u32,
    },
    /// The bootstrap exited with this wait status; the relay exits too.
    Exit {
        /// Raw wait status.
        status: i32,
    },
}

impl Frame {
    /// Appends the encoded frame to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let (kind, id, payload): (u8, u32, &[u8]) = match self {
            Self::Open { id, listener } => {
                out.reserve(HEADER + 4);
                return push(out, 1, *id, &listener.to_le_bytes());
            }
            Self::Data { id, bytes } => (2, *id, bytes),
            Self::Close { id } => (3, *id, &[]),
            Self::Exit { status } => {
                return push(out, 4, 0, &status.to_le_bytes());
            }
        };
        push(out, kind, id, payload);
    }

    /// Decodes one frame from the front of `buf`, returning it and the bytes
    /// used, or `None` if `buf` holds only part of a frame.
    pub fn decode(buf: &[u8]) -> io::Result<Option<(Self, usize)>> {
        let Some(header) = buf.get(..HEADER) else {
            return Ok(None);
        };
        let id = u32::from_le_bytes([header[1], header[2], header[3], header[4]]);
        let len = u32::from_le_bytes([header[5], header[6], header[7], header[8]]) as usize;
        if len > MAX_FRAME_PAYLOAD {
            return Err(invalid(format!("frame payload of {len} bytes")));
        }
        let Some(payload) = buf.get(HEADER..HEADER + len) else {
            return Ok(None);
        };
        let word = || -> io::Result<[u8; 4]> {
            payload
                .try_into()
                .map_err(|_| invalid(format!("frame kind {} with {len} bytes", header[0])))
        };
        let frame = match header[0] {
            1 => Self::Open {
                id,
                listener: u32::from_le_bytes(word()?),
            },
            2 => Self::Data {
                id,
                bytes: payload.to_vec(),
            },
            3 => Self::Close { id },
            4 => Self::Exit {
                status: i32::from_le_bytes(word()?),
            },
            kind => return Err(invalid(format!("unknown frame kind {kind}"))),
        };
        Ok(Some((frame, HEADER + len)))
    }
}

fn push(out: &mut Vec<u8>, kind: u8, id: u32, payload: &[u8]) {
    out.push(kind);
    out.extend_from_slice(&id.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
}

fn invalid(message: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_partial_frames() {
        let frames = [
            Frame::Open { id: 7, listener: 2 },
            Frame::Data {
                id: 7,
                bytes: b"GET / HTTP/1.1\r\n\r\n".to_vec(),
            },
            Frame::Close { id: 7 },
            Frame::Exit { status: 256 },
        ];
        let mut buf = Vec::new();
        for f in &frames {
            f.encode_into(&mut buf);
        }
        let mut at = 0;
        for f in &frames {
            assert_eq!(Frame::decode(&buf[at..at + 3]).unwrap(), None);
            let (got, used) = Frame::decode(&buf[at..]).unwrap().unwrap();
            assert_eq!(&got, f);
            at += used;
        }
        assert_eq!(at, buf.len());
        assert!(Frame::decode(&[9, 0, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(Frame::decode(&[2, 0, 0, 0, 0, 255, 255, 255, 255]).is_err());
    }
}
