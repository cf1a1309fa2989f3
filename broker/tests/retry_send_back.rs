//! CONSUMER_SEND_MSG_BACK on a real store: retries go to `%RETRY%G` through the delay level
//! `3 + reconsumeTimes`, the schedule service delivers them, and after the maximum they land
//! in `%DLQ%G` with the original message id kept; plus every refusal path.

mod common;
mod services_common;

use std::sync::{Arc, Mutex};

use broker::manager::{SubscriptionGroupManager, TopicConfigManager};
use broker::retry::{send_msg_back, SendBackContext, SendBackOutcome};
use broker::schedule::{ScheduleConfig, ScheduleMessageService, SCHEDULE_TOPIC};
use protocol::body::perm::{PERM_READ, PERM_READ_WRITE};
use protocol::body::SubscriptionGroupConfig;
use protocol::code::ResponseCode;
use protocol::header::consumer::ConsumerSendMsgBackRequestHeader;
use protocol::message::{keys, offset_msg_id, MessageExt};

use services_common::{count, message, read_all, send, store_host, TestStore};

struct Broker {
    t: TestStore,
    topics: Mutex<TopicConfigManager>,
    groups: Mutex<SubscriptionGroupManager>,
    broker_permission: i32,
    auto_create: bool,
}

impl Broker {
    fn new() -> Self {
        let t = TestStore::new();
        let now = t.now() as u64;
        Broker {
            topics: Mutex::new(TopicConfigManager::empty(now)),
            groups: Mutex::new(SubscriptionGroupManager::new(now)),
            t,
            broker_permission: PERM_READ_WRITE,
            auto_create: true,
        }
    }

    fn ctx(&self) -> SendBackContext<'_> {
        SendBackContext {
            store: &self.t.store,
            topics: &self.topics,
            groups: &self.groups,
            store_host: store_host(),
            broker_permission: self.broker_permission,
            auto_create_subscription_group: self.auto_create,
            max_delay_level: 18,
        }
    }

    fn back(
        &self,
        offset: i64,
        delay_level: i32,
        max: Option<i32>,
        version: i32,
    ) -> SendBackOutcome {
        let header = ConsumerSendMsgBackRequestHeader {
            offset,
            group: "G".into(),
            delay_level,
            origin_msg_id: None,
            origin_topic: None,
            unit_mode: None,
            max_reconsume_times: max,
        };
        let out = send_msg_back(&self.ctx(), &header, version, self.t.now() as u64);
        self.t.dispatched();
        out
    }

    fn set_group(&self, f: impl FnOnce(&mut SubscriptionGroupConfig)) {
        let mut g = SubscriptionGroupConfig::new("G");
        f(&mut g);
        self.groups.lock().unwrap().update(g, 1);
    }
}

fn original(b: &Broker) -> (i64, String) {
    let m = message(
        "Orders",
        2,
        b"pay",
        &[("TAGS", "t1"), ("UNIQ_KEY", "U1")],
        b.t.now(),
    );
    let a = send(&b.t.store, m, 18);
    b.t.dispatched();
    (
        a.phy_offset as i64,
        offset_msg_id(store_host(), a.phy_offset as i64),
    )
}

fn scheduled(b: &Broker, level: i32) -> Vec<MessageExt> {
    read_all(&b.t.store, SCHEDULE_TOPIC, level - 1)
        .into_iter()
        .map(|(_, m)| m)
        .collect()
}

#[test]
fn retries_go_through_delay_levels_then_the_dlq() {
    let b = Broker::new();
    let (phy, origin_id) = original(&b);
    let out = b.back(phy, 0, Some(2), 479);
    assert_eq!(
        (out.code, out.remark.clone(), out.to_dlq),
        (ResponseCode::SUCCESS, None, false)
    );
    assert!(
        out.put.unwrap().append.is_some(),
        "the caller gets the append for SYNC_FLUSH"
    );
    assert!(
        b.topics.lock().unwrap().contains("%RETRY%G"),
        "retry topic created"
    );
    assert!(b.groups.lock().unwrap().contains("G"), "group auto-created");
    let s = scheduled(&b, 3);
    assert_eq!(s.len(), 1, "first retry uses level 3");
    let p = &s[0].properties;
    assert_eq!(
        (p.get(keys::REAL_TOPIC), p.get(keys::REAL_QID)),
        (Some("%RETRY%G"), Some("0"))
    );
    assert_eq!(p.get(keys::RETRY_TOPIC), Some("Orders"));
    assert_eq!(p.get(keys::ORIGIN_MESSAGE_ID), Some(origin_id.as_str()));
    assert_eq!(
        (p.get(keys::TAGS), p.get(keys::UNIQ_KEY)),
        (Some("t1"), Some("U1"))
    );
    assert_eq!(s[0].reconsume_times, 1);

    // The schedule service moves it to %RETRY%G after 10 s.
    let cfg = ScheduleConfig::from_store(&b.t.store).unwrap();
    let svc = ScheduleMessageService::with_config(Arc::clone(&b.t.store), cfg, b.t.clock.clock())
        .unwrap();
    svc.run_once(b.t.now() + 9_000);
    b.t.dispatched();
    assert_eq!(count(&b.t.store, "%RETRY%G", 0), 0);
    svc.run_once(b.t.now() + 10_000);
    b.t.dispatched();
    let retry = read_all(&b.t.store, "%RETRY%G", 0);
    assert_eq!(retry.len(), 1);
    let (unit, m) = &retry[0];
    assert_eq!((m.reconsume_times, &m.body[..]), (1, &b"pay"[..]));

    // Second failure: level 4, origin id kept.
    let out = b.back(unit.phy_offset as i64, 0, Some(2), 479);
    assert_eq!(out.code, ResponseCode::SUCCESS);
    let s = scheduled(&b, 4);
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].reconsume_times, 2);
    assert_eq!(
        s[0].properties.get(keys::ORIGIN_MESSAGE_ID),
        Some(origin_id.as_str())
    );
    svc.run_once(b.t.now() + 30_000);
    b.t.dispatched();
    let retry = read_all(&b.t.store, "%RETRY%G", 0);
    assert_eq!(retry.len(), 2);

    // Third failure: reconsumeTimes 2 ≥ max 2 → DLQ, not delayed.
    let out = b.back(retry[1].0.phy_offset as i64, 0, Some(2), 479);
    assert_eq!((out.code, out.to_dlq), (ResponseCode::SUCCESS, true));
    assert!(
        b.topics.lock().unwrap().contains("%DLQ%G"),
        "DLQ topic created"
    );
    let dlq = read_all(&b.t.store, "%DLQ%G", 0);
    assert_eq!(dlq.len(), 1, "stored directly, no schedule");
    let m = &dlq[0].1;
    assert_eq!(m.reconsume_times, 3);
    assert_eq!(
        m.properties.get(keys::ORIGIN_MESSAGE_ID),
        Some(origin_id.as_str())
    );
    assert_eq!(m.properties.get(keys::RETRY_TOPIC), Some("Orders"));
    assert_eq!(m.properties.get(keys::DELAY), Some("0"));
    assert_eq!(m.store_host, store_host());
}

#[test]
fn negative_delay_level_goes_straight_to_the_dlq() {
    let b = Broker::new();
    let (phy, origin_id) = original(&b);
    let out = b.back(phy, -1, None, 479);
    assert_eq!((out.code, out.to_dlq), (ResponseCode::SUCCESS, true));
    let dlq = read_all(&b.t.store, "%DLQ%G", 0);
    assert_eq!(dlq.len(), 1);
    assert_eq!(
        dlq[0].1.properties.get(keys::ORIGIN_MESSAGE_ID),
        Some(origin_id.as_str())
    );
    assert_eq!(count(&b.t.store, "%RETRY%G", 0), 0);
}

#[test]
fn explicit_delay_level_and_group_max_for_old_clients() {
    let b = Broker::new();
    b.set_group(|g| g.retry_max_times = 1);
    let (phy, _) = original(&b);
    // Version 100 < 121: the header's max 5 is ignored, the group's 1 applies (0 < 1: retry).
    let out = b.back(phy, 7, Some(5), 100);
    assert_eq!((out.code, out.to_dlq), (ResponseCode::SUCCESS, false));
    assert_eq!(scheduled(&b, 7).len(), 1, "the header's level is used");
    let s = &scheduled(&b, 7)[0];
    assert_eq!(s.reconsume_times, 1);
    // The retried copy fails again: reconsumeTimes 1 ≥ the group's max 1 → DLQ.
    let mut retried = message(
        "%RETRY%G",
        0,
        b"pay",
        &[("RETRY_TOPIC", "Orders")],
        b.t.now(),
    );
    retried.reconsume_times = s.reconsume_times;
    let a = send(&b.t.store, retried, 18);
    b.t.dispatched();
    let out = b.back(a.phy_offset as i64, 0, Some(5), 100);
    assert!(out.to_dlq, "reconsumeTimes 1 ≥ group max 1");
}

#[test]
fn retry_queue_is_random_within_the_group_retry_queues() {
    let b = Broker::new();
    b.set_group(|g| g.retry_queue_nums = 4);
    let (phy, _) = original(&b);
    let mut queues = std::collections::BTreeSet::new();
    for _ in 0..24 {
        b.t.clock.advance(7);
        assert_eq!(b.back(phy, 1, None, 479).code, ResponseCode::SUCCESS);
    }
    for m in scheduled(&b, 1) {
        let q: i32 = m.properties.get(keys::REAL_QID).unwrap().parse().unwrap();
        assert!((0..4).contains(&q), "{q}");
        queues.insert(q);
    }
    assert!(queues.len() > 1, "spread over queues: {queues:?}");
    let t = b.topics.lock().unwrap();
    assert_eq!(t.select("%RETRY%G").unwrap().write_queue_nums, 4);
}

#[test]
fn refusals() {
    let mut b = Broker::new();
    let (phy, _) = original(&b);
    b.auto_create = false;
    let out = b.back(phy, 0, None, 479);
    assert_eq!(out.code, ResponseCode::SUBSCRIPTION_GROUP_NOT_EXIST);
    assert!(out.remark.unwrap().contains('G'));

    b.auto_create = true;
    b.broker_permission = PERM_READ;
    assert_eq!(b.back(phy, 0, None, 479).code, ResponseCode::NO_PERMISSION);

    b.broker_permission = PERM_READ_WRITE;
    let out = b.back(phy + 1, 0, None, 479);
    assert_eq!(out.code, ResponseCode::SYSTEM_ERROR);
    assert_eq!(
        out.remark.as_deref(),
        Some(format!("look message by offset failed, {}", phy + 1).as_str())
    );
    assert_eq!(b.back(-5, 0, None, 479).code, ResponseCode::SYSTEM_ERROR);
}

#[test]
fn a_group_without_retry_queues_drops_the_message() {
    let b = Broker::new();
    let (phy, _) = original(&b);
    b.set_group(|g| g.retry_queue_nums = 0);
    let out = b.back(phy, 0, None, 479);
    assert_eq!(
        (out.code, out.put),
        (ResponseCode::SUCCESS, None),
        "dropped"
    );
    assert_eq!(count(&b.t.store, SCHEDULE_TOPIC, 2), 0);
    assert!(!b.topics.lock().unwrap().contains("%RETRY%G"));
}
