//! Replication writes: a slave appends the master's commitlog bytes verbatim at the master's
//! physical offsets (`CommitLog::append_raw`), and the helpers the HA master uses to stream
//! its log (`transfer_region`).
//!
//! A chunk from the master may end in the middle of a record. The write end (`write_offset`)
//! always follows the received bytes; the readable end (`confirm_offset`) only advances to
//! the end of the last COMPLETE record (or end-of-file blank record), so the dispatcher,
//! pulls and the flush never see a torn record. After a crash recovery truncates such a
//! partial tail, and the slave re-reports its (recovered) offset. Format: `docs/replication.md`.

use std::sync::atomic::Ordering;

use super::{lock, read_lock, CommitLog};
use crate::error::{Error, Result};
use crate::store::record_format::{self as rf, RecordHead};
use crate::store::status::FileRegion;

/// What [`CommitLog::append_raw`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawAppend {
    /// The write end after the append (`phy_offset + data.len()`).
    pub write_offset: u64,
    /// The readable end after the append (end of the last complete record).
    pub confirm_offset: u64,
    /// The log was empty and now starts at `phy_offset` (a fresh slave adopting the master's
    /// last segment): the dispatcher must start there too.
    pub rebased: bool,
}

/// Where to find the 8-byte head of the record at a given offset: in the chunk just written,
/// or (when it started in an earlier chunk) in the segment file.
struct Chunk<'a> {
    start: u64,
    data: &'a [u8],
}

impl CommitLog {
    /// The write end: every byte below it was written (on a slave possibly a record's first
    /// part only). Equal to [`CommitLog::confirm_offset`] on a master.
    pub fn write_offset(&self) -> u64 {
        lock(&self.writer).write_offset
    }

    /// Registers the callback run after every append that made bytes readable, in addition to
    /// the dispatcher's (used by the HA master service to wake its streaming thread).
    pub fn set_replication_notify(&self, f: Box<dyn Fn() + Send + Sync>) {
        let _ = self.replication_notify.set(f);
    }

    pub(crate) fn notify_appended(&self) {
        if let Some(notify) = self.append_notify.get() {
            notify();
        }
        if let Some(notify) = self.replication_notify.get() {
            notify();
        }
    }

    /// Writes `data` (raw commitlog bytes from the master) at `phy_offset`, which must be the
    /// write end (or anything when the log is empty). Crosses segment ends as the data does,
    /// creating segments. Advances the readable end to the last complete record and wakes the
    /// dispatcher. Errors: an offset mismatch or an I/O failure (nothing is confirmed then).
    pub fn append_raw(&self, phy_offset: u64, data: &[u8]) -> Result<RawAppend> {
        if self.write_block().is_some() {
            return Err(Error::io(
                "append replicated bytes",
                "commitlog",
                std::io::Error::other("the commitlog refuses writes"),
            ));
        }
        let mut w = lock(&self.writer);
        if !w.staging.bytes.is_empty() {
            // Local appends are in flight (this broker is not a slave any more).
            return Err(Error::io(
                "append replicated bytes",
                "commitlog",
                std::io::Error::other("local appends are staged"),
            ));
        }
        let empty = w.write_offset == 0 && read_lock(&self.queue).segments().is_empty();
        if phy_offset != w.write_offset && !empty {
            return Err(Error::corrupt(
                "commitlog",
                phy_offset,
                format!(
                    "replicated bytes do not start at the write end {}",
                    w.write_offset
                ),
            ));
        }
        let rebased = empty && phy_offset != 0;
        if empty {
            // A fresh slave adopts the master's position (the first report was 0).
            w.write_offset = phy_offset;
            self.confirm_offset.store(phy_offset, Ordering::Release);
            self.flushed_offset.store(phy_offset, Ordering::Release);
        }
        let pos = self.write_across_segments(phy_offset, data)?;
        w.write_offset = pos;
        let chunk = Chunk {
            start: phy_offset,
            data,
        };
        let (confirm, last_ts) = self.complete_records_end(&chunk, pos)?;
        if let Some(ts) = last_ts {
            w.last_store_ts = w.last_store_ts.max(ts);
            self.last_store_ts.store(w.last_store_ts, Ordering::Release);
        }
        let advanced = confirm > self.confirm_offset();
        self.confirm_offset.store(confirm, Ordering::Release);
        drop(w);
        if advanced {
            self.notify_appended();
        }
        Ok(RawAppend {
            write_offset: pos,
            confirm_offset: confirm,
            rebased,
        })
    }

    /// Writes `data` at `at`, creating segments as it crosses their ends; returns the end.
    fn write_across_segments(&self, at: u64, data: &[u8]) -> Result<u64> {
        let (mut pos, mut i) = (at, 0usize);
        while i < data.len() {
            let seg = self.segment_for_write(pos)?;
            let n = (data.len() - i).min((seg.end_offset() - pos) as usize);
            seg.write_at(pos - seg.base_offset(), &data[i..i + n])?;
            pos += n as u64;
            i += n;
        }
        Ok(pos)
    }

    /// The 8 bytes at `at`, from the chunk when it holds them, else from the segment file.
    fn head_at(&self, chunk: &Chunk<'_>, at: u64) -> Result<[u8; 8]> {
        let mut head = [0u8; 8];
        if at >= chunk.start && at + 8 <= chunk.start + chunk.data.len() as u64 {
            let i = (at - chunk.start) as usize;
            head.copy_from_slice(&chunk.data[i..i + 8]);
            return Ok(head);
        }
        let seg = read_lock(&self.queue).find(at).cloned();
        let Some(seg) = seg else {
            return Err(Error::corrupt(
                "commitlog",
                at,
                "no segment holds the offset",
            ));
        };
        seg.read_at(at - seg.base_offset(), &mut head)?;
        Ok(head)
    }

    /// Walks record heads from the readable end up to `write_end`; returns the end of the last
    /// complete record and the store time of the last complete message seen in the chunk.
    fn complete_records_end(
        &self,
        chunk: &Chunk<'_>,
        write_end: u64,
    ) -> Result<(u64, Option<i64>)> {
        let seg_bytes = self.segment_bytes;
        let mut at = self.confirm_offset();
        let mut last_ts = None;
        while at + 8 <= write_end {
            let seg_end = (at / seg_bytes + 1) * seg_bytes;
            let head = self.head_at(chunk, at)?;
            match rf::read_head(&head) {
                Ok(Some(RecordHead::Message { total_size })) => {
                    let end = at + u64::from(total_size);
                    if end > seg_end {
                        log::error!("replicated record at {at} crosses its segment end");
                        break;
                    }
                    if end > write_end {
                        break;
                    }
                    if at >= chunk.start && end <= chunk.start + chunk.data.len() as u64 {
                        let i = (at - chunk.start) as usize;
                        last_ts = rf::prefix_store_timestamp(&chunk.data[i..]).ok();
                    }
                    at = end;
                }
                Ok(Some(RecordHead::Blank { total_size })) => {
                    if at + u64::from(total_size) != seg_end || write_end < seg_end {
                        break;
                    }
                    at = seg_end;
                }
                Ok(Some(RecordHead::Empty)) | Ok(None) => break,
                Err(e) => {
                    log::error!("replicated bytes at {at} are not a record: {e}");
                    break;
                }
            }
        }
        Ok((at, last_ts))
    }

    /// The readable bytes to stream from `from`: at most `max_len`, below the readable end and
    /// within one segment file. `None` when nothing is readable at `from` (caught up, or the
    /// offset is not on disk).
    pub fn transfer_region(&self, from: u64, max_len: u64) -> Option<FileRegion> {
        let confirm = self.confirm_offset();
        if from >= confirm {
            return None;
        }
        let q = read_lock(&self.queue);
        let seg = q.find(from)?;
        let end = confirm
            .min(seg.end_offset())
            .min(from.saturating_add(max_len));
        Some(FileRegion {
            file: std::sync::Arc::clone(seg.file()),
            position: from - seg.base_offset(),
            len: u32::try_from(end - from).unwrap_or(u32::MAX),
        })
    }

    /// Drops a partial record after the readable end (a slave being promoted): the write end
    /// goes back to the readable end, the torn bytes are zeroed.
    pub(crate) fn discard_unconfirmed_tail(&self) -> Result<()> {
        let confirm = self.confirm_offset();
        if self.write_offset() == confirm {
            return Ok(());
        }
        let ts = self.last_store_ts.load(Ordering::Acquire);
        log::warn!("discarding the partial record after commitlog offset {confirm}");
        self.truncate_to(confirm, ts)
    }
}
