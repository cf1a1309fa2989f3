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
//! by group writes (`commit_log_commit.rs`). Reads take a read lock only to pick the segment,
//! then use positioned reads. A record becomes readable only after its write returned, when
//! `confirm_offset` passes it. Format: `docs/storage.md`.

use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, RwLock};

use bytes::Bytes;

use crate::error::{Error, Result};
pub use crate::store::commit_log_commit::AppendTicket;
use crate::store::commit_log_commit::{CommitState, Staged, StagingState};
use crate::store::consume_queue_table::is_safe_topic_dir;
use crate::store::record_format::{self as rf, RecordLayout, END_FILE_MIN_BLANK_BYTES};
use crate::store::segment::Segment;
use crate::store::segment_queue::SegmentQueue;
use crate::store::status::{
    AppendResult, FileRegion, PutMessageResult, PutMessageStatus as S, WriteBlock,
};
use crate::store::time::Clock;

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

/// Patches QUEUEOFFSET (consecutive from `queue_offset`, or 0 when not dispatched),
/// PHYSICALOFFSET and STORETIMESTAMP of every record of `buf`; returns each record's offset
/// for a batch (empty for one record).
fn patch_records(
    buf: &mut [u8],
    layouts: &[RecordLayout],
    dispatched: bool,
    queue_offset: i64,
    phy_offset: u64,
    store_ts: i64,
) -> std::result::Result<Vec<u64>, S> {
    let mut batch_phy_offsets = Vec::new();
    let mut pos = 0usize;
    for (i, l) in layouts.iter().enumerate() {
        let qo = if dispatched {
            queue_offset + i as i64
        } else {
            0
        };
        let at = phy_offset + pos as u64;
        if layouts.len() > 1 {
            batch_phy_offsets.push(at);
        }
        // Layouts were validated against this same buffer, so patching cannot fail.
        rf::patch_append_fields(&mut buf[pos..], l, qo, at, store_ts)
            .map_err(|_| S::MESSAGE_ILLEGAL)?;
        pos += l.total_size;
    }
    Ok(batch_phy_offsets)
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
    /// Group-commit leader election (see `commit_log_commit.rs`).
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

    /// Appends one encoded record (placeholder offsets) for `topic`/`queue_id`. QUEUEOFFSET,
    /// PHYSICALOFFSET and STORETIMESTAMP are assigned and patched into `record` under the append
    /// lock; returns once the record is written (see `commit_log_commit.rs`).
    pub fn append(&self, record: &mut [u8], topic: &str, queue_id: i32) -> PutMessageResult {
        Self::committed(self.append_staged(record, topic, queue_id), |t| {
            self.commit_staged(t)
        })
    }

    /// Appends several encoded records (concatenated, same topic and queue) with one write;
    /// they get consecutive queue offsets. Transactional prepared/rollback records are refused.
    pub fn append_batch(&self, records: &mut [u8], topic: &str, queue_id: i32) -> PutMessageResult {
        Self::committed(self.append_batch_staged(records, topic, queue_id), |t| {
            self.commit_staged(t)
        })
    }

    /// Like [`CommitLog::append`] but returns once the record is staged: the offsets in the
    /// result are final, the bytes are written by the next group write, and the caller must
    /// call [`CommitLog::commit_staged`] with the ticket before acknowledging anything (an
    /// event loop stages a turn's messages and commits them once at the turn's end).
    pub fn append_staged(
        &self,
        record: &mut [u8],
        topic: &str,
        queue_id: i32,
    ) -> (PutMessageResult, Option<AppendTicket>) {
        match self.validate(record, topic, queue_id, false) {
            Ok((layouts, tx)) => self.stage_records(record, &layouts, topic, queue_id, tx),
            Err(status) => (PutMessageResult::failed(status), None),
        }
    }

    /// The staged form of [`CommitLog::append_batch`].
    pub fn append_batch_staged(
        &self,
        records: &mut [u8],
        topic: &str,
        queue_id: i32,
    ) -> (PutMessageResult, Option<AppendTicket>) {
        match self.validate(records, topic, queue_id, true) {
            Ok((layouts, tx)) => self.stage_records(records, &layouts, topic, queue_id, tx),
            Err(status) => (PutMessageResult::failed(status), None),
        }
    }

    /// A staged result made final by `commit`: PUT_OK only when the bytes were written.
    fn committed(
        (result, ticket): (PutMessageResult, Option<AppendTicket>),
        commit: impl FnOnce(&AppendTicket) -> std::result::Result<(), S>,
    ) -> PutMessageResult {
        match ticket.map(|t| commit(&t)) {
            Some(Err(status)) => PutMessageResult::failed(status),
            _ => result,
        }
    }

    fn validate(
        &self,
        buf: &[u8],
        topic: &str,
        queue_id: i32,
        batch: bool,
    ) -> std::result::Result<(Vec<RecordLayout>, i32), S> {
        if let Some(b) = self.write_block() {
            log::debug!("put refused: {b:?}");
            return Err(S::SERVICE_NOT_AVAILABLE);
        }
        let mut layouts = Vec::with_capacity(1);
        let mut pos = 0usize;
        let mut tx = 0;
        while pos < buf.len() {
            let rec = &buf[pos..];
            let l = rf::parse_layout(rec).map_err(|e| {
                log::warn!("illegal record for {topic}/{queue_id} at byte {pos}: {e}");
                S::MESSAGE_ILLEGAL
            })?;
            let (t, q, sys_flag) =
                rf::topic_queue_sysflag(rec, &l).map_err(|_| S::MESSAGE_ILLEGAL)?;
            let crc_ok = rf::body_crc_matches(rec, &l).map_err(|_| S::MESSAGE_ILLEGAL)?;
            tx = sys_flag & rf::TRANSACTION_MASK;
            let bad_tx =
                batch && (tx == rf::TRANSACTION_PREPARED || tx == rf::TRANSACTION_ROLLBACK);
            if t != topic.as_bytes() || q != queue_id || !crc_ok || bad_tx {
                log::warn!("illegal record for {topic}/{queue_id}: key, CRC or tx type mismatch");
                return Err(S::MESSAGE_ILLEGAL);
            }
            if l.total_size as u64 > self.max_message_bytes {
                return Err(S::MESSAGE_ILLEGAL);
            }
            pos += l.total_size;
            layouts.push(l);
            if !batch {
                break;
            }
        }
        if !is_safe_topic_dir(topic) {
            log::warn!("illegal topic name {topic:?}");
            return Err(S::MESSAGE_ILLEGAL);
        }
        let too_big = buf.len() as u64 + END_FILE_MIN_BLANK_BYTES > self.segment_bytes;
        if layouts.is_empty() || pos != buf.len() || too_big {
            return Err(S::MESSAGE_ILLEGAL);
        }
        Ok((layouts, tx))
    }

    pub(crate) fn segment_for_write(&self, offset: u64) -> Result<Arc<Segment>> {
        if let Some(s) = read_lock(&self.queue).find(offset) {
            return Ok(Arc::clone(s));
        }
        write_lock(&self.queue).get_or_create(offset)
    }

    /// Makes room for `len` bytes at the write position: stages the end-of-file blank record
    /// and moves to the next segment (created now) when `len + 8` does not fit.
    fn reserve(&self, w: &mut WriterState, len: u64) -> std::result::Result<(), S> {
        let create_failed = |e: Error| {
            log::error!("cannot create commitlog segment: {e}");
            S::CREATE_MAPPED_FILE_FAILED
        };
        let seg = self
            .segment_for_write(w.write_offset)
            .map_err(create_failed)?;
        let remaining = seg.end_offset() - w.write_offset;
        if len + END_FILE_MIN_BLANK_BYTES <= remaining {
            return Ok(());
        }
        // Create the next segment first: on failure nothing is staged.
        self.segment_for_write(seg.end_offset())
            .map_err(create_failed)?;
        // The blank record's header, then zeros to the segment end: the staged bytes stay one
        // contiguous run ending at the write offset (a roll happens once per segment).
        let staged = &mut w.staging.bytes;
        staged.extend_from_slice(&rf::blank_record(remaining as u32));
        let zeros = remaining.saturating_sub(END_FILE_MIN_BLANK_BYTES) as usize;
        staged.resize(staged.len() + zeros, 0);
        w.write_offset = seg.end_offset();
        log::info!("commitlog rolls to offset {}", w.write_offset);
        Ok(())
    }

    /// Writes `buf` at `phy_offset`; on failure clears what may have been written (best
    /// effort) so no partial record is left behind the write position.
    pub(crate) fn write_record_bytes(
        &self,
        seg: &Segment,
        phy_offset: u64,
        buf: &[u8],
    ) -> std::result::Result<(), S> {
        let rel = phy_offset - seg.base_offset();
        let Err(e) = seg.write_at(rel, buf) else {
            return Ok(());
        };
        log::error!(
            "commitlog write of {} bytes at {phy_offset} failed: {e}",
            buf.len()
        );
        self.stats.failed_writes.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = seg.zero_range(rel, buf.len()) {
            log::error!("cannot clear failed write at {phy_offset}: {e}");
        }
        Err(S::UNKNOWN_ERROR)
    }

    fn stage_records(
        &self,
        buf: &mut [u8],
        layouts: &[RecordLayout],
        topic: &str,
        queue_id: i32,
        tx: i32,
    ) -> (PutMessageResult, Option<AppendTicket>) {
        let (staged, queue_offset, store_ts, batch_phy_offsets) =
            match self.stage(buf, layouts, topic, queue_id, tx) {
                Ok(v) => v,
                Err(status) => return (PutMessageResult::failed(status), None),
            };
        let append = AppendResult {
            phy_offset: staged.phy_offset,
            wrote_bytes: buf.len() as u32,
            queue_offset,
            store_timestamp_ms: store_ts,
            msg_count: staged.msg_count,
            end_offset: staged.end_offset,
            batch_phy_offsets,
        };
        let result = PutMessageResult {
            status: S::PUT_OK,
            append: Some(append),
        };
        (result, Some(AppendTicket(staged)))
    }

    /// Under the append lock: assigns the physical offset, queue offsets and store timestamp,
    /// patches them into `buf` and copies it into the staging buffer.
    fn stage(
        &self,
        buf: &mut [u8],
        layouts: &[RecordLayout],
        topic: &str,
        queue_id: i32,
        tx: i32,
    ) -> std::result::Result<(Staged, i64, i64, Vec<u64>), S> {
        let len = buf.len() as u64;
        let mut w = lock(&self.writer);
        self.lock_begin_ms
            .store((self.clock)().max(1), Ordering::Relaxed);
        let _timer = LockTimer(&self.lock_begin_ms);
        // Checked again under the lock: a failed group write blocks writes while holding it.
        if self.write_block().is_some() {
            return Err(S::SERVICE_NOT_AVAILABLE);
        }
        self.reserve(&mut w, len)?;
        let phy_offset = w.write_offset;
        let store_ts = (self.clock)().max(w.last_store_ts);
        let dispatched = tx != rf::TRANSACTION_PREPARED && tx != rf::TRANSACTION_ROLLBACK;
        let queue_offset = if dispatched {
            w.next_queue_offset(topic, queue_id)
        } else {
            0
        };
        let batch_phy_offsets =
            patch_records(buf, layouts, dispatched, queue_offset, phy_offset, store_ts)?;
        if dispatched {
            let n = layouts.len() as i64;
            w.set_next_queue_offset(topic, queue_id, queue_offset + n);
        }
        w.staging.bytes.extend_from_slice(buf);
        w.staging.last_store_ts = store_ts;
        w.write_offset = phy_offset + len;
        w.last_store_ts = store_ts;
        let staged = Staged {
            epoch: w.staging.epoch,
            phy_offset,
            end_offset: phy_offset + len,
            msg_count: layouts.len() as u32,
        };
        Ok((staged, queue_offset, store_ts, batch_phy_offsets))
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
