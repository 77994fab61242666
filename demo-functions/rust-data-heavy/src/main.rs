//! rust-data-heavy: an unmodified `lambda_runtime` function whose init is
//! cheap but leaves a large table in memory (40 MB by default). Computing
//! the table takes a few tens of milliseconds; copying it back from a
//! snapshot can take longer, so this is the function a restore can lose on.
//!
//! Env knob (read at init): `DATA_HEAVY_MB=N`, the table's size in MiB.
//!
//! Events:
//! - `{"index": N}` answers entry N of the table;
//! - `{"verify": true}` recomputes every entry and counts mismatches, so a
//!   restored copy can prove its whole table came back intact.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use lambda_runtime::{Diagnostic, Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

/// The table's size unless `DATA_HEAVY_MB` says otherwise.
const DEFAULT_MB: usize = 40;

/// Entry `i` of the table: SplitMix64 of `i`, so anyone can check it.
fn entry(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

struct State {
    table: Vec<u64>,
    invocations: AtomicU64,
}

async fn handle(state: &State, event: LambdaEvent<Value>) -> Result<Value, Diagnostic> {
    let invocations = state.invocations.fetch_add(1, Ordering::Relaxed) + 1;
    let payload = event.payload;
    let mut answer = json!({
        "entries": state.table.len(),
        "invocations": invocations,
        "pid": std::process::id(),
    });
    if let Some(index) = payload.get("index").and_then(Value::as_u64) {
        let value = usize::try_from(index)
            .ok()
            .and_then(|i| state.table.get(i))
            .ok_or_else(|| Diagnostic {
                error_type: "DataHeavy.IndexOutOfRange".into(),
                error_message: format!(
                    "index {index} is outside the table of {} entries",
                    state.table.len()
                ),
            })?;
        answer["value"] = json!(value.to_string());
    }
    if payload.get("verify").and_then(Value::as_bool) == Some(true) {
        let mismatches = (0u64..)
            .zip(&state.table)
            .filter(|&(i, &value)| value != entry(i))
            .count();
        answer["mismatches"] = json!(mismatches);
    }
    Ok(answer)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let started = Instant::now();
    let mb = match std::env::var("DATA_HEAVY_MB") {
        Ok(text) => text
            .parse::<usize>()
            .map_err(|e| format!("DATA_HEAVY_MB={text:?} is not a size in MiB: {e}"))?,
        Err(_) => DEFAULT_MB,
    };
    let entries = mb * (1 << 20) / size_of::<u64>();
    let table: Vec<u64> = (0..entries as u64).map(entry).collect();
    eprintln!(
        "rust-data-heavy: init filled a {mb} MiB table ({entries} entries) in {} ms",
        started.elapsed().as_millis()
    );
    let state: &'static State = Box::leak(Box::new(State {
        table,
        invocations: AtomicU64::new(0),
    }));
    lambda_runtime::run(service_fn(move |event| handle(state, event))).await
}
