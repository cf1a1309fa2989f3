//! SYNC_MASTER bookkeeping on the master (RocketMQ `GroupTransferService` + the
//! `push2SlaveMaxOffset` / `connectionCount` of `DefaultHAService`): the highest offset any
//! slave has acknowledged, how many slaves are connected, and the send replies waiting for a
//! slave acknowledgement.
//!
//! Thread-safety: shared by the event loop (which registers waiters), the `ha-master` thread
//! (which records acknowledgements and expires waiters) and the flush thread (which registers
//! waiters after a SYNC_FLUSH group commit). Waiter callbacks run outside the lock; they must be
//! quick (queue a reply through the loop's handle). One acknowledgement releases every waiter
//! at or below it.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::commit_log::lock;

/// What happened to a SYNC_MASTER wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlaveAck {
    /// A slave acknowledged the record's end offset.
    Acked,
    /// No acknowledgement within the timeout (FLUSH_SLAVE_TIMEOUT).
    Timeout,
}

/// Callback of a SYNC_MASTER wait; runs on the `ha-master` thread (or inline).
pub type AckWaiter = Box<dyn FnOnce(SlaveAck) + Send>;

struct Waiter {
    end_offset: u64,
    deadline: Instant,
    callback: AckWaiter,
}

/// Master-side replication state. See the module docs.
#[derive(Default)]
pub struct HaState {
    max_acked: AtomicU64,
    connected: AtomicUsize,
    waiters: Mutex<Vec<Waiter>>,
}

impl std::fmt::Debug for HaState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HaState")
            .field("max_acked", &self.max_acked_offset())
            .field("connected", &self.connected_slaves())
            .finish_non_exhaustive()
    }
}

impl HaState {
    /// The highest commitlog offset any slave has reported (`push2SlaveMaxOffset`).
    pub fn max_acked_offset(&self) -> u64 {
        self.max_acked.load(Ordering::Acquire)
    }

    /// Slave connections currently open.
    pub fn connected_slaves(&self) -> usize {
        self.connected.load(Ordering::Acquire)
    }

    pub(crate) fn slave_connected(&self) {
        self.connected.fetch_add(1, Ordering::AcqRel);
    }

    pub(crate) fn slave_disconnected(&self) {
        self.connected.fetch_sub(1, Ordering::AcqRel);
    }

    /// Whether a SYNC_MASTER send ending at `end_offset` may wait for a slave: one is connected
    /// and the best one lags by less than `max_gap_bytes` (RocketMQ `isSlaveOK`).
    pub fn is_slave_ok(&self, end_offset: u64, max_gap_bytes: u64) -> bool {
        self.connected_slaves() > 0
            && end_offset.saturating_sub(self.max_acked_offset()) < max_gap_bytes
    }

    /// Records a slave's report and releases every waiter at or below the best one.
    pub fn on_ack(&self, offset: u64) {
        let best = self
            .max_acked
            .fetch_max(offset, Ordering::AcqRel)
            .max(offset);
        let ready = {
            let mut w = lock(&self.waiters);
            if w.iter().all(|x| x.end_offset > best) {
                return;
            }
            let (ready, keep): (Vec<_>, Vec<_>) = w.drain(..).partition(|x| x.end_offset <= best);
            *w = keep;
            ready
        };
        for waiter in ready {
            (waiter.callback)(SlaveAck::Acked);
        }
    }

    /// Calls `callback` once a slave acknowledged `end_offset`, or with `Timeout` after
    /// `timeout` (checked by the `ha-master` thread at least every 100 ms).
    pub fn wait_for_ack(&self, end_offset: u64, timeout: Duration, callback: AckWaiter) {
        let mut w = lock(&self.waiters);
        if self.max_acked_offset() >= end_offset {
            drop(w);
            callback(SlaveAck::Acked);
            return;
        }
        w.push(Waiter {
            end_offset,
            deadline: Instant::now() + timeout,
            callback,
        });
    }

    /// Fires `Timeout` for waiters past their deadline (`None`: all of them, at shutdown).
    pub fn expire(&self, now: Option<Instant>) {
        let expired = {
            let mut w = lock(&self.waiters);
            if w.is_empty() {
                return;
            }
            let (expired, keep): (Vec<_>, Vec<_>) = w
                .drain(..)
                .partition(|x| now.is_none_or(|n| x.deadline <= n));
            *w = keep;
            expired
        };
        for waiter in expired {
            (waiter.callback)(SlaveAck::Timeout);
        }
    }

    /// Waiters not yet released.
    pub fn waiting(&self) -> usize {
        lock(&self.waiters).len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    type Log = Arc<Mutex<Vec<(u64, SlaveAck)>>>;

    fn recorder() -> (Log, impl Fn(u64) -> AckWaiter) {
        let log = Arc::new(Mutex::new(Vec::new()));
        let l = Arc::clone(&log);
        let make = move |end: u64| -> AckWaiter {
            let l = Arc::clone(&l);
            Box::new(move |a| lock(&l).push((end, a)))
        };
        (log, make)
    }

    #[test]
    fn one_ack_releases_every_waiter_below_it() {
        let s = HaState::default();
        let (log, make) = recorder();
        for end in [100, 200, 300] {
            s.wait_for_ack(end, Duration::from_secs(60), make(end));
        }
        s.on_ack(250);
        assert_eq!(
            *lock(&log),
            [(100, SlaveAck::Acked), (200, SlaveAck::Acked)]
        );
        assert_eq!(s.waiting(), 1);
        s.on_ack(10); // older report: the best stays 250
        assert_eq!(s.max_acked_offset(), 250);
        s.wait_for_ack(240, Duration::from_secs(60), make(240));
        assert_eq!(
            lock(&log).last(),
            Some(&(240, SlaveAck::Acked)),
            "already acked"
        );
        s.expire(None);
        assert_eq!(lock(&log).last(), Some(&(300, SlaveAck::Timeout)));
        assert_eq!(s.waiting(), 0);
    }

    #[test]
    fn deadlines_and_slave_ok() {
        let s = HaState::default();
        let (log, make) = recorder();
        s.wait_for_ack(10, Duration::from_millis(0), make(10));
        s.wait_for_ack(20, Duration::from_secs(60), make(20));
        s.expire(Some(Instant::now()));
        assert_eq!(*lock(&log), [(10, SlaveAck::Timeout)]);
        assert!(!s.is_slave_ok(10, 100), "no slave connected");
        s.slave_connected();
        s.on_ack(50);
        assert!(s.is_slave_ok(149, 100));
        assert!(!s.is_slave_ok(150, 100), "lag of 100 is too much");
        s.slave_disconnected();
        assert!(!s.is_slave_ok(60, 100));
    }
}
