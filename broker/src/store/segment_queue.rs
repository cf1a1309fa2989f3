//! `SegmentQueue`: the ordered, contiguous list of equally sized [`Segment`]s of one log
//! (RocketMQ `MappedFileQueue`).
//!
//! Owns: loading a directory (names, sizes, contiguity checks), finding the segment for an
//! offset, creating the next one, truncating a dirty tail and removing expired segments from
//! the front. It does not track write/flush positions. Not thread-safe by itself: owners keep
//! it behind a lock and clone the `Arc<Segment>`s they need before doing I/O.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::store::fault::FaultHandle;
use crate::store::segment::{parse_segment_file_name, sync_dir, Segment};

/// Ordered segments covering one contiguous offset range.
#[derive(Debug)]
pub struct SegmentQueue {
    dir: PathBuf,
    segment_bytes: u64,
    segments: Vec<Arc<Segment>>,
    fault: FaultHandle,
}

impl SegmentQueue {
    /// Opens every segment in `dir` (created if missing). Files whose names are not 20 digits
    /// are ignored; a misaligned base offset or a gap between segments is corruption.
    pub fn load(dir: &Path, segment_bytes: u64, fault: FaultHandle) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create store dir", dir, e))?;
        let mut bases = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| Error::io("list store dir", dir, e))? {
            let entry = entry.map_err(|e| Error::io("list store dir", dir, e))?;
            let name = entry.file_name();
            match name.to_str().and_then(parse_segment_file_name) {
                Some(base) => bases.push((base, entry.path())),
                None => log::warn!("ignoring unexpected file {}", entry.path().display()),
            }
        }
        bases.sort();
        let mut segments = Vec::with_capacity(bases.len());
        for (base, path) in bases {
            if base % segment_bytes != 0 {
                return Err(Error::corrupt(
                    &path,
                    base,
                    format!("start offset is not a multiple of the segment size {segment_bytes}"),
                ));
            }
            if let Some(prev) = segments.last().map(|s: &Arc<Segment>| s.end_offset()) {
                if prev != base {
                    return Err(Error::corrupt(
                        &path,
                        base,
                        format!("gap: the previous segment ends at {prev}"),
                    ));
                }
            }
            segments.push(Arc::new(Segment::open(
                &path,
                base,
                segment_bytes,
                fault.clone(),
            )?));
        }
        Ok(SegmentQueue {
            dir: dir.to_path_buf(),
            segment_bytes,
            segments,
            fault,
        })
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Bytes per segment.
    pub fn segment_bytes(&self) -> u64 {
        self.segment_bytes
    }

    /// All segments, oldest first.
    pub fn segments(&self) -> &[Arc<Segment>] {
        &self.segments
    }

    /// The newest segment.
    pub fn last(&self) -> Option<&Arc<Segment>> {
        self.segments.last()
    }

    /// Offset of the first byte of the oldest segment.
    pub fn min_offset(&self) -> Option<u64> {
        self.segments.first().map(|s| s.base_offset())
    }

    /// The segment containing `offset`.
    pub fn find(&self, offset: u64) -> Option<&Arc<Segment>> {
        let first = self.segments.first()?.base_offset();
        if offset < first {
            return None;
        }
        let idx = ((offset - first) / self.segment_bytes) as usize;
        self.segments.get(idx)
    }

    /// The segment containing `offset`, creating it when `offset` lies in the segment right
    /// after the newest one (or the queue is empty).
    pub fn get_or_create(&mut self, offset: u64) -> Result<Arc<Segment>> {
        if let Some(seg) = self.find(offset) {
            return Ok(Arc::clone(seg));
        }
        let base = offset - offset % self.segment_bytes;
        if let Some(last) = self.segments.last() {
            if base != last.end_offset() {
                return Err(Error::corrupt(
                    &self.dir,
                    offset,
                    format!(
                        "offset is not next to the last segment ending at {}",
                        last.end_offset()
                    ),
                ));
            }
        }
        let seg = Arc::new(Segment::create(
            &self.dir,
            base,
            self.segment_bytes,
            self.fault.clone(),
        )?);
        sync_dir(&self.dir)?;
        log::info!("created segment {}", seg.path().display());
        self.segments.push(Arc::clone(&seg));
        Ok(seg)
    }

    /// Segments overlapping `[from, to)`.
    pub fn range(&self, from: u64, to: u64) -> Vec<Arc<Segment>> {
        self.segments
            .iter()
            .filter(|s| s.base_offset() < to && s.end_offset() > from)
            .cloned()
            .collect()
    }

    /// Discards everything at and after `offset`: zeroes the tail of the segment containing it
    /// (kept even when `offset` is its first byte) and deletes every later segment.
    pub fn truncate_from(&mut self, offset: u64) -> Result<()> {
        while let Some(last) = self.segments.last() {
            if last.base_offset() <= offset {
                break;
            }
            log::warn!(
                "deleting segment {} beyond offset {offset}",
                last.path().display()
            );
            last.destroy()?;
            self.segments.pop();
        }
        if let Some(seg) = self.find(offset) {
            seg.zero_from(offset - seg.base_offset())?;
        }
        Ok(())
    }

    /// Removes the `n` oldest segments from the list (the caller deletes their files).
    pub fn remove_front(&mut self, n: usize) -> Vec<Arc<Segment>> {
        let n = n.min(self.segments.len());
        self.segments.drain(..n).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_find_truncate_reload() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = SegmentQueue::load(dir.path(), 4096, FaultHandle::none()).unwrap();
        assert!(q.find(0).is_none());
        q.get_or_create(0).unwrap();
        q.get_or_create(4096).unwrap();
        q.get_or_create(8192 + 5).unwrap();
        assert!(q.get_or_create(4 * 4096).is_err());
        assert_eq!(q.find(5000).unwrap().base_offset(), 4096);
        assert_eq!(q.range(4000, 4097).len(), 2);
        q.segments()[1].write_at(100, b"x").unwrap();
        q.truncate_from(4096 + 50).unwrap();
        assert_eq!(q.segments().len(), 2);
        let mut b = [1u8];
        q.segments()[1].read_at(100, &mut b).unwrap();
        assert_eq!(b, [0]);
        let removed = q.remove_front(1);
        removed[0].destroy().unwrap();
        let q2 = SegmentQueue::load(dir.path(), 4096, FaultHandle::none()).unwrap();
        assert_eq!(q2.min_offset(), Some(4096));
    }

    #[test]
    fn gaps_are_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let mut q = SegmentQueue::load(dir.path(), 4096, FaultHandle::none()).unwrap();
        for off in [0, 4096, 8192] {
            q.get_or_create(off).unwrap();
        }
        q.segments()[1].destroy().unwrap();
        assert!(matches!(
            SegmentQueue::load(dir.path(), 4096, FaultHandle::none()),
            Err(Error::Corrupt { .. })
        ));
    }
}
