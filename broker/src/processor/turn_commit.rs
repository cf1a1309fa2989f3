//! Per-turn group write of sends whose reply does not wait for the disk or a slave
//! (ASYNC_FLUSH with ASYNC_MASTER or no HA): the send stages its records in the commitlog
//! (offsets final, bytes not yet written) and its reply is held; at the end of the event-loop
//! turn one group write commits every send of the turn, then the replies are queued — SUCCESS,
//! or the store's error when the write failed — and leave in the loop's socket writes. One
//! write system call per turn instead of one per message, and still no reply before its
//! message is in the file (a killed process loses nothing it acknowledged).

use protocol::remoting::{ConnId, Context, Reply};
use protocol::RemotingCommand;

use super::{is_sync_flush, send_rewrite, BrokerShared};
use crate::config::BrokerRole;
use crate::store::{AppendTicket, MessageStore};

/// A send staged this turn.
struct TurnPut {
    conn: ConnId,
    /// `None` for one-way sends (committed, never answered).
    response: Option<RemotingCommand>,
    ticket: AppendTicket,
}

/// The sends staged during the current turn, in arrival order.
#[derive(Default)]
pub(crate) struct TurnPuts(Vec<TurnPut>);

/// Whether this broker's sends reply right after the append, so they can be staged.
pub(crate) fn stages_sends(shared: &BrokerShared) -> bool {
    !is_sync_flush(shared) && shared.ha.role() != BrokerRole::SyncMaster
}

impl TurnPuts {
    /// Holds `response` to `req` until the turn's group write.
    pub(crate) fn hold(
        &mut self,
        conn: ConnId,
        req: &RemotingCommand,
        response: RemotingCommand,
        ticket: AppendTicket,
    ) -> Reply {
        let response = (!req.is_oneway()).then_some(response);
        self.0.push(TurnPut {
            conn,
            response,
            ticket,
        });
        Reply::Later
    }

    /// Commits the turn's sends (the first commit writes everything staged) and queues their
    /// replies.
    pub(crate) fn commit(&mut self, store: &MessageStore, ctx: &mut Context<'_>) {
        for put in self.0.drain(..) {
            let outcome = store.commit_staged(&put.ticket);
            let Some(mut response) = put.response else {
                continue;
            };
            if let Err(status) = outcome {
                let (code, remark) = send_rewrite::put_response_code(status)
                    .err()
                    .unwrap_or((protocol::ResponseCode::SYSTEM_ERROR, "UNKNOWN_ERROR"));
                response.code = code.code();
                response.remark = Some(remark.into());
                response.ext_fields = Default::default();
            }
            if let Err(e) = ctx.respond(put.conn, response) {
                log::debug!("reply to {} dropped: {e}", put.conn);
            }
        }
    }
}
