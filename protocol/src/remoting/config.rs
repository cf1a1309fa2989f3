//! [`RemotingConfig`]: the tunables of one remoting event loop, with their defaults and
//! [`RemotingConfig::validate`].
//!
//! Owns only plain values; the binaries map their properties-file keys onto these fields.

use std::fmt;

use crate::frame::DEFAULT_MAX_FRAME_BYTES;

/// Settings of one [`EventLoop`](super::EventLoop). Every duration is in milliseconds and every
/// size in bytes; [`Default`] holds RocketMQ's defaults where it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemotingConfig {
    /// Largest frame accepted from a peer (length prefix value). A larger frame closes that
    /// connection. Default [`DEFAULT_MAX_FRAME_BYTES`] (16 MiB, Java's `frameMaxLength`).
    pub max_frame_bytes: usize,
    /// A connection with no read or write activity for this long is closed. `0` = never.
    /// Default 120 000 (Java's `serverChannelMaxIdleTimeSeconds`).
    pub idle_timeout_ms: u64,
    /// When a connection's write queue holds more than this many bytes the loop stops reading
    /// from it (back-pressure) until the queue drains below `write_queue_low_water_bytes`.
    /// Default 64 MiB.
    pub write_queue_high_water_bytes: usize,
    /// Reading resumes once the write queue is below this. Must not exceed the high water
    /// mark. Default 32 MiB.
    pub write_queue_low_water_bytes: usize,
    /// Initial and minimum growth step of a connection's read buffer. Default 64 KiB.
    pub read_buffer_bytes: usize,
    /// An outbound connect that has not completed after this long fails its waiters with
    /// [`RemotingError::Connect`](super::RemotingError::Connect). Default 3000.
    pub connect_timeout_ms: u64,
    /// Upper bound on open connections (inbound + outbound). Further accepted sockets are
    /// closed at once; further outbound connects fail. Default 65 536.
    pub max_connections: usize,
    /// Period of [`RequestHandler::on_tick`](super::RequestHandler::on_tick). Default 100.
    pub tick_interval_ms: u64,
    /// How long a closing connection (explicit close or shutdown) may take to flush what is
    /// already queued before its socket is closed regardless. Default 3000.
    pub close_flush_timeout_ms: u64,
}

impl Default for RemotingConfig {
    fn default() -> Self {
        RemotingConfig {
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            idle_timeout_ms: 120_000,
            write_queue_high_water_bytes: 64 * 1024 * 1024,
            write_queue_low_water_bytes: 32 * 1024 * 1024,
            read_buffer_bytes: 64 * 1024,
            connect_timeout_ms: 3000,
            max_connections: 65_536,
            tick_interval_ms: 100,
            close_flush_timeout_ms: 3000,
        }
    }
}

impl RemotingConfig {
    /// Checks the fields' constraints; the error names the offending field.
    pub fn validate(&self) -> Result<(), String> {
        if self.max_frame_bytes < 8 || self.max_frame_bytes > i32::MAX as usize {
            return Err(format!(
                "max_frame_bytes must be in 8..={}, got {}",
                i32::MAX,
                self.max_frame_bytes
            ));
        }
        if self.write_queue_high_water_bytes == 0 {
            return Err("write_queue_high_water_bytes must be positive".into());
        }
        if self.write_queue_low_water_bytes > self.write_queue_high_water_bytes {
            return Err(format!(
                "write_queue_low_water_bytes ({}) must not exceed write_queue_high_water_bytes ({})",
                self.write_queue_low_water_bytes, self.write_queue_high_water_bytes
            ));
        }
        if self.read_buffer_bytes < 1024 {
            return Err(format!(
                "read_buffer_bytes must be at least 1024, got {}",
                self.read_buffer_bytes
            ));
        }
        if self.connect_timeout_ms == 0 {
            return Err("connect_timeout_ms must be positive".into());
        }
        if self.max_connections == 0 {
            return Err("max_connections must be positive".into());
        }
        if self.tick_interval_ms == 0 {
            return Err("tick_interval_ms must be positive".into());
        }
        Ok(())
    }
}

impl fmt::Display for RemotingConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "max_frame_bytes={} idle_timeout_ms={} write_queue_high_water_bytes={} \
             write_queue_low_water_bytes={} read_buffer_bytes={} connect_timeout_ms={} \
             max_connections={} tick_interval_ms={} close_flush_timeout_ms={}",
            self.max_frame_bytes,
            self.idle_timeout_ms,
            self.write_queue_high_water_bytes,
            self.write_queue_low_water_bytes,
            self.read_buffer_bytes,
            self.connect_timeout_ms,
            self.max_connections,
            self.tick_interval_ms,
            self.close_flush_timeout_ms
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        assert_eq!(RemotingConfig::default().validate(), Ok(()));
    }

    #[test]
    fn validate_names_the_bad_field() {
        let bad = RemotingConfig {
            write_queue_low_water_bytes: 10,
            write_queue_high_water_bytes: 5,
            ..Default::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .contains("write_queue_low_water_bytes"));
        let bad = RemotingConfig {
            tick_interval_ms: 0,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("tick_interval_ms"));
        let bad = RemotingConfig {
            max_frame_bytes: 4,
            ..Default::default()
        };
        assert!(bad.validate().unwrap_err().contains("max_frame_bytes"));
    }
}
