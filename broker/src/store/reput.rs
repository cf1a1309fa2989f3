//! The dispatcher ("reput"): builds consume queues and the key index from the commitlog
//! (RocketMQ `ReputMessageService` + `CommitLogDispatcher`s).
//!
//! Owns the reput offset (how far the commitlog has been dispatched), the `reput` thread that
//! tails the commitlog, and the arriving-message listener. The same `Dispatcher` rebuilds
//! consume queues and index synchronously during start-up recovery. Dispatch rules: prepared
//! and rollback transactional records get no consume-queue unit; rollback records are not
//! indexed; on `SCHEDULE_TOPIC_XXXX` the tags code is the delivery time (store time + the
//! record's delay level).

use std::sync::atomic::{fence, AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::store::commit_log::{lock, CommitLog};
use crate::store::commit_log_recover::{WalkStep, WalkStop};
use crate::store::config::StoreConfig;
use crate::store::consume_queue::CqUnit;
use crate::store::consume_queue_table::{is_safe_topic_dir, ConsumeQueueTable};
use crate::store::index_file::IndexEntryIn;
use crate::store::index_service::IndexService;
use crate::store::record_format::{self as rf, DispatchInfo};
use crate::store::recover::RecoveryReport;
use crate::store::service::Signal;
use crate::store::time::Clock;

/// Called after units were added to a consume queue: `(topic, queue_id, max_offset)`. The
/// broker uses it to wake long-polling pulls. Runs on the `reput` thread; keep it quick.
pub type ArrivingListener = Box<dyn FnMut(&str, i32, i64) + Send>;

/// Units collected for one topic-queue within a chunk.
struct Group {
    topic: String,
    queue_id: i32,
    units: Vec<(i64, CqUnit)>,
}

/// Turns commitlog records into consume-queue units and index entries.
pub(crate) struct Dispatcher {
    pub(crate) cq_table: Arc<ConsumeQueueTable>,
    pub(crate) index: Option<Arc<IndexService>>,
    pub(crate) delay_levels_ms: Vec<i64>,
    pub(crate) chunk_bytes: u64,
    pub(crate) listener: Mutex<Option<ArrivingListener>>,
    pub(crate) clock: Clock,
}

impl Dispatcher {
    /// A dispatcher writing into `cq_table` and `index` (when enabled).
    pub(crate) fn new(
        cq_table: Arc<ConsumeQueueTable>,
        index: Option<Arc<IndexService>>,
        config: &StoreConfig,
        clock: Clock,
    ) -> Result<Self> {
        Ok(Dispatcher {
            cq_table,
            index,
            delay_levels_ms: config.delay_levels_ms()?,
            chunk_bytes: config.max_message_bytes.max(1 << 20),
            listener: Mutex::new(None),
            clock,
        })
    }

    fn tags_code(&self, info: &DispatchInfo<'_>) -> i64 {
        if info.topic == rf::SCHEDULE_TOPIC {
            if let Some(level) = info.delay_level {
                let max = self.delay_levels_ms.len() as i32;
                let level = level.min(max);
                if level > 0 {
                    let delay = self.delay_levels_ms[(level - 1) as usize];
                    return info.store_timestamp + delay;
                }
            }
        }
        info.tags_code()
    }

    fn collect(
        &self,
        at: u64,
        info: &DispatchInfo<'_>,
        groups: &mut Vec<Group>,
        keys: &mut Vec<IndexEntryIn>,
    ) {
        let tx = info.transaction_type();
        if tx != rf::TRANSACTION_PREPARED && tx != rf::TRANSACTION_ROLLBACK {
            let unit = CqUnit {
                phy_offset: at as i64,
                size: info.total_size as i32,
                tags_code: self.tags_code(info),
            };
            let found = groups
                .iter_mut()
                .rev()
                .find(|g| g.queue_id == info.queue_id && g.topic == info.topic);
            match found {
                Some(g) => g.units.push((info.queue_offset, unit)),
                None => groups.push(Group {
                    topic: info.topic.to_string(),
                    queue_id: info.queue_id,
                    units: vec![(info.queue_offset, unit)],
                }),
            }
        }
        if self.index.is_some() && tx != rf::TRANSACTION_ROLLBACK {
            let mut push = |k: &str| {
                keys.push(IndexEntryIn {
                    key: format!("{}#{k}", info.topic),
                    phy_offset: at as i64,
                    store_timestamp: info.store_timestamp,
                })
            };
            if let Some(ks) = &info.keys {
                ks.split(' ').filter(|k| !k.is_empty()).for_each(&mut push);
            }
            if let Some(u) = &info.uniq_key {
                push(u);
            }
        }
    }

    /// Dispatches the records of one chunk starting at `from` (below `limit`). Returns the
    /// walk progress and the store time of the last dispatched record.
    pub(crate) fn dispatch_chunk(
        &self,
        commit_log: &CommitLog,
        from: u64,
        limit: u64,
        notify: bool,
    ) -> Result<(WalkStep, Option<i64>)> {
        let mut groups: Vec<Group> = Vec::new();
        let mut keys = Vec::new();
        let mut last_ts = None;
        let step = commit_log.walk_chunk(from, limit, false, self.chunk_bytes, |at, info, _| {
            last_ts = Some(info.store_timestamp);
            self.collect(at, info, &mut groups, &mut keys);
        })?;
        let mut arrived = Vec::with_capacity(groups.len());
        for g in &groups {
            if !is_safe_topic_dir(&g.topic) {
                log::error!(
                    "record topic {:?} cannot have a consume queue; skipped",
                    g.topic
                );
                continue;
            }
            let cq = self.cq_table.find_or_create(&g.topic, g.queue_id)?;
            let mut i = 0;
            while i < g.units.len() {
                // A run of consecutive queue offsets goes into one write.
                let first = g.units[i].0;
                let mut j = i + 1;
                while j < g.units.len() && g.units[j].0 == first + (j - i) as i64 {
                    j += 1;
                }
                let run: Vec<CqUnit> = g.units[i..j].iter().map(|(_, u)| *u).collect();
                cq.put_units(first, &run)?;
                i = j;
            }
            arrived.push((cq.max_offset(), g));
        }
        if let Some(index) = &self.index {
            index.build(&keys, (self.clock)())?;
        }
        if notify && !arrived.is_empty() {
            if let Some(listener) = lock(&self.listener).as_mut() {
                for (max, g) in arrived {
                    listener(&g.topic, g.queue_id, max);
                }
            }
        }
        Ok((step, last_ts))
    }

    /// Dispatches everything in `[from, to)` on the calling thread (start-up recovery).
    pub(crate) fn dispatch_range(&self, commit_log: &CommitLog, from: u64, to: u64) -> Result<u64> {
        let mut pos = from;
        while pos < to {
            let (step, _) = self.dispatch_chunk(commit_log, pos, to, false)?;
            pos = step.next;
            if let Some(stop) = step.stop {
                if stop != WalkStop::Limit {
                    log::error!("recovery dispatch stopped at {pos}: {stop:?}");
                }
                break;
            }
        }
        Ok(pos)
    }
}

/// The `reput` thread's state.
pub(crate) struct ReputService {
    pub(crate) commit_log: Arc<CommitLog>,
    pub(crate) dispatcher: Dispatcher,
    pub(crate) reput_offset: AtomicU64,
    /// Store time of the last dispatched record (for the checkpoint's logics timestamp).
    pub(crate) last_dispatched_ts: AtomicI64,
    pub(crate) signal: Signal,
    /// Set while the thread polls every [`REPUT_POLL`] (it dispatched within
    /// [`REPUT_BUSY_WINDOW`]); appends then skip the wake-up, so a busy broker pays no futex
    /// call and no context switch per message and dispatches in larger chunks.
    polling: AtomicBool,
}

/// Poll period of a busy reput thread: short enough to add little consume latency, long
/// enough to dispatch many records per round under load (RocketMQ's reput sleeps 1 ms).
const REPUT_POLL: Duration = Duration::from_micros(200);
/// How long after its last dispatch the reput thread keeps polling before it goes back to
/// waiting for wake-ups.
const REPUT_BUSY_WINDOW: Duration = Duration::from_millis(20);
/// Wait of an idle reput thread (a wake-up ends it early).
const REPUT_IDLE_WAIT: Duration = Duration::from_millis(100);

impl ReputService {
    /// The service for a recovered store: dispatching resumes at the recovered end, and every
    /// append wakes it.
    pub(crate) fn new(
        commit_log: Arc<CommitLog>,
        dispatcher: Dispatcher,
        recovery: &RecoveryReport,
    ) -> Arc<Self> {
        let reput = Arc::new(ReputService {
            commit_log: Arc::clone(&commit_log),
            dispatcher,
            reput_offset: AtomicU64::new(recovery.commit_log_end),
            last_dispatched_ts: AtomicI64::new(recovery.last_store_timestamp),
            signal: Signal::default(),
            polling: AtomicBool::new(false),
        });
        // Weak: the commitlog must not keep its dispatcher alive (no reference cycle).
        let weak = Arc::downgrade(&reput);
        commit_log.set_append_notify(Box::new(move || {
            if let Some(r) = weak.upgrade() {
                // Pairs with the fence in `idle_wait`: either this sees `polling` cleared or
                // the reput thread sees the new confirm offset.
                fence(Ordering::SeqCst);
                if !r.polling.load(Ordering::Relaxed) {
                    r.signal.wakeup();
                }
            }
        }));
        reput
    }

    /// Bytes written to the commitlog but not yet dispatched.
    pub(crate) fn behind(&self) -> u64 {
        self.commit_log
            .confirm_offset()
            .saturating_sub(self.reput_offset.load(Ordering::Acquire))
    }

    /// Body of the `reput` thread.
    pub(crate) fn run(&self) {
        let mut last_dispatch = Instant::now();
        while !self.signal.is_stopped() {
            let from = self.reput_offset.load(Ordering::Acquire);
            let confirm = self.commit_log.confirm_offset();
            if from >= confirm {
                self.idle_wait(from, last_dispatch.elapsed() < REPUT_BUSY_WINDOW);
                continue;
            }
            last_dispatch = Instant::now();
            match self
                .dispatcher
                .dispatch_chunk(&self.commit_log, from, confirm, true)
            {
                Ok((step, ts)) => self.advance(step, ts, confirm),
                Err(e) => {
                    log::error!("dispatch at commitlog offset {from} failed, will retry: {e}");
                    self.signal.wait(Duration::from_millis(100));
                }
            }
        }
    }

    /// Nothing to dispatch at `from`: poll briefly while busy, else wait for a wake-up.
    fn idle_wait(&self, from: u64, busy: bool) {
        if busy {
            self.polling.store(true, Ordering::Relaxed);
            self.signal.wait(REPUT_POLL);
            return;
        }
        self.polling.store(false, Ordering::Relaxed);
        // Pairs with the fence in the append notification (no lost wake-up).
        fence(Ordering::SeqCst);
        if self.commit_log.confirm_offset() > from {
            return;
        }
        self.signal.wait(REPUT_IDLE_WAIT);
    }

    fn advance(&self, step: WalkStep, ts: Option<i64>, confirm: u64) {
        if let Some(ts) = ts {
            self.last_dispatched_ts.store(ts, Ordering::Release);
        }
        let mut next = step.next;
        match step.stop {
            None | Some(WalkStop::Limit) => {}
            Some(why) if next < confirm => {
                // Bytes this process wrote and confirmed are unreadable: skip the segment
                // rather than stall every consumer.
                let seg = self.commit_log.segment_bytes();
                let skip_to = (next / seg + 1) * seg;
                log::error!("cannot dispatch commitlog at {next} ({why:?}); skipping to {skip_to}");
                next = skip_to.min(confirm).max(self.commit_log.min_offset());
            }
            Some(_) => {}
        }
        self.reput_offset.store(next, Ordering::Release);
    }
}
