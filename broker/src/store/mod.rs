//! The message store: `MessageStore` is the facade the broker calls (RocketMQ
//! `DefaultMessageStore`); it owns everything below and the store's service threads.
//!
//! | module | what it owns |
//! |---|---|
//! | [`config`] | `StoreConfig` (RocketMQ `MessageStoreConfig` keys) |
//! | [`status`] | put/get statuses and results, file regions, the tag filter trait |
//! | [`record_format`] | the stored-record fields the store reads and patches |
//! | [`segment`], [`segment_queue`] | fixed-size preallocated files, positioned I/O |
//! | [`commit_log`] | the append-only log, append lock, topicQueueTable, reads |
//! | [`flush`] | async flush and group-commit sync flush with waiters |
//! | [`consume_queue`], [`consume_queue_table`] | 20-byte units per topic-queue |
//! | [`reput`] | dispatch of commitlog records into consume queues and index |
//! | [`index_file`], [`index_service`] | lookup by key and time |
//! | [`checkpoint`] | checkpoint page and abort marker |
//! | [`clean`] | retention decisions and rounds, disk usage probe |
//! | `replica` | appending a master's bytes on a slave; promotion to writable |
//!
//! Threads (started by [`MessageStore::start`]): `flush-commitlog`, `flush-timeout`, `reput`,
//! `flush-logics` (consume queues, full index files, checkpoint) and `clean`. File formats and
//! the recovery algorithm: `docs/storage.md`.

mod admin;
pub mod checkpoint;
pub mod clean;
pub mod commit_log;
mod commit_log_recover;
pub mod config;
pub mod consume_queue;
pub mod consume_queue_table;
pub mod fault;
pub mod flush;
pub mod index_file;
pub mod index_service;
mod query;
pub mod record_format;
mod recover;
mod replica;
pub mod reput;
pub mod segment;
pub mod segment_queue;
mod service;
pub mod status;
pub mod time;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub use clean::{DfProbe, DiskSpaceProbe, RetentionReport};
pub use commit_log::{AppendTicket, CommitLog, RawAppend};
pub use config::{FlushDiskType, StoreConfig};
pub use fault::FaultHandle;
#[cfg(feature = "testing")]
pub use fault::FaultInjector;
pub use flush::{FlushOutcome, FlushService, FlushWaiter};
pub use recover::RecoveryReport;
pub use reput::ArrivingListener;
pub use status::{
    AppendResult, FileRegion, GetMessageResult, GetMessageStatus, MessageFilter, MessageRegion,
    PutMessageResult, PutMessageStatus, QueryMessageResult, WriteBlock,
};

use crate::error::{Error, Result};
use checkpoint::{AbortFile, StoreCheckpoint};
use commit_log::lock;
use consume_queue_table::ConsumeQueueTable;
use index_service::IndexService;
use reput::{Dispatcher, ReputService};
use segment_queue::SegmentQueue;
use service::Signal;

/// Takes the store directory's `lock` file (RocketMQ's `lock`): one process — one open
/// store — per directory. A second broker started on the same `storePathRootDir` gets a clear
/// error instead of two writers interleaving in one commitlog.
fn lock_store(root: &Path) -> Result<std::fs::File> {
    let path = root.join("lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io("open the store lock", &path, e))?;
    // A child process being spawned (e.g. `df` by a clean thread) briefly shares every open
    // file description between its fork and its exec, lock included: retry for a moment
    // before calling the directory busy.
    let deadline = std::time::Instant::now() + STORE_LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::io(
                    "lock the store",
                    &path,
                    std::io::Error::other(
                        "another broker (or store) already uses this store directory",
                    ),
                ))
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(Error::io("lock the store", &path, e))
            }
        }
    }
}

/// How long opening a store waits for its `lock` file before refusing.
const STORE_LOCK_WAIT: Duration = Duration::from_secs(2);

/// How long [`MessageStore::wait_for_flush`] polls (yielding the CPU between polls) before it
/// sleeps: a group commit usually completes within about one fdatasync, and a sleeping thread
/// on a VM is woken tens of µs late (the idle vCPU halts), which stretches every round for
/// concurrent senders. Measured with 64 sync senders: ~1.3× more messages per second.
const FLUSH_WAIT_SPIN: Duration = Duration::from_micros(30);

/// Receives from `rx`, polling for `spin` first, then blocking up to `timeout`.
fn recv_spinning<T>(
    rx: &mpsc::Receiver<T>,
    spin: Duration,
    timeout: Duration,
) -> std::result::Result<T, mpsc::RecvTimeoutError> {
    let begin = std::time::Instant::now();
    while begin.elapsed() < spin {
        match rx.try_recv() {
            Ok(v) => return Ok(v),
            Err(mpsc::TryRecvError::Disconnected) => {
                return Err(mpsc::RecvTimeoutError::Disconnected)
            }
            Err(mpsc::TryRecvError::Empty) => std::thread::yield_now(),
        }
    }
    rx.recv_timeout(timeout)
}

/// Environment of a store: things tests replace.
#[derive(Clone)]
pub struct StoreEnv {
    /// Disk usage probe for retention (default: `df`).
    pub disk_probe: Arc<dyn DiskSpaceProbe>,
    /// Local UTC offset for `deleteWhen` and index file names (`None`: ask `date +%z`).
    pub utc_offset_secs: Option<i32>,
    /// Fault injection in the commitlog write path (tests only; default: none).
    pub faults: FaultHandle,
    /// Source of store timestamps and index file names (default: the wall clock).
    pub clock: time::Clock,
}

impl Default for StoreEnv {
    fn default() -> Self {
        StoreEnv {
            disk_probe: Arc::new(DfProbe),
            utc_offset_secs: None,
            faults: FaultHandle::none(),
            clock: time::system_clock(),
        }
    }
}

type LoadedFiles = (
    Arc<CommitLog>,
    Arc<ConsumeQueueTable>,
    Option<Arc<IndexService>>,
);

/// Opens the commitlog segments, consume queues and index files (not yet recovered).
fn load_files(config: &StoreConfig, env: &StoreEnv, utc_offset_secs: i32) -> Result<LoadedFiles> {
    let root = &config.store_path_root_dir;
    let cl_queue = SegmentQueue::load(
        &config.commit_log_dir(),
        config.commit_log_segment_bytes,
        env.faults.clone(),
    )?;
    let commit_log = CommitLog::new(cl_queue, config.max_message_bytes, env.clock.clone());
    let cq_table =
        ConsumeQueueTable::load(&root.join("consumequeue"), config.consume_queue_file_bytes)?;
    let index = if config.message_index_enable {
        Some(Arc::new(IndexService::load(
            &root.join("index"),
            config.max_hash_slot_num,
            config.max_index_num,
            utc_offset_secs,
        )?))
    } else {
        None
    };
    Ok((Arc::new(commit_log), Arc::new(cq_table), index))
}

/// Everything the service threads share.
pub(crate) struct StoreInner {
    pub(crate) config: StoreConfig,
    pub(crate) utc_offset_secs: i32,
    pub(crate) commit_log: Arc<CommitLog>,
    pub(crate) cq_table: Arc<ConsumeQueueTable>,
    pub(crate) index: Option<Arc<IndexService>>,
    pub(crate) checkpoint: Arc<StoreCheckpoint>,
    pub(crate) flush: Arc<FlushService>,
    pub(crate) reput: Arc<ReputService>,
    abort: AbortFile,
    disk_probe: Arc<dyn DiskSpaceProbe>,
    logics_signal: Signal,
    clean_signal: Signal,
    /// The effective `fileReservedTime` in hours (UPDATE_BROKER_CONFIG changes it).
    pub(crate) file_reserved_hours: AtomicU64,
    /// An admin asked for expired files to be deleted at the next clean round.
    pub(crate) manual_delete: AtomicBool,
    /// Disk usage measured by the last clean round, as `f64` bits (negative: unknown).
    pub(crate) disk_used_ratio_bits: AtomicU64,
}

/// The message store facade. Thread-safe; share it as `Arc<MessageStore>`. Dropping it without
/// [`MessageStore::shutdown`] stops the threads without flushing (like a crash: the next open
/// runs abnormal recovery).
pub struct MessageStore {
    inner: Arc<StoreInner>,
    /// The store directory's `lock` file, locked (flock) while this store is open; released
    /// by a clean shutdown, after `Drop` stopped the threads (fields drop after `drop`), or by
    /// the kernel when the process dies.
    lock: Mutex<Option<std::fs::File>>,
    recovery: RecoveryReport,
    threads: Mutex<Vec<JoinHandle<()>>>,
    stopped: AtomicBool,
}

impl std::fmt::Debug for MessageStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MessageStore")
            .field("root", &self.inner.config.store_path_root_dir)
            .field("recovery", &self.recovery)
            .finish_non_exhaustive()
    }
}

impl MessageStore {
    /// Opens (creating if needed) and recovers the store at `config.store_path_root_dir`.
    pub fn open(config: StoreConfig) -> Result<Self> {
        Self::open_with(config, StoreEnv::default())
    }

    /// [`MessageStore::open`] with an explicit environment.
    pub fn open_with(config: StoreConfig, env: StoreEnv) -> Result<Self> {
        config.validate()?;
        let root = config.store_path_root_dir.clone();
        std::fs::create_dir_all(&root).map_err(|e| Error::io("create store root", &root, e))?;
        let lock = lock_store(&root)?; // before the abort file: it belongs to the lock holder
        let utc_offset_secs = env
            .utc_offset_secs
            .unwrap_or_else(time::local_utc_offset_secs);
        let abort = AbortFile::new(&root);
        let abnormal = abort.exists();
        abort.create()?; // before anything is modified: a crash during recovery is a crash
        let checkpoint = Arc::new(StoreCheckpoint::open(&root.join("checkpoint"))?);
        let (commit_log, cq_table, index) = load_files(&config, &env, utc_offset_secs)?;
        let dispatcher = Dispatcher::new(
            Arc::clone(&cq_table),
            index.clone(),
            &config,
            env.clock.clone(),
        )?;
        let parts = recover::RecoveryParts {
            commit_log: &commit_log,
            cq_table: &cq_table,
            index: index.as_deref(),
            dispatcher: &dispatcher,
            checkpoint: checkpoint.loaded(),
            check_crc: config.check_crc_on_recover,
            chunk_bytes: dispatcher.chunk_bytes,
        };
        let recovery = recover::recover(&parts, abnormal)?;
        checkpoint.set_confirm_phy_offset(0);
        checkpoint.flush()?;
        let reput = ReputService::new(Arc::clone(&commit_log), dispatcher, &recovery);
        let flush = Arc::new(FlushService::new(
            Arc::clone(&commit_log),
            Arc::clone(&checkpoint),
            config.flush_interval_commit_log_ms,
            config.sync_flush_timeout_ms,
        ));
        log::info!("message store opened: {config}");
        let config_reserved_hours = config.file_reserved_hours;
        let inner = Arc::new(StoreInner {
            config,
            utc_offset_secs,
            commit_log,
            cq_table,
            index,
            checkpoint,
            flush,
            reput,
            abort,
            disk_probe: env.disk_probe,
            logics_signal: Signal::default(),
            clean_signal: Signal::default(),
            file_reserved_hours: AtomicU64::new(config_reserved_hours),
            manual_delete: AtomicBool::new(false),
            disk_used_ratio_bits: AtomicU64::new((-1.0f64).to_bits()),
        });
        Ok(MessageStore {
            inner,
            lock: Mutex::new(Some(lock)),
            recovery,
            threads: Mutex::new(Vec::new()),
            stopped: AtomicBool::new(false),
        })
    }

    /// Starts the service threads.
    pub fn start(&self) -> Result<()> {
        let mut threads = lock(&self.threads);
        if !threads.is_empty() {
            return Ok(());
        }
        let spawn = |name: &str, f: Box<dyn FnOnce() + Send>| {
            service::spawn(name, f).map_err(|e| Error::io("spawn store thread", name, e))
        };
        let i = &self.inner;
        if let Ok(ratio) = i.disk_probe.used_ratio(&i.config.store_path_root_dir) {
            i.disk_used_ratio_bits
                .store(ratio.to_bits(), Ordering::Relaxed);
        }
        let (flush, flush2) = (Arc::clone(&i.flush), Arc::clone(&i.flush));
        let flush3 = Arc::clone(&i.flush);
        threads.push(spawn(
            "flush-notify",
            Box::new(move || flush3.run_notify()),
        )?);
        threads.push(spawn("flush-commitlog", Box::new(move || flush.run()))?);
        threads.push(spawn(
            "flush-timeout",
            Box::new(move || flush2.run_timeouts()),
        )?);
        let reput = Arc::clone(&i.reput);
        threads.push(spawn("reput", Box::new(move || reput.run()))?);
        let (a, b) = (Arc::clone(i), Arc::clone(i));
        threads.push(spawn(
            "flush-logics",
            Box::new(move || a.run_logics_flush()),
        )?);
        threads.push(spawn("clean", Box::new(move || b.run_clean()))?);
        Ok(())
    }

    fn stop_threads(&self) {
        let i = &self.inner;
        i.reput.signal.stop();
        i.flush.stop();
        i.logics_signal.stop();
        i.clean_signal.stop();
        for h in lock(&self.threads).drain(..) {
            service::join(h);
        }
    }

    /// Clean shutdown: refuses new writes, makes everything durable, dispatches the rest,
    /// writes the checkpoint (with the commitlog end) and removes the abort file.
    pub fn shutdown(&self) -> Result<()> {
        if self.stopped.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let i = &self.inner;
        i.commit_log.set_shut_down();
        drop(lock(&i.commit_log.writer)); // waits for an append in progress
        i.commit_log.commit_all(); // writes what it staged
        i.flush.flush_round();
        self.stop_threads();
        if i.flush.has_failed() {
            return Err(Error::io(
                "shutdown",
                &i.config.store_path_root_dir,
                std::io::Error::other("an fdatasync failed; leaving the abort file for recovery"),
            ));
        }
        let end = i.commit_log.confirm_offset();
        let from = i.reput.reput_offset.load(Ordering::Acquire);
        i.reput
            .dispatcher
            .dispatch_range(&i.commit_log, from, end)?;
        let (_, ts) = i.commit_log.flush()?;
        i.cq_table.flush_all()?;
        if let Some(index) = &i.index {
            i.checkpoint.set_index_msg_timestamp(index.flush_all()?);
        }
        i.checkpoint.set_physic_msg_timestamp(ts);
        i.checkpoint.set_logics_msg_timestamp(ts);
        i.checkpoint.set_confirm_phy_offset(end as i64);
        i.checkpoint.flush()?;
        i.abort.remove()?;
        // Closed cleanly: the directory is free for the next open even while this object
        // lives on (readers may still hold it).
        drop(lock(&self.lock).take());
        log::info!("message store shut down cleanly at commitlog offset {end}");
        Ok(())
    }

    /// What start-up recovery did.
    pub fn recovery_report(&self) -> &RecoveryReport {
        &self.recovery
    }

    /// The configuration.
    pub fn config(&self) -> &StoreConfig {
        &self.inner.config
    }

    /// The commitlog (offsets, reads, zero-copy regions, stats).
    pub fn commit_log(&self) -> &CommitLog {
        &self.inner.commit_log
    }

    /// The flush service (for `request_flush`).
    pub fn flush_service(&self) -> &FlushService {
        &self.inner.flush
    }

    /// Why writes are refused, if they are.
    pub fn write_block(&self) -> Option<WriteBlock> {
        self.inner.commit_log.write_block()
    }

    /// Registers the arriving-message listener (replaces any previous one).
    pub fn set_arriving_listener(&self, listener: ArrivingListener) {
        *lock(&self.inner.reput.dispatcher.listener) = Some(listener);
    }

    /// Appends one record (see [`CommitLog::append`]); never waits for the disk.
    pub fn put_message(&self, record: &mut [u8], topic: &str, queue_id: i32) -> PutMessageResult {
        self.inner.commit_log.append(record, topic, queue_id)
    }

    /// Appends a batch of records with one write (see [`CommitLog::append_batch`]).
    pub fn put_messages(&self, records: &mut [u8], topic: &str, queue_id: i32) -> PutMessageResult {
        self.inner.commit_log.append_batch(records, topic, queue_id)
    }

    /// Stages one record without writing it (see [`CommitLog::append_staged`]).
    pub fn put_message_staged(
        &self,
        record: &mut [u8],
        topic: &str,
        queue_id: i32,
    ) -> (PutMessageResult, Option<AppendTicket>) {
        self.inner.commit_log.append_staged(record, topic, queue_id)
    }

    /// Stages a batch without writing it (see [`CommitLog::append_batch_staged`]).
    pub fn put_messages_staged(
        &self,
        records: &mut [u8],
        topic: &str,
        queue_id: i32,
    ) -> (PutMessageResult, Option<AppendTicket>) {
        self.inner
            .commit_log
            .append_batch_staged(records, topic, queue_id)
    }

    /// Writes staged records up to `ticket`'s (see [`CommitLog::commit_staged`]).
    pub fn commit_staged(
        &self,
        ticket: &AppendTicket,
    ) -> std::result::Result<(), PutMessageStatus> {
        self.inner.commit_log.commit_staged(ticket)
    }

    /// Asks for `[0, end_offset)` to become durable (see [`FlushService::request_flush`]).
    pub fn request_flush(&self, end_offset: u64, waiter: FlushWaiter) {
        self.inner.flush.request_flush(end_offset, waiter);
    }

    /// Blocking helper: in SYNC_FLUSH mode waits for the flush of a successful put and maps
    /// the outcome to FLUSH_DISK_TIMEOUT / SERVICE_NOT_AVAILABLE; in ASYNC_FLUSH mode returns
    /// `result` unchanged. The broker's event loop uses `request_flush` instead.
    pub fn wait_for_flush(&self, mut result: PutMessageResult) -> PutMessageResult {
        let end = match &result.append {
            Some(a) if result.is_ok() => a.end_offset,
            _ => return result,
        };
        if self.inner.config.flush_disk_type != FlushDiskType::SyncFlush {
            return result;
        }
        let (tx, rx) = mpsc::sync_channel(1);
        self.request_flush(
            end,
            Box::new(move |o| {
                let _ = tx.send(o);
            }),
        );
        let timeout = Duration::from_millis(self.inner.config.sync_flush_timeout_ms * 2);
        let outcome = recv_spinning(&rx, FLUSH_WAIT_SPIN, timeout);
        self.inner.flush.help_notify();
        result.status = match outcome {
            Ok(FlushOutcome::Flushed) => PutMessageStatus::PUT_OK,
            Ok(FlushOutcome::Timeout) | Err(mpsc::RecvTimeoutError::Timeout) => {
                PutMessageStatus::FLUSH_DISK_TIMEOUT
            }
            Ok(FlushOutcome::Failed) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                PutMessageStatus::SERVICE_NOT_AVAILABLE
            }
        };
        result
    }

    /// Commitlog bytes not yet dispatched into consume queues and index.
    pub fn dispatch_behind_bytes(&self) -> u64 {
        self.inner.reput.behind()
    }

    /// Makes everything written so far durable now: commitlog flush (releasing sync waiters),
    /// consume queues, full index files and the checkpoint.
    pub fn flush_now(&self) -> Result<()> {
        self.inner.flush.flush_round();
        if self.inner.flush.has_failed() {
            return Err(Error::io(
                "flush",
                self.inner.config.commit_log_dir(),
                std::io::Error::other("commitlog fdatasync failed"),
            ));
        }
        self.inner.logics_round()
    }

    /// Runs one retention round now with the given clock and disk usage (tests and admin
    /// commands; the `clean` thread does this every `cleanResourceInterval`).
    pub fn run_retention_once(&self, now_ms: i64, disk_used_ratio: f64) -> Result<RetentionReport> {
        self.inner.retention_round(now_ms, disk_used_ratio)
    }

    /// The root directory.
    pub fn root(&self) -> &Path {
        &self.inner.config.store_path_root_dir
    }
}

impl StoreInner {
    fn logics_round(&self) -> Result<()> {
        let ts = self.reput.last_dispatched_ts.load(Ordering::Acquire);
        self.cq_table.flush_all()?;
        if ts > 0 {
            self.checkpoint.set_logics_msg_timestamp(ts);
        }
        if let Some(index) = &self.index {
            if let Some(its) = index.flush_full_files()? {
                self.checkpoint.set_index_msg_timestamp(its);
            }
        }
        self.checkpoint.flush()
    }

    fn run_logics_flush(&self) {
        let interval = Duration::from_millis(self.config.flush_interval_consume_queue_ms);
        while !self.logics_signal.is_stopped() {
            self.logics_signal.wait(interval);
            if self.logics_signal.is_stopped() {
                break;
            }
            if let Err(e) = self.logics_round() {
                log::error!("consume queue / checkpoint flush failed: {e}");
            }
        }
    }

    fn retention_round(&self, now_ms: i64, disk_used_ratio: f64) -> Result<RetentionReport> {
        let targets = clean::RetentionTargets {
            commit_log: &self.commit_log,
            cq_table: &self.cq_table,
            index: self.index.as_deref(),
            reput_offset: self.reput.reput_offset.load(Ordering::Acquire),
            file_reserved_hours: self.file_reserved_hours.load(Ordering::Relaxed),
            force_delete_expired: self.manual_delete.swap(false, Ordering::AcqRel),
        };
        clean::run_retention(
            &targets,
            &self.config,
            self.utc_offset_secs,
            now_ms,
            disk_used_ratio,
        )
    }

    fn run_clean(&self) {
        let interval = Duration::from_millis(self.config.clean_resource_interval_ms);
        while !self.clean_signal.is_stopped() {
            self.clean_signal.wait(interval);
            if self.clean_signal.is_stopped() {
                break;
            }
            let ratio = match self.disk_probe.used_ratio(&self.config.store_path_root_dir) {
                Ok(r) => r,
                Err(e) => {
                    log::warn!("cannot measure disk usage: {e}");
                    -1.0
                }
            };
            self.disk_used_ratio_bits
                .store(ratio.to_bits(), Ordering::Relaxed);
            if let Err(e) = self.retention_round(time::now_ms(), ratio) {
                log::error!("retention round failed: {e}");
            }
        }
    }
}

impl Drop for MessageStore {
    fn drop(&mut self) {
        if !self.stopped.swap(true, Ordering::AcqRel) {
            self.inner.commit_log.set_shut_down();
            self.stop_threads();
        }
    }
}
