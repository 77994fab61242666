//! The host a snapshot was taken on.

use bincode::{Decode, Encode};

/// Kernel release and CPU architecture, as `uname` reports them.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Host {
    /// `uname -r`, such as `6.18.44`.
    pub kernel_release: String,
    /// `uname -m`, such as `x86_64`.
    pub arch: String,
}

impl Host {
    /// The host this process runs on.
    pub fn current() -> Self {
        let uts = nix::sys::utsname::uname();
        match uts {
            Ok(uts) => Self {
                kernel_release: uts.release().to_string_lossy().into_owned(),
                arch: uts.machine().to_string_lossy().into_owned(),
            },
            // uname(2) cannot fail with a valid buffer; keep a value that
            // matches nothing rather than panic.
            Err(_) => Self {
                kernel_release: "unknown".into(),
                arch: std::env::consts::ARCH.into(),
            },
        }
    }
}
