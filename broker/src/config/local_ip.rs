//! Finds the default `brokerIP1`: the machine's first non-loopback IPv4 address, read from
//! `/proc/net/fib_trie` (the kernel's local address table) and `/proc/net/route` (to prefer
//! the address on the default-route interface). No socket is ever opened for this.
//!
//! The parsing functions are pure and tested on fixture text; [`detect_broker_ip`] is the only
//! function that reads files.

use std::net::Ipv4Addr;

/// Used when no other address can be found.
pub const FALLBACK_IP: &str = "127.0.0.1";

/// The kernel's `RTF_UP` route flag.
const RTF_UP: u32 = 0x1;

/// One line of `/proc/net/route`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEntry {
    /// Interface name (`eth0`).
    pub iface: String,
    /// Destination network.
    pub destination: Ipv4Addr,
    /// Gateway (0.0.0.0 for directly connected networks).
    pub gateway: Ipv4Addr,
    /// Route flags (`RTF_UP` = 1, `RTF_GATEWAY` = 2).
    pub flags: u32,
    /// Destination netmask.
    pub mask: Ipv4Addr,
}

impl RouteEntry {
    /// Whether this is an active default route (destination and mask 0.0.0.0).
    pub fn is_default(&self) -> bool {
        self.flags & RTF_UP != 0 && self.destination.is_unspecified() && self.mask.is_unspecified()
    }

    /// Whether `ip` lies in this route's destination network.
    pub fn contains(&self, ip: Ipv4Addr) -> bool {
        let mask = u32::from(self.mask);
        u32::from(ip) & mask == u32::from(self.destination) & mask
    }
}

/// The local IPv4 addresses in `/proc/net/fib_trie` text: every leaf (`|-- a.b.c.d`) followed by
/// a `/32 host LOCAL` line, in order of appearance, without duplicates (the address appears in
/// both the `Main` and the `Local` table).
pub fn parse_fib_trie_local(text: &str) -> Vec<Ipv4Addr> {
    let mut out = Vec::new();
    let mut leaf: Option<Ipv4Addr> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("|--") {
            leaf = rest.trim().parse().ok();
            continue;
        }
        if trimmed.starts_with("+--") {
            leaf = None;
            continue;
        }
        let mut words = trimmed.split_whitespace();
        let is_local_host = words.next() == Some("/32")
            && words.next() == Some("host")
            && words.next() == Some("LOCAL");
        if let (true, Some(ip)) = (is_local_host, leaf) {
            if !out.contains(&ip) {
                out.push(ip);
            }
        }
    }
    out
}

/// Parses one hex field of `/proc/net/route` (the address in native byte order).
fn route_addr(field: &str) -> Option<Ipv4Addr> {
    let v = u32::from_str_radix(field, 16).ok()?;
    Some(Ipv4Addr::from(v.to_ne_bytes()))
}

/// The entries of `/proc/net/route` text; the header and malformed lines are skipped.
pub fn parse_route(text: &str) -> Vec<RouteEntry> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 8 {
                return None;
            }
            Some(RouteEntry {
                iface: f[0].to_owned(),
                destination: route_addr(f[1])?,
                gateway: route_addr(f[2])?,
                flags: u32::from_str_radix(f[3], 16).ok()?,
                mask: route_addr(f[7])?,
            })
        })
        .collect()
}

/// Whether `ip` can identify this machine to peers (not loopback, 0/8 or link-local).
fn is_candidate(ip: Ipv4Addr) -> bool {
    !(ip.is_loopback() || ip.is_unspecified() || ip.octets()[0] == 0 || ip.is_link_local())
}

/// Picks the broker address among `locals`:
/// 1. the first candidate inside a network routed through the default-route interface;
/// 2. otherwise, like Java's `NetworkUtil.getLocalAddress`, the first candidate outside
///    192.168/16, else the first candidate.
///
/// Loopback, 0/8 and link-local addresses are never picked.
pub fn choose_broker_ip(locals: &[Ipv4Addr], routes: &[RouteEntry]) -> Option<Ipv4Addr> {
    let candidates: Vec<Ipv4Addr> = locals
        .iter()
        .copied()
        .filter(|ip| is_candidate(*ip))
        .collect();
    let default_ifaces: Vec<&str> = routes
        .iter()
        .filter(|r| r.is_default())
        .map(|r| r.iface.as_str())
        .collect();
    let on_default_iface = candidates.iter().copied().find(|ip| {
        routes.iter().any(|r| {
            default_ifaces.contains(&r.iface.as_str())
                && !r.mask.is_unspecified()
                && r.contains(*ip)
        })
    });
    on_default_iface
        .or_else(|| {
            candidates
                .iter()
                .copied()
                .find(|ip| ip.octets()[..2] != [192, 168])
        })
        .or_else(|| candidates.first().copied())
}

/// Reads `/proc/net/fib_trie` and `/proc/net/route` and returns the chosen address as text,
/// or [`FALLBACK_IP`] when the files are unreadable (non-Linux) or list no usable address.
pub fn detect_broker_ip() -> String {
    let fib = std::fs::read_to_string("/proc/net/fib_trie").unwrap_or_default();
    let route = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    choose_broker_ip(&parse_fib_trie_local(&fib), &parse_route(&route))
        .map_or_else(|| FALLBACK_IP.to_owned(), |ip| ip.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A container with one interface (abridged real output).
    const FIB_ONE: &str = "\
Main:
  +-- 0.0.0.0/0 3 0 5
     |-- 0.0.0.0
        /0 universe UNICAST
     +-- 127.0.0.0/8 2 0 2
        +-- 127.0.0.0/31 1 0 0
           |-- 127.0.0.0
              /8 host LOCAL
           |-- 127.0.0.1
              /32 host LOCAL
        |-- 127.255.255.255
           /32 link BROADCAST
     +-- 192.0.2.0/24 2 0 2
        +-- 192.0.2.0/30 2 0 2
           |-- 192.0.2.0
              /24 link UNICAST
           |-- 192.0.2.2
              /32 host LOCAL
        |-- 192.0.2.255
           /32 link BROADCAST
Local:
  +-- 0.0.0.0/0 3 0 5
     +-- 127.0.0.0/8 2 0 2
           |-- 127.0.0.1
              /32 host LOCAL
     +-- 192.0.2.0/24 2 0 2
           |-- 192.0.2.2
              /32 host LOCAL
";

    /// A host with docker0 (172.17.0.1), a home LAN address and a second NIC.
    const FIB_MULTI: &str = "\
Local:
  +-- 0.0.0.0/0 3 0 4
     +-- 10.8.0.0/16 2 0 2
        |-- 10.8.3.7
           /32 host LOCAL
        |-- 10.8.255.255
           /32 link BROADCAST
     +-- 127.0.0.0/8 2 0 2
        |-- 127.0.0.1
           /32 host LOCAL
     +-- 169.254.0.0/16 2 0 2
        |-- 169.254.1.1
           /32 host LOCAL
     +-- 172.17.0.0/16 2 0 2
        |-- 172.17.0.1
           /32 host LOCAL
     +-- 192.168.1.0/24 2 0 2
        |-- 192.168.1.20
           /32 host LOCAL
";

    const ROUTE_ONE: &str = "\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
";

    /// Default route via wlan0 (192.168.1.1); docker0 and eth1 are side networks.
    const ROUTE_MULTI: &str = "\
Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
wlan0\t00000000\t0101A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
eth1\t0000080A\t00000000\t0001\t0\t0\t100\t0000FFFF\t0\t0\t0
wlan0\t0001A8C0\t00000000\t0001\t0\t0\t600\t00FFFFFF\t0\t0\t0
garbage line
";

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().expect("test address")
    }

    #[test]
    fn fib_trie_lists_local_host_addresses_once() {
        assert_eq!(
            parse_fib_trie_local(FIB_ONE),
            vec![ip("127.0.0.1"), ip("192.0.2.2")]
        );
        assert_eq!(
            parse_fib_trie_local(FIB_MULTI),
            vec![
                ip("10.8.3.7"),
                ip("127.0.0.1"),
                ip("169.254.1.1"),
                ip("172.17.0.1"),
                ip("192.168.1.20")
            ]
        );
        assert!(parse_fib_trie_local("").is_empty());
        assert!(parse_fib_trie_local("|-- not-an-ip\n   /32 host LOCAL\n").is_empty());
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn route_table_parses_native_order_hex() {
        let routes = parse_route(ROUTE_ONE);
        assert_eq!(routes.len(), 2);
        assert!(routes[0].is_default());
        assert_eq!(routes[0].gateway, ip("192.0.2.1"));
        assert_eq!(routes[1].destination, ip("192.0.2.0"));
        assert_eq!(routes[1].mask, ip("255.255.255.0"));
        assert!(routes[1].contains(ip("192.0.2.2")) && !routes[1].contains(ip("192.0.3.2")));
        assert_eq!(parse_route(ROUTE_MULTI).len(), 4, "garbage line skipped");
    }

    #[cfg(target_endian = "little")]
    #[test]
    fn prefers_the_default_route_interface() {
        let locals = parse_fib_trie_local(FIB_MULTI);
        let chosen = choose_broker_ip(&locals, &parse_route(ROUTE_MULTI));
        assert_eq!(chosen, Some(ip("192.168.1.20")));
        let one = choose_broker_ip(&parse_fib_trie_local(FIB_ONE), &parse_route(ROUTE_ONE));
        assert_eq!(one, Some(ip("192.0.2.2")));
    }

    #[test]
    fn without_routes_follows_java_preference() {
        let locals = parse_fib_trie_local(FIB_MULTI);
        assert_eq!(choose_broker_ip(&locals, &[]), Some(ip("10.8.3.7")));
        let lan_only = [ip("127.0.0.1"), ip("192.168.1.20")];
        assert_eq!(choose_broker_ip(&lan_only, &[]), Some(ip("192.168.1.20")));
        assert_eq!(
            choose_broker_ip(&[ip("127.0.0.1"), ip("169.254.9.9")], &[]),
            None
        );
    }

    #[test]
    fn detection_always_yields_an_address() {
        let s = detect_broker_ip();
        assert!(s.parse::<Ipv4Addr>().is_ok(), "{s}");
    }
}
