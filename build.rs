//! Builds `@snap/hooks`' getrandom OpenSSL engine
//! (`snap-hooks/js/native/snap_getrandom_engine.c`) as a shared library in
//! `OUT_DIR`, which `src/reseed.rs` embeds: snaprun installs it for the
//! Node processes it reseeds after a restore.
//!
//! It needs a C compiler and OpenSSL 3's headers for the target (Debian:
//! `gcc`, `libssl-dev`). Building for the machine's own architecture,
//! their absence is an error that says so. Checking for another one
//! (`cargo check --target aarch64-unknown-linux-gnu`), where the target's
//! OpenSSL headers are rarely installed, an empty file stands in, with a
//! warning, and snaprun built that way refuses to reseed (`src/reseed.rs`).

// A build script reports a failure by panicking: cargo shows its message.
#![allow(clippy::panic, clippy::expect_used)]

use std::path::PathBuf;

const SOURCE: &str = "snap-hooks/js/native/snap_getrandom_engine.c";

fn main() {
    println!("cargo:rerun-if-changed={SOURCE}");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"))
        .join("snap_getrandom_engine.so");
    let compiler = cc::Build::new()
        .pic(true)
        .opt_level(2)
        .cargo_metadata(false)
        .get_compiler();
    let status = compiler
        .to_command()
        .args([
            "-std=c11",
            "-D_GNU_SOURCE",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-shared",
            "-o",
        ])
        .arg(&out)
        .arg(SOURCE)
        .status();
    if status.as_ref().is_ok_and(std::process::ExitStatus::success) {
        return;
    }
    let host = std::env::var("HOST").unwrap_or_default();
    let target = std::env::var("TARGET").unwrap_or_default();
    if host == target {
        panic!(
            "cannot build {SOURCE} ({status:?}): the reseeding preload needs a C compiler and OpenSSL 3 headers (Debian: gcc libssl-dev)"
        );
    }
    println!(
        "cargo:warning=the getrandom engine was not built for {target} (no OpenSSL headers for it?): this snaprun cannot reseed restored Node processes"
    );
    std::fs::write(&out, b"").expect("write the stand-in");
}
