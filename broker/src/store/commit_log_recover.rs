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

impl CommitLog {
    /// Reads one chunk (up to `chunk_bytes`, which must be at least `maxMessageSize`) from
    /// `from` and calls `f(offset, info, record)` for every whole valid record in it, following
    /// blank records to the next segment.
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
        let stop = |next, why| {
            Ok(WalkStep {
                next,
                stop: Some(why),
            })
        };
        if from >= limit {
            return stop(from, WalkStop::Limit);
        }
        let Some((buf, seg_end)) = self.read_chunk(from, chunk_bytes, limit)? else {
            return stop(from, WalkStop::NoSegment);
        };
        let chunk_end = from + buf.len() as u64;
        let mut i = 0usize;
        loop {
            let at = from + i as u64;
            if at >= limit {
                return stop(at, WalkStop::Limit);
            }
            let rest = &buf[i..];
            let head = match rf::read_head(rest) {
                Ok(h) => h,
                Err(e) => return stop(at, WalkStop::Invalid(e)),
            };
            match head {
                None if chunk_end < seg_end && chunk_end < limit => {
                    return Ok(WalkStep {
                        next: at,
                        stop: None,
                    })
                }
                None => return stop(at, WalkStop::Invalid(RecordError("truncated record head"))),
                Some(RecordHead::Empty) => return stop(at, WalkStop::EndOfData),
                Some(RecordHead::Blank { total_size }) => {
                    if at + u64::from(total_size) != seg_end {
                        let e = RecordError("blank record does not reach the segment end");
                        return stop(at, WalkStop::Invalid(e));
                    }
                    return Ok(WalkStep {
                        next: seg_end,
                        stop: None,
                    });
                }
                Some(RecordHead::Message { total_size }) => {
                    let total = total_size as usize;
                    if total > rest.len() {
                        let fits = at + total as u64 <= seg_end.min(limit);
                        if fits && i > 0 {
                            return Ok(WalkStep {
                                next: at,
                                stop: None,
                            });
                        }
                        if fits {
                            // A record larger than the chunk: read exactly that record.
                            return self.walk_chunk(from, limit, check_crc, total as u64, f);
                        }
                        let e = RecordError("record crosses the segment or readable end");
                        return stop(at, WalkStop::Invalid(e));
                    }
                    let rec = &rest[..total];
                    match rf::parse_dispatch(rec, Some(at), check_crc) {
                        Ok(info) => f(at, &info, rec),
                        Err(e) => return stop(at, WalkStop::Invalid(e)),
                    }
                    i += total;
                }
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
