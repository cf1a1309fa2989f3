//! `IndexService`: message lookup by key and time across the `index/` files (RocketMQ
//! `IndexService`).
//!
//! Owns the ordered list of [`IndexFile`]s (named by the local creation time
//! `yyyyMMddHHmmssSSS`), building entries for every `KEYS` token and the `UNIQ_KEY` of each
//! dispatched record (key = `topic#key`), rolling to a new file when the active one is full,
//! flushing full files (which advances the checkpoint's index timestamp), abnormal-recovery
//! pruning and retention. Written by the dispatcher thread only; queried by any thread.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use crate::error::{Error, Result};
use crate::store::commit_log::{lock, write_lock};
use crate::store::index_file::{IndexEntryIn, IndexFile};
use crate::store::time::format_yyyymmddhhmmsssss;

/// Index files and their geometry. See the module docs.
#[derive(Debug)]
pub struct IndexService {
    dir: PathBuf,
    slot_num: u32,
    max_index_num: u32,
    utc_offset_secs: i32,
    files: RwLock<Vec<Arc<IndexFile>>>,
    /// Number of leading files known to be full and flushed.
    flushed_full: std::sync::Mutex<usize>,
}

/// Result of a key lookup.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IndexQueryResult {
    /// Candidate commitlog offsets (hash and time matched), newest first, without duplicates.
    pub phy_offsets: Vec<u64>,
    /// End timestamp of the newest file.
    pub last_update_timestamp: i64,
    /// End commitlog offset of the newest file.
    pub last_update_phy_offset: i64,
}

impl IndexService {
    /// Opens every index file in `dir` (sorted by name).
    pub(crate) fn load(
        dir: &Path,
        slot_num: u32,
        max_index_num: u32,
        utc_offset_secs: i32,
    ) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| Error::io("create index dir", dir, e))?;
        let mut names: Vec<PathBuf> = std::fs::read_dir(dir)
            .and_then(|it| it.map(|e| e.map(|e| e.path())).collect())
            .map_err(|e| Error::io("list index dir", dir, e))?;
        names.retain(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.len() == 17 && n.bytes().all(|b| b.is_ascii_digit()))
        });
        names.sort();
        let mut files = Vec::with_capacity(names.len());
        for p in names {
            files.push(Arc::new(IndexFile::open(&p, slot_num, max_index_num)?));
        }
        Ok(IndexService {
            dir: dir.to_path_buf(),
            slot_num,
            max_index_num,
            utc_offset_secs,
            files: RwLock::new(files),
            flushed_full: std::sync::Mutex::new(0),
        })
    }

    fn files(&self) -> Vec<Arc<IndexFile>> {
        self.files.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Number of index files.
    pub fn file_count(&self) -> usize {
        self.files().len()
    }

    /// After a crash: keeps the leading files that are full, were flushed before the
    /// checkpoint's `index_ts` and end below the recovered commitlog end; deletes the rest.
    /// Returns the commitlog offset from which records must be indexed again: the last kept
    /// file's end; else the first deleted file's begin when its header shows entries (the
    /// header is written after them); else 0, the start of the log. `None` when there was no
    /// index file at all (nothing to rebuild beyond the normal re-dispatch).
    pub(crate) fn recover_abnormal(
        &self,
        index_ts: i64,
        commit_log_end: u64,
    ) -> Result<Option<u64>> {
        let mut files = write_lock(&self.files);
        if files.is_empty() {
            return Ok(None);
        }
        let keep = files
            .iter()
            .take_while(|f| {
                let h = f.header();
                f.is_full()
                    && h.end_timestamp <= index_ts
                    && (h.end_phy_offset.max(0) as u64) < commit_log_end
            })
            .count();
        let first_deleted = files.get(keep).map(|f| f.header());
        for f in files.drain(keep..) {
            log::warn!(
                "abnormal recovery deletes index file {} to rebuild it",
                f.path().display()
            );
            f.destroy()?;
        }
        *lock(&self.flushed_full) = keep;
        let from = match (files.last(), first_deleted) {
            (Some(kept), _) => kept.header().end_phy_offset.max(0) as u64,
            (None, Some(h)) if h.has_entries() => h.begin_phy_offset.max(0) as u64,
            _ => 0,
        };
        Ok(Some(from))
    }

    /// After a clean shutdown: deletes files whose entries point at or beyond the commitlog
    /// end (only possible if the commitlog lost data).
    pub(crate) fn recover_normal(&self, commit_log_end: u64) -> Result<()> {
        let mut files = write_lock(&self.files);
        while let Some(f) = files.last() {
            let h = f.header();
            if !h.has_entries() || (h.end_phy_offset.max(0) as u64) < commit_log_end {
                break;
            }
            log::warn!(
                "deleting index file {} beyond the commitlog end",
                f.path().display()
            );
            f.destroy()?;
            files.pop();
        }
        let n = files.iter().take_while(|f| f.is_full()).count();
        *lock(&self.flushed_full) = n;
        Ok(())
    }

    /// Records with a commitlog offset below this are already indexed.
    fn indexed_below(files: &[Arc<IndexFile>]) -> i64 {
        files
            .iter()
            .rev()
            .map(|f| f.header())
            .find(|h| h.has_entries())
            .map_or(-1, |h| h.end_phy_offset)
    }

    fn new_file(&self, files: &mut Vec<Arc<IndexFile>>, now_ms: i64) -> Result<Arc<IndexFile>> {
        let mut name = format_yyyymmddhhmmsssss(now_ms, self.utc_offset_secs);
        if let Some(last) = files
            .last()
            .and_then(|f| f.path().file_name()?.to_str().map(str::to_string))
        {
            if name <= last {
                let bumped = last.parse::<u64>().unwrap_or(0) + 1;
                name = format!("{bumped:017}");
            }
        }
        let f = Arc::new(IndexFile::create(
            &self.dir.join(&name),
            self.slot_num,
            self.max_index_num,
        )?);
        log::info!("created index file {}", f.path().display());
        files.push(Arc::clone(&f));
        Ok(f)
    }

    /// Indexes `entries` (in commitlog order), skipping records already indexed and rolling
    /// to new files as needed. Queries only wait for the files lock when a file is created.
    pub(crate) fn build(&self, entries: &[IndexEntryIn], now_ms: i64) -> Result<()> {
        let below = Self::indexed_below(&self.files());
        let start = entries
            .iter()
            .position(|e| e.phy_offset >= below)
            .unwrap_or(entries.len());
        let mut rest = &entries[start..];
        while !rest.is_empty() {
            let active = match self.files().last() {
                Some(f) if !f.is_full() => Arc::clone(f),
                _ => {
                    let mut files = write_lock(&self.files);
                    self.new_file(&mut files, now_ms)?
                }
            };
            let n = active.put_keys(rest)?;
            rest = &rest[n..];
        }
        Ok(())
    }

    /// Flushes files that became full since the last call. Returns the end timestamp of the
    /// newest flushed full file (the checkpoint's index timestamp), if any was flushed.
    pub(crate) fn flush_full_files(&self) -> Result<Option<i64>> {
        let files = self.files();
        let mut done = lock(&self.flushed_full);
        let mut ts = None;
        while *done < files.len() && files[*done].is_full() {
            files[*done].flush()?;
            ts = Some(files[*done].header().end_timestamp);
            *done += 1;
        }
        Ok(ts)
    }

    /// Flushes every file (clean shutdown). Returns the newest end timestamp.
    pub(crate) fn flush_all(&self) -> Result<i64> {
        let mut ts = 0;
        for f in self.files() {
            f.flush()?;
            ts = ts.max(f.header().end_timestamp);
        }
        Ok(ts)
    }

    /// Candidate offsets for `key` of `topic` stored within `[begin, end]`, newest first.
    pub fn query(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin: i64,
        end: i64,
    ) -> Result<IndexQueryResult> {
        let files = self.files();
        let mut r = IndexQueryResult::default();
        if let Some(last) = files.last() {
            r.last_update_timestamp = last.header().end_timestamp;
            r.last_update_phy_offset = last.header().end_phy_offset;
        }
        let full_key = format!("{topic}#{key}");
        for f in files.iter().rev() {
            if f.is_time_matched(begin, end) {
                f.select_phy_offsets(&full_key, max_num, begin, end, &mut r.phy_offsets)?;
            }
            if f.header().begin_timestamp < begin || r.phy_offsets.len() >= max_num {
                break;
            }
        }
        let mut seen = std::collections::HashSet::new();
        r.phy_offsets.retain(|p| seen.insert(*p));
        Ok(r)
    }

    /// Deletes files (never the newest) whose last entry points below `commit_log_min`.
    pub(crate) fn delete_expired(&self, commit_log_min: u64) -> Result<usize> {
        let mut files = write_lock(&self.files);
        let n = files
            .iter()
            .take(files.len().saturating_sub(1))
            .take_while(|f| (f.header().end_phy_offset.max(0) as u64) < commit_log_min)
            .count();
        for f in files.drain(..n) {
            log::info!("retention deletes index file {}", f.path().display());
            f.destroy()?;
        }
        let mut done = lock(&self.flushed_full);
        *done = done.saturating_sub(n);
        Ok(n)
    }
}
