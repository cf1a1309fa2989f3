//! Messages the broker builds itself (Java `MessageExtBrokerInner` puts): encoding a
//! [`MessageExt`] into a stored record and appending it, loading a stored record back as a
//! [`MessageExt`], and reading a consume queue in batches of whole records.
//!
//! Shared by the schedule service, the send-back (retry) path and the transaction processor and
//! check service. Owns no state; every function takes the [`MessageStore`] explicitly.

use bytes::{Bytes, BytesMut};
use protocol::message::record::MAX_PROPERTIES_BYTES;
use protocol::message::{offset_msg_id, MessageExt, RecordRead};

use crate::error::{Error, Result};
use crate::store::{GetMessageStatus, MessageStore, PutMessageResult, PutMessageStatus};

/// Decodes the message record at commitlog offset `phy_offset`. `Ok(None)` when no valid
/// record is there (negative offset, deleted file, not a message start).
pub fn load_message(store: &MessageStore, phy_offset: i64) -> Result<Option<MessageExt>> {
    if phy_offset < 0 {
        return Ok(None);
    }
    let Some(record) = store.look_message_by_offset(phy_offset as u64)? else {
        return Ok(None);
    };
    decode_record(&record)
}

/// Decodes one whole stored record; `Ok(None)` for a blank or short buffer.
pub fn decode_record(record: &Bytes) -> Result<Option<MessageExt>> {
    Ok(match MessageExt::decode(record)? {
        RecordRead::Message(m, _) => Some(m),
        RecordRead::Blank(_) | RecordRead::Incomplete => None,
    })
}

/// Encodes `msg` as a record ready for [`MessageStore::put_message`]: BODYCRC recomputed,
/// QUEUEOFFSET/PHYSICALOFFSET zero (the store assigns them and the store time). Encoding
/// failures are put statuses: properties over 32767 bytes → `PROPERTIES_SIZE_EXCEEDED`, anything
/// else (empty or oversized topic) → `MESSAGE_ILLEGAL`.
pub fn encode_message(msg: &MessageExt) -> std::result::Result<BytesMut, PutMessageStatus> {
    if msg.properties.encoded_len() > MAX_PROPERTIES_BYTES {
        return Err(PutMessageStatus::PROPERTIES_SIZE_EXCEEDED);
    }
    let mut m = msg.clone();
    m.update_body_crc();
    m.queue_offset = 0;
    m.commit_log_offset = 0;
    let mut out = BytesMut::with_capacity(m.encoded_len());
    m.encode(&mut out).map_err(|e| {
        log::warn!("cannot encode inner message for {}: {e}", msg.topic);
        PutMessageStatus::MESSAGE_ILLEGAL
    })?;
    Ok(out)
}

/// Encodes `msg` and appends it to `msg.topic` / `msg.queue_id` (never waits for the disk;
/// callers in SYNC_FLUSH mode pass the append's `end_offset` to `request_flush`).
pub fn put_message_ext(store: &MessageStore, msg: &MessageExt) -> PutMessageResult {
    match encode_message(msg) {
        Ok(mut record) => store.put_message(&mut record, &msg.topic, msg.queue_id),
        Err(status) => PutMessageResult::failed(status),
    }
}

/// Whether a put stored the message: PUT_OK, or stored with a flush/slave warning (Java treats
/// FLUSH_DISK_TIMEOUT, FLUSH_SLAVE_TIMEOUT and SLAVE_NOT_AVAILABLE as success here).
pub fn is_stored(result: &PutMessageResult) -> bool {
    matches!(
        result.status,
        PutMessageStatus::PUT_OK
            | PutMessageStatus::FLUSH_DISK_TIMEOUT
            | PutMessageStatus::FLUSH_SLAVE_TIMEOUT
            | PutMessageStatus::SLAVE_NOT_AVAILABLE
    ) && result.append.is_some()
}

/// Whether a failed put may succeed later (the store refused or an I/O failed), as opposed to
/// a message that can never be stored (illegal, properties too large).
pub fn is_transient_failure(status: PutMessageStatus) -> bool {
    !matches!(
        status,
        PutMessageStatus::MESSAGE_ILLEGAL | PutMessageStatus::PROPERTIES_SIZE_EXCEEDED
    )
}

/// The offset msgId of a stored message (its store host + commitlog offset), what Java's
/// decoded `MessageExt.getMsgId()` returns.
pub fn msg_id_of(msg: &MessageExt) -> String {
    offset_msg_id(msg.store_host, msg.commit_log_offset)
}

/// One record read through a consume queue.
#[derive(Debug, Clone)]
pub struct QueueRecord {
    /// Its queue offset.
    pub queue_offset: i64,
    /// The consume-queue tags code (the delivery time on `SCHEDULE_TOPIC_XXXX`).
    pub tags_code: i64,
    /// Its commitlog offset.
    pub phy_offset: u64,
    /// The whole stored record.
    pub record: Bytes,
}

/// A batch of [`QueueRecord`]s and where to continue.
#[derive(Debug, Clone)]
pub struct QueueBatch {
    /// The store's status for the read.
    pub status: GetMessageStatus,
    /// Records in queue order (blank and deleted units are absent, so offsets may jump).
    pub records: Vec<QueueRecord>,
    /// The queue offset after the scanned units (the store's `next_begin_offset`).
    pub next_offset: i64,
    /// The queue's min offset.
    pub min_offset: i64,
    /// The queue's max offset (next offset to be written).
    pub max_offset: i64,
}

/// Reads up to `max_count` records of `topic`/`queue_id` from queue offset `offset`.
pub fn read_queue_batch(
    store: &MessageStore,
    topic: &str,
    queue_id: i32,
    offset: i64,
    max_count: usize,
) -> Result<QueueBatch> {
    let r = store.get_messages("broker", topic, queue_id, offset, max_count, u64::MAX, None)?;
    let mut records = Vec::with_capacity(r.messages.len());
    for m in &r.messages {
        let record = m
            .region
            .read()
            .map_err(|e| Error::io("read commitlog record", "commitlog", e))?;
        records.push(QueueRecord {
            queue_offset: m.queue_offset,
            tags_code: m.tags_code,
            phy_offset: m.phy_offset,
            record,
        });
    }
    Ok(QueueBatch {
        status: r.status,
        records,
        next_offset: r.next_begin_offset,
        min_offset: r.min_offset,
        max_offset: r.max_offset,
    })
}

/// A well-mixed 64-bit value from `seed` (splitmix64), for picking random queues without a
/// random-number crate.
pub fn mix64(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_properties_are_a_status_not_a_panic() {
        let mut m = MessageExt::new("T", Bytes::from_static(b"x"));
        m.properties.insert("K", "v".repeat(40_000));
        assert_eq!(
            encode_message(&m).unwrap_err(),
            PutMessageStatus::PROPERTIES_SIZE_EXCEEDED
        );
        let empty_topic = MessageExt::new("", Bytes::from_static(b"x"));
        assert_eq!(
            encode_message(&empty_topic).unwrap_err(),
            PutMessageStatus::MESSAGE_ILLEGAL
        );
    }

    #[test]
    fn encoding_sets_the_body_crc_and_round_trips() {
        let mut m = MessageExt::new("T", Bytes::from_static(b"hello"));
        m.properties.insert("TAGS", "a");
        let rec = encode_message(&m).unwrap().freeze();
        let back = decode_record(&rec).unwrap().unwrap();
        assert_eq!(back.body, m.body);
        assert_eq!(back.body_crc, protocol::message::record::body_crc(b"hello"));
        assert_eq!(back.properties.get("TAGS"), Some("a"));
    }

    #[test]
    fn mix_spreads_consecutive_seeds() {
        let picks: std::collections::BTreeSet<u64> = (0..64).map(|s| mix64(s) % 8).collect();
        assert!(picks.len() > 4, "{picks:?}");
    }
}
