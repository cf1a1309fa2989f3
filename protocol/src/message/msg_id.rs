//! Message ids (wire reference §5.4): the broker's *offset* msgId and the client's `UNIQ_KEY`.
//!
//! The offset msgId is uppercase hex of `store host IP (4|16) + port (i32) + commit-log offset
//! (i64)`: 32 characters for IPv4, 56 for IPv6. `UNIQ_KEY` is uppercase hex of `client IP
//! (4|16) + pid low 16 bits + per-process hash (i32) + ms since the start of the month (i32) +
//! counter (i16)`. Java measures the month in the producer's local time zone; this module uses
//! **UTC** (the value is opaque to everyone but the admin tool's time hint, which is approximate
//! anyway).

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::error::{Error, Result};

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
const MS_PER_DAY: i64 = 86_400_000;

/// Appends the uppercase hex form of `bytes` to `out`.
pub fn write_hex_upper(bytes: &[u8], out: &mut String) {
    out.reserve(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(HEX_UPPER[usize::from(b >> 4)]));
        out.push(char::from(HEX_UPPER[usize::from(b & 0xF)]));
    }
}

/// Decodes hex (either case) into `out`, which must be exactly half as long as `hex`.
fn decode_hex(hex: &[u8], out: &mut [u8]) -> Result<()> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    if hex.len() != out.len() * 2 {
        return Err(Error::malformed("message id", "wrong hex length"));
    }
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(hi), Some(lo)) => *byte = (hi << 4) | lo,
            _ => return Err(Error::malformed("message id", "not a hex digit")),
        }
    }
    Ok(())
}

/// Raw bytes of an IP address: 4 for IPv4, 16 for IPv6.
fn ip_octets(ip: IpAddr, out: &mut Vec<u8>) {
    match ip {
        IpAddr::V4(v4) => out.extend_from_slice(&v4.octets()),
        IpAddr::V6(v6) => out.extend_from_slice(&v6.octets()),
    }
}

/// The broker's offset msgId for a record stored at `commit_log_offset` by `store_host`.
pub fn offset_msg_id(store_host: SocketAddr, commit_log_offset: i64) -> String {
    let mut raw = Vec::with_capacity(28);
    ip_octets(store_host.ip(), &mut raw);
    raw.extend_from_slice(&i32::from(store_host.port()).to_be_bytes());
    raw.extend_from_slice(&commit_log_offset.to_be_bytes());
    let mut out = String::with_capacity(raw.len() * 2);
    write_hex_upper(&raw, &mut out);
    out
}

/// Parses an offset msgId back into store host and commit-log offset. Accepts either hex case;
/// rejects any length but 32 or 56 and ports outside 0..=65535.
pub fn decode_offset_msg_id(msg_id: &str) -> Result<(SocketAddr, i64)> {
    let hex = msg_id.as_bytes();
    let ip_len = match hex.len() {
        32 => 4,
        56 => 16,
        n => {
            return Err(Error::malformed(
                "message id",
                format!("offset msgId has {n} characters, expected 32 or 56"),
            ))
        }
    };
    let mut raw = [0u8; 28];
    let raw = &mut raw[..ip_len + 12];
    decode_hex(hex, raw)?;
    let (ip_bytes, rest) = raw.split_at(ip_len);
    let ip = match <[u8; 16]>::try_from(ip_bytes) {
        Ok(v6) => IpAddr::V6(Ipv6Addr::from(v6)),
        Err(_) => IpAddr::V4(Ipv4Addr::new(
            ip_bytes[0],
            ip_bytes[1],
            ip_bytes[2],
            ip_bytes[3],
        )),
    };
    let port = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
    let port = u16::try_from(port)
        .map_err(|_| Error::malformed("message id", format!("port {port} out of range")))?;
    let mut offset = [0u8; 8];
    offset.copy_from_slice(&rest[4..12]);
    Ok((SocketAddr::new(ip, port), i64::from_be_bytes(offset)))
}

/// Start of the UTC month containing `now_ms`, shifted by `delta_months`, in ms since the epoch
/// (saturating at the ends of the i64 range).
pub fn month_start_ms(now_ms: i64, delta_months: i64) -> i64 {
    let (year, month, _) = crate::util::clock::civil_from_days(now_ms.div_euclid(MS_PER_DAY));
    let index = year * 12 + (month - 1) + delta_months;
    crate::util::clock::days_from_civil(index.div_euclid(12), index.rem_euclid(12) + 1, 1)
        .saturating_mul(MS_PER_DAY)
}

/// Generates `UNIQ_KEY` values. Thread-safe and lock-free: the counter is atomic and the month
/// start is recomputed from `now_ms` on each call (a few integer operations).
#[derive(Debug)]
pub struct UniqIdGenerator {
    /// Hex of `ip + pid low 16 bits + instance hash`.
    fix_prefix: String,
    counter: AtomicU32,
}

impl UniqIdGenerator {
    /// A generator for a client at `client_ip` in process `pid` (low 16 bits used) with a
    /// per-process `instance_hash` (Java uses its class loader's hashCode).
    pub fn new(client_ip: IpAddr, pid: u32, instance_hash: i32) -> Self {
        let mut raw = Vec::with_capacity(22);
        ip_octets(client_ip, &mut raw);
        // Truncation intended: only the low 16 bits of the pid are kept, as in Java.
        raw.extend_from_slice(&(pid as u16).to_be_bytes());
        raw.extend_from_slice(&instance_hash.to_be_bytes());
        let mut fix_prefix = String::with_capacity(raw.len() * 2);
        write_hex_upper(&raw, &mut fix_prefix);
        UniqIdGenerator {
            fix_prefix,
            counter: AtomicU32::new(0),
        }
    }

    /// A generator for this process: its pid and a random per-process hash.
    pub fn for_this_process(client_ip: IpAddr) -> Self {
        // RandomState is seeded randomly per process: a random i32 without a rand crate.
        let hash = RandomState::new().hash_one(std::process::id());
        // Truncation intended: any 32 bits of the random hash will do.
        Self::new(client_ip, std::process::id(), hash as i32)
    }

    /// The next id for a message created at `now_ms` (ms since the epoch).
    pub fn next_id(&self, now_ms: i64) -> String {
        let month_start = month_start_ms(now_ms, 0);
        // Truncation intended: Java stores `(int) (now - startTime)` and `(short) counter`.
        let span_ms = now_ms.wrapping_sub(month_start) as i32;
        let counter = self.counter.fetch_add(1, Ordering::Relaxed) as u16;
        let mut tail = [0u8; 6];
        tail[..4].copy_from_slice(&span_ms.to_be_bytes());
        tail[4..].copy_from_slice(&counter.to_be_bytes());
        let mut id = String::with_capacity(self.fix_prefix.len() + 12);
        id.push_str(&self.fix_prefix);
        write_hex_upper(&tail, &mut id);
        id
    }
}

/// Approximate creation time (ms since the epoch) of a `UNIQ_KEY`, as the admin tool derives
/// it: the month-relative time is placed in the current UTC month of `now_ms`, or the previous
/// month if that would not be in the past. Accepts 32 (IPv4) or 56 (IPv6) hex characters.
pub fn uniq_id_time_hint(uniq_id: &str, now_ms: i64) -> Result<i64> {
    let hex = uniq_id.as_bytes();
    let ip_len = match hex.len() {
        32 => 4,
        56 => 16,
        n => {
            return Err(Error::malformed(
                "message id",
                format!("UNIQ_KEY has {n} characters, expected 32 or 56"),
            ))
        }
    };
    let start = (ip_len + 6) * 2;
    let mut span = [0u8; 4];
    decode_hex(&hex[start..start + 8], &mut span)?;
    let span_ms = i64::from(u32::from_be_bytes(span));
    let mut month_start = month_start_ms(now_ms, 0);
    if month_start.saturating_add(span_ms) >= now_ms {
        month_start = month_start_ms(now_ms, -1);
    }
    Ok(month_start.saturating_add(span_ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_msg_id_ipv4_golden() {
        let host: SocketAddr = "10.0.0.1:10911".parse().unwrap();
        let id = offset_msg_id(host, 0x1234);
        assert_eq!(id, "0A00000100002A9F0000000000001234");
        assert_eq!(decode_offset_msg_id(&id).unwrap(), (host, 0x1234));
        assert_eq!(
            decode_offset_msg_id(&id.to_lowercase()).unwrap(),
            (host, 0x1234)
        );
    }

    #[test]
    fn offset_msg_id_ipv6() {
        let host: SocketAddr = "[fe80::1]:10911".parse().unwrap();
        let id = offset_msg_id(host, -1);
        assert_eq!(id.len(), 56);
        assert!(id.starts_with("FE800000000000000000000000000001"));
        assert!(id.ends_with("00002A9FFFFFFFFFFFFFFFFF"));
        assert_eq!(decode_offset_msg_id(&id).unwrap(), (host, -1));
    }

    #[test]
    fn bad_offset_msg_ids() {
        assert!(decode_offset_msg_id("").is_err());
        assert!(decode_offset_msg_id("0A00000100002A9F000000000000123").is_err());
        assert!(decode_offset_msg_id("0A00000100002A9F000000000000123G").is_err());
        assert!(decode_offset_msg_id("0A000001FFFFFFFF0000000000001234").is_err());
        assert!(decode_offset_msg_id("0A0000010001000000000000000012é").is_err());
    }

    #[test]
    fn month_arithmetic() {
        // 2024-03-15T12:00:00Z
        let now = 1_710_504_000_000;
        assert_eq!(month_start_ms(now, 0), 1_709_251_200_000); // 2024-03-01
        assert_eq!(month_start_ms(now, 1), 1_711_929_600_000); // 2024-04-01
        assert_eq!(month_start_ms(now, -3), 1_701_388_800_000); // 2023-12-01
        assert_eq!(month_start_ms(0, 0), 0);
        assert_eq!(month_start_ms(-1, 0), -31 * MS_PER_DAY); // 1969-12-01
    }

    #[test]
    fn uniq_ids() {
        let ip = IpAddr::V4(Ipv4Addr::new(192, 168, 1, 2));
        let gen = UniqIdGenerator::new(ip, 0x0001_2345, -2);
        let now = 1_710_504_000_000; // 2024-03-15T12:00:00Z
        let a = gen.next_id(now);
        let b = gen.next_id(now);
        assert_eq!(a.len(), 32);
        // ip, pid 0x2345, hash -2, span 14.5 days = 1_252_800_000 ms = 0x4AAC_3600, counter 0
        assert_eq!(a, "C0A801022345FFFFFFFE4AAC36000000");
        assert_eq!(&b[28..], "0001");
        assert_eq!(uniq_id_time_hint(&a, now + 1000).unwrap(), now);
        // seen in the next month: the hint still lands in the right month
        assert_eq!(uniq_id_time_hint(&a, now + 20 * MS_PER_DAY).unwrap(), now);
        let v6 = UniqIdGenerator::new("::1".parse().unwrap(), 7, 9).next_id(now);
        assert_eq!(v6.len(), 56);
        assert_eq!(uniq_id_time_hint(&v6, now + 1).unwrap(), now);
        assert!(uniq_id_time_hint("XYZ", now).is_err());
        let process = UniqIdGenerator::for_this_process(ip).next_id(now);
        assert!(process.starts_with("C0A80102"));
    }

    #[test]
    fn counter_wraps_at_16_bits() {
        let gen = UniqIdGenerator::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 1, 1);
        gen.counter.store(0xFFFF, Ordering::Relaxed);
        assert!(gen.next_id(0).ends_with("FFFF"));
        assert!(gen.next_id(0).ends_with("0000"));
    }
}
