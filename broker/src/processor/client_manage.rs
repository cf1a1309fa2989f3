//! HEART_BEAT (34) and UNREGISTER_CLIENT (35), plus the client-connection housekeeping that
//! goes with them (RocketMQ `ClientManageProcessor` + `ClientHousekeepingService`).
//!
//! Runs on the event-loop thread and owns nothing itself: producers and consumers live in the
//! handler's loop-local [`ConsumerManager`](crate::manager::ConsumerManager) /
//! [`ProducerManager`](crate::manager::ProducerManager). A heartbeat registers the client's
//! producer and consumer groups, auto-creates each consumer group (if allowed) and its
//! `%RETRY%` topic, and tells the group's members NOTIFY_CONSUMER_IDS_CHANGED (40, one-way)
//! when membership or subscriptions changed. A closed or silent connection leaves its groups
//! the same way.

use protocol::body::heartbeat::HeartbeatData;
use protocol::body::JsonBody;
use protocol::header::{NotifyConsumerIdsChangedRequestHeader, UnregisterClientRequestHeader};
use protocol::remoting::{ConnId, Context, Reply};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

use super::{decode, error, wall_ms, BrokerHandler};
use crate::manager::{ClientChannelInfo, ConsumerRegistration};

type Outcome = Result<Reply, RemotingCommand>;

/// HEART_BEAT: registers the client's producer and consumer groups.
pub fn heartbeat(
    h: &mut BrokerHandler,
    ctx: &mut Context<'_>,
    conn: ConnId,
    req: &RemotingCommand,
) -> Outcome {
    let data = HeartbeatData::decode_body(&req.body).map_err(|e| {
        error(
            req,
            ResponseCode::SYSTEM_ERROR,
            format!("bad heartbeat body: {e}"),
        )
    })?;
    let peer = ctx
        .peer_addr(conn)
        .map(|a| a.to_string())
        .unwrap_or_default();
    let now = wall_ms();
    let channel = ClientChannelInfo::new(
        data.client_id.as_str(),
        req.language,
        req.version,
        peer,
        now,
    );
    for consumer in &data.consumer_data_set {
        let notify_enabled = prepare_consumer_group(h, &consumer.group_name, now);
        let reg =
            ConsumerRegistration::from_consumer_data(consumer, channel.clone(), notify_enabled);
        let outcome = h
            .consumers
            .register_consumer(&consumer.group_name, conn, reg, now);
        if outcome.ids_changed || outcome.subscription_changed {
            log::info!(
                "consumer group {} changed: {outcome:?}",
                consumer.group_name
            );
        }
        if outcome.notify {
            notify_ids_changed(h, ctx, &consumer.group_name);
        }
    }
    for producer in &data.producer_data_set {
        h.producers
            .register_producer(&producer.group_name, conn, channel.clone(), now);
    }
    Ok(Reply::Now(RemotingCommand::response_to(
        req,
        ResponseCode::SUCCESS,
    )))
}

/// Auto-creates the subscription group (when allowed) and its retry topic; returns whether
/// members should be told about membership changes.
fn prepare_consumer_group(h: &BrokerHandler, group: &str, now: u64) -> bool {
    let shared = &h.shared;
    let broker_notify = shared.config.notify_consumer_ids_changed_enable;
    let Some(g) = shared.find_or_create_group(group) else {
        return broker_notify;
    };
    shared.change_topics(|t| t.create_retry_topic_if_absent(group, g.retry_queue_nums, now));
    g.notify_consumer_ids_changed_enable && broker_notify
}

/// Sends NOTIFY_CONSUMER_IDS_CHANGED (one-way) to every member of `group`.
fn notify_ids_changed(h: &BrokerHandler, ctx: &mut Context<'_>, group: &str) {
    let enabled = h.shared.config.notify_consumer_ids_changed_enable;
    let header = NotifyConsumerIdsChangedRequestHeader {
        consumer_group: group.to_owned(),
    };
    for member in h.consumers.notify_targets(group, enabled) {
        let request =
            RemotingCommand::request_with_header(RequestCode::NOTIFY_CONSUMER_IDS_CHANGED, &header);
        if let Err(e) = ctx.send_oneway(member, request) {
            log::debug!("notify consumer ids changed to {member} failed: {e}");
        }
    }
}

/// UNREGISTER_CLIENT: removes the connection from the named producer and consumer groups.
pub fn unregister_client(
    h: &mut BrokerHandler,
    ctx: &mut Context<'_>,
    conn: ConnId,
    req: &RemotingCommand,
) -> Outcome {
    let header: UnregisterClientRequestHeader = decode(req)?;
    if let Some(group) = header.producer_group.as_deref().filter(|g| !g.is_empty()) {
        h.producers.unregister_producer(group, conn);
    }
    if let Some(group) = header.consumer_group.as_deref().filter(|g| !g.is_empty()) {
        if h.consumers.unregister_consumer(group, conn) {
            log::info!("consumer {} left group {group}", header.client_id);
            notify_ids_changed(h, ctx, group);
        }
    }
    Ok(Reply::Now(RemotingCommand::response_to(
        req,
        ResponseCode::SUCCESS,
    )))
}

/// A client connection closed: it leaves every group; the remaining members of its consumer
/// groups are notified.
pub fn on_connection_closed(h: &mut BrokerHandler, ctx: &mut Context<'_>, conn: ConnId) {
    h.producers.on_connection_closed(conn);
    let groups = h.consumers.on_connection_closed(conn);
    if !groups.is_empty() {
        log::info!("{conn} closed: left consumer groups {groups:?}");
    }
    for group in groups {
        notify_ids_changed(h, ctx, &group);
    }
}

/// Drops producers and consumers silent for longer than `clientChannelExpiredTime` and
/// closes their connections; remaining consumers of an affected group are notified.
pub fn scan_not_active(h: &mut BrokerHandler, ctx: &mut Context<'_>) {
    let timeout = h.shared.config.client_channel_expired_time_ms;
    let now = wall_ms();
    let mut groups: Vec<String> = Vec::new();
    for (group, conn) in h.consumers.scan_not_active_channels(now, timeout) {
        ctx.close(conn);
        groups.push(group);
    }
    for (_, conn) in h.producers.scan_not_active(now, timeout) {
        ctx.close(conn);
    }
    groups.dedup();
    for group in groups {
        notify_ids_changed(h, ctx, &group);
    }
}
