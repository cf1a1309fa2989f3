//! LOCK_BATCH_MQ (41) and UNLOCK_BATCH_MQ (42): orderly consumers lock the queues they
//! consume so that one client of a group consumes a queue at a time (RocketMQ
//! `AdminBrokerProcessor.lockBatchMQ`/`unlockBatchMQ` over `RebalanceLockManager`).
//!
//! Runs on the event-loop thread over the loop-local
//! [`RebalanceLockManager`](crate::manager::RebalanceLockManager). `onlyThisBroker` (absent =
//! false, trap 20) matters only in RocketMQ's `lockInStrictMode`, where a master forwards the
//! lock to its replicas for a quorum; ferromq runs the default non-strict mode, in which
//! every broker answers from its own table, so the flag is accepted and has no effect.

use protocol::body::{
    JsonBody, LockBatchRequestBody, LockBatchResponseBody, UnlockBatchRequestBody,
};
use protocol::remoting::{ConnId, Context, Reply};
use protocol::{RemotingCommand, RequestCode, ResponseCode};

use super::{error, success, wall_ms, BrokerHandler, Outcome};

/// The family's entry in the processor table.
pub fn handle(
    h: &mut BrokerHandler,
    _ctx: &mut Context<'_>,
    _conn: ConnId,
    code: RequestCode,
    req: &RemotingCommand,
) -> Option<Outcome> {
    match code {
        RequestCode::LOCK_BATCH_MQ => Some(lock_batch(h, req)),
        RequestCode::UNLOCK_BATCH_MQ => Some(unlock_batch(h, req)),
        _ => None,
    }
}

fn bad_body(req: &RemotingCommand, e: protocol::Error) -> RemotingCommand {
    error(
        req,
        ResponseCode::SYSTEM_ERROR,
        format!("bad lock body: {e}"),
    )
}

/// LOCK_BATCH_MQ: locks (or renews) every queue of `mqSet` that is free, expired or already
/// the requester's, and answers the queues the requester now holds (`lockOKMQSet`).
pub fn lock_batch(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let body = LockBatchRequestBody::decode_body(&req.body).map_err(|e| bad_body(req, e))?;
    let lock_ok_mq_set = h.locks.try_lock_batch(
        &body.consumer_group,
        &body.mq_set,
        &body.client_id,
        wall_ms(),
    );
    if lock_ok_mq_set.len() != body.mq_set.len() {
        log::debug!(
            "{} of group {} got {} of {} queue locks",
            body.client_id,
            body.consumer_group,
            lock_ok_mq_set.len(),
            body.mq_set.len()
        );
    }
    let response = LockBatchResponseBody { lock_ok_mq_set };
    Ok(Reply::Now(success(req).with_body(response.encode_body())))
}

/// UNLOCK_BATCH_MQ: releases the queues of `mqSet` the requester holds (often one-way).
pub fn unlock_batch(h: &mut BrokerHandler, req: &RemotingCommand) -> Outcome {
    let body = UnlockBatchRequestBody::decode_body(&req.body).map_err(|e| bad_body(req, e))?;
    h.locks
        .unlock_batch(&body.consumer_group, &body.mq_set, &body.client_id);
    Ok(Reply::Now(success(req)))
}
