//! Allocation strategies over every (consumers × queues) combination up to a size, plus
//! randomized inputs: each queue to exactly one member (completeness + disjointness),
//! balance for the averaging strategies, stability for consistent hashing.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use client::consumer::{
    AllocateStrategy, Averagely, AveragelyByCircle, ByMachineRoom, ConsistentHash,
    MachineRoomNearby, MachineRoomResolver,
};
use client::MessageQueue;
use proptest::prelude::*;

/// `n` queues spread round-robin over `brokers` broker groups, sorted like Java.
fn queues(n: usize, brokers: usize) -> Vec<MessageQueue> {
    let mut v: Vec<MessageQueue> = (0..n)
        .map(|i| MessageQueue::new("T", format!("broker-{}", i % brokers), (i / brokers) as i32))
        .collect();
    v.sort();
    v
}

fn cids(c: usize) -> Vec<String> {
    let mut v: Vec<String> = (0..c).map(|i| format!("10.0.0.{i}@pid{}", i * 7)).collect();
    v.sort();
    v
}

/// Every member's share.
fn shares(
    s: &dyn AllocateStrategy,
    mqs: &[MessageQueue],
    cids: &[String],
) -> Vec<Vec<MessageQueue>> {
    cids.iter().map(|c| s.allocate("G", c, mqs, cids)).collect()
}

/// Each queue appears exactly once across shares.
fn assert_partition(shares: &[Vec<MessageQueue>], mqs: &[MessageQueue], label: &str) {
    let mut count: BTreeMap<&MessageQueue, usize> = BTreeMap::new();
    for share in shares {
        for mq in share {
            *count.entry(mq).or_default() += 1;
        }
    }
    for mq in mqs {
        assert_eq!(
            count.get(mq),
            Some(&1),
            "{label}: {mq} owned {:?} times",
            count.get(mq)
        );
    }
    assert_eq!(count.len(), mqs.len(), "{label}: foreign queues allocated");
}

fn assert_balanced(shares: &[Vec<MessageQueue>], label: &str) {
    let sizes: Vec<usize> = shares.iter().map(Vec::len).collect();
    let (min, max) = (
        sizes.iter().min().copied().unwrap_or(0),
        sizes.iter().max().copied().unwrap_or(0),
    );
    assert!(max - min <= 1, "{label}: sizes {sizes:?}");
}

#[test]
fn exhaustive_small_groups() {
    let strategies: [(&str, &dyn AllocateStrategy); 3] = [
        ("avg", &Averagely),
        ("circle", &AveragelyByCircle),
        ("hash", &ConsistentHash { virtual_nodes: 10 }),
    ];
    for n in 1..=32 {
        for brokers in 1..=3 {
            let mqs = queues(n, brokers);
            for c in 1..=12 {
                let cids = cids(c);
                for (name, s) in strategies {
                    let label = format!("{name} n={n} brokers={brokers} c={c}");
                    let sh = shares(s, &mqs, &cids);
                    assert_partition(&sh, &mqs, &label);
                    if name != "hash" {
                        assert_balanced(&sh, &label);
                    }
                    // Deterministic: asking again gives the same share.
                    assert_eq!(shares(s, &mqs, &cids), sh, "{label}");
                }
            }
        }
    }
}

#[test]
fn averagely_gives_contiguous_blocks_bigger_first() {
    for n in 1..=30 {
        let mqs = queues(n, 2);
        for c in 1..=10 {
            let cids = cids(c);
            let sh = shares(&Averagely, &mqs, &cids);
            let flat: Vec<MessageQueue> = sh.iter().flatten().cloned().collect();
            assert_eq!(
                flat, mqs,
                "n={n} c={c}: blocks in member order cover the sorted queues"
            );
            let sizes: Vec<usize> = sh.iter().map(Vec::len).collect();
            assert!(
                sizes.windows(2).all(|w| w[0] >= w[1]),
                "n={n} c={c}: {sizes:?}"
            );
        }
    }
}

#[test]
fn consistent_hash_moves_only_the_queues_of_the_changed_member() {
    let s = ConsistentHash::default();
    let mqs = queues(64, 4);
    for c in 1..=8 {
        let before = cids(c);
        let mut after = before.clone();
        after.push("10.9.9.9@newcomer".to_string());
        after.sort();
        let owner = |cids: &[String]| -> BTreeMap<MessageQueue, String> {
            cids.iter()
                .flat_map(|cid| {
                    s.allocate("G", cid, &mqs, cids)
                        .into_iter()
                        .map(move |mq| (mq, cid.clone()))
                })
                .collect()
        };
        let (old, new) = (owner(&before), owner(&after));
        for mq in &mqs {
            if new[mq] != "10.9.9.9@newcomer" {
                assert_eq!(old[mq], new[mq], "c={c}: {mq} moved between old members");
            }
        }
    }
}

#[derive(Debug)]
struct Rooms;

impl MachineRoomResolver for Rooms {
    fn broker_deploy_in(&self, mq: &MessageQueue) -> String {
        mq.broker_name.split('@').next().unwrap_or("").to_string()
    }
    fn consumer_deploy_in(&self, client_id: &str) -> String {
        client_id.split('@').next().unwrap_or("").to_string()
    }
}

fn roomed_queues(rooms: &[&str], per_room: usize) -> Vec<MessageQueue> {
    let mut v: Vec<MessageQueue> = rooms
        .iter()
        .flat_map(|r| {
            (0..per_room).map(move |q| MessageQueue::new("T", format!("{r}@b"), q as i32))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn machine_room_strategies_partition() {
    let mqs = roomed_queues(&["hz", "sh", "sz"], 5);
    for c in 1..=6 {
        let consumers: Vec<String> = {
            let mut v: Vec<String> = (0..c)
                .map(|i| format!("{}@c{i}", ["hz", "sh"][i % 2]))
                .collect();
            v.sort();
            v
        };
        let by_room = ByMachineRoom {
            consumer_idcs: BTreeSet::from(["hz".to_string(), "sz".to_string()]),
        };
        let wanted: Vec<MessageQueue> = mqs
            .iter()
            .filter(|m| !m.broker_name.starts_with("sh"))
            .cloned()
            .collect();
        assert_partition(
            &shares(&by_room, &mqs, &consumers),
            &wanted,
            &format!("room c={c}"),
        );
        let nearby = MachineRoomNearby {
            inner: Arc::new(Averagely),
            resolver: Arc::new(Rooms),
        };
        let sh = shares(&nearby, &mqs, &consumers);
        assert_partition(&sh, &mqs, &format!("nearby c={c}"));
        let staffed: BTreeSet<&str> = consumers
            .iter()
            .filter_map(|c| c.split('@').next())
            .collect();
        for (cid, share) in consumers.iter().zip(&sh) {
            let room = cid.split('@').next().unwrap();
            for m in share.iter().filter(|m| !m.broker_name.starts_with(room)) {
                let their_room = m.broker_name.split('@').next().unwrap();
                assert!(
                    !staffed.contains(their_room),
                    "{cid} took {m} from a staffed room"
                );
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_groups_partition(
        spec in prop::collection::btree_set((0u8..5, 0i32..16), 1..40),
        cid_names in prop::collection::btree_set("[a-z0-9.@#]{1,16}", 1..12),
        virtual_nodes in 1usize..16,
    ) {
        let mut mqs: Vec<MessageQueue> = spec.iter().map(|(b, q)| MessageQueue::new("T", format!("b{b}"), *q)).collect();
        mqs.sort();
        let cids: Vec<String> = cid_names.into_iter().collect();
        for (name, s) in [
            ("avg", &Averagely as &dyn AllocateStrategy),
            ("circle", &AveragelyByCircle),
            ("hash", &ConsistentHash { virtual_nodes }),
        ] {
            let sh = shares(s, &mqs, &cids);
            assert_partition(&sh, &mqs, name);
            if name != "hash" {
                assert_balanced(&sh, name);
            }
        }
    }
}
