//! Start-up recovery: brings commitlog, consume queues, index and "topicQueueTable" back to a
//! consistent state (RocketMQ `recoverNormally` / `recoverAbnormally`). The algorithm is
//! documented step by step in `docs/storage.md`; in short:
//!
//! 1. Find the commitlog end. Clean start (no `abort` file): scan from the segment holding the
//!    checkpoint's `confirmPhyOffset` up to it. Crash: scan from the newest segment whose first
//!    record is older than `min(physic, logics) - 3 s`, verifying every record (layout,
//!    PHYSICALOFFSET = position, non-zero last byte, BODYCRC when `checkCRCOnRecover`).
//! 2. Truncate the commitlog there (torn tail zeroed, later segments deleted).
//! 3. Index: after a crash keep only files known complete and rebuild from the last kept one.
//! 4. Consume queues: keep the valid units below the scan start (crash) or the end (clean),
//!    cut the rest.
//! 5. Re-dispatch `[reput_start, end)` synchronously, then rebuild "topicQueueTable".

use crate::error::Result;
use crate::store::checkpoint::CheckpointData;
use crate::store::commit_log::CommitLog;
use crate::store::commit_log_recover::{ScanEnd, WalkStop};
use crate::store::consume_queue_table::ConsumeQueueTable;
use crate::store::index_service::IndexService;
use crate::store::reput::Dispatcher;

/// What start-up recovery found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryReport {
    /// True when the `abort` file was present (the previous run crashed).
    pub abnormal: bool,
    /// Where the commitlog scan started.
    pub scan_start: u64,
    /// The recovered commitlog end.
    pub commit_log_end: u64,
    /// Why the scan stopped (`"end of data"`, `"limit"`, or the rejected record's defect).
    pub scan_stop: String,
    /// Where re-dispatch into consume queues and index started.
    pub reput_start: u64,
    /// Store time of the last recovered record (0 if unknown).
    pub last_store_timestamp: i64,
}

/// The parts recovery works on.
pub(crate) struct RecoveryParts<'a> {
    pub(crate) commit_log: &'a CommitLog,
    pub(crate) cq_table: &'a ConsumeQueueTable,
    pub(crate) index: Option<&'a IndexService>,
    pub(crate) dispatcher: &'a Dispatcher,
    pub(crate) checkpoint: CheckpointData,
    pub(crate) check_crc: bool,
    pub(crate) chunk_bytes: u64,
}

fn describe(stop: WalkStop) -> String {
    match stop {
        WalkStop::Limit => "limit".to_string(),
        WalkStop::EndOfData | WalkStop::NoSegment => "end of data".to_string(),
        WalkStop::Invalid(e) => e.0.to_string(),
    }
}

/// Steps 1: where the scan starts and how far it may go, then the scan itself.
fn scan_commit_log(p: &RecoveryParts<'_>, abnormal: bool) -> Result<(u64, ScanEnd)> {
    let cp = p.checkpoint;
    let cl = p.commit_log;
    let (scan_start, limit) = if abnormal {
        (cl.abnormal_scan_start(cp.min_timestamp())?, u64::MAX)
    } else {
        let confirm = cp.confirm_phy_offset.max(0) as u64;
        let start = cl.normal_scan_start(confirm);
        (start, if confirm > start { confirm } else { u64::MAX })
    };
    let scan = cl.scan_to_end(scan_start, limit, p.check_crc, p.chunk_bytes)?;
    let end = scan.end;
    match scan.stop {
        WalkStop::Invalid(e) => log::warn!(
            "commitlog recovery ({}) stops at offset {end}: {e}; later bytes are discarded",
            if abnormal { "after a crash" } else { "clean" }
        ),
        _ if !abnormal && limit != u64::MAX && end < limit => {
            log::warn!("commitlog ends at {end}, before the checkpointed end {limit}")
        }
        _ => {}
    }
    Ok((scan_start, scan))
}

/// Runs recovery. See the module docs.
pub(crate) fn recover(p: &RecoveryParts<'_>, abnormal: bool) -> Result<RecoveryReport> {
    let cp = p.checkpoint;
    let cl = p.commit_log;
    let (scan_start, scan) = scan_commit_log(p, abnormal)?;
    let end = scan.end;
    let last_ts = scan.last_store_ts.max(cp.physic_msg_timestamp);
    cl.truncate_to(end, last_ts)?;
    let cl_min = cl.min_offset();
    let index_from = match p.index {
        Some(ix) if abnormal => ix.recover_abnormal(cp.index_msg_timestamp, end)?,
        Some(ix) => {
            ix.recover_normal(end)?;
            None
        }
        None => None,
    };
    let cq_keep_below = if abnormal { scan_start } else { end };
    p.cq_table.recover_all(cq_keep_below, cl_min)?;
    let reput_start = index_from
        .map_or(cq_keep_below, |i| i.min(cq_keep_below))
        .max(cl_min)
        .min(end);
    let reached = p.dispatcher.dispatch_range(cl, reput_start, end)?;
    if reached < end {
        log::error!("recovery re-dispatch reached {reached}, not the end {end}");
    }
    cl.restore_topic_queue_table(p.cq_table.max_offsets());
    let report = RecoveryReport {
        abnormal,
        scan_start,
        commit_log_end: end,
        scan_stop: describe(scan.stop),
        reput_start,
        last_store_timestamp: last_ts,
    };
    log::info!("store recovered: {report:?}");
    Ok(report)
}
