//! Wake-up/stop plumbing for the broker's own background services (schedule delivery,
//! transaction check): a [`ServiceSignal`] with RocketMQ `ServiceThread` semantics (a wakeup is
//! never lost, stop wakes the waiter) and a named-thread slot that joins on shutdown.
//!
//! The store keeps its own private copy of the same idea for its threads; this one is for
//! services outside `store`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::store::commit_log::lock;

/// Wake-up and stop signal of one service thread.
#[derive(Debug, Default)]
pub struct ServiceSignal {
    notified: AtomicBool,
    stopped: AtomicBool,
    mutex: Mutex<()>,
    cv: Condvar,
}

impl ServiceSignal {
    /// Wakes the service: the current or the next [`ServiceSignal::wait`] returns at once.
    pub fn wakeup(&self) {
        if !self.notified.swap(true, Ordering::AcqRel) {
            let _g = lock(&self.mutex);
            self.cv.notify_all();
        }
    }

    /// Waits until woken, stopped, or `timeout` elapses; clears the notification.
    pub fn wait(&self, timeout: Duration) {
        if self.notified.swap(false, Ordering::AcqRel) || self.is_stopped() {
            return;
        }
        let g = lock(&self.mutex);
        let _unused = self
            .cv
            .wait_timeout_while(g, timeout, |_| {
                !self.notified.load(Ordering::Acquire) && !self.stopped.load(Ordering::Acquire)
            })
            .unwrap_or_else(|p| p.into_inner());
        self.notified.store(false, Ordering::Release);
    }

    /// Asks the service to stop and wakes it.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        let _g = lock(&self.mutex);
        self.cv.notify_all();
    }

    /// True once stopped.
    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }
}

/// The join handle of a started service thread (empty before `start` and after `shutdown`).
#[derive(Debug, Default)]
pub struct ThreadSlot {
    handle: Mutex<Option<JoinHandle<()>>>,
}

impl ThreadSlot {
    /// Spawns `f` as thread `name` unless one is already running. `Ok(false)` if it was.
    pub fn spawn(&self, name: &str, f: impl FnOnce() + Send + 'static) -> Result<bool> {
        let mut slot = lock(&self.handle);
        if slot.is_some() {
            return Ok(false);
        }
        let handle = std::thread::Builder::new()
            .name(name.to_string())
            .spawn(f)
            .map_err(|e| Error::io("spawn service thread", name, e))?;
        *slot = Some(handle);
        Ok(true)
    }

    /// Joins the thread if one runs (call after stopping its signal).
    pub fn join(&self) {
        let handle = lock(&self.handle).take();
        if let Some(h) = handle {
            let name = h.thread().name().unwrap_or("service").to_string();
            if h.join().is_err() {
                log::error!("{name} thread panicked");
            }
        }
    }

    /// Whether a thread was started and not yet joined.
    pub fn is_running(&self) -> bool {
        lock(&self.handle).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn wakeup_before_wait_is_not_lost() {
        let s = ServiceSignal::default();
        s.wakeup();
        let t = Instant::now();
        s.wait(Duration::from_secs(30));
        assert!(t.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn stop_wakes_the_thread_and_join_returns() {
        let s = Arc::new(ServiceSignal::default());
        let slot = ThreadSlot::default();
        let s2 = Arc::clone(&s);
        assert!(slot
            .spawn("t", move || {
                while !s2.is_stopped() {
                    s2.wait(Duration::from_secs(30));
                }
            })
            .unwrap());
        assert!(!slot.spawn("t", || {}).unwrap(), "second start is a no-op");
        assert!(slot.is_running());
        s.stop();
        slot.join();
        assert!(!slot.is_running());
    }
}
