//! Lambda glue: the `errorType`s snap reports ([`ErrorType`], always
//! built), and, with the `lambda` cargo feature, what a Lambda bootstrap
//! that links `snap` needs under `snaprun run --engine native`: its
//! [`snapshot_point`] and a small Runtime API client for the hook failures
//! it must report itself.

mod error_type;
#[cfg(feature = "lambda")]
mod runtime_api;
#[cfg(feature = "lambda")]
mod snapshot_point;

pub use error_type::ErrorType;
#[cfg(feature = "lambda")]
pub use runtime_api::{PostError, error_body, post_error};
#[cfg(feature = "lambda")]
pub use snapshot_point::{
    INIT_ERROR_ENV, MARKER, Point, SNAPSHOT_ENV, snapshot_point, supports_native,
};
