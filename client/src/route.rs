//! Pure routing logic of the client: which queues a topic offers to producers
//! ([`TopicPublishInfo`]) and consumers ([`subscribe_queues`]), round-robin queue selection,
//! and broker fault avoidance by latency ([`FaultStrategy`]). Time is always an argument
//! (`now_ms`); nothing here touches a socket or a clock.
//!
//! Route rules (wire reference §4.1, §10): producers use `writeQueueNums` of writable queue
//! data whose broker group has a master, or the `orderTopicConf` list when the NameServer has
//! one; consumers use `readQueueNums` of readable queue data. For an unknown topic a producer
//! clones the route of `TBW102` with at most `defaultTopicQueueNums` queues per broker.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use protocol::body::{MessageQueue, TopicRouteData};

/// The auto-create template topic (`TBW102`).
pub const AUTO_CREATE_TOPIC_KEY: &str = "TBW102";

/// The queues a producer may send a topic's messages to.
#[derive(Debug)]
pub struct TopicPublishInfo {
    /// True when the queue list comes from the NameServer's ordered-topic config.
    pub order_topic: bool,
    /// The writable queues, broker groups in name order.
    pub queues: Vec<MessageQueue>,
    /// The route the queues were derived from.
    pub route: TopicRouteData,
    /// Round-robin position (Java `sendWhichQueue`).
    next: AtomicUsize,
}

impl TopicPublishInfo {
    /// Derives the publish info of `topic` from its route.
    pub fn from_route(topic: &str, route: &TopicRouteData) -> Self {
        let conf = route.order_topic_conf.as_deref().unwrap_or("");
        let (order_topic, queues) = if conf.is_empty() {
            (false, writable_queues(topic, route))
        } else {
            (true, ordered_queues(topic, conf))
        };
        TopicPublishInfo {
            order_topic,
            queues,
            route: route.clone(),
            next: AtomicUsize::new(start_index(topic)),
        }
    }

    /// The publish info of a topic that does not exist yet, from the route of the template
    /// topic: every broker offers at most `default_queue_nums` queues.
    pub fn from_default_route(
        topic: &str,
        template: &TopicRouteData,
        default_queue_nums: i32,
    ) -> Self {
        let mut route = template.clone();
        for qd in &mut route.queue_datas {
            let n = default_queue_nums.min(qd.write_queue_nums);
            qd.read_queue_nums = n;
            qd.write_queue_nums = n;
        }
        route.order_topic_conf = None;
        Self::from_route(topic, &route)
    }

    /// Whether there is at least one queue to send to.
    pub fn is_ok(&self) -> bool {
        !self.queues.is_empty()
    }

    /// Advances the round-robin position and returns its previous value.
    pub fn next_index(&self) -> usize {
        self.next.fetch_add(1, Ordering::Relaxed)
    }

    /// The next queue in round-robin order, skipping queues of `last_broker` when another
    /// broker has queues (Java `selectOneMessageQueue(lastBrokerName)`).
    pub fn select_one(&self, last_broker: Option<&str>) -> Option<&MessageQueue> {
        let n = self.queues.len();
        if n == 0 {
            return None;
        }
        if let Some(last) = last_broker {
            for _ in 0..n {
                let mq = &self.queues[self.next_index() % n];
                if mq.broker_name != last {
                    return Some(mq);
                }
            }
        }
        Some(&self.queues[self.next_index() % n])
    }

    /// The number of queues `broker_name` offers (0 if none).
    pub fn queue_count_of(&self, broker_name: &str) -> usize {
        self.queues
            .iter()
            .filter(|q| q.broker_name == broker_name)
            .count()
    }
}

/// A per-topic starting point, so that producers do not all start at queue 0.
fn start_index(topic: &str) -> usize {
    protocol::message::java_hash_code(topic).unsigned_abs() as usize
}

fn writable_queues(topic: &str, route: &TopicRouteData) -> Vec<MessageQueue> {
    let mut qds: Vec<_> = route.queue_datas.iter().collect();
    qds.sort_by(|a, b| a.broker_name.cmp(&b.broker_name));
    let mut out = Vec::new();
    for qd in qds.into_iter().filter(|qd| qd.is_writeable()) {
        let has_master = route
            .find_broker(&qd.broker_name)
            .is_some_and(|b| b.has_master());
        if has_master {
            out.extend(
                (0..qd.write_queue_nums).map(|i| MessageQueue::new(topic, &qd.broker_name, i)),
            );
        }
    }
    out
}

/// Parses `broker-a:4;broker-b:4`; malformed entries are skipped.
fn ordered_queues(topic: &str, conf: &str) -> Vec<MessageQueue> {
    let mut out = Vec::new();
    for entry in conf.split(';') {
        let Some((broker, nums)) = entry.split_once(':') else {
            continue;
        };
        let Ok(nums) = nums.trim().parse::<i32>() else {
            continue;
        };
        out.extend((0..nums).map(|i| MessageQueue::new(topic, broker.trim(), i)));
    }
    out
}

/// The queues consumers read: `readQueueNums` of every readable queue data.
pub fn subscribe_queues(topic: &str, route: &TopicRouteData) -> BTreeSet<MessageQueue> {
    route
        .queue_datas
        .iter()
        .filter(|qd| qd.is_readable())
        .flat_map(|qd| {
            (0..qd.read_queue_nums).map(|i| MessageQueue::new(topic, &qd.broker_name, i))
        })
        .collect()
}

/// What is known about one broker's recent sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FaultItem {
    current_latency_ms: u64,
    available_at_ms: u64,
}

/// Brokers to avoid after slow or failed sends (Java `LatencyFaultToleranceImpl`).
#[derive(Debug, Default)]
pub struct LatencyFaultTolerance {
    items: HashMap<String, FaultItem>,
    which: usize,
}

impl LatencyFaultTolerance {
    /// Records a send to `broker` that took `latency_ms`; the broker is avoided for
    /// `not_available_ms` from `now_ms`.
    pub fn update(&mut self, broker: &str, latency_ms: u64, not_available_ms: u64, now_ms: u64) {
        let item = FaultItem {
            current_latency_ms: latency_ms,
            available_at_ms: now_ms + not_available_ms,
        };
        self.items.insert(broker.to_string(), item);
    }

    /// Whether `broker` may be used at `now_ms`.
    pub fn is_available(&self, broker: &str, now_ms: u64) -> bool {
        self.items
            .get(broker)
            .is_none_or(|i| now_ms >= i.available_at_ms)
    }

    /// Forgets `broker`.
    pub fn remove(&mut self, broker: &str) {
        self.items.remove(broker);
    }

    /// The least bad known broker when every one is being avoided: the better half ordered
    /// by (available, latency, available-at) is used in turn.
    pub fn pick_one_at_least(&mut self, now_ms: u64) -> Option<String> {
        let mut items: Vec<(&String, &FaultItem)> = self.items.iter().collect();
        items.sort_by_key(|(name, i)| {
            (
                now_ms < i.available_at_ms,
                i.current_latency_ms,
                i.available_at_ms,
                (*name).clone(),
            )
        });
        let half = items.len().div_ceil(2);
        if half == 0 {
            return None;
        }
        self.which = self.which.wrapping_add(1);
        Some(items[self.which % half].0.clone())
    }
}

/// Latency thresholds (ms) and how long a broker is avoided after a send that slow (Java
/// `MQFaultStrategy`).
const LATENCY_MAX_MS: [u64; 7] = [50, 100, 550, 1_000, 2_000, 3_000, 15_000];
const NOT_AVAILABLE_MS: [u64; 7] = [0, 0, 30_000, 60_000, 120_000, 180_000, 600_000];
/// The latency recorded for a send that failed without an answer.
pub const ISOLATION_LATENCY_MS: u64 = 30_000;

/// Queue selection with broker fault avoidance (Java `MQFaultStrategy`). Thread-safe.
#[derive(Debug)]
pub struct FaultStrategy {
    /// When false, selection is plain round-robin avoiding only the last failed broker.
    pub enabled: bool,
    tolerance: Mutex<LatencyFaultTolerance>,
}

impl FaultStrategy {
    /// A strategy; `enabled` is Java's `sendLatencyFaultEnable`.
    pub fn new(enabled: bool) -> Self {
        FaultStrategy {
            enabled,
            tolerance: Mutex::new(LatencyFaultTolerance::default()),
        }
    }

    fn tolerance(&self) -> std::sync::MutexGuard<'_, LatencyFaultTolerance> {
        self.tolerance.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How long a broker is avoided after a send that took `latency_ms`.
    pub fn not_available_duration_ms(latency_ms: u64) -> u64 {
        LATENCY_MAX_MS
            .iter()
            .zip(NOT_AVAILABLE_MS)
            .rev()
            .find(|(max, _)| latency_ms >= **max)
            .map_or(0, |(_, d)| d)
    }

    /// Records the outcome of a send to `broker`: `isolation` (no answer at all) counts as
    /// [`ISOLATION_LATENCY_MS`].
    pub fn update(&self, broker: &str, latency_ms: u64, isolation: bool, now_ms: u64) {
        if !self.enabled {
            return;
        }
        let latency = if isolation {
            ISOLATION_LATENCY_MS
        } else {
            latency_ms
        };
        let duration = Self::not_available_duration_ms(latency);
        self.tolerance().update(broker, latency, duration, now_ms);
    }

    /// Whether `broker` is currently usable.
    pub fn is_available(&self, broker: &str, now_ms: u64) -> bool {
        self.tolerance().is_available(broker, now_ms)
    }

    /// Picks the queue for the next attempt. With fault avoidance: the next round-robin
    /// queue on an available broker other than `last_broker`, else on any available broker,
    /// else on the least bad broker; without: round-robin avoiding `last_broker`.
    pub fn select(
        &self,
        info: &TopicPublishInfo,
        last_broker: Option<&str>,
        now_ms: u64,
    ) -> Option<MessageQueue> {
        let n = info.queues.len();
        if n == 0 {
            return None;
        }
        if !self.enabled {
            return info.select_one(last_broker).cloned();
        }
        let tolerance = self.tolerance();
        for avoid_last in [true, false] {
            for _ in 0..n {
                let mq = &info.queues[info.next_index() % n];
                let other = !avoid_last || last_broker != Some(mq.broker_name.as_str());
                if other && tolerance.is_available(&mq.broker_name, now_ms) {
                    return Some(mq.clone());
                }
            }
        }
        drop(tolerance);
        let least_bad = self.tolerance().pick_one_at_least(now_ms);
        if let Some(broker) = least_bad {
            let count = info.queue_count_of(&broker);
            if count > 0 {
                let id = info.next_index() % count;
                return info
                    .queues
                    .iter()
                    .filter(|q| q.broker_name == broker)
                    .nth(id)
                    .cloned();
            }
            self.tolerance().remove(&broker);
        }
        info.select_one(last_broker).cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use protocol::body::{BrokerData, QueueData};

    fn route(spec: &[(&str, i32, i32, bool)]) -> TopicRouteData {
        let mut r = TopicRouteData::default();
        for (name, perm, nums, master) in spec {
            r.queue_datas.push(QueueData {
                broker_name: name.to_string(),
                perm: *perm,
                read_queue_nums: *nums,
                write_queue_nums: *nums,
                topic_sys_flag: 0,
            });
            let mut b = BrokerData::new("C", *name);
            let id = if *master { 0 } else { 1 };
            b.broker_addrs.insert(id, format!("{name}:10911"));
            r.broker_datas.push(b);
        }
        r
    }

    fn names(qs: &[MessageQueue]) -> Vec<String> {
        qs.iter()
            .map(|q| format!("{}{}", q.broker_name, q.queue_id))
            .collect()
    }

    #[test]
    fn publish_queues_need_write_perm_and_a_master() {
        let r = route(&[
            ("b", 6, 2, true),
            ("a", 6, 1, true),
            ("ro", 4, 2, true),
            ("s", 6, 2, false),
        ]);
        let info = TopicPublishInfo::from_route("T", &r);
        assert!(!info.order_topic && info.is_ok());
        assert_eq!(names(&info.queues), ["a0", "b0", "b1"]);
        assert_eq!(info.queue_count_of("b"), 2);
        let sub = subscribe_queues("T", &r);
        assert_eq!(sub.len(), 7, "readable: a1 + b2 + ro2 + s2");
        assert!(!sub.iter().any(|q| q.broker_name == "x"));
        let wo = route(&[("w", 2, 3, true)]);
        assert!(subscribe_queues("T", &wo).is_empty());
    }

    #[test]
    fn order_topic_conf_wins() {
        let mut r = route(&[("a", 6, 8, true)]);
        r.order_topic_conf = Some("a:2;b:1;bad;c:x".into());
        let info = TopicPublishInfo::from_route("T", &r);
        assert!(info.order_topic);
        assert_eq!(names(&info.queues), ["a0", "a1", "b0"]);
    }

    #[test]
    fn default_route_caps_queue_count() {
        let template = route(&[("a", 7, 8, true), ("b", 7, 2, true)]);
        let info = TopicPublishInfo::from_default_route("New", &template, 4);
        assert_eq!(names(&info.queues), ["a0", "a1", "a2", "a3", "b0", "b1"]);
        assert!(info.queues.iter().all(|q| q.topic == "New"));
    }

    #[test]
    fn round_robin_avoids_last_broker() {
        let info =
            TopicPublishInfo::from_route("T", &route(&[("a", 6, 2, true), ("b", 6, 2, true)]));
        let mut seen = BTreeSet::new();
        for _ in 0..4 {
            seen.insert(info.select_one(None).cloned().unwrap());
        }
        assert_eq!(seen.len(), 4, "four selections cover four queues");
        for _ in 0..10 {
            assert_eq!(info.select_one(Some("a")).unwrap().broker_name, "b");
        }
        let single = TopicPublishInfo::from_route("T", &route(&[("a", 6, 1, true)]));
        assert_eq!(single.select_one(Some("a")).unwrap().broker_name, "a");
    }

    #[test]
    fn not_available_durations() {
        assert_eq!(FaultStrategy::not_available_duration_ms(0), 0);
        assert_eq!(FaultStrategy::not_available_duration_ms(549), 0);
        assert_eq!(FaultStrategy::not_available_duration_ms(550), 30_000);
        assert_eq!(FaultStrategy::not_available_duration_ms(2_500), 120_000);
        assert_eq!(
            FaultStrategy::not_available_duration_ms(ISOLATION_LATENCY_MS),
            600_000
        );
    }

    #[test]
    fn fault_strategy_avoids_isolated_broker_until_it_recovers() {
        let info =
            TopicPublishInfo::from_route("T", &route(&[("a", 6, 2, true), ("b", 6, 2, true)]));
        let s = FaultStrategy::new(true);
        s.update("a", 0, true, 1_000);
        for _ in 0..8 {
            assert_eq!(s.select(&info, None, 2_000).unwrap().broker_name, "b");
        }
        // Available again after 600 s.
        let later = 1_000 + 600_000;
        assert!(s.is_available("a", later));
        let brokers: BTreeSet<String> = (0..4)
            .map(|_| s.select(&info, None, later).unwrap().broker_name)
            .collect();
        assert_eq!(brokers.len(), 2);
        // A fast send keeps a broker available.
        s.update("b", 10, false, later);
        assert!(s.is_available("b", later));
    }

    #[test]
    fn fault_strategy_retries_elsewhere_and_falls_back_to_least_bad() {
        let info =
            TopicPublishInfo::from_route("T", &route(&[("a", 6, 2, true), ("b", 6, 2, true)]));
        let s = FaultStrategy::new(true);
        for _ in 0..6 {
            assert_eq!(s.select(&info, Some("a"), 0).unwrap().broker_name, "b");
        }
        s.update("a", 5_000, false, 0); // 180 s
        s.update("b", 0, true, 0); // 600 s
        let picked = s.select(&info, None, 1).unwrap();
        assert_eq!(picked.broker_name, "a", "a recovers first and is faster");
        let disabled = FaultStrategy::new(false);
        disabled.update("a", 0, true, 0);
        assert!(
            disabled.is_available("a", 0),
            "disabled strategy records nothing"
        );
    }

    #[test]
    fn least_bad_rotates_over_the_better_half() {
        let mut t = LatencyFaultTolerance::default();
        assert_eq!(t.pick_one_at_least(0), None);
        t.update("slow", 3_000, 100, 0);
        t.update("fast", 10, 100, 0);
        t.update("mid", 500, 100, 0);
        t.update("worst", 9_000, 100, 0);
        let picks: BTreeSet<String> = (0..6).map(|_| t.pick_one_at_least(1).unwrap()).collect();
        assert_eq!(
            picks,
            BTreeSet::from(["fast".to_string(), "mid".to_string()])
        );
        t.remove("fast");
        assert!(t.is_available("fast", 0));
    }
}
