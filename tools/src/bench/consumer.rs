//! `mqbench consume` and `mqbench e2e`: a push consumer that counts what it receives and
//! records end-to-end latency (send time to listener call).
//!
//! Latency source: the microsecond send stamp `mqbench produce` puts in the message flag, when
//! it agrees with the millisecond born timestamp; otherwise (messages from other producers)
//! the born timestamp alone. Both need producer and consumer clocks to agree.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use client::consumer::PushConsumerConfig;
use client::{ConcurrentContext, ConsumeConcurrentlyStatus, Message, MessageExt, PushConsumer};
use serde_json::{json, Value};

use super::args::{ConsumeArgs, ProduceArgs};
use super::producer::{self, wall_us, STAMP_MODULUS};
use super::stats::{Recorder, Summary};
use super::{report_until, should_stop, Error, Outcome, Side};

/// Tag of the messages `e2e` sends before measuring; consumers never count them.
pub const WARMUP_TAG: &str = "mqbench-warmup";
/// How long `e2e` waits for the consumer to see the warm-up messages.
const WARMUP_TIMEOUT: Duration = Duration::from_secs(30);
/// After the producer stops, `e2e` waits for missing messages while some arrive this often.
const E2E_QUIET: Duration = Duration::from_secs(5);

/// End-to-end latency of a message consumed at `now_us` (µs since the epoch): the flag stamp
/// if it is consistent with the born timestamp (ms), else the born timestamp.
pub fn e2e_latency_us(now_us: u64, born_ms: i64, flag: i32) -> u64 {
    let by_born = now_us.saturating_sub(born_ms.max(0) as u64 * 1000);
    if flag >= 0 {
        let by_flag = (now_us % STAMP_MODULUS + STAMP_MODULUS - flag as u64) % STAMP_MODULUS;
        // The born timestamp is taken just after the stamp and truncated to ms.
        if by_born + 2_000 >= by_flag && by_born <= by_flag + 3_000 {
            return by_flag;
        }
    }
    by_born
}

/// What the listener feeds: counters, latencies, first/last arrival and one sample message.
pub struct Probe {
    /// Counted messages, bytes and e2e latencies.
    pub recorder: Arc<Recorder>,
    start: Instant,
    first_us: AtomicU64,
    last_us: AtomicU64,
    warmups: AtomicU64,
    born_after_ms: i64,
    sample: OnceLock<String>,
}

impl Probe {
    /// A probe that ignores messages born before `born_after_ms`.
    pub fn new(born_after_ms: i64) -> Probe {
        Probe {
            recorder: Arc::new(Recorder::default()),
            start: Instant::now(),
            first_us: AtomicU64::new(u64::MAX),
            last_us: AtomicU64::new(0),
            warmups: AtomicU64::new(0),
            born_after_ms,
            sample: OnceLock::new(),
        }
    }

    /// Counts one listener call's messages.
    pub fn on_batch(&self, msgs: &[MessageExt]) {
        let now_us = wall_us();
        let (mut n, mut bytes) = (0u64, 0u64);
        let counted = msgs.iter().filter(|m| {
            if m.tags() == Some(WARMUP_TAG) {
                self.warmups.fetch_add(1, Ordering::Relaxed);
                return false;
            }
            m.born_timestamp >= self.born_after_ms
        });
        self.recorder.e2e.record_all(counted.map(|m| {
            n += 1;
            bytes += m.body.len() as u64;
            if self.sample.get().is_none() {
                let _ = self.sample.set(describe(m));
            }
            e2e_latency_us(now_us, m.born_timestamp, m.flag)
        }));
        if n > 0 {
            let t = self.start.elapsed().as_micros() as u64;
            self.first_us.fetch_min(t, Ordering::Relaxed);
            self.last_us.fetch_max(t, Ordering::Relaxed);
            self.recorder.add_ok(n, bytes);
        }
    }

    /// Seconds from the first to the last counted message (0 with fewer than two arrivals).
    pub fn active_secs(&self) -> f64 {
        let first = self.first_us.load(Ordering::Relaxed);
        let last = self.last_us.load(Ordering::Relaxed);
        if first == u64::MAX || last <= first {
            return 0.0;
        }
        (last - first) as f64 / 1e6
    }

    /// The first counted message, described.
    pub fn sample(&self) -> Option<&str> {
        self.sample.get().map(String::as_str)
    }
}

fn describe(m: &MessageExt) -> String {
    let preview: String = String::from_utf8_lossy(&m.body[..m.body.len().min(32)]).into();
    format!(
        "topic={} queueId={} queueOffset={} msgId={} tags={} body[{}]={:?}{}",
        m.topic,
        m.queue_id,
        m.queue_offset,
        m.uniq_key().unwrap_or("-"),
        m.tags().unwrap_or("-"),
        m.body.len(),
        preview,
        if m.body.len() > 32 { "..." } else { "" }
    )
}

/// Starts a push consumer feeding `probe`.
pub fn start_consumer(args: &ConsumeArgs, probe: &Arc<Probe>) -> Result<PushConsumer, Error> {
    let config = PushConsumerConfig {
        consume_from: args.from,
        consume_thread_nums: args.threads,
        consume_message_batch_max_size: args.consume_batch,
        pull_batch_size: args.pull_batch,
        ..PushConsumerConfig::default()
    };
    let p = probe.clone();
    Ok(PushConsumer::builder(args.group.as_str())
        .name_server(&args.common.namesrv)
        .config(config)
        .subscribe(args.common.topic.as_str(), args.expression.as_str())
        .listener_concurrently(move |msgs: &[MessageExt], _: &mut ConcurrentContext| {
            p.on_batch(msgs);
            ConsumeConcurrentlyStatus::ConsumeSuccess
        })
        .start()?)
}

fn params(args: &ConsumeArgs) -> Value {
    json!({
        "topic": args.common.topic,
        "group": args.group,
        "expression": args.expression,
        "threads": args.threads,
        "pull_batch": args.pull_batch,
        "consume_batch": args.consume_batch,
    })
}

fn consume_summary(probe: &Probe) -> Summary {
    Summary::of("consume", &probe.recorder, probe.active_secs())
}

/// `mqbench consume`: runs until the count, the duration or `stop`.
pub fn run_consume(args: &ConsumeArgs, stop: &AtomicBool) -> Result<Outcome, Error> {
    let probe = Arc::new(Probe::new(0));
    let consumer = start_consumer(args, &probe)?;
    let deadline = args.common.limit.duration.map(|d| Instant::now() + d);
    let count = args.common.limit.count;
    let side = Side {
        role: "consume",
        recorder: &probe.recorder,
        latencies: &probe.recorder.e2e,
    };
    report_until(&[side], args.common.report_interval_secs, || {
        should_stop(stop, deadline) || count.is_some_and(|n| probe.recorder.messages() >= n)
    });
    drop(consumer);
    let summary = consume_summary(&probe);
    let mut json = summary.to_json(params(args));
    json["sample"] = json!(probe.sample());
    let mut text = summary.to_string();
    if let Some(s) = probe.sample() {
        text.push_str(&format!("  sample: {s}\n"));
    }
    let messages = summary.counters.messages;
    Ok(Outcome {
        json,
        text,
        ok: messages > 0 && count.is_none_or(|n| messages >= n),
    })
}

/// Sends warm-up messages (one creates the topic, then one per queue) and waits until the
/// consumer has seen them all, so measuring starts with every queue being pulled.
fn warm_up(
    producer: &client::Producer,
    args: &ConsumeArgs,
    probe: &Arc<Probe>,
    stop: &AtomicBool,
) -> Result<PushConsumer, Error> {
    let topic = args.common.topic.as_str();
    let warm = || Message::new(topic, "mqbench warm-up").with_tags(WARMUP_TAG);
    producer.send(warm())?;
    let queues = producer.fetch_publish_queues(topic)?;
    for q in &queues {
        producer.send_to_queue(warm(), q)?;
    }
    let consumer = start_consumer(args, probe)?;
    let expected = 1 + queues.len() as u64;
    let deadline = Instant::now() + WARMUP_TIMEOUT;
    while probe.warmups.load(Ordering::Relaxed) < expected {
        if should_stop(stop, Some(deadline)) {
            return Err(Error::Incomplete(format!(
                "the consumer saw {} of {expected} warm-up messages",
                probe.warmups.load(Ordering::Relaxed)
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok(consumer)
}

/// Waits until the consumer has `sent` messages, while some still arrive.
fn wait_for_rest(probe: &Probe, sent: u64, stop: &AtomicBool) {
    let mut seen = probe.recorder.messages();
    let mut quiet_since = Instant::now();
    while seen < sent && quiet_since.elapsed() < E2E_QUIET && !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(10));
        let now = probe.recorder.messages();
        if now != seen {
            seen = now;
            quiet_since = Instant::now();
        }
    }
}

/// `mqbench e2e`: a consumer (from the first offset, counting only this run's messages) and a
/// producer in one process; succeeds when every sent message was consumed.
pub fn run_e2e(p: &ProduceArgs, c: &ConsumeArgs, stop: &AtomicBool) -> Result<Outcome, Error> {
    let born_after_ms = (wall_us() / 1000) as i64;
    let producer = producer::start_producer(p)?;
    let probe = Arc::new(Probe::new(born_after_ms));
    let consumer = warm_up(&producer, c, &probe, stop)?;
    let sent = Arc::new(Recorder::default());
    let consumed_side = Side {
        role: "consume",
        recorder: &probe.recorder,
        latencies: &probe.recorder.e2e,
    };
    let elapsed_secs = producer::drive(&producer, p, &sent, stop, Some(consumed_side));
    let produced = Summary::of("produce", &sent, elapsed_secs);
    wait_for_rest(&probe, produced.counters.messages, stop);
    drop(consumer);
    let consumed = consume_summary(&probe);
    let missing = produced
        .counters
        .messages
        .saturating_sub(consumed.counters.messages);
    let json = json!({
        "produce": produced.to_json(producer::params(p)),
        "consume": consumed.to_json(params(c)),
        "missing": missing,
        "sample": probe.sample(),
    });
    let mut text = format!("{produced}{consumed}");
    text.push_str(&format!("missing: {missing}\n"));
    if let Some(s) = probe.sample() {
        text.push_str(&format!("sample: {s}\n"));
    }
    Ok(Outcome {
        json,
        text,
        ok: missing == 0 && produced.counters.failures == 0 && produced.counters.messages > 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::producer::stamp;

    #[test]
    fn latency_uses_a_consistent_flag_stamp() {
        let sent_us = 1_700_000_000_123_456u64;
        let born_ms = (sent_us / 1000) as i64;
        let now_us = sent_us + 850;
        assert_eq!(e2e_latency_us(now_us, born_ms, stamp(sent_us)), 850);
        // Born a little after the stamp (next millisecond).
        assert_eq!(e2e_latency_us(now_us, born_ms + 1, stamp(sent_us)), 850);
    }

    #[test]
    fn latency_falls_back_to_the_born_timestamp() {
        let born_ms = 1_700_000_000_000i64;
        let now_us = born_ms as u64 * 1000 + 40_000;
        // Flags of other producers: 0, negative, or unrelated values.
        assert_eq!(e2e_latency_us(now_us, born_ms, 0), 40_000);
        assert_eq!(e2e_latency_us(now_us, born_ms, -5), 40_000);
        assert_eq!(e2e_latency_us(now_us, born_ms, 123_456_789), 40_000);
        // A clock behind the born timestamp gives 0, not a wrap-around.
        assert_eq!(e2e_latency_us(1_000, born_ms, -1), 0);
    }

    #[test]
    fn latency_handles_stamp_wrap_around() {
        let sent_us = 5 * STAMP_MODULUS - 100;
        let now_us = sent_us + 300;
        let born_ms = (sent_us / 1000) as i64;
        assert_eq!(e2e_latency_us(now_us, born_ms, stamp(sent_us)), 300);
    }
}
