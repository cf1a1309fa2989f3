//! Helpers shared by the store integration tests: small configs, a controllable clock, a
//! record builder, dispatch waiting (polling with a deadline, never sleeping) and a seeded RNG.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::Path;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use broker::store::record_format::{self as rf, RecordFields};
use broker::store::time::Clock;
use broker::store::{FaultHandle, MessageStore, StoreConfig, StoreEnv};

/// A manual clock: `now` returns the value, `advance` moves it.
#[derive(Clone)]
pub struct ManualClock(pub Arc<AtomicI64>);

impl ManualClock {
    pub fn new(start_ms: i64) -> Self {
        ManualClock(Arc::new(AtomicI64::new(start_ms)))
    }
    pub fn clock(&self) -> Clock {
        let c = Arc::clone(&self.0);
        Arc::new(move || c.load(Ordering::SeqCst))
    }
    pub fn advance(&self, ms: i64) -> i64 {
        self.0.fetch_add(ms, Ordering::SeqCst) + ms
    }
    pub fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A tiny-file config: 4 KiB commitlog segments, 10-unit consume-queue files, small index files.
pub fn small_config(root: &Path) -> StoreConfig {
    let mut c = StoreConfig::with_root(root);
    c.commit_log_segment_bytes = 4096;
    c.consume_queue_file_bytes = 10 * 20;
    c.max_message_bytes = 2048;
    c.max_hash_slot_num = 8;
    c.max_index_num = 32;
    c.flush_interval_commit_log_ms = 20;
    c.flush_interval_consume_queue_ms = 50;
    c
}

pub fn env(clock: &ManualClock, faults: FaultHandle) -> StoreEnv {
    StoreEnv {
        utc_offset_secs: Some(0),
        faults,
        clock: clock.clock(),
        ..StoreEnv::default()
    }
}

/// Opens and starts a store.
pub fn open(config: &StoreConfig, env: StoreEnv) -> MessageStore {
    let store = MessageStore::open_with(config.clone(), env).expect("open store");
    store.start().expect("start store");
    store
}

/// One message to encode.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Msg {
    pub topic: String,
    pub queue_id: i32,
    pub body: Vec<u8>,
    pub tags: Option<String>,
    pub keys: Option<String>,
    pub uniq_key: Option<String>,
    pub delay: Option<String>,
    pub sys_flag: i32,
}

impl Msg {
    pub fn new(topic: &str, queue_id: i32, body: &[u8]) -> Self {
        Msg {
            topic: topic.to_string(),
            queue_id,
            body: body.to_vec(),
            ..Msg::default()
        }
    }
    pub fn tags(mut self, t: &str) -> Self {
        self.tags = Some(t.to_string());
        self
    }
    pub fn keys(mut self, k: &str) -> Self {
        self.keys = Some(k.to_string());
        self
    }
    pub fn uniq(mut self, u: &str) -> Self {
        self.uniq_key = Some(u.to_string());
        self
    }

    pub fn encode(&self) -> Vec<u8> {
        let host = SocketAddrV4::new(Ipv4Addr::new(127, 0, 0, 1), 10911);
        let mut props: Vec<(&str, &str)> = Vec::new();
        if let Some(t) = &self.tags {
            props.push(("TAGS", t));
        }
        if let Some(k) = &self.keys {
            props.push(("KEYS", k));
        }
        if let Some(u) = &self.uniq_key {
            props.push(("UNIQ_KEY", u));
        }
        if let Some(d) = &self.delay {
            props.push(("DELAY", d));
        }
        rf::encode_record(&RecordFields {
            topic: &self.topic,
            queue_id: self.queue_id,
            flag: 0,
            sys_flag: self.sys_flag,
            born_timestamp: 1,
            born_host: host,
            store_host: host,
            reconsume_times: 0,
            prepared_tx_offset: 0,
            body: &self.body,
            properties: &props,
        })
    }
}

/// Body bytes of a stored record.
pub fn body_of(record: &[u8]) -> Vec<u8> {
    let l = rf::parse_layout(record).expect("valid record");
    record[l.body_pos..l.body_pos + l.body_len].to_vec()
}

/// Polls until everything written is dispatched (deadline 10 s).
pub fn wait_dispatched(store: &MessageStore) {
    wait_until("dispatch", || store.dispatch_behind_bytes() == 0);
}

/// Polls `cond` until true, panicking after 10 s.
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::yield_now();
    }
}

/// All records of a queue from `from`, read through `get_messages`.
pub fn read_queue(
    store: &MessageStore,
    topic: &str,
    queue_id: i32,
    from: i64,
) -> Vec<(i64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut offset = from;
    loop {
        let r = store
            .get_messages("g", topic, queue_id, offset, 32, u64::MAX, None)
            .expect("get_messages");
        for m in &r.messages {
            out.push((
                m.queue_offset,
                m.region.read().expect("read region").to_vec(),
            ));
        }
        if r.next_begin_offset <= offset || r.next_begin_offset >= r.max_offset {
            return out;
        }
        offset = r.next_begin_offset;
    }
}

/// xorshift64* — a seeded, dependency-free RNG.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in `[lo, hi)` (hi > lo).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo)
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.range(0, 100) < percent
    }
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// Truncates the commitlog at global offset `x`: the segment holding it is cut to `x` (the
/// store re-extends it with zeros), later segments are deleted — the page cache lost
/// everything past `x`.
pub fn truncate_commit_log(root: &Path, segment_bytes: u64, x: u64) {
    let dir = root.join("commitlog");
    for e in std::fs::read_dir(&dir).unwrap() {
        let e = e.unwrap();
        let base: u64 = e.file_name().to_str().unwrap().parse().unwrap();
        if base > x {
            std::fs::remove_file(e.path()).unwrap();
        } else if base + segment_bytes > x {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(e.path())
                .unwrap();
            f.set_len(x - base).unwrap();
        }
    }
}
