//! Reading option values: trimming (as Java does), typed parsing with usage errors that name
//! the option, the `-b <broker> | -c <cluster>` choice and topic-name validation.

use std::str::FromStr;

use getopts::Matches;

use crate::error::{Error, Result};
use crate::time::parse_timestamp;

/// Longest topic name RocketMQ accepts.
pub const MAX_TOPIC_LEN: usize = 127;

/// A present option's trimmed value; a usage error if it is absent or blank.
pub fn required(m: &Matches, name: &str) -> Result<String> {
    match optional(m, name) {
        Some(v) => Ok(v),
        None => Err(Error::usage(format!(
            "option -{name} needs a non-empty value"
        ))),
    }
}

/// An option's trimmed value, `None` if absent or blank.
pub fn optional(m: &Matches, name: &str) -> Option<String> {
    m.opt_str(name)
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// Parses an optional numeric option.
pub fn number<T: FromStr>(m: &Matches, name: &str) -> Result<Option<T>> {
    optional(m, name)
        .map(|v| {
            v.parse::<T>().map_err(|_| {
                Error::usage(format!(
                    "invalid value '{v}' for -{name}: expected a number"
                ))
            })
        })
        .transpose()
}

/// Parses an optional `true|false` option (any case). Java silently reads anything else as
/// false; a typo here is reported instead.
pub fn boolean(m: &Matches, name: &str) -> Result<Option<bool>> {
    optional(m, name)
        .map(|v| match v.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(Error::usage(format!(
                "invalid value '{v}' for -{name}: expected true or false"
            ))),
        })
        .transpose()
}

/// An optional timestamp option: `now`, milliseconds since the epoch, or
/// `yyyy-MM-dd#HH:mm:ss:SSS` (UTC).
pub fn timestamp(m: &Matches, name: &str, now_ms: i64) -> Result<Option<i64>> {
    optional(m, name)
        .map(|v| {
            parse_timestamp(&v, now_ms).ok_or_else(|| {
                Error::usage(format!(
                    "invalid value '{v}' for -{name}: expected now, milliseconds or yyyy-MM-dd#HH:mm:ss:SSS"
                ))
            })
        })
        .transpose()
}

/// Where a broker-side change goes: one broker (`-b addr`) or every master of a cluster
/// (`-c name`). `-b` wins when both are given, as in Java.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One broker address.
    Broker(String),
    /// Every master of a cluster.
    Cluster(String),
}

/// Reads `-b` / `-c`; a usage error when neither is given.
pub fn broker_or_cluster(m: &Matches) -> Result<Target> {
    if let Some(addr) = optional(m, "b") {
        Ok(Target::Broker(addr))
    } else if let Some(cluster) = optional(m, "c") {
        Ok(Target::Cluster(cluster))
    } else {
        Err(Error::usage(
            "one of -b <brokerAddr> or -c <clusterName> is required",
        ))
    }
}

/// Checks a topic name the way RocketMQ's `TopicValidator` does: 1..=127 characters from
/// `[%|a-zA-Z0-9_-]`.
pub fn validate_topic(topic: &str) -> Result<()> {
    if topic.len() > MAX_TOPIC_LEN {
        return Err(Error::usage(format!(
            "topic name is longer than {MAX_TOPIC_LEN} characters"
        )));
    }
    let ok = topic
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '%' | '|' | '_' | '-'));
    if topic.is_empty() || !ok {
        return Err(Error::usage(format!(
            "topic name '{topic}' may only contain letters, digits, '%', '|', '_' and '-'"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use getopts::Options;

    fn matches(args: &[&str]) -> Matches {
        let mut o = Options::new();
        o.optopt("b", "", "", "");
        o.optopt("c", "", "", "");
        o.optopt("r", "", "", "");
        o.optopt("o", "", "", "");
        o.optopt("s", "", "", "");
        o.parse(args).unwrap()
    }

    #[test]
    fn values_are_trimmed_and_blank_means_absent() {
        let m = matches(&["-b", " 1.2.3.4:10911 ", "-c", "  "]);
        assert_eq!(optional(&m, "b").as_deref(), Some("1.2.3.4:10911"));
        assert_eq!(optional(&m, "c"), None);
        assert!(required(&m, "c").is_err());
        assert_eq!(
            broker_or_cluster(&m).unwrap(),
            Target::Broker("1.2.3.4:10911".into())
        );
        let m = matches(&["-c", "DefaultCluster", "-b", ""]);
        assert_eq!(
            broker_or_cluster(&m).unwrap(),
            Target::Cluster("DefaultCluster".into())
        );
        assert!(broker_or_cluster(&matches(&[])).is_err());
    }

    #[test]
    fn typed_values_report_the_option() {
        let m = matches(&["-r", "8", "-o", "TRUE", "-s", "now"]);
        assert_eq!(number::<i32>(&m, "r").unwrap(), Some(8));
        assert_eq!(boolean(&m, "o").unwrap(), Some(true));
        assert_eq!(timestamp(&m, "s", 42).unwrap(), Some(42));
        let m = matches(&["-r", "eight", "-o", "yes"]);
        assert_eq!(
            number::<i32>(&m, "r").unwrap_err().to_string(),
            "invalid value 'eight' for -r: expected a number"
        );
        assert!(boolean(&m, "o").is_err());
        assert_eq!(number::<i32>(&m, "b").unwrap(), None);
    }

    #[test]
    fn topic_names_follow_rocketmq_rules() {
        validate_topic("TopicTest").unwrap();
        validate_topic("%RETRY%group_1-a|b").unwrap();
        assert!(validate_topic("").is_err());
        assert!(validate_topic("bad topic").is_err());
        assert!(validate_topic("a.b").is_err());
        assert!(validate_topic(&"t".repeat(128)).is_err());
        validate_topic(&"t".repeat(127)).unwrap();
    }
}
