//! Restores that map memory from the page images instead of copying it.
//!
//! `scripts/install-criu.sh` builds CRIU with `scripts/criu-map-pages.patch`.
//! A restore whose CRIU runs with `CRIU_MAP_PAGES=1` then maps each run of
//! dumped pages of plain private anonymous memory `MAP_PRIVATE` from the
//! pages image, where CRIU would read it into place. The restored tree
//! starts without its memory copied; reads fault pages in from the page
//! cache, which every copy restored from the same images shares; a write
//! copies just the page written. The patch's header says what else changes.

use std::path::Path;
use std::process::{Command, Stdio};

/// The variable the patched CRIU reads.
pub(super) const ENV: &str = "CRIU_MAP_PAGES";

/// Whether `binary` has the patch: `criu check --feature map_pages`
/// succeeds only there.
pub(super) fn supported(binary: &Path) -> bool {
    Command::new(binary)
        .args(["check", "--feature", "map_pages"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}
