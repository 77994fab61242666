//! The engines that start instances from a snapshot, behind one interface.

use std::sync::Arc;

use snap::criu::CriuEngine;

use crate::function::FunctionSpec;
use crate::instance::{Instance, StartError};
use crate::native::{NativePlan, NativePrepared};
use crate::snapstart::{Plan, Prepared};

/// A snapshot engine and what it should snapshot.
#[derive(Debug, Clone)]
pub enum SnapshotEngine {
    /// CRIU: the whole sandboxed tree, behind a relay.
    Criu(CriuEngine, Plan),
    /// The bootstrap's own native snapshot.
    Native(NativePlan),
}

impl SnapshotEngine {
    /// The engine's name.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Criu(..) => "criu",
            Self::Native(_) => "native",
        }
    }

    /// The function.
    pub fn spec(&self) -> &FunctionSpec {
        match self {
            Self::Criu(_, plan) => &plan.spec,
            Self::Native(plan) => &plan.spec,
        }
    }

    /// Finds a valid snapshot or makes one.
    pub async fn prepare(self) -> Result<Restorer, StartError> {
        match self {
            Self::Criu(engine, plan) => {
                let prepared = Prepared::find_or_make(engine, Arc::new(plan)).await?;
                Ok(Restorer::Criu(Box::new(prepared)))
            }
            Self::Native(plan) => Ok(Restorer::Native(
                NativePrepared::find_or_make(Arc::new(plan)).await?,
            )),
        }
    }
}

/// A snapshot ready to restore instances from.
#[derive(Debug)]
pub enum Restorer {
    /// A CRIU snapshot.
    Criu(Box<Prepared>),
    /// A native snapshot.
    Native(NativePrepared),
}

impl Restorer {
    /// Restores one instance, ready for its first event.
    pub async fn restore(&self) -> Result<Instance, StartError> {
        match self {
            Self::Criu(prepared) => prepared.restore().await,
            Self::Native(prepared) => prepared.restore().await,
        }
    }
}
