//! Per-turn group write of sends on brokers that are not SYNC_MASTER: the send stages its
//! records in the commitlog (offsets final, bytes not yet written) and its reply is held; at
//! the end of the event-loop turn one group write commits every send of the turn. Then replies
//! that do not wait for the disk are queued — SUCCESS, or the store's error when the write
//! failed — and leave in the loop's socket writes; under SYNC_FLUSH the turn's waiting replies
//! share one flush request, released together by the group commit (FLUSH_DISK_TIMEOUT or
//! SYSTEM_ERROR as for single sends). One write system call and one flush waiter per turn
//! instead of one per message, and still no reply before its message is in the file (a killed
//! process loses nothing it acknowledged). SYNC_MASTER sends keep the per-message path
//! (`deferred_reply.rs`).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use protocol::remoting::{ConnId, Context, RemotingHandle, Reply};
use protocol::RemotingCommand;

use super::deferred_reply::send_deferred;
use super::{send_rewrite, BrokerShared};
use crate::config::BrokerRole;
use crate::store::{AppendTicket, FlushOutcome};

/// A send staged this turn.
struct TurnPut {
    conn: ConnId,
    /// `None` for one-way sends (committed, never answered).
    response: Option<RemotingCommand>,
    ticket: AppendTicket,
    /// The reply waits for the group commit (SYNC_FLUSH and WAIT).
    wait_flush: bool,
}

/// The sends staged during the current turn, in arrival order.
#[derive(Default)]
pub(crate) struct TurnPuts(Vec<TurnPut>);

/// Whether this broker's sends are staged (all but SYNC_MASTER).
pub(crate) fn stages_sends(shared: &BrokerShared) -> bool {
    shared.ha.role() != BrokerRole::SyncMaster
}

impl TurnPuts {
    /// True when no send was staged this turn.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Holds `response` to `req` until the turn's group write (and, with `wait_flush`, the
    /// group commit after it).
    pub(crate) fn hold(
        &mut self,
        shared: &BrokerShared,
        (conn, req): (ConnId, &RemotingCommand),
        response: RemotingCommand,
        ticket: AppendTicket,
        wait_flush: bool,
    ) -> Reply {
        let response = (!req.is_oneway()).then_some(response);
        let wait_flush = wait_flush && response.is_some();
        if wait_flush {
            // Counted from now, so flow control sees the backlog within the same turn.
            shared.sends_awaiting_flush.fetch_add(1, Ordering::Relaxed);
        }
        self.0.push(TurnPut {
            conn,
            response,
            ticket,
            wait_flush,
        });
        Reply::Later
    }

    /// Commits the turn's sends (the first commit writes everything staged), queues the
    /// replies that need nothing more, and hands the rest to one flush request.
    pub(crate) fn commit(
        &mut self,
        shared: &Arc<BrokerShared>,
        handle: &RemotingHandle,
        ctx: &mut Context<'_>,
    ) {
        let mut waiting = Vec::new();
        let mut end_offset = 0;
        for put in self.0.drain(..) {
            let outcome = shared.store.commit_staged(&put.ticket);
            let Some(mut response) = put.response else {
                continue;
            };
            match outcome {
                Ok(()) if put.wait_flush => {
                    end_offset = end_offset.max(put.ticket.0.end_offset);
                    waiting.push((put.conn, response));
                    continue;
                }
                Ok(()) => {}
                Err(status) => {
                    if put.wait_flush {
                        shared.sends_awaiting_flush.fetch_sub(1, Ordering::Relaxed);
                    }
                    fail(&mut response, status);
                }
            }
            if let Err(e) = ctx.respond(put.conn, response) {
                log::debug!("reply to {} dropped: {e}", put.conn);
            }
        }
        if !waiting.is_empty() {
            reply_when_flushed(shared, handle, end_offset, waiting);
        }
    }
}

/// Turns a held SUCCESS reply into the store's error for `status`.
fn fail(response: &mut RemotingCommand, status: crate::store::PutMessageStatus) {
    let (code, remark) = send_rewrite::put_response_code(status)
        .err()
        .unwrap_or((protocol::ResponseCode::SYSTEM_ERROR, "UNKNOWN_ERROR"));
    response.code = code.code();
    response.remark = Some(remark.into());
    response.ext_fields = Default::default();
}

/// One flush request for a turn's SYNC_FLUSH replies, all answered with its outcome.
fn reply_when_flushed(
    shared: &Arc<BrokerShared>,
    handle: &RemotingHandle,
    end_offset: u64,
    replies: Vec<(ConnId, RemotingCommand)>,
) {
    let n = replies.len(); // counted in `hold`
    let (shared2, handle) = (Arc::clone(shared), handle.clone());
    let waiter = Box::new(move |outcome: FlushOutcome| {
        shared2.sends_awaiting_flush.fetch_sub(n, Ordering::Relaxed);
        let code = send_rewrite::flush_response_code(outcome);
        for (conn, response) in replies {
            send_deferred(&handle, conn, response, code);
        }
    });
    shared.store.request_flush(end_offset, waiter);
}
