//! The compressed REGISTER_BROKER body (header `compressed=true`).
//!
//! A zlib stream (Java `DeflaterOutputStream`, best compression) of big-endian length-prefixed
//! chunks:
//! ```text
//! i32 len + DataVersion JSON
//! i32 topicCount, then per topic: i32 len + "name readQ writeQ perm FILTER_TYPE[ attributesJSON]"
//! i32 len + filterServerList JSON array
//! [version ≥ V5_0_0] i32 count, then per entry: i32 len + TopicQueueMappingInfo JSON
//! ```
//! Topic lines carry no `topicSysFlag`/`order` (Java loses them too). [4.x] Java accepts only
//! exactly five fields per line, so attributes are written only for V5_0_0 and later.
//!
//! Decoding never trusts a length: chunks are read incrementally, a negative length or count is
//! an error, and the inflated size is capped at [`MAX_INFLATED_BYTES`].

use std::collections::BTreeMap;
use std::io::{Read, Write};

use flate2::read::ZlibDecoder;
use flate2::write::ZlibEncoder;
use flate2::Compression;

use super::dialect::{from_json_slice, to_json_vec, IntKeys};
use super::mq_version::V5_0_0;
use super::register_broker::{
    DataVersion, RegisterBrokerBody, TopicConfig, TopicConfigSerializeWrapper, TopicFilterType,
};
use crate::error::{Error, Result};

/// Upper bound on the inflated size of one compressed body (a guard against zlib bombs; a
/// broker with 100k topics needs a few MiB).
pub const MAX_INFLATED_BYTES: u64 = 256 * 1024 * 1024;

const WHAT: &str = "compressed RegisterBrokerBody";

fn malformed(detail: impl Into<String>) -> Error {
    Error::malformed(WHAT, detail)
}

/// Encodes `body` in the compressed layout.
pub(super) fn encode(body: &RegisterBrokerBody, broker_version: i32) -> Result<Vec<u8>> {
    let wrapper = &body.topic_config_serialize_wrapper;
    let with_5x = broker_version >= V5_0_0;
    let mut raw = Vec::with_capacity(64 + 48 * wrapper.topic_config_table.len());
    put_chunk(
        &mut raw,
        &to_json_vec(&wrapper.data_version, IntKeys::Unquoted),
    )?;
    put_len(&mut raw, wrapper.topic_config_table.len())?;
    for config in wrapper.topic_config_table.values() {
        put_chunk(&mut raw, topic_line(config, with_5x).as_bytes())?;
    }
    put_chunk(
        &mut raw,
        &to_json_vec(&body.filter_server_list, IntKeys::Unquoted),
    )?;
    if with_5x {
        let infos = wrapper.topic_queue_mapping_info_map.as_ref();
        put_len(&mut raw, infos.map_or(0, BTreeMap::len))?;
        for info in infos.into_iter().flat_map(BTreeMap::values) {
            put_chunk(&mut raw, &to_json_vec(info, IntKeys::Unquoted))?;
        }
    }
    let mut encoder = ZlibEncoder::new(Vec::with_capacity(raw.len() / 4 + 64), Compression::best());
    encoder
        .write_all(&raw)
        .and_then(|()| encoder.finish())
        .map_err(|e| Error::Encode(format!("{WHAT}: {e}")))
}

/// Decodes a compressed body sent by a broker announcing `broker_version`.
pub(super) fn decode(body: &[u8], broker_version: i32) -> Result<RegisterBrokerBody> {
    let mut reader = ChunkReader {
        inner: ZlibDecoder::new(body).take(MAX_INFLATED_BYTES),
    };
    let data_version: DataVersion = from_json_slice(&reader.chunk("data version")?)?;
    let mut table = BTreeMap::new();
    for _ in 0..reader.count("topic count")? {
        let line = reader.chunk("topic config")?;
        let line = std::str::from_utf8(&line).map_err(|_| malformed("topic line is not UTF-8"))?;
        let config = parse_topic_line(line)?;
        table.insert(config.topic_name.clone(), config);
    }
    // Java logs and ignores an unparsable filter server list.
    let filter_server_list =
        from_json_slice(&reader.chunk("filter server list")?).unwrap_or_default();
    let mapping = if broker_version >= V5_0_0 {
        let mut infos = BTreeMap::new();
        for _ in 0..reader.count("mapping count")? {
            let info: serde_json::Value = from_json_slice(&reader.chunk("mapping info")?)?;
            let topic = info
                .get("topic")
                .and_then(|t| t.as_str())
                .unwrap_or_default();
            infos.insert(topic.to_owned(), info);
        }
        Some(infos)
    } else {
        None
    };
    Ok(RegisterBrokerBody {
        filter_server_list,
        topic_config_serialize_wrapper: TopicConfigSerializeWrapper {
            data_version,
            topic_config_table: table,
            topic_queue_mapping_info_map: mapping,
            ..Default::default()
        },
    })
}

/// Java `TopicConfig.encode()`: space-separated fields, attributes JSON last ([5.x]).
pub(super) fn topic_line(config: &TopicConfig, with_attributes: bool) -> String {
    let mut line = format!(
        "{} {} {} {} {}",
        config.topic_name,
        config.read_queue_nums,
        config.write_queue_nums,
        config.perm,
        config.topic_filter_type.name()
    );
    if with_attributes {
        line.push(' ');
        line.push_str(&String::from_utf8_lossy(&to_json_vec(
            &config.attributes,
            IntKeys::Unquoted,
        )));
    }
    line
}

/// Java `TopicConfig.decode()`: at least five fields; the rest of the line, if any, is the
/// attributes JSON (ignored when unparsable, as Java does).
pub(super) fn parse_topic_line(line: &str) -> Result<TopicConfig> {
    let mut fields = line.splitn(6, ' ');
    let mut next = |name: &str| {
        fields
            .next()
            .filter(|f| !f.is_empty())
            .ok_or_else(|| malformed(format!("topic line {line:?} lacks {name}")))
    };
    let topic_name = next("the topic name")?.to_owned();
    let int = |s: &str| {
        s.parse::<i32>()
            .map_err(|_| malformed(format!("topic line {line:?} has a bad number {s:?}")))
    };
    let read_queue_nums = int(next("readQueueNums")?)?;
    let write_queue_nums = int(next("writeQueueNums")?)?;
    let perm = int(next("perm")?)?;
    let filter = next("topicFilterType")?;
    let topic_filter_type = TopicFilterType::from_name(filter)
        .filter(|t| t.name() == filter)
        .ok_or_else(|| malformed(format!("unknown topic filter type {filter:?}")))?;
    let attributes = fields
        .next()
        .filter(|rest| !rest.trim().is_empty())
        .and_then(|rest| from_json_slice(rest.as_bytes()).ok())
        .unwrap_or_default();
    Ok(TopicConfig {
        attributes,
        perm,
        read_queue_nums,
        topic_filter_type,
        topic_name,
        write_queue_nums,
        ..Default::default()
    })
}

fn put_len(out: &mut Vec<u8>, len: usize) -> Result<()> {
    let len = i32::try_from(len).map_err(|_| Error::Encode(format!("{WHAT}: chunk too large")))?;
    out.extend_from_slice(&len.to_be_bytes());
    Ok(())
}

fn put_chunk(out: &mut Vec<u8>, bytes: &[u8]) -> Result<()> {
    put_len(out, bytes.len())?;
    out.extend_from_slice(bytes);
    Ok(())
}

/// Reads length-prefixed chunks from the inflated stream.
struct ChunkReader<R> {
    inner: R,
}

impl<R: Read> ChunkReader<R> {
    /// Reads exactly `len` bytes without pre-allocating an untrusted length.
    fn exact(&mut self, len: usize, what: &str) -> Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(len.min(64 * 1024));
        (&mut self.inner)
            .take(len as u64)
            .read_to_end(&mut buf)
            .map_err(|e| malformed(format!("{what}: {e}")))?;
        if buf.len() < len {
            return Err(malformed(format!(
                "{what}: truncated ({} of {len} bytes)",
                buf.len()
            )));
        }
        Ok(buf)
    }

    /// A non-negative big-endian i32.
    fn count(&mut self, what: &str) -> Result<usize> {
        let bytes = self.exact(4, what)?;
        let word = <[u8; 4]>::try_from(bytes.as_slice())
            .map_err(|_| malformed(format!("{what}: short read")))?;
        let n = i32::from_be_bytes(word);
        usize::try_from(n).map_err(|_| malformed(format!("{what}: negative value {n}")))
    }

    fn chunk(&mut self, what: &str) -> Result<Vec<u8>> {
        let len = self.count(what)?;
        self.exact(len, what)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topic_lines_match_java() {
        let mut t = TopicConfig::with_queues("T", 4, 8, 6);
        assert_eq!(topic_line(&t, false), "T 4 8 6 SINGLE_TAG");
        assert_eq!(topic_line(&t, true), "T 4 8 6 SINGLE_TAG {}");
        t.attributes.insert("+message.type".into(), "FIFO".into());
        t.topic_filter_type = TopicFilterType::MultiTag;
        assert_eq!(
            topic_line(&t, true),
            r#"T 4 8 6 MULTI_TAG {"+message.type":"FIFO"}"#
        );
        assert_eq!(parse_topic_line(&topic_line(&t, true)).expect("parse"), t);
        t.attributes.clear();
        assert_eq!(parse_topic_line("T 4 8 6 MULTI_TAG").expect("4.x line"), t);
        assert_eq!(
            parse_topic_line("T 4 8 6 MULTI_TAG ").expect("trailing space"),
            t
        );
        assert_eq!(
            parse_topic_line("T 4 8 6 MULTI_TAG {bad").expect("bad attrs"),
            t
        );
    }

    #[test]
    fn bad_topic_lines_are_errors() {
        for bad in [
            "",
            "T",
            "T 4 8 6",
            "T x 8 6 SINGLE_TAG",
            "T 4 8 6 single_tag",
            "T 4 8 6 NONE",
            " 4 8 6 SINGLE_TAG",
            "T 4  8 6 SINGLE_TAG",
            "T 99999999999 8 6 SINGLE_TAG",
        ] {
            assert!(parse_topic_line(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn chunk_reader_rejects_negative_and_truncated_lengths() {
        let mut r = ChunkReader {
            inner: &[0xFF, 0xFF, 0xFF, 0xFF][..],
        };
        assert!(r.chunk("x").is_err());
        let mut r = ChunkReader {
            inner: &[0, 0, 0, 5, b'a'][..],
        };
        assert!(r.chunk("x").is_err());
        let mut r = ChunkReader { inner: &[0, 0][..] };
        assert!(r.count("x").is_err());
        let mut r = ChunkReader {
            inner: &[0, 0, 0, 2, b'a', b'b'][..],
        };
        assert_eq!(r.chunk("x").expect("complete chunk"), b"ab");
    }
}
