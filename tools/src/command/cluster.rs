//! `clusterList [-m]`: every broker of every cluster with its runtime statistics
//! (GET_BROKER_CLUSTER_INFO, then GET_BROKER_RUNTIME_INFO per broker address). A broker whose
//! statistics cannot be read is listed with blank statistics and a warning, as Java does.

use getopts::{Matches, Options};
use protocol::body::cluster::KvTable;
use protocol::util::clock::now_millis;
use serde_json::{json, Value};

use super::{Env, SubCommand};
use crate::error::Result;
use crate::output::{Output, Table};

/// `clusterList [-m]`.
pub struct ClusterList;

/// One broker address of the cluster table, with its statistics if they could be read.
struct BrokerRow {
    cluster: String,
    broker_name: String,
    broker_id: i64,
    addr: String,
    runtime: Option<KvTable>,
}

impl SubCommand for ClusterList {
    fn name(&self) -> &'static str {
        "clusterList"
    }

    fn description(&self) -> &'static str {
        "List all of clusters"
    }

    fn options(&self, opts: &mut Options) {
        opts.optflag("m", "moreStats", "Print more stats");
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let admin = env.admin(m)?;
        let info = admin.cluster_info()?;
        let mut rows = Vec::new();
        for (cluster, names) in &info.cluster_addr_table {
            for name in names {
                let Some(group) = info.broker_addr_table.get(name) else {
                    continue;
                };
                for (id, addr) in &group.broker_addrs {
                    let runtime = match admin.broker_runtime_info(addr) {
                        Ok(t) => Some(t),
                        Err(e) => {
                            out.warn(format!("no runtime stats from {addr}: {e}"));
                            None
                        }
                    };
                    rows.push(BrokerRow {
                        cluster: cluster.clone(),
                        broker_name: name.clone(),
                        broker_id: *id,
                        addr: addr.clone(),
                        runtime,
                    });
                }
            }
        }
        let now_ms = now_millis() as i64;
        let table = if m.opt_present("m") {
            more_stats_table(&rows)
        } else {
            base_table(&rows, now_ms)
        };
        out.table(&table);
        out.json(Value::Array(rows.iter().map(row_json).collect()));
        Ok(())
    }
}

fn row_json(r: &BrokerRow) -> Value {
    json!({
        "clusterName": r.cluster,
        "brokerName": r.broker_name,
        "brokerId": r.broker_id,
        "addr": r.addr,
        "runtimeInfo": r.runtime.as_ref().map(|t| &t.table),
    })
}

fn get<'a>(t: Option<&'a KvTable>, key: &str) -> &'a str {
    t.and_then(|t| t.table.get(key))
        .map(String::as_str)
        .unwrap_or("")
}

/// The first number of a `"12.5 11.9 10.0"` TPS string, 0 if absent.
fn first_number(s: &str) -> f64 {
    s.split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

fn base_table(rows: &[BrokerRow], now_ms: i64) -> Table {
    let mut table = Table::new(&[
        ("#Cluster Name", "clusterName"),
        ("#Broker Name", "brokerName"),
        ("#BID", "brokerId"),
        ("#Addr", "addr"),
        ("#Version", "version"),
        ("#InTPS(LOAD)", "inTps"),
        ("#OutTPS(LOAD)", "outTps"),
        ("#PCWait(ms)", "pageCacheLockTimeMills"),
        ("#Hour", "hour"),
        ("#SPACE", "space"),
    ]);
    for r in rows {
        table.row(base_cells(r, now_ms));
    }
    table
}

fn base_cells(r: &BrokerRow, now_ms: i64) -> Vec<Value> {
    let t = r.runtime.as_ref();
    let out_tps = match get(t, "getTransferredTps") {
        "" => get(t, "getTransferedTps"),
        v => v,
    };
    let load = |tps: &str, queue: &str, wait: &str| {
        format!(
            "{:9.2}({},{}ms)",
            first_number(tps),
            get(t, queue),
            get(t, wait)
        )
    };
    // An empty store reports 0: no age rather than the hours since 1970.
    let hour = get(t, "earliestMessageTimeStamp")
        .parse::<i64>()
        .ok()
        .filter(|ms| *ms > 0)
        .map_or(0.0, |ms| (now_ms - ms) as f64 / 3_600_000.0);
    let space = get(t, "commitLogDiskRatio").parse::<f64>().unwrap_or(0.0);
    vec![
        json!(r.cluster),
        json!(r.broker_name),
        json!(r.broker_id),
        json!(r.addr),
        json!(get(t, "brokerVersionDesc")),
        json!(load(
            get(t, "putTps"),
            "sendThreadPoolQueueSize",
            "sendThreadPoolQueueHeadWaitTimeMills"
        )),
        json!(load(
            out_tps,
            "pullThreadPoolQueueSize",
            "pullThreadPoolQueueHeadWaitTimeMills"
        )),
        json!(get(t, "pageCacheLockTimeMills")),
        json!(format!("{hour:.2}")),
        json!(format!("{space:.4}")),
    ]
}

fn more_stats_table(rows: &[BrokerRow]) -> Table {
    let mut table = Table::new(&[
        ("#Cluster Name", "clusterName"),
        ("#Broker Name", "brokerName"),
        ("#InTotalYest", "inTotalYest"),
        ("#OutTotalYest", "outTotalYest"),
        ("#InTotalToday", "inTotalToday"),
        ("#OutTotalToday", "outTotalToday"),
    ]);
    for r in rows {
        let t = r.runtime.as_ref();
        let n = |k: &str| get(t, k).parse::<i64>().unwrap_or(0);
        table.row(vec![
            json!(r.cluster),
            json!(r.broker_name),
            json!(n("msgPutTotalTodayMorning") - n("msgPutTotalYesterdayMorning")),
            json!(n("msgGetTotalTodayMorning") - n("msgGetTotalYesterdayMorning")),
            json!(n("msgPutTotalTodayNow") - n("msgPutTotalTodayMorning")),
            json!(n("msgGetTotalTodayNow") - n("msgGetTotalTodayMorning")),
        ]);
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(runtime: Option<KvTable>) -> BrokerRow {
        BrokerRow {
            cluster: "C".into(),
            broker_name: "broker-a".into(),
            broker_id: 0,
            addr: "127.0.0.1:10911".into(),
            runtime,
        }
    }

    #[test]
    fn base_row_reads_the_runtime_table() {
        let mut t = KvTable::default();
        for (k, v) in [
            ("brokerVersionDesc", "V5_3_3"),
            ("putTps", "12.5 11.0 10.0"),
            ("getTransferredTps", "3.25 1 1"),
            ("sendThreadPoolQueueSize", "1"),
            ("sendThreadPoolQueueHeadWaitTimeMills", "2"),
            ("pullThreadPoolQueueSize", "3"),
            ("pullThreadPoolQueueHeadWaitTimeMills", "4"),
            ("pageCacheLockTimeMills", "0"),
            ("earliestMessageTimeStamp", "1"),
            ("commitLogDiskRatio", "0.5"),
        ] {
            t.table.insert(k.into(), v.into());
        }
        let cells = base_cells(&row(Some(t.clone())), 7_200_001);
        let text: Vec<String> = cells.iter().map(crate::output::cell_text).collect();
        assert_eq!(
            text,
            [
                "C",
                "broker-a",
                "0",
                "127.0.0.1:10911",
                "V5_3_3",
                "    12.50(1,2ms)",
                "     3.25(3,4ms)",
                "0",
                "2.00",
                "0.5000"
            ]
        );
        t.table
            .insert("earliestMessageTimeStamp".into(), "0".into());
        let cells = base_cells(&row(Some(t)), 7_200_001);
        assert_eq!(crate::output::cell_text(&cells[8]), "0.00");
    }

    #[test]
    fn unreadable_broker_gets_blank_stats() {
        let text: Vec<String> = base_cells(&row(None), 0)
            .iter()
            .map(crate::output::cell_text)
            .collect();
        assert_eq!(text[4], "");
        assert_eq!(text[5], "     0.00(,ms)");
        let more = more_stats_table(&[row(None)]);
        assert_eq!(more.to_json()[0]["inTotalToday"], json!(0));
    }

    #[test]
    fn more_stats_are_differences() {
        let mut t = KvTable::default();
        for (k, v) in [
            ("msgPutTotalYesterdayMorning", "10"),
            ("msgPutTotalTodayMorning", "15"),
            ("msgPutTotalTodayNow", "22"),
            ("msgGetTotalYesterdayMorning", "1"),
            ("msgGetTotalTodayMorning", "2"),
            ("msgGetTotalTodayNow", "6"),
        ] {
            t.table.insert(k.into(), v.into());
        }
        let table = more_stats_table(&[row(Some(t))]);
        assert_eq!(
            table.to_json()[0],
            json!({"clusterName": "C", "brokerName": "broker-a", "inTotalYest": 5,
                   "outTotalYest": 1, "inTotalToday": 7, "outTotalToday": 4})
        );
    }
}
