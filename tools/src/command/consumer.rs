//! Consumer and producer views: consumerProgress, consumerConnection, producerConnection.
//! A consumer group is located through its retry topic `%RETRY%<group>`, as Java's admin does.

use getopts::{Matches, Options};
use protocol::body::connection::{Connection, ConsumerConnection as ConsumerConnectionBody};
use protocol::body::heartbeat::ConsumeType;
use protocol::body::stats::ConsumeStats;
use serde_json::{json, Value};

use super::{optional, required, Env, SubCommand};
use crate::admin::AdminClient;
use crate::error::{Error, Result};
use crate::output::{Output, Table};
use crate::time::format_secs;

/// Prefix of a group's retry topic.
pub const RETRY_GROUP_TOPIC_PREFIX: &str = "%RETRY%";
/// Prefix of a group's dead-letter topic.
pub const DLQ_GROUP_TOPIC_PREFIX: &str = "%DLQ%";

/// A group's consume stats merged over the brokers hosting its retry topic (or `topic`, or
/// its DLQ topic, whichever has a route first); an error if no broker reports any queue.
pub(crate) fn consume_stats(
    admin: &AdminClient,
    group: &str,
    topic: Option<&str>,
) -> Result<ConsumeStats> {
    let mut candidates = vec![format!("{RETRY_GROUP_TOPIC_PREFIX}{group}")];
    if let Some(t) = topic {
        candidates.push(t.to_string());
        candidates.push(format!("{DLQ_GROUP_TOPIC_PREFIX}{group}"));
    }
    let route = candidates
        .iter()
        .find_map(|t| admin.topic_route(t).ok())
        .ok_or_else(|| {
            Error::NotFound(format!(
                "consumer group {group} has no route (is it online or has it consumed?)"
            ))
        })?;
    let mut merged = ConsumeStats::default();
    for broker in &route.broker_datas {
        if let Some(addr) = broker.select_broker_addr() {
            let stats = admin.consume_stats(addr, group, topic)?;
            merged.consume_tps += stats.consume_tps;
            merged.offset_table.0.extend(stats.offset_table.0);
        }
    }
    if merged.offset_table.is_empty() {
        return Err(Error::NotFound(format!(
            "no consume stats for group {group}: the group has not consumed any message"
        )));
    }
    Ok(merged)
}

/// The connections of a consumer group from the first broker of its retry topic that knows
/// the group; an error if the group is not online.
pub(crate) fn consumer_connection(
    admin: &AdminClient,
    group: &str,
) -> Result<ConsumerConnectionBody> {
    consumer_connection_at(admin, group).map(|(_, cc)| cc)
}

/// [`consumer_connection`] with the address of the broker that answered.
pub(crate) fn consumer_connection_at(
    admin: &AdminClient,
    group: &str,
) -> Result<(String, ConsumerConnectionBody)> {
    let not_online = || Error::NotFound(format!("consumer group {group} is not online"));
    let route = admin
        .topic_route(&format!("{RETRY_GROUP_TOPIC_PREFIX}{group}"))
        .map_err(|_| not_online())?;
    for broker in &route.broker_datas {
        if let Some(addr) = broker.select_broker_addr() {
            if let Ok(cc) = admin.consumer_connection(addr, group) {
                if !cc.connection_set.is_empty() {
                    return Ok((addr.to_string(), cc));
                }
            }
        }
    }
    Err(not_online())
}

/// `consumerProgress [-g <group>] [-t <topic>]`.
pub struct ConsumerProgress;

impl SubCommand for ConsumerProgress {
    fn name(&self) -> &'static str {
        "consumerProgress"
    }

    fn description(&self) -> &'static str {
        "Query consumers's progress, speed"
    }

    fn options(&self, opts: &mut Options) {
        opts.optopt("g", "groupName", "consumer group name", "<groupName>");
        opts.optopt("t", "topicName", "topic name", "<topicName>");
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let admin = env.admin(m)?;
        match optional(m, "g") {
            Some(group) => group_progress(&admin, &group, optional(m, "t").as_deref(), out),
            None => all_groups(&admin, out),
        }
    }
}

fn group_progress(
    admin: &AdminClient,
    group: &str,
    topic: Option<&str>,
    out: &mut Output,
) -> Result<()> {
    let stats = consume_stats(admin, group, topic)?;
    let mut table = Table::new(&[
        ("#Topic", "topic"),
        ("#Broker Name", "brokerName"),
        ("#QID", "queueId"),
        ("#Broker Offset", "brokerOffset"),
        ("#Consumer Offset", "consumerOffset"),
        ("#Diff", "diff"),
        ("#LastTime", "lastTime"),
    ]);
    let mut rows = Vec::new();
    let mut diff_total = 0i64;
    for (mq, o) in stats.offset_table.iter() {
        let diff = o.broker_offset - o.consumer_offset;
        diff_total += diff;
        let last = if o.last_timestamp > 0 {
            format_secs(o.last_timestamp)
        } else {
            String::new()
        };
        table.row(vec![
            json!(mq.topic),
            json!(mq.broker_name),
            json!(mq.queue_id),
            json!(o.broker_offset),
            json!(o.consumer_offset),
            json!(diff),
            json!(last),
        ]);
        rows.push(json!({
            "topic": mq.topic, "brokerName": mq.broker_name, "queueId": mq.queue_id,
            "brokerOffset": o.broker_offset, "consumerOffset": o.consumer_offset,
            "diff": diff, "lastTimestamp": o.last_timestamp,
        }));
    }
    out.table(&table);
    out.line("");
    out.line(format!("Consume TPS: {:.2}", stats.consume_tps));
    out.line(format!("Diff Total: {diff_total}"));
    out.json(json!({"offsets": rows, "consumeTps": stats.consume_tps, "diffTotal": diff_total}));
    Ok(())
}

fn all_groups(admin: &AdminClient, out: &mut Output) -> Result<()> {
    let topics = admin.all_topics()?.topic_list;
    let mut table = Table::new(&[
        ("#Group", "group"),
        ("#Count", "count"),
        ("#Version", "version"),
        ("#Type", "type"),
        ("#Model", "model"),
        ("#TPS", "tps"),
        ("#Diff Total", "diffTotal"),
    ]);
    for topic in &topics {
        let Some(group) = topic.strip_prefix(RETRY_GROUP_TOPIC_PREFIX) else {
            continue;
        };
        // As in Java, a group whose stats or connections cannot be read is still listed.
        let stats = consume_stats(admin, group, None).ok();
        let cc = consumer_connection(admin, group).ok();
        let count = cc.as_ref().map_or(0, |c| c.connection_set.len());
        let (version, kind, model) = match cc.as_ref().filter(|_| count > 0) {
            Some(c) => (
                c.compute_min_version().to_string(),
                if c.consume_type == ConsumeType::ConsumeActively {
                    "PULL"
                } else {
                    "PUSH"
                },
                c.message_model.name().to_string(),
            ),
            None => ("OFFLINE".to_string(), "", String::new()),
        };
        table.row(vec![
            json!(group),
            json!(count),
            json!(version),
            json!(kind),
            json!(model),
            json!(stats.as_ref().map_or(0, |s| s.consume_tps as i64)),
            json!(stats.as_ref().map_or(0, ConsumeStats::compute_total_diff)),
        ]);
    }
    out.table_result(&table);
    Ok(())
}

pub(crate) fn connection_table(conns: &[Connection]) -> Table {
    let mut table = Table::new(&[
        ("#", "index"),
        ("#ClientId", "clientId"),
        ("#ClientAddr", "clientAddr"),
        ("#Language", "language"),
        ("#Version", "version"),
    ]);
    for (i, c) in conns.iter().enumerate() {
        table.row(vec![
            json!(format!("{:03}", i + 1)),
            json!(c.client_id),
            json!(c.client_addr),
            json!(c.language.name()),
            json!(c.version),
        ]);
    }
    table
}

/// `consumerConnection -g <consumerGroup>`.
pub struct ConsumerConnection;

impl SubCommand for ConsumerConnection {
    fn name(&self) -> &'static str {
        "consumerConnection"
    }

    fn description(&self) -> &'static str {
        "Query consumer's socket connection, client version and subscription"
    }

    fn options(&self, opts: &mut Options) {
        opts.reqopt(
            "g",
            "consumerGroup",
            "consumer group name",
            "<consumerGroup>",
        );
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let group = required(m, "g")?;
        let admin = env.admin(m)?;
        let cc = consumer_connection(&admin, &group)?;
        let conns = connection_table(&cc.connection_set);
        out.table(&conns);
        out.line("");
        out.line("Below is subscription:");
        let mut subs = Table::new(&[("#Topic", "topic"), ("#SubExpression", "subExpression")]);
        for sd in cc.subscription_table.values() {
            subs.row(vec![json!(sd.topic), json!(sd.sub_string)]);
        }
        out.table(&subs);
        out.line("");
        out.line(format!("ConsumeType: {}", cc.consume_type.name()));
        out.line(format!("MessageModel: {}", cc.message_model.name()));
        out.line(format!(
            "ConsumeFromWhere: {}",
            cc.consume_from_where.name()
        ));
        out.json(json!({
            "connections": conns.to_json(),
            "subscriptions": subs.to_json(),
            "consumeType": cc.consume_type.name(),
            "messageModel": cc.message_model.name(),
            "consumeFromWhere": cc.consume_from_where.name(),
        }));
        Ok(())
    }
}

/// `producerConnection -g <producerGroup> -t <topic>`.
pub struct ProducerConnection;

impl SubCommand for ProducerConnection {
    fn name(&self) -> &'static str {
        "producerConnection"
    }

    fn description(&self) -> &'static str {
        "Query producer's socket connection and client version"
    }

    fn options(&self, opts: &mut Options) {
        opts.reqopt(
            "g",
            "producerGroup",
            "producer group name",
            "<producerGroup>",
        );
        opts.reqopt("t", "topic", "topic name", "<topic>");
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let group = required(m, "g")?;
        let topic = required(m, "t")?;
        let admin = env.admin(m)?;
        let route = admin.topic_route(&topic)?;
        let mut conns: Vec<Connection> = Vec::new();
        for broker in &route.broker_datas {
            if let Some(addr) = broker.select_master_addr() {
                match admin.producer_connection(addr, &group) {
                    Ok(pc) => conns.extend(pc.connection_set),
                    Err(e) => log::debug!("{e}"),
                }
            }
        }
        conns.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        conns.dedup();
        if conns.is_empty() {
            return Err(Error::NotFound(format!(
                "producer group {group} has no connection on the brokers of topic {topic}"
            )));
        }
        let table = connection_table(&conns);
        out.table(&table);
        out.json(Value::Array(
            table.to_json().as_array().cloned().unwrap_or_default(),
        ));
        Ok(())
    }
}
