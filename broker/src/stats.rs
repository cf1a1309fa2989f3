//! Broker statistics (RocketMQ `BrokerStats`, `StoreStatsService` and `BrokerStatsManager`):
//! the message counters behind GET_BROKER_RUNTIME_INFO, the sliding TPS windows, the
//! "today/yesterday morning" snapshots, and the named stats items served by
//! VIEW_BROKER_STATS_DATA (`TOPIC_PUT_NUMS`, `GROUP_GET_NUMS`, ...).
//!
//! [`BrokerCounters`] is shared (relaxed atomics, bumped per message by the send and pull
//! paths); [`TpsSampler`] and [`StatsItemSet`] are pure, loop-owned state sampled on the loop
//! tick. Nothing here reads a clock: every call takes `now_ms`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};

/// `statsName` of messages put per topic (key: topic).
pub const TOPIC_PUT_NUMS: &str = "TOPIC_PUT_NUMS";
/// `statsName` of bytes put per topic (key: topic).
pub const TOPIC_PUT_SIZE: &str = "TOPIC_PUT_SIZE";
/// `statsName` of messages pulled per group (key: `topic@group`).
pub const GROUP_GET_NUMS: &str = "GROUP_GET_NUMS";
/// `statsName` of bytes pulled per group (key: `topic@group`).
pub const GROUP_GET_SIZE: &str = "GROUP_GET_SIZE";
/// `statsName` of messages put into the broker (key: the cluster name).
pub const BROKER_PUT_NUMS: &str = "BROKER_PUT_NUMS";
/// `statsName` of messages pulled from the broker (key: the cluster name).
pub const BROKER_GET_NUMS: &str = "BROKER_GET_NUMS";

/// Every stats name [`StatsItemSet`] keeps.
pub const STATS_NAMES: [&str; 6] = [
    TOPIC_PUT_NUMS,
    TOPIC_PUT_SIZE,
    GROUP_GET_NUMS,
    GROUP_GET_SIZE,
    BROKER_PUT_NUMS,
    BROKER_GET_NUMS,
];

/// Message counters since boot, shared by the loop and the service threads.
#[derive(Debug, Default)]
pub struct BrokerCounters {
    /// Messages stored by sends (a batch counts each message).
    pub msg_put_total: AtomicU64,
    /// Body bytes of those messages (stored record sizes).
    pub msg_put_bytes: AtomicU64,
    /// Messages handed to consumers by pulls.
    pub msg_get_total: AtomicU64,
    /// Pull requests that found messages.
    pub pull_found_total: AtomicU64,
    /// Pull requests that found none.
    pub pull_miss_total: AtomicU64,
}

impl BrokerCounters {
    /// Counts `messages` stored records of `bytes` in all.
    pub fn on_put(&self, messages: u64, bytes: u64) {
        self.msg_put_total.fetch_add(messages, Ordering::Relaxed);
        self.msg_put_bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// Counts one pull that returned `messages` messages (0 = a miss).
    pub fn on_pull(&self, messages: u64) {
        if messages == 0 {
            self.pull_miss_total.fetch_add(1, Ordering::Relaxed);
        } else {
            self.pull_found_total.fetch_add(1, Ordering::Relaxed);
            self.msg_get_total.fetch_add(messages, Ordering::Relaxed);
        }
    }

    /// A consistent-enough copy for sampling.
    pub fn snapshot(&self) -> CounterSample {
        CounterSample {
            put: self.msg_put_total.load(Ordering::Relaxed),
            get: self.msg_get_total.load(Ordering::Relaxed),
            found: self.pull_found_total.load(Ordering::Relaxed),
            miss: self.pull_miss_total.load(Ordering::Relaxed),
        }
    }
}

/// The counters at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CounterSample {
    /// Messages put.
    pub put: u64,
    /// Messages transferred to consumers.
    pub get: u64,
    /// Pulls that found messages.
    pub found: u64,
    /// Pulls that found none.
    pub miss: u64,
}

/// TPS windows (seconds) RocketMQ prints: `"<10s> <60s> <600s>"`.
pub const TPS_WINDOWS_SECS: [u64; 3] = [10, 60, 600];
/// Samples kept: one per second over the longest window.
const MAX_SAMPLES: usize = 601;
/// Minimum spacing of two samples.
const SAMPLE_INTERVAL_MS: u64 = 1_000;

/// Per-second samples of the counters for sliding-window TPS, plus the counter values at the
/// start of today and of yesterday (local days, RocketMQ's `msg*TotalTodayMorning`).
#[derive(Debug, Clone, Default)]
pub struct TpsSampler {
    samples: VecDeque<(u64, CounterSample)>,
    day: Option<i64>,
    today_morning: CounterSample,
    yesterday_morning: CounterSample,
}

impl TpsSampler {
    /// No samples yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `now` (taken at `now_ms`, on local day number `day`) if a second passed since
    /// the last sample; a new day moves "today morning" to "yesterday morning".
    pub fn sample(&mut self, now_ms: u64, day: i64, now: CounterSample) {
        match self.day {
            None => self.day = Some(day),
            Some(d) if d != day => {
                self.yesterday_morning = self.today_morning;
                self.today_morning = now;
                self.day = Some(day);
            }
            Some(_) => {}
        }
        let due = self
            .samples
            .back()
            .is_none_or(|(t, _)| now_ms >= t + SAMPLE_INTERVAL_MS);
        if due {
            self.samples.push_back((now_ms, now));
            while self.samples.len() > MAX_SAMPLES {
                self.samples.pop_front();
            }
        }
    }

    /// Counter values at the start of today.
    pub fn today_morning(&self) -> CounterSample {
        self.today_morning
    }

    /// Counter values at the start of yesterday.
    pub fn yesterday_morning(&self) -> CounterSample {
        self.yesterday_morning
    }

    /// Per-second rate of `pick` over the last `window_secs` (from the oldest sample inside the
    /// window to `now`); 0 without a sample.
    pub fn tps(
        &self,
        now_ms: u64,
        now: CounterSample,
        window_secs: u64,
        pick: fn(&CounterSample) -> u64,
    ) -> f64 {
        let from = now_ms.saturating_sub(window_secs * 1_000);
        let Some((t0, first)) = self.samples.iter().find(|(t, _)| *t >= from) else {
            return 0.0;
        };
        let elapsed_ms = now_ms.saturating_sub(*t0).max(1);
        pick(&now).saturating_sub(pick(first)) as f64 * 1_000.0 / elapsed_ms as f64
    }

    /// RocketMQ's TPS text: the rate over 10 s, 60 s and 600 s separated by spaces.
    pub fn tps_text(
        &self,
        now_ms: u64,
        now: CounterSample,
        pick: fn(&CounterSample) -> u64,
    ) -> String {
        TPS_WINDOWS_SECS
            .iter()
            .map(|w| format!("{:.2}", self.tps(now_ms, now, *w, pick)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// One value/times pair at one instant (Java `CallSnapshot`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Snapshot {
    at_ms: u64,
    value: u64,
    times: u64,
}

/// Sum, rate and average of a stats item over a window (Java `StatsSnapshot`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct StatsSnapshot {
    /// Increase of the value within the window.
    pub sum: u64,
    /// `sum` per second.
    pub tps: f64,
    /// `sum` per recorded event (e.g. bytes per put).
    pub avgpt: f64,
}

/// Window lengths and sample spacing: minute (10 s samples), hour (10 min), day (1 h).
const WINDOWS: [(u64, u64); 3] = [
    (60_000, 10_000),
    (3_600_000, 600_000),
    (86_400_000, 3_600_000),
];

/// One counter with its samples for the minute, hour and day windows (Java `StatsItem`).
#[derive(Debug, Clone)]
struct StatsItem {
    value: u64,
    times: u64,
    samples: [VecDeque<Snapshot>; 3],
}

impl StatsItem {
    fn new(now_ms: u64) -> Self {
        let zero = Snapshot {
            at_ms: now_ms,
            value: 0,
            times: 0,
        };
        StatsItem {
            value: 0,
            times: 0,
            samples: [
                VecDeque::from([zero]),
                VecDeque::from([zero]),
                VecDeque::from([zero]),
            ],
        }
    }

    fn sample(&mut self, now_ms: u64) {
        let now = Snapshot {
            at_ms: now_ms,
            value: self.value,
            times: self.times,
        };
        for (list, (window_ms, every_ms)) in self.samples.iter_mut().zip(WINDOWS) {
            if list.back().is_none_or(|s| now_ms >= s.at_ms + every_ms) {
                list.push_back(now);
            }
            while list.len() > 1 && list.front().is_some_and(|s| s.at_ms + window_ms < now_ms) {
                list.pop_front();
            }
        }
    }

    fn window(&self, index: usize, now_ms: u64) -> StatsSnapshot {
        let Some(first) = self.samples[index].front() else {
            return StatsSnapshot::default();
        };
        let sum = self.value.saturating_sub(first.value);
        let times = self.times.saturating_sub(first.times);
        let elapsed_ms = now_ms.saturating_sub(first.at_ms).max(1);
        StatsSnapshot {
            sum,
            tps: sum as f64 * 1_000.0 / elapsed_ms as f64,
            avgpt: if times > 0 {
                sum as f64 / times as f64
            } else {
                0.0
            },
        }
    }
}

/// The stats items by name and key (Java `BrokerStatsManager` tables). Windows run from the
/// oldest sample inside them to the live value, so a fresh item reports at once.
#[derive(Debug, Clone, Default)]
pub struct StatsItemSet {
    tables: HashMap<&'static str, HashMap<String, StatsItem>>,
}

impl StatsItemSet {
    /// No items.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `value` (and `times` events) to item `name`/`key`, creating it at `now_ms`.
    pub fn add(&mut self, name: &'static str, key: &str, value: u64, times: u64, now_ms: u64) {
        let table = self.tables.entry(name).or_default();
        let item = match table.get_mut(key) {
            Some(item) => item,
            None => table
                .entry(key.to_owned())
                .or_insert_with(|| StatsItem::new(now_ms)),
        };
        item.value = item.value.saturating_add(value);
        item.times = item.times.saturating_add(times);
    }

    /// Takes due samples of every item (call every few seconds).
    pub fn sample(&mut self, now_ms: u64) {
        for table in self.tables.values_mut() {
            for item in table.values_mut() {
                item.sample(now_ms);
            }
        }
    }

    /// Minute, hour and day windows of `name`/`key`; `None` for an unknown item.
    pub fn windows(&self, name: &str, key: &str, now_ms: u64) -> Option<[StatsSnapshot; 3]> {
        let item = self.tables.get(name)?.get(key)?;
        Some([0, 1, 2].map(|i| item.window(i, now_ms)))
    }

    /// The per-second rate of `name`/`key` over the last minute (0 for an unknown item).
    pub fn minute_tps(&self, name: &str, key: &str, now_ms: u64) -> f64 {
        self.windows(name, key, now_ms).map_or(0.0, |w| w[0].tps)
    }

    /// Forgets every item of `name` whose key satisfies `gone` (deleted topics and groups).
    pub fn remove_where(&mut self, name: &str, gone: impl Fn(&str) -> bool) {
        if let Some(table) = self.tables.get_mut(name) {
            table.retain(|k, _| !gone(k));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(put: u64, get: u64) -> CounterSample {
        CounterSample {
            put,
            get,
            ..Default::default()
        }
    }

    #[test]
    fn tps_over_sliding_windows() {
        let mut s = TpsSampler::new();
        assert_eq!(s.tps(0, sample(0, 0), 10, |c| c.put), 0.0);
        for sec in 0..=20u64 {
            s.sample(sec * 1_000, 0, sample(sec * 100, sec * 10));
        }
        let now = sample(2_000, 200);
        // The oldest sample within 10 s of t=20 s is t=10 s: 1000 messages in 10 s.
        assert!((s.tps(20_000, now, 10, |c| c.put) - 100.0).abs() < 1e-9);
        assert!((s.tps(20_000, now, 600, |c| c.get) - 10.0).abs() < 1e-9);
        assert_eq!(s.tps_text(20_000, now, |c| c.put), "100.00 100.00 100.00");
        // A sample less than a second after the previous one is skipped.
        s.sample(20_500, 0, sample(9_999, 0));
        assert_eq!(s.samples.back().map(|(t, _)| *t), Some(20_000));
    }

    #[test]
    fn day_change_rolls_the_morning_counters() {
        let mut s = TpsSampler::new();
        s.sample(0, 100, sample(5, 1));
        assert_eq!(s.today_morning(), CounterSample::default());
        s.sample(1_000, 101, sample(50, 7));
        assert_eq!(s.today_morning(), sample(50, 7));
        s.sample(2_000, 102, sample(80, 9));
        assert_eq!(
            (s.today_morning(), s.yesterday_morning()),
            (sample(80, 9), sample(50, 7))
        );
    }

    #[test]
    fn stats_items_report_windows_from_creation() {
        let mut set = StatsItemSet::new();
        assert!(set.windows(TOPIC_PUT_NUMS, "T", 0).is_none());
        set.add(TOPIC_PUT_NUMS, "T", 3, 1, 1_000);
        set.add(TOPIC_PUT_NUMS, "T", 5, 1, 1_500);
        let w = set.windows(TOPIC_PUT_NUMS, "T", 3_000).unwrap();
        assert_eq!(w[0].sum, 8);
        assert!((w[0].tps - 4.0).abs() < 1e-9, "8 in 2 s");
        assert!((w[2].avgpt - 4.0).abs() < 1e-9, "8 over 2 events");
        // After the minute window has moved past the first samples only the recent increase
        // counts in it; the hour and day windows still see everything.
        for t in (10_000..=120_000).step_by(10_000) {
            set.sample(t);
        }
        set.add(TOPIC_PUT_NUMS, "T", 2, 1, 121_000);
        let w = set.windows(TOPIC_PUT_NUMS, "T", 121_000).unwrap();
        assert_eq!((w[0].sum, w[1].sum, w[2].sum), (2, 10, 10));
        set.remove_where(TOPIC_PUT_NUMS, |k| k == "T");
        assert_eq!(set.minute_tps(TOPIC_PUT_NUMS, "T", 130_000), 0.0);
    }
}
