//! The broker's message services and their wiring: delay delivery
//! ([`ScheduleMessageService`]) and transaction check-back
//! ([`TransactionalMessageCheckService`]). Both run on masters only (a slave's store is a copy
//! of its master's; a promoted slave starts them then). Check-back requests travel from the `transaction-check` thread to the
//! event loop through a channel plus the loop's waker; the loop sends them to a producer.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Arc;

use protocol::body::perm::PERM_READ_WRITE;
use protocol::body::register_broker::TopicConfig;
use protocol::remoting::RemotingHandle;

use crate::error::Result;
use crate::processor::{wall_ms, BrokerShared};
use crate::schedule::ScheduleMessageService;
use crate::store::time::system_clock;
use crate::transaction::{
    CheckHooks, CheckRequest, TransactionCheckConfig, TransactionOffsets,
    TransactionalMessageCheckService,
};

/// The offsets of the internal transaction group, kept in the broker's shared offset table.
struct SharedOffsets(Arc<BrokerShared>);

impl TransactionOffsets for SharedOffsets {
    fn query(&self, topic: &str, queue_id: i32) -> Option<i64> {
        self.0.offsets.query(topic, queue_id)
    }

    fn commit(&self, topic: &str, queue_id: i32, offset: i64) {
        self.0.offsets.commit(topic, queue_id, offset);
        self.0
            .mark_dirty(crate::processor::PERSIST_CONSUMER_OFFSETS);
    }
}

/// The running message services.
#[derive(Default)]
pub struct MessageServices {
    schedule: Option<ScheduleMessageService>,
    tx_check: Option<TransactionalMessageCheckService>,
}

impl MessageServices {
    /// The channel check requests travel on: the event-loop handler keeps the receiver and
    /// drains it when woken; [`MessageServices::start`] takes a clone of the sender (again
    /// after a slave promotion).
    pub fn check_channel() -> (Sender<CheckRequest>, Receiver<CheckRequest>) {
        mpsc::channel()
    }

    /// Starts the services (masters only; a slave gets an empty set).
    pub fn start(
        shared: &Arc<BrokerShared>,
        handle: RemotingHandle,
        tx: Sender<CheckRequest>,
    ) -> Result<Self> {
        if !shared.is_master() {
            return Ok(Self::default());
        }
        let schedule = ScheduleMessageService::open(Arc::clone(&shared.store))?;
        schedule.start()?;
        let topics_owner = Arc::clone(shared);
        let hooks = CheckHooks {
            check_listener: Box::new(move |req| {
                if tx.send(req).is_ok() {
                    handle.wake();
                }
            }),
            ensure_topic: Some(Box::new(move |topic, queues| {
                topics_owner.change_topics(|t| {
                    if !t.contains(topic) {
                        let config =
                            TopicConfig::with_queues(topic, queues, queues, PERM_READ_WRITE);
                        t.update(config, wall_ms());
                    }
                });
            })),
        };
        let tx_check = TransactionalMessageCheckService::new(
            Arc::clone(&shared.store),
            Arc::new(SharedOffsets(Arc::clone(shared))),
            TransactionCheckConfig::from_broker_config(&shared.config),
            shared.config.transaction_check_interval_ms,
            system_clock(),
            hooks,
        );
        tx_check.start()?;
        Ok(MessageServices {
            schedule: Some(schedule),
            tx_check: Some(tx_check),
        })
    }

    /// Stops the services (saving the delay offsets). Idempotent.
    pub fn shutdown(&mut self) {
        if let Some(tx) = self.tx_check.take() {
            tx.shutdown();
        }
        if let Some(s) = self.schedule.take() {
            if let Err(e) = s.shutdown() {
                log::error!("schedule service shutdown: {e}");
            }
        }
    }
}

impl Drop for MessageServices {
    fn drop(&mut self) {
        self.shutdown();
    }
}
