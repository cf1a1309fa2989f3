//! Feeds arbitrary bytes to the command decoder and to both header codecs; whatever decodes
//! must re-encode.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use protocol::{serialize, RemotingCommand};

fuzz_target!(|data: &[u8]| {
    if let Ok(cmd) = RemotingCommand::decode(Bytes::copy_from_slice(data)) {
        let _ = cmd.encode_to_bytes();
    }
    let _ = serialize::json::decode(data);
    let _ = serialize::binary::decode(data);
});
