//! GET_CONSUMER_LIST_BY_GROUP (38), QUERY_CONSUMER_OFFSET (14), UPDATE_CONSUMER_OFFSET (15),
//! GET_MAX_OFFSET (30) and GET_MIN_OFFSET (31): what every consumer needs besides pulling
//! (RocketMQ `ConsumerManageProcessor` + the offset queries of `AdminBrokerProcessor`).
//!
//! Runs on the event-loop thread; offsets are committed in memory under a short lock and
//! written by the `persist` thread every `flushConsumerOffsetInterval`.

use protocol::body::cluster::GetConsumerListByGroupResponseBody;
use protocol::body::JsonBody;
use protocol::header::{
    GetConsumerListByGroupRequestHeader, GetMaxOffsetRequestHeader, GetMaxOffsetResponseHeader,
    GetMinOffsetRequestHeader, GetMinOffsetResponseHeader, QueryConsumerOffsetRequestHeader,
    QueryConsumerOffsetResponseHeader, UpdateConsumerOffsetRequestHeader,
};
use protocol::remoting::Reply;
use protocol::{RemotingCommand, ResponseCode};

use super::{decode, error, lock, BrokerHandler};

type Outcome = Result<Reply, RemotingCommand>;

fn success(req: &RemotingCommand) -> RemotingCommand {
    RemotingCommand::response_to(req, ResponseCode::SUCCESS)
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
