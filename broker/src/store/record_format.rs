//! The stored-record format as the store needs it (wire reference §5.1), in one place.
//!
//! Owns: reading a record's head (TOTALSIZE + MAGICCODE), validating a whole record's layout
//! with full bounds checks, extracting the fields the dispatcher needs (topic, queue id, offsets,
//! sysflag, store time, TAGS/KEYS/UNIQ_KEY/DELAY), patching the fields assigned under the append
//! lock, the end-of-file blank record, body CRC and Java's `String.hashCode`. It does not own the
//! full message codec (`protocol::message`); once that lands these functions can delegate to it
//! here without touching the rest of the store. [`encode_record`] is a minimal encoder used by
//! tests and the store benchmark only.
//!
//! Nothing here panics on input bytes: every accessor checks bounds and returns [`RecordError`].

use std::borrow::Cow;
use std::net::SocketAddrV4;

/// MAGICCODE of a V1 record (1-byte topic length).
pub const MAGIC_V1: i32 = 0xDAA3_20A7_u32 as i32;
/// MAGICCODE of a V2 record (2-byte topic length).
pub const MAGIC_V2: i32 = 0xDAA3_20AB_u32 as i32;
/// MAGICCODE of the end-of-file blank record.
pub const BLANK_MAGIC: i32 = 0xCBD4_3194_u32 as i32;
/// A record must leave this many bytes free in its segment for a blank record.
pub const END_FILE_MIN_BLANK_BYTES: u64 = 8;
/// Smallest possible message record (IPv4 hosts, V1, 1-byte topic, empty body and properties).
pub const MIN_RECORD_BYTES: usize = 92;
/// The delay-level topic; its consume-queue tags code is the delivery timestamp.
pub const SCHEDULE_TOPIC: &str = "SCHEDULE_TOPIC_XXXX";

const POS_MAGIC: usize = 4;
const POS_BODY_CRC: usize = 8;
const POS_QUEUE_ID: usize = 12;
const POS_QUEUE_OFFSET: usize = 20;
const POS_PHY_OFFSET: usize = 28;
const POS_SYS_FLAG: usize = 36;
const POS_BORN_HOST: usize = 48;

/// SYSFLAG bit: BORNHOST is IPv6 (20 bytes instead of 8).
pub const FLAG_BORNHOST_V6: i32 = 0x10;
/// SYSFLAG bit: STOREHOST is IPv6.
pub const FLAG_STOREHOST_V6: i32 = 0x20;
/// SYSFLAG transaction bits mask.
pub const TRANSACTION_MASK: i32 = 0xC;
/// Transaction type: prepared (half) message, never dispatched to a consume queue.
pub const TRANSACTION_PREPARED: i32 = 0x4;
/// Transaction type: commit.
pub const TRANSACTION_COMMIT: i32 = 0x8;
/// Transaction type: rollback, never dispatched nor indexed.
pub const TRANSACTION_ROLLBACK: i32 = 0xC;

/// Why bytes are not a valid record. Cheap (no allocation): recovery hits it at every log end.
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

fn be_i16(buf: &[u8], pos: usize) -> RResult<i16> {
    let b = buf
        .get(pos..pos + 2)
        .ok_or(RecordError("truncated i16 field"))?;
    Ok(i16::from_be_bytes([b[0], b[1]]))
}

fn put_i64(buf: &mut [u8], pos: usize, v: i64) -> RResult<()> {
    let b = buf
        .get_mut(pos..pos + 8)
        .ok_or(RecordError("truncated i64 field"))?;
    b.copy_from_slice(&v.to_be_bytes());
    Ok(())
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
        BLANK_MAGIC if total_size >= 8 => Ok(Some(RecordHead::Blank { total_size })),
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

/// BORNHOST and STOREHOST sizes selected by SYSFLAG.
fn host_lens(sys_flag: i32) -> (usize, usize) {
    let len = |bit| if sys_flag & bit != 0 { 20 } else { 8 };
    (len(FLAG_BORNHOST_V6), len(FLAG_STOREHOST_V6))
}

/// Reads the topic length (1 byte under V1, i16 under V2) at `pos`; returns it and the
/// position of the topic bytes.
fn read_topic_len(rec: &[u8], pos: usize, magic: i32) -> RResult<(usize, usize)> {
    if magic == MAGIC_V2 {
        let l = be_i16(rec, pos)?;
        if l < 0 {
            return Err(RecordError("negative topic length"));
        }
        Ok((l as usize, pos + 2))
    } else {
        let l = *rec.get(pos).ok_or(RecordError("truncated topic length"))?;
        Ok((l as usize, pos + 1))
    }
}

/// Validates the layout of the record at the start of `rec` and returns its field positions.
/// The record's TOTALSIZE must be ≤ `rec.len()`; only `rec[..TOTALSIZE]` is examined.
pub fn parse_layout(rec: &[u8]) -> RResult<RecordLayout> {
    let total = be_i32(rec, 0)?;
    if total < MIN_RECORD_BYTES as i32 || total as usize > rec.len() {
        return Err(RecordError("TOTALSIZE out of range"));
    }
    let total_size = total as usize;
    let rec = &rec[..total_size];
    let magic = be_i32(rec, POS_MAGIC)?;
    if magic != MAGIC_V1 && magic != MAGIC_V2 {
        return Err(RecordError("bad MAGICCODE"));
    }
    let (born_host_len, store_host_len) = host_lens(be_i32(rec, POS_SYS_FLAG)?);
    let store_timestamp_pos = POS_BORN_HOST + born_host_len;
    // STORETIMESTAMP, STOREHOST, RECONSUMETIMES, PREPARED_TX_OFFSET.
    let body_len_pos = store_timestamp_pos + 8 + store_host_len + 4 + 8;
    let body_len = usize::try_from(be_i32(rec, body_len_pos)?)
        .map_err(|_| RecordError("negative body length"))?;
    let body_pos = body_len_pos + 4;
    let topic_len_pos = body_pos
        .checked_add(body_len)
        .ok_or(RecordError("body length overflow"))?;
    let (topic_len, topic_pos) = read_topic_len(rec, topic_len_pos, magic)?;
    let props_len_pos = topic_pos + topic_len;
    let props_len = usize::try_from(be_i16(rec, props_len_pos)?)
        .map_err(|_| RecordError("negative properties length"))?;
    let props_pos = props_len_pos + 2;
    if props_pos + props_len != total_size {
        return Err(RecordError("field lengths do not add up to TOTALSIZE"));
    }
    if topic_len == 0 {
        return Err(RecordError("empty topic"));
    }
    Ok(RecordLayout {
        total_size,
        store_timestamp_pos,
        body_pos,
        body_len,
        topic_pos,
        topic_len,
        props_pos,
        props_len,
    })
}

/// CRC32 (IEEE) of `body`, masked with `0x7FFFFFFF` as RocketMQ stores it.
pub fn body_crc(body: &[u8]) -> i32 {
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

/// Java's `String.hashCode` (over UTF-16 code units, wrapping).
pub fn java_hash_code(s: &str) -> i32 {
    s.encode_utf16()
        .fold(0i32, |h, u| h.wrapping_mul(31).wrapping_add(i32::from(u)))
}

/// Looks up `key` in a properties string (`k 0x01 v 0x02 ...`, §5.3). Duplicate keys: last wins.
pub fn find_property<'a>(props: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let mut found = None;
    for seg in props.split(|b| *b == 0x02) {
        if seg.len() < 3 {
            continue;
        }
        let Some(sep) = seg.iter().position(|b| *b == 0x01) else {
            continue;
        };
        if sep == 0 || sep == seg.len() - 1 {
            continue;
        }
        if &seg[..sep] == key.as_bytes() {
            found = Some(&seg[sep + 1..]);
        }
    }
    found
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
        match &self.tags {
            Some(t) if !t.is_empty() => i64::from(java_hash_code(t)),
            _ => 0,
        }
    }
}

fn property_str<'a>(props: &'a [u8], key: &str) -> Option<Cow<'a, str>> {
    find_property(props, key).map(String::from_utf8_lossy)
}

/// Validates `rec` (exactly one record) and extracts its [`DispatchInfo`].
///
/// Checks: layout ([`parse_layout`]), the record fills `rec` exactly, the topic is UTF-8 without
/// NUL bytes, non-empty properties do not end in a zero byte (a record whose tail was never
/// written ends in zeros; Java terminates every property with 0x02),
/// PHYSICALOFFSET equals `expected_phy_offset` when given, and BODYCRC when `check_crc`.
pub fn parse_dispatch(
    rec: &[u8],
    expected_phy_offset: Option<u64>,
    check_crc: bool,
) -> RResult<DispatchInfo<'_>> {
    let l = parse_layout(rec)?;
    if l.total_size != rec.len() {
        return Err(RecordError("record does not fill its slice"));
    }
    if l.props_len > 0 && rec.last() == Some(&0) {
        return Err(RecordError("properties end in a zero byte (torn tail)"));
    }
    let phy_offset = be_i64(rec, POS_PHY_OFFSET)?;
    if let Some(expected) = expected_phy_offset {
        if phy_offset < 0 || phy_offset as u64 != expected {
            return Err(RecordError(
                "PHYSICALOFFSET does not match the record position",
            ));
        }
    }
    let body = &rec[l.body_pos..l.body_pos + l.body_len];
    if check_crc && body_crc(body) != be_i32(rec, POS_BODY_CRC)? {
        return Err(RecordError("BODYCRC mismatch"));
    }
    let topic = std::str::from_utf8(&rec[l.topic_pos..l.topic_pos + l.topic_len])
        .map_err(|_| RecordError("topic is not UTF-8"))?;
    if topic.contains('\0') {
        return Err(RecordError("topic contains NUL"));
    }
    let props = &rec[l.props_pos..l.props_pos + l.props_len];
    Ok(DispatchInfo {
        topic,
        queue_id: be_i32(rec, POS_QUEUE_ID)?,
        queue_offset: be_i64(rec, POS_QUEUE_OFFSET)?,
        phy_offset,
        total_size: l.total_size as u32,
        sys_flag: be_i32(rec, POS_SYS_FLAG)?,
        store_timestamp: be_i64(rec, l.store_timestamp_pos)?,
        tags: property_str(props, "TAGS"),
        keys: property_str(props, "KEYS"),
        uniq_key: property_str(props, "UNIQ_KEY"),
        delay_level: find_property(props, "DELAY")
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.trim().parse::<i32>().ok()),
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
        be_i32(rec, POS_SYS_FLAG)?,
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
    let l = parse_layout(rec)?;
    be_i64(rec, l.store_timestamp_pos)
}

/// Reads STORETIMESTAMP from the fixed-size prefix of a message record (at least 80 bytes),
/// without validating the rest: used to pick the recovery start segment.
pub fn prefix_store_timestamp(prefix: &[u8]) -> RResult<i64> {
    let magic = be_i32(prefix, POS_MAGIC)?;
    if magic != MAGIC_V1 && magic != MAGIC_V2 {
        return Err(RecordError("bad MAGICCODE"));
    }
    let (born_host_len, _) = host_lens(be_i32(prefix, POS_SYS_FLAG)?);
    be_i64(prefix, POS_BORN_HOST + born_host_len)
}

/// Writes QUEUEOFFSET, PHYSICALOFFSET and STORETIMESTAMP into a record with layout `l`.
pub fn patch_append_fields(
    rec: &mut [u8],
    l: &RecordLayout,
    queue_offset: i64,
    phy_offset: u64,
    store_timestamp: i64,
) -> RResult<()> {
    put_i64(rec, POS_QUEUE_OFFSET, queue_offset)?;
    put_i64(rec, POS_PHY_OFFSET, phy_offset as i64)?;
    put_i64(rec, l.store_timestamp_pos, store_timestamp)
}

/// The 8-byte end-of-file blank record covering `remaining_bytes`.
pub fn blank_record(remaining_bytes: u32) -> [u8; 8] {
    let mut b = [0u8; 8];
    b[..4].copy_from_slice(&(remaining_bytes as i32).to_be_bytes());
    b[4..].copy_from_slice(&BLANK_MAGIC.to_be_bytes());
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

fn push_host(out: &mut Vec<u8>, host: &SocketAddrV4) {
    out.extend_from_slice(&host.ip().octets());
    out.extend_from_slice(&i32::from(host.port()).to_be_bytes());
}

/// Minimal record encoder for tests and the store benchmark (the broker uses
/// `protocol::message`). Offsets and store time are placeholders (0), as the append path expects.
pub fn encode_record(m: &RecordFields<'_>) -> Vec<u8> {
    let mut props = Vec::new();
    for (k, v) in m.properties {
        props.extend_from_slice(k.as_bytes());
        props.push(0x01);
        props.extend_from_slice(v.as_bytes());
        props.push(0x02);
    }
    let v2 = m.topic.len() > 127;
    let sys_flag = m.sys_flag & !(FLAG_BORNHOST_V6 | FLAG_STOREHOST_V6);
    let mut out = Vec::with_capacity(MIN_RECORD_BYTES + m.body.len() + m.topic.len() + props.len());
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&(if v2 { MAGIC_V2 } else { MAGIC_V1 }).to_be_bytes());
    out.extend_from_slice(&body_crc(m.body).to_be_bytes());
    out.extend_from_slice(&m.queue_id.to_be_bytes());
    out.extend_from_slice(&m.flag.to_be_bytes());
    out.extend_from_slice(&0i64.to_be_bytes());
    out.extend_from_slice(&0i64.to_be_bytes());
    out.extend_from_slice(&sys_flag.to_be_bytes());
    out.extend_from_slice(&m.born_timestamp.to_be_bytes());
    push_host(&mut out, &m.born_host);
    out.extend_from_slice(&0i64.to_be_bytes());
    push_host(&mut out, &m.store_host);
    out.extend_from_slice(&m.reconsume_times.to_be_bytes());
    out.extend_from_slice(&m.prepared_tx_offset.to_be_bytes());
    out.extend_from_slice(&(m.body.len() as i32).to_be_bytes());
    out.extend_from_slice(m.body);
    if v2 {
        out.extend_from_slice(&(m.topic.len() as i16).to_be_bytes());
    } else {
        out.push(m.topic.len() as u8);
    }
    out.extend_from_slice(m.topic.as_bytes());
    out.extend_from_slice(&(props.len() as i16).to_be_bytes());
    out.extend_from_slice(&props);
    let total = out.len() as i32;
    out[..4].copy_from_slice(&total.to_be_bytes());
    out
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
