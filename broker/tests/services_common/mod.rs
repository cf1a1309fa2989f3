//! Helpers for the schedule / retry / transaction tests: a started store on a temp dir with a
//! manual clock, message builders, the send-side rewrites as the send processor applies them,
//! and queue readers.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use broker::inner_message::{self as im, QueueRecord};
use broker::schedule::delay::rewrite_for_delay;
use broker::store::{AppendResult, FaultHandle, MessageStore, StoreConfig};
use broker::transaction::half::to_half_message;
use bytes::Bytes;
use protocol::message::{sysflag, MessageExt};

use crate::common::{self, ManualClock};

/// STOREHOST of every test record.
pub fn store_host() -> SocketAddr {
    "127.0.0.1:10911".parse().expect("literal address")
}

/// BORNHOST of every test record.
pub fn born_host() -> SocketAddr {
    "10.0.0.7:40000".parse().expect("literal address")
}

/// A started store in a temp dir with a manual clock.
pub struct TestStore {
    pub dir: tempfile::TempDir,
    pub clock: ManualClock,
    pub config: StoreConfig,
    pub store: Arc<MessageStore>,
}

impl TestStore {
    /// Default levels (`1s 5s 10s ...`).
    pub fn new() -> Self {
        Self::with_levels("1s 5s 10s 30s 1m 2m 3m 4m 5m 6m 7m 8m 9m 10m 20m 30m 1h 2h")
    }

    /// A store with `messageDelayLevel = levels`, clock at 1 000 000 000 ms.
    pub fn with_levels(levels: &str) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = ManualClock::new(1_000_000_000);
        let mut config = common::small_config(dir.path());
        config.commit_log_segment_bytes = 64 * 1024;
        config.message_delay_level = levels.to_string();
        let store = Arc::new(common::open(
            &config,
            common::env(&clock, FaultHandle::none()),
        ));
        TestStore {
            dir,
            clock,
            config,
            store,
        }
    }

    /// Clean shutdown and reopen of the same directory (callers drop other `Arc`s first).
    pub fn restart(&mut self) {
        self.store.shutdown().expect("clean shutdown");
        let env = common::env(&self.clock, FaultHandle::none());
        self.store = Arc::new(common::open(&self.config, env));
    }

    /// Waits until every written record is in the consume queues.
    pub fn dispatched(&self) {
        common::wait_dispatched(&self.store);
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}

/// A message for `topic`/`queue_id` born at `born_ms`.
pub fn message(
    topic: &str,
    queue_id: i32,
    body: &[u8],
    props: &[(&str, &str)],
    born_ms: i64,
) -> MessageExt {
    let mut m = MessageExt::new(topic, Bytes::copy_from_slice(body));
    m.queue_id = queue_id;
    m.born_timestamp = born_ms;
    m.born_host = born_host();
    m.store_host = store_host();
    m.properties = props.iter().copied().collect();
    m
}

/// Stores `m` as the send processor would: with the delay rewrite when `DELAY > 0`.
pub fn send(store: &MessageStore, mut m: MessageExt, max_level: i32) -> AppendResult {
    if let Some(d) = rewrite_for_delay(&m.topic, m.queue_id, m.sys_flag, &m.properties, max_level) {
        m.topic = d.topic.to_string();
        m.queue_id = d.queue_id;
        m.properties = d.properties;
    }
    let put = im::put_message_ext(store, &m);
    assert!(im::is_stored(&put), "put failed: {:?}", put.status);
    put.append.expect("stored")
}

/// Stores a transactional prepare of `m` as a half message (the send processor's §8 step 2).
pub fn send_half(store: &MessageStore, mut m: MessageExt) -> AppendResult {
    m.sys_flag |= sysflag::TRANSACTION_PREPARED_TYPE;
    m.properties.insert("TRAN_MSG", "true");
    let h = to_half_message(&m.topic, m.queue_id, m.sys_flag, &m.properties);
    m.topic = h.topic.to_string();
    m.queue_id = h.queue_id;
    m.sys_flag = h.sys_flag;
    m.properties = h.properties;
    let put = im::put_message_ext(store, &m);
    assert!(im::is_stored(&put), "half put failed: {:?}", put.status);
    put.append.expect("stored")
}

/// Every record of a queue with its decoded message.
pub fn read_all(
    store: &MessageStore,
    topic: &str,
    queue_id: i32,
) -> Vec<(QueueRecord, MessageExt)> {
    let mut out = Vec::new();
    let mut offset = 0;
    loop {
        let b = im::read_queue_batch(store, topic, queue_id, offset, 32).expect("read queue");
        for r in b.records {
            let m = im::decode_record(&r.record)
                .expect("decode")
                .expect("a message");
            out.push((r, m));
        }
        if b.next_offset <= offset || b.next_offset >= b.max_offset {
            return out;
        }
        offset = b.next_offset;
    }
}

/// Number of messages in a queue (its max offset).
pub fn count(store: &MessageStore, topic: &str, queue_id: i32) -> i64 {
    store.max_offset_in_queue(topic, queue_id)
}
