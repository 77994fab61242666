//! The snapshot format: a directory with a checksummed manifest and the
//! engine's payload.
//!
//! ```text
//! DIR/
//! ├── manifest.snap     header + bincode body; see `docs/snapshot-format.md`
//! ├── manifest.sig      with a signing key: the manifest's HMAC
//! ├── working-set.snap  kept after sealing: what the first restored
//! │                     invocation touched, bound to the manifest
//! └── payload/          whatever the engine wrote (CRIU: *.img)
//! ```
//!
//! A snapshot comes into being only through [`SnapshotWriter`], which builds
//! it in a temporary sibling and renames it into place, and is read only
//! through [`Snapshot::open`], which checks every file against the manifest
//! before anything else may look at it.

mod codec;
mod encryption;
mod error;
mod host;
mod identity;
mod key_file;
mod manifest;
mod open;
mod owned;
mod signature;
mod verified;
mod working_set;
mod writer;

#[doc(hidden)]
pub use codec::decode as decode_manifest;
pub use codec::{FORMAT_VERSION, MAGIC, MAX_MANIFEST_BODY};
pub use encryption::{ENCRYPT_KEY_ENV, ENCRYPTED_ANNOTATION, PLAIN_CACHE_ENV, sealed_range};
pub use error::{CreateError, OpenError};
pub use host::Host;
pub use identity::Identity;
pub use key_file::{KeyError, MAX_KEY_LEN, MIN_KEY_LEN};
pub use manifest::{FileEntry, Manifest};
pub use open::{Expect, HostRule, Snapshot};
pub use signature::{SIGNATURE_FILE, SIGNING_KEY_ENV};
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub(crate) use verified::digest_of;
pub use working_set::{MAX_WORKING_SET_BODY, WORKING_SET_FILE, WorkingSetError};
pub use writer::{Seal, SnapshotWriter};

/// File name of the manifest inside a snapshot directory.
pub const MANIFEST_FILE: &str = "manifest.snap";
/// Directory, inside a snapshot, that holds the engine's files.
pub const PAYLOAD_DIR: &str = "payload";

/// Marks a temporary directory that is being built into a snapshot.
const TEMP_MARK: &str = ".snap-tmp.";
