//! Send replies that wait: SYNC_FLUSH (the group commit made the record durable) and
//! SYNC_MASTER (a slave acknowledged the record's end offset), alone or combined (flush first,
//! then the slave). Never blocks the event loop: the reply is completed by the flush thread or
//! the `ha-master` thread through the loop's [`RemotingHandle`].
//!
//! Codes: flush timeout → FLUSH_DISK_TIMEOUT (10); failed fsync → SYSTEM_ERROR; no slave
//! connected, or the best slave more than `haMaxGapNotInSync` behind → SLAVE_NOT_AVAILABLE
//! (11) without waiting for a slave; no acknowledgement within `syncFlushTimeout` →
//! FLUSH_SLAVE_TIMEOUT (12). The response header (msgId, queueId, queueOffset) stays filled for
//! every code but SYSTEM_ERROR.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use protocol::remoting::{ConnId, RemotingHandle, Reply};
use protocol::{RemotingCommand, ResponseCode};

use super::{is_sync_flush, send_rewrite, BrokerHandler, BrokerShared};
use crate::config::BrokerRole;
use crate::ha::group_transfer::SlaveAck;
use crate::store::FlushOutcome;

/// Completes a deferred reply with `code` (once).
struct Completion {
    shared: Arc<BrokerShared>,
    handle: RemotingHandle,
    conn: ConnId,
    response: RemotingCommand,
}

/// Sends a deferred send reply with `code` (a failed flush drops the header: the message
/// may not be durable).
pub(crate) fn send_deferred(
    handle: &RemotingHandle,
    conn: ConnId,
    mut response: RemotingCommand,
    code: ResponseCode,
) {
    response.code = code.code();
    if code == ResponseCode::SYSTEM_ERROR {
        response.ext_fields = Default::default();
        response.remark = Some("flush to disk failed: the message may not be durable".into());
    }
    if let Err(e) = handle.send_to(conn, response) {
        log::debug!("deferred reply to {conn} dropped: {e}");
    }
}

impl Completion {
    fn send(self, code: ResponseCode) {
        self.shared
            .sends_awaiting_flush
            .fetch_sub(1, Ordering::Relaxed);
        send_deferred(&self.handle, self.conn, self.response, code);
    }

    /// Waits for a slave when one is usable, else answers SLAVE_NOT_AVAILABLE.
    fn after_slave(self, end_offset: u64, slave_ok: bool) {
        if !slave_ok {
            return self.send(ResponseCode::SLAVE_NOT_AVAILABLE);
        }
        let shared = Arc::clone(&self.shared);
        let timeout = Duration::from_millis(shared.store.config().sync_flush_timeout_ms);
        shared.ha.state().wait_for_ack(
            end_offset,
            timeout,
            Box::new(move |ack| {
                self.send(match ack {
                    SlaveAck::Acked => ResponseCode::SUCCESS,
                    SlaveAck::Timeout => ResponseCode::FLUSH_SLAVE_TIMEOUT,
                })
            }),
        );
    }
}

/// Sends the SUCCESS `response` of a put ending at `end_offset` when the broker's mode says
/// the message is safe (see the module docs); at once in ASYNC_FLUSH + ASYNC_MASTER. One-way
/// requests get nothing.
pub(crate) fn reply_when_stored(
    h: &BrokerHandler,
    conn: ConnId,
    req: &RemotingCommand,
    mut response: RemotingCommand,
    end_offset: u64,
) -> Reply {
    let shared = &h.shared;
    let sync_flush = is_sync_flush(shared);
    let sync_master = shared.ha.role() == BrokerRole::SyncMaster;
    if req.is_oneway() {
        return Reply::Nothing;
    }
    if !sync_flush && !sync_master {
        return Reply::Now(response);
    }
    let slave_ok = shared
        .ha
        .state()
        .is_slave_ok(end_offset, shared.config.ha_max_gap_not_in_sync_bytes);
    if !sync_flush && !slave_ok {
        response.code = ResponseCode::SLAVE_NOT_AVAILABLE.code();
        return Reply::Now(response);
    }
    shared.sends_awaiting_flush.fetch_add(1, Ordering::Relaxed);
    let completion = Completion {
        shared: Arc::clone(shared),
        handle: h.handle.clone(),
        conn,
        response,
    };
    if !sync_flush {
        completion.after_slave(end_offset, true);
        return Reply::Later;
    }
    let waiter = Box::new(move |outcome: FlushOutcome| {
        let code = send_rewrite::flush_response_code(outcome);
        if code != ResponseCode::SUCCESS || !sync_master {
            completion.send(code);
        } else {
            completion.after_slave(end_offset, slave_ok);
        }
    });
    shared.store.request_flush(end_offset, waiter);
    Reply::Later
}
