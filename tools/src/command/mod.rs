//! The [`SubCommand`] trait, the registry of every mqadmin command, and [`run`], which turns an
//! argument vector into stdout, stderr and an exit code (the binary only prints them).
//!
//! Every command gets the common options `-h/--help`, `-n/--namesrvAddr` and `--json` in
//! addition to its own, which use RocketMQ's letters and long names. One file per group:
//!
//! | file | commands |
//! |---|---|
//! | `topic.rs` | updateTopic, deleteTopic, topicList, topicRoute, topicStatus, topicClusterList |
//! | `cluster.rs` | clusterList |
//! | `broker.rs` | brokerStatus, getBrokerConfig, updateBrokerConfig |
//! | `consumer.rs` | consumerProgress, consumerConnection, producerConnection |
//! | `subscription.rs` | updateSubGroup, deleteSubGroup |
//! | `offset.rs` | resetOffsetByTime |
//! | `message.rs` | queryMsgById, queryMsgByKey, queryMsgByUniqueKey, queryMsgByOffset |
//! | `send.rs` | sendMessage |
//! | `message_io.rs` | consumeMessage, printMsg |
//! | `namesrv.rs` | wipeWritePerm, getNamesrvConfig, updateKvConfig, deleteKvConfig |

mod args;
mod broker;
mod cluster;
mod consumer;
mod consumer_status;
mod message;
mod message_io;
mod namesrv;
mod offset;
mod send;
mod subscription;
mod topic;

pub use args::*;

use getopts::{Matches, Options};

use crate::admin::{parse_namesrv_addrs, AdminClient, DEFAULT_TIMEOUT_MS};
use crate::error::{Error, Result, EXIT_OK, EXIT_USAGE};
use crate::output::Output;

/// One mqadmin sub-command (Java `SubCommand`).
pub trait SubCommand {
    /// The name typed on the command line (`updateTopic`).
    fn name(&self) -> &'static str;
    /// One-line description for the command list.
    fn description(&self) -> &'static str;
    /// Adds the command's own options (RocketMQ's letters and long names).
    fn options(&self, opts: &mut Options);
    /// Runs the command; output goes to `out`.
    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()>;
}

/// What a run needs from outside the argument vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// The `NAMESRV_ADDR` environment variable, used when `-n` is absent.
    pub namesrv_addr: Option<String>,
    /// RPC timeout.
    pub timeout_ms: u64,
}

impl Default for Env {
    fn default() -> Self {
        Env {
            namesrv_addr: None,
            timeout_ms: DEFAULT_TIMEOUT_MS,
        }
    }
}

impl Env {
    /// The NameServer list: `-n` wins over `NAMESRV_ADDR`.
    pub fn namesrv_addrs(&self, m: &Matches) -> Vec<String> {
        let value = m.opt_str("n").or_else(|| self.namesrv_addr.clone());
        value
            .as_deref()
            .map(parse_namesrv_addrs)
            .unwrap_or_default()
    }

    /// Starts an admin client for this run.
    pub fn admin(&self, m: &Matches) -> Result<AdminClient> {
        AdminClient::start(self.namesrv_addrs(m), self.timeout_ms)
    }
}

/// Every command, in the order `mqadmin` lists them (RocketMQ's order).
pub fn commands() -> Vec<Box<dyn SubCommand>> {
    vec![
        Box::new(topic::UpdateTopic),
        Box::new(topic::DeleteTopic),
        Box::new(subscription::UpdateSubGroup),
        Box::new(subscription::DeleteSubGroup),
        Box::new(broker::UpdateBrokerConfig),
        Box::new(topic::TopicRoute),
        Box::new(topic::TopicStatus),
        Box::new(topic::TopicClusterList),
        Box::new(broker::BrokerStatus),
        Box::new(message::QueryMsgById),
        Box::new(message::QueryMsgByKey),
        Box::new(message::QueryMsgByUniqueKey),
        Box::new(message::QueryMsgByOffset),
        Box::new(message_io::PrintMsg),
        Box::new(consumer::ProducerConnection),
        Box::new(consumer::ConsumerConnection),
        Box::new(consumer_status::ConsumerStatus),
        Box::new(consumer::ConsumerProgress),
        Box::new(cluster::ClusterList),
        Box::new(topic::TopicList),
        Box::new(namesrv::UpdateKvConfig),
        Box::new(namesrv::DeleteKvConfig),
        Box::new(namesrv::WipeWritePerm),
        Box::new(offset::ResetOffsetByTime),
        Box::new(namesrv::GetNamesrvConfig),
        Box::new(broker::GetBrokerConfig),
        Box::new(send::SendMessage),
        Box::new(message_io::ConsumeMessage),
    ]
}

/// Finds a command by name, ignoring ASCII case (as Java does).
pub fn find(name: &str) -> Option<Box<dyn SubCommand>> {
    commands()
        .into_iter()
        .find(|c| c.name().eq_ignore_ascii_case(name))
}

/// The full option set of `cmd`: common options plus its own.
pub fn options_of(cmd: &dyn SubCommand) -> Options {
    let mut opts = Options::new();
    opts.optflag("h", "help", "Print help");
    opts.optopt(
        "n",
        "namesrvAddr",
        "Name server address list, eg: '192.168.0.1:9876;192.168.0.2:9876'",
        "<namesrvAddr>",
    );
    opts.optflag(
        "",
        "json",
        "Print the result as one JSON document (for scripts)",
    );
    cmd.options(&mut opts);
    opts
}

/// The help text of `cmd`.
pub fn usage_of(cmd: &dyn SubCommand) -> String {
    let opts = options_of(cmd);
    let program = format!("mqadmin {}", cmd.name());
    let brief = format!("{}\n\n{}", opts.short_usage(&program), cmd.description());
    opts.usage(&brief)
}

/// The command list printed by `mqadmin` without arguments.
pub fn command_list() -> String {
    let cmds = commands();
    let width = cmds.iter().map(|c| c.name().len()).max().unwrap_or(0);
    let mut s = String::from("The most commonly used mqadmin commands are:\n");
    for c in &cmds {
        s.push_str(&format!("   {:<width$}  {}\n", c.name(), c.description()));
    }
    s.push_str("\nSee 'mqadmin help <command>' for more information on a specific command.\n");
    s
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOutcome {
    /// Process exit code (0 ok, 1 failed, 2 usage).
    pub code: i32,
    /// Text for stdout.
    pub stdout: String,
    /// Text for stderr.
    pub stderr: String,
}

impl RunOutcome {
    fn ok(stdout: String) -> Self {
        RunOutcome {
            code: EXIT_OK,
            stdout,
            stderr: String::new(),
        }
    }

    fn usage(stderr: String) -> Self {
        RunOutcome {
            code: EXIT_USAGE,
            stdout: String::new(),
            stderr,
        }
    }
}

/// Runs `mqadmin` with `args` (without the program name).
pub fn run(args: &[String], env: &Env) -> RunOutcome {
    match args.first().map(String::as_str) {
        None => RunOutcome::ok(command_list()),
        Some("help") | Some("-h") | Some("--help") => match args.get(1) {
            None => RunOutcome::ok(command_list()),
            Some(name) => match find(name) {
                Some(cmd) => RunOutcome::ok(usage_of(cmd.as_ref())),
                None => RunOutcome::usage(not_exist(name)),
            },
        },
        Some(name) => match find(name) {
            Some(cmd) => run_command(cmd.as_ref(), &args[1..], env),
            None => RunOutcome::usage(not_exist(name)),
        },
    }
}

fn not_exist(name: &str) -> String {
    format!("The sub command {name} not exist.\nRun 'mqadmin' to list the commands.\n")
}

fn wants_help(args: &[String]) -> bool {
    args.iter().any(|a| a == "-h" || a == "--help")
}

/// Parses `args` for `cmd` and runs it.
pub fn run_command(cmd: &dyn SubCommand, args: &[String], env: &Env) -> RunOutcome {
    // `-h` wins over missing required options, but a value that happens to be "-h"
    // (`sendMessage -p -h`) is a value when the arguments parse.
    let m = match parse_args(cmd, args) {
        Ok(m) if m.opt_present("h") => return RunOutcome::ok(usage_of(cmd)),
        Ok(m) => m,
        Err(_) if wants_help(args) => return RunOutcome::ok(usage_of(cmd)),
        Err(e) => return RunOutcome::usage(format!("{e}\n{}", usage_of(cmd))),
    };
    let mut out = Output::new(m.opt_present("json"));
    let result = cmd.execute(env, &m, &mut out);
    let mut stderr = String::new();
    for w in out.take_warnings() {
        stderr.push_str(&format!("mqadmin {}: warning: {w}\n", cmd.name()));
    }
    let stdout = out.into_stdout();
    match result {
        Ok(()) => RunOutcome {
            code: EXIT_OK,
            stdout,
            stderr,
        },
        Err(e) => {
            stderr.push_str(&format!("mqadmin {}: {e}\n", cmd.name()));
            if let Error::Usage(_) = e {
                stderr.push_str(&usage_of(cmd));
            }
            RunOutcome {
                code: e.exit_code(),
                stdout,
                stderr,
            }
        }
    }
}

/// Parses `args` with `cmd`'s options; stray positional arguments are a usage error.
pub fn parse_args(cmd: &dyn SubCommand, args: &[String]) -> Result<Matches> {
    let m = options_of(cmd)
        .parse(args)
        .map_err(|e| Error::usage(format!("mqadmin {}: {e}", cmd.name())))?;
    if let Some(extra) = m.free.first() {
        return Err(Error::usage(format!(
            "mqadmin {}: unexpected argument '{extra}'",
            cmd.name()
        )));
    }
    Ok(m)
}

/// A route for unit tests: broker-a (master only, read-only, 2 queues) and broker-b (slave
/// only, read-write, 1 queue).
#[cfg(test)]
pub(crate) fn test_route() -> protocol::body::route::TopicRouteData {
    use protocol::body::route::{BrokerData, QueueData, TopicRouteData};
    let mut a = BrokerData::new("C", "broker-a");
    a.broker_addrs.insert(0, "10.0.0.1:10911".into());
    let mut b = BrokerData::new("C", "broker-b");
    b.broker_addrs.insert(1, "10.0.0.2:10911".into());
    TopicRouteData {
        broker_datas: vec![a, b],
        queue_datas: vec![
            QueueData {
                broker_name: "broker-b".into(),
                perm: 6,
                read_queue_nums: 1,
                write_queue_nums: 1,
                topic_sys_flag: 0,
            },
            QueueData {
                broker_name: "broker-a".into(),
                perm: 4,
                read_queue_nums: 2,
                write_queue_nums: 2,
                topic_sys_flag: 0,
            },
        ],
        ..Default::default()
    }
}
