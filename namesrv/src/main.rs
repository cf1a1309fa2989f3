//! `mqnamesrv`: starts a NameServer.
//!
//! ```text
//! mqnamesrv [-c namesrv.conf] [-p] [-h]
//! ```
//! `-c` loads a `key=value` file with RocketMQ's key names; `-p` prints the effective
//! configuration and exits. Logging via `RUST_LOG` (default `info`). SIGTERM/SIGINT stop it.

use std::net::TcpListener;
use std::process::ExitCode;

use getopts::Options;
use namesrv::{NamesrvConfig, NamesrvServer};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

fn usage(opts: &Options) -> String {
    opts.usage("Usage: mqnamesrv [-c namesrv.conf] [-p] [-h]")
}

fn load_config(args: &[String]) -> Result<Option<NamesrvConfig>, String> {
    let mut opts = Options::new();
    opts.optopt(
        "c",
        "configFile",
        "NameServer config file (key=value)",
        "FILE",
    );
    opts.optflag(
        "p",
        "printConfigItem",
        "print the effective config and exit",
    );
    opts.optflag("h", "help", "print this help");
    let m = opts
        .parse(args)
        .map_err(|e| format!("{e}\n{}", usage(&opts)))?;
    if m.opt_present("h") {
        println!("{}", usage(&opts));
        return Ok(None);
    }
    let mut config = NamesrvConfig::default();
    if let Some(path) = m.opt_str("c") {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
        let unknown = config
            .apply_properties(&text)
            .map_err(|e| format!("{path}: {e}"))?;
        for key in unknown {
            log::warn!("{path}: unknown key {key} ignored");
        }
    }
    config.validate().map_err(|e| e.to_string())?;
    if m.opt_present("p") {
        print!("{config}");
        return Ok(None);
    }
    Ok(Some(config))
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config = match load_config(&args) {
        Ok(Some(c)) => c,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqnamesrv: {e}");
            return ExitCode::from(2);
        }
    };
    let bind = format!("{}:{}", config.bind_address, config.listen_port);
    let listener = match TcpListener::bind(&bind) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("mqnamesrv: cannot listen on {bind}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut signals = match Signals::new([SIGTERM, SIGINT]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mqnamesrv: cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut server = match NamesrvServer::start(config, listener) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mqnamesrv: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "The Name Server boot success. serializeType=JSON, address {}",
        server.local_addr()
    );
    if let Some(sig) = signals.forever().next() {
        log::info!("signal {sig} received, shutting down");
    }
    match server.shutdown() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqnamesrv: shutdown: {e}");
            ExitCode::FAILURE
        }
    }
}
