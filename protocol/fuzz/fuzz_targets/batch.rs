//! Feeds arbitrary bytes to the batch-body decoder; decoded items must cover the input.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use protocol::message::decode_batch;

fuzz_target!(|data: &[u8]| {
    if let Ok(items) = decode_batch(&Bytes::copy_from_slice(data)) {
        let total: usize = items
            .iter()
            .map(|i| 22 + i.body.len() + i.properties.len())
            .sum();
        assert_eq!(total, data.len());
    }
});
