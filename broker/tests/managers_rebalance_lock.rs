//! Randomized check of the rebalance lock manager against the exclusivity invariant: a queue
//! of a group is never granted to a second client while the first one's lock is live (not
//! released and renewed within the TTL), and the manager's answers match a reference model.

use std::collections::{BTreeMap, BTreeSet};

use broker::manager::RebalanceLockManager;
use proptest::prelude::*;
use protocol::body::MessageQueue;

const CLIENTS: [&str; 3] = ["c0", "c1", "c2"];
const GROUPS: [&str; 2] = ["G0", "G1"];

#[derive(Debug, Clone)]
enum Op {
    Lock {
        group: usize,
        client: usize,
        queues: Vec<i32>,
    },
    Unlock {
        group: usize,
        client: usize,
        queues: Vec<i32>,
    },
    Advance(u64),
    Housekeep,
}

fn op() -> impl Strategy<Value = Op> {
    let queues = proptest::collection::vec(0..4i32, 0..4);
    prop_oneof![
        4 => (0..2usize, 0..3usize, queues.clone())
            .prop_map(|(group, client, queues)| Op::Lock { group, client, queues }),
        2 => (0..2usize, 0..3usize, queues)
            .prop_map(|(group, client, queues)| Op::Unlock { group, client, queues }),
        3 => (0..3_000u64).prop_map(Op::Advance),
        1 => Just(Op::Housekeep),
    ]
}

fn mq(q: i32) -> MessageQueue {
    MessageQueue::new("T", "b", q)
}

/// Reference model: (group, queue) → (owner, last renewal).
type Model = BTreeMap<(usize, i32), (usize, u64)>;

fn model_live_owner(model: &Model, key: (usize, i32), now: u64, ttl: u64) -> Option<usize> {
    model
        .get(&key)
        .filter(|(_, at)| now.saturating_sub(*at) <= ttl)
        .map(|(c, _)| *c)
}

proptest! {
    #[test]
    fn no_queue_is_ever_held_by_two_clients(
        ttl in prop_oneof![Just(1_000u64), Just(2_500u64)],
        ops in proptest::collection::vec(op(), 1..120),
    ) {
        let mut m = RebalanceLockManager::new(ttl);
        let mut model: Model = BTreeMap::new();
        let mut now = 10_000u64;
        for op in ops {
            match op {
                Op::Lock { group, client, queues } => {
                    let mqs: Vec<MessageQueue> = queues.iter().map(|q| mq(*q)).collect();
                    let got = m.try_lock_batch(GROUPS[group], &mqs, CLIENTS[client], now);
                    let mut expected = BTreeSet::new();
                    for q in &queues {
                        let key = (group, *q);
                        match model_live_owner(&model, key, now, ttl) {
                            Some(owner) if owner != client => {}
                            _ => {
                                model.insert(key, (client, now));
                                expected.insert(mq(*q));
                            }
                        }
                    }
                    prop_assert_eq!(got, expected);
                }
                Op::Unlock { group, client, queues } => {
                    let mqs: Vec<MessageQueue> = queues.iter().map(|q| mq(*q)).collect();
                    m.unlock_batch(GROUPS[group], &mqs, CLIENTS[client]);
                    for q in queues {
                        if model.get(&(group, q)).is_some_and(|(c, _)| *c == client) {
                            model.remove(&(group, q));
                        }
                    }
                }
                Op::Advance(ms) => now += ms,
                Op::Housekeep => {
                    m.remove_expired(now);
                    model.retain(|_, (_, at)| now.saturating_sub(*at) <= ttl);
                }
            }
            // After every step: each queue has at most the model's single live owner, and
            // every client agrees.
            for (g, group) in GROUPS.iter().enumerate() {
                let mut any_live = false;
                for q in 0..4 {
                    let owner = model_live_owner(&model, (g, q), now, ttl);
                    any_live |= owner.is_some();
                    prop_assert_eq!(m.lock_owner(group, &mq(q), now), owner.map(|c| CLIENTS[c]));
                    let holders = CLIENTS
                        .iter()
                        .filter(|c| m.is_locked(group, &mq(q), c, now))
                        .count();
                    prop_assert!(holders <= 1);
                }
                prop_assert_eq!(m.has_live_locks(group, now), any_live);
            }
        }
    }
}
