//! [`TimerQueue`]: a min-heap of deadlines that feeds the poll timeout (sozu's pattern).
//!
//! Entries are never removed early: when a request completes, its entry stays until it comes
//! due and is then found stale by the owner (lazy deletion). To keep the heap proportional to
//! the live timers at high request rates, the owner calls [`TimerQueue::compact`] with a
//! liveness check when the heap has grown well past the live count. Pure: time is passed in.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

use super::connection::ConnId;

/// What a deadline is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimerKey {
    /// A pending request's timeout (by opaque).
    Pending(i32),
    /// An outbound connect's timeout.
    Connect(ConnId),
    /// A closing connection's flush deadline.
    Closing(ConnId),
    /// Retry accepting on a listener after an accept error (e.g. out of descriptors).
    RetryAccept(usize),
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    deadline_ms: u64,
    seq: u64,
    key: TimerKey,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.deadline_ms, self.seq).cmp(&(other.deadline_ms, other.seq))
    }
}

/// Deadlines ordered by time, then by insertion.
#[derive(Debug, Default)]
pub(crate) struct TimerQueue {
    heap: BinaryHeap<Reverse<Entry>>,
    seq: u64,
}

impl TimerQueue {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Schedules `key` at `deadline_ms`.
    pub(crate) fn push(&mut self, deadline_ms: u64, key: TimerKey) {
        self.seq += 1;
        self.heap.push(Reverse(Entry {
            deadline_ms,
            seq: self.seq,
            key,
        }));
    }

    /// The earliest deadline, if any.
    pub(crate) fn next_deadline_ms(&self) -> Option<u64> {
        self.heap.peek().map(|e| e.0.deadline_ms)
    }

    /// Removes and returns the earliest entry if it is due at `now_ms`.
    pub(crate) fn pop_due(&mut self, now_ms: u64) -> Option<(u64, TimerKey)> {
        if self.heap.peek()?.0.deadline_ms > now_ms {
            return None;
        }
        self.heap.pop().map(|e| (e.0.deadline_ms, e.0.key))
    }

    /// Number of entries, stale ones included.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Drops entries for which `live` returns false.
    pub(crate) fn compact(&mut self, mut live: impl FnMut(u64, TimerKey) -> bool) {
        self.heap.retain(|e| live(e.0.deadline_ms, e.0.key));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_deadline_then_insertion_order() {
        let mut t = TimerQueue::new();
        t.push(30, TimerKey::Pending(3));
        t.push(10, TimerKey::Pending(1));
        t.push(10, TimerKey::Pending(2));
        assert_eq!(t.next_deadline_ms(), Some(10));
        assert_eq!(t.pop_due(9), None);
        assert_eq!(t.pop_due(10), Some((10, TimerKey::Pending(1))));
        assert_eq!(t.pop_due(10), Some((10, TimerKey::Pending(2))));
        assert_eq!(t.pop_due(29), None);
        assert_eq!(t.pop_due(100), Some((30, TimerKey::Pending(3))));
        assert_eq!(t.pop_due(100), None);
        assert_eq!(t.next_deadline_ms(), None);
    }

    #[test]
    fn compact_keeps_only_live_entries() {
        let mut t = TimerQueue::new();
        for i in 0..100 {
            t.push(i as u64, TimerKey::Pending(i));
        }
        t.compact(|_, k| matches!(k, TimerKey::Pending(i) if i % 10 == 0));
        assert_eq!(t.len(), 10);
        assert_eq!(t.pop_due(1000), Some((0, TimerKey::Pending(0))));
        assert_eq!(t.pop_due(1000), Some((10, TimerKey::Pending(10))));
    }
}
