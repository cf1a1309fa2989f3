//! `ScheduleMessageService` (RocketMQ `ScheduleMessageService`): one thread, `schedule`, that
//! delivers due messages of every delay level's `SCHEDULE_TOPIC_XXXX` queue to their real
//! topic and keeps each level's progress in `config/delayOffset.json`.
//!
//! [`deliver_level`] is one pass over one level at an explicit `now_ms` (tests drive it, or
//! [`ScheduleMessageService::run_once`], directly); the thread repeats passes, sleeping until
//! the nearest delivery time (at most ~100 ms while a level is drained), and persists the
//! offsets every `persist_interval_ms` and at shutdown.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::Result;
use crate::inner_message::{self as im, QueueRecord};
use crate::manager::config_file::{config_file_path, write_snapshot, ConfigFile};
use crate::schedule::delay::{self, DELAY_FOR_A_PERIOD_MS, DELAY_FOR_A_WHILE_MS, SCHEDULE_TOPIC};
use crate::schedule::offset_table::DelayOffsetTable;
use crate::service_thread::{ServiceSignal, ThreadSlot};
use crate::store::commit_log::lock;
use crate::store::time::{system_clock, Clock};
use crate::store::{GetMessageStatus as G, MessageStore};

/// Units read from a schedule queue per store call.
const BATCH_UNITS: usize = 32;

/// Settings of the schedule service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleConfig {
    /// Delay of level 1, 2, ... in ms: must be the store's `messageDelayLevel` table (the
    /// dispatcher computes delivery times with it).
    pub delay_levels_ms: Vec<i64>,
    /// `flushDelayOffsetInterval`: ms between persists of `delayOffset.json` (10 000).
    pub persist_interval_ms: u64,
    /// Deliveries per level per pass, so one busy level cannot starve the others (1024).
    pub max_deliveries_per_pass: usize,
}

impl ScheduleConfig {
    /// The store's delay table with default intervals.
    pub fn from_store(store: &MessageStore) -> Result<Self> {
        Ok(ScheduleConfig {
            delay_levels_ms: store.config().delay_levels_ms()?,
            persist_interval_ms: 10_000,
            max_deliveries_per_pass: 1024,
        })
    }
}

/// What one pass over a level did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LevelPass {
    /// Messages re-put to their real topic.
    pub delivered: usize,
    /// Units skipped (undecodable, no REAL_TOPIC, illegal, check-max topic).
    pub skipped: usize,
    /// The level's new offset (next unit to look at).
    pub next_offset: i64,
    /// When to look at this level again, in ms (0: more work is waiting).
    pub wait_ms: u64,
    /// A put failed transiently: retry the same unit after `wait_ms`.
    pub put_failed: bool,
}

enum Delivery {
    Delivered,
    Skipped,
    RetryLater,
}

/// Re-puts one due schedule record to its real topic.
fn deliver_record(store: &MessageStore, level: i32, r: &QueueRecord) -> Delivery {
    let real = match im::decode_record(&r.record).map(|m| m.map(|m| delay::build_real_message(&m)))
    {
        Ok(Some(Ok(real))) => real,
        Ok(Some(Err(e))) | Err(e) => {
            log::error!(
                "schedule level {level} offset {}: {e}; skipped",
                r.queue_offset
            );
            return Delivery::Skipped;
        }
        Ok(None) => return Delivery::Skipped,
    };
    if delay::is_undeliverable_topic(&real.topic) {
        log::error!("schedule level {level}: not delivering to {}", real.topic);
        return Delivery::Skipped;
    }
    let put = im::put_message_ext(store, &real);
    if im::is_stored(&put) {
        return Delivery::Delivered;
    }
    if im::is_transient_failure(put.status) {
        log::warn!(
            "schedule level {level}: re-put to {}/{} failed ({:?}); retrying later",
            real.topic,
            real.queue_id,
            put.status
        );
        return Delivery::RetryLater;
    }
    log::error!(
        "schedule level {level}: message for {} can never be stored ({:?}); skipped",
        real.topic,
        put.status
    );
    Delivery::Skipped
}

/// Where a level continues after a batch; `None` when the queue holds nothing more now.
fn resume_offset(batch: &im::QueueBatch) -> Option<i64> {
    match batch.status {
        G::FOUND | G::NO_MATCHED_MESSAGE | G::MESSAGE_WAS_REMOVING => Some(batch.next_offset),
        G::OFFSET_TOO_SMALL | G::OFFSET_FOUND_NULL => Some(batch.next_offset),
        // Past the end (a consume queue shorter than the saved offset): resume at its end.
        G::OFFSET_OVERFLOW_BADLY => Some(batch.max_offset),
        G::OFFSET_OVERFLOW_ONE | G::NO_MESSAGE_IN_QUEUE | G::NO_MATCHED_LOGIC_QUEUE => None,
    }
}

/// One pass over delay level `level` (1-based) from queue offset `offset` at `now_ms`:
/// delivers every due unit in order and stops at the first one not yet due.
pub fn deliver_level(
    store: &MessageStore,
    level: i32,
    level_delay_ms: i64,
    offset: i64,
    now_ms: i64,
    max_deliveries: usize,
) -> Result<LevelPass> {
    let queue_id = delay::level_to_queue_id(level);
    let mut pass = LevelPass {
        delivered: 0,
        skipped: 0,
        next_offset: offset,
        wait_ms: DELAY_FOR_A_WHILE_MS,
        put_failed: false,
    };
    while pass.delivered + pass.skipped < max_deliveries {
        let batch = im::read_queue_batch(
            store,
            SCHEDULE_TOPIC,
            queue_id,
            pass.next_offset,
            BATCH_UNITS,
        )?;
        for r in &batch.records {
            if let Some(wait) = delay::due(now_ms, r.tags_code, level_delay_ms) {
                pass.next_offset = r.queue_offset;
                pass.wait_ms = wait;
                return Ok(pass);
            }
            match deliver_record(store, level, r) {
                Delivery::Delivered => pass.delivered += 1,
                Delivery::Skipped => pass.skipped += 1,
                Delivery::RetryLater => {
                    pass.next_offset = r.queue_offset;
                    pass.wait_ms = DELAY_FOR_A_PERIOD_MS;
                    pass.put_failed = true;
                    return Ok(pass);
                }
            }
            pass.next_offset = r.queue_offset + 1;
        }
        let Some(next) = resume_offset(&batch) else {
            return Ok(pass);
        };
        if next <= pass.next_offset && batch.records.is_empty() {
            return Ok(pass);
        }
        pass.next_offset = pass.next_offset.max(next);
    }
    pass.wait_ms = 0;
    Ok(pass)
}

/// Mutable state of the service.
#[derive(Debug)]
struct State {
    offsets: DelayOffsetTable,
    /// Level → time before which it is not retried after a failure.
    retry_at_ms: BTreeMap<i32, i64>,
}

struct Shared {
    store: Arc<MessageStore>,
    config: ScheduleConfig,
    path: PathBuf,
    state: Mutex<State>,
    signal: ServiceSignal,
    clock: Clock,
}

/// The delay-message delivery service. Thread-safe; all methods take `&self`.
pub struct ScheduleMessageService {
    shared: Arc<Shared>,
    thread: ThreadSlot,
}

impl std::fmt::Debug for ScheduleMessageService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScheduleMessageService")
            .field("path", &self.shared.path)
            .field("offsets", &self.offset_table())
            .finish_non_exhaustive()
    }
}

impl ScheduleMessageService {
    /// The service for `store` with its delay table, default intervals and the wall clock;
    /// loads `delayOffset.json` (see [`ScheduleMessageService::with_config`]).
    pub fn open(store: Arc<MessageStore>) -> Result<Self> {
        let config = ScheduleConfig::from_store(&store)?;
        Self::with_config(store, config, system_clock())
    }

    /// The service with explicit settings and clock. Loads
    /// `<storePathRootDir>/config/delayOffset.json` (or its `.bak`) and corrects offsets that
    /// fall outside their schedule queue (below its min: moved up; above its max while
    /// everything is dispatched: moved down). The thread is not started.
    pub fn with_config(
        store: Arc<MessageStore>,
        config: ScheduleConfig,
        clock: Clock,
    ) -> Result<Self> {
        let path = config_file_path(store.root(), DelayOffsetTable::FILE_NAME);
        let mut offsets = DelayOffsetTable::new();
        offsets.load(&path)?;
        correct_offsets(&store, &config, &mut offsets);
        let shared = Shared {
            store,
            config,
            path,
            state: Mutex::new(State {
                offsets,
                retry_at_ms: BTreeMap::new(),
            }),
            signal: ServiceSignal::default(),
            clock,
        };
        Ok(ScheduleMessageService {
            shared: Arc::new(shared),
            thread: ThreadSlot::default(),
        })
    }

    /// Starts the `schedule` thread (no-op if running).
    pub fn start(&self) -> Result<()> {
        let shared = Arc::clone(&self.shared);
        if self.thread.spawn("schedule", move || shared.run())? {
            log::info!(
                "schedule service started ({} levels)",
                self.max_delay_level()
            );
        }
        Ok(())
    }

    /// Stops the thread (waking it), joins it and persists the offsets.
    pub fn shutdown(&self) -> Result<()> {
        self.shared.signal.stop();
        self.thread.join();
        let r = self.shared.persist();
        log::info!("schedule service stopped");
        r
    }

    /// Wakes the thread for an early pass (after a clock change in tests, or a new message).
    pub fn wakeup(&self) {
        self.shared.signal.wakeup();
    }

    /// One pass over every level at `now_ms`; returns ms until the next pass is needed.
    pub fn run_once(&self, now_ms: i64) -> u64 {
        self.shared.run_once(now_ms)
    }

    /// Writes `delayOffset.json` if an offset changed since the last write.
    pub fn persist(&self) -> Result<()> {
        self.shared.persist()
    }

    /// The offset of `level`, if the level has been visited or loaded.
    pub fn offset(&self, level: i32) -> Option<i64> {
        lock(&self.shared.state).offsets.get(level)
    }

    /// Level → offset.
    pub fn offset_table(&self) -> BTreeMap<i32, i64> {
        lock(&self.shared.state).offsets.table().clone()
    }

    /// Number of delay levels (the highest level; the put-side clamp).
    pub fn max_delay_level(&self) -> i32 {
        i32::try_from(self.shared.config.delay_levels_ms.len()).unwrap_or(i32::MAX)
    }

    /// Delay of each level in ms.
    pub fn delay_levels_ms(&self) -> &[i64] {
        &self.shared.config.delay_levels_ms
    }
}

impl Drop for ScheduleMessageService {
    /// Stops and joins the thread without persisting (use `shutdown` for a clean stop).
    fn drop(&mut self) {
        self.shared.signal.stop();
        self.thread.join();
    }
}

fn correct_offsets(store: &MessageStore, config: &ScheduleConfig, offsets: &mut DelayOffsetTable) {
    let fully_dispatched = store.dispatch_behind_bytes() == 0;
    for level in 1..=config.delay_levels_ms.len() as i32 {
        let Some(offset) = offsets.get(level) else {
            continue;
        };
        let q = delay::level_to_queue_id(level);
        let (min, max) = (
            store.min_offset_in_queue(SCHEDULE_TOPIC, q),
            store.max_offset_in_queue(SCHEDULE_TOPIC, q),
        );
        let corrected = if offset < min {
            min
        } else if offset > max && fully_dispatched {
            max
        } else {
            offset
        };
        if corrected != offset {
            log::warn!(
                "delay level {level}: offset {offset} outside [{min}, {max}], using {corrected}"
            );
            offsets.set(level, corrected);
        }
    }
}

impl Shared {
    fn run_once(&self, now_ms: i64) -> u64 {
        let mut state = lock(&self.state);
        // The nearest time any level needs a look (a drained level: the 100 ms poll).
        let mut wait = if self.config.delay_levels_ms.is_empty() {
            DELAY_FOR_A_WHILE_MS
        } else {
            u64::MAX
        };
        let max = self.config.max_deliveries_per_pass;
        for (i, &delay_ms) in self.config.delay_levels_ms.iter().enumerate() {
            let level = i as i32 + 1;
            if let Some(&at) = state.retry_at_ms.get(&level) {
                if at > now_ms {
                    wait = wait.min((at - now_ms) as u64);
                    continue;
                }
                state.retry_at_ms.remove(&level);
            }
            let offset = state.offsets.get(level).unwrap_or(0);
            match deliver_level(&self.store, level, delay_ms, offset, now_ms, max) {
                Ok(pass) => {
                    state.offsets.set(level, pass.next_offset);
                    if pass.put_failed {
                        state
                            .retry_at_ms
                            .insert(level, now_ms + pass.wait_ms as i64);
                    }
                    wait = wait.min(pass.wait_ms);
                }
                Err(e) => {
                    log::error!("schedule level {level} at offset {offset}: {e}");
                    let retry = DELAY_FOR_A_PERIOD_MS;
                    state.retry_at_ms.insert(level, now_ms + retry as i64);
                    wait = wait.min(retry);
                }
            }
        }
        wait
    }

    fn persist(&self) -> Result<()> {
        let Some(bytes) = lock(&self.state).offsets.snapshot_if_dirty() else {
            return Ok(());
        };
        write_snapshot(&self.path, &bytes).inspect_err(|_| {
            lock(&self.state).offsets.mark_dirty();
        })
    }

    fn run(&self) {
        let interval = self.config.persist_interval_ms.max(1);
        let mut next_persist = (self.clock)().saturating_add(interval as i64);
        while !self.signal.is_stopped() {
            let now = (self.clock)();
            let wait = self.run_once(now);
            if now >= next_persist {
                if let Err(e) = self.persist() {
                    log::error!("persist {}: {e}", self.path.display());
                }
                next_persist = now.saturating_add(interval as i64);
            }
            if wait > 0 {
                self.signal.wait(Duration::from_millis(wait.min(interval)));
            }
        }
    }
}
