//! Walking and recovering the commitlog: the record iterator shared by start-up recovery and
//! the dispatcher, the choice of where a recovery scan starts, and tail truncation.
//!
//! Owns no state; these are methods on [`CommitLog`]. The recovery algorithm as a whole
//! (checkpoint, abort file, consume queues, index) is orchestrated by `store/recover.rs` and
//! documented in `docs/storage.md`.

use crate::error::Result;
use crate::store::commit_log::{lock, write_lock, CommitLog};
use crate::store::record_format::{self as rf, DispatchInfo, RecordError, RecordHead};
use crate::store::segment::sync_dir;

/// Safety margin subtracted from the checkpoint time when choosing the recovery start.
pub const RECOVER_SAFETY_MARGIN_MS: i64 = 3000;

/// Why a walk stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WalkStop {
    /// Reached the given limit.
    Limit,
    /// A zero TOTALSIZE: nothing was ever written here.
    EndOfData,
    /// Bytes that are not a valid record.
    Invalid(RecordError),
    /// No segment holds the offset.
    NoSegment,
}

/// Progress of one [`CommitLog::walk_chunk`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WalkStep {
    /// Offset of the first byte not consumed.
    pub(crate) next: u64,
    /// Set when the walk cannot continue from `next`.
    pub(crate) stop: Option<WalkStop>,
}

/// Where a full scan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ScanEnd {
    /// Offset just past the last valid record (or blank record).
    pub(crate) end: u64,
    /// Store time of the last valid record (0 if none was seen).
    pub(crate) last_store_ts: i64,
    /// Why the scan stopped.
    pub(crate) stop: WalkStop,
}

/// What to do at one position of a chunk.
enum Next {
    /// A whole message record of this many bytes is in the chunk.
    Record(usize),
    /// Continue at this offset (after a blank record).
    JumpTo(u64),
    /// The record continues past the chunk: read the next chunk from here.
    Refill,
    /// The record is larger than the whole chunk: read exactly this many bytes.
    ReadWhole(u64),
    /// The walk ends here.
    Stop(WalkStop),
}

/// Bounds of the chunk being walked, as global offsets.
struct ChunkBounds {
    chunk_end: u64,
    seg_end: u64,
    limit: u64,
}

/// Classifies the bytes `rest` found at global offset `at` (`first`: at the chunk start).
fn classify(rest: &[u8], at: u64, first: bool, b: &ChunkBounds) -> Next {
    let invalid = |why| Next::Stop(WalkStop::Invalid(RecordError(why)));
    let more_follows = b.chunk_end < b.seg_end && b.chunk_end < b.limit;
    match rf::read_head(rest) {
        Err(e) => Next::Stop(WalkStop::Invalid(e)),
        Ok(None) if more_follows => Next::Refill,
        Ok(None) => invalid("truncated record head"),
        Ok(Some(RecordHead::Empty)) => Next::Stop(WalkStop::EndOfData),
        Ok(Some(RecordHead::Blank { total_size })) => {
            if at + u64::from(total_size) == b.seg_end {
                Next::JumpTo(b.seg_end)
            } else {
                invalid("blank record does not reach the segment end")
            }
        }
        Ok(Some(RecordHead::Message { total_size })) => {
            let total = total_size as usize;
            let fits = at + u64::from(total_size) <= b.seg_end.min(b.limit);
            if total <= rest.len() {
                Next::Record(total)
            } else if fits && !first {
                Next::Refill
            } else if fits {
                Next::ReadWhole(u64::from(total_size))
            } else {
                invalid("record crosses the segment or readable end")
            }
        }
    }
}

impl CommitLog {
    /// Reads one chunk (up to `chunk_bytes`) from `from` and calls `f(offset, info, record)`
    /// for every whole valid record in it, following blank records to the next segment.
    pub(crate) fn walk_chunk<F>(
        &self,
        from: u64,
        limit: u64,
        check_crc: bool,
        chunk_bytes: u64,
        mut f: F,
    ) -> Result<WalkStep>
    where
        F: FnMut(u64, &DispatchInfo<'_>, &[u8]),
    {
        let step = |next, stop| Ok(WalkStep { next, stop });
        if from >= limit {
            return step(from, Some(WalkStop::Limit));
        }
        let Some((buf, seg_end)) = self.read_chunk(from, chunk_bytes, limit)? else {
            return step(from, Some(WalkStop::NoSegment));
        };
        let bounds = ChunkBounds {
            chunk_end: from + buf.len() as u64,
            seg_end,
            limit,
        };
        let mut i = 0usize;
        loop {
            let at = from + i as u64;
            if at >= limit {
                return step(at, Some(WalkStop::Limit));
            }
            match classify(&buf[i..], at, i == 0, &bounds) {
                Next::Record(total) => {
                    let rec = &buf[i..i + total];
                    match rf::parse_dispatch(rec, Some(at), check_crc) {
                        Ok(info) => f(at, &info, rec),
                        Err(e) => return step(at, Some(WalkStop::Invalid(e))),
                    }
                    i += total;
                }
                Next::JumpTo(next) => return step(next, None),
                Next::Refill => return step(at, None),
                Next::ReadWhole(total) => return self.walk_chunk(from, limit, check_crc, total, f),
                Next::Stop(why) => return step(at, Some(why)),
            }
        }
    }

    /// Walks from `from` to the first invalid record, the end of the data or `limit`.
    pub(crate) fn scan_to_end(
        &self,
        from: u64,
        limit: u64,
        check_crc: bool,
        chunk_bytes: u64,
    ) -> Result<ScanEnd> {
        let mut pos = from;
        let mut last_store_ts = 0;
        loop {
            let step = self.walk_chunk(pos, limit, check_crc, chunk_bytes, |_, info, _| {
                last_store_ts = info.store_timestamp;
            })?;
            pos = step.next;
            if let Some(stop) = step.stop {
                return Ok(ScanEnd {
                    end: pos,
                    last_store_ts,
                    stop,
                });
            }
        }
    }

    /// Start of the scan after a clean shutdown: the segment holding the last byte before the
    /// checkpointed end (`confirm_hint`), or the third-newest segment when there is no hint.
    pub(crate) fn normal_scan_start(&self, confirm_hint: u64) -> u64 {
        let q = self.queue.read().unwrap_or_else(|p| p.into_inner());
        let segs = q.segments();
        let Some(first) = segs.first() else {
            return 0;
        };
        if confirm_hint > first.base_offset() {
            if let Some(seg) = q.find(confirm_hint - 1) {
                return seg.base_offset();
            }
        }
        segs[segs.len().saturating_sub(3)].base_offset()
    }

    /// Start of the scan after a crash: the newest segment whose first record was stored at or
    /// before `min_checkpoint_ts - 3 s`; the oldest segment when none qualifies.
    pub(crate) fn abnormal_scan_start(&self, min_checkpoint_ts: i64) -> Result<u64> {
        let segs: Vec<_> = self
            .queue
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .segments()
            .to_vec();
        let Some(first) = segs.first() else {
            return Ok(0);
        };
        if min_checkpoint_ts > 0 {
            let bound = min_checkpoint_ts - RECOVER_SAFETY_MARGIN_MS;
            for seg in segs.iter().rev() {
                let mut prefix = [0u8; 80];
                seg.read_at(0, &mut prefix)?;
                if let Ok(ts) = rf::prefix_store_timestamp(&prefix) {
                    if ts > 0 && ts <= bound {
                        return Ok(seg.base_offset());
                    }
                }
            }
        }
        Ok(first.base_offset())
    }

    /// Discards everything from `end` on (zeroed tail, later segments deleted) and makes the
    /// log writable from `end`.
    pub(crate) fn truncate_to(&self, end: u64, last_store_ts: i64) -> Result<()> {
        {
            let mut q = write_lock(&self.queue);
            q.truncate_from(end)?;
            if let Some(seg) = q.find(end.saturating_sub(1)) {
                seg.sync()?;
            }
            sync_dir(q.dir())?;
        }
        self.set_positions(end, last_store_ts);
        Ok(())
    }

    /// Rebuilds "topicQueueTable" from the consume queues' max offsets.
    pub(crate) fn restore_topic_queue_table(
        &self,
        entries: impl IntoIterator<Item = (String, i32, i64)>,
    ) {
        let mut w = lock(&self.writer);
        w.topic_queue_table.clear();
        for (topic, queue_id, max_offset) in entries {
            w.topic_queue_table
                .entry(topic)
                .or_default()
                .insert(queue_id, max_offset);
        }
    }
}
