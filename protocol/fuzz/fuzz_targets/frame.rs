//! Feeds arbitrary bytes to the two-phase frame decoder and decodes every frame it yields.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use protocol::{frame, RemotingCommand};

fuzz_target!(|data: &[u8]| {
    if let Ok(Some(n)) = frame::check(data, frame::DEFAULT_MAX_FRAME_BYTES) {
        assert!(n <= data.len());
    }
    let mut buf = BytesMut::from(data);
    while let Ok(Some(payload)) = frame::split(&mut buf, frame::DEFAULT_MAX_FRAME_BYTES) {
        let _ = RemotingCommand::decode(payload);
    }
});
