//! Message RPCs of [`AdminClient`]: send one message (SEND_MESSAGE_V2), pull from a queue at an
//! explicit offset (PULL_MESSAGE), view by commit-log offset (VIEW_MESSAGE_BY_ID) and query the
//! index by key or unique key (QUERY_MESSAGE). Bodies are decoded with
//! [`decode_records`]; nothing here commits consumer offsets.

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr, UdpSocket};

use bytes::Bytes;
use protocol::header::*;
use protocol::message::{decode_records, keys, sysflag, Message, MessageExt, UniqIdGenerator};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::admin::{decode_header, expect_success, response_error, AdminClient};
use crate::admin_broker::DEFAULT_TEMPLATE_TOPIC;
use crate::error::{Error, Peer, Result};

/// Consumer group the tools pull with (Java `MixAll.TOOLS_CONSUMER_GROUP`).
pub const TOOLS_CONSUMER_GROUP: &str = "TOOLS_CONSUMER";
/// Producer group the tools send with.
pub const TOOLS_PRODUCER_GROUP: &str = "TOOLS_PRODUCER";
/// Queues per broker of a topic auto-created by a send (Java's `defaultTopicQueueNums`).
pub const AUTO_CREATE_QUEUE_NUMS: i32 = 4;
/// Largest body the tools inflate for display.
const MAX_INFLATED_BYTES: u64 = 64 * 1024 * 1024;

/// What a broker answered to one send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOutcome {
    /// `SEND_OK`, `FLUSH_DISK_TIMEOUT`, `FLUSH_SLAVE_TIMEOUT` or `SLAVE_NOT_AVAILABLE`.
    pub status: &'static str,
    /// The client id (UNIQ_KEY) of the message.
    pub msg_id: String,
    /// The broker's offset msgId.
    pub offset_msg_id: String,
    /// The queue the message went to.
    pub queue_id: i32,
    /// Its consume-queue offset.
    pub queue_offset: i64,
}

/// Outcome of one pull, in the Java client's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullStatus {
    /// Messages were returned.
    Found,
    /// The queue has no message at the offset (caught up).
    NoNewMsg,
    /// Messages were scanned but none matched the filter.
    NoMatchedMsg,
    /// The offset is outside the queue; use `next_begin_offset`.
    OffsetIllegal,
}

impl PullStatus {
    /// The Java enum name.
    pub fn name(self) -> &'static str {
        match self {
            PullStatus::Found => "FOUND",
            PullStatus::NoNewMsg => "NO_NEW_MSG",
            PullStatus::NoMatchedMsg => "NO_MATCHED_MSG",
            PullStatus::OffsetIllegal => "OFFSET_ILLEGAL",
        }
    }
}

/// What one pull returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullOutcome {
    /// The status.
    pub status: PullStatus,
    /// Where to pull next.
    pub next_begin_offset: i64,
    /// The queue's min offset.
    pub min_offset: i64,
    /// The queue's max offset.
    pub max_offset: i64,
    /// The messages (empty unless `Found`).
    pub messages: Vec<MessageExt>,
}

impl AdminClient {
    /// Sends `message` to queue `queue_id` of the broker at `addr` (SEND_MESSAGE_V2, 310). A
    /// UNIQ_KEY is added when missing; `WAIT` defaults to true.
    pub fn send_message(
        &self,
        addr: &str,
        broker_name: &str,
        queue_id: i32,
        message: &Message,
        now_ms: i64,
    ) -> Result<SendOutcome> {
        let mut message = message.clone();
        let generator = UniqIdGenerator::for_this_process(local_ip_towards(addr));
        let msg_id = message.ensure_uniq_key(&generator, now_ms).to_string();
        let header = SendMessageRequestHeader {
            producer_group: TOOLS_PRODUCER_GROUP.to_string(),
            topic: message.topic.clone(),
            default_topic: DEFAULT_TEMPLATE_TOPIC.to_string(),
            default_topic_queue_nums: AUTO_CREATE_QUEUE_NUMS,
            queue_id,
            sys_flag: 0,
            born_timestamp: now_ms,
            flag: message.flag,
            properties: Some(message.properties.to_wire_string()),
            reconsume_times: Some(0),
            unit_mode: Some(false),
            max_reconsume_times: None,
            batch: Some(false),
            broker_name: Some(broker_name.to_string()),
        };
        let mut req =
            RemotingCommand::request(RequestCode::SEND_MESSAGE_V2).with_body(message.body.clone());
        header.write_v2_to(&mut req.ext_fields);
        let resp = self.invoke(Peer::Broker, addr, req)?;
        let status = match ResponseCode::from_code(resp.code) {
            Some(ResponseCode::SUCCESS) => "SEND_OK",
            Some(ResponseCode::FLUSH_DISK_TIMEOUT) => "FLUSH_DISK_TIMEOUT",
            Some(ResponseCode::FLUSH_SLAVE_TIMEOUT) => "FLUSH_SLAVE_TIMEOUT",
            Some(ResponseCode::SLAVE_NOT_AVAILABLE) => "SLAVE_NOT_AVAILABLE",
            _ => return Err(response_error(Peer::Broker, addr, &resp)),
        };
        let h: SendMessageResponseHeader = decode_header(addr, &resp)?;
        Ok(SendOutcome {
            status,
            msg_id,
            offset_msg_id: h.msg_id,
            queue_id: h.queue_id,
            queue_offset: h.queue_offset,
        })
    }

    /// Pulls up to `max_nums` messages from one queue starting at `offset`, filtering by the
    /// tag expression `subscription` (`*` = all). Never suspends and never commits an offset.
    #[allow(clippy::too_many_arguments)]
    pub fn pull(
        &self,
        addr: &str,
        group: &str,
        topic: &str,
        queue_id: i32,
        offset: i64,
        max_nums: i32,
        subscription: &str,
    ) -> Result<PullOutcome> {
        let header = PullMessageRequestHeader {
            consumer_group: group.to_string(),
            topic: topic.to_string(),
            queue_id,
            queue_offset: offset,
            max_msg_nums: max_nums,
            sys_flag: PullSysFlag::SUBSCRIPTION,
            commit_offset: 0,
            suspend_timeout_millis: 0,
            subscription: Some(subscription.to_string()),
            sub_version: 0,
            expression_type: Some("TAG".to_string()),
            ..Default::default()
        };
        let req = RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, &header);
        let resp = self.invoke(Peer::Broker, addr, req)?;
        let status = match ResponseCode::from_code(resp.code) {
            Some(ResponseCode::SUCCESS) => PullStatus::Found,
            Some(ResponseCode::PULL_NOT_FOUND) => PullStatus::NoNewMsg,
            Some(ResponseCode::PULL_RETRY_IMMEDIATELY) => PullStatus::NoMatchedMsg,
            Some(ResponseCode::PULL_OFFSET_MOVED) => PullStatus::OffsetIllegal,
            _ => return Err(response_error(Peer::Broker, addr, &resp)),
        };
        let h: PullMessageResponseHeader = decode_header(addr, &resp)?;
        let messages = if status == PullStatus::Found {
            decode_messages(addr, &resp.body)?
        } else {
            Vec::new()
        };
        Ok(PullOutcome {
            status,
            next_begin_offset: h.next_begin_offset,
            min_offset: h.min_offset,
            max_offset: h.max_offset,
            messages,
        })
    }

    /// The message stored at commit-log offset `phy_offset` on the broker at `addr`
    /// (VIEW_MESSAGE_BY_ID, 33).
    pub fn view_message(&self, addr: &str, phy_offset: i64) -> Result<MessageExt> {
        let header = ViewMessageRequestHeader {
            offset: phy_offset,
            topic: None,
        };
        let req = RemotingCommand::request_with_header(RequestCode::VIEW_MESSAGE_BY_ID, &header);
        let resp = self.invoke_ok(Peer::Broker, addr, req)?;
        decode_messages(addr, &resp.body)?
            .into_iter()
            .next()
            .ok_or_else(|| {
                Error::NotFound(format!(
                    "no message at commit-log offset {phy_offset} on {addr}"
                ))
            })
    }

    /// Index lookup by business key or, with `unique`, by UNIQ_KEY (QUERY_MESSAGE, 12). An
    /// empty list when nothing matches.
    pub fn query_message(
        &self,
        addr: &str,
        topic: &str,
        key: &str,
        max_num: i32,
        unique: bool,
    ) -> Result<Vec<MessageExt>> {
        let header = QueryMessageRequestHeader {
            topic: topic.to_string(),
            key: key.to_string(),
            max_num,
            begin_timestamp: 0,
            end_timestamp: i64::MAX,
            unique_key_query: unique.then_some(true),
        };
        let req = RemotingCommand::request_with_header(RequestCode::QUERY_MESSAGE, &header);
        let resp = self.invoke(Peer::Broker, addr, req)?;
        if resp.code == ResponseCode::QUERY_NOT_FOUND.code() {
            return Ok(Vec::new());
        }
        let resp = expect_success(Peer::Broker, addr, resp)?;
        let found = decode_messages(addr, &resp.body)?;
        // The index is a hash index: keep only real matches, as the Java client does.
        Ok(found
            .into_iter()
            .filter(|m| {
                m.topic == topic
                    && if unique {
                        m.uniq_key() == Some(key)
                    } else {
                        m.keys().any(|k| k == key)
                    }
            })
            .collect())
    }
}

fn decode_messages(addr: &str, body: &Bytes) -> Result<Vec<MessageExt>> {
    decode_records(body).map_err(|e| Error::Decode {
        addr: addr.to_string(),
        detail: e.to_string(),
    })
}

/// The body for display: zlib-compressed bodies are inflated (LZ4/ZSTD are left as stored;
/// `None` is returned for them and for bodies that fail to inflate).
pub fn display_body(msg: &MessageExt) -> Option<Vec<u8>> {
    if !sysflag::is_compressed(msg.sys_flag) {
        return Some(msg.body.to_vec());
    }
    match sysflag::compression_type(msg.sys_flag) {
        Some(sysflag::CompressionType::Zlib) | None => {
            let mut out = Vec::new();
            let mut decoder =
                flate2::read::ZlibDecoder::new(&msg.body[..]).take(MAX_INFLATED_BYTES);
            decoder.read_to_end(&mut out).ok().map(|_| out)
        }
        Some(_) => None,
    }
}

/// The message id the Java tools show: UNIQ_KEY when present, else the offset msgId.
pub fn display_msg_id(msg: &MessageExt) -> String {
    msg.properties
        .get(keys::UNIQ_KEY)
        .map(str::to_string)
        .unwrap_or_else(|| msg.offset_msg_id())
}

/// The local address the OS would use to reach `addr` (no packet is sent); loopback if the
/// address does not resolve.
fn local_ip_towards(addr: &str) -> IpAddr {
    let fallback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let Ok(socket) = UdpSocket::bind("0.0.0.0:0") else {
        return fallback;
    };
    if socket.connect(addr).is_err() {
        return fallback;
    }
    socket.local_addr().map(|a| a.ip()).unwrap_or(fallback)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn zlib_bodies_are_inflated_for_display() {
        let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(b"hello world").unwrap();
        let mut msg = MessageExt::new("T", enc.finish().unwrap());
        msg.sys_flag = sysflag::COMPRESSED;
        assert_eq!(display_body(&msg).unwrap(), b"hello world");
        msg.sys_flag = sysflag::COMPRESSED | sysflag::COMPRESSION_ZLIB;
        assert_eq!(display_body(&msg).unwrap(), b"hello world");
        msg.sys_flag = sysflag::COMPRESSED | sysflag::COMPRESSION_LZ4;
        assert_eq!(display_body(&msg), None);
        let plain = MessageExt::new("T", "x");
        assert_eq!(display_body(&plain).unwrap(), b"x");
    }

    #[test]
    fn msg_id_prefers_uniq_key() {
        let mut msg = MessageExt::new("T", "x");
        assert_eq!(display_msg_id(&msg).len(), 32);
        msg.properties.insert(keys::UNIQ_KEY, "ABC");
        assert_eq!(display_msg_id(&msg), "ABC");
    }
}
