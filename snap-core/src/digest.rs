//! SHA-256 digests of files and byte strings.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};

use bincode::{Decode, Encode};
use sha2::{Digest, Sha256};

/// A SHA-256 digest, printed as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Encode, Decode)]
pub struct Sha256Digest(pub [u8; 32]);

impl Sha256Digest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// The digest of everything `file` yields from its current offset, and
    /// the number of bytes read.
    pub fn of_reader(mut reader: impl Read) -> io::Result<(Self, u64)> {
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(&buf[..n]);
            total += n as u64;
        }
        Ok((Self(hasher.finalize().into()), total))
    }

    /// The digest and length of the file at `path`.
    pub fn of_file(path: &std::path::Path) -> io::Result<(Self, u64)> {
        Self::of_reader(File::open(path)?)
    }
}

impl fmt::Display for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A string that is not 64 hex digits, where a SHA-256 digest was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a sha256 digest (64 hex digits)")]
pub struct NotADigest {
    /// What was given (at most its first 80 characters).
    pub text: String,
}

impl std::str::FromStr for Sha256Digest {
    type Err = NotADigest;

    /// Parses 64 hex digits, either case.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let refuse = || NotADigest {
            text: text.chars().take(80).collect(),
        };
        let bytes = text.as_bytes();
        if bytes.len() != 64 {
            return Err(refuse());
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
            let digit = |c: u8| (c as char).to_digit(16);
            match (digit(pair[0]), digit(pair[1])) {
                (Some(hi), Some(lo)) => *byte = (hi * 16 + lo) as u8,
                _ => return Err(refuse()),
            }
        }
        Ok(Self(out))
    }
}

impl fmt::Debug for Sha256Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{self}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vector() {
        assert_eq!(
            Sha256Digest::of(b"abc").to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn parses_what_it_prints_and_refuses_the_rest() {
        let digest = Sha256Digest::of(b"abc");
        assert_eq!(digest.to_string().parse::<Sha256Digest>(), Ok(digest));
        assert_eq!(
            digest.to_string().to_uppercase().parse::<Sha256Digest>(),
            Ok(digest)
        );
        for bad in [
            "",
            "abc",
            &"g".repeat(64),
            &"a".repeat(63),
            &"a".repeat(65),
            &"é".repeat(32),
        ] {
            assert!(bad.parse::<Sha256Digest>().is_err(), "{bad:?} accepted");
        }
    }
}
