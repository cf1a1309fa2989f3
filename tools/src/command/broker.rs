//! Broker commands: brokerStatus, getBrokerConfig, updateBrokerConfig. Each takes one broker
//! (`-b addr`) or a whole cluster (`-c name`).

use getopts::{Matches, Options};
use serde_json::{json, Map, Value};

use super::{broker_or_cluster, required, Env, SubCommand, Target};
use crate::admin::AdminClient;
use crate::error::{Error, Result};
use crate::output::{pairs_to_json, Output};

/// Every broker address of a cluster, masters first within each group, groups by name.
fn all_addrs_of_cluster(admin: &AdminClient, cluster: &str) -> Result<Vec<String>> {
    Ok(admin
        .broker_groups_of_cluster(cluster)?
        .into_iter()
        .flat_map(|g| g.broker_addrs.into_values())
        .collect())
}

/// `brokerStatus (-b <brokerAddr> | -c <clusterName>)`.
pub struct BrokerStatus;

impl SubCommand for BrokerStatus {
    fn name(&self) -> &'static str {
        "brokerStatus"
    }

    fn description(&self) -> &'static str {
        "Fetch broker runtime status data"
    }

    fn options(&self, opts: &mut Options) {
        opts.optopt("b", "brokerAddr", "Broker address", "<brokerAddr>");
        opts.optopt("c", "clusterName", "which cluster", "<clusterName>");
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let target = broker_or_cluster(m)?;
        let admin = env.admin(m)?;
        match target {
            Target::Broker(addr) => {
                let table = admin.broker_runtime_info(&addr)?.table;
                let pairs: Vec<(String, String)> = table.into_iter().collect();
                out.pairs(&pairs, ": ");
                out.json(pairs_to_json(&pairs));
            }
            Target::Cluster(cluster) => {
                let addrs = all_addrs_of_cluster(&admin, &cluster)?;
                let width = addrs.iter().map(String::len).max().unwrap_or(0);
                let mut lines = Vec::new();
                let mut doc = Map::new();
                for addr in &addrs {
                    match admin.broker_runtime_info(addr) {
                        Ok(t) => {
                            for (k, v) in &t.table {
                                lines.push((format!("{addr:<width$}  {k}"), v.clone()));
                            }
                            doc.insert(addr.clone(), json!(t.table));
                        }
                        Err(e) => out.warn(e.to_string()),
                    }
                }
                if doc.is_empty() {
                    return Err(Error::Failed(format!(
                        "no broker of cluster {cluster} answered"
                    )));
                }
                out.pairs(&lines, ": ");
                out.json(Value::Object(doc));
            }
        }
        Ok(())
    }
}

/// `getBrokerConfig (-b <brokerAddr> | -c <clusterName>)`.
pub struct GetBrokerConfig;

impl SubCommand for GetBrokerConfig {
    fn name(&self) -> &'static str {
        "getBrokerConfig"
    }

    fn description(&self) -> &'static str {
        "Get broker config by cluster or special broker."
    }

    fn options(&self, opts: &mut Options) {
        opts.optopt("b", "brokerAddr", "get which broker", "<brokerAddr>");
        opts.optopt("c", "clusterName", "get which cluster", "<clusterName>");
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let target = broker_or_cluster(m)?;
        let admin = env.admin(m)?;
        let mut doc = Map::new();
        let mut show = |title: String, addr: &str, out: &mut Output| -> Result<()> {
            let pairs = admin.broker_config(addr)?;
            out.line(title);
            out.pairs(&pairs, "=  ");
            out.line("");
            doc.insert(addr.to_string(), pairs_to_json(&pairs));
            Ok(())
        };
        match target {
            Target::Broker(addr) => show(format!("============{addr}============"), &addr, out)?,
            Target::Cluster(cluster) => {
                for group in admin.broker_groups_of_cluster(&cluster)? {
                    let master = group.select_master_addr().map(str::to_string);
                    if let Some(master) = &master {
                        show(
                            format!("============Master: {master}============"),
                            master,
                            out,
                        )?;
                    }
                    let master_label = master.as_deref().unwrap_or("NO_MASTER");
                    for (_, slave) in group.broker_addrs.iter().filter(|(id, _)| **id != 0) {
                        let title = format!(
                            "============My Master: {master_label}=====Slave: {slave}============"
                        );
                        show(title, slave, out)?;
                    }
                }
            }
        }
        out.json(Value::Object(doc));
        Ok(())
    }
}

/// `updateBrokerConfig (-b <brokerAddr> | -c <clusterName>) -k <key> -v <value>`.
pub struct UpdateBrokerConfig;

impl SubCommand for UpdateBrokerConfig {
    fn name(&self) -> &'static str {
        "updateBrokerConfig"
    }

    fn description(&self) -> &'static str {
        "Update broker's config"
    }

    fn options(&self, opts: &mut Options) {
        opts.optopt("b", "brokerAddr", "update which broker", "<brokerAddr>");
        opts.optopt("c", "clusterName", "update which cluster", "<clusterName>");
        opts.reqopt("k", "key", "config key", "<key>");
        opts.reqopt("v", "value", "config value", "<value>");
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let key = required(m, "k")?;
        let value = required(m, "v")?;
        let target = broker_or_cluster(m)?;
        let admin = env.admin(m)?;
        let entries = [(key.clone(), value.clone())];
        let addrs = match target {
            Target::Broker(addr) => vec![addr],
            Target::Cluster(cluster) => admin.master_addrs_of_cluster(&cluster)?,
        };
        let mut updated = Vec::new();
        let mut failures = Vec::new();
        for addr in &addrs {
            match admin.update_broker_config(addr, &entries) {
                Ok(()) => {
                    out.line(format!("update broker config success, {addr}"));
                    updated.push(addr.clone());
                }
                Err(e) => failures.push(e),
            }
        }
        out.json(json!({"key": key, "value": value, "brokers": updated}));
        match failures.len() {
            0 => Ok(()),
            1 if addrs.len() == 1 => Err(failures.remove(0)),
            _ => {
                for e in &failures {
                    out.warn(e.to_string());
                }
                Err(Error::Failed(format!(
                    "update failed on {} of {} brokers",
                    failures.len(),
                    addrs.len()
                )))
            }
        }
    }
}
