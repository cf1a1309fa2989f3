//! Randomized model test: seeded random appends (single, batch, transactional half), reads,
//! lookups, flushes, clean restarts and crashes run against the store and an in-memory model,
//! with injected write and fdatasync failures. A failed append must not be acknowledged nor
//! show up later; a crash may only lose what was not flushed; reads never return anything the
//! model does not hold.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{mpsc, Arc};

use broker::store::record_format as rf;
use broker::store::{
    FaultHandle, FaultInjector, FlushOutcome, GetMessageStatus as G, MessageStore,
    PutMessageStatus as P, StoreConfig,
};
use common::*;

const SEG: u64 = 4096;
const QUEUES: [(&str, i32); 4] = [("A", 0), ("A", 1), ("B", 0), ("C", 2)];

#[derive(Debug, Clone)]
struct M {
    topic: &'static str,
    queue_id: i32,
    key: String,
    body: Vec<u8>,
    phy: u64,
    end: u64,
    prepared: bool,
}

struct Harness {
    rng: Rng,
    clock: ManualClock,
    faults: Arc<FaultInjector>,
    cfg: StoreConfig,
    store: Option<MessageStore>,
    model: Vec<M>,
    durable_units: BTreeMap<(&'static str, i32), u64>,
}

impl Harness {
    fn store(&self) -> &MessageStore {
        self.store.as_ref().expect("store is open")
    }

    fn queue(&self, topic: &str, queue_id: i32) -> Vec<&M> {
        self.model
            .iter()
            .filter(|m| !m.prepared && m.topic == topic && m.queue_id == queue_id)
            .collect()
    }

    fn open(&mut self) {
        let e = env(&self.clock, FaultHandle::with(Arc::clone(&self.faults)));
        self.store = Some(open(&self.cfg, e));
    }

    fn random_msg(&mut self, topic: &'static str, queue_id: i32, prepared: bool) -> (Msg, M) {
        let len = self.rng.range(0, 500) as usize;
        let body = self.rng.bytes(len);
        let key = format!("k{}", self.rng.range(0, 1_000_000));
        let mut msg = Msg::new(topic, queue_id, &body).keys(&key);
        if prepared {
            msg.sys_flag = rf::TRANSACTION_PREPARED;
        }
        let m = M {
            topic,
            queue_id,
            key,
            body,
            phy: 0,
            end: 0,
            prepared,
        };
        (msg, m)
    }

    fn append(&mut self, batch: usize, fail: bool) {
        let (topic, queue_id) = QUEUES[self.rng.range(0, 4) as usize];
        let prepared = batch == 1 && self.rng.chance(10);
        let (mut buf, mut ms) = (Vec::new(), Vec::new());
        for _ in 0..batch {
            let (msg, m) = self.random_msg(topic, queue_id, prepared);
            buf.extend(msg.encode());
            ms.push(m);
        }
        if fail {
            self.faults.fail_write_in(0);
        }
        let store = self.store();
        let r = if batch == 1 {
            store.put_message(&mut buf, topic, queue_id)
        } else {
            store.put_messages(&mut buf, topic, queue_id)
        };
        self.faults.clear();
        if fail {
            assert_eq!((r.status, r.append.is_none()), (P::UNKNOWN_ERROR, true));
            return;
        }
        assert_eq!(r.status, P::PUT_OK);
        let a = r.append.unwrap();
        let expected_qo = if prepared {
            0
        } else {
            self.queue(topic, queue_id).len() as i64
        };
        assert_eq!(a.queue_offset, expected_qo);
        let mut at = a.phy_offset;
        for (m, len) in ms.iter_mut().zip(split_lengths(&buf)) {
            m.phy = at;
            m.end = at + len;
            at = m.end;
        }
        assert_eq!(at, a.end_offset);
        self.model.extend(ms);
    }

    fn check_pull(&mut self) {
        wait_dispatched(self.store());
        let (topic, queue_id) = QUEUES[self.rng.range(0, 4) as usize];
        let want = self
            .queue(topic, queue_id)
            .into_iter()
            .cloned()
            .collect::<Vec<_>>();
        let offset = self.rng.range(0, want.len() as u64 + 3) as i64;
        let max = self.rng.range(1, 12) as usize;
        let r = self
            .store()
            .get_messages("g", topic, queue_id, offset, max, u64::MAX, None)
            .unwrap();
        assert_eq!(r.max_offset, want.len() as i64);
        if offset >= want.len() as i64 {
            assert!(r.messages.is_empty());
            let ok = [
                G::OFFSET_OVERFLOW_ONE,
                G::OFFSET_OVERFLOW_BADLY,
                G::NO_MESSAGE_IN_QUEUE,
                G::NO_MATCHED_LOGIC_QUEUE,
            ];
            assert!(ok.contains(&r.status), "{:?}", r.status);
            return;
        }
        assert_eq!(r.status, G::FOUND);
        assert!(!r.messages.is_empty() && r.messages.len() <= max);
        for m in &r.messages {
            let w = &want[m.queue_offset as usize];
            assert_eq!((m.phy_offset, u64::from(m.size)), (w.phy, w.end - w.phy));
            assert_eq!(body_of(&m.region.read().unwrap()), w.body);
        }
        assert_eq!(r.messages[0].queue_offset, offset);
    }

    fn check_lookups(&mut self) {
        if self.model.is_empty() {
            return;
        }
        let i = self.rng.range(0, self.model.len() as u64) as usize;
        let m = self.model[i].clone();
        let rec = self
            .store()
            .look_message_by_offset(m.phy)
            .unwrap()
            .expect("view by offset");
        assert_eq!(body_of(&rec), m.body);
        wait_dispatched(self.store());
        let found = self
            .store()
            .query_messages(m.topic, &m.key, 32, 0, i64::MAX)
            .unwrap();
        assert!(
            found.messages.iter().any(|r| r.phy_offset == m.phy),
            "key {}",
            m.key
        );
        for r in &found.messages {
            assert!(self
                .model
                .iter()
                .any(|x| x.phy == r.phy_offset && x.key == m.key));
        }
    }

    fn flush(&mut self) {
        wait_dispatched(self.store());
        self.store().flush_now().unwrap();
        for (topic, queue_id) in QUEUES {
            let n = self.queue(topic, queue_id).len() as u64;
            self.durable_units.insert((topic, queue_id), n);
        }
        let end = self.model.last().map_or(0, |m| m.end);
        let (tx, rx) = mpsc::channel();
        self.store()
            .request_flush(end, Box::new(move |o| tx.send(o).unwrap()));
        assert_eq!(rx.recv().unwrap(), FlushOutcome::Flushed);
    }

    fn clean_restart(&mut self) {
        wait_dispatched(self.store());
        self.store.take().unwrap().shutdown().unwrap();
        for (topic, queue_id) in QUEUES {
            let n = self.queue(topic, queue_id).len() as u64;
            self.durable_units.insert((topic, queue_id), n);
        }
        self.open();
        assert!(!self.store().recovery_report().abnormal);
        self.check_all();
    }

    fn crash(&mut self, fsync_failure: bool) {
        if fsync_failure {
            self.append(1, false); // something to flush
            self.faults.fail_sync_in(0);
            assert!(self.store().flush_now().is_err());
            let (mut rec, _) = self.random_msg("A", 0, false);
            assert_eq!(
                self.store().put_message(&mut rec.encode(), "A", 0).status,
                P::SERVICE_NOT_AVAILABLE
            );
            rec.body.clear();
        }
        if self.rng.chance(50) {
            wait_dispatched(self.store());
        }
        let store = self.store.take().unwrap();
        let (durable, written) = (
            store.commit_log().flushed_offset(),
            store.commit_log().confirm_offset(),
        );
        drop(store);
        self.faults.clear();
        let root = self.cfg.store_path_root_dir.clone();
        let cut = self.rng.range(durable, written + 1);
        truncate_commit_log(&root, SEG, cut);
        self.model.retain(|m| m.end <= cut);
        for (q, n) in self.durable_units.iter_mut() {
            let survivors = self
                .model
                .iter()
                .filter(|m| !m.prepared && (m.topic, m.queue_id) == *q)
                .count();
            *n = (*n).min(survivors as u64);
        }
        if self.rng.chance(40) {
            let bound = self.durable_units.clone();
            cut_consume_queues(&root, &mut self.rng, &bound, &self.model);
        }
        if self.rng.chance(25) {
            std::fs::write(root.join("checkpoint"), vec![0u8; 4096]).unwrap();
        }
        self.open();
        assert!(self.store().recovery_report().abnormal);
        self.check_all();
    }

    fn check_all(&mut self) {
        wait_dispatched(self.store());
        for (topic, queue_id) in QUEUES {
            let want = self.queue(topic, queue_id);
            let got = read_queue(self.store(), topic, queue_id, 0);
            assert_eq!(got.len(), want.len(), "queue {topic}/{queue_id}");
            for ((qo, rec), (i, w)) in got.iter().zip(want.iter().enumerate()) {
                assert_eq!((*qo, body_of(rec)), (i as i64, w.body.clone()));
            }
        }
    }
}

/// Record lengths of concatenated records.
fn split_lengths(buf: &[u8]) -> Vec<u64> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let l = rf::parse_layout(&buf[pos..]).unwrap();
        out.push(l.total_size as u64);
        pos += l.total_size;
    }
    out
}

fn cut_consume_queues(
    root: &Path,
    rng: &mut Rng,
    durable: &BTreeMap<(&str, i32), u64>,
    model: &[M],
) {
    for (topic, queue_id) in QUEUES {
        let dir = root
            .join("consumequeue")
            .join(topic)
            .join(queue_id.to_string());
        let total = model
            .iter()
            .filter(|m| !m.prepared && m.topic == topic && m.queue_id == queue_id)
            .count() as u64;
        let lo = durable.get(&(topic, queue_id)).copied().unwrap_or(0) * 20;
        let cut = rng.range(lo, (total * 20).max(lo) + 1);
        for e in std::fs::read_dir(&dir).into_iter().flatten() {
            let e = e.unwrap();
            let base: u64 = e.file_name().to_str().unwrap().parse().unwrap();
            if base > cut {
                std::fs::remove_file(e.path()).unwrap();
            } else if base + 200 > cut {
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(e.path())
                    .unwrap();
                f.set_len(cut - base).unwrap();
            }
        }
    }
}

fn run(seed: u64, steps: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = small_config(dir.path());
    cfg.flush_interval_commit_log_ms = 3_600_000;
    cfg.flush_interval_consume_queue_ms = 3_600_000;
    let mut h = Harness {
        rng: Rng::new(seed),
        clock: ManualClock::new(1_700_000_000_000),
        faults: FaultInjector::new(),
        cfg,
        store: None,
        model: Vec::new(),
        durable_units: BTreeMap::new(),
    };
    h.open();
    for _ in 0..steps {
        let advance = h.rng.range(0, 800) as i64;
        h.clock.advance(advance);
        match h.rng.range(0, 100) {
            0..=34 => h.append(1, false),
            35..=44 => {
                let n = h.rng.range(2, 6) as usize;
                h.append(n, false)
            }
            45..=52 => {
                let n = h.rng.range(1, 4) as usize;
                h.append(n, true)
            }
            53..=67 => h.check_pull(),
            68..=74 => h.check_lookups(),
            75..=83 => h.flush(),
            84..=87 => h.clean_restart(),
            88..=96 => h.crash(false),
            _ => h.crash(true),
        }
    }
    h.check_all();
}

#[test]
fn randomized_operations_match_the_model() {
    let seeds: u64 = std::env::var("STORE_MODEL_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    for seed in 0..seeds {
        println!("seed {seed}");
        run(seed, 150);
    }
}
