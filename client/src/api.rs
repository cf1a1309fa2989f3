//! Typed RPCs over the instance's [`RemotingHandle`] (Java `MQClientAPIImpl`): each function
//! builds one request from typed headers/bodies, sends it, and turns the answer into a typed
//! result or an [`Error`] carrying the response code. No retries, no routing: callers decide
//! which address to use.
//!
//! Blocking calls (`invoke_sync`) must not run on the event-loop thread; the `*_async`
//! variants complete on the loop thread and their callbacks must not block.

use std::collections::BTreeSet;

use bytes::Bytes;
use protocol::body::{
    from_json_slice, GetConsumerListByGroupResponseBody, HeartbeatData, JsonBody,
    LockBatchRequestBody, LockBatchResponseBody, MessageQueue, TopicRouteData,
    UnlockBatchRequestBody,
};
use protocol::header::*;
use protocol::remoting::{RemotingError, RemotingHandle};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

use crate::error::{Error, Result};

/// How a stored send ended (a completed send; failures are errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendStatus {
    /// Stored (and flushed/replicated if the broker waits for that).
    SendOk,
    /// Stored, but not flushed to disk within the broker's timeout.
    FlushDiskTimeout,
    /// Stored, but the slave did not acknowledge in time.
    FlushSlaveTimeout,
    /// Stored, but no slave is available to replicate to.
    SlaveNotAvailable,
}

impl SendStatus {
    /// The status of a send response code, `None` for codes that are failures.
    pub fn from_response_code(code: i32) -> Option<SendStatus> {
        match ResponseCode::from_code(code)? {
            ResponseCode::SUCCESS => Some(SendStatus::SendOk),
            ResponseCode::FLUSH_DISK_TIMEOUT => Some(SendStatus::FlushDiskTimeout),
            ResponseCode::FLUSH_SLAVE_TIMEOUT => Some(SendStatus::FlushSlaveTimeout),
            ResponseCode::SLAVE_NOT_AVAILABLE => Some(SendStatus::SlaveNotAvailable),
            _ => None,
        }
    }
}

/// A send request ready for the wire.
#[derive(Debug, Clone)]
pub struct SendRequest {
    /// The header (written with the short V2 names).
    pub header: SendMessageRequestHeader,
    /// The message body, or the batch encoding.
    pub body: Bytes,
    /// True for SEND_BATCH_MESSAGE (320).
    pub batch: bool,
}

impl SendRequest {
    fn into_command(self) -> RemotingCommand {
        let code = if self.batch {
            RequestCode::SEND_BATCH_MESSAGE
        } else {
            RequestCode::SEND_MESSAGE_V2
        };
        let mut cmd = RemotingCommand::request(code).with_body(self.body);
        self.header.write_v2_to(&mut cmd.ext_fields);
        cmd
    }
}

/// The outcome of a pull (Java `PullStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PullStatus {
    /// Messages were found (code 0).
    Found,
    /// No new message: the consumer caught up (19).
    NoNewMsg,
    /// Messages existed but none matched the filter (20).
    NoMatchedMsg,
    /// The requested offset is illegal; continue at `next_begin_offset` (21).
    OffsetIllegal,
}

/// A decoded pull response; the body holds raw stored records (see
/// `protocol::message::decode_records`).
#[derive(Debug, Clone)]
pub struct PullResponse {
    /// The outcome.
    pub status: PullStatus,
    /// Where to pull next.
    pub next_begin_offset: i64,
    /// The queue's minimum offset.
    pub min_offset: i64,
    /// The queue's maximum offset.
    pub max_offset: i64,
    /// Which broker of the group to pull from next (0 = master).
    pub suggest_which_broker_id: i64,
    /// Stored records (only for [`PullStatus::Found`]).
    pub body: Bytes,
}

fn decode_pull_response(addr: &str, response: RemotingCommand) -> Result<PullResponse> {
    let status = match ResponseCode::from_code(response.code) {
        Some(ResponseCode::SUCCESS) => PullStatus::Found,
        Some(ResponseCode::PULL_NOT_FOUND) => PullStatus::NoNewMsg,
        Some(ResponseCode::PULL_RETRY_IMMEDIATELY) => PullStatus::NoMatchedMsg,
        Some(ResponseCode::PULL_OFFSET_MOVED) => PullStatus::OffsetIllegal,
        _ => return Err(Error::from_broker_response(addr, &response)),
    };
    let header: PullMessageResponseHeader = response.decode_header()?;
    Ok(PullResponse {
        status,
        next_begin_offset: header.next_begin_offset,
        min_offset: header.min_offset,
        max_offset: header.max_offset,
        suggest_which_broker_id: header.suggest_which_broker_id,
        body: if status == PullStatus::Found {
            response.body
        } else {
            Bytes::new()
        },
    })
}

fn decode_send_response(
    addr: &str,
    response: RemotingCommand,
) -> Result<(SendStatus, SendMessageResponseHeader)> {
    let status = SendStatus::from_response_code(response.code)
        .ok_or_else(|| Error::from_broker_response(addr, &response))?;
    let header: SendMessageResponseHeader = response.decode_header()?;
    Ok((status, header))
}

/// Typed client RPCs. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Api {
    handle: RemotingHandle,
}

impl Api {
    /// Wraps a remoting handle.
    pub fn new(handle: RemotingHandle) -> Self {
        Api { handle }
    }

    /// The underlying handle.
    pub fn handle(&self) -> &RemotingHandle {
        &self.handle
    }

    fn call(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout_ms: u64,
    ) -> Result<RemotingCommand> {
        Ok(self.handle.invoke_sync(addr, request, timeout_ms)?)
    }

    /// Sends `request` and requires SUCCESS.
    fn call_ok(
        &self,
        addr: &str,
        request: RemotingCommand,
        timeout_ms: u64,
    ) -> Result<RemotingCommand> {
        let response = self.call(addr, request, timeout_ms)?;
        if response.code == ResponseCode::SUCCESS.code() {
            Ok(response)
        } else {
            Err(Error::from_broker_response(addr, &response))
        }
    }

    /// GET_ROUTEINFO_BY_TOPIC (105) to a NameServer. `Ok(None)` when the topic does not exist.
    pub fn get_topic_route(
        &self,
        namesrv_addr: &str,
        topic: &str,
        timeout_ms: u64,
    ) -> Result<Option<TopicRouteData>> {
        let header = GetRouteInfoRequestHeader {
            topic: topic.to_string(),
            accept_standard_json_only: None,
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::GET_ROUTEINFO_BY_TOPIC, &header);
        let response = self.call(namesrv_addr, request, timeout_ms)?;
        match ResponseCode::from_code(response.code) {
            Some(ResponseCode::SUCCESS) => Ok(Some(TopicRouteData::decode_body(&response.body)?)),
            Some(ResponseCode::TOPIC_NOT_EXIST) => Ok(None),
            _ => Err(Error::from_namesrv_response(namesrv_addr, &response)),
        }
    }

    /// A synchronous send (310/320).
    pub fn send_message(
        &self,
        addr: &str,
        request: SendRequest,
        timeout_ms: u64,
    ) -> Result<(SendStatus, SendMessageResponseHeader)> {
        let response = self.call(addr, request.into_command(), timeout_ms)?;
        decode_send_response(addr, response)
    }

    /// An asynchronous send; `callback` runs on the event-loop thread and must not block.
    pub fn send_message_async(
        &self,
        addr: &str,
        request: SendRequest,
        timeout_ms: u64,
        callback: impl FnOnce(Result<(SendStatus, SendMessageResponseHeader)>) + Send + 'static,
    ) {
        let owned_addr = addr.to_string();
        self.handle
            .invoke_async(addr, request.into_command(), timeout_ms, move |result| {
                callback(
                    result
                        .map_err(Error::from)
                        .and_then(|r| decode_send_response(&owned_addr, r)),
                )
            });
    }

    /// A one-way send: no answer, connect failures only logged.
    pub fn send_message_oneway(&self, addr: &str, request: SendRequest) -> Result<()> {
        Ok(self.handle.invoke_oneway(addr, request.into_command())?)
    }

    /// END_TRANSACTION (37), one-way.
    pub fn end_transaction_oneway(
        &self,
        addr: &str,
        header: &EndTransactionRequestHeader,
        remark: Option<String>,
    ) -> Result<()> {
        let mut request =
            RemotingCommand::request_with_header(RequestCode::END_TRANSACTION, header);
        request.remark = remark;
        Ok(self.handle.invoke_oneway(addr, request)?)
    }

    /// HEART_BEAT (34).
    pub fn send_heartbeat(
        &self,
        addr: &str,
        heartbeat: &HeartbeatData,
        timeout_ms: u64,
    ) -> Result<()> {
        let request =
            RemotingCommand::request(RequestCode::HEART_BEAT).with_body(heartbeat.encode_body());
        self.call_ok(addr, request, timeout_ms).map(|_| ())
    }

    /// UNREGISTER_CLIENT (35).
    pub fn unregister_client(
        &self,
        addr: &str,
        client_id: &str,
        producer_group: Option<&str>,
        consumer_group: Option<&str>,
        timeout_ms: u64,
    ) -> Result<()> {
        let header = UnregisterClientRequestHeader {
            client_id: client_id.to_string(),
            producer_group: producer_group.map(str::to_string),
            consumer_group: consumer_group.map(str::to_string),
        };
        let request = RemotingCommand::request_with_header(RequestCode::UNREGISTER_CLIENT, &header);
        self.call_ok(addr, request, timeout_ms).map(|_| ())
    }

    fn pull_command(header: &PullMessageRequestHeader) -> RemotingCommand {
        RemotingCommand::request_with_header(RequestCode::PULL_MESSAGE, header)
    }

    /// An asynchronous PULL_MESSAGE (11); `callback` runs on the event-loop thread.
    pub fn pull_message_async(
        &self,
        addr: &str,
        header: &PullMessageRequestHeader,
        timeout_ms: u64,
        callback: impl FnOnce(Result<PullResponse>) + Send + 'static,
    ) {
        let owned_addr = addr.to_string();
        self.handle.invoke_async(
            addr,
            Self::pull_command(header),
            timeout_ms,
            move |result| {
                callback(
                    result
                        .map_err(Error::from)
                        .and_then(|r| decode_pull_response(&owned_addr, r)),
                )
            },
        );
    }

    /// A synchronous PULL_MESSAGE (11).
    pub fn pull_message(
        &self,
        addr: &str,
        header: &PullMessageRequestHeader,
        timeout_ms: u64,
    ) -> Result<PullResponse> {
        let response = self.call(addr, Self::pull_command(header), timeout_ms)?;
        decode_pull_response(addr, response)
    }

    /// GET_CONSUMER_LIST_BY_GROUP (38): the client ids of the group's live members.
    pub fn get_consumer_id_list(
        &self,
        addr: &str,
        group: &str,
        timeout_ms: u64,
    ) -> Result<Vec<String>> {
        let header = GetConsumerListByGroupRequestHeader {
            consumer_group: group.to_string(),
        };
        let request =
            RemotingCommand::request_with_header(RequestCode::GET_CONSUMER_LIST_BY_GROUP, &header);
        let response = self.call_ok(addr, request, timeout_ms)?;
        let body: GetConsumerListByGroupResponseBody = from_json_slice(&response.body)?;
        Ok(body.consumer_id_list)
    }

    /// QUERY_CONSUMER_OFFSET (14). `Ok(None)` when the broker has no offset (22).
    pub fn query_consumer_offset(
        &self,
        addr: &str,
        header: &QueryConsumerOffsetRequestHeader,
        timeout_ms: u64,
    ) -> Result<Option<i64>> {
        let request =
            RemotingCommand::request_with_header(RequestCode::QUERY_CONSUMER_OFFSET, header);
        let response = self.call(addr, request, timeout_ms)?;
        match ResponseCode::from_code(response.code) {
            Some(ResponseCode::SUCCESS) => {
                let h: QueryConsumerOffsetResponseHeader = response.decode_header()?;
                Ok(Some(h.offset))
            }
            Some(ResponseCode::QUERY_NOT_FOUND) => Ok(None),
            _ => Err(Error::from_broker_response(addr, &response)),
        }
    }

    /// UPDATE_CONSUMER_OFFSET (15), waiting for the answer.
    pub fn update_consumer_offset(
        &self,
        addr: &str,
        header: &UpdateConsumerOffsetRequestHeader,
        timeout_ms: u64,
    ) -> Result<()> {
        let request =
            RemotingCommand::request_with_header(RequestCode::UPDATE_CONSUMER_OFFSET, header);
        self.call_ok(addr, request, timeout_ms).map(|_| ())
    }

    /// UPDATE_CONSUMER_OFFSET (15), one-way.
    pub fn update_consumer_offset_oneway(
        &self,
        addr: &str,
        header: &UpdateConsumerOffsetRequestHeader,
    ) -> Result<()> {
        let request =
            RemotingCommand::request_with_header(RequestCode::UPDATE_CONSUMER_OFFSET, header);
        Ok(self.handle.invoke_oneway(addr, request)?)
    }

    fn offset_call<H: CommandHeader>(
        &self,
        addr: &str,
        code: RequestCode,
        header: &H,
        timeout_ms: u64,
    ) -> Result<i64> {
        let request = RemotingCommand::request_with_header(code, header);
        let response = self.call_ok(addr, request, timeout_ms)?;
        // Every offset answer carries a single required `offset` field.
        let h: GetMaxOffsetResponseHeader = response.decode_header()?;
        Ok(h.offset)
    }

    /// GET_MAX_OFFSET (30): the next offset to be written in the queue.
    pub fn get_max_offset(&self, addr: &str, mq: &MessageQueue, timeout_ms: u64) -> Result<i64> {
        let header = GetMaxOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            committed: None,
        };
        self.offset_call(addr, RequestCode::GET_MAX_OFFSET, &header, timeout_ms)
    }

    /// GET_MIN_OFFSET (31): the smallest offset still stored.
    pub fn get_min_offset(&self, addr: &str, mq: &MessageQueue, timeout_ms: u64) -> Result<i64> {
        let header = GetMinOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
        };
        self.offset_call(addr, RequestCode::GET_MIN_OFFSET, &header, timeout_ms)
    }

    /// SEARCH_OFFSET_BY_TIMESTAMP (29): the first offset stored at or after `timestamp_ms`.
    pub fn search_offset(
        &self,
        addr: &str,
        mq: &MessageQueue,
        timestamp_ms: i64,
        timeout_ms: u64,
    ) -> Result<i64> {
        let header = SearchOffsetRequestHeader {
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            timestamp: timestamp_ms,
            boundary_type: None,
        };
        self.offset_call(
            addr,
            RequestCode::SEARCH_OFFSET_BY_TIMESTAMP,
            &header,
            timeout_ms,
        )
    }

    /// CONSUMER_SEND_MSG_BACK (36).
    pub fn consumer_send_msg_back(
        &self,
        addr: &str,
        header: &ConsumerSendMsgBackRequestHeader,
        timeout_ms: u64,
    ) -> Result<()> {
        let request =
            RemotingCommand::request_with_header(RequestCode::CONSUMER_SEND_MSG_BACK, header);
        self.call_ok(addr, request, timeout_ms).map(|_| ())
    }

    /// LOCK_BATCH_MQ (41): the queues now locked by this client.
    pub fn lock_batch_mq(
        &self,
        addr: &str,
        body: &LockBatchRequestBody,
        timeout_ms: u64,
    ) -> Result<BTreeSet<MessageQueue>> {
        let request =
            RemotingCommand::request(RequestCode::LOCK_BATCH_MQ).with_body(body.encode_body());
        let response = self.call_ok(addr, request, timeout_ms)?;
        let body: LockBatchResponseBody = from_json_slice(&response.body)?;
        Ok(body.lock_ok_mq_set)
    }

    /// UNLOCK_BATCH_MQ (42), one-way or waiting for the answer.
    pub fn unlock_batch_mq(
        &self,
        addr: &str,
        body: &UnlockBatchRequestBody,
        timeout_ms: u64,
        oneway: bool,
    ) -> Result<()> {
        let request =
            RemotingCommand::request(RequestCode::UNLOCK_BATCH_MQ).with_body(body.encode_body());
        if oneway {
            return Ok(self.handle.invoke_oneway(addr, request)?);
        }
        self.call_ok(addr, request, timeout_ms).map(|_| ())
    }
}

/// True when `e` means "no answer from that address" (try another NameServer or broker).
pub fn is_transport_failure(e: &Error) -> bool {
    matches!(
        e,
        Error::Remoting(
            RemotingError::Timeout { .. }
                | RemotingError::Connect { .. }
                | RemotingError::ConnectionClosed { .. }
                | RemotingError::SendFailed { .. }
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::ext_fields::ExtFields;

    fn response(code: ResponseCode, fields: &[(&'static str, &str)]) -> RemotingCommand {
        let request = RemotingCommand::request(RequestCode::PULL_MESSAGE);
        let mut r =
            RemotingCommand::response_to(&request, code).with_body(Bytes::from_static(b"xyz"));
        r.ext_fields = fields.iter().copied().collect::<ExtFields>();
        r
    }

    const PULL_FIELDS: &[(&str, &str)] = &[
        ("suggestWhichBrokerId", "1"),
        ("nextBeginOffset", "42"),
        ("minOffset", "0"),
        ("maxOffset", "50"),
    ];

    #[test]
    fn pull_codes_map_to_statuses() {
        let cases = [
            (ResponseCode::SUCCESS, PullStatus::Found),
            (ResponseCode::PULL_NOT_FOUND, PullStatus::NoNewMsg),
            (
                ResponseCode::PULL_RETRY_IMMEDIATELY,
                PullStatus::NoMatchedMsg,
            ),
            (ResponseCode::PULL_OFFSET_MOVED, PullStatus::OffsetIllegal),
        ];
        for (code, status) in cases {
            let r = decode_pull_response("b:1", response(code, PULL_FIELDS)).unwrap();
            assert_eq!(r.status, status);
            assert_eq!(
                (r.next_begin_offset, r.max_offset, r.suggest_which_broker_id),
                (42, 50, 1)
            );
            assert_eq!(r.body.is_empty(), status != PullStatus::Found);
        }
        let e = decode_pull_response("b:1", response(ResponseCode::SUBSCRIPTION_NOT_EXIST, &[]))
            .unwrap_err();
        assert_eq!(
            e.response_code(),
            Some(ResponseCode::SUBSCRIPTION_NOT_EXIST)
        );
        let e = decode_pull_response("b:1", response(ResponseCode::SUCCESS, &[])).unwrap_err();
        assert!(matches!(e, Error::Protocol(_)));
    }

    #[test]
    fn send_codes_map_to_statuses() {
        let fields = &[("msgId", "AB"), ("queueId", "3"), ("queueOffset", "7")];
        for (code, status) in [
            (ResponseCode::SUCCESS, SendStatus::SendOk),
            (
                ResponseCode::FLUSH_DISK_TIMEOUT,
                SendStatus::FlushDiskTimeout,
            ),
            (
                ResponseCode::FLUSH_SLAVE_TIMEOUT,
                SendStatus::FlushSlaveTimeout,
            ),
            (
                ResponseCode::SLAVE_NOT_AVAILABLE,
                SendStatus::SlaveNotAvailable,
            ),
        ] {
            let (s, h) = decode_send_response("b:1", response(code, fields)).unwrap();
            assert_eq!(s, status);
            assert_eq!((h.queue_id, h.queue_offset), (3, 7));
        }
        let e =
            decode_send_response("b:1", response(ResponseCode::SYSTEM_BUSY, fields)).unwrap_err();
        assert_eq!(e.response_code(), Some(ResponseCode::SYSTEM_BUSY));
    }

    #[test]
    fn send_requests_use_v2_names_and_batch_code() {
        let header = SendMessageRequestHeader {
            producer_group: "PG".into(),
            topic: "T".into(),
            ..Default::default()
        };
        let single = SendRequest {
            header: header.clone(),
            body: Bytes::from_static(b"b"),
            batch: false,
        }
        .into_command();
        assert_eq!(single.code, RequestCode::SEND_MESSAGE_V2.code());
        assert_eq!(single.ext_fields.get("a"), Some("PG"));
        let batch = SendRequest {
            header,
            body: Bytes::new(),
            batch: true,
        }
        .into_command();
        assert_eq!(batch.code, RequestCode::SEND_BATCH_MESSAGE.code());
    }

    #[test]
    fn transport_failures() {
        let timeout = Error::Remoting(RemotingError::Timeout {
            addr: "a".into(),
            timeout_ms: 1,
        });
        assert!(is_transport_failure(&timeout));
        assert!(!is_transport_failure(&Error::Remoting(
            RemotingError::Shutdown
        )));
        assert!(!is_transport_failure(&Error::NoRoute { topic: "T".into() }));
    }
}
