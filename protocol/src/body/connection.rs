//! Connection listings for admin tools: consumer and producer connections of a group and the
//! broker's producer table.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::dialect::LenientScalar;
use super::heartbeat::{ConsumeFromWhere, ConsumeType, MessageModel, SubscriptionData};
use super::{null_default, JsonBody};
use crate::code::LanguageCode;

/// `LanguageCode` as a JSON name (`"JAVA"`); decodes names or numeric codes, unknown → `OTHER`.
mod language_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::{LanguageCode, LenientScalar};

    pub fn serialize<S: Serializer>(code: &LanguageCode, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(code.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<LanguageCode, D::Error> {
        let v = LenientScalar::deserialize(d)?;
        Ok(match v {
            LenientScalar::Str(name) => LanguageCode::from_name(name.trim()),
            other => other
                .as_i64()
                .and_then(|c| u8::try_from(c).ok())
                .map_or(LanguageCode::OTHER, LanguageCode::from_code),
        })
    }
}

/// One client connection (Java `Connection`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Connection {
    /// The client's remote `ip:port`.
    pub client_addr: String,
    /// The client id (`ip@instance`).
    pub client_id: String,
    /// The client's SDK language.
    #[serde(with = "language_name")]
    pub language: LanguageCode,
    /// The client's `MQVersion` ordinal.
    pub version: i32,
}

/// GET_CONSUMER_CONNECTION_LIST response body (Java `ConsumerConnection`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerConnection {
    /// The group's live connections (Java `Set`).
    #[serde(deserialize_with = "null_default")]
    pub connection_set: Vec<Connection>,
    /// The group's start position.
    pub consume_from_where: ConsumeFromWhere,
    /// Push, pull or pop.
    pub consume_type: ConsumeType,
    /// Clustering or broadcasting.
    pub message_model: MessageModel,
    /// Topic → subscription.
    #[serde(deserialize_with = "null_default")]
    pub subscription_table: BTreeMap<String, SubscriptionData>,
}

impl JsonBody for ConsumerConnection {}

impl ConsumerConnection {
    /// The lowest client version among the connections (Java `computeMinVersion`), or
    /// `i32::MAX` without connections.
    pub fn compute_min_version(&self) -> i32 {
        self.connection_set
            .iter()
            .map(|c| c.version)
            .min()
            .unwrap_or(i32::MAX)
    }
}

/// GET_PRODUCER_CONNECTION_LIST response body (Java `ProducerConnection`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerConnection {
    /// The group's live connections (Java `Set`).
    #[serde(deserialize_with = "null_default")]
    pub connection_set: Vec<Connection>,
}

impl JsonBody for ProducerConnection {}

/// One producer as listed by GET_ALL_PRODUCER_INFO (Java `ProducerInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerInfo {
    /// The client id.
    pub client_id: String,
    /// The client's SDK language.
    #[serde(with = "language_name")]
    pub language: LanguageCode,
    /// Milliseconds timestamp of the producer's last heartbeat.
    pub last_update_timestamp: i64,
    /// The client's remote `ip:port` (Java getter `getRemoteIP`).
    #[serde(rename = "remoteIP")]
    pub remote_ip: String,
    /// The client's `MQVersion` ordinal.
    pub version: i32,
}

/// GET_ALL_PRODUCER_INFO response body (Java `ProducerTableInfo`): group → producers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ProducerTableInfo {
    /// Producer group → its producers.
    #[serde(deserialize_with = "null_default")]
    pub data: BTreeMap<String, Vec<ProducerInfo>>,
}

impl JsonBody for ProducerTableInfo {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::from_json_slice;

    #[test]
    fn language_accepts_names_and_codes() {
        let c: Connection = from_json_slice(br#"{"language":"GO","version":317}"#).expect("name");
        assert_eq!(c.language, LanguageCode::GO);
        let c: Connection = from_json_slice(br#"{"language":1}"#).expect("code");
        assert_eq!(c.language, LanguageCode::CPP);
        let c: Connection = from_json_slice(br#"{"language":"COBOL"}"#).expect("unknown");
        assert_eq!(c.language, LanguageCode::OTHER);
    }

    #[test]
    fn min_version() {
        let mut cc = ConsumerConnection::default();
        assert_eq!(cc.compute_min_version(), i32::MAX);
        for v in [479, 317, 401] {
            cc.connection_set.push(Connection {
                version: v,
                ..Default::default()
            });
        }
        assert_eq!(cc.compute_min_version(), 317);
    }
}
