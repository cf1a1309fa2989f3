//! The stored message record (wire reference §5.1): constants, the encoder, and the owned
//! [`MessageExt`].
//!
//! The same layout is the commit-log record on disk and the record in PULL/QUERY/VIEW response
//! bodies. All integers are big-endian:
//! ```text
//! TOTALSIZE i32 | MAGICCODE i32 | BODYCRC i32 | QUEUEID i32 | FLAG i32 | QUEUEOFFSET i64
//! | PHYSICALOFFSET i64 | SYSFLAG i32 | BORNTIMESTAMP i64 | BORNHOST 8|20 | STORETIMESTAMP i64
//! | STOREHOST 8|20 | RECONSUMETIMES i32 | PREPARED_TX_OFFSET i64 | BODYLEN i32 | BODY
//! | TOPICLEN u8 (V1) or i16 (V2) | TOPIC | PROPERTIESLEN i16 | PROPERTIES
//! ```
//! Hosts are IPv6 (16-byte address + i32 port) when the sysflag bits `BORNHOST_V6` /
//! `STOREHOST_V6` are set. The borrowed, allocation-free parser is
//! [`RecordView`]; [`MessageExt::decode`] builds on it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use bytes::{BufMut, Bytes, BytesMut};

use super::msg_id::offset_msg_id;
use super::properties::{keys, Properties};
use super::record_view::{RecordView, ViewRead};
use super::sysflag::{BORNHOST_V6, STOREHOST_V6};
use crate::error::{Error, Result};

/// Magic of a V1 record (1-byte topic length): `0xDAA320A7`.
pub const MAGIC_V1: i32 = 0xDAA3_20A7_u32 as i32;
/// Magic of a V2 record (2-byte topic length): `0xDAA320AB`.
pub const MAGIC_V2: i32 = 0xDAA3_20AB_u32 as i32;
/// Magic of the end-of-file blank record: `0xCBD43194`.
pub const BLANK_MAGIC: i32 = 0xCBD4_3194_u32 as i32;
/// Bytes the blank record occupies (`[i32 remaining][i32 BLANK_MAGIC]`).
pub const BLANK_RECORD_BYTES: usize = 8;
/// Largest properties string a record can carry (its length is an i16).
pub const MAX_PROPERTIES_BYTES: usize = i16::MAX as usize;
/// Longest topic that still uses a V1 record; longer topics switch to V2 automatically.
pub const MAX_V1_TOPIC_BYTES: usize = 127;
/// Fixed bytes of a V1 record with IPv4 hosts: everything but body, topic and properties.
pub const FIXED_V1_IPV4_BYTES: usize = 91;

/// Byte offset of QUEUEOFFSET.
pub const QUEUE_OFFSET_POS: usize = 20;
/// Byte offset of PHYSICALOFFSET.
pub const COMMIT_LOG_OFFSET_POS: usize = 28;
/// Byte offset of SYSFLAG.
pub const SYS_FLAG_POS: usize = 36;
/// Byte offset of BORNHOST.
pub const BORN_HOST_POS: usize = 48;

/// Record version, selected by MAGICCODE; decides the width of the topic length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MessageVersion {
    /// 1-byte topic length.
    #[default]
    V1,
    /// 2-byte topic length (topics longer than 127 bytes).
    V2,
}

impl MessageVersion {
    /// The MAGICCODE value.
    pub fn magic(self) -> i32 {
        match self {
            MessageVersion::V1 => MAGIC_V1,
            MessageVersion::V2 => MAGIC_V2,
        }
    }

    /// The version a MAGICCODE names, if any (the blank magic is not a version).
    pub fn from_magic(magic: i32) -> Option<Self> {
        match magic {
            MAGIC_V1 => Some(MessageVersion::V1),
            MAGIC_V2 => Some(MessageVersion::V2),
            _ => None,
        }
    }

    /// Width of the topic-length field.
    pub fn topic_len_bytes(self) -> usize {
        match self {
            MessageVersion::V1 => 1,
            MessageVersion::V2 => 2,
        }
    }

    /// `self`, or V2 when the topic does not fit a V1 record.
    pub fn for_topic(self, topic_len: usize) -> Self {
        if topic_len > MAX_V1_TOPIC_BYTES {
            MessageVersion::V2
        } else {
            self
        }
    }
}

/// The stored body CRC: CRC-32 (IEEE) masked with `0x7FFFFFFF`.
pub fn body_crc(body: &[u8]) -> i32 {
    // The mask makes the value fit a non-negative i32.
    (crc32fast::hash(body) & 0x7FFF_FFFF) as i32
}

/// Width of a host field for the given IPv6 flag: 8 (IPv4) or 20 (IPv6).
pub fn host_len(v6: bool) -> usize {
    if v6 {
        20
    } else {
        8
    }
}

/// Fixed bytes of a record (all but body, topic and properties) for a sysflag and version.
pub fn fixed_len(sys_flag: i32, version: MessageVersion) -> usize {
    FIXED_V1_IPV4_BYTES - 16
        + host_len(sys_flag & BORNHOST_V6 != 0)
        + host_len(sys_flag & STOREHOST_V6 != 0)
        + version.topic_len_bytes()
        - 1
}

/// Total record length for the given parts.
pub fn record_len(
    sys_flag: i32,
    version: MessageVersion,
    body_bytes: usize,
    topic_bytes: usize,
    properties_bytes: usize,
) -> usize {
    fixed_len(sys_flag, version) + body_bytes + topic_bytes + properties_bytes
}

/// `sys_flag` with the host bits set from the address kinds.
pub fn sys_flag_for_hosts(sys_flag: i32, born_host: SocketAddr, store_host: SocketAddr) -> i32 {
    let mut flag = sys_flag & !(BORNHOST_V6 | STOREHOST_V6);
    if born_host.is_ipv6() {
        flag |= BORNHOST_V6;
    }
    if store_host.is_ipv6() {
        flag |= STOREHOST_V6;
    }
    flag
}

/// Appends the end-of-file blank record: `[i32 remaining_bytes][i32 BLANK_MAGIC]`.
pub fn encode_blank(remaining_bytes: i32, out: &mut BytesMut) {
    out.put_i32(remaining_bytes);
    out.put_i32(BLANK_MAGIC);
}

/// A record to encode from borrowed parts: the broker's append path, which has the body and
/// the raw properties string of a SEND request and must not re-parse or copy them.
#[derive(Debug, Clone, Copy)]
pub struct RecordParts<'a> {
    /// Preferred version; V2 is used anyway when the topic is longer than 127 bytes.
    pub version: MessageVersion,
    /// BODYCRC to store (see [`body_crc`]).
    pub body_crc: i32,
    /// QUEUEID.
    pub queue_id: i32,
    /// FLAG (user flag).
    pub flag: i32,
    /// QUEUEOFFSET (often patched later by [`patch_append_fields`](super::patch_append_fields)).
    pub queue_offset: i64,
    /// PHYSICALOFFSET (often patched later).
    pub commit_log_offset: i64,
    /// SYSFLAG; the host bits are overridden from the address kinds.
    pub sys_flag: i32,
    /// BORNTIMESTAMP, ms.
    pub born_timestamp: i64,
    /// BORNHOST.
    pub born_host: SocketAddr,
    /// STORETIMESTAMP, ms (often patched later).
    pub store_timestamp: i64,
    /// STOREHOST.
    pub store_host: SocketAddr,
    /// RECONSUMETIMES.
    pub reconsume_times: i32,
    /// PREPARED_TX_OFFSET.
    pub prepared_transaction_offset: i64,
    /// BODY bytes as stored (possibly compressed).
    pub body: &'a [u8],
    /// TOPIC (non-empty).
    pub topic: &'a str,
    /// PROPERTIES in wire form (§5.3), at most 32767 bytes.
    pub properties: &'a [u8],
}

/// Appends one record built from `parts`; returns its length. Fails (writing nothing) on an
/// empty topic, a topic over 32767 bytes, properties over 32767 bytes, or a record over 2 GiB.
pub fn encode_record(parts: &RecordParts<'_>, out: &mut BytesMut) -> Result<usize> {
    write_record(parts, parts.properties.len(), out, |out| {
        out.put_slice(parts.properties)
    })
}

/// The shared encoder: `write_props` must append exactly `props_len` bytes.
fn write_record(
    p: &RecordParts<'_>,
    props_len: usize,
    out: &mut BytesMut,
    write_props: impl FnOnce(&mut BytesMut),
) -> Result<usize> {
    let topic = p.topic.as_bytes();
    let version = p.version.for_topic(topic.len());
    if topic.is_empty() || topic.len() > i16::MAX as usize {
        return Err(Error::Encode(format!(
            "topic of {} bytes (must be 1..=32767)",
            topic.len()
        )));
    }
    if props_len > MAX_PROPERTIES_BYTES {
        return Err(Error::Encode(format!(
            "properties of {props_len} bytes exceed {MAX_PROPERTIES_BYTES}"
        )));
    }
    let sys_flag = sys_flag_for_hosts(p.sys_flag, p.born_host, p.store_host);
    let total = record_len(sys_flag, version, p.body.len(), topic.len(), props_len);
    let total_i32 = i32::try_from(total)
        .map_err(|_| Error::Encode(format!("record of {total} bytes is too large")))?;
    out.reserve(total);
    out.put_i32(total_i32);
    out.put_i32(version.magic());
    out.put_i32(p.body_crc);
    out.put_i32(p.queue_id);
    out.put_i32(p.flag);
    out.put_i64(p.queue_offset);
    out.put_i64(p.commit_log_offset);
    out.put_i32(sys_flag);
    out.put_i64(p.born_timestamp);
    put_host(p.born_host, out);
    out.put_i64(p.store_timestamp);
    put_host(p.store_host, out);
    out.put_i32(p.reconsume_times);
    out.put_i64(p.prepared_transaction_offset);
    // Fits: total (which includes the body) fits an i32.
    out.put_i32(p.body.len() as i32);
    out.put_slice(p.body);
    match version {
        // Fits: V1 is only used for topics of at most 127 bytes.
        MessageVersion::V1 => out.put_u8(topic.len() as u8),
        // Fits: checked against i16::MAX above.
        MessageVersion::V2 => out.put_i16(topic.len() as i16),
    }
    out.put_slice(topic);
    // Fits: checked against MAX_PROPERTIES_BYTES above.
    out.put_i16(props_len as i16);
    write_props(out);
    Ok(total)
}

fn put_host(host: SocketAddr, out: &mut BytesMut) {
    match host.ip() {
        IpAddr::V4(ip) => out.put_slice(&ip.octets()),
        IpAddr::V6(ip) => out.put_slice(&ip.octets()),
    }
    out.put_i32(i32::from(host.port()));
}

/// An owned stored message: every field of the record, the body as a zero-copy slice of the
/// buffer it was decoded from, and parsed properties. Java's `MessageExt`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageExt {
    /// TOTALSIZE as decoded; ignored by [`MessageExt::encode`], which writes the real length.
    pub store_size: i32,
    /// Record version (magic); V2 is forced for topics over 127 bytes when encoding.
    pub version: MessageVersion,
    /// BODYCRC, written as is (set it with [`MessageExt::update_body_crc`]).
    pub body_crc: i32,
    /// QUEUEID.
    pub queue_id: i32,
    /// FLAG (user flag).
    pub flag: i32,
    /// QUEUEOFFSET.
    pub queue_offset: i64,
    /// PHYSICALOFFSET.
    pub commit_log_offset: i64,
    /// SYSFLAG; when encoding, the host bits follow the address kinds.
    pub sys_flag: i32,
    /// BORNTIMESTAMP, ms.
    pub born_timestamp: i64,
    /// BORNHOST.
    pub born_host: SocketAddr,
    /// STORETIMESTAMP, ms.
    pub store_timestamp: i64,
    /// STOREHOST.
    pub store_host: SocketAddr,
    /// RECONSUMETIMES.
    pub reconsume_times: i32,
    /// PREPARED_TX_OFFSET.
    pub prepared_transaction_offset: i64,
    /// BODY as stored (possibly compressed).
    pub body: Bytes,
    /// TOPIC (invalid UTF-8 replaced when decoding).
    pub topic: String,
    /// PROPERTIES.
    pub properties: Properties,
}

/// What [`MessageExt::decode`] found at the front of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
// The message is moved out right away; boxing it would cost an allocation per record.
#[allow(clippy::large_enum_variant)]
pub enum RecordRead {
    /// A message record and the bytes it occupies.
    Message(MessageExt, usize),
    /// The end-of-file marker; the value is TOTALSIZE (the bytes left in the file).
    Blank(usize),
    /// The buffer ends inside the record: read more bytes.
    Incomplete,
}

impl MessageExt {
    /// A message with the given topic and body; every other field zero or empty, hosts
    /// `0.0.0.0:0`.
    pub fn new(topic: impl Into<String>, body: impl Into<Bytes>) -> Self {
        let unspecified = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
        MessageExt {
            store_size: 0,
            version: MessageVersion::V1,
            body_crc: 0,
            queue_id: 0,
            flag: 0,
            queue_offset: 0,
            commit_log_offset: 0,
            sys_flag: 0,
            born_timestamp: 0,
            born_host: unspecified,
            store_timestamp: 0,
            store_host: unspecified,
            reconsume_times: 0,
            prepared_transaction_offset: 0,
            body: body.into(),
            topic: topic.into(),
            properties: Properties::new(),
        }
    }

    /// Sets `body_crc` from the body.
    pub fn update_body_crc(&mut self) {
        self.body_crc = body_crc(&self.body);
    }

    /// The sysflag [`MessageExt::encode`] writes: host bits from the address kinds.
    pub fn effective_sys_flag(&self) -> i32 {
        sys_flag_for_hosts(self.sys_flag, self.born_host, self.store_host)
    }

    /// The version [`MessageExt::encode`] writes.
    pub fn effective_version(&self) -> MessageVersion {
        self.version.for_topic(self.topic.len())
    }

    /// Bytes [`MessageExt::encode`] writes.
    pub fn encoded_len(&self) -> usize {
        record_len(
            self.effective_sys_flag(),
            self.effective_version(),
            self.body.len(),
            self.topic.len(),
            self.properties.encoded_len(),
        )
    }

    /// Appends the record. Errors as [`encode_record`].
    pub fn encode(&self, out: &mut BytesMut) -> Result<()> {
        let parts = RecordParts {
            version: self.version,
            body_crc: self.body_crc,
            queue_id: self.queue_id,
            flag: self.flag,
            queue_offset: self.queue_offset,
            commit_log_offset: self.commit_log_offset,
            sys_flag: self.sys_flag,
            born_timestamp: self.born_timestamp,
            born_host: self.born_host,
            store_timestamp: self.store_timestamp,
            store_host: self.store_host,
            reconsume_times: self.reconsume_times,
            prepared_transaction_offset: self.prepared_transaction_offset,
            body: &self.body,
            topic: &self.topic,
            properties: &[],
        };
        let props = &self.properties;
        write_record(&parts, props.encoded_len(), out, |out| props.encode(out)).map(|_| ())
    }

    /// Decodes the record at the front of `buf`. The body shares `buf`'s allocation.
    pub fn decode(buf: &Bytes) -> Result<RecordRead> {
        Ok(match RecordView::parse(buf)? {
            ViewRead::Incomplete => RecordRead::Incomplete,
            ViewRead::Blank(len) => RecordRead::Blank(len),
            ViewRead::Message(view) => {
                let start = view.body_offset();
                // In range: parse checked that the body lies inside the record inside `buf`.
                let body = buf.slice(start..start + view.body.len());
                let len = view.raw.len();
                RecordRead::Message(MessageExt::from_view(&view, body), len)
            }
        })
    }

    /// Builds an owned message from a parsed view; `body` is the body to keep (normally a
    /// zero-copy slice of the buffer the view was parsed from).
    pub fn from_view(view: &RecordView<'_>, body: Bytes) -> MessageExt {
        MessageExt {
            store_size: view.total_size,
            version: view.version,
            body_crc: view.body_crc,
            queue_id: view.queue_id,
            flag: view.flag,
            queue_offset: view.queue_offset,
            commit_log_offset: view.commit_log_offset,
            sys_flag: view.sys_flag,
            born_timestamp: view.born_timestamp,
            born_host: view.born_host,
            store_timestamp: view.store_timestamp,
            store_host: view.store_host,
            reconsume_times: view.reconsume_times,
            prepared_transaction_offset: view.prepared_transaction_offset,
            body,
            topic: String::from_utf8_lossy(view.topic).into_owned(),
            properties: Properties::decode(view.properties),
        }
    }

    /// The broker's offset msgId of this record (STOREHOST + PHYSICALOFFSET).
    pub fn offset_msg_id(&self) -> String {
        offset_msg_id(self.store_host, self.commit_log_offset)
    }

    /// The TAGS property.
    pub fn tags(&self) -> Option<&str> {
        self.properties.get(keys::TAGS)
    }

    /// The business keys of the KEYS property (space-separated, empty entries skipped).
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        let keys = self.properties.get(keys::KEYS).unwrap_or("");
        keys.split(keys::KEY_SEPARATOR).filter(|k| !k.is_empty())
    }

    /// The client message id (UNIQ_KEY property).
    pub fn uniq_key(&self) -> Option<&str> {
        self.properties.get(keys::UNIQ_KEY)
    }
}

/// Decodes a buffer holding whole records back to back (a PULL/QUERY response body). A
/// truncated last record or a blank record is an error.
pub fn decode_records(buf: &Bytes) -> Result<Vec<MessageExt>> {
    let mut out = Vec::with_capacity(count_records(buf));
    let mut pos = 0;
    while pos < buf.len() {
        match MessageExt::decode(&buf.slice(pos..))? {
            RecordRead::Message(msg, len) => {
                out.push(msg);
                pos += len;
            }
            RecordRead::Blank(_) => {
                return Err(Error::malformed(
                    "message record",
                    format!("blank record at byte {pos} of a message list"),
                ))
            }
            RecordRead::Incomplete => {
                return Err(Error::malformed(
                    "message record",
                    format!("truncated record at byte {pos} of a message list"),
                ))
            }
        }
    }
    Ok(out)
}

/// How many records `buf` holds, from their TOTALSIZE fields alone (a capacity hint: stops
/// at anything that does not look like a whole record).
fn count_records(buf: &[u8]) -> usize {
    let (mut pos, mut n) = (0usize, 0usize);
    while let Some(size) = buf.get(pos..pos + 4) {
        let total = i32::from_be_bytes([size[0], size[1], size[2], size[3]]);
        match usize::try_from(total) {
            Ok(t) if t > 0 && pos + t <= buf.len() => {
                pos += t;
                n += 1;
            }
            _ => break,
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_counting_stops_at_garbage() {
        assert_eq!(count_records(&[]), 0);
        let mut buf = 8i32.to_be_bytes().to_vec();
        buf.extend_from_slice(&[0; 4]);
        buf.extend_from_slice(&6i32.to_be_bytes());
        buf.extend_from_slice(&[0; 2]);
        assert_eq!(count_records(&buf), 2);
        let mut too_long = buf.clone();
        too_long.extend_from_slice(&100i32.to_be_bytes());
        assert_eq!(count_records(&too_long), 2, "a record past the end");
        buf.extend_from_slice(&(-1i32).to_be_bytes());
        buf.extend_from_slice(&8i32.to_be_bytes());
        assert_eq!(count_records(&buf), 2, "stops at a negative size");
    }

    #[test]
    fn constants() {
        assert_eq!(MAGIC_V1, -626843481);
        assert_eq!(MAGIC_V2, -626843477);
        assert_eq!(BLANK_MAGIC, -875286124);
        assert_eq!(fixed_len(0, MessageVersion::V1), 91);
        assert_eq!(fixed_len(BORNHOST_V6, MessageVersion::V1), 103);
        assert_eq!(
            fixed_len(BORNHOST_V6 | STOREHOST_V6, MessageVersion::V2),
            116
        );
    }

    #[test]
    fn body_crc_is_masked() {
        // CRC-32 of "123456789" is 0xCBF43926; masked: 0x4BF43926
        assert_eq!(body_crc(b"123456789"), 0x4BF4_3926);
        assert_eq!(body_crc(b""), 0);
    }

    #[test]
    fn encode_rejects_bad_sizes() {
        let mut out = BytesMut::new();
        assert!(MessageExt::new("", Bytes::new()).encode(&mut out).is_err());
        let mut msg = MessageExt::new("t", Bytes::new());
        msg.properties.insert("k", "v".repeat(MAX_PROPERTIES_BYTES));
        assert!(msg.encode(&mut out).is_err());
        assert!(out.is_empty());
        let long_topic = MessageExt::new("t".repeat(40_000), Bytes::new());
        assert!(long_topic.encode(&mut out).is_err());
    }

    #[test]
    fn message_list() {
        let mut buf = BytesMut::new();
        for i in 0..3 {
            let mut msg = MessageExt::new("topic", Bytes::from(vec![i; 10]));
            msg.queue_offset = i64::from(i);
            msg.properties.insert(keys::KEYS, "a  b");
            msg.encode(&mut buf).unwrap();
        }
        let list = decode_records(&buf.clone().freeze()).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[2].queue_offset, 2);
        assert_eq!(list[1].keys().collect::<Vec<_>>(), ["a", "b"]);
        buf.truncate(buf.len() - 1);
        assert!(decode_records(&buf.freeze()).is_err());
    }
}
