//! Admin requests about topics and subscription groups (RocketMQ `AdminBrokerProcessor`):
//! UPDATE_AND_CREATE_TOPIC (17), UPDATE_AND_CREATE_TOPIC_LIST (18), DELETE_TOPIC_IN_BROKER
//! (215), GET_ALL_TOPIC_CONFIG (21), GET_TOPIC_CONFIG (351), GET_TOPIC_CONFIG_LIST (22),
//! GET_TOPIC_NAME_LIST (23), GET_SYSTEM_TOPIC_LIST_FROM_BROKER (305),
//! UPDATE_AND_CREATE_SUBSCRIPTIONGROUP (200), DELETE_SUBSCRIPTIONGROUP (207),
//! GET_SUBSCRIPTIONGROUP_CONFIG (352) and GET_ALL_SUBSCRIPTIONGROUP_CONFIG (201).
//!
//! Runs on the event-loop thread. Topic changes go through `BrokerShared::change_topics`, so
//! the table is persisted and re-registered with every NameServer at once; group and offset
//! changes are persisted by the `persist` thread. Slaves refuse every change.

use std::collections::{BTreeSet, HashSet};

use protocol::body::perm::PERM_PRIORITY;
use protocol::body::{
    JsonBody, SubscriptionGroupConfig, TopicConfig, TopicConfigList, TopicFilterType, TopicList,
};
use protocol::header::{
    CreateTopicRequestHeader, DeleteSubscriptionGroupRequestHeader, DeleteTopicRequestHeader,
    GetSubscriptionGroupConfigRequestHeader, GetTopicConfigRequestHeader,
};
use protocol::remoting::{ConnId, Context, Reply};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

use super::{
    decode, error, lock, success, wall_ms, BrokerHandler, Outcome, PERSIST_CONSUMER_OFFSETS,
    PERSIST_SUBSCRIPTION_GROUPS,
};
use crate::manager::topic_validator as tv;
use crate::stats;

/// Most read or write queues a topic may have.
pub const MAX_QUEUE_NUMS: i32 = i16::MAX as i32;
/// Topic attributes RocketMQ 5.x knows (`+key=value` in UPDATE_AND_CREATE_TOPIC).
pub const TOPIC_ATTRIBUTE_KEYS: [&str; 3] = ["queue.type", "cleanup.policy", "message.type"];
/// Java's remark for a change attempted on a slave.
const SLAVE_REMARK: &str =
    "Can't modify topic or subscription group from slave broker, please execute it from master broker.";

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
        C::UPDATE_AND_CREATE_TOPIC => create_topic(h, req),
        C::UPDATE_AND_CREATE_TOPIC_LIST => create_topic_list(h, req),
        C::DELETE_TOPIC_IN_BROKER => delete_topic(h, req),
        C::GET_ALL_TOPIC_CONFIG => {
            let body = lock(&h.shared.topics).to_wrapper().encode_body();
            Ok(Reply::Now(success(req).with_body(body)))
        }
        C::GET_TOPIC_CONFIG => topic_config(h, req),
        C::GET_TOPIC_CONFIG_LIST => {
            let topic_config_list = lock(&h.shared.topics).table().values().cloned().collect();
            let body = TopicConfigList { topic_config_list };
            Ok(Reply::Now(success(req).with_body(body.encode_body())))
        }
        C::GET_TOPIC_NAME_LIST => topic_list(h, req, |_, _| true),
        C::GET_SYSTEM_TOPIC_LIST_FROM_BROKER => {
            topic_list(h, req, |t, name| t.is_system_topic(name))
        }
        C::UPDATE_AND_CREATE_SUBSCRIPTIONGROUP => create_group(h, req),
        C::DELETE_SUBSCRIPTIONGROUP => delete_group(h, req),
        C::GET_SUBSCRIPTIONGROUP_CONFIG => group_config(h, req),
        C::GET_ALL_SUBSCRIPTIONGROUP_CONFIG => {
            let body = lock(&h.shared.groups).to_wrapper().encode_body();
            Ok(Reply::Now(success(req).with_body(body)))
        }
        _ => return None,
    })
}

fn refuse_on_slave(h: &BrokerHandler, req: &RemotingCommand) -> Result<(), RemotingCommand> {
    if h.shared.is_master() {
        Ok(())
    } else {
        Err(error(req, ResponseCode::SYSTEM_ERROR, SLAVE_REMARK))
    }
}

/// Applies `+k=v,+k2=v2,-k3` to `attributes` (RocketMQ `AttributeParser`); only known keys.
pub fn apply_attributes(
    attributes: &mut std::collections::BTreeMap<String, String>,
    change: &str,
) -> Result<(), String> {
    for item in change.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let (add, rest) = match (item.strip_prefix('+'), item.strip_prefix('-')) {
            (Some(rest), _) => (true, rest),
            (_, Some(rest)) => (false, rest),
            _ => return Err(format!("attribute {item:?} must start with + or -")),
        };
        let (key, value) = match (add, rest.split_once('=')) {
            (true, Some((k, v))) if !k.is_empty() && !v.is_empty() => (k, Some(v)),
            (false, None) if !rest.is_empty() => (rest, None),
            _ => return Err(format!("attribute {item:?} is malformed")),
        };
        if !TOPIC_ATTRIBUTE_KEYS.contains(&key) {
            return Err(format!("unsupported key: {key}"));
        }
        match value {
            Some(v) => attributes.insert(key.to_owned(), v.to_owned()),
            None => attributes.remove(key),
        };
    }
    Ok(())
}

/// Name, system-topic, queue-number and permission rules of a topic created by an admin.
fn check_topic_config(h: &BrokerHandler, t: &TopicConfig) -> Result<(), String> {
    if let Err(e) = tv::validate_topic(&t.topic_name) {
        return Err(match e {
            crate::Error::InvalidName { reason, .. } => reason,
            other => other.to_string(),
        });
    }
    if lock(&h.shared.topics).is_system_topic(&t.topic_name) {
        return Err(format!(
            "The topic[{}] is conflict with system topic.",
            t.topic_name
        ));
    }
    let range = 1..=MAX_QUEUE_NUMS;
    if !range.contains(&t.read_queue_nums) || !range.contains(&t.write_queue_nums) {
        return Err(format!(
            "readQueueNums {} and writeQueueNums {} must be within 1..={MAX_QUEUE_NUMS}",
            t.read_queue_nums, t.write_queue_nums
        ));
    }
    if t.perm < 0 || t.perm > (PERM_PRIORITY << 1) - 1 {
        return Err(format!("perm {} is not a permission bit set", t.perm));
    }
    Ok(())
}

/// UPDATE_AND_CREATE_TOPIC: creates or replaces a topic, then re-registers.
pub fn create_topic(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    refuse_on_slave(h, req)?;
    let header: CreateTopicRequestHeader = decode(req)?;
    let bad = |remark: String| error(req, ResponseCode::SYSTEM_ERROR, remark);
    let topic_filter_type = TopicFilterType::from_name(header.topic_filter_type.trim())
        .ok_or_else(|| {
            bad(format!(
                "unknown topicFilterType {}",
                header.topic_filter_type
            ))
        })?;
    let mut attributes = lock(&h.shared.topics)
        .select(&header.topic)
        .map(|t| t.attributes.clone())
        .unwrap_or_default();
    if let Some(change) = header.attributes.as_deref() {
        apply_attributes(&mut attributes, change).map_err(bad)?;
    }
    let config = TopicConfig {
        attributes,
        order: header.order,
        perm: header.perm,
        read_queue_nums: header.read_queue_nums,
        topic_filter_type,
        topic_name: header.topic.clone(),
        topic_sys_flag: header.topic_sys_flag.unwrap_or(0),
        write_queue_nums: header.write_queue_nums,
    };
    check_topic_config(h, &config).map_err(bad)?;
    log::info!("admin creates or updates topic {}", header.topic);
    let now = wall_ms();
    h.shared.change_topics(|t| t.update(config, now));
    Ok(Reply::Now(success(req)))
}

/// UPDATE_AND_CREATE_TOPIC_LIST: [`create_topic`] for every topic of the body; nothing is
/// changed unless all of them are valid.
pub fn create_topic_list(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    refuse_on_slave(h, req)?;
    let body = TopicConfigList::decode_body(&req.body).map_err(|e| {
        error(
            req,
            ResponseCode::SYSTEM_ERROR,
            format!("bad topic list: {e}"),
        )
    })?;
    for t in &body.topic_config_list {
        check_topic_config(h, t).map_err(|e| error(req, ResponseCode::SYSTEM_ERROR, e))?;
    }
    let now = wall_ms();
    h.shared.change_topics(|table| {
        for t in body.topic_config_list {
            table.update(t, now);
        }
    });
    Ok(Reply::Now(success(req)))
}

/// DELETE_TOPIC_IN_BROKER: removes the topic, every group's offsets on it and its consume
/// queues, then re-registers.
pub fn delete_topic(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    refuse_on_slave(h, req)?;
    let header: DeleteTopicRequestHeader = decode(req)?;
    let topic = header.topic;
    let probe = TopicConfig::new(topic.as_str());
    if let Err(remark) = check_topic_config(h, &probe) {
        return Err(error(req, ResponseCode::SYSTEM_ERROR, remark));
    }
    let now = wall_ms();
    h.shared.change_topics(|t| t.delete(&topic, now));
    if lock(&h.shared.offsets).remove_offset_by_topic(&topic) > 0 {
        h.shared.mark_dirty(PERSIST_CONSUMER_OFFSETS);
    }
    let doomed = HashSet::from([topic.clone()]);
    let removed = h
        .shared
        .store
        .delete_topics(&doomed)
        .map_err(|e| error(req, ResponseCode::SYSTEM_ERROR, e.to_string()))?;
    h.stats.remove_where(stats::TOPIC_PUT_NUMS, |k| k == topic);
    h.stats.remove_where(stats::TOPIC_PUT_SIZE, |k| k == topic);
    log::info!("topic {topic} deleted with {removed} consume queues");
    Ok(Reply::Now(success(req)))
}

/// GET_TOPIC_CONFIG: one topic's config; TOPIC_NOT_EXIST when unknown.
pub fn topic_config(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: GetTopicConfigRequestHeader = decode(req)?;
    match lock(&h.shared.topics).select(&header.topic) {
        Some(t) => Ok(Reply::Now(success(req).with_body(t.encode_body()))),
        None => {
            let remark = format!("No topic in this broker. topic: {}", header.topic);
            Err(error(req, ResponseCode::TOPIC_NOT_EXIST, remark))
        }
    }
}

/// The names of the topics `keep` selects, with this broker's address.
fn topic_list(
    h: &mut BrokerHandler,
    req: &RemotingCommand,
    keep: fn(&crate::manager::TopicConfigManager, &str) -> bool,
) -> Outcome {
    let topics = lock(&h.shared.topics);
    let topic_list: BTreeSet<String> = topics
        .table()
        .keys()
        .filter(|name| keep(&topics, name))
        .cloned()
        .collect();
    drop(topics);
    let body = TopicList {
        broker_addr: Some(h.shared.config.broker_addr()),
        topic_list,
    };
    Ok(Reply::Now(success(req).with_body(body.encode_body())))
}

/// UPDATE_AND_CREATE_SUBSCRIPTIONGROUP: creates or replaces a group from its JSON config.
pub fn create_group(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    refuse_on_slave(h, req)?;
    let config = SubscriptionGroupConfig::decode_body(&req.body).map_err(|e| {
        error(
            req,
            ResponseCode::SYSTEM_ERROR,
            format!("bad group config: {e}"),
        )
    })?;
    if let Err(e) = tv::validate_group(&config.group_name) {
        return Err(error(req, ResponseCode::SYSTEM_ERROR, e.to_string()));
    }
    log::info!("admin creates or updates group {}", config.group_name);
    lock(&h.shared.groups).update(config, wall_ms());
    h.shared.mark_dirty(PERSIST_SUBSCRIPTION_GROUPS);
    Ok(Reply::Now(success(req)))
}

/// DELETE_SUBSCRIPTIONGROUP: removes a group and, with `cleanOffset`, its offsets.
pub fn delete_group(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    refuse_on_slave(h, req)?;
    let header: DeleteSubscriptionGroupRequestHeader = decode(req)?;
    let group = header.group_name;
    if lock(&h.shared.groups).delete(&group, wall_ms()).is_some() {
        h.shared.mark_dirty(PERSIST_SUBSCRIPTION_GROUPS);
    }
    if header.clean_offset == Some(true)
        && lock(&h.shared.offsets).remove_offset_by_group(&group) > 0
    {
        h.shared.mark_dirty(PERSIST_CONSUMER_OFFSETS);
    }
    let suffix = format!("@{group}");
    h.stats
        .remove_where(stats::GROUP_GET_NUMS, |k| k.ends_with(&suffix));
    h.stats
        .remove_where(stats::GROUP_GET_SIZE, |k| k.ends_with(&suffix));
    Ok(Reply::Now(success(req)))
}

/// GET_SUBSCRIPTIONGROUP_CONFIG: one group's config; SYSTEM_ERROR when unknown.
pub fn group_config(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let header: GetSubscriptionGroupConfigRequestHeader = decode(req)?;
    match lock(&h.shared.groups).find(&header.group) {
        Some(g) => Ok(Reply::Now(success(req).with_body(g.encode_body()))),
        None => Err(error(
            req,
            ResponseCode::SYSTEM_ERROR,
            "No group in this broker",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_changes() {
        let mut a = std::collections::BTreeMap::new();
        apply_attributes(&mut a, "+message.type=FIFO,+queue.type=BatchCQ").unwrap();
        assert_eq!(a.get("message.type").map(String::as_str), Some("FIFO"));
        apply_attributes(&mut a, " -queue.type ").unwrap();
        assert!(!a.contains_key("queue.type"));
        assert!(apply_attributes(&mut a, "+bad.key=x")
            .unwrap_err()
            .contains("unsupported"));
        assert!(apply_attributes(&mut a, "message.type=x").is_err());
        assert!(apply_attributes(&mut a, "+message.type").is_err());
        assert!(apply_attributes(&mut a, "-message.type=x").is_err());
        assert!(
            apply_attributes(&mut a, "é").is_err(),
            "no panic on multi-byte input"
        );
        assert_eq!(a.len(), 1);
    }
}
