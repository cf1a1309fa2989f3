//! Feeds arbitrary bytes to the properties parsers; parsing must be a fixpoint.
#![no_main]

use libfuzzer_sys::fuzz_target;
use protocol::message::{find_property, keys, Properties};

fuzz_target!(|data: &[u8]| {
    let props = Properties::decode(data);
    assert_eq!(Properties::decode(&props.to_bytes()), props);
    let _ = find_property(data, keys::TAGS);
});
