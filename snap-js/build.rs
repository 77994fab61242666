//! Links `snapjs` as a position-dependent executable (`-no-pie`).
//!
//! A restored instance starts with an exec of this binary, so what the
//! dynamic loader does at every start is paid on every on-demand restore.
//! As a PIE, snapjs carried about 25,000 relative relocations that the
//! loader applied at each exec, writing (and so copying) every page of
//! `.data.rel.ro` and `.got`, only for the restore to map the snapshot's
//! memory over the program's state anyway. Under the native engine's fixed
//! layout (`ADDR_NO_RANDOMIZE`) a PIE is loaded at the same address every
//! time, so it gains nothing from being one. The objects stay
//! position-independent (the linker resolves their relocations at link
//! time); only the final link changes, so no crate is rebuilt for it.
//! Figures: docs/snapjs.md, "Binary and load time".

fn main() {
    println!("cargo:rustc-link-arg-bin=snapjs=-no-pie");
}
