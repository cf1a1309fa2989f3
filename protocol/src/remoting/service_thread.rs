//! [`ServiceThread`]: a named background thread with a stop flag and a coalescing wake-up,
//! RocketMQ's `ServiceThread` in Rust shape (used by the broker's flush, reput, schedule and
//! persist services).
//!
//! The body receives a [`ServiceControl`] and typically loops
//! `while !ctl.is_stopped() { ctl.wait_for_running(interval); do_work(); }`.
//! [`ServiceThread::wakeup`] ends the current (or next) wait early; many wake-ups before the
//! body waits again count once.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct Signal {
    stopped: AtomicBool,
    notified: AtomicBool,
    lock: Mutex<()>,
    cond: Condvar,
}

/// The body's (and anyone's) view of a service thread's stop flag and wake-up signal.
/// Cheap to clone; thread-safe.
#[derive(Debug, Clone, Default)]
pub struct ServiceControl {
    signal: Arc<Signal>,
}

impl ServiceControl {
    /// A control not attached to any thread (useful for tests and manual loops).
    pub fn new() -> Self {
        Self::default()
    }

    /// True once shutdown was requested.
    pub fn is_stopped(&self) -> bool {
        self.signal.stopped.load(Ordering::Acquire)
    }

    /// Waits until woken, stopped, or `timeout` elapses. Returns true if woken (or stopped),
    /// false on timeout. A wake-up that arrived while the body was working returns at once.
    pub fn wait_for_running(&self, timeout: Duration) -> bool {
        let s = &self.signal;
        if s.notified.swap(false, Ordering::AcqRel) || self.is_stopped() {
            return true;
        }
        let deadline = Instant::now() + timeout;
        // The mutex guards no data: it only orders the flag check against notify_one.
        let mut guard = s.lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if s.notified.swap(false, Ordering::AcqRel) || self.is_stopped() {
                return true;
            }
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            guard = match s.cond.wait_timeout(guard, deadline - now) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// Ends the current or next `wait_for_running` early (coalesced).
    pub fn wakeup(&self) {
        let s = &self.signal;
        if !s.notified.swap(true, Ordering::AcqRel) {
            let _guard = s.lock.lock().unwrap_or_else(|p| p.into_inner());
            s.cond.notify_all();
        }
    }

    /// Sets the stop flag and wakes the body.
    pub fn stop(&self) {
        let s = &self.signal;
        s.stopped.store(true, Ordering::Release);
        let _guard = s.lock.lock().unwrap_or_else(|p| p.into_inner());
        s.cond.notify_all();
    }
}

/// A named thread running a service body until [`shutdown`](ServiceThread::shutdown).
/// Dropping it also shuts it down (and joins).
#[derive(Debug)]
pub struct ServiceThread {
    name: String,
    control: ServiceControl,
    join: Option<JoinHandle<()>>,
}

impl ServiceThread {
    /// Starts `body` on a thread named `name`.
    pub fn start(
        name: &str,
        body: impl FnOnce(ServiceControl) + Send + 'static,
    ) -> io::Result<ServiceThread> {
        let control = ServiceControl::new();
        let for_body = control.clone();
        let join = thread::Builder::new()
            .name(name.to_string())
            .spawn(move || body(for_body))?;
        log::info!("service thread {name} started");
        Ok(ServiceThread {
            name: name.to_string(),
            control,
            join: Some(join),
        })
    }

    /// The thread's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A clone of the control, for other threads that need to wake this service.
    pub fn control(&self) -> ServiceControl {
        self.control.clone()
    }

    /// Wakes the body's current or next wait.
    pub fn wakeup(&self) {
        self.control.wakeup();
    }

    /// True once shutdown was requested.
    pub fn is_stopped(&self) -> bool {
        self.control.is_stopped()
    }

    /// Sets the stop flag, wakes the body and joins the thread. Idempotent.
    pub fn shutdown(&mut self) {
        self.control.stop();
        if let Some(join) = self.join.take() {
            if join.join().is_err() {
                log::error!("service thread {} panicked", self.name);
            } else {
                log::info!("service thread {} stopped", self.name);
            }
        }
    }
}

impl Drop for ServiceThread {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn wakeup_ends_a_long_wait_and_shutdown_joins() {
        let rounds = Arc::new(AtomicUsize::new(0));
        let seen = rounds.clone();
        let mut service = ServiceThread::start("test-service", move |ctl| {
            while !ctl.is_stopped() {
                ctl.wait_for_running(Duration::from_secs(60));
                seen.fetch_add(1, Ordering::SeqCst);
            }
        })
        .unwrap();
        assert_eq!(service.name(), "test-service");
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut last = 0;
        for _ in 0..3 {
            service.wakeup();
            while rounds.load(Ordering::SeqCst) == last {
                assert!(Instant::now() < deadline, "wakeup did not end the wait");
                thread::yield_now();
            }
            last = rounds.load(Ordering::SeqCst);
        }
        let started = Instant::now();
        service.shutdown();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(service.is_stopped());
    }

    #[test]
    fn early_wakeup_is_remembered_and_timeout_reports_false() {
        let ctl = ServiceControl::new();
        ctl.wakeup();
        ctl.wakeup();
        assert!(ctl.wait_for_running(Duration::from_secs(60)));
        assert!(!ctl.wait_for_running(Duration::from_millis(1)));
        ctl.stop();
        assert!(ctl.wait_for_running(Duration::from_secs(60)));
    }
}
