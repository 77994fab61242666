//! The machinery behind `snaprun`: the Lambda Runtime API a bootstrap talks
//! to, the instances that run it and the front door that invokes them.

#![warn(missing_docs)]

pub mod bench;
pub mod frontdoor;
pub mod function;
pub mod instance;
pub mod native;
pub mod pool;
pub mod relay;
pub mod report;
pub mod restorer;
pub mod runtime;
pub mod snapstart;
pub mod uniqueness;
