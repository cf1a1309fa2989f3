use std::sync::Arc;

use super::*;

fn within(value: u64, expected: u64) -> bool {
    // 3 significant figures: at most 0.1 % off, plus one unit.
    value.abs_diff(expected) <= expected / 1000 + 1
}

#[test]
fn percentiles_of_a_uniform_range() {
    let h = StripedHistogram::default();
    for v in 1..=10_000 {
        h.record(v);
    }
    let s = LatencySummary::of(&h.merged()).unwrap();
    assert_eq!(s.count, 10_000);
    assert!(within(s.p50_us, 5_000), "{s:?}");
    assert!(within(s.p90_us, 9_000), "{s:?}");
    assert!(within(s.p99_us, 9_900), "{s:?}");
    assert!(within(s.p999_us, 9_990), "{s:?}");
    assert!(within(s.max_us, 10_000), "{s:?}");
    assert!((s.mean_us - 5_000.5).abs() < 10.0, "{s:?}");
}

#[test]
fn record_all_equals_single_records() {
    let (one, all) = (StripedHistogram::default(), StripedHistogram::default());
    let values = [0, 5, 50, 500, 5_000, u64::MAX];
    for v in values {
        one.record(v);
    }
    all.record_all(values);
    assert_eq!(one.merged(), all.merged());
    assert_eq!(all.merged().len(), 6);
}

#[test]
fn empty_histogram_has_no_summary() {
    assert_eq!(
        LatencySummary::of(&StripedHistogram::default().merged()),
        None
    );
}

#[test]
fn out_of_range_values_are_clamped() {
    let h = StripedHistogram::default();
    h.record(0);
    h.record(u64::MAX);
    let merged = h.merged();
    assert_eq!(merged.len(), 2);
    assert_eq!(merged.min(), 1);
    assert!(within(merged.max(), MAX_LATENCY_US));
}

#[test]
fn concurrent_recorders_lose_nothing() {
    let r = Arc::new(Recorder::default());
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let r = r.clone();
            std::thread::spawn(move || {
                for i in 0..5_000u64 {
                    r.send_rt.record(1 + (i + t) % 100);
                    r.add_ok(1, 10);
                }
                r.add_failed(3);
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let s = Summary::of("produce", &r, 2.0);
    assert_eq!(
        s.counters,
        Counters {
            messages: 20_000,
            bytes: 200_000,
            failures: 12
        }
    );
    assert_eq!(s.send_rt.unwrap().count, 20_000);
    assert_eq!(s.e2e, None);
    assert_eq!(s.tps(), 10_000.0);
}

#[test]
fn rates_and_json() {
    let r = Recorder::default();
    r.add_ok(1_000, 1_024_000);
    r.add_failed(2);
    for v in [100, 200, 300, 400] {
        r.e2e.record(v);
    }
    let s = Summary::of("consume", &r, 0.5);
    let j = s.to_json(json!({"topic": "T"}));
    assert_eq!(j["role"], "consume");
    assert_eq!(j["params"]["topic"], "T");
    assert_eq!(j["messages"], 1000);
    assert_eq!(j["failures"], 2);
    assert_eq!(j["tps"], 2000.0);
    assert_eq!(j["mb_per_s"], 2.05);
    assert!(j["send_rt_us"].is_null());
    assert_eq!(j["e2e_latency_us"]["count"], 4);
    assert_eq!(j["e2e_latency_us"]["p50"], 200);
    assert_eq!(j["e2e_latency_us"]["max"], 400);
    let text = s.to_string();
    assert!(text.contains("1000 messages, 2 failures"), "{text}");
    assert!(text.contains("2000 msg/s"), "{text}");
    assert!(text.contains("end-to-end latency us: p50 200"), "{text}");
}

#[test]
fn zero_span_has_zero_rates() {
    let c = Counters {
        messages: 5,
        bytes: 5,
        failures: 0,
    };
    assert_eq!(rates(c, 0.0), (0.0, 0.0));
}

#[test]
fn progress_line_uses_the_interval_delta() {
    let before = Counters {
        messages: 1_000,
        bytes: 1_000_000,
        failures: 1,
    };
    let now = Counters {
        messages: 7_000,
        bytes: 7_000_000,
        failures: 4,
    };
    let line = progress_line("produce", now, before, 2.0, Some(57));
    assert_eq!(
        line,
        "[produce] 3000 msg/s 3.00 MB/s | total 7000 failures 4 | p99 so far 57 us"
    );
    assert!(progress_line("consume", now, now, 1.0, None).contains("p99 so far - us"));
}
