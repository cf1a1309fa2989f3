//! `resetOffsetByTime`: move a consumer group's offsets on a topic to a point in time.
//!
//! Each master hosting the topic gets INVOKE_BROKER_TO_RESET_OFFSET (222), which also tells the
//! online consumers. A broker that answers CONSUMER_NOT_ONLINE gets the offline procedure Java
//! falls back to: search the offset per queue and store it with UPDATE_CONSUMER_OFFSET.

use std::collections::BTreeMap;

use getopts::{Matches, Options};
use protocol::body::message_queue::MessageQueue;
use protocol::util::clock::now_millis;
use protocol::ResponseCode;
use serde_json::json;

use super::{boolean, required, Env, SubCommand};
use crate::admin::AdminClient;
use crate::error::{Error, Result};
use crate::output::{Output, Table};
use crate::time::parse_timestamp;

/// `resetOffsetByTime -g <group> -t <topic> -s <timestamp> [-f <force>] [-c]`.
pub struct ResetOffsetByTime;

impl SubCommand for ResetOffsetByTime {
    fn name(&self) -> &'static str {
        "resetOffsetByTime"
    }

    fn description(&self) -> &'static str {
        "Reset consumer offset by timestamp(without client restart)."
    }

    fn options(&self, opts: &mut Options) {
        opts.reqopt("g", "group", "set the consumer group", "<group>");
        opts.reqopt("t", "topic", "set the topic", "<topic>");
        opts.reqopt(
            "s",
            "timestamp",
            "set the timestamp[now|currentTimeMillis|yyyy-MM-dd#HH:mm:ss:SSS]",
            "<timestamp>",
        );
        opts.optopt(
            "f",
            "force",
            "set the force rollback by timestamp switch[true|false] (default true)",
            "<force>",
        );
        opts.optflag(
            "c",
            "cplus",
            "reset c++ client offset (accepted for compatibility; no effect)",
        );
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let group = required(m, "g")?;
        let topic = required(m, "t")?;
        let text = required(m, "s")?;
        // "now" means "the max offset", which the broker spells -1.
        let timestamp = if text == "now" {
            -1
        } else {
            parse_timestamp(&text, now_millis() as i64).ok_or_else(|| {
                Error::usage(format!(
                    "invalid value '{text}' for -s: expected now, milliseconds or yyyy-MM-dd#HH:mm:ss:SSS"
                ))
            })?
        };
        let force = boolean(m, "f")?.unwrap_or(true);
        let admin = env.admin(m)?;
        let route = admin.topic_route(&topic)?;
        let mut offsets = BTreeMap::new();
        for broker in &route.broker_datas {
            let Some(addr) = broker.select_master_addr() else {
                continue;
            };
            match admin.reset_offset(addr, &topic, &group, timestamp, force) {
                Ok(body) => offsets.extend(body.offset_table.0),
                Err(e) if e.response_code() == Some(ResponseCode::CONSUMER_NOT_ONLINE.code()) => {
                    offsets.extend(reset_offline(
                        &admin, addr, &group, &topic, timestamp, force,
                    )?);
                }
                Err(e) => return Err(e),
            }
        }
        out.line(format!(
            "rollback consumer offset by specified group[{group}], topic[{topic}], force[{force}], timestamp(string)[{text}], timestamp(long)[{timestamp}]"
        ));
        let mut table = Table::new(&[
            ("#brokerName", "brokerName"),
            ("#queueId", "queueId"),
            ("#offset", "offset"),
        ]);
        for (mq, offset) in &offsets {
            table.row(vec![
                json!(mq.broker_name),
                json!(mq.queue_id),
                json!(offset),
            ]);
        }
        out.table_result(&table);
        Ok(())
    }
}

/// The offline procedure for one broker: for every queue of `topic` the group has an offset
/// on, the target is the queue's max offset (`timestamp == -1`) or the offset found for the
/// timestamp; without `force` an offset is only moved backwards. Returns the stored offsets.
fn reset_offline(
    admin: &AdminClient,
    addr: &str,
    group: &str,
    topic: &str,
    timestamp: i64,
    force: bool,
) -> Result<BTreeMap<MessageQueue, i64>> {
    let stats = admin.consume_stats(addr, group, Some(topic))?;
    let mut done = BTreeMap::new();
    for (mq, wrapper) in stats
        .offset_table
        .iter()
        .filter(|(mq, _)| mq.topic == topic)
    {
        let target = if timestamp == -1 {
            admin.max_offset(addr, topic, mq.queue_id)?
        } else {
            admin.search_offset(addr, topic, mq.queue_id, timestamp)?
        };
        let offset = rollback_value(target, wrapper.consumer_offset, force);
        admin.update_consumer_offset(addr, group, topic, mq.queue_id, offset)?;
        done.insert(mq.clone(), offset);
    }
    Ok(done)
}

/// Java's rule: with `force` (or when moving backwards) use the target, else keep the current.
pub fn rollback_value(target: i64, current: i64, force: bool) -> i64 {
    if force || target <= current {
        target
    } else {
        current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_force_offsets_only_move_back() {
        assert_eq!(rollback_value(5, 10, false), 5);
        assert_eq!(rollback_value(15, 10, false), 10);
        assert_eq!(rollback_value(15, 10, true), 15);
    }
}
