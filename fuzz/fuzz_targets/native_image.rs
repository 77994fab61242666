//! The native engine's readers of snapshot and process data: the engine
//! state a native manifest carries (regions of the memory image, expected
//! mappings, files, signals), and the memory map text a checkpoint and a
//! restore read to lay out the image. Each input goes to both.

#![no_main]

use libfuzzer_sys::fuzz_target;
use snap::native::fuzz::{decode_state, parse_maps};

fuzz_target!(|data: &[u8]| {
    let _ = decode_state(data);
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = parse_maps(text);
    }
});
