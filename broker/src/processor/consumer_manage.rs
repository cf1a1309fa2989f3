//! GET_CONSUMER_LIST_BY_GROUP (38), QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15),
//! GET_MAX_OFFSET (30), GET_MIN_OFFSET (31), SEARCH_OFFSET_BY_TIMESTAMP (29) and
//! GET_EARLIEST_MSG_STORETIME (32): what every consumer needs besides pulling (RocketMQ
//! `ConsumerManageProcessor` + the offset queries of `AdminBrokerProcessor`).
//!
//! Runs on the event-loop thread; offsets are committed in memory under a short lock and
//! written by the `persist` thread every `flushConsumerOffsetInterval`.

use protocol::body::cluster::GetConsumerListByGroupResponseBody;
use protocol::body::JsonBody;
use protocol::header::{
    GetConsumerListByGroupRequestHeader, GetEarliestMsgStoretimeRequestHeader,
    GetEarliestMsgStoretimeResponseHeader, GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader,
    GetMinOffsetRequestHeader, GetMinOffsetResponseHeader, QueryConsumerOffsetRequestHeader,
    QueryConsumerOffsetResponseHeader, SearchOffsetRequestHeader, SearchOffsetResponseHeader,
    UpdateConsumerOffsetRequestHeader,
};
use protocol::remoting::{ConnId, Context, Reply};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

use super::{decode, error, lock, success, BrokerHandler, Outcome};

/// The family's entry in the processor table.
pub fn handle(
    h: &mut BrokerHandler,
    _ctx: &mut Context<'_>,
    _conn: ConnId,
    code: RequestCode,
    req: &RemotingCommand,
) -> Option<Outcome> {
    use RequestCode as C;
    Some(match code {
        C::GET_CONSUMER_LIST_BY_GROUP => consumer_list(h, req),
        C::QUERY_CONSUMER_OFFSET => query_offset(h, req),
        C::UPDATE_CONSUMER_OFFSET => update_offset(h, req),
        C::GET_MAX_OFFSET => max_offset(h, req),
        C::GET_MIN_OFFSET => min_offset(h, req),
        C::SEARCH_OFFSET_BY_TIMESTAMP => search_offset(h, req),
        C::GET_EARLIEST_MSG_STORETIME => earliest_store_time(h, req),
        _ => return None,
    })
}

/// GET_CONSUMER_LIST_BY_GROUP: the client ids of the group's live members.
pub fn consumer_list(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: GetConsumerListByGroupRequestHeader = decode(req)?;
    let ids = h.consumers.consumer_ids(&header.consumer_group);
    if ids.is_empty() {
        let remark = format!("no consumer for this group, {}", header.consumer_group);
        return Err(error(req, ResponseCode::SYSTEM_ERROR, remark));
    }
    let body = GetConsumerListByGroupResponseBody {
        consumer_id_list: ids,
    };
    Ok(Reply::Now(success(req).with_body(body.encode_body())))
}

/// QUERY_CONSUMER_OFFSET: the committed offset. A group that never committed on a queue whose
/// messages start at 0 gets 0 (as RocketMQ 4.x), unless `setZeroIfNotFound=false`; otherwise
/// QUERY_NOT_FOUND, which clients resolve through their `consumeFromWhere`.
pub fn query_offset(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: QueryConsumerOffsetRequestHeader = decode(req)?;
    let committed = lock(&h.shared.offsets).query_offset(
        &header.consumer_group,
        &header.topic,
        header.queue_id,
    );
    let offset = match committed {
        Some(offset) => Some(offset),
        None if header.set_zero_if_not_found == Some(false) => None,
        None if h
            .shared
            .store
            .min_offset_in_queue(&header.topic, header.queue_id)
            <= 0 =>
        {
            Some(0)
        }
        None => None,
    };
    match offset {
        Some(offset) => {
            let response = QueryConsumerOffsetResponseHeader { offset };
            Ok(Reply::Now(success(req).with_header(&response)))
        }
        None => Err(error(
            req,
            ResponseCode::QUERY_NOT_FOUND,
            "Not found, V3_0_6_SNAPSHOT maybe this group consumer boot first",
        )),
    }
}

/// UPDATE_CONSUMER_OFFSET: commits the consumer's offset (often sent one-way).
pub fn update_offset(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: UpdateConsumerOffsetRequestHeader = decode(req)?;
    lock(&h.shared.offsets).commit_offset(
        &header.consumer_group,
        &header.topic,
        header.queue_id,
        header.commit_offset,
    );
    Ok(Reply::Now(success(req)))
}

/// GET_MAX_OFFSET: the next consume-queue index to be written.
pub fn max_offset(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: GetMaxOffsetRequestHeader = decode(req)?;
    let offset = h
        .shared
        .store
        .max_offset_in_queue(&header.topic, header.queue_id);
    let response = GetMaxOffsetResponseHeader { offset };
    Ok(Reply::Now(success(req).with_header(&response)))
}

/// GET_MIN_OFFSET: the smallest consume-queue index still stored.
pub fn min_offset(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: GetMinOffsetRequestHeader = decode(req)?;
    let offset = h
        .shared
        .store
        .min_offset_in_queue(&header.topic, header.queue_id);
    let response = GetMinOffsetResponseHeader { offset };
    Ok(Reply::Now(success(req).with_header(&response)))
}

/// SEARCH_OFFSET_BY_TIMESTAMP: the first queue offset whose message was stored at or after
/// `timestamp` (the queue's max offset when none was; 0 for an unknown queue).
pub fn search_offset(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: SearchOffsetRequestHeader = decode(req)?;
    let offset = h
        .shared
        .store
        .offset_by_time(&header.topic, header.queue_id, header.timestamp)
        .map_err(|e| error(req, ResponseCode::SYSTEM_ERROR, e.to_string()))?;
    let response = SearchOffsetResponseHeader { offset };
    Ok(Reply::Now(success(req).with_header(&response)))
}

/// GET_EARLIEST_MSG_STORETIME: store time of the queue's oldest message, -1 when the queue
/// is empty or unknown (as RocketMQ).
pub fn earliest_store_time(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: GetEarliestMsgStoretimeRequestHeader = decode(req)?;
    let timestamp = h
        .shared
        .store
        .earliest_message_time(&header.topic, header.queue_id)
        .map_err(|e| error(req, ResponseCode::SYSTEM_ERROR, e.to_string()))?
        .unwrap_or(-1);
    let response = GetEarliestMsgStoretimeResponseHeader { timestamp };
    Ok(Reply::Now(success(req).with_header(&response)))
}
