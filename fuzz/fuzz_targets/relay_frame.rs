//! The relay's frame parser (`snaprun::relay::frame::Frame::decode`), fed
//! a stream of bytes the way `snaprun` reads the relay's pipe: decode frames
//! from the front until the buffer holds only part of one or an error.

#![no_main]

use libfuzzer_sys::fuzz_target;
use snaprun::relay::frame::Frame;

fuzz_target!(|data: &[u8]| {
    let mut at = 0;
    while let Ok(Some((_frame, used))) = Frame::decode(&data[at..]) {
        // A decoded frame always makes progress and stays inside the buffer.
        assert!(used > 0 && used <= data.len() - at, "frame of {used} bytes");
        at += used;
    }
});
