//! The lite pull consumer against the real broker: assigned queues polled from a seek
//! position, commit and the broker's committed offsets, seek to an offset / to the end, an
//! out-of-range seek refused, and a subscribing member of the same group resuming after the
//! committed offsets.

mod real_support;

use std::collections::BTreeMap;
use std::time::Duration;

use client::{LitePullConsumer, MessageExt};
use real_support::*;

fn poll_until(c: &LitePullConsumer, n: usize) -> Vec<MessageExt> {
    let mut out = Vec::new();
    wait_until(WAIT, || {
        out.extend(c.poll(Duration::from_millis(100)).unwrap());
        out.len() >= n
    });
    out
}

fn body(m: &MessageExt) -> String {
    String::from_utf8_lossy(&m.body).into_owned()
}

fn sorted_bodies(msgs: &[MessageExt]) -> Vec<String> {
    let mut v: Vec<String> = msgs.iter().map(body).collect();
    v.sort();
    v
}

fn expected(prefix: &str, n: usize) -> Vec<String> {
    names(prefix, n).into_iter().collect()
}

#[test]
fn poll_seek_and_commit_on_assigned_queues() {
    let cluster = RealCluster::start(1, &[("PollT", 2)]);
    let p = producer(&cluster, "poll-sender");
    send_n(&p, "PollT", "m", 20, "A");
    let c = LitePullConsumer::builder("PollG")
        .client_config(fast_config(&cluster.namesrv_addr()))
        .auto_commit(false)
        .pull_batch_size(4)
        .start()
        .unwrap();
    let mut queues = c.fetch_message_queues("PollT").unwrap();
    queues.sort();
    assert_eq!(queues.len(), 2);
    c.assign(queues.clone()).unwrap();
    for mq in &queues {
        c.seek(mq, 0).unwrap();
    }
    let first = poll_until(&c, 20);
    assert_eq!(sorted_bodies(&first), expected("m", 20));
    let mut per_queue: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for m in &first {
        per_queue
            .entry(m.queue_id)
            .or_default()
            .push(m.queue_offset);
    }
    for offsets in per_queue.values() {
        assert!(offsets.windows(2).all(|w| w[1] == w[0] + 1), "{offsets:?}");
    }
    c.commit().unwrap();
    for mq in &queues {
        let max = cluster.max_offset(0, "PollT", mq.queue_id);
        assert_eq!(c.committed(mq).unwrap(), Some(max));
        assert_eq!(
            cluster.committed(0, "PollG", "PollT", mq.queue_id),
            Some(max)
        );
    }

    // Seek back within queue 0: only its messages from offset 2 come again.
    let q0 = &queues[0];
    let q0_max = cluster.max_offset(0, "PollT", 0);
    c.seek(q0, 2).unwrap();
    let again = poll_until(&c, (q0_max - 2) as usize);
    assert!(again.iter().all(|m| m.queue_id == 0));
    let offsets: Vec<i64> = again.iter().map(|m| m.queue_offset).collect();
    assert_eq!(offsets, (2..q0_max).collect::<Vec<_>>());
    assert!(c.seek(q0, q0_max + 5).is_err(), "beyond the max offset");

    // Seek to the end: only what is sent afterwards arrives.
    for mq in &queues {
        c.seek_to_end(mq).unwrap();
    }
    send_n(&p, "PollT", "new", 4, "A");
    let new = poll_until(&c, 4);
    assert_eq!(sorted_bodies(&new), expected("new", 4));
    c.commit().unwrap();
    c.close();

    // A subscribing member of the group starts at the committed offsets.
    let member = LitePullConsumer::builder("PollG")
        .client_config(fast_config(&cluster.namesrv_addr()))
        .subscribe("PollT", "*")
        .start()
        .unwrap();
    assert!(wait_until(WAIT, || member
        .assignment()
        .iter()
        .filter(|q| q.topic == "PollT")
        .count()
        == 2));
    send_n(&p, "PollT", "late", 4, "A");
    let late = poll_until(&member, 4);
    assert_eq!(sorted_bodies(&late), expected("late", 4));
    assert!(member.poll(Duration::from_millis(300)).unwrap().is_empty());
}
