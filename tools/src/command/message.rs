//! Message lookups: queryMsgById, queryMsgByKey, queryMsgByUniqueKey, queryMsgByOffset, plus
//! the message rendering shared with `message_io.rs`.

use getopts::{Matches, Options};
use protocol::message::{decode_offset_msg_id, MessageExt};
use serde_json::{json, Map, Value};

use super::{number, optional, required, Env, SubCommand};
use crate::admin::AdminClient;
use crate::admin_message::{display_body, display_msg_id, PullStatus, TOOLS_CONSUMER_GROUP};
use crate::error::{Error, Result};
use crate::output::{Output, Table};
use crate::time::format_ms;

/// Label column width of the detail view (Java's `%-20s %s`).
const DETAIL_LABEL_WIDTH: usize = 20;
/// Most messages one key query asks each broker for (Java uses 64).
const MAX_QUERY_NUM: i32 = 64;

/// Lossy UTF-8 with control characters escaped, so a body never breaks a line or a table.
pub fn display_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// The body as text, or a note when it is compressed with an algorithm the tools lack.
pub fn body_text(msg: &MessageExt) -> String {
    match display_body(msg) {
        Some(body) => display_text(&body),
        None => format!("<{} compressed bytes>", msg.body.len()),
    }
}

fn properties_text(msg: &MessageExt) -> String {
    let inner: Vec<String> = msg
        .properties
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    format!("{{{}}}", inner.join(", "))
}

/// The detail view Java prints for one message (`%-20s %s` lines).
pub fn message_pairs(msg: &MessageExt) -> Vec<(String, String)> {
    let keys: Vec<&str> = msg.keys().collect();
    [
        ("OffsetID:", msg.offset_msg_id()),
        ("Topic:", msg.topic.clone()),
        ("Tags:", format!("[{}]", msg.tags().unwrap_or(""))),
        ("Keys:", format!("[{}]", keys.join(" "))),
        ("Queue ID:", msg.queue_id.to_string()),
        ("Queue Offset:", msg.queue_offset.to_string()),
        ("CommitLog Offset:", msg.commit_log_offset.to_string()),
        ("Reconsume Times:", msg.reconsume_times.to_string()),
        ("Born Timestamp:", format_ms(msg.born_timestamp)),
        ("Store Timestamp:", format_ms(msg.store_timestamp)),
        ("Born Host:", msg.born_host.to_string()),
        ("Store Host:", msg.store_host.to_string()),
        ("System Flag:", msg.sys_flag.to_string()),
        ("Properties:", properties_text(msg)),
        ("Message Body:", body_text(msg)),
    ]
    .into_iter()
    .map(|(k, v)| (format!("{k:<DETAIL_LABEL_WIDTH$}"), v))
    .collect()
}

/// One message as a JSON object.
pub fn message_json(msg: &MessageExt) -> Value {
    let props: Map<String, Value> = msg
        .properties
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
        .collect();
    json!({
        "msgId": display_msg_id(msg),
        "offsetMsgId": msg.offset_msg_id(),
        "topic": msg.topic,
        "tags": msg.tags(),
        "keys": msg.keys().collect::<Vec<_>>(),
        "queueId": msg.queue_id,
        "queueOffset": msg.queue_offset,
        "commitLogOffset": msg.commit_log_offset,
        "reconsumeTimes": msg.reconsume_times,
        "bornTimestamp": msg.born_timestamp,
        "storeTimestamp": msg.store_timestamp,
        "bornHost": msg.born_host.to_string(),
        "storeHost": msg.store_host.to_string(),
        "sysFlag": msg.sys_flag,
        "properties": props,
        "body": body_text(msg),
    })
}

fn print_details(msgs: &[MessageExt], out: &mut Output) {
    for (i, msg) in msgs.iter().enumerate() {
        if i > 0 {
            out.line("");
        }
        out.pairs(&message_pairs(msg), " ");
    }
    out.json(Value::Array(msgs.iter().map(message_json).collect()));
}

/// `(broker name, master address)` of every broker group hosting `topic`.
pub(crate) fn masters_of_topic(admin: &AdminClient, topic: &str) -> Result<Vec<(String, String)>> {
    let route = admin.topic_route(topic)?;
    Ok(route
        .broker_datas
        .iter()
        .filter_map(|b| {
            b.select_master_addr()
                .map(|a| (b.broker_name.clone(), a.to_string()))
        })
        .collect())
}

/// The first message with UNIQ_KEY `id` in `topic`, from any master.
fn find_by_unique_key(admin: &AdminClient, topic: &str, id: &str) -> Result<MessageExt> {
    for (_, addr) in masters_of_topic(admin, topic)? {
        if let Some(msg) = admin
            .query_message(&addr, topic, id, 32, true)?
            .into_iter()
            .next()
        {
            return Ok(msg);
        }
    }
    Err(Error::NotFound(format!(
        "message {id} not found in topic {topic}"
    )))
}

/// `queryMsgById -i <msgId[,msgId]> [-t <topic>]`.
pub struct QueryMsgById;

impl SubCommand for QueryMsgById {
    fn name(&self) -> &'static str {
        "queryMsgById"
    }

    fn description(&self) -> &'static str {
        "Query Message by Id"
    }

    fn options(&self, opts: &mut Options) {
        opts.reqopt(
            "i",
            "msgId",
            "Message Id (offset msgId; several separated by commas)",
            "<msgId>",
        );
        opts.optopt(
            "t",
            "topic",
            "topic name, to fall back to a unique-key lookup",
            "<topic>",
        );
        opts.optopt(
            "f",
            "bodyFormat",
            "print message body by the specified format (UTF-8 only)",
            "<bodyFormat>",
        );
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let ids = required(m, "i")?;
        check_charset(m, "f")?;
        let topic = optional(m, "t");
        let admin = env.admin(m)?;
        let mut found = Vec::new();
        for id in ids.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            found.push(view_by_id(&admin, id, topic.as_deref())?);
        }
        print_details(&found, out);
        Ok(())
    }
}

/// VIEW_MESSAGE_BY_ID at the address encoded in the offset msgId; with a topic, a unique-key
/// query when the id is not an offset msgId or the view fails.
fn view_by_id(admin: &AdminClient, id: &str, topic: Option<&str>) -> Result<MessageExt> {
    let viewed = match decode_offset_msg_id(id) {
        Ok((addr, offset)) => admin.view_message(&addr.to_string(), offset),
        Err(e) => Err(Error::usage(format!("'{id}' is not an offset msgId: {e}"))),
    };
    match (viewed, topic) {
        (Ok(msg), _) => Ok(msg),
        (Err(e), Some(topic)) => {
            log::debug!("view by offset id failed ({e}); trying a unique-key query");
            find_by_unique_key(admin, topic, id)
        }
        (Err(e), None) => Err(e),
    }
}

/// Accepts only UTF-8 for the `-f` / `-c` charset options.
pub(crate) fn check_charset(m: &Matches, name: &str) -> Result<()> {
    match optional(m, name) {
        Some(c) if !matches!(c.to_ascii_uppercase().as_str(), "UTF-8" | "UTF8") => {
            Err(Error::usage(format!(
                "charset {c} is not supported; bodies are printed as UTF-8"
            )))
        }
        _ => Ok(()),
    }
}

/// `queryMsgByKey -t <topic> -k <msgKey>`.
pub struct QueryMsgByKey;

impl SubCommand for QueryMsgByKey {
    fn name(&self) -> &'static str {
        "queryMsgByKey"
    }

    fn description(&self) -> &'static str {
        "Query Message by Key"
    }

    fn options(&self, opts: &mut Options) {
        opts.reqopt("t", "topic", "topic name", "<topic>");
        opts.reqopt("k", "msgKey", "Message Key", "<msgKey>");
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let topic = required(m, "t")?;
        let key = required(m, "k")?;
        let admin = env.admin(m)?;
        let mut msgs = Vec::new();
        for (_, addr) in masters_of_topic(&admin, &topic)? {
            msgs.extend(admin.query_message(&addr, &topic, &key, MAX_QUERY_NUM, false)?);
        }
        msgs.sort_by_key(|msg| (msg.store_timestamp, msg.queue_id, msg.queue_offset));
        let mut table = Table::new(&[
            ("#Message ID", "msgId"),
            ("#QID", "queueId"),
            ("#Offset", "queueOffset"),
        ]);
        for msg in &msgs {
            table.row(vec![
                json!(display_msg_id(msg)),
                json!(msg.queue_id),
                json!(msg.queue_offset),
            ]);
        }
        out.table(&table);
        out.json(Value::Array(msgs.iter().map(message_json).collect()));
        Ok(())
    }
}

/// `queryMsgByUniqueKey -i <msgId> -t <topic>`.
pub struct QueryMsgByUniqueKey;

impl SubCommand for QueryMsgByUniqueKey {
    fn name(&self) -> &'static str {
        "queryMsgByUniqueKey"
    }

    fn description(&self) -> &'static str {
        "Query Message by Unique key"
    }

    fn options(&self, opts: &mut Options) {
        opts.reqopt(
            "i",
            "msgId",
            "Message Id (the client's UNIQ_KEY)",
            "<msgId>",
        );
        opts.reqopt("t", "topic", "The topic of msg", "<topic>");
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let id = required(m, "i")?;
        let topic = required(m, "t")?;
        let admin = env.admin(m)?;
        let msg = find_by_unique_key(&admin, &topic, &id)?;
        print_details(&[msg], out);
        Ok(())
    }
}

/// `queryMsgByOffset -t <topic> -b <brokerName> -i <queueId> -o <offset>`.
pub struct QueryMsgByOffset;

impl SubCommand for QueryMsgByOffset {
    fn name(&self) -> &'static str {
        "queryMsgByOffset"
    }

    fn description(&self) -> &'static str {
        "Query Message by offset"
    }

    fn options(&self, opts: &mut Options) {
        opts.reqopt("t", "topic", "topic name", "<topic>");
        opts.reqopt("b", "brokerName", "Broker Name", "<brokerName>");
        opts.reqopt("i", "queueId", "Queue Id", "<queueId>");
        opts.reqopt("o", "offset", "Queue Offset", "<offset>");
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let topic = required(m, "t")?;
        let broker = required(m, "b")?;
        let queue_id: i32 = number(m, "i")?.unwrap_or_default();
        let offset: i64 = number(m, "o")?.unwrap_or_default();
        let admin = env.admin(m)?;
        let addr = broker_addr_in_route(&admin, &topic, &broker)?;
        let pulled = admin.pull(
            &addr,
            TOOLS_CONSUMER_GROUP,
            &topic,
            queue_id,
            offset,
            1,
            "*",
        )?;
        match pulled.messages.into_iter().next() {
            Some(msg) if pulled.status == PullStatus::Found => {
                print_details(&[msg], out);
                Ok(())
            }
            _ => Err(Error::NotFound(format!(
                "no message at offset {offset} of queue {queue_id} of topic {topic} on {broker}: {} (queue offsets {}..{})",
                pulled.status.name(),
                pulled.min_offset,
                pulled.max_offset
            ))),
        }
    }
}

/// The master (else lowest slave) address of `broker_name` in `topic`'s route.
pub(crate) fn broker_addr_in_route(
    admin: &AdminClient,
    topic: &str,
    broker_name: &str,
) -> Result<String> {
    let route = admin.topic_route(topic)?;
    route
        .find_broker(broker_name)
        .and_then(|b| b.select_broker_addr())
        .map(str::to_string)
        .ok_or_else(|| Error::NotFound(format!("broker {broker_name} does not host topic {topic}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_never_break_lines() {
        assert_eq!(display_text(b"a\nb\tc"), "a\\nb\\tc");
        assert_eq!(display_text("héllo".as_bytes()), "héllo");
        assert_eq!(display_text(&[0xff, b'x']), "\u{fffd}x");
    }

    #[test]
    fn detail_view_has_java_labels() {
        let mut msg = MessageExt::new("T", "body");
        msg.properties.insert("TAGS", "TagA");
        msg.properties.insert("KEYS", "k1 k2");
        let pairs = message_pairs(&msg);
        let get = |k: &str| {
            pairs
                .iter()
                .find(|(l, _)| l.trim_end() == k)
                .map(|(_, v)| v.clone())
        };
        assert!(pairs.iter().all(|(l, _)| l.len() == 20));
        assert_eq!(get("Topic:").as_deref(), Some("T"));
        assert_eq!(get("Tags:").as_deref(), Some("[TagA]"));
        assert_eq!(get("Keys:").as_deref(), Some("[k1 k2]"));
        assert_eq!(get("Message Body:").as_deref(), Some("body"));
        assert_eq!(
            get("Properties:").as_deref(),
            Some("{TAGS=TagA, KEYS=k1 k2}")
        );
        let js = message_json(&msg);
        assert_eq!(js["keys"], json!(["k1", "k2"]));
        assert_eq!(js["tags"], json!("TagA"));
    }
}
