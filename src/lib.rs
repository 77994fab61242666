//! The machinery behind `snaprun`: the Lambda Runtime API a bootstrap talks
//! to, the instances that run it and the front door that invokes them.
//! `docs/architecture.md` draws who calls whom.

#![warn(missing_docs)]

pub mod adaptive;
pub mod bench;
pub mod chart;
pub mod child;
pub mod choice;
pub mod engines;
pub mod frontdoor;
pub mod function;
pub mod instance;
pub mod pool;
pub mod procfs;
pub mod readiness;
pub mod relay;
pub mod report;
pub mod reseed;
pub mod runtime;
pub mod snapshot_home;
pub mod snapshot_lock;
pub mod start_error;
pub mod store;
pub mod uniqueness;
