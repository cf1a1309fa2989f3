//! CONSUMER_SEND_MSG_BACK (36), END_TRANSACTION (37), and the forwarding of the transaction
//! check service's CHECK_TRANSACTION_STATE (39) requests to a producer of the half message's
//! group. The logic lives in [`crate::retry`] and [`crate::transaction`]; this file is the
//! event-loop glue: decode, call, answer (deferred under SYNC_FLUSH / SYNC_MASTER).

use protocol::header::{ConsumerSendMsgBackRequestHeader, EndTransactionRequestHeader};
use protocol::remoting::{ConnId, Context, Reply};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

use super::deferred_reply::reply_when_stored;
use super::{decode, error, wall_ms, BrokerHandler};
use crate::retry::{send_msg_back, SendBackContext};
use crate::store::PutMessageResult;
use crate::transaction::{end_transaction, CheckRequest, EndTransactionConfig, EndTxOutcome};

type Outcome = Result<Reply, RemotingCommand>;

/// Answers `code`/`remark`, after the flush / slave acknowledgement of `put` when SYNC_FLUSH /
/// SYNC_MASTER applies.
fn answer(
    h: &BrokerHandler,
    conn: ConnId,
    req: &RemotingCommand,
    code: ResponseCode,
    remark: Option<String>,
    put: Option<PutMessageResult>,
) -> Reply {
    let mut response = RemotingCommand::response_to(req, code);
    response.remark = remark;
    let end = put.and_then(|p| p.append).map(|a| a.end_offset);
    match end {
        Some(end) if code == ResponseCode::SUCCESS => {
            reply_when_stored(h, conn, req, response, end)
        }
        _ => Reply::Now(response),
    }
}

/// CONSUMER_SEND_MSG_BACK: a consumer returns a message it failed to consume.
pub fn send_back(h: &mut BrokerHandler, conn: ConnId, req: &RemotingCommand) -> Outcome {
    let header: ConsumerSendMsgBackRequestHeader = decode(req)?;
    let shared = &h.shared;
    let ctx = SendBackContext {
        store: &shared.store,
        topics: &shared.topics,
        groups: &shared.groups,
        store_host: shared.store_host,
        broker_permission: shared.config.broker_permission,
        auto_create_subscription_group: shared.config.auto_create_subscription_group,
        max_delay_level: shared.max_delay_level,
    };
    let outcome = send_msg_back(&ctx, &header, req.version, wall_ms());
    if outcome.put.is_some() {
        // A retry or DLQ topic may have been created.
        shared.topics_changed();
    }
    Ok(answer(
        h,
        conn,
        req,
        outcome.code,
        outcome.remark,
        outcome.put,
    ))
}

/// END_TRANSACTION: commit or roll back a half message.
pub fn end_tx(h: &mut BrokerHandler, conn: ConnId, req: &RemotingCommand) -> Outcome {
    let header: EndTransactionRequestHeader = decode(req)?;
    let cfg = EndTransactionConfig {
        is_slave: !h.shared.is_master(),
        transaction_timeout_ms: i64::try_from(h.shared.config.transaction_timeout_ms)
            .unwrap_or(i64::MAX),
        max_delay_level: h.shared.max_delay_level,
    };
    let now = i64::try_from(wall_ms()).unwrap_or(i64::MAX);
    match end_transaction(&h.shared.store, &header, &cfg, now) {
        Ok(EndTxOutcome::Ignored) => Ok(Reply::Nothing),
        Ok(EndTxOutcome::Done { code, remark, put }) => Ok(answer(h, conn, req, code, remark, put)),
        Err(e) => Err(error(req, ResponseCode::SYSTEM_ERROR, e.to_string())),
    }
}

/// Sends each pending check request one-way to a live producer channel of its group
/// (round robin), as Java's `Broker2Client.checkProducerTransactionState` does.
pub fn forward_checks(h: &mut BrokerHandler, ctx: &mut Context<'_>) {
    while let Ok(check) = h.checks.try_recv() {
        forward_check(h, ctx, check);
    }
}

fn forward_check(h: &mut BrokerHandler, ctx: &mut Context<'_>, check: CheckRequest) {
    h.check_counter = h.check_counter.wrapping_add(1);
    let Some(conn) = h
        .producers
        .any_channel(&check.producer_group, h.check_counter)
    else {
        log::debug!(
            "no live producer of group {} to check transaction {:?}",
            check.producer_group,
            check.header.msg_id
        );
        return;
    };
    let mut request =
        RemotingCommand::request_with_header(RequestCode::CHECK_TRANSACTION_STATE, &check.header)
            .with_body(check.body)
            .into_oneway();
    request
        .ext_fields
        .insert("bname", h.shared.config.broker_name.clone());
    if let Err(e) = ctx.send_oneway(conn, request) {
        log::debug!("check-back to {conn} not sent: {e}");
    }
}
