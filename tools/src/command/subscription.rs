//! Subscription group commands: updateSubGroup, deleteSubGroup.

use getopts::{Matches, Options};
use protocol::body::store_config::SubscriptionGroupConfig;
use serde_json::json;

use super::consumer::{DLQ_GROUP_TOPIC_PREFIX, RETRY_GROUP_TOPIC_PREFIX};
use super::topic::delete_topic;
use super::{boolean, broker_or_cluster, number, required, Env, SubCommand, Target};
use crate::error::{Error, Result};
use crate::output::Output;

/// `updateSubGroup -g <groupName> (-b <brokerAddr> | -c <clusterName>) [-s] [-m] [-d] [-q] [-r]
/// [-i] [-w] [-a]`.
pub struct UpdateSubGroup;

impl SubCommand for UpdateSubGroup {
    fn name(&self) -> &'static str {
        "updateSubGroup"
    }

    fn description(&self) -> &'static str {
        "Update or create subscription group"
    }

    fn options(&self, opts: &mut Options) {
        opts.optopt(
            "b",
            "brokerAddr",
            "create subscription group to which broker",
            "<brokerAddr>",
        );
        opts.optopt(
            "c",
            "clusterName",
            "create subscription group to which cluster",
            "<clusterName>",
        );
        opts.reqopt("g", "groupName", "consumer group name", "<groupName>");
        opts.optopt(
            "s",
            "consumeEnable",
            "consume enable (true|false)",
            "<consumeEnable>",
        );
        opts.optopt(
            "m",
            "consumeFromMinEnable",
            "from min offset (true|false)",
            "<consumeFromMinEnable>",
        );
        opts.optopt(
            "d",
            "consumeBroadcastEnable",
            "broadcast (true|false)",
            "<consumeBroadcastEnable>",
        );
        opts.optopt(
            "q",
            "retryQueueNums",
            "retry queue nums",
            "<retryQueueNums>",
        );
        opts.optopt("r", "retryMaxTimes", "retry max times", "<retryMaxTimes>");
        opts.optopt(
            "i",
            "brokerId",
            "consumer from which broker id",
            "<brokerId>",
        );
        opts.optopt(
            "w",
            "whichBrokerWhenConsumeSlowly",
            "which broker id when consume slowly",
            "<whichBrokerWhenConsumeSlowly>",
        );
        opts.optopt(
            "a",
            "notifyConsumerIdsChanged",
            "notify consumerId changed (true|false)",
            "<notifyConsumerIdsChanged>",
        );
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let config = group_config_from(m)?;
        let target = broker_or_cluster(m)?;
        let admin = env.admin(m)?;
        let addrs = match target {
            Target::Broker(addr) => vec![addr],
            Target::Cluster(cluster) => admin.master_addrs_of_cluster(&cluster)?,
        };
        for addr in &addrs {
            admin.create_subscription_group(addr, &config)?;
            out.line(format!("create subscription group to {addr} success."));
        }
        out.line(describe_group_config(&config));
        out.json(json!({"subscriptionGroupConfig": config, "brokers": addrs}));
        Ok(())
    }
}

/// Builds the group config from the options; like Java, broadcast and from-min default to false.
fn group_config_from(m: &Matches) -> Result<SubscriptionGroupConfig> {
    let mut c = SubscriptionGroupConfig::new(required(m, "g")?);
    c.consume_broadcast_enable = false;
    c.consume_from_min_enable = false;
    if let Some(v) = boolean(m, "s")? {
        c.consume_enable = v;
    }
    if let Some(v) = boolean(m, "m")? {
        c.consume_from_min_enable = v;
    }
    if let Some(v) = boolean(m, "d")? {
        c.consume_broadcast_enable = v;
    }
    if let Some(v) = number(m, "q")? {
        c.retry_queue_nums = v;
    }
    if let Some(v) = number(m, "r")? {
        c.retry_max_times = v;
    }
    if let Some(v) = number(m, "i")? {
        c.broker_id = v;
    }
    if let Some(v) = number(m, "w")? {
        c.which_broker_when_consume_slowly = v;
    }
    if let Some(v) = boolean(m, "a")? {
        c.notify_consumer_ids_changed_enable = v;
    }
    if c.retry_queue_nums < 0 || c.retry_max_times < -1 {
        return Err(Error::usage(
            "retryQueueNums must be >= 0 and retryMaxTimes >= -1",
        ));
    }
    Ok(c)
}

/// Java's `SubscriptionGroupConfig.toString()` (the fields mqadmin sets).
pub fn describe_group_config(c: &SubscriptionGroupConfig) -> String {
    format!(
        "SubscriptionGroupConfig [groupName={}, consumeEnable={}, consumeFromMinEnable={}, consumeBroadcastEnable={}, retryQueueNums={}, retryMaxTimes={}, brokerId={}, whichBrokerWhenConsumeSlowly={}, notifyConsumerIdsChangedEnable={}]",
        c.group_name,
        c.consume_enable,
        c.consume_from_min_enable,
        c.consume_broadcast_enable,
        c.retry_queue_nums,
        c.retry_max_times,
        c.broker_id,
        c.which_broker_when_consume_slowly,
        c.notify_consumer_ids_changed_enable
    )
}

/// `deleteSubGroup -g <groupName> (-b <brokerAddr> | -c <clusterName>) [-r <removeOffset>]`.
pub struct DeleteSubGroup;

impl SubCommand for DeleteSubGroup {
    fn name(&self) -> &'static str {
        "deleteSubGroup"
    }

    fn description(&self) -> &'static str {
        "Delete subscription group from broker."
    }

    fn options(&self, opts: &mut Options) {
        opts.optopt(
            "b",
            "brokerAddr",
            "delete subscription group from which broker",
            "<brokerAddr>",
        );
        opts.optopt(
            "c",
            "clusterName",
            "delete subscription group from which cluster",
            "<clusterName>",
        );
        opts.reqopt("g", "groupName", "subscription group name", "<groupName>");
        opts.optopt(
            "r",
            "removeOffset",
            "remove the group's offsets too (true|false, default false)",
            "<removeOffset>",
        );
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let group = required(m, "g")?;
        let clean_offset = boolean(m, "r")?.unwrap_or(false);
        let target = broker_or_cluster(m)?;
        let admin = env.admin(m)?;
        match target {
            Target::Broker(addr) => {
                admin.delete_subscription_group(&addr, &group, clean_offset)?;
                out.line(format!(
                    "delete subscription group [{group}] from broker [{addr}] success."
                ));
                out.json(json!({"group": group, "brokers": [addr]}));
            }
            Target::Cluster(cluster) => {
                let masters = admin.master_addrs_of_cluster(&cluster)?;
                for addr in &masters {
                    admin.delete_subscription_group(addr, &group, clean_offset)?;
                    out.line(format!(
                        "delete subscription group [{group}] from broker [{addr}] in cluster [{cluster}] success."
                    ));
                }
                // Java also removes the group's retry and dead-letter topics; they may not exist.
                for prefix in [RETRY_GROUP_TOPIC_PREFIX, DLQ_GROUP_TOPIC_PREFIX] {
                    let topic = format!("{prefix}{group}");
                    if let Err(e) = delete_topic(&admin, &cluster, &topic, out) {
                        out.warn(format!("could not delete topic {topic}: {e}"));
                    }
                }
                out.json(json!({"group": group, "cluster": cluster, "brokers": masters}));
            }
        }
        Ok(())
    }
}
