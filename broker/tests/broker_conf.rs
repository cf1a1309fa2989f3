//! The shipped `conf/` files load through `apply_broker_conf` into both configurations,
//! validate, and use distinct ports and store directories within each example cluster.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use broker::config::{BrokerConfig, BrokerRole, HostFacts};
use broker::controller::{apply_broker_conf, expand_home};
use broker::store::{FlushDiskType, StoreConfig};

fn conf_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../conf")
}

fn load(path: &Path) -> (BrokerConfig, StoreConfig) {
    let text = std::fs::read_to_string(path).unwrap();
    let mut broker = BrokerConfig::with_host(&HostFacts {
        local_ip: "127.0.0.1".into(),
        ..HostFacts::default()
    });
    let mut store = StoreConfig::default();
    let unknown = apply_broker_conf(&text, &mut broker, &mut store).unwrap();
    assert!(
        unknown.is_empty(),
        "{}: unknown keys {unknown:?}",
        path.display()
    );
    broker
        .validate()
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    store.validate().unwrap();
    (broker, store)
}

#[test]
fn every_example_cluster_runs_on_one_machine() {
    let home = std::env::var("HOME").unwrap_or_default();
    for layout in ["2m-noslave", "2m-2s-async", "2m-2s-sync"] {
        let mut ports = BTreeSet::new();
        let mut stores = BTreeSet::new();
        let mut files: Vec<_> = std::fs::read_dir(conf_dir().join(layout))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        assert!(files.len() >= 2, "{layout}");
        for f in files {
            let (b, s) = load(&f);
            for port in [
                b.listen_port,
                b.fast_listen_port(),
                b.effective_ha_listen_port(),
            ] {
                assert!(ports.insert(port), "{}: port {port} reused", f.display());
            }
            assert!(
                stores.insert(s.store_path_root_dir.clone()),
                "{}",
                f.display()
            );
            assert!(s.store_path_root_dir.starts_with(&home), "$HOME expanded");
            assert_eq!(
                b.store_path_root_dir, s.store_path_root_dir,
                "shared key reaches both"
            );
            assert_eq!(b.namesrv_addrs(), ["127.0.0.1:9876"]);
            let slave = f
                .file_name()
                .unwrap()
                .to_string_lossy()
                .ends_with("-s.properties");
            assert_eq!(b.broker_role == BrokerRole::Slave, slave, "{}", f.display());
            assert_eq!(b.broker_id != 0, slave);
        }
    }
    let (b, s) = load(&conf_dir().join("broker.conf"));
    assert_eq!((b.listen_port, b.broker_name.as_str()), (10911, "broker-a"));
    assert_eq!(s.flush_disk_type, FlushDiskType::AsyncFlush);
    assert_eq!(s.file_reserved_hours, 48);
}

#[test]
fn store_keys_bad_values_and_unknown_keys() {
    let mut broker = BrokerConfig::with_host(&HostFacts::default());
    let mut store = StoreConfig::default();
    let text =
        "mappedFileSizeCommitLog=8192\nbrokerName=x\nnoSuchKey=1\nflushDiskType=SYNC_FLUSH\n";
    let unknown = apply_broker_conf(text, &mut broker, &mut store).unwrap();
    assert_eq!(unknown, ["noSuchKey"]);
    assert_eq!(store.commit_log_segment_bytes, 8192);
    assert_eq!(store.flush_disk_type, FlushDiskType::SyncFlush);
    assert_eq!(
        broker.flush_disk_type,
        broker::config::FlushDiskType::SyncFlush
    );
    assert_eq!(broker.broker_name, "x");
    let err = apply_broker_conf("a=1\nsyncFlushTimeout=soon\n", &mut broker, &mut store)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("line 2") && err.contains("syncFlushTimeout"),
        "{err}"
    );
    assert_eq!(expand_home("~/s", "/h"), "/h/s");
    assert_eq!(expand_home("${HOME}", "/h"), "/h");
    assert_eq!(expand_home("$HOMEWORK/s", "/h"), "$HOMEWORK/s");
    assert_eq!(expand_home("/abs", "/h"), "/abs");
}

/// docs/operations.md documents every key `mqbroker -p` prints (broker and store keys).
#[test]
fn operations_doc_lists_every_config_key() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/operations.md"
    ))
    .expect("docs/operations.md");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_mqbroker"))
        .arg("-p")
        .output()
        .unwrap();
    let printed = String::from_utf8(out.stdout).unwrap();
    let missing: Vec<&str> = printed
        .lines()
        .filter_map(|l| l.split('=').next())
        .filter(|k| !doc.contains(&format!("`{k}`")))
        .collect();
    assert!(missing.is_empty(), "undocumented keys: {missing:?}");
}
