//! The pure core of rebalancing: which queues a consumer should own for a topic, and what to
//! change to get there from what it owns now. No sockets, no threads, no clocks: the shell
//! (`consumer::push_rebalance`, the lite pull consumer) fetches the route and the group's
//! client ids, calls these functions, and applies the result.

use std::collections::{BTreeMap, BTreeSet};

use protocol::body::{MessageModel, MessageQueue};

use super::allocate::AllocateStrategy;

/// What the shell knows about a queue it currently owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OwnedQueue {
    /// No pull was issued for longer than the pull-expiry time (a stuck pull loop): the queue
    /// is dropped and recreated.
    pub pull_expired: bool,
}

/// The changes one rebalance of one topic makes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RebalanceDiff {
    /// Queues to stop consuming (persist their offset, drop their process queue).
    pub removed: Vec<MessageQueue>,
    /// Queues to start consuming (compute the start offset, create a process queue, pull).
    pub added: Vec<MessageQueue>,
}

impl RebalanceDiff {
    /// True when nothing changes.
    pub fn is_empty(&self) -> bool {
        self.removed.is_empty() && self.added.is_empty()
    }
}

/// The queues this consumer should own for one topic.
///
/// * Broadcasting: every readable queue.
/// * Clustering: `strategy`'s share for `client_id` among `cid_all` (sorted here, as Java
///   does); nothing when the client is not (yet) listed.
pub fn compute_target(
    model: MessageModel,
    strategy: &dyn AllocateStrategy,
    group: &str,
    client_id: &str,
    mq_all: &BTreeSet<MessageQueue>,
    cid_all: &[String],
) -> BTreeSet<MessageQueue> {
    match model {
        MessageModel::Broadcasting => mq_all.clone(),
        MessageModel::Clustering => {
            let mqs: Vec<MessageQueue> = mq_all.iter().cloned().collect();
            let mut cids = cid_all.to_vec();
            cids.sort();
            cids.dedup();
            strategy
                .allocate(group, client_id, &mqs, &cids)
                .into_iter()
                .collect()
        }
    }
}

/// The changes that turn the owned queues of `topic` into `target`. A queue whose pull loop
/// expired is removed and added back (a fresh process queue), as Java does.
pub fn diff_topic(
    owned: &BTreeMap<MessageQueue, OwnedQueue>,
    topic: &str,
    target: &BTreeSet<MessageQueue>,
) -> RebalanceDiff {
    let mut diff = RebalanceDiff::default();
    let mut kept = BTreeSet::new();
    for (mq, state) in owned.iter().filter(|(mq, _)| mq.topic == topic) {
        if !target.contains(mq) || state.pull_expired {
            diff.removed.push(mq.clone());
        } else {
            kept.insert(mq);
        }
    }
    diff.added = target
        .iter()
        .filter(|mq| !kept.contains(mq))
        .cloned()
        .collect();
    diff
}

/// Owned queues whose topic is no longer subscribed (Java `truncateMessageQueueNotMyTopic`).
pub fn unsubscribed_queues(
    owned: &BTreeMap<MessageQueue, OwnedQueue>,
    topics: &BTreeSet<String>,
) -> Vec<MessageQueue> {
    owned
        .keys()
        .filter(|mq| !topics.contains(&mq.topic))
        .cloned()
        .collect()
}

/// Applies `diff` to a set of owned queues (what the shell ends up with if every added queue
/// could be started). Used by simulations and tests.
pub fn apply(owned: &mut BTreeMap<MessageQueue, OwnedQueue>, diff: &RebalanceDiff) {
    for mq in &diff.removed {
        owned.remove(mq);
    }
    for mq in &diff.added {
        owned.insert(mq.clone(), OwnedQueue::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::allocate::Averagely;

    fn mq(q: i32) -> MessageQueue {
        MessageQueue::new("T", "b", q)
    }

    fn owned(qs: &[i32]) -> BTreeMap<MessageQueue, OwnedQueue> {
        qs.iter().map(|q| (mq(*q), OwnedQueue::default())).collect()
    }

    #[test]
    fn diff_adds_and_removes() {
        let mut current = owned(&[0, 1, 2]);
        current.insert(MessageQueue::new("Other", "b", 0), OwnedQueue::default());
        let target: BTreeSet<_> = [mq(1), mq(2), mq(3)].into();
        let d = diff_topic(&current, "T", &target);
        assert_eq!(d.removed, [mq(0)]);
        assert_eq!(d.added, [mq(3)]);
        apply(&mut current, &d);
        let t: Vec<_> = current.keys().filter(|m| m.topic == "T").cloned().collect();
        assert_eq!(t, [mq(1), mq(2), mq(3)]);
        assert!(diff_topic(&current, "T", &target).is_empty());
    }

    #[test]
    fn expired_pull_loops_are_recreated() {
        let mut current = owned(&[0, 1]);
        current.insert(mq(1), OwnedQueue { pull_expired: true });
        let target: BTreeSet<_> = [mq(0), mq(1)].into();
        let d = diff_topic(&current, "T", &target);
        assert_eq!(d.removed, [mq(1)]);
        assert_eq!(d.added, [mq(1)]);
    }

    #[test]
    fn unsubscribed_topics_are_truncated() {
        let mut current = owned(&[0]);
        current.insert(MessageQueue::new("Gone", "b", 0), OwnedQueue::default());
        let topics = BTreeSet::from(["T".to_string()]);
        assert_eq!(
            unsubscribed_queues(&current, &topics),
            [MessageQueue::new("Gone", "b", 0)]
        );
    }

    #[test]
    fn target_by_model() {
        let all: BTreeSet<_> = (0..4).map(mq).collect();
        let cids = vec!["c1".to_string(), "c0".to_string(), "c0".to_string()];
        let b = compute_target(
            MessageModel::Broadcasting,
            &Averagely,
            "G",
            "c1",
            &all,
            &cids,
        );
        assert_eq!(b, all);
        // Sorted and deduplicated: c0 is index 0, c1 index 1.
        let c = compute_target(MessageModel::Clustering, &Averagely, "G", "c1", &all, &cids);
        assert_eq!(c, [mq(2), mq(3)].into());
        let none = compute_target(MessageModel::Clustering, &Averagely, "G", "zz", &all, &cids);
        assert!(none.is_empty());
    }
}
