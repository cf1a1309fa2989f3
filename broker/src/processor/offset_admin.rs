//! Admin requests about consumer offsets: GET_ALL_CONSUMER_OFFSET (43) and
//! GET_ALL_DELAY_OFFSET (45) for slave sync, INVOKE_BROKER_TO_RESET_OFFSET (222),
//! QUERY_CONSUME_TIME_SPAN (303), CLONE_GROUP_OFFSET (314) and QUERY_CORRECTION_OFFSET (308)
//! (RocketMQ `AdminBrokerProcessor` + `Broker2Client.resetOffset`).
//!
//! Runs on the event-loop thread; offsets change in memory under the offset table's short lock
//! and are written by the `persist` thread. An offset reset also updates the broker's table (so
//! a group that is offline starts from the new offsets too) and tells every online member with
//! a one-way RESET_CONSUMER_CLIENT_OFFSET (220) carrying the new offsets.

use std::collections::BTreeMap;

use protocol::body::{
    JsonBody, MessageQueue, MqMap, QueryConsumeTimeSpanBody, QueryCorrectionOffsetBody,
    QueueTimeSpan, ResetOffsetBody,
};
use protocol::header::{
    CloneGroupOffsetRequestHeader, InvokeBrokerToResetOffsetRequestHeader,
    QueryConsumeTimeSpanRequestHeader, QueryCorrectionOffsetRequestHeader,
    ResetOffsetRequestHeader,
};
use protocol::remoting::{ConnId, Context, Reply};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

use super::{
    decode, error, lock, success, wall_ms, BrokerHandler, BrokerShared, Outcome,
    PERSIST_CONSUMER_OFFSETS,
};
use crate::manager::config_file::{config_file_path, DELAY_OFFSET_JSON};

/// The family's entry in the processor table.
pub fn handle(
    h: &mut BrokerHandler,
    ctx: &mut Context<'_>,
    _conn: ConnId,
    code: RequestCode,
    req: &RemotingCommand,
) -> Option<Outcome> {
    use RequestCode as C;
    Some(match code {
        C::GET_ALL_CONSUMER_OFFSET => all_consumer_offsets(h, req),
        C::GET_ALL_DELAY_OFFSET => all_delay_offsets(h, req),
        C::INVOKE_BROKER_TO_RESET_OFFSET => reset_offset(h, ctx, req),
        C::QUERY_CONSUME_TIME_SPAN => consume_time_span(h, req),
        C::CLONE_GROUP_OFFSET => clone_group_offset(h, req),
        C::QUERY_CORRECTION_OFFSET => correction_offset(h, req),
        _ => return None,
    })
}

/// GET_ALL_CONSUMER_OFFSET: the whole offset table, `consumerOffset.json`'s shape.
pub fn all_consumer_offsets(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let body = lock(&h.shared.offsets).to_wrapper().encode_body();
    Ok(Reply::Now(success(req).with_body(body)))
}

/// GET_ALL_DELAY_OFFSET: `delayOffset.json` as the schedule service last wrote it, or `{}`
/// before it ever did.
pub fn all_delay_offsets(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let path = config_file_path(
        &h.shared.store.config().store_path_root_dir,
        DELAY_OFFSET_JSON,
    );
    let body = match std::fs::read(&path) {
        Ok(bytes) if !bytes.is_empty() => bytes,
        Ok(_) => b"{}".to_vec(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => b"{}".to_vec(),
        Err(e) => {
            let remark = format!("cannot read {}: {e}", path.display());
            return Err(error(req, ResponseCode::SYSTEM_ERROR, remark));
        }
    };
    Ok(Reply::Now(success(req).with_body(body)))
}

/// The new offset of each queue for a reset request (pure given the store and table reads).
fn reset_targets(
    shared: &BrokerShared,
    req: &RemotingCommand,
    header: &InvokeBrokerToResetOffsetRequestHeader,
    read_queue_nums: i32,
) -> Result<BTreeMap<i32, i64>, RemotingCommand> {
    let (topic, group) = (&header.topic, &header.group);
    let store = &shared.store;
    let by_time = |queue_id: i32| -> Result<i64, RemotingCommand> {
        if header.timestamp < 0 {
            return Ok(store.max_offset_in_queue(topic, queue_id));
        }
        store
            .offset_by_time(topic, queue_id, header.timestamp)
            .map_err(|e| error(req, ResponseCode::SYSTEM_ERROR, e.to_string()))
    };
    let mut targets = BTreeMap::new();
    let queue = header.queue_id.filter(|q| *q >= 0);
    match (queue, header.offset.filter(|o| *o != -1)) {
        (Some(queue_id), Some(offset)) => {
            let (min, max) = (
                store.min_offset_in_queue(topic, queue_id),
                store.max_offset_in_queue(topic, queue_id),
            );
            if offset < min || offset > max {
                let remark =
                    format!("Target offset {offset} not in consume queue range [{min}-{max}]");
                return Err(error(req, ResponseCode::SYSTEM_ERROR, remark));
            }
            // An explicit offset is what the operator asked for: no isForce rule.
            targets.insert(queue_id, offset);
            return Ok(targets);
        }
        (Some(queue_id), None) => {
            targets.insert(queue_id, by_time(queue_id)?);
        }
        (None, _) => {
            for queue_id in 0..read_queue_nums {
                targets.insert(queue_id, by_time(queue_id)?);
            }
        }
    }
    if !header.is_force {
        let committed = lock(&shared.offsets).query_offsets(group, topic);
        for (queue_id, offset) in targets.iter_mut() {
            if let Some(current) = committed.get(queue_id) {
                *offset = (*offset).min(*current);
            }
        }
    }
    Ok(targets)
}

/// INVOKE_BROKER_TO_RESET_OFFSET: moves the group's offsets on the topic to the first message
/// stored at or after `timestamp` (the queue's end for `timestamp < 0`), or to `offset` for one
/// queue; without `isForce` offsets only move backwards. The offset table is updated, every
/// online member gets RESET_CONSUMER_CLIENT_OFFSET (one-way), and the answer is the
/// ResetOffsetBody of the new offsets.
pub fn reset_offset(
    h: &mut BrokerHandler,
    ctx: &mut Context<'_>,
    req: &RemotingCommand,
) -> Outcome {
    let header: InvokeBrokerToResetOffsetRequestHeader = decode(req)?;
    let shared = &h.shared;
    if !shared.is_master() {
        let remark = "Can not reset offset in slave broker";
        return Err(error(req, ResponseCode::SYSTEM_ERROR, remark));
    }
    let Some(read_queue_nums) = lock(&shared.topics)
        .select(&header.topic)
        .map(|t| t.read_queue_nums)
    else {
        let remark = format!("Topic {} does not exist", header.topic);
        return Err(error(req, ResponseCode::TOPIC_NOT_EXIST, remark));
    };
    let known = lock(&shared.groups).contains(&header.group)
        || !lock(&shared.offsets)
            .query_offsets(&header.group, &header.topic)
            .is_empty();
    if !known {
        let remark = format!("Group {} does not exist", header.group);
        return Err(error(
            req,
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            remark,
        ));
    }
    let targets = reset_targets(shared, req, &header, read_queue_nums)?;
    {
        let mut offsets = lock(&shared.offsets);
        for (queue_id, offset) in &targets {
            offsets.commit_offset(&header.group, &header.topic, *queue_id, *offset);
        }
    }
    shared.mark_dirty(PERSIST_CONSUMER_OFFSETS);
    let broker_name = &shared.config.broker_name;
    let body = ResetOffsetBody {
        offset_table: targets
            .iter()
            .map(|(q, o)| (MessageQueue::new(&header.topic, broker_name, *q), *o))
            .collect::<MqMap<i64>>(),
    };
    log::info!(
        "reset offsets of group {} on topic {}: {:?}",
        header.group,
        header.topic,
        targets
    );
    tell_members(h, ctx, &header, &body);
    Ok(Reply::Now(success(req).with_body(body.encode_body())))
}

/// Sends RESET_CONSUMER_CLIENT_OFFSET with the new offsets to every member of the group.
fn tell_members(
    h: &BrokerHandler,
    ctx: &mut Context<'_>,
    header: &ResetOffsetRequestHeader,
    body: &ResetOffsetBody,
) {
    let notice = ResetOffsetRequestHeader {
        topic: header.topic.clone(),
        group: header.group.clone(),
        queue_id: None,
        offset: None,
        timestamp: header.timestamp,
        is_force: header.is_force,
    };
    let bytes = body.encode_body();
    for member in h.consumers.channels_of(&header.group) {
        let request = RemotingCommand::request_with_header(
            RequestCode::RESET_CONSUMER_CLIENT_OFFSET,
            &notice,
        )
        .with_body(bytes.clone());
        if let Err(e) = ctx.send_oneway(member, request) {
            log::warn!("reset offset notice to {member} failed: {e}");
        }
    }
}

/// QUERY_CONSUME_TIME_SPAN: per queue, the store times of the oldest and newest message and
/// of the last consumed one, and how long the next message has waited.
pub fn consume_time_span(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: QueryConsumeTimeSpanRequestHeader = decode(req)?;
    let shared = &h.shared;
    let Some(write_queue_nums) = lock(&shared.topics)
        .select(&header.topic)
        .map(|t| t.write_queue_nums)
    else {
        let remark = format!("topic[{}] not exist", header.topic);
        return Err(error(req, ResponseCode::TOPIC_NOT_EXIST, remark));
    };
    let committed = lock(&shared.offsets).query_offsets(&header.group, &header.topic);
    let store = &shared.store;
    let topic = &header.topic;
    let time_at = |q: i32, offset: i64| -> Result<i64, RemotingCommand> {
        store
            .message_store_timestamp(topic, q, offset)
            .map(|t| t.unwrap_or(-1))
            .map_err(|e| error(req, ResponseCode::SYSTEM_ERROR, e.to_string()))
    };
    let mut spans = Vec::new();
    for queue_id in 0..write_queue_nums {
        let min_time_stamp = store
            .earliest_message_time(topic, queue_id)
            .map_err(|e| error(req, ResponseCode::SYSTEM_ERROR, e.to_string()))?
            .unwrap_or(-1);
        let max = store.max_offset_in_queue(topic, queue_id);
        let consumer_offset = committed.get(&queue_id).copied().unwrap_or(-1);
        let consume_time_stamp = if consumer_offset > 0 {
            time_at(queue_id, consumer_offset - 1)?
        } else {
            min_time_stamp
        };
        let delay_time = if consumer_offset < max {
            let next = time_at(queue_id, consumer_offset.max(0))?;
            if next > 0 {
                wall_ms() as i64 - next
            } else {
                0
            }
        } else {
            0
        };
        spans.push(QueueTimeSpan {
            message_queue: MessageQueue::new(topic, &shared.config.broker_name, queue_id),
            min_time_stamp,
            max_time_stamp: time_at(queue_id, max - 1)?,
            consume_time_stamp,
            delay_time,
            ..Default::default()
        });
    }
    let body = QueryConsumeTimeSpanBody {
        consume_time_span_set: spans,
    };
    Ok(Reply::Now(success(req).with_body(body.encode_body())))
}

/// CLONE_GROUP_OFFSET: copies the source group's offsets (on `topic`, or on every topic it
/// has offsets for) to the destination group. Unless `offline`, topics the source group's
/// live members do not subscribe are skipped.
pub fn clone_group_offset(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: CloneGroupOffsetRequestHeader = decode(req)?;
    let shared = &h.shared;
    let topics: Vec<String> = match header.topic.as_deref().filter(|t| !t.trim().is_empty()) {
        Some(t) => vec![t.to_owned()],
        None => lock(&shared.offsets)
            .which_topics_by_consumer(&header.src_group)
            .into_iter()
            .collect(),
    };
    let live = h.consumers.group_info(&header.src_group);
    let mut cloned = 0;
    for topic in topics {
        if !lock(&shared.topics).contains(&topic) {
            log::warn!("clone group offset: topic {topic} does not exist");
            continue;
        }
        let unsubscribed = live.is_some_and(|g| {
            !g.subscription_table().is_empty() && !g.subscription_table().contains_key(&topic)
        });
        if header.offline != Some(true) && unsubscribed {
            continue;
        }
        if lock(&shared.offsets).clone_offset(&header.src_group, &header.dest_group, &topic) {
            cloned += 1;
        }
    }
    if cloned > 0 {
        shared.mark_dirty(PERSIST_CONSUMER_OFFSETS);
    }
    log::info!(
        "cloned offsets of {} topics from {} to {}",
        cloned,
        header.src_group,
        header.dest_group
    );
    Ok(Reply::Now(success(req)))
}

/// QUERY_CORRECTION_OFFSET: per queue, the smallest committed offset among the topic's
/// groups (except `filterGroups`) that is still in the queue; queues where `compareGroup` is
/// behind that minimum get `i64::MAX` (nothing to correct).
pub fn correction_offset(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: QueryCorrectionOffsetRequestHeader = decode(req)?;
    let shared = &h.shared;
    let filtered: Vec<&str> = header
        .filter_groups
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .collect();
    let offsets = lock(&shared.offsets);
    let mut correction: BTreeMap<i32, i64> = BTreeMap::new();
    for group in offsets.which_groups_by_topic(&header.topic) {
        if filtered.contains(&group.as_str()) {
            continue;
        }
        for (queue_id, offset) in offsets.query_offsets(&group, &header.topic) {
            if offset >= shared.store.min_offset_in_queue(&header.topic, queue_id) {
                let entry = correction.entry(queue_id).or_insert(offset);
                *entry = (*entry).min(offset);
            }
        }
    }
    for (queue_id, compare) in offsets.query_offsets(&header.compare_group, &header.topic) {
        if let Some(min) = correction.get_mut(&queue_id) {
            if *min > compare {
                *min = i64::MAX;
            }
        }
    }
    drop(offsets);
    let body = QueryCorrectionOffsetBody {
        correction_offsets: correction,
    };
    Ok(Reply::Now(success(req).with_body(body.encode_body())))
}
