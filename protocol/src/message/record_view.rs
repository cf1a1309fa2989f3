//! Allocation-free access to stored records: [`RecordView`] for the dispatch and pull paths,
//! [`patch_append_fields`] for the append path.
//!
//! Every length is checked against the buffer and against TOTALSIZE; inconsistent bytes are an
//! [`Error`], a short buffer is [`ViewRead::Incomplete`]. Nothing here panics on input.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::msg_id::offset_msg_id;
use super::properties::{find_property, keys};
use super::record::{
    body_crc, fixed_len, host_len, MessageVersion, BLANK_MAGIC, BLANK_RECORD_BYTES, BORN_HOST_POS,
    COMMIT_LOG_OFFSET_POS, QUEUE_OFFSET_POS, SYS_FLAG_POS,
};
use super::sysflag::{BORNHOST_V6, STOREHOST_V6};
use super::tags::tags_code_utf8;
use crate::error::{Error, Result};

const WHAT: &str = "message record";

/// A stored record parsed in place. Borrowing fields (`raw`, `body`, `topic`, `properties`)
/// point into the parsed buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordView<'a> {
    /// The whole record, `total_size` bytes.
    pub raw: &'a [u8],
    /// TOTALSIZE.
    pub total_size: i32,
    /// MAGICCODE.
    pub magic: i32,
    /// The version named by the magic.
    pub version: MessageVersion,
    /// BODYCRC as stored.
    pub body_crc: i32,
    /// QUEUEID.
    pub queue_id: i32,
    /// FLAG.
    pub flag: i32,
    /// QUEUEOFFSET.
    pub queue_offset: i64,
    /// PHYSICALOFFSET.
    pub commit_log_offset: i64,
    /// SYSFLAG.
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
    /// BODY bytes.
    pub body: &'a [u8],
    /// TOPIC bytes (normally ASCII; see [`RecordView::topic_str`]).
    pub topic: &'a [u8],
    /// PROPERTIES in wire form; read with [`RecordView::property`].
    pub properties: &'a [u8],
}

/// What [`RecordView::parse`] found at the front of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViewRead<'a> {
    /// A message record (its `raw.len()` bytes are consumed).
    Message(RecordView<'a>),
    /// The end-of-file marker; the value is TOTALSIZE (the bytes left in the file).
    Blank(usize),
    /// The buffer ends inside the record: read more bytes.
    Incomplete,
}

/// A bounds-checked big-endian reader.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.buf.len());
        match end {
            Some(end) => {
                let s = &self.buf[self.pos..end];
                self.pos = end;
                Ok(s)
            }
            None => Err(Error::malformed(
                WHAT,
                format!(
                    "{n} bytes at byte {} overrun the record of {} bytes",
                    self.pos,
                    self.buf.len()
                ),
            )),
        }
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut a = [0u8; N];
        a.copy_from_slice(self.take(N)?);
        Ok(a)
    }

    fn i16(&mut self) -> Result<i16> {
        self.array().map(i16::from_be_bytes)
    }

    fn i32(&mut self) -> Result<i32> {
        self.array().map(i32::from_be_bytes)
    }

    fn i64(&mut self) -> Result<i64> {
        self.array().map(i64::from_be_bytes)
    }

    fn host(&mut self, v6: bool) -> Result<SocketAddr> {
        let ip = if v6 {
            IpAddr::V6(Ipv6Addr::from(self.array::<16>()?))
        } else {
            IpAddr::V4(Ipv4Addr::from(self.array::<4>()?))
        };
        let port = self.i32()?;
        let port = u16::try_from(port)
            .map_err(|_| Error::malformed(WHAT, format!("host port {port} out of range")))?;
        Ok(SocketAddr::new(ip, port))
    }

    /// A length field that must be non-negative, followed by that many bytes.
    fn sized(&mut self, len: i64, field: &str) -> Result<&'a [u8]> {
        let n = usize::try_from(len)
            .map_err(|_| Error::malformed(WHAT, format!("negative {field} length {len}")))?;
        self.take(n)
    }
}

fn read_i32_at(buf: &[u8], pos: usize) -> Option<i32> {
    let bytes = buf.get(pos..pos + 4)?;
    Some(i32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// Outcome of [`check_prefix`].
enum Prefix {
    /// A message record of this many bytes, all present in the buffer.
    Record(usize, MessageVersion),
    /// Nothing more to parse: a blank record or an incomplete buffer.
    Done(ViewRead<'static>),
}

/// Checks TOTALSIZE and MAGIC at the front of `buf`.
fn check_prefix(buf: &[u8]) -> Result<Prefix> {
    let (Some(total), Some(magic)) = (read_i32_at(buf, 0), read_i32_at(buf, 4)) else {
        return Ok(Prefix::Done(ViewRead::Incomplete));
    };
    if magic == BLANK_MAGIC {
        return match usize::try_from(total) {
            Ok(len) if len >= BLANK_RECORD_BYTES => Ok(Prefix::Done(ViewRead::Blank(len))),
            _ => Err(Error::malformed(
                WHAT,
                format!("blank record of {total} bytes"),
            )),
        };
    }
    let version = MessageVersion::from_magic(magic)
        .ok_or_else(|| Error::malformed(WHAT, format!("bad magic {magic:#010x}")))?;
    let min = fixed_len(0, version) + 1;
    let total = match usize::try_from(total) {
        Ok(t) if t >= min => t,
        _ => {
            return Err(Error::malformed(
                WHAT,
                format!("total size {total} is below the minimum of {min}"),
            ))
        }
    };
    if buf.len() < total {
        return Ok(Prefix::Done(ViewRead::Incomplete));
    }
    Ok(Prefix::Record(total, version))
}

impl<'a> RecordView<'a> {
    /// Parses the record at the front of `buf` without allocating.
    pub fn parse(buf: &'a [u8]) -> Result<ViewRead<'a>> {
        let (total, version) = match check_prefix(buf)? {
            Prefix::Record(total, version) => (total, version),
            Prefix::Done(read) => return Ok(read),
        };
        let mut r = Reader {
            buf: &buf[..total],
            pos: 8,
        };
        let body_crc = r.i32()?;
        let queue_id = r.i32()?;
        let flag = r.i32()?;
        let queue_offset = r.i64()?;
        let commit_log_offset = r.i64()?;
        let sys_flag = r.i32()?;
        let born_timestamp = r.i64()?;
        let born_host = r.host(sys_flag & BORNHOST_V6 != 0)?;
        let store_timestamp = r.i64()?;
        let store_host = r.host(sys_flag & STOREHOST_V6 != 0)?;
        let reconsume_times = r.i32()?;
        let prepared_transaction_offset = r.i64()?;
        let body_len = r.i32()?;
        let body = r.sized(i64::from(body_len), "body")?;
        let topic_len = match version {
            // Read unsigned: tolerant of 128..=255 (encoders switch to V2 above 127).
            MessageVersion::V1 => i64::from(r.array::<1>()?[0]),
            MessageVersion::V2 => i64::from(r.i16()?),
        };
        if topic_len == 0 {
            return Err(Error::malformed(WHAT, "empty topic"));
        }
        let topic = r.sized(topic_len, "topic")?;
        let props_len = r.i16()?;
        let properties = r.sized(i64::from(props_len), "properties")?;
        if r.pos != total {
            return Err(Error::malformed(
                WHAT,
                format!("fields end at byte {} but total size is {total}", r.pos),
            ));
        }
        Ok(ViewRead::Message(RecordView {
            raw: r.buf,
            // Fits: check_prefix read it from an i32.
            total_size: total as i32,
            magic: version.magic(),
            version,
            body_crc,
            queue_id,
            flag,
            queue_offset,
            commit_log_offset,
            sys_flag,
            born_timestamp,
            born_host,
            store_timestamp,
            store_host,
            reconsume_times,
            prepared_transaction_offset,
            body,
            topic,
            properties,
        }))
    }

    /// Whether BODYCRC matches the body.
    pub fn verify_crc(&self) -> bool {
        body_crc(self.body) == self.body_crc
    }

    /// The topic as UTF-8.
    pub fn topic_str(&self) -> Result<&'a str> {
        std::str::from_utf8(self.topic).map_err(|_| Error::malformed(WHAT, "topic is not UTF-8"))
    }

    /// Byte offset of the body within [`RecordView::raw`].
    pub fn body_offset(&self) -> usize {
        fixed_len(self.sys_flag, self.version) - self.version.topic_len_bytes() - 2
    }

    /// A property value, read from the raw properties without allocating (last wins).
    pub fn property(&self, key: &str) -> Option<&'a [u8]> {
        find_property(self.properties, key)
    }

    /// The consume-queue tags code: Java hashCode of TAGS, 0 without a tag.
    pub fn tags_code(&self) -> i64 {
        tags_code_utf8(self.property(keys::TAGS))
    }

    /// The broker's offset msgId of this record.
    pub fn offset_msg_id(&self) -> String {
        offset_msg_id(self.store_host, self.commit_log_offset)
    }
}

/// Writes the fields assigned under the append lock (QUEUEOFFSET, PHYSICALOFFSET,
/// STORETIMESTAMP) into an encoded record at the front of `record`. The STORETIMESTAMP offset
/// depends on the BORNHOST width, taken from the record's SYSFLAG. Fails if `record` does not
/// start with a whole record header (valid magic, TOTALSIZE within `record`).
pub fn patch_append_fields(
    record: &mut [u8],
    queue_offset: i64,
    commit_log_offset: i64,
    store_timestamp: i64,
) -> Result<()> {
    let (Some(total), Some(magic), Some(sys_flag)) = (
        read_i32_at(record, 0),
        read_i32_at(record, 4),
        read_i32_at(record, SYS_FLAG_POS),
    ) else {
        return Err(Error::malformed(WHAT, "too short to patch"));
    };
    let version = MessageVersion::from_magic(magic)
        .ok_or_else(|| Error::malformed(WHAT, format!("bad magic {magic:#010x}")))?;
    let min = fixed_len(sys_flag, version) + 1;
    match usize::try_from(total) {
        Ok(t) if t >= min && t <= record.len() => {}
        _ => {
            return Err(Error::malformed(
                WHAT,
                format!(
                    "total size {total} is not within {min}..={} bytes",
                    record.len()
                ),
            ))
        }
    }
    let store_ts_pos = BORN_HOST_POS + host_len(sys_flag & BORNHOST_V6 != 0);
    record[QUEUE_OFFSET_POS..QUEUE_OFFSET_POS + 8].copy_from_slice(&queue_offset.to_be_bytes());
    record[COMMIT_LOG_OFFSET_POS..COMMIT_LOG_OFFSET_POS + 8]
        .copy_from_slice(&commit_log_offset.to_be_bytes());
    record[store_ts_pos..store_ts_pos + 8].copy_from_slice(&store_timestamp.to_be_bytes());
    Ok(())
}
