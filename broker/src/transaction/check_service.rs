//! `TransactionalMessageCheckService` (Java's class of the same name): the `transaction-check`
//! thread that runs a [`check_round`] every `transactionCheckInterval` and hands each resulting
//! CHECK_TRANSACTION_STATE request to the broker (which sends it one-way to a producer channel
//! of the group through its event loop).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::error::Result;
use crate::service_thread::{ServiceSignal, ThreadSlot};
use crate::store::commit_log::lock;
use crate::store::time::Clock;
use crate::store::MessageStore;
use crate::transaction::check::{
    check_round, CheckReport, CheckRequest, TransactionCheckConfig, TransactionOffsets,
};
use crate::transaction::half::{CHECK_MAX_TIME_QUEUE_NUMS, CHECK_MAX_TIME_TOPIC};

/// Receives each check request (called on the `transaction-check` thread; keep it quick:
/// hand the request to the event loop).
pub type CheckListener = Box<dyn FnMut(CheckRequest) + Send>;

/// Creates a topic in the topic table if absent: `(topic, queue_nums)`. Called with
/// `TRANS_CHECK_MAX_TIME_TOPIC` after a round discarded half messages.
pub type EnsureTopic = Box<dyn FnMut(&str, i32) + Send>;

/// The broker callbacks of the check service.
pub struct CheckHooks {
    /// Sends CHECK_TRANSACTION_STATE.
    pub check_listener: CheckListener,
    /// Registers `TRANS_CHECK_MAX_TIME_TOPIC` in the topic table (optional).
    pub ensure_topic: Option<EnsureTopic>,
}

struct Shared {
    store: Arc<MessageStore>,
    offsets: Arc<dyn TransactionOffsets>,
    config: TransactionCheckConfig,
    interval_ms: u64,
    clock: Clock,
    hooks: Mutex<CheckHooks>,
    signal: ServiceSignal,
}

/// The periodic transaction check. Thread-safe; all methods take `&self`.
pub struct TransactionalMessageCheckService {
    shared: Arc<Shared>,
    thread: ThreadSlot,
}

impl std::fmt::Debug for TransactionalMessageCheckService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionalMessageCheckService")
            .field("config", &self.shared.config)
            .field("interval_ms", &self.shared.interval_ms)
            .finish_non_exhaustive()
    }
}

impl TransactionalMessageCheckService {
    /// A service checking `store`'s half queue every `interval_ms`
    /// (`transactionCheckInterval`), with offsets in `offsets` and time from `clock`.
    pub fn new(
        store: Arc<MessageStore>,
        offsets: Arc<dyn TransactionOffsets>,
        config: TransactionCheckConfig,
        interval_ms: u64,
        clock: Clock,
        hooks: CheckHooks,
    ) -> Self {
        let shared = Shared {
            store,
            offsets,
            config,
            interval_ms: interval_ms.max(1),
            clock,
            hooks: Mutex::new(hooks),
            signal: ServiceSignal::default(),
        };
        TransactionalMessageCheckService {
            shared: Arc::new(shared),
            thread: ThreadSlot::default(),
        }
    }

    /// Starts the `transaction-check` thread (no-op if running): it waits one interval, runs a
    /// round, and repeats.
    pub fn start(&self) -> Result<()> {
        let shared = Arc::clone(&self.shared);
        if self
            .thread
            .spawn("transaction-check", move || shared.run())?
        {
            log::info!(
                "transaction check service started, every {} ms",
                self.shared.interval_ms
            );
        }
        Ok(())
    }

    /// Stops (waking) and joins the thread.
    pub fn shutdown(&self) {
        self.shared.signal.stop();
        self.thread.join();
        log::info!("transaction check service stopped");
    }

    /// Runs a round now, from the thread's next wait.
    pub fn wakeup(&self) {
        self.shared.signal.wakeup();
    }

    /// One round at `now_ms` on the calling thread: [`check_round`], then the hooks. Returns the
    /// report (its `checks` were also given to the listener).
    pub fn run_once(&self, now_ms: i64) -> Result<CheckReport> {
        self.shared.run_once(now_ms)
    }
}

impl Drop for TransactionalMessageCheckService {
    fn drop(&mut self) {
        self.shared.signal.stop();
        self.thread.join();
    }
}

impl Shared {
    fn run_once(&self, now_ms: i64) -> Result<CheckReport> {
        let report = check_round(&self.store, self.offsets.as_ref(), &self.config, now_ms)?;
        let mut hooks = lock(&self.hooks);
        if !report.discarded.is_empty() {
            if let Some(ensure) = hooks.ensure_topic.as_mut() {
                ensure(CHECK_MAX_TIME_TOPIC, CHECK_MAX_TIME_QUEUE_NUMS);
            }
        }
        for req in &report.checks {
            (hooks.check_listener)(req.clone());
        }
        if !report.checks.is_empty() || !report.discarded.is_empty() {
            log::info!(
                "transaction check: {} checked, {} discarded, half offset {:?}, op offset {:?}",
                report.checks.len(),
                report.discarded.len(),
                report.half_offsets,
                report.op_offsets
            );
        }
        Ok(report)
    }

    fn run(&self) {
        let interval = Duration::from_millis(self.interval_ms);
        loop {
            self.signal.wait(interval);
            if self.signal.is_stopped() {
                return;
            }
            if let Err(e) = self.run_once((self.clock)()) {
                log::error!("transaction check round failed: {e}");
            }
        }
    }
}
