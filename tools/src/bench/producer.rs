//! The send loops of `mqbench produce`: sync (single or batch), async with a bounded window of
//! sends in flight per thread (completion callbacks, no thread per send), and one-way.
//!
//! Every message body is the same shared buffer (a reference-count increment per message);
//! the message flag carries the send time in microseconds (mod 2^31) so consumers can measure
//! end-to-end latency finer than the millisecond born timestamp.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::Thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use client::{Message, Producer, SendStatus};
use serde_json::{json, Value};

use super::args::{ProduceArgs, SendMode};
use super::stats::{Recorder, Summary};
use super::{report_until, should_stop, Error, Outcome, Side};

/// The modulus of the microsecond send stamp carried in the message flag.
pub const STAMP_MODULUS: u64 = 1 << 31;

/// Microseconds since the Unix epoch.
pub fn wall_us() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// The send stamp for `now_us`, as stored in the message flag.
pub fn stamp(now_us: u64) -> i32 {
    (now_us % STAMP_MODULUS) as i32
}

/// Starts the producer of a run.
pub fn start_producer(args: &ProduceArgs) -> Result<Producer, Error> {
    Ok(Producer::builder(args.group.as_str())
        .name_server(&args.common.namesrv)
        .send_timeout_ms(args.send_timeout_ms)
        .start()?)
}

/// A body of `len` pseudo-random printable bytes (so compression, if it applies, is honest).
pub fn bench_body(len: usize) -> Bytes {
    let mut x: u32 = 0x9E37_79B9;
    let body: Vec<u8> = (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            b'!' + (x % 94) as u8
        })
        .collect();
    Bytes::from(body)
}

/// The run's settings, for the JSON output.
pub fn params(args: &ProduceArgs) -> Value {
    json!({
        "topic": args.common.topic,
        "mode": args.mode.as_str(),
        "threads": args.threads,
        "size_bytes": args.size_bytes,
        "batch": args.batch,
        "inflight": (args.mode == SendMode::Async).then_some(args.inflight),
        "tags": args.tags,
    })
}

/// `mqbench produce`.
pub fn run_produce(args: &ProduceArgs, stop: &AtomicBool) -> Result<Outcome, Error> {
    let producer = start_producer(args)?;
    // Route lookup before the clock starts (also fails fast on an unknown topic).
    producer.fetch_publish_queues(&args.common.topic)?;
    let recorder = Arc::new(Recorder::default());
    let elapsed_secs = drive(&producer, args, &recorder, stop, None);
    let summary = Summary::of("produce", &recorder, elapsed_secs);
    let c = summary.counters;
    Ok(Outcome {
        json: summary.to_json(params(args)),
        text: summary.to_string(),
        ok: c.failures == 0 && c.messages > 0,
    })
}

/// How many more messages may be sent (`None`: unbounded).
struct Budget {
    left: Option<AtomicU64>,
}

impl Budget {
    /// Claims up to `want` messages; 0 when the budget is spent.
    fn take(&self, want: u64) -> u64 {
        let Some(left) = &self.left else { return want };
        let mut cur = left.load(Ordering::Relaxed);
        loop {
            if cur == 0 {
                return 0;
            }
            let n = cur.min(want);
            match left.compare_exchange_weak(cur, cur - n, Ordering::Relaxed, Ordering::Relaxed) {
                Ok(_) => return n,
                Err(now) => cur = now,
            }
        }
    }
}

/// Everything a sending thread needs.
struct Loop<'a> {
    producer: &'a Producer,
    args: &'a ProduceArgs,
    recorder: &'a Arc<Recorder>,
    stop: &'a AtomicBool,
    deadline: Option<Instant>,
    budget: &'a Budget,
    body: Bytes,
}

/// Runs the send threads and reports progress (of `also` too) until they finish; returns
/// the elapsed seconds.
pub(crate) fn drive(
    producer: &Producer,
    args: &ProduceArgs,
    recorder: &Arc<Recorder>,
    stop: &AtomicBool,
    also: Option<Side<'_>>,
) -> f64 {
    let budget = Budget {
        left: args.common.limit.count.map(AtomicU64::new),
    };
    let start = Instant::now();
    let deadline = args.common.limit.duration.map(|d| start + d);
    let body = bench_body(args.size_bytes);
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..args.threads)
            .map(|i| {
                let l = Loop {
                    producer,
                    args,
                    recorder,
                    stop,
                    deadline,
                    budget: &budget,
                    body: body.clone(),
                };
                let window = args.inflight.div_ceil(args.threads);
                std::thread::Builder::new()
                    .name(format!("mqbench-send-{i}"))
                    .spawn_scoped(scope, move || l.run(window))
                    // Invariant: spawning a thread only fails when the OS is out of resources.
                    .expect("spawn a send thread")
            })
            .collect();
        let mut sides = vec![Side {
            role: "produce",
            recorder,
            latencies: &recorder.send_rt,
        }];
        sides.extend(also);
        report_until(&sides, args.common.report_interval_secs, || {
            handles.iter().all(|h| h.is_finished())
        });
    });
    start.elapsed().as_secs_f64()
}

impl Loop<'_> {
    fn run(&self, window: usize) {
        match self.args.mode {
            SendMode::Async => self.run_async(window),
            SendMode::Sync | SendMode::Oneway => self.run_blocking(),
        }
    }

    fn message(&self) -> Message {
        let m = Message::new(self.args.common.topic.as_str(), self.body.clone())
            .with_flag(stamp(wall_us()));
        match &self.args.tags {
            Some(t) => m.with_tags(t.as_str()),
            None => m,
        }
    }

    fn next(&self, want: u64) -> u64 {
        if should_stop(self.stop, self.deadline) {
            return 0;
        }
        self.budget.take(want)
    }

    fn run_blocking(&self) {
        let size = self.body.len() as u64;
        loop {
            let n = self.next(self.args.batch as u64);
            if n == 0 {
                return;
            }
            let begin = Instant::now();
            let result = match self.args.mode {
                SendMode::Oneway => self.producer.send_oneway(self.message()).map(|_| None),
                _ if self.args.batch == 1 => {
                    self.producer.send(self.message()).map(|r| Some(r.status))
                }
                _ => {
                    let msgs = (0..n).map(|_| self.message()).collect();
                    self.producer.send_batch(msgs).map(|r| Some(r.status))
                }
            };
            let rt_us = begin.elapsed().as_micros() as u64;
            match result {
                Ok(None | Some(SendStatus::SendOk)) => {
                    self.recorder.send_rt.record(rt_us);
                    self.recorder.add_ok(n, n * size);
                }
                Ok(Some(status)) => {
                    self.recorder.add_failed(n);
                    self.recorder
                        .note_error(&format!("stored with status {status:?}"));
                }
                Err(e) => {
                    self.recorder.add_failed(n);
                    self.recorder.note_error(&e);
                }
            }
        }
    }

    fn run_async(&self, max_in_flight: usize) {
        let window = Arc::new(Window::new(max_in_flight));
        let size = self.body.len() as u64;
        while self.next(1) == 1 {
            window.acquire();
            let recorder = self.recorder.clone();
            let w = window.clone();
            let begin = Instant::now();
            self.producer
                .send_with_callback(self.message(), move |result| {
                    match result {
                        Ok(r) if r.status == SendStatus::SendOk => {
                            recorder.send_rt.record(begin.elapsed().as_micros() as u64);
                            recorder.add_ok(1, size);
                        }
                        Ok(r) => {
                            recorder.add_failed(1);
                            recorder.note_error(&format!("stored with status {:?}", r.status));
                        }
                        Err(e) => {
                            recorder.add_failed(1);
                            recorder.note_error(&e);
                        }
                    }
                    w.release();
                });
        }
        // Every callback runs (success, failure or timeout); the bound is a safety net.
        let limit = Duration::from_millis(self.args.send_timeout_ms * 3 + 1_000);
        window.drain(limit);
    }
}

/// A bounded window of async sends owned by one sending thread. The sender parks when the
/// window is full and is unparked once, when completions bring it down to the low mark.
struct Window {
    in_flight: AtomicUsize,
    max: usize,
    low: usize,
    waiting: AtomicBool,
    owner: Thread,
}

impl Window {
    fn new(max: usize) -> Window {
        let max = max.max(1);
        Window {
            in_flight: AtomicUsize::new(0),
            max,
            low: max - (max / 4).max(1),
            waiting: AtomicBool::new(false),
            owner: std::thread::current(),
        }
    }

    /// Takes a slot, waiting while the window is full. Called by the owner only.
    fn acquire(&self) {
        if self.in_flight.load(Ordering::SeqCst) >= self.max {
            self.waiting.store(true, Ordering::SeqCst);
            while self.in_flight.load(Ordering::SeqCst) > self.low {
                std::thread::park_timeout(Duration::from_millis(10));
            }
            self.waiting.store(false, Ordering::SeqCst);
        }
        self.in_flight.fetch_add(1, Ordering::SeqCst);
    }

    /// Frees a slot (from a completion callback).
    fn release(&self) {
        let now = self.in_flight.fetch_sub(1, Ordering::SeqCst) - 1;
        if now <= self.low && self.waiting.swap(false, Ordering::SeqCst) {
            self.owner.unpark();
        }
    }

    /// Waits until nothing is in flight, at most `limit`.
    fn drain(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.in_flight.load(Ordering::SeqCst) > 0 && Instant::now() < deadline {
            std::thread::park_timeout(Duration::from_millis(1));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_hands_out_exactly_the_count() {
        let b = Budget {
            left: Some(AtomicU64::new(10)),
        };
        assert_eq!((b.take(4), b.take(4), b.take(4), b.take(4)), (4, 4, 2, 0));
        let unbounded = Budget { left: None };
        assert_eq!(unbounded.take(7), 7);
    }

    #[test]
    fn window_bounds_in_flight_sends() {
        let w = Arc::new(Window::new(8));
        assert_eq!((w.max, w.low), (8, 6));
        for _ in 0..8 {
            w.acquire();
        }
        let releaser = {
            let w = w.clone();
            std::thread::spawn(move || {
                for _ in 0..8 {
                    w.release();
                }
            })
        };
        // Full: returns only after completions bring it down to the low mark.
        w.acquire();
        releaser.join().unwrap();
        assert_eq!(w.in_flight.load(Ordering::SeqCst), 1);
        w.release();
        w.drain(Duration::from_secs(1));
        assert_eq!(w.in_flight.load(Ordering::SeqCst), 0);
        assert_eq!(Window::new(1).low, 0);
    }

    #[test]
    fn body_is_printable_and_sized() {
        let b = bench_body(1000);
        assert_eq!(b.len(), 1000);
        assert!(b.iter().all(|c| (b'!'..=b'~').contains(c)));
        assert_eq!(bench_body(0).len(), 0);
    }

    #[test]
    fn stamp_wraps() {
        assert_eq!(stamp(5), 5);
        assert_eq!(stamp(STAMP_MODULUS + 7), 7);
        assert!(stamp(u64::MAX) >= 0);
    }
}
