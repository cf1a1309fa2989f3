//! `mqbench`: producer / consumer throughput and latency benchmark. See `mqbench help` and
//! [`tools::bench`].
//!
//! ```text
//! mqbench produce -n 127.0.0.1:9876 -t BenchTopic --mode async --size 1024 --duration-secs 10
//! mqbench consume -n 127.0.0.1:9876 -t BenchTopic -g bench_group --from first --count 100000
//! mqbench e2e     -n 127.0.0.1:9876 -t BenchTopic --count 10000 --json
//! ```
//! SIGINT/SIGTERM end the run early; the summary is still printed.

use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use signal_hook::consts::{SIGINT, SIGTERM};

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("error")).init();
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        if let Err(e) = signal_hook::flag::register(sig, stop.clone()) {
            eprintln!("mqbench: cannot install a signal handler: {e}");
        }
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    ExitCode::from(tools::bench::main_with(&args, &stop) as u8)
}
