//! NameServer commands: wipeWritePerm, getNamesrvConfig, updateKvConfig, deleteKvConfig. The
//! writes go to every configured NameServer, as Java's admin does.

use getopts::{Matches, Options};
use protocol::util::properties_file;
use serde_json::{json, Map, Value};

use super::{required, Env, SubCommand};
use crate::error::{Error, Result};
use crate::output::{pairs_to_json, Output};

/// `wipeWritePerm -b <brokerName>`.
pub struct WipeWritePerm;

impl SubCommand for WipeWritePerm {
    fn name(&self) -> &'static str {
        "wipeWritePerm"
    }

    fn description(&self) -> &'static str {
        "Wipe write perm of broker in all name server"
    }

    fn options(&self, opts: &mut Options) {
        opts.reqopt("b", "brokerName", "broker name", "<brokerName>");
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let broker = required(m, "b")?;
        let admin = env.admin(m)?;
        let mut results = Vec::new();
        let mut failed = 0;
        for ns in admin.require_namesrv()? {
            match admin.wipe_write_perm(ns, &broker) {
                Ok(count) => {
                    out.line(format!(
                        "wipe write perm of broker[{broker}] in name server[{ns}] OK, {count}"
                    ));
                    results.push(json!({"namesrv": ns, "ok": true, "wipeTopicCount": count}));
                }
                Err(e) => {
                    failed += 1;
                    out.line(format!(
                        "wipe write perm of broker[{broker}] in name server[{ns}] Failed: {e}"
                    ));
                    results.push(json!({"namesrv": ns, "ok": false, "error": e.to_string()}));
                }
            }
        }
        out.json(Value::Array(results));
        if failed > 0 {
            return Err(Error::Failed(format!(
                "wipe write perm failed on {failed} name server(s)"
            )));
        }
        Ok(())
    }
}

/// `getNamesrvConfig` (the `-n` list decides which NameServers are asked).
pub struct GetNamesrvConfig;

impl SubCommand for GetNamesrvConfig {
    fn name(&self) -> &'static str {
        "getNamesrvConfig"
    }

    fn description(&self) -> &'static str {
        "Get configs of name server."
    }

    fn options(&self, _opts: &mut Options) {}

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let admin = env.admin(m)?;
        let mut doc = Map::new();
        for ns in admin.require_namesrv()? {
            let text = admin.namesrv_config(ns)?;
            let pairs = parse_properties(ns, &text)?;
            out.line(format!("============{ns}============"));
            out.pairs(&pairs, "=  ");
            doc.insert(ns.clone(), pairs_to_json(&pairs));
        }
        out.json(Value::Object(doc));
        Ok(())
    }
}

/// Parses a properties body into pairs, keeping the server's order.
pub(crate) fn parse_properties(addr: &str, text: &str) -> Result<Vec<(String, String)>> {
    let props = properties_file::parse(text).map_err(|e| Error::Decode {
        addr: addr.to_string(),
        detail: format!("config text: {e}"),
    })?;
    Ok(props.into_iter().map(|p| (p.key, p.value)).collect())
}

/// `updateKvConfig -s <namespace> -k <key> -v <value>`.
pub struct UpdateKvConfig;

impl SubCommand for UpdateKvConfig {
    fn name(&self) -> &'static str {
        "updateKvConfig"
    }

    fn description(&self) -> &'static str {
        "Create or update KV config."
    }

    fn options(&self, opts: &mut Options) {
        opts.reqopt("s", "namespace", "set the namespace", "<namespace>");
        opts.reqopt("k", "key", "set the key name", "<key>");
        opts.reqopt("v", "value", "set the key value", "<value>");
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let namespace = required(m, "s")?;
        let key = required(m, "k")?;
        let value = required(m, "v")?;
        let admin = env.admin(m)?;
        admin.put_kv_config(&namespace, &key, &value)?;
        out.line("create or update kv config to namespace success.");
        out.json(json!({
            "namespace": namespace,
            "key": key,
            "value": value,
            "namesrvs": admin.namesrv_addrs(),
        }));
        Ok(())
    }
}

/// `deleteKvConfig -s <namespace> -k <key>`.
pub struct DeleteKvConfig;

impl SubCommand for DeleteKvConfig {
    fn name(&self) -> &'static str {
        "deleteKvConfig"
    }

    fn description(&self) -> &'static str {
        "Delete KV config."
    }

    fn options(&self, opts: &mut Options) {
        opts.reqopt("s", "namespace", "set the namespace", "<namespace>");
        opts.reqopt("k", "key", "set the key name", "<key>");
    }

    fn execute(&self, env: &Env, m: &Matches, out: &mut Output) -> Result<()> {
        let namespace = required(m, "s")?;
        let key = required(m, "k")?;
        let admin = env.admin(m)?;
        admin.delete_kv_config(&namespace, &key)?;
        out.line("delete kv config from namespace success.");
        out.json(json!({
            "namespace": namespace,
            "key": key,
            "namesrvs": admin.namesrv_addrs(),
        }));
        Ok(())
    }
}
