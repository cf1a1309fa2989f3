//! The append path of the commitlog: validation of encoded records, the offsets and store
//! time assigned under the append lock, the end-of-file blank record at a segment roll, and
//! staging into the group-write buffer (`commit_log/commit.rs` writes it).

use std::sync::atomic::Ordering;

use super::{lock, CommitLog, LockTimer, WriterState};
use crate::error::Error;
use crate::store::commit_log::commit::{AppendTicket, Staged};
use crate::store::consume_queue_table::is_safe_topic_dir;
use crate::store::record_format::{self as rf, RecordLayout, END_FILE_MIN_BLANK_BYTES};
use crate::store::segment::Segment;
use crate::store::status::{AppendResult, PutMessageResult, PutMessageStatus as S};

/// Patches QUEUEOFFSET (consecutive from `queue_offset`, or 0 when not dispatched),
/// PHYSICALOFFSET and STORETIMESTAMP of every record of `buf`; returns each record's offset
/// for a batch (empty for one record).
fn patch_records(
    buf: &mut [u8],
    layouts: &[RecordLayout],
    dispatched: bool,
    queue_offset: i64,
    phy_offset: u64,
    store_ts: i64,
) -> std::result::Result<Vec<u64>, S> {
    let mut batch_phy_offsets = Vec::new();
    let mut pos = 0usize;
    for (i, l) in layouts.iter().enumerate() {
        let qo = if dispatched {
            queue_offset + i as i64
        } else {
            0
        };
        let at = phy_offset + pos as u64;
        if layouts.len() > 1 {
            batch_phy_offsets.push(at);
        }
        // Layouts were validated against this same buffer, so patching cannot fail.
        rf::patch_append_fields(&mut buf[pos..], l, qo, at, store_ts)
            .map_err(|_| S::MESSAGE_ILLEGAL)?;
        pos += l.total_size;
    }
    Ok(batch_phy_offsets)
}

impl CommitLog {
    /// Appends one encoded record (placeholder offsets) for `topic`/`queue_id`. QUEUEOFFSET,
    /// PHYSICALOFFSET and STORETIMESTAMP are assigned and patched into `record` under the append
    /// lock; returns once the record is written (see `commit_log/commit.rs`).
    pub fn append(&self, record: &mut [u8], topic: &str, queue_id: i32) -> PutMessageResult {
        self.committed(self.stage_validated(record, topic, queue_id, false))
    }

    /// Appends several encoded records (concatenated, same topic and queue) with one write;
    /// they get consecutive queue offsets. Transactional prepared/rollback records are refused.
    pub fn append_batch(&self, records: &mut [u8], topic: &str, queue_id: i32) -> PutMessageResult {
        self.committed(self.stage_validated(records, topic, queue_id, true))
    }

    /// Like [`CommitLog::append`] but returns once the record is staged: the offsets in the
    /// result are final, the bytes are written by the next group write, and the caller must
    /// call [`CommitLog::commit_staged`] with the ticket before acknowledging anything (an
    /// event loop stages a turn's messages and commits them once at the turn's end).
    pub fn append_staged(
        &self,
        record: &mut [u8],
        topic: &str,
        queue_id: i32,
    ) -> (PutMessageResult, Option<AppendTicket>) {
        self.stage_validated(record, topic, queue_id, false)
    }

    /// The staged form of [`CommitLog::append_batch`].
    pub fn append_batch_staged(
        &self,
        records: &mut [u8],
        topic: &str,
        queue_id: i32,
    ) -> (PutMessageResult, Option<AppendTicket>) {
        self.stage_validated(records, topic, queue_id, true)
    }

    fn stage_validated(
        &self,
        buf: &mut [u8],
        topic: &str,
        queue_id: i32,
        batch: bool,
    ) -> (PutMessageResult, Option<AppendTicket>) {
        match self.validate(buf, topic, queue_id, batch) {
            Ok((layouts, tx)) => self.stage_records(buf, &layouts, topic, queue_id, tx),
            Err(status) => (PutMessageResult::failed(status), None),
        }
    }

    /// A staged result made final: PUT_OK only when the bytes were written.
    fn committed(
        &self,
        (result, ticket): (PutMessageResult, Option<AppendTicket>),
    ) -> PutMessageResult {
        match ticket.map(|t| self.commit_staged(&t)) {
            Some(Err(status)) => PutMessageResult::failed(status),
            _ => result,
        }
    }

    fn validate(
        &self,
        buf: &[u8],
        topic: &str,
        queue_id: i32,
        batch: bool,
    ) -> std::result::Result<(Vec<RecordLayout>, i32), S> {
        if let Some(b) = self.write_block() {
            log::debug!("put refused: {b:?}");
            return Err(S::SERVICE_NOT_AVAILABLE);
        }
        let mut layouts = Vec::with_capacity(1);
        let mut pos = 0usize;
        let mut tx = 0;
        while pos < buf.len() {
            let rec = &buf[pos..];
            let l = rf::parse_layout(rec).map_err(|e| {
                log::warn!("illegal record for {topic}/{queue_id} at byte {pos}: {e}");
                S::MESSAGE_ILLEGAL
            })?;
            let (t, q, sys_flag) =
                rf::topic_queue_sysflag(rec, &l).map_err(|_| S::MESSAGE_ILLEGAL)?;
            let crc_ok = rf::body_crc_matches(rec, &l).map_err(|_| S::MESSAGE_ILLEGAL)?;
            tx = sys_flag & rf::TRANSACTION_MASK;
            let bad_tx =
                batch && (tx == rf::TRANSACTION_PREPARED || tx == rf::TRANSACTION_ROLLBACK);
            if t != topic.as_bytes() || q != queue_id || !crc_ok || bad_tx {
                log::warn!("illegal record for {topic}/{queue_id}: key, CRC or tx type mismatch");
                return Err(S::MESSAGE_ILLEGAL);
            }
            if l.total_size as u64 > self.max_message_bytes {
                return Err(S::MESSAGE_ILLEGAL);
            }
            pos += l.total_size;
            layouts.push(l);
            if !batch {
                break;
            }
        }
        if !is_safe_topic_dir(topic) {
            log::warn!("illegal topic name {topic:?}");
            return Err(S::MESSAGE_ILLEGAL);
        }
        let too_big = buf.len() as u64 + END_FILE_MIN_BLANK_BYTES > self.segment_bytes;
        if layouts.is_empty() || pos != buf.len() || too_big {
            return Err(S::MESSAGE_ILLEGAL);
        }
        Ok((layouts, tx))
    }

    /// Makes room for `len` bytes at the write position: stages the end-of-file blank record
    /// and moves to the next segment (created now) when `len + 8` does not fit.
    fn reserve(&self, w: &mut WriterState, len: u64) -> std::result::Result<(), S> {
        let create_failed = |e: Error| {
            log::error!("cannot create commitlog segment: {e}");
            S::CREATE_MAPPED_FILE_FAILED
        };
        let seg = self
            .segment_for_write(w.write_offset)
            .map_err(create_failed)?;
        let remaining = seg.end_offset() - w.write_offset;
        if len + END_FILE_MIN_BLANK_BYTES <= remaining {
            return Ok(());
        }
        // Create the next segment first: on failure nothing is staged.
        self.segment_for_write(seg.end_offset())
            .map_err(create_failed)?;
        // The blank record's header, then zeros to the segment end: the staged bytes stay one
        // contiguous run ending at the write offset (a roll happens once per segment).
        let staged = &mut w.staging.bytes;
        staged.extend_from_slice(&rf::blank_record(remaining as u32));
        let zeros = remaining.saturating_sub(END_FILE_MIN_BLANK_BYTES) as usize;
        staged.resize(staged.len() + zeros, 0);
        w.write_offset = seg.end_offset();
        log::info!("commitlog rolls to offset {}", w.write_offset);
        Ok(())
    }

    /// Writes `buf` at `phy_offset`; on failure clears what may have been written (best
    /// effort) so no partial record is left behind the write position.
    pub(crate) fn write_record_bytes(
        &self,
        seg: &Segment,
        phy_offset: u64,
        buf: &[u8],
    ) -> std::result::Result<(), S> {
        let rel = phy_offset - seg.base_offset();
        let Err(e) = seg.write_at(rel, buf) else {
            return Ok(());
        };
        log::error!(
            "commitlog write of {} bytes at {phy_offset} failed: {e}",
            buf.len()
        );
        self.stats.failed_writes.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = seg.zero_range(rel, buf.len()) {
            log::error!("cannot clear failed write at {phy_offset}: {e}");
        }
        Err(S::UNKNOWN_ERROR)
    }

    fn stage_records(
        &self,
        buf: &mut [u8],
        layouts: &[RecordLayout],
        topic: &str,
        queue_id: i32,
        tx: i32,
    ) -> (PutMessageResult, Option<AppendTicket>) {
        let (staged, queue_offset, store_ts, batch_phy_offsets) =
            match self.stage(buf, layouts, topic, queue_id, tx) {
                Ok(v) => v,
                Err(status) => return (PutMessageResult::failed(status), None),
            };
        let append = AppendResult {
            phy_offset: staged.phy_offset,
            wrote_bytes: buf.len() as u32,
            queue_offset,
            store_timestamp_ms: store_ts,
            msg_count: staged.msg_count,
            end_offset: staged.end_offset,
            batch_phy_offsets,
        };
        let result = PutMessageResult {
            status: S::PUT_OK,
            append: Some(append),
        };
        (result, Some(AppendTicket(staged)))
    }

    /// Under the append lock: assigns the physical offset, queue offsets and store timestamp,
    /// patches them into `buf` and copies it into the staging buffer.
    fn stage(
        &self,
        buf: &mut [u8],
        layouts: &[RecordLayout],
        topic: &str,
        queue_id: i32,
        tx: i32,
    ) -> std::result::Result<(Staged, i64, i64, Vec<u64>), S> {
        let len = buf.len() as u64;
        let mut w = lock(&self.writer);
        self.lock_begin_ms
            .store((self.clock)().max(1), Ordering::Relaxed);
        let _timer = LockTimer(&self.lock_begin_ms);
        // Checked again under the lock: a failed group write blocks writes while holding it.
        if self.write_block().is_some() {
            return Err(S::SERVICE_NOT_AVAILABLE);
        }
        self.reserve(&mut w, len)?;
        let phy_offset = w.write_offset;
        let store_ts = (self.clock)().max(w.last_store_ts);
        let dispatched = tx != rf::TRANSACTION_PREPARED && tx != rf::TRANSACTION_ROLLBACK;
        let queue_offset = if dispatched {
            w.next_queue_offset(topic, queue_id)
        } else {
            0
        };
        let batch_phy_offsets =
            patch_records(buf, layouts, dispatched, queue_offset, phy_offset, store_ts)?;
        if dispatched {
            let n = layouts.len() as i64;
            w.set_next_queue_offset(topic, queue_id, queue_offset + n);
        }
        w.staging.bytes.extend_from_slice(buf);
        w.write_offset = phy_offset + len;
        w.last_store_ts = store_ts;
        let staged = Staged {
            epoch: w.staging.epoch,
            phy_offset,
            end_offset: phy_offset + len,
            msg_count: layouts.len() as u32,
        };
        Ok((staged, queue_offset, store_ts, batch_phy_offsets))
    }
}
