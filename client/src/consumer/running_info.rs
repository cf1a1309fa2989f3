//! GET_CONSUMER_RUNNING_INFO (307, broker → client): what a push consumer reports about
//! itself to `mqadmin consumerStatus` and RocketMQ's dashboard (Java `ConsumerRunningInfo`):
//! its settings as properties, its subscriptions, and the processing state of every queue it
//! owns. Consume and pull rates (`statusTable`) are not measured by this client and are left
//! out rather than reported as zeros.

use std::collections::BTreeMap;

use protocol::body::running_info::{
    ConsumerRunningInfo, PROP_CLIENT_VERSION, PROP_CONSUMER_START_TIMESTAMP, PROP_CONSUME_ORDERLY,
    PROP_CONSUME_TYPE, PROP_NAMESERVER_ADDR, PROP_THREADPOOL_CORE_SIZE,
};
use protocol::body::MqMap;
use serde_json::{json, Value};

use super::offset_store::ReadOffsetType;
use super::push::PushInner;

impl PushInner {
    /// This consumer's running info (see the module docs).
    pub(crate) fn running_info(&self) -> ConsumerRunningInfo {
        let mut mq_table = MqMap::default();
        let owned: Vec<_> = crate::instance::lock(&self.table)
            .iter()
            .map(|(mq, pq)| (mq.clone(), pq.clone()))
            .collect();
        for (mq, pq) in owned {
            let commit = self
                .ctx
                .offsets
                .read(&mq, ReadOffsetType::Memory)
                .ok()
                .flatten()
                .unwrap_or(-1);
            let info = pq.lock().info(commit, pq.is_dropped());
            mq_table.insert(mq, info);
        }
        let subscription_set = self
            .ctx
            .topics()
            .iter()
            .filter_map(|t| self.ctx.subscription(t))
            .collect();
        ConsumerRunningInfo {
            mq_table,
            properties: self.properties(),
            subscription_set,
            ..Default::default()
        }
    }

    /// The consumer's settings, under Java's property names.
    fn properties(&self) -> BTreeMap<String, Value> {
        let c = &self.config;
        let core = &self.ctx.core;
        let pairs = [
            (
                PROP_NAMESERVER_ADDR,
                json!(core.config.namesrv_addrs.join(";")),
            ),
            (PROP_THREADPOOL_CORE_SIZE, json!(c.consume_thread_nums)),
            (PROP_CONSUME_ORDERLY, json!(self.listener.is_orderly())),
            (PROP_CONSUME_TYPE, json!("CONSUME_PASSIVELY")),
            (PROP_CLIENT_VERSION, json!("V5_3_3")),
            (PROP_CONSUMER_START_TIMESTAMP, json!(self.started_ms)),
            ("consumerGroup", json!(self.ctx.group)),
            ("messageModel", json!(self.ctx.model.name())),
            ("consumeFromWhere", json!(c.consume_from.to_where().name())),
            ("consumeThreadMin", json!(c.consume_thread_nums)),
            ("consumeThreadMax", json!(c.consume_thread_nums)),
            (
                "consumeMessageBatchMaxSize",
                json!(c.consume_message_batch_max_size),
            ),
            ("pullBatchSize", json!(c.pull_batch_size)),
            ("pullThresholdForQueue", json!(c.pull_threshold_for_queue)),
            ("maxReconsumeTimes", json!(c.max_reconsume_times)),
            ("clientId", json!(core.client_id)),
        ];
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }
}
