//! Finding a CRIU binary that is new enough.

use std::path::{Path, PathBuf};

use rust_criu::rust_criu_protobuf::rpc::Criu_req_type;

use super::{RpcError, rpc};

/// The oldest CRIU that works on the kernels this project targets: 3.17
/// fails on 6.13+ (`[vvar_vclock]`), 4.1 cannot dump TCP sockets on 6.16+.
pub const MIN_VERSION: Version = Version {
    major: 4,
    minor: 2,
    sublevel: 0,
};

/// Where `scripts/install-criu.sh` installs CRIU.
pub const INSTALLED_PATH: &str = "/usr/local/sbin/criu";

/// The script that builds and installs a suitable CRIU.
pub const INSTALL_SCRIPT: &str = "scripts/install-criu.sh";

/// A CRIU version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    /// Major version.
    pub major: u32,
    /// Minor version.
    pub minor: u32,
    /// Sublevel.
    pub sublevel: u32,
}

impl Version {
    /// Decodes CRIU's RPC form, `major * 10000 + minor * 100 + sublevel`.
    pub fn from_rpc(v: u32) -> Self {
        Self {
            major: v / 10000,
            minor: v / 100 % 100,
            sublevel: v % 100,
        }
    }
}

impl std::fmt::Display for Version {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.sublevel)
    }
}

/// Why no usable CRIU was found.
#[derive(Debug, thiserror::Error)]
pub enum LocateError {
    /// No candidate exists.
    #[error("CRIU not found (looked at {}); run {INSTALL_SCRIPT} to install CRIU {MIN_VERSION} or later", .tried.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "))]
    NotFound {
        /// Every path tried, in order.
        tried: Vec<PathBuf>,
    },
    /// `SNAP_CRIU` names a file that does not exist.
    #[error("SNAP_CRIU={}: no such file", path.display())]
    BadOverride {
        /// The value of `SNAP_CRIU`.
        path: PathBuf,
    },
    /// The binary did not answer a version request.
    #[error("{}: cannot ask CRIU for its version", path.display())]
    Unresponsive {
        /// The binary.
        path: PathBuf,
        /// What went wrong.
        #[source]
        cause: RpcError,
    },
    /// The binary is older than [`MIN_VERSION`].
    #[error("{}: CRIU {found} is too old; snap needs {MIN_VERSION} or later: run {INSTALL_SCRIPT}", path.display())]
    TooOld {
        /// The binary.
        path: PathBuf,
        /// Its version.
        found: Version,
    },
}

/// Finds CRIU through `SNAP_CRIU`, then [`INSTALLED_PATH`], then `PATH`, and
/// asks it for its version over RPC.
///
/// The request goes through this engine's own RPC client, not
/// `rust_criu::Criu`: that one hands `criu swrk` both ends of its socket, so
/// a worker whose caller was killed mid-request waits forever.
pub fn locate() -> Result<(PathBuf, Version), LocateError> {
    let path = candidate()?;
    let unresponsive = |cause| LocateError::Unresponsive {
        path: path.clone(),
        cause,
    };
    let reply = rpc::call(&path, Criu_req_type::VERSION, None, &[], &mut |_, _| Ok(()))
        .map_err(unresponsive)?;
    let answer = &reply.response.version;
    let number = |n: i32| u32::try_from(n).unwrap_or(0);
    let version = Version {
        major: number(answer.major_number()),
        minor: number(answer.minor_number()),
        sublevel: number(answer.sublevel()),
    };
    if version < MIN_VERSION {
        return Err(LocateError::TooOld {
            path,
            found: version,
        });
    }
    Ok((path, version))
}

fn candidate() -> Result<PathBuf, LocateError> {
    if let Some(path) = std::env::var_os("SNAP_CRIU").filter(|p| !p.is_empty()) {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(LocateError::BadOverride { path })
        };
    }
    let mut tried = vec![PathBuf::from(INSTALLED_PATH)];
    if Path::new(INSTALLED_PATH).is_file() {
        return Ok(PathBuf::from(INSTALLED_PATH));
    }
    if let Some(dirs) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&dirs) {
            let path = dir.join("criu");
            if path.is_file() {
                return Ok(path);
            }
            tried.push(path);
        }
    }
    Err(LocateError::NotFound { tried })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rpc_version_decoding() {
        let v = Version::from_rpc(40201);
        assert_eq!(
            v,
            Version {
                major: 4,
                minor: 2,
                sublevel: 1
            }
        );
        assert!(Version::from_rpc(40101) < MIN_VERSION);
        assert!(Version::from_rpc(31701) < MIN_VERSION);
        assert!(Version::from_rpc(40300) > MIN_VERSION);
        assert_eq!(v.to_string(), "4.2.1");
    }

    #[test]
    fn too_old_names_the_version_and_the_fix() {
        let err = LocateError::TooOld {
            path: "/usr/sbin/criu".into(),
            found: Version::from_rpc(31701),
        };
        let msg = err.to_string();
        for needle in ["/usr/sbin/criu", "3.17.1", "4.2.0", INSTALL_SCRIPT] {
            assert!(msg.contains(needle), "{needle:?} not in {msg}");
        }
    }
}
