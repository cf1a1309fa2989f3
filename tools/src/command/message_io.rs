//! Reading messages: consumeMessage and printMsg (PULL_MESSAGE with explicit offsets; no
//! consumer offset is ever committed), and the queue listing they share.

use getopts::{Matches, Options};
use protocol::body::route::TopicRouteData;
use protocol::message::{parse_sub_expression, MessageExt, TagFilter};
use protocol::util::clock::now_millis;
use serde_json::{json, Value};

use super::message::{body_text, check_charset, message_json};
use super::{boolean, number, optional, required, timestamp, Env, SubCommand};
use crate::admin::AdminClient;
use crate::admin_message::{display_msg_id, PullStatus, TOOLS_CONSUMER_GROUP};
use crate::error::{Error, Result};
use crate::output::{Output, Table};

/// Messages asked for per pull.
const PULL_BATCH: i32 = 32;
/// consumeMessage's default message count (Java's).
const DEFAULT_CONSUME_COUNT: i64 = 128;

/// One queue to read: broker name, the address to pull from, queue id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueRef {
    /// Broker group name.
    pub broker_name: String,
    /// Address pulled from (master, else a slave).
    pub addr: String,
    /// Queue id.
    pub queue_id: i32,
}

/// Readable queues of a route, optionally only those of one broker; sorted.
pub fn readable_queues(route: &TopicRouteData, broker: Option<&str>) -> Vec<QueueRef> {
    let mut queues = Vec::new();
    for qd in route.queue_datas.iter().filter(|q| q.is_readable()) {
        if broker.is_some_and(|b| b != qd.broker_name) {
            continue;
        }
        let Some(addr) = route
            .find_broker(&qd.broker_name)
            .and_then(|b| b.select_broker_addr())
        else {
            continue;
        };
        for queue_id in 0..qd.read_queue_nums {
            queues.push(QueueRef {
                broker_name: qd.broker_name.clone(),
                addr: addr.to_string(),
                queue_id,
            });
        }
    }
    queues.sort_by(|a, b| (&a.broker_name, a.queue_id).cmp(&(&b.broker_name, b.queue_id)));
    queues
}

/// Pulls `[start, end)` of one queue, at most `limit` messages, keeping those `filter` accepts.
#[allow(clippy::too_many_arguments)]
fn pull_range(
    admin: &AdminClient,
    group: &str,
    topic: &str,
    q: &QueueRef,
    (start, end): (i64, i64),
    limit: i64,
    filter: &TagFilter,
    expression: &str,
) -> Result<(Vec<MessageExt>, PullStatus, i64)> {
    let mut offset = start;
    let mut found = Vec::new();
    let mut status = PullStatus::NoNewMsg;
    while offset < end && (found.len() as i64) < limit {
        let want = (end - offset)
            .min(limit - found.len() as i64)
            .min(PULL_BATCH as i64);
        let pulled = admin.pull(
            &q.addr,
            group,
            topic,
            q.queue_id,
            offset,
            want as i32,
            expression,
        )?;
        status = pulled.status;
        let next = pulled.next_begin_offset;
        match pulled.status {
            PullStatus::Found => found.extend(
                pulled
                    .messages
                    .into_iter()
                    .filter(|m| m.queue_offset < end && filter.matches_tag(m.tags())),
            ),
            PullStatus::NoMatchedMsg => {}
            PullStatus::NoNewMsg | PullStatus::OffsetIllegal => break,
        }
        if next <= offset {
            break;
        }
        offset = next;
    }
    found.truncate(limit.max(0) as usize);
    Ok((found, status, offset))
}

fn message_table() -> Table {
    Table::new(&[
        ("#Broker Name", "brokerName"),
        ("#QID", "queueId"),
        ("#Offset", "queueOffset"),
        ("#MsgId", "msgId"),
        ("#Tags", "tags"),
        ("#Keys", "keys"),
        ("#Body", "body"),
    ])
}

fn add_message_row(table: &mut Table, broker: &str, msg: &MessageExt, print_body: bool) {
    let body = if print_body {
        body_text(msg)
    } else {
        "NOT PRINT BODY".to_string()
    };
    table.row(vec![
        json!(broker),
        json!(msg.queue_id),
        json!(msg.queue_offset),
        json!(display_msg_id(msg)),
        json!(msg.tags().unwrap_or("")),
        json!(msg.keys().collect::<Vec<_>>().join(" ")),
        json!(body),
    ]);
}

fn message_entry(broker: &str, msg: &MessageExt, print_body: bool) -> Value {
    let mut v = message_json(msg);
    v["brokerName"] = json!(broker);
    if !print_body {
        v["body"] = Value::Null;
    }
    v
}

/// `consumeMessage -t <topic> [-b <brokerName> [-i <queueId> [-o <offset>]]] [-g <group>]
/// [-s <begin>] [-e <end>] [-c <count>]`.
pub struct ConsumeMessage;

impl SubCommand for ConsumeMessage {
    fn name(&self) -> &'static str {
        "consumeMessage"
    }

    fn description(&self) -> &'static str {
        "Consume message"
    }

    fn options(&self, opts: &mut Options) {
        opts.reqopt("t", "topic", "Topic name", "<topic>");
        opts.optopt("b", "brokerName", "Broker name", "<brokerName>");
        opts.optopt("i", "queueId", "Queue Id", "<queueId>");
        opts.optopt("o", "offset", "Queue offset", "<offset>");
        opts.optopt(
            "g",
            "consumerGroup",
            "Consumer group name (no offset is committed)",
            "<consumerGroup>",
        );
        opts.optopt(
            "s",
            "beginTimestamp",
            "Begin timestamp[currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]",
            "<beginTimestamp>",
        );
        opts.optopt(
            "e",
            "endTimestamp",
            "End timestamp[currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]",
            "<endTimestamp>",
        );
        opts.optopt(
            "c",
            "MessageNumber",
            "Number of message to be consumed (default 128)",
            "<MessageNumber>",
        );
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let topic = required(m, "t")?;
        let broker = optional(m, "b");
        let queue_id: Option<i32> = number(m, "i")?;
        let offset: Option<i64> = number(m, "o")?;
        if queue_id.is_some() && broker.is_none() {
            return Err(Error::usage("Please set the brokerName before queueId!"));
        }
        if offset.is_some() && queue_id.is_none() {
            return Err(Error::usage("please set queueId before offset!"));
        }
        let count = number::<i64>(m, "c")?.unwrap_or(DEFAULT_CONSUME_COUNT);
        if count <= 0 {
            return Err(Error::usage("please input a positive messageNumber!"));
        }
        let now_ms = now_millis() as i64;
        let begin = timestamp(m, "s", now_ms)?;
        let end = timestamp(m, "e", now_ms)?;
        let group = optional(m, "g").unwrap_or_else(|| TOOLS_CONSUMER_GROUP.to_string());
        let admin = env.admin(m)?;
        let route = admin.topic_route(&topic)?;
        let queues: Vec<QueueRef> = readable_queues(&route, broker.as_deref())
            .into_iter()
            .filter(|q| queue_id.is_none_or(|want| q.queue_id == want))
            .collect();
        if queues.is_empty() {
            return Err(Error::NotFound(format!(
                "topic {topic} has no readable queue matching the options"
            )));
        }
        let mut table = message_table();
        let mut entries = Vec::new();
        let mut left = count;
        let all = parse_sub_expression("*");
        for q in &queues {
            if left == 0 {
                break;
            }
            let (start, stop) = queue_range(&admin, &topic, q, begin, end)?;
            let start = start.max(offset.unwrap_or(start));
            let (msgs, _, _) =
                pull_range(&admin, &group, &topic, q, (start, stop), left, &all, "*")?;
            left -= msgs.len() as i64;
            for msg in &msgs {
                add_message_row(&mut table, &q.broker_name, msg, true);
                entries.push(message_entry(&q.broker_name, msg, true));
            }
        }
        out.table(&table);
        out.line(format!("consumed {} message(s)", entries.len()));
        out.json(Value::Array(entries));
        Ok(())
    }
}

/// A queue's `[min, max)` offsets, narrowed by begin/end timestamps when given.
fn queue_range(
    admin: &AdminClient,
    topic: &str,
    q: &QueueRef,
    begin: Option<i64>,
    end: Option<i64>,
) -> Result<(i64, i64)> {
    let start = match begin {
        Some(ts) => admin.search_offset(&q.addr, topic, q.queue_id, ts)?,
        None => admin.min_offset(&q.addr, topic, q.queue_id)?,
    };
    let stop = match end {
        Some(ts) => admin.search_offset(&q.addr, topic, q.queue_id, ts)?,
        None => admin.max_offset(&q.addr, topic, q.queue_id)?,
    };
    Ok((start, stop))
}

/// `printMsg -t <topic> [-c <charsetName>] [-s <subExpression>] [-b <begin>] [-e <end>]
/// [-d <printBody>]`.
pub struct PrintMsg;

impl SubCommand for PrintMsg {
    fn name(&self) -> &'static str {
        "printMsg"
    }

    fn description(&self) -> &'static str {
        "Print Message Detail."
    }

    fn options(&self, opts: &mut Options) {
        opts.reqopt("t", "topic", "topic name", "<topic>");
        opts.optopt(
            "c",
            "charsetName",
            "CharsetName (UTF-8 only)",
            "<charsetName>",
        );
        opts.optopt(
            "s",
            "subExpression",
            "Subscribe Expression(eg: TagA || TagB)",
            "<subExpression>",
        );
        opts.optopt(
            "b",
            "beginTimestamp",
            "Begin timestamp[currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]",
            "<beginTimestamp>",
        );
        opts.optopt(
            "e",
            "endTimestamp",
            "End timestamp[currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]",
            "<endTimestamp>",
        );
        opts.optopt(
            "d",
            "printBody",
            "print body (true|false, default true)",
            "<printBody>",
        );
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let topic = required(m, "t")?;
        check_charset(m, "c")?;
        let expression = optional(m, "s").unwrap_or_else(|| "*".to_string());
        let filter = parse_sub_expression(&expression);
        let print_body = boolean(m, "d")?.unwrap_or(true);
        let now_ms = now_millis() as i64;
        let begin = timestamp(m, "b", now_ms)?;
        let end = timestamp(m, "e", now_ms)?;
        let admin = env.admin(m)?;
        let route = admin.topic_route(&topic)?;
        let mut doc = Vec::new();
        for q in readable_queues(&route, None) {
            let (start, stop) = queue_range(&admin, &topic, &q, begin, end)?;
            out.line(format!(
                "minOffset={start}, maxOffset={stop}, MessageQueue [topic={topic}, brokerName={}, queueId={}]",
                q.broker_name, q.queue_id
            ));
            let (msgs, status, next) = pull_range(
                &admin,
                TOOLS_CONSUMER_GROUP,
                &topic,
                &q,
                (start, stop),
                i64::MAX,
                &filter,
                &expression,
            )?;
            let mut table = message_table();
            for msg in &msgs {
                add_message_row(&mut table, &q.broker_name, msg, print_body);
            }
            if !table.is_empty() {
                out.table(&table);
            }
            out.line(format!(
                "print msg finished. status={}, offset={next}",
                status.name()
            ));
            out.line("--------------------------------------------------------");
            doc.push(json!({
                "brokerName": q.broker_name,
                "queueId": q.queue_id,
                "minOffset": start,
                "maxOffset": stop,
                "messages": msgs.iter().map(|msg| message_entry(&q.broker_name, msg, print_body)).collect::<Vec<_>>(),
            }));
        }
        out.json(Value::Array(doc));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route() -> TopicRouteData {
        crate::command::test_route()
    }

    #[test]
    fn readable_queues_use_master_else_slave() {
        let qs = readable_queues(&route(), None);
        let ids: Vec<_> = qs
            .iter()
            .map(|q| (q.broker_name.as_str(), q.addr.as_str(), q.queue_id))
            .collect();
        assert_eq!(
            ids,
            [
                ("broker-a", "10.0.0.1:10911", 0),
                ("broker-a", "10.0.0.1:10911", 1),
                ("broker-b", "10.0.0.2:10911", 0)
            ]
        );
        assert_eq!(readable_queues(&route(), Some("broker-b")).len(), 1);
    }
}
