//! Transactional messages (wire reference §2.3, §8): [`TransactionProducer`] sends a half
//! message, runs the local transaction, and ends it with END_TRANSACTION; when the broker
//! asks later (CHECK_TRANSACTION_STATE), [`TransactionListener::check_local`] runs on the
//! producer's check thread — never on the event loop — and the answer goes back on the
//! connection the question came from.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

use protocol::header::{CheckTransactionStateRequestHeader, EndTransactionRequestHeader};
use protocol::message::{decode_offset_msg_id, keys, Message, MessageExt};
use protocol::remoting::{ConnId, RemotingHandle};
use protocol::util::clock::now_millis;
use protocol::{RemotingCommand, RequestCode};

use super::{validate, Producer, ProducerBuilder, SendResult, SendStatus};
use crate::config::ClientConfig;
use crate::error::{Error, Result};
use crate::instance::{ClientInstance, ProducerMember};
use crate::scheduler::Executor;

/// The outcome of a local transaction (Java `LocalTransactionState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LocalTransactionState {
    /// Make the half message visible to consumers.
    CommitMessage,
    /// Discard the half message.
    RollbackMessage,
    /// Not known yet: the broker will ask again later.
    Unknown,
}

impl LocalTransactionState {
    /// The `commitOrRollback` value of END_TRANSACTION.
    pub fn commit_or_rollback(self) -> i32 {
        match self {
            LocalTransactionState::CommitMessage => EndTransactionRequestHeader::COMMIT_TYPE,
            LocalTransactionState::RollbackMessage => EndTransactionRequestHeader::ROLLBACK_TYPE,
            LocalTransactionState::Unknown => EndTransactionRequestHeader::NOT_TYPE,
        }
    }
}

/// The application side of transactional messages.
pub trait TransactionListener: Send + Sync + 'static {
    /// Runs the local transaction after the half message was stored. `msg` carries its
    /// UNIQ_KEY and `transaction_id`.
    fn execute_local(&self, msg: &Message) -> LocalTransactionState;
    /// Answers the broker's question about a half message whose outcome it did not learn
    /// (the producer crashed, or answered [`LocalTransactionState::Unknown`]).
    fn check_local(&self, msg: &MessageExt) -> LocalTransactionState;
}

/// The outcome of [`TransactionProducer::send_in_transaction`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionSendResult {
    /// The half message's send result.
    pub send_result: SendResult,
    /// What the local transaction decided (rollback when the half message was not stored OK).
    pub local_state: LocalTransactionState,
}

/// Runs `f`, turning a panic into [`LocalTransactionState::Unknown`] (the broker asks again).
fn guarded(f: impl FnOnce() -> LocalTransactionState) -> LocalTransactionState {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|_| {
        log::error!("a local transaction panicked; reporting UNKNOWN");
        LocalTransactionState::Unknown
    })
}

/// The registry entry of a transactional producer: answers checks on its own thread.
struct TransactionMember {
    group: String,
    listener: Arc<dyn TransactionListener>,
    checks: Arc<Executor>,
    handle: RemotingHandle,
}

impl ProducerMember for TransactionMember {
    fn group(&self) -> &str {
        &self.group
    }

    fn check_transaction(
        &self,
        conn: ConnId,
        header: CheckTransactionStateRequestHeader,
        msg: MessageExt,
    ) {
        let (group, listener, handle) = (
            self.group.clone(),
            self.listener.clone(),
            self.handle.clone(),
        );
        let accepted = self.checks.execute(move || {
            let state = guarded(|| listener.check_local(&msg));
            let end = check_answer(&group, &header, &msg, state);
            let request = RemotingCommand::request_with_header(RequestCode::END_TRANSACTION, &end);
            // Not a response: `send_to` sends it one-way on the broker's connection.
            if let Err(e) = handle.send_to(conn, request) {
                log::warn!("cannot answer the transaction check of {}: {e}", end.msg_id);
            }
        });
        if !accepted {
            log::warn!(
                "transaction check dropped: producer {} is closing",
                self.group
            );
        }
    }
}

/// The END_TRANSACTION header answering a check.
fn check_answer(
    group: &str,
    check: &CheckTransactionStateRequestHeader,
    msg: &MessageExt,
    state: LocalTransactionState,
) -> EndTransactionRequestHeader {
    let msg_id = msg
        .uniq_key()
        .map(str::to_string)
        .or_else(|| check.msg_id.clone())
        .unwrap_or_else(|| msg.offset_msg_id());
    EndTransactionRequestHeader {
        producer_group: group.to_string(),
        tran_state_table_offset: check.tran_state_table_offset,
        commit_log_offset: check.commit_log_offset,
        commit_or_rollback: state.commit_or_rollback(),
        from_transaction_check: Some(true),
        msg_id,
        transaction_id: check.transaction_id.clone(),
        topic: Some(msg.topic.clone()),
    }
}

/// Builds a [`TransactionProducer`].
pub struct TransactionProducerBuilder {
    inner: ProducerBuilder,
    listener: Arc<dyn TransactionListener>,
    check_threads: usize,
}

impl std::fmt::Debug for TransactionProducerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionProducerBuilder")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl TransactionProducerBuilder {
    /// Uses a private client instance for the NameServers `addrs`.
    pub fn name_server(mut self, addrs: &str) -> Self {
        self.inner = self.inner.name_server(addrs);
        self
    }

    /// Uses a private client instance with this configuration.
    pub fn client_config(mut self, config: ClientConfig) -> Self {
        self.inner = self.inner.client_config(config);
        self
    }

    /// Shares an existing client instance.
    pub fn instance(mut self, instance: Arc<ClientInstance>) -> Self {
        self.inner = self.inner.instance(instance);
        self
    }

    /// Replaces the producer settings.
    pub fn config(mut self, config: super::ProducerConfig) -> Self {
        self.inner = self.inner.config(config);
        self
    }

    /// Threads answering broker checks (default 1).
    pub fn check_threads(mut self, n: usize) -> Self {
        self.check_threads = n.max(1);
        self
    }

    /// Starts the producer.
    pub fn start(self) -> Result<TransactionProducer> {
        let (group, config, source) = self.inner.into_parts();
        let checks = Arc::new(
            Executor::start("client-tx-check", self.check_threads)
                .map_err(|e| Error::Config(format!("cannot start the check threads: {e}")))?,
        );
        let listener = self.listener.clone();
        let member_checks = checks.clone();
        let producer = Producer::start_with(group, config, source, move |send| {
            Arc::new(TransactionMember {
                group: send.group.clone(),
                listener,
                checks: member_checks,
                handle: send.core.api.handle().clone(),
            })
        });
        match producer {
            Ok(producer) => Ok(TransactionProducer {
                producer,
                listener: self.listener,
                checks,
            }),
            Err(e) => {
                checks.shutdown();
                Err(e)
            }
        }
    }
}

/// A producer of transactional messages (Java `TransactionMQProducer`).
///
/// # Examples
/// ```no_run
/// use client::{LocalTransactionState, Message, MessageExt, TransactionListener, TransactionProducer};
/// struct Orders;
/// impl TransactionListener for Orders {
///     fn execute_local(&self, _msg: &Message) -> LocalTransactionState {
///         LocalTransactionState::CommitMessage
///     }
///     fn check_local(&self, _msg: &MessageExt) -> LocalTransactionState {
///         LocalTransactionState::CommitMessage
///     }
/// }
/// let producer = TransactionProducer::builder("TXG", Orders).name_server("127.0.0.1:9876").start()?;
/// let r = producer.send_in_transaction(Message::new("Orders", "order 1"))?;
/// println!("{:?} {}", r.local_state, r.send_result.msg_id);
/// # Ok::<(), client::Error>(())
/// ```
pub struct TransactionProducer {
    producer: Producer,
    listener: Arc<dyn TransactionListener>,
    checks: Arc<Executor>,
}

impl std::fmt::Debug for TransactionProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionProducer")
            .field("producer", &self.producer)
            .finish_non_exhaustive()
    }
}

impl TransactionProducer {
    /// A builder for producer group `group` with `listener`.
    pub fn builder(
        group: impl Into<String>,
        listener: impl TransactionListener,
    ) -> TransactionProducerBuilder {
        TransactionProducerBuilder {
            inner: Producer::builder(group),
            listener: Arc::new(listener),
            check_threads: 1,
        }
    }

    /// The underlying producer, for ordinary sends of the same group.
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// Sends `msg` as a half message, runs [`TransactionListener::execute_local`], and commits
    /// or rolls back accordingly.
    pub fn send_in_transaction(&self, msg: Message) -> Result<TransactionSendResult> {
        let listener = self.listener.clone();
        self.send_in_transaction_with(msg, move |m| listener.execute_local(m))
    }

    /// Like [`send_in_transaction`](Self::send_in_transaction) with a per-message local
    /// transaction instead of the listener's.
    pub fn send_in_transaction_with(
        &self,
        mut msg: Message,
        local: impl FnOnce(&Message) -> LocalTransactionState,
    ) -> Result<TransactionSendResult> {
        let send = self.producer.send_core();
        validate::check_message(&msg, send.config.max_message_bytes)?;
        msg.properties.remove(keys::DELAY);
        msg.properties.insert(keys::TRAN_MSG, "true");
        msg.properties.insert(keys::PGROUP, send.group.clone());
        msg.ensure_uniq_key(&send.core.uniq_ids, now_millis() as i64);
        let prepared = send.prepare(msg.clone())?;
        let result = send.send_sync(&prepared)?;
        let state = if result.status == SendStatus::SendOk {
            let tid = result
                .transaction_id
                .clone()
                .unwrap_or_else(|| result.msg_id.clone());
            msg.transaction_id = Some(tid);
            guarded(|| local(&msg))
        } else {
            LocalTransactionState::RollbackMessage
        };
        if let Err(e) = self.end_transaction(&result, &msg.topic, state) {
            log::warn!(
                "END_TRANSACTION for {} failed (the broker will check back): {e}",
                result.msg_id
            );
        }
        Ok(TransactionSendResult {
            send_result: result,
            local_state: state,
        })
    }

    fn end_transaction(
        &self,
        result: &SendResult,
        topic: &str,
        state: LocalTransactionState,
    ) -> Result<()> {
        let send = self.producer.send_core();
        let (_, commit_log_offset) = decode_offset_msg_id(&result.offset_msg_id)?;
        let addr = send
            .core
            .find_broker_master_or_refresh(&result.queue.broker_name, topic)?;
        let header = EndTransactionRequestHeader {
            producer_group: send.group.clone(),
            tran_state_table_offset: result.queue_offset,
            commit_log_offset,
            commit_or_rollback: state.commit_or_rollback(),
            from_transaction_check: Some(false),
            msg_id: result.msg_id.clone(),
            transaction_id: result.transaction_id.clone(),
            topic: Some(topic.to_string()),
        };
        send.core.api.end_transaction_oneway(&addr, &header, None)
    }

    /// Closes the producer and stops the check threads.
    pub fn close(self) {
        drop(self);
    }
}

impl Drop for TransactionProducer {
    fn drop(&mut self) {
        // Unregister first so that no new check arrives, then let running checks finish.
        self.producer.close_inner();
        self.checks.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_or_rollback_codes() {
        assert_eq!(LocalTransactionState::CommitMessage.commit_or_rollback(), 8);
        assert_eq!(
            LocalTransactionState::RollbackMessage.commit_or_rollback(),
            12
        );
        assert_eq!(LocalTransactionState::Unknown.commit_or_rollback(), 0);
    }

    #[test]
    fn panics_become_unknown() {
        assert_eq!(guarded(|| panic!("boom")), LocalTransactionState::Unknown);
        assert_eq!(
            guarded(|| LocalTransactionState::CommitMessage),
            LocalTransactionState::CommitMessage
        );
    }

    #[test]
    fn check_answers_carry_the_check_offsets() {
        let mut msg = MessageExt::new("Orders", "x");
        msg.properties.insert(keys::UNIQ_KEY, "UNIQ1");
        let check = CheckTransactionStateRequestHeader {
            topic: Some("Orders".into()),
            tran_state_table_offset: 17,
            commit_log_offset: 4096,
            msg_id: Some("OTHER".into()),
            transaction_id: Some("UNIQ1".into()),
            offset_msg_id: None,
        };
        let h = check_answer("TXG", &check, &msg, LocalTransactionState::RollbackMessage);
        assert_eq!((h.tran_state_table_offset, h.commit_log_offset), (17, 4096));
        assert_eq!(h.msg_id, "UNIQ1");
        assert_eq!(h.from_transaction_check, Some(true));
        assert!(h.is_rollback());
        assert_eq!(h.producer_group, "TXG");
    }
}
