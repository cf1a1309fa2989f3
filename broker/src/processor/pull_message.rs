//! PULL_MESSAGE (11) and LITE_PULL_MESSAGE (361) (RocketMQ `PullMessageProcessor`).
//!
//! Runs on the event-loop thread. Checks permissions, the consumer group (auto-created when
//! allowed), the topic and queue, and the subscription (from the request with the
//! SUBSCRIPTION flag, else the heartbeat-registered one), then reads the consume queue with a
//! tag-hash filter and re-checks the real TAGS of each selected record. The store status maps
//! to the response code and `nextBeginOffset` of wire reference §2.2. FOUND answers with the
//! header and one file region per contiguous run of records (sendfile, zero-copy), or a heap
//! copy with `transferMsgByHeap`. A caught-up pull (PULL_NOT_FOUND) with the SUSPEND flag is
//! parked in the [`super::pull_hold`] table and answered later with the same opaque: when a
//! message arrives, when its suspend time passes, or never if its connection closes. The
//! consumer's `commitOffset` is stored (master only) on the first run of a request.

use std::sync::Arc;

use protocol::body::heartbeat::{MessageModel, EXPRESSION_TYPE_TAG};
use protocol::body::perm::is_readable;
use protocol::header::{PullMessageRequestHeader, PullMessageResponseHeader};
use protocol::message::record_view::{RecordView, ViewRead};
use protocol::message::{keys, parse_sub_expression, TagFilter};
use protocol::remoting::{ConnId, Context, Reply};
use protocol::{RemotingCommand, ResponseCode};

use super::pull_hold::HeldPull;
use super::transfer::{file_regions, heap_body};
use super::{decode, error, lock, BrokerHandler, BrokerShared};
use crate::stats;
use crate::store::{GetMessageResult, GetMessageStatus as G};

/// Byte cap of one pull when the request names none (RocketMQ's in-memory transfer cap).
const DEFAULT_MAX_PULL_BYTES: u64 = 256 * 1024;

type Outcome = Result<Reply, RemotingCommand>;

/// The group settings a pull needs.
struct GroupFacts {
    consume_broadcast_enable: bool,
    broker_id: i64,
}

/// Entry point for codes 11 and 361.
pub fn process(
    h: &mut BrokerHandler,
    ctx: &mut Context<'_>,
    conn: ConnId,
    req: RemotingCommand,
) -> Outcome {
    run(h, ctx, conn, req, true)
}

/// Re-runs a parked pull (arrival, deadline or re-check) and sends whatever it gives.
pub fn answer_held(
    h: &mut BrokerHandler,
    ctx: &mut Context<'_>,
    held: HeldPull<ConnId, RemotingCommand>,
) {
    let conn = held.conn;
    let sent = match run(h, ctx, conn, held.request, false) {
        Ok(Reply::Now(response)) | Err(response) => ctx.respond(conn, response),
        Ok(Reply::WithFiles { response, regions }) => {
            ctx.respond_with_files(conn, response, regions)
        }
        Ok(Reply::Later | Reply::Nothing) => Ok(()),
    };
    if let Err(e) = sent {
        log::debug!("answer to a parked pull on {conn} dropped: {e}");
    }
}

fn run(
    h: &mut BrokerHandler,
    ctx: &mut Context<'_>,
    conn: ConnId,
    req: RemotingCommand,
    allow_suspend: bool,
) -> Outcome {
    let shared = Arc::clone(&h.shared);
    let header: PullMessageRequestHeader = decode(&req)?;
    if !is_readable(shared.broker_permission()) {
        let remark = format!(
            "the broker[{}] pulling message is forbidden",
            shared.config.broker_ip1
        );
        return Err(error(&req, ResponseCode::NO_PERMISSION, remark));
    }
    let group = group_facts(&shared, &req, &header)?;
    check_topic(&shared, ctx, conn, &req, &header)?;
    let filter = subscription_filter(h, &req, &header, &group)?;
    let result = read_queue(&shared, &req, &header, &filter)?;
    if allow_suspend && header.has_commit_offset() && shared.is_master() {
        lock(&shared.offsets).commit_offset(
            &header.consumer_group,
            &header.topic,
            header.queue_id,
            header.commit_offset,
        );
    }
    respond(h, ctx, conn, req, &header, &group, result, allow_suspend)
}

/// Reads the consume queue with the tag-hash filter, then re-checks the real tags.
fn read_queue(
    shared: &BrokerShared,
    req: &RemotingCommand,
    header: &PullMessageRequestHeader,
    filter: &TagFilter,
) -> Result<GetMessageResult, RemotingCommand> {
    let max_count = header.max_msg_nums.max(1) as usize;
    let max_bytes = header
        .max_msg_bytes
        .filter(|b| *b > 0)
        .map_or(DEFAULT_MAX_PULL_BYTES, |b| b as u64);
    let by_code = |code: i64| filter.matches(code);
    let cq_filter: Option<&dyn crate::store::MessageFilter> = if filter.is_all() {
        None
    } else {
        Some(&by_code)
    };
    let h = header;
    let mut result = shared
        .store
        .get_messages(
            &h.consumer_group,
            &h.topic,
            h.queue_id,
            h.queue_offset,
            max_count,
            max_bytes,
            cq_filter,
        )
        .map_err(|e| {
            error(
                req,
                ResponseCode::SYSTEM_ERROR,
                format!("store getMessage failed: {e}"),
            )
        })?;
    if !filter.is_all() && result.status == G::FOUND {
        recheck_tags(&mut result, filter);
    }
    Ok(result)
}

/// The consumer group's settings (auto-creating it when allowed); consumption must be enabled.
fn group_facts(
    shared: &BrokerShared,
    req: &RemotingCommand,
    header: &PullMessageRequestHeader,
) -> Result<GroupFacts, RemotingCommand> {
    let Some(g) = shared.find_or_create_group(&header.consumer_group) else {
        let remark = format!(
            "subscription group [{}] does not exist",
            header.consumer_group
        );
        return Err(error(
            req,
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            remark,
        ));
    };
    if !g.consume_enable {
        let remark = format!(
            "subscription group no permission, {}",
            header.consumer_group
        );
        return Err(error(req, ResponseCode::NO_PERMISSION, remark));
    }
    Ok(GroupFacts {
        consume_broadcast_enable: g.consume_broadcast_enable,
        broker_id: g.broker_id,
    })
}

fn check_topic(
    shared: &BrokerShared,
    ctx: &Context<'_>,
    conn: ConnId,
    req: &RemotingCommand,
    header: &PullMessageRequestHeader,
) -> Result<(), RemotingCommand> {
    let topics = lock(&shared.topics);
    let Some(topic) = topics.select(&header.topic) else {
        let remark = format!("topic[{}] not exist, apply first please!", header.topic);
        return Err(error(req, ResponseCode::TOPIC_NOT_EXIST, remark));
    };
    if !is_readable(topic.perm) {
        let remark = format!("the topic[{}] pulling message is forbidden", header.topic);
        return Err(error(req, ResponseCode::NO_PERMISSION, remark));
    }
    if header.queue_id < 0 || header.queue_id >= topic.read_queue_nums {
        let peer = ctx
            .peer_addr(conn)
            .map(|a| a.to_string())
            .unwrap_or_default();
        let remark = format!(
            "queueId[{}] is illegal, topic:[{}] topicConfig.readQueueNums:[{}] consumer:[{peer}]",
            header.queue_id, header.topic, topic.read_queue_nums
        );
        return Err(error(req, ResponseCode::SYSTEM_ERROR, remark));
    }
    Ok(())
}

/// The TAG filter of this pull: from the request (SUBSCRIPTION flag) or the registered one.
fn subscription_filter(
    h: &BrokerHandler,
    req: &RemotingCommand,
    header: &PullMessageRequestHeader,
    group: &GroupFacts,
) -> Result<TagFilter, RemotingCommand> {
    let (expression, expression_type) = if header.has_subscription() {
        let expr = header.subscription.clone().unwrap_or_default();
        (expr, header.expression_type.clone())
    } else {
        registered_subscription(h, req, header, group)?
    };
    let is_tag = expression_type
        .as_deref()
        .is_none_or(|t| t.is_empty() || t.eq_ignore_ascii_case(EXPRESSION_TYPE_TAG));
    if !is_tag {
        return Err(error(
            req,
            ResponseCode::SYSTEM_ERROR,
            "The broker does not support consumer to filter message by SQL92",
        ));
    }
    let filter = parse_sub_expression(expression.trim());
    if !filter.is_all() && filter.tags().is_empty() {
        return Err(error(
            req,
            ResponseCode::SUBSCRIPTION_PARSE_FAILED,
            "parse the consumer's subscription failed",
        ));
    }
    Ok(filter)
}

/// The heartbeat-registered subscription of the group to the topic: `(expression, type)`.
fn registered_subscription(
    h: &BrokerHandler,
    req: &RemotingCommand,
    header: &PullMessageRequestHeader,
    group: &GroupFacts,
) -> Result<(String, Option<String>), RemotingCommand> {
    let g = &header.consumer_group;
    let not_exist = |what: &str| error(req, ResponseCode::SUBSCRIPTION_NOT_EXIST, what);
    let Some(info) = h.consumers.group_info(g) else {
        return Err(not_exist("the consumer's group info not exist"));
    };
    if info.message_model() == MessageModel::Broadcasting && !group.consume_broadcast_enable {
        let remark = format!("the consumer group[{g}] can not consume by broadcast way");
        return Err(error(req, ResponseCode::NO_PERMISSION, remark));
    }
    let Some(sub) = h.consumers.find_subscription(g, &header.topic) else {
        return Err(not_exist("the consumer's subscription not exist"));
    };
    if sub.sub_version < header.sub_version {
        let remark = "the consumer's subscription not latest";
        return Err(error(req, ResponseCode::SUBSCRIPTION_NOT_LATEST, remark));
    }
    Ok((sub.sub_string.clone(), Some(sub.expression_type.clone())))
}

/// Drops records whose real TAGS does not match (tag hash collisions), reading each record.
fn recheck_tags(result: &mut GetMessageResult, filter: &TagFilter) {
    let before = result.messages.len();
    result.messages.retain(|m| match m.region.read() {
        Ok(bytes) => match RecordView::parse(&bytes) {
            Ok(ViewRead::Message(view)) => {
                let tag = view
                    .property(keys::TAGS)
                    .and_then(|t| std::str::from_utf8(t).ok());
                filter.matches_tag(tag)
            }
            _ => false,
        },
        Err(e) => {
            log::warn!(
                "cannot re-read record at {} for tag check: {e}",
                m.phy_offset
            );
            false
        }
    });
    if result.messages.len() != before {
        result.total_bytes = result.messages.iter().map(|m| u64::from(m.size)).sum();
        if result.messages.is_empty() {
            result.status = G::NO_MATCHED_MESSAGE;
        }
    }
}

/// Store status → response code (wire reference §2.2).
fn status_code(status: G, request_offset: i64) -> ResponseCode {
    match status {
        G::FOUND => ResponseCode::SUCCESS,
        G::NO_MATCHED_MESSAGE | G::MESSAGE_WAS_REMOVING => ResponseCode::PULL_RETRY_IMMEDIATELY,
        G::NO_MESSAGE_IN_QUEUE | G::NO_MATCHED_LOGIC_QUEUE if request_offset != 0 => {
            ResponseCode::PULL_OFFSET_MOVED
        }
        G::NO_MESSAGE_IN_QUEUE | G::NO_MATCHED_LOGIC_QUEUE => ResponseCode::PULL_NOT_FOUND,
        G::OFFSET_FOUND_NULL | G::OFFSET_OVERFLOW_ONE => ResponseCode::PULL_NOT_FOUND,
        G::OFFSET_TOO_SMALL | G::OFFSET_OVERFLOW_BADLY => ResponseCode::PULL_OFFSET_MOVED,
    }
}

/// Whether the store corrected `nextBeginOffset` for this status (a slave without
/// `offsetCheckInSlave` keeps the requested offset instead).
fn is_corrected(status: G) -> bool {
    matches!(
        status,
        G::NO_MESSAGE_IN_QUEUE
            | G::NO_MATCHED_LOGIC_QUEUE
            | G::OFFSET_TOO_SMALL
            | G::OFFSET_OVERFLOW_BADLY
            | G::OFFSET_FOUND_NULL
    )
}

#[allow(clippy::too_many_arguments)]
fn respond(
    h: &mut BrokerHandler,
    ctx: &mut Context<'_>,
    conn: ConnId,
    req: RemotingCommand,
    header: &PullMessageRequestHeader,
    group: &GroupFacts,
    result: GetMessageResult,
    allow_suspend: bool,
) -> Outcome {
    let (code, response_header) = response_header(&h.shared, header, group, &result);
    if code == ResponseCode::PULL_NOT_FOUND
        && allow_suspend
        && header.has_suspend()
        && !req.is_oneway()
    {
        park(h, ctx, conn, req, header);
        return Ok(Reply::Later);
    }
    let response = RemotingCommand::response_to(&req, code)
        .with_header(&response_header)
        .with_remark(format!("{:?}", result.status));
    count_pull(h, header, code, &result);
    if code != ResponseCode::SUCCESS {
        return Ok(Reply::Now(response));
    }
    if h.shared.config.transfer_msg_by_heap {
        let body = heap_body(&result.messages)
            .map_err(|e| error(&req, ResponseCode::SYSTEM_ERROR, e.to_string()))?;
        return Ok(Reply::Now(response.with_body(body)));
    }
    Ok(Reply::WithFiles {
        response,
        regions: file_regions(&result.messages),
    })
}

/// Counts an answered pull in the broker counters and the group's stats items.
fn count_pull(
    h: &mut BrokerHandler,
    header: &PullMessageRequestHeader,
    code: ResponseCode,
    result: &GetMessageResult,
) {
    let found = code == ResponseCode::SUCCESS;
    let n = if found {
        result.messages.len() as u64
    } else {
        0
    };
    h.shared.counters.on_pull(n);
    if !found {
        return;
    }
    let now = super::wall_ms();
    let key = format!("{}@{}", header.topic, header.consumer_group);
    h.stats.add(stats::GROUP_GET_NUMS, &key, n, 1, now);
    h.stats
        .add(stats::GROUP_GET_SIZE, &key, result.total_bytes, 1, now);
    h.pull_offsets
        .entry(key)
        .or_default()
        .insert(header.queue_id, result.next_begin_offset);
    let cluster = &h.shared.config.broker_cluster_name;
    h.stats.add(stats::BROKER_GET_NUMS, cluster, n, 1, now);
}

/// The response code and header for a store result, with the role rules: a slave without
/// `slaveReadEnable` sends consumers back to the master (20), and without `offsetCheckInSlave`
/// never corrects their offset (20 with the requested offset instead of 21).
fn response_header(
    shared: &BrokerShared,
    header: &PullMessageRequestHeader,
    group: &GroupFacts,
    result: &GetMessageResult,
) -> (ResponseCode, PullMessageResponseHeader) {
    let config = &shared.config;
    let master = shared.is_master();
    let offset_check = master || config.offset_check_in_slave;
    let mut next_begin = result.next_begin_offset;
    if !offset_check && is_corrected(result.status) {
        next_begin = header.queue_offset;
    }
    let mut code = status_code(result.status, header.queue_offset);
    let mut suggest = if config.slave_read_enable {
        group.broker_id
    } else {
        0
    };
    if !master && !config.slave_read_enable {
        code = ResponseCode::PULL_RETRY_IMMEDIATELY;
        suggest = 0;
    }
    if code == ResponseCode::PULL_OFFSET_MOVED && !offset_check {
        code = ResponseCode::PULL_RETRY_IMMEDIATELY;
        next_begin = header.queue_offset;
    }
    let response_header = PullMessageResponseHeader {
        suggest_which_broker_id: suggest,
        next_begin_offset: next_begin,
        min_offset: result.min_offset,
        max_offset: result.max_offset,
        ..Default::default()
    };
    (code, response_header)
}

/// Parks a caught-up pull until a message arrives or its suspend time passes; then re-checks
/// once against the store so an arrival racing with the parking is not missed.
fn park(
    h: &mut BrokerHandler,
    ctx: &mut Context<'_>,
    conn: ConnId,
    req: RemotingCommand,
    header: &PullMessageRequestHeader,
) {
    let config = &h.shared.config;
    let polling_ms = if config.long_polling_enable {
        header.suspend_timeout_millis.max(0) as u64
    } else {
        config.short_polling_time_ms
    };
    let held = HeldPull {
        conn,
        request: req,
        queue_offset: header.queue_offset,
        deadline_ms: ctx.now_ms().saturating_add(polling_ms),
    };
    h.holds.hold(&header.topic, header.queue_id, held);
    if config.long_polling_enable {
        let max = h
            .shared
            .store
            .max_offset_in_queue(&header.topic, header.queue_id);
        for ready in h.holds.take_arrived(&header.topic, header.queue_id, max) {
            answer_held(h, ctx, ready);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table_of_the_wire_reference() {
        use ResponseCode as R;
        assert_eq!(status_code(G::FOUND, 3), R::SUCCESS);
        assert_eq!(
            status_code(G::NO_MATCHED_MESSAGE, 3),
            R::PULL_RETRY_IMMEDIATELY
        );
        assert_eq!(
            status_code(G::MESSAGE_WAS_REMOVING, 3),
            R::PULL_RETRY_IMMEDIATELY
        );
        assert_eq!(status_code(G::NO_MESSAGE_IN_QUEUE, 0), R::PULL_NOT_FOUND);
        assert_eq!(status_code(G::NO_MESSAGE_IN_QUEUE, 1), R::PULL_OFFSET_MOVED);
        assert_eq!(status_code(G::NO_MATCHED_LOGIC_QUEUE, 0), R::PULL_NOT_FOUND);
        assert_eq!(
            status_code(G::NO_MATCHED_LOGIC_QUEUE, 2),
            R::PULL_OFFSET_MOVED
        );
        assert_eq!(status_code(G::OFFSET_TOO_SMALL, 0), R::PULL_OFFSET_MOVED);
        assert_eq!(status_code(G::OFFSET_OVERFLOW_ONE, 5), R::PULL_NOT_FOUND);
        assert_eq!(
            status_code(G::OFFSET_OVERFLOW_BADLY, 9),
            R::PULL_OFFSET_MOVED
        );
        assert_eq!(status_code(G::OFFSET_FOUND_NULL, 9), R::PULL_NOT_FOUND);
        assert!(!is_corrected(G::FOUND) && !is_corrected(G::OFFSET_OVERFLOW_ONE));
        assert!(is_corrected(G::OFFSET_TOO_SMALL) && is_corrected(G::OFFSET_FOUND_NULL));
    }
}
