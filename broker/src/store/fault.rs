//! Fault injection in the commitlog segment write and sync path (test hook).
//!
//! Owns [`FaultHandle`], which every commitlog [`super::segment::Segment`] consults before a
//! write or an fdatasync. Without the `testing` feature the handle is an empty struct and the
//! checks compile to nothing; with it, a shared `FaultInjector` can make the n-th next write
//! fail after writing half its bytes (a torn, failed write) or the n-th next sync fail.

use std::io;

#[cfg(feature = "testing")]
use std::sync::atomic::{AtomicI64, Ordering};
#[cfg(feature = "testing")]
use std::sync::Arc;

/// Test-only fault injector, shared between a test and the store it opened.
#[cfg(feature = "testing")]
#[derive(Debug)]
pub struct FaultInjector {
    /// Writes left before one fails (-1 = disarmed).
    write_countdown: AtomicI64,
    /// Syncs left before one fails (-1 = disarmed).
    sync_countdown: AtomicI64,
    /// Every sync first stalls this long (simulates a slow disk).
    sync_delay_ms: AtomicI64,
}

#[cfg(feature = "testing")]
impl FaultInjector {
    /// A disarmed injector.
    pub fn new() -> Arc<Self> {
        Arc::new(FaultInjector {
            write_countdown: AtomicI64::new(-1),
            sync_countdown: AtomicI64::new(-1),
            sync_delay_ms: AtomicI64::new(0),
        })
    }

    /// Makes the `n`-th next segment write fail (0 = the very next one).
    pub fn fail_write_in(&self, n: u64) {
        self.write_countdown.store(n as i64, Ordering::SeqCst);
    }

    /// Makes the `n`-th next segment fdatasync fail (0 = the very next one).
    pub fn fail_sync_in(&self, n: u64) {
        self.sync_countdown.store(n as i64, Ordering::SeqCst);
    }

    /// Makes every segment fdatasync stall for `ms` first (0 = no stall).
    pub fn delay_syncs(&self, ms: u64) {
        self.sync_delay_ms.store(ms as i64, Ordering::SeqCst);
    }

    /// Disarms everything.
    pub fn clear(&self) {
        self.write_countdown.store(-1, Ordering::SeqCst);
        self.sync_countdown.store(-1, Ordering::SeqCst);
        self.sync_delay_ms.store(0, Ordering::SeqCst);
    }

    fn tick(counter: &AtomicI64) -> bool {
        let mut cur = counter.load(Ordering::SeqCst);
        loop {
            if cur < 0 {
                return false;
            }
            match counter.compare_exchange(cur, cur - 1, Ordering::SeqCst, Ordering::SeqCst) {
                Ok(_) => return cur == 0,
                Err(actual) => cur = actual,
            }
        }
    }
}

/// What a segment write should do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WriteFault {
    /// Write normally.
    None,
    /// Write only this many bytes, then fail.
    #[cfg_attr(not(feature = "testing"), allow(dead_code))]
    PartialThenFail(usize),
}

/// The store's handle on the (optional) injector; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct FaultHandle {
    #[cfg(feature = "testing")]
    injector: Option<Arc<FaultInjector>>,
}

impl FaultHandle {
    /// A handle that never injects anything.
    pub fn none() -> Self {
        FaultHandle::default()
    }

    /// A handle driven by `injector`.
    #[cfg(feature = "testing")]
    pub fn with(injector: Arc<FaultInjector>) -> Self {
        FaultHandle {
            injector: Some(injector),
        }
    }

    pub(crate) fn before_write(&self, len: usize) -> WriteFault {
        #[cfg(feature = "testing")]
        if let Some(inj) = &self.injector {
            if FaultInjector::tick(&inj.write_countdown) {
                return WriteFault::PartialThenFail(len / 2);
            }
        }
        let _ = len;
        WriteFault::None
    }

    pub(crate) fn before_sync(&self) -> io::Result<()> {
        #[cfg(feature = "testing")]
        if let Some(inj) = &self.injector {
            let delay = inj.sync_delay_ms.load(Ordering::SeqCst);
            if delay > 0 {
                std::thread::sleep(std::time::Duration::from_millis(delay as u64));
            }
            if FaultInjector::tick(&inj.sync_countdown) {
                return Err(io::Error::other("injected fdatasync failure"));
            }
        }
        Ok(())
    }
}

/// The error an injected write failure reports.
pub(crate) fn injected_write_error() -> io::Error {
    io::Error::other("injected write failure")
}
