//! `CommitLog`: the single append-only log of every topic's records (RocketMQ `CommitLog`).
//!
//! Owns: the commitlog [`SegmentQueue`], the append lock and everything assigned under it
//! (queue offsets from the per topic-queue counters "topicQueueTable", the physical offset, the
//! store timestamp), the end-of-file blank record, the readable end (`confirm_offset`) and the
//! durable end (`flushed_offset`), reads and zero-copy regions. Start-up recovery lives in
//! `commit_log_recover.rs`; the flush thread in `flush.rs`.
//!
//! Thread-safety: appends serialize on one mutex (single writer) that covers assigning
//! offsets and copying the record into a staging buffer; the bytes reach the segment files
//! by group writes (`commit_log/commit.rs`). Reads take a read lock only to pick the segment,
//! then use positioned reads. A record becomes readable only after its write returned, when
//! `confirm_offset` passes it. Format: `docs/storage.md`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, RwLock};

use bytes::Bytes;

use crate::error::{Error, Result};
pub use crate::store::commit_log::commit::AppendTicket;
use crate::store::commit_log::commit::{CommitState, StagingState};
use crate::store::record_format::{self as rf};
use crate::store::segment::Segment;
use crate::store::segment_queue::SegmentQueue;
use crate::store::status::{FileRegion, WriteBlock};
use crate::store::time::Clock;

mod append;
pub(crate) mod commit;
mod raw;
pub use raw::RawAppend;

const BLOCK_DISK_FULL: u8 = 1;
const BLOCK_FLUSH_FAILED: u8 = 2;
const BLOCK_SHUT_DOWN: u8 = 4;
const BLOCK_WRITE_FAILED: u8 = 8;

/// Counters exported for monitoring and tests.
#[derive(Debug, Default)]
pub struct CommitLogStats {
    /// fdatasync calls on commitlog segments.
    pub syncs: AtomicU64,
    /// Time spent in those fdatasync calls, in µs.
    pub sync_micros: AtomicU64,
    /// Records appended.
    pub records_appended: AtomicU64,
    /// Appends that failed in the segment write.
    pub failed_writes: AtomicU64,
}

/// State guarded by the append lock.
#[derive(Debug, Default)]
pub(crate) struct WriterState {
    /// Where the next record goes.
    pub(crate) write_offset: u64,
    /// "topicQueueTable": next queue offset per topic and queue id.
    pub(crate) topic_queue_table: HashMap<String, HashMap<i32, i64>>,
    /// Store timestamp of the last record (store timestamps never go backwards).
    pub(crate) last_store_ts: i64,
    /// Records copied in but not yet written to the segments.
    pub(crate) staging: StagingState,
}

impl WriterState {
    fn next_queue_offset(&self, topic: &str, queue_id: i32) -> i64 {
        self.topic_queue_table
            .get(topic)
            .and_then(|m| m.get(&queue_id))
            .copied()
            .unwrap_or(0)
    }

    pub(crate) fn set_next_queue_offset(&mut self, topic: &str, queue_id: i32, next: i64) {
        match self.topic_queue_table.get_mut(topic) {
            Some(m) => {
                m.insert(queue_id, next);
            }
            None => {
                self.topic_queue_table
                    .insert(topic.to_string(), HashMap::from([(queue_id, next)]));
            }
        }
    }
}

/// The commitlog. See the module docs.
pub struct CommitLog {
    pub(crate) queue: RwLock<SegmentQueue>,
    segment_bytes: u64,
    max_message_bytes: u64,
    pub(crate) writer: Mutex<WriterState>,
    pub(crate) confirm_offset: AtomicU64,
    flushed_offset: AtomicU64,
    pub(crate) last_store_ts: AtomicI64,
    block: AtomicU8,
    stats: CommitLogStats,
    pub(crate) append_notify: OnceLock<Box<dyn Fn() + Send + Sync>>,
    /// Second append listener: the HA master's streaming thread.
    replication_notify: OnceLock<Box<dyn Fn() + Send + Sync>>,
    /// Group-commit leader election (see `commit_log/commit.rs`).
    pub(crate) commit: Mutex<CommitState>,
    pub(crate) commit_cv: Condvar,
    /// The leader's write buffer (swapped with the staging buffer).
    pub(crate) commit_buf: Mutex<Vec<u8>>,
    /// Mirror of the staging rollback epoch, read without the append lock.
    pub(crate) epoch: AtomicU64,
    clock: Clock,
    /// Clock value when the current holder took the append lock; 0 while it is free.
    lock_begin_ms: AtomicI64,
}

/// Clears the append-lock timestamp when an append ends, whichever way it returns.
struct LockTimer<'a>(&'a AtomicI64);

impl Drop for LockTimer<'_> {
    fn drop(&mut self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for CommitLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CommitLog")
            .field("confirm_offset", &self.confirm_offset())
            .field("flushed_offset", &self.flushed_offset())
            .finish_non_exhaustive()
    }
}

/// Locks a mutex, recovering the data if a thread panicked while holding it (every critical
/// section leaves the guarded state consistent before any call that could panic).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

fn read_lock<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

pub(crate) fn write_lock<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

impl CommitLog {
    /// Wraps loaded segments; positions stay 0 until recovery calls [`CommitLog::set_positions`].
    pub(crate) fn new(queue: SegmentQueue, max_message_bytes: u64, clock: Clock) -> Self {
        CommitLog {
            segment_bytes: queue.segment_bytes(),
            queue: RwLock::new(queue),
            max_message_bytes,
            writer: Mutex::new(WriterState::default()),
            confirm_offset: AtomicU64::new(0),
            flushed_offset: AtomicU64::new(0),
            last_store_ts: AtomicI64::new(0),
            block: AtomicU8::new(0),
            stats: CommitLogStats::default(),
            append_notify: OnceLock::new(),
            replication_notify: OnceLock::new(),
            commit: Mutex::new(CommitState::default()),
            commit_cv: Condvar::new(),
            commit_buf: Mutex::new(Vec::new()),
            epoch: AtomicU64::new(0),
            clock,
            lock_begin_ms: AtomicI64::new(0),
        }
    }

    /// Sets the write, readable and durable ends after recovery.
    pub(crate) fn set_positions(&self, end: u64, last_store_ts: i64) {
        let mut w = lock(&self.writer);
        w.write_offset = end;
        w.last_store_ts = last_store_ts;
        w.staging.bytes.clear();
        self.confirm_offset.store(end, Ordering::Release);
        self.flushed_offset.store(end, Ordering::Release);
        self.last_store_ts.store(last_store_ts, Ordering::Release);
    }

    /// Registers the callback run after every successful append (wakes the dispatcher).
    pub(crate) fn set_append_notify(&self, f: Box<dyn Fn() + Send + Sync>) {
        let _ = self.append_notify.set(f);
    }

    /// Bytes per segment.
    pub fn segment_bytes(&self) -> u64 {
        self.segment_bytes
    }

    /// End of the readable log: every record below it is completely written.
    pub fn confirm_offset(&self) -> u64 {
        self.confirm_offset.load(Ordering::Acquire)
    }

    /// End of the durable log: every byte below it has been fdatasync'ed.
    pub fn flushed_offset(&self) -> u64 {
        self.flushed_offset.load(Ordering::Acquire)
    }

    /// First offset still on disk (start of the oldest segment), or the write end if empty.
    pub fn min_offset(&self) -> u64 {
        read_lock(&self.queue)
            .min_offset()
            .unwrap_or_else(|| self.confirm_offset())
    }

    /// How long the current append has held the append lock, in ms (0 when it is free): a
    /// slow page cache shows here (RocketMQ `lockTimeMills`).
    pub fn lock_held_ms(&self) -> u64 {
        match self.lock_begin_ms.load(Ordering::Relaxed) {
            0 => 0,
            begin => u64::try_from((self.clock)().saturating_sub(begin)).unwrap_or(0),
        }
    }

    /// Counters.
    pub fn stats(&self) -> &CommitLogStats {
        &self.stats
    }

    /// Why writes are refused, if they are.
    pub fn write_block(&self) -> Option<WriteBlock> {
        let b = self.block.load(Ordering::Acquire);
        if b & BLOCK_SHUT_DOWN != 0 {
            Some(WriteBlock::ShutDown)
        } else if b & BLOCK_FLUSH_FAILED != 0 {
            Some(WriteBlock::FlushFailed)
        } else if b & BLOCK_WRITE_FAILED != 0 {
            Some(WriteBlock::WriteFailed)
        } else if b & BLOCK_DISK_FULL != 0 {
            Some(WriteBlock::DiskFull)
        } else {
            None
        }
    }

    pub(crate) fn set_disk_full(&self, full: bool) {
        if full {
            self.block.fetch_or(BLOCK_DISK_FULL, Ordering::AcqRel);
        } else {
            self.block.fetch_and(!BLOCK_DISK_FULL, Ordering::AcqRel);
        }
    }

    pub(crate) fn set_write_failed(&self) {
        self.block.fetch_or(BLOCK_WRITE_FAILED, Ordering::AcqRel);
    }

    pub(crate) fn set_flush_failed(&self) {
        self.block.fetch_or(BLOCK_FLUSH_FAILED, Ordering::AcqRel);
    }

    pub(crate) fn set_shut_down(&self) {
        self.block.fetch_or(BLOCK_SHUT_DOWN, Ordering::AcqRel);
    }

    /// Forgets the next queue offsets of `topic` (all queues), so a re-created topic starts
    /// at offset 0 again (RocketMQ `removeQueueFromTopicQueueTable`).
    pub(crate) fn remove_topic_queues(&self, topic: &str) {
        lock(&self.writer).topic_queue_table.remove(topic);
    }

    /// The next queue offset of every topic-queue (a copy of "topicQueueTable").
    pub fn topic_queue_table(&self) -> HashMap<String, HashMap<i32, i64>> {
        lock(&self.writer).topic_queue_table.clone()
    }

    pub(crate) fn segment_for_write(&self, offset: u64) -> Result<Arc<Segment>> {
        if let Some(s) = read_lock(&self.queue).find(offset) {
            return Ok(Arc::clone(s));
        }
        write_lock(&self.queue).get_or_create(offset)
    }

    /// A zero-copy region for `[phy_offset, phy_offset + size)`, or `None` when the range is
    /// not entirely readable (deleted, not yet written, or crossing a segment end).
    pub fn region(&self, phy_offset: u64, size: u32) -> Option<FileRegion> {
        let end = phy_offset.checked_add(u64::from(size))?;
        if end > self.confirm_offset() {
            return None;
        }
        let q = read_lock(&self.queue);
        let seg = q.find(phy_offset)?;
        if end > seg.end_offset() {
            return None;
        }
        Some(FileRegion {
            file: Arc::clone(seg.file()),
            position: phy_offset - seg.base_offset(),
            len: size,
        })
    }

    /// Reads `[phy_offset, phy_offset + size)`; `Ok(None)` when not readable (see `region`).
    pub fn read(&self, phy_offset: u64, size: u32) -> Result<Option<Bytes>> {
        let Some(region) = self.region(phy_offset, size) else {
            return Ok(None);
        };
        region
            .read()
            .map(Some)
            .map_err(|e| Error::io("read commitlog", "commitlog", e))
    }

    /// The whole message record starting at `phy_offset` (VIEW_MESSAGE_BY_ID), validated;
    /// `Ok(None)` when there is no valid message record there.
    pub fn read_record(&self, phy_offset: u64) -> Result<Option<Bytes>> {
        let Some(head) = self.read(phy_offset, 8)? else {
            return Ok(None);
        };
        let total_size = match rf::read_head(&head) {
            Ok(Some(rf::RecordHead::Message { total_size })) => total_size,
            _ => return Ok(None),
        };
        let Some(rec) = self.read(phy_offset, total_size)? else {
            return Ok(None);
        };
        Ok(rf::parse_dispatch(&rec, Some(phy_offset), false)
            .is_ok()
            .then_some(rec))
    }

    /// Reads up to `max_len` bytes from `from`, stopping at `limit` and at the end of the
    /// segment holding `from`. Returns the bytes and that segment's end offset, or `None` when
    /// no segment holds `from`.
    pub(crate) fn read_chunk(
        &self,
        from: u64,
        max_len: u64,
        limit: u64,
    ) -> Result<Option<(Vec<u8>, u64)>> {
        let seg = match read_lock(&self.queue).find(from) {
            Some(s) => Arc::clone(s),
            None => return Ok(None),
        };
        let end = limit
            .min(seg.end_offset())
            .min(from.saturating_add(max_len));
        let mut buf = vec![0u8; end.saturating_sub(from) as usize];
        seg.read_at(from - seg.base_offset(), &mut buf)?;
        Ok(Some((buf, seg.end_offset())))
    }

    /// fdatasyncs every segment holding bytes between the durable and the readable end.
    /// Returns the new durable end and the store time of a record at or below it.
    pub(crate) fn flush(&self) -> Result<(u64, i64)> {
        let ts = self.last_store_ts.load(Ordering::Acquire);
        let target = self.confirm_offset();
        let from = self.flushed_offset();
        if target <= from {
            return Ok((from, ts));
        }
        let segments = read_lock(&self.queue).range(from, target);
        for seg in segments {
            let begin = std::time::Instant::now();
            self.stats.syncs.fetch_add(1, Ordering::Relaxed);
            let synced = seg.sync();
            let micros = u64::try_from(begin.elapsed().as_micros()).unwrap_or(u64::MAX);
            self.stats.sync_micros.fetch_add(micros, Ordering::Relaxed);
            synced?;
        }
        self.flushed_offset.fetch_max(target, Ordering::AcqRel);
        Ok((target, ts))
    }

    /// Removes the oldest segments accepted by `select` (given each candidate's base offset,
    /// end offset and mtime), never the newest one nor any ending above `keep_from`. Returns
    /// how many were deleted.
    pub(crate) fn delete_segments(
        &self,
        keep_from: u64,
        mut select: impl FnMut(&[(u64, u64, i64)]) -> usize,
    ) -> Result<usize> {
        let mut q = write_lock(&self.queue);
        let segs = q.segments();
        let mut candidates = Vec::new();
        for s in segs.iter().take(segs.len().saturating_sub(1)) {
            if s.end_offset() > keep_from {
                break;
            }
            candidates.push((s.base_offset(), s.end_offset(), s.last_modified_ms()?));
        }
        let n = select(&candidates).min(candidates.len());
        let removed = q.remove_front(n);
        drop(q);
        for s in &removed {
            log::info!("retention deletes commitlog segment {}", s.path().display());
            s.destroy()?;
        }
        Ok(removed.len())
    }
}
