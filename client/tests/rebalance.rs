//! Rebalance simulated without sockets: members of a group join and leave in random order;
//! after every member has rebalanced against the same view, the queues are owned exactly once
//! (clustering) or by everyone (broadcasting), and each member's changes are the minimal
//! diff between what it owned and its new share.

use std::collections::{BTreeMap, BTreeSet};

use client::consumer::rebalance::{
    apply, compute_target, diff_topic, unsubscribed_queues, OwnedQueue,
};
use client::consumer::{AllocateStrategy, Averagely, AveragelyByCircle, ConsistentHash};
use client::{MessageModel, MessageQueue};
use proptest::prelude::*;

type Owned = BTreeMap<MessageQueue, OwnedQueue>;

fn all_queues(n: i32) -> BTreeSet<MessageQueue> {
    (0..n)
        .map(|q| MessageQueue::new("T", format!("b{}", q % 3), q / 3))
        .collect()
}

/// One simulated group: member id → owned queues.
struct Group {
    members: BTreeMap<String, Owned>,
}

impl Group {
    /// Every member rebalances against the current membership; returns the total number of
    /// queue moves (additions).
    fn rebalance(
        &mut self,
        model: MessageModel,
        s: &dyn AllocateStrategy,
        all: &BTreeSet<MessageQueue>,
    ) -> usize {
        let cids: Vec<String> = self.members.keys().cloned().collect();
        let mut moves = 0;
        for (cid, owned) in self.members.iter_mut() {
            let target = compute_target(model, s, "G", cid, all, &cids);
            let diff = diff_topic(owned, "T", &target);
            // Minimal: nothing both removed and added, nothing added that was owned.
            assert!(diff.removed.iter().all(|m| !diff.added.contains(m)));
            assert!(diff.added.iter().all(|m| !owned.contains_key(m)));
            moves += diff.added.len();
            apply(owned, &diff);
            let now: BTreeSet<MessageQueue> = owned.keys().cloned().collect();
            assert_eq!(now, target, "{cid} owns exactly its target");
        }
        moves
    }

    fn assert_partition(&self, all: &BTreeSet<MessageQueue>) {
        let mut seen = BTreeSet::new();
        for owned in self.members.values() {
            for mq in owned.keys() {
                assert!(seen.insert(mq.clone()), "{mq} owned twice");
            }
        }
        if !self.members.is_empty() {
            assert_eq!(&seen, all, "every queue owned");
        }
    }
}

#[derive(Debug, Clone)]
enum Change {
    Join(u8),
    Leave(u8),
}

fn changes() -> impl Strategy<Value = Vec<Change>> {
    prop::collection::vec(
        prop_oneof![
            (0u8..12).prop_map(Change::Join),
            (0u8..12).prop_map(Change::Leave)
        ],
        1..30,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    #[test]
    fn clustering_converges_to_a_partition(changes in changes(), n in 1i32..40, which in 0usize..3) {
        let strategies: [&dyn AllocateStrategy; 3] = [&Averagely, &AveragelyByCircle, &ConsistentHash::default()];
        let s = strategies[which];
        let all = all_queues(n);
        let mut group = Group { members: BTreeMap::new() };
        for change in changes {
            match change {
                Change::Join(i) => { group.members.entry(format!("10.0.0.{i}@x")).or_default(); }
                Change::Leave(i) => { group.members.remove(&format!("10.0.0.{i}@x")); }
            }
            group.rebalance(MessageModel::Clustering, s, &all);
            group.assert_partition(&all);
        }
    }

    #[test]
    fn broadcasting_gives_everyone_everything(changes in changes(), n in 1i32..20) {
        let all = all_queues(n);
        let mut group = Group { members: BTreeMap::new() };
        for change in changes {
            match change {
                Change::Join(i) => { group.members.entry(format!("m{i}")).or_default(); }
                Change::Leave(i) => { group.members.remove(&format!("m{i}")); }
            }
            group.rebalance(MessageModel::Broadcasting, &Averagely, &all);
            for owned in group.members.values() {
                let mine: BTreeSet<MessageQueue> = owned.keys().cloned().collect();
                prop_assert_eq!(&mine, &all);
            }
        }
    }
}

#[test]
fn a_stable_group_does_not_move_queues() {
    let all = all_queues(24);
    let mut group = Group {
        members: BTreeMap::new(),
    };
    for i in 0..5 {
        group.members.insert(format!("c{i}"), Owned::new());
    }
    assert_eq!(
        group.rebalance(MessageModel::Clustering, &Averagely, &all),
        24
    );
    for _ in 0..3 {
        assert_eq!(
            group.rebalance(MessageModel::Clustering, &Averagely, &all),
            0
        );
    }
}

#[test]
fn consistent_hash_join_moves_few_queues() {
    let all = all_queues(120);
    let s = ConsistentHash::default();
    let mut group = Group {
        members: BTreeMap::new(),
    };
    for i in 0..6 {
        group.members.insert(format!("10.0.0.{i}@x"), Owned::new());
    }
    group.rebalance(MessageModel::Clustering, &s, &all);
    group.members.insert("10.0.0.99@x".into(), Owned::new());
    let moves = group.rebalance(MessageModel::Clustering, &s, &all);
    let newcomer = group.members["10.0.0.99@x"].len();
    assert_eq!(moves, newcomer, "only the newcomer gains queues");
    group.assert_partition(&all);
}

#[test]
fn growing_queue_counts_are_picked_up() {
    let mut group = Group {
        members: BTreeMap::new(),
    };
    group.members.insert("a".into(), Owned::new());
    group.members.insert("b".into(), Owned::new());
    for n in [4, 8, 2, 9] {
        let all = all_queues(n);
        group.rebalance(MessageModel::Clustering, &AveragelyByCircle, &all);
        group.assert_partition(&all);
    }
    let owned = &group.members["a"];
    let topics = BTreeSet::from(["Other".to_string()]);
    assert_eq!(unsubscribed_queues(owned, &topics).len(), owned.len());
}
