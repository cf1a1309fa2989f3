//! consumerStatus: the running info of a consumer group's clients (GET_CONSUMER_RUNNING_INFO,
//! asked through the broker the group is connected to, which forwards it to each client).

use getopts::{Matches, Options};
use protocol::body::running_info::{ConsumerRunningInfo, PROP_CONSUME_TYPE};
use serde_json::{json, Value};

use super::consumer::consumer_connection_at;
use super::{optional, required, Env, SubCommand};
use crate::error::{Error, Result};
use crate::output::{Output, Table};

/// `consumerStatus -g <consumerGroup> [-i <clientId>]`.
pub struct ConsumerStatus;

impl SubCommand for ConsumerStatus {
    fn name(&self) -> &'static str {
        "consumerStatus"
    }

    fn description(&self) -> &'static str {
        "Query consumer's internal data structure"
    }

    fn options(&self, opts: &mut Options) {
        opts.reqopt(
            "g",
            "consumerGroup",
            "consumer group name",
            "<consumerGroup>",
        );
        opts.optopt("i", "clientId", "the consumer's client id", "<clientId>");
        opts.optopt(
            "s",
            "jstack",
            "ignored: ferromq clients have no thread dump",
            "<bool>",
        );
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let group = required(m, "g")?;
        let admin = env.admin(m)?;
        let (addr, cc) = consumer_connection_at(&admin, &group)?;
        let wanted = optional(m, "i");
        let clients: Vec<String> = cc
            .connection_set
            .iter()
            .map(|c| c.client_id.clone())
            .filter(|id| wanted.as_ref().is_none_or(|w| w == id))
            .collect();
        if clients.is_empty() {
            let id = wanted.unwrap_or_default();
            return Err(Error::NotFound(format!(
                "client {id} is not connected in consumer group {group}"
            )));
        }
        let mut docs = Vec::new();
        for (i, client_id) in clients.iter().enumerate() {
            let info = admin.consumer_running_info(&addr, &group, client_id)?;
            print_client(out, i + 1, client_id, &info);
            docs.push(client_json(client_id, &info));
        }
        out.json(Value::Array(docs));
        Ok(())
    }
}

fn queue_table(info: &ConsumerRunningInfo) -> Table {
    let mut t = Table::new(&[
        ("#Topic", "topic"),
        ("#Broker Name", "brokerName"),
        ("#QID", "queueId"),
        ("#Commit Offset", "commitOffset"),
        ("#Cached Msgs", "cachedMsgCount"),
        ("#Cached Min", "cachedMsgMinOffset"),
        ("#Cached Max", "cachedMsgMaxOffset"),
        ("#Locked", "locked"),
        ("#Last Pull", "lastPullTimestamp"),
        ("#Last Consume", "lastConsumeTimestamp"),
    ]);
    for (mq, q) in info.mq_table.iter() {
        t.row(vec![
            json!(mq.topic),
            json!(mq.broker_name),
            json!(mq.queue_id),
            json!(q.commit_offset),
            json!(q.cached_msg_count),
            json!(q.cached_msg_min_offset),
            json!(q.cached_msg_max_offset),
            json!(q.locked),
            json!(q.last_pull_timestamp),
            json!(q.last_consume_timestamp),
        ]);
    }
    t
}

fn print_client(out: &mut Output, index: usize, client_id: &str, info: &ConsumerRunningInfo) {
    let consume_type = info.property(PROP_CONSUME_TYPE).unwrap_or_default();
    out.line(format!(
        "{index:03}  {client_id}  {consume_type}  {} queues",
        info.mq_table.len()
    ));
    let subs: Vec<String> = info
        .subscription_set
        .iter()
        .map(|s| format!("{} ({})", s.topic, s.sub_string))
        .collect();
    out.line(format!("     subscriptions: {}", subs.join(", ")));
    out.table(&queue_table(info));
    out.line("");
}

fn client_json(client_id: &str, info: &ConsumerRunningInfo) -> Value {
    let subs: Vec<Value> = info
        .subscription_set
        .iter()
        .map(|s| json!({"topic": s.topic, "subExpression": s.sub_string}))
        .collect();
    json!({
        "clientId": client_id,
        "properties": info.properties,
        "subscriptions": subs,
        "queues": queue_table(info).to_json(),
    })
}
