//! `ClientChannelInfo` (Java `ClientChannelInfo`): what the broker knows about one client
//! connection of a producer or consumer group, refreshed by every heartbeat.

use protocol::body::Connection;
use protocol::LanguageCode;

/// One client connection's identity and liveness.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientChannelInfo {
    /// `clientIP@instanceName[@unitName]` from the heartbeat.
    pub client_id: String,
    /// The client's SDK language (from the request header).
    pub language: LanguageCode,
    /// The client's `MQVersion` ordinal (from the request header).
    pub version: i32,
    /// The client's remote `ip:port`.
    pub client_addr: String,
    /// When the last heartbeat arrived, ms since the epoch.
    pub last_update_ms: u64,
}

impl ClientChannelInfo {
    /// A connection seen at `now_ms`.
    pub fn new(
        client_id: impl Into<String>,
        language: LanguageCode,
        version: i32,
        client_addr: impl Into<String>,
        now_ms: u64,
    ) -> Self {
        ClientChannelInfo {
            client_id: client_id.into(),
            language,
            version,
            client_addr: client_addr.into(),
            last_update_ms: now_ms,
        }
    }

    /// Whether the connection has been silent for more than `timeout_ms` at `now_ms`.
    pub fn is_expired(&self, now_ms: u64, timeout_ms: u64) -> bool {
        now_ms.saturating_sub(self.last_update_ms) > timeout_ms
    }

    /// The admin-body form (GET_CONSUMER_CONNECTION_LIST, GET_PRODUCER_CONNECTION_LIST).
    pub fn to_connection(&self) -> Connection {
        Connection {
            client_addr: self.client_addr.clone(),
            client_id: self.client_id.clone(),
            language: self.language,
            version: self.version,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_and_connection_body() {
        let info =
            ClientChannelInfo::new("10.0.0.9@1", LanguageCode::GO, 317, "10.0.0.9:5000", 1_000);
        assert!(!info.is_expired(121_000, 120_000));
        assert!(info.is_expired(121_001, 120_000));
        assert!(
            !info.is_expired(0, 120_000),
            "clock going back never expires"
        );
        let c = info.to_connection();
        assert_eq!(
            (c.client_id.as_str(), c.client_addr.as_str()),
            ("10.0.0.9@1", "10.0.0.9:5000")
        );
        assert_eq!((c.language, c.version), (LanguageCode::GO, 317));
    }
}
