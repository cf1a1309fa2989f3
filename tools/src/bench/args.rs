//! Command-line parsing of `mqbench`: sub-command, options and their defaults. Pure: no I/O.

use std::time::Duration;

use client::ConsumeFrom;
use getopts::{Matches, Options};

use super::Error;

/// Run length when neither `--duration-secs` nor `--count` is given.
pub const DEFAULT_DURATION_SECS: f64 = 10.0;

/// How the producer sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMode {
    /// `Producer::send` / `send_batch`: wait for each answer.
    Sync,
    /// `Producer::send_with_callback` with a bounded window of sends in flight.
    Async,
    /// `Producer::send_oneway`: no answer.
    Oneway,
}

impl SendMode {
    /// The name used on the command line and in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            SendMode::Sync => "sync",
            SendMode::Async => "async",
            SendMode::Oneway => "oneway",
        }
    }
}

/// When a run stops: after `duration`, after `count` messages, whichever comes first.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    /// Wall-clock bound.
    pub duration: Option<Duration>,
    /// Message-count bound.
    pub count: Option<u64>,
}

/// Options shared by every sub-command.
#[derive(Debug, Clone, PartialEq)]
pub struct CommonArgs {
    /// NameServer addresses (`;`-separated).
    pub namesrv: String,
    /// The topic.
    pub topic: String,
    /// Stop condition.
    pub limit: Limit,
    /// Print one JSON object at the end instead of the text summary.
    pub json: bool,
    /// Seconds between progress lines (0 disables them).
    pub report_interval_secs: f64,
}

/// `mqbench produce` options.
#[derive(Debug, Clone, PartialEq)]
pub struct ProduceArgs {
    /// Shared options.
    pub common: CommonArgs,
    /// Producer group.
    pub group: String,
    /// Sending threads.
    pub threads: usize,
    /// Body size of each message.
    pub size_bytes: usize,
    /// Messages per `send_batch` request (1 = single sends).
    pub batch: usize,
    /// Sync, async or one-way.
    pub mode: SendMode,
    /// Async sends in flight at most, over all threads.
    pub inflight: usize,
    /// Tag of every message.
    pub tags: Option<String>,
    /// Send timeout per request.
    pub send_timeout_ms: u64,
}

/// `mqbench consume` options.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumeArgs {
    /// Shared options.
    pub common: CommonArgs,
    /// Consumer group.
    pub group: String,
    /// Tag expression of the subscription.
    pub expression: String,
    /// Where a new group starts.
    pub from: ConsumeFrom,
    /// Consume (listener) threads.
    pub threads: usize,
    /// Messages per pull request.
    pub pull_batch: i32,
    /// Messages per listener call.
    pub consume_batch: usize,
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `mqbench produce ...`
    Produce(ProduceArgs),
    /// `mqbench consume ...`
    Consume(ConsumeArgs),
    /// `mqbench e2e ...`: a consumer and a producer in one process.
    E2e(ProduceArgs, ConsumeArgs),
    /// `mqbench help` / `-h`: print this text.
    Help(String),
}

fn common_options(opts: &mut Options) {
    opts.optopt(
        "n",
        "namesrv",
        "NameServer addresses, a;b (default $NAMESRV_ADDR or 127.0.0.1:9876)",
        "ADDRS",
    );
    opts.optopt("t", "topic", "topic (default BenchmarkTest)", "TOPIC");
    opts.optopt(
        "",
        "duration-secs",
        "run this long (default 10 unless --count)",
        "S",
    );
    opts.optopt("", "count", "stop after this many messages", "N");
    opts.optflag("", "json", "print one JSON object at the end");
    opts.optopt(
        "",
        "report-interval-secs",
        "seconds between progress lines, 0 = none (default 3)",
        "S",
    );
    opts.optflag("h", "help", "print this help");
}

fn produce_options(opts: &mut Options) {
    opts.optopt("", "threads", "sending threads (default 1)", "N");
    opts.optopt("", "size", "body bytes (default 1024)", "BYTES");
    opts.optopt(
        "",
        "batch",
        "messages per batch request, sync mode (default 1)",
        "N",
    );
    opts.optopt("", "mode", "sync | async | oneway (default sync)", "MODE");
    opts.optopt(
        "",
        "inflight",
        "async sends in flight over all threads (default 1024)",
        "N",
    );
    opts.optopt("", "tags", "tag of every message", "TAG");
    opts.optopt(
        "",
        "producer-group",
        "producer group (default mqbench_producer)",
        "GROUP",
    );
    opts.optopt("", "send-timeout-ms", "send timeout (default 3000)", "MS");
}

fn consume_options(opts: &mut Options, threads_flag: &str) {
    opts.optopt(
        "g",
        "group",
        "consumer group (default mqbench_consumer_<pid>)",
        "GROUP",
    );
    opts.optopt("", "expression", "tag expression (default *)", "EXPR");
    opts.optopt(
        "",
        "from",
        "first | last: where a new group starts (default last)",
        "WHERE",
    );
    opts.optopt("", threads_flag, "consume threads (default 4)", "N");
    opts.optopt("", "pull-batch", "messages per pull (default 32)", "N");
    opts.optopt(
        "",
        "consume-batch",
        "messages per listener call (default 32)",
        "N",
    );
}

/// Parses `mqbench ARGS` (without the program name). `env_namesrv` is `$NAMESRV_ADDR`.
pub fn parse(args: &[String], env_namesrv: Option<&str>) -> Result<Command, Error> {
    let Some((sub, rest)) = args.split_first() else {
        return Err(Error::Usage(usage()));
    };
    let mut opts = Options::new();
    common_options(&mut opts);
    match sub.as_str() {
        "produce" => produce_options(&mut opts),
        "consume" => consume_options(&mut opts, "threads"),
        "e2e" => {
            produce_options(&mut opts);
            consume_options(&mut opts, "consume-threads");
        }
        "help" | "-h" | "--help" => return Ok(Command::Help(usage())),
        other => {
            return Err(Error::Usage(format!(
                "unknown command {other:?}\n{}",
                usage()
            )))
        }
    }
    let m = opts
        .parse(rest)
        .map_err(|e| Error::Usage(format!("{e}\n{}", sub_usage(sub, &opts))))?;
    if m.opt_present("h") {
        return Ok(Command::Help(sub_usage(sub, &opts)));
    }
    if !m.free.is_empty() {
        return Err(Error::Usage(format!("unexpected argument {:?}", m.free[0])));
    }
    let common = parse_common(&m, env_namesrv)?;
    match sub.as_str() {
        "produce" => Ok(Command::Produce(parse_produce(&m, common)?)),
        "consume" => Ok(Command::Consume(parse_consume(&m, common, "threads")?)),
        _ => {
            let produce = parse_produce(&m, common.clone())?;
            let mut consume = parse_consume(&m, common, "consume-threads")?;
            consume.from = ConsumeFrom::FirstOffset;
            Ok(Command::E2e(produce, consume))
        }
    }
}

/// The overview printed by `mqbench help`.
pub fn usage() -> String {
    "Usage: mqbench <produce|consume|e2e> [options]   (mqbench <command> -h for the options)\n\
     \n  produce   send messages (sync, async with a bounded window, one-way, or batches)\
     \n  consume   consume with a push consumer; end-to-end latency from the born timestamp\
     \n  e2e       a consumer and a producer in one process\n"
        .to_string()
}

fn sub_usage(sub: &str, opts: &Options) -> String {
    opts.usage(&format!("Usage: mqbench {sub} [options]"))
}

fn num<T: std::str::FromStr>(m: &Matches, name: &str, default: T) -> Result<T, Error> {
    match m.opt_str(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| Error::Usage(format!("--{name}: {v:?} is not a valid number"))),
    }
}

fn positive(m: &Matches, name: &str, default: usize) -> Result<usize, Error> {
    let v = num(m, name, default)?;
    if v == 0 {
        return Err(Error::Usage(format!("--{name} must be positive")));
    }
    Ok(v)
}

fn parse_common(m: &Matches, env_namesrv: Option<&str>) -> Result<CommonArgs, Error> {
    let namesrv = m
        .opt_str("n")
        .or_else(|| env_namesrv.map(str::to_string))
        .unwrap_or_else(|| "127.0.0.1:9876".to_string());
    let count: Option<u64> = m
        .opt_str("count")
        .map(|v| {
            v.parse()
                .map_err(|_| Error::Usage(format!("--count: {v:?} is not a count")))
        })
        .transpose()?;
    let duration_secs: Option<f64> = m
        .opt_str("duration-secs")
        .map(|v| {
            v.parse()
                .map_err(|_| Error::Usage(format!("--duration-secs: {v:?} is not a number")))
        })
        .transpose()?;
    if duration_secs.is_some_and(|s| !(s > 0.0 && s.is_finite())) {
        return Err(Error::Usage("--duration-secs must be positive".into()));
    }
    if count == Some(0) {
        return Err(Error::Usage("--count must be positive".into()));
    }
    let duration_secs = match (duration_secs, count) {
        (None, None) => Some(DEFAULT_DURATION_SECS),
        (d, _) => d,
    };
    let report_interval_secs: f64 = num(m, "report-interval-secs", 3.0)?;
    if !(report_interval_secs >= 0.0 && report_interval_secs.is_finite()) {
        return Err(Error::Usage("--report-interval-secs must be >= 0".into()));
    }
    Ok(CommonArgs {
        namesrv,
        topic: m
            .opt_str("t")
            .unwrap_or_else(|| "BenchmarkTest".to_string()),
        limit: Limit {
            duration: duration_secs.map(Duration::from_secs_f64),
            count,
        },
        json: m.opt_present("json"),
        report_interval_secs,
    })
}

fn parse_produce(m: &Matches, common: CommonArgs) -> Result<ProduceArgs, Error> {
    let mode = match m.opt_str("mode").as_deref() {
        None | Some("sync") => SendMode::Sync,
        Some("async") => SendMode::Async,
        Some("oneway") => SendMode::Oneway,
        Some(other) => {
            return Err(Error::Usage(format!(
                "--mode: {other:?} is not sync, async or oneway"
            )))
        }
    };
    let batch = positive(m, "batch", 1)?;
    if batch > 1 && mode != SendMode::Sync {
        return Err(Error::Usage(
            "--batch needs --mode sync (batches are sent with send_batch; add --threads)".into(),
        ));
    }
    let threads = positive(m, "threads", 1)?;
    Ok(ProduceArgs {
        common,
        group: m
            .opt_str("producer-group")
            .unwrap_or_else(|| "mqbench_producer".into()),
        threads,
        size_bytes: num(m, "size", 1024)?,
        batch,
        mode,
        inflight: positive(m, "inflight", 1024)?.max(threads),
        tags: m.opt_str("tags"),
        send_timeout_ms: positive(m, "send-timeout-ms", 3000)? as u64,
    })
}

fn parse_consume(
    m: &Matches,
    common: CommonArgs,
    threads_flag: &str,
) -> Result<ConsumeArgs, Error> {
    let from = match m.opt_str("from").as_deref() {
        None | Some("last") => ConsumeFrom::LastOffset,
        Some("first") => ConsumeFrom::FirstOffset,
        Some(other) => {
            return Err(Error::Usage(format!(
                "--from: {other:?} is not first or last"
            )))
        }
    };
    let pull_batch = positive(m, "pull-batch", 32)?;
    Ok(ConsumeArgs {
        common,
        group: m
            .opt_str("g")
            .unwrap_or_else(|| format!("mqbench_consumer_{}", std::process::id())),
        expression: m.opt_str("expression").unwrap_or_else(|| "*".into()),
        from,
        threads: positive(m, threads_flag, 4)?,
        pull_batch: i32::try_from(pull_batch)
            .map_err(|_| Error::Usage("--pull-batch is too large".into()))?,
        consume_batch: positive(m, "consume-batch", 32)?,
    })
}

#[cfg(test)]
#[path = "args_tests.rs"]
mod tests;
