//! Manifest decoding (`snap::snapshot::decode_manifest`), the first thing
//! `Snapshot::open` does with a file it does not trust.
//!
//! Each input is decoded twice: as a whole manifest file, which mostly
//! exercises the header checks, and as a body behind a correct header, so
//! the bincode decoder is reached past the checksum.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use snap::Sha256Digest;
use snap::snapshot::{FORMAT_VERSION, MAGIC, MAX_MANIFEST_BODY, decode_manifest};

fuzz_target!(|data: &[u8]| {
    let path = Path::new("manifest.snap");
    let _ = decode_manifest(path, data);

    let Ok(len) = u32::try_from(data.len()) else {
        return;
    };
    if len > MAX_MANIFEST_BODY {
        return;
    }
    let mut file = Vec::with_capacity(48 + data.len());
    file.extend_from_slice(&MAGIC);
    file.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    file.extend_from_slice(&len.to_le_bytes());
    file.extend_from_slice(&Sha256Digest::of(data).0);
    file.extend_from_slice(data);
    if let Ok(manifest) = decode_manifest(path, &file) {
        let _ = manifest.annotation("request");
    }
});
