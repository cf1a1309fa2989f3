//! `ConsumeQueue`: the per (topic, queue id) index of the commitlog (RocketMQ `ConsumeQueue`).
//!
//! Owns the queue's files (`consumequeue/<topic>/<queueId>/<20-digit byte offset>`), each an
//! array of 20-byte units `commitlog_offset i64 | size i32 | tags_code i64` (big-endian); unit
//! `n` sits at byte `n * 20` of the queue's logical space. Units are written only by the
//! dispatcher (single writer) and read by any thread. Not checksummed: after a crash the tail is
//! cut back and rebuilt from the commitlog, the single source of truth (`docs/storage.md`).
//! A queue that starts mid-file is padded with blank units `(0, i32::MAX, 0)`.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::error::Result;
use crate::store::commit_log::write_lock;
use crate::store::config::CQ_UNIT_BYTES;
use crate::store::fault::FaultHandle;
use crate::store::segment::Segment;
use crate::store::segment_queue::SegmentQueue;

/// One consume-queue unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqUnit {
    /// Commitlog offset of the record.
    pub phy_offset: i64,
    /// Record size in bytes (`i32::MAX` for a blank padding unit).
    pub size: i32,
    /// Tags hash code (delivery time on the schedule topic).
    pub tags_code: i64,
}

impl CqUnit {
    /// The padding unit written before the first unit of a queue that starts mid-file.
    pub const BLANK: CqUnit = CqUnit {
        phy_offset: 0,
        size: i32::MAX,
        tags_code: 0,
    };

    /// True for a padding unit.
    pub fn is_blank(&self) -> bool {
        self.size == i32::MAX
    }

    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.phy_offset.to_be_bytes());
        out.extend_from_slice(&self.size.to_be_bytes());
        out.extend_from_slice(&self.tags_code.to_be_bytes());
    }

    fn decode(b: &[u8]) -> CqUnit {
        let mut phy = [0u8; 8];
        phy.copy_from_slice(&b[0..8]);
        let mut tags = [0u8; 8];
        tags.copy_from_slice(&b[12..20]);
        CqUnit {
            phy_offset: i64::from_be_bytes(phy),
            size: i32::from_be_bytes([b[8], b[9], b[10], b[11]]),
            tags_code: i64::from_be_bytes(tags),
        }
    }
}

fn decode_units(buf: &[u8]) -> Vec<CqUnit> {
    buf.chunks_exact(CQ_UNIT_BYTES as usize)
        .map(CqUnit::decode)
        .collect()
}

/// One topic-queue's consume queue. See the module docs.
#[derive(Debug)]
pub struct ConsumeQueue {
    topic: String,
    queue_id: i32,
    queue: RwLock<SegmentQueue>,
    max_offset: AtomicI64,
    min_offset: AtomicI64,
    flushed_bytes: AtomicU64,
}

impl ConsumeQueue {
    /// Opens the queue's directory (created if missing). Offsets stay 0 until `recover`.
    pub(crate) fn load(dir: &Path, topic: &str, queue_id: i32, file_bytes: u64) -> Result<Self> {
        let queue = SegmentQueue::load(dir, file_bytes, FaultHandle::none())?;
        Ok(ConsumeQueue {
            topic: topic.to_string(),
            queue_id,
            queue: RwLock::new(queue),
            max_offset: AtomicI64::new(0),
            min_offset: AtomicI64::new(0),
            flushed_bytes: AtomicU64::new(0),
        })
    }

    /// The topic.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The queue id.
    pub fn queue_id(&self) -> i32 {
        self.queue_id
    }

    /// Next offset to be written (= number of units, padding included).
    pub fn max_offset(&self) -> i64 {
        self.max_offset.load(Ordering::Acquire)
    }

    /// Smallest offset whose record is still in the commitlog.
    pub fn min_offset(&self) -> i64 {
        self.min_offset.load(Ordering::Acquire)
    }

    fn dir(&self) -> PathBuf {
        self.read_queue().dir().to_path_buf()
    }

    fn read_queue(&self) -> std::sync::RwLockReadGuard<'_, SegmentQueue> {
        self.queue.read().unwrap_or_else(|p| p.into_inner())
    }

    fn segments(&self) -> Vec<Arc<Segment>> {
        self.read_queue().segments().to_vec()
    }

    /// Writes `units` as offsets `first_offset..`. Offsets already present are skipped (a
    /// rebuild after a crash); a gap is filled with blank units.
    pub(crate) fn put_units(&self, first_offset: i64, units: &[CqUnit]) -> Result<()> {
        let max = self.max_offset();
        let skip = (max - first_offset).clamp(0, units.len() as i64) as usize;
        let units = &units[skip..];
        if units.is_empty() {
            return Ok(());
        }
        let start = first_offset + skip as i64;
        let empty = self.read_queue().last().is_none();
        let file_units = (self.read_queue().segment_bytes() / CQ_UNIT_BYTES) as i64;
        let pad_from = if empty {
            start - start % file_units
        } else {
            max
        };
        if start > max && !empty {
            log::warn!(
                "consume queue {}/{} gap: expected offset {max}, got {start}; padding",
                self.topic,
                self.queue_id
            );
        }
        let mut buf = Vec::with_capacity(((start - pad_from) as usize + units.len()) * 20);
        for _ in pad_from..start {
            CqUnit::BLANK.encode(&mut buf);
        }
        for u in units {
            u.encode(&mut buf);
        }
        self.write_bytes(pad_from as u64 * CQ_UNIT_BYTES, &buf)?;
        if empty {
            self.min_offset.store(start, Ordering::Release);
        }
        self.max_offset
            .store(start + units.len() as i64, Ordering::Release);
        Ok(())
    }

    fn write_bytes(&self, mut at: u64, buf: &[u8]) -> Result<()> {
        let mut i = 0usize;
        while i < buf.len() {
            let seg = write_lock(&self.queue).get_or_create(at)?;
            let rel = at - seg.base_offset();
            let n = (buf.len() - i).min((seg.size_bytes() - rel) as usize);
            seg.write_at(rel, &buf[i..i + n])?;
            i += n;
            at += n as u64;
        }
        Ok(())
    }

    /// Reads up to `max_units` units from `offset`, within one file. `Ok(None)` when the file
    /// holding `offset` is gone (deleted by retention); an empty vector at or past the max.
    pub fn read_units(&self, offset: i64, max_units: usize) -> Result<Option<Vec<CqUnit>>> {
        let max = self.max_offset();
        if offset < 0 {
            return Ok(None);
        }
        if offset >= max || max_units == 0 {
            return Ok(Some(Vec::new()));
        }
        let at = offset as u64 * CQ_UNIT_BYTES;
        let Some(seg) = self.read_queue().find(at).cloned() else {
            return Ok(None);
        };
        let in_file = (seg.end_offset() - at) / CQ_UNIT_BYTES;
        let n = (max_units as u64).min((max - offset) as u64).min(in_file);
        let mut buf = vec![0u8; (n * CQ_UNIT_BYTES) as usize];
        seg.read_at(at - seg.base_offset(), &mut buf)?;
        Ok(Some(decode_units(&buf)))
    }

    /// The unit at `offset`, if present.
    pub fn unit_at(&self, offset: i64) -> Result<Option<CqUnit>> {
        Ok(self
            .read_units(offset, 1)?
            .and_then(|v| v.into_iter().next()))
    }

    /// fdatasyncs the files holding units written since the last flush.
    pub(crate) fn flush(&self) -> Result<()> {
        let written = self.max_offset() as u64 * CQ_UNIT_BYTES;
        let from = self.flushed_bytes.load(Ordering::Acquire);
        if written <= from {
            return Ok(());
        }
        for seg in self.read_queue().range(from, written) {
            seg.sync()?;
        }
        self.flushed_bytes.fetch_max(written, Ordering::AcqRel);
        Ok(())
    }

    /// Start-up recovery: finds the last valid unit whose record ends at or below
    /// `keep_below_phy`, discards everything after it, then sets the min offset from
    /// `commit_log_min`.
    pub(crate) fn recover(&self, keep_below_phy: u64, commit_log_min: u64) -> Result<()> {
        let segs = self.segments();
        let mut end_units = 0u64;
        for (idx, seg) in segs.iter().enumerate().rev() {
            let mut buf = vec![0u8; seg.size_bytes() as usize];
            seg.read_at(0, &mut buf)?;
            let k = valid_prefix_len(&decode_units(&buf), keep_below_phy);
            if k > 0 || idx == 0 {
                end_units = seg.base_offset() / CQ_UNIT_BYTES + k as u64;
                break;
            }
        }
        let end_bytes = end_units * CQ_UNIT_BYTES;
        let last_end = segs.last().map_or(0, |s| s.end_offset());
        if end_bytes < last_end {
            write_lock(&self.queue).truncate_from(end_bytes)?;
        }
        self.max_offset.store(end_units as i64, Ordering::Release);
        self.flushed_bytes.store(end_bytes, Ordering::Release);
        self.correct_min_offset(commit_log_min)
    }

    /// Sets the min offset to the first non-blank unit whose record starts at or after
    /// `commit_log_min` (binary search: units are ordered by commitlog offset).
    pub(crate) fn correct_min_offset(&self, commit_log_min: u64) -> Result<()> {
        let max = self.max_offset();
        let first = self
            .read_queue()
            .min_offset()
            .map_or(max, |b| (b / CQ_UNIT_BYTES) as i64);
        let (mut lo, mut hi) = (first, max);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let below = match self.unit_at(mid)? {
                Some(u) => u.is_blank() || (u.phy_offset as u64) < commit_log_min,
                None => true,
            };
            if below {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        self.min_offset.store(lo, Ordering::Release);
        Ok(())
    }

    /// Deletes files (never the newest) whose last unit points below `commit_log_min`.
    pub(crate) fn delete_expired(&self, commit_log_min: u64) -> Result<usize> {
        let segs = self.segments();
        let mut n = 0;
        for seg in segs.iter().take(segs.len().saturating_sub(1)) {
            let mut b = [0u8; CQ_UNIT_BYTES as usize];
            seg.read_at(seg.size_bytes() - CQ_UNIT_BYTES, &mut b)?;
            let last = CqUnit::decode(&b);
            if last.is_blank() || last.phy_offset as u64 + last.size as u64 > commit_log_min {
                break;
            }
            n += 1;
        }
        if n > 0 {
            let removed = write_lock(&self.queue).remove_front(n);
            for s in &removed {
                log::info!(
                    "retention deletes consume queue file {}",
                    s.path().display()
                );
                s.destroy()?;
            }
        }
        self.correct_min_offset(commit_log_min)?;
        Ok(n)
    }

    /// Deletes the whole queue directory (used by tests and topic deletion).
    pub fn destroy(&self) -> Result<()> {
        let dir = self.dir();
        std::fs::remove_dir_all(&dir)
            .map_err(|e| crate::error::Error::io("delete consume queue", &dir, e))
    }
}

/// Number of leading units that are valid: positive size, records in commitlog order without
/// overlap, each ending at or below `keep_below_phy`; blank padding only before any real unit.
fn valid_prefix_len(units: &[CqUnit], keep_below_phy: u64) -> usize {
    let mut prev_end: Option<u64> = None;
    for (i, u) in units.iter().enumerate() {
        if u.is_blank() && u.phy_offset == 0 && prev_end.is_none() {
            continue;
        }
        let end = (u.phy_offset.max(0) as u64).saturating_add(u.size.max(0) as u64);
        let ok = u.size > 0
            && u.phy_offset >= 0
            && prev_end.is_none_or(|p| u.phy_offset as u64 >= p)
            && end <= keep_below_phy;
        if !ok {
            return i;
        }
        prev_end = Some(end);
    }
    units.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(phy: i64) -> CqUnit {
        CqUnit {
            phy_offset: phy,
            size: 100,
            tags_code: phy * 7,
        }
    }

    #[test]
    fn put_read_across_files_and_recover() {
        let dir = tempfile::tempdir().unwrap();
        let cq = ConsumeQueue::load(dir.path(), "T", 0, 5 * 20).unwrap();
        let units: Vec<_> = (0..12).map(|i| unit(i * 100)).collect();
        cq.put_units(0, &units[..7]).unwrap();
        cq.put_units(5, &units[5..12]).unwrap();
        assert_eq!(cq.max_offset(), 12);
        assert_eq!(cq.read_units(3, 10).unwrap().unwrap(), units[3..5].to_vec());
        assert_eq!(cq.unit_at(11).unwrap(), Some(units[11]));
        assert_eq!(cq.read_units(12, 1).unwrap(), Some(vec![]));
        cq.flush().unwrap();
        let again = ConsumeQueue::load(dir.path(), "T", 0, 5 * 20).unwrap();
        again.recover(800, 0).unwrap();
        assert_eq!(again.max_offset(), 8);
        assert_eq!(again.min_offset(), 0);
        again.correct_min_offset(250).unwrap();
        assert_eq!(again.min_offset(), 3);
        assert_eq!(again.delete_expired(600).unwrap(), 1);
        assert_eq!(again.read_units(2, 1).unwrap(), None);
        assert_eq!(again.min_offset(), 6);
    }

    #[test]
    fn queue_starting_mid_file_is_padded() {
        let dir = tempfile::tempdir().unwrap();
        let cq = ConsumeQueue::load(dir.path(), "T", 1, 4 * 20).unwrap();
        cq.put_units(6, &[unit(1000)]).unwrap();
        assert_eq!((cq.min_offset(), cq.max_offset()), (6, 7));
        assert_eq!(cq.unit_at(4).unwrap(), Some(CqUnit::BLANK));
        let again = ConsumeQueue::load(dir.path(), "T", 1, 4 * 20).unwrap();
        again.recover(u64::MAX, 0).unwrap();
        assert_eq!((again.min_offset(), again.max_offset()), (6, 7));
    }

    #[test]
    fn valid_prefix_rules() {
        let u = |p, s| CqUnit {
            phy_offset: p,
            size: s,
            tags_code: 0,
        };
        assert_eq!(valid_prefix_len(&[u(0, 10), u(10, 10), u(0, 0)], 100), 2);
        assert_eq!(valid_prefix_len(&[u(0, 10), u(5, 10)], 100), 1);
        assert_eq!(
            valid_prefix_len(&[CqUnit::BLANK, u(0, 10), u(10, 10)], 15),
            2
        );
    }
}
