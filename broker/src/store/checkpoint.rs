//! `StoreCheckpoint` (RocketMQ `StoreCheckpoint`, wire reference §6.3) and the abort marker.
//!
//! The checkpoint is one 4 KiB page, big-endian i64s at offsets 0 (physicMsgTimestamp: store
//! time of a record at or below the durable commitlog end), 8 (logicsMsgTimestamp: store time of
//! a record whose consume-queue unit is durable), 16 (indexMsgTimestamp: end time of the newest
//! flushed full index file), 24 (masterFlushedOffset, unused: 0) and 32 (confirmPhyOffset: the
//! commitlog end, written at clean shutdown). It is rewritten in place and fdatasync'ed; the
//! fields sit in the first sector, whose writes the media is assumed to apply atomically.
//!
//! The `abort` file exists while a store is open; finding it at start means the previous run
//! did not shut down cleanly.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};

use crate::error::{Error, Result};
use crate::store::segment::sync_dir;

/// Checkpoint file size.
pub const CHECKPOINT_BYTES: usize = 4096;

/// The checkpoint fields. See the module docs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CheckpointData {
    /// Offset 0.
    pub physic_msg_timestamp: i64,
    /// Offset 8.
    pub logics_msg_timestamp: i64,
    /// Offset 16.
    pub index_msg_timestamp: i64,
    /// Offset 24.
    pub master_flushed_offset: i64,
    /// Offset 32.
    pub confirm_phy_offset: i64,
}

impl CheckpointData {
    /// The 4 KiB page.
    pub fn encode(&self) -> Vec<u8> {
        let mut page = vec![0u8; CHECKPOINT_BYTES];
        for (i, v) in [
            self.physic_msg_timestamp,
            self.logics_msg_timestamp,
            self.index_msg_timestamp,
            self.master_flushed_offset,
            self.confirm_phy_offset,
        ]
        .iter()
        .enumerate()
        {
            page[i * 8..i * 8 + 8].copy_from_slice(&v.to_be_bytes());
        }
        page
    }

    /// Decodes the first 40 bytes (missing bytes read as 0).
    pub fn decode(page: &[u8]) -> Self {
        let at = |i: usize| {
            let mut a = [0u8; 8];
            if let Some(b) = page.get(i * 8..i * 8 + 8) {
                a.copy_from_slice(b);
            }
            i64::from_be_bytes(a)
        };
        CheckpointData {
            physic_msg_timestamp: at(0),
            logics_msg_timestamp: at(1),
            index_msg_timestamp: at(2),
            master_flushed_offset: at(3),
            confirm_phy_offset: at(4),
        }
    }

    /// `min(physic, logics)`: records stored before this are durable in both the commitlog and
    /// the consume queues.
    pub fn min_timestamp(&self) -> i64 {
        self.physic_msg_timestamp.min(self.logics_msg_timestamp)
    }
}

/// The open checkpoint file; fields are updated in memory by the flush threads and written by
/// [`StoreCheckpoint::flush`]. Thread-safe.
#[derive(Debug)]
pub struct StoreCheckpoint {
    path: PathBuf,
    file: File,
    physic: AtomicI64,
    logics: AtomicI64,
    index: AtomicI64,
    confirm: AtomicI64,
    loaded: CheckpointData,
}

impl StoreCheckpoint {
    /// Opens (or creates, zeroed) the checkpoint file.
    pub fn open(path: &Path) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Error::io("open checkpoint", path, e))?;
        let mut page = vec![0u8; 40];
        let len = file
            .metadata()
            .map_err(|e| Error::io("stat checkpoint", path, e))?
            .len();
        if len >= 40 {
            file.read_exact_at(&mut page, 0)
                .map_err(|e| Error::io("read checkpoint", path, e))?;
        }
        let d = CheckpointData::decode(&page);
        Ok(StoreCheckpoint {
            path: path.to_path_buf(),
            file,
            physic: AtomicI64::new(d.physic_msg_timestamp),
            logics: AtomicI64::new(d.logics_msg_timestamp),
            index: AtomicI64::new(d.index_msg_timestamp),
            confirm: AtomicI64::new(d.confirm_phy_offset),
            loaded: d,
        })
    }

    /// The content found on disk at open.
    pub fn loaded(&self) -> CheckpointData {
        self.loaded
    }

    /// The current in-memory content.
    pub fn current(&self) -> CheckpointData {
        CheckpointData {
            physic_msg_timestamp: self.physic.load(Ordering::Acquire),
            logics_msg_timestamp: self.logics.load(Ordering::Acquire),
            index_msg_timestamp: self.index.load(Ordering::Acquire),
            master_flushed_offset: 0,
            confirm_phy_offset: self.confirm.load(Ordering::Acquire),
        }
    }

    /// Raises physicMsgTimestamp.
    pub fn set_physic_msg_timestamp(&self, ts: i64) {
        self.physic.fetch_max(ts, Ordering::AcqRel);
    }

    /// Raises logicsMsgTimestamp.
    pub fn set_logics_msg_timestamp(&self, ts: i64) {
        self.logics.fetch_max(ts, Ordering::AcqRel);
    }

    /// Raises indexMsgTimestamp.
    pub fn set_index_msg_timestamp(&self, ts: i64) {
        self.index.fetch_max(ts, Ordering::AcqRel);
    }

    /// Sets confirmPhyOffset (0 = unknown, written while running).
    pub fn set_confirm_phy_offset(&self, offset: i64) {
        self.confirm.store(offset, Ordering::Release);
    }

    /// Writes the page and fdatasyncs it.
    pub fn flush(&self) -> Result<()> {
        self.file
            .write_all_at(&self.current().encode(), 0)
            .and_then(|_| self.file.sync_data())
            .map_err(|e| Error::io("write checkpoint", &self.path, e))
    }
}

/// The `abort` marker file.
#[derive(Debug, Clone)]
pub struct AbortFile {
    path: PathBuf,
}

impl AbortFile {
    /// The marker in `root`.
    pub fn new(root: &Path) -> Self {
        AbortFile {
            path: root.join("abort"),
        }
    }

    /// True if the marker exists (the last run crashed).
    pub fn exists(&self) -> bool {
        self.path.exists()
    }

    /// Creates the marker durably.
    pub fn create(&self) -> Result<()> {
        File::create(&self.path).map_err(|e| Error::io("create abort file", &self.path, e))?;
        sync_dir(self.path.parent().unwrap_or(Path::new(".")))
    }

    /// Removes the marker durably (clean shutdown).
    pub fn remove(&self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::io("remove abort file", &self.path, e)),
        }
        sync_dir(self.path.parent().unwrap_or(Path::new(".")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_layout_and_roundtrip() {
        let d = CheckpointData {
            physic_msg_timestamp: 1,
            logics_msg_timestamp: 2,
            index_msg_timestamp: 3,
            master_flushed_offset: 0,
            confirm_phy_offset: 5,
        };
        let page = d.encode();
        assert_eq!(page.len(), 4096);
        assert_eq!(&page[8..16], &2i64.to_be_bytes());
        assert_eq!(&page[32..40], &5i64.to_be_bytes());
        assert_eq!(CheckpointData::decode(&page), d);
        assert_eq!(d.min_timestamp(), 1);
        let dir = tempfile::tempdir().unwrap();
        let cp = StoreCheckpoint::open(&dir.path().join("checkpoint")).unwrap();
        assert_eq!(cp.loaded(), CheckpointData::default());
        cp.set_physic_msg_timestamp(10);
        cp.set_physic_msg_timestamp(5);
        cp.flush().unwrap();
        let cp2 = StoreCheckpoint::open(&dir.path().join("checkpoint")).unwrap();
        assert_eq!(cp2.loaded().physic_msg_timestamp, 10);
        let abort = AbortFile::new(dir.path());
        assert!(!abort.exists());
        abort.create().unwrap();
        assert!(abort.exists());
        abort.remove().unwrap();
        assert!(!abort.exists());
    }
}
