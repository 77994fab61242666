//! The process's memory map, from `/proc/self/maps`, and what the native
//! engine does with each mapping.

use std::io;

/// One line of `/proc/self/maps`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Mapping {
    pub(super) start: u64,
    pub(super) end: u64,
    pub(super) read: bool,
    pub(super) write: bool,
    pub(super) exec: bool,
    pub(super) shared: bool,
    pub(super) offset: u64,
    pub(super) inode: u64,
    pub(super) path: String,
}

/// What a checkpoint does with a mapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Treatment {
    /// Private and writable (heap, stack, `.data`/`.bss`, anonymous memory):
    /// its contents go into the memory image.
    Save,
    /// Private and read-only from a file (code, read-only data): the freshly
    /// exec'd process maps it from the same file at the same place.
    Verify,
    /// An inaccessible guard region: recreated empty.
    Guard,
    /// Kernel-provided (`[vdso]`, `[vvar]`, `[vsyscall]`): checked, not saved.
    Kernel,
    /// A shared mapping: the engine cannot give each restore its own copy.
    Unsupported,
}

impl Mapping {
    pub(super) fn len(&self) -> u64 {
        self.end - self.start
    }

    pub(super) fn treatment(&self) -> Treatment {
        if self.path.starts_with("[v") {
            return Treatment::Kernel;
        }
        if self.shared {
            return Treatment::Unsupported;
        }
        if !self.read && !self.write && !self.exec {
            return Treatment::Guard;
        }
        if self.write {
            return Treatment::Save;
        }
        if self.inode != 0 {
            return Treatment::Verify;
        }
        // Read-only anonymous memory (RELRO after mprotect, sealed arenas).
        Treatment::Save
    }
}

/// Reads `/proc/self/maps`.
pub(super) fn read_self() -> io::Result<Vec<Mapping>> {
    parse(&std::fs::read_to_string("/proc/self/maps")?)
}

/// Parses the text of a maps file.
pub(super) fn parse(text: &str) -> io::Result<Vec<Mapping>> {
    text.lines().map(parse_line).collect()
}

fn parse_line(line: &str) -> io::Result<Mapping> {
    let bad = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unexpected maps line: {line}"),
        )
    };
    let mut fields = line.splitn(6, ' ');
    let range = fields.next().ok_or_else(bad)?;
    let perms = fields.next().ok_or_else(bad)?.as_bytes();
    let offset = fields.next().ok_or_else(bad)?;
    let _dev = fields.next().ok_or_else(bad)?;
    let inode = fields.next().ok_or_else(bad)?;
    let path = fields.next().unwrap_or("").trim_start().to_owned();
    let (start, end) = range.split_once('-').ok_or_else(bad)?;
    let hex = |s: &str| u64::from_str_radix(s, 16).map_err(|_| bad());
    if perms.len() != 4 {
        return Err(bad());
    }
    let (start, end) = (hex(start)?, hex(end)?);
    // Every length is `end - start`: an empty or backward range is not a
    // mapping.
    if start >= end {
        return Err(bad());
    }
    Ok(Mapping {
        start,
        end,
        read: perms[0] == b'r',
        write: perms[1] == b'w',
        exec: perms[2] == b'x',
        shared: perms[3] == b's',
        offset: hex(offset)?,
        inode: inode.parse().map_err(|_| bad())?,
        path,
    })
}

/// SHA-256 of `len` bytes of this process's memory at `start`.
///
/// # Safety
/// `[start, start + len)` is a readable mapping of this process that stays
/// mapped for the call.
pub(super) unsafe fn digest_memory(start: u64, len: u64) -> [u8; 32] {
    let mut copy = vec![0u8; len as usize];
    // SAFETY: the caller guarantees a readable mapping of `len` bytes.
    unsafe { std::ptr::copy_nonoverlapping(start as *const u8, copy.as_mut_ptr(), copy.len()) };
    crate::Sha256Digest::of(&copy).0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_classifies() {
        let text = "\
55d0a0000000-55d0a0001000 r--p 00000000 fd:01 1234 /usr/bin/x
55d0a0001000-55d0a0002000 r-xp 00001000 fd:01 1234 /usr/bin/x
55d0a0003000-55d0a0004000 rw-p 00003000 fd:01 1234 /usr/bin/x
55d0a1000000-55d0a1021000 rw-p 00000000 00:00 0 [heap]
7f0000000000-7f0000001000 ---p 00000000 00:00 0
7f0000001000-7f0000002000 rw-s 00000000 00:05 77 /dev/shm/x
7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0 [stack]
7ffd00100000-7ffd00102000 r-xp 00000000 00:00 0 [vdso]";
        let maps = parse(text).unwrap();
        let t: Vec<Treatment> = maps.iter().map(Mapping::treatment).collect();
        use Treatment::*;
        assert_eq!(
            t,
            [Verify, Verify, Save, Save, Guard, Unsupported, Save, Kernel]
        );
        assert_eq!(maps[3].path, "[heap]");
        assert_eq!(maps[3].len(), 0x21000);
        assert!(parse("garbage").is_err());
    }

    #[test]
    fn a_backward_or_empty_range_is_refused() {
        // Found by the `native_image` fuzz target: the length of a mapping
        // whose end is before its start overflowed.
        for line in [
            "2000-1000 rw-p 00000000 00:00 0 [heap]",
            "1000-1000 rw-p 00000000 00:00 0",
        ] {
            let err = parse(line).unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{line}");
            assert!(err.to_string().contains("unexpected maps line"), "{err}");
        }
    }

    #[test]
    fn own_maps_parse() {
        let maps = read_self().unwrap();
        assert!(maps.iter().any(|m| m.path == "[stack]"));
    }
}
