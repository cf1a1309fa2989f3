//! The HA byte protocol (RocketMQ `DefaultHAService`): plain TCP, no remoting framing, no
//! handshake. Slave → master: 8-byte big-endian `i64` offset reports. Master → slave:
//! 12-byte headers `i64 masterPhyOffset | i32 bodySize` each followed by `bodySize` raw
//! commitlog bytes (`bodySize` 0 is a heartbeat). Byte-level description:
//! `docs/replication.md`. Pure codecs; never panic on input.

/// Size of a slave's offset report.
pub const REPORT_BYTES: usize = 8;
/// Size of the master's transfer header.
pub const HEADER_BYTES: usize = 12;

/// Encodes a slave's offset report.
pub fn encode_report(offset: u64) -> [u8; REPORT_BYTES] {
    (offset as i64).to_be_bytes()
}

/// Encodes a transfer header.
pub fn encode_header(phy_offset: u64, body_bytes: u32) -> [u8; HEADER_BYTES] {
    let mut h = [0u8; HEADER_BYTES];
    h[..8].copy_from_slice(&(phy_offset as i64).to_be_bytes());
    h[8..].copy_from_slice(&(body_bytes as i32).to_be_bytes());
    h
}

/// A decoded transfer header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransferHeader {
    /// Commitlog offset of the first body byte.
    pub phy_offset: u64,
    /// Body length in bytes (0: heartbeat).
    pub body_bytes: u32,
}

/// Why bytes from the peer are not a valid HA message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireError(pub &'static str);

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// Decodes a transfer header from the start of `buf`: `Ok(None)` when fewer than 12 bytes are
/// buffered; an error for a negative offset or size, or a body above `max_body_bytes`.
pub fn decode_header(buf: &[u8], max_body_bytes: u32) -> Result<Option<TransferHeader>, WireError> {
    let Some(h) = buf.get(..HEADER_BYTES) else {
        return Ok(None);
    };
    let mut off = [0u8; 8];
    off.copy_from_slice(&h[..8]);
    let phy_offset = i64::from_be_bytes(off);
    let size = i32::from_be_bytes([h[8], h[9], h[10], h[11]]);
    if phy_offset < 0 || size < 0 {
        return Err(WireError("negative offset or body size"));
    }
    if size as u32 > max_body_bytes {
        return Err(WireError("body larger than allowed"));
    }
    Ok(Some(TransferHeader {
        phy_offset: phy_offset as u64,
        body_bytes: size as u32,
    }))
}

/// Accumulates a slave's report stream across reads; only complete 8-byte groups count.
#[derive(Debug, Default, Clone)]
pub struct ReportReader {
    partial: [u8; REPORT_BYTES],
    len: usize,
}

impl ReportReader {
    /// Feeds received bytes; returns the last complete report among them (as sent: may be
    /// negative, which the caller treats as garbage).
    pub fn feed(&mut self, bytes: &[u8]) -> Option<i64> {
        let mut last = None;
        for &b in bytes {
            self.partial[self.len] = b;
            self.len += 1;
            if self.len == REPORT_BYTES {
                last = Some(i64::from_be_bytes(self.partial));
                self.len = 0;
            }
        }
        last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_golden_bytes() {
        let h = encode_header(0x0102_0304_0506_0708, 0x10);
        assert_eq!(h, [1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 0x10]);
        let d = decode_header(&h, 1 << 20).unwrap().unwrap();
        assert_eq!(d.phy_offset, 0x0102_0304_0506_0708);
        assert_eq!(d.body_bytes, 16);
        assert_eq!(decode_header(&h[..11], 1 << 20), Ok(None));
        assert!(decode_header(&h, 15).is_err());
        assert!(decode_header(&encode_header(u64::MAX, 0), 10).is_err());
    }

    #[test]
    fn reports_only_count_complete_groups() {
        let mut r = ReportReader::default();
        let a = encode_report(5);
        let b = encode_report(77);
        assert_eq!(r.feed(&a[..3]), None);
        let mut rest = a[3..].to_vec();
        rest.extend_from_slice(&b);
        rest.extend_from_slice(&encode_report(99)[..7]);
        assert_eq!(r.feed(&rest), Some(77), "the last complete group wins");
        assert_eq!(r.feed(&[99]), Some(99));
        assert_eq!(r.feed(&[0xff; 8]), Some(-1));
    }
}
