//! [`GroupContext`]: what push and lite-pull consumers of a group share — subscriptions, the
//! readable queues of each topic, the offset store, the allocation, and the rules for where a
//! newly assigned queue starts (Java `RebalanceImpl` + `computePullFromWhere` + the pull
//! result post-processing of `PullAPIWrapper`).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex};

use protocol::body::{
    ConsumeFromWhere, ConsumeType, ConsumerData, MessageModel, MessageQueue, SubscriptionData,
};
use protocol::header::{PullMessageRequestHeader, PullSysFlag};
use protocol::message::{decode_records, keys, MessageExt};
use protocol::util::clock::now_millis;

use super::allocate::AllocateStrategy;
use super::offset_store::{local_offsets_path, OffsetStore, ReadOffsetType};
use super::rebalance::compute_target;
use crate::api::PullResponse;
use crate::compress::decompress_if_needed;
use crate::error::{Error, Result};
use crate::instance::{lock, InstanceCore};

/// The retry-topic prefix: `%RETRY%<group>`.
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";

/// The retry topic of `group`.
pub fn retry_topic(group: &str) -> String {
    format!("{RETRY_GROUP_TOPIC_PREFIX}{group}")
}

/// Where a consumer group starts on a queue it has no offset for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumeFrom {
    /// Only messages arriving from now on (the default).
    LastOffset,
    /// Everything still stored.
    FirstOffset,
    /// Messages stored at or after this time (ms since the epoch).
    Timestamp(i64),
}

impl ConsumeFrom {
    /// The heartbeat enum value.
    pub fn to_where(self) -> ConsumeFromWhere {
        match self {
            ConsumeFrom::LastOffset => ConsumeFromWhere::ConsumeFromLastOffset,
            ConsumeFrom::FirstOffset => ConsumeFromWhere::ConsumeFromFirstOffset,
            ConsumeFrom::Timestamp(_) => ConsumeFromWhere::ConsumeFromTimestamp,
        }
    }
}

/// Shared state of one consumer group in one client.
pub(crate) struct GroupContext {
    pub(crate) core: Arc<InstanceCore>,
    pub(crate) group: String,
    pub(crate) model: MessageModel,
    pub(crate) consume_type: ConsumeType,
    pub(crate) consume_from: ConsumeFrom,
    pub(crate) strategy: Arc<dyn AllocateStrategy>,
    pub(crate) offsets: OffsetStore,
    subscriptions: Mutex<BTreeMap<String, SubscriptionData>>,
    subscribe_info: Mutex<HashMap<String, BTreeSet<MessageQueue>>>,
}

impl GroupContext {
    /// The context of `group`; offsets live on the brokers (clustering) or in a file under
    /// `offset_dir` (broadcasting), loaded here.
    pub(crate) fn new(
        core: Arc<InstanceCore>,
        group: String,
        model: MessageModel,
        consume_type: ConsumeType,
        consume_from: ConsumeFrom,
        strategy: Arc<dyn AllocateStrategy>,
        offset_dir: &Path,
    ) -> Result<Self> {
        let offsets = match model {
            MessageModel::Clustering => OffsetStore::remote(core.clone(), &group),
            MessageModel::Broadcasting => {
                let path = local_offsets_path(offset_dir, &core.client_id, &group);
                let store = OffsetStore::local(path, &group);
                store.load()?;
                store
            }
        };
        Ok(GroupContext {
            core,
            group,
            model,
            consume_type,
            consume_from,
            strategy,
            offsets,
            subscriptions: Mutex::new(BTreeMap::new()),
            subscribe_info: Mutex::new(HashMap::new()),
        })
    }

    /// Adds or replaces the subscription of `topic`.
    pub(crate) fn subscribe(&self, topic: &str, expression: &str) {
        let data = SubscriptionData::from_expression(topic, expression, now_millis() as i64);
        lock(&self.subscriptions).insert(topic.to_string(), data);
    }

    /// Removes the subscription of `topic`.
    pub(crate) fn unsubscribe(&self, topic: &str) {
        lock(&self.subscriptions).remove(topic);
        lock(&self.subscribe_info).remove(topic);
    }

    pub(crate) fn subscription(&self, topic: &str) -> Option<SubscriptionData> {
        lock(&self.subscriptions).get(topic).cloned()
    }

    pub(crate) fn topics(&self) -> Vec<String> {
        lock(&self.subscriptions).keys().cloned().collect()
    }

    pub(crate) fn consumer_data(&self) -> ConsumerData {
        ConsumerData {
            consume_from_where: self.consume_from.to_where(),
            consume_type: self.consume_type,
            group_name: self.group.clone(),
            message_model: self.model,
            subscription_data_set: lock(&self.subscriptions).values().cloned().collect(),
            unit_mode: false,
        }
    }

    pub(crate) fn set_subscribe_info(&self, topic: &str, queues: BTreeSet<MessageQueue>) {
        lock(&self.subscribe_info).insert(topic.to_string(), queues);
    }

    pub(crate) fn subscribe_info(&self, topic: &str) -> Option<BTreeSet<MessageQueue>> {
        lock(&self.subscribe_info).get(topic).cloned()
    }

    /// Loads the readable queues of every subscribed topic (at start).
    pub(crate) fn load_subscribe_info(&self) {
        for topic in self.topics() {
            match self.core.subscribe_queues(&topic) {
                Ok(queues) => self.set_subscribe_info(&topic, queues),
                Err(e) => log::warn!("group {}: no route for {topic} yet: {e}", self.group),
            }
        }
    }

    /// The queues this client should own for `topic` now; `None` when the topic's queues or
    /// the group's members are unknown (keep the current assignment).
    pub(crate) fn target_for_topic(&self, topic: &str) -> Option<BTreeSet<MessageQueue>> {
        let target = self.decide_target(topic);
        let known_member = match &target {
            Some((_, cid_all)) => {
                self.model == MessageModel::Broadcasting || cid_all.contains(&self.core.client_id)
            }
            None => false,
        };
        if !known_member {
            self.core.retry_rebalance_soon();
        }
        target.map(|(queues, _)| queues)
    }

    /// The target queues and the member list they were computed from.
    fn decide_target(&self, topic: &str) -> Option<(BTreeSet<MessageQueue>, Vec<String>)> {
        let mq_all = match self.subscribe_info(topic) {
            Some(queues) => queues,
            None => {
                // The route may have appeared since start (e.g. the retry topic, created by
                // the broker on our first heartbeat).
                let queues = self.core.subscribe_queues(topic).ok()?;
                self.set_subscribe_info(topic, queues.clone());
                queues
            }
        };
        let cid_all = match self.model {
            MessageModel::Broadcasting => Vec::new(),
            MessageModel::Clustering => {
                let addr = self.core.find_any_broker_of_topic(topic)?;
                let timeout = self.core.config.rpc_timeout_ms;
                match self
                    .core
                    .api
                    .get_consumer_id_list(&addr, &self.group, timeout)
                {
                    Ok(ids) => ids,
                    Err(e) => {
                        log::warn!(
                            "group {}: consumer list from {addr} failed: {e}",
                            self.group
                        );
                        return None;
                    }
                }
            }
        };
        let target = compute_target(
            self.model,
            self.strategy.as_ref(),
            &self.group,
            &self.core.client_id,
            &mq_all,
            &cid_all,
        );
        Some((target, cid_all))
    }

    /// Where to start consuming `mq` (Java `computePullFromWhere`): the stored offset, else
    /// per [`ConsumeFrom`] (retry topics always from their start).
    pub(crate) fn compute_pull_from_where(&self, mq: &MessageQueue) -> Result<i64> {
        if let Some(offset) = self.offsets.read(mq, ReadOffsetType::Store)? {
            if offset >= 0 {
                return Ok(offset);
            }
        }
        let is_retry = mq.topic.starts_with(RETRY_GROUP_TOPIC_PREFIX);
        let timeout = self.core.config.rpc_timeout_ms;
        let addr = || {
            self.core
                .find_broker_master_or_refresh(&mq.broker_name, &mq.topic)
        };
        match self.consume_from {
            ConsumeFrom::FirstOffset => Ok(0),
            ConsumeFrom::LastOffset if is_retry => Ok(0),
            ConsumeFrom::LastOffset => self.core.api.get_max_offset(&addr()?, mq, timeout),
            ConsumeFrom::Timestamp(_) if is_retry => {
                self.core.api.get_max_offset(&addr()?, mq, timeout)
            }
            ConsumeFrom::Timestamp(ts) => self.core.api.search_offset(&addr()?, mq, ts, timeout),
        }
    }

    /// The PULL_MESSAGE header for `mq` at `offset`, with the subscription carried along
    /// (so the broker does not depend on having seen a heartbeat). `None` when `mq`'s topic
    /// is not subscribed.
    pub(crate) fn pull_header(
        &self,
        mq: &MessageQueue,
        offset: i64,
        max_msgs: i32,
        commit_offset: Option<i64>,
        suspend_ms: u64,
        lite: bool,
    ) -> Option<PullMessageRequestHeader> {
        let sub = self.subscription(&mq.topic)?;
        let commit = commit_offset.filter(|o| *o > 0);
        Some(PullMessageRequestHeader {
            consumer_group: self.group.clone(),
            topic: mq.topic.clone(),
            queue_id: mq.queue_id,
            queue_offset: offset,
            max_msg_nums: max_msgs,
            sys_flag: PullSysFlag::build(commit.is_some(), true, true, false, lite),
            commit_offset: commit.unwrap_or(0),
            suspend_timeout_millis: suspend_ms as i64,
            subscription: Some(sub.sub_string.clone()),
            sub_version: sub.sub_version,
            expression_type: Some(sub.expression_type.clone()),
            ..Default::default()
        })
    }

    /// Decodes a FOUND pull body for `mq` (see [`process_pulled`]).
    pub(crate) fn process_pull(
        &self,
        mq: &MessageQueue,
        resp: &PullResponse,
    ) -> Result<Vec<MessageExt>> {
        let sub = self
            .subscription(&mq.topic)
            .ok_or_else(|| Error::IllegalState(format!("topic {} is not subscribed", mq.topic)))?;
        process_pulled(&sub, resp)
    }

    /// Restores the original topic of a message redelivered through the retry topic.
    pub(crate) fn reset_retry_topic(&self, msg: &mut MessageExt) {
        reset_retry_topic(&self.group, msg);
    }
}

/// Post-processes a FOUND pull body (Java `processPullResult`): decodes the records,
/// re-filters by tag (the broker filters by tag hash only), inflates compressed bodies and
/// records the queue's min/max offsets as properties.
pub fn process_pulled(sub: &SubscriptionData, resp: &PullResponse) -> Result<Vec<MessageExt>> {
    let mut msgs = decode_records(&resp.body)?;
    msgs.retain(|m| sub.matches_tag(m.tags()));
    let (min_offset, max_offset) = (resp.min_offset.to_string(), resp.max_offset.to_string());
    for m in &mut msgs {
        if let Some((body, flag)) = decompress_if_needed(m.sys_flag, &m.body)? {
            m.body = body.into();
            m.sys_flag = flag;
        }
        // Room for these two and CONSUME_START_TIME in one step.
        m.properties.reserve(3);
        m.properties
            .insert_static(keys::MIN_OFFSET, min_offset.as_str());
        m.properties
            .insert_static(keys::MAX_OFFSET, max_offset.as_str());
    }
    Ok(msgs)
}

/// Restores the original topic of a message of `group`'s retry topic (`RETRY_TOPIC`).
pub fn reset_retry_topic(group: &str, msg: &mut MessageExt) {
    if msg.topic.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) == Some(group) {
        if let Some(t) = msg.properties.get(keys::RETRY_TOPIC) {
            msg.topic = t.to_string();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consume_from_maps_to_heartbeat_values() {
        assert_eq!(
            ConsumeFrom::LastOffset.to_where(),
            ConsumeFromWhere::ConsumeFromLastOffset
        );
        assert_eq!(
            ConsumeFrom::FirstOffset.to_where(),
            ConsumeFromWhere::ConsumeFromFirstOffset
        );
        assert_eq!(
            ConsumeFrom::Timestamp(5).to_where(),
            ConsumeFromWhere::ConsumeFromTimestamp
        );
        assert_eq!(retry_topic("G"), "%RETRY%G");
    }

    fn record(offset: i64, tag: Option<&str>, body: &[u8], sys_flag: i32) -> MessageExt {
        let mut m = MessageExt::new("T", bytes::Bytes::copy_from_slice(body));
        m.queue_offset = offset;
        m.sys_flag = sys_flag;
        if let Some(t) = tag {
            m.properties.insert(keys::TAGS, t);
        }
        m
    }

    fn response(msgs: &[MessageExt]) -> PullResponse {
        let mut body = bytes::BytesMut::new();
        for m in msgs {
            m.encode(&mut body).unwrap();
        }
        PullResponse {
            status: crate::api::PullStatus::Found,
            next_begin_offset: 9,
            min_offset: 1,
            max_offset: 10,
            suggest_which_broker_id: 0,
            body: body.freeze(),
        }
    }

    #[test]
    fn pulled_messages_are_filtered_inflated_and_annotated() {
        let packed = crate::compress::zlib_compress(b"compressed body", 5).unwrap();
        let msgs = [
            record(1, Some("A"), b"one", 0),
            record(2, Some("C"), b"two", 0),
            record(3, None, b"three", 0),
            record(4, Some("B"), &packed, 0x1),
        ];
        let sub = SubscriptionData::from_expression("T", "A || B", 0);
        let out = process_pulled(&sub, &response(&msgs)).unwrap();
        let offsets: Vec<i64> = out.iter().map(|m| m.queue_offset).collect();
        assert_eq!(offsets, [1, 4], "tag re-filter keeps A and B only");
        assert_eq!(out[1].body.as_ref(), b"compressed body");
        assert_eq!(out[1].sys_flag & 0x1, 0);
        assert_eq!(out[0].properties.get(keys::MIN_OFFSET), Some("1"));
        assert_eq!(out[0].properties.get(keys::MAX_OFFSET), Some("10"));
        let all = SubscriptionData::from_expression("T", "*", 0);
        assert_eq!(process_pulled(&all, &response(&msgs)).unwrap().len(), 4);
        let mut truncated = response(&msgs);
        truncated.body = truncated.body.slice(..truncated.body.len() - 1);
        assert!(process_pulled(&all, &truncated).is_err());
    }

    #[test]
    fn retry_topic_is_restored_for_own_group_only() {
        let mut m = MessageExt::new("%RETRY%G", "x");
        m.properties.insert(keys::RETRY_TOPIC, "Orders");
        let mut other = m.clone();
        reset_retry_topic("G", &mut m);
        assert_eq!(m.topic, "Orders");
        reset_retry_topic("H", &mut other);
        assert_eq!(other.topic, "%RETRY%G");
    }
}
