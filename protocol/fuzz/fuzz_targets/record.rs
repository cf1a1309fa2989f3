//! Feeds arbitrary bytes to the stored-record decoders (owned and view) and the append patcher;
//! the two decoders must agree.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use protocol::message::{
    decode_records, patch_append_fields, MessageExt, RecordRead, RecordView, ViewRead,
};

fuzz_target!(|data: &[u8]| {
    let bytes = Bytes::copy_from_slice(data);
    let owned = MessageExt::decode(&bytes);
    match RecordView::parse(data) {
        Ok(ViewRead::Message(v)) => {
            let _ = (v.verify_crc(), v.tags_code(), v.topic_str());
            assert!(matches!(owned, Ok(RecordRead::Message(_, n)) if n == v.raw.len()));
        }
        Ok(ViewRead::Blank(n)) => assert_eq!(owned, Ok(RecordRead::Blank(n))),
        Ok(ViewRead::Incomplete) => assert_eq!(owned, Ok(RecordRead::Incomplete)),
        Err(_) => assert!(owned.is_err()),
    }
    let _ = decode_records(&bytes);
    let _ = patch_append_fields(&mut data.to_vec(), 1, 2, 3);
});
