//! Queue allocation strategies (wire reference §12): which of a topic's queues one member of
//! a clustering consumer group takes. Pure functions of (all queues, all client ids, own id);
//! every member computes its own share and, given the same inputs, the shares are disjoint and
//! cover every queue.
//!
//! Inputs follow Java's contract: `mq_all` sorted by (topic, broker, queue id) and `cid_all`
//! sorted lexicographically (the rebalance sorts both). A client id that is not in `cid_all`
//! gets nothing.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use protocol::body::MessageQueue;

use crate::md5::md5_hash_u32;

/// A queue allocation strategy (Java `AllocateMessageQueueStrategy`).
pub trait AllocateStrategy: Send + Sync + fmt::Debug {
    /// The strategy's name, as Java names it (for logs and running info).
    fn name(&self) -> &str;

    /// The queues `current_cid` takes out of `mq_all`, given the group members `cid_all`.
    fn allocate(
        &self,
        group: &str,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<MessageQueue>;
}

/// Index of `current_cid` in `cid_all`, or `None` when it cannot take part.
fn member_index(current_cid: &str, mq_all: &[MessageQueue], cid_all: &[String]) -> Option<usize> {
    if current_cid.is_empty() || mq_all.is_empty() {
        return None;
    }
    cid_all.iter().position(|c| c == current_cid)
}

/// Contiguous blocks of nearly equal size, bigger blocks first (Java
/// `AllocateMessageQueueAveragely`, the default).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Averagely;

impl AllocateStrategy for Averagely {
    fn name(&self) -> &str {
        "AVG"
    }

    fn allocate(
        &self,
        _group: &str,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<MessageQueue> {
        let Some(index) = member_index(current_cid, mq_all, cid_all) else {
            return Vec::new();
        };
        let (n, c) = (mq_all.len(), cid_all.len());
        let modulo = n % c;
        let size = if n <= c {
            1
        } else if modulo > 0 && index < modulo {
            n / c + 1
        } else {
            n / c
        };
        let start = if modulo > 0 && index < modulo {
            index * size
        } else {
            index * size + modulo
        };
        let take = size.min(n.saturating_sub(start));
        mq_all.iter().skip(start).take(take).cloned().collect()
    }
}

/// Round-robin dealing: member `i` takes queues `i, i + c, i + 2c, …` (Java
/// `AllocateMessageQueueAveragelyByCircle`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AveragelyByCircle;

impl AllocateStrategy for AveragelyByCircle {
    fn name(&self) -> &str {
        "AVG_BY_CIRCLE"
    }

    fn allocate(
        &self,
        _group: &str,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<MessageQueue> {
        let Some(index) = member_index(current_cid, mq_all, cid_all) else {
            return Vec::new();
        };
        mq_all
            .iter()
            .skip(index)
            .step_by(cid_all.len())
            .cloned()
            .collect()
    }
}

/// Consistent hashing on a ring of virtual nodes hashed with MD5 (Java
/// `AllocateMessageQueueConsistentHash`): adding or removing a member moves only the queues
/// next to its nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsistentHash {
    /// Virtual nodes per member (Java default 10).
    pub virtual_nodes: usize,
}

impl Default for ConsistentHash {
    fn default() -> Self {
        ConsistentHash { virtual_nodes: 10 }
    }
}

impl ConsistentHash {
    /// The ring: hash → member. Later insertions win on equal hashes, as Java's `TreeMap.put`.
    fn ring<'a>(&self, cid_all: &'a [String]) -> BTreeMap<u32, &'a str> {
        let mut ring = BTreeMap::new();
        for cid in cid_all {
            for i in 0..self.virtual_nodes {
                ring.insert(md5_hash_u32(&format!("{cid}-{i}")), cid.as_str());
            }
        }
        ring
    }

    /// The member owning `mq` on `ring`: the first node at or after the queue's hash, wrapping.
    fn owner<'a>(ring: &BTreeMap<u32, &'a str>, mq: &MessageQueue) -> Option<&'a str> {
        let hash = md5_hash_u32(&mq.to_string());
        ring.range(hash..)
            .next()
            .or_else(|| ring.iter().next())
            .map(|(_, cid)| *cid)
    }
}

impl AllocateStrategy for ConsistentHash {
    fn name(&self) -> &str {
        "CONSISTENT_HASH"
    }

    fn allocate(
        &self,
        _group: &str,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<MessageQueue> {
        if self.virtual_nodes == 0 || member_index(current_cid, mq_all, cid_all).is_none() {
            return Vec::new();
        }
        let ring = self.ring(cid_all);
        mq_all
            .iter()
            .filter(|mq| Self::owner(&ring, mq) == Some(current_cid))
            .cloned()
            .collect()
    }
}

/// Splits a broker name `<idc>@<name>` into its machine room, if it has one.
fn broker_room(broker_name: &str) -> Option<&str> {
    let mut parts = broker_name.split('@');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(idc), Some(_), None) => Some(idc),
        _ => None,
    }
}

/// Only queues of brokers in the consumer's machine rooms (`<idc>@<name>` broker names),
/// shared in blocks (Java `AllocateMessageQueueByMachineRoom`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ByMachineRoom {
    /// The machine rooms this group consumes from.
    pub consumer_idcs: BTreeSet<String>,
}

impl AllocateStrategy for ByMachineRoom {
    fn name(&self) -> &str {
        "MACHINE_ROOM"
    }

    fn allocate(
        &self,
        _group: &str,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<MessageQueue> {
        let Some(index) = member_index(current_cid, mq_all, cid_all) else {
            return Vec::new();
        };
        let pre: Vec<&MessageQueue> = mq_all
            .iter()
            .filter(|mq| {
                broker_room(&mq.broker_name).is_some_and(|r| self.consumer_idcs.contains(r))
            })
            .collect();
        let c = cid_all.len();
        let (modulo, rem) = (pre.len() / c, pre.len() % c);
        let start = modulo * index;
        let mut out: Vec<MessageQueue> = pre[start..start + modulo]
            .iter()
            .map(|mq| (*mq).clone())
            .collect();
        if rem > index {
            out.push(pre[index + modulo * c].clone());
        }
        out
    }
}

/// Tells [`MachineRoomNearby`] where queues and consumers are deployed.
pub trait MachineRoomResolver: Send + Sync + fmt::Debug {
    /// The machine room of the broker hosting `mq`.
    fn broker_deploy_in(&self, mq: &MessageQueue) -> String;
    /// The machine room of consumer `client_id`.
    fn consumer_deploy_in(&self, client_id: &str) -> String;
}

/// Consumers take queues of their own machine room first (with the inner strategy); queues of
/// rooms without any live consumer are shared by everyone (Java
/// `AllocateMachineRoomNearby`).
#[derive(Debug, Clone)]
pub struct MachineRoomNearby {
    /// The strategy used within each room.
    pub inner: Arc<dyn AllocateStrategy>,
    /// Where queues and consumers live.
    pub resolver: Arc<dyn MachineRoomResolver>,
}

impl AllocateStrategy for MachineRoomNearby {
    fn name(&self) -> &str {
        "MACHINE_ROOM_NEARBY"
    }

    fn allocate(
        &self,
        group: &str,
        current_cid: &str,
        mq_all: &[MessageQueue],
        cid_all: &[String],
    ) -> Vec<MessageQueue> {
        if member_index(current_cid, mq_all, cid_all).is_none() {
            return Vec::new();
        }
        let mut room_queues: BTreeMap<String, Vec<MessageQueue>> = BTreeMap::new();
        for mq in mq_all {
            let room = self.resolver.broker_deploy_in(mq);
            room_queues.entry(room).or_default().push(mq.clone());
        }
        let mut room_consumers: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for cid in cid_all {
            let room = self.resolver.consumer_deploy_in(cid);
            room_consumers.entry(room).or_default().push(cid.clone());
        }
        let my_room = self.resolver.consumer_deploy_in(current_cid);
        let mut out = Vec::new();
        if let (Some(queues), Some(consumers)) =
            (room_queues.remove(&my_room), room_consumers.get(&my_room))
        {
            out.extend(self.inner.allocate(group, current_cid, &queues, consumers));
        }
        for (room, queues) in &room_queues {
            if !room_consumers.contains_key(room) {
                out.extend(self.inner.allocate(group, current_cid, queues, cid_all));
            }
        }
        out
    }
}

/// A fixed list of queues, whatever the group looks like (Java
/// `AllocateMessageQueueByConfig`). Every member must be configured with a disjoint list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ByConfig {
    /// The queues this consumer takes.
    pub queues: Vec<MessageQueue>,
}

impl AllocateStrategy for ByConfig {
    fn name(&self) -> &str {
        "CONFIG"
    }

    fn allocate(
        &self,
        _group: &str,
        _current_cid: &str,
        _mq_all: &[MessageQueue],
        _cid_all: &[String],
    ) -> Vec<MessageQueue> {
        self.queues.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queues(spec: &[(&str, i32)]) -> Vec<MessageQueue> {
        spec.iter()
            .map(|(b, q)| MessageQueue::new("T", *b, *q))
            .collect()
    }

    fn cids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("c{i}")).collect()
    }

    fn ids(mqs: &[MessageQueue]) -> Vec<String> {
        mqs.iter()
            .map(|m| format!("{}{}", m.broker_name, m.queue_id))
            .collect()
    }

    fn eight() -> Vec<MessageQueue> {
        queues(&[
            ("a", 0),
            ("a", 1),
            ("a", 2),
            ("a", 3),
            ("b", 0),
            ("b", 1),
            ("b", 2),
            ("b", 3),
        ])
    }

    #[test]
    fn averagely_worked_examples() {
        let (mqs, c) = (eight(), cids(3));
        let got = |i: usize| ids(&Averagely.allocate("G", &c[i], &mqs, &c));
        assert_eq!(got(0), ["a0", "a1", "a2"]);
        assert_eq!(got(1), ["a3", "b0", "b1"]);
        assert_eq!(got(2), ["b2", "b3"]);
        let three = queues(&[("a", 0), ("a", 1), ("a", 2)]);
        let c = cids(5);
        let sizes: Vec<usize> = (0..5)
            .map(|i| Averagely.allocate("G", &c[i], &three, &c).len())
            .collect();
        assert_eq!(sizes, [1, 1, 1, 0, 0]);
    }

    #[test]
    fn circle_worked_example() {
        let (mqs, c) = (eight(), cids(3));
        let got = |i: usize| ids(&AveragelyByCircle.allocate("G", &c[i], &mqs, &c));
        assert_eq!(got(0), ["a0", "a3", "b2"]);
        assert_eq!(got(1), ["a1", "b0", "b3"]);
        assert_eq!(got(2), ["a2", "b1"]);
    }

    #[test]
    fn consistent_hash_worked_example() {
        let mqs: Vec<MessageQueue> = (0..4).map(|q| MessageQueue::new("T", "b1", q)).collect();
        let c = vec!["10.0.0.1@A".to_string(), "10.0.0.2@B".to_string()];
        let strategy = ConsistentHash::default();
        let a: Vec<i32> = strategy
            .allocate("G", &c[0], &mqs, &c)
            .iter()
            .map(|m| m.queue_id)
            .collect();
        let b: Vec<i32> = strategy
            .allocate("G", &c[1], &mqs, &c)
            .iter()
            .map(|m| m.queue_id)
            .collect();
        assert_eq!(a, [0, 3]);
        assert_eq!(b, [1, 2]);
    }

    #[test]
    fn machine_room_worked_example() {
        let pre: Vec<MessageQueue> = (0..7)
            .map(|q| MessageQueue::new("T", "hz@b", q))
            .chain((0..3).map(|q| MessageQueue::new("T", "sh@b", q)))
            .chain([MessageQueue::new("T", "plain", 0)])
            .collect();
        let strategy = ByMachineRoom {
            consumer_idcs: BTreeSet::from(["hz".to_string()]),
        };
        let c = cids(3);
        let got = |i: usize| -> Vec<i32> {
            strategy
                .allocate("G", &c[i], &pre, &c)
                .iter()
                .map(|m| m.queue_id)
                .collect()
        };
        assert_eq!(got(0), [0, 1, 6]);
        assert_eq!(got(1), [2, 3]);
        assert_eq!(got(2), [4, 5]);
    }

    #[derive(Debug)]
    struct PrefixRooms;
    impl MachineRoomResolver for PrefixRooms {
        fn broker_deploy_in(&self, mq: &MessageQueue) -> String {
            broker_room(&mq.broker_name).unwrap_or("").to_string()
        }
        fn consumer_deploy_in(&self, client_id: &str) -> String {
            client_id.split('-').next().unwrap_or("").to_string()
        }
    }

    #[test]
    fn machine_room_nearby_prefers_own_room_and_shares_orphans() {
        let mqs = vec![
            MessageQueue::new("T", "hz@b", 0),
            MessageQueue::new("T", "hz@b", 1),
            MessageQueue::new("T", "sh@b", 0),
            MessageQueue::new("T", "sz@b", 0),
            MessageQueue::new("T", "sz@b", 1),
        ];
        let c = vec!["hz-1".to_string(), "sh-1".to_string()];
        let strategy = MachineRoomNearby {
            inner: Arc::new(Averagely),
            resolver: Arc::new(PrefixRooms),
        };
        let hz: Vec<String> = strategy
            .allocate("G", "hz-1", &mqs, &c)
            .iter()
            .map(|m| format!("{}{}", m.broker_name, m.queue_id))
            .collect();
        let sh: Vec<String> = strategy
            .allocate("G", "sh-1", &mqs, &c)
            .iter()
            .map(|m| format!("{}{}", m.broker_name, m.queue_id))
            .collect();
        // sz has no consumer: its two queues are shared by everyone with the inner strategy.
        assert_eq!(hz, ["hz@b0", "hz@b1", "sz@b0"]);
        assert_eq!(sh, ["sh@b0", "sz@b1"]);
    }

    #[test]
    fn by_config_ignores_inputs_and_absent_members_get_nothing() {
        let fixed = queues(&[("x", 9)]);
        let s = ByConfig {
            queues: fixed.clone(),
        };
        assert_eq!(s.allocate("G", "nobody", &[], &[]), fixed);
        let c = cids(2);
        for strategy in [
            &Averagely as &dyn AllocateStrategy,
            &AveragelyByCircle,
            &ConsistentHash::default(),
        ] {
            assert!(strategy.allocate("G", "stranger", &eight(), &c).is_empty());
            assert!(strategy.allocate("G", "c0", &[], &c).is_empty());
        }
    }
}
