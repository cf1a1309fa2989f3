//! `Segment`: one fixed-size, preallocated store file (RocketMQ `MappedFile`, Kafka
//! `LogSegment`), written and read with positioned I/O (no mmap).
//!
//! A segment is named by the 20-digit zero-padded global offset of its first byte and covers
//! `[base_offset, base_offset + size_bytes)`. It does not track write or flush positions: its
//! owner (commitlog, consume queue) does. Thread-safe: positioned reads and writes need no
//! lock; callers guarantee that concurrent writes do not overlap.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use crate::error::{Error, Result};
use crate::store::fault::{injected_write_error, FaultHandle, WriteFault};

/// File name of the segment starting at `base_offset`.
pub fn segment_file_name(base_offset: u64) -> String {
    format!("{base_offset:020}")
}

/// Parses a 20-digit segment file name.
pub fn parse_segment_file_name(name: &str) -> Option<u64> {
    if name.len() == 20 && name.bytes().all(|b| b.is_ascii_digit()) {
        name.parse().ok()
    } else {
        None
    }
}

/// fsyncs a directory so that file creations and deletions in it are durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io("fsync directory", dir, e))
}

/// One preallocated file of a segment queue.
#[derive(Debug)]
pub struct Segment {
    base_offset: u64,
    size_bytes: u64,
    path: PathBuf,
    file: Arc<File>,
    fault: FaultHandle,
}

impl Segment {
    /// Creates (or reopens) the segment file for `base_offset` in `dir`, preallocated to
    /// `size_bytes` with `set_len` (a sparse file reading as zeros).
    pub fn create(
        dir: &Path,
        base_offset: u64,
        size_bytes: u64,
        fault: FaultHandle,
    ) -> Result<Self> {
        let path = dir.join(segment_file_name(base_offset));
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| Error::io("create segment", &path, e))?;
        let seg = Segment {
            base_offset,
            size_bytes,
            path,
            file: Arc::new(file),
            fault,
        };
        seg.ensure_len()?;
        Ok(seg)
    }

    /// Opens an existing segment file. A file shorter than `size_bytes` (a crash during
    /// creation, or a torn tail) is extended with zeros; a longer one is corruption.
    pub fn open(
        path: &Path,
        base_offset: u64,
        size_bytes: u64,
        fault: FaultHandle,
    ) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::io("open segment", path, e))?;
        let seg = Segment {
            base_offset,
            size_bytes,
            path: path.to_path_buf(),
            file: Arc::new(file),
            fault,
        };
        seg.ensure_len()?;
        Ok(seg)
    }

    fn ensure_len(&self) -> Result<()> {
        let len = self
            .file
            .metadata()
            .map_err(|e| Error::io("stat segment", &self.path, e))?
            .len();
        if len > self.size_bytes {
            return Err(Error::corrupt(
                &self.path,
                len,
                format!("file is longer than the segment size {}", self.size_bytes),
            ));
        }
        if len < self.size_bytes {
            if len > 0 {
                log::warn!(
                    "segment {} is {len} bytes, extending to {}",
                    self.path.display(),
                    self.size_bytes
                );
            }
            self.file
                .set_len(self.size_bytes)
                .map_err(|e| Error::io("preallocate segment", &self.path, e))?;
        }
        Ok(())
    }

    /// Global offset of the first byte.
    pub fn base_offset(&self) -> u64 {
        self.base_offset
    }

    /// Global offset just past the last byte.
    pub fn end_offset(&self) -> u64 {
        self.base_offset + self.size_bytes
    }

    /// File size in bytes.
    pub fn size_bytes(&self) -> u64 {
        self.size_bytes
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open file (for zero-copy regions).
    pub fn file(&self) -> &Arc<File> {
        &self.file
    }

    fn check_range(&self, position: u64, len: usize) -> io::Result<()> {
        match position.checked_add(len as u64) {
            Some(end) if end <= self.size_bytes => Ok(()),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "range {position}+{len} outside segment of {}",
                    self.size_bytes
                ),
            )),
        }
    }

    /// Writes `buf` at `position` (relative to the file start) with one positioned write.
    pub fn write_at(&self, position: u64, buf: &[u8]) -> Result<()> {
        let ctx = |e| Error::io("write segment", &self.path, e);
        self.check_range(position, buf.len()).map_err(ctx)?;
        match self.fault.before_write(buf.len()) {
            WriteFault::None => self.file.write_all_at(buf, position).map_err(ctx),
            WriteFault::PartialThenFail(n) => {
                self.file.write_all_at(&buf[..n], position).map_err(ctx)?;
                Err(ctx(injected_write_error()))
            }
        }
    }

    /// Reads exactly `buf.len()` bytes at `position`.
    pub fn read_at(&self, position: u64, buf: &mut [u8]) -> Result<()> {
        let ctx = |e| Error::io("read segment", &self.path, e);
        self.check_range(position, buf.len()).map_err(ctx)?;
        self.file.read_exact_at(buf, position).map_err(ctx)
    }

    /// fdatasync (`File::sync_data`).
    pub fn sync(&self) -> Result<()> {
        let ctx = |e| Error::io("fdatasync segment", &self.path, e);
        self.fault.before_sync().map_err(ctx)?;
        self.file.sync_data().map_err(ctx)
    }

    /// Discards everything from `position` to the end of the file, leaving zeros (the file is
    /// shrunk and re-extended, so no stale bytes survive past a truncation point).
    pub fn zero_from(&self, position: u64) -> Result<()> {
        let ctx = |e| Error::io("truncate segment", &self.path, e);
        self.file
            .set_len(position.min(self.size_bytes))
            .map_err(ctx)?;
        self.file.set_len(self.size_bytes).map_err(ctx)
    }

    /// Overwrites `[position, position + len)` with zeros (best effort after a failed write).
    pub fn zero_range(&self, position: u64, len: usize) -> Result<()> {
        self.write_at(position, &vec![0u8; len])
    }

    /// Last modification time in ms since the epoch.
    pub fn last_modified_ms(&self) -> Result<i64> {
        let meta = self
            .file
            .metadata()
            .map_err(|e| Error::io("stat segment", &self.path, e))?;
        let modified = meta
            .modified()
            .map_err(|e| Error::io("stat segment", &self.path, e))?;
        Ok(modified
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64))
    }

    /// Deletes the file. Open handles (regions being sent) stay readable.
    pub fn destroy(&self) -> Result<()> {
        std::fs::remove_file(&self.path).map_err(|e| Error::io("delete segment", &self.path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_roundtrip() {
        assert_eq!(segment_file_name(1073741824), "00000000001073741824");
        assert_eq!(
            parse_segment_file_name("00000000001073741824"),
            Some(1073741824)
        );
        assert_eq!(parse_segment_file_name("0000000000107374182"), None);
        assert_eq!(parse_segment_file_name("0000000000107374182x"), None);
    }

    #[test]
    fn write_read_bounds_and_zeroing() {
        let dir = tempfile::tempdir().unwrap();
        let s = Segment::create(dir.path(), 4096, 4096, FaultHandle::none()).unwrap();
        assert_eq!(s.end_offset(), 8192);
        s.write_at(10, b"abc").unwrap();
        let mut b = [0u8; 3];
        s.read_at(10, &mut b).unwrap();
        assert_eq!(&b, b"abc");
        assert!(s.write_at(4095, b"ab").is_err());
        assert!(s.read_at(u64::MAX, &mut b).is_err());
        s.zero_from(11).unwrap();
        s.read_at(10, &mut b).unwrap();
        assert_eq!(&b, b"a\0\0");
        let reopened = Segment::open(s.path(), 4096, 4096, FaultHandle::none()).unwrap();
        assert_eq!(reopened.file().metadata().unwrap().len(), 4096);
        assert!(Segment::open(s.path(), 4096, 100, FaultHandle::none()).is_err());
    }
}
