//! `sendMessage`: one message to a queue chosen from the topic's route (SEND_MESSAGE_V2).

use getopts::{Matches, Options};
use protocol::body::route::TopicRouteData;
use protocol::message::Message;
use protocol::util::clock::now_millis;
use serde_json::json;

use super::{number, optional, required, Env, SubCommand};
use crate::admin::AdminClient;
use crate::admin_broker::DEFAULT_TEMPLATE_TOPIC;
use crate::admin_message::AUTO_CREATE_QUEUE_NUMS;
use crate::error::{Error, Result};
use crate::output::{Output, Table};

/// Writable queues of a route whose broker has a master, optionally only one broker's:
/// `(broker name, master address, queue id)`.
pub fn writable_queues(route: &TopicRouteData, broker: Option<&str>) -> Vec<(String, String, i32)> {
    let mut queues = Vec::new();
    for qd in route.queue_datas.iter().filter(|q| q.is_writeable()) {
        if broker.is_some_and(|b| b != qd.broker_name) {
            continue;
        }
        let Some(addr) = route
            .find_broker(&qd.broker_name)
            .and_then(|b| b.select_master_addr())
        else {
            continue;
        };
        for queue_id in 0..qd.write_queue_nums {
            queues.push((qd.broker_name.clone(), addr.to_string(), queue_id));
        }
    }
    queues
}

/// `sendMessage -t <topic> -p <body> [-k <keys>] [-c <tags>] [-b <broker> [-i <queueId>]]`.
pub struct SendMessage;

impl SubCommand for SendMessage {
    fn name(&self) -> &'static str {
        "sendMessage"
    }

    fn description(&self) -> &'static str {
        "Send a message"
    }

    fn options(&self, opts: &mut Options) {
        opts.reqopt("t", "topic", "Topic name", "<topic>");
        opts.reqopt(
            "p",
            "body",
            "UTF-8 string format of the message body",
            "<body>",
        );
        opts.optopt("k", "key", "Message keys", "<key>");
        opts.optopt("c", "tags", "Message tags", "<tags>");
        opts.optopt("b", "broker", "Send message to target broker", "<broker>");
        opts.optopt("i", "qid", "Send message to target queue", "<qid>");
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let topic = required(m, "t")?;
        let body = required(m, "p")?;
        let broker = optional(m, "b");
        let queue_id: Option<i32> = number(m, "i")?;
        if queue_id.is_some() && broker.is_none() {
            return Err(Error::usage(
                "Broker name must be set if the queue is chosen!",
            ));
        }
        let mut msg = Message::new(topic.clone(), body.into_bytes());
        if let Some(tags) = optional(m, "c") {
            msg = msg.with_tags(tags);
        }
        if let Some(keys) = optional(m, "k") {
            msg = msg.with_keys(keys.split_whitespace());
        }
        let admin = env.admin(m)?;
        let route = send_route(&admin, &topic)?;
        let now_ms = now_millis() as i64;
        let (broker_name, addr, queue) =
            pick_queue(&route, &topic, broker.as_deref(), queue_id, now_ms)?;
        let sent = admin.send_message(&addr, &broker_name, queue, &msg, now_ms)?;
        let mut table = Table::new(&[
            ("#Broker Name", "brokerName"),
            ("#QID", "queueId"),
            ("#Send Result", "sendStatus"),
            ("#MsgId", "msgId"),
            ("#OffsetMsgId", "offsetMsgId"),
            ("#Queue Offset", "queueOffset"),
        ]);
        table.row(vec![
            json!(broker_name),
            json!(sent.queue_id),
            json!(sent.status),
            json!(sent.msg_id),
            json!(sent.offset_msg_id),
            json!(sent.queue_offset),
        ]);
        out.table(&table);
        out.json(table.to_json()[0].clone());
        Ok(())
    }
}

/// Chooses the queue to send to among the writable queues (of `broker`, and only `queue_id`
/// when given); `seed` spreads successive sends over the queues.
pub fn pick_queue(
    route: &TopicRouteData,
    topic: &str,
    broker: Option<&str>,
    queue_id: Option<i32>,
    seed: i64,
) -> Result<(String, String, i32)> {
    let candidates: Vec<_> = writable_queues(route, broker)
        .into_iter()
        .filter(|(_, _, q)| queue_id.is_none_or(|want| *q == want))
        .collect();
    if candidates.is_empty() {
        let place = match (broker, queue_id) {
            (Some(b), Some(q)) => format!(" {q} on broker {b}"),
            (Some(b), None) => format!(" on broker {b}"),
            _ => String::new(),
        };
        return Err(Error::NotFound(format!(
            "topic {topic} has no writable queue{place}"
        )));
    }
    let index = seed.unsigned_abs() as usize % candidates.len();
    Ok(candidates[index].clone())
}

/// The route to send to: the topic's own, or, like Java's producer, the auto-create template
/// TBW102's with at most 4 write queues per broker (the broker then creates the topic).
fn send_route(admin: &AdminClient, topic: &str) -> Result<TopicRouteData> {
    match admin.topic_route(topic) {
        Err(Error::TopicNotExist(_)) => {
            let mut route = admin
                .topic_route(DEFAULT_TEMPLATE_TOPIC)
                .map_err(|_| Error::TopicNotExist(topic.to_string()))?;
            for qd in &mut route.queue_datas {
                qd.write_queue_nums = qd.write_queue_nums.min(AUTO_CREATE_QUEUE_NUMS);
                qd.read_queue_nums = qd.write_queue_nums;
            }
            Ok(route)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route() -> TopicRouteData {
        crate::command::test_route()
    }

    #[test]
    fn writable_queues_need_write_perm_and_a_master() {
        // broker-a is read-only, broker-b has no master: nothing to send to.
        assert!(writable_queues(&route(), None).is_empty());
        let mut r = route();
        r.queue_datas[1].perm = 6;
        assert_eq!(writable_queues(&r, None).len(), 2);
        assert!(writable_queues(&r, Some("broker-b")).is_empty());
        let picked = pick_queue(&r, "T", Some("broker-a"), Some(1), 7).unwrap();
        assert_eq!(picked, ("broker-a".into(), "10.0.0.1:10911".into(), 1));
        assert_eq!(pick_queue(&r, "T", None, None, 2).unwrap().2, 0);
        assert_eq!(pick_queue(&r, "T", None, None, 3).unwrap().2, 1);
        let e = pick_queue(&r, "T", Some("broker-a"), Some(5), 0).unwrap_err();
        assert_eq!(
            e.to_string(),
            "topic T has no writable queue 5 on broker broker-a"
        );
        assert!(pick_queue(&route(), "T", None, None, 0).is_err());
    }
}
