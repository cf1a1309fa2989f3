//! Group append for the commitlog: appenders copy their records into a shared staging buffer
//! under the append lock, and one of them (the leader) writes everything staged with one
//! positioned write per segment touched, while the others wait for it (leader/follower group
//! commit, as in MySQL's binlog group commit).
//!
//! Why: a positioned write per record costs a syscall, and with many concurrent appenders
//! (SYNC_FLUSH senders) a lock held across that syscall forms a convoy — every hand-off is a
//! sleep and a wake-up. Under the staging scheme the append lock covers a memcpy; the syscall
//! is paid once per group.
//!
//! Guarantees kept: an append returns only after its bytes are in the file (page cache), so a
//! killed process loses nothing it acknowledged; `confirm_offset` (what readers see) advances
//! only over written bytes, in log order; a failed write is reported to every append whose
//! bytes it carried. After a failed write the log is rolled back to the start of the failed
//! group (queue offsets restored from the group's records) when nothing was staged behind it;
//! otherwise later appends already hold offsets past the hole, so writes are refused until a
//! restart lets recovery decide (like a failed fdatasync).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;

use super::{lock, CommitLog, WriterState};
use crate::store::record_format::{self as rf, RecordHead};
use crate::store::status::PutMessageStatus as S;

/// Failure records kept for appenders that wait across several rollbacks.
const ROLLBACKS_KEPT: usize = 64;

/// Leader election state of the group commit.
#[derive(Debug, Default)]
pub(crate) struct CommitState {
    /// A leader is writing a group.
    committing: bool,
}

/// What an appender staged: where, and the rollback epoch it staged under.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Staged {
    pub(crate) epoch: u64,
    pub(crate) phy_offset: u64,
    pub(crate) end_offset: u64,
    pub(crate) msg_count: u32,
}

/// A staged append's claim (see [`CommitLog::append_staged`]): its records are neither
/// written nor readable until [`CommitLog::commit_staged`] reports them written.
#[derive(Debug, Clone, Copy)]
pub struct AppendTicket(pub(crate) Staged);

/// Staging part of the writer state.
#[derive(Debug, Default)]
pub(crate) struct StagingState {
    /// Bytes `[write_offset - bytes.len(), write_offset)`, not yet written to the segments.
    /// Whatever moves the write offset without staging (recovery, replication, rollback)
    /// does so with this empty, so the invariant needs no second offset to maintain.
    pub(crate) bytes: Vec<u8>,
    /// Bumped by every failed group write.
    pub(crate) epoch: u64,
    /// `(epoch after the failure, start of the failed group)`, oldest first.
    pub(crate) rollbacks: VecDeque<(u64, u64)>,
}

impl CommitLog {
    /// Writes everything staged up to `ticket`'s records (leading a group write, or waiting
    /// for the leader) and reports whether they were written. Cheap for tickets already
    /// written by an earlier call or by another appender's group.
    pub fn commit_staged(&self, ticket: &AppendTicket) -> Result<(), S> {
        self.commit_through(ticket.0)?;
        self.stats()
            .records_appended
            .fetch_add(u64::from(ticket.0.msg_count), Ordering::Relaxed);
        Ok(())
    }

    /// Waits until the staged bytes `staged` are written, leading a group write when no
    /// other appender is. `Err` when the group carrying them failed.
    pub(crate) fn commit_through(&self, staged: Staged) -> Result<(), S> {
        let mut cs = lock(&self.commit);
        loop {
            if self.epoch.load(Ordering::Acquire) != staged.epoch {
                drop(cs);
                return self.outcome_after_rollback(staged);
            }
            if self.confirm_offset() >= staged.end_offset {
                return Ok(());
            }
            if !cs.committing {
                cs.committing = true;
                drop(cs);
                let wrote = self.write_group();
                cs = lock(&self.commit);
                cs.committing = false;
                self.commit_cv.notify_all();
                if !wrote && self.epoch.load(Ordering::Acquire) == staged.epoch {
                    // Nothing staged, nothing failed, yet not written: never spin on it.
                    if self.confirm_offset() < staged.end_offset {
                        log::error!("append to {} lost its staged bytes", staged.end_offset);
                        return Err(S::UNKNOWN_ERROR);
                    }
                }
                continue;
            }
            cs = self.commit_cv.wait(cs).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Writes everything staged so far (shutdown, tests).
    pub(crate) fn commit_all(&self) {
        let staged = {
            let w = lock(&self.writer);
            if w.staging.bytes.is_empty() {
                return;
            }
            Staged {
                epoch: w.staging.epoch,
                phy_offset: w.write_offset - w.staging.bytes.len() as u64,
                end_offset: w.write_offset,
                msg_count: 0,
            }
        };
        if let Err(status) = self.commit_through(staged) {
            log::warn!("staged commitlog bytes could not be written: {status:?}");
        }
    }

    /// An append staged under an older epoch: it failed if it lay in or after the first
    /// group that failed since, else it had been written before that failure.
    fn outcome_after_rollback(&self, staged: Staged) -> Result<(), S> {
        let w = lock(&self.writer);
        let first_failure = w
            .staging
            .rollbacks
            .iter()
            .find(|(epoch, _)| *epoch == staged.epoch + 1);
        match first_failure {
            Some(&(_, start)) if staged.end_offset <= start => Ok(()),
            _ => Err(S::UNKNOWN_ERROR),
        }
    }

    /// Leader: takes the staged bytes and writes them, one positioned write per segment.
    /// Returns false when nothing was staged.
    fn write_group(&self) -> bool {
        let mut buf = lock(&self.commit_buf);
        let (from, last_ts) = {
            let mut w = lock(&self.writer);
            if w.staging.bytes.is_empty() {
                return false;
            }
            std::mem::swap(&mut w.staging.bytes, &mut *buf);
            (w.write_offset - buf.len() as u64, w.last_store_ts)
        };
        match self.write_pieces(from, &buf) {
            Ok(()) => {
                // confirm before the timestamp: a reader of the timestamp then sees the record.
                self.confirm_offset
                    .store(from + buf.len() as u64, Ordering::Release);
                self.last_store_ts.fetch_max(last_ts, Ordering::AcqRel);
                self.notify_appended();
            }
            Err(()) => self.roll_back(from, &buf),
        }
        buf.clear();
        true
    }

    /// Writes `buf` at log offset `from`, split at segment ends. On failure clears what may
    /// have been written (best effort), so no stale record is left past the write position.
    fn write_pieces(&self, from: u64, buf: &[u8]) -> Result<(), ()> {
        let mut at = from;
        let mut i = 0usize;
        while i < buf.len() {
            let Ok(seg) = self.segment_for_write(at) else {
                log::error!("commitlog segment for offset {at} vanished");
                self.zero_pieces(from, at);
                return Err(());
            };
            let n = (buf.len() - i).min((seg.end_offset() - at) as usize);
            if self.write_record_bytes(&seg, at, &buf[i..i + n]).is_err() {
                self.zero_pieces(from, at);
                return Err(());
            }
            at += n as u64;
            i += n;
        }
        Ok(())
    }

    /// Best-effort zeroing of `[from, to)` (pieces already written by a failed group).
    fn zero_pieces(&self, from: u64, to: u64) {
        let mut at = from;
        while at < to {
            let Ok(seg) = self.segment_for_write(at) else {
                return;
            };
            let n = (to - at).min(seg.end_offset() - at);
            if let Err(e) = seg.zero_range(at - seg.base_offset(), n as usize) {
                log::error!("cannot clear failed write at {at}: {e}");
            }
            at += n;
        }
    }

    /// After a failed group write: rolls the writer back to `from` when nothing was staged
    /// behind the group, else refuses all writes (see the module docs).
    fn roll_back(&self, from: u64, group: &[u8]) {
        let mut w = lock(&self.writer);
        w.staging.epoch += 1;
        let epoch = w.staging.epoch;
        w.staging.rollbacks.push_back((epoch, from));
        if w.staging.rollbacks.len() > ROLLBACKS_KEPT {
            w.staging.rollbacks.pop_front();
        }
        if w.staging.bytes.is_empty() {
            restore_queue_offsets(&mut w, group);
            w.write_offset = from;
        } else {
            log::error!(
                "commitlog write at {from} failed with appends staged behind it; \
                 refusing writes until a restart"
            );
            w.staging.bytes.clear();
            self.set_write_failed();
        }
        self.epoch.store(epoch, Ordering::Release);
    }
}

/// Sets each (topic, queue) counter back to the first queue offset the failed `group` used.
fn restore_queue_offsets(w: &mut WriterState, group: &[u8]) {
    let mut first: HashMap<(String, i32), i64> = HashMap::new();
    let mut pos = 0usize;
    while let Ok(Some(head)) = rf::read_head(&group[pos..]) {
        let size = match head {
            RecordHead::Message { total_size } | RecordHead::Blank { total_size } => {
                total_size as usize
            }
            RecordHead::Empty => break,
        };
        let Some(rec) = group.get(pos..pos + size) else {
            break;
        };
        if let (RecordHead::Message { .. }, Ok(d)) = (head, rf::parse_dispatch(rec, None, false)) {
            let tx = d.sys_flag & rf::TRANSACTION_MASK;
            if tx != rf::TRANSACTION_PREPARED && tx != rf::TRANSACTION_ROLLBACK {
                let e = first
                    .entry((d.topic.to_owned(), d.queue_id))
                    .or_insert(d.queue_offset);
                *e = (*e).min(d.queue_offset);
            }
        }
        pos += size;
    }
    for ((topic, queue_id), offset) in first {
        w.set_next_queue_offset(&topic, queue_id, offset);
    }
}
