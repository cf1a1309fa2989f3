//! Bytes from disk never cause a panic: record parsing on arbitrary and mutated bytes, and a
//! whole store opened over garbage commitlog, consume-queue, index and checkpoint files.

mod common;

use broker::store::record_format as rf;
use broker::store::{FaultHandle, MessageStore};
use common::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn record_parsing_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = rf::read_head(&bytes);
        let _ = rf::parse_layout(&bytes);
        let _ = rf::parse_dispatch(&bytes, Some(0), true);
        let _ = rf::prefix_store_timestamp(&bytes);
        let _ = rf::find_property(&bytes, "TAGS");
    }

    #[test]
    fn mutated_records_are_parsed_or_rejected(flips in proptest::collection::vec((0usize..200, any::<u8>()), 1..6)) {
        let mut rec = Msg::new("Topic", 1, b"some body").keys("a b").tags("t").encode();
        for (pos, val) in flips {
            let n = rec.len();
            rec[pos % n] = val;
        }
        if let Ok(info) = rf::parse_dispatch(&rec, None, false) {
            prop_assert!(info.total_size as usize == rec.len());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn a_store_opens_over_garbage_files(
        garbage in proptest::collection::vec(any::<u8>(), 1..3000),
        at in 0u64..4000,
        target in 0u8..4,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let clock = ManualClock::new(1_700_000_000_000);
        let cfg = small_config(dir.path());
        {
            let store = open(&cfg, env(&clock, FaultHandle::none()));
            for i in 0..30 {
                clock.advance(700);
                let mut rec = Msg::new("G", i % 2, &[i as u8; 150]).keys(&format!("k{i}")).encode();
                prop_assert!(store.put_message(&mut rec, "G", i % 2).is_ok());
            }
            wait_dispatched(&store);
            store.flush_now().unwrap();
        }
        let path = match target {
            0 => dir.path().join("commitlog/00000000000000004096"),
            1 => dir.path().join("consumequeue/G/0/00000000000000000000"),
            2 => std::fs::read_dir(dir.path().join("index")).unwrap().next().unwrap().unwrap().path(),
            _ => dir.path().join("checkpoint"),
        };
        let mut bytes = std::fs::read(&path).unwrap();
        let at = (at as usize).min(bytes.len());
        let end = (at + garbage.len()).min(bytes.len());
        bytes[at..end].copy_from_slice(&garbage[..end - at]);
        std::fs::write(&path, bytes).unwrap();
        let store = MessageStore::open_with(cfg.clone(), env(&clock, FaultHandle::none()));
        if let Ok(store) = store {
            store.start().unwrap();
            wait_dispatched(&store);
            for q in 0..2 {
                for (_, rec) in read_queue(&store, "G", q, 0) {
                    prop_assert!(rf::parse_dispatch(&rec, None, true).is_ok());
                }
            }
            let _ = store.query_messages("G", "k3", 10, 0, i64::MAX).unwrap();
        }
    }
}
