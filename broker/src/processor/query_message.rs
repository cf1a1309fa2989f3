//! QUERY_MESSAGE (12) and VIEW_MESSAGE_BY_ID (33): messages looked up by key through the
//! index and by commitlog offset (RocketMQ `QueryMessageProcessor`), as used by
//! `mqadmin queryMsgByKey` / `queryMsgById` / `queryMsgByUniqueKey`.
//!
//! Runs on the event-loop thread. The bodies are the stored records byte for byte, sent as
//! file regions with sendfile (a heap copy with `transferMsgByHeap`). Index hits are verified
//! against the stored record by the store, so hash collisions never reach the client.

use protocol::header::{
    QueryMessageRequestHeader, QueryMessageResponseHeader, ViewMessageRequestHeader,
};
use protocol::remoting::{ConnId, Context, FileRegion, Reply};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

use super::transfer::{file_regions, heap_body};
use super::{decode, error, success, BrokerHandler, Outcome};
use crate::store::MessageRegion;

/// At most this many messages per query (RocketMQ `maxMsgsNumBatch`).
pub const MAX_MSGS_NUM_BATCH: i32 = 64;
/// Messages returned for a unique-key query (RocketMQ `defaultQueryMaxNum`).
pub const DEFAULT_QUERY_MAX_NUM: i32 = 32;

/// The family's entry in the processor table.
pub fn handle(
    h: &mut BrokerHandler,
    _ctx: &mut Context<'_>,
    _conn: ConnId,
    code: RequestCode,
    req: &RemotingCommand,
) -> Option<Outcome> {
    match code {
        RequestCode::QUERY_MESSAGE => Some(query_message(h, req)),
        RequestCode::VIEW_MESSAGE_BY_ID => Some(view_message(h, req)),
        _ => None,
    }
}

/// QUERY_MESSAGE: the messages of `topic` stored in `[beginTimestamp, endTimestamp]` whose
/// KEYS contain `key` (or whose UNIQ_KEY is `key` with `_UNIQUE_KEY_QUERY=true`), newest
/// first. Answers QUERY_NOT_FOUND when there are none.
pub fn query_message(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: QueryMessageRequestHeader = decode(req)?;
    let max_num = if header.is_unique_key_query() {
        DEFAULT_QUERY_MAX_NUM
    } else {
        header.max_num.clamp(0, MAX_MSGS_NUM_BATCH)
    };
    let result = h
        .shared
        .store
        .query_messages(
            &header.topic,
            &header.key,
            max_num as usize,
            header.begin_timestamp,
            header.end_timestamp,
        )
        .map_err(|e| error(req, ResponseCode::SYSTEM_ERROR, e.to_string()))?;
    let response_header = QueryMessageResponseHeader {
        index_last_update_timestamp: result.index_last_update_timestamp,
        index_last_update_phyoffset: result.index_last_update_phy_offset,
    };
    if result.messages.is_empty() {
        let response = error(
            req,
            ResponseCode::QUERY_NOT_FOUND,
            "can not find message, maybe time range not correct",
        );
        return Ok(Reply::Now(response.with_header(&response_header)));
    }
    let response = success(req).with_header(&response_header);
    records_reply(h, req, response, &result.messages)
}

/// VIEW_MESSAGE_BY_ID: the record at commitlog offset `offset` (decoded by the client from an
/// offset msgId); SYSTEM_ERROR when no valid record starts there.
pub fn view_message(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: ViewMessageRequestHeader = decode(req)?;
    let not_found = || {
        let remark = format!("can not find message by the offset, {}", header.offset);
        error(req, ResponseCode::SYSTEM_ERROR, remark)
    };
    let Ok(phy_offset) = u64::try_from(header.offset) else {
        return Err(not_found());
    };
    let region = h
        .shared
        .store
        .message_region_at(phy_offset)
        .map_err(|e| error(req, ResponseCode::SYSTEM_ERROR, e.to_string()))?
        .ok_or_else(not_found)?;
    let message = MessageRegion {
        queue_offset: 0,
        phy_offset,
        size: region.len,
        tags_code: 0,
        region,
    };
    records_reply(h, req, success(req), std::slice::from_ref(&message))
}

/// `response` followed by the records: file regions, or one heap body.
fn records_reply(
    h: &BrokerHandler,
    req: &RemotingCommand,
    response: RemotingCommand,
    messages: &[MessageRegion],
) -> Outcome {
    if h.shared.config.transfer_msg_by_heap {
        let body = heap_body(messages)
            .map_err(|e| error(req, ResponseCode::SYSTEM_ERROR, e.to_string()))?;
        return Ok(Reply::Now(response.with_body(body)));
    }
    let regions: Vec<FileRegion> = file_regions(messages);
    Ok(Reply::WithFiles { response, regions })
}
