//! Background-thread plumbing shared by the store services (RocketMQ `ServiceThread`): a
//! wake-up/stop signal with `wait_for_running` semantics, and named thread handles.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::store::commit_log::lock;

/// Wake-up and stop signal of one service thread. A `wakeup` is never lost: it makes the
/// next (or the current) `wait` return at once.
#[derive(Debug, Default)]
pub(crate) struct Signal {
    notified: AtomicBool,
    stopped: AtomicBool,
    mutex: Mutex<()>,
    cv: Condvar,
}

impl Signal {
    /// Wakes the service (cheap when it is already notified).
    pub(crate) fn wakeup(&self) {
        if self
            .notified
            .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            let _g = lock(&self.mutex);
            self.cv.notify_one();
        }
    }

    /// Waits until woken, stopped, or `timeout` elapses; clears the notification.
    pub(crate) fn wait(&self, timeout: Duration) {
        if self
            .notified
            .compare_exchange(true, false, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
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
    pub(crate) fn stop(&self) {
        self.stopped.store(true, Ordering::Release);
        let _g = lock(&self.mutex);
        self.cv.notify_all();
    }

    /// True once stopped.
    pub(crate) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::Acquire)
    }
}

/// Spawns a named service thread.
pub(crate) fn spawn(
    name: &str,
    f: impl FnOnce() + Send + 'static,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name(name.to_string()).spawn(f)
}

/// Joins a service thread, logging if it panicked.
pub(crate) fn join(handle: JoinHandle<()>) {
    let name = handle
        .thread()
        .name()
        .unwrap_or("store service")
        .to_string();
    if handle.join().is_err() {
        log::error!("{name} thread panicked");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Instant;

    #[test]
    fn wakeup_before_wait_is_not_lost() {
        let s = Signal::default();
        s.wakeup();
        let t = Instant::now();
        s.wait(Duration::from_secs(10));
        assert!(t.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn stop_wakes_a_waiter() {
        let s = Arc::new(Signal::default());
        let s2 = Arc::clone(&s);
        let h = spawn("t", move || s2.wait(Duration::from_secs(30))).unwrap();
        s.stop();
        join(h);
        assert!(s.is_stopped());
    }
}
