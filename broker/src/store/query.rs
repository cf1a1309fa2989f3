//! Read-side queries of the [`MessageStore`] facade: pulls from a consume queue with tag
//! filtering, lookups by commitlog offset, key and time, and queue offsets/times.
//!
//! Owns no state. Results reference commitlog bytes as [`FileRegion`]s so the broker can
//! sendfile them; callers re-check real tags against the record when filtering by tag hash.

use std::sync::Arc;

use bytes::Bytes;

use crate::error::Result;
use crate::store::config::CQ_UNIT_BYTES;
use crate::store::consume_queue::{ConsumeQueue, CqUnit};
use crate::store::record_format as rf;
use crate::store::status::{
    FileRegion, GetMessageResult, GetMessageStatus as G, MessageFilter, MessageRegion,
    QueryMessageResult,
};
use crate::store::MessageStore;

/// Units scanned per pull at least (RocketMQ `maxFilterMessageCount` 16 000 bytes / 20).
const MIN_SCAN_UNITS: usize = 800;

fn empty_result(status: G, next_begin_offset: i64, min: i64, max: i64) -> GetMessageResult {
    GetMessageResult {
        status,
        next_begin_offset,
        min_offset: min,
        max_offset: max,
        messages: Vec::new(),
        total_bytes: 0,
    }
}

fn is_batch_full(
    total_bytes: u64,
    count: usize,
    size: u64,
    max_count: usize,
    max_bytes: u64,
) -> bool {
    if total_bytes == 0 || count == 0 {
        return false;
    }
    count >= max_count || total_bytes + size > max_bytes
}

impl MessageStore {
    /// Reads up to `max_count` messages (and about `max_bytes`) of `topic`/`queue_id` from
    /// queue offset `offset`, skipping units the filter rejects by tags code (RocketMQ
    /// `getMessage`). `group` is only used for logging.
    #[allow(clippy::too_many_arguments)]
    pub fn get_messages(
        &self,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_count: usize,
        max_bytes: u64,
        filter: Option<&dyn MessageFilter>,
    ) -> Result<GetMessageResult> {
        let Some(cq) = self.inner.cq_table.find(topic, queue_id) else {
            log::debug!("{group} pulls {topic}/{queue_id}: no such queue");
            return Ok(empty_result(G::NO_MATCHED_LOGIC_QUEUE, 0, 0, 0));
        };
        let (min, max) = (cq.min_offset(), cq.max_offset());
        let r = |s, next| Ok(empty_result(s, next, min, max));
        if max == 0 {
            return r(G::NO_MESSAGE_IN_QUEUE, 0);
        }
        if offset < min {
            return r(G::OFFSET_TOO_SMALL, min);
        }
        if offset == max {
            return r(G::OFFSET_OVERFLOW_ONE, offset);
        }
        if offset > max {
            return r(G::OFFSET_OVERFLOW_BADLY, if min == 0 { min } else { max });
        }
        let Some(units) = cq.read_units(offset, max_count.max(MIN_SCAN_UNITS))? else {
            let per_file = (self.inner.config.consume_queue_file_bytes / CQ_UNIT_BYTES) as i64;
            return r(G::OFFSET_FOUND_NULL, (offset / per_file + 1) * per_file);
        };
        let mut result = empty_result(G::NO_MATCHED_MESSAGE, offset, min, max);
        let consumed = self.select_units(offset, &units, max_count, max_bytes, filter, &mut result);
        result.next_begin_offset = offset + consumed as i64;
        Ok(result)
    }

    /// The pull loop over units; returns how many units were consumed.
    fn select_units(
        &self,
        offset: i64,
        units: &[CqUnit],
        max_count: usize,
        max_bytes: u64,
        filter: Option<&dyn MessageFilter>,
        result: &mut GetMessageResult,
    ) -> usize {
        let seg_bytes = self.inner.commit_log.segment_bytes();
        let mut next_phy_file_start: Option<u64> = None;
        for (i, u) in units.iter().enumerate() {
            if u.is_blank() || u.phy_offset < 0 || u.size <= 0 {
                continue;
            }
            let phy = u.phy_offset as u64;
            if next_phy_file_start.is_some_and(|start| phy < start) {
                continue;
            }
            let n = result.messages.len();
            if is_batch_full(result.total_bytes, n, u.size as u64, max_count, max_bytes) {
                return i;
            }
            if filter.is_some_and(|f| !f.is_matched_by_consume_queue(u.tags_code)) {
                continue;
            }
            match self.inner.commit_log.region(phy, u.size as u32) {
                None => {
                    if result.messages.is_empty() {
                        result.status = G::MESSAGE_WAS_REMOVING;
                    }
                    next_phy_file_start = Some(phy + seg_bytes - phy % seg_bytes);
                }
                Some(region) => {
                    result.total_bytes += u64::from(region.len);
                    result.messages.push(MessageRegion {
                        queue_offset: offset + i as i64,
                        phy_offset: phy,
                        size: region.len,
                        tags_code: u.tags_code,
                        region,
                    });
                    result.status = G::FOUND;
                    next_phy_file_start = None;
                }
            }
        }
        units.len()
    }

    /// The whole record at commitlog offset `phy_offset` (VIEW_MESSAGE_BY_ID), if a valid
    /// message record is there.
    pub fn look_message_by_offset(&self, phy_offset: u64) -> Result<Option<Bytes>> {
        self.inner.commit_log.read_record(phy_offset)
    }

    /// The zero-copy region of the record at `phy_offset`, if a valid message record is there.
    pub fn message_region_at(&self, phy_offset: u64) -> Result<Option<FileRegion>> {
        Ok(self
            .look_message_by_offset(phy_offset)?
            .and_then(|rec| self.inner.commit_log.region(phy_offset, rec.len() as u32)))
    }

    /// Messages of `topic` whose KEYS contain `key` or whose UNIQ_KEY equals it, stored within
    /// `[begin_ms, end_ms]`, newest first, at most `max_num` (QUERY_MESSAGE). Index hits are
    /// verified against the record, so hash collisions are never returned.
    pub fn query_messages(
        &self,
        topic: &str,
        key: &str,
        max_num: usize,
        begin_ms: i64,
        end_ms: i64,
    ) -> Result<QueryMessageResult> {
        let Some(index) = &self.inner.index else {
            return Ok(QueryMessageResult::default());
        };
        let hits = index.query(
            topic,
            key,
            max_num.saturating_mul(2).max(32),
            begin_ms,
            end_ms,
        )?;
        let mut out = QueryMessageResult {
            messages: Vec::new(),
            index_last_update_timestamp: hits.last_update_timestamp,
            index_last_update_phy_offset: hits.last_update_phy_offset,
        };
        for phy in hits.phy_offsets {
            if out.messages.len() >= max_num {
                break;
            }
            if let Some(m) = self.verified_hit(phy, topic, key)? {
                out.messages.push(m);
            }
        }
        Ok(out)
    }

    /// The record at `phy` if it is a valid record of `topic` carrying `key` in KEYS or as
    /// UNIQ_KEY.
    fn verified_hit(&self, phy: u64, topic: &str, key: &str) -> Result<Option<MessageRegion>> {
        let Some(rec) = self.inner.commit_log.read_record(phy)? else {
            return Ok(None);
        };
        let Ok(info) = rf::parse_dispatch(&rec, Some(phy), false) else {
            return Ok(None);
        };
        let in_keys = info
            .keys
            .as_deref()
            .is_some_and(|ks| ks.split(' ').any(|k| k == key));
        if info.topic != topic || !(in_keys || info.uniq_key.as_deref() == Some(key)) {
            return Ok(None);
        }
        Ok(self
            .inner
            .commit_log
            .region(phy, rec.len() as u32)
            .map(|region| MessageRegion {
                queue_offset: info.queue_offset,
                phy_offset: phy,
                size: region.len,
                tags_code: info.tags_code(),
                region,
            }))
    }

    fn queue(&self, topic: &str, queue_id: i32) -> Option<Arc<ConsumeQueue>> {
        self.inner.cq_table.find(topic, queue_id)
    }

    /// The queue's min offset (0 when the queue does not exist).
    pub fn min_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.queue(topic, queue_id).map_or(0, |q| q.min_offset())
    }

    /// The queue's max offset, the next offset to be written (0 when it does not exist).
    pub fn max_offset_in_queue(&self, topic: &str, queue_id: i32) -> i64 {
        self.queue(topic, queue_id).map_or(0, |q| q.max_offset())
    }

    /// Store time of the record at commitlog offset `phy_offset`.
    fn store_time_at(&self, phy_offset: u64) -> Result<Option<i64>> {
        let Some(prefix) = self.inner.commit_log.read(phy_offset, 80)? else {
            return Ok(None);
        };
        Ok(rf::prefix_store_timestamp(&prefix).ok())
    }

    /// Store time of the message at `offset` of `topic`/`queue_id`.
    pub fn message_store_timestamp(
        &self,
        topic: &str,
        queue_id: i32,
        offset: i64,
    ) -> Result<Option<i64>> {
        let Some(q) = self.queue(topic, queue_id) else {
            return Ok(None);
        };
        match q.unit_at(offset)? {
            Some(u) if !u.is_blank() && u.phy_offset >= 0 => {
                self.store_time_at(u.phy_offset as u64)
            }
            _ => Ok(None),
        }
    }

    /// Store time of the oldest message still in `topic`/`queue_id`.
    pub fn earliest_message_time(&self, topic: &str, queue_id: i32) -> Result<Option<i64>> {
        let min = self.min_offset_in_queue(topic, queue_id);
        self.message_store_timestamp(topic, queue_id, min)
    }

    /// Store time of the oldest record in the commitlog.
    pub fn earliest_commit_log_time(&self) -> Result<Option<i64>> {
        self.store_time_at(self.inner.commit_log.min_offset())
    }

    /// The smallest offset of `topic`/`queue_id` whose message was stored at or after
    /// `timestamp_ms`, or the max offset when none was (SEARCH_OFFSET_BY_TIMESTAMP). Binary
    /// search over the queue, reading store times from the commitlog.
    pub fn offset_by_time(&self, topic: &str, queue_id: i32, timestamp_ms: i64) -> Result<i64> {
        let Some(q) = self.queue(topic, queue_id) else {
            return Ok(0);
        };
        let (mut lo, mut hi) = (q.min_offset(), q.max_offset());
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            let before = match self.message_store_timestamp(topic, queue_id, mid)? {
                Some(ts) => ts < timestamp_ms,
                None => true,
            };
            if before {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }
}
