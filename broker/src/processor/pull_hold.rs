//! [`PullHoldTable`]: pull requests parked by long polling (RocketMQ `PullRequestHoldService`),
//! keyed by `(topic, queue_id)`.
//!
//! Owned by the remoting event-loop thread; nothing here blocks, sleeps or reads a clock (the
//! caller passes `now_ms`). A parked pull leaves the table exactly once: when a message
//! arrives beyond its offset ([`PullHoldTable::take_arrived`]), when its deadline passes
//! ([`PullHoldTable::take_expired`]), or when its connection closes
//! ([`PullHoldTable::remove_conn`]). The table also keeps an [`AtomicUsize`] count of parked
//! pulls that the store's arriving listener reads (from the `reput` thread) so it only wakes the
//! loop while somebody is waiting.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// One parked pull. `C` is the connection id, `R` the request (generic so the table can be
/// tested without sockets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeldPull<C, R> {
    /// Where the eventual response goes.
    pub conn: C,
    /// The original request (its opaque is reused by the response).
    pub request: R,
    /// The consume-queue offset the request asked for.
    pub queue_offset: i64,
    /// When the pull is answered regardless (loop clock, ms).
    pub deadline_ms: u64,
}

/// The parked pulls. See the module docs.
#[derive(Debug)]
pub struct PullHoldTable<C, R> {
    by_topic: HashMap<String, HashMap<i32, Vec<HeldPull<C, R>>>>,
    len: usize,
    /// Earliest deadline among the parked pulls (`u64::MAX` when empty or unknown-later).
    next_deadline_ms: u64,
    waiting: Arc<AtomicUsize>,
}

impl<C: Copy + Eq, R> Default for PullHoldTable<C, R> {
    fn default() -> Self {
        Self::new()
    }
}

impl<C: Copy + Eq, R> PullHoldTable<C, R> {
    /// An empty table.
    pub fn new() -> Self {
        PullHoldTable {
            by_topic: HashMap::new(),
            len: 0,
            next_deadline_ms: u64::MAX,
            waiting: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// The number of parked pulls, shared with other threads (read it to decide whether an
    /// arrival is worth a wake-up).
    pub fn waiting_counter(&self) -> Arc<AtomicUsize> {
        Arc::clone(&self.waiting)
    }

    /// Number of parked pulls.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing is parked.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn set_len(&mut self, len: usize) {
        self.len = len;
        self.waiting.store(len, Ordering::SeqCst);
        if len == 0 {
            self.next_deadline_ms = u64::MAX;
        }
    }

    /// Parks `pull` under `(topic, queue_id)`.
    pub fn hold(&mut self, topic: &str, queue_id: i32, pull: HeldPull<C, R>) {
        self.next_deadline_ms = self.next_deadline_ms.min(pull.deadline_ms);
        let queues = match self.by_topic.get_mut(topic) {
            Some(q) => q,
            None => self.by_topic.entry(topic.to_owned()).or_default(),
        };
        queues.entry(queue_id).or_default().push(pull);
        self.set_len(self.len + 1);
    }

    /// Removes and returns the pulls on `(topic, queue_id)` that asked for an offset below
    /// `max_offset` (a message they can read has arrived), in parking order.
    pub fn take_arrived(
        &mut self,
        topic: &str,
        queue_id: i32,
        max_offset: i64,
    ) -> Vec<HeldPull<C, R>> {
        let Some(queues) = self.by_topic.get_mut(topic) else {
            return Vec::new();
        };
        let Some(list) = queues.get_mut(&queue_id) else {
            return Vec::new();
        };
        let (ready, waiting): (Vec<_>, Vec<_>) = std::mem::take(list)
            .into_iter()
            .partition(|p| p.queue_offset < max_offset);
        *list = waiting;
        if list.is_empty() {
            queues.remove(&queue_id);
            if queues.is_empty() {
                self.by_topic.remove(topic);
            }
        }
        self.set_len(self.len - ready.len());
        ready
    }

    /// Removes and returns every pull whose deadline is at or before `now_ms`, with its
    /// `(topic, queue_id)`. Cheap when nothing is due.
    pub fn take_expired(&mut self, now_ms: u64) -> Vec<(String, i32, HeldPull<C, R>)> {
        if now_ms < self.next_deadline_ms {
            return Vec::new();
        }
        let due = self.drain_where(|p| p.deadline_ms <= now_ms);
        self.recompute_next_deadline();
        due
    }

    /// Drops every pull parked for `conn` (its connection closed); returns how many.
    pub fn remove_conn(&mut self, conn: C) -> usize {
        if self.is_empty() {
            return 0;
        }
        let removed = self.drain_where(|p| p.conn == conn).len();
        self.recompute_next_deadline();
        removed
    }

    /// Removes and returns everything (shutdown).
    pub fn take_all(&mut self) -> Vec<(String, i32, HeldPull<C, R>)> {
        self.drain_where(|_| true)
    }

    /// The `(topic, queue_id)` keys that have parked pulls, with the lowest requested offset of
    /// each (for a periodic re-check against the store's max offsets).
    pub fn watched_queues(&self) -> Vec<(String, i32, i64)> {
        let mut out = Vec::new();
        for (topic, queues) in &self.by_topic {
            for (queue_id, list) in queues {
                if let Some(min) = list.iter().map(|p| p.queue_offset).min() {
                    out.push((topic.clone(), *queue_id, min));
                }
            }
        }
        out
    }

    fn drain_where(
        &mut self,
        mut pred: impl FnMut(&HeldPull<C, R>) -> bool,
    ) -> Vec<(String, i32, HeldPull<C, R>)> {
        let mut out = Vec::new();
        for (topic, queues) in self.by_topic.iter_mut() {
            for (queue_id, list) in queues.iter_mut() {
                let (take, keep): (Vec<_>, Vec<_>) =
                    std::mem::take(list).into_iter().partition(|p| pred(p));
                *list = keep;
                out.extend(take.into_iter().map(|p| (topic.clone(), *queue_id, p)));
            }
            queues.retain(|_, list| !list.is_empty());
        }
        self.by_topic.retain(|_, queues| !queues.is_empty());
        self.set_len(self.len - out.len());
        out
    }

    fn recompute_next_deadline(&mut self) {
        self.next_deadline_ms = self
            .by_topic
            .values()
            .flat_map(|q| q.values())
            .flatten()
            .map(|p| p.deadline_ms)
            .min()
            .unwrap_or(u64::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pull(conn: u32, offset: i64, deadline_ms: u64) -> HeldPull<u32, &'static str> {
        HeldPull {
            conn,
            request: "req",
            queue_offset: offset,
            deadline_ms,
        }
    }

    #[test]
    fn arrival_releases_only_pulls_below_the_new_max() {
        let mut t = PullHoldTable::new();
        let counter = t.waiting_counter();
        t.hold("T", 0, pull(1, 5, 100));
        t.hold("T", 0, pull(2, 7, 100));
        t.hold("T", 1, pull(3, 5, 100));
        assert_eq!(counter.load(Ordering::SeqCst), 3);
        let ready = t.take_arrived("T", 0, 6);
        assert_eq!(ready.iter().map(|p| p.conn).collect::<Vec<_>>(), [1]);
        assert_eq!(t.len(), 2);
        assert!(
            t.take_arrived("T", 0, 7).is_empty(),
            "offset 7 == max: still caught up"
        );
        assert!(t.take_arrived("X", 0, 100).is_empty());
        assert_eq!(t.take_arrived("T", 0, 8).len(), 1);
        assert_eq!(counter.load(Ordering::SeqCst), 1);
        assert_eq!(t.watched_queues(), vec![("T".to_string(), 1, 5)]);
    }

    #[test]
    fn deadlines_expire_in_one_pass() {
        let mut t = PullHoldTable::new();
        t.hold("T", 0, pull(1, 0, 50));
        t.hold("U", 2, pull(2, 0, 80));
        assert!(t.take_expired(49).is_empty());
        let due = t.take_expired(50);
        assert_eq!(due.len(), 1);
        assert_eq!((due[0].0.as_str(), due[0].1, due[0].2.conn), ("T", 0, 1));
        assert!(t.take_expired(79).is_empty());
        assert_eq!(t.take_expired(1_000).len(), 1);
        assert!(t.is_empty());
    }

    #[test]
    fn closed_connection_drops_its_pulls() {
        let mut t = PullHoldTable::new();
        t.hold("T", 0, pull(1, 0, 50));
        t.hold("T", 0, pull(2, 0, 60));
        t.hold("T", 3, pull(1, 0, 70));
        assert_eq!(t.remove_conn(1), 2);
        assert_eq!(t.len(), 1);
        assert!(t.take_expired(59).is_empty());
        assert_eq!(t.take_expired(60)[0].2.conn, 2);
        assert_eq!(t.waiting_counter().load(Ordering::SeqCst), 0);
        t.hold("T", 0, pull(4, 0, 10));
        assert_eq!(t.take_all().len(), 1);
        assert!(t.is_empty());
    }
}
