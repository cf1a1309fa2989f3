//! GET_BROKER_RUNTIME_INFO (28): the `KVTable` `mqadmin brokerStatus`, `clusterList` and the
//! dashboards read (RocketMQ `prepareRuntimeInfo` + `DefaultMessageStore.getRuntimeInfo`).
//!
//! Every value is a string, as in RocketMQ. Counters come from
//! [`BrokerCounters`](crate::stats::BrokerCounters), rates from the loop's
//! [`TpsSampler`](crate::stats::TpsSampler) (`"<10s> <60s> <600s>"`), store figures from the
//! store facade. Thread-pool keys describe ferromq's equivalents: the "send queue" is the sends
//! waiting for a SYNC_FLUSH group commit, the "pull queue" the parked long-polling pulls.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;

use protocol::command::CURRENT_VERSION;

use super::{wall_ms, BrokerHandler};
use crate::stats::CounterSample;

/// `MQVersion` name of [`CURRENT_VERSION`].
pub const BROKER_VERSION_DESC: &str = "V5_3_3";
/// Java's default `pullThreadPoolQueueCapacity`, reported for parked pulls.
const PULL_QUEUE_CAPACITY: u64 = 100_000;

/// Java's `MixAll.humanReadableByteCount(bytes, false)`: `"512 B"`, `"1.5 KiB"`, ...
pub fn human_readable_bytes(bytes: u64) -> String {
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let exp = ((bytes as f64).ln() / 1024f64.ln()).floor().clamp(1.0, 6.0) as usize;
    let unit = b"KMGTPE"[exp - 1] as char;
    format!("{:.1} {unit}iB", bytes as f64 / 1024f64.powi(exp as i32))
}

/// RocketMQ's uptime text: `"[ 0 days, 1 hours, 2 minutes, 3 seconds ]"`.
pub fn runtime_text(elapsed_ms: u64) -> String {
    let secs = elapsed_ms / 1_000;
    format!(
        "[ {} days, {} hours, {} minutes, {} seconds ]",
        secs / 86_400,
        secs / 3_600 % 24,
        secs / 60 % 60,
        secs % 60
    )
}

/// The runtime table.
pub fn runtime_info(h: &BrokerHandler) -> BTreeMap<String, String> {
    let now = wall_ms();
    let mut t: BTreeMap<String, String> = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        t.insert(k.to_owned(), v);
    };
    let shared = &h.shared;
    put("brokerVersionDesc", BROKER_VERSION_DESC.into());
    put("brokerVersion", CURRENT_VERSION.to_string());
    put("bootTimestamp", shared.boot_ms.to_string());
    put("runtime", runtime_text(now.saturating_sub(shared.boot_ms)));
    put("brokerActive", shared.is_master().to_string());
    put("startAcceptSendRequestTimeStamp", "0".into());
    counters(h, now, &mut put);
    store_figures(h, &mut put);
    queues(h, &mut put);
    for key in ["timerReadBehind", "timerOffsetBehind", "timerCongestNum"] {
        put(key, "0".into());
    }
    for key in ["timerEnqueueTps", "timerDequeueTps"] {
        put(key, "0.0".into());
    }
    t
}

/// Message totals, day snapshots and rates.
fn counters(h: &BrokerHandler, now_ms: u64, put: &mut impl FnMut(&str, String)) {
    let c = &h.shared.counters;
    let now = c.snapshot();
    let (today, yesterday) = (h.tps.today_morning(), h.tps.yesterday_morning());
    put("msgPutTotalTodayNow", now.put.to_string());
    put("msgGetTotalTodayNow", now.get.to_string());
    put("msgPutTotalTodayMorning", today.put.to_string());
    put("msgGetTotalTodayMorning", today.get.to_string());
    put("msgPutTotalYesterdayMorning", yesterday.put.to_string());
    put("msgGetTotalYesterdayMorning", yesterday.get.to_string());
    let bytes = c.msg_put_bytes.load(Ordering::Relaxed);
    put("putMessageTimesTotal", now.put.to_string());
    put("putMessageSizeTotal", bytes.to_string());
    let average = if now.put > 0 {
        bytes as f64 / now.put as f64
    } else {
        0.0
    };
    put("putMessageAverageSize", format!("{average:.1}"));
    let rate = |pick: fn(&CounterSample) -> u64| h.tps.tps_text(now_ms, now, pick);
    put("putTps", rate(|s| s.put));
    let transferred = rate(|s| s.get);
    put("getTransferedTps", transferred.clone());
    put("getTransferredTps", transferred);
    put("getFoundTps", rate(|s| s.found));
    put("getMissTps", rate(|s| s.miss));
    put("getTotalTps", rate(|s| s.found + s.miss));
}

/// Commitlog, disk and dispatch figures.
fn store_figures(h: &BrokerHandler, put: &mut impl FnMut(&str, String)) {
    let store = &h.shared.store;
    let ratio = store
        .last_disk_used_ratio()
        .map_or_else(|| "-1".to_owned(), |r| r.to_string());
    put("commitLogDiskRatio", ratio.clone());
    put("consumeQueueDiskRatio", ratio);
    let (min, max) = store.commit_log_offsets();
    put("commitLogMinOffset", min.to_string());
    put("commitLogMaxOffset", max.to_string());
    let earliest = store
        .earliest_commit_log_time()
        .ok()
        .flatten()
        .unwrap_or(-1);
    put("earliestMessageTimeStamp", earliest.to_string());
    put(
        "dispatchBehindBytes",
        store.dispatch_behind_bytes().to_string(),
    );
    put(
        "pageCacheLockTimeMills",
        store.commit_log().lock_held_ms().to_string(),
    );
    put(
        "remainHowManyDataToFlush",
        human_readable_bytes(store.unflushed_bytes()),
    );
}

/// ferromq's counterparts of RocketMQ's thread-pool queues.
fn queues(h: &BrokerHandler, put: &mut impl FnMut(&str, String)) {
    let shared = &h.shared;
    let sends = shared.sends_awaiting_flush.load(Ordering::Relaxed);
    put("sendThreadPoolQueueSize", sends.to_string());
    put(
        "sendThreadPoolQueueCapacity",
        shared.config.max_sends_awaiting_flush.to_string(),
    );
    put("pullThreadPoolQueueSize", h.holds.len().to_string());
    put(
        "pullThreadPoolQueueCapacity",
        PULL_QUEUE_CAPACITY.to_string(),
    );
    for key in [
        "queryThreadPoolQueueSize",
        "sendThreadPoolQueueHeadWaitTimeMills",
        "pullThreadPoolQueueHeadWaitTimeMills",
        "queryThreadPoolQueueHeadWaitTimeMills",
    ] {
        put(key, "0".into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_formats() {
        assert_eq!(human_readable_bytes(0), "0 B");
        assert_eq!(human_readable_bytes(1023), "1023 B");
        assert_eq!(human_readable_bytes(1536), "1.5 KiB");
        assert_eq!(human_readable_bytes(3 * 1024 * 1024 * 1024), "3.0 GiB");
        assert_eq!(
            runtime_text(((2 * 24 + 3) * 3_600 + 4 * 60 + 5) * 1_000 + 999),
            "[ 2 days, 3 hours, 4 minutes, 5 seconds ]"
        );
    }
}
