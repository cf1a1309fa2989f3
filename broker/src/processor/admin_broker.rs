//! Admin requests about the broker itself (RocketMQ `AdminBrokerProcessor`):
//! GET_BROKER_CONFIG (26), UPDATE_BROKER_CONFIG (25), and the file-cleaning requests
//! TRIGGER_DELETE_FILES (27), DELETE_EXPIRED_COMMITLOG (329), CLEAN_EXPIRED_CONSUMEQUEUE (306)
//! and CLEAN_UNUSED_TOPIC (316).
//!
//! Runs on the event-loop thread. Which configuration keys take effect at once is decided in
//! [`crate::live_config`]; the file write-back happens on the `persist` thread. Commitlog
//! deletion is handed to the store's `clean` thread (the reply does not wait for it);
//! consume-queue cleanups run here, as RocketMQ runs them in its admin thread.

use std::collections::HashSet;

use protocol::body::perm::PERM_INHERIT;
use protocol::body::perm::PERM_READ_WRITE;
use protocol::body::TopicConfig;
use protocol::header::GetBrokerConfigResponseHeader;
use protocol::remoting::{ConnId, Context, Reply};
use protocol::util::properties_file;
use protocol::{RemotingCommand, RequestCode, ResponseCode};

use super::{error, lock, success, wall_ms, BrokerHandler, Outcome, PERSIST_BROKER_CONFIG};
use crate::config::BrokerRole;
use crate::live_config::CONFIG_PATH_KEY;
use crate::manager::topic_validator::AUTO_CREATE_TOPIC_KEY_TOPIC;

/// The family's entry in the processor table.
pub fn handle(
    h: &mut BrokerHandler,
    _ctx: &mut Context<'_>,
    _conn: ConnId,
    code: RequestCode,
    req: &RemotingCommand,
) -> Option<Outcome> {
    use RequestCode as C;
    Some(match code {
        C::GET_BROKER_CONFIG => {
            let header = GetBrokerConfigResponseHeader {
                version: h.shared.live.version_json(),
            };
            let body = h.shared.live.properties_text();
            Ok(Reply::Now(
                success(req).with_header(&header).with_body(body),
            ))
        }
        C::UPDATE_BROKER_CONFIG => update_config(h, req),
        C::TRIGGER_DELETE_FILES | C::DELETE_EXPIRED_COMMITLOG => {
            log::warn!("admin asks to delete expired commitlog files now");
            h.shared.store.request_delete_expired_files();
            Ok(Reply::Now(success(req)))
        }
        C::CLEAN_EXPIRED_CONSUMEQUEUE => clean_queues(h, req, false),
        C::CLEAN_UNUSED_TOPIC => clean_queues(h, req, true),
        _ => return None,
    })
}

/// CLEAN_EXPIRED_CONSUMEQUEUE (queues whose messages are all deleted) or, with `unused`,
/// CLEAN_UNUSED_TOPIC (queues of topics no longer in the topic table).
fn clean_queues(h: &mut BrokerHandler, req: &RemotingCommand, unused: bool) -> Outcome {
    let store = &h.shared.store;
    let removed = if unused {
        let keep: HashSet<String> = lock(&h.shared.topics).table().keys().cloned().collect();
        store.clean_unused_topics(&keep)
    } else {
        store.clean_expired_consume_queues()
    }
    .map_err(|e| error(req, ResponseCode::SYSTEM_ERROR, e.to_string()))?;
    log::info!("consume queue cleanup (unused topics: {unused}): {removed} queues removed");
    Ok(Reply::Now(success(req)))
}

/// UPDATE_BROKER_CONFIG: validates the properties body against the effective configuration,
/// applies the keys that can change at run time, records every key, and has the `persist`
/// thread write them to `broker.conf`. `brokerConfigPath` is refused with NO_PERMISSION.
pub fn update_config(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let text = std::str::from_utf8(&req.body)
        .map_err(|_| error(req, ResponseCode::SYSTEM_ERROR, "string2Properties error"))?;
    let names_path = properties_file::parse(text)
        .is_ok_and(|props| props.iter().any(|p| p.key == CONFIG_PATH_KEY));
    if names_path {
        return Err(error(
            req,
            ResponseCode::NO_PERMISSION,
            "Can not update config path",
        ));
    }
    let update = h
        .shared
        .live
        .update(text, wall_ms() as i64)
        .map_err(|e| error(req, ResponseCode::SYSTEM_ERROR, e.to_string()))?;
    for (key, value) in &update.live {
        apply_live(h, key, value);
    }
    h.shared.mark_dirty(PERSIST_BROKER_CONFIG);
    let live: Vec<&str> = update.live.iter().map(|(k, _)| k.as_str()).collect();
    log::info!(
        "broker config updated: now {live:?}, after restart {:?}, unknown {:?}",
        update.on_restart,
        update.unknown
    );
    let remark = format!(
        "applied now: {live:?}; effective after restart: {:?}; unknown: {:?}",
        update.on_restart, update.unknown
    );
    Ok(Reply::Now(success(req).with_remark(remark)))
}

/// Applies one validated live key to the running broker.
fn apply_live(h: &BrokerHandler, key: &str, value: &str) {
    let shared = &h.shared;
    let now = wall_ms();
    match key {
        // Registered topic permissions are masked with it: re-register at once.
        "brokerPermission" => shared.change_topics(|t| t.touch(now)),
        "autoCreateTopicEnable" => {
            let enabled = shared.live.auto_create_topic_enable();
            let queues = shared.config.default_topic_queue_nums;
            shared.change_topics(|t| {
                t.set_auto_create_topic_enable(enabled);
                if enabled && !t.contains(AUTO_CREATE_TOPIC_KEY_TOPIC) {
                    let perm = PERM_INHERIT | PERM_READ_WRITE;
                    let tbw =
                        TopicConfig::with_queues(AUTO_CREATE_TOPIC_KEY_TOPIC, queues, queues, perm);
                    t.update(tbw, now);
                }
            });
        }
        "fileReservedTime" => match value.trim().parse::<u64>() {
            Ok(hours) => shared.store.set_file_reserved_hours(hours),
            Err(_) => log::warn!("fileReservedTime {value:?} was validated but does not parse"),
        },
        "brokerRole" => match BrokerRole::from_name(value) {
            Some(role) if role == shared.ha.role() => {}
            Some(role) => match shared.ha.request_promotion(shared, role) {
                Ok(true) => log::warn!(
                    "brokerRole {} applied (slave promotion if a slave)",
                    role.name()
                ),
                Ok(false) => log::warn!(
                    "brokerRole {}: a master becomes a slave only after a restart",
                    role.name()
                ),
                Err(e) => log::error!("brokerRole {}: {e}", role.name()),
            },
            None => log::warn!("brokerRole {value:?} was validated but does not parse"),
        },
        // autoCreateSubscriptionGroup: read from the live state on every use.
        _ => {}
    }
}
