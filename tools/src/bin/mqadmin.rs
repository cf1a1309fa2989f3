//! `mqadmin`: RocketMQ-compatible admin command line.
//!
//! ```text
//! mqadmin                       list the commands
//! mqadmin help <command>        options of one command
//! mqadmin <command> [-n <namesrv[;namesrv]>] [--json] [options]
//! ```
//! The NameServer list comes from `-n`, else from `NAMESRV_ADDR`. Exit codes: 0 success,
//! 1 the operation failed, 2 usage error. Logging via `RUST_LOG` (default: warnings only).

use std::io::Write;
use std::process::ExitCode;

use tools::command::{run, Env};

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let env = Env {
        namesrv_addr: std::env::var("NAMESRV_ADDR").ok(),
        ..Env::default()
    };
    let outcome = run(&args, &env);
    // A closed stdout (`mqadmin topicList | head`) is not worth a panic.
    let _ = std::io::stdout().write_all(outcome.stdout.as_bytes());
    let _ = std::io::stderr().write_all(outcome.stderr.as_bytes());
    ExitCode::from(u8::try_from(outcome.code).unwrap_or(1))
}
