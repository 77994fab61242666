//! Writing results to stdout. A closed pipe (`snaprun inspect | head`) ends
//! the output quietly instead of panicking as `println!` would.

use std::io::{self, Write};

/// Writes `text` to stdout.
pub(crate) fn print(text: &str) -> anyhow::Result<()> {
    let mut stdout = io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("write to stdout"))
        }
        _ => Ok(()),
    }
}
