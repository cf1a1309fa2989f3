//! The per-queue pull loop shared by push and lite-pull consumers, without a thread per
//! queue: a [`PullRequest`] travels from one asynchronous PULL_MESSAGE callback (event-loop
//! thread) to the next, or through the instance's timer thread when the next pull must wait
//! (flow control, errors). The owner decides what to pull and what to do with the answer.
//!
//! The loop ends when the owner says [`Before::Stop`] / [`After::Stop`] (queue dropped,
//! consumer closed) or when the instance shuts down (pending requests fail, the timer drops
//! its tasks).

use std::sync::Arc;

use protocol::body::MessageQueue;
use protocol::header::PullMessageRequestHeader;

use super::group::GroupContext;
use super::process_queue::ProcessQueue;
use crate::api::PullResponse;
use crate::error::Result;
use crate::instance::InstanceCore;

/// One queue's pull loop state. Owned by whichever callback runs next; never shared.
#[derive(Debug)]
pub(crate) struct PullRequest {
    /// The queue.
    pub(crate) mq: MessageQueue,
    /// Its process queue (dropped when the queue is taken away or re-seeked).
    pub(crate) pq: Arc<ProcessQueue>,
    /// The offset to pull from next.
    pub(crate) next_offset: i64,
    /// The broker of the group to pull from next (0 = master), as the broker suggested.
    pub(crate) broker_id: i64,
}

impl PullRequest {
    pub(crate) fn new(mq: MessageQueue, pq: Arc<ProcessQueue>, next_offset: i64) -> Self {
        PullRequest {
            mq,
            pq,
            next_offset,
            broker_id: 0,
        }
    }
}

/// What to do before a pull.
#[derive(Debug)]
pub(crate) enum Before {
    /// Pull with this header from `addr`.
    Pull {
        addr: String,
        header: Box<PullMessageRequestHeader>,
        timeout_ms: u64,
    },
    /// Try again after this many ms.
    Delay(u64),
    /// End the loop.
    Stop,
}

/// What to do after a pull.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum After {
    /// Pull again at once.
    Now,
    /// Pull again after this many ms.
    Delay(u64),
    /// End the loop.
    Stop,
}

/// A consumer that runs pull loops. Both methods run on the event-loop or timer thread and
/// must not block.
pub(crate) trait PullOwner: Send + Sync + 'static {
    /// The client instance.
    fn core(&self) -> &Arc<InstanceCore>;
    /// Decides the next pull of `req`.
    fn before_pull(&self, req: &PullRequest) -> Before;
    /// Handles the answer to a pull of `req` (updating `next_offset`).
    fn after_pull(&self, req: &mut PullRequest, result: Result<PullResponse>) -> After;
}

/// Runs the next step of `req`'s loop now.
pub(crate) fn execute<O: PullOwner>(owner: Arc<O>, req: PullRequest) {
    match owner.before_pull(&req) {
        Before::Stop => {}
        Before::Delay(ms) => execute_later(owner, req, ms),
        Before::Pull {
            addr,
            header,
            timeout_ms,
        } => {
            let api = owner.core().api.clone();
            api.pull_message_async(&addr, &header, timeout_ms, move |result| {
                let mut req = req;
                match owner.after_pull(&mut req, result) {
                    After::Now => execute(owner, req),
                    After::Delay(ms) => execute_later(owner, req, ms),
                    After::Stop => {}
                }
            });
        }
    }
}

/// Runs the next step of `req`'s loop after `delay_ms` on the timer thread.
pub(crate) fn execute_later<O: PullOwner>(owner: Arc<O>, req: PullRequest, delay_ms: u64) {
    let core = owner.core().clone();
    core.timer.schedule(delay_ms, move || execute(owner, req));
}

/// The settings of one PULL_MESSAGE (see [`pull_from_broker`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PullSpec {
    /// Messages per pull.
    pub(crate) batch: i32,
    /// Offset committed along with the pull (push consumers in clustering mode).
    pub(crate) commit_offset: Option<i64>,
    /// How long the broker may hold the pull (long polling).
    pub(crate) suspend_ms: u64,
    /// Request timeout (longer than the suspension).
    pub(crate) timeout_ms: u64,
    /// The lite-pull flag of the sys flags.
    pub(crate) lite: bool,
    /// Delay before retrying when the pull cannot be built.
    pub(crate) retry_delay_ms: u64,
}

/// The PULL of `req` from the broker its queue is on, or a retry after
/// `spec.retry_delay_ms` when the topic is not subscribed or the broker is unknown.
pub(crate) fn pull_from_broker(ctx: &GroupContext, req: &PullRequest, spec: PullSpec) -> Before {
    let delay = Before::Delay(spec.retry_delay_ms);
    let Some(header) = ctx.pull_header(
        &req.mq,
        req.next_offset,
        spec.batch,
        spec.commit_offset,
        spec.suspend_ms,
        spec.lite,
    ) else {
        return delay;
    };
    let Some(addr) = ctx
        .core
        .find_broker_addr(&req.mq.broker_name, req.broker_id)
    else {
        return delay;
    };
    Before::Pull {
        addr,
        header: Box::new(header),
        timeout_ms: spec.timeout_ms,
    }
}

/// The part of [`PullOwner::after_pull`] every owner shares: stop for a dropped queue or a
/// stopped owner, retry after `exception_delay_ms` when the pull failed, else `on_response`.
pub(crate) fn after_pull_with(
    req: &mut PullRequest,
    stopped: bool,
    result: Result<PullResponse>,
    exception_delay_ms: u64,
    on_response: impl FnOnce(&mut PullRequest, PullResponse) -> After,
) -> After {
    if req.pq.is_dropped() || stopped {
        return After::Stop;
    }
    match result {
        Ok(resp) => on_response(req, resp),
        Err(e) => {
            log::warn!("pull of {} failed: {e}", req.mq);
            After::Delay(exception_delay_ms)
        }
    }
}
