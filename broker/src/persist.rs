//! [`PersistService`]: the `persist` service thread that writes the broker's tables
//! (consumer offsets, topics, subscription groups) so the event loop never touches the disk
//! for them (house rule 3).
//!
//! Each [`PersistJob`] is a save closure (it snapshots its table under a short lock and writes
//! the file with `protocol::util::atomic_file`) plus an optional period. A job runs when its
//! period elapses or when it was marked dirty through a [`PersistTrigger`]; every job runs once
//! more on [`PersistService::shutdown`], so nothing acknowledged before shutdown is lost.

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use protocol::remoting::{ServiceControl, ServiceThread};

/// Longest sleep between checks.
const MAX_WAIT_MS: u64 = 1_000;

/// Saves one table; runs on the `persist` thread.
pub type SaveFn = Box<dyn FnMut() -> crate::Result<()> + Send>;

/// One table to persist.
pub struct PersistJob {
    /// Name used by [`PersistTrigger::mark_dirty`] and in logs (e.g. `consumerOffset`).
    pub name: &'static str,
    /// Save every this many ms even if nobody marked the table dirty (`None`: on demand only).
    pub period_ms: Option<u64>,
    /// The save.
    pub save: SaveFn,
}

impl std::fmt::Debug for PersistJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PersistJob")
            .field("name", &self.name)
            .field("period_ms", &self.period_ms)
            .finish_non_exhaustive()
    }
}

/// Marks tables dirty from any thread (the event loop after a topic or group change).
#[derive(Debug, Clone)]
pub struct PersistTrigger {
    control: ServiceControl,
    names: Arc<Vec<&'static str>>,
    dirty: Arc<Vec<AtomicBool>>,
}

impl PersistTrigger {
    /// Asks for `name` to be saved soon. Unknown names are logged and ignored.
    pub fn mark_dirty(&self, name: &str) {
        match self.names.iter().position(|n| *n == name) {
            Some(i) => {
                self.dirty[i].store(true, Ordering::Release);
                self.control.wakeup();
            }
            None => log::warn!("persist: no table named {name}"),
        }
    }
}

/// The running `persist` thread. See the module docs.
#[derive(Debug)]
pub struct PersistService {
    thread: Option<ServiceThread>,
    trigger: PersistTrigger,
}

impl PersistService {
    /// Starts the thread with `jobs`.
    pub fn start(jobs: Vec<PersistJob>) -> io::Result<Self> {
        let names: Arc<Vec<&'static str>> = Arc::new(jobs.iter().map(|j| j.name).collect());
        let dirty: Arc<Vec<AtomicBool>> =
            Arc::new(jobs.iter().map(|_| AtomicBool::new(false)).collect());
        let body_dirty = Arc::clone(&dirty);
        let thread = ServiceThread::start("persist", move |ctl| run(ctl, jobs, &body_dirty))?;
        let trigger = PersistTrigger {
            control: thread.control(),
            names,
            dirty,
        };
        Ok(PersistService {
            thread: Some(thread),
            trigger,
        })
    }

    /// A trigger for marking tables dirty.
    pub fn trigger(&self) -> PersistTrigger {
        self.trigger.clone()
    }

    /// Stops the thread after a final save of every table. Idempotent.
    pub fn shutdown(&mut self) {
        if let Some(mut t) = self.thread.take() {
            t.shutdown();
        }
    }
}

impl Drop for PersistService {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn save(job: &mut PersistJob) {
    if let Err(e) = (job.save)() {
        log::error!("persisting {} failed: {e}", job.name);
    }
}

fn run(ctl: ServiceControl, mut jobs: Vec<PersistJob>, dirty: &[AtomicBool]) {
    let start = Instant::now();
    let now_ms = || start.elapsed().as_millis() as u64;
    let mut next_due: Vec<Option<u64>> = jobs.iter().map(|j| j.period_ms).collect();
    while !ctl.is_stopped() {
        let now = now_ms();
        let wait = next_due
            .iter()
            .flatten()
            .map(|due| due.saturating_sub(now))
            .min()
            .unwrap_or(MAX_WAIT_MS)
            .clamp(1, MAX_WAIT_MS);
        ctl.wait_for_running(Duration::from_millis(wait));
        if ctl.is_stopped() {
            break;
        }
        let now = now_ms();
        for (i, job) in jobs.iter_mut().enumerate() {
            let periodic = next_due[i].is_some_and(|due| now >= due);
            if dirty[i].swap(false, Ordering::AcqRel) || periodic {
                save(job);
                next_due[i] = job.period_ms.map(|p| now + p);
            }
        }
    }
    for (i, job) in jobs.iter_mut().enumerate() {
        dirty[i].store(false, Ordering::Release);
        save(job);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn counting(name: &'static str, period_ms: Option<u64>) -> (PersistJob, Arc<AtomicUsize>) {
        let n = Arc::new(AtomicUsize::new(0));
        let c = Arc::clone(&n);
        let job = PersistJob {
            name,
            period_ms,
            save: Box::new(move || {
                c.fetch_add(1, Ordering::SeqCst);
                Ok(())
            }),
        };
        (job, n)
    }

    fn wait_until(what: &str, cond: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !cond() {
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::yield_now();
        }
    }

    #[test]
    fn dirty_tables_are_saved_and_all_are_saved_at_shutdown() {
        let (topics, topics_n) = counting("topics", None);
        let (offsets, offsets_n) = counting("consumerOffset", Some(20));
        let mut svc = PersistService::start(vec![topics, offsets]).unwrap();
        wait_until("periodic offsets save", || {
            offsets_n.load(Ordering::SeqCst) >= 2
        });
        assert_eq!(topics_n.load(Ordering::SeqCst), 0);
        svc.trigger().mark_dirty("topics");
        wait_until("dirty topics save", || topics_n.load(Ordering::SeqCst) == 1);
        svc.trigger().mark_dirty("nope");
        let before = offsets_n.load(Ordering::SeqCst);
        svc.shutdown();
        assert_eq!(topics_n.load(Ordering::SeqCst), 2, "final save");
        assert!(offsets_n.load(Ordering::SeqCst) > before);
    }
}
