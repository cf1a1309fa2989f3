//! `mqbench`: throughput and latency benchmarks of producers and consumers, in the spirit of
//! RocketMQ's `benchmark/` tools and Kafka's `*-perf-test`. Only the normal client APIs are
//! used, so any RocketMQ-protocol broker can be measured.
//!
//! | module | owns |
//! |---|---|
//! | [`args`] | the command line: sub-commands, options, defaults |
//! | [`producer`] | the send loops (sync, async with a bounded window, one-way, batch) |
//! | [`consumer`] | the push-consumer run, end-to-end latency, the `e2e` orchestration |
//! | [`stats`] | counters, striped HDR histograms, summaries (text and JSON), progress lines |
//!
//! Progress lines go to stderr every `--report-interval-secs`; the summary (or with `--json`
//! one JSON object) goes to stdout.

pub mod args;
pub mod consumer;
pub mod producer;
pub mod stats;

use std::fmt;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

pub use args::{Command, ConsumeArgs, ProduceArgs, SendMode};
use stats::{progress_line, Counters, Recorder, StripedHistogram};

/// Why `mqbench` failed.
#[derive(Debug)]
pub enum Error {
    /// A bad command line; the text includes the usage.
    Usage(String),
    /// The client could not start or a setup call failed.
    Client(client::Error),
    /// The run finished but did not do what it had to (e.g. messages were not consumed).
    Incomplete(String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(text) => write!(f, "{text}"),
            Error::Client(e) => write!(f, "client error: {e}"),
            Error::Incomplete(what) => write!(f, "incomplete run: {what}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<client::Error> for Error {
    fn from(e: client::Error) -> Self {
        Error::Client(e)
    }
}

/// What a finished run produced: the JSON object and the text summary, and whether it fully
/// succeeded (no failed sends; in `e2e`, every sent message consumed).
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The `--json` output.
    pub json: Value,
    /// The text summary.
    pub text: String,
    /// No failures and nothing missing.
    pub ok: bool,
}

/// Runs a parsed command until its limit or until `stop` is set (e.g. by SIGINT).
pub fn run(command: &Command, stop: &AtomicBool) -> Result<Outcome, Error> {
    match command {
        Command::Help(text) => Ok(Outcome {
            json: Value::Null,
            text: text.clone(),
            ok: true,
        }),
        Command::Produce(p) => producer::run_produce(p, stop),
        Command::Consume(c) => consumer::run_consume(c, stop),
        Command::E2e(p, c) => consumer::run_e2e(p, c, stop),
    }
}

/// The whole `mqbench` program minus signal setup: parses `args`, runs, prints. Returns the
/// process exit code (0 ok, 1 failed or incomplete run, 2 usage error).
pub fn main_with(args: &[String], stop: &AtomicBool) -> i32 {
    let env = std::env::var("NAMESRV_ADDR").ok();
    let command = match args::parse(args, env.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("mqbench: {e}");
            return 2;
        }
    };
    let json = match &command {
        Command::Produce(p) => p.common.json,
        Command::Consume(c) => c.common.json,
        Command::E2e(p, _) => p.common.json,
        Command::Help(_) => false,
    };
    match run(&command, stop) {
        Ok(outcome) => {
            let mut out = std::io::stdout().lock();
            let _ = if json {
                writeln!(out, "{}", outcome.json)
            } else {
                write!(out, "{}", outcome.text)
            };
            if outcome.ok {
                0
            } else {
                1
            }
        }
        Err(e) => {
            eprintln!("mqbench: {e}");
            1
        }
    }
}

/// A side of a run whose progress is reported: its name, recorder and the histogram whose
/// p99 is shown.
pub(crate) struct Side<'a> {
    pub(crate) role: &'static str,
    pub(crate) recorder: &'a Recorder,
    pub(crate) latencies: &'a StripedHistogram,
}

/// Prints progress lines every `interval_secs` (0: never) until `done()` holds; polls `done`
/// every 20 ms.
pub(crate) fn report_until(sides: &[Side<'_>], interval_secs: f64, mut done: impl FnMut() -> bool) {
    let mut before: Vec<Counters> = sides.iter().map(|s| s.recorder.counters()).collect();
    let mut last = Instant::now();
    while !done() {
        std::thread::sleep(Duration::from_millis(20));
        let elapsed = last.elapsed().as_secs_f64();
        if interval_secs <= 0.0 || elapsed < interval_secs {
            continue;
        }
        last = Instant::now();
        for (side, prev) in sides.iter().zip(before.iter_mut()) {
            let now = side.recorder.counters();
            let p99 = stats::LatencySummary::of(&side.latencies.merged()).map(|s| s.p99_us);
            eprintln!("{}", progress_line(side.role, now, *prev, elapsed, p99));
            *prev = now;
        }
    }
}

/// True when `stop` is set or `deadline` has passed.
pub(crate) fn should_stop(stop: &AtomicBool, deadline: Option<Instant>) -> bool {
    stop.load(Ordering::Relaxed) || deadline.is_some_and(|d| Instant::now() >= d)
}
