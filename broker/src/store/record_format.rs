//! The stored-record format as the store needs it (wire reference §5.1), in one place.
//!
//! A thin adapter over `protocol::message`, which owns the record codec: layouts are validated
//! by [`RecordView::parse`], the append-lock fields are written by
//! [`protocol::message::patch_append_fields`], the blank record by [`encode_blank`], tags codes
//! by [`tags_code`] and CRCs by [`protocol::message::body_crc`]. This module keeps the small API
//! the store was written against (field positions in [`RecordLayout`], [`DispatchInfo`] for the
//! dispatcher, the store-specific checks on torn tails and offsets) so the store code does not
//! depend on the codec's types. [`encode_record`] is a minimal encoder for tests and the store
//! benchmark only.
//!
//! Nothing here panics on input bytes: every accessor checks bounds and returns [`RecordError`].

use std::borrow::Cow;
use std::net::{SocketAddr, SocketAddrV4};

use bytes::BytesMut;
use protocol::message::record::{host_len, BLANK_RECORD_BYTES, BORN_HOST_POS, SYS_FLAG_POS};
use protocol::message::record_view::{RecordView, ViewRead};
use protocol::message::{encode_blank, keys, sysflag, tags_code, MessageVersion, RecordParts};

/// MAGICCODE of a V1 record (1-byte topic length).
pub const MAGIC_V1: i32 = protocol::message::MAGIC_V1;
/// MAGICCODE of a V2 record (2-byte topic length).
pub const MAGIC_V2: i32 = protocol::message::MAGIC_V2;
/// MAGICCODE of the end-of-file blank record.
pub const BLANK_MAGIC: i32 = protocol::message::BLANK_MAGIC;
/// A record must leave this many bytes free in its segment for a blank record.
pub const END_FILE_MIN_BLANK_BYTES: u64 = BLANK_RECORD_BYTES as u64;
/// Smallest possible message record (IPv4 hosts, V1, 1-byte topic, empty body and properties).
pub const MIN_RECORD_BYTES: usize = protocol::message::record::FIXED_V1_IPV4_BYTES + 1;
/// The delay-level topic; its consume-queue tags code is the delivery timestamp.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";

const POS_MAGIC: usize = 4;
const POS_BODY_CRC: usize = 8;
const POS_QUEUE_ID: usize = 12;

/// SYSFLAG bit: BORNHOST is IPv6 (20 bytes instead of 8).
pub const FLAG_BORNHOST_V6: i32 = sysflag::BORNHOST_V6;
/// SYSFLAG bit: STOREHOST is IPv6.
pub const FLAG_STOREHOST_V6: i32 = sysflag::STOREHOST_V6;
/// SYSFLAG transaction bits mask.
pub const TRANSACTION_MASK: i32 = sysflag::TRANSACTION_MASK;
/// Transaction type: prepared (half) message, never dispatched to a consume queue.
pub const TRANSACTION_PREPARED: i32 = sysflag::TRANSACTION_PREPARED_TYPE;
/// Transaction type: commit.
pub const TRANSACTION_COMMIT: i32 = sysflag::TRANSACTION_COMMIT_TYPE;
/// Transaction type: rollback, never dispatched nor indexed.
pub const TRANSACTION_ROLLBACK: i32 = sysflag::TRANSACTION_ROLLBACK_TYPE;

/// Why bytes are not a valid record. Cheap to copy and compare; the codec's detailed message is
/// logged at debug level where it is produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordError(pub &'static str);

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

type RResult<T> = Result<T, RecordError>;

/// What the first 8 bytes at a commitlog position announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordHead {
    /// A message record of `total_size` bytes (not yet validated beyond the magic).
    Message {
        /// TOTALSIZE.
        total_size: u32,
    },
    /// The end-of-file blank record: the rest of the segment is unused.
    Blank {
        /// TOTALSIZE (= bytes left in the segment).
        total_size: u32,
    },
    /// Zero TOTALSIZE: nothing was ever written here (end of log).
    Empty,
}

fn be_i32(buf: &[u8], pos: usize) -> RResult<i32> {
    let b = buf
        .get(pos..pos + 4)
        .ok_or(RecordError("truncated i32 field"))?;
    Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn be_i64(buf: &[u8], pos: usize) -> RResult<i64> {
    let b = buf
        .get(pos..pos + 8)
        .ok_or(RecordError("truncated i64 field"))?;
    let mut a = [0u8; 8];
    a.copy_from_slice(b);
    Ok(i64::from_be_bytes(a))
}

/// Reads TOTALSIZE and MAGICCODE. `Ok(None)` when fewer than 8 bytes are given.
pub fn read_head(buf: &[u8]) -> RResult<Option<RecordHead>> {
    if buf.len() < 8 {
        return Ok(None);
    }
    let total = be_i32(buf, 0)?;
    let magic = be_i32(buf, POS_MAGIC)?;
    if total == 0 {
        return Ok(Some(RecordHead::Empty));
    }
    if total < 0 {
        return Err(RecordError("negative TOTALSIZE"));
    }
    let total_size = total as u32;
    match magic {
        BLANK_MAGIC if total_size as usize >= BLANK_RECORD_BYTES => {
            Ok(Some(RecordHead::Blank { total_size }))
        }
        MAGIC_V1 | MAGIC_V2 if total_size as usize >= MIN_RECORD_BYTES => {
            Ok(Some(RecordHead::Message { total_size }))
        }
        _ => Err(RecordError("bad MAGICCODE or TOTALSIZE")),
    }
}

/// Field positions of one validated record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordLayout {
    /// TOTALSIZE (= the slice length that was validated).
    pub total_size: usize,
    /// Position of STORETIMESTAMP.
    pub store_timestamp_pos: usize,
    /// Position of the body bytes.
    pub body_pos: usize,
    /// Body length.
    pub body_len: usize,
    /// Position of the topic bytes.
    pub topic_pos: usize,
    /// Topic length.
    pub topic_len: usize,
    /// Position of the properties bytes.
    pub props_pos: usize,
    /// Properties length.
    pub props_len: usize,
}

/// Parses the message record at the front of `rec` with the codec.
fn view(rec: &[u8]) -> RResult<RecordView<'_>> {
    match RecordView::parse(rec) {
        Ok(ViewRead::Message(v)) => Ok(v),
        Ok(ViewRead::Incomplete) => Err(RecordError("TOTALSIZE out of range")),
        Ok(ViewRead::Blank(_)) => Err(RecordError("blank record where a message was expected")),
        Err(e) => {
            log::debug!("record rejected: {e}");
            Err(RecordError("malformed record fields"))
        }
    }
}

fn layout_of(v: &RecordView<'_>) -> RecordLayout {
    let body_pos = v.body_offset();
    let topic_pos = body_pos + v.body.len() + v.version.topic_len_bytes();
    RecordLayout {
        total_size: v.raw.len(),
        store_timestamp_pos: BORN_HOST_POS + host_len(v.sys_flag & FLAG_BORNHOST_V6 != 0),
        body_pos,
        body_len: v.body.len(),
        topic_pos,
        topic_len: v.topic.len(),
        props_pos: topic_pos + v.topic.len() + 2,
        props_len: v.properties.len(),
    }
}

/// Validates the layout of the record at the start of `rec` and returns its field positions.
/// The record's TOTALSIZE must be ≤ `rec.len()`; only `rec[..TOTALSIZE]` is examined.
pub fn parse_layout(rec: &[u8]) -> RResult<RecordLayout> {
    view(rec).map(|v| layout_of(&v))
}

/// CRC32 (IEEE) of `body`, masked with `0x7FFFFFFF` as RocketMQ stores it.
pub fn body_crc(body: &[u8]) -> i32 {
    protocol::message::body_crc(body)
}

/// Java's `String.hashCode` (over UTF-16 code units, wrapping).
pub fn java_hash_code(s: &str) -> i32 {
    protocol::message::java_hash_code(s)
}

/// Looks up `key` in a properties string (`k 0x01 v 0x02 ...`, §5.3). Duplicate keys: last wins.
pub fn find_property<'a>(props: &'a [u8], key: &str) -> Option<&'a [u8]> {
    protocol::message::find_property(props, key)
}

/// Everything the dispatcher (consume queue, index) needs from one record, borrowed from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DispatchInfo<'a> {
    /// TOPIC.
    pub topic: &'a str,
    /// QUEUEID.
    pub queue_id: i32,
    /// QUEUEOFFSET.
    pub queue_offset: i64,
    /// PHYSICALOFFSET.
    pub phy_offset: i64,
    /// TOTALSIZE.
    pub total_size: u32,
    /// SYSFLAG.
    pub sys_flag: i32,
    /// STORETIMESTAMP.
    pub store_timestamp: i64,
    /// The TAGS property.
    pub tags: Option<Cow<'a, str>>,
    /// The KEYS property (space-separated keys).
    pub keys: Option<Cow<'a, str>>,
    /// The UNIQ_KEY property.
    pub uniq_key: Option<Cow<'a, str>>,
    /// The DELAY property parsed as a level (only meaningful on the schedule topic).
    pub delay_level: Option<i32>,
}

impl DispatchInfo<'_> {
    /// Transaction type bits of SYSFLAG.
    pub fn transaction_type(&self) -> i32 {
        self.sys_flag & TRANSACTION_MASK
    }

    /// Tags code for the consume queue: Java hashCode of TAGS (0 when absent). The schedule
    /// topic's delivery-time code is computed by the dispatcher, which knows the delay table.
    pub fn tags_code(&self) -> i64 {
        tags_code(self.tags.as_deref())
    }
}

fn property_str<'a>(v: &RecordView<'a>, key: &str) -> Option<Cow<'a, str>> {
    v.property(key).map(String::from_utf8_lossy)
}

/// Validates `rec` (exactly one record) and extracts its [`DispatchInfo`].
///
/// Checks: the codec's layout validation, the record fills `rec` exactly, the topic is UTF-8
/// without NUL bytes, non-empty properties do not end in a zero byte (a record whose tail was
/// never written ends in zeros; Java terminates every property with 0x02), PHYSICALOFFSET
/// equals `expected_phy_offset` when given, and BODYCRC when `check_crc`.
pub fn parse_dispatch(
    rec: &[u8],
    expected_phy_offset: Option<u64>,
    check_crc: bool,
) -> RResult<DispatchInfo<'_>> {
    let v = view(rec)?;
    if v.raw.len() != rec.len() {
        return Err(RecordError("record does not fill its slice"));
    }
    if !v.properties.is_empty() && rec.last() == Some(&0) {
        return Err(RecordError("properties end in a zero byte (torn tail)"));
    }
    if let Some(expected) = expected_phy_offset {
        if v.commit_log_offset < 0 || v.commit_log_offset as u64 != expected {
            return Err(RecordError(
                "PHYSICALOFFSET does not match the record position",
            ));
        }
    }
    if check_crc && !v.verify_crc() {
        return Err(RecordError("BODYCRC mismatch"));
    }
    let topic = v
        .topic_str()
        .map_err(|_| RecordError("topic is not UTF-8"))?;
    if topic.contains('\0') {
        return Err(RecordError("topic contains NUL"));
    }
    Ok(DispatchInfo {
        topic,
        queue_id: v.queue_id,
        queue_offset: v.queue_offset,
        phy_offset: v.commit_log_offset,
        total_size: v.raw.len() as u32,
        sys_flag: v.sys_flag,
        store_timestamp: v.store_timestamp,
        tags: property_str(&v, keys::TAGS),
        keys: property_str(&v, keys::KEYS),
        uniq_key: property_str(&v, keys::UNIQ_KEY),
        delay_level: v
            .property(keys::DELAY)
            .and_then(|d| std::str::from_utf8(d).ok())
            .and_then(|d| d.trim().parse::<i32>().ok()),
    })
}

/// Reads QUEUEID, SYSFLAG and the topic of a record whose layout is `l`.
pub fn topic_queue_sysflag<'a>(rec: &'a [u8], l: &RecordLayout) -> RResult<(&'a [u8], i32, i32)> {
    let topic = rec
        .get(l.topic_pos..l.topic_pos + l.topic_len)
        .ok_or(RecordError("truncated topic"))?;
    Ok((
        topic,
        be_i32(rec, POS_QUEUE_ID)?,
        be_i32(rec, SYS_FLAG_POS)?,
    ))
}

/// Reads BODYCRC and checks it against the body.
pub fn body_crc_matches(rec: &[u8], l: &RecordLayout) -> RResult<bool> {
    let body = rec
        .get(l.body_pos..l.body_pos + l.body_len)
        .ok_or(RecordError("truncated body"))?;
    Ok(body_crc(body) == be_i32(rec, POS_BODY_CRC)?)
}

/// Reads STORETIMESTAMP of a whole record.
pub fn store_timestamp(rec: &[u8]) -> RResult<i64> {
    view(rec).map(|v| v.store_timestamp)
}

/// Reads STORETIMESTAMP from the fixed-size prefix of a message record (at least 80 bytes),
/// without validating the rest: used to pick the recovery start segment and by time lookups.
pub fn prefix_store_timestamp(prefix: &[u8]) -> RResult<i64> {
    let magic = be_i32(prefix, POS_MAGIC)?;
    if magic != MAGIC_V1 && magic != MAGIC_V2 {
        return Err(RecordError("bad MAGICCODE"));
    }
    let born_v6 = be_i32(prefix, SYS_FLAG_POS)? & FLAG_BORNHOST_V6 != 0;
    be_i64(prefix, BORN_HOST_POS + host_len(born_v6))
}

/// Writes QUEUEOFFSET, PHYSICALOFFSET and STORETIMESTAMP into a record with layout `l`.
pub fn patch_append_fields(
    rec: &mut [u8],
    l: &RecordLayout,
    queue_offset: i64,
    phy_offset: u64,
    store_timestamp: i64,
) -> RResult<()> {
    let rec = rec
        .get_mut(..l.total_size)
        .ok_or(RecordError("record shorter than its layout"))?;
    let phy = i64::try_from(phy_offset).map_err(|_| RecordError("offset beyond i64"))?;
    protocol::message::patch_append_fields(rec, queue_offset, phy, store_timestamp)
        .map_err(|_| RecordError("record header cannot be patched"))?;
    Ok(())
}

/// The 8-byte end-of-file blank record covering `remaining_bytes`.
pub fn blank_record(remaining_bytes: u32) -> [u8; 8] {
    let mut buf = BytesMut::with_capacity(BLANK_RECORD_BYTES);
    encode_blank(remaining_bytes as i32, &mut buf);
    let mut b = [0u8; 8];
    b.copy_from_slice(&buf);
    b
}

/// Fields for [`encode_record`] (IPv4 hosts only).
#[derive(Debug, Clone)]
pub struct RecordFields<'a> {
    /// TOPIC (V2 magic is used when longer than 127 bytes).
    pub topic: &'a str,
    /// QUEUEID.
    pub queue_id: i32,
    /// FLAG.
    pub flag: i32,
    /// SYSFLAG (the host IPv6 bits are cleared).
    pub sys_flag: i32,
    /// BORNTIMESTAMP.
    pub born_timestamp: i64,
    /// BORNHOST.
    pub born_host: SocketAddrV4,
    /// STOREHOST.
    pub store_host: SocketAddrV4,
    /// RECONSUMETIMES.
    pub reconsume_times: i32,
    /// PREPARED_TX_OFFSET.
    pub prepared_tx_offset: i64,
    /// BODY.
    pub body: &'a [u8],
    /// Properties, encoded as Java does (every pair terminated by 0x02).
    pub properties: &'a [(&'a str, &'a str)],
}

/// Minimal record encoder for tests and the store benchmark (the broker encodes with
/// `protocol::message` directly). Offsets and store time are placeholders (0), as the append
/// path expects. Fields the codec cannot encode (an empty topic, properties over 32 KiB) give
/// an empty vector, which the store rejects as MESSAGE_ILLEGAL.
pub fn encode_record(m: &RecordFields<'_>) -> Vec<u8> {
    let mut props = Vec::new();
    for (k, v) in m.properties {
        props.extend_from_slice(k.as_bytes());
        props.push(0x01);
        props.extend_from_slice(v.as_bytes());
        props.push(0x02);
    }
    let parts = RecordParts {
        version: MessageVersion::V1,
        body_crc: body_crc(m.body),
        queue_id: m.queue_id,
        flag: m.flag,
        queue_offset: 0,
        commit_log_offset: 0,
        sys_flag: m.sys_flag,
        born_timestamp: m.born_timestamp,
        born_host: SocketAddr::V4(m.born_host),
        store_timestamp: 0,
        store_host: SocketAddr::V4(m.store_host),
        reconsume_times: m.reconsume_times,
        prepared_transaction_offset: m.prepared_tx_offset,
        body: m.body,
        topic: m.topic,
        properties: &props,
    };
    let mut out = BytesMut::new();
    match protocol::message::encode_record(&parts, &mut out) {
        Ok(_) => out.to_vec(),
        Err(e) => {
            log::debug!("test record not encodable: {e}");
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn sample(props: &[(&str, &str)]) -> Vec<u8> {
        let host = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 10911);
        encode_record(&RecordFields {
            topic: "TopicA",
            queue_id: 3,
            flag: 0,
            sys_flag: 0,
            born_timestamp: 1,
            born_host: host,
            store_host: host,
            reconsume_times: 0,
            prepared_tx_offset: 0,
            body: b"hello",
            properties: props,
        })
    }

    #[test]
    fn layout_matches_reference_offsets() {
        let rec = sample(&[("TAGS", "a")]);
        let l = parse_layout(&rec).unwrap();
        assert_eq!(l.store_timestamp_pos, 56);
        assert_eq!(l.body_pos, 88);
        assert_eq!(rec.len(), 91 + 5 + 6 + "TAGS\u{1}a\u{2}".len());
    }

    #[test]
    fn long_topics_use_the_v2_magic() {
        let host = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 1);
        let topic = "T".repeat(200);
        let rec = encode_record(&RecordFields {
            topic: &topic,
            queue_id: 0,
            flag: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: host,
            store_host: host,
            reconsume_times: 0,
            prepared_tx_offset: 0,
            body: b"b",
            properties: &[],
        });
        assert_eq!(&rec[4..8], &MAGIC_V2.to_be_bytes());
        assert_eq!(rec.len(), 91 + 1 + 1 + 200);
        assert_eq!(parse_dispatch(&rec, None, true).unwrap().topic, topic);
    }

    #[test]
    fn java_hash_code_matches_known_values() {
        assert_eq!(java_hash_code(""), 0);
        assert_eq!(java_hash_code("TagA"), 2598919);
        assert_eq!(java_hash_code("hello world"), 1794106052);
    }

    #[test]
    fn dispatch_info_and_patch_roundtrip() {
        let mut rec = sample(&[("TAGS", "TagA"), ("KEYS", "k1 k2"), ("UNIQ_KEY", "U")]);
        let l = parse_layout(&rec).unwrap();
        patch_append_fields(&mut rec, &l, 7, 4096, 99).unwrap();
        let d = parse_dispatch(&rec, Some(4096), true).unwrap();
        assert_eq!((d.topic, d.queue_id, d.queue_offset), ("TopicA", 3, 7));
        assert_eq!((d.phy_offset, d.store_timestamp), (4096, 99));
        assert_eq!(d.tags_code(), 2598919);
        assert_eq!(d.keys.as_deref(), Some("k1 k2"));
        assert_eq!(d.uniq_key.as_deref(), Some("U"));
        assert!(parse_dispatch(&rec, Some(0), true).is_err());
    }

    #[test]
    fn torn_and_truncated_records_are_rejected_without_panic() {
        let rec = sample(&[("TAGS", "TagA")]);
        for cut in 0..rec.len() {
            let mut torn = rec.clone();
            torn[cut..].fill(0);
            assert!(parse_dispatch(&torn, None, true).is_err(), "cut at {cut}");
            assert!(parse_layout(&rec[..cut]).is_err());
        }
        // Without properties the record legitimately ends in the zero properties length; a
        // tear anywhere before it is still caught, with or without the CRC check.
        let bare = sample(&[]);
        for cut in 0..bare.len() - 2 {
            let mut torn = bare.clone();
            torn[cut..].fill(0);
            assert!(parse_dispatch(&torn, None, false).is_err(), "cut at {cut}");
        }
        assert!(parse_dispatch(&bare, None, false).is_ok());
        let mut bad_crc = rec.clone();
        bad_crc[88] ^= 1;
        assert_eq!(
            parse_dispatch(&bad_crc, None, true).unwrap_err(),
            RecordError("BODYCRC mismatch")
        );
    }

    #[test]
    fn heads_and_blank() {
        assert_eq!(read_head(&[0; 7]).unwrap(), None);
        assert_eq!(read_head(&[0; 8]).unwrap(), Some(RecordHead::Empty));
        let b = blank_record(100);
        assert_eq!(
            read_head(&b).unwrap(),
            Some(RecordHead::Blank { total_size: 100 })
        );
        assert!(read_head(&[0, 0, 0, 9, 1, 2, 3, 4]).is_err());
    }

    #[test]
    fn properties_follow_reference_parser() {
        let p = b"A\x01x\x02B\x01\x02\x01z\x02A\x01y\x02C\x01w";
        assert_eq!(find_property(p, "A"), Some(&b"y"[..]));
        assert_eq!(find_property(p, "B"), None);
        assert_eq!(find_property(p, "C"), Some(&b"w"[..]));
    }
}
