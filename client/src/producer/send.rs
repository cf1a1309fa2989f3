//! The send engine shared by [`Producer`](super::Producer), the transactional producer and
//! the consumers' retry fallback (Java `DefaultMQProducerImpl.sendDefaultImpl` /
//! `sendKernelImpl`): message preparation, queue selection with fault avoidance, retries on
//! another broker, the overall send timeout, and asynchronous sends that complete on the
//! callback threads without a thread per send.

use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use protocol::body::MessageQueue;
use protocol::header::SendMessageRequestHeader;
use protocol::message::{encode_message_batch, keys, sysflag, Message};
use protocol::remoting::RemotingError;
use protocol::util::clock::now_millis;
use protocol::ResponseCode;

use super::{ProducerConfig, SendResult};
use crate::api::{SendRequest, SendStatus};
use crate::compress::{compressed_sys_flag, zlib_compress};
use crate::error::{Error, Result};
use crate::instance::InstanceCore;
use crate::route::FaultStrategy;

/// A completion callback of an asynchronous send.
pub(crate) type SendCallback = Box<dyn FnOnce(Result<SendResult>) + Send>;

/// A message (or batch) ready to be sent to any queue of its topic.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) topic: String,
    header: SendMessageRequestHeader,
    body: Bytes,
    batch: bool,
    /// UNIQ_KEY, or the comma-joined UNIQ_KEYs of a batch.
    msg_id: String,
}

/// Broker answers after which another broker is tried (Java's retry list, plus SYSTEM_BUSY).
fn is_retryable(e: &Error) -> bool {
    match e {
        Error::Remoting(RemotingError::Shutdown | RemotingError::WouldDeadlock) => false,
        Error::Remoting(_) | Error::BrokerNotFound { .. } => true,
        Error::Broker { .. } => matches!(
            e.response_code(),
            Some(
                ResponseCode::TOPIC_NOT_EXIST
                    | ResponseCode::SERVICE_NOT_AVAILABLE
                    | ResponseCode::SYSTEM_ERROR
                    | ResponseCode::SYSTEM_BUSY
                    | ResponseCode::NO_PERMISSION
                    | ResponseCode::NO_BUYER_ID
                    | ResponseCode::NOT_IN_CURRENT_UNIT
            )
        ),
        _ => false,
    }
}

/// One producer group's sending machinery.
#[derive(Debug)]
pub(crate) struct SendCore {
    pub(crate) core: Arc<InstanceCore>,
    pub(crate) group: String,
    pub(crate) config: ProducerConfig,
    fault: FaultStrategy,
}

impl SendCore {
    pub(crate) fn new(core: Arc<InstanceCore>, group: String, config: ProducerConfig) -> Self {
        let fault = FaultStrategy::new(config.send_latency_fault_enable);
        SendCore {
            core,
            group,
            config,
            fault,
        }
    }

    fn base_header(&self, topic: &str, sys_flag: i32, flag: i32) -> SendMessageRequestHeader {
        SendMessageRequestHeader {
            producer_group: self.group.clone(),
            topic: topic.to_string(),
            default_topic: self.config.create_topic_key.clone(),
            default_topic_queue_nums: self.config.default_topic_queue_nums,
            queue_id: -1,
            sys_flag,
            born_timestamp: now_millis() as i64,
            flag,
            properties: None,
            reconsume_times: Some(0),
            unit_mode: Some(false),
            max_reconsume_times: None,
            batch: Some(false),
            broker_name: None,
        }
    }

    /// Prepares one message: UNIQ_KEY, compression, transaction flag, retry counters.
    pub(crate) fn prepare(&self, mut msg: Message) -> Result<Prepared> {
        let msg_id = msg
            .ensure_uniq_key(&self.core.uniq_ids, now_millis() as i64)
            .to_string();
        let mut sys_flag = 0;
        let mut body = msg.body.clone();
        if body.len() > self.config.compress_msg_body_over_bytes {
            body = Bytes::from(zlib_compress(&body, self.config.compress_level)?);
            sys_flag = compressed_sys_flag(sys_flag);
        }
        if msg.properties.get(keys::TRAN_MSG) == Some("true") {
            sys_flag |= sysflag::TRANSACTION_PREPARED_TYPE;
        }
        let mut header = self.base_header(&msg.topic, sys_flag, msg.flag);
        if msg.topic.starts_with("%RETRY%") {
            if let Some(n) = msg.properties.remove(keys::RECONSUME_TIME) {
                header.reconsume_times = n.parse().ok();
            }
            if let Some(n) = msg.properties.remove(keys::MAX_RECONSUME_TIMES) {
                header.max_reconsume_times = n.parse().ok();
            }
        }
        header.properties = Some(msg.properties.to_wire_string());
        Ok(Prepared {
            topic: msg.topic,
            header,
            body,
            batch: false,
            msg_id,
        })
    }

    /// Prepares a batch (already validated): every message gets its own UNIQ_KEY.
    pub(crate) fn prepare_batch(&self, mut msgs: Vec<Message>) -> Result<Prepared> {
        let now = now_millis() as i64;
        let ids: Vec<String> = msgs
            .iter_mut()
            .map(|m| m.ensure_uniq_key(&self.core.uniq_ids, now).to_string())
            .collect();
        let mut body = BytesMut::new();
        encode_message_batch(&msgs, &mut body)?;
        let first = msgs
            .first()
            .ok_or_else(|| Error::InvalidMessage("a batch needs at least one message".into()))?;
        let mut header = self.base_header(&first.topic, 0, 0);
        header.batch = Some(true);
        let wait = first.is_wait_store_msg_ok();
        header.properties = Some(format!("{}\u{1}{wait}\u{2}", keys::WAIT));
        Ok(Prepared {
            topic: first.topic.clone(),
            header,
            body: body.freeze(),
            batch: true,
            msg_id: ids.join(","),
        })
    }

    fn request_for(&self, p: &Prepared, mq: &MessageQueue) -> SendRequest {
        let mut header = p.header.clone();
        header.queue_id = mq.queue_id;
        header.broker_name = Some(mq.broker_name.clone());
        SendRequest {
            header,
            body: p.body.clone(),
            batch: p.batch,
        }
    }

    fn build_result(
        p: &Prepared,
        mq: &MessageQueue,
        status: SendStatus,
        h: protocol::header::SendMessageResponseHeader,
    ) -> SendResult {
        SendResult {
            status,
            msg_id: p.msg_id.clone(),
            offset_msg_id: h.msg_id,
            queue: MessageQueue::new(&mq.topic, &mq.broker_name, h.queue_id),
            queue_offset: h.queue_offset,
            transaction_id: h.transaction_id,
            region_id: h.msg_region,
            trace_on: h.trace_on.as_deref() != Some("false"),
        }
    }

    /// One attempt to `mq`, no retries.
    pub(crate) fn send_kernel(
        &self,
        p: &Prepared,
        mq: &MessageQueue,
        timeout_ms: u64,
    ) -> Result<SendResult> {
        let addr = self
            .core
            .find_broker_master_or_refresh(&mq.broker_name, &p.topic)?;
        let (status, header) =
            self.core
                .api
                .send_message(&addr, self.request_for(p, mq), timeout_ms)?;
        Ok(Self::build_result(p, mq, status, header))
    }

    fn select(&self, p: &Prepared, last_broker: Option<&str>) -> Result<MessageQueue> {
        if self.core.is_stopped() {
            return Err(Error::Shutdown);
        }
        let info = self
            .core
            .publish_info(&p.topic, self.config.default_topic_queue_nums)?;
        self.fault
            .select(&info, last_broker, now_millis())
            .ok_or_else(|| Error::NoRoute {
                topic: p.topic.clone(),
            })
    }

    /// A synchronous send with retries on another broker within the send timeout.
    pub(crate) fn send_sync(&self, p: &Prepared) -> Result<SendResult> {
        let start = Instant::now();
        let timeout = self.config.send_msg_timeout_ms;
        let attempts = 1 + self.config.retry_times_when_send_failed;
        let mut last_broker: Option<String> = None;
        let mut last_error = None;
        for attempt in 0..attempts {
            let mq = self.select(p, last_broker.as_deref())?;
            let elapsed = start.elapsed().as_millis() as u64;
            if elapsed >= timeout {
                return Err(Error::Timeout {
                    what: format!("send to topic {}", p.topic),
                    timeout_ms: timeout,
                });
            }
            let begin = Instant::now();
            let result = self.send_kernel(p, &mq, timeout - elapsed);
            let latency = begin.elapsed().as_millis() as u64;
            match result {
                Ok(r) => {
                    self.fault
                        .update(&mq.broker_name, latency, false, now_millis());
                    let retry_store = self.config.retry_another_broker_when_not_store_ok
                        && r.status != SendStatus::SendOk
                        && attempt + 1 < attempts;
                    if !retry_store {
                        return Ok(r);
                    }
                    last_error = Some(Error::Broker {
                        addr: mq.broker_name.clone(),
                        code: 0,
                        remark: format!("stored with status {:?}", r.status),
                    });
                }
                Err(e) if is_retryable(&e) => {
                    self.fault
                        .update(&mq.broker_name, latency, e.is_remoting(), now_millis());
                    log::warn!("send to {mq} failed (attempt {}): {e}", attempt + 1);
                    last_error = Some(e);
                }
                Err(e) => return Err(e),
            }
            last_broker = Some(mq.broker_name);
        }
        Err(last_error.unwrap_or_else(|| Error::NoRoute {
            topic: p.topic.clone(),
        }))
    }

    /// An asynchronous send with retries; `callback` runs once on a callback thread.
    pub(crate) fn send_async(
        self: &Arc<Self>,
        p: Prepared,
        fixed: Option<MessageQueue>,
        callback: SendCallback,
    ) {
        let attempts = if fixed.is_some() {
            1
        } else {
            1 + self.config.retry_times_when_send_async_failed
        };
        let state = AsyncSend {
            send: self.clone(),
            prepared: p,
            fixed,
            attempts_left: attempts,
            last_broker: None,
            start: Instant::now(),
            callback,
        };
        state.attempt();
    }

    /// A one-way send to the next queue (no answer, no retries).
    pub(crate) fn send_oneway(&self, p: &Prepared, fixed: Option<&MessageQueue>) -> Result<()> {
        let mq = match fixed {
            Some(mq) => mq.clone(),
            None => self.select(p, None)?,
        };
        let addr = self
            .core
            .find_broker_master_or_refresh(&mq.broker_name, &p.topic)?;
        self.core
            .api
            .send_message_oneway(&addr, self.request_for(p, &mq))
    }

    /// The writable queues of `topic` (for selectors).
    pub(crate) fn publish_queues(&self, topic: &str) -> Result<Vec<MessageQueue>> {
        if self.core.is_stopped() {
            return Err(Error::Shutdown);
        }
        let info = self
            .core
            .publish_info(topic, self.config.default_topic_queue_nums)?;
        Ok(info.queues.clone())
    }
}

/// The state of one asynchronous send across its attempts.
struct AsyncSend {
    send: Arc<SendCore>,
    prepared: Prepared,
    fixed: Option<MessageQueue>,
    attempts_left: u32,
    last_broker: Option<String>,
    start: Instant,
    callback: SendCallback,
}

impl AsyncSend {
    /// Starts the next attempt (on the caller's or a callback thread: may block on a route
    /// lookup, never on the event loop).
    fn attempt(mut self) {
        let timeout = self.send.config.send_msg_timeout_ms;
        let elapsed = self.start.elapsed().as_millis() as u64;
        if elapsed >= timeout {
            let what = format!("asynchronous send to topic {}", self.prepared.topic);
            return (self.callback)(Err(Error::Timeout {
                what,
                timeout_ms: timeout,
            }));
        }
        let mq = match &self.fixed {
            Some(mq) => Ok(mq.clone()),
            None => self
                .send
                .select(&self.prepared, self.last_broker.as_deref()),
        };
        let target = mq.and_then(|mq| {
            let addr = self
                .send
                .core
                .find_broker_master_or_refresh(&mq.broker_name, &self.prepared.topic)?;
            Ok((mq, addr))
        });
        let (mq, addr) = match target {
            Ok(t) => t,
            Err(e) => return self.retry_or_fail(None, e, 0),
        };
        self.attempts_left -= 1;
        let request = self.send.request_for(&self.prepared, &mq);
        let api = self.send.core.api.clone();
        let begin = Instant::now();
        api.send_message_async(&addr, request, timeout - elapsed, move |result| {
            let latency = begin.elapsed().as_millis() as u64;
            let callbacks = &self.send.core.clone();
            callbacks
                .callbacks
                .execute_or_run(move || self.on_result(mq, result, latency));
        });
    }

    fn on_result(
        self,
        mq: MessageQueue,
        result: Result<(SendStatus, protocol::header::SendMessageResponseHeader)>,
        latency_ms: u64,
    ) {
        match result {
            Ok((status, header)) => {
                self.send
                    .fault
                    .update(&mq.broker_name, latency_ms, false, now_millis());
                let r = SendCore::build_result(&self.prepared, &mq, status, header);
                (self.callback)(Ok(r));
            }
            Err(e) => {
                self.send
                    .fault
                    .update(&mq.broker_name, latency_ms, e.is_remoting(), now_millis());
                self.retry_or_fail(Some(mq.broker_name), e, latency_ms);
            }
        }
    }

    fn retry_or_fail(mut self, broker: Option<String>, e: Error, _latency_ms: u64) {
        if self.attempts_left > 0 && is_retryable(&e) && !self.send.core.is_stopped() {
            log::warn!(
                "asynchronous send to {} failed, retrying: {e}",
                self.prepared.topic
            );
            if broker.is_some() {
                self.last_broker = broker;
            } else {
                self.attempts_left -= 1;
            }
            return self.attempt();
        }
        (self.callback)(Err(e));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retryable_errors() {
        let broker = |code: ResponseCode| Error::Broker {
            addr: "b".into(),
            code: code.code(),
            remark: String::new(),
        };
        assert!(is_retryable(&broker(ResponseCode::SYSTEM_BUSY)));
        assert!(is_retryable(&broker(ResponseCode::TOPIC_NOT_EXIST)));
        assert!(!is_retryable(&broker(ResponseCode::MESSAGE_ILLEGAL)));
        assert!(is_retryable(&Error::Remoting(
            RemotingError::ConnectionClosed { addr: "b".into() }
        )));
        assert!(!is_retryable(&Error::Remoting(RemotingError::Shutdown)));
        assert!(!is_retryable(&Error::InvalidMessage("x".into())));
        assert!(is_retryable(&Error::BrokerNotFound {
            broker_name: "b".into()
        }));
    }
}
