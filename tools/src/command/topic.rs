//! Topic commands: updateTopic, deleteTopic, topicList, topicRoute, topicStatus,
//! topicClusterList (wire reference §2.6 workflows).

use std::collections::BTreeMap;

use getopts::{Matches, Options};
use protocol::body::message_queue::MessageQueue;
use protocol::body::perm::{perm_to_string, PERM_READ, PERM_READ_WRITE, PERM_WRITE};
use protocol::body::register_broker::TopicConfig;
use protocol::body::route::TopicRouteData;
use protocol::body::stats::TopicOffset;
use serde_json::{json, Value};

use super::{
    boolean, broker_or_cluster, number, required, validate_topic, Env, SubCommand, Target,
};
use crate::admin::AdminClient;
use crate::error::{Error, Result};
use crate::output::{Output, Table};
use crate::time::format_ms;

/// KV namespace holding ordered topics' `brokerName:queueNums` lists.
pub const ORDER_TOPIC_CONFIG: &str = "ORDER_TOPIC_CONFIG";
/// `TopicSysFlag.FLAG_UNIT`.
const FLAG_UNIT: i32 = 0x1;
/// `TopicSysFlag.FLAG_UNIT_SUB`.
const FLAG_UNIT_SUB: i32 = 0x2;
/// Prefixes of the per-group topics that `topicList -c` leaves out.
const GROUP_TOPIC_PREFIXES: [&str; 2] = ["%RETRY%", "%DLQ%"];

/// `updateTopic -t <topic> (-b <brokerAddr> | -c <clusterName>) [-r] [-w] [-p] [-o] [-u] [-s]`.
pub struct UpdateTopic;

impl SubCommand for UpdateTopic {
    fn name(&self) -> &'static str {
        "updateTopic"
    }

    fn description(&self) -> &'static str {
        "Update or create topic"
    }

    fn options(&self, opts: &mut Options) {
        opts.optopt(
            "b",
            "brokerAddr",
            "create topic to which broker",
            "<brokerAddr>",
        );
        opts.optopt(
            "c",
            "clusterName",
            "create topic to which cluster",
            "<clusterName>",
        );
        opts.reqopt("t", "topic", "topic name", "<topic>");
        opts.optopt(
            "r",
            "readQueueNums",
            "set read queue nums (default 8)",
            "<readQueueNums>",
        );
        opts.optopt(
            "w",
            "writeQueueNums",
            "set write queue nums (default 8)",
            "<writeQueueNums>",
        );
        opts.optopt(
            "p",
            "perm",
            "set topic's permission(2|4|6), intro[2:W 4:R; 6:RW]",
            "<perm>",
        );
        opts.optopt("o", "order", "set topic's order(true|false)", "<order>");
        opts.optopt("u", "unit", "is unit topic (true|false)", "<unit>");
        opts.optopt(
            "s",
            "hasUnitSub",
            "has unit sub (true|false)",
            "<hasUnitSub>",
        );
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let config = topic_config_from(m)?;
        let target = broker_or_cluster(m)?;
        let admin = env.admin(m)?;
        let (addrs, broker_names) = match &target {
            Target::Broker(addr) => (vec![addr.clone()], Vec::new()),
            Target::Cluster(cluster) => {
                let groups = admin.broker_groups_of_cluster(cluster)?;
                let masters: Vec<String> = groups
                    .iter()
                    .filter_map(|g| g.select_master_addr().map(str::to_string))
                    .collect();
                let names = groups.iter().map(|g| g.broker_name.clone()).collect();
                (masters, names)
            }
        };
        if addrs.is_empty() {
            return Err(Error::Failed("the cluster has no master broker".into()));
        }
        for addr in &addrs {
            admin.create_topic(addr, &config)?;
            out.line(format!("create topic to {addr} success."));
        }
        let order_conf = if config.order {
            let conf = match &target {
                Target::Broker(addr) => {
                    let name = broker_name_of(&admin, addr)?;
                    let old = admin.get_kv_config(ORDER_TOPIC_CONFIG, &config.topic_name)?;
                    merge_order_conf(old.as_deref(), &name, config.write_queue_nums)
                }
                Target::Cluster(_) => order_conf(&broker_names, config.write_queue_nums),
            };
            admin.put_kv_config(ORDER_TOPIC_CONFIG, &config.topic_name, &conf)?;
            out.line(format!("set orderConf. isOrder=true, orderConf=[{conf}]"));
            Some(conf)
        } else {
            None
        };
        out.line(describe_topic_config(&config));
        out.json(json!({"topicConfig": config, "brokers": addrs, "orderConf": order_conf}));
        Ok(())
    }
}

/// Builds the topic config from updateTopic's options (Java's defaults: 8/8 queues, RW).
fn topic_config_from(m: &Matches) -> Result<TopicConfig> {
    let topic = required(m, "t")?;
    validate_topic(&topic)?;
    let read = number::<i32>(m, "r")?.unwrap_or(8);
    let write = number::<i32>(m, "w")?.unwrap_or(8);
    if read <= 0 || write <= 0 {
        return Err(Error::usage("queue numbers must be positive"));
    }
    let perm = number::<i32>(m, "p")?.unwrap_or(PERM_READ_WRITE);
    if ![PERM_WRITE, PERM_READ, PERM_READ_WRITE].contains(&perm) {
        return Err(Error::usage(format!(
            "invalid perm {perm}: use 2 (W), 4 (R) or 6 (RW)"
        )));
    }
    let mut sys_flag = 0;
    if boolean(m, "u")?.unwrap_or(false) {
        sys_flag |= FLAG_UNIT;
    }
    if boolean(m, "s")?.unwrap_or(false) {
        sys_flag |= FLAG_UNIT_SUB;
    }
    let mut config = TopicConfig::with_queues(topic, read, write, perm);
    config.topic_sys_flag = sys_flag;
    config.order = boolean(m, "o")?.unwrap_or(false);
    Ok(config)
}

/// Java's `TopicConfig.toString()`.
pub fn describe_topic_config(c: &TopicConfig) -> String {
    format!(
        "TopicConfig [topicName={}, readQueueNums={}, writeQueueNums={}, perm={}, topicFilterType={}, topicSysFlag={}, order={}]",
        c.topic_name,
        c.read_queue_nums,
        c.write_queue_nums,
        perm_to_string(c.perm),
        c.topic_filter_type.name(),
        c.topic_sys_flag,
        c.order
    )
}

/// `brokerName:queueNums` joined with `;`, the ORDER_TOPIC_CONFIG value.
pub fn order_conf(broker_names: &[String], write_queue_nums: i32) -> String {
    broker_names
        .iter()
        .map(|n| format!("{n}:{write_queue_nums}"))
        .collect::<Vec<_>>()
        .join(";")
}

/// Sets one broker's entry in an existing ORDER_TOPIC_CONFIG value, keeping the others (Java
/// does the same for `updateTopic -b -o true`).
pub fn merge_order_conf(old: Option<&str>, broker_name: &str, write_queue_nums: i32) -> String {
    let mut entries: Vec<String> = old
        .unwrap_or("")
        .split(';')
        .map(str::trim)
        .filter(|e| !e.is_empty() && e.split(':').next() != Some(broker_name))
        .map(str::to_string)
        .collect();
    entries.push(format!("{broker_name}:{write_queue_nums}"));
    entries.join(";")
}

/// The broker name of the broker at `addr`, from the cluster table.
fn broker_name_of(admin: &AdminClient, addr: &str) -> Result<String> {
    let info = admin.cluster_info()?;
    info.broker_addr_table
        .values()
        .find(|b| b.broker_addrs.values().any(|a| a == addr))
        .map(|b| b.broker_name.clone())
        .ok_or_else(|| Error::NotFound(format!("no broker with address {addr} is registered")))
}

/// `deleteTopic -t <topic> -c <clusterName>`.
pub struct DeleteTopic;

impl SubCommand for DeleteTopic {
    fn name(&self) -> &'static str {
        "deleteTopic"
    }

    fn description(&self) -> &'static str {
        "Delete topic from broker and NameServer."
    }

    fn options(&self, opts: &mut Options) {
        opts.reqopt("t", "topic", "topic name", "<topic>");
        opts.reqopt(
            "c",
            "clusterName",
            "delete topic from which cluster",
            "<clusterName>",
        );
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let topic = required(m, "t")?;
        let cluster = required(m, "c")?;
        let admin = env.admin(m)?;
        let masters = delete_topic(&admin, &cluster, &topic, out)?;
        out.json(json!({
            "topic": topic,
            "cluster": cluster,
            "brokers": masters,
            "namesrvs": admin.namesrv_addrs(),
        }));
        Ok(())
    }
}

/// Deletes `topic` on every master of `cluster`, then on every NameServer. Returns the masters.
pub(crate) fn delete_topic(
    admin: &AdminClient,
    cluster: &str,
    topic: &str,
    out: &mut Output,
) -> Result<Vec<String>> {
    let masters = admin.master_addrs_of_cluster(cluster)?;
    for addr in &masters {
        admin.delete_topic_in_broker(addr, topic)?;
    }
    out.line(format!(
        "delete topic [{topic}] from cluster [{cluster}] success."
    ));
    for ns in admin.require_namesrv()? {
        admin.delete_topic_in_namesrv(ns, topic, Some(cluster))?;
    }
    out.line(format!("delete topic [{topic}] from NameServer success."));
    Ok(masters)
}

/// `topicRoute -t <topic>`.
pub struct TopicRoute;

impl SubCommand for TopicRoute {
    fn name(&self) -> &'static str {
        "topicRoute"
    }

    fn description(&self) -> &'static str {
        "Examine topic route info"
    }

    fn options(&self, opts: &mut Options) {
        opts.reqopt("t", "topic", "topic name", "<topic>");
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let topic = required(m, "t")?;
        let route = env.admin(m)?.topic_route(&topic)?;
        let value = route_json(&route);
        out.line(serde_json::to_string_pretty(&value).unwrap_or_default());
        out.json(value);
        Ok(())
    }
}

/// A route as standard JSON (broker ids as string keys).
pub fn route_json(route: &TopicRouteData) -> Value {
    serde_json::to_value(route).unwrap_or(Value::Null)
}

/// `topicStatus -t <topic>`.
pub struct TopicStatus;

impl SubCommand for TopicStatus {
    fn name(&self) -> &'static str {
        "topicStatus"
    }

    fn description(&self) -> &'static str {
        "Examine topic Status info"
    }

    fn options(&self, opts: &mut Options) {
        opts.reqopt("t", "topic", "topic name", "<topic>");
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let topic = required(m, "t")?;
        let admin = env.admin(m)?;
        let stats = topic_stats(&admin, &topic)?;
        let mut table = Table::new(&[
            ("#Broker Name", "brokerName"),
            ("#QID", "queueId"),
            ("#Min Offset", "minOffset"),
            ("#Max Offset", "maxOffset"),
            ("#Last Updated", "lastUpdated"),
        ]);
        let mut rows = Vec::new();
        for (mq, o) in &stats {
            let updated = if o.last_update_timestamp > 0 {
                format_ms(o.last_update_timestamp)
            } else {
                String::new()
            };
            table.row(vec![
                json!(mq.broker_name),
                json!(mq.queue_id),
                json!(o.min_offset),
                json!(o.max_offset),
                json!(updated),
            ]);
            rows.push(json!({
                "brokerName": mq.broker_name,
                "queueId": mq.queue_id,
                "minOffset": o.min_offset,
                "maxOffset": o.max_offset,
                "lastUpdateTimestamp": o.last_update_timestamp,
            }));
        }
        out.table(&table);
        out.json(Value::Array(rows));
        Ok(())
    }
}

/// Route lookup, then GET_TOPIC_STATS_INFO on every master hosting the topic, merged.
pub(crate) fn topic_stats(
    admin: &AdminClient,
    topic: &str,
) -> Result<BTreeMap<MessageQueue, TopicOffset>> {
    let route = admin.topic_route(topic)?;
    let mut merged = BTreeMap::new();
    for broker in &route.broker_datas {
        if let Some(addr) = broker.select_master_addr() {
            let table = admin.topic_stats(addr, topic)?;
            merged.extend(table.offset_table.0);
        }
    }
    Ok(merged)
}

/// `topicClusterList -t <topic>`.
pub struct TopicClusterList;

impl SubCommand for TopicClusterList {
    fn name(&self) -> &'static str {
        "topicClusterList"
    }

    fn description(&self) -> &'static str {
        "get cluster info for topic"
    }

    fn options(&self, opts: &mut Options) {
        opts.reqopt("t", "topic", "topic name", "<topic>");
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let topic = required(m, "t")?;
        let admin = env.admin(m)?;
        let route = admin.topic_route(&topic)?;
        let info = admin.cluster_info()?;
        let clusters: Vec<&String> = info
            .cluster_addr_table
            .iter()
            .filter(|(_, names)| {
                route
                    .broker_datas
                    .iter()
                    .any(|b| names.contains(&b.broker_name))
            })
            .map(|(cluster, _)| cluster)
            .collect();
        for c in &clusters {
            out.line(c.as_str());
        }
        out.json(json!(clusters));
        Ok(())
    }
}

/// `topicList [-c]`.
pub struct TopicList;

impl SubCommand for TopicList {
    fn name(&self) -> &'static str {
        "topicList"
    }

    fn description(&self) -> &'static str {
        "Fetch all topic list from name server"
    }

    fn options(&self, opts: &mut Options) {
        opts.optflag(
            "c",
            "clusterModel",
            "print the cluster and consumer groups of each topic",
        );
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let admin = env.admin(m)?;
        let topics = admin.all_topics()?.topic_list;
        if !m.opt_present("c") {
            for t in &topics {
                out.line(t);
            }
            out.json(json!(topics));
            return Ok(());
        }
        let info = admin.cluster_info()?;
        let mut table = Table::new(&[
            ("#Cluster Name", "clusterName"),
            ("#Topic", "topic"),
            ("#Consumer Group", "consumerGroup"),
        ]);
        let wanted = topics
            .iter()
            .filter(|t| !GROUP_TOPIC_PREFIXES.iter().any(|p| t.starts_with(p)));
        for topic in wanted {
            // Like Java, a topic whose route or groups cannot be read is listed without them.
            let route = admin.topic_route(topic).ok();
            let first = route.as_ref().and_then(|r| r.broker_datas.first());
            let cluster = first
                .and_then(|b| {
                    info.cluster_addr_table
                        .iter()
                        .find(|(_, names)| names.contains(&b.broker_name))
                })
                .map(|(c, _)| c.clone())
                .unwrap_or_default();
            let groups = first
                .and_then(|b| b.select_master_addr())
                .and_then(|addr| admin.topic_consumed_by(addr, topic).ok())
                .map(|g| g.group_list.into_iter().collect::<Vec<_>>())
                .filter(|g| !g.is_empty())
                .unwrap_or_else(|| vec![String::new()]);
            for group in groups {
                table.row(vec![json!(cluster), json!(topic), json!(group)]);
            }
        }
        out.table_result(&table);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_conf_and_description_match_java() {
        let names = vec!["broker-a".to_string(), "broker-b".to_string()];
        assert_eq!(order_conf(&names, 4), "broker-a:4;broker-b:4");
        assert_eq!(merge_order_conf(None, "broker-a", 8), "broker-a:8");
        assert_eq!(
            merge_order_conf(Some("broker-a:4;broker-b:4"), "broker-a", 8),
            "broker-b:4;broker-a:8"
        );
        let c = TopicConfig::with_queues("T", 8, 8, 6);
        assert_eq!(
            describe_topic_config(&c),
            "TopicConfig [topicName=T, readQueueNums=8, writeQueueNums=8, perm=RW-, topicFilterType=SINGLE_TAG, topicSysFlag=0, order=false]"
        );
    }
}
