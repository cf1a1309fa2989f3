//! `extFields`: the string-to-string map that carries every typed ("custom") header field.
//!
//! Java fills it by reflection over the header class; we write each header by hand on top of
//! the typed getters here. Keys are few (at most ~20), so a vector with linear lookup beats a
//! hash map and keeps insertion order, which makes encoded bytes deterministic for golden tests.
//! Keys are `Cow<'static, str>`: headers written by this crate name their fields with static
//! strings, so building a header allocates only its values.

use std::borrow::Cow;

use crate::error::{Error, Result};

/// Ordered map of header fields. Inserting an existing key replaces its value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtFields {
    entries: Vec<(Cow<'static, str>, String)>,
}

impl ExtFields {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty map with room for `n` fields.
    pub fn with_capacity(n: usize) -> Self {
        ExtFields {
            entries: Vec::with_capacity(n),
        }
    }

    /// Number of fields.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no fields.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value of `key`, if present.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets `key` to `value`, replacing an existing value. A `&'static str` key is not copied.
    pub fn insert(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = value,
            None => self.entries.push((key, value)),
        }
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let pos = self.entries.iter().position(|(k, _)| k == key)?;
        Some(self.entries.remove(pos).1)
    }

    /// Iterates over `(key, value)` pairs in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v.as_str()))
    }

    /// Sets `key` only when `value` is `Some` (Java omits null fields).
    pub fn insert_opt<V: ToString>(&mut self, key: &'static str, value: Option<V>) {
        if let Some(v) = value {
            self.insert(key, v.to_string());
        }
    }

    /// Required string field; absent is [`Error::MissingField`].
    pub fn str_required(&self, key: &'static str) -> Result<&str> {
        self.get(key).ok_or(Error::MissingField(key))
    }

    /// Required string field, owned.
    pub fn string_required(&self, key: &'static str) -> Result<String> {
        self.str_required(key).map(str::to_owned)
    }

    /// Optional string field, owned.
    pub fn string_opt(&self, key: &str) -> Option<String> {
        self.get(key).map(str::to_owned)
    }

    /// Required `int` field.
    pub fn i32_required(&self, key: &'static str) -> Result<i32> {
        parse_num(key, self.str_required(key)?)
    }

    /// Required `long` field.
    pub fn i64_required(&self, key: &'static str) -> Result<i64> {
        parse_num(key, self.str_required(key)?)
    }

    /// Optional `int` field; present but unparsable is an error (Java fails the same way).
    pub fn i32_opt(&self, key: &'static str) -> Result<Option<i32>> {
        self.get(key).map(|v| parse_num(key, v)).transpose()
    }

    /// Optional `long` field.
    pub fn i64_opt(&self, key: &'static str) -> Result<Option<i64>> {
        self.get(key).map(|v| parse_num(key, v)).transpose()
    }

    /// Optional `boolean` field, parsed like Java's `Boolean.parseBoolean`: only `true` in any
    /// case is true; every other text (including `"1"`) is false.
    pub fn bool_opt(&self, key: &str) -> Option<bool> {
        self.get(key).map(parse_java_bool)
    }

    /// Required `boolean` field.
    pub fn bool_required(&self, key: &'static str) -> Result<bool> {
        self.str_required(key).map(parse_java_bool)
    }
}

/// The static spelling of a frequent extFields key (send V2 letters, send/pull/offset header
/// names), so decoded headers need no allocation for it; `None` for any other key.
pub(crate) fn static_key(key: &str) -> Option<&'static str> {
    const LETTERS: [&str; 26] = [
        "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m", "n", "o", "p", "q", "r",
        "s", "t", "u", "v", "w", "x", "y", "z",
    ];
    if let [b @ b'a'..=b'z'] = key.as_bytes() {
        return Some(LETTERS[usize::from(b - b'a')]);
    }
    Some(match key {
        "topic" => "topic",
        "queueId" => "queueId",
        "queueOffset" => "queueOffset",
        "msgId" => "msgId",
        "transactionId" => "transactionId",
        "MSG_REGION" => "MSG_REGION",
        "TRACE_ON" => "TRACE_ON",
        "producerGroup" => "producerGroup",
        "defaultTopic" => "defaultTopic",
        "defaultTopicQueueNums" => "defaultTopicQueueNums",
        "sysFlag" => "sysFlag",
        "bornTimestamp" => "bornTimestamp",
        "flag" => "flag",
        "properties" => "properties",
        "reconsumeTimes" => "reconsumeTimes",
        "unitMode" => "unitMode",
        "batch" => "batch",
        "brokerName" => "brokerName",
        "maxReconsumeTimes" => "maxReconsumeTimes",
        "consumerGroup" => "consumerGroup",
        "maxMsgNums" => "maxMsgNums",
        "commitOffset" => "commitOffset",
        "suspendTimeoutMillis" => "suspendTimeoutMillis",
        "subscription" => "subscription",
        "subVersion" => "subVersion",
        "expressionType" => "expressionType",
        "nextBeginOffset" => "nextBeginOffset",
        "minOffset" => "minOffset",
        "maxOffset" => "maxOffset",
        "suggestWhichBrokerId" => "suggestWhichBrokerId",
        _ => return None,
    })
}

/// Java `Boolean.parseBoolean`.
pub fn parse_java_bool(v: &str) -> bool {
    v.eq_ignore_ascii_case("true")
}

fn parse_num<T: std::str::FromStr>(key: &'static str, v: &str) -> Result<T> {
    v.trim()
        .parse::<T>()
        .map_err(|_| Error::invalid_field(key, v))
}

impl<K: Into<Cow<'static, str>>, V: Into<String>> FromIterator<(K, V)> for ExtFields {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut ext = ExtFields::new();
        for (k, v) in iter {
            ext.insert(k, v);
        }
        ext
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_getters() {
        let ext: ExtFields = [("a", "7"), ("b", "-9000000000"), ("c", "TRUE"), ("d", "1")]
            .into_iter()
            .collect();
        assert_eq!(ext.i32_required("a"), Ok(7));
        assert_eq!(ext.i64_required("b"), Ok(-9_000_000_000));
        assert_eq!(ext.bool_opt("c"), Some(true));
        assert_eq!(
            ext.bool_opt("d"),
            Some(false),
            "Java parseBoolean(\"1\") is false"
        );
        assert_eq!(ext.bool_opt("zz"), None);
        assert_eq!(ext.i32_required("zz"), Err(Error::MissingField("zz")));
        assert!(matches!(
            ext.i32_required("b"),
            Err(Error::InvalidField { field: "b", .. })
        ));
    }

    #[test]
    fn frequent_keys_are_static() {
        assert_eq!(static_key("a"), Some("a"));
        assert_eq!(static_key("z"), Some("z"));
        assert_eq!(static_key("queueOffset"), Some("queueOffset"));
        assert_eq!(static_key("A"), None);
        assert_eq!(static_key("ab"), None);
        assert_eq!(static_key("unknownKey"), None);
        assert_eq!(static_key(""), None);
    }

    #[test]
    fn insert_replaces() {
        let mut ext = ExtFields::new();
        ext.insert("k", "1");
        ext.insert("k", "2");
        assert_eq!(ext.len(), 1);
        assert_eq!(ext.get("k"), Some("2"));
        assert_eq!(ext.remove("k"), Some("2".to_string()));
        assert!(ext.is_empty());
    }
}
