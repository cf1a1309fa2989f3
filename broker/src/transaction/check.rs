//! One round of the transaction check (Java `TransactionalMessageServiceImpl.check`), §8: read
//! the op queue to learn which half offsets are resolved, walk the half queue from the
//! `CID_RMQ_SYS_TRANS` offset, discard, skip, stop or re-append-and-check each half record,
//! then commit both queue offsets.
//!
//! [`check_round`] takes the store, the offset table and an explicit `now_ms` (also the scan
//! start: records stored at or after it stop the walk) and returns what to send; it never
//! sleeps or touches sockets. [`super::check_service`] runs it periodically.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Mutex;

use bytes::Bytes;
use protocol::header::transaction::CheckTransactionStateRequestHeader;
use protocol::message::{keys, offset_msg_id, MessageExt};

use crate::config::BrokerConfig;
use crate::error::Result;
use crate::inner_message::{self as im, QueueRecord};
use crate::manager::topic_validator::CID_SYS_RMQ_TRANS;
use crate::manager::ConsumerOffsetManager;
use crate::store::commit_log::lock;
use crate::store::{GetMessageStatus as G, MessageStore};
use crate::transaction::half::{self, HALF_TOPIC, OP_TOPIC, REMOVE_TAG};

/// Units read per store call.
const BATCH_UNITS: usize = 32;

/// Settings of the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransactionCheckConfig {
    /// `transactionTimeOut`: a half message younger than this is not checked yet (6000 ms).
    pub transaction_timeout_ms: i64,
    /// `transactionCheckMax`: a half message checked this many times is discarded (15).
    pub transaction_check_max: i32,
    /// `fileReservedTime` in ms: a half message born longer ago is discarded (72 h).
    pub file_reserved_time_ms: i64,
    /// Half records visited per round at most (ferromq's bound in place of Java's 60 s cap).
    pub max_records_per_round: usize,
}

impl TransactionCheckConfig {
    /// The settings of `config`.
    pub fn from_broker_config(config: &BrokerConfig) -> Self {
        TransactionCheckConfig {
            transaction_timeout_ms: i64::try_from(config.transaction_timeout_ms)
                .unwrap_or(i64::MAX),
            transaction_check_max: i32::try_from(config.transaction_check_max).unwrap_or(i32::MAX),
            file_reserved_time_ms: i64::from(config.file_reserved_hours) * 3_600_000,
            max_records_per_round: 10_000,
        }
    }
}

/// Committed offsets of the internal group `CID_RMQ_SYS_TRANS` on the half and op queues.
pub trait TransactionOffsets: Send + Sync {
    /// The committed offset of `topic`/`queue_id`, if any.
    fn query(&self, topic: &str, queue_id: i32) -> Option<i64>;
    /// Commits `offset` for `topic`/`queue_id`.
    fn commit(&self, topic: &str, queue_id: i32, offset: i64);
}

impl TransactionOffsets for Mutex<ConsumerOffsetManager> {
    fn query(&self, topic: &str, queue_id: i32) -> Option<i64> {
        lock(self).query_offset(CID_SYS_RMQ_TRANS, topic, queue_id)
    }

    fn commit(&self, topic: &str, queue_id: i32, offset: i64) {
        lock(self).commit_offset(CID_SYS_RMQ_TRANS, topic, queue_id, offset);
    }
}

/// A CHECK_TRANSACTION_STATE (39) to send one-way to a producer channel of `producer_group`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRequest {
    /// The half message's `PGROUP` (empty if it has none).
    pub producer_group: String,
    /// The request header (the caller adds the RPC `bname`).
    pub header: CheckTransactionStateRequestHeader,
    /// The renewed half record in stored format, topic/queue set back to `REAL_TOPIC`/`REAL_QID`.
    pub body: Bytes,
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// Check requests to send, in half-queue order.
    pub checks: Vec<CheckRequest>,
    /// Half offsets discarded to `TRANS_CHECK_MAX_TIME_TOPIC`.
    pub discarded: Vec<i64>,
    /// Half records skipped because an op record resolved them.
    pub resolved: usize,
    /// Half records re-appended during their check-immunity time.
    pub immunity_renewed: usize,
    /// Half-queue offset before and after the round.
    pub half_offsets: (i64, i64),
    /// Op-queue offset before and after the round.
    pub op_offsets: (i64, i64),
}

/// What to do with one unresolved half record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HalfAction {
    /// Checked too often or too old: copy to `TRANS_CHECK_MAX_TIME_TOPIC` and move on.
    Discard,
    /// Stored after the round started, or too young: stop the walk here.
    Stop,
    /// Within its custom check-immunity time: re-append (keeping the original offset).
    Immune,
    /// Re-append with `TRANSACTION_CHECK_TIMES = check_times` and ask the producer.
    Check {
        /// The new check count.
        check_times: i32,
    },
}

/// Java `needDiscard`/`needSkip` + the immunity rules for one unresolved half record. One
/// deviation: a record stored at or after `now_ms` (a copy re-appended by this round) stops the
/// walk before the discard rules are applied, so a copy is never discarded in the round that
/// sent its check.
pub fn decide(half: &MessageExt, cfg: &TransactionCheckConfig, now_ms: i64) -> HalfAction {
    if half.store_timestamp >= now_ms {
        return HalfAction::Stop;
    }
    let checked = half
        .properties
        .get(keys::TRANSACTION_CHECK_TIMES)
        .map(|v| v.trim().parse::<i32>().unwrap_or(-1));
    if checked.is_some_and(|n| n >= cfg.transaction_check_max) {
        return HalfAction::Discard;
    }
    let age_ms = now_ms.saturating_sub(half.born_timestamp);
    if age_ms > cfg.file_reserved_time_ms {
        return HalfAction::Discard;
    }
    let (immunity_ms, custom) = half::immunity_time_ms(half, cfg.transaction_timeout_ms);
    if (0..immunity_ms).contains(&age_ms) {
        return if custom {
            HalfAction::Immune
        } else {
            HalfAction::Stop
        };
    }
    HalfAction::Check {
        check_times: checked.map_or(1, |n| n.max(0).saturating_add(1)),
    }
}

/// Which half offsets the op queue resolves.
#[derive(Debug, Default)]
struct OpIndex {
    /// Half offset (≥ the walk start) → op offsets naming it.
    remove: HashMap<i64, Vec<i64>>,
    /// Op offset → half offsets it names that are not yet matched.
    pending: HashMap<i64, usize>,
    /// Op offsets fully processed.
    done: BTreeSet<i64>,
    /// Half offsets below the walk start named by op records (for renewed immunity copies).
    below: HashSet<i64>,
    /// Op-offset ranges `[start, end)` that hold nothing (the store skipped them).
    gaps: Vec<(i64, i64)>,
}

impl OpIndex {
    fn add(&mut self, op_offset: i64, halves: &[i64], walk_start: i64) {
        let mut count = 0;
        for &h in halves {
            if h < walk_start {
                self.below.insert(h);
            } else {
                self.remove.entry(h).or_default().push(op_offset);
                count += 1;
            }
        }
        if count == 0 {
            self.done.insert(op_offset);
        } else {
            self.pending.insert(op_offset, count);
        }
    }

    /// Marks `half_offset` resolved if an op record names it.
    fn resolve(&mut self, half_offset: i64) -> bool {
        let Some(ops) = self.remove.remove(&half_offset) else {
            return self.below.contains(&half_offset);
        };
        for op in ops {
            if let Some(n) = self.pending.get_mut(&op) {
                *n -= 1;
                if *n == 0 {
                    self.pending.remove(&op);
                    self.done.insert(op);
                }
            }
        }
        true
    }

    /// Resolves every named half offset below `end` (the walk skipped them).
    fn resolve_below(&mut self, end: i64) {
        let keys: Vec<i64> = self.remove.keys().copied().filter(|h| *h < end).collect();
        for h in keys {
            self.resolve(h);
        }
    }

    /// The op offset after the contiguous run of done op records from `from`.
    fn next_op_offset(&self, from: i64) -> i64 {
        let mut o = from;
        loop {
            if self.done.contains(&o) {
                o += 1;
            } else if let Some(&(_, end)) = self.gaps.iter().find(|(s, e)| (*s..*e).contains(&o)) {
                o = end;
            } else {
                return o;
            }
        }
    }
}

/// Reads every op record from `op_offset` to the end of the op queue.
fn read_ops(store: &MessageStore, op_offset: i64, walk_start: i64) -> Result<OpIndex> {
    let mut ops = OpIndex::default();
    let mut offset = op_offset;
    loop {
        let batch = im::read_queue_batch(store, OP_TOPIC, 0, offset, BATCH_UNITS)?;
        for r in &batch.records {
            let halves = match im::decode_record(&r.record) {
                Ok(Some(m)) if m.properties.get(keys::TAGS) == Some(REMOVE_TAG) => {
                    half::parse_op_body(&m.body)
                }
                _ => {
                    log::warn!(
                        "op record at offset {} is not a remove record; ignored",
                        r.queue_offset
                    );
                    Vec::new()
                }
            };
            ops.add(r.queue_offset, &halves, walk_start);
        }
        let next = batch.next_offset.max(offset);
        if batch.records.is_empty() {
            if next <= offset {
                return Ok(ops);
            }
            // Nothing there any more (deleted or blank): the op offset may skip the range.
            ops.gaps.push((offset, next));
        } else {
            // Blank units between records are done too (a batch scans a bounded range).
            for o in offset..next {
                if !ops.pending.contains_key(&o) {
                    ops.done.insert(o);
                }
            }
        }
        if matches!(
            batch.status,
            G::OFFSET_OVERFLOW_ONE | G::OFFSET_OVERFLOW_BADLY
        ) {
            return Ok(ops);
        }
        offset = next;
    }
}

/// The committed offset, or the queue's min offset when none was committed.
fn start_offset(store: &MessageStore, offsets: &dyn TransactionOffsets, topic: &str) -> i64 {
    offsets
        .query(topic, 0)
        .unwrap_or_else(|| store.min_offset_in_queue(topic, 0))
}

enum Step {
    Advance,
    Stop,
}

/// Re-appends `copy`; on success returns it with its new offsets and store time.
fn reappend(store: &MessageStore, mut copy: MessageExt) -> Option<MessageExt> {
    let put = im::put_message_ext(store, &copy);
    match (&put.append, im::is_stored(&put)) {
        (Some(a), true) => {
            copy.queue_offset = a.queue_offset;
            copy.commit_log_offset = a.phy_offset as i64;
            copy.store_timestamp = a.store_timestamp_ms;
            Some(copy)
        }
        _ => {
            log::warn!(
                "re-append of a half message failed ({:?}); check later",
                put.status
            );
            None
        }
    }
}

/// The check request for a renewed half copy.
fn check_request(copy: &MessageExt) -> Result<CheckRequest> {
    let uniq = copy.properties.get(keys::UNIQ_KEY).map(str::to_string);
    let header = CheckTransactionStateRequestHeader {
        topic: copy.properties.get(keys::REAL_TOPIC).map(str::to_string),
        tran_state_table_offset: copy.queue_offset,
        commit_log_offset: copy.commit_log_offset,
        msg_id: uniq.clone(),
        transaction_id: uniq,
        offset_msg_id: Some(offset_msg_id(copy.store_host, copy.commit_log_offset)),
    };
    Ok(CheckRequest {
        producer_group: copy
            .properties
            .get(keys::PGROUP)
            .unwrap_or_default()
            .to_string(),
        header,
        body: half::check_body(copy)?,
    })
}

/// An immune half record (Java `checkPrepareQueueOffset`): resolved through its original
/// offset, or re-appended remembering that offset.
fn handle_immune(
    store: &MessageStore,
    half: &MessageExt,
    ops: &mut OpIndex,
    report: &mut CheckReport,
) -> Step {
    let prepared = half.properties.get(keys::TRAN_PREPARED_QUEUE_OFFSET);
    let renew_with = match prepared.map(|p| p.trim().parse::<i64>().unwrap_or(-1)) {
        None => Some(half.queue_offset),
        Some(p) if p < 0 => return Step::Stop,
        Some(p) if ops.resolve(p) => {
            report.resolved += 1;
            return Step::Advance;
        }
        Some(_) => None,
    };
    match reappend(store, half::renew_half_message(half, None, renew_with)) {
        Some(_) => {
            report.immunity_renewed += 1;
            Step::Advance
        }
        None => Step::Stop,
    }
}

/// Decides and acts on one unresolved half record.
fn handle_half(
    store: &MessageStore,
    r: &QueueRecord,
    ops: &mut OpIndex,
    cfg: &TransactionCheckConfig,
    now_ms: i64,
    report: &mut CheckReport,
) -> Result<Step> {
    let half = match im::decode_record(&r.record) {
        Ok(Some(m)) if half::real_destination(&m).is_ok() => m,
        Ok(None) => return Ok(Step::Advance),
        Ok(Some(_)) | Err(_) => {
            log::error!("half record at offset {} is unusable (no REAL_TOPIC/REAL_QID or undecodable); skipped", r.queue_offset);
            return Ok(Step::Advance);
        }
    };
    let prepared = half
        .properties
        .get(keys::TRAN_PREPARED_QUEUE_OFFSET)
        .and_then(|p| p.trim().parse::<i64>().ok());
    if prepared.is_some_and(|p| p >= 0 && ops.resolve(p)) {
        report.resolved += 1;
        return Ok(Step::Advance);
    }
    Ok(match decide(&half, cfg, now_ms) {
        HalfAction::Discard => {
            let put = im::put_message_ext(store, &half::discard_message(&half));
            log::warn!(
                "half message at offset {} discarded after {:?} checks ({:?})",
                r.queue_offset,
                half.properties.get(keys::TRANSACTION_CHECK_TIMES),
                put.status
            );
            report.discarded.push(r.queue_offset);
            Step::Advance
        }
        HalfAction::Stop => Step::Stop,
        HalfAction::Immune => handle_immune(store, &half, ops, report),
        HalfAction::Check { check_times } => {
            let renewed = half::renew_half_message(&half, Some(check_times), None);
            match reappend(store, renewed) {
                Some(copy) => {
                    report.checks.push(check_request(&copy)?);
                    Step::Advance
                }
                None => Step::Stop,
            }
        }
    })
}

/// Walks the half queue from `start`; returns the new half offset.
fn walk(
    store: &MessageStore,
    start: i64,
    ops: &mut OpIndex,
    cfg: &TransactionCheckConfig,
    now_ms: i64,
    report: &mut CheckReport,
) -> Result<i64> {
    let mut i = start;
    let mut visited = 0usize;
    while visited < cfg.max_records_per_round {
        let batch = im::read_queue_batch(store, HALF_TOPIC, 0, i, BATCH_UNITS)?;
        for r in &batch.records {
            if r.queue_offset > i {
                ops.resolve_below(r.queue_offset);
                i = r.queue_offset;
            }
            visited += 1;
            if ops.resolve(i) {
                report.resolved += 1;
            } else if let Step::Stop = handle_half(store, r, ops, cfg, now_ms, report)? {
                return Ok(i);
            }
            i += 1;
        }
        let skip_to = match batch.status {
            G::FOUND | G::NO_MATCHED_MESSAGE | G::MESSAGE_WAS_REMOVING => batch.next_offset,
            G::OFFSET_TOO_SMALL | G::OFFSET_FOUND_NULL => batch.next_offset,
            _ => i,
        };
        if skip_to > i {
            ops.resolve_below(skip_to);
            i = skip_to;
        } else if batch.records.is_empty() {
            break;
        }
    }
    Ok(i)
}

/// One check round at `now_ms` over half queue 0 (wire reference §8 "Check-back service"):
/// re-appends and returns a [`CheckRequest`] for every stale unresolved half message, discards
/// the hopeless ones, and commits the `CID_RMQ_SYS_TRANS` offsets of the half and op queues.
pub fn check_round(
    store: &MessageStore,
    offsets: &dyn TransactionOffsets,
    cfg: &TransactionCheckConfig,
    now_ms: i64,
) -> Result<CheckReport> {
    let half_offset = start_offset(store, offsets, HALF_TOPIC);
    let op_offset = start_offset(store, offsets, OP_TOPIC);
    let mut report = CheckReport::default();
    let mut ops = read_ops(store, op_offset, half_offset)?;
    let new_half = walk(store, half_offset, &mut ops, cfg, now_ms, &mut report)?;
    let new_op = ops.next_op_offset(op_offset);
    if new_half != half_offset || offsets.query(HALF_TOPIC, 0).is_none() {
        offsets.commit(HALF_TOPIC, 0, new_half);
    }
    if new_op != op_offset || offsets.query(OP_TOPIC, 0).is_none() {
        offsets.commit(OP_TOPIC, 0, new_op);
    }
    report.half_offsets = (half_offset, new_half);
    report.op_offsets = (op_offset, new_op);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> TransactionCheckConfig {
        TransactionCheckConfig {
            transaction_timeout_ms: 6_000,
            transaction_check_max: 3,
            file_reserved_time_ms: 1_000_000,
            max_records_per_round: 100,
        }
    }

    fn half(born: i64, stored: i64, pairs: &[(&str, &str)]) -> MessageExt {
        let mut m = MessageExt::new(HALF_TOPIC, Bytes::new());
        m.born_timestamp = born;
        m.store_timestamp = stored;
        m.properties = pairs.iter().copied().collect();
        m
    }

    #[test]
    fn decisions() {
        let c = cfg();
        assert_eq!(
            decide(&half(0, 1, &[]), &c, 10_000),
            HalfAction::Check { check_times: 1 }
        );
        let twice = [("TRANSACTION_CHECK_TIMES", "2")];
        assert_eq!(
            decide(&half(0, 1, &twice), &c, 10_000),
            HalfAction::Check { check_times: 3 }
        );
        let max = [("TRANSACTION_CHECK_TIMES", "3")];
        assert_eq!(decide(&half(0, 1, &max), &c, 10_000), HalfAction::Discard);
        assert_eq!(
            decide(&half(0, 1, &[]), &c, 1_000_001),
            HalfAction::Discard,
            "too old"
        );
        assert_eq!(
            decide(&half(9_000, 9_500, &[]), &c, 10_000),
            HalfAction::Stop,
            "young"
        );
        assert_eq!(
            decide(&half(0, 10_000, &[]), &c, 10_000),
            HalfAction::Stop,
            "stored after start"
        );
        let immune = [("CHECK_IMMUNITY_TIME_IN_SECONDS", "60")];
        assert_eq!(decide(&half(0, 1, &immune), &c, 10_000), HalfAction::Immune);
        assert_eq!(
            decide(&half(0, 1, &immune), &c, 60_000),
            HalfAction::Check { check_times: 1 }
        );
        assert_eq!(
            decide(&half(20_000, 1, &[]), &c, 10_000),
            HalfAction::Check { check_times: 1 },
            "born in the future"
        );
    }

    #[test]
    fn op_index_advances_over_contiguous_done_ops() {
        let mut ops = OpIndex::default();
        ops.add(10, &[3], 5); // below the walk start: done at once
        ops.add(11, &[7, 8], 5);
        ops.add(12, &[], 5); // not a remove record
        ops.add(13, &[9], 5);
        assert_eq!(ops.next_op_offset(10), 11);
        assert!(ops.resolve(7));
        assert_eq!(ops.next_op_offset(10), 11, "op 11 still names 8");
        assert!(ops.resolve(8));
        assert_eq!(ops.next_op_offset(10), 13);
        assert!(!ops.resolve(6));
        assert!(
            ops.resolve(3),
            "offsets below the start match renewed copies"
        );
        ops.resolve_below(100);
        assert_eq!(ops.next_op_offset(10), 14);
    }
}
