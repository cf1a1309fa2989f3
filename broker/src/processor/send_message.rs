//! SEND_MESSAGE (10), SEND_MESSAGE_V2 (310) and SEND_BATCH_MESSAGE (320), either header naming
//! (RocketMQ `SendMessageProcessor`).
//!
//! Runs on the event-loop thread: checks (role, broker and topic permission, topic name,
//! queue id, sizes), auto-creates the topic from its template, decides where the message is
//! really stored ([`super::send_rewrite`]: retry → DLQ, delay → schedule topic, transaction →
//! half topic), encodes the record once with `bornHost` = the peer and `storeHost` =
//! `brokerIP1:listenPort`, and appends it (a batch with one `put_messages`). With ASYNC_FLUSH
//! the reply goes out at once; with SYNC_FLUSH and/or SYNC_MASTER (and `WAIT` not false) the
//! reply is deferred until the group commit and/or a slave acknowledgement
//! ([`super::deferred_reply`]).

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use protocol::body::perm::{is_writeable, PERM_READ_WRITE};
use protocol::body::register_broker::{TopicConfig, TopicFilterType};
use protocol::header::{SendMessageRequestHeader, SendMessageResponseHeader};
use protocol::message::record::MAX_PROPERTIES_BYTES;
use protocol::message::{
    body_crc, decode_batch, encode_record, keys, offset_msg_id, sysflag, MessageVersion,
    Properties, RecordParts,
};
use protocol::remoting::{ConnId, Context, Reply};
use protocol::{RemotingCommand, ResponseCode};

use super::send_rewrite::{self as rw, StoreTarget};
use super::turn_commit;
use super::{error, lock, wall_ms, BrokerHandler, BrokerShared, TRACE_ON};
use crate::manager::topic_validator as tv;
use crate::stats;
use crate::store::{AppendResult, AppendTicket, PutMessageResult};

/// TopicSysFlag bits of a unit-mode producer (Java `TopicSysFlag`).
const TOPIC_SYS_FLAG_UNIT: i32 = 1;
const TOPIC_SYS_FLAG_UNIT_SUB: i32 = 1 << 1;

type Outcome = Result<Reply, RemotingCommand>;

/// Everything the checks established about one send.
struct Checked {
    header: SendMessageRequestHeader,
    topic: TopicConfig,
    queue_id: i32,
    born_host: std::net::SocketAddr,
}

/// Entry point for codes 10, 310 and 320.
pub fn process(
    h: &mut BrokerHandler,
    ctx: &mut Context<'_>,
    conn: ConnId,
    req: &RemotingCommand,
) -> Outcome {
    let checked = check(h, ctx, conn, req)?;
    if checked.header.is_batch(req.code) {
        send_batch(h, conn, req, checked)
    } else {
        send_single(h, conn, req, checked)
    }
}

fn check(
    h: &mut BrokerHandler,
    ctx: &mut Context<'_>,
    conn: ConnId,
    req: &RemotingCommand,
) -> Result<Checked, RemotingCommand> {
    let shared = &h.shared;
    if !shared.is_master() {
        return Err(error(
            req,
            ResponseCode::SERVICE_NOT_AVAILABLE,
            "the broker is a slave: sending message is forbidden",
        ));
    }
    let header = SendMessageRequestHeader::read_for_code(req.code, &req.ext_fields)
        .map_err(|e| error(req, ResponseCode::SYSTEM_ERROR, e.to_string()))?;
    if !is_writeable(shared.broker_permission()) {
        let remark = format!(
            "the broker[{}] sending message is forbidden",
            shared.config.broker_ip1
        );
        return Err(error(req, ResponseCode::NO_PERMISSION, remark));
    }
    if let Err(e) = tv::validate_topic(&header.topic) {
        return Err(error(req, ResponseCode::MESSAGE_ILLEGAL, reason(e)));
    }
    if let Err(e) = tv::validate_send_topic(&header.topic) {
        return Err(error(req, ResponseCode::NO_PERMISSION, reason(e)));
    }
    let born_host = ctx
        .peer_addr(conn)
        .ok_or_else(|| error(req, ResponseCode::SYSTEM_ERROR, "connection closed"))?;
    let topic = ensure_topic(shared, req, &header, born_host)?;
    let queue_id = select_queue(h, req, &header, &topic, born_host)?;
    if !is_writeable(topic.perm) {
        let remark = format!("the topic[{}] sending message is forbidden", header.topic);
        return Err(error(req, ResponseCode::NO_PERMISSION, remark));
    }
    Ok(Checked {
        header,
        topic,
        queue_id,
        born_host,
    })
}

fn reason(e: crate::Error) -> String {
    match e {
        crate::Error::InvalidName { reason, .. } => reason,
        other => other.to_string(),
    }
}

/// The topic's config, auto-creating it from the request's template topic (then the table is
/// persisted and re-registered), or as a retry topic.
fn ensure_topic(
    shared: &BrokerShared,
    req: &RemotingCommand,
    header: &SendMessageRequestHeader,
    born_host: std::net::SocketAddr,
) -> Result<TopicConfig, RemotingCommand> {
    let mut topics = lock(&shared.topics);
    if let Some(config) = topics.select(&header.topic) {
        return Ok(config.clone());
    }
    let is_retry = tv::is_retry_topic(&header.topic);
    let sys_flag = match (header.unit_mode == Some(true), is_retry) {
        (false, _) => 0,
        (true, true) => TOPIC_SYS_FLAG_UNIT_SUB,
        (true, false) => TOPIC_SYS_FLAG_UNIT,
    };
    let now = wall_ms();
    let mut created = topics.create_topic_in_send_message_method(
        &header.topic,
        &header.default_topic,
        header.default_topic_queue_nums,
        sys_flag,
        now,
    );
    if created.is_none() && is_retry {
        created = Some(topics.create_topic_in_send_message_back_method(
            &header.topic,
            1,
            PERM_READ_WRITE,
            false,
            sys_flag,
            now,
        ));
    }
    drop(topics);
    match created {
        Some(config) => {
            log::info!(
                "topic {} auto-created for producer {born_host}",
                header.topic
            );
            shared.topics_changed();
            Ok(config)
        }
        None => Err(error(
            req,
            ResponseCode::TOPIC_NOT_EXIST,
            format!("topic[{}] not exist, apply first please!", header.topic),
        )),
    }
}

fn select_queue(
    h: &mut BrokerHandler,
    req: &RemotingCommand,
    header: &SendMessageRequestHeader,
    topic: &TopicConfig,
    born_host: std::net::SocketAddr,
) -> Result<i32, RemotingCommand> {
    let valid = topic.write_queue_nums.max(topic.read_queue_nums);
    if header.queue_id >= valid {
        let remark = format!(
            "request queueId[{}] is illegal, topic[{}] writeQueueNums {} readQueueNums {} Producer: {born_host}",
            header.queue_id, header.topic, topic.write_queue_nums, topic.read_queue_nums
        );
        return Err(error(req, ResponseCode::SYSTEM_ERROR, remark));
    }
    if header.queue_id >= 0 {
        return Ok(header.queue_id);
    }
    if topic.write_queue_nums <= 0 {
        let remark = format!("topic[{}] has no writable queue", header.topic);
        return Err(error(req, ResponseCode::SYSTEM_ERROR, remark));
    }
    Ok(h.random_below(topic.write_queue_nums))
}

/// Retry topic handling (§9): the group must exist; too many reconsumes (or live ordered
/// locks) send the message to the group's DLQ instead.
fn route_retry(
    h: &mut BrokerHandler,
    req: &RemotingCommand,
    c: &Checked,
    props: &mut Properties,
    target: &mut StoreTarget,
) -> Result<(), RemotingCommand> {
    let Some(group) = tv::is_retry_topic(&c.header.topic)
        .then(|| rw::retry_group(&c.header.topic))
        .flatten()
    else {
        return Ok(());
    };
    let Some(group_config) = h.shared.find_or_create_group(group) else {
        let remark = format!("subscription group not exist, {group}");
        return Err(error(
            req,
            ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST,
            remark,
        ));
    };
    let group_max = group_config.retry_max_times;
    let now = wall_ms();
    let max = rw::max_reconsume_times(req.version, c.header.max_reconsume_times, group_max);
    let reconsume = c.header.reconsume_times.unwrap_or(0);
    if !rw::goes_to_dlq(reconsume, max, h.locks.has_live_locks(group, now)) {
        return Ok(());
    }
    rw::mark_dead_letter(props);
    let dlq = h
        .shared
        .change_topics(|t| t.create_dlq_topic_if_absent(group, now));
    let Some(dlq) = dlq else {
        let remark = format!("topic[{}] not exist", tv::dlq_topic(group));
        return Err(error(req, ResponseCode::SYSTEM_ERROR, remark));
    };
    log::info!(
        "message for {} goes to {} after {reconsume} reconsumes",
        c.header.topic,
        dlq.topic_name
    );
    target.queue_id = h.random_below(dlq.write_queue_nums.max(1));
    target.topic = dlq.topic_name;
    Ok(())
}

fn base_sys_flag(c: &Checked) -> i32 {
    if c.topic.topic_filter_type == TopicFilterType::MultiTag {
        c.header.sys_flag | sysflag::MULTI_TAGS
    } else {
        c.header.sys_flag
    }
}

/// Applies the broker's reserved properties: transient ones (`__RMQ.TRANSIENT.*`, client-side
/// only) are never stored, CLUSTER is always this broker's cluster, UNIQ_KEY is assigned when
/// missing. Returns the UNIQ_KEY.
fn add_broker_properties(shared: &BrokerShared, props: &mut Properties) -> String {
    let transient: Vec<String> = props
        .iter()
        .filter(|(k, _)| k.starts_with(keys::TRANSIENT_PREFIX))
        .map(|(k, _)| k.to_owned())
        .collect();
    for key in transient {
        props.remove(&key);
    }
    let uniq = match props.get(keys::UNIQ_KEY) {
        Some(u) if !u.is_empty() => u.to_owned(),
        _ => {
            let id = shared.uniq_ids.next_id(wall_ms() as i64);
            props.insert(keys::UNIQ_KEY, id.as_str());
            id
        }
    };
    props.insert(keys::CLUSTER, shared.config.broker_cluster_name.as_str());
    uniq
}

fn illegal(req: &RemotingCommand, shared: &BrokerShared) -> RemotingCommand {
    let remark = format!(
        "the message is illegal, maybe msg body or properties length not matched. msg body length limit {}B, msg properties length limit 32KB.",
        shared.config.max_message_size_bytes
    );
    error(req, ResponseCode::MESSAGE_ILLEGAL, remark)
}

/// Encodes one record into `out`; size violations are MESSAGE_ILLEGAL.
#[allow(clippy::too_many_arguments)]
fn encode_one(
    shared: &BrokerShared,
    req: &RemotingCommand,
    c: &Checked,
    target: &StoreTarget,
    flag: i32,
    body: &[u8],
    props: &Properties,
    out: &mut BytesMut,
) -> Result<(), RemotingCommand> {
    if body.len() > shared.config.max_message_size_bytes {
        return Err(illegal(req, shared));
    }
    let props_bytes = props.to_bytes();
    if props_bytes.len() > MAX_PROPERTIES_BYTES {
        return Err(illegal(req, shared));
    }
    let parts = RecordParts {
        version: MessageVersion::V1,
        body_crc: body_crc(body),
        queue_id: target.queue_id,
        flag,
        queue_offset: 0,
        commit_log_offset: 0,
        sys_flag: target.sys_flag,
        born_timestamp: c.header.born_timestamp,
        born_host: c.born_host,
        store_timestamp: 0,
        store_host: shared.store_host,
        reconsume_times: c.header.reconsume_times.unwrap_or(0),
        prepared_transaction_offset: 0,
        body,
        topic: &target.topic,
        properties: &props_bytes,
    };
    encode_record(&parts, out)
        .map_err(|e| error(req, ResponseCode::MESSAGE_ILLEGAL, e.to_string()))?;
    Ok(())
}

fn send_single(h: &mut BrokerHandler, conn: ConnId, req: &RemotingCommand, c: Checked) -> Outcome {
    let raw = c.header.properties.as_deref().unwrap_or("");
    let mut props = Properties::decode(raw.as_bytes());
    let mut target = StoreTarget {
        topic: c.header.topic.clone(),
        queue_id: c.queue_id,
        sys_flag: base_sys_flag(&c),
    };
    route_retry(h, req, &c, &mut props, &mut target)?;
    let shared = Arc::clone(&h.shared);
    let uniq = add_broker_properties(&shared, &mut props);
    if rw::is_transaction_prepare(&props, c.header.reconsume_times.unwrap_or(0)) {
        if shared.config.reject_transaction_message {
            let remark = format!(
                "the broker[{}] sending transaction message is forbidden",
                shared.config.broker_ip1
            );
            return Err(error(req, ResponseCode::NO_PERMISSION, remark));
        }
        target = rw::to_half_message(&mut props, &target);
    } else {
        if let Some(delayed) = rw::apply_delay(&mut props, &target, shared.max_delay_level) {
            target = delayed;
        }
    }
    let body: &Bytes = &req.body;
    let mut record = BytesMut::new();
    encode_one(
        &shared,
        req,
        &c,
        &target,
        c.header.flag,
        body,
        &props,
        &mut record,
    )?;
    let put = put(&shared, &mut record, &target, false);
    let wait = props
        .get(keys::WAIT)
        .is_none_or(protocol::ext_fields::parse_java_bool);
    finish(h, conn, req, &c, put, Some(uniq), wait)
}

fn send_batch(h: &mut BrokerHandler, conn: ConnId, req: &RemotingCommand, c: Checked) -> Outcome {
    let shared = Arc::clone(&h.shared);
    if tv::is_retry_topic(&c.header.topic) {
        return Err(error(
            req,
            ResponseCode::MESSAGE_ILLEGAL,
            "retry topic can not send batch message",
        ));
    }
    let items = decode_batch(&req.body)
        .map_err(|e| error(req, ResponseCode::MESSAGE_ILLEGAL, e.to_string()))?;
    if items.is_empty() {
        return Err(error(req, ResponseCode::MESSAGE_ILLEGAL, "empty batch"));
    }
    let header_props = Properties::decode(c.header.properties.as_deref().unwrap_or("").as_bytes());
    let target = StoreTarget {
        topic: c.header.topic.clone(),
        queue_id: c.queue_id,
        sys_flag: base_sys_flag(&c),
    };
    let mut records = BytesMut::with_capacity(req.body.len() + items.len() * 160);
    let mut wait = true;
    for item in &items {
        let mut props = Properties::decode(&item.properties);
        rw::merge_batch_header_properties(&mut props, &header_props);
        if rw::delay_level(&props) > 0 {
            return Err(error(
                req,
                ResponseCode::MESSAGE_ILLEGAL,
                "batch message does not support delay level",
            ));
        }
        add_broker_properties(&shared, &mut props);
        wait &= props
            .get(keys::WAIT)
            .is_none_or(protocol::ext_fields::parse_java_bool);
        encode_one(
            &shared,
            req,
            &c,
            &target,
            item.flag,
            &item.body,
            &props,
            &mut records,
        )?;
    }
    let put = put(&shared, &mut records, &target, true);
    finish(h, conn, req, &c, put, None, wait)
}

/// Stages the records when this broker's replies do not wait (the loop turn's end writes
/// them, see `turn_commit`), else appends them now.
fn put(
    shared: &BrokerShared,
    records: &mut [u8],
    target: &StoreTarget,
    batch: bool,
) -> (PutMessageResult, Option<AppendTicket>) {
    let (store, topic, queue_id) = (&shared.store, target.topic.as_str(), target.queue_id);
    match (turn_commit::stages_sends(shared), batch) {
        (true, false) => store.put_message_staged(records, topic, queue_id),
        (true, true) => store.put_messages_staged(records, topic, queue_id),
        (false, false) => (store.put_message(records, topic, queue_id), None),
        (false, true) => (store.put_messages(records, topic, queue_id), None),
    }
}

/// The offset msgId of a single record, or the comma-joined ids of a batch.
fn msg_ids(store_host: std::net::SocketAddr, append: &AppendResult) -> String {
    if append.batch_phy_offsets.len() <= 1 {
        return offset_msg_id(store_host, append.phy_offset as i64);
    }
    let ids: Vec<String> = append
        .batch_phy_offsets
        .iter()
        .map(|&off| offset_msg_id(store_host, off as i64))
        .collect();
    ids.join(",")
}

/// Counts a stored append in the broker counters and the topic's stats items.
fn count_put(h: &mut BrokerHandler, c: &Checked, append: &AppendResult) {
    let (n, bytes) = (u64::from(append.msg_count), u64::from(append.wrote_bytes));
    h.shared.counters.on_put(n, bytes);
    let now = wall_ms();
    let topic = &c.header.topic;
    h.stats.add(stats::TOPIC_PUT_NUMS, topic, n, 1, now);
    h.stats.add(stats::TOPIC_PUT_SIZE, topic, bytes, 1, now);
    let cluster = &h.shared.config.broker_cluster_name;
    h.stats.add(stats::BROKER_PUT_NUMS, cluster, n, 1, now);
}

/// Maps the store's status; when stored, builds the response and either replies now or
/// defers the reply until the group commit (SYNC_FLUSH) and/or a slave's acknowledgement
/// (SYNC_MASTER), when WAIT is not false.
#[allow(clippy::too_many_arguments)]
fn finish(
    h: &mut BrokerHandler,
    conn: ConnId,
    req: &RemotingCommand,
    c: &Checked,
    (result, ticket): (PutMessageResult, Option<AppendTicket>),
    transaction_id: Option<String>,
    wait: bool,
) -> Outcome {
    let (code, append) = match (rw::put_response_code(result.status), result.append) {
        (Ok(code), Some(append)) => (code, append),
        (Err((code, remark)), _) => return Err(error(req, code, remark)),
        (Ok(_), None) => return Err(error(req, ResponseCode::SYSTEM_ERROR, "UNKNOWN_ERROR")),
    };
    count_put(h, c, &append);
    let shared = &h.shared;
    let header = SendMessageResponseHeader {
        msg_id: msg_ids(shared.store_host, &append),
        queue_id: c.queue_id,
        queue_offset: append.queue_offset,
        transaction_id,
        ..Default::default()
    }
    .with_broker_defaults(TRACE_ON);
    let response = RemotingCommand::response_to(req, code).with_header(&header);
    if let Some(ticket) = ticket {
        let wait_flush = wait && super::is_sync_flush(shared);
        let shared = Arc::clone(&h.shared);
        let reply = h
            .turn_puts
            .hold(&shared, (conn, req), response, ticket, wait_flush);
        return Ok(reply);
    }
    if !wait || code != ResponseCode::SUCCESS {
        return Ok(Reply::Now(response));
    }
    Ok(super::deferred_reply::reply_when_stored(
        h,
        conn,
        req,
        response,
        append.end_offset,
    ))
}
