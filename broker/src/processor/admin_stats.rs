//! Admin statistics (RocketMQ `AdminBrokerProcessor`): GET_TOPIC_STATS_INFO (202),
//! GET_CONSUME_STATS (208), GET_BROKER_CONSUME_STATS (317), GET_BROKER_RUNTIME_INFO (28),
//! VIEW_BROKER_STATS_DATA (315) and QUERY_CONSUME_QUEUE (321).
//!
//! Runs on the event-loop thread. Offsets come from the store and the offset table; rates
//! from the loop-owned [`StatsItemSet`](crate::stats::StatsItemSet) and
//! [`TpsSampler`](crate::stats::TpsSampler). Stats bodies are keyed by `MessageQueue` objects
//! (wire reference §4.6) and encoded in fastjson's dialect by `JsonBody::encode_body`.

use std::collections::{BTreeMap, BTreeSet};

use protocol::body::{
    BrokerStatsData, BrokerStatsItem, ConsumeQueueData, ConsumeStats, ConsumeStatsList, JsonBody,
    KvTable, MessageQueue, OffsetWrapper, QueryConsumeQueueResponseBody, TopicOffset,
    TopicStatsTable,
};
use protocol::header::{
    GetBrokerConsumeStatsRequestHeader, GetConsumeStatsRequestHeader,
    GetTopicStatsInfoRequestHeader, QueryConsumeQueueRequestHeader,
    ViewBrokerStatsDataRequestHeader,
};
use protocol::message::parse_sub_expression;
use protocol::remoting::{ConnId, Context, Reply};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

use super::{decode, error, lock, success, wall_ms, BrokerHandler, Outcome};
use crate::manager::topic_validator as tv;
use crate::stats::{self, StatsSnapshot};

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
        C::GET_TOPIC_STATS_INFO => topic_stats(h, req),
        C::GET_CONSUME_STATS => consume_stats(h, req),
        C::GET_BROKER_CONSUME_STATS => broker_consume_stats(h, req),
        C::GET_BROKER_RUNTIME_INFO => {
            let body = KvTable {
                table: super::admin_runtime::runtime_info(h),
            };
            Ok(Reply::Now(success(req).with_body(body.encode_body())))
        }
        C::VIEW_BROKER_STATS_DATA => stats_data(h, req),
        C::QUERY_CONSUME_QUEUE => query_consume_queue(h, req),
        _ => return None,
    })
}

fn store_error(req: &RemotingCommand, e: crate::Error) -> RemotingCommand {
    error(req, ResponseCode::SYSTEM_ERROR, e.to_string())
}

/// GET_TOPIC_STATS_INFO: min/max offset and last store time of every writable queue, and
/// the topic's put rate over the last minute; TOPIC_NOT_EXIST for an unknown topic.
pub fn topic_stats(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: GetTopicStatsInfoRequestHeader = decode(req)?;
    let topic = header.topic;
    let Some(queues) = lock(&h.shared.topics)
        .select(&topic)
        .map(|t| t.write_queue_nums)
    else {
        let remark = format!("topic[{topic}] not exist");
        return Err(error(req, ResponseCode::TOPIC_NOT_EXIST, remark));
    };
    let store = &h.shared.store;
    let mut table = TopicStatsTable::default();
    for queue_id in 0..queues {
        let max_offset = store.max_offset_in_queue(&topic, queue_id).max(0);
        let last_update_timestamp = if max_offset > 0 {
            store
                .message_store_timestamp(&topic, queue_id, max_offset - 1)
                .map_err(|e| store_error(req, e))?
                .unwrap_or(0)
        } else {
            0
        };
        let offsets = TopicOffset {
            last_update_timestamp,
            max_offset,
            min_offset: store.min_offset_in_queue(&topic, queue_id).max(0),
        };
        let mq = MessageQueue::new(&topic, &h.shared.config.broker_name, queue_id);
        table.offset_table.insert(mq, offsets);
    }
    table.topic_put_tps = h.stats.minute_tps(stats::TOPIC_PUT_NUMS, &topic, wall_ms());
    Ok(Reply::Now(success(req).with_body(table.encode_body())))
}

/// Whether the group's live members (if any report subscriptions) subscribe `topic`.
fn subscribed(h: &BrokerHandler, group: &str, topic: &str) -> bool {
    h.consumers.group_info(group).is_none_or(|g| {
        g.subscription_table().is_empty() || g.subscription_table().contains_key(topic)
    })
}

/// The group's progress on `queues` queues of `topic`.
fn group_topic_stats(
    h: &BrokerHandler,
    group: &str,
    topic: &str,
    queues: i32,
) -> crate::Result<ConsumeStats> {
    let store = &h.shared.store;
    let committed = lock(&h.shared.offsets).query_offsets(group, topic);
    let pulled = h.pull_offsets_of(group, topic);
    let mut stats = ConsumeStats::default();
    for queue_id in 0..queues {
        let consumer_offset = committed.get(&queue_id).copied().unwrap_or(0).max(0);
        let last_timestamp = if consumer_offset > 0 {
            store
                .message_store_timestamp(topic, queue_id, consumer_offset - 1)?
                .filter(|t| *t > 0)
                .unwrap_or(0)
        } else {
            0
        };
        let pull_offset = pulled.get(&queue_id).copied().unwrap_or(0);
        let offsets = OffsetWrapper {
            broker_offset: store.max_offset_in_queue(topic, queue_id).max(0),
            consumer_offset,
            last_timestamp,
            pull_offset: consumer_offset.max(pull_offset),
        };
        let mq = MessageQueue::new(topic, &h.shared.config.broker_name, queue_id);
        stats.offset_table.insert(mq, offsets);
    }
    let key = format!("{topic}@{group}");
    stats.consume_tps = h.stats.minute_tps(stats::GROUP_GET_NUMS, &key, wall_ms());
    Ok(stats)
}

/// GET_CONSUME_STATS: the group's progress on `topic` (or on `topicList`, or on every topic it
/// has offsets for plus its retry topic), queue by queue.
pub fn consume_stats(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: GetConsumeStatsRequestHeader = decode(req)?;
    let group = &header.consumer_group;
    let named: Vec<String> = [header.topic.as_deref(), header.topic_list.as_deref()]
        .into_iter()
        .flatten()
        .flat_map(|list| list.split(','))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .collect();
    let topics: BTreeSet<String> = if named.is_empty() {
        let mut all = lock(&h.shared.offsets).which_topics_by_consumer(group);
        all.insert(tv::retry_topic(group));
        all
    } else {
        named.into_iter().collect()
    };
    let mut total = ConsumeStats::default();
    for topic in topics {
        let Some(queues) = lock(&h.shared.topics)
            .select(&topic)
            .map(|t| t.read_queue_nums)
        else {
            continue;
        };
        if !subscribed(h, group, &topic) {
            continue;
        }
        let stats = group_topic_stats(h, group, &topic, queues).map_err(|e| store_error(req, e))?;
        total.consume_tps += stats.consume_tps;
        total.offset_table.extend(stats.offset_table.0);
    }
    Ok(Reply::Now(success(req).with_body(total.encode_body())))
}

/// GET_BROKER_CONSUME_STATS: every subscription group's stats on every topic it has offsets
/// for (only ordered topics with `isOrder`), with the total lag.
pub fn broker_consume_stats(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: GetBrokerConsumeStatsRequestHeader = decode(req)?;
    let groups: Vec<String> = lock(&h.shared.groups).table().keys().cloned().collect();
    let mut body = ConsumeStatsList {
        broker_addr: Some(h.shared.config.broker_addr()),
        ..Default::default()
    };
    for group in groups {
        let mut list = Vec::new();
        let topics = lock(&h.shared.offsets).which_topics_by_consumer(&group);
        for topic in topics {
            let Some(config) = lock(&h.shared.topics).select(&topic).cloned() else {
                continue;
            };
            if (header.is_order && !config.order) || !subscribed(h, &group, &topic) {
                continue;
            }
            let stats = group_topic_stats(h, &group, &topic, config.write_queue_nums)
                .map_err(|e| store_error(req, e))?;
            body.total_diff = body.total_diff.saturating_add(stats.compute_total_diff());
            body.total_inflight_diff = body
                .total_inflight_diff
                .saturating_add(stats.compute_inflight_total_diff());
            list.push(stats);
        }
        body.consume_stats_list
            .push(BTreeMap::from([(group, list)]));
    }
    Ok(Reply::Now(success(req).with_body(body.encode_body())))
}

fn stats_item(s: StatsSnapshot) -> BrokerStatsItem {
    BrokerStatsItem {
        avgpt: s.avgpt,
        sum: i64::try_from(s.sum).unwrap_or(i64::MAX),
        tps: s.tps,
    }
}

/// VIEW_BROKER_STATS_DATA: minute, hour and day figures of one stats item.
pub fn stats_data(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: ViewBrokerStatsDataRequestHeader = decode(req)?;
    let Some([minute, hour, day]) =
        h.stats
            .windows(&header.stats_name, &header.stats_key, wall_ms())
    else {
        let remark = format!(
            "The stats <{}> <{}> not exist",
            header.stats_name, header.stats_key
        );
        return Err(error(req, ResponseCode::SYSTEM_ERROR, remark));
    };
    let body = BrokerStatsData {
        stats_day: stats_item(day),
        stats_hour: stats_item(hour),
        stats_minute: stats_item(minute),
    };
    Ok(Reply::Now(success(req).with_body(body.encode_body())))
}

/// QUERY_CONSUME_QUEUE: `count` consume-queue units from `index`, each with whether the
/// group's registered subscription (if `consumerGroup` is given) accepts its tags code.
pub fn query_consume_queue(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: QueryConsumeQueueRequestHeader = decode(req)?;
    let missing = |key: &str| {
        error(
            req,
            ResponseCode::SYSTEM_ERROR,
            format!("the {key} is required"),
        )
    };
    let topic = header.topic.clone().ok_or_else(|| missing("topic"))?;
    let queue_id = header.queue_id.ok_or_else(|| missing("queueId"))?;
    let Some(cq) = h.shared.store.consume_queue(&topic, queue_id) else {
        let remark = format!("{queue_id}@{topic} is not exist!");
        return Err(error(req, ResponseCode::SYSTEM_ERROR, remark));
    };
    let index = header.index.unwrap_or(0);
    let count = usize::try_from(header.count.unwrap_or(1).max(0)).unwrap_or(0);
    let mut body = QueryConsumeQueueResponseBody {
        max_queue_index: cq.max_offset(),
        min_queue_index: cq.min_offset(),
        ..Default::default()
    };
    let mut filter = None;
    if let Some(group) = header.consumer_group.as_deref() {
        body.subscription_data = h.consumers.find_subscription(group, &topic).cloned();
        match &body.subscription_data {
            None => body.filter_data = Some(format!("{group}@{topic} is not online!")),
            Some(sub) => filter = Some(parse_sub_expression(sub.sub_string.trim())),
        }
    }
    let mut at = index;
    while body.queue_data.len() < count {
        let units = cq
            .read_units(at, count - body.queue_data.len())
            .map_err(|e| store_error(req, e))?;
        let Some(units) = units else {
            if body.queue_data.is_empty() {
                let remark = format!("Index {index} of {queue_id}@{topic} is not exist!");
                return Ok(Reply::Now(success(req).with_remark(remark)));
            }
            break;
        };
        if units.is_empty() {
            break;
        }
        at += units.len() as i64;
        body.queue_data
            .extend(units.iter().map(|u| ConsumeQueueData {
                eval: filter.as_ref().is_some_and(|f| f.matches(u.tags_code)),
                physic_offset: u.phy_offset,
                physic_size: u.size,
                tags_code: u.tags_code,
                ..Default::default()
            }));
    }
    Ok(Reply::Now(success(req).with_body(body.encode_body())))
}
