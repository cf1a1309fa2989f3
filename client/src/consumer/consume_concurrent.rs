//! Concurrent consumption (Java `ConsumeMessageConcurrentlyService`): batches run on the
//! consume pool in any order; failed messages go back to the broker with
//! CONSUMER_SEND_MSG_BACK (falling back to a plain send to `%RETRY%<group>`, wire reference
//! §9) or, if even that fails, are consumed again locally 5 s later. The committed offset is
//! the process queue's watermark, so a slow message is never skipped.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use protocol::body::MessageQueue;
use protocol::header::ConsumerSendMsgBackRequestHeader;
use protocol::message::{keys, Message, MessageExt};
use protocol::util::clock::now_millis;

use super::group::retry_topic;
use super::listener::{ConcurrentContext, ConsumeConcurrentlyStatus, MessageListener};
use super::process_queue::ProcessQueue;
use super::push::PushInner;
use crate::error::Result;
use crate::instance::CLIENT_INNER_PRODUCER_GROUP;
use crate::producer::{ProducerConfig, SendCore};

/// Delay before messages whose send-back failed are consumed again locally.
pub const LOCAL_RETRY_DELAY_MS: u64 = 5000;

/// The messages after `ack_index` (the ones to retry) for a consumption outcome.
pub fn failed_range(
    status: ConsumeConcurrentlyStatus,
    ack_index: i32,
    len: usize,
) -> std::ops::Range<usize> {
    let acked = match status {
        ConsumeConcurrentlyStatus::ConsumeSuccess => {
            let last = i64::from(ack_index).min(len as i64 - 1);
            (last + 1).max(0) as usize
        }
        ConsumeConcurrentlyStatus::ReconsumeLater => 0,
    };
    acked..len
}

impl PushInner {
    /// Queues `msgs` for consumption in batches of `consume_message_batch_max_size`.
    pub(crate) fn submit_concurrent(
        self: &Arc<Self>,
        msgs: Vec<MessageExt>,
        pq: Arc<ProcessQueue>,
        mq: MessageQueue,
    ) {
        let batch = self.config.consume_message_batch_max_size.max(1);
        // Move the messages into the tasks: no per-message clone.
        let mut msgs = msgs.into_iter();
        loop {
            let chunk: Vec<MessageExt> = msgs.by_ref().take(batch).collect();
            if chunk.is_empty() {
                return;
            }
            let (me, pq, mq) = (self.clone(), pq.clone(), mq.clone());
            if !self
                .pool
                .execute(move || me.consume_concurrent(chunk, pq, mq))
            {
                return;
            }
        }
    }

    fn consume_concurrent(
        self: &Arc<Self>,
        mut msgs: Vec<MessageExt>,
        pq: Arc<ProcessQueue>,
        mq: MessageQueue,
    ) {
        if pq.is_dropped() || self.is_stopped() {
            return;
        }
        let MessageListener::Concurrently(listener) = &self.listener else {
            return;
        };
        let start = now_millis().to_string();
        for m in &mut msgs {
            self.ctx.reset_retry_topic(m);
            m.properties
                .insert_static(keys::CONSUME_START_TIME, start.as_str());
        }
        let mut ctx = ConcurrentContext::new(mq.clone());
        let status = catch_unwind(AssertUnwindSafe(|| listener.consume(&msgs, &mut ctx)))
            .unwrap_or_else(|_| {
                log::error!("the listener of group {} panicked on {mq}", self.ctx.group);
                ConsumeConcurrentlyStatus::ReconsumeLater
            });
        if pq.is_dropped() {
            log::info!("{mq} was dropped during consumption; result not committed");
            return;
        }
        self.process_concurrent_result(status, &ctx, msgs, &pq, &mq);
    }

    fn process_concurrent_result(
        self: &Arc<Self>,
        status: ConsumeConcurrentlyStatus,
        ctx: &ConcurrentContext,
        msgs: Vec<MessageExt>,
        pq: &Arc<ProcessQueue>,
        mq: &MessageQueue,
    ) {
        let failed = failed_range(status, ctx.ack_index, msgs.len());
        let mut retry_locally = Vec::new();
        for msg in &msgs[failed] {
            if !self.is_clustering() {
                log::warn!(
                    "broadcast message {} failed and is dropped",
                    msg.queue_offset
                );
                continue;
            }
            if !self.send_message_back(msg, ctx.delay_level_when_next_consume, mq) {
                let mut again = msg.clone();
                again.reconsume_times += 1;
                retry_locally.push(again);
            }
        }
        let done: Vec<i64> = msgs
            .iter()
            .map(|m| m.queue_offset)
            .filter(|o| !retry_locally.iter().any(|r| r.queue_offset == *o))
            .collect();
        let watermark = {
            let mut state = pq.lock();
            state.mark_consumed(now_millis());
            state.remove_messages(&done)
        };
        if let Some(offset) = watermark.filter(|_| !pq.is_dropped()) {
            self.ctx.offsets.update(mq, offset, true);
        }
        if !retry_locally.is_empty() {
            let (me, pq, mq) = (self.clone(), pq.clone(), mq.clone());
            self.ctx.core.timer.schedule(LOCAL_RETRY_DELAY_MS, move || {
                me.submit_concurrent(retry_locally, pq, mq);
            });
        }
    }

    /// Returns a failed message to the broker for a delayed retry; true on success.
    pub(crate) fn send_message_back(
        &self,
        msg: &MessageExt,
        delay_level: i32,
        mq: &MessageQueue,
    ) -> bool {
        let core = &self.ctx.core;
        let addr = core
            .find_broker_master(&mq.broker_name)
            .unwrap_or_else(|| msg.store_host.to_string());
        let header = ConsumerSendMsgBackRequestHeader {
            offset: msg.commit_log_offset,
            group: self.ctx.group.clone(),
            delay_level,
            origin_msg_id: Some(
                msg.uniq_key()
                    .map_or_else(|| msg.offset_msg_id(), str::to_string),
            ),
            origin_topic: Some(msg.topic.clone()),
            unit_mode: Some(false),
            max_reconsume_times: Some(self.max_reconsume_times()),
        };
        match core
            .api
            .consumer_send_msg_back(&addr, &header, core.config.rpc_timeout_ms)
        {
            Ok(()) => true,
            Err(e) => {
                log::warn!(
                    "send-back of {} to {addr} failed ({e}); sending to the retry topic",
                    msg.offset_msg_id()
                );
                match self.send_to_retry_topic(msg) {
                    Ok(()) => true,
                    Err(e) => {
                        log::warn!("retry-topic send of {} failed: {e}", msg.offset_msg_id());
                        false
                    }
                }
            }
        }
    }

    /// The fallback of a failed send-back: a plain send to `%RETRY%<group>` through the
    /// client's internal producer, carrying the retry bookkeeping properties.
    pub(crate) fn send_to_retry_topic(&self, msg: &MessageExt) -> Result<()> {
        let mut m =
            Message::new(retry_topic(&self.ctx.group), msg.body.clone()).with_flag(msg.flag);
        for (k, v) in msg.properties.iter() {
            m.properties.insert(k, v);
        }
        let origin = msg
            .properties
            .get(keys::ORIGIN_MESSAGE_ID)
            .map(str::to_string)
            .or_else(|| msg.uniq_key().map(str::to_string))
            .unwrap_or_else(|| msg.offset_msg_id());
        m.properties.insert(keys::ORIGIN_MESSAGE_ID, origin);
        m.properties.insert(keys::RETRY_TOPIC, msg.topic.clone());
        m.properties
            .insert(keys::RECONSUME_TIME, (msg.reconsume_times + 1).to_string());
        m.properties.insert(
            keys::MAX_RECONSUME_TIMES,
            self.max_reconsume_times().to_string(),
        );
        m.properties
            .insert(keys::DELAY, (3 + msg.reconsume_times).to_string());
        let send = SendCore::new(
            self.ctx.core.clone(),
            CLIENT_INNER_PRODUCER_GROUP.to_string(),
            ProducerConfig::default(),
        );
        let prepared = send.prepare(m)?;
        send.send_sync(&prepared).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConsumeConcurrentlyStatus::*;

    #[test]
    fn ack_index_decides_what_is_retried() {
        assert_eq!(failed_range(ConsumeSuccess, i32::MAX, 3), 3..3);
        assert_eq!(failed_range(ConsumeSuccess, 0, 3), 1..3);
        assert_eq!(failed_range(ConsumeSuccess, -1, 3), 0..3);
        assert_eq!(failed_range(ConsumeSuccess, 7, 3), 3..3);
        assert_eq!(failed_range(ReconsumeLater, i32::MAX, 3), 0..3);
        assert_eq!(failed_range(ReconsumeLater, 1, 1), 0..1);
    }
}
