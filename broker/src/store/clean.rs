//! Retention (RocketMQ `CleanCommitLogService` + `CleanConsumeQueueService`).
//!
//! Owns the pure retention decisions ([`decide`], [`select_expired`]) — which take the clock,
//! the local UTC offset and the disk usage as arguments — the disk-usage probe, and one
//! retention round over commitlog segments, consume-queue files and index files.
//!
//! Rules: commitlog segments whose mtime is older than `fileReservedTime` hours are deleted at
//! a `deleteWhen` hour, or at any hour once disk usage passes `diskMaxUsedSpaceRatio`; past
//! `diskSpaceCleanForciblyRatio` the oldest segments go even if not expired; past
//! `diskSpaceWarningLevelRatio` writes are refused until usage drops. The newest segment, and
//! any segment not yet flushed or dispatched, is never deleted; at most `deleteFileBatchMax`
//! per round. Consume-queue and index files go once all their entries point below the
//! commitlog's new start.

use std::path::Path;

use crate::error::Result;
use crate::store::commit_log::CommitLog;
use crate::store::config::StoreConfig;
use crate::store::consume_queue_table::ConsumeQueueTable;
use crate::store::index_service::IndexService;
use crate::store::time::local_time;

/// What one retention round should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionDecision {
    /// Delete expired commitlog segments now.
    pub delete_expired: bool,
    /// Delete the oldest segments even if not expired.
    pub clean_immediately: bool,
    /// Refuse writes (disk nearly full).
    pub disk_full: bool,
}

/// Decides a retention round. `disk_used_ratio` is in `[0, 1]`, or negative when unknown
/// (then expired files are deleted, as RocketMQ does).
pub fn decide(
    config: &StoreConfig,
    now_ms: i64,
    utc_offset_secs: i32,
    disk_used_ratio: f64,
) -> RetentionDecision {
    let pct = |p: u32| f64::from(p) / 100.0;
    let hour = local_time(now_ms, utc_offset_secs).hour;
    let time_up = config
        .delete_when_hours()
        .map(|hours| hours.contains(&hour))
        .unwrap_or(false);
    let disk_full = disk_used_ratio > pct(config.disk_space_warning_level_ratio_percent);
    let clean_immediately =
        disk_used_ratio > pct(config.disk_space_clean_forcibly_ratio_percent) || disk_full;
    let space_to_delete =
        disk_used_ratio < 0.0 || disk_used_ratio > pct(config.disk_max_used_space_ratio_percent);
    RetentionDecision {
        delete_expired: time_up || space_to_delete,
        clean_immediately,
        disk_full,
    }
}

/// How many of the oldest `segments` (`(base_offset, end_offset, mtime_ms)`, oldest first,
/// newest segment already excluded) to delete: a leading run of segments whose mtime is at
/// least `reserved_ms` old (any segment when `clean_immediately`), capped at `batch_max`.
pub fn select_expired(
    segments: &[(u64, u64, i64)],
    now_ms: i64,
    reserved_ms: i64,
    clean_immediately: bool,
    batch_max: usize,
) -> usize {
    segments
        .iter()
        .take(batch_max)
        .take_while(|(_, _, mtime)| {
            clean_immediately || now_ms >= mtime.saturating_add(reserved_ms)
        })
        .count()
}

/// Files deleted by one round.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Commitlog segments deleted.
    pub commit_log_segments: usize,
    /// Consume-queue files deleted.
    pub consume_queue_files: usize,
    /// Index files deleted.
    pub index_files: usize,
    /// Whether writes are now refused for lack of space.
    pub disk_full: bool,
}

/// The store parts a retention round touches.
pub(crate) struct RetentionTargets<'a> {
    pub(crate) commit_log: &'a CommitLog,
    pub(crate) cq_table: &'a ConsumeQueueTable,
    pub(crate) index: Option<&'a IndexService>,
    /// Offset the dispatcher has reached: segments above it are kept.
    pub(crate) reput_offset: u64,
    /// The effective `fileReservedTime` (changeable at run time).
    pub(crate) file_reserved_hours: u64,
    /// Delete expired segments now whatever the hour and disk usage (an admin request).
    pub(crate) force_delete_expired: bool,
}

/// Runs one retention round with the given clock and disk usage.
pub(crate) fn run_retention(
    t: &RetentionTargets<'_>,
    config: &StoreConfig,
    utc_offset_secs: i32,
    now_ms: i64,
    disk_used_ratio: f64,
) -> Result<RetentionReport> {
    let mut d = decide(config, now_ms, utc_offset_secs, disk_used_ratio);
    d.delete_expired |= t.force_delete_expired;
    if d.disk_full
        != t.commit_log
            .write_block()
            .is_some_and(|b| b == crate::store::status::WriteBlock::DiskFull)
    {
        if d.disk_full {
            log::error!(
                "disk usage {disk_used_ratio:.3} is above the warning level: refusing writes"
            );
        } else {
            log::info!("disk usage {disk_used_ratio:.3}: writes allowed again");
        }
    }
    t.commit_log.set_disk_full(d.disk_full);
    let mut report = RetentionReport {
        disk_full: d.disk_full,
        ..RetentionReport::default()
    };
    if d.delete_expired || d.clean_immediately {
        let keep_from = t.reput_offset.min(t.commit_log.flushed_offset());
        let reserved_ms = i64::try_from(t.file_reserved_hours)
            .unwrap_or(i64::MAX)
            .saturating_mul(3_600_000);
        report.commit_log_segments = t.commit_log.delete_segments(keep_from, |c| {
            select_expired(
                c,
                now_ms,
                reserved_ms,
                d.clean_immediately,
                config.delete_file_batch_max,
            )
        })?;
    }
    let min = t.commit_log.min_offset();
    report.consume_queue_files = t.cq_table.delete_expired_all(min)?;
    if let Some(index) = t.index {
        report.index_files = index.delete_expired(min)?;
    }
    Ok(report)
}

/// Measures how full the disk holding the store is.
pub trait DiskSpaceProbe: Send + Sync {
    /// Used fraction `[0, 1]` of the file system holding `path`.
    fn used_ratio(&self, path: &Path) -> std::io::Result<f64>;
}

/// [`DiskSpaceProbe`] running `df -Pk` (the crate is unsafe-free, so no `statvfs`).
#[derive(Debug, Clone, Copy, Default)]
pub struct DfProbe;

impl DiskSpaceProbe for DfProbe {
    fn used_ratio(&self, path: &Path) -> std::io::Result<f64> {
        let out = std::process::Command::new("df")
            .arg("-Pk")
            .arg(path)
            .output()?;
        if !out.status.success() {
            return Err(std::io::Error::other("df failed"));
        }
        parse_df_output(&String::from_utf8_lossy(&out.stdout))
            .ok_or_else(|| std::io::Error::other("unexpected df output"))
    }
}

/// Parses POSIX `df -P` output: used / (used + available) of the first file system.
pub fn parse_df_output(s: &str) -> Option<f64> {
    let line = s.lines().nth(1)?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let n = fields.len();
    if n < 6 {
        return None;
    }
    let used: f64 = fields[n - 4].parse().ok()?;
    let avail: f64 = fields[n - 3].parse().ok()?;
    if used + avail <= 0.0 {
        return None;
    }
    Some(used / (used + avail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn df_output_parses() {
        let s = "Filesystem 1024-blocks Used Available Capacity Mounted on\n\
                 /dev/vda 263174212 13000000 79000000 15% /\n";
        let r = parse_df_output(s).unwrap();
        assert!((r - 13.0 / 92.0).abs() < 1e-9);
        assert_eq!(parse_df_output("garbage"), None);
    }
}
