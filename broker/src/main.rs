//! `mqbroker`: starts a broker.
//!
//! ```text
//! mqbroker [-c broker.conf] [-n namesrvAddr] [-p] [-h]
//! ```
//! `-c` loads a `key=value` file with RocketMQ's key names (broker and message-store keys);
//! `-n` overrides `namesrvAddr` (`host:port;host:port`); `-p` prints the effective
//! configuration, store keys included, and exits. Logging via `RUST_LOG` (default `info`).
//! The broker listens on `bindAddress` (default 0.0.0.0) at `listenPort` and `listenPort − 2`
//! and advertises `brokerIP1:listenPort`. SIGTERM/SIGINT shut it down gracefully.

use std::process::ExitCode;

use broker::config::BrokerConfig;
use broker::controller::{apply_broker_conf, store_properties};
use broker::store::StoreConfig;
use broker::{BrokerListeners, BrokerServer};
use getopts::Options;
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

fn usage(opts: &Options) -> String {
    opts.usage("Usage: mqbroker [-c broker.conf] [-n namesrvAddr] [-p] [-h]")
}

/// The effective configuration, or `None` when the command only printed something.
fn load_config(args: &[String]) -> Result<Option<(BrokerConfig, StoreConfig)>, String> {
    let mut opts = Options::new();
    opts.optopt("c", "configFile", "broker config file (key=value)", "FILE");
    opts.optopt(
        "n",
        "namesrvAddr",
        "NameServer addresses, e.g. 192.168.0.1:9876;192.168.0.2:9876",
        "ADDRS",
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
    let mut broker = BrokerConfig::default();
    let mut store = StoreConfig::default();
    if let Some(path) = m.opt_str("c") {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
        let unknown = apply_broker_conf(&text, &mut broker, &mut store)
            .map_err(|e| format!("{path}: {e}"))?;
        for key in unknown {
            log::warn!("{path}: unknown key {key} ignored");
        }
        // UPDATE_BROKER_CONFIG writes changed keys back to this file.
        broker.broker_config_path = Some(std::path::PathBuf::from(&path));
    }
    if let Some(addrs) = m.opt_str("n") {
        broker.namesrv_addr = Some(addrs);
    }
    broker.normalize();
    broker.validate().map_err(|e| e.to_string())?;
    store.validate().map_err(|e| e.to_string())?;
    if m.opt_present("p") {
        print!("{}", print_config(&broker, &store));
        return Ok(None);
    }
    Ok(Some((broker, store)))
}

/// Broker keys followed by the store keys the broker config does not carry, as `key=value`.
fn print_config(broker: &BrokerConfig, store: &StoreConfig) -> String {
    let mut out = broker.to_properties();
    for (key, value) in store_properties(store) {
        if !out
            .lines()
            .any(|l| l.split_once('=').is_some_and(|(k, _)| k == key))
        {
            out.push_str(&format!("{key}={value}\n"));
        }
    }
    out
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (config, store_config) = match load_config(&args) {
        Ok(Some(c)) => c,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqbroker: {e}");
            return ExitCode::from(2);
        }
    };
    let mut signals = match Signals::new([SIGTERM, SIGINT]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mqbroker: cannot install signal handlers: {e}");
            return ExitCode::FAILURE;
        }
    };
    let listeners = match BrokerListeners::bind(&config) {
        Ok(l) => l,
        Err(e) => {
            eprintln!(
                "mqbroker: cannot listen on {}:{}: {e}",
                config.bind_address, config.listen_port
            );
            return ExitCode::FAILURE;
        }
    };
    let namesrv = config.namesrv_addr.clone().unwrap_or_default();
    let mut server = match BrokerServer::start(config, store_config, listeners) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mqbroker: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "The broker[{}, {}] boot success. serializeType=JSON and name server is {namesrv}",
        server.config().broker_name,
        server.broker_addr()
    );
    if let Some(sig) = signals.forever().next() {
        log::info!("signal {sig} received, shutting down");
    }
    match server.shutdown() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mqbroker: shutdown: {e}");
            ExitCode::FAILURE
        }
    }
}
