//! `IndexFile`: one hash index file of message keys (RocketMQ `IndexFile`, wire reference
//! §6.2).
//!
//! Layout (big-endian): a 40-byte header `beginTimestamp i64 | endTimestamp i64 |
//! beginPhyOffset i64 | endPhyOffset i64 | hashSlotCount i32 | indexCount i32`, then
//! `slot_num` i32 slots (index number of the newest entry of that slot, 0 = empty), then
//! `max_index_num` 20-byte entries `keyHash i32 | phyOffset i64 | timeDiffSeconds i32 |
//! prevIndex i32`; entry 0 is unused, so a file holds `max_index_num - 1` keys.
//!
//! Written only by the dispatcher (entries first, then slots, then the header, so readers never
//! follow a slot to an unwritten entry); read by query threads with positioned reads. The
//! writer keeps the active file's slots in memory (`slot_num * 4` bytes). Not checksummed:
//! after a crash every file not known complete is deleted and rebuilt from the commitlog.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, RwLock};

use crate::error::{Error, Result};
use crate::store::commit_log::{lock, write_lock};
use crate::store::record_format::java_hash_code;

/// Header bytes.
pub const INDEX_HEADER_BYTES: u64 = 40;
/// Entry bytes.
pub const INDEX_ENTRY_BYTES: u64 = 20;

/// The 40-byte index file header.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IndexHeader {
    /// Store time of the first entry.
    pub begin_timestamp: i64,
    /// Store time of the last entry.
    pub end_timestamp: i64,
    /// Commitlog offset of the first entry's record.
    pub begin_phy_offset: i64,
    /// Commitlog offset of the last entry's record.
    pub end_phy_offset: i64,
    /// Slots in use.
    pub hash_slot_count: i32,
    /// Next entry number (starts at 1: entry 0 is unused).
    pub index_count: i32,
}

impl IndexHeader {
    fn encode(&self) -> [u8; 40] {
        let mut b = [0u8; 40];
        b[0..8].copy_from_slice(&self.begin_timestamp.to_be_bytes());
        b[8..16].copy_from_slice(&self.end_timestamp.to_be_bytes());
        b[16..24].copy_from_slice(&self.begin_phy_offset.to_be_bytes());
        b[24..32].copy_from_slice(&self.end_phy_offset.to_be_bytes());
        b[32..36].copy_from_slice(&self.hash_slot_count.to_be_bytes());
        b[36..40].copy_from_slice(&self.index_count.to_be_bytes());
        b
    }

    fn decode(b: &[u8; 40]) -> Self {
        let i64_at = |p: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[p..p + 8]);
            i64::from_be_bytes(a)
        };
        let i32_at = |p: usize| i32::from_be_bytes([b[p], b[p + 1], b[p + 2], b[p + 3]]);
        IndexHeader {
            begin_timestamp: i64_at(0),
            end_timestamp: i64_at(8),
            begin_phy_offset: i64_at(16),
            end_phy_offset: i64_at(24),
            hash_slot_count: i32_at(32),
            index_count: i32_at(36),
        }
    }

    /// True when at least one entry was written.
    pub fn has_entries(&self) -> bool {
        self.index_count > 1
    }
}

/// `abs(Java hashCode)` of an index key (`Integer.MIN_VALUE` maps to 0).
pub fn index_key_hash(key: &str) -> i32 {
    let h = java_hash_code(key);
    if h == i32::MIN {
        0
    } else {
        h.abs()
    }
}

/// One key to index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntryIn {
    /// `topic#key`.
    pub key: String,
    /// Commitlog offset of the record.
    pub phy_offset: i64,
    /// Its store time.
    pub store_timestamp: i64,
}

/// Bytes of one `put_keys` call, written after all entries are encoded.
#[derive(Default)]
struct PendingWrites {
    entries: Vec<u8>,
    slots: BTreeMap<u32, i32>,
}

/// One index file. See the module docs.
#[derive(Debug)]
pub struct IndexFile {
    path: PathBuf,
    file: File,
    slot_num: u32,
    max_index_num: u32,
    header: RwLock<IndexHeader>,
    slots: Mutex<Option<Vec<i32>>>,
}

impl IndexFile {
    /// File size for the given geometry.
    pub fn file_bytes(slot_num: u32, max_index_num: u32) -> u64 {
        INDEX_HEADER_BYTES + u64::from(slot_num) * 4 + u64::from(max_index_num) * INDEX_ENTRY_BYTES
    }

    /// Creates an empty, preallocated file.
    pub(crate) fn create(path: &Path, slot_num: u32, max_index_num: u32) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .map_err(|e| Error::io("create index file", path, e))?;
        file.set_len(Self::file_bytes(slot_num, max_index_num))
            .map_err(|e| Error::io("preallocate index file", path, e))?;
        let header = IndexHeader {
            index_count: 1,
            ..IndexHeader::default()
        };
        Ok(IndexFile {
            path: path.to_path_buf(),
            file,
            slot_num,
            max_index_num,
            header: RwLock::new(header),
            slots: Mutex::new(Some(vec![0; slot_num as usize])),
        })
    }

    /// Opens an existing file and reads its header.
    pub(crate) fn open(path: &Path, slot_num: u32, max_index_num: u32) -> Result<Self> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(|e| Error::io("open index file", path, e))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("stat index file", path, e))?
            .len();
        if len != Self::file_bytes(slot_num, max_index_num) {
            return Err(Error::corrupt(
                path,
                len,
                "index file size does not match maxHashSlotNum/maxIndexNum",
            ));
        }
        let mut b = [0u8; 40];
        file.read_exact_at(&mut b, 0)
            .map_err(|e| Error::io("read index header", path, e))?;
        let mut header = IndexHeader::decode(&b);
        header.index_count = header.index_count.clamp(1, max_index_num as i32);
        Ok(IndexFile {
            path: path.to_path_buf(),
            file,
            slot_num,
            max_index_num,
            header: RwLock::new(header),
            slots: Mutex::new(None),
        })
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A copy of the header.
    pub fn header(&self) -> IndexHeader {
        *self.header.read().unwrap_or_else(|p| p.into_inner())
    }

    /// True when no more entries fit.
    pub fn is_full(&self) -> bool {
        self.header().index_count as u32 >= self.max_index_num
    }

    fn io(&self, what: &str, e: std::io::Error) -> Error {
        Error::io(what, &self.path, e)
    }

    fn slot_pos(&self, slot: u32) -> u64 {
        INDEX_HEADER_BYTES + u64::from(slot) * 4
    }

    fn entry_pos(&self, index: u32) -> u64 {
        INDEX_HEADER_BYTES + u64::from(self.slot_num) * 4 + u64::from(index) * INDEX_ENTRY_BYTES
    }

    fn load_slots(&self) -> Result<Vec<i32>> {
        let mut buf = vec![0u8; self.slot_num as usize * 4];
        self.file
            .read_exact_at(&mut buf, INDEX_HEADER_BYTES)
            .map_err(|e| self.io("read index slots", e))?;
        Ok(buf
            .chunks_exact(4)
            .map(|c| i32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }

    /// Encodes one entry into `entry_buf`, linking it into its slot chain and advancing the
    /// in-memory header.
    fn add_entry(
        &self,
        h: &mut IndexHeader,
        slots: &mut [i32],
        e: &IndexEntryIn,
        out: &mut PendingWrites,
    ) {
        let key_hash = index_key_hash(&e.key);
        let slot = key_hash as u32 % self.slot_num;
        let old = slots[slot as usize];
        let prev = if old <= 0 || old > h.index_count {
            0
        } else {
            old
        };
        let time_diff = if h.begin_timestamp <= 0 {
            0
        } else {
            ((e.store_timestamp - h.begin_timestamp) / 1000).clamp(0, i64::from(i32::MAX))
        };
        out.entries.extend_from_slice(&key_hash.to_be_bytes());
        out.entries.extend_from_slice(&e.phy_offset.to_be_bytes());
        out.entries
            .extend_from_slice(&(time_diff as i32).to_be_bytes());
        out.entries.extend_from_slice(&prev.to_be_bytes());
        slots[slot as usize] = h.index_count;
        out.slots.insert(slot, h.index_count);
        if h.index_count <= 1 {
            h.begin_phy_offset = e.phy_offset;
            h.begin_timestamp = e.store_timestamp;
        }
        if prev == 0 {
            h.hash_slot_count += 1;
        }
        h.index_count += 1;
        h.end_phy_offset = e.phy_offset;
        h.end_timestamp = e.store_timestamp;
    }

    /// Appends as many of `entries` as fit; returns how many were written. Entries are written
    /// first (one write), then the changed slots, then the header.
    pub(crate) fn put_keys(&self, entries: &[IndexEntryIn]) -> Result<usize> {
        let mut guard = lock(&self.slots);
        if guard.is_none() {
            *guard = Some(self.load_slots()?);
        }
        let Some(slots) = guard.as_mut() else {
            return Ok(0);
        };
        let mut h = self.header();
        let first_index = h.index_count as u32;
        let mut out = PendingWrites::default();
        let room = self.max_index_num.saturating_sub(first_index) as usize;
        let n = entries.len().min(room);
        for e in &entries[..n] {
            self.add_entry(&mut h, slots, e, &mut out);
        }
        if n == 0 {
            return Ok(0);
        }
        self.file
            .write_all_at(&out.entries, self.entry_pos(first_index))
            .map_err(|e| self.io("write index entries", e))?;
        for (slot, value) in out.slots {
            self.file
                .write_all_at(&value.to_be_bytes(), self.slot_pos(slot))
                .map_err(|e| self.io("write index slot", e))?;
        }
        self.file
            .write_all_at(&h.encode(), 0)
            .map_err(|e| self.io("write index header", e))?;
        *write_lock(&self.header) = h;
        if h.index_count as u32 >= self.max_index_num {
            *guard = None; // full: the writer no longer needs the slot mirror
        }
        Ok(n)
    }

    /// True when `[begin, end]` overlaps the file's time range (RocketMQ `isTimeMatched`).
    pub fn is_time_matched(&self, begin: i64, end: i64) -> bool {
        let h = self.header();
        (begin < h.begin_timestamp && end > h.end_timestamp)
            || (begin >= h.begin_timestamp && begin <= h.end_timestamp)
            || (end >= h.begin_timestamp && end <= h.end_timestamp)
    }

    /// Appends to `out` (up to `max_num` in total) the commitlog offsets of entries whose key
    /// hash equals `key`'s and whose store time is within `[begin, end]`, newest first.
    pub fn select_phy_offsets(
        &self,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
        out: &mut Vec<u64>,
    ) -> Result<()> {
        let key_hash = index_key_hash(key);
        let slot = key_hash as u32 % self.slot_num;
        let mut b4 = [0u8; 4];
        self.file
            .read_exact_at(&mut b4, self.slot_pos(slot))
            .map_err(|e| self.io("read index slot", e))?;
        let h = self.header();
        let mut next = i32::from_be_bytes(b4);
        if next <= 0 || next > h.index_count || h.index_count <= 1 {
            return Ok(());
        }
        let mut e = [0u8; 20];
        while out.len() < max_num {
            self.file
                .read_exact_at(&mut e, self.entry_pos(next as u32))
                .map_err(|e| self.io("read index entry", e))?;
            let hash = i32::from_be_bytes([e[0], e[1], e[2], e[3]]);
            let mut p = [0u8; 8];
            p.copy_from_slice(&e[4..12]);
            let phy = i64::from_be_bytes(p);
            let diff = i32::from_be_bytes([e[12], e[13], e[14], e[15]]);
            let prev = i32::from_be_bytes([e[16], e[17], e[18], e[19]]);
            if diff < 0 {
                break;
            }
            let time = h.begin_timestamp + i64::from(diff) * 1000;
            if hash == key_hash && time >= begin && time <= end && phy >= 0 {
                out.push(phy as u64);
            }
            // Chains only point backwards; anything else is damage, stop walking.
            if prev <= 0 || prev >= next || time < begin {
                break;
            }
            next = prev;
        }
        Ok(())
    }

    /// Writes the header and fdatasyncs the file.
    pub(crate) fn flush(&self) -> Result<()> {
        let h = self.header();
        self.file
            .write_all_at(&h.encode(), 0)
            .and_then(|_| self.file.sync_data())
            .map_err(|e| self.io("flush index file", e))
    }

    /// Deletes the file.
    pub(crate) fn destroy(&self) -> Result<()> {
        std::fs::remove_file(&self.path).map_err(|e| self.io("delete index file", e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(key: &str, phy: i64, ts: i64) -> IndexEntryIn {
        IndexEntryIn {
            key: key.to_string(),
            phy_offset: phy,
            store_timestamp: ts,
        }
    }

    #[test]
    fn put_select_reopen_and_full() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("idx");
        let f = IndexFile::create(&path, 2, 6).unwrap();
        let n = f
            .put_keys(&[
                entry("T#a", 0, 10_000),
                entry("T#b", 100, 11_000),
                entry("T#a", 200, 12_000),
            ])
            .unwrap();
        assert_eq!(n, 3);
        let mut out = Vec::new();
        f.select_phy_offsets("T#a", 10, 0, i64::MAX, &mut out)
            .unwrap();
        assert_eq!(out, vec![200, 0]);
        out.clear();
        f.select_phy_offsets("T#a", 10, 11_500, 13_000, &mut out)
            .unwrap();
        assert_eq!(out, vec![200]);
        assert_eq!(
            f.put_keys(&[entry("T#c", 300, 13_000), entry("T#d", 400, 14_000)])
                .unwrap(),
            2
        );
        assert!(f.is_full());
        assert_eq!(f.put_keys(&[entry("T#e", 500, 15_000)]).unwrap(), 0);
        f.flush().unwrap();
        let g = IndexFile::open(&path, 2, 6).unwrap();
        assert_eq!(g.header().index_count, 6);
        assert_eq!(g.header().end_phy_offset, 400);
        let mut out = Vec::new();
        g.select_phy_offsets("T#b", 10, 0, i64::MAX, &mut out)
            .unwrap();
        assert_eq!(out, vec![100]);
        assert!(g.is_time_matched(0, 10_000));
        assert!(!g.is_time_matched(20_000, 30_000));
        assert_eq!(IndexFile::file_bytes(5_000_000, 20_000_000), 420_000_040);
    }

    #[test]
    fn key_hash_is_non_negative() {
        assert_eq!(index_key_hash("polygenelubricants"), 0); // hashCode == i32::MIN
        assert!(index_key_hash("T#whatever") >= 0);
    }
}
