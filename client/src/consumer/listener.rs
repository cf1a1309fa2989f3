//! What a push consumer calls with pulled messages: [`ConcurrentListener`] (any thread, any
//! order, failures go back to the broker for a later retry) or [`OrderlyListener`] (one
//! thread per queue at a time, in queue order, failures suspend the queue). Closures with
//! the right signature implement both traits.

use std::sync::Arc;

use protocol::body::MessageQueue;
use protocol::message::MessageExt;

/// The outcome of a concurrent consumption (Java `ConsumeConcurrentlyStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsumeConcurrentlyStatus {
    /// Every message (up to [`ConcurrentContext::ack_index`]) is done.
    ConsumeSuccess,
    /// Deliver the messages again later (through the group's retry topic).
    ReconsumeLater,
}

/// Per-call context of a [`ConcurrentListener`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConcurrentContext {
    /// The queue the messages came from.
    pub queue: MessageQueue,
    /// Delay level of the retry: 0 lets the broker choose (3 + reconsume times), a negative
    /// value sends the messages straight to the dead-letter queue.
    pub delay_level_when_next_consume: i32,
    /// With [`ConsumeConcurrentlyStatus::ConsumeSuccess`], only messages up to this index are
    /// acknowledged; the rest are retried. Default: all.
    pub ack_index: i32,
}

impl ConcurrentContext {
    pub(crate) fn new(queue: MessageQueue) -> Self {
        ConcurrentContext {
            queue,
            delay_level_when_next_consume: 0,
            ack_index: i32::MAX,
        }
    }
}

/// Consumes messages concurrently (Java `MessageListenerConcurrently`). Runs on the consume
/// thread pool; a panic counts as [`ConsumeConcurrentlyStatus::ReconsumeLater`].
pub trait ConcurrentListener: Send + Sync + 'static {
    /// Consumes a batch (at most `consume_message_batch_max_size`, default 1).
    fn consume(
        &self,
        msgs: &[MessageExt],
        ctx: &mut ConcurrentContext,
    ) -> ConsumeConcurrentlyStatus;
}

impl<F> ConcurrentListener for F
where
    F: Fn(&[MessageExt], &mut ConcurrentContext) -> ConsumeConcurrentlyStatus
        + Send
        + Sync
        + 'static,
{
    fn consume(
        &self,
        msgs: &[MessageExt],
        ctx: &mut ConcurrentContext,
    ) -> ConsumeConcurrentlyStatus {
        self(msgs, ctx)
    }
}

/// The outcome of an orderly consumption (Java `ConsumeOrderlyStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConsumeOrderlyStatus {
    /// The messages are done; the queue moves on.
    Success,
    /// Stop this queue for [`OrderlyContext::suspend_current_queue_time_ms`], then deliver
    /// the same messages again.
    SuspendCurrentQueueAMoment,
}

/// Per-call context of an [`OrderlyListener`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderlyContext {
    /// The queue the messages came from.
    pub queue: MessageQueue,
    /// How long to suspend the queue after a failure; `None` uses the consumer's setting
    /// (default 1000 ms).
    pub suspend_current_queue_time_ms: Option<u64>,
}

/// Consumes messages of one queue in order (Java `MessageListenerOrderly`). For a given
/// queue, calls never overlap; a panic counts as a suspension.
pub trait OrderlyListener: Send + Sync + 'static {
    /// Consumes the next messages of `ctx.queue`.
    fn consume(&self, msgs: &[MessageExt], ctx: &mut OrderlyContext) -> ConsumeOrderlyStatus;
}

impl<F> OrderlyListener for F
where
    F: Fn(&[MessageExt], &mut OrderlyContext) -> ConsumeOrderlyStatus + Send + Sync + 'static,
{
    fn consume(&self, msgs: &[MessageExt], ctx: &mut OrderlyContext) -> ConsumeOrderlyStatus {
        self(msgs, ctx)
    }
}

/// The listener a push consumer runs.
#[derive(Clone)]
pub enum MessageListener {
    /// Concurrent consumption.
    Concurrently(Arc<dyn ConcurrentListener>),
    /// Orderly consumption (queue locks in clustering mode).
    Orderly(Arc<dyn OrderlyListener>),
}

impl MessageListener {
    /// Whether this is an orderly listener.
    pub fn is_orderly(&self) -> bool {
        matches!(self, MessageListener::Orderly(_))
    }
}

impl std::fmt::Debug for MessageListener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.is_orderly() {
            "Orderly"
        } else {
            "Concurrently"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closures_are_listeners() {
        let concurrent = |msgs: &[MessageExt], ctx: &mut ConcurrentContext| {
            ctx.ack_index = msgs.len() as i32 - 1;
            ConsumeConcurrentlyStatus::ConsumeSuccess
        };
        let mut ctx = ConcurrentContext::new(MessageQueue::new("T", "b", 0));
        assert_eq!(ctx.ack_index, i32::MAX);
        let l: Arc<dyn ConcurrentListener> = Arc::new(concurrent);
        let msgs = [MessageExt::new("T", "a"), MessageExt::new("T", "b")];
        assert_eq!(
            l.consume(&msgs, &mut ctx),
            ConsumeConcurrentlyStatus::ConsumeSuccess
        );
        assert_eq!(ctx.ack_index, 1);
        let orderly = |_: &[MessageExt], _: &mut OrderlyContext| {
            ConsumeOrderlyStatus::SuspendCurrentQueueAMoment
        };
        let listener = MessageListener::Orderly(Arc::new(orderly));
        assert!(listener.is_orderly());
        assert_eq!(format!("{listener:?}"), "Orderly");
    }
}
