//! The `mqbroker` binary: `-p` prints broker and store keys with `-n` applied, and a started
//! broker announces "boot success", serves, and shuts down cleanly on SIGTERM.

mod broker_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use broker_support::*;
use protocol::message::Properties;

const BIN: &str = env!("CARGO_BIN_EXE_mqbroker");

#[test]
fn print_config_merges_file_and_command_line() {
    let conf = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf/broker.conf");
    let out = Command::new(BIN)
        .args(["-c", conf.to_str().unwrap(), "-n", "10.1.2.3:9876", "-p"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    for line in [
        "namesrvAddr=10.1.2.3:9876",
        "brokerName=broker-a",
        "fileReservedTime=48",
        "mappedFileSizeCommitLog=1073741824",
        "flushIntervalCommitLog=500",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line}:\n{text}");
    }
    let bad = Command::new(BIN).args(["-x"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn boots_serves_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("b.conf");
    let store = dir.path().join("store");
    let text = format!(
        "brokerName=cli\nbrokerIP1=127.0.0.1\nbindAddress=127.0.0.1\nlistenPort=0\nstorePathRootDir={}\nmappedFileSizeCommitLog=1048576\n",
        store.display()
    );
    std::fs::write(&conf, text).unwrap();
    let mut child = Command::new(BIN)
        .args(["-c", conf.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // listenPort=0: the kernel picks the port (no fast port then); the boot line names it.
    let prefix = "The broker[cli, ";
    assert!(
        line.starts_with(prefix) && line.contains("] boot success."),
        "{line}"
    );
    let addr = line[prefix.len()..line.find(']').unwrap()].to_string();
    assert!(
        addr.starts_with("127.0.0.1:") && !addr.ends_with(":0"),
        "{addr}"
    );
    assert!(store.join("abort").exists());
    let c = client();
    assert_eq!(
        send(&c, &addr, "CliT", 0, &Properties::new(), b"hi").code,
        0
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(
        !store.join("abort").exists(),
        "clean shutdown removes the abort file"
    );
    assert!(
        store.join("config/topics.json").exists(),
        "tables persisted"
    );
}
