//! The Lambda Runtime API (`2018-06-01`), served to one bootstrap.
//!
//! [`RuntimeApi`] holds one instance's side of the protocol: the lifecycle
//! waits on its [`BootstrapState`], hands it events with [`RuntimeApi::invoke`] and
//! releases a pending `restore/next` after a restore. [`routes::serve`]
//! answers the bootstrap's HTTP requests against it, on any byte stream.

mod api;
mod errors;
mod event;
pub mod listener;
pub mod routes;

pub use api::{BootstrapState, RestoredReport, RuntimeApi, SnapStart};
pub use errors::{ERROR_CONTENT_TYPE, ErrorBody};
pub use event::{Event, FunctionConfig, Outcome};

/// The largest event or response payload accepted, as the emulator allows:
/// 6 MiB plus 100 bytes.
pub const MAX_PAYLOAD: usize = 6 * 1024 * 1024 + 100;
