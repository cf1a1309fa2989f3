//! Counters and latency histograms of a run, shared by the threads that record into them, and
//! the summaries made from them (text and JSON). Latencies are in microseconds.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use hdrhistogram::Histogram;
use serde_json::{json, Value};

/// Largest recorded latency; longer ones are clamped to it (60 s).
pub const MAX_LATENCY_US: u64 = 60_000_000;
const STRIPES: usize = 8;

fn new_histogram() -> Histogram<u64> {
    // Invariant: the bounds are constants that hdrhistogram accepts (1 <= low, high >= 2 * low,
    // 3 significant figures).
    Histogram::new_with_bounds(1, MAX_LATENCY_US, 3).expect("valid histogram bounds")
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A histogram many threads record into: a few mutex-guarded stripes, tried in turn with
/// `try_lock` so concurrent recorders rarely wait on each other.
pub struct StripedHistogram {
    stripes: Vec<Mutex<Histogram<u64>>>,
    next: AtomicUsize,
}

impl Default for StripedHistogram {
    fn default() -> Self {
        StripedHistogram {
            stripes: (0..STRIPES).map(|_| Mutex::new(new_histogram())).collect(),
            next: AtomicUsize::new(0),
        }
    }
}

impl StripedHistogram {
    /// Records one value (clamped to 1..=[`MAX_LATENCY_US`]).
    pub fn record(&self, value_us: u64) {
        let v = value_us.clamp(1, MAX_LATENCY_US);
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        for i in 0..STRIPES {
            if let Ok(mut h) = self.stripes[(start + i) % STRIPES].try_lock() {
                h.saturating_record(v);
                return;
            }
        }
        lock(&self.stripes[start % STRIPES]).saturating_record(v);
    }

    /// Records several values under one stripe lock (one listener call's messages).
    pub fn record_all(&self, values_us: impl IntoIterator<Item = u64>) {
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        let mut h = (0..STRIPES)
            .find_map(|i| self.stripes[(start + i) % STRIPES].try_lock().ok())
            .unwrap_or_else(|| lock(&self.stripes[start % STRIPES]));
        for v in values_us {
            h.saturating_record(v.clamp(1, MAX_LATENCY_US));
        }
    }

    /// Everything recorded so far, merged.
    pub fn merged(&self) -> Histogram<u64> {
        let mut all = new_histogram();
        for s in &self.stripes {
            // Same bounds on both sides, so adding cannot fail.
            let _ = all.add(&*lock(s));
        }
        all
    }
}

/// Counters and histograms of one side (producer or consumer) of a run.
#[derive(Default)]
pub struct Recorder {
    messages: AtomicU64,
    bytes: AtomicU64,
    failures: AtomicU64,
    first_error: Mutex<Option<String>>,
    /// Send round-trip times (producer).
    pub send_rt: StripedHistogram,
    /// Born-to-consumed latencies (consumer).
    pub e2e: StripedHistogram,
}

impl Recorder {
    /// Counts `messages` messages of `bytes` body bytes in total.
    pub fn add_ok(&self, messages: u64, bytes: u64) {
        self.messages.fetch_add(messages, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts `messages` failed messages.
    pub fn add_failed(&self, messages: u64) {
        self.failures.fetch_add(messages, Ordering::Relaxed);
    }

    /// Remembers `e` if it is the first error of the run.
    pub fn note_error(&self, e: &dyn fmt::Display) {
        let mut first = lock(&self.first_error);
        if first.is_none() {
            *first = Some(e.to_string());
        }
    }

    /// The first error of the run.
    pub fn first_error(&self) -> Option<String> {
        lock(&self.first_error).clone()
    }

    /// Messages counted so far.
    pub fn messages(&self) -> u64 {
        self.messages.load(Ordering::Relaxed)
    }

    /// The counters now.
    pub fn counters(&self) -> Counters {
        Counters {
            messages: self.messages.load(Ordering::Relaxed),
            bytes: self.bytes.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
        }
    }
}

/// A reading of a [`Recorder`]'s counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// Messages done.
    pub messages: u64,
    /// Body bytes of those messages.
    pub bytes: u64,
    /// Messages failed.
    pub failures: u64,
}

/// Percentiles of one latency histogram, in microseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LatencySummary {
    /// Values recorded.
    pub count: u64,
    /// Mean.
    pub mean_us: f64,
    /// Median.
    pub p50_us: u64,
    /// 90th percentile.
    pub p90_us: u64,
    /// 99th percentile.
    pub p99_us: u64,
    /// 99.9th percentile.
    pub p999_us: u64,
    /// Largest value.
    pub max_us: u64,
}

impl LatencySummary {
    /// The summary of `h`, or `None` when it is empty.
    pub fn of(h: &Histogram<u64>) -> Option<LatencySummary> {
        if h.is_empty() {
            return None;
        }
        Some(LatencySummary {
            count: h.len(),
            mean_us: h.mean(),
            p50_us: h.value_at_quantile(0.50),
            p90_us: h.value_at_quantile(0.90),
            p99_us: h.value_at_quantile(0.99),
            p999_us: h.value_at_quantile(0.999),
            max_us: h.max(),
        })
    }

    fn to_json(self) -> Value {
        json!({
            "count": self.count,
            "mean": (self.mean_us * 10.0).round() / 10.0,
            "p50": self.p50_us,
            "p90": self.p90_us,
            "p99": self.p99_us,
            "p999": self.p999_us,
            "max": self.max_us,
        })
    }
}

impl fmt::Display for LatencySummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "p50 {} p90 {} p99 {} p99.9 {} max {} (mean {:.1}, n={})",
            self.p50_us,
            self.p90_us,
            self.p99_us,
            self.p999_us,
            self.max_us,
            self.mean_us,
            self.count
        )
    }
}

/// Messages per second and MB/s (10^6 bytes) over `elapsed_secs`; zeros for an empty span.
pub fn rates(c: Counters, elapsed_secs: f64) -> (f64, f64) {
    if elapsed_secs <= 0.0 {
        return (0.0, 0.0);
    }
    (
        c.messages as f64 / elapsed_secs,
        c.bytes as f64 / 1e6 / elapsed_secs,
    )
}

/// The final result of one side of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// "produce" or "consume".
    pub role: &'static str,
    /// Final counters.
    pub counters: Counters,
    /// The span the rates are computed over.
    pub elapsed_secs: f64,
    /// Send round-trip times (producer; one value per request, so per batch).
    pub send_rt: Option<LatencySummary>,
    /// Born-to-consumed latencies (consumer).
    pub e2e: Option<LatencySummary>,
    /// The first error seen.
    pub first_error: Option<String>,
}

impl Summary {
    /// Builds the summary of `r` over `elapsed_secs`.
    pub fn of(role: &'static str, r: &Recorder, elapsed_secs: f64) -> Summary {
        Summary {
            role,
            counters: r.counters(),
            elapsed_secs,
            send_rt: LatencySummary::of(&r.send_rt.merged()),
            e2e: LatencySummary::of(&r.e2e.merged()),
            first_error: r.first_error(),
        }
    }

    /// Messages per second.
    pub fn tps(&self) -> f64 {
        rates(self.counters, self.elapsed_secs).0
    }

    /// The JSON form; `params` (the run's settings) is included as is.
    pub fn to_json(&self, params: Value) -> Value {
        let (tps, mb) = rates(self.counters, self.elapsed_secs);
        json!({
            "role": self.role,
            "params": params,
            "messages": self.counters.messages,
            "bytes": self.counters.bytes,
            "failures": self.counters.failures,
            "elapsed_secs": (self.elapsed_secs * 1000.0).round() / 1000.0,
            "tps": tps.round(),
            "mb_per_s": (mb * 100.0).round() / 100.0,
            "send_rt_us": self.send_rt.map(LatencySummary::to_json),
            "e2e_latency_us": self.e2e.map(LatencySummary::to_json),
            "first_error": self.first_error,
        })
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (tps, mb) = rates(self.counters, self.elapsed_secs);
        writeln!(
            f,
            "{}: {} messages, {} failures in {:.3} s: {:.0} msg/s, {:.2} MB/s",
            self.role, self.counters.messages, self.counters.failures, self.elapsed_secs, tps, mb
        )?;
        if let Some(rt) = self.send_rt {
            writeln!(f, "  send RT us: {rt}")?;
        }
        if let Some(e2e) = self.e2e {
            writeln!(f, "  end-to-end latency us: {e2e}")?;
        }
        if let Some(e) = &self.first_error {
            writeln!(f, "  first error: {e}")?;
        }
        Ok(())
    }
}

/// One progress line: the rates since the previous reading and the p99 so far.
pub fn progress_line(
    role: &str,
    now: Counters,
    before: Counters,
    interval_secs: f64,
    p99_so_far_us: Option<u64>,
) -> String {
    let delta = Counters {
        messages: now.messages - before.messages.min(now.messages),
        bytes: now.bytes - before.bytes.min(now.bytes),
        failures: now.failures - before.failures.min(now.failures),
    };
    let (tps, mb) = rates(delta, interval_secs);
    let p99 = p99_so_far_us.map_or_else(|| "-".to_string(), |v| v.to_string());
    format!(
        "[{role}] {tps:.0} msg/s {mb:.2} MB/s | total {} failures {} | p99 so far {p99} us",
        now.messages, now.failures
    )
}

#[cfg(test)]
#[path = "stats_tests.rs"]
mod tests;
