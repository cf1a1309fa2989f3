//! Orderly consumption (Java `ConsumeMessageOrderlyService`): at most one task per queue
//! exists at a time (the process queue's consuming flag), so a queue's messages are consumed
//! by one thread at a time, in offset order. In clustering mode a queue is consumed only
//! while its broker lock is held. A failed call suspends the queue and redelivers the same
//! messages; after `max_reconsume_times` deliveries a message is sent to the retry topic
//! (where the broker moves it to the dead-letter queue) and the queue moves on.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::Instant;

use protocol::body::MessageQueue;
use protocol::message::{keys, MessageExt};
use protocol::util::clock::now_millis;

use super::listener::{ConsumeOrderlyStatus, MessageListener, OrderlyContext, OrderlyListener};
use super::process_queue::ProcessQueue;
use super::push::PushInner;

/// What an orderly task does after one listener call.
enum Step {
    /// Consume the next messages.
    Continue,
    /// Nothing left (or the queue was dropped): the task ends.
    Done,
    /// Pause the queue for this many ms, then redeliver.
    Suspend(u64),
}

/// One task consumes a queue for at most this long before yielding its thread.
pub const MAX_TIME_CONSUME_CONTINUOUSLY_MS: u128 = 60_000;

impl PushInner {
    /// Runs the queue's consume task after `delay_ms` (0: now).
    pub(crate) fn submit_orderly(
        self: &Arc<Self>,
        pq: Arc<ProcessQueue>,
        mq: MessageQueue,
        delay_ms: u64,
    ) {
        let me = self.clone();
        let run = move || {
            let job_owner = me.clone();
            if !me.pool.execute(move || job_owner.consume_orderly(pq, mq)) {
                log::debug!("consume pool closed; orderly task dropped");
            }
        };
        if delay_ms == 0 {
            run();
        } else {
            self.ctx.core.timer.schedule(delay_ms, run);
        }
    }

    /// Retries the broker lock of `mq` on the scheduler thread, then resumes consumption.
    fn lock_later_and_resume(self: &Arc<Self>, pq: Arc<ProcessQueue>, mq: MessageQueue) {
        let me = self.clone();
        self.ctx.core.scheduler.schedule(100, move || {
            let delay = if me.lock_queue(&mq) { 10 } else { 3000 };
            me.submit_orderly(pq, mq, delay);
        });
    }

    fn consume_orderly(self: &Arc<Self>, pq: Arc<ProcessQueue>, mq: MessageQueue) {
        let MessageListener::Orderly(listener) = &self.listener else {
            return;
        };
        let started = Instant::now();
        loop {
            if pq.is_dropped() || self.is_stopped() {
                return;
            }
            let lock_ok = {
                let state = pq.lock();
                state.is_locked() && !state.is_lock_expired(now_millis())
            };
            if self.needs_locks() && !lock_ok {
                return self.lock_later_and_resume(pq, mq);
            }
            if started.elapsed().as_millis() > MAX_TIME_CONSUME_CONTINUOUSLY_MS {
                return self.submit_orderly(pq, mq, 10);
            }
            match self.consume_orderly_once(listener.as_ref(), &pq, &mq) {
                Step::Continue => {}
                Step::Done => return,
                Step::Suspend(pause_ms) => return self.submit_orderly(pq, mq, pause_ms),
            }
        }
    }

    /// Takes the next messages of `mq`, runs the listener and commits or puts them back.
    fn consume_orderly_once(
        &self,
        listener: &dyn OrderlyListener,
        pq: &ProcessQueue,
        mq: &MessageQueue,
    ) -> Step {
        // Held until the batch is committed: a rebalance handing the queue over waits for it.
        let _consuming = pq.consume_lock();
        if pq.is_dropped() {
            return Step::Done;
        }
        let batch = self.config.consume_message_batch_max_size.max(1);
        let mut msgs = pq.lock().take_messages(batch);
        if msgs.is_empty() {
            return Step::Done;
        }
        let start = now_millis().to_string();
        for m in &mut msgs {
            self.ctx.reset_retry_topic(m);
            m.properties
                .insert_static(keys::CONSUME_START_TIME, start.as_str());
        }
        let mut ctx = OrderlyContext {
            queue: mq.clone(),
            suspend_current_queue_time_ms: None,
        };
        let status = catch_unwind(AssertUnwindSafe(|| listener.consume(&msgs, &mut ctx)))
            .unwrap_or_else(|_| {
                log::error!(
                    "the orderly listener of group {} panicked on {mq}",
                    self.ctx.group
                );
                ConsumeOrderlyStatus::SuspendCurrentQueueAMoment
            });
        if pq.is_dropped() {
            return Step::Done;
        }
        if status == ConsumeOrderlyStatus::SuspendCurrentQueueAMoment
            && self.must_suspend(&mut msgs)
        {
            pq.lock().make_messages_to_consume_again(&msgs);
            let pause = ctx
                .suspend_current_queue_time_ms
                .unwrap_or(self.config.suspend_current_queue_time_ms);
            return Step::Suspend(pause);
        }
        let committed = {
            let mut state = pq.lock();
            state.mark_consumed(protocol::util::clock::now_millis());
            state.commit()
        };
        if let Some(offset) = committed {
            self.ctx.offsets.update(mq, offset, false);
        }
        Step::Continue
    }

    /// After a failed call: true when the queue must pause and redeliver `msgs` (their
    /// reconsume counts are raised); false when every message exhausted its deliveries and
    /// was handed to the retry topic, so the queue may move on.
    fn must_suspend(&self, msgs: &mut [MessageExt]) -> bool {
        let max = self.max_reconsume_times();
        let mut suspend = false;
        for m in msgs.iter_mut() {
            if m.reconsume_times >= max {
                m.properties
                    .insert(keys::RECONSUME_TIME, m.reconsume_times.to_string());
                if let Err(e) = self.send_to_retry_topic(m) {
                    log::warn!(
                        "orderly message {} could not leave the queue: {e}",
                        m.queue_offset
                    );
                    suspend = true;
                    m.reconsume_times += 1;
                }
            } else {
                suspend = true;
                m.reconsume_times += 1;
            }
        }
        suspend
    }
}
